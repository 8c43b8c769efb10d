//! `vigil simulate`: the interface fixed by CONTRACT-simulate.md.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result, anyhow, bail};
use comfy_table::{Cell, Color, ContentArrangement, Table};
use serde_json::{Map, Value};
use vigil_ledger::Kind;
use vigil_simulator::eval::AiInputs;
use vigil_simulator::model::SignIn;
use vigil_simulator::report::Headline;
use vigil_simulator::simulate::{self, Baseline, DecisionFiles, DecisionsFilter, Inputs, Summary};
use vigil_simulator::snapshots::{Devices, UserRisk};
use vigil_simulator::{airisk, columnar, directory, location, policy, signin};

use super::ledger_source;
use super::simulate_run as run_entry;
use crate::Outcome;
use crate::cli::{DecisionsFormatArg, SimulateArgs};
use crate::output::{info, progress_bytes};

/// Runs a simulation and prints the terminal summary.
pub fn run(a: &SimulateArgs) -> Result<Outcome> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // The SHA-256 of every input (for summary.json, the report and the ledger's run entry)
        // is taken on another core while the sign-ins are read and replayed.
        let hashing = scope.spawn(|| run_entry::input_hashes(a, &stop));
        let hashes = || {
            hashing
                .join()
                .map_err(|_| anyhow!("hashing the inputs failed"))?
        };
        let result = simulate(a, hashes);
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        result
    })
}

