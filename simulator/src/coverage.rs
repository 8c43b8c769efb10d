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

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;
use vigil_ledger::entry::kind_of_canonical;
use vigil_ledger::{Envelope, Kind, Ledger, LedgerError};

use crate::audit::AuditRecord;
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether a review payload is an approval.
pub fn is_approval(payload: &[u8]) -> bool {
    approval_reviewer(payload).is_some()
}

/// For an approving review's payload, `Some(reviewer)` (the reviewer member, when it is a
/// string); `None` for any other payload. One parse for both answers.
fn approval_reviewer(payload: &[u8]) -> Option<Option<String>> {
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

/// Computes the coverage in one streaming pass (the ledger must be verified first).
pub fn coverage(
    ledger: &Ledger,
    governance: &Governance,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
    tick: &mut dyn FnMut(u64),
) -> Result<Coverage, CoverageError> {
    let mut out = Coverage::default();
    let mut inferences: Vec<u64> = Vec::new();
    let mut approvals: HashMap<u64, Approval> = HashMap::new();
    // Changes without an approval before them, by seq, and the approvals that came after.
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    let mut late: HashMap<u64, u64> = HashMap::new();
    // Pending changes by the inference they ref and by their correlation id: an approval of
    // that inference, or about that operation, recorded after the change is late too.
    let mut pending_by_ref: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut pending_by_correlation: HashMap<String, Vec<u64>> = HashMap::new();
    let mut failure: Option<CoverageError> = None;
    ledger.for_each_view(0, &[Kind::Action, Kind::Review], &mut |e| {
        out.entries += 1;
        if out.entries % 65536 == 0 {
            tick(out.entries);
        }
        let kind = kind_of_canonical(e.envelope);
        if kind == Some(Kind::Inference) {
            set_bit(&mut inferences, e.seq);
            return true;
        }
        if !matches!(kind, Some(Kind::Action | Kind::Review)) {
            return true;
        }
        let env = match Envelope::parse_lenient(e.envelope) {
            Ok(env) => env,
            Err(err) => {
                failure = Some(CoverageError::Entry {
                    seq: e.seq,
                    reason: format!("the envelope cannot be read: {err}"),
                });
                return false;
            }
        };
        // The payload, read again when the unsigned kind column disagreed with the envelope.
        let payload: Option<std::borrow::Cow<[u8]>> = match e.payload {
            Some(p) => Some(p.into()),
            None => match ledger.entry(e.seq) {
                Ok(again) => again.and_then(|x| x.payload).map(|(_, p)| p.into()),
                Err(err) => {
                    failure = Some(err.into());
                    return false;
                }
            },
        };
        let Some(payload) = payload else { return true };
        if env.kind == Kind::Review {
            let Some(reviewer) = approval_reviewer(&payload) else {
                return true;
            };
            let corr = env
                .subject
                .get("correlationId")
                .map(|c| c.to_ascii_lowercase());
            let changes = env
                .refs
                .iter()
                .flat_map(|r| {
                    std::iter::once(r.seq).chain(pending_by_ref.get(&r.seq).into_iter().flatten().copied())
                })
                .chain(corr.iter().flat_map(|c| pending_by_correlation.get(c).into_iter().flatten().copied()));
            for change in changes {
                if pending.contains_key(&change) {
                    late.entry(change).or_insert(e.seq);
                }
            }
            approvals.insert(
                e.seq,
                Approval {
                    actor: env.actor.clone(),
                    key_id: e.key_id.to_vec(),
                    reviewer,
                },
            );
            return true;
        }
        // Most actions are sign-in outcomes: a byte check passes them by unparsed. Payloads
        // are stored canonical (RFC 8785), so a change's top-level member reads exactly so.
        if !contains(&payload, SOURCE_MEMBER) {
            return true;
        }
        let Ok(change) = serde_json::from_slice::<ChangePayload>(&payload) else {
            return true;
        };
        if change.source.as_deref() != Some(SOURCE) {
            return true;
        }
        let Ok(record) = serde_json::from_slice::<AuditRecord>(&payload) else {
            failure = Some(CoverageError::Entry {
                seq: e.seq,
                reason: "a directory change whose payload is not a normalized audit record".into(),
            });
            return false;
        };
        if let Ok(t) = record.activity_date_time.parse::<jiff::Timestamp>()
            && (from.is_some_and(|f| t < f) || to.is_some_and(|x| t >= x))
        {
            return true;
        }
        out.changes += 1;
        let agent = governance.agent_of(&record.initiated_by);
        let agent_name = agent.map(|a| a.display_name.clone().unwrap_or_else(|| a.app_id.clone()));
        let took_effect = !record
            .result
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("failure"));
        let reasons = if took_effect {
            governance.high_stakes(&record)
        } else {
            vec![]
        };
        let by = initiator_text(&record, agent_name.as_deref());
        let before = out.gaps.len();
        if agent.is_some() {
            out.ai_changes += 1;
            if took_effect && !env.refs.iter().any(|r| has_bit(&inferences, r.seq)) {
                out.gaps.push(Gap {
                    seq: e.seq,
                    activity_date_time: record.activity_date_time.clone(),
                    activity: record.activity.clone(),
                    initiated_by: by.clone(),
                    gap: "no-inference",
                    detail: "made by an AI agent; refs no inference (no inference with its correlation id was on the ledger when it was recorded)".into(),
                });
            }
        }
        if !reasons.is_empty() {
            out.high_stakes_changes += 1;
            let mut makers = vec![env.actor.to_ascii_lowercase(), hex(e.key_id)];
            if let Some(u) = &record.initiated_by.user {
                makers.extend(u.id.iter().chain(&u.user_principal_name).map(|x| x.to_ascii_lowercase()));
            }
            if let Some(a) = &record.initiated_by.app {
                makers.extend(a.app_id.iter().chain(&a.display_name).map(|x| x.to_ascii_lowercase()));
            }
            if let Some(a) = &agent_name {
                makers.push(a.to_ascii_lowercase());
            }
            let why = reasons.join("; ");
            let prior = env
                .refs
                .iter()
                .filter_map(|r| approvals.get(&r.seq).map(|a| (r.seq, a)))
                .max_by_key(|(s, _)| *s);
            match prior {
                Some((s, a)) if same_identity(&makers, a) => out.gaps.push(Gap {
                    seq: e.seq,
                    activity_date_time: record.activity_date_time.clone(),
                    activity: record.activity.clone(),
                    initiated_by: by.clone(),
                    gap: "same-actor",
                    detail: format!("{why}; approval #{s} by {} is the identity that made the change", a.reviewer.clone().unwrap_or_else(|| a.actor.clone())),
                }),
                Some(_) => {}
                None => {
                    for r in env.refs.iter().filter(|r| has_bit(&inferences, r.seq)) {
                        pending_by_ref.entry(r.seq).or_default().push(e.seq);
                    }
                    if let Some(c) = &record.correlation_id {
                        pending_by_correlation
                            .entry(c.to_ascii_lowercase())
                            .or_default()
                            .push(e.seq);
                    }
                    pending.insert(
                        e.seq,
                        Pending {
                            gap: out.gaps.len(),
                            makers,
                        },
                    );
                    out.gaps.push(Gap {
                        seq: e.seq,
                        activity_date_time: record.activity_date_time.clone(),
                        activity: record.activity.clone(),
                        initiated_by: by.clone(),
                        gap: "not-approved",
                        detail: format!("{why}; no approval before it took effect"),
                    });
                }
            }
        }
        // A late approval found after the pass changes the kind of a gap, not whether there
        // is one, so the tallies are final here.
        let has_gap = out.gaps.len() > before;
        tally(
            &mut out,
            &record.activity,
            agent_name.as_deref(),
            !reasons.is_empty(),
            has_gap,
        );
        true
    })?;
    if let Some(f) = failure {
        return Err(f);
    }
    tick(out.entries);
    for (seq, p) in &pending {
        if let Some(review) = late.get(seq) {
            let gap = &mut out.gaps[p.gap];
            let same = approvals
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
    Ok(out)
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

fn initiator_text(r: &AuditRecord, agent: Option<&str>) -> String {
    if let Some(a) = agent {
        return format!("agent {a}");
    }
    if let Some(u) = &r.initiated_by.user
        && let Some(who) = u.user_principal_name.as_ref().or(u.id.as_ref())
    {
        return who.clone();
    }
    if let Some(a) = &r.initiated_by.app
        && let Some(who) = a.display_name.as_ref().or(a.app_id.as_ref())
    {
        return format!("app {who}");
    }
    "unknown".into()
}
