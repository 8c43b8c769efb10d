//! Reading candidate Conditional Access policies (Microsoft Graph `conditionalAccessPolicy`
//! JSON, v1.0 or beta) into [`model::Policy`](crate::model::Policy).
//!
//! Accepted shapes: a JSON array of policies, a Graph list `{"value":[...]}` (an array of such
//! pages too), a single policy object, or a folder of such files (read recursively in bytewise
//! path order, `.json` files only). Encodings: see [`crate::text::read_text`].
//!
//! Mapping rules:
//! - OData annotations (keys containing `@`, e.g. `state@odata.type`, `@odata.context`) and
//!   action members (`#microsoft.graph.restore`) are ignored everywhere.
//! - `null`, `""` and `[]` mean "not configured". `conditions.users` and
//!   `conditions.applications` are `Some` whenever the object is present (an empty include list
//!   then selects nobody); `clientApplications`, `platforms` and `locations` are `Some` only when
//!   something in them is configured; `grantControls` is `Some` when at least one control is
//!   listed; `sessionControls` is `Some` when at least one control is set (non-null and, when
//!   it has `isEnabled`, enabled).
//! - Whatever vigil does not understand (an unknown key under `conditions`, legacy
//!   `devices.includeDevices`/`deviceStates`, agent conditions, `times`, an unknown grant
//!   control or enum value) is recorded in `Policy.unsupported` as a dotted Graph path — a key
//!   as `conditions.agentIdRiskLevels`, a value as `path=value`, e.g.
//!   `grantControls.builtInControls=riskRemediation` — with one warning per entry. Unknown
//!   `builtInControls` stay in `GrantControls.built_in` as written so that the engine treats
//!   them as undecidable controls.
//! - Hard errors ([`InputError`]): invalid JSON, a missing or invalid `id` or `state`, a known
//!   field of the wrong type, duplicate policy ids (naming both files).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::InputError;
use crate::model::{
    AppCondition, AuthStrength, ClientAppType, ClientAppsCondition, FilterMode, GrantControls,
    GuestSelector, IdSet, Platform, Policy, PolicyState, RiskLevel, SessionControls,
    SignInFrequency, UserCondition,
};
use crate::text::{is_annotation, is_configured, json_type, list_files, read_json};

/// The policies read from `--policies`, in input order, with warnings about what vigil does
/// not understand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySet {
    /// Policies in input order (a folder: by path).
    pub policies: Vec<Policy>,
    /// Human-readable warnings (unsupported conditions, incomplete Graph pages, ...).
    pub warnings: Vec<String>,
}

/// Reads every policy under `path` (a file or a folder of `.json` files).
pub fn load_policies(path: &Path) -> Result<PolicySet, InputError> {
    let is_dir = path.is_dir();
    let files = list_files(path, &["json"])?;
    if files.is_empty() {
        return Err(InputError::format(path, "no .json files in this folder"));
    }
    let mut set = PolicySet::default();
    let mut seen = Seen::default();
    for file in &files {
        let source = source_name(path, file, is_dir);
        let value = read_json(file)?;
        parse_into(&value, file, &source, &mut set, &mut seen)?;
    }
    Ok(set)
}

/// Parses policies from an already-parsed JSON document (array, Graph list or one policy).
/// `file` is used in messages and as `Policy.source` (its file name).
pub fn policies_from_json(value: &Value, file: &Path) -> Result<PolicySet, InputError> {
    let source = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut set = PolicySet::default();
    parse_into(value, file, &source, &mut set, &mut Seen::default())?;
    Ok(set)
}

/// Policy ids already read (lowercase) and where.
#[derive(Default)]
struct Seen(BTreeMap<String, PathBuf>);

fn parse_into(
    value: &Value,
    file: &Path,
    source: &str,
    set: &mut PolicySet,
    seen: &mut Seen,
) -> Result<(), InputError> {
    let records = records(value, file, "policy", &mut set.warnings)?;
    if records.is_empty() {
        set.warnings
            .push(format!("{}: no policies in this file", file.display()));
    }
    for (index, obj) in records {
        let policy = parse_policy(obj, index, file, source, &mut set.warnings)?;
        let key = policy.id.to_ascii_lowercase();
        if let Some(first) = seen.0.get(&key) {
            return Err(InputError::Duplicate {
                file: file.to_path_buf(),
                record: label(&policy.id, &policy.display_name),
                what: format!("policy id {}", policy.id),
                first: first.clone(),
            });
        }
        seen.0.insert(key, file.to_path_buf());
        set.policies.push(policy);
    }
    Ok(())
}

