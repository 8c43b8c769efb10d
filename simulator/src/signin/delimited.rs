//! CSV sign-in exports: telling them apart by their header, and Log Analytics rows.
//!
//! | header holds | layout |
//! |---|---|
//! | `Request ID`, `Authentication method`, `Succeeded` | the portal's `*_AuthDetails_*` side file ([`super::portal`]) |
//! | `Request ID`, `Date (UTC)` and a sign-in column (`Status`, `Application`, ...) | the portal's sign-in download ([`super::portal`]) |
//! | `Id` and `TimeGenerated` or `CreatedDateTime` (with or without ` [UTC]`) | a Log Analytics export (`SigninLogs`, `AADNonInteractiveUserSignInLogs`, ...) |
//!
//! The delimiter is the one of `,`, `;` and tab that occurs most in the header line outside
//! quotes (locales with a decimal comma write `;`).
//!
//! A Log Analytics row becomes a record keyed by its column names (folded to lowercase, the
//! ` [UTC]` suffix dropped); its nested columns (`LocationDetails`, `DeviceDetail`, `Status`,
//! `ConditionalAccessPolicies`, `AuthenticationDetails`, ...) arrive as JSON text, which
//! [`super::map`] parses as it does for Log Analytics JSON.

use std::io::BufRead;
use std::path::Path;

use serde_json::{Map, Value};

use super::input::{Meter, Opened, Start, open, rejoin, start, starts_json};
use super::json::Container;
use super::map::FieldError;
use super::portal::{self, AuthColumns, Row, SignInColumns, column_key, date_cell};
use super::time::DateOrder;
use super::{FileState, ReadOptions, ReadStats};
use crate::error::InputError;

/// What a CSV file is, from its header.
#[derive(Debug)]
pub(crate) enum Layout {
    /// The portal's sign-in download.
    PortalSignIns(SignInColumns),
    /// The portal's authentication-details side file.
    AuthDetails(AuthColumns),
    /// A Log Analytics export.
    LogAnalytics(LaColumns),
}

/// The `source_variant` of a CSV layout's sign-ins.
pub(crate) const PORTAL_CSV: &str = "portal-csv";
/// The `source_variant` of Log Analytics CSV rows.
pub(crate) const LOG_ANALYTICS_CSV: &str = "log-analytics-csv";

/// The most frequent of `,`, `;` and tab outside quotes in the header line (`,` on a tie).
pub(crate) fn delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in header_line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|&i| (counts[i], usize::from(i == 0)))
        .unwrap_or(0);
    [b',', b';', b'\t'][best]
}

/// The layout of a CSV file with these header cells; `None` when vigil does not know it.
pub(crate) fn layout(headers: &[String], file: &Path) -> Option<Layout> {
    let keys: Vec<String> = headers.iter().map(|h| column_key(h)).collect();
    if portal::is_auth_details_header(&keys) {
        return AuthColumns::new(headers).map(Layout::AuthDetails);
    }
    if portal::is_signin_header(&keys) {
        return Some(Layout::PortalSignIns(SignInColumns::new(headers, file)));
    }
    let la = LaColumns::new(headers);
    if la.has("id") && (la.has("timegenerated") || la.has("createddatetime")) {
        return Some(Layout::LogAnalytics(la));
    }
    None
}

/// One column of a Log Analytics export.
#[derive(Debug)]
struct LaColumn {
    /// The header as written (for messages).
    header: String,
    /// The record key: the column name folded to lowercase, without a bracketed suffix.
    key: String,
    /// The header's suffix says `[UTC]`.
    declared_utc: bool,
}

/// The columns of a Log Analytics export.
#[derive(Debug)]
pub(crate) struct LaColumns {
    columns: Vec<LaColumn>,
}

