//! Artifacts (versioned documents made in chats: text, code, images, sheets) and suggested
//! edits. One `Artifact` object is one version; its global id encodes the artifact's id and
//! the version's time.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    connection::{ArtifactConnection, ArtifactSuggestionConnection, PageArgs, load_connection},
    mutation::{UserError, write},
    node::{composite_id, decode_composite_id, global_id, input_id, optional_id},
};
use crate::{
    auth::grant::{Permission, Place},
    db::enums::ArtifactKind,
    error::{AppResult, FieldError},
    models::{
        artifact::{ArtifactRow, ArtifactSuggestionRow},
        lists,
        page::Filter,
    },
    services::{
        artifacts::{self, NewArtifactFields, SuggestionFields},
        audit::Action,
    },
};

/// The global id of one artifact version.
pub fn artifact_version_id(id: Uuid, created_at: DateTime<Utc>) -> ID {
    composite_id("Artifact", id, created_at.timestamp_micros())
}

/// One version of an artifact.
pub struct Artifact(pub ArtifactRow);

/// One version of an artifact.
#[Object]
impl Artifact {
    /// Globally unique, opaque id of this version.
    pub async fn id(&self) -> ID {
        artifact_version_id(self.0.id, self.0.created_at)
    }

    /// The raw UUID shared by every version of this artifact.
    async fn uuid(&self) -> Uuid {
        self.0.id
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What it holds.
    async fn kind(&self) -> ArtifactKind {
        self.0.kind
    }

    /// Its content in this version.
    async fn content(&self) -> Option<&str> {
        self.0.content.as_deref()
    }

    /// When this version was saved.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Every version of this artifact, oldest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn versions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<ArtifactConnection> {
        let args = PageArgs::new(first, after, last, before);
        load_connection(ctx, lists::ARTIFACT_VERSIONS, self.0.id, args, Filter::none(), Artifact).await
    }

    /// Suggested edits to any version of this artifact, newest first.
    #[graphql(complexity = "crate::graphql::node::page_cost(first, last, child_complexity)")]
    async fn suggestions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n items (1 to 100; 20 when neither first nor last is given).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n items (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the items before this cursor.")] before: Option<String>,
    ) -> Result<ArtifactSuggestionConnection> {
        let args = PageArgs::new(first, after, last, before);
        let list = lists::ARTIFACT_SUGGESTIONS;
        load_connection(ctx, list, self.0.id, args, Filter::none(), ArtifactSuggestion).await
    }
}

/// A suggested replacement of a passage of an artifact version.
pub struct ArtifactSuggestion(pub ArtifactSuggestionRow);

