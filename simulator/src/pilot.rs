//! The report-only pilot (`vigil pilot`): an AI risk engine's recorded recommendations beside
//! what Conditional Access actually did and what the report-only policies would have done.
//!
//! Every sign-in of the pilot period is one [`PilotSignIn`]. The AI's recommendation (allow,
//! review, mfa, block) is compared with the actual outcome on the same scale — `notApplied` and
//! `success` are allow, `interrupted` is mfa, `failure` is block, `indeterminate` is not
//! compared — where `review` counts as allow, since it asks nothing of the user. From that:
//! the agreement matrices, the disagreements with both sides' reasons, the prompts and blocks
//! that enforcing the AI's recommendation in place of the current outcome would have added or
//! removed, and precision / recall of the AI's flags (mfa or block) against the reviews of its
//! inferences and against the log's riskState labels.

use std::fmt::Write as _;

use serde::Serialize;

use crate::airisk::Action;
use crate::report::esc;

/// An outcome on the scale the AI recommends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Let through (nothing applied, or every applying policy satisfied).
    Allow,
    /// Prompted for a control the user can satisfy.
    Mfa,
    /// Blocked.
    Block,
    /// Undecided: the log or the evaluation cannot say.
    Indeterminate,
}

impl Outcome {
    /// The outcome an overall status S (CONTRACT-simulate.md) stands for.
    pub fn from_status(status: &str) -> Outcome {
        match status {
            "notApplied" | "success" => Outcome::Allow,
            "interrupted" => Outcome::Mfa,
            "failure" => Outcome::Block,
            _ => Outcome::Indeterminate,
        }
    }

    /// The outcome of enforcing an AI recommendation (`review` asks nothing of the user).
    pub fn of_action(a: Action) -> Outcome {
        match a {
            Action::Allow | Action::Review => Outcome::Allow,
            Action::Mfa => Outcome::Mfa,
            Action::Block => Outcome::Block,
        }
    }

    /// The combined outcome of report-only policy results (`reportOnlyFailure` blocks,
    /// `reportOnlyInterrupted` prompts, an undecided one leaves the outcome undecided unless a
    /// block already decides it). Callers pass the results of report-only policies only.
    /// `None` when none of them reported on the sign-in.
    pub fn of_report_only<'a>(results: impl IntoIterator<Item = &'a str>) -> Option<Outcome> {
        let mut seen = false;
        let (mut block, mut mfa, mut undecided) = (false, false, false);
        for r in results {
            match r {
                "reportOnlyFailure" => block = true,
                "reportOnlyInterrupted" => mfa = true,
                "reportOnlySuccess" | "reportOnlyNotApplied" => {}
                "indeterminate" => undecided = true,
                _ => continue,
            }
            seen = true;
        }
        seen.then_some(if block {
            Outcome::Block
        } else if undecided {
            Outcome::Indeterminate
        } else if mfa {
            Outcome::Mfa
        } else {
            Outcome::Allow
        })
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Mfa => "mfa",
            Outcome::Block => "block",
            Outcome::Indeterminate => "indeterminate",
        }
    }

    fn index(self) -> usize {
        match self {
            Outcome::Allow => 0,
            Outcome::Mfa => 1,
            Outcome::Block => 2,
            Outcome::Indeterminate => 3,
        }
    }
}

/// The label a review gives the reviewed inference's sign-in: `confirmed` positive,
/// `dismissed` negative, an `override` positive when its action prompts or blocks and negative
/// when it allows; anything else (an override to `review`, approvals of actions) none.
pub fn review_label(verdict: &str, action: Option<Action>) -> Option<bool> {
    match (verdict, action) {
        ("confirmed", _) => Some(true),
        ("dismissed", _) => Some(false),
        ("override", Some(Action::Mfa | Action::Block)) => Some(true),
        ("override", Some(Action::Allow)) => Some(false),
        _ => None,
    }
}

/// The AI's recorded recommendation for a sign-in.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The inference entry's seq, when it came from the ledger.
    pub seq: Option<u64>,
    /// Score on the 0-1 scale.
    pub score: f64,
    /// The engine's risk level.
    pub risk_level: Option<String>,
    /// The engine's reasoning.
    pub reasoning: Option<String>,
    /// What the engine recommends.
    pub action: Action,
}

