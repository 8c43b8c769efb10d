//! Sign-in ingest over the real public samples in `shared/data/external` (see SOURCES.md there)
//! and over synthetic files for the shapes the samples lack. Tests that need the samples print
//! a notice and pass when the folder is absent.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use vigil_simulator::error::InputError;
use vigil_simulator::model::{SignIn, SignInKind};
use vigil_simulator::signin::{DateOrder, ReadOptions, ReadStats, read_signins};

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

fn elastic(name: &str) -> Option<PathBuf> {
    external().map(|d| d.join("elastic-integrations").join(name))
}

fn graph_doc(name: &str) -> Option<PathBuf> {
    external().map(|d| d.join("msgraph-docs").join(name))
}

fn try_read(paths: &[PathBuf], skip: bool) -> Result<(Vec<SignIn>, ReadStats), InputError> {
    let mut out = Vec::new();
    let opts = ReadOptions {
        skip_bad_records: skip,
        ..ReadOptions::default()
    };
    let stats = read_signins(paths, &opts, &mut |s| out.push(s))?;
    assert_eq!(stats.records, out.len(), "records counts what the sink got");
    Ok((out, stats))
}

fn read(paths: &[PathBuf]) -> (Vec<SignIn>, ReadStats) {
    try_read(paths, false).unwrap_or_else(|e| panic!("{e}"))
}

fn read_err(paths: &[PathBuf]) -> InputError {
    match try_read(paths, false) {
        Err(e) => e,
        Ok((records, _)) => panic!("expected an error, read {} records", records.len()),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn strings(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|x| x.to_string()).collect())
}

#[test]
fn elastic_raw_one_record_per_category_sharing_one_id() {
    let Some(path) = elastic("test-signinlogs-raw.log") else {
        return;
    };
    let (records, stats) = read(&[path]);
    // The synthetic sample reuses one GUID for all five records: the first is kept.
    assert_eq!((records.len(), stats.duplicates, stats.skipped), (1, 4, 0));
    let r = &records[0];
    assert_eq!(r.id, "8a4de8b5-095c-47d0-a96f-a75130c61d53");
    // 2019-10-18T04:45:48.0729893-05:00 in UTC, milliseconds truncated.
    assert_eq!(r.created_date_time, "2019-10-18T09:45:48.072Z");
    // `category: SignInLogs` wins over the sample's `isInteractive: false`.
    assert_eq!(r.kind, Some(SignInKind::InteractiveUser));
    assert_eq!(r.is_interactive, Some(false));
    assert_eq!(r.error_code, Some(50140));
    assert_eq!(
        r.failure_reason,
        s("This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.")
    );
    assert_eq!(r.user_principal_name, s("test@elastic.co"));
    assert_eq!(r.operating_system, s("MacOs"));
    assert_eq!(r.browser, s("Chrome 77.0.3865"));
    assert_eq!(r.device_id, None, "deviceId \"\" is absent");
    assert_eq!(r.service_principal_id, None);
    assert_eq!(
        (r.country.clone(), r.city.clone()),
        (s("FR"), s("Champs-Sur-Marne"))
    );
    assert_eq!(r.state, s("Seine-Et-Marne"));
    assert_eq!(r.ip_address, s("81.2.69.144"));
    assert_eq!(
        r.applied_policies, None,
        "the 2019 sample has no policy list"
    );
    assert_eq!(r.network_names, None);
    assert_eq!(r.mfa_satisfied, None);
    assert_eq!(r.source_variant, s("diagnostic"));
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
}

#[test]
fn elastic_interactive_sample() {
    let Some(path) = elastic("test-signinlogs-sample.log") else {
        return;
    };
    let (records, stats) = read(&[path]);
    assert_eq!(records.len(), 2);
    assert_eq!(stats.duplicates, 0);
    let r = &records[0];
    assert_eq!(r.id, "933f20c0-efdf-477f-9586-e5cc566d2e00");
    assert_eq!(r.created_date_time, "2022-01-24T05:10:08.681Z");
    assert_eq!(r.kind, Some(SignInKind::InteractiveUser));
    assert_eq!(r.user_id, s("2ce85a15-8640-465d-b916-d2eac620a717"));
    assert_eq!(r.user_type, s("Member"));
    assert_eq!(r.app_display_name, s("Azure Portal"));
    assert_eq!(r.resource_id, s("797f4846-ba00-4fd7-ba43-dac1f8f63013"));
    assert_eq!(r.client_app_used, s("Browser"));
    assert_eq!(r.operating_system, s("Windows 10"));
    assert!(
        r.user_agent
            .as_deref()
            .is_some_and(|u| u.contains("Edg/97"))
    );
    assert_eq!(r.error_code, Some(0));
    assert_eq!(r.conditional_access_status, s("notApplied"));
    assert_eq!(r.applied_policies, Some(vec![]));
    assert_eq!(r.network_names, Some(vec![]));
    assert_eq!(r.trusted_network, Some(false));
    assert_eq!(
        r.authentication_requirement,
        s("singleFactorAuthentication")
    );
    assert_eq!(r.authentication_methods, strings(&["Previously satisfied"]));
    assert_eq!(r.mfa_satisfied, Some(false), "single factor and success");
    assert_eq!(r.authentication_protocol, s("none"));
    assert_eq!(r.cross_tenant_access_type, s("none"));
    assert_eq!(r.home_tenant_id, s("4bbb79f7-5724-4c9e-95f3-de075f6ec090"));
    assert_eq!(records[1].created_date_time, "2022-01-24T05:10:12.244Z");
}

