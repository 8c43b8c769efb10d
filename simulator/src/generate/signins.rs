//! The generated sign-ins, one at a time: users on their devices from home, the offices and
//! abroad, workload identities, first-factor failures, legacy clients, risky sign-ins and
//! labelled attacks. The log's own outcome of each (`status`, `conditionalAccessStatus`,
//! `appliedConditionalAccessPolicies`) is what the policies in force decide, evaluated with
//! vigil's engine once per distinct profile and settled the way Entra, which sees every
//! signal, would have settled what the log alone leaves open.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::attacks::{Attack, attacker_devices};
use super::catalog::{
    self, BROWSER, COUNTRIES, FIRST_FACTOR_INTERACTIVE, FIRST_FACTOR_REFRESH, LEGACY, METHODS,
    MOBILE, OS, OS_WINDOWS, OTHER_CODES, TENANT, browser_of, pick_code, user_agent,
};
use super::logged::{Logged, Texts, settle};
use super::rng::Rng;
use super::tenant::{Device, Pool, Tenant};
use crate::eval::{self, Context};
use crate::model::{Degrees, Policy, SignIn, SignInKind};

/// 2026-01-05T00:00:00Z: the first generated sign-in's day.
const BASE_MS: i64 = 1_767_571_200_000;
/// The generated sign-ins spread over four weeks.
const SPAN_MS: i64 = 28 * 86_400_000;
/// Index of the empty `appliedConditionalAccessPolicies` text (`[]`).
const EMPTY_APPLIED: usize = 0;

fn put(slot: &mut Option<String>, v: Option<&str>) {
    match (slot.as_mut(), v) {
        (_, None) => *slot = None,
        (Some(s), Some(v)) => {
            s.clear();
            s.push_str(v);
        }
        (None, Some(v)) => *slot = Some(v.to_string()),
    }
}

fn put_list(slot: &mut Option<Vec<String>>, v: Option<&[&str]>) {
    *slot = v.map(|items| items.iter().map(|x| (*x).to_string()).collect());
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn rfc3339(ms: i64, out: &mut String) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil(days);
    out.clear();
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    );
}

/// One generated sign-in, borrowed from the stream until the next one.
#[derive(Debug)]
pub struct Generated<'a> {
    /// The normalized record.
    pub signin: &'a SignIn,
    /// Its `appliedConditionalAccessPolicies`, as Graph JSON text.
    pub applied: &'a str,
    /// The attack it is, if it is one.
    pub attack: Option<Attack>,
    /// The AI risk engine's score (0-1) for user sign-ins; `None` for workload identities.
    pub score: Option<f64>,
}

/// A deterministic stream of sign-ins of one tenant.
pub struct SignInStream<'t> {
    tenant: &'t Tenant,
    in_force: &'t [Policy],
    ctx: &'t Context<'t>,
    r: Rng,
    scores: Rng,
    attackers: Vec<Device>,
    attack_rate: f64,
    n: u64,
    i: u64,
    step: f64,
    s: SignIn,
    logged: HashMap<[u32; 20], Logged>,
    texts: Texts,
}

