//! The two replay paths agree: `simulate::run` (row by row, the reference) and
//! `columnar::run` (normalized Parquet, keys evaluated once) write byte-identical
//! decisions.ndjson and decisions.parquet and the same summary.json (`distinctKeys` aside) on
//! generated sign-ins that vary every field evaluation reads, against policies that use every
//! condition and control. Also: the Parquet table round-trips every field.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::if_same_then_else
)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use vigil_simulator::columnar;
use vigil_simulator::directory::directory_from_json;
use vigil_simulator::location::locations_from_json;
use vigil_simulator::model::{
    Degrees, Directory, LoggedPolicy, NamedLocation, Policy, SignIn, SignInKind,
};
use vigil_simulator::policy::policies_from_json;
use vigil_simulator::simulate::{self, Baseline, DecisionFiles, DecisionsFilter, Inputs};
use vigil_simulator::snapshots::{Devices, UserRisk};
use vigil_simulator::table::{self, TableFile};

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    /// One of `items`, or None (about one time in `none_in`).
    fn opt(&mut self, items: &[&str], none_in: usize) -> Option<String> {
        if self.below(none_in) == 0 {
            None
        } else {
            Some(self.pick(items).to_string())
        }
    }
    fn flag(&mut self) -> Option<bool> {
        match self.below(3) {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        }
    }
}

fn guid(prefix: u32, n: u32) -> String {
    format!("{prefix:08x}-0000-4000-8000-{n:012x}")
}

const TENANT: &str = "11111111-1111-4111-8111-111111111111";
const PARTNER: &str = "22222222-2222-4222-8222-222222222222";
const OTHER_TENANT: &str = "33333333-3333-4333-8333-333333333333";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const AZURE_PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const DEVICE_REG: &str = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9";
const MY_SIGNINS: &str = "19db86c3-b2b9-44cc-b339-36da233a3be2";
const GROUP_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const GROUP_B: &str = "aaaaaaaa-0000-4000-8000-000000000002";
const ROLE_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

fn user(n: u32) -> String {
    guid(0x0a11_ce00, n)
}

fn app(n: u32) -> String {
    guid(0x0a99_0000, n)
}

fn sp(n: u32) -> String {
    guid(0x5e77_0000, n)
}

fn device(n: u32) -> String {
    guid(0xde71_ce00, n)
}

