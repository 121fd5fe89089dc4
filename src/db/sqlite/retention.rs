//! Retention on SQLite, as on PostgreSQL (`db::queries::retention`), in one write transaction
//! per batch (the one writer, so nothing else moves these rows meanwhile).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::sqlite::SqliteConnection;

use super::super::StoreError;
use super::super::retention::Pruned;
use super::rows::{millis, time};

pub fn prune(
    conn: &mut SqliteConnection,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<Pruned, StoreError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    conn.immediate_transaction(|conn| {
        let doomed: Vec<Id> = diesel::sql_query(
            "SELECT e.id FROM events e
             WHERE e.created_at < ?1 AND e.open = 0
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id
                               AND d.status IN ('pending', 'sending'))
             ORDER BY e.created_at LIMIT ?2",
        )
        .bind::<BigInt, _>(millis(before))
        .bind::<BigInt, _>(i64::from(limit))
        .load(conn)?;
        let ids: Vec<&str> = doomed.iter().map(|d| d.id.as_str()).collect();
        let ids = serde_json::to_string(&ids).unwrap_or_default();
        let attempts = diesel::sql_query(
            "DELETE FROM delivery_attempts WHERE delivery_id IN
                 (SELECT d.id FROM json_each(?1) AS x JOIN deliveries d ON d.event_id = x.value)",
        )
        .bind::<Text, _>(&ids)
        .execute(conn)?;
        let deliveries = diesel::sql_query(
            "DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?1))",
        )
        .bind::<Text, _>(&ids)
        .execute(conn)?;
        diesel::sql_query(
            "DELETE FROM rule_notes WHERE event_id IN (SELECT value FROM json_each(?1))",
        )
        .bind::<Text, _>(&ids)
        .execute(conn)?;
        let events =
            diesel::sql_query("DELETE FROM events WHERE id IN (SELECT value FROM json_each(?1))")
                .bind::<Text, _>(&ids)
                .execute(conn)?;
        diesel::sql_query("DELETE FROM batch_requests WHERE created_at < ?1")
            .bind::<BigInt, _>(millis(before))
            .execute(conn)?;
        Ok(Pruned {
            events: events as i64,
            deliveries: deliveries as i64,
            attempts: attempts as i64,
        })
    })
}

pub fn oldest(conn: &mut SqliteConnection) -> Result<Option<DateTime<Utc>>, StoreError> {
    #[derive(QueryableByName)]
    struct Oldest {
        #[diesel(sql_type = Nullable<BigInt>)]
        at: Option<i64>,
    }
    let o: Oldest =
        diesel::sql_query("SELECT min(created_at) AS at FROM events").get_result(conn)?;
    Ok(o.at.map(time))
}
