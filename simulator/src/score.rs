//! The baseline risk scorer behind `vigil score`: an explainable, deterministic score in 0-1 for
//! every sign-in, from a handful of features computed over each user's sign-ins in time order.
//!
//! | feature | weight | fires when |
//! |---|---|---|
//! | impossible travel | 0.60 | the speed from the user's previous located sign-in exceeds 900 km/h |
//! | first-seen country | 0.30 | a country none of the user's earlier sign-ins came from |
//! | first-seen device | 0.15 | a deviceId (else OS + browser name) not seen before for the user |
//! | first-seen app | 0.10 | an application not seen before for the user |
//! | legacy client | 0.35 | clientAppUsed other than Browser / Mobile Apps and Desktop clients |
//! | failure burst | 0.50 | a success after >= 3 failures of the user in the preceding 30 minutes |
//! | risk event | 0.50 | the record carries a risk event type (e.g. anonymizedIPAddress) |
//!
//! The score is `1 - prod(1 - w_i)` over the features that fire, so it stays in 0-1 and grows
//! with every further piece of evidence. "First-seen" features never fire on a user's first
//! sign-in (there is nothing to compare with). Distances come from geo coordinates when the
//! record has them (great-circle), else from a built-in table of country reference points when
//! the country changes ([`UNKNOWN_COUNTRY_KM`] when either country is not in the table).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::model::SignIn;

/// Weight of impossible travel.
pub const W_IMPOSSIBLE_TRAVEL: f64 = 0.60;
/// Weight of a first-seen country.
pub const W_NEW_COUNTRY: f64 = 0.30;
/// Weight of a first-seen device.
pub const W_NEW_DEVICE: f64 = 0.15;
/// Weight of a first-seen application.
pub const W_NEW_APP: f64 = 0.10;
/// Weight of a legacy client.
pub const W_LEGACY_CLIENT: f64 = 0.35;
/// Weight of a burst of failures before a success.
pub const W_FAILURE_BURST: f64 = 0.50;
/// Weight of a risk event type on the record.
pub const W_RISK_EVENT: f64 = 0.50;

/// Speed above which travel between two sign-ins is impossible (km/h).
pub const MAX_SPEED_KMH: f64 = 900.0;
/// Distances below this (km) never count as travel (geo-IP jitter).
pub const MIN_TRAVEL_KM: f64 = 50.0;
/// Distance assumed for a change between countries of which one is not in the built-in table.
pub const UNKNOWN_COUNTRY_KM: f64 = 500.0;
/// Failures needed before a success for a burst.
pub const BURST_FAILURES: usize = 3;
/// How far back failures count for a burst (seconds).
pub const BURST_WINDOW_SECS: i64 = 30 * 60;

/// The `model` column of the scores file.
pub fn model_name() -> String {
    format!("vigil-baseline {}", env!("CARGO_PKG_VERSION"))
}

/// What the scorer reads of one sign-in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// Sign-in id.
    pub id: String,
    /// The user (lower-cased object id, else UPN); `None` scores the sign-in without history.
    pub user: Option<String>,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// ISO alpha-2 country.
    pub country: Option<String>,
    /// (latitude, longitude) in degrees, when the log carries them.
    pub coords: Option<(f64, f64)>,
    /// deviceId, else `OS / browser name`.
    pub device: Option<String>,
    /// appId, else appDisplayName.
    pub app: Option<String>,
    /// clientAppUsed as logged.
    pub client_app: Option<String>,
    /// `Some(true)` for errorCode 0, `Some(false)` for any other code.
    pub success: Option<bool>,
    /// Risk event types on the record (e.g. `anonymizedIPAddress`).
    pub risk_event_types: Vec<String>,
}