/// Sign-ins that vary every field evaluation reads, with nulls, odd spellings and edge cases.
fn signins(n: usize, seed: u64) -> Vec<SignIn> {
    let mut r = Rng(seed);
    let mut out: Vec<SignIn> = Vec::with_capacity(n);
    let apps: Vec<String> = (0..6)
        .map(app)
        .chain([EXCHANGE, AZURE_PORTAL, DEVICE_REG, MY_SIGNINS].map(String::from))
        .chain([app(1).to_uppercase()])
        .collect();
    let app_refs: Vec<&str> = apps.iter().map(String::as_str).collect();
    let ips = [
        "10.1.2.3",
        "10.1.200.7",
        " 10.1.2.3 ",
        "10.9.9.9",
        "192.0.2.10",
        "192.0.2.77",
        "198.51.100.4",
        "203.0.113.9",
        "2001:db8::1",
        "2001:db8:1::5",
        "::ffff:10.1.2.3",
        "not-an-ip",
        "",
    ];
    let applied_sets: Vec<Option<Vec<LoggedPolicy>>> = vec![
        None,
        Some(vec![]),
        Some(vec![LoggedPolicy {
            id: guid(0xca00_0000, 1),
            display_name: Some("Require MFA".into()),
            result: "success".into(),
            enforced_grant_controls: vec!["Mfa".into()],
            enforced_session_controls: vec![],
        }]),
        Some(vec![
            LoggedPolicy {
                id: guid(0xca00_0000, 2),
                display_name: None,
                result: "failure".into(),
                enforced_grant_controls: vec!["Block".into()],
                enforced_session_controls: vec![],
            },
            LoggedPolicy {
                id: "not-a-candidate".into(),
                display_name: Some("Old".into()),
                result: "reportOnlyInterrupted".into(),
                enforced_grant_controls: vec!["RequireCompliantDevice".into()],
                enforced_session_controls: vec!["SignInFrequency".into()],
            },
        ]),
        Some(vec![LoggedPolicy {
            id: guid(0xca00_0000, 3),
            display_name: Some("Unknown".into()),
            result: "unknown".into(),
            enforced_grant_controls: vec![],
            enforced_session_controls: vec![],
        }]),
    ];
    for i in 0..n {
        // Most rows repeat an earlier one in everything but values the policies cannot tell
        // apart (another address in the same range, another unlisted user or app, another
        // version of the same platform), so that keys are shared and representatives differ.
        if i >= 50 && r.chance(70) {
            let mut s = out[r.below(i.min(200))].clone();
            s.id = guid(0x5161_0000, u32::try_from(i).unwrap());
            s.created_date_time =
                format!("2026-01-0{}T10:{:02}:00.000Z", 4 + r.below(4), r.below(60));
            let same = |r: &mut Rng, v: &Option<String>, groups: &[&[&str]]| -> Option<String> {
                let v = v.as_deref()?;
                match groups.iter().find(|g| g.contains(&v)) {
                    Some(g) => Some(r.pick(g).to_string()),
                    None => Some(v.to_string()),
                }
            };
            s.ip_address = same(
                &mut r,
                &s.ip_address,
                &[
                    &[
                        "10.1.2.3",
                        "10.1.200.7",
                        " 10.1.2.3 ",
                        "::ffff:10.1.2.3",
                        "2001:db8::1",
                        "2001:db8:1::5",
                    ],
                    &["192.0.2.10", "192.0.2.77"],
                    &["198.51.100.4", "203.0.113.9", "10.9.9.9"],
                ],
            );
            s.operating_system = same(
                &mut r,
                &s.operating_system,
                &[
                    &["Windows 10", "Windows", "Windows11"],
                    &["iOS 17.2", "Ipad"],
                    &["Linux", "Ubuntu"],
                ],
            );
            if s.user_id.is_some() && r.chance(50) {
                let u = 9 + u32::try_from(r.below(31)).unwrap();
                s.user_id = Some(user(u));
                s.user_principal_name = Some(format!("user{u}@contoso.com"));
            }
            if r.chance(50) {
                s.app_id = Some(app(10 + u32::try_from(r.below(5)).unwrap()));
            }
            s.device_id = s
                .device_id
                .map(|_| device(4 + u32::try_from(r.below(8)).unwrap()));
            s.correlation_id = Some(guid(0xc0c0_0000, u32::try_from(r.below(5000)).unwrap()));
            // And often one field from another row: a policy that reads a field its key
            // projection leaves out then sees two rows its cache takes for one.
            if r.chance(60) {
                let d = out[r.below(i)].clone();
                match r.below(36) {
                    0 => s.kind = d.kind,
                    1 => s.error_code = d.error_code,
                    2 => s.user_id = d.user_id,
                    3 => s.user_principal_name = d.user_principal_name,
                    4 => s.user_type = d.user_type,
                    5 => s.home_tenant_id = d.home_tenant_id,
                    6 => s.resource_tenant_id = d.resource_tenant_id,
                    7 => s.cross_tenant_access_type = d.cross_tenant_access_type,
                    8 => s.service_principal_id = d.service_principal_id,
                    9 => s.service_principal_risk_level = d.service_principal_risk_level,
                    10 => s.app_id = d.app_id,
                    11 => s.resource_id = d.resource_id,
                    12 => s.ip_address = d.ip_address,
                    13 => s.country = d.country,
                    14 => s.network_names = d.network_names,
                    15 => s.trusted_network = d.trusted_network,
                    16 => s.client_app_used = d.client_app_used,
                    17 => s.operating_system = d.operating_system,
                    18 => s.device_id = d.device_id,
                    19 => s.device_display_name = d.device_display_name,
                    20 => s.device_compliant = d.device_compliant,
                    21 => s.device_managed = d.device_managed,
                    22 => s.device_trust_type = d.device_trust_type,
                    23 => s.authentication_protocol = d.authentication_protocol,
                    24 => s.original_transfer_method = d.original_transfer_method,
                    25 => s.sign_in_risk_level = d.sign_in_risk_level,
                    26 => s.user_risk_level = d.user_risk_level,
                    27 => s.mfa_satisfied = d.mfa_satisfied,
                    28 => s.authentication_methods = d.authentication_methods,
                    29 => s.conditional_access_status = d.conditional_access_status,
                    30 => s.app_owner_tenant_id = d.app_owner_tenant_id,
                    31 => s.client_credential_type = d.client_credential_type,
                    32 => s.primary_auth_fresh = d.primary_auth_fresh,
                    33 => s.authentication_contexts = d.authentication_contexts,
                    34 => s.is_interactive = d.is_interactive,
                    _ => s.applied_policies = d.applied_policies,
                }
            }
            out.push(s);
            continue;
        }
        let kind = match r.below(12) {
            0 => Some(SignInKind::ServicePrincipal),
            1 => Some(SignInKind::ManagedIdentity),
            2 => None,
            3..=5 => Some(SignInKind::NonInteractiveUser),
            _ => Some(SignInKind::InteractiveUser),
        };
        let workload = matches!(
            kind,
            Some(SignInKind::ServicePrincipal | SignInKind::ManagedIdentity)
        ) || (kind.is_none() && r.chance(30));
        let u = u32::try_from(r.below(40)).unwrap();
        let user_id = if workload || r.chance(5) {
            None
        } else if u == 3 {
            // A user some policy lists, spelled in upper case.
            Some(user(3).to_uppercase())
        } else {
            Some(user(u))
        };
        let upn = if workload {
            None
        } else if r.chance(10) {
            None
        } else if r.chance(25) {
            // Not in the directory: only the object id finds the user there.
            Some(format!("user{u}_live.com#EXT#@contoso.com"))
        } else {
            Some(format!("User{u}@Contoso.com"))
        };
        let guest = !workload && r.chance(20);
        let s = SignIn {
            id: guid(0x5161_0000, u32::try_from(i).unwrap()),
            created_date_time: format!(
                "2026-01-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                4 + r.below(4),
                r.below(24),
                r.below(60),
                r.below(60),
                r.below(1000)
            ),
            correlation_id: if r.chance(10) {
                None
            } else {
                Some(guid(0xc0c0_0000, u32::try_from(r.below(5000)).unwrap()))
            },
            kind,
            user_id,
            user_principal_name: upn,
            user_type: if workload {
                None
            } else if guest {
                Some(r.pick(&["Guest", "guest"]).to_string())
            } else {
                r.opt(&["Member"], 8)
            },
            home_tenant_id: if guest {
                r.opt(&[PARTNER, OTHER_TENANT, TENANT], 5)
            } else {
                r.opt(&[TENANT], 6)
            },
            resource_tenant_id: r.opt(&[TENANT], 6),
            app_owner_tenant_id: if workload {
                r.opt(&[TENANT, OTHER_TENANT], 4)
            } else {
                None
            },
            cross_tenant_access_type: if guest {
                r.opt(
                    &[
                        "b2bCollaboration",
                        "b2bDirectConnect",
                        "serviceProvider",
                        "none",
                    ],
                    4,
                )
            } else {
                r.opt(&["none"], 3)
            },
            service_principal_id: if workload {
                if r.chance(10) {
                    None
                } else {
                    Some(sp(u32::try_from(r.below(5)).unwrap()))
                }
            } else {
                None
            },
            service_principal_name: workload.then(|| format!("svc-{}", r.below(5))),
            app_id: r.opt(&app_refs, 12),
            app_display_name: r.opt(&["Outlook", "Azure Portal", "Teams", ""], 5),
            resource_id: r.opt(&app_refs, 4),
            resource_display_name: r.opt(&["Exchange", "Graph"], 3),
            ip_address: if r.chance(8) {
                None
            } else {
                Some(r.pick(&ips).to_string())
            },
            country: r.opt(&["US", "de", "FR", "KP", ""], 6),
            city: r.opt(&["Seattle", "Berlin"], 3),
            state: r.opt(&["WA"], 3),
            latitude: r
                .chance(70)
                .then(|| Degrees(r.below(18_000) as f64 / 100.0 - 90.0)),
            longitude: r
                .chance(70)
                .then(|| Degrees(r.below(36_000) as f64 / 100.0 - 180.0)),
            network_names: match r.below(5) {
                0 => None,
                1 => Some(vec![]),
                2 => Some(vec!["Corp HQ".into()]),
                3 => Some(vec!["corp hq".into(), "Branch".into()]),
                _ => Some(vec!["Branch".into()]),
            },
            trusted_network: r.flag(),
            client_app_used: r.opt(
                &[
                    "Browser",
                    "Mobile Apps and Desktop clients",
                    "Exchange ActiveSync",
                    "IMAP4",
                    "Other clients",
                    "unknown",
                ],
                7,
            ),
            operating_system: r.opt(
                &[
                    "Windows 10",
                    "Windows",
                    "Windows11",
                    "iOS 17.2",
                    "Ipad",
                    "Android 14",
                    "MacOs",
                    "Linux",
                    "Ubuntu",
                    "ChromeOS",
                    "Windows Phone",
                ],
                8,
            ),
            browser: r.opt(&["Edge 120", "Chrome"], 3),
            device_id: if r.chance(40) {
                None
            } else {
                Some(device(u32::try_from(r.below(12)).unwrap()))
            },
            device_display_name: r.opt(&["SAW-0042", "LAPTOP-7", "phone", ""], 3),
            device_compliant: r.flag(),
            device_managed: r.flag(),
            device_trust_type: r.opt(
                &[
                    "Azure AD joined",
                    "Hybrid Azure AD joined",
                    "Azure AD registered",
                    "Workplace",
                ],
                3,
            ),
            authentication_protocol: r.opt(&["none", "deviceCode", "ropc", "oAuth2"], 3),
            original_transfer_method: r
                .opt(&["none", "deviceCodeFlow", "authenticationTransfer"], 3),
            sign_in_risk_level: r.opt(&["none", "low", "medium", "high", "hidden"], 4),
            risk_level_aggregated: r.opt(&["none", "high"], 3),
            risk_state: r.opt(&["none", "atRisk"], 3),
            risk_event_types: match r.below(4) {
                0 => None,
                1 => Some(vec![]),
                _ => Some(vec![
                    r.pick(&["anonymizedIPAddress", "unlikelyTravel"])
                        .to_string(),
                ]),
            },
            user_risk_level: if r.chance(60) {
                None
            } else {
                r.opt(&["none", "low", "medium", "high"], 5)
            },
            service_principal_risk_level: if workload {
                r.opt(&["none", "low", "high"], 3)
            } else {
                None
            },
            authentication_requirement: r.opt(
                &["singleFactorAuthentication", "multiFactorAuthentication"],
                3,
            ),
            mfa_satisfied: r.flag(),
            authentication_methods: match r.below(6) {
                0 => None,
                1 => Some(vec![]),
                2 => Some(vec!["Password".into()]),
                3 => Some(vec!["Password".into(), "Mobile app notification".into()]),
                4 => Some(vec!["FIDO2 security key".into()]),
                _ => Some(vec!["Windows Hello for Business".into()]),
            },
            error_code: match r.below(14) {
                0 => None,
                1 => Some(50126),
                2 => Some(50074),
                3 => Some(53003),
                4 => Some(50058),
                5 => Some(12345),
                6 => Some(50076),
                _ => Some(0),
            },
            failure_reason: r.opt(&["Other.", "Invalid username or password."], 3),
            conditional_access_status: r.opt(
                &["success", "failure", "notApplied", "unknownFutureValue"],
                5,
            ),
            applied_policies: r.pick(&applied_sets).clone(),
            is_interactive: r.flag(),
            client_credential_type: r.opt(
                &["none", "clientSecret", "certificate", "unknownFutureValue"],
                4,
            ),
            primary_auth_fresh: r.flag(),
            authentication_contexts: match r.below(4) {
                0 => None,
                1 => Some(vec![]),
                2 => Some(vec!["c1".into()]),
                _ => Some(vec!["c2".into(), "C1".into()]),
            },
            user_agent: r.opt(&["Mozilla/5.0", "curl/8"], 3),
            source_variant: r.opt(&["graph", "ndjson"], 4),
        };
        out.push(s);
    }
    out
}

