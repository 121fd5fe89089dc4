//! How a claim is shared among endpoints.

use super::*;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn p(n: u128, free: u32, drained: bool) -> Places {
    Places {
        endpoint_id: id(n),
        free,
        drained,
    }
}

fn pairs(s: &[Share]) -> Vec<(u128, u32)> {
    s.iter()
        .map(|s| (s.endpoint_id.as_u128(), s.share))
        .collect()
}

#[test]
fn one_endpoint_alone_gets_the_whole_limit() {
    assert_eq!(pairs(&shares(&[p(1, 1000, false)], 500, 0)), [(1, 500)]);
    assert_eq!(pairs(&shares(&[p(1, 1000, true)], 500, 7)), [(1, 500)]);
}

#[test]
fn backlogged_endpoints_split_the_limit_and_drained_ones_get_a_probe() {
    let places = [p(1, 1000, false), p(2, 1000, true), p(3, 1000, false)];
    assert_eq!(pairs(&shares(&places, 100, 0)), [(1, 50), (2, 1), (3, 50)]);
    // Nothing drained: an even split.
    let places = [p(1, 8, false), p(2, 1000, false), p(3, 1000, false)];
    assert_eq!(pairs(&shares(&places, 90, 0)), [(1, 8), (2, 30), (3, 30)]);
}

#[test]
fn full_endpoints_are_left_out_and_the_first_turn_moves() {
    let places = [p(1, 0, false), p(2, 4, false), p(3, 4, false)];
    assert_eq!(pairs(&shares(&places, 10, 0)), [(2, 4), (3, 4)]);
    assert_eq!(pairs(&shares(&places, 10, 1)), [(3, 4), (2, 4)]);
    assert!(shares(&[p(1, 0, false)], 10, 0).is_empty());
    assert!(shares(&[], 10, 0).is_empty());
}

#[test]
fn a_claim_marks_what_it_drained() {
    let flight = InFlight::default();
    let shares = [
        Share {
            endpoint_id: id(1),
            share: 2,
        },
        Share {
            endpoint_id: id(2),
            share: 2,
        },
    ];
    flight.claimed(&shares, &[]);
    assert!(flight.drained.lock().unwrap().contains(&id(1)));
    assert!(flight.drained.lock().unwrap().contains(&id(2)));
}
