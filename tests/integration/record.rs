//! Recording exports on the ledger end to end: `vigil ledger record`, `vigil review`,
//! `vigil ledger record-policies` and `vigil ledger trace --signin`, run as the real binary in a
//! scratch folder. Assertions are on what a user sees: exit codes, the stderr summary, and the
//! entries as `vigil ledger show` prints them (refs checked against the hashes shown there).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::harness::Out;

const ORIGIN: &str = "contoso.example/vigil";

pub(crate) struct Ws {
    dir: tempfile::TempDir,
}

impl Ws {
    /// A ledger with producers ingest (signal, action), ai-engine (inference), analyst (review).
    pub(crate) fn new() -> Ws {
        let ws = Ws {
            dir: tempfile::tempdir().unwrap(),
        };
        ws.run(&["ledger", "init", "--db", "audit.db", "--origin", ORIGIN])
            .ok();
        for (name, kinds) in [
            ("ingest", "signal,action"),
            ("ai-engine", "inference"),
            ("analyst", "review"),
        ] {
            ws.add_key(name, kinds);
        }
        ws
    }

    pub(crate) fn add_key(&self, name: &str, kinds: &str) {
        self.run(&[
            "key",
            "generate",
            "--name",
            name,
            "--out",
            &format!("{name}.key"),
        ])
        .ok();
        self.run(&[
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

    pub(crate) fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(crate) fn write(&self, rel: &str, text: &str) {
        fs::write(self.p(rel), text).unwrap();
    }

    pub(crate) fn run(&self, args: &[&str]) -> Out {
        super::harness::vigil(self.dir.path(), args)
    }

    /// `vigil ledger record` with the usual keys and `extra` flags.
    fn record(&self, signins: &[&str], scores: Option<&str>, extra: &[&str]) -> Out {
        let mut args = vec!["ledger", "record", "--db", "audit.db"];
        for s in signins {
            args.extend(["--signins", s]);
        }
        if let Some(s) = scores {
            args.extend(["--scores", s, "--inference-key", "ai-engine.key"]);
        }
        args.extend(["--signal-key", "ingest.key", "--action-key", "ingest.key"]);
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Every entry as `vigil ledger show` prints it.
    pub(crate) fn entries(&self) -> Vec<Value> {
        self.run(&["ledger", "show", "--db", "audit.db"])
            .ok()
            .ndjson()
    }

    pub(crate) fn of_kind(&self, kind: &str) -> Vec<Value> {
        self.entries()
            .into_iter()
            .filter(|e| e["envelope"]["kind"] == kind)
            .collect()
    }

    pub(crate) fn verify(&self) -> (i32, Value) {
        let out = self.run(&["ledger", "verify", "--db", "audit.db", "--json"]);
        assert!(out.code <= 1, "verify failed to run: {}", out.stderr);
        (out.code, serde_json::from_str(&out.stdout).unwrap())
    }
}

fn seq(e: &Value) -> u64 {
    e["seq"].as_u64().unwrap()
}

fn signin_id(e: &Value) -> &str {
    e["envelope"]["subject"]["signInId"].as_str().unwrap()
}

/// `(seq, hash)` of each ref of an entry.
fn refs(e: &Value) -> Vec<(u64, String)> {
    e["envelope"]["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["seq"].as_u64().unwrap(),
                r["hash"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn sid(n: u32) -> String {
    format!("51000000-0000-4000-8000-{n:012}")
}

/// A Graph signIn object: sign-in `n`, correlation `c`, with a logged CA outcome.
fn signin(n: u32, corr: &str, ca: &str) -> Value {
    json!({
        "id": sid(n),
        "createdDateTime": format!("2026-01-05T10:{n:02}:00Z"),
        "userId": format!("a0000000-0000-4000-8000-{n:012}"),
        "userPrincipalName": format!("user{n}@contoso.example"),
        "appId": "00000003-0000-0ff1-ce00-000000000000",
        "appDisplayName": "Office 365 SharePoint Online",
        "ipAddress": "203.0.113.7",
        "clientAppUsed": "Browser",
        "correlationId": corr,
        "resourceTenantId": "5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47",
        "conditionalAccessStatus": ca,
        "status": {"errorCode": if ca == "failure" { 53003 } else { 0 }},
        "location": {"countryOrRegion": "DE"},
        "appliedConditionalAccessPolicies": [
            {"id": "p-1", "displayName": "Require MFA", "result": if ca == "failure" { "failure" } else { "success" },
             "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": []}
        ],
    })
}

fn graph_page(items: &[Value]) -> String {
    json!({ "value": items }).to_string()
}

/// Three sign-ins; scores for #1 by sign-in id and for #3 by correlation id (#2 unscored).
fn three_signins(ws: &Ws) {
    ws.write(
        "signins.json",
        &graph_page(&[
            signin(1, "c-1", "success"),
            signin(2, "c-2", "notApplied"),
            signin(3, "c-3", "failure"),
        ]),
    );
    ws.write(
        "scores.csv",
        &format!(
            "signInId,correlationId,score,riskLevel,reasoning,recommendedAction,model,modelVersion\n\
             {},,91,high,impossible travel,block,contoso-risk,2.3\n\
             ,c-3,12,low,usual device,allow,contoso-risk,2.3\n",
            sid(1)
        ),
    );
}

#[test]
fn record_twice_adds_nothing_and_refs_point_to_each_signins_signal() {
    let ws = Ws::new();
    three_signins(&ws);
    let first = ws.record(&["signins.json"], Some("scores.csv"), &[]).ok();
    assert!(
        first
            .stderr
            .contains("recorded 3 signals, 2 inferences, 3 actions; skipped 0 already recorded"),
        "{}",
        first.stderr
    );
    let size = ws.entries().len();
    assert_eq!(size, 4 + 8, "init, three keys, then 3 + 2 + 3 entries");

    let again = ws.record(&["signins.json"], Some("scores.csv"), &[]).ok();
    assert!(
        again
            .stderr
            .contains("recorded 0 signals, 0 inferences, 0 actions; skipped 8 already recorded"),
        "{}",
        again.stderr
    );
    assert_eq!(ws.entries().len(), size, "the second run appended nothing");

    let signals = ws.of_kind("signal");
    let signal_of = |id: &str| {
        signals
            .iter()
            .find(|s| signin_id(s) == id)
            .unwrap_or_else(|| panic!("no signal for {id}"))
    };
    // The signal's payload is the normalized record; its subject holds ids only.
    let s1 = signal_of(&sid(1));
    assert_eq!(s1["payload"]["userPrincipalName"], "user1@contoso.example");
    assert_eq!(s1["payload"]["country"], "DE");
    assert_eq!(s1["envelope"]["actor"], "ingest");
    assert_eq!(s1["envelope"]["subject"]["correlationId"], "c-1");
    assert!(s1["envelope"]["subject"].get("userPrincipalName").is_none());

    let inferences = ws.of_kind("inference");
    assert_eq!(inferences.len(), 2);
    for inf in &inferences {
        let sig = signal_of(signin_id(inf));
        assert_eq!(
            refs(inf),
            [(seq(sig), sig["hash"].as_str().unwrap().to_string())],
            "the inference refs its own sign-in's signal"
        );
        assert_eq!(inf["envelope"]["actor"], "ai-engine");
    }
    let inf1 = inferences.iter().find(|e| signin_id(e) == sid(1)).unwrap();
    assert_eq!(
        inf1["payload"]["score"], 0.91,
        "0-100 scores are stored on 0-1"
    );
    assert_eq!(inf1["payload"]["riskLevel"], "high");
    assert_eq!(inf1["payload"]["reasoning"], "impossible travel");
    assert_eq!(inf1["payload"]["recommendedAction"], "block");
    assert_eq!(inf1["payload"]["model"], "contoso-risk 2.3");
    let inf3 = inferences.iter().find(|e| signin_id(e) == sid(3)).unwrap();
    assert_eq!(inf3["payload"]["scoredBy"], "correlationId");

    let actions = ws.of_kind("action");
    assert_eq!(actions.len(), 3);
    for act in &actions {
        let id = signin_id(act);
        let sig = signal_of(id);
        let mut want = vec![(seq(sig), sig["hash"].as_str().unwrap().to_string())];
        if let Some(inf) = inferences.iter().find(|e| signin_id(e) == id) {
            want.push((seq(inf), inf["hash"].as_str().unwrap().to_string()));
        }
        assert_eq!(
            refs(act),
            want,
            "the action of {id} refs its signal and inference"
        );
    }
    let a3 = actions.iter().find(|e| signin_id(e) == sid(3)).unwrap();
    assert_eq!(a3["payload"]["conditionalAccessStatus"], "failure");
    assert_eq!(a3["payload"]["errorCode"], 53003);
    assert_eq!(
        a3["payload"]["appliedConditionalAccessPolicies"][0]["result"],
        "failure"
    );
    assert_eq!(ws.verify().0, 0);
}

#[test]
fn a_grown_export_and_its_normalized_parquet_record_only_what_is_new() {
    let ws = Ws::new();
    ws.write("day1.json", &graph_page(&[signin(1, "c-1", "success")]));
    ws.write(
        "day2.json",
        &graph_page(&[signin(2, "c-2", "success"), signin(3, "c-3", "failure")]),
    );
    ws.record(&["day1.json"], None, &[]).ok();
    // The same sign-ins normalized to Parquet are the same sign-ins.
    ws.run(&[
        "ingest",
        "--signins",
        "day1.json",
        "--signins",
        "day2.json",
        "--out",
        "all.parquet",
    ])
    .ok();
    let out = ws.record(&["all.parquet"], None, &[]).ok();
    assert!(
        out.stderr
            .contains("recorded 2 signals, 0 inferences, 2 actions; skipped 2 already recorded"),
        "{}",
        out.stderr
    );
    let ids: Vec<String> = ws
        .of_kind("signal")
        .iter()
        .map(|e| signin_id(e).to_string())
        .collect();
    assert_eq!(ids, [sid(1), sid(2), sid(3)]);
}

#[test]
fn a_bad_record_stops_after_whole_batches_and_a_rerun_completes() {
    let ws = Ws::new();
    let mut bad = signin(3, "c-3", "success");
    bad["createdDateTime"] = json!("yesterday");
    let good: Vec<Value> = (1..=4)
        .map(|n| signin(n, &format!("c-{n}"), "success"))
        .collect();
    let mut items = good.clone();
    items[2] = bad;
    ws.write(
        "signins.ndjson",
        &items.iter().map(|v| format!("{v}\n")).collect::<String>(),
    );
    let out = ws
        .record(&["signins.ndjson"], None, &["--batch", "2"])
        .code(2);
    assert!(out.stderr.contains("signins.ndjson"), "{}", out.stderr);
    assert!(out.stderr.contains("line 3"), "{}", out.stderr);
    assert!(out.stderr.contains("createdDateTime"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("recorded 2 signals, 0 inferences, 2 actions"),
        "the batch before the bad line is committed, nothing after it: {}",
        out.stderr
    );
    assert_eq!(ws.of_kind("signal").len(), 2);
    assert_eq!(ws.of_kind("action").len(), 2);

    ws.write(
        "signins.ndjson",
        &good.iter().map(|v| format!("{v}\n")).collect::<String>(),
    );
    let rerun = ws.record(&["signins.ndjson"], None, &["--batch", "2"]).ok();
    assert!(
        rerun
            .stderr
            .contains("recorded 2 signals, 0 inferences, 2 actions; skipped 4 already recorded"),
        "{}",
        rerun.stderr
    );
    assert_eq!(ws.of_kind("signal").len(), 4);
    assert_eq!(ws.verify().0, 0);
}

#[test]
fn bad_scores_are_refused_before_anything_is_recorded() {
    let ws = Ws::new();
    three_signins(&ws);
    ws.write(
        "bad.csv",
        &format!("signInId,score\n{},0.4\n{},1.7\n", sid(1), sid(2)),
    );
    let out = ws.record(&["signins.json"], Some("bad.csv"), &[]).code(2);
    assert!(out.stderr.contains("bad.csv"), "{}", out.stderr);
    assert!(out.stderr.contains("score"), "{}", out.stderr);
    assert_eq!(ws.entries().len(), 4, "nothing recorded");
}

#[test]
fn inferences_are_signed_only_by_the_ai_engines_own_key() {
    let ws = Ws::new();
    three_signins(&ws);
    // An operator's key, even one the registry lets sign inferences, never signs one.
    ws.add_key("ops", "inference,action");
    let mut args = vec![
        "ledger",
        "record",
        "--db",
        "audit.db",
        "--signins",
        "signins.json",
        "--scores",
        "scores.csv",
        "--signal-key",
        "ingest.key",
        "--action-key",
        "ingest.key",
        "--inference-key",
    ];
    let before = ws.entries().len();
    for (key, says) in [
        ("ops.key", "operator's key"),
        ("analyst.key", "may sign only [review], not `inference`"),
        (
            "ingest.key",
            "may sign only [signal, action], not `inference`",
        ),
    ] {
        args.push(key);
        let out = ws.run(&args).code(2);
        assert!(out.stderr.contains(says), "{key}: {}", out.stderr);
        assert!(out.stderr.contains("--inference-key"), "{}", out.stderr);
        args.pop();
    }
    // The signal key must be allowed to sign signals.
    let out = ws
        .run(&[
            "ledger",
            "record",
            "--db",
            "audit.db",
            "--signins",
            "signins.json",
            "--signal-key",
            "ai-engine.key",
            "--action-key",
            "ingest.key",
        ])
        .code(2);
    assert!(out.stderr.contains("--signal-key"), "{}", out.stderr);
    assert!(out.stderr.contains("not `signal`"), "{}", out.stderr);
    assert_eq!(ws.entries().len(), before, "nothing was recorded");
}

#[test]
fn an_edited_inference_makes_verify_fail_at_its_seq() {
    let ws = Ws::new();
    three_signins(&ws);
    ws.record(&["signins.json"], Some("scores.csv"), &[]).ok();
    let target = ws
        .of_kind("inference")
        .into_iter()
        .find(|e| signin_id(e) == sid(1))
        .unwrap();
    {
        let conn = rusqlite::Connection::open(ws.p("audit.db")).unwrap();
        conn.execute_batch("DROP TRIGGER payloads_no_update")
            .unwrap();
        let n = conn
            .execute(
                "UPDATE payloads SET payload = CAST(replace(CAST(payload AS TEXT), '0.91', '0.19') AS BLOB) WHERE seq = ?1",
                [seq(&target) as i64],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let (code, report) = ws.verify();
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["first_bad_seq"], seq(&target), "{report}");
    assert_eq!(
        report["findings"][0]["code"], "payload-mismatch",
        "{report}"
    );
}

fn review(ws: &Ws, key: &str, at: u64, verdict: &str, extra: &[&str]) -> Out {
    let at = at.to_string();
    let mut args = vec![
        "review",
        "--db",
        "audit.db",
        "--key",
        key,
        "--ref",
        &at,
        "--verdict",
        verdict,
        "--reason",
        "checked with the user",
    ];
    args.extend_from_slice(extra);
    ws.run(&args)
}

#[test]
fn reviews_judge_only_the_kinds_their_verdict_is_for() {
    let ws = Ws::new();
    three_signins(&ws);
    ws.record(&["signins.json"], Some("scores.csv"), &[]).ok();
    let signal = seq(&ws.of_kind("signal")[0]);
    let inference = ws.of_kind("inference")[0].clone();
    let action = seq(&ws.of_kind("action")[0]);
    let before = ws.entries().len();

    for (at, verdict, says) in [
        (signal, "confirmed", "is of kind `signal`"),
        (action, "dismissed", "is of kind `action`"),
        (signal, "approved", "is of kind `signal`"),
        (signal, "override", "judges an inference or an action"),
        (action, "approved", "is neither"),
        (999, "confirmed", "no such entry"),
    ] {
        let out = review(&ws, "analyst.key", at, verdict, &[]).code(2);
        assert!(
            out.stderr.contains(says),
            "{verdict} on #{at}: {}",
            out.stderr
        );
    }
    let out = review(
        &ws,
        "analyst.key",
        seq(&inference),
        "confirmed",
        &["--action", "block"],
    )
    .code(2);
    assert!(out.stderr.contains("--verdict override"), "{}", out.stderr);
    // The AI engine's key may not sign a human review.
    let out = review(&ws, "ai-engine.key", seq(&inference), "confirmed", &[]).code(2);
    assert!(out.stderr.contains("not `review`"), "{}", out.stderr);
    assert_eq!(ws.entries().len(), before, "nothing was recorded");

    let ack = review(
        &ws,
        "analyst.key",
        seq(&inference),
        "confirmed",
        &["--reviewer", "kim@contoso.example"],
    )
    .ok()
    .ndjson();
    let r = ws.of_kind("review").pop().unwrap();
    assert_eq!(seq(&r), ack[0]["seq"].as_u64().unwrap());
    assert_eq!(
        refs(&r),
        [(
            seq(&inference),
            inference["hash"].as_str().unwrap().to_string()
        )]
    );
    assert_eq!(r["envelope"]["actor"], "analyst");
    assert_eq!(r["envelope"]["subject"], inference["envelope"]["subject"]);
    assert_eq!(r["payload"]["verdict"], "confirmed");
    assert_eq!(r["payload"]["reviewer"], "kim@contoso.example");
    review(
        &ws,
        "analyst.key",
        action,
        "override",
        &["--action", "block"],
    )
    .ok();
    let o = ws.of_kind("review").pop().unwrap();
    assert_eq!(o["payload"]["action"], "block");

    // A pending action (written by a producer that asks first) can be approved.
    let pending = json!({
        "subject": {"signInId": sid(9)},
        "payload": {"status": "pending", "recommendedAction": "block"},
    });
    let out = assert_cmd::Command::cargo_bin("vigil")
        .unwrap()
        .current_dir(ws.p("."))
        .args([
            "ledger",
            "append",
            "--db",
            "audit.db",
            "--key",
            "ingest.key",
            "--kind",
            "action",
        ])
        .write_stdin(format!("{pending}\n"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let pending_seq: Value = serde_json::from_slice(&out.stdout).unwrap();
    review(
        &ws,
        "analyst.key",
        pending_seq["seq"].as_u64().unwrap(),
        "approved",
        &[],
    )
    .ok();
    assert_eq!(ws.verify().0, 0);
}

#[test]
fn trace_by_signin_shows_signal_inference_action_reviews_and_runs_in_order() {
    let ws = Ws::new();
    three_signins(&ws);
    ws.add_key("simulator", "run");
    ws.record(&["signins.json"], Some("scores.csv"), &[]).ok();
    let inf = ws
        .of_kind("inference")
        .into_iter()
        .find(|e| signin_id(e) == sid(1))
        .unwrap();
    review(&ws, "analyst.key", seq(&inf), "confirmed", &[]).ok();
    // A run that used the signals of sign-ins 1 and 2.
    let signals = ws.of_kind("signal");
    let run_refs: Vec<Value> = signals[..2]
        .iter()
        .map(|s| json!({"seq": seq(s), "hash": s["hash"]}))
        .collect();
    let run = json!({"subject": {}, "refs": run_refs, "payload": {"summary": {"changed": 1}}});
    let out = assert_cmd::Command::cargo_bin("vigil")
        .unwrap()
        .current_dir(ws.p("."))
        .args([
            "ledger",
            "append",
            "--db",
            "audit.db",
            "--key",
            "simulator.key",
            "--kind",
            "run",
        ])
        .write_stdin(format!("{run}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let trace = ws
        .run(&[
            "ledger",
            "trace",
            "--db",
            "audit.db",
            "--signin",
            &sid(1),
            "--json",
        ])
        .ok()
        .ndjson();
    let kinds: Vec<&str> = trace
        .iter()
        .map(|e| e["envelope"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signal", "inference", "action", "review", "run"]);
    let seqs: Vec<u64> = trace.iter().map(seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in seq order: {seqs:?}"
    );
    assert_eq!(seq(&trace[1]), seq(&inf));
    // The run also used sign-in 2's signal, which is not part of sign-in 1's trace.
    assert!(
        trace
            .iter()
            .all(|e| e["envelope"]["kind"] == "run" || signin_id(e) == sid(1)),
        "{trace:?}"
    );
    // Case does not matter in a sign-in id; the table shows the same entries in order.
    let table = ws
        .run(&[
            "ledger",
            "trace",
            "--db",
            "audit.db",
            "--signin",
            &sid(1).to_uppercase(),
        ])
        .ok()
        .stdout;
    let at = |w: &str| {
        table
            .find(w)
            .unwrap_or_else(|| panic!("{w} missing:\n{table}"))
    };
    assert!(at("signal") < at("inference"));
    assert!(at("inference") < at("action"));
    assert!(at("action") < at("review"));
    assert!(at("review") < at("run"));
    assert!(table.contains("score 0.91"), "{table}");
    assert!(table.contains("confirmed"), "{table}");
}

#[test]
fn the_sample_tenant_records_every_signin_and_score() {
    let ws = Ws::new();
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tenant");
    let signins = tenant.join("signins.json");
    let scores = tenant.join("scores.csv");
    let (signins, scores) = (signins.to_str().unwrap(), scores.to_str().unwrap());
    let out = ws.record(&[signins], Some(scores), &[]).ok();
    assert!(
        out.stderr.contains(
            "recorded 300 signals, 300 inferences, 300 actions; skipped 0 already recorded"
        ),
        "{}",
        out.stderr
    );
    let again = ws.record(&[signins], Some(scores), &["--batch", "7"]).ok();
    assert!(
        again
            .stderr
            .contains("recorded 0 signals, 0 inferences, 0 actions; skipped 900 already recorded"),
        "{}",
        again.stderr
    );
    assert_eq!(ws.verify().0, 0);
}

#[test]
fn policy_snapshots_are_recorded_when_the_set_changes() {
    let ws = Ws::new();
    ws.add_key("ca-admin", "policy");
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tenant");
    let current = fs::read_to_string(tenant.join("policies-current.json")).unwrap();
    let candidate = fs::read_to_string(tenant.join("policies-candidate.json")).unwrap();
    ws.write("policies.json", &current);
    let snap = |extra: &[&str]| {
        let mut args = vec![
            "ledger",
            "record-policies",
            "--db",
            "audit.db",
            "--key",
            "ca-admin.key",
            "--policies",
            "policies.json",
        ];
        args.extend_from_slice(extra);
        ws.run(&args)
    };
    snap(&["--effective-from", "2026-01-01T00:00:00Z"]).ok();
    let again = snap(&[]).ok();
    assert!(again.stderr.contains("identical"), "{}", again.stderr);
    assert_eq!(ws.of_kind("policy").len(), 1);
    let p = &ws.of_kind("policy")[0];
    assert_eq!(p["payload"]["effectiveFrom"], "2026-01-01T00:00:00.000000Z");
    let n = p["payload"]["policies"].as_array().unwrap().len();
    assert!(n > 0);
    assert_eq!(
        p["envelope"]["subject"]["policySetSha256"],
        p["payload"]["sha256"]
    );

    ws.write("policies.json", &candidate);
    snap(&[]).ok();
    ws.write("policies.json", &current);
    snap(&[]).ok();
    let policies = ws.of_kind("policy");
    assert_eq!(policies.len(), 3, "a change, then back: both recorded");
    assert_eq!(
        policies[0]["payload"]["sha256"], policies[2]["payload"]["sha256"],
        "the same set has the same hash"
    );
    assert_ne!(
        policies[0]["payload"]["sha256"],
        policies[1]["payload"]["sha256"]
    );

    let out = ws
        .run(&[
            "ledger",
            "record-policies",
            "--db",
            "audit.db",
            "--key",
            "analyst.key",
            "--policies",
            "policies.json",
        ])
        .code(2);
    assert!(out.stderr.contains("not `policy`"), "{}", out.stderr);
    ws.write("broken.json", "[{\"id\": 1}]");
    let out = ws
        .run(&[
            "ledger",
            "record-policies",
            "--db",
            "audit.db",
            "--key",
            "ca-admin.key",
            "--policies",
            "broken.json",
        ])
        .code(2);
    assert!(out.stderr.contains("broken.json"), "{}", out.stderr);
    assert_eq!(ws.of_kind("policy").len(), 3);
}

/// The numbers of a `recorded N signals, M inferences, K actions; skipped X ...` line.
fn summary_numbers(stderr: &str) -> [u64; 4] {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("recorded "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    nums.try_into().unwrap()
}

#[test]
fn two_producers_recording_the_same_export_at_once_record_it_once() {
    let ws = Ws::new();
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tenant");
    let signins = tenant.join("signins.json");
    let scores = tenant.join("scores.csv");
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("vigil"))
            .current_dir(ws.p("."))
            .args(["ledger", "record", "--db", "audit.db", "--batch", "16"])
            .arg("--signins")
            .arg(&signins)
            .arg("--scores")
            .arg(&scores)
            .args([
                "--signal-key",
                "ingest.key",
                "--inference-key",
                "ai-engine.key",
                "--action-key",
                "ingest.key",
            ])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut added = 0;
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{stderr}");
        let [s, i, act, skipped] = summary_numbers(&stderr);
        assert_eq!(s + i + act + skipped, 900, "{stderr}");
        added += s + i + act;
    }
    assert_eq!(added, 900, "between them, every entry once");
    assert_eq!(ws.entries().len(), 4 + 900);
    assert_eq!(ws.verify().0, 0);
}

#[test]
fn help_names_the_recording_commands() {
    let ws = Ws::new();
    let ledger = ws.run(&["ledger", "--help"]).ok().stdout;
    for cmd in ["record ", "record-policies "] {
        assert!(ledger.contains(cmd), "{cmd}: {ledger}");
    }
    assert!(ws.run(&["--help"]).ok().stdout.contains("review "));
    let record = ws.run(&["ledger", "record", "--help"]).ok().stdout;
    for flag in [
        "--signins",
        "--scores",
        "--signal-key",
        "--inference-key",
        "--action-key",
        "--batch",
    ] {
        assert!(record.contains(flag), "{flag}: {record}");
    }
    let review = ws.run(&["review", "--help"]).ok().stdout;
    for word in [
        "confirmed",
        "dismissed",
        "approved",
        "rejected",
        "override",
        "--reviewer",
    ] {
        assert!(review.contains(word), "{word}: {review}");
    }
}

#[test]
fn a_score_for_no_signin_of_the_export_is_a_warning_and_is_not_recorded() {
    let ws = Ws::new();
    three_signins(&ws);
    ws.write(
        "scores.csv",
        &format!("signInId,score\n{},0.4\n{},0.7\n", sid(1), sid(77)),
    );
    let out = ws.record(&["signins.json"], Some("scores.csv"), &[]).ok();
    assert!(
        out.stderr
            .contains("scores.csv: 1 score(s) name no sign-in"),
        "{}",
        out.stderr
    );
    let inferences = ws.of_kind("inference");
    assert_eq!(inferences.len(), 1);
    assert_eq!(signin_id(&inferences[0]), sid(1));
}

/// Each non-key entry of the ledger, one line each: seq, kind, actor, the seqs it refs, and
/// digests of its subject (`member=value` lines) and of its stored canonical payload bytes.
/// Everything an entry holds except what differs from run to run (time, salt, keys, and the
/// hashes and commitments that depend on them).
fn entry_digests(db: &Path) -> Vec<String> {
    use sha2::{Digest as _, Sha256};
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT e.seq, e.envelope, p.payload FROM entries e JOIN payloads p ON p.seq = e.seq
             ORDER BY e.seq",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .unwrap();
    let short = |bytes: &[u8]| hex::encode(&Sha256::digest(bytes)[..16]);
    let mut out = Vec::new();
    for row in rows {
        let (seq, envelope, payload) = row.unwrap();
        let env: Value = serde_json::from_slice(&envelope).unwrap();
        if env["kind"] == "key" {
            continue;
        }
        let subject: String = env["subject"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}\n", v.as_str().unwrap()))
            .collect();
        let refs: Vec<String> = env["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].to_string())
            .collect();
        out.push(format!(
            "{seq} {} {} refs={} subject={} payload={}",
            env["kind"].as_str().unwrap(),
            env["actor"].as_str().unwrap(),
            refs.join(","),
            short(subject.as_bytes()),
            short(&payload),
        ));
    }
    out
}

/// The entries `record` writes for the sample tenant's sign-ins, scores and directory audits
/// (in batches of 64 and 3) are those an earlier vigil wrote from the same input, byte for
/// byte in everything but time, salt and keys: same order, kinds, signers, subjects, refs and
/// canonical payloads (tests/integration/fixtures/record-tenant-entries.txt, written by the
/// version before `record` prepared its batches ahead of the ledger).
#[test]
fn recorded_entries_match_those_an_earlier_version_wrote_from_the_same_input() {
    let ws = Ws::new();
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tenant");
    let path = |name: &str| tenant.join(name).to_str().unwrap().to_string();
    let (signins, scores, audits) = (
        path("signins.json"),
        path("scores.csv"),
        path("audits.json"),
    );
    ws.record(&[&signins], Some(&scores), &["--batch", "64"])
        .ok();
    // The audits carry out the first batch's first inference (seq 68).
    ws.run(&[
        "ledger",
        "record",
        "--db",
        "audit.db",
        "--audits",
        &audits,
        "--action-key",
        "ingest.key",
        "--ref",
        "68",
        "--batch",
        "3",
    ])
    .ok();
    let want = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/integration/fixtures/record-tenant-entries.txt"),
    )
    .unwrap();
    let want: Vec<&str> = want.lines().collect();
    let got = entry_digests(&ws.p("audit.db"));
    assert_eq!(got.len(), want.len(), "entries recorded");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "first entry that differs");
    }
    assert_eq!(ws.verify().0, 0);
}
