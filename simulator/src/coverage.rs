//! Coverage of the directory changes on a ledger: is each AI agent's change linked to an
//! inference, and each high-stakes change to a human approval given before it took effect?
//!
//! One streaming pass over the entries, in seq order, finds the recorded directory changes
//! (`action` entries whose payload has `source` [`SOURCE`]), the inferences and the
//! approving reviews (`verdict` `approved`). Kinds are read from the signed envelopes (the
//! storage's `kind` column is only a hint for which payloads to read). Gaps:
//! - `no-inference`: a change made by an AI agent that refs no inference;
//! - `not-approved`: a high-stakes change that refs no approval and was never approved;
//! - `approved-after`: a high-stakes change approved only after it took effect (a review,
//!   recorded after the change, that refs the change, its inference, or has its correlation id);
//! - `same-actor`: a high-stakes change whose approval came from the identity that made it
//!   (the same key name or key id, or a reviewer who is the change's initiating user or app).
//!
//! Failed changes (`result` `failure`) took no effect and are not judged. The ledger must be
//! verified before its coverage means anything (`vigil ledger coverage` does both).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use vigil_ledger::entry::kind_of_canonical;
use vigil_ledger::{Envelope, Kind, Ledger, LedgerError};

use crate::audit::AuditRecord;
use crate::audit::view::AuditRecordView;
use crate::governance::Governance;

/// The `source` of the `action` payload of a directory change recorded from an audit log.
pub const SOURCE: &str = "directory-audit";

/// The `source` member of a change's canonical payload, as bytes.
const SOURCE_MEMBER: &[u8] = b"\"source\":\"directory-audit\"";

/// The member that tells a recorded directory change from other `action` payloads.
#[derive(serde::Deserialize)]
struct ChangePayload {
    source: Option<String>,
}

/// Whether a review payload is an approval.
pub fn is_approval(payload: &[u8]) -> bool {
    approval_reviewer(payload).is_some()
}

/// The members of a review's payload that make it an approval, borrowed.
#[derive(serde::Deserialize)]
struct ReviewView<'a> {
    verdict: Option<&'a str>,
    reviewer: Option<String>,
}

/// For an approving review's payload, `Some(reviewer)` (the reviewer member, when it is a
/// string); `None` for any other payload. One parse for both answers: a short one for the
/// usual shape, else the payload as a JSON value.
fn approval_reviewer(payload: &[u8]) -> Option<Option<String>> {
    if let Some(text) = object_text(payload)
        && let Ok(r) = serde_json::from_str::<ReviewView>(text)
    {
        return (r.verdict == Some("approved")).then_some(r.reviewer);
    }
    let p = serde_json::from_slice::<Value>(payload).ok()?;
    (p.get("verdict").and_then(Value::as_str) == Some("approved")).then(|| {
        p.get("reviewer")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// Why the coverage could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// An entry is not what a verified ledger holds.
    #[error("entry {seq}: {reason}")]
    Entry {
        /// Its seq.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Lowercase hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One gap in the coverage.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// Seq of the change's `action` entry.
    pub seq: u64,
    /// When the change took effect.
    pub activity_date_time: String,
    /// The activity.
    pub activity: String,
    /// Who made it (agent name, app, or user).
    pub initiated_by: String,
    /// `no-inference`, `not-approved`, `approved-after`, `same-actor`.
    pub gap: &'static str,
    /// Why it needed what it lacks, and which entries say so.
    pub detail: String,
}

/// Counts of one activity or agent.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Changes recorded.
    pub changes: u64,
    /// Made by an AI agent.
    pub by_ai_agent: u64,
    /// High-stakes.
    pub high_stakes: u64,
    /// With at least one gap.
    pub with_gaps: u64,
}

/// The coverage of the ledger's directory changes.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// Entries read.
    pub entries: u64,
    /// Directory changes in the window.
    pub changes: u64,
    /// Of which made by an AI agent.
    pub ai_changes: u64,
    /// Of which high-stakes.
    pub high_stakes_changes: u64,
    /// The gaps, in ledger order.
    pub gaps: Vec<Gap>,
    /// Per activity.
    pub by_activity: BTreeMap<String, Tally>,
    /// Per AI agent.
    pub by_agent: BTreeMap<String, Tally>,
}

/// An approving review.
struct Approval {
    actor: String,
    key_id: Vec<u8>,
    reviewer: Option<String>,
}

/// A change that needs judging after the pass (high-stakes without an approval before it).
struct Pending {
    gap: usize,
    makers: Vec<String>,
}

/// Sets a bit in a growable bitset over seqs.
fn set_bit(bits: &mut Vec<u64>, seq: u64) {
    let (word, bit) = (usize::try_from(seq / 64).unwrap_or(usize::MAX), seq % 64);
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    bits[word] |= 1 << bit;
}

fn has_bit(bits: &[u64], seq: u64) -> bool {
    let word = usize::try_from(seq / 64).unwrap_or(usize::MAX);
    bits.get(word).is_some_and(|w| w & (1 << (seq % 64)) != 0)
}

/// Lowercased identities, for comparing who made a change with who approved it.
fn same_identity(makers: &[String], approval: &Approval) -> bool {
    let mut approvers = vec![approval.actor.to_ascii_lowercase(), hex(&approval.key_id)];
    approvers.extend(approval.reviewer.iter().map(|r| r.to_ascii_lowercase()));
    approvers.iter().any(|a| makers.contains(a))
}

/// Rows of one batch the reading thread hands to the parsing side.
const BATCH_ROWS: usize = 4096;

/// One row of a batch, as the reading thread copies it out of SQLite.
enum Row {
    /// An inference: only its seq matters.
    Inference(u64),
    /// An `action` or `review` entry whose payload the pass reads; ranges of the batch's bytes.
    Read {
        seq: u64,
        kind: Kind,
        envelope: Range<usize>,
        key_id: Range<usize>,
        payload: Range<usize>,
    },
    /// Reading stopped here.
    Failed(CoverageError),
}

/// Rows and the bytes they borrow, copied so that SQLite's reading and the parsing overlap.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    rows: Vec<Row>,
}

