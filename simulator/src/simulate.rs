//! `vigil simulate`: replay sign-ins against candidate policies (and a baseline), write
//! decisions.ndjson, decisions.parquet and summary.json as CONTRACT-simulate.md fixes them.
//!
//! Many sign-ins share everything evaluation reads; each distinct evaluation key is
//! evaluated once and the result joined back to every sign-in that has it.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::breakdown::{ChangeTally, Changed, ImpactClass, ImpactTally, PolicyImpact};

use crate::codes;
use crate::eval::{self, Context, Decision};
use crate::model::{Directory, NamedLocation, Policy, PolicyState, SignIn};
use crate::snapshots::{Devices, UserRisk};

/// Which decisions to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionsFilter {
    /// Every sign-in.
    All,
    /// Only sign-ins whose status changed.
    Changed,
    /// No decisions file.
    None,
}

/// What the candidate is compared with.
pub enum Baseline<'a> {
    /// The outcome the log recorded.
    Logged,
    /// No baseline.
    None,
    /// Another policy set, evaluated the same way.
    Policies(&'a [Policy]),
    /// The policy sets recorded on the ledger, each in force from its time on (sorted by
    /// that time): each sign-in is replayed against the set in force at its time.
    Snapshots(&'a [PolicySnapshot]),
}

/// A policy set in force from a time on (a `policy` entry of the ledger).
#[derive(Debug, Clone)]
pub struct PolicySnapshot {
    /// The entry's seq.
    pub seq: u64,
    /// When the set took effect.
    pub effective_from: jiff::Timestamp,
    /// The policies.
    pub policies: Vec<Policy>,
    /// The named locations recorded with it (`None`: the run's `--named-locations` apply).
    pub locations: Option<Vec<NamedLocation>>,
}

/// The policy id of the baseline row that says why a sign-in has no snapshot to replay.
pub const NO_SNAPSHOT_ID: &str = "vigil-ledger-baseline";

/// Index of the snapshot in force at a sign-in's time; `Err(reason)` when none was.
fn snapshot_at(snapshots: &[PolicySnapshot], s: &SignIn) -> Result<usize, String> {
    let Ok(t) = s.created_date_time.parse::<jiff::Timestamp>() else {
        return Err(format!(
            "createdDateTime {:?} is not a time: the policy set in force is unknown",
            s.created_date_time
        ));
    };
    let n = snapshots.partition_point(|p| p.effective_from <= t);
    match (n, snapshots.first()) {
        (0, Some(first)) => Err(format!(
            "no policy snapshot on the ledger was in force at {}: the earliest (entry #{}) takes effect at {}",
            s.created_date_time, first.seq, first.effective_from
        )),
        (0, None) => Err("the ledger holds no policy snapshot".into()),
        (n, _) => Ok(n - 1),
    }
}

/// The baseline side of a sign-in no snapshot covers: undecided, with the reason.
fn no_snapshot_side(reason: String) -> Side {
    Side {
        status: "indeterminate".into(),
        controls: vec![],
        policies: vec![PolicyRow {
            id: NO_SNAPSHOT_ID.into(),
            display_name: "policy set in force (from the ledger)".into(),
            state: PolicyState::Enabled.as_str().into(),
            result: "indeterminate".into(),
            reasons: vec![reason],
        }],
    }
}

/// One policy's result in a decision row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRow {
    /// Policy id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// Policy state.
    pub state: String,
    /// Result word.
    pub result: String,
    /// Why.
    pub reasons: Vec<String>,
}

/// One side (candidate or baseline) of a decision row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Side {
    /// Overall status.
    pub status: String,
    /// Controls demanded and not already satisfied.
    pub controls: Vec<String>,
    /// Per-policy results.
    pub policies: Vec<PolicyRow>,
}

/// One line of decisions.ndjson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRow<'a> {
    /// Sign-in id.
    pub sign_in_id: &'a str,
    /// Correlation id.
    pub correlation_id: Option<&'a str>,
    /// User object id.
    pub user_id: Option<&'a str>,
    /// RFC 3339 UTC.
    pub created_date_time: &'a str,
    /// Candidate side.
    pub candidate: Arc<Side>,
    /// Baseline side.
    pub baseline: Option<Arc<Side>>,
    /// Whether the status changed.
    pub changed: Option<bool>,
}

/// Counts of one side.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SideCounts {
    /// Sign-ins per overall status.
    pub status: BTreeMap<String, u64>,
    /// Per policy id: sign-ins per result.
    pub policies: BTreeMap<String, BTreeMap<String, u64>>,
}

