//! The optional snapshots (`--user-risk`, `--devices`) and `directory import`, over Graph-shaped
//! files: the user risk level at each sign-in's time, device properties in the filter-for-devices
//! vocabulary, what they decide in evaluation, and the errors a malformed export gives.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::{Value, json};
use vigil_simulator::directory::load_directory;
use vigil_simulator::directory_import::{ImportPaths, import_directory};
use vigil_simulator::error::InputError;
use vigil_simulator::eval::{Context, evaluate};
use vigil_simulator::model::{Policy, SignIn, SignInKind};
use vigil_simulator::policy::policies_from_json;
use vigil_simulator::snapshots::{Devices, UserRisk};

const ALICE: &str = "0a6f3e2d-1b9c-4e87-a5d4-62c1f0e9b873";
const BOB: &str = "1b7f4e3d-2c0d-4f98-b6e5-73d2a1f0c984";
const CAROL: &str = "2c805f4e-3d1e-40a9-87f6-84e3b2a1d095";
const DAVE: &str = "3d916a5f-4e2f-41ba-9807-95f4c3b2e1a6";
const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
const SURFACE: &str = "6e1c3b2a-90d8-4f7e-a6b5-c4d3e2f1a0b9";
const THINKPAD: &str = "7f2d4c3b-a1e9-4a8f-b7c6-d5e4f3a2b1c0";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, text).unwrap();
    p
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn err_text(e: InputError) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------------
// User risk
// ---------------------------------------------------------------------------------------------

/// Alice's risky-user history as `GET /identityProtection/riskyUsers/{id}/history` returns it
/// (newest first): high at 10:00, dismissed at 12:00, medium the next day. Bob's level is hidden.
fn history() -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.riskyUserHistoryItem)",
        "value": [
            {"id": ALICE, "userId": ALICE, "userPrincipalName": "alice@contoso.com",
             "riskLevel": "medium", "riskState": "atRisk", "riskDetail": "none",
             "riskLastUpdatedDateTime": "2026-01-06T09:00:00.1234567Z",
             "activity": {"riskEventTypes": ["unfamiliarFeatures"], "detail": "none"}},
            {"id": ALICE, "userId": ALICE, "userPrincipalName": "alice@contoso.com",
             "riskLevel": "none", "riskState": "dismissed", "riskDetail": "adminDismissedAllRiskForUser",
             "riskLastUpdatedDateTime": "2026-01-05T12:00:00Z", "initiatedBy": DAVE},
            {"id": ALICE, "userId": ALICE, "userPrincipalName": "alice@contoso.com",
             "riskLevel": "high", "riskState": "atRisk", "riskDetail": "none",
             "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"},
            {"id": BOB, "userId": BOB, "riskLevel": "hidden", "riskState": "atRisk",
             "riskLastUpdatedDateTime": "2026-01-01T00:00:00Z"}
        ]
    })
}

fn load_risk(dir: &Path, files: &[(&str, String)], complete: bool) -> UserRisk {
    for (name, text) in files {
        write(dir, name, text);
    }
    UserRisk::load(dir, complete).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn history_gives_the_level_in_force_at_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let r = load_risk(
        dir.path(),
        &[("history.json", history().to_string())],
        false,
    );
    let cases = [
        ("2026-01-05T09:59:59Z", None), // before the first item: unknown
        ("2026-01-05T10:00:00Z", Some("high")), // at an item's time, the item applies
        ("2026-01-05T11:30:00Z", Some("high")),
        ("2026-01-05T12:00:00Z", Some("none")), // dismissed
        ("2026-01-06T08:59:59Z", Some("none")),
        ("2026-01-06T09:00:00.123Z", Some("medium")), // fractions beyond ms are truncated
        ("2026-02-01T00:00:00Z", Some("medium")),
    ];
    for (t, want) in cases {
        assert_eq!(r.user_risk_at(ALICE, at(t)), want, "at {t}");
    }
    // By UPN (any case) as well as by id (any case).
    assert_eq!(
        r.user_risk_at("Alice@Contoso.com", at("2026-01-05T11:00:00Z")),
        Some("high")
    );
    assert_eq!(
        r.user_risk_at(&ALICE.to_uppercase(), at("2026-01-05T11:00:00Z")),
        Some("high")
    );
    // A hidden level is unknown; a user with no data is unknown.
    assert_eq!(r.user_risk_at(BOB, at("2026-01-05T11:00:00Z")), None);
    assert_eq!(r.user_risk_at(CAROL, at("2026-01-05T11:00:00Z")), None);
    assert_eq!(r.user_count(), 2);
}

