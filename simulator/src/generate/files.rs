//! The generated tenant's configuration as Microsoft Graph exports it: named locations,
//! Conditional Access policies (the built-in set in force, and candidate variants of a real
//! baseline) and the directory snapshot.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::catalog::{
    BREAK_GLASS, GLOBAL_ADMIN, INTERNALS, LOC_BLOCKED, LOC_BRANCH, LOC_EU, LOC_HQ, LOC_VPN,
    LOC_WIDE, SERVICE_ACCOUNTS,
};
use super::tenant::Tenant;

/// A Graph `ipNamedLocation`.
pub fn ip_location(id: &str, name: &str, trusted: bool, cidrs: &[&str]) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": id,
        "displayName": name,
        "createdDateTime": "2025-09-01T08:00:00Z",
        "modifiedDateTime": "2025-09-01T08:00:00Z",
        "isTrusted": trusted,
        "ipRanges": cidrs.iter().map(|c| {
            let t = if c.contains(':') { "#microsoft.graph.iPv6CidrRange" } else { "#microsoft.graph.iPv4CidrRange" };
            json!({"@odata.type": t, "cidrAddress": c})
        }).collect::<Vec<_>>(),
    })
}

/// A Graph `countryNamedLocation`.
pub fn country_location(id: &str, name: &str, countries: &[&str]) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "id": id,
        "displayName": name,
        "createdDateTime": "2025-09-01T08:00:00Z",
        "modifiedDateTime": "2025-09-01T08:00:00Z",
        "countriesAndRegions": countries,
        "includeUnknownCountriesAndRegions": false,
        "countryLookupMethod": "clientIpAddress",
    })
}

/// The generated named locations (file name, Graph `namedLocation`): the offices, the VPN,
/// blocked ranges and two country lists.
pub fn named_locations() -> Vec<(&'static str, Value)> {
    let branch: Vec<String> = (0..10)
        .map(|b| format!("62.41.{}.0/26", 64 + b * 4))
        .collect();
    let branch: Vec<&str> = branch.iter().map(String::as_str).collect();
    let locs = [
        (
            "zz-corporate-hq.json",
            ip_location(
                LOC_HQ,
                "Corporate HQ",
                true,
                &["145.7.32.0/24", "2001:db8:10::/48"],
            ),
        ),
        (
            "zz-branch-offices.json",
            ip_location(LOC_BRANCH, "Branch offices", false, &branch),
        ),
        (
            "zz-vpn-egress.json",
            ip_location(LOC_VPN, "VPN egress", true, &["185.64.12.0/28"]),
        ),
        (
            "zz-blocked-ranges.json",
            ip_location(
                LOC_BLOCKED,
                "Blocked ranges",
                false,
                &["45.155.205.0/24", "194.26.29.0/24"],
            ),
        ),
        (
            "zz-eu-countries.json",
            country_location(
                LOC_EU,
                "EU countries",
                &["NL", "BE", "LU", "DE", "FR", "ES", "IE"],
            ),
        ),
        (
            "zz-allowed-countries-wide.json",
            country_location(
                LOC_WIDE,
                "ALLOWED COUNTRIES (wide)",
                &["NL", "BE", "LU", "DE", "FR", "GB"],
            ),
        ),
    ];
    locs.into_iter().collect()
}

