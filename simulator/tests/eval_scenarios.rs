//! Scenario tests of the evaluation engine: each case is a policy set, a sign-in and the
//! outcome Microsoft's documented semantics give (see SEMANTICS.md), in the contract's words.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use vigil_simulator::eval::{Context, evaluate};
use vigil_simulator::location::locations_from_json;
use vigil_simulator::model::{Directory, DirectoryUser, NamedLocation, Policy, SignIn, SignInKind};
use vigil_simulator::policy::policies_from_json;

const USER: &str = "0a6f3e2d-1b9c-4e87-a5d4-62c1f0e9b873";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const GROUP: &str = "11111111-2222-3333-4444-555555555555";

fn policy(id: &str, state: &str, conditions: Value, grant: Value) -> Value {
    json!({"id": id, "displayName": format!("P {id}"), "state": state, "conditions": conditions, "grantControls": grant})
}

fn all_users_all_apps() -> Value {
    json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]})
}

fn block() -> Value {
    json!({"operator": "OR", "builtInControls": ["block"]})
}

fn mfa() -> Value {
    json!({"operator": "OR", "builtInControls": ["mfa"]})
}

fn load(policies: Vec<Value>) -> Vec<Policy> {
    policies_from_json(&Value::Array(policies), Path::new("inline.json"))
        .unwrap()
        .policies
}

fn signin() -> SignIn {
    SignIn {
        id: "s1".into(),
        created_date_time: "2026-01-05T14:23:45.123Z".into(),
        kind: Some(SignInKind::InteractiveUser),
        user_id: Some(USER.into()),
        user_type: Some("Member".into()),
        app_id: Some("c44b4083-3bb0-49c1-b47d-974e53cbdf3c".into()),
        resource_id: Some(EXCHANGE.into()),
        ip_address: Some("203.0.113.24".into()),
        country: Some("US".into()),
        client_app_used: Some("Browser".into()),
        operating_system: Some("Windows 10".into()),
        error_code: Some(0),
        mfa_satisfied: Some(false),
        device_compliant: Some(false),
        sign_in_risk_level: Some("none".into()),
        ..Default::default()
    }
}

struct Case {
    status: &'static str,
    results: Vec<&'static str>,
    controls: Vec<&'static str>,
}

fn run(
    policies: &[Policy],
    s: &SignIn,
    locations: &[NamedLocation],
    dir: Option<&Directory>,
) -> Case {
    let ctx = Context::new(policies, locations, dir).unwrap();
    let d = evaluate(policies, s, &ctx);
    Case {
        status: d.status,
        results: d.policies.iter().map(|p| p.result).collect(),
        controls: d
            .controls
            .iter()
            .map(|c| Box::leak(c.clone().into_boxed_str()) as &str)
            .collect(),
    }
}

#[test]
fn first_factor_failure_means_conditional_access_never_ran() {
    let ps = load(vec![policy("a", "enabled", all_users_all_apps(), block())]);
    let mut s = signin();
    s.error_code = Some(50126);
    let c = run(&ps, &s, &[], None);
    assert_eq!((c.status, c.results), ("notApplied", vec!["notApplied"]));
}

#[test]
fn block_wins_over_a_satisfied_policy() {
    let ps = load(vec![
        policy("mfa", "enabled", all_users_all_apps(), mfa()),
        policy("blk", "enabled", all_users_all_apps(), block()),
    ]);
    let mut s = signin();
    s.mfa_satisfied = Some(true);
    let c = run(&ps, &s, &[], None);
    assert_eq!(
        (c.status, c.results),
        ("failure", vec!["success", "failure"])
    );
    assert!(c.controls.is_empty(), "a block is not a control");
}

#[test]
fn mfa_prompts_a_modern_client_and_blocks_a_legacy_one() {
    let ps = load(vec![policy("mfa", "enabled", all_users_all_apps(), mfa())]);
    let c = run(&ps, &signin(), &[], None);
    assert_eq!(
        (c.status, c.results.clone(), c.controls),
        ("interrupted", vec!["failure"], vec!["mfa"])
    );
    let mut legacy = signin();
    legacy.client_app_used = Some("IMAP4".into());
    let c = run(&ps, &legacy, &[], None);
    assert_eq!((c.status, c.controls), ("failure", vec!["mfa"]));
    let mut done = signin();
    done.mfa_satisfied = Some(true);
    assert_eq!(run(&ps, &done, &[], None).status, "success");
}

#[test]
fn report_only_and_disabled_policies_never_change_the_status() {
    let ps = load(vec![
        policy(
            "ro",
            "enabledForReportingButNotEnforced",
            all_users_all_apps(),
            block(),
        ),
        policy("off", "disabled", all_users_all_apps(), block()),
        policy(
            "ro-mfa",
            "enabledForReportingButNotEnforced",
            all_users_all_apps(),
            mfa(),
        ),
    ]);
    let c = run(&ps, &signin(), &[], None);
    assert_eq!(
        (c.status, c.results),
        (
            "notApplied",
            vec!["reportOnlyFailure", "notEnabled", "reportOnlyInterrupted"]
        )
    );
}

