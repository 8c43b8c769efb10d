//! C2SP signed notes, checkpoints, cosignatures and key strings.
//!
//! Formats: c2sp.org/signed-note, c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature
//! (Ed25519 `cosignature/v1`, type 0x04) and the `PRIVATE+KEY+...` secret-key form of
//! golang.org/x/mod/sumdb/note. Parsers are strict: every value has exactly one accepted
//! encoding, so anything that parses re-serializes to the identical bytes, and two
//! different byte strings can never carry the same signed statement.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize as _, ZeroizeOnDrop, Zeroizing};

/// Signature type byte of plain Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of Ed25519 `cosignature/v1` witness cosignatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Most signature lines a note may carry; bounds the work an attacker can make us do.
pub const MAX_SIGNATURES: usize = 100;

/// Signature lines begin with U+2014 EM DASH and a space.
const SIG_PREFIX: &str = "\u{2014} ";
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";
/// tlog-cosignature caps timestamps at 2^63-1 so they survive signed 64-bit clocks.
const MAX_TIMESTAMP: u64 = (1 << 63) - 1;
/// Cosignature payload after the key id: u64 timestamp and an Ed25519 signature.
const COSIGNATURE_LEN: usize = 8 + 64;

/// Why a key string, note, checkpoint or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name breaks the signed-note naming rules.
    #[error("invalid key name {name:?}: {reason}")]
    InvalidKeyName {
        /// The offending name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key string does not have the expected shape.
    #[error("malformed key: {reason}")]
    MalformedKey {
        /// What is wrong with it.
        reason: String,
    },
    /// A key's signature type byte is not one vigil supports.
    #[error(
        "unknown signature type 0x{alg:02x} (supported: 0x01 Ed25519, 0x04 Ed25519 cosignature/v1)"
    )]
    UnknownAlgorithm {
        /// The type byte found.
        alg: u8,
    },
    /// The key id written in a key string is not the one derived from the key.
    #[error("key {name}: key id {stated} does not match the key (derived {derived})")]
    KeyIdMismatch {
        /// The key name.
        name: String,
        /// Key id written in the string, hex.
        stated: String,
        /// Key id derived from name, type and public key, hex.
        derived: String,
    },
    /// A public key has small order, so signatures under it prove nothing.
    #[error("key {name}: public key has small order (weak key)")]
    WeakKey {
        /// The key name.
        name: String,
    },
    /// The operating system's random number generator failed.
    #[error("cannot read the operating system's random number generator: {reason}")]
    Random {
        /// The error reported by the OS.
        reason: String,
    },
    /// A key of one signature type was used where another is required.
    #[error(
        "key {name} has signature type 0x{alg:02x}; this operation needs type 0x{expected:02x}"
    )]
    WrongKeyType {
        /// The key name.
        name: String,
        /// The key's type byte.
        alg: u8,
        /// The type byte the operation requires.
        expected: u8,
    },
    /// The input is not valid UTF-8.
    #[error("byte {offset}: not valid UTF-8")]
    InvalidUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A carriage return, almost always from CRLF line endings.
    #[error("line {line}: carriage return (CRLF line endings are not allowed; use \\n)")]
    CarriageReturn {
        /// 1-based line number.
        line: usize,
    },
    /// A control character other than newline.
    #[error("line {line}: control character U+{codepoint:04X} is not allowed")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
        /// The character's code point.
        codepoint: u32,
    },
    /// The note text is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The input does not end with a newline.
    #[error("does not end with a newline")]
    MissingFinalNewline,
    /// No blank line separates the text from the signatures.
    #[error("no blank line separating the note text from its signature lines")]
    MissingBlankLine,
    /// Nothing follows the last blank line.
    #[error("no signature lines after the last blank line")]
    NoSignatures,
    /// Signing was asked for with no signer.
    #[error("at least one signer is required")]
    NoSigners,
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("{count} signature lines; at most {max} are accepted")]
    TooManySignatures {
        /// How many there are (or would be).
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A signature line starts with an ASCII hyphen instead of an em dash.
    #[error(
        "signature line {line}: expected '\u{2014} ' (U+2014 EM DASH and a space), found ASCII '-'"
    )]
    SignatureAsciiDash {
        /// 1-based signature line number.
        line: usize,
    },
    /// A signature line does not start with an em dash and a space.
    #[error("signature line {line}: expected '\u{2014} ' (U+2014 EM DASH and a space)")]
    SignaturePrefix {
        /// 1-based signature line number.
        line: usize,
    },
    /// A signature line lacks the single space between name and signature, or has more.
    #[error(
        "signature line {line}: expected exactly one space between the key name and the signature"
    )]
    SignatureSpacing {
        /// 1-based signature line number.
        line: usize,
    },
    /// A signature line's key name is invalid.
    #[error("signature line {line}: invalid key name: {reason}")]
    SignatureKeyName {
        /// 1-based signature line number.
        line: usize,
        /// What is wrong with the name.
        reason: &'static str,
    },
    /// A signature line's base64 is invalid or not canonical.
    #[error("signature line {line}: {reason}")]
    SignatureBase64 {
        /// 1-based signature line number.
        line: usize,
        /// What is wrong with the encoding.
        reason: String,
    },
    /// A signature decodes to too few bytes to hold a key id and a signature.
    #[error(
        "signature line {line}: signature is {len} bytes; it needs a 4-byte key id and at least one signature byte"
    )]
    SignatureTooShort {
        /// 1-based signature line number.
        line: usize,
        /// Decoded length.
        len: usize,
    },
    /// A signature from a known key failed to verify.
    #[error("signature by known key {name} does not verify")]
    BadSignature {
        /// The key name.
        name: String,
    },
    /// No signature from a known key was found.
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// Two different known keys share a name and key id, so a signature can't be attributed.
    #[error("two different known keys are named {name} with key id {key_id}")]
    AmbiguousKey {
        /// The key name.
        name: String,
        /// The shared key id, hex.
        key_id: String,
    },
    /// A cosignature from a known witness is malformed or does not verify.
    #[error("cosignature by known witness {name}: {reason}")]
    BadCosignature {
        /// The witness key name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A cosignature timestamp above 2^63-1.
    #[error("cosignature timestamp {time} exceeds 2^63-1")]
    TimestampTooLarge {
        /// The timestamp.
        time: u64,
    },
    /// The checkpoint text has too few lines.
    #[error("checkpoint text has {found} line(s); it needs origin, size and root hash lines")]
    CheckpointLines {
        /// Lines found.
        found: usize,
    },
    /// The checkpoint origin is unacceptable.
    #[error("checkpoint line 1 (origin): {reason}")]
    CheckpointOrigin {
        /// What is wrong.
        reason: &'static str,
    },
    /// The checkpoint size has a sign.
    #[error("checkpoint line 2 (size): a '+' sign is not allowed")]
    SizeSign,
    /// The checkpoint size is not a decimal number.
    #[error("checkpoint line 2 (size): {value:?} is not a decimal number")]
    SizeNotDecimal {
        /// The line as found.
        value: String,
    },
    /// The checkpoint size has leading zeros.
    #[error("checkpoint line 2 (size): leading zeros are not allowed")]
    SizeLeadingZeros,
    /// The checkpoint size does not fit in 64 bits.
    #[error("checkpoint line 2 (size): {value} does not fit in 64 bits")]
    SizeOverflow {
        /// The line as found.
        value: String,
    },
    /// The root hash line is not canonical base64.
    #[error("checkpoint line 3 (root hash): {reason}")]
    RootBase64 {
        /// What is wrong with the encoding.
        reason: String,
    },
    /// The root hash is not 32 bytes.
    #[error("checkpoint line 3 (root hash): decodes to {len} bytes; expected 32")]
    RootLength {
        /// Decoded length.
        len: usize,
    },
    /// An extension line is empty.
    #[error("checkpoint line {line} (extension): extension lines must not be empty")]
    EmptyExtension {
        /// 1-based line number.
        line: usize,
    },
    /// An extension string holds a newline, which would split it into several lines.
    #[error("checkpoint extension {index}: contains a newline")]
    ExtensionNewline {
        /// 0-based index into `extensions`.
        index: usize,
    },
    /// A signed checkpoint's fields disagree with the note text that was signed.
    #[error("checkpoint fields do not match the signed note text")]
    CheckpointMismatch,
}

