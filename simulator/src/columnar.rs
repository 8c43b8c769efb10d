//! `vigil simulate` over normalized Parquet ([`crate::table`]), for tens of millions of
//! sign-ins. It writes exactly what [`simulate::run`] writes for the same sign-ins (the
//! `distinctKeys` count aside, which counts the keys below); `tests/columnar.rs` holds both
//! paths to that.
//!
//! Sign-ins repeat: the same users, apps, clients, platforms, locations, risk levels and devices
//! come back again and again. Evaluation therefore works on keys, never on rows:
//!
//! 1. **Classes.** Each column evaluation reads is reduced, value by value (not row by row), to
//!    what the policies can tell apart: a user id to "equal to a user some policy lists (which)"
//!    or "another user", with the groups and roles of the directory snapshot that policies name;
//!    an IP address to the set of IP named locations containing it; an app id to the listed or
//!    well-known app it is, or "another app"; an operating system to its platform unless a
//!    device filter reads the raw value. Every other column keeps its value (codes of the
//!    Parquet dictionary). A row's key is the tuple of its classes.
//! 2. **Keys, once.** Rows are hashed to keys (in parallel); each new key is evaluated against
//!    each policy on the columns that policy reads (its mask, derived from which conditions and
//!    controls it has), so a policy is evaluated once per distinct projection, and the
//!    per-policy results of a key combine into a *side* (status, controls, results). The users
//!    and applications conditions are answered once per distinct user (or app) and policy, and
//!    a policy's projection keeps only the answer ([`Sub`]): a policy that excludes three
//!    groups tells users apart by those three groups, not by every group any policy names.
//! 3. **Rows.** Per row only the key's side is looked up: counts go per key × multiplicity,
//!    transitions and changes per row, decisions are written for the rows the filter keeps.
//!    A side's JSON is assembled from per-policy pieces made once.
//!
//! Reasons are text and must be the row's own: the only row value the classes drop that a
//! reason can show is the IP address of a row an IP named location matched (by its ranges, or
//! by the log's network names), so such rows get their location-reading policies evaluated
//! again on the row itself (once per policy result and address).
//!
//! Three threads share the work: [`TableFile::batches`] reads and encodes the next batch while
//! this one is replayed (itself on every core), and the decision files are written on a third.
//!
//! The classes mirror `eval.rs` field by field (see [`mask`] and [`Canon`]): a change to what
//! evaluation reads must be made here too; `tests/columnar.rs` compares both paths on varied
//! generated data to catch a miss.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::breakdown::{ChangeTally, Dim, ImpactClass, ImpactTally, PolicyImpact, STATUSES};
use crate::decisions::{ParquetSink, PolicyText, RowIds, SideCols};
use crate::eval::{self, Context, PolicyResult};
use crate::model::{
    ClientAppType, Directory, DirectoryUser, NamedLocation, NamedLocationKind, Policy, SignIn, Tri,
};
use crate::signin::SeenIds;
use crate::simulate::{
    self, Baseline, DecisionsFilter, Inputs, Side, SideCounts, SimulateError, Summary,
};
use crate::table::{self, Batch, Col, Dict, ListCodes, NULL, TableFile, Texts};

/// Rows read and processed together (whole row groups).
const BATCH_ROWS: usize = 1 << 18;
/// Rows hashed by one task.
const CHUNK_ROWS: usize = 1 << 16;

// ---------------------------------------------------------------------------------------------
// A fast hash for small integer tuples (the standard SipHash costs more than the lookup).
// ---------------------------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

// ---------------------------------------------------------------------------------------------
// Key columns and their classes
// ---------------------------------------------------------------------------------------------

/// The columns evaluation reads, in key order.
const KEYS: [Col; NK] = [
    Col::SignInKind,
    Col::ErrorCode,
    Col::UserId,
    Col::UserPrincipalName,
    Col::UserType,
    Col::HomeTenantId,
    Col::ResourceTenantId,
    Col::AppOwnerTenantId,
    Col::CrossTenantAccessType,
    Col::ServicePrincipalId,
    Col::ServicePrincipalRiskLevel,
    Col::AppId,
    Col::ResourceId,
    Col::IpAddress,
    Col::Country,
    Col::NetworkNames,
    Col::TrustedNetwork,
    Col::ClientAppUsed,
    Col::OperatingSystem,
    Col::DeviceId,
    Col::DeviceDisplayName,
    Col::DeviceCompliant,
    Col::DeviceManaged,
    Col::DeviceTrustType,
    Col::AuthenticationProtocol,
    Col::OriginalTransferMethod,
    Col::SignInRiskLevel,
    Col::UserRiskLevel,
    Col::MfaSatisfied,
    Col::AuthenticationMethods,
    Col::IsInteractive,
    Col::ClientCredentialType,
    Col::PrimaryAuthFresh,
    Col::AuthenticationContexts,
];
const NK: usize = 34;

/// A row's key: one class per key column.
type Key = [u32; NK];

/// A key in a hash map: hashed two classes at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Packed(Key);

impl std::hash::Hash for Packed {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for pair in self.0.chunks(2) {
            let hi = pair.get(1).copied().unwrap_or(0);
            h.write_u64(u64::from(pair[0]) | (u64::from(hi) << 32));
        }
    }
}

/// Marks a chunk-local key id (a key not in the global map yet).
const NEW: u32 = 1 << 31;

fn key_index(c: Col) -> usize {
    KEYS.iter().position(|k| *k == c).unwrap_or(0)
}

/// How a column's values are reduced to classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Canon {
    /// Evaluation may read the value itself.
    Identity,
    /// No policy reads the column: one class.
    Constant,
    /// Only whether the value is there (a device id or name for the unregistered-device rule).
    Presence,
    /// User id: which listed user (ids compared without ASCII case), and the directory entry's
    /// named groups and roles.
    UserId,
    /// UPN: only the directory entry it leads to.
    Upn,
    /// Service principal id: which listed service principal.
    ServicePrincipal,
    /// App or resource id: which listed or well-known application.
    App,
    /// IP address: parsed or not, and the IP named locations containing it.
    Ip,
    /// Operating system: its platform.
    Platform,
    /// User risk level, or (when the log has none) the `--user-risk` snapshot's level at the
    /// sign-in's time, which is per row.
    UserRiskSnapshot,
    /// Error code: evaluation reads only whether primary authentication completed, and names
    /// the code in its reasons unless it did; so every code that shows it did is one class.
    ErrorCode,
}

/// Everything that decides classes.
struct Env<'a> {
    canon: [Canon; NK],
    users: HashSet<String>,
    service_principals: HashSet<String>,
    apps: HashSet<String>,
    groups: BTreeSet<&'a str>,
    roles: BTreeSet<&'a str>,
    directory: Option<&'a Directory>,
    ip_locations: Vec<&'a NamedLocation>,
    user_risk: Option<&'a crate::snapshots::UserRisk>,
}

