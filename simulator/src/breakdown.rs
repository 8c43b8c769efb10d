//! The breakdowns of a simulation that its report shows beside the contract's counts: who,
//! what, where and when the changed sign-ins were ([`ChangeTally`]), and what each candidate
//! policy did ([`ImpactTally`]). Both replay paths (row by row and columnar) fill them through
//! these types, so summary.json holds the same numbers whichever path ran.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::columnar::FxMap;
use crate::eval::{Effect, PolicyResult};
use crate::model::Policy;

/// How many users, applications and countries the summary lists.
pub const TOP: usize = 10;

/// Overall statuses in the order the contract combines them (least restrictive first).
pub const STATUSES: [&str; 5] = [
    "notApplied",
    "success",
    "interrupted",
    "failure",
    "indeterminate",
];

fn status_slot(s: &str) -> usize {
    STATUSES.iter().position(|x| *x == s).unwrap_or(4)
}

/// The UTC day (`YYYY-MM-DD`) of an RFC 3339 UTC time, or `unknown` when it has none.
pub fn utc_day(created: &str) -> &str {
    let b = created.as_bytes();
    let shaped = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..10]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if shaped { &created[..10] } else { "unknown" }
}

fn bump(m: &mut FxMap<String, u64>, k: &str, by: u64) {
    match m.get_mut(k) {
        Some(n) => *n += by,
        None => {
            m.insert(k.to_string(), by);
        }
    }
}

/// What a changed sign-in is counted by, besides its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// [`Changed::user`].
    User,
    /// [`Changed::app`].
    App,
    /// [`Changed::country`].
    Country,
}

/// The `n` largest counts, ties by name.
fn top(m: FxMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Counts of the sign-ins whose status changed, by user, application, country and UTC day.
#[derive(Default)]
pub struct ChangeTally {
    users: FxMap<String, u64>,
    apps: FxMap<String, u64>,
    countries: FxMap<String, u64>,
    days: FxMap<String, [u64; 5]>,
}

/// One changed sign-in, as the tally reads it (`None` where the log does not say).
pub struct Changed<'a> {
    /// UPN, else user id, else service principal name.
    pub user: Option<&'a str>,
    /// Application display name, else app id.
    pub app: Option<&'a str>,
    /// location.countryOrRegion.
    pub country: Option<&'a str>,
    /// createdDateTime (RFC 3339 UTC).
    pub created: &'a str,
    /// The candidate's overall status.
    pub candidate: &'a str,
}

/// What [`ChangeTally`] found.
pub struct Changes {
    /// Users with the most changed sign-ins.
    pub users: Vec<(String, u64)>,
    /// Applications with the most changed sign-ins.
    pub apps: Vec<(String, u64)>,
    /// Countries with the most changed sign-ins.
    pub countries: Vec<(String, u64)>,
    /// Per UTC day: changed sign-ins by the candidate's status.
    pub by_day: BTreeMap<String, BTreeMap<String, u64>>,
}

impl ChangeTally {
    /// Counts one changed sign-in.
    pub fn add(&mut self, c: &Changed) {
        self.count(Dim::User, c.user, 1);
        self.count(Dim::App, c.app, 1);
        self.count(Dim::Country, c.country, 1);
        self.count_day(c.created, c.candidate);
    }

    /// Counts `n` changed sign-ins of one user, application or country (`None` where the log
    /// does not say), for callers that count by something cheaper than text first.
    pub fn count(&mut self, dim: Dim, key: Option<&str>, n: u64) {
        let m = match dim {
            Dim::User => &mut self.users,
            Dim::App => &mut self.apps,
            Dim::Country => &mut self.countries,
        };
        bump(m, key.unwrap_or("(unknown)"), n);
    }

    /// Counts one changed sign-in on its UTC day, by the candidate's status.
    pub fn count_day(&mut self, created: &str, candidate: &str) {
        let day = utc_day(created);
        let slot = status_slot(candidate);
        match self.days.get_mut(day) {
            Some(d) => d[slot] += 1,
            None => {
                let mut d = [0; 5];
                d[slot] = 1;
                self.days.insert(day.to_string(), d);
            }
        }
    }

    /// The top lists and the timeline.
    pub fn finish(self) -> Changes {
        let by_day = self
            .days
            .into_iter()
            .map(|(day, counts)| {
                let m = STATUSES
                    .iter()
                    .zip(counts)
                    .filter(|(_, n)| *n > 0)
                    .map(|(s, n)| ((*s).to_string(), n))
                    .collect();
                (day, m)
            })
            .collect();
        Changes {
            users: top(self.users, TOP),
            apps: top(self.apps, TOP),
            countries: top(self.countries, TOP),
            by_day,
        }
    }
}

