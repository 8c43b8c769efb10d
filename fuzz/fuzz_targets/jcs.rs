//! `jcs::is_canonical`, the verifier's one-pass canonical-form check. Property: it never
//! accepts bytes that are not exactly the RFC 8785 serialization of the JSON value they parse
//! to (the parse-and-reserialize definition), and it accepts that serialization of whatever
//! JSON the input parses to (unless nested deeper than the fast path's limit, which leaves
//! such input to the full check).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_ledger::entry::canonical_payload;
use vigil_ledger::jcs::is_canonical;

fuzz_target!(|data: &[u8]| {
    let parsed = serde_json::from_slice::<serde_json::Value>(data).ok();
    let canonical = parsed.as_ref().and_then(|v| canonical_payload(v).ok());
    if is_canonical(data) {
        assert_eq!(
            canonical.as_deref(),
            Some(data),
            "accepted bytes that are not canonical"
        );
    }
    if let (Some(c), Some(v)) = (canonical, &parsed)
        && depth(v) <= 64
    {
        assert!(is_canonical(&c), "refused canonical output {}", String::from_utf8_lossy(&c));
    }
});

fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
