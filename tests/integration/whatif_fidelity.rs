//! `vigil whatif` and `vigil fidelity` end to end: exit codes, the terminal tables, the JSON
//! reports and the fidelity.json file, on synthetic policies and sign-ins and on the public
//! samples (tests that need `shared/data/external` print a notice and pass when it is absent).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::harness::Out;

const USER: &str = "0a6f3e2d-1b9c-4e87-a5d4-62c1f0e9b873";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const BLOCK: &str = "10000000-0000-0000-0000-000000000001";
const MFA: &str = "10000000-0000-0000-0000-000000000002";
const PLATFORM: &str = "10000000-0000-0000-0000-000000000003";

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

    fn write(&self, rel: &str, text: &str) {
        fs::write(self.p(rel), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Out {
        super::harness::vigil(self.dir.path(), args)
    }
}

fn policy(id: &str, name: &str, conditions: Value, grant: Value) -> Value {
    json!({"id": id, "displayName": name, "state": "enabled", "conditions": conditions,
           "grantControls": grant})
}

fn everyone() -> Value {
    json!({"users": {"includeUsers": ["All"]},
           "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]})
}

fn block_all() -> Value {
    policy(
        BLOCK,
        "Block everything",
        everyone(),
        json!({"operator": "OR", "builtInControls": ["block"]}),
    )
}

fn mfa_all() -> Value {
    policy(
        MFA,
        "Require MFA",
        everyone(),
        json!({"operator": "OR", "builtInControls": ["mfa"]}),
    )
}

fn block_android() -> Value {
    let mut c = everyone();
    c["platforms"] = json!({"includePlatforms": ["android"]});
    policy(
        PLATFORM,
        "Block Android",
        c,
        json!({"operator": "OR", "builtInControls": ["block"]}),
    )
}

fn external() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/external");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "notice: {} is absent; skipping a test on the public samples",
            dir.display()
        );
        None
    }
}

// ---------------------------------------------------------------------------------------------
// whatif
// ---------------------------------------------------------------------------------------------

#[test]
fn whatif_block_all_is_a_failure() {
    let ws = Ws::new();
    ws.write("p.json", &json!([block_all()]).to_string());
    let out = ws
        .run(&["whatif", "--policies", "p.json", "--user", USER])
        .code(0);
    assert!(out.stdout.contains("Block everything"), "{}", out.stdout);
    assert!(out.stdout.contains("status: failure"), "{}", out.stdout);
    let v = ws
        .run(&["whatif", "--policies", "p.json", "--user", USER, "--json"])
        .code(0)
        .json();
    assert_eq!(v["decision"]["status"], "failure");
    assert_eq!(v["decision"]["policies"][0]["result"], "failure");
    assert_eq!(v["decision"]["policies"][0]["id"], BLOCK);
    assert!(
        v["decision"]["policies"][0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "grant: block access")
    );
    assert_eq!(v["signIn"]["userId"], USER);
    assert_eq!(v["signIn"]["operatingSystem"], Value::Null);
}

#[test]
fn whatif_mfa_not_done_in_a_browser_is_interrupted() {
    let ws = Ws::new();
    ws.write("p.json", &json!({"value": [mfa_all()]}).to_string());
    let args = [
        "whatif",
        "--policies",
        "p.json",
        "--user",
        USER,
        "--app",
        EXCHANGE,
        "--client-app",
        "Browser",
        "--platform",
        "windows",
        "--mfa-done",
        "false",
    ];
    let out = ws.run(&args).code(0);
    assert!(out.stdout.contains("status: interrupted"), "{}", out.stdout);
    assert!(out.stdout.contains("controls: mfa"), "{}", out.stdout);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v = ws.run(&json_args).code(0).json();
    assert_eq!(v["decision"]["status"], "interrupted");
    assert_eq!(v["decision"]["controls"], json!(["mfa"]));
    // Enforced policies that prompt report `failure` (contract).
    assert_eq!(v["decision"]["policies"][0]["result"], "failure");
    // With MFA done the same sign-in passes.
    let mut done = args.to_vec();
    *done.last_mut().unwrap() = "true";
    done.push("--json");
    let v = ws.run(&done).code(0).json();
    assert_eq!(v["decision"]["status"], "success");
    // A legacy client cannot do MFA: blocked.
    let mut legacy = args.to_vec();
    legacy[8] = "IMAP4";
    legacy.push("--json");
    let v = ws.run(&legacy).code(0).json();
    assert_eq!(v["decision"]["status"], "failure");
}

