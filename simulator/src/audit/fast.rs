//! The fast path for directory audit NDJSON lines and Graph list pages: a Graph
//! `directoryAudit` record read straight into an [`AuditRecord`] by a streaming visitor,
//! without building the `serde_json::Value` tree the general path ([`crate::signin::json`],
//! then [`super::map_audit`]) reads. A page's records are found by the sign-in fast path's
//! structural scan ([`page_elements`]), and a page is taken only when every record is.
//!
//! It reads the plain Graph shape only and declines (`None`) everything it cannot handle
//! exactly as the general path does, which then reads the line again: anything but one
//! object on the line, text that is not UTF-8, a key (any case) that makes the general path
//! read the record otherwise (`properties`, `operationName`, `TimeGenerated`, `time`, `type`,
//! `AADOperationType`, `AADTenantId`, `value`, `records`), a repeated key (ASCII case folded)
//! in any object of the record, read or not (the general path keeps the last and warns), a
//! member of another type than the general path maps without complaint (a number or boolean
//! where text goes, JSON text in `initiatedBy`, `targetResources` or `additionalDetails`, ...),
//! and every record the general path rejects (no id, no activity, a time it cannot read), so
//! that the general path words the error. Keys are matched without regard to ASCII case, as
//! the general path folds them; "empty" text is the general path's (blank or the all-zero
//! GUID). A differential test checks that both paths give the same record.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{
    AppIdentity, AuditRecord, Detail, Initiator, ModifiedProperty, TargetResource, UserIdentity,
    is_empty_text,
};
use crate::signin::fast::{DECLINED, KeySeed, Scan, page_elements, repeats};
use crate::signin::time::normalize_with;
use crate::signin::{DateOrder, PAGES_BYTES};

/// Maps one NDJSON line through the fast path (`variant` is the record's `sourceVariant`);
/// `None` when the general path must read it.
pub(crate) fn map_line(bytes: &[u8], variant: &str, order: DateOrder) -> Option<AuditRecord> {
    // The general path reads the line without the ASCII whitespace at its end (see
    // `signin::read_line`); at its start serde_json skips JSON whitespace only, and anything
    // but an object declines below.
    let bytes = bytes.trim_ascii_end();
    // UTF-8 checked once for the whole line rather than string by string (text that is not
    // UTF-8 is the general path's error to word).
    let text = std::str::from_utf8(bytes).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let top = RecordSeed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    let raw_time = top.activity_date_time?;
    let activity_date_time = normalize_with(&raw_time, order).ok()?.text;
    Some(AuditRecord {
        id: top.id?,
        activity_date_time,
        activity: top.activity?,
        category: top
            .category
            .filter(|c| !c.eq_ignore_ascii_case("auditlogs")),
        result: top.result,
        result_reason: top.result_reason,
        operation_type: top.operation_type,
        logged_by_service: top.logged_by_service,
        correlation_id: top.correlation_id,
        tenant_id: top.tenant_id,
        initiated_by: top.initiated_by,
        target_resources: top.target_resources,
        additional_details: top.additional_details,
        source_variant: variant.to_string(),
    })
}

/// The records of the Graph list page(s) in `bytes` (`single`: exactly one, as on an NDJSON
/// line), each read by [`map_line`] (`sourceVariant` `graph`), in order; `None` when the
/// general path must read the whole of `bytes` (a record or anything around them it
/// declines; see [`page_elements`]). Mapped on one core, like NDJSON lines (reading audits
/// on every core was measured to cost more CPU than it saved; README, Performance).
pub(crate) fn map_pages(bytes: &[u8], single: bool, order: DateOrder) -> Option<Vec<AuditRecord>> {
    if bytes.len() > PAGES_BYTES || !bytes.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    page_elements(bytes, single)?
        .iter()
        .map(|&(a, b)| map_line(&bytes[a..b], "graph", order))
        .collect()
}

/// The members of a record as read, before the required ones are checked.
#[derive(Default)]
struct Top {
    id: Option<String>,
    activity_date_time: Option<String>,
    activity: Option<String>,
    category: Option<String>,
    result: Option<String>,
    result_reason: Option<String>,
    operation_type: Option<String>,
    logged_by_service: Option<String>,
    correlation_id: Option<String>,
    tenant_id: Option<String>,
    initiated_by: Initiator,
    target_resources: Vec<TargetResource>,
    additional_details: Vec<Detail>,
}

/// The top-level members the fast path reads (folded).
const TOP_KEYS: &[&str] = &[
    "id",
    "activitydatetime",
    "activitydisplayname",
    "category",
    "result",
    "resultreason",
    "operationtype",
    "loggedbyservice",
    "correlationid",
    "tenantid",
    "initiatedby",
    "targetresources",
    "additionaldetails",
];

/// Top-level keys that make the general path read the object as something else than a plain
/// Graph record: a diagnostic envelope, a Log Analytics row, a page or blob of records.
const DECLINED_KEYS: &[&str] = &[
    "properties",
    "operationname",
    "timegenerated",
    "time",
    "type",
    "aadoperationtype",
    "aadtenantid",
    "value",
    "records",
];

fn declined<E: de::Error>() -> E {
    E::custom(DECLINED)
}

