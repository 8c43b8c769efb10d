//! SignedCheckpoint::parse + verify with a fixed key. Properties: nothing panics; a
//! checkpoint that parses re-serializes to the identical bytes (the parsers are strict:
//! one accepted encoding per value) and those bytes parse to the same value.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vigil_ledger::note::{self, SignedCheckpoint, VerifierKey};

/// The ledger key of the seed ledger (seeds/make-seeds.sh), so seed signatures verify.
static KEYS: LazyLock<Vec<VerifierKey>> = LazyLock::new(|| {
    vec![VerifierKey::parse(include_str!("../seeds/ledger.pub")).expect("seeds/ledger.pub")]
});

fuzz_target!(|data: &[u8]| {
    let Ok(cp) = SignedCheckpoint::parse(data) else {
        return;
    };
    let _ = cp.verify(&KEYS);
    let _ = note::verify_cosignatures(&cp, &KEYS);
    let bytes = cp.to_bytes();
    assert_eq!(bytes, data, "parse then to_bytes changed the bytes");
    let again = SignedCheckpoint::parse(&bytes).expect("to_bytes output does not parse");
    assert_eq!(again, cp, "to_bytes output parses to a different value");
});
