//! `vigil sweep`: for each threshold of a grid, the sign-ins and users an AI risk threshold
//! would prompt or block, prompts per user-day, and precision / recall / false-positive rate
//! against labels; picks the threshold that meets a target.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use comfy_table::Table;
use vigil_simulator::signin;
use vigil_simulator::sweep::{self, Item, NO_DAY, NO_USER, Row, Sweep, Target};

use crate::Outcome;
use crate::output::info;

/// `vigil sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// AI risk scores (CSV, NDJSON or Parquet; as for `simulate --scores`), or `ledger:DB`: the
    /// inference entries of a ledger (verified first). Without --signins the records' own
    /// userId and createdDateTime columns (on the ledger: the signal's) give the per-user figures.
    #[arg(long)]
    pub scores: PathBuf,
    /// Sign-in exports (any variant `simulate` reads): users, days, and labels from riskState
    /// (confirmedCompromised / remediated positive; confirmedSafe / dismissed negative).
    #[arg(long)]
    pub signins: Vec<PathBuf>,
    /// Labels by sign-in id (CSV or NDJSON with signInId and label), or `ledger:DB`: the reviews
    /// of inferences on a ledger (verified first; confirmed positive, dismissed negative, an
    /// override positive when it prompts or blocks). They override riskState.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Lowest threshold (0-1).
    #[arg(long, default_value_t = 0.0)]
    pub from: f64,
    /// Highest threshold (0-1).
    #[arg(long, default_value_t = 1.0)]
    pub to: f64,
    /// Distance between thresholds.
    #[arg(long, default_value_t = 0.01)]
    pub step: f64,
    /// Pick the threshold with the highest recall whose false-positive rate is at most this.
    #[arg(long, conflicts_with = "max_prompts_per_user_day")]
    pub max_fpr: Option<f64>,
    /// Pick the threshold with the highest recall whose prompts per active user-day are at
    /// most this.
    #[arg(long)]
    pub max_prompts_per_user_day: Option<f64>,
    /// Write sweep.csv, sweep.parquet, sweep.json and sweep.html (charts) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the sweep as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Skip (and count) malformed sign-in records instead of stopping.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// How locale dates with slashes in sign-in exports (`3/4/2026 1:48:53 AM`) are read:
    /// `mdy` (month first, the default) or `dmy` (day first). A file whose dates contradict the
    /// order is an input error.
    #[arg(long, value_enum, default_value = "mdy")]
    pub date_order: crate::cli::DateOrderArg,
}

