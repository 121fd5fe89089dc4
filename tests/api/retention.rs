//! Retention on both stores: events older than `EVENT_RETENTION` go with their deliveries and
//! attempts; a recent event, and an old one whose delivery is still pending, stay; `/stats`
//! shows the oldest event kept and what was pruned.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::routing::{event, json_of};
use crate::testdb::Backend as Kind;

both_stores!(old_events_go_with_their_history_and_nothing_on_its_way_does);
async fn old_events_go_with_their_history_and_nothing_on_its_way_does(backend: Backend) {
    let app = spawn_app_on(
        backend,
        &[
            ("DISPATCH_MODE", "continuous"),
            ("EVENT_RETENTION", "1h"),
            ("RETENTION_INTERVAL", "200ms"),
        ],
    )
    .await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            event(&app, json!({"type": "t", "payload": {"n": n}})).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Due tomorrow: its delivery stays pending.
    let waiting = event(
        &app,
        json!({"type": "t", "payload": {"n": 9}, "send_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    let waiting = waiting["id"].as_str().unwrap().to_owned();
    wait_until("5 sent", Duration::from_secs(20), || async {
        json_of(&app, "/events/count?status=sent").await["count"] == 5
    })
    .await;
    let old: Vec<String> = ids[..3].iter().chain([&waiting]).cloned().collect();
    let list = old
        .iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let backdate = match app.db.backend {
        Kind::Postgres => format!(
            "UPDATE events SET created_at = now() - interval '2 hours' WHERE id IN ({list})"
        ),
        Kind::Sqlite => format!(
            "UPDATE events SET created_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) - 7200000 WHERE id IN ({list})"
        ),
    };
    assert_eq!(app.db.exec(&backdate).unwrap(), 4);
    let delivery_ids: Vec<String> = {
        let mut all = Vec::new();
        for id in &ids[..3] {
            let e = json_of(&app, &format!("/events/{id}")).await;
            all.push(format!("'{}'", e["deliveries"][0]["id"].as_str().unwrap()));
        }
        all
    };
    let attempts_of_old = format!("delivery_id IN ({})", delivery_ids.join(", "));
    assert_eq!(app.db.count_in("delivery_attempts", &attempts_of_old), 3);

    wait_until("three pruned", Duration::from_secs(20), || async {
        json_of(&app, "/stats").await["retention"]["pruned"]["events"] == 3
    })
    .await;
    let stats = json_of(&app, "/stats").await;
    assert_eq!(
        stats["retention"]["pruned"],
        json!({"events": 3, "deliveries": 3, "attempts": 3})
    );
    assert_eq!(stats["retention"]["keep_seconds"], 3600);
    for id in &ids[..3] {
        assert_eq!(
            app.get(&format!("/events/{id}")).await.status().as_u16(),
            404,
            "{id} is pruned"
        );
    }
    for id in ids[3..].iter().chain([&waiting]) {
        assert_eq!(
            app.get(&format!("/events/{id}")).await.status().as_u16(),
            200,
            "{id} is kept"
        );
    }
    assert_eq!(app.db.count_in("delivery_attempts", &attempts_of_old), 0);
    assert_eq!(
        app.db.count(
            &delivery_ids
                .iter()
                .map(|d| format!("id = {d}"))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
        0
    );
    // The oldest kept is the old one still waiting.
    let oldest: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(stats["retention"]["oldest_event_at"].clone()).unwrap();
    let age = chrono::Utc::now() - oldest;
    assert!(
        age > chrono::Duration::minutes(110) && age < chrono::Duration::minutes(130),
        "{age}"
    );
}
