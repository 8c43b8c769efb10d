//! The shared vocabulary of the simulator: tri-state answers, the policy model, named
//! locations, the directory snapshot and the normalized sign-in record.
//!
//! Parsers (policy.rs, location.rs, directory.rs, signin.rs) produce these types; the
//! evaluation engine (eval.rs) consumes them. Every signal a log may lack is an `Option`:
//! `None` means "the log does not say", never false or zero.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A three-valued answer: the log says yes, says no, or does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tri {
    /// Definitely true.
    Yes,
    /// Definitely false.
    No,
    /// The inputs do not decide it.
    Unknown,
}

impl Tri {
    /// From a definite boolean.
    pub fn from_bool(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
    /// Kleene AND.
    pub fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Unknown,
        }
    }
    /// Kleene OR.
    pub fn or(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Unknown,
        }
    }
    /// Kleene NOT.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// `conditionalAccessPolicy.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyState {
    /// Enforced.
    Enabled,
    /// Not evaluated.
    Disabled,
    /// Evaluated and reported, never enforced.
    EnabledForReportingButNotEnforced,
}

impl PolicyState {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyState::Enabled => "enabled",
            PolicyState::Disabled => "disabled",
            PolicyState::EnabledForReportingButNotEnforced => "enabledForReportingButNotEnforced",
        }
    }
}

/// An include/exclude pair of id lists; special values (`All`, `None`, `Office365`, ...) stay as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdSet {
    /// Included ids or special values.
    pub include: Vec<String>,
    /// Excluded ids or special values.
    pub exclude: Vec<String>,
}

/// Guest/external user selection (`includeGuestsOrExternalUsers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestSelector {
    /// Flags such as `internalGuest`, `b2bCollaborationGuest`, `b2bCollaborationMember`,
    /// `b2bDirectConnectUser`, `otherExternalUser`, `serviceProvider`.
    pub types: BTreeSet<String>,
    /// `None` = all external tenants; `Some(list)` = only these tenant ids.
    pub tenants: Option<Vec<String>>,
}

/// `conditions.users`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCondition {
    /// includeUsers / excludeUsers (`All`, `None`, `GuestsOrExternalUsers` or object ids).
    pub users: IdSet,
    /// includeGroups / excludeGroups (object ids).
    pub groups: IdSet,
    /// includeRoles / excludeRoles (role template ids).
    pub roles: IdSet,
    /// includeGuestsOrExternalUsers.
    pub include_guests: Option<GuestSelector>,
    /// excludeGuestsOrExternalUsers.
    pub exclude_guests: Option<GuestSelector>,
}

/// `conditions.applications`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCondition {
    /// includeApplications / excludeApplications (`All`, `None`, `Office365`, `MicrosoftAdminPortals` or app ids).
    pub apps: IdSet,
    /// includeUserActions (`urn:user:registersecurityinfo`, `urn:user:registerdevice`).
    pub user_actions: Vec<String>,
    /// includeAuthenticationContextClassReferences (`c1`..`c99`).
    pub auth_contexts: Vec<String>,
    /// applicationFilter (mode, rule), when set.
    pub filter: Option<(FilterMode, String)>,
}

/// `conditions.clientApplications` (workload identities).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAppsCondition {
    /// include/excludeServicePrincipals (`ServicePrincipalsInMyTenant` or ids).
    pub service_principals: IdSet,
    /// servicePrincipalFilter, when set.
    pub filter: Option<(FilterMode, String)>,
}

/// Include or exclude mode of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FilterMode {
    /// The policy applies to matching objects.
    Include,
    /// The policy does not apply to matching objects.
    Exclude,
}

/// Normalized client app type (`clientAppTypes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClientAppType {
    /// Every client type.
    All,
    /// Web browsers.
    Browser,
    /// Modern-auth mobile and desktop apps.
    MobileAppsAndDesktopClients,
    /// Exchange ActiveSync.
    ExchangeActiveSync,
    /// Exchange ActiveSync clients on supported platforms (legacy value).
    EasSupported,
    /// Other (legacy) clients: IMAP, POP, SMTP, ...
    Other,
}

