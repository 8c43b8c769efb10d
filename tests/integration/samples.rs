//! `vigil samples generate`: deterministic tenants that `ingest`, `simulate`, `score` and
//! `sweep` read as they read real exports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::harness::vigil;

const FILES: &[&str] = &[
    "policies.json",
    "named-locations.json",
    "directory.json",
    "signins.ndjson",
    "scores.csv",
    "labels.csv",
];

fn generate(dir: &Path, out: &str, signins: &str, seed: &str, extra: &[&str]) {
    let mut args = vec![
        "--quiet",
        "samples",
        "generate",
        "--signins",
        signins,
        "--seed",
        seed,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    vigil(dir, &args).ok();
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn same_seed_same_bytes_other_seed_other_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, "a", "600", "42", &[]);
    generate(d, "b", "600", "42", &[]);
    generate(d, "c", "600", "43", &[]);
    for f in FILES {
        assert_eq!(
            read(&d.join("a"), f),
            read(&d.join("b"), f),
            "{f} differs between two runs with the same seed"
        );
    }
    for f in [
        "directory.json",
        "signins.ndjson",
        "scores.csv",
        "labels.csv",
    ] {
        assert_ne!(
            read(&d.join("a"), f),
            read(&d.join("c"), f),
            "{f} is the same for seeds 42 and 43"
        );
    }
    let lines = String::from_utf8(read(&d.join("a"), "signins.ndjson")).unwrap();
    assert_eq!(lines.lines().count(), 600);
    // Parquet too.
    generate(d, "p1", "300", "9", &["--format", "parquet"]);
    generate(d, "p2", "300", "9", &["--format", "parquet"]);
    assert_eq!(
        read(&d.join("p1"), "signins.parquet"),
        read(&d.join("p2"), "signins.parquet")
    );
}

#[test]
fn generated_signins_ingest_and_simulate_against_the_generated_policies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, "t", "2000", "5", &[]);
    let out = vigil(
        d,
        &[
            "ingest",
            "--signins",
            "t/signins.ndjson",
            "--out",
            "t/signins.parquet",
        ],
    )
    .ok();
    assert!(
        out.stderr.contains("2000 sign-ins written"),
        "{}",
        out.stderr
    );
    vigil(
        d,
        &[
            "--quiet",
            "simulate",
            "--signins",
            "t/signins.parquet",
            "--policies",
            "t/policies.json",
            "--named-locations",
            "t/named-locations.json",
            "--directory",
            "t/directory.json",
            "--decisions",
            "none",
            "--out",
            "sim",
        ],
    )
    .ok();
    let summary: Value = serde_json::from_slice(&read(d, "sim/summary.json")).unwrap();
    assert_eq!(summary["signIns"], 2000);
    assert_eq!(summary["skipped"], 0);
    let total = |v: &Value| -> u64 {
        v.as_object()
            .unwrap()
            .values()
            .map(|c| c.as_u64().unwrap())
            .sum()
    };
    assert_eq!(total(&summary["candidate"]["status"]), 2000);
    assert_eq!(total(&summary["baseline"]["status"]), 2000);
    assert_eq!(total(&summary["transitions"]), 2000);
    // Every policy has a result for every sign-in.
    let policies = summary["candidate"]["policies"].as_object().unwrap();
    assert_eq!(policies.len(), 14);
    for (id, counts) in policies {
        assert_eq!(total(counts), 2000, "policy {id}");
    }
    // The log's outcomes are what the policies in force decided: replaying those policies
    // changes (almost) nothing; the log shows some sign-ins blocked and some prompted.
    let transitions = summary["transitions"].as_object().unwrap();
    let unchanged: u64 = transitions
        .iter()
        .filter(|(k, _)| {
            let (a, b) = k.split_once(" -> ").unwrap();
            a == b
        })
        .map(|(_, c)| c.as_u64().unwrap())
        .sum();
    assert!(
        unchanged >= 1980,
        "only {unchanged} of 2000 unchanged: {transitions:?}"
    );
    let baseline = &summary["baseline"]["status"];
    assert!(baseline["failure"].as_u64().unwrap_or(0) > 0, "{baseline}");
    assert!(
        baseline["interrupted"].as_u64().unwrap_or(0) > 0,
        "{baseline}"
    );
    assert!(
        baseline["success"].as_u64().unwrap_or(0) > 1000,
        "{baseline}"
    );
    // Report-only and disabled policies are there too.
    let any = |word: &str| policies.values().any(|c| c[word].as_u64().unwrap_or(0) > 0);
    assert!(any("notEnabled") && any("reportOnlyNotApplied"));
}

