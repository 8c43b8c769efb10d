//! `vigil ledger show` and `vigil ledger trace`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, Result, bail};
use comfy_table::Table;
use vigil_ledger::store::StoredEntry;
use vigil_ledger::{Envelope, Kind, Ledger};

use super::open_readonly;
use crate::Outcome;
use crate::cli::{ShowArgs, TraceArgs};

const SCAN_CHUNK: u64 = 16384;

fn entry_json(e: &StoredEntry) -> serde_json::Value {
    let envelope: serde_json::Value =
        serde_json::from_slice(&e.envelope).unwrap_or(serde_json::Value::Null);
    let payload = e
        .payload
        .as_ref()
        .and_then(|(_, p)| serde_json::from_slice::<serde_json::Value>(p).ok());
    serde_json::json!({
        "seq": e.seq,
        "hash": hex::encode(&e.hash),
        "envelope": envelope,
        "payload": payload,
        "redacted": e.payload.is_none(),
    })
}

/// Prints entries as NDJSON.
pub fn show(a: &ShowArgs) -> Result<Outcome> {
    let ledger = open_readonly(&a.db)?;
    let size = ledger.size()?;
    let kind = a
        .kind
        .as_deref()
        .map(|k| Kind::parse(k).with_context(|| format!("--kind: {k:?} is not an entry kind")))
        .transpose()?;
    let (from, to) = match a.seq {
        Some(s) if s >= size => bail!("--seq {s}: the ledger has {size} entries"),
        Some(s) => (s, s + 1),
        None => (a.from.unwrap_or(0), a.to.unwrap_or(size).min(size)),
    };
    let mut at = from;
    while at < to {
        let end = (at + SCAN_CHUNK).min(to);
        for e in ledger.entries_range(at, end)? {
            if let Some(k) = kind
                && Envelope::parse_lenient(&e.envelope).map(|env| env.kind) != Ok(k)
            {
                continue;
            }
            println!("{}", entry_json(&e));
        }
        at = end;
    }
    Ok(Outcome::Ok)
}

/// Scans every envelope once, returning parsed envelopes keyed by seq.
fn scan(ledger: &Ledger) -> Result<BTreeMap<u64, Envelope>> {
    let size = ledger.size()?;
    let mut out = BTreeMap::new();
    let mut at = 0;
    while at < size {
        let end = (at + SCAN_CHUNK).min(size);
        for e in ledger.entries_range(at, end)? {
            if let Ok(env) = Envelope::parse_lenient(&e.envelope) {
                out.insert(e.seq, env);
            }
        }
        at = end;
    }
    Ok(out)
}

/// Follows one event through the ledger: everything it refs and everything that refs it.
pub fn trace(a: &TraceArgs) -> Result<Outcome> {
    let ledger = open_readonly(&a.db)?;
    let criteria: Vec<(&str, &str)> = [
        ("correlationId", &a.correlation_id),
        ("signInId", &a.signin),
        ("userId", &a.user),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    .collect();
    if criteria.is_empty() && a.seq.is_none() {
        bail!("give --correlation-id, --signin, --user or --seq");
    }
    let all = scan(&ledger)?;
    let mut referrers: HashMap<u64, Vec<u64>> = HashMap::new();
    for (seq, env) in &all {
        for r in &env.refs {
            referrers.entry(r.seq).or_default().push(*seq);
        }
    }
    let mut start: BTreeSet<u64> = all
        .iter()
        .filter(|(_, env)| {
            criteria
                .iter()
                .any(|(k, v)| env.subject.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(s, _)| *s)
        .collect();
    if let Some(s) = a.seq {
        start.insert(s);
    }
    // Walk refs both ways, but not through key entries (everything refs the registry).
    let mut found = BTreeSet::new();
    let mut stack: Vec<u64> = start.into_iter().collect();
    while let Some(s) = stack.pop() {
        if !found.insert(s) {
            continue;
        }
        let Some(env) = all.get(&s) else { continue };
        if env.kind == Kind::Key {
            continue;
        }
        stack.extend(env.refs.iter().map(|r| r.seq));
        if let Some(rs) = referrers.get(&s) {
            stack.extend(rs);
        }
    }
    if found.is_empty() {
        eprintln!("vigil: no entries match");
        return Ok(Outcome::Ok);
    }
    let mut table = Table::new();
    table.set_header(["seq", "time", "kind", "actor", "subject", "refs", "payload"]);
    for s in &found {
        let Some(e) = ledger.entry(*s)? else { continue };
        if a.json {
            println!("{}", entry_json(&e));
            continue;
        }
        let Some(env) = all.get(s) else { continue };
        let payload = match &e.payload {
            None => "(redacted)".to_string(),
            Some((_, p)) => {
                let t = String::from_utf8_lossy(p);
                if t.chars().count() > 80 {
                    format!("{}…", t.chars().take(80).collect::<String>())
                } else {
                    t.into_owned()
                }
            }
        };
        table.add_row([
            s.to_string(),
            env.ts.clone(),
            env.kind.to_string(),
            env.actor.clone(),
            env.subject
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            env.refs
                .iter()
                .map(|r| r.seq.to_string())
                .collect::<Vec<_>>()
                .join(","),
            payload,
        ]);
    }
    if !a.json {
        println!("{table}");
    }
    Ok(Outcome::Ok)
}