impl LaColumns {
    /// The columns of a header row.
    pub(crate) fn new(headers: &[String]) -> LaColumns {
        let columns = headers
            .iter()
            .map(|h| {
                let folded = column_key(h);
                let (key, suffix) = match folded.split_once(" [") {
                    Some((name, rest)) if rest.ends_with(']') => (name.to_string(), rest),
                    _ => (folded.clone(), ""),
                };
                LaColumn {
                    header: h.trim().to_string(),
                    key: key.replace(' ', ""),
                    declared_utc: suffix.eq_ignore_ascii_case("utc]"),
                }
            })
            .collect();
        LaColumns { columns }
    }

    /// Whether a column has this record key (folded, without its bracketed suffix).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.columns.iter().any(|c| c.key == key)
    }
}

/// Maps one Log Analytics row. Blank cells are absent; the two time columns are normalized
/// here (date order, `[UTC]`); every other cell is handed over as text.
pub(crate) fn la_row(
    cols: &LaColumns,
    cells: &[&str],
    order: DateOrder,
) -> Result<Row, FieldError> {
    let mut record = Map::new();
    let mut assumed_utc = false;
    let mut locale_confirmed = None;
    for (col, raw) in cols.columns.iter().zip(cells) {
        let value = raw.trim();
        if value.is_empty() {
            continue;
        }
        let value = if matches!(col.key.as_str(), "timegenerated" | "createddatetime") {
            let (t, assumed, locale) = date_cell(value, &col.header, col.declared_utc, order)?;
            // The time the record is dated by is createdDateTime, else TimeGenerated.
            if col.key == "createddatetime" || !record.contains_key("createddatetime") {
                assumed_utc = assumed;
                locale_confirmed = locale;
            }
            t
        } else {
            value.to_string()
        };
        record
            .entry(col.key.clone())
            .or_insert(Value::String(value));
    }
    Ok(Row {
        record,
        assumed_utc,
        locale_confirmed,
    })
}

/// If `file` is the portal's authentication-details side file, reads its steps into `steps`
/// and says so; any other file is left for [`read_file`].
pub(super) fn read_side_file(
    file: &Path,
    opts: &ReadOptions,
    steps: &mut portal::AuthSteps,
    stats: &mut ReadStats,
    meter: &mut Meter,
) -> Result<bool, InputError> {
    let Opened::Text(mut input) = open(file, &meter.counter)? else {
        meter.counter.set(0);
        return Ok(false);
    };
    // A JSON file is told from its first bytes, without reading its first line (a Graph list
    // page is one line of megabytes).
    if starts_json(input.fill_buf().map_err(|e| InputError::io(file, e))?) {
        meter.counter.set(0);
        return Ok(false);
    }
    let Some(start) = start(input, file)? else {
        meter.counter.set(0);
        return Ok(false);
    };
    if starts_json(&start.first) {
        meter.counter.set(0);
        return Ok(false);
    }
    let mut reader = csv_reader(start);
    let headers = csv_headers(&mut reader, file)?;
    let Some(Layout::AuthDetails(cols)) = layout(&headers, file) else {
        meter.counter.set(0);
        return Ok(false);
    };
    let mut skipped = 0;
    let mut first_skip = None;
    let mut row = csv::ByteRecord::new();
    let mut index = 0;
    while reader
        .read_byte_record(&mut row)
        .map_err(|e| csv_io(file, e))?
    {
        index += 1;
        let line = row.position().map_or(0, csv::Position::line);
        let locus = format!("record {index} (line {line})");
        let result = csv_cells(&row, &headers, file, &locus).and_then(|cells| {
            if cells.iter().all(|c| c.trim().is_empty()) {
                return Ok(());
            }
            portal::auth_row(&cols, &cells, opts.date_order, steps).map_err(|e| {
                let fatal = e.fatal;
                (
                    InputError::field(file, locus.clone(), e.field, e.reason),
                    fatal,
                )
            })
        });
        match result {
            Ok(()) => {}
            Err((e, fatal)) if fatal || !opts.skip_bad_records => return Err(e),
            Err((e, _)) => {
                skipped += 1;
                stats.skipped += 1;
                first_skip.get_or_insert(e.to_string());
            }
        }
        meter.tick();
    }
    if let Some(first) = first_skip {
        stats.warnings.push(format!(
            "{}: skipped {skipped} unreadable record(s); the first: {first}",
            file.display()
        ));
    }
    meter.file_done(file);
    Ok(true)
}

