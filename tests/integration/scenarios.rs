//! The scenario suite: every folder under `tests/scenarios/` is one documented Conditional
//! Access case, run through the real `vigil simulate` binary exactly as the contract
//! (`CONTRACT-simulate.md`) describes, and compared with the folder's `expected.json`.
//!
//! A folder holds (format in `tests/scenarios/README.md`):
//! - `policies.json`: Graph `conditionalAccessPolicy` JSON (array or `{"value":[...]}`);
//! - `signins.json` or `signins.ndjson`: sign-ins in a shape `--signins` reads;
//! - optional `locations.json` (`--named-locations`) and `directory.json` (`--directory`);
//! - `expected.json`: the documented rule (`doc`) and, per sign-in, the overall status, every
//!   policy's result, and optionally the controls (a set), the logged baseline's status and
//!   substrings the reasons must contain.
//!
//! Expected results are worked out from `simulator/SEMANTICS.md` and the Microsoft pages it
//! cites, never copied from vigil's output. A difference is reported as
//! `scenario / sign-in / policy: expected X, got Y`, all differences of all scenarios at once.
//! A second test checks that every numbered rule of SEMANTICS.md sections 1-11 is cited by at
//! least one scenario.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

/// Every scenario folder, by name.
fn scenarios() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no scenarios under {}", root().display());
    dirs
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn text_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `vigil simulate` for one scenario folder; returns decisions.ndjson's rows by sign-in id
/// (with the order of ids), or a description of what went wrong.
fn run(dir: &Path, out: &Path) -> Result<(Vec<String>, BTreeMap<String, Value>), String> {
    let signins = ["signins.json", "signins.ndjson"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
        .ok_or("no signins.json or signins.ndjson")?;
    let mut args: Vec<String> = vec![
        "simulate".into(),
        "--signins".into(),
        signins.display().to_string(),
        "--policies".into(),
        dir.join("policies.json").display().to_string(),
    ];
    for (file, flag) in [
        ("locations.json", "--named-locations"),
        ("directory.json", "--directory"),
    ] {
        if dir.join(file).exists() {
            args.push(flag.into());
            args.push(dir.join(file).display().to_string());
        }
    }
    args.push("--out".into());
    args.push(out.display().to_string());
    let output = assert_cmd::Command::cargo_bin("vigil")
        .unwrap()
        .args(&args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    if output.status.code() != Some(0) {
        return Err(format!(
            "vigil simulate exited with {:?}:\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = fs::read_to_string(out.join("decisions.ndjson")).map_err(|e| e.to_string())?;
    let mut order = Vec::new();
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        let id = row["signInId"].as_str().unwrap_or_default().to_string();
        order.push(id.clone());
        rows.insert(id, row);
    }
    Ok((order, rows))
}

/// Compares one scenario's decisions with its expectations; appends each difference.
fn compare(name: &str, expected: &Value, rows: &BTreeMap<String, Value>, diffs: &mut Vec<String>) {
    let mut diff = |what: String| diffs.push(format!("{name} / {what}"));
    let Some(cases) = expected["signIns"].as_array() else {
        diff("expected.json: `signIns` must be an array".into());
        return;
    };
    let mut seen = BTreeSet::new();
    for case in cases {
        let id = case["id"].as_str().unwrap_or_default();
        seen.insert(id.to_string());
        let Some(row) = rows.get(id) else {
            diff(format!("{id}: no decision for this sign-in"));
            continue;
        };
        let cand = &row["candidate"];
        let why = |pid: &str| -> String {
            cand["policies"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["id"] == pid))
                .map(|p| p["reasons"].to_string())
                .unwrap_or_default()
        };
        if let Some(want) = case["status"].as_str()
            && cand["status"] != want
        {
            diff(format!(
                "{id}: status expected {want}, got {} ({})",
                cand["status"], cand
            ));
        }
        if case.get("controls").is_some() {
            let want: BTreeSet<String> = text_list(&case["controls"]).into_iter().collect();
            let got: BTreeSet<String> = text_list(&cand["controls"]).into_iter().collect();
            if want != got {
                diff(format!("{id}: controls expected {want:?}, got {got:?}"));
            }
        }
        if let Some(want) = case["baseline"].as_str()
            && row["baseline"]["status"] != want
        {
            diff(format!(
                "{id}: logged baseline status expected {want}, got {}",
                row["baseline"]["status"]
            ));
        }
        let got: BTreeMap<String, String> = cand["policies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["id"].as_str().unwrap_or_default().to_string(),
                    p["result"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let want = case["policies"].as_object().cloned().unwrap_or_default();
        for (pid, r) in &want {
            match got.get(pid) {
                None => diff(format!("{id} / {pid}: no such policy in the decision")),
                Some(g) if Some(g.as_str()) != r.as_str() => diff(format!(
                    "{id} / {pid}: expected {}, got {g}; reasons {}",
                    r.as_str().unwrap_or("?"),
                    why(pid)
                )),
                Some(_) => {}
            }
        }
        for pid in got.keys().filter(|p| !want.contains_key(*p)) {
            diff(format!(
                "{id} / {pid}: expected.json does not give this policy's result (got {})",
                got[pid]
            ));
        }
        for (pid, parts) in case["reasons"].as_object().into_iter().flatten() {
            let reasons = why(pid);
            for part in text_list(parts) {
                if !reasons.to_lowercase().contains(&part.to_lowercase()) {
                    diff(format!(
                        "{id} / {pid}: reasons do not mention {part:?}: {reasons}"
                    ));
                }
            }
        }
    }
    for id in rows.keys().filter(|id| !seen.contains(*id)) {
        diff(format!("{id}: decided but not in expected.json"));
    }
}

/// Checks the `doc` member: the rules it rests on and the Microsoft pages they cite.
fn check_doc(name: &str, expected: &Value, diffs: &mut Vec<String>) {
    let doc = &expected["doc"];
    if text_list(&doc["rules"]).is_empty() {
        diffs.push(format!(
            "{name}: expected.json doc.rules names no SEMANTICS.md rule"
        ));
    }
    let sources = text_list(&doc["sources"]);
    if sources.is_empty()
        || !sources
            .iter()
            .all(|s| s.starts_with("https://learn.microsoft.com/"))
    {
        diffs.push(format!(
            "{name}: expected.json doc.sources must list the learn.microsoft.com pages the rule rests on"
        ));
    }
    if doc["summary"].as_str().is_none_or(str::is_empty) {
        diffs.push(format!("{name}: expected.json doc.summary is missing"));
    }
}

#[test]
fn every_scenario_matches_the_documented_semantics() {
    let tmp = tempfile::tempdir().unwrap();
    let mut diffs = Vec::new();
    let mut count = 0;
    for dir in scenarios() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let expected = read_json(&dir.join("expected.json"));
        check_doc(&name, &expected, &mut diffs);
        match run(&dir, &tmp.path().join(&name)) {
            Err(e) => diffs.push(format!("{name}: {e}")),
            Ok((_, rows)) => compare(&name, &expected, &rows, &mut diffs),
        }
        count += 1;
    }
    let mut report = String::new();
    for d in &diffs {
        writeln!(report, "  {d}").unwrap();
    }
    assert!(
        diffs.is_empty(),
        "{} difference(s) in {count} scenarios:\n{report}",
        diffs.len()
    );
}

/// Every numbered rule of SEMANTICS.md §1-§11 (the evaluation rules) is cited by a scenario.
#[test]
fn every_evaluation_rule_has_a_scenario() {
    let semantics =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("simulator/SEMANTICS.md"))
            .unwrap();
    let mut rules = BTreeSet::new();
    for part in semantics.split("**Rule ").skip(1) {
        let number: String = part
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let number = number.trim_end_matches('.').to_string();
        let section: u32 = number
            .split('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if (1..=11).contains(&section) {
            rules.insert(number);
        }
    }
    assert!(rules.len() > 40, "found only {} rules", rules.len());
    let mut cited = BTreeSet::new();
    for dir in scenarios() {
        let expected = read_json(&dir.join("expected.json"));
        for r in text_list(&expected["doc"]["rules"]) {
            cited.insert(r.trim_start_matches("Rule ").to_string());
        }
    }
    let missing: Vec<&String> = rules.iter().filter(|r| !cited.contains(*r)).collect();
    assert!(
        missing.is_empty(),
        "SEMANTICS.md rules no scenario cites: {missing:?}"
    );
}
