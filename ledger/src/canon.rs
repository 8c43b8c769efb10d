//! Canonical JSON (RFC 8785) written straight from a value's `Serialize` implementation.
//!
//! [`crate::entry::canonical_payload`] takes a `serde_json::Value`; a producer that holds its
//! payload as a typed record would build that tree only to write it out once and drop it.
//! [`CanonicalPayload::of`] writes the bytes that the canonical form of
//! `serde_json::to_value(value)` has, without the tree: each object's members are written as
//! they come, then put in the order of their names' UTF-16 code units (a later member with
//! the same name replacing an earlier one, as in a `Value` map); strings are escaped and
//! numbers written as RFC 8785 says (ECMAScript's `Number.prototype.toString` of the double,
//! through ryu-js, as the canonicalizer does; a non-finite double is `null`, as `to_value`
//! makes it). What this writer does not handle as `to_value` would (128-bit integers, `f32`,
//! map keys that are not text, serde_json's own raw values and numbers) takes the general
//! path instead: `to_value`, then [`crate::entry::canonical_payload`]. Property tests compare
//! both paths.

use std::fmt;
use std::ops::Range;

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::entry::{canonical_payload, write_jcs_string};

/// A payload in canonical form (RFC 8785), ready for [`crate::store::prepare_canonical_groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPayload(Vec<u8>);

impl CanonicalPayload {
    /// The canonical form of `serde_json::to_value(value)`.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<CanonicalPayload, String> {
        Self::object_of(value, false, &[])
    }

    /// The canonical form of `serde_json::to_value(value)` after, when it is an object,
    /// dropping its `null` members (with `drop_nulls`) and then setting each `(name, text)`
    /// of `set` as a string member (replacing a member of that name).
    pub fn object_of<T: Serialize + ?Sized>(
        value: &T,
        drop_nulls: bool,
        set: &[(&str, &str)],
    ) -> Result<CanonicalPayload, String> {
        if let Some(bytes) = write(value, drop_nulls, set) {
            return Ok(CanonicalPayload(bytes));
        }
        let mut v = serde_json::to_value(value).map_err(|e| e.to_string())?;
        if let serde_json::Value::Object(m) = &mut v {
            if drop_nulls {
                m.retain(|_, v| !v.is_null());
            }
            for (name, text) in set {
                m.insert((*name).to_string(), serde_json::Value::from(*text));
            }
        }
        Self::from_value(&v)
    }

    /// The canonical form of a JSON value ([`crate::entry::canonical_payload`]).
    pub fn from_value(value: &serde_json::Value) -> Result<CanonicalPayload, String> {
        canonical_payload(value).map(CanonicalPayload)
    }

    /// The canonical bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The canonical bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// The fast path: `None` when the value needs the general path.
fn write<T: Serialize + ?Sized>(
    value: &T,
    drop_nulls: bool,
    set: &[(&str, &str)],
) -> Option<Vec<u8>> {
    let mut w = Writer {
        out: Vec::with_capacity(512),
        names: String::new(),
        members: Vec::new(),
        scratch: Vec::new(),
        order: Vec::new(),
        depth: 0,
        top: Top { drop_nulls, set },
    };
    value.serialize(&mut w).ok()?;
    // Options for the top level apply to an object only; anything else is left to the
    // general path, which says what it makes of it.
    if (drop_nulls || !set.is_empty()) && w.out.first() != Some(&b'{') {
        return None;
    }
    Some(w.out)
}

/// What the general path cannot be matched on here (or an error of the value's own).
#[derive(Debug)]
struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not written by the fast path")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Unsupported
    }
}

type Res<T = ()> = Result<T, Unsupported>;

/// One member of an object being written: its name (unescaped, in `Writer::names`), where the
/// whole member (`"name":value`) is in `Writer::out`, and where its value starts.
struct Member {
    name: Range<usize>,
    /// Whether the name is ASCII (then its bytes sort as its UTF-16 code units).
    ascii: bool,
    bytes: Range<usize>,
    value_at: usize,
}

/// The options for the top-level object.
struct Top<'s> {
    drop_nulls: bool,
    set: &'s [(&'s str, &'s str)],
}

struct Writer<'s> {
    out: Vec<u8>,
    /// The names of the members of the objects being written, unescaped.
    names: String,
    /// The members of the objects being written (innermost last).
    members: Vec<Member>,
    scratch: Vec<u8>,
    order: Vec<usize>,
    /// Objects and arrays open.
    depth: usize,
    top: Top<'s>,
}

