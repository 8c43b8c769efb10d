//! The fast path for one NDJSON line: the record parsed into the folded map that
//! [`map::map_record`] reads, keeping only the members it reads, so that the many members vigil
//! does not use (and the parts of `appliedConditionalAccessPolicies` and
//! `authenticationDetails` it does not use) are scanned, never built.
//!
//! Mapping stays in one place ([`map::map_record`]); this module only decides which members to
//! keep. It handles the common case and declines (`None`) every record it cannot handle
//! exactly as the general path ([`super::json`]) does, which then reads the line again:
//! anything but one object on the line, a page or blob (`value`, `records`) or a Log Analytics
//! response (`tables`), a duplicate key anywhere in the record (the general path reports it),
//! a shape the pruning does not expect, a record without an id (its derived id hashes the
//! whole record), a record of another diagnostic category, and a field error (the general
//! path words it). A differential test checks that both paths give the same result.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::json::{Container, Receiver, ValueSeed};
use super::map::{self, Mapped};
use super::time::DateOrder;
use crate::model::LoggedPolicy;

/// Keys (folded) that [`map::map_record`] reads at a record's top level, in a diagnostic
/// record's `properties`, or in a PowerShell `AdditionalProperties` bag (kept whole). Like the
/// other key lists here, sorted (so a pruned object is built from its members in key order,
/// [`PrunedSeed`]) and at most 64 long (its members are told apart by a bit mask).
const RECORD_KEYS: &[&str] = &[
    "additionalproperties",
    "appdisplayname",
    "appid",
    "appliedconditionalaccesspolicies",
    "appownertenantid",
    "authenticationcontextclassreferences",
    "authenticationdetails",
    "authenticationmethodsused",
    "authenticationprotocol",
    "authenticationrequirement",
    "calleripaddress",
    "category",
    "clientappused",
    "clientcredentialtype",
    "conditionalaccesspolicies",
    "conditionalaccessstatus",
    "correlationid",
    "createddatetime",
    "crosstenantaccesstype",
    "devicedetail",
    "hometenantid",
    "id",
    "ipaddress",
    "isinteractive",
    "location",
    "locationdetails",
    "mfadetail",
    "networklocationdetails",
    "originaltransfermethod",
    "properties",
    "resourcedisplayname",
    "resourceid",
    "resourceidentity",
    "resourcetenantid",
    "resultdescription",
    "resulttype",
    "riskeventtypes",
    "riskeventtypes_v2",
    "risklevelaggregated",
    "risklevelduringsignin",
    "riskstate",
    "serviceprincipalid",
    "serviceprincipalname",
    "signineventtypes",
    "status",
    "time",
    "timegenerated",
    "type",
    "useragent",
    "userid",
    "userprincipalname",
    "usertype",
];

/// Keys read from each `appliedConditionalAccessPolicies` entry.
const POLICY_KEYS: &[&str] = &[
    "displayname",
    "enforcedgrantcontrols",
    "enforcedsessioncontrols",
    "id",
    "result",
];

/// Keys read from each `authenticationDetails` step.
const STEP_KEYS: &[&str] = &[
    "authenticationmethod",
    "authenticationsteprequirement",
    "authenticationstepresultdetail",
    "succeeded",
];

/// Top-level keys that make the general path read the object as something other than one
/// record (a page, a blob, a Log Analytics response).
const CONTAINER_KEYS: &[&str] = &["value", "records", "tables"];

/// Why the fast path declined (the message never reaches the user).
pub(crate) const DECLINED: &str = "vigil: fast path declined";

/// Notes duplicate keys met by [`ValueSeed`] in the members kept whole.
#[derive(Default)]
struct DuplicateFlag(bool);

impl Receiver for DuplicateFlag {
    fn duplicate_key(&mut self, _: &str) {
        self.0 = true;
    }
    fn line(&self) -> usize {
        0
    }
    fn record(&mut self, _: Value, _: Container, _: usize) -> Result<(), ()> {
        Err(())
    }
}

/// Maps one NDJSON line (a file in line mode) through the fast path; `None` when the general
/// path must read it.
pub(crate) fn map_line(bytes: &[u8], order: DateOrder) -> Option<Mapped> {
    map_one(bytes, Container::Single, order)
}

/// Maps one element of a Graph list page's `value` array through the fast path; `None` when
/// the general path must read the page.
pub(crate) fn map_element(bytes: &[u8], order: DateOrder) -> Option<Mapped> {
    map_one(bytes, Container::GraphPage, order)
}

fn map_one(bytes: &[u8], container: Container, order: DateOrder) -> Option<Mapped> {
    let (object, applied) = pruned(bytes)?;
    match map::map_record_with(&object, container, true, order, applied) {
        Ok(
            mapped @ Mapped::SignIn {
                derived_id: false, ..
            },
        ) => Some(mapped),
        _ => None,
    }
}