/// The simulation; `hashes` waits for the input hashes.
fn simulate(
    a: &SimulateArgs,
    hashes: impl FnOnce() -> Result<Map<String, Value>>,
) -> Result<Outcome> {
    // With --ledger, the key is checked before anything is simulated: a key that may not sign
    // `run` entries stops here, with nothing written and nothing appended.
    let mut recorder = match (&a.ledger, &a.key) {
        (Some(db), Some(key)) => Some(run_entry::Recorder::open(db, key)?),
        (None, None) => None,
        _ => bail!(
            "--ledger and --key go together: the ledger to record the run on and the key that signs it"
        ),
    };
    let decisions = match a.decisions.as_str() {
        "all" => DecisionsFilter::All,
        "changed" => DecisionsFilter::Changed,
        "none" => DecisionsFilter::None,
        other => bail!("--decisions: {other:?} is not one of all, changed, none"),
    };
    let decision_files = match a.decisions_format {
        DecisionsFormatArg::Both => DecisionFiles::Both,
        DecisionsFormatArg::Ndjson => DecisionFiles::Ndjson,
        DecisionsFormatArg::Parquet => DecisionFiles::Parquet,
    };
    let mut candidate = policy::load_policies(&a.policies)?;
    let mut warnings = candidate.warnings.clone();
    // AI risk thresholds act as one more candidate policy, `vigil-ai-risk`, after the others.
    let (thresholds, scores) = match (&a.thresholds, &a.scores) {
        (None, None) => (None, None),
        (Some(_), None) => bail!(
            "--thresholds needs --scores: the AI risk score of each sign-in (CSV, NDJSON or Parquet keyed by signInId or correlationId)"
        ),
        (None, Some(_)) => bail!(
            "--scores needs --thresholds: the score bands that map to allow, review, mfa and block"
        ),
        (Some(t), Some(s)) => {
            if let Some(p) = candidate
                .policies
                .iter()
                .find(|p| p.id == airisk::POLICY_ID)
            {
                bail!(
                    "{}: policy id {} is reserved for the policy a thresholds file adds",
                    p.source,
                    airisk::POLICY_ID
                );
            }
            let t = airisk::Thresholds::load(t)?;
            let s = ledger_source::load_scores("--scores", s)?;
            warnings.extend(s.warnings.clone());
            candidate.policies.push(t.policy.clone());
            (Some(t), Some(s))
        }
    };
    let locations = match &a.named_locations {
        Some(p) => {
            let l = location::load_named_locations(p)?;
            warnings.extend(l.warnings.clone());
            l.locations
        }
        None => vec![],
    };
    let dir = a
        .directory
        .as_ref()
        .map(|p| directory::load_directory(p))
        .transpose()?;
    let user_risk = a
        .user_risk
        .as_ref()
        .map(|p| UserRisk::load(p, a.user_risk_complete))
        .transpose()?;
    let devices = a.devices.as_ref().map(|p| Devices::load(p)).transpose()?;
    if let Some(p) = &a.devices {
        warnings.push(format!(
            "--devices {}: device properties are as exported, not as they were at each sign-in's time",
            p.display()
        ));
    }
    let base_set;
    let snapshots;
    let baseline = match a.baseline.as_str() {
        "logged" => Baseline::Logged,
        "none" => Baseline::None,
        value if value.starts_with(ledger_source::PREFIX) => {
            let db = PathBuf::from(&value[ledger_source::PREFIX.len()..]);
            let verified = ledger_source::read_input("--baseline", &db, &[Kind::Policy])?;
            let (read, snapshot_warnings) = ledger_source::snapshots_from(&verified)?;
            snapshots = read;
            warnings.extend(snapshot_warnings.iter().map(|w| format!("baseline: {w}")));
            Baseline::Snapshots(&snapshots)
        }
        path => {
            base_set = policy::load_policies(&PathBuf::from(path))
                .with_context(|| format!("--baseline {path}"))?;
            warnings.extend(base_set.warnings.iter().map(|w| format!("baseline: {w}")));
            Baseline::Policies(&base_set.policies)
        }
    };
    // Normalized Parquet (`vigil ingest`) replays column by column; other exports are read
    // once into such a table (a hidden file in --out, removed when the run ends) and replayed
    // the same way, so memory stays bounded by the replay's batches rather than growing with
    // every sign-in. AI thresholds and a ledger baseline replay row by row.
    let mut signins: Vec<SignIn> = Vec::new();
    let mut staged: Option<Staged> = None;
    let mut tables = columnar::open_tables(&a.signins)?;
    let mut read_from_table = false;
    let row_by_row = thresholds.is_some() || matches!(baseline, Baseline::Snapshots(_));
    if row_by_row && let Some(files) = tables.take() {
        read_from_table = true;
        // The AI policy reads each sign-in's score, and a ledger baseline each sign-in's
        // time: the table is replayed row by row.
        for f in &files {
            f.read_rows(&mut |s| signins.push(s))?;
        }
        warnings.extend(columnar::table_warnings(&files));
    }
    let mut stats = signin::ReadStats::default();
    let opts = signin::ReadOptions {
        skip_bad_records: a.skip_bad_records,
        date_order: a.date_order.into(),
    };
    match &tables {
        Some(t) => warnings.extend(columnar::table_warnings(t)),
        None if read_from_table => {}
        None if !row_by_row => {
            // A run whose input turns out bad leaves no --out behind that it created.
            let created = !a.out.exists();
            std::fs::create_dir_all(&a.out)
                .with_context(|| format!("{}: cannot create the output folder", a.out.display()))?;
            let stage = Staged(a.out.join(STAGED_TABLE));
            let (read, _) =
                match super::ingest::write_table(&a.signins, &opts, &stage.0, &stage.0, false) {
                    Ok(r) => r,
                    Err(e) => {
                        drop(stage);
                        if created {
                            let _ = std::fs::remove_dir(&a.out);
                        }
                        return Err(e);
                    }
                };
            let stage = staged.insert(stage);
            stats = read;
            warnings.extend(stats.warnings.clone());
            tables = Some(
                columnar::open_tables(std::slice::from_ref(&stage.0))?.ok_or_else(|| {
                    anyhow!(
                        "{}: the sign-ins read do not form a table",
                        stage.0.display()
                    )
                })?,
            );
        }
        None => {
            let bar = progress_bytes(0, "reading sign-ins");
            let read = signin::read_signins_with_progress(
                &a.signins,
                &opts,
                &mut |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                },
                &mut |s| signins.push(s),
            );
            bar.finish_and_clear();
            stats = read?;
            warnings.extend(stats.warnings.clone());
        }
    }
    // A ledger holds the scores of many exports: only a scores file must match these sign-ins.
    let scores_file = a
        .scores
        .as_deref()
        .is_some_and(|p| ledger_source::ledger_path(p).is_none());
    if let Some(s) = scores.as_ref().filter(|_| scores_file)
        && let Some(first) = s.first_unmatched(&signins)
    {
        bail!(
            "{}: {}: the score names no sign-in of --signins (by signInId or correlationId)",
            a.scores
                .as_deref()
                .unwrap_or(std::path::Path::new("--scores"))
                .display(),
            first.origin
        );
    }
    for w in &warnings {
        info(format!("warning: {w}"));
    }
    let ai = match (&thresholds, &scores) {
        (Some(thresholds), Some(scores)) => Some(AiInputs { thresholds, scores }),
        _ => None,
    };
    let inputs = Inputs {
        signins: &signins,
        policies: &candidate.policies,
        locations: &locations,
        directory: dir.as_ref(),
        baseline,
        decisions,
        decision_files,
        out: &a.out,
        skipped: stats.skipped as u64,
        duplicates: stats.duplicates as u64,
        warnings,
        user_risk: user_risk.as_ref(),
        devices: devices.as_ref(),
        ai,
    };
    // "No file with --decisions none": not even one an earlier run left in --out; likewise
    // the file --decisions-format leaves out.
    let none = decisions == DecisionsFilter::None;
    for (name, written) in [
        ("decisions.ndjson", !none && decision_files.ndjson()),
        ("decisions.parquet", !none && decision_files.parquet()),
    ] {
        if !written {
            let stale = a.out.join(name);
            if stale.is_file() {
                std::fs::remove_file(&stale).with_context(|| {
                    format!(
                        "{}: cannot remove an earlier run's decisions",
                        stale.display()
                    )
                })?;
            }
        }
    }
    let candidate_ids: Vec<String> = candidate.policies.iter().map(|p| p.id.clone()).collect();
    let mut summary = match &tables {
        Some(t) => columnar::run(t, inputs)?,
        None => simulate::run(inputs)?,
    };
    if let Some(n) = summary.baseline_before_first_snapshot.filter(|n| *n > 0) {
        info(format!(
            "warning: --baseline {}: {n} sign-ins precede the first policy snapshot: their baseline is indeterminate",
            a.baseline
        ));
    }
    let hashes = hashes()?;
    summary.vigil_version = Some(env!("CARGO_PKG_VERSION").to_string());
    summary.inputs = Some(
        serde_json::from_value(Value::Object(hashes.clone()))
            .context("the input hashes do not have the summary's shape")?,
    );
    let fidelity = match super::report::fidelity_beside(&a.out) {
        Ok(f) => f,
        Err(e) => {
            info(format!("warning: the report leaves out fidelity: {e:#}"));
            None
        }
    };
    // summary.json with the hashes and version, and DIR/report.html (both replay paths).
    write_summary(&a.out, &summary)?;
    let report = a.out.join("report.html");
    super::report::write(&summary, fidelity.as_ref(), &report)?;
    // The outputs are written: record the run, then point summary.json and the report at it.
    if let Some(rec) = recorder.as_mut() {
        let mut ids: Vec<String> = Vec::new();
        match &tables {
            Some(files) => {
                for f in files {
                    f.read_rows(&mut |s| ids.push(s.id))?;
                }
            }
            None => ids.extend(signins.iter().map(|s| s.id.clone())),
        }
        let run = rec.record(a, hashes, &candidate_ids, &ids, &summary)?;
        summary.ledger_run = Some(run);
        write_summary(&a.out, &summary)?;
        super::report::write(&summary, fidelity.as_ref(), &report)?;
    }
    if !crate::output::quiet() {
        print_summary(&summary, &a.out, &report);
    }
    Ok(Outcome::Ok)
}