#[test]
fn elastic_non_interactive_sample() {
    let Some(path) = elastic("test-non-interactive-user-sample.log") else {
        return;
    };
    let (records, _) = read(&[path]);
    assert_eq!(records.len(), 3);
    for r in &records {
        assert_eq!(r.kind, Some(SignInKind::NonInteractiveUser));
        assert_eq!(r.is_interactive, Some(false));
        assert_eq!(
            r.authentication_methods, None,
            "authenticationDetails [] says nothing"
        );
        assert_eq!(r.mfa_satisfied, Some(false));
    }
    assert_eq!(records[0].browser, s("Rich Client 4.40.0.0"));
    assert_eq!(records[0].operating_system, s("Windows10"));
    assert_eq!(records[1].resource_display_name, s("Microsoft Graph"));
    assert_eq!(records[2].created_date_time, "2022-01-24T05:10:11.429Z");
}

#[test]
fn elastic_service_principal_sample() {
    let Some(path) = elastic("test-service-principal-signinlogs-sample.log") else {
        return;
    };
    let (records, _) = read(&[path]);
    assert_eq!(records.len(), 3);
    for r in &records {
        assert_eq!(r.kind, Some(SignInKind::ServicePrincipal));
        assert_eq!(r.user_id, None, "userId null");
        assert_eq!(r.user_principal_name, None);
        assert_eq!(r.client_app_used, None);
        assert_eq!(r.operating_system, None);
        assert_eq!(r.device_compliant, None);
        assert_eq!(r.mfa_satisfied, None);
        assert_eq!(r.service_principal_name, s("Terraform-Datadog-CLI"));
        assert_eq!(
            r.service_principal_id,
            s("b029d485-a308-4311-8720-fb3192e5284e")
        );
        assert_eq!(r.sign_in_risk_level, s("low"));
        assert_eq!(r.ip_address, s("1.128.3.4"));
    }
    assert_eq!(records[0].created_date_time, "2022-02-08T06:22:28.351Z");
}

#[test]
fn elastic_managed_identity_sample() {
    let Some(path) = elastic("test-managed-identity-sample.log") else {
        return;
    };
    let (records, _) = read(&[path]);
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r.kind, Some(SignInKind::ManagedIdentity));
        assert_eq!(r.ip_address, None, "ipAddress \"\" and no callerIpAddress");
        assert_eq!((&r.country, &r.city, &r.state), (&None, &None, &None));
        assert_eq!(r.user_id, None);
        assert_eq!(
            r.resource_display_name,
            s("Windows Azure Service Management API")
        );
    }
    assert_eq!(records[0].service_principal_name, s("testplatformlogslube"));
    assert_eq!(records[1].created_date_time, "2022-01-24T05:00:03.346Z");
}

#[test]
fn elastic_alternative_time_sample() {
    let Some(path) = elastic("test-alternative-time-and-duration-as-string.log") else {
        return;
    };
    let (records, stats) = read(std::slice::from_ref(&path));
    assert_eq!(records.len(), 1);
    let r = &records[0];
    // createdDateTime is present, so the envelope's US-locale `time` is not needed.
    assert_eq!(r.created_date_time, "2025-11-14T01:46:16.428Z");
    assert_eq!(r.kind, Some(SignInKind::ServicePrincipal));
    assert_eq!(r.user_id, None, "userId \"\"");
    assert_eq!(r.user_principal_name, None);
    assert_eq!(r.home_tenant_id, None);
    assert_eq!(r.user_type, s("Member"));
    assert_eq!(r.authentication_requirement, None, "\"\"");
    assert_eq!(
        r.service_principal_id,
        s("99999999-9999-9999-9999-999999999999")
    );
    assert_eq!(r.device_id, s("55555555-5555-5555-5555-555555555555"));
    assert_eq!(r.device_trust_type, s("Azure AD registered"));
    assert_eq!(r.device_managed, Some(false));
    assert_eq!(r.device_compliant, None);
    assert_eq!(r.client_app_used, s("Unknown"));
    assert_eq!(
        r.network_names,
        strings(&["PlaceholderNetwork1", "PlaceholderNetwork2"])
    );
    assert_eq!(r.trusted_network, Some(true));
    assert_eq!(r.applied_policies, Some(vec![]));
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);

    // Without createdDateTime the record's `time` "11/14/2025 1:48:53 AM" is used, as UTC.
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut record: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    if let Some(p) = record["properties"].as_object_mut() {
        p.remove("createdDateTime");
    }
    let dir = tempdir();
    let file = write(dir.path(), "no-created.log", &record.to_string());
    let (records, stats) = read(&[file]);
    assert_eq!(records[0].created_date_time, "2025-11-14T01:48:53.000Z");
    assert_eq!(stats.warnings.len(), 1);
    assert!(
        stats.warnings[0].contains("read as UTC"),
        "{:?}",
        stats.warnings
    );
}

#[test]
fn elastic_time_corner_cases_get_derived_ids() {
    let Some(path) = elastic("test-time-formats-corner-cases.log") else {
        return;
    };
    let (records, stats) = read(std::slice::from_ref(&path));
    assert_eq!(records.len(), 11);
    let distinct: BTreeSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(distinct.len(), 11, "each record is its own sign-in");
    for r in &records {
        assert!(
            r.id.starts_with("derived-") && r.id.len() == 8 + 32,
            "{}",
            r.id
        );
        assert!(
            r.created_date_time.starts_with("2007-01-09T09:41:00."),
            "{}",
            r.created_date_time
        );
        assert_eq!(r.kind, Some(SignInKind::InteractiveUser));
    }
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("11 sign-in(s) had no id")),
        "{:?}",
        stats.warnings
    );
    assert!(
        stats.warnings.iter().any(|w| w.contains("without a zone")),
        "{:?}",
        stats.warnings
    );
    // Derived from content: read twice, the second copy is a duplicate.
    let (again, stats) = read(&[path.clone(), path]);
    assert_eq!(again.len(), 11);
    assert_eq!(stats.duplicates, 11);
}

