//! Reading Microsoft Entra directory audit exports into normalized [`AuditRecord`]s.
//!
//! The files are found, opened and told apart exactly as sign-in exports are (see
//! [`crate::signin`]: folders read recursively, gzip by its magic bytes, BOM and UTF-16,
//! NDJSON versus a stream of documents, CSV by its header), and the same rules hold for bad
//! records: an error names the file, the record (and line) and the field, and
//! [`ReadOptions::skip_bad_records`] skips and counts them instead.
//!
//! NDJSON lines and Graph list pages (a page on a line, or a file of pages up to 64 MiB, held
//! as bytes) are first read by a fast path (`audit/fast.rs`) that reads a Graph
//! `directoryAudit` record straight into an [`AuditRecord`], without a JSON tree; it declines
//! every line or page it cannot read exactly as the general reader does, which then reads it,
//! so records, warnings and errors are the same either way.
//!
//! | content | `sourceVariant` |
//! |---|---|
//! | Graph `directoryAudit` list page(s) `{"value":[...]}` | `graph` |
//! | a JSON array of directoryAudit objects (or Log Analytics `AuditLogs` rows) | `json-array` |
//! | NDJSON, one object per line | `ndjson` |
//! | one object on its own | `json-object` |
//! | diagnostic-settings `{"records":[...]}` blobs (gzip too), or one record per line | `diagnostic` |
//! | a Log Analytics `AuditLogs` CSV export (`Id`, `ActivityDisplayName`, `TimeGenerated [UTC]`, ...) | `log-analytics-csv` |
//!
//! # Mapping
//!
//! Keys are matched without regard to case. A diagnostic record (an object with a
//! `properties` object and an `operationName` or `category`) is read from `properties`, with
//! the envelope's `time`, `operationName`, `correlationId` and `tenantId` as fallbacks;
//! records of another category than `AuditLogs` (sign-ins, risky users, ...) are ignored with
//! a warning. A Log Analytics row keeps its nested columns (`InitiatedBy`, `TargetResources`,
//! `AdditionalDetails`) as JSON text, which is parsed here.
//!
//! | field | sources | rule |
//! |---|---|---|
//! | `id` | `id` | required, non-empty text |
//! | `activityDateTime` | `activityDateTime`, else `TimeGenerated` / diagnostic `time` | required; any timestamp shape the sign-in reader knows, written as UTC |
//! | `activity` | `activityDisplayName`, else `OperationName` | required |
//! | `category`, `result`, `resultReason`, `operationType`, `loggedByService` | same names (`AADOperationType` for Log Analytics) | optional text |
//! | `correlationId`, `tenantId` | same names (`AADTenantId`) | optional text |
//! | `initiatedBy.user` | `id`, `userPrincipalName`, `displayName`, `ipAddress` | absent when every member is empty |
//! | `initiatedBy.app` | `appId`, `displayName`, `servicePrincipalId`, `servicePrincipalName` | absent when every member is empty |
//! | `targetResources[]` | `id`, `displayName`, `type`, `userPrincipalName`, `groupType`, `modifiedProperties[]` (`displayName`, `oldValue`, `newValue`) | values kept as text (a JSON value that is not text is written as JSON) |
//! | `additionalDetails[]` | `key`, `value` | as text |
//!
//! "Empty" is null, `""` or the all-zero GUID, as in sign-in exports. An audit id seen before
//! (in any file) is dropped and counted.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::InputError;
use crate::signin::delimited::{LaColumns, csv_cells, csv_headers, csv_io, csv_reader, la_row};
use crate::signin::input::{Meter, Opened, Start, open, rejoin, start, starts_json};
use crate::signin::json::{Container, Receiver, nested_records};
use crate::signin::time::{TimeError, normalize_with};
use crate::signin::{
    JsonFile, LineSource, ReadOptions, SeenIds, read_documents, read_json, read_line, read_whole,
};
use crate::text;

mod fast;
pub mod view;

