//! Verification drivers: a live database (from entry 0 or from a trusted checkpoint).

use std::collections::HashMap;

use rusqlite::params;

use crate::entry::{self, Envelope};
use crate::merkle::{self, Frontier, Hash};
use crate::note::{SignedCheckpoint, VerifierKey};
use crate::registry::{KeyOp, Registry};
use crate::store::{Ledger, LedgerError};
use crate::verify::{CheckpointInput, Report, Resume, RowInput, Verifier};

/// Rows read per verification chunk.
const CHUNK: u64 = 8192;

/// Options of a database verification.
#[derive(Default)]
pub struct VerifyOptions {
    /// Checkpoints kept outside the operator's reach.
    pub trusted: Vec<CheckpointInput>,
    /// Start after this trusted checkpoint instead of at entry 0.
    pub from: Option<CheckpointInput>,
    /// Ledger keys the verifier pins (at least one must be in the registry).
    pub pinned: Vec<VerifierKey>,
    /// Called after each chunk with (entries done, total).
    pub progress: Option<Box<dyn FnMut(u64, u64)>>,
}

fn read_rows(ledger: &Ledger, from: u64, to: u64) -> Result<Vec<RowInput>, LedgerError> {
    Ok(ledger
        .entries_range(from, to)?
        .into_iter()
        .map(|e| RowInput {
            position: e.seq,
            hash: e.hash,
            envelope: e.envelope,
            key_id: e.key_id,
            sig: e.sig,
            payload: e.payload,
        })
        .collect())
}

/// Verifies a ledger database. Findings are in the report; `Err` only for I/O problems.
pub fn verify_database(ledger: &Ledger, mut opts: VerifyOptions) -> Result<Report, LedgerError> {
    let stored_cps = ledger.checkpoints()?;
    let mut cps: Vec<CheckpointInput> = stored_cps
        .into_iter()
        .map(|(size, bytes)| CheckpointInput {
            source: format!("database checkpoint {size}"),
            bytes,
            trusted: false,
        })
        .collect();
    cps.append(&mut opts.trusted);
    let sizes: Vec<u64> = cps
        .iter()
        .filter_map(|c| {
            SignedCheckpoint::parse(&c.bytes)
                .ok()
                .map(|p| p.checkpoint.size)
        })
        .collect();
    let max_seq: Option<i64> = ledger
        .connection()
        .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
        .map_err(|source| LedgerError::Db {
            path: ledger.path().to_path_buf(),
            source,
        })?;
    let end = max_seq.map_or(0, |s| u64::try_from(s).unwrap_or(0) + 1);

    let mut verifier = match opts.from.take() {
        None => Verifier::new(sizes, opts.pinned.clone()),
        Some(from) => match resume_from(ledger, &from, &opts.pinned, sizes)? {
            Ok(v) => {
                cps.push(CheckpointInput {
                    trusted: true,
                    ..from
                });
                v
            }
            Err(report) => return Ok(*report),
        },
    };
    verifier.collect_nodes();
    finish_stream(ledger, verifier, end, cps, opts.progress)
}

fn finish_stream(
    ledger: &Ledger,
    mut verifier: Verifier,
    end: u64,
    cps: Vec<CheckpointInput>,
    mut progress: Option<Box<dyn FnMut(u64, u64)>>,
) -> Result<Report, LedgerError> {
    let mut at = verifier.size();
    // Read by row order, not by assumed positions, so gaps and strays are seen.
    while at < end {
        let to = at.saturating_add(CHUNK).min(end);
        let rows = read_rows(ledger, at, to)?;
        verifier.feed(&rows);
        let nodes = verifier.take_nodes();
        compare_nodes(ledger, &mut verifier, &nodes)?;
        at = to;
        if let Some(p) = progress.as_mut() {
            p(at, end);
        }
    }
    Ok(verifier.finish(&cps))
}