#[test]
fn graph_beta_example() {
    let Some(path) = graph_doc("signin-list.beta.example1.response.json") else {
        return;
    };
    let (records, stats) = read(std::slice::from_ref(&path));
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.id, "1691d37b-8579-43a7-966a-0f35583c1300");
    assert_eq!(r.created_date_time, "2021-06-30T16:34:32.000Z");
    assert_eq!(
        r.kind,
        Some(SignInKind::InteractiveUser),
        "signInEventTypes"
    );
    assert_eq!(r.error_code, Some(50126));
    assert_eq!(
        r.failure_reason,
        s("Error validating credentials due to invalid username or password.")
    );
    assert_eq!(r.user_type, s("Member"), "\"member\" normalized");
    assert_eq!(r.network_names, strings(&["North America"]));
    assert_eq!(r.trusted_network, Some(false));
    // homeTenantId appears twice with different values: the last one wins.
    assert_eq!(r.home_tenant_id, s("99081087-73c4-48d1-a112-f60ff75114f7"));
    assert_eq!(
        r.resource_tenant_id,
        s("99081087-73c4-48d1-a112-f60ff75114f7")
    );
    assert_eq!(r.authentication_protocol, s("oAuth2"));
    assert_eq!(
        r.authentication_methods,
        Some(vec![]),
        "the password step failed"
    );
    assert_eq!(r.mfa_satisfied, None, "a failed single-factor sign-in");
    assert_eq!(r.device_compliant, Some(false));
    assert_eq!(r.device_trust_type, None);
    assert_eq!(r.device_display_name, None);
    assert_eq!(r.country, s("US"));
    assert_eq!(r.applied_policies, Some(vec![]));
    assert_eq!(r.source_variant, s("graph"));
    assert_eq!(stats.warnings.len(), 1, "{:?}", stats.warnings);
    let w = &stats.warnings[0];
    assert!(w.contains(&path.display().to_string()), "{w}");
    assert!(w.contains("duplicate JSON keys"), "{w}");
    for key in [
        "homeTenantId",
        "isTenantRestricted",
        "uniqueTokenIdentifier",
    ] {
        assert!(w.contains(key), "{w}");
    }
}

#[test]
fn graph_v1_example_with_trailing_comma_is_an_error_with_position() {
    let Some(path) = graph_doc("signin-list.v1.0.example1.response.json") else {
        return;
    };
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = text.lines().collect();
    // The array that follows the trailing comma closes on this (1-based) line.
    let close = lines
        .windows(2)
        .position(|w| w[0].trim_end().ends_with("},") && w[1].trim() == "]")
        .map(|i| i + 2)
        .unwrap_or_else(|| panic!("no trailing comma in the sample"));
    let err = read_err(std::slice::from_ref(&path));
    match &err {
        InputError::Json {
            file, line, column, ..
        } => {
            assert_eq!(file, &path);
            assert_eq!(*line, close);
            assert!(*column > 1, "{err}");
        }
        other => panic!("{other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("signin-list.v1.0.example1.response.json"),
        "{message}"
    );
    assert!(
        message.contains(&format!("line {close}, column")),
        "{message}"
    );
}

/// The sign-in objects of some real records: Elastic `properties` (with the kind that the
/// category gives, as beta `signInEventTypes`) and the beta Graph example.
fn sample_signin_objects() -> Option<Vec<Value>> {
    let mut out = Vec::new();
    for name in [
        "test-signinlogs-sample.log",
        "test-non-interactive-user-sample.log",
        "test-service-principal-signinlogs-sample.log",
        "test-managed-identity-sample.log",
    ] {
        let text = fs::read_to_string(elastic(name)?).unwrap_or_else(|e| panic!("{e}"));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
            let event_type = match record["category"].as_str() {
                Some("SignInLogs") => "interactiveUser",
                Some("NonInteractiveUserSignInLogs") => "nonInteractiveUser",
                Some("ServicePrincipalSignInLogs") => "servicePrincipal",
                _ => "managedIdentity",
            };
            let mut properties = record["properties"].clone();
            properties["signInEventTypes"] = json!([event_type]);
            out.push(properties);
        }
    }
    let beta = fs::read_to_string(graph_doc("signin-list.beta.example1.response.json")?)
        .unwrap_or_else(|e| panic!("{e}"));
    let page: Value = serde_json::from_str(&beta).unwrap_or_else(|e| panic!("{e}"));
    out.extend(page["value"].as_array().cloned().unwrap_or_default());
    Some(out)
}

fn without_variant(records: &[SignIn]) -> Vec<SignIn> {
    records
        .iter()
        .cloned()
        .map(|mut r| {
            r.source_variant = None;
            r
        })
        .collect()
}

