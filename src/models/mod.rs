//! Diesel rows and the queries beside them, one file per table or aggregate.
//!
//! Naming: `ChatRow` is what a `SELECT` returns, `NewChat` what an `INSERT` takes (with the
//! application-generated UUIDv7 id; `None` fields take the column default), and `ChatPatch`
//! what an `UPDATE` sets (`None` leaves a column as it is; `Some(None)` clears a nullable one).
//! No row type ever derives a GraphQL trait: the API wraps rows in types of its own, so a
//! column such as `password_hash` cannot reach the schema by accident.
//!
//! Every table with a single `id` key gets `find` and `find_many` (one `= ANY($1)` query);
//! every `New...` gets `insert`, every `...Patch` gets `apply`. Lists by parent are batched
//! over many parents at once (see [`first_per_parent`]). Files that use the macros import
//! `diesel_async::RunQueryDsl` by name, which shadows the blocking one of Diesel's prelude.

pub mod analytics_event;
pub mod api_token;
pub mod artifact;
pub mod assistant;
pub mod audit_log;
pub mod chat;
pub mod credential;
pub mod datasource;
pub mod document;
pub mod error_log;
pub mod file;
pub mod identity;
pub mod job;
pub mod message;
pub mod organization;
pub mod platform_config;
pub mod project;
pub mod rate_limit;
pub mod repository;
pub mod role;
pub mod session;
pub mod usage_event;
pub mod user;
pub mod webhook;

use diesel::{
    QueryResult,
    pg::Pg,
    sql_types::{Array, BigInt},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::authz::Scope;

/// Adds `find` (by primary key) and `find_many` (by many keys, one query) to a row type.
macro_rules! find_by_id {
    ($row:ident, $table:ident) => {
        impl $row {
            /// Finds one row by primary key.
            pub async fn find(
                conn: &mut diesel_async::AsyncPgConnection,
                id: uuid::Uuid,
            ) -> diesel::QueryResult<Option<Self>> {
                use diesel::{OptionalExtension, QueryDsl, SelectableHelper};
                crate::db::schema::$table::table
                    .find(id)
                    .select($row::as_select())
                    .first(conn)
                    .await
                    .optional()
            }

            /// Loads the rows with these ids in one `= ANY($1)` query (in no particular order).
            pub async fn find_many(
                conn: &mut diesel_async::AsyncPgConnection,
                ids: &[uuid::Uuid],
            ) -> diesel::QueryResult<Vec<Self>> {
                use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
                crate::db::schema::$table::table
                    .filter(crate::db::schema::$table::id.eq_any(ids))
                    .select($row::as_select())
                    .load(conn)
                    .await
            }
        }
    };
}

/// Adds `insert` to a `New...` type: inserts it and returns the stored row.
macro_rules! insert_returning {
    ($new:ident => $row:ident, $table:ident) => {
        impl $new {
            /// Inserts this row and returns it as stored (with defaults filled in).
            pub async fn insert(&self, conn: &mut diesel_async::AsyncPgConnection) -> diesel::QueryResult<$row> {
                use diesel::SelectableHelper;
                diesel::insert_into(crate::db::schema::$table::table)
                    .values(self)
                    .returning($row::as_returning())
                    .get_result(conn)
                    .await
            }
        }
    };
}

/// Adds `apply` to a `...Patch` type: updates the row with this id and returns it.
macro_rules! update_returning {
    ($patch:ident => $row:ident, $table:ident) => {
        impl $patch {
            /// Applies this change to the row with `id` and returns the updated row.
            pub async fn apply(
                &self,
                conn: &mut diesel_async::AsyncPgConnection,
                id: uuid::Uuid,
            ) -> diesel::QueryResult<$row> {
                use diesel::{QueryDsl, SelectableHelper};
                diesel::update(crate::db::schema::$table::table.find(id))
                    .set(self)
                    .returning($row::as_returning())
                    .get_result(conn)
                    .await
            }
        }
    };
}

pub(crate) use {find_by_id, insert_returning, update_returning};

/// How to list the children of many parents at once: which table, which column points at
/// the parent, the order within one parent, and an optional extra condition. All parts are
/// fixed SQL written in this crate, never client input.
#[derive(Debug, Clone, Copy)]
pub struct ChildList {
    /// Table of the children.
    pub table: &'static str,
    /// Column holding the parent's id.
    pub parent_column: &'static str,
    /// `ORDER BY` within one parent (must end in a unique column, e.g. `created_at, id`).
    pub order_by: &'static str,
    /// Extra `WHERE` condition, e.g. `c.deleted_at IS NULL`, or `TRUE`; it decides what the
    /// caller may see with the parameters described at [`first_per_parent`].
    pub condition: &'static str,
}

/// Loads at most `limit` children of each parent in `parents` that `scope` may see, in one
/// statement (a window function over the whole batch), so a nested list costs one query
/// whatever the number of parents. Conditions may use `$3` (the caller is a platform admin),
/// `$4` (the projects the caller sees) and `$5` (the caller's user id, null if anonymous).
pub async fn first_per_parent<T>(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    list: ChildList,
    parents: &[Uuid],
    limit: i64,
) -> QueryResult<Vec<T>>
where
    T: diesel::QueryableByName<Pg> + Send + 'static,
{
    diesel::sql_query(format!(
        "SELECT * FROM (SELECT c.*, row_number() OVER (PARTITION BY c.{parent} ORDER BY {order}) AS row_number \
         FROM {table} c WHERE c.{parent} = ANY($1) AND ({condition})) ranked \
         WHERE row_number <= $2 ORDER BY {parent}, row_number",
        parent = list.parent_column,
        order = list.order_by,
        table = list.table,
        condition = list.condition,
    ))
    .bind::<Array<diesel::sql_types::Uuid>, _>(parents)
    .bind::<BigInt, _>(limit)
    .bind::<diesel::sql_types::Bool, _>(scope.is_admin())
    .bind::<Array<diesel::sql_types::Uuid>, _>(scope.project_ids())
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(scope.user_id())
    .load(conn)
    .await
}
