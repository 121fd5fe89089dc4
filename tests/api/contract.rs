//! The store contract: every `MessageStore` call, checked the same way on PostgreSQL and on
//! SQLite. Each test opens a fresh store of each kind and calls it directly (no actors).

use std::time::Duration;

use herald::db::{Batch, Inserted, ListFilter, MessageStore, PgStore, SqliteStore, StoreError};
use herald::domain::{Finish, MessageStatus};

use crate::helpers::*;

fn open(backend: Backend) -> (TestDb, Box<dyn MessageStore>) {
    let db = TestDb::on(backend);
    let store: Box<dyn MessageStore> = match backend {
        Backend::Postgres => {
            let pg = PgStore::new(&db.url, 2, Duration::from_secs(5));
            pg.migrate(160).unwrap();
            Box::new(pg)
        }
        Backend::Sqlite => {
            let sqlite = SqliteStore::open(&db.path(), 2).unwrap();
            sqlite.migrate().unwrap();
            Box::new(sqlite)
        }
    };
    (db, store)
}

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
    let ids = |v: &[herald::db::MessageRecord]| v.iter().map(|m| m.id).collect::<Vec<_>>();
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

both_stores!(claims_are_leases_and_expired_ones_are_reclaimed);
async fn claims_are_leases_and_expired_ones_are_reclaimed(backend: Backend) {
    let (_db, store) = open(backend);
    let stored = store
        .insert(&[new_message("a"), new_message("b"), new_message("c")])
        .unwrap();
    let first = store
        .claim_due(2, Duration::from_millis(300), "w1")
        .unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].id, stored[0].id, "oldest due first");
    assert_eq!((first[0].attempt, first[0].number), (1, 1));
    assert_eq!(store.counts().unwrap().sending, 2);
    // Held: only the third is left.
    let second = store.claim_due(5, LEASE, "w2").unwrap();
    assert_eq!(
        second.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![stored[2].id]
    );
    assert!(store.claim_due(5, LEASE, "w2").unwrap().is_empty());
    assert!(store.next_due().unwrap().is_some(), "a lease will run out");

    wait_until(
        "the short leases to run out",
        Duration::from_secs(5),
        || async { store.next_due().unwrap() == Some(Duration::ZERO) },
    )
    .await;
    // Due now means claimable now.
    let again = store.claim_due(5, LEASE, "w3").unwrap();
    let mut ids: Vec<_> = again.iter().map(|c| c.id).collect();
    ids.sort();
    let mut expected = vec![first[0].id, first[1].id];
    expected.sort();
    assert_eq!(ids, expected, "the expired claims come back");
    assert!(again.iter().all(|c| c.attempt == 2 && c.number == 2));
    assert!(
        again
            .iter()
            .all(|c| first.iter().all(|f| f.token != c.token))
    );
}