/// `Policy.source`: the path below the folder given (with `/`), or the file name.
pub(crate) fn source_name(root: &Path, file: &Path, is_dir: bool) -> String {
    if is_dir && let Ok(rel) = file.strip_prefix(root) {
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        return parts.join("/");
    }
    file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Record objects of a document with their array index (`None` for a lone object).
pub type Records<'v> = Vec<(Option<usize>, &'v Map<String, Value>)>;

/// Splits a document into record objects: an array (whose elements may themselves be Graph
/// list pages), a Graph list `{"value":[...]}`, or one object. Returns each object with its
/// index in the (flattened) array, `None` for a lone object.
pub fn records<'v>(
    value: &'v Value,
    file: &Path,
    kind: &str,
    warnings: &mut Vec<String>,
) -> Result<Records<'v>, InputError> {
    let mut out = Vec::new();
    let page = |m: &'v Map<String, Value>,
                out: &mut Records<'v>,
                warnings: &mut Vec<String>|
     -> Result<(), InputError> {
        let Some(Value::Array(items)) = m.get("value") else {
            return Err(InputError::format(
                file,
                format!("\"value\" of a Graph list must be an array of {kind} objects"),
            ));
        };
        if m.get("@odata.nextLink").is_some_and(is_configured) {
            warnings.push(format!(
                "{}: this Graph list has an @odata.nextLink: it is one page of a longer list \
                 and the later pages are missing",
                file.display()
            ));
        }
        for item in items {
            let i = out.len();
            match item {
                Value::Object(o) => out.push((Some(i), o)),
                other => {
                    return Err(InputError::format(
                        file,
                        format!(
                            "element {i} of \"value\": expected a {kind} object, found {}",
                            json_type(other)
                        ),
                    ));
                }
            }
        }
        Ok(())
    };
    match value {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(o) if is_list(o) => page(o, &mut out, warnings)?,
                    Value::Object(o) => {
                        let i = out.len();
                        out.push((Some(i), o));
                    }
                    other => {
                        return Err(InputError::format(
                            file,
                            format!(
                                "element {}: expected a {kind} object, found {}",
                                out.len(),
                                json_type(other)
                            ),
                        ));
                    }
                }
            }
        }
        Value::Object(o) if is_list(o) => page(o, &mut out, warnings)?,
        Value::Object(o) => out.push((None, o)),
        other => {
            return Err(InputError::format(
                file,
                format!(
                    "expected a {kind} object, an array of them or a Graph list \
                     {{\"value\":[...]}}, found {}",
                    json_type(other)
                ),
            ));
        }
    }
    Ok(out)
}

/// A Graph list page: has `value` and no `id` (no Graph entity has a `value` property).
fn is_list(o: &Map<String, Value>) -> bool {
    o.contains_key("value") && !o.contains_key("id")
}

/// `policy <id> (<displayName>)`.
fn label(id: &str, name: &str) -> String {
    if name.is_empty() {
        format!("policy {id}")
    } else {
        format!("policy {id} ({name})")
    }
}

/// Parsing state for one policy.
struct Ctx<'a> {
    file: &'a Path,
    record: String,
    unsupported: Vec<String>,
    warnings: &'a mut Vec<String>,
}

