//! Reminder rules on SQLite: the rules (soft-deleted, their history kept), the reminder
//! listing, the counts per rule and what a rule did with an event. What an event writes is
//! `slots`.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::super::StoreError;
use super::super::rules::*;
use super::events::ids_json;
use super::rows::{millis, time, uuid};
use crate::domain::MessageStatus;
use crate::rules::slot::{RowState, SlotRow};

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    endpoint_id: String,
    #[diesel(sql_type = Text)]
    spec: String,
    #[diesel(sql_type = Integer)]
    enabled: i32,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = BigInt)]
    updated_at: i64,
}

impl Row {
    fn into_row(self) -> Result<RuleRow, StoreError> {
        Ok(RuleRow {
            id: uuid(&self.id)?,
            name: self.name,
            event_type: self.event_type,
            endpoint_id: uuid(&self.endpoint_id)?,
            spec: serde_json::from_str(&self.spec).unwrap_or_default(),
            enabled: self.enabled != 0,
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        })
    }
}

const COLUMNS: &str = "id, name, event_type, endpoint_id, spec, enabled, created_at, updated_at";

pub fn all(conn: &mut SqliteConnection) -> Result<Vec<RuleRow>, StoreError> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM rules WHERE deleted_at IS NULL ORDER BY name"
    ))
    .load(conn)?;
    rows.into_iter().map(Row::into_row).collect()
}

pub fn create(conn: &mut SqliteConnection, r: &RuleRow) -> Result<RuleRow, StoreError> {
    let row: Row = diesel::sql_query(format!(
        "INSERT INTO rules (id, name, event_type, endpoint_id, spec, enabled, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(r.id.to_string())
    .bind::<Text, _>(&r.name)
    .bind::<Text, _>(&r.event_type)
    .bind::<Text, _>(r.endpoint_id.to_string())
    .bind::<Text, _>(r.spec.to_string())
    .bind::<Integer, _>(i32::from(r.enabled))
    .bind::<BigInt, _>(millis(Utc::now()))
    .get_result(conn)
    .map_err(|e| StoreError::named(e, || format!("a rule named '{}' exists already", r.name)))?;
    row.into_row()
}

pub fn update(conn: &mut SqliteConnection, r: &RuleRow) -> Result<RuleRow, StoreError> {
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE rules SET name = ?2, event_type = ?3, endpoint_id = ?4, spec = ?5, enabled = ?6,
                          updated_at = max(?7, updated_at + 1)
         WHERE id = ?1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(r.id.to_string())
    .bind::<Text, _>(&r.name)
    .bind::<Text, _>(&r.event_type)
    .bind::<Text, _>(r.endpoint_id.to_string())
    .bind::<Text, _>(r.spec.to_string())
    .bind::<Integer, _>(i32::from(r.enabled))
    .bind::<BigInt, _>(millis(Utc::now()))
    .get_result(conn)
    .optional()
    .map_err(|e| StoreError::named(e, || format!("a rule named '{}' exists already", r.name)))?;
    row.ok_or(StoreError::NotFound)?.into_row()
}

/// Marks the rule deleted and cancels its pending reminders; how many were cancelled.
pub fn delete(conn: &mut SqliteConnection, id: Uuid) -> Result<usize, StoreError> {
    conn.immediate_transaction(|conn| {
        let now = millis(Utc::now());
        let gone = diesel::sql_query(
            "UPDATE rules SET deleted_at = ?2, updated_at = max(?2, updated_at + 1)
             WHERE id = ?1 AND deleted_at IS NULL",
        )
        .bind::<Text, _>(id.to_string())
        .bind::<BigInt, _>(now)
        .execute(conn)?;
        if gone == 0 {
            return Err(StoreError::NotFound);
        }
        #[derive(QueryableByName)]
        struct Live {
            #[diesel(sql_type = Text)]
            event_id: String,
        }
        let live: Vec<Live> = diesel::sql_query(
            "SELECT r.event_id FROM reminders r JOIN deliveries d ON d.event_id = r.event_id
             WHERE r.rule_id = ?1 AND r.state = 'scheduled' AND d.status = 'pending'
               AND d.attempts = 0",
        )
        .bind::<Text, _>(id.to_string())
        .load(conn)?;
        let events: Vec<Uuid> = live.iter().map(|l| uuid(&l.event_id)).collect::<Result<_, _>>()?;
        super::slots::cancel_events(conn, &events)?;
        diesel::sql_query(
            "UPDATE reminders SET state = 'cancelled', reason = 'the rule was deleted', updated_at = ?2
             WHERE event_id IN (SELECT value FROM json_each(?1))",
        )
        .bind::<Text, _>(ids_json(&events))
        .bind::<BigInt, _>(now)
        .execute(conn)?;
        Ok(events.len())
    })
}

#[derive(QueryableByName)]
pub(super) struct Reminder {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    rule_id: String,
    #[diesel(sql_type = Text)]
    rule: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    offset_text: String,
    #[diesel(sql_type = BigInt)]
    target: i64,
    #[diesel(sql_type = BigInt)]
    send_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    event_id: Option<String>,
    #[diesel(sql_type = Text)]
    source_event_id: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Integer)]
    current: i32,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    delivery_id: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    attempts: Option<i32>,
}

