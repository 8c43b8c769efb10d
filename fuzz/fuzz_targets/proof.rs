//! proof::InclusionProofDoc / ConsistencyProofDoc from JSON, then verify_*_doc with a
//! fixed key. Property: a hostile proof document is refused, never a panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vigil_ledger::note::VerifierKey;
use vigil_ledger::proof::{self, ConsistencyProofDoc, InclusionProofDoc};

static KEYS: LazyLock<Vec<VerifierKey>> = LazyLock::new(|| {
    vec![VerifierKey::parse(include_str!("../seeds/ledger.pub")).expect("seeds/ledger.pub")]
});

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = serde_json::from_slice::<InclusionProofDoc>(data) {
        let _ = proof::verify_inclusion_doc(&doc, None, &KEYS);
        let _ = proof::verify_inclusion_doc(&doc, None, &[]);
    }
    if let Ok(doc) = serde_json::from_slice::<ConsistencyProofDoc>(data) {
        let _ = proof::verify_consistency_doc(&doc, None, None, &KEYS);
        let cp = doc.new_checkpoint.clone();
        let _ = proof::verify_consistency_doc(&doc, cp.as_deref().map(str::as_bytes), None, &KEYS);
    }
});