impl Ctx<'_> {
    fn err(&self, field: &str, reason: impl Into<String>) -> InputError {
        InputError::field(self.file, self.record.clone(), field, reason)
    }

    fn wrong(&self, field: &str, expected: &str, found: &Value) -> InputError {
        self.err(
            field,
            format!("expected {expected}, found {}", json_type(found)),
        )
    }

    /// Records an unsupported key (`path`) once, with a warning.
    fn unsupported_key(&mut self, path: &str) {
        if self.unsupported.iter().any(|u| u == path) {
            return;
        }
        let noun = if path.starts_with("conditions.") {
            "condition"
        } else if path.starts_with("grantControls.") {
            "grant control"
        } else if path.starts_with("sessionControls.") {
            "session control"
        } else {
            "field"
        };
        self.warnings.push(format!(
            "{}: {noun} {path} is not understood by vigil; the policy is indeterminate wherever \
             it could change the outcome",
            self.record
        ));
        self.unsupported.push(path.to_string());
    }

    /// Records an unsupported value of a known field as `path=value`, once, with a warning.
    fn unsupported_value(&mut self, path: &str, value: &str) {
        let entry = format!("{path}={value}");
        if self.unsupported.contains(&entry) {
            return;
        }
        self.warnings.push(format!(
            "{}: value \"{value}\" of {path} is not understood by vigil; the policy is \
             indeterminate wherever it could change the outcome",
            self.record
        ));
        self.unsupported.push(entry);
    }

    /// Every configured key of `m` not in `known` (and not an annotation) is unsupported.
    fn check_keys(&mut self, path: &str, m: &Map<String, Value>, known: &[&str]) {
        for (k, v) in m {
            if is_annotation(k) || known.contains(&k.as_str()) || !is_configured(v) {
                continue;
            }
            self.unsupported_key(&format!("{path}.{k}"));
        }
    }

    /// An optional object: missing or null = `None`.
    fn object<'v>(
        &self,
        path: &str,
        v: Option<&'v Value>,
    ) -> Result<Option<&'v Map<String, Value>>, InputError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(self.wrong(path, "an object", other)),
        }
    }

    /// An optional array of strings: missing or null = empty; blank strings are dropped.
    fn strings(&self, path: &str, v: Option<&Value>) -> Result<Vec<String>, InputError> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) if s.trim().is_empty() => {}
                        Value::String(s) => out.push(s.trim().to_string()),
                        other => {
                            return Err(self.err(
                                path,
                                format!(
                                    "expected an array of strings, found {} at index {i}",
                                    json_type(other)
                                ),
                            ));
                        }
                    }
                }
                Ok(out)
            }
            Some(other) => Err(self.wrong(path, "an array of strings", other)),
        }
    }

    /// A Graph flags value: a comma-joined string (`"a,b"`) or an array of strings.
    fn flags(&self, path: &str, v: Option<&Value>) -> Result<Vec<String>, InputError> {
        match v {
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()),
            Some(Value::Array(_)) | None | Some(Value::Null) => self.strings(path, v),
            Some(other) => Err(self.wrong(path, "a comma-separated string", other)),
        }
    }

    /// An optional string: missing or null = `None`.
    fn opt_string(&self, path: &str, v: Option<&Value>) -> Result<Option<String>, InputError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(path, "a string", other)),
        }
    }

    /// Maps each string through `f`; unknown values become unsupported `path=value` entries.
    fn enums<T>(
        &mut self,
        path: &str,
        values: Vec<String>,
        f: impl Fn(&str) -> Option<T>,
    ) -> Vec<T> {
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            match f(&v.to_ascii_lowercase()) {
                Some(t) => out.push(t),
                None => self.unsupported_value(path, &v),
            }
        }
        out
    }

    fn filter(
        &mut self,
        path: &str,
        v: Option<&Value>,
    ) -> Result<Option<(FilterMode, String)>, InputError> {
        let Some(m) = self.object(path, v)? else {
            return Ok(None);
        };
        self.check_keys(path, m, &["mode", "rule"]);
        let rule = self
            .opt_string(&format!("{path}.rule"), m.get("rule"))?
            .unwrap_or_default();
        let mode_path = format!("{path}.mode");
        let mode = self.opt_string(&mode_path, m.get("mode"))?;
        if rule.trim().is_empty() {
            return Ok(None);
        }
        let mode = match mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("include") => FilterMode::Include,
            Some("exclude") => FilterMode::Exclude,
            Some(other) => {
                return Err(self.err(
                    &mode_path,
                    format!("unknown value \"{other}\"; expected \"include\" or \"exclude\""),
                ));
            }
            None => {
                return Err(self.err(&mode_path, "missing; expected \"include\" or \"exclude\""));
            }
        };
        Ok(Some((mode, rule)))
    }
}