/// A CSV reader over a file's text from its start (blank lines included, so that positions
/// are the file's lines), with the delimiter its header line uses.
pub(crate) fn csv_reader(start: Start) -> csv::Reader<Box<dyn BufRead>> {
    let delimiter = delimiter(&start.first);
    let mut head = start.blank;
    head.extend_from_slice(&start.first);
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(rejoin(head, start.rest))
}

pub(crate) fn csv_io(file: &Path, e: csv::Error) -> InputError {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => InputError::io(file, e),
        other => InputError::format(file, format!("{other:?}")),
    }
}

/// The header cells of a CSV file (as written, lossily decoded).
pub(crate) fn csv_headers(
    reader: &mut csv::Reader<Box<dyn BufRead>>,
    file: &Path,
) -> Result<Vec<String>, InputError> {
    let headers = reader.byte_headers().map_err(|e| csv_io(file, e))?;
    Ok(headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect())
}

/// The cells of one CSV row as text; a row whose length differs from the header's, or a cell
/// that is not UTF-8, is a bad record `(error, fatal = false)`.
pub(crate) fn csv_cells<'r>(
    row: &'r csv::ByteRecord,
    headers: &[String],
    file: &Path,
    locus: &str,
) -> Result<Vec<&'r str>, (InputError, bool)> {
    if row.len() != headers.len() {
        let reason = format!(
            "{locus}: has {} fields, the header has {}",
            row.len(),
            headers.len()
        );
        return Err((InputError::format(file, reason), false));
    }
    row.iter()
        .zip(headers)
        .map(|(cell, header)| {
            std::str::from_utf8(cell).map_err(|e| {
                let field = header.trim().to_string();
                let reason = format!("not UTF-8 text ({e}); save the export as UTF-8");
                (InputError::field(file, locus, field, reason), false)
            })
        })
        .collect()
}

/// The error for a file that is neither JSON nor a CSV export vigil knows.
pub(crate) fn unknown_format(file: &Path, headers: &[String]) -> InputError {
    let start: String = headers.join(",").chars().take(60).collect();
    let reason = if headers.len() > 1 {
        format!(
            "a CSV file whose columns are not a sign-in export vigil knows (found {start:?}); \
             expected the portal's download (Date (UTC), Request ID, ...), its \
             authentication-details side file (Request ID, Authentication method, Succeeded, \
             ...), or a Log Analytics export (Id, TimeGenerated or CreatedDateTime, ...)"
        )
    } else {
        format!(
            "not a sign-in export: expected JSON (a Graph page, an array, NDJSON or diagnostic \
             records) or a CSV export (the portal's download, Log Analytics), found {start:?}"
        )
    };
    InputError::format(file, reason)
}

