//! `Ledger::append_once_stream`: each batch is built (and signed) in the transaction of the
//! batch before it, so the stream must come out exactly as the batches appended one call at a
//! time would: each sign-in once per kind across batches, links resolved, every batch reported
//! once committed and in order. And the shortcut must never be trusted: a batch built while
//! another writer appended, or built on an index entry that does not match, is built again.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use vigil_ledger::audit::{VerifyOptions, verify_database};
use vigil_ledger::note::{ALG_ED25519, SignerKey};
use vigil_ledger::{
    Group, ItemRef, Kind, Ledger, NewEntry, PreparedGroup, Recorded, prepare_groups,
};

fn entry(kind: Kind, id: &str) -> NewEntry {
    let mut subject = BTreeMap::new();
    subject.insert("signInId".to_string(), id.to_string());
    NewEntry {
        kind,
        subject,
        refs: vec![],
        payload: serde_json::json!({"id": id, "kind": kind.as_str()}),
    }
}

fn setup(dir: &std::path::Path) -> (Ledger, SignerKey, SignerKey) {
    let ledger_key = SignerKey::generate("stream.vigil.example/ledger", ALG_ED25519).unwrap();
    let producer = SignerKey::generate("ingest", ALG_ED25519).unwrap();
    let mut l = Ledger::create(&dir.join("audit.db"), &ledger_key).unwrap();
    l.add_key(
        &ledger_key,
        &producer.verifier(),
        vec![Kind::Signal, Kind::Action],
    )
    .unwrap();
    (l, ledger_key, producer)
}

/// A batch of sign-ins `ids`: their signals, then their actions, each action linked to its
/// signal (as `vigil ledger record` builds them).
fn batch<'k>(producer: &'k SignerKey, ids: &[String]) -> Vec<PreparedGroup<'k>> {
    let signals = Group {
        signer: producer,
        items: ids.iter().map(|id| entry(Kind::Signal, id)).collect(),
        links: vec![],
    };
    let actions = Group {
        signer: producer,
        items: ids.iter().map(|id| entry(Kind::Action, id)).collect(),
        links: (0..ids.len())
            .map(|item| vec![ItemRef { group: 0, item }])
            .collect(),
    };
    prepare_groups(vec![signals, actions]).unwrap()
}

fn ids(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("s-{i}")).collect()
}

/// Streams `batches`, calling `between` after each commit; returns what each batch recorded.
fn stream(
    l: &mut Ledger,
    producer: &SignerKey,
    batches: &[Vec<String>],
    between: &mut dyn FnMut(usize),
) -> Vec<Vec<Vec<Recorded>>> {
    let mut queue = batches.iter();
    let mut next = || queue.next().map(|b| batch(producer, b));
    let mut out = Vec::new();
    l.append_once_stream(&mut next, &mut |at| {
        out.push(at);
        between(out.len());
    })
    .unwrap();
    out
}

/// Checks what a batch recorded: which items were new, and that each action refs its
/// sign-in's signal (the entry recorded for it, new or not).
fn check_batch(l: &Ledger, at: &[Vec<Recorded>], new_signals: &[bool]) {
    let signals: Vec<bool> = at[0].iter().map(|r| r.new).collect();
    assert_eq!(signals, new_signals);
    for (signal, action) in at[0].iter().zip(&at[1]) {
        assert_eq!(l.entry_hash(action.entry.seq).unwrap(), action.entry.hash);
        let env = l.entry(action.entry.seq).unwrap().unwrap();
        let env = vigil_ledger::entry::Envelope::parse_lenient(&env.envelope).unwrap();
        assert_eq!(env.refs.len(), 1);
        assert_eq!(env.refs[0].seq, signal.entry.seq);
        assert_eq!(env.refs[0].hash, signal.entry.hash);
    }
}

#[test]
fn a_stream_records_each_signin_once_across_batches_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, _, producer) = setup(dir.path());
    let start = l.size().unwrap();
    // Batches of several signing chunks; batch 1 repeats the end of batch 0 (built while
    // batch 0 is not committed yet), batch 2 repeats an id within itself and one of batch 0.
    let mut b2 = ids(1200..1500);
    b2.push("S-1250".to_string());
    b2.push("s-3".to_string());
    let batches = vec![ids(0..700), ids(600..1200), b2];
    let mut committed_sizes = Vec::new();
    let out = {
        let path = dir.path().join("audit.db");
        stream(&mut l, &producer, &batches, &mut |_| {
            // Each batch is committed when it is reported: another connection sees it.
            let other = Ledger::open_readonly(&path).unwrap();
            committed_sizes.push(other.size().unwrap());
        })
    };
    assert_eq!(out.len(), 3);
    check_batch(&l, &out[0], &[true; 700]);
    let mut want = vec![false; 100];
    want.extend([true; 500]);
    check_batch(&l, &out[1], &want);
    for k in 0..100 {
        assert_eq!(out[1][0][k].entry, out[0][0][600 + k].entry);
    }
    let mut want = vec![true; 300];
    want.extend([false, false]);
    check_batch(&l, &out[2], &want);
    assert_eq!(
        out[2][0][300].entry, out[2][0][50].entry,
        "same id, same batch"
    );
    assert_eq!(
        out[2][0][301].entry, out[0][0][3].entry,
        "ids compare without case"
    );
    assert_eq!(
        committed_sizes,
        [start + 1400, start + 2400, start + 3000],
        "a batch is reported once it is committed, never before"
    );
    // Entries follow each other with no gap, in batch order.
    let seqs: Vec<u64> = out
        .iter()
        .flat_map(|b| b.iter().flatten())
        .filter(|r| r.new)
        .map(|r| r.entry.seq)
        .collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (start..start + 3000).collect::<Vec<_>>());
    let report = verify_database(&l, VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    assert_eq!(report.size, start + 3000);
    // Recording the same stream again adds nothing.
    let again = stream(&mut l, &producer, &batches, &mut |_| {});
    assert!(again.iter().flatten().flatten().all(|r| !r.new));
    assert_eq!(l.size().unwrap(), start + 3000);
}

