//! `vigil simulate --ledger DB --key KEY` end to end on the sample tenant: record the tenant,
//! review one inference, snapshot the candidate policies, simulate with the ledger, and check
//! the `run` entry (payload, refs and hashes), summary.json and report.html, `ledger verify`
//! and `ledger trace --signin`; and that a key not registered for `run` is refused with exit 2
//! and nothing appended.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::harness::Out;

/// A scratch folder with a ledger and the producers ingest (signal, action), ai-engine
/// (inference), analyst (review), ca-admin (policy) and simulator (run); shared with pilot.rs.
pub(super) struct Ws {
    pub(super) dir: tempfile::TempDir,
}

impl Ws {
    pub(super) fn new() -> Ws {
        let ws = Ws {
            dir: tempfile::tempdir().unwrap(),
        };
        ws.run(&[
            "ledger",
            "init",
            "--db",
            "audit.db",
            "--origin",
            "contoso.example/vigil",
        ])
        .ok();
        for (name, kinds) in [
            ("ingest", "signal,action"),
            ("ai-engine", "inference"),
            ("analyst", "review"),
            ("ca-admin", "policy"),
            ("simulator", "run"),
        ] {
            ws.run(&[
                "key",
                "generate",
                "--name",
                name,
                "--out",
                &format!("{name}.key"),
            ])
            .ok();
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

    pub(super) fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(super) fn run(&self, args: &[&str]) -> Out {
        super::harness::vigil(self.dir.path(), args)
    }

    pub(super) fn entries(&self) -> Vec<Value> {
        self.run(&["ledger", "show", "--db", "audit.db"])
            .ok()
            .ndjson()
    }

    pub(super) fn write(&self, rel: &str, text: &str) {
        fs::write(self.p(rel), text).unwrap();
    }

    pub(super) fn record(&self, signins: &str, scores: &str) {
        self.run(&[
            "ledger",
            "record",
            "--db",
            "audit.db",
            "--signins",
            signins,
            "--scores",
            scores,
            "--inference-key",
            "ai-engine.key",
            "--signal-key",
            "ingest.key",
            "--action-key",
            "ingest.key",
        ])
        .ok();
    }

    pub(super) fn of_kind(&self, kind: &str) -> Vec<Value> {
        self.entries()
            .into_iter()
            .filter(|e| e["envelope"]["kind"] == kind)
            .collect()
    }

    /// The inference entry of a sign-in.
    pub(super) fn inference_of(&self, signin: &str) -> Value {
        self.of_kind("inference")
            .into_iter()
            .find(|e| e["envelope"]["subject"]["signInId"] == signin)
            .unwrap_or_else(|| panic!("no inference for {signin}"))
    }

    pub(super) fn review(&self, seq: u64, verdict: &str, extra: &[&str]) {
        let seq = seq.to_string();
        let mut args = vec![
            "review",
            "--db",
            "audit.db",
            "--key",
            "analyst.key",
            "--ref",
            &seq,
            "--verdict",
            verdict,
            "--reason",
            "checked with the user",
        ];
        args.extend_from_slice(extra);
        self.run(&args).ok();
    }

    /// `vigil ledger record-policies` with the ca-admin key and `extra` flags.
    pub(super) fn record_policies(&self, policies: &str, extra: &[&str]) {
        let mut args = vec![
            "ledger",
            "record-policies",
            "--db",
            "audit.db",
            "--key",
            "ca-admin.key",
            "--policies",
            policies,
        ];
        args.extend_from_slice(extra);
        self.run(&args).ok();
    }
}

pub(super) fn tenant(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/tenant")
        .join(file)
        .to_str()
        .unwrap()
        .to_string()
}

fn kind(e: &Value) -> &str {
    e["envelope"]["kind"].as_str().unwrap()
}

fn seq(e: &Value) -> u64 {
    e["seq"].as_u64().unwrap()
}

fn sha256_file(path: &str) -> String {
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

/// The simulate arguments for the sample tenant with AI thresholds, writing to `out`.
fn simulate_args(out: &str) -> Vec<String> {
    let mut v: Vec<String> = ["simulate", "--signins"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.push(tenant("signins.json"));
    for (flag, file) in [
        ("--policies", "policies-candidate.json"),
        ("--named-locations", "named-locations.json"),
        ("--directory", "directory.json"),
        ("--scores", "scores.csv"),
        ("--thresholds", "thresholds.toml"),
    ] {
        v.push(flag.into());
        v.push(tenant(file));
    }
    v.extend(["--out".to_string(), out.to_string()]);
    v
}

fn run_sim(ws: &Ws, out: &str, extra: &[&str]) -> Out {
    let mut args = simulate_args(out);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ws.run(&refs)
}

#[test]
fn simulate_with_a_ledger_records_a_run_that_trace_reaches() {
    let ws = Ws::new();
    let signins = tenant("signins.json");
    let scores = tenant("scores.csv");
    ws.record(&signins, &scores);
    let entries = ws.entries();
    let signals: Vec<&Value> = entries.iter().filter(|e| kind(e) == "signal").collect();
    assert_eq!(signals.len(), 300);
    let traced = signals[0]["envelope"]["subject"]["signInId"]
        .as_str()
        .unwrap()
        .to_string();
    let inference = entries
        .iter()
        .find(|e| kind(e) == "inference" && e["envelope"]["subject"]["signInId"] == *traced)
        .unwrap();
    ws.review(seq(inference), "confirmed", &[]);
    let policies = tenant("policies-candidate.json");
    let locations = tenant("named-locations.json");
    ws.record_policies(&policies, &["--named-locations", &locations]);
    let before = ws.entries();
    let policy_entry = before.last().unwrap().clone();
    assert_eq!(kind(&policy_entry), "policy");

    // The same simulation without the ledger: the reference outputs.
    run_sim(&ws, "plain", &[]).ok();
    assert_eq!(ws.entries().len(), before.len(), "no ledger, no entry");

    let sim = run_sim(
        &ws,
        "out",
        &["--ledger", "audit.db", "--key", "simulator.key"],
    )
    .ok();
    let after = ws.entries();
    assert_eq!(after.len(), before.len() + 1, "one run entry appended");
    let run = after.last().unwrap();
    assert_eq!(kind(run), "run");
    assert_eq!(run["envelope"]["actor"], "simulator");
    assert_eq!(run["envelope"]["subject"], serde_json::json!({}));
    let run_seq = seq(run);
    let run_hash = run["hash"].as_str().unwrap().to_string();
    assert!(
        sim.stderr.contains(&format!("run entry #{run_seq}")),
        "{}",
        sim.stderr
    );

    // Refs: every signal of the replayed sign-ins and the candidate set's policy snapshot,
    // each with the hash `ledger show` prints for it.
    let got: BTreeSet<(u64, String)> = run["envelope"]["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["seq"].as_u64().unwrap(),
                r["hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want: BTreeSet<(u64, String)> = signals
        .iter()
        .map(|s| (seq(s), s["hash"].as_str().unwrap().to_string()))
        .collect();
    want.insert((
        seq(&policy_entry),
        policy_entry["hash"].as_str().unwrap().to_string(),
    ));
    assert_eq!(got, want);

    // Payload: version, inputs' SHA-256, candidate ids, thresholds hash, counts.
    let p = &run["payload"];
    assert_eq!(p["vigil"], env!("CARGO_PKG_VERSION"));
    let input = |name: &str| -> (String, String) {
        let files = p["inputs"][name].as_array().unwrap();
        assert_eq!(files.len(), 1, "{name}: {p}");
        (
            files[0]["path"].as_str().unwrap().to_string(),
            files[0]["sha256"].as_str().unwrap().to_string(),
        )
    };
    for (name, file) in [
        ("signins", "signins.json"),
        ("policies", "policies-candidate.json"),
        ("namedLocations", "named-locations.json"),
        ("directory", "directory.json"),
        ("scores", "scores.csv"),
        ("thresholds", "thresholds.toml"),
    ] {
        assert_eq!(
            input(name),
            (tenant(file), sha256_file(&tenant(file))),
            "{name}"
        );
    }
    assert_eq!(
        p["thresholdsSha256"],
        sha256_file(&tenant("thresholds.toml"))
    );
    assert_eq!(
        p["policySetSha256"],
        policy_entry["envelope"]["subject"]["policySetSha256"]
    );
    let ids: Vec<&str> = p["candidatePolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 9);
    assert_eq!(ids[0], "ca000000-0000-4000-8000-000000000001");
    assert_eq!(ids[8], "vigil-ai-risk");
    assert_eq!(p["options"]["baseline"], "logged");
    assert_eq!(p["signals"]["signIns"], 300);
    assert_eq!(p["signals"]["onLedger"], 300);
    assert_eq!(p["signals"]["referenced"], 300);

    let summary: Value =
        serde_json::from_str(&fs::read_to_string(ws.p("out/summary.json")).unwrap()).unwrap();
    for k in ["signIns", "skipped", "transitions"] {
        assert_eq!(p["summary"][k], summary[k], "{k}");
    }
    assert_eq!(p["summary"]["signIns"], 300);
    assert_eq!(
        p["summary"]["candidate"]["status"],
        summary["candidate"]["status"]
    );
    assert_eq!(
        p["summary"]["baseline"]["status"],
        summary["baseline"]["status"]
    );

    // summary.json and report.html carry the entry's seq and hash.
    assert_eq!(summary["ledgerRun"]["seq"], run_seq);
    assert_eq!(summary["ledgerRun"]["hash"], run_hash.as_str());
    assert_eq!(summary["ledgerRun"]["db"], "audit.db");
    let report = fs::read_to_string(ws.p("out/report.html")).unwrap();
    let at = report.find("id=\"ledger-run\"").expect("a ledger section");
    let section = &report[at..at + report[at..].find("</table>").unwrap()];
    assert!(section.contains(&format!(">{run_seq}<")), "{section}");
    assert!(section.contains(&format!(">{run_hash}<")), "{section}");
    // Without the ledger: the same summary, no ledgerRun, no ledger section.
    let mut plain: Value =
        serde_json::from_str(&fs::read_to_string(ws.p("plain/summary.json")).unwrap()).unwrap();
    assert!(plain.get("ledgerRun").is_none());
    let mut with = summary.clone();
    with.as_object_mut().unwrap().remove("ledgerRun");
    plain.as_object_mut().unwrap().remove("warnings");
    with.as_object_mut().unwrap().remove("warnings");
    assert_eq!(plain, with);
    assert!(
        !fs::read_to_string(ws.p("plain/report.html"))
            .unwrap()
            .contains("Audit ledger")
    );
    assert_eq!(
        fs::read(ws.p("plain/decisions.ndjson")).unwrap(),
        fs::read(ws.p("out/decisions.ndjson")).unwrap()
    );

    // The ledger still verifies, and the traced sign-in ends with the run.
    let v = ws
        .run(&["ledger", "verify", "--db", "audit.db", "--json"])
        .ok();
    let report: Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]), "{report}");
    let trace = ws
        .run(&[
            "ledger", "trace", "--db", "audit.db", "--signin", &traced, "--json",
        ])
        .ok()
        .ndjson();
    let kinds: Vec<&str> = trace.iter().map(kind).collect();
    assert_eq!(kinds, ["signal", "inference", "action", "review", "run"]);
    assert_eq!(seq(trace.last().unwrap()), run_seq);
    // The table view names the run and does not print all 301 refs.
    let table = ws
        .run(&["ledger", "trace", "--db", "audit.db", "--signin", &traced])
        .ok()
        .stdout;
    assert!(table.contains("simulation of 300 sign-ins"), "{table}");
    assert!(table.contains("(+293)"), "{table}");
}

#[test]
fn a_key_not_registered_for_run_is_refused_and_nothing_is_appended() {
    let ws = Ws::new();
    let size = ws.entries().len();
    let out = run_sim(&ws, "out", &["--ledger", "audit.db", "--key", "ingest.key"]).code(2);
    assert!(out.stderr.contains("ingest"), "{}", out.stderr);
    assert!(out.stderr.contains("run"), "{}", out.stderr);
    assert!(
        !ws.p("out/summary.json").exists(),
        "refused before simulating"
    );
    assert_eq!(ws.entries().len(), size, "nothing appended");
    // Both flags or neither.
    let out = run_sim(&ws, "out", &["--ledger", "audit.db"]).code(2);
    assert!(out.stderr.contains("--key"), "{}", out.stderr);
    run_sim(&ws, "out", &["--key", "simulator.key"]).code(2);
    assert_eq!(ws.entries().len(), size, "nothing appended");
}

#[test]
fn a_run_over_an_ingested_table_refs_the_same_signals() {
    let ws = Ws::new();
    let signins = tenant("signins.json");
    ws.run(&[
        "ledger",
        "record",
        "--db",
        "audit.db",
        "--signins",
        &signins,
        "--signal-key",
        "ingest.key",
        "--action-key",
        "ingest.key",
    ])
    .ok();
    ws.run(&["ingest", "--signins", &signins, "--out", "signins.parquet"])
        .ok();
    let policies = tenant("policies-candidate.json");
    // No thresholds: the table is replayed column by column, and the ids are read for the refs.
    ws.run(&[
        "simulate",
        "--signins",
        "signins.parquet",
        "--policies",
        &policies,
        "--out",
        "out",
        "--ledger",
        "audit.db",
        "--key",
        "simulator.key",
    ])
    .ok();
    let entries = ws.entries();
    let run = entries.last().unwrap();
    assert_eq!(kind(run), "run");
    let want: BTreeSet<u64> = entries
        .iter()
        .filter(|e| kind(e) == "signal")
        .map(seq)
        .collect();
    assert_eq!(want.len(), 300);
    let got: BTreeSet<u64> = run["envelope"]["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want, "no policy snapshot on this ledger: signals only");
    let p = &run["payload"];
    assert_eq!(p["signals"]["onLedger"], 300);
    assert_eq!(p["summary"]["signIns"], 300);
    assert_eq!(p["inputs"]["signins"][0]["path"], "signins.parquet");
    assert_eq!(
        p["inputs"]["signins"][0]["sha256"],
        hex::encode(Sha256::digest(fs::read(ws.p("signins.parquet")).unwrap()))
    );
    assert!(p["thresholdsSha256"].is_null());
    assert!(p["inputs"].get("thresholds").is_none());
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(ws.p("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["ledgerRun"]["seq"], seq(run));
    assert_eq!(summary["ledgerRun"]["hash"], run["hash"]);
}
