//! `vigil whatif`: one sign-in described by flags, every policy's decision explained — an
//! offline counterpart of the What If tool (Graph `conditionalAccessRoot: evaluate`).
//!
//! A property left unspecified is unknown, exactly as a missing field in a log: conditions that
//! need it are undecided and the policies they could change are `indeterminate`. The sign-in
//! is assumed to have passed primary authentication (error code 0), as in Microsoft's What If
//! tool, which evaluates Conditional Access for a user who has signed in.

use std::net::IpAddr;

use serde::Serialize;

use crate::eval::{self, Context};
use crate::model::{ClientAppType, Directory, Policy, SignIn, SignInKind};
use crate::simulate::{PolicyRow, Side};

/// The sign-in as described on the command line; `None` = not specified (unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhatIfInput {
    /// A user object id (GUID) or a UPN.
    pub user: String,
    /// `Member` or `Guest`.
    pub user_type: Option<String>,
    /// crossTenantAccessType (`none`, `b2bCollaboration`, `b2bDirectConnect`, `serviceProvider`, ...).
    pub cross_tenant: Option<String>,
    /// The user's home tenant id (for guest selectors limited to some tenants).
    pub home_tenant: Option<String>,
    /// The resource (application id) being accessed.
    pub app: Option<String>,
    /// The client app: `Browser`, `Mobile Apps and Desktop clients`, `Exchange ActiveSync`,
    /// `Other clients`, a legacy protocol name, or Graph's `browser`, `mobileAppsAndDesktopClients`, ...
    pub client_app: Option<String>,
    /// Device platform (Graph's words: `windows`, `iOS`, `android`, `macOS`, `linux`, `windowsPhone`).
    pub platform: Option<String>,
    /// Operating system as a log writes it (`Windows 10`, `iOS 17.2`, ...).
    pub os: Option<String>,
    /// Client IP address.
    pub ip: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Sign-in risk: `none`, `low`, `medium`, `high`.
    pub sign_in_risk: Option<String>,
    /// User risk: `none`, `low`, `medium`, `high`.
    pub user_risk: Option<String>,
    /// Device id (a registered device).
    pub device_id: Option<String>,
    /// Whether the device is compliant.
    pub device_compliant: Option<bool>,
    /// Device trust type (`Azure AD joined`, `Hybrid Azure AD joined`, `Azure AD registered`,
    /// or the filter words `AzureAD`, `ServerAD`, `Workplace`).
    pub device_trust_type: Option<String>,
    /// Whether multifactor authentication has been done in this sign-in.
    pub mfa_done: Option<bool>,
    /// Authentication methods that succeeded, as the log names them.
    pub auth_methods: Vec<String>,
}

/// Conditions the description left open, with the flags that would decide them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Undecided {
    /// What is unknown, e.g. `device platform`.
    pub signal: String,
    /// The flags that would decide it, e.g. `--platform or --os`.
    pub flags: String,
    /// Ids of the `indeterminate` policies that need it.
    pub policies: Vec<String>,
}

/// What `vigil whatif` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatIfReport {
    /// The sign-in evaluated (`null` = unknown).
    pub sign_in: SignIn,
    /// Overall status, controls and every policy's result with reasons (the shape of a
    /// decisions.ndjson side).
    pub decision: Side,
    /// Signals the description left open that some `indeterminate` policy needs.
    pub undecided: Vec<Undecided>,
    /// Notes about the description (e.g. a user id not in the directory snapshot).
    pub warnings: Vec<String>,
}

