//! The tamper suite: an attacker with write access to the database (or to an exported bundle)
//! edits, removes, inserts, reorders and re-signs entries; `vigil ledger verify` must exit 1
//! and name the right finding at the right first bad seq.
//!
//! Every test builds a realistic ledger through the CLI (three producer keys, two rounds of
//! signal -> inference -> action -> review with refs, a redaction, a checkpoint saved to a
//! file, and a short tail appended after the checkpoint), then mutates fresh copies of it the
//! way an attacker would: `DROP TRIGGER` and plain SQL, or editing bundle files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, FixedSizeBinaryArray, FixedSizeBinaryBuilder, RecordBatch, UInt64Array};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rusqlite::{Connection, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_ledger::merkle::{self, Frontier, Hash};
use vigil_ledger::note::{ALG_ED25519, SignerKey};
use vigil_ledger::{Envelope, Kind, Ledger, Ref, entry, keyfile};

const ORIGIN: &str = "vigil.test/tamper";

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

fn i(seq: u64) -> i64 {
    i64::try_from(seq).unwrap()
}

/// Runs `vigil -q ARGS` with optional stdin; returns (exit code, stdout, stderr).
fn run(args: &[&str], stdin: Option<&str>) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.arg("-q")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn vigil");
    if let Some(input) = stdin {
        let mut w = child.stdin.take().unwrap();
        w.write_all(input.as_bytes()).unwrap();
    }
    // Collect the output on threads so a hung process can be killed after a deadline.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut b).unwrap();
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut b).unwrap();
        b
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            child.wait().unwrap();
            panic!("vigil {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (
        status.code(),
        String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    )
}

fn run_ok(args: &[&str], stdin: Option<&str>) -> String {
    let (code, out, err) = run(args, stdin);
    assert_eq!(code, Some(0), "vigil {args:?} failed: {err}");
    out
}

/// The outcome of one `vigil ledger verify --json`.
struct Verdict {
    code: Option<i32>,
    report: Value,
    stderr: String,
}

fn verify(args: &[&str]) -> Verdict {
    let mut all = vec!["ledger", "verify", "--json"];
    all.extend_from_slice(args);
    let (code, out, stderr) = run(&all, None);
    let report = serde_json::from_str(&out).unwrap_or(Value::Null);
    Verdict {
        code,
        report,
        stderr,
    }
}

impl Verdict {
    fn summary(&self) -> String {
        let findings: Vec<String> = self.report["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|f| format!("{}@{}", f["code"].as_str().unwrap_or("?"), f["seq"]))
                    .collect()
            })
            .unwrap_or_default();
        format!(
            "exit {:?}, first_bad_seq {}, findings [{}]{}",
            self.code,
            self.report["first_bad_seq"],
            findings.join(", "),
            if self.stderr.is_empty() {
                String::new()
            } else {
                format!(", stderr: {}", self.stderr.trim())
            }
        )
    }

    fn has(&self, code: &str, seq: Option<u64>) -> bool {
        self.report["findings"].as_array().is_some_and(|f| {
            f.iter().any(|f| {
                f["code"] == code
                    && f["seq"].as_u64() == seq
                    && (seq.is_some() || f["seq"].is_null())
            })
        })
    }

    fn assert_clean(&self, what: &str) {
        assert_eq!(self.code, Some(0), "{what}: {}", self.summary());
        assert_eq!(self.report["ok"], true, "{what}: {}", self.summary());
    }
}

