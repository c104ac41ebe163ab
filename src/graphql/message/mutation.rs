//! The message and feedback mutations: their inputs, payloads and resolvers.

use super::*;

/// Input of `postMessage`.
#[derive(InputObject)]
pub struct PostMessageInput {
    /// The chat to post into (the caller's own, or any with `project.update`).
    pub chat_id: ID,
    /// The text (1 to 100,000 characters).
    pub content: String,
    /// The message this one follows, when branching; a message of the same chat.
    pub parent_id: Option<ID>,
}

/// Input of `editMessage`.
#[derive(InputObject)]
pub struct EditMessageInput {
    /// The message to edit: one the caller wrote.
    pub id: ID,
    /// The new text (1 to 100,000 characters).
    pub content: String,
}

/// Input of `deleteMessage`.
#[derive(InputObject)]
pub struct DeleteMessageInput {
    /// The message to delete (the caller's own, or any in a chat the caller may change).
    pub id: ID,
}

/// The result of `postMessage` and `editMessage`.
#[derive(SimpleObject)]
pub struct MessagePayload {
    /// The message as it is now, unless there were user errors.
    pub message: Option<Message>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `deleteMessage`.
#[derive(SimpleObject)]
pub struct DeleteMessagePayload {
    /// The id of the deleted message (for removing it from client caches).
    pub deleted_message_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// A thumbs-up or thumbs-down.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum MessageVote {
    /// Thumbs up.
    Up,
    /// Thumbs down.
    Down,
}

/// Input of `voteMessage`.
#[derive(InputObject)]
pub struct VoteMessageInput {
    /// The answer to vote on (an assistant message in a chat the caller can read).
    pub message_id: ID,
    /// The vote; voting again changes it.
    pub vote: MessageVote,
}

/// Input of `rateMessage`.
#[derive(InputObject)]
pub struct RateMessageInput {
    /// The answer to rate (an assistant message in a chat the caller can read).
    pub message_id: ID,
    /// 1 (poor) to 5 (excellent).
    pub rating: i32,
    /// Why, at most 5,000 characters; omitted or empty: no comment.
    pub comment: Option<String>,
}

/// Input of `removeMessageFeedback`.
#[derive(InputObject)]
pub struct RemoveMessageFeedbackInput {
    /// The answer whose feedback by the caller (vote, rating and comment) is removed.
    pub message_id: ID,
}

/// The result of the feedback mutations.
#[derive(SimpleObject)]
pub struct MessageFeedbackPayload {
    /// The caller's feedback as it is now; null after removal or on user errors.
    pub feedback: Option<MessageFeedback>,
    /// The answer, for refreshing its feedback summary in client caches.
    pub message: Option<Message>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Input of `sendMessage`.
#[derive(InputObject)]
pub struct SendMessageInput {
    /// The chat to post into (the caller's own, or any with `project.update`); omit it and
    /// give `projectId` to start a new chat with this message.
    pub chat_id: Option<ID>,
    /// The project of a new chat, when `chatId` is omitted.
    pub project_id: Option<ID>,
    /// The assistant of a new chat, when `chatId` is omitted.
    pub assistant_id: Option<ID>,
    /// The text (1 to 100,000 characters).
    pub content: String,
    /// The message this one follows (branching); by default the chat's latest message.
    pub parent_id: Option<ID>,
    /// The model, `provider/model` or a model id (see `Project.models`); by default the
    /// chat's, its assistant's, the project's default, or the offline model.
    pub model: Option<String>,
    /// Files of the chat's project (from `uploadFile`) to attach, at most 10: text files
    /// reach the model as text parts of this message (64 KiB each at most).
    pub file_ids: Option<Vec<ID>>,
}

/// The result of `sendMessage`.
#[derive(SimpleObject)]
pub struct SendMessagePayload {
    /// The chat (new when the message started it).
    pub chat: Option<Chat>,
    /// The stored user message.
    pub user_message: Option<Message>,
    /// The answer, `STREAMING`: follow it with `messageStream(messageId: ...)`.
    pub assistant_message: Option<Message>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Input of `regenerateMessage` and `stopGeneration`.
#[derive(InputObject)]
pub struct AnswerInput {
    /// An answer (an assistant message) in a chat the caller may write to.
    pub message_id: ID,
}

impl AnswerInput {
    /// The answer, as a message of a chat the caller may write to.
    async fn granted(&self, tx: &mut Tx) -> AppResult<Granted<ChatMessage>> {
        let id = input_id(&self.message_id, "Message", "messageId")?;
        tx.granted_input(id, Permission::ChatWrite, "messageId").await
    }
}

/// The result of `regenerateMessage` and `stopGeneration`.
#[derive(SimpleObject)]
pub struct AnswerPayload {
    /// The answer: the new one (regenerate, `STREAMING`), or the stopped one as it ended.
    pub message: Option<Message>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// How long `stopGeneration` waits for the generation to end before it answers.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Message and feedback mutations.
#[derive(Default)]
pub struct MessageMutation;

impl MessageMutation {
    /// Runs a feedback change on `message_id` for the signed-in caller.
    async fn feedback(
        ctx: &Context<'_>,
        action: Action,
        message_id: &ID,
        change: Option<FeedbackChange>,
    ) -> Result<MessageFeedbackPayload> {
        let (done, user_errors) = write(ctx, action, async |tx| {
            tx.caller()?;
            let target = messages::feedback_target(tx, input_id(message_id, "Message", "messageId")?).await?;
            let feedback = match change {
                Some(change) => Some(messages::give_feedback(tx, &target, change).await?),
                None => {
                    messages::remove_feedback(tx, &target).await?;
                    None
                }
            };
            Ok((feedback, target.message))
        })
        .await?;
        let (feedback, message) = done.unzip();
        Ok(MessageFeedbackPayload {
            feedback: feedback.flatten().map(MessageFeedback),
            message: message.map(Message),
            user_errors,
        })
    }
}

#[Object]
impl MessageMutation {
    /// Posts a user message into a chat (no model answer is generated here). Limited per user
    /// (`messages.post`).
    async fn post_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: PostMessageInput,
    ) -> Result<MessagePayload> {
        let (message, user_errors) = write(ctx, Action::MessagePost, async |tx| {
            let chat_id = input_id(&input.chat_id, "Chat", "chatId")?;
            let parent_id = optional_id(input.parent_id.as_ref(), "Message", "parentId")?;
            let chat = tx.granted(chat_id, Permission::ChatWrite).await?;
            messages::post(tx, &chat, &input.content, parent_id).await
        })
        .await?;
        Ok(MessagePayload {
            message: message.map(Message),
            user_errors,
        })
    }

