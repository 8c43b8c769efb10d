//! One exported sign-in record (keys already folded to lowercase) to the normalized
//! [`SignIn`], following research notes §3 (`shared/research/entra-export-formats.md`).
//!
//! A record is either a signIn object (Graph v1.0/beta, portal JSON, Log Analytics,
//! PowerShell) or a diagnostic-settings record whose `properties` hold the signIn object and
//! whose envelope (`time`, `category`, `callerIpAddress`, `resultType`, ...) supplies
//! fallbacks. Every "absent" encoding (null, `""`, `{}`, a missing key, the all-zero GUID for
//! ids) becomes `None`; nothing is defaulted.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::Container;
use super::time::{self, DateOrder};
use crate::model::{Degrees, LoggedPolicy, SignIn, SignInKind};

const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// What is wrong with one field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// Dotted path as written in the export, e.g. `properties.status.errorCode`.
    pub(crate) field: String,
    /// What is wrong.
    pub(crate) reason: String,
    /// The whole file is misread, not just this record (a date that contradicts the date
    /// order): `--skip-bad-records` must not skip it.
    pub(crate) fatal: bool,
}

impl FieldError {
    /// An error in one record's field.
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
            fatal: false,
        }
    }
}

/// The result of mapping one record.
#[derive(Debug)]
pub(crate) enum Mapped {
    /// A sign-in.
    SignIn {
        /// The record.
        signin: Box<SignIn>,
        /// Its time had no zone and was read as UTC.
        assumed_utc: bool,
        /// Its time was a locale date: whether the date itself confirmed the date order.
        locale_confirmed: Option<bool>,
        /// It had no id; [`derived_id`] gave it one.
        derived_id: bool,
    },
    /// A diagnostic record of another category (AuditLogs, RiskyUsers, ...): not a sign-in.
    Other {
        /// Its `category`.
        category: String,
    },
}

/// Where the signIn fields are, and the envelope that supplies fallbacks.
struct Record<'a> {
    sig: &'a Map<String, Value>,
    env: &'a Map<String, Value>,
    /// `properties.` for diagnostic records, empty otherwise.
    prefix: &'static str,
}

type Res<T> = Result<T, FieldError>;

impl<'a> Record<'a> {
    fn err(&self, field: &str, reason: impl Into<String>) -> FieldError {
        FieldError::new(format!("{}{field}", self.prefix), reason)
    }

    /// A signIn member (PowerShell SDK objects keep unmodeled members in `AdditionalProperties`).
    fn get(&self, key: &str) -> Option<&'a Value> {
        get(self.sig, key)
    }

    fn text(&self, key: &str, field: &str) -> Res<Option<String>> {
        text(self.get(key)).map_err(|r| self.err(field, r))
    }

    fn flag(&self, key: &str, field: &str) -> Res<Option<bool>> {
        flag(self.get(key)).map_err(|r| self.err(field, r))
    }

    fn object(&self, key: &str, field: &str) -> Res<Option<Cow<'a, Map<String, Value>>>> {
        object(self.get(key)).map_err(|r| self.err(field, r))
    }

    fn array(&self, key: &str, field: &str) -> Res<Option<Cow<'a, [Value]>>> {
        array(self.get(key)).map_err(|r| self.err(field, r))
    }
}

/// Looks a folded key up in an object, then in its PowerShell `AdditionalProperties` bag.
fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    match m.get(key) {
        Some(v) => Some(v),
        None => m.get("additionalproperties")?.as_object()?.get(key),
    }
}

/// A string member: null, missing, or blank → `None`; numbers are taken as their text.
fn text(v: Option<&Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("expected a string, found {}", kind_of(other))),
    }
}

/// A boolean member; `"true"`/`"false"` in any case (Log Analytics CSV writes `TRUE`).
fn flag(v: Option<&Value>) -> Result<Option<bool>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(format!("expected true or false, found {}", kind_of(other))),
    }
}

/// An integer member, or a string holding one (`resultType` is `"50126"`).
fn integer(v: Option<&Value>) -> Result<Option<i64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("expected an integer, found {n}")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("expected an integer, found {s:?}")),
        Some(other) => Err(format!("expected an integer, found {}", kind_of(other))),
    }
}

/// A nested value, which Log Analytics may deliver as a string holding JSON.
fn nested(v: Option<&Value>) -> Result<Option<Cow<'_, Value>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.trim_start().starts_with(['{', '[']) => {
            let parsed: Value = serde_json::from_str(s)
                .map_err(|e| format!("holds a string that is not valid JSON: {e}"))?;
            Ok(Some(Cow::Owned(fold_keys(parsed))))
        }
        Some(v) => Ok(Some(Cow::Borrowed(v))),
    }
}

/// An object member; `{}` is absent.
fn object(v: Option<&Value>) -> Result<Option<Cow<'_, Map<String, Value>>>, String> {
    match nested(v)? {
        None => Ok(None),
        Some(Cow::Borrowed(Value::Object(m))) if m.is_empty() => Ok(None),
        Some(Cow::Borrowed(Value::Object(m))) => Ok(Some(Cow::Borrowed(m))),
        Some(Cow::Owned(Value::Object(m))) if m.is_empty() => Ok(None),
        Some(Cow::Owned(Value::Object(m))) => Ok(Some(Cow::Owned(m))),
        Some(other) => Err(format!("expected an object, found {}", kind_of(&other))),
    }
}

/// An array member; `[]` is kept (an empty list is information, e.g. "no policy applied").
fn array(v: Option<&Value>) -> Result<Option<Cow<'_, [Value]>>, String> {
    match nested(v)? {
        None => Ok(None),
        Some(Cow::Borrowed(Value::Array(a))) => Ok(Some(Cow::Borrowed(a.as_slice()))),
        Some(Cow::Owned(Value::Array(a))) => Ok(Some(Cow::Owned(a))),
        Some(other) => Err(format!("expected an array, found {}", kind_of(&other))),
    }
}

