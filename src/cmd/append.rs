//! `vigil ledger append`: streaming NDJSON input, durable group commits.
//!
//! A reader thread parses lines while the writer commits; each batch is whatever has
//! arrived (up to --batch), so a single line is committed at once and a fast stream is
//! committed in large groups. Every committed entry is acknowledged on stdout as
//! `{"seq":N,"hash":"..."}` only after its transaction was fsync'd.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::mpsc;

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use vigil_ledger::entry::parse_hash_hex;
use vigil_ledger::{Kind, NewEntry, Ref, keyfile};

use super::open;
use crate::Outcome;
use crate::output::info;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputRef {
    seq: u64,
    hash: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    kind: Option<String>,
    #[serde(default)]
    subject: BTreeMap<String, String>,
    #[serde(default)]
    refs: Vec<InputRef>,
    payload: serde_json::Value,
}

/// Parses one input line into an entry; the error names the field.
pub fn parse_line(line: &str, default_kind: Option<Kind>) -> Result<NewEntry, String> {
    let raw: InputLine = serde_json::from_str(line).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("missing field `payload`") {
            "field `payload` is missing (each line is {\"subject\":{...},\"refs\":[...],\"payload\":{...}})".to_string()
        } else {
            msg
        }
    })?;
    let kind = match &raw.kind {
        Some(k) => {
            Kind::parse(k).ok_or_else(|| format!("field `kind`: {k:?} is not an entry kind"))?
        }
        None => default_kind.ok_or("field `kind` is missing and no --kind was given")?,
    };
    if kind.is_ledger_only() {
        return Err(format!(
            "field `kind`: `{kind}` entries are written by vigil itself, not appended"
        ));
    }
    for (k, v) in &raw.subject {
        vigil_ledger::entry::validate_subject_key(k)
            .map_err(|e| format!("field `subject`: {e}"))?;
        vigil_ledger::entry::validate_subject_value(k, v)
            .map_err(|e| format!("field `subject`: {e}"))?;
    }
    let refs = raw
        .refs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let hash = parse_hash_hex(&r.hash)
                .ok_or_else(|| format!("field `refs[{i}].hash`: not 64 lowercase hex digits"))?;
            Ok(Ref { seq: r.seq, hash })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(NewEntry {
        kind,
        subject: raw.subject,
        refs,
        payload: raw.payload,
    })
}

type Parsed = Result<(u64, NewEntry), String>;

/// Runs the append command.
pub fn run(
    db: &Path,
    key_path: &Path,
    kind: Option<&str>,
    input: Option<&Path>,
    batch: usize,
) -> Result<Outcome> {
    let default_kind = kind
        .map(|k| Kind::parse(k).ok_or_else(|| anyhow!("--kind: {k:?} is not an entry kind")))
        .transpose()?;
    let key = keyfile::read_secret_key(key_path)?;
    let mut ledger = open(db)?;
    let source = input.map_or_else(|| "stdin".to_string(), |p| p.display().to_string());
    let reader: Box<dyn BufRead + Send> = match input {
        Some(p) => Box::new(BufReader::new(
            File::open(p).with_context(|| format!("{}: cannot open", p.display()))?,
        )),
        None => Box::new(BufReader::new(std::io::stdin())),
    };
    let (tx, rx) = mpsc::sync_channel::<Parsed>(batch.max(1) * 2);
    let src = source.clone();
    let reader_thread = std::thread::spawn(move || {
        for (i, line) in reader.lines().enumerate() {
            let n = i as u64 + 1;
            let item = match line {
                Err(e) => Err(format!("{src} line {n}: cannot read: {e}")),
                Ok(l) if l.trim().is_empty() => continue,
                Ok(l) => parse_line(&l, default_kind)
                    .map(|e| (n, e))
                    .map_err(|e| format!("{src} line {n}: {e}")),
            };
            let stop = item.is_err();
            if tx.send(item).is_err() || stop {
                break;
            }
        }
    });
    let stdout = std::io::stdout();
    let mut total = 0u64;
    let mut failure: Option<String> = None;
    'outer: while let Ok(first) = rx.recv() {
        let mut lines: Vec<u64> = Vec::new();
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(p) = next.take() {
            match p {
                Ok((n, e)) => {
                    lines.push(n);
                    items.push(e);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            if items.len() < batch.max(1) {
                next = rx.try_recv().ok();
            }
        }
        if !items.is_empty() {
            let first_line = lines[0];
            let appended = ledger.append(&key, items).with_context(|| {
                format!(
                    "{source} lines {first_line}..={}: nothing in this batch was written",
                    lines[lines.len() - 1]
                )
            })?;
            let mut out = stdout.lock();
            for a in &appended {
                writeln!(
                    out,
                    "{{\"seq\":{},\"hash\":\"{}\"}}",
                    a.seq,
                    hex::encode(a.hash)
                )?;
            }
            out.flush()?;
            total += appended.len() as u64;
        }
        if failure.is_some() {
            break 'outer;
        }
    }
    drop(rx);
    let _ = reader_thread.join();
    if let Some(f) = failure {
        return Err(anyhow!("{f}\n({total} entries before it were committed)"));
    }
    info(format!("appended {total} entries"));
    Ok(Outcome::Ok)
}
