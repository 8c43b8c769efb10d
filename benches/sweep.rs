//! `vigil sweep` speed: `cargo bench --bench sweep`.
//!
//! A plain program: it prints figures and asserts nothing about time. 10 million scored
//! sign-ins (200,000 users over 30 days, 2% labeled) swept over 1,001 thresholds, timed from
//! unsorted items to every row, beside a reference measured in the same run: sorting the same
//! 10 million scores on every core (the floor of any sort-once sweep). Target: under 5 s.
//! `VIGIL_BENCH_SWEEP_N` changes the number of sign-ins.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

use std::time::Instant;

use rayon::prelude::*;
use vigil_simulator::generate::rng::Rng;
use vigil_simulator::sweep::{Item, grid, sweep};

/// The allocator the `vigil` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let n: usize = std::env::var("VIGIL_BENCH_SWEEP_N")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(10_000_000);
    let mut r = Rng(0x5eed_cafe);
    let items: Vec<Item> = (0..n)
        .map(|_| {
            let score = (r.next_u64() % 1_000_000) as f64 / 1_000_000.0;
            let label = match r.next_u64() % 100 {
                0 => Some(score > 0.5),
                1 => Some(false),
                _ => None,
            };
            Item {
                score,
                user: (r.next_u64() % 200_000) as u32,
                day: 20_000 + (r.next_u64() % 30) as i32,
                label,
            }
        })
        .collect();
    let thresholds = grid(0.0, 1.0, 0.001).unwrap();
    println!(
        "vigil sweep benchmark: {n} scored sign-ins x {} thresholds, {} rayon threads",
        thresholds.len(),
        rayon::current_num_threads()
    );

    let mut scores: Vec<f64> = items.iter().map(|i| i.score).collect();
    let t = Instant::now();
    scores.par_sort_unstable_by(|a, b| b.total_cmp(a));
    let sort = t.elapsed().as_secs_f64();
    std::hint::black_box(&scores);

    let mut best = f64::MAX;
    for run in 1..=2 {
        let mut work = items.clone();
        let t = Instant::now();
        let s = sweep(&mut work, &thresholds);
        let el = t.elapsed().as_secs_f64();
        std::hint::black_box(&s);
        assert_eq!(s.rows.len(), thresholds.len());
        println!("sweep run {run}: {el:.2} s");
        best = best.min(el);
    }
    println!("reference: sort {n} scores on every core        {sort:.2} s");
    println!(
        "sweep best                                       {best:.2} s = {:.1} M sign-ins/s, {:.1}x the reference sort; target < 5 s: {}",
        n as f64 / best / 1e6,
        best / sort,
        if best < 5.0 { "met" } else { "MISSED" }
    );
}
