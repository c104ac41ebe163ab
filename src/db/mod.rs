//! The database: connection pool, the generated Diesel schema, migrations, closed-set enums,
//! id generation, and the private local PostgreSQL cluster.

pub mod cached;
pub mod cluster;
pub mod enums;
pub mod migrate;
#[rustfmt::skip]
pub mod schema;

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::{
    AsyncConnection, AsyncPgConnection, SimpleAsyncConnection,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool},
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

/// Records the SQL statements run through a pool's connections: how the tests prove that a
/// query's statement count does not grow with the data (no N+1), and what they show when it
/// does.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl StatementCounter {
    /// Statements started so far.
    pub fn count(&self) -> usize {
        self.0.lock().map_or(0, |statements| statements.len())
    }

    /// The statements started since the first `skip` (their start and end).
    pub fn since(&self, skip: usize) -> Vec<String> {
        self.0
            .lock()
            .map(|statements| statements.iter().skip(skip).cloned().collect())
            .unwrap_or_default()
    }
}

impl diesel::connection::Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if let diesel::connection::InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            if let Ok(mut statements) = self.0.lock() {
                let tail: String = text
                    .chars()
                    .rev()
                    .take(120)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                statements.push(format!("{} … {tail}", text.chars().take(60).collect::<String>()));
            }
        }
    }
}

/// Builds the pool. Every connection gets the statement timeout and generic plans; connections are opened
/// lazily, so this does not touch the database.
pub fn pool(url: &SecretString, size: usize, statement_timeout: Duration) -> anyhow::Result<Pool> {
    pool_with_counter(url, size, statement_timeout, None)
}

/// [`pool`], counting every statement with `counter` when given.
pub fn pool_with_counter(
    url: &SecretString,
    size: usize,
    statement_timeout: Duration,
    counter: Option<StatementCounter>,
) -> anyhow::Result<Pool> {
    let timeout_ms = statement_timeout.as_millis();
    let mut config = ManagerConfig::default();
    // A connection that failed is marked broken by Diesel and dropped when it comes back; a
    // round trip to check every healthy one before each use would cost more than it finds.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let counter = counter.clone();
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            // Statements are prepared once per connection (`db::cached` and Diesel's DSL); left
            // to itself, PostgreSQL would still plan each run anew ("custom plans", about a
            // millisecond for a page statement with its read rules) because their parameters
            // are cheap to plan for. Their plans do not depend on the values, so the first
            // plan serves every run. JIT compilation, which PostgreSQL starts for statements
            // it estimates as costly, took 40 ms to save microseconds on these small reads.
            conn.batch_execute(&format!(
                "SET statement_timeout = {timeout_ms}; SET plan_cache_mode = force_generic_plan; SET jit = off"
            ))
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            if let Some(counter) = counter {
                conn.set_instrumentation(counter);
            }
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