impl<'a> Env<'a> {
    fn new(inputs: &Inputs<'a>, sets: &[&'a [Policy]], filters: &[BTreeSet<String>]) -> Env<'a> {
        let mut users = HashSet::new();
        let mut sps = HashSet::new();
        let mut apps: HashSet<String> = eval::OFFICE365_APPS
            .iter()
            .chain(eval::ADMIN_PORTAL_APPS)
            .chain(eval::SECURITY_INFO_APPS)
            .chain([&eval::DEVICE_REGISTRATION_APP])
            .map(|a| a.to_ascii_lowercase())
            .collect();
        let mut groups = BTreeSet::new();
        let mut roles = BTreeSet::new();
        for p in sets.iter().flat_map(|s| s.iter()) {
            if let Some(u) = &p.users {
                for id in u.users.include.iter().chain(&u.users.exclude) {
                    users.insert(id.to_ascii_lowercase());
                }
                groups.extend(
                    u.groups
                        .include
                        .iter()
                        .chain(&u.groups.exclude)
                        .map(String::as_str),
                );
                roles.extend(
                    u.roles
                        .include
                        .iter()
                        .chain(&u.roles.exclude)
                        .map(String::as_str),
                );
            }
            if let Some(c) = &p.client_applications {
                for id in c
                    .service_principals
                    .include
                    .iter()
                    .chain(&c.service_principals.exclude)
                {
                    sps.insert(id.to_ascii_lowercase());
                }
            }
            if let Some(a) = &p.applications {
                for id in a.apps.include.iter().chain(&a.apps.exclude) {
                    apps.insert(id.to_ascii_lowercase());
                }
            }
        }
        let any_filter = sets
            .iter()
            .flat_map(|s| s.iter())
            .any(|p| p.device_filter.is_some());
        // Whether a device is registered (a device filter, or compliantDevice on an unregistered
        // device) reads the presence of the id and of the rest of deviceDetail.
        let registration = any_filter
            || sets.iter().flat_map(|s| s.iter()).any(|p| {
                p.grant.as_ref().is_some_and(|g| {
                    g.built_in
                        .iter()
                        .any(|c| c.eq_ignore_ascii_case("compliantDevice"))
                })
            });
        let reads = |attr: &str| filters.iter().any(|f| f.contains(attr));
        let snapshot_devices = inputs.devices.is_some() && any_filter;
        let mut canon = [Canon::Identity; NK];
        for (j, c) in KEYS.iter().enumerate() {
            canon[j] = match c {
                Col::UserId => Canon::UserId,
                Col::UserPrincipalName => Canon::Upn,
                Col::ServicePrincipalId => Canon::ServicePrincipal,
                Col::AppId | Col::ResourceId => Canon::App,
                Col::IpAddress => Canon::Ip,
                Col::OperatingSystem if reads("operatingsystem") || snapshot_devices => {
                    Canon::Identity
                }
                Col::OperatingSystem => Canon::Platform,
                Col::DeviceId if reads("deviceid") || snapshot_devices => Canon::Identity,
                Col::DeviceDisplayName if reads("displayname") || snapshot_devices => {
                    Canon::Identity
                }
                Col::DeviceManaged if snapshot_devices || registration => Canon::Identity,
                // A device the log shows without an id is unregistered (eval::device_condition,
                // compliantDevice), which only needs the id's and name's presence.
                Col::DeviceId | Col::DeviceDisplayName if registration => Canon::Presence,
                Col::DeviceId | Col::DeviceDisplayName | Col::DeviceManaged => Canon::Constant,
                Col::UserRiskLevel if inputs.user_risk.is_some() => Canon::UserRiskSnapshot,
                Col::ErrorCode => Canon::ErrorCode,
                _ => Canon::Identity,
            };
        }
        Env {
            canon,
            users,
            service_principals: sps,
            apps,
            groups,
            roles,
            directory: inputs.directory,
            ip_locations: inputs
                .locations
                .iter()
                .filter(|l| matches!(l.kind, NamedLocationKind::Ip { .. }))
                .collect(),
            user_risk: inputs.user_risk,
        }
    }

    fn dir_sig(&self, user: Option<&DirectoryUser>) -> String {
        match (self.directory, user) {
            (None, _) => String::new(),
            (Some(_), None) => "\u{1}absent".into(),
            (Some(_), Some(u)) => {
                // The user type stands in for a missing log userType (eval::external_type).
                let mut sig = format!("\u{1}in{}", u.user_type.as_deref().unwrap_or("\u{5}"));
                for g in self.groups.iter().filter(|g| u.groups.contains(**g)) {
                    sig.push('\u{2}');
                    sig.push_str(g);
                }
                sig.push('\u{3}');
                for r in self.roles.iter().filter(|r| u.roles.contains(**r)) {
                    sig.push('\u{2}');
                    sig.push_str(r);
                }
                sig
            }
        }
    }

    /// The class signature of a (non-null) value, and whether it is a matched IP.
    fn sig(&self, canon: Canon, v: &str) -> (String, bool) {
        let listed = |set: &HashSet<String>| {
            let l = v.to_ascii_lowercase();
            if set.contains(&l) {
                l
            } else {
                "\u{0}other".into()
            }
        };
        match canon {
            Canon::Identity | Canon::UserRiskSnapshot | Canon::ErrorCode => (v.to_string(), false),
            Canon::Constant | Canon::Presence => (String::new(), false),
            Canon::UserId => {
                let dir = self
                    .directory
                    .map(|d| self.dir_sig(d.users.get(v)))
                    .unwrap_or_default();
                (format!("{}\u{4}{dir}", listed(&self.users)), false)
            }
            Canon::Upn => {
                let dir = self
                    .directory
                    .map(|d| {
                        self.dir_sig(
                            d.by_upn
                                .get(&v.to_lowercase())
                                .and_then(|id| d.users.get(id)),
                        )
                    })
                    .unwrap_or_default();
                (dir, false)
            }
            Canon::ServicePrincipal => (listed(&self.service_principals), false),
            Canon::App => (listed(&self.apps), false),
            Canon::Ip => match v.trim().parse::<IpAddr>() {
                Err(_) => ("\u{0}unparsed".into(), false),
                Ok(ip) => {
                    let bits: String = self
                        .ip_locations
                        .iter()
                        .map(|l| if l.matches_ip(&ip) { '1' } else { '0' })
                        .collect();
                    let matched = bits.contains('1');
                    (bits, matched)
                }
            },
            Canon::Platform => {
                let s = SignIn {
                    operating_system: Some(v.to_string()),
                    ..SignIn::default()
                };
                (format!("{:?}", eval::platform(&s)), false)
            }
        }
    }
}

/// One batch's raw values of a column.
enum Raw<'a> {
    Codes(Cow<'a, table::Codes>),
    List(Cow<'a, ListCodes>),
    Flags(Vec<Option<bool>>),
    Ints(Vec<Option<i64>>),
    Absent,
}

fn fetch<'a>(b: &'a Batch, c: Col) -> Result<Raw<'a>, crate::error::InputError> {
    Ok(match c.kind() {
        table::Kind::Category => Raw::Codes(b.codes(c)?),
        table::Kind::CategoryList => Raw::List(b.list_codes(c)?),
        table::Kind::Flag => Raw::Flags(b.flags(c)?),
        table::Kind::Int => Raw::Ints(b.ints(c)?),
        table::Kind::Text | table::Kind::Float => Raw::Absent,
    })
}

const UNSET: u32 = u32::MAX;

/// The classes of one key column, kept across batches.
struct Classes {
    canon: Canon,
    /// The dictionary `by_code` and `by_list` refer to.
    dict: Option<Dict>,
    by_code: Vec<u32>,
    by_list: FxMap<Box<[u32]>, u32>,
    sigs: HashMap<String, u32>,
    ints: FxMap<i64, u32>,
    /// Per class: an IP named location contains the address.
    matched: Vec<bool>,
}

impl Classes {
    fn new(canon: Canon) -> Classes {
        Classes {
            canon,
            dict: None,
            by_code: Vec::new(),
            by_list: FxMap::default(),
            sigs: HashMap::new(),
            ints: FxMap::default(),
            matched: vec![false],
        }
    }

    fn intern(&mut self, sig: String, matched: bool) -> u32 {
        let next = u32::try_from(self.sigs.len() + 1).unwrap_or(UNSET);
        let id = *self.sigs.entry(sig).or_insert(next);
        if id == next {
            self.matched.push(matched);
        }
        id
    }

    fn use_dict(&mut self, dict: &Dict) {
        if !self.dict.as_ref().is_some_and(|d| d.same(dict)) {
            self.dict = Some(dict.clone());
            self.by_code.clear();
            self.by_list.clear();
        }
        if self.by_code.len() < dict.len() {
            self.by_code.resize(dict.len(), UNSET);
        }
    }

    /// Class per row (None: every row is class 0).
    fn assign(&mut self, env: &Env, raw: &Raw, risk: Option<&RiskInputs>) -> Option<Vec<u32>> {
        if self.canon == Canon::Constant {
            return None;
        }
        Some(match raw {
            Raw::Absent => return None,
            Raw::Codes(c) => {
                self.use_dict(&c.dict);
                let mut out = Vec::with_capacity(c.codes.len());
                for (i, &code) in c.codes.iter().enumerate() {
                    if code == NULL {
                        let class = match (self.canon, risk) {
                            (Canon::UserRiskSnapshot, Some(r)) => {
                                let level = r.level(env, i);
                                self.intern(format!("\u{0}snapshot:{level:?}"), false)
                            }
                            _ => 0,
                        };
                        out.push(class);
                        continue;
                    }
                    let slot = self.by_code[code as usize];
                    let class = if slot != UNSET {
                        slot
                    } else {
                        let (sig, matched) = env.sig(self.canon, c.dict.get(code));
                        let class = self.intern(sig, matched);
                        self.by_code[code as usize] = class;
                        class
                    };
                    out.push(class);
                }
                out
            }
            Raw::List(l) => {
                self.use_dict(&l.dict);
                let mut out = Vec::with_capacity(l.valid.len());
                for i in 0..l.valid.len() {
                    let Some(items) = l.row(i) else {
                        out.push(0);
                        continue;
                    };
                    let class = match self.by_list.get(items) {
                        Some(c) => *c,
                        None => {
                            let mut sig = String::from("[");
                            for x in items {
                                sig.push_str(l.dict.get(*x));
                                sig.push('\u{1}');
                            }
                            // A network name that is an IP location's name makes that location
                            // match whatever the address (and its reason shows the address).
                            let names_ip_location = items.iter().any(|x| {
                                let name = l.dict.get(*x);
                                env.ip_locations
                                    .iter()
                                    .any(|loc| loc.display_name.eq_ignore_ascii_case(name))
                            });
                            let class = self.intern(sig, names_ip_location);
                            self.by_list.insert(items.into(), class);
                            class
                        }
                    };
                    out.push(class);
                }
                out
            }
            Raw::Flags(v) => v
                .iter()
                .map(|f| match f {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                })
                .collect(),
            Raw::Ints(v) => {
                let mut out = Vec::with_capacity(v.len());
                let mut last: Option<(i64, u32)> = None;
                for x in v {
                    out.push(match x {
                        None => 0,
                        Some(x) => match last {
                            Some((l, class)) if l == *x => class,
                            _ => {
                                let value = if self.canon == Canon::ErrorCode
                                    && crate::codes::primary_auth_completed(*x) == Tri::Yes
                                {
                                    i64::MIN
                                } else {
                                    *x
                                };
                                let next = u32::try_from(self.ints.len() + 1).unwrap_or(UNSET);
                                let class = *self.ints.entry(value).or_insert(next);
                                last = Some((*x, class));
                                class
                            }
                        },
                    });
                }
                out
            }
        })
    }
}

/// What the `--user-risk` snapshot needs of a row.
struct RiskInputs<'a> {
    user: &'a Raw<'a>,
    upn: &'a Raw<'a>,
    created: &'a Texts,
}

impl RiskInputs<'_> {
    fn level(&self, env: &Env, i: usize) -> Option<&'static str> {
        let text = |raw: &Raw| match raw {
            Raw::Codes(c) if c.codes[i] != NULL => Some(c.dict.get(c.codes[i]).to_string()),
            _ => None,
        };
        let s = SignIn {
            user_id: text(self.user),
            user_principal_name: text(self.upn),
            created_date_time: self.created.get(i).unwrap_or_default().to_string(),
            ..SignIn::default()
        };
        env.user_risk.and_then(|r| r.level_for_signin(&s))
    }
}

// ---------------------------------------------------------------------------------------------
// Policy masks
// ---------------------------------------------------------------------------------------------

