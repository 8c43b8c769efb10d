//! Durability: `vigil ledger append` killed with SIGKILL at random moments never loses an
//! acknowledged entry and never leaves a ledger that fails verification; concurrent writers
//! never collide; a checkpoint never covers more than what is durable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

fn vigil() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.arg("-q");
    c
}

fn run_ok(args: &[&str]) -> String {
    let out = vigil().args(args).stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "vigil {args:?} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One acknowledged entry: `{"seq":N,"hash":"..."}` on the appender's stdout.
type Ack = (u64, String);

/// A ledger with producer keys `names`, each allowed to sign `signal` entries.
struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
    keys: Vec<PathBuf>,
}

fn setup(names: &[&str]) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let db = dir.join("ledger.db");
    run_ok(&[
        "ledger",
        "init",
        "--db",
        s(&db),
        "--origin",
        "vigil.test/durability",
    ]);
    let mut keys = Vec::new();
    for name in names {
        let key = dir.join(format!("{name}.key"));
        run_ok(&["key", "generate", "--name", name, "--out", s(&key)]);
        let public = key.with_extension("pub");
        run_ok(&[
            "ledger",
            "key",
            "add",
            "--db",
            s(&db),
            "--key",
            s(&public),
            "--kinds",
            "signal",
        ]);
        keys.push(key);
    }
    Setup {
        _tmp: tmp,
        dir,
        db,
        keys,
    }
}

/// A running `vigil ledger append` fed through a pipe, its acknowledgements collected.
struct Appender {
    child: Child,
    writer: thread::JoinHandle<()>,
    reader: thread::JoinHandle<()>,
    acks: Arc<Mutex<Vec<Ack>>>,
    stderr: PathBuf,
}

/// What the feeding thread writes: `lines` lines (endless when `None`) tagged `tag`, in
/// chunks of `chunk` lines with `pause` between chunks.
struct Feed {
    tag: String,
    lines: Option<u64>,
    chunk: u64,
    pause: Duration,
}

/// Starts `vigil ledger append --batch BATCH` and a thread feeding its stdin.
fn spawn_appender(db: &Path, key: &Path, batch: usize, feed: Feed, stderr: PathBuf) -> Appender {
    let Feed {
        tag,
        lines,
        chunk,
        pause,
    } = feed;
    let mut child = vigil()
        .args([
            "ledger",
            "append",
            "--db",
            s(db),
            "--key",
            s(key),
            "--kind",
            "signal",
            "--batch",
            &batch.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = thread::spawn(move || {
        let mut n = 0u64;
        loop {
            let mut buf = String::new();
            for _ in 0..chunk {
                if lines.is_some_and(|max| n >= max) {
                    break;
                }
                buf.push_str(&format!(
                    "{{\"subject\":{{\"correlationId\":\"{tag}-{n}\"}},\"payload\":{{\"writer\":\"{tag}\",\"n\":{n},\"note\":\"sign-in from 198.51.100.{}\"}}}}\n",
                    n % 250
                ));
                n += 1;
            }
            // A write fails once the appender is gone (killed): that ends the stream.
            if buf.is_empty() || stdin.write_all(buf.as_bytes()).is_err() {
                break;
            }
            thread::sleep(pause);
        }
        // Dropping stdin closes the pipe: end of input.
    });
    let stdout = child.stdout.take().unwrap();
    let acks = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&acks);
    let reader = thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                // A line cut short by the kill was never completely acknowledged.
                Ok(_) if !line.ends_with('\n') => break,
                Ok(_) => {
                    let v: Value = serde_json::from_str(line.trim())
                        .unwrap_or_else(|e| panic!("ack line {line:?}: {e}"));
                    let seq = v["seq"].as_u64().unwrap();
                    let hash = v["hash"].as_str().unwrap().to_string();
                    sink.lock().unwrap().push((seq, hash));
                }
            }
        }
    });
    Appender {
        child,
        writer,
        reader,
        acks,
        stderr,
    }
}

impl Appender {
    /// Waits for the appender (after killing it, when `kill`); returns its acks and whether
    /// it was killed by SIGKILL (`false`: it exited with status 0).
    fn finish(mut self, kill: bool) -> (Vec<Ack>, bool) {
        if kill {
            // Child::kill sends SIGKILL on Unix.
            let _ = self.child.kill();
        }
        let status = self.child.wait().unwrap();
        self.writer.join().unwrap();
        self.reader.join().unwrap();
        let stderr = fs::read_to_string(&self.stderr).unwrap_or_default();
        let killed = status.signal() == Some(9);
        assert!(
            killed || status.success(),
            "the appender failed ({status:?}): {stderr}"
        );
        let acks = std::mem::take(&mut *self.acks.lock().unwrap());
        (acks, killed)
    }
}