fn nonempty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The browser's name without its version (`Edge 131.0.0` -> `edge`).
fn browser_name(b: &str) -> String {
    b.split_whitespace()
        .take_while(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

impl Event {
    /// The features' view of a sign-in. `Err` when its time is not RFC 3339.
    pub fn from_signin(s: &SignIn) -> Result<Event, String> {
        let ts: jiff::Timestamp = s.created_date_time.parse().map_err(|_| {
            format!(
                "sign-in {}: createdDateTime {:?} is not an RFC 3339 time",
                s.id, s.created_date_time
            )
        })?;
        let device = nonempty(s.device_id.as_ref()).or_else(|| {
            let os = nonempty(s.operating_system.as_ref()).map(|o| o.to_ascii_lowercase());
            let br = nonempty(s.browser.as_ref())
                .map(|b| browser_name(&b))
                .filter(|b| !b.is_empty());
            match (os, br) {
                (None, None) => None,
                (o, b) => Some(format!(
                    "{} / {}",
                    o.unwrap_or_default(),
                    b.unwrap_or_default()
                )),
            }
        });
        Ok(Event {
            id: s.id.clone(),
            user: nonempty(s.user_id.as_ref())
                .or_else(|| nonempty(s.user_principal_name.as_ref()))
                .map(|u| u.to_ascii_lowercase()),
            time: ts.as_second(),
            country: nonempty(s.country.as_ref()).map(|c| c.to_ascii_uppercase()),
            coords: s.latitude.zip(s.longitude).map(|(lat, lon)| (lat.0, lon.0)),
            device,
            app: nonempty(s.app_id.as_ref())
                .or_else(|| nonempty(s.app_display_name.as_ref()))
                .map(|a| a.to_ascii_lowercase()),
            client_app: nonempty(s.client_app_used.as_ref()),
            success: s.error_code.map(|c| c == 0),
            risk_event_types: s.risk_event_types.clone().unwrap_or_default(),
        })
    }
}

/// One scored sign-in.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Sign-in id.
    pub id: String,
    /// 0-1.
    pub score: f64,
    /// One human-readable reason per feature that fired, in the table's order.
    pub reasons: Vec<String>,
}

impl Scored {
    /// `none` (0), `low` (< 0.4), `medium` (< 0.7) or `high`.
    pub fn risk_level(&self) -> &'static str {
        if self.score <= 0.0 {
            "none"
        } else if self.score < 0.4 {
            "low"
        } else if self.score < 0.7 {
            "medium"
        } else {
            "high"
        }
    }

    /// `allow` (< 0.3), `review` (< 0.5), `mfa` (< 0.8) or `block`.
    pub fn recommended_action(&self) -> &'static str {
        if self.score < 0.3 {
            "allow"
        } else if self.score < 0.5 {
            "review"
        } else if self.score < 0.8 {
            "mfa"
        } else {
            "block"
        }
    }

    /// The reasons as one text.
    pub fn reasoning(&self) -> String {
        if self.reasons.is_empty() {
            "no baseline feature fired".into()
        } else {
            self.reasons.join("; ")
        }
    }
}

/// Great-circle distance in km.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6371.0;
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

/// Reference point (capital, approximately) of a country, by ISO alpha-2 code.
pub fn country_point(code: &str) -> Option<(f64, f64)> {
    Some(match code {
        "AE" => (24.45, 54.38),
        "AR" => (-34.60, -58.38),
        "AT" => (48.21, 16.37),
        "AU" => (-35.28, 149.13),
        "BE" => (50.85, 4.35),
        "BG" => (42.70, 23.32),
        "BR" => (-15.79, -47.88),
        "BY" => (53.90, 27.57),
        "CA" => (45.42, -75.70),
        "CH" => (46.95, 7.45),
        "CN" => (39.90, 116.40),
        "CO" => (4.71, -74.07),
        "CZ" => (50.08, 14.44),
        "DE" => (52.52, 13.40),
        "DK" => (55.68, 12.57),
        "EG" => (30.04, 31.24),
        "ES" => (40.42, -3.70),
        "FI" => (60.17, 24.94),
        "FR" => (48.86, 2.35),
        "GB" => (51.51, -0.13),
        "GR" => (37.98, 23.73),
        "HK" => (22.32, 114.17),
        "HU" => (47.50, 19.04),
        "ID" => (-6.21, 106.85),
        "IE" => (53.35, -6.26),
        "IL" => (31.77, 35.21),
        "IN" => (28.61, 77.21),
        "IR" => (35.69, 51.39),
        "IT" => (41.90, 12.50),
        "JP" => (35.68, 139.69),
        "KP" => (39.04, 125.76),
        "KR" => (37.57, 126.98),
        "LU" => (49.61, 6.13),
        "MX" => (19.43, -99.13),
        "MY" => (3.15, 101.69),
        "NG" => (9.08, 7.40),
        "NL" => (52.37, 4.90),
        "NO" => (59.91, 10.75),
        "NZ" => (-41.29, 174.78),
        "PH" => (14.60, 120.98),
        "PK" => (33.68, 73.05),
        "PL" => (52.23, 21.01),
        "PT" => (38.72, -9.14),
        "RO" => (44.43, 26.10),
        "RU" => (55.76, 37.62),
        "SA" => (24.71, 46.68),
        "SE" => (59.33, 18.07),
        "SG" => (1.35, 103.82),
        "TH" => (13.76, 100.50),
        "TR" => (39.93, 32.86),
        "TW" => (25.03, 121.57),
        "UA" => (50.45, 30.52),
        "US" => (38.91, -77.04),
        "VN" => (21.03, 105.85),
        "ZA" => (-25.75, 28.19),
        _ => return None,
    })
}