/// A pruned record, and its policies when read straight into them (see [`pruned`]).
type Pruned = (Map<String, Value>, Option<Vec<LoggedPolicy>>);

/// The record on `bytes` pruned ([`PrunedSeed`]), with its `appliedConditionalAccessPolicies`
/// already read into policies when it is a plain list at the record's top level (the common
/// case: the list is most of a Graph record, and building it as JSON values first would cost
/// more than the rest of the record); `None` when the general path must read it.
fn pruned(bytes: &[u8]) -> Option<Pruned> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    // UTF-8 checked once for the whole record rather than string by string (text that is not
    // UTF-8 is the general path's error to word).
    let text = std::str::from_utf8(bytes).ok()?;
    let mut flag = DuplicateFlag::default();
    let mut applied = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let object = PrunedSeed {
        keys: RECORD_KEYS,
        top: true,
        flag: &mut flag,
        applied: Some(&mut applied),
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    // In a diagnostic record the signIn fields are read from `properties`, not the envelope.
    if flag.0 || (applied.is_some() && object.contains_key("properties")) {
        return None;
    }
    Some((object, applied))
}

/// The byte ranges of the elements of one or more Graph list pages (`{"value":[...]}`) back to
/// back in `bytes` (`single`: exactly one page, as an NDJSON line must hold), or `None` when
/// the general path must read them: anything but objects with one `value` array of objects
/// (`records` is a blob; a repeated key, folded, is reported by the general path), no element
/// at all, or a member besides `value` that is not valid JSON or repeats a key.
///
/// Only the structure between the elements is checked here; each element is parsed whole by
/// [`map_element`], which declines anything but exactly one valid record, so a page is taken
/// only when the general path would read the same records from it without a note.
pub(crate) fn page_elements(bytes: &[u8], single: bool) -> Option<Vec<(usize, usize)>> {
    let mut s = Scanner { bytes, at: 0 };
    let mut elements = Vec::new();
    let mut pages = 0usize;
    loop {
        s.blank();
        if s.at == bytes.len() {
            break;
        }
        if single && pages == 1 {
            return None;
        }
        s.expect(b'{')?;
        pages += 1;
        let mut keys: Vec<String> = Vec::new();
        loop {
            s.blank();
            let key_at = s.at;
            s.string()?;
            let key: String = serde_json::from_slice(&bytes[key_at..s.at]).ok()?;
            let key = key.to_ascii_lowercase();
            if keys.contains(&key) || key == "records" {
                return None;
            }
            s.blank();
            s.expect(b':')?;
            s.blank();
            if key == "value" {
                s.expect(b'[')?;
                s.blank();
                if s.peek()? == b']' {
                    s.at += 1;
                } else {
                    loop {
                        s.blank();
                        if s.peek()? != b'{' {
                            return None;
                        }
                        let start = s.at;
                        s.skip()?;
                        elements.push((start, s.at));
                        s.blank();
                        match s.next()? {
                            b',' => {}
                            b']' => break,
                            _ => return None,
                        }
                    }
                }
            } else {
                let start = s.at;
                s.skip()?;
                let mut de = serde_json::Deserializer::from_slice(&bytes[start..s.at]);
                Scan.deserialize(&mut de).ok()?;
                de.end().ok()?;
            }
            keys.push(key);
            s.blank();
            match s.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        if !keys.iter().any(|k| k == "value") {
            return None;
        }
    }
    (!elements.is_empty()).then_some(elements)
}

/// A cursor over JSON text that finds where values end without parsing them.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// Skips JSON whitespace.
    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Skips a string, from its opening quote to past its closing one.
    fn string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            let i = memchr::memchr2(b'"', b'\\', self.bytes.get(self.at..)?)?;
            self.at += i + 1;
            if self.bytes[self.at - 1] == b'"' {
                return Some(());
            }
            // An escape: the next byte is escaped (a `\uXXXX` has no quote or backslash after it).
            self.at += 1;
        }
    }

    /// Skips one value: a string, an object or array to its matching close, or a scalar to the
    /// next delimiter.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => self.string()?,
                        b'{' | b'[' => {
                            depth += 1;
                            self.at += 1;
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            self.at += 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => self.at += 1,
                    }
                }
            }
            _ => {
                let rest = self.bytes.get(self.at..)?;
                let n = rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                    .unwrap_or(rest.len());
                self.at += n;
                (n > 0).then_some(())
            }
        }
    }
}

/// A key as written, borrowed from the input when it has no escapes.
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Whether `key` repeats one of `seen` (ASCII case folded, as the general path folds keys).
pub(crate) fn repeats(seen: &[Cow<str>], key: &str) -> bool {
    seen.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// An object kept with only the members named in `keys` (folded); the others are scanned for
/// duplicate keys and dropped.
struct PrunedSeed<'f> {
    keys: &'static [&'static str],
    /// The record's own top level (where container keys mean something else).
    top: bool,
    flag: &'f mut DuplicateFlag,
    /// Where a top-level `appliedConditionalAccessPolicies` list is read to ([`PoliciesSeed`]).
    applied: Option<&'f mut Option<Vec<LoggedPolicy>>>,
}

