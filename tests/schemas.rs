//! Keeps `schemas/ledger/*.schema.json` true to what vigil reads and writes.
//!
//! One test drives the real `vigil` binary through a ledger's life (init, key registration,
//! appends, checkpoints, proofs, redaction, key rotation and revocation, export, verification
//! of a clean and of a tampered ledger) and validates every output against its schema; each
//! schema must also reject wrong examples, and the append input lines the schema rejects must
//! be rejected by `vigil ledger append` too. The other tests check the schema files themselves:
//! well-formed draft 2020-12 with ids, titles and descriptions, shared definitions identical
//! across files, and finding codes and entry kinds equal to SPEC.md and the ledger crate.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};
use vigil_ledger::Kind;

const ID_BASE: &str = "https://vigil.example/schemas/ledger/";
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/ledger")
}

/// Every schema file, by short name (`append-line` for `append-line.v1.schema.json`).
fn schema_files() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(schema_dir()).expect("schemas/ledger exists") {
        let path = e.expect("readable directory entry").path();
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name")
            .to_string();
        let name = file
            .strip_suffix(".v1.schema.json")
            .unwrap_or_else(|| panic!("{file}: schema files are named NAME.v1.schema.json"));
        let text = fs::read_to_string(&path).expect("readable schema");
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
        out.insert(name.to_string(), value);
    }
    assert!(!out.is_empty(), "no schemas found in {:?}", schema_dir());
    out
}

/// Compiled schemas plus a record of which ones accepted and rejected something.
struct Schemas {
    validators: BTreeMap<String, jsonschema::Validator>,
    accepted: RefCell<BTreeMap<String, usize>>,
    rejected: RefCell<BTreeMap<String, usize>>,
}

impl Schemas {
    fn load() -> Schemas {
        let validators = schema_files()
            .into_iter()
            .map(|(name, schema)| {
                let v = jsonschema::draft202012::new(&schema)
                    .unwrap_or_else(|e| panic!("{name}: schema does not compile: {e}"));
                (name, v)
            })
            .collect();
        Schemas {
            validators,
            accepted: RefCell::default(),
            rejected: RefCell::default(),
        }
    }

    fn validator(&self, name: &str) -> &jsonschema::Validator {
        self.validators
            .get(name)
            .unwrap_or_else(|| panic!("no schema {name}.v1.schema.json"))
    }

    /// Asserts `instance` (from `what`) is valid against schema `name`.
    fn check(&self, name: &str, instance: &Value, what: &str) {
        let errors: Vec<String> = self
            .validator(name)
            .iter_errors(instance)
            .map(|e| format!("  at {}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} does not match {name}.v1.schema.json:\n{}\ninstance: {instance:#}",
            errors.join("\n")
        );
        *self.accepted.borrow_mut().entry(name.into()).or_default() += 1;
    }

    /// Asserts `instance` (a deliberately wrong example) is rejected by schema `name`.
    fn reject(&self, name: &str, instance: &Value, why: &str) {
        assert!(
            !self.validator(name).is_valid(instance),
            "{name}.v1.schema.json accepts a wrong example ({why}): {instance:#}"
        );
        *self.rejected.borrow_mut().entry(name.into()).or_default() += 1;
    }

    /// Every schema must have accepted real output and rejected a wrong example.
    fn assert_all_exercised(&self) {
        for name in self.validators.keys() {
            assert!(
                self.accepted.borrow().contains_key(name),
                "{name}.v1.schema.json was never checked against real vigil output"
            );
            assert!(
                self.rejected.borrow().contains_key(name),
                "{name}.v1.schema.json was never shown a wrong example"
            );
        }
    }
}

fn json_line(line: &str, what: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"))
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim().is_empty())
}