/// Runs the sweep.
pub fn run(a: &SweepArgs) -> Result<Outcome> {
    let grid = sweep::grid(a.from, a.to, a.step).map_err(anyhow::Error::msg)?;
    let target = match (a.max_fpr, a.max_prompts_per_user_day) {
        (Some(x), _) if !(0.0..=1.0).contains(&x) => bail!("--max-fpr {x} is not a rate in 0-1"),
        (Some(x), _) => Some(Target::MaxFpr(x)),
        (_, Some(x)) if !(x >= 0.0 && x.is_finite()) => {
            bail!("--max-prompts-per-user-day {x} is not a number of prompts")
        }
        (_, Some(x)) => Some(Target::MaxPromptsPerUserDay(x)),
        _ => None,
    };
    let scores = super::ledger_source::load_scores("--scores", &a.scores)?;
    for w in &scores.warnings {
        info(format!("warning: {w}"));
    }
    let labels = a
        .labels
        .as_ref()
        .map(|p| super::ledger_source::load_labels("--labels", p))
        .transpose()?;
    let mut users: HashMap<String, u32> = HashMap::new();
    let mut intern = |u: Option<&str>| -> u32 {
        match u {
            None => NO_USER,
            Some(u) => {
                let next = u32::try_from(users.len()).unwrap_or(NO_USER - 1);
                *users.entry(u.to_ascii_lowercase()).or_insert(next)
            }
        }
    };
    let mut items: Vec<Item> = Vec::new();
    let mut unscored = 0u64;
    let label_for = |id: &str, risk_state: Option<&str>| -> Result<Option<bool>> {
        if let Some(l) = labels
            .as_ref()
            .and_then(|m| m.get(&id.to_ascii_lowercase()))
        {
            return Ok(*l);
        }
        match risk_state {
            None => Ok(None),
            Some(r) => {
                sweep::label_of(r).map_err(|e| anyhow::anyhow!("sign-in {id}: riskState: {e}"))
            }
        }
    };
    if a.signins.is_empty() {
        for (by_correlation, s) in scores.records() {
            if by_correlation {
                bail!(
                    "{}: {}: a score keyed by correlationId needs --signins to find its sign-ins",
                    a.scores.display(),
                    s.origin
                );
            }
            let day = match &s.time {
                None => NO_DAY,
                Some(t) => sweep::day_number(t).with_context(|| {
                    format!(
                        "{}: {}: field createdDateTime: {t:?} is not an RFC 3339 time",
                        a.scores.display(),
                        s.origin
                    )
                })?,
            };
            let label = label_for(&s.key, None)?;
            items.push(Item {
                score: s.score,
                user: intern(s.user.as_deref()),
                day,
                label,
            });
        }
    } else {
        let opts = signin::ReadOptions {
            skip_bad_records: a.skip_bad_records,
            date_order: a.date_order.into(),
        };
        let mut err: Option<anyhow::Error> = None;
        let stats = signin::read_signins(&a.signins, &opts, &mut |s| {
            if err.is_some() {
                return;
            }
            let Some(score) = scores.get(&s) else {
                unscored += 1;
                return;
            };
            let label = match label_for(&s.id, s.risk_state.as_deref()) {
                Ok(l) => l,
                Err(e) => {
                    err = Some(e);
                    return;
                }
            };
            items.push(Item {
                score: score.score,
                user: intern(s.user_id.as_deref().or(s.user_principal_name.as_deref())),
                day: sweep::day_number(&s.created_date_time).unwrap_or(NO_DAY),
                label,
            });
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        for w in &stats.warnings {
            info(format!("warning: {w}"));
        }
        if unscored > 0 {
            info(format!(
                "{unscored} sign-ins have no score and are left out of the sweep"
            ));
        }
    }
    if items.is_empty() {
        bail!("no scored sign-ins to sweep");
    }
    let s = sweep::sweep(&mut items, &grid);
    let chosen = target.and_then(|t| sweep::pick(&s, t));
    if let Some(dir) = &a.out {
        write_outputs(dir, &s, chosen, target)?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&s, chosen, target))?
        );
    } else if !crate::output::quiet() {
        print_table(&s, chosen);
    }
    info(format!(
        "{} scored sign-ins: {} labeled positive, {} negative, {} without a label (left out of the rates); {} active user-days",
        s.items, s.positives, s.negatives, s.unlabeled, s.active_user_days
    ));
    match (target, chosen) {
        (Some(t), Some(r)) => {
            info(format!(
                "threshold {} meets {}: recall {}, false-positive rate {}, {:.3} prompts per user-day",
                fmt_t(r.threshold),
                target_text(t),
                opt(r.recall),
                opt(r.fpr),
                r.prompts_per_user_day
            ));
            Ok(Outcome::Ok)
        }
        (Some(t), None) => {
            info(format!("no threshold of the grid meets {}", target_text(t)));
            Ok(Outcome::Finding)
        }
        _ => Ok(Outcome::Ok),
    }
}

fn target_text(t: Target) -> String {
    match t {
        Target::MaxFpr(x) => format!("--max-fpr {x}"),
        Target::MaxPromptsPerUserDay(x) => format!("--max-prompts-per-user-day {x}"),
    }
}

fn fmt_t(t: f64) -> String {
    let s = format!("{t:.6}");
    let s = s.trim_end_matches('0');
    let s = s.strip_suffix('.').unwrap_or(s);
    s.to_string()
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}

