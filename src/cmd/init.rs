//! `vigil ledger init`, `checkpoint` and `redact`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use vigil_ledger::note::{ALG_ED25519, SignerKey};
use vigil_ledger::{Ledger, keyfile};

use super::{default_ledger_key_path, load_ledger_key, open};
use crate::Outcome;
use crate::cli::DbArgs;
use crate::output::info;

/// Creates the database and the ledger key.
pub fn run(db: &Path, origin: &str, key_path: Option<&Path>) -> Result<Outcome> {
    let key_path = key_path.map_or_else(|| default_ledger_key_path(db), Path::to_path_buf);
    if db.exists() {
        bail!(
            "{}: already exists; vigil never overwrites a ledger",
            db.display()
        );
    }
    let key = SignerKey::generate(origin, ALG_ED25519)
        .with_context(|| format!("origin {origin:?} cannot name a key"))?;
    keyfile::write_secret_key(&key_path, &key)?;
    let pub_path = keyfile::public_path_for(&key_path);
    if let Err(e) = keyfile::write_public_key(&pub_path, &key.verifier()) {
        // The secret key was just written by us and belongs to no ledger yet.
        let _ = fs::remove_file(&key_path);
        return Err(e.into());
    }
    if let Err(e) = Ledger::create(db, &key) {
        // Leave nothing half-made behind: the key would belong to no ledger.
        let _ = fs::remove_file(&key_path);
        let _ = fs::remove_file(&pub_path);
        return Err(e.into());
    }
    info(format!(
        "created ledger {} (origin {origin})\nledger secret key: {} (mode 0600; keep it safe)\nledger public key: {} — give it to auditors; they pin it with --ledger-key\n  {}",
        db.display(),
        key_path.display(),
        pub_path.display(),
        key.verifier()
    ));
    Ok(Outcome::Ok)
}

/// Signs and prints a checkpoint; optionally publishes it to a folder.
pub fn checkpoint(args: &DbArgs, publish: Option<&Path>) -> Result<Outcome> {
    let key = load_ledger_key(args)?;
    let mut ledger = open(&args.db)?;
    let cp = ledger.checkpoint(&key)?;
    let bytes = cp.to_bytes();
    if let Some(dir) = publish {
        fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        let name = format!("checkpoint-{:012}.txt", cp.checkpoint.size);
        let p = dir.join(&name);
        fs::write(&p, &bytes).with_context(|| format!("{}: cannot write", p.display()))?;
        let latest = dir.join("checkpoint-latest.txt");
        let tmp = dir.join(".checkpoint-latest.tmp");
        fs::write(&tmp, &bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
        fs::rename(&tmp, &latest).with_context(|| format!("{}: cannot write", latest.display()))?;
        info(format!("published {}", p.display()));
    }
    print!("{}", String::from_utf8_lossy(&bytes));
    Ok(Outcome::Ok)
}

/// Erases a payload and records the redaction.
pub fn redact(args: &DbArgs, seq: u64, reason: &str) -> Result<Outcome> {
    let key = load_ledger_key(args)?;
    let mut ledger = open(&args.db)?;
    let a = ledger.redact(&key, seq, reason)?;
    info(format!(
        "payload of entry {seq} erased; redaction recorded as entry {} ({})",
        a.seq,
        hex::encode(a.hash)
    ));
    println!(
        "{}",
        serde_json::json!({"seq": a.seq, "hash": hex::encode(a.hash), "redacted": seq})
    );
    Ok(Outcome::Ok)
}
