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
    sql_types::{Integer, Jsonb, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use tokio::sync::watch;

use super::{Inner, Job, Live, ToolActivity, ToolStatus};
use crate::{
    db::{
        cached::cached,
        enums::{MessageRole, MessageStatus, Outcome, StreamStatus, UsageOperation},
        new_id,
        schema::{chats, message_streams, messages},
    },
    error::AppError,
    models::{message::NewMessage, usage_event::NewUsageEvent},
    providers::{
        ChatModel, Chunk, CompletionRequest, PromptMessage, ProviderError, Role, TokenUsage, ToolCall, tokens,
    },
    pubsub::{self, CHANNEL, ChatChange, Notice},
    services::{
        deliveries,
        quotas::{self, Usage},
        tools::{self, Toolbox},
    },
};

/// How a generation ended.
enum End {
    /// The model finished.
    Done { finish_reason: String },
    /// Someone stopped it.
    Cancelled,
    /// The provider failed.
    Failed(ProviderError),
    /// Another process ended it (its lease had run out): nothing more to write.
    Taken,
}

/// What one model round gave: how it ended, its text and the tools it called.
struct Round {
    end: End,
    text: String,
    calls: Vec<ToolCall>,
    usage: Option<TokenUsage>,
}

/// Longest silence of a model before the lease is renewed anyway.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Waits for work of a generation while flushing its text on every tick and watching for
/// a stop.
struct Pump<'a> {
    inner: &'a Inner,
    job: &'a Job,
    live: &'a Live,
    stop: watch::Receiver<bool>,
    tick: tokio::time::Interval,
    flushed: (usize, u64),
    renewed: Instant,
}

impl Pump<'_> {
    /// The output of `work`, or how the generation ended meanwhile (stopped, or taken over).
    async fn wait<T>(&mut self, work: impl Future<Output = T>) -> Result<T, End> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                changed = self.stop.changed() => if changed.is_err() || *self.stop.borrow() {
                    return Err(End::Cancelled);
                },
                _ = self.tick.tick() => {
                    let progress = self.live.progress();
                    let now = (progress.len, progress.calls);
                    if now != self.flushed || self.renewed.elapsed() >= HEARTBEAT {
                        match flush(self.inner, self.job, self.live).await {
                            Ok(true) => (self.flushed, self.renewed) = (now, Instant::now()),
                            Ok(false) => return Err(End::Taken),
                            Err(error) => tracing::warn!(error = ?error, message.id = %self.job.message_id, "cannot flush a stream"),
                        }
                    }
                },
                output = &mut work => return Ok(output),
            }
        }
    }

    /// One completion of `request`: its text into the live cell, its tool calls gathered.
    async fn round(
        &mut self,
        model: &dyn ChatModel,
        request: CompletionRequest,
        first_token: &mut Option<Duration>,
        started: Instant,
    ) -> Round {
        let mut chunks = model.complete(request);
        let (mut text, mut calls) = (String::new(), Vec::new());
        let (end, usage) = loop {
            match self.wait(chunks.next()).await {
                Err(end) => break (end, None),
                Ok(Some(Ok(Chunk::Delta(delta)))) => {
                    first_token.get_or_insert_with(|| started.elapsed());
                    if text.is_empty() && !delta.is_empty() {
                        // A round after tool calls starts on a new paragraph.
                        let so_far = self.live.text();
                        if !so_far.is_empty() && !so_far.ends_with(char::is_whitespace) {
                            self.live.append("\n\n");
                        }
                    }
                    text.push_str(&delta);
                    self.live.append(&delta);
                }
                Ok(Some(Ok(Chunk::ToolCall(call)))) => calls.push(call),
                Ok(Some(Ok(Chunk::End { finish_reason, usage }))) => break (End::Done { finish_reason }, usage),
                Ok(Some(Err(error))) => break (End::Failed(error), None),
                Ok(None) => break (End::Failed(ProviderError::Protocol), None),
            }
        };
        // Dropping the stream cancels the provider's request.
        drop(chunks);
        Round {
            end,
            text,
            calls,
            usage,
        }
    }
}