impl<'de> DeserializeSeed<'de> for PrunedSeed<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PrunedSeed<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut access: A) -> Result<Self::Value, A::Error> {
        // The kept members by their place in `keys` (sorted), so that the map is built from
        // them in key order at the end, rather than by one search of it per member.
        let mut members: Vec<(usize, Value)> = Vec::with_capacity(self.keys.len());
        let mut kept_mask = 0u64;
        let mut dropped: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            let Some((index, kept)) = self
                .keys
                .iter()
                .enumerate()
                .find(|(_, k)| k.eq_ignore_ascii_case(&key))
                .map(|(i, k)| (i, *k))
            else {
                if (self.top && CONTAINER_KEYS.iter().any(|k| k.eq_ignore_ascii_case(&key)))
                    || repeats(&dropped, &key)
                {
                    return Err(de::Error::custom(DECLINED));
                }
                access.next_value_seed(Scan)?;
                dropped.push(key);
                continue;
            };
            let value = match kept {
                "appliedconditionalaccesspolicies" if self.applied.is_some() => {
                    let policies = access.next_value_seed(PoliciesSeed)?;
                    match self.applied.as_deref_mut() {
                        Some(slot @ None) => *slot = Some(policies),
                        _ => return Err(de::Error::custom(DECLINED)),
                    }
                    continue;
                }
                // (Names only RECORD_KEYS holds: policies and steps keep plain members.)
                "appliedconditionalaccesspolicies" | "conditionalaccesspolicies" => access
                    .next_value_seed(ListSeed {
                        keys: POLICY_KEYS,
                        flag: &mut *self.flag,
                    })?,
                "authenticationdetails" => access.next_value_seed(ListSeed {
                    keys: STEP_KEYS,
                    flag: &mut *self.flag,
                })?,
                "properties" if self.top => access.next_value_seed(PropertiesSeed {
                    flag: &mut *self.flag,
                })?,
                _ => access.next_value_seed(ValueSeed {
                    receiver: &mut *self.flag,
                })?,
            };
            let bit = 1u64 << index;
            if kept_mask & bit != 0 {
                return Err(de::Error::custom(DECLINED));
            }
            kept_mask |= bit;
            members.push((index, value));
        }
        members.sort_unstable_by_key(|(i, _)| *i);
        let keys = self.keys;
        Ok(members
            .into_iter()
            .map(|(i, v)| (keys[i].to_string(), v))
            .collect())
    }
}

/// A diagnostic record's `properties`: an object is pruned like the record; a string (some
/// Event Hub consumers store the object as JSON text) or null is kept; anything else declines.
struct PropertiesSeed<'f> {
    flag: &'f mut DuplicateFlag,
}

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or a string")
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Value, A::Error> {
        PrunedSeed {
            keys: RECORD_KEYS,
            top: false,
            flag: self.flag,
            applied: None,
        }
        .visit_map(access)
        .map(Value::Object)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// A list of objects each pruned to `keys`; a string (Log Analytics writes nested columns as
/// JSON text) or null is kept; anything else declines.
struct ListSeed<'f> {
    keys: &'static [&'static str],
    flag: &'f mut DuplicateFlag,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(PrunedSeed {
            keys: self.keys,
            top: false,
            flag: &mut *self.flag,
            applied: None,
        })? {
            items.push(Value::Object(item));
        }
        Ok(Value::Array(items))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// A top-level `appliedConditionalAccessPolicies` list read straight into policies, as
/// [`map`] reads them, for the plain shape only: a list of objects whose `id` and `result` are
/// non-blank strings, `displayName` a string or null, and the control lists lists of strings
/// or nulls (or null). Anything else (numbers, JSON in strings, a repeated key, ...) declines,
/// and the general path words any error.
struct PoliciesSeed;

impl<'de> DeserializeSeed<'de> for PoliciesSeed {
    type Value = Vec<LoggedPolicy>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PoliciesSeed {
    type Value = Vec<LoggedPolicy>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of policies")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16));
        while let Some(p) = seq.next_element_seed(PolicySeed)? {
            out.push(p);
        }
        Ok(out)
    }
}

/// One policy of [`PoliciesSeed`].
struct PolicySeed;

