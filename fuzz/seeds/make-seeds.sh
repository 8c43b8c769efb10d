#!/usr/bin/env bash
# Regenerates the seed inputs in fuzz/seeds/ from a real ledger made with the vigil CLI.
# Usage: bash fuzz/seeds/make-seeds.sh [path/to/vigil]   (default: target/debug/vigil)
# The targets embed seeds/ledger.pub (include_str!) as their fixed verifier key, so the
# checkpoint and proof seeds carry signatures that really verify.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
vigil="${1:-$root/target/debug/vigil}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/ledger.db"
"$vigil" -q ledger init --db "$db" --origin fuzz.vigil.example/ledger
"$vigil" -q key generate --name ai-engine --out "$work/ai-engine.key" > /dev/null
"$vigil" -q key generate --name witness.example --out "$work/witness.key" --witness > /dev/null
"$vigil" -q ledger key add --db "$db" --key "$work/ai-engine.pub" --kinds signal,inference,action > /dev/null
cat > "$work/in.ndjson" <<'NDJSON'
{"kind":"signal","subject":{"tenantId":"t-1","signInId":"s-1"},"payload":{"ip":"203.0.113.7","country":"NL"}}
{"kind":"inference","subject":{"tenantId":"t-1","signInId":"s-1"},"payload":{"score":0.87,"riskLevel":"high","reasoning":"new country"}}
{"kind":"action","subject":{"tenantId":"t-1"},"payload":{"action":"requireMfa","applied":true}}
NDJSON
"$vigil" -q ledger append --db "$db" --key "$work/ai-engine.key" --input "$work/in.ndjson" > /dev/null
"$vigil" -q ledger checkpoint --db "$db" > "$work/cp3.txt"
echo '{"kind":"signal","subject":{"tenantId":"t-2"},"payload":{"n":[1,2.5,"x",null,true]}}' \
  | "$vigil" -q ledger append --db "$db" --key "$work/ai-engine.key" --kind signal > /dev/null
"$vigil" -q ledger checkpoint --db "$db" > "$work/cp.txt"

mkdir -p "$here"/{checkpoint,key_string,note,envelope,append_line,bundle,proof}
cp "$db.ledger.pub" "$here/ledger.pub" 2>/dev/null || cp "${db%.db}.ledger.pub" "$here/ledger.pub"
cp "$work/cp.txt" "$here/checkpoint/signed"
cp "$work/cp3.txt" "$here/checkpoint/signed-3"
cp "$work/cp.txt" "$here/note/checkpoint"
"$vigil" -q ledger cosign --checkpoint "$work/cp.txt" --key "$work/witness.key" \
  --log-key "$here/ledger.pub" --state "$work/witness-state.txt" > "$here/checkpoint/cosigned"
cp "$here/checkpoint/cosigned" "$here/note/cosigned"
cp "$here/ledger.pub" "$here/key_string/verifier"
cp "$work/ai-engine.pub" "$here/key_string/verifier-2"
cp "$work/witness.pub" "$here/key_string/witness"
# A throwaway secret key (never used anywhere else).
"$vigil" -q key generate --name throwaway --out "$work/throwaway.key" > /dev/null
cp "$work/throwaway.key" "$here/key_string/secret"
cp "$work/in.ndjson" "$here/append_line/lines"
i=0
while IFS= read -r l; do i=$((i + 1)); printf '%s\n' "$l" > "$here/append_line/line-$i"; done < "$work/in.ndjson"
"$vigil" -q ledger export --db "$db" --out "$work/bundle"
python3 - "$work/bundle" "$here" <<'PY'
import json, sys, pathlib
b, here = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
entries = (b / "entries.ndjson").read_bytes()
payloads = (b / "payloads.ndjson").read_bytes()
# bundle target input: entries.ndjson, a NUL byte, payloads.ndjson
(here / "bundle" / "full").write_bytes(entries + b"\0" + payloads)
for i, line in enumerate(entries.splitlines()):
    env = json.loads(line)["envelope"].encode()
    (here / "envelope" / f"entry-{i}").write_bytes(env)
PY
"$vigil" -q ledger prove --db "$db" --seq 2 > "$here/proof/inclusion"
"$vigil" -q ledger prove --db "$db" --consistency "$work/cp3.txt" > "$here/proof/consistency"
echo "seeds written to $here"
