//! `fidelity`: the simulator compared with the outcomes Entra logged, on synthetic sign-ins
//! whose right answer follows from SEMANTICS.md §14, and on the public samples (which must run
//! without error; their policy ids belong to other tenants).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use vigil_simulator::eval::Context;
use vigil_simulator::fidelity::{FidelityReport, PolicyFidelity, fidelity};
use vigil_simulator::model::{LoggedPolicy, Policy, SignIn, SignInKind};
use vigil_simulator::policy::{load_policies, policies_from_json};
use vigil_simulator::signin::{ReadOptions, read_signins};

const USER: &str = "0a6f3e2d-1b9c-4e87-a5d4-62c1f0e9b873";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const BLOCK: &str = "10000000-0000-0000-0000-000000000001";
const MFA: &str = "10000000-0000-0000-0000-000000000002";
const GROUP_MFA: &str = "10000000-0000-0000-0000-000000000003";
const MFA_AND_DEVICE: &str = "10000000-0000-0000-0000-000000000004";
const REPORT_ONLY: &str = "10000000-0000-0000-0000-000000000005";
const OFF: &str = "10000000-0000-0000-0000-000000000006";
const ELSEWHERE: &str = "20000000-0000-0000-0000-000000000009";

fn policy(id: &str, name: &str, state: &str, users: Value, grant: Value) -> Value {
    json!({"id": id, "displayName": name, "state": state,
           "conditions": {"users": users, "applications": {"includeApplications": ["All"]},
                          "clientAppTypes": ["all"]},
           "grantControls": grant})
}

fn all_users() -> Value {
    json!({"includeUsers": ["All"]})
}

fn load(policies: Vec<Value>) -> Vec<Policy> {
    policies_from_json(&Value::Array(policies), Path::new("inline.json"))
        .unwrap()
        .policies
}

fn logged(id: &str, result: &str) -> LoggedPolicy {
    LoggedPolicy {
        id: id.into(),
        display_name: Some(format!("logged {id}")),
        result: result.into(),
        enforced_grant_controls: vec![],
        enforced_session_controls: vec![],
    }
}

fn signin(id: &str, applied: Option<Vec<LoggedPolicy>>) -> SignIn {
    SignIn {
        id: id.into(),
        created_date_time: "2026-01-05T14:23:45.123Z".into(),
        kind: Some(SignInKind::InteractiveUser),
        user_id: Some(USER.into()),
        user_type: Some("Member".into()),
        resource_id: Some(EXCHANGE.into()),
        ip_address: Some("203.0.113.24".into()),
        country: Some("US".into()),
        client_app_used: Some("Browser".into()),
        operating_system: Some("Windows 10".into()),
        error_code: Some(0),
        conditional_access_status: Some("success".into()),
        mfa_satisfied: Some(true),
        applied_policies: applied,
        ..Default::default()
    }
}

fn run(policies: &[Policy], signins: &[SignIn]) -> FidelityReport {
    let ctx = Context::new(policies, &[], None).unwrap();
    fidelity(signins, policies, &ctx)
}

fn per<'a>(r: &'a FidelityReport, id: &str) -> &'a PolicyFidelity {
    r.per_policy.iter().find(|p| p.id == id).unwrap()
}

#[test]
fn a_block_that_was_logged_as_a_block_agrees() {
    let policies = load(vec![policy(
        BLOCK,
        "Block all",
        "enabled",
        all_users(),
        json!({"operator": "OR", "builtInControls": ["block"]}),
    )]);
    let mut s = signin("s1", Some(vec![logged(BLOCK, "failure")]));
    s.error_code = Some(53003);
    s.conditional_access_status = Some("failure".into());
    let r = run(&policies, &[s]);
    assert_eq!(r.compared, 1);
    let p = per(&r, BLOCK);
    assert_eq!((p.tally.agree, p.tally.disagree), (1, 0));
    assert_eq!(p.tally.agreement, Some(1.0));
    assert_eq!(p.outcomes.get("failure -> failure"), Some(&1));
    assert_eq!((r.status.agree, r.status.disagree), (1, 0));
    assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
}

