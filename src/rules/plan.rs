//! What a rule wants of an event: for an event of its type, a reminder per offset (or why
//! not); for an event in its `cancel_on`, a cancellation; and [`preview`], the same without a
//! store. Pure: `now` and the endpoint's name are arguments.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::offset::Offset;
use super::slot::{Planned, Want};
use super::spec::Rule;
use super::when::Outcome;
use crate::db::{NewEvent, Route, RuleAction};
use crate::routing::Scope;

/// The longest subject kept.
const MAX_SUBJECT: usize = 256;

/// What an event's arrival asks of one rule.
pub struct Seen<'a> {
    pub id: Uuid,
    pub event_type: &'a str,
    pub payload: &'a Value,
    pub now: DateTime<Utc>,
    /// The name of the rule's endpoint; `None` when it is gone.
    pub endpoint: Option<String>,
}

/// The actions of every rule that `event` concerns.
pub fn plan_event(
    rules: &[Arc<Rule>],
    event: &NewEvent,
    now: DateTime<Utc>,
    endpoint: impl Fn(Uuid) -> Option<String>,
) -> Vec<RuleAction> {
    rules
        .iter()
        .filter_map(|rule| {
            rule.wants(&Seen {
                id: event.id,
                event_type: &event.event_type,
                payload: &event.payload,
                now,
                endpoint: endpoint(rule.endpoint_id),
            })
        })
        .collect()
}

/// One line of a preview: a reminder's time and body, or why it is not sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub offset: String,
    pub send_at: Option<DateTime<Utc>>,
    pub skipped_reason: Option<String>,
    pub body: Option<Value>,
}

/// What an event of the rule's type with `payload` would schedule at `now`.
pub fn preview(rule: &Rule, payload: &Value, now: DateTime<Utc>, endpoint: &str) -> Vec<Preview> {
    let seen = Seen {
        id: Uuid::nil(),
        event_type: &rule.event_type,
        payload,
        now,
        endpoint: Some(endpoint.to_owned()),
    };
    let action = rule.schedule(&seen);
    let skipped = |why: String| {
        rule.offsets
            .iter()
            .map(|o| Preview {
                offset: o.to_string(),
                send_at: None,
                skipped_reason: Some(why.clone()),
                body: None,
            })
            .collect()
    };
    match action.want {
        Some(Want::Remind { planned, .. }) => planned
            .into_iter()
            .map(|p| match p.outcome {
                Outcome::Send(at) => Preview {
                    offset: p.offset,
                    send_at: Some(at),
                    skipped_reason: None,
                    body: p.event.map(|e| e.payload),
                },
                Outcome::Skip(why) => Preview {
                    offset: p.offset,
                    send_at: None,
                    skipped_reason: Some(why),
                    body: None,
                },
            })
            .collect(),
        Some(Want::Cancel { reason }) => skipped(reason),
        None => skipped(action.note.unwrap_or_default()),
    }
}

impl Rule {
    /// What `seen` asks of this rule, if anything.
    pub fn wants(&self, seen: &Seen<'_>) -> Option<RuleAction> {
        if seen.event_type == self.event_type {
            return self.enabled.then(|| self.schedule(seen));
        }
        if !self.cancel_on.iter().any(|t| t == seen.event_type) {
            return None;
        }
        Some(match self.subject_of(seen.payload) {
            Ok(subject) => RuleAction {
                rule_id: self.id,
                subject: Some(subject),
                want: Some(Want::Cancel {
                    reason: format!("cancelled by a {} event", seen.event_type),
                }),
                note: None,
            },
            Err(why) => self.note(why),
        })
    }

    fn note(&self, why: String) -> RuleAction {
        RuleAction {
            rule_id: self.id,
            subject: None,
            want: None,
            note: Some(why),
        }
    }

