//! Publishes one JetStream message and waits for the server to store it, for the README's
//! NATS source example (the `nats` CLI is not a Debian package):
//!
//! ```text
//! cargo run --example nats_pub -- orders.created '{"type": "order.created", "total": 120}'
//! ```
//!
//! `NATS_URL` (default `nats://127.0.0.1:4222`) names the server. The subject must belong to a
//! stream: a `nats_jetstream` source makes its stream (subjects `<stream>.>`) if missing.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [subject, body] = args.as_slice() else {
        eprintln!("usage: nats_pub <subject> <json body>");
        return ExitCode::from(2);
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(body) {
        eprintln!("the body is not JSON: {e}");
        return ExitCode::from(2);
    }
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let published = async {
        let client = async_nats::connect(&url).await.map_err(|e| e.to_string())?;
        let js = async_nats::jetstream::new(client);
        let ack = js
            .publish(subject.clone(), body.clone().into())
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(ack)
    };
    match published.await {
        Ok(ack) => {
            println!(
                "stored in stream {} at sequence {}",
                ack.stream, ack.sequence
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not publish to {subject} on {url}: {e}");
            ExitCode::FAILURE
        }
    }
}