/// One directory audit record (a Graph `directoryAudit`), normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The audit record's id (unique per tenant).
    pub id: String,
    /// When the change took effect, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub activity_date_time: String,
    /// The activity, e.g. `Add member to group`, `Update user`.
    pub activity: String,
    /// The audit category, e.g. `GroupManagement`, `UserManagement`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `success`, `failure`, `timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Why the result is what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_reason: Option<String>,
    /// `Add`, `Update`, `Delete`, `Assign`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
    /// The service that logged it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logged_by_service: Option<String>,
    /// The correlation id shared by the records of one operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The tenant, when the export says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Who made the change.
    #[serde(default)]
    pub initiated_by: Initiator,
    /// What the change was made to.
    #[serde(default)]
    pub target_resources: Vec<TargetResource>,
    /// Extra key-value details the service logged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_details: Vec<Detail>,
    /// Which export variant the record came from.
    #[serde(default)]
    pub source_variant: String,
}

/// Who made a change: a user, an app (service principal), or (rarely) both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initiator {
    /// The signed-in user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserIdentity>,
    /// The app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<AppIdentity>,
}

/// A user who made a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// Object id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// User principal name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// IP address the change came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// An app that made a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppIdentity {
    /// Application (client) id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Service principal object id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_principal_id: Option<String>,
    /// Service principal name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_principal_name: Option<String>,
}

/// What a change was made to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    /// Object id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `User`, `Group`, `Device`, `ServicePrincipal`, `Role`, ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// User principal name (user targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Group type (group targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_type: Option<String>,
    /// The properties the change modified.
    #[serde(default)]
    pub modified_properties: Vec<ModifiedProperty>,
}

impl TargetResource {
    /// Whether this target is a user.
    pub fn is_user(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("user"))
    }
}

/// One property a change modified, with its value before and after (as the log writes them:
/// usually JSON text such as `["Gold"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    /// The property, e.g. `jobTitle`, `Group.ObjectID`.
    #[serde(default)]
    pub display_name: String,
    /// Its value before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_value: Option<String>,
    /// Its value after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_value: Option<String>,
}

/// One additional detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    /// Its name.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// What reading produced, besides the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReadStats {
    /// Records handed to the sink (each id once).
    pub records: usize,
    /// Records dropped because their id had been read before.
    pub duplicates: usize,
    /// Records skipped as unreadable (only with [`ReadOptions::skip_bad_records`]).
    pub skipped: usize,
    /// Things the user should know, one line each, each naming its file.
    pub warnings: Vec<String>,
}

/// Reads every audit record in `paths` (files or folders) and hands each, in file order, to
/// `sink`, reporting progress as (bytes read, bytes in all files).
///
/// Errors name the file and, where one record is at fault, its record number, line and
/// field; all are input errors (exit code 2).
pub fn read_audits(
    paths: &[PathBuf],
    opts: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
    sink: &mut dyn FnMut(AuditRecord),
) -> Result<AuditReadStats, InputError> {
    read_audits_by(paths, opts, true, progress, sink).map(|(stats, _)| stats)
}

/// [`read_audits`] by the general path alone (no NDJSON line or Graph page goes through the
/// fast path), for the differential fuzz target.
#[doc(hidden)]
pub fn read_audits_general(
    paths: &[PathBuf],
    opts: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
    sink: &mut dyn FnMut(AuditRecord),
) -> Result<AuditReadStats, InputError> {
    read_audits_by(paths, opts, false, progress, sink).map(|(stats, _)| stats)
}

/// [`read_audits`], with NDJSON lines and Graph pages tried by the fast path first when
/// `fast`; also returns how many records the fast path read.
fn read_audits_by(
    paths: &[PathBuf],
    opts: &ReadOptions,
    fast: bool,
    progress: &mut dyn FnMut(u64, u64),
    sink: &mut dyn FnMut(AuditRecord),
) -> Result<(AuditReadStats, usize), InputError> {
    let (files, mut meter) = Meter::over(paths, progress)?;
    let mut fast_records = 0;
    let mut stats = AuditReadStats::default();
    let mut seen = SeenIds::default();
    for file in &files {
        let mut state = AuditFile {
            file,
            opts,
            sink,
            seen: &mut seen,
            stats: &mut stats,
            meter: &mut meter,
            line_mode: false,
            fast,
            fast_records: &mut fast_records,
            line: LineSource::Fixed(0),
            index: 0,
            csv: false,
            other_categories: BTreeMap::new(),
            duplicate_keys: 0,
            skipped: 0,
            first_skip: None,
            fatal: None,
        };
        state.read()?;
        state.finish();
        meter.file_done(file);
    }
    (meter.report)(meter.total, meter.total);
    Ok((stats, fast_records))
}

