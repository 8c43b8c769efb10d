//! `vigil fidelity`: how well the simulator reproduces what Entra itself logged.
//!
//! The policies that were in force are evaluated against sign-ins that carry
//! `appliedConditionalAccessPolicies`, and every logged per-policy result, and each sign-in's
//! logged overall status, is compared with the simulator's. The comparison rules (which words
//! are equivalent, what is left uncompared) are in `SEMANTICS.md`, section 14 ("Fidelity").
//!
//! In short, each comparison is one of:
//! - `agree`: every outcome the simulator considers possible is what the logged word means;
//! - `disagree`: no outcome the simulator considers possible is what the logged word means;
//! - `simulatorIndeterminate`: the logged outcome is among several the simulator left open;
//! - `loggedUnknown`: the log says `unknown`/`unknownFutureValue` (or the logged status is
//!   undecided), so there is nothing to compare with;
//! - `stateMismatch`: the logged word shows a different policy state (enforced, report-only,
//!   disabled) than the input policy has, so the input is not the policy that was in force;
//! - `notEnabled`: both sides say the policy was disabled (counted, never in a rate).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::codes;
use crate::eval::{self, Context, Decision, Effect, EffectSet, PolicyResult};
use crate::model::{LoggedPolicy, Policy, PolicyState, SignIn};

/// How one comparison came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The simulator's result means what the logged result means.
    Agree,
    /// The simulator's result excludes what the log recorded.
    Disagree,
    /// The logged outcome is one of several the simulator left open.
    SimulatorIndeterminate,
    /// The log does not say (`unknown`, `unknownFutureValue`, an undecided logged status).
    LoggedUnknown,
    /// The logged word implies another policy state than the input policy's.
    StateMismatch,
    /// Both sides say the policy was disabled.
    NotEnabled,
}

/// Counts of comparisons, with the agreement rates derived from them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Agreements.
    pub agree: u64,
    /// Disagreements.
    pub disagree: u64,
    /// The simulator left the logged outcome open among others.
    pub simulator_indeterminate: u64,
    /// Nothing logged to compare with.
    pub logged_unknown: u64,
    /// The logged word shows another policy state.
    pub state_mismatch: u64,
    /// Both sides disabled.
    pub not_enabled: u64,
    /// `agree / (agree + disagree + simulatorIndeterminate)`: the share of comparable results
    /// the simulator reproduced exactly; `null` when nothing was comparable.
    pub agreement: Option<f64>,
    /// `agree / (agree + disagree)`: the same among results the simulator decided.
    pub decided_agreement: Option<f64>,
}

impl Tally {
    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Agree => self.agree += 1,
            Verdict::Disagree => self.disagree += 1,
            Verdict::SimulatorIndeterminate => self.simulator_indeterminate += 1,
            Verdict::LoggedUnknown => self.logged_unknown += 1,
            Verdict::StateMismatch => self.state_mismatch += 1,
            Verdict::NotEnabled => self.not_enabled += 1,
        }
    }

    fn merge(&mut self, o: &Tally) {
        self.agree += o.agree;
        self.disagree += o.disagree;
        self.simulator_indeterminate += o.simulator_indeterminate;
        self.logged_unknown += o.logged_unknown;
        self.state_mismatch += o.state_mismatch;
        self.not_enabled += o.not_enabled;
    }

    /// Comparisons that count toward `agreement`.
    pub fn comparable(&self) -> u64 {
        self.agree + self.disagree + self.simulator_indeterminate
    }

    fn finish(&mut self) {
        let rate = |num: u64, den: u64| {
            #[allow(clippy::cast_precision_loss)]
            (den > 0).then(|| num as f64 / den as f64)
        };
        self.agreement = rate(self.agree, self.comparable());
        self.decided_agreement = rate(self.agree, self.agree + self.disagree);
    }
}

