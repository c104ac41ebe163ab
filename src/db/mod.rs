//! The database: connection pool, the generated Diesel schema, migrations, closed-set enums,
//! id generation, and the private local PostgreSQL cluster.

pub mod cluster;
pub mod enums;
pub mod migrate;
#[rustfmt::skip]
pub mod schema;

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::{
    AsyncConnection, AsyncPgConnection, SimpleAsyncConnection,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, deadpool},
};
use secrecy::{ExposeSecret, SecretString};

/// The async connection pool.
pub type Pool = deadpool::Pool<AsyncPgConnection>;
/// A connection taken from the pool.
pub type PooledConn = deadpool::Object<AsyncPgConnection>;

/// A new time-ordered (UUIDv7) primary key: good index locality, and usable as a
/// keyset-pagination tiebreaker.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// Builds the pool. Every connection gets the statement timeout; connections are opened
/// lazily, so this does not touch the database.
pub fn pool(url: &SecretString, size: usize, statement_timeout: Duration) -> anyhow::Result<Pool> {
    let timeout_ms = statement_timeout.as_millis();
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(move |url| {
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.batch_execute(&format!("SET statement_timeout = {timeout_ms}"))
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url.expose_secret(), config);
    let pool = Pool::builder(manager)
        .max_size(size)
        .runtime(::deadpool::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(10)))
        .build()?;
    Ok(pool)
}
