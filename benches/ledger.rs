//! vigil-ledger performance figures: `cargo bench --bench ledger` (see `benches/ledger.sh`).
//!
//! A plain program (no harness). It prints figures, it asserts nothing about time: every
//! throughput is also shown as a ratio to a reference measured in the same run on the
//! same machine (raw SHA-256, raw Ed25519 sign and `verify_strict` on 1 core and on
//! every core through rayon), so a figure means something on any machine. Verification is
//! also shown against `vigil_ledger::strict::verify_strict`, the ledger's own signature check
//! (the same acceptance rule, one field square root cheaper), so its overhead beyond checking
//! signatures is visible as well.
//!
//! Sections:
//! 1. reference rates, on messages the size of real entry messages
//!    (`Envelope::signed_message` over a real envelope);
//! 2. durable batched `Ledger::append` (hash, sign on every core, SQLite insert, one fsync
//!    per batch) for batch sizes 1, 100, 1000 and 10000, and the latency of ~500
//!    acknowledged one-entry appends;
//! 3. `audit::verify_database` of a ledger of `VIGIL_BENCH_N` entries (default 200,000);
//! 4. inclusion and consistency proofs over a tree of `VIGIL_BENCH_PROOF_N` entries
//!    (default 10,000,000): the database is filled with synthetic unsigned rows
//!    (`Ledger::bench_append_synthetic`, same schema and node logic as `append`), which
//!    takes a few minutes at 10M; `VIGIL_BENCH_PROOF_N=0` skips the section.
//!
//! 5. `vigil ledger record` end to end, the real binary on `VIGIL_BENCH_RECORD_N` synthetic
//!    Graph sign-ins (default 50,000, NDJSON, about 1 KB each) with a score each: reading,
//!    normalizing, three signed entries per sign-in (signal, inference, action) and the
//!    subject index, then the same export again (everything skipped). `VIGIL_BENCH_RECORD_N=0`
//!    skips the section.
//!
//! 6. directory changes: `vigil ledger record --audits` end to end, the real binary on
//!    `VIGIL_BENCH_AUDIT_N` synthetic Graph directoryAudit records (default 50,000, NDJSON),
//!    as records/s and as a ratio to raw signing (target >= 40,000 records/s); and the
//!    coverage pass (`vigil_simulator::coverage::coverage`, one streaming read of the
//!    entries) over a signed ledger of `VIGIL_BENCH_COVERAGE_N` entries (default 200,000;
//!    10,000,000 for the target of under 10 s: building that ledger signs every entry and
//!    takes minutes) of signals, inferences, approvals and changes. `0` skips either part.
//!    The coverage figure is the pass alone, median of `VIGIL_BENCH_COVERAGE_RUNS` passes
//!    (default 3): the verification that `vigil ledger coverage` runs before it is NOT
//!    included (it is signature-bound; section 3 measures it). `VIGIL_BENCH_COVERAGE_DB=FILE`
//!    keeps the coverage ledger at FILE: built there when FILE does not exist, reused (and
//!    `VIGIL_BENCH_COVERAGE_N` ignored) when it does, so a 10M-entry ledger is built once.
//!
//! `VIGIL_BENCH_SECTIONS` (e.g. `2,3`) runs only some sections (for profiling); the
//! reference rates (section 1) always run, since every ratio needs them.
//!
//! Databases live in a temporary folder under `$TMPDIR` (removed at the end); at 10M
//! the proof database needs about 2 GB of disk.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use vigil_ledger::audit::{VerifyOptions, verify_database};
use vigil_ledger::merkle;
use vigil_ledger::note::{ALG_ED25519, SignerKey};
use vigil_ledger::{Envelope, Kind, Ledger, NewEntry};

/// The allocator the `vigil` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;
use common::{Report, env_u64};
use vigil_simulator::generate::rng::Rng;

const ORIGIN: &str = "bench.vigil.example/ledger";
const PRODUCER: &str = "ai-engine";

/// How long each reference loop runs.
const REF_TIME: Duration = Duration::from_millis(1500);

/// A realistic inference entry: three opaque subject ids and a ~250-byte payload.
fn new_entry(rng: &mut Rng) -> NewEntry {
    let mut subject = BTreeMap::new();
    subject.insert("tenantId".to_string(), rng.guid());
    subject.insert("userId".to_string(), rng.guid());
    subject.insert("signInId".to_string(), rng.guid());
    let score = rng.range(0, 1000);
    let payload = serde_json::json!({
        "model": "risk-v3",
        "score": score,
        "riskLevel": if score > 700 { "high" } else if score > 300 { "medium" } else { "low" },
        "recommendedAction": "requireMfa",
        "reasoning": "sign-in from a new country and an unfamiliar device within 2 hours of a password reset",
        "signals": ["newCountry", "unfamiliarDevice", "recentPasswordReset"],
    });
    NewEntry {
        kind: Kind::Inference,
        subject,
        refs: vec![],
        payload,
    }
}

fn entries(rng: &mut Rng, n: usize) -> Vec<NewEntry> {
    (0..n).map(|_| new_entry(rng)).collect()
}

