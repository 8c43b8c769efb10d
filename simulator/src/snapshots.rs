//! Optional snapshots for signals the sign-in log does not carry, each read from the format
//! Microsoft Graph exports:
//!
//! - **User risk** (`--user-risk`): risky-user history (`riskyUserHistoryItem`,
//!   `GET /identityProtection/riskyUsers/{id}/history`; `riskyUser` objects from
//!   `GET /identityProtection/riskyUsers` are read the same way) and/or risk detections
//!   (`riskDetection`, `GET /identityProtection/riskDetections`). They give the user risk level
//!   in force at each sign-in's time, for `conditions.userRiskLevels` (SEMANTICS.md Rule 4.27).
//! - **Devices** (`--devices`): Graph `device` objects (`GET /devices`), for the filter-for-devices
//!   properties the log lacks (model, manufacturer, extension attributes, physical ids, ...),
//!   keyed by `deviceId`, which is the sign-in log's `deviceDetail.deviceId` (Rule 4.32).
//!
//! Every input is a file or a folder of files (`.json`, `.ndjson`, `.jsonl`; read recursively in
//! bytewise path order), UTF-8 or UTF-16. A file holds a JSON array of objects, one or several
//! Graph list pages `{"value":[...]}` back to back (`@odata.nextLink` is ignored), NDJSON (one
//! object per line), or a single object. Keys are matched without regard to case (Graph
//! camelCase, PowerShell PascalCase); OData annotations are ignored. Errors name the file, the
//! record (`record N`, 0-based within the file, or `line N` for a top-level object) and the field.
//!
//! # User risk at a sign-in's time
//!
//! [`UserRisk::user_risk_at`] answers `none`, `low`, `medium`, `high`, or `None` (unknown):
//!
//! 1. A user with history items: the latest item at or before the sign-in's time decides.
//!    `riskState` `dismissed`, `remediated`, `confirmedSafe` or `none` gives `none`; `atRisk` and
//!    `confirmedCompromised` give the item's `riskLevel` (`hidden` and `unknownFutureValue` are
//!    unknown). Before the user's first item the level is unknown, because the history of a user
//!    may start after older changes have gone (Graph: "The availability of risk history data is
//!    governed by the Microsoft Entra data retention policies").
//! 2. Otherwise a user with risk detections: the highest `riskLevel` among the user's detections
//!    detected (`detectedDateTime`, else `activityDateTime`) at or before the sign-in and not yet
//!    remediated, dismissed or confirmed safe by then (the end is `lastUpdatedDateTime` for those
//!    states). Microsoft does not publish how detections aggregate into the user risk level;
//!    "the highest open detection" is **vigil's choice**. With no open detection the level is
//!    unknown: detections are kept for a limited time, and user risk does not expire with them.
//! 3. A user in neither: unknown.
//!
//! **Complete exports** ([`UserRisk::load`] with `complete`, the CLI's `--user-risk-complete`):
//! the caller asserts the files hold every risky user's full history (a complete
//! `riskyUsers` + `history` export; risky users are kept without a retention limit). Then "no
//! data" means "never risky": a user absent from the export, a time before a user's first history
//! item, and a time with no open detection all give `none`. Without the flag vigil never turns
//! missing data into `none` (SEMANTICS.md §11).
//!
//! # Devices
//!
//! [`Devices::device_attribute`] answers in the filter-for-devices vocabulary of
//! [`crate::devicefilter::Attribute::key`] (lowercase, no `device.` prefix: `model`,
//! `manufacturer`, `extensionattribute1`, `physicalids`, ...): `None` when the device or the
//! property is not in the snapshot (a property the export did not select), `Some(vec![])` when the
//! property is known to be null (JSON `null` or an empty string), else the values (booleans as
//! `True`/`False`, string collections whole). A device object's `extensionAttributes` is a complex
//! value: when it is present, a missing member is null.
//!
//! [`Devices::attribute_for_signin`] adds what evaluation needs: the filter-for-devices page says
//! "Devices must be Microsoft Intune managed, compliant, or Microsoft Entra hybrid joined for a
//! value to be available in extensionAttributes1-15 at the time of the Conditional Access policy
//! evaluation", so an extension attribute is answered only when the sign-in's device is managed,
//! compliant or hybrid joined (the log's `isManaged`, `isCompliant` and `trustType`, else the
//! snapshot's), null when it is none of them, and unknown when that cannot be told.
//!
//! A device snapshot shows the properties at export time, not at each sign-in's time.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::error::InputError;
use crate::model::{RiskLevel, SignIn};
use crate::signin::time;
use crate::text::{is_annotation, json_type, list_files, read_text};