/// The position of `key` in `keys`, ASCII case folded.
fn find(keys: &[&str], key: &str) -> Option<usize> {
    keys.iter().position(|k| k.eq_ignore_ascii_case(key))
}

/// Reads the members of an object: each key is checked against those before it (folded),
/// a member named in `keys` is handed to `read` with its position there, any other is
/// scanned (for repeated keys deeper down) and dropped.
fn members<'de, A: MapAccess<'de>>(
    mut access: A,
    keys: &[&str],
    mut read: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    let mut seen: Vec<Cow<'de, str>> = Vec::new();
    while let Some(key) = access.next_key_seed(KeySeed)? {
        if repeats(&seen, &key) {
            return Err(declined());
        }
        match find(keys, &key) {
            Some(i) => read(i, &mut access)?,
            None => access.next_value_seed(Scan)?,
        }
        seen.push(key);
    }
    Ok(())
}

/// One record: the top-level object.
struct RecordSeed;

impl<'de> DeserializeSeed<'de> for RecordSeed {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a directory audit record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Top, A::Error> {
        let mut top = Top::default();
        // Read members by their place in TOP_KEYS; the others are kept to find repeats.
        let mut read_mask = 0u32;
        let mut dropped: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            let Some(i) = find(TOP_KEYS, &key) else {
                if find(DECLINED_KEYS, &key).is_some() || repeats(&dropped, &key) {
                    return Err(declined());
                }
                access.next_value_seed(Scan)?;
                dropped.push(key);
                continue;
            };
            let bit = 1u32 << i;
            if read_mask & bit != 0 {
                return Err(declined());
            }
            read_mask |= bit;
            let text = match i {
                0 => &mut top.id,
                1 => &mut top.activity_date_time,
                2 => &mut top.activity,
                3 => &mut top.category,
                4 => &mut top.result,
                5 => &mut top.result_reason,
                6 => &mut top.operation_type,
                7 => &mut top.logged_by_service,
                8 => &mut top.correlation_id,
                9 => &mut top.tenant_id,
                10 => {
                    top.initiated_by = access.next_value_seed(InitiatorSeed)?;
                    continue;
                }
                11 => {
                    top.target_resources = access.next_value_seed(ListSeed(TargetSeed))?;
                    continue;
                }
                _ => {
                    top.additional_details = access
                        .next_value_seed(ListSeed(DetailSeed))?
                        .into_iter()
                        .flatten()
                        .collect();
                    continue;
                }
            };
            *text = access.next_value_seed(TextSeed)?;
        }
        Ok(top)
    }
}

/// A member read as text, as the general path's `get_text` reads one, for strings and null
/// only: null, blank text and the all-zero GUID are `None`, other text is kept as written;
/// anything else (which the general path writes as JSON) declines.
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
        Ok((!is_empty_text(v)).then(|| v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// `initiatedBy`: an object, null or blank text (no initiator); anything else (JSON text
/// included) declines.
struct InitiatorSeed;

impl<'de> DeserializeSeed<'de> for InitiatorSeed {
    type Value = Initiator;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Initiator, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InitiatorSeed {
    type Value = Initiator;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an initiator")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Initiator, E> {
        Ok(Initiator::default())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Initiator, E> {
        if v.trim().is_empty() {
            Ok(Initiator::default())
        } else {
            Err(declined())
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Initiator, A::Error> {
        let (mut user, mut app) = (None, None);
        members(access, &["user", "app"], |i, access| {
            if i == 0 {
                user = access.next_value_seed(PartSeed(UserSeed))?;
            } else {
                app = access.next_value_seed(PartSeed(AppSeed))?;
            }
            Ok(())
        })?;
        Ok(Initiator {
            user: user.filter(|u| *u != UserIdentity::default()),
            app: app.filter(|a| *a != AppIdentity::default()),
        })
    }
}

/// An object read by `S`, or null (`None`); anything else declines.
struct PartSeed<S>(S);

impl<'de, S: Visitor<'de>> DeserializeSeed<'de> for PartSeed<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: Visitor<'de>> Visitor<'de> for PartSeed<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(access).map(Some)
    }
}

/// `initiatedBy.user`.
struct UserSeed;

impl<'de> Visitor<'de> for UserSeed {
    type Value = UserIdentity;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a user")
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<UserIdentity, A::Error> {
        let mut u = UserIdentity::default();
        members(
            access,
            &["id", "userprincipalname", "displayname", "ipaddress"],
            |i, access| {
                let slot = match i {
                    0 => &mut u.id,
                    1 => &mut u.user_principal_name,
                    2 => &mut u.display_name,
                    _ => &mut u.ip_address,
                };
                *slot = access.next_value_seed(TextSeed)?;
                Ok(())
            },
        )?;
        Ok(u)
    }
}

/// `initiatedBy.app`.
struct AppSeed;

impl<'de> Visitor<'de> for AppSeed {
    type Value = AppIdentity;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an app")
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<AppIdentity, A::Error> {
        let mut a = AppIdentity::default();
        members(
            access,
            &[
                "appid",
                "displayname",
                "serviceprincipalid",
                "serviceprincipalname",
            ],
            |i, access| {
                let slot = match i {
                    0 => &mut a.app_id,
                    1 => &mut a.display_name,
                    2 => &mut a.service_principal_id,
                    _ => &mut a.service_principal_name,
                };
                *slot = access.next_value_seed(TextSeed)?;
                Ok(())
            },
        )?;
        Ok(a)
    }
}

/// A list of objects each read by `S` (`targetResources`, `additionalDetails`,
/// `modifiedProperties`): null or blank text is empty; an element that is not an object, JSON
/// text, or anything else declines.
struct ListSeed<S>(S);

impl<'de, S: Visitor<'de> + Copy> DeserializeSeed<'de> for ListSeed<S> {
    type Value = Vec<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: Visitor<'de> + Copy> Visitor<'de> for ListSeed<S> {
    type Value = Vec<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            Ok(Vec::new())
        } else {
            Err(declined())
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(2));
        while let Some(item) = seq.next_element_seed(ObjectSeed(self.0))? {
            out.push(item);
        }
        Ok(out)
    }
}

/// An object read by `S`; anything else declines.
struct ObjectSeed<S>(S);

impl<'de, S: Visitor<'de>> DeserializeSeed<'de> for ObjectSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self.0)
    }
}

