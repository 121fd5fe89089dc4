//! The store contract, part 1: creating, reading and changing messages, and the statistics,
//! checked the same way on PostgreSQL and on SQLite (each test opens a fresh store of each
//! kind and calls it directly, no actors). Part 2, the queue protocol, is `contract_queue.rs`.

use std::time::Duration;

use herald::db::{Batch, Inserted, MessageRecord, Scope, StoreError};
use herald::domain::{EventStatus, Finish, MessageStatus};

use crate::legacy::ListFilter;

use crate::helpers::*;
use crate::testdb::open_store as open;

fn keyed(content: &str, key: &str, fingerprint: &str) -> herald::db::NewMessage {
    let mut m = new_message(content);
    m.idempotency = Some((key.into(), fingerprint.into()));
    m
}

const LEASE: Duration = Duration::from_secs(30);

both_stores!(insert_and_idempotent_insert);
async fn insert_and_idempotent_insert(backend: Backend) {
    let (_db, store) = open(backend);
    let stored = store
        .insert(&[new_message("one"), new_message("two")])
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].content, "one");
    assert_eq!(stored[0].status, MessageStatus::Pending);
    assert_eq!(stored[0].attempts, 0);

    let first = keyed("hello", "k1", "f1");
    let Inserted::Created(created) = store.insert_idempotent(&first).unwrap() else {
        panic!("the first use of a key creates")
    };
    let Inserted::Replayed(replayed) = store
        .insert_idempotent(&keyed("hello", "k1", "f1"))
        .unwrap()
    else {
        panic!("the same request replays")
    };
    assert_eq!(replayed.id, created.id);
    assert!(matches!(
        store.insert_idempotent(&keyed("other", "k1", "f2")),
        Err(StoreError::IdempotencyMismatch)
    ));

    let batch = [new_message("b0"), new_message("b1"), new_message("b2")];
    let key = ("kb".to_owned(), "fb".to_owned());
    let Batch::Created(first) = store.insert_batch(&batch, Some(&key)).unwrap() else {
        panic!("created")
    };
    let again = [new_message("b0"), new_message("b1"), new_message("b2")];
    let Batch::Replayed(replayed) = store.insert_batch(&again, Some(&key)).unwrap() else {
        panic!("replayed")
    };
    let ids = |v: &[herald::db::EventRecord]| v.iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(&first),
        ids(&replayed),
        "the first batch, in request order"
    );
    let other = ("kb".to_owned(), "other".to_owned());
    assert!(matches!(
        store.insert_batch(&again, Some(&other)),
        Err(StoreError::IdempotencyMismatch)
    ));
    // A key a batch took is not free for a single create, and the other way round.
    assert!(matches!(
        store.insert_idempotent(&keyed("x", "kb", "fb")),
        Err(StoreError::IdempotencyMismatch)
    ));
    let single = ("k1".to_owned(), "f1".to_owned());
    assert!(matches!(
        store.insert_batch(&again, Some(&single)),
        Err(StoreError::IdempotencyMismatch)
    ));
    assert_eq!(store.counts().unwrap().pending, 6);
}

both_stores!(list_filters_pages_and_get_shows_the_history);
async fn list_filters_pages_and_get_shows_the_history(backend: Backend) {
    let (_db, store) = open(backend);
    let stored = store
        .insert(
            &(0..5)
                .map(|i| new_message(&format!("m{i}")))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let claim = store.claim_due(1, LEASE, "w").unwrap().remove(0);
    store
        .finish(&[recorded(claim.clone(), Finish::Sent { message_id: None })])
        .unwrap();
    let all = store
        .list(&ListFilter {
            status: None,
            limit: 2,
            offset: 0,
        })
        .unwrap();
    assert_eq!((all.total, all.messages.len()), (5, 2));
    let rest = store
        .list(&ListFilter {
            status: None,
            limit: 10,
            offset: 2,
        })
        .unwrap();
    assert_eq!(rest.messages.len(), 3);
    let sent = store
        .list(&ListFilter {
            status: Some(MessageStatus::Sent),
            limit: 10,
            offset: 0,
        })
        .unwrap();
    assert_eq!(sent.total, 1);
    assert_eq!(sent.messages[0].id, claim.event_id);
    assert!(sent.messages[0].sent_at.is_some());
    let (message, history) = store.get(stored[0].id).unwrap();
    assert_eq!(message.id, claim.event_id);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status_code, Some(202));
    assert_eq!(history[0].response_excerpt.as_deref(), Some("ok"));
    assert!(matches!(
        store.get(uuid::Uuid::new_v4()),
        Err(StoreError::NotFound)
    ));
}

