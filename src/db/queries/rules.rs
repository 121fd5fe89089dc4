//! Reminder rules on PostgreSQL: the rules (soft-deleted, their history kept), the reminder
//! listing, the counts per rule and what a rule did with an event. What an event writes is
//! `slots`.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text, Timestamptz};
use uuid::Uuid;

use super::super::StoreError;
use super::super::rules::*;
use crate::domain::MessageStatus;
use crate::rules::slot::{RowState, SlotRow};

type SqlUuid = diesel::sql_types::Uuid;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = SqlUuid)]
    endpoint_id: Uuid,
    #[diesel(sql_type = Text)]
    spec: String,
    #[diesel(sql_type = Bool)]
    enabled: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_row(self) -> RuleRow {
        RuleRow {
            id: self.id,
            name: self.name,
            event_type: self.event_type,
            endpoint_id: self.endpoint_id,
            spec: serde_json::from_str(&self.spec).unwrap_or_default(),
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const COLUMNS: &str = "id, name, event_type, endpoint_id, spec, enabled, created_at, updated_at";

pub fn all(conn: &mut PgConnection) -> Result<Vec<RuleRow>, StoreError> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM rules WHERE deleted_at IS NULL ORDER BY name"
    ))
    .load(conn)?;
    Ok(rows.into_iter().map(Row::into_row).collect())
}

