//! JSON reading for sign-in exports: values with case-folded keys, duplicate-key detection,
//! and streaming of the record arrays of Graph pages (`value`), diagnostic-settings blobs
//! (`records`) and bare arrays, so a large page or array is never held as one tree.
//!
//! serde_json's own `Value` silently keeps the last of two equal keys; the beta example in
//! Microsoft's Graph documentation has such keys with *different* values, so the reader must
//! see them to warn. Keys are folded to ASCII lowercase as they are read, because Graph writes
//! camelCase, Log Analytics and PowerShell write PascalCase, and diagnostic records mix both
//! (`Level`/`level`); two keys that differ only in case count as duplicates too.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The error message used to unwind serde when the receiver has stored its own error.
pub(crate) const ABORTED: &str = "vigil: record rejected";

/// What wrapped a record in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// Element of a Graph list page's `value` array.
    GraphPage,
    /// Element of a diagnostic-settings `records` array.
    Records,
    /// Element of a bare top-level JSON array.
    Array,
    /// A top-level object on its own (one NDJSON line or one JSON document).
    Single,
}

/// Receives what the parser finds.
pub(crate) trait Receiver {
    /// A key occurred twice in one object (`key` as written the second time).
    fn duplicate_key(&mut self, key: &str);
    /// The 1-based line the parser is on now.
    fn line(&self) -> usize;
    /// One record (or one value where a record was expected), starting on `line`.
    /// `Err(())` stops parsing: the receiver keeps the reason.
    fn record(&mut self, value: Value, container: Container, line: usize) -> Result<(), ()>;
}

/// The records of an element that is itself a Graph page or a diagnostic blob (an array of
/// saved pages): taken out of it, with the container they come from. `None` for a record.
pub(crate) fn nested_records(object: &mut Map<String, Value>) -> Option<(Vec<Value>, Container)> {
    if object.contains_key("id") {
        return None;
    }
    for (key, inner) in [
        ("value", Container::GraphPage),
        ("records", Container::Records),
    ] {
        if let Some(Value::Array(items)) = object.get_mut(key) {
            return Some((std::mem::take(items), inner));
        }
    }
    None
}

/// Parses one top-level JSON value, handing records to the receiver as they complete.
pub(crate) struct TopSeed<'r, R> {
    /// The receiver.
    pub(crate) receiver: &'r mut R,
}

impl<'de, R: Receiver> DeserializeSeed<'de> for TopSeed<'_, R> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(TopVisitor {
            receiver: self.receiver,
        })
    }
}

struct TopVisitor<'r, R> {
    receiver: &'r mut R,
}

impl<'de, R: Receiver> Visitor<'de> for TopVisitor<'_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array of sign-ins")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        stream_elements(self.receiver, seq, Container::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let line = self.receiver.line();
        let mut object = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            let folded = key.to_ascii_lowercase();
            let container = match folded.as_str() {
                "value" => Some(Container::GraphPage),
                "records" => Some(Container::Records),
                _ => None,
            };
            let value = match container {
                Some(container) => match map.next_value_seed(ArrayOrValue {
                    receiver: &mut *self.receiver,
                    container,
                })? {
                    Streamed::Records => {
                        streamed = true;
                        continue;
                    }
                    Streamed::Not(value) => value,
                },
                None => map.next_value_seed(ValueSeed {
                    receiver: &mut *self.receiver,
                })?,
            };
            if object.insert(folded, value).is_some() {
                self.receiver.duplicate_key(&key);
            }
        }
        if streamed {
            // A page or blob: its other members (@odata.context, @odata.nextLink) are not records.
            return Ok(());
        }
        self.receiver
            .record(Value::Object(object), Container::Single, line)
            .map_err(|()| de::Error::custom(ABORTED))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(
            "expected a JSON object or array of sign-ins, found a string",
        ))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(
            "expected a JSON object or array of sign-ins, found a boolean",
        ))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(
            "expected a JSON object or array of sign-ins, found a number",
        ))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(
            "expected a JSON object or array of sign-ins, found a number",
        ))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(
            "expected a JSON object or array of sign-ins, found a number",
        ))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(
            "expected a JSON object or array of sign-ins, found null",
        ))
    }
}

/// Hands each element of an array to the receiver as soon as it is parsed.
fn stream_elements<'de, R: Receiver, A: SeqAccess<'de>>(
    receiver: &mut R,
    mut seq: A,
    container: Container,
) -> Result<(), A::Error> {
    while seq
        .next_element_seed(ElementSeed {
            receiver: &mut *receiver,
            container,
        })?
        .is_some()
    {}
    Ok(())
}

/// The value of a `value`/`records` member: streamed when it is an array, kept otherwise.
enum Streamed {
    Records,
    Not(Value),
}

struct ArrayOrValue<'r, R> {
    receiver: &'r mut R,
    container: Container,
}

impl<'de, R: Receiver> DeserializeSeed<'de> for ArrayOrValue<'_, R> {
    type Value = Streamed;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Streamed, D::Error> {
        d.deserialize_any(self)
    }
}

