//! Command-line flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// vigil: signed audit ledger and Conditional Access simulator for Microsoft Entra ID.
///
/// Exit codes: 0 ok, 1 a check found a problem, 2 usage or input error.
#[derive(Parser)]
#[command(name = "vigil", version, about, long_about = None)]
pub struct Cli {
    /// No progress bars or informational messages on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Subcommand)]
pub enum Command {
    /// Walk through vigil on built-in sample data (in a temporary folder).
    Demo(DemoArgs),
    /// Create and manage signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The signed audit ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Replay sign-in exports against candidate Conditional Access policies.
    Simulate(SimulateArgs),
    /// Normalize sign-in exports into one Parquet table that `simulate --signins` replays fast.
    Ingest(IngestArgs),
    /// Explain what every policy decides for one sign-in described by flags (offline What If).
    Whatif(crate::cmd::whatif::WhatifArgs),
    /// Compare the simulator with what Entra logged (appliedConditionalAccessPolicies).
    Fidelity(crate::cmd::fidelity::FidelityArgs),
    /// Build the --directory snapshot from Microsoft Graph exports.
    #[command(subcommand)]
    Directory(crate::cmd::directory::DirectoryCommand),
    /// What each AI risk-score threshold would prompt or block, and how well against labels.
    Sweep(crate::cmd::sweep::SweepArgs),
    /// Baseline risk scores (explainable, deterministic) for sign-ins, as a scores file.
    Score(crate::cmd::score::ScoreArgs),
    /// Record a human verdict on an AI inference or an action (a signed `review` entry).
    Review(crate::cmd::review::ReviewArgs),
    /// Report-only pilot: the AI's recorded recommendations vs what Conditional Access did.
    Pilot(crate::cmd::pilot::PilotArgs),
    /// Rebuild a simulation's report.html from its summary.json (and fidelity.json, if any).
    Report(crate::cmd::report::ReportArgs),
    /// Sample data: generate realistic tenants of any size.
    #[command(subcommand)]
    Samples(crate::cmd::samples::SamplesCommand),
}

/// `vigil simulate` (the interface is fixed by CONTRACT-simulate.md).
#[derive(Args)]
pub struct SimulateArgs {
    /// Sign-in exports: files or folders (read recursively, in bytewise path order); repeatable.
    #[arg(long, required = true)]
    pub signins: Vec<PathBuf>,
    /// Candidate policies: Graph conditionalAccessPolicy JSON (array, {"value":[...]}, or a folder of one-policy files).
    #[arg(long)]
    pub policies: PathBuf,
    /// Graph namedLocation JSON (array, list, or folder).
    #[arg(long)]
    pub named_locations: Option<PathBuf>,
    /// Directory snapshot: {"users":[{"id","userPrincipalName","userType","groups":[...],"roles":[...]}]}.
    #[arg(long)]
    pub directory: Option<PathBuf>,
    /// `logged` (the outcome the log recorded), `none`, a path to another policy set, or
    /// `ledger:DB`: the policy set in force at each sign-in's time per the ledger's `policy`
    /// entries (the ledger is verified first).
    #[arg(long, default_value = "logged")]
    pub baseline: String,
    /// AI risk scores per sign-in: CSV, NDJSON or Parquet with signInId (or correlationId) and
    /// score (0-1 or 0-100), optionally riskLevel, reasoning, recommendedAction, model, scale;
    /// or `ledger:DB`: the ledger's inference entries (verified first).
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Thresholds file (TOML or JSON, schemas/thresholds.schema.json): score bands that map to
    /// review, mfa and block, a scope like a policy's conditions, enforce or reportOnly. Adds the
    /// candidate policy `vigil-ai-risk`.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    /// Which decisions to write: all, changed, none.
    #[arg(long, default_value = "all")]
    pub decisions: String,
    /// Which files the decisions go to: `both` (decisions.ndjson and decisions.parquet, the
    /// default), `ndjson` or `parquet` (same rows, one file; an earlier run's other file in
    /// --out is removed).
    #[arg(long, value_enum, default_value = "both")]
    pub decisions_format: DecisionsFormatArg,
    /// Skip (and count) malformed sign-in records instead of stopping.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// How locale dates with slashes in sign-in exports (`3/4/2026 1:48:53 AM`) are read:
    /// `mdy` (month first, the default) or `dmy` (day first). A file whose dates contradict the
    /// order is an input error.
    #[arg(long, value_enum, default_value = "mdy")]
    pub date_order: DateOrderArg,
    /// User risk for userRiskLevels: Graph riskyUserHistoryItem / riskyUser and/or riskDetection
    /// exports (array, {"value":[...]} pages, NDJSON; file or folder).
    #[arg(long, value_name = "PATH")]
    pub user_risk: Option<PathBuf>,
    /// The --user-risk export holds every risky user's full history: users and times it has no
    /// data for are not risky (without this flag they are unknown).
    #[arg(long, requires = "user_risk")]
    pub user_risk_complete: bool,
    /// Graph device objects (GET /devices) for device-filter properties the log lacks (model,
    /// manufacturer, extensionAttributes, physicalIds, ...), matched on deviceDetail.deviceId.
    #[arg(long, value_name = "PATH")]
    pub devices: Option<PathBuf>,
    /// Output folder (created).
    #[arg(long)]
    pub out: PathBuf,
    /// Audit ledger database: after the outputs are written, record this simulation there as a
    /// signed `run` entry (SHA-256 of every input, options, candidate policy ids, counts) that
    /// refs the signals of the replayed sign-ins the ledger holds. Needs --key.
    #[arg(long, value_name = "DB", requires = "key")]
    pub ledger: Option<PathBuf>,
    /// Secret key that signs the `run` entry (registered for run). Needs --ledger.
    #[arg(long, value_name = "KEY", requires = "ledger")]
    pub key: Option<PathBuf>,
}

/// `--decisions-format`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecisionsFormatArg {
    /// decisions.ndjson and decisions.parquet.
    Both,
    /// decisions.ndjson only.
    Ndjson,
    /// decisions.parquet only.
    Parquet,
}

