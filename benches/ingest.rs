//! `vigil ingest` speed: `cargo bench --bench ingest` (run it through `benches/ingest.sh`,
//! which also prepares DuckDB for the comparison).
//!
//! A plain program (no harness). It prints figures and asserts nothing about time:
//!
//! 1. **Data.** Generates, once (reused while the manifest matches), the same sign-ins as
//!    Graph NDJSON (`ndjson/signins.ndjson`) and as Graph list pages of 1,000
//!    (`graph/signins/page-NNNNNN.json`) with `vigil samples generate`'s generator
//!    (`vigil_simulator::generate`), in `$VIGIL_BENCH_DIR` (default /tmp/vigil-bench-ingest).
//! 2. **vigil.** Runs the real binary, `vigil --quiet ingest --signins X --out Y.parquet`, on
//!    each: wall time, MB/s of input (10^6 bytes), peak RSS, and the Parquet output's size per
//!    million sign-ins. Target (issue 5): >= 300 MB/s on 2 cores.
//! 3. **serde_json.** The same bytes parsed into `serde_json::Value` in this process, on the
//!    same number of threads (rayon; NDJSON split at line boundaries, pages one per task),
//!    read from the page cache like vigil's: the floor of any serde-based reader.
//! 4. **DuckDB.** `benches/ingest_duckdb.py` runs `read_json` on the same files into a table
//!    (every column parsed) with the same number of threads.
//!
//! Knobs (environment): `VIGIL_BENCH_SIGNINS` (1000000), `VIGIL_BENCH_SEED`,
//! `VIGIL_BENCH_DIR`, `VIGIL_BENCH_RUNS` (3), `VIGIL_BENCH_THREADS` (the number of cores),
//! `VIGIL_BENCH_VIGIL` (another vigil binary), `VIGIL_BENCH_PYTHON`, `VIGIL_BENCH_CLEAN=1`.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_lossless,
    clippy::cast_precision_loss
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::{Value, json};
use vigil_simulator::generate::{self, Format, Options};

mod common;
use common::{Report, Setup, dir_size, env_u64, manifest_matches, mib, timed};

/// Bump when the generated data changes, so old data is not reused.
const GEN_VERSION: u64 = 1;
const TARGET_MB_S: f64 = 300.0;

fn mb_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