/// A human review of the AI's inference.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The review entry's seq.
    pub seq: u64,
    /// confirmed, dismissed, override, ...
    pub verdict: String,
    /// An override's replacement decision.
    pub action: Option<Action>,
}

/// What a side (the actual outcome, or the report-only policies) did to a sign-in, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// The outcome.
    pub outcome: Outcome,
    /// The policies' reasons (`CA001 ...: failure`, ...).
    pub reasons: Vec<String>,
}

/// One sign-in of the pilot period.
#[derive(Debug, Clone, PartialEq)]
pub struct PilotSignIn {
    /// Sign-in id.
    pub sign_in_id: String,
    /// User object id.
    pub user_id: Option<String>,
    /// RFC 3339 UTC.
    pub created_date_time: String,
    /// The AI's recommendation, when it made one.
    pub ai: Option<Recommendation>,
    /// What Conditional Access did (the logged outcome).
    pub actual: Side,
    /// What the report-only policies would have done, when any reported on this sign-in.
    pub report_only: Option<Side>,
    /// The latest review of the AI's inference.
    pub review: Option<Review>,
    /// The label the log's riskState gives (`None`: unlabeled).
    pub risk_label: Option<bool>,
}

/// AI recommendation (rows: allow, review, mfa, block) against an outcome (columns: allow, mfa,
/// block, indeterminate).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Matrix {
    /// One row per AI recommendation.
    pub rows: Vec<MatrixRow>,
    /// Sign-ins with a decided outcome on both sides.
    pub compared: u64,
    /// Of those, sign-ins where enforcing the AI's recommendation gives the same outcome.
    pub agree: u64,
    /// `agree / compared`, when anything was compared.
    #[serde(rename = "agreementRate")]
    pub rate: Option<f64>,
}

/// One row of a [`Matrix`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixRow {
    /// The AI's recommendation.
    pub ai: &'static str,
    /// Outcome allow.
    pub allow: u64,
    /// Outcome mfa.
    pub mfa: u64,
    /// Outcome block.
    pub block: u64,
    /// Outcome undecided (not compared).
    pub indeterminate: u64,
}

const ACTIONS: [Action; 4] = [Action::Allow, Action::Review, Action::Mfa, Action::Block];

fn action_index(a: Action) -> usize {
    match a {
        Action::Allow => 0,
        Action::Review => 1,
        Action::Mfa => 2,
        Action::Block => 3,
    }
}

impl Matrix {
    fn build<'a>(pairs: impl Iterator<Item = (Action, Outcome)> + 'a) -> Matrix {
        let mut cells = [[0u64; 4]; 4];
        let (mut compared, mut agree) = (0, 0);
        for (ai, out) in pairs {
            cells[action_index(ai)][out.index()] += 1;
            if out != Outcome::Indeterminate {
                compared += 1;
                if Outcome::of_action(ai) == out {
                    agree += 1;
                }
            }
        }
        Matrix {
            rows: ACTIONS
                .iter()
                .map(|&a| {
                    let c = cells[action_index(a)];
                    MatrixRow {
                        ai: a.name(),
                        allow: c[0],
                        mfa: c[1],
                        block: c[2],
                        indeterminate: c[3],
                    }
                })
                .collect(),
            compared,
            agree,
            rate: ratio(agree, compared),
        }
    }
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    (d > 0).then(|| n as f64 / d as f64)
}

/// Prompts and blocks that enforcing the AI's recommendation in place of the actual outcome
/// would have added or removed (sign-ins with a decided actual outcome).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enforcement {
    /// Sign-ins the AI would prompt that were not prompted.
    pub prompts_added: u64,
    /// Sign-ins prompted that the AI would not prompt.
    pub prompts_removed: u64,
    /// Sign-ins the AI would block that were not blocked.
    pub blocks_added: u64,
    /// Sign-ins blocked that the AI would not block.
    pub blocks_removed: u64,
}