/// Fidelity of one input policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyFidelity {
    /// Policy id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// The input policy's state.
    pub state: String,
    /// Comparisons.
    #[serde(flatten)]
    pub tally: Tally,
    /// Compared sign-ins whose logged list does not mention this policy.
    pub absent_from_log: u64,
    /// `"<logged result> -> <simulated result>"`: count, over every comparison.
    pub outcomes: BTreeMap<String, u64>,
}

/// A policy named in the log but not in the input set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnknownPolicy {
    /// Policy id as logged.
    pub id: String,
    /// displayName as logged (the first seen).
    pub display_name: Option<String>,
    /// Sign-ins that list it.
    pub sign_ins: u64,
    /// Logged results (as written): count.
    pub results: BTreeMap<String, u64>,
}

/// One disagreement between the log and the simulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disagreement {
    /// Sign-in id.
    pub sign_in_id: String,
    /// createdDateTime.
    pub created_date_time: String,
    /// UPN, else user id, else service principal name.
    pub user: Option<String>,
    /// Application display name, else app id.
    pub app: Option<String>,
    /// The policy, or `null` for the overall status.
    pub policy_id: Option<String>,
    /// The policy's displayName.
    pub display_name: Option<String>,
    /// What the log says, as written (a policy result, or the error code and
    /// conditionalAccessStatus).
    pub logged: String,
    /// The logged word in the contract's vocabulary (R for a policy, S for the status).
    pub logged_result: String,
    /// The simulator's word (R or S).
    pub simulated: String,
    /// The simulator's reasons (for the status: each enforced policy that could apply).
    pub reasons: Vec<String>,
}

/// What `vigil fidelity` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FidelityReport {
    /// Sign-ins read (each id once).
    pub sign_ins: u64,
    /// Unreadable records skipped (`--skip-bad-records`; set by the caller).
    pub skipped: u64,
    /// Duplicate sign-in ids dropped while reading (set by the caller).
    pub duplicates: u64,
    /// Sign-ins without `appliedConditionalAccessPolicies`: not compared.
    pub without_applied_policies: u64,
    /// Sign-ins whose `appliedConditionalAccessPolicies` is empty: not compared (the tenant
    /// had no policy, or the export could not read Conditional Access data).
    pub empty_applied_policies: u64,
    /// Sign-ins whose list names none of the input policies: not compared.
    pub no_policy_in_set: u64,
    /// Sign-ins compared.
    pub compared: u64,
    /// Overall status: simulator S against the logged S.
    pub status: Tally,
    /// Every per-policy comparison pooled.
    pub policies: Tally,
    /// One entry per input policy, worst agreement first (policies with nothing comparable last).
    pub per_policy: Vec<PolicyFidelity>,
    /// Policies in the log but not in the input set, most frequent first.
    pub not_in_policy_set: Vec<UnknownPolicy>,
    /// Every disagreement, in input order (status first, then policies in log order).
    pub disagreements: Vec<Disagreement>,
    /// Things the user should know about the comparison.
    pub warnings: Vec<String>,
}

/// The policy state a word implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Enforced,
    ReportOnly,
    Disabled,
}

fn mode_of(state: PolicyState) -> Mode {
    match state {
        PolicyState::Enabled => Mode::Enforced,
        PolicyState::EnabledForReportingButNotEnforced => Mode::ReportOnly,
        PolicyState::Disabled => Mode::Disabled,
    }
}

fn set_of(effects: &[Effect]) -> EffectSet {
    let mut s = EffectSet::default();
    for e in effects {
        s.insert(*e);
    }
    s
}

