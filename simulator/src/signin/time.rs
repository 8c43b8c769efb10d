//! Sign-in timestamps in every shape the exports use, normalized to UTC RFC 3339 with
//! milliseconds (`2026-01-05T14:23:45.123Z`).
//!
//! Accepted (research notes §4.3, Elastic `test-time-formats-corner-cases.log`):
//! - RFC 3339 / ISO 8601 with `Z` or an offset, 0–9 fractional digits
//!   (`2019-10-18T04:45:48.0729893-05:00`);
//! - ISO 8601 without a zone (`2007-01-09T09:41:00`), read as UTC and flagged;
//! - locale dates with slashes, month first (`11/14/2025 1:48:53 AM`, `9/19/2023, 1:45:17.287
//!   PM`, `1/9/2007 10:41:00 AM +01:00`) or, with [`DateOrder::DayFirst`], day first
//!   (`14/11/2025 01:48:53`), 12- or 24-hour clock, optional comma, fraction and offset; read as
//!   UTC and flagged when there is no offset. A date whose month position holds a number above
//!   12 while its day position does not (`14/11/2025` read month first) contradicts the order:
//!   [`TimeError::ContradictsOrder`], never a silent swap;
//! - .NET JSON dates written by Windows PowerShell 5.1 (`/Date(1704464625000)/`).
//!
//! Fractions beyond milliseconds are truncated, never rounded, so a sign-in never moves into
//! the next second, minute or day.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

/// Which number comes first in a locale date with slashes (`3/4/2026`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DateOrder {
    /// `month/day/year` (en-US, the portal's and Log Analytics' default).
    #[default]
    MonthFirst,
    /// `day/month/year` (en-GB, fr-FR, ...).
    DayFirst,
}

impl DateOrder {
    /// The flag value that selects this order (`mdy`, `dmy`).
    pub fn flag(self) -> &'static str {
        match self {
            DateOrder::MonthFirst => "mdy",
            DateOrder::DayFirst => "dmy",
        }
    }
}

/// A normalized instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Normalized {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub(crate) text: String,
    /// The input had no zone or offset and was read as UTC.
    pub(crate) assumed_utc: bool,
    /// A locale date with slashes: `Some(true)` when its day was above 12, so the date itself
    /// confirms the order; `Some(false)` when either order would have read it.
    pub(crate) locale_confirmed: Option<bool>,
}

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimeError {
    /// In no known shape.
    Unrecognized,
    /// A locale date that can only be read in the other order (`14/11/2025` month first).
    ContradictsOrder,
}

/// Parses a timestamp as exports write it, locale dates month first; `None` when the text is
/// in no known shape or is a locale date that cannot be month first.
pub(crate) fn normalize(raw: &str) -> Option<Normalized> {
    normalize_with(raw, DateOrder::MonthFirst).ok()
}

/// Parses a timestamp as exports write it, locale dates in `order`.
pub(crate) fn normalize_with(raw: &str, order: DateOrder) -> Result<Normalized, TimeError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(TimeError::Unrecognized);
    }
    let bad = |_| TimeError::Unrecognized;
    let mut locale_confirmed = None;
    let (ts, assumed_utc) = if let Ok(ts) = s.parse::<Timestamp>() {
        (ts, false)
    } else if let Some(ts) = dotnet_json_date(s) {
        (ts, false)
    } else if s.as_bytes().get(4) == Some(&b'-') {
        let dt = s.parse::<DateTime>().map_err(bad)?;
        (Offset::UTC.to_timestamp(dt).map_err(bad)?, true)
    } else {
        let parsed = locale(s, order)?;
        locale_confirmed = Some(parsed.confirmed);
        let assumed = parsed.offset.is_none();
        (
            parsed
                .offset
                .unwrap_or(Offset::UTC)
                .to_timestamp(parsed.datetime)
                .map_err(bad)?,
            assumed,
        )
    };
    Ok(Normalized {
        text: format_utc(ts),
        assumed_utc,
        locale_confirmed,
    })
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, milliseconds truncated.
fn format_utc(ts: Timestamp) -> String {
    let dt = Offset::UTC.to_datetime(ts);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1_000_000
    )
}