/// Messages exactly as `Ledger::append` signs them: real envelopes of realistic entries.
fn real_messages(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let e = new_entry(rng);
            let payload = vigil_ledger::entry::canonical_payload(&e.payload).unwrap();
            let salt = [7u8; 32];
            let env = Envelope {
                v: vigil_ledger::entry::FORMAT_VERSION,
                seq: 1_000_000 + i as u64,
                ts: "2026-01-05T14:23:45.123456Z".into(),
                kind: e.kind,
                actor: PRODUCER.into(),
                subject: e.subject,
                refs: vec![],
                payload_commitment: vigil_ledger::entry::payload_commitment(&salt, &payload),
                prev: merkle::leaf_hash(&i.to_be_bytes()),
            };
            Envelope::signed_message(ORIGIN, &env.canonical_bytes())
        })
        .collect()
}

/// Runs `f` (which does `per_call` operations) until `REF_TIME` has passed; ops/s.
fn rate(per_call: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let start = Instant::now();
    let mut ops = 0usize;
    while start.elapsed() < REF_TIME {
        f();
        ops += per_call;
    }
    ops as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn per_s(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M/s", x / 1e6)
    } else {
        format!("{:.0} /s", x)
    }
}

fn db_bytes(path: &Path) -> u64 {
    let mut total = 0;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        total += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    }
    total
}

/// A fresh ledger with the producer key registered for inferences.
fn new_ledger(dir: &Path, name: &str, ledger_key: &SignerKey, producer: &SignerKey) -> Ledger {
    let mut l = Ledger::create(&dir.join(name), ledger_key).unwrap();
    l.add_key(ledger_key, &producer.verifier(), vec![Kind::Inference])
        .unwrap();
    l
}