/// What a logged per-policy word (already in the R vocabulary) means: the policy state it
/// implies and the enforcement effects it covers; `None` for `indeterminate` (logged
/// `unknown`, `unknownFutureValue`, anything unrecognised).
///
/// Logged `failure` is "applied and not satisfied": Logs-details defines it as "grant controls
/// are either not satisfied or set to block access", so it covers both a prompt and a block.
fn logged_meaning(r: &str) -> Option<(Mode, EffectSet)> {
    use Effect::{Failure, Interrupted, NotApplied, Success};
    Some(match r {
        "success" => (Mode::Enforced, set_of(&[Success])),
        "failure" => (Mode::Enforced, set_of(&[Interrupted, Failure])),
        "notApplied" => (Mode::Enforced, set_of(&[NotApplied])),
        "notEnabled" => (Mode::Disabled, set_of(&[NotApplied])),
        "reportOnlySuccess" => (Mode::ReportOnly, set_of(&[Success])),
        "reportOnlyFailure" => (Mode::ReportOnly, set_of(&[Failure])),
        "reportOnlyInterrupted" => (Mode::ReportOnly, set_of(&[Interrupted])),
        "reportOnlyNotApplied" => (Mode::ReportOnly, set_of(&[NotApplied])),
        _ => return None,
    })
}

fn contains(set: EffectSet, e: Effect) -> bool {
    set.iter().any(|x| x == e)
}

/// Compares possible simulator effects with the effects a logged word covers.
fn compare_sets(simulated: EffectSet, logged: EffectSet) -> Verdict {
    if !simulated.iter().any(|e| contains(logged, e)) {
        Verdict::Disagree
    } else if simulated.iter().all(|e| contains(logged, e)) {
        Verdict::Agree
    } else {
        Verdict::SimulatorIndeterminate
    }
}

/// Compares one policy's simulated result with its logged entry; returns the verdict and the
/// logged word mapped to R.
pub fn compare_policy(
    p: &Policy,
    r: &PolicyResult,
    logged: &LoggedPolicy,
) -> (Verdict, &'static str) {
    let word = codes::logged_policy_result(&logged.result);
    let Some((logged_mode, logged_set)) = logged_meaning(word) else {
        return (Verdict::LoggedUnknown, word);
    };
    let mode = mode_of(p.state);
    if mode != logged_mode {
        return (Verdict::StateMismatch, word);
    }
    if mode == Mode::Disabled {
        return (Verdict::NotEnabled, word);
    }
    (compare_sets(r.effects, logged_set), word)
}

/// The overall statuses the simulator considers possible: every S between the largest
/// per-policy minimum and the largest per-policy maximum over enforced policies (SEMANTICS
/// Rule 11.4). Over-inclusive at worst, which makes both `agree` and `disagree` harder to reach.
fn possible_status(policies: &[Policy], d: &Decision) -> EffectSet {
    let mut lo = Effect::NotApplied;
    let mut hi = Effect::NotApplied;
    for (p, r) in policies.iter().zip(&d.policies) {
        if p.state != PolicyState::Enabled {
            continue;
        }
        if let (Some(min), Some(max)) = (r.effects.iter().next(), r.effects.iter().last()) {
            lo = lo.max(min);
            hi = hi.max(max);
        }
    }
    let mut s = EffectSet::default();
    for e in [
        Effect::NotApplied,
        Effect::Success,
        Effect::Interrupted,
        Effect::Failure,
    ] {
        if lo <= e && e <= hi {
            s.insert(e);
        }
    }
    s
}

/// What the logged overall status covers. `success` also covers `notApplied` when no enforced
/// policy's logged result shows it applied, because Logs-details says the status is *Success*
/// whenever a policy "was evaluated", even if it did not apply.
fn logged_status_meaning(s: &SignIn, logged: &[LoggedPolicy]) -> Option<(&'static str, EffectSet)> {
    let word = codes::logged_status(s.error_code, s.conditional_access_status.as_deref());
    let set = match word {
        "notApplied" => EffectSet::one(Effect::NotApplied),
        "success" => {
            let applied = logged.iter().any(|lp| {
                matches!(
                    codes::logged_policy_result(&lp.result),
                    "success" | "failure"
                )
            });
            if applied {
                EffectSet::one(Effect::Success)
            } else {
                set_of(&[Effect::Success, Effect::NotApplied])
            }
        }
        "interrupted" => EffectSet::one(Effect::Interrupted),
        "failure" => EffectSet::one(Effect::Failure),
        _ => return None,
    };
    Some((word, set))
}

