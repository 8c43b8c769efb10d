//! The ledger as an input (`vigil pilot`, `simulate --baseline ledger:DB`, `--scores ledger:DB`,
//! `sweep --labels ledger:DB`): it is verified first, and only the entries the verification
//! covered are read. An unverified ledger is never used.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value;
use vigil_ledger::audit::{VerifyOptions, verify_database};
use vigil_ledger::entry::payload_commitment;
use vigil_ledger::verify::{CheckpointInput, Finding, Report};
use vigil_ledger::{Envelope, Kind, VerifierKey};
use vigil_simulator::airisk::{Action, Score, Scores};
use vigil_simulator::model::{NamedLocation, Policy};
use vigil_simulator::{location, pilot, policy};

use super::open_readonly;
use crate::output::progress;

/// How a flag names a ledger database instead of a file: `ledger:audit.db`.
pub const PREFIX: &str = "ledger:";

/// The database a flag value names with the `ledger:` prefix, if it does.
pub fn ledger_path(value: &Path) -> Option<PathBuf> {
    value
        .to_str()
        .and_then(|s| s.strip_prefix(PREFIX))
        .map(PathBuf::from)
}

/// Reads a checkpoint file given by the user (trusted: kept outside the operator's reach).
pub fn read_checkpoint(p: &Path) -> Result<CheckpointInput> {
    let bytes =
        std::fs::read(p).with_context(|| format!("{}: cannot read checkpoint", p.display()))?;
    Ok(CheckpointInput {
        source: p.display().to_string(),
        bytes,
        trusted: true,
    })
}

/// Verifies a ledger database with a progress bar (stderr, terminal only).
pub fn verify_db(
    ledger: &vigil_ledger::Ledger,
    trusted: Vec<CheckpointInput>,
    from: Option<CheckpointInput>,
    pinned: Vec<VerifierKey>,
) -> Result<Report> {
    let pb = progress(0, "verifying");
    let pb2 = pb.clone();
    let opts = VerifyOptions {
        trusted,
        from,
        pinned,
        progress: Some(Box::new(move |done, total| {
            pb2.set_length(total);
            pb2.set_position(done);
        })),
    };
    let r = verify_database(ledger, opts)?;
    pb.finish_and_clear();
    Ok(r)
}

/// One entry of a verified ledger, its payload parsed (`None` when lawfully erased).
pub struct LedgerEntry {
    /// Position.
    pub seq: u64,
    /// What it records.
    pub kind: Kind,
    /// Opaque identifiers.
    pub subject: BTreeMap<String, String>,
    /// Seqs of the entries it refs.
    pub refs: Vec<u64>,
    /// The payload.
    pub payload: Option<Value>,
}

impl LedgerEntry {
    /// The sign-in id its subject names, lowercased.
    pub fn signin_id(&self) -> Option<String> {
        self.subject.get("signInId").map(|s| s.to_ascii_lowercase())
    }

    /// A payload member as text.
    pub fn text(&self, member: &str) -> Option<&str> {
        self.payload.as_ref()?.get(member)?.as_str()
    }
}

/// A verified ledger's entries of the given kinds, in seq order.
pub struct VerifiedLedger {
    /// The database.
    pub db: PathBuf,
    /// The verification report (ok).
    pub report: Report,
    /// The entries of the kinds asked for, up to the verified size.
    pub entries: Vec<LedgerEntry>,
}

