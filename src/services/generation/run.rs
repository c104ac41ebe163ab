//! One generation: reading the model's stream into the [`Live`] cell, flushing the text to
//! the message row, and writing the end in one transaction (message, stream, chat totals,
//! usage event, quota, notices).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::futures_util::StreamExt;
use bigdecimal::BigDecimal;
use chrono::Utc;
use diesel::{
    ExpressionMethods, QueryDsl, QueryableByName,
    sql_types::{Integer, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use tokio::sync::watch;

use super::{Inner, Job, Live};
use crate::{
    db::{
        cached::cached,
        enums::{MessageStatus, Outcome, StreamStatus, UsageOperation},
        new_id,
        schema::{chats, message_streams, messages},
    },
    error::AppError,
    models::usage_event::NewUsageEvent,
    providers::{Chunk, CompletionRequest, PromptMessage, ProviderError, Role, TokenUsage, tokens},
    pubsub::{self, CHANNEL, ChatChange, Notice},
    services::{
        deliveries,
        quotas::{self, Usage},
    },
};

/// How a generation ended.
enum End {
    /// The model finished.
    Done {
        finish_reason: String,
        usage: Option<TokenUsage>,
    },
    /// Someone stopped it.
    Cancelled,
    /// The provider failed.
    Failed(ProviderError),
    /// Another process ended it (its lease had run out): nothing more to write.
    Taken,
}

/// Longest silence of a model before the lease is renewed anyway.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Runs `job` to its end (see the module header).
pub(super) async fn run(inner: Arc<Inner>, job: Job, live: Arc<Live>, mut stop: watch::Receiver<bool>) {
    let started = Instant::now();
    let requested_at = Utc::now();
    let model = job.model.backend.model(job.api_key.clone());
    let mut chunks = model.complete(job.request.clone());
    let mut tick = tokio::time::interval(inner.settings.flush_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut flushed, mut renewed) = (0, Instant::now());
    let mut first_token = None;
    let end = loop {
        tokio::select! {
            changed = stop.changed() => if changed.is_err() || *stop.borrow() {
                break End::Cancelled;
            },
            _ = tick.tick() => {
                let len = live.progress().len;
                if len != flushed || renewed.elapsed() >= HEARTBEAT {
                    match flush(&inner, &job, &live).await {
                        Ok(true) => (flushed, renewed) = (len, Instant::now()),
                        Ok(false) => break End::Taken,
                        Err(error) => tracing::warn!(error = ?error, message.id = %job.message_id, "cannot flush a stream"),
                    }
                }
            },
            chunk = chunks.next() => match chunk {
                Some(Ok(Chunk::Delta(text))) => {
                    first_token.get_or_insert_with(|| started.elapsed());
                    live.append(&text);
                }
                Some(Ok(Chunk::End { finish_reason, usage })) => break End::Done { finish_reason, usage },
                Some(Err(error)) => break End::Failed(error),
                None => break End::Failed(ProviderError::Protocol),
            },
        }
    };
    // Dropping the stream cancels the provider's request.
    drop(chunks);
    let timing = Timing {
        requested_at,
        duration: started.elapsed(),
        first_token,
    };
    let status = match finish(&inner, &job, &live, end, timing).await {
        Ok(status) => status,
        Err(error) => {
            // The lease runs out and a reaper marks the message interrupted, text kept.
            tracing::error!(error = ?error, message.id = %job.message_id, "cannot store the end of a generation");
            MessageStatus::Failed
        }
    };
    live.finish(status);
    inner.forget(job.message_id);
    if job.retitle
        && status == MessageStatus::Complete
        && let Err(error) = retitle(&inner, &job, &live.text()).await
    {
        tracing::warn!(error = ?error, chat.id = %job.chat_id, "cannot title a chat");
    }
}

#[derive(QueryableByName)]
struct Flushed {
    #[diesel(sql_type = SqlUuid)]
    #[allow(dead_code)]
    message_id: uuid::Uuid,
}

/// Writes the text so far and renews the lease; false when the message is no longer
/// streaming (another process ended it).
async fn flush(inner: &Inner, job: &Job, live: &Live) -> Result<bool, AppError> {
    let text = live.text();
    let mut conn = inner.pool.get().await?;
    let rows: Vec<Flushed> = cached(format!(
        "WITH m AS (UPDATE messages SET content = $2 WHERE id = $1 AND status = 'streaming' RETURNING id), \
         s AS (UPDATE message_streams SET last_seq = $3, updated_at = now() \
               WHERE message_id IN (SELECT id FROM m) RETURNING message_id) \
         SELECT message_id, pg_notify('{CHANNEL}', 's:' || message_id::text)::text AS notified FROM s"
    ))
    .bind::<SqlUuid, _>(job.message_id)
    .bind::<Text, _>(&text)
    .bind::<Integer, _>(seq(text.len()))
    .load(&mut conn)
    .await?;
    Ok(!rows.is_empty())
}

/// A sequence number (a byte length) as stored.
fn seq(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

struct Timing {
    requested_at: chrono::DateTime<Utc>,
    duration: Duration,
    first_token: Option<Duration>,
}

/// Writes the end of a generation in one transaction; the status it ended with.
async fn finish(inner: &Inner, job: &Job, live: &Live, end: End, timing: Timing) -> Result<MessageStatus, AppError> {
    let text = live.text();
    let (status, stream_status, finish_reason, error, reported) = match end {
        End::Done { finish_reason, usage } => (
            MessageStatus::Complete,
            StreamStatus::Finished,
            finish_reason,
            None,
            usage,
        ),
        End::Cancelled => (
            MessageStatus::Cancelled,
            StreamStatus::Cancelled,
            "cancelled".to_owned(),
            None,
            None,
        ),
        End::Failed(error) => (
            MessageStatus::Failed,
            StreamStatus::Failed,
            "error".to_owned(),
            Some(error.to_string()),
            None,
        ),
        End::Taken => return stored_status(&mut *inner.pool.get().await?, job).await,
    };
    // Tokens from the provider's report, else counted (nothing when nothing was produced).
    let usage = reported.unwrap_or_else(|| counted(&job.model.config.id, &job.request, &text));
    let (input_cost, output_cost) = job.model.cost(usage);
    let total_cost = &input_cost + &output_cost;
    let mut conn = inner.pool.get().await?;
    let status = conn
        .transaction::<_, AppError, _>(async |conn| {
            {
                use messages::dsl as m;
                let updated = diesel::update(
                    messages::table
                        .find(job.message_id)
                        .filter(m::status.eq(MessageStatus::Streaming)),
                )
                .set((
                    m::content.eq(&text),
                    m::parts.eq(json!([{ "type": "text", "text": text }])),
                    m::status.eq(status),
                    m::finish_reason.eq(&finish_reason),
                    m::error.eq(&error),
                    m::input_tokens.eq(i32::try_from(usage.input).ok()),
                    m::output_tokens.eq(i32::try_from(usage.output).ok()),
                    m::cached_input_tokens.eq(i32::try_from(usage.cached).ok()),
                    m::cost.eq(&total_cost),
                ))
                .execute(conn)
                .await?;
                if updated == 0 {
                    // Reaped meanwhile: its status stands.
                    return Ok(None);
                }
                use message_streams::dsl as s;
                diesel::update(message_streams::table.filter(s::message_id.eq(job.message_id)))
                    .set((
                        s::status.eq(stream_status),
                        s::last_seq.eq(seq(text.len())),
                        s::error.eq(&error),
                        s::finished_at.eq(Some(Utc::now())),
                        s::updated_at.eq(Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
                use chats::dsl as c;
                diesel::update(chats::table.find(job.chat_id))
                    .set((
                        c::total_input_tokens.eq(c::total_input_tokens + usage.input),
                        c::total_output_tokens.eq(c::total_output_tokens + usage.output),
                        c::total_cost.eq(c::total_cost + &total_cost),
                        c::last_message_at.eq(Some(Utc::now())),
                    ))
                    .execute(conn)
                    .await?;
                record_usage(
                    conn,
                    job,
                    usage,
                    (input_cost, output_cost, &total_cost),
                    status,
                    &finish_reason,
                    &timing,
                )
                .await?;
                quotas::record(
                    conn,
                    job.project_id,
                    Usage {
                        tokens: usage.input + usage.output,
                        ..Usage::default()
                    },
                )
                .await?;
                pubsub::publish(conn, Notice::Stream(job.message_id)).await?;
                pubsub::chat_changed(conn, job.chat_id, ChatChange::StreamFinished, Some(job.message_id)).await?;
                if status == MessageStatus::Complete {
                    let data = json!({
                        "messageId": job.message_id,
                        "chatId": job.chat_id,
                        "projectId": job.project_id,
                        "model": job.model.config.id,
                        "inputTokens": usage.input,
                        "outputTokens": usage.output,
                    });
                    deliveries::emit_in_chat(conn, job.chat_id, "message.completed", data).await?;
                }
                Ok(Some(status))
            }
        })
        .await?;
    match status {
        Some(status) => Ok(status),
        None => stored_status(&mut conn, job).await,
    }
}

/// The status another process gave the answer (it ended it first).
async fn stored_status(conn: &mut AsyncPgConnection, job: &Job) -> Result<MessageStatus, AppError> {
    let row = crate::models::message::MessageRow::find(conn, job.message_id).await?;
    Ok(row.map_or(MessageStatus::Failed, |r| r.status))
}

/// Tokens counted with the tokenizer: the prompt and the answer, or nothing when no text was
/// produced (a request that failed before answering is not billed by providers either).
fn counted(model: &str, request: &CompletionRequest, text: &str) -> TokenUsage {
    if text.is_empty() {
        return TokenUsage::default();
    }
    TokenUsage {
        input: request.messages.iter().map(|m| tokens::count_message(model, m)).sum(),
        output: tokens::count(model, text),
        cached: 0,
    }
}

async fn record_usage(
    conn: &mut AsyncPgConnection,
    job: &Job,
    usage: TokenUsage,
    (input_cost, output_cost, total_cost): (BigDecimal, BigDecimal, &BigDecimal),
    status: MessageStatus,
    finish_reason: &str,
    timing: &Timing,
) -> Result<(), AppError> {
    let millis = |d: Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
    NewUsageEvent {
        id: new_id(),
        organization_id: job.organization_id,
        project_id: Some(job.project_id),
        user_id: job.user_id,
        chat_id: Some(job.chat_id),
        message_id: Some(job.message_id),
        api_token_id: job.api_token_id,
        operation: UsageOperation::Chat,
        provider: job.model.provider.clone(),
        model: job.model.config.id.clone(),
        input_tokens: usage.input,
        output_tokens: usage.output,
        cached_input_tokens: usage.cached,
        total_tokens: usage.input + usage.output,
        input_cost,
        output_cost,
        total_cost: total_cost.clone(),
        status: if status == MessageStatus::Failed {
            Outcome::Failed
        } else {
            Outcome::Success
        },
        requested_at: timing.requested_at,
        responded_at: Some(Utc::now()),
        duration_ms: Some(millis(timing.duration)),
        metadata: json!({
            "finishReason": finish_reason,
            "timeToFirstTokenMs": timing.first_token.map(millis),
        }),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Longest generated title, in characters.
const TITLE_CHARS: usize = 60;

/// Titles the chat from its first exchange (a short, cheap call to the same model) when it
/// still has the default title.
async fn retitle(inner: &Inner, job: &Job, answer: &str) -> Result<(), AppError> {
    let question = job
        .request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.clone())
        .unwrap_or_default();
    let request = CompletionRequest {
        model: job.model.config.id.clone(),
        messages: vec![
            PromptMessage::text(
                Role::System,
                "Write a title of at most six words for this conversation. Answer with the title only.",
            ),
            PromptMessage::text(Role::User, format!("{}\n\n{}", clip(&question, 500), clip(answer, 500))),
        ],
        max_tokens: Some(16),
        ..Default::default()
    };
    let model = job.model.backend.model(job.api_key.clone());
    let mut title = String::new();
    let mut chunks = model.complete(request);
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(20), chunks.next())
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("the title took too long")))?
    {
        match chunk {
            Ok(Chunk::Delta(text)) => title.push_str(&text),
            Ok(Chunk::End { .. }) => break,
            Err(error) => return Err(AppError::Internal(anyhow::anyhow!("titling failed: {error}"))),
        }
    }
    let title = clip(title.trim().trim_matches(|c| c == '"' || c == '.'), TITLE_CHARS);
    if title.is_empty() {
        return Ok(());
    }
    let mut conn = inner.pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        use chats::dsl as c;
        let renamed = diesel::update(
            chats::table
                .find(job.chat_id)
                .filter(c::title.eq(crate::services::chats::DEFAULT_TITLE)),
        )
        .set(c::title.eq(&title))
        .execute(conn)
        .await?;
        if renamed > 0 {
            pubsub::publish(
                conn,
                Notice::Chat {
                    chat_id: job.chat_id,
                    change: ChatChange::ChatRenamed,
                    message_id: None,
                },
            )
            .await?;
        }
        Ok(())
    })
    .await
}

/// At most `chars` characters of `text`.
fn clip(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}
