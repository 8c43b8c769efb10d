//! `vigil pilot`: the report-only pilot. Compares the AI's recommendations recorded on the
//! ledger (inference entries) with what Conditional Access actually did (the action entries, or
//! the sign-ins of `--signins`) and with the report-only policies' results (logged, or from
//! evaluating `--policies`). The ledger is verified first; a finding stops the command with
//! exit 1 and nothing is compared. The figures are computed by `vigil_simulator::pilot`.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use comfy_table::Table;
use serde_json::{Value, json};
use vigil_ledger::Kind;
use vigil_simulator::airisk::{Action, Thresholds};
use vigil_simulator::eval::{self, Context};
use vigil_simulator::model::{PolicyState, SignIn};
use vigil_simulator::pilot::{
    self, Outcome, PilotSignIn, Recommendation, Review, Side, format_rate,
};
use vigil_simulator::simulate::logged_side;
use vigil_simulator::{directory, location, policy, signin, sweep};

use super::ledger_source::{self, LedgerEntry, VerifiedLedger};
use super::show::cut;
use crate::Outcome as Exit;
use crate::output::info;

/// `vigil pilot`.
#[derive(Args)]
pub struct PilotArgs {
    /// Ledger database holding the pilot's signal, inference, action and review entries.
    #[arg(long)]
    pub db: PathBuf,
    /// Sign-in exports (any variant `simulate` reads) giving what Conditional Access actually
    /// did; without them the ledger's signal and action entries do. Repeatable.
    #[arg(long)]
    pub signins: Vec<PathBuf>,
    /// A trusted checkpoint: the ledger is verified from it (entries after it are checked).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Policies whose report-only ones are evaluated against each sign-in (Graph
    /// conditionalAccessPolicy JSON, as `simulate --policies` reads it; repeatable). Without
    /// them the logged report-only results are used.
    #[arg(long)]
    pub policies: Vec<PathBuf>,
    /// Named locations for --policies.
    #[arg(long, requires = "policies")]
    pub named_locations: Option<PathBuf>,
    /// Directory snapshot for --policies.
    #[arg(long, requires = "policies")]
    pub directory: Option<PathBuf>,
    /// Thresholds file: the AI recommendation of an inference that carries no
    /// recommendedAction is the band its score falls in.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    /// Start of the pilot period (RFC 3339, inclusive) [default: the first sign-in].
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the pilot period (RFC 3339, exclusive) [default: after the last sign-in].
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Print the figures as JSON on stdout (every disagreement) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write the pilot as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Disagreements shown on the terminal and in the HTML page.
    #[arg(long, default_value_t = 20)]
    pub show: usize,
    /// Skip (and count) malformed records of --signins instead of stopping.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// How locale dates with slashes in --signins are read: `mdy` or `dmy`.
    #[arg(long, value_enum, default_value = "mdy")]
    pub date_order: crate::cli::DateOrderArg,
}

/// Report-only policies to evaluate, with their context.
struct Evaluated {
    policies: Vec<vigil_simulator::model::Policy>,
    locations: Vec<vigil_simulator::model::NamedLocation>,
    directory: Option<vigil_simulator::model::Directory>,
}