impl Batch {
    fn push_bytes(&mut self, b: &[u8]) -> Range<usize> {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(b);
        at..self.bytes.len()
    }
}

/// What the envelope of a change or approval says that the pass needs.
struct EnvelopeFacts {
    actor: String,
    refs: Vec<u64>,
    correlation_id: Option<String>,
}

/// What one row means for the coverage, parsed (on any thread) ahead of the in-order fold.
enum Fact {
    Inference(u64),
    Approval {
        seq: u64,
        key_id: Vec<u8>,
        env: EnvelopeFacts,
        reviewer: Option<String>,
    },
    Change {
        seq: u64,
        refs: Vec<u64>,
        change: Box<Judged>,
    },
    Nothing,
    Failed(CoverageError),
}

/// The members of a canonical envelope the pass reads, borrowed.
#[derive(serde::Deserialize)]
struct EnvelopeView<'a> {
    #[serde(borrow)]
    actor: Cow<'a, str>,
    refs: Vec<RefSeq>,
    #[serde(borrow)]
    subject: SubjectView<'a>,
}

#[derive(serde::Deserialize)]
struct RefSeq {
    seq: u64,
}

#[derive(serde::Deserialize)]
struct SubjectView<'a> {
    #[serde(rename = "correlationId", borrow)]
    correlation_id: Option<Cow<'a, str>>,
}

/// The bytes as text when they are UTF-8 and their first non-blank byte opens an object, for
/// the short readings: serde also reads a struct from an array, by position, which the general
/// readings would not; and checking the UTF-8 once here spares the parser checking each string
/// (what `from_slice` does), which was a large part of the parsing.
fn object_text(bytes: &[u8]) -> Option<&str> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// The actor, ref seqs and correlation id of an envelope: read from the canonical bytes
/// without building the whole envelope, falling back to [`Envelope::parse_lenient`] (and its
/// error) when the short read fails.
fn envelope_facts(bytes: &[u8]) -> Result<EnvelopeFacts, vigil_ledger::entry::EnvelopeError> {
    if let Some(text) = object_text(bytes)
        && let Ok(v) = serde_json::from_str::<EnvelopeView>(text)
    {
        return Ok(EnvelopeFacts {
            actor: v.actor.into_owned(),
            refs: v.refs.iter().map(|r| r.seq).collect(),
            correlation_id: v.subject.correlation_id.map(Cow::into_owned),
        });
    }
    let env = Envelope::parse_lenient(bytes)?;
    Ok(EnvelopeFacts {
        refs: env.refs.iter().map(|r| r.seq).collect(),
        correlation_id: env.subject.get("correlationId").cloned(),
        actor: env.actor,
    })
}

/// What [`change_record`] read: a change's record, borrowed from its payload where it could be.
enum ChangeRead<'a> {
    View(AuditRecordView<'a>),
    Owned(AuditRecord),
}

impl ChangeRead<'_> {
    /// [`judge`] on the change, whichever way it was read.
    fn judge(&self, cx: Context, actor: &str, key_id: &[u8]) -> Option<Judged> {
        match self {
            ChangeRead::View(record) => judge(cx, actor, key_id, record),
            ChangeRead::Owned(record) => judge(cx, actor, key_id, &record.view()),
        }
    }
}

/// For an `action` payload: `Ok(Some(record))` for a recorded directory change, `Ok(None)`
/// for any other action, `Err(())` for a change whose payload is not an audit record. The
/// usual canonical payload is read as a view in one parse; anything else goes through the
/// general reading.
fn change_record(payload: &[u8]) -> Result<Option<ChangeRead<'_>>, ()> {
    if let Some(text) = object_text(payload)
        && let Ok(c) = serde_json::from_str::<AuditRecordView>(text)
    {
        return Ok((c.source.as_deref() == Some(SOURCE)).then_some(ChangeRead::View(c)));
    }
    Ok(change_record_general(payload)?.map(ChangeRead::Owned))
}

