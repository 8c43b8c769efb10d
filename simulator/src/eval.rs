//! The evaluation engine: one sign-in against a policy set, with Microsoft's documented
//! semantics (simulator/SEMANTICS.md) and three-valued logic for signals the log lacks.
//!
//! A policy's outcome is a set of possible *effects* (not applied, satisfied, prompting,
//! blocking): one effect when the log decides everything, several when a needed signal is
//! missing. The overall status is decided only when every combination of possible effects
//! gives the same status.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use crate::airisk::{Action, Scores, Thresholds};
use crate::codes;
use crate::devicefilter::{self, Filter};
use crate::model::{
    AuthStrength, ClientAppType, Directory, FilterMode, GrantControls, GuestSelector, IdSet,
    NamedLocation, NamedLocationKind, Platform, Policy, PolicyState, RiskLevel, SignIn,
    SignInFrequency, SignInKind, Tri,
};
use crate::snapshots::{Devices, UserRisk};

/// What a policy does to a sign-in when enforced, ordered by how much it restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// The policy does not apply.
    NotApplied = 0,
    /// The policy applies and the sign-in already satisfies it.
    Success = 1,
    /// The policy applies and prompts for a control the user can satisfy.
    Interrupted = 2,
    /// The policy blocks (block control, or a control that cannot be satisfied).
    Failure = 3,
}

impl Effect {
    const ALL: [Effect; 4] = [
        Effect::NotApplied,
        Effect::Success,
        Effect::Interrupted,
        Effect::Failure,
    ];

    /// The overall-status word for this effect.
    pub fn status(self) -> &'static str {
        match self {
            Effect::NotApplied => "notApplied",
            Effect::Success => "success",
            Effect::Interrupted => "interrupted",
            Effect::Failure => "failure",
        }
    }
}

/// A set of possible effects (bit i = `Effect` with discriminant i).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EffectSet(u8);

impl EffectSet {
    /// The set holding one effect.
    pub fn one(e: Effect) -> EffectSet {
        EffectSet(1 << (e as u8))
    }
    /// Adds an effect.
    pub fn insert(&mut self, e: Effect) {
        self.0 |= 1 << (e as u8);
    }
    /// Union.
    pub fn union(self, o: EffectSet) -> EffectSet {
        EffectSet(self.0 | o.0)
    }
    /// Effects in the set, least restrictive first.
    pub fn iter(self) -> impl Iterator<Item = Effect> {
        Effect::ALL
            .into_iter()
            .filter(move |e| self.0 & (1 << (*e as u8)) != 0)
    }
    /// The single effect, when exactly one is possible.
    pub fn single(self) -> Option<Effect> {
        if self.0.count_ones() == 1 {
            self.iter().next()
        } else {
            None
        }
    }
    fn min(self) -> Effect {
        self.iter().next().unwrap_or(Effect::NotApplied)
    }
    fn max(self) -> Effect {
        self.iter().last().unwrap_or(Effect::NotApplied)
    }
}

/// One policy's result for one sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyResult {
    /// The contract's per-policy word (`success`, `failure`, `notApplied`, `notEnabled`,
    /// `reportOnly*`, `indeterminate`).
    pub result: &'static str,
    /// Why, for people.
    pub reasons: Vec<String>,
    /// Possible effects when enforced.
    pub effects: EffectSet,
    /// Grant controls the policy demands that the sign-in did not already satisfy.
    pub controls: Vec<String>,
}

/// The candidate decision for one sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Overall status (`notApplied`, `success`, `interrupted`, `failure`, `indeterminate`).
    pub status: &'static str,
    /// Controls demanded by enforced policies and not already satisfied, sorted.
    pub controls: Vec<String>,
    /// One result per policy, in policy order.
    pub policies: Vec<PolicyResult>,
}

/// Everything besides the sign-in that evaluation reads.
pub struct Context<'a> {
    /// Directory snapshot (users, transitive groups, roles), if given.
    pub directory: Option<&'a Directory>,
    /// Named locations by id.
    pub locations: HashMap<&'a str, &'a NamedLocation>,
    /// The named locations marked trusted (`isTrusted: true`), by id: what `AllTrusted`
    /// covers besides MFA trusted IPs.
    pub trusted_locations: Vec<&'a NamedLocation>,
    /// Parsed device filters by policy id.
    pub device_filters: HashMap<&'a str, Filter>,
    /// User-risk snapshot (`--user-risk`): the user risk level at a sign-in's time when the
    /// sign-in itself does not carry one.
    pub user_risk: Option<&'a UserRisk>,
    /// Device snapshot (`--devices`): filter-for-devices properties the log lacks.
    pub devices: Option<&'a Devices>,
    /// AI risk thresholds and scores (`--thresholds`, `--scores`), for the `vigil-ai-risk` policy.
    pub ai: Option<AiInputs<'a>>,
}

/// What the `vigil-ai-risk` policy reads.
#[derive(Clone, Copy)]
pub struct AiInputs<'a> {
    /// The thresholds file.
    pub thresholds: &'a Thresholds,
    /// The scores.
    pub scores: &'a Scores,
}

impl<'a> Context<'a> {
    /// Builds a context; device filter rules must already be valid (checked at load time).
    pub fn new(
        policies: &'a [Policy],
        locations: &'a [NamedLocation],
        directory: Option<&'a Directory>,
    ) -> Result<Context<'a>, String> {
        let mut device_filters = HashMap::new();
        for p in policies {
            if let Some((_, rule)) = &p.device_filter {
                let f = Filter::parse(rule).map_err(|e| {
                    format!(
                        "policy {} ({}): field conditions.devices.deviceFilter.rule: {e}",
                        p.id, p.display_name
                    )
                })?;
                device_filters.insert(p.id.as_str(), f);
            }
        }
        let mut trusted_locations: Vec<&NamedLocation> = locations
            .iter()
            .filter(|l| l.is_trusted() == Some(true))
            .collect();
        trusted_locations.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Context {
            directory,
            locations: locations.iter().map(|l| (l.id.as_str(), l)).collect(),
            trusted_locations,
            device_filters,
            user_risk: None,
            devices: None,
            ai: None,
        })
    }

    /// Adds the optional snapshots (`--user-risk`, `--devices`).
    pub fn with_snapshots(
        mut self,
        user_risk: Option<&'a UserRisk>,
        devices: Option<&'a Devices>,
    ) -> Context<'a> {
        self.user_risk = user_risk;
        self.devices = devices;
        self
    }

    /// Adds the AI risk thresholds and scores.
    pub fn with_ai(mut self, ai: Option<AiInputs<'a>>) -> Context<'a> {
        self.ai = ai;
        self
    }
}

/// Well-known application ids behind the `Office365` pseudo-app (Microsoft's documented list, abridged
/// to the apps that appear as sign-in resources).
pub(crate) const OFFICE365_APPS: &[&str] = &[
    "00000002-0000-0ff1-ce00-000000000000", // Office 365 Exchange Online
    "00000003-0000-0ff1-ce00-000000000000", // Office 365 SharePoint Online
    "00000004-0000-0ff1-ce00-000000000000", // Skype for Business Online
    "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", // Microsoft Teams Services
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264", // Microsoft Teams
    "5e3ce6c0-2b1f-4285-8d4b-75ee78787346", // Microsoft Teams Web Client
    "4765445b-32c6-49b0-83e6-1d93765276ca", // OfficeHome
    "d3590ed6-52b3-4102-aeff-aad2292ab01c", // Microsoft Office
    "00000006-0000-0ff1-ce00-000000000000", // Microsoft Office 365 Portal
    "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", // Office365 Shell WCSS-Client
    "0f698dd4-f011-4d23-a33e-b36416dcb1e6", // Microsoft Office Online (OneNote)
    "ab9b8c07-8f02-4f72-87fa-80105867a763", // OneDrive SyncEngine
];

/// Application ids behind the `MicrosoftAdminPortals` pseudo-app.
pub(crate) const ADMIN_PORTAL_APPS: &[&str] = &[
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", // Azure Portal
    "00000006-0000-0ff1-ce00-000000000000", // Microsoft 365 admin center / Office 365 Portal
    "497effe9-df71-4043-a8bb-14cf78c4b63b", // Exchange admin center
    "80ccca67-54bd-44ab-8625-4b79c4dc7775", // Microsoft 365 Security and Compliance Center
    "0000000a-0000-0000-c000-000000000000", // Microsoft Intune
    "de8bc8b5-d9f9-48b1-a8ad-b748da725064", // Graph Explorer
];