impl FileState<'_, '_> {
    /// A CSV export: the portal's download or Log Analytics, one sign-in per row.
    pub(super) fn read_csv(&mut self, start: Start) -> Result<(), InputError> {
        let file = self.file;
        let mut reader = csv_reader(start);
        let headers = csv_headers(&mut reader, file)?;
        let layout = match layout(&headers, file) {
            Some(Layout::AuthDetails(_)) => return Ok(()),
            Some(l) => l,
            None => return Err(unknown_format(file, &headers)),
        };
        self.variant = Some(match layout {
            Layout::LogAnalytics(_) => LOG_ANALYTICS_CSV,
            _ => PORTAL_CSV,
        });
        let order = self.opts.date_order;
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
            let mapped = csv_cells(&row, &headers, file, &locus).and_then(|cells| {
                if cells.iter().all(|c| c.trim().is_empty()) {
                    return Ok(None);
                }
                let mapped = match &layout {
                    Layout::PortalSignIns(cols) => {
                        portal::signin_row(cols, &cells, order, self.steps)
                    }
                    Layout::LogAnalytics(cols) => la_row(cols, &cells, order),
                    Layout::AuthDetails(_) => return Ok(None),
                };
                mapped.map(Some).map_err(|e| {
                    let fatal = e.fatal;
                    (
                        InputError::field(file, locus.clone(), e.field, e.reason),
                        fatal,
                    )
                })
            });
            let outcome = match mapped {
                Ok(None) => {
                    self.index = number;
                    Ok(())
                }
                Ok(Some(r)) => {
                    self.dated(r.assumed_utc, r.locale_confirmed);
                    self.one_record(&r.record, Container::Array, line)
                }
                Err((error, true)) => return Err(error),
                Err((error, false)) => {
                    self.index = number;
                    let summary = error.to_string();
                    let summary = summary
                        .strip_prefix(&format!("{}: ", file.display()))
                        .unwrap_or(&summary)
                        .to_string();
                    self.bad(error, summary)
                }
            };
            if outcome.is_err() {
                return Err(self
                    .fatal
                    .take()
                    .unwrap_or_else(|| InputError::format(file, format!("{locus}: rejected"))));
            }
        }
        if self.index == 0 {
            self.stats.warnings.push(format!(
                "{}: no sign-ins (the file has a header and no rows)",
                file.display()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn delimiters_outside_quotes() {
        assert_eq!(delimiter(b"Date (UTC),Request ID,\"a;b;c\""), b',');
        assert_eq!(delimiter(b"Date (UTC);Request ID;\"a,b,c,d\""), b';');
        assert_eq!(delimiter(b"Id\tTimeGenerated\tType"), b'\t');
        assert_eq!(delimiter(b"Id"), b',');
    }

    #[test]
    fn layouts_from_headers() {
        let file = Path::new("x.csv");
        let l = |h: &[&str]| layout(&headers(h), file);
        assert!(matches!(
            l(&["Date (UTC)", "Request ID", "User", "Status"]),
            Some(Layout::PortalSignIns(_))
        ));
        assert!(matches!(
            l(&[
                "Request ID",
                "Authentication Date",
                "Authentication method",
                "Succeeded"
            ]),
            Some(Layout::AuthDetails(_))
        ));
        assert!(matches!(
            l(&["TenantId", "TimeGenerated [UTC]", "Id", "Type"]),
            Some(Layout::LogAnalytics(_))
        ));
        assert!(l(&["signInId", "score"]).is_none());
        assert!(l(&["hello world"]).is_none());
    }

    #[test]
    fn log_analytics_rows() {
        let cols = LaColumns::new(&headers(&[
            "TimeGenerated [UTC]",
            "Id",
            "CreatedDateTime [UTC]",
            "IsInteractive",
            "Status",
            "UserId",
        ]));
        let r = la_row(
            &cols,
            &[
                "9/19/2023, 1:45:18.000 PM",
                "x",
                "9/19/2023, 1:45:17.287 PM",
                "TRUE",
                r#"{"errorCode":0}"#,
                "",
            ],
            DateOrder::MonthFirst,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!r.assumed_utc, "[UTC] says so");
        assert_eq!(r.locale_confirmed, Some(true));
        let v = Value::Object(r.record);
        assert_eq!(v["createddatetime"], "2023-09-19T13:45:17.287Z");
        assert_eq!(v["timegenerated"], "2023-09-19T13:45:18.000Z");
        assert_eq!(v["isinteractive"], "TRUE");
        assert_eq!(v["status"], r#"{"errorCode":0}"#);
        assert!(v.get("userid").is_none(), "blank is absent");

        let cols = LaColumns::new(&headers(&["TimeGenerated", "Id"]));
        let r = la_row(&cols, &["2023-09-19T13:45:17", "y"], DateOrder::MonthFirst)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(r.assumed_utc, "no zone and no [UTC]");
        let e = la_row(&cols, &["19/9/2023 13:45", "z"], DateOrder::MonthFirst).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.fatal && e.field == "TimeGenerated"),
            "{e:?}"
        );
    }
}