/// File extensions read from a snapshot folder.
pub const SNAPSHOT_EXTENSIONS: &[&str] = &["json", "ndjson", "jsonl"];

// ---------------------------------------------------------------------------------------------
// Reading Graph export files
// ---------------------------------------------------------------------------------------------

/// One object of a Graph export file.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The file it came from.
    pub(crate) file: PathBuf,
    /// `record N` (0-based within the file) or `line N` (a top-level object).
    pub(crate) label: String,
    /// The object.
    pub(crate) object: Map<String, Value>,
}

/// Every object in every file under `path` (see the module documentation for the shapes).
pub(crate) fn read_records(path: &Path) -> Result<Vec<Record>, InputError> {
    let files = list_files(path, SNAPSHOT_EXTENSIONS)?;
    if files.is_empty() {
        return Err(InputError::format(
            path,
            "no .json, .ndjson or .jsonl files in this folder",
        ));
    }
    let mut out = Vec::new();
    for file in &files {
        read_file_records(file, &mut out)?;
    }
    Ok(out)
}

/// The objects of one file, appended to `out`.
pub(crate) fn read_file_records(file: &Path, out: &mut Vec<Record>) -> Result<(), InputError> {
    let text = read_text(file)?;
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    let mut index = 0usize;
    loop {
        let start = stream.byte_offset();
        let doc = match stream.next() {
            None => break,
            Some(Err(e)) => return Err(InputError::json(file, &e)),
            Some(Ok(doc)) => doc,
        };
        let line = line_at(&text, start);
        let mut push = |item: Value, label: String| -> Result<(), InputError> {
            match item {
                Value::Object(object) => {
                    out.push(Record {
                        file: file.to_path_buf(),
                        label,
                        object,
                    });
                    Ok(())
                }
                other => Err(InputError::format(
                    file,
                    format!("{label}: expected an object, found {}", json_type(&other)),
                )),
            }
        };
        match doc {
            Value::Array(items) => {
                for item in items {
                    push(item, format!("record {index}"))?;
                    index += 1;
                }
            }
            Value::Object(mut m) => match take_ci(&mut m, "value") {
                Some(Value::Array(items)) => {
                    for item in items {
                        push(item, format!("record {index}"))?;
                        index += 1;
                    }
                }
                Some(single @ Value::Object(_)) => {
                    push(single, format!("record {index}"))?;
                    index += 1;
                }
                Some(other) => {
                    return Err(InputError::field(
                        file,
                        format!("line {line}"),
                        "value",
                        format!(
                            "expected the array of a Graph list page, found {}",
                            json_type(&other)
                        ),
                    ));
                }
                None => {
                    push(Value::Object(m), format!("line {line}"))?;
                    index += 1;
                }
            },
            other => {
                return Err(InputError::format(
                    file,
                    format!(
                        "line {line}: expected a JSON array, a Graph list page {{\"value\":[...]}} \
                         or one object per line, found {}",
                        json_type(&other)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The 1-based line of the first non-blank character at or after byte `offset`.
fn line_at(text: &str, offset: usize) -> usize {
    let rest = text.get(offset..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start().len();
    let upto = text.get(..offset + skipped).unwrap_or(text);
    upto.bytes().filter(|b| *b == b'\n').count() + 1
}

/// Removes a key, matched exactly or else without regard to case.
fn take_ci(m: &mut Map<String, Value>, key: &str) -> Option<Value> {
    if let Some(v) = m.remove(key) {
        return Some(v);
    }
    let k = m.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    m.remove(&k)
}

impl Record {
    /// A field by name, matched exactly or else without regard to case; `null` is absent.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.object
            .get(key)
            .or_else(|| {
                self.object
                    .iter()
                    .find(|(k, _)| !is_annotation(k) && k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .filter(|v| !v.is_null())
    }

    /// Whether the key is present at all (`null` included).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.object.contains_key(key)
            || self
                .object
                .keys()
                .any(|k| !is_annotation(k) && k.eq_ignore_ascii_case(key))
    }

    /// The record, for messages: its label and, when it has one, an identifying field.
    pub(crate) fn name(&self, id_field: &str) -> String {
        match self.get(id_field).and_then(Value::as_str) {
            Some(id) if !id.trim().is_empty() => {
                format!("{} ({id_field} {})", self.label, id.trim())
            }
            _ => self.label.clone(),
        }
    }

    /// An error about one field of this record.
    pub(crate) fn error(
        &self,
        id_field: &str,
        field: &str,
        reason: impl Into<String>,
    ) -> InputError {
        InputError::field(&self.file, self.name(id_field), field, reason)
    }

    /// An optional string field: trimmed; missing, `null` and `""` are `None`.
    pub(crate) fn opt_str(&self, id_field: &str, key: &str) -> Result<Option<String>, InputError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(self.error(
                id_field,
                key,
                format!("expected a string, found {}", json_type(other)),
            )),
        }
    }

    /// A required string field.
    pub(crate) fn req_str(&self, id_field: &str, key: &str) -> Result<String, InputError> {
        self.opt_str(id_field, key)?
            .ok_or_else(|| self.error(id_field, key, "missing"))
    }

    /// An optional date and time field (RFC 3339, or the other shapes exports use).
    fn opt_time(&self, id_field: &str, key: &str) -> Result<Option<Timestamp>, InputError> {
        let Some(raw) = self.opt_str(id_field, key)? else {
            return Ok(None);
        };
        parse_time(&raw)
            .map(Some)
            .ok_or_else(|| self.error(id_field, key, format!("not a date and time: {raw:?}")))
    }
}

/// Parses a timestamp as Graph and PowerShell exports write it.
fn parse_time(raw: &str) -> Option<Timestamp> {
    time::normalize(raw)?.text.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// User risk
// ---------------------------------------------------------------------------------------------

/// One point of a user's risk history: from `at` on, the level is `level` (`None` = unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Point {
    at: Timestamp,
    level: Option<RiskLevel>,
}

/// When a risk detection stopped counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Still at risk (`atRisk`, `confirmedCompromised`).
    Open,
    /// Remediated, dismissed or confirmed safe at this time.
    At(Timestamp),
    /// Closed at an unknown time, or a state vigil does not know.
    Unknown,
}

/// One risk detection of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Detection {
    start: Timestamp,
    end: End,
    /// `None` = unknown (`hidden`).
    level: Option<RiskLevel>,
}

/// The user-risk snapshot: per user, a history timeline and/or risk detections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRisk {
    complete: bool,
    /// Lowercase user id -> points sorted by time (file order kept for equal times).
    history: HashMap<String, Vec<Point>>,
    /// Lowercase user id -> detections.
    detections: HashMap<String, Vec<Detection>>,
    /// Lowercase UPN -> lowercase user id.
    by_upn: HashMap<String, String>,
}

/// The word for a risk level, as Graph spells it.
pub fn risk_level_name(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::None => "none",
        RiskLevel::Low => "low",
        RiskLevel::Medium => "medium",
        RiskLevel::High => "high",
    }
}

/// Graph `riskLevel`: `Ok(None)` for `hidden` / `unknownFutureValue` (unknown).
fn parse_risk_level(raw: &str) -> Result<Option<RiskLevel>, String> {
    match raw.to_ascii_lowercase().as_str() {
        "none" => Ok(Some(RiskLevel::None)),
        "low" => Ok(Some(RiskLevel::Low)),
        "medium" => Ok(Some(RiskLevel::Medium)),
        "high" => Ok(Some(RiskLevel::High)),
        "hidden" | "unknownfuturevalue" => Ok(None),
        _ => Err(format!(
            "{raw:?} is not a risk level (none, low, medium, high, hidden, unknownFutureValue)"
        )),
    }
}

/// Graph `riskState`, reduced to what the level needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RiskState {
    /// `none`, `confirmedSafe`, `remediated`, `dismissed`.
    NotAtRisk,
    /// `atRisk`, `confirmedCompromised`.
    AtRisk,
    /// `unknownFutureValue`.
    Unknown,
}

fn parse_risk_state(raw: &str) -> Result<RiskState, String> {
    match raw.to_ascii_lowercase().as_str() {
        "none" | "confirmedsafe" | "remediated" | "dismissed" => Ok(RiskState::NotAtRisk),
        "atrisk" | "confirmedcompromised" => Ok(RiskState::AtRisk),
        "unknownfuturevalue" => Ok(RiskState::Unknown),
        _ => Err(format!(
            "{raw:?} is not a risk state (none, confirmedSafe, remediated, dismissed, atRisk, \
             confirmedCompromised, unknownFutureValue)"
        )),
    }
}

impl UserRisk {
    /// Reads risky-user history items, riskyUser objects and/or risk detections from `path` (a
    /// file or a folder). `complete`: the export holds every risky user's full history, so
    /// missing data means "not risky" (see the module documentation).
    pub fn load(path: &Path, complete: bool) -> Result<UserRisk, InputError> {
        let mut r = UserRisk {
            complete,
            ..UserRisk::default()
        };
        for rec in read_records(path)? {
            r.add(&rec)?;
        }
        for points in r.history.values_mut() {
            points.sort_by_key(|p| p.at);
        }
        Ok(r)
    }

    fn add(&mut self, rec: &Record) -> Result<(), InputError> {
        let is_detection = ["detectedDateTime", "activityDateTime", "riskEventType"]
            .iter()
            .any(|k| rec.has(k));
        let user = if is_detection {
            rec.req_str("id", "userId")?
        } else {
            // riskyUserHistoryItem carries userId; a riskyUser object's id is the user's id.
            match rec.opt_str("userId", "userId")? {
                Some(u) => u,
                None => rec.opt_str("userId", "id")?.ok_or_else(|| {
                    rec.error("userId", "userId", "missing (and no id to fall back on)")
                })?,
            }
        };
        let id_field = if is_detection { "id" } else { "userId" };
        let key = user.to_ascii_lowercase();
        if let Some(upn) = rec.opt_str(id_field, "userPrincipalName")? {
            self.by_upn.insert(upn.to_lowercase(), key.clone());
        }
        let level = parse_risk_level(&rec.req_str(id_field, "riskLevel")?)
            .map_err(|e| rec.error(id_field, "riskLevel", e))?;
        let state = match rec.opt_str(id_field, "riskState")? {
            None => None,
            Some(s) => Some(parse_risk_state(&s).map_err(|e| rec.error(id_field, "riskState", e))?),
        };
        if is_detection {
            let start = match rec.opt_time(id_field, "detectedDateTime")? {
                Some(t) => t,
                None => rec.opt_time(id_field, "activityDateTime")?.ok_or_else(|| {
                    rec.error(
                        id_field,
                        "detectedDateTime",
                        "missing (and no activityDateTime to fall back on)",
                    )
                })?,
            };
            let end = match state {
                Some(RiskState::AtRisk) => End::Open,
                Some(RiskState::NotAtRisk) => {
                    match rec.opt_time(id_field, "lastUpdatedDateTime")? {
                        Some(t) => End::At(t),
                        None => End::Unknown,
                    }
                }
                Some(RiskState::Unknown) | None => End::Unknown,
            };
            self.detections
                .entry(key)
                .or_default()
                .push(Detection { start, end, level });
        } else {
            let at = rec
                .opt_time(id_field, "riskLastUpdatedDateTime")?
                .ok_or_else(|| {
                    rec.error(
                        id_field,
                        "riskLastUpdatedDateTime",
                        "missing (expected a riskyUserHistoryItem, or a riskDetection with \
                     detectedDateTime)",
                    )
                })?;
            let level = match state {
                Some(RiskState::NotAtRisk) => Some(RiskLevel::None),
                _ => level,
            };
            self.history
                .entry(key)
                .or_default()
                .push(Point { at, level });
        }
        Ok(())
    }

    /// Whether the export was declared complete.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Users with any history or detection.
    pub fn user_count(&self) -> usize {
        let mut n = self.history.len();
        n += self
            .detections
            .keys()
            .filter(|k| !self.history.contains_key(*k))
            .count();
        n
    }

    /// The user risk level in force at `time` for `user` (an object id or a UPN): `none`, `low`,
    /// `medium`, `high`, or `None` when the snapshot does not tell (see the module documentation).
    pub fn user_risk_at(&self, user: &str, time: Timestamp) -> Option<&'static str> {
        match self.key_for(user) {
            Some(key) => self.level_of(&key, time),
            None => self.no_data(),
        }
    }

    /// The user risk level at a sign-in's `createdDateTime`, for its `userId` (else its UPN);
    /// `None` also when the sign-in names no user or its time cannot be read.
    pub fn level_for_signin(&self, s: &SignIn) -> Option<&'static str> {
        let time: Timestamp = s.created_date_time.parse().ok()?;
        let id = s.user_id.as_deref();
        let upn = s.user_principal_name.as_deref();
        if id.is_none() && upn.is_none() {
            return None;
        }
        match id
            .and_then(|u| self.key_for(u))
            .or_else(|| upn.and_then(|u| self.key_for(u)))
        {
            Some(key) => self.level_of(&key, time),
            None => self.no_data(),
        }
    }

    /// The snapshot's key for a user id or UPN, when the snapshot has the user.
    fn key_for(&self, user: &str) -> Option<String> {
        let lower = user.trim().to_ascii_lowercase();
        if self.history.contains_key(&lower) || self.detections.contains_key(&lower) {
            return Some(lower);
        }
        self.by_upn.get(&user.trim().to_lowercase()).cloned()
    }

    fn level_of(&self, key: &str, time: Timestamp) -> Option<&'static str> {
        if let Some(points) = self.history.get(key) {
            let n = points.partition_point(|p| p.at <= time);
            return match n.checked_sub(1).and_then(|i| points.get(i)) {
                None => self.no_data(),
                Some(p) => p.level.map(risk_level_name),
            };
        }
        let mut highest: Option<RiskLevel> = None;
        let mut uncertain = false;
        for d in self.detections.get(key).map(Vec::as_slice).unwrap_or(&[]) {
            if d.start > time {
                continue;
            }
            let open = match d.end {
                End::Open => Some(true),
                End::At(t) => Some(time < t),
                End::Unknown => None,
            };
            match (open, d.level) {
                (Some(false), _) | (_, Some(RiskLevel::None)) => {}
                (Some(true), Some(l)) => highest = highest.max(Some(l)),
                _ => uncertain = true,
            }
        }
        match highest {
            Some(RiskLevel::High) => Some("high"),
            _ if uncertain => None,
            Some(l) => Some(risk_level_name(l)),
            None => self.no_data(),
        }
    }

    /// The answer when the snapshot has nothing for the time asked.
    fn no_data(&self) -> Option<&'static str> {
        self.complete.then_some("none")
    }
}

