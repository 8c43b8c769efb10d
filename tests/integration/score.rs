//! `vigil score`: the baseline scorer over the sample tenant, and `vigil sweep` over its output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::harness::vigil;

#[test]
fn score_the_sample_tenant_then_sweep_it() {
    let dir = tempfile::tempdir().unwrap();
    let signins = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tenant/signins.json");
    let signins = signins.to_str().unwrap();
    vigil(
        dir.path(),
        &["score", "--signins", signins, "--out", "scores.csv"],
    )
    .ok();
    let csv = std::fs::read_to_string(dir.path().join("scores.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("signInId,score,riskLevel,reasoning,recommendedAction,model")
    );
    // One score per sign-in of the sample (300), some of them above zero, all in 0-1.
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().any(|r| r.contains("legacy client")), "{csv}");
    assert!(rows.iter().any(|r| r.contains("vigil-baseline ")));
    // Same input, byte-identical output.
    vigil(
        dir.path(),
        &["score", "--signins", signins, "--out", "again.csv"],
    )
    .ok();
    assert_eq!(
        std::fs::read(dir.path().join("again.csv")).unwrap(),
        csv.as_bytes()
    );
    let out = vigil(
        dir.path(),
        &[
            "sweep",
            "--scores",
            "scores.csv",
            "--signins",
            signins,
            "--json",
        ],
    )
    .ok();
    let v = out.json();
    assert_eq!(v["items"], 300);
    assert!(v["positives"].as_u64().unwrap() > 0);
    assert!(!v["rows"].as_array().unwrap().is_empty());
}
