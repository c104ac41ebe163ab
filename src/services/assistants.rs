//! Writing a project's assistants (a model with instructions and tools), with a [`Grant`] of
//! `project.update`: create, update, deactivate and reactivate. Inputs are checked as the
//! table's constraints would; each change and its audit row are one write (`services::write`).

use anyhow::anyhow;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    audit::AuditEvent,
    write::{RecordIn, Tx},
};
use crate::{
    auth::grant::{Grant, Granted},
    db::new_id,
    error::{AppError, AppResult, FieldError},
    models::{
        assistant::{AssistantPatch, AssistantRow, NewAssistant},
        datasource::DatasourceRow,
    },
};

/// Longest name.
pub const MAX_NAME: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 2_000;
/// Longest instructions (system prompt), in characters.
pub const MAX_INSTRUCTIONS: usize = 100_000;
/// Most tools an assistant may name.
pub const MAX_TOOLS: usize = 64;

/// What `create` and `update` take; `None` leaves a field as it is (`Some(None)` clears the
/// temperature).
#[derive(Debug, Default)]
pub struct AssistantFields {
    /// 1 to 200 characters.
    pub name: Option<String>,
    /// At most 2,000 characters.
    pub description: Option<String>,
    /// At most 100,000 characters.
    pub instructions: Option<String>,
    /// A provider name: lower-case letters, digits, `_` and `-`, at most 64.
    pub provider: Option<String>,
    /// 1 to 200 characters.
    pub model: Option<String>,
    /// 0 to 2.
    pub temperature: Option<Option<f64>>,
    /// Tool names (at most 64, each 1 to 200 characters).
    pub tools: Option<Vec<String>>,
    /// Datasources of the assistant's project whose documents ground its answers (at most
    /// [`MAX_DATASOURCES`]; replaces the list).
    pub datasource_ids: Option<Vec<Uuid>>,
}

/// Most datasources an assistant answers from.
pub const MAX_DATASOURCES: usize = 20;

/// Checks that `ids` are distinct datasources of `project_id` and makes them the assistant's
/// knowledge.
async fn set_datasources(tx: &mut Tx, assistant: &AssistantRow, ids: Vec<Uuid>) -> AppResult<()> {
    let mut distinct: Vec<Uuid> = Vec::new();
    for id in ids {
        if !distinct.contains(&id) {
            distinct.push(id);
        }
    }
    if distinct.len() > MAX_DATASOURCES {
        return Err(FieldError::input(
            "datasourceIds",
            "TOO_MANY",
            format!("an assistant answers from at most {MAX_DATASOURCES} datasources"),
        )
        .into());
    }
    let found = DatasourceRow::find_many(tx.conn(), &distinct).await?;
    let all_here = distinct.iter().all(|id| {
        found
            .iter()
            .any(|d| d.id == *id && Some(d.project_id) == assistant.project_id)
    });
    if !all_here {
        return Err(FieldError::input(
            "datasourceIds",
            "NOT_FOUND",
            "datasourceIds must be datasources of the assistant's project",
        )
        .into());
    }
    AssistantRow::set_datasources(tx.conn(), assistant.id, &distinct).await?;
    Ok(())
}

