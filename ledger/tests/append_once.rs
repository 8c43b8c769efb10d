//! `Ledger::append_once`: an entry of a kind about a sign-in is appended once, whether the
//! earlier one came from an earlier call, the same batch, or a plain `append`; and the subject
//! index it relies on is never trusted over the entries themselves.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use vigil_ledger::audit::{VerifyOptions, verify_database};
use vigil_ledger::note::{ALG_ED25519, SignerKey};
use vigil_ledger::{Group, ItemRef, Kind, Ledger, NewEntry, Ref};

fn signal(id: &str) -> NewEntry {
    let mut subject = BTreeMap::new();
    subject.insert("signInId".to_string(), id.to_string());
    NewEntry {
        kind: Kind::Signal,
        subject,
        refs: vec![],
        payload: serde_json::json!({"id": id}),
    }
}

fn setup(dir: &std::path::Path) -> (Ledger, SignerKey) {
    let ledger_key = SignerKey::generate("once.vigil.example/ledger", ALG_ED25519).unwrap();
    let producer = SignerKey::generate("ingest", ALG_ED25519).unwrap();
    let mut l = Ledger::create(&dir.join("audit.db"), &ledger_key).unwrap();
    l.add_key(
        &ledger_key,
        &producer.verifier(),
        vec![Kind::Signal, Kind::Action],
    )
    .unwrap();
    (l, producer)
}

#[test]
fn each_signin_is_appended_once_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, producer) = setup(dir.path());
    // One entry came in through a plain append before the index existed.
    let plain = l.append(&producer, vec![signal("S-0")]).unwrap()[0];
    let first = l
        .append_once(
            &producer,
            vec![signal("s-0"), signal("s-1"), signal("s-2"), signal("S-1")],
        )
        .unwrap();
    let new: Vec<bool> = first.iter().map(|r| r.new).collect();
    assert_eq!(new, [false, true, true, false]);
    assert_eq!(first[0].entry, plain, "ids are compared without case");
    assert_eq!(first[3].entry, first[1].entry, "same id, same batch");
    let size = l.size().unwrap();
    let again = l
        .append_once(&producer, vec![signal("s-2"), signal("s-3")])
        .unwrap();
    assert_eq!(again[0].entry, first[2].entry);
    assert!(!again[0].new && again[1].new);
    assert_eq!(l.size().unwrap(), size + 1);
    // Another kind about the same sign-in is a different entry.
    let mut action = signal("s-1");
    action.kind = Kind::Action;
    assert!(l.append_once(&producer, vec![action]).unwrap()[0].new);
    assert_eq!(l.recorded(Kind::Signal, "S-1").unwrap(), [first[1].entry]);
    // Without the subject id there is nothing to record once.
    let mut anonymous = signal("x");
    anonymous.subject.clear();
    assert!(l.append_once(&producer, vec![anonymous]).is_err());
    let report = verify_database(&l, VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.findings);
}

#[test]
fn a_lying_index_is_rebuilt_from_the_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, producer) = setup(dir.path());
    let first = l
        .append_once(&producer, vec![signal("s-1"), signal("s-2")])
        .unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("audit.db")).unwrap();
        // Point s-3 at s-1's entry and forget s-2.
        conn.execute_batch(&format!(
            "INSERT INTO subject_index(kind, id, seq) VALUES ('signal', 's-3', {});
             DELETE FROM subject_index WHERE id = 's-2';",
            first[0].entry.seq
        ))
        .unwrap();
    }
    let size = l.size().unwrap();
    let out = l
        .append_once(&producer, vec![signal("s-3"), signal("s-2")])
        .unwrap();
    assert!(
        out[0].new,
        "s-3 was never recorded, whatever the index said"
    );
    // The rebuild on the bad hit also restored s-2.
    assert!(!out[1].new);
    assert_eq!(out[1].entry, first[1].entry);
    assert_eq!(l.size().unwrap(), size + 1);
}

#[test]
fn first_recorded_many_finds_each_id_once_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, producer) = setup(dir.path());
    let plain = l.append(&producer, vec![signal("S-0")]).unwrap()[0];
    let rec = l
        .append_once(&producer, vec![signal("s-1"), signal("s-2")])
        .unwrap();
    // A later duplicate through a plain append: the first one is the answer.
    l.append(&producer, vec![signal("s-1")]).unwrap();
    let got = l
        .first_recorded_many(Kind::Signal, &["s-0", "S-1", "s-9", "s-2"])
        .unwrap();
    assert_eq!(
        got,
        [Some(plain), Some(rec[0].entry), None, Some(rec[1].entry)]
    );
    assert_eq!(
        l.first_recorded_many(Kind::Action, &["s-0"]).unwrap(),
        [None],
        "another kind about the same sign-in is not a hit"
    );
    // A forged index row is never trusted over the envelopes.
    l.connection()
        .execute("UPDATE subject_index SET id = 's-9' WHERE id = 's-2'", [])
        .unwrap();
    let got = l
        .first_recorded_many(Kind::Signal, &["s-9", "s-2"])
        .unwrap();
    assert_eq!(got, [None, Some(rec[1].entry)]);
}

