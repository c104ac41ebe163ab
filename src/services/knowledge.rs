//! Writing datasources and documents, with a [`Grant`] of `documents.write` in their project:
//! create, update, delete. A document's content is hashed (SHA-256) and left `pending` for
//! ingestion ([`ingestion`]); a change of content drops its chunks so search never returns
//! stale text. Each change and its audit row are one transaction.

use anyhow::anyhow;
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    embeddings, ingestion,
    write::{RecordIn, Tx},
};
use crate::{
    auth::grant::{Grant, Granted, Permission},
    db::{
        enums::{DatasourceKind, DatasourceStatus, DocumentOrigin, DocumentStatus},
        new_id,
        schema::{datasources, document_chunks, documents},
    },
    error::{AppError, AppResult, ConstraintRule, FieldError, constraint_error},
    models::{
        credential::CredentialRow,
        datasource::{DatasourcePatch, DatasourceRow, NewDatasource},
        document::{DocumentPatch, DocumentRow, NewDocument},
        file::FileRow,
    },
    outbound::Policy,
    providers::registry::Providers,
    services::extraction::{Format, SUPPORTED},
};

/// Largest configuration or metadata object, serialised.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Largest document content, in characters.
pub const MAX_CONTENT: usize = 1_000_000;

const EXTERNAL_ID_TAKEN: ConstraintRule = ConstraintRule {
    constraint: "documents_datasource_id_external_id_key",
    field: "externalId",
    code: "EXTERNAL_ID_TAKEN",
    message: "the datasource has a document with this externalId",
};

fn project_of(grant: &Grant) -> AppResult<Uuid> {
    grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a knowledge change needs a project grant")))
}

fn check_object(errors: &mut Vec<FieldError>, field: &str, value: Option<&Value>) {
    match value {
        Some(v) if !v.is_object() => errors.push(FieldError::input(
            field,
            "INVALID_JSON",
            format!("{field} must be a JSON object"),
        )),
        Some(v) if v.to_string().len() > MAX_JSON_BYTES => errors.push(FieldError::input(
            field,
            "TOO_LARGE",
            format!("{field} must be at most 64 KiB of JSON"),
        )),
        _ => {}
    }
}

fn check_url(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>) {
    let bad = value.is_some_and(|u| {
        u.len() > 2_048
            || reqwest::Url::parse(u).map_or(true, |url| {
                !["http", "https"].contains(&url.scheme()) || url.host().is_none()
            })
    });
    if bad {
        errors.push(FieldError::input(
            field,
            "INVALID_URL",
            format!("{field} must be an http:// or https:// URL"),
        ));
    }
}

fn done(errors: Vec<FieldError>) -> AppResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// What datasource changes take; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct DatasourceFields {
    /// 1 to 200 characters.
    pub name: Option<String>,
    /// Where documents come from (set at creation).
    pub kind: Option<DatasourceKind>,
    /// A JSON object of at most 64 KiB (connector settings; never secrets: those go in a
    /// credential).
    pub config: Option<Value>,
    /// A credential of the project's organization; `Some(None)` unlinks it.
    pub credential_id: Option<Option<Uuid>>,
    /// False disables syncing, true enables it again.
    pub enabled: Option<bool>,
    /// The embedding model of its documents (`provider/model`); the server's default at
    /// creation when omitted. A change re-indexes its documents.
    pub embedding_model: Option<String>,
}