/// summary.json. The fields after `warnings` are vigil's own (the contract lets readers ignore
/// them); each defaults when a summary written by an earlier vigil lacks it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Sign-ins simulated.
    pub sign_ins: u64,
    /// Bad records skipped (with --skip-bad-records).
    pub skipped: u64,
    /// Duplicate sign-in ids dropped (the first is kept).
    pub duplicates: u64,
    /// Distinct evaluation keys (each evaluated once).
    pub distinct_keys: u64,
    /// Candidate counts.
    pub candidate: SideCounts,
    /// Baseline counts.
    pub baseline: Option<SideCounts>,
    /// "<baseline S> -> <candidate S>": count.
    pub transitions: BTreeMap<String, u64>,
    /// Sign-ins whose status changed.
    pub changed: u64,
    /// Users with the most changed sign-ins (id, count).
    pub top_changed_users: Vec<(String, u64)>,
    /// Applications with the most changed sign-ins (name or id, count).
    pub top_changed_apps: Vec<(String, u64)>,
    /// Warnings about the inputs (unknown conditions, undefined locations, ...).
    pub warnings: Vec<String>,
    /// With `--baseline ledger:DB`: sign-ins before the first policy snapshot (baseline
    /// `indeterminate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_before_first_snapshot: Option<u64>,
    /// Countries (location.countryOrRegion) with the most changed sign-ins.
    #[serde(default)]
    pub top_changed_countries: Vec<(String, u64)>,
    /// Per UTC day (`YYYY-MM-DD`, or `unknown`): changed sign-ins by the candidate's status.
    #[serde(default)]
    pub changed_by_day: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per candidate policy, in input order: sign-ins it applied to, blocked, prompted, and
    /// could not decide.
    #[serde(default)]
    pub policy_impact: Vec<PolicyImpact>,
    /// The vigil version that ran the simulation (set by the command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vigil_version: Option<String>,
    /// The SHA-256 of every input file, by flag (set by the command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<BTreeMap<String, InputRecord>>,
    /// The `run` entry `simulate --ledger` appended for this simulation (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_run: Option<LedgerRun>,
}

/// What a simulation read for one flag: its files, or an audit ledger (`ledger:DB`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum InputRecord {
    /// The files the flag's path names, each with its SHA-256.
    Files(Vec<InputFile>),
    /// A ledger, verified and read at a size.
    Ledger(LedgerInput),
}

/// A ledger read as an input: its file, its size when read and its Merkle root at that size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LedgerInput {
    /// The ledger database file.
    pub ledger: String,
    /// Number of entries when it was read.
    pub size: u64,
    /// Merkle root at that size (lowercase hex).
    pub root: String,
}

/// One input file of a simulation and its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputFile {
    /// The file, as found from the flag's path.
    pub path: String,
    /// SHA-256 of its bytes (lowercase hex).
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Where a simulation was recorded: its `run` entry on the audit ledger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LedgerRun {
    /// The entry's seq.
    pub seq: u64,
    /// The entry's leaf hash (lowercase hex).
    pub hash: String,
    /// The ledger database file, as given to `--ledger`.
    pub db: String,
}

/// Everything a simulation needs.
pub struct Inputs<'a> {
    /// Sign-ins in input order.
    pub signins: &'a [SignIn],
    /// Candidate policies in input order.
    pub policies: &'a [Policy],
    /// Named locations.
    pub locations: &'a [NamedLocation],
    /// Directory snapshot.
    pub directory: Option<&'a Directory>,
    /// The baseline.
    pub baseline: Baseline<'a>,
    /// Which decisions to write.
    pub decisions: DecisionsFilter,
    /// Which files to write them to.
    pub decision_files: DecisionFiles,
    /// Output folder.
    pub out: &'a Path,
    /// Skipped and duplicate counts from reading.
    pub skipped: u64,
    /// Duplicates dropped while reading.
    pub duplicates: u64,
    /// Warnings gathered while loading.
    pub warnings: Vec<String>,
    /// User-risk snapshot (`--user-risk`), if given.
    pub user_risk: Option<&'a UserRisk>,
    /// Device snapshot (`--devices`), if given.
    pub devices: Option<&'a Devices>,
    /// AI risk thresholds and scores, for the `vigil-ai-risk` policy at the end of `policies`
    /// (the candidate side only).
    pub ai: Option<crate::eval::AiInputs<'a>>,
}

