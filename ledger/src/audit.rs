//! Verification drivers: a live database (from entry 0 or from a trusted checkpoint).

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use crate::entry::{self, Envelope, Kind};
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

/// End (exclusive) of the seq range holding the next `CHUNK` stored rows from `from` on:
/// chunks follow the rows that exist, so a stray row at seq 2^40 costs one read, not 2^27.
fn chunk_end(ledger: &Ledger, from: u64, end: u64) -> Result<u64, LedgerError> {
    let last: Option<i64> = ledger
        .connection()
        .prepare_cached("SELECT seq FROM entries WHERE seq >= ?1 ORDER BY seq LIMIT 1 OFFSET ?2")
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    i64::try_from(from).unwrap_or(i64::MAX),
                    i64::try_from(CHUNK - 1).unwrap_or(i64::MAX)
                ],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(|source| LedgerError::Db {
            path: ledger.path().to_path_buf(),
            source,
        })?;
    Ok(last.map_or(end, |s| u64::try_from(s).unwrap_or(0).saturating_add(1)))
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
    let sizes = crate::verify::checkpoint_sizes(&cps);
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
    // Read by row order, not by assumed positions, so gaps and strays are seen.
    let read_chunk = |from: u64| -> Result<(Vec<RowInput>, u64), LedgerError> {
        let to = chunk_end(ledger, from, end)?.clamp(from + 1, end);
        Ok((read_rows(ledger, from, to)?, to))
    };
    // A three-stage pipeline: while chunk k gets its in-order checks and its stored nodes
    // compared (this thread, one core), chunk k+1 is hashed, parsed and has its signatures
    // checked (a scoped thread driving the rayon pool, every core) and, after chunk k, chunk
    // k+2 is read from SQLite (this thread). Chunk k+1's signatures are checked with the keys
    // registered before chunk k; the in-order checks re-check any the registry changed since.
    let at = verifier.size();
    if at >= end {
        return Ok(verifier.finish(&cps));
    }
    let (rows, mut to) = read_chunk(at)?;
    let mut current = Some((verifier.keys_now().prepare(&rows), rows, to));
    let mut next_rows = if to < end {
        let (rows, next_to) = read_chunk(to)?;
        to = next_to;
        Some((rows, to))
    } else {
        None
    };
    while let Some((prepared, rows, done_to)) = current.take() {
        let keys = verifier.keys_now();
        let v = &mut verifier;
        let (ahead, read) = std::thread::scope(|s| {
            let preparing = next_rows
                .take()
                .map(|(rows, rows_to)| s.spawn(move || (keys.prepare(&rows), rows, rows_to)));
            let step = || -> Result<Option<(Vec<RowInput>, u64)>, LedgerError> {
                v.apply(&rows, prepared);
                let nodes = v.take_nodes();
                compare_nodes(ledger, v, &nodes)?;
                if let Some(p) = progress.as_mut() {
                    p(done_to, end);
                }
                if preparing.is_some() && to < end {
                    let (rows, next_to) = read_chunk(to)?;
                    to = next_to;
                    Ok(Some((rows, to)))
                } else {
                    Ok(None)
                }
            };
            let read = step();
            let ahead = preparing.map(|h| match h.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            });
            (ahead, read)
        });
        current = ahead;
        next_rows = read?;
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
                let last = ((idx + 1) << level) - 1;
                // A subtree that holds an entry already found bad differs because of that
                // entry: name it, not the subtree's (intact) first leaf, as the first bad seq.
                let seq = verifier.first_finding_in(first, last).unwrap_or(first);
                verifier.report(
                    Some(seq),
                    "merkle-node-mismatch",
                    format!("stored subtree hash (level {level}, index {idx}) does not match entries {first}..{last}: proofs from this database would be wrong"),
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
    // Rebuild the registry from the key entries inside the trusted prefix. They are found by
    // their envelopes, not by the unsigned `kind` column, and every envelope of the prefix
    // must hash to the checkpoint's root: otherwise editing storage could hide a key change
    // (a revocation) from the registry that checks the entries after the checkpoint.
    let db_err = |source| LedgerError::Db {
        path: ledger.path().to_path_buf(),
        source,
    };
    let mut prefix = Frontier::new();
    let mut key_rows: Vec<(u64, Vec<u8>)> = Vec::new();
    {
        let mut stmt = ledger
            .connection()
            .prepare("SELECT seq, envelope FROM entries WHERE seq < ?1 ORDER BY seq")
            .map_err(db_err)?;
        let mut rows = stmt
            .query([i64::try_from(size).unwrap_or(i64::MAX)])
            .map_err(db_err)?;
        while let Some(row) = rows.next().map_err(db_err)? {
            let seq: i64 = row.get(0).map_err(db_err)?;
            let env_bytes: Vec<u8> = row.get(1).map_err(db_err)?;
            if u64::try_from(seq).ok() != Some(prefix.size()) {
                return fail(
                    "rows-missing",
                    format!(
                        "entry {} of the checkpointed prefix is missing",
                        prefix.size()
                    ),
                );
            }
            prefix.push(merkle::leaf_hash(&env_bytes));
            if Envelope::parse_lenient(&env_bytes).is_ok_and(|e| e.kind == Kind::Key) {
                key_rows.push((prefix.size() - 1, env_bytes));
            }
        }
    }
    if prefix.size() != size || prefix.root() != cp.checkpoint.root {
        return fail(
            "fork",
            format!(
                "checkpoint {}: the ledger's first {size} entries do not hash to its root: history was rewritten (fork)",
                cp_in.source
            ),
        );
    }
    let mut registry: Option<Registry> = None;
    for (seq, env_bytes) in key_rows {
        let salted = ledger.entry(seq)?.and_then(|e| e.payload);
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
        let payload = salted.and_then(|(salt, p)| {
            let salt: [u8; 32] = salt.as_slice().try_into().ok()?;
            (entry::payload_commitment(&salt, &p) == env.payload_commitment).then_some(p)
        });
        let Some(op) = payload.and_then(|p| serde_json::from_slice::<KeyOp>(&p).ok()) else {
            return fail(
                "key-entry-invalid",
                format!(
                    "entry {seq}: key entry payload missing, not matching its commitment, or invalid"
                ),
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