/// The general reading of an `action` payload (what [`change_record`] falls back to): the
/// `source` member first, then the record.
fn change_record_general(payload: &[u8]) -> Result<Option<AuditRecord>, ()> {
    let Ok(change) = serde_json::from_slice::<ChangePayload>(payload) else {
        return Ok(None);
    };
    if change.source.as_deref() != Some(SOURCE) {
        return Ok(None);
    }
    serde_json::from_slice::<AuditRecord>(payload)
        .map(Some)
        .map_err(|_| ())
}

/// What a change in the window is, judged on its own (everything but its links).
#[derive(Debug, PartialEq)]
struct Judged {
    activity_date_time: String,
    activity: String,
    /// Who made it, as a gap shows it.
    by: String,
    agent_name: Option<String>,
    took_effect: bool,
    /// Why it is high-stakes (the reasons joined); `None` when it is not.
    why: Option<String>,
    /// The identities that made it (lowercased; only for high-stakes changes).
    makers: Vec<String>,
    /// Its correlation id, lowercased.
    correlation_id: Option<String>,
}

/// What the pass needs to know besides the entries.
#[derive(Clone, Copy)]
struct Context<'g> {
    governance: &'g Governance,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
}

/// A change judged on its own; `None` when it took effect outside the window.
fn judge(cx: Context, actor: &str, key_id: &[u8], record: &AuditRecordView) -> Option<Judged> {
    if (cx.from.is_some() || cx.to.is_some())
        && let Ok(t) = record.activity_date_time.parse::<jiff::Timestamp>()
        && (cx.from.is_some_and(|f| t < f) || cx.to.is_some_and(|x| t >= x))
    {
        return None;
    }
    let agent = cx.governance.agent_of(&record.initiated_by);
    let agent_name = agent.map(|a| a.display_name.clone().unwrap_or_else(|| a.app_id.clone()));
    let took_effect = !record
        .result
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case("failure"));
    let reasons = if took_effect {
        cx.governance.high_stakes(record)
    } else {
        vec![]
    };
    let by = initiator_text(record, agent_name.as_deref());
    let mut makers = Vec::new();
    if !reasons.is_empty() {
        makers.push(actor.to_ascii_lowercase());
        makers.push(hex(key_id));
        if let Some(u) = &record.initiated_by.user {
            makers.extend(
                u.id.iter()
                    .chain(&u.user_principal_name)
                    .map(|x| x.to_ascii_lowercase()),
            );
        }
        if let Some(a) = &record.initiated_by.app {
            makers.extend(
                a.app_id
                    .iter()
                    .chain(&a.display_name)
                    .map(|x| x.to_ascii_lowercase()),
            );
        }
        if let Some(a) = &agent_name {
            makers.push(a.to_ascii_lowercase());
        }
    }
    Some(Judged {
        correlation_id: record
            .correlation_id
            .as_ref()
            .map(|c| c.to_ascii_lowercase()),
        activity_date_time: record.activity_date_time.to_string(),
        activity: record.activity.to_string(),
        by,
        agent_name,
        took_effect,
        why: (!reasons.is_empty()).then(|| reasons.join("; ")),
        makers,
    })
}

/// What a row means for the coverage (pure: runs on any thread; a frame of its own in
/// profiles).
#[inline(never)]
fn fact(cx: Context, row: Row, bytes: &[u8]) -> Fact {
    let (seq, kind, envelope, key_id, payload) = match row {
        Row::Inference(seq) => return Fact::Inference(seq),
        Row::Failed(f) => return Fact::Failed(f),
        Row::Read {
            seq,
            kind,
            envelope,
            key_id,
            payload,
        } => (seq, kind, &bytes[envelope], &bytes[key_id], &bytes[payload]),
    };
    let env = match envelope_facts(envelope) {
        Ok(env) => env,
        Err(err) => {
            return Fact::Failed(CoverageError::Entry {
                seq,
                reason: format!("the envelope cannot be read: {err}"),
            });
        }
    };
    if kind == Kind::Review {
        return match approval_reviewer(payload) {
            Some(reviewer) => Fact::Approval {
                seq,
                key_id: key_id.to_vec(),
                env,
                reviewer,
            },
            None => Fact::Nothing,
        };
    }
    let judged = match change_record(payload) {
        Ok(Some(change)) => change.judge(cx, &env.actor, key_id),
        Ok(None) => return Fact::Nothing,
        Err(()) => {
            return Fact::Failed(CoverageError::Entry {
                seq,
                reason: "a directory change whose payload is not a normalized audit record".into(),
            });
        }
    };
    match judged {
        Some(change) => Fact::Change {
            seq,
            refs: env.refs,
            change: Box::new(change),
        },
        None => Fact::Nothing,
    }
}