    fn schedule(&self, seen: &Seen<'_>) -> RuleAction {
        let subject = match self.subject_of(seen.payload) {
            Ok(subject) => subject,
            Err(why) => return self.note(why),
        };
        let cancel = |reason: &str| RuleAction {
            rule_id: self.id,
            subject: Some(subject.clone()),
            want: Some(Want::Cancel {
                reason: reason.to_owned(),
            }),
            note: Some(reason.to_owned()),
        };
        if self
            .filter
            .as_ref()
            .is_some_and(|f| !f.matches(seen.payload))
        {
            return cancel("the filter does not match");
        }
        let target = match self.target.lookup(seen.payload) {
            None | Some(Value::Null) => return cancel("the event has no target"),
            Some(value) => match self.zone.target(value) {
                Ok(target) => target,
                Err(why) => {
                    return self.note(format!("target {}: {why}; nothing scheduled", self.target));
                }
            },
        };
        let Some(endpoint) = &seen.endpoint else {
            return self.note("the rule's endpoint is gone; nothing scheduled".into());
        };
        let planned = self
            .offsets
            .iter()
            .map(|offset| self.planned(seen, &subject, target, offset, endpoint))
            .collect();
        RuleAction {
            rule_id: self.id,
            subject: Some(subject),
            want: Some(Want::Remind { target, planned }),
            note: None,
        }
    }

    fn planned(
        &self,
        seen: &Seen<'_>,
        subject: &str,
        target: DateTime<Utc>,
        offset: &Offset,
        endpoint: &str,
    ) -> Planned {
        let at = self
            .zone
            .shift(target, offset)
            .map_or(target, |t| self.zone.out_of_quiet(t));
        let mut outcome = self.zone.when(target, offset, seen.now);
        let mut event = None;
        if let Outcome::Send(send_at) = outcome {
            match self.body(seen, subject, target, offset) {
                Ok(payload) => {
                    event = Some(NewEvent {
                        id: Uuid::now_v7(),
                        event_type: format!("reminder.{}", self.name),
                        payload,
                        channels: Vec::new(),
                        send_at: Some(send_at),
                        idempotency: None,
                        routes: vec![Route {
                            endpoint_id: self.endpoint_id,
                            endpoint: endpoint.to_owned(),
                            ordering_key: None,
                        }],
                        hand_off: None,
                        reminders: Vec::new(),
                    });
                }
                Err(why) => outcome = Outcome::Skip(why),
            }
        }
        Planned {
            offset: offset.to_string(),
            at,
            outcome,
            event,
        }
    }

    /// The key a payload gives: a string as it is, a number as written.
    fn subject_of(&self, payload: &Value) -> Result<String, String> {
        let subject = match self.subject.lookup(payload) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(format!(
                    "subject {} is {other}, not a non-empty string or a number; nothing scheduled",
                    self.subject
                ));
            }
            None => {
                return Err(format!(
                    "subject {} is not in the payload; nothing scheduled",
                    self.subject
                ));
            }
        };
        if subject.chars().count() > MAX_SUBJECT {
            return Err(format!(
                "subject {} is longer than {MAX_SUBJECT} characters; nothing scheduled",
                self.subject
            ));
        }
        Ok(subject)
    }

    /// The reminder's payload: the event's plus `reminder`, or the template's output.
    fn body(
        &self,
        seen: &Seen<'_>,
        subject: &str,
        target: DateTime<Utc>,
        offset: &Offset,
    ) -> Result<Value, String> {
        let target = target.to_rfc3339_opts(SecondsFormat::Secs, true);
        let about = json!({"rule": self.name, "offset": offset.to_string(), "target": target,
                           "subject": subject});
        let Some(template) = &self.template else {
            let mut payload = seen.payload.clone();
            if let Value::Object(map) = &mut payload {
                map.insert("reminder".into(), about);
            }
            return Ok(payload);
        };
        let mut doc = about;
        doc["event"] = json!({"id": seen.id, "type": seen.event_type});
        doc["payload"] = seen.payload.clone();
        let id = seen.id.to_string();
        let rendered = template.render(&Scope {
            id: &id,
            event_type: seen.event_type,
            payload: &doc,
        })?;
        match serde_json::from_slice::<Value>(&rendered.body) {
            Ok(v) if v.is_object() => Ok(v),
            _ => Err("template: the reminder's payload must be a JSON object".into()),
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
