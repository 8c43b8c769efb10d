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
        // A registered device (an unregistered one can never be compliant, Rule 5.5).
        device_id: Some("7c1e2d3f-0000-4000-8000-000000000001".into()),
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

// ---------------------------------------------------------------------------------------------
// Properties. The generators cover every kind of condition and control evaluation knows, with
// signals present, absent and contradictory, so that undecided policies are common.
// ---------------------------------------------------------------------------------------------

const OTHER_USER: &str = "5d3c0b1a-9e8f-4a7b-b6c5-d4e3f2a1b0c9";
const PARTNER: &str = "8c3b1f2e-4d5a-4b6c-9e7f-0a1b2c3d4e5f";
const TENANT: &str = "5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47";

fn opt_str(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

/// A sign-in of [`USER`] (or, for some, of no known user) with every signal evaluation reads
/// drawn independently, absent included.
fn arb_signin() -> impl Strategy<Value = SignIn> {
    let identity = (
        prop::option::of(prop::sample::select(vec![
            SignInKind::InteractiveUser,
            SignInKind::NonInteractiveUser,
            SignInKind::ServicePrincipal,
            SignInKind::ManagedIdentity,
        ])),
        prop::option::of(prop::sample::select(vec![
            0i64, 0, 0, 50126, 50074, 53003, 50058, 99999,
        ])),
        prop::option::of(prop::sample::select(vec!["Member", "Guest"])),
        prop::option::of(prop::sample::select(vec![TENANT, PARTNER])),
        prop::option::of(prop::sample::select(vec![
            "none",
            "b2bCollaboration",
            "b2bDirectConnect",
        ])),
        prop::option::of(prop::sample::select(vec![
            EXCHANGE,
            "6f1c2a9e-3b7d-4c51-9e08-5a2d4c7b8e10",
            "19db86c3-b2b9-44cc-b339-36da233a3be2",
        ])),
    );
    let client = (
        prop::option::of(prop::sample::select(vec![
            "Browser",
            "Mobile Apps and Desktop clients",
            "IMAP4",
            "Exchange ActiveSync",
        ])),
        prop::option::of(prop::sample::select(vec![
            "Windows 10",
            "iOS 17",
            "Android",
            "MacOs",
            "ChromeOS",
        ])),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            "Hybrid Azure AD joined",
            "Azure AD joined",
        ])),
    );
    let network = (
        prop::option::of(prop::sample::select(vec!["10.1.4.20", "203.0.113.24"])),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(vec!["US", "KP"])),
        prop::option::of(prop::sample::select(vec!["none", "high", "hidden"])),
        prop::option::of(prop::sample::select(vec!["none", "deviceCodeFlow"])),
    );
    let auth = (
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(vec!["none", "clientSecret"])),
        prop::option::of(prop::sample::select(vec![
            vec!["Password"],
            vec!["Password", "Mobile app notification"],
            vec!["FIDO2 security key"],
            vec!["Previously satisfied"],
        ])),
        prop::option::of(prop::sample::select(vec![vec![], vec!["c1"]])),
        any::<bool>(),
    );
    (identity, client, network, auth).prop_map(
        |(
            (kind, code, user_type, home, cross, resource),
            (client, os, mfa, compliant, registered, trust),
            (ip, trusted, country, risk, transfer),
            (fresh, credential, methods, contexts, known_user),
        )| SignIn {
            kind,
            error_code: code,
            user_id: known_user.then(|| USER.to_string()),
            user_type: opt_str(user_type),
            home_tenant_id: opt_str(home),
            resource_tenant_id: Some(TENANT.into()),
            app_owner_tenant_id: opt_str(home),
            cross_tenant_access_type: opt_str(cross),
            service_principal_id: Some("9f1a0000-0000-4000-8000-000000000001".into()),
            resource_id: opt_str(resource),
            client_app_used: opt_str(client),
            operating_system: opt_str(os),
            mfa_satisfied: mfa,
            device_compliant: compliant,
            device_id: registered.then(|| "7c1e2d3f-0000-4000-8000-000000000001".to_string()),
            device_trust_type: opt_str(trust),
            ip_address: opt_str(ip),
            trusted_network: trusted,
            country: opt_str(country),
            sign_in_risk_level: opt_str(risk),
            original_transfer_method: opt_str(transfer),
            primary_auth_fresh: fresh,
            client_credential_type: opt_str(credential),
            authentication_methods: methods.map(|m| m.into_iter().map(str::to_string).collect()),
            authentication_contexts: contexts.map(|c| c.into_iter().map(str::to_string).collect()),
            ..signin()
        },
    )
}

