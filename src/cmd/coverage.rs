//! `vigil ledger coverage`: are the directory changes on the ledger covered by an AI inference
//! and, when high-stakes, by a human approval given before they took effect?
//!
//! The ledger is verified first (a finding is exit 1); then
//! [`vigil_simulator::coverage::coverage`] makes one streaming pass over the entries. Gaps are
//! exit 1, bad input exit 2.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;
use comfy_table::Table;
use serde_json::json;
use vigil_ledger::audit::{VerifyOptions, verify_database};
use vigil_simulator::coverage::{Coverage, Gap, Tally, coverage};
use vigil_simulator::governance::Governance;
use vigil_simulator::report::{esc, header, page_head, row};

use super::open_readonly;
use crate::Outcome;
use crate::output::{info, progress};

/// `vigil ledger coverage`.
#[derive(Args)]
pub struct CoverageArgs {
    /// Ledger database file.
    #[arg(long)]
    pub db: PathBuf,
    /// Governance config: AI agents and high-stakes changes (TOML or JSON;
    /// schemas/governance.schema.json).
    #[arg(long)]
    pub config: PathBuf,
    /// Only changes that took effect at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only changes that took effect before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// JSON on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// The columns of a gap, on the terminal and in the HTML page (see `gap_cells`).
const GAP_COLUMNS: [&str; 6] = [
    "seq",
    "took effect",
    "activity",
    "initiated by",
    "gap",
    "detail",
];

/// Runs the coverage command.
pub fn run(a: &CoverageArgs) -> Result<Outcome> {
    let from = a
        .from
        .as_deref()
        .map(|t| super::flag_time("--from", t))
        .transpose()?;
    let to =
        a.to.as_deref()
            .map(|t| super::flag_time("--to", t))
            .transpose()?;
    let governance = Governance::load(&a.config)?;
    let ledger = open_readonly(&a.db)?;
    let size = ledger.size()?;
    let bar = progress(size, "verifying the ledger");
    let bar_in = bar.clone();
    let report = verify_database(
        &ledger,
        VerifyOptions {
            progress: Some(Box::new(move |done, _| bar_in.set_position(done))),
            ..VerifyOptions::default()
        },
    )?;
    bar.finish_and_clear();
    if !report.ok {
        let f = report
            .findings
            .first()
            .map(|f| {
                format!(
                    "seq {}: {} — {}",
                    f.seq.map_or_else(|| "-".into(), |s| s.to_string()),
                    f.code,
                    f.message
                )
            })
            .unwrap_or_default();
        if a.json {
            super::print_json(&json!({"verified": false, "finding": f}))?;
        }
        eprintln!(
            "vigil: {}: the ledger does not verify ({f}); its coverage cannot be trusted",
            a.db.display()
        );
        return Ok(Outcome::Finding);
    }
    let bar = progress(size, "checking coverage");
    let started = Instant::now();
    let cov = coverage(&ledger, &governance, from, to, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    info(format!(
        "checked {} directory changes among {} entries in {:.2} s",
        cov.changes,
        cov.entries,
        started.elapsed().as_secs_f64()
    ));
    if let Some(path) = &a.html {
        std::fs::write(path, html(&cov, &a.db))
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if a.json {
        let mut v = serde_json::to_value(&cov)?;
        v["verified"] = json!(true);
        super::print_json(&v)?;
    } else {
        print_tables(&cov);
    }
    Ok(if cov.gaps.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}

/// The columns of a gap, as the table and the HTML page show it.
fn gap_cells(g: &Gap) -> [String; 6] {
    [
        g.seq.to_string(),
        g.activity_date_time.clone(),
        g.activity.clone(),
        g.initiated_by.clone(),
        g.gap.to_string(),
        g.detail.clone(),
    ]
}

/// The columns of an activity's or agent's counts.
fn tally_cells(name: &str, t: &Tally) -> [String; 5] {
    [
        name.to_string(),
        t.changes.to_string(),
        t.by_ai_agent.to_string(),
        t.high_stakes.to_string(),
        t.with_gaps.to_string(),
    ]
}

fn print_tables(cov: &Coverage) {
    println!(
        "ledger verified; {} directory changes ({} by AI agents, {} high-stakes); {} gaps",
        cov.changes,
        cov.ai_changes,
        cov.high_stakes_changes,
        cov.gaps.len()
    );
    if !cov.gaps.is_empty() {
        let mut t = Table::new();
        t.set_header(GAP_COLUMNS);
        for g in &cov.gaps {
            t.add_row(gap_cells(g));
        }
        println!("{t}");
    }
    for (title, map) in [("activity", &cov.by_activity), ("agent", &cov.by_agent)] {
        if map.is_empty() {
            continue;
        }
        let mut t = Table::new();
        t.set_header([title, "changes", "by AI agent", "high-stakes", "with gaps"]);
        for (k, v) in map {
            t.add_row(tally_cells(k, v));
        }
        println!("{t}");
    }
}

/// The HTML report: one self-contained page with the coverage section.
pub fn html(cov: &Coverage, db: &Path) -> String {
    let mut h = page_head("vigil coverage report", "Directory change coverage");
    h.push_str("<section id=\"coverage\">\n");
    h.push_str(&format!(
        "<p>Ledger <code>{}</code> verified. {} directory changes ({} by AI agents, {} high-stakes); <strong>{} gaps</strong>.</p>\n",
        esc(&db.display().to_string()),
        cov.changes,
        cov.ai_changes,
        cov.high_stakes_changes,
        cov.gaps.len()
    ));
    h.push_str("<h2>Gaps</h2>\n<table id=\"gaps\">\n");
    header(&mut h, &GAP_COLUMNS);
    for g in &cov.gaps {
        row(&mut h, &gap_cells(g));
    }
    h.push_str("</table>\n");
    for (title, map) in [("activity", &cov.by_activity), ("agent", &cov.by_agent)] {
        h.push_str(&format!("<h2>Per {title}</h2>\n<table>\n"));
        header(
            &mut h,
            &[title, "changes", "by AI agent", "high-stakes", "with gaps"],
        );
        for (k, v) in map {
            row(&mut h, &tally_cells(k, v));
        }
        h.push_str("</table>\n");
    }
    h.push_str("</section>\n</body>\n</html>\n");
    h
}
