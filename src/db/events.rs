//! Events and their deliveries as they cross the store boundary, and the message view that
//! `/messages` derives from an event of type `message`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::StoreError;
use crate::domain::{EventStatus, MessageStatus};

/// An event to store, with the endpoints it was routed to (one delivery each).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub event_type: String,
    /// A JSON object.
    pub payload: Value,
    pub channels: Vec<String>,
    pub send_at: Option<DateTime<Utc>>,
    /// `(key, fingerprint of the request)` for idempotent creation.
    pub idempotency: Option<(String, String)>,
    pub routes: Vec<Route>,
    /// Routes this instance delivers itself straight after the commit (see
    /// [`HandOff`](super::HandOff)); `None` leaves every delivery to the dispatchers.
    pub hand_off: Option<super::HandOff>,
    /// What reminder rules do with it, applied in the commit that stores it.
    pub reminders: Vec<super::RuleAction>,
}

/// One delivery an insert writes: its event, its route, its fresh id and, if the route is handed
/// off, its claim token.
pub struct Planned<'a> {
    pub event: &'a NewEvent,
    pub route: &'a Route,
    pub id: Uuid,
    pub token: Option<Uuid>,
}

/// The deliveries of `events` in order, and each event's delivery ids (as
/// [`NewEvent::stored`] takes them): what both stores' inserts write.
pub fn plan(events: &[NewEvent]) -> (Vec<Vec<Uuid>>, Vec<Planned<'_>>) {
    let ids: Vec<Vec<Uuid>> = events.iter().map(NewEvent::delivery_ids).collect();
    let planned = events
        .iter()
        .zip(&ids)
        .flat_map(|(event, ids)| {
            event
                .routes
                .iter()
                .zip(ids)
                .enumerate()
                .map(move |(i, (route, id))| Planned {
                    event,
                    route,
                    id: *id,
                    token: event.hand_off.as_ref().and_then(|h| h.token(i)),
                })
        })
        .collect();
    (ids, planned)
}

impl NewEvent {
    /// A fresh id for each delivery, in route order: time-ordered, so that the index entries
    /// of a burst of deliveries land together at the end of each index.
    pub fn delivery_ids(&self) -> Vec<Uuid> {
        self.routes.iter().map(|_| Uuid::now_v7()).collect()
    }

    /// The event as it was just stored at `at`, `delivery_ids[i]` being the id of the delivery
    /// to `routes[i]`, and `handed` the deliveries stored `sending` for a hand-off: what an
    /// insert answers with, without reading its rows back.
    pub fn stored(&self, delivery_ids: &[Uuid], at: DateTime<Utc>, handed: &[Uuid]) -> EventRecord {
        let mut deliveries: Vec<DeliveryRecord> = self
            .routes
            .iter()
            .zip(delivery_ids)
            .map(|(r, id)| DeliveryRecord {
                id: *id,
                event_id: self.id,
                endpoint_id: r.endpoint_id,
                endpoint: r.endpoint.clone(),
                status: MessageStatus::Pending,
                attempts: 0,
                next_attempt_at: self.send_at.unwrap_or(at),
                message_id: None,
                last_error: None,
                sent_at: None,
                created_at: at,
                updated_at: at,
                replay: None,
            })
            .collect();
        deliveries.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
        for d in &mut deliveries {
            if handed.contains(&d.id) {
                d.status = MessageStatus::Sending;
                d.attempts = 1;
            }
        }
        EventRecord {
            id: self.id,
            event_type: self.event_type.clone(),
            payload: self.payload.clone(),
            channels: self.channels.clone(),
            status: if self.routes.is_empty() {
                EventStatus::Unrouted
            } else {
                EventStatus::Pending
            },
            sent_at: None,
            created_at: at,
            updated_at: at,
            deliveries,
        }
    }
}

/// One endpoint an event goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub endpoint_id: Uuid,
    pub endpoint: String,
    /// The value of the endpoint's `ordering_key` in the payload, when it has one and the
    /// payload holds it: deliveries that share it go one at a time, in creation order.
    pub ordering_key: Option<String>,
}

