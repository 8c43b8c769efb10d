//! Attacks mixed into the generated sign-ins, each labelled: password spray, impossible travel
//! and token replay from anonymizing networks. What each looks like follows Microsoft's
//! descriptions of the detections (passwordSpray, unlikelyTravel, anonymizedIPAddress,
//! anomalousToken): the signals the log shows, not the attacker's intent.

use super::catalog::{FIRST_FACTOR_INTERACTIVE, OS_ANDROID, OS_MAC, OS_WINDOWS};
use super::rng::Rng;
use super::tenant::{Device, Tenant};

/// One kind of attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// Many users, one common password, from anonymizing networks, often over legacy protocols.
    PasswordSpray,
    /// A stolen password used from a country far from the user's, on a browser.
    ImpossibleTravel,
    /// A stolen refresh token replayed from an anonymizing network (MFA claim in the token).
    TokenReplay,
}

/// Countries far from the tenant's offices (indexes into `COUNTRIES`): US, IN, BR, RU, CN.
const FAR: &[usize] = &[6, 9, 10, 11, 12];

impl Attack {
    /// Draws an attack kind (spray is the most common).
    pub fn pick(r: &mut Rng) -> Attack {
        match r.weighted(&[55.0, 25.0, 20.0]) {
            0 => Attack::PasswordSpray,
            1 => Attack::ImpossibleTravel,
            _ => Attack::TokenReplay,
        }
    }

    /// The name used in the labels file and in riskEventTypes.
    pub fn name(self) -> &'static str {
        match self {
            Attack::PasswordSpray => "passwordSpray",
            Attack::ImpossibleTravel => "impossibleTravel",
            Attack::TokenReplay => "tokenReplay",
        }
    }

    /// The risk detections Entra ID Protection would attach (riskEventTypes_v2).
    pub fn risk_events(self) -> &'static [&'static str] {
        match self {
            Attack::PasswordSpray => &["passwordSpray", "anonymizedIPAddress"],
            Attack::ImpossibleTravel => &["unlikelyTravel", "unfamiliarFeatures"],
            Attack::TokenReplay => &["anomalousToken", "anonymizedIPAddress"],
        }
    }

    /// Whether the sign-in is interactive.
    pub fn interactive(self) -> bool {
        self != Attack::TokenReplay
    }

    /// The client (index as the generator numbers them: 0 browser, 1 mobile and desktop,
    /// 2.. legacy protocols).
    pub fn client(self, r: &mut Rng) -> usize {
        match self {
            // IMAP4 or Authenticated SMTP: legacy protocols skip MFA.
            Attack::PasswordSpray if r.chance(0.6) => 3 + r.below(2),
            Attack::PasswordSpray | Attack::ImpossibleTravel => 0,
            Attack::TokenReplay => 1,
        }
    }

    /// The address (index into `Tenant::ips`).
    pub fn address(self, t: &Tenant, r: &mut Rng) -> usize {
        let anon = t.pool("anon");
        match self {
            Attack::ImpossibleTravel => {
                let c = FAR[r.below(FAR.len())];
                let homes = &t.by_country[c];
                homes[r.below(homes.len())]
            }
            _ if anon.is_empty() => 0,
            _ => anon[r.below(anon.len())],
        }
    }

    /// Weights of the sign-in risk levels none, low, medium, high, hidden.
    pub fn risk_weights(self) -> &'static [f64] {
        match self {
            Attack::PasswordSpray => &[45.0, 25.0, 20.0, 10.0, 0.0],
            Attack::ImpossibleTravel => &[30.0, 20.0, 35.0, 15.0, 0.0],
            Attack::TokenReplay => &[40.0, 10.0, 30.0, 20.0, 0.0],
        }
    }

    /// (authentication methods index, MFA: 0 unknown, 1 single factor, 2 multifactor).
    pub fn authentication(self, r: &mut Rng) -> (usize, usize) {
        match self {
            Attack::PasswordSpray => (4, 1),
            // Some users approve a push they did not start (MFA fatigue).
            Attack::ImpossibleTravel if r.chance(0.2) => (0, 2),
            Attack::ImpossibleTravel => (4, 1),
            Attack::TokenReplay => (99, 2),
        }
    }

    /// The first-factor failure, if the password was wrong.
    pub fn first_factor(self, r: &mut Rng) -> Option<(i64, &'static str)> {
        match self {
            Attack::PasswordSpray if r.chance(0.95) => {
                let t = if r.chance(0.9) {
                    FIRST_FACTOR_INTERACTIVE[0]
                } else {
                    FIRST_FACTOR_INTERACTIVE[1]
                };
                Some((t.0, t.2))
            }
            Attack::ImpossibleTravel if r.chance(0.1) => {
                let t = FIRST_FACTOR_INTERACTIVE[0];
                Some((t.0, t.2))
            }
            _ => None,
        }
    }
}

/// The attackers' own devices: unregistered, unmanaged.
pub fn attacker_devices() -> Vec<Device> {
    [OS_WINDOWS[0], OS_WINDOWS[2], OS_MAC[1], OS_ANDROID[1]]
        .into_iter()
        .map(|os| Device {
            id: None,
            name: None,
            os,
            compliant: Some(false),
            managed: Some(false),
            trust: None,
            mobile: OS_ANDROID.contains(&os),
        })
        .collect()
}
