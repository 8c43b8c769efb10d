//! Entry envelopes: the signed, hash-chained record of one event, and their canonical bytes.
//!
//! The envelope deliberately holds no floating-point numbers: RFC 8785 number formatting
//! is where canonical-JSON implementations disagree, so every number in the envelope is a
//! non-negative integer below 2^53 and everything else is a string.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::merkle::Hash;

/// Envelope format version written by this crate.
pub const FORMAT_VERSION: u64 = 1;

/// Largest integer that RFC 8785 (IEEE-754 doubles) represents exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Domain-separation prefix of entry signatures; the NUL byte keeps it from ever being
/// a valid signed-note text, so an entry signature can never pass as a checkpoint signature.
pub const ENTRY_SIGNATURE_CONTEXT: &[u8] = b"vigil-ledger/entry/v1\0";

/// The closed list of entry kinds; adding one is a format version change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A raw signal (a sign-in, an audit record) as received.
    Signal,
    /// An AI inference: score, risk level, reasoning, recommended action.
    Inference,
    /// An action that was applied (or logged as applied).
    Action,
    /// A human review of an earlier entry.
    Review,
    /// A snapshot of a policy set.
    Policy,
    /// A simulation run: its inputs and results.
    Run,
    /// A key registry change (init, add, rotate, revoke), signed by the ledger key.
    Key,
    /// The erasure of an earlier entry's payload, signed by the ledger key.
    Redaction,
}

impl Kind {
    /// Every kind, in specification order.
    pub const ALL: [Kind; 8] = [
        Kind::Signal,
        Kind::Inference,
        Kind::Action,
        Kind::Review,
        Kind::Policy,
        Kind::Run,
        Kind::Key,
        Kind::Redaction,
    ];

    /// The kind's name as written in envelopes.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Signal => "signal",
            Kind::Inference => "inference",
            Kind::Action => "action",
            Kind::Review => "review",
            Kind::Policy => "policy",
            Kind::Run => "run",
            Kind::Key => "key",
            Kind::Redaction => "redaction",
        }
    }

    /// Parses a kind name; `None` for anything outside the closed list.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Kinds only the ledger key may sign.
    pub fn is_ledger_only(self) -> bool {
        matches!(self, Kind::Key | Kind::Redaction)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link to an earlier entry this one depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ref {
    /// The earlier entry's sequence number.
    pub seq: u64,
    /// The earlier entry's leaf hash.
    pub hash: Hash,
}

/// The signed part of an entry. Its canonical bytes are what is hashed and signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Format version (`1`).
    pub v: u64,
    /// 0-based position; equals the Merkle leaf index.
    pub seq: u64,
    /// Append time, RFC 3339 UTC with exactly six fractional digits and `Z`.
    pub ts: String,
    /// What the entry records.
    pub kind: Kind,
    /// Name of the key that signed the entry.
    pub actor: String,
    /// Opaque identifiers (tenant, user object id, sign-in id, correlation id ...).
    pub subject: BTreeMap<String, String>,
    /// Earlier entries this one depends on.
    pub refs: Vec<Ref>,
    /// SHA-256(salt32 || JCS(payload)).
    pub payload_commitment: Hash,
    /// Leaf hash of entry `seq - 1`; all zero for seq 0.
    pub prev: Hash,
}

/// Why envelope bytes are not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("envelope is not valid JSON of the expected shape: {0}")]
    Shape(String),
    /// A field is present but its value is invalid.
    #[error("envelope field `{field}`: {reason}")]
    Field {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes parse but are not the RFC 8785 encoding of their own content.
    #[error("envelope bytes are not canonical (RFC 8785): re-encoding gives different bytes")]
    NotCanonical,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRef<'a> {
    seq: u64,
    #[serde(borrow)]
    hash: Cow<'a, str>,
}

/// The envelope as written; the fields that are only checked borrow from the bytes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope<'a> {
    v: u64,
    seq: u64,
    ts: String,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    actor: String,
    subject: BTreeMap<String, String>,
    #[serde(borrow)]
    refs: Vec<RawRef<'a>>,
    #[serde(borrow)]
    payload_commitment: Cow<'a, str>,
    #[serde(borrow)]
    prev: Cow<'a, str>,
}