/// One `targetResources` element.
#[derive(Clone, Copy)]
struct TargetSeed;

impl<'de> Visitor<'de> for TargetSeed {
    type Value = TargetResource;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a target resource")
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<TargetResource, A::Error> {
        let mut t = TargetResource::default();
        members(
            access,
            &[
                "id",
                "displayname",
                "type",
                "userprincipalname",
                "grouptype",
                "modifiedproperties",
            ],
            |i, access| {
                let slot = match i {
                    0 => &mut t.id,
                    1 => &mut t.display_name,
                    2 => &mut t.kind,
                    3 => &mut t.user_principal_name,
                    4 => &mut t.group_type,
                    _ => {
                        t.modified_properties = access.next_value_seed(PropertiesSeed)?;
                        return Ok(());
                    }
                };
                *slot = access.next_value_seed(TextSeed)?;
                Ok(())
            },
        )?;
        Ok(t)
    }
}

/// `modifiedProperties`: a list of objects, or null (empty); anything else (text included:
/// the general path reads no JSON text here) declines.
struct PropertiesSeed;

impl<'de> DeserializeSeed<'de> for PropertiesSeed {
    type Value = Vec<ModifiedProperty>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed {
    type Value = Vec<ModifiedProperty>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of modified properties or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ListSeed(PropertySeed).visit_seq(seq)
    }
}

/// One `modifiedProperties` element: `displayName` text as written (null is empty), the
/// values as text.
#[derive(Clone, Copy)]
struct PropertySeed;

impl<'de> Visitor<'de> for PropertySeed {
    type Value = ModifiedProperty;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a modified property")
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<ModifiedProperty, A::Error> {
        let mut p = ModifiedProperty::default();
        members(
            access,
            &["displayname", "oldvalue", "newvalue"],
            |i, access| {
                match i {
                    0 => p.display_name = access.next_value_seed(NameSeed)?,
                    1 => p.old_value = access.next_value_seed(TextSeed)?,
                    _ => p.new_value = access.next_value_seed(TextSeed)?,
                }
                Ok(())
            },
        )?;
        Ok(p)
    }
}

/// A modified property's `displayName`: text as written (blank too), null as empty; anything
/// else declines (the general path's error).
struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NameSeed {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
}

/// One `additionalDetails` element: `None` without a key, as the general path drops it.
#[derive(Clone, Copy)]
struct DetailSeed;