/// Distance between two sign-ins' locations in km, and how it was found; `None` when either
/// lacks a location.
fn distance(a: &Event, b: &Event) -> Option<(f64, &'static str)> {
    if let (Some(p), Some(q)) = (a.coords, b.coords) {
        return Some((haversine_km(p, q), "geo coordinates"));
    }
    let (ca, cb) = (a.country.as_deref()?, b.country.as_deref()?);
    if ca == cb {
        return Some((0.0, "same country"));
    }
    Some(match (country_point(ca), country_point(cb)) {
        (Some(p), Some(q)) => (haversine_km(p, q), "country reference points"),
        _ => (UNKNOWN_COUNTRY_KM, "country change (assumed distance)"),
    })
}

fn is_modern_client(c: &str) -> bool {
    let n: String = c
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    n == "browser" || n == "mobileappsanddesktopclients"
}

/// Per-user state while walking the user's sign-ins in time order.
#[derive(Default)]
struct History<'a> {
    seen: bool,
    last_located: Option<&'a Event>,
    countries: HashSet<&'a str>,
    devices: HashSet<&'a str>,
    apps: HashSet<&'a str>,
    failures: Vec<i64>,
}

/// Scores sign-ins: sorts them by (user, time, id) and returns one [`Scored`] per event, in that
/// order. Events with the same id after the first are dropped (their count is returned).
pub fn score(mut events: Vec<Event>) -> (Vec<Scored>, usize) {
    events.sort_by(|a, b| {
        a.user
            .cmp(&b.user)
            .then(a.time.cmp(&b.time))
            .then(a.id.cmp(&b.id))
    });
    let mut ids: HashSet<String> = HashSet::new();
    let before = events.len();
    events.retain(|e| ids.insert(e.id.to_ascii_lowercase()));
    let duplicates = before - events.len();
    let mut histories: HashMap<&str, History> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in &events {
        let mut nobody = History::default();
        let h = match e.user.as_deref() {
            Some(u) => histories.entry(u).or_default(),
            None => &mut nobody,
        };
        let mut fired: Vec<(f64, String)> = Vec::new();
        // Impossible travel.
        if let Some(prev) = h.last_located
            && let Some((km, how)) = distance(prev, e)
            && km >= MIN_TRAVEL_KM
        {
            let hours = (e.time - prev.time) as f64 / 3600.0;
            let speed = if hours > 0.0 {
                km / hours
            } else {
                f64::INFINITY
            };
            if speed > MAX_SPEED_KMH {
                let from = prev.country.as_deref().unwrap_or("?");
                let to = e.country.as_deref().unwrap_or("?");
                fired.push((
                    W_IMPOSSIBLE_TRAVEL,
                    format!(
                        "impossible travel: {km:.0} km ({how}, {from} -> {to}) in {:.0} min since the previous sign-in ({}) > {MAX_SPEED_KMH:.0} km/h",
                        hours * 60.0,
                        if speed.is_finite() {
                            format!("{speed:.0} km/h")
                        } else {
                            "no time".into()
                        }
                    ),
                ));
            }
        }
        // First-seen country, device, app.
        if h.seen {
            if let Some(c) = e.country.as_deref()
                && !h.countries.is_empty()
                && !h.countries.contains(c)
            {
                fired.push((
                    W_NEW_COUNTRY,
                    format!("first sign-in from country {c} for this user"),
                ));
            }
            if let Some(d) = e.device.as_deref()
                && !h.devices.is_empty()
                && !h.devices.contains(d)
            {
                fired.push((
                    W_NEW_DEVICE,
                    format!("first sign-in from device {d} for this user"),
                ));
            }
            if let Some(a) = e.app.as_deref()
                && !h.apps.is_empty()
                && !h.apps.contains(a)
            {
                fired.push((W_NEW_APP, format!("first sign-in to app {a} for this user")));
            }
        }
        // Legacy client.
        if let Some(c) = e.client_app.as_deref()
            && !is_modern_client(c)
        {
            fired.push((W_LEGACY_CLIENT, format!("legacy client {c}")));
        }
        // Failure burst before a success.
        if e.success == Some(true) {
            let recent = h
                .failures
                .iter()
                .filter(|t| **t >= e.time - BURST_WINDOW_SECS && **t <= e.time)
                .count();
            if recent >= BURST_FAILURES {
                fired.push((
                    W_FAILURE_BURST,
                    format!(
                        "success after {recent} failed sign-ins in the preceding {} minutes",
                        BURST_WINDOW_SECS / 60
                    ),
                ));
            }
        }
        // Risk events on the record.
        if !e.risk_event_types.is_empty() {
            fired.push((
                W_RISK_EVENT,
                format!("risk events: {}", e.risk_event_types.join(", ")),
            ));
        }
        let keep = fired.iter().fold(1.0, |acc, (w, _)| acc * (1.0 - w));
        let score = (1.0 - keep).clamp(0.0, 1.0);
        out.push(Scored {
            id: e.id.clone(),
            score,
            reasons: fired
                .into_iter()
                .map(|(w, r)| format!("{r} (+{w:.2})"))
                .collect(),
        });
        // Update the history.
        h.seen = true;
        if e.coords.is_some() || e.country.is_some() {
            h.last_located = Some(e);
        }
        if let Some(c) = e.country.as_deref() {
            h.countries.insert(c);
        }
        if let Some(d) = e.device.as_deref() {
            h.devices.insert(d);
        }
        if let Some(a) = e.app.as_deref() {
            h.apps.insert(a);
        }
        if e.success == Some(false) {
            h.failures.push(e.time);
        }
    }
    (out, duplicates)
}