/// The state of reading one file.
struct AuditFile<'a, 'm> {
    file: &'a Path,
    opts: &'a ReadOptions,
    sink: &'a mut dyn FnMut(AuditRecord),
    seen: &'a mut SeenIds,
    stats: &'a mut AuditReadStats,
    meter: &'a mut Meter<'m>,
    line_mode: bool,
    /// Whether NDJSON lines and Graph pages are tried by the fast path first.
    fast: bool,
    /// Records the fast path read (in every file).
    fast_records: &'a mut usize,
    line: LineSource,
    /// Records met in this file so far.
    index: usize,
    csv: bool,
    other_categories: BTreeMap<String, usize>,
    duplicate_keys: usize,
    skipped: usize,
    first_skip: Option<String>,
    fatal: Option<InputError>,
}

impl AuditFile<'_, '_> {
    fn read(&mut self) -> Result<(), InputError> {
        let file = self.file;
        let input = match open(file, &self.meter.counter)? {
            Opened::Table => {
                return Err(InputError::format(
                    file,
                    "a Parquet file; directory audit exports are JSON or CSV",
                ));
            }
            Opened::Text(input) => input,
        };
        let Some(start) = start(input, file)? else {
            self.stats.warnings.push(format!(
                "{}: no audit records (the file is empty)",
                file.display()
            ));
            return Ok(());
        };
        self.line = LineSource::Fixed(start.line_no);
        if starts_json(&start.first) {
            self.line_mode = start.complete && crate::signin::input::is_one_value(&start.first);
            if self.line_mode && self.fast {
                self.read_lines(start)
            } else if !self.line_mode
                && self.fast
                && start.first.trim_ascii_start().starts_with(b"{")
            {
                self.read_whole_pages(start)
            } else {
                read_json(self, start)
            }
        } else {
            self.csv = true;
            self.read_csv(start)
        }
    }