fn logged_status_text(s: &SignIn) -> String {
    let code = s
        .error_code
        .map_or_else(|| "no error code".to_string(), |c| format!("error {c}"));
    let status = s
        .conditional_access_status
        .as_deref()
        .unwrap_or("no conditionalAccessStatus");
    format!("{code}, conditionalAccessStatus {status}")
}

fn user_of(s: &SignIn) -> Option<String> {
    s.user_principal_name
        .clone()
        .or_else(|| s.user_id.clone())
        .or_else(|| s.service_principal_name.clone())
}

fn app_of(s: &SignIn) -> Option<String> {
    s.app_display_name.clone().or_else(|| s.app_id.clone())
}

/// Compares the simulator with the log over every sign-in that carries
/// `appliedConditionalAccessPolicies` naming at least one input policy.
///
/// `skipped` and `duplicates` are left at 0 for the caller to fill from its reader.
pub fn fidelity(signins: &[SignIn], policies: &[Policy], ctx: &Context) -> FidelityReport {
    let mut report = FidelityReport {
        sign_ins: signins.len() as u64,
        ..FidelityReport::default()
    };
    let by_id: HashMap<String, usize> = policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.to_ascii_lowercase(), i))
        .collect();
    let mut per: Vec<PolicyFidelity> = policies
        .iter()
        .map(|p| PolicyFidelity {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            state: p.state.as_str().to_string(),
            tally: Tally::default(),
            absent_from_log: 0,
            outcomes: BTreeMap::new(),
        })
        .collect();
    let mut unknown: BTreeMap<String, UnknownPolicy> = BTreeMap::new();
    let mut cache: HashMap<SignIn, Decision> = HashMap::new();
    let mut seen = vec![false; policies.len()];

    for s in signins {
        let logged = match s.applied_policies.as_deref() {
            None => {
                report.without_applied_policies += 1;
                continue;
            }
            Some([]) => {
                report.empty_applied_policies += 1;
                continue;
            }
            Some(l) => l,
        };
        for lp in logged {
            if !by_id.contains_key(&lp.id.to_ascii_lowercase()) {
                let u = unknown
                    .entry(lp.id.to_ascii_lowercase())
                    .or_insert_with(|| UnknownPolicy {
                        id: lp.id.clone(),
                        display_name: lp.display_name.clone(),
                        sign_ins: 0,
                        results: BTreeMap::new(),
                    });
                u.sign_ins += 1;
                *u.results.entry(lp.result.clone()).or_default() += 1;
            }
        }
        if !logged
            .iter()
            .any(|lp| by_id.contains_key(&lp.id.to_ascii_lowercase()))
        {
            report.no_policy_in_set += 1;
            continue;
        }
        report.compared += 1;
        let key = eval::cache_key(s, ctx);
        let d = cache
            .entry(key)
            .or_insert_with(|| eval::evaluate(policies, s, ctx));

        // Overall status.
        let status_verdict = match logged_status_meaning(s, logged) {
            None => Verdict::LoggedUnknown,
            Some((word, set)) => {
                let v = compare_sets(possible_status(policies, d), set);
                if v == Verdict::Disagree {
                    report.disagreements.push(Disagreement {
                        sign_in_id: s.id.clone(),
                        created_date_time: s.created_date_time.clone(),
                        user: user_of(s),
                        app: app_of(s),
                        policy_id: None,
                        display_name: None,
                        logged: logged_status_text(s),
                        logged_result: word.to_string(),
                        simulated: d.status.to_string(),
                        reasons: policies
                            .iter()
                            .zip(&d.policies)
                            .filter(|(p, r)| {
                                p.state == PolicyState::Enabled
                                    && r.effects != EffectSet::one(Effect::NotApplied)
                            })
                            .map(|(p, r)| format!("{} ({}): {}", p.display_name, p.id, r.result))
                            .collect(),
                    });
                }
                v
            }
        };
        report.status.add(status_verdict);

        // Per policy, in log order; a policy listed twice is compared once.
        seen.iter_mut().for_each(|x| *x = false);
        for lp in logged {
            let Some(&i) = by_id.get(&lp.id.to_ascii_lowercase()) else {
                continue;
            };
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let (p, r) = (&policies[i], &d.policies[i]);
            let (v, word) = compare_policy(p, r, lp);
            per[i].tally.add(v);
            *per[i]
                .outcomes
                .entry(format!("{word} -> {}", r.result))
                .or_default() += 1;
            if v == Verdict::Disagree {
                let mut reasons = r.reasons.clone();
                if !lp.enforced_grant_controls.is_empty() {
                    reasons.push(format!(
                        "the log's enforced grant controls: {}",
                        lp.enforced_grant_controls.join(", ")
                    ));
                }
                report.disagreements.push(Disagreement {
                    sign_in_id: s.id.clone(),
                    created_date_time: s.created_date_time.clone(),
                    user: user_of(s),
                    app: app_of(s),
                    policy_id: Some(p.id.clone()),
                    display_name: Some(p.display_name.clone()),
                    logged: lp.result.clone(),
                    logged_result: word.to_string(),
                    simulated: r.result.to_string(),
                    reasons,
                });
            }
        }
        for (i, was) in seen.iter().enumerate() {
            if !was {
                per[i].absent_from_log += 1;
            }
        }
    }

    for p in &mut per {
        p.tally.finish();
        report.policies.merge(&p.tally);
    }
    report.policies.finish();
    report.status.finish();
    per.sort_by(|a, b| {
        let key = |p: &PolicyFidelity| p.tally.agreement.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| b.tally.disagree.cmp(&a.tally.disagree))
            .then_with(|| a.display_name.cmp(&b.display_name))
            .then_with(|| a.id.cmp(&b.id))
    });
    report.per_policy = per;
    let mut unknown: Vec<UnknownPolicy> = unknown.into_values().collect();
    unknown.sort_by(|a, b| b.sign_ins.cmp(&a.sign_ins).then_with(|| a.id.cmp(&b.id)));
    report.not_in_policy_set = unknown;
    report.warnings = warnings(&report);
    report
}

