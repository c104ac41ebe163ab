//! Usage and cost: the `UsageEvent` records, their filter, and usage summaries (totals, or
//! groups by day, model, provider or operation) for organizations, projects, users and chats.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    context::ContextExt,
    loaders::{UsageOf, load},
    node::{global_id, optional_argument_id},
    scalars::{BigInt, Decimal},
};
use crate::{
    db::enums::{Outcome, UsageOperation},
    error::AppResult,
    models::{
        filters::UsageConditions,
        page::Filter,
        summary::{UsageBucket, UsageGrouping, UsageOwner},
        usage_event::UsageEventRow,
    },
};

/// Which usage records to list or summarize. All conditions must hold.
#[derive(InputObject, Default)]
pub struct UsageFilter {
    /// Only records requested at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only records requested before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only this kind of operation.
    pub operation: Option<UsageOperation>,
    /// Only this model.
    pub model: Option<String>,
    /// Only this provider.
    pub provider: Option<String>,
    /// Only records of this user.
    pub user_id: Option<ID>,
}

impl UsageFilter {
    /// The conditions of this filter.
    pub fn conditions(self) -> AppResult<Filter> {
        Ok(UsageConditions {
            from: self.from,
            to: self.to,
            operation: self.operation,
            model: self.model,
            provider: self.provider,
            user_id: optional_argument_id(self.user_id.as_ref(), "User", "filter.userId")?,
        }
        .into())
    }
}

/// One model call, embedding batch or tool call, with its tokens and cost.
pub struct UsageEvent(pub UsageEventRow);

/// One model call, embedding batch or tool call, with its tokens and cost.
#[Object]
impl UsageEvent {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("UsageEvent", self.0.id)
    }

    /// What kind of operation.
    async fn operation(&self) -> UsageOperation {
        self.0.operation
    }

    /// Provider called.
    async fn provider(&self) -> &str {
        &self.0.provider
    }

    /// Model called.
    async fn model(&self) -> &str {
        &self.0.model
    }

    /// Tokens read.
    async fn input_tokens(&self) -> BigInt {
        BigInt(self.0.input_tokens)
    }

    /// Tokens written.
    async fn output_tokens(&self) -> BigInt {
        BigInt(self.0.output_tokens)
    }

    /// Input tokens served from the provider's cache.
    async fn cached_input_tokens(&self) -> BigInt {
        BigInt(self.0.cached_input_tokens)
    }

    /// Input plus output tokens.
    async fn total_tokens(&self) -> BigInt {
        BigInt(self.0.total_tokens)
    }

    /// Cost in US dollars (exact decimal).
    async fn total_cost(&self) -> Decimal {
        Decimal(self.0.total_cost.clone())
    }

    /// Whether the call succeeded.
    async fn status(&self) -> Outcome {
        self.0.status
    }

    /// When it was requested.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }

    /// How long it took, in milliseconds.
    async fn duration_ms(&self) -> Option<i32> {
        self.0.duration_ms
    }
}

/// How to split a usage summary.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum UsageGroupBy {
    /// By calendar day in UTC (keys like `2026-11-22`).
    Day,
    /// By model name.
    Model,
    /// By provider name.
    Provider,
    /// By operation (`CHAT`, `EMBEDDING`, ... in lower case).
    Operation,
}

impl From<UsageGroupBy> for UsageGrouping {
    fn from(value: UsageGroupBy) -> Self {
        match value {
            UsageGroupBy::Day => UsageGrouping::Day,
            UsageGroupBy::Model => UsageGrouping::Model,
            UsageGroupBy::Provider => UsageGrouping::Provider,
            UsageGroupBy::Operation => UsageGrouping::Operation,
        }
    }
}

/// Requests, tokens and cost of a set of usage records.
#[derive(SimpleObject, Default)]
pub struct UsageTotals {
    /// Number of operations.
    pub requests: BigInt,
    /// Tokens read.
    pub input_tokens: BigInt,
    /// Tokens written.
    pub output_tokens: BigInt,
    /// Input plus output tokens.
    pub total_tokens: BigInt,
    /// Cost in US dollars (exact decimal).
    pub cost: Decimal,
}

impl From<&UsageBucket> for UsageTotals {
    fn from(bucket: &UsageBucket) -> Self {
        UsageTotals {
            requests: BigInt(bucket.requests),
            input_tokens: BigInt(bucket.input_tokens),
            output_tokens: BigInt(bucket.output_tokens),
            total_tokens: BigInt(bucket.total_tokens),
            cost: Decimal(bucket.cost.clone()),
        }
    }
}

/// The usage of one group (one day, model, provider or operation).
#[derive(SimpleObject)]
pub struct UsageGroup {
    /// The day (`YYYY-MM-DD`), model, provider or operation.
    pub key: String,
    /// Its sums.
    pub totals: UsageTotals,
}

/// Usage over a time range: the totals, and the groups when asked for (ordered by key).
#[derive(SimpleObject)]
pub struct UsageSummary {
    /// Sums over every record that matched.
    pub totals: UsageTotals,
    /// Sums per group (empty unless `groupBy` was given).
    pub groups: Vec<UsageGroup>,
}

/// Resolves a `usageSummary` field: one batched statement for all parents of a level.
pub async fn summary(
    ctx: &Context<'_>,
    owner: UsageOwner,
    parent: Uuid,
    filter: Option<UsageFilter>,
    group_by: Option<UsageGroupBy>,
) -> Result<UsageSummary> {
    let filter = filter.unwrap_or_default().conditions().map_err(|e| ctx.error(e))?;
    let key = UsageOf {
        owner,
        parent,
        grouping: group_by.map(Into::into),
        filter,
    };
    let buckets = load(ctx, key).await?.unwrap_or_default();
    let mut totals = UsageTotals::default();
    for bucket in &buckets {
        totals.requests.0 += bucket.requests;
        totals.input_tokens.0 += bucket.input_tokens;
        totals.output_tokens.0 += bucket.output_tokens;
        totals.total_tokens.0 += bucket.total_tokens;
        totals.cost.0 += &bucket.cost;
    }
    let groups = match group_by {
        None => Vec::new(),
        Some(_) => buckets
            .iter()
            .map(|bucket| UsageGroup {
                key: bucket.key.clone().unwrap_or_default(),
                totals: bucket.into(),
            })
            .collect(),
    };
    Ok(UsageSummary { totals, groups })
}