/// Explains why `name` is not a valid key name, if it is not.
fn key_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.chars().any(char::is_whitespace) {
        Some("contains whitespace")
    } else if name.contains('+') {
        Some("contains '+'")
    } else if name.chars().any(char::is_control) {
        // A control character would make every note signed under the name unparseable.
        Some("contains a control character")
    } else {
        None
    }
}

/// Checks a key name: non-empty, no Unicode whitespace, no '+', no control characters.
pub fn validate_key_name(name: &str) -> Result<(), NoteError> {
    match key_name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(NoteError::InvalidKeyName {
            name: name.to_string(),
            reason,
        }),
    }
}

/// Key id = SHA-256(name || 0x0A || alg || public key)\[:4\].
pub fn key_id(name: &str, alg: u8, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, alg]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Decodes padded standard base64, accepting only the canonical encoding.
///
/// The result is zeroizing because the same decoder reads secret keys.
fn b64_decode(s: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    use base64::DecodeError;
    if s.is_empty() {
        return Err("empty base64".into());
    }
    // Reasons carry offsets but never the offending byte, which may belong to a secret.
    let bytes = Zeroizing::new(STANDARD.decode(s).map_err(|e| match e {
        DecodeError::InvalidByte(at, b'=') => format!("misplaced base64 padding at offset {at}"),
        DecodeError::InvalidByte(at, _) => {
            format!("character at offset {at} is not in the standard base64 alphabet")
        }
        DecodeError::InvalidLength(_) => "not a valid base64 length".to_string(),
        DecodeError::InvalidLastSymbol(..) => {
            "non-canonical base64: unused bits of the last character are set".to_string()
        }
        DecodeError::InvalidPadding => "non-canonical base64: padding missing or wrong".to_string(),
    })?);
    // The decoder is configured canonical already; re-encoding keeps that true if the
    // engine's defaults ever change.
    let mut again = Zeroizing::new(String::with_capacity(s.len()));
    STANDARD.encode_string(bytes.as_slice(), &mut again);
    if again.as_str() != s {
        return Err("non-canonical base64".into());
    }
    Ok(bytes)
}

