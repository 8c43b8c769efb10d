//! `vigil simulate --ledger DB --key KEY`: the simulation recorded as a signed `run` entry.
//!
//! The payload says what was replayed and what came out: the vigil version, the options that
//! affect results, the SHA-256 of every input file, the candidate policy ids and the summary
//! counts (shape in ledger/SPEC.md §1.1). Its refs are the `signal` entries of the replayed
//! sign-ins the ledger already holds, the first [`MAX_SIGNAL_REFS`] in input order, plus the
//! `policy` snapshot of the candidate set when the ledger holds one; so `vigil ledger trace
//! --signin ID` reaches the run from the sign-in's signal.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use vigil_ledger::{Kind, Ledger, NewEntry, Ref, SignerKey, keyfile};
use vigil_simulator::simulate::{LedgerRun, Summary};
use vigil_simulator::snapshots::SNAPSHOT_EXTENSIONS;
use vigil_simulator::text;

use crate::cli::SimulateArgs;
use crate::output::info;

/// At most this many `signal` refs per run entry (the first matches in input order). Every
/// match is counted in the payload (`signals.onLedger`); a sign-in past the cap is named in the
/// run's input hashes, not linked by a ref, so `trace --signin` does not reach the run from it.
pub const MAX_SIGNAL_REFS: usize = 1000;

/// The ledger and the key a run is recorded with, checked before the simulation starts.
pub struct Recorder {
    db: PathBuf,
    ledger: Ledger,
    key: SignerKey,
}

impl Recorder {
    /// Opens the ledger and checks that `key` may sign `run` entries.
    pub fn open(db: &Path, key: &Path) -> Result<Recorder> {
        let signer = keyfile::read_secret_key(key).context("--key")?;
        let mut ledger = super::open(db).with_context(|| format!("--ledger {}", db.display()))?;
        super::require_kind(&mut ledger, &signer, Kind::Run).with_context(|| {
            format!(
                "--key {}: simulate records its run as a `run` entry; register the key for run (vigil ledger key add --kinds run)",
                key.display()
            )
        })?;
        Ok(Recorder {
            db: db.to_path_buf(),
            ledger,
            key: signer,
        })
    }

    /// Appends the `run` entry for a finished simulation.
    pub fn record(
        &mut self,
        a: &SimulateArgs,
        inputs: Map<String, Value>,
        candidate_ids: &[String],
        signin_ids: &[String],
        summary: &Summary,
    ) -> Result<LedgerRun> {
        // Distinct sign-ins, in input order.
        let mut seen = HashSet::new();
        let ids: Vec<&str> = signin_ids
            .iter()
            .filter(|id| seen.insert(id.to_ascii_lowercase()))
            .map(String::as_str)
            .collect();
        let signals = self.ledger.first_recorded_many(Kind::Signal, &ids)?;
        let matched: Vec<_> = signals.into_iter().flatten().collect();
        let mut refs: Vec<Ref> = matched
            .iter()
            .take(MAX_SIGNAL_REFS)
            .map(|s| Ref {
                seq: s.seq,
                hash: s.hash,
            })
            .collect();
        // The candidate set as `vigil ledger record-policies` would have snapshotted it.
        let (_, _, set_sha) = super::policies::snapshot(&a.policies, a.named_locations.as_deref())?;
        let policy = self
            .ledger
            .first_recorded_many(Kind::Policy, &[set_sha.as_str()])?
            .into_iter()
            .flatten()
            .next();
        if let Some(p) = policy {
            refs.push(Ref {
                seq: p.seq,
                hash: p.hash,
            });
        }
        refs.sort_by_key(|r| r.seq);
        refs.dedup_by_key(|r| r.seq);

        let status_only = |c: &vigil_simulator::simulate::SideCounts| json!({ "status": c.status });
        let thresholds_sha = inputs
            .get("thresholds")
            .and_then(|t| t.get(0))
            .and_then(|t| t.get("sha256"))
            .cloned()
            .unwrap_or(Value::Null);
        let payload = json!({
            "vigil": env!("CARGO_PKG_VERSION"),
            "options": {
                "baseline": a.baseline,
                "decisions": a.decisions,
                "skipBadRecords": a.skip_bad_records,
                "dateOrder": match a.date_order {
                    crate::cli::DateOrderArg::Mdy => "mdy",
                    crate::cli::DateOrderArg::Dmy => "dmy",
                },
                "userRiskComplete": a.user_risk_complete,
            },
            "inputs": inputs,
            "candidatePolicies": candidate_ids,
            "thresholdsSha256": thresholds_sha,
            "policySetSha256": set_sha,
            "summary": {
                "signIns": summary.sign_ins,
                "skipped": summary.skipped,
                "duplicates": summary.duplicates,
                "changed": summary.changed,
                "candidate": status_only(&summary.candidate),
                "baseline": summary.baseline.as_ref().map(status_only),
                "transitions": summary.transitions,
            },
            "signals": {
                "signIns": ids.len(),
                "onLedger": matched.len(),
                "referenced": matched.len().min(MAX_SIGNAL_REFS),
                "refCap": MAX_SIGNAL_REFS,
            },
        });
        let appended = self.ledger.append(
            &self.key,
            vec![NewEntry {
                kind: Kind::Run,
                subject: BTreeMap::new(),
                refs,
                payload,
            }],
        )?;
        let e = appended
            .first()
            .ok_or_else(|| anyhow!("the ledger appended no run entry"))?;
        let hash = hex::encode(e.hash);
        info(format!(
            "recorded run entry #{} (hash {hash}) on {}: {} of {} sign-ins have a signal on the ledger, {} referenced",
            e.seq,
            self.db.display(),
            matched.len(),
            ids.len(),
            matched.len().min(MAX_SIGNAL_REFS)
        ));
        Ok(LedgerRun {
            seq: e.seq,
            hash,
            db: self.db.display().to_string(),
        })
    }
}

