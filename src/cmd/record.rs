//! `vigil ledger record`: exported sign-ins and AI scores onto the ledger, each once.
//!
//! Every sign-in becomes a `signal` entry (the normalized record), its AI score an `inference`
//! entry that refs the signal, and the Conditional Access outcome the log recorded an `action`
//! entry that refs both. Sign-ins are read on one thread; each batch's entries are built and
//! prepared (subjects checked, payloads in canonical JSON, salted commitments) on every core
//! while the batches before it are signed and stored; then per batch one durable transaction
//! holds its signals, then its inferences, then its actions, through
//! [`Ledger::append_once_stream`] (which signs each batch while the one before commits), so
//! recording an export again (or after a failed run) adds only what is missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
#[cfg(test)]
use serde_json::{Map, Value, json};
use vigil_ledger::{
    CanonicalGroup, CanonicalPayload, ItemRef, Kind, Ledger, NewCanonicalEntry, PreparedGroup,
    SignerKey, keyfile, prepare_canonical_groups,
};
use vigil_simulator::airisk::Scores;
use vigil_simulator::model::SignIn;
use vigil_simulator::signin::{self, ReadOptions};

use super::open;
use crate::Outcome;
use crate::output::{counter, info};

/// `vigil ledger record`.
#[derive(Args)]
pub struct RecordArgs {
    /// Ledger database file.
    #[arg(long)]
    pub db: PathBuf,
    /// Sign-in exports in any variant `simulate` reads, including normalized Parquet (files or
    /// folders, read recursively in bytewise path order; repeatable). Each sign-in becomes a
    /// `signal` entry, and the Conditional Access outcome its log recorded an `action` entry.
    /// At least one of --signins and --audits is required.
    #[arg(long, required_unless_present = "audits", requires = "signal_key")]
    pub signins: Vec<PathBuf>,
    /// Directory audit exports (Graph directoryAudit lists, pages, arrays or NDJSON; Log
    /// Analytics AuditLogs JSON or CSV; diagnostic-settings records, gzip too; files or folders).
    /// Each record becomes an `action` entry, linked to its inference and prior approval.
    #[arg(long, value_name = "PATH")]
    pub audits: Vec<PathBuf>,
    /// With --audits: the inference the recorded changes carry out (its seq), instead of the
    /// inference found by each change's correlation id.
    #[arg(long = "ref", value_name = "SEQ", requires = "audits")]
    pub inference_ref: Option<u64>,
    /// AI risk scores, as `simulate --scores` reads them (CSV, NDJSON, JSON array or Parquet
    /// keyed by signInId or correlationId; 0-1 or 0-100). Each score becomes an `inference`
    /// entry that refs its sign-in's signal.
    #[arg(long, requires_all = ["inference_key", "signins"])]
    pub scores: Option<PathBuf>,
    /// Secret key that signs the `signal` entries (registered for signal; with --signins).
    #[arg(long)]
    pub signal_key: Option<PathBuf>,
    /// The AI engine's own secret key, which signs the `inference` entries: registered for
    /// inference, and not an operator's key (one registered for action or review).
    #[arg(long, requires = "scores")]
    pub inference_key: Option<PathBuf>,
    /// Secret key that signs the `action` entries (registered for action): sign-in outcomes
    /// and directory changes.
    #[arg(long)]
    pub action_key: PathBuf,
    /// Sign-ins (or directory changes) per durable batch: each batch commits its signals,
    /// inferences and actions in one transaction.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    /// Skip (and count) malformed sign-in records instead of stopping.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// How locale dates with slashes in sign-in exports (`3/4/2026 1:48:53 AM`) are read:
    /// `mdy` (month first, the default) or `dmy` (day first). A file whose dates contradict the
    /// order is an input error.
    #[arg(long, value_enum, default_value = "mdy")]
    pub date_order: crate::cli::DateOrderArg,
}

/// A read on its own thread, handing batches to the recorder, as it ended.
pub(crate) struct Batches<S, E> {
    /// Why recording stopped, if it did.
    failure: Option<anyhow::Error>,
    /// What the reader returned.
    read: std::thread::Result<Result<S, E>>,
}