/// The key columns `eval::evaluate_policy` can read for this policy (a superset is harmless, a
/// missing column is a bug). Mirrors eval.rs condition by condition.
fn mask(p: &Policy) -> Key {
    let mut m = [0u32; NK];
    if p.state == crate::model::PolicyState::Disabled {
        return m;
    }
    let mut read = |c: Col| m[key_index(c)] = u32::MAX;
    // Primary authentication and the kind of identity (workload_kind).
    for c in [
        Col::ErrorCode,
        Col::SignInKind,
        Col::UserId,
        Col::UserPrincipalName,
        Col::ServicePrincipalId,
    ] {
        read(c);
    }
    if p.client_applications.is_some() {
        read(Col::ServicePrincipalRiskLevel);
        // ServicePrincipalsInMyTenant (eval::service_principal_listed).
        read(Col::AppOwnerTenantId);
        read(Col::ResourceTenantId);
    }
    let is_all = |ids: &[String]| ids.first().is_some_and(|x| x.eq_ignore_ascii_case("All"));
    if let Some(u) = &p.users {
        // Only guest and external user selections read the user's type and tenants.
        let guests = u.include_guests.is_some()
            || u.exclude_guests.is_some()
            || u.users
                .include
                .iter()
                .chain(&u.users.exclude)
                .any(|x| x.eq_ignore_ascii_case("GuestsOrExternalUsers"));
        if guests {
            for c in [
                Col::UserType,
                Col::HomeTenantId,
                Col::ResourceTenantId,
                Col::CrossTenantAccessType,
            ] {
                read(c);
            }
        }
    }
    if !p.client_app_types.is_empty() && !p.client_app_types.contains(&ClientAppType::All) {
        read(Col::ClientAppUsed);
        // easSupported depends on the platform.
        read(Col::OperatingSystem);
    }
    if p.platforms.is_some() {
        read(Col::OperatingSystem);
    }
    if !p.sign_in_risk_levels.is_empty() {
        read(Col::SignInRiskLevel);
    }
    if !p.user_risk_levels.is_empty() {
        read(Col::UserRiskLevel);
    }
    if p.device_filter.is_some() {
        for c in [
            Col::DeviceId,
            Col::DeviceDisplayName,
            Col::OperatingSystem,
            Col::DeviceCompliant,
            Col::DeviceManaged,
            Col::DeviceTrustType,
        ] {
            read(c);
        }
    }
    if !p.transfer_methods.is_empty() {
        read(Col::OriginalTransferMethod);
        read(Col::AuthenticationProtocol);
    }
    // "All" first, no exclusion: the condition holds, with the same reason, whatever the app.
    if let Some(a) = &p.applications
        && !(is_all(&a.apps.include)
            && a.apps.exclude.is_empty()
            && a.user_actions.is_empty()
            && a.filter.is_none())
    {
        read(Col::AppId);
        read(Col::ResourceId);
        read(Col::AuthenticationContexts);
    }
    // Likewise for locations.
    if let Some(l) = &p.locations
        && !(is_all(&l.include) && l.exclude.is_empty())
    {
        for c in [
            Col::IpAddress,
            Col::Country,
            Col::NetworkNames,
            Col::TrustedNetwork,
        ] {
            read(c);
        }
    }
    if let Some(g) = &p.grant {
        // Whether a prompt can be answered depends on the client (legacy clients cannot).
        read(Col::ClientAppUsed);
        for c in &g.built_in {
            match c.to_ascii_lowercase().as_str() {
                "mfa" => read(Col::MfaSatisfied),
                "compliantdevice" => {
                    // Unregistered devices (eval::device_detail_present).
                    for c in [
                        Col::DeviceCompliant,
                        Col::DeviceId,
                        Col::DeviceDisplayName,
                        Col::OperatingSystem,
                        Col::DeviceManaged,
                        Col::DeviceTrustType,
                    ] {
                        read(c);
                    }
                }
                "domainjoineddevice" => {
                    read(Col::DeviceTrustType);
                    // Not with device code flow (eval::device_code_flow).
                    read(Col::OriginalTransferMethod);
                    read(Col::AuthenticationProtocol);
                }
                "approvedapplication" | "compliantapplication" => read(Col::OperatingSystem),
                _ => {}
            }
        }
        if g.authentication_strength.is_some() {
            read(Col::MfaSatisfied);
            read(Col::AuthenticationMethods);
        }
    }
    if p.session
        .as_ref()
        .is_some_and(|x| x.sign_in_frequency.is_some())
    {
        // Sign-in frequency (eval::every_time_satisfied).
        for c in [
            Col::SignInKind,
            Col::IsInteractive,
            Col::PrimaryAuthFresh,
            Col::ClientAppUsed,
            Col::ClientCredentialType,
        ] {
            read(c);
        }
    }
    m
}

fn project(key: &Key, mask: &Key) -> Key {
    let mut out = [0u32; NK];
    for j in 0..NK {
        out[j] = key[j] & mask[j];
    }
    out
}

/// Which condition a [`Sub`] stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SubKind {
    /// The users condition (users, groups, roles, guests), and whether the log names a user
    /// (the kind of identity of a record without one depends on it).
    Users,
    /// The applications condition.
    Apps,
}

/// One condition of one policy, answered once per distinct value of the columns it reads:
/// in the policy's cache key those columns count only through the answer (with its reason),
/// since evaluation reads them nowhere else. A policy with `All` users and three excluded
/// groups then tells users apart by three groups, not by every group any policy names.
struct Sub {
    kind: SubKind,
    /// Which [`SubInputs`] set holds its columns' values.
    input: usize,
    /// Per input id: the answer's id ([`UNSET`] until first needed).
    by_input: Vec<u32>,
    /// Answer and reason → id.
    answers: HashMap<(Tri, String), u32>,
}

impl Sub {
    /// The answer's id for input `x` (evaluated on row `rep` the first time).
    fn answer(
        &mut self,
        p: &Policy,
        ctx: &Context,
        x: u32,
        presence: u8,
        rows: &Rows,
        rep: usize,
    ) -> u32 {
        let x = x as usize;
        if self.by_input.len() <= x {
            self.by_input.resize(x + 1, UNSET);
        }
        if self.by_input[x] != UNSET {
            return self.by_input[x];
        }
        let s = rows.signin(rep);
        let answer = match self.kind {
            SubKind::Users => eval::users_verdict(p, &s, ctx),
            SubKind::Apps => eval::apps_verdict(p, &s),
        };
        let next = u32::try_from(self.answers.len()).unwrap_or(UNSET);
        let mut id = *self.answers.entry(answer).or_insert(next);
        if self.kind == SubKind::Users {
            // The kind of identity of a record that does not say reads whether it names a user.
            id = id * 4 + u32::from(presence);
        }
        self.by_input[x] = id;
        id
    }
}

/// A set of key columns read together by sub-conditions, and ids for their values.
struct SubInputs {
    cols: Vec<usize>,
    ids: FxMap<[u32; SUB_COLS], u32>,
    /// Per id: user id present (bit 0), UPN present (bit 1).
    presence: Vec<u8>,
}

const SUB_COLS: usize = 6;

/// How a policy set's results are cached: per policy, a small key of the id of the projection
/// on the columns it reads other than those of its sub-conditions (policies reading the same
/// columns share these ids), and its sub-conditions' answers.
struct Shape {
    /// Distinct residual masks and, per mask, projection → id.
    residuals: Vec<(Key, Residual)>,
    inputs: Vec<SubInputs>,
    /// Per policy: its residual mask.
    residual_of: Vec<usize>,
    /// Per policy: its sub-conditions.
    subs: Vec<Vec<Sub>>,
}

impl Shape {
    fn new(policies: &[Policy], masks: &[Key]) -> Shape {
        let mut shape = Shape {
            residuals: Vec::new(),
            inputs: Vec::new(),
            residual_of: Vec::new(),
            subs: Vec::new(),
        };
        for (p, m) in policies.iter().zip(masks) {
            let reads = |c: Col| m[key_index(c)] != 0;
            let mut residual = *m;
            let mut subs = Vec::new();
            let mut add = |kind: SubKind, cols: Vec<usize>, residual: &mut Key| {
                for c in &cols {
                    residual[*c] = 0;
                }
                let input = match shape.inputs.iter().position(|x| x.cols == cols) {
                    Some(i) => i,
                    None => {
                        shape.inputs.push(SubInputs {
                            cols,
                            ids: FxMap::default(),
                            presence: Vec::new(),
                        });
                        shape.inputs.len() - 1
                    }
                };
                subs.push(Sub {
                    kind,
                    input,
                    by_input: Vec::new(),
                    answers: HashMap::new(),
                });
            };
            if reads(Col::UserId) {
                let mut cols = vec![key_index(Col::UserId), key_index(Col::UserPrincipalName)];
                cols.extend(
                    [
                        Col::UserType,
                        Col::HomeTenantId,
                        Col::ResourceTenantId,
                        Col::CrossTenantAccessType,
                    ]
                    .into_iter()
                    .filter(|c| reads(*c))
                    .map(key_index),
                );
                add(SubKind::Users, cols, &mut residual);
                // The service principal condition (ServicePrincipalsInMyTenant) reads the
                // resource tenant too: it stays in the residual for that condition.
                if p.client_applications.is_some() {
                    let r = key_index(Col::ResourceTenantId);
                    residual[r] = m[r];
                }
            }
            if p.applications.is_some() && reads(Col::AppId) {
                add(
                    SubKind::Apps,
                    vec![key_index(Col::AppId), key_index(Col::ResourceId)],
                    &mut residual,
                );
            }
            let r = match shape.residuals.iter().position(|(x, _)| *x == residual) {
                Some(r) => r,
                None => {
                    shape.residuals.push((residual, Residual::new(&residual)));
                    shape.residuals.len() - 1
                }
            };
            shape.residual_of.push(r);
            shape.subs.push(subs);
        }
        shape
    }
}

