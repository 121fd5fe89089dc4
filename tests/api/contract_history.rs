//! The store contract, part 4: replay jobs and retention, on PostgreSQL and on SQLite, called
//! directly. A batch is written only under its job's lease, once; a job is leased by one owner
//! at a time; retention deletes old ended events with their rows and keeps one still on its way.

use std::time::Duration;

use chrono::Utc;
use herald::db::{
    DEFAULT_ENDPOINT_ID, Enqueue, NewEvent, ReplayBatch, ReplayRow, ReplayStatus, Route,
};
use herald::replay::Mode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;
use crate::testdb::open_store as open;

const LEASE: Duration = Duration::from_secs(30);

fn job() -> ReplayRow {
    let now = Utc::now();
    ReplayRow {
        id: Uuid::now_v7(),
        endpoint_id: Some(DEFAULT_ENDPOINT_ID),
        from: now - chrono::Duration::hours(1),
        to: Some(now + chrono::Duration::hours(1)),
        types: vec![],
        filter: None,
        mode: Mode::Missing,
        rate_per_sec: None,
        max_events: 100,
        status: ReplayStatus::Running,
        planned: 1,
        examined: 0,
        enqueued: 0,
        cursor: None,
        error: None,
        created_at: now,
        updated_at: now,
        finished_at: None,
    }
}

fn unrouted() -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        event_type: "t".into(),
        payload: json!({"n": 1}),
        channels: vec![],
        send_at: None,
        idempotency: None,
        routes: vec![],
        hand_off: None,
        reminders: Vec::new(),
    }
}

both_stores!(a_batch_is_written_once_and_only_under_its_lease);
async fn a_batch_is_written_once_and_only_under_its_lease(backend: Backend) {
    let (_db, store) = open(backend);
    let event = unrouted();
    store.insert_event(&event).unwrap();
    let made = store.create_replay(&job()).unwrap();
    let leased = store
        .lease_replay("a", LEASE)
        .unwrap()
        .expect("a running job");
    assert_eq!(leased.id, made.id);
    assert!(
        store.lease_replay("b", LEASE).unwrap().is_none(),
        "one owner at a time"
    );
    let batch = ReplayBatch {
        enqueue: vec![Enqueue::Insert {
            event: event.id,
            endpoint: DEFAULT_ENDPOINT_ID,
            ordering_key: None,
        }],
        cursor: (Utc::now(), event.id),
        examined: 1,
    };
    assert_eq!(
        store.apply_replay(made.id, "b", LEASE, &batch).unwrap(),
        None
    );
    assert_eq!(
        store.replay_progress(made.id).unwrap().open,
        0,
        "nothing written"
    );
    assert_eq!(
        store.apply_replay(made.id, "a", LEASE, &batch).unwrap(),
        Some(1)
    );
    // The same batch again (a retry after a lost answer) enqueues nothing more.
    assert_eq!(
        store.apply_replay(made.id, "a", LEASE, &batch).unwrap(),
        Some(0)
    );
    let now = store.replay(made.id).unwrap();
    assert_eq!((now.examined, now.enqueued), (2, 1));
    assert_eq!(now.cursor.map(|c| c.1), Some(event.id));
    let (stored, _) = store.get_event(event.id).unwrap();
    assert_eq!(stored.deliveries.len(), 1);
    assert_eq!(stored.deliveries[0].replay.map(|r| r.0), Some(made.id));
    // Paused, it is no one's to run: a batch is refused and no lease is given.
    store
        .set_replay_status(made.id, &[ReplayStatus::Running], ReplayStatus::Paused)
        .unwrap();
    assert_eq!(
        store.apply_replay(made.id, "a", LEASE, &batch).unwrap(),
        None
    );
    assert!(store.lease_replay("a", LEASE).unwrap().is_none());
}

both_stores!(retention_deletes_old_ended_events_and_keeps_one_on_its_way);
async fn retention_deletes_old_ended_events_and_keeps_one_on_its_way(backend: Backend) {
    let (_db, store) = open(backend);
    let ended = unrouted();
    let mut waiting = unrouted();
    waiting.routes = vec![Route {
        endpoint_id: DEFAULT_ENDPOINT_ID,
        endpoint: "default".into(),
        ordering_key: None,
    }];
    store
        .insert_events(&[ended.clone(), waiting.clone()], None)
        .unwrap();
    let later = store.now().unwrap() + chrono::Duration::seconds(1);
    let pruned = store.prune(later, 1000).unwrap();
    assert_eq!(
        (pruned.events, pruned.deliveries),
        (1, 0),
        "the unrouted one goes"
    );
    assert!(store.get_event(ended.id).is_err());
    assert!(
        store.get_event(waiting.id).is_ok(),
        "its delivery is pending"
    );
    assert!(store.oldest_event().unwrap().is_some());
    // Nothing is older than an hour ago.
    let hour_ago = store.now().unwrap() - chrono::Duration::hours(1);
    assert_eq!(store.prune(hour_ago, 1000).unwrap().events, 0);
}