/// How two member names sort: by their UTF-16 code units (RFC 8785 §3.2.3).
fn name_cmp(names: &str, a: &Member, b: &Member) -> std::cmp::Ordering {
    let (x, y) = (&names[a.name.clone()], &names[b.name.clone()]);
    if a.ascii && b.ascii {
        return x.cmp(y);
    }
    x.encode_utf16().cmp(y.encode_utf16())
}

/// Orders of member lists sorted lately on this thread, by the members' names (all of them
/// concatenated, and each one's length): the objects of one type (a struct's fields, written
/// with their nulls) repeat the same names record after record, and sorting them again each
/// time was a visible share of writing a payload.
struct Orders {
    entries: Vec<(String, Vec<usize>, Vec<usize>)>,
    next: usize,
}

/// Orders kept per thread.
const ORDERS_KEPT: usize = 16;
/// Objects with more members, or longer names in all, are sorted every time.
const ORDERS_MEMBERS_MAX: usize = 256;
const ORDERS_NAMES_MAX: usize = 8192;

thread_local! {
    static ORDERS: std::cell::RefCell<Orders> = const {
        std::cell::RefCell::new(Orders {
            entries: Vec::new(),
            next: 0,
        })
    };
}

/// Puts into `order` the indexes of `members` in canonical order (stable: members of equal
/// names stay in the order written). `names` holds their names, concatenated from `names_from`.
fn sorted_order(names: &str, members: &[Member], names_from: usize, order: &mut Vec<usize>) {
    let len = |m: &Member| m.name.end - m.name.start;
    let found = ORDERS.with_borrow(|orders| {
        orders
            .entries
            .iter()
            .find(|(n, lens, _)| {
                n == names
                    && lens.len() == members.len()
                    && lens.iter().zip(members).all(|(&l, m)| l == len(m))
            })
            .map(|(_, _, o)| {
                order.clear();
                order.extend_from_slice(o);
            })
            .is_some()
    });
    if found {
        return;
    }
    order.clear();
    order.extend(0..members.len());
    // The members' name ranges index the whole names buffer, which starts `names_from` before
    // `names`.
    let cmp = |a: &Member, b: &Member| {
        let (x, y) = (
            &names[a.name.start - names_from..a.name.end - names_from],
            &names[b.name.start - names_from..b.name.end - names_from],
        );
        if a.ascii && b.ascii {
            return x.cmp(y);
        }
        x.encode_utf16().cmp(y.encode_utf16())
    };
    order.sort_by(|&a, &b| cmp(&members[a], &members[b]));
    // Only the small objects that repeat are worth keeping (and cheap to keep).
    if members.len() > ORDERS_MEMBERS_MAX || names.len() > ORDERS_NAMES_MAX {
        return;
    }
    ORDERS.with_borrow_mut(|orders| {
        let entry = (
            names.to_string(),
            members.iter().map(len).collect(),
            order.clone(),
        );
        if orders.entries.len() < ORDERS_KEPT {
            orders.entries.push(entry);
        } else {
            let at = orders.next;
            orders.entries[at] = entry;
            orders.next = (at + 1) % ORDERS_KEPT;
        }
    });
}