impl<S, E: std::error::Error + Send + Sync + 'static> Batches<S, E> {
    /// The reader's result, or the error that stopped the run, saying what was recorded
    /// (`done`) before it.
    pub(crate) fn finish(self, done: &str) -> Result<S> {
        let read = self
            .read
            .map_err(|_| anyhow!("the reader stopped unexpectedly"))?;
        if let Some(e) = self.failure {
            return Err(e.context(format!(
                "{done} (whole transactions) before this; fix the problem and rerun: recording is idempotent"
            )));
        }
        read.map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "{done} before this record (whole batches); fix the input and rerun (recording is idempotent)"
            ))
        })
    }
}

/// Records prepared batches: takes each batch from the function it is given (`None` when there
/// are no more), in order, and commits it.
pub(crate) type RecordBatches<'a, P> = dyn FnMut(&mut dyn FnMut() -> Option<P>) -> Result<()> + 'a;

/// Reads records on their own thread (`read` hands each to its sink), prepares them `batch`
/// records at a time on another (`prepare` gets a batch and the 1-based number of its first
/// record; it does the work that needs no ledger, on every core) and has `record` take the
/// prepared batches in order, then sign and commit each, while the next ones are read and
/// prepared. A failed read sends nothing more: only whole batches before the bad record are
/// recorded; a batch whose preparation failed hands its error to `record` in its turn, after
/// the batches before it (which `record` commits before it stops).
pub(crate) fn in_batches<T, P, S, E>(
    batch: usize,
    what: &str,
    read: impl FnOnce(&mut dyn FnMut(T)) -> Result<S, E> + Send,
    prepare: impl Fn(&[T], u64) -> P + Send,
    record: &mut RecordBatches<'_, P>,
) -> Batches<S, E>
where
    T: Send,
    P: Send,
    S: Send,
    E: Send,
{
    // Batches read ahead of the one being prepared, and prepared ahead of the one being
    // recorded: enough to keep every core busy while a batch commits.
    const AHEAD: usize = 2;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<T>>(AHEAD);
        // Prepared batches come back emptied, and the reader fills them again: a batch's
        // buffer is allocated once, not once per batch (fresh memory costs page faults).
        let (back_tx, back_rx) = mpsc::channel::<Vec<T>>();
        let reader = scope.spawn(move || {
            let fresh = || {
                back_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(batch))
            };
            let mut chunk = fresh();
            let mut stopped = false;
            let stats = read(&mut |s| {
                if stopped {
                    return;
                }
                chunk.push(s);
                if chunk.len() == batch {
                    let full = std::mem::replace(&mut chunk, fresh());
                    stopped = tx.send(full).is_err();
                }
            });
            if stats.is_ok() && !chunk.is_empty() && !stopped {
                let _ = tx.send(chunk);
            }
            stats
        });
        let (ptx, prx) = mpsc::sync_channel::<(P, u64)>(AHEAD);
        let preparer = scope.spawn(move || {
            let mut read_so_far = 0u64;
            for mut chunk in rx.iter() {
                let first = read_so_far + 1;
                let n = chunk.len() as u64;
                read_so_far += n;
                let prepared = prepare(&chunk, first);
                chunk.clear();
                // The reader may be done; then the buffer is freed here.
                let _ = back_tx.send(chunk);
                if ptx.send((prepared, n)).is_err() {
                    return;
                }
            }
        });
        let bar = counter(what);
        // Counted as taken: each batch is committed before the next but one is taken.
        let mut take = || {
            let (prepared, n) = prx.recv().ok()?;
            bar.inc(n);
            Some(prepared)
        };
        let failure = record(&mut take).err();
        drop(prx);
        bar.finish_and_clear();
        let prepared = preparer.join();
        let read = reader.join();
        if let Err(panic) = prepared {
            std::panic::resume_unwind(panic);
        }
        Batches { failure, read }
    })
}

/// Entries recorded and skipped, per kind.
#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    signals: u64,
    inferences: u64,
    actions: u64,
    skipped: u64,
}