fn parse_policy(
    obj: &Map<String, Value>,
    index: Option<usize>,
    file: &Path,
    source: &str,
    warnings: &mut Vec<String>,
) -> Result<Policy, InputError> {
    let anon = match index {
        Some(i) => format!("policy at index {i}"),
        None => "policy".to_string(),
    };
    let field_err =
        |field: &str, reason: String| InputError::field(file, anon.clone(), field, reason);
    let pascal_hint = if obj.contains_key("Id") || obj.contains_key("State") {
        " (the keys look PascalCase, as in a PowerShell object dump; export Graph JSON instead, \
         e.g. Invoke-MgGraphRequest -Uri .../identity/conditionalAccess/policies -OutputType Json)"
    } else {
        ""
    };
    let id = match obj.get("id") {
        None | Some(Value::Null) => {
            return Err(field_err(
                "id",
                format!("missing; every policy needs its object id{pascal_hint}"),
            ));
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(field_err("id", "empty".into()));
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            return Err(field_err("id", "contains control characters".into()));
        }
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => {
            return Err(field_err(
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
                format!("policy {id}"),
                "displayName",
                format!("expected a string, found {}", json_type(other)),
            ));
        }
    };
    let mut ctx = Ctx {
        file,
        record: label(&id, &display_name),
        unsupported: Vec::new(),
        warnings,
    };
    let state = match obj.get("state") {
        None | Some(Value::Null) => return Err(ctx.err("state", format!("missing{pascal_hint}"))),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "enabled" => PolicyState::Enabled,
            "disabled" => PolicyState::Disabled,
            "enabledforreportingbutnotenforced" => PolicyState::EnabledForReportingButNotEnforced,
            _ => {
                return Err(ctx.err(
                    "state",
                    format!(
                        "unknown value \"{s}\"; expected enabled, disabled or \
                         enabledForReportingButNotEnforced"
                    ),
                ));
            }
        },
        Some(other) => return Err(ctx.wrong("state", "a string", other)),
    };

    const TOP: &[&str] = &[
        "id",
        "templateId",
        "displayName",
        "description",
        "createdDateTime",
        "modifiedDateTime",
        "deletedDateTime",
        "state",
        "conditions",
        "grantControls",
        "sessionControls",
    ];
    for (k, v) in obj {
        if is_annotation(k) || TOP.contains(&k.as_str()) || !is_configured(v) {
            continue;
        }
        if k == "partialEnablementStrategy" {
            ctx.unsupported_key(k);
        } else {
            ctx.warnings.push(format!(
                "{}: field {k} is not understood by vigil and was ignored",
                ctx.record
            ));
        }
    }

    let Some(cond) = ctx.object("conditions", obj.get("conditions"))? else {
        return Err(ctx.err(
            "conditions",
            "missing; a policy needs conditions (users, applications)",
        ));
    };
    const CONDITIONS: &[&str] = &[
        "users",
        "applications",
        "clientApplications",
        "clientAppTypes",
        "platforms",
        "locations",
        "signInRiskLevels",
        "userRiskLevels",
        "servicePrincipalRiskLevels",
        "insiderRiskLevels",
        "devices",
        "authenticationFlows",
    ];
    ctx.check_keys("conditions", cond, CONDITIONS);

    let users = users(&mut ctx, cond.get("users"))?;
    let applications = applications(&mut ctx, cond.get("applications"))?;
    let client_applications = client_applications(&mut ctx, cond.get("clientApplications"))?;

    let p = "conditions.clientAppTypes";
    let raw = ctx.strings(p, cond.get("clientAppTypes"))?;
    let client_app_types = ctx.enums(p, raw, client_app_type);

    let platforms = platforms(&mut ctx, cond.get("platforms"))?;

    let locations = match ctx.object("conditions.locations", cond.get("locations"))? {
        None => None,
        Some(m) => {
            ctx.check_keys(
                "conditions.locations",
                m,
                &["includeLocations", "excludeLocations"],
            );
            let set = IdSet {
                include: ctx.strings(
                    "conditions.locations.includeLocations",
                    m.get("includeLocations"),
                )?,
                exclude: ctx.strings(
                    "conditions.locations.excludeLocations",
                    m.get("excludeLocations"),
                )?,
            };
            (!set.include.is_empty() || !set.exclude.is_empty()).then_some(set)
        }
    };

    let sign_in_risk_levels = risk_levels(&mut ctx, "conditions.signInRiskLevels", cond)?;
    let user_risk_levels = risk_levels(&mut ctx, "conditions.userRiskLevels", cond)?;
    let service_principal_risk_levels =
        risk_levels(&mut ctx, "conditions.servicePrincipalRiskLevels", cond)?;

    let p = "conditions.insiderRiskLevels";
    let raw = ctx.flags(p, cond.get("insiderRiskLevels"))?;
    let insider_risk_levels = ctx.enums(p, raw, |v| match v {
        "minor" => Some("minor".to_string()),
        "moderate" => Some("moderate".to_string()),
        "elevated" => Some("elevated".to_string()),
        _ => None,
    });

    let device_filter = match ctx.object("conditions.devices", cond.get("devices"))? {
        None => None,
        Some(m) => {
            // includeDevices/excludeDevices/include|excludeDeviceStates (legacy device state
            // preview) are reported as unsupported by check_keys.
            ctx.check_keys("conditions.devices", m, &["deviceFilter"]);
            ctx.filter("conditions.devices.deviceFilter", m.get("deviceFilter"))?
        }
    };

    let transfer_methods = match ctx.object(
        "conditions.authenticationFlows",
        cond.get("authenticationFlows"),
    )? {
        None => Vec::new(),
        Some(m) => {
            ctx.check_keys("conditions.authenticationFlows", m, &["transferMethods"]);
            let p = "conditions.authenticationFlows.transferMethods";
            let raw = ctx.flags(p, m.get("transferMethods"))?;
            let raw: Vec<String> = raw
                .into_iter()
                .filter(|v| !v.eq_ignore_ascii_case("none"))
                .collect();
            ctx.enums(p, raw, |v| match v {
                "devicecodeflow" => Some("deviceCodeFlow".to_string()),
                "authenticationtransfer" => Some("authenticationTransfer".to_string()),
                _ => None,
            })
        }
    };

    let grant = grant_controls(&mut ctx, obj.get("grantControls"))?;
    let session = session_controls(&mut ctx, obj.get("sessionControls"))?;

    Ok(Policy {
        id,
        display_name,
        state,
        users,
        applications,
        client_applications,
        client_app_types,
        platforms,
        locations,
        sign_in_risk_levels,
        user_risk_levels,
        service_principal_risk_levels,
        insider_risk_levels,
        device_filter,
        transfer_methods,
        grant,
        session,
        unsupported: ctx.unsupported,
        source: source.to_string(),
        ai_risk: false,
    })
}