/// Parses exactly 8 lowercase hex digits, the only form `Display` writes.
fn parse_key_id_hex(s: &str) -> Result<[u8; 4], NoteError> {
    let bad = || NoteError::MalformedKey {
        reason: "key id must be 8 lowercase hex digits".into(),
    };
    if s.len() != 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad());
    }
    let mut id = [0u8; 4];
    hex::decode_to_slice(s, &mut id).map_err(|_| bad())?;
    Ok(id)
}

/// Removes one optional trailing newline and refuses any other surrounding whitespace.
fn key_body(s: &str) -> Result<&str, NoteError> {
    let body = s.strip_suffix('\n').unwrap_or(s);
    if body.ends_with(char::is_whitespace) {
        return Err(NoteError::MalformedKey {
            reason: "trailing whitespace after the key".into(),
        });
    }
    if body.starts_with(char::is_whitespace) {
        return Err(NoteError::MalformedKey {
            reason: "leading whitespace before the key".into(),
        });
    }
    Ok(body)
}

/// The fields of a `name+keyid+base64` key string.
struct KeyParts<'a> {
    name: &'a str,
    stated_id: [u8; 4],
    /// Type byte then 32 key bytes; zeroizing because secret keys pass through here.
    material: Zeroizing<Vec<u8>>,
}

/// Splits `name+keyid+base64` (the base64 may itself contain '+').
fn split_key(body: &str) -> Result<KeyParts<'_>, NoteError> {
    let mut parts = body.splitn(3, '+');
    let name = parts.next().unwrap_or_default();
    let (Some(id), Some(material)) = (parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey {
            reason: "expected name+keyid+base64".into(),
        });
    };
    validate_key_name(name)?;
    let id = parse_key_id_hex(id)?;
    let material = b64_decode(material).map_err(|reason| NoteError::MalformedKey {
        reason: format!("key material: {reason}"),
    })?;
    let Some(&alg) = material.first() else {
        return Err(NoteError::MalformedKey {
            reason: "key material is empty".into(),
        });
    };
    check_alg(alg)?;
    if material.len() != 33 {
        return Err(NoteError::MalformedKey {
            reason: format!(
                "Ed25519 key material must be 33 bytes (type byte and 32-byte key), got {}",
                material.len()
            ),
        });
    }
    Ok(KeyParts {
        name,
        stated_id: id,
        material,
    })
}

