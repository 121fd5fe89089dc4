//! The store contract for event sources, on PostgreSQL and on SQLite: names are unique, an
//! update keeps the counts, and a batch of entries is stored in one commit with the source's
//! counts, an entry whose key is stored already skipped (the same entry read twice, after a
//! crash or a redelivery, is one event).

use herald::db::{
    Backend as Store, SOURCE_FINGERPRINT, SourceCounts, SourceRow, StoreError, Tally,
};
use serde_json::json;
use uuid::Uuid;

use crate::contract_routing::{event_to, row as endpoint};
use crate::helpers::*;
use crate::testdb::open_store as open;

fn source(name: &str) -> SourceRow {
    let now = chrono::Utc::now();
    SourceRow {
        id: Uuid::new_v4(),
        name: name.into(),
        kind: "redis_stream".into(),
        spec: json!({"url": "redis://127.0.0.1:6379", "stream": name, "type": "$.type"}),
        enabled: true,
        counts: SourceCounts::default(),
        created_at: now,
        updated_at: now,
    }
}

/// An event for entry `entry` of source `name`, routed to `to`.
fn entry(name: &str, entry: &str, to: &herald::db::EndpointRow) -> herald::db::NewEvent {
    let mut e = event_to(&[to]);
    e.idempotency = Some((format!("source:{name}:{entry}"), SOURCE_FINGERPRINT.into()));
    e
}

fn counts(store: &dyn Store, id: Uuid) -> SourceCounts {
    let rows = store.sources().unwrap();
    rows.into_iter().find(|s| s.id == id).unwrap().counts
}

both_stores!(sources_have_unique_names_and_updates_keep_their_counts);
async fn sources_have_unique_names_and_updates_keep_their_counts(backend: Backend) {
    let (_db, store) = open(backend);
    let a = store.create_source(&source("a")).unwrap();
    assert_eq!((a.name.as_str(), a.enabled), ("a", true));
    assert!(matches!(
        store.create_source(&source("a")),
        Err(StoreError::Duplicate(_))
    ));
    let b = store.create_source(&source("b")).unwrap();
    let tally = Tally {
        read: 2,
        dead: 2,
        last_entry: Some("1-1".into()),
    };
    store.ingest(a.id, Vec::new(), &tally).unwrap();
    let mut paused = a.clone();
    paused.enabled = false;
    let paused = store.update_source(&paused).unwrap();
    assert!(!paused.enabled);
    assert_eq!(paused.counts.dead, 2, "an update keeps the counts");
    let mut clash = b.clone();
    clash.name = "a".into();
    assert!(matches!(
        store.update_source(&clash),
        Err(StoreError::Duplicate(_))
    ));
    store.delete_source(b.id).unwrap();
    assert!(matches!(
        store.delete_source(b.id),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(store.update_source(&b), Err(StoreError::NotFound)));
    let names: Vec<String> = store
        .sources()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["a"]);
}

both_stores!(an_entry_read_twice_is_stored_once_and_counted_a_duplicate);
async fn an_entry_read_twice_is_stored_once_and_counted_a_duplicate(backend: Backend) {
    let (_db, store) = open(backend);
    let to = store.create_endpoint(&endpoint("hook")).unwrap();
    let s = store.create_source(&source("orders")).unwrap();
    let first: Vec<_> = ["1-0", "2-0", "3-0"]
        .iter()
        .map(|id| entry("orders", id, &to))
        .collect();
    let tally = |read, last: &str| Tally {
        read,
        dead: 0,
        last_entry: Some(last.into()),
    };
    let done = store.ingest(s.id, first, &tally(3, "3-0")).unwrap();
    assert_eq!((done.stored, done.duplicates), (3, 0));
    // Redelivered 2-0 and 3-0, a new 4-0, and 4-0 twice in one batch.
    let again: Vec<_> = ["2-0", "3-0", "4-0", "4-0"]
        .iter()
        .map(|id| entry("orders", id, &to))
        .collect();
    let done = store.ingest(s.id, again, &tally(4, "4-0")).unwrap();
    assert_eq!((done.stored, done.duplicates), (1, 3));
    let c = counts(&*store, s.id);
    assert_eq!(
        (
            c.read,
            c.stored,
            c.duplicates,
            c.dead,
            c.last_entry.as_deref()
        ),
        (7, 4, 3, 0, Some("4-0"))
    );
    let page = store
        .list_events(&herald::db::EventFilter {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.events.len(), 4, "one event per entry");
    assert!(
        page.events.iter().all(|e| e.deliveries.len() == 1),
        "each routed once"
    );
    // A source that is gone stores nothing.
    store.delete_source(s.id).unwrap();
    let late = vec![entry("orders", "5-0", &to)];
    assert!(matches!(
        store.ingest(s.id, late, &tally(1, "5-0")),
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .list_events(&herald::db::EventFilter {
                limit: 100,
                ..Default::default()
            })
            .unwrap()
            .events
            .len(),
        4
    );
}
