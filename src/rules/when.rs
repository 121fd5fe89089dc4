//! When a reminder goes out: the target date read from a payload, moved by an offset in the
//! rule's time zone, out of its quiet hours, and what happens when that time has passed. Pure:
//! `now` is an argument, so tests control the clock. Zone arithmetic is `chrono-tz`'s.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::offset::{Offset, Quiet, Step};

/// What happens to a reminder whose time has passed when its event arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PastDue {
    Skip,
    /// Sent at once if it is less than `grace` late.
    SendNow {
        grace: chrono::Duration,
    },
}

/// The clock of one rule: its zone, quiet hours, the time of day of a bare date, and its
/// past-due policy.
#[derive(Debug, Clone, Copy)]
pub struct Zone {
    pub tz: Tz,
    pub quiet: Option<Quiet>,
    pub at_time: NaiveTime,
    pub past_due: PastDue,
}

/// A reminder's time, or why it is not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Send(DateTime<Utc>),
    Skip(String),
}

impl Zone {
    /// The target a payload value names: an RFC 3339 time, or a bare `YYYY-MM-DD` date read
    /// in this zone at `at_time`.
    pub fn target(&self, value: &Value) -> Result<DateTime<Utc>, String> {
        let Value::String(text) = value else {
            return Err(format!("{value} is not a date (RFC 3339 or YYYY-MM-DD)"));
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            // Both stores keep milliseconds: a target is compared with the one stored.
            return Ok(t.with_timezone(&Utc).trunc_subsecs(3));
        }
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) if text.len() == 10 => Ok(self.resolve(day.and_time(self.at_time))),
            _ => Err(format!(
                "'{}' is not a date (RFC 3339 or YYYY-MM-DD)",
                text.chars().take(64).collect::<String>()
            )),
        }
    }

    /// The instant of a local time in this zone. In a gap (clocks jump forward) it is moved on
    /// by the gap, as a wall clock would read it; when ambiguous (clocks go back), the first.
    pub fn resolve(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            chrono::LocalResult::None => {
                // Read with the offset in force just before the gap.
                let before = self
                    .tz
                    .from_utc_datetime(&(local - chrono::Duration::hours(6)));
                let offset = chrono::Offset::fix(before.offset()).local_minus_utc();
                Utc.from_utc_datetime(&(local - chrono::Duration::seconds(i64::from(offset))))
            }
        }
    }

    /// `target` moved by `offset`: days on the local calendar, other units exactly. `None`
    /// when it leaves the calendar chrono can represent.
    pub fn shift(&self, target: DateTime<Utc>, offset: &Offset) -> Option<DateTime<Utc>> {
        match offset.step() {
            Step::Seconds(s) => target.checked_add_signed(chrono::Duration::seconds(s)),
            Step::Days(d) => {
                let local = target.with_timezone(&self.tz).naive_local();
                let days = Days::new(d.unsigned_abs());
                let moved = if d < 0 {
                    local.checked_sub_days(days)
                } else {
                    local.checked_add_days(days)
                }?;
                Some(self.resolve(moved))
            }
        }
    }

    /// `at`, or the end of the quiet hours it falls in.
    pub fn out_of_quiet(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let Some(quiet) = self.quiet else {
            return at;
        };
        let local = at.with_timezone(&self.tz).naive_local();
        if !quiet.holds(local.time()) {
            return at;
        }
        let day = local.date();
        let wraps = quiet.start > quiet.end;
        let end_day = if wraps && local.time() >= quiet.start.0 {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        };
        self.resolve(end_day.and_time(quiet.end.0))
    }

    /// When the reminder at `offset` from `target` goes out, seen at `now`.
    pub fn when(&self, target: DateTime<Utc>, offset: &Offset, now: DateTime<Utc>) -> Outcome {
        let Some(at) = self.shift(target, offset) else {
            return Outcome::Skip("the time is out of range".into());
        };
        let at = self.out_of_quiet(at).trunc_subsecs(3);
        let now = now.trunc_subsecs(3);
        if at >= now {
            return Outcome::Send(at);
        }
        let late = now - at;
        match self.past_due {
            PastDue::Skip => Outcome::Skip(format!(
                "past due: it was due at {} (past_due is skip)",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
            PastDue::SendNow { grace } if late < grace => Outcome::Send(self.out_of_quiet(now)),
            PastDue::SendNow { .. } => Outcome::Skip(format!(
                "past due: it was due at {}, more than grace ago",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
        }
    }
}

#[cfg(test)]
#[path = "when_tests.rs"]
mod tests;