/// Reads a user-risk snapshot; see [`UserRisk::load`].
pub fn load_user_risk(path: &Path, complete: bool) -> Result<UserRisk, InputError> {
    UserRisk::load(path, complete)
}

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

/// One Graph `device` object, in the filter-for-devices vocabulary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DeviceRecord {
    /// Filter key -> values; present with an empty list = known null; absent = not exported.
    attributes: BTreeMap<String, Vec<String>>,
    /// `isManaged` (not a filter attribute; gates extension attributes).
    is_managed: Option<bool>,
    /// Where the device was first read (for duplicate messages).
    source: (PathBuf, String),
}

/// The device snapshot, keyed by lowercase `deviceId`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    by_device_id: HashMap<String, DeviceRecord>,
}

/// Single-valued string properties of a Graph device and their filter keys.
const DEVICE_STRINGS: &[(&str, &str)] = &[
    ("displayName", "displayname"),
    ("operatingSystem", "operatingsystem"),
    ("operatingSystemVersion", "operatingsystemversion"),
    ("trustType", "trusttype"),
    ("model", "model"),
    ("manufacturer", "manufacturer"),
    ("profileType", "profiletype"),
    ("enrollmentProfileName", "enrollmentprofilename"),
    ("deviceOwnership", "deviceownership"),
    ("mdmAppId", "mdmappid"),
];