/// Computes the coverage in one streaming pass (the ledger must be verified first).
///
/// One thread reads the rows (the `kind` hint picks the payloads to fetch; kinds are then
/// read from the envelopes) and copies those the pass needs into batches; the batches are
/// parsed on every core and folded in seq order, so the result is the sequential pass's.
/// An `action` whose payload lacks the change's `source` member is passed by unread, its
/// envelope included (a verified ledger's envelopes are all valid).
pub fn coverage(
    ledger: &Ledger,
    governance: &Governance,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
    tick: &mut dyn FnMut(u64),
) -> Result<Coverage, CoverageError> {
    coverage_batched(ledger, governance, from, to, tick, BATCH_ROWS)
}

fn coverage_batched(
    ledger: &Ledger,
    governance: &Governance,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
    tick: &mut dyn FnMut(u64),
    batch_rows: usize,
) -> Result<Coverage, CoverageError> {
    let mut entries = 0u64;
    let (folded, read) = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
        // Batches come back emptied, so their memory is reused rather than taken fresh from
        // the system (and zeroed by it) for every batch.
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Batch>();
        let cx = Context {
            governance,
            from,
            to,
        };
        let worker = s.spawn(move || fold_batches(cx, rx, back_tx));
        let source_member = memchr::memmem::Finder::new(SOURCE_MEMBER);
        let mut batch = Batch::default();
        let mut open = true;
        let read = ledger.for_each_view(0, &[Kind::Action, Kind::Review], &mut |e| {
            entries += 1;
            if entries.is_multiple_of(65536) {
                tick(entries);
            }
            let row_kind = kind_of_canonical(e.envelope);
            match row_kind {
                Some(Kind::Inference) => batch.rows.push(Row::Inference(e.seq)),
                Some(kind @ (Kind::Action | Kind::Review)) => {
                    // The payload, read again when the unsigned kind column disagreed with
                    // the envelope.
                    let again;
                    let payload = match e.payload {
                        Some(p) => Some(p),
                        None => match ledger.entry(e.seq) {
                            Ok(x) => {
                                again = x.and_then(|x| x.payload).map(|(_, p)| p);
                                again.as_deref()
                            }
                            Err(err) => {
                                batch.rows.push(Row::Failed(err.into()));
                                return false;
                            }
                        },
                    };
                    let Some(payload) = payload else { return true };
                    // Most actions are sign-in outcomes: a byte check passes them by unread.
                    // Payloads are stored canonical (RFC 8785), so a change's top-level
                    // member reads exactly so.
                    if kind == Kind::Action && source_member.find(payload).is_none() {
                        return true;
                    }
                    let envelope = batch.push_bytes(e.envelope);
                    let key_id = batch.push_bytes(e.key_id);
                    let payload = batch.push_bytes(payload);
                    batch.rows.push(Row::Read {
                        seq: e.seq,
                        kind,
                        envelope,
                        key_id,
                        payload,
                    });
                }
                _ => return true,
            }
            if batch.rows.len() >= batch_rows {
                let next = back_rx.try_recv().unwrap_or_else(|_| Batch {
                    bytes: Vec::with_capacity(batch.bytes.len()),
                    rows: Vec::with_capacity(batch_rows),
                });
                open = tx.send(std::mem::replace(&mut batch, next)).is_ok();
            }
            open
        });
        if open && !batch.rows.is_empty() {
            let _ = tx.send(batch);
        }
        drop(tx);
        let folded = worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (folded, read)
    });
    // A failure the fold met comes before any the reading met (reading stops at its first).
    let fold = folded?;
    read?;
    tick(entries);
    let mut out = fold.finish();
    out.entries = entries;
    Ok(out)
}

/// Parses each batch on every core and folds its facts in seq order (a frame of its own in
/// profiles).
#[inline(never)]
fn fold_batches(
    cx: Context,
    batches: Receiver<Batch>,
    back: Sender<Batch>,
) -> Result<Fold, CoverageError> {
    let mut fold = Fold::default();
    let mut facts: Vec<Fact> = Vec::new();
    for mut batch in batches {
        let bytes = &batch.bytes;
        batch
            .rows
            .par_drain(..)
            .with_min_len(256)
            .map(|r| fact(cx, r, bytes))
            .collect_into_vec(&mut facts);
        for f in facts.drain(..) {
            fold.apply(f)?;
        }
        batch.bytes.clear();
        // The reading side may have finished: then the batch is dropped here.
        let _ = back.send(batch);
    }
    Ok(fold)
}

/// The in-order part of the pass: links changes to inferences and approvals.
#[derive(Default)]
struct Fold {
    out: Coverage,
    inferences: Vec<u64>,
    approvals: HashMap<u64, Approval>,
    /// Changes without an approval before them, by seq, and the approvals that came after.
    pending: HashMap<u64, Pending>,
    late: HashMap<u64, u64>,
    /// Pending changes by the inference they ref and by their correlation id: an approval of
    /// that inference, or about that operation, recorded after the change is late too.
    pending_by_ref: HashMap<u64, Vec<u64>>,
    pending_by_correlation: HashMap<String, Vec<u64>>,
}