/// Runs `job` to its end (see the module header): model rounds, with the tools each round
/// called run between them, until an answer without calls.
pub(super) async fn run(inner: Arc<Inner>, job: Job, live: Arc<Live>, stop: watch::Receiver<bool>) {
    let started = Instant::now();
    let requested_at = Utc::now();
    let model = job.model.backend.model(job.api_key.clone());
    let mut tick = tokio::time::interval(inner.settings.flush_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pump = Pump {
        inner: &inner,
        job: &job,
        live: &live,
        stop,
        tick,
        flushed: (0, 0),
        renewed: Instant::now(),
    };
    let mut request = job.request.clone();
    let (mut usage, mut first_token, mut rounds) = (TokenUsage::default(), None, 0u32);
    let end = 'generation: {
        if let Some(tools) = job.tools.as_ref().filter(|t| !t.is_empty()) {
            match pump.wait(tools.prepare()).await {
                Ok(Some(note)) => note_for_the_model(&mut request, note),
                Ok(None) => {}
                Err(end) => break 'generation end,
            }
            request.tools = tools.definitions();
        }
        loop {
            rounds += 1;
            let round = pump
                .round(model.as_ref(), request.clone(), &mut first_token, started)
                .await;
            let used = round
                .usage
                .unwrap_or_else(|| counted(&job.model.config.id, &request, &round.text, &round.calls));
            usage = TokenUsage {
                input: usage.input + used.input,
                output: usage.output + used.output,
                cached: usage.cached + used.cached,
            };
            let (Some(tools), End::Done { .. }, false, false) = (
                job.tools.as_ref(),
                &round.end,
                round.calls.is_empty(),
                request.tools.is_empty(),
            ) else {
                break round.end;
            };
            let results = match pump
                .wait(call_tools(&inner, &job, &live, tools, &round.calls, rounds))
                .await
            {
                Ok(results) => results,
                Err(end) => break end,
            };
            request.messages.push(PromptMessage::calls(round.text, round.calls));
            request.messages.extend(results);
            if rounds as usize >= tools::MAX_ROUNDS || started.elapsed() >= tools::TOOLS_TIME {
                // The last round answers with what it has.
                request.tools.clear();
            }
        }
    };
    let timing = Timing::since(started, requested_at, first_token, rounds);
    let status = match finish(&inner, &job, &live, (end, usage), timing).await {
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

/// Runs a round's calls in parallel (each seen starting and ending by followers, each stored
/// as a `tool` message); their results, as prompt messages, in the order of the calls.
async fn call_tools(
    inner: &Inner,
    job: &Job,
    live: &Live,
    tools: &Toolbox,
    calls: &[ToolCall],
    round: u32,
) -> Vec<PromptMessage> {
    let runs = calls.iter().enumerate().map(|(index, call)| async move {
        let arguments = serde_json::from_str::<serde_json::Value>(&call.arguments)
            .unwrap_or_else(|_| serde_json::Value::String(call.arguments.clone()));
        let mut activity = ToolActivity {
            id: call.id.clone(),
            name: call.name.clone(),
            source: tools.source(&call.name),
            arguments,
            status: ToolStatus::Running,
            preview: None,
            error: None,
            duration_ms: None,
            round,
            message_id: None,
            version: 0,
        };
        live.track(activity.clone());
        let outcome = if index < tools::MAX_CALLS_PER_ROUND {
            tools.call(call).await
        } else {
            let why = format!("at most {} tools are called in one round", tools::MAX_CALLS_PER_ROUND);
            tools::Outcome {
                result: format!("error: {why}"),
                error: Some(why),
                duration: Duration::ZERO,
            }
        };
        activity.status = if outcome.error.is_some() {
            ToolStatus::Failed
        } else {
            ToolStatus::Succeeded
        };
        activity.preview = Some(tools::preview(&outcome.result));
        activity.error = outcome.error.clone();
        activity.duration_ms = Some(u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX));
        match store_call(inner, job, &activity, &outcome).await {
            Ok(id) => activity.message_id = Some(id),
            Err(error) => tracing::error!(error = ?error, message.id = %job.message_id, "cannot store a tool call"),
        }
        live.track(activity);
        PromptMessage::tool_result(call.id.clone(), outcome.result)
    });
    async_graphql::futures_util::future::join_all(runs).await
}

/// Stores a finished call as a `tool` message answering the assistant's message, and its
/// usage event, in one transaction; the message's id.
async fn store_call(
    inner: &Inner,
    job: &Job,
    activity: &ToolActivity,
    outcome: &tools::Outcome,
) -> Result<uuid::Uuid, AppError> {
    let mut conn = inner.pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let failed = outcome.error.is_some();
        let message = NewMessage {
            parent_id: Some(job.message_id),
            status: if failed {
                MessageStatus::Failed
            } else {
                MessageStatus::Complete
            },
            error: outcome.error.clone(),
            metadata: Some(json!({
                "toolCallId": activity.id,
                "name": activity.name,
                "source": activity.source,
                "arguments": activity.arguments,
                "durationMs": activity.duration_ms,
                "round": activity.round,
            })),
            ..NewMessage::text(job.chat_id, None, MessageRole::Tool, &outcome.result)
        }
        .insert(conn)
        .await?;
        NewUsageEvent {
            operation: UsageOperation::Tool,
            provider: activity.source.clone(),
            model: activity.name.clone(),
            status: if failed { Outcome::Failed } else { Outcome::Success },
            requested_at: Utc::now() - outcome.duration,
            duration_ms: activity.duration_ms.and_then(|d| i32::try_from(d).ok()),
            metadata: json!({ "toolCallId": activity.id, "answerId": job.message_id, "round": activity.round }),
            ..usage_in(job, message.id)
        }
        .insert(conn)
        .await?;
        pubsub::chat_changed(conn, job.chat_id, ChatChange::MessageAdded, Some(message.id)).await?;
        Ok(message.id)
    })
    .await
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
    let log = live.calls_after(0);
    let log = (!log.is_empty()).then(|| json!(log));
    let mut conn = inner.pool.get().await?;
    let rows: Vec<Flushed> = cached(format!(
        "WITH m AS (UPDATE messages SET content = $2, \
           metadata = CASE WHEN $4::jsonb IS NULL THEN metadata ELSE jsonb_set(metadata, '{{toolEvents}}', $4) END \
           WHERE id = $1 AND status = 'streaming' RETURNING id), \
         s AS (UPDATE message_streams SET last_seq = $3, updated_at = now() \
               WHERE message_id IN (SELECT id FROM m) RETURNING message_id) \
         SELECT message_id, pg_notify('{CHANNEL}', 's:' || message_id::text)::text AS notified FROM s"
    ))
    .bind::<SqlUuid, _>(job.message_id)
    .bind::<Text, _>(&text)
    .bind::<Integer, _>(seq(text.len()))
    .bind::<Nullable<Jsonb>, _>(log)
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
    rounds: u32,
}

