//! Creating, reading and changing messages outside the delivery protocol, on SQLite. Idempotency
//! checks and inserts run in one write transaction; there is one writer, so no race between them.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use serde_json::json;
use uuid::Uuid;

use super::super::models::*;
use super::super::{Batch, Inserted, StoreError};
use super::rows::{MESSAGE_COLUMNS, MessageRow, StoredAttempt, millis, records, uuid};
use crate::domain::MessageStatus;

pub fn insert(
    conn: &mut SqliteConnection,
    new: &[NewMessage],
) -> Result<Vec<MessageRecord>, StoreError> {
    let now = millis(Utc::now());
    let input: Vec<serde_json::Value> = new
        .iter()
        .map(|m| {
            json!({
                "id": m.id.to_string(),
                "recipient": m.recipient.as_str(),
                "content": m.content.as_str(),
                "send_at": m.send_at.map(millis),
                "key": m.idempotency.as_ref().map(|(k, _)| k),
                "fingerprint": m.idempotency.as_ref().map(|(_, f)| f),
            })
        })
        .collect();
    let rows: Vec<MessageRow> = diesel::sql_query(format!(
        "INSERT INTO messages (id, recipient, content, next_attempt_at, created_at, updated_at,
                               idempotency_key, request_fingerprint)
         SELECT value ->> 'id', value ->> 'recipient', value ->> 'content',
                coalesce(value ->> 'send_at', ?2), ?2, ?2,
                value ->> 'key', value ->> 'fingerprint'
         FROM json_each(?1)
         RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind::<Text, _>(serde_json::Value::from(input).to_string())
    .bind::<BigInt, _>(now)
    .load(conn)?;
    let ids: Vec<Uuid> = new.iter().map(|m| m.id).collect();
    Ok(in_order(&ids, records(rows)?))
}

/// In request order, whatever order the database returned them in.
fn in_order(ids: &[Uuid], rows: Vec<MessageRecord>) -> Vec<MessageRecord> {
    let mut by_id: std::collections::HashMap<Uuid, MessageRecord> =
        rows.into_iter().map(|r| (r.id, r)).collect();
    ids.iter().filter_map(|id| by_id.remove(id)).collect()
}

fn by_key(conn: &mut SqliteConnection, key: &str) -> Result<Option<MessageRow>, StoreError> {
    Ok(diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE idempotency_key = ?1"
    ))
    .bind::<Text, _>(key)
    .get_result(conn)
    .optional()?)
}

#[derive(QueryableByName)]
struct Earlier {
    #[diesel(sql_type = Text)]
    request_fingerprint: String,
    #[diesel(sql_type = Text)]
    message_ids: String,
}

fn batch_by_key(conn: &mut SqliteConnection, key: &str) -> Result<Option<Earlier>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT request_fingerprint, message_ids FROM batch_requests WHERE idempotency_key = ?1",
    )
    .bind::<Text, _>(key)
    .get_result(conn)
    .optional()?)
}

pub fn insert_idempotent(
    conn: &mut SqliteConnection,
    new: &NewMessage,
) -> Result<Inserted, StoreError> {
    let Some((key, fingerprint)) = &new.idempotency else {
        return Ok(Inserted::Created(
            insert(conn, std::slice::from_ref(new))?.remove(0),
        ));
    };
    conn.immediate_transaction(|conn| {
        // A key a batch took is not free for a single create.
        if batch_by_key(conn, key)?.is_some() {
            return Err(StoreError::IdempotencyMismatch);
        }
        match by_key(conn, key)? {
            Some(first) if first.request_fingerprint.as_deref() == Some(fingerprint) => {
                Ok(Inserted::Replayed(first.into_record()?))
            }
            Some(_) => Err(StoreError::IdempotencyMismatch),
            None => Ok(Inserted::Created(
                insert(conn, std::slice::from_ref(new))?.remove(0),
            )),
        }
    })
}