fn policy(n: u32, state: &str, conditions: Value, grant: Value) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
        "id": guid(0xca00_0000, n),
        "displayName": format!("CA{n:03}"),
        "state": state,
        "conditions": conditions,
        "grantControls": grant,
        "sessionControls": null
    })
}

fn with_session(mut p: Value, session: Value) -> Value {
    p["sessionControls"] = session;
    p
}

fn all_users_apps(extra: Value) -> Value {
    let mut c = json!({
        "users": {"includeUsers": ["All"], "excludeUsers": [user(0)]},
        "applications": {"includeApplications": ["All"]},
        "clientAppTypes": ["all"]
    });
    if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
        c.extend(extra);
    }
    c
}

fn grant(op: &str, controls: &[&str]) -> Value {
    json!({"operator": op, "builtInControls": controls})
}

/// Policies that between them use every condition and control evaluation knows.
fn policies() -> Value {
    let mfa = grant("OR", &["mfa"]);
    let block = grant("OR", &["block"]);
    json!([
        policy(1, "enabled", all_users_apps(json!({})), mfa.clone()),
        policy(
            2,
            "enabled",
            json!({
                "users": {"includeUsers": [user(3), user(4)], "excludeUsers": []},
                "applications": {"includeApplications": ["Office365"], "excludeApplications": [app(2)]},
                "clientAppTypes": ["browser", "mobileAppsAndDesktopClients"]
            }),
            block.clone()
        ),
        policy(
            3,
            "enabled",
            json!({
                "users": {"includeGroups": [GROUP_A], "excludeRoles": [ROLE_ADMIN]},
                "applications": {"includeApplications": ["MicrosoftAdminPortals"]},
                "clientAppTypes": ["exchangeActiveSync", "other"]
            }),
            block.clone()
        ),
        policy(
            4,
            "enabledForReportingButNotEnforced",
            json!({
                "users": {"includeRoles": [ROLE_ADMIN], "excludeGroups": [GROUP_B]},
                "applications": {"includeApplications": ["All"]},
                "clientAppTypes": ["all"]
            }),
            json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]})
        ),
        policy(
            5,
            "enabled",
            json!({
                "users": {"includeUsers": ["GuestsOrExternalUsers"]},
                "applications": {"includeApplications": ["All"], "excludeApplications": [app(1)]},
                "clientAppTypes": ["all"]
            }),
            json!({"operator": "OR", "builtInControls": [], "termsOfUse": ["tou-1"]})
        ),
        policy(
            6,
            "enabled",
            json!({
                "users": {"includeGuestsOrExternalUsers": {
                    "guestOrExternalUserTypes": "b2bCollaborationGuest,b2bDirectConnectUser,internalGuest",
                    "externalTenants": {"membershipKind": "enumerated", "members": [PARTNER]}}},
                "applications": {"includeApplications": ["All"]},
                "clientAppTypes": ["all"]
            }),
            block.clone()
        ),
        policy(
            7,
            "enabled",
            all_users_apps(json!({
                "platforms": {"includePlatforms": ["all"], "excludePlatforms": ["iOS", "android"]}
            })),
            json!({"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"]})
        ),
        policy(
            8,
            "enabled",
            all_users_apps(json!({
                "platforms": {"includePlatforms": ["android", "iOS"]}
            })),
            json!({"operator": "OR", "builtInControls": ["approvedApplication", "compliantApplication"]})
        ),
        policy(
            9,
            "enabled",
            all_users_apps(json!({
                "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
            })),
            mfa.clone()
        ),
        policy(
            10,
            "enabled",
            all_users_apps(json!({
                "locations": {"includeLocations": ["loc-blocked", "loc-countries"], "excludeLocations": ["loc-corp"]}
            })),
            block.clone()
        ),
        policy(
            11,
            "enabledForReportingButNotEnforced",
            all_users_apps(json!({
                "locations": {"includeLocations": ["loc-corp", "loc-undefined", "loc-compliant"]}
            })),
            mfa.clone()
        ),
        policy(
            12,
            "enabled",
            all_users_apps(json!({
                "signInRiskLevels": ["high", "medium"]
            })),
            mfa.clone()
        ),
        policy(
            13,
            "enabled",
            all_users_apps(json!({
                "userRiskLevels": ["high"]
            })),
            json!({"operator": "AND", "builtInControls": ["mfa", "passwordChange"]})
        ),
        policy(
            14,
            "enabled",
            all_users_apps(json!({
                "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.isCompliant -eq True -or device.trustType -eq \"ServerAD\""}}
            })),
            block.clone()
        ),
        policy(
            15,
            "enabled",
            all_users_apps(json!({
                "devices": {"deviceFilter": {"mode": "include", "rule": format!("device.deviceId -eq \"{}\" -or device.displayName -startsWith \"SAW\"", device(1))}}
            })),
            mfa.clone()
        ),
        policy(
            16,
            "enabledForReportingButNotEnforced",
            all_users_apps(json!({
                "devices": {"deviceFilter": {"mode": "include", "rule": "device.operatingSystem -contains \"Windows\" -and device.model -eq \"Surface Laptop 5\""}}
            })),
            mfa.clone()
        ),
        policy(
            17,
            "enabled",
            all_users_apps(json!({
                "authenticationFlows": {"transferMethods": "deviceCodeFlow,authenticationTransfer"}
            })),
            block.clone()
        ),
        policy(
            18,
            "enabled",
            all_users_apps(json!({})),
            json!({
                "operator": "OR", "builtInControls": [],
                "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004",
                    "displayName": "Phishing-resistant MFA",
                    "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"]}
            })
        ),
        policy(
            19,
            "enabled",
            json!({
                "users": {"includeUsers": ["All"]},
                "applications": {"includeApplications": ["All"]},
                "clientAppTypes": ["all"]
            }),
            json!({"operator": "OR", "builtInControls": [],
            "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002", "allowedCombinations": []}})
        ),
        policy(
            20,
            "enabled",
            json!({
                "users": {"includeUsers": ["All"]},
                "applications": {"includeUserActions": ["urn:user:registersecurityinfo"]},
                "clientAppTypes": ["all"],
                "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
            }),
            mfa.clone()
        ),
        policy(
            21,
            "enabled",
            json!({
                "users": {"includeUsers": ["All"]},
                "applications": {"includeUserActions": ["urn:user:registerdevice"]},
                "clientAppTypes": ["all"]
            }),
            mfa.clone()
        ),
        policy(
            22,
            "enabled",
            json!({
                "users": null,
                "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"], "excludeServicePrincipals": [sp(1)]},
                "applications": {"includeApplications": ["All"]},
                "servicePrincipalRiskLevels": ["high"],
                "clientAppTypes": ["all"]
            }),
            block.clone()
        ),
        policy(
            23,
            "enabled",
            json!({
                "clientApplications": {"includeServicePrincipals": [sp(2).to_uppercase()]},
                "applications": {"includeApplications": ["All"]},
                "clientAppTypes": ["all"],
                "locations": {"includeLocations": ["All"], "excludeLocations": ["loc-corp"]}
            }),
            block.clone()
        ),
        policy(24, "disabled", all_users_apps(json!({})), block.clone()),
        policy(
            25,
            "enabled",
            all_users_apps(json!({
                "insiderRiskLevels": "elevated"
            })),
            block.clone()
        ),
        policy(
            26,
            "enabled",
            json!({
                "users": {"includeUsers": [user(5).to_uppercase(), user(6)], "excludeUsers": ["GuestsOrExternalUsers"]},
                "applications": {"includeApplications": [app(3).to_uppercase(), app(4)]},
                "clientAppTypes": ["all"]
            }),
            json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice", "domainJoinedDevice"]})
        ),
        policy(
            27,
            "enabled",
            all_users_apps(json!({})),
            json!({
                "operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": ["factor-1"]
            })
        ),
        policy(28, "enabled", all_users_apps(json!({})), Value::Null),
        policy(
            29,
            "enabled",
            all_users_apps(json!({})),
            grant("OR", &["approvedApplication"])
        ),
        with_session(
            policy(30, "enabled", all_users_apps(json!({})), Value::Null),
            json!({"signInFrequency": {"isEnabled": true, "frequencyInterval": "everyTime",
                   "authenticationType": "primaryAndSecondaryAuthentication"}})
        ),
        with_session(
            policy(
                31,
                "enabledForReportingButNotEnforced",
                all_users_apps(json!({})),
                mfa.clone()
            ),
            json!({"signInFrequency": {"isEnabled": true, "frequencyInterval": "timeBased",
                   "type": "hours", "value": 4}})
        ),
        policy(
            32,
            "enabled",
            json!({
                "users": {"includeUsers": ["All"]},
                "applications": {"includeAuthenticationContextClassReferences": ["c1"]},
                "clientAppTypes": ["all"]
            }),
            mfa.clone()
        ),
        policy(
            33,
            "enabled",
            all_users_apps(json!({"clientAppTypes": ["easSupported"]})),
            block.clone()
        ),
        policy(
            34,
            "enabled",
            all_users_apps(json!({
                "devices": {"deviceFilter": {"mode": "include", "rule": "device.trustType -ne \"ServerAD\""}}
            })),
            grant("AND", &["domainJoinedDevice"])
        ),
        // "All" after a named app or location: the reason names what matched first, so these
        // still read the app and the network, unlike policies that start with "All".
        policy(
            35,
            "enabledForReportingButNotEnforced",
            json!({
                "users": {"includeUsers": ["All"]},
                "applications": {"includeApplications": [app(1), "Office365", "All"]},
                "clientAppTypes": ["browser", "all"],
                "locations": {"includeLocations": ["loc-corp", "All"]}
            }),
            grant("OR", &["mfa"])
        ),
        policy(
            36,
            "enabled",
            json!({
                "users": {"includeUsers": ["All"], "excludeGroups": [GROUP_B]},
                "applications": {"includeApplications": ["all"]},
                "clientAppTypes": ["all"],
                "locations": {"includeLocations": ["ALL"]}
            }),
            Value::Null
        )
    ])
}

