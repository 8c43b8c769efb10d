//! Export bundles: everything an auditor needs to verify the ledger offline, in one folder.
//!
//! Layout (see SPEC.md): `manifest.json`, `entries.ndjson`, `entries.parquet`,
//! `payloads.ndjson`, `checkpoints/checkpoint-<size>.txt`, `ledger-keys.txt`.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, FixedSizeBinaryArray, FixedSizeBinaryBuilder, RecordBatch, StringArray,
    StringBuilder, UInt64Array, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::entry::Envelope;
use crate::note::VerifierKey;
use crate::store::{Ledger, LedgerError};
use crate::verify::{CheckpointInput, Report, RowInput, Verifier};

/// `format` of bundle manifests.
pub const BUNDLE_FORMAT: &str = "vigil-bundle/v1";

const CHUNK: u64 = 8192;

/// Why a bundle could not be written or read at all (tampering is a finding, not this).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The ledger could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The bundle is unusable (no manifest, not a bundle).
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `vigil-bundle/v1`.
    pub format: String,
    /// The ledger's origin.
    pub origin: String,
    /// Number of entries in the bundle.
    pub size: u64,
    /// Merkle root of those entries (hex).
    pub root: String,
    /// When the bundle was written.
    pub created: String,
    /// The vigil version that wrote it.
    pub generator: String,
    /// SHA-256 (hex) of every other file, by path relative to the bundle.
    pub files: BTreeMap<String, String>,
}

/// One line of `entries.ndjson`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryLine {
    /// Position.
    pub seq: u64,
    /// Leaf hash (hex).
    pub hash: String,
    /// Canonical envelope, as a JSON string.
    pub envelope: String,
    /// Signing key id (hex, 8 digits).
    pub key_id: String,
    /// Signature (standard base64).
    pub signature: String,
}

/// One line of `payloads.ndjson`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadLine {
    /// Position of the entry.
    pub seq: u64,
    /// Salt (hex).
    pub salt: String,
    /// Canonical payload, as a JSON string.
    pub payload: String,
}

fn parquet_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("hash", DataType::FixedSizeBinary(32), false),
        Field::new("envelope", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, true),
        Field::new("actor", DataType::Utf8, true),
        Field::new("ts", DataType::Utf8, true),
        Field::new("subject", DataType::Utf8, true),
        Field::new("key_id", DataType::FixedSizeBinary(4), false),
        Field::new("signature", DataType::FixedSizeBinary(64), false),
    ]))
}