/// The Device Registration Service, the resource of `urn:user:registerdevice`.
pub(crate) const DEVICE_REGISTRATION_APP: &str = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9";
/// My Sign-Ins (security info registration), the resource of `urn:user:registersecurityinfo`.
pub(crate) const SECURITY_INFO_APPS: &[&str] = &[
    "19db86c3-b2b9-44cc-b339-36da233a3be2",
    "0000000c-0000-0000-c000-000000000000",
];

/// A condition's verdict with the reason shown to people.
struct Verdict {
    tri: Tri,
    reason: String,
}

fn verdict(tri: Tri, reason: impl Into<String>) -> Verdict {
    Verdict {
        tri,
        reason: reason.into(),
    }
}

fn lower_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Normalizes `clientAppUsed` to a client app type; `None` when the log does not say.
pub fn client_app_type(s: &SignIn) -> Option<ClientAppType> {
    let v = s.client_app_used.as_deref()?.trim();
    if v.is_empty() || lower_eq(v, "unknown") {
        return None;
    }
    Some(if lower_eq(v, "browser") {
        ClientAppType::Browser
    } else if lower_eq(v, "mobile apps and desktop clients") {
        ClientAppType::MobileAppsAndDesktopClients
    } else if lower_eq(v, "exchange activesync") {
        ClientAppType::ExchangeActiveSync
    } else {
        ClientAppType::Other
    })
}

/// Whether a client app type is a legacy-authentication client (cannot perform MFA).
fn is_legacy(t: ClientAppType) -> bool {
    matches!(
        t,
        ClientAppType::ExchangeActiveSync | ClientAppType::EasSupported | ClientAppType::Other
    )
}

/// Normalizes `deviceDetail.operatingSystem` to a platform (SEMANTICS.md Rule 4.19): a
/// non-empty name outside the known prefixes is [`Platform::Other`]; `None` when the log has no
/// operating system.
pub fn platform(s: &SignIn) -> Option<Platform> {
    let os = s.operating_system.as_deref()?.trim().to_ascii_lowercase();
    if os.is_empty() {
        return None;
    }
    Some(
        if os.starts_with("windowsphone") || os.starts_with("windows phone") {
            Platform::WindowsPhone
        } else if os.starts_with("windows") {
            Platform::Windows
        } else if os.starts_with("ios")
            || os.starts_with("ipados")
            || os.starts_with("iphone")
            || os.starts_with("ipad")
        {
            Platform::Ios
        } else if os.starts_with("android") {
            Platform::Android
        } else if os.starts_with("mac") || os.starts_with("os x") {
            Platform::MacOs
        } else if os.starts_with("linux") || os.starts_with("ubuntu") {
            Platform::Linux
        } else {
            // A real operating system outside the platforms Conditional Access names
            // (ChromeOS, FreeBSD, ...): it matches `all` but no named platform (Rule 4.19).
            Platform::Other
        },
    )
}

fn risk_of(v: Option<&str>) -> Option<RiskLevel> {
    match v?.to_ascii_lowercase().as_str() {
        "none" => Some(RiskLevel::None),
        "low" => Some(RiskLevel::Low),
        "medium" => Some(RiskLevel::Medium),
        "high" => Some(RiskLevel::High),
        _ => None, // hidden, unknownFutureValue: the log does not say
    }
}

/// The signed-in identity is a workload (service principal or managed identity).
fn workload_kind(s: &SignIn) -> Option<SignInKind> {
    match s.kind {
        Some(k @ (SignInKind::ServicePrincipal | SignInKind::ManagedIdentity)) => Some(k),
        Some(_) => None,
        None if s.user_id.is_none()
            && s.user_principal_name.is_none()
            && s.service_principal_id.is_some() =>
        {
            Some(SignInKind::ServicePrincipal)
        }
        None => None,
    }
}

/// The external user type of the sign-in (Graph's guestOrExternalUserTypes vocabulary), by
/// SEMANTICS.md Rule 4.8; `Some(None)` = a known internal member, `None` = the log does not
/// say. `dir_user_type` is the directory snapshot's `userType`, used when the log has none.
fn external_type(s: &SignIn, dir_user_type: Option<&str>) -> Option<Option<&'static str>> {
    let cross = s
        .cross_tenant_access_type
        .as_deref()
        .map(|c| c.trim().to_ascii_lowercase());
    match cross.as_deref() {
        Some("b2bdirectconnect") => return Some(Some("b2bDirectConnectUser")),
        Some("serviceprovider") => return Some(Some("serviceProvider")),
        Some("none" | "b2bcollaboration" | "unknownfuturevalue" | "") | None => {}
        // Any other cross-tenant access (microsoftSupport, passthrough, ...).
        Some(_) => return Some(Some("otherExternalUser")),
    }
    let cross_tenant = if cross.as_deref() == Some("b2bcollaboration") {
        Some(true)
    } else {
        match (&s.home_tenant_id, &s.resource_tenant_id) {
            (Some(h), Some(r)) => Some(!h.eq_ignore_ascii_case(r)),
            _ if cross.as_deref() == Some("none") => Some(false),
            _ => None,
        }
    };
    let user_type = s
        .user_type
        .as_deref()
        .or(dir_user_type)?
        .trim()
        .to_ascii_lowercase();
    match (user_type.as_str(), cross_tenant?) {
        ("guest", true) => Some(Some("b2bCollaborationGuest")),
        ("guest", false) => Some(Some("internalGuest")),
        ("member", true) => Some(Some("b2bCollaborationMember")),
        ("member", false) => Some(None),
        _ => None,
    }
}

fn guest_match(sel: &GuestSelector, s: &SignIn, dir_user_type: Option<&str>) -> Verdict {
    match external_type(s, dir_user_type) {
        None => verdict(
            Tri::Unknown,
            "the log does not show whether the user is a guest or external user",
        ),
        Some(None) => verdict(Tri::No, "an internal member user"),
        Some(Some(t)) => {
            if !sel.types.is_empty() && !sel.types.iter().any(|x| lower_eq(x, t)) {
                return verdict(Tri::No, format!("external user type {t} is not selected"));
            }
            match &sel.tenants {
                None => verdict(Tri::Yes, format!("external user type {t}")),
                Some(list) => match &s.home_tenant_id {
                    None => verdict(Tri::Unknown, "the log does not show the user's home tenant"),
                    Some(h) if list.iter().any(|x| lower_eq(x, h)) => {
                        verdict(Tri::Yes, format!("{t} from tenant {h}"))
                    }
                    Some(h) => verdict(Tri::No, format!("home tenant {h} is not selected")),
                },
            }
        }
    }
}

/// The users condition's answer and reason, for callers that evaluate it once per distinct
/// user (it reads the user id, UPN, user type, tenants and cross-tenant access type only).
pub(crate) fn users_verdict(p: &Policy, s: &SignIn, ctx: &Context) -> (Tri, String) {
    let v = users_condition(p, s, ctx);
    (v.tri, v.reason)
}

/// The applications condition's answer and reason, for callers that evaluate it once per
/// distinct application (it reads the app id and resource id only).
pub(crate) fn apps_verdict(p: &Policy, s: &SignIn) -> (Tri, String) {
    let v = apps_condition(p, s);
    (v.tri, v.reason)
}

