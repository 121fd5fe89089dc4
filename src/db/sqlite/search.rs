//! Search on SQLite: the same condition as on PostgreSQL (`db::search`), with times bound as
//! Unix milliseconds and ids as text.

use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Double, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};

use super::super::StoreError;
use super::super::search::{
    Bind, Cursor, Dialect, Order, PageRequest, Search, SearchPage, Sql, Start, condition, millis_up,
};
use super::events::with_deliveries;
use super::rows::{EVENT_COLUMNS, EventRow, time, uuid};

pub fn search(
    conn: &mut SqliteConnection,
    search: &Search,
    page: &PageRequest,
) -> Result<SearchPage, StoreError> {
    let mut sql = Sql::new(Dialect::Sqlite);
    let mut w = condition(search, &mut sql);
    let offset = match page.start {
        Start::After(c) => {
            w.before(&c, &mut sql);
            0
        }
        Start::Offset(n) => n,
    };
    let (join, cond) = (&w.join, w.sql());
    let order = search.order();
    let column = order.column();
    let limit = sql.bind(Bind::Int(i64::from(page.limit) + 1));
    let offset = sql.bind(Bind::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
    let text = format!(
        "SELECT {EVENT_COLUMNS} FROM events{join} WHERE {cond} \
         ORDER BY events.{column} DESC, events.id DESC LIMIT {limit} OFFSET {offset}"
    );
    let mut rows: Vec<EventRow> =
        bind_all(diesel::sql_query(text).into_boxed(), &sql.binds).load(conn)?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next = match rows.last().filter(|_| more) {
        Some(last) => {
            let at = match order {
                Order::Created => Some(last.created_at),
                Order::Sent => last.sent_at,
            };
            match at {
                Some(ms) => Some(Cursor {
                    order,
                    at: time(ms),
                    id: uuid(&last.id)?,
                }),
                None => None,
            }
        }
        None => None,
    };
    Ok(SearchPage {
        events: with_deliveries(conn, rows)?,
        next,
    })
}

pub fn count(conn: &mut SqliteConnection, search: &Search) -> Result<i64, StoreError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut sql = Sql::new(Dialect::Sqlite);
    let w = condition(search, &mut sql);
    let (join, cond) = (&w.join, w.sql());
    let text = format!("SELECT count(*) AS n FROM events{join} WHERE {cond}");
    let found: Count =
        bind_all(diesel::sql_query(text).into_boxed(), &sql.binds).get_result(conn)?;
    Ok(found.n)
}

pub(super) fn bind_all<'a>(
    query: BoxedSqlQuery<'a, Sqlite, SqlQuery>,
    binds: &[Bind],
) -> BoxedSqlQuery<'a, Sqlite, SqlQuery> {
    binds.iter().cloned().fold(query, |q, b| match b {
        Bind::Text(s) => q.bind::<Text, _>(s),
        Bind::Texts(v) => q.bind::<Text, _>(serde_json::Value::from(v).to_string()),
        Bind::Int(i) => q.bind::<BigInt, _>(i),
        Bind::Real(f) => q.bind::<Double, _>(f),
        Bind::Time(t) => q.bind::<BigInt, _>(millis_up(t)),
        Bind::Uuid(u) => q.bind::<Text, _>(u.to_string()),
    })
}