/// Compares two words ignoring case and everything but letters and digits.
fn same(a: &str, b: &str) -> bool {
    let squash = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    squash(a) == squash(b)
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Legacy client names a log writes in `clientAppUsed` (SEMANTICS Rule 4.17).
const LEGACY_CLIENTS: &[&str] = &[
    "Exchange ActiveSync",
    "Authenticated SMTP",
    "SMTP",
    "Autodiscover",
    "Exchange Online PowerShell",
    "Exchange Web Services",
    "IMAP4",
    "IMAP",
    "MAPI over HTTP",
    "MAPI",
    "Offline Address Book",
    "Outlook Anywhere (RPC over HTTP)",
    "Outlook Service",
    "Universal Outlook",
    "POP3",
    "POP",
    "Reporting Web Services",
    "Other clients",
];

/// The `clientAppUsed` spelling for a client app given on the command line.
pub fn client_app_used(v: &str) -> Result<String, String> {
    let modern: &[(&[&str], &str)] = &[
        (&["browser"], "Browser"),
        (
            &[
                "Mobile Apps and Desktop clients",
                "mobileAppsAndDesktopClients",
                "mobile",
                "desktop",
                "modern clients",
            ],
            "Mobile Apps and Desktop clients",
        ),
        (&["exchangeActiveSync", "eas"], "Exchange ActiveSync"),
        (&["other"], "Other clients"),
    ];
    for (names, log) in modern {
        if names.iter().any(|n| same(n, v)) {
            return Ok((*log).to_string());
        }
    }
    LEGACY_CLIENTS
        .iter()
        .find(|n| same(n, v))
        .map(|n| (*n).to_string())
        .ok_or_else(|| {
            format!(
                "--client-app {v:?}: expected Browser, \"Mobile Apps and Desktop clients\", \"Exchange ActiveSync\", \"Other clients\" or a legacy protocol ({})",
                LEGACY_CLIENTS[1..LEGACY_CLIENTS.len() - 1].join(", ")
            )
        })
}

/// The operating system string for a Graph platform word.
pub fn platform_os(v: &str) -> Result<&'static str, String> {
    let table: &[(&str, &str)] = &[
        ("windows", "Windows"),
        ("iOS", "iOS"),
        ("android", "Android"),
        ("macOS", "MacOs"),
        ("linux", "Linux"),
        ("windowsPhone", "Windows Phone"),
    ];
    table
        .iter()
        .find(|(n, _)| same(n, v))
        .map(|(_, os)| *os)
        .ok_or_else(|| {
            format!(
                "--platform {v:?}: expected windows, iOS, android, macOS, linux or windowsPhone"
            )
        })
}

fn risk(flag: &str, v: &str) -> Result<String, String> {
    ["none", "low", "medium", "high"]
        .into_iter()
        .find(|r| same(r, v))
        .map(str::to_string)
        .ok_or_else(|| format!("{flag} {v:?}: expected none, low, medium or high"))
}

fn trust_type(v: &str) -> Result<String, String> {
    let table: &[(&[&str], &str)] = &[
        (
            &[
                "Azure AD joined",
                "Microsoft Entra joined",
                "AzureAD",
                "joined",
            ],
            "Azure AD joined",
        ),
        (
            &[
                "Hybrid Azure AD joined",
                "Microsoft Entra hybrid joined",
                "ServerAD",
                "hybrid",
            ],
            "Hybrid Azure AD joined",
        ),
        (
            &[
                "Azure AD registered",
                "Microsoft Entra registered",
                "Workplace",
                "registered",
            ],
            "Azure AD registered",
        ),
    ];
    table
        .iter()
        .find(|(names, _)| names.iter().any(|n| same(n, v)))
        .map(|(_, t)| (*t).to_string())
        .ok_or_else(|| {
            format!(
                "--device-trust-type {v:?}: expected \"Azure AD joined\" (AzureAD), \"Hybrid Azure AD joined\" (ServerAD) or \"Azure AD registered\" (Workplace)"
            )
        })
}

fn cross_tenant(v: &str) -> Result<String, String> {
    [
        "none",
        "b2bCollaboration",
        "b2bDirectConnect",
        "serviceProvider",
        "microsoftSupport",
        "passthrough",
    ]
    .into_iter()
    .find(|c| same(c, v))
    .map(str::to_string)
    .ok_or_else(|| {
        format!(
            "--cross-tenant {v:?}: expected none, b2bCollaboration, b2bDirectConnect, serviceProvider, microsoftSupport or passthrough"
        )
    })
}

