//! Opening the store `DATABASE_URL` names, with its migrations applied: the one place that
//! turns the setting into a [`Store`].

use std::time::Duration;

use anyhow::Context as _;

use super::{PgStore, SqliteStore, Store};
use crate::config::{DatabaseSettings, DatabaseUrl};

/// How long a request waits for a database connection before answering 503.
const DB_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the store `DATABASE_URL` names and applies its migrations; returns it and the
/// versions applied (`herald serve` and `herald migrate` both start here).
pub async fn open(db: &DatabaseSettings) -> anyhow::Result<(Store, Vec<String>)> {
    let (pool_size, url) = (db.pool_size, db.url.clone());
    let store = tokio::task::spawn_blocking(move || -> anyhow::Result<(Store, Vec<String>)> {
        match &url {
            DatabaseUrl::Postgres(url) => {
                let pg = PgStore::new(url.expose(), pool_size, DB_CONNECT_TIMEOUT);
                let applied = pg
                    .migrate()
                    .context("could not prepare the database (DATABASE_URL)")?;
                Ok((Store::new(pg), applied))
            }
            DatabaseUrl::Sqlite(path) => {
                let shown = format!("DATABASE_URL=sqlite://{}", path.display());
                let sqlite = SqliteStore::open(path, pool_size)
                    .with_context(|| format!("could not open the database ({shown})"))?;
                let applied = sqlite
                    .migrate()
                    .with_context(|| format!("could not prepare the database ({shown})"))?;
                Ok((Store::new(sqlite), applied))
            }
        }
    });
    store.await?
}