/// A list of strings; absent members and blank items are dropped.
fn strings(v: Option<&Value>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if let Some(items) = array(v)? {
        for item in items.iter() {
            if let Some(s) = text(Some(item))? {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// Folds the keys of JSON parsed from inside a string, as the reader does for the file.
fn fold_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), fold_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(fold_keys).collect()),
        other => other,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn not_nil(id: Option<String>) -> Option<String> {
    id.filter(|s| !s.trim().eq_ignore_ascii_case(NIL_GUID))
}

/// The `source_variant` a record gets from its container.
fn variant(container: Container, diagnostic: bool, line_mode: bool) -> &'static str {
    match container {
        _ if diagnostic => "diagnostic",
        Container::GraphPage => "graph",
        Container::Records => "diagnostic",
        Container::Array => "json-array",
        Container::Single if line_mode => "ndjson",
        Container::Single => "json-object",
    }
}

/// Sign-in kind from a diagnostic category or Log Analytics table name (lowercase).
/// `Some(None)`: a sign-in category without a [`SignInKind`] (AD FS); `None`: not a sign-in.
fn kind_of_category(category: &str) -> Option<Option<SignInKind>> {
    let c = category.trim().to_ascii_lowercase();
    let c = c.strip_prefix("aad").unwrap_or(&c);
    Some(match c {
        "signinlogs" => Some(SignInKind::InteractiveUser),
        "noninteractiveusersigninlogs" => Some(SignInKind::NonInteractiveUser),
        "serviceprincipalsigninlogs" | "microsoftserviceprincipalsigninlogs" => {
            Some(SignInKind::ServicePrincipal)
        }
        "managedidentitysigninlogs" => Some(SignInKind::ManagedIdentity),
        _ if c.contains("signin") => None,
        _ => return None,
    })
}

fn kind_of_event_type(t: &str) -> Option<SignInKind> {
    match t.trim().to_ascii_lowercase().as_str() {
        "interactiveuser" => Some(SignInKind::InteractiveUser),
        "noninteractiveuser" => Some(SignInKind::NonInteractiveUser),
        "serviceprincipal" => Some(SignInKind::ServicePrincipal),
        "managedidentity" => Some(SignInKind::ManagedIdentity),
        _ => None,
    }
}

/// Maps one record. `line_mode`: the file is NDJSON (affects only `source_variant`);
/// `order`: how locale dates (`3/4/2026 1:00 PM`) are read.
pub(crate) fn map_record(
    top: &Map<String, Value>,
    container: Container,
    line_mode: bool,
    order: DateOrder,
) -> Result<Mapped, FieldError> {
    map_record_with(top, container, line_mode, order, None)
}

/// [`map_record`] for a record whose `appliedConditionalAccessPolicies` the caller has
/// already read (`applied`: the fast path's reading of a plain top-level list, with the member
/// left out of `top`).
pub(crate) fn map_record_with(
    top: &Map<String, Value>,
    container: Container,
    line_mode: bool,
    order: DateOrder,
    applied: Option<Vec<LoggedPolicy>>,
) -> Result<Mapped, FieldError> {
    // Some Event Hub consumers store `properties` as a string holding the JSON object.
    let properties: Option<Cow<Map<String, Value>>> = match top.get("properties") {
        Some(Value::Object(p)) => Some(Cow::Borrowed(p)),
        Some(v @ Value::String(s)) if s.trim_start().starts_with('{') => {
            match nested(Some(v)).map_err(|reason| FieldError::new("properties", reason))? {
                Some(Cow::Owned(Value::Object(p))) => Some(Cow::Owned(p)),
                _ => None,
            }
        }
        _ => None,
    };
    let rec = Record {
        sig: properties.as_deref().unwrap_or(top),
        env: top,
        prefix: if properties.is_some() {
            "properties."
        } else {
            ""
        },
    };
    let env_text = |key: &str, field: &str| {
        text(rec.env.get(key)).map_err(|reason| FieldError::new(field, reason))
    };

    // Kind first: a diagnostic record of another category is not a sign-in at all.
    let category = match env_text("category", "category")? {
        Some(c) => Some(c),
        None => rec.text("category", "category")?,
    };
    let mut kind = None;
    if let Some(c) = &category {
        match kind_of_category(c) {
            Some(k) => kind = k,
            None => {
                return Ok(Mapped::Other {
                    category: c.clone(),
                });
            }
        }
    } else if let Some(table) = rec.text("type", "Type")? {
        // Log Analytics rows carry their table name in `Type`; other values are not tables.
        kind = kind_of_category(&table).flatten();
    }
    if kind.is_none() {
        let types =
            strings(rec.get("signineventtypes")).map_err(|r| rec.err("signInEventTypes", r))?;
        kind = types.first().and_then(|t| kind_of_event_type(t));
    }
    let is_interactive = rec.flag("isinteractive", "isInteractive")?;
    if kind.is_none() && is_interactive == Some(true) {
        kind = Some(SignInKind::InteractiveUser);
    }

    let (id, derived_id) = match rec.text("id", "id")? {
        Some(id) => (id, false),
        None => (derived_id(top), true),
    };
    let created = created(&rec, order)?;

    let status = rec.object("status", "status")?;
    let status_get = |k: &str| status.as_deref().and_then(|m| m.get(k));
    let error_code =
        match integer(status_get("errorcode")).map_err(|r| rec.err("status.errorCode", r))? {
            Some(code) => Some(code),
            // Log Analytics `ResultType` and the diagnostic envelope's `resultType` are strings;
            // a non-numeric one ("Success" in some tools) says nothing about the code.
            None => integer(rec.get("resulttype"))
                .ok()
                .flatten()
                .or_else(|| integer(rec.env.get("resulttype")).ok().flatten()),
        };
    let failure_reason =
        match text(status_get("failurereason")).map_err(|r| rec.err("status.failureReason", r))? {
            Some(r) => Some(r),
            None => match rec.text("resultdescription", "resultDescription")? {
                Some(r) => Some(r),
                None => env_text("resultdescription", "resultDescription")?,
            },
        };

    let location = match rec.get("location") {
        // Log Analytics: `Location` is the country code, `LocationDetails` the object.
        Some(Value::String(_)) => rec.object("locationdetails", "LocationDetails")?,
        _ => rec.object("location", "location")?,
    };
    let loc_text = |k: &str, field: &str| {
        text(location.as_deref().and_then(|m| m.get(k))).map_err(|r| rec.err(field, r))
    };
    let country = match loc_text("countryorregion", "location.countryOrRegion")? {
        Some(c) => Some(c),
        None => match rec.get("location") {
            Some(Value::String(_)) => rec.text("location", "Location")?,
            _ => None,
        },
    };

    let (latitude, longitude) = coordinates(&rec, location.as_deref())?;

    let device = rec.object("devicedetail", "deviceDetail")?;
    let dev = |k: &str| device.as_deref().and_then(|m| m.get(k));
    let dev_text = |k: &str, field: &str| {
        text(dev(k)).map_err(|r| rec.err(&format!("deviceDetail.{field}"), r))
    };
    let dev_flag = |k: &str, field: &str| {
        flag(dev(k)).map_err(|r| rec.err(&format!("deviceDetail.{field}"), r))
    };

    let (network_names, trusted_network) = networks(&rec)?;
    let (authentication_methods, mfa_satisfied, primary_auth_fresh) =
        authentication(&rec, error_code)?;
    let authentication_contexts = authentication_contexts(&rec)?;

    let ip_address = match rec.text("ipaddress", "ipAddress")? {
        Some(ip) => Some(ip),
        None => env_text("calleripaddress", "callerIpAddress")?,
    };
    let correlation_id = match rec.text("correlationid", "correlationId")? {
        Some(c) => Some(c),
        None => env_text("correlationid", "correlationId")?,
    };
    let resource_id = match rec.text("resourceid", "resourceId")? {
        // A flattened diagnostic record's `resourceId` is the tenant's ARM path, not an app.
        Some(r) if !r.starts_with('/') => Some(r),
        _ => rec.text("resourceidentity", "ResourceIdentity")?,
    };
    let user_type =
        rec.text("usertype", "userType")?
            .map(|t| match t.to_ascii_lowercase().as_str() {
                "member" => "Member".to_string(),
                "guest" => "Guest".to_string(),
                _ => t,
            });

    let signin = SignIn {
        id,
        created_date_time: created.text,
        correlation_id,
        kind,
        user_id: not_nil(rec.text("userid", "userId")?),
        user_principal_name: rec.text("userprincipalname", "userPrincipalName")?,
        user_type,
        home_tenant_id: rec.text("hometenantid", "homeTenantId")?,
        resource_tenant_id: rec.text("resourcetenantid", "resourceTenantId")?,
        app_owner_tenant_id: rec.text("appownertenantid", "appOwnerTenantId")?,
        cross_tenant_access_type: rec.text("crosstenantaccesstype", "crossTenantAccessType")?,
        service_principal_id: not_nil(rec.text("serviceprincipalid", "servicePrincipalId")?),
        service_principal_name: rec.text("serviceprincipalname", "servicePrincipalName")?,
        app_id: rec.text("appid", "appId")?,
        app_display_name: rec.text("appdisplayname", "appDisplayName")?,
        resource_id,
        resource_display_name: rec.text("resourcedisplayname", "resourceDisplayName")?,
        ip_address,
        country,
        city: loc_text("city", "location.city")?,
        state: loc_text("state", "location.state")?,
        latitude,
        longitude,
        network_names,
        trusted_network,
        client_app_used: rec.text("clientappused", "clientAppUsed")?,
        operating_system: dev_text("operatingsystem", "operatingSystem")?,
        browser: dev_text("browser", "browser")?,
        device_id: not_nil(dev_text("deviceid", "deviceId")?),
        device_display_name: dev_text("displayname", "displayName")?,
        device_compliant: dev_flag("iscompliant", "isCompliant")?,
        device_managed: dev_flag("ismanaged", "isManaged")?,
        device_trust_type: dev_text("trusttype", "trustType")?,
        authentication_protocol: rec.text("authenticationprotocol", "authenticationProtocol")?,
        original_transfer_method: rec.text("originaltransfermethod", "originalTransferMethod")?,
        sign_in_risk_level: rec.text("risklevelduringsignin", "riskLevelDuringSignIn")?,
        risk_level_aggregated: rec.text("risklevelaggregated", "riskLevelAggregated")?,
        risk_state: rec.text("riskstate", "riskState")?,
        risk_event_types: risk_event_types(&rec)?,
        user_risk_level: None,
        service_principal_risk_level: None,
        authentication_requirement: rec
            .text("authenticationrequirement", "authenticationRequirement")?,
        mfa_satisfied,
        authentication_methods,
        error_code,
        failure_reason,
        conditional_access_status: rec
            .text("conditionalaccessstatus", "conditionalAccessStatus")?,
        applied_policies: match applied {
            Some(policies) => Some(policies),
            None => applied_policies(&rec)?,
        },
        is_interactive,
        client_credential_type: rec.text("clientcredentialtype", "clientCredentialType")?,
        primary_auth_fresh,
        authentication_contexts,
        user_agent: rec.text("useragent", "userAgent")?,
        source_variant: Some(variant(container, properties.is_some(), line_mode).to_string()),
    };
    Ok(Mapped::SignIn {
        signin: Box::new(signin),
        assumed_utc: created.assumed_utc,
        locale_confirmed: created.locale_confirmed,
        derived_id,
    })
}

/// The prefix of an id vigil derived for a record that has none.
pub(crate) const DERIVED_ID_PREFIX: &str = "derived-";

/// An id for a record without one: `derived-` and the first 128 bits (hex) of the SHA-256 of
/// the record as read (compact JSON, keys folded to lowercase). The same record always gets
/// the same id, so a record repeated across files is still read once; the prefix keeps it
/// apart from every request id Entra writes.
fn derived_id(top: &Map<String, Value>) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(top).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut id = String::with_capacity(DERIVED_ID_PREFIX.len() + 32);
    id.push_str(DERIVED_ID_PREFIX);
    for b in &digest[..16] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// `createdDateTime`, else the diagnostic envelope's `time`, else Log Analytics `TimeGenerated`.
fn created(rec: &Record, order: DateOrder) -> Res<time::Normalized> {
    // Field names for messages, spelled out only for one.
    let candidates = [
        (rec.get("createddatetime"), rec.prefix, "createdDateTime"),
        (rec.env.get("time"), "", "time"),
        (rec.get("timegenerated"), rec.prefix, "TimeGenerated"),
    ];
    for (value, prefix, name) in candidates {
        let field = || format!("{prefix}{name}");
        let raw = text(value).map_err(|reason| FieldError::new(field(), reason))?;
        if let Some(raw) = raw {
            return time::normalize_with(&raw, order)
                .map_err(|e| date_error(&field(), &raw, order, &e));
        }
    }
    Err(rec.err(
        "createdDateTime",
        "missing, and the record has no `time` to fall back on",
    ))
}

/// The error for a date-time that cannot be read in `order`.
pub(crate) fn date_error(
    field: &str,
    raw: &str,
    order: DateOrder,
    e: &time::TimeError,
) -> FieldError {
    match e {
        time::TimeError::ContradictsOrder => {
            let (read, other) = match order {
                DateOrder::MonthFirst => ("month first", DateOrder::DayFirst),
                DateOrder::DayFirst => ("day first", DateOrder::MonthFirst),
            };
            FieldError {
                field: field.to_string(),
                reason: format!(
                    "date {raw:?} cannot be read {read} (--date-order {}): the file writes \
                     dates the other way round; run again with --date-order {}",
                    order.flag(),
                    other.flag()
                ),
                fatal: true,
            }
        }
        time::TimeError::Unrecognized => FieldError::new(
            field,
            format!(
                "unrecognized date-time {raw:?} (expected RFC 3339, e.g. \
                 2026-01-05T14:23:45.123Z, or a locale date such as 1/5/2026 2:23:45 PM)"
            ),
        ),
    }
}

/// `networkLocationDetails`: (every network name, whether any entry is a trusted location).
/// Absent → (None, None); present (even `[]`) → the names and `Some(trusted)`.
/// A coordinate in degrees: a number, or a string holding one, within `-limit..=limit`.
fn degrees(v: Option<&Value>, limit: f64) -> Result<Option<f64>, String> {
    let x = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| format!("expected a number, found {n}"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("expected a number, found {s:?}"))?,
        Some(other) => return Err(format!("expected a number, found {}", kind_of(other))),
    };
    if !x.is_finite() || x.abs() > limit {
        return Err(format!("{x} is not between -{limit} and {limit} degrees"));
    }
    Ok(Some(x))
}

