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
    // --user also names a user by UPN, and a directory change concerns its target users.
    let (by_payload, user_ids) = match &a.user {
        Some(u) => user_entries(&ledger, u)?,
        None => (BTreeSet::new(), BTreeSet::new()),
    };
    let mut start: BTreeSet<u64> = all
        .iter()
        .filter(|(_, env)| {
            criteria.iter().any(|(k, v)| {
                env.subject
                    .get(*k)
                    .is_some_and(|s| s.eq_ignore_ascii_case(v))
            }) || env
                .subject
                .get("userId")
                .is_some_and(|s| user_ids.contains(&s.to_ascii_lowercase()))
        })
        .map(|(s, _)| *s)
        .collect();
    start.extend(by_payload);
    if let Some(s) = a.seq {
        start.insert(s);
    }
    // What the matching entries rest on (refs, followed back: the signal an inference scored)
    // and what rests on them (referrers, followed forward: actions, reviews, runs), but not
    // sideways: a run that used this signal also refs thousands of others, which are not part
    // of this trace. Key entries are not followed (everything rests on the registry).
    let mut found = start.clone();
    let mut stack: Vec<u64> = start.iter().copied().collect();
    while let Some(s) = stack.pop() {
        let Some(env) = all.get(&s) else { continue };
        for r in &env.refs {
            if all.get(&r.seq).is_some_and(|e| e.kind != Kind::Key) && found.insert(r.seq) {
                stack.push(r.seq);
            }
        }
    }
    let mut stack: Vec<u64> = start.into_iter().collect();
    let mut down = BTreeSet::new();
    while let Some(s) = stack.pop() {
        if all.get(&s).is_some_and(|e| e.kind == Kind::Key) {
            continue;
        }
        for r in referrers.get(&s).into_iter().flatten() {
            if down.insert(*r) {
                stack.push(*r);
            }
        }
    }
    found.extend(down);
    if a.user.is_some() {
        // A user's trace is what concerns the user, not the runs that replayed their sign-ins.
        found.retain(|s| {
            all.get(s).is_some_and(|e| {
                matches!(
                    e.kind,
                    Kind::Signal | Kind::Inference | Kind::Action | Kind::Review
                )
            })
        });
    }
    if found.is_empty() {
        eprintln!("vigil: no entries match");
        return Ok(Outcome::Ok);
    }
    let mut table = Table::new();
    table.set_header(["seq", "time", "kind", "actor", "subject", "refs", "what"]);
    for s in &found {
        let Some(e) = ledger.entry(*s)? else { continue };
        if a.json {
            println!("{}", entry_json(&e));
            continue;
        }
        let Some(env) = all.get(s) else { continue };
        let payload = match &e.payload {
            None => "(redacted)".to_string(),
            Some((_, p)) => summarize(env.kind, p),
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
            refs_cell(&env.refs),
            payload,
        ]);
    }
    if !a.json {
        println!("{table}");
    }
    Ok(Outcome::Ok)
}

/// For `trace --user`: the entries whose payload names the user (a signal's
/// `userPrincipalName` or `userId`, a directory change's target user by id or UPN), and the
/// user ids those entries give the user (lowercased), from one streaming pass.
fn user_entries(ledger: &Ledger, user: &str) -> Result<(BTreeSet<u64>, BTreeSet<String>)> {
    let user = user.to_ascii_lowercase();
    let mut ids = BTreeSet::from([user.clone()]);
    let mut seqs = BTreeSet::new();
    let is_user = |v: Option<&serde_json::Value>| {
        v.and_then(|x| x.as_str())
            .is_some_and(|x| x.eq_ignore_ascii_case(&user))
    };
    ledger.for_each_entry(0, Some(&[Kind::Signal, Kind::Action]), &mut |e| {
        if !matches!(
            vigil_ledger::entry::kind_of_canonical(&e.envelope),
            Some(Kind::Signal | Kind::Action)
        ) {
            return true;
        }
        let Some(p) = e
            .payload
            .as_ref()
            .and_then(|(_, p)| serde_json::from_slice::<serde_json::Value>(p).ok())
        else {
            return true;
        };
        if is_user(p.get("userPrincipalName")) || is_user(p.get("userId")) {
            seqs.insert(e.seq);
            if let Some(id) = p.get("userId").and_then(|x| x.as_str()) {
                ids.insert(id.to_ascii_lowercase());
            }
        }
        for t in p
            .get("targetResources")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            if is_user(t.get("id")) || is_user(t.get("userPrincipalName")) {
                seqs.insert(e.seq);
                if let Some(id) = t.get("id").and_then(|x| x.as_str()) {
                    ids.insert(id.to_ascii_lowercase());
                }
            }
        }
        true
    })?;
    Ok((seqs, ids))
}

/// The refs column: every seq, or the first few and how many more (a run refs many signals).
fn refs_cell(refs: &[vigil_ledger::Ref]) -> String {
    const SHOWN: usize = 8;
    let mut cell = refs
        .iter()
        .take(SHOWN)
        .map(|r| r.seq.to_string())
        .collect::<Vec<_>>()
        .join(",");
    if refs.len() > SHOWN {
        cell.push_str(&format!(",… (+{})", refs.len() - SHOWN));
    }
    cell
}

