//! Producer: makes demo traffic. Every `PRODUCER_INTERVAL` it inserts `PRODUCER_BATCH` fake
//! messages (Turkish mobile numbers in E.164, an English sentence cut to the content limit).
//! State: the store, the endpoint table it routes with, and its settings. Receives: [`Produce`]
//! (from its own timer, or a test). Also receives [`StopProducing`] (shutdown).
//! Emits: events of type `message` with a pending delivery per matching endpoint; nothing else.

use std::sync::Arc;

use actix::prelude::*;
use fake::Fake;
use fake::faker::lorem::en::Sentence;
use fake::faker::phone_number::tr_tr::CellNumber;

use super::continuous::Wake;
use crate::config::ProducerSettings;
use crate::db::{NewMessage, Op, Store, StoreError};
use crate::domain::{Content, Recipient};
use crate::monitor::Monitor;
use crate::routing::Endpoints;

pub struct Producer {
    store: Store,
    endpoints: Endpoints,
    wake: Wake,
    monitor: Arc<Monitor>,
    settings: ProducerSettings,
    content_max_chars: usize,
}

impl Producer {
    pub fn new(
        store: Store,
        endpoints: Endpoints,
        wake: Wake,
        monitor: Arc<Monitor>,
        settings: ProducerSettings,
        content_max_chars: usize,
    ) -> Self {
        Self {
            store,
            endpoints,
            wake,
            monitor,
            settings,
            content_max_chars,
        }
    }
}

impl Actor for Producer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.settings.interval, |_, ctx| ctx.notify(Produce));
    }
}

/// Makes one batch of fake messages now. Returns how many were stored.
#[derive(Message)]
#[rtype(result = "Result<usize, StoreError>")]
pub struct Produce;

/// Stop producing (shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopProducing;

impl Handler<StopProducing> for Producer {
    type Result = ();

    fn handle(&mut self, _: StopProducing, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// One fake message. The generators always produce valid values; a miss is skipped.
pub fn fake_message(content_max_chars: usize) -> Option<NewMessage> {
    let phone: String = CellNumber().fake();
    let sentence: String = Sentence(4..14).fake();
    let recipient = Recipient::parse(&phone).ok()?;
    let content = Content::truncated(&sentence, content_max_chars).ok()?;
    Some(NewMessage::new(recipient, content))
}

impl Handler<Produce> for Producer {
    type Result = ResponseFuture<Result<usize, StoreError>>;

    fn handle(&mut self, _: Produce, _: &mut Self::Context) -> Self::Result {
        let mut batch: Vec<_> = (0..self.settings.batch)
            .filter_map(|_| fake_message(self.content_max_chars))
            .map(|m| m.to_event())
            .collect();
        let (store, wake) = (self.store.clone(), self.wake.clone());
        let monitor = Arc::clone(&self.monitor);
        let endpoints = self.endpoints.clone();
        Box::pin(async move {
            crate::routing::fresh(&store, &endpoints).await;
            for event in &mut batch {
                event.routes = endpoints.route(&event.event_type, &[], &event.payload);
            }
            match store
                .run(Op::Insert, move |s| s.insert_events(&batch, None))
                .await
            {
                Ok(crate::db::Batch::Created(stored) | crate::db::Batch::Replayed(stored)) => {
                    wake.due();
                    monitor.metrics.produced.inc_by(stored.len() as u64);
                    tracing::debug!(count = stored.len(), "produced messages");
                    Ok(stored.len())
                }
                Err(e) => Err(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_messages_are_valid_e164_and_within_the_limit() {
        for _ in 0..200 {
            let m = fake_message(20).expect("generators give valid values");
            assert!(m.recipient.as_str().starts_with("+905"), "{}", m.recipient);
            assert_eq!(m.recipient.as_str().len(), 13);
            assert!(m.content.as_str().chars().count() <= 20);
        }
    }
}