#[test]
fn a_policy_the_simulator_calls_satisfied_but_the_log_failed_disagrees_with_reasons() {
    let policies = load(vec![policy(
        MFA,
        "Require MFA",
        "enabled",
        all_users(),
        json!({"operator": "OR", "builtInControls": ["mfa"]}),
    )]);
    // The log shows a second factor (mfa_satisfied), yet Entra recorded the MFA policy as failed
    // and the sign-in as interrupted: both the policy and the status disagree.
    let mut lp = logged(MFA, "failure");
    lp.enforced_grant_controls = vec!["Mfa".into()];
    let mut s = signin("s-dis", Some(vec![lp]));
    s.error_code = Some(50074);
    s.user_principal_name = Some("ada@contoso.example".into());
    s.app_display_name = Some("Office 365 Exchange Online".into());
    let r = run(&policies, &[s]);
    let p = per(&r, MFA);
    assert_eq!((p.tally.agree, p.tally.disagree), (0, 1));
    assert_eq!(p.tally.agreement, Some(0.0));
    assert_eq!((r.status.agree, r.status.disagree), (0, 1));
    assert_eq!(r.disagreements.len(), 2);
    let status = &r.disagreements[0];
    assert_eq!(status.policy_id, None);
    assert_eq!(status.logged_result, "interrupted");
    assert_eq!(status.simulated, "success");
    assert!(status.logged.contains("50074"), "{}", status.logged);
    let d = &r.disagreements[1];
    assert_eq!(d.sign_in_id, "s-dis");
    assert_eq!(d.policy_id.as_deref(), Some(MFA));
    assert_eq!(d.display_name.as_deref(), Some("Require MFA"));
    assert_eq!(d.user.as_deref(), Some("ada@contoso.example"));
    assert_eq!(d.app.as_deref(), Some("Office 365 Exchange Online"));
    assert_eq!(
        (d.logged_result.as_str(), d.simulated.as_str()),
        ("failure", "success")
    );
    assert!(
        d.reasons
            .iter()
            .any(|x| x.contains("grant mfa: already satisfied")),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons.iter().any(|x| x.contains("Mfa")),
        "{:?}",
        d.reasons
    );
}

#[test]
fn prompt_or_block_undecided_agrees_with_a_logged_failure() {
    // AND of mfa (not done, promptable) and a compliant device (unknown; unsatisfiable if not):
    // the simulator cannot tell a prompt from a block, and neither can a logged `failure`.
    let policies = load(vec![policy(
        MFA_AND_DEVICE,
        "MFA and compliant device",
        "enabled",
        all_users(),
        json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}),
    )]);
    let mut s = signin("s1", Some(vec![logged(MFA_AND_DEVICE, "failure")]));
    s.mfa_satisfied = Some(false);
    s.error_code = Some(53000);
    // A registered device whose compliance the log does not show (an unregistered one could
    // never be compliant, SEMANTICS.md Rule 5.5).
    s.device_id = Some("7c1e2d3f-0000-4000-8000-000000000001".into());
    let r = run(&policies, &[s]);
    let p = per(&r, MFA_AND_DEVICE);
    assert_eq!(p.outcomes.get("failure -> indeterminate"), Some(&1));
    assert_eq!((p.tally.agree, p.tally.simulator_indeterminate), (1, 0));
    assert_eq!(r.status.simulator_indeterminate, 1, "{:?}", r.status);
}

#[test]
fn undecided_membership_is_simulator_indeterminate_not_a_disagreement() {
    let policies = load(vec![policy(
        GROUP_MFA,
        "MFA for a group",
        "enabled",
        json!({"includeGroups": ["11111111-2222-3333-4444-555555555555"]}),
        json!({"operator": "OR", "builtInControls": ["mfa"]}),
    )]);
    let mut s = signin("s1", Some(vec![logged(GROUP_MFA, "failure")]));
    s.mfa_satisfied = Some(false);
    s.error_code = Some(50076);
    let r = run(&policies, &[s]);
    let p = per(&r, GROUP_MFA);
    assert_eq!(p.tally.simulator_indeterminate, 1);
    assert_eq!(p.tally.agreement, Some(0.0));
    assert_eq!(p.tally.decided_agreement, None);
    assert!(r.disagreements.is_empty());
}