fn locations() -> Value {
    json!([
        {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "loc-corp", "displayName": "Corp HQ",
         "isTrusted": true, "ipRanges": [{"cidrAddress": "10.1.0.0/16"}, {"cidrAddress": "2001:db8::/48"}]},
        {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "loc-blocked", "displayName": "Blocked",
         "isTrusted": false, "ipRanges": [{"cidrAddress": "192.0.2.0/24"}]},
        {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "loc-countries", "displayName": "Sanctioned",
         "countriesAndRegions": ["KP", "IR"], "includeUnknownCountriesAndRegions": true,
         "countryLookupMethod": "clientIpAddress"},
        {"@odata.type": "#microsoft.graph.compliantNetworkNamedLocation", "id": "loc-compliant",
         "displayName": "Compliant network", "compliantNetworkType": "allTenantCompliantNetworks"}
    ])
}

fn directory() -> Value {
    let users: Vec<Value> = (0..30)
        .map(|n| {
            json!({
                "id": user(n),
                "userPrincipalName": format!("user{n}@contoso.com"),
                "userType": if n % 7 == 0 { "Guest" } else { "Member" },
                "groups": match n % 4 { 0 => vec![GROUP_A], 1 => vec![GROUP_A, GROUP_B], 2 => vec![GROUP_B], _ => vec![] },
                "roles": if n % 5 == 0 { vec![ROLE_ADMIN] } else { vec![] }
            })
        })
        .collect();
    json!({"users": users})
}

