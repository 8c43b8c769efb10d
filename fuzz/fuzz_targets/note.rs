//! Note::parse. Properties: nothing panics; a note that parses re-serializes to the
//! identical bytes and re-parses to the same value; verify never panics.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vigil_ledger::note::{Note, VerifierKey};

static KEYS: LazyLock<Vec<VerifierKey>> = LazyLock::new(|| {
    vec![VerifierKey::parse(include_str!("../seeds/ledger.pub")).expect("seeds/ledger.pub")]
});

fuzz_target!(|data: &[u8]| {
    let Ok(n) = Note::parse(data) else {
        return;
    };
    let _ = n.verify(&KEYS);
    let bytes = n.to_bytes();
    assert_eq!(bytes, data, "parse then to_bytes changed the bytes");
    assert_eq!(
        Note::parse(&bytes).expect("to_bytes output does not parse"),
        n
    );
});
