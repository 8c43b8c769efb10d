//! The NDJSON input line of `vigil ledger append`: one entry to append per line.
//!
//! Lives in the library (not the CLI) so that it can be fuzzed and reused.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::entry::{self, Kind, Ref, parse_hash_hex};
use crate::store::NewEntry;

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

/// Parses one input line (`{"kind":...,"subject":{...},"refs":[...],"payload":...}`) into
/// an entry; `default_kind` applies when the line has no `kind`. The error names the field.
pub fn parse_append_line(line: &str, default_kind: Option<Kind>) -> Result<NewEntry, String> {
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
        entry::validate_subject_key(k).map_err(|e| format!("field `subject`: {e}"))?;
        entry::validate_subject_value(k, v).map_err(|e| format!("field `subject`: {e}"))?;
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