/// `vigil ingest`.
#[derive(Args)]
pub struct IngestArgs {
    /// Sign-in exports in any variant `simulate` reads: files or folders (read recursively, in
    /// bytewise path order); repeatable. A sign-in id seen twice is kept once (the first).
    #[arg(long, required = true)]
    pub signins: Vec<PathBuf>,
    /// The normalized table to write (Parquet, schemas/signin.schema.json; replaced if it exists).
    #[arg(long)]
    pub out: PathBuf,
    /// Skip (and count) malformed sign-in records instead of stopping.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// How locale dates with slashes in sign-in exports (`3/4/2026 1:48:53 AM`) are read:
    /// `mdy` (month first, the default) or `dmy` (day first). A file whose dates contradict the
    /// order is an input error.
    #[arg(long, value_enum, default_value = "mdy")]
    pub date_order: DateOrderArg,
}

/// How locale dates are read (`--date-order`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DateOrderArg {
    /// Month first: 11/14/2025.
    Mdy,
    /// Day first: 14/11/2025.
    Dmy,
}

impl From<DateOrderArg> for vigil_simulator::signin::DateOrder {
    fn from(a: DateOrderArg) -> Self {
        match a {
            DateOrderArg::Mdy => vigil_simulator::signin::DateOrder::MonthFirst,
            DateOrderArg::Dmy => vigil_simulator::signin::DateOrder::DayFirst,
        }
    }
}

/// `vigil demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Keep the demo's files in this folder (created; must not exist) instead of a temporary one.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// `vigil key ...`.
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a key pair: NAME.key (secret, mode 0600) and NAME.pub.
    Generate {
        /// Key name (the actor name on entries): no spaces, no '+'.
        #[arg(long)]
        name: String,
        /// Secret key file to create; the public key goes beside it with extension .pub.
        #[arg(long)]
        out: PathBuf,
        /// Make a witness key for cosigning checkpoints (C2SP cosignature/v1) instead of a signing key.
        #[arg(long)]
        witness: bool,
    },
    /// Print the public key (name+keyid+base64) of a key file.
    Show {
        /// A .key or .pub file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Replace a registered key (a signed `key` entry); `--ledger` rotates the ledger key itself.
    Rotate(RotateArgs),
    /// Revoke a registered key: entries it signs afterwards are verification findings.
    Revoke(RevokeArgs),
}

/// Options naming the database and its ledger key.
#[derive(Args, Clone)]
pub struct DbArgs {
    /// Ledger database file.
    #[arg(long)]
    pub db: PathBuf,
    /// The ledger's secret key [default: the database path with extension .ledger.key].
    #[arg(long, env = "VIGIL_LEDGER_KEY")]
    pub ledger_key: Option<PathBuf>,
}

