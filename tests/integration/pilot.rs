//! The report-only pilot and the ledger as an input, end to end: `vigil pilot` on the sample
//! tenant and on a small case worked out by hand, a tampered inference that `verify` reports
//! and `pilot` refuses, `simulate --baseline ledger:DB` picking the policy snapshot in force
//! at each sign-in's time, and `--scores` / `--labels ledger:DB`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fs;

use serde_json::{Value, json};

use super::simulate_ledger::{Ws, tenant};

/// A Graph sign-in record: a member user on a browser, single-factor, with the given outcome.
fn signin(id: &str, time: &str, error: i64, ca: &str, applied: Value, risk: &str) -> Value {
    json!({
        "id": id,
        "createdDateTime": time,
        "userId": "a0000000-0000-4000-8000-000000000001",
        "userPrincipalName": "user1@contoso.example",
        "userType": "member",
        "appId": "6f1c2a9e-3b7d-4c51-9e08-5a2d4c7b8e10",
        "appDisplayName": "Contoso HR",
        "correlationId": format!("c{}", &id[1..]),
        "ipAddress": "203.0.113.5",
        "clientAppUsed": "Browser",
        "isInteractive": true,
        "authenticationRequirement": "singleFactorAuthentication",
        "status": {"errorCode": error},
        "conditionalAccessStatus": ca,
        "appliedConditionalAccessPolicies": applied,
        "riskState": risk,
        "location": {"countryOrRegion": "US"},
        "deviceDetail": {"operatingSystem": "Windows 10", "browser": "Edge 120"}
    })
}

fn applied(id: &str, result: &str) -> Value {
    json!({"id": id, "displayName": id, "result": result, "enforcedGrantControls": []})
}

const S: [&str; 5] = [
    "a1000000-0000-4000-8000-000000000001",
    "a1000000-0000-4000-8000-000000000002",
    "a1000000-0000-4000-8000-000000000003",
    "a1000000-0000-4000-8000-000000000004",
    "a1000000-0000-4000-8000-000000000005",
];

/// Five sign-ins and four AI recommendations (the fifth is not scored):
///
/// | sign-in | logged outcome | report-only (logged) | AI | review | riskState |
/// |---|---|---|---|---|---|
/// | 1 | success (allow) | reportOnlyNotApplied | allow 0.10 | override block | confirmedSafe |
/// | 2 | 50074 (mfa) | reportOnlyInterrupted | mfa 0.80 | dismissed | confirmedCompromised |
/// | 3 | 53003 (block) | reportOnlyFailure | allow 0.20 | - | none |
/// | 4 | notApplied (allow) | reportOnlyFailure | block 0.95 | confirmed | remediated |
/// | 5 | notApplied (allow) | - | - | - | dismissed |
fn hand_case(ws: &Ws) {
    let rows = [
        signin(
            S[0],
            "2026-03-01T09:00:00Z",
            0,
            "success",
            json!([
                applied("ca-mfa", "success"),
                applied("ca-ro", "reportOnlyNotApplied")
            ]),
            "confirmedSafe",
        ),
        signin(
            S[1],
            "2026-03-02T09:00:00Z",
            50074,
            "failure",
            json!([
                applied("ca-mfa", "failure"),
                applied("ca-ro", "reportOnlyInterrupted")
            ]),
            "confirmedCompromised",
        ),
        signin(
            S[2],
            "2026-03-03T09:00:00Z",
            53003,
            "failure",
            json!([
                applied("ca-block", "failure"),
                applied("ca-ro", "reportOnlyFailure")
            ]),
            "none",
        ),
        signin(
            S[3],
            "2026-03-04T09:00:00Z",
            0,
            "notApplied",
            json!([applied("ca-ro", "reportOnlyFailure")]),
            "remediated",
        ),
        signin(
            S[4],
            "2026-03-05T09:00:00Z",
            0,
            "notApplied",
            json!([]),
            "dismissed",
        ),
    ];
    ws.write("signins.json", &json!({ "value": rows }).to_string());
    let scores = [
        (S[0], 0.10, "allow"),
        (S[1], 0.80, "mfa"),
        (S[2], 0.20, "allow"),
        (S[3], 0.95, "block"),
    ]
    .iter()
    .map(|(id, score, action)| {
        json!({"signInId": id, "score": score, "recommendedAction": action,
               "reasoning": format!("engine reasoning for {id}")})
        .to_string()
    })
    .collect::<Vec<_>>()
    .join("\n");
    ws.write("scores.ndjson", &scores);
    ws.record("signins.json", "scores.ndjson");
    let seq = |i: usize| ws.inference_of(S[i])["seq"].as_u64().unwrap();
    ws.review(seq(0), "override", &["--action", "block"]);
    ws.review(seq(1), "dismissed", &[]);
    ws.review(seq(3), "confirmed", &[]);
}

