//! VerifierKey::parse and SignerKey::parse. Properties: nothing panics; a key that parses
//! prints back to the same string (less one optional final newline) and re-parses to the
//! same key; a parsed secret key signs what its public key verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_ledger::note::{SignerKey, VerifierKey};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let body = s.strip_suffix('\n').unwrap_or(s);
    if let Ok(k) = VerifierKey::parse(s) {
        let out = k.to_string();
        assert_eq!(out, body, "verifier key does not print back as parsed");
        let again = VerifierKey::parse(&out).expect("printed verifier key does not parse");
        assert_eq!(again, k);
    }
    if let Ok(k) = SignerKey::parse(s) {
        let out = k.to_secret_string();
        assert_eq!(
            out.as_str(),
            body,
            "secret key does not print back as parsed"
        );
        let again = SignerKey::parse(&out).expect("printed secret key does not parse");
        assert_eq!(again.verifier(), k.verifier());
        let public = VerifierKey::parse(&k.verifier().to_string())
            .expect("the public half of a parsed secret key does not parse");
        assert_eq!(public, k.verifier());
        let sig = k.sign(data);
        assert!(
            public.verify(data, &sig),
            "signature by a parsed key does not verify"
        );
    }
});
