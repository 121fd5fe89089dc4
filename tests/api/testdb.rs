//! A store that exists for one test: a PostgreSQL database of its own (created here, migrated by
//! the app, dropped after), or an SQLite file in a directory of its own (removed after).

use std::path::PathBuf;

use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use uuid::Uuid;

use herald::db::{Backend as Store, PgStore, SqliteStore};

use crate::helpers::pg_url;

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

pub struct TestDb {
    pub name: String,
    /// The `DATABASE_URL` to give Herald.
    pub url: String,
    pub backend: Backend,
    owned: bool,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl TestDb {
    pub fn on(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => Self::create(),
            Backend::Sqlite => Self::sqlite(),
        }
    }

    pub fn create() -> Self {
        let name = format!("herald_test_{}", Uuid::new_v4().simple());
        let mut admin =
            PgConnection::establish(&pg_url("postgres")).expect("PostgreSQL is reachable");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        Self {
            url: pg_url(&name),
            name,
            backend: Backend::Postgres,
            owned: true,
        }
    }

    /// An empty directory of its own; Herald creates `herald.db` in it.
    pub fn sqlite() -> Self {
        let dir = scratch_dir();
        Self {
            url: format!("sqlite://{}", dir.join("herald.db").display()),
            name: dir.display().to_string(),
            backend: Backend::Sqlite,
            owned: true,
        }
    }

    /// The SQLite file (for SQLite stores).
    pub fn path(&self) -> PathBuf {
        PathBuf::from(self.url.trim_start_matches("sqlite://"))
    }

    /// The same store for a second instance; only the original drops it.
    pub fn share(&self) -> Self {
        Self {
            name: self.name.clone(),
            url: self.url.clone(),
            backend: self.backend,
            owned: false,
        }
    }

    pub fn connect(&self) -> PgConnection {
        assert_eq!(self.backend, Backend::Postgres, "a PostgreSQL connection");
        PgConnection::establish(&self.url).unwrap()
    }

    fn connect_sqlite(&self) -> SqliteConnection {
        let mut conn = SqliteConnection::establish(&self.path().to_string_lossy()).unwrap();
        diesel::sql_query("PRAGMA busy_timeout = 5000")
            .execute(&mut conn)
            .unwrap();
        conn
    }

    /// Runs SQL that returns nothing.
    pub fn exec(&self, sql: &str) -> Result<usize, diesel::result::Error> {
        match self.backend {
            Backend::Postgres => diesel::sql_query(sql).execute(&mut self.connect()),
            Backend::Sqlite => diesel::sql_query(sql).execute(&mut self.connect_sqlite()),
        }
    }

    pub fn count(&self, filter: &str) -> i64 {
        self.count_in("deliveries", filter)
    }

    /// Rows of `table` where `filter` holds.
    pub fn count_in(&self, table: &str, filter: &str) -> i64 {
        let sql = format!("SELECT count(*) AS n FROM {table} WHERE {filter}");
        let n: N = match self.backend {
            Backend::Postgres => diesel::sql_query(sql).get_result(&mut self.connect()),
            Backend::Sqlite => diesel::sql_query(sql).get_result(&mut self.connect_sqlite()),
        }
        .unwrap();
        n.n
    }

    /// A digest of every stored message and attempt: equal before and after means nothing changed.
    pub fn snapshot(&self) -> String {
        #[derive(QueryableByName)]
        struct Digest {
            #[diesel(sql_type = diesel::sql_types::Text)]
            digest: String,
        }
        let d: Digest = match self.backend {
            Backend::Postgres => diesel::sql_query(
                "SELECT md5(coalesce((SELECT string_agg(m::text, '|' ORDER BY id) FROM deliveries m), '')
                     || coalesce((SELECT string_agg(e::text, '|' ORDER BY id) FROM events e), '')
                     || coalesce((SELECT string_agg(p::text, '|' ORDER BY id) FROM endpoints p), '')
                     || coalesce((SELECT string_agg(a::text, '|' ORDER BY id) FROM delivery_attempts a), '')
                     || (SELECT active::text FROM dispatch_state)) AS digest",
            )
            .get_result(&mut self.connect()),
            Backend::Sqlite => diesel::sql_query(
                "SELECT coalesce((SELECT group_concat(json_array(id, event_id, endpoint_id, status,
                            attempts, attempt_seq, next_attempt_at, claim_token, claimed_by,
                            lease_expires_at, message_id, last_error, sent_at, created_at,
                            updated_at), '|')
                          FROM (SELECT * FROM deliveries ORDER BY id)), '')
                     || coalesce((SELECT group_concat(json_array(id, type, payload, channels, status,
                            send_at, sent_at, idempotency_key, request_fingerprint, created_at,
                            updated_at), '|')
                          FROM (SELECT * FROM events ORDER BY id)), '')
                     || coalesce((SELECT group_concat(json_array(id, name, url, event_types, channels,
                            filter, template, headers, secret, enabled, description, created_at,
                            updated_at, deleted_at), '|')
                          FROM (SELECT * FROM endpoints ORDER BY id)), '')
                     || coalesce((SELECT group_concat(json_array(id, delivery_id, attempt,
                            started_at, duration_ms, outcome, status_code, error_class,
                            response_excerpt), '|')
                          FROM (SELECT * FROM delivery_attempts ORDER BY id)), '')
                     || coalesce((SELECT group_concat(idempotency_key || request_fingerprint
                          || event_ids) FROM batch_requests), '')
                     || (SELECT active FROM dispatch_state) AS digest",
            )
            .get_result(&mut self.connect_sqlite()),
        }
        .unwrap();
        d.digest
    }
}

/// A new empty directory under the system's temporary directory.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("herald-test-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        match self.backend {
            Backend::Postgres => {
                if let Ok(mut admin) = PgConnection::establish(&pg_url("postgres")) {
                    let _ = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ))
                    .execute(&mut admin);
                }
            }
            Backend::Sqlite => {
                let _ = std::fs::remove_dir_all(&self.name);
            }
        }
    }
}

/// A fresh store of the given kind, migrated, called directly (no application around it).
pub fn open_store(backend: Backend) -> (TestDb, Box<dyn Store>) {
    let db = TestDb::on(backend);
    let store: Box<dyn Store> = match backend {
        Backend::Postgres => {
            let pg = PgStore::new(&db.url, 2, std::time::Duration::from_secs(5));
            pg.migrate().unwrap();
            Box::new(pg)
        }
        Backend::Sqlite => {
            let sqlite = SqliteStore::open(&db.path(), 2).unwrap();
            sqlite.migrate().unwrap();
            Box::new(sqlite)
        }
    };
    (db, store)
}