fn open_ro(db: &Path) -> Connection {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// Stored hash (hex) of every entry, by seq.
fn stored_hashes(db: &Path) -> BTreeMap<u64, String> {
    let c = open_ro(db);
    let mut stmt = c
        .prepare("SELECT seq, hash FROM entries ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            u64::try_from(r.get::<_, i64>(0)?).unwrap(),
            hex::encode(r.get::<_, Vec<u8>>(1)?),
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn entry_count(db: &Path) -> u64 {
    let n: i64 = open_ro(db)
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    u64::try_from(n).unwrap()
}

/// `vigil ledger verify --db DB --json [extra]` must exit 0 with a clean report.
fn assert_verifies(db: &Path, extra: &[&str], what: &str) -> Value {
    let mut args = vec!["ledger", "verify", "--json", "--db", s(db)];
    args.extend_from_slice(extra);
    let out = vigil().args(&args).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: verify failed: {report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["ok"], true, "{what}: {report}");
    report
}

fn assert_acks_durable(db: &Path, acks: &[Ack], what: &str) {
    let stored = stored_hashes(db);
    for (seq, hash) in acks {
        assert_eq!(
            stored.get(seq),
            Some(hash),
            "{what}: acknowledged entry {seq} is missing or changed"
        );
    }
}

struct XorShift(u64);

impl XorShift {
    fn seeded() -> XorShift {
        let seed = std::env::var("VIGIL_DURABILITY_SEED").map_or_else(
            |_| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                u64::try_from(nanos % (1u128 << 63)).unwrap() | 1
            },
            |v| v.parse().expect("VIGIL_DURABILITY_SEED is a number"),
        );
        eprintln!("durability seed: {seed} (replay with VIGIL_DURABILITY_SEED)");
        XorShift(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % n
    }
}

/// SIGKILL an appender at random moments, 25 times over the same ledger: every acknowledged
/// entry survives with its hash, the ledger always verifies, it never shrinks, and a
/// checkpoint signed afterwards covers exactly the durable entries.
#[test]
fn killed_appender_loses_no_acknowledged_entry() {
    let started = Instant::now();
    let st = setup(&["sensor"]);
    let mut rng = XorShift::seeded();
    let mut all_acks: Vec<Ack> = Vec::new();
    let mut size = entry_count(&st.db);
    let mut checkpoints: Vec<PathBuf> = Vec::new();
    let mut kills = 0;
    for round in 0..25 {
        let delay = Duration::from_millis(5 + rng.below(76));
        let app = spawn_appender(
            &st.db,
            &st.keys[0],
            4096,
            Feed {
                tag: format!("r{round}"),
                lines: None,
                chunk: 4,
                pause: Duration::from_millis(1),
            },
            st.dir.join(format!("append-{round}.err")),
        );
        thread::sleep(delay);
        let (acks, killed) = app.finish(true);
        assert!(killed, "round {round}: the appender was killed");
        kills += 1;
        let what = format!(
            "round {round} (killed after {delay:?}, {} acks)",
            acks.len()
        );
        // Acks are in order and contiguous within one process.
        for w in acks.windows(2) {
            assert_eq!(w[1].0, w[0].0 + 1, "{what}: acks are in seq order");
        }
        if let Some((first, _)) = acks.first() {
            assert!(*first >= size, "{what}: a new entry reuses seq {first}");
        }
        all_acks.extend(acks);
        assert_verifies(&st.db, &[], &what);
        assert_acks_durable(&st.db, &all_acks, &what);
        let now = entry_count(&st.db);
        assert!(
            now >= size,
            "{what}: the ledger shrank from {size} to {now}"
        );
        size = now;
        let max_seq: i64 = open_ro(&st.db)
            .query_row("SELECT max(seq) FROM entries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            u64::try_from(max_seq).unwrap() + 1,
            size,
            "{what}: seqs are contiguous"
        );
        // A checkpoint signs exactly what is durable.
        let cp = run_ok(&["ledger", "checkpoint", "--db", s(&st.db)]);
        let cp_size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
        assert_eq!(
            cp_size,
            entry_count(&st.db),
            "{what}: checkpoint size is the durable size"
        );
        let path = st.dir.join(format!("checkpoint-{round}.txt"));
        fs::write(&path, cp).unwrap();
        checkpoints.push(path);
    }
    assert_eq!(kills, 25);
    assert!(
        all_acks.len() > 25,
        "the appender acknowledged entries before being killed ({} acks)",
        all_acks.len()
    );
    // Every checkpoint taken along the way still verifies against the final ledger.
    let mut extra: Vec<&str> = Vec::new();
    for cp in &checkpoints {
        extra.push("--checkpoint");
        extra.push(s(cp));
    }
    let report = assert_verifies(&st.db, &extra, "final ledger with every checkpoint");
    assert_eq!(report["truncation_detectable"], true);
    // A clean, unkilled run still appends after all of that.
    let app = spawn_appender(
        &st.db,
        &st.keys[0],
        64,
        Feed {
            tag: "final".into(),
            lines: Some(50),
            chunk: 10,
            pause: Duration::ZERO,
        },
        st.dir.join("append-final.err"),
    );
    let (acks, killed) = app.finish(false);
    assert!(!killed);
    assert_eq!(acks.len(), 50);
    assert_eq!(acks[0].0, size);
    all_acks.extend(acks);
    assert_acks_durable(&st.db, &all_acks, "after the final append");
    assert_verifies(&st.db, &extra, "final ledger");
    let check: String = Connection::open(&st.db)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    eprintln!(
        "crash test: {} acknowledged entries over 25 kills in {:?}",
        all_acks.len(),
        started.elapsed()
    );
}

/// Four processes append 200 entries each to the same ledger at once, in batches.
#[test]
fn concurrent_appenders_interleave_without_collisions() {
    const WRITERS: usize = 4;
    const LINES: u64 = 200;
    let names = ["writer-a", "writer-b", "writer-c", "writer-d"];
    let st = setup(&names);
    let before = entry_count(&st.db);
    assert_eq!(before, 1 + 4, "init and four key entries");
    let apps: Vec<Appender> = (0..WRITERS)
        .map(|w| {
            spawn_appender(
                &st.db,
                &st.keys[w],
                20,
                Feed {
                    tag: names[w].to_string(),
                    lines: Some(LINES),
                    chunk: 20,
                    pause: Duration::from_millis(2),
                },
                st.dir.join(format!("{}.err", names[w])),
            )
        })
        .collect();
    let results: Vec<Vec<Ack>> = apps
        .into_iter()
        .map(|a| {
            let (acks, killed) = a.finish(false);
            assert!(!killed);
            acks
        })
        .collect();
    let total = entry_count(&st.db);
    assert_eq!(total, before + 4 * LINES);
    let (min, max): (i64, i64) = open_ro(&st.db)
        .query_row("SELECT min(seq), max(seq) FROM entries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((min, u64::try_from(max).unwrap() + 1), (0, total));
    let mut seen = BTreeMap::new();
    for (w, acks) in results.iter().enumerate() {
        assert_eq!(acks.len(), 200, "{} acknowledged every line", names[w]);
        for (seq, _) in acks {
            assert!(
                seen.insert(*seq, w).is_none(),
                "seq {seq} acknowledged to two writers"
            );
        }
        assert_acks_durable(&st.db, acks, names[w]);
    }
    let all: Vec<u64> = seen.keys().copied().collect();
    assert_eq!(all, (before..total).collect::<Vec<_>>());
    // Each writer's entries carry its own name, in its own input order.
    let c = open_ro(&st.db);
    for (w, acks) in results.iter().enumerate() {
        for (i, (seq, _)) in acks.iter().enumerate() {
            let env: Vec<u8> = c
                .query_row(
                    "SELECT envelope FROM entries WHERE seq = ?1",
                    [i64::try_from(*seq).unwrap()],
                    |r| r.get(0),
                )
                .unwrap();
            let env: Value = serde_json::from_slice(&env).unwrap();
            assert_eq!(env["actor"], names[w]);
            assert_eq!(
                env["subject"]["correlationId"],
                format!("{}-{i}", names[w]),
                "seq {seq}"
            );
        }
    }
    // The writers really interleaved (batches of 20 from four processes).
    let switches = seen
        .values()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] != w[1])
        .count();
    assert!(
        switches >= WRITERS - 1,
        "{switches} switches between writers"
    );
    assert_verifies(&st.db, &[], "after concurrent appends");
    let cp = run_ok(&["ledger", "checkpoint", "--db", s(&st.db)]);
    assert_eq!(
        cp.lines().nth(1).unwrap().parse::<u64>().unwrap(),
        total,
        "checkpoint covers every committed entry"
    );
}
