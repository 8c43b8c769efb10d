#!/usr/bin/env bash
# `vigil whatif` latency: one sign-in explained against the 36 real policies of
# ../shared/data/external/j0eyv-cabaseline (UTF-16 files, read and parsed on every call) and the
# sample tenant's named locations and directory. Target: under 50 ms per answer.
#
# Prints p50 / p90 / max of N runs of the release binary, beside the reference measured in the
# same run: `vigil --version` (process start-up alone). Nothing is asserted about time.
#
#   N=50 bash benches/whatif.sh     (VIGIL_BIN=target/release/vigil to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50}
BASE=../shared/data/external/j0eyv-cabaseline
POLICIES=${POLICIES:-$BASE/ConditionalAccess}
LOCATIONS=${LOCATIONS:-$BASE/NamedLocations}
if [ ! -d "$POLICIES" ]; then
  echo "whatif benchmark: $POLICIES is absent; set POLICIES=<folder of policy files>" >&2
  exit 2
fi
# VIGIL_BIN=path skips the build and times that binary.
if [ -z "${VIGIL_BIN:-}" ]; then
  cargo build --release --quiet
fi
BIN=${VIGIL_BIN:-target/release/vigil}
ms() { date +%s%N; }
run_many() {
  local out=()
  for _ in $(seq "$N"); do
    local t0 t1
    t0=$(ms)
    "$@" > /dev/null 2>&1
    t1=$(ms)
    out+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${out[@]}" | sort -n
}
stats() { # microseconds, sorted, one per line -> "p50 p90 max" in ms
  awk '{a[NR]=$1} END {printf "%.1f %.1f %.1f", a[int(NR*0.5+0.5)]/1000, a[int(NR*0.9+0.5)]/1000, a[NR]/1000}'
}
WHATIF=("$BIN" whatif --policies "$POLICIES" --named-locations "$LOCATIONS" \
  --directory samples/tenant/directory.json \
  --user a0000000-0000-4000-8000-000000000038 --app 797f4846-ba00-4fd7-ba43-dac1f8f63013 \
  --client-app browser --os Windows10 --ip 198.51.100.7 --country DE --sign-in-risk medium)
# One run first: a failing command must not be timed.
"${WHATIF[@]}" > /dev/null
ref=$(run_many "$BIN" --version | stats)
what=$(run_many "${WHATIF[@]}" | stats)
read -r r50 r90 rmax <<<"$ref"
read -r w50 w90 wmax <<<"$what"
echo "vigil whatif benchmark: $N runs each, policies from $POLICIES"
printf '%-44s p50 %7s ms  p90 %7s ms  max %7s ms\n' "reference: vigil --version (start-up)" "$r50" "$r90" "$rmax"
printf '%-44s p50 %7s ms  p90 %7s ms  max %7s ms\n' "vigil whatif, 36 real policies" "$w50" "$w90" "$wmax"
awk -v w="$w50" -v r="$r50" 'BEGIN { printf "whatif p50 = %.1fx start-up; target < 50 ms: %s\n", (r > 0 ? w / r : 0), (w < 50 ? "met" : "MISSED") }'