/// Loads a producer's secret key and checks the registry lets it sign `kind`.
fn producer_key(ledger: &mut Ledger, flag: &str, path: &Path, kind: Kind) -> Result<SignerKey> {
    let key = keyfile::read_secret_key(path).with_context(|| format!("--{flag}"))?;
    super::require_kind(ledger, &key, kind)
        .with_context(|| format!("--{flag} {}", path.display()))?;
    Ok(key)
}

/// Runs the record command.
pub fn run(a: &RecordArgs) -> Result<Outcome> {
    if a.batch == 0 {
        bail!("--batch must be at least 1");
    }
    if a.signins.is_empty() && a.audits.is_empty() {
        bail!("give --signins, --audits or both");
    }
    let mut ledger = open(&a.db)?;
    let action_key = producer_key(&mut ledger, "action-key", &a.action_key, Kind::Action)?;
    if !a.signins.is_empty() {
        let Some(path) = &a.signal_key else {
            bail!("--signins needs --signal-key");
        };
        let signal_key = producer_key(&mut ledger, "signal-key", path, Kind::Signal)?;
        record_signins(a, &mut ledger, &signal_key, &action_key)?;
    }
    if !a.audits.is_empty() {
        let opts = ReadOptions {
            skip_bad_records: a.skip_bad_records,
            date_order: a.date_order.into(),
        };
        super::record_audits::record(
            &mut ledger,
            &a.audits,
            &opts,
            &action_key,
            a.inference_ref,
            a.batch,
        )?;
    }
    Ok(Outcome::Ok)
}

/// Records the sign-in exports (and their scores).
fn record_signins(
    a: &RecordArgs,
    ledger: &mut Ledger,
    signal_key: &SignerKey,
    action_key: &SignerKey,
) -> Result<()> {
    let ledger = &mut *ledger;
    let inference_key = match &a.inference_key {
        None => None,
        Some(p) => {
            let key = producer_key(ledger, "inference-key", p, Kind::Inference)?;
            let operator: Vec<&str> = ledger
                .registry()?
                .current(key.name())
                .map(|r| {
                    r.kinds
                        .iter()
                        .filter(|k| matches!(k, Kind::Action | Kind::Review))
                        .map(|k| k.as_str())
                        .collect()
                })
                .unwrap_or_default();
            if !operator.is_empty() {
                bail!(
                    "--inference-key {}: key {} is an operator's key (registered for {}); an inference is signed only by the AI engine's own key",
                    p.display(),
                    key.name(),
                    operator.join(", ")
                );
            }
            for (flag, other) in [("signal-key", signal_key), ("action-key", action_key)] {
                if other.verifier().public == key.verifier().public {
                    bail!(
                        "--inference-key {}: the same key as --{flag}; an inference is signed only by the AI engine's own key",
                        p.display()
                    );
                }
            }
            Some(key)
        }
    };
    let scores = a.scores.as_deref().map(Scores::load).transpose()?;
    if let Some(s) = &scores {
        for w in &s.warnings {
            info(format!("warning: {w}"));
        }
    }

    let paths = a.signins.clone();
    let opts = ReadOptions {
        skip_bad_records: a.skip_bad_records,
        date_order: a.date_order.into(),
    };
    let mut counts = Counts::default();
    let mut scored: std::collections::HashSet<String> = std::collections::HashSet::new();
    let keys = Keys {
        signal: signal_key,
        inference: inference_key.as_ref(),
        action: action_key,
    };
    let scores_ref = scores.as_ref();
    let run = in_batches(
        a.batch,
        "recording sign-ins",
        move |sink: &mut dyn FnMut(SignIn)| signin::read_signins(&paths, &opts, sink),
        // Payloads, subjects and links are built and prepared (canonical JSON, salts,
        // commitments) on every core while the batches before are signed and stored.
        |chunk: &[SignIn], first| prepare_batch(chunk, first, &keys, scores_ref),
        &mut |take| record_stream(ledger, take, &mut scored, &mut counts),
    );
    let done = summary(&counts);
    let stats = run.finish(&done)?;
    for w in &stats.warnings {
        info(format!("warning: {w}"));
    }
    if let Some(s) = &scores {
        let unused = s.len().saturating_sub(scored.len());
        if unused > 0 {
            info(format!(
                "warning: {}: {unused} score(s) name no sign-in of --signins (by signInId or correlationId) and were not recorded",
                a.scores
                    .as_deref()
                    .map_or_else(String::new, |p| p.display().to_string())
            ));
        }
    }
    if stats.duplicates > 0 || stats.skipped > 0 {
        info(format!(
            "{} duplicate sign-ins dropped, {} bad records skipped",
            stats.duplicates, stats.skipped
        ));
    }
    info(done);
    Ok(())
}