/// Evaluates the users condition: (included?, reason), (excluded?, reason).
fn users_condition(p: &Policy, s: &SignIn, ctx: &Context) -> Verdict {
    let Some(u) = &p.users else {
        return verdict(Tri::Yes, "no user condition");
    };
    let user_id = s.user_id.as_deref();
    let dir_user = ctx.directory.and_then(|d| {
        user_id.and_then(|id| d.users.get(id)).or_else(|| {
            s.user_principal_name
                .as_ref()
                .and_then(|upn| d.by_upn.get(&upn.to_lowercase()))
                .and_then(|id| d.users.get(id))
        })
    });
    let dir_user_type = dir_user.and_then(|u| u.user_type.as_deref());
    let member_of = |ids: &[String], what: &str, groups: bool| -> Verdict {
        if ids.is_empty() {
            return verdict(Tri::No, "");
        }
        match (ctx.directory, dir_user) {
            (None, _) => verdict(Tri::Unknown, format!("{what} membership needs --directory")),
            (Some(_), None) => verdict(
                Tri::Unknown,
                format!(
                    "the user is not in the directory snapshot, so {what} membership is unknown"
                ),
            ),
            (Some(_), Some(du)) => {
                let set = if groups { &du.groups } else { &du.roles };
                match ids.iter().find(|id| set.contains(id.as_str())) {
                    Some(id) => verdict(
                        Tri::Yes,
                        format!(
                            "{} {id}",
                            if groups {
                                "member of group"
                            } else {
                                "holds role"
                            }
                        ),
                    ),
                    None => verdict(Tri::No, format!("not in any listed {what}")),
                }
            }
        }
    };
    let user_listed = |ids: &[String]| -> Verdict {
        let mut v = verdict(Tri::No, "");
        for id in ids {
            let t = if lower_eq(id, "All") {
                verdict(Tri::Yes, "all users")
            } else if lower_eq(id, "None") {
                verdict(Tri::No, "")
            } else if lower_eq(id, "GuestsOrExternalUsers") {
                let g = guest_match(&GuestSelector::default(), s, dir_user_type);
                verdict(g.tri, format!("guests or external users: {}", g.reason))
            } else {
                match user_id {
                    Some(uid) if lower_eq(uid, id) => verdict(Tri::Yes, format!("user {id}")),
                    Some(_) => verdict(Tri::No, ""),
                    None => verdict(Tri::Unknown, "the log does not carry the user's object id"),
                }
            };
            if t.tri == Tri::Yes {
                return t;
            }
            if t.tri == Tri::Unknown {
                v = t;
            }
        }
        v
    };
    let any = |parts: Vec<Verdict>| -> Verdict {
        let mut acc = verdict(Tri::No, "");
        for p in parts {
            match p.tri {
                Tri::Yes => return p,
                Tri::Unknown => acc = p,
                Tri::No => {}
            }
        }
        acc
    };
    let mut inc = vec![
        user_listed(&u.users.include),
        member_of(&u.groups.include, "group", true),
        member_of(&u.roles.include, "role", false),
    ];
    if let Some(g) = &u.include_guests {
        inc.push(guest_match(g, s, dir_user_type));
    }
    let mut exc = vec![
        user_listed(&u.users.exclude),
        member_of(&u.groups.exclude, "group", true),
        member_of(&u.roles.exclude, "role", false),
    ];
    if let Some(g) = &u.exclude_guests {
        exc.push(guest_match(g, s, dir_user_type));
    }
    let inc = any(inc);
    let exc = any(exc);
    combine_include_exclude("users", inc, exc)
}

/// Whether a workload sign-in's service principal is in an include or exclude list
/// (SEMANTICS.md Rule 4.11): an id names that service principal; `ServicePrincipalsInMyTenant`
/// covers it when the log shows the application is owned by the resource tenant
/// (`appOwnerTenantId` = `resourceTenantId`), not when another tenant owns it (a third-party or
/// multi-tenant application, out of scope), and is undecided when the log lacks either id.
fn service_principal_listed(ids: &[String], s: &SignIn) -> Verdict {
    let mut acc = verdict(Tri::No, "");
    for id in ids {
        let v = if lower_eq(id, "ServicePrincipalsInMyTenant") {
            match (&s.app_owner_tenant_id, &s.resource_tenant_id) {
                (Some(o), Some(r)) if lower_eq(o, r) => verdict(
                    Tri::Yes,
                    "service principals in my tenant (the application is owned by the resource tenant)",
                ),
                (Some(o), Some(_)) => verdict(
                    Tri::No,
                    format!(
                        "the application is owned by tenant {o}, not the resource tenant: third-party and multi-tenant applications are out of scope of ServicePrincipalsInMyTenant"
                    ),
                ),
                _ => verdict(
                    Tri::Unknown,
                    "ServicePrincipalsInMyTenant: the log does not show whether the application is owned by the resource tenant (appOwnerTenantId, resourceTenantId)",
                ),
            }
        } else {
            match &s.service_principal_id {
                None => verdict(
                    Tri::Unknown,
                    "the log does not carry the service principal id",
                ),
                Some(sp) if lower_eq(sp, id) => {
                    verdict(Tri::Yes, format!("service principal {id}"))
                }
                Some(_) => verdict(Tri::No, ""),
            }
        };
        match v.tri {
            Tri::Yes => return v,
            Tri::Unknown => acc = v,
            Tri::No if acc.tri == Tri::No && !v.reason.is_empty() => acc = v,
            Tri::No => {}
        }
    }
    acc
}

fn combine_include_exclude(what: &str, inc: Verdict, exc: Verdict) -> Verdict {
    match (inc.tri, exc.tri) {
        (_, Tri::Yes) => verdict(Tri::No, format!("excluded ({what}): {}", exc.reason)),
        (Tri::No, _) if inc.reason.is_empty() => verdict(Tri::No, format!("{what}: not included")),
        (Tri::No, _) => verdict(Tri::No, format!("{what}: not included ({})", inc.reason)),
        (Tri::Yes, Tri::No) => verdict(Tri::Yes, format!("{what}: included ({})", inc.reason)),
        (Tri::Unknown, _) => verdict(Tri::Unknown, format!("{what}: {}", inc.reason)),
        (Tri::Yes, Tri::Unknown) => verdict(
            Tri::Unknown,
            format!(
                "{what}: included ({}), but exclusion undecided: {}",
                inc.reason, exc.reason
            ),
        ),
    }
}