/// The AI's flags (mfa or block) against labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Confusion {
    /// Labeled positive and flagged.
    pub tp: u64,
    /// Labeled negative and flagged.
    pub fp: u64,
    /// Labeled positive, not flagged.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Labeled negative, not flagged.
    pub tn: u64,
    /// Sign-ins with a recommendation and no label (left out of the rates).
    pub unlabeled: u64,
    /// TP / (TP + FP).
    pub precision: Option<f64>,
    /// TP / (TP + FN).
    pub recall: Option<f64>,
}

impl Confusion {
    fn build(pairs: impl Iterator<Item = (bool, Option<bool>)>) -> Confusion {
        let mut c = Confusion::default();
        for (flagged, label) in pairs {
            match (flagged, label) {
                (_, None) => c.unlabeled += 1,
                (true, Some(true)) => c.tp += 1,
                (true, Some(false)) => c.fp += 1,
                (false, Some(true)) => c.fn_ += 1,
                (false, Some(false)) => c.tn += 1,
            }
        }
        c.precision = ratio(c.tp, c.tp + c.fp);
        c.recall = ratio(c.tp, c.tp + c.fn_);
        c
    }
}

/// A sign-in where enforcing the AI's recommendation differs from the actual outcome or from
/// the report-only policies.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disagreement {
    /// Sign-in id.
    pub sign_in_id: String,
    /// User object id.
    pub user_id: Option<String>,
    /// RFC 3339 UTC.
    pub created_date_time: String,
    /// The inference entry's seq.
    pub inference_seq: Option<u64>,
    /// The AI's score.
    pub score: f64,
    /// The AI's recommendation.
    pub ai: &'static str,
    /// The AI's reasoning.
    pub ai_reasoning: Option<String>,
    /// The actual outcome.
    pub actual: &'static str,
    /// The reasons of the policies that decided it.
    pub actual_reasons: Vec<String>,
    /// What the report-only policies would have done.
    pub report_only: Option<&'static str>,
    /// Their reasons.
    pub report_only_reasons: Vec<String>,
}

/// The pilot's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pilot {
    /// Sign-ins of the pilot period.
    pub sign_ins: u64,
    /// Of those, with an AI recommendation.
    pub with_recommendation: u64,
    /// AI recommendation against the actual outcome.
    pub vs_actual: Matrix,
    /// AI recommendation against the report-only policies (sign-ins they reported on).
    pub vs_report_only: Matrix,
    /// What enforcing the AI's recommendation would have changed.
    pub enforcement: Enforcement,
    /// The AI's flags against the reviews of its inferences.
    pub vs_reviews: Confusion,
    /// The AI's flags against the log's riskState labels.
    pub vs_risk_state: Confusion,
    /// Every disagreement, in input order.
    pub disagreements: Vec<Disagreement>,
}