fn variants(records: &[SignIn]) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| r.source_variant.clone())
        .collect()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn page_array_ndjson_and_records_blob_give_the_same_sign_ins() {
    let Some(objects) = sample_signin_objects() else {
        return;
    };
    let dir = tempdir();
    let page = write(
        dir.path(),
        "page.json",
        &pretty(&json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
            "value": objects,
            "@odata.nextLink": "https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=x",
        })),
    );
    let array = write(
        dir.path(),
        "array.json",
        &pretty(&Value::from(objects.clone())),
    );
    let ndjson_text: Vec<String> = objects.iter().map(Value::to_string).collect();
    let ndjson = write(dir.path(), "signins.ndjson", &ndjson_text.join("\n"));
    let blob_records: Vec<Value> = objects
        .iter()
        .map(|p| {
            json!({
                "time": p["createdDateTime"],
                "operationName": "Sign-in activity",
                "category": match p["signInEventTypes"][0].as_str() {
                    Some("nonInteractiveUser") => "NonInteractiveUserSignInLogs",
                    Some("servicePrincipal") => "ServicePrincipalSignInLogs",
                    Some("managedIdentity") => "ManagedIdentitySignInLogs",
                    _ => "SignInLogs",
                },
                "resultType": "0",
                "properties": p,
            })
        })
        .collect();
    let blob = write(
        dir.path(),
        "PT1H.json",
        &json!({ "records": blob_records }).to_string(),
    );

    let (from_page, _) = read(&[page]);
    let (from_array, _) = read(&[array]);
    let (from_ndjson, _) = read(&[ndjson]);
    let (from_blob, _) = read(&[blob]);
    assert_eq!(from_page.len(), objects.len());
    assert_eq!(without_variant(&from_page), without_variant(&from_array));
    assert_eq!(without_variant(&from_page), without_variant(&from_ndjson));
    assert_eq!(without_variant(&from_page), without_variant(&from_blob));
    assert_eq!(variants(&from_page), BTreeSet::from(["graph".to_string()]));
    assert_eq!(
        variants(&from_array),
        BTreeSet::from(["json-array".to_string()])
    );
    assert_eq!(
        variants(&from_ndjson),
        BTreeSet::from(["ndjson".to_string()])
    );
    assert_eq!(
        variants(&from_blob),
        BTreeSet::from(["diagnostic".to_string()])
    );
    let kinds: BTreeSet<_> = from_page
        .iter()
        .filter_map(|r| r.kind)
        .map(|k| format!("{k:?}"))
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
}

fn tiny(id: &str, minute: u32) -> Value {
    json!({
        "id": id,
        "createdDateTime": format!("2026-01-05T14:{minute:02}:00Z"),
        "userId": format!("user-{id}"),
        "status": {"errorCode": 0},
    })
}