/// Parses 64 lowercase hex digits.
pub fn parse_hash_hex(s: &str) -> Option<Hash> {
    if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Checks a subject key: ASCII letters, digits, `_`, `.`, `-`, 1-64 bytes. Restricting keys
/// to ASCII makes RFC 8785's UTF-16 key order equal to byte order.
pub fn validate_subject_key(k: &str) -> Result<(), String> {
    if k.is_empty() || k.len() > 64 {
        return Err(format!("subject key {k:?} must be 1-64 characters"));
    }
    if !k
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(format!(
            "subject key {k:?} may contain only ASCII letters, digits, '_', '.' and '-'"
        ));
    }
    Ok(())
}

/// Checks a subject value: 1-256 characters, no control characters.
pub fn validate_subject_value(k: &str, v: &str) -> Result<(), String> {
    if v.is_empty() || v.chars().count() > 256 {
        return Err(format!("subject {k:?} must be 1-256 characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("subject {k:?} contains a control character"));
    }
    Ok(())
}

/// Checks a timestamp is `YYYY-MM-DDTHH:MM:SS.ffffffZ` and a real instant; returns it.
pub fn parse_ts(ts: &str) -> Result<jiff::Timestamp, String> {
    let b = ts.as_bytes();
    let shape_ok = b.len() == 27
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            26 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(format!(
            "{ts:?} is not of the form YYYY-MM-DDTHH:MM:SS.ffffffZ"
        ));
    }
    // jiff accepts a leap second (:60) by clamping it; an envelope time must be a real instant.
    if &ts[17..19] == "60" {
        return Err(format!("{ts:?} is not a valid instant: second 60"));
    }
    ts.parse::<jiff::Timestamp>()
        .map_err(|e| format!("{ts:?} is not a valid instant: {e}"))
}

/// Formats an instant the way envelopes store it (microseconds, UTC, `Z`).
pub fn format_ts(t: jiff::Timestamp) -> String {
    let micros = t.as_microsecond();
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let whole = jiff::Timestamp::from_second(secs).unwrap_or(t);
    format!("{}.{frac:06}Z", whole.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// The kind of a canonical envelope, read from its bytes without parsing the whole envelope
/// (for scans over millions of entries). In RFC 8785 bytes the members are sorted, so the first
/// unescaped `"kind":"` is the envelope's own member (`actor` precedes it and is a string, in
/// which quotes are escaped). `None` when the bytes hold no known kind there.
pub fn kind_of_canonical(envelope: &[u8]) -> Option<Kind> {
    const KEY: &[u8] = b"\"kind\":\"";
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(KEY));
    let at = FINDER.find(envelope)? + KEY.len();
    let rest = &envelope[at..];
    let end = rest.iter().position(|&b| b == b'"')?;
    Kind::parse(std::str::from_utf8(&rest[..end]).ok()?)
}

/// An envelope's fields, borrowed: what [`canonical_envelope`] encodes.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeRef<'a> {
    /// As [`Envelope::v`].
    pub v: u64,
    /// As [`Envelope::seq`].
    pub seq: u64,
    /// As [`Envelope::ts`].
    pub ts: &'a str,
    /// As [`Envelope::kind`].
    pub kind: Kind,
    /// As [`Envelope::actor`].
    pub actor: &'a str,
    /// As [`Envelope::subject`].
    pub subject: &'a BTreeMap<String, String>,
    /// As [`Envelope::refs`].
    pub refs: &'a [Ref],
    /// As [`Envelope::payload_commitment`].
    pub payload_commitment: &'a Hash,
    /// As [`Envelope::prev`].
    pub prev: &'a Hash,
}

/// [`Envelope::canonical_bytes`] of borrowed fields (an append encodes each entry once, without
/// building an [`Envelope`]).
pub fn canonical_envelope(e: &EnvelopeRef<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(320 + 64 * e.refs.len() + 48 * e.subject.len());
    // Keys in RFC 8785 order (UTF-16 code units; all ASCII here, so byte order).
    out.extend_from_slice(b"{\"actor\":");
    write_jcs_string(&mut out, e.actor);
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(e.kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"payload_commitment\":\"");
    push_hex(&mut out, e.payload_commitment);
    out.extend_from_slice(b"\",\"prev\":\"");
    push_hex(&mut out, e.prev);
    out.extend_from_slice(b"\",\"refs\":[");
    for (i, r) in e.refs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"hash\":\"");
        push_hex(&mut out, &r.hash);
        out.extend_from_slice(b"\",\"seq\":");
        out.extend_from_slice(r.seq.to_string().as_bytes());
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"seq\":");
    out.extend_from_slice(e.seq.to_string().as_bytes());
    out.extend_from_slice(b",\"subject\":{");
    for (i, (k, v)) in e.subject.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_jcs_string(&mut out, k);
        out.push(b':');
        write_jcs_string(&mut out, v);
    }
    out.extend_from_slice(b"},\"ts\":");
    write_jcs_string(&mut out, e.ts);
    out.extend_from_slice(b",\"v\":");
    out.extend_from_slice(e.v.to_string().as_bytes());
    out.push(b'}');
    out
}

