//! `schemas/governance.schema.json` agreeing with what `Governance` accepts, on the sample
//! tenant's config and on configs each wrong in one way.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::{Value, json};
use vigil_simulator::governance::Governance;

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/governance.schema.json");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&s).unwrap()
}

fn load(v: &Value) -> Result<Governance, String> {
    Governance::from_text(&v.to_string(), Path::new("governance.json")).map_err(|e| e.to_string())
}

#[test]
fn the_schema_and_the_reader_agree() {
    let v = schema();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/tenant/governance.toml");
    let text = std::fs::read_to_string(&sample).unwrap();
    let doc: Value = serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap();
    assert!(v.is_valid(&doc), "the schema rejects the sample config");
    let g = Governance::from_text(&text, &sample).unwrap();
    assert_eq!(g.agents.len(), 1);
    assert!(g.high_stakes.role_assignments);
    for good in [
        json!({}),
        json!({"agents": [{"appId": "a"}], "highStakes": {}}),
    ] {
        assert!(v.is_valid(&good), "the schema rejects {good}");
        load(&good).unwrap();
    }
    for bad in [
        json!({"agents": [{"displayName": "no app id"}]}),
        json!({"agents": [{"appId": "a", "name": "x"}]}),
        json!({"highStakes": {"group": []}}),
        json!({"highStakes": {"roleAssignments": "yes"}}),
        json!({"highStakes": {"attributes": "jobTitle"}}),
        json!({"agent": []}),
    ] {
        assert!(!v.is_valid(&bad), "the schema accepts {bad}");
        assert!(load(&bad).is_err(), "vigil accepts {bad}");
    }
}