fn row_json(r: &Row) -> serde_json::Value {
    serde_json::json!({
        "threshold": r.threshold,
        "flagged": r.flagged,
        "usersFlagged": r.users_flagged,
        "promptsPerUserDay": r.prompts_per_user_day,
        "maxPromptsUserDay": r.max_prompts_user_day,
        "tp": r.tp, "fp": r.fp, "fn": r.fn_, "tn": r.tn,
        "precision": r.precision, "recall": r.recall, "fpr": r.fpr, "f1": r.f1,
    })
}

fn to_json(s: &Sweep, chosen: Option<&Row>, target: Option<Target>) -> serde_json::Value {
    serde_json::json!({
        "items": s.items,
        "positives": s.positives,
        "negatives": s.negatives,
        "unlabeled": s.unlabeled,
        "activeUserDays": s.active_user_days,
        "withoutUserOrDay": s.without_user_or_day,
        "target": target.map(target_text),
        "chosen": chosen.map(row_json),
        "rows": s.rows.iter().map(row_json).collect::<Vec<_>>(),
    })
}

fn print_table(s: &Sweep, chosen: Option<&Row>) {
    let mut t = Table::new();
    t.set_header(vec![
        "threshold",
        "flagged",
        "users",
        "prompts/user-day",
        "max/user-day",
        "TP",
        "FP",
        "FN",
        "TN",
        "precision",
        "recall",
        "FPR",
        "F1",
    ]);
    // At most ~25 rows on a terminal: every k-th, the last, and the chosen one.
    let k = s.rows.len().div_ceil(25).max(1);
    for (i, r) in s.rows.iter().enumerate() {
        let is_chosen = chosen.is_some_and(|c| c.threshold == r.threshold);
        if i % k != 0 && i + 1 != s.rows.len() && !is_chosen {
            continue;
        }
        t.add_row(vec![
            format!(
                "{}{}",
                fmt_t(r.threshold),
                if is_chosen { " *" } else { "" }
            ),
            r.flagged.to_string(),
            r.users_flagged.to_string(),
            format!("{:.3}", r.prompts_per_user_day),
            r.max_prompts_user_day.to_string(),
            r.tp.to_string(),
            r.fp.to_string(),
            r.fn_.to_string(),
            r.tn.to_string(),
            opt(r.precision),
            opt(r.recall),
            opt(r.fpr),
            opt(r.f1),
        ]);
    }
    println!("{t}");
}

fn write_outputs(
    dir: &std::path::Path,
    s: &Sweep,
    chosen: Option<&Row>,
    target: Option<Target>,
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    let mut csv = String::from(
        "threshold,flagged,usersFlagged,promptsPerUserDay,maxPromptsUserDay,tp,fp,fn,tn,precision,recall,fpr,f1\n",
    );
    let o = |v: Option<f64>| v.map_or_else(String::new, |x| x.to_string());
    for r in &s.rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            fmt_t(r.threshold),
            r.flagged,
            r.users_flagged,
            r.prompts_per_user_day,
            r.max_prompts_user_day,
            r.tp,
            r.fp,
            r.fn_,
            r.tn,
            o(r.precision),
            o(r.recall),
            o(r.fpr),
            o(r.f1)
        );
    }
    let path = dir.join("sweep.csv");
    std::fs::write(&path, csv).with_context(|| format!("{}: cannot write", path.display()))?;
    let path = dir.join("sweep.parquet");
    vigil_simulator::sweep::write_parquet(s, &path)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
    let path = dir.join("sweep.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&to_json(s, chosen, target))? + "\n",
    )
    .with_context(|| format!("{}: cannot write", path.display()))?;
    let path = dir.join("sweep.html");
    std::fs::write(
        &path,
        vigil_simulator::sweep::render_html(s, chosen.map(|c| c.threshold)),
    )
    .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
