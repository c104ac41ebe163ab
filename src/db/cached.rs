//! Raw SQL that PostgreSQL prepares once per connection.
//!
//! Diesel caches the prepared statements of its typed DSL, but marks every `sql_query` as
//! unsafe to cache, so each run of a raw statement is parsed and planned anew (the statement
//! names in PostgreSQL's log grow by one per request). [`cached`] builds the same kind of
//! query (text with `$n` placeholders, values bound in order) without that mark: Diesel's
//! statement cache then keys it by its text and bind types and prepares it once per pooled
//! connection. Only text written in this crate may go in, never a client's value, or the
//! cache would grow without bound.

use std::marker::PhantomData;

use diesel::{
    QueryResult,
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    serialize::ToSql,
    sql_types::{HasSqlType, Untyped},
};

/// A raw SQL statement whose prepared form is cached per connection (see the module header).
#[must_use = "queries are only executed when calling `load`, `execute` or similar"]
pub struct CachedSql<'f> {
    sql: String,
    binds: Vec<Box<dyn QueryFragment<Pg> + Send + 'f>>,
}

/// A cached raw statement of `sql`, whose `$1`, `$2`, … are the values bound in that order.
pub fn cached<'f>(sql: impl Into<String>) -> CachedSql<'f> {
    CachedSql {
        sql: sql.into(),
        binds: Vec::new(),
    }
}

impl<'f> CachedSql<'f> {
    /// Binds the next placeholder to `value`, as SQL type `ST`.
    pub fn bind<ST, V>(mut self, value: V) -> Self
    where
        Pg: HasSqlType<ST>,
        V: ToSql<ST, Pg> + Send + 'f,
        ST: Send + 'f,
    {
        self.binds.push(Box::new(Bind::<ST, V> {
            value,
            sql_type: PhantomData,
        }));
        self
    }
}

struct Bind<ST, V> {
    value: V,
    sql_type: PhantomData<ST>,
}

impl<ST, V> QueryFragment<Pg> for Bind<ST, V>
where
    Pg: HasSqlType<ST>,
    V: ToSql<ST, Pg>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        pass.push_bind_param_value_only(&self.value)
    }
}

impl QueryFragment<Pg> for CachedSql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Unlike `sql_query`, no `out.unsafe_to_cache_prepared()`: the text is this crate's own.
        out.push_sql(&self.sql);
        for bind in &self.binds {
            bind.walk_ast(out.reborrow())?;
        }
        Ok(())
    }
}

impl QueryId for CachedSql<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for CachedSql<'_> {
    type SqlType = Untyped;
}
