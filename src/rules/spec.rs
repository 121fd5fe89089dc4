//! [`RuleInput`]: a reminder rule as a user writes it, and [`Rule`], the same rule parsed, each
//! field checked at the edge and named in the error. What the store keeps is the input,
//! normalised; every instance parses it again into a [`Rule`].

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::offset::{Clock, Offset, Quiet, Span};
use super::when::{PastDue, Zone};
use crate::domain::EventType;
use crate::routing::{Filter, Path, Template};

pub const MAX_OFFSETS: usize = 10;
/// Every field of [`RuleInput`], as a `PATCH` may name them.
pub const FIELDS: [&str; 15] = [
    "name",
    "event_type",
    "filter",
    "subject",
    "target",
    "offsets",
    "endpoint",
    "template",
    "timezone",
    "quiet_hours",
    "at_time",
    "past_due",
    "grace",
    "cancel_on",
    "enabled",
];
const MAX_CANCEL_ON: usize = 20;

/// A reminder rule. `name`, `event_type`, `subject`, `target`, `offsets` and `endpoint` are
/// required on `POST`; a `PATCH` gives any of them (`null` puts an optional field back to its
/// default).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "password-expiry", "event_type": "user.password_set",
    "subject": "$.user_id", "target": "$.password_expires_at", "offsets": ["-7d", "-1d"],
    "endpoint": "default", "timezone": "Europe/Istanbul",
    "quiet_hours": {"start": "22:00", "end": "08:00"}, "cancel_on": ["user.password_changed"]}))]
pub struct RuleInput {
    /// Unique, `[a-z0-9_-]{1,64}`. The reminders are events of type `reminder.<name>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[a-z0-9_-]{1,64}$")]
    pub name: Option<String>,
    /// The type of event that schedules reminders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// A content filter (the routing filter language).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// A singular path to what a reminder is about, e.g. `$.user_id` (a string or a number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// A singular path to the date: RFC 3339, or `YYYY-MM-DD` read in `timezone` at `at_time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// 1 to 10 signed durations (`-7d`, `-1d`, `0s`, `2h`); `d` is a calendar day in the zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 10)]
    pub offsets: Option<Vec<String>>,
    /// The name of the endpoint that receives the reminders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// A `mapping` template; its paths read `{event: {id, type}, payload, rule, offset, target,
    /// subject}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub template: Option<Value>,
    /// An IANA time zone; default `UTC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Europe/Istanbul")]
    pub timezone: Option<String>,
    /// `{"start": "22:00", "end": "08:00"}`: a reminder that falls inside goes at `end`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietInput>,
    /// For bare-date targets, the local time of day, `HH:MM`; default `09:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "09:00")]
    pub at_time: Option<String>,
    /// `skip` (default) or `send_now` (only if less than `grace` late).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "skip")]
    pub past_due: Option<String>,
    /// For `send_now`, a duration such as `1h` (the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace: Option<String>,
    /// Event types whose arrival cancels the subject's pending reminders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_on: Option<Vec<String>>,
    /// Default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Quiet hours as written.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietInput {
    #[schema(example = "22:00")]
    pub start: String,
    #[schema(example = "08:00")]
    pub end: String,
}

/// A rule, parsed.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Uuid,
    pub name: String,
    pub event_type: String,
    pub filter: Option<Filter>,
    pub subject: Path,
    pub target: Path,
    pub offsets: Vec<Offset>,
    pub endpoint_id: Uuid,
    pub template: Option<Template>,
    pub zone: Zone,
    pub cancel_on: Vec<String>,
    pub enabled: bool,
}

fn bad(field: &str, e: impl std::fmt::Display) -> String {
    format!("{field}: {e}")
}

fn required<'a, T>(value: &'a Option<T>, field: &str) -> Result<&'a T, String> {
    value.as_ref().ok_or_else(|| format!("{field} is required"))
}

impl RuleInput {
    /// `self` over `base`: what a `PATCH` gives replaces what was stored, and a `null` in the
    /// request body (`explicit_nulls`) clears the field.
    pub fn over(self, base: &RuleInput, explicit_nulls: &[String]) -> Result<RuleInput, String> {
        crate::domain::patch::over(&self, base, explicit_nulls)
    }