fn summary(c: &Counts) -> String {
    format!(
        "recorded {} signals, {} inferences, {} actions; skipped {} already recorded",
        c.signals, c.inferences, c.actions, c.skipped
    )
}

/// The entry subject of a sign-in: its opaque identifiers only.
fn subject_of(s: &SignIn, record: u64) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let tenant = s.resource_tenant_id.as_ref().or(s.home_tenant_id.as_ref());
    for (member, value) in [
        ("signInId", Some(&s.id)),
        ("correlationId", s.correlation_id.as_ref()),
        ("userId", s.user_id.as_ref()),
        ("tenantId", tenant),
    ] {
        let Some(v) = value else { continue };
        vigil_ledger::entry::validate_subject_value(member, v).map_err(|e| {
            anyhow!(
                "sign-in {} (record {record} of --signins): field {member}: {e}",
                s.id
            )
        })?;
        out.insert(member.to_string(), v.clone());
    }
    Ok(out)
}

/// A JSON object without its null members ("the log does not say" either way).
#[cfg(test)]
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

/// The `action` payload: what Conditional Access did, as the log recorded it (the general path
/// of [`LoggedOutcome`]).
#[cfg(test)]
fn logged_outcome(s: &SignIn) -> Value {
    without_nulls(json!({
        "source": "log",
        "status": "applied",
        "conditionalAccessStatus": s.conditional_access_status,
        "appliedConditionalAccessPolicies": s.applied_policies,
        "errorCode": s.error_code,
        "failureReason": s.failure_reason,
    }))
}

/// [`logged_outcome`], borrowed from the sign-in: written straight to canonical JSON
/// ([`CanonicalPayload::object_of`] drops its null members as [`without_nulls`] does).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LoggedOutcome<'a> {
    source: &'static str,
    status: &'static str,
    conditional_access_status: &'a Option<String>,
    applied_conditional_access_policies: &'a Option<Vec<vigil_simulator::model::LoggedPolicy>>,
    error_code: Option<i64>,
    failure_reason: &'a Option<String>,
}

impl<'a> LoggedOutcome<'a> {
    fn of(s: &'a SignIn) -> Self {
        LoggedOutcome {
            source: "log",
            status: "applied",
            conditional_access_status: &s.conditional_access_status,
            applied_conditional_access_policies: &s.applied_policies,
            error_code: s.error_code,
            failure_reason: &s.failure_reason,
        }
    }
}

/// The `inference` payload of a score, borrowed (see [`inference_payload`]).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ScorePayload<'a> {
    score: f64,
    risk_level: &'a Option<String>,
    reasoning: &'a Option<String>,
    recommended_action: &'a Option<String>,
    model: &'a Option<String>,
    scored_by: &'static str,
}

/// The `inference` payload of a score as a JSON tree (the general path of [`ScorePayload`]).
#[cfg(test)]
fn inference_payload(score: &vigil_simulator::airisk::Score, by_correlation: bool) -> Value {
    without_nulls(json!({
        "score": score.score,
        "riskLevel": score.risk_level,
        "reasoning": score.reasoning,
        "recommendedAction": score.recommended_action,
        "model": score.model,
        "scoredBy": if by_correlation { "correlationId" } else { "signInId" },
    }))
}

/// A payload in canonical form, or why the record cannot be written as JSON.
type Payload = Result<CanonicalPayload, String>;

