//! AI risk thresholds: band placement at the edges, and `schemas/thresholds.schema.json`
//! agreeing with what `Thresholds` accepts.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::{Value, json};
use vigil_simulator::airisk::{Action, Thresholds};

fn thresholds(v: Value) -> Result<Thresholds, String> {
    Thresholds::from_value(&v, Path::new("thresholds.json")).map_err(|e| e.to_string())
}

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/thresholds.schema.json");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&s).unwrap()
}

#[test]
fn a_score_gets_the_action_of_the_highest_threshold_it_reaches() {
    let t = thresholds(json!({"thresholds": {"review": 0.5, "mfa": 0.7, "block": 0.9}})).unwrap();
    for (score, action) in [
        (0.0, Action::Allow),
        (0.499_999, Action::Allow),
        (0.5, Action::Review),
        (0.699, Action::Review),
        (0.7, Action::Mfa),
        (0.9, Action::Block),
        (1.0, Action::Block),
    ] {
        assert_eq!(t.band(score).action, action, "score {score}");
    }
    assert_eq!(t.band(0.91).reason, "score 0.91 >= block threshold 0.90");
    assert_eq!(
        t.band(0.1).reason,
        "score 0.10 < review threshold 0.50: allow"
    );
    assert_eq!(
        t.actions(),
        vec![Action::Allow, Action::Review, Action::Mfa, Action::Block]
    );
    assert_eq!(t.policy.id, "vigil-ai-risk");
    assert!(t.policy.ai_risk);
}

#[test]
fn percent_thresholds_compare_on_the_unit_scale_and_show_in_percent() {
    let t = thresholds(json!({"scale": "0-100", "thresholds": {"mfa": 60, "block": 85}})).unwrap();
    assert_eq!(t.band(0.85).action, Action::Block);
    assert_eq!(t.band(0.849).action, Action::Mfa);
    assert_eq!(t.band(0.99).reason, "score 99 >= block threshold 85");
}

#[test]
fn the_schema_and_the_reader_agree() {
    let v = schema();
    let schema_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/thresholds.schema.json"),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(&schema_text).unwrap();
    for ex in doc["examples"].as_array().unwrap() {
        assert!(v.is_valid(ex), "the schema rejects its own example {ex}");
        thresholds(ex.clone()).unwrap();
    }
    for bad in [
        json!({}),
        json!({"thresholds": {}}),
        json!({"thresholds": {"deny": 0.5}}),
        json!({"thresholds": {"mfa": -0.1}}),
        json!({"thresholds": {"mfa": 0.5}, "mode": "audit"}),
        json!({"thresholds": {"mfa": 0.5}, "scale": "0-10"}),
        json!({"thresholds": {"mfa": 0.5}, "extra": true}),
        json!({"thresholds": {"mfa": 0.5}, "conditions": []}),
    ] {
        assert!(!v.is_valid(&bad), "the schema accepts {bad}");
        assert!(thresholds(bad.clone()).is_err(), "vigil accepts {bad}");
    }
}
