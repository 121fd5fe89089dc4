//! Isolation between endpoints: how many deliveries of each endpoint this instance has in
//! flight, and the share of a claim each endpoint may take, so that one slow or backlogged
//! endpoint never holds every delivery slot. A [`Held`] counts one delivery from its claim until
//! its receiver answers (or it is handed back).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::db::{Claim, Share};
use crate::routing::Endpoints;

/// What a claim needs to share itself among endpoints: the endpoint table (each one's
/// `max_in_flight`, checked against the store before use) and what is in flight here.
#[derive(Clone)]
pub struct Isolation {
    pub endpoints: Endpoints,
    pub in_flight: Arc<InFlight>,
}

impl Isolation {
    /// The shares of the next claim of up to `limit`.
    pub async fn shares(&self, store: &crate::db::Store, limit: u32) -> Vec<Share> {
        crate::routing::fresh(store, &self.endpoints).await;
        self.in_flight.shares(&self.endpoints, limit)
    }
}

/// Deliveries in flight per endpoint, on this instance, and which endpoints had more due than
/// their last share.
#[derive(Debug, Default)]
pub struct InFlight {
    counts: Mutex<HashMap<Uuid, u32>>,
    /// Endpoints whose last claim took less than their share: nothing more was due.
    drained: Mutex<HashSet<Uuid>>,
    /// Which endpoint goes first in the next claim.
    turn: AtomicUsize,
}

/// One delivery in flight; counted until dropped.
#[derive(Debug)]
pub struct Held {
    flight: Arc<InFlight>,
    endpoint: Uuid,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut counts = self.flight.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.endpoint) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.endpoint);
            }
        }
    }
}

impl InFlight {
    /// Counts `claim` in flight until the returned guard drops.
    pub fn hold(self: &Arc<Self>, claim: &Claim) -> Held {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(claim.endpoint_id)
            .or_default() += 1;
        Held {
            flight: Arc::clone(self),
            endpoint: claim.endpoint_id,
        }
    }

    /// Counts one delivery of `endpoint` in flight, if fewer than `max` are.
    pub fn try_hold(self: &Arc<Self>, endpoint: Uuid, max: u32) -> Option<Held> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(endpoint).or_default();
        if *n >= max {
            if *n == 0 {
                counts.remove(&endpoint);
            }
            return None;
        }
        *n += 1;
        Some(Held {
            flight: Arc::clone(self),
            endpoint,
        })
    }

    pub fn of(&self, endpoint: Uuid) -> u32 {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// The shares of the next claim of up to `limit` among the enabled endpoints.
    pub fn shares(&self, endpoints: &Endpoints, limit: u32) -> Vec<Share> {
        let drained = self.drained.lock().unwrap_or_else(|p| p.into_inner());
        let places: Vec<Places> = endpoints
            .all()
            .iter()
            .filter(|e| e.row.enabled)
            .map(|e| Places {
                endpoint_id: e.row.id,
                free: e.row.max_in_flight.saturating_sub(self.of(e.row.id)),
                drained: drained.contains(&e.row.id),
            })
            .collect();
        drop(drained);
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        shares(&places, limit, turn)
    }

    /// Notes which endpoints the claim made with `shares` drained (it took less than their
    /// share) and which still have more due.
    pub fn claimed(&self, shares: &[Share], claims: &[Claim]) {
        let mut got: HashMap<Uuid, u32> = HashMap::new();
        for c in claims {
            *got.entry(c.endpoint_id).or_default() += 1;
        }
        let mut drained = self.drained.lock().unwrap_or_else(|p| p.into_inner());
        for s in shares {
            if got.get(&s.endpoint_id).copied().unwrap_or(0) < s.share {
                drained.insert(s.endpoint_id);
            } else {
                drained.remove(&s.endpoint_id);
            }
        }
    }
}

/// One endpoint's room in the next claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Places {
    pub endpoint_id: Uuid,
    /// `max_in_flight` less what is in flight on this instance.
    pub free: u32,
    /// Its last claim took less than its share.
    pub drained: bool,
}

/// Pure: how a claim of up to `limit` is shared. Each drained endpoint gets 1, to see whether
/// something became due; the endpoints that had more due than their last share (all of them,
/// when none had) split the rest evenly. Every share is capped by the endpoint's free places,
/// endpoints with none are left out, and the shares add up to about `limit`, so the claim
/// locks little it cannot take. The order starts at `turn`, so every endpoint goes first in
/// its turn. One endpoint alone gets the whole limit.
pub fn shares(places: &[Places], limit: u32, turn: usize) -> Vec<Share> {
    let open: Vec<&Places> = places.iter().filter(|p| p.free > 0).collect();
    if open.is_empty() || limit == 0 {
        return Vec::new();
    }
    let mut busy = open.iter().filter(|p| !p.drained).count() as u32;
    let probes = open.len() as u32 - busy;
    let all_drained = busy == 0;
    if all_drained {
        busy = open.len() as u32;
    }
    let rest = if all_drained {
        limit
    } else {
        limit.saturating_sub(probes).max(1)
    };
    let each = rest.div_ceil(busy);
    let start = turn % open.len();
    open[start..]
        .iter()
        .chain(&open[..start])
        .map(|p| Share {
            endpoint_id: p.endpoint_id,
            share: if p.drained && !all_drained { 1 } else { each }.min(p.free),
        })
        .collect()
}

#[cfg(test)]
#[path = "isolation_tests.rs"]
mod tests;