/// `/Date(1704464625000)/` or `/Date(1704464625000+0000)/` (milliseconds since the epoch;
/// the optional suffix is the writer's local offset, informational only).
fn dotnet_json_date(s: &str) -> Option<Timestamp> {
    let inner = s.strip_prefix("/Date(")?.strip_suffix(")/")?;
    let digits_end = inner
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(inner.len(), |(i, _)| i);
    let ms: i64 = inner[..digits_end].parse().ok()?;
    Timestamp::from_millisecond(ms).ok()
}

/// A locale date and time.
struct Locale {
    datetime: DateTime,
    offset: Option<Offset>,
    /// The day was above 12: only `order` reads this date.
    confirmed: bool,
}

/// A locale date and time with slashes, in `order`, with an optional trailing offset.
fn locale(s: &str, order: DateOrder) -> Result<Locale, TimeError> {
    let (date, rest) = s.split_once([' ', ',']).ok_or(TimeError::Unrecognized)?;
    let mut parts = date.split('/');
    let mut number = || -> Result<i8, TimeError> {
        parts
            .next()
            .and_then(|p| small_number(p, 2))
            .ok_or(TimeError::Unrecognized)
    };
    let (first, second) = (number()?, number()?);
    let year_text = parts.next().ok_or(TimeError::Unrecognized)?;
    if parts.next().is_some() || year_text.len() != 4 {
        return Err(TimeError::Unrecognized);
    }
    let year: i16 = year_text.parse().map_err(|_| TimeError::Unrecognized)?;
    let (month, day) = match order {
        DateOrder::MonthFirst => (first, second),
        DateOrder::DayFirst => (second, first),
    };
    if month > 12 {
        // Read the other way round the date would be valid: the file is in the other order.
        return Err(if (1..=12).contains(&day) {
            TimeError::ContradictsOrder
        } else {
            TimeError::Unrecognized
        });
    }
    let (datetime, offset) =
        clock_and_offset(rest, year, month, day).ok_or(TimeError::Unrecognized)?;
    Ok(Locale {
        datetime,
        offset,
        confirmed: day > 12,
    })
}

/// The time-of-day part of a locale date and time (`1:48:53 AM`, `13:45:17.287 +01:00`).
fn clock_and_offset(
    rest: &str,
    year: i16,
    month: i8,
    day: i8,
) -> Option<(DateTime, Option<Offset>)> {
    let mut tokens = rest
        .trim_start_matches([',', ' '])
        .split_whitespace()
        .peekable();
    let (hour, minute, second, nanos) = clock(tokens.next()?)?;
    let mut hour = hour;
    if let Some(&meridiem) = tokens.peek() {
        let pm = if meridiem.eq_ignore_ascii_case("PM") {
            Some(true)
        } else if meridiem.eq_ignore_ascii_case("AM") {
            Some(false)
        } else {
            None
        };
        if let Some(pm) = pm {
            tokens.next();
            if !(1..=12).contains(&hour) {
                return None;
            }
            hour = match (pm, hour) {
                (false, 12) => 0,
                (true, 12) => 12,
                (true, h) => h + 12,
                (false, h) => h,
            };
        }
    }
    let offset = match tokens.next() {
        None => None,
        Some(t) => Some(offset(t)?),
    };
    if tokens.next().is_some() {
        return None;
    }
    let dt = DateTime::new(year, month, day, hour, minute, second, nanos).ok()?;
    Some((dt, offset))
}

/// `H:MM[:SS[.fffffffff]]` as (hour, minute, second, nanoseconds).
fn clock(t: &str) -> Option<(i8, i8, i8, i32)> {
    let mut parts = t.split(':');
    let hour = small_number(parts.next()?, 2)?;
    let minute = small_number(parts.next()?, 2)?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            (small_number(whole, 2)?, fraction(frac)?)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    Some((hour, minute, second, nanos))
}

/// Fractional seconds digits (at most 9) as nanoseconds.
fn fraction(digits: &str) -> Option<i32> {
    if digits.is_empty() {
        return Some(0);
    }
    if digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i32 = digits.parse().ok()?;
    let scale = 10_i32.checked_pow(u32::try_from(9 - digits.len()).ok()?)?;
    value.checked_mul(scale)
}

