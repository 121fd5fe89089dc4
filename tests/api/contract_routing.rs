//! The store contract, part 3: endpoints, and events with several deliveries, on PostgreSQL and
//! on SQLite: names are unique among live endpoints, every change moves the version, an event's
//! status rolls up from its deliveries, and deleting an endpoint cancels what it still had.

use std::collections::BTreeMap;
use std::time::Duration;

use herald::db::{
    Backend as Store, Batch, DEFAULT_ENDPOINT_ID, EndpointRow, EventFilter, NewEvent, Route, Scope,
    StatusFilter, StoreError,
};
use herald::domain::{EventStatus, Finish, MessageStatus};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;
use crate::testdb::open_store as open;

const LEASE: Duration = Duration::from_secs(30);

pub fn row(name: &str) -> EndpointRow {
    let now = chrono::Utc::now();
    EndpointRow {
        id: Uuid::new_v4(),
        name: name.into(),
        url: format!("https://{name}.example.com/hook"),
        event_types: Some(vec!["order.created".into()]),
        channels: None,
        filter: Some(json!({"path": "$.total", "op": "gt", "value": 1})),
        template: None,
        headers: BTreeMap::from([("x-team".to_owned(), "a".to_owned())]),
        secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        enabled: true,
        description: Some("d".into()),
        max_in_flight: 8,
        protection: Default::default(),
        state: Default::default(),
        created_at: now,
        updated_at: now,
    }
}

pub fn event_to(routes: &[&EndpointRow]) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: "order.created".into(),
        payload: json!({"total": 3, "items": [1]}),
        channels: vec!["eu".into()],
        send_at: None,
        idempotency: None,
        routes: routes
            .iter()
            .map(|r| Route {
                endpoint_id: r.id,
                endpoint: r.name.clone(),
                ordering_key: None,
            })
            .collect(),
        hand_off: None,
        reminders: Vec::new(),
    }
}

pub fn stored(store: &dyn Store, events: &[NewEvent]) -> Vec<herald::db::EventRecord> {
    match store.insert_events(events, None).unwrap() {
        Batch::Created(e) => e,
        Batch::Replayed(_) => panic!("no key, no replay"),
    }
}

both_stores!(endpoints_are_created_changed_and_deleted_with_unique_live_names);
async fn endpoints_are_created_changed_and_deleted_with_unique_live_names(backend: Backend) {
    let (_db, store) = open(backend);
    let v0 = store.endpoints_version().unwrap();
    let defaults = store.endpoints().unwrap();
    assert_eq!(defaults.len(), 1, "the migration writes default");
    assert_eq!(
        (defaults[0].id, defaults[0].name.as_str()),
        (DEFAULT_ENDPOINT_ID, "default")
    );
    let a = store.create_endpoint(&row("a")).unwrap();
    assert_eq!(
        (a.filter.clone(), a.headers.get("x-team").cloned()),
        (row("a").filter, Some("a".into()))
    );
    let v1 = store.endpoints_version().unwrap();
    assert_ne!(v0, v1, "a create moves the version");
    assert!(matches!(
        store.create_endpoint(&row("a")),
        Err(StoreError::Duplicate(_))
    ));
    let mut changed = a.clone();
    changed.event_types = None;
    changed.template = Some(json!({"kind": "text", "body": "x"}));
    changed.enabled = false;
    let changed = store.update_endpoint(&changed).unwrap();
    assert_eq!(
        (
            changed.event_types.clone(),
            changed.enabled,
            changed.created_at
        ),
        (None, false, a.created_at)
    );
    assert_ne!(
        store.endpoints_version().unwrap(),
        v1,
        "an update moves the version"
    );
    let b = store.create_endpoint(&row("b")).unwrap();
    let mut clash = b.clone();
    clash.name = "a".into();
    assert!(matches!(
        store.update_endpoint(&clash),
        Err(StoreError::Duplicate(_))
    ));
    let names: Vec<String> = store
        .endpoints()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["a", "b", "default"]);
    store.delete_endpoint(a.id).unwrap();
    assert!(matches!(
        store.delete_endpoint(a.id),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_endpoint(&changed),
        Err(StoreError::NotFound)
    ));
    store
        .create_endpoint(&row("a"))
        .expect("a deleted endpoint's name is free");
}