impl Envelope {
    /// The RFC 8785 (JCS) encoding of the envelope: the bytes that are hashed and signed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        canonical_envelope(&EnvelopeRef {
            v: self.v,
            seq: self.seq,
            ts: &self.ts,
            kind: self.kind,
            actor: &self.actor,
            subject: &self.subject,
            refs: &self.refs,
            payload_commitment: &self.payload_commitment,
            prev: &self.prev,
        })
    }

    /// Parses envelope bytes, validating every field and that the bytes are canonical.
    pub fn parse_canonical(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let env = Envelope::parse_lenient(bytes)?;
        // Bytes already in RFC 8785 form that parse as an envelope (unknown members refused)
        // are its canonical bytes; only other bytes need re-serializing to be judged.
        if crate::jcs::is_canonical(bytes) {
            debug_assert_eq!(env.canonical_bytes(), bytes);
            return Ok(env);
        }
        if env.canonical_bytes() != bytes {
            return Err(EnvelopeError::NotCanonical);
        }
        Ok(env)
    }

    /// Parses and validates envelope JSON without requiring canonical layout.
    pub fn parse_lenient(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let raw: RawEnvelope =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Shape(e.to_string()))?;
        let field = |field: &'static str, reason: String| EnvelopeError::Field { field, reason };
        if raw.v != FORMAT_VERSION {
            return Err(field(
                "v",
                format!(
                    "format version {} is not supported (expected {FORMAT_VERSION})",
                    raw.v
                ),
            ));
        }
        if raw.seq > MAX_SAFE_INTEGER {
            return Err(field("seq", "exceeds 2^53-1".into()));
        }
        parse_ts(&raw.ts).map_err(|e| field("ts", e))?;
        let kind = Kind::parse(&raw.kind)
            .ok_or_else(|| field("kind", format!("{:?} is not a known entry kind", raw.kind)))?;
        crate::note::validate_key_name(&raw.actor).map_err(|e| field("actor", e.to_string()))?;
        for (k, v) in &raw.subject {
            validate_subject_key(k).map_err(|e| field("subject", e))?;
            validate_subject_value(k, v).map_err(|e| field("subject", e))?;
        }
        let mut refs = Vec::with_capacity(raw.refs.len());
        for r in &raw.refs {
            let hash = parse_hash_hex(&r.hash).ok_or_else(|| {
                field(
                    "refs",
                    format!("hash {:?} is not 64 lowercase hex digits", r.hash),
                )
            })?;
            if r.seq >= raw.seq {
                return Err(field(
                    "refs",
                    format!("ref to seq {} does not point to an earlier entry", r.seq),
                ));
            }
            refs.push(Ref { seq: r.seq, hash });
        }
        let payload_commitment = parse_hash_hex(&raw.payload_commitment)
            .ok_or_else(|| field("payload_commitment", "not 64 lowercase hex digits".into()))?;
        let prev = parse_hash_hex(&raw.prev)
            .ok_or_else(|| field("prev", "not 64 lowercase hex digits".into()))?;
        Ok(Envelope {
            v: raw.v,
            seq: raw.seq,
            ts: raw.ts,
            kind,
            actor: raw.actor,
            subject: raw.subject,
            refs,
            payload_commitment,
            prev,
        })
    }

    /// Whether `sig` is `key`'s signature of the entry with these canonical bytes in the ledger
    /// `origin` (the message of [`Envelope::signed_message`], hashed without being copied).
    pub fn signature_verifies(
        key: &crate::note::VerifierKey,
        origin: &str,
        canonical: &[u8],
        sig: &[u8; 64],
    ) -> bool {
        crate::strict::verify_strict_parts(
            &key.public,
            &[ENTRY_SIGNATURE_CONTEXT, origin.as_bytes(), &[0], canonical],
            sig,
        )
    }

    /// The bytes an entry signature covers: context, origin, NUL, canonical bytes.
    pub fn signed_message(origin: &str, canonical: &[u8]) -> Vec<u8> {
        let mut m =
            Vec::with_capacity(ENTRY_SIGNATURE_CONTEXT.len() + origin.len() + 1 + canonical.len());
        Self::signed_message_into(origin, canonical, &mut m);
        m
    }

    /// [`Envelope::signed_message`] written into `out` (cleared first), so that a signer can
    /// reuse one buffer for many entries.
    pub fn signed_message_into(origin: &str, canonical: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(ENTRY_SIGNATURE_CONTEXT);
        out.extend_from_slice(origin.as_bytes());
        out.push(0);
        out.extend_from_slice(canonical);
    }
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// Writes a JSON string the RFC 8785 way: escape `"`, `\` and U+0000-U+001F only. Runs of
/// bytes that need no escape are copied whole.
pub(crate) fn write_jcs_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Canonicalizes an arbitrary JSON payload with RFC 8785.
///
/// serde_json's compact output of a value is already its RFC 8785 form for most payloads
/// (members in byte order, the same escapes, integers and most doubles written alike); the
/// one-pass check in [`crate::jcs`] confirms that, and anything it does not accept (members
/// whose UTF-16 order differs, numbers ECMAScript writes otherwise, integers beyond 2^53) goes
/// through the full canonicalizer. Both give the same bytes (a property test checks it).
pub fn canonical_payload(value: &serde_json::Value) -> Result<Vec<u8>, String> {
    if let Ok(bytes) = serde_json::to_vec(value)
        && crate::jcs::is_canonical(&bytes)
    {
        return Ok(bytes);
    }
    serde_json_canonicalizer::to_vec(value).map_err(|e| e.to_string())
}