/// Verifies `db` (from `checkpoint` when given) and reads its entries of `kinds`.
/// `Ok(Err(report))` when verification found a problem: nothing was read.
pub fn read_verified(
    db: &Path,
    checkpoint: Option<&Path>,
    kinds: &[Kind],
) -> Result<std::result::Result<VerifiedLedger, Report>> {
    let ledger = open_readonly(db)?;
    let from = checkpoint.map(read_checkpoint).transpose()?;
    let report = verify_db(&ledger, vec![], from, vec![])?;
    if !report.ok {
        return Ok(Err(report));
    }
    // Only what was verified: entries appended since are not read.
    let mut entries = Vec::new();
    let mut at = 0;
    while at < report.size {
        let to = (at + 8192).min(report.size);
        for e in ledger.entries_range(at, to)? {
            let env = Envelope::parse_lenient(&e.envelope)
                .map_err(|err| anyhow!("{}: entry {}: {err}", db.display(), e.seq))?;
            if !kinds.contains(&env.kind) {
                continue;
            }
            // Entries before a trusted checkpoint were checked by their envelopes only: each
            // payload read is checked against its envelope's commitment here.
            let payload = match &e.payload {
                None => None,
                Some((salt, bytes)) => {
                    let committed = <[u8; 32]>::try_from(salt.as_slice()).is_ok_and(|salt| {
                        payload_commitment(&salt, bytes) == env.payload_commitment
                    });
                    if !committed {
                        return Ok(Err(payload_finding(report, e.seq)));
                    }
                    Some(serde_json::from_slice(bytes).map_err(|err| {
                        anyhow!(
                            "{}: entry {}: payload is not JSON: {err}",
                            db.display(),
                            e.seq
                        )
                    })?)
                }
            };
            entries.push(LedgerEntry {
                seq: e.seq,
                kind: env.kind,
                subject: env.subject,
                refs: env.refs.iter().map(|r| r.seq).collect(),
                payload,
            });
        }
        at = to;
    }
    Ok(Ok(VerifiedLedger {
        db: db.to_path_buf(),
        report,
        entries,
    }))
}

/// The report of a verification whose trusted prefix holds an edited payload at `seq`.
fn payload_finding(mut report: Report, seq: u64) -> Report {
    report.ok = false;
    report.first_bad_seq = Some(seq);
    report.findings.insert(
        0,
        Finding {
            seq: Some(seq),
            code: "payload-mismatch",
            message: format!(
                "entry {seq}: payload or salt does not match the entry's payload_commitment (payload edited)"
            ),
        },
    );
    report
}

/// The first finding of a failed verification, in one line.
pub fn finding_text(r: &Report) -> String {
    let first = r.findings.first();
    format!(
        "first bad entry #{}: {}",
        r.first_bad_seq
            .or_else(|| first.and_then(|f| f.seq))
            .map_or_else(|| "-".into(), |s| s.to_string()),
        first.map_or("", |f| f.message.as_str())
    )
}

/// Reads a ledger named as an input of `flag`: a verification finding is an input error
/// (exit 2) naming the first bad entry, since these commands report no findings themselves.
pub fn read_input(flag: &str, db: &Path, kinds: &[Kind]) -> Result<VerifiedLedger> {
    match read_verified(db, None, kinds)
        .with_context(|| format!("{flag} {PREFIX}{}", db.display()))?
    {
        Ok(v) => Ok(v),
        Err(report) => bail!(
            "{flag} {PREFIX}{}: the ledger does not verify ({}); it is not used. `vigil ledger verify --db {}` shows every finding",
            db.display(),
            finding_text(&report),
            db.display()
        ),
    }
}

/// AI scores from a verified ledger's `inference` entries, keyed by the sign-in id of their
/// subject (a later inference for a sign-in replaces an earlier one). The user and time come
/// from the signal the inference refs.
pub fn scores_from(v: &VerifiedLedger) -> Result<Scores> {
    let signals: HashMap<u64, &LedgerEntry> = v
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Signal)
        .map(|e| (e.seq, e))
        .collect();
    let mut out = Vec::new();
    for e in v.entries.iter().filter(|e| e.kind == Kind::Inference) {
        let at = || format!("{}: ledger entry #{}", v.db.display(), e.seq);
        let Some(id) = e.subject.get("signInId") else {
            continue;
        };
        let Some(payload) = &e.payload else {
            continue; // erased on a lawful request
        };
        let score = payload
            .get("score")
            .and_then(Value::as_f64)
            .filter(|s| (0.0..=1.0).contains(s))
            .ok_or_else(|| {
                anyhow!(
                    "{}: field score: {} is not a score in 0-1",
                    at(),
                    payload.get("score").unwrap_or(&Value::Null)
                )
            })?;
        let signal = e.refs.iter().find_map(|r| signals.get(r));
        let text = |m: &str| payload.get(m).and_then(Value::as_str).map(str::to_string);
        out.push(Score {
            score,
            risk_level: text("riskLevel"),
            reasoning: text("reasoning"),
            recommended_action: text("recommendedAction"),
            model: text("model"),
            origin: at(),
            key: id.clone(),
            user: e.subject.get("userId").cloned(),
            time: signal.and_then(|s| s.text("createdDateTime").map(str::to_string)),
        });
    }
    if out.is_empty() {
        bail!(
            "{}: the ledger holds no inference entries (AI scores) to read",
            v.db.display()
        );
    }
    Ok(Scores::from_signin_scores(out))
}