fn users(ctx: &mut Ctx, v: Option<&Value>) -> Result<Option<UserCondition>, InputError> {
    const P: &str = "conditions.users";
    let Some(m) = ctx.object(P, v)? else {
        return Ok(None);
    };
    ctx.check_keys(
        P,
        m,
        &[
            "includeUsers",
            "excludeUsers",
            "includeGroups",
            "excludeGroups",
            "includeRoles",
            "excludeRoles",
            "includeGuestsOrExternalUsers",
            "excludeGuestsOrExternalUsers",
        ],
    );
    let pair = |ctx: &Ctx, inc: &str, exc: &str| -> Result<IdSet, InputError> {
        Ok(IdSet {
            include: ctx.strings(&format!("{P}.{inc}"), m.get(inc))?,
            exclude: ctx.strings(&format!("{P}.{exc}"), m.get(exc))?,
        })
    };
    Ok(Some(UserCondition {
        users: pair(ctx, "includeUsers", "excludeUsers")?,
        groups: pair(ctx, "includeGroups", "excludeGroups")?,
        roles: pair(ctx, "includeRoles", "excludeRoles")?,
        include_guests: guests(ctx, "includeGuestsOrExternalUsers", m)?,
        exclude_guests: guests(ctx, "excludeGuestsOrExternalUsers", m)?,
    }))
}

/// The guest/external user types Graph defines (`conditionalAccessGuestOrExternalUserTypes`).
const GUEST_TYPES: &[&str] = &[
    "internalGuest",
    "b2bCollaborationGuest",
    "b2bCollaborationMember",
    "b2bDirectConnectUser",
    "otherExternalUser",
    "serviceProvider",
];