/// Computes the pilot's figures.
pub fn compare(signins: &[PilotSignIn]) -> Pilot {
    let recommended: Vec<(&PilotSignIn, &Recommendation)> = signins
        .iter()
        .filter_map(|s| s.ai.as_ref().map(|a| (s, a)))
        .collect();
    let vs_actual = Matrix::build(
        recommended
            .iter()
            .map(|(s, a)| (a.action, s.actual.outcome)),
    );
    let vs_report_only = Matrix::build(
        recommended
            .iter()
            .filter_map(|(s, a)| s.report_only.as_ref().map(|r| (a.action, r.outcome))),
    );
    let mut enforcement = Enforcement::default();
    for (s, a) in &recommended {
        let (now, ai) = (s.actual.outcome, Outcome::of_action(a.action));
        if now == Outcome::Indeterminate {
            continue;
        }
        let count =
            |what: Outcome, added: &mut u64, removed: &mut u64| match (now == what, ai == what) {
                (false, true) => *added += 1,
                (true, false) => *removed += 1,
                _ => {}
            };
        count(
            Outcome::Mfa,
            &mut enforcement.prompts_added,
            &mut enforcement.prompts_removed,
        );
        count(
            Outcome::Block,
            &mut enforcement.blocks_added,
            &mut enforcement.blocks_removed,
        );
    }
    let flagged = |a: &Recommendation| matches!(a.action, Action::Mfa | Action::Block);
    let vs_reviews = Confusion::build(recommended.iter().map(|(s, a)| {
        (
            flagged(a),
            s.review
                .as_ref()
                .and_then(|r| review_label(&r.verdict, r.action)),
        )
    }));
    let vs_risk_state =
        Confusion::build(recommended.iter().map(|(s, a)| (flagged(a), s.risk_label)));
    let differs = |o: Outcome, a: Action| o != Outcome::Indeterminate && o != Outcome::of_action(a);
    let disagreements = recommended
        .iter()
        .filter(|(s, a)| {
            differs(s.actual.outcome, a.action)
                || s.report_only
                    .as_ref()
                    .is_some_and(|r| differs(r.outcome, a.action))
        })
        .map(|(s, a)| Disagreement {
            sign_in_id: s.sign_in_id.clone(),
            user_id: s.user_id.clone(),
            created_date_time: s.created_date_time.clone(),
            inference_seq: a.seq,
            score: a.score,
            ai: a.action.name(),
            ai_reasoning: a.reasoning.clone(),
            actual: s.actual.outcome.name(),
            actual_reasons: s.actual.reasons.clone(),
            report_only: s.report_only.as_ref().map(|r| r.outcome.name()),
            report_only_reasons: s
                .report_only
                .as_ref()
                .map(|r| r.reasons.clone())
                .unwrap_or_default(),
        })
        .collect();
    Pilot {
        sign_ins: signins.len() as u64,
        with_recommendation: recommended.len() as u64,
        vs_actual,
        vs_report_only,
        enforcement,
        vs_reviews,
        vs_risk_state,
        disagreements,
    }
}

/// A rate with four decimals, `-` when undefined (nothing to divide by).
pub fn format_rate(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}

fn matrix_html(html: &mut String, title: &str, against: &str, m: &Matrix) {
    let _ = write!(
        html,
        "<h3>{}</h3>\n<table>\n<tr><th>AI recommends \\ {}</th><th>allow</th><th>mfa</th><th>block</th><th>indeterminate</th></tr>\n",
        esc(title),
        esc(against)
    );
    for r in &m.rows {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.ai, r.allow, r.mfa, r.block, r.indeterminate
        );
    }
    let _ = writeln!(
        html,
        "</table>\n<p>agreement: {} of {} compared sign-ins ({})</p>",
        m.agree,
        m.compared,
        format_rate(m.rate)
    );
}

fn confusion_html(html: &mut String, title: &str, c: &Confusion) {
    let _ = writeln!(
        html,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(title),
        c.tp,
        c.fp,
        c.fn_,
        c.tn,
        c.unlabeled,
        format_rate(c.precision),
        format_rate(c.recall)
    );
}

/// The pilot as a section of an HTML report (`<section id="pilot">`), every text escaped.
pub fn render_section(p: &Pilot, disagreements_shown: usize) -> String {
    let mut html = String::from("<section id=\"pilot\">\n<h2>Report-only pilot</h2>\n");
    let _ = writeln!(
        html,
        "<p>{} sign-ins in the pilot period, {} with an AI recommendation.</p>",
        p.sign_ins, p.with_recommendation
    );
    matrix_html(
        &mut html,
        "AI recommendation vs what Conditional Access did",
        "actual",
        &p.vs_actual,
    );
    matrix_html(
        &mut html,
        "AI recommendation vs the report-only policies",
        "report-only",
        &p.vs_report_only,
    );
    let e = &p.enforcement;
    let _ = writeln!(
        html,
        "<h3>Enforcing the AI's recommendation instead</h3>\n<table>\n<tr><th></th><th>added</th><th>removed</th></tr>\n<tr><td>prompts</td><td>{}</td><td>{}</td></tr>\n<tr><td>blocks</td><td>{}</td><td>{}</td></tr>\n</table>",
        e.prompts_added, e.prompts_removed, e.blocks_added, e.blocks_removed
    );
    html.push_str("<h3>The AI's flags (mfa or block) against labels</h3>\n<table>\n<tr><th>labels</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th><th>unlabeled</th><th>precision</th><th>recall</th></tr>\n");
    confusion_html(&mut html, "reviews of its inferences", &p.vs_reviews);
    confusion_html(&mut html, "riskState", &p.vs_risk_state);
    html.push_str("</table>\n");
    let _ = writeln!(
        html,
        "<h3>Disagreements ({} in all{})</h3>\n<table>\n<tr><th>sign-in</th><th>time</th><th>score</th><th>AI</th><th>AI reasoning</th><th>actual</th><th>policy reasons</th><th>report-only</th><th>report-only reasons</th></tr>",
        p.disagreements.len(),
        if p.disagreements.len() > disagreements_shown {
            format!(", the first {disagreements_shown} shown")
        } else {
            String::new()
        }
    );
    for d in p.disagreements.iter().take(disagreements_shown) {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.sign_in_id),
            esc(&d.created_date_time),
            d.score,
            d.ai,
            esc(d.ai_reasoning.as_deref().unwrap_or("")),
            d.actual,
            esc(&d.actual_reasons.join("; ")),
            d.report_only.unwrap_or("-"),
            esc(&d.report_only_reasons.join("; "))
        );
    }
    html.push_str("</table>\n</section>\n");
    html
}

