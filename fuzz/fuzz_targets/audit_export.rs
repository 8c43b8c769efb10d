//! The directory audit readers (`vigil ledger record --audits`): Graph `directoryAudit` pages,
//! arrays and NDJSON, Log Analytics `AuditLogs` JSON and CSV, diagnostic `records`, through
//! `audit::read_audits`; then a governance config (`vigil ledger coverage --config`) judging
//! each record. Input: the first byte picks `--skip-bad-records`, the file's extension (`.json`
//! or `.csv`) and whether a governance config follows; the rest is the export, optionally
//! followed by a NUL byte and a governance config in TOML. Properties: nothing panics; every
//! record read has an id, an activity and a UTC RFC 3339 time, each id comes once, the count
//! matches the reader's stats, a record re-serialized as the ledger stores it reads back
//! equal, and reading by the general path alone (no NDJSON line or Graph page through the
//! fast path) gives the same records, stats, warnings and errors.
#![no_main]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vigil_simulator::audit::{AuditRecord, read_audits, read_audits_general};
use vigil_simulator::governance::Governance;
use vigil_simulator::signin::{DateOrder, ReadOptions};

/// A folder of this process's own, reused by every run.
fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("vigil-fuzz-audit-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temporary folder");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (export, config) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let dir = folder();
    let inputs = dir.join("inputs");
    let _ = std::fs::remove_dir_all(&inputs);
    std::fs::create_dir_all(&inputs).expect("inputs folder");
    let name = if flags & 2 == 2 {
        "AuditLogs.csv"
    } else {
        "audits.json"
    };
    std::fs::write(inputs.join(name), export).expect("write the export");
    let governance = config.and_then(|c| {
        let path = dir.join("governance.toml");
        std::fs::write(&path, c).expect("write the config");
        Governance::load(&path).ok()
    });
    let opts = ReadOptions {
        skip_bad_records: flags & 1 == 1,
        date_order: DateOrder::MonthFirst,
    };
    let mut ids = HashSet::new();
    let mut handed = 0usize;
    let mut records = Vec::new();
    let read = read_audits(
        std::slice::from_ref(&inputs),
        &opts,
        &mut |_, _| {},
        &mut |r| {
            handed += 1;
            assert!(!r.id.is_empty(), "a record without an id");
            assert!(
                !r.activity.is_empty(),
                "record {} without an activity",
                r.id
            );
            assert!(
                r.activity_date_time.ends_with('Z') && r.activity_date_time.len() >= 20,
                "activityDateTime {:?} is not RFC 3339 UTC",
                r.activity_date_time
            );
            assert!(
                ids.insert(r.id.clone()),
                "record {} handed over twice",
                r.id
            );
            let stored = serde_json::to_vec(&r).expect("a record serializes");
            let back: AuditRecord =
                serde_json::from_slice(&stored).expect("a stored record reads back");
            assert_eq!(back, r, "record {} changes when stored and read back", r.id);
            let view: vigil_simulator::audit::view::AuditRecordView =
                serde_json::from_slice(&stored).expect("a stored record reads as a view");
            if let Some(g) = &governance {
                let agent =
                    |a: Option<&vigil_simulator::governance::Agent>| a.map(|a| a.app_id.clone());
                assert_eq!(
                    agent(g.agent_of(&view.initiated_by)),
                    agent(g.agent_of(&r.initiated_by.view())),
                    "record {}: the view and the record name different agents",
                    r.id
                );
                assert_eq!(
                    g.high_stakes(&view),
                    g.high_stakes(&r.view()),
                    "record {}: the view and the record are judged differently",
                    r.id
                );
            }
            records.push(r);
        },
    );
    if let Ok(stats) = &read {
        assert_eq!(
            stats.records, handed,
            "stats count every record handed over"
        );
    }
    let mut general = Vec::new();
    let general_read = read_audits_general(
        std::slice::from_ref(&inputs),
        &opts,
        &mut |_, _| {},
        &mut |r| general.push(r),
    );
    assert_eq!(
        read.map_err(|e| e.to_string()),
        general_read.map_err(|e| e.to_string()),
        "the fast path and the general path read the export differently"
    );
    assert_eq!(
        records, general,
        "the fast path and the general path read different records"
    );
});
