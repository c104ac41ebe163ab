//! Files: upload (with a [`Grant`] of `chat.write` in the project), attach to an assistant,
//! chat or message of the same project, detach, delete.
//!
//! An upload is checked (not empty, within the size limit, a plain file name), its content
//! type is read from its bytes (never from its name or the client's claim, except that a
//! text file may keep a declared `text/*` type), and its SHA-256 recorded. The bytes are
//! stored first, then the row, the storage quota debit and the audit row are written in one
//! transaction; when that fails the stored bytes are deleted again, so a failed upload leaves
//! nothing behind. Deleting removes the row (and gives the storage back) first and the bytes
//! after the commit.

use anyhow::anyhow;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    audit::AuditEvent,
    auth::ClientInfo,
    quotas::{self, Usage},
};
use crate::{
    auth::grant::Grant,
    db::{
        new_id,
        schema::{file_attachments, files},
    },
    error::{AppError, AppResult, ConstraintRule, FieldError, constraint_error},
    models::{
        assistant::AssistantRow,
        chat::ChatRow,
        file::{FileAttachmentRow, FileRow, NewFile, NewFileAttachment},
        message::MessageRow,
    },
    storage::FileStore,
};

/// Longest file name, in characters.
pub const MAX_FILENAME: usize = 255;

/// Content types that are never stored: programs.
const REFUSED_TYPES: &[&str] = &[
    "application/x-executable",
    "application/vnd.microsoft.portable-executable",
    "application/x-mach-binary",
    "application/x-msdownload",
    "application/x-elf",
];

/// An uploaded file as it arrived.
pub struct Upload {
    /// The name the client gave; only its last path component is kept.
    pub filename: String,
    /// The type the client declared (trusted only for text).
    pub declared_type: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The file name to keep: the last path component, trimmed; a user error when that is empty,
/// too long or holds control characters.
fn clean_filename(name: &str) -> AppResult<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty()
        || base == "."
        || base == ".."
        || base.chars().count() > MAX_FILENAME
        || base.chars().any(char::is_control)
    {
        return Err(FieldError::input(
            "file",
            "INVALID_FILENAME",
            format!("the file name must be 1 to {MAX_FILENAME} characters without control characters"),
        )
        .into());
    }
    Ok(base.to_owned())
}

/// The content type of `bytes`: what their signature says; for text without a signature the
/// declared `text/*` type (or `text/plain`); otherwise `application/octet-stream`.
pub fn sniff_content_type(bytes: &[u8], declared: Option<&str>) -> String {
    if let Some(kind) = infer::get(bytes) {
        return kind.mime_type().to_owned();
    }
    if std::str::from_utf8(bytes).is_ok() {
        let declared = declared.map(|d| d.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        return match declared {
            Some(d)
                if (d.starts_with("text/") || d == "application/json")
                    && d.len() <= 100
                    && d.chars().all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c)) =>
            {
                d
            }
            _ => "text/plain".to_owned(),
        };
    }
    "application/octet-stream".to_owned()
}

/// Stores an upload in the granted project.
pub async fn upload(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    store: &FileStore,
    upload: Upload,
) -> AppResult<FileRow> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a file is uploaded with a project grant")))?;
    let filename = clean_filename(&upload.filename)?;
    if upload.bytes.is_empty() {
        return Err(FieldError::input("file", "EMPTY_FILE", "the file is empty").into());
    }
    if upload.bytes.len() > store.max_upload_bytes {
        return Err(FieldError::input(
            "file",
            "FILE_TOO_LARGE",
            format!("the file is larger than {} bytes", store.max_upload_bytes),
        )
        .into());
    }
    let content_type = sniff_content_type(&upload.bytes, upload.declared_type.as_deref());
    if REFUSED_TYPES.contains(&content_type.as_str()) {
        return Err(FieldError::input(
            "file",
            "UNSUPPORTED_TYPE",
            format!("{content_type} files are not accepted"),
        )
        .into());
    }
    let size = i64::try_from(upload.bytes.len()).map_err(|e| AppError::Internal(e.into()))?;
    let id = new_id();
    let new = NewFile {
        id,
        organization_id: grant.organization_id(),
        project_id: Some(project_id),
        uploaded_by: Some(grant.caller().user.id),
        filename,
        content_type,
        size_bytes: size,
        sha256: format!("{:x}", Sha256::digest(&upload.bytes)),
        storage_key: format!("{}/{project_id}/{id}", grant.organization_id()),
        external_id: None,
    };
    store.put(&new.storage_key, upload.bytes).await?;
    let stored = conn
        .transaction::<_, AppError, _>(async |conn| {
            let usage = Usage {
                storage_bytes: size,
                ..Default::default()
            };
            quotas::debit(conn, project_id, usage).await?;
            let row = new.insert(conn).await?;
            AuditEvent::new("file.upload")
                .by(grant.caller())
                .within(Some(grant.organization_id()), Some(project_id))
                .on("file", row.id)
                .details(json!({ "filename": row.filename, "contentType": row.content_type, "bytes": size, "sha256": row.sha256 }))
                .record(conn, client)
                .await?;
            Ok(row)
        })
        .await;
    if stored.is_err()
        && let Err(error) = store.delete(&new.storage_key).await
    {
        tracing::error!(file.key = new.storage_key, error = %error, "removing the bytes of a failed upload");
    }
    stored
}

