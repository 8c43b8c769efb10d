//! `vigil fidelity`: evaluate the policies that were in force against sign-ins that carry
//! `appliedConditionalAccessPolicies`, and report how often the simulator agrees with what
//! Entra logged (per policy and overall), listing every disagreement with its reasons.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use comfy_table::{ContentArrangement, Table};
use vigil_simulator::eval::Context;
use vigil_simulator::fidelity::{self, FidelityReport, Tally};
use vigil_simulator::model::SignIn;
use vigil_simulator::{directory, location, policy, signin};

use crate::Outcome;
use crate::output::{info, quiet};

/// `vigil fidelity`.
#[derive(Args)]
pub struct FidelityArgs {
    /// Sign-in exports carrying appliedConditionalAccessPolicies: files or folders (repeatable).
    #[arg(long, required = true, num_args = 1..)]
    pub signins: Vec<PathBuf>,
    /// The policies that were in force: Graph conditionalAccessPolicy JSON (array, list, or folder).
    #[arg(long)]
    pub policies: PathBuf,
    /// Graph namedLocation JSON (array, list, or folder).
    #[arg(long)]
    pub named_locations: Option<PathBuf>,
    /// Directory snapshot resolving users, groups and roles.
    #[arg(long)]
    pub directory: Option<PathBuf>,
    /// Skip (and count) malformed sign-in records instead of stopping.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// How locale dates with slashes in sign-in exports (`3/4/2026 1:48:53 AM`) are read:
    /// `mdy` (month first, the default) or `dmy` (day first). A file whose dates contradict the
    /// order is an input error.
    #[arg(long, value_enum, default_value = "mdy")]
    pub date_order: crate::cli::DateOrderArg,
    /// Print the full report (every disagreement) as JSON on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the full report to DIR/fidelity.json (DIR is created).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit 1 when the overall per-policy agreement is below X (a fraction such as 0.95, or 95%);
    /// also when no policy result could be compared.
    #[arg(long, value_name = "X", value_parser = parse_fraction)]
    pub min_agreement: Option<f64>,
    /// Most disagreements listed in the terminal (the JSON report lists all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub show: usize,
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a number (use 0.95 or 95%)"))?;
    let v = if pct { v / 100.0 } else { v };
    if !(0.0..=1.0).contains(&v) || v.is_nan() {
        return Err(format!(
            "{s:?} is outside 0..1 (use a fraction such as 0.95, or a percentage such as 95%)"
        ));
    }
    Ok(v)
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

fn tally_line(what: &str, t: &Tally) -> String {
    format!(
        "{what}: {} agree, {} disagree, {} undecided by the simulator, {} unknown in the log{} — agreement {} (decided only: {})",
        t.agree,
        t.disagree,
        t.simulator_indeterminate,
        t.logged_unknown,
        if t.state_mismatch > 0 {
            format!(", {} state mismatches", t.state_mismatch)
        } else {
            String::new()
        },
        pct(t.agreement),
        pct(t.decided_agreement),
    )
}

fn print_tables(r: &FidelityReport, show: usize) {
    println!(
        "{} sign-ins read: {} compared, {} without logged policy results, {} with an empty list, {} naming none of these policies ({} duplicates dropped, {} bad records skipped)",
        r.sign_ins,
        r.compared,
        r.without_applied_policies,
        r.empty_applied_policies,
        r.no_policy_in_set,
        r.duplicates,
        r.skipped
    );
    println!("{}", tally_line("overall status", &r.status));
    println!("{}", tally_line("policy results", &r.policies));

    let mut t = Table::new();
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec![
        "policy",
        "state",
        "agree",
        "disagree",
        "undecided",
        "log unknown",
        "state mismatch",
        "absent from log",
        "agreement",
    ]);
    for p in &r.per_policy {
        t.add_row(vec![
            format!("{}\n{}", p.display_name, p.id),
            p.state.clone(),
            p.tally.agree.to_string(),
            p.tally.disagree.to_string(),
            p.tally.simulator_indeterminate.to_string(),
            p.tally.logged_unknown.to_string(),
            p.tally.state_mismatch.to_string(),
            p.absent_from_log.to_string(),
            pct(p.tally.agreement),
        ]);
    }
    println!("{t}");

    if !r.not_in_policy_set.is_empty() {
        let mut t = Table::new();
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_header(vec!["not in the policy set", "display name", "sign-ins"]);
        for u in r.not_in_policy_set.iter().take(show) {
            t.add_row(vec![
                u.id.clone(),
                u.display_name.clone().unwrap_or_default(),
                u.sign_ins.to_string(),
            ]);
        }
        println!("{t}");
        if r.not_in_policy_set.len() > show {
            println!(
                "... and {} more policies not in the policy set (all in the JSON report)",
                r.not_in_policy_set.len() - show
            );
        }
    }

    if r.disagreements.is_empty() {
        println!("no disagreements");
        return;
    }
    let mut t = Table::new();
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec!["sign-in", "policy", "logged", "simulated", "reasons"]);
    for d in r.disagreements.iter().take(show) {
        t.add_row(vec![
            d.sign_in_id.clone(),
            match (&d.display_name, &d.policy_id) {
                (Some(n), Some(id)) => format!("{n}\n{id}"),
                (None, Some(id)) => id.clone(),
                _ => "(overall status)".to_string(),
            },
            if d.logged == d.logged_result {
                d.logged.clone()
            } else {
                format!("{} ({})", d.logged_result, d.logged)
            },
            d.simulated.clone(),
            d.reasons.join("\n"),
        ]);
    }
    println!("{t}");
    if r.disagreements.len() > show {
        println!(
            "... and {} more disagreements (all in the JSON report: --json or --out)",
            r.disagreements.len() - show
        );
    }
}

/// Runs the comparison and prints (or writes) the report.
pub fn run(a: &FidelityArgs) -> Result<Outcome> {
    let set = policy::load_policies(&a.policies)?;
    let mut warnings = set.warnings.clone();
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
    let mut signins: Vec<SignIn> = Vec::new();
    let opts = signin::ReadOptions {
        skip_bad_records: a.skip_bad_records,
        date_order: a.date_order.into(),
    };
    let stats = signin::read_signins(&a.signins, &opts, &mut |s| signins.push(s))?;
    warnings.extend(stats.warnings.clone());
    let ctx = Context::new(&set.policies, &locations, dir.as_ref()).map_err(anyhow::Error::msg)?;
    let mut report = fidelity::fidelity(&signins, &set.policies, &ctx);
    report.skipped = stats.skipped as u64;
    report.duplicates = stats.duplicates as u64;
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    for w in &report.warnings {
        info(format!("warning: {w}"));
    }
    if let Some(out) = &a.out {
        fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create the output folder", out.display()))?;
        let path = out.join("fidelity.json");
        fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if a.json {
        crate::cmd::print_json(&report)?;
    } else if !quiet() {
        print_tables(&report, a.show);
    }
    if let Some(min) = a.min_agreement {
        let got = report.policies.agreement;
        if got.is_none_or(|g| g < min) {
            eprintln!(
                "vigil: policy agreement {} is below --min-agreement {}",
                pct(got),
                pct(Some(min))
            );
            return Ok(Outcome::Finding);
        }
    }
    Ok(Outcome::Ok)
}