/// The files the decisions go to (`--decisions-format`): both by default, as the contract
/// says; one of them for a user who reads only that one (at 10M sign-ins the NDJSON file is
/// tens of gigabytes, the Parquet file about a seventieth of that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecisionFiles {
    /// decisions.ndjson and decisions.parquet.
    #[default]
    Both,
    /// decisions.ndjson only.
    Ndjson,
    /// decisions.parquet only.
    Parquet,
}

impl DecisionFiles {
    /// Whether decisions.ndjson is written.
    pub fn ndjson(self) -> bool {
        self != DecisionFiles::Parquet
    }

    /// Whether decisions.parquet is written.
    pub fn parquet(self) -> bool {
        self != DecisionFiles::Ndjson
    }
}

/// Why a simulation could not run or write its results.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The inputs are inconsistent (e.g. a device filter that does not parse).
    #[error("{0}")]
    Input(String),
    /// Output could not be written.
    #[error("{path}: {reason}")]
    Output {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

fn out_err(path: &Path) -> impl Fn(std::fmt::Arguments) -> SimulateError + '_ {
    move |a| SimulateError::Output {
        path: path.to_path_buf(),
        reason: a.to_string(),
    }
}

pub(crate) fn side(policies: &[Policy], d: &Decision) -> Side {
    Side {
        status: d.status.to_string(),
        controls: d.controls.clone(),
        policies: policies
            .iter()
            .zip(&d.policies)
            .map(|(p, r)| PolicyRow {
                id: p.id.clone(),
                display_name: p.display_name.clone(),
                state: p.state.as_str().to_string(),
                result: r.result.to_string(),
                reasons: r.reasons.clone(),
            })
            .collect(),
    }
}

/// Maps a logged enforcedGrantControls value to the contract's control name.
fn logged_control(c: &str) -> Option<String> {
    let l = c.to_ascii_lowercase().replace([' ', '_', '-'], "");
    let name = match l.as_str() {
        "block" | "blockaccess" => return None,
        "mfa" | "requiremfa" | "requiremultifactorauthentication" => "mfa",
        "compliantdevice" | "requirecompliantdevice" => "compliantDevice",
        "domainjoineddevice" | "requiredomainjoineddevice" | "requirehybridazureadjoineddevice" => {
            "domainJoinedDevice"
        }
        "approvedapplication" | "requireapprovedapp" | "requireapprovedclientapp" => {
            "approvedApplication"
        }
        "compliantapplication" | "requirecompliantapp" | "requireappprotectionpolicy" => {
            "compliantApplication"
        }
        "passwordchange" | "requirepasswordchange" => "passwordChange",
        _ => return Some(c.to_string()),
    };
    Some(name.to_string())
}

/// The baseline side recorded in the log itself.
pub fn logged_side(s: &SignIn, candidates: &[Policy]) -> Side {
    let status = codes::logged_status(s.error_code, s.conditional_access_status.as_deref());
    let mut controls = Vec::new();
    let policies = s
        .applied_policies
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|lp| {
            let result = codes::logged_policy_result(&lp.result);
            if result == "failure" {
                controls.extend(
                    lp.enforced_grant_controls
                        .iter()
                        .filter_map(|c| logged_control(c)),
                );
            }
            let state = candidates
                .iter()
                .find(|p| p.id.eq_ignore_ascii_case(&lp.id))
                .map(|p| p.state.as_str())
                .unwrap_or(match lp.result.as_str() {
                    r if r.starts_with("reportOnly") => {
                        PolicyState::EnabledForReportingButNotEnforced.as_str()
                    }
                    "notEnabled" => PolicyState::Disabled.as_str(),
                    _ => PolicyState::Enabled.as_str(),
                });
            let mut reasons = vec![format!("as logged: {}", lp.result)];
            if !lp.enforced_grant_controls.is_empty() {
                reasons.push(format!(
                    "enforced grant controls: {}",
                    lp.enforced_grant_controls.join(", ")
                ));
            }
            PolicyRow {
                id: lp.id.clone(),
                display_name: lp.display_name.clone().unwrap_or_default(),
                state: state.to_string(),
                result: result.to_string(),
                reasons,
            }
        })
        .collect();
    controls.sort();
    controls.dedup();
    Side {
        status: status.to_string(),
        controls,
        policies,
    }
}

fn count(c: &mut SideCounts, side: &Side) {
    *c.status.entry(side.status.clone()).or_default() += 1;
    for p in &side.policies {
        *c.policies
            .entry(p.id.clone())
            .or_default()
            .entry(p.result.clone())
            .or_default() += 1;
    }
}