fn main() {
    let n_verify = env_u64("VIGIL_BENCH_N", 200_000);
    let n_proof = env_u64("VIGIL_BENCH_PROOF_N", 10_000_000);
    let sections = std::env::var("VIGIL_BENCH_SECTIONS").unwrap_or_else(|_| "1,2,3,4,5,6".into());
    let run = |n: &str| sections.split(',').any(|s| s.trim() == n);
    let threads = rayon::current_num_threads();
    let dir = tempfile::Builder::new()
        .prefix("vigil-bench-")
        .tempdir()
        .unwrap();
    let ledger_key = SignerKey::generate(ORIGIN, ALG_ED25519).unwrap();
    let producer = SignerKey::generate(PRODUCER, ALG_ED25519).unwrap();
    let mut rng = Rng(0x5eed);

    println!(
        "vigil-ledger benchmark: {} cores, rayon threads {threads}, VIGIL_BENCH_N={n_verify}, VIGIL_BENCH_PROOF_N={n_proof}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // ---- 1. reference rates -------------------------------------------------------------
    let msgs = real_messages(&mut rng, 4096);
    let msg_len = msgs.iter().map(Vec::len).sum::<usize>() / msgs.len();
    let sk = SigningKey::from_bytes(&[42u8; 32]);
    let vk = sk.verifying_key();
    let sigs: Vec<ed25519_dalek::Signature> = msgs.iter().map(|m| sk.sign(m)).collect();
    let sha = rate(msgs.len(), || {
        for m in &msgs {
            black_box(Sha256::digest(black_box(m)));
        }
    });
    let sign1 = rate(msgs.len(), || {
        for m in &msgs {
            black_box(sk.sign(black_box(m)));
        }
    });
    let sign_n = rate(msgs.len(), || {
        let s: Vec<_> = msgs.par_iter().map(|m| sk.sign(m)).collect();
        black_box(s);
    });
    let verify1 = rate(msgs.len(), || {
        for (m, s) in msgs.iter().zip(&sigs) {
            assert!(vk.verify_strict(black_box(m), s).is_ok());
        }
    });
    let verify_n = rate(msgs.len(), || {
        let ok = msgs
            .par_iter()
            .zip(sigs.par_iter())
            .all(|(m, s)| vk.verify_strict(m, s).is_ok());
        assert!(ok);
    });
    // The ledger's own check (ledger/src/strict.rs): verify_strict's rule without decompressing
    // R. Reported beside the target's reference so the verifier's overhead over its own
    // signature check is visible too.
    let sig_bytes: Vec<[u8; 64]> = sigs
        .iter()
        .map(ed25519_dalek::Signature::to_bytes)
        .collect();
    let strict_n = rate(msgs.len(), || {
        let ok = msgs
            .par_iter()
            .zip(sig_bytes.par_iter())
            .all(|(m, s)| vigil_ledger::strict::verify_strict(&vk, m, s));
        assert!(ok);
    });
    let mut t = Report::new("1. Reference rates (raw primitives on real entry messages)");
    t.row(
        "message size (signed_message of a real envelope)",
        format!("{msg_len} B"),
        "",
    );
    t.row("SHA-256, 1 core", per_s(sha), "");
    t.row("Ed25519 sign, 1 core", per_s(sign1), "");
    t.row(
        format!("Ed25519 sign, {threads} cores (rayon)"),
        per_s(sign_n),
        format!("{:.2}x of 1 core", sign_n / sign1),
    );
    t.row("Ed25519 verify_strict, 1 core", per_s(verify1), "");
    t.row(
        format!("Ed25519 verify_strict, {threads} cores (rayon)"),
        per_s(verify_n),
        format!("{:.2}x of 1 core", verify_n / verify1),
    );
    t.row(
        format!(
            "vigil_ledger::strict::verify_strict (same rule, no R decompression), {threads} cores"
        ),
        per_s(strict_n),
        format!("{:.2}x of ed25519-dalek verify_strict", strict_n / verify_n),
    );
    t.print();

    // ---- 2. durable appends ---------------------------------------------------------------
    if run("2") {
        let mut t = Report::new(
            "2. Durable Ledger::append (hash + sign on all cores + SQLite insert + fsync per batch)",
        );
        // (batch size, batches): each row runs a few seconds at most.
        for (batch, batches) in [(1usize, 300usize), (100, 60), (1000, 30), (10_000, 12)] {
            let mut l = new_ledger(
                dir.path(),
                &format!("append-{batch}.db"),
                &ledger_key,
                &producer,
            );
            let mut total = Duration::ZERO;
            let mut n = 0usize;
            for _ in 0..batches {
                let items = entries(&mut rng, batch);
                let start = Instant::now();
                let out = l.append(&producer, items).unwrap();
                total += start.elapsed();
                n += out.len();
            }
            let r = n as f64 / total.as_secs_f64();
            t.row(
                format!("batch {batch:>5} ({n} entries)"),
                format!("{} entries/s", per_s(r).trim_end_matches(" /s")),
                format!(
                    "{:.1}% of raw {threads}-core signing{}",
                    100.0 * r / sign_n,
                    if batch >= 1000 {
                        format!(
                            "; target >= 50,000/s: {}",
                            if r >= 50_000.0 { "met" } else { "MISSED" }
                        )
                    } else {
                        String::new()
                    }
                ),
            );
        }
        {
            let mut l = new_ledger(dir.path(), "latency.db", &ledger_key, &producer);
            let mut lat = Vec::with_capacity(500);
            for _ in 0..20 {
                l.append(&producer, entries(&mut rng, 1)).unwrap(); // warm-up
            }
            for _ in 0..500 {
                let items = entries(&mut rng, 1);
                let start = Instant::now();
                l.append(&producer, items).unwrap();
                lat.push(start.elapsed());
            }
            lat.sort();
            let p99 = percentile(&lat, 0.99);
            t.row(
                "single acknowledged append, p50 (500 appends)",
                ms(percentile(&lat, 0.5)),
                "",
            );
            t.row(
                "single acknowledged append, p99",
                ms(p99),
                format!(
                    "target <= 25 ms: {}",
                    if p99 <= Duration::from_millis(25) {
                        "met"
                    } else {
                        "MISSED"
                    }
                ),
            );
            t.row(
                "single acknowledged append, max",
                ms(lat[lat.len() - 1]),
                "",
            );
        }
        t.print();
    }

    // ---- 3. full verification ---------------------------------------------------------
    if run("3") {
        let mut t = Report::new("3. Full verification (audit::verify_database)");
        let vpath = dir.path().join("verify.db");
        {
            let mut l = new_ledger(dir.path(), "verify.db", &ledger_key, &producer);
            let build = Instant::now();
            let mut left = n_verify;
            while left > 0 {
                let b = left.min(10_000);
                l.append(&producer, entries(&mut rng, b as usize)).unwrap();
                left -= b;
            }
            let el = build.elapsed();
            t.row(
                format!(
                    "build: append {n_verify} entries in batches of 10,000 (incl. generating input)"
                ),
                format!("{:.1} s", el.as_secs_f64()),
                format!(
                    "{} entries/s",
                    per_s(n_verify as f64 / el.as_secs_f64()).trim_end_matches(" /s")
                ),
            );
            l.checkpoint(&ledger_key).unwrap();
        }
        let size = {
            let l = Ledger::open_readonly(&vpath).unwrap();
            l.size().unwrap()
        };
        t.row(
            "database bytes per entry (real signed entries + payloads + nodes)",
            format!("{:.0} B", db_bytes(&vpath) as f64 / size as f64),
            "",
        );
        let mut best = f64::MAX;
        for run in 1..=2 {
            let l = Ledger::open_readonly(&vpath).unwrap();
            let start = Instant::now();
            let report = verify_database(&l, VerifyOptions::default()).unwrap();
            let el = start.elapsed().as_secs_f64();
            assert!(
                report.ok,
                "verification found problems: {:?}",
                report.findings
            );
            assert_eq!(report.entries_checked, size);
            let r = size as f64 / el;
            t.row(
                format!("verify_database run {run}: {size} entries"),
                format!("{el:.2} s = {} entries/s", per_s(r).trim_end_matches(" /s")),
                format!(
                    "{:.1}% of raw {threads}-core verify_strict (target >= 90%); {:.1}% of vigil's own check",
                    100.0 * r / verify_n,
                    100.0 * r / strict_n
                ),
            );
            best = best.min(el);
        }
        let r = size as f64 / best;
        t.row(
            "verify_database best",
            format!("{} entries/s", per_s(r).trim_end_matches(" /s")),
            format!(
                "{:.1}% of raw verify_strict ({:.1}% of vigil's own check): target {}",
                100.0 * r / verify_n,
                100.0 * r / strict_n,
                if r >= 0.9 * verify_n { "met" } else { "MISSED" }
            ),
        );
        t.print();
    }

    // ---- 4. proofs at scale -------------------------------------------------------------
    if run("4") && n_proof >= 2 {
        let mut t = Report::new(
            "4. Proof generation (synthetic unsigned rows, same schema and node logic)",
        );
        let ppath = dir.path().join("proofs.db");
        {
            let mut l = Ledger::create(&ppath, &ledger_key).unwrap();
            let start = Instant::now();
            let mut have = l.size().unwrap();
            while have < n_proof {
                have = l
                    .bench_append_synthetic((n_proof - have).min(1_000_000))
                    .unwrap();
                eprint!("\r  building proof database: {have}/{n_proof}");
            }
            eprintln!();
            t.row(
                format!("build {n_proof} synthetic rows (1M per transaction)"),
                format!("{:.1} s", start.elapsed().as_secs_f64()),
                "",
            );
        }
        t.row(
            "database bytes per entry (hash, 2-byte placeholder envelope, no payload, + nodes)",
            format!("{:.0} B", db_bytes(&ppath) as f64 / n_proof as f64),
            "",
        );
        let l = Ledger::open_readonly(&ppath).unwrap();
        let n = l.size().unwrap();
        assert_eq!(n, n_proof);
        const CALLS: usize = 10_000;
        let incl: Vec<(u64, u64)> = (0..CALLS)
            .map(|_| {
                let size = rng.range(1, n);
                (rng.range(0, size - 1), size)
            })
            .collect();
        let cons: Vec<(u64, u64)> = (0..CALLS)
            .map(|_| {
                let new = rng.range(2, n);
                (rng.range(1, new - 1), new)
            })
            .collect();
        // Correctness spot check (untimed): proofs must verify against the stored roots.
        for &(seq, size) in incl.iter().take(50) {
            let p = l.inclusion_proof(seq, size).unwrap();
            let leaf = if seq == 0 {
                l.entry_hash(0).unwrap()
            } else {
                merkle::leaf_hash(&seq.to_be_bytes())
            };
            merkle::verify_inclusion(&leaf, seq, size, &p, &l.root_at(size).unwrap()).unwrap();
        }
        for &(old, new) in cons.iter().take(50) {
            let p = l.consistency_proof(old, new).unwrap();
            merkle::verify_consistency(
                old,
                new,
                &l.root_at(old).unwrap(),
                &l.root_at(new).unwrap(),
                &p,
            )
            .unwrap();
        }
        for (name, pairs, inclusion) in [
            ("inclusion_proof(seq, size)", &incl, true),
            ("consistency_proof(old, new)", &cons, false),
        ] {
            // Warm the SQLite statement cache; the OS page cache already holds the file.
            for &(a, b) in pairs.iter().take(100) {
                if inclusion {
                    black_box(l.inclusion_proof(a, b).unwrap());
                } else {
                    black_box(l.consistency_proof(a, b).unwrap());
                }
            }
            let mut lat = Vec::with_capacity(pairs.len());
            let mut hashes = 0usize;
            for &(a, b) in pairs.iter() {
                let start = Instant::now();
                let p = if inclusion {
                    l.inclusion_proof(a, b).unwrap()
                } else {
                    l.consistency_proof(a, b).unwrap()
                };
                lat.push(start.elapsed());
                hashes += p.len();
            }
            lat.sort();
            let p99 = percentile(&lat, 0.99);
            t.row(
                format!("{name}, {CALLS} random calls at n={n}: p50"),
                us(percentile(&lat, 0.5)),
                format!("mean path {:.1} hashes", hashes as f64 / pairs.len() as f64),
            );
            t.row(
                format!("{name}: p99"),
                us(p99),
                format!(
                    "target < 1 ms: {}",
                    if p99 < Duration::from_millis(1) {
                        "met"
                    } else {
                        "MISSED"
                    }
                ),
            );
        }
        t.print();
    }

    // ---- 5. vigil ledger record, end to end ---------------------------------------------
    let n_record = env_u64("VIGIL_BENCH_RECORD_N", 50_000);
    if run("5") && n_record > 0 {
        let ledger_side = record_in_process(dir.path(), n_record, &mut rng, &ledger_key);
        let (first, again) = record_end_to_end(dir.path(), n_record, &mut rng);
        let mut t = Report::new(
            "5. vigil ledger record (real binary: read + normalize + 3 signed entries per sign-in)",
        );
        let rate0 = n_record as f64 / ledger_side.as_secs_f64();
        t.row(
            "ledger side only: Ledger::append_once_stream, 3 entries per sign-in, batches of 4096",
            format!("{} sign-ins/s", per_s(rate0)),
            format!(
                "{} entries/s = {:.0}% of raw {threads}-core signing",
                per_s(rate0 * 3.0),
                100.0 * rate0 * 3.0 / sign_n
            ),
        );
        let rate1 = n_record as f64 / first.as_secs_f64();
        t.row(
            format!("{n_record} sign-ins with scores, first run"),
            format!("{} sign-ins/s", per_s(rate1)),
            format!(
                "{} entries/s = {:.0}% of raw {threads}-core signing",
                per_s(rate1 * 3.0),
                100.0 * rate1 * 3.0 / sign_n
            ),
        );
        t.row(
            "target >= 15,000 sign-ins/s",
            "",
            if rate1 >= 15_000.0 { "met" } else { "MISSED" },
        );
        let rate2 = n_record as f64 / again.as_secs_f64();
        t.row(
            "the same export again (all skipped)",
            format!("{} sign-ins/s", per_s(rate2)),
            "",
        );
        t.print();
    }

    // ---- 6. directory changes: record --audits and coverage -----------------------------
    let n_audit = env_u64("VIGIL_BENCH_AUDIT_N", 50_000);
    let n_cov = env_u64("VIGIL_BENCH_COVERAGE_N", 200_000);
    if run("6") && (n_audit > 0 || n_cov > 0) {
        let mut t = Report::new("6. Directory changes: record --audits (real binary) and coverage");
        if n_audit > 0 {
            let took = audits_end_to_end(dir.path(), n_audit, &mut rng);
            let r = n_audit as f64 / took.as_secs_f64();
            t.row(
                format!("{n_audit} audit records, first run"),
                format!("{} records", per_s(r)),
                format!(
                    "{:.0}% of raw {threads}-core signing ({} signatures)",
                    100.0 * r / sign_n,
                    per_s(sign_n)
                ),
            );
            t.row(
                "target >= 40,000 records/s",
                "",
                if r >= 40_000.0 { "met" } else { "MISSED" },
            );
        }
        if n_cov > 0 {
            let kept = std::env::var_os("VIGIL_BENCH_COVERAGE_DB").map(std::path::PathBuf::from);
            let db = kept
                .clone()
                .unwrap_or_else(|| dir.path().join("coverage.db"));
            let l = if db.exists() {
                Ledger::open_readonly(&db).unwrap()
            } else {
                coverage_ledger(&db, n_cov, &mut rng, &ledger_key)
            };
            let runs = env_u64("VIGIL_BENCH_COVERAGE_RUNS", 3).max(1);
            let mut times = Vec::new();
            let (mut entries, mut changes, mut gaps) = (0, 0, 0);
            for _ in 0..runs {
                let took;
                (entries, changes, gaps, took) = coverage_pass(&l);
                times.push(took);
            }
            times.sort();
            let took = times[times.len() / 2];
            let r = entries as f64 / took.as_secs_f64();
            t.row(
                format!(
                    "coverage pass of {entries} entries ({changes} changes, {gaps} gaps), median of {runs}{}",
                    if kept.is_some() { " (kept database)" } else { "" }
                ),
                format!("{:.2} s", took.as_secs_f64()),
                format!(
                    "{} entries; 10M entries in {:.1} s at this rate (verification not included)",
                    per_s(r),
                    10_000_000.0 / r
                ),
            );
            t.row(
                "target: 10M entries < 10 s",
                "",
                if r >= 1_000_000.0 { "met" } else { "MISSED" },
            );
        }
        t.print();
    }
    println!();
}

/// The bench's AI agent and high-stakes group.
const AGENT_APP: &str = "c0000000-0000-4000-8000-0000000000a1";
const FINANCE: &str = "90000000-0000-4000-8000-000000000001";

/// A synthetic Graph directoryAudit record: the agent updates a user or adds one to a group.
fn audit_record(i: u64, rng: &mut Rng, correlation: &str) -> serde_json::Value {
    let user = format!("a0000000-0000-4000-8000-{:012}", rng.range(0, 50_000));
    let group = i.is_multiple_of(2);
    let targets = if group {
        serde_json::json!([
            {"id": FINANCE, "type": "Group", "displayName": "Finance", "modifiedProperties": []},
            {"id": user, "type": "User", "userPrincipalName": format!("partner{i}@contoso.example"),
             "modifiedProperties": [{"displayName": "Group.ObjectID", "oldValue": null, "newValue": format!("\"{FINANCE}\"")}]}
        ])
    } else {
        serde_json::json!([
            {"id": user, "type": "User", "userPrincipalName": format!("partner{i}@contoso.example"),
             "modifiedProperties": [{"displayName": "jobTitle", "oldValue": "[\"Buyer\"]", "newValue": "[\"Senior buyer\"]"}]}
        ])
    };
    serde_json::json!({
        "id": format!("Directory_{}_{i}", rng.guid()),
        "category": if group { "GroupManagement" } else { "UserManagement" },
        "correlationId": correlation,
        "result": "success",
        "activityDisplayName": if group { "Add member to group" } else { "Update user" },
        "activityDateTime": format!("2026-01-{:02}T{:02}:{:02}:{:02}.1234567Z", 1 + i % 28, rng.range(0, 23), rng.range(0, 59), rng.range(0, 59)),
        "loggedByService": "Core Directory",
        "operationType": "Update",
        "initiatedBy": {"app": {"appId": AGENT_APP, "displayName": "Partner onboarding agent"}},
        "targetResources": targets,
    })
}

/// Writes `n` directory audit records (NDJSON) and records them with the `vigil` binary;
/// returns the wall-clock time.
fn audits_end_to_end(dir: &Path, n: u64, rng: &mut Rng) -> Duration {
    use std::io::Write as _;
    let run = |args: &[&str]| run_vigil(dir, args);
    {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(dir.join("audits.ndjson")).unwrap());
        for i in 0..n {
            let corr = rng.guid();
            writeln!(f, "{}", audit_record(i, rng, &corr)).unwrap();
        }
    }
    run(&["ledger", "init", "--db", "audits.db", "--origin", ORIGIN]);
    run(&[
        "key",
        "generate",
        "--name",
        "ingest",
        "--out",
        "audits-ingest.key",
    ]);
    run(&[
        "ledger",
        "key",
        "add",
        "--db",
        "audits.db",
        "--key",
        "audits-ingest.pub",
        "--kinds",
        "action",
    ]);
    let start = Instant::now();
    run(&[
        "ledger",
        "record",
        "--db",
        "audits.db",
        "--audits",
        "audits.ndjson",
        "--action-key",
        "audits-ingest.key",
    ]);
    start.elapsed()
}