#[test]
fn a_batch_built_while_another_writer_appended_is_built_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, ledger_key, producer) = setup(dir.path());
    let path = dir.path().join("audit.db");
    let batches = vec![ids(0..400), ids(400..800), ids(800..1200)];
    let mut foreign = Vec::new();
    let out = stream(&mut l, &producer, &batches, &mut |done| {
        // After batch 0 commits (batch 1 is built by then), another writer records a sign-in
        // of batch 1 and one of batch 2, and registers a key.
        if done == 1 {
            let mut other = Ledger::open(&path).unwrap();
            let at = other
                .append_once(
                    &producer,
                    vec![entry(Kind::Signal, "s-450"), entry(Kind::Signal, "s-900")],
                )
                .unwrap();
            let extra = SignerKey::generate("reviewer", ALG_ED25519).unwrap();
            other
                .add_key(&ledger_key, &extra.verifier(), vec![Kind::Review])
                .unwrap();
            foreign.extend(at.into_iter().map(|r| r.entry));
        }
    });
    assert_eq!(out.len(), 3);
    let mut want = vec![true; 400];
    want[50] = false;
    check_batch(&l, &out[1], &want);
    assert_eq!(
        out[1][0][50].entry, foreign[0],
        "the other writer's entry is used"
    );
    let mut want = vec![true; 400];
    want[100] = false;
    check_batch(&l, &out[2], &want);
    assert_eq!(out[2][0][100].entry, foreign[1]);
    // Batch 1 follows the other writer's entries.
    assert!(out[1][0][0].entry.seq > foreign[1].seq + 1);
    let report = verify_database(&l, VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    // The init and producer key entries, 1200 sign-ins x 2 entries (2 of the signals by the
    // other writer), and the other writer's key entry.
    assert_eq!(report.size, 2 + 2400 + 1);
}

#[test]
fn an_index_entry_that_lies_to_a_batch_built_ahead_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, _, producer) = setup(dir.path());
    let path = dir.path().join("audit.db");
    let batches = vec![ids(0..300), ids(300..600), ids(600..900)];
    let out = stream(&mut l, &producer, &batches, &mut |done| {
        // Between batch 0's commit and batch 1's transaction (in which batch 2 is built), the
        // index is made to say that s-650 is recorded, at the entry of s-5.
        if done == 1 {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "INSERT INTO subject_index(kind, id, seq)
                 SELECT 'signal', 's-650', seq FROM subject_index WHERE id = 's-5' AND kind = 'signal'",
            )
            .unwrap();
        }
    });
    assert!(
        out[2][0][50].new,
        "s-650 was never recorded, whatever the index said"
    );
    check_batch(&l, &out[2], &[true; 300]);
    let report = verify_database(&l, VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.findings);
    // The index was rebuilt from the entries: recording s-650 again adds nothing.
    let again = l
        .append_once(&producer, vec![entry(Kind::Signal, "s-650")])
        .unwrap();
    assert_eq!(again[0].entry, out[2][0][50].entry);
    assert!(!again[0].new);
}

#[test]
fn a_stream_stops_at_an_invalid_batch_after_committing_the_ones_before() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, _, producer) = setup(dir.path());
    let start = l.size().unwrap();
    let mut calls = 0;
    let mut next = || {
        calls += 1;
        match calls {
            1 => Some(batch(&producer, &ids(0..10))),
            // An action linked to an item of a later group: links only point backwards.
            2 => {
                let g = Group {
                    signer: &producer,
                    items: vec![entry(Kind::Action, "s-20")],
                    links: vec![vec![ItemRef { group: 1, item: 0 }]],
                };
                Some(prepare_groups(vec![g]).unwrap())
            }
            _ => Some(batch(&producer, &ids(30..40))),
        }
    };
    let mut reported = 0;
    let err = l
        .append_once_stream(&mut next, &mut |_| reported += 1)
        .unwrap_err();
    assert!(err.to_string().contains("link"), "{err}");
    assert_eq!(reported, 1);
    assert_eq!(l.size().unwrap(), start + 20);
}