/// A policy with any mix of conditions, grant and session controls.
fn arb_policy(i: usize) -> impl Strategy<Value = Value> {
    let users = prop::sample::select(vec![
        json!({"includeUsers": ["All"]}),
        json!({"includeUsers": [USER]}),
        json!({"includeUsers": [OTHER_USER]}),
        json!({"includeGroups": [GROUP]}),
        json!({"includeUsers": ["GuestsOrExternalUsers"]}),
        json!({"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}),
        json!({"includeUsers": ["All"], "excludeGroups": [GROUP]}),
    ]);
    let apps = prop::sample::select(vec![
        json!({"includeApplications": ["All"]}),
        json!({"includeApplications": ["Office365"]}),
        json!({"includeApplications": ["All"], "excludeApplications": [EXCHANGE]}),
        json!({"includeUserActions": ["urn:user:registersecurityinfo"]}),
        json!({"includeAuthenticationContextClassReferences": ["c1"]}),
    ]);
    let extra = prop::sample::select(vec![
        json!({}),
        json!({"platforms": {"includePlatforms": ["iOS", "android"]}}),
        json!({"platforms": {"includePlatforms": ["all"], "excludePlatforms": ["windows"]}}),
        json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
        json!({"locations": {"includeLocations": ["hq", "undefined-location"]}}),
        json!({"locations": {"includeLocations": ["countries"]}}),
        json!({"signInRiskLevels": ["high"]}),
        json!({"userRiskLevels": ["high"]}),
        json!({"clientAppTypes": ["exchangeActiveSync", "other"]}),
        json!({"devices": {"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\""}}}),
        json!({"authenticationFlows": {"transferMethods": "deviceCodeFlow"}}),
        json!({"agentIdRiskLevels": "high"}),
        json!({"clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]}}),
    ]);
    let grant = prop::sample::select(vec![
        json!({"operator": "OR", "builtInControls": ["block"]}),
        json!({"operator": "OR", "builtInControls": ["mfa"]}),
        json!({"operator": "OR", "builtInControls": ["compliantDevice"]}),
        json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}),
        json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}),
        json!({"operator": "OR", "builtInControls": ["approvedApplication"]}),
        json!({"operator": "OR", "builtInControls": ["domainJoinedDevice"]}),
        json!({"operator": "OR", "builtInControls": [], "termsOfUse": ["tou"]}),
        json!({"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}),
        Value::Null,
    ]);
    let session = prop::sample::select(vec![
        Value::Null,
        json!({"signInFrequency": {"isEnabled": true, "frequencyInterval": "everyTime"}}),
        json!({"signInFrequency": {"isEnabled": true, "frequencyInterval": "timeBased", "type": "hours", "value": 4}}),
    ]);
    (
        prop::sample::select(vec![
            "enabled",
            "enabled",
            "enabledForReportingButNotEnforced",
            "disabled",
        ]),
        users,
        apps,
        extra,
        grant,
        session,
    )
        .prop_map(move |(state, users, apps, extra, grant, session)| {
            let mut cond = json!({"users": users, "applications": apps, "clientAppTypes": ["all"]});
            if let (Some(c), Value::Object(e)) = (cond.as_object_mut(), extra) {
                c.extend(e);
            }
            let mut p = policy(&format!("p{i}"), state, cond, grant);
            if session.is_null() && p["grantControls"].is_null() {
                p["grantControls"] = mfa();
            }
            p["sessionControls"] = session;
            p
        })
}

/// Named locations the policies refer to: a trusted IP range, a country list, and a trusted
/// compliant network (undecidable from the log) half of the time.
fn arb_locations() -> impl Strategy<Value = Vec<NamedLocation>> {
    any::<bool>().prop_map(|gsa| {
        let mut v = vec![
            json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq", "displayName": "HQ", "isTrusted": true,
                   "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.1.0.0/16"}]}),
            json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "countries", "displayName": "Countries",
                   "countriesAndRegions": ["KP"], "includeUnknownCountriesAndRegions": true}),
        ];
        if gsa {
            v.push(json!({"@odata.type": "#microsoft.graph.compliantNetworkNamedLocation", "id": "gsa",
                          "displayName": "All Compliant Network locations", "isTrusted": true}));
        }
        locations_from_json(&Value::Array(v), Path::new("locs.json")).unwrap().locations
    })
}

/// No directory, or one where [`USER`] is or is not in [`GROUP`].
fn arb_directory() -> impl Strategy<Value = Option<Directory>> {
    prop::option::of(any::<bool>()).prop_map(|member| {
        member.map(|m| {
            let mut dir = Directory::default();
            dir.users.insert(
                USER.into(),
                DirectoryUser {
                    id: USER.into(),
                    user_type: Some("Member".into()),
                    groups: if m {
                        [GROUP.to_string()].into()
                    } else {
                        Default::default()
                    },
                    ..Default::default()
                },
            );
            dir
        })
    })
}