struct Setup {
    dir: tempfile::TempDir,
    candidate: Vec<Policy>,
    other: Vec<Policy>,
    locations: Vec<NamedLocation>,
    directory: Directory,
    user_risk: UserRisk,
    devices: Devices,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let f = Path::new("policies.json");
    let candidate = policies_from_json(&policies(), f).unwrap().policies;
    // Another set for --baseline PATH: some policies dropped, one loosened.
    let mut other = policies();
    let list = other.as_array_mut().unwrap();
    list.retain(|p| !["CA002", "CA009", "CA014"].contains(&p["displayName"].as_str().unwrap()));
    list[0]["state"] = json!("enabledForReportingButNotEnforced");
    let other = policies_from_json(&other, f).unwrap().policies;
    let locations = locations_from_json(&locations(), Path::new("locations.json"))
        .unwrap()
        .locations;
    let directory = directory_from_json(&directory(), Path::new("directory.json")).unwrap();
    let risk = json!({"value": [
        {"id": user(7), "userId": user(7), "userPrincipalName": "user7@contoso.com",
         "riskLevel": "high", "riskState": "atRisk", "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"},
        {"id": user(7), "userId": user(7), "riskLevel": "none", "riskState": "dismissed",
         "riskLastUpdatedDateTime": "2026-01-06T12:00:00Z"},
        {"id": user(8), "userId": user(8), "userPrincipalName": "user8@contoso.com",
         "riskLevel": "medium", "riskState": "atRisk", "riskLastUpdatedDateTime": "2026-01-04T00:00:00Z"}
    ]});
    fs::write(dir.path().join("risk.json"), risk.to_string()).unwrap();
    let user_risk = UserRisk::load(&dir.path().join("risk.json"), false).unwrap();
    let devices = json!({"value": [
        {"deviceId": device(1), "displayName": "SAW-0042", "operatingSystem": "Windows",
         "model": "Surface Laptop 5", "isManaged": true, "trustType": "ServerAd"},
        {"deviceId": device(2), "model": "ThinkPad", "isCompliant": true},
        {"deviceId": device(3).to_uppercase(), "model": "Surface Laptop 5",
         "extensionAttributes": {"extensionAttribute1": "SAW"}}
    ]});
    fs::write(dir.path().join("devices.json"), devices.to_string()).unwrap();
    let devices = Devices::load(&dir.path().join("devices.json")).unwrap();
    Setup {
        dir,
        candidate,
        other,
        locations,
        directory,
        user_risk,
        devices,
    }
}

