//! `vigil ledger record --audits`: directory changes from Entra audit exports onto the ledger,
//! each once, linked to the AI inference that caused it and the approval that preceded it.
//!
//! Every audit record becomes an `action` entry (payload: the normalized record, `source`
//! `directory-audit`, `status` `applied`) with subject `auditId`, `correlationId`,
//! `tenantId` and `userId` (the first user among its targets). Its refs:
//! - the `inference` named by `--ref`, else the latest inference whose subject has the same
//!   `correlationId`;
//! - the latest `review` with verdict `approved`, recorded before the change, that refs that
//!   inference or whose subject has the change's `correlationId`.
//!
//! A change is never linked by user alone. An approval recorded after the change refs the
//! change itself (`vigil review --ref <change seq> --verdict approved`); `vigil ledger
//! coverage` reports it as given after the fact.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
#[cfg(test)]
use serde_json::{Value, json};
use vigil_ledger::entry::kind_of_canonical;
use vigil_ledger::index::AUDIT_MEMBER;
use vigil_ledger::{
    CanonicalGroup, CanonicalPayload, Envelope, Kind, Ledger, NewCanonicalEntry, PreparedGroup,
    Ref, SignerKey, prepare_canonical_groups,
};
use vigil_simulator::audit::{self, AuditRecord};
use vigil_simulator::signin::ReadOptions;

use crate::output::info;

pub use vigil_simulator::coverage::SOURCE;
use vigil_simulator::coverage::is_approval;

/// What recording audit exports added and skipped.
#[derive(Default, Debug, Clone, Copy)]
pub struct AuditCounts {
    /// Changes recorded.
    pub changes: u64,
    /// Changes already on the ledger.
    pub skipped: u64,
    /// Changes linked to an inference.
    pub with_inference: u64,
    /// Changes linked to an approval given before them.
    pub with_approval: u64,
}

/// Where the inferences and approvals a change may link to are on the ledger.
#[derive(Default)]
struct Links {
    /// Latest inference per correlation id (lowercased).
    inference_by_correlation: HashMap<String, Ref>,
    /// Latest approval per entry it refs.
    approval_by_ref: HashMap<u64, Ref>,
    /// Latest approval per correlation id of its subject.
    approval_by_correlation: HashMap<String, Ref>,
}

fn as_ref(seq: u64, hash: &[u8]) -> Option<Ref> {
    Some(Ref {
        seq,
        hash: hash.try_into().ok()?,
    })
}

impl Links {
    /// One streaming pass over the ledger: inferences and approving reviews.
    fn load(ledger: &Ledger) -> Result<Links> {
        let mut links = Links::default();
        let mut late_payloads = Vec::new();
        ledger.for_each_entry(0, Some(&[Kind::Review]), &mut |e| {
            let kind = kind_of_canonical(&e.envelope);
            if !matches!(kind, Some(Kind::Inference | Kind::Review)) {
                return true;
            }
            let Ok(env) = Envelope::parse_lenient(&e.envelope) else {
                return true;
            };
            let Some(me) = as_ref(e.seq, &e.hash) else {
                return true;
            };
            let corr = env
                .subject
                .get("correlationId")
                .map(|c| c.to_ascii_lowercase());
            if env.kind == Kind::Inference {
                if let Some(c) = corr {
                    links.inference_by_correlation.insert(c, me);
                }
                return true;
            }
            match &e.payload {
                Some((_, p)) => links.add_review(&env, p, me),
                // The kind column said otherwise (or the payload was erased): read it again.
                None => late_payloads.push((env, me)),
            }
            true
        })?;
        for (env, me) in late_payloads {
            if let Some(e) = ledger.entry(me.seq)?
                && let Some((_, p)) = &e.payload
            {
                links.add_review(&env, p, me);
            }
        }
        Ok(links)
    }

    fn add_review(&mut self, env: &Envelope, payload: &[u8], me: Ref) {
        if !is_approval(payload) {
            return;
        }
        for r in &env.refs {
            self.approval_by_ref.insert(r.seq, me);
        }
        if let Some(c) = env.subject.get("correlationId") {
            self.approval_by_correlation
                .insert(c.to_ascii_lowercase(), me);
        }
    }