#[test]
fn report_only_disabled_unknown_and_changed_states() {
    let policies = load(vec![
        policy(
            REPORT_ONLY,
            "Report-only block",
            "enabledForReportingButNotEnforced",
            all_users(),
            json!({"operator": "OR", "builtInControls": ["block"]}),
        ),
        policy(
            OFF,
            "Disabled",
            "disabled",
            all_users(),
            json!({"operator": "OR", "builtInControls": ["block"]}),
        ),
        policy(
            MFA,
            "Require MFA",
            "enabled",
            all_users(),
            json!({"operator": "OR", "builtInControls": ["mfa"]}),
        ),
    ]);
    let signins = vec![
        // Portal words map to the Graph ones.
        signin(
            "a",
            Some(vec![
                logged(REPORT_ONLY, "reportOnlyFailure"),
                logged(OFF, "Disabled"),
                logged(MFA, "success"),
            ]),
        ),
        // v1.0 without the Prefer header: report-only results come back as unknownFutureValue.
        signin(
            "b",
            Some(vec![
                logged(REPORT_ONLY, "unknownFutureValue"),
                logged(OFF, "notEnabled"),
                logged(MFA, "success"),
            ]),
        ),
        // The MFA policy was report-only then; the disabled one was enforced.
        signin(
            "c",
            Some(vec![
                logged(REPORT_ONLY, "reportOnlyFailure"),
                logged(OFF, "notApplied"),
                logged(MFA, "reportOnlySuccess"),
            ]),
        ),
    ];
    let r = run(&policies, &signins);
    let ro = per(&r, REPORT_ONLY);
    assert_eq!((ro.tally.agree, ro.tally.logged_unknown), (2, 1));
    let off = per(&r, OFF);
    assert_eq!((off.tally.not_enabled, off.tally.state_mismatch), (2, 1));
    assert_eq!(
        off.tally.agreement, None,
        "disabled policies never enter a rate"
    );
    let mfa = per(&r, MFA);
    assert_eq!((mfa.tally.agree, mfa.tally.state_mismatch), (2, 1));
    assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
    assert!(
        r.warnings.iter().any(|w| w.contains("another state")),
        "{:?}",
        r.warnings
    );
    // Pooled: 4 agreements, nothing else comparable.
    assert_eq!(r.policies.agree, 4);
    assert_eq!(r.policies.agreement, Some(1.0));
}

#[test]
fn policies_outside_either_set_and_sign_ins_without_results_are_reported() {
    let policies = load(vec![
        policy(
            MFA,
            "Require MFA",
            "enabled",
            all_users(),
            json!({"operator": "OR", "builtInControls": ["mfa"]}),
        ),
        policy(
            BLOCK,
            "Block all (new)",
            "enabled",
            all_users(),
            json!({"operator": "OR", "builtInControls": ["block"]}),
        ),
    ]);
    let signins = vec![
        signin("none", None),
        signin("empty", Some(vec![])),
        signin("other-tenant", Some(vec![logged(ELSEWHERE, "success")])),
        signin(
            "mixed",
            Some(vec![
                logged(MFA, "success"),
                logged(ELSEWHERE, "notApplied"),
            ]),
        ),
    ];
    let r = run(&policies, &signins);
    assert_eq!(r.sign_ins, 4);
    assert_eq!(r.without_applied_policies, 1);
    assert_eq!(r.empty_applied_policies, 1);
    assert_eq!(r.no_policy_in_set, 1);
    assert_eq!(r.compared, 1);
    assert_eq!(r.not_in_policy_set.len(), 1);
    let u = &r.not_in_policy_set[0];
    assert_eq!(u.id, ELSEWHERE);
    assert_eq!(u.sign_ins, 2);
    assert_eq!(u.results.get("notApplied"), Some(&1));
    // The new block policy is absent from the one compared sign-in's list.
    assert_eq!(per(&r, BLOCK).absent_from_log, 1);
    assert_eq!(per(&r, MFA).absent_from_log, 0);
    assert!(r.warnings.iter().any(|w| w.contains("notInPolicySet")));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("missing from the logged list"))
    );
}

#[test]
fn logged_success_covers_evaluated_but_not_applied() {
    // Logs-details: the status shows Success when a policy was evaluated even if it did not apply.
    let policies = load(vec![policy(
        MFA,
        "MFA for someone else",
        "enabled",
        json!({"includeUsers": ["99999999-9999-9999-9999-999999999999"]}),
        json!({"operator": "OR", "builtInControls": ["mfa"]}),
    )]);
    let s = signin("s1", Some(vec![logged(MFA, "notApplied")]));
    let r = run(&policies, &[s]);
    assert_eq!(r.status.agree, 1, "{:?}", r.disagreements);
    // But not when the log shows an enforced policy applied.
    let s = signin("s2", Some(vec![logged(MFA, "success")]));
    let r = run(&policies, &[s]);
    assert_eq!(r.status.disagree, 1);
    assert_eq!(per(&r, MFA).tally.disagree, 1);
}