/// A sign-in's three payloads in canonical form, written straight from the records (no JSON
/// trees): the signal (the normalized record without its null members), the logged outcome
/// and, when it has a score, the inference.
fn canonical_payloads(
    s: &SignIn,
    score: Option<(&vigil_simulator::airisk::Score, bool)>,
) -> (Payload, Payload, Option<Payload>) {
    (
        CanonicalPayload::object_of(s, true, &[]),
        CanonicalPayload::object_of(&LoggedOutcome::of(s), true, &[]),
        score.map(|(score, by_correlation)| {
            CanonicalPayload::object_of(
                &ScorePayload {
                    score: score.score,
                    risk_level: &score.risk_level,
                    reasoning: &score.reasoning,
                    recommended_action: &score.recommended_action,
                    model: &score.model,
                    scored_by: if by_correlation {
                        "correlationId"
                    } else {
                        "signInId"
                    },
                },
                true,
                &[],
            )
        }),
    )
}

/// The keys that sign a sign-in's entries.
struct Keys<'k> {
    signal: &'k SignerKey,
    inference: Option<&'k SignerKey>,
    action: &'k SignerKey,
}

/// A batch of sign-ins ready for the ledger: its groups (signals, then inferences if scored,
/// then actions), prepared.
struct Batch<'k> {
    groups: Vec<PreparedGroup<'k>>,
    /// The scores used, as `s:<signInId>` / `c:<correlationId>` (lowercase).
    scored: Vec<String>,
}

/// What one sign-in gives, built on any core.
struct Built {
    subject: Result<BTreeMap<String, String>>,
    /// The normalized record without its null members.
    signal: Payload,
    /// What Conditional Access did, as the log recorded it.
    outcome: Payload,
    /// Its inference payload and the score's key, when it has a score.
    inference: Option<(Payload, String)>,
}

/// Builds a batch's entries (signals, inferences linked to their signals, actions linked to
/// both) and prepares them, on every core. Errors are those of recording the batch one record
/// after another: the first bad subject, else the first payload that cannot be written.
fn prepare_batch<'k>(
    chunk: &[SignIn],
    first_record: u64,
    keys: &Keys<'k>,
    scores: Option<&Scores>,
) -> Result<Batch<'k>> {
    use rayon::prelude::*;
    // Scores are recorded only with a key to sign their inferences.
    let scoring = keys.inference.zip(scores);
    let scores = scoring.map(|(_, scores)| scores);
    let built: Vec<Built> = chunk
        .par_iter()
        .enumerate()
        .map(|(i, s)| {
            let score = scores.and_then(|scores| scores.get(s)).map(|score| {
                let by_correlation = !score.key.eq_ignore_ascii_case(&s.id);
                (score, by_correlation)
            });
            let (signal, outcome, inference) = canonical_payloads(s, score);
            Built {
                subject: subject_of(s, first_record + i as u64),
                signal,
                outcome,
                inference: score
                    .zip(inference)
                    .map(|((score, by_correlation), payload)| {
                        let key = format!(
                            "{}:{}",
                            if by_correlation { "c" } else { "s" },
                            score.key.to_ascii_lowercase()
                        );
                        (payload, key)
                    }),
            }
        })
        .collect();
    let mut subjects = Vec::with_capacity(built.len());
    let mut rest = Vec::with_capacity(built.len());
    for b in built {
        subjects.push(b.subject?);
        rest.push((b.signal, b.outcome, b.inference));
    }
    let mut signals = Vec::with_capacity(chunk.len());
    let mut outcomes = Vec::with_capacity(chunk.len());
    let mut inferences = Vec::new();
    for ((s, (signal, outcome, inference)), subject) in chunk.iter().zip(rest).zip(&subjects) {
        let payload = match signal {
            Ok(v) => v,
            Err(e) => return Err(anyhow!("sign-in {}: {e}", s.id)),
        };
        outcomes.push(outcome.map_err(|e| anyhow!("sign-in {}: {e}", s.id))?);
        inferences.push(match inference {
            Some((payload, key)) => {
                Some((payload.map_err(|e| anyhow!("sign-in {}: {e}", s.id))?, key))
            }
            None => None,
        });
        signals.push(NewCanonicalEntry {
            kind: Kind::Signal,
            subject: subject.clone(),
            refs: vec![],
            payload,
        });
    }
    let signal_of = |i: usize| ItemRef { group: 0, item: i };
    let mut groups = vec![CanonicalGroup {
        signer: keys.signal,
        items: signals,
        links: vec![],
    }];

    // Inferences, for the sign-ins that have a score, each linked to its signal.
    let mut inference_of: Vec<Option<usize>> = vec![None; chunk.len()];
    let mut scored = Vec::new();
    if let Some((key, _)) = scoring {
        let mut items = Vec::new();
        let mut links = Vec::new();
        for (i, inference) in inferences.into_iter().enumerate() {
            let Some((payload, score_key)) = inference else {
                continue;
            };
            scored.push(score_key);
            inference_of[i] = Some(items.len());
            items.push(NewCanonicalEntry {
                kind: Kind::Inference,
                subject: subjects[i].clone(),
                refs: vec![],
                payload,
            });
            links.push(vec![signal_of(i)]);
        }
        groups.push(CanonicalGroup {
            signer: key,
            items,
            links,
        });
    }

    // The logged outcomes, each linked to its signal and (if scored) its inference.
    let mut actions = Vec::with_capacity(chunk.len());
    let mut links = Vec::with_capacity(chunk.len());
    for (i, (payload, subject)) in outcomes.into_iter().zip(subjects).enumerate() {
        let mut to = vec![signal_of(i)];
        to.extend(inference_of[i].map(|item| ItemRef { group: 1, item }));
        links.push(to);
        actions.push(NewCanonicalEntry {
            kind: Kind::Action,
            subject,
            refs: vec![],
            payload,
        });
    }
    groups.push(CanonicalGroup {
        signer: keys.action,
        items: actions,
        links,
    });
    Ok(Batch {
        groups: prepare_canonical_groups(groups)?,
        scored,
    })
}