impl Timing {
    fn since(
        started: Instant,
        requested_at: chrono::DateTime<Utc>,
        first_token: Option<Duration>,
        rounds: u32,
    ) -> Self {
        Timing {
            requested_at,
            duration: started.elapsed(),
            first_token,
            rounds,
        }
    }
}

/// Adds `note` to the instructions (the first message when it is the system's).
fn note_for_the_model(request: &mut CompletionRequest, note: String) {
    match request.messages.first_mut().filter(|m| m.role == Role::System) {
        Some(system) => {
            system.content.push_str("\n\n");
            system.content.push_str(&note);
        }
        None => request.messages.insert(0, PromptMessage::text(Role::System, note)),
    }
}

/// Writes the end of a generation in one transaction; the status it ended with.
async fn finish(
    inner: &Inner,
    job: &Job,
    live: &Live,
    (end, usage): (End, TokenUsage),
    timing: Timing,
) -> Result<MessageStatus, AppError> {
    let text = live.text();
    let (status, stream_status, finish_reason, error) = match end {
        End::Done { finish_reason } => (MessageStatus::Complete, StreamStatus::Finished, finish_reason, None),
        End::Cancelled => (
            MessageStatus::Cancelled,
            StreamStatus::Cancelled,
            "cancelled".to_owned(),
            None,
        ),
        End::Failed(error) => (
            MessageStatus::Failed,
            StreamStatus::Failed,
            "error".to_owned(),
            Some(error.to_string()),
        ),
        End::Taken => return stored_status(&mut *inner.pool.get().await?, job).await,
    };
    // A call still running when the answer ended (stopped, failed, taken) never answered.
    let calls: Vec<ToolActivity> = super::latest_states(live.calls_after(0))
        .into_iter()
        .map(|mut call| {
            if call.status == ToolStatus::Running {
                call.status = ToolStatus::Failed;
                call.error = Some("the answer ended before the tool answered".into());
            }
            call
        })
        .collect();
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
                if !calls.is_empty() {
                    cached("UPDATE messages SET metadata = jsonb_set(metadata - 'toolEvents', '{toolCalls}', $2) WHERE id = $1")
                        .bind::<SqlUuid, _>(job.message_id)
                        .bind::<Jsonb, _>(json!(calls))
                        .execute(conn)
                        .await?;
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

/// Tokens of one round counted with the tokenizer: the prompt and the answer (its text and
/// calls), or nothing when nothing was produced (a request that failed before answering is
/// not billed by providers either).
fn counted(model: &str, request: &CompletionRequest, text: &str, calls: &[ToolCall]) -> TokenUsage {
    if text.is_empty() && calls.is_empty() {
        return TokenUsage::default();
    }
    let tools: i64 = request
        .tools
        .iter()
        .map(|t| tokens::count(model, &format!("{} {} {}", t.name, t.description, t.parameters)))
        .sum();
    TokenUsage {
        input: request
            .messages
            .iter()
            .map(|m| tokens::count_message(model, m))
            .sum::<i64>()
            + tools,
        output: tokens::count(model, text) + tokens::count_message(model, &PromptMessage::calls("", calls.to_vec())),
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
        duration_ms: Some(millis(timing.duration)),
        metadata: json!({
            "finishReason": finish_reason,
            "timeToFirstTokenMs": timing.first_token.map(millis),
            "rounds": timing.rounds,
        }),
        ..usage_in(job, job.message_id)
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// A usage event of `job` about `message_id`: the model's chat operation, nothing used yet,
/// answered now (the caller sets what differs).
fn usage_in(job: &Job, message_id: uuid::Uuid) -> NewUsageEvent {
    NewUsageEvent {
        id: new_id(),
        organization_id: job.organization_id,
        project_id: Some(job.project_id),
        user_id: job.user_id,
        chat_id: Some(job.chat_id),
        message_id: Some(message_id),
        api_token_id: job.api_token_id,
        operation: UsageOperation::Chat,
        provider: job.model.provider.clone(),
        model: job.model.config.id.clone(),
        input_tokens: 0,
        output_tokens: 0,
        cached_input_tokens: 0,
        total_tokens: 0,
        input_cost: BigDecimal::from(0),
        output_cost: BigDecimal::from(0),
        total_cost: BigDecimal::from(0),
        status: Outcome::Success,
        requested_at: Utc::now(),
        responded_at: Some(Utc::now()),
        duration_ms: None,
        metadata: json!({}),
    }
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
            Ok(Chunk::ToolCall(_)) => {}
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
