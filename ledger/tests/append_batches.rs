//! Large `Ledger::append` batches: entries are built, signed and inserted a chunk at a time,
//! so a batch of several chunks must come out exactly like the same entries appended one by
//! one, refs across chunk boundaries must resolve, and a bad entry late in a batch must leave
//! nothing of the batch behind.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use vigil_ledger::audit::{VerifyOptions, verify_database};
use vigil_ledger::note::{ALG_ED25519, SignerKey};
use vigil_ledger::{Kind, Ledger, NewEntry, Ref};

const N: u64 = 3_000;

fn entry(i: u64, refs: Vec<Ref>) -> NewEntry {
    let mut subject = BTreeMap::new();
    subject.insert("signInId".to_string(), format!("s-{i}"));
    NewEntry {
        kind: Kind::Inference,
        subject,
        refs,
        payload: serde_json::json!({"score": i % 100, "i": i}),
    }
}

fn setup(dir: &std::path::Path) -> (Ledger, SignerKey, SignerKey) {
    let ledger_key = SignerKey::generate("batches.vigil.example/ledger", ALG_ED25519).unwrap();
    let producer = SignerKey::generate("ai-engine", ALG_ED25519).unwrap();
    let mut l = Ledger::create(&dir.join("audit.db"), &ledger_key).unwrap();
    l.add_key(&ledger_key, &producer.verifier(), vec![Kind::Inference])
        .unwrap();
    (l, ledger_key, producer)
}

#[test]
fn a_batch_of_many_chunks_verifies_and_acks_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, _, producer) = setup(dir.path());
    let before = l.size().unwrap();
    let first = l.append(&producer, vec![entry(0, vec![])]).unwrap();
    let first = Ref {
        seq: first[0].seq,
        hash: first[0].hash,
    };
    // Every entry of the batch refs the entry before it.
    let base = before + 1;
    let items = (0..N).map(|i| entry(i + 1, vec![first])).collect();
    let acks = l.append(&producer, items).unwrap();
    assert_eq!(acks.len() as u64, N);
    for (k, a) in acks.iter().enumerate() {
        assert_eq!(a.seq, base + k as u64, "acks are consecutive");
        assert_eq!(
            l.entry_hash(a.seq).unwrap(),
            a.hash,
            "ack {k} is the stored hash"
        );
    }
    // A second multi-chunk batch whose entries ref entries all over the first batch.
    let start = base + N;
    let items: Vec<NewEntry> = (0..2_500u64)
        .map(|k| {
            let back = &acks[usize::try_from(k * 7 % N).unwrap()];
            let refs = vec![Ref {
                seq: back.seq,
                hash: back.hash,
            }];
            entry(10_000 + k, refs)
        })
        .collect();
    let acks2 = l.append(&producer, items).unwrap();
    assert_eq!(acks2.first().unwrap().seq, start);
    let report = verify_database(&l, VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    assert_eq!(report.size, start + acks2.len() as u64);
    assert_eq!(report.signatures_checked, report.size);
}

#[test]
fn a_bad_ref_late_in_a_batch_leaves_nothing_of_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, _, producer) = setup(dir.path());
    let size = l.size().unwrap();
    let mut items: Vec<NewEntry> = (0..N).map(|i| entry(i, vec![])).collect();
    // Entry 2,600 of the batch refs entry 2,500 of the same batch with a wrong hash.
    items[2_600].refs = vec![Ref {
        seq: size + 2_500,
        hash: [7; 32],
    }];
    let err = l.append(&producer, items).unwrap_err().to_string();
    assert!(err.contains("does not match"), "{err}");
    assert_eq!(
        l.size().unwrap(),
        size,
        "nothing of the failed batch was kept"
    );
    // The ledger still takes appends and verifies.
    let acks = l.append(&producer, vec![entry(1, vec![])]).unwrap();
    assert_eq!(acks[0].seq, size);
    let report = verify_database(&l, VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.findings);
}
