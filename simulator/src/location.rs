//! Reading named locations (Microsoft Graph `namedLocation` JSON) and matching them against
//! what a sign-in log shows.
//!
//! Accepted shapes: a JSON array, a Graph list `{"value":[...]}`, a single object, or a folder
//! of such `.json` files. The subtype comes from `@odata.type` (`#microsoft.graph.ipNamedLocation`,
//! `countryNamedLocation`, `compliantNetworkNamedLocation`, ...) or, without it, from the fields
//! present (`ipRanges`, `countriesAndRegions`, `compliantNetworkType`). Types vigil cannot
//! evaluate from a log become [`NamedLocationKind::Unsupported`] with a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::error::InputError;
use crate::model::{NamedLocation, NamedLocationKind, Tri};
use crate::policy::records;
use crate::text::{json_type, list_files, read_json};

/// The named locations read from `--named-locations`, in input order, with warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationSet {
    /// Locations in input order.
    pub locations: Vec<NamedLocation>,
    /// Human-readable warnings (types vigil cannot evaluate, GPS-based country lookup, ...).
    pub warnings: Vec<String>,
}

/// Reads every named location under `path` (a file or a folder of `.json` files).
pub fn load_named_locations(path: &Path) -> Result<LocationSet, InputError> {
    let files = list_files(path, &["json"])?;
    if files.is_empty() {
        return Err(InputError::format(path, "no .json files in this folder"));
    }
    let mut set = LocationSet::default();
    let mut seen = BTreeMap::new();
    for file in &files {
        let value = read_json(file)?;
        parse_into(&value, file, &mut set, &mut seen)?;
    }
    Ok(set)
}

/// Parses named locations from an already-parsed JSON document (array, Graph list or one object).
pub fn locations_from_json(value: &Value, file: &Path) -> Result<LocationSet, InputError> {
    let mut set = LocationSet::default();
    parse_into(value, file, &mut set, &mut BTreeMap::new())?;
    Ok(set)
}

fn parse_into(
    value: &Value,
    file: &Path,
    set: &mut LocationSet,
    seen: &mut BTreeMap<String, PathBuf>,
) -> Result<(), InputError> {
    let records = records(value, file, "named location", &mut set.warnings)?;
    if records.is_empty() {
        set.warnings.push(format!(
            "{}: no named locations in this file",
            file.display()
        ));
    }
    for (index, obj) in records {
        let loc = parse_location(obj, index, file, &mut set.warnings)?;
        let key = loc.id.to_ascii_lowercase();
        if let Some(first) = seen.get(&key) {
            return Err(InputError::Duplicate {
                file: file.to_path_buf(),
                record: label(&loc.id, &loc.display_name),
                what: format!("named location id {}", loc.id),
                first: first.clone(),
            });
        }
        seen.insert(key, file.to_path_buf());
        set.locations.push(loc);
    }
    Ok(())
}

fn label(id: &str, name: &str) -> String {
    if name.is_empty() {
        format!("named location {id}")
    } else {
        format!("named location {id} ({name})")
    }
}