/// Runs the pilot.
pub fn run(a: &PilotArgs) -> Result<Exit> {
    let from = a
        .from
        .as_deref()
        .map(|t| super::flag_time("--from", t))
        .transpose()?;
    let to =
        a.to.as_deref()
            .map(|t| super::flag_time("--to", t))
            .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        bail!("--from {f} is not before --to {t}: the pilot period is empty");
    }
    let thresholds = a.thresholds.as_deref().map(Thresholds::load).transpose()?;
    let evaluated = load_policies(a)?;

    let kinds = [Kind::Signal, Kind::Inference, Kind::Action, Kind::Review];
    let verified = match ledger_source::read_verified(&a.db, a.checkpoint.as_deref(), &kinds)? {
        Ok(v) => v,
        Err(report) => {
            let finding = ledger_source::finding_text(&report);
            if a.json {
                super::print_json(&json!({"ledger": report}))?;
            } else {
                println!(
                    "FAILED: ledger {} does not verify: {finding}",
                    a.db.display()
                );
                for f in &report.findings {
                    let seq = f.seq.map_or_else(|| "-".to_string(), |s| s.to_string());
                    println!("  seq {seq:>8}  {:<24} {}", f.code, f.message);
                }
            }
            info(format!(
                "vigil pilot: the ledger {} does not verify ({finding}); nothing was compared",
                a.db.display()
            ));
            return Ok(Exit::Finding);
        }
    };
    let signins = pilot_signins(a, &verified)?;
    let in_period = |s: &SignIn| -> bool {
        let Ok(t) = s.created_date_time.parse::<jiff::Timestamp>() else {
            return from.is_none() && to.is_none();
        };
        from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e)
    };
    let ctx = evaluated
        .as_ref()
        .map(|e| Context::new(&e.policies, &e.locations, e.directory.as_ref()))
        .transpose()
        .map_err(|e| anyhow!("--policies: {e}"))?;
    let inferences = latest_by_signin(&verified, Kind::Inference);
    let reviews = ledger_source::reviews_from(&verified);
    let mut rows = Vec::new();
    let mut without_action = 0u64;
    for s in signins.iter().filter(|s| in_period(s)) {
        let inference = inferences.get(&s.id.to_ascii_lowercase()).copied();
        let ai = match inference {
            None => None,
            Some(e) => {
                let r = recommendation(e, &verified, thresholds.as_ref())?;
                if r.is_none() {
                    without_action += 1;
                }
                r
            }
        };
        let review = inference
            .and_then(|e| reviews.get(&e.seq))
            .map(|(seq, verdict, action)| Review {
                seq: *seq,
                verdict: verdict.clone(),
                action: *action,
            });
        let risk_label = match s.risk_state.as_deref() {
            None => None,
            Some(r) => {
                sweep::label_of(r).map_err(|e| anyhow!("sign-in {}: field riskState: {e}", s.id))?
            }
        };
        let report_only = match (&evaluated, &ctx) {
            (Some(e), Some(ctx)) => evaluated_report_only(e, s, ctx),
            _ => logged_report_only(s),
        };
        rows.push(PilotSignIn {
            sign_in_id: s.id.clone(),
            user_id: s.user_id.clone(),
            created_date_time: s.created_date_time.clone(),
            ai,
            actual: actual_side(s),
            report_only,
            review,
            risk_label,
        });
    }
    if without_action > 0 {
        info(format!(
            "warning: {without_action} inferences carry no recommendedAction and were left out; --thresholds derives it from the score"
        ));
    }
    let p = pilot::compare(&rows);
    if let Some(path) = &a.html {
        std::fs::write(path, pilot::render_page(&p, a.show))
            .with_context(|| format!("{}: cannot write the HTML page", path.display()))?;
    }
    let ledger = json!({
        "db": a.db.display().to_string(),
        "size": verified.report.size,
        "root": verified.report.root,
        "verifiedFrom": verified.report.verified_from,
        "ok": true,
    });
    if a.json {
        let mut v = serde_json::to_value(&p)?;
        if let Value::Object(m) = &mut v {
            m.insert("ledger".into(), ledger);
            m.insert(
                "period".into(),
                json!({"from": from.map(|t| t.to_string()), "to": to.map(|t| t.to_string())}),
            );
            m.insert(
                "reportOnlySource".into(),
                json!(if evaluated.is_some() {
                    "policies"
                } else {
                    "log"
                }),
            );
        }
        super::print_json(&v)?;
    } else {
        print_tables(&p, a.show);
    }
    info(format!(
        "ledger {} verified ({} entries, root {}); {} sign-ins in the pilot period, {} with an AI recommendation",
        a.db.display(),
        verified.report.size,
        verified.report.root,
        p.sign_ins,
        p.with_recommendation
    ));
    Ok(Exit::Ok)
}

fn load_policies(a: &PilotArgs) -> Result<Option<Evaluated>> {
    if a.policies.is_empty() {
        return Ok(None);
    }
    let mut policies = Vec::new();
    for p in &a.policies {
        let set = policy::load_policies(p)?;
        for w in &set.warnings {
            info(format!("warning: {w}"));
        }
        policies.extend(set.policies);
    }
    if !policies
        .iter()
        .any(|p| p.state == PolicyState::EnabledForReportingButNotEnforced)
    {
        bail!(
            "--policies: none of the {} policies is report-only (state enabledForReportingButNotEnforced): there is nothing to compare the AI with",
            policies.len()
        );
    }
    let locations = a
        .named_locations
        .as_deref()
        .map(location::load_named_locations)
        .transpose()?
        .map(|l| l.locations)
        .unwrap_or_default();
    let directory = a
        .directory
        .as_deref()
        .map(directory::load_directory)
        .transpose()?;
    Ok(Some(Evaluated {
        policies,
        locations,
        directory,
    }))
}

/// The latest entry of `kind` per sign-in id (lowercase).
fn latest_by_signin(v: &VerifiedLedger, kind: Kind) -> HashMap<String, &LedgerEntry> {
    v.entries
        .iter()
        .filter(|e| e.kind == kind)
        .filter_map(|e| e.signin_id().map(|id| (id, e)))
        .collect()
}