#[test]
fn whatif_unspecified_platform_is_listed_as_undecided() {
    let ws = Ws::new();
    ws.write("p.json", &json!([block_android()]).to_string());
    let out = ws
        .run(&["whatif", "--policies", "p.json", "--user", USER])
        .code(0);
    assert!(out.stdout.contains("indeterminate"), "{}", out.stdout);
    assert!(
        out.stdout.contains("undecided: device platform"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("--platform or --os"), "{}", out.stdout);
    let v = ws
        .run(&["whatif", "--policies", "p.json", "--user", USER, "--json"])
        .code(0)
        .json();
    assert_eq!(v["decision"]["policies"][0]["result"], "indeterminate");
    assert!(
        v["decision"]["policies"][0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("undecided:")),
        "{v}"
    );
    assert_eq!(v["undecided"][0]["signal"], "device platform");
    assert_eq!(v["undecided"][0]["policies"], json!([PLATFORM]));
    // Deciding it: an iPhone is not Android.
    let v = ws
        .run(&[
            "whatif",
            "--policies",
            "p.json",
            "--user",
            USER,
            "--os",
            "iOS 17.2",
            "--json",
        ])
        .code(0)
        .json();
    assert_eq!(v["decision"]["policies"][0]["result"], "notApplied");
    assert_eq!(v["undecided"], json!([]));
}

#[test]
fn whatif_resolves_a_upn_through_the_directory() {
    let ws = Ws::new();
    let mut p = mfa_all();
    p["conditions"]["users"] = json!({"includeGroups": ["g-admins"]});
    ws.write("p.json", &json!([p]).to_string());
    ws.write(
        "dir.json",
        &json!({"users": [{"id": USER, "userPrincipalName": "ada@contoso.example",
                           "userType": "Member", "groups": ["g-admins"], "roles": []}]})
        .to_string(),
    );
    let v = ws
        .run(&[
            "whatif",
            "--policies",
            "p.json",
            "--directory",
            "dir.json",
            "--user",
            "Ada@Contoso.example",
            "--client-app",
            "browser",
            "--mfa-done",
            "false",
            "--json",
        ])
        .code(0)
        .json();
    assert_eq!(v["signIn"]["userId"], USER);
    assert_eq!(v["decision"]["status"], "interrupted");
    let out = ws
        .run(&[
            "whatif",
            "--policies",
            "p.json",
            "--directory",
            "dir.json",
            "--user",
            "bob@contoso.example",
        ])
        .code(2);
    assert!(out.stderr.contains("bob@contoso.example"), "{}", out.stderr);
}

#[test]
fn whatif_usage_errors_exit_2() {
    let ws = Ws::new();
    ws.write("p.json", &json!([block_all()]).to_string());
    for (args, needle) in [
        (vec!["--client-app", "browsr"], "--client-app"),
        (vec!["--ip", "10.0.0.300"], "--ip"),
        (vec!["--mfa-done", "maybe"], "--mfa-done"),
        (vec!["--platform", "windows", "--os", "Windows 10"], "--os"),
    ] {
        let mut all = vec!["whatif", "--policies", "p.json", "--user", USER];
        all.extend(args);
        let out = ws.run(&all).code(2);
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    let out = ws
        .run(&["whatif", "--policies", "missing.json", "--user", USER])
        .code(2);
    assert!(out.stderr.contains("missing.json"), "{}", out.stderr);
}

#[test]
fn whatif_on_the_j0eyv_baseline() {
    let Some(ext) = external() else { return };
    let policies = ext.join("j0eyv-cabaseline/ConditionalAccess");
    let ws = Ws::new();
    let v = ws
        .run(&[
            "whatif",
            "--policies",
            policies.to_str().unwrap(),
            "--user",
            USER,
            "--client-app",
            "Browser",
            "--json",
        ])
        .code(0)
        .json();
    assert_eq!(v["decision"]["policies"].as_array().unwrap().len(), 36);
    // Legacy authentication is blocked by CA002; a browser is not legacy.
    let ca002 = v["decision"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA002"))
        .unwrap();
    assert_eq!(ca002["result"], "notApplied");
    assert!(!v["undecided"].as_array().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// fidelity
// ---------------------------------------------------------------------------------------------

/// A Graph signIn record in NDJSON.
fn graph_signin(id: &str, error: i64, ca_status: &str, mfa: bool, applied: Value) -> String {
    json!({
        "id": id, "createdDateTime": "2026-01-05T14:23:45Z", "userId": USER,
        "userPrincipalName": "ada@contoso.example", "userType": "Member",
        "appId": EXCHANGE, "appDisplayName": "Office 365 Exchange Online", "resourceId": EXCHANGE,
        "ipAddress": "203.0.113.24", "clientAppUsed": "Browser", "isInteractive": true,
        "location": {"countryOrRegion": "US"},
        "deviceDetail": {"operatingSystem": "Windows 10"},
        "status": {"errorCode": error},
        "conditionalAccessStatus": ca_status,
        "authenticationRequirement": if mfa { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
        "authenticationDetails": if mfa {
            json!([{"authenticationMethod": "Password", "succeeded": true,
                    "authenticationStepRequirement": "Primary authentication"},
                   {"authenticationMethod": "Mobile app notification", "succeeded": true,
                    "authenticationStepRequirement": "Multifactor authentication"}])
        } else {
            json!([])
        },
        "appliedConditionalAccessPolicies": applied,
    })
    .to_string()
}

fn applied(id: &str, result: &str) -> Value {
    json!({"id": id, "displayName": "as logged", "result": result,
           "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": []})
}

/// Two agreeing sign-ins and one the simulator gets "wrong": MFA done, but logged as failed.
fn fidelity_ws() -> Ws {
    let ws = Ws::new();
    ws.write("p.json", &json!([mfa_all()]).to_string());
    let lines = [
        graph_signin(
            "s-ok-1",
            0,
            "success",
            true,
            json!([applied(MFA, "success")]),
        ),
        graph_signin(
            "s-ok-2",
            0,
            "success",
            true,
            json!([applied(MFA, "success")]),
        ),
        graph_signin(
            "s-bad",
            50074,
            "failure",
            true,
            json!([applied(MFA, "failure")]),
        ),
        graph_signin("s-none", 0, "notApplied", false, Value::Null),
    ];
    ws.write("signins.ndjson", &(lines.join("\n") + "\n"));
    ws
}

#[test]
fn fidelity_reports_agreement_and_each_disagreement() {
    let ws = fidelity_ws();
    let base = [
        "fidelity",
        "--signins",
        "signins.ndjson",
        "--policies",
        "p.json",
    ];
    let out = ws.run(&base).code(0);
    assert!(out.stdout.contains("Require MFA"), "{}", out.stdout);
    assert!(out.stdout.contains("66.7%"), "{}", out.stdout);
    assert!(out.stdout.contains("s-bad"), "{}", out.stdout);
    assert!(out.stdout.contains("(overall status)"), "{}", out.stdout);

    let mut args = base.to_vec();
    args.extend(["--json", "--out", "results"]);
    let v = ws.run(&args).code(0).json();
    assert_eq!(v["signIns"], 4);
    assert_eq!(v["compared"], 3);
    assert_eq!(v["withoutAppliedPolicies"], 1);
    assert_eq!(v["policies"]["agree"], 2);
    assert_eq!(v["policies"]["disagree"], 1);
    assert_eq!(v["status"]["agree"], 2);
    assert_eq!(v["status"]["disagree"], 1);
    assert_eq!(v["perPolicy"][0]["id"], MFA);
    let d = v["disagreements"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert!(d.iter().all(|x| x["signInId"] == "s-bad"));
    let pd = d.iter().find(|x| x["policyId"] == MFA).unwrap();
    assert_eq!(pd["logged"], "failure");
    assert_eq!(pd["simulated"], "success");
    assert!(!pd["reasons"].as_array().unwrap().is_empty());
    let file: Value =
        serde_json::from_str(&fs::read_to_string(ws.p("results/fidelity.json")).unwrap()).unwrap();
    assert_eq!(file, v);
}

#[test]
fn fidelity_terminal_output_is_capped_but_json_is_complete() {
    let ws = Ws::new();
    ws.write("p.json", &json!([mfa_all()]).to_string());
    let lines: Vec<String> = (0..30)
        .map(|i| {
            graph_signin(
                &format!("bad-{i:02}"),
                0,
                "success",
                true,
                json!([applied(MFA, "notApplied")]),
            )
        })
        .collect();
    ws.write("s.ndjson", &(lines.join("\n") + "\n"));
    let out = ws
        .run(&[
            "fidelity",
            "--signins",
            "s.ndjson",
            "--policies",
            "p.json",
            "--show",
            "5",
        ])
        .code(0);
    assert!(out.stdout.contains("bad-04"), "{}", out.stdout);
    assert!(!out.stdout.contains("bad-05"), "{}", out.stdout);
    assert!(
        out.stdout.contains("25 more disagreements"),
        "{}",
        out.stdout
    );
    let v = ws
        .run(&[
            "fidelity",
            "--signins",
            "s.ndjson",
            "--policies",
            "p.json",
            "--json",
        ])
        .code(0)
        .json();
    assert_eq!(v["disagreements"].as_array().unwrap().len(), 30);
}

#[test]
fn fidelity_min_agreement_exits_1_only_when_not_met() {
    let ws = fidelity_ws();
    let base = [
        "fidelity",
        "--signins",
        "signins.ndjson",
        "--policies",
        "p.json",
    ];
    for (x, code) in [("0.5", 0), ("66%", 0), ("0.9", 1), ("95%", 1)] {
        let mut args = base.to_vec();
        args.extend(["--min-agreement", x]);
        let out = ws.run(&args).code(code);
        if code == 1 {
            assert!(out.stderr.contains("--min-agreement"), "{}", out.stderr);
        }
    }
    for bad in ["2", "-0.1", "most"] {
        let mut args = base.to_vec();
        args.extend(["--min-agreement", bad]);
        ws.run(&args).code(2);
    }
}

#[test]
fn fidelity_input_errors_exit_2() {
    let ws = fidelity_ws();
    ws.write("broken.ndjson", "{\"id\": \"x\",\n");
    let out = ws
        .run(&[
            "fidelity",
            "--signins",
            "broken.ndjson",
            "--policies",
            "p.json",
        ])
        .code(2);
    assert!(out.stderr.contains("broken.ndjson"), "{}", out.stderr);
    ws.run(&["fidelity", "--policies", "p.json"]).code(2);
}

#[test]
fn fidelity_on_the_public_samples() {
    let Some(ext) = external() else { return };
    let ws = Ws::new();
    let v1 = fs::read_to_string(ext.join("msgraph-docs/signin-list.v1.0.example1.response.json"))
        .unwrap();
    // Published with a trailing comma; repaired so its logged policies can be read.
    ws.write(
        "v1.json",
        &v1.replacen("},\n              ]", "}\n              ]", 1),
    );
    let policies = ext.join("j0eyv-cabaseline/ConditionalAccess");
    let elastic = ext.join("elastic-integrations/test-signinlogs-sample.log");
    let beta = ext.join("msgraph-docs/signin-list.beta.example1.response.json");
    let out = ws
        .run(&[
            "fidelity",
            "--signins",
            elastic.to_str().unwrap(),
            beta.to_str().unwrap(),
            "--signins",
            "v1.json",
            "--policies",
            policies.to_str().unwrap(),
            "--out",
            "out",
        ])
        .code(0);
    assert!(
        out.stdout.contains("not in the policy set"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Medium signin risk block"),
        "{}",
        out.stdout
    );
    let v: Value =
        serde_json::from_str(&fs::read_to_string(ws.p("out/fidelity.json")).unwrap()).unwrap();
    assert_eq!(v["signIns"], 4);
    assert_eq!(v["compared"], 0);
    assert_eq!(v["emptyAppliedPolicies"], 3);
    assert_eq!(v["noPolicyInSet"], 1);
    assert_eq!(v["notInPolicySet"].as_array().unwrap().len(), 2);
    assert_eq!(v["perPolicy"].as_array().unwrap().len(), 36);
    // Nothing comparable: a threshold cannot be met.
    ws.run(&[
        "fidelity",
        "--signins",
        "v1.json",
        "--policies",
        policies.to_str().unwrap(),
        "--min-agreement",
        "0",
    ])
    .code(1);
}