/// A self-contained page holding only the pilot section.
pub fn render_page(p: &Pilot, disagreements_shown: usize) -> String {
    format!(
        "{}{}</body>\n</html>\n",
        crate::report::page_head("vigil report-only pilot", "vigil report-only pilot"),
        render_section(p, disagreements_shown)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(o: Outcome, why: &str) -> Side {
        Side {
            outcome: o,
            reasons: vec![why.into()],
        }
    }

    fn signin(
        id: &str,
        ai: Option<(f64, Action)>,
        actual: Outcome,
        report_only: Option<Outcome>,
        review: Option<(&str, Option<Action>)>,
        risk_label: Option<bool>,
    ) -> PilotSignIn {
        PilotSignIn {
            sign_in_id: id.into(),
            user_id: None,
            created_date_time: "2026-03-02T10:00:00Z".into(),
            ai: ai.map(|(score, action)| Recommendation {
                seq: Some(7),
                score,
                risk_level: None,
                reasoning: Some(format!("reasoning of {id}")),
                action,
            }),
            actual: side(actual, "CA001: failure"),
            report_only: report_only.map(|o| side(o, "CA007: reportOnlyFailure")),
            review: review.map(|(v, a)| Review {
                seq: 9,
                verdict: v.into(),
                action: a,
            }),
            risk_label,
        }
    }

    /// Six sign-ins worked out by hand:
    ///
    /// | id | AI | actual | report-only | review | riskState |
    /// |----|----|--------|-------------|--------|-----------|
    /// | a | allow (0.1) | allow | allow | dismissed | safe |
    /// | b | mfa (0.75) | allow | block | confirmed | - |
    /// | c | block (0.95) | block | - | override block | compromised |
    /// | d | review (0.55) | mfa | - | - | compromised |
    /// | e | block (0.93) | indeterminate | mfa | dismissed | safe |
    /// | f | (none) | block | - | - | compromised |
    ///
    /// vs actual: compared a, b, c, d (e undecided, f unscored); agree a, c -> 2 of 4.
    /// vs report-only: a (allow/allow agree), b (mfa/block), e (block/mfa) -> 1 of 3.
    /// Enforcing the AI: b adds a prompt, d removes one; no block added (c already blocked,
    /// e undecided), none removed.
    /// Flags (mfa/block): b, c, e. Reviews: a negative unflagged (TN), b positive flagged
    /// (TP), c positive flagged (TP), e negative flagged (FP), d unlabeled:
    /// precision 2/3, recall 2/2. riskState: a TN, c TP, d FN, e FP, b unlabeled:
    /// precision 1/2, recall 1/2.
    /// Disagreements: b (actual and report-only), d (actual), e (report-only).
    fn hand_case() -> Vec<PilotSignIn> {
        use Action as A;
        use Outcome as O;
        vec![
            signin(
                "a",
                Some((0.1, A::Allow)),
                O::Allow,
                Some(O::Allow),
                Some(("dismissed", None)),
                Some(false),
            ),
            signin(
                "b",
                Some((0.75, A::Mfa)),
                O::Allow,
                Some(O::Block),
                Some(("confirmed", None)),
                None,
            ),
            signin(
                "c",
                Some((0.95, A::Block)),
                O::Block,
                None,
                Some(("override", Some(A::Block))),
                Some(true),
            ),
            signin("d", Some((0.55, A::Review)), O::Mfa, None, None, Some(true)),
            signin(
                "e",
                Some((0.93, A::Block)),
                O::Indeterminate,
                Some(O::Mfa),
                Some(("dismissed", None)),
                Some(false),
            ),
            signin("f", None, O::Block, None, None, Some(true)),
        ]
    }

    #[test]
    fn hand_computed_matrices() {
        let p = compare(&hand_case());
        assert_eq!((p.sign_ins, p.with_recommendation), (6, 5));
        assert_eq!((p.vs_actual.agree, p.vs_actual.compared), (2, 4));
        assert_eq!(p.vs_actual.rate, Some(0.5));
        let row = |m: &Matrix, ai: &str| {
            let r = m.rows.iter().find(|r| r.ai == ai).unwrap().clone();
            [r.allow, r.mfa, r.block, r.indeterminate]
        };
        assert_eq!(row(&p.vs_actual, "allow"), [1, 0, 0, 0]);
        assert_eq!(row(&p.vs_actual, "review"), [0, 1, 0, 0]);
        assert_eq!(row(&p.vs_actual, "mfa"), [1, 0, 0, 0]);
        assert_eq!(row(&p.vs_actual, "block"), [0, 0, 1, 1]);
        assert_eq!((p.vs_report_only.agree, p.vs_report_only.compared), (1, 3));
        assert_eq!(row(&p.vs_report_only, "mfa"), [0, 0, 1, 0]);
        assert_eq!(row(&p.vs_report_only, "block"), [0, 1, 0, 0]);
    }

    #[test]
    fn hand_computed_enforcement_and_rates() {
        let p = compare(&hand_case());
        assert_eq!(
            p.enforcement,
            Enforcement {
                prompts_added: 1,
                prompts_removed: 1,
                blocks_added: 0,
                blocks_removed: 0,
            }
        );
        let r = &p.vs_reviews;
        assert_eq!((r.tp, r.fp, r.fn_, r.tn, r.unlabeled), (2, 1, 0, 1, 1));
        assert!((r.precision.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.recall, Some(1.0));
        let l = &p.vs_risk_state;
        assert_eq!((l.tp, l.fp, l.fn_, l.tn, l.unlabeled), (1, 1, 1, 1, 1));
        assert_eq!((l.precision, l.recall), (Some(0.5), Some(0.5)));
    }

    #[test]
    fn disagreements_carry_both_sides_reasons() {
        let p = compare(&hand_case());
        let ids: Vec<&str> = p
            .disagreements
            .iter()
            .map(|d| d.sign_in_id.as_str())
            .collect();
        assert_eq!(ids, ["b", "d", "e"]);
        let b = &p.disagreements[0];
        assert_eq!(
            (b.ai, b.actual, b.report_only),
            ("mfa", "allow", Some("block"))
        );
        assert_eq!(b.ai_reasoning.as_deref(), Some("reasoning of b"));
        assert_eq!(b.report_only_reasons, ["CA007: reportOnlyFailure"]);
    }

    #[test]
    fn report_only_results_combine() {
        assert_eq!(
            Outcome::of_report_only(["success", "notApplied"]),
            None,
            "enforced results are not report-only"
        );
        assert_eq!(
            Outcome::of_report_only(["reportOnlyInterrupted", "indeterminate"]),
            Some(Outcome::Indeterminate)
        );
        assert_eq!(
            Outcome::of_report_only(["indeterminate", "reportOnlyFailure"]),
            Some(Outcome::Block)
        );
        assert_eq!(
            Outcome::of_report_only(["reportOnlyNotApplied", "reportOnlyInterrupted"]),
            Some(Outcome::Mfa)
        );
    }

    #[test]
    fn html_section_escapes_the_reasoning() {
        let mut s = hand_case();
        if let Some(a) = s[1].ai.as_mut() {
            a.reasoning = Some("<script>alert(1)</script>".into());
        }
        let html = render_page(&compare(&s), 50);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<section id=\"pilot\">"));
    }
}