/// Ids of the projections of keys on one residual mask.
enum Residual {
    /// At most [`NARROW`] columns: their classes packed two to a word.
    Narrow(Vec<usize>, FxMap<[u64; NARROW / 2], u32>),
    Wide(Key, FxMap<Packed, u32>),
}

const NARROW: usize = 16;

impl Residual {
    fn new(mask: &Key) -> Residual {
        let cols: Vec<usize> = (0..NK).filter(|j| mask[*j] != 0).collect();
        if cols.len() <= NARROW {
            Residual::Narrow(cols, FxMap::default())
        } else {
            Residual::Wide(*mask, FxMap::default())
        }
    }

    fn id(&mut self, key: &Key) -> u32 {
        match self {
            Residual::Narrow(cols, ids) => {
                let mut packed = [0u64; NARROW / 2];
                for (x, c) in cols.iter().enumerate() {
                    packed[x / 2] |= u64::from(key[*c]) << (32 * (x % 2));
                }
                let next = u32::try_from(ids.len()).unwrap_or(UNSET);
                *ids.entry(packed).or_insert(next)
            }
            Residual::Wide(mask, ids) => {
                let next = u32::try_from(ids.len()).unwrap_or(UNSET);
                *ids.entry(Packed(project(key, mask))).or_insert(next)
            }
        }
    }
}

/// A policy's cache key: residual projection id, then its sub-conditions' answers.
type SmallKey = [u32; 3];

// ---------------------------------------------------------------------------------------------
// Sides
// ---------------------------------------------------------------------------------------------

fn status_index(s: &str) -> u8 {
    match s {
        "notApplied" => 0,
        "success" => 1,
        "interrupted" => 2,
        "failure" => 3,
        _ => 4,
    }
}

/// A side's status and controls, and its JSON up to the per-policy results:
/// `{"status":…,"controls":[…],"policies":` (the side's JSON continues with the `policies`
/// JSON and `}`, exactly as `serde_json` writes a [`Side`]).
struct Head {
    status: String,
    controls: Vec<String>,
    json: String,
}

impl Head {
    fn new(status: &str, controls: &[String]) -> Arc<Head> {
        let mut json = String::from("{\"status\":");
        json.push_str(&serde_json::to_string(status).unwrap_or_default());
        json.push_str(",\"controls\":");
        json.push_str(&serde_json::to_string(controls).unwrap_or_default());
        json.push_str(",\"policies\":");
        Arc::new(Head {
            status: status.to_string(),
            controls: controls.to_vec(),
            json,
        })
    }
}

/// A whole side ready to write: its head and its `policies` JSON.
#[derive(Clone)]
struct SideText {
    head: Arc<Head>,
    policies: Arc<str>,
}

impl SideText {
    fn new(side: &Side) -> SideText {
        SideText {
            head: Head::new(&side.status, &side.controls),
            policies: serde_json::to_string(&side.policies)
                .unwrap_or_default()
                .into(),
        }
    }
}

/// The JSON of one policy's result in a side's `policies` (a [`simulate::PolicyRow`]).
fn policy_json(p: &Policy, r: &PolicyResult) -> Arc<str> {
    serde_json::to_string(&simulate::PolicyRow {
        id: p.id.clone(),
        display_name: p.display_name.clone(),
        state: p.state.as_str().to_string(),
        result: r.result.to_string(),
        reasons: r.reasons.clone(),
    })
    .unwrap_or_default()
    .into()
}

/// Rows of the current batch, to evaluate on.
struct Rows<'a> {
    raws: &'a [Raw<'a>],
    created: Option<&'a Texts>,
    ca_status: &'a Raw<'a>,
    applied: &'a Raw<'a>,
}

impl Rows<'_> {
    /// Row `i` with every field evaluation reads.
    fn signin(&self, i: usize) -> SignIn {
        self.fill(i, false)
    }

    /// Row `i` with every field evaluation and the logged baseline read.
    fn logged_signin(&self, i: usize) -> SignIn {
        self.fill(i, true)
    }

    fn fill(&self, i: usize, logged: bool) -> SignIn {
        let mut s = SignIn::default();
        let put = |c: Col, raw: &Raw, s: &mut SignIn| match raw {
            Raw::Codes(codes) => {
                let code = codes.codes[i];
                if code == NULL {
                    return;
                }
                let text = codes.dict.get(code);
                if c == Col::AppliedPolicies {
                    s.applied_policies = table::parse_applied(text).ok();
                } else {
                    table::set_text(s, c, Some(text.to_string()));
                }
            }
            Raw::List(l) => table::set_list(
                s,
                c,
                l.row(i)
                    .map(|items| items.iter().map(|x| l.dict.get(*x).to_string()).collect()),
            ),
            Raw::Flags(v) => table::set_flag(s, c, v[i]),
            Raw::Ints(v) => s.error_code = v[i],
            Raw::Absent => {}
        };
        for (c, raw) in KEYS.iter().zip(self.raws) {
            put(*c, raw, &mut s);
        }
        if logged {
            // Parsing the logged policy list is costly, and evaluation never reads it.
            put(Col::ConditionalAccessStatus, self.ca_status, &mut s);
            put(Col::AppliedPolicies, self.applied, &mut s);
        }
        if let Some(t) = self.created {
            s.created_date_time = t.get(i).unwrap_or_default().to_string();
        }
        s
    }
}

/// One policy's result ids for new keys, and the projections it has not seen (with a key that
/// has each).
type Lookup = (Vec<u32>, Vec<(SmallKey, usize)>);

/// One policy set (candidate or baseline) evaluated per key.
struct PolicySet<'a> {
    policies: &'a [Policy],
    ctx: &'a Context<'a>,
    /// How results are cached.
    shape: Shape,
    reads_ip: Vec<bool>,
    /// Per policy: cache key → result index.
    caches: Vec<FxMap<SmallKey, u32>>,
    /// Per policy: results.
    results: Vec<Vec<PolicyResult>>,
    /// Per side: one result index per policy.
    side_results: Vec<Box<[u32]>>,
    sides: FxMap<Box<[u32]>, u32>,
    side_status: Vec<u8>,
    /// Per key: its side.
    key_side: Vec<u32>,
    /// Per policy, per result: its JSON (made when first written).
    frags: Vec<Vec<Option<Arc<str>>>>,
    /// Per side: its head (made when first written).
    heads: Vec<Option<Arc<Head>>>,
    /// Per side: its `policies` JSON (made when first written).
    side_policies: Vec<Option<Arc<str>>>,
    /// A policy's result on rows whose IP address a location matched, whose reasons show the
    /// address: (policy, result, address code) → JSON.
    ip_frags: FxMap<(u32, u32, u32), Arc<str>>,
    /// The `policies` JSON of a side on rows with an address code as above, as its policies'
    /// parts: (side, address code) → parts, so that such rows share one value (emptied past
    /// [`IP_SIDES_BYTES`]).
    ip_sides: FxMap<(u32, u32), Arc<[Arc<str>]>>,
    ip_sides_bytes: usize,
}

/// The texts [`PolicySet::ip_sides`] holds at most.
const IP_SIDES_BYTES: usize = 128 << 20;