/// SHA-256(salt || canonical payload).
pub fn payload_commitment(salt: &[u8; 32], canonical_payload: &[u8]) -> Hash {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(salt);
    h.update(canonical_payload);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        let mut subject = BTreeMap::new();
        subject.insert("signInId".to_string(), "b1d2\"é\\/".to_string());
        subject.insert("correlationId".to_string(), "c-1".to_string());
        Envelope {
            v: 1,
            seq: 7,
            ts: "2026-01-05T14:23:45.123456Z".into(),
            kind: Kind::Inference,
            actor: "ai-engine".into(),
            subject,
            refs: vec![
                Ref {
                    seq: 3,
                    hash: [0xab; 32],
                },
                Ref {
                    seq: 1,
                    hash: [1; 32],
                },
            ],
            payload_commitment: [0x11; 32],
            prev: [0x22; 32],
        }
    }

    #[test]
    fn kind_is_read_from_canonical_bytes_whatever_the_strings_hold() {
        let mut env = sample();
        assert_eq!(
            kind_of_canonical(&env.canonical_bytes()),
            Some(Kind::Inference)
        );
        // An actor or subject that spells a kind member cannot fool the scan.
        env.kind = Kind::Review;
        env.actor = "x\"kind\":\"action".into();
        env.subject.insert("kind".to_string(), "signal".to_string());
        assert_eq!(
            kind_of_canonical(&env.canonical_bytes()),
            Some(Kind::Review)
        );
        assert_eq!(kind_of_canonical(b"{}"), None);
    }

    #[test]
    fn canonical_bytes_match_reference_jcs() {
        let env = sample();
        let bytes = env.canonical_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let reference = serde_json_canonicalizer::to_vec(&value).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            String::from_utf8(reference).unwrap()
        );
        assert_eq!(Envelope::parse_canonical(&bytes).unwrap(), env);
    }

    #[test]
    fn non_canonical_bytes_are_rejected() {
        let env = sample();
        let value: serde_json::Value = serde_json::from_slice(&env.canonical_bytes()).unwrap();
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        assert_eq!(
            Envelope::parse_canonical(&pretty),
            Err(EnvelopeError::NotCanonical)
        );
        assert_eq!(Envelope::parse_lenient(&pretty).unwrap(), env);
    }

    #[test]
    fn duplicate_subject_key_is_not_canonical() {
        let bytes = String::from_utf8(sample().canonical_bytes()).unwrap();
        let dup = bytes.replace("\"subject\":{", "\"subject\":{\"correlationId\":\"x\",");
        assert!(Envelope::parse_canonical(dup.as_bytes()).is_err());
    }

    #[test]
    fn unknown_kind_and_field_rejected() {
        let bytes = String::from_utf8(sample().canonical_bytes()).unwrap();
        let k = bytes.replace("\"inference\"", "\"opinion\"");
        assert!(matches!(
            Envelope::parse_canonical(k.as_bytes()),
            Err(EnvelopeError::Field { field: "kind", .. })
        ));
        let extra = bytes.replace("{\"actor\"", "{\"a\":1,\"actor\"");
        assert!(matches!(
            Envelope::parse_canonical(extra.as_bytes()),
            Err(EnvelopeError::Shape(_))
        ));
    }

    #[test]
    fn ref_must_point_backwards() {
        let mut env = sample();
        env.refs.push(Ref {
            seq: 7,
            hash: [0; 32],
        });
        assert!(matches!(
            Envelope::parse_canonical(&env.canonical_bytes()),
            Err(EnvelopeError::Field { field: "refs", .. })
        ));
    }

    #[test]
    fn timestamps_round_trip_and_shape_is_strict() {
        let t: jiff::Timestamp = "2026-03-01T00:00:05.000042Z".parse().unwrap();
        assert_eq!(format_ts(t), "2026-03-01T00:00:05.000042Z");
        assert!(parse_ts("2026-03-01T00:00:05Z").is_err());
        assert!(parse_ts("2026-02-30T00:00:05.000000Z").is_err());
        assert!(parse_ts("2026-03-01T00:00:05.000000+00:00").is_err());
    }

    #[test]
    fn payload_commitment_is_salted_sha256() {
        // SHA-256 of 32 zero bytes followed by "{}".
        let c = payload_commitment(&[0; 32], b"{}");
        use sha2::{Digest, Sha256};
        let mut buf = vec![0u8; 32];
        buf.extend_from_slice(b"{}");
        assert_eq!(c, <[u8; 32]>::from(Sha256::digest(&buf)));
        assert_ne!(c, payload_commitment(&[1; 32], b"{}"));
    }

    #[test]
    fn rfc8785_values_vector() {
        // cyberphone/json-canonicalization testdata values.json: known SHA-256 of the output.
        let input = r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]}"#;
        let v: serde_json::Value = serde_json::from_str(input).unwrap();
        let out = canonical_payload(&v).unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
        use sha2::{Digest, Sha256};
        assert_eq!(
            hex::encode(Sha256::digest(&out)),
            "2d5e01a318d0f0879ab568c4be289c8b1f64ef8921a53c6277d5e069978baacb"
        );
    }
}
