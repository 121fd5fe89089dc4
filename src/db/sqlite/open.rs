//! Opening the embedded database: one process owns the file (an exclusive lock on a sidecar
//! `PATH.lock`), WAL journal with `synchronous=FULL` (a commit is on disk before it returns),
//! and the SQLite migrations, embedded in the binary.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::super::{BoxError, StoreError};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Why the database file could not be used. Nothing is created, overwritten or repaired.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "{path} is in use by another Herald process (it holds {lock}); an SQLite database has one \
         owner, so run several instances on PostgreSQL"
    )]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("cannot write {path}")]
    Unwritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a usable SQLite database (it was left as it is)")]
    NotADatabase {
        path: PathBuf,
        #[source]
        source: BoxError,
    },
}

/// The lock that makes this process the file's only owner; released when dropped or when the
/// process dies (kill -9 included), so a restart never finds a stale lock.
pub struct Ownership {
    _file: File,
}

pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the file's lock, or says who has it. Also checks that the file and its directory can be
/// written: SQLite would otherwise open a read-only file read-only and fail at the first write.
pub fn take_ownership(path: &Path) -> Result<Ownership, OpenError> {
    let unwritable = |source| OpenError::Unwritable {
        path: path.to_owned(),
        source,
    };
    if path.exists() {
        OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(unwritable)?;
    }
    let lock = lock_path(path);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(unwritable)?;
    match file.try_lock() {
        Ok(()) => Ok(Ownership { _file: file }),
        Err(TryLockError::WouldBlock) => Err(OpenError::Locked {
            path: path.to_owned(),
            lock,
        }),
        Err(TryLockError::Error(e)) => Err(unwritable(e)),
    }
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = diesel::sql_types::Text)]
    journal_mode: String,
}

/// A connection with Herald's settings. The writer also switches the file to WAL, which is how
/// a corrupt or foreign file is found: SQLite refuses to read its header.
pub fn connect(path: &Path, writer: bool) -> Result<SqliteConnection, OpenError> {
    let not_a_database = |source: BoxError| OpenError::NotADatabase {
        path: path.to_owned(),
        source,
    };
    let url = path.to_string_lossy();
    let mut conn = SqliteConnection::establish(&url).map_err(|e| not_a_database(Box::new(e)))?;
    let setup = |conn: &mut SqliteConnection| -> QueryResult<()> {
        super::super::search::register_sqlite_functions(conn)?;
        diesel::sql_query("PRAGMA busy_timeout = 5000").execute(conn)?;
        diesel::sql_query("PRAGMA foreign_keys = ON").execute(conn)?;
        diesel::sql_query("PRAGMA synchronous = FULL").execute(conn)?;
        if writer {
            // 64 MiB of page cache for the writer (the default is 2 MiB): the queue's indexes
            // stay in memory, so a claim or a finish does not read them back from the file.
            // Readers keep the default; the OS caches the file for them.
            diesel::sql_query("PRAGMA cache_size = -65536").execute(conn)?;
            let mode: JournalMode =
                diesel::sql_query("PRAGMA journal_mode = WAL").get_result(conn)?;
            if !mode.journal_mode.eq_ignore_ascii_case("wal") {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!("journal mode is {}, WAL is needed", mode.journal_mode).into(),
                ));
            }
        } else {
            diesel::sql_query("PRAGMA query_only = ON").execute(conn)?;
        }
        Ok(())
    };
    setup(&mut conn).map_err(|e| not_a_database(Box::new(e)))?;
    Ok(conn)
}

/// Applies the pending migrations; returns the versions applied.
pub fn migrate(conn: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(StoreError::Migration)
}
