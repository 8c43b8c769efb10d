#!/usr/bin/env python3
"""The peer for `vigil ingest`: DuckDB's read_json over the same sign-in files, materialized
into a table (every column parsed), with the same number of threads.

Run by benches/ingest.rs (through benches/ingest.sh, which makes a venv with
`pip install duckdb`); this script installs nothing.

    ingest_duckdb.py --ndjson signins.ndjson --graph pages/ --threads 2 --runs 3 --json out.json
"""

import argparse
import json
import time

import duckdb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ndjson", required=True)
    ap.add_argument("--graph", required=True, help="folder of Graph list pages")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    queries = {
        "ndjson": f"""CREATE OR REPLACE TEMP TABLE t AS SELECT * FROM read_json('{a.ndjson}',
                      format = 'newline_delimited', maximum_object_size = 67108864)""",
        # One row per page; the sign-ins are the elements of `value`.
        "graph": f"""CREATE OR REPLACE TEMP TABLE t AS SELECT unnest(value, recursive := false)
                     FROM read_json('{a.graph}/*.json', format = 'auto',
                                    maximum_object_size = 268435456)""",
    }
    out = {"version": duckdb.__version__, "seconds": {}, "rows": {}}
    for name, q in queries.items():
        times = []
        for _ in range(a.runs):
            start = time.perf_counter()
            con.execute(q)
            times.append(time.perf_counter() - start)
        out["seconds"][name] = times
        out["rows"][name] = con.execute("SELECT count(*) FROM t").fetchone()[0]
    with open(a.json, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