fn check_alg(alg: u8) -> Result<(), NoteError> {
    if alg == ALG_ED25519 || alg == ALG_COSIGNATURE_V1 {
        Ok(())
    } else {
        Err(NoteError::UnknownAlgorithm { alg })
    }
}

/// Decodes a public key, refusing non-canonical encodings and small-order points.
fn decode_public(name: &str, bytes: &[u8; 32]) -> Result<VerifyingKey, NoteError> {
    let public = VerifyingKey::from_bytes(bytes).map_err(|_| NoteError::MalformedKey {
        reason: "public key is not a valid Ed25519 point".into(),
    })?;
    // A second encoding of the same point would give the same key two key ids.
    if public.to_edwards().compress().to_bytes() != *bytes {
        return Err(NoteError::MalformedKey {
            reason: "public key is not canonically encoded".into(),
        });
    }
    if public.is_weak() {
        return Err(NoteError::WeakKey {
            name: name.to_string(),
        });
    }
    Ok(public)
}

/// A public key that verifies note signatures (type 0x01) or cosignatures (type 0x04).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    /// The key name signature lines carry.
    pub name: String,
    /// SHA-256(name || 0x0A || alg || public)\[:4\].
    pub key_id: [u8; 4],
    /// Signature type byte: [`ALG_ED25519`] or [`ALG_COSIGNATURE_V1`].
    pub alg: u8,
    /// The Ed25519 public key.
    pub public: VerifyingKey,
}

impl VerifierKey {
    /// Builds a verifier key from its parts, deriving the key id.
    pub fn new(name: &str, alg: u8, public: VerifyingKey) -> Result<Self, NoteError> {
        validate_key_name(name)?;
        check_alg(alg)?;
        let public = decode_public(name, public.as_bytes())?;
        let key_id = key_id(name, alg, public.as_bytes());
        Ok(Self {
            name: name.to_string(),
            key_id,
            alg,
            public,
        })
    }

    /// Parses `name+hex8(keyid)+base64(alg || public32)`, with one optional trailing newline.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        if s.starts_with(PRIVATE_PREFIX) {
            return Err(NoteError::MalformedKey {
                reason: "this is a secret key, not a verifier key".into(),
            });
        }
        let body = key_body(s)?;
        let KeyParts {
            name,
            stated_id: stated,
            material,
        } = split_key(body)?;
        let alg = material[0];
        let mut public = [0u8; 32];
        public.copy_from_slice(&material[1..]);
        let verifying = decode_public(name, &public)?;
        let derived = key_id(name, alg, &public);
        if derived != stated {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_string(),
                stated: hex::encode(stated),
                derived: hex::encode(derived),
            });
        }
        Ok(Self {
            name: name.to_string(),
            key_id: derived,
            alg,
            public: verifying,
        })
    }

    /// Verifies an Ed25519 signature with `verify_strict` (no malleable or small-order forms).
    pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        crate::strict::verify_strict(&self.public, msg, sig)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = [0u8; 33];
        material[0] = self.alg;
        material[1..].copy_from_slice(self.public.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            STANDARD.encode(material)
        )
    }
}

/// A secret signing key; its seed is wiped on drop and never printed.
pub struct SignerKey {
    name: String,
    key_id: [u8; 4],
    alg: u8,
    signing: SigningKey,
}