fn guests(
    ctx: &mut Ctx,
    key: &str,
    users: &Map<String, Value>,
) -> Result<Option<GuestSelector>, InputError> {
    let path = format!("conditions.users.{key}");
    let Some(m) = ctx.object(&path, users.get(key))? else {
        return Ok(None);
    };
    ctx.check_keys(&path, m, &["guestOrExternalUserTypes", "externalTenants"]);
    let tpath = format!("{path}.guestOrExternalUserTypes");
    let mut types = std::collections::BTreeSet::new();
    for t in ctx.flags(&tpath, m.get("guestOrExternalUserTypes"))? {
        if t.eq_ignore_ascii_case("none") {
            continue;
        }
        match GUEST_TYPES.iter().find(|g| g.eq_ignore_ascii_case(&t)) {
            Some(g) => {
                types.insert((*g).to_string());
            }
            None => ctx.unsupported_value(&tpath, &t),
        }
    }
    let epath = format!("{path}.externalTenants");
    let tenants = match ctx.object(&epath, m.get("externalTenants"))? {
        None => None,
        Some(t) => {
            ctx.check_keys(&epath, t, &["membershipKind", "members"]);
            let kpath = format!("{epath}.membershipKind");
            let members = ctx.strings(&format!("{epath}.members"), t.get("members"))?;
            match ctx.opt_string(&kpath, t.get("membershipKind"))? {
                Some(k) if k.eq_ignore_ascii_case("all") => None,
                Some(k) if k.eq_ignore_ascii_case("enumerated") => Some(members),
                None if !members.is_empty() => Some(members),
                None => None,
                Some(k) => {
                    ctx.unsupported_value(&kpath, &k);
                    None
                }
            }
        }
    };
    if types.is_empty() {
        return Ok(None);
    }
    Ok(Some(GuestSelector { types, tenants }))
}

fn applications(ctx: &mut Ctx, v: Option<&Value>) -> Result<Option<AppCondition>, InputError> {
    const P: &str = "conditions.applications";
    let Some(m) = ctx.object(P, v)? else {
        return Ok(None);
    };
    ctx.check_keys(
        P,
        m,
        &[
            "includeApplications",
            "excludeApplications",
            "includeUserActions",
            "includeAuthenticationContextClassReferences",
            "applicationFilter",
        ],
    );
    Ok(Some(AppCondition {
        apps: IdSet {
            include: ctx.strings(
                &format!("{P}.includeApplications"),
                m.get("includeApplications"),
            )?,
            exclude: ctx.strings(
                &format!("{P}.excludeApplications"),
                m.get("excludeApplications"),
            )?,
        },
        user_actions: ctx.strings(
            &format!("{P}.includeUserActions"),
            m.get("includeUserActions"),
        )?,
        auth_contexts: ctx.strings(
            &format!("{P}.includeAuthenticationContextClassReferences"),
            m.get("includeAuthenticationContextClassReferences"),
        )?,
        filter: ctx.filter(
            &format!("{P}.applicationFilter"),
            m.get("applicationFilter"),
        )?,
    }))
}

fn client_applications(
    ctx: &mut Ctx,
    v: Option<&Value>,
) -> Result<Option<ClientAppsCondition>, InputError> {
    const P: &str = "conditions.clientApplications";
    let Some(m) = ctx.object(P, v)? else {
        return Ok(None);
    };
    // includeAgentIdServicePrincipals and other agent keys are reported by check_keys.
    ctx.check_keys(
        P,
        m,
        &[
            "includeServicePrincipals",
            "excludeServicePrincipals",
            "servicePrincipalFilter",
        ],
    );
    let c = ClientAppsCondition {
        service_principals: IdSet {
            include: ctx.strings(
                &format!("{P}.includeServicePrincipals"),
                m.get("includeServicePrincipals"),
            )?,
            exclude: ctx.strings(
                &format!("{P}.excludeServicePrincipals"),
                m.get("excludeServicePrincipals"),
            )?,
        },
        filter: ctx.filter(
            &format!("{P}.servicePrincipalFilter"),
            m.get("servicePrincipalFilter"),
        )?,
    };
    let configured = !c.service_principals.include.is_empty()
        || !c.service_principals.exclude.is_empty()
        || c.filter.is_some();
    Ok(configured.then_some(c))
}

