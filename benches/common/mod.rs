//! Helpers the benchmark programs share: environment knobs, timing a child process with its
//! peak RSS, and printing a table of figures.

#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A number from the environment (underscores allowed), or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// A table: rows of (figure, value, note).
pub struct Report {
    title: String,
    rows: Vec<[String; 3]>,
}

impl Report {
    pub fn new(title: impl Into<String>) -> Report {
        Report {
            title: title.into(),
            rows: Vec::new(),
        }
    }
    pub fn row(&mut self, a: impl Into<String>, b: impl Into<String>, c: impl Into<String>) {
        self.rows.push([a.into(), b.into(), c.into()]);
    }
    pub fn print(&self) {
        let w: Vec<usize> = (0..2)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        println!("\n{}", self.title);
        println!(
            "{}",
            "-".repeat(self.title.chars().count().max(w[0] + w[1] + 20))
        );
        for r in &self.rows {
            println!(
                "{:<w0$}   {:>w1$}   {}",
                r[0],
                r[1],
                r[2],
                w0 = w[0],
                w1 = w[1]
            );
        }
    }
}

pub fn mib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    }
}

pub fn per_s(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M/s", x / 1e6)
    } else {
        format!("{:.0} k/s", x / 1e3)
    }
}

pub struct Run {
    /// Wall time.
    pub wall: Duration,
    /// Peak resident set size of the child, bytes (0 when not measured).
    pub max_rss: u64,
}

/// Runs a command under `/usr/bin/time` (peak RSS of the child); stdout and stderr go to files.
pub fn timed(cmd: &[&str], envs: &[(&str, &str)], log: &Path) -> Run {
    let time_out = log.with_extension("time");
    let use_time = Path::new("/usr/bin/time").exists();
    let mut c = if use_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_out).args(cmd);
        c
    } else {
        let mut c = Command::new(cmd[0]);
        c.args(&cmd[1..]);
        c
    };
    for (k, v) in envs {
        c.env(k, v);
    }
    c.stdin(Stdio::null())
        .stdout(fs::File::create(log.with_extension("stdout")).unwrap())
        .stderr(fs::File::create(log.with_extension("stderr")).unwrap());
    let start = Instant::now();
    let status = c.status().unwrap_or_else(|e| panic!("{}: {e}", cmd[0]));
    let wall = start.elapsed();
    if !status.success() {
        let err = fs::read_to_string(log.with_extension("stderr")).unwrap_or_default();
        panic!("{} failed ({status}):\n{err}", cmd.join(" "));
    }
    let max_rss = fs::read_to_string(&time_out)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024);
    Run { wall, max_rss }
}

pub fn dir_size(p: &Path) -> u64 {
    let Ok(m) = fs::metadata(p) else { return 0 };
    if m.is_file() {
        return m.len();
    }
    fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}

/// What every benchmark that runs `vigil` reads from the machine and the environment.
pub struct Setup {
    /// Cores of the machine.
    pub cores: usize,
    /// Threads for vigil and its peers (`VIGIL_BENCH_THREADS`, default: the cores).
    pub threads: u64,
    /// The vigil binary (`VIGIL_BENCH_VIGIL`, default: the one cargo built).
    pub vigil: String,
    /// Where the data goes (`VIGIL_BENCH_DIR`).
    pub dir: std::path::PathBuf,
    /// Timed runs of each program (`VIGIL_BENCH_RUNS`, default 3).
    pub runs: u64,
}

impl Setup {
    /// Reads the knobs; `default_dir` when `VIGIL_BENCH_DIR` is not set.
    pub fn from_env(default_dir: &str) -> Setup {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Setup {
            cores,
            threads: env_u64("VIGIL_BENCH_THREADS", cores as u64),
            vigil: std::env::var("VIGIL_BENCH_VIGIL")
                .unwrap_or_else(|_| env!("CARGO_BIN_EXE_vigil").to_string()),
            dir: std::env::var("VIGIL_BENCH_DIR")
                .unwrap_or_else(|_| default_dir.to_string())
                .into(),
            runs: env_u64("VIGIL_BENCH_RUNS", 3).max(1),
        }
    }

    /// The environment that gives vigil's rayon and polars pools `threads` threads.
    pub fn thread_env(threads: &str) -> [(&'static str, &str); 2] {
        [
            ("RAYON_NUM_THREADS", threads),
            ("POLARS_MAX_THREADS", threads),
        ]
    }
}

/// Whether the data in a folder was generated as `want` says (its manifest file matches).
pub fn manifest_matches(path: &Path, want: &serde_json::Value) -> bool {
    fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|m| m == *want)
}
