//! Verification: re-derives everything from the entries themselves and reports the first
//! bad seq with what is wrong. Storage is never trusted: the same engine checks a live
//! database and an exported bundle.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::Serialize;

use crate::entry::{self, Envelope, Kind};
use crate::merkle::{self, Frontier, Hash};
use crate::note::{SignedCheckpoint, VerifierKey};
use crate::registry::{KeyOp, Registry};

/// Most findings kept in a report; the first one is what matters, the rest give scale.
const MAX_FINDINGS: usize = 1000;

/// Longest run of missing rows filled with placeholders to keep later positions aligned.
/// A row claiming a position further ahead (a stray row at seq 2^40) is reported and left
/// out instead: filling that gap would take forever.
const MAX_GAP_FILL: u64 = 1 << 20;

/// One stored entry as handed to the verifier, exactly as read (nothing trusted).
#[derive(Debug, Clone)]
pub struct RowInput {
    /// The position storage claims for the row (the `seq` column).
    pub position: u64,
    /// The stored leaf hash.
    pub hash: Vec<u8>,
    /// The stored envelope bytes.
    pub envelope: Vec<u8>,
    /// The stored signing key id.
    pub key_id: Vec<u8>,
    /// The stored signature.
    pub sig: Vec<u8>,
    /// Salt and payload bytes, when present.
    pub payload: Option<(Vec<u8>, Vec<u8>)>,
}

/// A problem found by verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The first entry affected, when one can be named.
    pub seq: Option<u64>,
    /// Stable machine-readable code (see SPEC.md).
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

/// A checkpoint to check against the ledger.
#[derive(Debug, Clone)]
pub struct CheckpointInput {
    /// Where it came from (a file name, "database", "bundle").
    pub source: String,
    /// The signed note bytes.
    pub bytes: Vec<u8>,
    /// Whether it was kept outside the operator's reach (given by the user).
    pub trusted: bool,
}

/// The outcome of checking one checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointResult {
    /// Where it came from.
    pub source: String,
    /// Its tree size (when it parsed).
    pub size: Option<u64>,
    /// Whether it was given by the user as trusted.
    pub trusted: bool,
    /// `ok` or the finding code.
    pub status: String,
}

/// The verification report (`vigil ledger verify --json` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `true` when there are no findings.
    pub ok: bool,
    /// The ledger's origin.
    pub origin: Option<String>,
    /// Number of entries present.
    pub size: u64,
    /// Merkle root of all entries (hex).
    pub root: String,
    /// First seq fully checked (0, or the size of the `--from` checkpoint).
    pub verified_from: u64,
    /// Entries checked in this run.
    pub entries_checked: u64,
    /// Signatures checked with verify_strict semantics.
    pub signatures_checked: u64,
    /// The first bad seq, if any.
    pub first_bad_seq: Option<u64>,
    /// All findings, ordered by seq (capped at 1000).
    pub findings: Vec<Finding>,
    /// Entries whose payload was lawfully erased (not a finding).
    pub redacted: Vec<u64>,
    /// Checkpoints checked.
    pub checkpoints: Vec<CheckpointResult>,
    /// Whether a trusted checkpoint made a truncated tail detectable.
    pub truncation_detectable: bool,
    /// Ledger keys found in the registry (`name+id+key`), oldest first.
    pub ledger_keys: Vec<String>,
    /// Remarks that are not findings.
    pub notes: Vec<String>,
}

/// Tree sizes of the checkpoints that parse (their roots are computed while streaming).
pub fn checkpoint_sizes(cps: &[CheckpointInput]) -> Vec<u64> {
    cps.iter()
        .filter_map(|c| {
            SignedCheckpoint::parse(&c.bytes)
                .ok()
                .map(|p| p.checkpoint.size)
        })
        .collect()
}

/// Where verification resumes when it starts from a trusted checkpoint.
pub struct Resume {
    /// Tree size already trusted.
    pub size: u64,
    /// Frontier of the trusted tree.
    pub frontier: Frontier,
    /// Leaf hash of entry size-1.
    pub prev_hash: Hash,
    /// Timestamp of entry size-1.
    pub prev_ts: jiff::Timestamp,
    /// Key registry after the trusted entries.
    pub registry: Registry,
}

