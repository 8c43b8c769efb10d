//! One module per subcommand.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use vigil_ledger::note::SignerKey;
use vigil_ledger::{Kind, Ledger, keyfile};

use crate::Outcome;
use crate::cli::{Command, DbArgs, KeyCommand, LedgerCommand, LedgerKeyCommand};

mod append;
mod cosign;
pub(crate) mod coverage;
mod demo;
mod demo_audits;
pub(crate) mod directory;
mod export;
pub(crate) mod fidelity;
mod ingest;
mod init;
mod key;
pub(crate) mod ledger_source;
pub(crate) mod pilot;
pub(crate) mod policies;
mod prove;
pub(crate) mod record;
pub(crate) mod record_audits;
pub(crate) mod report;
pub(crate) mod review;
pub(crate) mod samples;
pub(crate) mod score;
pub(crate) mod show;
pub(crate) mod simulate;
mod simulate_run;
pub(crate) mod sweep;
mod verify;
pub(crate) mod whatif;

/// Runs a parsed command.
pub fn run(cmd: Command) -> Result<Outcome> {
    match cmd {
        Command::Demo(a) => demo::run(&a),
        Command::Simulate(a) => simulate::run(&a),
        Command::Ingest(a) => ingest::run(&a),
        Command::Whatif(a) => whatif::run(&a),
        Command::Fidelity(a) => fidelity::run(&a),
        Command::Sweep(a) => sweep::run(&a),
        Command::Score(a) => score::run(&a),
        Command::Directory(d) => directory::run(&d),
        Command::Review(a) => review::run(&a),
        Command::Pilot(a) => pilot::run(&a),
        Command::Report(a) => report::run(&a),
        Command::Samples(c) => samples::run(&c),
        Command::Key(k) => match k {
            KeyCommand::Generate { name, out, witness } => key::generate(&name, &out, witness),
            KeyCommand::Show { key } => key::show(&key),
            KeyCommand::Rotate(a) => key::rotate(&a),
            KeyCommand::Revoke(a) => key::revoke(&a),
        },
        Command::Ledger(l) => match l {
            LedgerCommand::Init {
                db,
                origin,
                ledger_key,
            } => init::run(&db, &origin, ledger_key.as_deref()),
            LedgerCommand::Key(k) => match k {
                LedgerKeyCommand::Add { db, key, kinds } => key::add(&db, &key, &kinds),
                LedgerKeyCommand::List { db, json } => key::list(&db, json),
                LedgerKeyCommand::Rotate(a) => key::rotate(&a),
                LedgerKeyCommand::Revoke(a) => key::revoke(&a),
            },
            LedgerCommand::Append {
                db,
                key,
                kind,
                input,
                batch,
            } => append::run(&db, &key, kind.as_deref(), input.as_deref(), batch),
            LedgerCommand::Record(a) => record::run(&a),
            LedgerCommand::Coverage(a) => coverage::run(&a),
            LedgerCommand::RecordPolicies(a) => policies::run(&a),
            LedgerCommand::Checkpoint { db, publish } => init::checkpoint(&db, publish.as_deref()),
            LedgerCommand::Verify(a) => verify::run(&a),
            LedgerCommand::Prove(a) => prove::prove(&a),
            LedgerCommand::VerifyProof(a) => prove::verify_proof(&a),
            LedgerCommand::Export { db, out } => export::run(&db, &out),
            LedgerCommand::Show(a) => show::show(&a),
            LedgerCommand::Trace(a) => show::trace(&a),
            LedgerCommand::Redact { db, seq, reason } => init::redact(&db, seq, &reason),
            LedgerCommand::Cosign(a) => cosign::run(&a),
        },
    }
}

/// Checks that the ledger's key registry lets `key` sign `kind` now: registered under its
/// name with this key id, not revoked, and allowed that kind.
pub fn require_kind(ledger: &mut Ledger, key: &SignerKey, kind: Kind) -> Result<()> {
    ledger
        .registry()?
        .signer_for(key.name(), kind, key.key_id())
        .map_err(|e| anyhow::anyhow!("{e}; this ledger refuses `{kind}` entries signed by it"))?;
    Ok(())
}

/// Default location of a ledger's secret key: beside the database, extension `.ledger.key`.
pub fn default_ledger_key_path(db: &Path) -> PathBuf {
    db.with_extension("ledger.key")
}

/// Loads the ledger's secret key named by the flags (or the default path).
pub fn load_ledger_key(args: &DbArgs) -> Result<SignerKey> {
    let path = args
        .ledger_key
        .clone()
        .unwrap_or_else(|| default_ledger_key_path(&args.db));
    keyfile::read_secret_key(&path)
        .with_context(|| "cannot load the ledger key (pass --ledger-key)".to_string())
}

/// Opens a ledger for writing.
pub fn open(db: &Path) -> Result<Ledger> {
    Ok(Ledger::open(db)?)
}

/// Opens a ledger read-only.
pub fn open_readonly(db: &Path) -> Result<Ledger> {
    Ok(Ledger::open_readonly(db)?)
}

/// A time flag's value (`--from`, `--to`, `--effective-from`): RFC 3339, else an input error
/// naming the flag.
pub fn flag_time(flag: &str, t: &str) -> Result<jiff::Timestamp> {
    t.parse::<jiff::Timestamp>()
        .with_context(|| format!("{flag} {t:?}: not an RFC 3339 time such as 2026-03-01T00:00:00Z"))
}

/// Prints a JSON value on stdout.
pub fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