struct Run<'a> {
    baseline: Baseline<'a>,
    decisions: DecisionsFilter,
    directory: bool,
    snapshots: bool,
}

fn inputs<'a>(
    s: &'a Setup,
    run: &Run<'a>,
    signins: &'a [SignIn],
    out: &'a Path,
    duplicates: u64,
) -> Inputs<'a> {
    Inputs {
        signins,
        policies: &s.candidate,
        locations: &s.locations,
        directory: run.directory.then_some(&s.directory),
        baseline: match run.baseline {
            Baseline::Logged => Baseline::Logged,
            Baseline::None => Baseline::None,
            Baseline::Policies(p) => Baseline::Policies(p),
            Baseline::Snapshots(p) => Baseline::Snapshots(p),
        },
        decisions: run.decisions,
        decision_files: DecisionFiles::Both,
        out,
        skipped: 0,
        duplicates,
        warnings: vec!["a warning".into()],
        user_risk: run.snapshots.then_some(&s.user_risk),
        devices: run.snapshots.then_some(&s.devices),
        ai: None,
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            let at = x.bytes().zip(y.bytes()).take_while(|(p, q)| p == q).count();
            let from = x[..at].char_indices().rev().nth(150).map_or(0, |c| c.0);
            let show = |t: &str| t[from..].chars().take(400).collect::<String>();
            return format!(
                "line {}:\nrows:     …{}\ncolumnar: …{}",
                i + 1,
                show(x),
                show(y)
            );
        }
    }
    format!(
        "{} lines (rows) vs {} lines (columnar)",
        a.lines().count(),
        b.lines().count()
    )
}

