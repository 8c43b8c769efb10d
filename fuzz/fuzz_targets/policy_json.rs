//! The `--policies` reader on raw bytes: text decoding (`text::decode_text`: UTF-8 with or
//! without a BOM, UTF-16LE/BE with a BOM, BOM-less UTF-16 told by its NUL bytes), JSON, then
//! `policy::policies_from_json`, then evaluation of what parsed against a few sign-ins.
//! Properties: nothing panics or hangs (a policy may list many controls); decoded text
//! re-encoded as UTF-16LE with a BOM, or UTF-8 with a BOM, decodes to the same text; a
//! parsed set has unique ids (case-insensitive) and every evaluation gives one result per
//! policy in the contract's vocabulary.
#![no_main]

use std::collections::BTreeSet;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigil_simulator::eval::{Context, evaluate};
use vigil_simulator::model::{SignIn, SignInKind};
use vigil_simulator::policy::policies_from_json;
use vigil_simulator::text::decode_text;

const RESULTS: &[&str] = &[
    "success",
    "failure",
    "notApplied",
    "notEnabled",
    "reportOnlySuccess",
    "reportOnlyFailure",
    "reportOnlyInterrupted",
    "reportOnlyNotApplied",
    "indeterminate",
];
const STATUSES: &[&str] = &[
    "notApplied",
    "success",
    "interrupted",
    "failure",
    "indeterminate",
];

fn signins() -> Vec<SignIn> {
    let user = SignIn {
        id: "s".into(),
        kind: Some(SignInKind::InteractiveUser),
        user_id: Some("0a6f3e2d-1b9c-4e87-a5d4-62c1f0e9b873".into()),
        user_type: Some("Member".into()),
        resource_id: Some("00000002-0000-0ff1-ce00-000000000000".into()),
        ip_address: Some("203.0.113.24".into()),
        client_app_used: Some("Browser".into()),
        operating_system: Some("Windows 10".into()),
        error_code: Some(0),
        mfa_satisfied: Some(false),
        ..SignIn::default()
    };
    let workload = SignIn {
        kind: Some(SignInKind::ServicePrincipal),
        user_id: None,
        service_principal_id: Some("9f1a0000-0000-4000-8000-000000000001".into()),
        ..user.clone()
    };
    vec![SignIn::default(), user, workload]
}

fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = decode_text(data) else {
        return;
    };
    assert_eq!(
        decode_text(&utf16le_bom(&text)).as_deref(),
        Ok(text.as_str()),
        "UTF-16LE round trip"
    );
    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend_from_slice(text.as_bytes());
    assert_eq!(
        decode_text(&utf8).as_deref(),
        Ok(text.as_str()),
        "UTF-8 BOM round trip"
    );
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    let Ok(set) = policies_from_json(&value, Path::new("policies.json")) else {
        return;
    };
    let ids: BTreeSet<String> = set
        .policies
        .iter()
        .map(|p| p.id.to_ascii_lowercase())
        .collect();
    assert_eq!(
        ids.len(),
        set.policies.len(),
        "duplicate policy ids accepted"
    );
    let Ok(ctx) = Context::new(&set.policies, &[], None) else {
        return;
    };
    for s in signins() {
        let d = evaluate(&set.policies, &s, &ctx);
        assert_eq!(d.policies.len(), set.policies.len());
        assert!(STATUSES.contains(&d.status), "status {}", d.status);
        for r in &d.policies {
            assert!(RESULTS.contains(&r.result), "result {}", r.result);
        }
    }
});