/// Builds a signed ledger of about `n` entries at `db` (per 10: 5 signals, 2 inferences,
/// 1 approval, 2 changes by the agent that ref their inference, the first with the approval).
fn coverage_ledger(db: &Path, n: u64, rng: &mut Rng, ledger_key: &SignerKey) -> Ledger {
    use vigil_ledger::Ref;
    let ingest = SignerKey::generate("ingest", ALG_ED25519).unwrap();
    let engine = SignerKey::generate("engine", ALG_ED25519).unwrap();
    let analyst = SignerKey::generate("analyst", ALG_ED25519).unwrap();
    let mut l = Ledger::create(db, ledger_key).unwrap();
    l.add_key(
        ledger_key,
        &ingest.verifier(),
        vec![Kind::Signal, Kind::Action],
    )
    .unwrap();
    l.add_key(ledger_key, &engine.verifier(), vec![Kind::Inference])
        .unwrap();
    l.add_key(ledger_key, &analyst.verifier(), vec![Kind::Review])
        .unwrap();
    let as_ref = |a: &vigil_ledger::Appended| Ref {
        seq: a.seq,
        hash: a.hash,
    };
    let groups = (n / 10).max(1);
    let mut i = 0u64;
    while i < groups {
        let chunk = (groups - i).min(1000);
        let mut signals = Vec::new();
        let mut inferences = Vec::new();
        let mut corrs = Vec::new();
        for _ in 0..chunk {
            for _ in 0..5 {
                let mut signal = new_entry(rng);
                signal.kind = Kind::Signal;
                signals.push(signal);
            }
            for _ in 0..2 {
                let corr = rng.guid();
                inferences.push(NewEntry {
                    kind: Kind::Inference,
                    subject: BTreeMap::from([("correlationId".to_string(), corr.clone())]),
                    refs: vec![],
                    payload: serde_json::json!({"model": "bench-agent", "recommendedAction": "update the user"}),
                });
                corrs.push(corr);
            }
        }
        l.append(&ingest, signals).unwrap();
        let inf = l.append(&engine, inferences).unwrap();
        let reviews: Vec<NewEntry> = inf
            .iter()
            .step_by(2)
            .map(|a| NewEntry {
                kind: Kind::Review,
                subject: BTreeMap::new(),
                refs: vec![as_ref(a)],
                payload: serde_json::json!({"verdict": "approved", "reason": "bench", "reviewed": "inference"}),
            })
            .collect();
        let rev = l.append(&analyst, reviews).unwrap();
        let changes: Vec<NewEntry> = inf
            .iter()
            .zip(&corrs)
            .enumerate()
            .map(|(k, (a, corr))| {
                let mut refs = vec![as_ref(a)];
                if k.is_multiple_of(2) {
                    refs.push(as_ref(&rev[k / 2]));
                }
                let mut payload = audit_record(i * 2 + k as u64, rng, corr);
                // Stored as `vigil ledger record --audits` stores it.
                let record = vigil_simulator::audit::map_audit(
                    payload.as_object().unwrap(),
                    "ndjson",
                    vigil_simulator::signin::DateOrder::MonthFirst,
                )
                .unwrap()
                .unwrap();
                payload = serde_json::to_value(record).unwrap();
                payload["source"] = serde_json::json!(vigil_simulator::coverage::SOURCE);
                payload["status"] = serde_json::json!("applied");
                NewEntry {
                    kind: Kind::Action,
                    subject: BTreeMap::from([("correlationId".to_string(), corr.clone())]),
                    refs,
                    payload,
                }
            })
            .collect();
        l.append(&ingest, changes).unwrap();
        i += chunk;
    }
    l
}