impl<'de> Visitor<'de> for DetailSeed {
    type Value = Option<Detail>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an additional detail")
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Option<Detail>, A::Error> {
        let (mut key, mut value) = (None, None);
        members(access, &["key", "value"], |i, access| {
            let slot = if i == 0 { &mut key } else { &mut value };
            *slot = access.next_value_seed(TextSeed)?;
            Ok(())
        })?;
        Ok(key.map(|key| Detail {
            key,
            value: value.unwrap_or_default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;
    use serde::de::DeserializeSeed;
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::audit::{AuditReadStats, map_audit, read_audits_by};
    use crate::generate::rng::Rng;
    use crate::signin::ReadOptions;
    use crate::signin::json::tests::Collect as General;
    use crate::signin::json::{Container, TopSeed};

    /// Compares the fast path with the general path on one NDJSON line; returns whether the
    /// fast path took it. Whenever it does, the general path must read exactly one record,
    /// without duplicate keys, that maps to the same record.
    fn differential(line: &str, order: DateOrder) -> bool {
        let Some(fast) = map_line(line.as_bytes(), "ndjson", order) else {
            return false;
        };
        let mut general = General::default();
        let mut de = serde_json::Deserializer::from_slice(line.as_bytes().trim_ascii());
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
        assert_eq!(
            map_audit(record, "ndjson", order),
            Ok(Some(fast)),
            "the paths map the line differently\n{line}"
        );
        true
    }

    type Read = Result<(Vec<AuditRecord>, AuditReadStats), String>;

    /// Reads `paths` with the fast path, then by the general path alone; returns both and
    /// how many records the fast path read (0 when reading failed).
    fn both_paths(paths: &[PathBuf], opts: &ReadOptions) -> (Read, Read, usize) {
        let run = |fast| {
            let mut out = Vec::new();
            let read = read_audits_by(paths, opts, fast, &mut |_, _| {}, &mut |r| out.push(r));
            read.map(|(stats, n)| ((out, stats), n))
                .map_err(|e| e.to_string())
        };
        let fast = run(true);
        let general = run(false);
        let taken = fast.as_ref().map_or(0, |(_, n)| *n);
        if let Ok((_, n)) = &general {
            assert_eq!(*n, 0, "the general path alone took the fast path");
        }
        (fast.map(|(r, _)| r), general.map(|(r, _)| r), taken)
    }

    /// Writes `lines` as an NDJSON file and compares both paths on it, skipping bad records
    /// and not; returns how many records the fast path read when skipping.
    fn file_differential(dir: &Path, name: &str, lines: &[String]) -> usize {
        content_differential(dir, name, &(lines.join("\n") + "\n"))
    }

    /// [`file_differential`] for a file of any content.
    fn content_differential(dir: &Path, name: &str, content: &str) -> usize {
        let file = dir.join(name);
        std::fs::write(&file, content).unwrap_or_else(|e| panic!("{e}"));
        let paths = [file];
        let mut taken = 0;
        for skip in [false, true] {
            let opts = ReadOptions {
                skip_bad_records: skip,
                ..ReadOptions::default()
            };
            let (fast, general, n) = both_paths(&paths, &opts);
            assert_eq!(fast, general, "skip {skip}:\n{content}");
            if skip {
                taken = n;
            }
        }
        taken
    }

    const AGENT: &str = "c0000000-0000-4000-8000-0000000000a1";
    const ZERO: &str = "00000000-0000-0000-0000-000000000000";

    /// A Graph directoryAudit record of one of several shapes (the bench's two, a user
    /// initiator, devices and groups, additional details, offsets and locale dates, members
    /// vigil does not read, PascalCase keys as PowerShell writes them).
    fn typical(i: u64, rng: &mut Rng) -> Value {
        let user = format!("a0000000-0000-4000-8000-{:012}", rng.range(0, 50_000));
        let initiated_by = match i % 4 {
            0 => json!({"app": {"appId": AGENT, "displayName": "Partner onboarding agent"}}),
            1 => {
                json!({"user": null, "app": {"appId": AGENT, "displayName": "Partner onboarding agent",
                        "servicePrincipalId": rng.guid(), "servicePrincipalName": null}})
            }
            2 => {
                json!({"user": {"id": rng.guid(), "displayName": null, "userPrincipalName": "admin@contoso.example",
                                 "ipAddress": "203.0.113.7", "userType": "Member", "homeTenantId": rng.guid()},
                        "app": null})
            }
            _ => {
                json!({"user": {"id": ZERO, "userPrincipalName": " "}, "app": {"appId": AGENT, "servicePrincipalId": ZERO}})
            }
        };
        let targets = match i % 3 {
            0 => json!([
                {"id": "90000000-0000-4000-8000-000000000001", "type": "Group", "displayName": "Finance",
                 "groupType": "unifiedGroups", "modifiedProperties": []},
                {"id": user, "type": "User", "userPrincipalName": format!("partner{i}@contoso.example"),
                 "modifiedProperties": [{"displayName": "Group.ObjectID", "oldValue": null,
                                         "newValue": "\"90000000-0000-4000-8000-000000000001\""}]}
            ]),
            1 => json!([
                {"id": user, "type": "User", "userPrincipalName": format!("partner{i}@contoso.example"),
                 "displayName": null, "groupType": null,
                 "modifiedProperties": [{"displayName": "jobTitle", "oldValue": "[\"Buyer\"]", "newValue": "[\"Senior buyer\"]"},
                                        {"displayName": null, "oldValue": "", "newValue": ZERO},
                                        {"displayName": "", "oldValue": "x \"é\" 😀\n"}]}
            ]),
            _ => {
                json!([{"id": rng.guid(), "type": "Device", "displayName": "LAPTOP-7", "modifiedProperties": null}])
            }
        };
        let time = match i % 5 {
            0 => format!(
                "2026-01-{:02}T{:02}:{:02}:{:02}.1234567Z",
                1 + i % 28,
                rng.range(0, 23),
                rng.range(0, 59),
                rng.range(0, 59)
            ),
            1 => "2026-01-05T09:12:44.1234567+01:00".to_string(),
            2 => "2026-01-05T09:12:44Z".to_string(),
            3 => format!("1/{}/2026 1:48:53 PM", 1 + i % 12),
            _ => "2026-01-05 14:23:45".to_string(),
        };
        let category =
            ["GroupManagement", "UserManagement", "AuditLogs", "Device"][(i % 4) as usize];
        let mut record = json!({
            "id": format!("Directory_{}_{i}", rng.guid()),
            "category": category,
            "correlationId": rng.guid(),
            "result": "success",
            "resultReason": if i.is_multiple_of(2) { "" } else { "Because" },
            "activityDisplayName": if i.is_multiple_of(2) { "Add member to group" } else { "Update user" },
            "activityDateTime": time,
            "loggedByService": "Core Directory",
            "operationType": "Update",
            "initiatedBy": initiated_by,
            "targetResources": targets,
        });
        if i % 2 == 1 {
            record["additionalDetails"] = json!([
                {"key": "User-Agent", "value": "contoso-onboarding/1.0"},
                {"key": "", "value": "dropped"},
                {"key": "k", "value": null},
                {"value": "no key"}
            ]);
            record["tenantId"] = json!(rng.guid());
            record["@odata.type"] = json!("#microsoft.graph.directoryAudit");
        }
        if i % 7 == 3 {
            record["AdditionalProperties"] = json!({"x": [1, 2.5, {"y": null}], "z": true});
            record = pascal(record);
        }
        record
    }

    /// Every key of a JSON value with its first letter in upper case.
    fn pascal(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let mut k = k;
                        if let Some(first) = k.get_mut(0..1) {
                            first.make_ascii_uppercase();
                        }
                        (k, pascal(v))
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.into_iter().map(pascal).collect()),
            other => other,
        }
    }

    fn typical_lines(n: u64, seed: u64) -> Vec<String> {
        let mut rng = Rng(seed);
        (0..n).map(|i| typical(i, &mut rng).to_string()).collect()
    }

    #[test]
    fn typical_records_take_the_fast_path_and_agree() {
        let lines = typical_lines(420, 1);
        for line in &lines {
            for order in [DateOrder::MonthFirst, DateOrder::DayFirst] {
                assert!(differential(line, order), "declined:\n{line}");
            }
        }
        // Any ASCII whitespace after the record (as the general path trims it), JSON
        // whitespace before it.
        assert!(differential(
            &format!("{}\u{c} \t", lines[0]),
            DateOrder::MonthFirst
        ));
        assert!(differential(
            &format!(" \t{}", lines[0]),
            DateOrder::MonthFirst
        ));
        // A file of them (some twice, a blank line, CRLF) reads the same, every record by the
        // fast path.
        let mut file = lines.clone();
        file.extend_from_slice(&lines[..50]);
        file.insert(10, "  ".to_string());
        file[20].push('\r');
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file_differential(dir.path(), "a.ndjson", &file), 470);
    }

    /// The member at `path` (object keys and array indexes) of `v`.
    fn member<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
        path.iter().try_fold(v, |v, step| match v {
            Value::Object(m) => m.get_mut(*step),
            Value::Array(items) => items.get_mut(step.parse::<usize>().ok()?),
            _ => None,
        })
    }