struct Prepared {
    env: Result<Envelope, entry::EnvelopeError>,
    hash: Hash,
    /// None = absent; Some(Ok(())) = matches; Some(Err(reason)).
    payload: Option<Result<(), (&'static str, String)>>,
    /// The signature checked ahead of the in-order checks, with the registered key the row's
    /// key id named when the chunk started: (that key's bytes, whether it verified). Used only
    /// when the in-order checks pick the very same key; otherwise the signature is checked again.
    early_sig: Option<([u8; 32], bool)>,
}

/// A snapshot of the registered keys and the origin (see [`Verifier::keys_now`]).
pub struct KnownKeys {
    origin: String,
    keys: Vec<VerifierKey>,
}

/// A chunk's per-row work done ahead of the in-order checks (see [`Verifier::apply`]).
pub struct PreparedChunk(Vec<Prepared>);

impl KnownKeys {
    /// Hashes, parses and checks each row's payload and signature, on every core. Needs
    /// nothing from the rows before, so it can run while an earlier chunk is being applied.
    pub fn prepare(&self, rows: &[RowInput]) -> PreparedChunk {
        PreparedChunk(
            rows.par_iter()
                .map(|row| {
                    let mut p = prepare(row);
                    p.early_sig = early_signature(row, &self.keys, &self.origin);
                    p
                })
                .collect(),
        )
    }
}

/// Streaming verifier: feed rows in storage order, then `finish`.
pub struct Verifier {
    origin: Option<String>,
    start: u64,
    expected: u64,
    prev_hash: Hash,
    prev_ts: Option<jiff::Timestamp>,
    frontier: Frontier,
    hashes: Vec<Hash>,
    old_refs: Box<dyn FnMut(u64) -> Option<Hash> + Send>,
    registry: Option<Registry>,
    missing_payloads: BTreeSet<u64>,
    redactions: BTreeMap<u64, u64>,
    want_roots: BTreeSet<u64>,
    roots: BTreeMap<u64, Hash>,
    findings: Vec<Finding>,
    finding_count: u64,
    signatures: u64,
    completed_nodes: Option<Vec<(u32, u64, Hash)>>,
    pinned: Vec<VerifierKey>,
    genesis_reported: bool,
}

fn finding(seq: Option<u64>, code: &'static str, message: impl Into<String>) -> Finding {
    Finding {
        seq,
        code,
        message: message.into(),
    }
}

impl Verifier {
    /// A verifier starting at seq 0. `checkpoint_sizes` are the sizes whose roots are needed later.
    pub fn new(
        checkpoint_sizes: impl IntoIterator<Item = u64>,
        pinned: Vec<VerifierKey>,
    ) -> Verifier {
        Verifier {
            origin: None,
            start: 0,
            expected: 0,
            prev_hash: [0; 32],
            prev_ts: None,
            frontier: Frontier::new(),
            hashes: Vec::new(),
            old_refs: Box::new(|_| None),
            registry: None,
            missing_payloads: BTreeSet::new(),
            redactions: BTreeMap::new(),
            want_roots: checkpoint_sizes.into_iter().collect(),
            roots: BTreeMap::new(),
            findings: Vec::new(),
            finding_count: 0,
            signatures: 0,
            completed_nodes: None,
            pinned,
            genesis_reported: false,
        }
    }

    /// A verifier resuming after a trusted prefix; `old_refs` resolves hashes of entries before it.
    pub fn resume(
        resume: Resume,
        checkpoint_sizes: impl IntoIterator<Item = u64>,
        pinned: Vec<VerifierKey>,
        old_refs: Box<dyn FnMut(u64) -> Option<Hash> + Send>,
    ) -> Verifier {
        let mut v = Verifier::new(checkpoint_sizes, pinned);
        v.origin = Some(resume.registry.origin().to_string());
        v.start = resume.size;
        v.expected = resume.size;
        v.prev_hash = resume.prev_hash;
        v.prev_ts = Some(resume.prev_ts);
        v.frontier = resume.frontier;
        v.registry = Some(resume.registry);
        v.old_refs = old_refs;
        v.roots.insert(v.frontier.size(), v.frontier.root());
        v
    }

    /// Also collect the Merkle nodes completed by each `feed`, for comparing with storage.
    pub fn collect_nodes(&mut self) {
        self.completed_nodes = Some(Vec::new());
    }