/// Forwards the scalar and object callbacks of a visitor to [`ValueVisitor`].
macro_rules! forward_to_value {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok($wrap(Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok($wrap(Value::Number(v.into())))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok($wrap(Value::Number(v.into())))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok($wrap(
                Number::from_f64(v).map_or(Value::Null, Value::Number),
            ))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok($wrap(Value::String(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok($wrap(Value::String(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(Value::Null))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(Value::Null))
        }
    };
}

impl<'de, R: Receiver> Visitor<'de> for ArrayOrValue<'_, R> {
    type Value = Streamed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    forward_to_value!(Streamed::Not);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Streamed, A::Error> {
        stream_elements(self.receiver, seq, self.container)?;
        Ok(Streamed::Records)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Streamed, A::Error> {
        ValueVisitor {
            receiver: self.receiver,
        }
        .visit_map(map)
        .map(Streamed::Not)
    }
}

/// One array element: parsed whole, then handed to the receiver with the line it started on.
struct ElementSeed<'r, R> {
    receiver: &'r mut R,
    container: Container,
}

impl<'de, R: Receiver> DeserializeSeed<'de> for ElementSeed<'_, R> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<R: Receiver> ElementSeed<'_, R> {
    fn hand<E: de::Error>(self, value: Value, line: usize) -> Result<(), E> {
        self.receiver
            .record(value, self.container, line)
            .map_err(|()| E::custom(ABORTED))
    }

    fn scalar<E: de::Error>(self, value: Value) -> Result<(), E> {
        let line = self.receiver.line();
        self.hand(value, line)
    }
}

impl<'de, R: Receiver> Visitor<'de> for ElementSeed<'_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sign-in object")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Value::String(v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let line = self.receiver.line();
        let value = ValueVisitor {
            receiver: &mut *self.receiver,
        }
        .visit_seq(seq)?;
        self.hand(value, line)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        // The parser has just consumed `{`, so this is the record's first line.
        let line = self.receiver.line();
        let value = ValueVisitor {
            receiver: &mut *self.receiver,
        }
        .visit_map(map)?;
        self.hand(value, line)
    }
}

/// A whole JSON value with folded keys; duplicates reported to the receiver.
pub(crate) struct ValueSeed<'r, R> {
    /// Told about duplicate keys.
    pub(crate) receiver: &'r mut R,
}

impl<'de, R: Receiver> DeserializeSeed<'de> for ValueSeed<'_, R> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor {
            receiver: self.receiver,
        })
    }
}

struct ValueVisitor<'r, R> {
    receiver: &'r mut R,
}

impl<'de, R: Receiver> Visitor<'de> for ValueVisitor<'_, R> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    forward_to_value!(std::convert::identity);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed {
            receiver: &mut *self.receiver,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed {
                receiver: &mut *self.receiver,
            })?;
            if object.insert(key.to_ascii_lowercase(), value).is_some() {
                self.receiver.duplicate_key(&key);
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Collects what the parser finds in one line (also used by the fast path's tests).
    #[derive(Default)]
    pub(crate) struct Collect {
        pub(crate) dups: Vec<String>,
        pub(crate) records: Vec<(Value, Container)>,
    }

    impl Receiver for Collect {
        fn duplicate_key(&mut self, key: &str) {
            self.dups.push(key.to_string());
        }
        fn line(&self) -> usize {
            1
        }
        fn record(&mut self, value: Value, container: Container, _: usize) -> Result<(), ()> {
            self.records.push((value, container));
            Ok(())
        }
    }

    fn parse(text: &str) -> Collect {
        let mut c = Collect::default();
        let mut de = serde_json::Deserializer::from_str(text);
        TopSeed { receiver: &mut c }
            .deserialize(&mut de)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        c
    }

    #[test]
    fn duplicate_keys_keep_the_last_and_are_reported() {
        let c = parse(r#"{"id":"a","homeTenantId":"x","inner":{"k":1,"K":2},"homeTenantId":"y"}"#);
        assert_eq!(c.dups, ["K", "homeTenantId"]);
        let (v, container) = &c.records[0];
        assert_eq!(*container, Container::Single);
        assert_eq!(v["hometenantid"], "y");
        assert_eq!(v["inner"]["k"], 2);
    }

    #[test]
    fn pages_blobs_and_arrays_stream_their_elements() {
        let c = parse(
            r#"{"@odata.context":"x","value":[{"id":"a"},{"id":"b"}],"@odata.nextLink":"n"}"#,
        );
        let got: Vec<_> = c
            .records
            .iter()
            .map(|(v, k)| (v["id"].clone(), *k))
            .collect();
        assert_eq!(
            got,
            [
                (Value::from("a"), Container::GraphPage),
                (Value::from("b"), Container::GraphPage)
            ]
        );
        let c = parse(r#"{"records":[{"id":"a"}]}"#);
        assert_eq!(c.records[0].1, Container::Records);
        let c = parse(r#"[{"id":"a"},{"id":"b"}]"#);
        assert_eq!(c.records.len(), 2);
        assert_eq!(c.records[1].1, Container::Array);
    }

    #[test]
    fn a_value_member_that_is_not_an_array_is_an_ordinary_field() {
        let c = parse(r#"{"id":"a","Value":"x"}"#);
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.records[0].0["value"], "x");
    }
}