/// Every file under `p`, sorted.
fn files_under(p: &Path) -> Vec<PathBuf> {
    if p.is_file() {
        return vec![p.to_path_buf()];
    }
    let mut v: Vec<PathBuf> = fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Parses every record of `input` into `serde_json::Value` on `pool`; returns the records.
fn serde_parse(input: &Path, pool: &rayon::ThreadPool) -> u64 {
    pool.install(|| {
        if input.is_file() {
            // NDJSON: the whole file, split at line boundaries into one chunk per thread.
            let bytes = fs::read(input).unwrap();
            let parts = rayon::current_num_threads().max(1) * 4;
            let mut cuts = vec![0];
            for k in 1..parts {
                let at = bytes.len() * k / parts;
                let next = bytes[at..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(bytes.len(), |p| at + p + 1);
                if next > *cuts.last().unwrap() {
                    cuts.push(next);
                }
            }
            cuts.push(bytes.len());
            cuts.windows(2)
                .collect::<Vec<_>>()
                .par_iter()
                .map(|w| {
                    bytes[w[0]..w[1]]
                        .split(|b| *b == b'\n')
                        .filter(|l| !l.is_empty())
                        .map(|l| {
                            let v: Value = serde_json::from_slice(l).unwrap();
                            std::hint::black_box(&v);
                            1u64
                        })
                        .sum::<u64>()
                })
                .sum()
        } else {
            files_under(input)
                .par_iter()
                .map(|f| {
                    let v: Value = serde_json::from_slice(&fs::read(f).unwrap()).unwrap();
                    v["value"].as_array().map_or(0, |a| a.len() as u64)
                })
                .sum()
        }
    })
}

fn main() {
    let n = env_u64("VIGIL_BENCH_SIGNINS", 1_000_000);
    let seed = env_u64("VIGIL_BENCH_SEED", 0x1_6E57);
    let Setup {
        cores,
        threads,
        vigil,
        dir,
        runs,
    } = Setup::from_env("/tmp/vigil-bench-ingest");
    let threads_s = threads.to_string();
    println!(
        "vigil ingest benchmark: {cores} cores, {threads} threads for vigil, serde_json and DuckDB, VIGIL_BENCH_SIGNINS={n}, seed {seed:#x}, data in {}{}",
        dir.display(),
        if cfg!(debug_assertions) {
            " (UNOPTIMIZED build: the figures say nothing about speed)"
        } else {
            ""
        }
    );

    // ---- 1. data ------------------------------------------------------------------------------
    let manifest_path = dir.join("manifest.json");
    let manifest = json!({"version": GEN_VERSION, "signIns": n, "seed": seed});
    let ndjson = dir.join("ndjson/signins.ndjson");
    let graph = dir.join("graph/signins");
    let reuse = manifest_matches(&manifest_path, &manifest) && ndjson.is_file() && graph.is_dir();
    let mut t = Report::new("1. Data (Graph signIn JSON from vigil's generator)");
    if reuse {
        t.row(
            "generated data",
            "reused",
            format!("{} (manifest matches)", manifest_path.display()),
        );
    } else {
        let _ = fs::remove_dir_all(dir.join("ndjson"));
        let _ = fs::remove_dir_all(dir.join("graph"));
        fs::create_dir_all(&dir).unwrap();
        for (sub, format) in [("ndjson", Format::Ndjson), ("graph", Format::Graph)] {
            let start = Instant::now();
            let opts = Options {
                signins: n,
                users: Options::default_users(n),
                seed,
                format,
                attack_rate: 0.01,
            };
            let s = generate::generate(&dir.join(sub), &opts, &mut |k| {
                if k.is_multiple_of(1_000_000) && k > 0 {
                    eprint!("\r  generating {sub}: {}M sign-ins", k / 1_000_000);
                }
            })
            .unwrap();
            eprintln!();
            t.row(
                format!("generated {sub}"),
                format!("{:.1} s", start.elapsed().as_secs_f64()),
                format!("{} sign-ins, {} users", s.signins, s.users),
            );
        }
        fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
    }
    let inputs = [
        ("Graph NDJSON", ndjson.clone()),
        ("Graph list pages", graph.clone()),
    ];
    for (name, p) in &inputs {
        t.row(
            *name,
            mib(dir_size(p)),
            format!("{:.0} bytes per sign-in", dir_size(p) as f64 / n as f64),
        );
    }
    t.print();

    // ---- 2. vigil ingest, 3. serde_json -------------------------------------------------------
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads as usize)
        .build()
        .unwrap();
    let mut vigil_mb_s = Vec::new();
    for (name, input) in &inputs {
        let bytes = dir_size(input);
        let mut t = Report::new(format!(
            "2-3. vigil ingest and serde_json: {name} ({n} sign-ins)"
        ));
        let out = dir.join("out.parquet");
        let mut best = f64::INFINITY;
        let mut rss = 0;
        for k in 1..=runs {
            let run = timed(
                &[
                    vigil.as_str(),
                    "--quiet",
                    "ingest",
                    "--signins",
                    input.to_str().unwrap(),
                    "--out",
                    out.to_str().unwrap(),
                ],
                &Setup::thread_env(&threads_s),
                &dir.join(format!("vigil-ingest-run{k}")),
            );
            let secs = run.wall.as_secs_f64();
            t.row(
                format!("run {k}: wall time"),
                format!("{secs:.2} s"),
                format!(
                    "{:.0} MB/s, peak RSS {}",
                    mb_s(bytes, secs),
                    mib(run.max_rss)
                ),
            );
            best = best.min(secs);
            rss = rss.max(run.max_rss);
        }
        let parquet = dir_size(&out);
        let _ = fs::remove_file(&out);
        let v = mb_s(bytes, best);
        vigil_mb_s.push(v);
        t.row(
            "best",
            format!("{v:.0} MB/s"),
            format!(
                "target >= {TARGET_MB_S:.0} MB/s on 2 cores: {}",
                if v >= TARGET_MB_S { "met" } else { "MISSED" }
            ),
        );
        t.row(
            "Parquet output per million sign-ins",
            mib((parquet as f64 / n as f64 * 1e6) as u64),
            format!("{} for {n}", mib(parquet)),
        );
        let mut serde_best = f64::INFINITY;
        let mut records = 0;
        for _ in 0..runs {
            let start = Instant::now();
            records = serde_parse(input, &pool);
            serde_best = serde_best.min(start.elapsed().as_secs_f64());
        }
        let s = mb_s(bytes, serde_best);
        t.row(
            "serde_json into Value (best, in-process)",
            format!("{s:.0} MB/s"),
            format!("{records} records, {threads} threads"),
        );
        t.row(
            "vigil / serde_json",
            format!("{:.2}x", v / s),
            "ingest MB/s over parsing MB/s (above 1: vigil is faster)",
        );
        t.print();
    }

    // ---- 4. DuckDB ------------------------------------------------------------------------------
    let mut t = Report::new(format!(
        "4. DuckDB read_json on the same files ({threads} threads)"
    ));
    match std::env::var("VIGIL_BENCH_PYTHON").ok() {
        None => t.row(
            "DuckDB",
            "skipped",
            "set VIGIL_BENCH_PYTHON to a Python with duckdb (benches/ingest.sh does)",
        ),
        Some(py) => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ingest_duckdb.py");
            let result = dir.join("duckdb.json");
            let runs_s = runs.to_string();
            timed(
                &[
                    py.as_str(),
                    script.to_str().unwrap(),
                    "--ndjson",
                    ndjson.to_str().unwrap(),
                    "--graph",
                    graph.to_str().unwrap(),
                    "--threads",
                    &threads_s,
                    "--runs",
                    &runs_s,
                    "--json",
                    result.to_str().unwrap(),
                ],
                &[],
                &dir.join("duckdb"),
            );
            let d: Value = serde_json::from_slice(&fs::read(&result).unwrap()).unwrap();
            for ((name, input), key, v) in inputs
                .iter()
                .zip(["ndjson", "graph"])
                .zip(&vigil_mb_s)
                .map(|((i, k), v)| (i, k, v))
            {
                let best = d["seconds"][key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_f64)
                    .fold(f64::INFINITY, f64::min);
                let duck = mb_s(dir_size(input), best);
                t.row(
                    format!("{name}: DuckDB best"),
                    format!("{duck:.0} MB/s"),
                    format!(
                        "{} rows, DuckDB {}",
                        d["rows"][key],
                        d["version"].as_str().unwrap_or("?")
                    ),
                );
                t.row(
                    format!("{name}: vigil / DuckDB"),
                    format!("{:.2}x", v / duck),
                    "above 1: vigil is faster",
                );
            }
        }
    }
    t.print();
    println!();
    if std::env::var("VIGIL_BENCH_CLEAN").is_ok_and(|v| v == "1") {
        for d in ["ndjson", "graph"] {
            let _ = fs::remove_dir_all(dir.join(d));
        }
        let _ = fs::remove_file(&manifest_path);
        println!("removed the generated data from {}", dir.display());
    } else {
        println!(
            "generated data kept in {}; VIGIL_BENCH_CLEAN=1 removes it",
            dir.display()
        );
    }
}
