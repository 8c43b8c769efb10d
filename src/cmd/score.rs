//! `vigil score`: the built-in baseline risk scorer (simulator/src/score.rs) over sign-in
//! exports, written as a scores file `simulate --scores` and `vigil sweep --scores` read.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use vigil_simulator::score::{self, Event};
use vigil_simulator::signin;

use crate::Outcome;
use crate::output::info;

/// `vigil score`.
#[derive(Args)]
#[command(after_long_help = FEATURES)]
pub struct ScoreArgs {
    /// Sign-in exports (any variant `simulate` reads; files or folders).
    #[arg(long, required = true, num_args = 1..)]
    pub signins: Vec<PathBuf>,
    /// The scores file to write (CSV: signInId, score, riskLevel, reasoning,
    /// recommendedAction, model).
    #[arg(long)]
    pub out: PathBuf,
    /// Skip (and count) malformed sign-in records instead of stopping.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// How locale dates with slashes in sign-in exports (`3/4/2026 1:48:53 AM`) are read:
    /// `mdy` (month first, the default) or `dmy` (day first).
    #[arg(long, value_enum, default_value = "mdy")]
    pub date_order: crate::cli::DateOrderArg,
}

/// The features and weights, for `vigil score --help`.
const FEATURES: &str = "\
Features (per sign-in, over the user's sign-ins sorted by time; weights w):
  impossible travel   w=0.60  > 900 km/h from the user's previous located sign-in (geo
                              coordinates when present, else country reference points on a
                              country change; 500 km when a country is not in the table;
                              distances under 50 km never count)
  first-seen country  w=0.30  a country none of the user's earlier sign-ins came from
  first-seen device   w=0.15  a deviceId (else OS + browser name) new for the user
  first-seen app      w=0.10  an appId new for the user
  legacy client       w=0.35  clientAppUsed other than Browser / Mobile Apps and Desktop clients
  failure burst       w=0.50  a success after >= 3 failures of the user in the last 30 minutes
  risk event          w=0.50  a risk event type on the record (e.g. anonymizedIPAddress)
First-seen features never fire on a user's first sign-in. score = 1 - prod(1 - w) over the
features that fire; riskLevel none (0) / low (<0.4) / medium (<0.7) / high; recommendedAction
allow (<0.3) / review (<0.5) / mfa (<0.8) / block. Same input, byte-identical output.";

/// Scores the sign-ins and writes the scores file.
pub fn run(a: &ScoreArgs) -> Result<Outcome> {
    let opts = signin::ReadOptions {
        skip_bad_records: a.skip_bad_records,
        date_order: a.date_order.into(),
    };
    let mut events = Vec::new();
    let mut err: Option<String> = None;
    let stats = signin::read_signins(&a.signins, &opts, &mut |s| {
        if err.is_some() {
            return;
        }
        match Event::from_signin(&s) {
            Ok(e) => events.push(e),
            Err(e) => err = Some(e),
        }
    })?;
    if let Some(e) = err {
        bail!(e);
    }
    for w in &stats.warnings {
        info(format!("warning: {w}"));
    }
    if events.is_empty() {
        bail!("no sign-ins to score");
    }
    let (scored, duplicates) = score::score(events);
    if duplicates > 0 {
        info(format!(
            "{duplicates} sign-ins repeat an id already scored and are scored once"
        ));
    }
    let csv = score::to_csv(&scored).map_err(anyhow::Error::msg)?;
    std::fs::write(&a.out, csv).with_context(|| format!("{}: cannot write", a.out.display()))?;
    let flagged = scored.iter().filter(|s| s.score > 0.0).count();
    info(format!(
        "{} sign-ins scored by {} ({} with a feature firing) -> {}",
        scored.len(),
        score::model_name(),
        flagged,
        a.out.display()
    ));
    Ok(Outcome::Ok)
}