impl Fold {
    fn apply(&mut self, fact: Fact) -> Result<(), CoverageError> {
        match fact {
            Fact::Nothing => {}
            Fact::Failed(f) => return Err(f),
            Fact::Inference(seq) => set_bit(&mut self.inferences, seq),
            Fact::Approval {
                seq,
                key_id,
                env,
                reviewer,
            } => self.approval(seq, key_id, env, reviewer),
            Fact::Change { seq, refs, change } => self.change(seq, &refs, *change),
        }
        Ok(())
    }

    fn approval(
        &mut self,
        seq: u64,
        key_id: Vec<u8>,
        env: EnvelopeFacts,
        reviewer: Option<String>,
    ) {
        let corr = env.correlation_id.as_ref().map(|c| c.to_ascii_lowercase());
        let changes = env
            .refs
            .iter()
            .flat_map(|r| {
                std::iter::once(*r).chain(self.pending_by_ref.get(r).into_iter().flatten().copied())
            })
            .chain(corr.iter().flat_map(|c| {
                self.pending_by_correlation
                    .get(c)
                    .into_iter()
                    .flatten()
                    .copied()
            }));
        for change in changes {
            if self.pending.contains_key(&change) {
                self.late.entry(change).or_insert(seq);
            }
        }
        self.approvals.insert(
            seq,
            Approval {
                actor: env.actor,
                key_id,
                reviewer,
            },
        );
    }

    fn change(&mut self, seq: u64, refs: &[u64], c: Judged) {
        let out = &mut self.out;
        out.changes += 1;
        let gap = |gap, detail| Gap {
            seq,
            activity_date_time: c.activity_date_time.clone(),
            activity: c.activity.clone(),
            initiated_by: c.by.clone(),
            gap,
            detail,
        };
        let before = out.gaps.len();
        if c.agent_name.is_some() {
            out.ai_changes += 1;
            if c.took_effect && !refs.iter().any(|r| has_bit(&self.inferences, *r)) {
                out.gaps.push(gap(
                    "no-inference",
                    "made by an AI agent; refs no inference (no inference with its correlation id was on the ledger when it was recorded)".into(),
                ));
            }
        }
        if let Some(why) = &c.why {
            out.high_stakes_changes += 1;
            let prior = refs
                .iter()
                .filter_map(|r| self.approvals.get(r).map(|a| (*r, a)))
                .max_by_key(|(s, _)| *s);
            match prior {
                Some((s, a)) if same_identity(&c.makers, a) => out.gaps.push(gap(
                    "same-actor",
                    format!(
                        "{why}; approval #{s} by {} is the identity that made the change",
                        a.reviewer.clone().unwrap_or_else(|| a.actor.clone())
                    ),
                )),
                Some(_) => {}
                None => {
                    for r in refs.iter().filter(|r| has_bit(&self.inferences, **r)) {
                        self.pending_by_ref.entry(*r).or_default().push(seq);
                    }
                    if let Some(corr) = &c.correlation_id {
                        self.pending_by_correlation
                            .entry(corr.clone())
                            .or_default()
                            .push(seq);
                    }
                    out.gaps.push(gap(
                        "not-approved",
                        format!("{why}; no approval before it took effect"),
                    ));
                    self.pending.insert(
                        seq,
                        Pending {
                            gap: out.gaps.len() - 1,
                            makers: c.makers.clone(),
                        },
                    );
                }
            }
        }
        // A late approval found after the pass changes the kind of a gap, not whether there
        // is one, so the tallies are final here.
        let has_gap = out.gaps.len() > before;
        tally(
            out,
            &c.activity,
            c.agent_name.as_deref(),
            c.why.is_some(),
            has_gap,
        );
    }

    /// The coverage, with the gaps of changes approved only after they took effect.
    fn finish(self) -> Coverage {
        let mut out = self.out;
        for (seq, p) in &self.pending {
            if let Some(review) = self.late.get(seq) {
                let gap = &mut out.gaps[p.gap];
                let same = self
                    .approvals
                    .get(review)
                    .is_some_and(|a| same_identity(&p.makers, a));
                gap.gap = if same { "same-actor" } else { "approved-after" };
                gap.detail = gap.detail.replace(
                    "no approval before it took effect",
                    &format!(
                        "approved only after it took effect (review #{review}{})",
                        if same {
                            ", by the identity that made it"
                        } else {
                            ""
                        }
                    ),
                );
            }
        }
        out
    }
}

fn tally(out: &mut Coverage, activity: &str, agent: Option<&str>, high: bool, has_gap: bool) {
    let add = |t: &mut Tally| {
        t.changes += 1;
        t.by_ai_agent += u64::from(agent.is_some());
        t.high_stakes += u64::from(high);
        t.with_gaps += u64::from(has_gap);
    };
    match out.by_activity.get_mut(activity) {
        Some(t) => add(t),
        None => add(out.by_activity.entry(activity.to_string()).or_default()),
    }
    if let Some(a) = agent {
        add(out.by_agent.entry(a.to_string()).or_default());
    }
}

