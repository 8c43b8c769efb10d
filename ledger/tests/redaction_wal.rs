//! A redaction erases the payload's bytes from the database *and* its write-ahead log while the
//! ledger stays open: the WAL is checkpointed late (hundreds of megabytes) for append speed, so
//! without the checkpoint `redact` does, the erased payload's old page would stay in the WAL
//! file for as long as the process keeps appending.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use vigil_ledger::audit::{VerifyOptions, verify_database};
use vigil_ledger::note::{ALG_ED25519, SignerKey};
use vigil_ledger::{Kind, Ledger, NewEntry};

/// Whether `needle` occurs in the database file or its WAL.
fn on_disk(db: &std::path::Path, needle: &[u8]) -> bool {
    let mut bytes = std::fs::read(db).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.display())) {
        bytes.extend(wal);
    }
    bytes.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn redaction_leaves_no_copy_in_the_wal_of_an_open_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let ledger_key = SignerKey::generate("wal.vigil.example/ledger", ALG_ED25519).unwrap();
    let producer = SignerKey::generate("ai-engine", ALG_ED25519).unwrap();
    let mut l = Ledger::create(&db, &ledger_key).unwrap();
    l.add_key(&ledger_key, &producer.verifier(), vec![Kind::Inference])
        .unwrap();
    let secret = "partner-contact-4711@fabrikam.example";
    let entries: Vec<NewEntry> = (0..50)
        .map(|i| {
            let mut subject = BTreeMap::new();
            subject.insert("signInId".to_string(), format!("s-{i}"));
            NewEntry {
                kind: Kind::Inference,
                subject,
                refs: vec![],
                payload: serde_json::json!({"i": i, "note": if i == 7 { secret } else { "none" }}),
            }
        })
        .collect();
    let acks = l.append(&producer, entries).unwrap();
    let target = acks[7].seq;
    assert!(
        on_disk(&db, secret.as_bytes()),
        "the payload is on disk before the redaction (else this test proves nothing)"
    );
    l.redact(&ledger_key, target, "erasure request").unwrap();
    // The ledger is still open (no close-time checkpoint has happened).
    assert!(
        !on_disk(&db, secret.as_bytes()),
        "the redacted payload is still in the database or its WAL"
    );
    let report = verify_database(&l, VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.findings);
}