    /// An NDJSON file (line mode), as [`read_json`] reads one, but each line tried by the fast
    /// path first ([`fast::map_line`]); a line it declines is read by the general path
    /// ([`read_line`]) in its place.
    fn read_lines(&mut self, start: Start) -> Result<(), InputError> {
        let file = self.file;
        let Start {
            first,
            mut line_no,
            mut rest,
            ..
        } = start;
        self.read_one_line(&first, line_no)?;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if rest
                .read_until(b'\n', &mut buf)
                .map_err(|e| InputError::io(file, e))?
                == 0
            {
                break;
            }
            line_no += 1;
            if !buf.iter().all(u8::is_ascii_whitespace) {
                self.read_one_line(&buf, line_no)?;
            }
        }
        Ok(())
    }

    /// One NDJSON line: a record, or a Graph list page, through the fast path; else by the
    /// general path.
    fn read_one_line(&mut self, bytes: &[u8], line_no: usize) -> Result<(), InputError> {
        let variant = self.variant(Container::Single);
        if let Some(record) = fast::map_line(bytes, variant, self.opts.date_order) {
            self.taken(record);
            return Ok(());
        }
        match fast::map_pages(bytes, true, self.opts.date_order) {
            Some(records) => {
                records.into_iter().for_each(|r| self.taken(r));
                Ok(())
            }
            None => read_line(self, bytes, line_no),
        }
    }

    /// A JSON file that is not NDJSON and starts with `{`: read whole ([`read_whole`]) and,
    /// when it holds Graph list pages the fast path takes ([`fast::map_pages`]), mapped by it;
    /// otherwise the general path reads it, from the same bytes (and a read error where
    /// reading stopped), so that it sees exactly what it would have read itself.
    fn read_whole_pages(&mut self, start: Start) -> Result<(), InputError> {
        let replay = match read_whole(start) {
            Ok(bytes) => match fast::map_pages(&bytes, false, self.opts.date_order) {
                Some(records) => {
                    records.into_iter().for_each(|r| self.taken(r));
                    return Ok(());
                }
                None => rejoin(bytes, Box::new(io::empty())),
            },
            Err(replay) => replay,
        };
        read_documents(self, replay)
    }

    /// A record the fast path read, counted as the general path counts it.
    fn taken(&mut self, record: AuditRecord) {
        *self.fast_records += 1;
        self.index += 1;
        self.meter.tick();
        self.mapped(record);
    }

    /// A Log Analytics `AuditLogs` CSV export, one record per row.
    fn read_csv(&mut self, start: crate::signin::input::Start) -> Result<(), InputError> {
        let file = self.file;
        let mut reader = csv_reader(start);
        let headers = csv_headers(&mut reader, file)?;
        let cols = LaColumns::new(&headers);
        if !(cols.has("id")
            && (cols.has("activitydisplayname") || cols.has("operationname"))
            && (cols.has("activitydatetime") || cols.has("timegenerated")))
        {
            let found: String = headers.join(",").chars().take(60).collect();
            return Err(InputError::format(
                file,
                format!(
                    "not a directory audit export: expected JSON (a Graph directoryAudit page, \
                     an array, NDJSON or diagnostic records) or a Log Analytics AuditLogs CSV \
                     export (Id, ActivityDisplayName, ActivityDateTime or TimeGenerated, ...), \
                     found {found:?}"
                ),
            ));
        }
        let mut row = csv::ByteRecord::new();
        while reader
            .read_byte_record(&mut row)
            .map_err(|e| csv_io(file, e))?
        {
            let line = row
                .position()
                .map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
            let number = self.index + 1;
            let locus = format!("record {number} (line {line})");
            let cells = match csv_cells(&row, &headers, file, &locus) {
                Ok(cells) => cells,
                Err((error, _)) => {
                    self.index = number;
                    let summary = strip_file(file, &error);
                    if self.bad(error, summary).is_err() {
                        return Err(self.stored_fatal(&locus));
                    }
                    continue;
                }
            };
            if cells.iter().all(|c| c.trim().is_empty()) {
                self.index = number;
                continue;
            }
            let outcome = match la_row(&cols, &cells, self.opts.date_order) {
                Ok(r) => self.one_record(&r.record, Container::Array, line),
                Err(e) => {
                    self.index = number;
                    let error = InputError::field(file, locus.clone(), e.field, e.reason);
                    let summary = strip_file(file, &error);
                    if e.fatal {
                        return Err(error);
                    }
                    self.bad(error, summary)
                }
            };
            if outcome.is_err() {
                return Err(self.stored_fatal(&locus));
            }
        }
        Ok(())
    }

    fn stored_fatal(&mut self, locus: &str) -> InputError {
        self.fatal
            .take()
            .unwrap_or_else(|| InputError::format(self.file, format!("{locus}: rejected")))
    }

    /// Where record `index` is, for messages.
    fn locus(&self, line: usize) -> String {
        format!("record {} (line {line})", self.index)
    }

    /// A record that cannot be read: skipped, or the error that stops reading.
    fn bad(&mut self, error: InputError, summary: String) -> Result<(), ()> {
        if self.opts.skip_bad_records {
            JsonFile::skip(self, summary);
            Ok(())
        } else {
            self.fatal = Some(error);
            Err(())
        }
    }

    fn variant(&self, container: Container) -> &'static str {
        if self.csv {
            return "log-analytics-csv";
        }
        match container {
            Container::GraphPage => "graph",
            Container::Records => "diagnostic",
            Container::Array => "json-array",
            Container::Single if self.line_mode => "ndjson",
            Container::Single => "json-object",
        }
    }

    /// A record that mapped: handed over unless its id was seen before.
    fn mapped(&mut self, record: AuditRecord) {
        if self.seen.insert(&record.id) {
            self.stats.records += 1;
            (self.sink)(record);
        } else {
            self.stats.duplicates += 1;
        }
    }

    fn one_record(
        &mut self,
        object: &Map<String, Value>,
        container: Container,
        line: usize,
    ) -> Result<(), ()> {
        self.index += 1;
        self.meter.tick();
        let variant = self.variant(container);
        match map_audit(object, variant, self.opts.date_order) {
            Ok(Some(record)) => {
                self.mapped(record);
                Ok(())
            }
            Ok(None) => {
                let category = get_text(object, "category")
                    .or_else(|| get_text(object, "type"))
                    .unwrap_or_else(|| "?".into());
                *self.other_categories.entry(category).or_default() += 1;
                Ok(())
            }
            Err(e) => {
                let locus = self.locus(line);
                let summary = format!("{locus}: field {}: {}", e.field, e.reason);
                let error = InputError::field(self.file, locus, e.field, e.reason);
                if e.fatal {
                    self.fatal = Some(error);
                    return Err(());
                }
                self.bad(error, summary)
            }
        }
    }

    fn finish(self) {
        let file = self.file.display();
        let warnings = &mut self.stats.warnings;
        if self.duplicate_keys > 0 {
            warnings.push(format!(
                "{file}: {} duplicate JSON key(s) (the last value was kept)",
                self.duplicate_keys
            ));
        }
        for (category, n) in &self.other_categories {
            warnings.push(format!(
                "{file}: ignored {n} record(s) of category {category} (not directory audits)"
            ));
        }
        if let Some(first) = &self.first_skip {
            warnings.push(format!(
                "{file}: skipped {} unreadable record(s); the first: {first}",
                self.skipped
            ));
        }
        if self.index == 0 && self.first_skip.is_none() {
            warnings.push(format!("{file}: no audit records"));
        }
    }
}