    /// What a change links to: its inference and the approval that preceded it.
    fn links_for(&self, r: &AuditRecord, named: Option<Ref>) -> (Option<Ref>, Option<Ref>) {
        // Lowercased (a copy) only when some inference or approval is keyed by correlation.
        let by_correlation =
            !(self.inference_by_correlation.is_empty() && self.approval_by_correlation.is_empty());
        let corr = r
            .correlation_id
            .as_deref()
            .filter(|_| by_correlation)
            .map(str::to_ascii_lowercase);
        let inference = named.or_else(|| {
            corr.as_ref()
                .and_then(|c| self.inference_by_correlation.get(c).copied())
        });
        let approval = [
            inference.and_then(|i| self.approval_by_ref.get(&i.seq).copied()),
            corr.as_ref()
                .and_then(|c| self.approval_by_correlation.get(c).copied()),
        ]
        .into_iter()
        .flatten()
        .max_by_key(|a| a.seq);
        (inference, approval)
    }
}

/// Reads the inference named by `--ref`.
fn named_inference(ledger: &Ledger, seq: u64) -> Result<Ref> {
    let size = ledger.size()?;
    let e = ledger
        .entry(seq)?
        .ok_or_else(|| anyhow!("--ref {seq}: no such entry (the ledger has {size} entries)"))?;
    let env = Envelope::parse_lenient(&e.envelope)
        .map_err(|err| anyhow!("--ref {seq}: the stored entry cannot be read: {err}"))?;
    if env.kind != Kind::Inference {
        bail!(
            "--ref {seq}: entry {seq} is of kind `{}`; a change refs the inference that caused it",
            env.kind
        );
    }
    as_ref(seq, &e.hash).ok_or_else(|| anyhow!("--ref {seq}: the stored hash is not 32 bytes"))
}

/// The subject of a change: its opaque identifiers only.
fn subject_of(r: &AuditRecord, record: u64) -> Result<BTreeMap<String, String>> {
    let user = r
        .target_resources
        .iter()
        .find(|t| t.is_user())
        .and_then(|t| t.id.as_ref());
    let mut out = BTreeMap::new();
    for (member, value) in [
        (AUDIT_MEMBER, Some(&r.id)),
        ("correlationId", r.correlation_id.as_ref()),
        ("tenantId", r.tenant_id.as_ref()),
        ("userId", user),
    ] {
        let Some(v) = value else { continue };
        vigil_ledger::entry::validate_subject_value(member, v).map_err(|e| {
            anyhow!(
                "audit record {} (record {record} of --audits): field {member}: {e}",
                r.id
            )
        })?;
        out.insert(member.to_string(), v.clone());
    }
    Ok(out)
}

/// The `action` payload of a change as a JSON tree (the general path of
/// [`canonical_payload_of`]).
#[cfg(test)]
fn payload_of(r: &AuditRecord) -> Result<Value> {
    let mut p = serde_json::to_value(r)?;
    if let Value::Object(m) = &mut p {
        m.insert("source".into(), json!(SOURCE));
        m.insert("status".into(), json!("applied"));
    }
    Ok(p)
}

/// [`payload_of`] in canonical form, written straight from the record (no JSON tree).
fn canonical_payload_of(r: &AuditRecord) -> Result<CanonicalPayload> {
    CanonicalPayload::object_of(r, false, &[("source", SOURCE), ("status", "applied")])
        .map_err(|e| anyhow!(e))
}

/// Records every audit record of `paths`, a batch per durable transaction.
pub fn record(
    ledger: &mut Ledger,
    paths: &[PathBuf],
    opts: &ReadOptions,
    key: &SignerKey,
    named: Option<u64>,
    batch: usize,
) -> Result<AuditCounts> {
    let named = named.map(|s| named_inference(ledger, s)).transpose()?;
    let links = Links::load(ledger)?;

    let paths = paths.to_vec();
    let opts = opts.clone();
    let mut counts = AuditCounts::default();
    let links = &links;
    let run = super::record::in_batches(
        batch,
        "recording directory changes",
        move |sink: &mut dyn FnMut(AuditRecord)| {
            audit::read_audits(&paths, &opts, &mut |_, _| {}, sink)
        },
        // Payloads, subjects and links are built and prepared (canonical JSON, salts,
        // commitments) on every core while the batches before are signed and stored.
        |chunk: &[AuditRecord], first| prepare_batch(chunk, first, key, named, links),
        &mut |take| record_stream(ledger, take, &mut counts),
    );
    let done = summary(&counts);
    let stats = run.finish(&done)?;
    for w in &stats.warnings {
        info(format!("warning: {w}"));
    }
    if stats.duplicates > 0 || stats.skipped > 0 {
        info(format!(
            "{} duplicate audit records dropped, {} bad records skipped",
            stats.duplicates, stats.skipped
        ));
    }
    info(done);
    Ok(counts)
}

