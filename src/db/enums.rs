//! Rust enums for every closed set in the schema. Each is stored as `text` guarded by a
//! `CHECK` constraint, maps to that column through Diesel, and is a GraphQL enum
//! (SCREAMING_CASE values). [`CHECKED_COLUMNS`] lists which column each enum guards, and a
//! test compares it with the database's constraints.

use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    serialize::{self, Output, ToSql},
    sql_types::Text,
};

/// A text that is not one of an enum's values.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} value {value:?}")]
pub struct UnknownValue {
    kind: &'static str,
    value: String,
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow, async_graphql::Enum)]
        #[diesel(sql_type = Text)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stored text.
            pub const VALUES: &'static [&'static str] = &[$($text),+];

            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue { kind: stringify!($name), value: other.to_owned() }),
                }
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                Ok(text.parse()?)
            }
        }
    };
}

text_enum! {
    /// Whether a user account may be used.
    UserStatus { /// May sign in.
        Active = "active", /// Blocked by an administrator.
        Suspended = "suspended", /// Closed by its owner.
        Deleted = "deleted" }
}
text_enum! {
    /// The billing plan of an organization.
    OrganizationPlan { /// No charge, smallest limits.
        Free = "free", /// Paid plan for teams.
        Pro = "pro", /// Contracted plan.
        Enterprise = "enterprise" }
}
text_enum! {
    /// Whether an organization may be used.
    OrganizationStatus { /// In use.
        Active = "active", /// Blocked by a platform administrator.
        Suspended = "suspended", /// Closed.
        Deleted = "deleted" }
}
text_enum! {
    /// Where a role applies.
    RoleScope { /// Across the whole platform.
        Platform = "platform", /// Inside one organization.
        Organization = "organization", /// Inside one project.
        Project = "project" }
}
text_enum! {
    /// What service a stored credential is for.
    CredentialType { /// OpenAI API key.
        Openai = "openai", /// Anthropic API key.
        Anthropic = "anthropic", /// Google API key or service account.
        Google = "google", /// Azure OpenAI endpoint and key.
        AzureOpenai = "azure_openai", /// GitHub token.
        Github = "github", /// Anything else.
        Custom = "custom" }
}
text_enum! {
    /// The life-cycle state of a project.
    ProjectStatus { /// In use.
        Active = "active", /// Read-only, hidden from default lists.
        Archived = "archived", /// Deleted (kept until purged).
        Deleted = "deleted" }
}
text_enum! {
    /// How often a project quota resets.
    QuotaPeriod { /// Every day at midnight UTC.
        Daily = "daily", /// Every Monday.
        Weekly = "weekly", /// On the first of each month.
        Monthly = "monthly", /// On the first of January.
        Yearly = "yearly" }
}
text_enum! {
    /// The window of a per-user rate limit.
    RateLimitWindow { /// One hour.
        Hourly = "hourly", /// One day.
        Daily = "daily" }
}
text_enum! {
    /// Who may read a chat.
    ChatVisibility { /// Its owner only.
        Private = "private", /// Members of its project.
        Project = "project", /// Anyone, signed in or not (read-only).
        Public = "public" }
}
text_enum! {
    /// Who wrote a message.
    MessageRole { /// Instructions that frame the conversation.
        System = "system", /// A person.
        User = "user", /// The model.
        Assistant = "assistant", /// A tool call result.
        Tool = "tool" }
}
text_enum! {
    /// Whether a message is finished.
    MessageStatus { /// Finished.
        Complete = "complete", /// Its text is still arriving.
        Streaming = "streaming", /// Generation failed.
        Failed = "failed", /// Generation was stopped.
        Cancelled = "cancelled" }
}
text_enum! {
    /// The state of one generation stream.
    StreamStatus { /// Events are still being produced.
        Active = "active", /// Completed normally.
        Finished = "finished", /// Ended with an error.
        Failed = "failed", /// Stopped on request.
        Cancelled = "cancelled" }
}
text_enum! {
    /// What an artifact contains.
    ArtifactKind { /// Prose.
        Text = "text", /// Source code.
        Code = "code", /// An image.
        Image = "image", /// A spreadsheet.
        Sheet = "sheet" }
}
text_enum! {
    /// Where a connected code repository is hosted.
    RepositoryProvider { /// GitHub.
        Github = "github" }
}
text_enum! {
    /// Where a datasource's documents come from.
    DatasourceKind { /// Entered by hand.
        Manual = "manual", /// Crawled web pages.
        Web = "web", /// An HTTP API.
        Api = "api", /// Notion.
        Notion = "notion", /// Slack.
        Slack = "slack", /// GitHub.
        Github = "github", /// Uploaded files.
        File = "file" }
}
text_enum! {
    /// The synchronisation state of a datasource.
    DatasourceStatus { /// Waiting for the next sync.
        Idle = "idle", /// Syncing now.
        Syncing = "syncing", /// The last sync failed.
        Failed = "failed", /// Switched off.
        Disabled = "disabled" }
}
text_enum! {
    /// Whether a document is searchable.
    DocumentStatus { /// Waiting to be chunked and embedded.
        Pending = "pending", /// Being chunked and embedded.
        Processing = "processing", /// Chunked and embedded.
        Indexed = "indexed", /// Indexing failed.
        Failed = "failed" }
}
text_enum! {
    /// Where a document's text comes from.
    DocumentOrigin { /// Given as text.
        Text = "text", /// Read from an uploaded file.
        File = "file", /// Fetched from a URL.
        Url = "url" }
}
text_enum! {
    /// What a usage event paid for.
    UsageOperation { /// A chat answer.
        Chat = "chat", /// Embeddings.
        Embedding = "embedding", /// Choosing a model or agent.
        Routing = "routing", /// Generating an artifact.
        Artifact = "artifact", /// A tool call.
        Tool = "tool" }
}
text_enum! {
    /// Whether a recorded operation succeeded.
    Outcome { /// It succeeded.
        Success = "success", /// It failed.
        Failed = "failed" }
}
text_enum! {
    /// The state of a background job.
    JobStatus { /// Waiting to run.
        Queued = "queued", /// Taken by a worker.
        Running = "running", /// Done.
        Succeeded = "succeeded", /// Gave up after its last attempt.
        Failed = "failed", /// Cancelled before it finished.
        Cancelled = "cancelled" }
}

