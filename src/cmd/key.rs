//! `vigil key ...` and `vigil ledger key ...`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use comfy_table::Table;
use vigil_ledger::Kind;
use vigil_ledger::keyfile;
use vigil_ledger::note::{ALG_COSIGNATURE_V1, ALG_ED25519, SignerKey};

use super::{default_ledger_key_path, load_ledger_key, open, open_readonly, print_json};
use crate::Outcome;
use crate::cli::{DbArgs, RevokeArgs, RotateArgs};
use crate::output::info;

/// Generates a key pair.
pub fn generate(name: &str, out: &Path, witness: bool) -> Result<Outcome> {
    let alg = if witness {
        ALG_COSIGNATURE_V1
    } else {
        ALG_ED25519
    };
    let key = SignerKey::generate(name, alg).with_context(|| format!("key name {name:?}"))?;
    let pub_path = keyfile::public_path_for(out);
    if pub_path == out {
        bail!(
            "{}: the secret key file needs an extension other than .pub (e.g. {name}.key)",
            out.display()
        );
    }
    if pub_path.exists() {
        bail!(
            "{}: already exists; vigil never overwrites a key file",
            pub_path.display()
        );
    }
    keyfile::write_secret_key(out, &key)?;
    keyfile::write_public_key(&pub_path, &key.verifier())?;
    info(format!(
        "secret key: {} (mode 0600)\npublic key: {}",
        out.display(),
        pub_path.display()
    ));
    println!("{}", key.verifier());
    Ok(Outcome::Ok)
}

/// Prints the public key of a key file.
pub fn show(path: &Path) -> Result<Outcome> {
    let text =
        fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if text.starts_with("PRIVATE+KEY+") {
        println!("{}", keyfile::read_secret_key(path)?.verifier());
    } else {
        println!("{}", keyfile::read_public_key(&path.to_string_lossy())?);
    }
    Ok(Outcome::Ok)
}

/// Parses a list of kind names.
pub fn parse_kinds(kinds: &[String]) -> Result<Vec<Kind>> {
    kinds
        .iter()
        .map(|k| {
            Kind::parse(k.trim()).with_context(|| {
                format!("--kinds: {k:?} is not an entry kind (signal, inference, action, review, policy, run)")
            })
        })
        .collect()
}

/// Registers a producer key.
pub fn add(db: &DbArgs, key: &str, kinds: &[String]) -> Result<Outcome> {
    let ledger_key = load_ledger_key(db)?;
    let vkey = keyfile::read_public_key(key)?;
    let kinds = parse_kinds(kinds)?;
    let mut ledger = open(&db.db)?;
    let a = ledger.add_key(&ledger_key, &vkey, kinds)?;
    info(format!("registered {} as entry {}", vkey.name, a.seq));
    println!(
        "{}",
        serde_json::json!({"seq": a.seq, "hash": hex::encode(a.hash), "key": vkey.to_string()})
    );
    Ok(Outcome::Ok)
}

/// Lists registered keys.
pub fn list(db: &Path, json: bool) -> Result<Outcome> {
    let mut ledger = open_readonly(db)?;
    let reg = ledger.registry()?.clone();
    let rows: Vec<serde_json::Value> = reg
        .records()
        .iter()
        .map(|r| {
            let status = match (&r.revoked, r.rotated_seq) {
                (Some((s, why)), _) => format!("revoked at {s}: {why}"),
                (None, Some(s)) => format!("rotated at {s}"),
                (None, None) => "active".into(),
            };
            serde_json::json!({
                "name": r.key.name,
                "key": r.key.to_string(),
                "kinds": r.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                "added_seq": r.added_seq,
                "status": status,
            })
        })
        .collect();
    if json {
        print_json(&rows)?;
    } else {
        let mut t = Table::new();
        t.set_header(["name", "key id", "kinds", "added at", "status"]);
        for (r, v) in reg.records().iter().zip(&rows) {
            t.add_row([
                r.key.name.clone(),
                hex::encode(r.key.key_id),
                r.kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                r.added_seq.to_string(),
                v["status"].as_str().unwrap_or_default().to_string(),
            ]);
        }
        println!("{t}");
    }
    Ok(Outcome::Ok)
}

/// Rotates a producer key, or the ledger key itself.
pub fn rotate(a: &RotateArgs) -> Result<Outcome> {
    let ledger_key = load_ledger_key(&a.db)?;
    let mut ledger = open(&a.db.db)?;
    if a.ledger {
        let key_path =
            a.db.ledger_key
                .clone()
                .unwrap_or_else(|| default_ledger_key_path(&a.db.db));
        let new = SignerKey::generate(ledger.origin(), ALG_ED25519)?;
        // Write the new secret first, so a crash never leaves a ledger whose key is lost.
        let staged = key_path.with_extension("key.new");
        if staged.exists() {
            bail!(
                "{}: a previous rotation was interrupted; inspect and remove it first",
                staged.display()
            );
        }
        keyfile::write_secret_key(&staged, &new)?;
        let appended = match ledger.rotate_key(&ledger_key, &new.verifier()) {
            Ok(a) => a,
            Err(e) => {
                // Refused before anything was written (e.g. not the ledger key): the staged
                // key belongs to nothing. After any other error it may be the ledger's key.
                if matches!(e, vigil_ledger::LedgerError::Invalid(_)) {
                    let _ = fs::remove_file(&staged);
                }
                return Err(e.into());
            }
        };
        fs::rename(&staged, &key_path)
            .with_context(|| format!("{}: cannot replace the ledger key", key_path.display()))?;
        let pub_path = keyfile::public_path_for(&key_path);
        let _ = fs::remove_file(&pub_path);
        keyfile::write_public_key(&pub_path, &new.verifier())?;
        info(format!(
            "ledger key rotated at entry {}; the old secret key was replaced in {} (old public keys stay verifiable)",
            appended.seq,
            key_path.display()
        ));
        println!("{}", new.verifier());
        return Ok(Outcome::Ok);
    }
    let Some(new_key) = &a.new_key else {
        bail!("--new-key or --ledger is required")
    };
    let vkey = keyfile::read_public_key(new_key)?;
    let appended = ledger.rotate_key(&ledger_key, &vkey)?;
    info(format!(
        "key {} rotated at entry {}",
        vkey.name, appended.seq
    ));
    println!(
        "{}",
        serde_json::json!({"seq": appended.seq, "hash": hex::encode(appended.hash), "key": vkey.to_string()})
    );
    Ok(Outcome::Ok)
}

/// Revokes a producer key.
pub fn revoke(a: &RevokeArgs) -> Result<Outcome> {
    let ledger_key = load_ledger_key(&a.db)?;
    let mut ledger = open(&a.db.db)?;
    let appended = ledger.revoke_key(&ledger_key, &a.name, &a.reason)?;
    info(format!("key {} revoked at entry {}", a.name, appended.seq));
    println!(
        "{}",
        serde_json::json!({"seq": appended.seq, "hash": hex::encode(appended.hash), "revoked": a.name})
    );
    Ok(Outcome::Ok)
}