#[test]
fn group_conditions_need_the_directory() {
    let cond = json!({"users": {"includeGroups": [GROUP]}, "applications": {"includeApplications": ["All"]}});
    let ps = load(vec![policy("g", "enabled", cond, block())]);
    let c = run(&ps, &signin(), &[], None);
    assert_eq!(
        (c.status, c.results),
        ("indeterminate", vec!["indeterminate"])
    );
    let mut dir = Directory::default();
    dir.users.insert(
        USER.into(),
        DirectoryUser {
            id: USER.into(),
            groups: [GROUP.to_string()].into(),
            ..Default::default()
        },
    );
    assert_eq!(run(&ps, &signin(), &[], Some(&dir)).status, "failure");
    dir.users.insert(
        USER.into(),
        DirectoryUser {
            id: USER.into(),
            ..Default::default()
        },
    );
    assert_eq!(run(&ps, &signin(), &[], Some(&dir)).status, "notApplied");
}

#[test]
fn exclusion_beats_inclusion_and_decides_without_other_signals() {
    let cond = json!({"users": {"includeUsers": ["All"], "excludeUsers": [USER]}, "applications": {"includeApplications": ["All"]}, "platforms": {"includePlatforms": ["all"]}});
    let ps = load(vec![policy("x", "enabled", cond, block())]);
    let mut s = signin();
    s.operating_system = None; // platform unknown, but the exclusion already decides
    let c = run(&ps, &s, &[], None);
    assert_eq!((c.status, c.results), ("notApplied", vec!["notApplied"]));
}

#[test]
fn contract_examples_for_undecided_policies() {
    // An undecided block policy next to a policy that prompts: indeterminate.
    let undecided = json!({"users": {"includeGroups": [GROUP]}, "applications": {"includeApplications": ["All"]}});
    let ps = load(vec![
        policy("u", "enabled", undecided.clone(), block()),
        policy("m", "enabled", all_users_all_apps(), mfa()),
    ]);
    assert_eq!(run(&ps, &signin(), &[], None).status, "indeterminate");
    // An undecided policy whose grant the sign-in already satisfied, next to a policy that prompts: interrupted.
    let compliant = json!({"operator": "OR", "builtInControls": ["compliantDevice"]});
    let ps = load(vec![
        policy("u", "enabled", undecided, compliant),
        policy("m", "enabled", all_users_all_apps(), mfa()),
    ]);
    let mut s = signin();
    s.device_compliant = Some(true);
    let c = run(&ps, &s, &[], None);
    assert_eq!(
        (c.status, c.results),
        ("interrupted", vec!["indeterminate", "failure"])
    );
}

#[test]
fn trusted_location_exclusion() {
    let locs = locations_from_json(
        &json!([{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq", "displayName": "Corporate HQ", "isTrusted": true,
                 "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.1.0.0/16"}]}]),
        Path::new("locs.json"),
    )
    .unwrap()
    .locations;
    let cond = json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                      "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}});
    let ps = load(vec![policy("loc", "enabled", cond, mfa())]);
    let mut inside = signin();
    inside.ip_address = Some("10.1.4.20".into());
    assert_eq!(run(&ps, &inside, &locs, None).status, "notApplied");
    assert_eq!(run(&ps, &signin(), &locs, None).status, "interrupted");
    let mut no_ip = signin();
    no_ip.ip_address = None;
    assert_eq!(run(&ps, &no_ip, &locs, None).status, "indeterminate");
}

#[test]
fn workload_identities_only_meet_policies_that_target_them() {
    let ps = load(vec![policy(
        "users",
        "enabled",
        all_users_all_apps(),
        block(),
    )]);
    let mut sp = signin();
    sp.kind = Some(SignInKind::ServicePrincipal);
    sp.user_id = None;
    sp.service_principal_id = Some("9f1a0000-0000-0000-0000-000000000001".into());
    assert_eq!(run(&ps, &sp, &[], None).status, "notApplied");
}

#[test]
fn or_and_and_grant_operators() {
    let or = json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]});
    let and = json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]});
    let mut s = signin();
    s.device_compliant = Some(true);
    assert_eq!(
        run(
            &load(vec![policy("or", "enabled", all_users_all_apps(), or)]),
            &s,
            &[],
            None
        )
        .status,
        "success"
    );
    let c = run(
        &load(vec![policy("and", "enabled", all_users_all_apps(), and)]),
        &s,
        &[],
        None,
    );
    assert_eq!((c.status, c.controls), ("interrupted", vec!["mfa"]));
    s.device_compliant = Some(false);
    let c = run(
        &load(vec![policy(
            "and",
            "enabled",
            all_users_all_apps(),
            json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}),
        )]),
        &s,
        &[],
        None,
    );
    assert_eq!(
        c.status, "failure",
        "a non-compliant device cannot satisfy the policy"
    );
}