/// Builds the sign-in a description stands for; errors name the flag. Returns the sign-in
/// and warnings.
pub fn build_signin(
    i: &WhatIfInput,
    directory: Option<&Directory>,
) -> Result<(SignIn, Vec<String>), String> {
    let mut warnings = Vec::new();
    let mut s = SignIn {
        id: "whatif".into(),
        created_date_time: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        kind: Some(SignInKind::InteractiveUser),
        is_interactive: Some(true),
        error_code: Some(0),
        // A fresh interactive sign-in (SEMANTICS.md §15): the primary authentication happens
        // in it, and it requests no authentication context.
        primary_auth_fresh: Some(true),
        authentication_contexts: Some(Vec::new()),
        source_variant: Some("whatif".into()),
        ..SignIn::default()
    };

    let user = i.user.trim();
    let dir_user = if is_guid(user) {
        let found = directory.and_then(|d| {
            d.users
                .get(user)
                .or_else(|| d.users.values().find(|u| u.id.eq_ignore_ascii_case(user)))
        });
        s.user_id = Some(found.map_or_else(|| user.to_string(), |u| u.id.clone()));
        if directory.is_some() && found.is_none() {
            warnings.push(format!(
                "--user {user}: not in the directory snapshot, so group and role conditions stay undecided"
            ));
        }
        found
    } else if user.contains('@') {
        s.user_principal_name = Some(user.to_string());
        match directory {
            None => None,
            Some(d) => {
                let found = d
                    .by_upn
                    .get(&user.to_lowercase())
                    .and_then(|id| d.users.get(id));
                match found {
                    Some(u) => {
                        s.user_id = Some(u.id.clone());
                        Some(u)
                    }
                    None => {
                        return Err(format!(
                            "--user {user}: no user with this userPrincipalName in the directory snapshot"
                        ));
                    }
                }
            }
        }
    } else {
        return Err(format!(
            "--user {user:?}: expected a user object id (GUID) or a userPrincipalName (name@domain)"
        ));
    };
    if let Some(u) = dir_user {
        if s.user_principal_name.is_none() {
            s.user_principal_name.clone_from(&u.user_principal_name);
        }
        s.user_type.clone_from(&u.user_type);
    }
    if let Some(t) = &i.user_type {
        s.user_type = Some(
            ["Member", "Guest"]
                .into_iter()
                .find(|x| same(x, t))
                .ok_or_else(|| format!("--user-type {t:?}: expected Member or Guest"))?
                .to_string(),
        );
    }
    s.cross_tenant_access_type = i.cross_tenant.as_deref().map(cross_tenant).transpose()?;
    if let Some(h) = &i.home_tenant {
        if !is_guid(h) {
            return Err(format!("--home-tenant {h:?}: expected a tenant id (GUID)"));
        }
        s.home_tenant_id = Some(h.to_ascii_lowercase());
    }
    if let Some(a) = &i.app {
        if !is_guid(a) {
            return Err(format!(
                "--app {a:?}: expected an application id (GUID), e.g. 00000002-0000-0ff1-ce00-000000000000 for Exchange Online"
            ));
        }
        s.resource_id = Some(a.to_ascii_lowercase());
    }
    s.client_app_used = i.client_app.as_deref().map(client_app_used).transpose()?;
    s.operating_system = match (&i.platform, &i.os) {
        (Some(_), Some(_)) => return Err("--platform and --os: give one of them".into()),
        (Some(p), None) => Some(platform_os(p)?.to_string()),
        (None, Some(os)) if os.trim().is_empty() => {
            return Err("--os: the operating system is empty".into());
        }
        (None, Some(os)) => {
            let t = os.trim().to_string();
            let probe = SignIn {
                operating_system: Some(t.clone()),
                ..SignIn::default()
            };
            if eval::platform(&probe) == Some(crate::model::Platform::Other) {
                warnings.push(format!(
                    "--os {t:?} is not one of the platforms Conditional Access names: it matches a policy on any device platform (all) but no named platform"
                ));
            }
            Some(t)
        }
        (None, None) => None,
    };
    if let Some(ip) = &i.ip {
        let parsed: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| format!("--ip {ip:?}: not an IPv4 or IPv6 address"))?;
        s.ip_address = Some(parsed.to_string());
    }
    if let Some(c) = &i.country {
        let c = c.trim();
        if c.len() != 2 || !c.chars().all(|x| x.is_ascii_alphabetic()) {
            return Err(format!(
                "--country {c:?}: expected a two-letter ISO 3166-1 code, e.g. US"
            ));
        }
        s.country = Some(c.to_ascii_uppercase());
    }
    s.sign_in_risk_level = i
        .sign_in_risk
        .as_deref()
        .map(|v| risk("--sign-in-risk", v))
        .transpose()?;
    s.user_risk_level = i
        .user_risk
        .as_deref()
        .map(|v| risk("--user-risk", v))
        .transpose()?;
    s.device_id.clone_from(&i.device_id);
    s.device_compliant = i.device_compliant;
    s.device_trust_type = i.device_trust_type.as_deref().map(trust_type).transpose()?;
    s.mfa_satisfied = i.mfa_done;
    if i.mfa_done == Some(true) {
        s.authentication_requirement = Some("multiFactorAuthentication".into());
    }
    if !i.auth_methods.is_empty() {
        s.authentication_methods = Some(i.auth_methods.clone());
    }
    Ok((s, warnings))
}