    /// Nodes completed since the last call (when collecting).
    pub fn take_nodes(&mut self) -> Vec<(u32, u64, Hash)> {
        self.completed_nodes
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Records a finding found outside the row stream (storage-specific checks).
    pub fn report(&mut self, seq: Option<u64>, code: &'static str, message: impl Into<String>) {
        self.finding_count += 1;
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(finding(seq, code, message));
        }
    }

    /// The lowest seq in `first..=last` that already has a finding, if any. (Once the list
    /// of findings is full nothing more is kept, so it stops looking: it stays cheap.)
    pub fn first_finding_in(&self, first: u64, last: u64) -> Option<u64> {
        if self.findings.len() >= MAX_FINDINGS {
            return None;
        }
        self.findings
            .iter()
            .filter_map(|f| f.seq)
            .filter(|s| (first..=last).contains(s))
            .min()
    }

    /// Entries seen so far (the next expected seq).
    pub fn size(&self) -> u64 {
        self.expected
    }

    /// The ledger's origin, once entry 0 (or the resume point) established it.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The registry as of the rows fed so far.
    pub fn registry(&self) -> Option<&Registry> {
        self.registry.as_ref()
    }

    fn hash_of(&mut self, seq: u64) -> Option<Hash> {
        if seq >= self.start {
            let i = usize::try_from(seq - self.start).ok()?;
            self.hashes.get(i).copied()
        } else {
            (self.old_refs)(seq)
        }
    }

    /// Checks a chunk of rows (in storage order). Uses every core.
    pub fn feed(&mut self, rows: &[RowInput]) {
        let prepared = self.keys_now().prepare(rows);
        self.apply(rows, prepared);
    }

    /// The registered keys as they stand now, for [`KnownKeys::prepare`] on a later chunk.
    ///
    /// Signatures are checked in the same parallel pass that hashes and parses each row, with
    /// the key the registry held under the row's key id when the snapshot was taken. The
    /// in-order checks of [`Verifier::apply`] decide which key must have signed; when that is
    /// another key (the registry changed since the snapshot), the signature is checked again
    /// with it. (Before entry 0 is checked there is no origin and no registry: nothing early.)
    pub fn keys_now(&self) -> KnownKeys {
        KnownKeys {
            origin: self.origin.clone().unwrap_or_default(),
            keys: match (&self.origin, &self.registry) {
                (Some(_), Some(r)) => r.records().iter().map(|k| k.key.clone()).collect(),
                _ => Vec::new(),
            },
        }
    }

    /// The in-order checks of a chunk prepared by [`KnownKeys::prepare`] (from any snapshot
    /// taken at or before this chunk), then the signatures the snapshot could not settle.
    pub fn apply(&mut self, rows: &[RowInput], prepared: PreparedChunk) {
        let prepared = prepared.0;
        debug_assert_eq!(rows.len(), prepared.len());
        let mut jobs: Vec<(u64, VerifierKey, usize)> = Vec::new();
        let mut failures: Vec<Finding> = Vec::new();
        let mut checked = 0u64;
        for (i, (row, prep)) in rows.iter().zip(prepared).enumerate() {
            let early = prep.early_sig;
            if let Some(job) = self.check_row(row, prep, i) {
                match early {
                    Some((key, ok)) if key == *job.1.public.as_bytes() => {
                        checked += 1;
                        if !ok {
                            failures.push(signature_failure(job.0, &job.1));
                        }
                    }
                    _ => jobs.push(job),
                }
            }
        }
        // Entry 0, checked above, may just have set the origin.
        let origin = self.origin.clone().unwrap_or_default();
        failures.extend(
            jobs.par_iter()
                .filter_map(|(seq, key, i)| {
                    let row = &rows[*i];
                    let sig: [u8; 64] = row.sig.as_slice().try_into().ok()?;
                    (!Envelope::signature_verifies(key, &origin, &row.envelope, &sig))
                        .then(|| signature_failure(*seq, key))
                })
                .collect::<Vec<_>>(),
        );
        self.signatures += checked + jobs.len() as u64;
        failures.sort_by_key(|f| f.seq);
        for f in failures {
            self.report(f.seq, f.code, f.message);
        }
    }