fn validated(mut fields: AssistantFields) -> AppResult<AssistantFields> {
    let mut errors = Vec::new();
    fields.name = fields.name.map(|n| n.trim().to_owned());
    errors.extend(
        fields
            .name
            .as_deref()
            .and_then(|n| FieldError::check_length("name", n, MAX_NAME)),
    );
    errors.extend(
        fields
            .model
            .as_deref()
            .and_then(|m| FieldError::check_length("model", m.trim(), 200)),
    );
    for (name, value, max) in [
        ("description", &fields.description, MAX_DESCRIPTION),
        ("instructions", &fields.instructions, MAX_INSTRUCTIONS),
    ] {
        if value.as_deref().is_some_and(|v| v.chars().count() > max) {
            errors.push(FieldError::input(
                name,
                "INVALID_LENGTH",
                format!("{name} must be at most {max} characters"),
            ));
        }
    }
    if fields.provider.as_deref().is_some_and(|p| {
        p.is_empty()
            || p.len() > 64
            || !p.starts_with(|c: char| c.is_ascii_lowercase())
            || !p
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    }) {
        errors.push(FieldError::input(
            "provider",
            "INVALID_PROVIDER",
            "provider must be a lower-case name such as openai or local (a-z, 0-9, '_', '-')",
        ));
    }
    if fields
        .temperature
        .flatten()
        .is_some_and(|t| !(0.0..=2.0).contains(&t) || t.is_nan())
    {
        errors.push(FieldError::input(
            "temperature",
            "OUT_OF_RANGE",
            "temperature must be between 0 and 2",
        ));
    }
    if fields.tools.as_ref().is_some_and(|tools| {
        tools.len() > MAX_TOOLS || tools.iter().any(|t| t.trim().is_empty() || t.chars().count() > 200)
    }) {
        errors.push(FieldError::input(
            "tools",
            "INVALID_LIST",
            format!("tools: at most {MAX_TOOLS} names of 1 to 200 characters"),
        ));
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn tools_json(tools: Vec<String>) -> Value {
    Value::Array(tools.into_iter().map(|t| Value::String(t.trim().to_owned())).collect())
}

fn audit(tx: &Tx, grant: &Grant, row: &AssistantRow) -> AuditEvent {
    tx.audit(grant).on("assistant", row.id)
}

/// Creates an assistant of the granted project. Name, provider and model are required.
pub async fn create(tx: &mut Tx, grant: &Grant, fields: AssistantFields) -> AppResult<AssistantRow> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("an assistant is created with a project grant")))?;
    let missing: Vec<FieldError> = [
        ("name", fields.name.is_none()),
        ("provider", fields.provider.is_none()),
        ("model", fields.model.is_none()),
    ]
    .into_iter()
    .filter(|(_, missing)| *missing)
    .map(|(name, _)| FieldError::input(name, "REQUIRED", format!("{name} is required")))
    .collect();
    if !missing.is_empty() {
        return Err(AppError::Invalid(missing));
    }
    let fields = validated(fields)?;
    let new = NewAssistant {
        id: new_id(),
        organization_id: Some(grant.organization_id()),
        project_id: Some(project_id),
        name: fields.name.unwrap_or_default(),
        description: fields.description.unwrap_or_default(),
        instructions: fields.instructions.unwrap_or_default(),
        provider: fields.provider.unwrap_or_default(),
        model: fields.model.map(|m| m.trim().to_owned()).unwrap_or_default(),
        temperature: fields.temperature.flatten(),
        tools: tools_json(fields.tools.unwrap_or_default()),
        external_id: None,
        created_by: Some(grant.caller().user.id),
    };
    let datasources = fields.datasource_ids;
    let row = new.insert(tx.conn()).await?;
    if let Some(ids) = datasources {
        set_datasources(tx, &row, ids).await?;
    }
    audit(tx, grant, &row)
        .details(json!({ "name": row.name, "model": row.model }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Changes an assistant; `active` deactivates or reactivates it.
pub async fn update(
    tx: &mut Tx,
    assistant: &Granted<AssistantRow>,
    fields: AssistantFields,
    active: Option<bool>,
) -> AppResult<AssistantRow> {
    let fields = validated(fields)?;
    let changed: Vec<&str> = [
        ("name", fields.name.is_some()),
        ("description", fields.description.is_some()),
        ("instructions", fields.instructions.is_some()),
        ("provider", fields.provider.is_some()),
        ("model", fields.model.is_some()),
        ("temperature", fields.temperature.is_some()),
        ("tools", fields.tools.is_some()),
        ("datasources", fields.datasource_ids.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    if changed.is_empty() && active.is_none() {
        return Ok(assistant.row().clone());
    }
    if let Some(ids) = fields.datasource_ids {
        set_datasources(tx, assistant.row(), ids).await?;
    }
    let patch = AssistantPatch {
        name: fields.name,
        description: fields.description,
        instructions: fields.instructions,
        provider: fields.provider,
        model: fields.model.map(|m| m.trim().to_owned()),
        temperature: fields.temperature,
        tools: fields.tools.map(tools_json),
        is_active: active,
    };
    let row = if changed == ["datasources"] && active.is_none() {
        assistant.row().clone()
    } else {
        patch.apply(tx.conn(), assistant.id).await?
    };
    audit(tx, assistant.grant(), &row)
        .details(json!({ "changed": changed }))
        .record_in(tx)
        .await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_rule_is_checked_at_once() {
        let fields = AssistantFields {
            name: Some(" ".into()),
            provider: Some("Open AI".into()),
            model: Some("gpt".into()),
            temperature: Some(Some(2.5)),
            ..Default::default()
        };
        match validated(fields) {
            Err(AppError::Invalid(errors)) => {
                let codes: Vec<_> = errors.iter().map(|e| (e.field[1].as_str(), e.code)).collect();
                assert_eq!(
                    codes,
                    vec![
                        ("name", "INVALID_LENGTH"),
                        ("provider", "INVALID_PROVIDER"),
                        ("temperature", "OUT_OF_RANGE")
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        let fields = AssistantFields {
            name: Some(" Helper ".into()),
            provider: Some("openai".into()),
            temperature: Some(Some(0.7)),
            ..Default::default()
        };
        assert_eq!(validated(fields).ok().and_then(|f| f.name).as_deref(), Some("Helper"));
    }
}