fn ids(records: &[SignIn]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn pages_concatenated_in_one_file() {
    let dir = tempdir();
    let page1 =
        json!({"@odata.nextLink": "https://graph/next", "value": [tiny("a", 1), tiny("b", 2)]});
    let page2 = json!({"value": [tiny("c", 3)]});
    let page3 = json!({"value": [tiny("d", 4)]});
    // Pretty pages one after another, then two compact pages with nothing between them.
    let text = format!("{}\n{}{}", pretty(&page1), page2, page3);
    let file = write(dir.path(), "pages.json", &text);
    let (records, stats) = read(&[file]);
    assert_eq!(ids(&records), ["a", "b", "c", "d"]);
    assert_eq!(records[3].created_date_time, "2026-01-05T14:04:00.000Z");
    assert_eq!(stats.duplicates, 0);
    // Compact pages one per line are NDJSON of pages.
    let file = write(dir.path(), "pages.ndjson", &format!("{page1}\n{page2}\n"));
    let (records, _) = read(&[file]);
    assert_eq!(ids(&records), ["a", "b", "c"]);
    assert_eq!(variants(&records), BTreeSet::from(["graph".to_string()]));
}

#[test]
fn duplicate_ids_across_files_keep_the_first() {
    let dir = tempdir();
    let first = write(
        dir.path(),
        "1.json",
        &json!([
            tiny("8A4DE8B5-095C-47D0-A96F-A75130C61D53", 1),
            tiny("x", 2)
        ])
        .to_string(),
    );
    let mut again = tiny("8a4de8b5-095c-47d0-a96f-a75130c61d53", 9);
    again["userId"] = json!("someone-else");
    let second = write(
        dir.path(),
        "2.ndjson",
        &format!("{again}\n{}\n{}\n", tiny("y", 3), tiny("x", 4)),
    );
    let (records, stats) = read(&[first, second]);
    assert_eq!(
        ids(&records),
        ["8A4DE8B5-095C-47D0-A96F-A75130C61D53", "x", "y"]
    );
    assert_eq!(
        records[0].user_id,
        s("user-8A4DE8B5-095C-47D0-A96F-A75130C61D53")
    );
    assert_eq!((stats.records, stats.duplicates), (3, 2));
}

#[test]
fn folders_are_read_recursively_in_bytewise_order() {
    let dir = tempdir();
    write(dir.path(), "b.json", &tiny("b", 1).to_string());
    write(dir.path(), "B.json", &tiny("B", 1).to_string());
    write(dir.path(), "a/z.json", &tiny("a/z", 1).to_string());
    write(dir.path(), "a.json", &tiny("a.json", 1).to_string());
    write(dir.path(), "a-1.json", &tiny("a-1", 1).to_string());
    write(dir.path(), ".hidden.json", &tiny("hidden", 1).to_string());
    let (records, _) = read(&[dir.path().to_path_buf()]);
    // '-' (0x2D) < '.' (0x2E) < '/' (0x2F); 'B' (0x42) < 'a' (0x61).
    assert_eq!(ids(&records), ["B", "a-1", "a.json", "a/z", "b"]);
}

#[test]
fn gzip_is_detected_from_content() {
    let dir = tempdir();
    let lines = format!("{}\n{}\n", tiny("g1", 1), tiny("g2", 2));
    let path = dir.path().join("insights-logs.log");
    let file = fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    gz.write_all(lines.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    gz.finish().unwrap_or_else(|e| panic!("{e}"));
    let (records, _) = read(&[path]);
    assert_eq!(ids(&records), ["g1", "g2"]);
    assert_eq!(variants(&records), BTreeSet::from(["ndjson".to_string()]));
}

#[test]
fn gzip_of_a_real_sample() {
    let Some(path) = elastic("test-signinlogs-sample.log") else {
        return;
    };
    let dir = tempdir();
    let gz_path = dir.path().join("sample.json.gz");
    let file = fs::File::create(&gz_path).unwrap_or_else(|e| panic!("{e}"));
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    gz.write_all(&fs::read(&path).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    gz.finish().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&[gz_path]).0, read(&[path]).0);
}

#[test]
fn utf16_with_bom_and_utf8_bom() {
    let dir = tempdir();
    let text = json!([tiny("u16", 1)]).to_string();
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let p16 = dir.path().join("powershell.json");
    fs::write(&p16, bytes).unwrap_or_else(|e| panic!("{e}"));
    let p8 = dir.path().join("bom.json");
    fs::write(&p8, format!("\u{feff}{}", tiny("u8", 2))).unwrap_or_else(|e| panic!("{e}"));
    let (records, _) = read(&[p16, p8]);
    assert_eq!(ids(&records), ["u16", "u8"]);
}

/// The portal's download header (Interactive and NonInteractive files), as the portal writes
/// it: a trailing space after two ID columns, a double space, a duplicated column.
const PORTAL_HEADER: &str = "Date (UTC),Request ID,User agent,Correlation ID,User ID,User,\
Username,User type,Cross tenant access type,Incoming token type,Authentication Protocol,\
Unique token identifier,Original transfer method,Client credential type,\
Token Protection - Sign In Session,Token Protection - Sign In Session StatusCode,Application,\
Application ID ,App owner tenant ID,Resource,Resource ID ,Resource tenant ID,\
Resource owner tenant ID,Home tenant ID,Home tenant name,IP address,Location,Status,\
Sign-in error code,Failure reason,Client app,Device ID,Browser,Operating System,Compliant,\
Managed,Join Type,Multifactor authentication result,Multifactor authentication auth method,\
Multifactor authentication auth detail,Authentication requirement,Sign-in identifier,\
Session ID,IP address (seen by resource),Through Global Secure Access,\
Global Secure Access IP address,Autonomous system  number,Flagged for review,\
Token issuer type,Incoming token type,Token issuer name,Latency,Conditional Access,\
Managed Identity type,Associated Resource Id,Federated Token Id,Federated Token Issuer";

/// One download row for PORTAL_HEADER: (column, value) pairs, every other cell blank.
fn portal_row(cells: &[(&str, &str)]) -> String {
    let header: Vec<&str> = PORTAL_HEADER.split(',').collect();
    let mut row = vec![String::new(); header.len()];
    for (column, value) in cells {
        let i = header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no column {column}"));
        row[i] = if value.contains([',', '"']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_string()
        };
    }
    row.join(",")
}

#[test]
fn portal_csv_download_with_its_side_file() {
    let dir = tempdir();
    let id = "51000000-0000-4000-8000-000000000001";
    let rows = [
        portal_row(&[
            ("Date (UTC)", "2026-01-05T14:23:45.123Z"),
            ("Request ID", id),
            ("User ID", "a0000000-0000-4000-8000-000000000001"),
            ("Username", "ada@contoso.example"),
            ("User type", "Member"),
            ("Cross tenant access type", "None"),
            ("Application", "Azure Portal"),
            ("Application ID ", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
            ("IP address", "203.0.113.7"),
            ("Location", "Berlin, Berlin, DE"),
            ("Status", "Success"),
            ("Sign-in error code", "0"),
            ("Client app", "Browser"),
            ("Operating System", "Windows10"),
            ("Compliant", "True"),
            ("Managed", "False"),
            ("Join Type", "Azure AD joined"),
            ("Authentication requirement", "Multifactor authentication"),
            ("Conditional Access", "Not Applied"),
        ]),
        portal_row(&[
            ("Date (UTC)", "1/5/2026 2:24:00 PM"),
            ("Request ID", "51000000-0000-4000-8000-000000000002"),
            ("Status", "Failure"),
            ("Sign-in error code", "50126"),
            ("Failure reason", "Invalid username or password."),
        ]),
    ];
    let signins = write(
        dir.path(),
        "InteractiveSignIns_2026-01-05_2026-01-06.csv",
        &format!("\u{feff}{PORTAL_HEADER}\r\n{}\r\n", rows.join("\r\n")),
    );
    // The side file sorts after the download; its steps are joined all the same.
    write(
        dir.path(),
        "InteractiveSignIns_AuthDetails_2026-01-05_2026-01-06.csv",
        &format!(
            "Request ID,Authentication Date,Authentication method,Authentication method detail,\
             Requirement,Succeeded,Result detail\n\
             {id},1/5/2026 2:23:40 PM,Password,Password in the cloud,Primary authentication,true,\
             Correct password\n\
             {up},1/5/2026 2:23:44 PM,Mobile app notification,,Multifactor authentication,true,\
             MFA successfully completed\n\
             00000000-0000-4000-8000-00000000dead,1/5/2026 2:00:00 PM,Password,,,false,\n",
            up = id.to_uppercase()
        ),
    );
    let (records, stats) = read(&[dir.path().to_path_buf()]);
    assert_eq!(records.len(), 2, "the side file holds no sign-ins");
    let a = &records[0];
    assert_eq!(a.id, id);
    assert_eq!(a.created_date_time, "2026-01-05T14:23:45.123Z");
    assert_eq!(a.kind, Some(SignInKind::InteractiveUser));
    assert_eq!(a.user_principal_name, s("ada@contoso.example"));
    assert_eq!(a.app_id, s("c44b4083-3bb0-49c1-b47d-974e53cbdf3c"));
    assert_eq!(a.cross_tenant_access_type, s("none"));
    assert_eq!(
        (a.country.clone(), a.city.clone(), a.state.clone()),
        (s("DE"), s("Berlin"), s("Berlin"))
    );
    assert_eq!(a.error_code, Some(0));
    assert_eq!(a.device_compliant, Some(true));
    assert_eq!(a.device_managed, Some(false));
    assert_eq!(a.device_trust_type, s("Azure AD joined"));
    assert_eq!(a.conditional_access_status, s("notApplied"));
    assert_eq!(a.authentication_requirement, s("multiFactorAuthentication"));
    assert_eq!(
        a.authentication_methods,
        strings(&["Password", "Mobile app notification"])
    );
    assert_eq!(a.mfa_satisfied, Some(true));
    assert_eq!(a.primary_auth_fresh, Some(true));
    assert_eq!(
        a.applied_policies, None,
        "the download has no per-policy results"
    );
    assert_eq!(a.sign_in_risk_level, None, "nor risk");
    assert_eq!(a.source_variant, s("portal-csv"));
    let b = &records[1];
    assert_eq!(b.created_date_time, "2026-01-05T14:24:00.000Z");
    assert_eq!(b.error_code, Some(50126));
    assert_eq!(b.user_id, None);
    assert_eq!(b.authentication_methods, None, "no steps in the side file");
    assert_eq!(b.device_compliant, None);
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("AuthDetails") && w.contains("1 of 3 authentication step(s)")),
        "{:?}",
        stats.warnings
    );
    assert!(
        !stats.warnings.iter().any(|w| w.contains("read as UTC")),
        "Date (UTC) says UTC: {:?}",
        stats.warnings
    );
    let _ = signins;
}

