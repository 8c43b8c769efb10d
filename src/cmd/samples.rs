//! `vigil samples generate`: writes a realistic tenant of any size (simulator/src/generate.rs).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::Table;
use vigil_simulator::generate::{self, Format, Options};

use crate::Outcome;
use crate::output::{info, progress};

/// `vigil samples ...`.
#[derive(Subcommand)]
pub enum SamplesCommand {
    /// Generate a realistic tenant: policies in force, named locations, directory, sign-ins
    /// with the outcome those policies logged, AI risk scores and attack labels. The same
    /// seed gives byte-identical files.
    Generate(GenerateArgs),
}

/// How the generated sign-ins are written (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Graph signIn objects, one per line: signins.ndjson.
    Ndjson,
    /// Graph list pages {"value":[...]} of 1,000 sign-ins: signins/page-NNNNNN.json.
    Graph,
    /// The normalized table `vigil ingest` writes: signins.parquet.
    Parquet,
}

/// `vigil samples generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// Number of sign-ins (spread over four weeks).
    #[arg(long)]
    pub signins: u64,
    /// Seed: the same seed (and flags) gives byte-identical files; another seed, another tenant.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of users (default: one per 250 sign-ins, at least 50, at most 40,000).
    #[arg(long)]
    pub users: Option<usize>,
    /// How the sign-ins are written.
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: FormatArg,
    /// Fraction of user sign-ins that are attacks (password spray, impossible travel, token
    /// replay from anonymizing networks), labelled positive in labels.csv.
    #[arg(long, default_value_t = 0.01)]
    pub attack_rate: f64,
    /// Output folder (created; the files it names are replaced).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `vigil samples`.
pub fn run(c: &SamplesCommand) -> Result<Outcome> {
    match c {
        SamplesCommand::Generate(a) => generate_tenant(a),
    }
}

fn generate_tenant(a: &GenerateArgs) -> Result<Outcome> {
    if a.signins == 0 {
        bail!("--signins 0: generate at least one sign-in");
    }
    if !(0.0..=1.0).contains(&a.attack_rate) {
        bail!("--attack-rate {} is not a fraction in 0-1", a.attack_rate);
    }
    if a.users == Some(0) {
        bail!("--users 0: a tenant needs at least one user");
    }
    let opts = Options {
        signins: a.signins,
        users: a.users.unwrap_or_else(|| Options::default_users(a.signins)),
        seed: a.seed,
        format: match a.format {
            FormatArg::Ndjson => Format::Ndjson,
            FormatArg::Graph => Format::Graph,
            FormatArg::Parquet => Format::Parquet,
        },
        attack_rate: a.attack_rate,
    };
    let started = Instant::now();
    let bar = progress(a.signins, "generating sign-ins");
    let summary = generate::generate(&a.out, &opts, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if !crate::output::quiet() {
        let mut t = Table::new();
        t.set_header(["generated", "count"]);
        t.add_row(["sign-ins".to_string(), summary.signins.to_string()]);
        t.add_row(["users".to_string(), summary.users.to_string()]);
        let [spray, travel, replay] = summary.attacks_by_kind;
        t.add_row([
            "attacks (labelled positive)".to_string(),
            format!(
                "{} ({spray} password spray, {travel} impossible travel, {replay} token replay)",
                summary.attacks
            ),
        ]);
        t.add_row([
            "blocked or interrupted by Conditional Access".to_string(),
            summary.ca_failures.to_string(),
        ]);
        t.add_row([
            "distinct profiles evaluated".to_string(),
            summary.evaluated_profiles.to_string(),
        ]);
        println!("{t}");
        for f in &summary.files {
            println!("{}", f.display());
        }
    }
    info(format!(
        "{} sign-ins in {secs:.1} s ({:.0} sign-ins/s) -> {}",
        summary.signins,
        summary.signins as f64 / secs.max(1e-9),
        a.out.display()
    ));
    Ok(Outcome::Ok)
}
