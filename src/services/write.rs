//! The one path every write takes ([`run`]): count the caller's write against their rate
//! limits, open a transaction, run the body (authorize, validate, change, record the audit
//! row), commit, and record a failure in the audit trail after the rollback.
//!
//! The body gets a [`Tx`]: the connection inside the transaction, who writes and from
//! where, and the [`Action`] being audited. Services change data only through a `Tx`, and an
//! audit row made from it names the action the failure record would name.

use std::{future::Future, pin::Pin, sync::Arc};

use diesel_async::{AsyncConnection, AsyncPgConnection, TransactionManager};
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::{Action, AuditEvent},
    quotas, rate_limits,
};
use crate::{
    auth::{
        authz::Scope,
        caller::{Caller, ClientInfo},
        grant::{self, Grant, Granted, Permission, Place, Placed},
    },
    db::PooledConn,
    error::{AppError, AppResult, FieldError},
};

/// Who writes: the caller (None when anonymous), their read scope, and where they are.
#[derive(Clone)]
pub struct Writer {
    /// The signed-in caller.
    pub caller: Option<Arc<Caller>>,
    /// Their read scope.
    pub scope: Arc<Scope>,
    /// Where the request comes from.
    pub client: ClientInfo,
    /// The request id, for logs.
    pub request_id: String,
}

type AfterCommit = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A write in progress, inside its transaction.
pub struct Tx {
    conn: PooledConn,
    writer: Writer,
    action: Action,
    after_commit: Vec<AfterCommit>,
}

impl Tx {
    /// The connection, inside the write's transaction.
    pub fn conn(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }

    /// The signed-in caller, or UNAUTHENTICATED.
    pub fn caller(&self) -> AppResult<Arc<Caller>> {
        self.writer.caller.clone().ok_or(AppError::Unauthenticated)
    }

    /// The signed-in caller acting on their own account, outside any organization (creating
    /// an organization, connecting a repository). An API token narrowed to an organization
    /// acts only inside it: FORBIDDEN.
    pub fn account_holder(&self) -> AppResult<Arc<Caller>> {
        let caller = self.caller()?;
        if caller.narrowed_to.is_some() {
            return Err(AppError::Forbidden);
        }
        Ok(caller)
    }

    /// The caller's read scope.
    pub fn scope(&self) -> Arc<Scope> {
        self.writer.scope.clone()
    }

    /// The action being written.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The caller's grant of `permission` in `place` (for creating something there).
    pub async fn grant(&mut self, place: Place, permission: Permission) -> AppResult<Grant> {
        let writer = &self.writer;
        grant::authorize(
            &mut self.conn,
            writer.caller.as_deref(),
            &writer.scope,
            place,
            permission,
        )
        .await
    }

    /// The caller, checked to hold the platform-wide `permission` (platform roles only).
    pub async fn platform(&mut self, permission: Permission) -> AppResult<Caller> {
        grant::authorize_platform(&mut self.conn, self.writer.caller.as_deref(), permission).await
    }

    /// Row `id` of type `R` with the caller's grant of `permission` on that row's own place.
    pub async fn granted<R: Placed>(&mut self, id: Uuid, permission: Permission) -> AppResult<Granted<R>> {
        let writer = &self.writer;
        grant::authorize_row(&mut self.conn, writer.caller.as_deref(), &writer.scope, id, permission).await
    }

    /// Like [`Self::granted`] for a row named by input field `field`: a row the caller
    /// cannot see is a user error on that field (`NOT_FOUND`), not a failed request.
    pub async fn granted_input<R: Placed>(
        &mut self,
        id: Uuid,
        permission: Permission,
        field: &str,
    ) -> AppResult<Granted<R>> {
        match self.granted(id, permission).await {
            Err(AppError::NotFound(what)) => {
                Err(FieldError::input(field, "NOT_FOUND", format!("{field} is not a {what} you can see")).into())
            }
            other => other,
        }
    }

    /// An audit event of this write's action by the caller in the place of `grant`.
    pub fn audit(&self, grant: &Grant) -> AuditEvent {
        self.event().within(Some(grant.organization_id()), grant.project_id())
    }

    /// An audit event of this write's action, by the caller when signed in.
    pub fn event(&self) -> AuditEvent {
        let event = AuditEvent::new(self.action);
        match &self.writer.caller {
            Some(caller) => event.by(caller),
            None => event,
        }
    }

    /// Writes `event` in this transaction (with where the request came from).
    pub async fn record(&mut self, event: AuditEvent) -> AppResult<()> {
        event.record(&mut self.conn, &self.writer.client).await?;
        Ok(())
    }

    /// Runs `work` once the transaction has committed (never if it rolls back): for effects
    /// outside the database that must not happen unless the change stands, such as deleting
    /// a file's bytes.
    pub fn after_commit(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        self.after_commit.push(Box::pin(work));
    }
}

