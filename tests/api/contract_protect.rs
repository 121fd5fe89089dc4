//! The store contract, part 5: protecting receivers, on PostgreSQL and on SQLite. A deferred
//! delivery gives its attempt back and is due at its time; a paused or cooling endpoint is not
//! claimed (nor due, nor stalled); a cool-down that ended gives one probe; the breaker, the
//! failing run and disabling move only from the state they expect; an ordering key holds its
//! followers.

use std::time::Duration;

use chrono::Utc;
use herald::db::{BreakerState, OnFailure, Share};
use herald::protect::{Decision, Rate, opened};

use crate::contract_routing::{event_to, row, stored};
use crate::helpers::*;
use crate::testdb::open_store as open;

const LEASE: Duration = Duration::from_secs(30);

fn all(id: uuid::Uuid) -> [Share; 1] {
    [Share {
        endpoint_id: id,
        share: 10,
    }]
}

both_stores!(a_deferred_delivery_gives_its_attempt_back_and_is_due_at_its_time);
async fn a_deferred_delivery_gives_its_attempt_back_and_is_due_at_its_time(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    let ev = stored(&*store, &[event_to(&[&a])]);
    let claim = store.claim(&all(a.id), 10, LEASE, "w").unwrap().remove(0);
    assert_eq!(claim.attempt, 1);
    let later = Utc::now() + chrono::Duration::hours(1);
    assert_eq!(store.defer(&[(claim.clone(), later)]).unwrap(), 1);
    assert_eq!(
        store.defer(&[(claim, later)]).unwrap(),
        0,
        "guarded by its token"
    );
    assert!(store.claim(&all(a.id), 10, LEASE, "w").unwrap().is_empty());
    let next = store.next_due().unwrap().unwrap();
    assert!(next > Duration::from_secs(3500), "due in an hour: {next:?}");
    let (event, _) = store.get_event(ev[0].id).unwrap();
    assert_eq!(
        event.deliveries[0].attempts, 0,
        "the attempt was given back"
    );
}

both_stores!(a_paused_endpoint_is_not_claimed_not_due_and_not_stalled);
async fn a_paused_endpoint_is_not_claimed_not_due_and_not_stalled(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    stored(&*store, &[event_to(&[&a])]);
    std::thread::sleep(Duration::from_millis(20));
    assert!(store.overdue(Duration::from_millis(5)).unwrap(), "it waits");
    let until = Utc::now() + chrono::Duration::hours(1);
    store.pause_endpoint(a.id, until, "retry_after").unwrap();
    // A shorter pause does not shorten it.
    store
        .pause_endpoint(a.id, Utc::now(), "retry_after")
        .unwrap();
    assert!(store.claim(&all(a.id), 10, LEASE, "w").unwrap().is_empty());
    assert!(store.next_due().unwrap().unwrap() > Duration::from_secs(3500));
    assert!(
        !store.overdue(Duration::from_millis(5)).unwrap(),
        "waiting on a pause"
    );
    let got = store
        .endpoints()
        .unwrap()
        .into_iter()
        .find(|e| e.id == a.id)
        .unwrap();
    assert_eq!(got.state.pause_reason.as_deref(), Some("retry_after"));
    assert!(got.state.paused_until.unwrap() > Utc::now() + chrono::Duration::minutes(59));
}

both_stores!(a_cool_down_that_ended_gives_one_probe_and_the_breaker_moves_from_its_state);
async fn a_cool_down_that_ended_gives_one_probe_and_the_breaker_moves_from_its_state(
    backend: Backend,
) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    for _ in 0..3 {
        stored(&*store, &[event_to(&[&a])]);
    }
    let cooling = opened(Utc::now(), "test".into(), Duration::from_secs(3600));
    assert!(
        store
            .set_breaker(a.id, BreakerState::Closed, &cooling)
            .unwrap()
    );
    assert!(
        !store
            .set_breaker(a.id, BreakerState::Closed, &cooling)
            .unwrap(),
        "not closed"
    );
    assert!(
        store.claim(&all(a.id), 10, LEASE, "w").unwrap().is_empty(),
        "cooling down"
    );
    let ended = opened(
        Utc::now() - chrono::Duration::hours(2),
        "test".into(),
        Duration::from_secs(1),
    );
    assert!(store.set_breaker(a.id, BreakerState::Open, &ended).unwrap());
    let probe = store.claim(&all(a.id), 10, LEASE, "w").unwrap();
    assert_eq!(probe.len(), 1, "one probe");
    assert!(probe[0].probe);
    let state = store
        .endpoints()
        .unwrap()
        .into_iter()
        .find(|e| e.id == a.id)
        .unwrap()
        .state;
    assert_eq!(state.breaker.state, BreakerState::HalfOpen);
    assert!(
        store.claim(&all(a.id), 10, LEASE, "w").unwrap().is_empty(),
        "its answer is awaited"
    );
    let closed = herald::db::BreakerRecord::default();
    assert!(
        store
            .set_breaker(a.id, BreakerState::HalfOpen, &closed)
            .unwrap()
    );
    let rest = store.claim(&all(a.id), 10, LEASE, "w").unwrap();
    assert_eq!(rest.len(), 2);
    assert!(rest.iter().all(|c| !c.probe));
}