/// `location.geoCoordinates` as (latitude, longitude). Both must be present; `{}` and the
/// 0,0 placeholder (managed identity and service principal sign-ins write it) are absent.
fn coordinates(
    rec: &Record,
    location: Option<&Map<String, Value>>,
) -> Res<(Option<Degrees>, Option<Degrees>)> {
    let field = |k: &str| format!("location.geoCoordinates.{k}");
    let geo = object(location.and_then(|m| m.get("geocoordinates")))
        .map_err(|r| rec.err("location.geoCoordinates", r))?;
    let Some(geo) = geo else {
        return Ok((None, None));
    };
    let lat = degrees(geo.get("latitude"), 90.0).map_err(|r| rec.err(&field("latitude"), r))?;
    let lon = degrees(geo.get("longitude"), 180.0).map_err(|r| rec.err(&field("longitude"), r))?;
    Ok(match (lat, lon) {
        (Some(lat), Some(lon)) if lat != 0.0 || lon != 0.0 => {
            (Some(Degrees(lat)), Some(Degrees(lon)))
        }
        _ => (None, None),
    })
}

/// riskEventTypes_v2, else the older riskEventTypes: the names as logged, without `none`.
/// Log Analytics writes the column as a string holding a JSON array; a bare name (some
/// tools flatten one-item lists) is read as a list of one.
fn risk_event_types(rec: &Record) -> Res<Option<Vec<String>>> {
    for (key, field) in [
        ("riskeventtypes_v2", "riskEventTypes_v2"),
        ("riskeventtypes", "riskEventTypes"),
    ] {
        let v = rec.get(key);
        if v.is_none_or(Value::is_null) {
            continue;
        }
        let items = match v {
            Some(Value::String(s)) if !s.trim_start().starts_with('[') => {
                s.split(',').map(|x| x.trim().to_string()).collect()
            }
            _ => strings(v).map_err(|r| rec.err(field, r))?,
        };
        return Ok(Some(
            items
                .into_iter()
                .filter(|x| !x.is_empty() && !x.eq_ignore_ascii_case("none"))
                .collect(),
        ));
    }
    Ok(None)
}

