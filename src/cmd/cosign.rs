//! `vigil ledger cosign`: a witness checks that a new checkpoint extends the last one it
//! cosigned for this ledger, then adds its C2SP cosignature/v1.

use std::fs;

use anyhow::{Context, Result, bail};
use vigil_ledger::keyfile;
use vigil_ledger::merkle;
use vigil_ledger::note::{ALG_COSIGNATURE_V1, SignedCheckpoint, cosign};
use vigil_ledger::proof::ConsistencyProofDoc;

use super::open_readonly;
use crate::Outcome;
use crate::cli::CosignArgs;
use crate::output::info;

/// Runs the witness check and prints the cosigned checkpoint.
pub fn run(a: &CosignArgs) -> Result<Outcome> {
    let witness = keyfile::read_secret_key(&a.key)?;
    if witness.alg() != ALG_COSIGNATURE_V1 {
        bail!(
            "{}: not a witness key (make one with `vigil key generate --witness`)",
            a.key.display()
        );
    }
    let log_key = keyfile::read_public_key(&a.log_key)?;
    let bytes = fs::read(&a.checkpoint)
        .with_context(|| format!("{}: cannot read", a.checkpoint.display()))?;
    let mut cp = SignedCheckpoint::parse(&bytes)
        .with_context(|| format!("{}: not a checkpoint", a.checkpoint.display()))?;
    if cp.verify(std::slice::from_ref(&log_key)).is_err() {
        eprintln!(
            "vigil: {}: not signed by the ledger key {log_key}; refusing to cosign",
            a.checkpoint.display()
        );
        return Ok(Outcome::Finding);
    }
    let new = cp.checkpoint.clone();
    let last =
        if a.state.exists() {
            let b = fs::read(&a.state)
                .with_context(|| format!("{}: cannot read witness state", a.state.display()))?;
            Some(SignedCheckpoint::parse(&b).with_context(|| {
                format!("{}: witness state is not a checkpoint", a.state.display())
            })?)
        } else {
            None
        };
    if let Some(last) = &last {
        let old = &last.checkpoint;
        if old.origin != new.origin {
            bail!(
                "{}: the witness state is for origin {:?}, the checkpoint for {:?}",
                a.state.display(),
                old.origin,
                new.origin
            );
        }
        if new.size < old.size {
            eprintln!(
                "vigil: rollback: the checkpoint has size {} but this witness already cosigned size {}",
                new.size, old.size
            );
            return Ok(Outcome::Finding);
        }
        if new.size == old.size {
            if new.root != old.root {
                eprintln!(
                    "vigil: fork: two different roots were signed for size {}",
                    new.size
                );
                return Ok(Outcome::Finding);
            }
        } else if old.size > 0 {
            let path = match (&a.proof, &a.db) {
                (Some(p), _) => {
                    let text = fs::read_to_string(p)
                        .with_context(|| format!("{}: cannot read", p.display()))?;
                    let doc: ConsistencyProofDoc = serde_json::from_str(&text)
                        .with_context(|| format!("{}: not a consistency proof", p.display()))?;
                    if doc.old_size != old.size || doc.new_size != new.size {
                        bail!(
                            "{}: proves {} -> {}, but {} -> {} is needed",
                            p.display(),
                            doc.old_size,
                            doc.new_size,
                            old.size,
                            new.size
                        );
                    }
                    doc.path
                        .iter()
                        .map(|h| {
                            vigil_ledger::entry::parse_hash_hex(h)
                                .with_context(|| format!("{}: bad hash in path", p.display()))
                        })
                        .collect::<Result<Vec<_>>>()?
                }
                (None, Some(db)) => open_readonly(db)?.consistency_proof(old.size, new.size)?,
                (None, None) => bail!(
                    "a consistency proof from size {} is needed: pass --proof or --db",
                    old.size
                ),
            };
            if let Err(e) =
                merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &path)
            {
                eprintln!(
                    "vigil: the checkpoint is not consistent with the last cosigned one (size {}): {e}",
                    old.size
                );
                return Ok(Outcome::Finding);
            }
        }
    }
    let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
    let sig = cosign(&cp, &witness, now)?;
    cp.add_signature(sig)?;
    let out = cp.to_bytes();
    let tmp = a.state.with_extension("tmp");
    fs::write(&tmp, &out).with_context(|| format!("{}: cannot write", tmp.display()))?;
    fs::rename(&tmp, &a.state).with_context(|| format!("{}: cannot write", a.state.display()))?;
    info(format!("cosigned size {} as {}", new.size, witness.name()));
    print!("{}", String::from_utf8_lossy(&out));
    Ok(Outcome::Ok)
}