/// The table `vigil simulate` reads exports into, in --out (hidden, so that a folder being
/// read never lists it).
const STAGED_TABLE: &str = ".signins.vigil-tmp.parquet";

/// A staged table, removed when the run ends (whether it succeeded or not).
struct Staged(PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_summary(out: &Path, summary: &Summary) -> Result<()> {
    let sp = out.join("summary.json");
    std::fs::write(&sp, serde_json::to_string_pretty(summary)? + "\n")
        .with_context(|| format!("{}: cannot write the summary", sp.display()))
}

/// A count cell, coloured (on a terminal) when it is not zero.
fn count_cell(n: u64, color: Option<Color>) -> Cell {
    let c = Cell::new(n).set_alignment(comfy_table::CellAlignment::Right);
    match color {
        Some(col) if n > 0 => c.fg(col),
        _ => c,
    }
}

fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    if !crate::output::color() {
        t.force_no_tty();
    }
    // Fit a terminal's width; a terminal that reports no usable width gets the natural layout.
    if t.width().is_some_and(|w| w >= 60) {
        t.set_content_arrangement(ContentArrangement::Dynamic);
    }
    t.set_header(header.to_vec());
    t
}

fn status_color(s: &str) -> Option<Color> {
    match s {
        "failure" => Some(Color::Red),
        "interrupted" => Some(Color::Yellow),
        "indeterminate" => Some(Color::Magenta),
        _ => None,
    }
}