both_stores!(retry_and_cancel_change_only_the_states_they_allow);
async fn retry_and_cancel_change_only_the_states_they_allow(backend: Backend) {
    let (_db, store) = open(backend);
    let [a, b]: [_; 2] = store
        .insert(&[new_message("a"), new_message("b")])
        .unwrap()
        .try_into()
        .unwrap();
    let claim = store.claim_due(1, LEASE, "w").unwrap().remove(0);
    assert_eq!(claim.event_id, a.id);
    assert!(
        matches!(store.cancel(Scope::Event(a.id)), Err(StoreError::Conflict(ref why)) if why.contains("no delivery is pending")),
        "a delivery in flight is not cancelled"
    );
    store
        .finish(&[recorded(
            claim,
            Finish::Failed {
                error: "HTTP 410".into(),
            },
        )])
        .unwrap();
    assert!(matches!(
        store.retry(Scope::Event(b.id)),
        Err(StoreError::Conflict(ref why)) if why == "event is pending; no delivery is failed"
    ));
    let retried = MessageRecord::of(&store.retry(Scope::Event(a.id)).unwrap());
    assert_eq!(
        (retried.status, retried.attempts),
        (MessageStatus::Pending, 0)
    );
    let cancelled = store.cancel(Scope::Event(b.id)).unwrap();
    assert_eq!(cancelled.status, EventStatus::Cancelled);
    assert!(matches!(
        store.cancel(Scope::Event(b.id)),
        Err(StoreError::Conflict(ref why)) if why == "event is cancelled; no delivery is pending"
    ));
    let again = store.claim_due(5, LEASE, "w").unwrap();
    assert_eq!(again.len(), 1, "a cancelled message is never claimed");
    assert_eq!(
        (again[0].event_id, again[0].attempt, again[0].number),
        (a.id, 1, 2),
        "the schedule starts again, the history number goes on"
    );
    assert!(matches!(
        store.retry(Scope::Event(uuid::Uuid::new_v4())),
        Err(StoreError::NotFound)
    ));
}

both_stores!(stats_count_statuses_recent_attempts_and_the_oldest_due);
async fn stats_count_statuses_recent_attempts_and_the_oldest_due(backend: Backend) {
    let (db, store) = open(backend);
    let mut late = new_message("due a while ago");
    late.send_at = Some(chrono::Utc::now() - chrono::Duration::seconds(30));
    store
        .insert(&[late, new_message("b"), new_message("c")])
        .unwrap();
    let counts = store.counts().unwrap();
    assert_eq!(counts.pending, 3);
    assert!(
        (29.0..40.0).contains(&counts.oldest_due_age_seconds),
        "{}",
        counts.oldest_due_age_seconds
    );
    // The switch moved just now: what waited is not stalled yet.
    store.set_dispatch_active(true).unwrap();
    assert!(!store.overdue(Duration::from_secs(20)).unwrap());
    db.exec(match backend {
        Backend::Postgres => "UPDATE dispatch_state SET updated_at = now() - interval '1 hour'",
        Backend::Sqlite => "UPDATE dispatch_state SET updated_at = updated_at - 3600000",
    })
    .unwrap();
    assert!(store.overdue(Duration::from_secs(20)).unwrap());
    assert!(!store.overdue(Duration::from_secs(60)).unwrap());
    // Stopping and starting again moves the switch: the wait starts again.
    store.set_dispatch_active(false).unwrap();
    store.set_dispatch_active(true).unwrap();
    assert!(
        !store.overdue(Duration::from_secs(20)).unwrap(),
        "work that waited while dispatch was stopped is not stalled when it starts"
    );
    let claims = store.claim_due(2, LEASE, "w").unwrap();
    let group: Vec<_> = claims
        .into_iter()
        .zip([
            Finish::Sent { message_id: None },
            Finish::Failed {
                error: "HTTP 400".into(),
            },
        ])
        .map(|(c, f)| recorded(c, f))
        .collect();
    store.finish(&group).unwrap();
    let counts = store.counts().unwrap();
    assert_eq!((counts.pending, counts.sent, counts.failed), (1, 1, 1));
    assert_eq!(
        (counts.deliveries_last_minute, counts.failures_last_minute),
        (1, 1)
    );
    let now = store.now().unwrap();
    assert!((chrono::Utc::now() - now).num_seconds().abs() < 5);
    store.ping().unwrap();
}