both_stores!(the_failing_run_and_disabling_move_only_from_what_they_expect);
async fn the_failing_run_and_disabling_move_only_from_what_they_expect(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    let t1 = Utc::now() - chrono::Duration::hours(3);
    let since = store.mark_failing(a.id, Some(t1)).unwrap().unwrap();
    assert!((since - t1).num_milliseconds().abs() < 2);
    let kept = store.mark_failing(a.id, Some(Utc::now())).unwrap().unwrap();
    assert_eq!(kept, since, "a run keeps its start");
    let early = t1 - chrono::Duration::hours(1);
    assert!(
        store
            .disable_endpoint(a.id, "x", Some(early))
            .unwrap()
            .is_none(),
        "not failing that long"
    );
    let off = store
        .disable_endpoint(a.id, "failing", Some(Utc::now()))
        .unwrap()
        .unwrap();
    assert!(!off.enabled);
    assert_eq!(off.state.disabled_reason.as_deref(), Some("failing"));
    assert!(
        store
            .disable_endpoint(a.id, "again", None)
            .unwrap()
            .is_none(),
        "once"
    );
    assert!(store.claim(&all(a.id), 10, LEASE, "w").unwrap().is_empty());
    // Enabling clears why it was disabled and its failing run.
    let on = store
        .update_endpoint(&herald::db::EndpointRow {
            enabled: true,
            ..off
        })
        .unwrap();
    assert_eq!(
        (on.state.disabled_reason, on.state.failing_since),
        (None, None)
    );
    assert_eq!(store.mark_failing(a.id, None).unwrap(), None);
}

both_stores!(an_ordering_key_holds_its_followers_until_the_head_is_done);
async fn an_ordering_key_holds_its_followers_until_the_head_is_done(backend: Backend) {
    let (_db, store) = open(backend);
    let mut keyed = row("keyed");
    keyed.protection.ordering_key = Some("$.order_id".into());
    keyed.protection.on_failure = OnFailure::Block;
    let a = store.create_endpoint(&keyed).unwrap();
    assert_eq!(a.protection.on_failure, OnFailure::Block);
    let mut events = vec![event_to(&[&a]), event_to(&[&a]), event_to(&[&a])];
    for (e, key) in events.iter_mut().zip(["k", "k", "other"]) {
        e.routes[0].ordering_key = Some(key.into());
    }
    let ids: Vec<_> = stored(&*store, &events)
        .iter()
        .map(|e| e.deliveries[0].id)
        .collect();
    let got = store.claim(&all(a.id), 10, LEASE, "w").unwrap();
    let mut claimed: Vec<_> = got.iter().map(|c| c.id).collect();
    claimed.sort();
    let mut expected = vec![ids[0], ids[2]];
    expected.sort();
    assert_eq!(claimed, expected, "the head of each key, not the follower");
    assert!(
        store.claim(&all(a.id), 10, LEASE, "w").unwrap().is_empty(),
        "the follower waits"
    );
    let head = got.into_iter().find(|c| c.id == ids[0]).unwrap();
    let failed = recorded(head, herald::domain::Finish::Failed { error: "x".into() });
    store.finish(&[failed]).unwrap();
    assert!(
        store.claim(&all(a.id), 10, LEASE, "w").unwrap().is_empty(),
        "block: a failed head holds the key"
    );
    assert_eq!(
        store
            .next_due()
            .unwrap()
            .map(|d| d > Duration::from_secs(5)),
        Some(true)
    );
}

both_stores!(only_postgres_shares_a_limiter_in_the_store);
async fn only_postgres_shares_a_limiter_in_the_store(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    let rate = Rate {
        per_sec: 1.0,
        burst: 1,
    };
    let first = store.reserve_rate(a.id, rate, Duration::ZERO).unwrap();
    match backend {
        Backend::Sqlite => assert_eq!(first, None),
        Backend::Postgres => {
            assert!(matches!(first, Some(Decision::Go { .. })), "{first:?}");
            let second = store.reserve_rate(a.id, rate, Duration::ZERO).unwrap();
            let Some(Decision::Wait { until }) = second else {
                panic!("the second within a second waits: {second:?}");
            };
            let wait = until - Utc::now();
            assert!(wait > chrono::Duration::milliseconds(900), "{wait:?}");
            let reserved = store
                .reserve_rate(a.id, rate, Duration::from_secs(2))
                .unwrap();
            assert!(matches!(reserved, Some(Decision::Go { at }) if at > Utc::now()));
        }
    }
}
