//! The store contract for reminders, on both stores: the two keys are the store's own, not a
//! check before an insert. A second row for one (rule, subject, offset, target) is refused, and
//! so is a second current row for one (rule, subject, offset); rows that are not current may be
//! many.

use crate::helpers::*;
use crate::testdb::Backend as Kind;

fn row(kind: &Kind, id: u128, target: &str, current: bool) -> String {
    let id = uuid::Uuid::from_u128(id);
    let (target, now, current) = match kind {
        Kind::Postgres => (
            format!("'{target}'"),
            "now()".to_owned(),
            current.to_string(),
        ),
        Kind::Sqlite => {
            let ms = chrono::DateTime::parse_from_rfc3339(target)
                .unwrap()
                .timestamp_millis();
            (
                ms.to_string(),
                "0".to_owned(),
                i32::from(current).to_string(),
            )
        }
    };
    format!(
        "INSERT INTO reminders (id, rule_id, subject, offset_text, target, send_at, source_event_id,
                                state, \"current\", created_at, updated_at)
         VALUES ('{id}', '00000000-0000-0000-0000-000000000001', 'u1', '-1d', {target}, {target},
                 '00000000-0000-0000-0000-000000000002', 'skipped', {current}, {now}, {now})"
    )
}

both_stores!(the_reminder_keys_are_the_stores_own);
async fn the_reminder_keys_are_the_stores_own(backend: Backend) {
    let app = spawn_app_on(backend, &[]).await;
    let kind = app.db.backend;
    let exec = |sql: String| app.db.exec(&sql);
    assert_eq!(
        exec(row(&kind, 1, "2027-01-01T09:00:00Z", true)).unwrap(),
        1
    );
    // Once per target date.
    let again = exec(row(&kind, 2, "2027-01-01T09:00:00Z", false)).unwrap_err();
    assert!(
        format!("{again:?}").contains("UniqueViolation"),
        "{again:?}"
    );
    // One current row per subject and offset.
    let second = exec(row(&kind, 3, "2027-02-01T09:00:00Z", true)).unwrap_err();
    assert!(
        format!("{second:?}").contains("UniqueViolation"),
        "{second:?}"
    );
    // Rows that are not current: as many as there were dates.
    for (id, target) in [(4, "2027-03-01T09:00:00Z"), (5, "2027-04-01T09:00:00Z")] {
        assert_eq!(exec(row(&kind, id, target, false)).unwrap(), 1);
    }
    assert_eq!(app.db.count_in("reminders", "subject = 'u1'"), 3);
}