/// What a tampered ledger must produce.
#[derive(Clone)]
struct Expect {
    first_bad: Option<u64>,
    codes: Vec<(&'static str, Option<u64>)>,
    /// No findings other than `codes`.
    only: bool,
}

/// Expect `code` at `seq`, which is also the first bad seq.
fn at(seq: u64, code: &'static str) -> Expect {
    Expect {
        first_bad: Some(seq),
        codes: vec![(code, Some(seq))],
        only: false,
    }
}

/// Expect a finding that names no seq (and no finding that names one).
fn unseq(code: &'static str) -> Expect {
    Expect {
        first_bad: None,
        codes: vec![(code, None)],
        only: false,
    }
}

impl Expect {
    fn and(mut self, code: &'static str, seq: Option<u64>) -> Expect {
        self.codes.push((code, seq));
        self
    }
    fn only(mut self) -> Expect {
        self.only = true;
        self
    }
    fn check(&self, v: &Verdict) -> Result<(), String> {
        let mut problems = Vec::new();
        if v.code != Some(1) {
            problems.push(format!("exit code {:?}, want 1", v.code));
        }
        if v.report["ok"] != false {
            problems.push("report.ok is not false".to_string());
        }
        let first = v.report["first_bad_seq"].as_u64();
        if first != self.first_bad
            || (self.first_bad.is_none() && !v.report["first_bad_seq"].is_null())
        {
            problems.push(format!(
                "first_bad_seq {first:?}, want {:?}",
                self.first_bad
            ));
        }
        for (code, seq) in &self.codes {
            if !v.has(code, *seq) {
                problems.push(format!("no {code} finding at seq {seq:?}"));
            }
        }
        if self.only {
            for f in v.report["findings"].as_array().into_iter().flatten() {
                let listed = self
                    .codes
                    .iter()
                    .any(|(c, seq)| f["code"] == *c && f["seq"].as_u64() == *seq);
                if !listed {
                    problems.push(format!("unexpected finding {f}"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{} ({})", problems.join("; "), v.summary()))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The fixture ledger
// ---------------------------------------------------------------------------------------------

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
    ledger_key: PathBuf,
    ledger_pub: PathBuf,
    /// The trusted checkpoint, saved outside the database.
    cp: PathBuf,
    cp_size: u64,
    size: u64,
    /// Producer name -> secret key file.
    keys: BTreeMap<&'static str, PathBuf>,
    signals: Vec<u64>,
    inferences: Vec<u64>,
    actions: Vec<u64>,
    reviews: Vec<u64>,
    redacted: u64,
    redaction: u64,
    /// Stored leaf hash of every entry.
    hashes: Vec<Hash>,
}

fn parse_acks(out: &str) -> Vec<(u64, String)> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["seq"].as_u64().unwrap(),
                v["hash"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn append(db: &Path, key: &Path, lines: &[Value]) -> Vec<(u64, String)> {
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = run_ok(
        &["ledger", "append", "--db", s(db), "--key", s(key)],
        Some(&input),
    );
    let acks = parse_acks(&out);
    assert_eq!(acks.len(), lines.len(), "every line is acknowledged");
    acks
}

fn subject(g: u64) -> Value {
    json!({
        "tenantId": "t-contoso",
        "userId": format!("u-{g:04}"),
        "signInId": format!("s-{g:04}"),
        "correlationId": format!("c-{g:04}"),
    })
}

impl Fixture {
    fn build() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let db = dir.join("ledger.db");
        let mut keys = BTreeMap::new();
        for name in ["ingest", "ai-engine", "reviewer"] {
            let k = dir.join(format!("{name}.key"));
            run_ok(&["key", "generate", "--name", name, "--out", s(&k)], None);
            keys.insert(name, k);
        }
        run_ok(
            &["ledger", "init", "--db", s(&db), "--origin", ORIGIN],
            None,
        );
        let ledger_key = dir.join("ledger.ledger.key");
        let ledger_pub = dir.join("ledger.ledger.pub");
        assert!(ledger_key.is_file() && ledger_pub.is_file());
        for (name, kinds) in [
            ("ingest", "signal"),
            ("ai-engine", "inference,action"),
            ("reviewer", "review"),
        ] {
            let public = keys[name].with_extension("pub");
            run_ok(
                &[
                    "ledger",
                    "key",
                    "add",
                    "--db",
                    s(&db),
                    "--key",
                    s(&public),
                    "--kinds",
                    kinds,
                ],
                None,
            );
        }
        let mut fx = Fixture {
            _tmp: tmp,
            dir,
            db,
            ledger_key,
            ledger_pub,
            cp: PathBuf::new(),
            cp_size: 0,
            size: 0,
            keys,
            signals: vec![],
            inferences: vec![],
            actions: vec![],
            reviews: vec![],
            redacted: 0,
            redaction: 0,
            hashes: vec![],
        };
        fx.round(0, 6);
        // A lawful erasure of the second signal's payload.
        let out = run_ok(
            &[
                "ledger",
                "redact",
                "--db",
                s(&fx.db),
                "--seq",
                &fx.signals[1].to_string(),
                "--reason",
                "GDPR Art. 17 erasure request #42",
            ],
            None,
        );
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        fx.redacted = fx.signals[1];
        fx.redaction = v["seq"].as_u64().unwrap();
        fx.round(100, 6);
        let cp_text = run_ok(&["ledger", "checkpoint", "--db", s(&fx.db)], None);
        fx.cp = fx.dir.join("trusted-checkpoint.txt");
        fs::write(&fx.cp, &cp_text).unwrap();
        fx.cp_size = cp_text.lines().nth(1).unwrap().parse().unwrap();
        // The ledger keeps growing after the checkpoint.
        fx.round(200, 1);
        let c = Connection::open(&fx.db).unwrap();
        fx.hashes = c
            .prepare("SELECT hash FROM entries ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|h| h.unwrap().try_into().unwrap())
            .collect();
        drop(c);
        fx.size = fx.hashes.len() as u64;
        assert_eq!(
            fx.cp_size,
            fx.size - 4,
            "checkpoint then one more round of 4"
        );
        let v = verify(&["--db", s(&fx.db), "--checkpoint", s(&fx.cp)]);
        v.assert_clean("the untouched fixture");
        assert_eq!(v.report["redacted"], json!([fx.redacted]));
        assert_eq!(v.report["truncation_detectable"], true);
        fx
    }

    /// One round per correlation id: signal -> inference -> action -> review.
    fn round(&mut self, g0: u64, n: u64) {
        let gs: Vec<u64> = (g0..g0 + n).collect();
        let signals = append(
            &self.db,
            &self.keys["ingest"],
            &gs.iter()
                .map(|&g| {
                    json!({"kind": "signal", "subject": subject(g), "payload": {
                        "ip": format!("203.0.113.{}", g % 250), "app": "Office 365", "n": g,
                        "location": {"city": "Zürich", "country": "CH"},
                        "riskSignals": ["unfamiliarFeatures", "anonymizedIPAddress"],
                    }})
                })
                .collect::<Vec<_>>(),
        );
        let inferences = append(
            &self.db,
            &self.keys["ai-engine"],
            &gs.iter()
                .zip(&signals)
                .map(|(&g, (seq, hash))| {
                    json!({"kind": "inference", "subject": subject(g),
                        "refs": [{"seq": seq, "hash": hash}],
                        "payload": {"score": 0.25 + f64::from(u32::try_from(g % 50).unwrap()) / 100.0,
                            "riskLevel": "medium", "model": "risk-v3",
                            "reasoning": "new device \u{2014} unfamiliar location",
                            "recommendedAction": "requireMfa"}})
                })
                .collect::<Vec<_>>(),
        );
        let actions = append(
            &self.db,
            &self.keys["ai-engine"],
            &gs.iter()
                .zip(&inferences)
                .map(|(&g, (seq, hash))| {
                    json!({"kind": "action", "subject": subject(g),
                        "refs": [{"seq": seq, "hash": hash}],
                        "payload": {"action": "requireMfa", "applied": g % 2 == 0}})
                })
                .collect::<Vec<_>>(),
        );
        let reviews = append(
            &self.db,
            &self.keys["reviewer"],
            &gs.iter()
                .zip(actions.iter().zip(&inferences))
                .map(|(&g, ((aseq, ahash), (iseq, ihash)))| {
                    json!({"kind": "review", "subject": subject(g),
                        "refs": [{"seq": aseq, "hash": ahash}, {"seq": iseq, "hash": ihash}],
                        "payload": {"verdict": "confirmed", "reviewer": "alice@contoso.example",
                            "comment": "checked \u{2713}"}})
                })
                .collect::<Vec<_>>(),
        );
        self.signals.extend(signals.iter().map(|a| a.0));
        self.inferences.extend(inferences.iter().map(|a| a.0));
        self.actions.extend(actions.iter().map(|a| a.0));
        self.reviews.extend(reviews.iter().map(|a| a.0));
    }

    fn signer(&self, actor: &str) -> SignerKey {
        let path = if actor == ORIGIN {
            &self.ledger_key
        } else {
            &self.keys[actor]
        };
        keyfile::read_secret_key(path).unwrap()
    }

    /// A fresh copy of the database.
    fn copy_db(&self, name: &str) -> PathBuf {
        let to = self.dir.join(format!("{name}.db"));
        assert!(!to.exists(), "case names are unique");
        fs::copy(&self.db, &to).unwrap();
        let wal = PathBuf::from(format!("{}-wal", s(&self.db)));
        if wal.exists() {
            fs::copy(&wal, format!("{}-wal", s(&to))).unwrap();
        }
        to
    }

    fn verify_db(&self, db: &Path, extra: &[String]) -> Verdict {
        let mut args = vec!["--db", s(db)];
        args.extend(extra.iter().map(String::as_str));
        verify(&args)
    }

    fn trusted(&self) -> Vec<String> {
        vec!["--checkpoint".into(), s(&self.cp).into()]
    }
}

// ---------------------------------------------------------------------------------------------
// The attacker's tools
// ---------------------------------------------------------------------------------------------

/// Opens a ledger database the way an attacker would: every append-only trigger dropped.
/// The database opened the way an attacker would: every append-only trigger dropped.
pub(crate) fn attacker(db: &Path) -> Connection {
    let c = Connection::open(db).unwrap();
    let triggers: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(triggers.len() >= 10, "the schema has its triggers");
    for t in triggers {
        c.execute_batch(&format!("DROP TRIGGER \"{t}\";")).unwrap();
    }
    c
}

fn get_blob(c: &Connection, table: &str, col: &str, seq: u64) -> Vec<u8> {
    c.query_row(
        &format!("SELECT {col} FROM {table} WHERE seq = ?1"),
        [i(seq)],
        |r| r.get(0),
    )
    .unwrap()
}

fn set_blob(c: &Connection, table: &str, col: &str, seq: u64, value: &[u8]) {
    let n = c
        .execute(
            &format!("UPDATE {table} SET {col} = ?1 WHERE seq = ?2"),
            params![value, i(seq)],
        )
        .unwrap();
    assert_eq!(n, 1, "{table}.{col} of seq {seq} updated");
}

fn replace_in(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.contains(from), "{from:?} not in {text}");
    assert_eq!(from.len(), to.len());
    text.replacen(from, to, 1).into_bytes()
}

/// Recomputes every stored Merkle node from the stored entry hashes (a careful attacker does).
fn rebuild_nodes(c: &Connection) {
    c.execute("DELETE FROM nodes", []).unwrap();
    let hashes: Vec<Vec<u8>> = c
        .prepare("SELECT hash FROM entries ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut f = Frontier::new();
    for h in hashes {
        for (level, idx, node) in f.push(h.try_into().unwrap()) {
            c.execute(
                "INSERT INTO nodes(level, idx, hash) VALUES (?1, ?2, ?3)",
                params![level, i(idx), &node[..]],
            )
            .unwrap();
        }
    }
}

/// Rewrites entry `from` with `edit` and re-signs it and everything after it with the real
/// keys (stolen), re-chaining prev and refs, rebuilding the nodes and dropping the stored
/// checkpoints: a history rewrite that is internally consistent.
fn rewrite_history(fx: &Fixture, db: &Path, from: u64, edit: impl FnOnce(&mut Envelope)) {
    let c = attacker(db);
    let size: i64 = c
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    let mut renamed: HashMap<Hash, Hash> = HashMap::new();
    let mut prev: Option<Hash> = None;
    let mut edit = Some(edit);
    for seq in from..u64::try_from(size).unwrap() {
        let old: Hash = get_blob(&c, "entries", "hash", seq).try_into().unwrap();
        let mut env = Envelope::parse_canonical(&get_blob(&c, "entries", "envelope", seq)).unwrap();
        if let Some(e) = edit.take() {
            e(&mut env);
        }
        if let Some(p) = prev {
            env.prev = p;
        }
        for r in &mut env.refs {
            if let Some(n) = renamed.get(&r.hash) {
                r.hash = *n;
            }
        }
        let bytes = env.canonical_bytes();
        let hash = merkle::leaf_hash(&bytes);
        let sig = fx
            .signer(&env.actor)
            .sign(&Envelope::signed_message(ORIGIN, &bytes));
        c.execute(
            "UPDATE entries SET hash = ?1, envelope = ?2, sig = ?3 WHERE seq = ?4",
            params![&hash[..], bytes, &sig[..], i(seq)],
        )
        .unwrap();
        renamed.insert(old, hash);
        prev = Some(hash);
    }
    rebuild_nodes(&c);
    c.execute("DELETE FROM checkpoints", []).unwrap();
}

/// An entry the attacker appends directly in SQLite, with a correct prev chain, hash and
/// Merkle nodes, signed by `signer`.
struct Forge<'a> {
    signer: &'a SignerKey,
    kind: Kind,
    refs: Vec<Ref>,
    payload: Vec<u8>,
    ts: Option<String>,
    /// Applied to the canonical envelope bytes before hashing and signing.
    bytes: fn(Vec<u8>) -> Vec<u8>,
}

impl<'a> Forge<'a> {
    fn new(signer: &'a SignerKey, kind: Kind) -> Forge<'a> {
        Forge {
            signer,
            kind,
            refs: vec![],
            payload: br#"{"forged":true}"#.to_vec(),
            ts: None,
            bytes: |b| b,
        }
    }

    /// Appends the entry; returns its seq.
    fn append(self, db: &Path) -> u64 {
        let ledger = Ledger::open_readonly(db).unwrap();
        let size = ledger.size().unwrap();
        let tip = ledger.entry(size - 1).unwrap().unwrap();
        let tip_env = Envelope::parse_canonical(&tip.envelope).unwrap();
        let mut frontier = Frontier::load(&ledger.nodes(), size).unwrap();
        drop(ledger);
        let salt = [0x5a; 32];
        let env = Envelope {
            v: 1,
            seq: size,
            ts: self.ts.unwrap_or(tip_env.ts),
            kind: self.kind,
            actor: self.signer.name().to_string(),
            subject: BTreeMap::from([("correlationId".to_string(), "c-forged".to_string())]),
            refs: self.refs,
            payload_commitment: entry::payload_commitment(&salt, &self.payload),
            prev: tip.hash.as_slice().try_into().unwrap(),
        };
        let bytes = (self.bytes)(env.canonical_bytes());
        let hash = merkle::leaf_hash(&bytes);
        let sig = self.signer.sign(&Envelope::signed_message(ORIGIN, &bytes));
        let c = Connection::open(db).unwrap();
        c.execute(
            "INSERT INTO entries(seq, hash, envelope, kind, key_id, sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![i(size), &hash[..], bytes, self.kind.as_str(), &self.signer.key_id()[..], &sig[..]],
        )
        .unwrap();
        c.execute(
            "INSERT INTO payloads(seq, salt, payload) VALUES (?1, ?2, ?3)",
            params![i(size), &salt[..], self.payload],
        )
        .unwrap();
        for (level, idx, node) in frontier.push(hash) {
            c.execute(
                "INSERT INTO nodes(level, idx, hash) VALUES (?1, ?2, ?3)",
                params![level, i(idx), &node[..]],
            )
            .unwrap();
        }
        size
    }
}

// ---------------------------------------------------------------------------------------------
// Database tampering, table-driven
// ---------------------------------------------------------------------------------------------

type Mutation = Box<dyn Fn(&Fixture, &Path)>;

struct Case {
    name: &'static str,
    mutate: Mutation,
    /// Verify flags besides `--db` (default: the trusted checkpoint).
    args: Option<Vec<String>>,
    expect: Expect,
}

fn case(name: &'static str, expect: Expect, mutate: impl Fn(&Fixture, &Path) + 'static) -> Case {
    Case {
        name,
        mutate: Box::new(mutate),
        args: None,
        expect,
    }
}

fn run_db_cases(fx: &Fixture, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &cases {
        let db = fx.copy_db(c.name);
        (c.mutate)(fx, &db);
        let args = c.args.clone().unwrap_or_else(|| fx.trusted());
        let v = fx.verify_db(&db, &args);
        if let Err(e) = c.expect.check(&v) {
            failures.push(format!("{}: {e}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} tamper cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn database_tampering_is_detected_at_the_first_bad_seq() {
    let fx = Fixture::build();
    let sig2 = fx.signals[2];
    let sig3 = fx.signals[3];
    let inf2 = fx.inferences[2];
    let rev1 = fx.reviews[1];
    let end = fx.size;
    let last = fx.size - 1;
    let cp_last = fx.cp_size - 1;
    assert_eq!(sig3, sig2 + 1, "signals of a round are consecutive");
    let cases = vec![
        case(
            "payload-byte",
            at(sig3, "payload-mismatch").only(),
            move |_, db| {
                let c = attacker(db);
                let mut p = get_blob(&c, "payloads", "payload", sig3);
                let at = p.iter().position(|&b| b == b'Z').unwrap();
                p[at] = b'z';
                set_blob(&c, "payloads", "payload", sig3, &p);
            },
        ),
        case(
            "swap-salts",
            at(sig2, "payload-mismatch")
                .and("payload-mismatch", Some(inf2))
                .only(),
            move |_, db| {
                let c = attacker(db);
                let a = get_blob(&c, "payloads", "salt", sig2);
                let b = get_blob(&c, "payloads", "salt", inf2);
                set_blob(&c, "payloads", "salt", sig2, &b);
                set_blob(&c, "payloads", "salt", inf2, &a);
            },
        ),
        case(
            "envelope-subject-edited",
            at(rev1, "hash-mismatch")
                .and("signature-invalid", Some(rev1))
                .and("chain-broken", Some(rev1 + 1))
                .and("fork", Some(cp_last)),
            move |_, db| {
                let c = attacker(db);
                let env = get_blob(&c, "entries", "envelope", rev1);
                let env = replace_in(&env, "\"userId\":\"u-0001\"", "\"userId\":\"u-0009\"");
                set_blob(&c, "entries", "envelope", rev1, &env);
            },
        ),
        case(
            "envelope-subject-edited-hash-recomputed",
            at(rev1, "signature-invalid")
                .and("chain-broken", Some(rev1 + 1))
                .and("fork", Some(cp_last)),
            move |_, db| {
                let c = attacker(db);
                let env = get_blob(&c, "entries", "envelope", rev1);
                let env = replace_in(&env, "\"userId\":\"u-0001\"", "\"userId\":\"u-0009\"");
                set_blob(&c, "entries", "envelope", rev1, &env);
                set_blob(&c, "entries", "hash", rev1, &merkle::leaf_hash(&env));
            },
        ),
        case(
            "envelope-subject-edited-hash-and-nodes-recomputed",
            at(rev1, "signature-invalid")
                .and("chain-broken", Some(rev1 + 1))
                .and("fork", Some(cp_last))
                .only(),
            move |_, db| {
                let c = attacker(db);
                let env = get_blob(&c, "entries", "envelope", rev1);
                let env = replace_in(&env, "\"userId\":\"u-0001\"", "\"userId\":\"u-0009\"");
                set_blob(&c, "entries", "envelope", rev1, &env);
                set_blob(&c, "entries", "hash", rev1, &merkle::leaf_hash(&env));
                rebuild_nodes(&c);
            },
        ),
        case(
            "envelope-kind-edited",
            at(sig3, "hash-mismatch").and("kind-not-allowed", Some(sig3)),
            move |_, db| {
                let c = attacker(db);
                let env = get_blob(&c, "entries", "envelope", sig3);
                let env = replace_in(&env, "\"kind\":\"signal\"", "\"kind\":\"action\"");
                set_blob(&c, "entries", "envelope", sig3, &env);
            },
        ),
        case(
            "envelope-not-json",
            at(sig3, "hash-mismatch").and("envelope-invalid", Some(sig3)),
            move |_, db| {
                let c = attacker(db);
                let mut env = get_blob(&c, "entries", "envelope", sig3);
                env.truncate(env.len() - 1);
                set_blob(&c, "entries", "envelope", sig3, &env);
            },
        ),
        case(
            "signature-bit-flip",
            at(inf2, "signature-invalid").only(),
            move |_, db| {
                let c = attacker(db);
                let mut sig = get_blob(&c, "entries", "sig", inf2);
                sig[17] ^= 0x08;
                set_blob(&c, "entries", "sig", inf2, &sig);
            },
        ),
        case(
            "signatures-swapped",
            at(sig2, "signature-invalid")
                .and("signature-invalid", Some(inf2))
                .only(),
            move |_, db| {
                let c = attacker(db);
                let a = get_blob(&c, "entries", "sig", sig2);
                let b = get_blob(&c, "entries", "sig", inf2);
                set_blob(&c, "entries", "sig", sig2, &b);
                set_blob(&c, "entries", "sig", inf2, &a);
            },
        ),
        case(
            "key-id-replaced",
            at(sig2, "key-id-mismatch").only(),
            move |fx, db| {
                let c = attacker(db);
                let other = fx.signer("ai-engine").key_id();
                set_blob(&c, "entries", "key_id", sig2, &other);
            },
        ),
        case(
            "middle-row-deleted",
            at(sig3, "rows-missing")
                .and("chain-broken", Some(sig3 + 1))
                .and("fork", Some(cp_last)),
            move |_, db| {
                let c = attacker(db);
                c.execute("DELETE FROM entries WHERE seq = ?1", [i(sig3)])
                    .unwrap();
            },
        ),
        case(
            "payload-deleted",
            at(sig3, "payload-missing").only(),
            move |_, db| {
                let c = attacker(db);
                c.execute("DELETE FROM payloads WHERE seq = ?1", [i(sig3)])
                    .unwrap();
            },
        ),
        // The delete trigger lets a payload go once a redaction is recorded in `redacted`;
        // without a signed redaction entry on the chain that is no redaction at all.
        case(
            "payload-deleted-by-fake-redaction-row",
            at(sig3, "payload-missing").only(),
            move |fx, db| {
                let c = Connection::open(db).unwrap();
                c.execute(
                    "INSERT INTO redacted(seq, by_seq) VALUES (?1, ?2)",
                    params![i(sig3), i(fx.redaction)],
                )
                .unwrap();
                c.execute("DELETE FROM payloads WHERE seq = ?1", [i(sig3)])
                    .unwrap();
            },
        ),
        case(
            "row-copied-to-the-end",
            at(end, "envelope-seq-mismatch").and("chain-broken", Some(end)),
            move |_, db| {
                let c = attacker(db);
                c.execute(
                    "INSERT INTO entries SELECT ?1, hash, envelope, kind, key_id, sig FROM entries WHERE seq = ?2",
                    params![i(end), i(sig3)],
                )
                .unwrap();
                c.execute(
                    "INSERT INTO payloads SELECT ?1, salt, payload FROM payloads WHERE seq = ?2",
                    params![i(end), i(sig3)],
                )
                .unwrap();
            },
        ),
        // A stray row far beyond the end must be a prompt finding, not a scan of the gap.
        case(
            "stray-row-far-beyond-the-end",
            at(end, "rows-missing").only(),
            move |_, db| {
                let c = attacker(db);
                c.execute(
                    "INSERT INTO entries SELECT ?1, hash, envelope, kind, key_id, sig FROM entries WHERE seq = ?2",
                    params![1i64 << 40, i(sig3)],
                )
                .unwrap();
            },
        ),
        case(
            "forged-row-unknown-key",
            at(end, "key-unknown").only(),
            move |_, db| {
                let intruder = SignerKey::generate("intruder", ALG_ED25519).unwrap();
                assert_eq!(Forge::new(&intruder, Kind::Signal).append(db), end);
            },
        ),
        case(
            "forged-row-fresh-key-under-producer-name",
            at(end, "key-id-mismatch").only(),
            move |_, db| {
                let intruder = SignerKey::generate("ingest", ALG_ED25519).unwrap();
                assert_eq!(Forge::new(&intruder, Kind::Signal).append(db), end);
            },
        ),
        case(
            "rows-reordered",
            at(sig2, "envelope-seq-mismatch")
                .and("chain-broken", Some(sig2))
                .and("envelope-seq-mismatch", Some(sig3))
                .and("fork", Some(cp_last)),
            move |_, db| {
                let c = attacker(db);
                for col in ["envelope", "hash"] {
                    let a = get_blob(&c, "entries", col, sig2);
                    let b = get_blob(&c, "entries", col, sig3);
                    set_blob(&c, "entries", col, sig2, &b);
                    set_blob(&c, "entries", col, sig3, &a);
                }
            },
        ),
        case(
            "whole-rows-reordered",
            at(sig2, "envelope-seq-mismatch").and("chain-broken", Some(sig2)),
            move |_, db| {
                let c = attacker(db);
                c.execute_batch(&format!(
                    "UPDATE entries SET seq = -1 WHERE seq = {sig2};
                     UPDATE entries SET seq = {sig2} WHERE seq = {sig3};
                     UPDATE entries SET seq = {sig3} WHERE seq = -1;
                     UPDATE payloads SET seq = -1 WHERE seq = {sig2};
                     UPDATE payloads SET seq = {sig2} WHERE seq = {sig3};
                     UPDATE payloads SET seq = {sig3} WHERE seq = -1;"
                ))
                .unwrap();
            },
        ),
        case(
            "row-duplicated-over-the-next",
            at(sig3, "envelope-seq-mismatch").and("chain-broken", Some(sig3)),
            move |_, db| {
                let c = attacker(db);
                for col in ["hash", "envelope", "key_id", "sig"] {
                    let a = get_blob(&c, "entries", col, sig2);
                    set_blob(&c, "entries", col, sig3, &a);
                }
            },
        ),
        // Without the primary key the table can hold the same seq twice.
        case(
            "row-duplicated-without-primary-key",
            at(sig2, "row-duplicated"),
            move |_, db| {
                let c = attacker(db);
                c.execute_batch(&format!(
                    "CREATE TABLE entries2 AS SELECT * FROM entries;
                     DROP TABLE entries;
                     ALTER TABLE entries2 RENAME TO entries;
                     INSERT INTO entries SELECT * FROM entries WHERE seq = {sig2};"
                ))
                .unwrap();
            },
        ),
        case(
            "merkle-node-edited",
            at(6, "merkle-node-mismatch").only(),
            move |_, db| {
                let c = attacker(db);
                c.execute(
                    "UPDATE nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 3",
                    [],
                )
                .unwrap();
            },
        ),
        case(
            "high-merkle-node-edited",
            at(16, "merkle-node-mismatch").only(),
            move |_, db| {
                let c = attacker(db);
                let n = c
                    .execute(
                        "UPDATE nodes SET hash = randomblob(32) WHERE level = 3 AND idx = 2",
                        [],
                    )
                    .unwrap();
                assert_eq!(n, 1);
            },
        ),
        // The last entry's ref is pointed at another entry and the entry re-signed with the
        // producer's real key: hash, chain, nodes and signature are all consistent.
        case(
            "ref-broken-and-re-signed",
            at(last, "ref-broken").only(),
            move |fx, db| {
                let c = attacker(db);
                let mut env =
                    Envelope::parse_canonical(&get_blob(&c, "entries", "envelope", last)).unwrap();
                assert_eq!(env.kind, Kind::Review);
                env.refs[0].hash = fx.hashes[usize::try_from(env.refs[0].seq - 1).unwrap()];
                let bytes = env.canonical_bytes();
                let sig = fx
                    .signer(&env.actor)
                    .sign(&Envelope::signed_message(ORIGIN, &bytes));
                set_blob(&c, "entries", "envelope", last, &bytes);
                set_blob(&c, "entries", "hash", last, &merkle::leaf_hash(&bytes));
                set_blob(&c, "entries", "sig", last, &sig);
                rebuild_nodes(&c);
            },
        ),
        case(
            "forged-by-revoked-key",
            at(end + 1, "key-revoked").only(),
            move |fx, db| {
                run_ok(
                    &[
                        "key",
                        "revoke",
                        "--db",
                        s(db),
                        "--ledger-key",
                        s(&fx.ledger_key),
                        "--name",
                        "ingest",
                        "--reason",
                        "laptop stolen",
                    ],
                    None,
                );
                let stolen = fx.signer("ingest");
                assert_eq!(Forge::new(&stolen, Kind::Signal).append(db), end + 1);
            },
        ),
        case(
            "kind-not-allowed",
            at(end, "kind-not-allowed").only(),
            move |fx, db| {
                let ingest = fx.signer("ingest");
                Forge::new(&ingest, Kind::Action).append(db);
            },
        ),
        // A producer key trying to register an accomplice.
        case(
            "key-entry-by-producer",
            at(end, "kind-not-allowed").only(),
            move |fx, db| {
                let ai = fx.signer("ai-engine");
                let accomplice = SignerKey::generate("accomplice", ALG_ED25519).unwrap();
                let mut f = Forge::new(&ai, Kind::Key);
                f.payload = entry::canonical_payload(&json!({
                    "op": "add", "key": accomplice.verifier().to_string(), "kinds": ["action"],
                }))
                .unwrap();
                f.append(db);
            },
        ),
        case(
            "time-went-backwards",
            at(end, "time-went-backwards").only(),
            move |fx, db| {
                let ingest = fx.signer("ingest");
                let mut f = Forge::new(&ingest, Kind::Signal);
                f.ts = Some("2001-01-01T00:00:00.000000Z".into());
                f.append(db);
            },
        ),
        case(
            "payload-not-canonical",
            at(end, "payload-not-canonical").only(),
            move |fx, db| {
                let ingest = fx.signer("ingest");
                let mut f = Forge::new(&ingest, Kind::Signal);
                f.payload = br#"{ "b": 1, "a": 2 }"#.to_vec();
                f.append(db);
            },
        ),
        case(
            "envelope-not-canonical",
            at(end, "envelope-not-canonical").only(),
            move |fx, db| {
                let ingest = fx.signer("ingest");
                let mut f = Forge::new(&ingest, Kind::Signal);
                f.bytes = |b| {
                    let v: Value = serde_json::from_slice(&b).unwrap();
                    serde_json::to_vec_pretty(&v).unwrap()
                };
                f.append(db);
            },
        ),
        case(
            "envelope-unknown-kind",
            at(end, "envelope-invalid").only(),
            move |fx, db| {
                let ingest = fx.signer("ingest");
                let mut f = Forge::new(&ingest, Kind::Signal);
                f.bytes = |b| replace_in(&b, "\"kind\":\"signal\"", "\"kind\":\"rumour\"");
                f.append(db);
            },
        ),
        case(
            "ref-with-wrong-hash",
            at(end, "ref-broken").only(),
            move |fx, db| {
                let ai = fx.signer("ai-engine");
                let mut f = Forge::new(&ai, Kind::Inference);
                f.refs = vec![Ref {
                    seq: 3,
                    hash: [7; 32],
                }];
                f.append(db);
            },
        ),
        case(
            "key-entry-payload-edited",
            at(1, "payload-mismatch"),
            move |_, db| {
                let c = attacker(db);
                let p = get_blob(&c, "payloads", "payload", 1);
                let p = replace_in(&p, "\"signal\"", "\"action\"");
                set_blob(&c, "payloads", "payload", 1, &p);
            },
        ),
        // A careful attacker re-signs everything from seq 20 on with the stolen keys: only
        // the trusted checkpoint (kept elsewhere) exposes the rewrite.
        case(
            "history-rewritten-with-stolen-keys",
            at(cp_last, "fork").only(),
            move |fx, db| {
                rewrite_history(fx, db, 20, |env| {
                    env.subject.insert("userId".into(), "u-innocent".into());
                });
                let v = fx.verify_db(db, &[]);
                v.assert_clean("a consistent rewrite without a trusted checkpoint");
            },
        ),
    ];
    run_db_cases(&fx, cases);
}

#[test]
fn rollback_fork_and_foreign_checkpoints_are_detected() {
    let fx = Fixture::build();
    let cp_last = fx.cp_size - 1;
    let pin = vec!["--ledger-key".to_string(), s(&fx.ledger_pub).to_string()];
    let trusted_and_pin: Vec<String> = fx.trusted().into_iter().chain(pin.clone()).collect();
    // A fresh ledger of the same origin, under a new ledger key, holding the same producers.
    let replace_with_new_key = |fx: &Fixture, db: &Path| {
        remove_db(db);
        let new_key = SignerKey::generate(ORIGIN, ALG_ED25519).unwrap();
        rebuild_ledger(fx, db, &new_key, 60);
    };
    let other_origin_cp = {
        let other = fx.dir.join("other.db");
        run_ok(
            &[
                "ledger",
                "init",
                "--db",
                s(&other),
                "--origin",
                "other.test/vigil",
            ],
            None,
        );
        let text = run_ok(&["ledger", "checkpoint", "--db", s(&other)], None);
        let p = fx.dir.join("other-checkpoint.txt");
        fs::write(&p, text).unwrap();
        p
    };
    let edited_cp = {
        let text = fs::read_to_string(&fx.cp).unwrap();
        let mut lines: Vec<&str> = text.split('\n').collect();
        let size = (fx.cp_size - 1).to_string();
        lines[1] = &size;
        let p = fx.dir.join("edited-checkpoint.txt");
        fs::write(&p, lines.join("\n")).unwrap();
        p
    };
    let mut cases = vec![
        case(
            "replaced-by-new-ledger-key",
            unseq("checkpoint-unknown-key").only(),
            replace_with_new_key,
        ),
        case(
            "replaced-by-new-ledger-key-pinned",
            at(0, "ledger-key-not-pinned").only(),
            replace_with_new_key,
        ),
        case(
            "replaced-by-new-ledger-key-pinned-and-checkpoint",
            at(0, "ledger-key-not-pinned").and("checkpoint-unknown-key", None),
            replace_with_new_key,
        ),
        // The ledger rebuilt from scratch and re-signed with the real (stolen) ledger key.
        case(
            "forked-with-stolen-ledger-key",
            at(cp_last, "fork").only(),
            |fx, db| {
                remove_db(db);
                rebuild_ledger(fx, db, &fx.signer(ORIGIN), 60);
                fx.verify_db(db, &[])
                    .assert_clean("a rebuilt ledger without a trusted checkpoint");
            },
        ),
        // Rolled back to a shorter, rebuilt history under the stolen key.
        case(
            "rolled-back-with-stolen-ledger-key",
            at(30, "truncated").only(),
            |fx, db| {
                remove_db(db);
                rebuild_ledger(fx, db, &fx.signer(ORIGIN), 30);
            },
        ),
        case(
            "checkpoint-of-another-ledger",
            unseq("checkpoint-origin").only(),
            |_, _| {},
        ),
        case(
            "checkpoint-text-edited",
            unseq("checkpoint-unknown-key").only(),
            |_, _| {},
        ),
    ];
    cases[1].args = Some(pin);
    cases[2].args = Some(trusted_and_pin);
    cases[5].args = Some(vec!["--checkpoint".into(), s(&other_origin_cp).into()]);
    cases[6].args = Some(vec!["--checkpoint".into(), s(&edited_cp).into()]);
    run_db_cases(&fx, cases);
}

fn remove_db(db: &Path) {
    fs::remove_file(db).unwrap();
    for ext in ["-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{ext}", s(db)));
    }
}

/// Builds a new ledger at `db` signed by `ledger_key`, registering the fixture's producers and
/// appending signals until it has `size` entries.
fn rebuild_ledger(fx: &Fixture, db: &Path, ledger_key: &SignerKey, size: u64) {
    let mut l = Ledger::create(db, ledger_key).unwrap();
    let ingest = fx.signer("ingest");
    l.add_key(ledger_key, &ingest.verifier(), vec![Kind::Signal])
        .unwrap();
    let n = size - l.size().unwrap();
    let items = (0..n)
        .map(|g| vigil_ledger::NewEntry {
            kind: Kind::Signal,
            subject: BTreeMap::from([("userId".to_string(), format!("u-{g:04}"))]),
            refs: vec![],
            payload: json!({"n": g, "rewritten": true}),
        })
        .collect();
    l.append(&ingest, items).unwrap();
    assert_eq!(l.size().unwrap(), size);
}

#[test]
fn truncated_tail_is_detected_only_with_a_trusted_checkpoint() {
    let fx = Fixture::build();
    let keep = fx.cp_size - 8;
    assert!(keep > fx.redaction, "the redaction survives the truncation");
    let db = fx.copy_db("truncated");
    {
        let c = attacker(&db);
        c.execute("DELETE FROM entries WHERE seq >= ?1", [i(keep)])
            .unwrap();
        c.execute("DELETE FROM payloads WHERE seq >= ?1", [i(keep)])
            .unwrap();
        // Nodes covering any removed leaf go too, and so do the stored checkpoints.
        c.execute(
            "DELETE FROM nodes WHERE ((idx + 1) << level) > ?1",
            [i(keep)],
        )
        .unwrap();
        c.execute("DELETE FROM checkpoints", []).unwrap();
    }
    let v = fx.verify_db(&db, &[]);
    v.assert_clean("a truncated ledger without a trusted checkpoint");
    assert_eq!(v.report["size"], keep);
    assert_eq!(v.report["truncation_detectable"], false);
    let notes = v.report["notes"].to_string();
    assert!(
        notes.contains("truncated tail") && notes.contains("cannot be detected"),
        "the report says truncation cannot be detected: {notes}"
    );
    let v = fx.verify_db(&db, &fx.trusted());
    at(keep, "truncated").only().check(&v).unwrap();

    // Stopping short of the checkpoint by a single entry is caught the same way.
    let db = fx.copy_db("truncated-by-one");
    {
        let c = attacker(&db);
        c.execute("DELETE FROM entries WHERE seq >= ?1", [i(fx.cp_size - 1)])
            .unwrap();
        c.execute("DELETE FROM checkpoints", []).unwrap();
    }
    at(fx.cp_size - 1, "truncated")
        .only()
        .check(&fx.verify_db(&db, &fx.trusted()))
        .unwrap();
}

/// Flipping any single byte of a random entry's envelope, signature or payload is always a
/// finding at that entry: exit 1, never 0, never a panic (101), never an input error (2).
#[test]
fn random_single_byte_flips_are_always_findings() {
    let fx = Fixture::build();
    // VIGIL_TAMPER_SEED replays a failing run.
    let seed = std::env::var("VIGIL_TAMPER_SEED").map_or_else(
        |_| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            u64::try_from(nanos % (1u128 << 63)).unwrap() | 1
        },
        |v| v.parse().expect("VIGIL_TAMPER_SEED is a number"),
    );
    let mut rng = XorShift(seed);
    let mut failures = Vec::new();
    // VIGIL_TAMPER_TRIALS runs more trials (e.g. when hunting for a panic).
    let trials: u32 = std::env::var("VIGIL_TAMPER_TRIALS").map_or(30, |v| v.parse().unwrap());
    for trial in 0..trials {
        let seq = rng.below(fx.size);
        let (table, col) = match rng.below(3) {
            0 => ("entries", "envelope"),
            1 => ("entries", "sig"),
            _ if seq == fx.redacted => ("entries", "sig"),
            _ => ("payloads", "payload"),
        };
        let db = fx.copy_db(&format!("flip-{trial}"));
        let c = attacker(&db);
        let mut blob = get_blob(&c, table, col, seq);
        let at = usize::try_from(rng.below(blob.len() as u64)).unwrap();
        let mask = u8::try_from(rng.below(255) + 1).unwrap();
        blob[at] ^= mask;
        set_blob(&c, table, col, seq, &blob);
        drop(c);
        let v = fx.verify_db(&db, &fx.trusted());
        let what =
            format!("trial {trial} (seed {seed}): {col} of seq {seq}, byte {at} ^= {mask:#04x}");
        // Corrupting the redaction entry can void the record of the erasure; then the erased
        // payload of its target (an earlier entry) is rightly reported missing as well.
        let first_ok = match v.report["first_bad_seq"].as_u64() {
            Some(f) if f == seq => true,
            Some(f) => {
                seq == fx.redaction
                    && f == fx.redacted
                    && v.has("payload-missing", Some(f))
                    && v.report["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x["seq"] == seq && x["code"] != "merkle-node-mismatch")
            }
            None => false,
        };
        if v.code != Some(1) || !first_ok {
            failures.push(format!("{what}: {}", v.summary()));
        }
        fs::remove_file(&db).unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------------------------
// Bundle tampering
// ---------------------------------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn read_lines(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(p: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(p, text).unwrap();
}

/// Index of the line of `file` (entries or payloads NDJSON) for `seq`.
fn line_of(lines: &[String], seq: u64) -> usize {
    lines
        .iter()
        .position(|l| serde_json::from_str::<Value>(l).unwrap()["seq"] == seq)
        .unwrap()
}

fn sha256_hex(p: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(p).unwrap()))
}

/// Rewrites manifest.json so its file list and hashes describe the bundle as it now is.
fn refresh_manifest(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let mp = dir.join("manifest.json");
    let mut m: Value = serde_json::from_str(&fs::read_to_string(&mp).unwrap()).unwrap();
    let mut files = serde_json::Map::new();
    for rel in [
        "entries.ndjson",
        "entries.parquet",
        "payloads.ndjson",
        "ledger-keys.txt",
    ] {
        files.insert(rel.into(), sha256_hex(&dir.join(rel)).into());
    }
    for e in fs::read_dir(dir.join("checkpoints")).unwrap() {
        let e = e.unwrap();
        files.insert(
            format!("checkpoints/{}", e.file_name().to_str().unwrap()),
            sha256_hex(&e.path()).into(),
        );
    }
    m["files"] = Value::Object(files);
    edit(&mut m);
    fs::write(&mp, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

fn read_parquet(p: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(fs::File::open(p).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn write_parquet(p: &Path, batches: &[RecordBatch]) {
    let mut w =
        ArrowWriter::try_new(fs::File::create(p).unwrap(), batches[0].schema(), None).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

/// Rewrites entries.parquet with one bit of `seq`'s signature flipped.
fn parquet_flip_signature(p: &Path, seq: u64) {
    let mut batches = read_parquet(p);
    let mut hit = false;
    for b in &mut batches {
        let seqs = b.column(0).as_any().downcast_ref::<UInt64Array>().unwrap();
        let sigs = b
            .column(8)
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .unwrap();
        let mut nb = FixedSizeBinaryBuilder::new(64);
        for r in 0..sigs.len() {
            let mut v = sigs.value(r).to_vec();
            if seqs.value(r) == seq {
                v[5] ^= 1;
                hit = true;
            }
            nb.append_value(&v).unwrap();
        }
        let mut cols = b.columns().to_vec();
        cols[8] = Arc::new(nb.finish());
        *b = RecordBatch::try_new(b.schema(), cols).unwrap();
    }
    assert!(hit, "seq {seq} is in the parquet file");
    write_parquet(p, &batches);
}

type BundleMutation = Box<dyn Fn(&Fixture, &Path)>;

#[test]
fn bundle_tampering_is_detected() {
    let fx = Fixture::build();
    let bundle = fx.dir.join("bundle");
    run_ok(
        &["ledger", "export", "--db", s(&fx.db), "--out", s(&bundle)],
        None,
    );
    let v = verify(&["--bundle", s(&bundle)]);
    v.assert_clean("the untouched bundle");
    verify(&[
        "--bundle",
        s(&bundle),
        "--checkpoint",
        s(&fx.cp),
        "--ledger-key",
        s(&fx.ledger_pub),
    ])
    .assert_clean("the untouched bundle, pinned");
    let cp_file = format!("checkpoints/checkpoint-{:012}.txt", fx.cp_size);
    assert!(bundle.join(&cp_file).is_file());
    let sig2 = fx.signals[2];
    let sig3 = fx.signals[3];
    let rev1 = fx.reviews[1];
    let cp_last = fx.cp_size - 1;
    let keep = fx.cp_size - 8;
    let cases: Vec<(&str, Expect, Vec<String>, BundleMutation)> = vec![
        (
            "entries-envelope-byte",
            at(rev1, "hash-mismatch")
                .and("signature-invalid", Some(rev1))
                .and("bundle-parquet-mismatch", Some(rev1))
                .and("bundle-file-modified", None)
                .and("bundle-manifest-mismatch", None)
                .and("fork", Some(cp_last)),
            vec![],
            Box::new(move |_, dir| {
                let p = dir.join("entries.ndjson");
                let mut lines = read_lines(&p);
                let n = line_of(&lines, rev1);
                let from = "\\\"userId\\\":\\\"u-0001\\\"";
                assert!(lines[n].contains(from), "{}", lines[n]);
                lines[n] = lines[n].replacen(from, "\\\"userId\\\":\\\"u-0007\\\"", 1);
                write_lines(&p, &lines);
            }),
        ),
        (
            "entries-line-deleted",
            at(sig3, "rows-missing")
                .and("chain-broken", Some(sig3 + 1))
                .and("bundle-file-modified", None),
            vec![],
            Box::new(move |_, dir| {
                let p = dir.join("entries.ndjson");
                let mut lines = read_lines(&p);
                let n = line_of(&lines, sig3);
                lines.remove(n);
                write_lines(&p, &lines);
            }),
        ),
        (
            "entries-lines-swapped",
            at(sig2, "rows-missing").and("row-duplicated", Some(sig2)),
            vec![],
            Box::new(move |_, dir| {
                let p = dir.join("entries.ndjson");
                let mut lines = read_lines(&p);
                let n = line_of(&lines, sig2);
                lines.swap(n, n + 1);
                write_lines(&p, &lines);
            }),
        ),
        (
            "entries-line-duplicated",
            at(sig2, "row-duplicated"),
            vec![],
            Box::new(move |_, dir| {
                let p = dir.join("entries.ndjson");
                let mut lines = read_lines(&p);
                let n = line_of(&lines, sig2);
                let dup = lines[n].clone();
                lines.insert(n + 1, dup);
                write_lines(&p, &lines);
            }),
        ),
        (
            "entries-line-with-absurd-seq",
            at(fx.size, "rows-missing").and("bundle-file-modified", None),
            vec![],
            Box::new(move |fx, dir| {
                let p = dir.join("entries.ndjson");
                let mut lines = read_lines(&p);
                let mut v: Value = serde_json::from_str(&lines[line_of(&lines, sig3)]).unwrap();
                v["seq"] = json!(u64::MAX);
                lines.push(v.to_string());
                v["seq"] = json!(fx.size + (1 << 40));
                lines.push(v.to_string());
                write_lines(&p, &lines);
            }),
        ),
        (
            "payloads-byte",
            at(sig3, "payload-mismatch")
                .and("bundle-file-modified", None)
                .only(),
            vec![],
            Box::new(move |_, dir| {
                let p = dir.join("payloads.ndjson");
                let mut lines = read_lines(&p);
                let n = line_of(&lines, sig3);
                lines[n] = lines[n].replacen("Office 365", "Office 366", 1);
                write_lines(&p, &lines);
            }),
        ),
        (
            "payloads-line-deleted-manifest-refreshed",
            at(sig3, "payload-missing").only(),
            vec![],
            Box::new(move |_, dir| {
                let p = dir.join("payloads.ndjson");
                let mut lines = read_lines(&p);
                let n = line_of(&lines, sig3);
                lines.remove(n);
                write_lines(&p, &lines);
                refresh_manifest(dir, |_| {});
            }),
        ),
        (
            "parquet-row-modified",
            at(sig3, "bundle-parquet-mismatch")
                .and("bundle-file-modified", None)
                .only(),
            vec![],
            Box::new(move |_, dir| parquet_flip_signature(&dir.join("entries.parquet"), sig3)),
        ),
        (
            "parquet-row-modified-manifest-refreshed",
            at(sig3, "bundle-parquet-mismatch").only(),
            vec![],
            Box::new(move |_, dir| {
                parquet_flip_signature(&dir.join("entries.parquet"), sig3);
                refresh_manifest(dir, |_| {});
            }),
        ),
        (
            "checkpoint-file-deleted",
            unseq("bundle-file-missing").only(),
            vec![],
            Box::new({
                let cp_file = cp_file.clone();
                move |_, dir| fs::remove_file(dir.join(&cp_file)).unwrap()
            }),
        ),
        (
            "manifest-size-edited",
            unseq("bundle-manifest-mismatch").only(),
            vec![],
            Box::new(move |fx, dir| {
                refresh_manifest(dir, |m| m["size"] = json!(fx.size + 1));
            }),
        ),
        (
            "manifest-root-edited",
            unseq("bundle-manifest-mismatch").only(),
            vec![],
            Box::new(move |_, dir| {
                refresh_manifest(dir, |m| m["root"] = json!("00".repeat(32)));
            }),
        ),
        (
            "manifest-file-hash-edited",
            unseq("bundle-file-modified").only(),
            vec![],
            Box::new(move |_, dir| {
                refresh_manifest(dir, |m| {
                    m["files"]["payloads.ndjson"] = json!("ab".repeat(32));
                });
            }),
        ),
        (
            "unlisted-file-added",
            unseq("bundle-file-unlisted").only(),
            vec![],
            Box::new(move |_, dir| {
                fs::write(dir.join("NOTES.txt"), "nothing to see\n").unwrap();
            }),
        ),
        (
            "ledger-keys-replaced",
            unseq("bundle-keys-mismatch").only(),
            vec![],
            Box::new(move |_, dir| {
                let k = SignerKey::generate(ORIGIN, ALG_ED25519).unwrap();
                fs::write(dir.join("ledger-keys.txt"), format!("{}\n", k.verifier())).unwrap();
                refresh_manifest(dir, |_| {});
            }),
        ),
        // A consistently truncated bundle (entries, payloads, parquet, checkpoints and
        // manifest all rewritten) is caught only by the trusted checkpoint.
        (
            "bundle-truncated",
            at(keep, "truncated").only(),
            vec!["--checkpoint".into(), s(&fx.cp).into()],
            Box::new(move |fx, dir| {
                truncate_bundle(fx, dir, keep);
                verify(&["--bundle", s(dir)])
                    .assert_clean("a consistently truncated bundle without a trusted checkpoint");
            }),
        ),
    ];
    let mut failures = Vec::new();
    let total = cases.len();
    for (name, expect, args, mutate) in cases {
        let dir = fx.dir.join(format!("bundle-{name}"));
        copy_dir(&bundle, &dir);
        mutate(&fx, &dir);
        let mut all = vec!["--bundle", s(&dir)];
        all.extend(args.iter().map(String::as_str));
        if let Err(e) = expect.check(&verify(&all)) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} bundle cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn truncate_bundle(fx: &Fixture, dir: &Path, keep: u64) {
    for f in ["entries.ndjson", "payloads.ndjson"] {
        let p = dir.join(f);
        let lines: Vec<String> = read_lines(&p)
            .into_iter()
            .filter(|l| {
                serde_json::from_str::<Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
                    < keep
            })
            .collect();
        write_lines(&p, &lines);
    }
    let p = dir.join("entries.parquet");
    let batches: Vec<RecordBatch> = read_parquet(&p);
    assert_eq!(batches.len(), 1);
    write_parquet(&p, &[batches[0].slice(0, usize::try_from(keep).unwrap())]);
    for e in fs::read_dir(dir.join("checkpoints")).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    let root = vigil_ledger::verify::root_of(&fx.hashes[..usize::try_from(keep).unwrap()]);
    refresh_manifest(dir, |m| {
        m["size"] = json!(keep);
        m["root"] = json!(hex::encode(root));
    });
}

/// `verify --from CP` trusts the prefix the checkpoint covers, but must still learn every key
/// change in it: hiding a revocation inside the prefix (its `kind` column is not signed) must
/// not let entries signed by the revoked key after the checkpoint pass.
#[test]
fn verify_from_checkpoint_sees_revocations_in_the_trusted_prefix() {
    let fx = Fixture::build();
    let db = fx.copy_db("hidden-revocation");
    run_ok(
        &[
            "key",
            "revoke",
            "--db",
            s(&db),
            "--ledger-key",
            s(&fx.ledger_key),
            "--name",
            "ingest",
            "--reason",
            "laptop stolen",
        ],
        None,
    );
    let revoked_at = fx.size;
    let cp_text = run_ok(
        &[
            "ledger",
            "checkpoint",
            "--db",
            s(&db),
            "--ledger-key",
            s(&fx.ledger_key),
        ],
        None,
    );
    let cp = fx.dir.join("after-revocation.txt");
    fs::write(&cp, cp_text).unwrap();
    let stolen = fx.signer("ingest");
    let forged = Forge::new(&stolen, Kind::Signal).append(&db);
    let from = vec!["--from".to_string(), s(&cp).to_string()];
    at(forged, "key-revoked")
        .only()
        .check(&fx.verify_db(&db, &from))
        .unwrap();
    {
        let c = attacker(&db);
        c.execute(
            "UPDATE entries SET kind = 'signal' WHERE seq = ?1",
            [i(revoked_at)],
        )
        .unwrap();
    }
    at(forged, "key-revoked")
        .check(&fx.verify_db(&db, &[]))
        .unwrap();
    at(forged, "key-revoked")
        .only()
        .check(&fx.verify_db(&db, &from))
        .unwrap();

    // The same with the revocation's envelope rewritten (and its hash and the nodes redone).
    let db = fx.copy_db("hidden-revocation-envelope");
    run_ok(
        &[
            "key",
            "revoke",
            "--db",
            s(&db),
            "--ledger-key",
            s(&fx.ledger_key),
            "--name",
            "ingest",
            "--reason",
            "laptop stolen",
        ],
        None,
    );
    assert_eq!(
        Forge::new(&stolen, Kind::Signal).append(&db),
        revoked_at + 1
    );
    {
        let c = attacker(&db);
        let env = get_blob(&c, "entries", "envelope", revoked_at);
        let env = replace_in(&env, "\"kind\":\"key\"", "\"kind\":\"run\"");
        set_blob(&c, "entries", "envelope", revoked_at, &env);
        set_blob(&c, "entries", "hash", revoked_at, &merkle::leaf_hash(&env));
        c.execute(
            "UPDATE entries SET kind = 'run' WHERE seq = ?1",
            [i(revoked_at)],
        )
        .unwrap();
        rebuild_nodes(&c);
    }
    unseq("fork")
        .only()
        .check(&fx.verify_db(&db, &from))
        .unwrap();

    // A key entry's payload in the prefix edited to widen what a producer may sign.
    let db = fx.copy_db("widened-kinds");
    let ingest_added = 1;
    {
        let c = attacker(&db);
        let p = get_blob(&c, "payloads", "payload", ingest_added);
        let p = replace_in(&p, "[\"signal\"]", "[\"action\"]");
        set_blob(&c, "payloads", "payload", ingest_added, &p);
    }
    let forged = Forge::new(&stolen, Kind::Action).append(&db);
    assert_eq!(forged, fx.size);
    at(1, "payload-mismatch")
        .check(&fx.verify_db(&db, &[]))
        .unwrap();
    let from = vec!["--from".to_string(), s(&fx.cp).to_string()];
    unseq("key-entry-invalid")
        .only()
        .check(&fx.verify_db(&db, &from))
        .unwrap();
}