fn with_ids(ps: Vec<Value>) -> Vec<Value> {
    ps.into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p["id"] = json!(format!("p{i}"));
            p
        })
        .collect()
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

/// The status and controls with these policies.
fn decide_all(
    ps: &[Value],
    s: &SignIn,
    locs: &[NamedLocation],
    dir: Option<&Directory>,
) -> (&'static str, Vec<&'static str>) {
    let c = run(&load(ps.to_vec()), s, locs, dir);
    (c.status, c.controls)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A policy that excludes the user (by id, or by a group the directory shows the user in)
    /// never applies to them, whatever else is configured or missing.
    #[test]
    fn a_policy_that_excludes_the_user_never_applies(
        s in arb_signin(), p in arb_policy(0), others in prop::collection::vec(arb_policy(1), 0..3),
        locs in arb_locations(), by_group in any::<bool>(),
    ) {
        let mut s = s;
        s.user_id = Some(USER.into());
        if matches!(s.kind, Some(SignInKind::ServicePrincipal | SignInKind::ManagedIdentity)) {
            s.kind = Some(SignInKind::InteractiveUser);
        }
        let mut p = p;
        let dir = if by_group {
            p["conditions"]["users"]["excludeGroups"] = json!([GROUP]);
            let mut d = Directory::default();
            d.users.insert(USER.into(), DirectoryUser {
                id: USER.into(),
                groups: [GROUP.to_string()].into(),
                ..Default::default()
            });
            Some(d)
        } else {
            p["conditions"]["users"]["excludeUsers"] = json!([USER]);
            None
        };
        let mut ps = vec![p];
        ps.extend(others);
        let c = run(&load(with_ids(ps)), &s, &locs, dir.as_ref());
        prop_assert!(
            matches!(c.results[0], "notApplied" | "reportOnlyNotApplied" | "notEnabled"),
            "{:?}", c.results
        );
    }

    /// Adding a block policy never lowers the status: a failure stays a failure, and no decided
    /// status becomes a less restrictive decided one. A block that certainly applies makes it
    /// a failure.
    #[test]
    fn adding_a_block_policy_never_turns_failure_into_success(
        s in arb_signin(), ps in prop::collection::vec(arb_policy(0), 1..4), blk in arb_policy(9),
        locs in arb_locations(), dir in arb_directory(),
    ) {
        let ps = with_ids(ps);
        let (before, _) = decide_all(&ps, &s, &locs, dir.as_ref());
        let mut blk = blk;
        blk["id"] = json!("added-block");
        blk["state"] = json!("enabled");
        blk["grantControls"] = block();
        let mut more = ps.clone();
        more.push(blk);
        let (after, _) = decide_all(&more, &s, &locs, dir.as_ref());
        prop_assert!(!(before == "failure" && after != "failure"), "{before} -> {after}");
        if rank(before) < 4 && rank(after) < 4 {
            prop_assert!(rank(after) >= rank(before), "{before} -> {after}");
        }
        // A block for every user and resource, on a sign-in that certainly reached CA.
        let mut all = ps;
        all.push(policy("certain-block", "enabled", all_users_all_apps(), block()));
        let (certain, _) = decide_all(&all, &s, &locs, dir.as_ref());
        let user_signin = !matches!(s.kind, Some(SignInKind::ServicePrincipal | SignInKind::ManagedIdentity))
            && (s.kind.is_some() || s.user_id.is_some());
        if s.error_code == Some(0) && user_signin {
            prop_assert_eq!(certain, "failure");
        }
    }

    /// A report-only policy never changes the status or the controls: adding one is the same as
    /// not having it, and so is switching an enforced policy to report-only is the same as
    /// removing it.
    #[test]
    fn report_only_never_changes_the_status(
        s in arb_signin(), ps in prop::collection::vec(arb_policy(0), 1..4), ro in arb_policy(9),
        locs in arb_locations(), dir in arb_directory(), flip in any::<prop::sample::Index>(),
    ) {
        let ps = with_ids(ps);
        let before = decide_all(&ps, &s, &locs, dir.as_ref());
        let mut ro = ro;
        ro["id"] = json!("added-report-only");
        ro["state"] = json!("enabledForReportingButNotEnforced");
        let mut more = ps.clone();
        more.push(ro);
        prop_assert_eq!(&before, &decide_all(&more, &s, &locs, dir.as_ref()));

        let k = flip.index(ps.len());
        let mut flipped = ps.clone();
        flipped[k]["state"] = json!("enabledForReportingButNotEnforced");
        let mut removed = ps;
        removed.remove(k);
        let without = if removed.is_empty() {
            ("notApplied", vec![])
        } else {
            decide_all(&removed, &s, &locs, dir.as_ref())
        };
        prop_assert_eq!(decide_all(&flipped, &s, &locs, dir.as_ref()), without);
    }
}