/// The terminal summary: headline, status counts and each candidate policy's impact.
fn print_summary(summary: &Summary, out: &Path, report: &Path) {
    let h = Headline::of(summary);
    let opt = |n: Option<u64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    println!(
        "{} sign-ins ({} distinct evaluation keys): {} changed, {} newly blocked, {} newly prompted, {} indeterminate; {} duplicates dropped, {} bad records skipped",
        h.sign_ins,
        summary.distinct_keys,
        opt(h.changed),
        opt(h.newly_blocked),
        opt(h.newly_prompted),
        h.indeterminate,
        summary.duplicates,
        summary.skipped,
    );
    let mut t = match &summary.baseline {
        Some(_) => new_table(&["status", "baseline", "candidate", "change"]),
        None => new_table(&["status", "candidate"]),
    };
    for s in vigil_simulator::breakdown::STATUSES {
        let c = summary.candidate.status.get(s).copied().unwrap_or(0);
        let mut row = vec![Cell::new(s)];
        if let Some(b) = &summary.baseline {
            let bn = b.status.get(s).copied().unwrap_or(0);
            row.push(count_cell(bn, None));
            row.push(count_cell(c, status_color(s)));
            let delta = i128::from(c) - i128::from(bn);
            let cell = Cell::new(match delta {
                0 => "0".to_string(),
                d => format!("{d:+}"),
            })
            .set_alignment(comfy_table::CellAlignment::Right);
            row.push(match (delta > 0, status_color(s)) {
                (true, Some(col)) => cell.fg(col),
                _ => cell,
            });
        } else {
            row.push(count_cell(c, status_color(s)));
        }
        t.add_row(row);
    }
    println!("{t}");
    if !summary.policy_impact.is_empty() {
        let mut t = new_table(&[
            "candidate policy",
            "state",
            "applied",
            "blocked",
            "prompted",
            "indeterminate",
        ]);
        for p in &summary.policy_impact {
            let name = if p.display_name.is_empty() {
                &p.id
            } else {
                &p.display_name
            };
            t.add_row(vec![
                Cell::new(name),
                Cell::new(&p.state),
                count_cell(p.applied, None),
                count_cell(p.blocked, Some(Color::Red)),
                count_cell(p.prompted, Some(Color::Yellow)),
                count_cell(p.indeterminate, Some(Color::Magenta)),
            ]);
        }
        println!("{t}");
    }
    println!("results in {}; report: {}", out.display(), report.display());
}