/// Times one coverage pass (`vigil_simulator::coverage::coverage`, without the verification
/// that `vigil ledger coverage` runs first) over a ledger built by [`coverage_ledger`].
/// Returns (entries, changes, gaps, time).
fn coverage_pass(l: &Ledger) -> (u64, u64, usize, Duration) {
    let governance = vigil_simulator::governance::Governance::from_text(
        &format!("[[agents]]\nappId = \"{AGENT_APP}\"\n\n[highStakes]\ngroups = [\"{FINANCE}\"]\n"),
        Path::new("governance.toml"),
    )
    .unwrap();
    let start = Instant::now();
    let cov = vigil_simulator::coverage::coverage(l, &governance, None, None, &mut |_| {}).unwrap();
    let took = start.elapsed();
    (cov.entries, cov.changes, cov.gaps.len(), took)
}

/// What `vigil ledger record` asks of the ledger for `n` sign-ins, in process: one
/// `append_once_stream` of batches of 4096, each the signals, the inferences linked to them and
/// the actions linked to both (entries built beforehand; preparing them, links and subjects
/// inside the timing).
fn record_in_process(dir: &Path, n: u64, rng: &mut Rng, ledger_key: &SignerKey) -> Duration {
    use vigil_ledger::{Group, ItemRef};
    let ingest = SignerKey::generate("ingest", ALG_ED25519).unwrap();
    let engine = SignerKey::generate("engine", ALG_ED25519).unwrap();
    let mut l = Ledger::create(&dir.join("record-in-process.db"), ledger_key).unwrap();
    l.add_key(
        ledger_key,
        &ingest.verifier(),
        vec![Kind::Signal, Kind::Action],
    )
    .unwrap();
    l.add_key(ledger_key, &engine.verifier(), vec![Kind::Inference])
        .unwrap();
    let mut batches = Vec::new();
    let mut done = 0u64;
    while done < n {
        let m = (n - done).min(4096);
        let batch: Vec<(NewEntry, serde_json::Value, serde_json::Value)> = (0..m)
            .map(|_| {
                let mut inference = new_entry(rng);
                let subject = inference.subject.clone();
                let user = rng.range(0, 4999);
                let signal = NewEntry {
                    kind: Kind::Signal,
                    subject,
                    refs: vec![],
                    payload: serde_json::json!({
                        "id": inference.subject["signInId"],
                        "createdDateTime": "2026-01-05T11:04:30.398Z",
                        "correlationId": rng.guid(),
                        "kind": "interactiveUser",
                        "userId": inference.subject["userId"],
                        "userPrincipalName": format!("user{user}@contoso.example"),
                        "userType": "Member",
                        "resourceTenantId": inference.subject["tenantId"],
                        "appId": "00000003-0000-0ff1-ce00-000000000000",
                        "appDisplayName": "Office 365 SharePoint Online",
                        "resourceId": "00000003-0000-0ff1-ce00-000000000000",
                        "ipAddress": "203.0.113.181",
                        "country": "DE",
                        "city": "Berlin",
                        "clientAppUsed": "Browser",
                        "operatingSystem": "Windows10",
                        "browser": "Edge 131.0.0",
                        "deviceCompliant": true,
                        "deviceManaged": true,
                        "signInRiskLevel": "none",
                        "authenticationRequirement": "multiFactorAuthentication",
                        "mfaSatisfied": true,
                        "authenticationMethods": ["Password", "Mobile app notification"],
                        "errorCode": 0,
                        "conditionalAccessStatus": "success",
                        "appliedPolicies": [{"id": "7c1b4e86-0000-4000-8000-000000000001", "displayName": "Require MFA for all users", "result": "success", "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": []}],
                        "isInteractive": true,
                        "sourceVariant": "ndjson",
                    }),
                };
                let action = serde_json::json!({
                    "source": "log",
                    "status": "applied",
                    "conditionalAccessStatus": "success",
                    "errorCode": 0,
                    "appliedConditionalAccessPolicies": [{"id": "7c1b4e86-0000-4000-8000-000000000001", "displayName": "Require MFA for all users", "result": "success", "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": []}],
                });
                inference.refs.clear();
                (signal, std::mem::take(&mut inference.payload), action)
            })
            .collect();
        batches.push(batch);
        done += m;
    }
    let start = Instant::now();
    let mut batches = batches.into_iter();
    let mut next = || {
        let batch = batches.next()?;
        let mut signals = Vec::with_capacity(batch.len());
        let mut inferences = Vec::with_capacity(batch.len());
        let mut actions = Vec::with_capacity(batch.len());
        for (signal, inference, action) in batch {
            let subject = signal.subject.clone();
            inferences.push(NewEntry {
                kind: Kind::Inference,
                subject: subject.clone(),
                refs: vec![],
                payload: inference,
            });
            actions.push(NewEntry {
                kind: Kind::Action,
                subject,
                refs: vec![],
                payload: action,
            });
            signals.push(signal);
        }
        let item = |group, item| ItemRef { group, item };
        let groups = vec![
            Group {
                signer: &ingest,
                items: signals,
                links: vec![],
            },
            Group {
                signer: &engine,
                links: (0..inferences.len()).map(|i| vec![item(0, i)]).collect(),
                items: inferences,
            },
            Group {
                signer: &ingest,
                links: (0..actions.len())
                    .map(|i| vec![item(0, i), item(1, i)])
                    .collect(),
                items: actions,
            },
        ];
        Some(vigil_ledger::prepare_groups(groups).unwrap())
    };
    l.append_once_stream(&mut next, &mut |_| {}).unwrap();
    start.elapsed()
}

