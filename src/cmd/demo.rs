//! `vigil demo`: the ledger end to end on built-in sample data, in a scratch folder.
//!
//! Records five sign-ins from signal to AI inference to applied action to human review,
//! checkpoints and verifies the ledger, traces one sign-in, erases one payload on a
//! (simulated) lawful request, exports and verifies a bundle, then tampers with copies
//! and shows that verification names the first bad entry. Then the policy simulator: 300
//! sample sign-ins replayed against candidate policies and AI risk thresholds, a sweep of
//! the AI score threshold against the sign-ins' labels, and those sign-ins and scores recorded
//! on the ledger (twice, adding nothing the second time), one reviewed and traced. Last, an AI
//! agent's directory changes from an audit export, with the approvals, and their coverage.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use vigil_ledger::audit::{VerifyOptions, verify_database};
use vigil_ledger::bundle::{export, verify_bundle};
use vigil_ledger::note::{ALG_ED25519, SignerKey};
use vigil_ledger::verify::{CheckpointInput, Report};
use vigil_ledger::{Kind, Ledger, NewEntry, Ref, keyfile};

use crate::Outcome;
use crate::cli::DemoArgs;

const EVENTS: &str = include_str!("../../samples/ledger/events.json");
const ORIGIN: &str = "contoso.example/vigil";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    sign_in_id: String,
    correlation_id: String,
    user_id: String,
    signal: serde_json::Value,
    inference: serde_json::Value,
    action: serde_json::Value,
    review: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Events {
    tenant_id: String,
    events: Vec<Event>,
}

fn step(n: u32, title: &str) {
    println!("\n== {n}. {title}");
}

fn summary(r: &Report) -> String {
    if r.ok {
        format!(
            "OK ({} entries, {} signatures, root {}…)",
            r.size,
            r.signatures_checked,
            &r.root[..16]
        )
    } else {
        let f = &r.findings[0];
        format!(
            "FINDING at seq {}: {} — {}",
            f.seq.map_or_else(|| "-".into(), |s| s.to_string()),
            f.code,
            f.message
        )
    }
}

fn new_key(dir: &Path, name: &str) -> Result<SignerKey> {
    let key = SignerKey::generate(name, ALG_ED25519)?;
    keyfile::write_secret_key(&dir.join(format!("{name}.key")), &key)?;
    keyfile::write_public_key(&dir.join(format!("{name}.pub")), &key.verifier())?;
    Ok(key)
}

