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

use std::path::Path;

use serde_json::{Map, Value};

use super::map::FieldError;
use super::portal::{self, AuthColumns, Row, SignInColumns, column_key, date_cell};
use super::time::DateOrder;

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
    let has = |k: &str| la.columns.iter().any(|c| c.key == k);
    if has("id") && (has("timegenerated") || has("createddatetime")) {
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
    fn new(headers: &[String]) -> LaColumns {
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
