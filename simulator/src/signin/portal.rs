//! The Entra admin center's sign-in "Download" as CSV: the sign-in files (`InteractiveSignIns_…`,
//! `NonInteractiveSignIns_…`, `ApplicationSignIns_…`, `MSISignIns_…`) and their
//! `*_AuthDetails_*` side files, turned into signIn records in the Graph shape (keys folded to
//! lowercase) so that [`super::map`] applies the same rules to them as to every other variant.
//!
//! Column headers are matched after trimming, folding case and collapsing runs of spaces (the
//! download writes `Application ID ` with a trailing space and `Autonomous system  number` with
//! two). A column written twice (`Incoming token type`) gives its first non-blank cell. Columns
//! vigil has no field for are ignored.
//!
//! The portal writes display words where Graph has enum members (`Not Applied`,
//! `B2B collaboration`, `Single-factor authentication`); they are turned into Graph's
//! camelCase spelling (`notApplied`, `b2bCollaboration`, `singleFactorAuthentication`).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::map::{FieldError, date_error};
use super::time::{self, DateOrder};

/// What one column of a sign-in download feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `Date (UTC)` → `createdDateTime`.
    Date,
    /// A top-level string member, as written.
    Text(&'static str),
    /// A top-level enum member written as display words.
    Word(&'static str),
    /// A `deviceDetail` string member.
    Device(&'static str),
    /// A `deviceDetail` boolean member (`True`/`False`, `Yes`/`No`).
    DeviceFlag(&'static str),
    /// An `mfaDetail` member.
    Mfa(&'static str),
    /// `Location`: `City, State, CC`.
    Location,
    /// `Status`: `Success`, `Failure`, `Interrupted`.
    Status,
    /// `Sign-in error code` → `status.errorCode`.
    ErrorCode,
    /// `Failure reason` → `status.failureReason`.
    FailureReason,
}

/// The sign-in download's columns that vigil reads (names as normalized by [`column_key`]).
const SIGNIN_COLUMNS: &[(&str, Target)] = &[
    ("date (utc)", Target::Date),
    ("date", Target::Date),
    ("request id", Target::Text("id")),
    ("user agent", Target::Text("useragent")),
    ("correlation id", Target::Text("correlationid")),
    ("user id", Target::Text("userid")),
    ("user", Target::Text("userdisplayname")),
    ("username", Target::Text("userprincipalname")),
    ("user type", Target::Text("usertype")),
    (
        "cross tenant access type",
        Target::Word("crosstenantaccesstype"),
    ),
    ("incoming token type", Target::Word("incomingtokentype")),
    (
        "authentication protocol",
        Target::Word("authenticationprotocol"),
    ),
    (
        "unique token identifier",
        Target::Text("uniquetokenidentifier"),
    ),
    (
        "original transfer method",
        Target::Word("originaltransfermethod"),
    ),
    (
        "client credential type",
        Target::Word("clientcredentialtype"),
    ),
    ("application", Target::Text("appdisplayname")),
    ("application id", Target::Text("appid")),
    ("app owner tenant id", Target::Text("appownertenantid")),
    ("resource", Target::Text("resourcedisplayname")),
    ("resource id", Target::Text("resourceid")),
    ("resource tenant id", Target::Text("resourcetenantid")),
    ("home tenant id", Target::Text("hometenantid")),
    ("ip address", Target::Text("ipaddress")),
    ("location", Target::Location),
    ("status", Target::Status),
    ("sign-in error code", Target::ErrorCode),
    ("failure reason", Target::FailureReason),
    ("client app", Target::Text("clientappused")),
    ("device id", Target::Device("deviceid")),
    ("browser", Target::Device("browser")),
    ("operating system", Target::Device("operatingsystem")),
    ("compliant", Target::DeviceFlag("iscompliant")),
    ("managed", Target::DeviceFlag("ismanaged")),
    ("join type", Target::Device("trusttype")),
    (
        "multifactor authentication auth method",
        Target::Mfa("authmethod"),
    ),
    (
        "multifactor authentication auth detail",
        Target::Mfa("authdetail"),
    ),
    (
        "authentication requirement",
        Target::Word("authenticationrequirement"),
    ),
    (
        "conditional access",
        Target::Word("conditionalaccessstatus"),
    ),
    ("service principal id", Target::Text("serviceprincipalid")),
    (
        "service principal name",
        Target::Text("serviceprincipalname"),
    ),
];

/// A header cell as vigil matches it: trimmed, ASCII-lowercased, inner runs of spaces as one.
pub(crate) fn column_key(header: &str) -> String {
    header
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// Whether a header is the portal's sign-in download.
pub(crate) fn is_signin_header(keys: &[String]) -> bool {
    let has = |k: &str| keys.iter().any(|c| c == k);
    has("request id")
        && (has("date (utc)") || has("date"))
        && ["status", "application", "username", "sign-in error code"]
            .iter()
            .any(|k| has(k))
}

/// Whether a header is the portal's authentication-details side file.
pub(crate) fn is_auth_details_header(keys: &[String]) -> bool {
    let has = |k: &str| keys.iter().any(|c| c == k);
    has("request id") && has("authentication method") && has("succeeded")
}

/// The columns of one sign-in download, resolved once per file.
#[derive(Debug)]
pub(crate) struct SignInColumns {
    /// `(column index, header as written, target)` of every column vigil reads.
    columns: Vec<(usize, String, Target)>,
    /// The kind the file's columns (or, when they cannot tell, its name) show, as a Graph
    /// `signInEventTypes` member.
    event_type: Option<&'static str>,
}

impl SignInColumns {
    /// Resolves the header of `file`.
    pub(crate) fn new(headers: &[String], file: &Path) -> SignInColumns {
        let keys: Vec<String> = headers.iter().map(|h| column_key(h)).collect();
        let mut columns = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            if let Some((_, target)) = SIGNIN_COLUMNS.iter().find(|(name, _)| name == key) {
                // `Date` only when there is no `Date (UTC)`.
                if key == "date" && keys.iter().any(|k| k == "date (utc)") {
                    continue;
                }
                columns.push((i, headers[i].trim().to_string(), *target));
            }
        }
        SignInColumns {
            columns,
            event_type: event_type(&keys, file),
        }
    }
}

/// The sign-in kind of a download. Workload files show it by their columns (no user columns;
/// a managed-identity type column). Interactive and non-interactive user files have the same
/// columns, so only the name the portal gives them (`InteractiveSignIns_…`,
/// `NonInteractiveSignIns_…`) tells them apart; a renamed file has no kind (null).
fn event_type(keys: &[String], file: &Path) -> Option<&'static str> {
    let has = |k: &str| keys.iter().any(|c| c == k);
    if !has("user id") && !has("username") {
        if has("managed identity type") {
            return Some("managedIdentity");
        }
        if has("service principal id") {
            return Some("servicePrincipal");
        }
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.starts_with("noninteractivesignins") {
        Some("nonInteractiveUser")
    } else if name.starts_with("interactivesignins") {
        Some("interactiveUser")
    } else if name.starts_with("msisignins") {
        Some("managedIdentity")
    } else if name.starts_with("applicationsignins") || name.starts_with("serviceprincipalsignins")
    {
        Some("servicePrincipal")
    } else {
        None
    }
}

/// A row turned into a record, with what its date showed.
#[derive(Debug)]
pub(crate) struct Row {
    /// The signIn object (folded keys).
    pub(crate) record: Map<String, Value>,
    /// The date had no zone and the column did not say UTC.
    pub(crate) assumed_utc: bool,
    /// The date was a locale date: whether it confirmed the date order.
    pub(crate) locale_confirmed: Option<bool>,
}

/// One cell, `None` when blank.
fn cell(value: &str) -> Option<&str> {
    let v = value.trim();
    (!v.is_empty()).then_some(v)
}

/// Reads a date cell of a column that states UTC (`Date (UTC)`, `TimeGenerated [UTC]`) or
/// not: (normalized text, read as UTC without a zone, locale confirmation).
pub(crate) fn date_cell(
    raw: &str,
    column: &str,
    declared_utc: bool,
    order: DateOrder,
) -> Result<(String, bool, Option<bool>), FieldError> {
    let n = time::normalize_with(raw, order).map_err(|e| date_error(column, raw, order, &e))?;
    Ok((n.text, n.assumed_utc && !declared_utc, n.locale_confirmed))
}

/// Maps one row of a sign-in download. `steps` holds the side files' authentication steps;
/// this row's are taken out and become its `authenticationDetails`.
pub(crate) fn signin_row(
    cols: &SignInColumns,
    cells: &[&str],
    order: DateOrder,
    steps: &mut AuthSteps,
) -> Result<Row, FieldError> {
    let mut record = Map::new();
    let mut device = Map::new();
    let mut mfa = Map::new();
    let mut status = Map::new();
    let mut status_word: Option<&str> = None;
    let mut assumed_utc = false;
    let mut locale_confirmed = None;
    for (i, header, target) in &cols.columns {
        let Some(value) = cells.get(*i).and_then(|c| cell(c)) else {
            continue;
        };
        let text = || Value::String(value.to_string());
        match *target {
            Target::Date => {
                let declared = column_key(header).contains("utc");
                let (t, assumed, locale) = date_cell(value, header, declared, order)?;
                assumed_utc = assumed;
                locale_confirmed = locale;
                record.insert("createddatetime".into(), Value::String(t));
            }
            Target::Text(key) => {
                record.entry(key).or_insert_with(text);
            }
            Target::Word(key) => {
                record
                    .entry(key)
                    .or_insert_with(|| Value::String(enum_word(value)));
            }
            Target::Device(key) => {
                device.entry(key).or_insert_with(text);
            }
            Target::DeviceFlag(key) => {
                let b = yes_no(value).ok_or_else(|| {
                    FieldError::new(
                        header.as_str(),
                        format!("expected True or False, found {value:?}"),
                    )
                })?;
                device.insert(key.into(), Value::Bool(b));
            }
            Target::Mfa(key) => {
                mfa.insert(key.into(), text());
            }
            Target::Location => location(value, &mut record),
            Target::Status => status_word = Some(value),
            Target::ErrorCode => {
                let code: i64 = value.parse().map_err(|_| {
                    FieldError::new(
                        header.as_str(),
                        format!("expected an integer error code, found {value:?}"),
                    )
                })?;
                status.insert("errorcode".into(), Value::from(code));
            }
            Target::FailureReason => {
                status.insert("failurereason".into(), text());
            }
        }
    }
    // A blank error code beside `Status` `Success` is the success code the status states.
    if !status.contains_key("errorcode")
        && status_word.is_some_and(|w| w.eq_ignore_ascii_case("success"))
    {
        status.insert("errorcode".into(), Value::from(0));
    }
    for (key, object) in [
        ("devicedetail", device),
        ("mfadetail", mfa),
        ("status", status),
    ] {
        if !object.is_empty() {
            record.insert(key.into(), Value::Object(object));
        }
    }
    if let Some(t) = cols.event_type {
        record.insert(
            "signineventtypes".into(),
            Value::Array(vec![Value::String(t.into())]),
        );
    }
    if let Some(Value::String(id)) = record.get("id")
        && let Some(found) = steps.take(id)
    {
        record.insert("authenticationdetails".into(), Value::Array(found));
    }
    Ok(Row {
        record,
        assumed_utc,
        locale_confirmed,
    })
}

/// `City, State, CC` (any part may be missing): the last part is the country when it is a
/// two-letter code.
fn location(value: &str, record: &mut Map<String, Value>) {
    let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let mut loc = Map::new();
    if let Some(last) = parts.last()
        && last.len() == 2
        && last.bytes().all(|b| b.is_ascii_alphabetic())
    {
        loc.insert("countryorregion".into(), Value::String(last.to_string()));
        parts.pop();
    }
    for (key, part) in ["city", "state"].iter().zip(parts) {
        if !part.is_empty() {
            loc.insert((*key).into(), Value::String(part.to_string()));
        }
    }
    if !loc.is_empty() {
        record.insert("location".into(), Value::Object(loc));
    }
}

/// `True`/`False`, `Yes`/`No` in any case.
fn yes_no(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// Display words to Graph's camelCase enum spelling: `Not Applied` → `notApplied`,
/// `B2B collaboration` → `b2bCollaboration`, `Single-factor authentication` →
/// `singleFactorAuthentication`, `Multifactor authentication` → `multiFactorAuthentication`.
/// A value that is one word already (`deviceCode`, `none`) only gets a lowercase first letter.
pub(crate) fn enum_word(value: &str) -> String {
    let words: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            // Graph writes "multiFactor" where the portal writes "Multifactor".
            if w.eq_ignore_ascii_case("multifactor") {
                vec!["multi", "factor"]
            } else {
                vec![w]
            }
        })
        .collect();
    let mut out = String::with_capacity(value.len());
    for (i, word) in words.iter().enumerate() {
        let all_caps = word.len() > 1 && !word.bytes().any(|b| b.is_ascii_lowercase());
        let mut chars = word.chars();
        let Some(first) = chars.next() else { continue };
        if i == 0 {
            if all_caps {
                out.push_str(&word.to_ascii_lowercase());
            } else {
                out.extend(first.to_lowercase());
                out.push_str(chars.as_str());
            }
        } else if all_caps {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_ascii_lowercase());
        } else {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// The authentication steps of the side files, by sign-in (request) id.
#[derive(Debug, Default)]
pub(crate) struct AuthSteps {
    by_id: HashMap<String, Vec<Value>>,
    /// Steps read.
    pub(crate) steps: usize,
    /// Steps joined to a sign-in.
    pub(crate) joined: usize,
}

impl AuthSteps {
    /// Takes the steps of sign-in `id` (ids compared without case).
    fn take(&mut self, id: &str) -> Option<Vec<Value>> {
        if self.by_id.is_empty() {
            return None;
        }
        let found = self.by_id.remove(&id.trim().to_ascii_lowercase())?;
        self.joined += found.len();
        Some(found)
    }

    /// Steps that no sign-in claimed.
    pub(crate) fn unjoined(&self) -> usize {
        self.by_id.values().map(Vec::len).sum()
    }
}

/// The columns of one side file.
#[derive(Debug)]
pub(crate) struct AuthColumns {
    id: usize,
    /// `(column index, header as written, step member)`.
    members: Vec<(usize, String, &'static str)>,
}

impl AuthColumns {
    /// Resolves a side file's header (it must pass [`is_auth_details_header`]).
    pub(crate) fn new(headers: &[String]) -> Option<AuthColumns> {
        let mut id = None;
        let mut members = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let member = match column_key(h).as_str() {
                "request id" => {
                    id.get_or_insert(i);
                    continue;
                }
                "authentication date" | "authentication step date" | "date (utc)" | "date" => {
                    "authenticationstepdatetime"
                }
                "authentication method" => "authenticationmethod",
                "authentication method detail" => "authenticationmethoddetail",
                "requirement" | "authentication step requirement" => {
                    "authenticationsteprequirement"
                }
                "result detail" | "authentication step result detail" => {
                    "authenticationstepresultdetail"
                }
                "succeeded" => "succeeded",
                _ => continue,
            };
            members.push((i, h.trim().to_string(), member));
        }
        Some(AuthColumns { id: id?, members })
    }
}

/// Reads one side-file row into `steps`.
pub(crate) fn auth_row(
    cols: &AuthColumns,
    cells: &[&str],
    order: DateOrder,
    steps: &mut AuthSteps,
) -> Result<(), FieldError> {
    let id = cells
        .get(cols.id)
        .and_then(|c| cell(c))
        .ok_or_else(|| FieldError::new("Request ID", "missing (every step names its sign-in)"))?;
    let mut step = Map::new();
    for (i, header, member) in &cols.members {
        let Some(value) = cells.get(*i).and_then(|c| cell(c)) else {
            continue;
        };
        let v = match *member {
            "succeeded" => Value::Bool(yes_no(value).ok_or_else(|| {
                FieldError::new(
                    header.as_str(),
                    format!("expected True or False, found {value:?}"),
                )
            })?),
            "authenticationstepdatetime" => {
                let declared = column_key(header).contains("utc");
                Value::String(date_cell(value, header, declared, order)?.0)
            }
            _ => Value::String(value.to_string()),
        };
        step.insert((*member).into(), v);
    }
    steps
        .by_id
        .entry(id.to_ascii_lowercase())
        .or_default()
        .push(Value::Object(step));
    steps.steps += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_words_become_graph_enum_members() {
        for (display, graph) in [
            ("Not Applied", "notApplied"),
            ("Success", "success"),
            ("B2B collaboration", "b2bCollaboration"),
            ("B2B direct connect", "b2bDirectConnect"),
            ("Single-factor authentication", "singleFactorAuthentication"),
            ("Multifactor authentication", "multiFactorAuthentication"),
            ("Device code flow", "deviceCodeFlow"),
            ("Client secret", "clientSecret"),
            ("ROPC", "ropc"),
            ("deviceCode", "deviceCode"),
            ("None", "none"),
            ("Primary Refresh Token", "primaryRefreshToken"),
        ] {
            assert_eq!(enum_word(display), graph, "{display}");
        }
    }

    #[test]
    fn headers_are_matched_loosely() {
        assert_eq!(column_key(" Application ID "), "application id");
        assert_eq!(
            column_key("Autonomous system  number"),
            "autonomous system number"
        );
    }

    fn row(headers: &[&str], cells: &[&str], file: &str) -> Result<Row, FieldError> {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let cols = SignInColumns::new(&headers, Path::new(file));
        signin_row(
            &cols,
            cells,
            DateOrder::MonthFirst,
            &mut AuthSteps::default(),
        )
    }

    #[test]
    fn a_download_row_in_graph_shape() {
        let r = row(
            &[
                "Date (UTC)",
                "Request ID",
                "Username",
                "Application ID ",
                "Location",
                "Status",
                "Sign-in error code",
                "Compliant",
                "Managed",
                "Conditional Access",
                "Incoming token type",
                "Incoming token type",
            ],
            &[
                "11/14/2025 1:48:53 AM",
                "r1",
                "ada@contoso.example",
                "app",
                "Redmond, Washington, US",
                "Success",
                "",
                "True",
                "No",
                "Not Applied",
                "",
                "Primary Refresh Token",
            ],
            "InteractiveSignIns_2025-11-13_2025-11-14.csv",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!r.assumed_utc, "the column says UTC");
        assert_eq!(r.locale_confirmed, Some(true));
        let v = Value::Object(r.record);
        assert_eq!(v["createddatetime"], "2025-11-14T01:48:53.000Z");
        assert_eq!(v["id"], "r1");
        assert_eq!(v["appid"], "app");
        assert_eq!(v["location"]["city"], "Redmond");
        assert_eq!(v["location"]["state"], "Washington");
        assert_eq!(v["location"]["countryorregion"], "US");
        assert_eq!(v["status"]["errorcode"], 0, "Success with a blank code");
        assert_eq!(v["devicedetail"]["iscompliant"], true);
        assert_eq!(v["devicedetail"]["ismanaged"], false);
        assert_eq!(v["conditionalaccessstatus"], "notApplied");
        assert_eq!(v["incomingtokentype"], "primaryRefreshToken");
        assert_eq!(v["signineventtypes"][0], "interactiveUser");
    }

    #[test]
    fn blank_cells_are_absent_and_a_renamed_file_has_no_kind() {
        let r = row(
            &[
                "Date (UTC)",
                "Request ID",
                "Status",
                "Location",
                "Compliant",
            ],
            &["2026-01-05T10:00:00Z", "r2", "Failure", "", ""],
            "export.csv",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let v = Value::Object(r.record);
        assert!(v.get("status").is_none(), "no code is invented for Failure");
        assert!(v.get("location").is_none());
        assert!(v.get("devicedetail").is_none());
        assert!(v.get("signineventtypes").is_none());
    }

    #[test]
    fn bad_cells_name_their_column() {
        let e = row(
            &["Date (UTC)", "Request ID", "Sign-in error code"],
            &["2026-01-05T10:00:00Z", "r3", "fifty"],
            "x.csv",
        )
        .err();
        assert_eq!(e.map(|e| e.field), Some("Sign-in error code".to_string()));
        let e = row(
            &["Date (UTC)", "Request ID", "Status"],
            &["14/11/2025 1:48:53 AM", "r4", "Success"],
            "x.csv",
        )
        .err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.fatal && e.field == "Date (UTC)"),
            "{e:?}"
        );
    }

    #[test]
    fn workload_files_show_their_kind_by_columns() {
        let keys = |h: &[&str]| h.iter().map(|h| column_key(h)).collect::<Vec<_>>();
        let sp = keys(&["Date (UTC)", "Request ID", "Service principal ID", "Status"]);
        assert_eq!(
            event_type(&sp, Path::new("a.csv")),
            Some("servicePrincipal")
        );
        let mi = keys(&[
            "Date (UTC)",
            "Request ID",
            "Managed Identity type",
            "Service principal ID",
        ]);
        assert_eq!(event_type(&mi, Path::new("a.csv")), Some("managedIdentity"));
        let user = keys(&["Date (UTC)", "Request ID", "User ID", "Username"]);
        assert_eq!(
            event_type(&user, Path::new("NonInteractiveSignIns_2026.csv")),
            Some("nonInteractiveUser")
        );
    }

    #[test]
    fn side_file_steps_join_their_sign_in_once() {
        let headers: Vec<String> = [
            "Request ID",
            "Authentication Date",
            "Authentication method",
            "Authentication method detail",
            "Requirement",
            "Succeeded",
            "Result detail",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        let cols = AuthColumns::new(&headers).unwrap_or_else(|| panic!("no Request ID"));
        let mut steps = AuthSteps::default();
        for cells in [
            [
                "R1",
                "1/5/2026 10:00:00 AM",
                "Password",
                "Password in the cloud",
                "Primary authentication",
                "True",
                "Correct password",
            ],
            [
                "r1",
                "1/5/2026 10:00:05 AM",
                "Mobile app notification",
                "",
                "Multifactor authentication",
                "true",
                "MFA successfully completed",
            ],
        ] {
            auth_row(&cols, &cells, DateOrder::MonthFirst, &mut steps)
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
        let bad = auth_row(
            &cols,
            &["r2", "", "Password", "", "", "maybe", ""],
            DateOrder::MonthFirst,
            &mut steps,
        );
        assert_eq!(bad.err().map(|e| e.field), Some("Succeeded".to_string()));
        assert_eq!(steps.steps, 2);
        let got = steps.take("R1").unwrap_or_default();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0]["authenticationstepdatetime"],
            "2026-01-05T10:00:00.000Z"
        );
        assert_eq!(got[1]["succeeded"], true);
        assert!(steps.take("r1").is_none(), "taken once");
        assert_eq!(steps.unjoined(), 0);
    }
}
