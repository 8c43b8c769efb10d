//! `whatif`: building the described sign-in from flags (unspecified = unknown) and evaluating it.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::json;
use vigil_simulator::directory::directory_from_json;
use vigil_simulator::eval::Context;
use vigil_simulator::policy::policies_from_json;
use vigil_simulator::whatif::{WhatIfInput, build_signin, client_app_used, whatif};

const USER: &str = "0a6f3e2d-1b9c-4e87-a5d4-62c1f0e9b873";

fn input(user: &str) -> WhatIfInput {
    WhatIfInput {
        user: user.into(),
        ..WhatIfInput::default()
    }
}

#[test]
fn unspecified_properties_stay_unknown() {
    let (s, warnings) = build_signin(&input(USER), None).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(s.user_id.as_deref(), Some(USER));
    assert_eq!(
        s.error_code,
        Some(0),
        "primary authentication is assumed done"
    );
    for (name, unknown) in [
        ("user_type", s.user_type.is_none()),
        ("resource_id", s.resource_id.is_none()),
        ("client_app_used", s.client_app_used.is_none()),
        ("operating_system", s.operating_system.is_none()),
        ("ip_address", s.ip_address.is_none()),
        ("country", s.country.is_none()),
        ("sign_in_risk_level", s.sign_in_risk_level.is_none()),
        ("user_risk_level", s.user_risk_level.is_none()),
        ("device_compliant", s.device_compliant.is_none()),
        ("device_trust_type", s.device_trust_type.is_none()),
        ("mfa_satisfied", s.mfa_satisfied.is_none()),
        ("authentication_methods", s.authentication_methods.is_none()),
    ] {
        assert!(unknown, "{name} should be unknown");
    }
}

#[test]
fn flags_are_normalized_to_the_log_spellings() {
    let i = WhatIfInput {
        user_type: Some("guest".into()),
        cross_tenant: Some("B2BCollaboration".into()),
        app: Some("00000002-0000-0FF1-CE00-000000000000".into()),
        client_app: Some("mobileAppsAndDesktopClients".into()),
        platform: Some("ios".into()),
        ip: Some(" 2001:db8::1 ".into()),
        country: Some("de".into()),
        sign_in_risk: Some("High".into()),
        device_trust_type: Some("ServerAD".into()),
        mfa_done: Some(false),
        auth_methods: vec!["Password".into()],
        ..input(USER)
    };
    let (s, _) = build_signin(&i, None).unwrap();
    assert_eq!(s.user_type.as_deref(), Some("Guest"));
    assert_eq!(
        s.cross_tenant_access_type.as_deref(),
        Some("b2bCollaboration")
    );
    assert_eq!(
        s.resource_id.as_deref(),
        Some("00000002-0000-0ff1-ce00-000000000000")
    );
    assert_eq!(
        s.client_app_used.as_deref(),
        Some("Mobile Apps and Desktop clients")
    );
    assert_eq!(s.operating_system.as_deref(), Some("iOS"));
    assert_eq!(s.ip_address.as_deref(), Some("2001:db8::1"));
    assert_eq!(s.country.as_deref(), Some("DE"));
    assert_eq!(s.sign_in_risk_level.as_deref(), Some("high"));
    assert_eq!(
        s.device_trust_type.as_deref(),
        Some("Hybrid Azure AD joined")
    );
    assert_eq!(s.mfa_satisfied, Some(false));
    assert_eq!(s.authentication_methods, Some(vec!["Password".to_string()]));
    assert_eq!(client_app_used("imap4").unwrap(), "IMAP4");
}

#[test]
fn bad_flags_name_the_flag() {
    let cases: Vec<(WhatIfInput, &str)> = vec![
        (input("not-a-user"), "--user"),
        (
            WhatIfInput {
                client_app: Some("browsr".into()),
                ..input(USER)
            },
            "--client-app",
        ),
        (
            WhatIfInput {
                platform: Some("amiga".into()),
                ..input(USER)
            },
            "--platform",
        ),
        (
            WhatIfInput {
                ip: Some("300.1.1.1".into()),
                ..input(USER)
            },
            "--ip",
        ),
        (
            WhatIfInput {
                country: Some("USA".into()),
                ..input(USER)
            },
            "--country",
        ),
        (
            WhatIfInput {
                sign_in_risk: Some("severe".into()),
                ..input(USER)
            },
            "--sign-in-risk",
        ),
        (
            WhatIfInput {
                app: Some("Exchange".into()),
                ..input(USER)
            },
            "--app",
        ),
        (
            WhatIfInput {
                user_type: Some("Admin".into()),
                ..input(USER)
            },
            "--user-type",
        ),
    ];
    for (i, flag) in cases {
        let e = build_signin(&i, None).unwrap_err();
        assert!(e.starts_with(flag), "{flag}: {e}");
    }
}

#[test]
fn a_upn_resolves_through_the_directory_snapshot() {
    let dir = directory_from_json(
        &json!({"users": [{"id": USER, "userPrincipalName": "Ada@Contoso.example",
                           "userType": "Member", "groups": ["g1"], "roles": []}]}),
        Path::new("dir.json"),
    )
    .unwrap();
    let (s, _) = build_signin(&input("ada@contoso.example"), Some(&dir)).unwrap();
    assert_eq!(s.user_id.as_deref(), Some(USER));
    assert_eq!(s.user_type.as_deref(), Some("Member"));
    let e = build_signin(&input("bob@contoso.example"), Some(&dir)).unwrap_err();
    assert!(e.contains("directory snapshot"), "{e}");
    // Without a snapshot a UPN is kept, and the object id stays unknown.
    let (s, _) = build_signin(&input("ada@contoso.example"), None).unwrap();
    assert_eq!(s.user_id, None);
    assert_eq!(
        s.user_principal_name.as_deref(),
        Some("ada@contoso.example")
    );
}

#[test]
fn undecided_signals_name_the_flags_and_policies() {
    let policies = policies_from_json(
        &json!([{"id": "p-platform", "displayName": "Block Android", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]},
                                "platforms": {"includePlatforms": ["android"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["block"]}}]),
        Path::new("p.json"),
    )
    .unwrap()
    .policies;
    let ctx = Context::new(&policies, &[], None).unwrap();
    let (s, notes) = build_signin(&input(USER), None).unwrap();
    let r = whatif(&policies, s, &ctx, notes);
    assert_eq!(r.decision.policies[0].result, "indeterminate");
    assert_eq!(r.decision.status, "indeterminate");
    let u = r
        .undecided
        .iter()
        .find(|u| u.signal == "device platform")
        .unwrap();
    assert_eq!(u.policies, ["p-platform"]);
    assert!(u.flags.contains("--platform"));

    let (s, notes) = build_signin(
        &WhatIfInput {
            platform: Some("android".into()),
            ..input(USER)
        },
        None,
    )
    .unwrap();
    let r = whatif(&policies, s, &ctx, notes);
    assert_eq!(r.decision.status, "failure");
    assert!(r.undecided.is_empty(), "{:?}", r.undecided);
}