impl Reminder {
    pub(super) fn into_record(self) -> Result<ReminderRecord, StoreError> {
        let delivery = self.delivery_id.as_ref().map(|_| {
            (
                self.status.parse().unwrap_or(MessageStatus::Sent),
                self.attempts.unwrap_or(0),
            )
        });
        Ok(ReminderRecord {
            row: SlotRow {
                id: uuid(&self.id)?,
                rule_id: uuid(&self.rule_id)?,
                subject: self.subject,
                offset: self.offset_text,
                target: time(self.target),
                send_at: time(self.send_at),
                event_id: self.event_id.as_deref().map(uuid).transpose()?,
                source_event_id: uuid(&self.source_event_id)?,
                state: RowState::parse(&self.state),
                current: self.current != 0,
                reason: self.reason,
                delivery,
            },
            rule: self.rule,
            status: self.status,
            delivery_id: self.delivery_id.as_deref().map(uuid).transpose()?,
        })
    }
}

pub fn reminders(
    conn: &mut SqliteConnection,
    q: &ReminderQuery,
) -> Result<Vec<ReminderRecord>, StoreError> {
    let rows: Vec<Reminder> = diesel::sql_query(reminder_sql(
        &format!(
            "(?1 IS NULL OR r.rule_id = ?1) AND (?2 IS NULL OR r.subject = ?2)
             AND (?3 IS NULL OR {STATUS_SQL} = ?3)
             AND (?4 IS NULL OR r.source_event_id = ?4 OR r.event_id = ?4)"
        ),
        "ORDER BY r.send_at, r.subject, r.offset_text LIMIT ?5",
    ))
    .bind::<Nullable<Text>, _>(q.rule.map(|u| u.to_string()))
    .bind::<Nullable<Text>, _>(q.subject.as_deref())
    .bind::<Nullable<Text>, _>(q.status.as_deref())
    .bind::<Nullable<Text>, _>(q.event.map(|u| u.to_string()))
    .bind::<BigInt, _>(i64::from(q.limit))
    .load(conn)?;
    rows.into_iter().map(Reminder::into_record).collect()
}

pub fn counts(conn: &mut SqliteConnection) -> Result<Vec<(Uuid, RuleCounts)>, StoreError> {
    #[derive(QueryableByName)]
    struct Counted {
        #[diesel(sql_type = Text)]
        rule_id: String,
        #[diesel(sql_type = BigInt)]
        pending: i64,
        #[diesel(sql_type = BigInt)]
        sent: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        next_at: Option<i64>,
    }
    let rows: Vec<Counted> = diesel::sql_query(format!(
        "SELECT r.rule_id, count(*) FILTER (WHERE {STATUS_SQL} = 'pending') AS pending,
                count(*) FILTER (WHERE {STATUS_SQL} = 'sent') AS sent,
                min(r.send_at) FILTER (WHERE {STATUS_SQL} = 'pending') AS next_at
         FROM reminders r LEFT JOIN deliveries d ON d.event_id = r.event_id
         WHERE r.rule_id IN (SELECT id FROM rules WHERE deleted_at IS NULL)
         GROUP BY r.rule_id"
    ))
    .load(conn)?;
    rows.into_iter()
        .map(|c| {
            let counts = RuleCounts {
                pending: c.pending,
                sent: c.sent,
                next_at: c.next_at.map(time),
            };
            Ok((uuid(&c.rule_id)?, counts))
        })
        .collect()
}

pub fn notes(conn: &mut SqliteConnection, event: Uuid) -> Result<Vec<RuleNote>, StoreError> {
    #[derive(QueryableByName)]
    struct Note {
        #[diesel(sql_type = Text)]
        rule_id: String,
        #[diesel(sql_type = Text)]
        rule: String,
        #[diesel(sql_type = Text)]
        note: String,
    }
    let rows: Vec<Note> = diesel::sql_query(
        "SELECT n.rule_id, coalesce(u.name, '') AS rule, n.note
         FROM rule_notes n LEFT JOIN rules u ON u.id = n.rule_id
         WHERE n.event_id = ?1 ORDER BY u.name",
    )
    .bind::<Text, _>(event.to_string())
    .load(conn)?;
    rows.into_iter()
        .map(|n| {
            Ok(RuleNote {
                rule_id: uuid(&n.rule_id)?,
                rule: n.rule,
                note: n.note,
            })
        })
        .collect()
}