impl SignerKey {
    /// Generates a fresh key from the operating system's random number generator.
    pub fn generate(name: &str, alg: u8) -> Result<Self, NoteError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| NoteError::Random {
            reason: e.to_string(),
        })?;
        Self::build(name, alg, &seed)
    }

    /// Builds a key from a 32-byte Ed25519 seed (RFC 8032 secret key).
    pub fn from_seed(name: &str, alg: u8, mut seed: [u8; 32]) -> Result<Self, NoteError> {
        let key = Self::build(name, alg, &seed);
        seed.zeroize();
        key
    }

    fn build(name: &str, alg: u8, seed: &[u8; 32]) -> Result<Self, NoteError> {
        validate_key_name(name)?;
        check_alg(alg)?;
        let signing = SigningKey::from_bytes(seed);
        let key_id = key_id(name, alg, signing.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_string(),
            key_id,
            alg,
            signing,
        })
    }

    /// Parses `PRIVATE+KEY+name+hex8(keyid)+base64(alg || seed32)`; the key id must match.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let body = key_body(s)?;
        let Some(rest) = body.strip_prefix(PRIVATE_PREFIX) else {
            return Err(NoteError::MalformedKey {
                reason: "a secret key starts with PRIVATE+KEY+".into(),
            });
        };
        let KeyParts {
            name,
            stated_id: stated,
            material,
        } = split_key(rest)?;
        let alg = material[0];
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&material[1..]);
        let key = Self::build(name, alg, &seed)?;
        if key.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_string(),
                stated: hex::encode(stated),
                derived: hex::encode(key.key_id),
            });
        }
        Ok(key)
    }

    /// The secret key string, in a buffer wiped on drop.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let mut material = Zeroizing::new([0u8; 33]);
        material[0] = self.alg;
        material[1..].copy_from_slice(self.signing.as_bytes());
        // Encoding into a fixed buffer keeps the only copies in memory we wipe.
        let mut encoded = Zeroizing::new([0u8; 44]);
        let n = STANDARD
            .encode_slice(material.as_slice(), encoded.as_mut_slice())
            .expect("33 bytes always encode to exactly 44 base64 characters");
        // Sized up front so the string never reallocates and strands a copy.
        let mut out = Zeroizing::new(String::with_capacity(
            PRIVATE_PREFIX.len() + self.name.len() + 1 + 8 + 1 + n,
        ));
        out.push_str(PRIVATE_PREFIX);
        out.push_str(&self.name);
        out.push('+');
        out.push_str(&hex::encode(self.key_id));
        out.push('+');
        for &b in &encoded[..n] {
            out.push(char::from(b));
        }
        out
    }

    /// The matching public verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            alg: self.alg,
            public: self.signing.verifying_key(),
        }
    }

    /// Signs raw bytes with Ed25519 (deterministic).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The signature type byte.
    pub fn alg(&self) -> u8 {
        self.alg
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

// The only secret field is a `SigningKey`, which wipes itself on drop.
impl ZeroizeOnDrop for SignerKey {}

/// Checks characters: no CR, no control characters other than '\n'.
fn check_chars(s: &str) -> Result<(), NoteError> {
    let mut line = 1;
    for c in s.chars() {
        match c {
            '\n' => line += 1,
            '\r' => return Err(NoteError::CarriageReturn { line }),
            // Stricter than the spec's "below U+0020": DEL and C1 controls include
            // terminal escapes, and note text is shown to operators.
            c if c.is_control() => {
                return Err(NoteError::ControlCharacter {
                    line,
                    codepoint: u32::from(c),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks a note text: non-empty, allowed characters, final newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    check_chars(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signing key's name.
    pub name: String,
    /// The signing key's id.
    pub key_id: [u8; 4],
    /// Bytes after the key id: 64 for Ed25519, 8 + 64 for cosignatures.
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, `— name base64(key_id || sig)\n`.
    pub fn to_line(&self) -> String {
        let mut payload = Vec::with_capacity(4 + self.sig.len());
        payload.extend_from_slice(&self.key_id);
        payload.extend_from_slice(&self.sig);
        format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(payload))
    }

    /// Parses one signature line (without its newline); `line` is 1-based, for errors.
    fn parse_line(line: usize, s: &str) -> Result<Self, NoteError> {
        let Some(rest) = s.strip_prefix(SIG_PREFIX) else {
            return Err(if s.starts_with('-') {
                NoteError::SignatureAsciiDash { line }
            } else {
                NoteError::SignaturePrefix { line }
            });
        };
        let Some((name, b64)) = rest.split_once(' ') else {
            return Err(NoteError::SignatureSpacing { line });
        };
        if name.is_empty() || b64.contains(' ') {
            return Err(NoteError::SignatureSpacing { line });
        }
        if let Some(reason) = key_name_problem(name) {
            return Err(NoteError::SignatureKeyName { line, reason });
        }
        let payload =
            b64_decode(b64).map_err(|reason| NoteError::SignatureBase64 { line, reason })?;
        if payload.len() < 5 {
            return Err(NoteError::SignatureTooShort {
                line,
                len: payload.len(),
            });
        }
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&payload[..4]);
        Ok(Self {
            name: name.to_string(),
            key_id,
            sig: payload[4..].to_vec(),
        })
    }
}

/// A signed note: text and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// Signature lines in order of appearance, known and unknown.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note strictly, without verifying any signature.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        let s = std::str::from_utf8(bytes).map_err(|e| NoteError::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        if s.is_empty() {
            return Err(NoteError::EmptyText);
        }
        check_chars(s)?;
        if !s.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        // The text may contain blank lines; the last one starts the signatures.
        let Some(split) = s.rfind("\n\n") else {
            return Err(NoteError::MissingBlankLine);
        };
        let (text, sigs) = (&s[..=split], &s[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let count = sigs.matches('\n').count();
        if count > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count,
                max: MAX_SIGNATURES,
            });
        }
        let signatures = sigs
            .strip_suffix('\n')
            .unwrap_or(sigs)
            .split('\n')
            .enumerate()
            .map(|(i, line)| NoteSignature::parse_line(i + 1, line))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            text: text.to_string(),
            signatures,
        })
    }

    /// The note's serialized bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Signs `text` with each signer, in order; signers must be type 0x01 keys.
    pub fn sign(text: &str, signers: &[&SignerKey]) -> Result<Self, NoteError> {
        check_text(text)?;
        if signers.is_empty() {
            return Err(NoteError::NoSigners);
        }
        if signers.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count: signers.len(),
                max: MAX_SIGNATURES,
            });
        }
        let signatures = signers
            .iter()
            .map(|s| {
                if s.alg != ALG_ED25519 {
                    return Err(NoteError::WrongKeyType {
                        name: s.name.clone(),
                        alg: s.alg,
                        expected: ALG_ED25519,
                    });
                }
                Ok(NoteSignature {
                    name: s.name.clone(),
                    key_id: s.key_id,
                    sig: s.sign(text.as_bytes()).to_vec(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            text: text.to_string(),
            signatures,
        })
    }

    /// Verifies the signatures of known type-0x01 keys and returns the keys that verified.
    ///
    /// Signatures from unknown keys are ignored; one failing known signature rejects the
    /// whole note, and so does having no known signature at all.
    pub fn verify<'k>(&self, known: &'k [VerifierKey]) -> Result<Vec<&'k VerifierKey>, NoteError> {
        let mut verified: Vec<&VerifierKey> = Vec::new();
        for sig in &self.signatures {
            let Some(key) = find_key(known, ALG_ED25519, sig)? else {
                continue;
            };
            let ok = <&[u8; 64]>::try_from(sig.sig.as_slice())
                .is_ok_and(|s| key.verify(self.text.as_bytes(), s));
            if !ok {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                });
            }
            if !verified.contains(&key) {
                verified.push(key);
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }
}