    fn check_row(
        &mut self,
        row: &RowInput,
        prep: Prepared,
        index: usize,
    ) -> Option<(u64, VerifierKey, usize)> {
        let pos = row.position;
        if pos < self.expected {
            self.report(
                Some(pos),
                "row-duplicated",
                format!(
                    "row for seq {pos} appears again after seq {} (duplicated or reordered rows)",
                    self.expected - 1
                ),
            );
            return None;
        }
        if pos > self.expected {
            self.report(
                Some(self.expected),
                "rows-missing",
                format!(
                    "expected seq {} but the next row is seq {pos}: {} entr{} deleted",
                    self.expected,
                    pos - self.expected,
                    if pos - self.expected == 1 {
                        "y was"
                    } else {
                        "ies were"
                    }
                ),
            );
            if pos - self.expected > MAX_GAP_FILL {
                return None;
            }
            // Keep the tree aligned with positions so later findings are not all chain noise.
            while self.expected < pos {
                self.hashes.push([0; 32]);
                self.frontier.push([0; 32]);
                self.expected += 1;
            }
        }
        let seq = pos;
        let hash = prep.hash;
        if row.hash.as_slice() != hash {
            self.report(
                Some(seq),
                "hash-mismatch",
                "stored hash is not the hash of the stored envelope (the envelope or its hash was edited)",
            );
        }
        let mut job = None;
        match prep.env {
            Err(e) => {
                let code = if matches!(e, entry::EnvelopeError::NotCanonical) {
                    "envelope-not-canonical"
                } else {
                    "envelope-invalid"
                };
                self.report(Some(seq), code, e.to_string());
            }
            Ok(env) => job = self.check_envelope(seq, row, &env, prep.payload, index),
        }
        self.hashes.push(hash);
        let completed = self.frontier.push(hash);
        if let Some(nodes) = self.completed_nodes.as_mut() {
            nodes.extend(completed);
        }
        self.prev_hash = hash;
        self.expected = seq + 1;
        if self.want_roots.contains(&self.expected) {
            self.roots.insert(self.expected, self.frontier.root());
        }
        job
    }