/// Stored subtree hashes serve proofs; they must agree with the entries.
fn compare_nodes(
    ledger: &Ledger,
    verifier: &mut Verifier,
    nodes: &[(u32, u64, Hash)],
) -> Result<(), LedgerError> {
    let mut by_level: HashMap<u32, Vec<(u64, Hash)>> = HashMap::new();
    for &(l, i, h) in nodes {
        by_level.entry(l).or_default().push((i, h));
    }
    let db_err = |source| LedgerError::Db {
        path: ledger.path().to_path_buf(),
        source,
    };
    let mut stmt = ledger
        .connection()
        .prepare_cached("SELECT idx, hash FROM nodes WHERE level = ?1 AND idx >= ?2 AND idx <= ?3")
        .map_err(db_err)?;
    for (level, want) in by_level {
        let lo = want.iter().map(|w| w.0).min().unwrap_or(0);
        let hi = want.iter().map(|w| w.0).max().unwrap_or(0);
        let stored: HashMap<u64, Vec<u8>> = stmt
            .query_map(
                params![
                    level,
                    i64::try_from(lo).unwrap_or(i64::MAX),
                    i64::try_from(hi).unwrap_or(i64::MAX)
                ],
                |r| {
                    Ok((
                        u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        r.get::<_, Vec<u8>>(1)?,
                    ))
                },
            )
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        for (idx, hash) in want {
            if stored.get(&idx).map(Vec::as_slice) != Some(&hash[..]) {
                let first = idx << level;
                verifier.report(
                    Some(first),
                    "merkle-node-mismatch",
                    format!("stored subtree hash (level {level}, index {idx}) does not match entries {first}..{}: proofs from this database would be wrong", ((idx + 1) << level) - 1),
                );
            }
        }
    }
    Ok(())
}

