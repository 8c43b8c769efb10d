//! vigil_ledger::input::parse_append_line (the `vigil ledger append` NDJSON line parser).
//! Properties: nothing panics; an accepted line is never a ledger-only kind, its payload
//! canonicalizes without panicking, and an envelope built from it (as `Ledger::append`
//! does) is accepted by the verifier's canonical parser: what append takes, verify takes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_ledger::entry::{self, Envelope, Kind, MAX_SAFE_INTEGER};
use vigil_ledger::input::parse_append_line;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    for default_kind in [None, Some(Kind::Signal)] {
        let Ok(e) = parse_append_line(line, default_kind) else {
            continue;
        };
        assert!(!e.kind.is_ledger_only(), "a ledger-only kind was accepted");
        let Ok(payload) = entry::canonical_payload(&e.payload) else {
            continue;
        };
        // Append refuses refs that do not point backwards; mirror that.
        if e.refs.iter().any(|r| r.seq >= MAX_SAFE_INTEGER) {
            continue;
        }
        let env = Envelope {
            v: entry::FORMAT_VERSION,
            seq: MAX_SAFE_INTEGER,
            ts: "2026-01-05T14:23:45.123456Z".into(),
            kind: e.kind,
            actor: "ai-engine".into(),
            subject: e.subject,
            refs: e.refs,
            payload_commitment: entry::payload_commitment(&[0; 32], &payload),
            prev: [0; 32],
        };
        let bytes = env.canonical_bytes();
        let parsed = Envelope::parse_canonical(&bytes)
            .unwrap_or_else(|err| panic!("append would write an envelope verify refuses: {err}"));
        assert_eq!(parsed, env);
    }
});