/// The 14 generated candidates: variants of real policies, as an administrator would draft
/// them (mostly report-only, three enforced, one disabled).
/// Variants whose base policy `real` (by file name) lacks are left out.
pub fn variants(real: &BTreeMap<String, Value>) -> Vec<(String, Value)> {
    let base = |prefix: &str| -> Option<Value> {
        real.iter()
            .find(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.clone())
    };
    let mut out = Vec::new();
    let mut add = |n: u32, name: &str, from: &str, state: &str, edit: &dyn Fn(&mut Value)| {
        let Some(mut v) = base(from) else {
            return;
        };
        let Some(o) = v.as_object_mut() else {
            return;
        };
        o.retain(|k, _| !k.starts_with('@') && !k.starts_with('#'));
        o.insert(
            "id".into(),
            json!(format!("be7c4a00-0000-4000-8000-{n:012}")),
        );
        o.insert("displayName".into(), json!(name));
        o.insert("state".into(), json!(state));
        o.insert("createdDateTime".into(), json!("2026-01-20T10:00:00Z"));
        o.insert("modifiedDateTime".into(), json!("2026-01-20T10:00:00Z"));
        edit(&mut v);
        out.push((format!("{name}.json"), v));
    };
    let ro = "enabledForReportingButNotEnforced";
    add(
        900,
        "CA900-Bench-Global-AnyApp-MFA-ExceptCorporateNetwork",
        "CA000",
        ro,
        &|v| {
            v["conditions"]["locations"] =
                json!({"includeLocations": ["All"], "excludeLocations": [LOC_HQ, LOC_VPN]});
        },
    );
    add(
        901,
        "CA901-Bench-Guests-BlockLegacyAuthentication",
        "CA002",
        ro,
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["GuestsOrExternalUsers"]);
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
        },
    );
    add(
        902,
        "CA902-Bench-Internals-WindowsMacOS-CompliantAndHybrid",
        "CA205",
        ro,
        &|v| {
            v["conditions"]["platforms"]["includePlatforms"] = json!(["windows", "macOS"]);
            v["grantControls"]["operator"] = json!("AND");
        },
    );
    add(
        903,
        "CA903-Bench-ServiceAccounts-BlockOutsideEU",
        "CA301",
        ro,
        &|v| {
            v["conditions"]["locations"]["excludeLocations"] = json!([LOC_EU]);
        },
    );
    add(
        904,
        "CA904-Bench-Global-MediumHighSignInRisk-MFA",
        "CA210",
        ro,
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["All"]);
            v["conditions"]["users"]["includeGroups"] = json!([]);
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
            v["conditions"]["signInRiskLevels"] = json!(["medium", "high"]);
            v["grantControls"]["builtInControls"] = json!(["mfa"]);
        },
    );
    add(
        905,
        "CA905-Bench-Global-HighUserRisk-PasswordChange",
        "CA201",
        ro,
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["All"]);
            v["conditions"]["users"]["includeGroups"] = json!([]);
            v["grantControls"]["operator"] = json!("AND");
            v["grantControls"]["builtInControls"] = json!(["mfa", "passwordChange"]);
        },
    );
    add(
        906,
        "CA906-Bench-Admins-AdminPortals-PhishingResistantMFA",
        "CA105",
        ro,
        &|v| {
            v["conditions"]["applications"]["includeApplications"] =
                json!(["MicrosoftAdminPortals"]);
            v["conditions"]["applications"]["excludeApplications"] = json!([]);
        },
    );
    add(
        907,
        "CA907-Bench-Guests-BlockUnknownPlatforms",
        "CA204",
        ro,
        &|v| {
            let guests = base("CA400").map_or(Value::Null, |b| {
                b["conditions"]["users"]["includeGuestsOrExternalUsers"].clone()
            });
            v["conditions"]["users"]["includeGroups"] = json!([]);
            v["conditions"]["users"]["includeGuestsOrExternalUsers"] = guests;
        },
    );
    add(
        908,
        "CA908-Bench-Global-BlockDeviceCodeFlow",
        "CA004",
        ro,
        &|v| {
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
        },
    );
    add(
        909,
        "CA909-Bench-Internals-SelectedApps-BlockUntrustedNetworks",
        "CA207",
        ro,
        &|v| {
            v["conditions"]["applications"]["includeApplications"] = json!([
                "f53895d3-095d-408f-8e93-8f94b391404e",
                "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
                "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
            ]);
            v["conditions"]["applications"]["excludeApplications"] = json!([]);
            v["conditions"]["locations"] =
                json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]});
        },
    );
    add(
        910,
        "CA910-Bench-AllUsers-BLOCK-HighRiskSignIn",
        "CA210",
        "enabled",
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["All"]);
            v["conditions"]["users"]["includeGroups"] = json!([]);
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
        },
    );
    add(
        911,
        "CA911-Bench-AllUsers-AdminPortals-MFA",
        "CA100",
        "enabled",
        &|v| {
            v["conditions"]["users"]["includeUsers"] = json!(["All"]);
            v["conditions"]["users"]["includeRoles"] = json!([]);
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
            v["grantControls"] = json!({"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": []});
        },
    );
    add(
        912,
        "CA912-Bench-Global-BLOCK-RiskyRanges",
        "CA001",
        "enabled",
        &|v| {
            v["conditions"]["locations"] =
                json!({"includeLocations": [LOC_BLOCKED], "excludeLocations": []});
            v["conditions"]["users"]["excludeGroups"] = json!([BREAK_GLASS]);
        },
    );
    add(
        913,
        "CA913-Bench-Global-BLOCK-CountryWhitelist-Wide",
        "CA001",
        "disabled",
        &|v| {
            v["conditions"]["locations"]["excludeLocations"] = json!([LOC_WIDE]);
        },
    );
    out
}