fn app_listed(ids: &[String], s: &SignIn) -> Verdict {
    let targets: Vec<&str> = [s.resource_id.as_deref(), s.app_id.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let mut acc = verdict(Tri::No, "");
    for id in ids {
        let hit = if lower_eq(id, "All") {
            return verdict(Tri::Yes, "all resources");
        } else if lower_eq(id, "None") {
            false
        } else if lower_eq(id, "Office365") {
            targets
                .iter()
                .any(|t| OFFICE365_APPS.iter().any(|o| lower_eq(o, t)))
        } else if lower_eq(id, "MicrosoftAdminPortals") {
            targets
                .iter()
                .any(|t| ADMIN_PORTAL_APPS.iter().any(|o| lower_eq(o, t)))
        } else {
            targets.iter().any(|t| lower_eq(t, id))
        };
        if hit {
            return verdict(Tri::Yes, format!("application {id}"));
        }
        if targets.is_empty() {
            acc = verdict(
                Tri::Unknown,
                "the log does not carry the application or resource id",
            );
        }
    }
    acc
}

fn apps_condition(p: &Policy, s: &SignIn) -> Verdict {
    let Some(a) = &p.applications else {
        return verdict(Tri::Yes, "no application condition");
    };
    if !a.user_actions.is_empty() {
        // A user-action policy applies only to that action, which shows as its resource.
        let res = s.resource_id.as_deref().or(s.app_id.as_deref());
        let hit = a
            .user_actions
            .iter()
            .any(|ua| match (ua.to_ascii_lowercase().as_str(), res) {
                ("urn:user:registerdevice", Some(r)) => lower_eq(r, DEVICE_REGISTRATION_APP),
                ("urn:user:registersecurityinfo", Some(r)) => {
                    SECURITY_INFO_APPS.iter().any(|x| lower_eq(x, r))
                }
                _ => false,
            });
        return if hit {
            verdict(Tri::Yes, "user action matched")
        } else if res.is_none() {
            verdict(
                Tri::Unknown,
                "the log does not show the resource, so the user action is unknown",
            )
        } else {
            verdict(Tri::No, "not the user action this policy targets")
        };
    }
    if !a.auth_contexts.is_empty() && a.apps.include.is_empty() {
        // An authentication-context policy applies only to sign-ins that requested one of its
        // contexts, which the log lists in authenticationContextClassReferences (Rule 4.15).
        return match &s.authentication_contexts {
            None => verdict(
                Tri::Unknown,
                "the log does not show which authentication contexts the sign-in requested (authenticationContextClassReferences)",
            ),
            Some(list) => match a
                .auth_contexts
                .iter()
                .find(|c| list.iter().any(|x| lower_eq(x, c)))
            {
                Some(c) => verdict(Tri::Yes, format!("authentication context {c} matched")),
                None => verdict(
                    Tri::No,
                    "the sign-in requested none of the policy's authentication contexts",
                ),
            },
        };
    }
    let inc = app_listed(&a.apps.include, s);
    let exc = app_listed(&a.apps.exclude, s);
    let v = combine_include_exclude("applications", inc, exc);
    if v.tri != Tri::No && a.filter.is_some() {
        return verdict(
            v.tri.and(Tri::Unknown),
            "application filter: custom security attributes are not in the log",
        );
    }
    v
}

fn client_apps_condition(p: &Policy, s: &SignIn) -> Verdict {
    if p.client_app_types.is_empty() || p.client_app_types.contains(&ClientAppType::All) {
        return verdict(Tri::Yes, "any client app");
    }
    match client_app_type(s) {
        None => verdict(Tri::Unknown, "client app type not in the log"),
        Some(t) => {
            // `easSupported`: Exchange ActiveSync on a platform it supports (Rule 4.17).
            let eas_supported = match platform(s) {
                Some(Platform::Ios | Platform::Android | Platform::Windows) => Tri::Yes,
                Some(_) => Tri::No,
                None => Tri::Unknown,
            };
            let hit = p.client_app_types.iter().fold(Tri::No, |acc, c| {
                acc.or(if *c == t {
                    Tri::Yes
                } else if *c == ClientAppType::EasSupported
                    && t == ClientAppType::ExchangeActiveSync
                {
                    eas_supported
                } else {
                    Tri::No
                })
            });
            let used = s.client_app_used.as_deref().unwrap_or("");
            match hit {
                Tri::Yes => verdict(Tri::Yes, format!("client app {used:?} included")),
                Tri::No => verdict(Tri::No, format!("client app {used:?} not included")),
                Tri::Unknown => verdict(
                    Tri::Unknown,
                    format!(
                        "client app {used:?}: easSupported needs the device platform, which is not in the log"
                    ),
                ),
            }
        }
    }
}

fn platforms_condition(p: &Policy, s: &SignIn) -> Verdict {
    let Some((inc, exc)) = &p.platforms else {
        return verdict(Tri::Yes, "no platform condition");
    };
    let Some(pl) = platform(s) else {
        return verdict(Tri::Unknown, "device platform not in the log");
    };
    let name = match pl {
        Platform::Other => "other (not one Conditional Access names)".to_string(),
        _ => format!("{pl:?}"),
    };
    if exc.contains(&pl) || exc.contains(&Platform::All) {
        return verdict(Tri::No, format!("excluded (platforms): {name}"));
    }
    if inc.contains(&Platform::All) || inc.contains(&pl) {
        verdict(Tri::Yes, format!("platform {name} included"))
    } else {
        verdict(Tri::No, format!("platform {name} not included"))
    }
}

fn location_is(loc: &NamedLocation, s: &SignIn, ip: Option<IpAddr>) -> Tri {
    if let Some(names) = &s.network_names
        && names.iter().any(|n| lower_eq(n, &loc.display_name))
    {
        return Tri::Yes;
    }
    match &loc.kind {
        NamedLocationKind::Ip { .. } => match ip {
            Some(ip) => Tri::from_bool(loc.matches_ip(&ip)),
            None => Tri::Unknown,
        },
        NamedLocationKind::Country { .. } => loc.matches_country(s.country.as_deref()),
        NamedLocationKind::Unsupported { .. } => Tri::Unknown,
    }
}

fn location_listed(ids: &[String], s: &SignIn, ctx: &Context) -> Verdict {
    let ip: Option<IpAddr> = s.ip_address.as_deref().and_then(|i| i.trim().parse().ok());
    let mut acc = verdict(Tri::No, "");
    for id in ids {
        let v = if lower_eq(id, "All") {
            verdict(Tri::Yes, "any location")
        } else if lower_eq(id, "AllTrusted") {
            all_trusted(s, ctx, ip)
        } else {
            match ctx.locations.get(id.as_str()) {
                None if id.as_str() == MFA_TRUSTED_IPS => match s.trusted_network {
                    Some(true) => verdict(
                        Tri::Yes,
                        "MFA trusted IPs: the log marks the network as trusted (networkLocationDetails)",
                    ),
                    _ => verdict(
                        Tri::Unknown,
                        "MFA trusted IPs: their ranges are not in --named-locations and the log does not mark the network as trusted",
                    ),
                },
                None => verdict(
                    Tri::Unknown,
                    format!("named location {id} is not defined in --named-locations"),
                ),
                Some(loc) => {
                    let t = location_is(loc, s, ip);
                    let how = match (&loc.kind, t) {
                        (NamedLocationKind::Ip { .. }, Tri::Yes) => format!(
                            "location '{}' matched {}",
                            loc.display_name,
                            s.ip_address.as_deref().unwrap_or("")
                        ),
                        (NamedLocationKind::Country { .. }, Tri::Yes) => format!(
                            "location '{}' matched country {}",
                            loc.display_name,
                            s.country.as_deref().unwrap_or("?")
                        ),
                        (NamedLocationKind::Unsupported { type_name, .. }, _) => format!(
                            "location '{}' is a {type_name}, which the log cannot decide",
                            loc.display_name
                        ),
                        (_, Tri::Unknown) => format!(
                            "location '{}': the log lacks the IP address or country",
                            loc.display_name
                        ),
                        _ => format!("location '{}' did not match", loc.display_name),
                    };
                    verdict(t, how)
                }
            }
        };
        match v.tri {
            Tri::Yes => return v,
            Tri::Unknown => acc = v,
            // Keep the reason of a "no" that rests on an assumption (AllTrusted).
            Tri::No if acc.tri == Tri::No && v.reason.contains("assumes") => acc = v,
            Tri::No => {}
        }
    }
    acc
}

/// The id policies use for the MFA trusted IPs location (observed in exports, Rule 4.25).
const MFA_TRUSTED_IPS: &str = "00000000-0000-0000-0000-000000000000";

/// `AllTrusted` (Rules 4.20, 4.23-4.25): every location marked trusted, and MFA trusted IPs.
/// - Yes when the log marks the network as a trusted named location, or a trusted IP location
///   contains the address (or the log names it among the matched networks).
/// - Otherwise undecided when a trusted location cannot be evaluated from the log (a
///   compliant-network location, say), or when trusted IP ranges exist, the log has no usable
///   address and does not list the networks it matched.
/// - Otherwise No: vigil assumes no MFA trusted IPs beyond what the log shows, and says so.
fn all_trusted(s: &SignIn, ctx: &Context, ip: Option<IpAddr>) -> Verdict {
    if s.trusted_network == Some(true) {
        return verdict(
            Tri::Yes,
            "all trusted locations: the log marks the network as a trusted location",
        );
    }
    let mut undecided: Option<String> = None;
    for loc in &ctx.trusted_locations {
        let named = s
            .network_names
            .as_ref()
            .is_some_and(|names| names.iter().any(|n| lower_eq(n, &loc.display_name)));
        match &loc.kind {
            _ if named => {
                return verdict(
                    Tri::Yes,
                    format!(
                        "all trusted locations: the log names trusted location '{}' as matched",
                        loc.display_name
                    ),
                );
            }
            NamedLocationKind::Ip { .. } => match ip {
                Some(a) if loc.matches_ip(&a) => {
                    return verdict(
                        Tri::Yes,
                        format!(
                            "all trusted locations: trusted location '{}' matched {}",
                            loc.display_name,
                            s.ip_address.as_deref().unwrap_or("")
                        ),
                    );
                }
                Some(_) => {}
                // networkLocationDetails lists the named networks Entra matched; without a
                // trusted one there, the address was in none of them.
                None if s.trusted_network == Some(false) => {}
                None => {
                    undecided.get_or_insert_with(|| {
                        format!(
                            "all trusted locations: the log lacks the IP address to compare with trusted location '{}'",
                            loc.display_name
                        )
                    });
                }
            },
            NamedLocationKind::Unsupported { type_name, .. } => {
                undecided.get_or_insert_with(|| {
                    format!(
                        "all trusted locations: trusted location '{}' is a {type_name}, which the log cannot decide",
                        loc.display_name
                    )
                });
            }
            NamedLocationKind::Country { .. } => {}
        }
    }
    match undecided {
        Some(reason) => verdict(Tri::Unknown, reason),
        None => verdict(
            Tri::No,
            "not in a trusted location (vigil assumes no MFA trusted IPs beyond what the log shows)",
        ),
    }
}

fn locations_condition(p: &Policy, s: &SignIn, ctx: &Context) -> Verdict {
    let Some(IdSet { include, exclude }) = &p.locations else {
        return verdict(Tri::Yes, "no location condition");
    };
    let exc = location_listed(exclude, s, ctx);
    // The exclusion's reason is kept when it decides through vigil's assumption about MFA
    // trusted IPs (Rule 4.25: the choice is reported where it decides an outcome).
    let note = (exc.tri == Tri::No && exc.reason.contains("assumes")).then(|| exc.reason.clone());
    let mut v = combine_include_exclude("locations", location_listed(include, s, ctx), exc);
    if let Some(note) = note
        && v.tri != Tri::No
    {
        v.reason = format!("{}; not excluded: {note}", v.reason);
    }
    v
}

fn risk_condition(levels: &[RiskLevel], logged: Option<&str>, what: &str) -> Verdict {
    if levels.is_empty() {
        return verdict(Tri::Yes, "");
    }
    match risk_of(logged) {
        None => verdict(
            Tri::Unknown,
            match logged {
                Some(v) => format!(
                    "{what}: the logged value {v:?} is not a risk level (none, low, medium, high)"
                ),
                None => format!("{what} level not in the log"),
            },
        ),
        Some(r) if levels.contains(&r) => verdict(Tri::Yes, format!("{what} {r:?} included")),
        Some(r) => verdict(Tri::No, format!("{what} {r:?} not included")),
    }
}

/// The evaluation cache key of a sign-in: a copy with every field evaluation does not read
/// cleared, so sign-ins that differ only there share one evaluation. The key drops the
/// sign-in's time, which a user-risk snapshot in `ctx` reads: then it keys on the level the
/// snapshot gives instead (a marker, since a key is only hashed, never evaluated).
pub(crate) fn cache_key(s: &SignIn, ctx: &Context) -> SignIn {
    let mut key = SignIn {
        id: String::new(),
        created_date_time: String::new(),
        correlation_id: None,
        app_display_name: None,
        resource_display_name: None,
        failure_reason: None,
        conditional_access_status: None,
        applied_policies: None,
        user_agent: None,
        source_variant: None,
        city: None,
        state: None,
        latitude: None,
        longitude: None,
        risk_level_aggregated: None,
        risk_state: None,
        risk_event_types: None,
        browser: None,
        ..s.clone()
    };
    if let (None, Some(r)) = (&s.user_risk_level, ctx.user_risk) {
        key.user_risk_level = r.level_for_signin(s).map(|l| format!("--user-risk:{l}"));
    }
    key
}

/// The user risk condition: the sign-in's own `user_risk_level` when it has one, else the
/// `--user-risk` snapshot at the sign-in's time (Rule 4.27).
fn user_risk_condition(p: &Policy, s: &SignIn, ctx: &Context) -> Verdict {
    let levels = &p.user_risk_levels;
    match (s.user_risk_level.as_deref(), ctx.user_risk) {
        (Some(_), _) | (None, None) => {
            risk_condition(levels, s.user_risk_level.as_deref(), "user risk")
        }
        (None, Some(_)) if levels.is_empty() => verdict(Tri::Yes, ""),
        (None, Some(r)) => match r.level_for_signin(s) {
            None => verdict(
                Tri::Unknown,
                "user risk level at the sign-in's time is in neither the log nor the --user-risk snapshot",
            ),
            Some(level) => risk_condition(levels, Some(level), "user risk (--user-risk)"),
        },
    }
}

/// A device property for the filter: the log's value where it has one, else (except for
/// `isCompliant` and `trustType`, which only the log gives at sign-in time) the `--devices`
/// snapshot's.
fn device_attribute(s: &SignIn, attr: &str, devices: Option<&Devices>) -> Option<Vec<String>> {
    let logged = logged_device_attribute(s, attr);
    if logged.is_some() || matches!(attr, "iscompliant" | "trusttype" | "deviceid") {
        return logged;
    }
    devices?.attribute_for_signin(s, attr)
}

fn logged_device_attribute(s: &SignIn, attr: &str) -> Option<Vec<String>> {
    let one = |v: Option<&String>| v.filter(|x| !x.is_empty()).map(|x| vec![x.clone()]);
    match attr {
        "deviceid" => one(s.device_id.as_ref()),
        "displayname" => one(s.device_display_name.as_ref()),
        "iscompliant" => s
            .device_compliant
            .map(|b| vec![if b { "True" } else { "False" }.to_string()]),
        "operatingsystem" => one(s.operating_system.as_ref()),
        "trusttype" => s.device_trust_type.as_deref().map(|t| {
            let l = t.to_ascii_lowercase();
            let v = if l.contains("hybrid") {
                "ServerAD"
            } else if l.contains("joined") {
                "AzureAD"
            } else if l.contains("registered") {
                "Workplace"
            } else {
                t
            };
            vec![v.to_string()]
        }),
        _ => None,
    }
}

/// Whether the log has a `deviceDetail` (Rule 4.31): it shows the operating system, the
/// compliance, management or trust state, or the device name. (`deviceDetail` with nothing but
/// a browser reads as absent.)
fn device_detail_present(s: &SignIn) -> bool {
    s.operating_system.is_some()
        || s.device_compliant.is_some()
        || s.device_managed.is_some()
        || s.device_trust_type.is_some()
        || s.device_display_name.is_some()
}

fn device_condition(p: &Policy, s: &SignIn, ctx: &Context) -> Verdict {
    let Some((mode, rule)) = &p.device_filter else {
        return verdict(Tri::Yes, "no device filter");
    };
    let Some(filter) = ctx.device_filters.get(p.id.as_str()) else {
        return verdict(Tri::Unknown, "device filter could not be read");
    };
    let m = match mode {
        FilterMode::Include => "include",
        FilterMode::Exclude => "exclude",
    };
    // Rules 4.30-4.31: a device the log shows without an id is unregistered, and all its
    // properties are null (positive operators false, negative operators true).
    if s.device_id.is_none() && device_detail_present(s) {
        let matched = filter.evaluate_unregistered();
        let how = if matched == Tri::Yes {
            "matched"
        } else {
            "did not match"
        };
        return verdict(
            devicefilter::applies(*mode, matched),
            format!(
                "device filter ({m}) {how} an unregistered device (every property null): {rule}"
            ),
        );
    }
    let from_snapshot = std::cell::Cell::new(false);
    let matched = filter.evaluate(&|a: &str| {
        let a = a.to_ascii_lowercase();
        let v = device_attribute(s, &a, ctx.devices);
        if v.is_some() && logged_device_attribute(s, &a).is_none() {
            from_snapshot.set(true);
        }
        v
    });
    let t = devicefilter::applies(*mode, matched);
    let via = if from_snapshot.get() {
        " (device properties from --devices)"
    } else {
        ""
    };
    let reason = match matched {
        Tri::Yes => format!("device filter ({m}) matched{via}: {rule}"),
        Tri::No => format!("device filter ({m}) did not match{via}: {rule}"),
        Tri::Unknown if ctx.devices.is_some() => format!(
            "device filter ({m}) needs device properties neither the log nor --devices has: {rule}"
        ),
        Tri::Unknown => {
            format!("device filter ({m}) needs device properties the log lacks: {rule}")
        }
    };
    verdict(t, reason)
}

/// The sign-in's authentication transfer method (Rules 4.33-4.34): `originalTransferMethod`
/// (the tracked state), else `authenticationProtocol` `deviceCode` (device code flow) or
/// `authenticationTransfer`. Any other protocol leaves it undecided (`None`): a refresh may
/// carry a tracked state the log does not show.
fn transfer_method(s: &SignIn) -> Option<String> {
    if let Some(m) = s.original_transfer_method.as_deref().map(str::trim)
        && !m.is_empty()
        && !lower_eq(m, "unknownFutureValue")
    {
        return Some(m.to_string());
    }
    match s.authentication_protocol.as_deref().map(str::trim) {
        Some(p) if lower_eq(p, "deviceCode") => Some("deviceCodeFlow".into()),
        Some(p) if lower_eq(p, "authenticationTransfer") => Some("authenticationTransfer".into()),
        _ => None,
    }
}

fn flows_condition(p: &Policy, s: &SignIn) -> Verdict {
    if p.transfer_methods.is_empty() {
        return verdict(Tri::Yes, "");
    }
    match transfer_method(s) {
        None => verdict(
            Tri::Unknown,
            "authentication flow not in the log (originalTransferMethod)",
        ),
        Some(m) if p.transfer_methods.iter().any(|t| lower_eq(t, &m)) => {
            verdict(Tri::Yes, format!("authentication flow {m} targeted"))
        }
        Some(m) => verdict(Tri::No, format!("authentication flow {m} not targeted")),
    }
}

/// A grant control's state: satisfied already, and if not, whether the user can satisfy it.
struct Control {
    name: String,
    satisfied: Tri,
    satisfiable: Tri,
}

/// The authentication method modes (Graph `authenticationMethodModes`) a logged
/// `authenticationDetails[].authenticationMethod` can stand for (SEMANTICS.md Rule 5.4); several
/// when the log does not tell the variants apart (OATH hardware or software, certificate single-
/// or multifactor, Temporary Access Pass one-time or multi-use); `None` when the log does not
/// show the method (a step satisfied by a token claim, or a name vigil does not know).
fn method_modes(m: &str) -> Option<&'static [&'static str]> {
    let l = m.trim().to_ascii_lowercase();
    Some(if l == "previously satisfied" {
        return None;
    } else if l.contains("hello") {
        &["windowsHelloForBusiness"]
    } else if l.contains("fido") || l.contains("passkey") || l.contains("security key") {
        &["fido2"]
    } else if l.contains("certificate") || l.contains("x.509") || l.contains("x509") {
        &["x509CertificateSingleFactor", "x509CertificateMultiFactor"]
    } else if l.contains("temporary access pass") {
        &["temporaryAccessPassOneTime", "temporaryAccessPassMultiUse"]
    } else if l.contains("passwordless") {
        &["deviceBasedPush"]
    } else if l.contains("notification") || l.contains("authenticator") {
        &["microsoftAuthenticatorPush"]
    } else if l.contains("text message") || l.contains("sms") {
        &["sms"]
    } else if l.contains("oath") || l.contains("verification code") {
        &["softwareOath", "hardwareOath"]
    } else if l.contains("phone call") || l.contains("voice") {
        &["voice"]
    } else if l.contains("password") {
        &["password"]
    } else if l.contains("email") {
        &["email"]
    } else {
        return None;
    })
}