/// One line saying what was recorded.
pub fn summary(c: &AuditCounts) -> String {
    format!(
        "recorded {} directory changes ({} linked to an inference, {} to an approval given before); skipped {} already recorded",
        c.changes, c.with_inference, c.with_approval, c.skipped
    )
}

/// A batch of changes ready for the ledger, with whether each links to an inference and to an
/// approval.
struct Batch<'k> {
    /// The batch's one group of entries, prepared.
    groups: Vec<PreparedGroup<'k>>,
    linked: Vec<(bool, bool)>,
}

/// Builds a batch's `action` entries and prepares them, on every core. Errors are those of
/// recording the batch one record after another: the first record whose subject or payload
/// cannot be written.
fn prepare_batch<'k>(
    chunk: &[AuditRecord],
    first_record: u64,
    key: &'k SignerKey,
    named: Option<Ref>,
    links: &Links,
) -> Result<Batch<'k>> {
    use rayon::prelude::*;
    let built: Vec<_> = chunk
        .par_iter()
        .enumerate()
        .map(|(i, r)| {
            let (inference, approval) = links.links_for(r, named);
            (
                (inference, approval),
                subject_of(r, first_record + i as u64),
                canonical_payload_of(r),
            )
        })
        .collect();
    let mut items = Vec::with_capacity(built.len());
    let mut linked = Vec::with_capacity(built.len());
    for ((inference, approval), subject, payload) in built {
        linked.push((inference.is_some(), approval.is_some()));
        items.push(NewCanonicalEntry {
            kind: Kind::Action,
            subject: subject?,
            refs: inference.into_iter().chain(approval).collect(),
            payload: payload?,
        });
    }
    let group = CanonicalGroup {
        signer: key,
        items,
        links: vec![],
    };
    let groups = prepare_canonical_groups(vec![group])?;
    Ok(Batch { groups, linked })
}

/// Records the prepared batches `take` gives, each in one durable transaction; stops at the
/// first batch that failed to prepare, with its error, once the batches before it are in.
fn record_stream<'k>(
    ledger: &mut Ledger,
    take: &mut dyn FnMut() -> Option<Result<Batch<'k>>>,
    counts: &mut AuditCounts,
) -> Result<()> {
    let mut failure = None;
    // Per batch taken and not committed yet: whether each record has its inference and its
    // approval linked.
    let linked = std::cell::RefCell::new(std::collections::VecDeque::new());
    let mut next = || match take()? {
        Ok(batch) => {
            linked.borrow_mut().push_back(batch.linked);
            Some(batch.groups)
        }
        Err(e) => {
            failure = Some(e);
            None
        }
    };
    ledger.append_once_stream(&mut next, &mut |at| {
        let batch_linked = linked.borrow_mut().pop_front().unwrap_or_default();
        tally_batch(&at, batch_linked, counts);
    })?;
    failure.map_or(Ok(()), Err)
}