/// `key rotate`.
#[derive(Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The new public key (its name selects the key being replaced).
    #[arg(long, required_unless_present = "ledger", conflicts_with = "ledger")]
    pub new_key: Option<String>,
    /// Rotate the ledger key: generate a new one, record the rotation, replace the key file.
    #[arg(long)]
    pub ledger: bool,
}

/// `key revoke`.
#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Name of the key to revoke.
    #[arg(long)]
    pub name: String,
    /// Why (recorded on the ledger).
    #[arg(long)]
    pub reason: String,
}

/// `vigil ledger ...`.
#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Create a ledger database and its ledger key.
    Init {
        /// Ledger database file to create.
        #[arg(long)]
        db: PathBuf,
        /// The ledger's identity, e.g. "contoso.example/vigil" (no spaces, no '+').
        #[arg(long)]
        origin: String,
        /// Where to write the ledger's secret key [default: DB with extension .ledger.key].
        #[arg(long)]
        ledger_key: Option<PathBuf>,
    },
    /// Register, list, rotate and revoke producer keys.
    #[command(subcommand)]
    Key(LedgerKeyCommand),
    /// Append entries read as NDJSON from stdin (or --input), in durable batches.
    Append {
        /// Ledger database file.
        #[arg(long)]
        db: PathBuf,
        /// The producer's secret key (must be registered for the kinds it signs).
        #[arg(long)]
        key: PathBuf,
        /// Kind of entries whose line has no "kind".
        #[arg(long)]
        kind: Option<String>,
        /// Read from this file instead of stdin.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Most entries per durable transaction.
        #[arg(long, default_value_t = 4096)]
        batch: usize,
    },
    /// Record sign-in exports and AI scores (signal, inference and action entries) and directory
    /// audit exports (action entries), each once.
    Record(crate::cmd::record::RecordArgs),
    /// Check that AI-driven directory changes are linked to an inference and high-stakes ones
    /// to an approval given before them (exit 1 when a gap exists).
    Coverage(crate::cmd::coverage::CoverageArgs),
    /// Record a snapshot of the Conditional Access policy set (a `policy` entry), unless unchanged.
    RecordPolicies(crate::cmd::policies::RecordPoliciesArgs),
    /// Sign a checkpoint (C2SP signed note) of the current tree and print it.
    Checkpoint {
        #[command(flatten)]
        db: DbArgs,
        /// Also write it into this folder (where auditors keep checkpoints).
        #[arg(long)]
        publish: Option<PathBuf>,
    },
    /// Verify a ledger database or an exported bundle.
    Verify(VerifyArgs),
    /// Produce an inclusion or consistency proof (JSON on stdout).
    Prove(ProveArgs),
    /// Check a proof offline.
    VerifyProof(VerifyProofArgs),
    /// Export a self-contained bundle for offline verification.
    Export {
        /// Ledger database file.
        #[arg(long)]
        db: PathBuf,
        /// Folder to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print entries with their payloads (NDJSON).
    Show(ShowArgs),
    /// Follow one sign-in or event (signal -> inference(s) -> action -> review(s) -> runs that
    /// used them), or everything recorded about one user (--user).
    Trace(TraceArgs),
    /// Erase an entry's payload on a lawful request; the chain and proofs still verify.
    Redact {
        #[command(flatten)]
        db: DbArgs,
        /// The entry whose payload is erased.
        #[arg(long)]
        seq: u64,
        /// The legal basis (recorded on the ledger).
        #[arg(long)]
        reason: String,
    },
    /// As a witness: check a checkpoint is consistent with the last one seen, then cosign it.
    Cosign(CosignArgs),
}

/// `ledger key ...`.
#[derive(Subcommand)]
pub enum LedgerKeyCommand {
    /// Register a producer key and the entry kinds it may sign.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// The producer's public key file (or key string).
        #[arg(long)]
        key: String,
        /// Kinds it may sign, comma-separated (signal, inference, action, review, policy, run).
        #[arg(long, value_delimiter = ',', required = true)]
        kinds: Vec<String>,
    },
    /// List registered keys.
    List {
        /// Ledger database file.
        #[arg(long)]
        db: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Same as `vigil key rotate`.
    Rotate(RotateArgs),
    /// Same as `vigil key revoke`.
    Revoke(RevokeArgs),
}