#[test]
fn portal_csv_dates_day_first_and_contradictions() {
    let dir = tempdir();
    let row = |date: &str, n: u32| {
        portal_row(&[
            ("Date (UTC)", date),
            ("Request ID", &format!("r{n}")),
            ("Status", "Success"),
        ])
    };
    let uk = write(
        dir.path(),
        "uk.csv",
        &format!(
            "{PORTAL_HEADER}\n{}\n{}\n",
            row("3/1/2026 09:00:00", 1),
            row("14/1/2026 09:00:00", 2)
        ),
    );
    // Month first (the default): the second row cannot be a month 14, and the whole file
    // stops, even when bad records are skipped.
    for skip in [false, true] {
        let err = try_read(std::slice::from_ref(&uk), skip)
            .err()
            .unwrap_or_else(|| panic!("read month first"));
        let message = err.to_string();
        for part in [
            "uk.csv",
            "record 2 (line 3)",
            "Date (UTC)",
            "--date-order dmy",
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }
    }
    let opts = ReadOptions {
        date_order: DateOrder::DayFirst,
        ..ReadOptions::default()
    };
    let mut got = Vec::new();
    let stats = read_signins(std::slice::from_ref(&uk), &opts, &mut |s| got.push(s))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got[0].created_date_time, "2026-01-03T09:00:00.000Z");
    assert_eq!(got[1].created_date_time, "2026-01-14T09:00:00.000Z");
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);

    // Only ambiguous dates: read in the chosen order, with a warning that says so.
    let ambiguous = write(
        dir.path(),
        "ambiguous.csv",
        &format!("{PORTAL_HEADER}\n{}\n", row("3/1/2026 09:00:00", 3)),
    );
    let (records, stats) = read(&[ambiguous]);
    assert_eq!(records[0].created_date_time, "2026-03-01T09:00:00.000Z");
    assert!(
        stats.warnings.iter().any(|w| w.contains("ambiguous.csv")
            && w.contains("read month first")
            && w.contains("--date-order dmy")),
        "{:?}",
        stats.warnings
    );
}

#[test]
fn csv_bad_rows_name_record_line_and_column_or_are_skipped() {
    let dir = tempdir();
    let text = format!(
        "{PORTAL_HEADER}\n{}\n{}\n{}\nshort,row\n",
        portal_row(&[
            ("Date (UTC)", "2026-01-05T10:00:00Z"),
            ("Request ID", "ok1")
        ]),
        portal_row(&[
            ("Date (UTC)", "2026-01-05T10:00:00Z"),
            ("Request ID", "bad"),
            ("Sign-in error code", "fifty"),
        ]),
        portal_row(&[
            ("Date (UTC)", "2026-01-05T10:00:00Z"),
            ("Request ID", "ok2")
        ]),
    );
    let path = write(dir.path(), "download.csv", &text);
    match read_err(std::slice::from_ref(&path)) {
        InputError::Field { record, field, .. } => {
            assert_eq!(
                (record.as_str(), field.as_str()),
                ("record 2 (line 3)", "Sign-in error code")
            );
        }
        other => panic!("{other}"),
    }
    let (records, stats) =
        try_read(std::slice::from_ref(&path), true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&records), ["ok1", "ok2"]);
    assert_eq!(stats.skipped, 2, "the bad code and the short row");
    assert!(
        stats.warnings.iter().any(|w| w.contains("skipped 2")),
        "{:?}",
        stats.warnings
    );
}