/// A stored event with its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: Uuid,
    pub event_type: String,
    pub payload: Value,
    pub channels: Vec<String>,
    pub status: EventStatus,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deliveries: Vec<DeliveryRecord>,
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    /// The endpoint's name.
    pub endpoint: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub message_id: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The replay job that last put it back on its way, and the attempt number it had then:
    /// its attempts after that number are the replay's.
    pub replay: Option<(Uuid, i32)>,
}

/// Which events to list: newest first, every status when `status` is `None`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<String>,
    pub status: Option<StatusFilter>,
    pub limit: u32,
    pub offset: u64,
}

/// A status to list by. `/messages` also lists by the queue's view: `sending` is a pending
/// event with a delivery in flight, and `pending` one with none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Event(EventStatus),
    Message(MessageStatus),
}

#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<EventRecord>,
    pub total: i64,
}

/// What a retry or cancel applies to: every delivery of the event, or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Event(Uuid),
    Delivery { event: Uuid, delivery: Uuid },
}

/// A stored message, as `/messages` shows it: an event of type `message`, its fields rolled up
/// from its deliveries (with one delivery, exactly that delivery's).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: Uuid,
    pub recipient: String,
    pub content: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub message_id: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl MessageRecord {
    pub fn of(event: &EventRecord) -> Self {
        let text = |key: &str| {
            event
                .payload
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let d = &event.deliveries;
        let sending = d.iter().any(|d| d.status == MessageStatus::Sending);
        let status = match event.status {
            EventStatus::Pending if sending => MessageStatus::Sending,
            EventStatus::Pending => MessageStatus::Pending,
            EventStatus::Sent => MessageStatus::Sent,
            EventStatus::Failed => MessageStatus::Failed,
            EventStatus::Cancelled => MessageStatus::Cancelled,
            EventStatus::Unrouted => MessageStatus::Unrouted,
        };
        let open = d
            .iter()
            .filter(|d| matches!(d.status, MessageStatus::Pending | MessageStatus::Sending));
        Self {
            id: event.id,
            recipient: text("to"),
            content: text("content"),
            status,
            attempts: d.iter().map(|d| d.attempts).max().unwrap_or(0),
            next_attempt_at: open
                .map(|d| d.next_attempt_at)
                .min()
                .or_else(|| d.iter().map(|d| d.next_attempt_at).max())
                .unwrap_or(event.created_at),
            message_id: d.iter().filter_map(|d| d.message_id.clone()).next(),
            last_error: match event.status {
                EventStatus::Sent => None,
                _ => d
                    .iter()
                    .filter(|d| d.last_error.is_some())
                    .max_by_key(|d| d.updated_at)
                    .and_then(|d| d.last_error.clone()),
            },
            sent_at: (event.status == EventStatus::Sent)
                .then(|| d.iter().filter_map(|d| d.sent_at).max())
                .flatten(),
            created_at: event.created_at,
            updated_at: d
                .iter()
                .map(|d| d.updated_at)
                .chain([event.updated_at])
                .max()
                .unwrap_or(event.updated_at),
        }
    }
}

/// Cancelling, for both stores: pending deliveries → `cancelled`; when none is pending, a
/// failed delivery that holds its ordering key (`on_failure: block`) is cancelled instead, which
/// lets the key go on. `transition(from, holding)` moves the scope's deliveries in `from` (only
/// those holding a key, with `holding`) to `cancelled`.
pub(super) fn cancel_by(
    mut transition: impl FnMut(MessageStatus, bool) -> Result<EventRecord, StoreError>,
) -> Result<EventRecord, StoreError> {
    match transition(MessageStatus::Pending, false) {
        Err(StoreError::Conflict(why)) => {
            transition(MessageStatus::Failed, true).map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(why),
                other => other,
            })
        }
        other => other,
    }
}