/// Sets up a verifier that trusts the first `cp.size` entries via the checkpoint.
/// Returns `Ok(Err(report))` when the checkpoint itself is a finding.
#[allow(clippy::type_complexity)]
fn resume_from(
    ledger: &Ledger,
    cp_in: &CheckpointInput,
    pinned: &[VerifierKey],
    sizes: Vec<u64>,
) -> Result<Result<Verifier, Box<Report>>, LedgerError> {
    let fail =
        |code: &'static str, msg: String| -> Result<Result<Verifier, Box<Report>>, LedgerError> {
            let mut v = Verifier::new([], vec![]);
            v.report(None, code, msg);
            Ok(Err(Box::new(v.finish(&[]))))
        };
    let cp = match SignedCheckpoint::parse(&cp_in.bytes) {
        Ok(c) => c,
        Err(e) => {
            return fail(
                "checkpoint-invalid",
                format!("checkpoint {}: {e}", cp_in.source),
            );
        }
    };
    let size = cp.checkpoint.size;
    let have = ledger.size()?;
    if cp.checkpoint.origin != ledger.origin() {
        return fail(
            "checkpoint-origin",
            format!(
                "checkpoint {} is for origin {:?}, not {:?}",
                cp_in.source,
                cp.checkpoint.origin,
                ledger.origin()
            ),
        );
    }
    if size == 0 {
        return fail(
            "checkpoint-invalid",
            format!(
                "checkpoint {} has size 0; verify from the start instead",
                cp_in.source
            ),
        );
    }
    if size > have {
        let mut v = Verifier::new([], vec![]);
        v.report(Some(have), "truncated", format!("checkpoint {} covers {size} entries but the ledger has only {have}: entries were removed or the ledger was rolled back", cp_in.source));
        return Ok(Err(Box::new(v.finish(&[]))));
    }
    let root = match ledger.root_at(size) {
        Ok(r) => r,
        Err(e) => return fail("merkle-node-mismatch", e.to_string()),
    };
    if root != cp.checkpoint.root {
        return fail(
            "fork",
            format!(
                "checkpoint {}: the ledger's first {size} entries do not hash to its root: history was rewritten (fork)",
                cp_in.source
            ),
        );
    }
    let included = |seq: u64, hash: &Hash| -> bool {
        ledger
            .inclusion_proof(seq, size)
            .is_ok_and(|p| merkle::verify_inclusion(hash, seq, size, &p, &root).is_ok())
    };
    // Rebuild the registry from the key entries inside the trusted prefix, checking each one
    // is in the checkpointed tree and properly signed.
    let mut stmt = ledger
        .connection()
        .prepare("SELECT e.seq, e.envelope, e.key_id, e.sig, p.payload FROM entries e LEFT JOIN payloads p ON p.seq = e.seq WHERE e.kind = 'key' AND e.seq < ?1 ORDER BY e.seq")
        .map_err(|source| LedgerError::Db { path: ledger.path().to_path_buf(), source })?;
    let rows: Vec<(i64, Vec<u8>, Vec<u8>, Vec<u8>, Option<Vec<u8>>)> = stmt
        .query_map([i64::try_from(size).unwrap_or(i64::MAX)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .and_then(|m| m.collect())
        .map_err(|source| LedgerError::Db {
            path: ledger.path().to_path_buf(),
            source,
        })?;
    let mut registry: Option<Registry> = None;
    for (seq, env_bytes, _key_id, _sig, payload) in rows {
        let seq = u64::try_from(seq).unwrap_or(0);
        let hash = merkle::leaf_hash(&env_bytes);
        if !included(seq, &hash) {
            return fail(
                "hash-mismatch",
                format!(
                    "key entry {seq} is not the entry the checkpoint's tree holds at that position"
                ),
            );
        }
        let env = match Envelope::parse_canonical(&env_bytes) {
            Ok(e) => e,
            Err(e) => return fail("envelope-invalid", format!("entry {seq}: {e}")),
        };
        let Some(op) = payload.and_then(|p| serde_json::from_slice::<KeyOp>(&p).ok()) else {
            return fail(
                "key-entry-invalid",
                format!("entry {seq}: key entry payload missing or invalid"),
            );
        };
        match registry.as_mut() {
            None => match Registry::genesis(&env, &op) {
                Ok(r) => registry = Some(r),
                Err(e) => return fail("genesis-invalid", e),
            },
            Some(r) => {
                if let Err(e) = r.apply(seq, &op) {
                    return fail("key-entry-invalid", format!("entry {seq}: {e}"));
                }
            }
        }
    }
    let Some(registry) = registry else {
        return fail(
            "genesis-invalid",
            "no init entry below the checkpoint".into(),
        );
    };
    let key = registry.ledger_key_for_size(size).clone();
    if cp.verify(std::slice::from_ref(&key)).is_err() {
        return fail(
            "checkpoint-unknown-key",
            format!(
                "checkpoint {} carries no valid signature by the ledger key {key}",
                cp_in.source
            ),
        );
    }
    if !pinned.is_empty()
        && !registry
            .ledger_keys()
            .iter()
            .any(|(_, k)| pinned.iter().any(|p| p.public == k.public))
    {
        return fail(
            "ledger-key-not-pinned",
            "none of the ledger keys is the pinned ledger key".into(),
        );
    }
    let last = ledger
        .entry(size - 1)?
        .ok_or_else(|| LedgerError::Invalid(format!("entry {} is missing", size - 1)))?;
    let prev_hash = merkle::leaf_hash(&last.envelope);
    if !included(size - 1, &prev_hash) {
        return fail(
            "hash-mismatch",
            format!(
                "entry {} is not the entry the checkpoint's tree holds",
                size - 1
            ),
        );
    }
    let prev_ts = match Envelope::parse_canonical(&last.envelope)
        .map_err(|e| e.to_string())
        .and_then(|e| entry::parse_ts(&e.ts))
    {
        Ok(t) => t,
        Err(e) => return fail("envelope-invalid", format!("entry {}: {e}", size - 1)),
    };
    let frontier = match Frontier::load(&ledger.nodes(), size) {
        Ok(f) => f,
        Err(e) => return fail("merkle-node-mismatch", e.to_string()),
    };
    // Refs into the trusted prefix: the stored hash, checked against the checkpoint's tree.
    let reader = Ledger::open_readonly(ledger.path())?;
    let old_refs = Box::new(move |seq: u64| -> Option<Hash> {
        let h = reader.entry_hash(seq).ok()?;
        let p = reader.inclusion_proof(seq, size).ok()?;
        merkle::verify_inclusion(&h, seq, size, &p, &root)
            .ok()
            .map(|()| h)
    });
    Ok(Ok(Verifier::resume(
        Resume {
            size,
            frontier,
            prev_hash,
            prev_ts,
            registry,
        },
        sizes,
        pinned.to_vec(),
        old_refs,
    )))
}
