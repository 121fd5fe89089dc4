//! Search on PostgreSQL: a page of the events that match (keyset or offset), and their count,
//! from the condition `db::search` writes; its binds are applied here by type.

use diesel::PgConnection;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Double, Text, Timestamptz};

use super::super::StoreError;
use super::super::search::{
    Bind, Cursor, Dialect, Order, PageRequest, Search, SearchPage, Sql, Start, condition,
};
use super::events::{EVENT_COLUMNS, EventRow, with_deliveries};

pub fn search(
    conn: &mut PgConnection,
    search: &Search,
    page: &PageRequest,
) -> Result<SearchPage, StoreError> {
    let mut sql = Sql::new(Dialect::Postgres);
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
    let next = rows.last().filter(|_| more).and_then(|last| {
        let at = match order {
            Order::Created => Some(last.created_at),
            Order::Sent => last.sent_at,
        };
        at.map(|at| Cursor {
            order,
            at,
            id: last.id,
        })
    });
    Ok(SearchPage {
        events: with_deliveries(conn, rows)?,
        next,
    })
}

pub fn count(conn: &mut PgConnection, search: &Search) -> Result<i64, StoreError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut sql = Sql::new(Dialect::Postgres);
    let w = condition(search, &mut sql);
    let (join, cond) = (&w.join, w.sql());
    let text = format!("SELECT count(*) AS n FROM events{join} WHERE {cond}");
    let found: Count =
        bind_all(diesel::sql_query(text).into_boxed(), &sql.binds).get_result(conn)?;
    Ok(found.n)
}

pub(super) fn bind_all<'a>(
    query: BoxedSqlQuery<'a, Pg, SqlQuery>,
    binds: &[Bind],
) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
    binds.iter().cloned().fold(query, |q, b| match b {
        Bind::Text(s) => q.bind::<Text, _>(s),
        Bind::Texts(v) => q.bind::<Array<Text>, _>(v),
        Bind::Int(i) => q.bind::<BigInt, _>(i),
        Bind::Real(f) => q.bind::<Double, _>(f),
        Bind::Time(t) => q.bind::<Timestamptz, _>(t),
        Bind::Uuid(u) => q.bind::<diesel::sql_types::Uuid, _>(u),
    })
}