/// Normalized device platform (`platforms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    /// `all`.
    #[serde(rename = "all")]
    All,
    /// `android`.
    #[serde(rename = "android")]
    Android,
    /// `iOS`.
    #[serde(rename = "iOS")]
    Ios,
    /// `windows`.
    #[serde(rename = "windows")]
    Windows,
    /// `windowsPhone`.
    #[serde(rename = "windowsPhone")]
    WindowsPhone,
    /// `macOS`.
    #[serde(rename = "macOS")]
    MacOs,
    /// `linux`.
    #[serde(rename = "linux")]
    Linux,
    /// A real platform outside the ones Conditional Access names (ChromeOS, FreeBSD, ...): it
    /// matches `all` but no named platform (SEMANTICS.md Rule 4.19). Never read from a policy.
    #[serde(rename = "otherPlatform")]
    Other,
}

/// Risk level (`signInRiskLevels`, `userRiskLevels`, `servicePrincipalRiskLevels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RiskLevel {
    /// No risk.
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// `grantControls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantControls {
    /// `true` for `OR`, `false` for `AND`.
    pub any: bool,
    /// builtInControls (`block`, `mfa`, `compliantDevice`, `domainJoinedDevice`,
    /// `approvedApplication`, `compliantApplication`, `passwordChange`, ...).
    pub built_in: Vec<String>,
    /// termsOfUse ids.
    pub terms_of_use: Vec<String>,
    /// customAuthenticationFactors.
    pub custom_factors: Vec<String>,
    /// authenticationStrength (id, displayName, allowedCombinations).
    pub authentication_strength: Option<AuthStrength>,
}

/// An authentication strength requirement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStrength {
    /// Policy id (built-in ...0002 MFA, ...0003 passwordless, ...0004 phishing-resistant).
    pub id: String,
    /// Display name.
    pub display_name: Option<String>,
    /// allowedCombinations, e.g. `windowsHelloForBusiness`, `fido2`, `password,microsoftAuthenticatorPush`.
    pub allowed_combinations: Vec<String>,
}

/// `sessionControls` (reported; sign-in frequency evaluated where the log allows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionControls {
    /// Names of the session controls that are set, e.g. `signInFrequency`, `persistentBrowser`.
    pub names: Vec<String>,
    /// signInFrequency: `everyTime`, or a duration in hours.
    pub sign_in_frequency: Option<SignInFrequency>,
}

/// `sessionControls.signInFrequency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInFrequency {
    /// Reauthenticate every time.
    EveryTime,
    /// Reauthenticate after this many hours.
    Hours(u32),
}

/// One Conditional Access policy as the engine sees it. A condition that is `None` (or an
/// empty list) is not configured and does not restrict the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Policy object id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// state.
    pub state: PolicyState,
    /// conditions.users.
    pub users: Option<UserCondition>,
    /// conditions.applications.
    pub applications: Option<AppCondition>,
    /// conditions.clientApplications.
    pub client_applications: Option<ClientAppsCondition>,
    /// conditions.clientAppTypes (empty or containing `All` = any).
    pub client_app_types: Vec<ClientAppType>,
    /// conditions.platforms.
    pub platforms: Option<(Vec<Platform>, Vec<Platform>)>,
    /// conditions.locations (include, exclude): `All`, `AllTrusted` or named location ids.
    pub locations: Option<IdSet>,
    /// conditions.signInRiskLevels.
    pub sign_in_risk_levels: Vec<RiskLevel>,
    /// conditions.userRiskLevels.
    pub user_risk_levels: Vec<RiskLevel>,
    /// conditions.servicePrincipalRiskLevels.
    pub service_principal_risk_levels: Vec<RiskLevel>,
    /// conditions.insiderRiskLevels (e.g. `minor`, `moderate`, `elevated`).
    pub insider_risk_levels: Vec<String>,
    /// conditions.devices.deviceFilter (mode, rule).
    pub device_filter: Option<(FilterMode, String)>,
    /// conditions.authenticationFlows.transferMethods (`deviceCodeFlow`, `authenticationTransfer`).
    pub transfer_methods: Vec<String>,
    /// grantControls (`None` = no grant controls, e.g. a session-only policy).
    pub grant: Option<GrantControls>,
    /// sessionControls.
    pub session: Option<SessionControls>,
    /// Conditions and controls vigil does not understand (by Graph name, e.g.
    /// `conditions.agentIdRiskLevels`): they make the policy `indeterminate` wherever they could
    /// change the outcome.
    pub unsupported: Vec<String>,
    /// Where the policy came from (file name).
    pub source: String,
    /// The `vigil-ai-risk` policy of a thresholds file: its grant comes from the sign-in's AI
    /// score band (`airisk.rs`), not from grantControls.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ai_risk: bool,
}