/// Runs the simulation and writes its files into `inputs.out`.
pub fn run(inputs: Inputs) -> Result<Summary, SimulateError> {
    let ctx = Context::new(inputs.policies, inputs.locations, inputs.directory)
        .map_err(SimulateError::Input)?
        .with_snapshots(inputs.user_risk, inputs.devices)
        .with_ai(inputs.ai);
    let base_policies: &[Policy] = match inputs.baseline {
        Baseline::Policies(p) => p,
        _ => &[],
    };
    let base_ctx = Context::new(base_policies, inputs.locations, inputs.directory)
        .map_err(SimulateError::Input)?
        .with_snapshots(inputs.user_risk, inputs.devices);
    fs::create_dir_all(inputs.out)
        .map_err(|e| out_err(inputs.out)(format_args!("cannot create the output folder: {e}")))?;
    let nd_path = inputs.out.join("decisions.ndjson");
    let writing = inputs.decisions != DecisionsFilter::None;
    let mut ndjson = match writing && inputs.decision_files.ndjson() {
        false => None,
        true => Some(BufWriter::new(
            File::create(&nd_path).map_err(|e| out_err(&nd_path)(format_args!("{e}")))?,
        )),
    };
    let mut parquet = match writing && inputs.decision_files.parquet() {
        false => None,
        true => Some(crate::decisions::ParquetSink::create(
            &inputs.out.join("decisions.parquet"),
        )?),
    };
    let snapshots: &[PolicySnapshot] = match inputs.baseline {
        Baseline::Snapshots(s) => s,
        _ => &[],
    };
    let snapshot_ctxs = snapshots
        .iter()
        .map(|p| {
            Context::new(
                &p.policies,
                p.locations.as_deref().unwrap_or(inputs.locations),
                inputs.directory,
            )
            .map(|c| c.with_snapshots(inputs.user_risk, inputs.devices))
            .map_err(|e| SimulateError::Input(format!("policy snapshot entry #{}: {e}", p.seq)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut snapshot_caches: Vec<HashMap<SignIn, Arc<Side>>> =
        vec![HashMap::new(); snapshots.len()];
    let mut before_first = 0u64;
    let mut cand_cache: HashMap<SignIn, (Arc<Side>, Arc<[ImpactClass]>)> = HashMap::new();
    let mut base_cache: HashMap<SignIn, Arc<Side>> = HashMap::new();
    let mut cand_counts = SideCounts::default();
    let mut base_counts = SideCounts::default();
    let mut transitions: BTreeMap<String, u64> = BTreeMap::new();
    let mut changes = ChangeTally::default();
    let mut impact = ImpactTally::new(inputs.policies);
    let mut changed_total = 0;
    for s in inputs.signins {
        let key = eval::cache_key(s, &ctx);
        let (cand, classes) = match cand_cache.get(&key) {
            Some(c) => c.clone(),
            None => {
                let d = eval::evaluate(inputs.policies, s, &ctx);
                let c = (
                    Arc::new(side(inputs.policies, &d)),
                    d.policies.iter().map(ImpactClass::of).collect::<Arc<[_]>>(),
                );
                cand_cache.insert(key.clone(), c.clone());
                c
            }
        };
        for (i, c) in classes.iter().enumerate() {
            impact.add(i, *c, 1);
        }
        let base = match inputs.baseline {
            Baseline::None => None,
            Baseline::Logged => Some(Arc::new(logged_side(s, inputs.policies))),
            Baseline::Policies(bp) => Some(match base_cache.get(&key) {
                Some(b) => b.clone(),
                None => {
                    let b = Arc::new(side(bp, &eval::evaluate(bp, s, &base_ctx)));
                    base_cache.insert(key, b.clone());
                    b
                }
            }),
            Baseline::Snapshots(snaps) => Some(match snapshot_at(snaps, s) {
                Err(reason) => {
                    before_first += 1;
                    Arc::new(no_snapshot_side(reason))
                }
                Ok(i) => match snapshot_caches[i].get(&key) {
                    Some(b) => b.clone(),
                    None => {
                        let bp = &snaps[i].policies;
                        let b = Arc::new(side(bp, &eval::evaluate(bp, s, &snapshot_ctxs[i])));
                        snapshot_caches[i].insert(key, b.clone());
                        b
                    }
                },
            }),
        };
        count(&mut cand_counts, &cand);
        let changed = base.as_ref().map(|b| b.status != cand.status);
        if let Some(b) = &base {
            count(&mut base_counts, b);
            *transitions
                .entry(format!("{} -> {}", b.status, cand.status))
                .or_default() += 1;
        }
        if changed == Some(true) {
            changed_total += 1;
            changes.add(&Changed {
                user: s
                    .user_principal_name
                    .as_deref()
                    .or(s.user_id.as_deref())
                    .or(s.service_principal_name.as_deref()),
                app: s.app_display_name.as_deref().or(s.app_id.as_deref()),
                country: s.country.as_deref(),
                created: &s.created_date_time,
                candidate: &cand.status,
            });
        }
        let write = match inputs.decisions {
            DecisionsFilter::All => true,
            DecisionsFilter::Changed => changed == Some(true),
            DecisionsFilter::None => false,
        };
        if write {
            let row = DecisionRow {
                sign_in_id: &s.id,
                correlation_id: s.correlation_id.as_deref(),
                user_id: s.user_id.as_deref(),
                created_date_time: &s.created_date_time,
                candidate: cand,
                baseline: base,
                changed,
            };
            if let Some(w) = ndjson.as_mut() {
                serde_json::to_writer(&mut *w, &row)
                    .map_err(|e| out_err(&nd_path)(format_args!("{e}")))?;
                w.write_all(b"\n")
                    .map_err(|e| out_err(&nd_path)(format_args!("{e}")))?;
            }
            if let Some(p) = parquet.as_mut() {
                p.push(&row)?;
            }
        }
    }
    if let Some(mut w) = ndjson {
        w.flush()
            .map_err(|e| out_err(&nd_path)(format_args!("{e}")))?;
    }
    if let Some(p) = parquet {
        p.finish()?;
    }
    let has_baseline = !matches!(inputs.baseline, Baseline::None);
    let mut warnings = inputs.warnings;
    let snapshot_count = matches!(inputs.baseline, Baseline::Snapshots(_)).then_some(before_first);
    if let Some(n) = snapshot_count.filter(|n| *n > 0) {
        warnings.push(format!(
            "{n} sign-ins precede the first policy snapshot on the ledger: their baseline is indeterminate"
        ));
    }
    let changes = changes.finish();
    let summary = Summary {
        sign_ins: inputs.signins.len() as u64,
        skipped: inputs.skipped,
        duplicates: inputs.duplicates,
        distinct_keys: cand_cache.len() as u64,
        candidate: cand_counts,
        baseline: has_baseline.then_some(base_counts),
        transitions,
        changed: changed_total,
        top_changed_users: changes.users,
        top_changed_apps: changes.apps,
        warnings,
        baseline_before_first_snapshot: snapshot_count,
        top_changed_countries: changes.countries,
        changed_by_day: changes.by_day,
        policy_impact: impact.finish(),
        vigil_version: None,
        inputs: None,
        ledger_run: None,
    };
    let sp = inputs.out.join("summary.json");
    let text =
        serde_json::to_string_pretty(&summary).map_err(|e| out_err(&sp)(format_args!("{e}")))?;
    fs::write(&sp, text + "\n").map_err(|e| out_err(&sp)(format_args!("{e}")))?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(seq: u64, at: &str) -> PolicySnapshot {
        PolicySnapshot {
            seq,
            effective_from: at.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            policies: vec![],
            locations: None,
        }
    }

    fn at(t: &str) -> SignIn {
        SignIn {
            created_date_time: t.into(),
            ..SignIn::default()
        }
    }

    #[test]
    fn the_snapshot_in_force_is_the_latest_that_took_effect_by_then() {
        // Sorted by time as the CLI sorts them; the second took effect at the same instant as
        // the first but was recorded later, so it wins from that instant on.
        let snaps = [
            snapshot(4, "2026-01-01T00:00:00Z"),
            snapshot(9, "2026-01-01T00:00:00Z"),
            snapshot(2, "2026-02-01T00:00:00Z"),
        ];
        assert_eq!(snapshot_at(&snaps, &at("2026-01-01T00:00:00Z")), Ok(1));
        assert_eq!(snapshot_at(&snaps, &at("2026-01-31T23:59:59.999Z")), Ok(1));
        assert_eq!(snapshot_at(&snaps, &at("2026-02-01T00:00:00Z")), Ok(2));
        let before = snapshot_at(&snaps, &at("2025-12-31T23:59:59Z")).unwrap_err();
        assert!(before.contains("entry #4"), "{before}");
        let unreadable = snapshot_at(&snaps, &at("yesterday")).unwrap_err();
        assert!(unreadable.contains("yesterday"), "{unreadable}");
    }
}
