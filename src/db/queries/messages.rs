//! Creating, reading and changing messages outside the delivery protocol.

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use uuid::Uuid;

use super::super::models::*;
use super::super::schema::{delivery_attempts, messages};
use super::super::{Batch, Inserted, StoreError};
use crate::domain::MessageStatus;

pub fn insert(
    conn: &mut PgConnection,
    new: &[NewMessage],
) -> Result<Vec<MessageRecord>, StoreError> {
    let rows: Vec<InsertMessage<'_>> = new.iter().map(InsertMessage::from).collect();
    let stored: Vec<MessageRow> = diesel::insert_into(messages::table)
        .values(&rows)
        .returning(MessageRow::as_returning())
        .get_results(conn)?;
    Ok(stored.into_iter().map(MessageRow::into_record).collect())
}

pub fn insert_idempotent(
    conn: &mut PgConnection,
    new: &NewMessage,
) -> Result<Inserted, StoreError> {
    use messages::dsl as m;
    let Some((key, fingerprint)) = &new.idempotency else {
        return Ok(Inserted::Created(
            insert(conn, std::slice::from_ref(new))?.remove(0),
        ));
    };
    conn.transaction(|conn| {
        // A key a batch took is not free for a single create.
        let batch_key =
            diesel::sql_query("SELECT 1 FROM batch_requests WHERE idempotency_key = $1")
                .bind::<Text, _>(key)
                .execute(conn)?;
        if batch_key > 0 {
            return Err(StoreError::IdempotencyMismatch);
        }
        let created: Option<MessageRow> = diesel::insert_into(messages::table)
            .values(InsertMessage::from(new))
            .on_conflict_do_nothing()
            .returning(MessageRow::as_returning())
            .get_result(conn)
            .optional()?;
        if let Some(row) = created {
            return Ok(Inserted::Created(row.into_record()));
        }
        let first: MessageRow = messages::table
            .filter(m::idempotency_key.eq(key))
            .select(MessageRow::as_select())
            .first(conn)?;
        if first.request_fingerprint.as_deref() == Some(fingerprint.as_str()) {
            Ok(Inserted::Replayed(first.into_record()))
        } else {
            Err(StoreError::IdempotencyMismatch)
        }
    })
}

/// In request order, whatever order the database returned them in.
fn in_order(ids: &[Uuid], rows: Vec<MessageRow>) -> Vec<MessageRecord> {
    let mut by_id: std::collections::HashMap<Uuid, MessageRow> =
        rows.into_iter().map(|r| (r.id, r)).collect();
    ids.iter()
        .filter_map(|id| by_id.remove(id))
        .map(MessageRow::into_record)
        .collect()
}

pub fn insert_batch(
    conn: &mut PgConnection,
    new: &[NewMessage],
    idempotency: Option<&(String, String)>,
) -> Result<Batch, StoreError> {
    let ids: Vec<Uuid> = new.iter().map(|m| m.id).collect();
    conn.transaction(|conn| {
        if let Some((key, fingerprint)) = idempotency {
            #[derive(QueryableByName)]
            struct Earlier {
                #[diesel(sql_type = Text)]
                request_fingerprint: String,
                #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
                message_ids: Vec<Uuid>,
            }
            // Claims the key, or finds who has it; a key used by a single create is taken too.
            let claimed = diesel::sql_query(
                "INSERT INTO batch_requests (idempotency_key, request_fingerprint, message_ids)
                 SELECT $1, $2, $3
                 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE idempotency_key = $1)
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind::<Text, _>(key)
            .bind::<Text, _>(fingerprint)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
            .execute(conn)?;
            if claimed == 0 {
                let earlier: Option<Earlier> = diesel::sql_query(
                    "SELECT request_fingerprint, message_ids FROM batch_requests
                     WHERE idempotency_key = $1",
                )
                .bind::<Text, _>(key)
                .get_result(conn)
                .optional()?;
                return match earlier {
                    Some(e) if &e.request_fingerprint == fingerprint => {
                        let rows = messages::table
                            .filter(messages::id.eq_any(&e.message_ids))
                            .select(MessageRow::as_select())
                            .load(conn)?;
                        Ok(Batch::Replayed(in_order(&e.message_ids, rows)))
                    }
                    _ => Err(StoreError::IdempotencyMismatch),
                };
            }
        }
        let rows: Vec<InsertMessage<'_>> = new.iter().map(InsertMessage::from).collect();
        let stored: Vec<MessageRow> = diesel::insert_into(messages::table)
            .values(&rows)
            .returning(MessageRow::as_returning())
            .get_results(conn)?;
        Ok(Batch::Created(in_order(&ids, stored)))
    })
}

