//! The store contract, part 4: a claim shared among endpoints, on PostgreSQL and on SQLite. It
//! takes at most each endpoint's share, each endpoint's oldest due first, never more than the
//! limit, and nothing of a disabled endpoint.

use std::collections::HashMap;
use std::time::Duration;

use herald::db::{Claim, Share};
use uuid::Uuid;

use crate::contract_routing::{event_to, row, stored};
use crate::helpers::*;
use crate::testdb::open_store as open;

const LEASE: Duration = Duration::from_secs(30);

fn by_endpoint(claims: &[Claim]) -> HashMap<Uuid, usize> {
    let mut n = HashMap::new();
    for c in claims {
        *n.entry(c.endpoint_id).or_default() += 1;
    }
    n
}

fn share(endpoint_id: Uuid, share: u32) -> Share {
    Share { endpoint_id, share }
}

both_stores!(a_claim_takes_each_endpoints_share_oldest_first_up_to_the_limit);
async fn a_claim_takes_each_endpoints_share_oldest_first_up_to_the_limit(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_endpoint(&row("a")).unwrap();
    let b = store.create_endpoint(&row("b")).unwrap();
    let mut off = row("off");
    off.enabled = false;
    let off = store.create_endpoint(&off).unwrap();
    // One at a time, so that each endpoint's deliveries have distinct due times.
    let mut first_of_a = None;
    for _ in 0..5 {
        for e in [&a, &b, &off] {
            let ev = stored(&*store, &[event_to(&[e])]);
            if e.id == a.id && first_of_a.is_none() {
                first_of_a = Some(ev[0].deliveries[0].id);
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }

    let got = store
        .claim(
            &[share(a.id, 1), share(b.id, 3), share(off.id, 5)],
            10,
            LEASE,
            "w",
        )
        .unwrap();
    let n = by_endpoint(&got);
    assert_eq!(
        (n.get(&a.id), n.get(&b.id), n.get(&off.id)),
        (Some(&1), Some(&3), None),
        "each endpoint's share, nothing of a disabled one"
    );
    assert_eq!(
        got.iter().find(|c| c.endpoint_id == a.id).map(|c| c.id),
        first_of_a,
        "an endpoint's oldest due first"
    );

    let got = store
        .claim(&[share(a.id, 10), share(b.id, 10)], 3, LEASE, "w")
        .unwrap();
    assert_eq!(got.len(), 3, "never more than the limit");

    // What is left: a has 4 - up to 3 taken, b 2; an endpoint without a share gets nothing.
    let got = store.claim(&[share(b.id, 10)], 100, LEASE, "w").unwrap();
    assert!(got.iter().all(|c| c.endpoint_id == b.id), "only b");
    let left = store.claim_due(100, LEASE, "w").unwrap();
    assert_eq!(
        left.len() + got.len() + 3 + 4,
        10,
        "every enabled delivery claimed exactly once"
    );
    assert!(left.iter().all(|c| c.endpoint_id != off.id));
}