/// Records the prepared batches `take` gives, each in one durable transaction; stops at the
/// first batch that failed to prepare, with its error, once the batches before it are in.
fn record_stream<'k>(
    ledger: &mut Ledger,
    take: &mut dyn FnMut() -> Option<Result<Batch<'k>>>,
    scored: &mut std::collections::HashSet<String>,
    counts: &mut Counts,
) -> Result<()> {
    let mut failure = None;
    let mut next = || match take()? {
        Ok(batch) => {
            scored.extend(batch.scored);
            Some(batch.groups)
        }
        Err(e) => {
            failure = Some(e);
            None
        }
    };
    ledger.append_once_stream(&mut next, &mut |at| tally_batch(&at, counts))?;
    failure.map_or(Ok(()), Err)
}

/// Counts one committed batch of sign-ins: its signals, then its inferences (when the batch
/// has them: three groups), then its actions.
fn tally_batch(at: &[Vec<vigil_ledger::Recorded>], counts: &mut Counts) {
    let scored_group = at.len() == 3;
    let mut at = at.iter();
    let mut next = |new: &mut u64, skipped: &mut u64| {
        if let Some(group) = at.next() {
            tally(group, new, skipped);
        }
    };
    next(&mut counts.signals, &mut counts.skipped);
    if scored_group {
        next(&mut counts.inferences, &mut counts.skipped);
    }
    next(&mut counts.actions, &mut counts.skipped);
}