both_stores!(finish_applies_only_under_the_current_claim);
async fn finish_applies_only_under_the_current_claim(backend: Backend) {
    let (_db, store) = open(backend);
    store
        .insert(&[new_message("a"), new_message("b"), new_message("c")])
        .unwrap();
    let stale = store
        .claim_due(1, Duration::from_millis(100), "old")
        .unwrap()
        .remove(0);
    // The other two are due now, so poll by claiming until the stale claim comes back.
    let mut claims = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !claims.iter().any(|c: &herald::db::Claim| c.id == stale.id) {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease never ran out"
        );
        claims.extend(store.claim_due(3, LEASE, "new").unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    claims.sort_by_key(|c| c.id != stale.id);
    assert_eq!(claims.len(), 3);
    let [current, retried, failed]: [_; 3] = claims.try_into().unwrap();
    let group = vec![
        recorded(
            stale.clone(),
            Finish::Failed {
                error: "late".into(),
            },
        ),
        recorded(
            current.clone(),
            Finish::Sent {
                message_id: Some("wh-1".into()),
            },
        ),
        recorded(
            retried.clone(),
            Finish::Retry {
                after: Duration::from_secs(60),
                error: "HTTP 503".into(),
            },
        ),
        recorded(
            failed.clone(),
            Finish::Failed {
                error: "HTTP 410".into(),
            },
        ),
    ];
    let results = store.finish(&group).unwrap();
    assert_eq!(results[0], herald::db::FinishResult::Stale);
    assert!(
        results[1..]
            .iter()
            .all(|r| matches!(r, herald::db::FinishResult::Applied { .. }))
    );
    let herald::db::FinishResult::Applied { sent_at: Some(_) } = results[1] else {
        panic!("a sent message has its time: {:?}", results[1])
    };

    let (sent, history) = store.get(current.id).unwrap();
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.message_id.as_deref(), Some("wh-1"));
    // Both attempts on this message are kept: the stale one and the current one.
    let outcomes: Vec<_> = history
        .iter()
        .map(|a| (a.attempt, a.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, vec![(1, "permanent"), (2, "success")]);
    let (pending, _) = store.get(retried.id).unwrap();
    assert_eq!(pending.status, MessageStatus::Pending);
    assert_eq!(pending.last_error.as_deref(), Some("HTTP 503"));
    assert!(pending.next_attempt_at > chrono::Utc::now() + chrono::Duration::seconds(50));
    assert_eq!(
        store.get(failed.id).unwrap().0.status,
        MessageStatus::Failed
    );
    assert!(
        store.claim_due(5, LEASE, "w").unwrap().is_empty(),
        "the retry is not due yet"
    );
    assert!(!store.overdue(Duration::ZERO).unwrap());
}

both_stores!(release_hands_claims_back_unspent);
async fn release_hands_claims_back_unspent(backend: Backend) {
    let (_db, store) = open(backend);
    store.insert(&[new_message("a"), new_message("b")]).unwrap();
    let claims = store.claim_due(2, LEASE, "w").unwrap();
    assert_eq!(store.release(&claims).unwrap(), 2);
    assert_eq!(
        store.release(&claims).unwrap(),
        0,
        "a released claim is spent"
    );
    let page = store
        .list(&ListFilter {
            status: Some(MessageStatus::Pending),
            limit: 10,
            offset: 0,
        })
        .unwrap();
    assert_eq!(page.total, 2);
    assert!(page.messages.iter().all(|m| m.attempts == 0));
    let again = store.claim_due(2, LEASE, "w").unwrap();
    assert!(
        again.iter().all(|c| c.number == 1),
        "the attempt number is given back too"
    );
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
    assert_eq!(sent.messages[0].id, claim.id);
    assert!(sent.messages[0].sent_at.is_some());
    let (message, history) = store.get(stored[0].id).unwrap();
    assert_eq!(message.id, claim.id);
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
    assert_eq!(claim.id, a.id);
    assert!(matches!(
        store.cancel(a.id),
        Err(StoreError::Conflict(MessageStatus::Sending))
    ));
    store
        .finish(&[recorded(
            claim,
            Finish::Failed {
                error: "HTTP 410".into(),
            },
        )])
        .unwrap();
    assert!(matches!(
        store.retry(b.id),
        Err(StoreError::Conflict(MessageStatus::Pending))
    ));
    let retried = store.retry(a.id).unwrap();
    assert_eq!(
        (retried.status, retried.attempts),
        (MessageStatus::Pending, 0)
    );
    let cancelled = store.cancel(b.id).unwrap();
    assert_eq!(cancelled.status, MessageStatus::Cancelled);
    assert!(matches!(
        store.cancel(b.id),
        Err(StoreError::Conflict(MessageStatus::Cancelled))
    ));
    let again = store.claim_due(5, LEASE, "w").unwrap();
    assert_eq!(again.len(), 1, "a cancelled message is never claimed");
    assert_eq!(
        (again[0].id, again[0].attempt, again[0].number),
        (a.id, 1, 2),
        "the schedule starts again, the history number goes on"
    );
    assert!(matches!(
        store.retry(uuid::Uuid::new_v4()),
        Err(StoreError::NotFound)
    ));
}

both_stores!(the_dispatch_switch_gates_claims);
async fn the_dispatch_switch_gates_claims(backend: Backend) {
    let (_db, store) = open(backend);
    assert!(store.dispatch_active().unwrap(), "active by default");
    store.insert(&[new_message("a")]).unwrap();
    store.set_dispatch_active(false).unwrap();
    assert!(!store.dispatch_active().unwrap());
    assert!(store.claim_due(5, LEASE, "w").unwrap().is_empty());
    store.set_dispatch_active(true).unwrap();
    assert_eq!(store.claim_due(5, LEASE, "w").unwrap().len(), 1);
}

both_stores!(stats_count_statuses_recent_attempts_and_the_oldest_due);
async fn stats_count_statuses_recent_attempts_and_the_oldest_due(backend: Backend) {
    let (_db, store) = open(backend);
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
    assert!(store.overdue(Duration::from_secs(20)).unwrap());
    assert!(!store.overdue(Duration::from_secs(60)).unwrap());
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