/// Evaluates every policy against the described sign-in.
pub fn whatif(
    policies: &[Policy],
    s: SignIn,
    ctx: &Context,
    warnings: Vec<String>,
) -> WhatIfReport {
    let d = eval::evaluate(policies, &s, ctx);
    let rows: Vec<PolicyRow> = policies
        .iter()
        .zip(&d.policies)
        .map(|(p, r)| PolicyRow {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            state: p.state.as_str().to_string(),
            result: r.result.to_string(),
            reasons: r.reasons.clone(),
        })
        .collect();
    let undecided = undecided(policies, &rows, &s, ctx);
    WhatIfReport {
        sign_in: s,
        decision: Side {
            status: d.status.to_string(),
            controls: d.controls,
            policies: rows,
        },
        undecided,
        warnings,
    }
}

/// For each signal the description left open, the `indeterminate` policies that use it.
fn undecided(policies: &[Policy], rows: &[PolicyRow], s: &SignIn, ctx: &Context) -> Vec<Undecided> {
    type Pred = fn(&Policy) -> bool;
    type Check = (
        bool,
        &'static str,
        &'static str,
        Box<dyn Fn(&Policy) -> bool>,
    );
    let grant_has = |p: &Policy, c: &str| {
        p.grant
            .as_ref()
            .is_some_and(|g| g.built_in.iter().any(|x| x.eq_ignore_ascii_case(c)))
    };
    let users_name_ids = |p: &Policy| {
        p.users.as_ref().is_some_and(|u| {
            u.users
                .include
                .iter()
                .chain(&u.users.exclude)
                .any(|x| is_guid(x))
        })
    };
    let users_name_guests = |p: &Policy| {
        p.users.as_ref().is_some_and(|u| {
            u.include_guests.is_some()
                || u.exclude_guests.is_some()
                || u.users
                    .include
                    .iter()
                    .chain(&u.users.exclude)
                    .any(|x| x.eq_ignore_ascii_case("GuestsOrExternalUsers"))
        })
    };
    let users_name_groups = |p: &Policy| {
        p.users.as_ref().is_some_and(|u| {
            !(u.groups.include.is_empty()
                && u.groups.exclude.is_empty()
                && u.roles.include.is_empty()
                && u.roles.exclude.is_empty())
        })
    };
    let client_apps: Pred =
        |p| !p.client_app_types.is_empty() && !p.client_app_types.contains(&ClientAppType::All);
    #[allow(clippy::type_complexity)]
    let mut checks: Vec<Check> = vec![
        (
            s.user_id.is_none(),
            "user object id",
            "--user with an object id, or --directory to resolve the UPN",
            Box::new(users_name_ids),
        ),
        (
            ctx.directory.is_none() || s.user_id.is_none(),
            "group and role membership",
            "--directory",
            Box::new(users_name_groups),
        ),
        (
            s.user_type.is_none() || s.cross_tenant_access_type.is_none(),
            "guest or external user type",
            "--user-type and --cross-tenant",
            Box::new(users_name_guests),
        ),
        (
            s.resource_id.is_none(),
            "application",
            "--app",
            Box::new(|p: &Policy| {
                p.applications.as_ref().is_some_and(|a| {
                    !a.user_actions.is_empty()
                        || a.apps.include.iter().chain(&a.apps.exclude).any(|x| {
                            !x.eq_ignore_ascii_case("All") && !x.eq_ignore_ascii_case("None")
                        })
                })
            }),
        ),
        (
            s.client_app_used.is_none(),
            "client app",
            "--client-app",
            Box::new(move |p: &Policy| {
                client_apps(p)
                    || p.grant.as_ref().is_some_and(|g| {
                        g.built_in.iter().any(|c| !c.eq_ignore_ascii_case("block"))
                            || g.authentication_strength.is_some()
                            || !g.terms_of_use.is_empty()
                    })
            }),
        ),
        (
            s.operating_system.is_none(),
            "device platform",
            "--platform or --os",
            Box::new(move |p: &Policy| {
                p.platforms.is_some()
                    || grant_has(p, "approvedApplication")
                    || grant_has(p, "compliantApplication")
            }),
        ),
        (
            s.ip_address.is_none() || s.country.is_none(),
            "network location",
            "--ip and --country",
            Box::new(|p: &Policy| {
                p.locations.as_ref().is_some_and(|l| {
                    l.include
                        .iter()
                        .chain(&l.exclude)
                        .any(|x| !x.eq_ignore_ascii_case("All"))
                })
            }),
        ),
        (
            s.sign_in_risk_level.is_none(),
            "sign-in risk",
            "--sign-in-risk",
            Box::new(|p: &Policy| !p.sign_in_risk_levels.is_empty()),
        ),
        (
            s.user_risk_level.is_none(),
            "user risk",
            "--user-risk",
            Box::new(|p: &Policy| !p.user_risk_levels.is_empty()),
        ),
        (
            s.device_compliant.is_none(),
            "device compliance",
            "--device-compliant",
            Box::new(move |p: &Policy| grant_has(p, "compliantDevice")),
        ),
        (
            s.device_trust_type.is_none(),
            "device trust type",
            "--device-trust-type",
            Box::new(move |p: &Policy| grant_has(p, "domainJoinedDevice")),
        ),
        (
            s.device_id.is_none() || s.device_compliant.is_none() || s.device_trust_type.is_none(),
            "device properties",
            "--device-id, --device-compliant and --device-trust-type",
            Box::new(|p: &Policy| p.device_filter.is_some()),
        ),
        (
            s.mfa_satisfied.is_none(),
            "multifactor authentication done",
            "--mfa-done",
            Box::new(move |p: &Policy| grant_has(p, "mfa")),
        ),
        (
            s.authentication_methods.is_none(),
            "authentication methods",
            "--auth-method",
            Box::new(|p: &Policy| {
                p.grant
                    .as_ref()
                    .is_some_and(|g| g.authentication_strength.is_some())
            }),
        ),
    ];
    let mut out = Vec::new();
    for (missing, signal, flags, uses) in checks.drain(..) {
        if !missing {
            continue;
        }
        let ids: Vec<String> = policies
            .iter()
            .zip(rows)
            .filter(|(p, r)| r.result == "indeterminate" && uses(p))
            .map(|(p, _)| p.id.clone())
            .collect();
        if !ids.is_empty() {
            out.push(Undecided {
                signal: signal.to_string(),
                flags: flags.to_string(),
                policies: ids,
            });
        }
    }
    out
}