pub fn create(conn: &mut PgConnection, r: &RuleRow) -> Result<RuleRow, StoreError> {
    let row: Row = diesel::sql_query(format!(
        "INSERT INTO rules (id, name, event_type, endpoint_id, spec, enabled)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(r.id)
    .bind::<Text, _>(&r.name)
    .bind::<Text, _>(&r.event_type)
    .bind::<SqlUuid, _>(r.endpoint_id)
    .bind::<Text, _>(r.spec.to_string())
    .bind::<Bool, _>(r.enabled)
    .get_result(conn)
    .map_err(|e| StoreError::named(e, || format!("a rule named '{}' exists already", r.name)))?;
    Ok(row.into_row())
}

pub fn update(conn: &mut PgConnection, r: &RuleRow) -> Result<RuleRow, StoreError> {
    let row: Option<Row> = diesel::sql_query(format!(
        "UPDATE rules SET name = $2, event_type = $3, endpoint_id = $4, spec = $5, enabled = $6,
                          updated_at = now()
         WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind::<SqlUuid, _>(r.id)
    .bind::<Text, _>(&r.name)
    .bind::<Text, _>(&r.event_type)
    .bind::<SqlUuid, _>(r.endpoint_id)
    .bind::<Text, _>(r.spec.to_string())
    .bind::<Bool, _>(r.enabled)
    .get_result(conn)
    .optional()
    .map_err(|e| StoreError::named(e, || format!("a rule named '{}' exists already", r.name)))?;
    row.map(Row::into_row).ok_or(StoreError::NotFound)
}

/// Marks the rule deleted and cancels its pending reminders; how many were cancelled.
pub fn delete(conn: &mut PgConnection, id: Uuid) -> Result<usize, StoreError> {
    conn.transaction(|conn| {
        let gone = diesel::sql_query(
            "UPDATE rules SET deleted_at = now(), updated_at = now()
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind::<SqlUuid, _>(id)
        .execute(conn)?;
        if gone == 0 {
            return Err(StoreError::NotFound);
        }
        #[derive(QueryableByName)]
        struct Live {
            #[diesel(sql_type = SqlUuid)]
            event_id: Uuid,
        }
        let live: Vec<Live> = diesel::sql_query(
            "SELECT r.event_id FROM reminders r JOIN deliveries d ON d.event_id = r.event_id
             WHERE r.rule_id = $1 AND r.state = 'scheduled' AND d.status = 'pending'
               AND d.attempts = 0
             FOR UPDATE OF d",
        )
        .bind::<SqlUuid, _>(id)
        .load(conn)?;
        let events: Vec<Uuid> = live.into_iter().map(|l| l.event_id).collect();
        super::slots::cancel_events(conn, &events)?;
        diesel::sql_query(
            "UPDATE reminders SET state = 'cancelled', reason = 'the rule was deleted',
                                  updated_at = now()
             WHERE event_id = ANY($1)",
        )
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(&events)
        .execute(conn)?;
        Ok(events.len())
    })
}

#[derive(QueryableByName)]
pub(super) struct Reminder {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    rule_id: Uuid,
    #[diesel(sql_type = Text)]
    rule: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    offset_text: String,
    #[diesel(sql_type = Timestamptz)]
    target: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    send_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    event_id: Option<Uuid>,
    #[diesel(sql_type = SqlUuid)]
    source_event_id: Uuid,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Bool)]
    current: bool,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    delivery_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    attempts: Option<i32>,
}

impl Reminder {
    pub(super) fn into_record(self) -> ReminderRecord {
        let delivery = self.delivery_id.map(|_| {
            (
                self.status.parse().unwrap_or(MessageStatus::Sent),
                self.attempts.unwrap_or(0),
            )
        });
        ReminderRecord {
            row: SlotRow {
                id: self.id,
                rule_id: self.rule_id,
                subject: self.subject,
                offset: self.offset_text,
                target: self.target,
                send_at: self.send_at,
                event_id: self.event_id,
                source_event_id: self.source_event_id,
                state: RowState::parse(&self.state),
                current: self.current,
                reason: self.reason,
                delivery,
            },
            rule: self.rule,
            status: self.status,
            delivery_id: self.delivery_id,
        }
    }
}

pub fn reminders(
    conn: &mut PgConnection,
    q: &ReminderQuery,
) -> Result<Vec<ReminderRecord>, StoreError> {
    let rows: Vec<Reminder> = diesel::sql_query(reminder_sql(
        &format!(
            "($1::uuid IS NULL OR r.rule_id = $1) AND ($2::text IS NULL OR r.subject = $2)
             AND ($3::text IS NULL OR {STATUS_SQL} = $3)
             AND ($4::uuid IS NULL OR r.source_event_id = $4 OR r.event_id = $4)"
        ),
        "ORDER BY r.send_at, r.subject, r.offset_text LIMIT $5",
    ))
    .bind::<Nullable<SqlUuid>, _>(q.rule)
    .bind::<Nullable<Text>, _>(q.subject.as_deref())
    .bind::<Nullable<Text>, _>(q.status.as_deref())
    .bind::<Nullable<SqlUuid>, _>(q.event)
    .bind::<diesel::sql_types::BigInt, _>(i64::from(q.limit))
    .load(conn)?;
    Ok(rows.into_iter().map(Reminder::into_record).collect())
}

pub fn counts(conn: &mut PgConnection) -> Result<Vec<(Uuid, RuleCounts)>, StoreError> {
    #[derive(QueryableByName)]
    struct Counted {
        #[diesel(sql_type = SqlUuid)]
        rule_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pending: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sent: i64,
        #[diesel(sql_type = Nullable<Timestamptz>)]
        next_at: Option<DateTime<Utc>>,
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
    Ok(rows
        .into_iter()
        .map(|c| {
            (
                c.rule_id,
                RuleCounts {
                    pending: c.pending,
                    sent: c.sent,
                    next_at: c.next_at,
                },
            )
        })
        .collect())
}

pub fn notes(conn: &mut PgConnection, event: Uuid) -> Result<Vec<RuleNote>, StoreError> {
    #[derive(QueryableByName)]
    struct Note {
        #[diesel(sql_type = SqlUuid)]
        rule_id: Uuid,
        #[diesel(sql_type = Text)]
        rule: String,
        #[diesel(sql_type = Text)]
        note: String,
    }
    let rows: Vec<Note> = diesel::sql_query(
        "SELECT n.rule_id, coalesce(u.name, '') AS rule, n.note
         FROM rule_notes n LEFT JOIN rules u ON u.id = n.rule_id
         WHERE n.event_id = $1 ORDER BY u.name",
    )
    .bind::<SqlUuid, _>(event)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|n| RuleNote {
            rule_id: n.rule_id,
            rule: n.rule,
            note: n.note,
        })
        .collect())
}