fn client_app_type(v: &str) -> Option<ClientAppType> {
    Some(match v {
        "all" => ClientAppType::All,
        "browser" => ClientAppType::Browser,
        "mobileappsanddesktopclients" => ClientAppType::MobileAppsAndDesktopClients,
        "exchangeactivesync" => ClientAppType::ExchangeActiveSync,
        "eassupported" => ClientAppType::EasSupported,
        "other" => ClientAppType::Other,
        _ => return None,
    })
}

fn platform(v: &str) -> Option<Platform> {
    Some(match v {
        "all" => Platform::All,
        "android" => Platform::Android,
        "ios" => Platform::Ios,
        "windows" => Platform::Windows,
        "windowsphone" => Platform::WindowsPhone,
        "macos" => Platform::MacOs,
        "linux" => Platform::Linux,
        _ => return None,
    })
}

/// (includePlatforms, excludePlatforms).
type PlatformSets = (Vec<Platform>, Vec<Platform>);

fn platforms(ctx: &mut Ctx, v: Option<&Value>) -> Result<Option<PlatformSets>, InputError> {
    const P: &str = "conditions.platforms";
    let Some(m) = ctx.object(P, v)? else {
        return Ok(None);
    };
    ctx.check_keys(P, m, &["includePlatforms", "excludePlatforms"]);
    let ip = format!("{P}.includePlatforms");
    let raw = ctx.strings(&ip, m.get("includePlatforms"))?;
    let include = ctx.enums(&ip, raw, platform);
    let ep = format!("{P}.excludePlatforms");
    let raw = ctx.strings(&ep, m.get("excludePlatforms"))?;
    let exclude = ctx.enums(&ep, raw, platform);
    if include.is_empty() && exclude.is_empty() {
        return Ok(None);
    }
    Ok(Some((include, exclude)))
}

fn risk_levels(
    ctx: &mut Ctx,
    path: &str,
    cond: &Map<String, Value>,
) -> Result<Vec<RiskLevel>, InputError> {
    let key = path.rsplit('.').next().unwrap_or(path);
    let raw = ctx.strings(path, cond.get(key))?;
    Ok(ctx.enums(path, raw, |v| match v {
        "none" => Some(RiskLevel::None),
        "low" => Some(RiskLevel::Low),
        "medium" => Some(RiskLevel::Medium),
        "high" => Some(RiskLevel::High),
        _ => None,
    }))
}

/// The grant controls Graph defines (`conditionalAccessGrantControl`), in Graph's spelling.
const BUILT_IN_CONTROLS: &[&str] = &[
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
    "passwordChange",
];

fn grant_controls(ctx: &mut Ctx, v: Option<&Value>) -> Result<Option<GrantControls>, InputError> {
    const P: &str = "grantControls";
    let Some(m) = ctx.object(P, v)? else {
        return Ok(None);
    };
    ctx.check_keys(
        P,
        m,
        &[
            "operator",
            "builtInControls",
            "termsOfUse",
            "customAuthenticationFactors",
            "authenticationStrength",
        ],
    );
    let bpath = format!("{P}.builtInControls");
    let mut built_in = Vec::new();
    for c in ctx.strings(&bpath, m.get("builtInControls"))? {
        match BUILT_IN_CONTROLS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&c))
        {
            Some(k) => built_in.push((*k).to_string()),
            None => {
                // Kept as written so that the engine treats it as an undecidable control.
                ctx.unsupported_value(&bpath, &c);
                built_in.push(c);
            }
        }
    }
    let terms_of_use = ctx.strings(&format!("{P}.termsOfUse"), m.get("termsOfUse"))?;
    let custom_factors = ctx.strings(
        &format!("{P}.customAuthenticationFactors"),
        m.get("customAuthenticationFactors"),
    )?;
    let spath = format!("{P}.authenticationStrength");
    let authentication_strength = match ctx.object(&spath, m.get("authenticationStrength"))? {
        None => None,
        Some(s) => {
            let ipath = format!("{spath}.id");
            let id = match ctx.opt_string(&ipath, s.get("id"))? {
                Some(id) if !id.trim().is_empty() => id.trim().to_string(),
                _ => {
                    return Err(ctx.err(
                        &ipath,
                        "missing; an authentication strength needs its policy id",
                    ));
                }
            };
            Some(AuthStrength {
                id,
                display_name: ctx
                    .opt_string(&format!("{spath}.displayName"), s.get("displayName"))?,
                allowed_combinations: ctx.strings(
                    &format!("{spath}.allowedCombinations"),
                    s.get("allowedCombinations"),
                )?,
            })
        }
    };
    let count = built_in.len()
        + terms_of_use.len()
        + custom_factors.len()
        + usize::from(authentication_strength.is_some());
    let opath = format!("{P}.operator");
    let any = match ctx.opt_string(&opath, m.get("operator"))? {
        Some(o) if o.eq_ignore_ascii_case("or") => true,
        Some(o) if o.eq_ignore_ascii_case("and") => false,
        Some(o) => {
            return Err(ctx.err(
                &opath,
                format!("unknown value \"{o}\"; expected \"AND\" or \"OR\""),
            ));
        }
        None if count > 1 => {
            return Err(ctx.err(
                &opath,
                "missing; \"AND\" or \"OR\" is needed when several controls are listed",
            ));
        }
        None => false,
    };
    if count == 0 {
        return Ok(None);
    }
    Ok(Some(GrantControls {
        any,
        built_in,
        terms_of_use,
        custom_factors,
        authentication_strength,
    }))
}

