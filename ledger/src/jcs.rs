//! A one-pass check that bytes are already in RFC 8785 canonical form.
//!
//! Verification must confirm that every stored payload (and envelope) is exactly the canonical
//! serialization of the JSON value it holds. Parsing into a `serde_json::Value` and serializing
//! again answers that, but allocates a tree per entry; over a whole ledger that costs more than
//! the hashing. [`is_canonical`] reads the bytes once, without building anything, and answers
//! `true` only when they are canonical: no insignificant white space; object members sorted by
//! their names' UTF-16 code units, with no name twice; strings escaped exactly as RFC 8785
//! §3.2.2.2 writes them; numbers exactly as ECMAScript's `Number.prototype.toString` writes the
//! IEEE 754 double they denote (ryu-js, as the canonicalizer vigil writes with).
//!
//! It is a fast path, not a second definition: callers that get `false` fall back to the
//! parse-and-reserialize check, which also says what is wrong. Very deep nesting also answers
//! `false`, so the fallback's limits apply to it.

use std::borrow::Cow;

/// Nesting deeper than this is left to the full check.
const MAX_DEPTH: usize = 64;

/// Whether `bytes` are one JSON value in RFC 8785 canonical form (see the module docs).
#[must_use]
pub fn is_canonical(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut c = Cursor {
        b: text.as_bytes(),
        text,
        at: 0,
    };
    c.value(0) && c.at == c.b.len()
}

