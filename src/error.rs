//! The one error type of the service and how it reaches clients.
//!
//! Use [`AppError`] everywhere below the GraphQL layer (models return `diesel::QueryResult`,
//! services and resolvers return `AppResult`). Each variant maps to a stable
//! `extensions.code` (api.md). Internal errors are logged once, with the request id, and
//! reach the client only as "internal error" plus that id: never SQL or stack details.

use async_graphql::ErrorExtensions;

/// Result alias for everything that can fail with an [`AppError`].
pub type AppResult<T> = Result<T, AppError>;

/// Every way a request can fail, as the client sees it.
///
/// It has no `Display` on purpose: async-graphql turns anything displayable into an error
/// with `?`, which would drop the code and show an internal error's text. The one conversion
/// is [`From<AppError> for async_graphql::Error`](#impl-From<AppError>-for-Error), which goes
/// through [`AppError::into_graphql`] with the request's id.
#[derive(Debug)]
pub enum AppError {
    /// No such object, or the caller may not see it (the two are never told apart).
    NotFound(&'static str),
    /// The input is malformed or out of range.
    BadUserInput(String),
    /// Validation or business-rule failures tied to input fields. Mutations return them as
    /// `userErrors` in their payload; elsewhere they are BAD_USER_INPUT.
    Invalid(Vec<FieldError>),
    /// The request needs a signed-in caller.
    Unauthenticated,
    /// The caller may see the object but not do this to it.
    Forbidden,
    /// The place is read-only (FORBIDDEN): an archived project, a suspended organization.
    ReadOnly(&'static str),
    /// Too many attempts; the client may try again after this many seconds.
    RateLimited {
        /// Seconds until the limit lifts.
        retry_after_secs: i64,
    },
    /// A project's quota would be exceeded; it resets at `resets_at`.
    QuotaExceeded {
        /// The project whose quota refused.
        project_id: uuid::Uuid,
        /// Which limit: `requests`, `tokens` or `storage`.
        resource: &'static str,
        /// When usage resets.
        resets_at: chrono::DateTime<chrono::Utc>,
    },
    /// An outside service the request needs (a model or embedding provider) failed; the
    /// message says which and why, never with a key or the provider's own text.
    Unavailable(String),
    /// Anything else: a bug or an infrastructure failure. Never shown to clients.
    Internal(anyhow::Error),
}

impl AppError {
    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadUserInput(_) | AppError::Invalid(_) => "BAD_USER_INPUT",
            AppError::Unauthenticated => "UNAUTHENTICATED",
            AppError::Forbidden | AppError::ReadOnly(_) => "FORBIDDEN",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            AppError::Unavailable(_) => "UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// What the client reads (internal errors are never described).
    pub fn message(&self) -> String {
        match self {
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::BadUserInput(message) => message.clone(),
            AppError::Invalid(errors) => errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "),
            AppError::Unauthenticated => "authentication required".to_owned(),
            AppError::Forbidden => "not allowed".to_owned(),
            AppError::ReadOnly(why) => format!("not allowed: {why}, so it is read-only"),
            AppError::RateLimited { retry_after_secs } => {
                format!("too many attempts; try again in {retry_after_secs} seconds")
            }
            AppError::QuotaExceeded {
                resource, resets_at, ..
            } => {
                format!("the project's {resource} quota is used up until {resets_at}")
            }
            AppError::Unavailable(why) => why.clone(),
            AppError::Internal(_) => "internal error".to_owned(),
        }
    }

    /// Converts into a GraphQL error. Internal errors are logged here, once, and their text
    /// replaced by a neutral message carrying the request id.
    pub fn into_graphql(self, request_id: Option<&str>) -> async_graphql::Error {
        let code = self.code();
        let message = match &self {
            AppError::Internal(source) => {
                tracing::error!(request.id = request_id.unwrap_or("-"), error = ?source, "internal error");
                match request_id {
                    Some(id) => format!("internal error (request id {id})"),
                    None => "internal error".to_owned(),
                }
            }
            other => other.message(),
        };
        let retry_after = match &self {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let resets_at = match &self {
            AppError::QuotaExceeded { resets_at, .. } => Some(resets_at.to_rfc3339()),
            AppError::RateLimited { retry_after_secs } => {
                Some((chrono::Utc::now() + chrono::Duration::seconds(*retry_after_secs)).to_rfc3339())
            }
            _ => None,
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(at) = &resets_at {
                ext.set("resetAt", at.as_str());
            }
            if let Some(seconds) = retry_after {
                ext.set("retryAfter", seconds);
            }
            if let Some(id) = request_id {
                ext.set("requestId", id);
            }
        })
    }
}

/// One validation or business-rule failure: which input field, what is wrong (for people),
/// and a stable code (for programs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path to the input field, e.g. `["input", "email"]`.
    pub field: Vec<String>,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Stable, SCREAMING_CASE code such as `EMAIL_TAKEN`.
    pub code: &'static str,
}

impl FieldError {
    /// A failure of input field `name`.
    pub fn input(name: &str, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field: vec!["input".into(), name.into()],
            message: message.into(),
            code,
        }
    }