/// Checks a datasource's fields. Using an organization's credential (linking it, or changing
/// the config of a datasource that uses one: where its key is sent) needs
/// `credentials.manage` there, not only `documents.write` in the project.
async fn check_datasource(
    conn: &mut AsyncPgConnection,
    (grant, providers): (&Grant, &Providers),
    fields: &mut DatasourceFields,
    linked: bool,
) -> AppResult<()> {
    let mut errors = Vec::new();
    if let Some(name) = &fields.embedding_model {
        match embeddings::resolve(providers, "embeddingModel", name) {
            Ok(model) => fields.embedding_model = Some(model.name()),
            Err(AppError::Invalid(invalid)) => errors.extend(invalid),
            Err(other) => return Err(other),
        }
    }
    fields.name = fields.name.as_ref().map(|n| n.trim().to_owned());
    errors.extend(
        fields
            .name
            .as_deref()
            .and_then(|n| FieldError::check_length("name", n, 200)),
    );
    check_object(&mut errors, "config", fields.config.as_ref());
    let uses_credential = matches!(fields.credential_id, Some(Some(_))) || (linked && fields.config.is_some());
    if uses_credential && !grant.allows(Permission::CredentialsManage) {
        errors.push(FieldError::input(
            "credentialId",
            "FORBIDDEN",
            "using a credential of the organization needs credentials.manage there",
        ));
    }
    if let Some(Some(id)) = fields.credential_id {
        let credential = CredentialRow::find(conn, id).await?;
        if credential.is_none_or(|c| c.organization_id != grant.organization_id()) {
            errors.push(FieldError::input(
                "credentialId",
                "NOT_FOUND",
                "credentialId is not a credential of this organization",
            ));
        }
    }
    done(errors)
}