fn parse_location(
    obj: &Map<String, Value>,
    index: Option<usize>,
    file: &Path,
    warnings: &mut Vec<String>,
) -> Result<NamedLocation, InputError> {
    let anon = match index {
        Some(i) => format!("named location at index {i}"),
        None => "named location".to_string(),
    };
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) => return Err(InputError::field(file, anon, "id", "empty")),
        None | Some(Value::Null) => {
            return Err(InputError::field(
                file,
                anon,
                "id",
                "missing; every named location needs its object id (policies refer to it)",
            ));
        }
        Some(other) => {
            return Err(InputError::field(
                file,
                anon,
                "id",
                format!("expected a string, found {}", json_type(other)),
            ));
        }
    };
    let display_name = match obj.get("displayName") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(InputError::field(
                file,
                format!("named location {id}"),
                "displayName",
                format!("expected a string, found {}", json_type(other)),
            ));
        }
    };
    let record = label(&id, &display_name);
    let err = |field: &str, reason: String| InputError::field(file, record.clone(), field, reason);
    let opt_bool = |field: &str| -> Result<Option<bool>, InputError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(err(
                field,
                format!("expected a boolean, found {}", json_type(other)),
            )),
        }
    };

    let odata_type = match obj.get("@odata.type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(err(
                "@odata.type",
                format!("expected a string, found {}", json_type(other)),
            ));
        }
    };
    let type_name = match &odata_type {
        Some(t) => {
            let t = t.trim().trim_start_matches('#');
            let short = match (t.get(..16), t.get(16..)) {
                (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("microsoft.graph.") => {
                    rest
                }
                _ => t,
            };
            short.to_string()
        }
        None if obj.get("ipRanges").is_some_and(|v| !v.is_null()) => "ipNamedLocation".into(),
        None if obj.get("countriesAndRegions").is_some_and(|v| !v.is_null()) => {
            "countryNamedLocation".into()
        }
        None if obj
            .get("compliantNetworkType")
            .is_some_and(|v| !v.is_null()) =>
        {
            "compliantNetworkNamedLocation".into()
        }
        None => "namedLocation".into(),
    };

    let kind = if type_name.eq_ignore_ascii_case("ipNamedLocation") {
        let ranges = match obj.get("ipRanges") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let (field, text) = match item {
                        Value::Object(m) => {
                            let field = format!("ipRanges[{i}].cidrAddress");
                            match m.get("cidrAddress") {
                                Some(Value::String(s)) => (field, s.as_str()),
                                None | Some(Value::Null) => {
                                    return Err(err(&field, "missing".into()));
                                }
                                Some(other) => {
                                    return Err(err(
                                        &field,
                                        format!("expected a string, found {}", json_type(other)),
                                    ));
                                }
                            }
                        }
                        Value::String(s) => (format!("ipRanges[{i}]"), s.as_str()),
                        other => {
                            return Err(err(
                                &format!("ipRanges[{i}]"),
                                format!(
                                    "expected an object with cidrAddress, found {}",
                                    json_type(other)
                                ),
                            ));
                        }
                    };
                    out.push(parse_cidr(text).map_err(|reason| err(&field, reason))?);
                }
                out
            }
            Some(other) => {
                return Err(err(
                    "ipRanges",
                    format!("expected an array, found {}", json_type(other)),
                ));
            }
        };
        NamedLocationKind::Ip {
            ranges,
            trusted: opt_bool("isTrusted")?.unwrap_or(false),
        }
    } else if type_name.eq_ignore_ascii_case("countryNamedLocation") {
        let countries = match obj.get("countriesAndRegions") {
            None | Some(Value::Null) => BTreeSet::new(),
            Some(Value::Array(items)) => {
                let mut out = BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) if s.trim().is_empty() => {}
                        Value::String(s) => {
                            out.insert(s.trim().to_ascii_uppercase());
                        }
                        other => {
                            return Err(err(
                                "countriesAndRegions",
                                format!(
                                    "expected an array of strings, found {} at index {i}",
                                    json_type(other)
                                ),
                            ));
                        }
                    }
                }
                out
            }
            Some(other) => {
                return Err(err(
                    "countriesAndRegions",
                    format!("expected an array of strings, found {}", json_type(other)),
                ));
            }
        };
        let lookup = match obj.get("countryLookupMethod") {
            None | Some(Value::Null) => "clientIpAddress".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(err(
                    "countryLookupMethod",
                    format!("expected a string, found {}", json_type(other)),
                ));
            }
        };
        if !lookup.eq_ignore_ascii_case("clientIpAddress") {
            warnings.push(format!(
                "{record}: countryLookupMethod {lookup}: sign-in logs carry no GPS location, so \
                 conditions on this location are indeterminate"
            ));
        }
        NamedLocationKind::Country {
            countries,
            include_unknown: opt_bool("includeUnknownCountriesAndRegions")?.unwrap_or(false),
            lookup,
        }
    } else {
        warnings.push(format!(
            "{record}: type {type_name} cannot be evaluated from sign-in logs; conditions on \
             this location are indeterminate"
        ));
        NamedLocationKind::Unsupported {
            type_name,
            trusted: opt_bool("isTrusted")?,
        }
    };
    Ok(NamedLocation {
        id,
        display_name,
        kind,
    })
}

/// Parses `a.b.c.d/n`, `x:y::z/n` or a bare address (= /32 or /128).
fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let t = text.trim();
    if t.contains('/') {
        t.parse::<IpNet>()
            .map_err(|e| format!("invalid CIDR \"{text}\": {e}"))
    } else {
        t.parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|e| format!("invalid IP address \"{text}\": {e}"))
    }
}

impl NamedLocation {
    /// Whether the location is trusted: `isTrusted` of an IP location, never for a country
    /// location (Graph has no trusted countries), as written (or unknown) for other types.
    pub fn is_trusted(&self) -> Option<bool> {
        match &self.kind {
            NamedLocationKind::Ip { trusted, .. } => Some(*trusted),
            NamedLocationKind::Country { .. } => Some(false),
            NamedLocationKind::Unsupported { trusted, .. } => *trusted,
        }
    }

    /// Whether an IP location's ranges contain `ip` (IPv4-mapped IPv6 addresses are compared
    /// as IPv4). Always false for other kinds; use [`NamedLocation::matches_country`] or treat
    /// unsupported kinds as undecided.
    pub fn matches_ip(&self, ip: &IpAddr) -> bool {
        let NamedLocationKind::Ip { ranges, .. } = &self.kind else {
            return false;
        };
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        ranges
            .iter()
            .any(|r| r.contains(ip) || mapped.is_some_and(|m| r.contains(&m)))
    }

    /// Whether a country location matches the sign-in's country (ISO alpha-2, compared
    /// case-insensitively; `None` = the log shows no country).
    ///
    /// - `countryLookupMethod` other than `clientIpAddress` (e.g. `authenticatorAppGps`):
    ///   `Unknown`, since logs carry no GPS position.
    /// - No country: `Unknown`, with or without "include unknown countries/regions": an empty
    ///   `countryOrRegion` cannot be told apart from a field the export dropped (SEMANTICS.md
    ///   Rule 4.22).
    /// - Other kinds: `No` for an IP location, `Unknown` for unsupported ones.
    pub fn matches_country(&self, country: Option<&str>) -> Tri {
        match &self.kind {
            NamedLocationKind::Country {
                countries, lookup, ..
            } => {
                if !lookup.eq_ignore_ascii_case("clientIpAddress") {
                    return Tri::Unknown;
                }
                match country.map(str::trim).filter(|c| !c.is_empty()) {
                    None => Tri::Unknown,
                    Some(c) => Tri::from_bool(countries.iter().any(|x| x.eq_ignore_ascii_case(c))),
                }
            }
            NamedLocationKind::Ip { .. } => Tri::No,
            NamedLocationKind::Unsupported { .. } => Tri::Unknown,
        }
    }
}