    /// Posts a user message and starts the model's answer, returning at once: the answer is
    /// `STREAMING`; follow it with `messageStream`. Checks, before anything is stored: the
    /// right to write to the chat, the `messages.post` rate limit, the project's quota, the
    /// model and that the message fits its context window. Without `chatId`, starts a chat
    /// in `projectId`.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SendMessageInput,
    ) -> Result<SendMessagePayload> {
        let generations = ctx.request().generations().clone();
        let files = ctx.request().files();
        let (sent, user_errors) = write(ctx, Action::MessageSend, async |tx| {
            let parent_id = optional_id(input.parent_id.as_ref(), "Message", "parentId")?;
            let chat: Granted<ChatRow> = match (&input.chat_id, &input.project_id) {
                (Some(chat_id), _) => {
                    tx.granted(input_id(chat_id, "Chat", "chatId")?, Permission::ChatWrite)
                        .await?
                }
                (None, Some(project_id)) => {
                    let project_id = input_id(project_id, "Project", "projectId")?;
                    let assistant_id = optional_id(input.assistant_id.as_ref(), "Assistant", "assistantId")?;
                    let grant = tx.grant(Place::Project(project_id), Permission::ChatWrite).await?;
                    let start = chats::ChatStart {
                        assistant_id,
                        ..chats::ChatStart::default()
                    };
                    let chat = chats::create(tx, &grant, start).await?;
                    tx.granted(chat.id, Permission::ChatWrite).await?
                }
                (None, None) => {
                    return Err(
                        FieldError::input("chatId", "REQUIRED", "give chatId, or projectId for a new chat").into(),
                    );
                }
            };
            let file_ids = input
                .file_ids
                .iter()
                .flatten()
                .map(|id| input_id(id, "File", "fileIds"))
                .collect::<AppResult<_>>()?;
            let question = Question {
                content: &input.content,
                parent_id,
                model: input.model.as_deref(),
                file_ids,
            };
            let (question, answer) = answer::send(tx, (&generations, files), &chat, question).await?;
            Ok((chat.into_row(), question, answer))
        })
        .await?;
        let (chat, question, answer) = match sent {
            Some((chat, question, answer)) => (Some(Chat(chat)), Some(Message(question)), Some(Message(answer))),
            None => (None, None, None),
        };
        Ok(SendMessagePayload {
            chat,
            user_message: question,
            assistant_message: answer,
            user_errors,
        })
    }