/// `ledger verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// Ledger database file.
    #[arg(long, required_unless_present = "bundle", conflicts_with = "bundle")]
    pub db: Option<PathBuf>,
    /// Exported bundle folder.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// A trusted checkpoint kept outside the operator's reach (repeatable): detects truncation, rollback and forks.
    #[arg(long)]
    pub checkpoint: Vec<PathBuf>,
    /// Trust everything up to this checkpoint (after checking consistency) and verify only what came after.
    #[arg(long, conflicts_with = "bundle")]
    pub from: Option<PathBuf>,
    /// The ledger's public key as obtained out of band (file or key string; repeatable).
    #[arg(long)]
    pub ledger_key: Vec<String>,
    /// A witness's public key (repeatable): every --checkpoint must carry a valid cosignature by one of them.
    #[arg(long)]
    pub witness_key: Vec<String>,
    /// Machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `ledger prove`.
#[derive(Args)]
pub struct ProveArgs {
    /// Ledger database file.
    #[arg(long)]
    pub db: PathBuf,
    /// Prove that this entry is included.
    #[arg(
        long,
        required_unless_present = "consistency",
        conflicts_with = "consistency"
    )]
    pub seq: Option<u64>,
    /// Prove that the current tree extends this checkpoint.
    #[arg(long)]
    pub consistency: Option<PathBuf>,
    /// Tree size to prove against [default: the current size].
    #[arg(long)]
    pub size: Option<u64>,
}

/// `ledger verify-proof`.
#[derive(Args)]
pub struct VerifyProofArgs {
    /// The proof (JSON from `vigil ledger prove`).
    #[arg(long)]
    pub proof: PathBuf,
    /// For an inclusion proof: the checkpoint its root must match.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// For a consistency proof: the earlier checkpoint.
    #[arg(long)]
    pub old: Option<PathBuf>,
    /// For a consistency proof: the later checkpoint.
    #[arg(long)]
    pub new: Option<PathBuf>,
    /// Ledger public key to check checkpoint signatures (file or key string; repeatable).
    #[arg(long)]
    pub ledger_key: Vec<String>,
}

/// `ledger show`.
#[derive(Args)]
pub struct ShowArgs {
    /// Ledger database file.
    #[arg(long)]
    pub db: PathBuf,
    /// One entry.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub seq: Option<u64>,
    /// First seq [default: 0].
    #[arg(long)]
    pub from: Option<u64>,
    /// Stop before this seq [default: the end].
    #[arg(long)]
    pub to: Option<u64>,
    /// Only entries of this kind.
    #[arg(long)]
    pub kind: Option<String>,
}

/// `ledger trace`: the entries whose subject matches, everything they ref (followed back) and
/// everything that refs them (followed forward: actions, reviews, runs), in seq order.
#[derive(Args)]
pub struct TraceArgs {
    /// Ledger database file.
    #[arg(long)]
    pub db: PathBuf,
    /// Entries whose subject has this correlationId.
    #[arg(long)]
    pub correlation_id: Option<String>,
    /// Entries whose subject has this signInId (as `vigil ledger record` writes them).
    #[arg(long, value_name = "ID")]
    pub signin: Option<String>,
    /// Everything concerning one user, by user id or UPN: signals, inferences, actions
    /// (directory changes to the user among them) and reviews, in ledger order.
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,
    /// Start from this entry.
    #[arg(long)]
    pub seq: Option<u64>,
    /// NDJSON output instead of a table: one entry per line with its envelope and payload.
    #[arg(long)]
    pub json: bool,
}

/// `ledger cosign`.
#[derive(Args)]
pub struct CosignArgs {
    /// The checkpoint to cosign.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The witness's secret key (made with `vigil key generate --witness`).
    #[arg(long)]
    pub key: PathBuf,
    /// The ledger's public key (file or key string).
    #[arg(long)]
    pub log_key: String,
    /// The witness's state file: the last checkpoint it cosigned for this ledger (created if absent).
    #[arg(long)]
    pub state: PathBuf,
    /// Consistency proof from the last cosigned checkpoint (from `vigil ledger prove --consistency`).
    #[arg(long, conflicts_with = "db")]
    pub proof: Option<PathBuf>,
    /// Compute the consistency proof from this ledger database instead.
    #[arg(long)]
    pub db: Option<PathBuf>,
}