impl Writer<'_> {
    fn number(&mut self, v: f64) {
        if v.is_finite() {
            let mut b = ryu_js::Buffer::new();
            self.out.extend_from_slice(b.format_finite(v).as_bytes());
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    /// Opens an object: returns the state [`Writer::end_object`] needs.
    fn begin_object(&mut self) -> Object {
        self.out.push(b'{');
        self.depth += 1;
        Object {
            start: self.out.len(),
            first_member: self.members.len(),
            names_from: self.names.len(),
            top: self.depth == 1,
        }
    }

    /// Starts a member named `name`: writes the separator and the name.
    fn begin_member(&mut self, o: &Object, name: &str) {
        if self.members.len() > o.first_member {
            self.out.push(b',');
        }
        let at = self.out.len();
        let n = self.names.len();
        self.names.push_str(name);
        write_jcs_string(&mut self.out, name);
        self.out.push(b':');
        self.members.push(Member {
            name: n..self.names.len(),
            ascii: name.is_ascii(),
            bytes: at..at,
            value_at: self.out.len(),
        });
    }

    /// Ends the member started last.
    fn end_member(&mut self) {
        let end = self.out.len();
        if let Some(m) = self.members.last_mut() {
            m.bytes.end = end;
        }
    }

    /// Closes an object: puts its members in canonical order (the last of equal names kept)
    /// and applies the top-level options to the top-level object.
    fn end_object(&mut self, o: Object) {
        let top = o.top && (self.top.drop_nulls || !self.top.set.is_empty());
        if top {
            for (name, text) in self.top.set {
                self.begin_member(&o, name);
                write_jcs_string(&mut self.out, text);
                self.end_member();
            }
        }
        let members = &self.members[o.first_member..];
        let names = &self.names;
        let name = |m: &Member| &names[m.name.clone()];
        let sorted = !top
            && members
                .windows(2)
                .all(|w| name_cmp(names, &w[0], &w[1]).is_lt());
        if !sorted {
            sorted_order(
                &names[o.names_from..],
                members,
                o.names_from,
                &mut self.order,
            );
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.out[o.start..]);
            self.out.truncate(o.start);
            let mut first = true;
            for (i, &m) in self.order.iter().enumerate() {
                let member = &members[m];
                if let Some(&next) = self.order.get(i + 1)
                    && name(&members[next]) == name(member)
                {
                    continue;
                }
                let bytes = member.bytes.start - o.start..member.bytes.end - o.start;
                if top
                    && self.top.drop_nulls
                    && &self.scratch[member.value_at - o.start..bytes.end] == b"null"
                {
                    continue;
                }
                if !first {
                    self.out.push(b',');
                }
                first = false;
                self.out.extend_from_slice(&self.scratch[bytes]);
            }
        }
        self.members.truncate(o.first_member);
        self.names.truncate(o.names_from);
        self.out.push(b'}');
        self.depth -= 1;
    }

    fn begin_array(&mut self) {
        self.out.push(b'[');
        self.depth += 1;
    }

    fn end_array(&mut self) {
        self.out.push(b']');
        self.depth -= 1;
    }

    /// `{"variant":` of an externally tagged variant with content.
    fn begin_variant(&mut self, variant: &str) -> Res {
        // The top-level options would apply to this wrapper; the general path has them.
        if self.depth == 0 && (self.top.drop_nulls || !self.top.set.is_empty()) {
            return Err(Unsupported);
        }
        self.out.push(b'{');
        write_jcs_string(&mut self.out, variant);
        self.out.push(b':');
        Ok(())
    }
}

/// An object being written.
struct Object {
    /// Where its first member starts in the output.
    start: usize,
    first_member: usize,
    names_from: usize,
    /// Whether it is the top-level value.
    top: bool,
}

/// A compound value being written.
enum State {
    Array {
        first: bool,
    },
    Object(Object),
    /// An array inside `{"variant":...}`.
    VariantArray {
        first: bool,
    },
    /// An object inside `{"variant":...}`.
    VariantObject(Object),
}

struct Compound<'w, 's> {
    w: &'w mut Writer<'s>,
    state: State,
}