both_stores!(an_event_status_rolls_up_from_its_deliveries);
async fn an_event_status_rolls_up_from_its_deliveries(backend: Backend) {
    let (_db, store) = open(backend);
    let (a, b) = (
        store.create_endpoint(&row("a")).unwrap(),
        store.create_endpoint(&row("b")).unwrap(),
    );
    let [two, none]: [_; 2] = stored(store.as_ref(), &[event_to(&[&a, &b]), event_to(&[])])
        .try_into()
        .unwrap();
    assert_eq!(
        (two.status, two.deliveries.len()),
        (EventStatus::Pending, 2)
    );
    assert_eq!(
        (none.status, none.deliveries.len()),
        (EventStatus::Unrouted, 0)
    );
    assert_eq!(two.payload, json!({"total": 3, "items": [1]}));
    assert_eq!(two.channels, ["eu"]);
    let claims = store.claim_due(10, LEASE, "w").unwrap();
    assert_eq!(claims.len(), 2);
    assert!(
        claims
            .iter()
            .all(|c| c.event_id == two.id && c.event_type == "order.created")
    );
    let payload: serde_json::Value = serde_json::from_str(&claims[0].payload).unwrap();
    assert_eq!(payload, two.payload, "the claim carries the payload");
    let (to_a, to_b) = if claims[0].endpoint_id == a.id {
        (&claims[0], &claims[1])
    } else {
        (&claims[1], &claims[0])
    };
    store
        .finish(&[recorded(to_a.clone(), Finish::Sent { message_id: None })])
        .unwrap();
    assert_eq!(
        store.get_event(two.id).unwrap().0.status,
        EventStatus::Pending,
        "one still sending"
    );
    store
        .finish(&[recorded(
            to_b.clone(),
            Finish::Failed {
                error: "HTTP 410".into(),
            },
        )])
        .unwrap();
    let (failed, attempts) = store.get_event(two.id).unwrap();
    assert_eq!((failed.status, attempts.len()), (EventStatus::Failed, 2));
    assert!(failed.sent_at.is_none());
    let b_delivery = failed
        .deliveries
        .iter()
        .find(|d| d.endpoint == "b")
        .unwrap()
        .id;
    let retried = store
        .retry(Scope::Delivery {
            event: two.id,
            delivery: b_delivery,
        })
        .unwrap();
    assert_eq!(retried.status, EventStatus::Pending);
    assert!(matches!(
        store.retry(Scope::Delivery {
            event: two.id,
            delivery: Uuid::new_v4()
        }),
        Err(StoreError::NotFound)
    ));
    let again = store.claim_due(10, LEASE, "w").unwrap();
    assert_eq!((again.len(), again[0].endpoint_id), (1, b.id));
    store
        .finish(&[recorded(
            again[0].clone(),
            Finish::Sent { message_id: None },
        )])
        .unwrap();
    let sent = store.get_event(two.id).unwrap().0;
    assert_eq!(sent.status, EventStatus::Sent);
    assert!(sent.sent_at.is_some());
    let counts = store.counts().unwrap();
    assert_eq!(
        (counts.events.sent, counts.events.unrouted, counts.sent),
        (1, 1, 2)
    );
}

both_stores!(deleting_or_disabling_an_endpoint_holds_its_deliveries);
async fn deleting_or_disabling_an_endpoint_holds_its_deliveries(backend: Backend) {
    let (_db, store) = open(backend);
    let (a, b) = (
        store.create_endpoint(&row("a")).unwrap(),
        store.create_endpoint(&row("b")).unwrap(),
    );
    let e = stored(store.as_ref(), &[event_to(&[&a, &b])]).remove(0);
    let mut off = b.clone();
    off.enabled = false;
    store.update_endpoint(&off).unwrap();
    let claims = store.claim_due(10, LEASE, "w").unwrap();
    assert_eq!(
        claims.iter().map(|c| c.endpoint_id).collect::<Vec<_>>(),
        [a.id],
        "a disabled endpoint's delivery waits"
    );
    store.delete_endpoint(b.id).unwrap();
    let after = store.get_event(e.id).unwrap().0;
    let to_b = after
        .deliveries
        .iter()
        .find(|d| d.endpoint_id == b.id)
        .unwrap();
    assert_eq!(
        (to_b.status, to_b.last_error.as_deref()),
        (MessageStatus::Cancelled, Some("the endpoint was deleted"))
    );
    store
        .finish(&[recorded(
            claims[0].clone(),
            Finish::Sent { message_id: None },
        )])
        .unwrap();
    assert_eq!(
        store.get_event(e.id).unwrap().0.status,
        EventStatus::Sent,
        "cancelled deliveries beside sent ones do not count"
    );
}

both_stores!(events_list_by_type_and_status_newest_first);
async fn events_list_by_type_and_status_newest_first(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    let mut other = event_to(&[]);
    other.event_type = "user.signup".into();
    stored(store.as_ref(), &[event_to(&[&a]), other.clone()]);
    let third = stored(store.as_ref(), &[event_to(&[&a])]).remove(0);
    let list = |event_type: Option<&str>, status: Option<EventStatus>| {
        store
            .list_events(&EventFilter {
                event_type: event_type.map(Into::into),
                status: status.map(StatusFilter::Event),
                limit: 10,
                offset: 0,
            })
            .unwrap()
    };
    let all = list(None, None);
    assert_eq!((all.total, all.events[0].id), (3, third.id));
    assert_eq!(list(Some("user.signup"), None).events[0].id, other.id);
    assert_eq!(list(None, Some(EventStatus::Pending)).total, 2);
    assert_eq!(
        list(Some("order.created"), Some(EventStatus::Unrouted)).total,
        0
    );
    assert_eq!(list(None, Some(EventStatus::Unrouted)).total, 1);
}

both_stores!(payloads_keep_their_key_order_and_values_jsonb_would_refuse);
async fn payloads_keep_their_key_order_and_values_jsonb_would_refuse(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    let text = r#"{"zeta":1,"alpha":{"y":"\u0000 nul","x":1.7976931348623157e308},"ключ":[2.2250738585e-313,-0.0]}"#;
    let mut event = event_to(&[&a]);
    event.payload = serde_json::from_str(text).unwrap();
    let id = stored(store.as_ref(), &[event]).remove(0).id;
    let (read, _) = store.get_event(id).unwrap();
    assert_eq!(
        serde_json::to_string(&read.payload).unwrap(),
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(text).unwrap()).unwrap()
    );
    let keys: Vec<&String> = read.payload.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["zeta", "alpha", "ключ"],
        "the order the payload was written in"
    );
    let claim = store.claim_due(1, LEASE, "w").unwrap().remove(0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&claim.payload).unwrap(),
        read.payload
    );
}
