//! A database made by the migrations before routing, with messages in every state, keeps working
//! after the upgrade: each message is an event of type `message` with its one delivery to
//! `default`, its id, status, attempts and history kept, and a pending one is delivered as before.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use serde_json::Value;

use crate::helpers::*;
use crate::receiver::TestWebhook;

const PG_BEFORE: &[(&str, &str)] = &[
    (
        "20261122000001",
        include_str!("../../migrations/postgres/2026-11-22-000001_create_messages/up.sql"),
    ),
    (
        "20261122000002",
        include_str!("../../migrations/postgres/2026-11-22-000002_idempotency/up.sql"),
    ),
    (
        "20261123000003",
        include_str!("../../migrations/postgres/2026-11-23-000003_attempt_numbers/up.sql"),
    ),
    (
        "20261123000004",
        include_str!("../../migrations/postgres/2026-11-23-000004_wake/up.sql"),
    ),
    (
        "20261123000005",
        include_str!("../../migrations/postgres/2026-11-23-000005_batch_requests/up.sql"),
    ),
];
const SQLITE_BEFORE: &[(&str, &str)] = &[(
    "20261123000001",
    include_str!("../../migrations/sqlite/2026-11-23-000001_create_messages/up.sql"),
)];

const SENT: &str = "11111111-1111-4111-8111-111111111111";
const PENDING: &str = "22222222-2222-4222-8222-222222222222";
const FAILED: &str = "33333333-3333-4333-8333-333333333333";

/// The old schema and three messages: sent with one attempt, pending, failed after two.
fn old_database(db: &TestDb) {
    let (steps, rows) = match db.backend {
        Backend::Postgres => (PG_BEFORE, format!(
            "INSERT INTO messages (id, recipient, content, status, attempts, attempt_seq, message_id, sent_at)
             VALUES ('{SENT}', '+905551111111', 'was sent', 'sent', 1, 1, 'wh-1', now());
             INSERT INTO messages (id, recipient, content) VALUES ('{PENDING}', '+905552222222', 'still to go');
             INSERT INTO messages (id, recipient, content, status, attempts, attempt_seq, last_error, idempotency_key, request_fingerprint)
             VALUES ('{FAILED}', '+905553333333', 'gave up', 'failed', 2, 2, 'HTTP 500', 'old-key', 'f');
             INSERT INTO delivery_attempts (message_id, attempt, started_at, duration_ms, outcome, status_code)
             VALUES ('{SENT}', 1, now(), 5, 'success', 202), ('{FAILED}', 1, now(), 5, 'retryable', 500),
                    ('{FAILED}', 2, now(), 5, 'retryable', 500);"
        )),
        Backend::Sqlite => (SQLITE_BEFORE, format!(
            "INSERT INTO messages (id, recipient, content, status, attempts, attempt_seq, message_id, sent_at, next_attempt_at, created_at, updated_at)
             VALUES ('{SENT}', '+905551111111', 'was sent', 'sent', 1, 1, 'wh-1', 1, 1, 1, 1);
             INSERT INTO messages (id, recipient, content, next_attempt_at, created_at, updated_at) VALUES ('{PENDING}', '+905552222222', 'still to go', 2, 2, 2);
             INSERT INTO messages (id, recipient, content, status, attempts, attempt_seq, last_error, idempotency_key, request_fingerprint, next_attempt_at, created_at, updated_at)
             VALUES ('{FAILED}', '+905553333333', 'gave up', 'failed', 2, 2, 'HTTP 500', 'old-key', 'f', 3, 3, 3);
             INSERT INTO delivery_attempts (message_id, attempt, started_at, duration_ms, outcome, status_code)
             VALUES ('{SENT}', 1, 1, 5, 'success', 202), ('{FAILED}', 1, 2, 5, 'retryable', 500),
                    ('{FAILED}', 2, 3, 5, 'retryable', 500);"
        )),
    };
    let mut sql = String::from(
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL,
                                                  run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);",
    );
    for (version, up) in steps {
        sql.push_str(up);
        sql.push_str(&format!(
            "\nINSERT INTO __diesel_schema_migrations (version) VALUES ('{version}');\n"
        ));
    }
    sql.push_str(&rows);
    match db.backend {
        Backend::Postgres => PgConnection::establish(&db.url)
            .unwrap()
            .batch_execute(&sql)
            .unwrap(),
        Backend::Sqlite => SqliteConnection::establish(&db.path().to_string_lossy())
            .unwrap()
            .batch_execute(&sql)
            .unwrap(),
    }
}

both_stores!(messages_stored_before_routing_keep_their_state_and_history);
async fn messages_stored_before_routing_keep_their_state_and_history(backend: Backend) {
    let db = TestDb::on(backend);
    old_database(&db);
    let app = spawn_on(
        db,
        TestWebhook::start(),
        &[
            ("DISPATCH_MODE", "continuous"),
            ("SCHEDULER_INTERVAL", "200ms"),
            // The old rows are dated 1970 on SQLite: retention would take them at once.
            ("EVENT_RETENTION", "off"),
        ],
    )
    .await;
    let get = |id: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/messages/{id}"))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let sent = get(SENT).await;
    assert_eq!(
        (
            sent["status"].as_str(),
            sent["attempts"].as_i64(),
            sent["message_id"].as_str(),
            sent["content"].as_str()
        ),
        (Some("sent"), Some(1), Some("wh-1"), Some("was sent"))
    );
    assert_eq!(sent["delivery_attempts"].as_array().unwrap().len(), 1);
    let failed = get(FAILED).await;
    assert_eq!(
        (failed["status"].as_str(), failed["last_error"].as_str()),
        (Some("failed"), Some("HTTP 500"))
    );
    assert_eq!(failed["delivery_attempts"].as_array().unwrap().len(), 2);
    let event: Value = app
        .get(&format!("/events/{FAILED}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(event["type"], "message");
    assert_eq!(
        event["payload"],
        serde_json::json!({"to": "+905553333333", "content": "gave up"})
    );
    assert_eq!(event["deliveries"][0]["endpoint"], "default");
    assert_eq!(
        event["deliveries"][0]["id"], FAILED,
        "the delivery keeps the message's id"
    );

    wait_until(
        "the old pending message to be sent",
        std::time::Duration::from_secs(10),
        || async { get(PENDING).await["status"] == "sent" },
    )
    .await;
    let delivered = &app.webhook.received()[0];
    assert_eq!(
        delivered.webhook_id, PENDING,
        "webhook-id is the message id, as before"
    );
    assert_eq!(
        delivered.body, r#"{"to":"+905552222222","content":"still to go"}"#,
        "the same bytes as before"
    );

    let reused = app
        .http
        .post(format!("{}/messages", app.address))
        .header("Idempotency-Key", "old-key")
        .json(&serde_json::json!({"recipient": "+905553333333", "content": "other"}))
        .send()
        .await
        .unwrap();
    assert_error(reused, 409, "Idempotency-Key").await;
    let retried = app.post(&format!("/messages/{FAILED}/retry")).await;
    assert_eq!(retried.status().as_u16(), 200);
    wait_until(
        "the retried message to be sent",
        std::time::Duration::from_secs(10),
        || async { get(FAILED).await["status"] == "sent" },
    )
    .await;
    let listed: Value = app.get("/messages?status=all").await.json().await.unwrap();
    assert_eq!(listed["total"], 3);
}
