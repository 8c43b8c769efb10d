//! `vigil samples generate`: a deterministic generator of realistic tenants at any size.
//!
//! A tenant is users with home countries, devices and habits (offices, VPN, travel, MFA
//! methods, legacy clients), guests, service accounts, workload identities, risky sign-ins and
//! labelled attacks; the Conditional Access policies it has in force, its named locations and
//! directory; its sign-ins with the outcome those policies logged; an AI engine's risk scores
//! and the ground-truth labels. The same seed gives byte-identical files.
//!
//! The benchmarks use the same generator (`benches/simulate.rs` with a real policy baseline
//! in force, `benches/ingest.rs`).

// The generator scales random numbers into indexes and counts, all bounded by construction.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

pub mod attacks;
pub mod catalog;
pub mod files;
pub mod graph;
mod logged;
pub mod rng;
pub mod signins;
pub mod tenant;

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::InputError;
use crate::eval::Context;
use crate::table::TableWriter;
use rng::Rng;
use signins::{Generated, SignInStream};

/// How the sign-ins are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Graph `signIn` objects, one per line (`signins.ndjson`).
    Ndjson,
    /// Graph list pages `{"value":[...]}` of 1,000 sign-ins (`signins/page-NNNNNN.json`).
    Graph,
    /// The normalized table `vigil ingest` writes (`signins.parquet`).
    Parquet,
}

/// Sign-ins per Graph page, as Graph pages sign-in lists.
pub const PAGE_SIZE: u64 = 1000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of sign-ins.
    pub signins: u64,
    /// Number of users (break-glass, service accounts, guests, contractors, employees).
    pub users: usize,
    /// The seed: the same seed gives the same files.
    pub seed: u64,
    /// How the sign-ins are written.
    pub format: Format,
    /// Fraction of user sign-ins that are attacks.
    pub attack_rate: f64,
}

impl Options {
    /// The default number of users for `signins` sign-ins: about 250 sign-ins per user over
    /// four weeks, at least 50 and at most 40,000.
    pub fn default_users(signins: u64) -> usize {
        usize::try_from((signins / 250).clamp(50, 40_000)).unwrap_or(40_000)
    }
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Sign-ins written.
    pub signins: u64,
    /// Users in the directory.
    pub users: usize,
    /// Attack sign-ins (labelled positive).
    pub attacks: u64,
    /// Attack sign-ins by kind: password spray, impossible travel, token replay.
    pub attacks_by_kind: [u64; 3],
    /// Sign-ins the log shows blocked or interrupted by Conditional Access.
    pub ca_failures: u64,
    /// Distinct profiles whose logged outcome was evaluated.
    pub evaluated_profiles: usize,
    /// Files written, in order.
    pub files: Vec<PathBuf>,
}

