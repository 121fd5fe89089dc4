//! Queue guarantees: disjoint claims, lease expiry, guarded finishes, no duplicates across
//! instances, constraints enforced by the database itself.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use herald::db::Op;
use herald::db::{AttemptRecord, Backend as MessageStore, FinishResult, PgStore, Recorded};
use herald::domain::{Finish, MessageStatus, OutcomeKind};

use crate::helpers::*;

fn attempt(n: u32) -> AttemptRecord {
    AttemptRecord {
        attempt: n,
        started_at: chrono::Utc::now(),
        duration_ms: 1,
        kind: OutcomeKind::Success,
        status_code: Some(202),
        error_class: None,
        excerpt: None,
    }
}

#[actix_rt::test]
async fn concurrent_claims_get_disjoint_rows() {
    let app = spawn_app().await;
    app.insert(60).await;
    let url = app.db.url.clone();
    // Six workers with their own pools claim at the same moment, each in its own thread.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let workers: Vec<_> = (0..6)
        .map(|i| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let store = PgStore::new(&url, 1, Duration::from_secs(5));
                store.ping().unwrap();
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .claim_due(7, Duration::from_secs(30), &format!("w{i}"))
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|c| c.id));
                }
            })
        })
        .collect();
    let claimed: Vec<Vec<uuid::Uuid>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let all: Vec<uuid::Uuid> = claimed.iter().flatten().copied().collect();
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 60, "every message claimed");
    assert_eq!(distinct.len(), 60, "no message claimed twice");
    assert!(
        claimed.iter().filter(|c| !c.is_empty()).count() >= 2,
        "claims were spread: {claimed:?}"
    );
}

both_stores!(an_expired_lease_is_reclaimed_and_the_stale_worker_cannot_overwrite);
async fn an_expired_lease_is_reclaimed_and_the_stale_worker_cannot_overwrite(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let [m] = app.insert(1).await.try_into().unwrap();
    // A worker claims with a short lease and "crashes".
    let crashed = app
        .handles
        .store
        .run(Op::Claim, |s| {
            s.claim_due(1, Duration::from_millis(100), "crashed")
        })
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        app.tick().await,
        herald::actors::TickOutcome::Idle,
        "lease still held"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;

    let sent = app.tick_until(m.id, MessageStatus::Sent).await;
    assert_eq!(sent.attempts, 2, "the lost claim counts as an attempt");
    assert_eq!(app.webhook.count(), 1);

    // The crashed worker comes back and tries to record a failure: refused.
    let stale = app
        .handles
        .store
        .run(Op::Finish, move |s| {
            s.finish(&[Recorded {
                claim: crashed,
                attempt: attempt(1),
                finish: Finish::Failed {
                    error: "late".into(),
                },
            }])
        })
        .await
        .unwrap();
    assert_eq!(stale, vec![FinishResult::Stale]);
    assert_eq!(app.message(m.id).await.status, MessageStatus::Sent);
}

both_stores!(a_claim_with_too_little_lease_left_is_handed_back_unsent);
async fn a_claim_with_too_little_lease_left_is_handed_back_unsent(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let [m] = app.insert(1).await.try_into().unwrap();
    let mut claim = app
        .handles
        .store
        .run(Op::Claim, |s| s.claim_due(1, Duration::from_secs(30), "me"))
        .await
        .unwrap()
        .remove(0);
    claim.deadline = Instant::now() + Duration::from_millis(100);
    let report = app
        .handles
        .sender
        .send(herald::actors::Deliver(vec![claim]))
        .await
        .unwrap();
    assert_eq!(report.released, 1);
    assert_eq!(app.webhook.count(), 0);
    let back = app.message(m.id).await;
    assert_eq!((back.status, back.attempts), (MessageStatus::Pending, 0));
}

#[actix_rt::test]
async fn two_instances_on_one_database_send_each_message_exactly_once() {
    let first = spawn_app_with(&[("SCHEDULER_INTERVAL", "20ms"), ("BATCH_SIZE", "5")]).await;
    first.insert(80).await;
    let second = spawn_on(
        first.db.share(),
        first.webhook.clone(),
        &[("SCHEDULER_INTERVAL", "20ms"), ("BATCH_SIZE", "5")],
    )
    .await;

    wait_until("all 80 sent", Duration::from_secs(30), || async {
        first.db.count("status = 'sent'") == 80
    })
    .await;
    let received = first.webhook.received();
    let distinct: HashSet<_> = received.iter().map(|r| r.webhook_id.clone()).collect();
    assert_eq!(received.len(), 80, "no duplicate requests");
    assert_eq!(distinct.len(), 80);
    let delivered = |app: &TestApp| {
        app.handles
            .monitor
            .metrics
            .deliveries
            .with_label_values(&["success"])
            .get()
    };
    assert_eq!(delivered(&first) + delivered(&second), 80);
    assert!(
        delivered(&first) > 0 && delivered(&second) > 0,
        "both instances worked"
    );
}

#[actix_rt::test]
async fn the_database_itself_refuses_invalid_rows() {
    let app = spawn_app().await;
    let event = |event_type: &str, payload: &str| {
        app.db.exec(&format!(
            "INSERT INTO events (id, type, payload) VALUES (gen_random_uuid(), '{event_type}', '{payload}')"
        ))
    };
    assert!(event("order.created", r#"{"a": 1}"#).is_ok());
    assert!(
        event("order created", "{}").is_err(),
        "a type outside [A-Za-z0-9._:-]"
    );
    assert!(event("", "{}").is_err(), "an empty type");
    assert!(
        event("x", "[1]").is_err(),
        "a payload that is not an object"
    );
    assert!(
        app.db.exec("UPDATE events SET status = 'lost'").is_err(),
        "unknown event status"
    );
    app.insert(1).await;
    assert!(
        app.db
            .exec("UPDATE deliveries SET status = 'lost'")
            .is_err(),
        "unknown delivery status"
    );
    assert!(
        app.db
            .exec("UPDATE deliveries SET status = 'sending', claim_token = NULL")
            .is_err(),
        "sending without a lease"
    );
    assert!(
        app.db
            .exec("INSERT INTO endpoints (id, name, url) VALUES (gen_random_uuid(), 'Bad Name', 'http://x')")
            .is_err(),
        "an endpoint name outside [a-z0-9_-]"
    );
    assert!(
        app.db
            .exec("INSERT INTO endpoints (id, name, url) VALUES (gen_random_uuid(), 'default', 'http://x')")
            .is_err(),
        "a second live endpoint named default"
    );
}