/// Counts one committed batch of directory changes.
fn tally_batch(
    at: &[Vec<vigil_ledger::Recorded>],
    linked: Vec<(bool, bool)>,
    counts: &mut AuditCounts,
) {
    let at = at.first().map_or(&[][..], Vec::as_slice);
    for (r, (inference, approval)) in at.iter().zip(linked) {
        if r.new {
            counts.changes += 1;
            counts.with_inference += u64::from(inference);
            counts.with_approval += u64::from(approval);
        } else {
            counts.skipped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_simulator::audit::{
        AppIdentity, Detail, Initiator, ModifiedProperty, TargetResource, UserIdentity,
    };

    /// The general path: the payload as a JSON tree, canonicalized.
    fn general(r: &AuditRecord) -> Vec<u8> {
        vigil_ledger::entry::canonical_payload(&payload_of(r).unwrap()).unwrap()
    }

    /// A small deterministic generator (xorshift).
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn text(&mut self) -> String {
            const PIECES: [&str; 12] = [
                "a", "Z", "0", " ", "\"", "\\", "\n", "\u{1}", "\u{7f}", "é", "\u{fb33}", "😀",
            ];
            (0..self.below(8))
                .map(|_| {
                    let i = self.below(u64::try_from(PIECES.len()).unwrap());
                    PIECES[usize::try_from(i).unwrap()]
                })
                .collect()
        }
        fn maybe(&mut self) -> Option<String> {
            (self.below(3) > 0).then(|| self.text())
        }
    }

    fn generated(g: &mut Gen) -> AuditRecord {
        let user = (g.below(2) == 0).then(|| UserIdentity {
            id: g.maybe(),
            user_principal_name: g.maybe(),
            display_name: g.maybe(),
            ip_address: g.maybe(),
        });
        let app = (g.below(2) == 0).then(|| AppIdentity {
            app_id: g.maybe(),
            display_name: g.maybe(),
            service_principal_id: g.maybe(),
            service_principal_name: g.maybe(),
        });
        AuditRecord {
            id: g.text(),
            activity_date_time: g.text(),
            activity: g.text(),
            category: g.maybe(),
            result: g.maybe(),
            result_reason: g.maybe(),
            operation_type: g.maybe(),
            logged_by_service: g.maybe(),
            correlation_id: g.maybe(),
            tenant_id: g.maybe(),
            initiated_by: Initiator { user, app },
            target_resources: (0..g.below(3))
                .map(|_| TargetResource {
                    id: g.maybe(),
                    display_name: g.maybe(),
                    kind: g.maybe(),
                    user_principal_name: g.maybe(),
                    group_type: g.maybe(),
                    modified_properties: (0..g.below(3))
                        .map(|_| ModifiedProperty {
                            display_name: g.text(),
                            old_value: g.maybe(),
                            new_value: g.maybe(),
                        })
                        .collect(),
                })
                .collect(),
            additional_details: (0..g.below(3))
                .map(|_| Detail {
                    key: g.text(),
                    value: g.text(),
                })
                .collect(),
            source_variant: g.text(),
        }
    }

    /// Links by correlation id ignore case; with no correlation-keyed entries, only `--ref`
    /// and the approvals that ref it link.
    #[test]
    fn links_by_correlation_ignore_case_and_named_links_without_them() {
        let r = |seq| Ref {
            seq,
            hash: [u8::try_from(seq).unwrap(); 32],
        };
        let mut g = Gen(7);
        let mut rec = generated(&mut g);
        rec.correlation_id = Some("AbC-1".into());
        let mut links = Links::default();
        assert_eq!(links.links_for(&rec, None), (None, None));
        links.approval_by_ref.insert(5, r(6));
        assert_eq!(links.links_for(&rec, Some(r(5))), (Some(r(5)), Some(r(6))));
        links.inference_by_correlation.insert("abc-1".into(), r(3));
        assert_eq!(links.links_for(&rec, None), (Some(r(3)), None));
        links.approval_by_correlation.insert("abc-1".into(), r(9));
        assert_eq!(links.links_for(&rec, None), (Some(r(3)), Some(r(9))));
        assert_eq!(links.links_for(&rec, Some(r(5))), (Some(r(5)), Some(r(9))));
        let mut inference_only = Links::default();
        inference_only
            .approval_by_correlation
            .insert("abc-1".into(), r(4));
        assert_eq!(inference_only.links_for(&rec, None), (None, Some(r(4))));
        rec.correlation_id = None;
        assert_eq!(links.links_for(&rec, None), (None, None));
    }

    /// The payload written straight from the record is the general path's, byte for byte: on
    /// generated records (every optional member present or not, text that needs escapes or
    /// sorts otherwise in UTF-16) and on every record of the sample exports.
    #[test]
    fn canonical_payload_is_the_general_paths() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            let r = generated(&mut g);
            assert_eq!(
                canonical_payload_of(&r).unwrap().as_bytes(),
                general(&r),
                "{r:?}"
            );
        }
        let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tenant");
        let mut n = 0;
        audit::read_audits(
            &[samples.join("audits.json")],
            &ReadOptions::default(),
            &mut |_, _| {},
            &mut |r| {
                n += 1;
                assert_eq!(
                    canonical_payload_of(&r).unwrap().as_bytes(),
                    general(&r),
                    "{r:?}"
                );
            },
        )
        .unwrap();
        assert!(n > 0);
    }
}