#[test]
fn a_complete_export_makes_missing_data_not_risky() {
    let dir = tempfile::tempdir().unwrap();
    let r = load_risk(dir.path(), &[("history.json", history().to_string())], true);
    assert!(r.is_complete());
    assert_eq!(
        r.user_risk_at(ALICE, at("2026-01-05T09:59:59Z")),
        Some("none")
    );
    assert_eq!(
        r.user_risk_at(CAROL, at("2026-01-05T11:00:00Z")),
        Some("none")
    );
    // Known-unknown stays unknown even in a complete export.
    assert_eq!(r.user_risk_at(BOB, at("2026-01-05T11:00:00Z")), None);
    assert_eq!(
        r.user_risk_at(ALICE, at("2026-01-05T11:00:00Z")),
        Some("high")
    );
}

#[test]
fn risk_detections_give_the_highest_open_detection() {
    let dir = tempfile::tempdir().unwrap();
    // NDJSON, PascalCase as PowerShell writes it for one of them.
    let lines = [
        json!({"id": "d1", "userId": CAROL, "userPrincipalName": "carol@contoso.com",
               "riskEventType": "anonymizedIPAddress", "riskLevel": "high", "riskState": "remediated",
               "activity": "signin", "activityDateTime": "2026-01-05T09:58:00Z",
               "detectedDateTime": "2026-01-05T10:00:00Z", "lastUpdatedDateTime": "2026-01-05T11:00:00Z"}),
        json!({"Id": "d2", "UserId": CAROL, "RiskEventType": "unfamiliarFeatures", "RiskLevel": "low",
               "RiskState": "atRisk", "ActivityDateTime": "2026-01-05T10:30:00Z"}),
        json!({"id": "d3", "userId": DAVE, "riskEventType": "leakedCredentials", "riskLevel": "medium",
               "riskState": "dismissed", "detectedDateTime": "2026-01-05T10:00:00Z"}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let r = load_risk(dir.path(), &[("detections.ndjson", text)], false);
    assert_eq!(r.user_risk_at(CAROL, at("2026-01-05T09:59:00Z")), None);
    assert_eq!(
        r.user_risk_at(CAROL, at("2026-01-05T10:15:00Z")),
        Some("high")
    );
    assert_eq!(
        r.user_risk_at(CAROL, at("2026-01-05T10:45:00Z")),
        Some("high")
    );
    assert_eq!(
        r.user_risk_at(CAROL, at("2026-01-05T11:30:00Z")),
        Some("low")
    );
    assert_eq!(
        r.user_risk_at("carol@contoso.com", at("2026-01-05T11:30:00Z")),
        Some("low")
    );
    // Dismissed at an unknown time: unknown afterwards.
    assert_eq!(r.user_risk_at(DAVE, at("2026-01-05T09:00:00Z")), None);
    assert_eq!(r.user_risk_at(DAVE, at("2026-01-05T12:00:00Z")), None);

    let dir = tempfile::tempdir().unwrap();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let r = load_risk(dir.path(), &[("detections.ndjson", text)], true);
    assert_eq!(
        r.user_risk_at(CAROL, at("2026-01-05T09:59:00Z")),
        Some("none")
    );
    assert_eq!(r.user_risk_at(DAVE, at("2026-01-05T12:00:00Z")), None);
}

#[test]
fn history_wins_over_detections_and_shapes_mix() {
    let dir = tempfile::tempdir().unwrap();
    // Two Graph pages back to back in one file, an array in another, a riskyUser object.
    let page1 = json!({"value": [{"userId": ALICE, "riskLevel": "high", "riskState": "atRisk",
                                   "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"}],
                       "@odata.nextLink": "https://graph.microsoft.com/v1.0/..."});
    let page2 = json!({"value": [{"userId": ALICE, "riskLevel": "none", "riskState": "remediated",
                                   "riskLastUpdatedDateTime": "2026-01-05T12:00:00Z"}]});
    let detections = json!([{"id": "d9", "userId": ALICE, "riskLevel": "high", "riskState": "atRisk",
                             "detectedDateTime": "2026-01-05T09:00:00Z"}]);
    let risky_user = json!({"id": CAROL, "userPrincipalName": "carol@contoso.com", "riskLevel": "low",
                            "riskState": "atRisk", "riskLastUpdatedDateTime": "2026-01-04T00:00:00Z"});
    let r = load_risk(
        dir.path(),
        &[
            ("a-history.json", format!("{page1}\n{page2}\n")),
            ("b-detections.json", detections.to_string()),
            ("c-riskyusers.json", risky_user.to_string()),
        ],
        false,
    );
    // The history says remediated at 12:00; the open detection does not override it.
    assert_eq!(
        r.user_risk_at(ALICE, at("2026-01-05T13:00:00Z")),
        Some("none")
    );
    assert_eq!(
        r.user_risk_at(CAROL, at("2026-01-05T13:00:00Z")),
        Some("low")
    );
}

fn risk_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "risk.json", text);
    match UserRisk::load(&dir.path().join("risk.json"), false) {
        Ok(_) => panic!("expected an error for {text}"),
        Err(e) => err_text(e),
    }
}