impl<'a> PolicySet<'a> {
    fn new(policies: &'a [Policy], ctx: &'a Context<'a>) -> PolicySet<'a> {
        let masks: Vec<Key> = policies.iter().map(mask).collect();
        let ip = key_index(Col::IpAddress);
        PolicySet {
            policies,
            ctx,
            reads_ip: masks.iter().map(|m| m[ip] != 0).collect(),
            shape: Shape::new(policies, &masks),
            caches: policies.iter().map(|_| FxMap::default()).collect(),
            results: policies.iter().map(|_| Vec::new()).collect(),
            side_results: Vec::new(),
            sides: FxMap::default(),
            side_status: Vec::new(),
            key_side: Vec::new(),
            frags: policies.iter().map(|_| Vec::new()).collect(),
            heads: Vec::new(),
            side_policies: Vec::new(),
            ip_frags: FxMap::default(),
            ip_sides: FxMap::default(),
            ip_sides_bytes: 0,
        }
    }

    /// Evaluates keys `keys` (new, in id order) on their representative rows.
    fn add_keys(&mut self, keys: &[Key], reps: &[usize], rows: &Rows) {
        let n = keys.len();
        let ctx = self.ctx;
        // 1. Ids of the keys' projections on each residual mask and of their sub-condition
        //    inputs (shared by every policy that reads the same columns).
        let rids: Vec<Vec<u32>> = self
            .shape
            .residuals
            .par_iter_mut()
            .map(|(_, ids)| keys.iter().map(|key| ids.id(key)).collect())
            .collect();
        let sids: Vec<Vec<u32>> = self
            .shape
            .inputs
            .par_iter_mut()
            .map(|inp| {
                keys.iter()
                    .map(|key| {
                        let mut x = [0u32; SUB_COLS];
                        for (slot, c) in x.iter_mut().zip(&inp.cols) {
                            *slot = key[*c];
                        }
                        let next = u32::try_from(inp.ids.len()).unwrap_or(UNSET);
                        let id = *inp.ids.entry(x).or_insert(next);
                        if id == next {
                            inp.presence
                                .push(u8::from(x[0] != 0) | (u8::from(x[1] != 0) << 1));
                        }
                        id
                    })
                    .collect()
            })
            .collect();
        // 2. Per policy, each key's result id. A cache key not seen before is evaluated once
        //    (below); its id is known already, since results are appended in the order here.
        let policies = self.policies;
        let presence: Vec<&[u8]> = self
            .shape
            .inputs
            .iter()
            .map(|i| i.presence.as_slice())
            .collect();
        let residual_of = &self.shape.residual_of;
        let lookups: Vec<Lookup> = self
            .shape
            .subs
            .par_iter_mut()
            .zip(self.caches.par_iter().zip(self.results.par_iter()))
            .enumerate()
            .map(|(p, (subs, (cache, results)))| {
                let base = results.len();
                let mut ids = Vec::with_capacity(n);
                let mut misses: Vec<(SmallKey, usize)> = Vec::new();
                let mut pending: FxMap<SmallKey, u32> = FxMap::default();
                let rid = &rids[residual_of[p]];
                for k in 0..n {
                    let mut small = [rid[k], 0, 0];
                    for (slot, sub) in small[1..].iter_mut().zip(subs.iter_mut()) {
                        let x = sids[sub.input][k];
                        let pres = presence[sub.input][x as usize];
                        *slot = sub.answer(&policies[p], ctx, x, pres, rows, reps[k]);
                    }
                    let id = match cache.get(&small) {
                        Some(id) => *id,
                        None => *pending.entry(small).or_insert_with(|| {
                            misses.push((small, k));
                            u32::try_from(base + misses.len() - 1).unwrap_or(UNSET)
                        }),
                    };
                    ids.push(id);
                }
                (ids, misses)
            })
            .collect();
        // 3. The rows those evaluations need, each built once (not once per policy).
        let mut needed: Vec<usize> = lookups
            .iter()
            .flat_map(|(_, misses)| misses.iter().map(|(_, k)| *k))
            .collect();
        needed.sort_unstable();
        needed.dedup();
        let mut slot = vec![UNSET; if needed.is_empty() { 0 } else { n }];
        for (j, k) in needed.iter().enumerate() {
            slot[*k] = u32::try_from(j).unwrap_or(UNSET);
        }
        let signins: Vec<SignIn> = needed.par_iter().map(|k| rows.signin(reps[*k])).collect();
        // 4. The evaluations, all policies together.
        let work: Vec<(usize, usize)> = lookups
            .iter()
            .enumerate()
            .flat_map(|(p, (_, misses))| misses.iter().map(move |(_, k)| (p, *k)))
            .collect();
        let evaluated: Vec<PolicyResult> = work
            .par_iter()
            .map(|(p, k)| eval::evaluate_policy(&policies[*p], &signins[slot[*k] as usize], ctx))
            .collect();
        let mut evaluated = evaluated.into_iter();
        let mut per_policy: Vec<Vec<u32>> = Vec::with_capacity(lookups.len());
        for (p, (ids, misses)) in lookups.into_iter().enumerate() {
            for (proj, _) in misses {
                let id = u32::try_from(self.results[p].len()).unwrap_or(UNSET);
                self.results[p].extend(evaluated.next());
                self.caches[p].insert(proj, id);
            }
            per_policy.push(ids);
        }
        let mut tuple: Vec<u32> = Vec::with_capacity(per_policy.len());
        for k in 0..n {
            tuple.clear();
            tuple.extend(per_policy.iter().map(|ids| ids[k]));
            let side = match self.sides.get(tuple.as_slice()) {
                Some(s) => *s,
                None => {
                    let tuple: Box<[u32]> = tuple.as_slice().into();
                    let light: Vec<PolicyResult> = tuple
                        .iter()
                        .zip(&self.results)
                        .map(|(id, rs)| PolicyResult {
                            result: rs[*id as usize].result,
                            reasons: Vec::new(),
                            effects: rs[*id as usize].effects,
                            controls: Vec::new(),
                        })
                        .collect();
                    let status = eval::decide(self.policies, light).status;
                    let id = u32::try_from(self.side_results.len()).unwrap_or(UNSET);
                    self.side_status.push(status_index(status));
                    self.side_results.push(tuple.clone());
                    self.sides.insert(tuple, id);
                    id
                }
            };
            self.key_side.push(side);
        }
    }

    fn status_of_key(&self, k: u32) -> u8 {
        self.side_status[self.key_side[k as usize] as usize]
    }

    /// The JSON of policy `p`'s result `id`.
    fn frag(&mut self, p: usize, id: u32) -> Arc<str> {
        let frags = &mut self.frags[p];
        if frags.len() <= id as usize {
            frags.resize(self.results[p].len().max(id as usize + 1), None);
        }
        frags[id as usize]
            .get_or_insert_with(|| policy_json(&self.policies[p], &self.results[p][id as usize]))
            .clone()
    }

    /// A side's head: its status and the controls its enforced policies demand.
    fn head(&mut self, side: u32) -> Arc<Head> {
        let s = side as usize;
        if self.heads.len() <= s {
            self.heads.resize(self.side_results.len().max(s + 1), None);
        }
        if let Some(h) = &self.heads[s] {
            return h.clone();
        }
        let results: Vec<PolicyResult> = self.side_results[s]
            .iter()
            .zip(&self.results)
            .map(|(id, rs)| {
                let r = &rs[*id as usize];
                PolicyResult {
                    result: r.result,
                    reasons: Vec::new(),
                    effects: r.effects,
                    controls: r.controls.clone(),
                }
            })
            .collect();
        let d = eval::decide(self.policies, results);
        let h = Head::new(d.status, &d.controls);
        self.heads[s] = Some(h.clone());
        h
    }

    /// The side to write for row `row` of key `k`: its head and its `policies` JSON. `ip` is
    /// the row's address code when an IP named location contains it: policies that read the
    /// location are then evaluated on the row, whose address their reasons show.
    fn side_text(
        &mut self,
        k: u32,
        ip: Option<u32>,
        rows: &Rows,
        row: usize,
    ) -> (Arc<Head>, PolicyText) {
        let side = self.key_side[k as usize];
        let head = self.head(side);
        if let Some(code) = ip.filter(|_| self.reads_ip.iter().any(|r| *r)) {
            if let Some(t) = self.ip_sides.get(&(side, code)) {
                return (head, PolicyText::Parts(t.clone()));
            }
            let mut parts: Vec<Arc<str>> = Vec::with_capacity(self.policies.len());
            let mut signin: Option<SignIn> = None;
            for p in 0..self.policies.len() {
                let id = self.side_results[side as usize][p];
                if !self.reads_ip[p] {
                    parts.push(self.frag(p, id));
                    continue;
                }
                let key = (u32::try_from(p).unwrap_or(UNSET), id, code);
                if let Some(f) = self.ip_frags.get(&key) {
                    parts.push(f.clone());
                    continue;
                }
                let s = signin.get_or_insert_with(|| rows.signin(row));
                let f = policy_json(
                    &self.policies[p],
                    &eval::evaluate_policy(&self.policies[p], s, self.ctx),
                );
                parts.push(f.clone());
                self.ip_frags.insert(key, f);
            }
            let parts: Arc<[Arc<str>]> = parts.into();
            if self.ip_sides_bytes > IP_SIDES_BYTES {
                self.ip_sides.clear();
                self.ip_sides_bytes = 0;
            }
            self.ip_sides_bytes += std::mem::size_of_val::<[Arc<str>]>(&parts) + 64;
            self.ip_sides.insert((side, code), parts.clone());
            return (head, PolicyText::Parts(parts));
        }
        let s = side as usize;
        if self.side_policies.len() <= s {
            self.side_policies
                .resize(self.side_results.len().max(s + 1), None);
        }
        if let Some(t) = &self.side_policies[s] {
            return (head, PolicyText::Text(t.clone()));
        }
        let parts: Vec<Arc<str>> = (0..self.policies.len())
            .map(|p| self.frag(p, self.side_results[s][p]))
            .collect();
        let text = PolicyText::Parts(parts.into()).text();
        self.side_policies[s] = Some(text.clone());
        (head, PolicyText::Text(text))
    }

    /// Sign-ins per side, and per policy per result id, from per-key multiplicities.
    fn multiplicities(&self, mult: &[u64]) -> (Vec<u64>, Vec<Vec<u64>>) {
        let mut per_side = vec![0u64; self.side_results.len()];
        for (k, m) in mult.iter().enumerate() {
            per_side[self.key_side[k] as usize] += m;
        }
        let mut per_result: Vec<Vec<u64>> = self.results.iter().map(|r| vec![0; r.len()]).collect();
        for (side, m) in per_side.iter().enumerate().filter(|(_, m)| **m > 0) {
            for (counts, id) in per_result.iter_mut().zip(self.side_results[side].iter()) {
                counts[*id as usize] += m;
            }
        }
        (per_side, per_result)
    }

    /// Candidate or baseline counts from per-key multiplicities.
    fn counts(&self, mult: &[u64]) -> SideCounts {
        // Per policy, per result id; words and texts only at the end.
        let (per_side, per_result) = self.multiplicities(mult);
        let mut c = SideCounts::default();
        for (side, m) in per_side.iter().enumerate().filter(|(_, m)| **m > 0) {
            *c.status
                .entry(STATUSES[self.side_status[side] as usize].to_string())
                .or_default() += m;
        }
        for (pi, p) in self.policies.iter().enumerate() {
            for (id, m) in per_result[pi].iter().enumerate().filter(|(_, m)| **m > 0) {
                let word = self.results[pi][id].result;
                *c.policies
                    .entry(p.id.clone())
                    .or_default()
                    .entry(word.to_string())
                    .or_default() += m;
            }
        }
        c
    }

    /// What each policy applied to, blocked, prompted and left undecided.
    fn impact(&self, mult: &[u64]) -> Vec<PolicyImpact> {
        let (_, per_result) = self.multiplicities(mult);
        let mut t = ImpactTally::new(self.policies);
        for (pi, counts) in per_result.iter().enumerate() {
            for (id, m) in counts.iter().enumerate().filter(|(_, m)| **m > 0) {
                t.add(pi, ImpactClass::of(&self.results[pi][id]), *m);
            }
        }
        t.finish()
    }
}

/// The logged baseline: one side per (error code, conditionalAccessStatus, appliedPolicies).
#[derive(Default)]
struct Logged {
    map: FxMap<[u32; 3], u32>,
    sides: Vec<SideText>,
    values: Vec<Side>,
    status: Vec<u8>,
    mult: Vec<u64>,
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

fn input_err(e: crate::error::InputError) -> SimulateError {
    SimulateError::Input(e.to_string())
}

impl From<crate::error::InputError> for SimulateError {
    fn from(e: crate::error::InputError) -> SimulateError {
        input_err(e)
    }
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> SimulateError {
    SimulateError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes one decisions.ndjson line exactly as `serde_json` writes a `DecisionRow`, piece by
/// piece (`scratch` holds the small ones).
#[allow(clippy::too_many_arguments)]
fn write_ndjson(
    w: &mut impl Write,
    scratch: &mut Vec<u8>,
    id: &str,
    corr: Option<&str>,
    user: Option<&str>,
    created: &str,
    cand: (&Head, &PolicyText),
    base: Option<(&Head, &PolicyText)>,
    changed: Option<bool>,
) -> std::io::Result<()> {
    let s = |buf: &mut Vec<u8>, v: Option<&str>| {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, &v);
    };
    scratch.clear();
    scratch.extend_from_slice(b"{\"signInId\":");
    s(scratch, Some(id));
    scratch.extend_from_slice(b",\"correlationId\":");
    s(scratch, corr);
    scratch.extend_from_slice(b",\"userId\":");
    s(scratch, user);
    scratch.extend_from_slice(b",\"createdDateTime\":");
    s(scratch, Some(created));
    scratch.extend_from_slice(b",\"candidate\":");
    scratch.extend_from_slice(cand.0.json.as_bytes());
    w.write_all(scratch)?;
    cand.1.write_to(w)?;
    match base {
        Some((head, policies)) => {
            w.write_all(b"},\"baseline\":")?;
            w.write_all(head.json.as_bytes())?;
            policies.write_to(w)?;
            w.write_all(b"}")?;
        }
        None => w.write_all(b"},\"baseline\":null")?,
    }
    w.write_all(match changed {
        Some(true) => b",\"changed\":true}\n",
        Some(false) => b",\"changed\":false}\n",
        None => b",\"changed\":null}\n",
    })
}

/// One decision row to write: its texts stay in its batch's columns ([`RowTexts`]).
struct OutRow {
    /// Row in the batch.
    row: usize,
    /// The row's userId code, or [`NULL`].
    user: u32,
    cand: (Arc<Head>, PolicyText),
    base: Option<(Arc<Head>, PolicyText)>,
    changed: Option<bool>,
}

/// The columns of one batch that its decision rows read, shared with the writer so that no
/// row's texts are copied on the replay's thread.
struct RowTexts {
    ids: Option<Texts>,
    corr: Option<Texts>,
    created: Option<Texts>,
    users: Option<Dict>,
}

/// Decision rows of one batch, and whether they are its last.
type OutRows = (Arc<RowTexts>, Vec<OutRow>, bool);

/// Rows handed to the writer at a time.
const OUT_ROWS: usize = 1024;

/// The replay's end of the writer's channel. Rows go over in messages of [`OUT_ROWS`]; at most
/// [`WRITER_BATCHES`] batches' rows are unwritten at a time (their messages hold the batches'
/// text columns); the writer says when it has written a batch's last message.
struct Outbox {
    tx: std::sync::mpsc::SyncSender<OutRows>,
    written: std::sync::mpsc::Receiver<()>,
    /// Batches with rows sent and not yet written.
    unwritten: usize,
    /// Rows of the current batch waiting to be sent.
    pending: Vec<OutRow>,
    /// Whether the current batch has sent a message.
    started: bool,
}

impl Outbox {
    fn push(&mut self, texts: &Arc<RowTexts>, row: OutRow) -> Result<(), ()> {
        self.pending.push(row);
        if self.pending.len() == OUT_ROWS {
            self.send(texts, false)?;
        }
        Ok(())
    }