/// Whether a session control counts as set: non-null, and enabled when it has `isEnabled`.
fn control_is_set(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Object(m) => match m.get("isEnabled") {
            Some(Value::Bool(b)) => *b,
            _ => is_configured(v),
        },
        other => is_configured(other),
    }
}

fn session_controls(
    ctx: &mut Ctx,
    v: Option<&Value>,
) -> Result<Option<SessionControls>, InputError> {
    const P: &str = "sessionControls";
    let Some(m) = ctx.object(P, v)? else {
        return Ok(None);
    };
    let mut names = Vec::new();
    let mut sign_in_frequency = None;
    for (k, v) in m {
        if is_annotation(k) || !control_is_set(v) {
            continue;
        }
        if k == "signInFrequency" {
            sign_in_frequency = frequency(ctx, v)?;
        }
        names.push(k.clone());
    }
    if names.is_empty() {
        return Ok(None);
    }
    Ok(Some(SessionControls {
        names,
        sign_in_frequency,
    }))
}

fn frequency(ctx: &mut Ctx, v: &Value) -> Result<Option<SignInFrequency>, InputError> {
    const P: &str = "sessionControls.signInFrequency";
    let Some(m) = ctx.object(P, Some(v))? else {
        return Ok(None);
    };
    let ipath = format!("{P}.frequencyInterval");
    match ctx.opt_string(&ipath, m.get("frequencyInterval"))? {
        Some(i) if i.eq_ignore_ascii_case("everyTime") => {
            return Ok(Some(SignInFrequency::EveryTime));
        }
        Some(i) if i.eq_ignore_ascii_case("timeBased") => {}
        None => {}
        Some(i) => {
            ctx.unsupported_value(&ipath, &i);
            return Ok(None);
        }
    }
    let vpath = format!("{P}.value");
    let value = match m.get("value") {
        None | Some(Value::Null) => {
            return Err(ctx.err(
                &vpath,
                "missing; a time-based sign-in frequency needs a value",
            ));
        }
        Some(Value::Number(n)) => match n.as_u64().and_then(|x| u32::try_from(x).ok()) {
            Some(x) => x,
            None => {
                return Err(ctx.err(
                    &vpath,
                    format!("expected a whole number of hours or days, found {n}"),
                ));
            }
        },
        Some(other) => return Err(ctx.wrong(&vpath, "a number", other)),
    };
    let tpath = format!("{P}.type");
    let hours = match ctx.opt_string(&tpath, m.get("type"))? {
        Some(t) if t.eq_ignore_ascii_case("hours") => value,
        Some(t) if t.eq_ignore_ascii_case("days") => match value.checked_mul(24) {
            Some(h) => h,
            None => return Err(ctx.err(&vpath, format!("{value} days is out of range"))),
        },
        Some(t) => {
            return Err(ctx.err(
                &tpath,
                format!("unknown value \"{t}\"; expected \"hours\" or \"days\""),
            ));
        }
        None => return Err(ctx.err(&tpath, "missing; expected \"hours\" or \"days\"")),
    };
    Ok(Some(SignInFrequency::Hours(hours)))
}