/// `Z`, `UTC`, `GMT`, `+HH:MM`, `-HH:MM`, `+HHMM` or `+HH`.
fn offset(t: &str) -> Option<Offset> {
    if ["Z", "UTC", "GMT"]
        .iter()
        .any(|z| t.eq_ignore_ascii_case(z))
    {
        return Some(Offset::UTC);
    }
    let (sign, body) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (hours, minutes) = match body.split_once(':') {
        Some((h, m)) => (h, m),
        None if body.len() == 4 => body.split_at(2),
        None => (body, "0"),
    };
    let hours: i32 = i32::from(small_number::<i8>(hours, 2)?);
    let minutes: i32 = i32::from(small_number::<i8>(minutes, 2)?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// A number of at most `max_digits` ASCII digits.
fn small_number<T: std::str::FromStr>(t: &str, max_digits: usize) -> Option<T> {
    if t.is_empty() || t.len() > max_digits || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Option<(String, bool)> {
        normalize(s).map(|n| (n.text, n.assumed_utc))
    }

    #[test]
    fn rfc3339_with_offsets_and_fractions() {
        let cases = [
            ("2026-01-05T14:23:45.123Z", "2026-01-05T14:23:45.123Z"),
            ("2021-06-30T16:34:32Z", "2021-06-30T16:34:32.000Z"),
            ("2020-03-13T19:15:41.6195833Z", "2020-03-13T19:15:41.619Z"),
            (
                "2019-10-18T04:45:48.0729893-05:00",
                "2019-10-18T09:45:48.072Z",
            ),
            (
                "2022-01-24T05:00:03.346468+00:00",
                "2022-01-24T05:00:03.346Z",
            ),
            ("2023-12-31T23:59:59.9999999Z", "2023-12-31T23:59:59.999Z"),
        ];
        for (input, want) in cases {
            assert_eq!(utc(input), Some((want.to_string(), false)), "{input}");
        }
    }

    #[test]
    fn us_locale_month_first() {
        assert_eq!(
            utc("11/14/2025 1:48:53 AM"),
            Some(("2025-11-14T01:48:53.000Z".to_string(), true))
        );
        assert_eq!(
            utc("9/19/2023, 1:45:17.287 PM"),
            Some(("2023-09-19T13:45:17.287Z".to_string(), true))
        );
        assert_eq!(
            utc("12/1/2024 12:05:00 AM"),
            Some(("2024-12-01T00:05:00.000Z".to_string(), true))
        );
        assert_eq!(
            utc("12/1/2024 12:05:00 PM"),
            Some(("2024-12-01T12:05:00.000Z".to_string(), true))
        );
        // Day first is not guessed: month 14 does not exist.
        assert_eq!(utc("14/11/2025 1:48:53 AM"), None);
        assert_eq!(utc("1/9/2007 13:41:00 PM"), None);
    }

    /// Every `time` in Elastic's test-time-formats-corner-cases.log is the same instant.
    #[test]
    fn elastic_corner_cases_agree() {
        let cases = [
            ("01/09/2007 09:41:00", true, "000"),
            ("1/9/2007 09:41:00", true, "000"),
            ("01/09/2007 09:41:00 AM", true, "000"),
            ("1/9/2007 9:41:00 AM", true, "000"),
            ("1/9/2007 10:41:00 AM +01:00", false, "000"),
            ("2007-01-09T09:41:00", true, "000"),
            ("2007-01-09T09:41:00.22Z", false, "220"),
            ("2007-01-09T09:41:00.6816663Z", false, "681"),
            ("2007-01-09T09:41:00.535404056Z", false, "535"),
            ("2007-01-09T09:41:00.992099+00:00", false, "992"),
            ("2007-01-09T11:41:00+02:00", false, "000"),
        ];
        for (input, assumed, ms) in cases {
            assert_eq!(
                utc(input),
                Some((format!("2007-01-09T09:41:00.{ms}Z"), assumed)),
                "{input}"
            );
        }
    }

    #[test]
    fn powershell_dotnet_dates() {
        assert_eq!(
            utc("/Date(1704464625123)/"),
            Some(("2024-01-05T14:23:45.123Z".to_string(), false))
        );
        assert_eq!(
            utc("/Date(1704464625000+0100)/"),
            Some(("2024-01-05T14:23:45.000Z".to_string(), false))
        );
    }

    #[test]
    fn day_first_order_and_contradictions() {
        let read = |s: &str, order| normalize_with(s, order).map(|n| (n.text, n.locale_confirmed));
        // The same instant in either order.
        assert_eq!(
            read("14/11/2025 1:48:53 AM", DateOrder::DayFirst),
            Ok(("2025-11-14T01:48:53.000Z".to_string(), Some(true)))
        );
        assert_eq!(
            read("11/14/2025 1:48:53 AM", DateOrder::MonthFirst),
            Ok(("2025-11-14T01:48:53.000Z".to_string(), Some(true)))
        );
        // Ambiguous dates follow the order and say that they did not confirm it.
        assert_eq!(
            read("3/4/2026, 14:05:00", DateOrder::MonthFirst),
            Ok(("2026-03-04T14:05:00.000Z".to_string(), Some(false)))
        );
        assert_eq!(
            read("3/4/2026, 14:05:00", DateOrder::DayFirst),
            Ok(("2026-04-03T14:05:00.000Z".to_string(), Some(false)))
        );
        // A day above 12 in the month position contradicts the order, either way round.
        assert_eq!(
            read("14/11/2025 1:48:53 AM", DateOrder::MonthFirst),
            Err(TimeError::ContradictsOrder)
        );
        assert_eq!(
            read("11/14/2025 1:48:53 AM", DateOrder::DayFirst),
            Err(TimeError::ContradictsOrder)
        );
        // Neither order reads it: not a contradiction, just not a date.
        assert_eq!(
            read("14/14/2025 1:48:53 AM", DateOrder::MonthFirst),
            Err(TimeError::Unrecognized)
        );
        assert_eq!(
            read("31/0/2025 1:48:53 AM", DateOrder::DayFirst),
            Err(TimeError::Unrecognized)
        );
        // ISO dates are not locale dates.
        assert_eq!(
            read("2025-11-14T01:48:53Z", DateOrder::DayFirst),
            Ok(("2025-11-14T01:48:53.000Z".to_string(), None))
        );
        // 31 February does not exist in any order.
        assert_eq!(
            read("2/31/2025 1:00:00 AM", DateOrder::MonthFirst),
            Err(TimeError::Unrecognized)
        );
    }

    proptest::proptest! {
        /// Any instant written as a locale date in either order reads back in that order; the
        /// other order reads it as the swapped date when that exists, and reports a
        /// contradiction when the day is above 12.
        #[test]
        fn locale_dates_round_trip_in_their_order(
            year in 1990i16..2100,
            month in 1i8..=12,
            day in 1i8..=28,
            hour in 0i8..24,
            minute in 0i8..60,
            second in 0i8..60,
            millis in 0i32..1000,
            pm_clock in proptest::bool::ANY,
        ) {
            let clock = if pm_clock {
                let h12 = if hour % 12 == 0 { 12 } else { hour % 12 };
                let ampm = if hour < 12 { "AM" } else { "PM" };
                format!("{h12}:{minute:02}:{second:02}.{millis:03} {ampm}")
            } else {
                format!("{hour:02}:{minute:02}:{second:02}.{millis:03}")
            };
            let want = format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z"
            );
            let mdy = format!("{month}/{day}/{year} {clock}");
            let dmy = format!("{day}/{month}/{year}, {clock}");
            for (text, order, other) in [
                (&mdy, DateOrder::MonthFirst, DateOrder::DayFirst),
                (&dmy, DateOrder::DayFirst, DateOrder::MonthFirst),
            ] {
                let n = normalize_with(text, order);
                proptest::prop_assert_eq!(n.as_ref().map(|n| n.text.as_str()), Ok(want.as_str()));
                proptest::prop_assert_eq!(n.map(|n| n.locale_confirmed), Ok(Some(day > 12)));
                let swapped = normalize_with(text, other);
                if day > 12 {
                    proptest::prop_assert_eq!(swapped, Err(TimeError::ContradictsOrder));
                } else {
                    let swapped_want = format!(
                        "{year:04}-{day:02}-{month:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z"
                    );
                    proptest::prop_assert_eq!(
                        swapped.map(|n| n.text),
                        Ok(swapped_want)
                    );
                }
            }
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "1/9/07 9:41",
            "1/9/2007",
            "1/9/2007 9:41:00 XM",
        ] {
            assert_eq!(utc(bad), None, "{bad}");
        }
    }
}