    /// Values every member may meet: absent encodings, wrong types, JSON in strings.
    const ODD: &[&str] = &[
        "null",
        "\"\"",
        "\"  \"",
        "\"x\"",
        "\"00000000-0000-0000-0000-000000000000\"",
        "\"2026-01-05T10:00:00+02:00\"",
        "\"[]\"",
        "\"{\\\"user\\\":{\\\"id\\\":\\\"u\\\"}}\"",
        "\"[{\\\"id\\\":\\\"t\\\",\\\"type\\\":\\\"User\\\"}]\"",
        "{}",
        "[]",
        "[null]",
        "[{}]",
        "[\"a\"]",
        "{\"id\":\"x\"}",
        "0",
        "7",
        "-3",
        "1.5",
        "1e400",
        "true",
    ];

    /// Every member of a record that has them all, with every value of [`ODD`]: both paths
    /// agree, line by line and in files (errors, skips and warnings included); null is read
    /// by the fast path wherever the general path reads it, and numbers never are.
    #[test]
    fn every_member_with_a_wrong_type() {
        let mut rng = Rng(9);
        let mut base = typical(1, &mut rng);
        base["initiatedBy"] = json!({
            "user": {"id": "u-1", "userPrincipalName": "a@b", "displayName": "A", "ipAddress": "10.0.0.1"},
            "app": {"appId": AGENT, "displayName": "Agent", "servicePrincipalId": "sp", "servicePrincipalName": "spn"}
        });
        base["targetResources"][0]["groupType"] = json!("x");
        base["targetResources"][0]["displayName"] = json!("T");
        let mut paths: Vec<Vec<String>> = Vec::new();
        fn walk(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            let children: Vec<(String, &Value)> = match v {
                Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
                Value::Array(items) => items.iter().take(1).map(|v| ("0".to_string(), v)).collect(),
                _ => Vec::new(),
            };
            for (step, child) in children {
                at.push(step);
                out.push(at.clone());
                walk(child, at, out);
                at.pop();
            }
        }
        walk(&base, &mut Vec::new(), &mut paths);
        assert!(paths.len() > 30, "{}", paths.len());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut lines = Vec::new();
        for path in &paths {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let required = matches!(
                path.as_slice(),
                ["id" | "activityDateTime" | "activityDisplayName"]
            );
            let element = path.last().is_some_and(|s| s.parse::<usize>().is_ok());
            for odd in ODD {
                let mut v = base.clone();
                let Some(slot) = member(&mut v, &path) else {
                    panic!("{path:?}");
                };
                // As text: some (1e400) are no `Value`.
                *slot = Value::String("\u{1}".into());
                let line = v.to_string().replace(r#""\u0001""#, odd);
                let taken = differential(&line, DateOrder::MonthFirst);
                if *odd == "null" && !required && !element {
                    assert!(taken, "null at {path:?} declined");
                }
                let unread = path.first() == Some(&"@odata.type");
                if !unread
                    && (odd.starts_with(|c: char| c.is_ascii_digit() || c == '-') || *odd == "true")
                {
                    assert!(!taken, "{odd} at {path:?} taken");
                }
                lines.push(line);
            }
        }
        // Each line as a file of its own (errors stop reading), and all in one file skipping.
        for (i, line) in lines.iter().enumerate() {
            file_differential(
                dir.path(),
                &format!("m{i}.ndjson"),
                std::slice::from_ref(line),
            );
        }
        let taken = file_differential(dir.path(), "all.ndjson", &lines);
        assert!(taken > lines.len() / 3, "{taken} of {}", lines.len());
    }

    /// Lines the fast path declines, the general path reading them as it always has: repeated
    /// keys anywhere, records of other shapes, field errors, invalid JSON.
    #[test]
    fn declined_lines_read_as_the_general_path_reads_them() {
        let plain = typical_lines(2, 4);
        let base = &plain[1];
        let inner = &base[1..base.len() - 1];
        let declined = [
            // Repeated keys: at the top (same and other case), in read and unread objects.
            format!(r#"{{"id":"x-1",{inner}}}"#),
            format!(r#"{{"ID":"x-2",{inner}}}"#),
            format!(r#"{{"vendor":1,"Vendor":2,{inner}}}"#),
            format!(r#"{{"vendor":{{"deep":[{{"k":1,"K":2}}]}},{inner}}}"#),
            base.replacen(r#""initiatedBy":{"#, r#""initiatedBy":{"App":null,"#, 1),
            base.replacen(r#""appId":"#, r#""AppId":"x","appId":"#, 1),
            base.replacen(r#""modifiedProperties":["#, r#""ModifiedProperties":null,"modifiedProperties":["#, 1),
            base.replacen(r#""oldValue":"#, r#""OldValue":"x","oldValue":"#, 1),
            base.replacen(r#""key":"User-Agent""#, r#""key":"User-Agent","Key":"k""#, 1),
            base.replacen(r#""type":"User""#, r#""type":"User","x":{"a":1,"A":2}"#, 1),
            // Other shapes: diagnostic, Log Analytics rows, pages and blobs on a line, arrays.
            format!(r#"{{"time":"2026-01-05T10:00:00Z","operationName":"Update user","category":"AuditLogs","properties":{base}}}"#),
            format!(r#"{{"category":"SignInLogs","properties":{base}}}"#),
            r#"{"id":"la-1","operationname":"Add member to group","timegenerated":"2026-01-05T10:00:00Z","type":"AuditLogs","initiatedby":"{\"user\":{\"id\":\"u-9\"}}","targetresources":"[{\"id\":\"g-1\",\"type\":\"Group\"}]","aadtenantid":"t-1","aadoperationtype":"Assign"}"#.to_string(),
            r#"{"id":"t-1","activityDisplayName":"x","activityDateTime":"2026-01-05T10:00:00Z","type":"SigninLogs","TimeGenerated":"2026-01-05T10:00:00Z"}"#.to_string(),
            format!(r#"{{"value":[{base}]}}"#),
            format!(r#"{{"records":[{base}],"Value":3}}"#),
            format!("[{base}]"),
            // Text where objects go (Log Analytics JSON text), numbers where text goes.
            base.replacen(r#""initiatedBy":{"#, r#""initiatedBy":"{}","x":{"#, 1),
            base.replacen(r#""result":"success""#, r#""result":404"#, 1),
            // Field errors: no id, no activity, no time, a time that is none, one that
            // contradicts the date order (fatal).
            base.replacen(r#""id":"#, r#""identifier":"#, 1),
            base.replacen(r#""activityDisplayName":"#, r#""activity":"#, 1),
            base.replacen(r#""activityDateTime":"#, r#""when":"#, 1),
            base.replacen(r#""activityDateTime":""#, r#""activityDateTime":"soon "#, 1),
            // Invalid JSON: a trailing comma, two values, a truncated line, a bad escape, a
            // lone surrogate, a number out of range in an unread member.
            base.replacen('}', ",}", 1),
            format!("{base} {{}}"),
            base.chars().take(base.chars().count() / 2).collect(),
            base.replacen(r#""result":"success""#, r#""result":"su\qccess""#, 1),
            base.replacen(r#""result":"success""#, r#""result":"\ud800""#, 1),
            format!(r#"{{"vendor":1e400,{inner}}}"#),
            // ASCII whitespace that is not JSON whitespace before the record (a form feed).
            format!("\u{c}{base}"),
        ];
        for line in &declined {
            assert_ne!(line, base);
            assert!(
                map_line(line.as_bytes(), "ndjson", DateOrder::MonthFirst).is_none(),
                "taken:\n{line}"
            );
            differential(line, DateOrder::MonthFirst);
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // Each between two plain records, then all of them in one file.
        for (i, line) in declined.iter().enumerate() {
            let lines = [plain[0].clone(), line.clone(), plain[1].clone()];
            file_differential(dir.path(), &format!("d{i}.ndjson"), &lines);
        }
        let mut all = plain.clone();
        all.extend(declined.iter().cloned());
        all.push(plain[1].replacen("Directory_", "Directory_again_", 1));
        // The three plain records, and the page on a line (a page the fast path takes whole).
        assert_eq!(file_differential(dir.path(), "all.ndjson", &all), 4);
        // Text that is not UTF-8 and a date that contradicts the date order stop reading
        // with the general path's error, after the records before them.
        let mut bad = plain.clone();
        bad.push(plain[1].replacen("Directory_", "Directory_\u{e9}", 1));
        let mut bytes = (bad.join("\n") + "\n").into_bytes();
        let at = bytes
            .iter()
            .rposition(|&b| b == 0xc3)
            .unwrap_or_else(|| panic!("é"));
        bytes[at] = 0xff;
        let file = dir.path().join("latin.ndjson");
        std::fs::write(&file, bytes).unwrap_or_else(|e| panic!("{e}"));
        let (fast, general, _) = both_paths(std::slice::from_ref(&file), &ReadOptions::default());
        assert!(fast.is_err());
        assert_eq!(fast, general);
        let later = plain[0].replacen(
            r#""activityDateTime":"#,
            r#""activityDateTime":"13/01/2026 1:48:53 PM","x":"#,
            1,
        );
        let file = dir.path().join("order.ndjson");
        std::fs::write(&file, [plain[1].clone(), later].join("\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        for skip in [false, true] {
            let opts = ReadOptions {
                skip_bad_records: skip,
                ..ReadOptions::default()
            };
            let (fast, general, _) = both_paths(std::slice::from_ref(&file), &opts);
            assert!(fast.is_err());
            assert_eq!(fast, general);
        }
    }

    /// Graph list page files, taken whole by the fast path or declined whole, read exactly as
    /// the general path reads them: pages one per line, on one line, pretty-printed and back
    /// to back, the sample tenant's export; and pages with everything the fast path declines.
    #[test]
    fn graph_pages_read_as_the_general_path_reads_them() {
        let lines = typical_lines(120, 5);
        let page = |items: &[String]| {
            format!(
                r#"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits","value":[{}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/directoryAudits?$skiptoken=x\"y"}}"#,
                items.join(",")
            )
        };
        let pretty = |text: &str| {
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
            serde_json::to_string_pretty(&v).unwrap_or_else(|e| panic!("{e}"))
        };
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/tenant/audits.json");
        let sample = std::fs::read_to_string(sample).unwrap_or_else(|e| panic!("{e}"));
        let good = [
            (
                format!("{}\n{}\n", page(&lines[..60]), page(&lines[60..])),
                120,
            ),
            (page(&lines[..40]), 40),
            (pretty(&page(&lines[..50])), 50),
            (
                format!(
                    "{}\n{}",
                    pretty(&page(&lines[..50])),
                    pretty(&page(&lines[49..90]))
                ),
                91,
            ),
            (
                format!(
                    "{{\"value\":[\n{}\n]}} {{\"Value\":[{}]}}",
                    lines[..5].join(",\n"),
                    lines[5]
                ),
                6,
            ),
            (format!("{}\n{}\n", lines[7], page(&lines[8..12])), 5),
            (sample, 7),
        ];
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for (i, (content, n)) in good.iter().enumerate() {
            let taken = content_differential(dir.path(), &format!("good-{i}.json"), content);
            assert_eq!(taken, *n, "{content}");
        }
        let rec = &lines[7];
        let truncated = |text: String| text.chars().take(5000).collect::<String>();
        let bad = [
            // Repeated keys around the records and in one; a record the fast path declines, of
            // another category, with a field error; a blob beside the page; an element that
            // is not an object; no records.
            format!(r#"{{"@odata.context":"a","@odata.context":"b","value":[{rec}]}}"#),
            page(&[rec.replacen("{\"", "{\"ID\":\"x\",\"", 1)]),
            page(&[rec.replacen(r#""result":"success""#, r#""result":1"#, 1)]),
            format!(r#"{{"value":[{rec},{{"category":"SignInLogs","properties":{{"id":"z"}}}}]}}"#),
            page(&[rec.replacen(r#""id":"#, r#""identifier":"#, 1)]),
            format!(r#"{{"value":[{rec}],"records":[{rec}]}}"#),
            format!(r#"{{"records":[{rec}]}}"#),
            format!(r#"{{"value":[{rec},"x"]}}"#),
            r#"{"value":[]}"#.to_string(),
            // Invalid JSON: in an element, around the elements, a line with two pages, a
            // truncated page (on one line and pretty-printed).
            page(&[rec.replacen(r#""id":"#, r#""id" "#, 1)]),
            format!(r#"{{"@odata.count":tru,"value":[{rec}]}}"#),
            format!(
                "{}\n{} {}\n",
                page(&lines[..3]),
                page(&lines[3..5]),
                page(&lines[5..7])
            ),
            truncated(page(&lines[..20])),
            truncated(pretty(&page(&lines[..20]))),
        ];
        for (i, content) in bad.iter().enumerate() {
            content_differential(dir.path(), &format!("bad-{i}.json"), content);
        }
    }

    /// One change to a record, for the property test.
    #[derive(Debug, Clone)]
    enum Change {
        /// The member at this index (in a walk of the record) given another value.
        Replace(prop::sample::Index, Value),
        /// The key of the member at this index written in upper case.
        Upper(prop::sample::Index),
        /// The member at this index removed.
        Remove(prop::sample::Index),
        /// The key of the member at this index repeated, in another case, before it.
        Duplicate(prop::sample::Index, Value),
        /// A member vigil does not read, added to the object holding the member at this index.
        Unread(prop::sample::Index, Value),
    }

    /// Any JSON value, with the text audit members meet most.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            prop::sample::select(ODD)
                .prop_filter_map("text", |s| serde_json::from_str::<Value>(s).ok()),
            "[ -~é😀]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(
                            &[
                                "id",
                                "key",
                                "value",
                                "user",
                                "app",
                                "type",
                                "displayName",
                                "modifiedProperties",
                                "x"
                            ][..]
                        ),
                        inner
                    ),
                    0..3
                )
                .prop_map(|m| Value::Object(
                    m.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>()
                )),
            ]
        })
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            3 => (any::<prop::sample::Index>(), any_json()).prop_map(|(i, v)| Change::Replace(i, v)),
            1 => any::<prop::sample::Index>().prop_map(Change::Upper),
            1 => any::<prop::sample::Index>().prop_map(Change::Remove),
            1 => (any::<prop::sample::Index>(), any_json()).prop_map(|(i, v)| Change::Duplicate(i, v)),
            1 => (any::<prop::sample::Index>(), any_json()).prop_map(|(i, v)| Change::Unread(i, v)),
        ]
    }

    /// The paths of every object member of `v` (array elements are walked, not listed).
    fn member_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    at.push(k.clone());
                    out.push(at.clone());
                    member_paths(child, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    at.push(i.to_string());
                    member_paths(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }

    /// Applies the changes, as text (repeated keys cannot live in a `Value`).
    fn mutate(record: &Value, changes: &[Change]) -> String {
        let mut v = record.clone();
        let mut repeats: Vec<(String, String)> = Vec::new();
        for (n, c) in changes.iter().enumerate() {
            let mut paths = Vec::new();
            member_paths(&v, &mut Vec::new(), &mut paths);
            let pick = |i: &prop::sample::Index| -> Option<Vec<String>> {
                (!paths.is_empty()).then(|| i.get(&paths).clone())
            };
            match c {
                Change::Replace(i, value) => {
                    if let Some(path) = pick(i) {
                        let steps: Vec<&str> = path.iter().map(String::as_str).collect();
                        if let Some(slot) = member(&mut v, &steps) {
                            *slot = value.clone();
                        }
                    }
                }
                Change::Upper(i) | Change::Remove(i) => {
                    if let Some(path) = pick(i) {
                        let steps: Vec<&str> =
                            path[..path.len() - 1].iter().map(String::as_str).collect();
                        let key = &path[path.len() - 1];
                        if let Some(Value::Object(m)) = member(&mut v, &steps)
                            && let Some(value) = m.remove(key)
                            && matches!(c, Change::Upper(_))
                        {
                            m.insert(key.to_ascii_uppercase(), value);
                        }
                    }
                }
                Change::Duplicate(i, value) | Change::Unread(i, value) => {
                    if let Some(path) = pick(i) {
                        let steps: Vec<&str> =
                            path[..path.len() - 1].iter().map(String::as_str).collect();
                        let key = &path[path.len() - 1];
                        if let Some(Value::Object(m)) = member(&mut v, &steps) {
                            let marker = format!("\u{1}{n}");
                            let written = match c {
                                Change::Duplicate(..) => {
                                    let mut k = key.clone();
                                    if let Some(first) = k.get_mut(0..1) {
                                        if first.chars().all(|c| c.is_ascii_lowercase()) {
                                            first.make_ascii_uppercase();
                                        } else {
                                            first.make_ascii_lowercase();
                                        }
                                    }
                                    k
                                }
                                _ => format!("vendor{n}"),
                            };
                            m.insert(marker.clone(), value.clone());
                            repeats.push((marker, written));
                        }
                    }
                }
            }
        }
        let mut text = v.to_string();
        for (marker, key) in repeats {
            text = text.replace(
                &Value::String(marker).to_string(),
                &Value::String(key).to_string(),
            );
        }
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(384))]

        /// Generated records with random changes: both paths agree on the line and in a file
        /// between two plain records (which the fast path reads).
        #[test]
        fn changed_records_agree(
            seed in any::<u64>(),
            shape in 0u64..84,
            changes in prop::collection::vec(change(), 0..4),
            day_first in any::<bool>(),
        ) {
            let mut rng = Rng(seed);
            let record = typical(shape, &mut rng);
            let line = mutate(&record, &changes);
            let order = if day_first { DateOrder::DayFirst } else { DateOrder::MonthFirst };
            let taken = differential(&line, order);
            if changes.is_empty() {
                prop_assert!(taken, "declined:\n{}", line);
            }
            let plain = typical_lines(2, seed ^ 1);
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let lines = [plain[0].clone(), line, plain[1].clone()];
            let fast = file_differential(dir.path(), "p.ndjson", &lines);
            prop_assert!(fast >= 2, "{} of the plain records read by the fast path", fast);
        }
    }
}