struct Cursor<'a> {
    b: &'a [u8],
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.b[self.at..].starts_with(lit) {
            self.at += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => depth < MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.eat(b"true"),
            Some(b'f') => self.eat(b"false"),
            Some(b'n') => self.eat(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b"]") {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b"]") {
                return true;
            }
            if !self.eat(b",") {
                return false;
            }
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b"}") {
            return true;
        }
        let mut previous: Option<Cow<'a, str>> = None;
        loop {
            if self.peek() != Some(b'"') {
                return false;
            }
            let Some(raw) = self.string() else {
                return false;
            };
            // Members sort by the names' text, so escapes are undone first (rare in names).
            let name = unescape(raw);
            if let Some(p) = &previous
                && !utf16_less(p, &name)
            {
                return false;
            }
            previous = Some(name);
            if !self.eat(b":") || !self.value(depth) {
                return false;
            }
            if self.eat(b"}") {
                return true;
            }
            if !self.eat(b",") {
                return false;
            }
        }
    }

    /// A string in canonical form; returns its raw contents (between the quotes, escapes kept).
    fn string(&mut self) -> Option<&'a str> {
        self.at += 1;
        let start = self.at;
        loop {
            let byte = *self.b.get(self.at)?;
            match byte {
                b'"' => {
                    let raw = &self.text[start..self.at];
                    self.at += 1;
                    return Some(raw);
                }
                0x00..=0x1f => return None,
                b'\\' => {
                    let esc = *self.b.get(self.at + 1)?;
                    match esc {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => self.at += 2,
                        b'u' => {
                            // Only controls without a short form are written as \u00xx
                            // (lowercase hex); anything else is written raw.
                            let hex = self.b.get(self.at + 2..self.at + 6)?;
                            if hex[0] != b'0' || hex[1] != b'0' {
                                return None;
                            }
                            let digit = |d: u8| match d {
                                b'0'..=b'9' => Some(d - b'0'),
                                b'a'..=b'f' => Some(d - b'a' + 10),
                                _ => None,
                            };
                            let code = digit(hex[2])? * 16 + digit(hex[3])?;
                            if code >= 0x20 || matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            self.at += 6;
                        }
                        _ => return None,
                    }
                }
                _ => self.at += 1,
            }
        }
    }

    fn number(&mut self) -> bool {
        let start = self.at;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        let token = &self.text[start..self.at];
        // JSON's grammar first (Rust's parser also takes forms JSON does not, like "1." or
        // "+1"); then the token must be the shortest ECMAScript form of its double.
        if !json_number(token.as_bytes()) {
            return false;
        }
        match token.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                let mut buf = ryu_js::Buffer::new();
                buf.format_finite(v) == token
            }
            _ => false,
        }
    }
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
fn json_number(t: &[u8]) -> bool {
    let mut i = usize::from(t.first() == Some(&b'-'));
    match t.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(t.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return false,
    }
    if t.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        while matches!(t.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == from {
            return false;
        }
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let from = i;
        while matches!(t.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == from {
            return false;
        }
    }
    i == t.len()
}

/// The text of a string's contents already checked by [`Cursor::string`] (so every escape is
/// one of the canonical ones).
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('f') => out.push('\u{c}'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

/// `a < b` comparing UTF-16 code units (RFC 8785 §3.2.3). For ASCII, and wherever neither
/// side leaves the Basic Multilingual Plane, that is byte order of the UTF-8 text.
fn utf16_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a < b;
    }
    a.encode_utf16().lt(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition: parse, serialize canonically, compare.
    fn slow(bytes: &[u8]) -> bool {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| serde_json_canonicalizer::to_vec(&v).ok())
            .is_some_and(|c| c == bytes)
    }

    #[test]
    fn accepts_canonical_forms() {
        for ok in [
            r#"{}"#,
            r#"[]"#,
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            r#"{"numbers":[0,-1,1.5,0.1,1e+21,1e-7,123456789012,-0.000001,9007199254740991]}"#,
            r#""\u0000\u001f\b\t\n\f\r\"\\/ é 😀""#,
            // RFC 8785 §3.2.3: sorted by UTF-16 code units, so U+1F600 (D83D..) sorts
            // before U+FB33 although its UTF-8 bytes sort after.
            "{\"\u{20ac}\":1,\"\u{1f600}\":2,\"\u{fb33}\":3}",
            r#"{"":0,"a":0,"aa":0,"b":0}"#,
        ] {
            assert!(is_canonical(ok.as_bytes()), "{ok}");
            assert!(slow(ok.as_bytes()), "definition disagrees on {ok}");
        }
    }

    #[test]
    fn rejects_what_is_not_canonical() {
        for bad in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":1}"#,
            r#"{ "a":1}"#,
            "[1,2]\n",
            r#"[1.0]"#,
            r#"[1E3]"#,
            r#"[-0]"#,
            r#"[01]"#,
            r#"[1e21]"#,
            r#"[0.10]"#,
            r#"[9007199254740993]"#,
            r#""\/""#,
            r#""\u0041""#,
            r#""\u001F""#,
            r#""\u000a""#,
            r#""\ud83d\ude00""#,
            r#"[tru]"#,
            r#"{"a":1}{}"#,
            r#"[1,]"#,
            r#"{"a"}"#,
            "\"\u{1}\"",
            "{\"\u{fb33}\":1,\"\u{1f600}\":2}",
            "",
        ] {
            assert!(!is_canonical(bad.as_bytes()), "{bad:?}");
        }
        assert!(!is_canonical(&[b'"', 0xff, b'"']));
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(!is_canonical(deep.as_bytes()));
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,8}|[\\x00-\\x20\"\\\\/]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("\\PC{0,4}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever the canonicalizer writes is accepted.
        #[test]
        fn canonical_output_is_accepted(v in json_value()) {
            let bytes = serde_json_canonicalizer::to_vec(&v).unwrap();
            prop_assert!(is_canonical(&bytes), "{}", String::from_utf8_lossy(&bytes));
        }

        /// Plain serde_json output (unsorted members, other number forms, other escapes) is
        /// accepted exactly when the definition accepts it.
        #[test]
        fn agrees_with_the_definition(v in json_value()) {
            let bytes = serde_json::to_vec(&v).unwrap();
            prop_assert_eq!(is_canonical(&bytes), slow(&bytes), "{}", String::from_utf8_lossy(&bytes));
        }

        /// The payload canonicalizer's fast path (serde_json output the check accepts) gives
        /// exactly the full canonicalizer's bytes.
        #[test]
        fn canonical_payload_equals_the_canonicalizer(v in json_value()) {
            let want = serde_json_canonicalizer::to_vec(&v).unwrap();
            prop_assert_eq!(crate::entry::canonical_payload(&v).unwrap(), want);
        }

        /// Never accepts what the definition rejects, on arbitrary edits of canonical text.
        #[test]
        fn edits_are_never_wrongly_accepted(
            v in json_value(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![Just(b' '), Just(b'0'), Just(b'.'), Just(b'e'), Just(b'\\'), Just(b'"'), Just(b','), any::<u8>()],
            insert in any::<bool>(),
        ) {
            let mut bytes = serde_json_canonicalizer::to_vec(&v).unwrap();
            let i = at.index(bytes.len() + 1);
            if insert || i == bytes.len() {
                bytes.insert(i, byte);
            } else {
                bytes[i] = byte;
            }
            if is_canonical(&bytes) {
                prop_assert!(slow(&bytes), "accepted {}", String::from_utf8_lossy(&bytes));
            }
        }
    }
}