/// The directory snapshot `simulate --directory` reads.
pub fn directory_json(t: &Tenant) -> Value {
    let users: Vec<Value> = t
        .users
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "userPrincipalName": u.upn,
                "userType": if u.guest { "Guest" } else { "Member" },
                "groups": u.groups,
                "roles": u.roles,
            })
        })
        .collect();
    json!({"users": users})
}

/// Directory role template ids the built-in policies name.
pub const ADMIN_ROLES: &[&str] = &[
    GLOBAL_ADMIN,
    "194ae4cb-b126-40b2-bd5b-6091b380977d", // Security Administrator
    "29232cdf-9323-42fd-ade2-1d097af3e4de", // Exchange Administrator
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c", // SharePoint Administrator
    "e8611ab8-c189-46e8-94e1-60213ab1f814", // Privileged Role Administrator
];

/// The group of users allowed to travel anywhere (excluded from the country block).
pub const TRAVELLERS: &str = "7a1e0c55-3f0b-4c7e-9d42-6b1f0a9e2c31";

/// The Conditional Access policies the generated tenant has in force: every condition type,
/// enforced, report-only and disabled ones, Graph `conditionalAccessPolicy` JSON.
pub fn builtin_policies() -> Vec<Value> {
    let users = |include: Value, exclude_groups: &[&str]| -> Value {
        let mut u = json!({"excludeGroups": exclude_groups});
        if let (Some(m), Value::Object(inc)) = (u.as_object_mut(), include) {
            m.extend(inc);
        }
        u
    };
    let all_apps = json!({"includeApplications": ["All"]});
    let grant = |operator: &str, controls: &[&str]| -> Value {
        json!({"operator": operator, "builtInControls": controls})
    };
    let policy =
        |n: u32, name: &str, state: &str, conditions: Value, grant: Value, session: Value| {
            json!({
                "id": format!("ca9e0000-0000-4000-8000-{n:012}"),
                "displayName": name,
                "state": state,
                "createdDateTime": "2025-10-01T09:00:00Z",
                "modifiedDateTime": "2026-01-02T09:00:00Z",
                "conditions": conditions,
                "grantControls": grant,
                "sessionControls": session,
            })
        };
    let ro = "enabledForReportingButNotEnforced";
    vec![
        policy(
            1,
            "CA001 Require MFA for administrators",
            "enabled",
            json!({"users": users(json!({"includeRoles": ADMIN_ROLES}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["all"]}),
            grant("OR", &["mfa"]),
            Value::Null,
        ),
        policy(
            2,
            "CA002 Block legacy authentication",
            "enabled",
            json!({"users": users(json!({"includeUsers": ["All"]}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["exchangeActiveSync", "other"]}),
            grant("OR", &["block"]),
            Value::Null,
        ),
        policy(
            3,
            "CA003 Block sign-ins from blocked ranges",
            "enabled",
            json!({"users": users(json!({"includeUsers": ["All"]}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["all"],
                   "locations": {"includeLocations": [LOC_BLOCKED], "excludeLocations": []}}),
            grant("OR", &["block"]),
            Value::Null,
        ),
        policy(
            4,
            "CA004 Block employees outside allowed countries",
            "enabled",
            json!({"users": users(json!({"includeGroups": [INTERNALS]}), &[BREAK_GLASS, TRAVELLERS]),
                   "applications": all_apps, "clientAppTypes": ["all"],
                   "locations": {"includeLocations": ["All"], "excludeLocations": [LOC_WIDE]}}),
            grant("OR", &["block"]),
            Value::Null,
        ),
        policy(
            5,
            "CA005 Require MFA for employees outside trusted networks",
            "enabled",
            json!({"users": users(json!({"includeGroups": [INTERNALS]}), &[BREAK_GLASS]),
                   "applications": all_apps,
                   "clientAppTypes": ["browser", "mobileAppsAndDesktopClients"],
                   "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
            grant("OR", &["mfa"]),
            Value::Null,
        ),
        policy(
            6,
            "CA006 Block high sign-in risk",
            "enabled",
            json!({"users": users(json!({"includeUsers": ["All"]}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["all"],
                   "signInRiskLevels": ["high"]}),
            grant("OR", &["block"]),
            Value::Null,
        ),
        policy(
            7,
            "CA007 Require MFA for medium sign-in risk",
            "enabled",
            json!({"users": users(json!({"includeUsers": ["All"]}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["all"],
                   "signInRiskLevels": ["medium"]}),
            grant("OR", &["mfa"]),
            Value::Null,
        ),
        policy(
            8,
            "CA008 High user risk requires a password change (pilot)",
            ro,
            json!({"users": users(json!({"includeUsers": ["All"]}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["all"],
                   "userRiskLevels": ["high"]}),
            grant("AND", &["mfa", "passwordChange"]),
            Value::Null,
        ),
        policy(
            9,
            "CA009 Require MFA for guests",
            "enabled",
            json!({"users": users(json!({"includeUsers": ["GuestsOrExternalUsers"]}), &[]),
                   "applications": all_apps, "clientAppTypes": ["all"]}),
            grant("OR", &["mfa"]),
            Value::Null,
        ),
        policy(
            10,
            "CA010 Service accounts only from EU countries",
            "enabled",
            json!({"users": users(json!({"includeGroups": [SERVICE_ACCOUNTS]}), &[]),
                   "applications": all_apps, "clientAppTypes": ["all"],
                   "locations": {"includeLocations": ["All"], "excludeLocations": [LOC_EU]}}),
            grant("OR", &["block"]),
            Value::Null,
        ),
        policy(
            11,
            "CA011 Azure management from compliant devices (pilot)",
            ro,
            json!({"users": users(json!({"includeGroups": [INTERNALS]}), &[BREAK_GLASS]),
                   "applications": {"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013"]},
                   "clientAppTypes": ["all"]}),
            grant("OR", &["compliantDevice"]),
            Value::Null,
        ),
        policy(
            12,
            "CA012 Block device code flow (pilot)",
            ro,
            json!({"users": users(json!({"includeUsers": ["All"]}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["all"],
                   "authenticationFlows": {"transferMethods": "deviceCodeFlow"}}),
            grant("OR", &["block"]),
            Value::Null,
        ),
        policy(
            13,
            "CA013 Compliant or hybrid joined Windows and macOS devices",
            "disabled",
            json!({"users": users(json!({"includeGroups": [INTERNALS]}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["all"],
                   "platforms": {"includePlatforms": ["windows", "macOS"], "excludePlatforms": []}}),
            grant("OR", &["compliantDevice", "domainJoinedDevice"]),
            Value::Null,
        ),
        policy(
            14,
            "CA014 Browser sessions outside the offices sign in again every 12 hours",
            ro,
            json!({"users": users(json!({"includeUsers": ["All"]}), &[BREAK_GLASS]),
                   "applications": all_apps, "clientAppTypes": ["browser"],
                   "locations": {"includeLocations": ["All"], "excludeLocations": [LOC_HQ, LOC_BRANCH, LOC_VPN]}}),
            Value::Null,
            json!({"signInFrequency": {"value": 12, "type": "hours", "isEnabled": true},
                   "persistentBrowser": {"mode": "never", "isEnabled": true}}),
        ),
    ]
}