pub fn list(conn: &mut PgConnection, filter: &ListFilter) -> Result<Page, StoreError> {
    use messages::dsl as m;
    let mut query = messages::table.select(MessageRow::as_select()).into_boxed();
    let mut count = messages::table.count().into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(m::status.eq(status.as_str()));
        count = count.filter(m::status.eq(status.as_str()));
    }
    query = match filter.status {
        Some(MessageStatus::Sent) => query.order((m::sent_at.desc(), m::id.desc())),
        _ => query.order((m::created_at.desc(), m::id.desc())),
    };
    let rows = query
        .limit(i64::from(filter.limit))
        .offset(i64::try_from(filter.offset).unwrap_or(i64::MAX))
        .load(conn)?;
    let total = count.get_result(conn)?;
    Ok(Page {
        messages: rows.into_iter().map(MessageRow::into_record).collect(),
        total,
    })
}

pub fn get(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<(MessageRecord, Vec<AttemptRow>), StoreError> {
    let message = find(conn, id)?;
    let attempts = delivery_attempts::table
        .filter(delivery_attempts::message_id.eq(id))
        .order((delivery_attempts::attempt, delivery_attempts::id))
        .select(AttemptRow::as_select())
        .load(conn)?;
    Ok((message, attempts))
}

fn find(conn: &mut PgConnection, id: Uuid) -> Result<MessageRecord, StoreError> {
    messages::table
        .find(id)
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?
        .map(MessageRow::into_record)
        .ok_or(StoreError::NotFound)
}

/// Applies `change` to the row if it is in `from`; otherwise says why not.
fn transition(
    conn: &mut PgConnection,
    id: Uuid,
    from: MessageStatus,
    to: MessageStatus,
    reset_attempts: bool,
) -> Result<MessageRecord, StoreError> {
    use messages::dsl as m;
    conn.transaction(|conn| {
        let target = messages::table
            .filter(m::id.eq(id))
            .filter(m::status.eq(from.as_str()));
        let row: Option<MessageRow> = if reset_attempts {
            diesel::update(target)
                .set((
                    m::status.eq(to.as_str()),
                    m::attempts.eq(0),
                    m::next_attempt_at.eq(diesel::dsl::now),
                    m::updated_at.eq(diesel::dsl::now),
                ))
                .returning(MessageRow::as_returning())
                .get_result(conn)
                .optional()?
        } else {
            diesel::update(target)
                .set((
                    m::status.eq(to.as_str()),
                    m::updated_at.eq(diesel::dsl::now),
                ))
                .returning(MessageRow::as_returning())
                .get_result(conn)
                .optional()?
        };
        match row {
            Some(row) => Ok(row.into_record()),
            None => Err(StoreError::Conflict(find(conn, id)?.status)),
        }
    })
}

pub fn retry(conn: &mut PgConnection, id: Uuid) -> Result<MessageRecord, StoreError> {
    transition(
        conn,
        id,
        MessageStatus::Failed,
        MessageStatus::Pending,
        true,
    )
}

/// Tells every listening dispatcher that work may be due.
pub fn announce_due(conn: &mut PgConnection) -> Result<(), StoreError> {
    diesel::sql_query("SELECT pg_notify('herald_due', '')").execute(conn)?;
    Ok(())
}

pub fn cancel(conn: &mut PgConnection, id: Uuid) -> Result<MessageRecord, StoreError> {
    transition(
        conn,
        id,
        MessageStatus::Pending,
        MessageStatus::Cancelled,
        false,
    )
}

/// Makes the database enforce `CONTENT_MAX_CHARS`. Existing rows are not re-checked (`NOT VALID`),
/// so lowering the limit never blocks startup on old messages.
pub fn sync_content_limit(conn: &mut PgConnection, max_chars: usize) -> Result<(), StoreError> {
    #[derive(QueryableByName)]
    struct Def {
        #[diesel(sql_type = Text)]
        def: String,
    }
    let current: Option<Def> = diesel::sql_query(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
         WHERE conname = 'messages_content_length' AND conrelid = 'messages'::regclass",
    )
    .get_result(conn)
    .optional()?;
    let wanted = format!("char_length(content) <= {max_chars}");
    if current.is_some_and(|c| c.def.contains(&wanted)) {
        return Ok(());
    }
    conn.transaction(|conn| {
        diesel::sql_query("ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_content_length")
            .execute(conn)?;
        diesel::sql_query(format!(
            "ALTER TABLE messages ADD CONSTRAINT messages_content_length \
             CHECK (char_length(content) >= 1 AND char_length(content) <= {max_chars}) NOT VALID"
        ))
        .execute(conn)?;
        Ok(())
    })
}
