//! Directory changes on the ledger end to end: `vigil ledger record --audits`, approvals with
//! `vigil review`, `vigil ledger coverage` and `vigil ledger trace --user`, on the sample
//! tenant's audit export (samples/tenant) and on small files written for one case each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use super::harness::Out;
use super::record::Ws;

fn sample(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/tenant")
        .join(name)
        .display()
        .to_string()
}

/// The correlation id of sample change `n` (samples/tenant/generate.py).
fn corr(n: u32) -> String {
    format!("c1000000-0000-4000-8000-{n:012}")
}

fn seq(e: &Value) -> u64 {
    e["seq"].as_u64().unwrap()
}

impl Ws {
    fn record_audits(&self, audits: &[&str], key: &str, extra: &[&str]) -> Out {
        let mut args = vec!["ledger", "record", "--db", "audit.db", "--action-key", key];
        for a in audits {
            args.extend(["--audits", a]);
        }
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// The sample agent's inferences; their seqs in file order (changes 1-6).
    fn sample_inferences(&self) -> Vec<u64> {
        let out = self
            .run(&[
                "ledger",
                "append",
                "--db",
                "audit.db",
                "--key",
                "ai-engine.key",
                "--kind",
                "inference",
                "--input",
                &sample("ai-inferences.ndjson"),
            ])
            .ok();
        out.ndjson().iter().map(seq).collect()
    }

    fn approve(&self, key: &str, seq: u64) -> u64 {
        let out = self
            .run(&[
                "review",
                "--db",
                "audit.db",
                "--key",
                key,
                "--ref",
                &seq.to_string(),
                "--verdict",
                "approved",
                "--reason",
                "checked the contract",
                "--reviewer",
                "kim@contoso.example",
            ])
            .ok();
        out.json()["seq"].as_u64().unwrap()
    }

    /// The recorded change with correlation id `corr`.
    fn change(&self, corr: &str) -> Value {
        self.of_kind("action")
            .into_iter()
            .find(|e| e["envelope"]["subject"]["correlationId"] == corr)
            .unwrap_or_else(|| panic!("no change with correlation id {corr}"))
    }

    fn coverage(&self, config: &str, extra: &[&str]) -> Out {
        let mut args = vec![
            "ledger", "coverage", "--db", "audit.db", "--config", config, "--json",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

/// Gap kind and correlation id of every gap `coverage --json` reported.
fn gaps(ws: &Ws, out: &Out) -> BTreeSet<(String, String)> {
    let changes = ws.of_kind("action");
    out.json()["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let change = changes.iter().find(|e| e["seq"] == g["seq"]).unwrap();
            (
                g["gap"].as_str().unwrap().to_string(),
                change["envelope"]["subject"]["correlationId"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// The sample tenant's story: inferences, two approvals before, the audit export, one
/// approval after the fact.
fn sample_story() -> (Ws, Vec<u64>, [u64; 2]) {
    let ws = Ws::new();
    let inferences = ws.sample_inferences();
    assert_eq!(inferences.len(), 6);
    let before = [
        ws.approve("analyst.key", inferences[1]),
        ws.approve("analyst.key", inferences[3]),
    ];
    let out = ws
        .record_audits(&[&sample("audits.json")], "ingest.key", &[])
        .ok();
    assert!(
        out.stderr.contains(
            "recorded 7 directory changes (6 linked to an inference, 2 to an approval given before)"
        ),
        "{}",
        out.stderr
    );
    (ws, inferences, before)
}

#[test]
fn sample_changes_link_to_their_inference_and_prior_approval() {
    let (ws, inferences, before) = sample_story();
    let entries = ws.entries();
    let hash_of = |s: u64| entries.iter().find(|e| seq(e) == s).unwrap()["hash"].clone();
    // Change 2 refs its inference and the approval given before it, hashes as shown.
    let c2 = ws.change(&corr(2));
    let refs = c2["envelope"]["refs"].as_array().unwrap();
    let want = [inferences[1], before[0]];
    assert_eq!(refs.iter().map(seq).collect::<Vec<_>>(), want);
    for r in refs {
        assert_eq!(r["hash"], hash_of(seq(r)));
    }
    // Change 1 has an inference and no approval; change 7 neither (the agent acted alone).
    assert_eq!(
        ws.change(&corr(1))["envelope"]["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(seq)
            .collect::<Vec<_>>(),
        [inferences[0]]
    );
    assert!(
        ws.change(&corr(7))["envelope"]["refs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The payload keeps who made the change and the old and new values.
    let p = &c2["payload"];
    assert_eq!(p["activity"], "Update user");
    assert_eq!(
        p["initiatedBy"]["app"]["appId"],
        "c0000000-0000-4000-8000-0000000000a1"
    );
    let prop = &p["targetResources"][0]["modifiedProperties"][0];
    assert_eq!(prop["displayName"], "extension_partnerTier");
    assert_eq!(prop["newValue"], "[\"Gold\"]");
    assert!(prop.get("oldValue").is_none());
    assert_eq!(
        c2["envelope"]["subject"]["userId"],
        "a0000000-0000-4000-8000-000000000042"
    );
}

#[test]
fn recording_twice_adds_nothing() {
    let (ws, _, _) = sample_story();
    let size = ws.entries().len();
    let out = ws
        .record_audits(&[&sample("audits.json")], "ingest.key", &[])
        .ok();
    assert!(
        out.stderr.contains("recorded 0 directory changes") && out.stderr.contains("skipped 7"),
        "{}",
        out.stderr
    );
    assert_eq!(ws.entries().len(), size);
}

#[test]
fn coverage_reports_the_sample_gaps_and_exits_1() {
    let (ws, _, _) = sample_story();
    let change5 = seq(&ws.change(&corr(5)));
    ws.approve("analyst.key", change5);
    let out = ws
        .coverage(&sample("governance.toml"), &["--html", "coverage.html"])
        .code(1);
    let want: BTreeSet<(String, String)> = [
        ("approved-after", corr(5)),
        ("not-approved", corr(6)),
        ("no-inference", corr(7)),
    ]
    .into_iter()
    .map(|(g, c)| (g.to_string(), c))
    .collect();
    assert_eq!(gaps(&ws, &out), want);
    let v = out.json();
    assert_eq!(v["verified"], true);
    assert_eq!(v["changes"], 7);
    assert_eq!(v["highStakesChanges"], 4);
    assert_eq!(v["byAgent"]["Partner onboarding agent"]["withGaps"], 3);
    assert_eq!(v["byActivity"]["Add member to group"]["changes"], 3);
    let html = std::fs::read_to_string(ws.p("coverage.html")).unwrap();
    assert!(html.contains("<section id=\"coverage\">"));
    assert!(html.contains(&format!("<td>{change5}</td>")), "{html}");
    // The terminal table names the same gaps.
    let table = ws
        .run(&[
            "ledger",
            "coverage",
            "--db",
            "audit.db",
            "--config",
            &sample("governance.toml"),
        ])
        .code(1);
    for g in ["approved-after", "not-approved", "no-inference"] {
        assert!(table.stdout.contains(g), "{}", table.stdout);
    }
}

#[test]
fn change_never_approved_is_reported_until_approved_after_the_fact() {
    let (ws, inferences, _) = sample_story();
    let out = ws.coverage(&sample("governance.toml"), &[]).code(1);
    let found = gaps(&ws, &out);
    assert!(found.contains(&("not-approved".to_string(), corr(5))));
    assert!(found.contains(&("not-approved".to_string(), corr(6))));
    // After the fact: one approval refs the change, the other the inference behind it.
    ws.approve("analyst.key", seq(&ws.change(&corr(5))));
    ws.approve("analyst.key", inferences[5]);
    let out = ws.coverage(&sample("governance.toml"), &[]).code(1);
    let found = gaps(&ws, &out);
    assert!(
        found.contains(&("approved-after".to_string(), corr(5))),
        "{found:?}"
    );
    assert!(
        found.contains(&("approved-after".to_string(), corr(6))),
        "{found:?}"
    );
}

#[test]
fn coverage_exits_0_when_clean() {
    let (ws, _, _) = sample_story();
    // Before change 5 took effect, every change in the window is covered.
    let out = ws
        .coverage(
            &sample("governance.toml"),
            &["--to", "2026-01-06T10:15:00Z"],
        )
        .ok();
    assert_eq!(out.json()["changes"], 4);
    assert!(out.json()["gaps"].as_array().unwrap().is_empty());
    // A config whose rules none of the changes meet.
    ws.write(
        "clean.toml",
        "[[agents]]\nappId = \"d0000000-0000-4000-8000-000000000001\"\n\n[highStakes]\nroleAssignments = true\n",
    );
    let out = ws.coverage("clean.toml", &[]).ok();
    assert_eq!(out.json()["aiChanges"], 0);
    // Bad input is exit 2, naming the file and the key.
    ws.write("bad.toml", "[highStakes]\ngroup = []\n");
    ws.coverage("bad.toml", &[])
        .input_error(&["bad.toml", "group"]);
    ws.coverage(&sample("governance.toml"), &["--from", "yesterday"])
        .input_error(&["--from", "yesterday"]);
}

#[test]
fn approval_by_the_actor_that_made_the_change_is_reported() {
    let ws = Ws::new();
    // One operator key records the changes and approves them.
    ws.add_key("ops", "action,review");
    let inferences = ws.sample_inferences();
    ws.approve("ops.key", inferences[3]);
    ws.approve("analyst.key", inferences[1]);
    ws.record_audits(&[&sample("audits.json")], "ops.key", &[])
        .ok();
    let out = ws.coverage(&sample("governance.toml"), &[]).code(1);
    let found = gaps(&ws, &out);
    assert!(
        found.contains(&("same-actor".to_string(), corr(4))),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, c)| *c == corr(2)),
        "another reviewer's approval covers change 2: {found:?}"
    );
}

#[test]
fn ref_names_the_inference() {
    let ws = Ws::new();
    let inferences = ws.sample_inferences();
    ws.write(
        "one.json",
        r#"{"id":"Directory_x1","activityDisplayName":"Update user","activityDateTime":"2026-01-07T08:00:00Z","initiatedBy":{"app":{"appId":"c0000000-0000-4000-8000-0000000000a1"}},"targetResources":[]}"#,
    );
    let named = inferences[2].to_string();
    ws.record_audits(&["one.json"], "ingest.key", &["--ref", &named])
        .ok();
    let change = &ws.of_kind("action")[0];
    assert_eq!(seq(&change["envelope"]["refs"][0]), inferences[2]);
    // --ref must name an inference.
    ws.write(
        "two.json",
        r#"{"id":"Directory_x2","activityDisplayName":"Update user","activityDateTime":"2026-01-07T08:00:00Z"}"#,
    );
    ws.record_audits(&["two.json"], "ingest.key", &["--ref", "0"])
        .input_error(&["--ref 0", "inference"]);
}

#[test]
fn malformed_audit_records_name_file_record_and_field() {
    let ws = Ws::new();
    ws.write(
        "page.json",
        "{\"value\":[\n{\"id\":\"a\",\"activityDisplayName\":\"Update user\",\"activityDateTime\":\"2026-01-07T08:00:00Z\"},\n{\"id\":\"b\",\"activityDisplayName\":\"Update user\"}\n]}\n",
    );
    ws.record_audits(&["page.json"], "ingest.key", &[])
        .input_error(&["page.json", "record 2", "activityDateTime"]);
    ws.write(
        "lines.ndjson",
        "{\"id\":\"c\",\"activityDisplayName\":\"x\",\"activityDateTime\":\"2026-01-07T08:00:00Z\"}\n{\"id\":\"d\",\"activityDisplayName\":\"x\",\"activityDateTime\":\"2026-01-07T08:00:00Z\",\"targetResources\":{\"id\":\"t\"}}\n",
    );
    ws.record_audits(&["lines.ndjson"], "ingest.key", &[])
        .input_error(&["lines.ndjson", "record 2 (line 2)", "targetResources"]);
    // A Log Analytics CSV export whose nested column is not JSON.
    ws.write(
        "AuditLogs.csv",
        "TenantId,TimeGenerated [UTC],Id,OperationName,InitiatedBy,TargetResources\nt,2026-01-07T08:00:00Z,e,Update user,{not json,[]\n",
    );
    ws.record_audits(&["AuditLogs.csv"], "ingest.key", &[])
        .input_error(&["AuditLogs.csv", "record 1 (line 2)", "initiatedBy"]);
    // Skipped and counted on request; the good record is recorded.
    let out = ws
        .record_audits(&["page.json"], "ingest.key", &["--skip-bad-records"])
        .ok();
    assert!(
        out.stderr.contains("recorded 1 directory changes"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("1 bad records skipped"),
        "{}",
        out.stderr
    );
    // Neither --signins nor --audits.
    ws.run(&[
        "ledger",
        "record",
        "--db",
        "audit.db",
        "--action-key",
        "ingest.key",
    ])
    .code(2);
}

#[test]
fn log_analytics_and_diagnostic_exports_record() {
    let ws = Ws::new();
    // Log Analytics AuditLogs rows exported as JSON: nested columns as JSON text.
    ws.write(
        "la.json",
        r#"[{"TenantId":"t","TimeGenerated":"2026-01-07T08:00:00Z","Id":"Directory_la1","OperationName":"Add member to group","ActivityDisplayName":"Add member to group","ActivityDateTime":"2026-01-07T07:59:59Z","CorrelationId":"k1","InitiatedBy":"{\"user\":{\"id\":\"u1\",\"userPrincipalName\":\"admin@contoso.example\"}}","TargetResources":"[{\"id\":\"g1\",\"type\":\"Group\",\"modifiedProperties\":[]}]","Type":"AuditLogs"}]"#,
    );
    // Diagnostic-settings records, gzip: one audit and one sign-in record.
    let blob = r#"{"records":[{"time":"2026-01-07T09:00:00Z","operationName":"Update user","category":"AuditLogs","tenantId":"t","correlationId":"k2","properties":{"id":"Directory_d1","activityDisplayName":"Update user","activityDateTime":"2026-01-07T09:00:00Z","initiatedBy":{"app":{"appId":"a1","displayName":"Sync"}},"targetResources":[{"id":"u2","type":"User","modifiedProperties":[{"displayName":"jobTitle","oldValue":"[\"A\"]","newValue":"[\"B\"]"}]}]}},{"time":"2026-01-07T09:00:00Z","operationName":"Sign-in activity","category":"SignInLogs","properties":{"id":"s1"}}]}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(blob.as_bytes()).unwrap();
    std::fs::write(ws.p("PT1H.json.gz"), gz.finish().unwrap()).unwrap();
    let out = ws
        .record_audits(&["la.json", "PT1H.json.gz"], "ingest.key", &[])
        .ok();
    assert!(
        out.stderr.contains("recorded 2 directory changes"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("category SignInLogs"), "{}", out.stderr);
    let changes = ws.of_kind("action");
    let la = &changes[0]["payload"];
    assert_eq!(la["activityDateTime"], "2026-01-07T07:59:59.000Z");
    assert_eq!(
        la["initiatedBy"]["user"]["userPrincipalName"],
        "admin@contoso.example"
    );
    assert_eq!(la["sourceVariant"], "json-array");
    let d = &changes[1]["payload"];
    assert_eq!(d["sourceVariant"], "diagnostic");
    assert_eq!(
        d["targetResources"][0]["modifiedProperties"][0]["oldValue"],
        "[\"A\"]"
    );
    assert_eq!(changes[1]["envelope"]["subject"]["tenantId"], "t");
}

#[test]
fn trace_user_shows_what_concerns_the_user_in_ledger_order() {
    let (ws, inferences, before) = sample_story();
    let upn = "partner42_fabrikam.example#EXT#@contoso.example";
    let by_upn = ws
        .run(&[
            "ledger", "trace", "--db", "audit.db", "--user", upn, "--json",
        ])
        .ok()
        .ndjson();
    let seqs: Vec<u64> = by_upn.iter().map(seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let kinds: BTreeSet<&str> = by_upn
        .iter()
        .map(|e| e["envelope"]["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds
            .iter()
            .all(|k| ["signal", "inference", "action", "review"].contains(k))
    );
    // Partner 42's changes (2, 4, 6), their inferences and the approvals given before.
    for c in [2, 4, 6] {
        assert!(
            seqs.contains(&seq(&ws.change(&corr(c)))),
            "change {c}: {seqs:?}"
        );
    }
    for s in [
        inferences[1],
        inferences[3],
        inferences[5],
        before[0],
        before[1],
    ] {
        assert!(seqs.contains(&s), "{s}: {seqs:?}");
    }
    // Partner 41's changes are not partner 42's.
    assert!(!seqs.contains(&seq(&ws.change(&corr(1)))));
    // The user id finds the same entries.
    let by_id = ws
        .run(&[
            "ledger",
            "trace",
            "--db",
            "audit.db",
            "--user",
            "a0000000-0000-4000-8000-000000000042",
            "--json",
        ])
        .ok()
        .ndjson();
    assert_eq!(by_id.iter().map(seq).collect::<Vec<_>>(), seqs);
}

#[test]
fn coverage_of_a_tampered_ledger_is_a_finding() {
    let (ws, _, _) = sample_story();
    // Hiding the agent behind change 7 would hide its gap; verification catches the edit.
    let change7 = seq(&ws.change(&corr(7)));
    let c = super::tamper::attacker(&ws.p("audit.db"));
    let payload: Vec<u8> = c
        .query_row(
            "SELECT payload FROM payloads WHERE seq = ?1",
            [i64::try_from(change7).unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    let edited = String::from_utf8(payload).unwrap().replace(
        "c0000000-0000-4000-8000-0000000000a1",
        "c0000000-0000-4000-8000-0000000000ff",
    );
    c.execute(
        "UPDATE payloads SET payload = ?1 WHERE seq = ?2",
        rusqlite::params![edited.into_bytes(), i64::try_from(change7).unwrap()],
    )
    .unwrap();
    drop(c);
    let out = ws.coverage(&sample("governance.toml"), &[]).code(1);
    assert_eq!(out.json()["verified"], false);
    assert!(
        out.stderr.contains(&format!("seq {change7}")) && out.stderr.contains("payload-mismatch"),
        "{}",
        out.stderr
    );
}

/// The directoryAudit list example of Microsoft's Graph API reference (List directoryAudits,
/// example 1; docs CC BY 4.0), as published: a `Type` member written in PascalCase.
const GRAPH_DOCS_EXAMPLE: &str = r#"{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditlogs/directoryaudits",
  "value": [{
        "id": "id",
        "category": "UserManagement",
        "correlationId": "da159bfb-54fa-4092-8a38-6e1fa7870e30",
        "result": "success",
        "resultReason": "Successfully added member to group",
        "activityDisplayName": "Add member to group",
        "activityDateTime": "2018-01-09T21:20:02.7215374Z",
        "loggedByService": "Core Directory",
        "initiatedBy": {
            "user": {
                "id": "728309ae-1a37-4937-9afe-e35d964db09b",
                "displayName": "Audry Oliver",
                "userPrincipalName": "bob@wingtiptoysonline.com",
                "ipAddress": "127.0.0.1"
            },
            "app": null
        },
        "targetResources": [{
            "id": "ef7e527d-6c92-4234-8c6d-cf6fdfb57f95",
            "displayName": "Example.com",
            "Type": "Group",
            "modifiedProperties": [{
                "displayName": "Action Client Name",
                "oldValue": null,
                "newValue": "DirectorySync"}],
            "groupType": "unifiedGroups"
            },
            {
            "id": "1f0e98f5-3161-4c6b-9b50-d488572f2bb7",
            "displayName": null,
            "Type": "User",
            "modifiedProperties": [],
            "userPrincipalName": "bob@contoso.com"
        }],
        "additionalDetails": [{
            "key": "Additional Detail Name",
            "value": "Additional Detail Value"
        }]
    }]
}"#;

#[test]
fn the_graph_reference_example_records() {
    let ws = Ws::new();
    ws.write("directoryAudits.json", GRAPH_DOCS_EXAMPLE);
    ws.record_audits(&["directoryAudits.json"], "ingest.key", &[])
        .ok();
    let change = &ws.of_kind("action")[0];
    assert_eq!(change["envelope"]["subject"]["auditId"], "id");
    assert_eq!(
        change["envelope"]["subject"]["userId"],
        "1f0e98f5-3161-4c6b-9b50-d488572f2bb7"
    );
    let p = &change["payload"];
    assert_eq!(p["activityDateTime"], "2018-01-09T21:20:02.721Z");
    assert_eq!(p["targetResources"][0]["type"], "Group");
    assert_eq!(
        p["targetResources"][0]["modifiedProperties"][0]["newValue"],
        "DirectorySync"
    );
    assert_eq!(
        p["initiatedBy"]["user"]["userPrincipalName"],
        "bob@wingtiptoysonline.com"
    );
    assert!(p["initiatedBy"].get("app").is_none());
    assert_eq!(
        p["additionalDetails"][0]["value"],
        "Additional Detail Value"
    );
}
