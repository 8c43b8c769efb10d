//! `vigil ledger append`: streaming NDJSON input, durable group commits.
//!
//! A reader thread parses lines while the writer commits; each batch is whatever has
//! arrived (up to --batch), so a single line is committed at once and a fast stream is
//! committed in large groups. Every committed entry is acknowledged on stdout as
//! `{"seq":N,"hash":"..."}` only after its transaction was fsync'd.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::mpsc;

use anyhow::{Context, Result, anyhow};
use vigil_ledger::input::parse_append_line;
use vigil_ledger::{Kind, LedgerError, NewEntry, keyfile};

use super::open;
use crate::Outcome;
use crate::output::info;

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
                Ok(l) => parse_append_line(&l, default_kind)
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
            let appended = match ledger.append(&key, items.clone()) {
                Ok(a) => a,
                // A batch is one transaction, so one refused line (a bad ref, a kind the key may
                // not sign) refuses them all. Commit its lines one by one instead: the lines
                // before the bad one stay committed and the error names the bad line.
                Err(LedgerError::Invalid(_)) => {
                    let mut done = Vec::with_capacity(items.len());
                    for (n, item) in lines.iter().zip(items) {
                        match ledger.append(&key, vec![item]) {
                            Ok(a) => done.extend(a),
                            Err(e) => {
                                failure = Some(format!("{source} line {n}: {e}"));
                                break;
                            }
                        }
                    }
                    done
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "{source} lines {first_line}..={}: nothing in this batch was written",
                        lines[lines.len() - 1]
                    )));
                }
            };
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