#[test]
fn malformed_risk_exports_name_file_record_and_field() {
    let e = risk_error(
        &json!([{"userId": ALICE, "riskLevel": "severe", "riskState": "atRisk",
                 "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"}])
        .to_string(),
    );
    assert!(
        e.contains("risk.json: record 0 (userId 0a6f3e2d") && e.contains("field riskLevel"),
        "{e}"
    );
    let e = risk_error(
        &json!({"value": [{"userId": ALICE, "riskLevel": "high", "riskState": "atRisk",
                           "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"},
                          {"userId": BOB, "riskLevel": "high", "riskState": "atRisk"}]})
        .to_string(),
    );
    assert!(
        e.contains("record 1 (userId 1b7f4e3d") && e.contains("field riskLastUpdatedDateTime"),
        "{e}"
    );
    let e = risk_error(
        "{\"userId\":\"u\",\"riskLevel\":\"low\",\"riskState\":\"atRisk\",\"riskLastUpdatedDateTime\":\"2026-01-05T10:00:00Z\"}\n\
         {\"userId\":\"v\",\"riskLevel\":\"low\",\"riskState\":\"atRisk\",\"riskLastUpdatedDateTime\":\"yesterday\"}\n",
    );
    assert!(
        e.contains("line 2 (userId v)") && e.contains("field riskLastUpdatedDateTime: not a date"),
        "{e}"
    );
    let e = risk_error(
        &json!([{"id": "d1", "riskLevel": "low", "detectedDateTime": "2026-01-05T10:00:00Z"}])
            .to_string(),
    );
    assert!(e.contains("record 0 (id d1): field userId: missing"), "{e}");
    let e = risk_error(
        &json!([{"userId": ALICE, "riskLevel": "low", "riskState": "sleepy",
                 "riskLastUpdatedDateTime": "2026-01-05T10:00:00Z"}])
        .to_string(),
    );
    assert!(e.contains("field riskState"), "{e}");
    let e = risk_error("[{\"userId\": ");
    assert!(
        e.contains("risk.json: line 1") && e.contains("invalid JSON"),
        "{e}"
    );
    let e = risk_error("[1]");
    assert!(e.contains("record 0: expected an object"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

fn devices_json() -> Value {
    json!({"value": [
        {"id": "8c1f0000-0000-0000-0000-000000000001", "deviceId": SURFACE, "displayName": "SAW-0042",
         "operatingSystem": "Windows", "operatingSystemVersion": "10.0.22631.4317",
         "isCompliant": true, "isManaged": true, "trustType": "AzureAd",
         "model": "Surface Laptop 5", "manufacturer": "Microsoft Corporation",
         "profileType": "RegisteredDevice", "systemLabels": [],
         "physicalIds": ["[ZTDID]:7e2f0000", "[USER-GID]:1111:2222", "[GID]:g:6966"],
         "enrollmentProfileName": "Autopilot SAW", "deviceOwnership": "Company",
         "mdmAppId": "0000000a-0000-0000-c000-000000000000",
         "extensionAttributes": {"extensionAttribute1": "SAW", "extensionAttribute2": null,
                                 "extensionAttribute3": ""}},
        {"deviceId": THINKPAD, "model": "ThinkPad X1 Carbon"}
    ]})
}

fn load_devices(dir: &Path) -> Devices {
    write(dir, "devices.json", &devices_json().to_string());
    Devices::load(&dir.join("devices.json")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn device_properties_in_the_filter_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let d = load_devices(dir.path());
    assert_eq!(d.len(), 2);
    let s = |v: &[&str]| Some(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    let up = SURFACE.to_uppercase();
    assert_eq!(d.device_attribute(&up, "model"), s(&["Surface Laptop 5"]));
    assert_eq!(
        d.device_attribute(SURFACE, "Manufacturer"),
        s(&["Microsoft Corporation"])
    );
    assert_eq!(
        d.device_attribute(SURFACE, "extensionattribute1"),
        s(&["SAW"])
    );
    assert_eq!(d.device_attribute(SURFACE, "extensionattribute2"), s(&[]));
    assert_eq!(d.device_attribute(SURFACE, "extensionattribute3"), s(&[]));
    assert_eq!(d.device_attribute(SURFACE, "extensionattribute15"), s(&[]));
    assert_eq!(
        d.device_attribute(SURFACE, "physicalids"),
        s(&["[ZTDID]:7e2f0000", "[USER-GID]:1111:2222", "[GID]:g:6966"])
    );
    assert_eq!(d.device_attribute(SURFACE, "systemlabels"), s(&[]));
    assert_eq!(d.device_attribute(SURFACE, "iscompliant"), s(&["True"]));
    assert_eq!(d.device_attribute(SURFACE, "trusttype"), s(&["AzureAd"]));
    assert_eq!(
        d.device_attribute(SURFACE, "operatingsystemversion"),
        s(&["10.0.22631.4317"])
    );
    // Exported with $select=deviceId,model: the other properties are unknown, not null.
    assert_eq!(
        d.device_attribute(THINKPAD, "model"),
        s(&["ThinkPad X1 Carbon"])
    );
    assert_eq!(d.device_attribute(THINKPAD, "manufacturer"), None);
    assert_eq!(d.device_attribute(THINKPAD, "extensionattribute1"), None);
    // A device not in the snapshot.
    assert_eq!(
        d.device_attribute("99999999-9999-9999-9999-999999999999", "model"),
        None
    );
}

#[test]
fn extension_attributes_need_a_managed_compliant_or_hybrid_device() {
    let dir = tempfile::tempdir().unwrap();
    let d = load_devices(dir.path());
    let mut s = SignIn {
        device_id: Some(SURFACE.into()),
        ..SignIn::default()
    };
    // The log says nothing: the snapshot's isManaged decides.
    assert_eq!(
        d.attribute_for_signin(&s, "extensionAttribute1"),
        Some(vec!["SAW".to_string()])
    );
    // The log says unmanaged, non-compliant, Entra joined: no value at evaluation time.
    s.device_managed = Some(false);
    s.device_compliant = Some(false);
    s.device_trust_type = Some("Azure AD joined".into());
    assert_eq!(
        d.attribute_for_signin(&s, "extensionattribute1"),
        Some(vec![])
    );
    // Hybrid joined: the value is there.
    s.device_trust_type = Some("Hybrid Azure AD joined".into());
    assert_eq!(
        d.attribute_for_signin(&s, "extensionattribute1"),
        Some(vec!["SAW".to_string()])
    );
    // Other properties are not gated.
    s.device_trust_type = Some("Azure AD joined".into());
    assert_eq!(
        d.attribute_for_signin(&s, "model"),
        Some(vec!["Surface Laptop 5".to_string()])
    );
    // The ThinkPad's management state is unknown everywhere: unknown.
    let t = SignIn {
        device_id: Some(THINKPAD.into()),
        ..SignIn::default()
    };
    assert_eq!(
        d.attribute_for_signin(&t, "model").map(|v| v.len()),
        Some(1)
    );
    assert_eq!(d.attribute_for_signin(&t, "extensionattribute1"), None);
}

fn devices_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "devices.json", text);
    match Devices::load(&dir.path().join("devices.json")) {
        Ok(_) => panic!("expected an error for {text}"),
        Err(e) => err_text(e),
    }
}

#[test]
fn malformed_device_exports_name_file_record_and_field() {
    let e = devices_error(&json!([{"deviceId": SURFACE, "model": 5}]).to_string());
    assert!(
        e.contains("devices.json: record 0 (deviceId 6e1c3b2a")
            && e.contains("field model: expected a string, found a number"),
        "{e}"
    );
    let e = devices_error(
        &json!([{"deviceId": SURFACE, "extensionAttributes": {"extensionAttribute3": ["x"]}}])
            .to_string(),
    );
    assert!(
        e.contains("field extensionAttributes.extensionAttribute3"),
        "{e}"
    );
    let e = devices_error(&json!([{"deviceId": SURFACE, "physicalIds": "x"}]).to_string());
    assert!(e.contains("field physicalIds: expected an array"), "{e}");
    let e = devices_error(&json!([{"deviceId": SURFACE, "isCompliant": "yes"}]).to_string());
    assert!(e.contains("field isCompliant"), "{e}");
    let e = devices_error(&json!([{"id": "x", "displayName": "no device id"}]).to_string());
    assert!(e.contains("record 0: field deviceId: missing"), "{e}");
    let e = devices_error(
        &json!([{"deviceId": SURFACE, "model": "A"}, {"deviceId": SURFACE, "model": "B"}])
            .to_string(),
    );
    assert!(
        e.contains("record 1") && e.contains("duplicate deviceId"),
        "{e}"
    );
    // The same object twice (overlapping pages) is fine.
    let dir = tempfile::tempdir().unwrap();
    let same = json!([{"deviceId": SURFACE, "model": "A"}, {"deviceId": SURFACE, "model": "A"}]);
    write(dir.path(), "d.json", &same.to_string());
    assert_eq!(Devices::load(&dir.path().join("d.json")).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Evaluation with snapshots
// ---------------------------------------------------------------------------------------------

fn policies(v: Value) -> Vec<Policy> {
    policies_from_json(&v, Path::new("inline.json"))
        .unwrap()
        .policies
}

fn signin(user: &str, time: &str) -> SignIn {
    SignIn {
        id: "s1".into(),
        created_date_time: time.into(),
        kind: Some(SignInKind::InteractiveUser),
        user_id: Some(user.into()),
        user_type: Some("Member".into()),
        app_id: Some("c44b4083-3bb0-49c1-b47d-974e53cbdf3c".into()),
        resource_id: Some(EXCHANGE.into()),
        ip_address: Some("203.0.113.24".into()),
        client_app_used: Some("Browser".into()),
        operating_system: Some("Windows 10".into()),
        error_code: Some(0),
        mfa_satisfied: Some(false),
        device_compliant: Some(false),
        sign_in_risk_level: Some("none".into()),
        ..SignIn::default()
    }
}

fn block_when(conditions: Value) -> Value {
    json!([{"id": "p1", "displayName": "P1", "state": "enabled",
            "conditions": conditions,
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}}])
}

#[test]
fn user_risk_policies_are_decided_with_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let r = load_risk(
        dir.path(),
        &[("history.json", history().to_string())],
        false,
    );
    let ps = policies(block_when(json!({
        "users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["All"]},
        "clientAppTypes": ["all"],
        "userRiskLevels": ["high"]
    })));
    let bare = Context::new(&ps, &[], None).unwrap();
    let with = Context::new(&ps, &[], None)
        .unwrap()
        .with_snapshots(Some(&r), None);
    let during = signin(ALICE, "2026-01-05T11:00:00.000Z");
    let after = signin(ALICE, "2026-01-05T12:30:00.000Z");
    let before = signin(ALICE, "2026-01-05T08:00:00.000Z");
    assert_eq!(evaluate(&ps, &during, &bare).status, "indeterminate");
    let d = evaluate(&ps, &during, &with);
    assert_eq!((d.status, d.policies[0].result), ("failure", "failure"));
    assert!(
        d.policies[0]
            .reasons
            .iter()
            .any(|r| r.contains("user risk (--user-risk) High included")),
        "{:?}",
        d.policies[0].reasons
    );
    assert_eq!(evaluate(&ps, &after, &with).status, "notApplied");
    // Before the first history item the level is unknown, so the policy stays undecided.
    assert_eq!(evaluate(&ps, &before, &with).status, "indeterminate");
    // A level the log carries wins over the snapshot.
    let mut logged = during.clone();
    logged.user_risk_level = Some("low".into());
    assert_eq!(evaluate(&ps, &logged, &with).status, "notApplied");
}

#[test]
fn device_filters_read_the_device_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let d = load_devices(dir.path());
    let ps = policies(block_when(json!({
        "users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["All"]},
        "clientAppTypes": ["all"],
        "devices": {"deviceFilter": {"mode": "include", "rule": "device.model -startsWith \"Surface\""}}
    })));
    let bare = Context::new(&ps, &[], None).unwrap();
    let with = Context::new(&ps, &[], None)
        .unwrap()
        .with_snapshots(None, Some(&d));
    let mut surface = signin(ALICE, "2026-01-05T11:00:00.000Z");
    surface.device_id = Some(SURFACE.into());
    let mut thinkpad = surface.clone();
    thinkpad.device_id = Some(THINKPAD.into());
    let mut unknown = surface.clone();
    unknown.device_id = Some("99999999-9999-9999-9999-999999999999".into());
    assert_eq!(evaluate(&ps, &surface, &bare).status, "indeterminate");
    let r = evaluate(&ps, &surface, &with);
    assert_eq!(r.status, "failure");
    assert!(
        r.policies[0]
            .reasons
            .iter()
            .any(|x| x.contains("matched (device properties from --devices)")),
        "{:?}",
        r.policies[0].reasons
    );
    assert_eq!(evaluate(&ps, &thinkpad, &with).status, "notApplied");
    assert_eq!(evaluate(&ps, &unknown, &with).status, "indeterminate");
}

#[test]
fn compliance_and_trust_type_come_from_the_log_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = load_devices(dir.path());
    let ps = policies(block_when(json!({
        "users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["All"]},
        "devices": {"deviceFilter": {"mode": "include", "rule": "device.isCompliant -eq True"}}
    })));
    let with = Context::new(&ps, &[], None)
        .unwrap()
        .with_snapshots(None, Some(&d));
    // The snapshot says compliant today; the log says the device was not at sign-in time.
    let mut s = signin(ALICE, "2026-01-05T11:00:00.000Z");
    s.device_id = Some(SURFACE.into());
    assert_eq!(evaluate(&ps, &s, &with).status, "notApplied");
    // The log does not say: the snapshot is not used for it.
    s.device_compliant = None;
    assert_eq!(evaluate(&ps, &s, &with).status, "indeterminate");
}

// ---------------------------------------------------------------------------------------------
// Directory import
// ---------------------------------------------------------------------------------------------

const SALES: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const EMEA: &str = "a1a1a1a1-0000-4000-8000-000000000002";
const ADMINS: &str = "a1a1a1a1-0000-4000-8000-000000000003";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const SECURITY_READER: &str = "5d6b6bb7-de71-4623-b4af-96380a352509";

fn users_json() -> Value {
    json!({"value": [
        {"id": BOB, "userPrincipalName": "bob@contoso.com", "userType": "Member"},
        {"id": ALICE, "userPrincipalName": "alice@contoso.com", "userType": "Member"},
        {"id": CAROL, "userPrincipalName": "carol_fabrikam.com#EXT#@contoso.com", "userType": "Guest"}
    ]})
}

fn member(id: &str, kind: &str) -> Value {
    json!({"@odata.type": format!("#microsoft.graph.{kind}"), "id": id})
}

#[test]
fn import_from_expanded_groups_and_role_assignments() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let users = write(p, "users.json", &users_json().to_string());
    // EMEA is nested in Sales: transitiveMembers of Sales lists EMEA and its members.
    let groups = write(
        p,
        "groups.json",
        &json!({"value": [
            {"id": SALES, "displayName": "Sales", "transitiveMembers": [
                member(EMEA, "group"), member(ALICE, "user"), member(BOB, "user"),
                member("dddddddd-0000-4000-8000-00000000000d", "device")]},
            {"id": EMEA, "displayName": "EMEA", "transitiveMembers": [member(BOB, "user")]},
            {"id": ADMINS, "displayName": "Admins (role-assignable)", "transitiveMembers": [member(CAROL, "user")]}
        ]})
        .to_string(),
    );
    let roles = write(
        p,
        "roles.json",
        &json!({"value": [
            {"id": "ra1", "principalId": ALICE, "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"},
            {"id": "ra2", "principalId": ADMINS, "roleDefinitionId": SECURITY_READER, "directoryScopeId": "/"},
            {"id": "ra3", "principalId": BOB, "roleDefinitionId": GLOBAL_ADMIN,
             "directoryScopeId": "/administrativeUnits/5d5d5d5d-0000-4000-8000-000000000000"},
            {"id": "ra4", "principalId": "eeeeeeee-0000-4000-8000-00000000000e", "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"}
        ]})
        .to_string(),
    );
    let imported = import_directory(&ImportPaths {
        users: &users,
        groups: &groups,
        group_members: None,
        role_members: Some(&roles),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let got: Value = serde_json::from_str(&imported.to_json()).unwrap();
    assert_eq!(
        got,
        json!({"users": [
            {"id": ALICE, "userPrincipalName": "alice@contoso.com", "userType": "Member",
             "groups": [SALES], "roles": [GLOBAL_ADMIN]},
            {"id": BOB, "userPrincipalName": "bob@contoso.com", "userType": "Member",
             "groups": [SALES, EMEA], "roles": []},
            {"id": CAROL, "userPrincipalName": "carol_fabrikam.com#EXT#@contoso.com", "userType": "Guest",
             "groups": [ADMINS], "roles": [SECURITY_READER]}
        ]})
    );
    let w = imported.warnings.join("\n");
    assert!(w.contains("1 group members are not users"), "{w}");
    assert!(
        w.contains("1 role assignments scoped below the tenant"),
        "{w}"
    );
    assert!(w.contains("1 role holders are neither users"), "{w}");
    // Deterministic, and loadable as --directory.
    let again = import_directory(&ImportPaths {
        users: &users,
        groups: &groups,
        group_members: None,
        role_members: Some(&roles),
    })
    .unwrap();
    assert_eq!(again.to_json(), imported.to_json());
    let out = write(p, "directory.json", &imported.to_json());
    let dir = load_directory(&out).unwrap();
    assert!(dir.users[BOB].groups.contains(EMEA));
    assert_eq!(dir.by_upn["alice@contoso.com"], ALICE);
}

#[test]
fn import_from_member_pages_and_directory_roles() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let users = write(p, "users.ndjson", &{
        let v = users_json();
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| format!("{u}\n"))
            .collect::<String>()
    });
    let groups = write(
        p,
        "groups.json",
        &json!([{"id": SALES, "displayName": "Sales"}, {"id": EMEA, "displayName": "EMEA"}])
            .to_string(),
    );
    // One file per group, named by id (several pages allowed), or a folder named by id.
    write(
        p,
        &format!("members/{SALES}.json"),
        &json!({"value": [member(ALICE, "user")]}).to_string(),
    );
    write(
        p,
        &format!("members/{SALES}.page2.json"),
        &json!({"value": [member(BOB, "user")]}).to_string(),
    );
    write(
        p,
        &format!("members/{EMEA}/page1.json"),
        &json!({"value": [member(BOB, "user")]}).to_string(),
    );
    let roles = write(
        p,
        "directoryRoles.json",
        &json!({"value": [{"id": "r-object-id", "displayName": "Global Administrator",
                           "roleTemplateId": GLOBAL_ADMIN, "members": [member(BOB, "user")]}]})
        .to_string(),
    );
    let imported = import_directory(&ImportPaths {
        users: &users,
        groups: &groups,
        group_members: Some(&p.join("members")),
        role_members: Some(&roles),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let by_id: std::collections::BTreeMap<&str, _> =
        imported.users.iter().map(|u| (u.id.as_str(), u)).collect();
    assert_eq!(
        by_id[BOB].groups.iter().collect::<Vec<_>>(),
        vec![SALES, EMEA]
    );
    assert_eq!(
        by_id[BOB].roles.iter().collect::<Vec<_>>(),
        vec![GLOBAL_ADMIN]
    );
    assert_eq!(by_id[ALICE].groups.iter().collect::<Vec<_>>(), vec![SALES]);
    assert!(by_id[CAROL].groups.is_empty());
}

fn import_error(groups: Value, roles: Option<Value>, pages: &[(&str, Value)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let users = write(p, "users.json", &users_json().to_string());
    let groups = write(p, "groups.json", &groups.to_string());
    let roles = roles.map(|r| write(p, "roles.json", &r.to_string()));
    for (name, v) in pages {
        write(p, &format!("members/{name}"), &v.to_string());
    }
    let members = p.join("members");
    match import_directory(&ImportPaths {
        users: &users,
        groups: &groups,
        group_members: (!pages.is_empty()).then_some(members.as_path()),
        role_members: roles.as_deref(),
    }) {
        Ok(_) => panic!("expected an error"),
        Err(e) => err_text(e),
    }
}

#[test]
fn malformed_or_incomplete_directory_exports_are_refused() {
    // Direct members only.
    let e = import_error(
        json!([{"id": SALES, "members": [member(ALICE, "user")]}]),
        None,
        &[],
    );
    assert!(
        e.contains("groups.json: record 0 (id a1a1a1a1-0000-4000-8000-000000000001): field transitiveMembers: missing: this group lists only direct members"),
        "{e}"
    );
    // Twenty expanded members may be cut short ...
    let twenty: Vec<Value> = (0..20)
        .map(|i| member(&format!("ffffffff-0000-4000-8000-{i:012}"), "user"))
        .collect();
    let e = import_error(
        json!([{"id": SALES, "transitiveMembers": twenty.clone()}]),
        None,
        &[],
    );
    assert!(e.contains("field transitiveMembers: 20 members"), "{e}");
    // ... unless the group's pages are given.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let users = write(p, "users.json", &users_json().to_string());
    let groups = write(
        p,
        "groups.json",
        &json!([{"id": SALES, "transitiveMembers": twenty}]).to_string(),
    );
    write(
        p,
        &format!("members/{SALES}.json"),
        &json!([member(ALICE, "user")]).to_string(),
    );
    assert!(
        import_directory(&ImportPaths {
            users: &users,
            groups: &groups,
            group_members: Some(&p.join("members")),
            role_members: None,
        })
        .is_ok()
    );
    // A page file whose name is not a group id.
    let e = import_error(
        json!([{"id": SALES, "transitiveMembers": []}]),
        None,
        &[("sales.json", json!([member(ALICE, "user")]))],
    );
    assert!(e.contains("sales.json: cannot tell which group"), "{e}");
    // A member without an id.
    let e = import_error(
        json!([{"id": SALES, "transitiveMembers": [{"displayName": "x"}]}]),
        None,
        &[],
    );
    assert!(e.contains("field transitiveMembers[0].id"), "{e}");
    // Role records of an unknown shape, and a role assignment without its role.
    let e = import_error(
        json!([]),
        Some(json!([{"id": "x", "displayName": "?"}])),
        &[],
    );
    assert!(
        e.contains("roles.json: record 0 (id x): field principalId: missing"),
        "{e}"
    );
    let e = import_error(
        json!([]),
        Some(json!([{"id": "ra", "principalId": ALICE}])),
        &[],
    );
    assert!(e.contains("field roleDefinitionId: missing"), "{e}");
    // A user without an id, and two different users with one id.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let bad_users = write(
        p,
        "users.json",
        &json!([{"userPrincipalName": "x@y"}]).to_string(),
    );
    let groups = write(p, "groups.json", "[]");
    let e = err_text(
        import_directory(&ImportPaths {
            users: &bad_users,
            groups: &groups,
            group_members: None,
            role_members: None,
        })
        .unwrap_err(),
    );
    assert!(e.contains("users.json: record 0: field id: missing"), "{e}");
}
