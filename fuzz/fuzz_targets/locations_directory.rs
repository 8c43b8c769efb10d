//! The `--named-locations` and `--directory` readers on raw bytes: text decoding
//! (`text::decode_text`, UTF-8 or UTF-16), JSON, then `location::locations_from_json` and
//! `directory::directory_from_json` on the same document. Properties: nothing panics; an IP
//! location contains the first and last address of each of its ranges; country matching,
//! trust and an `AllTrusted` / named-location policy evaluate without panicking; a directory
//! holds each user under its own id and finds every UPN (lowercase) back to that user.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use vigil_simulator::directory::directory_from_json;
use vigil_simulator::eval::{Context, evaluate};
use vigil_simulator::location::locations_from_json;
use vigil_simulator::model::{NamedLocationKind, SignIn, SignInKind};
use vigil_simulator::policy::policies_from_json;
use vigil_simulator::text::decode_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = decode_text(data) else {
        return;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    if let Ok(set) = locations_from_json(&value, Path::new("locations.json")) {
        for loc in &set.locations {
            if let NamedLocationKind::Ip { ranges, .. } = &loc.kind {
                for r in ranges {
                    assert!(loc.matches_ip(&r.network()), "{r} lacks its first address");
                    assert!(loc.matches_ip(&r.broadcast()), "{r} lacks its last address");
                }
            }
            let _ = loc.matches_country(Some("US"));
            let _ = loc.matches_country(None);
            let _ = loc.is_trusted();
        }
        // Policies over every location: AllTrusted and each id, as include and exclude.
        let ids: Vec<String> = set.locations.iter().map(|l| l.id.clone()).collect();
        let policies = json!([
            {"id": "trusted", "displayName": "t", "state": "enabled",
             "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}},
             "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
            {"id": "named", "displayName": "n", "state": "enabled",
             "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                            "locations": {"includeLocations": ids.clone(), "excludeLocations": ids}},
             "grantControls": {"operator": "OR", "builtInControls": ["block"]}}
        ]);
        let policies = policies_from_json(&policies, Path::new("p.json"))
            .map(|p| p.policies)
            .unwrap_or_default();
        if let Ok(ctx) = Context::new(&policies, &set.locations, None) {
            for (ip, trusted) in [
                (Some("203.0.113.24"), None),
                (Some("2001:db8::1"), Some(false)),
                (None, Some(true)),
                (None, None),
            ] {
                let s = SignIn {
                    kind: Some(SignInKind::InteractiveUser),
                    user_id: Some("u".into()),
                    error_code: Some(0),
                    ip_address: ip.map(str::to_string),
                    trusted_network: trusted,
                    network_names: Some(
                        set.locations
                            .iter()
                            .take(1)
                            .map(|l| l.display_name.clone())
                            .collect(),
                    ),
                    country: Some("US".into()),
                    ..SignIn::default()
                };
                let d = evaluate(&policies, &s, &ctx);
                assert_eq!(d.policies.len(), policies.len());
            }
        }
    }
    if let Ok(dir) = directory_from_json(&value, Path::new("directory.json")) {
        for (id, user) in &dir.users {
            assert_eq!(id, &user.id);
            if let Some(upn) = &user.user_principal_name {
                assert_eq!(dir.by_upn.get(&upn.to_lowercase()), Some(id), "UPN {upn}");
            }
        }
        for id in dir.by_upn.values() {
            assert!(dir.users.contains_key(id), "a UPN leads to no user");
        }
    }
});