/// The sign-ins of the pilot: from `--signins`, or rebuilt from the ledger's signal entries
/// with the outcome of their latest applied action entry.
fn pilot_signins(a: &PilotArgs, v: &VerifiedLedger) -> Result<Vec<SignIn>> {
    if !a.signins.is_empty() {
        let opts = signin::ReadOptions {
            skip_bad_records: a.skip_bad_records,
            date_order: a.date_order.into(),
        };
        let mut out = Vec::new();
        let stats = signin::read_signins(&a.signins, &opts, &mut |s| out.push(s))?;
        for w in &stats.warnings {
            info(format!("warning: {w}"));
        }
        return Ok(out);
    }
    let actions: HashMap<String, &LedgerEntry> = v
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Action)
        .filter(|e| e.text("status").is_none_or(|s| s == "applied"))
        .filter_map(|e| e.signin_id().map(|id| (id, e)))
        .collect();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut erased = 0u64;
    let (mut others, mut other) = (0u64, None);
    for e in v.entries.iter().filter(|e| e.kind == Kind::Signal) {
        let Some(id) = e.signin_id() else { continue };
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(Value::Object(mut record)) = e.payload.clone() else {
            erased += 1;
            continue;
        };
        if let Some(Value::Object(action)) = actions.get(&id).and_then(|a| a.payload.as_ref()) {
            // What the action entry recorded is the outcome; a member it lacks is unknown.
            for (from, to) in [
                ("conditionalAccessStatus", "conditionalAccessStatus"),
                ("appliedConditionalAccessPolicies", "appliedPolicies"),
                ("errorCode", "errorCode"),
                ("failureReason", "failureReason"),
            ] {
                match action.get(from) {
                    Some(x) => record.insert(to.into(), x.clone()),
                    None => record.remove(to),
                };
            }
        }
        // A signal may record something other than a sign-in (an audit record appended by
        // another producer): only the normalized records `ledger record` writes are read.
        match serde_json::from_value::<SignIn>(Value::Object(record)) {
            Ok(s) => out.push(s),
            Err(err) => {
                if other.is_none() {
                    other = Some(format!("entry #{}: {err}", e.seq));
                }
                others += 1;
            }
        }
    }
    if let Some(first) = other {
        info(format!(
            "{others} signal entries are not normalized sign-in records and are left out (the first, {first})"
        ));
    }
    if erased > 0 {
        info(format!(
            "{erased} signals were erased on a lawful request and are left out"
        ));
    }
    if out.is_empty() {
        bail!(
            "{}: the ledger holds no sign-ins (signal entries); record them with `vigil ledger record`, or pass --signins",
            a.db.display()
        );
    }
    Ok(out)
}

/// The AI's recommendation recorded in an inference entry (or, without one, the band its score
/// falls in under `--thresholds`). `None` when it has neither.
fn recommendation(
    e: &LedgerEntry,
    v: &VerifiedLedger,
    thresholds: Option<&Thresholds>,
) -> Result<Option<Recommendation>> {
    let at = || format!("{}: ledger entry #{}", v.db.display(), e.seq);
    let Some(payload) = &e.payload else {
        return Ok(None);
    };
    let score = payload
        .get("score")
        .and_then(Value::as_f64)
        .filter(|s| (0.0..=1.0).contains(s))
        .ok_or_else(|| anyhow!("{}: field score: not a score in 0-1", at()))?;
    let action = match e.text("recommendedAction") {
        Some(name) => Action::from_name(name).ok_or_else(|| {
            anyhow!(
                "{}: field recommendedAction: {name:?} is not one of allow, review, mfa, block",
                at()
            )
        })?,
        None => match thresholds {
            Some(t) => t.band(score).action,
            None => return Ok(None),
        },
    };
    Ok(Some(Recommendation {
        seq: Some(e.seq),
        score,
        risk_level: e.text("riskLevel").map(str::to_string),
        reasoning: e.text("reasoning").map(str::to_string),
        action,
    }))
}

/// What Conditional Access did, as logged, with the enforced policies that decided it.
fn actual_side(s: &SignIn) -> Side {
    let logged = logged_side(s, &[]);
    let mut reasons: Vec<String> = logged
        .policies
        .iter()
        .filter(|p| matches!(p.result.as_str(), "success" | "failure"))
        .map(|p| format!("{}: {}", name_of(&p.display_name, &p.id), p.result))
        .collect();
    if reasons.is_empty() {
        reasons.push(format!(
            "logged: conditionalAccessStatus {}, errorCode {}",
            s.conditional_access_status.as_deref().unwrap_or("missing"),
            s.error_code
                .map_or_else(|| "missing".into(), |c| c.to_string())
        ));
    }
    Side {
        outcome: Outcome::from_status(&logged.status),
        reasons,
    }
}

