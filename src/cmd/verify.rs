//! `vigil ledger verify`.

use std::fs;

use anyhow::{Context, Result};
use vigil_ledger::bundle::verify_bundle;
use vigil_ledger::keyfile;
use vigil_ledger::note::{SignedCheckpoint, verify_cosignatures};
use vigil_ledger::verify::{Finding, Report};

use super::ledger_source::{read_checkpoint, verify_db};
use super::{open_readonly, print_json};
use crate::Outcome;
use crate::cli::VerifyArgs;
use crate::output::progress;

/// Runs verification and prints the report.
pub fn run(a: &VerifyArgs) -> Result<Outcome> {
    let trusted = a
        .checkpoint
        .iter()
        .map(|p| read_checkpoint(p))
        .collect::<Result<Vec<_>>>()?;
    let pinned = a
        .ledger_key
        .iter()
        .map(|k| keyfile::read_public_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    let report = if let Some(dir) = &a.bundle {
        let pb = progress(0, "verifying bundle");
        let r = verify_bundle(dir, trusted, pinned, |done, total| {
            pb.set_length(total);
            pb.set_position(done);
        })?;
        pb.finish_and_clear();
        r
    } else {
        let db = a.db.as_deref().context("--db or --bundle is required")?;
        let ledger = open_readonly(db)?;
        let from = a.from.as_deref().map(read_checkpoint).transpose()?;
        verify_db(&ledger, trusted, from, pinned)?
    };
    let mut report = report;
    if !a.witness_key.is_empty() {
        check_witnesses(a, &mut report)?;
    }
    if a.json {
        print_json(&report)?;
    } else {
        print_human(&report);
    }
    Ok(if report.ok {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}

/// Requires every user-given checkpoint to be cosigned by at least one of the witness keys.
fn check_witnesses(a: &VerifyArgs, report: &mut Report) -> Result<()> {
    let witnesses = a
        .witness_key
        .iter()
        .map(|k| keyfile::read_public_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    for p in &a.checkpoint {
        let bytes =
            fs::read(p).with_context(|| format!("{}: cannot read checkpoint", p.display()))?;
        let problem = match SignedCheckpoint::parse(&bytes) {
            Err(_) => continue, // already reported as checkpoint-invalid
            Ok(cp) => match verify_cosignatures(&cp, &witnesses) {
                Ok(found) if !found.is_empty() => None,
                Ok(_) => Some((
                    "checkpoint-not-witnessed",
                    format!(
                        "checkpoint {} carries no cosignature by the given witness keys",
                        p.display()
                    ),
                )),
                Err(e) => Some((
                    "checkpoint-cosignature-invalid",
                    format!("checkpoint {}: {e}", p.display()),
                )),
            },
        };
        if let Some((code, message)) = problem {
            report.ok = false;
            report.findings.push(Finding {
                seq: None,
                code,
                message,
            });
        }
    }
    Ok(())
}

fn print_human(r: &Report) {
    let origin = r.origin.as_deref().unwrap_or("(unknown)");
    if r.ok {
        let range = if r.entries_checked == 0 {
            "nothing new since the checkpoint".to_string()
        } else {
            format!("seq {}..{}", r.verified_from, r.size.saturating_sub(1))
        };
        println!(
            "OK: ledger {origin}: {} entries verified ({range}), {} in all, root {}",
            r.entries_checked, r.size, r.root
        );
    } else {
        println!(
            "FAILED: ledger {origin}: first bad seq {}: {}",
            r.first_bad_seq
                .map_or_else(|| "-".into(), |s| s.to_string()),
            r.findings.first().map_or("", |f| f.message.as_str())
        );
        for f in &r.findings {
            let seq = f.seq.map_or_else(|| "-".to_string(), |s| s.to_string());
            println!("  seq {seq:>8}  {:<24} {}", f.code, f.message);
        }
    }
    println!("  signatures checked: {}", r.signatures_checked);
    if !r.redacted.is_empty() {
        let list: Vec<String> = r.redacted.iter().map(u64::to_string).collect();
        println!(
            "  redacted (payload erased, recorded, not a finding): {}",
            list.join(", ")
        );
    }
    for c in &r.checkpoints {
        let size = c.size.map_or_else(|| "?".into(), |s| s.to_string());
        println!(
            "  checkpoint {} (size {size}{}): {}",
            c.source,
            if c.trusted { ", trusted" } else { "" },
            c.status
        );
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
}
