//! A JetStream stream read through a durable pull consumer with explicit acks: every instance
//! pulls from the same consumer, and an entry not acknowledged within `SOURCE_CLAIM_IDLE`
//! (`ack_wait`) is delivered again, to whichever instance pulls next. The stream is made if
//! missing (its subjects: the source's `subject`, or `<stream>.>`); so is the consumer. A poison
//! entry is terminated (`AckTerm`); a batch that was not stored is handed back (`Nak`).

use std::time::Duration;

use async_nats::jetstream::{self, AckKind, Message, consumer::PullConsumer, consumer::pull};
use futures_util::StreamExt;

use super::entry::nats_body;
use super::runner::{Read, Reader, Runner};
use super::spec::{Source, Start};

/// How long a pull waits for entries.
const PULL_WAIT: Duration = Duration::from_secs(1);
/// How long a request to the server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

pub struct NatsStream {
    /// Kept so that the connection lives as long as the reader, and asked whether it is up.
    client: async_nats::Client,
    consumer: PullConsumer,
}

fn why(e: impl std::fmt::Display) -> String {
    format!("nats: {e}")
}

fn deliver_policy(start: Start) -> Result<jetstream::consumer::DeliverPolicy, String> {
    use jetstream::consumer::DeliverPolicy;
    Ok(match start {
        Start::New => DeliverPolicy::New,
        Start::All => DeliverPolicy::All,
        Start::At(t) => DeliverPolicy::ByStartTime {
            start_time: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(
                t.timestamp_nanos_opt().unwrap_or(0),
            ))
            .map_err(|e| format!("start: {e}"))?,
        },
    })
}

fn not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(j)
        if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND)
}

impl Reader for NatsStream {
    type Batch = Vec<Message>;

    async fn connect(source: &Source, runner: &Runner) -> Result<Self, String> {
        let settings = &runner.settings;
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(2))
            .request_timeout(Some(REQUEST_TIMEOUT))
            .connect(source.url.as_str())
            .await
            .map_err(why)?;
        let js = jetstream::new(client.clone());
        let stream = match js.get_stream(&source.stream).await {
            Ok(stream) => stream,
            Err(e) if not_found(&e) => {
                let subject = source
                    .subject
                    .clone()
                    .unwrap_or_else(|| format!("{}.>", source.stream));
                tracing::info!(source = %source.name, stream = %source.stream, %subject,
                    "source made its JetStream stream");
                js.create_stream(jetstream::stream::Config {
                    name: source.stream.clone(),
                    subjects: vec![subject],
                    ..Default::default()
                })
                .await
                .map_err(why)?
            }
            Err(e) => return Err(why(e)),
        };
        let consumer: PullConsumer = stream
            .get_or_create_consumer(
                &source.group,
                pull::Config {
                    durable_name: Some(source.group.clone()),
                    filter_subject: source.subject.clone().unwrap_or_default(),
                    deliver_policy: deliver_policy(source.start)?,
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: settings.claim_idle,
                    max_ack_pending: 20_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(why)?;
        Ok(Self { client, consumer })
    }

    async fn read(&mut self, n: usize, wait: bool) -> Result<(Vec<Read>, Vec<Message>), String> {
        // The client reconnects by itself; while it cannot, say so rather than pull nothing.
        if self.client.connection_state() == async_nats::connection::State::Disconnected {
            return Err("nats: disconnected from the server".into());
        }
        let mut pulled = if wait {
            self.consumer
                .batch()
                .max_messages(n)
                .expires(PULL_WAIT)
                .messages()
                .await
        } else {
            self.consumer.fetch().max_messages(n).messages().await
        }
        .map_err(why)?;
        let (mut reads, mut batch) = (Vec::new(), Vec::new());
        while let Some(message) = pulled.next().await {
            let message = message.map_err(why)?;
            let id = message.info().map_err(why)?.stream_sequence.to_string();
            reads.push(Read {
                id,
                body: nats_body(&message.payload),
            });
            batch.push(message);
        }
        Ok((reads, batch))
    }

    async fn settle(
        &mut self,
        batch: Vec<Message>,
        dead: &[(usize, String)],
    ) -> Result<(), String> {
        for (i, message) in batch.iter().enumerate() {
            let kind = match dead.iter().any(|(d, _)| *d == i) {
                true => AckKind::Term,
                false => AckKind::Ack,
            };
            message.ack_with(kind).await.map_err(why)?;
        }
        Ok(())
    }

    async fn release(&mut self, batch: Vec<Message>) {
        for message in batch {
            // What is not handed back comes again after `ack_wait`.
            let _ = message.ack_with(AckKind::Nak(None)).await;
        }
    }

    async fn lag(&mut self) -> Result<Option<u64>, String> {
        let info = self.consumer.info().await.map_err(why)?;
        Ok(Some(info.num_pending))
    }
}
