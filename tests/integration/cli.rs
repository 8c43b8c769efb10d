//! The `vigil` command line end to end, the way an operator, an auditor and a witness use it:
//! every test runs the real binary in its own temporary folder and asserts only on what a user
//! sees — exit codes (0 ok, 1 finding, 2 usage or input error), stdout (JSON where offered) and
//! the stderr message naming the file, line and field.
//!
//! Where a command's output could merely echo what vigil itself wrote, it is checked
//! independently: checkpoints and cosignatures are verified here with ed25519-dalek over the
//! C2SP signed-note bytes, bundle files against SHA-256 recomputed here, and the Merkle root
//! recomputed here (RFC 6962) from the exported envelopes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::harness::Out;

const ORIGIN: &str = "contoso.example/vigil";

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// A scratch folder the commands run in (relative paths, as a user types them).
struct Ws {
    dir: tempfile::TempDir,
}

/// An appended entry as acknowledged on stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    seq: u64,
    hash: String,
}

impl Ws {
    fn new() -> Ws {
        Ws {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_stdin(args, "")
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        super::harness::vigil_stdin(self.dir.path(), args, stdin)
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.p(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn write(&self, rel: &str, text: &str) {
        fs::write(self.p(rel), text).unwrap();
    }

    fn mode(&self, rel: &str) -> u32 {
        fs::metadata(self.p(rel)).unwrap().permissions().mode() & 0o7777
    }

    fn chmod(&self, rel: &str, mode: u32) {
        fs::set_permissions(self.p(rel), fs::Permissions::from_mode(mode)).unwrap();
    }

    /// `vigil ledger init` plus three producers registered through the CLI:
    /// ingest (signal, action), ai-engine (inference), analyst (review). Entries 0..=3.
    fn ledger() -> Ws {
        let ws = Ws::new();
        ws.run(&["ledger", "init", "--db", "audit.db", "--origin", ORIGIN])
            .ok();
        for (name, kinds) in [
            ("ingest", "signal,action"),
            ("ai-engine", "inference"),
            ("analyst", "review"),
        ] {
            ws.gen_key(name, &format!("{name}.key"));
            ws.run(&[
                "ledger",
                "key",
                "add",
                "--db",
                "audit.db",
                "--key",
                &format!("{name}.pub"),
                "--kinds",
                kinds,
            ])
            .ok();
        }
        ws
    }

    /// `vigil key generate`; returns the printed public key.
    fn gen_key(&self, name: &str, out: &str) -> String {
        let o = self
            .run(&["key", "generate", "--name", name, "--out", out])
            .ok();
        o.stdout.trim_end().to_string()
    }

    /// Appends NDJSON lines with `key` (default kind `kind`); every line must be acknowledged.
    #[track_caller]
    fn append(&self, key: &str, kind: &str, lines: &[Value]) -> Vec<Ack> {
        let out = self
            .run_stdin(
                &[
                    "ledger", "append", "--db", "audit.db", "--key", key, "--kind", kind,
                ],
                &ndjson(lines),
            )
            .ok();
        let acks = acks(&out);
        assert_eq!(acks.len(), lines.len(), "one acknowledgement per line");
        acks
    }

    /// `vigil ledger verify --db audit.db --json EXTRA...`: (exit code, report).
    fn verify(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["ledger", "verify", "--db", "audit.db", "--json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert!(
            out.code == 0 || out.code == 1,
            "verify failed to run: {}",
            out.stderr
        );
        (out.code, out.json())
    }

    /// Number of entries, as `verify` counts them.
    fn size(&self) -> u64 {
        self.verify(&[]).1["size"].as_u64().unwrap()
    }

    /// `vigil ledger checkpoint` saved to `rel` (as `> rel` would).
    fn checkpoint(&self, rel: &str) -> String {
        let out = self.run(&["ledger", "checkpoint", "--db", "audit.db"]).ok();
        self.write(rel, &out.stdout);
        out.stdout
    }
}

fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[track_caller]
fn acks(out: &Out) -> Vec<Ack> {
    out.ndjson()
        .into_iter()
        .map(|v| {
            let obj = v.as_object().expect("ack is an object");
            assert_eq!(obj.len(), 2, "ack is exactly {{seq, hash}}: {v}");
            let hash = v["hash"].as_str().expect("hash").to_string();
            assert!(
                is_hash_hex(&hash),
                "hash {hash:?} is 64 lowercase hex digits"
            );
            Ack {
                seq: v["seq"].as_u64().expect("seq"),
                hash,
            }
        })
        .collect()
}

fn is_hash_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One append input line about the sign-in `corr`.
fn line(corr: &str, refs: &[&Ack], payload: Value) -> Value {
    json!({
        "subject": {"tenantId": "7a3c1e2f", "correlationId": corr},
        "refs": refs.iter().map(|a| json!({"seq": a.seq, "hash": a.hash})).collect::<Vec<_>>(),
        "payload": payload,
    })
}

/// A change made to a JSON document (a proof) by an attacker.
type Edit = fn(&mut Value);

/// `s` with the hex digit at byte `at` replaced by a different one.
fn flip_hex(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).unwrap()
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{v} is not an unsigned integer"))
}

// ---------------------------------------------------------------------------------------------
// Independent checks: base64, C2SP signed notes and cosignatures, RFC 6962 roots
// ---------------------------------------------------------------------------------------------

fn b64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    assert_eq!(s.len() % 4, 0, "padded base64: {s:?}");
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("not base64: {s:?}"));
        acc = ((acc << 6) | u32::try_from(v).unwrap()) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

/// A public key `name+keyid+base64(type || key)`, with its key id checked.
struct VKey {
    name: String,
    key_id: [u8; 4],
    alg: u8,
    public: ed25519_dalek::VerifyingKey,
}

#[track_caller]
fn vkey(s: &str) -> VKey {
    let s = s.trim_end();
    let (name, rest) = s.split_once('+').expect("name+keyid+key");
    let (id, material) = rest.split_once('+').expect("name+keyid+key");
    let material = b64(material);
    assert_eq!(material.len(), 33, "type byte and 32-byte key");
    let public: [u8; 32] = material[1..].try_into().unwrap();
    // C2SP signed-note: key id = SHA-256(name || "\n" || type || key)[:4].
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', material[0]]);
    h.update(public);
    let derived = h.finalize();
    assert_eq!(
        hex::decode(id).unwrap(),
        derived[..4],
        "key id of {s} is derived from the key"
    );
    VKey {
        name: name.to_string(),
        key_id: derived[..4].try_into().unwrap(),
        alg: material[0],
        public: ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap(),
    }
}

/// A C2SP signed note: text (through its final newline) and signature lines (name, bytes).
struct SignedNote {
    text: String,
    sigs: Vec<(String, Vec<u8>)>,
}

#[track_caller]
fn note(s: &str) -> SignedNote {
    let split = s.rfind("\n\n").expect("a blank line ends the note text");
    let sigs = s[split + 2..]
        .lines()
        .map(|l| {
            let rest = l
                .strip_prefix("\u{2014} ")
                .unwrap_or_else(|| panic!("signature line starts with an em dash: {l:?}"));
            let (name, sig) = rest.split_once(' ').expect("name and signature");
            (name.to_string(), b64(sig))
        })
        .collect();
    SignedNote {
        text: s[..=split].to_string(),
        sigs,
    }
}

impl SignedNote {
    /// A valid Ed25519 (type 0x01) signature by `k` over the note text.
    fn signed_by(&self, k: &VKey) -> bool {
        assert_eq!(k.alg, 0x01);
        self.sigs.iter().any(|(name, sig)| {
            *name == k.name
                && sig.len() == 68
                && sig[..4] == k.key_id
                && k.public
                    .verify_strict(
                        self.text.as_bytes(),
                        &ed25519_dalek::Signature::from_bytes(&sig[4..].try_into().unwrap()),
                    )
                    .is_ok()
        })
    }

    /// A valid C2SP cosignature/v1 (type 0x04) by witness `k`.
    fn cosigned_by(&self, k: &VKey) -> bool {
        assert_eq!(k.alg, 0x04);
        self.sigs.iter().any(|(name, sig)| {
            if *name != k.name || sig.len() != 4 + 8 + 64 || sig[..4] != k.key_id {
                return false;
            }
            let time = u64::from_be_bytes(sig[4..12].try_into().unwrap());
            let msg = format!("cosignature/v1\ntime {time}\n{}", self.text);
            k.public
                .verify_strict(
                    msg.as_bytes(),
                    &ed25519_dalek::Signature::from_bytes(&sig[12..].try_into().unwrap()),
                )
                .is_ok()
        })
    }