fn warnings(r: &FidelityReport) -> Vec<String> {
    let mut w = Vec::new();
    let listed = r.sign_ins - r.without_applied_policies - r.empty_applied_policies;
    if r.compared == 0 {
        if listed > 0 {
            w.push(format!(
                "none of the {listed} sign-ins with logged policy results names an input policy: \
                 these policies are not the ones those sign-ins were evaluated against"
            ));
        } else {
            w.push(
                "no sign-in carries logged policy results (appliedConditionalAccessPolicies): \
                 nothing to compare"
                    .to_string(),
            );
        }
    } else if r.no_policy_in_set > 0 {
        w.push(format!(
            "{} sign-ins with logged policy results name none of the input policies (another tenant, or an older policy set); they were not compared",
            r.no_policy_in_set
        ));
    }
    if !r.not_in_policy_set.is_empty() {
        w.push(format!(
            "{} policies named in the log are not in the policy set (listed under notInPolicySet); the overall status of sign-ins they applied to may differ for that reason",
            r.not_in_policy_set.len()
        ));
    }
    for p in &r.per_policy {
        if p.absent_from_log > 0 {
            w.push(format!(
                "policy {} ({}) is missing from the logged list of {} compared sign-ins (created after them, or the export left it out)",
                p.display_name, p.id, p.absent_from_log
            ));
        }
        if p.tally.state_mismatch > 0 {
            w.push(format!(
                "policy {} ({}): the log shows another state than {} in {} sign-ins (the policy was changed since); those results were not compared",
                p.display_name, p.id, p.state, p.tally.state_mismatch
            ));
        }
    }
    w
}