fn initiator_text(r: &AuditRecordView, agent: Option<&str>) -> String {
    if let Some(a) = agent {
        return format!("agent {a}");
    }
    if let Some(u) = &r.initiated_by.user
        && let Some(who) = u.user_principal_name.as_ref().or(u.id.as_ref())
    {
        return who.to_string();
    }
    if let Some(a) = &r.initiated_by.app
        && let Some(who) = a.display_name.as_ref().or(a.app_id.as_ref())
    {
        return format!("app {who}");
    }
    "unknown".into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;
    use std::path::Path;

    use serde_json::json;
    use vigil_ledger::note::{ALG_ED25519, SignerKey};
    use vigil_ledger::{Appended, NewEntry, Ref};

    use super::*;

    /// An approving review read as a JSON value (the general path).
    fn by_value(payload: &[u8]) -> Option<Option<String>> {
        let p = serde_json::from_slice::<Value>(payload).ok()?;
        (p.get("verdict").and_then(Value::as_str) == Some("approved")).then(|| {
            p.get("reviewer")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    }

    fn full_record() -> Value {
        json!({
            "id": "Directory_1", "activityDateTime": "2026-01-02T03:04:05.678Z",
            "activity": "Add member to \"group\" \u{e9}", "category": "GroupManagement",
            "result": "success", "resultReason": "ok", "operationType": "Assign",
            "loggedByService": "Core Directory", "correlationId": "C-1", "tenantId": "t",
            "initiatedBy": {"user": {"id": "u", "userPrincipalName": "a@b", "displayName": "A",
                "ipAddress": "10.0.0.1"}, "app": {"appId": "app", "displayName": "Agent",
                "servicePrincipalId": "sp", "servicePrincipalName": "spn"}},
            "targetResources": [{"id": "g", "displayName": "G", "type": "Group",
                "userPrincipalName": "x", "groupType": "unified", "modifiedProperties":
                [{"displayName": "Group.ObjectID", "oldValue": null, "newValue": "\"g\""}]}],
            "additionalDetails": [{"key": "k", "value": "v"}],
            "sourceVariant": "ndjson",
        })
    }

    fn stored(mut v: Value, source: Value) -> Vec<u8> {
        v["source"] = source;
        v["status"] = json!("applied");
        serde_json::to_vec(&v).unwrap()
    }

    /// A change as the pass judges it, through whichever reading gave it.
    fn judged_as(read: Result<Option<ChangeRead<'_>>, ()>) -> Result<Option<Option<Judged>>, ()> {
        let governance = Governance::from_text(
            "[[agents]]\nappId = \"APP\"\n\n[highStakes]\ngroups = [\"g\"]\nattributes = [\"Group.ObjectID\"]\n",
            Path::new("g.toml"),
        )
        .unwrap();
        let cx = Context {
            governance: &governance,
            from: None,
            to: None,
        };
        Ok(read?.map(|r| r.judge(cx, "Ingest", b"k")))
    }

    #[test]
    fn one_parse_of_a_change_reads_as_the_two_step_parse() {
        let mut missing_id = full_record();
        missing_id.as_object_mut().unwrap().remove("id");
        let mut bad_type = full_record();
        bad_type["targetResources"] = json!("none");
        let mut sparse = json!({"id": "x", "activityDateTime": "t", "activity": "a"});
        sparse["category"] = Value::Null;
        // Members the view only checks, each of a type the record refuses.
        let unread_members_of_a_wrong_type = [
            ("/id", json!(5)),
            ("/resultReason", json!(5)),
            ("/operationType", json!([])),
            ("/loggedByService", json!({})),
            ("/tenantId", json!(true)),
            ("/sourceVariant", Value::Null),
            ("/additionalDetails/0/key", json!(1)),
            ("/additionalDetails/0/value", Value::Null),
            ("/additionalDetails", json!({})),
            ("/initiatedBy/user/displayName", json!(1)),
            ("/initiatedBy/user/ipAddress", json!([])),
            ("/initiatedBy/app/servicePrincipalId", json!(1)),
            ("/initiatedBy/app/servicePrincipalName", json!({})),
            ("/targetResources/0/userPrincipalName", json!(1)),
            ("/targetResources/0/groupType", json!(false)),
            (
                "/targetResources/0/modifiedProperties/0/displayName",
                Value::Null,
            ),
            ("/targetResources/0/modifiedProperties/0/oldValue", json!(2)),
        ];
        let mut cases: Vec<Vec<u8>> = vec![
            stored(full_record(), json!(SOURCE)),
            stored(sparse.clone(), json!(SOURCE)),
            stored(full_record(), json!("sign-in")),
            stored(full_record(), Value::Null),
            stored(missing_id.clone(), json!(SOURCE)),
            stored(missing_id, json!("sign-in")),
            stored(bad_type, json!(SOURCE)),
            stored(sparse, json!(5)),
            serde_json::to_vec(&json!({"outcome": {"source": SOURCE}})).unwrap(),
            serde_json::to_vec(&json!([SOURCE, "x", "t", "a"])).unwrap(),
            b"{\"source\":\"directory-audit\",\"source\":\"other\"}".to_vec(),
            b"not json".to_vec(),
            b"{\"id\":\"\xff\",\"source\":\"directory-audit\"}".to_vec(),
            b"{\"id\":\"\xff\",\"source\":\"sign-in\"}".to_vec(),
        ];
        for (at, v) in &unread_members_of_a_wrong_type {
            let mut r = full_record();
            *r.pointer_mut(at).unwrap() = v.clone();
            cases.push(stored(r, json!(SOURCE)));
        }
        let mut changes = 0;
        for c in &cases {
            let fast = judged_as(change_record(c));
            let general = judged_as(change_record_general(c).map(|r| r.map(ChangeRead::Owned)));
            assert_eq!(fast, general, "{}", String::from_utf8_lossy(c));
            changes += usize::from(matches!(fast, Ok(Some(_))));
        }
        // The cases hold changes, other actions and broken changes: every member of a wrong
        // type makes the change unreadable, as it makes the record.
        assert_eq!(changes, 2);
        let broken = cases.iter().filter(|c| change_record(c).is_err()).count();
        assert_eq!(broken, 3 + unread_members_of_a_wrong_type.len());
        // The usual payload is read as a view, and judged as its record is.
        let first = change_record(&cases[0]).unwrap().unwrap();
        assert!(matches!(first, ChangeRead::View(_)));
        let record = serde_json::from_value::<AuditRecord>(full_record()).unwrap();
        let judged = judged_as(Ok(Some(ChangeRead::Owned(record))))
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(judged.activity, "Add member to \"group\" \u{e9}");
        assert_eq!(judged.by, "agent APP");
        assert_eq!(judged.why.as_deref(), Some("attribute Group.ObjectID"));
        assert_eq!(
            judged.makers,
            ["ingest", "6b", "u", "a@b", "app", "agent", "app"]
        );
        assert_eq!(
            judged_as(Ok(Some(first))).unwrap().unwrap().unwrap(),
            judged
        );
    }

    #[test]
    fn short_review_reading_matches_the_value_reading() {
        let cases = [
            r#"{"reason":"ok","reviewed":"inference","reviewer":"Ann@Contoso","verdict":"approved"}"#,
            r#"{"verdict":"approved"}"#,
            r#"{"reviewer":null,"verdict":"approved"}"#,
            r#"{"reviewer":5,"verdict":"approved"}"#,
            r#"{"reviewer":"x","verdict":"rejected"}"#,
            r#"{"verdict":"appr\u006fved","reviewer":"b\"c"}"#,
            r#"{"verdict":5}"#,
            r#"{"verdict":"approved","verdict":"rejected"}"#,
            r#"["approved","x"]"#,
            r#"{"verdict":"approved","reviewer":"x""#,
        ];
        for c in cases {
            assert_eq!(
                approval_reviewer(c.as_bytes()),
                by_value(c.as_bytes()),
                "{c}"
            );
        }
        let not_utf8 = b"{\"reviewer\":\"\xff\",\"verdict\":\"approved\"}";
        assert_eq!(approval_reviewer(not_utf8), by_value(not_utf8));
        assert_eq!(
            approval_reviewer(cases[0].as_bytes()),
            Some(Some("Ann@Contoso".into()))
        );
    }

    #[test]
    fn envelope_facts_match_the_full_envelope() {
        let env = Envelope {
            v: 1,
            seq: 7,
            ts: "2026-01-02T03:04:05.000000Z".into(),
            kind: Kind::Review,
            actor: "analyst".into(),
            subject: BTreeMap::from([
                ("correlationId".to_string(), "AbC-1".to_string()),
                ("tenantId".to_string(), "t".to_string()),
            ]),
            refs: vec![
                Ref {
                    seq: 3,
                    hash: [1; 32],
                },
                Ref {
                    seq: 5,
                    hash: [2; 32],
                },
            ],
            payload_commitment: [3; 32],
            prev: [4; 32],
        };
        let bytes = env.canonical_bytes();
        let f = envelope_facts(&bytes).unwrap();
        assert_eq!(f.actor, env.actor);
        assert_eq!(f.refs, vec![3, 5]);
        assert_eq!(f.correlation_id.as_deref(), Some("AbC-1"));
        let none = Envelope {
            subject: BTreeMap::new(),
            refs: vec![],
            ..env
        };
        let f = envelope_facts(&none.canonical_bytes()).unwrap();
        assert!(f.refs.is_empty() && f.correlation_id.is_none());
        // What the short reading cannot read gets the full reading's error.
        let bad = b"{\"actor\":5}";
        assert_eq!(
            envelope_facts(bad).err().map(|e| e.to_string()),
            Envelope::parse_lenient(bad).err().map(|e| e.to_string())
        );
    }

    const AGENT: &str = "c0000000-0000-4000-8000-0000000000a1";
    const FINANCE: &str = "90000000-0000-4000-8000-000000000001";

    fn change(i: u32, corr: &str, group: bool, agent: bool) -> Value {
        let mut r = json!({
            "id": format!("Directory_{i}"), "activityDateTime": format!("2026-01-0{}T00:00:00.000Z", 1 + i % 9),
            "activity": if group { "Add member to group" } else { "Update user" },
            "correlationId": corr, "result": "success",
            "initiatedBy": if agent { json!({"app": {"appId": AGENT, "displayName": "Agent"}}) }
                else { json!({"user": {"id": "u1", "userPrincipalName": "analyst@contoso"}}) },
            "targetResources": [{"id": FINANCE, "type": "Group", "displayName": "Finance"}],
            "sourceVariant": "ndjson",
        });
        if !group {
            r["targetResources"] = json!([]);
        }
        r["source"] = json!(SOURCE);
        r["status"] = json!("applied");
        r
    }

    /// A ledger with every kind of gap, and rows the pass passes by.
    fn story(dir: &Path) -> Ledger {
        let lk = SignerKey::generate("test.vigil.example/ledger", ALG_ED25519).unwrap();
        let ingest = SignerKey::generate("ingest", ALG_ED25519).unwrap();
        let engine = SignerKey::generate("engine", ALG_ED25519).unwrap();
        let analyst = SignerKey::generate("analyst", ALG_ED25519).unwrap();
        let mut l = Ledger::create(&dir.join("c.db"), &lk).unwrap();
        l.add_key(&lk, &ingest.verifier(), vec![Kind::Signal, Kind::Action])
            .unwrap();
        l.add_key(&lk, &engine.verifier(), vec![Kind::Inference])
            .unwrap();
        l.add_key(&lk, &analyst.verifier(), vec![Kind::Review])
            .unwrap();
        let r = |a: &Appended| Ref {
            seq: a.seq,
            hash: a.hash,
        };
        let entry = |kind, corr: &str, refs: Vec<Ref>, payload| NewEntry {
            kind,
            subject: BTreeMap::from([("correlationId".to_string(), corr.to_string())]),
            refs,
            payload,
        };
        for round in 0..3u32 {
            let c = |k: u32| format!("corr-{round}-{k}");
            l.append(
                &ingest,
                vec![entry(Kind::Signal, "s", vec![], json!({"signIn": round}))],
            )
            .unwrap();
            let inf = l
                .append(
                    &engine,
                    (0..4)
                        .map(|k| entry(Kind::Inference, &c(k), vec![], json!({"model": "m"})))
                        .collect(),
                )
                .unwrap();
            let approved = l
                .append(
                    &analyst,
                    vec![entry(
                        Kind::Review,
                        &c(0),
                        vec![r(&inf[0])],
                        json!({"verdict": "approved", "reviewer": "lead@contoso"}),
                    )],
                )
                .unwrap();
            l.append(
                &ingest,
                vec![
                    // Approved before: no gap.
                    entry(
                        Kind::Action,
                        &c(0),
                        vec![r(&inf[0]), r(&approved[0])],
                        change(round * 10, &c(0), true, true),
                    ),
                    // High-stakes, never approved; then approved after the fact (round 1).
                    entry(
                        Kind::Action,
                        &c(1),
                        vec![r(&inf[1])],
                        change(round * 10 + 1, &c(1), true, true),
                    ),
                    // By the agent, no inference.
                    entry(
                        Kind::Action,
                        &c(2),
                        vec![],
                        change(round * 10 + 2, &c(2), false, true),
                    ),
                    // A sign-in outcome, not a change.
                    entry(Kind::Action, "s", vec![], json!({"outcome": "blocked"})),
                    // By a user: no inference needed.
                    entry(
                        Kind::Action,
                        &c(3),
                        vec![],
                        change(round * 10 + 3, &c(3), false, false),
                    ),
                ],
            )
            .unwrap();
            if round == 1 {
                l.append(
                    &analyst,
                    vec![entry(
                        Kind::Review,
                        &c(1),
                        vec![r(&inf[1])],
                        json!({"verdict": "approved", "reviewer": "lead@contoso"}),
                    )],
                )
                .unwrap();
            }
        }
        l
    }

    #[test]
    fn batching_does_not_change_the_coverage() {
        let dir = tempfile::tempdir().unwrap();
        let l = story(dir.path());
        let g = Governance::from_text(
            &format!("[[agents]]\nappId = \"{AGENT}\"\n\n[highStakes]\ngroups = [\"{FINANCE}\"]\n"),
            Path::new("governance.toml"),
        )
        .unwrap();
        let run = |rows| {
            let c = coverage_batched(&l, &g, None, None, &mut |_| {}, rows).unwrap();
            serde_json::to_value(&c).unwrap()
        };
        let one = run(1);
        for rows in [2, 3, 7, BATCH_ROWS] {
            assert_eq!(run(rows), one, "batches of {rows} rows");
        }
        let kinds: Vec<&str> = one["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["gap"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "not-approved",
                "no-inference",
                "approved-after",
                "no-inference",
                "not-approved",
                "no-inference"
            ]
        );
        assert_eq!(one["changes"], 12);
        assert_eq!(one["entries"], l.size().unwrap());
    }
}
