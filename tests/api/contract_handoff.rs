//! The store contract, part 6: hand-offs, on PostgreSQL and on SQLite. A route inserted with a
//! token is stored `sending` under it, with its first attempt counted and a lease, and no other
//! claimer takes it; its outcome is recorded under that token like a claim's. Where a claim
//! would not take the delivery (a paused endpoint, an open breaker, dispatch stopped), it is
//! stored `pending` instead. A lease that runs out is claimed again, and the first owner's
//! outcome is then stale.

use std::time::Duration;

use chrono::Utc;
use herald::db::{
    Backend as Store, BreakerState, Claim, EventRecord, HandOff, Inserted, NewEvent, Share,
};
use herald::domain::{Finish, MessageStatus};
use herald::protect::opened;
use uuid::Uuid;

use crate::contract_routing::{event_to, row};
use crate::helpers::*;
use crate::testdb::open_store as open;

const LEASE: Duration = Duration::from_secs(30);

fn shares(ids: &[Uuid]) -> Vec<Share> {
    ids.iter()
        .map(|id| Share {
            endpoint_id: *id,
            share: 10,
        })
        .collect()
}

/// `event` with every route handed off to `worker` under a fresh token.
fn handed(mut event: NewEvent, worker: &str, lease: Duration) -> (NewEvent, Vec<Uuid>) {
    let tokens: Vec<Uuid> = event.routes.iter().map(|_| Uuid::new_v4()).collect();
    event.hand_off = Some(HandOff {
        worker: worker.into(),
        lease,
        tokens: tokens.iter().copied().map(Some).collect(),
    });
    (event, tokens)
}

fn created(store: &dyn Store, event: &NewEvent) -> EventRecord {
    match store.insert_event(event).unwrap() {
        Inserted::Created(record) => record,
        Inserted::Replayed(_) => panic!("a new event"),
    }
}

/// The claim a hand-off makes of `record`'s delivery to `endpoint`, as the sender gets it.
fn claim_of(record: &EventRecord, endpoint: Uuid, token: Uuid) -> Claim {
    let d = record
        .deliveries
        .iter()
        .find(|d| d.endpoint_id == endpoint)
        .unwrap();
    Claim {
        id: d.id,
        token,
        attempt: 1,
        number: 1,
        event_id: record.id,
        endpoint_id: endpoint,
        event_type: record.event_type.clone(),
        payload: record.payload.to_string(),
        shared: record.deliveries.len() > 1,
        probe: false,
        created_at: d.created_at,
        deadline: std::time::Instant::now() + LEASE,
    }
}

both_stores!(a_handed_off_delivery_is_stored_sending_and_no_one_else_claims_it);
async fn a_handed_off_delivery_is_stored_sending_and_no_one_else_claims_it(backend: Backend) {
    let (_db, store) = open(backend);
    let (a, b) = (
        store.create_endpoint(&row("a")).unwrap(),
        store.create_endpoint(&row("b")).unwrap(),
    );
    let (mut event, tokens) = handed(event_to(&[&a, &b]), "w1", LEASE);
    // Only the route to `a` is handed off; `b` is left to the dispatchers.
    event.hand_off.as_mut().unwrap().tokens[1] = None;
    let record = created(&*store, &event);
    let status = |r: &EventRecord, id: Uuid| {
        let d = r.deliveries.iter().find(|d| d.endpoint_id == id).unwrap();
        (d.status, d.attempts)
    };
    assert_eq!(status(&record, a.id), (MessageStatus::Sending, 1));
    assert_eq!(status(&record, b.id), (MessageStatus::Pending, 0));
    let (stored, _) = store.get_event(record.id).unwrap();
    assert_eq!(
        status(&stored, a.id),
        (MessageStatus::Sending, 1),
        "as stored"
    );
    assert_eq!(status(&stored, b.id), (MessageStatus::Pending, 0));

    let others = store
        .claim(&shares(&[a.id, b.id]), 10, LEASE, "w2")
        .unwrap();
    assert_eq!(others.len(), 1, "only the delivery left to the dispatchers");
    assert_eq!(others[0].endpoint_id, b.id);
    assert!(
        store.next_due().unwrap().unwrap() > Duration::from_secs(20),
        "a lease, not due"
    );

    let sent = Finish::Sent {
        message_id: Some("wh-1".into()),
    };
    let results = store
        .finish(&[recorded(claim_of(&record, a.id, tokens[0]), sent)])
        .unwrap();
    assert!(matches!(
        results[0],
        herald::db::FinishResult::Applied { sent_at: Some(_) }
    ));
    let (done, history) = store.get_event(record.id).unwrap();
    assert_eq!(status(&done, a.id).0, MessageStatus::Sent);
    assert_eq!(history.len(), 1, "one attempt: {history:?}");
    assert_eq!(history[0].attempt, 1);
}

both_stores!(a_hand_off_is_refused_where_a_claim_would_not_take_the_delivery);
async fn a_hand_off_is_refused_where_a_claim_would_not_take_the_delivery(backend: Backend) {
    let (_db, store) = open(backend);
    let paused = store.create_endpoint(&row("paused")).unwrap();
    let broken = store.create_endpoint(&row("broken")).unwrap();
    let fine = store.create_endpoint(&row("fine")).unwrap();
    store
        .pause_endpoint(
            paused.id,
            Utc::now() + chrono::Duration::hours(1),
            "retry_after",
        )
        .unwrap();
    let cooling = opened(Utc::now(), "test".into(), Duration::from_secs(3600));
    assert!(
        store
            .set_breaker(broken.id, BreakerState::Closed, &cooling)
            .unwrap()
    );
    let (event, _) = handed(event_to(&[&paused, &broken, &fine]), "w1", LEASE);
    let record = created(&*store, &event);
    let of = |id: Uuid| {
        record
            .deliveries
            .iter()
            .find(|d| d.endpoint_id == id)
            .unwrap()
            .status
    };
    assert_eq!(of(paused.id), MessageStatus::Pending, "paused");
    assert_eq!(of(broken.id), MessageStatus::Pending, "breaker open");
    assert_eq!(of(fine.id), MessageStatus::Sending);

    store.set_dispatch_active(false).unwrap();
    let (stopped, _) = handed(event_to(&[&fine]), "w1", LEASE);
    let record = created(&*store, &stopped);
    assert_eq!(
        record.deliveries[0].status,
        MessageStatus::Pending,
        "dispatch stopped"
    );
    let (stored, _) = store.get_event(record.id).unwrap();
    assert_eq!(stored.deliveries[0].status, MessageStatus::Pending);
    assert_eq!(stored.deliveries[0].attempts, 0);
}

both_stores!(a_handed_off_delivery_whose_lease_ran_out_is_claimed_again);
async fn a_handed_off_delivery_whose_lease_ran_out_is_claimed_again(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    let (event, tokens) = handed(event_to(&[&a]), "gone", Duration::from_millis(50));
    let record = created(&*store, &event);
    let mut again = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while again.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease never ran out"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        again = store.claim(&shares(&[a.id]), 10, LEASE, "w2").unwrap();
    }
    assert_eq!(again[0].id, record.deliveries[0].id);
    assert_eq!(
        again[0].attempt, 2,
        "the hand-off counted the first attempt"
    );
    let late = Finish::Failed {
        error: "late".into(),
    };
    let results = store
        .finish(&[recorded(claim_of(&record, a.id, tokens[0]), late)])
        .unwrap();
    assert_eq!(results[0], herald::db::FinishResult::Stale, "taken over");
}
