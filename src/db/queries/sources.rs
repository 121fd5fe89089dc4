//! Event sources on PostgreSQL: their rows, and a batch of entries stored in one commit with
//! the source's counts, an entry whose key is stored already skipped.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use uuid::Uuid;

use super::super::sources::*;
use super::super::{NewEvent, StoreError, apply_rules};
use super::insert::insert_all;
use super::slots::Slots;

type SqlUuid = diesel::sql_types::Uuid;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    spec: String,
    #[diesel(sql_type = Bool)]
    enabled: bool,
    #[diesel(sql_type = BigInt)]
    read_count: i64,
    #[diesel(sql_type = BigInt)]
    stored_count: i64,
    #[diesel(sql_type = BigInt)]
    duplicate_count: i64,
    #[diesel(sql_type = BigInt)]
    dead_count: i64,
    #[diesel(sql_type = Nullable<Text>)]
    last_entry: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_row(self) -> SourceRow {
        SourceRow {
            id: self.id,
            name: self.name,
            kind: self.kind,
            spec: serde_json::from_str(&self.spec).unwrap_or_default(),
            enabled: self.enabled,
            counts: SourceCounts {
                read: self.read_count,
                stored: self.stored_count,
                duplicates: self.duplicate_count,
                dead: self.dead_count,
                last_entry: self.last_entry,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const COLUMNS: &str = "id, name, kind, spec, enabled, read_count, stored_count, duplicate_count, \
                       dead_count, last_entry, created_at, updated_at";

fn taken(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("a source named '{name}' exists already")
}

pub fn all(conn: &mut PgConnection) -> Result<Vec<SourceRow>, StoreError> {
    let rows: Vec<Row> =
        diesel::sql_query(format!("SELECT {COLUMNS} FROM sources ORDER BY name")).load(conn)?;
    Ok(rows.into_iter().map(Row::into_row).collect())
}

pub fn create(conn: &mut PgConnection, s: &SourceRow) -> Result<SourceRow, StoreError> {
    let row: Row = diesel::sql_query(format!(
        "INSERT INTO sources (id, name, kind, spec, enabled) VALUES ($1, $2, $3, $4, $5)
         RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(s.id)
    .bind::<Text, _>(&s.name)
    .bind::<Text, _>(&s.kind)
    .bind::<Text, _>(s.spec.to_string())
    .bind::<Bool, _>(s.enabled)
    .get_result(conn)
    .map_err(|e| StoreError::named(e, taken(&s.name)))?;
    Ok(row.into_row())
}

pub fn update(conn: &mut PgConnection, s: &SourceRow) -> Result<SourceRow, StoreError> {
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE sources SET name = $2, kind = $3, spec = $4, enabled = $5, updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(s.id)
    .bind::<Text, _>(&s.name)
    .bind::<Text, _>(&s.kind)
    .bind::<Text, _>(s.spec.to_string())
    .bind::<Bool, _>(s.enabled)
    .get_result(conn)
    .optional()
    .map_err(|e| StoreError::named(e, taken(&s.name)))?;
    row.map(Row::into_row).ok_or(StoreError::NotFound)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), StoreError> {
    let n = diesel::sql_query("DELETE FROM sources WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub fn ingest(
    conn: &mut PgConnection,
    source: Uuid,
    events: Vec<NewEvent>,
    tally: &Tally,
) -> Result<Ingested, StoreError> {
    conn.transaction(|conn| {
        #[derive(QueryableByName)]
        struct Key {
            #[diesel(sql_type = Text)]
            idempotency_key: String,
        }
        let total = events.len();
        let taken: Vec<String> = if events.is_empty() {
            Vec::new()
        } else {
            diesel::sql_query("SELECT idempotency_key FROM events WHERE idempotency_key = ANY($1)")
                .bind::<Array<Text>, _>(keys(&events))
                .load::<Key>(conn)?
                .into_iter()
                .map(|k| k.idempotency_key)
                .collect()
        };
        let kept = fresh(&events, &taken);
        let events = keep(events, &kept);
        if !events.is_empty() {
            insert_all(conn, &events)?;
            apply_rules(&mut Slots(conn), &events)?;
        }
        let done = Ingested {
            stored: events.len(),
            duplicates: total - events.len(),
        };
        let n = diesel::sql_query(
            "UPDATE sources SET read_count = read_count + $2, stored_count = stored_count + $3,
                    duplicate_count = duplicate_count + $4, dead_count = dead_count + $5,
                    last_entry = coalesce($6, last_entry)
             WHERE id = $1",
        )
        .bind::<SqlUuid, _>(source)
        .bind::<BigInt, _>(tally.read)
        .bind::<BigInt, _>(done.stored as i64)
        .bind::<BigInt, _>(done.duplicates as i64)
        .bind::<BigInt, _>(tally.dead)
        .bind::<Nullable<Text>, _>(tally.last_entry.as_deref())
        .execute(conn)?;
        if n == 0 {
            // Deleted while this batch was read: nothing of it is stored, nothing acked.
            return Err(StoreError::NotFound);
        }
        Ok(done)
    })
}
