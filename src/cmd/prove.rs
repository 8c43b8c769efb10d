//! `vigil ledger prove` and `vigil ledger verify-proof`.

use std::fs;

use anyhow::{Context, Result, bail};
use vigil_ledger::keyfile;
use vigil_ledger::note::SignedCheckpoint;
use vigil_ledger::proof::{
    CONSISTENCY_FORMAT, ConsistencyProofDoc, INCLUSION_FORMAT, InclusionProofDoc,
    verify_consistency_doc, verify_inclusion_doc,
};

use super::{open_readonly, print_json};
use crate::Outcome;
use crate::cli::{ProveArgs, VerifyProofArgs};

fn stored_checkpoint(ledger: &vigil_ledger::Ledger, size: u64) -> Result<Option<String>> {
    Ok(ledger
        .checkpoints()?
        .into_iter()
        .find(|(s, _)| *s == size)
        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned()))
}

/// Prints an inclusion or consistency proof.
pub fn prove(a: &ProveArgs) -> Result<Outcome> {
    let ledger = open_readonly(&a.db)?;
    let size = match a.size {
        Some(s) => s,
        None => ledger.size()?,
    };
    if let Some(seq) = a.seq {
        let path = ledger.inclusion_proof(seq, size)?;
        let entry = ledger
            .entry(seq)?
            .with_context(|| format!("no entry {seq}"))?;
        let doc = InclusionProofDoc {
            format: INCLUSION_FORMAT.into(),
            origin: ledger.origin().to_string(),
            seq,
            size,
            entry: String::from_utf8_lossy(&entry.envelope).into_owned(),
            leaf_hash: hex::encode(&entry.hash),
            root: hex::encode(ledger.root_at(size)?),
            path: path.iter().map(hex::encode).collect(),
            checkpoint: stored_checkpoint(&ledger, size)?,
        };
        print_json(&doc)?;
        return Ok(Outcome::Ok);
    }
    let cp_path = a
        .consistency
        .as_deref()
        .context("--seq or --consistency is required")?;
    let bytes = fs::read(cp_path)
        .with_context(|| format!("{}: cannot read checkpoint", cp_path.display()))?;
    let cp = SignedCheckpoint::parse(&bytes)
        .with_context(|| format!("{}: not a checkpoint", cp_path.display()))?;
    let c = &cp.checkpoint;
    if c.origin != ledger.origin() {
        bail!(
            "{}: checkpoint is for origin {:?}, this ledger is {:?}",
            cp_path.display(),
            c.origin,
            ledger.origin()
        );
    }
    if c.size > size {
        eprintln!(
            "vigil: {}: the checkpoint covers {} entries but the ledger has {size}: entries were removed or the ledger was rolled back",
            cp_path.display(),
            c.size
        );
        return Ok(Outcome::Finding);
    }
    let old_root = ledger.root_at(c.size)?;
    if old_root != c.root {
        eprintln!(
            "vigil: {}: the ledger's first {} entries do not match the checkpoint's root: history was rewritten (fork)",
            cp_path.display(),
            c.size
        );
        return Ok(Outcome::Finding);
    }
    let path = if c.size == 0 || c.size == size {
        vec![]
    } else {
        ledger.consistency_proof(c.size, size)?
    };
    let doc = ConsistencyProofDoc {
        format: CONSISTENCY_FORMAT.into(),
        origin: ledger.origin().to_string(),
        old_size: c.size,
        old_root: hex::encode(old_root),
        new_size: size,
        new_root: hex::encode(ledger.root_at(size)?),
        path: path.iter().map(hex::encode).collect(),
        new_checkpoint: stored_checkpoint(&ledger, size)?,
    };
    print_json(&doc)?;
    Ok(Outcome::Ok)
}

/// Checks a proof document offline.
pub fn verify_proof(a: &VerifyProofArgs) -> Result<Outcome> {
    let text = fs::read_to_string(&a.proof)
        .with_context(|| format!("{}: cannot read", a.proof.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", a.proof.display()))?;
    let keys = a
        .ledger_key
        .iter()
        .map(|k| keyfile::read_public_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    let read = |p: &Option<std::path::PathBuf>| -> Result<Option<Vec<u8>>> {
        p.as_ref()
            .map(|p| fs::read(p).with_context(|| format!("{}: cannot read", p.display())))
            .transpose()
    };
    let result = match value.get("format").and_then(|f| f.as_str()) {
        Some(INCLUSION_FORMAT) => {
            let doc: InclusionProofDoc = serde_json::from_value(value)
                .with_context(|| format!("{}: not an inclusion proof", a.proof.display()))?;
            verify_inclusion_doc(&doc, read(&a.checkpoint)?.as_deref(), &keys)
        }
        Some(CONSISTENCY_FORMAT) => {
            let doc: ConsistencyProofDoc = serde_json::from_value(value)
                .with_context(|| format!("{}: not a consistency proof", a.proof.display()))?;
            verify_consistency_doc(
                &doc,
                read(&a.old)?.as_deref(),
                read(&a.new)?.as_deref(),
                &keys,
            )
        }
        other => bail!(
            "{}: field `format`: {other:?} is not a vigil proof format",
            a.proof.display()
        ),
    };
    match result {
        Ok(notes) => {
            println!("OK: proof verifies");
            for n in notes {
                println!("  {n}");
            }
            Ok(Outcome::Ok)
        }
        Err(e) => {
            println!("FAILED: {e}");
            Ok(Outcome::Finding)
        }
    }
}