#[test]
fn a_condition_vigil_does_not_understand_is_indeterminate_only_where_it_matters() {
    let mut cond = all_users_all_apps();
    cond["agentIdRiskLevels"] = json!("high");
    let ps = load(vec![policy("agent", "enabled", cond.clone(), block())]);
    assert_eq!(run(&ps, &signin(), &[], None).status, "indeterminate");
    // Excluded by a known condition: the unknown one no longer matters.
    cond["users"] = json!({"includeUsers": ["All"], "excludeUsers": [USER]});
    let ps = load(vec![policy("agent", "enabled", cond, block())]);
    assert_eq!(run(&ps, &signin(), &[], None).status, "notApplied");
}

#[test]
fn signin_risk_condition_reads_risk_during_sign_in() {
    let mut cond = all_users_all_apps();
    cond["signInRiskLevels"] = json!(["high", "medium"]);
    let ps = load(vec![policy("risk", "enabled", cond, mfa())]);
    let mut s = signin();
    s.sign_in_risk_level = Some("high".into());
    assert_eq!(run(&ps, &s, &[], None).status, "interrupted");
    s.sign_in_risk_level = Some("low".into());
    assert_eq!(run(&ps, &s, &[], None).status, "notApplied");
    s.sign_in_risk_level = Some("hidden".into());
    assert_eq!(run(&ps, &s, &[], None).status, "indeterminate");
}

fn arb_signin() -> impl Strategy<Value = SignIn> {
    (
        prop::option::of(prop::sample::select(vec![
            "Browser",
            "Mobile Apps and Desktop clients",
            "IMAP4",
            "Exchange ActiveSync",
        ])),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(vec![
            "Windows 10",
            "iOS 17",
            "Android",
            "MacOs",
        ])),
        prop::option::of(prop::sample::select(vec![0i64, 50126, 50074, 53003])),
    )
        .prop_map(|(client, mfa, compliant, os, code)| SignIn {
            client_app_used: client.map(str::to_string),
            mfa_satisfied: mfa,
            device_compliant: compliant,
            operating_system: os.map(str::to_string),
            error_code: code,
            ..signin()
        })
}

fn arb_policy(i: usize) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "enabled",
            "enabledForReportingButNotEnforced",
            "disabled",
        ]),
        prop::sample::select(vec![
            vec!["block"],
            vec!["mfa"],
            vec!["compliantDevice"],
            vec!["mfa", "compliantDevice"],
        ]),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["windows", "iOS", "android"])),
    )
        .prop_map(move |(state, controls, or, platform)| {
            let mut cond = all_users_all_apps();
            if let Some(p) = platform {
                cond["platforms"] = json!({"includePlatforms": [p]});
            }
            policy(
                &format!("p{i}"),
                state,
                cond,
                json!({"operator": if or { "OR" } else { "AND" }, "builtInControls": controls}),
            )
        })
}

fn rank(s: &str) -> u8 {
    match s {
        "notApplied" => 0,
        "success" => 1,
        "interrupted" => 2,
        "failure" => 3,
        _ => 4,
    }
}

proptest! {
    #[test]
    fn excluded_user_never_applies(s in arb_signin(), p in arb_policy(0)) {
        let mut p = p;
        p["conditions"]["users"]["excludeUsers"] = json!([USER]);
        let ps = load(vec![p]);
        let c = run(&ps, &s, &[], None);
        prop_assert!(matches!(c.results[0], "notApplied" | "reportOnlyNotApplied" | "notEnabled"), "{:?}", c.results);
    }

    #[test]
    fn adding_a_block_policy_never_turns_failure_into_success(s in arb_signin(), ps in prop::collection::vec(arb_policy(0), 1..4)) {
        let ps: Vec<Value> = ps.into_iter().enumerate().map(|(i, mut p)| { p["id"] = json!(format!("p{i}")); p }).collect();
        let before = run(&load(ps.clone()), &s, &[], None).status;
        let mut more = ps;
        more.push(policy("blk", "enabled", all_users_all_apps(), block()));
        let after = run(&load(more), &s, &[], None).status;
        prop_assert!(!(before == "failure" && after == "success"));
        if rank(before) < 4 && rank(after) < 4 { prop_assert!(rank(after) >= rank(before)); }
    }

    #[test]
    fn report_only_never_changes_the_status(s in arb_signin(), ps in prop::collection::vec(arb_policy(0), 1..4), ro in arb_policy(9)) {
        let ps: Vec<Value> = ps.into_iter().enumerate().map(|(i, mut p)| { p["id"] = json!(format!("p{i}")); p }).collect();
        let before = run(&load(ps.clone()), &s, &[], None).status;
        let mut ro = ro;
        ro["state"] = json!("enabledForReportingButNotEnforced");
        let mut more = ps;
        more.push(ro);
        prop_assert_eq!(before, run(&load(more), &s, &[], None).status);
    }
}
