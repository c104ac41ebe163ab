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
//! over many parents at once, a keyset page each (see [`page`]). Files that use the macros import
//! `diesel_async::RunQueryDsl` by name, which shadows the blocking one of Diesel's prelude.

pub mod analytics_event;
pub mod api_token;
pub mod artifact;
pub mod assistant;
pub mod audit_log;
pub mod chat;
pub mod citation;
pub mod credential;
pub mod datasource;
pub mod document;
pub mod email_token;
pub mod error_log;
pub mod file;
pub mod filters;
pub mod identity;
pub mod invitation;
pub mod job;
pub mod lists;
pub mod mcp_server;
pub mod message;
pub mod organization;
pub mod page;
pub mod platform_config;
pub mod project;
pub mod rate_limit;
pub mod repository;
pub mod role;
pub mod search;
pub mod session;
pub mod summary;
pub mod usage_event;
pub mod user;
pub mod webhook;

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

/// Adds `apply` to a `...Patch` type: updates the row with this id and returns it (an empty
/// patch returns the row unchanged).
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
                let updated = diesel::update(crate::db::schema::$table::table.find(id))
                    .set(self)
                    .returning($row::as_returning())
                    .get_result(conn)
                    .await;
                match updated {
                    // A change with nothing in it changes nothing: the row as it is.
                    Err(diesel::result::Error::QueryBuilderError(error))
                        if error.is::<diesel::result::EmptyChangeset>() =>
                    {
                        crate::db::schema::$table::table
                            .find(id)
                            .select($row::as_select())
                            .first(conn)
                            .await
                    }
                    other => other,
                }
            }
        }
    };
}

pub(crate) use {find_by_id, insert_returning, update_returning};
