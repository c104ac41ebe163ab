//! Artifacts (versioned documents made in chats) and suggestions on a version.
//! An artifact version is identified by `(id, created_at)`: saving a new version inserts a row
//! with the same id.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning};
use crate::db::{
    enums::ArtifactKind,
    schema::{artifact_suggestions, artifacts},
};

/// One version of an artifact.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = artifacts, check_for_backend(diesel::pg::Pg))]
#[diesel(primary_key(id, created_at))]
pub struct ArtifactRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub project_id: Uuid,
    pub chat_id: Option<Uuid>,
    pub user_id: Uuid,
    pub title: String,
    pub kind: ArtifactKind,
    pub content: Option<String>,
}

/// A new artifact version (a new id for a new artifact, an existing id for a new version).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = artifacts)]
pub struct NewArtifact {
    pub id: Uuid,
    pub created_at: Option<DateTime<Utc>>,
    pub project_id: Uuid,
    pub chat_id: Option<Uuid>,
    pub user_id: Uuid,
    pub title: String,
    pub kind: ArtifactKind,
    pub content: Option<String>,
}

insert_returning!(NewArtifact => ArtifactRow, artifacts);

impl ArtifactRow {
    /// Every version of an artifact, oldest first.
    pub async fn versions(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<Self>> {
        artifacts::table
            .filter(artifacts::id.eq(id))
            .order(artifacts::created_at)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// The newest version of an artifact.
    pub async fn latest(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        artifacts::table
            .filter(artifacts::id.eq(id))
            .order(artifacts::created_at.desc())
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// One version by its composite key.
    pub async fn find_version(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        created_at: DateTime<Utc>,
    ) -> QueryResult<Option<Self>> {
        artifacts::table
            .find((id, created_at))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }
}

/// A suggested edit to one artifact version.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = artifact_suggestions, check_for_backend(diesel::pg::Pg))]
pub struct ArtifactSuggestionRow {
    pub id: Uuid,
    pub artifact_id: Uuid,
    pub artifact_created_at: DateTime<Utc>,
    pub user_id: Uuid,
    pub original_text: String,
    pub suggested_text: String,
    pub description: Option<String>,
    pub is_resolved: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new suggestion.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = artifact_suggestions)]
pub struct NewArtifactSuggestion {
    pub id: Uuid,
    pub artifact_id: Uuid,
    pub artifact_created_at: DateTime<Utc>,
    pub user_id: Uuid,
    pub original_text: String,
    pub suggested_text: String,
    pub description: Option<String>,
}

/// A change to a suggestion (resolving it).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = artifact_suggestions)]
pub struct ArtifactSuggestionPatch {
    pub is_resolved: Option<bool>,
}

find_by_id!(ArtifactSuggestionRow, artifact_suggestions);
insert_returning!(NewArtifactSuggestion => ArtifactSuggestionRow, artifact_suggestions);
update_returning!(ArtifactSuggestionPatch => ArtifactSuggestionRow, artifact_suggestions);

/// A suggestion with the newest version of its artifact (whose project it lies in).
#[derive(Debug, Clone)]
pub struct SuggestionOnArtifact {
    /// The suggestion.
    pub suggestion: ArtifactSuggestionRow,
    /// The newest version of the artifact it is about.
    pub artifact: ArtifactRow,
}

impl SuggestionOnArtifact {
    /// Suggestion `id` with its artifact.
    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        let Some(suggestion) = ArtifactSuggestionRow::find(conn, id).await? else {
            return Ok(None);
        };
        let artifact = ArtifactRow::latest(conn, suggestion.artifact_id).await?;
        Ok(artifact.map(|artifact| SuggestionOnArtifact { suggestion, artifact }))
    }
}
