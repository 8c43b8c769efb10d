#!/usr/bin/env bash
# Runs the `vigil ingest` benchmark (benches/ingest.rs) with DuckDB as the peer, and prints a
# table. Nothing is asserted about time.
#
# The first run generates 1M sign-ins (VIGIL_BENCH_SIGNINS) as Graph NDJSON and as Graph list
# pages with `vigil samples generate`'s generator, in $VIGIL_BENCH_DIR (default
# /tmp/vigil-bench-ingest); later runs reuse them while the manifest matches. A generated
# sign-in is about 4 KB of Graph JSON (14 policies in appliedConditionalAccessPolicies), so 1M
# needs about 8 GB of disk for the two copies and 10M (the issue's size) about 80 GB.
#
# DuckDB comes from PyPI into a venv ($VIGIL_BENCH_VENV, default $VIGIL_BENCH_DIR/venv), made
# on first use with `pip install duckdb`. VIGIL_BENCH_PYTHON=/path/to/python uses a Python that
# already has duckdb; VIGIL_BENCH_NO_DUCKDB=1 skips the comparison.
#
# Knobs (environment): VIGIL_BENCH_SIGNINS (1000000), VIGIL_BENCH_SEED, VIGIL_BENCH_RUNS (3),
# VIGIL_BENCH_THREADS (cores; vigil, serde_json and DuckDB get the same number),
# VIGIL_BENCH_CLEAN=1 (delete the data at the end). VIGIL_BENCH_PROFILE=dev builds the
# benchmark and vigil unoptimized (a quick check that it runs; the figures mean nothing).
#
# The benchmark binary is built first and then run directly, so cargo's lock on the build
# folder is not held while timing; run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${VIGIL_BENCH_DIR:-/tmp/vigil-bench-ingest}"
export VIGIL_BENCH_DIR="$dir"
if [ -z "${VIGIL_BENCH_PYTHON:-}" ] && [ "${VIGIL_BENCH_NO_DUCKDB:-0}" != 1 ]; then
  venv="${VIGIL_BENCH_VENV:-$dir/venv}"
  if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    echo "creating $venv with duckdb from PyPI" >&2
    mkdir -p "$dir"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet duckdb
  fi
  export VIGIL_BENCH_PYTHON="$venv/bin/python"
fi
profile=()
if [ "${VIGIL_BENCH_PROFILE:-bench}" = dev ]; then
  profile=(--profile dev)
fi
exe=$(cargo bench "${profile[@]}" --bench ingest --no-run --message-format=json |
  grep -F '"kind":["bench"]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$exe" ]; then
  echo "ingest.sh: could not find the benchmark binary" >&2
  exit 2
fi
exec "$exe" "$@"