fn sha256_file(path: &Path) -> Result<String, BundleError> {
    let mut f = BufReader::new(File::open(path).map_err(io(path))?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Writes a bundle of the first `size` entries (all when `None`) into `dir` (created; must be empty).
pub fn export(
    ledger: &Ledger,
    dir: &Path,
    generator: &str,
    mut progress: impl FnMut(u64, u64),
) -> Result<Manifest, BundleError> {
    if dir.exists() && fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(BundleError::Invalid {
            path: dir.to_path_buf(),
            reason: "exists and is not empty; choose a new folder".into(),
        });
    }
    fs::create_dir_all(dir.join("checkpoints")).map_err(io(dir))?;
    let size = ledger.size()?;
    let root = ledger.root_at(size)?;
    let entries_path = dir.join("entries.ndjson");
    let payloads_path = dir.join("payloads.ndjson");
    let parquet_path = dir.join("entries.parquet");
    let mut entries = BufWriter::new(File::create(&entries_path).map_err(io(&entries_path))?);
    let mut payloads = BufWriter::new(File::create(&payloads_path).map_err(io(&payloads_path))?);
    let pq_file = File::create(&parquet_path).map_err(io(&parquet_path))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let schema = parquet_schema();
    let pq_err = |e: parquet::errors::ParquetError| BundleError::Invalid {
        path: parquet_path.clone(),
        reason: e.to_string(),
    };
    let mut writer = ArrowWriter::try_new(pq_file, schema.clone(), Some(props)).map_err(pq_err)?;
    let mut at = 0;
    while at < size {
        let to = (at + CHUNK).min(size);
        let rows = ledger.entries_range(at, to)?;
        let mut seq_b = UInt64Builder::new();
        let mut hash_b = FixedSizeBinaryBuilder::new(32);
        let mut env_b = StringBuilder::new();
        let mut kind_b = StringBuilder::new();
        let mut actor_b = StringBuilder::new();
        let mut ts_b = StringBuilder::new();
        let mut subj_b = StringBuilder::new();
        let mut kid_b = FixedSizeBinaryBuilder::new(4);
        let mut sig_b = FixedSizeBinaryBuilder::new(64);
        for e in &rows {
            let envelope = String::from_utf8_lossy(&e.envelope).into_owned();
            let line = EntryLine {
                seq: e.seq,
                hash: hex::encode(&e.hash),
                envelope: envelope.clone(),
                key_id: hex::encode(&e.key_id),
                signature: B64.encode(&e.sig),
            };
            serde_json::to_writer(&mut entries, &line).map_err(|e| BundleError::Invalid {
                path: entries_path.clone(),
                reason: e.to_string(),
            })?;
            entries.write_all(b"\n").map_err(io(&entries_path))?;
            if let Some((salt, payload)) = &e.payload {
                let p = PayloadLine {
                    seq: e.seq,
                    salt: hex::encode(salt),
                    payload: String::from_utf8_lossy(payload).into_owned(),
                };
                serde_json::to_writer(&mut payloads, &p).map_err(|e| BundleError::Invalid {
                    path: payloads_path.clone(),
                    reason: e.to_string(),
                })?;
                payloads.write_all(b"\n").map_err(io(&payloads_path))?;
            }
            let parsed = Envelope::parse_lenient(&e.envelope).ok();
            seq_b.append_value(e.seq);
            let bad = |what: &str| BundleError::Invalid {
                path: parquet_path.clone(),
                reason: format!("entry {}: stored {what} has the wrong length", e.seq),
            };
            hash_b.append_value(&e.hash).map_err(|_| bad("hash"))?;
            env_b.append_value(&envelope);
            kind_b.append_option(parsed.as_ref().map(|p| p.kind.as_str()));
            actor_b.append_option(parsed.as_ref().map(|p| p.actor.as_str()));
            ts_b.append_option(parsed.as_ref().map(|p| p.ts.as_str()));
            subj_b.append_option(
                parsed
                    .as_ref()
                    .and_then(|p| serde_json::to_string(&p.subject).ok()),
            );
            kid_b.append_value(&e.key_id).map_err(|_| bad("key id"))?;
            sig_b.append_value(&e.sig).map_err(|_| bad("signature"))?;
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(seq_b.finish()),
            Arc::new(hash_b.finish()),
            Arc::new(env_b.finish()),
            Arc::new(kind_b.finish()),
            Arc::new(actor_b.finish()),
            Arc::new(ts_b.finish()),
            Arc::new(subj_b.finish()),
            Arc::new(kid_b.finish()),
            Arc::new(sig_b.finish()),
        ];
        let batch =
            RecordBatch::try_new(schema.clone(), cols).map_err(|e| BundleError::Invalid {
                path: parquet_path.clone(),
                reason: e.to_string(),
            })?;
        writer.write(&batch).map_err(pq_err)?;
        at = to;
        progress(at, size);
    }
    writer.close().map_err(pq_err)?;
    entries.flush().map_err(io(&entries_path))?;
    payloads.flush().map_err(io(&payloads_path))?;
    for (cp_size, note) in ledger.checkpoints()? {
        if cp_size <= size {
            let p = dir
                .join("checkpoints")
                .join(format!("checkpoint-{cp_size:012}.txt"));
            fs::write(&p, note).map_err(io(&p))?;
        }
    }
    let mut ledger_keys = Vec::new();
    {
        // The registry is read from the ledger itself; auditors should pin the ledger key they got out of band.
        let mut l = Ledger::open_readonly(ledger.path())?;
        for (_, k) in l.registry()?.ledger_keys() {
            ledger_keys.push(k.to_string());
        }
    }
    let keys_path = dir.join("ledger-keys.txt");
    fs::write(&keys_path, ledger_keys.join("\n") + "\n").map_err(io(&keys_path))?;
    let mut files = BTreeMap::new();
    for rel in list_files(dir)? {
        if rel != "manifest.json" {
            files.insert(rel.clone(), sha256_file(&dir.join(&rel))?);
        }
    }
    let manifest = Manifest {
        format: BUNDLE_FORMAT.into(),
        origin: ledger.origin().to_string(),
        size,
        root: hex::encode(root),
        created: crate::entry::format_ts(jiff::Timestamp::now()),
        generator: generator.to_string(),
        files,
    };
    let mpath = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| BundleError::Invalid {
        path: mpath.clone(),
        reason: e.to_string(),
    })?;
    fs::write(&mpath, text + "\n").map_err(io(&mpath))?;
    Ok(manifest)
}

