//! The store contract, part 2: the queue protocol (claims as leases, guarded finishes, release,
//! the dispatch switch) on PostgreSQL and on SQLite.

use std::time::Duration;

use crate::legacy::ListFilter;
use herald::domain::{Finish, MessageStatus};

use crate::helpers::*;
use crate::testdb::open_store as open;

const LEASE: Duration = Duration::from_secs(30);

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
    assert_eq!(first[0].event_id, stored[0].id, "oldest due first");
    assert_eq!((first[0].attempt, first[0].number), (1, 1));
    assert_eq!(store.counts().unwrap().sending, 2);
    // Held: only the third is left.
    let second = store.claim_due(5, LEASE, "w2").unwrap();
    assert_eq!(
        second.iter().map(|c| c.event_id).collect::<Vec<_>>(),
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

    let (sent, history) = store.get(current.event_id).unwrap();
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.message_id.as_deref(), Some("wh-1"));
    // Both attempts on this message are kept: the stale one and the current one.
    let outcomes: Vec<_> = history
        .iter()
        .map(|a| (a.attempt, a.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, vec![(1, "permanent"), (2, "success")]);
    let (pending, _) = store.get(retried.event_id).unwrap();
    assert_eq!(pending.status, MessageStatus::Pending);
    assert_eq!(pending.last_error.as_deref(), Some("HTTP 503"));
    assert!(pending.next_attempt_at > chrono::Utc::now() + chrono::Duration::seconds(50));
    assert_eq!(
        store.get(failed.event_id).unwrap().0.status,
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

both_stores!(a_delivery_holds_a_claim_token_exactly_while_it_is_sending);
/// The finish, release and defer statements find their rows by id and token alone; that is
/// sound only while a token means `sending`. PostgreSQL states it as a constraint.
async fn a_delivery_holds_a_claim_token_exactly_while_it_is_sending(backend: Backend) {
    let (db, store) = open(backend);
    let broken = || db.count("(status = 'sending') <> (claim_token IS NOT NULL)");
    store
        .insert(&[
            new_message("a"),
            new_message("b"),
            new_message("c"),
            new_message("d"),
            new_message("e"),
        ])
        .unwrap();
    assert_eq!(broken(), 0, "after the insert");
    let mut claims = store.claim_due(5, LEASE, "w").unwrap();
    assert_eq!((claims.len(), broken()), (5, 0), "after the claim");
    let (sent, retry, failed) = (claims.remove(0), claims.remove(0), claims.remove(0));
    let group = vec![
        recorded(sent, Finish::Sent { message_id: None }),
        recorded(
            retry,
            Finish::Retry {
                after: Duration::from_secs(60),
                error: "HTTP 503".into(),
            },
        ),
        recorded(
            failed,
            Finish::Failed {
                error: "HTTP 410".into(),
            },
        ),
    ];
    store.finish(&group).unwrap();
    assert_eq!(broken(), 0, "after the finish");
    assert_eq!(store.release(&claims[..1]).unwrap(), 1);
    assert_eq!(broken(), 0, "after the release");
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    assert_eq!(store.defer(&[(claims[1].clone(), later)]).unwrap(), 1);
    assert_eq!(broken(), 0, "after the defer");
    assert_eq!(db.count("status = 'sending'"), 0);
    if backend == Backend::Postgres {
        let refused = db.exec("UPDATE deliveries SET claim_token = gen_random_uuid()");
        assert!(
            refused
                .unwrap_err()
                .to_string()
                .contains("deliveries_token_while_sending"),
            "a token outside `sending` is refused"
        );
        assert_eq!(broken(), 0);
    }
}