pub fn insert_batch(
    conn: &mut SqliteConnection,
    new: &[NewMessage],
    idempotency: Option<&(String, String)>,
) -> Result<Batch, StoreError> {
    conn.immediate_transaction(|conn| {
        if let Some((key, fingerprint)) = idempotency {
            if by_key(conn, key)?.is_some() {
                return Err(StoreError::IdempotencyMismatch);
            }
            if let Some(earlier) = batch_by_key(conn, key)? {
                if &earlier.request_fingerprint != fingerprint {
                    return Err(StoreError::IdempotencyMismatch);
                }
                let ids: Vec<Uuid> = serde_json::from_str::<Vec<String>>(&earlier.message_ids)
                    .map_err(|e| StoreError::Query(diesel::result::Error::DeserializationError(Box::new(e))))?
                    .iter()
                    .map(|id| uuid(id))
                    .collect::<Result<_, _>>()?;
                let rows: Vec<MessageRow> = diesel::sql_query(format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE id IN (SELECT value FROM json_each(?1))"
                ))
                .bind::<Text, _>(&earlier.message_ids)
                .load(conn)?;
                return Ok(Batch::Replayed(in_order(&ids, records(rows)?)));
            }
            let ids: Vec<String> = new.iter().map(|m| m.id.to_string()).collect();
            diesel::sql_query(
                "INSERT INTO batch_requests (idempotency_key, request_fingerprint, message_ids, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .bind::<Text, _>(key)
            .bind::<Text, _>(fingerprint)
            .bind::<Text, _>(serde_json::to_string(&ids).unwrap_or_default())
            .bind::<BigInt, _>(millis(Utc::now()))
            .execute(conn)?;
        }
        Ok(Batch::Created(insert(conn, new)?))
    })
}

pub fn list(conn: &mut SqliteConnection, filter: &ListFilter) -> Result<Page, StoreError> {
    let status = filter.status.map(|s| s.as_str());
    // Each shape walks an index in its order: by status and time, or by time alone.
    let (filter_sql, order) = match filter.status {
        Some(MessageStatus::Sent) => ("status = ?1", "sent_at DESC, id DESC"),
        Some(_) => ("status = ?1", "created_at DESC, id DESC"),
        None => ("?1 IS NULL", "created_at DESC, id DESC"),
    };
    let rows: Vec<MessageRow> = diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE {filter_sql}
         ORDER BY {order} LIMIT ?2 OFFSET ?3"
    ))
    .bind::<Nullable<Text>, _>(status)
    .bind::<BigInt, _>(i64::from(filter.limit))
    .bind::<BigInt, _>(i64::try_from(filter.offset).unwrap_or(i64::MAX))
    .load(conn)?;
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let total: Total = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM messages WHERE {filter_sql}"
    ))
    .bind::<Nullable<Text>, _>(status)
    .get_result(conn)?;
    Ok(Page {
        messages: records(rows)?,
        total: total.n,
    })
}

fn find(conn: &mut SqliteConnection, id: Uuid) -> Result<MessageRecord, StoreError> {
    diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"
    ))
    .bind::<Text, _>(id.to_string())
    .get_result::<MessageRow>(conn)
    .optional()?
    .ok_or(StoreError::NotFound)?
    .into_record()
}

pub fn get(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> Result<(MessageRecord, Vec<AttemptRow>), StoreError> {
    let message = find(conn, id)?;
    let attempts: Vec<StoredAttempt> = diesel::sql_query(
        "SELECT id, message_id, attempt, started_at, duration_ms, outcome, status_code,
                error_class, response_excerpt
         FROM delivery_attempts WHERE message_id = ?1 ORDER BY attempt, id",
    )
    .bind::<Text, _>(id.to_string())
    .load(conn)?;
    let attempts = attempts
        .into_iter()
        .map(StoredAttempt::into_row)
        .collect::<Result<_, _>>()?;
    Ok((message, attempts))
}

/// `from` → `to` if the row is in `from`; otherwise says why not.
fn transition(
    conn: &mut SqliteConnection,
    id: Uuid,
    from: MessageStatus,
    to: MessageStatus,
    reset_attempts: bool,
) -> Result<MessageRecord, StoreError> {
    conn.immediate_transaction(|conn| {
        let row: Option<MessageRow> = diesel::sql_query(format!(
            "UPDATE messages
             SET status = ?3, updated_at = ?4,
                 attempts = CASE WHEN ?5 THEN 0 ELSE attempts END,
                 next_attempt_at = CASE WHEN ?5 THEN ?4 ELSE next_attempt_at END
             WHERE id = ?1 AND status = ?2
             RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind::<Text, _>(id.to_string())
        .bind::<Text, _>(from.as_str())
        .bind::<Text, _>(to.as_str())
        .bind::<BigInt, _>(millis(Utc::now()))
        .bind::<Integer, _>(i32::from(reset_attempts))
        .get_result(conn)
        .optional()?;
        match row {
            Some(row) => row.into_record(),
            None => Err(StoreError::Conflict(find(conn, id)?.status)),
        }
    })
}

pub fn retry(conn: &mut SqliteConnection, id: Uuid) -> Result<MessageRecord, StoreError> {
    transition(
        conn,
        id,
        MessageStatus::Failed,
        MessageStatus::Pending,
        true,
    )
}

pub fn cancel(conn: &mut SqliteConnection, id: Uuid) -> Result<MessageRecord, StoreError> {
    transition(
        conn,
        id,
        MessageStatus::Pending,
        MessageStatus::Cancelled,
        false,
    )
}