/// What one candidate policy did over the replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyImpact {
    /// Policy id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// Policy state (`enabled`, `enabledForReportingButNotEnforced`, `disabled`).
    pub state: String,
    /// Sign-ins the policy applied to (report-only: would have applied to).
    pub applied: u64,
    /// Of those, sign-ins it blocked (would have blocked).
    pub blocked: u64,
    /// Of those, sign-ins it prompted for a control (would have prompted).
    pub prompted: u64,
    /// Sign-ins whose log could not decide the policy.
    pub indeterminate: u64,
}

/// One policy result reduced to what [`PolicyImpact`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImpactClass {
    applied: bool,
    blocked: bool,
    prompted: bool,
    indeterminate: bool,
}

impl ImpactClass {
    /// The class of one evaluated policy result.
    pub fn of(r: &PolicyResult) -> ImpactClass {
        if r.result == "indeterminate" {
            return ImpactClass {
                indeterminate: true,
                ..ImpactClass::default()
            };
        }
        if r.result == "notEnabled" {
            return ImpactClass::default();
        }
        match r.effects.single() {
            Some(Effect::Success) => ImpactClass {
                applied: true,
                ..ImpactClass::default()
            },
            Some(Effect::Interrupted) => ImpactClass {
                applied: true,
                prompted: true,
                ..ImpactClass::default()
            },
            Some(Effect::Failure) => ImpactClass {
                applied: true,
                blocked: true,
                ..ImpactClass::default()
            },
            Some(Effect::NotApplied) | None => ImpactClass::default(),
        }
    }
}

/// Per candidate policy, in input order: what it applied to, blocked, prompted, left undecided.
pub struct ImpactTally {
    rows: Vec<PolicyImpact>,
}

impl ImpactTally {
    /// An empty tally for `policies`.
    pub fn new(policies: &[Policy]) -> ImpactTally {
        ImpactTally {
            rows: policies
                .iter()
                .map(|p| PolicyImpact {
                    id: p.id.clone(),
                    display_name: p.display_name.clone(),
                    state: p.state.as_str().to_string(),
                    ..PolicyImpact::default()
                })
                .collect(),
        }
    }

    /// Adds `m` sign-ins whose policy `index` came out as `class`.
    pub fn add(&mut self, index: usize, class: ImpactClass, m: u64) {
        if let Some(r) = self.rows.get_mut(index) {
            r.applied += u64::from(class.applied) * m;
            r.blocked += u64::from(class.blocked) * m;
            r.prompted += u64::from(class.prompted) * m;
            r.indeterminate += u64::from(class.indeterminate) * m;
        }
    }

    /// The rows, in policy order.
    pub fn finish(self) -> Vec<PolicyImpact> {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::{ChangeTally, Changed, utc_day};

    #[test]
    fn days_come_from_the_utc_time_and_odd_times_are_unknown() {
        assert_eq!(utc_day("2026-01-05T14:23:45.123Z"), "2026-01-05");
        assert_eq!(utc_day("2026-01-05"), "2026-01-05");
        assert_eq!(utc_day(""), "unknown");
        assert_eq!(utc_day("11/14/2025 1:48"), "unknown");
        assert_eq!(utc_day("2026-0a-05T00:00:00Z"), "unknown");
    }

    #[test]
    fn the_timeline_splits_each_day_by_the_new_status() {
        let mut t = ChangeTally::default();
        for (created, status, country) in [
            ("2026-01-05T01:00:00Z", "failure", Some("DE")),
            ("2026-01-05T23:59:59Z", "failure", Some("DE")),
            ("2026-01-05T12:00:00Z", "interrupted", None),
            ("2026-01-07T00:00:00Z", "success", Some("FR")),
        ] {
            t.add(&Changed {
                user: Some("a@x"),
                app: None,
                country,
                created,
                candidate: status,
            });
        }
        let c = t.finish();
        assert_eq!(c.by_day.len(), 2);
        assert_eq!(c.by_day["2026-01-05"]["failure"], 2);
        assert_eq!(c.by_day["2026-01-05"]["interrupted"], 1);
        assert!(!c.by_day["2026-01-05"].contains_key("success"));
        assert_eq!(c.by_day["2026-01-07"]["success"], 1);
        assert_eq!(c.countries[0], ("DE".to_string(), 2));
        assert_eq!(c.apps, vec![("(unknown)".to_string(), 4)]);
    }
}