    /// (origin, size, root) of a checkpoint note.
    fn checkpoint(&self) -> (String, u64, [u8; 32]) {
        let lines: Vec<&str> = self.text.lines().collect();
        assert_eq!(
            lines.len(),
            3,
            "origin, size and root lines: {:?}",
            self.text
        );
        (
            lines[0].to_string(),
            lines[1].parse().expect("decimal size"),
            b64(lines[2]).try_into().expect("32-byte root"),
        )
    }
}

/// RFC 6962 Merkle tree hash of leaf hashes.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            // The largest power of two smaller than n.
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(mth(&leaves[..k]));
            h.update(mth(&leaves[k..]));
            h.finalize().into()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The workflow
// ---------------------------------------------------------------------------------------------

#[test]
fn init_creates_database_and_ledger_key_pair() {
    let ws = Ws::new();
    let out = ws
        .run(&["ledger", "init", "--db", "audit.db", "--origin", ORIGIN])
        .ok();
    assert!(ws.p("audit.db").is_file());
    assert_eq!(ws.mode("audit.ledger.key"), 0o600, "ledger secret key mode");
    let public = ws.read("audit.ledger.pub");
    let k = vkey(&public);
    assert_eq!((k.name.as_str(), k.alg), (ORIGIN, 0x01));
    assert!(
        out.stderr.contains(public.trim_end()),
        "init tells the user the public key to give auditors: {}",
        out.stderr
    );
    // `key show` of the secret key derives the same public key.
    let shown = ws.run(&["key", "show", "--key", "audit.ledger.key"]).ok();
    assert_eq!(shown.stdout, public);
    // The ledger itself names that key (entry 0), and a fresh ledger verifies pinned to it.
    let list = ws
        .run(&["ledger", "key", "list", "--db", "audit.db", "--json"])
        .ok()
        .json();
    assert_eq!(list[0]["name"], ORIGIN);
    assert_eq!(list[0]["key"], public.trim_end());
    let (code, report) = ws.verify(&["--ledger-key", "audit.ledger.pub"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["size"], 1);
    assert_eq!(report["origin"], ORIGIN);
}

#[test]
fn key_generate_writes_secret_0600_and_public_and_prints_the_public_key() {
    let ws = Ws::new();
    let printed = ws.gen_key("ai-engine", "ai-engine.key");
    assert_eq!(ws.mode("ai-engine.key"), 0o600);
    assert_eq!(ws.read("ai-engine.pub").trim_end(), printed);
    let k = vkey(&printed);
    assert_eq!((k.name.as_str(), k.alg), ("ai-engine", 0x01));
    for file in ["ai-engine.key", "ai-engine.pub"] {
        let shown = ws.run(&["key", "show", "--key", file]).ok();
        assert_eq!(shown.stdout.trim_end(), printed, "key show --key {file}");
    }
    // A witness key is a cosignature/v1 (type 0x04) key.
    let w = ws.run(&[
        "key",
        "generate",
        "--witness",
        "--name",
        "witness.example",
        "--out",
        "w.key",
    ]);
    let w = vkey(&w.ok().stdout);
    assert_eq!((w.name.as_str(), w.alg), ("witness.example", 0x04));
    // Never overwrites a key; the existing files are untouched.
    let before = ws.read("ai-engine.key");
    let again = ws
        .run(&[
            "key",
            "generate",
            "--name",
            "ai-engine",
            "--out",
            "ai-engine.key",
        ])
        .code(2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(ws.read("ai-engine.key"), before);
    // The secret key cannot be written where its public key goes.
    let bad = ws
        .run(&["key", "generate", "--name", "x", "--out", "x.pub"])
        .code(2);
    assert!(bad.stderr.contains("x.pub"), "{}", bad.stderr);
    assert!(!ws.p("x.pub").exists());
    // Names the key rules forbid.
    for name in ["two words", "a+b", ""] {
        let o = ws
            .run(&["key", "generate", "--name", name, "--out", "bad.key"])
            .code(2);
        assert!(o.stderr.contains("key name"), "{name:?}: {}", o.stderr);
        assert!(!ws.p("bad.key").exists());
    }
}

#[test]
fn append_acknowledges_each_entry_and_lines_override_the_kind() {
    let ws = Ws::ledger();
    let sig = ws.append(
        "ingest.key",
        "signal",
        &[line("c-1", &[], json!({"ip": "203.0.113.9"}))],
    );
    assert_eq!(sig[0].seq, 4, "entries 0..=3 are the ledger's key entries");
    let mut action = line("c-1", &[&sig[0]], json!({"applied": "block"}));
    action["kind"] = json!("action");
    let lines = vec![
        line("c-2", &[], json!({"ip": "198.51.100.7"})),
        action,
        line("c-3", &[&sig[0]], json!({"n": [1, 2.5, "x", null]})),
    ];
    let acks = ws.append("ingest.key", "signal", &lines);
    assert_eq!(
        acks.iter().map(|a| a.seq).collect::<Vec<_>>(),
        [5, 6, 7],
        "consecutive seqs"
    );
    assert_eq!(
        acks.iter().map(|a| &a.hash).collect::<BTreeSet<_>>().len(),
        3
    );
    // What `show` reads back is what was acknowledged and what was sent.
    let shown = ws
        .run(&["ledger", "show", "--db", "audit.db", "--from", "5"])
        .ok()
        .ndjson();
    assert_eq!(shown.len(), 3);
    for ((e, ack), input) in shown.iter().zip(&acks).zip(&lines) {
        assert_eq!(u64_of(&e["seq"]), ack.seq);
        assert_eq!(e["hash"], ack.hash.as_str());
        assert_eq!(e["payload"], input["payload"]);
        assert_eq!(e["envelope"]["subject"], input["subject"]);
        assert_eq!(e["envelope"]["refs"], input["refs"]);
        assert_eq!(e["envelope"]["actor"], "ingest");
    }
    let kinds: Vec<&str> = shown
        .iter()
        .map(|e| e["envelope"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signal", "action", "signal"]);
    // The same entries can come from a file; an empty input appends nothing.
    ws.write("more.ndjson", &ndjson(&[line("c-4", &[], json!({}))]));
    let out = ws
        .run(&[
            "ledger",
            "append",
            "--db",
            "audit.db",
            "--key",
            "ingest.key",
            "--kind",
            "signal",
            "--input",
            "more.ndjson",
        ])
        .ok();
    assert_eq!(acks_of(&out), [8]);
    let none = ws
        .run(&[
            "ledger",
            "append",
            "--db",
            "audit.db",
            "--key",
            "ingest.key",
            "--kind",
            "signal",
        ])
        .ok();
    assert_eq!(none.stdout, "");
    let (code, report) = ws.verify(&[]);
    assert_eq!((code, u64_of(&report["size"])), (0, 9), "{report}");
}

fn acks_of(out: &Out) -> Vec<u64> {
    acks(out).into_iter().map(|a| a.seq).collect()
}

#[test]
fn checkpoint_is_a_c2sp_signed_note_of_the_tree() {
    let ws = Ws::ledger();
    ws.append(
        "ingest.key",
        "signal",
        &[
            line("c-1", &[], json!({"n": 1})),
            line("c-2", &[], json!({"n": 2})),
        ],
    );
    let text = ws.checkpoint("cp.txt");
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(
        lines.len(),
        6,
        "origin, size, root, blank, signature, end: {text:?}"
    );
    assert_eq!(lines[0], ORIGIN);
    assert_eq!(lines[1], "6");
    assert_eq!(lines[3], "");
    assert!(
        lines[4].starts_with(&format!("\u{2014} {ORIGIN} ")),
        "{:?}",
        lines[4]
    );
    assert_eq!(lines[5], "", "ends with a newline");
    let n = note(&text);
    let ledger_key = vkey(&ws.read("audit.ledger.pub"));
    assert!(n.signed_by(&ledger_key), "signed by the ledger key");
    let forged = SignedNote {
        text: n.text.replace("\n6\n", "\n7\n"),
        sigs: n.sigs.clone(),
    };
    assert!(
        !forged.signed_by(&ledger_key),
        "the signature covers the size"
    );
    // The root is the root `verify` recomputes from the entries.
    let (_, size, root) = n.checkpoint();
    let (code, report) = ws.verify(&[]);
    assert_eq!(code, 0);
    assert_eq!(size, u64_of(&report["size"]));
    assert_eq!(hex::encode(root), report["root"].as_str().unwrap());
    // With nothing appended, the ledger never signs a second view of the same size.
    assert_eq!(ws.checkpoint("cp-again.txt"), text);
}

#[test]
fn verify_with_a_trusted_checkpoint_reports_ok_size_and_no_findings() {
    let ws = Ws::ledger();
    ws.append("ingest.key", "signal", &[line("c-1", &[], json!({"n": 1}))]);
    ws.checkpoint("cp.txt");
    let human = ws
        .run(&[
            "ledger",
            "verify",
            "--db",
            "audit.db",
            "--checkpoint",
            "cp.txt",
        ])
        .ok();
    assert!(human.stdout.starts_with("OK: "), "{}", human.stdout);
    let (code, r) = ws.verify(&["--checkpoint", "cp.txt", "--ledger-key", "audit.ledger.pub"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["ok"], true);
    assert_eq!(r["size"], 5);
    assert_eq!(r["findings"], json!([]));
    assert_eq!(r["first_bad_seq"], Value::Null);
    assert_eq!(r["truncation_detectable"], true);
    assert_eq!(u64_of(&r["signatures_checked"]), 5);
    let mine: Vec<&Value> = r["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"] == "cp.txt")
        .collect();
    assert_eq!(mine.len(), 1, "{r}");
    assert_eq!(
        (&mine[0]["trusted"], &mine[0]["status"], &mine[0]["size"]),
        (&json!(true), &json!("ok"), &json!(5))
    );
    // The checkpoint stays valid as the ledger grows.
    ws.append("ingest.key", "signal", &[line("c-2", &[], json!({"n": 2}))]);
    let (code, r) = ws.verify(&["--checkpoint", "cp.txt"]);
    assert_eq!((code, &r["size"]), (0, &json!(6)), "{r}");
    // Without a trusted checkpoint a truncated tail is undetectable, and verify says so.
    let (code, r) = ws.verify(&[]);
    assert_eq!(code, 0);
    assert_eq!(r["truncation_detectable"], false);
    assert!(r["notes"].to_string().contains("truncated tail"), "{r}");
}

#[test]
fn inclusion_proof_verifies_offline_and_any_tampering_fails() {
    let ws = Ws::ledger();
    let acks = ws.append(
        "ingest.key",
        "signal",
        &(0..5)
            .map(|i| line(&format!("c-{i}"), &[], json!({"i": i})))
            .collect::<Vec<_>>(),
    );
    let target = &acks[1];
    ws.checkpoint("cp.txt");
    let proof = ws
        .run(&[
            "ledger",
            "prove",
            "--db",
            "audit.db",
            "--seq",
            &target.seq.to_string(),
        ])
        .ok();
    ws.write("p.json", &proof.stdout);
    let doc = proof.json();
    assert_eq!(doc["format"], "vigil-inclusion-proof/v1");
    assert_eq!(u64_of(&doc["seq"]), target.seq);
    assert_eq!(doc["size"], 9);
    assert_eq!(doc["leaf_hash"], target.hash.as_str());
    assert!(!doc["path"].as_array().unwrap().is_empty());
    assert_eq!(doc["checkpoint"], ws.read("cp.txt").as_str());

    let verify_proof = |file: &str, extra: &[&str]| {
        let mut args = vec!["ledger", "verify-proof", "--proof", file];
        args.extend_from_slice(extra);
        ws.run(&args)
    };
    let ok = verify_proof("p.json", &["--ledger-key", "audit.ledger.pub"]).ok();
    assert!(ok.stdout.starts_with("OK"), "{}", ok.stdout);
    assert!(
        ok.stdout.contains("signed by the ledger key"),
        "{}",
        ok.stdout
    );
    verify_proof(
        "p.json",
        &["--checkpoint", "cp.txt", "--ledger-key", "audit.ledger.pub"],
    )
    .ok();

    let edits: Vec<(&str, Edit)> = vec![
        ("one hex digit of the audit path", |d| {
            d["path"][0] = json!(flip_hex(d["path"][0].as_str().unwrap(), 17))
        }),
        ("one hex digit of the root", |d| {
            d["root"] = json!(flip_hex(d["root"].as_str().unwrap(), 0))
        }),
        ("the leaf hash", |d| {
            d["leaf_hash"] = json!(flip_hex(d["leaf_hash"].as_str().unwrap(), 63))
        }),
        ("the claimed seq", |d| {
            d["seq"] = json!(u64_of(&d["seq"]) + 1)
        }),
        ("the entry's payload commitment", |d| {
            let e = d["entry"].as_str().unwrap();
            let at = e.find("payload_commitment\":\"").unwrap() + 21;
            d["entry"] = json!(flip_hex(e, at));
        }),
        ("a path element dropped", |d| {
            d["path"].as_array_mut().unwrap().pop();
        }),
    ];
    for (what, edit) in &edits {
        let mut d = doc.clone();
        edit(&mut d);
        ws.write("tampered.json", &d.to_string());
        let out = verify_proof("tampered.json", &["--ledger-key", "audit.ledger.pub"]);
        assert_eq!(out.code, 1, "{what}: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.starts_with("FAILED"), "{what}: {}", out.stdout);
    }

    // A proof checked against another ledger's key does not verify.
    let other = Ws::new();
    other
        .run(&["ledger", "init", "--db", "o.db", "--origin", ORIGIN])
        .ok();
    let foreign_key = other.read("o.ledger.pub");
    let out = verify_proof("p.json", &["--ledger-key", foreign_key.trim_end()]).code(1);
    assert!(out.stdout.starts_with("FAILED"), "{}", out.stdout);
    // Not a proof at all: an input error naming the field.
    ws.write("notproof.json", r#"{"format":"something-else"}"#);
    let out = verify_proof("notproof.json", &[]).code(2);
    assert!(out.stderr.contains("format"), "{}", out.stderr);
}

#[test]
fn consistency_proof_ties_an_old_checkpoint_to_the_grown_ledger() {
    let ws = Ws::ledger();
    ws.append("ingest.key", "signal", &[line("c-1", &[], json!({"n": 1}))]);
    ws.checkpoint("cp1.txt");
    ws.append(
        "ingest.key",
        "signal",
        &[
            line("c-2", &[], json!({"n": 2})),
            line("c-3", &[], json!({"n": 3})),
        ],
    );
    let proof = ws
        .run(&[
            "ledger",
            "prove",
            "--db",
            "audit.db",
            "--consistency",
            "cp1.txt",
        ])
        .ok();
    let doc = proof.json();
    assert_eq!(doc["format"], "vigil-consistency-proof/v1");
    assert_eq!((&doc["old_size"], &doc["new_size"]), (&json!(5), &json!(7)));
    ws.write("c.json", &proof.stdout);
    let run = |proof: &str, extra: &[&str]| {
        let mut args = vec![
            "ledger",
            "verify-proof",
            "--proof",
            proof,
            "--ledger-key",
            "audit.ledger.pub",
        ];
        args.extend_from_slice(extra);
        ws.run(&args)
    };
    let ok = run("c.json", &["--old", "cp1.txt"]).ok();
    assert!(ok.stdout.contains("append-only extension"), "{}", ok.stdout);
    assert!(
        ok.stdout.contains("old checkpoint is signed"),
        "{}",
        ok.stdout
    );
    ws.checkpoint("cp2.txt");
    run("c.json", &["--old", "cp1.txt", "--new", "cp2.txt"]).ok();
    // Tampered proof, or checkpoints that are not its ends: exit 1.
    let mut bad = doc.clone();
    bad["path"][0] = json!(flip_hex(doc["path"][0].as_str().unwrap(), 5));
    ws.write("bad.json", &bad.to_string());
    run("bad.json", &["--old", "cp1.txt"]).code(1);
    run("c.json", &["--old", "cp2.txt"]).code(1);
    run("c.json", &["--old", "cp1.txt", "--new", "cp1.txt"]).code(1);
}

#[test]
fn export_bundle_holds_everything_and_verifies_without_the_database() {
    let ws = Ws::ledger();
    let s = ws.append("ingest.key", "signal", &[line("c-1", &[], json!({"n": 1}))]);
    ws.append(
        "ai-engine.key",
        "inference",
        &[line("c-1", &[&s[0]], json!({"score": 81}))],
    );
    let cp = ws.checkpoint("cp.txt");
    ws.run(&["ledger", "export", "--db", "audit.db", "--out", "bundle/"])
        .ok();
    let size = 6u64;
    let mut present: Vec<String> = Vec::new();
    for e in fs::read_dir(ws.p("bundle")).unwrap() {
        present.push(e.unwrap().file_name().into_string().unwrap());
    }
    present.sort();
    assert_eq!(
        present,
        [
            "checkpoints",
            "entries.ndjson",
            "entries.parquet",
            "ledger-keys.txt",
            "manifest.json",
            "payloads.ndjson"
        ]
    );
    let cp_name = format!("checkpoints/checkpoint-{size:012}.txt");
    assert_eq!(ws.read(&format!("bundle/{cp_name}")), cp);
    assert!(
        ws.read("bundle/ledger-keys.txt")
            .lines()
            .any(|l| l == ws.read("audit.ledger.pub").trim_end())
    );
    // The manifest's SHA-256 of every file, recomputed here.
    let manifest: Value = serde_json::from_str(&ws.read("bundle/manifest.json")).unwrap();
    assert_eq!(manifest["format"], "vigil-bundle/v1");
    assert_eq!(manifest["origin"], ORIGIN);
    assert_eq!(u64_of(&manifest["size"]), size);
    let files = manifest["files"].as_object().unwrap();
    let listed: BTreeSet<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        listed,
        BTreeSet::from([
            "entries.ndjson",
            "entries.parquet",
            "ledger-keys.txt",
            "payloads.ndjson",
            cp_name.as_str()
        ])
    );
    for (rel, sha) in files {
        let bytes = fs::read(ws.p("bundle").join(rel)).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            sha.as_str().unwrap(),
            "{rel}"
        );
    }
    // Leaf hashes and the Merkle root, recomputed here from the exported envelopes.
    let lines: Vec<Value> = ws
        .read("bundle/entries.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, size);
    let mut leaves = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(u64_of(&l["seq"]), i as u64);
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(l["envelope"].as_str().unwrap().as_bytes());
        let leaf: [u8; 32] = h.finalize().into();
        assert_eq!(hex::encode(leaf), l["hash"].as_str().unwrap(), "seq {i}");
        leaves.push(leaf);
    }
    let root = mth(&leaves);
    assert_eq!(hex::encode(root), manifest["root"].as_str().unwrap());
    assert_eq!(
        note(&cp).checkpoint().2,
        root,
        "the checkpoint signs that root"
    );
    assert_eq!(
        ws.read("bundle/payloads.ndjson").lines().count() as u64,
        size
    );
    let pq = fs::File::open(ws.p("bundle/entries.parquet")).unwrap();
    let rows = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(pq)
        .unwrap()
        .metadata()
        .file_metadata()
        .num_rows();
    assert_eq!(rows, 6);

    // Offline: the database is gone.
    fs::rename(ws.p("audit.db"), ws.p("elsewhere.db")).unwrap();
    let human = ws.run(&["ledger", "verify", "--bundle", "bundle/"]).ok();
    assert!(human.stdout.starts_with("OK: "), "{}", human.stdout);
    let out = ws
        .run(&[
            "ledger",
            "verify",
            "--bundle",
            "bundle/",
            "--checkpoint",
            "cp.txt",
            "--ledger-key",
            "audit.ledger.pub",
            "--json",
        ])
        .ok();
    let r = out.json();
    assert_eq!((&r["ok"], &r["size"]), (&json!(true), &json!(6)), "{r}");
    // Never into a folder that holds something.
    fs::rename(ws.p("elsewhere.db"), ws.p("audit.db")).unwrap();
    let again = ws
        .run(&["ledger", "export", "--db", "audit.db", "--out", "bundle/"])
        .code(2);
    assert!(again.stderr.contains("bundle"), "{}", again.stderr);
    assert_eq!(ws.read(&format!("bundle/{cp_name}")), cp);
}

#[test]
fn show_prints_one_entry_with_its_payload() {
    let ws = Ws::ledger();
    let s = ws.append(
        "ingest.key",
        "signal",
        &[line("c-1", &[], json!({"ip": "203.0.113.9"}))],
    );
    let payload = json!({"score": 81, "riskLevel": "high", "reasoning": "impossible travel"});
    let i = ws.append(
        "ai-engine.key",
        "inference",
        &[line("c-1", &[&s[0]], payload.clone())],
    );
    let out = ws
        .run(&[
            "ledger",
            "show",
            "--db",
            "audit.db",
            "--seq",
            &i[0].seq.to_string(),
        ])
        .ok();
    let e = out.ndjson();
    assert_eq!(e.len(), 1);
    let e = &e[0];
    assert_eq!(u64_of(&e["seq"]), i[0].seq);
    assert_eq!(e["hash"], i[0].hash.as_str());
    assert_eq!(e["payload"], payload);
    assert_eq!(e["redacted"], false);
    assert_eq!(e["envelope"]["kind"], "inference");
    assert_eq!(e["envelope"]["actor"], "ai-engine");
    assert_eq!(
        e["envelope"]["prev"],
        s[0].hash.as_str(),
        "chained to the entry before"
    );
    assert_eq!(
        e["envelope"]["refs"],
        json!([{"seq": s[0].seq, "hash": s[0].hash}])
    );
    let only = ws
        .run(&["ledger", "show", "--db", "audit.db", "--kind", "inference"])
        .ok()
        .ndjson();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["hash"], i[0].hash.as_str());
    let out = ws
        .run(&["ledger", "show", "--db", "audit.db", "--seq", "99"])
        .code(2);
    assert!(out.stderr.contains("99"), "{}", out.stderr);
}

#[test]
fn trace_follows_signal_inference_action_review_through_refs() {
    let ws = Ws::ledger();
    let mut chains = Vec::new();
    for corr in ["c-1", "c-2"] {
        let s = ws.append(
            "ingest.key",
            "signal",
            &[line(corr, &[], json!({"corr": corr}))],
        );
        let i = ws.append(
            "ai-engine.key",
            "inference",
            &[line(corr, &[&s[0]], json!({"score": 81}))],
        );
        let a = ws.append(
            "ingest.key",
            "action",
            &[line(corr, &[&i[0]], json!({"applied": "require MFA"}))],
        );
        // The review carries no correlationId: only its refs tie it to the event.
        let review = json!({
            "subject": {"reviewer": "kim"},
            "refs": [{"seq": i[0].seq, "hash": i[0].hash}, {"seq": a[0].seq, "hash": a[0].hash}],
            "payload": {"verdict": "confirmed"},
        });
        let r = ws.append("analyst.key", "review", &[review]);
        chains.push([s[0].clone(), i[0].clone(), a[0].clone(), r[0].clone()]);
    }
    let out = ws
        .run(&[
            "ledger",
            "trace",
            "--db",
            "audit.db",
            "--correlation-id",
            "c-1",
            "--json",
        ])
        .ok();
    let found = out.ndjson();
    let want = &chains[0];
    assert_eq!(
        found.iter().map(|e| u64_of(&e["seq"])).collect::<Vec<_>>(),
        want.iter().map(|a| a.seq).collect::<Vec<_>>(),
        "exactly the c-1 chain, in order"
    );
    let kinds: Vec<&str> = found
        .iter()
        .map(|e| e["envelope"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signal", "inference", "action", "review"]);
    for (e, ack) in found.iter().zip(want) {
        assert_eq!(e["hash"], ack.hash.as_str());
    }
    let refs = |e: &Value| -> Vec<(u64, String)> {
        e["envelope"]["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (u64_of(&r["seq"]), r["hash"].as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(refs(&found[1]), [(want[0].seq, want[0].hash.clone())]);
    assert_eq!(refs(&found[2]), [(want[1].seq, want[1].hash.clone())]);
    assert_eq!(
        refs(&found[3]),
        [
            (want[1].seq, want[1].hash.clone()),
            (want[2].seq, want[2].hash.clone())
        ]
    );
    // Starting from the second chain's review finds that chain only.
    let from_review = ws
        .run(&[
            "ledger",
            "trace",
            "--db",
            "audit.db",
            "--seq",
            &chains[1][3].seq.to_string(),
            "--json",
        ])
        .ok()
        .ndjson();
    assert_eq!(
        from_review
            .iter()
            .map(|e| u64_of(&e["seq"]))
            .collect::<Vec<_>>(),
        chains[1].iter().map(|a| a.seq).collect::<Vec<_>>()
    );
    let table = ws
        .run(&[
            "ledger",
            "trace",
            "--db",
            "audit.db",
            "--correlation-id",
            "c-1",
        ])
        .ok();
    assert!(table.stdout.contains("review"), "{}", table.stdout);
    let none = ws
        .run(&[
            "ledger",
            "trace",
            "--db",
            "audit.db",
            "--correlation-id",
            "nope",
            "--json",
        ])
        .ok();
    assert_eq!(none.stdout, "");
    assert!(none.stderr.contains("no entries match"), "{}", none.stderr);
    ws.run(&["ledger", "trace", "--db", "audit.db"]).code(2);
}

#[test]
fn redact_erases_the_payload_and_everything_still_verifies() {
    let ws = Ws::ledger();
    let marker = "alice.sensitive@contoso.example";
    let s = ws.append(
        "ingest.key",
        "signal",
        &[line(
            "c-1",
            &[],
            json!({"upn": marker, "ip": "203.0.113.9"}),
        )],
    );
    ws.append("ingest.key", "signal", &[line("c-2", &[], json!({"n": 2}))]);
    let seq = s[0].seq.to_string();
    ws.checkpoint("cp.txt");
    let proof = ws
        .run(&["ledger", "prove", "--db", "audit.db", "--seq", &seq])
        .ok();
    ws.write("p.json", &proof.stdout);
    let db_bytes = |ws: &Ws| -> Vec<u8> {
        let mut b = fs::read(ws.p("audit.db")).unwrap();
        if let Ok(wal) = fs::read(ws.p("audit.db-wal")) {
            b.extend(wal);
        }
        b
    };
    let contains = |hay: &[u8]| hay.windows(marker.len()).any(|w| w == marker.as_bytes());
    assert!(
        contains(&db_bytes(&ws)),
        "control: the payload is in the file"
    );

    let out = ws
        .run(&[
            "ledger",
            "redact",
            "--db",
            "audit.db",
            "--seq",
            &seq,
            "--reason",
            "GDPR Art. 17 request 2026-0042",
        ])
        .ok();
    let r = out.json();
    assert_eq!(u64_of(&r["redacted"]), s[0].seq);
    assert_eq!(r["seq"], 6, "the redaction is itself an entry");

    let (code, report) = ws.verify(&["--checkpoint", "cp.txt"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["redacted"], json!([s[0].seq]));
    assert_eq!(report["findings"], json!([]));
    let e = &ws
        .run(&["ledger", "show", "--db", "audit.db", "--seq", &seq])
        .ok()
        .ndjson()[0];
    assert_eq!(e["payload"], Value::Null);
    assert_eq!(e["redacted"], true);
    assert_eq!(e["hash"], s[0].hash.as_str(), "the entry and its hash stay");
    // Erased means erased: the bytes are gone from the database files.
    assert!(
        !contains(&db_bytes(&ws)),
        "redacted payload bytes remain in the database file"
    );
    // Proofs made before the redaction still verify.
    ws.run(&[
        "ledger",
        "verify-proof",
        "--proof",
        "p.json",
        "--ledger-key",
        "audit.ledger.pub",
    ])
    .ok();
    // The bundle carries the redaction too.
    ws.run(&["ledger", "export", "--db", "audit.db", "--out", "b"])
        .ok();
    let out = ws
        .run(&["ledger", "verify", "--bundle", "b", "--json"])
        .ok();
    assert_eq!(out.json()["redacted"], json!([s[0].seq]));
    assert!(!ws.read("b/payloads.ndjson").contains(marker));
    // Not twice, not the ledger's own records, not without a reason.
    for (args, says) in [
        (
            vec!["--seq", seq.as_str(), "--reason", "again"],
            "already redacted",
        ),
        (vec!["--seq", "1", "--reason", "x"], "key"),
        (vec!["--seq", "5", "--reason", " "], "reason"),
        (vec!["--seq", "999", "--reason", "x"], "999"),
    ] {
        let mut a = vec!["ledger", "redact", "--db", "audit.db"];
        a.extend(args.iter().copied());
        let out = ws.run(&a).code(2);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    assert_eq!(ws.size(), 7);
}

// ---------------------------------------------------------------------------------------------
// 2. Key lifecycle
// ---------------------------------------------------------------------------------------------

fn append_one(ws: &Ws, key: &str, kind: &str) -> Out {
    ws.run_stdin(
        &[
            "ledger", "append", "--db", "audit.db", "--key", key, "--kind", kind,
        ],
        &ndjson(&[line("c-9", &[], json!({"k": key}))]),
    )
}

#[test]
fn keys_may_sign_only_what_they_were_registered_for() {
    let ws = Ws::ledger();
    ws.gen_key("rogue", "rogue.key");
    let before = ws.size();
    let cases = [
        ("rogue.key", "signal", "rogue"),
        ("ai-engine.key", "review", "review"),
        ("analyst.key", "inference", "inference"),
        ("ingest.key", "review", "review"),
    ];
    for (key, kind, says) in cases {
        let out = append_one(&ws, key, kind).code(2);
        assert!(
            out.stderr.contains(key.trim_end_matches(".key")) && out.stderr.contains(says),
            "{key} {kind}: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "{key} {kind}: nothing acknowledged");
    }
    assert_eq!(ws.size(), before, "nothing was appended");
    // The same keys may sign what they are registered for.
    append_one(&ws, "ai-engine.key", "inference").ok();
    append_one(&ws, "ingest.key", "action").ok();
    // Registering: the ledger key's own kinds are not grantable, and a name is registered once.
    let o = ws
        .run(&[
            "ledger",
            "key",
            "add",
            "--db",
            "audit.db",
            "--key",
            "rogue.pub",
            "--kinds",
            "key",
        ])
        .code(2);
    assert!(o.stderr.contains("key"), "{}", o.stderr);
    let o = ws
        .run(&[
            "ledger",
            "key",
            "add",
            "--db",
            "audit.db",
            "--key",
            "rogue.pub",
            "--kinds",
            "opinion",
        ])
        .code(2);
    assert!(o.stderr.contains("--kinds"), "{}", o.stderr);
    let o = ws
        .run(&[
            "ledger",
            "key",
            "add",
            "--db",
            "audit.db",
            "--key",
            "ingest.pub",
            "--kinds",
            "run",
        ])
        .code(2);
    assert!(o.stderr.contains("already registered"), "{}", o.stderr);
    let o = ws
        .run(&[
            "ledger",
            "key",
            "add",
            "--db",
            "audit.db",
            "--key",
            "rogue.key",
            "--kinds",
            "run",
        ])
        .code(2);
    assert!(o.stderr.contains("secret key"), "{}", o.stderr);
    let (code, r) = ws.verify(&[]);
    assert_eq!(code, 0, "{r}");
}

#[test]
fn revoked_key_can_no_longer_append() {
    let ws = Ws::ledger();
    append_one(&ws, "ai-engine.key", "inference").ok();
    let out = ws
        .run(&[
            "key",
            "revoke",
            "--db",
            "audit.db",
            "--name",
            "ai-engine",
            "--reason",
            "stolen",
        ])
        .ok();
    assert_eq!(out.json()["revoked"], "ai-engine");
    let size = ws.size();
    let out = append_one(&ws, "ai-engine.key", "inference").code(2);
    assert!(
        out.stderr.contains("revoked") && out.stderr.contains("stolen"),
        "{}",
        out.stderr
    );
    assert_eq!(ws.size(), size);
    // Entries signed before the revocation still verify; other keys still work.
    append_one(&ws, "ingest.key", "signal").ok();
    let (code, r) = ws.verify(&[]);
    assert_eq!(code, 0, "{r}");
    // `vigil ledger key revoke` is the same command; revoking twice or an unknown name fails.
    let o = ws
        .run(&[
            "ledger",
            "key",
            "revoke",
            "--db",
            "audit.db",
            "--name",
            "ai-engine",
            "--reason",
            "x",
        ])
        .code(2);
    assert!(o.stderr.contains("already revoked"), "{}", o.stderr);
    let o = ws
        .run(&[
            "key", "revoke", "--db", "audit.db", "--name", "nobody", "--reason", "x",
        ])
        .code(2);
    assert!(o.stderr.contains("nobody"), "{}", o.stderr);
    let o = ws
        .run(&[
            "key", "revoke", "--db", "audit.db", "--name", ORIGIN, "--reason", "x",
        ])
        .code(2);
    assert!(o.stderr.contains("rotate"), "{}", o.stderr);
}

#[test]
fn rotated_producer_key_replaces_the_old_one() {
    let ws = Ws::ledger();
    append_one(&ws, "ai-engine.key", "inference").ok();
    let new = ws.gen_key("ai-engine", "ai-engine2.key");
    let out = ws
        .run(&[
            "key",
            "rotate",
            "--db",
            "audit.db",
            "--new-key",
            "ai-engine2.pub",
        ])
        .ok();
    assert_eq!(out.json()["key"], new.as_str());
    append_one(&ws, "ai-engine2.key", "inference").ok();
    let out = append_one(&ws, "ai-engine.key", "inference").code(2);
    assert!(out.stderr.contains("ai-engine"), "{}", out.stderr);
    // The kinds carry over, and no more.
    append_one(&ws, "ai-engine2.key", "review").code(2);
    // Rotating needs a registered name and a fresh key.
    ws.gen_key("stranger", "stranger.key");
    let o = ws
        .run(&[
            "key",
            "rotate",
            "--db",
            "audit.db",
            "--new-key",
            "stranger.pub",
        ])
        .code(2);
    assert!(o.stderr.contains("stranger"), "{}", o.stderr);
    ws.run(&[
        "key",
        "rotate",
        "--db",
        "audit.db",
        "--new-key",
        "ai-engine2.pub",
    ])
    .code(2);
    let (code, r) = ws.verify(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["size"], 7);
}

#[test]
fn ledger_key_rotation_keeps_old_checkpoints_verifiable() {
    let ws = Ws::ledger();
    append_one(&ws, "ingest.key", "signal").ok();
    ws.checkpoint("old-cp.txt");
    let old_pub = ws.read("audit.ledger.pub");
    fs::copy(ws.p("audit.ledger.key"), ws.p("old.ledger.key")).unwrap();
    ws.write("old.ledger.pub", &old_pub);
    let old_secret = ws.read("audit.ledger.key");

    let out = ws
        .run(&["key", "rotate", "--db", "audit.db", "--ledger"])
        .ok();
    let new_pub = ws.read("audit.ledger.pub");
    assert_eq!(out.stdout, new_pub, "prints the new public key");
    assert_ne!(new_pub, old_pub);
    assert_ne!(
        ws.read("audit.ledger.key"),
        old_secret,
        "the key file was replaced"
    );
    assert_eq!(ws.mode("audit.ledger.key"), 0o600);
    assert_eq!(vkey(&new_pub).name, ORIGIN, "same origin");
    assert!(
        !ws.p("audit.ledger.key.new").exists(),
        "no staged key left behind"
    );
    let shown = ws.run(&["key", "show", "--key", "audit.ledger.key"]).ok();
    assert_eq!(shown.stdout, new_pub);

    let (code, r) = ws.verify(&["--checkpoint", "old-cp.txt"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["ledger_keys"].as_array().unwrap().len(), 2);
    // An auditor who pinned the old key still accepts the ledger.
    let (code, r) = ws.verify(&[
        "--checkpoint",
        "old-cp.txt",
        "--ledger-key",
        "old.ledger.pub",
    ]);
    assert_eq!(code, 0, "{r}");

    // New checkpoints are signed by the new key, not the old one.
    append_one(&ws, "ingest.key", "signal").ok();
    let text = ws.checkpoint("new-cp.txt");
    let n = note(&text);
    assert!(n.signed_by(&vkey(&new_pub)));
    assert!(!n.signed_by(&vkey(&old_pub)));
    let (code, r) = ws.verify(&[
        "--checkpoint",
        "old-cp.txt",
        "--checkpoint",
        "new-cp.txt",
        "--ledger-key",
        "audit.ledger.pub",
    ]);
    assert_eq!(code, 0, "{r}");
    let (code, r) = ws.verify(&["--from", "old-cp.txt"]);
    assert_eq!(code, 0, "{r}");
    // The old secret key no longer signs for this ledger.
    let o = ws
        .run(&[
            "ledger",
            "checkpoint",
            "--db",
            "audit.db",
            "--ledger-key",
            "old.ledger.key",
        ])
        .code(2);
    assert!(
        o.stderr.contains("not this ledger's current ledger key"),
        "{}",
        o.stderr
    );
    // Inclusion proofs are checked against the new key.
    let p = ws
        .run(&["ledger", "prove", "--db", "audit.db", "--seq", "1"])
        .ok();
    ws.write("p.json", &p.stdout);
    ws.run(&[
        "ledger",
        "verify-proof",
        "--proof",
        "p.json",
        "--ledger-key",
        "audit.ledger.pub",
    ])
    .ok();
}

#[test]
fn failed_ledger_key_rotation_leaves_no_staged_key_behind() {
    let ws = Ws::ledger();
    ws.run(&[
        "ledger",
        "init",
        "--db",
        "other.db",
        "--origin",
        "other.example/log",
    ])
    .ok();
    for _ in 0..2 {
        let o = ws
            .run(&[
                "key",
                "rotate",
                "--db",
                "audit.db",
                "--ledger",
                "--ledger-key",
                "other.ledger.key",
            ])
            .code(2);
        assert!(
            o.stderr.contains("not this ledger's current ledger key"),
            "{}",
            o.stderr
        );
        assert!(
            !ws.p("other.ledger.key.new").exists(),
            "a refused rotation left a secret key that belongs to nothing"
        );
    }
    // The real rotation still works afterwards.
    ws.run(&["key", "rotate", "--db", "audit.db", "--ledger"])
        .ok();
}

#[test]
fn ledger_key_list_json_shows_every_key_and_its_status() {
    let ws = Ws::ledger();
    ws.gen_key("ai-engine", "ai-engine2.key");
    ws.run(&[
        "key",
        "rotate",
        "--db",
        "audit.db",
        "--new-key",
        "ai-engine2.pub",
    ])
    .ok();
    ws.run(&[
        "key",
        "revoke",
        "--db",
        "audit.db",
        "--name",
        "analyst",
        "--reason",
        "left the company",
    ])
    .ok();
    let list = ws
        .run(&["ledger", "key", "list", "--db", "audit.db", "--json"])
        .ok()
        .json();
    let rows: Vec<(String, String, Vec<String>, u64, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["key"].as_str().unwrap().to_string(),
                r["kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string())
                    .collect(),
                u64_of(&r["added_seq"]),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pk = |f: &str| ws.read(f).trim_end().to_string();
    let v = |k: &[&str]| k.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    assert_eq!(
        rows,
        [
            (
                ORIGIN.into(),
                pk("audit.ledger.pub"),
                v(&["key", "redaction"]),
                0,
                "active".into()
            ),
            (
                "ingest".into(),
                pk("ingest.pub"),
                v(&["signal", "action"]),
                1,
                "active".into()
            ),
            (
                "ai-engine".into(),
                pk("ai-engine.pub"),
                v(&["inference"]),
                2,
                "rotated at 4".into()
            ),
            (
                "analyst".into(),
                pk("analyst.pub"),
                v(&["review"]),
                3,
                "revoked at 5: left the company".into()
            ),
            (
                "ai-engine".into(),
                pk("ai-engine2.pub"),
                v(&["inference"]),
                4,
                "active".into()
            ),
        ]
    );
    let table = ws.run(&["ledger", "key", "list", "--db", "audit.db"]).ok();
    assert!(table.stdout.contains("rotated at 4"), "{}", table.stdout);
}

// ---------------------------------------------------------------------------------------------
// 3. Secret key hygiene
// ---------------------------------------------------------------------------------------------

#[test]
fn secret_key_readable_by_others_is_refused() {
    let ws = Ws::ledger();
    let size = ws.size();
    for mode in [0o644, 0o640, 0o604, 0o660, 0o700 | 0o044] {
        ws.chmod("ingest.key", mode);
        let out = append_one(&ws, "ingest.key", "signal").code(2);
        assert!(
            out.stderr.contains("ingest.key")
                && out.stderr.contains("accessible to other users")
                && out.stderr.contains(&format!("{mode:04o}")),
            "mode {mode:o}: {}",
            out.stderr
        );
        let out = ws.run(&["key", "show", "--key", "ingest.key"]).code(2);
        assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
    }
    ws.chmod("audit.ledger.key", 0o644);
    let out = ws
        .run(&["ledger", "checkpoint", "--db", "audit.db"])
        .code(2);
    assert!(out.stderr.contains("audit.ledger.key"), "{}", out.stderr);
    assert_eq!(ws.size(), size, "nothing was appended");
    // Owner-only modes are fine.
    ws.chmod("audit.ledger.key", 0o600);
    ws.run(&["ledger", "checkpoint", "--db", "audit.db"]).ok();
    ws.chmod("ingest.key", 0o400);
    append_one(&ws, "ingest.key", "signal").ok();
}

#[test]
fn secret_key_text_never_appears_in_any_output() {
    let ws = Ws::new();
    let mut outs = Vec::new();
    outs.push(
        ws.run(&["ledger", "init", "--db", "audit.db", "--origin", ORIGIN])
            .ok(),
    );
    outs.push(
        ws.run(&[
            "key",
            "generate",
            "--name",
            "ai-engine",
            "--out",
            "ai-engine.key",
        ])
        .ok(),
    );
    outs.push(
        ws.run(&[
            "key",
            "generate",
            "--witness",
            "--name",
            "w.example",
            "--out",
            "w.key",
        ])
        .ok(),
    );
    for key in ["audit.ledger.key", "ai-engine.key", "w.key"] {
        let shown = ws.run(&["key", "show", "--key", key]).ok();
        assert_eq!(
            shown.stdout,
            ws.read(&key.replace(".key", ".pub")),
            "key show --key {key} prints exactly the public key"
        );
        outs.push(shown);
    }
    outs.push(
        ws.run(&[
            "ledger",
            "key",
            "add",
            "--db",
            "audit.db",
            "--key",
            "ai-engine.key",
            "--kinds",
            "inference",
        ])
        .code(2),
    );
    outs.push(
        ws.run(&[
            "ledger",
            "key",
            "add",
            "--db",
            "audit.db",
            "--key",
            "ai-engine.pub",
            "--kinds",
            "inference",
        ])
        .ok(),
    );
    outs.push(ws.run(&["ledger", "checkpoint", "--db", "audit.db"]).ok());
    outs.push(
        ws.run(&[
            "ledger",
            "cosign",
            "--checkpoint",
            "audit.ledger.key",
            "--key",
            "w.key",
            "--log-key",
            "audit.ledger.pub",
            "--state",
            "w.state",
        ])
        .code(2),
    );
    let old_ledger_secret = ws.read("audit.ledger.key");
    outs.push(
        ws.run(&["key", "rotate", "--db", "audit.db", "--ledger"])
            .ok(),
    );
    outs.push(ws.run(&["key", "show", "--key", "audit.ledger.key"]).ok());
    outs.push(
        ws.run(&[
            "key",
            "rotate",
            "--db",
            "audit.db",
            "--new-key",
            "ai-engine.key",
        ])
        .code(2),
    );
    let mut secrets = vec![old_ledger_secret];
    for f in ["audit.ledger.key", "ai-engine.key", "w.key"] {
        secrets.push(ws.read(f));
    }
    for secret in &secrets {
        let secret = secret.trim_end();
        assert!(secret.starts_with("PRIVATE+KEY+"), "{secret}");
        // The base64 of type || seed, and the seed in hex.
        let material = &secret[secret.len() - 44..];
        let seed_hex = hex::encode(&b64(material)[1..]);
        for o in &outs {
            let all = o.all();
            assert!(!all.contains("PRIVATE+KEY"), "{all}");
            assert!(
                !all.contains(material),
                "secret key material printed: {all}"
            );
            assert!(!all.contains(&seed_hex), "secret seed printed: {all}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_line_3_stops_append_after_committing_lines_1_and_2() {
    let ws = Ws::ledger();
    let size = ws.size();
    let input = format!(
        "{}\n{}\n{{\"payload\": oops}}\n{}\n",
        line("c-1", &[], json!({"n": 1})),
        line("c-2", &[], json!({"n": 2})),
        line("c-4", &[], json!({"n": 4})),
    );
    let out = ws.run_stdin(
        &[
            "ledger",
            "append",
            "--db",
            "audit.db",
            "--key",
            "ingest.key",
            "--kind",
            "signal",
        ],
        &input,
    );
    let out = out.code(2);
    assert!(out.stderr.contains("line 3"), "{}", out.stderr);
    assert!(
        out.stderr.contains("2 entries before it were committed"),
        "{}",
        out.stderr
    );
    assert_eq!(
        acks_of(&out),
        [size, size + 1],
        "lines 1 and 2 acknowledged"
    );
    let (code, r) = ws.verify(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        u64_of(&r["size"]),
        size + 2,
        "lines 1-2 committed, line 4 not"
    );
    let shown = ws
        .run(&[
            "ledger",
            "show",
            "--db",
            "audit.db",
            "--from",
            &size.to_string(),
        ])
        .ok()
        .ndjson();
    assert_eq!(
        shown
            .iter()
            .map(|e| e["payload"]["n"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2)]
    );
}

#[test]
fn bad_input_lines_are_refused_naming_line_and_field() {
    let ws = Ws::ledger();
    let good = ws.append("ingest.key", "signal", &[line("c-0", &[], json!({}))]);
    let size = ws.size();
    let h = &good[0].hash;
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "missing payload",
            r#"{"subject":{"a":"b"}}"#.into(),
            &["line 1", "`payload`"],
        ),
        (
            "unknown kind",
            r#"{"kind":"opinion","payload":{}}"#.into(),
            &["line 1", "`kind`", "opinion"],
        ),
        (
            "ledger-only kind",
            r#"{"kind":"redaction","payload":{}}"#.into(),
            &["line 1", "`kind`"],
        ),
        (
            "bad ref hash",
            format!(
                r#"{{"refs":[{{"seq":{},"hash":"xyz"}}],"payload":{{}}}}"#,
                good[0].seq
            ),
            &["line 1", "`refs[0].hash`"],
        ),
        (
            "uppercase ref hash",
            format!(
                r#"{{"refs":[{{"seq":{},"hash":"{h}"}},{{"seq":1,"hash":"{}"}}],"payload":{{}}}}"#,
                good[0].seq,
                h.to_uppercase()
            ),
            &["line 1", "`refs[1].hash`"],
        ),
        (
            "bad subject key",
            r#"{"subject":{"a b":"c"},"payload":{}}"#.into(),
            &["line 1", "`subject`"],
        ),
        (
            "empty subject value",
            r#"{"subject":{"a":""},"payload":{}}"#.into(),
            &["line 1", "`subject`"],
        ),
        (
            "unknown field",
            r#"{"payload":{},"extra":1}"#.into(),
            &["line 1", "extra"],
        ),
        ("not an object", "[1,2,3]".into(), &["line 1"]),
    ];
    for (what, input, says) in &cases {
        let out = ws
            .run_stdin(
                &[
                    "ledger",
                    "append",
                    "--db",
                    "audit.db",
                    "--key",
                    "ingest.key",
                    "--kind",
                    "signal",
                ],
                &format!("{input}\n"),
            )
            .code(2);
        for s in *says {
            assert!(out.stderr.contains(s), "{what}: no {s:?} in {}", out.stderr);
        }
        assert!(
            out.stderr.contains("stdin"),
            "{what}: names the source: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "{what}");
    }
    // A line without kind and no --kind.
    let out = ws
        .run_stdin(
            &[
                "ledger",
                "append",
                "--db",
                "audit.db",
                "--key",
                "ingest.key",
            ],
            "{\"payload\":{}}\n",
        )
        .code(2);
    assert!(out.stderr.contains("`kind`"), "{}", out.stderr);
    // From a file, the message names the file.
    ws.write(
        "in.ndjson",
        "{\"payload\":{}}\n{\"payload\":{}, \"kind\": 7}\n",
    );
    let out = ws
        .run(&[
            "ledger",
            "append",
            "--db",
            "audit.db",
            "--key",
            "ingest.key",
            "--kind",
            "signal",
            "--input",
            "in.ndjson",
        ])
        .code(2);
    assert!(out.stderr.contains("in.ndjson line 2"), "{}", out.stderr);
    assert_eq!(ws.size(), size + 1, "only the good first line of the file");
    let out = ws
        .run(&[
            "ledger",
            "append",
            "--db",
            "audit.db",
            "--key",
            "ingest.key",
            "--kind",
            "bogus",
        ])
        .code(2);
    assert!(out.stderr.contains("--kind"), "{}", out.stderr);
}

#[test]
fn refs_must_name_an_earlier_entry_by_its_hash() {
    let ws = Ws::ledger();
    let good = ws.append("ingest.key", "signal", &[line("c-0", &[], json!({}))]);
    let size = ws.size();
    let g = &good[0];
    let wrong_hash = flip_hex(&g.hash, 10);
    let cases: Vec<(&str, Ack, &str)> = vec![
        (
            "later seq",
            Ack {
                seq: size + 5,
                hash: g.hash.clone(),
            },
            "earlier",
        ),
        (
            "its own seq",
            Ack {
                seq: size,
                hash: g.hash.clone(),
            },
            "earlier",
        ),
        (
            "wrong hash",
            Ack {
                seq: g.seq,
                hash: wrong_hash.clone(),
            },
            &wrong_hash,
        ),
        (
            "hash of another entry",
            Ack {
                seq: 1,
                hash: g.hash.clone(),
            },
            "does not match",
        ),
    ];
    for (what, r, says) in &cases {
        let out = ws
            .run_stdin(
                &[
                    "ledger",
                    "append",
                    "--db",
                    "audit.db",
                    "--key",
                    "ingest.key",
                    "--kind",
                    "signal",
                ],
                &ndjson(&[line("c-1", &[r], json!({}))]),
            )
            .code(2);
        assert!(
            out.stderr.contains("line 1") && out.stderr.contains(says),
            "{what}: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "{what}");
    }
    assert_eq!(ws.size(), size, "nothing was appended");
    // A bad ref on line 3 of one stream: lines 1-2 are committed and the message names line 3,
    // however the stream was batched.
    for batch in ["1", "4096"] {
        let start = ws.size();
        let input = ndjson(&[
            line("c-1", &[g], json!({"n": 1})),
            line("c-2", &[], json!({"n": 2})),
            line("c-3", &[&cases[2].1], json!({"n": 3})),
            line("c-4", &[], json!({"n": 4})),
        ]);
        let out = ws
            .run_stdin(
                &[
                    "ledger",
                    "append",
                    "--db",
                    "audit.db",
                    "--key",
                    "ingest.key",
                    "--kind",
                    "signal",
                    "--batch",
                    batch,
                ],
                &input,
            )
            .code(2);
        assert!(
            out.stderr.contains("line 3"),
            "--batch {batch}: {}",
            out.stderr
        );
        assert_eq!(acks_of(&out), [start, start + 1], "--batch {batch}");
        assert_eq!(ws.size(), start + 2, "--batch {batch}");
    }
    // A kind the key may not sign, on line 2 of a stream.
    let start = ws.size();
    let mut review = line("c-5", &[], json!({}));
    review["kind"] = json!("review");
    let out = ws
        .run_stdin(
            &[
                "ledger",
                "append",
                "--db",
                "audit.db",
                "--key",
                "ingest.key",
                "--kind",
                "signal",
            ],
            &ndjson(&[line("c-5", &[], json!({})), review]),
        )
        .code(2);
    assert!(
        out.stderr.contains("line 2") && out.stderr.contains("review"),
        "{}",
        out.stderr
    );
    assert_eq!(ws.size(), start + 1);
    let (code, r) = ws.verify(&[]);
    assert_eq!(code, 0, "{r}");
}

#[test]
fn init_never_overwrites_and_leaves_nothing_half_made() {
    let ws = Ws::ledger();
    let db = fs::read(ws.p("audit.db")).unwrap();
    let key = ws.read("audit.ledger.key");
    let out = ws
        .run(&[
            "ledger",
            "init",
            "--db",
            "audit.db",
            "--origin",
            "x.example/y",
        ])
        .code(2);
    assert!(
        out.stderr.contains("audit.db") && out.stderr.contains("already exists"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read(ws.p("audit.db")).unwrap(), db);
    assert_eq!(ws.read("audit.ledger.key"), key);
    // A new database whose key files already exist: refused, nothing created.
    ws.write("fresh.ledger.pub", "someone else's key\n");
    let out = ws
        .run(&[
            "ledger",
            "init",
            "--db",
            "fresh.db",
            "--origin",
            "x.example/y",
        ])
        .code(2);
    assert!(out.stderr.contains("fresh.ledger.pub"), "{}", out.stderr);
    assert!(!ws.p("fresh.db").exists());
    assert!(
        !ws.p("fresh.ledger.key").exists(),
        "a refused init left a secret key that belongs to no ledger"
    );
    fs::remove_file(ws.p("fresh.ledger.pub")).unwrap();
    ws.run(&[
        "ledger",
        "init",
        "--db",
        "fresh.db",
        "--origin",
        "x.example/y",
    ])
    .ok();
    // An origin that cannot name a key.
    let out = ws
        .run(&["ledger", "init", "--db", "bad.db", "--origin", "has space"])
        .code(2);
    assert!(out.stderr.contains("origin"), "{}", out.stderr);
    assert!(!ws.p("bad.db").exists() && !ws.p("bad.ledger.key").exists());
}

#[test]
fn a_missing_database_is_an_input_error_and_is_not_created() {
    let ws = Ws::ledger();
    let cases: Vec<Vec<&str>> = vec![
        vec!["ledger", "verify", "--db", "missing.db"],
        vec!["ledger", "show", "--db", "missing.db"],
        vec!["ledger", "prove", "--db", "missing.db", "--seq", "0"],
        vec!["ledger", "export", "--db", "missing.db", "--out", "b"],
        vec!["ledger", "key", "list", "--db", "missing.db"],
        vec!["ledger", "trace", "--db", "missing.db", "--seq", "0"],
        vec![
            "ledger",
            "append",
            "--db",
            "missing.db",
            "--key",
            "ingest.key",
            "--kind",
            "signal",
        ],
        vec![
            "ledger",
            "checkpoint",
            "--db",
            "missing.db",
            "--ledger-key",
            "audit.ledger.key",
        ],
    ];
    for args in &cases {
        let out = ws.run(args).code(2);
        assert!(
            out.stderr.contains("missing.db") && out.stderr.contains("no such ledger"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            !ws.p("missing.db").exists(),
            "{args:?} created the database"
        );
    }
    let out = ws
        .run(&["ledger", "checkpoint", "--db", "missing.db"])
        .code(2);
    assert!(out.stderr.contains("missing.ledger.key"), "{}", out.stderr);
    // Not a ledger at all.
    ws.write("notes.db", "hello");
    let out = ws.run(&["ledger", "verify", "--db", "notes.db"]).code(2);
    assert!(out.stderr.contains("notes.db"), "{}", out.stderr);
}

#[test]
fn unknown_subcommands_and_flags_are_usage_errors() {
    let ws = Ws::new();
    let cases: Vec<Vec<&str>> = vec![
        vec!["frobnicate"],
        vec!["ledger", "frobnicate"],
        vec!["ledger", "verify", "--db", "a.db", "--frob"],
        vec!["ledger", "verify"],
        vec!["ledger", "verify", "--db", "a.db", "--bundle", "b"],
        vec!["ledger", "append", "--db", "a.db"],
        vec!["ledger", "prove", "--db", "a.db"],
        vec!["ledger", "prove", "--db", "a.db", "--seq", "x"],
        vec![
            "ledger", "show", "--db", "a.db", "--seq", "1", "--from", "0",
        ],
        vec!["ledger", "key", "add", "--db", "a.db", "--key", "k.pub"],
        vec!["key", "rotate", "--db", "a.db"],
        vec![
            "key",
            "rotate",
            "--db",
            "a.db",
            "--ledger",
            "--new-key",
            "k.pub",
        ],
        vec![],
    ];
    for args in &cases {
        let out = ws.run(args).code(2);
        assert!(
            out.stderr.contains("error:") || out.stderr.contains("Usage:"),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "{args:?}");
    }
    assert_eq!(
        fs::read_dir(ws.p(".")).unwrap().count(),
        0,
        "no files created"
    );
    let help = ws.run(&["--help"]).ok();
    assert!(help.stdout.contains("ledger"), "{}", help.stdout);
    let v = ws.run(&["--version"]).ok();
    assert!(v.stdout.starts_with("vigil "), "{}", v.stdout);
}

#[test]
fn a_garbage_checkpoint_is_a_checkpoint_invalid_finding() {
    let ws = Ws::ledger();
    let cases = [
        ("garbage.txt", "this is not a checkpoint\n"),
        ("empty.txt", ""),
        ("unsigned.txt", "contoso.example/vigil\n4\nAAAA\n"),
        (
            "badroot.txt",
            "contoso.example/vigil\n4\nnot-base64\n\n\u{2014} contoso.example/vigil AAAAAAAA\n",
        ),
    ];
    for (file, text) in cases {
        ws.write(file, text);
        let (code, r) = ws.verify(&["--checkpoint", file]);
        assert_eq!(code, 1, "{file}: {r}");
        assert_eq!(r["ok"], false);
        let f = &r["findings"].as_array().unwrap();
        assert_eq!(f.len(), 1, "{r}");
        assert_eq!(f[0]["code"], "checkpoint-invalid");
        assert!(f[0]["message"].as_str().unwrap().contains(file), "{r}");
        let human = ws
            .run(&["ledger", "verify", "--db", "audit.db", "--checkpoint", file])
            .code(1);
        assert!(
            human.stdout.contains("checkpoint-invalid"),
            "{}",
            human.stdout
        );
        let from = ws
            .run(&[
                "ledger", "verify", "--db", "audit.db", "--from", file, "--json",
            ])
            .code(1);
        assert_eq!(from.json()["findings"][0]["code"], "checkpoint-invalid");
    }
    // A checkpoint file that does not exist is an input error naming it.
    let out = ws
        .run(&[
            "ledger",
            "verify",
            "--db",
            "audit.db",
            "--checkpoint",
            "nope.txt",
        ])
        .code(2);
    assert!(out.stderr.contains("nope.txt"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// 5. Checkpoints and witnesses
// ---------------------------------------------------------------------------------------------

#[test]
fn checkpoint_publish_writes_numbered_and_latest_files() {
    let ws = Ws::ledger();
    let first = ws
        .run(&[
            "ledger",
            "checkpoint",
            "--db",
            "audit.db",
            "--publish",
            "pub",
        ])
        .ok();
    append_one(&ws, "ingest.key", "signal").ok();
    let second = ws
        .run(&[
            "ledger",
            "checkpoint",
            "--db",
            "audit.db",
            "--publish",
            "pub",
        ])
        .ok();
    let mut names: Vec<String> = fs::read_dir(ws.p("pub"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "checkpoint-000000000004.txt",
            "checkpoint-000000000005.txt",
            "checkpoint-latest.txt"
        ]
    );
    assert_eq!(ws.read("pub/checkpoint-000000000004.txt"), first.stdout);
    assert_eq!(ws.read("pub/checkpoint-000000000005.txt"), second.stdout);
    assert_eq!(ws.read("pub/checkpoint-latest.txt"), second.stdout);
    let key = vkey(&ws.read("audit.ledger.pub"));
    for f in [
        "pub/checkpoint-000000000004.txt",
        "pub/checkpoint-latest.txt",
    ] {
        assert!(note(&ws.read(f)).signed_by(&key), "{f}");
    }
    let (code, r) = ws.verify(&[
        "--checkpoint",
        "pub/checkpoint-000000000004.txt",
        "--checkpoint",
        "pub/checkpoint-latest.txt",
    ]);
    assert_eq!(code, 0, "{r}");
}

fn cosign(ws: &Ws, cp: &str, extra: &[&str]) -> Out {
    let mut args = vec![
        "ledger",
        "cosign",
        "--checkpoint",
        cp,
        "--key",
        "w.key",
        "--log-key",
        "audit.ledger.pub",
        "--state",
        "w.state",
    ];
    args.extend_from_slice(extra);
    ws.run(&args)
}

#[test]
fn witness_cosigns_consistent_checkpoints_and_refuses_rollback() {
    let ws = Ws::ledger();
    ws.run(&[
        "key",
        "generate",
        "--witness",
        "--name",
        "witness.example",
        "--out",
        "w.key",
    ])
    .ok();
    let witness = vkey(&ws.read("w.pub"));
    let ledger_key = vkey(&ws.read("audit.ledger.pub"));
    append_one(&ws, "ingest.key", "signal").ok();
    let cp1 = ws.checkpoint("cp1.txt");

    let out = cosign(&ws, "cp1.txt", &[]).ok();
    let sig_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('\u{2014}'))
        .collect();
    assert_eq!(sig_lines.len(), 2, "{}", out.stdout);
    assert!(sig_lines[1].starts_with("\u{2014} witness.example "));
    let n = note(&out.stdout);
    assert_eq!(
        n.text,
        note(&cp1).text,
        "the checkpoint itself is unchanged"
    );
    assert!(n.signed_by(&ledger_key));
    assert!(n.cosigned_by(&witness), "a valid C2SP cosignature/v1");
    assert_eq!(
        ws.read("w.state"),
        out.stdout,
        "the state is the last cosigned checkpoint"
    );
    ws.write("cos1.txt", &out.stdout);
    let (code, r) = ws.verify(&["--checkpoint", "cos1.txt", "--witness-key", "w.pub"]);
    assert_eq!(code, 0, "{r}");
    let (code, r) = ws.verify(&["--checkpoint", "cp1.txt", "--witness-key", "w.pub"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["findings"][0]["code"], "checkpoint-not-witnessed");

    append_one(&ws, "ingest.key", "signal").ok();
    append_one(&ws, "ingest.key", "signal").ok();
    ws.checkpoint("cp2.txt");
    // A larger checkpoint needs a consistency proof.
    let out = cosign(&ws, "cp2.txt", &[]).code(2);
    assert!(out.stderr.contains("--proof or --db"), "{}", out.stderr);
    let out = cosign(&ws, "cp2.txt", &["--db", "audit.db"]).ok();
    let n2 = note(&out.stdout);
    assert!(n2.cosigned_by(&witness));
    assert_eq!(n2.checkpoint().1, 7);
    let state = ws.read("w.state");
    assert_eq!(state, out.stdout);

    // Rolling the witness back to the older checkpoint is refused (exit 1), state unchanged.
    for extra in [&[][..], &["--db", "audit.db"][..]] {
        let out = cosign(&ws, "cp1.txt", extra).code(1);
        assert!(out.stderr.contains("rollback"), "{}", out.stderr);
        assert_eq!(out.stdout, "");
        assert_eq!(ws.read("w.state"), state);
    }

    // The same step with a proof file from `prove --consistency`.
    append_one(&ws, "ingest.key", "signal").ok();
    ws.checkpoint("cp3.txt");
    let p = ws
        .run(&[
            "ledger",
            "prove",
            "--db",
            "audit.db",
            "--consistency",
            "cp2.txt",
        ])
        .ok();
    ws.write("c.json", &p.stdout);
    let wrong = ws
        .run(&[
            "ledger",
            "prove",
            "--db",
            "audit.db",
            "--consistency",
            "cp1.txt",
        ])
        .ok();
    ws.write("wrong.json", &wrong.stdout);
    let out = cosign(&ws, "cp3.txt", &["--proof", "wrong.json"]).code(2);
    assert!(out.stderr.contains("wrong.json"), "{}", out.stderr);
    let mut bad: Value = p.json();
    bad["path"][0] = json!(flip_hex(bad["path"][0].as_str().unwrap(), 3));
    ws.write("bad.json", &bad.to_string());
    let out = cosign(&ws, "cp3.txt", &["--proof", "bad.json"]).code(1);
    assert!(out.stderr.contains("not consistent"), "{}", out.stderr);
    assert_eq!(ws.read("w.state"), state);
    let out = cosign(&ws, "cp3.txt", &["--proof", "c.json"]).ok();
    assert!(note(&out.stdout).cosigned_by(&witness));

    // Only a witness key cosigns.
    let out = ws
        .run(&[
            "ledger",
            "cosign",
            "--checkpoint",
            "cp3.txt",
            "--key",
            "ingest.key",
            "--log-key",
            "audit.ledger.pub",
            "--state",
            "x.state",
        ])
        .code(2);
    assert!(out.stderr.contains("not a witness key"), "{}", out.stderr);
}

#[test]
fn witness_refuses_a_fork_and_checkpoints_of_other_ledgers() {
    let ws = Ws::ledger();
    ws.run(&[
        "key",
        "generate",
        "--witness",
        "--name",
        "witness.example",
        "--out",
        "w.key",
    ])
    .ok();
    append_one(&ws, "ingest.key", "signal").ok();
    let cp = ws.checkpoint("cp.txt");
    cosign(&ws, "cp.txt", &[]).ok();
    let state = ws.read("w.state");

    // The ledger key signing a second, different root for the same size: a fork.
    let key = vigil_ledger::keyfile::read_secret_key(&ws.p("audit.ledger.key")).unwrap();
    let mut c = vigil_ledger::SignedCheckpoint::parse(cp.as_bytes())
        .unwrap()
        .checkpoint;
    c.root[0] ^= 1;
    let fork = vigil_ledger::SignedCheckpoint::sign(c, &key).unwrap();
    ws.write("fork.txt", &String::from_utf8(fork.to_bytes()).unwrap());
    assert!(note(&ws.read("fork.txt")).signed_by(&vkey(&ws.read("audit.ledger.pub"))));
    let out = cosign(&ws, "fork.txt", &[]).code(1);
    assert!(out.stderr.contains("fork"), "{}", out.stderr);
    assert_eq!(ws.read("w.state"), state);
    let (code, r) = ws.verify(&["--checkpoint", "fork.txt"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["findings"][0]["code"], "fork");

    // Another ledger's checkpoint (another origin).
    ws.run(&[
        "ledger",
        "init",
        "--db",
        "other.db",
        "--origin",
        "other.example/log",
    ])
    .ok();
    let other = ws.run(&["ledger", "checkpoint", "--db", "other.db"]).ok();
    ws.write("other-cp.txt", &other.stdout);
    let out = cosign(&ws, "other-cp.txt", &[]);
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.code, 1, "not signed by the log key: {}", out.stderr);
    let out = ws
        .run(&[
            "ledger",
            "cosign",
            "--checkpoint",
            "other-cp.txt",
            "--key",
            "w.key",
            "--log-key",
            "other.ledger.pub",
            "--state",
            "w.state",
        ])
        .code(2);
    assert!(out.stderr.contains("other.example/log"), "{}", out.stderr);
    assert_eq!(ws.read("w.state"), state);
    let (code, r) = ws.verify(&["--checkpoint", "other-cp.txt"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["findings"][0]["code"], "checkpoint-origin");
    // A checkpoint that is not one at all.
    let out = cosign(&ws, "w.pub", &[]).code(2);
    assert!(out.stderr.contains("w.pub"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// 6. The demo, 7. help
// ---------------------------------------------------------------------------------------------

#[test]
fn demo_catches_every_tampered_copy_and_cleans_up() {
    let ws = Ws::new();
    let out = ws.run(&["demo"]).ok();
    assert!(
        out.stdout.contains("All 3 tampered copies were caught"),
        "{}",
        out.stdout
    );
    let dir = out
        .stdout
        .split("(files in ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("the demo names its folder");
    assert!(
        !Path::new(dir).exists(),
        "the temporary folder {dir} was removed"
    );
    assert_eq!(
        fs::read_dir(ws.p(".")).unwrap().count(),
        0,
        "nothing in the cwd"
    );
}

#[test]
fn demo_dir_keeps_its_files() {
    let ws = Ws::new();
    let out = ws.run(&["demo", "--dir", "D"]).ok();
    assert!(out.stdout.contains("All 3 tampered copies were caught"));
    for f in [
        "audit.db",
        "audit.ledger.key",
        "checkpoint.txt",
        "bundle/manifest.json",
        "simulation/report.html",
        "simulation/summary.json",
        "sweep/sweep.html",
    ] {
        assert!(ws.p("D").join(f).exists(), "D/{f}");
    }
    // The simulator steps: the AI thresholds policy is in the summary, and the sweep picked a
    // threshold.
    let summary = std::fs::read_to_string(ws.p("D/simulation/summary.json")).unwrap();
    assert!(summary.contains("vigil-ai-risk"), "{summary}");
    assert!(out.stdout.contains("300 sign-ins"), "{}", out.stdout);
    assert!(out.stderr.contains("meets --max-fpr"), "{}", out.stderr);
    assert_eq!(ws.mode("D/audit.ledger.key"), 0o600);
    let r = ws
        .run(&[
            "ledger",
            "verify",
            "--db",
            "D/audit.db",
            "--checkpoint",
            "D/checkpoint.txt",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(r["redacted"].as_array().unwrap().len(), 1, "{r}");
    ws.run(&["ledger", "verify", "--bundle", "D/bundle"]).ok();
    let again = ws.run(&["demo", "--dir", "D"]).code(2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}

#[test]
fn ledger_help_lists_every_subcommand() {
    let ws = Ws::new();
    let out = ws.run(&["ledger", "--help"]).ok();
    let listed: BTreeSet<&str> = out
        .stdout
        .split("Commands:")
        .nth(1)
        .expect("a Commands: section")
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for cmd in [
        "init",
        "append",
        "checkpoint",
        "verify",
        "prove",
        "verify-proof",
        "export",
        "show",
        "trace",
        "redact",
        "cosign",
        "key",
    ] {
        assert!(
            listed.contains(cmd),
            "`vigil ledger --help` lacks {cmd}: {listed:?}"
        );
    }
}