/// `[{"path", "sha256", "bytes"}]` for every file an input path names (a folder: the files
/// its loader reads, in bytewise path order). Gives up when `stop` is set.
fn hash_files(path: &Path, exts: &[&str], stop: &AtomicBool) -> Result<Value> {
    let mut out = Vec::new();
    for f in text::list_files(path, exts)? {
        let mut file = File::open(&f).with_context(|| format!("{}: cannot read", f.display()))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            if stop.load(Ordering::Relaxed) {
                bail!("hashing the inputs was stopped");
            }
            let n = file
                .read(&mut buf)
                .with_context(|| format!("{}: cannot read", f.display()))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            bytes += n as u64;
        }
        out.push(json!({
            "path": f.display().to_string(),
            "sha256": hex::encode(h.finalize()),
            "bytes": bytes,
        }));
    }
    Ok(Value::Array(out))
}

/// The SHA-256 of every input file of a simulation, by flag (camelCase; absent flags left out).
/// Gives up when `stop` is set (the simulation failed: nobody waits for the hashes).
pub fn input_hashes(a: &SimulateArgs, stop: &AtomicBool) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    let mut signins = Vec::new();
    for p in &a.signins {
        if let Value::Array(v) = hash_files(p, &[], stop)? {
            signins.extend(v);
        }
    }
    m.insert("signins".into(), Value::Array(signins));
    m.insert("policies".into(), hash_files(&a.policies, &["json"], stop)?);
    let optional: [(&str, Option<&Path>, &[&str]); 6] = [
        ("namedLocations", a.named_locations.as_deref(), &["json"]),
        ("directory", a.directory.as_deref(), &["json"]),
        ("scores", a.scores.as_deref(), &[]),
        ("thresholds", a.thresholds.as_deref(), &[]),
        ("userRisk", a.user_risk.as_deref(), SNAPSHOT_EXTENSIONS),
        ("devices", a.devices.as_deref(), SNAPSHOT_EXTENSIONS),
    ];
    for (name, path, exts) in optional {
        if let Some(p) = path {
            let hashed = match super::ledger_source::ledger_path(p) {
                Some(db) => ledger_state(&db)?,
                None => hash_files(p, exts, stop)?,
            };
            m.insert(name.into(), hashed);
        }
    }
    if let Some(db) = super::ledger_source::ledger_path(Path::new(&a.baseline)) {
        m.insert("baseline".into(), ledger_state(&db)?);
    } else if !matches!(a.baseline.as_str(), "logged" | "none") {
        m.insert(
            "baseline".into(),
            hash_files(Path::new(&a.baseline), &["json"], stop)?,
        );
    }
    Ok(m)
}

/// A ledger read as an input (`ledger:DB`): its file, size and Merkle root when read.
fn ledger_state(db: &Path) -> Result<Value> {
    let ledger = super::open_readonly(db)?;
    let size = ledger.size()?;
    Ok(serde_json::json!({
        "ledger": db.display().to_string(),
        "size": size,
        "root": hex::encode(ledger.root_at(size)?),
    }))
}