/// Creates a datasource in the granted project.
pub async fn create_datasource(
    tx: &mut Tx,
    (grant, providers): (&Grant, &Providers),
    mut fields: DatasourceFields,
) -> AppResult<DatasourceRow> {
    let project_id = project_of(grant)?;
    if fields.name.is_none() {
        return Err(FieldError::input("name", "REQUIRED", "name is required").into());
    }
    check_datasource(tx.conn(), (grant, providers), &mut fields, false).await?;
    let new = NewDatasource {
        id: new_id(),
        project_id,
        name: fields.name.unwrap_or_default(),
        kind: fields.kind.unwrap_or(DatasourceKind::Manual),
        config: fields.config.unwrap_or_else(|| json!({})),
        credential_id: fields.credential_id.flatten(),
        embedding_model: fields
            .embedding_model
            .unwrap_or_else(|| providers.default_embedding().name()),
    };
    let row = new.insert(tx.conn()).await?;
    tx.audit(grant)
        .on("datasource", row.id)
        .details(json!({ "name": row.name, "kind": row.kind.as_str(), "embeddingModel": row.embedding_model }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Changes a datasource of the granted project.
pub async fn update_datasource(
    tx: &mut Tx,
    (datasource, providers): (&Granted<DatasourceRow>, &Providers),
    mut fields: DatasourceFields,
) -> AppResult<DatasourceRow> {
    let grant = datasource.grant();
    let linked = datasource.credential_id.is_some() && fields.credential_id != Some(None);
    check_datasource(tx.conn(), (grant, providers), &mut fields, linked).await?;
    let new_model = fields
        .embedding_model
        .take()
        .filter(|model| *model != datasource.embedding_model);
    let status = fields.enabled.map(|on| {
        if on {
            DatasourceStatus::Idle
        } else {
            DatasourceStatus::Disabled
        }
    });
    let details = json!({
        "name": fields.name, "config": fields.config.is_some(),
        "credential": fields.credential_id.is_some(), "enabled": fields.enabled,
        "embeddingModel": new_model,
    });
    let patch = DatasourcePatch {
        name: fields.name,
        config: fields.config,
        credential_id: fields.credential_id,
        status,
        embedding_model: new_model,
        ..Default::default()
    };
    if patch.name.is_none()
        && patch.config.is_none()
        && patch.credential_id.is_none()
        && patch.status.is_none()
        && patch.embedding_model.is_none()
    {
        return Ok(datasource.row().clone());
    }
    let reindex = patch.embedding_model.is_some();
    let row = patch.apply(tx.conn(), datasource.id).await?;
    if reindex {
        reindex_datasource(tx.conn(), row.id).await?;
    }
    tx.audit(grant)
        .on("datasource", row.id)
        .details(details)
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Queues every document of datasource `id` for indexing again (its embedding model changed):
/// each is `pending` until its new chunks replace the old ones.
async fn reindex_datasource(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<()> {
    let pending: Vec<DocumentRow> = diesel::update(documents::table.filter(documents::datasource_id.eq(id)))
        .set(documents::status.eq(DocumentStatus::Pending))
        .returning(DocumentRow::as_returning())
        .get_results(conn)
        .await?;
    for document in &pending {
        ingestion::queue(conn, document).await?;
    }
    Ok(())
}

/// Deletes a datasource of the granted project with its documents.
pub async fn delete_datasource(tx: &mut Tx, datasource: &Granted<DatasourceRow>) -> AppResult<()> {
    diesel::delete(datasources::table.find(datasource.id))
        .execute(tx.conn())
        .await?;
    tx.audit(datasource.grant())
        .on("datasource", datasource.id)
        .details(json!({ "name": datasource.name }))
        .record_in(tx)
        .await?;
    Ok(())
}

/// What document changes take; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct DocumentFields {
    /// A datasource of the same project (set at creation).
    pub datasource_id: Option<Uuid>,
    /// The id in the datasource's system, unique per datasource (set at creation).
    pub external_id: Option<String>,
    /// 1 to 1,000 characters.
    pub title: Option<String>,
    /// Where it comes from: an http(s) URL; `Some(None)` clears it.
    pub source_url: Option<Option<String>>,
    /// The text, at most 1,000,000 characters.
    pub content: Option<String>,
    /// Its media type, such as `text/markdown`.
    pub mime_type: Option<Option<String>>,
    /// A JSON object of at most 64 KiB.
    pub metadata: Option<Value>,
}

async fn check_document(conn: &mut AsyncPgConnection, project_id: Uuid, fields: &mut DocumentFields) -> AppResult<()> {
    let mut errors = Vec::new();
    fields.title = fields.title.as_ref().map(|t| t.trim().to_owned());
    errors.extend(
        fields
            .title
            .as_deref()
            .and_then(|t| FieldError::check_length("title", t, 1_000)),
    );
    if fields
        .content
        .as_deref()
        .is_some_and(|c| c.chars().count() > MAX_CONTENT)
    {
        errors.push(FieldError::input(
            "content",
            "TOO_LARGE",
            format!("content must be at most {MAX_CONTENT} characters"),
        ));
    }
    check_url(&mut errors, "sourceUrl", fields.source_url.clone().flatten().as_deref());
    check_object(&mut errors, "metadata", fields.metadata.as_ref());
    let media_ok = |m: &str| {
        m.len() <= 255
            && m.split_once('/').is_some_and(|(a, b)| {
                let token =
                    |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c));
                token(a) && token(b)
            })
    };
    if fields.mime_type.clone().flatten().is_some_and(|m| !media_ok(&m)) {
        errors.push(FieldError::input(
            "mimeType",
            "INVALID_MEDIA_TYPE",
            "mimeType must look like text/markdown",
        ));
    }
    if fields
        .external_id
        .as_deref()
        .is_some_and(|e| e.is_empty() || e.len() > 500)
    {
        errors.push(FieldError::input(
            "externalId",
            "INVALID_LENGTH",
            "externalId must be 1 to 500 characters",
        ));
    }
    if let Some(id) = fields.datasource_id {
        let datasource = DatasourceRow::find(conn, id).await?;
        if datasource.is_none_or(|d| d.project_id != project_id) {
            errors.push(FieldError::input(
                "datasourceId",
                "NOT_FOUND",
                "datasourceId is not a datasource of this project",
            ));
        }
    }
    done(errors)
}

/// The SHA-256 of a document's text, in hex.
pub fn content_hash(content: &str) -> String {
    format!("{:x}", Sha256::digest(content.as_bytes()))
}

/// Creates a document (pending ingestion) in the granted project.
pub async fn create_document(tx: &mut Tx, grant: &Grant, fields: DocumentFields) -> AppResult<DocumentRow> {
    insert_document(tx, grant, fields, (DocumentOrigin::Text, None)).await
}

/// Creates a document in the granted project whose text its indexing job reads from the
/// project's uploaded file `file_id` (a file uploaded for a chat stays the chat's). Its title
/// is the file's name unless given.
pub async fn create_document_from_file(
    tx: &mut Tx,
    grant: &Grant,
    file_id: Uuid,
    mut fields: DocumentFields,
) -> AppResult<DocumentRow> {
    let project_id = project_of(grant)?;
    let file = FileRow::find(tx.conn(), file_id)
        .await?
        .filter(|f| f.project_id == Some(project_id) && f.chat_id.is_none())
        .ok_or_else(|| FieldError::input("fileId", "NOT_FOUND", "fileId is not a file of this project"))?;
    if Format::of(Some(&file.content_type), &file.filename).is_none() {
        return Err(FieldError::input(
            "fileId",
            "UNSUPPORTED_TYPE",
            format!("{} files cannot be read; documents are {SUPPORTED}", file.content_type),
        )
        .into());
    }
    fields.title = fields.title.or_else(|| Some(file.filename.clone()));
    fields.mime_type = Some(Some(file.content_type.clone()));
    insert_document(tx, grant, fields, (DocumentOrigin::File, Some(file.id))).await
}

/// Creates a document in the granted `web` datasource whose text its indexing job fetches
/// from `url` (http or https, never an internal address unless the outbound policy allows
/// it). The URL is its external id, so a page is in a datasource once.
pub async fn create_document_from_url(
    tx: &mut Tx,
    (datasource, policy): (&Granted<DatasourceRow>, &Policy),
    url: &str,
    mut fields: DocumentFields,
) -> AppResult<DocumentRow> {
    if datasource.kind != DatasourceKind::Web {
        return Err(FieldError::input(
            "datasourceId",
            "NOT_WEB",
            "documents are fetched from URLs into WEB datasources only",
        )
        .into());
    }
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|_| FieldError::input("url", "INVALID_URL", "url must be an absolute http(s) URL"))?;
    if let Some(why) = policy.for_pages().refuses(&parsed) {
        return Err(FieldError::input("url", "URL_REFUSED", why).into());
    }
    let url = parsed.to_string();
    if url.len() > 2_000 {
        return Err(FieldError::input("url", "INVALID_URL", "url must be at most 2,000 characters").into());
    }
    fields.datasource_id = Some(datasource.id);
    fields.title = fields.title.or_else(|| Some(url.chars().take(1_000).collect()));
    fields.external_id = fields.external_id.or_else(|| (url.len() <= 500).then(|| url.clone()));
    fields.source_url = Some(Some(url));
    insert_document(tx, datasource.grant(), fields, (DocumentOrigin::Url, None)).await
}

/// Reads a file or URL document's source again and re-indexes it if its text changed.
pub async fn refresh_document(tx: &mut Tx, document: &Granted<DocumentRow>) -> AppResult<DocumentRow> {
    if document.origin == DocumentOrigin::Text {
        return Err(FieldError::input(
            "id",
            "NOT_FROM_A_SOURCE",
            "only documents read from a file or a URL are read again",
        )
        .into());
    }
    let row = DocumentPatch {
        status: Some(DocumentStatus::Pending),
        ..DocumentPatch::default()
    }
    .apply(tx.conn(), document.id)
    .await?;
    ingestion::queue_refresh(tx.conn(), &row).await?;
    tx.audit(document.grant())
        .on("document", row.id)
        .details(json!({ "origin": row.origin.as_str() }))
        .record_in(tx)
        .await?;
    Ok(row)
}

async fn insert_document(
    tx: &mut Tx,
    grant: &Grant,
    mut fields: DocumentFields,
    (origin, file_id): (DocumentOrigin, Option<Uuid>),
) -> AppResult<DocumentRow> {
    let project_id = project_of(grant)?;
    if fields.title.is_none() {
        return Err(FieldError::input("title", "REQUIRED", "title is required").into());
    }
    check_document(tx.conn(), project_id, &mut fields).await?;
    let content = fields.content.unwrap_or_default();
    let new = NewDocument {
        id: new_id(),
        project_id,
        datasource_id: fields.datasource_id,
        external_id: fields.external_id,
        title: fields.title.unwrap_or_default(),
        source_url: fields.source_url.flatten(),
        // A source's text, and so its hash, comes with its first indexing.
        content_hash: (origin == DocumentOrigin::Text).then(|| content_hash(&content)),
        content,
        mime_type: fields.mime_type.flatten(),
        metadata: fields.metadata.unwrap_or_else(|| json!({})),
        status: DocumentStatus::Pending,
        indexed_at: None,
        origin,
        file_id,
    };
    let row = new
        .insert(tx.conn())
        .await
        .map_err(|e| constraint_error(e, &[EXTERNAL_ID_TAKEN]))?;
    ingestion::queue(tx.conn(), &row).await?;
    tx.audit(grant)
        .on("document", row.id)
        .details(json!({ "title": row.title, "bytes": row.content.len(), "origin": row.origin.as_str() }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Changes a document of the granted project; new content makes it pending again.
pub async fn update_document(
    tx: &mut Tx,
    document: &Granted<DocumentRow>,
    mut fields: DocumentFields,
) -> AppResult<DocumentRow> {
    check_document(tx.conn(), document.project_id, &mut fields).await?;
    if fields.content.is_some() && document.origin != DocumentOrigin::Text {
        return Err(FieldError::input(
            "content",
            "FROM_A_SOURCE",
            "the text of a document read from a file or a URL comes from there; refresh it instead",
        )
        .into());
    }
    let new_content = fields.content.filter(|c| *c != document.content);
    let details = json!({
        "title": fields.title.is_some(), "content": new_content.is_some(),
        "sourceUrl": fields.source_url.is_some(), "metadata": fields.metadata.is_some(),
    });
    let patch = DocumentPatch {
        title: fields.title,
        source_url: fields.source_url,
        content_hash: new_content.as_deref().map(|c| Some(content_hash(c))),
        status: new_content.is_some().then_some(DocumentStatus::Pending),
        indexed_at: new_content.is_some().then_some(None),
        index_error: new_content.is_some().then_some(None),
        content: new_content,
        mime_type: fields.mime_type,
        metadata: fields.metadata,
    };
    if patch.title.is_none()
        && patch.source_url.is_none()
        && patch.content.is_none()
        && patch.mime_type.is_none()
        && patch.metadata.is_none()
    {
        return Ok(document.row().clone());
    }
    let reindex = patch.content.is_some();
    if reindex {
        diesel::delete(document_chunks::table.filter(document_chunks::document_id.eq(document.id)))
            .execute(tx.conn())
            .await?;
    }
    let row = patch.apply(tx.conn(), document.id).await?;
    if reindex {
        ingestion::queue(tx.conn(), &row).await?;
    }
    tx.audit(document.grant())
        .on("document", row.id)
        .details(details)
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Deletes a document of the granted project with its chunks.
pub async fn delete_document(tx: &mut Tx, document: &Granted<DocumentRow>) -> AppResult<()> {
    diesel::delete(documents::table.find(document.id))
        .execute(tx.conn())
        .await?;
    tx.audit(document.grant())
        .on("document", document.id)
        .details(json!({ "title": document.title }))
        .record_in(tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_json_objects_are_checked() {
        let mut errors = Vec::new();
        check_url(&mut errors, "sourceUrl", Some("https://example.com/a"));
        check_url(&mut errors, "sourceUrl", Some("http://example.com/a"));
        check_object(&mut errors, "metadata", Some(&json!({ "a": 1 })));
        assert!(errors.is_empty(), "{errors:?}");
        check_url(&mut errors, "sourceUrl", Some("file:///etc/passwd"));
        check_object(&mut errors, "metadata", Some(&json!([1, 2])));
        check_object(&mut errors, "config", Some(&json!({ "a": "x".repeat(MAX_JSON_BYTES) })));
        let codes: Vec<_> = errors.iter().map(|e| (e.field[1].as_str(), e.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("sourceUrl", "INVALID_URL"),
                ("metadata", "INVALID_JSON"),
                ("config", "TOO_LARGE")
            ]
        );
    }
}
