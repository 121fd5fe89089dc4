//! An event as `POST /events` and the batch route take it, parsed into the value the store
//! keeps: type, payload (an object of at most 256 KiB), channels and `send_at`, each checked,
//! and the fingerprint that tells a replay of a request from another request with its key.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::event_views::CreateEvent;
use crate::db::NewEvent;
use crate::domain::{EventType, parse_channel};

/// The largest payload, serialised.
pub const PAYLOAD_MAX: usize = 256 * 1024;
const MAX_CHANNELS: usize = 10;

/// An event as it will be stored (routes still to decide).
pub fn parse_event(body: &CreateEvent) -> Result<NewEvent, String> {
    let event_type = EventType::parse(&body.event_type).map_err(|e| e.0)?;
    if !body.payload.is_object() {
        return Err("payload must be a JSON object".into());
    }
    let size = serde_json::to_vec(&body.payload)
        .map(|b| b.len())
        .unwrap_or(usize::MAX);
    if size > PAYLOAD_MAX {
        return Err(format!("payload is {size} bytes; at most {PAYLOAD_MAX}"));
    }
    let channels = body.channels.clone().unwrap_or_default();
    if channels.len() > MAX_CHANNELS {
        return Err(format!("channels: at most {MAX_CHANNELS}"));
    }
    let mut channels = channels
        .iter()
        .map(|c| parse_channel(c).map_err(|e| format!("channels: {}", e.0)))
        .collect::<Result<Vec<_>, _>>()?;
    channels.sort();
    channels.dedup();
    let send_at = super::create::parse_send_at(body.send_at.as_deref())?;
    Ok(NewEvent {
        id: Uuid::now_v7(),
        event_type: event_type.into_string(),
        payload: body.payload.clone(),
        channels,
        send_at,
        idempotency: None,
        routes: Vec::new(),
        hand_off: None,
        reminders: Vec::new(),
    })
}

/// What makes two requests "the same": the parsed values.
pub fn fingerprint(e: &NewEvent) -> String {
    let send_at = e.send_at.map(|t| t.to_rfc3339()).unwrap_or_default();
    let digest = Sha256::digest(format!(
        "{}\n{}\n{}\n{}",
        e.event_type,
        send_at,
        e.channels.join(","),
        e.payload
    ));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