    /// Starts another answer to the message an answer answered: a sibling (same parent),
    /// `STREAMING`. The earlier answer stays (see `Message.siblings`).
    async fn regenerate_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: AnswerInput,
    ) -> Result<AnswerPayload> {
        let generations = ctx.request().generations().clone();
        let files = ctx.request().files();
        let (message, user_errors) = write(ctx, Action::MessageRegenerate, async |tx| {
            let answer = input.granted(tx).await?;
            answer::regenerate(tx, (&generations, files), &answer).await
        })
        .await?;
        Ok(AnswerPayload {
            message: message.map(Message),
            user_errors,
        })
    }

    /// Stops a generation: the answer ends `CANCELLED` with the text so far. Closing a
    /// subscription does not stop it; this does, on whichever server generates it.
    async fn stop_generation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: AnswerInput,
    ) -> Result<AnswerPayload> {
        let generations = ctx.request().generations().clone();
        let (stopped, user_errors) = write(ctx, Action::MessageStop, async |tx| {
            let answer = input.granted(tx).await?;
            answer::stoppable(&answer)?;
            tx.audit(answer.grant())
                .on("chat", answer.chat.id)
                .details(serde_json::json!({ "messageId": answer.message.id }))
                .record_in(tx)
                .await?;
            Ok(answer.message.id)
        })
        .await?;
        let message = match stopped {
            Some(id) => {
                generations.stop(id).await.map_err(|e| ctx.error(e))?;
                generations.settled(id, STOP_WAIT).await.map_err(|e| ctx.error(e))?
            }
            None => None,
        };
        Ok(AnswerPayload {
            message: message.map(Message),
            user_errors,
        })
    }

    /// Replaces the text of one of the caller's own messages.
    async fn edit_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: EditMessageInput,
    ) -> Result<MessagePayload> {
        let (message, user_errors) = write(ctx, Action::MessageEdit, async |tx| {
            let message: Granted<ChatMessage> = tx
                .granted(input_id(&input.id, "Message", "id")?, Permission::ChatWrite)
                .await?;
            messages::edit(tx, &message.authored()?, &input.content).await
        })
        .await?;
        Ok(MessagePayload {
            message: message.map(Message),
            user_errors,
        })
    }

    /// Deletes a message (answers to it stay).
    async fn delete_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DeleteMessageInput,
    ) -> Result<DeleteMessagePayload> {
        let (deleted_message_id, user_errors) = write(ctx, Action::MessageDelete, async |tx| {
            let message: Granted<ChatMessage> = tx
                .granted(input_id(&input.id, "Message", "id")?, Permission::ChatWrite)
                .await?;
            messages::delete(tx, &message).await?;
            Ok(global_id("Message", message.message.id))
        })
        .await?;
        Ok(DeleteMessagePayload {
            deleted_message_id,
            user_errors,
        })
    }

    /// Votes an answer up or down (voting again changes the vote; a rating stays).
    async fn vote_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: VoteMessageInput,
    ) -> Result<MessageFeedbackPayload> {
        let change = FeedbackChange::Vote(input.vote == MessageVote::Up);
        Self::feedback(ctx, Action::FeedbackVote, &input.message_id, Some(change)).await
    }

    /// Rates an answer from 1 to 5 with an optional comment (a vote stays).
    async fn rate_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RateMessageInput,
    ) -> Result<MessageFeedbackPayload> {
        let change = FeedbackChange::Rate {
            rating: i16::try_from(input.rating).unwrap_or(i16::MAX),
            comment: input.comment,
        };
        Self::feedback(ctx, Action::FeedbackRate, &input.message_id, Some(change)).await
    }

    /// Removes the caller's vote, rating and comment on an answer.
    async fn remove_message_feedback(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RemoveMessageFeedbackInput,
    ) -> Result<MessageFeedbackPayload> {
        Self::feedback(ctx, Action::FeedbackRemove, &input.message_id, None).await
    }
}