/// Runs the walk-through.
pub fn run(a: &DemoArgs) -> Result<Outcome> {
    let _tmp;
    let dir: PathBuf = match &a.dir {
        Some(d) => {
            if d.exists() {
                bail!(
                    "{}: already exists; give a new folder for the demo",
                    d.display()
                );
            }
            fs::create_dir_all(d).with_context(|| format!("{}: cannot create", d.display()))?;
            d.clone()
        }
        None => {
            _tmp = tempfile::tempdir().context("cannot create a temporary folder")?;
            _tmp.path().to_path_buf()
        }
    };
    let sample: Events = serde_json::from_str(EVENTS).context("built-in sample data")?;
    println!(
        "vigil demo: an audit ledger for AI risk decisions next to Microsoft Entra ID (files in {})",
        dir.display()
    );

    step(1, "Create the ledger and register who may write what");
    let db = dir.join("audit.db");
    let ledger_key = SignerKey::generate(ORIGIN, ALG_ED25519)?;
    keyfile::write_secret_key(&dir.join("audit.ledger.key"), &ledger_key)?;
    let mut ledger = Ledger::create(&db, &ledger_key)?;
    let ingest = new_key(&dir, "signin-ingest")?;
    let engine = new_key(&dir, "ai-engine")?;
    let analyst = new_key(&dir, "analyst-kim")?;
    let architect = new_key(&dir, "policy-architect")?;
    ledger.add_key(
        &ledger_key,
        &ingest.verifier(),
        vec![Kind::Signal, Kind::Action],
    )?;
    ledger.add_key(&ledger_key, &engine.verifier(), vec![Kind::Inference])?;
    ledger.add_key(&ledger_key, &analyst.verifier(), vec![Kind::Review])?;
    ledger.add_key(
        &ledger_key,
        &architect.verifier(),
        vec![Kind::Policy, Kind::Run],
    )?;
    println!(
        "ledger {ORIGIN}: keys signin-ingest (signal, action), ai-engine (inference), analyst-kim (review), policy-architect (policy, run)"
    );

    step(
        2,
        "Record sign-ins, AI inferences, applied actions and reviews",
    );
    let mut redact_target = None;
    for e in &sample.events {
        let subject: BTreeMap<String, String> = [
            ("tenantId", &sample.tenant_id),
            ("signInId", &e.sign_in_id),
            ("correlationId", &e.correlation_id),
            ("userId", &e.user_id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
        let mk = |kind, refs, payload: &serde_json::Value| NewEntry {
            kind,
            subject: subject.clone(),
            refs,
            payload: payload.clone(),
        };
        let sig = ledger.append(&ingest, vec![mk(Kind::Signal, vec![], &e.signal)])?[0];
        let inf = ledger.append(
            &engine,
            vec![mk(
                Kind::Inference,
                vec![Ref {
                    seq: sig.seq,
                    hash: sig.hash,
                }],
                &e.inference,
            )],
        )?[0];
        let act = ledger.append(
            &ingest,
            vec![mk(
                Kind::Action,
                vec![Ref {
                    seq: inf.seq,
                    hash: inf.hash,
                }],
                &e.action,
            )],
        )?[0];
        let mut line = format!(
            "sign-in {}…: signal #{} -> inference #{} -> action #{}",
            &e.sign_in_id[..8],
            sig.seq,
            inf.seq,
            act.seq
        );
        if let Some(r) = &e.review {
            let rev = ledger.append(
                &analyst,
                vec![mk(
                    Kind::Review,
                    vec![
                        Ref {
                            seq: inf.seq,
                            hash: inf.hash,
                        },
                        Ref {
                            seq: act.seq,
                            hash: act.hash,
                        },
                    ],
                    r,
                )],
            )?[0];
            line.push_str(&format!(" -> review #{}", rev.seq));
        }
        println!("{line}");
        if redact_target.is_none() {
            redact_target = Some(sig.seq);
        }
    }
    match ledger.append(
        &engine,
        vec![NewEntry {
            kind: Kind::Review,
            subject: BTreeMap::new(),
            refs: vec![],
            payload: serde_json::json!({"verdict": "approved"}),
        }],
    ) {
        Err(e) => println!("the AI engine's key tried to sign a human review and was refused: {e}"),
        Ok(_) => bail!("the ledger accepted a review signed by the AI engine's key"),
    }

    step(
        3,
        "Checkpoint (a C2SP signed note an auditor keeps) and verify",
    );
    let cp = ledger.checkpoint(&ledger_key)?;
    let cp_path = dir.join("checkpoint.txt");
    fs::write(&cp_path, cp.to_bytes())?;
    print!("{}", String::from_utf8_lossy(&cp.to_bytes()));
    let trusted = || -> Result<Vec<CheckpointInput>> {
        Ok(vec![CheckpointInput {
            source: "checkpoint.txt".into(),
            bytes: fs::read(&cp_path)?,
            trusted: true,
        }])
    };
    let pinned = vec![ledger_key.verifier()];
    let report = verify_database(
        &ledger,
        VerifyOptions {
            trusted: trusted()?,
            pinned: pinned.clone(),
            ..Default::default()
        },
    )?;
    println!("verify: {}", summary(&report));
    if !report.ok {
        bail!("the fresh demo ledger did not verify");
    }

    step(4, "Trace one sign-in from signal to decision");
    let traced = &sample.events[1];
    let size = ledger.size()?;
    for entry in ledger.entries_range(0, size)? {
        let env = vigil_ledger::Envelope::parse_lenient(&entry.envelope)?;
        if env.subject.get("correlationId") == Some(&traced.correlation_id) {
            let payload = entry
                .payload
                .as_ref()
                .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default();
            let short: String = payload.chars().take(90).collect();
            println!(
                "#{:<3} {:<9} by {:<13} {}…",
                entry.seq,
                env.kind.as_str(),
                env.actor,
                short
            );
        }
    }

    step(
        5,
        "Erase one payload on a lawful request: the chain still verifies",
    );
    let target = redact_target.context("no sample entries")?;
    let red = ledger.redact(
        &ledger_key,
        target,
        "GDPR Art. 17 erasure request #2026-0042",
    )?;
    let report = verify_database(
        &ledger,
        VerifyOptions {
            pinned: pinned.clone(),
            ..Default::default()
        },
    )?;
    println!(
        "entry {target}: payload erased, redaction recorded as entry {}; verify: {} ; redacted: {:?}",
        red.seq,
        summary(&report),
        report.redacted
    );
    if !report.ok {
        bail!("the ledger did not verify after a redaction");
    }

    step(6, "Export a bundle and verify it offline (no database)");
    let bundle = dir.join("bundle");
    let m = export(&ledger, &bundle, "vigil demo", |_, _| {})?;
    let report = verify_bundle(&bundle, trusted()?, pinned.clone(), |_, _| {})?;
    println!("bundle with {} entries: {}", m.size, summary(&report));
    if !report.ok {
        bail!("the exported bundle did not verify");
    }

    step(
        7,
        "Tamper with copies; verification names the first bad entry",
    );
    drop(ledger);
    let mut caught = 0;
    let cases: [(&str, &str); 3] = [
        (
            "edit an AI inference's payload (score 81 -> 18)",
            "UPDATE payloads SET payload = CAST(replace(CAST(payload AS TEXT), '\"score\":81', '\"score\":18') AS BLOB) WHERE CAST(payload AS TEXT) LIKE '%\"score\":81%'",
        ),
        (
            "delete a human review",
            "DELETE FROM entries WHERE seq = (SELECT max(seq) FROM entries WHERE kind = 'review')",
        ),
        (
            "truncate the tail (drop the last three entries)",
            "DELETE FROM entries WHERE seq > (SELECT max(seq) - 3 FROM entries)",
        ),
    ];
    for (i, (what, sql)) in cases.iter().enumerate() {
        let copy = dir.join(format!("tampered-{i}.db"));
        fs::copy(&db, &copy)?;
        {
            let conn = rusqlite::Connection::open(&copy)?;
            // An attacker with file access drops the append-only triggers first.
            let triggers: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for t in triggers {
                conn.execute_batch(&format!("DROP TRIGGER {t}"))?;
            }
            conn.execute_batch(sql)?;
        }
        let tampered = Ledger::open_readonly(&copy)?;
        let report = verify_database(
            &tampered,
            VerifyOptions {
                trusted: trusted()?,
                pinned: pinned.clone(),
                ..Default::default()
            },
        )?;
        println!("{what}: {}", summary(&report));
        if !report.ok {
            caught += 1;
        }
    }
    if caught != cases.len() {
        bail!("verification missed a tampered copy");
    }
    println!(
        "\nAll {caught} tampered copies were caught. Try it yourself: vigil ledger verify --db {} --checkpoint {}",
        db.display(),
        cp_path.display()
    );
    simulate_steps(&dir)?;
    super::demo_audits::audit_step(&dir, 12)?;
    let what = "the ledger (audit.db), its checkpoint and export bundle, the simulation with \
                its report.html, pilot.html and coverage.html";
    if a.dir.is_some() {
        println!(
            "\nEverything the demo wrote is in {}: {what}.",
            dir.display()
        );
    } else {
        println!(
            "\nThe demo wrote {what} to a temporary folder, removed now; \
             `vigil demo --dir DIR` keeps them in DIR."
        );
    }
    Ok(Outcome::Ok)
}

/// The sample tenant (samples/tenant, written by its generate.py): file name and contents.
const TENANT: [(&str, &str); 7] = [
    (
        "signins.json",
        include_str!("../../samples/tenant/signins.json"),
    ),
    (
        "policies-current.json",
        include_str!("../../samples/tenant/policies-current.json"),
    ),
    (
        "policies-candidate.json",
        include_str!("../../samples/tenant/policies-candidate.json"),
    ),
    (
        "named-locations.json",
        include_str!("../../samples/tenant/named-locations.json"),
    ),
    (
        "directory.json",
        include_str!("../../samples/tenant/directory.json"),
    ),
    (
        "scores.csv",
        include_str!("../../samples/tenant/scores.csv"),
    ),
    (
        "thresholds.toml",
        include_str!("../../samples/tenant/thresholds.toml"),
    ),
];

/// Steps 8 and 9: the policy simulator and the threshold sweep on the sample tenant.
fn simulate_steps(dir: &Path) -> Result<()> {
    let tenant = dir.join("tenant");
    fs::create_dir_all(&tenant).with_context(|| format!("{}: cannot create", tenant.display()))?;
    for (name, text) in TENANT {
        let p = tenant.join(name);
        fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
    }
    step(
        8,
        "Replay 300 sign-ins: candidate policies and AI risk thresholds vs the policies in force",
    );
    let out = dir.join("simulation");
    crate::cmd::simulate::run(&simulate_args(&tenant, &out))?;
    println!(
        "report: {} (decisions.ndjson, decisions.parquet and summary.json beside it)",
        out.join("report.html").display()
    );

    step(
        9,
        "Sweep the AI score threshold against the sign-ins' riskState labels",
    );
    let sweep = crate::cmd::sweep::SweepArgs {
        scores: tenant.join("scores.csv"),
        signins: vec![tenant.join("signins.json")],
        labels: None,
        from: 0.0,
        to: 1.0,
        step: 0.05,
        max_fpr: Some(0.1),
        max_prompts_per_user_day: None,
        out: Some(dir.join("sweep")),
        json: false,
        skip_bad_records: false,
        date_order: crate::cli::DateOrderArg::Mdy,
    };
    crate::cmd::sweep::run(&sweep)?;
    println!("charts: {}", dir.join("sweep").join("sweep.html").display());
    record_step(dir, &tenant)?;
    pilot_step(dir, &tenant)
}

/// Step 8's replay: the sample tenant's candidate policies and AI thresholds against the
/// policies in force.
fn simulate_args(tenant: &Path, out: &Path) -> crate::cli::SimulateArgs {
    crate::cli::SimulateArgs {
        signins: vec![tenant.join("signins.json")],
        policies: tenant.join("policies-candidate.json"),
        named_locations: Some(tenant.join("named-locations.json")),
        directory: Some(tenant.join("directory.json")),
        baseline: tenant.join("policies-current.json").display().to_string(),
        scores: Some(tenant.join("scores.csv")),
        thresholds: Some(tenant.join("thresholds.toml")),
        decisions: "all".into(),
        decisions_format: crate::cli::DecisionsFormatArg::Both,
        skip_bad_records: false,
        date_order: crate::cli::DateOrderArg::Mdy,
        user_risk: None,
        user_risk_complete: false,
        devices: None,
        out: out.to_path_buf(),
        ledger: None,
        key: None,
    }
}

/// Step 10: the sample tenant's sign-ins and AI scores onto the demo's ledger (twice: the
/// second run adds nothing), a human review of the riskiest inference, the candidate policy set
/// and the replay recorded as `policy` and `run` entries, and the sign-in's trace.
fn record_step(dir: &Path, tenant: &Path) -> Result<()> {
    step(
        10,
        "Record the 300 sign-ins and their AI scores on the ledger, review one, record the replay, trace it",
    );
    let db = dir.join("audit.db");
    let record = crate::cmd::record::RecordArgs {
        db: db.clone(),
        signins: vec![tenant.join("signins.json")],
        audits: vec![],
        inference_ref: None,
        scores: Some(tenant.join("scores.csv")),
        signal_key: Some(dir.join("signin-ingest.key")),
        inference_key: Some(dir.join("ai-engine.key")),
        action_key: dir.join("signin-ingest.key"),
        batch: 4096,
        skip_bad_records: false,
        date_order: crate::cli::DateOrderArg::Mdy,
    };
    crate::cmd::record::run(&record)?;
    let before = Ledger::open_readonly(&db)?.size()?;
    crate::cmd::record::run(&record)?;
    let after = Ledger::open_readonly(&db)?.size()?;
    println!(
        "recorded signal, inference and action entries for every sign-in; recording the same export again added {} entries",
        after - before
    );
    if after != before {
        bail!("recording the sample tenant twice added entries");
    }
    let scores = vigil_simulator::airisk::Scores::load(&tenant.join("scores.csv"))?;
    let riskiest = scores
        .records()
        .filter(|(by_correlation, _)| !by_correlation)
        .map(|(_, s)| s)
        .max_by(|a, b| a.score.total_cmp(&b.score).then_with(|| b.key.cmp(&a.key)))
        .context("the sample tenant has no scores")?;
    let inference = Ledger::open(&db)?
        .recorded(Kind::Inference, &riskiest.key)?
        .first()
        .copied()
        .context("the riskiest sign-in's inference was not recorded")?;
    crate::cmd::review::run(&crate::cmd::review::ReviewArgs {
        db: db.clone(),
        key: dir.join("analyst-kim.key"),
        seq: inference.seq,
        verdict: crate::cmd::review::Verdict::Confirmed,
        reason: "user confirmed the sign-in was not theirs".into(),
        action: None,
        reviewer: Some("kim@contoso.example".into()),
    })?;
    println!(
        "analyst-kim confirmed the riskiest inference (#{})",
        inference.seq
    );
    // The candidate set goes on the ledger, and the replay of step 8 is run again with its
    // record: a signed run entry that refs every recorded signal and that snapshot.
    crate::cmd::policies::run(&crate::cmd::policies::RecordPoliciesArgs {
        db: db.clone(),
        key: dir.join("policy-architect.key"),
        policies: tenant.join("policies-candidate.json"),
        named_locations: Some(tenant.join("named-locations.json")),
        effective_from: None,
    })?;
    let out = dir.join("simulation");
    crate::cmd::simulate::run(&crate::cli::SimulateArgs {
        ledger: Some(db.clone()),
        key: Some(dir.join("policy-architect.key")),
        ..simulate_args(tenant, &out)
    })?;
    let run_seq = Ledger::open_readonly(&db)?.size()? - 1;
    println!(
        "policy-architect recorded the candidate policy set and the replay as run entry #{run_seq} (summary.json and report.html show it); the trace of sign-in {}:",
        riskiest.key
    );
    crate::cmd::show::trace(&crate::cli::TraceArgs {
        db,
        correlation_id: None,
        signin: Some(riskiest.key.clone()),
        user: None,
        seq: None,
        json: false,
    })?;
    Ok(())
}

/// Step 11: the report-only pilot over what step 10 recorded: the AI's recommendations (the
/// band of each recorded score) against what Conditional Access did and against the candidate
/// set's report-only policy, from the verified ledger.
fn pilot_step(dir: &Path, tenant: &Path) -> Result<()> {
    step(
        11,
        "Report-only pilot: the AI's recorded recommendations vs what Conditional Access did",
    );
    let html = dir.join("pilot.html");
    let outcome = crate::cmd::pilot::run(&crate::cmd::pilot::PilotArgs {
        db: dir.join("audit.db"),
        signins: vec![],
        checkpoint: None,
        policies: vec![tenant.join("policies-candidate.json")],
        named_locations: Some(tenant.join("named-locations.json")),
        directory: Some(tenant.join("directory.json")),
        thresholds: Some(tenant.join("thresholds.toml")),
        from: None,
        to: None,
        json: false,
        html: Some(html.clone()),
        show: 5,
        skip_bad_records: false,
        date_order: crate::cli::DateOrderArg::Mdy,
    })?;
    if matches!(outcome, Outcome::Finding) {
        bail!("the demo's ledger did not verify before the pilot");
    }
    println!("pilot report: {}", html.display());
    Ok(())
}