/// Runs both paths: the row path on `rows` (already deduplicated, `duplicates` dropped), the
/// columnar path on `files`; asserts identical outputs.
fn compare(s: &Setup, run: &Run, rows: &[SignIn], duplicates: u64, files: &[PathBuf], name: &str) {
    let a = s.dir.path().join(format!("{name}-rows"));
    let b = s.dir.path().join(format!("{name}-columnar"));
    let want = simulate::run(inputs(s, run, rows, &a, duplicates)).unwrap();
    let tables: Vec<TableFile> = files.iter().map(|f| TableFile::open(f).unwrap()).collect();
    let got = columnar::run(&tables, inputs(s, run, &[], &b, 0)).unwrap();
    for file in ["decisions.ndjson", "decisions.parquet"] {
        let (x, y) = (a.join(file), b.join(file));
        assert_eq!(x.exists(), y.exists(), "{name}: {file}");
        if x.exists() {
            let (x, y) = (fs::read(x).unwrap(), fs::read(y).unwrap());
            assert!(
                x == y,
                "{name}: {file} differs: {}",
                first_difference(&x, &y)
            );
        }
    }
    let summary = |p: &Path| {
        let mut v: Value =
            serde_json::from_slice(&fs::read(p.join("summary.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("distinctKeys");
        v
    };
    assert_eq!(summary(&a), summary(&b), "{name}: summary.json");
    assert!(got.distinct_keys <= want.distinct_keys, "{name}: keys");
    // The report's breakdowns are in that comparison; they must hold something to compare.
    let per_day: u64 = want.changed_by_day.values().flat_map(|d| d.values()).sum();
    assert_eq!(
        per_day, want.changed,
        "{name}: the timeline counts every change"
    );
    let per_country: u64 = want.top_changed_countries.iter().map(|c| c.1).sum();
    assert!(per_country <= want.changed, "{name}: countries");
    if want.changed > 0 {
        assert!(!want.top_changed_countries.is_empty(), "{name}: countries");
    }
    assert!(
        want.policy_impact
            .iter()
            .any(|p| p.applied > 0 && p.blocked + p.prompted > 0),
        "{name}: no policy impact"
    );
    assert!(
        want.changed > 0 || run.baseline_is_none(),
        "{name}: nothing changed"
    );
}

impl Run<'_> {
    fn baseline_is_none(&self) -> bool {
        matches!(self.baseline, Baseline::None)
    }
}

#[test]
fn the_table_round_trips_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let rows = signins(3000, 7);
    let path = dir.path().join("s.parquet");
    assert_eq!(table::write_parquet(&rows, &path).unwrap(), (3000, 0));
    assert!(table::is_parquet(&path));
    let back = table::read_parquet(&path).unwrap();
    assert_eq!(back.len(), rows.len());
    for (a, b) in rows.iter().zip(&back) {
        assert_eq!(a, b);
    }
    assert!(TableFile::open(&path).unwrap().unique_ids());
}

/// The writer remembers the code of each policy list it met lately, up to a bound: lists met
/// again after it starts over, stored compressed or not, still read back as written.
#[test]
fn many_distinct_policy_lists_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let base = signins(1, 9).remove(0);
    let rows: Vec<SignIn> = (0..12_000u32)
        .map(|i| {
            let mut s = base.clone();
            s.id = guid(0xabc, i);
            // 5,000 distinct lists (more than the writer remembers), each met again later.
            let n = i % 5_000;
            s.applied_policies = (n % 7 != 0).then(|| {
                vec![LoggedPolicy {
                    id: guid(0xca, n),
                    display_name: (n % 3 != 0).then(|| format!("P\"{n}\u{e9}\n")),
                    result: if n % 2 == 0 { "success" } else { "notApplied" }.into(),
                    enforced_grant_controls: vec!["Mfa".into(); (n % 3) as usize],
                    enforced_session_controls: Vec::new(),
                }]
            });
            s
        })
        .collect();
    for compressed in [true, false] {
        let path = dir.path().join(format!("s-{compressed}.parquet"));
        let mut w = table::TableWriter::create_with(&path, compressed).unwrap();
        for s in &rows {
            w.push(s).unwrap();
        }
        assert_eq!(w.finish().unwrap(), (12_000, 0));
        assert_eq!(table::read_parquet(&path).unwrap(), rows);
    }
}