/// The known key of type `alg` matching a signature line's name and key id, if any.
fn find_key<'k>(
    known: &'k [VerifierKey],
    alg: u8,
    sig: &NoteSignature,
) -> Result<Option<&'k VerifierKey>, NoteError> {
    let mut found: Option<&VerifierKey> = None;
    for k in known
        .iter()
        .filter(|k| k.alg == alg && k.key_id == sig.key_id && k.name == sig.name)
    {
        match found {
            None => found = Some(k),
            Some(prev) if prev.public == k.public => {}
            Some(_) => {
                return Err(NoteError::AmbiguousKey {
                    name: sig.name.clone(),
                    key_id: hex::encode(sig.key_id),
                });
            }
        }
    }
    Ok(found)
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.to_line())?;
        }
        Ok(())
    }
}

/// A transparency log checkpoint (the note text of a signed tree head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, conventionally a schema-less URL.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 Merkle tree root hash.
    pub root: [u8; 32],
    /// Opaque extension lines, without newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint note text: origin, size and base64 root lines, then extensions.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses checkpoint note text strictly.
    pub fn parse_text(text: &str) -> Result<Self, NoteError> {
        check_chars(text)?;
        if text.is_empty() {
            return Err(NoteError::CheckpointLines { found: 0 });
        }
        let Some(body) = text.strip_suffix('\n') else {
            return Err(NoteError::MissingFinalNewline);
        };
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(NoteError::CheckpointLines { found: lines.len() });
        };
        if let Some(reason) = origin_problem(origin) {
            return Err(NoteError::CheckpointOrigin { reason });
        }
        let size = parse_size(size)?;
        let root_bytes = b64_decode(root).map_err(|reason| NoteError::RootBase64 { reason })?;
        let root: [u8; 32] =
            root_bytes
                .as_slice()
                .try_into()
                .map_err(|_| NoteError::RootLength {
                    len: root_bytes.len(),
                })?;
        if let Some(i) = extensions.iter().position(|e| e.is_empty()) {
            return Err(NoteError::EmptyExtension { line: i + 4 });
        }
        Ok(Self {
            origin: (*origin).to_string(),
            size,
            root,
            extensions: extensions.iter().map(|e| (*e).to_string()).collect(),
        })
    }

    /// Checks that [`Checkpoint::to_text`] would parse back to exactly this checkpoint.
    pub fn validate(&self) -> Result<(), NoteError> {
        if let Some(reason) = origin_problem(&self.origin) {
            return Err(NoteError::CheckpointOrigin { reason });
        }
        if let Some(index) = self.extensions.iter().position(|e| e.contains('\n')) {
            return Err(NoteError::ExtensionNewline { index });
        }
        if Self::parse_text(&self.to_text())? != *self {
            return Err(NoteError::CheckpointMismatch);
        }
        Ok(())
    }
}

