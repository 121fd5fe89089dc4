//! Hand-off (continuous dispatch): the deliveries of an event created through the API go from
//! the request that stored them straight to this instance's sender, with no claim statement and
//! no wake-up in between. Before the insert, each route that may go now takes a delivery slot
//! and a place of its endpoint's `max_in_flight`, and gets a claim token; the insert stores it
//! `sending` under that token when its endpoint can take it (the claim's rule, checked in the
//! insert's statement: [`HandOff`]); after the commit the claims go to the sender. A route the
//! store kept `pending`, and every slot it held, is given back, and the dispatchers take it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Recipient;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::continuous::deliver_then_look;
use super::isolation::{Held, InFlight};
use super::sender::DeliverReserved;
use crate::db::{Claim, EventRecord, HandOff, NewEvent};
use crate::domain::MessageStatus;
use crate::routing::Endpoints;

/// The longest a request waits for a free delivery slot for its event.
const SLOT_WAIT: Duration = Duration::from_millis(25);

/// What hand-offs need of the dispatch side; built by startup in continuous mode.
pub struct HandOffs {
    pub slots: Arc<Semaphore>,
    pub in_flight: Arc<InFlight>,
    pub endpoints: Endpoints,
    pub sender: Recipient<DeliverReserved>,
    pub worker: String,
    pub lease: Duration,
    pub counter: prometheus::IntCounter,
    /// This instance's continuous loop.
    pub wake: Arc<Notify>,
}

/// One route's reservation: its place in flight and its slot, until it is sent or given back.
struct Job {
    endpoint: Uuid,
    token: Uuid,
    slot: OwnedSemaphorePermit,
    held: Held,
}

/// The reservations of one event's routes.
pub struct Reserved {
    jobs: Vec<Job>,
    /// Taken before the insert: the local deadline can only be earlier than the stored lease.
    deadline: Instant,
}

impl HandOffs {
    /// Reserves a slot and a place for each route of `event` that may go now (due now, no
    /// ordering key: a keyed delivery waits for its key's head, which only the claim checks),
    /// and marks them in `event.hand_off`. `None` when no route may.
    pub async fn reserve(&self, event: &mut NewEvent) -> Option<Reserved> {
        if event.send_at.is_some_and(|at| at > chrono::Utc::now()) {
            return None;
        }
        let deadline = Instant::now() + self.lease;
        let mut tokens = vec![None; event.routes.len()];
        let mut jobs = Vec::new();
        for (i, route) in event.routes.iter().enumerate() {
            if route.ordering_key.is_some() {
                continue;
            }
            let Some(endpoint) = self.endpoints.get(route.endpoint_id) else {
                continue;
            };
            // Every slot busy: the request waits a little for one (back-pressure, so that
            // ingest cannot run ahead of delivery), then leaves the rest to the dispatchers.
            let slot = match Arc::clone(&self.slots).try_acquire_owned() {
                Ok(slot) => slot,
                Err(_) => {
                    match tokio::time::timeout(SLOT_WAIT, Arc::clone(&self.slots).acquire_owned())
                        .await
                    {
                        Ok(Ok(slot)) => slot,
                        _ => break,
                    }
                }
            };
            let Some(held) = self
                .in_flight
                .try_hold(route.endpoint_id, endpoint.row.max_in_flight)
            else {
                continue;
            };
            let token = Uuid::new_v4();
            tokens[i] = Some(token);
            jobs.push(Job {
                endpoint: route.endpoint_id,
                token,
                slot,
                held,
            });
        }
        if jobs.is_empty() {
            return None;
        }
        event.hand_off = Some(HandOff {
            worker: self.worker.clone(),
            lease: self.lease,
            tokens,
        });
        Some(Reserved { jobs, deadline })
    }

    /// After the commit: the deliveries of `record` stored `sending` under a reservation go to
    /// the sender; the other reservations are given back.
    pub fn deliver(&self, reserved: Reserved, record: &EventRecord) {
        let payload = record.payload.to_string();
        let shared = record.deliveries.len() > 1;
        let claims: Vec<(Claim, OwnedSemaphorePermit, Held)> = reserved
            .jobs
            .into_iter()
            .filter_map(|job| {
                let d = record.deliveries.iter().find(|d| {
                    d.endpoint_id == job.endpoint && d.status == MessageStatus::Sending
                })?;
                let claim = Claim {
                    id: d.id,
                    token: job.token,
                    attempt: 1,
                    number: 1,
                    event_id: record.id,
                    endpoint_id: d.endpoint_id,
                    event_type: record.event_type.clone(),
                    payload: payload.clone(),
                    shared,
                    probe: false,
                    created_at: d.created_at,
                    deadline: reserved.deadline,
                };
                Some((claim, job.slot, job.held))
            })
            .collect();
        if claims.is_empty() {
            return;
        }
        self.counter.inc_by(claims.len() as u64);
        deliver_then_look(self.sender.clone(), claims, Arc::clone(&self.wake));
    }
}