/// A named location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedLocation {
    /// Object id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// What it matches.
    pub kind: NamedLocationKind,
}

/// The type of a named location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NamedLocationKind {
    /// `ipNamedLocation`.
    Ip {
        /// CIDR ranges.
        ranges: Vec<ipnet::IpNet>,
        /// isTrusted.
        trusted: bool,
    },
    /// `countryNamedLocation`.
    Country {
        /// ISO 3166-1 alpha-2 codes.
        countries: BTreeSet<String>,
        /// includeUnknownCountriesAndRegions.
        include_unknown: bool,
        /// `clientIpAddress` or `authenticatorAppGps`.
        lookup: String,
    },
    /// A type vigil cannot evaluate from the log (e.g. compliantNetworkNamedLocation).
    Unsupported {
        /// The Graph type name.
        type_name: String,
        /// isTrusted, when present.
        trusted: Option<bool>,
    },
}

/// One user of the directory snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    /// Object id.
    pub id: String,
    /// UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// `Member` or `Guest`.
    #[serde(default)]
    pub user_type: Option<String>,
    /// Transitive group memberships.
    #[serde(default)]
    pub groups: BTreeSet<String>,
    /// Active directory role template ids.
    #[serde(default)]
    pub roles: BTreeSet<String>,
}

/// The directory snapshot (`--directory`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Users by object id.
    pub users: BTreeMap<String, DirectoryUser>,
    /// Users by lowercase UPN (to resolve sign-ins that carry no object id).
    pub by_upn: BTreeMap<String, String>,
}

/// What kind of sign-in a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SignInKind {
    /// A user signing in interactively.
    InteractiveUser,
    /// A client acting for a user without interaction (token refresh ...).
    NonInteractiveUser,
    /// An application with its own credentials.
    ServicePrincipal,
    /// An Azure managed identity.
    ManagedIdentity,
}

/// One policy outcome recorded in the log (`appliedConditionalAccessPolicies[]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedPolicy {
    /// Policy id.
    pub id: String,
    /// displayName.
    pub display_name: Option<String>,
    /// result as logged (`success`, `failure`, `notApplied`, `notEnabled`, `unknown`, `reportOnly*`).
    pub result: String,
    /// enforcedGrantControls.
    #[serde(default)]
    pub enforced_grant_controls: Vec<String>,
    /// enforcedSessionControls.
    #[serde(default)]
    pub enforced_session_controls: Vec<String>,
}

/// An angle in degrees, finite (the readers keep nothing else). Compared and hashed by its
/// bits, so a sign-in stays usable as a map key.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Degrees(pub f64);