/// An error's message without the file name in front (for skip summaries).
fn strip_file(file: &Path, error: &InputError) -> String {
    let text = error.to_string();
    text.strip_prefix(&format!("{}: ", file.display()))
        .unwrap_or(&text)
        .to_string()
}

impl Receiver for AuditFile<'_, '_> {
    fn duplicate_key(&mut self, _key: &str) {
        self.duplicate_keys += 1;
    }

    fn line(&self) -> usize {
        self.line.now()
    }

    fn record(&mut self, value: Value, container: Container, line: usize) -> Result<(), ()> {
        match value {
            Value::Object(mut object) => {
                if let Some((items, inner)) = nested_records(&mut object) {
                    for item in items {
                        self.record(item, inner, line)?;
                    }
                    return Ok(());
                }
                self.one_record(&object, container, line)
            }
            Value::Array(items) => {
                for item in items {
                    self.record(item, container, line)?;
                }
                Ok(())
            }
            other => {
                self.index += 1;
                let locus = self.locus(line);
                let reason = format!(
                    "{locus}: expected a directory audit object, found {}",
                    text::json_type(&other)
                );
                self.bad(InputError::format(self.file, reason.clone()), reason)
            }
        }
    }
}

impl JsonFile for AuditFile<'_, '_> {
    fn file(&self) -> &Path {
        self.file
    }

    fn set_line(&mut self, line: LineSource) {
        self.line = line;
    }

    fn take_fatal(&mut self) -> Option<InputError> {
        self.fatal.take()
    }

    fn skips_bad_records(&self) -> bool {
        self.opts.skip_bad_records
    }

    fn skip(&mut self, summary: String) {
        self.skipped += 1;
        self.stats.skipped += 1;
        self.first_skip.get_or_insert(summary);
    }
}

/// What is wrong with one field of an audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFieldError {
    /// Dotted path as written in the export, e.g. `targetResources[0].modifiedProperties`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
    /// The whole file is misread (a date that contradicts the date order).
    pub fatal: bool,
}

impl AuditFieldError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> AuditFieldError {
        AuditFieldError {
            field: field.into(),
            reason: reason.into(),
            fatal: false,
        }
    }
}

/// A member of an object whose keys may be in any case.
fn get<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Absent in any encoding: null, empty text, the all-zero GUID.
fn is_empty_text(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || t == "00000000-0000-0000-0000-000000000000"
}

