//! Raw SQL that PostgreSQL parses and plans once per connection. diesel never caches a
//! `sql_query` (its text could be built at run time); the hot statements here are constants,
//! so they are marked safe to cache and diesel keeps one prepared statement per text. Parsing
//! and planning the claim, finish and insert statements anew took about a third of
//! PostgreSQL's CPU under single-POST ingest (BENCHMARKS.md, 2026-12-01).

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A query whose SQL text is a constant, prepared once per connection and reused. Wrap only
/// queries built from a constant text (`sql_query(CONST).bind(..)…`): every distinct text
/// stays in the connection's cache.
#[derive(Debug, Clone)]
pub struct Prepared<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    /// The text is a constant: one statement per call site, never one per call.
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache keys the statement by its SQL text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}