impl<'de> DeserializeSeed<'de> for PolicySeed {
    type Value = LoggedPolicy;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PolicySeed {
    type Value = LoggedPolicy;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a policy")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let declined = || de::Error::custom(DECLINED);
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        let (mut id, mut name, mut result) = (None, None, None);
        let (mut grant, mut session) = (Vec::new(), Vec::new());
        while let Some(key) = access.next_key_seed(KeySeed)? {
            if repeats(&seen, &key) {
                return Err(declined());
            }
            let kept = POLICY_KEYS.iter().find(|k| k.eq_ignore_ascii_case(&key));
            match kept.copied() {
                Some("id") => id = access.next_value_seed(TextSeed)?,
                Some("displayname") => name = access.next_value_seed(TextSeed)?,
                Some("result") => result = access.next_value_seed(TextSeed)?,
                Some("enforcedgrantcontrols") => grant = access.next_value_seed(TextsSeed)?,
                Some("enforcedsessioncontrols") => session = access.next_value_seed(TextsSeed)?,
                _ => access.next_value_seed(Scan)?,
            }
            seen.push(key);
        }
        Ok(LoggedPolicy {
            id: id.ok_or_else(declined)?,
            display_name: name,
            result: result.ok_or_else(declined)?,
            enforced_grant_controls: grant,
            enforced_session_controls: session,
        })
    }
}

/// A string member as [`map`] reads text: blank or null is `None`; anything but a string or
/// null declines.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((!v.trim().is_empty()).then(|| v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A list of strings as [`map`] reads one: null is empty, blank or null items are dropped;
/// anything else declines.
struct TextsSeed;

impl<'de> DeserializeSeed<'de> for TextsSeed {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextsSeed {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of strings or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(TextSeed)? {
            out.extend(item);
        }
        Ok(out)
    }
}

/// A member vigil does not read: scanned (so that a duplicate key in it is still noticed) and
/// dropped.
pub(crate) struct Scan;

impl<'de> DeserializeSeed<'de> for Scan {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Scan)
    }
}