/// Runs `body` as the write `action` by `writer` on `conn`: the caller's `writes` limit and
/// the action's own limit are counted first (outside the transaction, so refused and failed
/// attempts count too), then the body runs in one transaction that commits when it returns
/// `Ok`. A failure of a signed-in caller is recorded after the rollback with its codes;
/// anonymous failures are not recorded, so the trail cannot be flooded without an account.
pub async fn run<T, F>(conn: PooledConn, writer: Writer, action: Action, body: F) -> AppResult<T>
where
    F: for<'t> AsyncFnOnce(&'t mut Tx) -> AppResult<T> + for<'t> Body<&'t mut Tx, AppResult<T>, Fut: Send>,
    T: Send,
{
    let mut tx = Tx {
        conn,
        writer,
        action,
        after_commit: Vec::new(),
    };
    let result = attempt(&mut tx, body).await;
    match result {
        Ok(value) => {
            for work in tx.after_commit.drain(..) {
                work.await;
            }
            Ok(value)
        }
        Err(error) => {
            record_failure(&mut tx, &error).await;
            if let AppError::QuotaExceeded {
                project_id,
                resource,
                resets_at,
            } = &error
                && let Err(failed) = quotas::announce_exceeded(&mut tx.conn, *project_id, resource, *resets_at).await
            {
                tracing::warn!(request.id = tx.writer.request_id, error = ?failed, "announcing an exceeded quota");
            }
            Err(error)
        }
    }
}

async fn attempt<T, F>(tx: &mut Tx, body: F) -> AppResult<T>
where
    F: for<'t> AsyncFnOnce(&'t mut Tx) -> AppResult<T> + for<'t> Body<&'t mut Tx, AppResult<T>, Fut: Send>,
    T: Send,
{
    if let Some(caller) = tx.writer.caller.clone() {
        let scopes = match tx.action.rate_scope() {
            Some(scope) => vec![rate_limits::WRITES, scope],
            None => vec![rate_limits::WRITES],
        };
        rate_limits::check(&mut tx.conn, caller.user.id, &scopes).await?;
    }
    type Manager = <AsyncPgConnection as AsyncConnection>::TransactionManager;
    Manager::begin_transaction(&mut *tx.conn).await?;
    let result = body(tx).await;
    match result {
        Ok(value) => match Manager::commit_transaction(&mut *tx.conn).await {
            Ok(()) => Ok(value),
            Err(error) => {
                // A failed commit leaves the transaction to roll back (diesel-async's rule).
                let _ = Manager::rollback_transaction(&mut *tx.conn).await;
                Err(error.into())
            }
        },
        Err(error) => {
            // The caller hears why the write failed; a failed rollback only breaks the
            // connection (the pool then drops it), so it is logged, not returned.
            if let Err(rollback) = Manager::rollback_transaction(&mut *tx.conn).await {
                tracing::error!(request.id = tx.writer.request_id, error = %rollback, "rolling back a failed write");
            }
            Err(error)
        }
    }
}

/// Records a failed write of a signed-in caller with its codes (its own statement: the
/// change was rolled back). A failure to record is logged, not added to the caller's error.
async fn record_failure(tx: &mut Tx, error: &AppError) {
    let Some(caller) = tx.writer.caller.clone() else { return };
    let codes: Vec<&str> = match error {
        AppError::Invalid(errors) => errors.iter().map(|e| e.code).collect(),
        other => vec![other.code()],
    };
    let event = AuditEvent::new(tx.action)
        .by(&caller)
        .details(json!({ "codes": codes, "requestId": tx.writer.request_id }))
        .failed(&codes.join(","));
    if let Err(error) = event.record(&mut tx.conn, &tx.writer.client).await {
        tracing::warn!(request.id = tx.writer.request_id, audit.action = %tx.action, error = %error, "recording a failed write");
    }
}

/// An async closure whose future can be named, so that [`run`] can require it to be `Send`
/// (the same device as diesel-async's transaction callbacks; nothing to implement by hand).
pub trait Body<T, R>: AsyncFnOnce(T) -> R + FnOnce(T) -> <Self as Body<T, R>>::Fut {
    /// The closure's future.
    type Fut: Future<Output = R>;
}

impl<F, T, Fut, R> Body<T, R> for F
where
    F: AsyncFnOnce(T) -> R + FnOnce(T) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

/// Recording an audit event inside a write's transaction.
pub trait RecordIn {
    /// Writes the event in `tx`'s transaction.
    fn record_in(self, tx: &mut Tx) -> impl Future<Output = AppResult<()>> + Send;
}

impl RecordIn for AuditEvent {
    async fn record_in(self, tx: &mut Tx) -> AppResult<()> {
        tx.record(self).await
    }
}