text_enum! {
    /// What a mailed token is for.
    EmailTokenPurpose { /// Confirming the address it was sent to.
        ConfirmEmail = "confirm_email", /// Choosing a new password.
        ResetPassword = "reset_password" }
}

text_enum! {
    /// Where a webhook delivery stands.
    DeliveryStatus { /// Not delivered yet (queued, or failed and to be tried again).
        Pending = "pending", /// The receiver answered 2xx.
        Delivered = "delivered", /// Given up: out of attempts, refused, or the subscription is gone or paused.
        Failed = "failed" }
}

/// Which (table, column) each enum guards, for the test that compares them with the
/// database's CHECK constraints.
pub const CHECKED_COLUMNS: &[(&str, &str, &[&str])] = &[
    ("users", "status", UserStatus::VALUES),
    ("organizations", "plan", OrganizationPlan::VALUES),
    ("organizations", "status", OrganizationStatus::VALUES),
    ("roles", "scope", RoleScope::VALUES),
    ("credentials", "credential_type", CredentialType::VALUES),
    ("projects", "status", ProjectStatus::VALUES),
    ("project_quotas", "period", QuotaPeriod::VALUES),
    ("rate_limit_counters", "window_kind", RateLimitWindow::VALUES),
    ("chats", "visibility", ChatVisibility::VALUES),
    ("messages", "role", MessageRole::VALUES),
    ("messages", "status", MessageStatus::VALUES),
    ("message_streams", "status", StreamStatus::VALUES),
    ("artifacts", "kind", ArtifactKind::VALUES),
    ("repositories", "provider", RepositoryProvider::VALUES),
    ("datasources", "kind", DatasourceKind::VALUES),
    ("datasources", "status", DatasourceStatus::VALUES),
    ("documents", "status", DocumentStatus::VALUES),
    ("documents", "origin", DocumentOrigin::VALUES),
    ("usage_events", "operation", UsageOperation::VALUES),
    ("usage_events", "status", Outcome::VALUES),
    ("audit_logs", "status", Outcome::VALUES),
    ("jobs", "status", JobStatus::VALUES),
    ("email_tokens", "purpose", EmailTokenPurpose::VALUES),
    ("webhook_deliveries", "status", DeliveryStatus::VALUES),
];
