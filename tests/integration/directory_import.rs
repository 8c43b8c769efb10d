//! `vigil directory import` and the optional snapshots of `vigil simulate` (`--user-risk`,
//! `--devices`), end to end: Graph-shaped exports in, the decisions a user reads out, and the
//! exit code 2 with file, record and field for malformed exports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::harness::Out;

const ALICE: &str = "0a6f3e2d-1b9c-4e87-a5d4-62c1f0e9b873";
const CAROL: &str = "2c805f4e-3d1e-40a9-87f6-84e3b2a1d095";
const SALES: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const EMEA: &str = "a1a1a1a1-0000-4000-8000-000000000002";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const SURFACE: &str = "6e1c3b2a-90d8-4f7e-a6b5-c4d3e2f1a0b9";
const THINKPAD: &str = "7f2d4c3b-a1e9-4a8f-b7c6-d5e4f3a2b1c0";

struct Ws {
    dir: tempfile::TempDir,
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

    fn write(&self, rel: &str, v: &Value) {
        let p = self.p(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(p, v.to_string()).unwrap();
    }

    fn run(&self, args: &[&str]) -> Out {
        super::harness::vigil(self.dir.path(), args)
    }

    /// Candidate status per sign-in id, from `out/decisions.ndjson`.
    fn statuses(&self, out: &str) -> Vec<(String, String)> {
        let text = fs::read_to_string(self.p(out).join("decisions.ndjson")).unwrap();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["signInId"].as_str().unwrap().to_string(),
                    v["candidate"]["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn simulate(&self, out: &str, extra: &[&str]) -> Vec<(String, String)> {
        let mut args = vec![
            "simulate",
            "--signins",
            "signins.json",
            "--policies",
            "policies.json",
            "--baseline",
            "none",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        self.run(&args).code(0);
        self.statuses(out)
    }
}

/// A successful interactive browser sign-in to Exchange Online, as Graph exports it.
fn signin(id: &str, user: &str, upn: &str, time: &str, device: Option<&str>) -> Value {
    json!({
        "id": id, "createdDateTime": time, "correlationId": format!("c-{id}"),
        "userId": user, "userPrincipalName": upn, "userType": "Member",
        "homeTenantId": "t1", "resourceTenantId": "t1", "crossTenantAccessType": "none",
        "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appDisplayName": "Azure Portal",
        "resourceId": EXCHANGE, "resourceDisplayName": "Office 365 Exchange Online",
        "ipAddress": "203.0.113.24", "clientAppUsed": "Browser", "isInteractive": true,
        "signInEventTypes": ["interactiveUser"],
        "location": {"countryOrRegion": "US", "city": "Redmond", "state": "Washington"},
        "deviceDetail": {"deviceId": device.unwrap_or(""), "displayName": "", "operatingSystem": "Windows 10",
                         "browser": "Edge 120.0.0", "isCompliant": false, "isManaged": false,
                         "trustType": if device.is_some() { "Azure AD joined" } else { "" }},
        "status": {"errorCode": 0}, "conditionalAccessStatus": "notApplied",
        "authenticationRequirement": "singleFactorAuthentication",
        "riskLevelDuringSignIn": "none", "riskState": "none", "appliedConditionalAccessPolicies": []
    })
}

fn block_policy(extra_conditions: Value) -> Value {
    let mut conditions = json!({
        "users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["All"]},
        "clientAppTypes": ["all"]
    });
    for (k, v) in extra_conditions.as_object().unwrap() {
        conditions[k] = v.clone();
    }
    json!([{"id": "p1", "displayName": "Block", "state": "enabled", "conditions": conditions,
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}}])
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn directory_import_round_trip_resolves_group_conditions() {
    let ws = Ws::new();
    ws.write(
        "export/users.json",
        &json!({"value": [
            {"id": CAROL, "userPrincipalName": "carol@contoso.com", "userType": "Member"},
            {"id": ALICE, "userPrincipalName": "alice@contoso.com", "userType": "Member"}
        ]}),
    );
    ws.write(
        "export/groups.json",
        &json!({"value": [{"id": SALES, "displayName": "Sales"}, {"id": EMEA, "displayName": "EMEA"}]}),
    );
    ws.write(
        &format!("export/members/{SALES}.json"),
        &json!({"value": [{"@odata.type": "#microsoft.graph.group", "id": EMEA},
                          {"@odata.type": "#microsoft.graph.user", "id": ALICE}]}),
    );
    ws.write(
        &format!("export/members/{EMEA}.json"),
        &json!({"value": [{"@odata.type": "#microsoft.graph.user", "id": ALICE}]}),
    );
    ws.write(
        "export/roleAssignments.json",
        &json!({"value": [{"id": "ra1", "principalId": CAROL, "roleDefinitionId": GLOBAL_ADMIN,
                            "directoryScopeId": "/"}]}),
    );
    let out = ws
        .run(&[
            "directory",
            "import",
            "--users",
            "export/users.json",
            "--groups",
            "export/groups.json",
            "--group-members",
            "export/members",
            "--role-members",
            "export/roleAssignments.json",
            "--out",
            "directory.json",
        ])
        .code(0);
    assert!(
        out.stderr
            .contains("warning: the directory snapshot shows group membership and roles as they are at export time (today), not at each sign-in's time"),
        "{}",
        out.stderr
    );
    let written = fs::read_to_string(ws.p("directory.json")).unwrap();
    let got: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        got,
        json!({"users": [
            {"id": ALICE, "userPrincipalName": "alice@contoso.com", "userType": "Member",
             "groups": [SALES, EMEA], "roles": []},
            {"id": CAROL, "userPrincipalName": "carol@contoso.com", "userType": "Member",
             "groups": [], "roles": [GLOBAL_ADMIN]}
        ]})
    );
    // The same inputs give the same bytes.
    ws.run(&[
        "directory",
        "import",
        "--users",
        "export/users.json",
        "--groups",
        "export/groups.json",
        "--group-members",
        "export/members",
        "--role-members",
        "export/roleAssignments.json",
        "--out",
        "directory2.json",
    ])
    .code(0);
    assert_eq!(
        fs::read_to_string(ws.p("directory2.json")).unwrap(),
        written
    );

    // Simulate a policy on the nested group EMEA, and one on the role.
    ws.write(
        "signins.json",
        &json!({"value": [
            signin("s-alice", ALICE, "alice@contoso.com", "2026-01-05T11:00:00Z", None),
            signin("s-carol", CAROL, "carol@contoso.com", "2026-01-05T11:00:00Z", None)
        ]}),
    );
    ws.write(
        "policies.json",
        &block_policy(json!({"users": {"includeGroups": [EMEA]}})),
    );
    assert_eq!(
        ws.simulate("bare", &[]),
        pairs(&[("s-alice", "indeterminate"), ("s-carol", "indeterminate")])
    );
    assert_eq!(
        ws.simulate("with", &["--directory", "directory.json"]),
        pairs(&[("s-alice", "failure"), ("s-carol", "notApplied")])
    );
    ws.write(
        "policies.json",
        &block_policy(json!({"users": {"includeRoles": [GLOBAL_ADMIN]}})),
    );
    assert_eq!(
        ws.simulate("roles", &["--directory", "directory.json"]),
        pairs(&[("s-alice", "notApplied"), ("s-carol", "failure")])
    );
}

#[test]
fn user_risk_snapshot_decides_user_risk_policies() {
    let ws = Ws::new();
    ws.write(
        "risk/history.json",
        &json!({"value": [
            {"id": ALICE, "userId": ALICE, "userPrincipalName": "alice@contoso.com",
             "riskLevel": "none", "riskState": "dismissed", "riskDetail": "adminDismissedAllRiskForUser",
             "riskLastUpdatedDateTime": "2026-01-05T12:00:00Z"},
            {"id": ALICE, "userId": ALICE, "userPrincipalName": "alice@contoso.com",
             "riskLevel": "high", "riskState": "atRisk", "riskDetail": "none",
             "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"}
        ]}),
    );
    ws.write(
        "signins.json",
        &json!([
            signin(
                "early",
                ALICE,
                "alice@contoso.com",
                "2026-01-05T09:00:00Z",
                None
            ),
            signin(
                "during",
                ALICE,
                "alice@contoso.com",
                "2026-01-05T11:00:00Z",
                None
            ),
            signin(
                "after",
                ALICE,
                "alice@contoso.com",
                "2026-01-05T13:00:00Z",
                None
            ),
            signin(
                "carol",
                CAROL,
                "carol@contoso.com",
                "2026-01-05T11:00:00Z",
                None
            )
        ]),
    );
    ws.write(
        "policies.json",
        &block_policy(json!({"userRiskLevels": ["high"]})),
    );
    assert_eq!(
        ws.simulate("bare", &[]),
        pairs(&[
            ("early", "indeterminate"),
            ("during", "indeterminate"),
            ("after", "indeterminate"),
            ("carol", "indeterminate")
        ])
    );
    assert_eq!(
        ws.simulate("with", &["--user-risk", "risk"]),
        pairs(&[
            ("early", "indeterminate"),
            ("during", "failure"),
            ("after", "notApplied"),
            ("carol", "indeterminate")
        ])
    );
    assert_eq!(
        ws.simulate("complete", &["--user-risk", "risk", "--user-risk-complete"]),
        pairs(&[
            ("early", "notApplied"),
            ("during", "failure"),
            ("after", "notApplied"),
            ("carol", "notApplied")
        ])
    );
    ws.run(&[
        "simulate",
        "--signins",
        "signins.json",
        "--policies",
        "policies.json",
        "--user-risk-complete",
        "--out",
        "x",
    ])
    .code(2);
}

#[test]
fn device_snapshot_decides_device_filters() {
    let ws = Ws::new();
    ws.write(
        "devices.json",
        &json!({"value": [
            {"id": "o1", "deviceId": SURFACE, "displayName": "SAW-0042", "model": "Surface Laptop 5",
             "manufacturer": "Microsoft Corporation", "isManaged": true, "isCompliant": true,
             "trustType": "AzureAd", "extensionAttributes": {"extensionAttribute1": "SAW"}},
            {"id": "o2", "deviceId": THINKPAD, "model": "ThinkPad X1 Carbon", "manufacturer": "LENOVO"}
        ]}),
    );
    ws.write(
        "signins.json",
        &json!([
            signin(
                "surface",
                ALICE,
                "alice@contoso.com",
                "2026-01-05T11:00:00Z",
                Some(SURFACE)
            ),
            signin(
                "thinkpad",
                ALICE,
                "alice@contoso.com",
                "2026-01-05T11:00:00Z",
                Some(THINKPAD)
            )
        ]),
    );
    ws.write(
        "policies.json",
        &block_policy(json!({"devices": {"deviceFilter": {"mode": "include",
                                                           "rule": "device.model -startsWith \"Surface\""}}})),
    );
    assert_eq!(
        ws.simulate("bare", &[]),
        pairs(&[("surface", "indeterminate"), ("thinkpad", "indeterminate")])
    );
    assert_eq!(
        ws.simulate("with", &["--devices", "devices.json"]),
        pairs(&[("surface", "failure"), ("thinkpad", "notApplied")])
    );
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(ws.p("with/summary.json")).unwrap()).unwrap();
    assert!(
        summary["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("not as they were at each sign-in's time")),
        "{summary}"
    );
}

fn assert_names(out: &Out, parts: &[&str]) {
    for p in parts {
        assert!(
            out.stderr.contains(p),
            "stderr lacks {p:?}:\n{}",
            out.stderr
        );
    }
}

#[test]
fn malformed_snapshots_exit_2_naming_file_record_and_field() {
    let ws = Ws::new();
    ws.write(
        "signins.json",
        &json!([signin(
            "s1",
            ALICE,
            "alice@contoso.com",
            "2026-01-05T11:00:00Z",
            None
        )]),
    );
    ws.write("policies.json", &block_policy(json!({})));
    ws.write(
        "risk.json",
        &json!([{"userId": ALICE, "riskLevel": "high", "riskState": "atRisk",
                 "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"},
                {"userId": CAROL, "riskLevel": "extreme", "riskState": "atRisk",
                 "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"}]),
    );
    let out = ws
        .run(&[
            "simulate",
            "--signins",
            "signins.json",
            "--policies",
            "policies.json",
            "--user-risk",
            "risk.json",
            "--out",
            "o",
        ])
        .code(2);
    assert_names(
        &out,
        &[
            "risk.json",
            "record 1 (userId 2c805f4e-3d1e-40a9-87f6-84e3b2a1d095)",
            "field riskLevel",
        ],
    );
    ws.write(
        "devices.json",
        &json!({"value": [{"deviceId": SURFACE, "extensionAttributes": {"extensionAttribute7": 7}}]}),
    );
    let out = ws
        .run(&[
            "simulate",
            "--signins",
            "signins.json",
            "--policies",
            "policies.json",
            "--devices",
            "devices.json",
            "--out",
            "o",
        ])
        .code(2);
    assert_names(
        &out,
        &[
            "devices.json",
            "record 0 (deviceId 6e1c3b2a-90d8-4f7e-a6b5-c4d3e2f1a0b9)",
            "field extensionAttributes.extensionAttribute7",
        ],
    );
    // directory import: a group with only direct members, and a users file that is not JSON.
    ws.write(
        "users.json",
        &json!([{"id": ALICE, "userPrincipalName": "alice@contoso.com", "userType": "Member"}]),
    );
    ws.write(
        "groups.json",
        &json!([{"id": SALES, "members": [{"id": ALICE}]}]),
    );
    let import = |ws: &Ws| {
        ws.run(&[
            "directory",
            "import",
            "--users",
            "users.json",
            "--groups",
            "groups.json",
            "--out",
            "directory.json",
        ])
    };
    let out = import(&ws).code(2);
    assert_names(
        &out,
        &[
            "groups.json",
            "record 0 (id a1a1a1a1-0000-4000-8000-000000000001)",
            "field transitiveMembers",
        ],
    );
    assert!(!Path::new(&ws.p("directory.json")).exists());
    fs::write(ws.p("users.json"), "[{\"id\": \"x\",}]").unwrap();
    let out = import(&ws).code(2);
    assert_names(&out, &["users.json", "line 1", "invalid JSON"]);
}
