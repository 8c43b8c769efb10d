//! The demo's directory-change step: an AI agent's changes from an Entra audit export recorded
//! beside the inferences that caused them, approvals before and after, and the coverage check
//! that finds the gaps.

use std::fs;
use std::path::Path;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_json::Value;
use vigil_ledger::index::audit_index_id;
use vigil_ledger::{Kind, Ledger, NewEntry, keyfile};

use crate::Outcome;

/// The sample tenant's audit export, the agent's inferences and the governance config.
const FILES: [(&str, &str); 3] = [
    (
        "audits.json",
        include_str!("../../samples/tenant/audits.json"),
    ),
    (
        "ai-inferences.ndjson",
        include_str!("../../samples/tenant/ai-inferences.ndjson"),
    ),
    (
        "governance.toml",
        include_str!("../../samples/tenant/governance.toml"),
    ),
];

/// The audit record id of the sample change with correlation number `n` (samples/tenant/generate.py).
fn sample_audit_id(n: u32) -> String {
    format!(
        "Directory_c1000000-0000-4000-8000-{n:012}_ONB{n:02}_{}",
        100_000 + n
    )
}

/// Runs the step, numbered `n`, on the demo's ledger (`DIR/audit.db`, keys beside it).
pub fn audit_step(dir: &Path, n: u32) -> Result<()> {
    println!(
        "\n== {n}. Record an AI agent's directory changes with their inferences and approvals, and check coverage"
    );
    let tenant = dir.join("tenant");
    fs::create_dir_all(&tenant).with_context(|| format!("{}: cannot create", tenant.display()))?;
    for (name, text) in FILES {
        let p = tenant.join(name);
        fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
    }
    let db = dir.join("audit.db");
    // The agent's inferences, signed by the AI engine's key.
    let engine = keyfile::read_secret_key(&dir.join("ai-engine.key"))?;
    let mut inferences = Vec::new();
    for line in FILES[1].1.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).context("built-in sample inferences")?;
        let subject: BTreeMap<String, String> =
            serde_json::from_value(v["subject"].clone()).context("built-in sample inferences")?;
        inferences.push(NewEntry {
            kind: Kind::Inference,
            subject,
            refs: vec![],
            payload: v["payload"].clone(),
        });
    }
    let at = Ledger::open(&db)?.append(&engine, inferences)?;
    println!(
        "the partner onboarding agent's {} inferences: entries #{}-#{}",
        at.len(),
        at.first().map_or(0, |a| a.seq),
        at.last().map_or(0, |a| a.seq)
    );
    // Approvals given before the changes: the Gold tier (change 2) and Finance membership
    // (change 4), on the inferences behind them (the sample's inferences are changes 1-6 in
    // order).
    for (change, why) in [
        (2, "contract confirms Gold tier"),
        (4, "partner invoices Contoso"),
    ] {
        let inference = at
            .get(change - 1)
            .context("the sample inference was not recorded")?;
        review(dir, inference.seq, why)?;
    }
    crate::cmd::record::run(&crate::cmd::record::RecordArgs {
        db: db.clone(),
        signins: vec![],
        audits: vec![tenant.join("audits.json")],
        inference_ref: None,
        scores: None,
        signal_key: None,
        inference_key: None,
        action_key: dir.join("signin-ingest.key"),
        batch: 4096,
        skip_bad_records: false,
        date_order: crate::cli::DateOrderArg::Mdy,
    })?;
    // Change 5 (a partner added to Finance) is approved only after it took effect.
    let change = Ledger::open(&db)?
        .recorded(Kind::Action, &audit_index_id(&sample_audit_id(5)))?
        .first()
        .map(|a| a.seq)
        .context("the sample change was not recorded")?;
    review(dir, change, "approved after the fact, on the weekly check")?;
    println!(
        "recorded 7 changes by the partner onboarding agent; analyst-kim approved two before they took effect and one (#{change}) after"
    );
    let outcome = crate::cmd::coverage::run(&crate::cmd::coverage::CoverageArgs {
        db: db.clone(),
        config: tenant.join("governance.toml"),
        from: None,
        to: None,
        json: false,
        html: Some(dir.join("coverage.html")),
    })?;
    println!(
        "{} (a scheduled `vigil ledger coverage` exits {} here); report: {}",
        if matches!(outcome, Outcome::Finding) {
            "coverage found the gaps above"
        } else {
            "coverage found no gap"
        },
        u8::from(matches!(outcome, Outcome::Finding)),
        dir.join("coverage.html").display()
    );
    println!("everything on the ledger about partner42_fabrikam.example#EXT#@contoso.example:");
    crate::cmd::show::trace(&crate::cli::TraceArgs {
        db,
        correlation_id: None,
        signin: None,
        user: Some("partner42_fabrikam.example#EXT#@contoso.example".into()),
        seq: None,
        json: false,
    })?;
    Ok(())
}

/// analyst-kim approves entry `seq`.
fn review(dir: &Path, seq: u64, reason: &str) -> Result<()> {
    crate::cmd::review::run(&crate::cmd::review::ReviewArgs {
        db: dir.join("audit.db"),
        key: dir.join("analyst-kim.key"),
        seq,
        verdict: crate::cmd::review::Verdict::Approved,
        reason: reason.into(),
        action: None,
        reviewer: Some("kim@contoso.example".into()),
    })?;
    Ok(())
}
