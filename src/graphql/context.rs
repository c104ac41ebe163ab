//! What each request carries: the database pool, its own DataLoader (never shared between
//! requests, so cached rows never leak between callers), the caller, where the request comes
//! from, and the request id used in logs and in internal-error messages.

use std::{
    ops::{Deref, DerefMut},
    sync::Arc,
};

use async_graphql::{Context, dataloader::DataLoader};
use diesel_async::AsyncPgConnection;

use super::{loaders::DbLoader, rounds::RoundCounter};
use crate::{
    app::AppState,
    auth::{
        authz::Scope,
        grant::{self, Grant, Permission, Place},
    },
    db::{Pool, PooledConn},
    error::AppError,
    services::{
        auth::{Authenticator, Caller, ClientInfo},
        generation::Generations,
        write::Writer,
    },
    storage::FileStore,
};

/// Most pooled connections the resolvers of one request hold at once: 300 aliased root
/// fields take turns on these instead of emptying the pool. (Its DataLoaders take one per
/// batch, a statement per level; a mutation, which runs alone, takes one for its transaction.)
pub const MAX_REQUEST_CONNECTIONS: usize = 2;

/// A pooled connection held within the request's [`MAX_REQUEST_CONNECTIONS`].
pub struct RequestConn {
    conn: PooledConn,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Deref for RequestConn {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl DerefMut for RequestConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

/// Request-scoped data, attached to every GraphQL request.
pub struct RequestContext {
    pool: Pool,
    connections: Arc<tokio::sync::Semaphore>,
    loader: DataLoader<DbLoader>,
    request_id: String,
    authenticator: Arc<Authenticator>,
    caller: Option<Caller>,
    scope: Arc<Scope>,
    rounds: Arc<RoundCounter>,
    client: ClientInfo,
    files: FileStore,
    generations: Generations,
}

/// The request context among a request's `data`, if it has one.
pub fn request_context(data: &async_graphql::Data) -> Option<&RequestContext> {
    data.get(&std::any::TypeId::of::<RequestContext>())
        .and_then(|data| data.downcast_ref::<RequestContext>())
}

impl RequestContext {
    /// A context for one request to the server of `state` by `caller` (None: anonymous).
    pub fn new(state: &AppState, request_id: String, caller: Option<Caller>, client: ClientInfo) -> Self {
        let (pool, loader_delay) = (state.pool.clone(), state.loader_delay);
        let scope = Arc::new(Scope::of(caller.as_ref()));
        let rounds = Arc::new(RoundCounter::default());
        let spawner = {
            let rounds = rounds.clone();
            move |fetch| spawn_after_round(&rounds, fetch)
        };
        let loader = DataLoader::new(DbLoader::new(pool.clone(), scope.clone()), spawner).delay(loader_delay);
        RequestContext {
            pool,
            connections: Arc::new(tokio::sync::Semaphore::new(MAX_REQUEST_CONNECTIONS)),
            loader,
            request_id,
            authenticator: state.authenticator.clone(),
            caller,
            scope,
            rounds,
            client,
            files: state.files.clone(),
            generations: state.generations.clone(),
        }
    }

    /// Counts the polls of this request's execution (wrap it in [`super::rounds::Rounds`]
    /// with this counter), so its DataLoaders batch by round.
    pub fn rounds(&self) -> Arc<RoundCounter> {
        self.rounds.clone()
    }

    /// A pooled connection within the request's [`MAX_REQUEST_CONNECTIONS`] (it waits for
    /// its turn).
    pub fn conn(&self) -> impl Future<Output = Result<RequestConn, async_graphql::Error>> + Send + use<> {
        let (pool, connections) = (self.pool.clone(), self.connections.clone());
        let request_id = self.request_id.clone();
        async move {
            let permit = connections.acquire_owned().await.map_err(|_| {
                AppError::Internal(anyhow::anyhow!("request connections closed")).into_graphql(Some(&request_id))
            })?;
            let conn = pool
                .get()
                .await
                .map_err(|e| AppError::from(e).into_graphql(Some(&request_id)))?;
            Ok(RequestConn { conn, _permit: permit })
        }
    }

    /// A pooled connection outside the request's cap, for the write path (a mutation runs
    /// alone, and holds it for its transaction).
    pub async fn write_conn(&self) -> Result<PooledConn, async_graphql::Error> {
        self.pool
            .get()
            .await
            .map_err(|e| AppError::from(e).into_graphql(Some(&self.request_id)))
    }

    /// Where uploaded files are kept.
    pub fn files(&self) -> &FileStore {
        &self.files
    }

    /// Model answers being generated and followed.
    pub fn generations(&self) -> &Generations {
        &self.generations
    }

    /// The id of this request (also in the `x-request-id` response header).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Who is asking; None when anonymous.
    pub fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// The caller's read scope (the rights themselves are checked in each read statement, so
    /// a mutation that changes them is seen by the reads of its own payload).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The caller's grant of `permission` in `place`, for reading what needs more than
    /// visibility (credentials): the check writes make, not counted as a write.
    pub async fn permitted(
        &self,
        conn: &mut AsyncPgConnection,
        place: Place,
        permission: Permission,
    ) -> Result<Grant, AppError> {
        grant::authorize(conn, self.caller(), &self.scope, place, permission).await
    }

    /// The caller's read scope, shared (for work that outlives the request's resolvers).
    pub fn shared_scope(&self) -> Arc<Scope> {
        self.scope.clone()
    }

    /// Who writes, for the write path (`services::write`).
    pub fn writer(&self) -> Writer {
        Writer {
            caller: self.caller.clone().map(Arc::new),
            scope: self.scope.clone(),
            client: self.client.clone(),
            request_id: self.request_id.clone(),
        }
    }

    /// Where the request comes from.
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// Token settings.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

/// Runs a DataLoader's fetch once the poll of the request that asked for its first key has
/// ended, so that it finds every key of that round (see [`super::rounds`]); a delay,
/// `CHATGRAPH_LOADER_DELAY_MS`, is still an option on top.
fn spawn_after_round(rounds: &Arc<RoundCounter>, fetch: async_graphql::futures_util::future::BoxFuture<'static, ()>) {
    let (rounds, round) = (rounds.clone(), rounds.current());
    tokio::spawn(async move {
        rounds.after(round).await;
        fetch.await;
    });
}

/// Shortcuts for resolvers.
pub trait ContextExt {
    /// This request's context.
    fn request(&self) -> &RequestContext;

    /// This request's DataLoader.
    fn loader(&self) -> &DataLoader<DbLoader> {
        &self.request().loader
    }

    /// A pooled connection, for queries that no loader batches, within the request's
    /// [`MAX_REQUEST_CONNECTIONS`] (it waits for its turn).
    fn conn(&self) -> impl Future<Output = Result<RequestConn, async_graphql::Error>> + Send {
        self.request().conn()
    }

    /// The caller, or UNAUTHENTICATED.
    fn caller(&self) -> Result<&Caller, async_graphql::Error> {
        self.request()
            .caller()
            .ok_or_else(|| self.error(AppError::Unauthenticated))
    }

    /// Converts an application error into a GraphQL error carrying this request's id.
    fn error(&self, error: impl Into<AppError>) -> async_graphql::Error {
        error.into().into_graphql(Some(self.request().request_id()))
    }
}

impl ContextExt for Context<'_> {
    fn request(&self) -> &RequestContext {
        self.data_unchecked::<RequestContext>()
    }
}