#[test]
fn worst_policies_come_first_and_the_report_serializes() {
    let policies = load(vec![
        policy(
            BLOCK,
            "Block all",
            "enabled",
            all_users(),
            json!({"operator": "OR", "builtInControls": ["block"]}),
        ),
        policy(
            MFA,
            "Require MFA",
            "enabled",
            all_users(),
            json!({"operator": "OR", "builtInControls": ["mfa"]}),
        ),
        policy(
            OFF,
            "Disabled",
            "disabled",
            all_users(),
            json!({"operator": "OR", "builtInControls": ["block"]}),
        ),
    ]);
    let signins: Vec<SignIn> = (0..4)
        .map(|i| {
            let mut s = signin(
                &format!("s{i}"),
                Some(vec![
                    logged(BLOCK, "failure"),
                    logged(MFA, if i == 0 { "success" } else { "failure" }),
                    logged(OFF, "notEnabled"),
                ]),
            );
            s.error_code = Some(53003);
            s
        })
        .collect();
    let r = run(&policies, &signins);
    let order: Vec<&str> = r.per_policy.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(order, [MFA, BLOCK, OFF]);
    assert_eq!(per(&r, MFA).tally.agreement, Some(0.25));
    assert_eq!(r.disagreements.len(), 3);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["perPolicy"][0]["id"], MFA);
    assert_eq!(v["perPolicy"][0]["disagree"], 3);
    assert_eq!(v["policies"]["agree"], 5);
    assert_eq!(v["disagreements"][0]["signInId"], "s1");
}

// ---------------------------------------------------------------------------------------------
// The public samples
// ---------------------------------------------------------------------------------------------

fn external() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/external");
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

#[test]
fn the_public_samples_against_the_j0eyv_baseline() {
    let Some(ext) = external() else { return };
    let set = load_policies(&ext.join("j0eyv-cabaseline/ConditionalAccess")).unwrap();
    assert_eq!(set.policies.len(), 36);
    // The Graph v1.0 example is published with a trailing comma; repaired here so its two
    // logged policies (from Microsoft's example tenant) can be read.
    let tmp = tempfile::tempdir().unwrap();
    let v1 =
        std::fs::read_to_string(ext.join("msgraph-docs/signin-list.v1.0.example1.response.json"))
            .unwrap();
    let repaired = v1.replacen("},\n              ]", "}\n              ]", 1);
    assert_ne!(repaired, v1, "the sample changed; update the repair");
    let v1_path = tmp.path().join("v1.json");
    std::fs::write(&v1_path, repaired).unwrap();
    let paths = vec![
        ext.join("elastic-integrations/test-signinlogs-sample.log"),
        ext.join("msgraph-docs/signin-list.beta.example1.response.json"),
        v1_path,
    ];
    let mut signins = Vec::new();
    read_signins(&paths, &ReadOptions::default(), &mut |s| signins.push(s)).unwrap();
    assert_eq!(signins.len(), 4);
    let ctx = Context::new(&set.policies, &[], None).unwrap();
    let r = fidelity(&signins, &set.policies, &ctx);
    assert_eq!(r.sign_ins, 4);
    // The elastic and beta samples log an empty list; the v1.0 one names two policies of
    // Microsoft's example tenant, none of which is in the baseline.
    assert_eq!(r.empty_applied_policies, 3);
    assert_eq!(r.no_policy_in_set, 1);
    assert_eq!(r.compared, 0);
    let ids: Vec<&str> = r.not_in_policy_set.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "6701123a-b4c6-48af-8565-565c8bf7cabc",
            "de7e60eb-ed89-4d73-8205-2227def6b7c9"
        ]
    );
    assert!(
        r.not_in_policy_set
            .iter()
            .all(|u| u.results.get("notEnabled") == Some(&1))
    );
    assert_eq!(r.per_policy.len(), 36);
    assert!(r.per_policy.iter().all(|p| p.tally.comparable() == 0));
    assert_eq!(r.policies.agreement, None);
    assert!(r.disagreements.is_empty());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("names an input policy")),
        "{:?}",
        r.warnings
    );
}