impl PartialEq for Degrees {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Degrees {}

impl std::hash::Hash for Degrees {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// The normalized sign-in record (schemas/signin.schema.json). Every field the export may lack
/// is optional; `None` means the log does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    /// Sign-in id (request id).
    pub id: String,
    /// createdDateTime in UTC, RFC 3339 with `Z`.
    pub created_date_time: String,
    /// correlationId.
    pub correlation_id: Option<String>,
    /// Interactive user, non-interactive user, service principal or managed identity.
    pub kind: Option<SignInKind>,
    /// userId (object id).
    pub user_id: Option<String>,
    /// userPrincipalName.
    pub user_principal_name: Option<String>,
    /// userType (`Member`, `Guest`).
    pub user_type: Option<String>,
    /// homeTenantId.
    pub home_tenant_id: Option<String>,
    /// resourceTenantId.
    pub resource_tenant_id: Option<String>,
    /// appOwnerTenantId: the tenant that owns the signing-in application (service principal
    /// sign-ins; Log Analytics `AppOwnerTenantId`).
    pub app_owner_tenant_id: Option<String>,
    /// crossTenantAccessType (`none`, `b2bCollaboration`, `b2bDirectConnect`, `serviceProvider`, ...).
    pub cross_tenant_access_type: Option<String>,
    /// servicePrincipalId (workload identity sign-ins).
    pub service_principal_id: Option<String>,
    /// servicePrincipalName.
    pub service_principal_name: Option<String>,
    /// appId.
    pub app_id: Option<String>,
    /// appDisplayName.
    pub app_display_name: Option<String>,
    /// resourceId (the resource app id).
    pub resource_id: Option<String>,
    /// resourceDisplayName.
    pub resource_display_name: Option<String>,
    /// ipAddress.
    pub ip_address: Option<String>,
    /// location.countryOrRegion (ISO alpha-2).
    pub country: Option<String>,
    /// location.city.
    pub city: Option<String>,
    /// location.state.
    pub state: Option<String>,
    /// location.geoCoordinates.latitude in degrees; `None` when the log leaves it out, writes
    /// `{}`, or writes the 0,0 placeholder some sign-in types carry.
    pub latitude: Option<Degrees>,
    /// location.geoCoordinates.longitude in degrees (absent as for `latitude`).
    pub longitude: Option<Degrees>,
    /// The risk event types Identity Protection attached to the sign-in (riskEventTypes_v2,
    /// else riskEventTypes), e.g. `anonymizedIPAddress`, `unfamiliarFeatures`; `Some(vec![])`
    /// when the log lists none.
    pub risk_event_types: Option<Vec<String>>,
    /// Named networks the log says matched (networkLocationDetails networkNames), when present.
    pub network_names: Option<Vec<String>>,
    /// Whether networkLocationDetails marked the location trusted (`trustedNamedLocation`).
    pub trusted_network: Option<bool>,
    /// clientAppUsed as logged ("Browser", "Mobile Apps and Desktop clients", "IMAP4", ...).
    pub client_app_used: Option<String>,
    /// deviceDetail.operatingSystem as logged.
    pub operating_system: Option<String>,
    /// deviceDetail.browser.
    pub browser: Option<String>,
    /// deviceDetail.deviceId.
    pub device_id: Option<String>,
    /// deviceDetail.displayName.
    pub device_display_name: Option<String>,
    /// deviceDetail.isCompliant.
    pub device_compliant: Option<bool>,
    /// deviceDetail.isManaged.
    pub device_managed: Option<bool>,
    /// deviceDetail.trustType ("Azure AD joined", "Hybrid Azure AD joined", "Azure AD registered").
    pub device_trust_type: Option<String>,
    /// authenticationProtocol (`deviceCode`, `ropc`, ...).
    pub authentication_protocol: Option<String>,
    /// originalTransferMethod (`deviceCodeFlow`, `authenticationTransfer`, `none`).
    pub original_transfer_method: Option<String>,
    /// riskLevelDuringSignIn.
    pub sign_in_risk_level: Option<String>,
    /// riskLevelAggregated.
    pub risk_level_aggregated: Option<String>,
    /// riskState.
    pub risk_state: Option<String>,
    /// User risk level at the sign-in's time (from a risky-user history join).
    pub user_risk_level: Option<String>,
    /// Service principal risk level.
    pub service_principal_risk_level: Option<String>,
    /// authenticationRequirement (`singleFactorAuthentication`, `multiFactorAuthentication`).
    pub authentication_requirement: Option<String>,
    /// Whether a second factor succeeded in this sign-in (from authenticationDetails / mfaDetail).
    pub mfa_satisfied: Option<bool>,
    /// Authentication methods that succeeded (authenticationDetails[].authenticationMethod).
    pub authentication_methods: Option<Vec<String>>,
    /// status.errorCode (0 = success).
    pub error_code: Option<i64>,
    /// status.failureReason.
    pub failure_reason: Option<String>,
    /// conditionalAccessStatus (`success`, `failure`, `notApplied`, `unknownFutureValue`).
    pub conditional_access_status: Option<String>,
    /// appliedConditionalAccessPolicies.
    pub applied_policies: Option<Vec<LoggedPolicy>>,
    /// isInteractive.
    pub is_interactive: Option<bool>,
    /// clientCredentialType (`none`, `clientSecret`, `clientAssertion`,
    /// `federatedIdentityCredential`, `managedIdentity`, `certificate`, ...) as logged.
    pub client_credential_type: Option<String>,
    /// Whether the primary (first-factor) authentication was performed in this sign-in
    /// (`Some(true)`) or satisfied by a claim in a presented token (`Some(false)`), from
    /// `authenticationDetails`; `None` when the log does not show it.
    pub primary_auth_fresh: Option<bool>,
    /// The ids of `authenticationContextClassReferences` (authentication contexts applied to
    /// the sign-in, Graph beta); `Some(vec![])` when the log lists none.
    pub authentication_contexts: Option<Vec<String>>,
    /// userAgent.
    pub user_agent: Option<String>,
    /// Which export variant it came from (`graph`, `ndjson`, `diagnostic`, `portal-csv`, ...).
    pub source_variant: Option<String>,
}
