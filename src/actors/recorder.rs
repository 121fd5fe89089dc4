//! Recorder: writes delivery outcomes to the store in groups (group commit).
//! State: the store, and a queue of outcomes waiting to be written.
//! Receives: [`Recorded`] outcomes through [`Recorder::record`], from the sender's deliveries.
//! Emits: one store call (one statement) per group; each caller gets its own row's result.
//!
//! A group is whatever has queued while the writers were busy, up to [`MAX_GROUP`], with as many
//! groups written at once as the store takes with profit ([`parallel_writes`](crate::db::Backend::parallel_writes)):
//! nothing waits on purpose, so a lone outcome is written at once and a busy
//! sender gets large groups. While the database fails, a group is retried until the earliest
//! lease in it runs out; an outcome whose lease has run out is answered with the error (its
//! message is reclaimed and sent again, with the same `webhook-id`).

use std::time::{Duration, Instant};

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::db::{FinishResult, Op, Recorded, Store, StoreError};

/// The most outcomes one statement records.
pub const MAX_GROUP: usize = 512;
/// The longest pause between tries while the database fails.
const PAUSE_MAX: Duration = Duration::from_secs(1);

type Reply = oneshot::Sender<Result<FinishResult, StoreError>>;

/// A handle on the recorder task; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<(Recorded, Reply)>,
}

impl Recorder {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        actix_rt::spawn(write_groups(store, rx));
        Self { queue }
    }

    /// Records one outcome; resolves once its group is written (or has failed for good).
    pub async fn record(&self, outcome: Recorded) -> Result<FinishResult, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((outcome, reply))
            .map_err(|_| StoreError::Unavailable("the recorder has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the recorder has stopped".into()))?
    }
}

async fn write_groups(store: Store, mut rx: mpsc::UnboundedReceiver<(Recorded, Reply)>) {
    let writers = Arc::new(Semaphore::new(store.parallel_writes()));
    let mut group = Vec::with_capacity(MAX_GROUP);
    loop {
        // Wait for a free writer first, so that what queues meanwhile joins the next group.
        let Ok(writer) = Arc::clone(&writers).acquire_owned().await else {
            return;
        };
        if rx.recv_many(&mut group, MAX_GROUP).await == 0 {
            return;
        }
        let (store, batch) = (store.clone(), std::mem::take(&mut group));
        actix_rt::spawn(async move {
            write(&store, batch).await;
            drop(writer);
        });
    }
}

async fn write(store: &Store, group: Vec<(Recorded, Reply)>) {
    let (mut outcomes, mut replies): (Vec<Recorded>, Vec<Reply>) = group.into_iter().unzip();
    let mut tries = 0;
    loop {
        let batch = outcomes.clone();
        match store.run(Op::Finish, move |s| s.finish(&batch)).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
                return;
            }
            Err(e) => {
                tries += 1;
                let pause = (Duration::from_millis(100) * tries).min(PAUSE_MAX);
                // Outcomes whose lease ends before the next try are answered now.
                let retry_at = Instant::now() + pause;
                let mut kept = (Vec::new(), Vec::new());
                for (outcome, reply) in outcomes.into_iter().zip(replies) {
                    if outcome.claim.deadline > retry_at {
                        kept.0.push(outcome);
                        kept.1.push(reply);
                    } else {
                        let _ = reply.send(Err(StoreError::Unavailable(
                            crate::monitor::chain(&e).into(),
                        )));
                    }
                }
                (outcomes, replies) = kept;
                if outcomes.is_empty() {
                    return;
                }
                tokio::time::sleep(pause).await;
            }
        }
    }
}