    /// The rule this input makes, sending to `endpoint_id` (the handler resolves the name).
    pub fn parse(&self, id: Uuid, endpoint_id: Uuid) -> Result<Rule, String> {
        let name = required(&self.name, "name")?;
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'));
        if !name_ok {
            return Err(format!("name: '{name}' must be 1 to 64 of [a-z0-9_-]"));
        }
        let event_type = EventType::parse(required(&self.event_type, "event_type")?)
            .map_err(|e| bad("event_type", e.0))?
            .into_string();
        required(&self.endpoint, "endpoint")?;
        let filter = self
            .filter
            .as_ref()
            .map(|f| Filter::parse(f).map_err(|e| bad("filter", e)))
            .transpose()?;
        let subject =
            Path::parse(required(&self.subject, "subject")?).map_err(|e| bad("subject", e))?;
        let target =
            Path::parse(required(&self.target, "target")?).map_err(|e| bad("target", e))?;
        let raw_offsets = required(&self.offsets, "offsets")?;
        if raw_offsets.is_empty() || raw_offsets.len() > MAX_OFFSETS {
            return Err(format!(
                "offsets: 1 to {MAX_OFFSETS}, not {}",
                raw_offsets.len()
            ));
        }
        let mut offsets = Vec::new();
        for raw in raw_offsets {
            let offset = Offset::parse(raw).map_err(|e| bad("offsets", e))?;
            if offsets.contains(&offset) {
                return Err(format!("offsets: '{raw}' is given twice"));
            }
            offsets.push(offset);
        }
        let template = self.template.as_ref().map(parse_template).transpose()?;
        Ok(Rule {
            id,
            zone: self.zone()?,
            cancel_on: self.cancel_on(&event_type)?,
            name: name.clone(),
            event_type,
            filter,
            subject,
            target,
            offsets,
            endpoint_id,
            template,
            enabled: self.enabled.unwrap_or(true),
        })
    }

    fn zone(&self) -> Result<Zone, String> {
        let tz = match &self.timezone {
            None => chrono_tz::UTC,
            Some(name) => name.parse().map_err(|_| {
                format!("timezone: '{name}' is not an IANA time zone, e.g. Europe/Istanbul")
            })?,
        };
        let quiet = self
            .quiet_hours
            .as_ref()
            .map(|q| {
                let start = Clock::parse(&q.start).map_err(|e| bad("quiet_hours.start", e))?;
                let end = Clock::parse(&q.end).map_err(|e| bad("quiet_hours.end", e))?;
                Quiet::new(start, end).map_err(|e| bad("quiet_hours", e))
            })
            .transpose()?;
        let at_time = match &self.at_time {
            None => NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            Some(raw) => Clock::parse(raw).map_err(|e| bad("at_time", e))?.0,
        };
        let grace = match &self.grace {
            None => chrono::Duration::hours(1),
            Some(raw) => Span::parse(raw).map_err(|e| bad("grace", e))?.0,
        };
        let past_due = match self.past_due.as_deref() {
            None | Some("skip") => PastDue::Skip,
            Some("send_now") => PastDue::SendNow { grace },
            Some(other) => {
                return Err(format!("past_due: '{other}' is not skip or send_now"));
            }
        };
        Ok(Zone {
            tz,
            quiet,
            at_time,
            past_due,
        })
    }

    fn cancel_on(&self, event_type: &str) -> Result<Vec<String>, String> {
        let list = self.cancel_on.clone().unwrap_or_default();
        if list.len() > MAX_CANCEL_ON {
            return Err(format!("cancel_on: at most {MAX_CANCEL_ON} event types"));
        }
        let mut types = Vec::new();
        for raw in &list {
            let t = EventType::parse(raw)
                .map_err(|e| bad("cancel_on", e.0))?
                .into_string();
            if t == event_type {
                return Err(format!(
                    "cancel_on: '{t}' is the rule's event_type; an event cannot both schedule and cancel"
                ));
            }
            types.push(t);
        }
        Ok(types)
    }
}

/// A stored rule, parsed again.
pub fn from_row(row: &crate::db::RuleRow) -> Result<Rule, String> {
    let input: RuleInput = serde_json::from_value(row.spec.clone()).map_err(|e| e.to_string())?;
    let mut rule = input.parse(row.id, row.endpoint_id)?;
    rule.enabled = row.enabled;
    Ok(rule)
}

fn parse_template(value: &Value) -> Result<Template, String> {
    let template = Template::parse(value).map_err(|e| bad("template", e))?;
    match &template {
        Template::Mapping { base, .. } if !base.is_object() => {
            Err("template: a rule's mapping must start from an object 'base'".into())
        }
        Template::Mapping { .. } => Ok(template),
        Template::Text { .. } => Err("template: a rule's template must be a mapping: a reminder \
             is an event with a JSON payload (the endpoint's own template can make text of it)"
            .into()),
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