impl<'de> Visitor<'de> for Scan {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Scan)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            if repeats(&seen, &key) {
                return Err(de::Error::custom(DECLINED));
            }
            access.next_value_seed(Scan)?;
            seen.push(key);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Read;
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;
    use serde::de::DeserializeSeed;

    use super::*;
    use crate::signin::json::TopSeed;

    /// What the general path makes of one line: its records and duplicate keys.
    use super::super::json::tests::Collect as General;

    /// Compares the fast path with the general path on one line; returns whether the fast path
    /// took it. Whenever it does, the general path must read exactly one record, without
    /// duplicate keys, that maps to the same sign-in with the same notes.
    fn differential(line: &str, order: DateOrder) -> bool {
        let Some(fast) = map_line(line.as_bytes(), order) else {
            return false;
        };
        let mut general = General::default();
        let mut de = serde_json::Deserializer::from_str(line);
        TopSeed {
            receiver: &mut general,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .unwrap_or_else(|e| {
            panic!("the fast path took a line the general path rejects: {e}\n{line}")
        });
        assert!(
            general.dups.is_empty(),
            "the fast path took a line with duplicate keys {:?}\n{line}",
            general.dups
        );
        let [(Value::Object(record), Container::Single)] = general.records.as_slice() else {
            panic!("the fast path took a line that is not one record\n{line}");
        };
        let expected = map::map_record(record, Container::Single, true, order);
        let (
            Mapped::SignIn {
                signin,
                assumed_utc,
                locale_confirmed,
                derived_id,
            },
            Ok(Mapped::SignIn {
                signin: signin_g,
                assumed_utc: assumed_utc_g,
                locale_confirmed: locale_confirmed_g,
                derived_id: derived_id_g,
            }),
        ) = (fast, expected)
        else {
            panic!("the paths disagree on what the line is\n{line}");
        };
        assert_eq!(signin, signin_g, "{line}");
        assert_eq!(
            (assumed_utc, locale_confirmed, derived_id),
            (assumed_utc_g, locale_confirmed_g, derived_id_g),
            "{line}"
        );
        true
    }

    /// Compares the fast path with the general path on Graph list page text (one or more pages);
    /// returns whether the fast path took it. Whenever it does, the general path must read the
    /// same records, in order, from the page's `value` arrays, without duplicate keys, each
    /// mapping to the same sign-in.
    fn page_differential(text: &str, single: bool, order: DateOrder) -> bool {
        let Some(elements) = page_elements(text.as_bytes(), single) else {
            return false;
        };
        let Some(fast) = elements
            .iter()
            .map(|&(a, b)| map_element(&text.as_bytes()[a..b], order))
            .collect::<Option<Vec<Mapped>>>()
        else {
            return false;
        };
        let mut general = General::default();
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = if single {
            TopSeed {
                receiver: &mut general,
            }
            .deserialize(&mut de)
            .and_then(|()| de.end())
        } else {
            let mut stream = Ok(());
            while stream.is_ok() && de.end().is_err() {
                stream = TopSeed {
                    receiver: &mut general,
                }
                .deserialize(&mut de);
            }
            stream
        };
        parsed.unwrap_or_else(|e| {
            panic!("the fast path took pages the general path rejects: {e}\n{text}")
        });
        assert!(
            general.dups.is_empty(),
            "the fast path took pages with duplicate keys {:?}\n{text}",
            general.dups
        );
        assert_eq!(general.records.len(), fast.len(), "{text}");
        for ((record, container), fast) in general.records.iter().zip(fast) {
            let Value::Object(record) = record else {
                panic!("the fast path took an element that is not an object\n{text}");
            };
            assert_eq!(*container, Container::GraphPage, "{text}");
            let expected = map::map_record(record, Container::GraphPage, true, order);
            let (Mapped::SignIn { signin, .. }, Ok(Mapped::SignIn { signin: g, .. })) =
                (fast, expected)
            else {
                panic!("the paths disagree on what an element is\n{text}");
            };
            assert_eq!(signin, g, "{text}");
        }
        true
    }

    /// The Graph NDJSON file vigil's generator writes into `dir` (signins.ndjson: attacks,
    /// travel, failures, every kind), as text.
    pub(crate) fn generated_ndjson(
        dir: &std::path::Path,
        signins: u64,
        users: usize,
        seed: u64,
        attack_rate: f64,
    ) -> String {
        let opts = crate::generate::Options {
            signins,
            users,
            seed,
            format: crate::generate::Format::Ndjson,
            attack_rate,
        };
        crate::generate::generate(dir, &opts, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        std::fs::read_to_string(dir.join("signins.ndjson")).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Graph NDJSON lines from vigil's generator.
    fn generated(n: u64) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        generated_ndjson(dir.path(), n, 60, 7, 0.2)
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn key_lists_are_sorted_and_fit_the_mask() {
        for keys in [RECORD_KEYS, POLICY_KEYS, STEP_KEYS] {
            assert!(keys.is_sorted_by(|a, b| a < b), "{keys:?}");
            assert!(keys.len() <= 64, "{keys:?}");
        }
    }

    #[test]
    fn generated_records_take_the_fast_path_and_agree() {
        for line in generated(400) {
            for order in [DateOrder::MonthFirst, DateOrder::DayFirst] {
                assert!(differential(&line, order), "declined:\n{line}");
            }
        }
    }

    #[test]
    fn generated_pages_take_the_fast_path_and_agree() {
        let lines = generated(60);
        let page = |items: &[String]| {
            format!(
                r#"{{"@odata.context":"https://graph.microsoft.com/beta/$metadata#auditLogs/signIns","value":[{}],"@odata.nextLink":"https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=a\"b"}}"#,
                items.join(",")
            )
        };
        let one = page(&lines[..25]);
        assert!(page_differential(&one, true, DateOrder::MonthFirst));
        let two = format!("{one}\n{}", page(&lines[25..]));
        assert!(page_differential(&two, false, DateOrder::DayFirst));
        assert!(page_elements(two.as_bytes(), true).is_none());
        // Pretty-printed, as a saved Graph Explorer response.
        let pretty: Value = serde_json::from_str(&one).unwrap_or_else(|e| panic!("{e}"));
        let pretty = serde_json::to_string_pretty(&pretty).unwrap_or_else(|e| panic!("{e}"));
        assert!(page_differential(&pretty, true, DateOrder::MonthFirst));
        assert!(page_differential(
            &format!(
                " \r\n\t{{ \"Value\" : [ {} ,\n{} ] }}\n\n",
                lines[0], lines[1]
            ),
            true,
            DateOrder::MonthFirst
        ));
    }

    #[test]
    fn page_scan_finds_elements_and_declines_the_rest() {
        let text = r#"{"a":"}]\"[{","value":[{"x":"]}\\","y":[[{}],{"z":null}]} , {"n":-1.5e3}],"b":[1,{"c":true}]}"#;
        let elements = page_elements(text.as_bytes(), true).unwrap_or_else(|| panic!("{text}"));
        let found: Vec<&str> = elements.iter().map(|&(a, b)| &text[a..b]).collect();
        assert_eq!(
            found,
            [r#"{"x":"]}\\","y":[[{}],{"z":null}]}"#, r#"{"n":-1.5e3}"#]
        );
        let declined = |text: &str| {
            assert!(page_elements(text.as_bytes(), false).is_none(), "{text}");
        };
        let element = r#"{"id":"a"}"#;
        declined(&format!(r#"{{"value":[{element}],"Value":[{element}]}}"#));
        declined(&format!(r#"{{"value":[{element}],"records":[]}}"#));
        declined(&format!(r#"{{"c":1,"C":2,"value":[{element}]}}"#));
        declined(&format!(r#"{{"c":{{"k":1,"K":2}},"value":[{element}]}}"#));
        declined(&format!(r#"{{"c":tru,"value":[{element}]}}"#));
        declined(&format!(r#"{{"c":1 2,"value":[{element}]}}"#));
        declined(&format!(r#"{{"value":[{element},1]}}"#));
        declined(&format!(r#"{{"value":[{element},]}}"#));
        declined(&format!(r#"{{"value":[{element}]"#));
        declined(&format!(r#"{{"value":[{element}]}},"#));
        declined(&format!(r#"[{{"value":[{element}]}}]"#));
        declined(&format!(r#"{{"value":{element}}}"#));
        declined(r#"{"value":[]}"#);
        declined(r#"{"id":"a"}"#);
        declined("{}");
        declined("");
        // The scan does not parse elements; the fast path does, and declines bad ones.
        let bad = r#"{"value":[{"id":"a",}]}"#;
        let elements = page_elements(bad.as_bytes(), true).unwrap_or_else(|| panic!("{bad}"));
        assert!(
            elements.iter().any(|&(a, b)| map_element(
                &bad.as_bytes()[a..b],
                DateOrder::MonthFirst
            )
            .is_none())
        );
    }

    /// Random JSON of strings of quotes, backslashes and brackets, for the page scan.
    struct Tricky(u64);

    impl Tricky {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn text(&mut self) -> String {
            const PIECES: [&str; 11] = ["\"", "\\", "\\\"", "{", "}", "[", "]", "a", "é", ",", ":"];
            (0..self.below(6))
                .map(|_| PIECES[usize::try_from(self.below(11)).unwrap_or(0)])
                .collect()
        }

        fn object(&mut self, depth: u64) -> Map<String, Value> {
            (0..self.below(4))
                .map(|_| (self.text(), self.value(depth + 1)))
                .collect()
        }

        fn value(&mut self, depth: u64) -> Value {
            match self.below(if depth > 3 { 3 } else { 5 }) {
                0 => Value::String(self.text()),
                1 => serde_json::json!(self.below(1000)),
                2 => Value::Null,
                3 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
                _ => Value::Object(self.object(depth)),
            }
        }
    }

    /// Elements holding strings of quotes, backslashes and brackets in every arrangement, at
    /// every depth, are found exactly where they end.
    #[test]
    fn page_scan_ends_elements_exactly() {
        let mut random = Tricky(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let elements: Vec<String> = (0..1 + random.below(3))
                .map(|_| Value::Object(random.object(1)).to_string())
                .collect();
            let page = format!(r#"{{"k":"{}","value":[{}]}}"#, "\\\"", elements.join(" , "));
            let found = page_elements(page.as_bytes(), true).unwrap_or_else(|| panic!("{page}"));
            let found: Vec<&str> = found.iter().map(|&(a, b)| &page[a..b]).collect();
            assert_eq!(found, elements, "{page}");
        }
    }

    #[test]
    fn declined_shapes() {
        let base = r#""id":"a","createdDateTime":"2026-01-05T14:23:45.123Z""#;
        let declined = |line: &str| {
            assert!(
                map_line(line.as_bytes(), DateOrder::MonthFirst).is_none(),
                "{line}"
            );
        };
        assert!(differential(&format!("{{{base}}}"), DateOrder::MonthFirst));
        // Duplicate keys, in members read, members dropped, and nested dropped objects.
        declined(&format!(r#"{{{base},"ID":"b"}}"#));
        declined(&format!(r#"{{{base},"x":1,"X":2}}"#));
        declined(&format!(r#"{{{base},"x":{{"deep":[{{"k":1,"K":2}}]}}}}"#));
        declined(&format!(
            r#"{{{base},"status":{{"errorCode":0,"ErrorCode":1}}}}"#
        ));
        declined(&format!(
            r#"{{{base},"appliedConditionalAccessPolicies":[{{"id":"p","result":"success","conditionsSatisfied":"x","ConditionsSatisfied":"y"}}]}}"#
        ));
        // Containers, arrays, no id, field errors, other categories, invalid JSON.
        declined(r#"{"value":[{"id":"a","createdDateTime":"2026-01-05T14:23:45.123Z"}]}"#);
        declined(&format!(r#"{{{base},"Records":[]}}"#));
        declined(&format!(r#"[{{{base}}}]"#));
        declined(r#"{"createdDateTime":"2026-01-05T14:23:45.123Z"}"#);
        declined(r#"{"id":"a","createdDateTime":"soon"}"#);
        declined(r#"{"category":"AuditLogs","properties":{"id":"a"}}"#);
        declined(&format!(r#"{{{base},"#));
        declined(&format!(r#"{{{base}}} {{}}"#));
        // The policy list read straight into policies: odd shapes and repeated keys.
        for policies in [
            r#"[{"id":"p","result":"success","ID":"q"}]"#,
            r#"[{"id":"p"}]"#,
            r#"[{"id":" ","result":"success"}]"#,
            r#"[{"id":1,"result":"success"}]"#,
            r#"[{"id":"p","result":"success","enforcedGrantControls":"Mfa"}]"#,
            r#"[{"id":"p","result":"success","enforcedGrantControls":[1]}]"#,
            r#"[{"id":"p","result":"success","x":{"a":1,"A":2}}]"#,
            r#"["p"]"#,
            r#""[]""#,
            "null",
        ] {
            declined(&format!(
                r#"{{{base},"appliedConditionalAccessPolicies":{policies}}}"#
            ));
        }
        declined(&format!(
            r#"{{{base},"appliedConditionalAccessPolicies":[],"AppliedConditionalAccessPolicies":[]}}"#
        ));
        declined(&format!(
            r#"{{"category":"SignInLogs","properties":{{{base}}},"appliedConditionalAccessPolicies":[]}}"#
        ));
        assert!(differential(
            &format!(
                r#"{{{base},"appliedConditionalAccessPolicies":[{{"ID":"p","result":"success","displayName":"  ","enforcedGrantControls":null,"enforcedSessionControls":["",null,"x"],"conditionsSatisfied":3}}],"conditionalAccessPolicies":[]}}"#
            ),
            DateOrder::MonthFirst
        ));
    }

    /// Every record of a sample export file, as one line of JSON each: NDJSON lines as
    /// written, the elements of pages, blobs and arrays re-serialized.
    fn records_of(file: &Path) -> Vec<String> {
        let mut bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{e}"));
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .unwrap_or_else(|e| panic!("{e}"));
            bytes = out;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            return Vec::new();
        };
        let text = text.trim_start_matches('\u{feff}');
        let mut out = Vec::new();
        let elements = |v: Value| -> Vec<String> {
            let items = match v {
                Value::Array(items) => items,
                Value::Object(mut m) => match (m.remove("value"), m.remove("records")) {
                    (Some(Value::Array(items)), _) | (_, Some(Value::Array(items))) => items,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            items.iter().map(Value::to_string).collect()
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() > 1
            && lines
                .iter()
                .all(|l| serde_json::from_str::<Value>(l).is_ok())
        {
            for l in lines {
                if let Ok(v) = serde_json::from_str::<Value>(l) {
                    out.extend(elements(v));
                }
                out.push(l.to_string());
            }
        } else if let Ok(v) = serde_json::from_str::<Value>(text) {
            match v {
                Value::Object(m) if !m.contains_key("value") && !m.contains_key("records") => {
                    out.push(Value::Object(m).to_string());
                }
                v => out.extend(elements(v)),
            }
        }
        out
    }

    fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "json" | "ndjson" | "log" | "gz"))
            {
                out.push(p);
            }
        }
    }

    #[test]
    fn sample_exports_agree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        files_under(&root.join("../samples/tenant/signins"), &mut files);
        files_under(&root.join("../samples/tenant"), &mut files);
        let external = root.join("../../shared/data/external");
        if external.is_dir() {
            files_under(&external, &mut files);
        } else {
            eprintln!(
                "notice: {} is absent; only the built-in samples were compared",
                external.display()
            );
        }
        let mut taken = 0;
        let mut records = 0;
        for file in &files {
            for line in records_of(file) {
                records += 1;
                for order in [DateOrder::MonthFirst, DateOrder::DayFirst] {
                    taken += usize::from(differential(&line, order));
                }
            }
        }
        assert!(
            taken > 100,
            "only {taken} of {records} records took the fast path"
        );
    }

    /// One change to a record, for the property test.
    #[derive(Debug, Clone)]
    enum Change {
        /// The key at this index written in upper case.
        Upper(usize),
        /// The key at this index removed.
        Remove(usize),
        /// The value at this index replaced.
        Replace(usize, usize),
        /// A member of a nested object (status, deviceDetail, location, a policy, a step)
        /// replaced or removed.
        Nested(usize, usize, usize),
        /// A copy of the key at this index (in another case) added at the front.
        Duplicate(usize),
        /// A member vigil does not read, with a nested object that may repeat a key.
        Unread(bool),
        /// The record moved into a diagnostic envelope's `properties`.
        Envelope(usize),
    }

    /// Values every field may meet: absent encodings, wrong types, JSON in strings.
    const ODD: &[&str] = &[
        "null",
        "\"\"",
        "\"  \"",
        "{}",
        "[]",
        "0",
        "-3",
        "1.5",
        "1e400",
        "true",
        "\"TRUE\"",
        "\"50126\"",
        "\"x\"",
        "\"[]\"",
        "\"{\\\"a\\\":1}\"",
        "\"[{\\\"id\\\":\\\"p\\\",\\\"result\\\":\\\"success\\\"}]\"",
        "\"00000000-0000-0000-0000-000000000000\"",
        "\"2026-01-05 14:23:45\"",
        "\"13/01/2026 1:48:53 PM\"",
        "\"1/5/2026 1:48:53 PM\"",
        "[\"a\",\"\",null]",
        "[{\"id\":\"x\"}]",
        "{\"a\":{\"b\":[1,2]}}",
    ];

    const NESTED: &[&str] = &[
        "status",
        "deviceDetail",
        "location",
        "appliedConditionalAccessPolicies",
        "authenticationDetails",
        "mfaDetail",
        "networkLocationDetails",
    ];

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            any::<usize>().prop_map(Change::Upper),
            any::<usize>().prop_map(Change::Remove),
            (any::<usize>(), 0..ODD.len()).prop_map(|(k, v)| Change::Replace(k, v)),
            (0..NESTED.len(), any::<usize>(), 0..ODD.len() + 1)
                .prop_map(|(n, k, v)| Change::Nested(n, k, v)),
            any::<usize>().prop_map(Change::Duplicate),
            any::<bool>().prop_map(Change::Unread),
            (0..4usize).prop_map(Change::Envelope),
        ]
    }

    /// The object inside `v` where a nested change applies (the first element of a list).
    fn nested_object<'a>(
        record: &'a mut Map<String, Value>,
        name: &str,
    ) -> Option<&'a mut Map<String, Value>> {
        match record.get_mut(name)? {
            Value::Object(m) => Some(m),
            Value::Array(items) => items.iter_mut().find_map(Value::as_object_mut),
            _ => None,
        }
    }

    /// Applies the changes to a record, as text (duplicate keys cannot live in a `Value`).
    fn mutate(line: &str, changes: &[Change]) -> String {
        let Ok(Value::Object(mut record)) = serde_json::from_str::<Value>(line) else {
            return line.to_string();
        };
        let mut front = Vec::new();
        let mut envelope = None;
        for c in changes {
            let keys: Vec<String> = record.keys().cloned().collect();
            let key = |i: usize| keys.get(i % keys.len().max(1)).cloned();
            match c {
                Change::Upper(i) => {
                    if let Some(k) = key(*i)
                        && let Some(v) = record.remove(&k)
                    {
                        record.insert(k.to_ascii_uppercase(), v);
                    }
                }
                Change::Remove(i) => {
                    if let Some(k) = key(*i) {
                        record.remove(&k);
                    }
                }
                Change::Replace(i, v) => {
                    if let Some(k) = key(*i)
                        && let Ok(value) = serde_json::from_str(ODD[*v])
                    {
                        record.insert(k, value);
                    }
                }
                Change::Nested(n, i, v) => {
                    if let Some(m) = nested_object(&mut record, NESTED[*n]) {
                        let keys: Vec<String> = m.keys().cloned().collect();
                        if let Some(k) = keys.get(i % keys.len().max(1)).cloned() {
                            match ODD.get(*v).and_then(|v| serde_json::from_str(v).ok()) {
                                Some(value) => {
                                    m.insert(k, value);
                                }
                                None => {
                                    m.remove(&k);
                                }
                            }
                        }
                    }
                }
                Change::Duplicate(i) => {
                    if let Some(k) = key(*i) {
                        let mut k2 = k.clone();
                        if let Some(first) = k2.get_mut(0..1) {
                            first.make_ascii_uppercase();
                        }
                        front.push(format!("{}:\"dup\"", Value::String(k2)));
                    }
                }
                Change::Unread(repeat) => {
                    let inner = if *repeat {
                        r#"{"Detail":1,"detail":2}"#
                    } else {
                        r#"{"detail":[1,{"a":null}]}"#
                    };
                    front.push(format!("\"vendorExtension\":{inner}"));
                }
                Change::Envelope(k) => envelope = Some(*k),
            }
        }
        let mut text = Value::Object(record).to_string();
        if !front.is_empty() {
            text = format!("{{{},{}", front.join(","), &text[1..]);
            if text.ends_with(",}") {
                text.replace_range(text.len() - 2.., "}");
            }
        }
        match envelope {
            Some(0) => format!(
                r#"{{"category":"SignInLogs","time":"2026-01-05T01:02:03Z","properties":{text}}}"#
            ),
            Some(1) => format!(
                r#"{{"Category":"NonInteractiveUserSignInLogs","callerIpAddress":"10.0.0.1","resultType":"0","properties":{text}}}"#
            ),
            Some(2) => format!(
                r#"{{"category":"SignInLogs","properties":{}}}"#,
                Value::String(text)
            ),
            _ => text,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn mutated_records_agree(
            pick in any::<prop::sample::Index>(),
            changes in prop::collection::vec(change(), 0..5),
            day_first in any::<bool>(),
        ) {
            thread_local! {
                static LINES: Vec<String> = generated(120);
            }
            let line = LINES.with(|lines| pick.get(lines).clone());
            let order = if day_first { DateOrder::DayFirst } else { DateOrder::MonthFirst };
            let mutated = mutate(&line, &changes);
            differential(&mutated, order);
            // The same record as an element of a Graph list page, between two plain ones.
            let plain = LINES.with(|lines| lines[0].clone());
            let page = format!(r#"{{"value":[{plain},{mutated},{plain}]}}"#);
            page_differential(&page, true, order);
        }
    }
}
