//! The small values a rule is written with, parsed at the edge: an [`Offset`] (`-7d`, `+2h`,
//! `0s`), a [`Span`] (`1h`, for `grace`), a [`Clock`] time of day (`09:00`) and [`Quiet`]
//! hours. Pure.

use std::fmt;

use chrono::NaiveTime;

/// The largest offset or grace, in seconds: 365 days.
pub const MAX_SECONDS: i64 = 365 * 86_400;

/// How an offset moves a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Calendar days in the rule's time zone: the local time of day is kept across a
    /// daylight-saving change.
    Days(i64),
    /// Exact seconds (`h`, `m` and `s`).
    Seconds(i64),
}

/// A signed distance from the target date: one reminder at target + offset. Its text,
/// normalised (`-7d`, `0s`, `2h`), is part of a reminder's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    signed: i64,
    unit: char,
}

impl Offset {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (negative, rest) = match raw.as_bytes().first() {
            Some(b'-') => (true, &raw[1..]),
            Some(b'+') => (false, &raw[1..]),
            _ => (false, raw),
        };
        let (n, unit) = number_and_unit(rest).ok_or_else(|| {
            format!("'{raw}' is not an offset: a signed whole number and d, h, m or s, e.g. -7d")
        })?;
        if n.saturating_mul(unit_seconds(unit)) > MAX_SECONDS {
            return Err(format!("'{raw}' is more than 365 days"));
        }
        Ok(Self {
            signed: if negative { -n } else { n },
            unit,
        })
    }

    pub fn step(&self) -> Step {
        match self.unit {
            'd' => Step::Days(self.signed),
            u => Step::Seconds(self.signed * unit_seconds(u)),
        }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.signed, self.unit)
    }
}

/// A non-negative duration such as `1h` or `90s`, at most 365 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub chrono::Duration);

impl Span {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (n, unit) = number_and_unit(raw).ok_or_else(|| {
            format!("'{raw}' is not a duration: a whole number and d, h, m or s, e.g. 1h")
        })?;
        let seconds = n.saturating_mul(unit_seconds(unit));
        if seconds > MAX_SECONDS {
            return Err(format!("'{raw}' is more than 365 days"));
        }
        Ok(Self(chrono::Duration::seconds(seconds)))
    }
}

fn number_and_unit(text: &str) -> Option<(i64, char)> {
    let unit = text.chars().last()?;
    let digits = &text[..text.len() - unit.len_utf8()];
    let valid = matches!(unit, 'd' | 'h' | 'm' | 's')
        && (1..=9).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit());
    valid
        .then(|| (digits.parse().ok(), unit))
        .and_then(|(n, u)| Some((n?, u)))
}

fn unit_seconds(unit: char) -> i64 {
    match unit {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        _ => 1,
    }
}

/// A local time of day written `HH:MM` (24-hour, two digits each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Clock(pub NaiveTime);

impl Clock {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let b = raw.as_bytes();
        let shaped =
            b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
        let time = shaped
            .then(|| NaiveTime::parse_from_str(raw, "%H:%M").ok())
            .flatten();
        time.map(Self)
            .ok_or_else(|| format!("'{raw}' is not a time of day HH:MM, e.g. 09:00"))
    }
}

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

/// Hours in which no reminder goes out, `[start, end)` in the rule's zone; `start > end` wraps
/// midnight (`22:00`–`08:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quiet {
    pub start: Clock,
    pub end: Clock,
}

impl Quiet {
    pub fn new(start: Clock, end: Clock) -> Result<Self, String> {
        if start == end {
            return Err("start and end must differ".into());
        }
        Ok(Self { start, end })
    }

    /// Whether the local time `t` falls inside.
    pub fn holds(&self, t: NaiveTime) -> bool {
        let (s, e) = (self.start.0, self.end.0);
        if s < e {
            s <= t && t < e
        } else {
            t >= s || t < e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_and_normalise() {
        let o = Offset::parse("-7d").unwrap();
        assert_eq!((o.step(), o.to_string()), (Step::Days(-7), "-7d".into()));
        let o = Offset::parse("+2h").unwrap();
        assert_eq!(
            (o.step(), o.to_string()),
            (Step::Seconds(7200), "2h".into())
        );
        assert_eq!(Offset::parse("-0s").unwrap().to_string(), "0s");
        assert_eq!(Offset::parse("365d").unwrap().step(), Step::Days(365));
        assert_eq!(
            Offset::parse("-8760h").unwrap().step(),
            Step::Seconds(-8760 * 3600)
        );
    }

    #[test]
    fn bad_offsets_say_why() {
        for raw in [
            "",
            "7",
            "d",
            "-7w",
            "1.5d",
            "- 7d",
            "7d ",
            "--7d",
            "1234567890s",
            "٣d",
        ] {
            let e = Offset::parse(raw).unwrap_err();
            assert!(e.contains("is not an offset"), "{raw}: {e}");
        }
        assert!(Offset::parse("366d").unwrap_err().contains("365 days"));
        assert!(Offset::parse("-8761h").unwrap_err().contains("365 days"));
    }

    #[test]
    fn spans_and_clocks() {
        assert_eq!(Span::parse("1h").unwrap().0, chrono::Duration::hours(1));
        assert!(Span::parse("-1h").is_err());
        assert_eq!(Clock::parse("09:00").unwrap().to_string(), "09:00");
        for raw in ["9:00", "24:00", "09:60", "09:00:00", "0900", " 09:00"] {
            assert!(Clock::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let t = |s: &str| Clock::parse(s).unwrap();
        let night = Quiet::new(t("22:00"), t("08:00")).unwrap();
        for inside in ["22:00", "23:59", "00:00", "07:59"] {
            assert!(night.holds(t(inside).0), "{inside}");
        }
        for outside in ["08:00", "12:00", "21:59"] {
            assert!(!night.holds(t(outside).0), "{outside}");
        }
        let lunch = Quiet::new(t("12:00"), t("13:00")).unwrap();
        assert!(lunch.holds(t("12:30").0) && !lunch.holds(t("13:00").0));
        assert!(Quiet::new(t("10:00"), t("10:00")).is_err());
    }
}
