//! bundle::verify_bundle on hostile files. The input is entries.ndjson, optionally a NUL
//! byte and payloads.ndjson; the bundle also holds a minimal manifest and the seed
//! ledger's checkpoint. Property: verification reports, it never panics (or hangs).
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vigil_ledger::bundle;
use vigil_ledger::note::VerifierKey;

static KEY: LazyLock<VerifierKey> = LazyLock::new(|| {
    VerifierKey::parse(include_str!("../seeds/ledger.pub")).expect("seeds/ledger.pub")
});

/// One folder per fuzzing process, rewritten for each input.
static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let d = std::env::temp_dir().join(format!("vigil-fuzz-bundle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("checkpoints")).expect("create fuzz bundle folder");
    let manifest = r#"{"format":"vigil-bundle/v1","origin":"fuzz.vigil.example/ledger","size":6,"root":"","created":"2026-01-01T00:00:00.000000Z","generator":"vigil-fuzz","files":{}}"#;
    std::fs::write(d.join("manifest.json"), manifest).expect("write manifest");
    std::fs::write(
        d.join("checkpoints").join("checkpoint-000000000006.txt"),
        include_bytes!("../seeds/checkpoint/signed"),
    )
    .expect("write checkpoint");
    d
});

fuzz_target!(|data: &[u8]| {
    let (entries, payloads) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let dir = &*DIR;
    std::fs::write(dir.join("entries.ndjson"), entries).expect("write entries");
    std::fs::write(dir.join("payloads.ndjson"), payloads).expect("write payloads");
    let _ = bundle::verify_bundle(dir, vec![], vec![KEY.clone()], |_, _| {});
});
