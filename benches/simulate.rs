//! `vigil simulate` at scale: `cargo bench --bench simulate` (run it through `benches/simulate.sh`,
//! which also prepares DuckDB for the comparison).
//!
//! A plain program (no harness). It prints figures and asserts nothing about time:
//!
//! 1. **Data.** Generates, once (reused while the manifest matches), a realistic normalized
//!    sign-in table in `$VIGIL_BENCH_DIR` (default `/tmp/vigil-bench`): `signins.parquet`
//!    written with `vigil_simulator::table::TableWriter` in row groups, as `vigil ingest` writes
//!    it, never holding more than one row in memory; `directory.json` (tens of thousands of
//!    users with transitive groups and roles); `named-locations/` (the three real ones of
//!    j0eyv/ConditionalAccessBaseline plus generated IP and country locations); `policies/`
//!    (the 36 real policies of that baseline, copied byte for byte, UTF-16 and all, plus 14
//!    generated variants: 50 candidates). Deterministic for a seed.
//!    The log's own outcome (`status.errorCode`, `conditionalAccessStatus`,
//!    `appliedConditionalAccessPolicies`) is what the 36 real policies did: they are evaluated
//!    with vigil's engine once per distinct generated profile and every undecided point is
//!    settled the way Entra, who sees everything, would have settled it.
//! 2. **vigil.** Runs the real binary per CONTRACT-simulate.md, against the logged baseline,
//!    with `--decisions changed`, once per `--decisions-format` in `VIGIL_BENCH_FORMATS`
//!    (default `parquet,both`: summary.json and decisions.parquet as the target names them,
//!    then decisions.ndjson as well, whose many gigabytes make that run a measure of the
//!    disk): wall time and peak RSS of the child (`/usr/bin/time`), sign-ins/s, and the
//!    verdict on the targets (< 10 s, < 4 GiB on a 2-core machine).
//! 3. **DuckDB.** `benches/duckdb_compare.py` (run with `$VIGIL_BENCH_PYTHON`, a Python that
//!    can import duckdb; `benches/simulate.sh` makes a venv) generates SQL from the same policy,
//!    location and directory files and counts, per policy, the sign-ins whose conditions
//!    certainly hold, over the same Parquet file with the same number of threads. Its time and
//!    vigil's are printed with their ratio, and its counts are checked against the bounds
//!    vigil's per-policy results give.
//!
//! Knobs (environment): `VIGIL_BENCH_SIGNINS` (10000000), `VIGIL_BENCH_USERS` (40000),
//! `VIGIL_BENCH_SEED`, `VIGIL_BENCH_DIR`, `VIGIL_BENCH_RUNS` (3), `VIGIL_BENCH_THREADS` (the
//! number of cores: vigil's rayon and polars pools and DuckDB get that many threads),
//! `VIGIL_BENCH_VIGIL` (another vigil binary), `VIGIL_BENCH_PYTHON`, `VIGIL_BENCH_CABASELINE`
//! (the real policies' folder), `VIGIL_BENCH_FORMATS` (parquet,both),
//! `VIGIL_BENCH_KEEP_OUTPUT=1` (keep the decisions files, about
//! 1 GB), `VIGIL_BENCH_CLEAN=1` (delete the generated data at the end).

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_lossless,
    clippy::too_many_lines
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use std::time::Instant;

use serde_json::{Value, json};

mod common;
use common::{Report, Run, Setup, dir_size, env_u64, manifest_matches, mib, per_s, timed};
use vigil_simulator::eval::Context;
use vigil_simulator::generate::files;
use vigil_simulator::generate::rng::Rng;
use vigil_simulator::generate::signins::SignInStream;
use vigil_simulator::generate::tenant::{Tenant, build_tenant};
use vigil_simulator::model::Policy;
use vigil_simulator::table::TableWriter;

/// Bump when the generated data changes, so old data is not reused.
const GEN_VERSION: u64 = 5;
const TARGET_SECONDS: f64 = 10.0;
const TARGET_BYTES: u64 = 4 << 30;

// ---------------------------------------------------------------------------------------------
// Files: policies, named locations, directory (the generator is vigil_simulator::generate)
// ---------------------------------------------------------------------------------------------