/// Built-in authentication strengths (G-strengths), used when a policy's
/// `authenticationStrength` carries no `allowedCombinations`.
const BUILT_IN_STRENGTHS: &[(&str, &[&str])] = &[
    (
        "00000000-0000-0000-0000-000000000002",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "password,hardwareOath",
            "password,x509CertificateSingleFactor",
            "password,x509CertificateMultiFactor",
            "password,sms",
            "password,voice",
            "federatedMultiFactor",
            "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor",
            "hardwareOath,federatedSingleFactor",
            "sms,federatedSingleFactor",
            "voice,federatedSingleFactor",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000003",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000004",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
        ],
    ),
];

/// Whether the methods the log shows succeeded satisfy an authentication strength: some allowed
/// combination has every one of its modes among them. A method the log names ambiguously is
/// tried as each of its modes (Yes only when every reading satisfies the strength); a method it
/// does not show may supply any one missing mode.
fn strength_satisfied(st: &AuthStrength, s: &SignIn) -> Tri {
    let combos: Vec<Vec<String>> = {
        let raw: Vec<String> = if st.allowed_combinations.is_empty() {
            match BUILT_IN_STRENGTHS
                .iter()
                .find(|(id, _)| lower_eq(id, &st.id))
            {
                Some((_, c)) => c.iter().map(|x| (*x).to_string()).collect(),
                None => return Tri::Unknown,
            }
        } else {
            st.allowed_combinations.clone()
        };
        raw.iter()
            .map(|c| {
                c.split(',')
                    .map(|x| x.trim().to_ascii_lowercase())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .collect()
    };
    let Some(methods) = &s.authentication_methods else {
        return Tri::Unknown;
    };
    let mut definite: Vec<String> = Vec::new();
    let mut ambiguous: Vec<&[&str]> = Vec::new();
    let mut unknown = 0usize;
    for m in methods {
        match method_modes(m) {
            Some([one]) => definite.push(one.to_ascii_lowercase()),
            Some(ms) if ambiguous.len() < 8 => ambiguous.push(ms),
            _ => unknown += 1,
        }
    }
    // Whether some combination is covered by `modes` plus up to `wildcards` unseen modes.
    let covered = |modes: &[String], wildcards: usize| {
        combos.iter().any(|combo| {
            !combo.is_empty()
                && combo.iter().filter(|part| !modes.contains(part)).count() <= wildcards
        })
    };
    let mut every = true;
    let mut some = false;
    for pick in 0..(1usize << ambiguous.len()) {
        // Each ambiguous method has two readings here (the ones method_modes lists).
        let mut modes = definite.clone();
        for (i, ms) in ambiguous.iter().enumerate() {
            let k = (pick >> i) & 1;
            modes.push(ms[k.min(ms.len() - 1)].to_ascii_lowercase());
        }
        every &= covered(&modes, 0);
        some |= covered(&modes, unknown);
    }
    // More methods never undo a covered combination, so the unknown ones matter only when no
    // reading is covered without them.
    if every {
        Tri::Yes
    } else if some {
        Tri::Unknown
    } else {
        Tri::No
    }
}

/// Whether the sign-in used device code flow (Rule 4.34's reading of the log).
fn device_code_flow(s: &SignIn) -> Tri {
    match transfer_method(s) {
        Some(m) => Tri::from_bool(lower_eq(&m, "deviceCodeFlow")),
        None => Tri::Unknown,
    }
}

/// Grant controls of a policy as the sign-in shows them (SEMANTICS.md §5).
fn controls_of(g: &GrantControls, s: &SignIn) -> Vec<Control> {
    let client = client_app_type(s);
    let legacy = match client {
        Some(t) => Tri::from_bool(is_legacy(t)),
        None => Tri::Unknown,
    };
    // Rule 5.3: legacy clients can neither prompt nor pass MFA or device state.
    let promptable = legacy.not();
    let unless_legacy = |sat: Tri| if legacy == Tri::Yes { Tri::No } else { sat };
    let mut out = Vec::new();
    for c in &g.built_in {
        let l = c.to_ascii_lowercase();
        let (satisfied, satisfiable) = match l.as_str() {
            "block" => continue,
            "mfa" => (
                unless_legacy(s.mfa_satisfied.map_or(Tri::Unknown, Tri::from_bool)),
                promptable,
            ),
            "compliantdevice" => {
                // Rule 5.5: an unregistered device cannot be compliant.
                let sat = if s.device_id.is_none() && device_detail_present(s) {
                    Tri::No
                } else {
                    s.device_compliant.map_or(Tri::Unknown, Tri::from_bool)
                };
                (unless_legacy(sat), Tri::No)
            }
            "domainjoineddevice" => {
                let hybrid = s.device_trust_type.as_deref().map_or(Tri::Unknown, |t| {
                    Tri::from_bool(t.to_ascii_lowercase().contains("hybrid"))
                });
                // Rule 5.6: not supported with device code flow.
                (
                    unless_legacy(hybrid.and(device_code_flow(s).not())),
                    Tri::No,
                )
            }
            "approvedapplication" | "compliantapplication" => {
                let sat = match platform(s) {
                    Some(Platform::Ios | Platform::Android) | None => Tri::Unknown,
                    Some(_) => Tri::No,
                };
                // Rule 5.3's exception: Exchange ActiveSync with "Require approved client app"
                // directs the user to Outlook mobile.
                let eas =
                    l == "approvedapplication" && client == Some(ClientAppType::ExchangeActiveSync);
                if eas {
                    (Tri::No, Tri::Yes)
                } else {
                    (unless_legacy(sat), Tri::No)
                }
            }
            "passwordchange" => (Tri::No, promptable),
            _ => (Tri::Unknown, Tri::Unknown),
        };
        out.push(Control {
            name: c.clone(),
            satisfied,
            satisfiable,
        });
    }
    if let Some(st) = &g.authentication_strength {
        out.push(Control {
            name: format!("authenticationStrength:{}", st.id),
            satisfied: unless_legacy(strength_satisfied(st, s)),
            satisfiable: promptable,
        });
    }
    for t in &g.terms_of_use {
        out.push(Control {
            name: format!("termsOfUse:{t}"),
            satisfied: unless_legacy(Tri::Unknown),
            satisfiable: promptable,
        });
    }
    for c in &g.custom_factors {
        out.push(Control {
            name: format!("customAuthenticationFactor:{c}"),
            satisfied: unless_legacy(Tri::Unknown),
            satisfiable: promptable,
        });
    }
    out
}

/// Possible states of one control: 0 satisfied, 1 unsatisfied but satisfiable, 2 unsatisfiable.
fn control_states(c: &Control) -> Vec<u8> {
    let mut v = Vec::new();
    if c.satisfied != Tri::No {
        v.push(0);
    }
    if c.satisfied != Tri::Yes {
        if c.satisfiable != Tri::No {
            v.push(1);
        }
        if c.satisfiable != Tri::Yes {
            v.push(2);
        }
    }
    v
}

/// The possible effects of a policy's grant controls on a sign-in it applies to: every
/// outcome some choice of the controls' possible states gives (Rule 2.3). The controls are
/// independent, so each outcome's possibility is read off directly instead of enumerating the
/// combinations (which grow as 3^n with the number of controls a policy lists).
fn grant_effects(g: &GrantControls, controls: &[Control]) -> EffectSet {
    if g.built_in.iter().any(|c| lower_eq(c, "block")) {
        return EffectSet::one(Effect::Failure);
    }
    if controls.is_empty() {
        return EffectSet::one(Effect::Success);
    }
    let states: Vec<Vec<u8>> = controls.iter().map(control_states).collect();
    let can = |st: &Vec<u8>, x: u8| st.contains(&x);
    let mut set = EffectSet::default();
    if g.any {
        // OR: success when one control is satisfied; otherwise a promptable one prompts;
        // otherwise it fails.
        if states.iter().any(|st| can(st, 0)) {
            set.insert(Effect::Success);
        }
        let none_satisfied = states.iter().all(|st| can(st, 1) || can(st, 2));
        if none_satisfied && states.iter().any(|st| can(st, 1)) {
            set.insert(Effect::Interrupted);
        }
        if states.iter().all(|st| can(st, 2)) {
            set.insert(Effect::Failure);
        }
    } else {
        // AND: success when every control is satisfied; failure when one cannot be;
        // otherwise (some unsatisfied, all satisfiable) a prompt.
        if states.iter().all(|st| can(st, 0)) {
            set.insert(Effect::Success);
        }
        if states.iter().any(|st| can(st, 2)) {
            set.insert(Effect::Failure);
        }
        let all_satisfiable = states.iter().all(|st| can(st, 0) || can(st, 1));
        if all_satisfiable && states.iter().any(|st| can(st, 1)) {
            set.insert(Effect::Interrupted);
        }
    }
    set
}

/// What the policy's session controls add once its grant is satisfied (§8): `{Success}`, or
/// the possible outcomes of sign-in frequency, with the reason to show.
fn session_effects(p: &Policy, s: &SignIn) -> (EffectSet, Option<String>) {
    let success = EffectSet::one(Effect::Success);
    let Some(freq) = p
        .session
        .as_ref()
        .and_then(|x| x.sign_in_frequency.as_ref())
    else {
        return (success, None);
    };
    let both = success.union(EffectSet::one(Effect::Interrupted));
    match freq {
        SignInFrequency::Hours(h) => (
            both,
            Some(format!(
                "undecided: session sign-in frequency {h} h needs the time of the last authentication, which the log does not show"
            )),
        ),
        SignInFrequency::EveryTime => {
            let (t, why) = every_time_satisfied(s);
            let set = match t {
                Tri::Yes => success,
                Tri::No => EffectSet::one(Effect::Interrupted),
                Tri::Unknown => both,
            };
            let prefix = match t {
                Tri::Yes => "session sign-in frequency every time: satisfied",
                Tri::No => "session sign-in frequency every time: reauthentication required",
                Tri::Unknown => "undecided: session sign-in frequency every time",
            };
            (set, Some(format!("{prefix} ({why})")))
        }
    }
}

/// Rule 8.2: whether sign-in frequency "every time" is already satisfied by this sign-in.
fn every_time_satisfied(s: &SignIn) -> (Tri, &'static str) {
    let interactive = match s.kind {
        Some(SignInKind::InteractiveUser) => Some(true),
        Some(SignInKind::NonInteractiveUser) => Some(false),
        Some(_) => None,
        None => s.is_interactive,
    };
    match interactive {
        None => (
            Tri::Unknown,
            "the log does not show whether the sign-in was interactive",
        ),
        Some(true) => match s.primary_auth_fresh {
            Some(true) => (
                Tri::Yes,
                "the primary authentication was performed in this sign-in",
            ),
            Some(false) => (
                Tri::No,
                "the primary authentication was satisfied by a token claim",
            ),
            None => (
                Tri::Unknown,
                "the log does not show whether the primary authentication was fresh",
            ),
        },
        Some(false) => {
            let browser = match client_app_type(s) {
                Some(t) => Tri::from_bool(t == ClientAppType::Browser),
                None => Tri::Unknown,
            };
            let confidential = match s.client_credential_type.as_deref().map(str::trim) {
                None => Tri::Unknown,
                Some(c) if lower_eq(c, "unknownFutureValue") || c.is_empty() => Tri::Unknown,
                Some(c) => Tri::from_bool(!lower_eq(c, "none")),
            };
            match (browser, confidential) {
                (Tri::Yes, _) => (
                    Tri::Yes,
                    "non-interactive browser sign-in: enforcement is deferred to the next user interaction",
                ),
                (_, Tri::Yes) => (
                    Tri::Yes,
                    "non-interactive sign-in of a confidential client: enforcement is deferred to the next interactive sign-in",
                ),
                (Tri::No, Tri::No) => (
                    Tri::No,
                    "non-interactive sign-in of a public client: it must return to interactive authentication",
                ),
                _ => (
                    Tri::Unknown,
                    "non-interactive sign-in: the log does not show whether the client is a browser or confidential (clientAppUsed, clientCredentialType)",
                ),
            }
        }
    }
}

fn result_word(report_only: bool, effects: EffectSet) -> &'static str {
    match (report_only, effects.single()) {
        (_, None) => "indeterminate",
        (false, Some(Effect::NotApplied)) => "notApplied",
        (false, Some(Effect::Success)) => "success",
        (false, Some(Effect::Interrupted | Effect::Failure)) => "failure",
        (true, Some(Effect::NotApplied)) => "reportOnlyNotApplied",
        (true, Some(Effect::Success)) => "reportOnlySuccess",
        (true, Some(Effect::Interrupted)) => "reportOnlyInterrupted",
        (true, Some(Effect::Failure)) => "reportOnlyFailure",
    }
}

/// Evaluates one policy against one sign-in.
pub fn evaluate_policy(p: &Policy, s: &SignIn, ctx: &Context) -> PolicyResult {
    let report_only = p.state == PolicyState::EnabledForReportingButNotEnforced;
    let not_applied = |reason: String| PolicyResult {
        result: result_word(report_only, EffectSet::one(Effect::NotApplied)),
        reasons: vec![reason],
        effects: EffectSet::one(Effect::NotApplied),
        controls: vec![],
    };
    if p.state == PolicyState::Disabled {
        return PolicyResult {
            result: "notEnabled",
            reasons: vec!["policy is disabled".into()],
            effects: EffectSet::one(Effect::NotApplied),
            controls: vec![],
        };
    }
    let mut verdicts: Vec<Verdict> = Vec::new();
    match s.error_code.map(|c| (c, codes::primary_auth_completed(c))) {
        Some((code, Tri::No)) => {
            return not_applied(format!(
                "primary authentication did not complete (error {code}{}): Conditional Access is evaluated only after the first factor succeeds",
                codes::describe(code)
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ));
        }
        Some((code, Tri::Unknown)) => verdicts.push(verdict(
            Tri::Unknown,
            format!("error {code} does not show whether Conditional Access was reached"),
        )),
        Some((_, Tri::Yes)) => {}
        None => verdicts.push(verdict(
            Tri::Unknown,
            "the log does not show whether primary authentication succeeded",
        )),
    }
    match workload_kind(s) {
        Some(SignInKind::ManagedIdentity) => {
            return not_applied(
                "managed identity sign-in: Conditional Access does not apply to managed identities"
                    .into(),
            );
        }
        Some(_) => {
            let Some(ca) = &p.client_applications else {
                return not_applied("workload identity sign-in: this policy targets users".into());
            };
            let inc = service_principal_listed(&ca.service_principals.include, s);
            let exc = service_principal_listed(&ca.service_principals.exclude, s);
            let v = combine_include_exclude("service principals", inc, exc);
            if v.tri == Tri::No {
                return not_applied(v.reason);
            }
            verdicts.push(v);
            if ca.filter.is_some() {
                verdicts.push(verdict(
                    Tri::Unknown,
                    "service principal filter: custom security attributes are not in the log",
                ));
            }
            verdicts.push(risk_condition(
                &p.service_principal_risk_levels,
                s.service_principal_risk_level.as_deref(),
                "service principal risk",
            ));
        }
        None => {
            if p.client_applications
                .as_ref()
                .is_some_and(|c| !c.service_principals.include.is_empty())
                && p.users.is_none()
            {
                return not_applied("user sign-in: this policy targets workload identities".into());
            }
            verdicts.push(users_condition(p, s, ctx));
            verdicts.push(client_apps_condition(p, s));
            verdicts.push(platforms_condition(p, s));
            verdicts.push(risk_condition(
                &p.sign_in_risk_levels,
                s.sign_in_risk_level.as_deref(),
                "sign-in risk (riskLevelDuringSignIn)",
            ));
            verdicts.push(user_risk_condition(p, s, ctx));
            if !p.insider_risk_levels.is_empty() {
                verdicts.push(verdict(Tri::Unknown, "insider risk is not in the log"));
            }
            verdicts.push(device_condition(p, s, ctx));
            verdicts.push(flows_condition(p, s));
        }
    }
    verdicts.push(apps_condition(p, s));
    verdicts.push(locations_condition(p, s, ctx));
    for u in &p.unsupported {
        verdicts.push(verdict(
            Tri::Unknown,
            format!("{u} is not understood by vigil"),
        ));
    }
    if let Some(no) = verdicts.iter().find(|v| v.tri == Tri::No) {
        return not_applied(no.reason.clone());
    }
    let applies = verdicts.iter().fold(Tri::Yes, |a, v| a.and(v.tri));
    let mut reasons: Vec<String> = verdicts
        .iter()
        .filter(|v| {
            !v.reason.is_empty()
                && (v.tri == Tri::Unknown
                    || v.reason.contains("included")
                    || v.reason.contains("matched")
                    || v.reason.contains("targeted")
                    || v.reason.starts_with("device filter"))
        })
        .map(|v| {
            if v.tri == Tri::Unknown {
                format!("undecided: {}", v.reason)
            } else {
                v.reason.clone()
            }
        })
        .collect();
    let (grant_effects_set, controls) = if p.ai_risk {
        ai_risk_grant(s, ctx, &mut reasons)
    } else {
        match &p.grant {
            None => (EffectSet::one(Effect::Success), vec![]),
            Some(g) => grant_outcome(g, s, &mut reasons),
        }
    };
    // Session controls apply once the grant controls are satisfied (Rule 8.1).
    let (session, session_reason) = session_effects(p, s);
    if let Some(r) = session_reason {
        reasons.push(r);
    }
    let mut effects = EffectSet::default();
    for e in grant_effects_set.iter() {
        if e == Effect::Success {
            effects = effects.union(session);
        } else {
            effects.insert(e);
        }
    }
    if applies == Tri::Unknown {
        effects.insert(Effect::NotApplied);
    }
    // Rule 11.5: the grant controls the policy demands and the sign-in did not already
    // satisfy, for a policy that can prompt or fail through them; a block is not a control,
    // so a policy with the block control lists none.
    let blocks = p
        .grant
        .as_ref()
        .is_some_and(|g| g.built_in.iter().any(|c| lower_eq(c, "block")));
    let controls = if !blocks
        && grant_effects_set
            .iter()
            .any(|e| matches!(e, Effect::Interrupted | Effect::Failure))
    {
        controls
    } else {
        vec![]
    };
    PolicyResult {
        result: result_word(report_only, effects),
        reasons,
        effects,
        controls,
    }
}

/// A grant's possible effects and the controls it demands that the sign-in did not already
/// satisfy, with a reason per control.
fn grant_outcome(
    g: &GrantControls,
    s: &SignIn,
    reasons: &mut Vec<String>,
) -> (EffectSet, Vec<String>) {
    let controls = controls_of(g, s);
    let effects = grant_effects(g, &controls);
    if g.built_in.iter().any(|c| lower_eq(c, "block")) {
        reasons.push("grant: block access".into());
    }
    for c in &controls {
        reasons.push(match (c.satisfied, c.satisfiable) {
            (Tri::Yes, _) => format!("grant {}: already satisfied", c.name),
            (Tri::No, Tri::No) => format!(
                "grant {}: not satisfied and cannot be satisfied here",
                c.name
            ),
            (Tri::No, Tri::Yes) => format!(
                "grant {}: not satisfied; the user would be prompted",
                c.name
            ),
            (Tri::No, Tri::Unknown) => format!(
                "grant {}: not satisfied; the log does not show whether the client can be prompted (clientAppUsed)",
                c.name
            ),
            _ => format!(
                "grant {}: the log does not show whether it is satisfied",
                c.name
            ),
        });
    }
    let demanded = controls
        .iter()
        .filter(|c| c.satisfied != Tri::Yes)
        .map(|c| c.name.clone())
        .collect::<Vec<_>>();
    (effects, demanded)
}

/// The `vigil-ai-risk` policy's grant: the band of the sign-in's AI score picks it (allow: the
/// policy does not apply; review: applies, nothing asked; mfa: as a policy requiring MFA;
/// block). Without a score every band is possible.
fn ai_risk_grant(s: &SignIn, ctx: &Context, reasons: &mut Vec<String>) -> (EffectSet, Vec<String>) {
    let mfa = GrantControls {
        any: true,
        built_in: vec!["mfa".into()],
        ..GrantControls::default()
    };
    let outcome = |a: Action, reasons: &mut Vec<String>| match a {
        Action::Allow => (EffectSet::one(Effect::NotApplied), vec![]),
        Action::Review => (EffectSet::one(Effect::Success), vec![]),
        Action::Block => (EffectSet::one(Effect::Failure), vec![]),
        Action::Mfa => grant_outcome(&mfa, s, reasons),
    };
    let Some(ai) = ctx.ai else {
        reasons.push("undecided: no thresholds were given".into());
        return (EffectSet::one(Effect::NotApplied), vec![]);
    };
    match ai.scores.get(s) {
        Some(score) => {
            let band = ai.thresholds.band(score.score);
            reasons.push(match band.action {
                Action::Review => format!("{}: queued for human review", band.reason),
                _ => band.reason,
            });
            if let Some(r) = &score.reasoning {
                reasons.push(format!("AI reasoning: {r}"));
            }
            outcome(band.action, reasons)
        }
        None => {
            reasons.push("undecided: no AI score for this sign-in".into());
            let mut effects = EffectSet::default();
            let mut controls = Vec::new();
            for a in ai.thresholds.actions() {
                let mut ignored = Vec::new();
                let (e, c) = outcome(a, &mut ignored);
                effects = effects.union(e);
                controls.extend(c);
            }
            (effects, controls)
        }
    }
}

/// Combines enforced policies' possible effects into the overall status: decided only when
/// every combination gives the same status (failure > interrupted > success > notApplied).
pub fn overall_status(policies: &[Policy], results: &[PolicyResult]) -> &'static str {
    let mut lo = Effect::NotApplied;
    let mut hi = Effect::NotApplied;
    for (p, r) in policies.iter().zip(results) {
        if p.state != PolicyState::Enabled {
            continue;
        }
        lo = lo.max(r.effects.min());
        hi = hi.max(r.effects.max());
    }
    if lo == hi {
        lo.status()
    } else {
        "indeterminate"
    }
}

