//! Uploaded files and what they are attached to (exactly one assistant, chat or message).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning};
use crate::db::schema::{file_attachments, files};

/// File metadata; the bytes live in storage under `storage_key`.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = files, check_for_backend(diesel::pg::Pg))]
pub struct FileRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub uploaded_by: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The chat it was uploaded for (seen exactly as that chat), if any.
    pub chat_id: Option<Uuid>,
}

/// A new file.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = files)]
pub struct NewFile {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
    pub uploaded_by: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub external_id: Option<String>,
    pub chat_id: Option<Uuid>,
}

/// A change to a file (its name).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = files)]
pub struct FilePatch {
    pub filename: Option<String>,
}

find_by_id!(FileRow, files);
insert_returning!(NewFile => FileRow, files);
update_returning!(FilePatch => FileRow, files);

/// A file attached to one assistant, chat or message.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = file_attachments, check_for_backend(diesel::pg::Pg))]
#[diesel(belongs_to(FileRow, foreign_key = file_id))]
pub struct FileAttachmentRow {
    pub id: Uuid,
    pub file_id: Uuid,
    pub assistant_id: Option<Uuid>,
    pub chat_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A new attachment: set exactly one target (the database refuses anything else).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = file_attachments)]
pub struct NewFileAttachment {
    pub id: Uuid,
    pub file_id: Uuid,
    pub assistant_id: Option<Uuid>,
    pub chat_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
}

find_by_id!(FileAttachmentRow, file_attachments);
insert_returning!(NewFileAttachment => FileAttachmentRow, file_attachments);

/// An attachment with its file (whose place it lies in).
#[derive(Debug, Clone)]
pub struct AttachmentOfFile {
    /// The attachment.
    pub attachment: FileAttachmentRow,
    /// Its file.
    pub file: FileRow,
}

impl AttachmentOfFile {
    /// Attachment `id` with its file.
    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        let Some(attachment) = FileAttachmentRow::find(conn, id).await? else {
            return Ok(None);
        };
        let file = FileRow::find(conn, attachment.file_id).await?;
        Ok(file.map(|file| AttachmentOfFile { attachment, file }))
    }
}

impl FileRow {
    /// The files uploaded for chat `chat_id`.
    pub async fn of_chat(conn: &mut AsyncPgConnection, chat_id: Uuid) -> QueryResult<Vec<FileRow>> {
        files::table
            .filter(files::chat_id.eq(chat_id))
            .select(FileRow::as_select())
            .load(conn)
            .await
    }

    /// The files attached to each of `message_ids`: (message id, file), oldest attachment first.
    pub async fn attached_to_messages(
        conn: &mut AsyncPgConnection,
        message_ids: &[Uuid],
    ) -> QueryResult<Vec<(Option<Uuid>, FileRow)>> {
        file_attachments::table
            .inner_join(files::table)
            .filter(file_attachments::message_id.eq_any(message_ids))
            .order((file_attachments::created_at, file_attachments::id))
            .select((file_attachments::message_id, FileRow::as_select()))
            .load(conn)
            .await
    }
}
