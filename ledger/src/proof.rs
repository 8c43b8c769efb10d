//! Proof documents (JSON) and their offline verification.

use serde::{Deserialize, Serialize};

use crate::entry::{Envelope, parse_hash_hex};
use crate::merkle::{self, Hash};
use crate::note::{SignedCheckpoint, VerifierKey};

/// `format` of inclusion proof documents.
pub const INCLUSION_FORMAT: &str = "vigil-inclusion-proof/v1";
/// `format` of consistency proof documents.
pub const CONSISTENCY_FORMAT: &str = "vigil-consistency-proof/v1";

/// An inclusion proof: entry `seq` is in the tree of `size` entries with root `root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProofDoc {
    /// Always `vigil-inclusion-proof/v1`.
    pub format: String,
    /// The ledger's origin.
    pub origin: String,
    /// The entry's position.
    pub seq: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// The entry's canonical envelope (so the proof shows what it proves).
    pub entry: String,
    /// RFC 6962 leaf hash of `entry` (hex).
    pub leaf_hash: String,
    /// Root of the tree of `size` entries (hex).
    pub root: String,
    /// Audit path, leaf to root (hex).
    pub path: Vec<String>,
    /// The signed checkpoint of that size, when one was stored.
    pub checkpoint: Option<String>,
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProofDoc {
    /// Always `vigil-consistency-proof/v1`.
    pub format: String,
    /// The ledger's origin.
    pub origin: String,
    /// The earlier tree size.
    pub old_size: u64,
    /// Root at the earlier size (hex).
    pub old_root: String,
    /// The later tree size.
    pub new_size: u64,
    /// Root at the later size (hex).
    pub new_root: String,
    /// RFC 6962 consistency proof (hex).
    pub path: Vec<String>,
    /// The signed checkpoint of the later size, when one was stored.
    pub new_checkpoint: Option<String>,
}

fn hashes(path: &[String]) -> Result<Vec<Hash>, String> {
    path.iter()
        .enumerate()
        .map(|(i, h)| {
            parse_hash_hex(h).ok_or_else(|| format!("path[{i}] is not 64 lowercase hex digits"))
        })
        .collect()
}

fn hash(field: &str, s: &str) -> Result<Hash, String> {
    parse_hash_hex(s).ok_or_else(|| format!("{field} is not 64 lowercase hex digits"))
}

/// Checks a checkpoint against a proof's claimed origin, size and root; verifies its
/// signature when keys are given. Returns a remark for the user.
pub fn check_checkpoint(
    what: &str,
    bytes: &[u8],
    origin: &str,
    size: u64,
    root: &Hash,
    keys: &[VerifierKey],
) -> Result<String, String> {
    let cp = SignedCheckpoint::parse(bytes).map_err(|e| format!("{what}: {e}"))?;
    let c = &cp.checkpoint;
    if c.origin != origin {
        return Err(format!(
            "{what} is for origin {:?}, the proof for {origin:?}",
            c.origin
        ));
    }
    if c.size != size || c.root != *root {
        return Err(format!(
            "{what} (size {}) does not match the proof's size {size} and root",
            c.size
        ));
    }
    if keys.is_empty() {
        return Ok(format!(
            "{what} matches, but its signature was not checked: pass --ledger-key"
        ));
    }
    cp.verify(keys).map_err(|e| format!("{what}: {e}"))?;
    Ok(format!("{what} is signed by the ledger key"))
}

/// Verifies an inclusion proof document; `checkpoint` (if any) overrides the embedded one.
pub fn verify_inclusion_doc(
    doc: &InclusionProofDoc,
    checkpoint: Option<&[u8]>,
    keys: &[VerifierKey],
) -> Result<Vec<String>, String> {
    if doc.format != INCLUSION_FORMAT {
        return Err(format!("format {:?} is not {INCLUSION_FORMAT}", doc.format));
    }
    let leaf = merkle::leaf_hash(doc.entry.as_bytes());
    if leaf != hash("leaf_hash", &doc.leaf_hash)? {
        return Err("leaf_hash is not the hash of entry".into());
    }
    let env = Envelope::parse_canonical(doc.entry.as_bytes()).map_err(|e| format!("entry: {e}"))?;
    if env.seq != doc.seq {
        return Err(format!(
            "entry has seq {} but the proof is for seq {}",
            env.seq, doc.seq
        ));
    }
    let root = hash("root", &doc.root)?;
    merkle::verify_inclusion(&leaf, doc.seq, doc.size, &hashes(&doc.path)?, &root)
        .map_err(|e| e.to_string())?;
    let mut notes = vec![format!(
        "entry {} is included in the tree of size {} with root {}",
        doc.seq, doc.size, doc.root
    )];
    match checkpoint.or(doc.checkpoint.as_deref().map(str::as_bytes)) {
        Some(cp) => notes.push(check_checkpoint(
            "checkpoint",
            cp,
            &doc.origin,
            doc.size,
            &root,
            keys,
        )?),
        None => notes
            .push("no checkpoint for this size: the root is not signed; pass --checkpoint".into()),
    }
    Ok(notes)
}

/// Verifies a consistency proof document against optional old/new checkpoints.
pub fn verify_consistency_doc(
    doc: &ConsistencyProofDoc,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    keys: &[VerifierKey],
) -> Result<Vec<String>, String> {
    if doc.format != CONSISTENCY_FORMAT {
        return Err(format!(
            "format {:?} is not {CONSISTENCY_FORMAT}",
            doc.format
        ));
    }
    let old_root = hash("old_root", &doc.old_root)?;
    let new_root = hash("new_root", &doc.new_root)?;
    merkle::verify_consistency(
        doc.old_size,
        doc.new_size,
        &old_root,
        &new_root,
        &hashes(&doc.path)?,
    )
    .map_err(|e| e.to_string())?;
    let mut notes = vec![format!(
        "the tree of size {} is an append-only extension of the tree of size {}",
        doc.new_size, doc.old_size
    )];
    match old {
        Some(cp) => notes.push(check_checkpoint(
            "old checkpoint",
            cp,
            &doc.origin,
            doc.old_size,
            &old_root,
            keys,
        )?),
        None => notes.push("old root not tied to a checkpoint: pass --old".into()),
    }
    match new.or(doc.new_checkpoint.as_deref().map(str::as_bytes)) {
        Some(cp) => notes.push(check_checkpoint(
            "new checkpoint",
            cp,
            &doc.origin,
            doc.new_size,
            &new_root,
            keys,
        )?),
        None => notes.push("new root not tied to a checkpoint: pass --new".into()),
    }
    Ok(notes)
}