/// AI scores from a file, or from a ledger's inference entries with `ledger:DB`.
pub fn load_scores(flag: &str, path: &Path) -> Result<Scores> {
    match ledger_path(path) {
        Some(db) => scores_from(&read_input(flag, &db, &[Kind::Signal, Kind::Inference])?),
        None => Ok(Scores::load(path)?),
    }
}

/// Labels from a file, or from a ledger's reviews of inferences with `ledger:DB`.
pub fn load_labels(flag: &str, path: &Path) -> Result<HashMap<String, Option<bool>>> {
    match ledger_path(path) {
        Some(db) => {
            let v = read_input(flag, &db, &[Kind::Inference, Kind::Review])?;
            let labels = labels_from(&v);
            if labels.is_empty() {
                bail!(
                    "{flag} {PREFIX}{}: the ledger holds no confirmed, dismissed or overriding reviews of inferences to label sign-ins with",
                    db.display()
                );
            }
            Ok(labels)
        }
        None => Ok(vigil_simulator::sweep::load_labels(path)?),
    }
}

/// The latest review of each reviewed entry: reviewed seq -> (review seq, verdict, action).
pub fn reviews_from(v: &VerifiedLedger) -> HashMap<u64, (u64, String, Option<Action>)> {
    let mut out = HashMap::new();
    for e in v.entries.iter().filter(|e| e.kind == Kind::Review) {
        let (Some(verdict), Some(&reviewed)) = (e.text("verdict"), e.refs.first()) else {
            continue;
        };
        let action = e.text("action").and_then(Action::from_name);
        out.insert(reviewed, (e.seq, verdict.to_string(), action));
    }
    out
}

/// Labels by sign-in id (lowercase) from the reviews of `inference` entries: `confirmed` is
/// positive, `dismissed` negative, an `override` positive when it prompts or blocks and
/// negative when it allows (see [`pilot::review_label`]). The latest review counts.
pub fn labels_from(v: &VerifiedLedger) -> HashMap<String, Option<bool>> {
    let reviews = reviews_from(v);
    let mut out = HashMap::new();
    for e in v.entries.iter().filter(|e| e.kind == Kind::Inference) {
        let (Some(id), Some((_, verdict, action))) = (e.signin_id(), reviews.get(&e.seq)) else {
            continue;
        };
        if let Some(label) = pilot::review_label(verdict, *action) {
            out.insert(id, Some(label));
        }
    }
    out
}

/// The policy sets of the ledger's `policy` entries, sorted by the time each took effect, and
/// the warnings reading them gave.
pub fn snapshots_from(
    v: &VerifiedLedger,
) -> Result<(Vec<vigil_simulator::simulate::PolicySnapshot>, Vec<String>)> {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for e in v.entries.iter().filter(|e| e.kind == Kind::Policy) {
        let at = format!("{}: ledger entry #{}", v.db.display(), e.seq);
        let Some(payload) = &e.payload else {
            bail!("{at}: the policy snapshot's payload was erased; it cannot be replayed");
        };
        let effective = payload
            .get("effectiveFrom")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .with_context(|| {
                format!("{at}: field effectiveFrom: missing or not an RFC 3339 time")
            })?;
        let name = PathBuf::from(&at);
        let set = policy::policies_from_json(
            payload.get("policies").unwrap_or(&Value::Array(vec![])),
            &name,
        )?;
        warnings.extend(set.warnings);
        let policies: Vec<Policy> = set.policies;
        let locations: Option<Vec<NamedLocation>> = match payload.get("namedLocations") {
            None => None,
            Some(l) => {
                let set = location::locations_from_json(l, &name)?;
                warnings.extend(set.warnings);
                Some(set.locations)
            }
        };
        out.push(vigil_simulator::simulate::PolicySnapshot {
            seq: e.seq,
            effective_from: effective,
            policies,
            locations,
        });
    }
    if out.is_empty() {
        bail!(
            "{}: the ledger holds no policy snapshots (`vigil ledger record-policies` writes them)",
            v.db.display()
        );
    }
    // In force from its time on; of two with the same time, the later entry.
    out.sort_by_key(|s| (s.effective_from, s.seq));
    Ok((out, warnings))
}
