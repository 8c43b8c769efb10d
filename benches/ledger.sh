#!/usr/bin/env bash
# Runs the vigil-ledger benchmark (benches/ledger.rs) in release mode and prints a table.
#
# Every throughput is printed with its ratio to a reference measured in the same run on
# the same machine (raw SHA-256, raw Ed25519 sign / verify_strict on 1 core and on every
# core), so the figures compare across machines. Nothing is asserted about time.
#
# Knobs (environment):
#   VIGIL_BENCH_N=200000          entries in the ledger that audit::verify_database checks
#   VIGIL_BENCH_PROOF_N=10000000  entries in the (synthetic, unsigned) proof database;
#                                 building 10M rows takes a few minutes and ~2 GB of disk
#                                 under $TMPDIR; 0 skips the proof section
#   VIGIL_BENCH_RECORD_N=50000    sign-ins `vigil ledger record` records end to end (about
#                                 1 KB of NDJSON each under $TMPDIR); 0 skips the section
#   VIGIL_BENCH_AUDIT_N=50000     directory audit records `vigil ledger record --audits`
#                                 records end to end; 0 skips that part of section 6
#   VIGIL_BENCH_COVERAGE_N=200000 entries in the signed ledger the coverage pass reads
#                                 (10000000 for the 10M target; building it signs every
#                                 entry and takes minutes); 0 skips that part of section 6.
#                                 The figure is the coverage pass alone: the verification
#                                 `vigil ledger coverage` runs first is not in it (section 3)
#   VIGIL_BENCH_COVERAGE_DB=FILE  keep the coverage ledger at FILE (built when missing,
#                                 reused as it is when present: build 10M once)
#   VIGIL_BENCH_COVERAGE_RUNS=3   coverage passes timed; the median is printed
#   VIGIL_BENCH_SECTIONS=1,2,...  run only these sections (section 1, the reference rates,
#                                 always runs)
#
# A cold release build of the workspace takes a few minutes. Run on an otherwise idle
# machine: the reference rates and the measured paths share the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench ledger "$@"