/// A member as text: strings as they are, other JSON values written as JSON; `None` when
/// absent or empty.
fn get_text(object: &Map<String, Value>, key: &str) -> Option<String> {
    match get(object, key)? {
        Value::Null => None,
        Value::String(s) if is_empty_text(s) => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A nested member: an object or array as such, or (Log Analytics) as JSON text.
fn nested(
    object: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<Value>, AuditFieldError> {
    match get(object, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map(|v| if v.is_null() { None } else { Some(v) })
            .map_err(|e| AuditFieldError::new(field, format!("not valid JSON text: {e}"))),
        Some(v) => Ok(Some(v.clone())),
    }
}

fn as_object<'v>(v: &'v Value, field: &str) -> Result<&'v Map<String, Value>, AuditFieldError> {
    v.as_object().ok_or_else(|| {
        AuditFieldError::new(
            field,
            format!("expected an object, found {}", text::json_type(v)),
        )
    })
}

fn as_array<'v>(v: &'v Value, field: &str) -> Result<&'v Vec<Value>, AuditFieldError> {
    v.as_array().ok_or_else(|| {
        AuditFieldError::new(
            field,
            format!("expected an array, found {}", text::json_type(v)),
        )
    })
}

/// Maps one record; `Ok(None)` for a record that is not a directory audit (a diagnostic or
/// Log Analytics record of another category).
pub fn map_audit(
    object: &Map<String, Value>,
    variant: &str,
    order: crate::signin::DateOrder,
) -> Result<Option<AuditRecord>, AuditFieldError> {
    // A diagnostic-settings record: the audit is its `properties`.
    let diagnostic = match get(object, "properties") {
        Some(Value::Object(p))
            if get(object, "operationname").is_some() || get(object, "category").is_some() =>
        {
            if let Some(c) = get_text(object, "category")
                && !c.eq_ignore_ascii_case("auditlogs")
            {
                return Ok(None);
            }
            Some(p)
        }
        _ => None,
    };
    // A Log Analytics row of another table.
    if diagnostic.is_none()
        && let Some(t) = get_text(object, "type")
        && get(object, "timegenerated").is_some()
        && !t.eq_ignore_ascii_case("auditlogs")
    {
        return Ok(None);
    }
    let (body, prefix) = match diagnostic {
        Some(p) => (p, "properties."),
        None => (object, ""),
    };
    let field = |name: &str| format!("{prefix}{name}");
    let text_of = |name: &str| get_text(body, name);

    let id = text_of("id").ok_or_else(|| {
        AuditFieldError::new(field("id"), "missing: every audit record needs its id")
    })?;
    let (time_field, raw_time) = match text_of("activitydatetime") {
        Some(t) => (field("activityDateTime"), t),
        None => match get_text(object, "timegenerated").or_else(|| get_text(object, "time")) {
            Some(t) => ("activityDateTime".to_string(), t),
            None => {
                return Err(AuditFieldError::new(
                    field("activityDateTime"),
                    "missing: the time the change took effect is required",
                ));
            }
        },
    };
    let activity_date_time = match normalize_with(&raw_time, order) {
        Ok(n) => n.text,
        Err(TimeError::Unrecognized) => {
            return Err(AuditFieldError::new(
                time_field,
                format!("{raw_time:?} is not a timestamp (expected e.g. 2026-01-05T09:12:44Z)"),
            ));
        }
        Err(TimeError::ContradictsOrder) => {
            return Err(AuditFieldError {
                field: time_field,
                reason: format!(
                    "{raw_time:?} cannot be read with --date-order {}; use --date-order {}",
                    order.flag(),
                    match order {
                        crate::signin::DateOrder::MonthFirst => "dmy",
                        crate::signin::DateOrder::DayFirst => "mdy",
                    }
                ),
                fatal: true,
            });
        }
    };
    let activity = text_of("activitydisplayname")
        .or_else(|| get_text(object, "operationname"))
        .ok_or_else(|| {
            AuditFieldError::new(
                field("activityDisplayName"),
                "missing: the activity (what was changed) is required",
            )
        })?;

    let initiated_by = match nested(body, "initiatedby", &field("initiatedBy"))? {
        None => Initiator::default(),
        Some(v) => initiator(as_object(&v, &field("initiatedBy"))?, &field("initiatedBy"))?,
    };
    let mut target_resources = Vec::new();
    if let Some(v) = nested(body, "targetresources", &field("targetResources"))? {
        for (i, t) in as_array(&v, &field("targetResources"))?.iter().enumerate() {
            let at = format!("{}[{i}]", field("targetResources"));
            target_resources.push(target(as_object(t, &at)?, &at)?);
        }
    }
    let mut additional_details = Vec::new();
    if let Some(v) = nested(body, "additionaldetails", &field("additionalDetails"))? {
        for (i, d) in as_array(&v, &field("additionalDetails"))?
            .iter()
            .enumerate()
        {
            let at = format!("{}[{i}]", field("additionalDetails"));
            let d = as_object(d, &at)?;
            if let Some(key) = get_text(d, "key") {
                additional_details.push(Detail {
                    key,
                    value: get_text(d, "value").unwrap_or_default(),
                });
            }
        }
    }
    Ok(Some(AuditRecord {
        id,
        activity_date_time,
        activity,
        category: text_of("category").filter(|c| !c.eq_ignore_ascii_case("auditlogs")),
        result: text_of("result"),
        result_reason: text_of("resultreason"),
        operation_type: text_of("operationtype").or_else(|| text_of("aadoperationtype")),
        logged_by_service: text_of("loggedbyservice"),
        correlation_id: text_of("correlationid").or_else(|| get_text(object, "correlationid")),
        tenant_id: text_of("tenantid")
            .or_else(|| text_of("aadtenantid"))
            .or_else(|| get_text(object, "tenantid")),
        initiated_by,
        target_resources,
        additional_details,
        source_variant: variant.to_string(),
    }))
}