/// Origins may contain '+' (the spec only discourages it) but never whitespace.
fn origin_problem(origin: &str) -> Option<&'static str> {
    if origin.is_empty() {
        Some("is empty")
    } else if origin.chars().any(char::is_whitespace) {
        Some("contains whitespace")
    } else {
        None
    }
}

/// Parses a tree size: ASCII decimal, no sign, no leading zeros, fits in u64.
fn parse_size(s: &str) -> Result<u64, NoteError> {
    if s.starts_with('+') {
        return Err(NoteError::SizeSign);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NoteError::SizeNotDecimal {
            value: s.to_string(),
        });
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(NoteError::SizeLeadingZeros);
    }
    s.parse().map_err(|_| NoteError::SizeOverflow {
        value: s.to_string(),
    })
}

/// A checkpoint and the signed note that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed checkpoint (always equal to the parse of `note.text`).
    pub checkpoint: Checkpoint,
    /// The note whose text is the checkpoint.
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint note without verifying signatures.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_text(&note.text)?;
        Ok(Self { checkpoint, note })
    }

    /// Signs a checkpoint with a type-0x01 key.
    pub fn sign(checkpoint: Checkpoint, signer: &SignerKey) -> Result<Self, NoteError> {
        checkpoint.validate()?;
        let note = Note::sign(&checkpoint.to_text(), &[signer])?;
        Ok(Self { checkpoint, note })
    }

    /// Verifies the checkpoint's note signatures (see [`Note::verify`]).
    pub fn verify<'k>(&self, known: &'k [VerifierKey]) -> Result<Vec<&'k VerifierKey>, NoteError> {
        self.check_consistent()?;
        self.note.verify(known)
    }

    /// The serialized signed checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }

    /// Appends a signature line (e.g. a cosignature); an identical line is not added twice.
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        validate_key_name(&sig.name)?;
        if sig.sig.is_empty() {
            return Err(NoteError::SignatureTooShort {
                line: self.note.signatures.len() + 1,
                len: 4,
            });
        }
        if self.note.signatures.contains(&sig) {
            return Ok(());
        }
        if self.note.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count: self.note.signatures.len() + 1,
                max: MAX_SIGNATURES,
            });
        }
        self.note.signatures.push(sig);
        Ok(())
    }

    /// The public fields can be edited after parsing; refuse to vouch for edited ones.
    fn check_consistent(&self) -> Result<(), NoteError> {
        if Checkpoint::parse_text(&self.note.text)? != self.checkpoint {
            return Err(NoteError::CheckpointMismatch);
        }
        Ok(())
    }
}

/// The bytes a `cosignature/v1` signature covers.
fn cosignature_message(text: &str, time: u64) -> Vec<u8> {
    format!("{COSIGNATURE_HEADER}time {time}\n{text}").into_bytes()
}

