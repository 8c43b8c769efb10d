//! vigil_ledger::strict::verify_strict against ed25519-dalek's verify_strict. Input: 32 bytes
//! of public key, 64 bytes of signature, the rest the message. Property: for every key that
//! decodes, both accept or both reject. Most random inputs are rejected by both, so the target
//! also signs the message with a key derived from the input and checks both accept, then
//! applies the input's signature bytes as an XOR mask (any single-bit or multi-bit mutation).
#![no_main]

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use libfuzzer_sys::fuzz_target;
use vigil_ledger::strict::verify_strict;

fn agree(key: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    let reference = key.verify_strict(msg, &Signature::from_bytes(sig)).is_ok();
    assert_eq!(
        verify_strict(key, msg, sig),
        reference,
        "rule differs from verify_strict"
    );
    reference
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 96 {
        return;
    }
    let key_bytes: [u8; 32] = data[..32].try_into().unwrap();
    let sig: [u8; 64] = data[32..96].try_into().unwrap();
    let msg = &data[96..];
    if let Ok(key) = VerifyingKey::from_bytes(&key_bytes) {
        agree(&key, msg, &sig);
    }
    let signer = SigningKey::from_bytes(&key_bytes);
    let public = signer.verifying_key();
    let good = signer.sign(msg).to_bytes();
    assert!(agree(&public, msg, &good));
    let mut masked = good;
    for (b, m) in masked.iter_mut().zip(sig) {
        *b ^= m;
    }
    agree(&public, msg, &masked);
});