fn initiator(o: &Map<String, Value>, field: &str) -> Result<Initiator, AuditFieldError> {
    let part = |key: &str| -> Result<Option<&Map<String, Value>>, AuditFieldError> {
        match get(o, key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_object(v, &format!("{field}.{key}")).map(Some),
        }
    };
    let user = part("user")?.map(|u| UserIdentity {
        id: get_text(u, "id"),
        user_principal_name: get_text(u, "userPrincipalName"),
        display_name: get_text(u, "displayName"),
        ip_address: get_text(u, "ipAddress"),
    });
    let app = part("app")?.map(|a| AppIdentity {
        app_id: get_text(a, "appId"),
        display_name: get_text(a, "displayName"),
        service_principal_id: get_text(a, "servicePrincipalId"),
        service_principal_name: get_text(a, "servicePrincipalName"),
    });
    Ok(Initiator {
        user: user.filter(|u| *u != UserIdentity::default()),
        app: app.filter(|a| *a != AppIdentity::default()),
    })
}

fn target(o: &Map<String, Value>, field: &str) -> Result<TargetResource, AuditFieldError> {
    let mut modified_properties = Vec::new();
    match get(o, "modifiedProperties") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let at = format!("{field}.modifiedProperties");
            for (i, p) in as_array(v, &at)?.iter().enumerate() {
                let at = format!("{at}[{i}]");
                let p = as_object(p, &at)?;
                let display_name = match get(p, "displayName") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => {
                        return Err(AuditFieldError::new(
                            format!("{at}.displayName"),
                            format!("expected text, found {}", text::json_type(other)),
                        ));
                    }
                };
                modified_properties.push(ModifiedProperty {
                    display_name,
                    old_value: get_text(p, "oldValue"),
                    new_value: get_text(p, "newValue"),
                });
            }
        }
    }
    Ok(TargetResource {
        id: get_text(o, "id"),
        display_name: get_text(o, "displayName"),
        kind: get_text(o, "type"),
        user_principal_name: get_text(o, "userPrincipalName"),
        group_type: get_text(o, "groupType"),
        modified_properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::DateOrder;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn graph_record_maps_initiator_targets_and_modified_properties() {
        let rec = map_audit(
            &object(serde_json::json!({
                "id": "Directory_1", "category": "UserManagement",
                "correlationId": "c-1", "result": "success",
                "activityDisplayName": "Update user",
                "activityDateTime": "2026-01-05T09:12:44.1234567+01:00",
                "initiatedBy": {"app": {"appId": "app-1", "displayName": "Enricher",
                                        "servicePrincipalId": null}, "user": null},
                "targetResources": [{"id": "u-1", "type": "User", "userPrincipalName": "a@b",
                    "modifiedProperties": [{"displayName": "jobTitle", "oldValue": null,
                                            "newValue": "[\"Buyer\"]"}]}]
            })),
            "graph",
            DateOrder::MonthFirst,
        )
        .unwrap()
        .unwrap();
        assert_eq!(rec.activity_date_time, "2026-01-05T08:12:44.123Z");
        assert_eq!(rec.initiated_by.user, None);
        let app = rec.initiated_by.app.unwrap();
        assert_eq!(app.app_id.as_deref(), Some("app-1"));
        assert_eq!(app.service_principal_id, None);
        assert!(rec.target_resources[0].is_user());
        let p = &rec.target_resources[0].modified_properties[0];
        assert_eq!(p.display_name, "jobTitle");
        assert_eq!(p.old_value, None);
        assert_eq!(p.new_value.as_deref(), Some("[\"Buyer\"]"));
    }

    #[test]
    fn log_analytics_nested_columns_are_json_text() {
        let rec = map_audit(
            &object(serde_json::json!({
                "id": "Directory_2", "operationname": "Add member to group",
                "timegenerated": "2026-01-05T10:00:00Z", "type": "AuditLogs",
                "initiatedby": "{\"user\":{\"id\":\"u-9\",\"userPrincipalName\":\"x@y\"}}",
                "targetresources": "[{\"id\":\"g-1\",\"type\":\"Group\",\"modifiedProperties\":[]}]",
                "aadtenantid": "t-1"
            })),
            "json-array",
            DateOrder::MonthFirst,
        )
        .unwrap()
        .unwrap();
        assert_eq!(rec.activity, "Add member to group");
        assert_eq!(rec.activity_date_time, "2026-01-05T10:00:00.000Z");
        assert_eq!(
            rec.initiated_by
                .user
                .unwrap()
                .user_principal_name
                .as_deref(),
            Some("x@y")
        );
        assert_eq!(rec.target_resources[0].id.as_deref(), Some("g-1"));
        assert_eq!(rec.tenant_id.as_deref(), Some("t-1"));
    }

    #[test]
    fn diagnostic_records_read_properties_and_skip_other_categories() {
        let rec = map_audit(
            &object(serde_json::json!({
                "time": "2026-01-05T10:00:00Z", "operationName": "Update device",
                "category": "AuditLogs", "tenantId": "t-2", "correlationId": "c-2",
                "properties": {"id": "Directory_3", "activityDisplayName": "Update device",
                               "activityDateTime": "2026-01-05T10:00:01Z", "category": "Device"}
            })),
            "diagnostic",
            DateOrder::MonthFirst,
        )
        .unwrap()
        .unwrap();
        assert_eq!(rec.id, "Directory_3");
        assert_eq!(rec.category.as_deref(), Some("Device"));
        assert_eq!(rec.tenant_id.as_deref(), Some("t-2"));
        assert_eq!(rec.correlation_id.as_deref(), Some("c-2"));
        let other = map_audit(
            &object(serde_json::json!({
                "operationName": "Sign-in activity", "category": "SignInLogs",
                "properties": {"id": "s-1"}
            })),
            "diagnostic",
            DateOrder::MonthFirst,
        )
        .unwrap();
        assert_eq!(other, None);
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (
                serde_json::json!({"activityDisplayName": "x", "activityDateTime": "2026-01-05T10:00:00Z"}),
                "id",
            ),
            (
                serde_json::json!({"id": "a", "activityDisplayName": "x", "activityDateTime": "yesterday"}),
                "activityDateTime",
            ),
            (
                serde_json::json!({"id": "a", "activityDateTime": "2026-01-05T10:00:00Z"}),
                "activityDisplayName",
            ),
            (
                serde_json::json!({"id": "a", "activityDisplayName": "x", "activityDateTime": "2026-01-05T10:00:00Z",
                                "targetResources": {"id": "t"}}),
                "targetResources",
            ),
            (
                serde_json::json!({"id": "a", "activityDisplayName": "x", "activityDateTime": "2026-01-05T10:00:00Z",
                                "targetResources": [{"modifiedProperties": [7]}]}),
                "targetResources[0].modifiedProperties[0]",
            ),
            (
                serde_json::json!({"id": "a", "activityDisplayName": "x", "activityDateTime": "2026-01-05T10:00:00Z",
                                "initiatedBy": "{not json"}),
                "initiatedBy",
            ),
        ];
        for (record, field) in cases {
            let err = map_audit(&object(record.clone()), "graph", DateOrder::MonthFirst)
                .expect_err(&record.to_string());
            assert_eq!(err.field, field, "{record}");
        }
    }
}