/// Reads a Graph export in UTF-8 or UTF-16 (BOM or not).
fn read_json(path: &Path) -> Value {
    let b = fs::read(path).unwrap();
    let text = if b.starts_with(&[0xFF, 0xFE]) || (b.len() > 1 && b[1] == 0 && b[0] != 0) {
        let start = usize::from(b.starts_with(&[0xFF, 0xFE])) * 2;
        let units: Vec<u16> = b[start..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    } else if b.starts_with(&[0xFE, 0xFF]) {
        let units: Vec<u16> = b[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    } else {
        String::from_utf8(b).unwrap()
    };
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

fn write_locations(dir: &Path, cabaseline: &Path) {
    fs::create_dir_all(dir).unwrap();
    for f in json_files(&cabaseline.join("NamedLocations")) {
        fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    for (name, v) in files::named_locations() {
        fs::write(dir.join(name), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }
}

fn write_policies(dir: &Path, cabaseline: &Path) {
    fs::create_dir_all(dir).unwrap();
    let mut real = BTreeMap::new();
    for f in json_files(&cabaseline.join("ConditionalAccess")) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        fs::copy(&f, dir.join(&name)).unwrap();
        real.insert(name, read_json(&f));
    }
    assert_eq!(real.len(), 36, "expected the 36 policies of the baseline");
    for (name, v) in files::variants(&real) {
        fs::write(dir.join(name), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }
}

fn write_directory(path: &Path, t: &Tenant) {
    fs::write(path, serde_json::to_vec(&files::directory_json(t)).unwrap()).unwrap();
}

struct GenStats {
    rows: u64,
    profiles: usize,
    logged_keys: usize,
    bytes: u64,
}

/// Writes `n` sign-ins of the tenant (no attacks) to `path`, as `vigil ingest` writes them.
fn generate_signins(
    path: &Path,
    t: &Tenant,
    seed: u64,
    n: u64,
    in_force: &[Policy],
    ctx: &Context,
) -> GenStats {
    let mut w = TableWriter::create(path).unwrap();
    let mut stream = SignInStream::new(t, in_force, ctx, seed, n, 0.0);
    let started = Instant::now();
    let mut i = 0u64;
    while let Some(g) = stream.next_signin() {
        w.push_with_applied(g.signin, Some(g.applied)).unwrap();
        i += 1;
        if i.is_multiple_of(1_000_000) {
            eprint!(
                "\r  generating: {}M of {:.0}M sign-ins ({:.0} s)",
                i / 1_000_000,
                n as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let logged_keys = stream.evaluated_profiles();
    let (rows, dups) = w.finish().unwrap();
    assert_eq!(dups, 0);
    eprintln!();
    GenStats {
        rows,
        profiles: t.profiles,
        logged_keys,
        bytes: fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    }
}

// ---------------------------------------------------------------------------------------------
// Running and reporting
// ---------------------------------------------------------------------------------------------

/// Removes what this benchmark writes in `dir` (and nothing else: the folder may be shared).
fn clean(dir: &Path) {
    for d in ["policies", "named-locations", "out"] {
        let _ = fs::remove_dir_all(dir.join(d));
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if ["signins.parquet", "directory.json", "manifest.json"].contains(&name.as_str())
            || name.starts_with("vigil-run")
            || name.starts_with("duckdb.")
        {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn main() {
    let n = env_u64("VIGIL_BENCH_SIGNINS", 10_000_000);
    let n_users = env_u64("VIGIL_BENCH_USERS", 40_000) as usize;
    let seed = env_u64("VIGIL_BENCH_SEED", 0x5157_2026);

    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cabaseline = std::env::var("VIGIL_BENCH_CABASELINE").map_or_else(
        |_| repo.join("../shared/data/external/j0eyv-cabaseline"),
        PathBuf::from,
    );
    let Setup {
        cores,
        threads,
        vigil,
        dir,
        runs,
    } = Setup::from_env("/tmp/vigil-bench");
    let threads_s = threads.to_string();
    println!(
        "vigil simulate benchmark: {cores} cores, {threads} threads for vigil and DuckDB, VIGIL_BENCH_SIGNINS={n}, VIGIL_BENCH_USERS={n_users}, seed {seed:#x}, data in {}",
        dir.display()
    );

    // ---- 1. data ----------------------------------------------------------------------------
    let parquet = dir.join("signins.parquet");
    let policies_dir = dir.join("policies");
    let locations_dir = dir.join("named-locations");
    let directory = dir.join("directory.json");
    let manifest_path = dir.join("manifest.json");
    let manifest = json!({"version": GEN_VERSION, "signIns": n, "users": n_users, "seed": seed});
    let reuse = manifest_matches(&manifest_path, &manifest) && parquet.is_file();
    let mut t = Report::new("1. Data (normalized Parquet, as `vigil ingest` writes it)");
    if reuse {
        t.row(
            "generated data",
            "reused",
            format!("{} (manifest matches)", manifest_path.display()),
        );
    } else {
        if !cabaseline.join("ConditionalAccess").is_dir() {
            panic!(
                "{}: the real policies are needed (set VIGIL_BENCH_CABASELINE to the j0eyv-cabaseline folder)",
                cabaseline.display()
            );
        }
        clean(&dir);
        fs::create_dir_all(&dir).unwrap();
        let start = Instant::now();
        write_policies(&policies_dir, &cabaseline);
        write_locations(&locations_dir, &cabaseline);
        let in_force =
            vigil_simulator::policy::load_policies(&cabaseline.join("ConditionalAccess"))
                .unwrap()
                .policies;
        let mut r = Rng(seed);
        let tenant = build_tenant(&mut r, n_users, &in_force);
        let stream_seed = r.next_u64();
        write_directory(&directory, &tenant);
        let locations = vigil_simulator::location::load_named_locations(&locations_dir)
            .unwrap()
            .locations;
        let dir_snapshot = vigil_simulator::directory::load_directory(&directory).unwrap();
        let ctx = Context::new(&in_force, &locations, Some(&dir_snapshot)).unwrap();
        let g = generate_signins(&parquet, &tenant, stream_seed, n, &in_force, &ctx);
        t.row(
            "generated in",
            format!("{:.1} s", start.elapsed().as_secs_f64()),
            "",
        );
        t.row("sign-ins written", g.rows.to_string(), "");
        t.row(
            "directory",
            format!("{} users", tenant.users.len()),
            format!(
                "{} user profiles (named groups, roles, type), {} groups, {} roles",
                g.profiles,
                tenant.groups.len(),
                tenant.roles.len()
            ),
        );
        t.row(
            "applications / addresses / devices",
            format!(
                "{} / {} / {}",
                tenant.apps.len(),
                tenant.ips.len(),
                tenant.devices.len()
            ),
            format!(
                "{} service principals, {} managed identities",
                tenant.sps.len(),
                tenant.mis.len()
            ),
        );
        t.row(
            "logged outcomes evaluated",
            g.logged_keys.to_string(),
            "distinct generated profiles, 36 policies in force",
        );
        t.row("signins.parquet", mib(g.bytes), "");
        fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
    }
    let n_policies = json_files(&policies_dir).len();
    t.row(
        "candidate policies",
        n_policies.to_string(),
        "36 real (j0eyv/ConditionalAccessBaseline) + 14 generated variants",
    );
    t.row(
        "named locations",
        json_files(&locations_dir).len().to_string(),
        "",
    );
    t.row("signins.parquet size", mib(dir_size(&parquet)), "");
    t.print();

    // ---- 2. vigil -----------------------------------------------------------------------------
    let out = dir.join("out");
    let formats = std::env::var("VIGIL_BENCH_FORMATS").unwrap_or_else(|_| "parquet,both".into());
    // (format, best seconds, summary.json) of each configuration run.
    let mut results: Vec<(String, f64, Value)> = Vec::new();
    for format in formats.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let mut t = Report::new(format!(
            "2. vigil simulate --baseline logged --decisions changed --decisions-format {format} ({n} sign-ins x {n_policies} policies)"
        ));
        let mut best: Option<Run> = None;
        let mut max_rss = 0;
        let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
        let keep_output = std::env::var("VIGIL_BENCH_KEEP_OUTPUT").is_ok_and(|v| v == "1");
        for k in 1..=runs {
            let _ = fs::remove_dir_all(&out);
            let run = timed(
                &[
                    vigil.as_str(),
                    "--quiet",
                    "simulate",
                    "--signins",
                    parquet.to_str().unwrap(),
                    "--policies",
                    policies_dir.to_str().unwrap(),
                    "--named-locations",
                    locations_dir.to_str().unwrap(),
                    "--directory",
                    directory.to_str().unwrap(),
                    "--baseline",
                    "logged",
                    "--decisions",
                    "changed",
                    "--decisions-format",
                    format,
                    "--out",
                    out.to_str().unwrap(),
                ],
                &Setup::thread_env(&threads_s),
                &dir.join(format!("vigil-run{k}")),
            );
            t.row(
                format!("run {k}: wall time, peak RSS"),
                format!("{:.2} s", run.wall.as_secs_f64()),
                format!(
                    "{}, {}",
                    mib(run.max_rss),
                    per_s(n as f64 / run.wall.as_secs_f64())
                ),
            );
            // The decisions files are large (kilobytes of reasons per changed row): measured, then
            // removed unless VIGIL_BENCH_KEEP_OUTPUT=1.
            for f in ["decisions.parquet", "decisions.ndjson"] {
                if !out.join(f).exists() {
                    continue;
                }
                sizes.insert(f, dir_size(&out.join(f)));
                if !keep_output {
                    let _ = fs::remove_file(out.join(f));
                }
            }
            max_rss = max_rss.max(run.max_rss);
            if best.as_ref().is_none_or(|b| run.wall < b.wall) {
                best = Some(run);
            }
        }
        let best = best.unwrap();
        let summary: Value =
            serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
        let secs = best.wall.as_secs_f64();
        t.row(
            "best wall time",
            format!("{secs:.2} s"),
            format!(
                "target < {TARGET_SECONDS:.0} s: {}",
                if secs < TARGET_SECONDS {
                    "met"
                } else {
                    "MISSED"
                }
            ),
        );
        t.row(
            "peak RSS (largest of the runs)",
            mib(max_rss),
            format!(
                "target < 4 GiB: {}",
                if max_rss == 0 {
                    "not measured (no /usr/bin/time)"
                } else if max_rss < TARGET_BYTES {
                    "met"
                } else {
                    "MISSED"
                }
            ),
        );
        t.row(
            "sign-ins/s (best run)",
            per_s(summary["signIns"].as_f64().unwrap_or(0.0) / secs),
            format!(
                "{} policy evaluations/s",
                per_s(summary["signIns"].as_f64().unwrap_or(0.0) * n_policies as f64 / secs)
            ),
        );
        t.row(
            "sign-ins in summary.json",
            summary["signIns"].to_string(),
            "",
        );
        t.row(
            "distinct evaluation keys",
            summary["distinctKeys"].to_string(),
            "",
        );
        t.row(
            "changed (rows in decisions.*)",
            summary["changed"].to_string(),
            format!(
                "{:.2}% of sign-ins",
                100.0 * summary["changed"].as_f64().unwrap_or(0.0)
                    / summary["signIns"].as_f64().unwrap_or(1.0)
            ),
        );
        for (f, size) in &sizes {
            t.row(
                *f,
                mib(*size),
                if keep_output {
                    "kept"
                } else {
                    "written, then removed"
                },
            );
        }
        let mut transitions: Vec<(String, u64)> = summary["transitions"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        transitions.sort_by_key(|b| std::cmp::Reverse(b.1));
        for (k, v) in transitions.iter().take(8) {
            t.row(format!("  {k}"), v.to_string(), "");
        }
        t.print();
        results.push((format.to_string(), secs, summary));
    }
    let Some((format, secs, summary)) = results
        .iter()
        .find(|r| r.0 == "parquet")
        .or_else(|| results.first())
        .cloned()
    else {
        eprintln!("VIGIL_BENCH_FORMATS names no format");
        std::process::exit(2);
    };
    println!("(DuckDB is compared with the --decisions-format {format} run)\n");

    // ---- 3. DuckDB ------------------------------------------------------------------------------
    let python = std::env::var("VIGIL_BENCH_PYTHON").ok();
    let mut t = Report::new(format!(
        "3. DuckDB: the same policies' conditions as SQL over the same file ({threads} threads)"
    ));
    match python {
        None => {
            t.row(
                "DuckDB",
                "skipped",
                "set VIGIL_BENCH_PYTHON to a Python with duckdb (benches/simulate.sh does)",
            );
            t.print();
        }
        Some(py) => {
            let result = dir.join("duckdb.json");
            let script = repo.join("benches/duckdb_compare.py");
            let runs_s = runs.to_string();
            let run = timed(
                &[
                    py.as_str(),
                    script.to_str().unwrap(),
                    "--signins",
                    parquet.to_str().unwrap(),
                    "--policies",
                    policies_dir.to_str().unwrap(),
                    "--named-locations",
                    locations_dir.to_str().unwrap(),
                    "--directory",
                    directory.to_str().unwrap(),
                    "--threads",
                    &threads_s,
                    "--runs",
                    &runs_s,
                    "--sql-out",
                    dir.join("duckdb.sql").to_str().unwrap(),
                    "--json",
                    result.to_str().unwrap(),
                ],
                &[],
                &dir.join("duckdb"),
            );
            let d: Value = serde_json::from_slice(&fs::read(&result).unwrap()).unwrap();
            let times: Vec<f64> = d["seconds"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            for (k, s) in times.iter().enumerate() {
                t.row(
                    format!("run {}: query time", k + 1),
                    format!("{s:.2} s"),
                    per_s(n as f64 / s),
                );
            }
            let duck = times.iter().copied().fold(f64::INFINITY, f64::min);
            t.row(
                "DuckDB version",
                d["version"].as_str().unwrap_or("?"),
                format!(
                    "whole script incl. Python start: {:.1} s, peak RSS {}",
                    run.wall.as_secs_f64(),
                    mib(run.max_rss)
                ),
            );
            t.row(
                "best query time",
                format!("{duck:.2} s"),
                format!("{} rows counted", d["rows"]),
            );
            t.row(
                "SQL",
                format!("{} bytes", d["sqlBytes"]),
                format!("{}", dir.join("duckdb.sql").display()),
            );
            t.row(
                "vigil best / DuckDB best",
                format!("{:.2}x", secs / duck),
                if secs < duck {
                    format!(
                        "vigil {:.2}x faster, doing the full semantics and writing its outputs",
                        duck / secs
                    )
                } else {
                    "vigil SLOWER than DuckDB".to_string()
                },
            );
            t.print();

            // Cross-check: DuckDB counts the sign-ins whose conditions certainly hold. vigil's
            // definite "applies" results are a lower bound of that count and adding its
            // undecided results gives an upper bound.
            let mut t =
                Report::new("4. Cross-check: DuckDB's counts against vigil's per-policy results");
            let counts = d["counts"].as_object().cloned().unwrap_or_default();
            let mut inside = 0;
            let mut exact = 0;
            let mut outside = Vec::new();
            let mut duck_total = 0u64;
            let mut vigil_total = 0u64;
            for (id, c) in &counts {
                let c = c.as_u64().unwrap_or(0);
                let words = &summary["candidate"]["policies"][id];
                let get = |w: &str| words[w].as_u64().unwrap_or(0);
                let lo = [
                    "success",
                    "failure",
                    "reportOnlySuccess",
                    "reportOnlyFailure",
                    "reportOnlyInterrupted",
                ]
                .iter()
                .map(|w| get(w))
                .sum::<u64>();
                let hi = lo + get("indeterminate");
                duck_total += c;
                vigil_total += lo;
                if c == lo {
                    exact += 1;
                }
                if (lo..=hi).contains(&c) {
                    inside += 1;
                } else {
                    outside.push(format!("{id}: DuckDB {c}, vigil [{lo}, {hi}]"));
                }
            }
            t.row("policies compared", counts.len().to_string(), "");
            t.row(
                "DuckDB count within vigil's bounds",
                inside.to_string(),
                format!("{exact} equal to vigil's definite count"),
            );
            t.row(
                "sum of DuckDB counts",
                duck_total.to_string(),
                format!("vigil's definite applies: {vigil_total}"),
            );
            for o in outside.iter().take(10) {
                t.row("  outside", "", o.clone());
            }
            t.print();
        }
    }
    println!();
    if std::env::var("VIGIL_BENCH_CLEAN").is_ok_and(|v| v == "1") {
        clean(&dir);
        let _ = fs::remove_dir(&dir);
        println!("removed the generated data from {}", dir.display());
    } else {
        println!(
            "generated data kept in {} ({}); VIGIL_BENCH_CLEAN=1 removes it",
            dir.display(),
            mib(dir_size(&dir))
        );
    }
}