impl<'w, 's> ser::Serializer for &'w mut Writer<'s> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'w, 's>;
    type SerializeTuple = Compound<'w, 's>;
    type SerializeTupleStruct = Compound<'w, 's>;
    type SerializeTupleVariant = Compound<'w, 's>;
    type SerializeMap = Compound<'w, 's>;
    type SerializeStruct = Compound<'w, 's>;
    type SerializeStructVariant = Compound<'w, 's>;

    fn serialize_bool(self, v: bool) -> Res {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.serialize_i64(v.into())
    }
    #[allow(clippy::cast_precision_loss)]
    fn serialize_i64(self, v: i64) -> Res {
        // As the canonicalizer writes any number: the double it denotes.
        self.number(v as f64);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.serialize_u64(v.into())
    }
    #[allow(clippy::cast_precision_loss)]
    fn serialize_u64(self, v: u64) -> Res {
        self.number(v as f64);
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Res {
        Err(Unsupported)
    }
    fn serialize_u128(self, _: u128) -> Res {
        Err(Unsupported)
    }
    fn serialize_f32(self, _: f32) -> Res {
        Err(Unsupported)
    }
    fn serialize_f64(self, v: f64) -> Res {
        self.number(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Res {
        write_jcs_string(&mut self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Res {
        write_jcs_string(&mut self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Res {
        self.out.push(b'[');
        for (i, b) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.number(f64::from(*b));
        }
        self.out.push(b']');
        Ok(())
    }
    fn serialize_none(self) -> Res {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Res {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Res {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Res {
        if name.starts_with("$serde_json") {
            return Err(Unsupported);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Res {
        self.begin_variant(variant)?;
        self.depth += 1;
        value.serialize(&mut *self)?;
        self.depth -= 1;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Res<Self::SerializeSeq> {
        self.begin_array();
        Ok(Compound {
            w: self,
            state: State::Array { first: true },
        })
    }
    fn serialize_tuple(self, len: usize) -> Res<Self::SerializeTuple> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Res<Self::SerializeTupleStruct> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Res<Self::SerializeTupleVariant> {
        self.begin_variant(variant)?;
        self.depth += 1;
        self.begin_array();
        Ok(Compound {
            w: self,
            state: State::VariantArray { first: true },
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Res<Self::SerializeMap> {
        let o = self.begin_object();
        Ok(Compound {
            w: self,
            state: State::Object(o),
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Res<Self::SerializeStruct> {
        if name.starts_with("$serde_json") {
            return Err(Unsupported);
        }
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Res<Self::SerializeStructVariant> {
        self.begin_variant(variant)?;
        self.depth += 1;
        let o = self.begin_object();
        Ok(Compound {
            w: self,
            state: State::VariantObject(o),
        })
    }
}

impl Compound<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        match &mut self.state {
            State::Array { first } | State::VariantArray { first } => {
                if !*first {
                    self.w.out.push(b',');
                }
                *first = false;
                value.serialize(&mut *self.w)
            }
            State::Object(_) | State::VariantObject(_) => Err(Unsupported),
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Res {
        let (State::Object(o) | State::VariantObject(o)) = &self.state else {
            return Err(Unsupported);
        };
        self.w.begin_member(o, name);
        value.serialize(&mut *self.w)?;
        self.w.end_member();
        Ok(())
    }

    fn finish(self) -> Res {
        match self.state {
            State::Array { .. } => self.w.end_array(),
            State::Object(o) => self.w.end_object(o),
            State::VariantArray { .. } => {
                self.w.end_array();
                self.w.depth -= 1;
                self.w.out.push(b'}');
            }
            State::VariantObject(o) => {
                self.w.end_object(o);
                self.w.depth -= 1;
                self.w.out.push(b'}');
            }
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res {
        let State::Object(o) = &self.state else {
            return Err(Unsupported);
        };
        let name = key.serialize(NameOf)?;
        self.w.begin_member(o, &name);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        value.serialize(&mut *self.w)?;
        self.w.end_member();
        Ok(())
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Res {
        self.field(name, value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Res {
        self.field(name, value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

/// A map key as text: strings and chars; any other key takes the general path.
struct NameOf;

macro_rules! unsupported {
    ($($f:ident($($t:ty),*)),* $(,)?) => {
        $(fn $f(self, $(_: $t),*) -> Res<String> { Err(Unsupported) })*
    };
}

impl ser::Serializer for NameOf {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = Impossible<String, Unsupported>;
    type SerializeTuple = Impossible<String, Unsupported>;
    type SerializeTupleStruct = Impossible<String, Unsupported>;
    type SerializeTupleVariant = Impossible<String, Unsupported>;
    type SerializeMap = Impossible<String, Unsupported>;
    type SerializeStruct = Impossible<String, Unsupported>;
    type SerializeStructVariant = Impossible<String, Unsupported>;

    fn serialize_str(self, v: &str) -> Res<String> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Res<String> {
        Ok(v.to_string())
    }
    unsupported!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Res<String> {
        Err(Unsupported)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Res<String> {
        Err(Unsupported)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Res<String> {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Res<String> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Res<Self::SerializeSeq> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Res<Self::SerializeTuple> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Res<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Res<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Res<Self::SerializeMap> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Res<Self::SerializeStruct> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Res<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    /// The general path: the value as a tree, the options applied to it, canonicalized by the
    /// reference canonicalizer.
    fn general<T: Serialize>(value: &T, drop_nulls: bool, set: &[(&str, &str)]) -> Vec<u8> {
        let mut v = serde_json::to_value(value).unwrap();
        if let Value::Object(m) = &mut v {
            if drop_nulls {
                m.retain(|_, v| !v.is_null());
            }
            for (name, text) in set {
                m.insert((*name).to_string(), Value::from(*text));
            }
        }
        serde_json_canonicalizer::to_vec(&v).unwrap()
    }

    /// The fast path's bytes, which must be there.
    fn fast<T: Serialize>(value: &T, drop_nulls: bool, set: &[(&str, &str)]) -> Vec<u8> {
        write(value, drop_nulls, set).expect("the fast path writes it")
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-100_000i64..100_000).prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,8}|[\\x00-\\x20\"\\\\/\\x7f]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    "\\PC{0,4}|[a-c\u{e000}\u{fb33}\u{1f600}]{0,2}",
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// An object's members, written in the order given.
    struct Pairs(Vec<(&'static str, u32)>);

    impl Serialize for Pairs {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    /// Member orders are reused by the names written, never by their text alone: `a`, `b`,
    /// `ab` and `ab`, `a`, `b` spell the same text and sort differently. Written one after the
    /// other (and again), on top and nested, each comes out in its own canonical order.
    #[test]
    fn orders_are_reused_only_for_the_same_names() {
        let x = Pairs(vec![("a", 1), ("b", 2), ("ab", 3)]);
        let y = Pairs(vec![("ab", 4), ("a", 5), ("b", 6)]);
        for _ in 0..3 {
            assert_eq!(fast(&x, false, &[]), br#"{"a":1,"ab":3,"b":2}"#);
            assert_eq!(fast(&y, false, &[]), br#"{"a":5,"ab":4,"b":6}"#);
            let nested = vec![
                Pairs(vec![("ab", 7), ("a", 8), ("b", 9)]),
                Pairs(vec![("a", 1), ("b", 2), ("ab", 3)]),
            ];
            assert_eq!(
                fast(&nested, false, &[]),
                br#"[{"a":8,"ab":7,"b":9},{"a":1,"ab":3,"b":2}]"#
            );
        }
    }

    proptest! {
        /// Any JSON value is written as the canonicalizer writes it.
        #[test]
        fn values_are_written_as_the_canonicalizer_does(v in json_value()) {
            prop_assert_eq!(fast(&v, false, &[]), general(&v, false, &[]));
            prop_assert_eq!(CanonicalPayload::of(&v).unwrap(), CanonicalPayload::from_value(&v).unwrap());
        }

        /// The top-level options give what applying them to the tree gives.
        #[test]
        fn options_are_applied_as_on_the_tree(
            m in prop::collection::btree_map("[a-z]{0,3}|status|source", json_value(), 0..8),
            drop_nulls in any::<bool>(),
            set in prop::collection::vec(("[a-z]{0,3}|status|source", "\\PC{0,6}"), 0..3),
        ) {
            let v = Value::Object(m.into_iter().collect());
            let set: Vec<(&str, &str)> = set.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            prop_assert_eq!(fast(&v, drop_nulls, &set), general(&v, drop_nulls, &set));
        }

        /// Typed records (flattened maps that repeat a field's name, enums, options, floats,
        /// big integers, keys whose UTF-16 order differs from their bytes') likewise.
        #[test]
        fn typed_records_are_written_as_the_canonicalizer_does(
            r in record(),
            drop_nulls in any::<bool>(),
            set in prop::collection::vec(("[a-z]{1,3}|name", "\\PC{0,6}"), 0..3),
        ) {
            let set: Vec<(&str, &str)> = set.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            prop_assert_eq!(fast(&r, drop_nulls, &set), general(&r, drop_nulls, &set));
            prop_assert_eq!(
                CanonicalPayload::object_of(&r, drop_nulls, &set).unwrap().into_bytes(),
                general(&r, drop_nulls, &set)
            );
        }
    }

    #[derive(Debug, Clone, Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Record {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        maybe: Option<String>,
        nothing: Option<u32>,
        count: u64,
        delta: i32,
        ratio: f64,
        tags: Vec<String>,
        shape: Shape,
        shapes: Vec<Shape>,
        bytes: serde_bytes_like::Bytes,
        #[serde(rename = "\u{fb33}")]
        hebrew: bool,
        #[serde(rename = "\u{1f600}")]
        smile: char,
        unit: (),
        pair: (u8, String),
        #[serde(flatten)]
        extra: BTreeMap<String, Value>,
    }

    #[derive(Debug, Clone, Serialize)]
    enum Shape {
        Point,
        Circle(f64),
        Segment(i64, i64),
        Box {
            w: u32,
            h: u32,
            label: Option<String>,
        },
    }

    mod serde_bytes_like {
        /// Bytes that serialize as a byte string.
        #[derive(Debug, Clone)]
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    fn shape() -> impl Strategy<Value = Shape> {
        prop_oneof![
            Just(Shape::Point),
            any::<f64>().prop_map(Shape::Circle),
            (any::<i64>(), any::<i64>()).prop_map(|(a, b)| Shape::Segment(a, b)),
            (
                any::<u32>(),
                any::<u32>(),
                proptest::option::of("\\PC{0,4}")
            )
                .prop_map(|(w, h, label)| Shape::Box { w, h, label }),
        ]
    }

    fn record() -> impl Strategy<Value = Record> {
        (
            (
                "\\PC{0,6}",
                proptest::option::of("\\PC{0,6}"),
                proptest::option::of(any::<u32>()),
                any::<u64>(),
                any::<i32>(),
                any::<f64>(),
                prop::collection::vec("\\PC{0,4}", 0..3),
            ),
            (
                shape(),
                prop::collection::vec(shape(), 0..3),
                prop::collection::vec(any::<u8>(), 0..4),
                any::<bool>(),
                any::<char>(),
                (any::<u8>(), "\\PC{0,3}"),
                // Flattened members, some named as the struct's own fields.
                prop::collection::btree_map(
                    "name|count|maybe|nothing|[a-z]{1,2}|\u{e000}",
                    json_value(),
                    0..4,
                ),
            ),
        )
            .prop_map(
                |(
                    (name, maybe, nothing, count, delta, ratio, tags),
                    (shape, shapes, bytes, hebrew, smile, pair, extra),
                )| Record {
                    name,
                    maybe,
                    nothing,
                    count,
                    delta,
                    ratio,
                    tags,
                    shape,
                    shapes,
                    bytes: serde_bytes_like::Bytes(bytes),
                    hebrew,
                    smile,
                    unit: (),
                    pair,
                    extra,
                },
            )
    }

    #[test]
    fn known_forms() {
        let v = json!({"b": [1.0, -0.0, 1e21, 1e-7, 9007199254740993u64, "x\u{1}\"\\\n"], "a": null, "\u{1f600}": 1, "\u{fb33}": 2});
        assert_eq!(
            String::from_utf8(fast(&v, false, &[])).unwrap(),
            "{\"a\":null,\"b\":[1,0,1e+21,1e-7,9007199254740992,\"x\\u0001\\\"\\\\\\n\"],\"\u{1f600}\":1,\"\u{fb33}\":2}"
        );
        assert_eq!(
            String::from_utf8(fast(&v, true, &[("a", "set"), ("c", "new")])).unwrap(),
            "{\"a\":\"set\",\"b\":[1,0,1e+21,1e-7,9007199254740992,\"x\\u0001\\\"\\\\\\n\"],\"c\":\"new\",\"\u{1f600}\":1,\"\u{fb33}\":2}"
        );
    }

    #[test]
    fn what_the_fast_path_leaves_takes_the_general_path() {
        // f32, 128-bit integers, non-text keys and options on a value that is no object.
        let f = BTreeMap::from([(1u32, 0.1f32)]);
        assert!(write(&f, false, &[]).is_none());
        assert_eq!(
            CanonicalPayload::of(&f).unwrap().into_bytes(),
            general(&f, false, &[])
        );
        assert!(write(&1u128, false, &[]).is_none());
        assert_eq!(CanonicalPayload::of(&1u128).unwrap().into_bytes(), b"1");
        assert!(write(&[1], true, &[]).is_none());
        assert_eq!(
            CanonicalPayload::object_of(&[1], true, &[("a", "b")])
                .unwrap()
                .into_bytes(),
            b"[1]"
        );
        assert!(write(&Shape::Circle(1.0), false, &[("a", "b")]).is_none());
        assert_eq!(
            CanonicalPayload::object_of(&Shape::Circle(1.5), false, &[("a", "b")])
                .unwrap()
                .into_bytes(),
            general(&Shape::Circle(1.5), false, &[("a", "b")])
        );
    }
}
