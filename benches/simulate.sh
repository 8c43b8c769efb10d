#!/usr/bin/env bash
# Runs the `vigil simulate` benchmark (benches/simulate.rs) in release mode, with DuckDB as the
# peer, and prints a table. Nothing is asserted about time.
#
# The first run generates 10M realistic sign-ins (normalized Parquet, ~0.7 GB, a few minutes),
# a directory snapshot, named locations and 50 candidate policies (the 36 of
# j0eyv/ConditionalAccessBaseline plus 14 variants) in $VIGIL_BENCH_DIR (default
# /tmp/vigil-bench); later runs reuse them while the manifest matches. Each vigil run writes its
# decisions files (about 1 GB), which are measured and then removed.
#
# DuckDB comes from PyPI into a venv ($VIGIL_BENCH_VENV, default $VIGIL_BENCH_DIR/venv), made
# on first use with `pip install duckdb`. VIGIL_BENCH_PYTHON=/path/to/python uses a Python that
# already has duckdb; VIGIL_BENCH_NO_DUCKDB=1 skips the comparison.
#
# Knobs (environment): VIGIL_BENCH_SIGNINS (10000000), VIGIL_BENCH_USERS (40000),
# VIGIL_BENCH_SEED, VIGIL_BENCH_RUNS (3), VIGIL_BENCH_THREADS (cores; vigil and DuckDB get the
# same number), VIGIL_BENCH_KEEP_OUTPUT=1, VIGIL_BENCH_CLEAN=1 (delete the data at the end),
# VIGIL_BENCH_CABASELINE (folder of the real policies, default ../shared/data/external/
# j0eyv-cabaseline beside the repository).
#
# The benchmark binary is built first and then run directly, so cargo's lock on the build
# folder is not held while timing (other builds on the machine can proceed; they would also
# distort the figures: run on an otherwise idle machine).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${VIGIL_BENCH_DIR:-/tmp/vigil-bench}"
if [ -z "${VIGIL_BENCH_PYTHON:-}" ] && [ "${VIGIL_BENCH_NO_DUCKDB:-0}" != 1 ]; then
  venv="${VIGIL_BENCH_VENV:-$dir/venv}"
  if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    echo "creating $venv with duckdb from PyPI" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet duckdb
  fi
  export VIGIL_BENCH_PYTHON="$venv/bin/python"
fi
exe=$(cargo bench --bench simulate --no-run --message-format=json |
  grep -F '"kind":["bench"]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$exe" ]; then
  echo "simulate.sh: could not find the benchmark binary" >&2
  exit 2
fi
exec "$exe" "$@"
