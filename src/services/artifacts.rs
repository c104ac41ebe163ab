//! Writing artifacts and suggestions, with a [`Grant`] of `chat.write` in the artifact's
//! project. Saving a version inserts a new row with the artifact's id (versions are never
//! changed); suggestions are made on one version and resolved once. An artifact made in a
//! chat takes the right to write to that chat.

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{
    audit::AuditEvent,
    write::{RecordIn, Tx},
};
use crate::{
    auth::grant::{Grant, Granted},
    db::{enums::ArtifactKind, new_id},
    error::{AppError, AppResult, FieldError},
    models::{
        artifact::{
            ArtifactRow, ArtifactSuggestionPatch, ArtifactSuggestionRow, NewArtifact, NewArtifactSuggestion,
            SuggestionOnArtifact,
        },
        chat::ChatRow,
    },
};

/// Longest artifact title.
pub const MAX_TITLE: usize = 500;
/// Largest artifact content, in characters.
pub const MAX_CONTENT: usize = 1_000_000;
/// Longest suggestion text (original or replacement), in characters.
pub const MAX_SUGGESTION: usize = 100_000;

fn checked(title: &str, content: Option<&str>) -> AppResult<String> {
    let title = title.trim();
    let mut errors: Vec<FieldError> = FieldError::check_length("title", title, MAX_TITLE)
        .into_iter()
        .collect();
    if content.is_some_and(|c| c.chars().count() > MAX_CONTENT) {
        errors.push(FieldError::input(
            "content",
            "TOO_LARGE",
            format!("content must be at most {MAX_CONTENT} characters"),
        ));
    }
    if errors.is_empty() {
        Ok(title.to_owned())
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn project_of(grant: &Grant) -> AppResult<Uuid> {
    grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("an artifact change needs a project grant")))
}

/// An audit event on `artifact` (in its chat, when it was made in one).
fn audit(tx: &Tx, grant: &Grant, artifact: &ArtifactRow) -> AuditEvent {
    tx.audit(grant).on("artifact", artifact.id).in_chat(artifact.chat_id)
}

/// What a new artifact holds.
pub struct NewArtifactFields {
    /// The chat it was made in: one of the granted project that the caller may write to.
    pub chat: Option<Granted<ChatRow>>,
    /// 1 to 500 characters.
    pub title: String,
    /// What it holds.
    pub kind: ArtifactKind,
    /// At most 1,000,000 characters.
    pub content: Option<String>,
}

/// Creates an artifact (its first version) in the granted project.
pub async fn create(tx: &mut Tx, grant: &Grant, fields: NewArtifactFields) -> AppResult<ArtifactRow> {
    let project_id = project_of(grant)?;
    let title = checked(&fields.title, fields.content.as_deref())?;
    if fields.chat.as_ref().is_some_and(|c| c.project_id != project_id) {
        return Err(FieldError::input("chatId", "NOT_FOUND", "chatId is not a chat of this project").into());
    }
    let new = NewArtifact {
        id: new_id(),
        created_at: None,
        project_id,
        chat_id: fields.chat.as_ref().map(|c| c.id),
        user_id: grant.caller().user.id,
        title,
        kind: fields.kind,
        content: fields.content,
    };
    let row = new.insert(tx.conn()).await?;
    audit(tx, grant, &row)
        .details(json!({ "kind": row.kind.as_str() }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Saves a new version of an artifact (`latest`, its newest version): a new row with the
/// same id; an omitted title keeps the latest one.
pub async fn save_version(
    tx: &mut Tx,
    latest: &Granted<ArtifactRow>,
    title: Option<String>,
    content: Option<String>,
) -> AppResult<ArtifactRow> {
    let title = checked(title.as_deref().unwrap_or(&latest.title), content.as_deref())?;
    // Versions are keyed by time: never before (or at) the latest one, whatever the clock.
    let at = Utc::now().max(latest.created_at + chrono::Duration::microseconds(1));
    let new = NewArtifact {
        id: latest.id,
        created_at: Some(at),
        project_id: latest.project_id,
        chat_id: latest.chat_id,
        user_id: latest.grant().caller().user.id,
        title,
        kind: latest.kind,
        content,
    };
    let row = new.insert(tx.conn()).await.map_err(|e| {
        crate::error::constraint_error(
            e,
            &[crate::error::ConstraintRule {
                constraint: "artifacts_pkey",
                field: "artifactId",
                code: "CONFLICT",
                message: "another version was saved at the same moment; try again",
            }],
        )
    })?;
    audit(tx, latest.grant(), &row)
        .details(json!({ "version": row.created_at }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// What a suggestion says.
pub struct SuggestionFields {
    /// The passage to replace.
    pub original_text: String,
    /// The replacement.
    pub suggested_text: String,
    /// Why, at most 2,000 characters.
    pub description: Option<String>,
}

/// Makes a suggestion on the version of `artifact` saved at `at`.
pub async fn suggest(
    tx: &mut Tx,
    artifact: &Granted<ArtifactRow>,
    at: DateTime<Utc>,
    fields: SuggestionFields,
) -> AppResult<ArtifactSuggestionRow> {
    let version = ArtifactRow::find_version(tx.conn(), artifact.id, at)
        .await?
        .ok_or(AppError::NotFound("artifact"))?;
    let version = (version.id, version.created_at);
    let grant = artifact.grant();
    let mut errors = Vec::new();
    for (name, text) in [
        ("originalText", &fields.original_text),
        ("suggestedText", &fields.suggested_text),
    ] {
        errors.extend(FieldError::check_length(name, text, MAX_SUGGESTION));
    }
    if fields.description.as_deref().is_some_and(|d| d.chars().count() > 2_000) {
        errors.push(FieldError::input(
            "description",
            "INVALID_LENGTH",
            "description must be at most 2000 characters",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let new = NewArtifactSuggestion {
        id: new_id(),
        artifact_id: version.0,
        artifact_created_at: version.1,
        user_id: grant.caller().user.id,
        original_text: fields.original_text,
        suggested_text: fields.suggested_text,
        description: fields.description.filter(|d| !d.trim().is_empty()),
    };
    let row = new.insert(tx.conn()).await?;
    audit(tx, grant, artifact)
        .details(json!({ "suggestionId": row.id }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Marks a suggestion as resolved.
pub async fn resolve(tx: &mut Tx, on: &Granted<SuggestionOnArtifact>) -> AppResult<ArtifactSuggestionRow> {
    let suggestion = &on.suggestion;
    if suggestion.is_resolved {
        return Err(FieldError::input("id", "ALREADY_RESOLVED", "the suggestion is resolved already").into());
    }
    let row = ArtifactSuggestionPatch {
        is_resolved: Some(true),
    }
    .apply(tx.conn(), suggestion.id)
    .await?;
    audit(tx, on.grant(), &on.artifact)
        .details(json!({ "suggestionId": row.id }))
        .record_in(tx)
        .await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_contents_have_limits() {
        assert_eq!(checked("  Plan ", Some("v1")).ok().as_deref(), Some("Plan"));
        match checked("", Some(&"x".repeat(MAX_CONTENT + 1))) {
            Err(AppError::Invalid(errors)) => {
                let codes: Vec<_> = errors.iter().map(|e| (e.field[1].as_str(), e.code)).collect();
                assert_eq!(codes, vec![("title", "INVALID_LENGTH"), ("content", "TOO_LARGE")]);
            }
            other => panic!("{other:?}"),
        }
    }
}
