//! The sign-in CSV readers: the Entra portal's "Download" CSV (with its `*_AuthDetails_*`
//! side file) and Log Analytics `SigninLogs` CSV exports, through `signin::read_signins` as
//! `vigil ingest` reads them. Input: the first byte picks day-first or month-first dates and
//! whether bad rows are skipped; the rest is the sign-ins file, optionally followed by a NUL
//! byte and the AuthDetails side file. Properties: nothing panics; every sign-in read has an
//! id and a UTC RFC 3339 time, and each id comes once.
#![no_main]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vigil_simulator::signin::{DateOrder, ReadOptions, read_signins};

/// A folder of this process's own, reused by every run.
fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("vigil-fuzz-signin-csv-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temporary folder");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (signins, side) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let dir = folder();
    let main = dir.join("InteractiveSignIns_2026-01-05_2026-01-07.csv");
    let auth = dir.join("InteractiveSignIns_AuthDetails_2026-01-05_2026-01-07.csv");
    std::fs::write(&main, signins).expect("write the sign-ins file");
    match side {
        Some(s) => std::fs::write(&auth, s).expect("write the side file"),
        None => {
            let _ = std::fs::remove_file(&auth);
        }
    }
    let opts = ReadOptions {
        skip_bad_records: flags & 1 == 1,
        date_order: if flags & 2 == 2 {
            DateOrder::DayFirst
        } else {
            DateOrder::MonthFirst
        },
    };
    let mut ids = HashSet::new();
    let read = read_signins(std::slice::from_ref(dir), &opts, &mut |s| {
        assert!(!s.id.is_empty(), "a sign-in without an id");
        assert!(
            s.created_date_time.ends_with('Z') && s.created_date_time.len() >= 20,
            "createdDateTime {:?} is not RFC 3339 UTC",
            s.created_date_time
        );
        assert!(ids.insert(s.id.clone()), "sign-in {} handed over twice", s.id);
    });
    if let Ok(stats) = read {
        assert_eq!(stats.records, ids.len());
    }
});