    /// Ends the current batch.
    fn end_batch(&mut self, texts: &Arc<RowTexts>) -> Result<(), ()> {
        if self.started || !self.pending.is_empty() {
            self.send(texts, true)?;
        }
        self.started = false;
        Ok(())
    }

    fn send(&mut self, texts: &Arc<RowTexts>, last: bool) -> Result<(), ()> {
        if !self.started {
            while let Ok(()) = self.written.try_recv() {
                self.unwritten -= 1;
            }
            while self.unwritten >= WRITER_BATCHES {
                self.written.recv().map_err(|_| ())?;
                self.unwritten -= 1;
            }
            self.unwritten += 1;
            self.started = true;
        }
        let rows = std::mem::replace(&mut self.pending, Vec::with_capacity(OUT_ROWS));
        self.tx.send((texts.clone(), rows, last)).map_err(|_| ())
    }
}

/// Batches whose decision rows may wait for the writer: enough that the writer, which at times
/// takes a second to encode a row group of decisions.parquet, does not hold up the replay (and
/// with it the reading) meanwhile; few enough to bound the memory their text columns hold.
const WRITER_BATCHES: usize = 12;

/// Writes decision rows to decisions.ndjson and decisions.parquet, on its own thread beside
/// the replay, until the replay drops its end of `rx`.
fn write_rows(
    rx: &std::sync::mpsc::Receiver<OutRows>,
    written: &std::sync::mpsc::Sender<()>,
    nd_path: &Path,
    mut ndjson: Option<BufWriter<File>>,
    mut parquet: Option<ParquetSink>,
) -> Result<(), SimulateError> {
    let mut scratch = Vec::with_capacity(1 << 10);
    for (texts, rows, last) in rx {
        for r in rows {
            fn text(t: &Option<Texts>, row: usize) -> Option<&str> {
                t.as_ref().and_then(|t| t.get(row))
            }
            let id = text(&texts.ids, r.row).unwrap_or_default();
            let corr = text(&texts.corr, r.row);
            let user = texts
                .users
                .as_ref()
                .filter(|_| r.user != NULL)
                .map(|d| d.get(r.user));
            let created = text(&texts.created, r.row).unwrap_or_default();
            let base = r.base.as_ref().map(|(h, t)| (&**h, t));
            if let Some(nd) = ndjson.as_mut() {
                write_ndjson(
                    nd,
                    &mut scratch,
                    id,
                    corr,
                    user,
                    created,
                    (&r.cand.0, &r.cand.1),
                    base,
                    r.changed,
                )
                .map_err(|e| out_err(nd_path, e))?;
            }
            let Some(parquet) = parquet.as_mut() else {
                continue;
            };
            parquet.push_row(
                RowIds {
                    sign_in_id: id,
                    correlation_id: corr,
                    user_id: user,
                    created_date_time: created,
                },
                SideCols {
                    status: &r.cand.0.status,
                    controls: &r.cand.0.controls,
                    policies: &r.cand.1,
                },
                r.base.as_ref().map(|(h, policies)| SideCols {
                    status: &h.status,
                    controls: &h.controls,
                    policies,
                }),
                r.changed,
            )?;
        }
        // The replay may go on with another batch (it waits for none if this end is gone).
        if last {
            let _ = written.send(());
        }
    }
    if let Some(nd) = ndjson.as_mut() {
        nd.flush().map_err(|e| out_err(nd_path, e))?;
    }
    parquet.map_or(Ok(()), ParquetSink::finish)
}

/// The changed sign-ins' users, applications and countries counted by dictionary code (the
/// first of the listed columns that has a value: UPN, user id, service principal name; app name,
/// app id; country), and turned into texts for [`ChangeTally`] at the end.
#[derive(Default)]
struct CodeTally {
    /// (dimension, source column, code) → sign-ins; source [`NO_SOURCE`]: no column has a value.
    counts: FxMap<(u8, u8, u32), u64>,
    /// Per dimension and source column: its dictionary (the latest snapshot, which holds every
    /// code handed out before it).
    dicts: [[Option<Dict>; 3]; 3],
}

const NO_SOURCE: u8 = u8::MAX;

impl CodeTally {
    /// Takes the dictionaries of a batch's source columns (`dims`: per dimension, its columns).
    fn batch(&mut self, dims: [&[&Raw]; 3]) {
        for (d, sources) in dims.iter().enumerate() {
            for (j, raw) in sources.iter().enumerate() {
                if let Raw::Codes(c) = raw {
                    self.dicts[d][j] = Some(c.dict.clone());
                }
            }
        }
    }

    /// Counts row `i` of the batch.
    fn add(&mut self, dims: [&[&Raw]; 3], i: usize) {
        for (d, sources) in dims.iter().enumerate() {
            let found = sources.iter().enumerate().find_map(|(j, raw)| match raw {
                Raw::Codes(c) if c.codes[i] != NULL => Some((j, c.codes[i])),
                _ => None,
            });
            #[allow(clippy::cast_possible_truncation)]
            let key = match found {
                Some((j, code)) => (d as u8, j as u8, code),
                None => (d as u8, NO_SOURCE, 0),
            };
            *self.counts.entry(key).or_default() += 1;
        }
    }