fn list_files(dir: &Path) -> Result<Vec<String>, BundleError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).map_err(io(&d))? {
            let e = e.map_err(io(&d))?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn parse_entry_line(line: &str) -> Result<RowInput, String> {
    let l: EntryLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
    Ok(RowInput {
        position: l.seq,
        hash: hex::decode(&l.hash).map_err(|e| format!("field hash: {e}"))?,
        envelope: l.envelope.into_bytes(),
        key_id: hex::decode(&l.key_id).map_err(|e| format!("field key_id: {e}"))?,
        sig: B64
            .decode(&l.signature)
            .map_err(|e| format!("field signature: {e}"))?,
        payload: None,
    })
}

/// Verifies a bundle folder with nothing else (no database). Tampering shows as findings.
pub fn verify_bundle(
    dir: &Path,
    trusted: Vec<CheckpointInput>,
    pinned: Vec<VerifierKey>,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, BundleError> {
    let mpath = dir.join("manifest.json");
    let mtext = fs::read_to_string(&mpath).map_err(io(&mpath))?;
    let manifest: Manifest = serde_json::from_str(&mtext).map_err(|e| BundleError::Invalid {
        path: mpath.clone(),
        reason: format!("not a vigil bundle manifest: {e}"),
    })?;
    if manifest.format != BUNDLE_FORMAT {
        return Err(BundleError::Invalid {
            path: mpath,
            reason: format!("format {:?} is not {BUNDLE_FORMAT}", manifest.format),
        });
    }
    let mut early: Vec<(Option<u64>, &'static str, String)> = Vec::new();
    let present = list_files(dir)?;
    for (rel, want) in &manifest.files {
        if !present.contains(rel) {
            early.push((
                None,
                "bundle-file-missing",
                format!("{rel} is listed in manifest.json but missing"),
            ));
        } else if sha256_file(&dir.join(rel))? != *want {
            early.push((
                None,
                "bundle-file-modified",
                format!("{rel} does not match its SHA-256 in manifest.json"),
            ));
        }
    }
    for rel in &present {
        if rel != "manifest.json" && !manifest.files.contains_key(rel) {
            early.push((
                None,
                "bundle-file-unlisted",
                format!("{rel} is not listed in manifest.json"),
            ));
        }
    }
    // Payloads, keyed by seq.
    let ppath = dir.join("payloads.ndjson");
    let mut payloads: HashMap<u64, (Vec<u8>, Vec<u8>)> = HashMap::new();
    if ppath.exists() {
        for (i, line) in BufReader::new(File::open(&ppath).map_err(io(&ppath))?)
            .lines()
            .enumerate()
        {
            let line = line.map_err(io(&ppath))?;
            match serde_json::from_str::<PayloadLine>(&line)
                .map_err(|e| e.to_string())
                .and_then(|p| {
                    Ok((
                        p.seq,
                        hex::decode(&p.salt).map_err(|e| format!("field salt: {e}"))?,
                        p.payload.into_bytes(),
                    ))
                }) {
                Ok((seq, salt, payload)) => {
                    if payloads.insert(seq, (salt, payload)).is_some() {
                        early.push((
                            Some(seq),
                            "bundle-row-invalid",
                            format!(
                                "payloads.ndjson line {}: second payload for seq {seq}",
                                i + 1
                            ),
                        ));
                    }
                }
                Err(e) => early.push((
                    None,
                    "bundle-row-invalid",
                    format!("payloads.ndjson line {}: {e}", i + 1),
                )),
            }
        }
    }
    let mut cps: Vec<CheckpointInput> = Vec::new();
    let cpdir = dir.join("checkpoints");
    if cpdir.is_dir() {
        let mut names: Vec<PathBuf> = fs::read_dir(&cpdir)
            .map_err(io(&cpdir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        names.sort();
        for p in names {
            let bytes = fs::read(&p).map_err(io(&p))?;
            cps.push(CheckpointInput {
                source: format!("bundle {}", p.strip_prefix(dir).unwrap_or(&p).display()),
                bytes,
                trusted: false,
            });
        }
    }
    cps.extend(trusted);
    let sizes = crate::verify::checkpoint_sizes(&cps);
    let mut verifier = Verifier::new(sizes, pinned);
    for (seq, code, msg) in early {
        verifier.report(seq, code, msg);
    }
    let epath = dir.join("entries.ndjson");
    let mut ndjson_rows: Vec<RowInput> = Vec::new();
    let reader = BufReader::new(File::open(&epath).map_err(io(&epath))?);
    let mut parquet = ParquetRows::open(&dir.join("entries.parquet"));
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(io(&epath))?;
        match parse_entry_line(&line) {
            Ok(mut row) => {
                parquet.check(&row, &mut verifier);
                row.payload = payloads.remove(&row.position);
                ndjson_rows.push(row);
            }
            Err(e) => verifier.report(
                None,
                "bundle-row-invalid",
                format!("entries.ndjson line {}: {e}", i + 1),
            ),
        }
        if ndjson_rows.len() as u64 >= CHUNK {
            verifier.feed(&ndjson_rows);
            ndjson_rows.clear();
            progress(verifier.size(), manifest.size);
        }
    }
    verifier.feed(&ndjson_rows);
    parquet.finish(&mut verifier);
    for seq in payloads.keys() {
        verifier.report(
            Some(*seq),
            "bundle-row-invalid",
            format!("payloads.ndjson has a payload for seq {seq}, which has no entry"),
        );
    }
    let keys_path = dir.join("ledger-keys.txt");
    if let (Ok(text), Some(reg)) = (fs::read_to_string(&keys_path), verifier.registry()) {
        let listed: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let actual: Vec<String> = reg
            .ledger_keys()
            .iter()
            .map(|(_, k)| k.to_string())
            .collect();
        if listed != actual.iter().map(String::as_str).collect::<Vec<_>>() {
            verifier.report(
                None,
                "bundle-keys-mismatch",
                "ledger-keys.txt does not list the ledger keys the entries register",
            );
        }
    }
    let size = verifier.size();
    let mut report = verifier.finish(&cps);
    if size != manifest.size || report.root != manifest.root {
        report.ok = false;
        report.findings.push(crate::verify::Finding {
            seq: None,
            code: "bundle-manifest-mismatch",
            message: format!("manifest.json claims {} entries with root {}, the entries give {size} with root {}", manifest.size, manifest.root, report.root),
        });
    }
    Ok(report)
}

/// seq, hash, envelope, key id, signature of one Parquet row.
type ParquetRow = (u64, Vec<u8>, String, Vec<u8>, Vec<u8>);

/// Reads entries.parquet alongside entries.ndjson and reports any disagreement.
struct ParquetRows {
    reader: Option<parquet::arrow::arrow_reader::ParquetRecordBatchReader>,
    batch: Option<RecordBatch>,
    row: usize,
    problem: Option<String>,
}

impl ParquetRows {
    fn open(path: &Path) -> ParquetRows {
        let reader = File::open(path)
            .map_err(|e| e.to_string())
            .and_then(|f| ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| e.to_string()))
            .and_then(|b| b.with_batch_size(8192).build().map_err(|e| e.to_string()));
        match reader {
            Ok(r) => ParquetRows {
                reader: Some(r),
                batch: None,
                row: 0,
                problem: None,
            },
            Err(e) => ParquetRows {
                reader: None,
                batch: None,
                row: 0,
                problem: Some(format!("entries.parquet cannot be read: {e}")),
            },
        }
    }

    fn next(&mut self) -> Option<ParquetRow> {
        loop {
            if let Some(b) = &self.batch
                && self.row < b.num_rows()
            {
                let i = self.row;
                self.row += 1;
                let seq = b.column(0).as_any().downcast_ref::<UInt64Array>()?.value(i);
                let hash = b
                    .column(1)
                    .as_any()
                    .downcast_ref::<FixedSizeBinaryArray>()?
                    .value(i)
                    .to_vec();
                let env = b
                    .column(2)
                    .as_any()
                    .downcast_ref::<StringArray>()?
                    .value(i)
                    .to_string();
                let kid = b
                    .column(7)
                    .as_any()
                    .downcast_ref::<FixedSizeBinaryArray>()?
                    .value(i)
                    .to_vec();
                let sig = b
                    .column(8)
                    .as_any()
                    .downcast_ref::<FixedSizeBinaryArray>()?
                    .value(i)
                    .to_vec();
                return Some((seq, hash, env, kid, sig));
            }
            match self.reader.as_mut()?.next() {
                Some(Ok(b)) => {
                    if b.num_columns() != 9 {
                        self.problem = Some(format!(
                            "entries.parquet has {} columns, expected 9",
                            b.num_columns()
                        ));
                        self.reader = None;
                        return None;
                    }
                    self.batch = Some(b);
                    self.row = 0;
                }
                Some(Err(e)) => {
                    self.problem = Some(format!("entries.parquet: {e}"));
                    self.reader = None;
                    return None;
                }
                None => return None,
            }
        }
    }

    fn check(&mut self, row: &RowInput, v: &mut Verifier) {
        if self.problem.is_some() {
            return;
        }
        match self.next() {
            None => {
                self.problem = Some(format!(
                    "entries.parquet has fewer rows than entries.ndjson (none for seq {})",
                    row.position
                ))
            }
            Some((seq, hash, env, kid, sig)) => {
                if seq != row.position
                    || hash != row.hash
                    || env.as_bytes() != row.envelope.as_slice()
                    || kid != row.key_id
                    || sig != row.sig
                {
                    v.report(
                        Some(row.position),
                        "bundle-parquet-mismatch",
                        format!(
                            "entries.parquet row for seq {seq} differs from entries.ndjson seq {}",
                            row.position
                        ),
                    );
                }
            }
        }
    }

    fn finish(mut self, v: &mut Verifier) {
        if self.problem.is_none() && self.next().is_some() {
            self.problem = Some("entries.parquet has more rows than entries.ndjson".into());
        }
        if let Some(p) = self.problem {
            v.report(None, "bundle-parquet-mismatch", p);
        }
    }
}