/// A copy of `v` with `f` applied (for building wrong examples from real ones).
fn with(v: &Value, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = v.clone();
    f(&mut v);
    v
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Runs `vigil --quiet ARGS` (with `stdin`), asserts the exit code, returns stdout.
fn run(args: &[&str], stdin: Option<&str>, code: i32) -> String {
    let mut cmd = Command::cargo_bin("vigil").expect("the vigil binary is built");
    cmd.arg("--quiet").args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_string());
    }
    let out = cmd.output().expect("vigil runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "vigil {args:?} exited {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

fn vigil(args: &[&str]) -> String {
    run(args, None, 0)
}

/// Validates append input lines, appends them, validates and returns the acks (seq, hash).
fn append(sch: &Schemas, db: &Path, key: &Path, kind: &str, input: &[Value]) -> Vec<(u64, String)> {
    let mut text = String::new();
    for line in input {
        sch.check("append-line", line, "append input line");
        text.push_str(&serde_json::to_string(line).expect("serializable"));
        text.push('\n');
    }
    let out = run(
        &[
            "ledger",
            "append",
            "--db",
            s(db),
            "--key",
            s(key),
            "--kind",
            kind,
        ],
        Some(&text),
        0,
    );
    let acks: Vec<(u64, String)> = lines(&out)
        .map(|l| {
            let v = json_line(l, "append ack");
            sch.check("append-ack", &v, "append stdout line");
            (
                v["seq"].as_u64().expect("seq"),
                v["hash"].as_str().expect("hash").to_string(),
            )
        })
        .collect();
    assert_eq!(acks.len(), input.len(), "one ack per input line");
    acks
}

fn checkpoint(db: &Path, file: &Path) -> u64 {
    let note = vigil(&["ledger", "checkpoint", "--db", s(db)]);
    fs::write(file, &note).expect("write checkpoint");
    note.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("checkpoint size line")
}

fn verify_report(sch: &Schemas, args: &[&str], code: i32, what: &str) -> Value {
    let mut full = vec!["ledger", "verify", "--json"];
    full.extend_from_slice(args);
    let report = json_line(&run(&full, None, code), what);
    sch.check("verify-report", &report, what);
    report
}

#[test]
fn real_vigil_output_matches_the_schemas() {
    let sch = Schemas::load();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let db = dir.join("ledger.db");
    let ledger_pub = dir.join("ledger.ledger.pub");
    let ai = dir.join("ai.key");
    let reviewer = dir.join("reviewer.key");

    vigil(&[
        "ledger",
        "init",
        "--db",
        s(&db),
        "--origin",
        "test.example/vigil",
    ]);
    vigil(&["key", "generate", "--name", "ai-engine", "--out", s(&ai)]);
    vigil(&[
        "key",
        "generate",
        "--name",
        "reviewer",
        "--out",
        s(&reviewer),
    ]);
    let dbargs = ["--db", s(&db)];
    for (key, kinds) in [(&ai, "signal,inference,action"), (&reviewer, "review")] {
        let pubkey = key.with_extension("pub");
        let mut args = vec!["ledger", "key", "add"];
        args.extend_from_slice(&dbargs);
        args.extend_from_slice(&["--key", s(&pubkey), "--kinds", kinds]);
        vigil(&args);
    }

    // Appends: explicit and default kinds, subjects with non-ASCII and escapes, every JSON
    // type as payload, and refs built from earlier acks.
    let subject = json!({
        "tenantId": "8f1c2d3e-0000-4000-8000-000000000001",
        "userId": "0a6f-é-\"quoted\"-\\",
        "signInId": "5e8d",
        "correlationId": "c1a7"
    });
    let signals = append(
        &sch,
        &db,
        &ai,
        "signal",
        &[
            json!({"kind": "signal", "subject": subject, "payload": {"ip": "203.0.113.7", "risk": 0.25, "note": "tab\there / «ü»"}}),
            json!({"subject": {"tenantId": "t2"}, "refs": [], "payload": [1, 2.5, "x", null, true, {"a": {}}]}),
            json!({"payload": null}),
            json!({"kind": "signal", "payload": "just a string"}),
        ],
    );
    let inference = append(
        &sch,
        &db,
        &ai,
        "inference",
        &[json!({
            "subject": subject,
            "refs": [{"seq": signals[0].0, "hash": signals[0].1}],
            "payload": {"score": 0.91, "level": "high", "reasoning": "impossible travel"}
        })],
    );
    let review = append(
        &sch,
        &db,
        &reviewer,
        "review",
        &[json!({
            "subject": subject,
            "refs": [{"seq": inference[0].0, "hash": inference[0].1}],
            "payload": {"verdict": "confirmed"}
        })],
    );
    let cp1 = dir.join("cp1.txt");
    let cp1_size = checkpoint(&db, &cp1);
    append(
        &sch,
        &db,
        &ai,
        "action",
        &[json!({
            "subject": subject,
            "refs": [{"seq": inference[0].0, "hash": inference[0].1}, {"seq": review[0].0, "hash": review[0].1}],
            "payload": {"action": "revokeSessions", "applied": false}
        })],
    );

    // Redaction, key rotation (producer and ledger key) and revocation: every key op and a
    // redaction payload appear in the bundle below.
    let redacted_seq = signals[1].0.to_string();
    let mut args = vec!["ledger", "redact"];
    args.extend_from_slice(&dbargs);
    args.extend_from_slice(&[
        "--seq",
        &redacted_seq,
        "--reason",
        "GDPR Art. 17 request 2026-0042",
    ]);
    vigil(&args);
    let reviewer2 = dir.join("reviewer-2.key");
    vigil(&[
        "key",
        "generate",
        "--name",
        "reviewer",
        "--out",
        s(&reviewer2),
    ]);
    let reviewer2_pub = reviewer2.with_extension("pub");
    let mut args = vec!["key", "rotate"];
    args.extend_from_slice(&dbargs);
    args.extend_from_slice(&["--new-key", s(&reviewer2_pub)]);
    vigil(&args);
    let mut args = vec!["key", "revoke"];
    args.extend_from_slice(&dbargs);
    args.extend_from_slice(&["--name", "ai-engine", "--reason", "laptop stolen"]);
    vigil(&args);
    let old_ledger_pub = fs::read_to_string(&ledger_pub).expect("ledger public key");
    let mut args = vec!["key", "rotate", "--ledger"];
    args.extend_from_slice(&dbargs);
    vigil(&args);
    append(
        &sch,
        &db,
        &reviewer2,
        "review",
        &[json!({"kind": "review", "payload": {"verdict": "dismissed"}})],
    );
    let cp2 = dir.join("cp2.txt");
    let size = checkpoint(&db, &cp2);

    // Proofs: with a stored checkpoint (current size and cp1's size) and without (size 3).
    let mut proofs = Vec::new();
    for (seq, at) in [
        (0, None),
        (signals[0].0, Some(cp1_size)),
        (size - 1, None),
        (1, Some(3)),
    ] {
        let (seq, at) = (seq.to_string(), at.map(|a: u64| a.to_string()));
        let mut args = vec!["ledger", "prove", "--db", s(&db)];
        args.extend_from_slice(&["--seq", &seq]);
        if let Some(at) = &at {
            args.extend_from_slice(&["--size", at]);
        }
        let doc = json_line(&vigil(&args), "inclusion proof");
        sch.check("inclusion-proof", &doc, "`prove --seq` output");
        let entry = json_line(doc["entry"].as_str().expect("entry"), "proof entry");
        sch.check("envelope", &entry, "inclusion proof `entry`");
        proofs.push(doc);
    }
    assert!(proofs.iter().any(|p| p["checkpoint"].is_string()));
    assert!(proofs.iter().any(|p| p["checkpoint"].is_null()));
    let consistency = json_line(
        &vigil(&["ledger", "prove", "--db", s(&db), "--consistency", s(&cp1)]),
        "consistency proof",
    );
    sch.check(
        "consistency-proof",
        &consistency,
        "`prove --consistency` output",
    );
    assert!(consistency["new_checkpoint"].is_string());
    for (i, doc) in proofs.iter().chain([&consistency]).enumerate() {
        let file = dir.join(format!("proof-{i}.json"));
        fs::write(&file, doc.to_string()).expect("write proof");
        vigil(&[
            "ledger",
            "verify-proof",
            "--proof",
            s(&file),
            "--ledger-key",
            old_ledger_pub.trim(),
            "--ledger-key",
            s(&ledger_pub),
        ]);
    }

    // A witness cosigns cp1, then cp2 with the consistency proof: a cosigned note is still a
    // checkpoint the proof schemas accept, and `verify --witness-key` reports stay valid.
    let witness = dir.join("witness.key");
    let state = dir.join("witness.state");
    vigil(&[
        "key",
        "generate",
        "--witness",
        "--name",
        "witness.example/w1",
        "--out",
        s(&witness),
    ]);
    let consistency_file = dir.join("consistency.json");
    fs::write(&consistency_file, consistency.to_string()).expect("write proof");
    let mut cosigned = String::new();
    // cp2 is signed by the rotated ledger key.
    for (cp, log_key, proof) in [
        (&cp1, old_ledger_pub.trim(), None),
        (&cp2, s(&ledger_pub), Some(&consistency_file)),
    ] {
        let mut args = vec![
            "ledger",
            "cosign",
            "--checkpoint",
            s(cp),
            "--key",
            s(&witness),
        ];
        args.extend_from_slice(&["--log-key", log_key, "--state", s(&state)]);
        if let Some(p) = proof {
            args.extend_from_slice(&["--proof", s(p)]);
        }
        cosigned = vigil(&args);
    }
    let cosigned_cp2 = dir.join("cp2-cosigned.txt");
    fs::write(&cosigned_cp2, &cosigned).expect("write cosigned checkpoint");
    assert_eq!(cosigned.matches('\u{2014}').count(), 2, "{cosigned}");
    sch.check(
        "consistency-proof",
        &with(&consistency, |v| v["new_checkpoint"] = json!(cosigned)),
        "consistency proof with a cosigned checkpoint",
    );
    let witness_pub = witness.with_extension("pub");
    let witnessed = verify_report(
        &sch,
        &[
            "--db",
            s(&db),
            "--checkpoint",
            s(&cosigned_cp2),
            "--witness-key",
            s(&witness_pub),
        ],
        0,
        "report with a witnessed checkpoint",
    );
    assert_eq!(witnessed["truncation_detectable"], true);
    let unwitnessed = verify_report(
        &sch,
        &[
            "--db",
            s(&db),
            "--checkpoint",
            s(&cp2),
            "--witness-key",
            s(&witness_pub),
        ],
        1,
        "report with an unwitnessed checkpoint",
    );
    assert_eq!(
        unwitnessed["findings"][0]["code"],
        "checkpoint-not-witnessed"
    );

    // Export: the manifest, every NDJSON line, every envelope and key/redaction payload.
    let bundle = dir.join("bundle");
    vigil(&["ledger", "export", "--db", s(&db), "--out", s(&bundle)]);
    let manifest = json_line(
        &fs::read_to_string(bundle.join("manifest.json")).expect("manifest.json"),
        "manifest.json",
    );
    sch.check("bundle-manifest", &manifest, "manifest.json");
    let mut kinds: BTreeMap<u64, String> = BTreeMap::new();
    let entries = fs::read_to_string(bundle.join("entries.ndjson")).expect("entries.ndjson");
    let mut entry_lines = Vec::new();
    let mut envelopes = Vec::new();
    for line in lines(&entries) {
        let v = json_line(line, "entries.ndjson line");
        sch.check("bundle-entry-line", &v, "entries.ndjson line");
        let env = json_line(v["envelope"].as_str().expect("envelope"), "envelope");
        sch.check("envelope", &env, "entries.ndjson envelope");
        kinds.insert(
            env["seq"].as_u64().expect("seq"),
            env["kind"].as_str().expect("kind").into(),
        );
        entry_lines.push(v);
        envelopes.push(env);
    }
    assert_eq!(
        u64::try_from(kinds.len()).ok(),
        Some(size),
        "one line per entry"
    );
    let payloads = fs::read_to_string(bundle.join("payloads.ndjson")).expect("payloads.ndjson");
    let mut payload_lines = Vec::new();
    let mut key_ops = BTreeMap::new();
    let mut redactions = Vec::new();
    for line in lines(&payloads) {
        let v = json_line(line, "payloads.ndjson line");
        sch.check("bundle-payload-line", &v, "payloads.ndjson line");
        let seq = v["seq"].as_u64().expect("seq");
        let payload = json_line(v["payload"].as_str().expect("payload"), "payload");
        match kinds.get(&seq).map(String::as_str) {
            Some("key") => {
                sch.check("key-op", &payload, &format!("key entry {seq} payload"));
                let op = payload["op"].as_str().expect("op").to_string();
                key_ops.entry(op).or_insert(payload);
            }
            Some("redaction") => {
                sch.check("redaction-payload", &payload, "redaction payload");
                redactions.push(payload);
            }
            _ => {}
        }
        payload_lines.push(v);
    }
    assert_eq!(
        key_ops.keys().map(String::as_str).collect::<Vec<_>>(),
        ["add", "init", "revoke", "rotate"],
        "the run covers every key op"
    );
    assert_eq!(redactions.len(), 1);

    // Verify: database, and bundle with a trusted checkpoint and pinned key.
    let clean = verify_report(&sch, &["--db", s(&db)], 0, "clean database report");
    assert_eq!(clean["ok"], true);
    assert_eq!(clean["redacted"], json!([signals[1].0]));
    let bundle_report = verify_report(
        &sch,
        &[
            "--bundle",
            s(&bundle),
            "--checkpoint",
            s(&cp2),
            "--ledger-key",
            s(&ledger_pub),
        ],
        0,
        "clean bundle report",
    );
    assert_eq!(bundle_report["truncation_detectable"], true);

    // Tamper with a copy: drop the append-only triggers and edit a payload.
    let copy = dir.join("tampered.db");
    {
        let src =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("open ledger");
        src.execute("VACUUM INTO ?1", [s(&copy)])
            .expect("copy ledger");
    }
    {
        let conn = rusqlite::Connection::open(&copy).expect("open copy");
        let triggers: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .and_then(|mut st| {
                st.query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()
            })
            .expect("list triggers");
        assert!(!triggers.is_empty(), "the ledger has append-only triggers");
        for t in triggers {
            conn.execute_batch(&format!("DROP TRIGGER \"{t}\""))
                .expect("drop trigger");
        }
        let n = conn
            .execute(
                "UPDATE payloads SET payload = ?1 WHERE seq = ?2",
                rusqlite::params![
                    br#"{"ip":"198.51.100.1"}"#.as_slice(),
                    i64::try_from(signals[0].0).expect("small seq")
                ],
            )
            .expect("edit payload");
        assert_eq!(n, 1);
    }
    let bad = verify_report(&sch, &["--db", s(&copy)], 1, "report on a tampered ledger");
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["first_bad_seq"], json!(signals[0].0));
    assert!(
        bad["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "payload-mismatch"),
        "{bad:#}"
    );

    // Wrong examples, built from the real ones: each schema must reject them.
    let good_line = json!({"kind": "signal", "subject": {"tenantId": "t"}, "refs": [{"seq": signals[0].0, "hash": signals[0].1}], "payload": {}});
    sch.check("append-line", &good_line, "append line template");
    let wrong_lines = [
        (
            with(&good_line, |v| v["kind"] = json!("key")),
            "kind written only by vigil",
        ),
        (
            with(&good_line, |v| v["kind"] = json!("opinion")),
            "unknown kind",
        ),
        (
            with(&good_line, |v| {
                v.as_object_mut().map(|o| o.remove("payload"));
            }),
            "no payload",
        ),
        (
            with(&good_line, |v| v["extra"] = json!(1)),
            "unknown member",
        ),
        (
            with(&good_line, |v| v["subject"] = json!({"tenant id": "t"})),
            "space in subject key",
        ),
        (
            with(&good_line, |v| v["subject"] = json!({"k": "a\u{7}b"})),
            "control character in subject value",
        ),
        (
            with(&good_line, |v| v["subject"] = json!({"k": "é".repeat(257)})),
            "subject value over 256 characters",
        ),
        (
            with(&good_line, |v| v["subject"] = json!({"k": ""})),
            "empty subject value",
        ),
        (
            with(&good_line, |v| v["subject"] = json!({"k": 7})),
            "non-string subject value",
        ),
        (
            with(&good_line, |v| {
                v["refs"][0]["hash"] = json!(signals[0].1.to_uppercase())
            }),
            "uppercase ref hash",
        ),
        (
            with(&good_line, |v| v["refs"][0]["seq"] = json!(-1)),
            "negative ref seq",
        ),
    ];
    for (line, why) in &wrong_lines {
        sch.reject("append-line", line, why);
        // What the schema rejects, append rejects too (exit 2, nothing written).
        run(
            &[
                "ledger",
                "append",
                "--db",
                s(&db),
                "--key",
                s(&reviewer2),
                "--kind",
                "review",
            ],
            Some(&format!("{line}\n")),
            2,
        );
    }
    let ack = json!({"seq": signals[0].0, "hash": signals[0].1});
    sch.reject(
        "append-ack",
        &with(&ack, |v| v["hash"] = json!(signals[0].1.to_uppercase())),
        "uppercase hash",
    );
    sch.reject(
        "append-ack",
        &with(&ack, |v| v["seq"] = json!("0")),
        "seq as a string",
    );
    let env = &envelopes[usize::try_from(inference[0].0).expect("small seq")];
    sch.reject(
        "envelope",
        &with(env, |v| v["extra"] = json!(1)),
        "a tenth member",
    );
    sch.reject(
        "envelope",
        &with(env, |v| v["v"] = json!(2)),
        "format version 2",
    );
    sch.reject(
        "envelope",
        &with(env, |v| v["actor"] = json!("ai engine")),
        "space in actor",
    );
    sch.reject(
        "envelope",
        &with(env, |v| v["actor"] = json!("ai+engine")),
        "plus in actor",
    );
    sch.reject(
        "envelope",
        &with(env, |v| v["ts"] = json!("2026-01-05T14:23:45Z")),
        "ts without microseconds",
    );
    sch.reject(
        "envelope",
        &with(env, |v| v["seq"] = json!(1u64 << 53)),
        "seq above 2^53-1",
    );
    sch.reject(
        "envelope",
        &with(env, |v| v["refs"][0]["extra"] = json!(1)),
        "extra ref member",
    );
    let add = &key_ops["add"];
    sch.reject(
        "key-op",
        &with(add, |v| v["kinds"] = json!(["redaction"])),
        "add with a ledger-only kind",
    );
    sch.reject(
        "key-op",
        &with(add, |v| v["kinds"] = json!([])),
        "add with no kinds",
    );
    sch.reject(
        "key-op",
        &with(add, |v| v["op"] = json!("delete")),
        "unknown op",
    );
    sch.reject(
        "key-op",
        &with(&key_ops["revoke"], |v| v["reason"] = json!(" \t")),
        "blank reason",
    );
    sch.reject(
        "key-op",
        &with(&key_ops["init"], |v| {
            v.as_object_mut().map(|o| o.remove("origin"));
        }),
        "init without origin",
    );
    let witness = with(&key_ops["rotate"], |v| {
        // Same key string with type byte 0x04 (a witness key) instead of 0x01.
        let k = v["key"].as_str().expect("key").to_string();
        let parts: Vec<&str> = k.splitn(3, '+').collect();
        let b64 = parts[2].strip_prefix('A').expect("type byte 0x01");
        v["key"] = json!(format!("{}+{}+B{b64}", parts[0], parts[1]));
    });
    sch.reject("key-op", &witness, "witness key instead of signing key");
    sch.reject(
        "redaction-payload",
        &with(&redactions[0], |v| v["reason"] = json!("   ")),
        "blank reason",
    );
    sch.reject(
        "redaction-payload",
        &with(&redactions[0], |v| v["extra"] = json!(1)),
        "extra member",
    );
    let proof = &proofs[0];
    sch.reject(
        "inclusion-proof",
        &with(proof, |v| v["path"] = json!(["abc"])),
        "short path hash",
    );
    sch.reject(
        "inclusion-proof",
        &with(proof, |v| v["size"] = json!(0)),
        "size 0",
    );
    sch.reject(
        "inclusion-proof",
        &with(proof, |v| v["checkpoint"] = json!("not a note")),
        "checkpoint that is no signed note",
    );
    sch.reject(
        "consistency-proof",
        &with(&consistency, |v| {
            v["format"] = json!("vigil-consistency-proof/v2")
        }),
        "wrong format",
    );
    sch.reject(
        "consistency-proof",
        &with(&consistency, |v| {
            v.as_object_mut().map(|o| o.remove("new_checkpoint"));
        }),
        "missing new_checkpoint",
    );
    sch.reject(
        "bundle-manifest",
        &with(&manifest, |v| {
            v["files"]["../etc/passwd"] = json!(signals[0].1)
        }),
        "file outside the bundle",
    );
    sch.reject(
        "bundle-manifest",
        &with(&manifest, |v| v["generator"] = json!("other 1.0")),
        "foreign generator",
    );
    sch.reject(
        "bundle-entry-line",
        &with(&entry_lines[0], |v| {
            v["signature"] = json!("A".repeat(84) + "==")
        }),
        "63-byte signature",
    );
    sch.reject(
        "bundle-entry-line",
        &with(&entry_lines[0], |v| v["key_id"] = json!("ABCDEF01")),
        "uppercase key id",
    );
    sch.reject(
        "bundle-payload-line",
        &with(&payload_lines[0], |v| v["salt"] = json!("00".repeat(31))),
        "31-byte salt",
    );
    sch.reject(
        "bundle-payload-line",
        &with(&payload_lines[0], |v| v["payload"] = json!({"a": 1})),
        "payload not as a string",
    );
    sch.reject(
        "verify-report",
        &with(&bad, |v| v["findings"][0]["code"] = json!("made-up-code")),
        "unknown finding code",
    );
    sch.reject(
        "verify-report",
        &with(&clean, |v| v["checkpoints"][0]["status"] = json!("fine")),
        "unknown checkpoint status",
    );
    sch.reject(
        "verify-report",
        &with(&clean, |v| {
            v.as_object_mut().map(|o| o.remove("notes"));
        }),
        "missing notes",
    );

    sch.assert_all_exercised();
}

/// Calls `f` on every subschema object inside `v` (including `v`), with its JSON pointer.
fn walk(v: &Value, at: &str, f: &mut impl FnMut(&str, &serde_json::Map<String, Value>)) {
    match v {
        Value::Object(o) => {
            f(at, o);
            for (k, child) in o {
                walk(child, &format!("{at}/{k}"), f);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                walk(child, &format!("{at}/{i}"), f);
            }
        }
        _ => {}
    }
}

#[test]
fn schemas_are_well_formed_and_documented() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/README.md"))
            .expect("schemas/README.md");
    let mut shared: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for (name, schema) in schema_files() {
        let file = format!("{name}.v1.schema.json");
        jsonschema::meta::validate(&schema)
            .unwrap_or_else(|e| panic!("{file} is not a valid JSON Schema: {e}"));
        assert_eq!(schema["$schema"], DRAFT_2020_12, "{file}: $schema");
        assert_eq!(schema["$id"], format!("{ID_BASE}{file}"), "{file}: $id");
        for key in ["title", "description"] {
            assert!(
                schema[key].as_str().is_some_and(|t| !t.trim().is_empty()),
                "{file}: needs a {key}"
            );
        }
        walk(&schema, "", &mut |at, obj| {
            if let Some(Value::Object(props)) = obj.get("properties") {
                for (p, sub) in props {
                    assert!(
                        sub.get("description")
                            .and_then(Value::as_str)
                            .is_some_and(|d| !d.trim().is_empty()),
                        "{file}: property {at}/properties/{p} has no description"
                    );
                }
            }
        });
        if let Some(Value::Object(defs)) = schema.get("$defs") {
            for (def, value) in defs {
                assert!(
                    value.get("description").is_some(),
                    "{file}: $defs/{def} has no description"
                );
                match shared.get(def) {
                    Some((other, v)) => assert_eq!(
                        v, value,
                        "$defs/{def} differs between {other} and {file}; keep copies identical"
                    ),
                    None => {
                        shared.insert(def.clone(), (file.clone(), value.clone()));
                    }
                }
            }
        }
        assert!(
            readme.contains(&format!("(ledger/{file})")),
            "schemas/README.md does not list {file}"
        );
    }
}

#[test]
fn enumerations_match_spec_and_ledger_crate() {
    let schemas = schema_files();
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .expect("an enum array")
            .iter()
            .map(|s| s.as_str().expect("string").to_string())
            .collect()
    };

    let spec = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger/SPEC.md"))
        .expect("ledger/SPEC.md");
    let section = spec
        .split("\n## 12. Finding codes")
        .nth(1)
        .expect("SPEC.md has section 12")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let spec_codes: BTreeSet<String> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| t.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        .map(str::to_string)
        .collect();
    assert!(spec_codes.len() > 30, "parsed SPEC §12: {spec_codes:?}");
    let enum_codes = &schemas["verify-report"]["$defs"]["findingCode"]["enum"];
    assert_eq!(
        strings(enum_codes),
        spec_codes,
        "verify-report finding codes differ from SPEC §12"
    );
    assert_eq!(enum_codes.as_array().map(Vec::len), Some(spec_codes.len()));

    let all: BTreeSet<String> = Kind::ALL.iter().map(|k| k.as_str().to_string()).collect();
    let appendable: BTreeSet<String> = Kind::ALL
        .iter()
        .filter(|k| !k.is_ledger_only())
        .map(|k| k.as_str().to_string())
        .collect();
    assert_eq!(strings(&schemas["envelope"]["$defs"]["kind"]["enum"]), all);
    for name in ["append-line", "key-op"] {
        assert_eq!(
            strings(&schemas[name]["$defs"]["appendableKind"]["enum"]),
            appendable,
            "{name}: appendable kinds"
        );
    }
}
