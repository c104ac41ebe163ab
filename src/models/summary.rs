//! Aggregates over many parents in one statement: usage summaries (requests, tokens, cost)
//! grouped by day, model, provider or operation, and feedback counts per message or
//! assistant. Like the lists, each query filters by what the caller may see in SQL.

use crate::db::cached::cached;
use bigdecimal::BigDecimal;
use diesel::{
    QueryResult, QueryableByName,
    sql_types::{Array, BigInt, Bool, Nullable, Numeric, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::page::Filter;
use crate::auth::authz::{Scope, permits_organization, permits_project, sees_chat};

/// Whose usage a summary covers, and who may read it: `usage.read` in the organization or
/// project, the user themselves, or whoever may read the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageOwner {
    /// An organization's usage.
    Organization,
    /// A project's usage.
    Project,
    /// A user's own usage.
    User,
    /// A chat's usage.
    Chat,
}

impl UsageOwner {
    fn column(self) -> &'static str {
        match self {
            UsageOwner::Organization => "organization_id",
            UsageOwner::Project => "project_id",
            UsageOwner::User => "user_id",
            UsageOwner::Chat => "chat_id",
        }
    }

    /// Who may read the usage of the parent `p.id`, over the caller's parameters `$3`..`$5`.
    fn condition(self) -> &'static str {
        match self {
            UsageOwner::Organization => permits_organization!("p.id", "usage.read"),
            UsageOwner::Project => permits_project!("p.id", "usage.read"),
            // A token narrowed to an organization (`$5`) reads the user's usage there only.
            UsageOwner::User => "$3 OR (p.id = $4 AND ($5::uuid IS NULL OR c.organization_id = $5))",
            UsageOwner::Chat => concat!(
                "EXISTS (SELECT 1 FROM chats ch WHERE ch.id = p.id AND ",
                sees_chat!("ch"),
                ")"
            ),
        }
    }
}

/// How a usage summary is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageGrouping {
    /// By calendar day (UTC), as `YYYY-MM-DD`.
    Day,
    /// By model name.
    Model,
    /// By provider name.
    Provider,
    /// By kind of operation.
    Operation,
}

impl UsageGrouping {
    fn sql(grouping: Option<Self>) -> &'static str {
        match grouping {
            None => "NULL::text",
            Some(UsageGrouping::Day) => "to_char(c.requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            Some(UsageGrouping::Model) => "c.model",
            Some(UsageGrouping::Provider) => "c.provider",
            Some(UsageGrouping::Operation) => "c.operation",
        }
    }
}

/// Sums over the usage records of one parent (and one group, when grouped).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct UsageBucket {
    /// The parent (organization, project, user or chat).
    #[diesel(sql_type = SqlUuid)]
    pub parent: Uuid,
    /// The group's key; None when not grouped.
    #[diesel(sql_type = Nullable<Text>)]
    pub key: Option<String>,
    /// Number of records.
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    /// Sum of input tokens.
    #[diesel(sql_type = BigInt)]
    pub input_tokens: i64,
    /// Sum of output tokens.
    #[diesel(sql_type = BigInt)]
    pub output_tokens: i64,
    /// Sum of total tokens.
    #[diesel(sql_type = BigInt)]
    pub total_tokens: i64,
    /// Sum of total cost.
    #[diesel(sql_type = Numeric)]
    pub cost: BigDecimal,
}

/// The usage of every parent in `parents`, as `scope` may read it and `filter` narrows it,
/// in one statement; ordered by parent and key. A parent without records has no bucket.
pub async fn usage(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    owner: UsageOwner,
    parents: &[Uuid],
    grouping: Option<UsageGrouping>,
    filter: &Filter,
) -> QueryResult<Vec<UsageBucket>> {
    let sql = format!(
        "SELECT c.{column} AS parent, {key} AS key, count(*) AS requests, \
           coalesce(sum(c.input_tokens), 0)::bigint AS input_tokens, \
           coalesce(sum(c.output_tokens), 0)::bigint AS output_tokens, \
           coalesce(sum(c.total_tokens), 0)::bigint AS total_tokens, \
           coalesce(sum(c.total_cost), 0) AS cost \
         FROM unnest($1::uuid[]) AS p(id) JOIN usage_events c ON c.{column} = p.id \
         WHERE ({condition}) AND {filter} \
         GROUP BY 1, 2 ORDER BY 1, 2",
        column = owner.column(),
        key = UsageGrouping::sql(grouping),
        condition = owner.condition(),
        filter = filter.sql(6),
    );
    // `$2` is not used: the caller's parameters are `$3`..`$5` in every read statement.
    let query = cached(sql)
        .bind::<Array<SqlUuid>, _>(parents.to_vec())
        .bind::<Nullable<Bool>, _>(None::<bool>);
    filter.bind(scope.bind(query)).load(conn).await
}

/// Votes and ratings on one message, or on every message of an assistant's chats.
#[derive(Debug, Clone, Default, PartialEq, QueryableByName)]
pub struct FeedbackCounts {
    /// The message or assistant.
    #[diesel(sql_type = SqlUuid)]
    pub parent: Uuid,
    /// Thumbs up.
    #[diesel(sql_type = BigInt)]
    pub upvotes: i64,
    /// Thumbs down.
    #[diesel(sql_type = BigInt)]
    pub downvotes: i64,
    /// Ratings given.
    #[diesel(sql_type = BigInt)]
    pub ratings: i64,
    /// Average rating (1 to 5), when any was given.
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub average_rating: Option<f64>,
    /// Comments left.
    #[diesel(sql_type = BigInt)]
    pub comments: i64,
}

/// What feedback counts are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedbackOwner {
    /// One message.
    Message,
    /// Every message in chats with an assistant.
    Assistant,
}

/// Feedback counts of every parent in `parents`, over the chats `scope` may read, in one
/// statement. A parent without feedback has no row.
pub async fn feedback(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    owner: FeedbackOwner,
    parents: &[Uuid],
) -> QueryResult<Vec<FeedbackCounts>> {
    let parent = match owner {
        FeedbackOwner::Message => "f.message_id",
        FeedbackOwner::Assistant => "ch.assistant_id",
    };
    let sql = format!(
        "SELECT {parent} AS parent, \
           count(*) FILTER (WHERE f.is_upvoted) AS upvotes, \
           count(*) FILTER (WHERE NOT f.is_upvoted) AS downvotes, \
           count(f.rating) AS ratings, avg(f.rating)::float8 AS average_rating, \
           count(f.comment) FILTER (WHERE f.comment <> '') AS comments \
         FROM message_feedback f JOIN chats ch ON ch.id = f.chat_id \
         WHERE {parent} = ANY($1) AND {visible} \
         GROUP BY 1",
        visible = sees_chat!("ch"),
    );
    // `$2` is not used: the caller's parameters are `$3`..`$5` in every read statement.
    let query = cached(sql)
        .bind::<Array<SqlUuid>, _>(parents.to_vec())
        .bind::<Nullable<Bool>, _>(None::<bool>);
    scope.bind(query).load(conn).await
}