#[test]
fn graph_pages_hold_the_same_signins_as_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, "n", "2300", "11", &[]);
    generate(d, "g", "2300", "11", &["--format", "graph"]);
    let pages: Vec<_> = fs::read_dir(d.join("g/signins")).unwrap().collect();
    assert_eq!(pages.len(), 3, "2,300 sign-ins in pages of 1,000");
    for (input, out) in [
        ("n/signins.ndjson", "n.parquet"),
        ("g/signins", "g.parquet"),
    ] {
        vigil(d, &["ingest", "--signins", input, "--out", out]).ok();
    }
    // The same rows, whichever way they were written.
    let sim = |input: &str, out: &str| -> Value {
        vigil(
            d,
            &[
                "--quiet",
                "simulate",
                "--signins",
                input,
                "--policies",
                "n/policies.json",
                "--named-locations",
                "n/named-locations.json",
                "--directory",
                "n/directory.json",
                "--decisions",
                "none",
                "--out",
                out,
            ],
        )
        .ok();
        serde_json::from_slice(&read(d, &format!("{out}/summary.json"))).unwrap()
    };
    let a = sim("n.parquet", "sa");
    let b = sim("g.parquet", "sb");
    assert_eq!(a["signIns"], 2300);
    assert_eq!(a["transitions"], b["transitions"]);
    assert_eq!(a["candidate"], b["candidate"]);
}

#[test]
fn attacks_are_labelled_and_scores_and_sweep_find_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, "t", "3000", "3", &["--attack-rate", "0.02"]);
    let labels = String::from_utf8(read(&d.join("t"), "labels.csv")).unwrap();
    let positives: Vec<&str> = labels.lines().filter(|l| l.contains(",1,")).collect();
    assert!(positives.len() > 20, "{} attacks", positives.len());
    for kind in ["passwordSpray", "impossibleTravel", "tokenReplay"] {
        assert!(positives.iter().any(|l| l.ends_with(kind)), "no {kind}");
    }
    // Some attacks show in the log itself, as analysts confirmed them.
    let log = String::from_utf8(read(&d.join("t"), "signins.ndjson")).unwrap();
    assert!(log.contains("\"riskState\":\"confirmedCompromised\""));

    let sweep = |scores: &str| -> Value {
        vigil(
            d,
            &[
                "sweep",
                "--scores",
                scores,
                "--labels",
                "t/labels.csv",
                "--json",
            ],
        )
        .ok()
        .json()
    };
    let found = |s: &Value| {
        s["rows"].as_array().unwrap().iter().any(|r| {
            r["precision"].as_f64().unwrap_or(0.0) > 0.5
                && r["recall"].as_f64().unwrap_or(0.0) > 0.5
        })
    };
    let s = sweep("t/scores.csv");
    assert_eq!(s["positives"].as_u64(), u64::try_from(positives.len()).ok());
    assert!(found(&s), "the generated scores separate no attacks: {s}");
    // The built-in baseline scorer finds some of them from the log alone.
    vigil(
        d,
        &[
            "score",
            "--signins",
            "t/signins.ndjson",
            "--out",
            "base.csv",
        ],
    )
    .ok();
    let s = sweep("base.csv");
    let best_precision = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["recall"].as_f64().unwrap_or(0.0) > 0.0)
        .filter_map(|r| r["precision"].as_f64())
        .fold(0.0, f64::max);
    let base_rate = positives.len() as f64 / s["items"].as_f64().unwrap();
    assert!(
        best_precision > 5.0 * base_rate,
        "baseline scorer precision {best_precision} vs base rate {base_rate}"
    );
}

#[test]
fn bad_flags_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    vigil(d, &["samples", "generate", "--signins", "0", "--out", "x"]).input_error(&["--signins"]);
    vigil(
        d,
        &[
            "samples",
            "generate",
            "--signins",
            "10",
            "--attack-rate",
            "2",
            "--out",
            "x",
        ],
    )
    .input_error(&["--attack-rate"]);
    vigil(
        d,
        &["samples", "generate", "--signins", "ten", "--out", "x"],
    )
    .code(2);
    assert!(!d.join("x").exists());
}