/// The scores file `simulate --scores` and `vigil sweep --scores` read: CSV with signInId,
/// score (0-1, four decimals), riskLevel, reasoning, recommendedAction and model.
pub fn to_csv(scored: &[Scored]) -> Result<String, String> {
    let model = model_name();
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| e.to_string();
    w.write_record([
        "signInId",
        "score",
        "riskLevel",
        "reasoning",
        "recommendedAction",
        "model",
    ])
    .map_err(err)?;
    let mut num = String::new();
    for s in scored {
        num.clear();
        let _ = write!(num, "{:.4}", s.score);
        w.write_record([
            s.id.as_str(),
            num.as_str(),
            s.risk_level(),
            s.reasoning().as_str(),
            s.recommended_action(),
            model.as_str(),
        ])
        .map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A successful browser sign-in of `user` at minute `min` from `country`.
    fn ev(id: &str, user: &str, min: i64, country: &str) -> Event {
        Event {
            id: id.into(),
            user: Some(user.into()),
            time: 1_767_225_600 + min * 60,
            country: Some(country.into()),
            coords: None,
            device: Some("d1".into()),
            app: Some("app1".into()),
            client_app: Some("Browser".into()),
            success: Some(true),
            risk_event_types: Vec::new(),
        }
    }

    fn by_id<'a>(s: &'a [Scored], id: &str) -> &'a Scored {
        s.iter().find(|x| x.id == id).unwrap()
    }

    fn has(s: &Scored, what: &str) -> bool {
        s.reasons.iter().any(|r| r.starts_with(what))
    }

    // Berlin; a point ~1000 km east-north-east; a point ~100 km away.
    const BERLIN: (f64, f64) = (52.52, 13.40);

    #[test]
    fn haversine_is_about_right() {
        let paris = (48.86, 2.35);
        let d = haversine_km(BERLIN, paris);
        assert!((870.0..890.0).contains(&d), "{d}");
    }

    #[test]
    fn impossible_travel_triggers_at_1000_km_in_30_min() {
        let a = Event {
            coords: Some(BERLIN),
            ..ev("a", "u", 0, "DE")
        };
        // 9 degrees of latitude north = ~1000 km.
        let b = Event {
            coords: Some((BERLIN.0 + 9.0, BERLIN.1)),
            ..ev("b", "u", 30, "DE")
        };
        assert!((990.0..1010.0).contains(&haversine_km(a.coords.unwrap(), b.coords.unwrap())));
        let (s, _) = score(vec![b, a]);
        assert!(
            has(by_id(&s, "b"), "impossible travel"),
            "{:?}",
            by_id(&s, "b")
        );
        assert!(!has(by_id(&s, "a"), "impossible travel"));
        assert!((by_id(&s, "b").score - W_IMPOSSIBLE_TRAVEL).abs() < 1e-12);
    }

    #[test]
    fn impossible_travel_does_not_trigger_at_100_km_in_5_h() {
        let a = Event {
            coords: Some(BERLIN),
            ..ev("a", "u", 0, "DE")
        };
        // 0.9 degrees of latitude = ~100 km.
        let b = Event {
            coords: Some((BERLIN.0 + 0.9, BERLIN.1)),
            ..ev("b", "u", 300, "DE")
        };
        let (s, _) = score(vec![a, b]);
        assert!(!has(by_id(&s, "b"), "impossible travel"));
        assert_eq!(by_id(&s, "b").score, 0.0);
    }

    #[test]
    fn impossible_travel_falls_back_to_the_country_change() {
        // Berlin to Brasilia (~9,600 km) in one hour: impossible; to Paris in 5 h: fine.
        let (s, _) = score(vec![
            ev("a", "u", 0, "DE"),
            ev("b", "u", 60, "BR"),
            ev("c", "v", 0, "DE"),
            ev("d", "v", 300, "FR"),
        ]);
        assert!(has(by_id(&s, "b"), "impossible travel"));
        assert!(!has(by_id(&s, "d"), "impossible travel"));
        // A different user's sign-in is not the previous one.
        let (s, _) = score(vec![ev("a", "u", 0, "DE"), ev("b", "w", 1, "BR")]);
        assert!(s.iter().all(|x| x.score == 0.0), "{s:?}");
    }

    #[test]
    fn first_seen_country_not_on_the_first_sign_in() {
        let (s, _) = score(vec![
            ev("a", "u", 0, "NL"),
            ev("b", "u", 600, "NL"),
            ev("c", "u", 6000, "FR"),
            ev("d", "u", 9000, "FR"),
        ]);
        assert!(!has(by_id(&s, "a"), "first sign-in from country"));
        assert!(!has(by_id(&s, "b"), "first sign-in from country"));
        assert!(has(by_id(&s, "c"), "first sign-in from country FR"));
        assert!(!has(by_id(&s, "d"), "first sign-in from country"));
        assert!((by_id(&s, "c").score - W_NEW_COUNTRY).abs() < 1e-12);
    }

    #[test]
    fn first_seen_device_and_app() {
        let c = Event {
            device: Some("d2".into()),
            app: Some("app2".into()),
            ..ev("c", "u", 60, "NL")
        };
        let (s, _) = score(vec![ev("a", "u", 0, "NL"), c]);
        let c = by_id(&s, "c");
        assert!(has(c, "first sign-in from device d2"));
        assert!(has(c, "first sign-in to app app2"));
        let want = 1.0 - (1.0 - W_NEW_DEVICE) * (1.0 - W_NEW_APP);
        assert!((c.score - want).abs() < 1e-12);
    }

    #[test]
    fn legacy_client() {
        let a = Event {
            client_app: Some("IMAP4".into()),
            ..ev("a", "u", 0, "NL")
        };
        let b = Event {
            client_app: Some("Mobile Apps and Desktop clients".into()),
            ..ev("b", "u", 1, "NL")
        };
        let (s, _) = score(vec![a, b]);
        assert!(has(by_id(&s, "a"), "legacy client IMAP4"));
        assert_eq!(by_id(&s, "b").score, 0.0);
    }

    fn fail(e: Event) -> Event {
        Event {
            success: Some(false),
            ..e
        }
    }

    #[test]
    fn failure_burst_before_a_success() {
        let (s, _) = score(vec![
            fail(ev("f1", "u", 0, "NL")),
            fail(ev("f2", "u", 5, "NL")),
            fail(ev("f3", "u", 10, "NL")),
            ev("ok", "u", 20, "NL"),
        ]);
        assert!(has(by_id(&s, "ok"), "success after 3 failed sign-ins"));
        assert!((by_id(&s, "ok").score - W_FAILURE_BURST).abs() < 1e-12);
        assert!(!has(by_id(&s, "f3"), "success after"));
        // Two failures are not a burst; neither are three an hour before.
        let (s, _) = score(vec![
            fail(ev("f1", "u", 0, "NL")),
            fail(ev("f2", "u", 5, "NL")),
            ev("ok", "u", 20, "NL"),
        ]);
        assert!(!has(by_id(&s, "ok"), "success after"));
        let (s, _) = score(vec![
            fail(ev("f1", "u", 0, "NL")),
            fail(ev("f2", "u", 5, "NL")),
            fail(ev("f3", "u", 10, "NL")),
            ev("ok", "u", 70, "NL"),
        ]);
        assert!(!has(by_id(&s, "ok"), "success after"));
    }

    #[test]
    fn risk_events_and_combination() {
        let a = Event {
            risk_event_types: vec!["anonymizedIPAddress".into()],
            client_app: Some("POP3".into()),
            ..ev("a", "u", 0, "NL")
        };
        let (s, _) = score(vec![a]);
        let a = by_id(&s, "a");
        assert!(has(a, "risk events: anonymizedIPAddress"));
        let want = 1.0 - (1.0 - W_RISK_EVENT) * (1.0 - W_LEGACY_CLIENT);
        assert!((a.score - want).abs() < 1e-12);
        assert!((0.0..=1.0).contains(&a.score));
    }

    #[test]
    fn deterministic_byte_identical_csv() {
        let evs = vec![
            ev("a", "u", 0, "DE"),
            ev("b", "u", 60, "BR"),
            fail(ev("c", "v", 0, "NL")),
            ev("d", "v", 1, "NL"),
            Event {
                client_app: Some("Exchange ActiveSync".into()),
                ..ev("e", "w", 3, "FR")
            },
        ];
        let mut reversed = evs.clone();
        reversed.reverse();
        let one = to_csv(&score(evs.clone()).0).unwrap();
        let two = to_csv(&score(evs).0).unwrap();
        let three = to_csv(&score(reversed).0).unwrap();
        assert_eq!(one.as_bytes(), two.as_bytes());
        assert_eq!(one.as_bytes(), three.as_bytes());
        assert!(one.starts_with("signInId,score,riskLevel,reasoning,recommendedAction,model\n"));
        assert!(one.contains(&model_name()));
    }

    #[test]
    fn the_csv_reads_back_as_scores() {
        let csv = to_csv(&score(vec![ev("a", "u", 0, "DE"), ev("b", "u", 60, "BR")]).0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("scores.csv");
        std::fs::write(&p, csv).unwrap();
        let scores = crate::airisk::Scores::load(&p).unwrap();
        assert_eq!(scores.len(), 2);
        let b = SignIn {
            id: "b".into(),
            ..SignIn::default()
        };
        let got = scores.get(&b).unwrap();
        assert!(got.score > 0.5);
        assert!(
            got.reasoning
                .as_deref()
                .unwrap()
                .contains("impossible travel")
        );
        assert_eq!(got.model.as_deref(), Some(model_name().as_str()));
    }

    #[test]
    fn the_normalized_record_gives_coordinates_and_risk_events() {
        use crate::model::Degrees;
        let at = |id: &str, time: &str, lat: f64, lon: f64, events: &[&str]| SignIn {
            id: id.into(),
            created_date_time: time.into(),
            user_id: Some("U1".into()),
            country: Some("DE".into()),
            latitude: Some(Degrees(lat)),
            longitude: Some(Degrees(lon)),
            risk_event_types: Some(events.iter().map(|e| e.to_string()).collect()),
            error_code: Some(0),
            ..SignIn::default()
        };
        // Berlin, then Munich 30 minutes later: same country, ~500 km, 1,000 km/h.
        let a = Event::from_signin(&at("a", "2026-01-05T10:00:00Z", 52.52, 13.405, &[])).unwrap();
        let b = Event::from_signin(&at(
            "b",
            "2026-01-05T10:30:00Z",
            48.137,
            11.575,
            &["anonymizedIPAddress"],
        ))
        .unwrap();
        assert_eq!(a.user.as_deref(), Some("u1"));
        assert_eq!(b.coords, Some((48.137, 11.575)));
        let (s, _) = score(vec![a, b]);
        let b = by_id(&s, "b");
        assert!(has(b, "impossible travel"), "{:?}", b.reasons);
        assert!(
            has(b, "risk events: anonymizedIPAddress"),
            "{:?}",
            b.reasons
        );
        assert!(!has(by_id(&s, "a"), "risk events"));
    }

    #[test]
    fn duplicates_are_dropped() {
        let (s, d) = score(vec![ev("a", "u", 0, "DE"), ev("A", "u", 0, "DE")]);
        assert_eq!((s.len(), d), (1, 1));
    }
}
