//! Artifacts (versioned documents made in chats: text, code, images, sheets) and suggested
//! edits. One `Artifact` object is one version; its global id encodes the artifact's id and
//! the version's time.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    connection::{ArtifactConnection, ArtifactSuggestionConnection, PageArgs, load_connection},
    node::{composite_id, global_id},
};
use crate::{
    db::enums::ArtifactKind,
    models::{
        artifact::{ArtifactRow, ArtifactSuggestionRow},
        lists,
        page::Filter,
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