    fn finish(self, tally: &mut ChangeTally) {
        for ((d, j, code), n) in self.counts {
            let text = self
                .dicts
                .get(d as usize)
                .and_then(|ds| ds.get(j as usize))
                .and_then(Option::as_ref)
                .map(|dict| dict.get(code));
            let dim = [Dim::User, Dim::App, Dim::Country][d as usize];
            tally.count(dim, text, n);
        }
    }
}

/// The normalized Parquet files that `paths` name (files, or folders read as `--signins` reads
/// them), opened; None when any file is another export variant (read them all with
/// [`crate::signin::read_signins`] then, which reads Parquet rows too).
pub fn open_tables(paths: &[PathBuf]) -> Result<Option<Vec<TableFile>>, crate::error::InputError> {
    let mut files = Vec::new();
    for p in paths {
        files.extend(crate::text::list_files(p, &[])?);
    }
    if files.is_empty() || !files.iter().all(|f| table::is_parquet(f)) {
        return Ok(None);
    }
    files
        .iter()
        .map(|f| TableFile::open(f))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// What a user should know about the files before a replay (the JSON reader's wording).
pub fn table_warnings(files: &[TableFile]) -> Vec<String> {
    files
        .iter()
        .filter(|f| f.rows() == 0)
        .map(|f| format!("{}: no sign-ins (the file is empty)", f.path().display()))
        .collect()
}

/// Runs a simulation over normalized Parquet files (in order; `inputs.signins` is ignored)
/// and writes the files [`simulate::run`] writes.
pub fn run(files: &[TableFile], inputs: Inputs) -> Result<Summary, SimulateError> {
    if inputs.ai.is_some() {
        return Err(SimulateError::Input(
            "AI risk thresholds are replayed row by row: read the table with table::read_rows and use simulate::run".into(),
        ));
    }
    if let Baseline::Snapshots(_) = inputs.baseline {
        return Err(SimulateError::Input(
            "a baseline of ledger policy snapshots is replayed row by row: read the table with table::read_rows and use simulate::run".into(),
        ));
    }
    let ctx = Context::new(inputs.policies, inputs.locations, inputs.directory)
        .map_err(SimulateError::Input)?
        .with_snapshots(inputs.user_risk, inputs.devices);
    let base_policies: &[Policy] = match inputs.baseline {
        Baseline::Policies(p) => p,
        _ => &[],
    };
    let base_ctx = Context::new(base_policies, inputs.locations, inputs.directory)
        .map_err(SimulateError::Input)?
        .with_snapshots(inputs.user_risk, inputs.devices);
    let filters: Vec<BTreeSet<String>> = ctx
        .device_filters
        .values()
        .chain(base_ctx.device_filters.values())
        .map(|f| f.attributes())
        .collect();
    let env = Env::new(&inputs, &[inputs.policies, base_policies], &filters);

    fs::create_dir_all(inputs.out).map_err(|e| {
        out_err(
            inputs.out,
            format_args!("cannot create the output folder: {e}"),
        )
    })?;
    let nd_path = inputs.out.join("decisions.ndjson");
    let pq_path = inputs.out.join("decisions.parquet");
    let writing = inputs.decisions != DecisionsFilter::None;
    let result = (|| {
        let formats = inputs.decision_files;
        let sinks = match writing {
            false => None,
            true => Some((
                match formats.ndjson() {
                    true => Some(BufWriter::with_capacity(
                        1 << 20,
                        File::create(&nd_path).map_err(|e| out_err(&nd_path, e))?,
                    )),
                    false => None,
                },
                match formats.parquet() {
                    true => Some(ParquetSink::create(&pq_path)?),
                    false => None,
                },
            )),
        };
        std::thread::scope(|scope| {
            // Messages in the channel: a few batches' worth of rows.
            let (tx, rx) = std::sync::mpsc::sync_channel::<OutRows>(128);
            let (written_tx, written) = std::sync::mpsc::channel::<()>();
            let writer = sinks.map(|(nd, pq)| {
                let nd_path = &nd_path;
                scope.spawn(move || write_rows(&rx, &written_tx, nd_path, nd, pq))
            });
            let outbox = writer.is_some().then(|| Outbox {
                tx,
                written,
                unwritten: 0,
                pending: Vec::with_capacity(OUT_ROWS),
                started: false,
            });
            // The replay drops the outbox when it ends, which ends the writer.
            let summary = replay(files, &inputs, &env, &ctx, &base_ctx, outbox);
            let written = match writer {
                Some(w) => w
                    .join()
                    .unwrap_or_else(|_| Err(out_err(&nd_path, "the writer thread panicked"))),
                None => Ok(()),
            };
            // The writer's own error explains a replay that could not hand it rows.
            written?;
            summary
        })
    })();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            // A half-written result must not be picked up by a user's script.
            let _ = fs::remove_file(&nd_path);
            let _ = fs::remove_file(&pq_path);
            return Err(e);
        }
    };
    let sp = inputs.out.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).map_err(|e| out_err(&sp, e))?;
    fs::write(&sp, text + "\n").map_err(|e| out_err(&sp, e))?;
    Ok(summary)
}

#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
fn replay(
    files: &[TableFile],
    inputs: &Inputs,
    env: &Env,
    ctx: &Context,
    base_ctx: &Context,
    mut out: Option<Outbox>,
) -> Result<Summary, SimulateError> {
    let nd_path: PathBuf = inputs.out.join("decisions.ndjson");
    let stopped = || out_err(&nd_path, "the decisions writer stopped");
    let writing = inputs.decisions != DecisionsFilter::None;
    let dedupe = !(files.len() == 1 && files[0].unique_ids());
    let logged = matches!(inputs.baseline, Baseline::Logged);

    // Columns to read.
    let mut cols: Vec<Col> = KEYS
        .iter()
        .zip(env.canon)
        .filter(|(_, c)| *c != Canon::Constant)
        .map(|(k, _)| *k)
        .collect();
    cols.extend([Col::ServicePrincipalName, Col::AppDisplayName]);
    // The report's breakdown of changed sign-ins reads their country and day.
    let has_baseline = !matches!(inputs.baseline, Baseline::None);
    for c in [Col::Country, Col::CreatedDateTime] {
        if has_baseline && !cols.contains(&c) {
            cols.push(c);
        }
    }
    if writing || dedupe {
        cols.push(Col::Id);
    }
    if writing {
        cols.push(Col::CorrelationId);
    }
    if (writing || inputs.user_risk.is_some()) && !cols.contains(&Col::CreatedDateTime) {
        cols.push(Col::CreatedDateTime);
    }
    if logged {
        cols.extend([Col::ConditionalAccessStatus, Col::AppliedPolicies]);
    }

    let mut classes: Vec<Classes> = env.canon.iter().map(|c| Classes::new(*c)).collect();
    // The logged baseline's classes: conditionalAccessStatus, appliedPolicies, error code.
    let mut aux = [
        Classes::new(Canon::Identity),
        Classes::new(Canon::Identity),
        Classes::new(Canon::Identity),
    ];
    let mut keys: FxMap<Packed, u32> = FxMap::default();
    let mut key_list: Vec<Key> = Vec::new();
    let mut mult: Vec<u64> = Vec::new();
    let mut cand = PolicySet::new(inputs.policies, ctx);
    let base_policies = match inputs.baseline {
        Baseline::Policies(p) => p,
        _ => &[],
    };
    let mut base = PolicySet::new(base_policies, base_ctx);
    let mut logged_sides = Logged::default();
    let mut seen = SeenIds::default();
    let mut duplicates = 0u64;
    let mut sign_ins = 0u64;
    let mut transitions = [[0u64; 5]; 5];
    let mut changed_total = 0u64;
    let mut changes = ChangeTally::default();
    let mut by_code = CodeTally::default();
    let ip_col = key_index(Col::IpAddress);
    let net_col = key_index(Col::NetworkNames);

    // Columns whose value no policy reads, only its presence.
    let presence: Vec<Col> = KEYS
        .iter()
        .zip(env.canon)
        .filter(|(_, c)| *c == Canon::Presence)
        .map(|(k, _)| *k)
        .collect();
    for file in files {
        file.batches_with_presence(
            &cols,
            &presence,
            BATCH_ROWS,
            &mut |batch: &Batch| -> Result<(), SimulateError> {
                let n = batch.len();
                let raws: Vec<Raw> = KEYS
                    .par_iter()
                    .zip(env.canon.par_iter())
                    .map(|(c, canon)| match canon {
                        Canon::Constant => Ok(Raw::Absent),
                        _ => fetch(batch, *c),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(input_err)?;
                let ids = if writing || dedupe {
                    Some(batch.texts(Col::Id).map_err(input_err)?)
                } else {
                    None
                };
                let created = if writing || env.user_risk.is_some() {
                    Some(batch.texts(Col::CreatedDateTime).map_err(input_err)?)
                } else {
                    None
                };
                let (ca_raw, applied_raw) = if logged {
                    (
                        fetch(batch, Col::ConditionalAccessStatus).map_err(input_err)?,
                        fetch(batch, Col::AppliedPolicies).map_err(input_err)?,
                    )
                } else {
                    (Raw::Absent, Raw::Absent)
                };

                // Which rows count: the first of each id.
                let keep: Option<Vec<bool>> = match (&ids, dedupe) {
                    (Some(ids), true) => Some(
                        (0..n)
                            .map(|i| {
                                let first = seen.insert(ids.get(i).unwrap_or_default());
                                if !first {
                                    duplicates += 1;
                                }
                                first
                            })
                            .collect(),
                    ),
                    _ => None,
                };
                let kept = |i: usize| keep.as_ref().is_none_or(|k| k[i]);
                // 1. Classes, column by column.
                let risk = match (
                    &created,
                    env.user_risk.is_some(),
                    &raws[key_index(Col::UserId)],
                    &raws[key_index(Col::UserPrincipalName)],
                ) {
                    (Some(created), true, user, upn) => Some(RiskInputs { user, upn, created }),
                    _ => None,
                };
                let class_cols: Vec<Option<Vec<u32>>> = classes
                    .par_iter_mut()
                    .zip(raws.par_iter())
                    .enumerate()
                    .map(|(j, (cl, raw))| {
                        let r = (KEYS[j] == Col::UserRiskLevel)
                            .then_some(risk.as_ref())
                            .flatten();
                        cl.assign(env, raw, r)
                    })
                    .collect();
                // 2. Keys, row by row (in parallel chunks). Keys seen in earlier batches are
                //    looked up in the global map (read only here); new ones get chunk-local ids
                //    and are merged in order below.
                let active: Vec<(usize, &[u32])> = class_cols
                    .iter()
                    .enumerate()
                    .filter_map(|(j, col)| col.as_deref().map(|c| (j, c)))
                    .collect();
                let known = &keys;
                let chunks: Vec<(Vec<Packed>, Vec<usize>, Vec<u32>)> = (0..n.div_ceil(CHUNK_ROWS))
                    .into_par_iter()
                    .map(|c| {
                        let lo = c * CHUNK_ROWS;
                        let hi = (lo + CHUNK_ROWS).min(n);
                        let mut local: FxMap<Packed, u32> = FxMap::default();
                        let mut order: Vec<Packed> = Vec::new();
                        let mut reps: Vec<usize> = Vec::new();
                        let mut rows = Vec::with_capacity(hi - lo);
                        for i in lo..hi {
                            if !kept(i) {
                                rows.push(UNSET);
                                continue;
                            }
                            let mut key = [0u32; NK];
                            for (j, col) in &active {
                                key[*j] = col[i];
                            }
                            let key = Packed(key);
                            if let Some(id) = known.get(&key) {
                                rows.push(*id);
                                continue;
                            }
                            let next = u32::try_from(order.len()).unwrap_or(UNSET);
                            let id = *local.entry(key).or_insert(next);
                            if id == next {
                                order.push(key);
                                reps.push(i);
                            }
                            rows.push(id | NEW);
                        }
                        (order, reps, rows)
                    })
                    .collect();
                let first_new = key_list.len();
                let mut new_reps: Vec<usize> = Vec::new();
                let mut row_key: Vec<u32> = Vec::with_capacity(n);
                for (order, reps, rows) in chunks {
                    let remap: Vec<u32> = order
                        .iter()
                        .zip(&reps)
                        .map(|(key, rep)| {
                            let next = u32::try_from(key_list.len()).unwrap_or(UNSET);
                            let id = *keys.entry(*key).or_insert(next);
                            if id == next {
                                key_list.push(key.0);
                                new_reps.push(*rep);
                                mult.push(0);
                            }
                            id
                        })
                        .collect();
                    row_key.extend(rows.iter().map(|l| {
                        if *l == UNSET {
                            UNSET
                        } else if *l & NEW != 0 {
                            remap[(*l & !NEW) as usize]
                        } else {
                            *l
                        }
                    }));
                }
                // 3. New keys, policy by policy.
                let rows = Rows {
                    raws: &raws,
                    created: created.as_ref(),
                    ca_status: &ca_raw,
                    applied: &applied_raw,
                };
                let new_keys = &key_list[first_new..];
                cand.add_keys(new_keys, &new_reps, &rows);
                if let Baseline::Policies(_) = inputs.baseline {
                    base.add_keys(new_keys, &new_reps, &rows);
                }
                // The logged baseline per (error code, status, applied policies).
                let base_rows: Option<Vec<u32>> = if logged {
                    let err = aux[2].assign(env, &raws[key_index(Col::ErrorCode)], None);
                    let err = err.as_deref();
                    let ca = aux[0].assign(env, &ca_raw, None);
                    let applied = aux[1].assign(env, &applied_raw, None);
                    let mut out = Vec::with_capacity(n);
                    for i in 0..n {
                        let t = [
                            err.map_or(0, |e| e[i]),
                            ca.as_ref().map_or(0, |c| c[i]),
                            applied.as_ref().map_or(0, |a| a[i]),
                        ];
                        let next = u32::try_from(logged_sides.sides.len()).unwrap_or(UNSET);
                        let id = *logged_sides.map.entry(t).or_insert(next);
                        if id == next {
                            let s = rows.logged_signin(i);
                            let side = simulate::logged_side(&s, inputs.policies);
                            logged_sides.status.push(status_index(&side.status));
                            logged_sides.sides.push(SideText::new(&side));
                            logged_sides.values.push(side);
                            logged_sides.mult.push(0);
                        }
                        out.push(id);
                    }
                    Some(out)
                } else {
                    None
                };
                // 4. Rows.
                let ip_classes = class_cols[ip_col].as_deref();
                let ip_raw = &raws[ip_col];
                let user_raw = &raws[key_index(Col::UserId)];
                let upn_raw = &raws[key_index(Col::UserPrincipalName)];
                let app_raw = &raws[key_index(Col::AppId)];
                let corr = if writing {
                    Some(batch.texts(Col::CorrelationId).map_err(input_err)?)
                } else {
                    None
                };
                let sp_name = fetch(batch, Col::ServicePrincipalName).map_err(input_err)?;
                let app_name = fetch(batch, Col::AppDisplayName).map_err(input_err)?;
                let (country, days) = if has_baseline {
                    (
                        fetch(batch, Col::Country).map_err(input_err)?,
                        match &created {
                            Some(_) => None,
                            None => Some(batch.texts(Col::CreatedDateTime).map_err(input_err)?),
                        },
                    )
                } else {
                    (Raw::Absent, None)
                };
                let days = days.as_ref().or(created.as_ref());
                let row_texts = Arc::new(RowTexts {
                    ids: ids.clone(),
                    corr: corr.clone(),
                    created: created.clone(),
                    users: match user_raw {
                        Raw::Codes(c) => Some(c.dict.clone()),
                        _ => None,
                    },
                });
                let sources: [&[&Raw]; 3] = [
                    &[upn_raw, user_raw, &sp_name],
                    &[&app_name, app_raw],
                    &[&country],
                ];
                by_code.batch(sources);
                for i in 0..n {
                    let k = row_key[i];
                    if k == UNSET {
                        continue;
                    }
                    sign_ins += 1;
                    mult[k as usize] += 1;
                    let cs = cand.status_of_key(k);
                    let bs = match inputs.baseline {
                        Baseline::None => None,
                        Baseline::Logged => {
                            let b = base_rows.as_ref().map_or(0, |r| r[i]) as usize;
                            logged_sides.mult[b] += 1;
                            Some(logged_sides.status[b])
                        }
                        Baseline::Policies(_) | Baseline::Snapshots(_) => {
                            Some(base.status_of_key(k))
                        }
                    };
                    if let Some(bs) = bs {
                        transitions[bs as usize][cs as usize] += 1;
                    }
                    let changed = bs.map(|b| b != cs);
                    if changed == Some(true) {
                        changed_total += 1;
                        by_code.add(sources, i);
                        changes.count_day(
                            days.and_then(|t| t.get(i)).unwrap_or_default(),
                            STATUSES[cs as usize],
                        );
                    }
                    let write = match inputs.decisions {
                        DecisionsFilter::All => true,
                        DecisionsFilter::Changed => changed == Some(true),
                        DecisionsFilter::None => false,
                    };
                    if !write {
                        continue;
                    }
                    // Reasons show the row's own address where an IP location matched it.
                    let located = |col: usize, class: Option<&[u32]>| {
                        class.is_some_and(|c| classes[col].matched[c[i] as usize])
                    };
                    let ip = match ip_raw {
                        Raw::Codes(c)
                            if c.codes[i] != NULL
                                && (located(ip_col, ip_classes)
                                    || located(net_col, class_cols[net_col].as_deref())) =>
                        {
                            Some(c.codes[i])
                        }
                        _ => None,
                    };
                    let cand_side = cand.side_text(k, ip, &rows, i);
                    let base_side = match inputs.baseline {
                        Baseline::None => None,
                        Baseline::Logged => {
                            let b = base_rows.as_ref().map_or(0, |r| r[i]) as usize;
                            let t = &logged_sides.sides[b];
                            Some((t.head.clone(), PolicyText::Text(t.policies.clone())))
                        }
                        Baseline::Policies(_) | Baseline::Snapshots(_) => {
                            Some(base.side_text(k, ip, &rows, i))
                        }
                    };
                    if let Some(out) = out.as_mut() {
                        out.push(
                            &row_texts,
                            OutRow {
                                row: i,
                                user: match user_raw {
                                    Raw::Codes(c) => c.codes[i],
                                    _ => NULL,
                                },
                                cand: cand_side,
                                base: base_side,
                                changed,
                            },
                        )
                        .map_err(|()| stopped())?;
                    }
                }
                if let Some(out) = out.as_mut() {
                    out.end_batch(&row_texts).map_err(|()| stopped())?;
                }
                Ok(())
            },
        )?;
    }
    let baseline = match inputs.baseline {
        Baseline::None => None,
        Baseline::Policies(_) | Baseline::Snapshots(_) => Some(base.counts(&mult)),
        Baseline::Logged => {
            let mut c = SideCounts::default();
            for (side, m) in logged_sides.values.iter().zip(&logged_sides.mult) {
                if *m == 0 {
                    continue;
                }
                *c.status.entry(side.status.clone()).or_default() += m;
                for p in &side.policies {
                    *c.policies
                        .entry(p.id.clone())
                        .or_default()
                        .entry(p.result.clone())
                        .or_default() += m;
                }
            }
            Some(c)
        }
    };
    let mut trans = BTreeMap::new();
    for (b, row) in transitions.iter().enumerate() {
        for (c, n) in row.iter().enumerate() {
            if *n > 0 {
                trans.insert(format!("{} -> {}", STATUSES[b], STATUSES[c]), *n);
            }
        }
    }
    by_code.finish(&mut changes);
    let changes = changes.finish();
    Ok(Summary {
        sign_ins,
        skipped: inputs.skipped,
        duplicates: inputs.duplicates + duplicates,
        distinct_keys: key_list.len() as u64,
        candidate: cand.counts(&mult),
        baseline,
        transitions: trans,
        changed: changed_total,
        top_changed_users: changes.users,
        top_changed_apps: changes.apps,
        warnings: inputs.warnings.clone(),
        baseline_before_first_snapshot: None,
        top_changed_countries: changes.countries,
        changed_by_day: changes.by_day,
        policy_impact: cand.impact(&mult),
        vigil_version: None,
        inputs: None,
        ledger_run: None,
    })
}