/// A generation failure: the policies, locations or directory it wrote do not load, or a file
/// cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A generated configuration file does not load.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The generated configuration is inconsistent.
    #[error("{0}")]
    Config(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_json(path: &Path, v: &Value) -> Result<(), GenerateError> {
    let mut text =
        serde_json::to_vec_pretty(v).map_err(|e| GenerateError::Config(e.to_string()))?;
    text.push(b'\n');
    fs::write(path, text).map_err(io(path))
}

/// Where the generated sign-ins go.
enum Sink {
    Lines(BufWriter<fs::File>, PathBuf),
    Pages {
        dir: PathBuf,
        page: Vec<u8>,
        in_page: u64,
        pages: u64,
    },
    Table(Box<TableWriter>),
}

impl Sink {
    fn push(&mut self, g: &Generated, line: &mut Vec<u8>) -> Result<(), GenerateError> {
        match self {
            Sink::Lines(w, path) => {
                line.clear();
                graph::write_signin(g, line).map_err(|e| GenerateError::Config(e.to_string()))?;
                line.push(b'\n');
                w.write_all(line).map_err(io(path))
            }
            Sink::Pages {
                dir,
                page,
                in_page,
                pages,
            } => {
                if *in_page == 0 {
                    page.clear();
                    page.extend_from_slice(
                        b"{\"@odata.context\":\"https://graph.microsoft.com/beta/$metadata#auditLogs/signIns\",\"value\":[",
                    );
                } else {
                    page.push(b',');
                }
                graph::write_signin(g, page).map_err(|e| GenerateError::Config(e.to_string()))?;
                *in_page += 1;
                if *in_page == PAGE_SIZE {
                    Self::close_page(dir, page, pages, true)?;
                    *in_page = 0;
                }
                Ok(())
            }
            Sink::Table(w) => w
                .push_with_applied(g.signin, Some(g.applied))
                .map_err(|e| GenerateError::Config(e.to_string())),
        }
    }

    fn close_page(
        dir: &Path,
        page: &mut Vec<u8>,
        pages: &mut u64,
        more: bool,
    ) -> Result<(), GenerateError> {
        *pages += 1;
        page.extend_from_slice(b"]");
        if more {
            let next = format!(
                ",\"@odata.nextLink\":\"https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=page{:06}\"",
                *pages + 1
            );
            page.extend_from_slice(next.as_bytes());
        }
        page.extend_from_slice(b"}\n");
        let path = dir.join(format!("page-{:06}.json", *pages));
        fs::write(&path, &page).map_err(io(&path))
    }

    fn finish(self) -> Result<(), GenerateError> {
        match self {
            Sink::Lines(mut w, path) => w.flush().map_err(io(&path)),
            Sink::Pages {
                dir,
                mut page,
                in_page,
                mut pages,
            } => {
                if in_page > 0 {
                    Self::close_page(&dir, &mut page, &mut pages, false)?;
                }
                Ok(())
            }
            Sink::Table(w) => w
                .finish()
                .map(|_| ())
                .map_err(|e| GenerateError::Config(e.to_string())),
        }
    }
}

/// Writes a whole tenant into `dir` (created): `policies.json`, `named-locations.json`,
/// `directory.json`, the sign-ins (see [`Format`]), `scores.csv` and `labels.csv`.
/// `progress` is called with the number of sign-ins written so far, every 10,000.
pub fn generate(
    dir: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary, GenerateError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut summary = Summary::default();
    let policies_path = dir.join("policies.json");
    write_json(&policies_path, &json!({"value": files::builtin_policies()}))?;
    let locations_path = dir.join("named-locations.json");
    let locations: Vec<Value> = files::named_locations().into_iter().map(|l| l.1).collect();
    write_json(&locations_path, &json!({ "value": locations }))?;
    // The files are read back as `simulate` reads them, so the logged outcomes are what
    // vigil's reading of the same files decides.
    let in_force = crate::policy::load_policies(&policies_path)?.policies;
    let locations = crate::location::load_named_locations(&locations_path)?.locations;

    let mut r = Rng(opts.seed);
    let tenant = tenant::build_tenant(&mut r, opts.users.max(2), &in_force);
    let directory_path = dir.join("directory.json");
    write_json(&directory_path, &files::directory_json(&tenant))?;
    let directory = crate::directory::load_directory(&directory_path)?;
    let ctx =
        Context::new(&in_force, &locations, Some(&directory)).map_err(GenerateError::Config)?;
    summary.users = tenant.users.len();
    summary
        .files
        .extend([policies_path, locations_path, directory_path]);

    let (mut sink, signins_path) = match opts.format {
        Format::Ndjson => {
            let path = dir.join("signins.ndjson");
            let f = fs::File::create(&path).map_err(io(&path))?;
            (
                Sink::Lines(BufWriter::with_capacity(1 << 20, f), path.clone()),
                path,
            )
        }
        Format::Graph => {
            let path = dir.join("signins");
            fs::create_dir_all(&path).map_err(io(&path))?;
            (
                Sink::Pages {
                    dir: path.clone(),
                    page: Vec::new(),
                    in_page: 0,
                    pages: 0,
                },
                path,
            )
        }
        Format::Parquet => {
            let path = dir.join("signins.parquet");
            let w = TableWriter::create(&path).map_err(|e| GenerateError::Config(e.to_string()))?;
            (Sink::Table(Box::new(w)), path)
        }
    };
    let scores_path = dir.join("scores.csv");
    let labels_path = dir.join("labels.csv");
    let file = |p: &Path| -> Result<BufWriter<fs::File>, GenerateError> {
        Ok(BufWriter::with_capacity(
            1 << 20,
            fs::File::create(p).map_err(io(p))?,
        ))
    };
    let mut scores = file(&scores_path)?;
    let mut labels = file(&labels_path)?;
    scores
        .write_all(b"signInId,score,model\n")
        .map_err(io(&scores_path))?;
    labels
        .write_all(b"signInId,label,attack\n")
        .map_err(io(&labels_path))?;

    let mut stream = SignInStream::new(
        &tenant,
        &in_force,
        &ctx,
        r.next_u64(),
        opts.signins,
        opts.attack_rate,
    );
    let mut line = Vec::with_capacity(4096);
    let mut text = String::with_capacity(128);
    while let Some(g) = stream.next_signin() {
        sink.push(&g, &mut line)?;
        summary.signins += 1;
        if g.signin.conditional_access_status.as_deref() == Some("failure") {
            summary.ca_failures += 1;
        }
        if let Some(a) = g.attack {
            summary.attacks += 1;
            summary.attacks_by_kind[a as usize] += 1;
        }
        if let Some(score) = g.score {
            use std::fmt::Write as _;
            text.clear();
            let _ = writeln!(text, "{},{score},synthetic-risk-1.0", g.signin.id);
            scores
                .write_all(text.as_bytes())
                .map_err(io(&scores_path))?;
            text.clear();
            let _ = writeln!(
                text,
                "{},{},{}",
                g.signin.id,
                u8::from(g.attack.is_some()),
                g.attack.map_or("", |a| a.name())
            );
            labels
                .write_all(text.as_bytes())
                .map_err(io(&labels_path))?;
        }
        if summary.signins.is_multiple_of(10_000) {
            progress(summary.signins);
        }
    }
    summary.evaluated_profiles = stream.evaluated_profiles();
    sink.finish()?;
    scores.flush().map_err(io(&scores_path))?;
    labels.flush().map_err(io(&labels_path))?;
    progress(summary.signins);
    summary
        .files
        .extend([signins_path, scores_path, labels_path]);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::SignIn;
    use crate::signin::{ReadOptions, read_signins};

    fn read(path: &Path) -> Vec<SignIn> {
        let mut out = Vec::new();
        read_signins(&[path.to_path_buf()], &ReadOptions::default(), &mut |s| {
            out.push(s);
        })
        .unwrap();
        out
    }

    /// What the Graph JSON export carries reads back as the generator made it; the fields a
    /// Graph export does not carry (user risk, workload risk) are unknown, never invented.
    #[test]
    fn graph_json_reads_back_as_generated() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = Options {
            signins: 400,
            users: 60,
            seed: 77,
            format: Format::Ndjson,
            attack_rate: 0.05,
        };
        generate(&dir.path().join("n"), &opts, &mut |_| {}).unwrap();
        opts.format = Format::Parquet;
        generate(&dir.path().join("p"), &opts, &mut |_| {}).unwrap();
        let graph = read(&dir.path().join("n/signins.ndjson"));
        let table = read(&dir.path().join("p/signins.parquet"));
        assert_eq!(graph.len(), 400);
        assert_eq!(table.len(), 400);
        let mut differ = std::collections::BTreeMap::<String, usize>::new();
        for (g, t) in graph.iter().zip(&table) {
            assert_eq!(g.user_risk_level, None);
            assert_eq!(g.service_principal_risk_level, None);
            let gj = serde_json::to_value(g).unwrap();
            let tj = serde_json::to_value(t).unwrap();
            for (k, v) in tj.as_object().unwrap() {
                if gj[k] != *v {
                    *differ.entry(k.clone()).or_default() += 1;
                }
            }
        }
        // Graph exports carry no user or workload risk; the generator sets no
        // primaryAuthFresh, which the reader derives from authenticationDetails; a failed
        // first factor has no authentication steps at all.
        let allowed = [
            "authenticationMethods",
            "mfaSatisfied",
            "primaryAuthFresh",
            "servicePrincipalRiskLevel",
            "sourceVariant",
            "userRiskLevel",
        ];
        for k in differ.keys() {
            assert!(allowed.contains(&k.as_str()), "{k} differs: {differ:?}");
        }
        assert!(
            differ.get("mfaSatisfied").copied().unwrap_or(0) < 20,
            "{differ:?}"
        );
        assert!(
            differ.get("authenticationMethods").copied().unwrap_or(0) < 40,
            "{differ:?}"
        );
    }
}