/// Deletes a file of the granted project: its row and attachments (giving its storage back),
/// then its bytes.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    store: &FileStore,
    file: &FileRow,
) -> AppResult<()> {
    let project_id = grant
        .project_id()
        .ok_or_else(|| AppError::Internal(anyhow!("a file is deleted with a project grant")))?;
    conn.transaction::<_, AppError, _>(async |conn| {
        diesel::delete(files::table.find(file.id)).execute(conn).await?;
        quotas::credit_storage(conn, project_id, file.size_bytes).await?;
        AuditEvent::new("file.delete")
            .by(grant.caller())
            .within(Some(grant.organization_id()), Some(project_id))
            .on("file", file.id)
            .details(json!({ "filename": file.filename, "bytes": file.size_bytes }))
            .record(conn, client)
            .await?;
        Ok(())
    })
    .await?;
    // The row is gone; bytes left behind by a failure here are unreachable, not lost data.
    if let Err(error) = store.delete(&file.storage_key).await {
        tracing::error!(file.key = file.storage_key, error = %error, "removing the bytes of a deleted file");
    }
    Ok(())
}

/// What a file is attached to: exactly one of them.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// An assistant (its knowledge files).
    Assistant(Uuid),
    /// A chat.
    Chat(Uuid),
    /// A message.
    Message(Uuid),
}

const ATTACHED: &[ConstraintRule] = &[
    ConstraintRule {
        constraint: "file_attachments_file_id_assistant_id_key",
        field: "assistantId",
        code: "ALREADY_ATTACHED",
        message: "the file is attached to this assistant already",
    },
    ConstraintRule {
        constraint: "file_attachments_file_id_chat_id_key",
        field: "chatId",
        code: "ALREADY_ATTACHED",
        message: "the file is attached to this chat already",
    },
    ConstraintRule {
        constraint: "file_attachments_file_id_message_id_key",
        field: "messageId",
        code: "ALREADY_ATTACHED",
        message: "the file is attached to this message already",
    },
];

/// The project of an attachment target, when it exists.
async fn project_of_target(conn: &mut AsyncPgConnection, target: Target) -> AppResult<Option<Uuid>> {
    Ok(match target {
        Target::Assistant(id) => AssistantRow::find(conn, id).await?.and_then(|a| a.project_id),
        Target::Chat(id) => ChatRow::find(conn, id).await?.map(|c| c.project_id),
        Target::Message(id) => match MessageRow::find(conn, id).await? {
            Some(message) => ChatRow::find(conn, message.chat_id).await?.map(|c| c.project_id),
            None => None,
        },
    })
}

/// Attaches a file of the granted project to `target`, which must be in the same project.
pub async fn attach(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    file: &FileRow,
    target: Target,
) -> AppResult<FileAttachmentRow> {
    let (field, what) = match target {
        Target::Assistant(_) => ("assistantId", "assistant"),
        Target::Chat(_) => ("chatId", "chat"),
        Target::Message(_) => ("messageId", "message"),
    };
    if project_of_target(conn, target).await? != file.project_id {
        return Err(FieldError::input(
            field,
            "NOT_FOUND",
            format!("{field} is not a {what} of the file's project"),
        )
        .into());
    }
    let (assistant_id, chat_id, message_id) = match target {
        Target::Assistant(id) => (Some(id), None, None),
        Target::Chat(id) => (None, Some(id), None),
        Target::Message(id) => (None, None, Some(id)),
    };
    let new = NewFileAttachment {
        id: new_id(),
        file_id: file.id,
        assistant_id,
        chat_id,
        message_id,
    };
    conn.transaction::<_, AppError, _>(async |conn| {
        let row = new.insert(conn).await.map_err(|e| constraint_error(e, ATTACHED))?;
        AuditEvent::new("file.attach")
            .by(grant.caller())
            .within(Some(grant.organization_id()), grant.project_id())
            .on("file", file.id)
            .details(json!({ "attachmentId": row.id, what: assistant_id.or(chat_id).or(message_id) }))
            .record(conn, client)
            .await?;
        Ok(row)
    })
    .await
}

/// Removes an attachment of a file of the granted project (the file stays).
pub async fn detach(
    conn: &mut AsyncPgConnection,
    grant: &Grant,
    client: &ClientInfo,
    attachment: &FileAttachmentRow,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        diesel::delete(file_attachments::table.filter(file_attachments::id.eq(attachment.id)))
            .execute(conn)
            .await?;
        AuditEvent::new("file.detach")
            .by(grant.caller())
            .within(Some(grant.organization_id()), grant.project_id())
            .on("file", attachment.file_id)
            .details(json!({ "attachmentId": attachment.id }))
            .record(conn, client)
            .await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_come_from_the_bytes() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
        ];
        assert_eq!(sniff_content_type(&png, Some("text/plain")), "image/png");
        assert_eq!(sniff_content_type(b"# Notes\n", Some("text/markdown")), "text/markdown");
        assert_eq!(sniff_content_type(b"# Notes\n", Some("image/png")), "text/plain");
        assert_eq!(sniff_content_type(b"plain", None), "text/plain");
        assert_eq!(
            sniff_content_type(&[0xff, 0xfe, 0x00, 0x81], Some("text/plain")),
            "application/octet-stream"
        );
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(64, 0);
        assert_eq!(sniff_content_type(&elf, None), "application/x-executable");
    }

    #[test]
    fn file_names_keep_their_last_component() {
        assert_eq!(clean_filename("../../etc/passwd").ok().as_deref(), Some("passwd"));
        assert_eq!(
            clean_filename("C:\\Users\\ada\\notes.txt").ok().as_deref(),
            Some("notes.txt")
        );
        assert!(clean_filename("dir/").is_err());
        assert!(clean_filename("bad\u{0}name").is_err());
    }
}