fn row(m: &Value, ai: &str) -> [u64; 4] {
    let r = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ai"] == ai)
        .unwrap();
    ["allow", "mfa", "block", "indeterminate"].map(|c| r[c].as_u64().unwrap())
}

#[test]
fn pilot_figures_on_a_hand_computed_case() {
    let ws = Ws::new();
    hand_case(&ws);
    let p = ws.run(&["pilot", "--db", "audit.db", "--json"]).ok().json();
    assert_eq!(p["ledger"]["ok"], true);
    assert_eq!(
        (p["signIns"].as_u64(), p["withRecommendation"].as_u64()),
        (Some(5), Some(4))
    );
    // Against what Conditional Access did: 1 and 2 agree; 3 (blocked, AI allow) and 4
    // (allowed, AI block) do not.
    let a = &p["vsActual"];
    assert_eq!(
        (a["agree"].as_u64(), a["compared"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(row(a, "allow"), [1, 0, 1, 0]);
    assert_eq!(row(a, "mfa"), [0, 1, 0, 0]);
    assert_eq!(row(a, "block"), [1, 0, 0, 0]);
    // Against the logged report-only results: only 3 disagrees.
    let r = &p["vsReportOnly"];
    assert_eq!(
        (r["agree"].as_u64(), r["compared"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(row(r, "allow"), [1, 0, 1, 0]);
    assert_eq!(
        p["enforcement"],
        json!({"promptsAdded": 0, "promptsRemoved": 0, "blocksAdded": 1, "blocksRemoved": 1})
    );
    // Reviews: 1 overridden to block (positive, not flagged: FN), 2 dismissed (flagged: FP),
    // 4 confirmed (flagged: TP), 3 unreviewed.
    let v = &p["vsReviews"];
    assert_eq!(
        ["tp", "fp", "fn", "tn", "unlabeled"].map(|k| v[k].as_u64().unwrap()),
        [1, 1, 1, 0, 1]
    );
    assert_eq!(
        (v["precision"].as_f64(), v["recall"].as_f64()),
        (Some(0.5), Some(0.5))
    );
    // riskState: 1 safe and not flagged (TN), 2 and 4 compromised and flagged (TP).
    let l = &p["vsRiskState"];
    assert_eq!(
        ["tp", "fp", "fn", "tn", "unlabeled"].map(|k| l[k].as_u64().unwrap()),
        [2, 0, 0, 1, 1]
    );
    let d = p["disagreements"].as_array().unwrap();
    let ids: Vec<&str> = d.iter().map(|d| d["signInId"].as_str().unwrap()).collect();
    assert_eq!(ids, [S[2], S[3]]);
    assert_eq!(
        d[0]["aiReasoning"],
        format!("engine reasoning for {}", S[2])
    );
    assert_eq!(d[0]["actual"], "block");
    assert_eq!(
        d[0]["reportOnlyReasons"],
        json!(["ca-ro: reportOnlyFailure"])
    );

    // The pilot period: only sign-ins 3 and 4.
    let p = ws
        .run(&[
            "pilot",
            "--db",
            "audit.db",
            "--json",
            "--from",
            "2026-03-03T00:00:00Z",
            "--to",
            "2026-03-05T00:00:00Z",
        ])
        .ok()
        .json();
    assert_eq!(p["signIns"], 2);
    assert_eq!(p["vsActual"]["agree"], 0);

    // Verified from a trusted checkpoint: the same figures, only the entries after it checked.
    let whole = ws.run(&["pilot", "--db", "audit.db", "--json"]).ok().json();
    let cp = ws
        .run(&["ledger", "checkpoint", "--db", "audit.db"])
        .ok()
        .stdout;
    ws.write("cp.txt", &cp);
    let size = whole["ledger"]["size"].as_u64().unwrap();
    let from_cp = ws
        .run(&[
            "pilot",
            "--db",
            "audit.db",
            "--json",
            "--checkpoint",
            "cp.txt",
        ])
        .ok()
        .json();
    assert_eq!(from_cp["ledger"]["verifiedFrom"], size);
    for k in [
        "vsActual",
        "vsReportOnly",
        "enforcement",
        "vsReviews",
        "vsRiskState",
    ] {
        assert_eq!(from_cp[k], whole[k], "{k}");
    }

    // Bad flags are input errors naming the flag.
    ws.run(&["pilot", "--db", "audit.db", "--from", "last week"])
        .input_error(&["--from", "last week"]);
    ws.write("enforced.json", &block_all("p-mfa", "mfa").to_string());
    ws.run(&["pilot", "--db", "audit.db", "--policies", "enforced.json"])
        .input_error(&["--policies", "report-only"]);

    // The terminal tables and the HTML page carry the same figures.
    let out = ws
        .run(&["pilot", "--db", "audit.db", "--html", "pilot.html"])
        .ok();
    assert!(out.stdout.contains("agreement: 2 of 4"), "{}", out.stdout);
    assert!(out.stdout.contains("blocks +1 -1"), "{}", out.stdout);
    let html = fs::read_to_string(ws.p("pilot.html")).unwrap();
    assert!(html.contains("<section id=\"pilot\">") && html.contains(S[3]));
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "self-contained"
    );
}

#[test]
fn a_tampered_inference_fails_verify_and_pilot_refuses_the_ledger() {
    let ws = Ws::new();
    hand_case(&ws);
    let checkpoint = ws
        .run(&["ledger", "checkpoint", "--db", "audit.db"])
        .ok()
        .stdout;
    ws.write("cp.txt", &checkpoint);
    let victim = ws.inference_of(S[3])["seq"].as_u64().unwrap();
    {
        let c = super::tamper::attacker(&ws.p("audit.db"));
        let payload: Vec<u8> = c
            .query_row(
                "SELECT payload FROM payloads WHERE seq = ?1",
                [i64::try_from(victim).unwrap()],
                |r| r.get(0),
            )
            .unwrap();
        let edited = String::from_utf8(payload)
            .unwrap()
            .replacen("\"block\"", "\"allow\"", 1);
        c.execute(
            "UPDATE payloads SET payload = ?1 WHERE seq = ?2",
            rusqlite::params![edited.as_bytes(), i64::try_from(victim).unwrap()],
        )
        .unwrap();
    }
    let v = ws
        .run(&["ledger", "verify", "--db", "audit.db", "--json"])
        .code(1);
    assert_eq!(v.json()["first_bad_seq"], victim);
    // Refused, with the finding, whether verified from the start or from the checkpoint.
    for extra in [&[][..], &["--checkpoint", "cp.txt"][..]] {
        let mut args = vec!["pilot", "--db", "audit.db"];
        args.extend_from_slice(extra);
        let out = ws.run(&args).code(1);
        assert!(
            out.stdout.contains("FAILED") && out.stdout.contains(&victim.to_string()),
            "{}",
            out.stdout
        );
        assert!(!out.stdout.contains("agreement"), "nothing compared");
    }
    let out = ws
        .run(&["pilot", "--db", "audit.db", "--json"])
        .code(1)
        .json();
    assert_eq!(out["ledger"]["first_bad_seq"], victim);
    // As an input of sweep and simulate, a ledger that does not verify is an input error.
    ws.run(&["sweep", "--scores", "ledger:audit.db"])
        .input_error(&["--scores ledger:audit.db", &format!("#{victim}")]);
    ws.write("mfa.json", &block_all("p-mfa", "mfa").to_string());
    replay_mfa(&ws, "signins.json", "out")
        .input_error(&["--baseline ledger:audit.db", &format!("#{victim}")]);
    assert!(!ws.p("out/decisions.ndjson").exists(), "nothing simulated");
}

/// The lines of `dir/decisions.ndjson`.
fn decisions_of(ws: &Ws, dir: &str) -> Vec<Value> {
    fs::read_to_string(ws.p(&format!("{dir}/decisions.ndjson")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn block_all(id: &str, grant: &str) -> Value {
    json!([{
        "id": id, "displayName": id, "state": "enabled",
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeApplications": ["All"]},
            "clientAppTypes": ["all"]
        },
        "grantControls": {"operator": "OR", "builtInControls": [grant]}
    }])
}

/// `simulate` of `signins` against mfa.json with the ledger's snapshots as the baseline.
fn replay_mfa(ws: &Ws, signins: &str, out: &str) -> super::harness::Out {
    ws.run(&[
        "simulate",
        "--signins",
        signins,
        "--policies",
        "mfa.json",
        "--baseline",
        "ledger:audit.db",
        "--out",
        out,
    ])
}

#[test]
fn baseline_ledger_replays_each_signin_against_the_snapshot_in_force() {
    let ws = Ws::new();
    ws.write("block.json", &block_all("p-block", "block").to_string());
    ws.write("mfa.json", &block_all("p-mfa", "mfa").to_string());
    // Recorded out of time order: the mfa set (February) before the block set (January).
    ws.record_policies("mfa.json", &["--effective-from", "2026-02-01T00:00:00Z"]);
    ws.record_policies("block.json", &["--effective-from", "2026-01-01T00:00:00Z"]);
    let times = [
        "2025-12-15T09:00:00Z",
        "2026-01-15T09:00:00Z",
        "2026-02-15T09:00:00Z",
    ];
    let rows: Vec<Value> = times
        .iter()
        .enumerate()
        .map(|(i, t)| signin(S[i], t, 0, "notApplied", json!([]), "none"))
        .collect();
    ws.write("signins.json", &json!({ "value": rows }).to_string());
    let out = replay_mfa(&ws, "signins.json", "out").ok();
    assert!(
        out.stderr
            .contains("1 sign-ins precede the first policy snapshot"),
        "{}",
        out.stderr
    );
    let decisions = decisions_of(&ws, "out");
    let base: Vec<(&str, &str)> = decisions
        .iter()
        .map(|d| {
            (
                d["baseline"]["status"].as_str().unwrap(),
                d["baseline"]["policies"][0]["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        base,
        [
            ("indeterminate", "vigil-ledger-baseline"),
            ("failure", "p-block"),
            ("interrupted", "p-mfa"),
        ]
    );
    let reason = decisions[0]["baseline"]["policies"][0]["reasons"][0]
        .as_str()
        .unwrap();
    assert!(reason.contains("2026-01-01T00:00:00Z"), "{reason}");
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(ws.p("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["baselineBeforeFirstSnapshot"], 1);
    assert_eq!(summary["transitions"]["failure -> interrupted"], 1);

    // Normalized Parquet input takes the row-by-row replay and gives the same decisions.
    ws.run(&[
        "ingest",
        "--signins",
        "signins.json",
        "--out",
        "signins.parquet",
    ])
    .ok();
    replay_mfa(&ws, "signins.parquet", "from-parquet").ok();
    let again = decisions_of(&ws, "from-parquet");
    assert_eq!(
        again.iter().map(|d| &d["baseline"]).collect::<Vec<_>>(),
        decisions.iter().map(|d| &d["baseline"]).collect::<Vec<_>>()
    );

    // A ledger with no policy snapshot is an input error naming it.
    let empty = Ws::new();
    empty.write("signins.json", &json!({ "value": rows }).to_string());
    empty.write("mfa.json", &block_all("p-mfa", "mfa").to_string());
    replay_mfa(&empty, "signins.json", "out").input_error(&["audit.db", "no policy snapshots"]);
}

#[test]
fn end_to_end_on_the_sample_tenant() {
    let ws = Ws::new();
    let signins = tenant("signins.json");
    // score -> record -> policy snapshot -> simulate with thresholds from the ledger.
    ws.run(&["score", "--signins", &signins, "--out", "scores.csv"])
        .ok();
    ws.record(&signins, "scores.csv");
    ws.record_policies(
        &tenant("policies-current.json"),
        &["--effective-from", "2020-01-01T00:00:00Z"],
    );
    let simulate = |out: &str, baseline: &str, scores: &str, ledger: bool| {
        let mut args = vec![
            "simulate".to_string(),
            "--signins".into(),
            signins.clone(),
            "--policies".into(),
            tenant("policies-candidate.json"),
            "--named-locations".into(),
            tenant("named-locations.json"),
            "--directory".into(),
            tenant("directory.json"),
            "--thresholds".into(),
            tenant("thresholds.toml"),
            "--baseline".into(),
            baseline.into(),
            "--scores".into(),
            scores.into(),
            "--out".into(),
            out.into(),
        ];
        if ledger {
            args.extend(["--ledger", "audit.db", "--key", "simulator.key"].map(String::from));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ws.run(&args).ok();
        let s: Value = serde_json::from_str(
            &fs::read_to_string(ws.p(&format!("{out}/summary.json"))).unwrap(),
        )
        .unwrap();
        s
    };
    let from_ledger = simulate("from-ledger", "ledger:audit.db", "ledger:audit.db", true);
    let from_files = simulate(
        "from-files",
        &tenant("policies-current.json"),
        "scores.csv",
        false,
    );
    // The ledger's snapshot and inferences replay exactly as the files they were recorded from.
    for side in ["candidate", "baseline"] {
        assert_eq!(from_ledger[side], from_files[side], "{side}");
    }
    assert_eq!(from_ledger["transitions"], from_files["transitions"]);
    assert!(from_ledger["ledgerRun"]["seq"].is_u64());

    // Review two flagged inferences: one confirmed, one dismissed.
    let flagged: Vec<Value> = ws
        .of_kind("inference")
        .into_iter()
        .filter(|e| {
            matches!(
                e["payload"]["recommendedAction"].as_str(),
                Some("mfa" | "block")
            )
        })
        .collect();
    assert!(flagged.len() >= 2);
    let confirmed = &flagged[0];
    ws.review(confirmed["seq"].as_u64().unwrap(), "confirmed", &[]);
    ws.review(flagged[1]["seq"].as_u64().unwrap(), "dismissed", &[]);

    let p = ws
        .run(&[
            "pilot",
            "--db",
            "audit.db",
            "--json",
            "--policies",
            &tenant("policies-candidate.json"),
            "--named-locations",
            &tenant("named-locations.json"),
            "--directory",
            &tenant("directory.json"),
        ])
        .ok()
        .json();
    assert_eq!(p["signIns"], 300);
    assert_eq!(p["reportOnlySource"], "policies");
    let cells: u64 = p["vsActual"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            ["allow", "mfa", "block", "indeterminate"]
                .map(|c| r[c].as_u64().unwrap())
                .iter()
                .sum::<u64>()
        })
        .sum();
    assert_eq!(cells, p["withRecommendation"].as_u64().unwrap());
    let v = &p["vsReviews"];
    assert_eq!((v["tp"].as_u64(), v["fp"].as_u64()), (Some(1), Some(1)));
    // riskState figures, counted here from the export and the recorded recommendations.
    let doc: Value = serde_json::from_str(&fs::read_to_string(&signins).unwrap()).unwrap();
    let risk: HashMap<String, String> = doc["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["riskState"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect();
    let mut want = [0u64; 4]; // tp, fp, fn, tn
    for e in ws.of_kind("inference") {
        let flag = matches!(
            e["payload"]["recommendedAction"].as_str(),
            Some("mfa" | "block")
        );
        let id = e["envelope"]["subject"]["signInId"].as_str().unwrap();
        let label = match risk[id].as_str() {
            "confirmedCompromised" | "remediated" => Some(true),
            "confirmedSafe" | "dismissed" => Some(false),
            _ => None,
        };
        match (flag, label) {
            (true, Some(true)) => want[0] += 1,
            (true, Some(false)) => want[1] += 1,
            (false, Some(true)) => want[2] += 1,
            (false, Some(false)) => want[3] += 1,
            _ => {}
        }
    }
    let l = &p["vsRiskState"];
    assert_eq!(
        ["tp", "fp", "fn", "tn"].map(|k| l[k].as_u64().unwrap()),
        want
    );

    // Labels and scores from the ledger for the sweep: the two reviews label two sign-ins.
    let s = ws
        .run(&[
            "sweep",
            "--scores",
            "ledger:audit.db",
            "--labels",
            "ledger:audit.db",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        (
            s["items"].as_u64(),
            s["positives"].as_u64(),
            s["negatives"].as_u64()
        ),
        (Some(300), Some(1), Some(1))
    );

    ws.run(&["ledger", "verify", "--db", "audit.db"]).ok();
    let id = confirmed["envelope"]["subject"]["signInId"]
        .as_str()
        .unwrap();
    let trace = ws
        .run(&[
            "ledger", "trace", "--db", "audit.db", "--signin", id, "--json",
        ])
        .ok()
        .ndjson();
    let kinds: Vec<&str> = trace
        .iter()
        .map(|e| e["envelope"]["kind"].as_str().unwrap())
        .collect();
    for k in ["signal", "inference", "action", "review", "run"] {
        assert!(kinds.contains(&k), "{k} missing from the trace: {kinds:?}");
    }
}