fn action(id: &str) -> NewEntry {
    NewEntry {
        kind: Kind::Action,
        ..signal(id)
    }
}

#[test]
fn groups_link_to_the_entries_recorded_for_earlier_items() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, producer) = setup(dir.path());
    let earlier = l.append_once(&producer, vec![signal("s-1")]).unwrap()[0].entry;
    fn groups(p: &SignerKey) -> Vec<Group<'_>> {
        vec![
            Group {
                signer: p,
                items: vec![signal("s-1"), signal("s-2")],
                links: vec![],
            },
            Group {
                signer: p,
                items: vec![action("s-2"), action("s-1")],
                links: vec![
                    vec![ItemRef { group: 0, item: 1 }],
                    vec![ItemRef { group: 0, item: 0 }],
                ],
            },
        ]
    }
    let size = l.size().unwrap();
    let out = l.append_once_groups(groups(&producer)).unwrap();
    assert_eq!(out.len(), 2);
    assert!(!out[0][0].new && out[0][0].entry == earlier);
    assert!(out[0][1].new && out[1][0].new && out[1][1].new);
    assert_eq!(l.size().unwrap(), size + 3);
    let refs_of = |l: &Ledger, seq: u64| {
        let e = l.entry(seq).unwrap().unwrap();
        vigil_ledger::Envelope::parse_lenient(&e.envelope)
            .unwrap()
            .refs
    };
    let as_ref = |a: vigil_ledger::Appended| Ref {
        seq: a.seq,
        hash: a.hash,
    };
    assert_eq!(
        refs_of(&l, out[1][0].entry.seq),
        [as_ref(out[0][1].entry)],
        "linked to the signal appended in the same call"
    );
    assert_eq!(
        refs_of(&l, out[1][1].entry.seq),
        [as_ref(earlier)],
        "linked to the signal already on the ledger"
    );
    // Every group in one transaction, in group order.
    assert!(out[0][1].entry.seq < out[1][0].entry.seq);
    let again = l.append_once_groups(groups(&producer)).unwrap();
    assert!(again.iter().flatten().all(|r| !r.new));
    assert_eq!(again[1][0].entry, out[1][0].entry);
    assert_eq!(l.size().unwrap(), size + 3);
    let report = verify_database(&l, VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.findings);
}

#[test]
fn a_bad_group_commits_nothing_and_links_only_point_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, producer) = setup(dir.path());
    let size = l.size().unwrap();
    let mut anonymous = action("x");
    anonymous.subject.clear();
    let bad = vec![
        Group {
            signer: &producer,
            items: vec![signal("s-1")],
            links: vec![],
        },
        Group {
            signer: &producer,
            items: vec![anonymous],
            links: vec![],
        },
    ];
    assert!(l.append_once_groups(bad).is_err());
    assert_eq!(l.size().unwrap(), size, "the first group was not committed");
    assert!(l.recorded(Kind::Signal, "s-1").unwrap().is_empty());
    let forward = vec![Group {
        signer: &producer,
        items: vec![signal("s-2")],
        links: vec![vec![ItemRef { group: 0, item: 0 }]],
    }];
    assert!(l.append_once_groups(forward).is_err());
    assert_eq!(l.size().unwrap(), size);
}

#[test]
fn an_index_rebuilt_mid_batch_keeps_the_batchs_own_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, producer) = setup(dir.path());
    let first = l.append_once(&producer, vec![signal("s-1")]).unwrap();
    // A lying row: s-9 points at s-1's entry, so looking s-9 up rebuilds the index.
    l.connection()
        .execute(
            "INSERT INTO subject_index(kind, id, seq) VALUES ('signal', 's-9', ?1)",
            [i64::try_from(first[0].entry.seq).unwrap()],
        )
        .unwrap();
    let out = l
        .append_once(&producer, vec![signal("s-5"), signal("s-9")])
        .unwrap();
    assert!(out[0].new && out[1].new);
    assert_eq!(l.recorded(Kind::Signal, "s-5").unwrap(), [out[0].entry]);
    assert_eq!(l.recorded(Kind::Signal, "s-9").unwrap(), [out[1].entry]);
    let again = l
        .append_once(&producer, vec![signal("s-5"), signal("s-9")])
        .unwrap();
    assert!(again.iter().all(|r| !r.new));
}
