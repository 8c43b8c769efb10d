//! `vigil review`: a human verdict on an AI inference or an action, as a signed `review` entry
//! that refs the entry it judges.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use serde_json::json;
use vigil_ledger::{Envelope, Kind, NewEntry, Ref, keyfile};

use super::open;
use crate::Outcome;
use crate::output::info;

/// A reviewer's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Verdict {
    /// The AI finding was right (on an inference).
    Confirmed,
    /// The AI finding was wrong (on an inference).
    Dismissed,
    /// The pending action may go ahead (on an action whose status is pending), or the AI's
    /// recommended change may be made (on an inference). On a directory change already
    /// recorded from an audit log, an approval after the fact.
    Approved,
    /// The pending action (or the inference's recommended change) must not go ahead.
    Rejected,
    /// The reviewer replaces the decision (on an inference or an action; see --action).
    Override,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Dismissed => "dismissed",
            Verdict::Approved => "approved",
            Verdict::Rejected => "rejected",
            Verdict::Override => "override",
        }
    }
}

/// The decision an override puts in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Decision {
    /// Let the sign-in through.
    Allow,
    /// Require multifactor authentication.
    Mfa,
    /// Block the sign-in.
    Block,
    /// Queue it for a human.
    Review,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Mfa => "mfa",
            Decision::Block => "block",
            Decision::Review => "review",
        }
    }
}

/// `vigil review`.
#[derive(Args)]
pub struct ReviewArgs {
    /// Ledger database file.
    #[arg(long)]
    pub db: PathBuf,
    /// The reviewer's secret key (registered for review); its name is the reviewer's identity.
    #[arg(long)]
    pub key: PathBuf,
    /// Seq of the entry under review: an inference (confirmed, dismissed, approved, rejected,
    /// override) or an action (approved or rejected when pending or a recorded directory
    /// change, override).
    #[arg(long = "ref", value_name = "SEQ")]
    pub seq: u64,
    /// The verdict.
    #[arg(long, value_enum)]
    pub verdict: Verdict,
    /// Why (recorded in the payload).
    #[arg(long)]
    pub reason: String,
    /// With --verdict override: the decision that replaces the reviewed one.
    #[arg(long, value_enum)]
    pub action: Option<Decision>,
    /// The reviewer's user principal name, recorded in the payload (which can be erased).
    #[arg(long, value_name = "UPN")]
    pub reviewer: Option<String>,
}

/// Records the review.
pub fn run(a: &ReviewArgs) -> Result<Outcome> {
    if a.reason.trim().is_empty() {
        bail!("--reason: a review needs a reason");
    }
    if a.action.is_some() && a.verdict != Verdict::Override {
        bail!("--action is the decision an override puts in place; it needs --verdict override");
    }
    let key = keyfile::read_secret_key(&a.key).context("--key")?;
    let mut ledger = open(&a.db)?;
    super::require_kind(&mut ledger, &key, Kind::Review)
        .with_context(|| format!("--key {}", a.key.display()))?;
    let size = ledger.size()?;
    let stored = ledger.entry(a.seq)?.with_context(|| {
        format!(
            "--ref {}: no such entry (the ledger has {size} entries)",
            a.seq
        )
    })?;
    let env = Envelope::parse_lenient(&stored.envelope)
        .with_context(|| format!("--ref {}: the stored entry cannot be read", a.seq))?;
    let allowed: &[Kind] = match a.verdict {
        Verdict::Confirmed | Verdict::Dismissed => &[Kind::Inference],
        Verdict::Approved | Verdict::Rejected => &[Kind::Action, Kind::Inference],
        Verdict::Override => &[Kind::Inference, Kind::Action],
    };
    if !allowed.contains(&env.kind) {
        let what = allowed
            .iter()
            .map(|k| format!("an {k}"))
            .collect::<Vec<_>>()
            .join(" or ");
        bail!(
            "--ref {}: entry {} is of kind `{}`; --verdict {} judges {what}",
            a.seq,
            a.seq,
            env.kind,
            a.verdict.as_str()
        );
    }
    if matches!(a.verdict, Verdict::Approved | Verdict::Rejected) && env.kind == Kind::Action {
        let payload: Option<serde_json::Value> = stored
            .payload
            .as_ref()
            .and_then(|(_, p)| serde_json::from_slice(p).ok());
        let status = payload
            .as_ref()
            .and_then(|p| p.get("status"))
            .and_then(|s| s.as_str());
        let change = payload
            .as_ref()
            .and_then(|p| p.get("source"))
            .and_then(|s| s.as_str())
            == Some(super::record_audits::SOURCE);
        if status != Some("pending") && !change {
            bail!(
                "--ref {}: --verdict {} decides a pending action or a recorded directory change, and entry {} is neither (its status is {})",
                a.seq,
                a.verdict.as_str(),
                a.seq,
                match (&payload, status) {
                    (None, _) => "unknown: its payload was erased".to_string(),
                    (_, None) => "not given".to_string(),
                    (_, Some(s)) => format!("{s:?}"),
                }
            );
        }
    }
    let mut payload = json!({
        "verdict": a.verdict.as_str(),
        "reason": a.reason,
        "reviewed": env.kind.as_str(),
    });
    if let Some(d) = a.action {
        payload["action"] = json!(d.as_str());
    }
    if let Some(upn) = &a.reviewer {
        payload["reviewer"] = json!(upn);
    }
    let hash: [u8; 32] = stored
        .hash
        .as_slice()
        .try_into()
        .with_context(|| format!("--ref {}: the stored hash is not 32 bytes", a.seq))?;
    let appended = ledger.append(
        &key,
        vec![NewEntry {
            kind: Kind::Review,
            subject: env.subject.clone(),
            refs: vec![Ref { seq: a.seq, hash }],
            payload,
        }],
    )?;
    for r in &appended {
        println!("{{\"seq\":{},\"hash\":\"{}\"}}", r.seq, hex::encode(r.hash));
        info(format!(
            "review #{} by {}: {} on {} #{}",
            r.seq,
            key.name(),
            a.verdict.as_str(),
            env.kind,
            a.seq
        ));
    }
    Ok(Outcome::Ok)
}