fn networks(rec: &Record) -> Res<(Option<Vec<String>>, Option<bool>)> {
    let Some(details) = rec.array("networklocationdetails", "networkLocationDetails")? else {
        return Ok((None, None));
    };
    let mut names = Vec::new();
    let mut trusted = false;
    for (i, d) in details.iter().enumerate() {
        let field = |f: &str| format!("networkLocationDetails[{i}].{f}");
        let Value::Object(d) = d else {
            return Err(rec.err(
                &format!("networkLocationDetails[{i}]"),
                format!("expected an object, found {}", kind_of(d)),
            ));
        };
        let kind = text(d.get("networktype")).map_err(|r| rec.err(&field("networkType"), r))?;
        if kind.as_deref().is_some_and(|k| {
            k.eq_ignore_ascii_case("trustedNamedLocation") || k.eq_ignore_ascii_case("trusted")
        }) {
            trusted = true;
        }
        for name in
            strings(d.get("networknames")).map_err(|r| rec.err(&field("networkNames"), r))?
        {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok((Some(names), Some(trusted)))
}

/// Words in `authenticationMethod` that name a second factor or a multifactor credential.
const SECOND_FACTOR_METHODS: &[&str] = &[
    "sms",
    "text message",
    "voice",
    "phone call",
    "authenticator",
    "mobile app",
    "oath",
    "verification code",
    "fido",
    "passkey",
    "windows hello",
    "passwordless",
];

/// AADSTS codes that state that the sign-in has not met an MFA requirement (reference text):
/// 50072 "User needs to enroll for second factor authentication", 50074 "Strong authentication
/// is required and the user did not pass the MFA challenge", 50076 "the user must use
/// multifactor authentication", 50078 "Presented multifactor authentication has expired",
/// 50079 "a managed user needs to register security info".
const MFA_NOT_MET: [i64; 5] = [50072, 50074, 50076, 50078, 50079];

/// Whether one succeeded `authenticationDetails` step shows a second factor.
fn step_is_second_factor(step: &Map<String, Value>) -> bool {
    let lower = |k: &str| {
        step.get(k)
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default()
    };
    let requirement = lower("authenticationsteprequirement");
    let method = lower("authenticationmethod");
    let detail = lower("authenticationstepresultdetail");
    requirement.contains("multifactor")
        || requirement.contains("multi-factor")
        || requirement.contains("mfa")
        || SECOND_FACTOR_METHODS.iter().any(|m| method.contains(m))
        || detail.contains("mfa requirement satisfied")
        || detail.contains("mfa completed")
        || detail.contains("mfa successfully completed")
}

/// Whether one succeeded `authenticationDetails` step was satisfied by a claim in a presented
/// token rather than performed in this sign-in ("Previously satisfied", "First factor
/// requirement satisfied by claim in the token").
fn step_from_token(step: &Map<String, Value>) -> bool {
    let lower = |k: &str| {
        step.get(k)
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default()
    };
    lower("authenticationmethod").trim() == "previously satisfied"
        || lower("authenticationstepresultdetail").contains("by claim in the token")
}

/// `authenticationContextClassReferences` (Graph beta; Log Analytics
/// `AuthenticationContextClassReferences`): the `id` of each entry (an entry may also be a bare
/// string). Absent → None; present (even `[]`) → the ids.
fn authentication_contexts(rec: &Record) -> Res<Option<Vec<String>>> {
    let name = "authenticationContextClassReferences";
    let Some(items) = rec.array("authenticationcontextclassreferences", name)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = match item {
            Value::Object(m) => {
                text(m.get("id")).map_err(|r| rec.err(&format!("{name}[{i}].id"), r))?
            }
            other => text(Some(other)).map_err(|r| rec.err(&format!("{name}[{i}]"), r))?,
        };
        if let Some(id) = id
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    Ok(Some(out))
}

/// What `authenticationDetails` and its companions say: (`authentication_methods`,
/// `mfa_satisfied`, `primary_auth_fresh`).
type Authentication = (Option<Vec<String>>, Option<bool>, Option<bool>);

/// (`authentication_methods`, `mfa_satisfied`, `primary_auth_fresh`), by the rules written in
/// the documentation of [`crate::signin`] (keep the two in step, and
/// schemas/signin.schema.json with them).
fn authentication(rec: &Record, error_code: Option<i64>) -> Res<Authentication> {
    let steps = rec
        .array("authenticationdetails", "authenticationDetails")?
        .unwrap_or_default();
    let mut methods = Vec::new();
    let mut second_factor = false;
    // (is the primary-authentication step, satisfied by a token claim) of the first succeeded
    // step and of the first succeeded step marked "Primary authentication".
    let mut first_succeeded: Option<bool> = None;
    let mut primary_step: Option<bool> = None;
    for (i, step) in steps.iter().enumerate() {
        let Value::Object(step) = step else {
            return Err(rec.err(
                &format!("authenticationDetails[{i}]"),
                format!("expected an object, found {}", kind_of(step)),
            ));
        };
        let succeeded = flag(step.get("succeeded"))
            .map_err(|r| rec.err(&format!("authenticationDetails[{i}].succeeded"), r))?;
        if succeeded != Some(true) {
            continue;
        }
        second_factor |= step_is_second_factor(step);
        let from_token = step_from_token(step);
        first_succeeded.get_or_insert(from_token);
        let requirement = step
            .get("authenticationsteprequirement")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if requirement.contains("primary") {
            primary_step.get_or_insert(from_token);
        }
        let method = text(step.get("authenticationmethod")).map_err(|r| {
            rec.err(
                &format!("authenticationDetails[{i}].authenticationMethod"),
                r,
            )
        })?;
        if let Some(m) = method
            && !methods.contains(&m)
        {
            methods.push(m);
        }
    }
    let methods = if !steps.is_empty() {
        Some(methods)
    } else {
        let used = strings(rec.get("authenticationmethodsused"))
            .map_err(|r| rec.err("authenticationMethodsUsed", r))?;
        (!used.is_empty()).then_some(used)
    };

    let succeeded = error_code == Some(0);
    let mfa_detail_method = match rec.object("mfadetail", "mfaDetail")? {
        Some(d) => text(d.get("authmethod")).map_err(|r| rec.err("mfaDetail.authMethod", r))?,
        None => None,
    };
    let requirement = rec
        .text("authenticationrequirement", "authenticationRequirement")?
        .map(|r| r.to_ascii_lowercase());
    let mfa = if second_factor || (mfa_detail_method.is_some() && succeeded) {
        Some(true)
    } else {
        match (requirement.as_deref(), succeeded) {
            (Some("multifactorauthentication"), true) => Some(true),
            (Some("singlefactorauthentication"), true) => Some(false),
            // The code itself says the MFA requirement was not met in this sign-in.
            _ if error_code.is_some_and(|c| MFA_NOT_MET.contains(&c)) => Some(false),
            _ => None,
        }
    };
    let fresh = primary_step
        .or(first_succeeded)
        .map(|from_token| !from_token);
    Ok((methods, mfa, fresh))
}

/// `appliedConditionalAccessPolicies` (Log Analytics: `ConditionalAccessPolicies`).
fn applied_policies(rec: &Record) -> Res<Option<Vec<LoggedPolicy>>> {
    let (items, name) = match rec.array(
        "appliedconditionalaccesspolicies",
        "appliedConditionalAccessPolicies",
    )? {
        Some(items) => (items, "appliedConditionalAccessPolicies"),
        None => match rec.array("conditionalaccesspolicies", "ConditionalAccessPolicies")? {
            Some(items) => (items, "ConditionalAccessPolicies"),
            None => return Ok(None),
        },
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, p) in items.iter().enumerate() {
        let field = |f: &str| format!("{name}[{i}].{f}");
        let Value::Object(p) = p else {
            return Err(rec.err(
                &format!("{name}[{i}]"),
                format!("expected an object, found {}", kind_of(p)),
            ));
        };
        let required = |k: &str, f: &str| -> Res<String> {
            text(p.get(k))
                .map_err(|r| rec.err(&field(f), r))?
                .ok_or_else(|| rec.err(&field(f), "missing"))
        };
        out.push(LoggedPolicy {
            id: required("id", "id")?,
            display_name: text(p.get("displayname"))
                .map_err(|r| rec.err(&field("displayName"), r))?,
            result: required("result", "result")?,
            enforced_grant_controls: strings(p.get("enforcedgrantcontrols"))
                .map_err(|r| rec.err(&field("enforcedGrantControls"), r))?,
            enforced_session_controls: strings(p.get("enforcedsessioncontrols"))
                .map_err(|r| rec.err(&field("enforcedSessionControls"), r))?,
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses JSON text and folds its keys, as the reader does.
    fn record(json: &str) -> Map<String, Value> {
        match fold_keys(serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))) {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn signin(json: &str) -> SignIn {
        match map_record(
            &record(json),
            Container::Single,
            true,
            DateOrder::MonthFirst,
        ) {
            Ok(Mapped::SignIn { signin, .. }) => *signin,
            other => panic!("{json}: {other:?}"),
        }
    }

    fn mfa(json: &str) -> Option<bool> {
        signin(json).mfa_satisfied
    }

    const BASE: &str = r#""id":"a","createdDateTime":"2026-01-05T14:23:45.123Z""#;
    const BASE_ONLY: &str = r#"{"id":"a","createdDateTime":"2026-01-05T14:23:45.123Z"}"#;

    #[test]
    fn mfa_rule_each_branch() {
        // 1. a succeeded second-factor step, by requirement or by method
        assert_eq!(
            mfa(&format!(
                r#"{{{BASE},"status":{{"errorCode":50074}},"authenticationDetails":[
                {{"authenticationMethod":"Previously satisfied","succeeded":true,
                  "authenticationStepRequirement":"Multifactor authentication"}}]}}"#
            )),
            Some(true)
        );
        assert_eq!(
            mfa(&format!(
                r#"{{{BASE},"authenticationDetails":[{{"authenticationMethod":"Password","succeeded":true}},
                {{"authenticationMethod":"Mobile app notification","succeeded":true}}]}}"#
            )),
            Some(true)
        );
        // a failed second factor does not count
        assert_eq!(
            mfa(&format!(
                r#"{{{BASE},"status":{{"errorCode":500121}},"authenticationRequirement":"multiFactorAuthentication",
                "authenticationDetails":[{{"authenticationMethod":"Text message","succeeded":false,
                "authenticationStepRequirement":"Multifactor authentication"}}]}}"#
            )),
            None
        );
        // 2. mfaDetail with success
        assert_eq!(
            mfa(&format!(
                r#"{{{BASE},"status":{{"errorCode":0}},"mfaDetail":{{"authMethod":"PhoneAppNotification"}}}}"#
            )),
            Some(true)
        );
        assert_eq!(
            mfa(&format!(
                r#"{{{BASE},"status":{{"errorCode":0}},"mfaDetail":{{}}}}"#
            )),
            None
        );
        // 3. and 4. authenticationRequirement with success
        assert_eq!(
            mfa(&format!(
                r#"{{{BASE},"status":{{"errorCode":0}},"authenticationRequirement":"multiFactorAuthentication"}}"#
            )),
            Some(true)
        );
        assert_eq!(
            mfa(&format!(
                r#"{{{BASE},"resultType":"0","authenticationRequirement":"singleFactorAuthentication"}}"#
            )),
            Some(false)
        );
        // 5. a code saying the MFA requirement was not met
        for code in [50072, 50074, 50076, 50078, 50079] {
            assert_eq!(
                mfa(&format!(
                    r#"{{{BASE},"status":{{"errorCode":{code}}},"authenticationRequirement":"multiFactorAuthentication"}}"#
                )),
                Some(false),
                "{code}"
            );
        }
        // 6. failure with single factor says nothing, nor does a block
        assert_eq!(
            mfa(&format!(
                r#"{{{BASE},"status":{{"errorCode":50126}},"authenticationRequirement":"singleFactorAuthentication"}}"#
            )),
            None
        );
        assert_eq!(
            mfa(&format!(r#"{{{BASE},"status":{{"errorCode":53003}}}}"#)),
            None
        );
    }

    #[test]
    fn primary_authentication_freshness() {
        let fresh = |json: &str| signin(json).primary_auth_fresh;
        // A password entered in this sign-in.
        assert_eq!(
            fresh(&format!(
                r#"{{{BASE},"authenticationDetails":[{{"authenticationMethod":"Password","succeeded":true,
                "authenticationStepRequirement":"Primary authentication","authenticationStepResultDetail":"Correct password"}}]}}"#
            )),
            Some(true)
        );
        // A primary refresh token: the first factor came from a claim in the token.
        assert_eq!(
            fresh(&format!(
                r#"{{{BASE},"authenticationDetails":[{{"authenticationMethod":"Previously satisfied","succeeded":true,
                "authenticationStepRequirement":"Primary authentication",
                "authenticationStepResultDetail":"First factor requirement satisfied by claim in the token"}},
                {{"authenticationMethod":"Mobile app notification","succeeded":true,"authenticationStepRequirement":"Multifactor authentication"}}]}}"#
            )),
            Some(false)
        );
        // The step marked "Primary authentication" decides, whatever comes first.
        assert_eq!(
            fresh(&format!(
                r#"{{{BASE},"authenticationDetails":[{{"authenticationMethod":"Previously satisfied","succeeded":true,
                "authenticationStepRequirement":"Multifactor authentication",
                "authenticationStepResultDetail":"MFA requirement satisfied by claim in the token"}},
                {{"authenticationMethod":"FIDO2 security key","succeeded":true,"authenticationStepRequirement":"Primary authentication"}}]}}"#
            )),
            Some(true)
        );
        // No succeeded step, or no steps: the log does not say.
        assert_eq!(
            fresh(&format!(
                r#"{{{BASE},"authenticationDetails":[{{"authenticationMethod":"Password","succeeded":false}}]}}"#
            )),
            None
        );
        assert_eq!(
            fresh(&format!(r#"{{{BASE},"authenticationDetails":[]}}"#)),
            None
        );
    }

    #[test]
    fn authentication_contexts_owner_tenant_and_client_credential() {
        let s = signin(&format!(
            r#"{{{BASE},"authenticationContextClassReferences":[{{"id":"c1","detail":"required"}},{{"id":"c3","detail":"previouslySatisfied"}}],
            "appOwnerTenantId":"t-owner","clientCredentialType":"clientSecret"}}"#
        ));
        assert_eq!(
            s.authentication_contexts,
            Some(vec!["c1".to_string(), "c3".to_string()])
        );
        assert_eq!(s.app_owner_tenant_id.as_deref(), Some("t-owner"));
        assert_eq!(s.client_credential_type.as_deref(), Some("clientSecret"));
        // Log Analytics: PascalCase, the list as a JSON string; an empty list is information.
        let s = signin(
            r#"{"Id":"la","TimeGenerated":"2026-01-05T00:00:00Z","AuthenticationContextClassReferences":"[]",
            "AppOwnerTenantId":"t","ClientCredentialType":"none"}"#,
        );
        assert_eq!(s.authentication_contexts, Some(vec![]));
        assert_eq!(s.app_owner_tenant_id.as_deref(), Some("t"));
        // Absent (Graph v1.0): None.
        assert_eq!(signin(&format!("{{{BASE}}}")).authentication_contexts, None);
    }

    #[test]
    fn absent_encodings_are_none() {
        let s = signin(&format!(
            r#"{{{BASE},"userId":"","userPrincipalName":null,"deviceDetail":{{"deviceId":"00000000-0000-0000-0000-000000000000",
            "trustType":"","isCompliant":null}},"location":{{"city":"","geoCoordinates":{{}}}},"mfaDetail":{{}}}}"#
        ));
        assert_eq!(s.user_id, None);
        assert_eq!(s.user_principal_name, None);
        assert_eq!(s.device_id, None);
        assert_eq!(s.device_trust_type, None);
        assert_eq!(s.device_compliant, None);
        assert_eq!(s.city, None);
        assert_eq!(s.network_names, None);
        assert_eq!(s.applied_policies, None);
        assert_eq!(s.authentication_methods, None);
        assert_eq!(s.error_code, None);
        assert_eq!(s.kind, None);
    }

    #[test]
    fn log_analytics_pascal_case_and_json_in_strings() {
        let s = signin(
            r#"{"Id":"b","TimeGenerated":"2023-09-19T13:45:17.287Z","Type":"AADNonInteractiveUserSignInLogs",
            "ResultType":"50126","UserType":"guest","Location":"US","LocationDetails":{"city":"Redmond"},
            "DeviceDetail":"{\"isCompliant\":\"true\",\"operatingSystem\":\"Ios 17\"}",
            "NetworkLocationDetails":"[{\"networkType\":\"trustedNamedLocation\",\"networkNames\":[\"HQ\"]}]",
            "ConditionalAccessPolicies":[{"id":"p1","displayName":"MFA","result":"failure","enforcedGrantControls":["Mfa"]}]}"#,
        );
        assert_eq!(s.created_date_time, "2023-09-19T13:45:17.287Z");
        assert_eq!(s.kind, Some(SignInKind::NonInteractiveUser));
        assert_eq!(s.error_code, Some(50126));
        assert_eq!(s.user_type.as_deref(), Some("Guest"));
        assert_eq!(s.country.as_deref(), Some("US"));
        assert_eq!(s.city.as_deref(), Some("Redmond"));
        assert_eq!(s.device_compliant, Some(true));
        assert_eq!(s.operating_system.as_deref(), Some("Ios 17"));
        assert_eq!(s.network_names, Some(vec!["HQ".to_string()]));
        assert_eq!(s.trusted_network, Some(true));
        let p = s.applied_policies.unwrap_or_default();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].enforced_grant_controls, ["Mfa"]);
    }

    #[test]
    fn diagnostic_properties_as_a_json_string() {
        let r = map_record(
            &record(
                r#"{"category":"ManagedIdentitySignInLogs","time":"2022-01-24T04:59:49.2279838Z",
                "properties":"{\"id\":\"m\",\"IpAddress\":\"\"}"}"#,
            ),
            Container::Single,
            true,
            DateOrder::MonthFirst,
        );
        let Ok(Mapped::SignIn { signin, .. }) = r else {
            panic!("{r:?}");
        };
        assert_eq!(signin.id, "m");
        assert_eq!(signin.created_date_time, "2022-01-24T04:59:49.227Z");
        assert_eq!(signin.kind, Some(SignInKind::ManagedIdentity));
        assert_eq!(signin.ip_address, None);
        assert_eq!(signin.source_variant.as_deref(), Some("diagnostic"));
    }

    #[test]
    fn a_record_without_id_gets_one_from_its_content() {
        let id = |json: &str| signin(json).id;
        let a = id(r#"{"createdDateTime":"2026-01-05T00:00:00Z","userId":"u"}"#);
        assert!(a.starts_with(DERIVED_ID_PREFIX) && a.len() == 40, "{a}");
        assert_eq!(
            a,
            id(r#"{"createdDateTime":"2026-01-05T00:00:00Z","userId":"u"}"#)
        );
        assert_ne!(
            a,
            id(r#"{"createdDateTime":"2026-01-05T00:00:00Z","userId":"v"}"#)
        );
        assert_eq!(id(&format!("{{{BASE}}}")), "a", "an id is kept as written");
    }

    #[test]
    fn other_categories_are_not_sign_ins() {
        let r = map_record(
            &record(r#"{"category":"AuditLogs","properties":{"id":"x"}}"#),
            Container::Records,
            false,
            DateOrder::MonthFirst,
        );
        assert!(matches!(r, Ok(Mapped::Other { category }) if category == "AuditLogs"));
    }

    #[test]
    fn coordinates_and_risk_events() {
        let s = signin(&format!(
            r#"{{{BASE},"location":{{"city":"Redmond","geoCoordinates":{{"altitude":null,"latitude":47.67858,"longitude":-122.13158}}}},
            "riskEventTypes":["unlikelyTravel"],"riskEventTypes_v2":["anonymizedIPAddress","none"]}}"#
        ));
        assert_eq!(s.latitude, Some(Degrees(47.67858)));
        assert_eq!(s.longitude, Some(Degrees(-122.13158)));
        assert_eq!(
            s.risk_event_types,
            Some(vec!["anonymizedIPAddress".to_string()]),
            "v2 wins and `none` is dropped"
        );
        // The older list when v2 is absent; [] is kept as "none listed".
        let s = signin(&format!(
            r#"{{{BASE},"riskEventTypes":["unlikelyTravel"]}}"#
        ));
        assert_eq!(s.risk_event_types, Some(vec!["unlikelyTravel".to_string()]));
        let s = signin(&format!(r#"{{{BASE},"riskEventTypes_v2":[]}}"#));
        assert_eq!(s.risk_event_types, Some(vec![]));
        let s = signin(BASE_ONLY);
        assert_eq!((s.latitude, s.risk_event_types), (None, None));
        // The 0,0 placeholder, `{}` and half a pair are absent.
        for geo in [
            r#"{"latitude":0,"longitude":0}"#,
            "{}",
            r#"{"latitude":12.5}"#,
        ] {
            let s = signin(&format!(
                r#"{{{BASE},"location":{{"geoCoordinates":{geo}}}}}"#
            ));
            assert_eq!((s.latitude, s.longitude), (None, None), "{geo}");
        }
        // Log Analytics: nested columns as strings holding JSON, numbers as strings.
        let s = signin(
            r#"{"Id":"b","TimeGenerated":"2023-09-19T13:45:17.287Z","Location":"DE",
            "LocationDetails":"{\"geoCoordinates\":{\"latitude\":\"52.52\",\"longitude\":13.405}}",
            "RiskEventTypes_V2":"[\"anonymizedIPAddress\"]"}"#,
        );
        assert_eq!(s.latitude, Some(Degrees(52.52)));
        assert_eq!(s.longitude, Some(Degrees(13.405)));
        assert_eq!(
            s.risk_event_types,
            Some(vec!["anonymizedIPAddress".to_string()])
        );
    }

    #[test]
    fn field_errors_name_the_field() {
        let err = |json: &str| match map_record(
            &record(json),
            Container::Records,
            false,
            DateOrder::MonthFirst,
        ) {
            Err(e) => (e.field, e.reason),
            Ok(m) => panic!("{json}: {m:?}"),
        };
        assert_eq!(
            err(r#"{"category":"SignInLogs","properties":{"id":"x"}}"#).0,
            "properties.createdDateTime"
        );
        assert_eq!(
            err(r#"{"properties":{"id":"x","createdDateTime":"soon"}}"#).0,
            "properties.createdDateTime"
        );
        assert_eq!(
            err(&format!(r#"{{{BASE},"status":{{"errorCode":"boom"}}}}"#)).0,
            "status.errorCode"
        );
        assert_eq!(
            err(&format!(
                r#"{{{BASE},"location":{{"geoCoordinates":{{"latitude":91,"longitude":0}}}}}}"#
            ))
            .0,
            "location.geoCoordinates.latitude"
        );
        assert_eq!(
            err(&format!(
                r#"{{{BASE},"location":{{"geoCoordinates":{{"latitude":1,"longitude":"east"}}}}}}"#
            ))
            .0,
            "location.geoCoordinates.longitude"
        );
        assert_eq!(
            err(&format!(r#"{{{BASE},"riskEventTypes_v2":{{"a":1}}}}"#)).0,
            "riskEventTypes_v2"
        );
        assert_eq!(
            err(&format!(
                r#"{{{BASE},"appliedConditionalAccessPolicies":[{{"id":"p"}}]}}"#
            )),
            (
                "appliedConditionalAccessPolicies[0].result".to_string(),
                "missing".to_string()
            )
        );
    }
}