/// String-collection properties.
const DEVICE_COLLECTIONS: &[(&str, &str)] = &[
    ("physicalIds", "physicalids"),
    ("systemLabels", "systemlabels"),
];

impl Devices {
    /// Reads Graph `device` objects from `path` (a file or a folder).
    pub fn load(path: &Path) -> Result<Devices, InputError> {
        let mut d = Devices::default();
        for rec in read_records(path)? {
            d.add(&rec)?;
        }
        Ok(d)
    }

    fn add(&mut self, rec: &Record) -> Result<(), InputError> {
        const ID: &str = "deviceId";
        let device_id = rec.req_str(ID, "deviceId")?;
        let mut attributes = BTreeMap::new();
        attributes.insert("deviceid".to_string(), vec![device_id.clone()]);
        for (field, key) in DEVICE_STRINGS {
            if !rec.has(field) {
                continue;
            }
            let v = rec.opt_str(ID, field)?;
            attributes.insert((*key).to_string(), v.into_iter().collect());
        }
        let is_managed = rec_bool(rec, ID, "isManaged")?;
        if rec.has("isCompliant") {
            let v = rec_bool(rec, ID, "isCompliant")?;
            attributes.insert(
                "iscompliant".into(),
                v.map(|b| if b { "True" } else { "False" }.to_string())
                    .into_iter()
                    .collect(),
            );
        }
        for (field, key) in DEVICE_COLLECTIONS {
            if !rec.has(field) {
                continue;
            }
            let values = match rec.get(field) {
                None => vec![],
                Some(Value::Array(items)) => {
                    let mut out = Vec::new();
                    for (j, item) in items.iter().enumerate() {
                        match item {
                            Value::String(s) => out.push(s.clone()),
                            Value::Null => {}
                            other => {
                                return Err(rec.error(
                                    ID,
                                    &format!("{field}[{j}]"),
                                    format!("expected a string, found {}", json_type(other)),
                                ));
                            }
                        }
                    }
                    out
                }
                Some(other) => {
                    return Err(rec.error(
                        ID,
                        field,
                        format!("expected an array of strings, found {}", json_type(other)),
                    ));
                }
            };
            attributes.insert((*key).to_string(), values);
        }
        if rec.has("extensionAttributes") {
            let ext = match rec.get("extensionAttributes") {
                None => None,
                Some(Value::Object(m)) => Some(m),
                Some(other) => {
                    return Err(rec.error(
                        ID,
                        "extensionAttributes",
                        format!(
                            "expected an object (onPremisesExtensionAttributes), found {}",
                            json_type(other)
                        ),
                    ));
                }
            };
            for n in 1..=15 {
                let name = format!("extensionAttribute{n}");
                let v = ext.and_then(|m| {
                    m.get(&name).or_else(|| {
                        m.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(&name))
                            .map(|(_, v)| v)
                    })
                });
                let values = match v {
                    None | Some(Value::Null) => vec![],
                    Some(Value::String(s)) if s.trim().is_empty() => vec![],
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(other) => {
                        return Err(rec.error(
                            ID,
                            &format!("extensionAttributes.{name}"),
                            format!("expected a string, found {}", json_type(other)),
                        ));
                    }
                };
                attributes.insert(name.to_ascii_lowercase(), values);
            }
        }
        let record = DeviceRecord {
            attributes,
            is_managed,
            source: (rec.file.clone(), rec.name(ID)),
        };
        let key = device_id.to_ascii_lowercase();
        if let Some(first) = self.by_device_id.get(&key) {
            if first.attributes == record.attributes && first.is_managed == record.is_managed {
                return Ok(()); // the same object twice (overlapping pages)
            }
            return Err(InputError::Duplicate {
                file: rec.file.clone(),
                record: rec.name(ID),
                what: format!(
                    "deviceId {device_id} with different properties (first as {})",
                    first.source.1
                ),
                first: first.source.0.clone(),
            });
        }
        self.by_device_id.insert(key, record);
        Ok(())
    }

    /// Devices in the snapshot.
    pub fn len(&self) -> usize {
        self.by_device_id.len()
    }

    /// Whether the snapshot holds no device.
    pub fn is_empty(&self) -> bool {
        self.by_device_id.is_empty()
    }

    /// Whether the snapshot holds this `deviceId`.
    pub fn contains(&self, device_id: &str) -> bool {
        self.by_device_id
            .contains_key(&device_id.trim().to_ascii_lowercase())
    }

    /// A device property in the filter-for-devices vocabulary (`model`, `extensionattribute1`,
    /// `physicalids`, ...; any case): `None` when the device or the property is not in the
    /// snapshot, `Some(vec![])` when it is known to be null.
    pub fn device_attribute(&self, device_id: &str, attr: &str) -> Option<Vec<String>> {
        self.by_device_id
            .get(&device_id.trim().to_ascii_lowercase())?
            .attributes
            .get(&attr.to_ascii_lowercase())
            .cloned()
    }

    /// A device property for the device of a sign-in, as Conditional Access would see it:
    /// extension attributes only for managed, compliant or hybrid joined devices (see the module
    /// documentation). The log's own values are not consulted here except for that rule.
    pub fn attribute_for_signin(&self, s: &SignIn, attr: &str) -> Option<Vec<String>> {
        let device_id = s.device_id.as_deref()?;
        let attr = attr.to_ascii_lowercase();
        let value = self.device_attribute(device_id, &attr)?;
        if !attr.starts_with("extensionattribute") || value.is_empty() {
            return Some(value);
        }
        let dev = self
            .by_device_id
            .get(&device_id.trim().to_ascii_lowercase())?;
        let snapshot_says = |key: &str, want: &str| {
            dev.attributes
                .get(key)
                .map(|v| v.iter().any(|x| x.eq_ignore_ascii_case(want)))
        };
        let managed = s.device_managed.or(dev.is_managed);
        let compliant = s
            .device_compliant
            .or_else(|| snapshot_says("iscompliant", "True"));
        let hybrid = match s.device_trust_type.as_deref() {
            Some(t) => Some(
                t.to_ascii_lowercase().contains("hybrid") || t.eq_ignore_ascii_case("ServerAD"),
            ),
            None => snapshot_says("trusttype", "ServerAD"),
        };
        let states = [managed, compliant, hybrid];
        if states.contains(&Some(true)) {
            Some(value)
        } else if states.iter().all(|x| *x == Some(false)) {
            Some(vec![])
        } else {
            None
        }
    }
}

fn rec_bool(rec: &Record, id_field: &str, key: &str) -> Result<Option<bool>, InputError> {
    match rec.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(rec.error(
            id_field,
            key,
            format!("expected true or false, found {}", json_type(other)),
        )),
    }
}

/// Reads a device snapshot; see [`Devices::load`].
pub fn load_devices(path: &Path) -> Result<Devices, InputError> {
    Devices::load(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_at_skips_leading_blanks() {
        let t = "{\"a\":1}\n\n  {\"b\":2}\n";
        assert_eq!(line_at(t, 0), 1);
        assert_eq!(line_at(t, 7), 3);
    }
}
