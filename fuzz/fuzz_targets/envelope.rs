//! Envelope::parse_canonical / parse_lenient. Properties: nothing panics; if
//! parse_canonical accepts the bytes, canonical_bytes() gives them back; if parse_lenient
//! accepts them, the canonical bytes of the result parse canonically to the same envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_ledger::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::parse_canonical(data) {
        assert_eq!(
            env.canonical_bytes(),
            data,
            "canonical parse is not the identity"
        );
    }
    if let Ok(env) = Envelope::parse_lenient(data) {
        let c = env.canonical_bytes();
        let again =
            Envelope::parse_canonical(&c).expect("canonical bytes of a valid envelope are refused");
        assert_eq!(again, env);
    }
});