    /// A failure of the request as a whole (a mutation without input, such as
    /// `resendConfirmation`): an empty field path.
    pub fn request(code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field: Vec::new(),
            message: message.into(),
            code,
        }
    }
}

impl FieldError {
    /// `INVALID_LENGTH` on input field `name` unless `value` has 1 to `max` characters.
    pub fn check_length(name: &str, value: &str, max: usize) -> Option<FieldError> {
        let length = value.chars().count();
        (length == 0 || length > max)
            .then(|| FieldError::input(name, "INVALID_LENGTH", format!("{name} must be 1 to {max} characters")))
    }
}

/// A named constraint the database enforces, and the user error its violation stands for.
pub struct ConstraintRule {
    /// The constraint's (or unique index's) name.
    pub constraint: &'static str,
    /// The input field it is about.
    pub field: &'static str,
    /// The user error's code.
    pub code: &'static str,
    /// The user error's message.
    pub message: &'static str,
}

/// Turns the violation of one of `rules` into a user error on its field (a unique name taken
/// by a concurrent request, say); any other database error stays internal.
pub fn constraint_error(error: diesel::result::Error, rules: &[ConstraintRule]) -> AppError {
    if let diesel::result::Error::DatabaseError(_, info) = &error
        && let Some(rule) = rules.iter().find(|r| info.constraint_name() == Some(r.constraint))
    {
        return FieldError::input(rule.field, rule.code, rule.message).into();
    }
    error.into()
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        AppError::Internal(error)
    }
}

impl From<AppError> for anyhow::Error {
    /// For the command line: an internal error as it is, any other as its message.
    fn from(error: AppError) -> Self {
        match error {
            AppError::Internal(error) => error,
            other => anyhow::anyhow!(other.message()),
        }
    }
}

tokio::task_local! {
    /// The id of the request being executed, for errors converted with `?`.
    pub static REQUEST_ID: std::sync::Arc<str>;
}

impl From<AppError> for async_graphql::Error {
    /// `?` in a resolver: the error with its code and the request's id (see [`REQUEST_ID`]).
    fn from(error: AppError) -> Self {
        let id = REQUEST_ID.try_with(Clone::clone).ok();
        error.into_graphql(id.as_deref())
    }
}

impl From<FieldError> for AppError {
    fn from(error: FieldError) -> Self {
        AppError::Invalid(vec![error])
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<std::sync::Arc<anyhow::Error>> for AppError {
    /// A DataLoader failure (shared between the fields that awaited the same batch).
    fn from(error: std::sync::Arc<anyhow::Error>) -> Self {
        AppError::Internal(anyhow::anyhow!("{error:#}"))
    }
}