/// A suggested replacement of a passage of an artifact version.
#[Object]
impl ArtifactSuggestion {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("ArtifactSuggestion", self.0.id)
    }

    /// The version it was made on.
    async fn artifact_version_id(&self) -> ID {
        artifact_version_id(self.0.artifact_id, self.0.artifact_created_at)
    }

    /// The passage to replace.
    async fn original_text(&self) -> &str {
        &self.0.original_text
    }

    /// The replacement.
    async fn suggested_text(&self) -> &str {
        &self.0.suggested_text
    }

    /// Why.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Whether it was accepted or dismissed.
    async fn is_resolved(&self) -> bool {
        self.0.is_resolved
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The artifact id and version time of an `Artifact` global id given in input field `field`.
fn version_input(id: &ID, field: &str) -> AppResult<(Uuid, DateTime<Utc>)> {
    decode_composite_id(id)
        .ok()
        .filter(|(kind, ..)| kind == "Artifact")
        .and_then(|(_, key, micros)| Some((key, DateTime::from_timestamp_micros(micros.parse().ok()?)?)))
        .ok_or_else(|| FieldError::input(field, "INVALID_ID", "not the id of an Artifact").into())
}

/// Input of `createArtifact`.
#[derive(InputObject)]
pub struct CreateArtifactInput {
    /// The project to create it in (needs `chat.write` there).
    pub project_id: ID,
    /// The chat it is made in, a chat of that project.
    pub chat_id: Option<ID>,
    /// Title (1 to 500 characters).
    pub title: String,
    /// What it holds; TEXT when omitted.
    pub kind: Option<ArtifactKind>,
    /// Its content (at most 1,000,000 characters).
    pub content: Option<String>,
}

/// Input of `saveArtifactVersion`.
#[derive(InputObject)]
pub struct SaveArtifactVersionInput {
    /// Any version of the artifact; the new version follows its newest one.
    pub artifact_id: ID,
    /// The new version's title; the newest version's when omitted.
    pub title: Option<String>,
    /// The new version's content (at most 1,000,000 characters).
    pub content: Option<String>,
}

/// Input of `createArtifactSuggestion`.
#[derive(InputObject)]
pub struct CreateArtifactSuggestionInput {
    /// The version the suggestion is made on.
    pub artifact_version_id: ID,
    /// The passage to replace (1 to 100,000 characters).
    pub original_text: String,
    /// The replacement (1 to 100,000 characters).
    pub suggested_text: String,
    /// Why (at most 2,000 characters).
    pub description: Option<String>,
}

/// Input of `resolveArtifactSuggestion`.
#[derive(InputObject)]
pub struct ResolveArtifactSuggestionInput {
    /// The suggestion to mark as resolved (accepted or dismissed).
    pub id: ID,
}

/// The result of `createArtifact` and `saveArtifactVersion`.
#[derive(SimpleObject)]
pub struct ArtifactPayload {
    /// The version just saved, unless there were user errors.
    pub artifact: Option<Artifact>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of the suggestion mutations.
#[derive(SimpleObject)]
pub struct ArtifactSuggestionPayload {
    /// The suggestion as it is now, unless there were user errors.
    pub suggestion: Option<ArtifactSuggestion>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Artifact and suggestion mutations.
#[derive(Default)]
pub struct ArtifactMutation;

#[Object]
impl ArtifactMutation {
    /// Creates an artifact: its first version. Made in a chat, it takes the right to write to
    /// that chat.
    async fn create_artifact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateArtifactInput,
    ) -> Result<ArtifactPayload> {
        let (artifact, user_errors) = write(ctx, Action::ArtifactCreate, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let chat_id = optional_id(input.chat_id.as_ref(), "Chat", "chatId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::ChatWrite).await?;
            let chat = match chat_id {
                Some(id) => Some(tx.granted_input(id, Permission::ChatWrite, "chatId").await?),
                None => None,
            };
            let fields = NewArtifactFields {
                chat,
                title: input.title,
                kind: input.kind.unwrap_or(ArtifactKind::Text),
                content: input.content,
            };
            artifacts::create(tx, &grant, fields).await
        })
        .await?;
        Ok(ArtifactPayload {
            artifact: artifact.map(Artifact),
            user_errors,
        })
    }

    /// Saves a new version of an artifact (earlier versions stay as they are).
    async fn save_artifact_version(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: SaveArtifactVersionInput,
    ) -> Result<ArtifactPayload> {
        let (artifact, user_errors) = write(ctx, Action::ArtifactSaveVersion, async |tx| {
            let (id, _) = version_input(&input.artifact_id, "artifactId")?;
            let latest = tx.granted(id, Permission::ChatWrite).await?;
            artifacts::save_version(tx, &latest, input.title, input.content).await
        })
        .await?;
        Ok(ArtifactPayload {
            artifact: artifact.map(Artifact),
            user_errors,
        })
    }

    /// Suggests replacing a passage of an artifact version.
    async fn create_artifact_suggestion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateArtifactSuggestionInput,
    ) -> Result<ArtifactSuggestionPayload> {
        let (suggestion, user_errors) = write(ctx, Action::ArtifactSuggestionCreate, async |tx| {
            let (id, at) = version_input(&input.artifact_version_id, "artifactVersionId")?;
            let artifact = tx.granted(id, Permission::ChatWrite).await?;
            let fields = SuggestionFields {
                original_text: input.original_text,
                suggested_text: input.suggested_text,
                description: input.description,
            };
            artifacts::suggest(tx, &artifact, at, fields).await
        })
        .await?;
        Ok(ArtifactSuggestionPayload {
            suggestion: suggestion.map(ArtifactSuggestion),
            user_errors,
        })
    }

    /// Marks a suggestion as resolved.
    async fn resolve_artifact_suggestion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: ResolveArtifactSuggestionInput,
    ) -> Result<ArtifactSuggestionPayload> {
        let (suggestion, user_errors) = write(ctx, Action::ArtifactSuggestionResolve, async |tx| {
            let id = input_id(&input.id, "ArtifactSuggestion", "id")?;
            let suggestion = tx.granted(id, Permission::ChatWrite).await?;
            artifacts::resolve(tx, &suggestion).await
        })
        .await?;
        Ok(ArtifactSuggestionPayload {
            suggestion: suggestion.map(ArtifactSuggestion),
            user_errors,
        })
    }
}