/// At most `n` characters of `t`, with an ellipsis when cut.
pub(crate) fn cut(t: &str, n: usize) -> String {
    if t.chars().count() > n {
        format!("{}…", t.chars().take(n).collect::<String>())
    } else {
        t.to_string()
    }
}

/// One line saying what a payload records, in the words of its kind; the raw payload (cut)
/// when it is not in the shape vigil's producers write.
fn summarize(kind: Kind, payload: &[u8]) -> String {
    let raw = || cut(&String::from_utf8_lossy(payload), 80);
    let Ok(serde_json::Value::Object(p)) = serde_json::from_slice::<serde_json::Value>(payload)
    else {
        return raw();
    };
    let text = |k: &str| -> Option<String> {
        p.get(k).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
    };
    let parts: Vec<String> = match kind {
        Kind::Signal => {
            let mut v = Vec::new();
            if let Some(who) = text("userPrincipalName").or_else(|| text("userId")) {
                v.push(who);
            }
            if let Some(app) = text("appDisplayName").or_else(|| text("appId")) {
                v.push(format!("-> {app}"));
            }
            if let Some(ip) = text("ipAddress") {
                v.push(format!("from {ip}"));
            }
            if let Some(c) = text("country") {
                v.push(format!("({c})"));
            }
            if let Some(e) = text("errorCode") {
                v.push(format!("error {e}"));
            }
            v
        }
        Kind::Inference => {
            let mut v = Vec::new();
            if let Some(s) = text("score") {
                v.push(format!("score {s}"));
            }
            v.extend(text("riskLevel"));
            if let Some(a) = text("recommendedAction") {
                v.push(format!("recommends {a}"));
            }
            if let Some(r) = text("reasoning") {
                v.push(format!("\"{r}\""));
            }
            if let Some(m) = text("model") {
                v.push(format!("[{m}]"));
            }
            v
        }
        Kind::Action if text("source").as_deref() == Some(super::record_audits::SOURCE) => {
            let mut v = vec![text("activity").unwrap_or_default()];
            if let Some(by) = p.get("initiatedBy") {
                let who = ["user", "app"].iter().find_map(|k| {
                    let o = by.get(*k)?;
                    ["userPrincipalName", "displayName", "appId", "id"]
                        .iter()
                        .find_map(|f| o.get(*f).and_then(|x| x.as_str()))
                });
                if let Some(w) = who {
                    v.push(format!("by {w}"));
                }
            }
            let targets: Vec<String> = p
                .get("targetResources")
                .and_then(|t| t.as_array())
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    t.get("userPrincipalName")
                        .or_else(|| t.get("displayName"))
                        .or_else(|| t.get("id"))
                        .and_then(|x| x.as_str())
                        .map(str::to_string)
                })
                .collect();
            if !targets.is_empty() {
                v.push(format!("on {}", targets.join(", ")));
            }
            v
        }
        Kind::Action => {
            let mut v = Vec::new();
            if let Some(s) = text("conditionalAccessStatus") {
                v.push(format!("Conditional Access {s}"));
            }
            // Logged outcomes were applied; say so only when an action awaits approval.
            if let Some(s) = text("status").filter(|s| s != "applied") {
                v.push(format!("({s})"));
            }
            if let Some(e) = text("errorCode") {
                v.push(format!("error {e}"));
            }
            let applied: Vec<String> = p
                .get("appliedConditionalAccessPolicies")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .filter(|x| {
                    matches!(
                        x.get("result").and_then(|r| r.as_str()),
                        Some("success" | "failure")
                    )
                })
                .map(|x| {
                    format!(
                        "{}={}",
                        x.get("displayName")
                            .or_else(|| x.get("id"))
                            .and_then(|n| n.as_str())
                            .unwrap_or("?"),
                        x.get("result").and_then(|r| r.as_str()).unwrap_or("?")
                    )
                })
                .collect();
            if !applied.is_empty() {
                v.push(applied.join(", "));
            }
            v
        }
        Kind::Review => {
            let mut v = Vec::new();
            v.extend(text("verdict"));
            if let Some(a) = text("action") {
                v.push(format!("-> {a}"));
            }
            if let Some(r) = text("reason") {
                v.push(format!("\"{r}\""));
            }
            if let Some(r) = text("reviewer") {
                v.push(format!("by {r}"));
            }
            v
        }
        Kind::Policy => {
            let n = p.get("policies").and_then(|x| x.as_array()).map(Vec::len);
            let mut v = Vec::new();
            if let Some(n) = n {
                v.push(format!("{n} policies"));
            }
            if let Some(t) = text("effectiveFrom") {
                v.push(format!("effective from {t}"));
            }
            v
        }
        Kind::Run => {
            let mut v = vec!["simulation".to_string()];
            let sum = p.get("summary");
            if let Some(n) = sum.and_then(|s| s.get("signIns")) {
                v.push(format!("of {n} sign-ins"));
            }
            if let Some(serde_json::Value::Object(st)) = sum
                .and_then(|s| s.get("candidate"))
                .and_then(|c| c.get("status"))
            {
                let parts: Vec<String> = st.iter().map(|(k, n)| format!("{k}={n}")).collect();
                v.push(format!("candidate {}", parts.join(" ")));
            }
            if let Some(ver) = text("vigil") {
                v.push(format!("[vigil {ver}]"));
            }
            v
        }
        _ => Vec::new(),
    };
    if parts.is_empty() {
        raw()
    } else {
        cut(&parts.join(" "), 100)
    }
}