/// Runs the `vigil` binary in `dir` (quiet) and checks it succeeded.
fn run_vigil(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .current_dir(dir)
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vigil {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `n` Graph sign-ins (NDJSON) and a score for each, records them with the `vigil`
/// binary, then records them again; returns both wall-clock times.
fn record_end_to_end(dir: &Path, n: u64, rng: &mut Rng) -> (Duration, Duration) {
    use std::io::Write as _;
    let run = |args: &[&str]| run_vigil(dir, args);
    {
        let mut signins = std::io::BufWriter::new(
            std::fs::File::create(dir.join("record-signins.ndjson")).unwrap(),
        );
        let mut scores =
            std::io::BufWriter::new(std::fs::File::create(dir.join("record-scores.csv")).unwrap());
        writeln!(
            scores,
            "signInId,score,riskLevel,reasoning,model,modelVersion"
        )
        .unwrap();
        for i in 0..n {
            let id = rng.guid();
            let user = rng.range(0, 5_000);
            let failed = rng.range(0, 19) == 0;
            let s = serde_json::json!({
                "id": id,
                "createdDateTime": format!("2026-01-{:02}T{:02}:{:02}:{:02}Z", 1 + i % 28, rng.range(0, 23), rng.range(0, 59), rng.range(0, 59)),
                "userId": format!("a0000000-0000-4000-8000-{user:012}"),
                "userPrincipalName": format!("user{user}@contoso.example"),
                "userType": "member",
                "appId": "00000003-0000-0ff1-ce00-000000000000",
                "appDisplayName": "Office 365 SharePoint Online",
                "resourceId": "00000003-0000-0ff1-ce00-000000000000",
                "ipAddress": format!("203.0.113.{}", rng.range(1, 254)),
                "clientAppUsed": "Browser",
                "correlationId": rng.guid(),
                "resourceTenantId": "5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47",
                "conditionalAccessStatus": if failed { "failure" } else { "success" },
                "isInteractive": true,
                "authenticationRequirement": "multiFactorAuthentication",
                "riskLevelDuringSignIn": "none",
                "status": {"errorCode": if failed { 53003 } else { 0 }},
                "deviceDetail": {"operatingSystem": "Windows10", "browser": "Edge 131.0.0", "isCompliant": true, "isManaged": true, "trustType": "Azure AD joined"},
                "location": {"city": "Berlin", "countryOrRegion": "DE"},
                "authenticationDetails": [{"authenticationMethod": "Password", "succeeded": true}, {"authenticationMethod": "Mobile app notification", "succeeded": true}],
                "appliedConditionalAccessPolicies": [{"id": "7c1b4e86-0000-4000-8000-000000000001", "displayName": "Require MFA for all users", "result": if failed { "failure" } else { "success" }, "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": []}],
            });
            writeln!(signins, "{s}").unwrap();
            writeln!(
                scores,
                "{id},{:.3},low,usual country and device for this user,contoso-risk,2.3",
                rng.range(0, 999) as f64 / 1000.0
            )
            .unwrap();
        }
    }
    run(&["ledger", "init", "--db", "record.db", "--origin", ORIGIN]);
    for (name, kinds) in [("ingest", "signal,action"), ("engine", "inference")] {
        run(&[
            "key",
            "generate",
            "--name",
            name,
            "--out",
            &format!("record-{name}.key"),
        ]);
        run(&[
            "ledger",
            "key",
            "add",
            "--db",
            "record.db",
            "--key",
            &format!("record-{name}.pub"),
            "--kinds",
            kinds,
        ]);
    }
    let record = [
        "ledger",
        "record",
        "--db",
        "record.db",
        "--signins",
        "record-signins.ndjson",
        "--scores",
        "record-scores.csv",
        "--signal-key",
        "record-ingest.key",
        "--inference-key",
        "record-engine.key",
        "--action-key",
        "record-ingest.key",
    ];
    let start = Instant::now();
    run(&record);
    let first = start.elapsed();
    let start = Instant::now();
    run(&record);
    (first, start.elapsed())
}
