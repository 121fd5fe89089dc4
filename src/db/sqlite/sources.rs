//! Event sources on SQLite: their rows, and a batch of entries stored in one commit with the
//! source's counts, an entry whose key is stored already skipped. [`SourceStore`] on SQLite
//! too: reads on a reader, changes on the writer.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::super::sources::*;
use super::super::{NewEvent, SourceStore, StoreError, apply_rules};
use super::SqliteStore;
use super::events::insert_all;
use super::rows::{millis, time, uuid};
use super::slots::Slots;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    spec: String,
    #[diesel(sql_type = Integer)]
    enabled: i32,
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
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = BigInt)]
    updated_at: i64,
}

impl Row {
    fn into_row(self) -> Result<SourceRow, StoreError> {
        Ok(SourceRow {
            id: uuid(&self.id)?,
            name: self.name,
            kind: self.kind,
            spec: serde_json::from_str(&self.spec).unwrap_or_default(),
            enabled: self.enabled != 0,
            counts: SourceCounts {
                read: self.read_count,
                stored: self.stored_count,
                duplicates: self.duplicate_count,
                dead: self.dead_count,
                last_entry: self.last_entry,
            },
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        })
    }
}

const COLUMNS: &str = "id, name, kind, spec, enabled, read_count, stored_count, duplicate_count, \
                       dead_count, last_entry, created_at, updated_at";

fn taken(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("a source named '{name}' exists already")
}

fn all(conn: &mut SqliteConnection) -> Result<Vec<SourceRow>, StoreError> {
    let rows: Vec<Row> =
        diesel::sql_query(format!("SELECT {COLUMNS} FROM sources ORDER BY name")).load(conn)?;
    rows.into_iter().map(Row::into_row).collect()
}

fn create(conn: &mut SqliteConnection, s: &SourceRow) -> Result<SourceRow, StoreError> {
    let row: Row = diesel::sql_query(format!(
        "INSERT INTO sources (id, name, kind, spec, enabled, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(s.id.to_string())
    .bind::<Text, _>(&s.name)
    .bind::<Text, _>(&s.kind)
    .bind::<Text, _>(s.spec.to_string())
    .bind::<Integer, _>(i32::from(s.enabled))
    .bind::<BigInt, _>(millis(Utc::now()))
    .get_result(conn)
    .map_err(|e| StoreError::named(e, taken(&s.name)))?;
    row.into_row()
}

fn update(conn: &mut SqliteConnection, s: &SourceRow) -> Result<SourceRow, StoreError> {
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE sources SET name = ?2, kind = ?3, spec = ?4, enabled = ?5, updated_at = ?6
         WHERE id = ?1 RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(s.id.to_string())
    .bind::<Text, _>(&s.name)
    .bind::<Text, _>(&s.kind)
    .bind::<Text, _>(s.spec.to_string())
    .bind::<Integer, _>(i32::from(s.enabled))
    .bind::<BigInt, _>(millis(Utc::now()))
    .get_result(conn)
    .optional()
    .map_err(|e| StoreError::named(e, taken(&s.name)))?;
    row.ok_or(StoreError::NotFound)?.into_row()
}

fn delete(conn: &mut SqliteConnection, id: Uuid) -> Result<(), StoreError> {
    let n = diesel::sql_query("DELETE FROM sources WHERE id = ?1")
        .bind::<Text, _>(id.to_string())
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn ingest(
    conn: &mut SqliteConnection,
    source: Uuid,
    events: Vec<NewEvent>,
    tally: &Tally,
) -> Result<Ingested, StoreError> {
    conn.immediate_transaction(|conn| {
        #[derive(QueryableByName)]
        struct Key {
            #[diesel(sql_type = Text)]
            idempotency_key: String,
        }
        let total = events.len();
        let wanted = serde_json::to_string(&keys(&events)).unwrap_or_else(|_| "[]".into());
        let taken: Vec<String> = diesel::sql_query(
            "SELECT idempotency_key FROM events
             WHERE idempotency_key IN (SELECT value FROM json_each(?1))",
        )
        .bind::<Text, _>(wanted)
        .load::<Key>(conn)?
        .into_iter()
        .map(|k| k.idempotency_key)
        .collect();
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
            "UPDATE sources SET read_count = read_count + ?2, stored_count = stored_count + ?3,
                    duplicate_count = duplicate_count + ?4, dead_count = dead_count + ?5,
                    last_entry = coalesce(?6, last_entry)
             WHERE id = ?1",
        )
        .bind::<Text, _>(source.to_string())
        .bind::<BigInt, _>(tally.read)
        .bind::<BigInt, _>(done.stored as i64)
        .bind::<BigInt, _>(done.duplicates as i64)
        .bind::<BigInt, _>(tally.dead)
        .bind::<Nullable<Text>, _>(tally.last_entry.as_deref())
        .execute(conn)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(done)
    })
}

impl SourceStore for SqliteStore {
    fn sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        self.read(all)
    }

    fn create_source(&self, source: &SourceRow) -> Result<SourceRow, StoreError> {
        self.write(|c| create(c, source))
    }

    fn update_source(&self, source: &SourceRow) -> Result<SourceRow, StoreError> {
        self.write(|c| update(c, source))
    }

    fn delete_source(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(|c| delete(c, id))
    }

    fn ingest(
        &self,
        source: Uuid,
        events: Vec<NewEvent>,
        tally: &Tally,
    ) -> Result<Ingested, StoreError> {
        self.write(|c| ingest(c, source, events, tally))
    }
}