/// Evaluates every policy against one sign-in.
pub fn evaluate(policies: &[Policy], s: &SignIn, ctx: &Context) -> Decision {
    let results: Vec<PolicyResult> = policies
        .iter()
        .map(|p| evaluate_policy(p, s, ctx))
        .collect();
    decide(policies, results)
}

/// Combines one result per policy (in policy order) into the decision: the overall status and
/// the controls enforced policies demand.
pub fn decide(policies: &[Policy], results: Vec<PolicyResult>) -> Decision {
    let status = overall_status(policies, &results);
    let mut controls = BTreeSet::new();
    for (p, r) in policies.iter().zip(&results) {
        if p.state == PolicyState::Enabled {
            controls.extend(r.controls.iter().cloned());
        }
    }
    Decision {
        status,
        controls: controls.into_iter().collect(),
        policies: results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The combinations of states, enumerated (the definition of Rule 2.3).
    fn brute_force(any: bool, states: &[Vec<u8>]) -> EffectSet {
        let mut set = EffectSet::default();
        let mut idx = vec![0usize; states.len()];
        loop {
            let pick: Vec<u8> = idx.iter().zip(states).map(|(i, s)| s[*i]).collect();
            set.insert(if any {
                if pick.contains(&0) {
                    Effect::Success
                } else if pick.contains(&1) {
                    Effect::Interrupted
                } else {
                    Effect::Failure
                }
            } else if pick.iter().all(|x| *x == 0) {
                Effect::Success
            } else if pick.contains(&2) {
                Effect::Failure
            } else {
                Effect::Interrupted
            });
            let mut k = 0;
            loop {
                if k == idx.len() {
                    return set;
                }
                idx[k] += 1;
                if idx[k] < states[k].len() {
                    break;
                }
                idx[k] = 0;
                k += 1;
            }
        }
    }

    #[test]
    fn grant_effects_equal_the_enumerated_combinations() {
        let tris = [Tri::Yes, Tri::No, Tri::Unknown];
        let all: Vec<Control> = tris
            .iter()
            .flat_map(|a| {
                tris.iter().map(move |b| Control {
                    name: "mfa".into(),
                    satisfied: *a,
                    satisfiable: *b,
                })
            })
            .collect();
        for n in 1..=3u32 {
            for code in 0..all.len().pow(n) {
                let mut rest = code;
                let controls: Vec<Control> = (0..n)
                    .map(|_| {
                        let c = &all[rest % all.len()];
                        rest /= all.len();
                        Control {
                            name: c.name.clone(),
                            satisfied: c.satisfied,
                            satisfiable: c.satisfiable,
                        }
                    })
                    .collect();
                let states: Vec<Vec<u8>> = controls.iter().map(control_states).collect();
                for any in [false, true] {
                    let g = GrantControls {
                        any,
                        built_in: vec!["mfa".into(); controls.len()],
                        ..GrantControls::default()
                    };
                    assert_eq!(
                        grant_effects(&g, &controls),
                        brute_force(any, &states),
                        "any={any} states={states:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn many_controls_do_not_take_exponential_time() {
        let controls: Vec<Control> = (0..64)
            .map(|i| Control {
                name: format!("custom{i}"),
                satisfied: Tri::Unknown,
                satisfiable: Tri::Unknown,
            })
            .collect();
        let g = GrantControls {
            any: false,
            built_in: controls.iter().map(|c| c.name.clone()).collect(),
            ..GrantControls::default()
        };
        let set = grant_effects(&g, &controls);
        assert_eq!(set.iter().count(), 3);
    }
}