#[test]
fn the_writer_keeps_the_first_of_each_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = signins(10, 8);
    let mut again = rows[2].clone();
    again.id = again.id.to_uppercase();
    again.country = Some("ZZ".into());
    rows.push(again);
    let path = dir.path().join("s.parquet");
    assert_eq!(table::write_parquet(&rows, &path).unwrap(), (10, 1));
    assert_eq!(table::read_parquet(&path).unwrap(), rows[..10]);
}

#[test]
fn a_parquet_file_that_is_not_a_sign_in_table_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.parquet");
    let s = setup();
    let rows = signins(20, 9);
    let out = dir.path().join("out");
    let run = Run {
        baseline: Baseline::Logged,
        decisions: DecisionsFilter::All,
        directory: false,
        snapshots: false,
    };
    simulate::run(inputs(&s, &run, &rows, &out, 0)).unwrap();
    fs::copy(out.join("decisions.parquet"), &path).unwrap();
    let e = TableFile::open(&path).err().expect("refused").to_string();
    assert!(
        e.contains("decisions.parquet") && e.contains("\"id\""),
        "{e}"
    );
}

#[test]
fn both_paths_write_the_same_results() {
    let s = setup();
    let rows = signins(3000, 42);
    let file = s.dir.path().join("signins.parquet");
    table::write_parquet(&rows, &file).unwrap();
    let other = s.other.clone();
    let cases = [
        (
            "logged-all",
            Run {
                baseline: Baseline::Logged,
                decisions: DecisionsFilter::All,
                directory: true,
                snapshots: false,
            },
        ),
        (
            "policies-changed",
            Run {
                baseline: Baseline::Policies(&other),
                decisions: DecisionsFilter::Changed,
                directory: false,
                snapshots: false,
            },
        ),
        (
            "none-all-snapshots",
            Run {
                baseline: Baseline::None,
                decisions: DecisionsFilter::All,
                directory: true,
                snapshots: true,
            },
        ),
        (
            "logged-changed-snapshots",
            Run {
                baseline: Baseline::Logged,
                decisions: DecisionsFilter::Changed,
                directory: false,
                snapshots: true,
            },
        ),
        (
            "policies-none",
            Run {
                baseline: Baseline::Policies(&other),
                decisions: DecisionsFilter::None,
                directory: true,
                snapshots: false,
            },
        ),
    ];
    for (name, run) in &cases {
        compare(&s, run, &rows, 0, std::slice::from_ref(&file), name);
    }
    // The data reaches the case where reasons show the row's own address (one key, several
    // addresses inside the same IP location).
    let text = fs::read_to_string(s.dir.path().join("logged-all-rows/decisions.ndjson")).unwrap();
    for ip in [
        "matched 10.1.2.3",
        "matched 10.1.200.7",
        "matched 2001:db8::1",
    ] {
        assert!(text.contains(ip), "no reason shows {ip:?}");
    }
}

#[test]
fn several_files_keep_the_first_of_each_id() {
    let s = setup();
    let rows = signins(2000, 1234);
    // The second file repeats 50 ids of the first (with other content, in other case).
    let a = s.dir.path().join("a.parquet");
    let b = s.dir.path().join("b.parquet");
    table::write_parquet(&rows[..1000], &a).unwrap();
    let mut second: Vec<SignIn> = rows[950..1000]
        .iter()
        .map(|r| SignIn {
            id: r.id.to_uppercase(),
            error_code: Some(53003),
            ..r.clone()
        })
        .collect();
    second.extend_from_slice(&rows[1000..]);
    table::write_parquet(&second, &b).unwrap();
    let run = Run {
        baseline: Baseline::Logged,
        decisions: DecisionsFilter::All,
        directory: true,
        snapshots: false,
    };
    compare(&s, &run, &rows, 50, &[a, b], "two-files");
}