#[test]
fn log_analytics_csv_with_json_columns() {
    let dir = tempdir();
    let header = "TenantId,SourceSystem,TimeGenerated [UTC],ResourceId,OperationName,Category,\
                  ResultType,Id,CreatedDateTime [UTC],UserPrincipalName,UserId,AppId,IPAddress,\
                  Location,LocationDetails,DeviceDetail,Status,IsInteractive,ConditionalAccessStatus,\
                  ConditionalAccessPolicies,AuthenticationDetails,AuthenticationRequirement,Type";
    let row = [
        "5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47",
        "Azure AD",
        "\"1/15/2026, 2:23:46.000 PM\"",
        "/tenants/5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47/providers/Microsoft.aadiam",
        "Sign-in activity",
        "NonInteractiveUserSignInLogs",
        "50074",
        "la-1",
        "\"1/15/2026, 2:23:45.123 PM\"",
        "ada@contoso.example",
        "a0000000-0000-4000-8000-000000000001",
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "203.0.113.7",
        "DE",
        r#""{""city"":""Berlin"",""countryOrRegion"":""DE""}""#,
        r#""{""operatingSystem"":""Windows10"",""isCompliant"":true}""#,
        r#""{""errorCode"":50074,""failureReason"":""Strong authentication is required.""}""#,
        "FALSE",
        "failure",
        r#""[{""id"":""p1"",""displayName"":""MFA"",""result"":""failure"",""enforcedGrantControls"":[""Mfa""]}]""#,
        r#""[{""authenticationMethod"":""Password"",""succeeded"":true}]""#,
        "multiFactorAuthentication",
        "AADNonInteractiveUserSignInLogs",
    ]
    .join(",");
    let path = write(dir.path(), "query_data.csv", &format!("{header}\n{row}\n"));
    let (records, stats) = read(&[path]);
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
    let r = &records[0];
    assert_eq!(r.id, "la-1");
    assert_eq!(r.created_date_time, "2026-01-15T14:23:45.123Z");
    assert_eq!(r.kind, Some(SignInKind::NonInteractiveUser));
    assert_eq!(r.error_code, Some(50074));
    assert_eq!(r.failure_reason, s("Strong authentication is required."));
    assert_eq!((r.country.clone(), r.city.clone()), (s("DE"), s("Berlin")));
    assert_eq!(r.device_compliant, Some(true));
    assert_eq!(r.is_interactive, Some(false));
    assert_eq!(r.resource_id, None, "the ARM path is not a resource app");
    assert_eq!(r.applied_policies.as_ref().map(Vec::len), Some(1));
    assert_eq!(r.authentication_methods, strings(&["Password"]));
    assert_eq!(r.mfa_satisfied, Some(false), "50074: MFA not met");
    assert_eq!(r.source_variant, s("log-analytics-csv"));
}

#[test]
fn a_download_with_no_rows_says_so() {
    let dir = tempdir();
    let path = write(
        dir.path(),
        "InteractiveSignIns_x.csv",
        &format!("{PORTAL_HEADER}\r\n"),
    );
    let (records, stats) = read(&[path]);
    assert!(records.is_empty());
    assert!(
        stats.warnings.iter().any(|w| w.contains("no rows")),
        "{:?}",
        stats.warnings
    );
}

#[test]
fn unknown_csv_is_refused_with_a_clear_message() {
    let dir = tempdir();
    let path = write(dir.path(), "scores.csv", "signInId,score\nabc,0.5\n");
    let err = read_err(std::slice::from_ref(&path));
    let message = err.to_string();
    assert!(
        message.contains("not a sign-in export vigil knows"),
        "{message}"
    );
    assert!(message.contains("Date (UTC), Request ID"), "{message}");
    assert_eq!(err.file(), path);
}

#[test]
fn gzip_csv_and_semicolons() {
    let dir = tempdir();
    let text = format!(
        "{}\n{}\n",
        PORTAL_HEADER.replace(',', ";"),
        portal_row(&[
            ("Date (UTC)", "2026-01-05T10:00:00Z"),
            ("Request ID", "gz1"),
            ("Location", "Paris, Ile-de-France, FR"),
        ])
        .replace(',', ";")
        .replace("\"Paris; Ile-de-France; FR\"", "Paris, Ile-de-France, FR")
    );
    let path = dir.path().join("download.bin");
    let file = fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    gz.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    gz.finish().unwrap_or_else(|e| panic!("{e}"));
    let (records, _) = read(&[path]);
    assert_eq!(ids(&records), ["gz1"]);
    assert_eq!(records[0].country, s("FR"));
    assert_eq!(records[0].city, s("Paris"));
}

