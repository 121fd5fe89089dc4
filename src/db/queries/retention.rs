//! Retention on PostgreSQL: the oldest events deleted in bounded batches, with their deliveries,
//! attempts and rule notes (a reminder's own row stays: it remembers what was sent), in one short statement each. An event with a delivery still pending or sending
//! is never deleted, nor one another writer holds (`SKIP LOCKED`: a replay or a finish touching
//! it goes first, and the next pass takes it).

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};

use super::super::StoreError;
use super::super::retention::Pruned;

pub fn prune(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<Pruned, StoreError> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        events: i64,
        #[diesel(sql_type = BigInt)]
        deliveries: i64,
        #[diesel(sql_type = BigInt)]
        attempts: i64,
    }
    let c: Counts = diesel::sql_query(
        "WITH doomed AS (
             SELECT e.id FROM events e
             WHERE e.created_at < $1 AND e.open = 0
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id
                               AND d.status IN ('pending', 'sending'))
             ORDER BY e.created_at LIMIT $2
             FOR UPDATE SKIP LOCKED
         ), deliveries_gone AS (
             DELETE FROM deliveries d USING doomed x WHERE d.event_id = x.id RETURNING d.id
         ), attempts_gone AS (
             DELETE FROM delivery_attempts a USING deliveries_gone g WHERE a.delivery_id = g.id
             RETURNING 1
         ), events_gone AS (
             DELETE FROM events e USING doomed x WHERE e.id = x.id RETURNING 1
         ), notes_gone AS (
             DELETE FROM rule_notes n USING doomed x WHERE n.event_id = x.id RETURNING 1
         ), batches_gone AS (
             DELETE FROM batch_requests WHERE created_at < $1 RETURNING 1
         )
         SELECT (SELECT count(*) FROM events_gone) AS events,
                (SELECT count(*) FROM deliveries_gone) AS deliveries,
                (SELECT count(*) FROM attempts_gone) AS attempts",
    )
    .bind::<Timestamptz, _>(before)
    .bind::<BigInt, _>(i64::from(limit))
    .get_result(conn)?;
    Ok(Pruned {
        events: c.events,
        deliveries: c.deliveries,
        attempts: c.attempts,
    })
}

pub fn oldest(conn: &mut PgConnection) -> Result<Option<DateTime<Utc>>, StoreError> {
    #[derive(QueryableByName)]
    struct Oldest {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        at: Option<DateTime<Utc>>,
    }
    let o: Oldest =
        diesel::sql_query("SELECT min(created_at) AS at FROM events").get_result(conn)?;
    Ok(o.at)
}