/// Why nothing changed: the delivery does not exist, or nothing was in `from`.
pub(super) fn conflict(
    record: &EventRecord,
    delivery: Option<Uuid>,
    from: MessageStatus,
) -> super::StoreError {
    match delivery {
        Some(d) => match record.deliveries.iter().find(|x| x.id == d) {
            None => super::StoreError::NotFound,
            Some(x) => super::StoreError::Conflict(format!(
                "delivery is {}, not {}",
                x.status.as_str(),
                from.as_str()
            )),
        },
        None => super::StoreError::Conflict(format!(
            "event is {}; no delivery is {}",
            record.status.as_str(),
            from.as_str()
        )),
    }
}

/// How a change of deliveries moves its event's counters (see the migration): `open` is pending
/// or sending, `failed` and `cancelled` count those, `sent` marks a successful delivery now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Moved {
    pub event_id: Uuid,
    pub open: i32,
    pub failed: i32,
    pub cancelled: i32,
    pub sent: bool,
    /// The event has several deliveries, so another writer may move it at the same time.
    pub shared: bool,
}

impl Moved {
    /// A delivery of `event_id` went from `from` to `to`.
    pub fn of(event_id: Uuid, from: MessageStatus, to: MessageStatus, shared: bool) -> Self {
        let weight = |s: MessageStatus| match s {
            MessageStatus::Pending | MessageStatus::Sending => (1, 0, 0),
            MessageStatus::Failed => (0, 1, 0),
            MessageStatus::Cancelled => (0, 0, 1),
            MessageStatus::Sent | MessageStatus::Unrouted => (0, 0, 0),
        };
        let (a, b) = (weight(from), weight(to));
        Self {
            event_id,
            open: b.0 - a.0,
            failed: b.1 - a.1,
            cancelled: b.2 - a.2,
            sent: to == MessageStatus::Sent,
            shared,
        }
    }

    /// One move per event, in event id order (the order locks are taken in); moves that change
    /// nothing are left out.
    pub fn summed(moves: impl IntoIterator<Item = Moved>) -> Vec<Moved> {
        let mut by_event: std::collections::BTreeMap<Uuid, Moved> = Default::default();
        for m in moves {
            let e = by_event.entry(m.event_id).or_insert(Moved {
                open: 0,
                failed: 0,
                cancelled: 0,
                sent: false,
                ..m
            });
            e.open += m.open;
            e.failed += m.failed;
            e.cancelled += m.cancelled;
            e.sent |= m.sent;
            e.shared |= m.shared;
        }
        by_event
            .into_values()
            .filter(|m| m.open != 0 || m.failed != 0 || m.cancelled != 0 || m.sent)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn moves_count_open_failed_and_cancelled_deliveries() {
        let e = Uuid::from_u128(7);
        let m = |from, to| {
            let m = Moved::of(e, from, to, false);
            (m.open, m.failed, m.cancelled, m.sent)
        };
        assert_eq!(m(Sending, Sent), (-1, 0, 0, true));
        assert_eq!(m(Sending, Failed), (-1, 1, 0, false));
        assert_eq!(m(Sending, Pending), (0, 0, 0, false));
        assert_eq!(m(Failed, Pending), (1, -1, 0, false));
        assert_eq!(m(Pending, Cancelled), (-1, 0, 1, false));
        let summed = Moved::summed([
            Moved::of(e, Sending, Sent, true),
            Moved::of(e, Sending, Failed, false),
            Moved::of(Uuid::from_u128(1), Sending, Pending, false),
        ]);
        assert_eq!(summed.len(), 1, "a retry moves no counter");
        assert_eq!(
            (
                summed[0].open,
                summed[0].failed,
                summed[0].sent,
                summed[0].shared
            ),
            (-2, 1, true, true)
        );
    }
}

#[cfg(test)]
mod order_tests {
    /// Ordering keys order deliveries created together (one batch, one `created_at`) by id:
    /// ids made one after another in a process must increase.
    #[test]
    fn ids_made_one_after_another_increase() {
        let ids: Vec<uuid::Uuid> = (0..20_000).map(|_| uuid::Uuid::now_v7()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