/// Cosigns a checkpoint as a witness (type-0x04 key) at `unix_time` seconds.
pub fn cosign(
    cp: &SignedCheckpoint,
    witness: &SignerKey,
    unix_time: u64,
) -> Result<NoteSignature, NoteError> {
    if witness.alg != ALG_COSIGNATURE_V1 {
        return Err(NoteError::WrongKeyType {
            name: witness.name.clone(),
            alg: witness.alg,
            expected: ALG_COSIGNATURE_V1,
        });
    }
    if unix_time > MAX_TIMESTAMP {
        return Err(NoteError::TimestampTooLarge { time: unix_time });
    }
    cp.check_consistent()?;
    let sig = witness.sign(&cosignature_message(&cp.note.text, unix_time));
    let mut payload = Vec::with_capacity(COSIGNATURE_LEN);
    payload.extend_from_slice(&unix_time.to_be_bytes());
    payload.extend_from_slice(&sig);
    Ok(NoteSignature {
        name: witness.name.clone(),
        key_id: witness.key_id,
        sig: payload,
    })
}

/// Verifies cosignatures from known witnesses (type-0x04 keys).
///
/// Returns each witness whose cosignature verified, once, with its latest timestamp, in
/// order of first appearance. Lines from unknown keys are ignored; a known witness's
/// cosignature that is malformed or fails to verify is an error. Finding none is not an
/// error: how many witnesses suffice is the caller's policy.
pub fn verify_cosignatures(
    cp: &SignedCheckpoint,
    witnesses: &[VerifierKey],
) -> Result<Vec<(String, u64)>, NoteError> {
    cp.check_consistent()?;
    let mut out: Vec<(&VerifierKey, u64)> = Vec::new();
    for sig in &cp.note.signatures {
        let Some(w) = find_key(witnesses, ALG_COSIGNATURE_V1, sig)? else {
            continue;
        };
        let bad = |reason: String| NoteError::BadCosignature {
            name: sig.name.clone(),
            reason,
        };
        let Ok(payload) = <&[u8; COSIGNATURE_LEN]>::try_from(sig.sig.as_slice()) else {
            return Err(bad(format!(
                "expected {COSIGNATURE_LEN} bytes after the key id (8-byte timestamp, 64-byte signature), got {}",
                sig.sig.len()
            )));
        };
        let (time, signature) = payload.split_at(8);
        let mut time_bytes = [0u8; 8];
        time_bytes.copy_from_slice(time);
        let time = u64::from_be_bytes(time_bytes);
        if time > MAX_TIMESTAMP {
            return Err(bad(format!("timestamp {time} exceeds 2^63-1")));
        }
        let mut sig64 = [0u8; 64];
        sig64.copy_from_slice(signature);
        if !w.verify(&cosignature_message(&cp.note.text, time), &sig64) {
            return Err(bad("signature does not verify".into()));
        }
        match out.iter_mut().find(|(k, _)| *k == w) {
            Some((_, t)) => *t = (*t).max(time),
            None => out.push((w, time)),
        }
    }
    Ok(out.into_iter().map(|(k, t)| (k.name.clone(), t)).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn note_b64_rejects_non_canonical_forms() {
        assert_eq!(b64_decode("AA==").unwrap().as_slice(), &[0]);
        assert!(b64_decode("AB==").unwrap_err().contains("unused bits"));
        assert!(b64_decode("AA").unwrap_err().contains("padding"));
        assert!(b64_decode("AA=").is_err());
        assert!(b64_decode("AA===").is_err());
        assert!(b64_decode("A A=").is_err());
        assert!(b64_decode("AA==\n").is_err());
        assert!(b64_decode("").is_err());
        assert!(b64_decode("AA-_").is_err());
    }

    #[test]
    fn note_key_name_rules() {
        assert!(validate_key_name("example.com/log").is_ok());
        assert!(validate_key_name("ünïcödé").is_ok());
        for bad in [
            "",
            "a b",
            "a+b",
            "a\u{a0}b",
            "a\u{2003}b",
            "a\tb",
            "a\u{7f}b",
            "\n",
        ] {
            assert!(validate_key_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn note_signer_debug_hides_secret() {
        let k = SignerKey::from_seed("debug.example", ALG_ED25519, [7u8; 32]).unwrap();
        let dbg = format!("{k:?}");
        assert!(dbg.contains("debug.example"));
        assert!(!dbg.contains(&hex::encode([7u8; 32])));
        assert!(!dbg.contains("0707"));
        assert!(!dbg.contains(&k.to_secret_string()[12..]));
    }
}