#[test]
fn bad_ndjson_lines_fail_or_are_skipped() {
    let dir = tempdir();
    let text = format!(
        "{}\n{{\"id\": \"broken\",\n\n{}\n{}\n",
        tiny("ok1", 1),
        json!({"id": "bad-time", "createdDateTime": "soon"}),
        tiny("ok2", 2)
    );
    let path = write(dir.path(), "mixed.ndjson", &text);
    match read_err(std::slice::from_ref(&path)) {
        InputError::Json { line, column, .. } => assert_eq!((line, column), (2, 16)),
        other => panic!("{other}"),
    }
    let (records, stats) =
        try_read(std::slice::from_ref(&path), true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&records), ["ok1", "ok2"]);
    assert_eq!(stats.skipped, 2);
    assert_eq!(stats.warnings.len(), 1);
    assert!(
        stats.warnings[0].contains("skipped 2"),
        "{:?}",
        stats.warnings
    );
    assert!(
        stats.warnings[0].contains("line 2, column 16"),
        "{:?}",
        stats.warnings
    );

    // Without the bad JSON line, the record with a bad time is the error, on line 4.
    let text = text.replace("{\"id\": \"broken\",", "");
    let path = write(dir.path(), "bad-time.ndjson", &text);
    match read_err(&[path]) {
        InputError::Field { record, field, .. } => {
            assert_eq!(
                (record.as_str(), field.as_str()),
                ("line 4", "createdDateTime")
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_bad_record_in_a_document_names_its_number_and_line() {
    let dir = tempdir();
    let mut bad_time = tiny("x", 1);
    bad_time["createdDateTime"] = json!("yesterday");
    let path = write(
        dir.path(),
        "page.json",
        &pretty(&json!({"value": [tiny("a", 1), bad_time]})),
    );
    let err = read_err(&[path]);
    match &err {
        InputError::Field { record, field, .. } => {
            assert_eq!(field, "createdDateTime");
            // pretty: line 1 `{`, 2 `"value": [`, 3-10 the first record, 11 the second's `{`.
            assert_eq!(record, "record 2 (line 11)", "{err}");
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string()
            .contains("page.json: record 2 (line 11): field createdDateTime: unrecognized")
    );
}

#[test]
fn other_diagnostic_categories_are_ignored_with_a_warning() {
    let dir = tempdir();
    let audit =
        json!({"time": "2026-01-05T14:00:00Z", "category": "AuditLogs", "properties": {"id": "z"}});
    let signin = json!({"time": "2026-01-05T14:00:00Z", "category": "SignInLogs", "properties": tiny("s", 1)});
    let path = write(
        dir.path(),
        "blob.json",
        &json!({"records": [audit, signin]}).to_string(),
    );
    let (records, stats) = read(&[path]);
    assert_eq!(ids(&records), ["s"]);
    assert_eq!(records[0].kind, Some(SignInKind::InteractiveUser));
    assert_eq!(stats.warnings.len(), 1, "{:?}", stats.warnings);
    assert!(stats.warnings[0].contains("1 diagnostic record(s) of category AuditLogs"));
}

#[test]
fn non_json_and_missing_paths_are_errors() {
    let dir = tempdir();
    let path = write(dir.path(), "notes.txt", "hello world\n");
    let message = read_err(&[path]).to_string();
    assert!(message.contains("not a sign-in export"), "{message}");
    let missing = dir.path().join("nope.json");
    assert!(matches!(read_err(&[missing]), InputError::Io { .. }));
    let empty = write(dir.path(), "empty.json", "\n\n");
    let (records, stats) = read(&[empty]);
    assert!(records.is_empty());
    assert!(stats.warnings[0].contains("empty"), "{:?}", stats.warnings);
}

// ---- the JSON Schema of the normalized record ----

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/signin.schema.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn to_value(r: &SignIn) -> Value {
    serde_json::to_value(r).unwrap_or_else(|e| panic!("{e}"))
}

/// A record with every optional field set, so that no member escapes the schema check.
fn full_record() -> SignIn {
    use vigil_simulator::model::LoggedPolicy;
    SignIn {
        id: "id".into(),
        created_date_time: "2026-01-05T14:23:45.123Z".into(),
        correlation_id: s("c"),
        kind: Some(SignInKind::ManagedIdentity),
        user_id: s("u"),
        user_principal_name: s("a@b"),
        user_type: s("Guest"),
        home_tenant_id: s("h"),
        resource_tenant_id: s("r"),
        app_owner_tenant_id: s("o"),
        cross_tenant_access_type: s("b2bCollaboration"),
        service_principal_id: s("sp"),
        service_principal_name: s("spn"),
        app_id: s("app"),
        app_display_name: s("App"),
        resource_id: s("res"),
        resource_display_name: s("Res"),
        ip_address: s("192.0.2.1"),
        country: s("US"),
        city: s("Redmond"),
        state: s("WA"),
        latitude: Some(vigil_simulator::model::Degrees(47.674)),
        longitude: Some(vigil_simulator::model::Degrees(-122.1215)),
        network_names: strings(&["HQ"]),
        trusted_network: Some(true),
        client_app_used: s("Browser"),
        operating_system: s("Windows 10"),
        browser: s("Edge"),
        device_id: s("d"),
        device_display_name: s("D"),
        device_compliant: Some(true),
        device_managed: Some(true),
        device_trust_type: s("Hybrid Azure AD joined"),
        authentication_protocol: s("oAuth2"),
        original_transfer_method: s("deviceCodeFlow"),
        sign_in_risk_level: s("low"),
        risk_level_aggregated: s("low"),
        risk_state: s("none"),
        risk_event_types: strings(&["anonymizedIPAddress"]),
        user_risk_level: s("none"),
        service_principal_risk_level: s("none"),
        authentication_requirement: s("multiFactorAuthentication"),
        mfa_satisfied: Some(true),
        authentication_methods: strings(&["Password", "Mobile app notification"]),
        error_code: Some(0),
        failure_reason: s("Other."),
        conditional_access_status: s("success"),
        applied_policies: Some(vec![LoggedPolicy {
            id: "p".into(),
            display_name: s("P"),
            result: "success".into(),
            enforced_grant_controls: vec!["Mfa".into()],
            enforced_session_controls: vec![],
        }]),
        is_interactive: Some(true),
        client_credential_type: s("certificate"),
        primary_auth_fresh: Some(true),
        authentication_contexts: strings(&["c1"]),
        user_agent: s("Mozilla"),
        source_variant: s("graph"),
    }
}

#[test]
fn schema_names_every_field_and_nothing_else() {
    let schema = schema();
    let in_schema: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let serialized: BTreeSet<String> = to_value(&SignIn::default())
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(
        in_schema, serialized,
        "schemas/signin.schema.json and model::SignIn drifted"
    );
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let description = property["description"].as_str().unwrap_or_default();
        assert!(description.len() > 10, "{name} needs a description");
    }
}

#[test]
fn real_samples_validate_against_the_schema() {
    let schema = schema();
    jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("not a valid schema: {e}"));
    let validator = jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{e}"));
    let mut records = vec![full_record()];
    if let Some(dir) = external() {
        let mut paths = vec![dir.join("elastic-integrations")];
        paths.push(dir.join("msgraph-docs/signin-list.beta.example1.response.json"));
        let (real, stats) = try_read(&paths, true).unwrap_or_else(|e| panic!("{e}"));
        assert!(real.len() >= 12, "{} records, {stats:?}", real.len());
        records.extend(real);
    }
    for r in &records {
        let v = to_value(r);
        if let Err(e) = validator.validate(&v) {
            panic!("{}: {e}\n{}", r.id, pretty(&v));
        }
    }
    // And the schema rejects what vigil never writes.
    let mut wrong = to_value(&full_record());
    wrong["createdDateTime"] = json!("2026-01-05T14:23:45Z");
    assert!(!validator.is_valid(&wrong), "seconds without milliseconds");
    let mut wrong = to_value(&full_record());
    wrong["kind"] = json!("adfs");
    assert!(!validator.is_valid(&wrong));
    let mut wrong = to_value(&full_record());
    wrong["extra"] = json!(1);
    assert!(!validator.is_valid(&wrong));
}