fn tally(at: &[vigil_ledger::Recorded], new: &mut u64, skipped: &mut u64) {
    for r in at {
        if r.new {
            *new += 1;
        } else {
            *skipped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches reuse their buffers (emptied before the reader fills them again): every record
    /// arrives once, in order, with the right first-record numbers, and no batch holds records
    /// of an earlier one; a short last batch too.
    #[test]
    fn batches_reuse_buffers_and_keep_every_record_once_in_order() {
        for (n, batch) in [(0u64, 3usize), (1, 3), (10, 3), (12, 3), (1000, 7), (50, 1)] {
            let mut got: Vec<(u64, Vec<u64>)> = Vec::new();
            let run = in_batches(
                batch,
                "test",
                move |sink: &mut dyn FnMut(u64)| {
                    (1..=n).for_each(&mut *sink);
                    Ok::<u64, std::io::Error>(n)
                },
                |chunk: &[u64], first| (first, chunk.to_vec()),
                &mut |take| {
                    while let Some(b) = take() {
                        got.push(b);
                    }
                    Ok(())
                },
            );
            assert!(run.failure.is_none());
            assert_eq!(run.read.unwrap().unwrap(), n);
            let mut next = 1;
            for (first, items) in &got {
                assert_eq!(*first, next, "n {n} batch {batch}");
                assert!(!items.is_empty() && items.len() <= batch);
                let want: Vec<u64> = (next..next + items.len() as u64).collect();
                assert_eq!(items, &want, "n {n} batch {batch}");
                next += items.len() as u64;
            }
            assert_eq!(next, n + 1);
        }
    }

    fn general(v: &Value) -> Vec<u8> {
        vigil_ledger::entry::canonical_payload(v).unwrap()
    }

    /// Checks the three payloads written straight from the records against the general path
    /// (JSON trees, then canonicalized).
    fn check(s: &SignIn, score: Option<&vigil_simulator::airisk::Score>) {
        let score = score.map(|sc| (sc, !sc.key.eq_ignore_ascii_case(&s.id)));
        let (signal, outcome, inference) = canonical_payloads(s, score);
        let want = without_nulls(serde_json::to_value(s).unwrap());
        assert_eq!(signal.unwrap().as_bytes(), general(&want), "{s:?}");
        assert_eq!(
            outcome.unwrap().as_bytes(),
            general(&logged_outcome(s)),
            "{s:?}"
        );
        match (score, inference) {
            (None, None) => {}
            (Some((sc, by_correlation)), Some(p)) => assert_eq!(
                p.unwrap().as_bytes(),
                general(&inference_payload(sc, by_correlation)),
                "{sc:?}"
            ),
            _ => panic!("an inference payload without a score, or the other way round"),
        }
    }

    /// Text that needs escapes, or sorts otherwise in UTF-16 than in UTF-8.
    fn tricky(i: usize) -> String {
        const PIECES: [&str; 10] = [
            "a", "\"", "\\", "\n", "\u{1}", "\u{7f}", "é", "\u{fb33}", "😀", "",
        ];
        (0..i % 5)
            .map(|j| PIECES[(i * 7 + j * 3) % PIECES.len()])
            .collect()
    }

    /// Every string in a JSON tree replaced by tricky text, every number varied.
    fn vary(v: &mut Value, i: &mut usize) {
        *i += 1;
        match v {
            Value::String(t) if i.is_multiple_of(3) => *t = tricky(*i),
            Value::Number(n) if i.is_multiple_of(4) => {
                *n = serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0) * 1.5 + 0.1)
                    .unwrap_or(n.clone());
            }
            Value::Array(a) => a.iter_mut().for_each(|v| vary(v, i)),
            Value::Object(m) => m.values_mut().for_each(|v| vary(v, i)),
            _ => {}
        }
    }

    /// The sign-in payloads written straight from the records are the general path's, byte
    /// for byte, for every sign-in of the sample exports (every variant the reader knows), with
    /// and without its score, and for variants of them with other text and numbers.
    #[test]
    fn canonical_payloads_are_the_general_paths() {
        let tenant = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tenant");
        let scores = Scores::load(&tenant.join("scores.csv")).unwrap();
        let mut signins = Vec::new();
        signin::read_signins(
            &[tenant.join("signins"), tenant.join("signins.json")],
            &ReadOptions::default(),
            &mut |s| signins.push(s),
        )
        .unwrap();
        assert!(signins.len() > 10);
        let (mut scored, mut varied) = (0, 0);
        let mut i = 0;
        for s in &signins {
            let score = scores.get(s);
            scored += usize::from(score.is_some());
            check(s, score);
            check(s, None);
            for _ in 0..4 {
                let mut v = serde_json::to_value(s).unwrap();
                vary(&mut v, &mut i);
                if let Ok(other) = serde_json::from_value::<SignIn>(v) {
                    varied += 1;
                    check(&other, score);
                }
            }
        }
        assert!(scored > 0 && varied > signins.len());
    }
}