fn name_of<'a>(display: &'a str, id: &'a str) -> &'a str {
    if display.is_empty() { id } else { display }
}

/// The logged results of report-only policies.
fn logged_report_only(s: &SignIn) -> Option<Side> {
    let logged = logged_side(s, &[]);
    let rows: Vec<_> = logged
        .policies
        .iter()
        .filter(|p| p.result.starts_with("reportOnly"))
        .collect();
    let outcome = Outcome::of_report_only(rows.iter().map(|p| p.result.as_str()))?;
    Some(Side {
        outcome,
        reasons: rows
            .iter()
            .map(|p| format!("{}: {}", name_of(&p.display_name, &p.id), p.result))
            .collect(),
    })
}

/// The report-only policies of `--policies`, evaluated.
fn evaluated_report_only(e: &Evaluated, s: &SignIn, ctx: &Context) -> Option<Side> {
    let d = eval::evaluate(&e.policies, s, ctx);
    let rows: Vec<(&vigil_simulator::model::Policy, &eval::PolicyResult)> = e
        .policies
        .iter()
        .zip(&d.policies)
        .filter(|(p, _)| p.state == PolicyState::EnabledForReportingButNotEnforced)
        .collect();
    let outcome = Outcome::of_report_only(rows.iter().map(|(_, r)| r.result))?;
    Some(Side {
        outcome,
        reasons: rows
            .iter()
            .filter(|(_, r)| r.result != "reportOnlyNotApplied")
            .map(|(p, r)| {
                format!(
                    "{}: {}: {}",
                    name_of(&p.display_name, &p.id),
                    r.result,
                    r.reasons.join("; ")
                )
            })
            .collect(),
    })
}

fn print_tables(p: &pilot::Pilot, show: usize) {
    for (title, m) in [
        (
            "AI recommendation vs what Conditional Access did",
            &p.vs_actual,
        ),
        (
            "AI recommendation vs the report-only policies",
            &p.vs_report_only,
        ),
    ] {
        println!("{title}");
        let mut t = Table::new();
        t.set_header(["AI recommends", "allow", "mfa", "block", "indeterminate"]);
        for r in &m.rows {
            t.add_row([
                r.ai.to_string(),
                r.allow.to_string(),
                r.mfa.to_string(),
                r.block.to_string(),
                r.indeterminate.to_string(),
            ]);
        }
        println!("{t}");
        println!(
            "agreement: {} of {} compared sign-ins ({})\n",
            m.agree,
            m.compared,
            format_rate(m.rate)
        );
    }
    let e = &p.enforcement;
    println!(
        "Enforcing the AI's recommendation instead: prompts +{} -{}, blocks +{} -{}\n",
        e.prompts_added, e.prompts_removed, e.blocks_added, e.blocks_removed
    );
    let mut t = Table::new();
    t.set_header([
        "AI flags (mfa, block) vs",
        "TP",
        "FP",
        "FN",
        "TN",
        "unlabeled",
        "precision",
        "recall",
    ]);
    for (name, c) in [("reviews", &p.vs_reviews), ("riskState", &p.vs_risk_state)] {
        t.add_row([
            name.to_string(),
            c.tp.to_string(),
            c.fp.to_string(),
            c.fn_.to_string(),
            c.tn.to_string(),
            c.unlabeled.to_string(),
            format_rate(c.precision),
            format_rate(c.recall),
        ]);
    }
    println!("{t}\n");
    println!(
        "Disagreements: {}{}",
        p.disagreements.len(),
        if p.disagreements.len() > show {
            format!(" (the first {show}; --json lists all)")
        } else {
            String::new()
        }
    );
    if p.disagreements.is_empty() {
        return;
    }
    let mut t = Table::new();
    t.set_header([
        "sign-in",
        "AI (score)",
        "AI reasoning",
        "actual",
        "policy reasons",
        "report-only",
    ]);
    for d in p.disagreements.iter().take(show) {
        t.add_row([
            d.sign_in_id.clone(),
            format!("{} ({})", d.ai, d.score),
            cut(d.ai_reasoning.as_deref().unwrap_or("-"), 60),
            d.actual.to_string(),
            cut(&d.actual_reasons.join("; "), 60),
            format!(
                "{}{}",
                d.report_only.unwrap_or("-"),
                if d.report_only_reasons.is_empty() {
                    String::new()
                } else {
                    format!(": {}", cut(&d.report_only_reasons.join("; "), 60))
                }
            ),
        ]);
    }
    println!("{t}");
}
