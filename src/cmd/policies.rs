//! `vigil ledger record-policies`: a snapshot of the Conditional Access policy set (and its
//! named locations) as a `policy` entry, so the ledger holds which policies were in force when.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_ledger::{Kind, NewEntry, entry, keyfile};
use vigil_simulator::{location, policy, text};

use super::open;
use crate::Outcome;
use crate::output::info;

/// `vigil ledger record-policies`.
#[derive(Args)]
pub struct RecordPoliciesArgs {
    /// Ledger database file.
    #[arg(long)]
    pub db: PathBuf,
    /// Secret key that signs the snapshot (registered for policy).
    #[arg(long)]
    pub key: PathBuf,
    /// The policies in force: Graph conditionalAccessPolicy JSON (array, {"value":[...]}, or a
    /// folder of one-policy files), as `simulate --policies` reads them.
    #[arg(long)]
    pub policies: PathBuf,
    /// Graph namedLocation JSON (array, list, or folder), as `simulate --named-locations` reads it.
    #[arg(long)]
    pub named_locations: Option<PathBuf>,
    /// When the set took effect (RFC 3339, e.g. 2026-03-01T00:00:00Z) [default: now].
    #[arg(long, value_name = "TIME")]
    pub effective_from: Option<String>,
}

/// The Graph objects of every `.json` file under `path`, sorted by id (lowercased): the
/// snapshot does not depend on file names, file order or member order.
fn graph_objects(path: &Path, kind: &str) -> Result<Vec<Value>> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut warnings = Vec::new();
    for file in text::list_files(path, &["json"])? {
        let doc = text::read_json(&file)?;
        for (_, obj) in policy::records(&doc, &file, kind, &mut warnings)? {
            let id = obj
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            out.push((id, Value::Object(obj.clone())));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

/// The snapshot of a policy set (and its named locations): the Graph objects sorted by id and
/// `policySetSha256`, the SHA-256 of the RFC 8785 bytes of
/// `{"namedLocations": <list or null>, "policies": <list>}` (SPEC.md §1.1).
pub(crate) fn snapshot(
    policies: &Path,
    named_locations: Option<&Path>,
) -> Result<(Vec<Value>, Option<Vec<Value>>, String)> {
    let policies = graph_objects(policies, "policy")?;
    let locations = named_locations
        .map(|p| graph_objects(p, "named location"))
        .transpose()?;
    let snapshot = json!({ "policies": policies.clone(), "namedLocations": locations.clone() });
    let canonical = entry::canonical_payload(&snapshot)
        .map_err(|e| anyhow::anyhow!("--policies: cannot canonicalize the snapshot: {e}"))?;
    Ok((policies, locations, hex::encode(Sha256::digest(&canonical))))
}

/// Records the snapshot unless it equals the latest one on the ledger.
pub fn run(a: &RecordPoliciesArgs) -> Result<Outcome> {
    let effective = match &a.effective_from {
        None => jiff::Timestamp::now(),
        Some(t) => super::flag_time("--effective-from", t)?,
    };
    // Parsed as `simulate` parses them, so a snapshot on the ledger is one the simulator can
    // replay; errors name the file, policy and field.
    let set = policy::load_policies(&a.policies)?;
    let mut warnings = set.warnings.clone();
    if let Some(p) = &a.named_locations {
        warnings.extend(location::load_named_locations(p)?.warnings);
    }
    for w in &warnings {
        info(format!("warning: {w}"));
    }
    let (policies, locations, sha) = snapshot(&a.policies, a.named_locations.as_deref())?;

    let key = keyfile::read_secret_key(&a.key).context("--key")?;
    let mut ledger = open(&a.db)?;
    super::require_kind(&mut ledger, &key, Kind::Policy)
        .with_context(|| format!("--key {}", a.key.display()))?;
    if let Some((latest, id)) = ledger.latest_recorded(Kind::Policy)?
        && id == sha
    {
        info(format!(
            "the policy set is identical to the latest snapshot (entry #{}, sha256 {sha}); nothing recorded",
            latest.seq
        ));
        return Ok(Outcome::Ok);
    }
    let mut payload = json!({
        "effectiveFrom": entry::format_ts(effective),
        "sha256": sha,
        "policies": policies,
    });
    if let Some(l) = locations {
        payload["namedLocations"] = Value::Array(l);
    }
    let subject = [("policySetSha256".to_string(), sha.clone())]
        .into_iter()
        .collect();
    let appended = ledger.append(
        &key,
        vec![NewEntry {
            kind: Kind::Policy,
            subject,
            refs: vec![],
            payload,
        }],
    )?;
    for r in &appended {
        println!("{{\"seq\":{},\"hash\":\"{}\"}}", r.seq, hex::encode(r.hash));
        info(format!(
            "policy snapshot #{}: {} policies{}, effective from {}, sha256 {sha}",
            r.seq,
            policies.len(),
            a.named_locations
                .as_ref()
                .map_or_else(String::new, |_| " and their named locations".into()),
            entry::format_ts(effective)
        ));
    }
    Ok(Outcome::Ok)
}