impl<'t> SignInStream<'t> {
    /// `n` sign-ins of `tenant` over four weeks, logged as `in_force` (evaluated in `ctx`)
    /// decides; `attack_rate` of the user sign-ins are attacks.
    pub fn new(
        tenant: &'t Tenant,
        in_force: &'t [Policy],
        ctx: &'t Context<'t>,
        seed: u64,
        n: u64,
        attack_rate: f64,
    ) -> SignInStream<'t> {
        let mut texts = Texts::default();
        texts.intern("[]".to_string());
        SignInStream {
            tenant,
            in_force,
            ctx,
            r: Rng(seed),
            scores: Rng(seed ^ 0x5C0E_5C0E_5C0E_5C0E),
            attackers: attacker_devices(),
            attack_rate,
            n,
            i: 0,
            step: (SPAN_MS as f64 / n.max(1) as f64).max(1.0),
            s: SignIn::default(),
            logged: HashMap::new(),
            texts,
        }
    }

    /// Distinct profiles whose logged outcome was evaluated so far.
    pub fn evaluated_profiles(&self) -> usize {
        self.logged.len()
    }

    /// The next sign-in, or `None` after the last.
    pub fn next_signin(&mut self) -> Option<Generated<'_>> {
        if self.i >= self.n {
            return None;
        }
        let (applied, attack) = self.fill();
        self.i += 1;
        let score = (!matches!(
            self.s.kind,
            Some(SignInKind::ServicePrincipal | SignInKind::ManagedIdentity)
        ))
        .then(|| ai_score(&mut self.scores, &self.s, attack));
        Some(Generated {
            signin: &self.s,
            applied: &self.texts.all[applied],
            attack,
            score,
        })
    }

    /// Fills `self.s` with the next sign-in; returns its applied-policies text and attack.
    #[allow(clippy::too_many_lines)]
    fn fill(&mut self) -> (usize, Option<Attack>) {
        let t = self.tenant;
        let in_force = self.in_force;
        let ctx = self.ctx;
        let attackers = &self.attackers;
        let attack_rate = self.attack_rate;
        let r = &mut self.r;
        let s = &mut self.s;
        let logged = &mut self.logged;
        let texts = &mut self.texts;
        let i = self.i;
        let step = self.step;
        let hq = t.pool("hq");
        let branch = t.pool("branch");
        let vpn = t.pool("vpn");
        let dc = t.pool("dc");
        let blocked = t.pool("blocked");
        let ms = BASE_MS + (i as f64 * step) as i64 + r.below(step.max(1.0) as usize) as i64;
        let id = r.guid();
        let corr = r.guid();
        s.id = id;
        rfc3339(ms, &mut s.created_date_time);
        put(&mut s.correlation_id, Some(&corr));
        put(&mut s.source_variant, Some("graph"));
        // Every field not set below stays null.
        let kind = match r.unit() {
            x if x < 0.006 => SignInKind::ManagedIdentity,
            x if x < 0.05 => SignInKind::ServicePrincipal,
            x if x < 0.33 => SignInKind::InteractiveUser,
            _ => SignInKind::NonInteractiveUser,
        };
        s.kind = Some(kind);
        s.is_interactive = Some(kind == SignInKind::InteractiveUser);
        if matches!(
            kind,
            SignInKind::ServicePrincipal | SignInKind::ManagedIdentity
        ) {
            let mi = kind == SignInKind::ManagedIdentity;
            let p = if mi {
                &t.mis[r.below(t.mis.len())]
            } else {
                &t.sps[r.below(t.sps.len())]
            };
            let app = &t.apps[p.app];
            let res = &app.resources[r.below(app.resources.len())];
            let ip = &t.ips[dc[r.below(dc.len())]];
            for slot in [
                &mut s.user_id,
                &mut s.user_principal_name,
                &mut s.user_type,
                &mut s.cross_tenant_access_type,
                &mut s.client_app_used,
                &mut s.operating_system,
                &mut s.browser,
                &mut s.device_id,
                &mut s.device_display_name,
                &mut s.device_trust_type,
                &mut s.sign_in_risk_level,
                &mut s.risk_level_aggregated,
                &mut s.risk_state,
                &mut s.user_risk_level,
                &mut s.authentication_requirement,
                &mut s.original_transfer_method,
                &mut s.user_agent,
                &mut s.city,
                &mut s.state,
            ] {
                *slot = None;
            }
            s.network_names = None;
            s.trusted_network = None;
            s.device_compliant = None;
            s.device_managed = None;
            s.mfa_satisfied = None;
            s.authentication_methods = None;
            put(&mut s.home_tenant_id, Some(TENANT));
            put(&mut s.resource_tenant_id, Some(TENANT));
            put(&mut s.service_principal_id, Some(&p.id));
            put(&mut s.service_principal_name, Some(&p.name));
            put(&mut s.app_id, Some(&app.id));
            put(&mut s.app_display_name, Some(&p.name));
            put(&mut s.resource_id, Some(&res.0));
            put(&mut s.resource_display_name, Some(&res.1));
            if mi {
                put(&mut s.ip_address, None);
                put(&mut s.country, None);
                put(&mut s.service_principal_risk_level, None);
                put(&mut s.authentication_protocol, None);
            } else {
                put(&mut s.ip_address, Some(&ip.addr));
                put(&mut s.country, Some(COUNTRIES[ip.country].0));
                put(
                    &mut s.service_principal_risk_level,
                    Some(if r.chance(0.9) { "none" } else { "low" }),
                );
                put(&mut s.authentication_protocol, Some("none"));
            }
            let (code, reason) = if !mi && r.chance(0.012) {
                if r.chance(0.7) {
                    (7_000_215, "Invalid client secret provided.")
                } else {
                    (7_000_222, "The provided client secret keys are expired.")
                }
            } else {
                (0, "Other.")
            };
            s.error_code = Some(code);
            put(&mut s.failure_reason, Some(reason));
            put(&mut s.conditional_access_status, Some("notApplied"));
            return (EMPTY_APPLIED, None);
        }

        // A user, or an attacker signing in as one.
        let attack = r.chance(attack_rate).then(|| Attack::pick(r));
        let kind = match attack {
            Some(a) if a.interactive() => SignInKind::InteractiveUser,
            Some(_) => SignInKind::NonInteractiveUser,
            None => kind,
        };
        s.kind = Some(kind);
        s.is_interactive = Some(kind == SignInKind::InteractiveUser);
        let interactive = kind == SignInKind::InteractiveUser;
        // Sprays go down a list of accounts; the other attacks follow stolen credentials of
        // active users.
        let ui = if attack == Some(Attack::PasswordSpray) {
            r.below(t.users.len())
        } else {
            t.user_table.draw(r)
        };
        let u = &t.users[ui];
        // Device: phones for a minority of sign-ins, mostly to mail and chat.
        let phone = u.devices.iter().copied().find(|d| t.devices[*d].mobile);
        let dev_i = match phone {
            // Few: CA005 (app protection on iOS and Android) cannot be decided from a log
            // for any phone sign-in to Office 365, so each is a changed decision of ~20 KB.
            Some(p) if r.chance(0.002) => p,
            _ => u.devices[0],
        };
        let dev = match attack {
            Some(_) => &attackers[r.below(attackers.len())],
            None => &t.devices[dev_i],
        };
        let os_i = if r.chance(0.0005) { OS.len() } else { dev.os };
        let os = OS.get(os_i).copied();
        let app_i = if dev.mobile {
            t.mobile_app_table.draw(r)
        } else {
            t.app_table.draw(r)
        };
        let app = &t.apps[app_i];
        let res_i = r.below(app.resources.len());
        let res = &app.resources[res_i];
        // Client app.
        let client_i: usize = if let Some(a) = attack {
            a.client(r)
        } else if r.chance(0.0002) {
            99
        } else if interactive {
            let x = r.unit();
            if x < 0.02 {
                2 + r.below(LEGACY.len())
            } else if x < if dev.mobile { 0.25 } else { 0.62 } {
                0
            } else {
                1
            }
        } else {
            match r.unit() {
                x if x < 0.004 => 2,
                x if x < 0.13 => 0,
                _ => 1,
            }
        };
        let client = match client_i {
            0 => Some(BROWSER),
            1 => Some(MOBILE),
            99 => None,
            k => Some(LEGACY[k - 2]),
        };
        // Network.
        let ip_i = if let Some(a) = attack {
            a.address(t, r)
        } else if r.chance(0.0004) {
            blocked[r.below(blocked.len())]
        } else if u.office && r.chance(0.5) {
            match r.unit() {
                x if x < 0.6 => hq[r.below(hq.len())],
                x if x < 0.9 => branch[r.below(branch.len())],
                _ => vpn[r.below(vpn.len())],
            }
        } else if r.chance(0.005) {
            // Travel, mostly nearby.
            let c = r.weighted(&[
                30.0, 15.0, 5.0, 15.0, 12.0, 8.0, 6.0, 5.0, 2.0, 1.0, 0.5, 0.3, 0.3,
            ]);
            t.by_country[c][r.below(t.by_country[c].len())]
        } else {
            u.home_ips[r.below(u.home_ips.len())]
        };
        let ip = &t.ips[ip_i];
        let country_i = if r.chance(0.0002) {
            COUNTRIES.len()
        } else {
            ip.country
        };
        let (names, trusted): (Option<&[&str]>, Option<bool>) = match (interactive, ip.pool) {
            (true, Pool::Hq) => (Some(&["Corporate HQ"]), Some(true)),
            (true, Pool::Vpn) => (Some(&["VPN egress"]), Some(true)),
            (true, Pool::Branch) => (Some(&["Branch offices"]), Some(false)),
            _ => (Some(&[]), Some(false)),
        };
        let names_i = match names.map(<[&str]>::len) {
            Some(0) => 0,
            _ => 1 + ip.pool as u32,
        };
        // Risk.
        let sir_i = if let Some(a) = attack {
            r.weighted(a.risk_weights())
        } else if interactive {
            r.weighted(&[94.0, 4.0, 1.5, 0.4, 0.1])
        } else {
            r.weighted(&[99.0, 0.8, 0.2, 0.0, 0.0])
        };
        let sir = ["none", "low", "medium", "high", "hidden"][sir_i];
        let ur_null = r.chance(0.0005);
        // Authentication.
        let (methods_i, mfa_i) = if let Some(a) = attack {
            a.authentication(r)
        } else if interactive {
            let m = match r.unit() {
                x if x < 0.34 => 0,
                x if x < 0.62 && !dev.mobile && OS_WINDOWS.contains(&dev.os) => 1,
                x if x < 0.67 => 2,
                x if x < 0.70 => 3,
                x if x < 0.74 => 4,
                x if x < 0.81 => 5,
                x if x < 0.86 => 6,
                _ => 7,
            };
            (m, if m == 4 { 1 } else { 2 })
        } else {
            match r.unit() {
                x if x < 0.953 => (99, 2),
                x if x < 0.9995 => (99, 1),
                _ => (99, 0),
            }
        };
        let transfer_i = match r.unit() {
            x if x < 0.0015 && interactive => 1,
            x if x < 0.002 && interactive => 2,
            x if x < 0.007 => 3,
            x if x < 0.0071 => 4,
            _ => 0,
        };
        // Outcome class: first-factor failure, a non-CA code, or Conditional Access decides.
        let blocked_ip = ip.pool == Pool::Blocked;
        let outcome = if let Some(a) = attack {
            a.first_factor(r)
        } else if blocked_ip && r.chance(0.8) {
            Some((50126, FIRST_FACTOR_INTERACTIVE[0].2))
        } else if interactive && r.chance(0.055) {
            Some(pick_code(r, FIRST_FACTOR_INTERACTIVE))
        } else if !interactive && r.chance(0.015) {
            Some(pick_code(r, FIRST_FACTOR_REFRESH))
        } else {
            None
        };
        let other = if outcome.is_none() && r.chance(if interactive { 0.002 } else { 0.0002 }) {
            Some(pick_code(r, OTHER_CODES))
        } else {
            None
        };

        // Analysts confirm some attacks that got past the password and dismiss some risky
        // sign-ins that were the user after all.
        let risk_state = match attack {
            Some(_) if outcome.is_none() && r.chance(0.5) => "confirmedCompromised",
            Some(_) => "atRisk",
            None if matches!(sir, "medium" | "high") && r.chance(0.4) => "dismissed",
            None if matches!(sir, "medium" | "high") => "atRisk",
            None => "none",
        };

        // Fill the record.
        put(&mut s.user_id, Some(&u.id));
        put(&mut s.user_principal_name, Some(&u.upn));
        put(
            &mut s.user_type,
            Some(if u.guest { "Guest" } else { "Member" }),
        );
        let home = u.home_tenant.map_or(TENANT, |h| t.partners[h].as_str());
        put(&mut s.home_tenant_id, Some(home));
        put(&mut s.resource_tenant_id, Some(TENANT));
        put(
            &mut s.cross_tenant_access_type,
            Some(if u.guest { "b2bCollaboration" } else { "none" }),
        );
        put(&mut s.service_principal_id, None);
        put(&mut s.service_principal_name, None);
        put(&mut s.service_principal_risk_level, None);
        put(&mut s.app_id, Some(&app.id));
        put(&mut s.app_display_name, Some(&app.name));
        put(&mut s.resource_id, Some(&res.0));
        put(&mut s.resource_display_name, Some(&res.1));
        put(&mut s.ip_address, Some(&ip.addr));
        let country = COUNTRIES.get(country_i);
        put(&mut s.country, country.map(|c| c.0));
        put(&mut s.city, country.map(|c| c.2[ip_i % c.2.len()]));
        let at = s.city.as_deref().and_then(catalog::city_coordinates);
        s.latitude = at.map(|a| Degrees(a.0));
        s.longitude = at.map(|a| Degrees(a.1));
        put(&mut s.state, country.map(|c| c.3));
        put_list(&mut s.network_names, names);
        s.trusted_network = trusted;
        put(&mut s.client_app_used, client);
        put(&mut s.operating_system, os);
        put(
            &mut s.browser,
            os.and_then(|o| browser_of(o, client.unwrap_or(""))),
        );
        put(&mut s.device_id, dev.id.as_deref());
        put(&mut s.device_display_name, dev.name.as_deref());
        s.device_compliant = dev.compliant;
        s.device_managed = dev.managed;
        put(&mut s.device_trust_type, dev.trust);
        put(
            &mut s.authentication_protocol,
            Some(match transfer_i {
                1 => "deviceCode",
                3 => "ropc",
                _ if ms % 37 == 0 => "wsFederation",
                _ => "none",
            }),
        );
        put(
            &mut s.original_transfer_method,
            match transfer_i {
                1 => Some("deviceCodeFlow"),
                2 => Some("authenticationTransfer"),
                3 | 4 => None,
                _ => Some("none"),
            },
        );
        if transfer_i == 4 {
            put(&mut s.authentication_protocol, None);
        }
        put(&mut s.sign_in_risk_level, Some(sir));
        put(
            &mut s.risk_level_aggregated,
            Some(if sir == "hidden" { "hidden" } else { sir }),
        );
        put(&mut s.risk_state, Some(risk_state));
        // The detections Entra ID Protection would attach (none on an ordinary sign-in).
        let events = s.risk_event_types.get_or_insert_with(Vec::new);
        events.clear();
        events.extend(
            attack
                .map_or(&[][..], |a| a.risk_events())
                .iter()
                .map(|e| (*e).to_string()),
        );
        put(
            &mut s.user_risk_level,
            if ur_null { None } else { Some(u.user_risk) },
        );
        put(
            &mut s.user_agent,
            os.map(|o| user_agent(o, client.unwrap_or(""))),
        );

        // The log's view of authentication, before the outcome is known.
        let methods = METHODS.get(methods_i).copied();
        put_list(&mut s.authentication_methods, methods);
        s.mfa_satisfied = [None, Some(false), Some(true)][mfa_i];
        put(
            &mut s.authentication_requirement,
            Some(if mfa_i == 2 {
                "multiFactorAuthentication"
            } else {
                "singleFactorAuthentication"
            }),
        );

        if let Some((code, reason)) = outcome {
            // Primary authentication failed: Conditional Access never ran.
            s.error_code = Some(code);
            put(&mut s.failure_reason, Some(reason));
            put(&mut s.conditional_access_status, Some("notApplied"));
            s.mfa_satisfied = None;
            put_list(
                &mut s.authentication_methods,
                interactive.then_some(&[][..]),
            );
            put(
                &mut s.authentication_requirement,
                Some("singleFactorAuthentication"),
            );
            return (EMPTY_APPLIED, attack);
        }
        s.error_code = Some(other.map_or(0, |o| o.0));
        let dev_class = (dev.os as u32)
            | (u32::from(dev.compliant == Some(true)) << 5)
            | (u32::from(dev.managed == Some(true)) << 6)
            | (u32::from(dev.id.is_some()) << 7)
            | (match dev.trust {
                Some("Hybrid Azure AD joined") => 1,
                Some("Azure AD joined") => 2,
                Some(_) => 3,
                None => 0,
            } << 8);
        let key: [u32; 20] = [
            u.profile,
            u32::from(interactive),
            app.class,
            res.2,
            client_i as u32,
            dev_class,
            os_i as u32,
            ip.pool as u32,
            0,
            country_i as u32,
            names_i,
            u32::from(trusted == Some(true)),
            sir_i as u32,
            if ur_null {
                9
            } else {
                ["none", "low", "medium", "high"]
                    .iter()
                    .position(|x| *x == u.user_risk)
                    .unwrap_or(0) as u32
            },
            mfa_i as u32,
            methods_i as u32,
            transfer_i as u32,
            other.map_or(0, |o| o.0 as u32),
            u32::from(ip.addr.contains(':')),
            0,
        ];
        let l = logged
            .entry(key)
            .or_insert_with(|| settle(in_force, &eval::evaluate(in_force, s, ctx), texts));
        match l.status {
            0 => {
                put(&mut s.conditional_access_status, Some("notApplied"));
                put(&mut s.failure_reason, Some(other.map_or("Other.", |o| o.1)));
            }
            1 => {
                put(&mut s.conditional_access_status, Some("success"));
                put(&mut s.failure_reason, Some(other.map_or("Other.", |o| o.1)));
            }
            2 => {
                // Prompted and not completed: the MFA requirement was not met.
                s.error_code = Some(if interactive { 50074 } else { 50076 });
                s.mfa_satisfied = Some(false);
                put(&mut s.conditional_access_status, Some("failure"));
                put(
                    &mut s.failure_reason,
                    Some("Strong Authentication is required."),
                );
            }
            _ => {
                s.error_code = Some(l.block_code);
                if s.mfa_satisfied != Some(true) {
                    s.mfa_satisfied = None;
                }
                put(&mut s.conditional_access_status, Some("failure"));
                put(
                    &mut s.failure_reason,
                    Some("Access has been blocked by Conditional Access policies."),
                );
            }
        }
        (l.applied, attack)
    }
}

/// The AI risk engine's score: attacks mostly high, a minority missed; ordinary sign-ins
/// mostly low, higher when risky, legacy or failed, with a few false alarms. Rounded to 0.001.
fn ai_score(r: &mut Rng, s: &SignIn, attack: Option<Attack>) -> f64 {
    let x = match attack {
        Some(_) if r.chance(0.8) => 0.45 + 0.55 * r.unit().powf(0.7),
        Some(_) => 0.05 + 0.35 * r.unit(),
        // False alarms: a new device, a trip, an odd hour.
        None if r.chance(0.01) => 0.4 + 0.5 * r.unit(),
        None => {
            let mut x = 0.35 * r.unit().powf(2.5);
            if matches!(s.sign_in_risk_level.as_deref(), Some("medium" | "high")) {
                x += 0.25 * r.unit();
            }
            if s.client_app_used
                .as_deref()
                .is_some_and(|c| c != BROWSER && c != MOBILE)
            {
                x += 0.15 * r.unit();
            }
            if s.error_code.is_some_and(|c| c != 0) {
                x += 0.1 * r.unit();
            }
            x
        }
    };
    (x.clamp(0.0, 0.999) * 1000.0).round() / 1000.0
}