    fn check_envelope(
        &mut self,
        seq: u64,
        row: &RowInput,
        env: &Envelope,
        payload: Option<Result<(), (&'static str, String)>>,
        index: usize,
    ) -> Option<(u64, VerifierKey, usize)> {
        if env.seq != seq {
            self.report(
                Some(seq),
                "envelope-seq-mismatch",
                format!(
                    "row {seq} holds the envelope of seq {} (rows reordered or copied)",
                    env.seq
                ),
            );
        }
        if env.prev != self.prev_hash {
            self.report(
                Some(seq),
                "chain-broken",
                if seq == 0 {
                    "prev of entry 0 is not all zero".to_string()
                } else {
                    format!("prev does not equal the hash of entry {} (an entry before it was changed, removed or inserted)", seq - 1)
                },
            );
        }
        if let Ok(ts) = entry::parse_ts(&env.ts) {
            if let Some(p) = self.prev_ts
                && ts < p
            {
                self.report(
                    Some(seq),
                    "time-went-backwards",
                    format!("ts {} is earlier than the previous entry's", env.ts),
                );
            }
            self.prev_ts = Some(ts);
        }
        for r in &env.refs {
            match self.hash_of(r.seq) {
                Some(h) if h == r.hash => {}
                Some(_) => self.report(
                    Some(seq),
                    "ref-broken",
                    format!(
                        "ref to seq {} names hash {} but that entry's hash differs",
                        r.seq,
                        hex::encode(r.hash)
                    ),
                ),
                None => self.report(
                    Some(seq),
                    "ref-broken",
                    format!("ref to seq {} names an entry that does not exist", r.seq),
                ),
            }
        }
        // A key, init or redaction op is acted on only when its payload is the committed one.
        let payload_ok = matches!(payload, Some(Ok(())));
        match payload {
            None => {
                self.missing_payloads.insert(seq);
            }
            Some(Ok(())) => {}
            Some(Err((code, msg))) => self.report(Some(seq), code, msg),
        }
        let key_id: Option<[u8; 4]> = row.key_id.as_slice().try_into().ok();
        let sig: Option<[u8; 64]> = row.sig.as_slice().try_into().ok();
        let (Some(key_id), Some(sig)) = (key_id, sig) else {
            self.report(
                Some(seq),
                "signature-invalid",
                "stored key id or signature has the wrong length",
            );
            return None;
        };
        if seq == 0 {
            if payload_ok {
                self.genesis(env, row, sig);
            } else {
                self.report(
                    Some(0),
                    "genesis-invalid",
                    "entry 0's payload is missing or does not match its commitment",
                );
            }
            return None;
        }
        let Some(registry) = self.registry.as_ref() else {
            if !self.genesis_reported {
                self.genesis_reported = true;
                self.report(
                    Some(seq),
                    "no-genesis",
                    "no valid entry 0 introduces the ledger key; signatures cannot be checked",
                );
            }
            return None;
        };
        let key = match registry.signer_for(&env.actor, env.kind, key_id) {
            Ok(k) => k.clone(),
            Err(p) => {
                let code = match p {
                    crate::registry::SignerProblem::Unknown(_) => "key-unknown",
                    crate::registry::SignerProblem::Revoked { .. } => "key-revoked",
                    crate::registry::SignerProblem::KindNotAllowed { .. } => "kind-not-allowed",
                    crate::registry::SignerProblem::KeyIdMismatch { .. } => "key-id-mismatch",
                };
                self.report(Some(seq), code, p.to_string());
                return None;
            }
        };
        match env.kind {
            Kind::Key => {
                // The registry changes here, so this signature is checked before anything after it.
                self.signatures += 1;
                let origin = self.origin.clone().unwrap_or_default();
                if !Envelope::signature_verifies(&key, &origin, &row.envelope, &sig) {
                    self.report(
                        Some(seq),
                        "signature-invalid",
                        "key entry signature does not verify with the ledger key",
                    );
                    return None;
                }
                let op = row
                    .payload
                    .as_ref()
                    .filter(|_| payload_ok)
                    .and_then(|(_, p)| serde_json::from_slice::<KeyOp>(p).ok());
                match op {
                    None => self.report(
                        Some(seq),
                        "key-entry-invalid",
                        "key entry payload is missing, does not match its commitment, or is not a key operation; the registry change is not applied",
                    ),
                    Some(op) => {
                        if let Some(reg) = self.registry.as_mut()
                            && let Err(e) = reg.apply(seq, &op)
                        {
                            self.report(Some(seq), "key-entry-invalid", e);
                        }
                    }
                }
                None
            }
            Kind::Redaction => {
                if payload_ok {
                    self.check_redaction(seq, env, row);
                } else {
                    self.report(
                        Some(seq),
                        "redaction-invalid",
                        "redaction payload is missing or does not match its commitment",
                    );
                }
                Some((seq, key, index))
            }
            _ => Some((seq, key, index)),
        }
    }

    fn check_redaction(&mut self, seq: u64, env: &Envelope, row: &RowInput) {
        #[derive(serde::Deserialize)]
        struct Redaction {
            seq: u64,
            reason: String,
        }
        let parsed = row
            .payload
            .as_ref()
            .and_then(|(_, p)| serde_json::from_slice::<Redaction>(p).ok());
        match parsed {
            Some(r) if env.refs.iter().any(|x| x.seq == r.seq) && !r.reason.trim().is_empty() => {
                if let Some(prev) = self.redactions.insert(r.seq, seq) {
                    self.report(
                        Some(seq),
                        "redaction-invalid",
                        format!("entry {} was already redacted by entry {prev}", r.seq),
                    );
                }
            }
            _ => self.report(
                Some(seq),
                "redaction-invalid",
                "redaction payload is missing, has no reason, or does not ref the entry it redacts",
            ),
        }
    }

    fn genesis(&mut self, env: &Envelope, row: &RowInput, sig: [u8; 64]) {
        let op = row
            .payload
            .as_ref()
            .and_then(|(_, p)| serde_json::from_slice::<KeyOp>(p).ok());
        let Some(op) = op else {
            self.report(
                Some(0),
                "genesis-invalid",
                "entry 0 payload is missing or not a key init operation",
            );
            return;
        };
        match Registry::genesis(env, &op) {
            Err(e) => self.report(Some(0), "genesis-invalid", e),
            Ok(reg) => {
                let key = reg.ledger_key().clone();
                self.signatures += 1;
                if !Envelope::signature_verifies(&key, reg.origin(), &row.envelope, &sig) {
                    self.report(
                        Some(0),
                        "signature-invalid",
                        "entry 0 is not signed by the ledger key it introduces",
                    );
                }
                if self.origin.as_deref().is_some_and(|o| o != reg.origin()) {
                    self.report(
                        Some(0),
                        "origin-mismatch",
                        format!("entry 0 names origin {:?}", reg.origin()),
                    );
                }
                self.origin = Some(reg.origin().to_string());
                self.registry = Some(reg);
            }
        }
    }

    /// Final checks (payloads without redaction, checkpoints, pinned keys) and the report.
    pub fn finish(mut self, checkpoints: &[CheckpointInput]) -> Report {
        let missing: Vec<u64> = self.missing_payloads.iter().copied().collect();
        let mut redacted = Vec::new();
        for seq in missing {
            if self.redactions.contains_key(&seq) {
                redacted.push(seq);
            } else {
                self.report(
                    Some(seq),
                    "payload-missing",
                    "payload and salt are gone but no redaction entry records their erasure",
                );
            }
        }
        let mut notes = Vec::new();
        for (&target, &by) in &self.redactions {
            if target >= self.start && !self.missing_payloads.contains(&target) {
                notes.push(format!(
                    "entry {target} was redacted by entry {by} but its payload is still stored"
                ));
            }
        }
        let ledger_keys: Vec<String> = self
            .registry
            .as_ref()
            .map(|r| r.ledger_keys().iter().map(|(_, k)| k.to_string()).collect())
            .unwrap_or_default();
        if !self.pinned.is_empty() {
            let known: Vec<&VerifierKey> = self
                .registry
                .as_ref()
                .map(|r| r.ledger_keys().iter().map(|(_, k)| k).collect())
                .unwrap_or_default();
            if !self.pinned.iter().any(|p| {
                known
                    .iter()
                    .any(|k| k.public == p.public && k.name == p.name)
            }) {
                self.report(
                    Some(0),
                    "ledger-key-not-pinned",
                    "none of the ledger keys in this ledger is the pinned ledger key (the ledger was replaced or re-signed)",
                );
            }
        }
        let size = self.expected;
        let mut results = Vec::new();
        let mut trusted_any = false;
        for cp in checkpoints {
            let status = self.check_checkpoint(cp, size);
            let parsed_size = SignedCheckpoint::parse(&cp.bytes)
                .ok()
                .map(|c| c.checkpoint.size);
            if cp.trusted && status == "ok" {
                trusted_any = true;
            }
            results.push(CheckpointResult {
                source: cp.source.clone(),
                size: parsed_size,
                trusted: cp.trusted,
                status,
            });
        }
        if !trusted_any {
            notes.push(
                "no trusted checkpoint was given: entries removed from the end of the ledger (a truncated tail) cannot be detected; keep checkpoints where the ledger's operator cannot rewrite them and pass one with --checkpoint".into(),
            );
        }
        if self.start > 0 {
            notes.push(format!(
                "entries before seq {} were trusted through the checkpoint and not re-checked (their payloads included)",
                self.start
            ));
        }
        self.findings.sort_by_key(|f| f.seq.unwrap_or(u64::MAX));
        if self.finding_count > self.findings.len() as u64 {
            notes.push(format!(
                "{} findings in all; the first {MAX_FINDINGS} are listed",
                self.finding_count
            ));
        }
        Report {
            ok: self.findings.is_empty(),
            origin: self.origin.clone(),
            size,
            root: hex::encode(self.frontier.root()),
            verified_from: self.start,
            entries_checked: size - self.start,
            signatures_checked: self.signatures,
            first_bad_seq: self.findings.iter().find_map(|f| f.seq),
            findings: self.findings,
            redacted,
            checkpoints: results,
            truncation_detectable: trusted_any,
            ledger_keys,
            notes,
        }
    }

    fn check_checkpoint(&mut self, cp: &CheckpointInput, size: u64) -> String {
        let src = &cp.source;
        let parsed = match SignedCheckpoint::parse(&cp.bytes) {
            Ok(p) => p,
            Err(e) => {
                self.report(None, "checkpoint-invalid", format!("checkpoint {src}: {e}"));
                return "checkpoint-invalid".into();
            }
        };
        let c = &parsed.checkpoint;
        if self.origin.as_deref() != Some(c.origin.as_str()) {
            self.report(
                None,
                "checkpoint-origin",
                format!(
                    "checkpoint {src} is for origin {:?}, not this ledger ({:?})",
                    c.origin,
                    self.origin.as_deref().unwrap_or("")
                ),
            );
            return "checkpoint-origin".into();
        }
        let Some(reg) = self.registry.as_ref() else {
            self.report(
                None,
                "checkpoint-unknown-key",
                format!("checkpoint {src}: the ledger has no valid ledger key to check it with"),
            );
            return "checkpoint-unknown-key".into();
        };
        let expected_key = reg.ledger_key_for_size(c.size.min(size)).clone();
        let all: Vec<VerifierKey> = reg.ledger_keys().iter().map(|(_, k)| k.clone()).collect();
        if parsed.verify(std::slice::from_ref(&expected_key)).is_err() {
            let code = if parsed.verify(&all).is_ok() {
                "checkpoint-wrong-key"
            } else {
                "checkpoint-unknown-key"
            };
            let msg = if code == "checkpoint-wrong-key" {
                format!(
                    "checkpoint {src} (size {}) is signed by a ledger key that was not the ledger key at that size",
                    c.size
                )
            } else {
                format!(
                    "checkpoint {src} (size {}) carries no valid signature by this ledger's key {expected_key}",
                    c.size
                )
            };
            self.report(None, code, msg);
            return code.into();
        }
        if c.size > size {
            self.report(
                Some(size),
                "truncated",
                format!(
                    "checkpoint {src} covers {} entries but the ledger has only {size}: entries {size}..{} were removed or the ledger was rolled back",
                    c.size,
                    c.size - 1
                ),
            );
            return "truncated".into();
        }
        if c.size < self.start {
            return "ok".into();
        }
        match self.roots.get(&c.size) {
            Some(root) if *root == c.root => "ok".into(),
            Some(_) => {
                self.report(
                    c.size.checked_sub(1),
                    "fork",
                    format!(
                        "checkpoint {src}: the ledger's first {} entries do not hash to the checkpoint's root: history was rewritten (fork)",
                        c.size
                    ),
                );
                "fork".into()
            }
            None => {
                self.report(
                    None,
                    "checkpoint-unchecked",
                    format!("checkpoint {src}: size {} was not computed", c.size),
                );
                "checkpoint-unchecked".into()
            }
        }
    }
}

fn signature_failure(seq: u64, key: &VerifierKey) -> Finding {
    finding(
        Some(seq),
        "signature-invalid",
        format!(
            "signature does not verify with the key of {} ({})",
            key.name,
            hex::encode(key.key_id)
        ),
    )
}

/// Checks a row's signature with the known key its key id names (see [`Verifier::feed`]).
fn early_signature(
    row: &RowInput,
    known: &[VerifierKey],
    origin: &str,
) -> Option<([u8; 32], bool)> {
    let sig: [u8; 64] = row.sig.as_slice().try_into().ok()?;
    let key = known.iter().find(|k| k.key_id[..] == row.key_id[..])?;
    let ok = Envelope::signature_verifies(key, origin, &row.envelope, &sig);
    Some((*key.public.as_bytes(), ok))
}

fn prepare(row: &RowInput) -> Prepared {
    let hash = merkle::leaf_hash(&row.envelope);
    let env = Envelope::parse_canonical(&row.envelope);
    let payload = row.payload.as_ref().map(|(salt, payload)| {
        let salt: [u8; 32] = salt.as_slice().try_into().map_err(|_| {
            (
                "payload-mismatch",
                "stored salt is not 32 bytes".to_string(),
            )
        })?;
        if let Ok(env) = &env
            && entry::payload_commitment(&salt, payload) != env.payload_commitment
        {
            return Err((
                "payload-mismatch",
                "payload or salt does not match the entry's payload_commitment (payload edited)"
                    .to_string(),
            ));
        }
        if crate::jcs::is_canonical(payload) {
            return Ok(());
        }
        let value: serde_json::Value = serde_json::from_slice(payload).map_err(|e| {
            (
                "payload-not-canonical",
                format!("stored payload is not JSON: {e}"),
            )
        })?;
        match entry::canonical_payload(&value) {
            Ok(c) if c == *payload => Ok(()),
            _ => Err((
                "payload-not-canonical",
                "stored payload is not in RFC 8785 canonical form".to_string(),
            )),
        }
    });
    Prepared {
        env,
        hash,
        payload,
        early_sig: None,
    }
}

/// Merkle root of a list of leaf hashes (helper for callers that only have hashes).
pub fn root_of(hashes: &[Hash]) -> Hash {
    merkle::root_from_leaf_hashes(hashes)
}
