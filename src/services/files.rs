//! Files: upload (with a [`Grant`] of `chat.write` in the project), attach to an assistant,
//! chat or message of the same project that the caller may change, detach (with the same
//! right), delete.
//!
//! An upload is checked (not empty, within the size limit, a plain file name), its content
//! type is read from its bytes (never from its name or the client's claim, except that a
//! text file may keep a declared `text/*` type), and its SHA-256 recorded. The bytes are
//! stored first, then the row, the storage quota debit and the audit row are written in the
//! write's transaction; when that fails the stored bytes are deleted again, so a failed upload
//! leaves nothing behind. Deleting removes the row (and gives the storage back) first and the
//! bytes after the commit.

use anyhow::anyhow;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    quotas::{self, Usage},
    write::{RecordIn, Tx},
};
use crate::{
    auth::grant::{Grant, Granted, Permission},
    db::{
        new_id,
        schema::{file_attachments, files},
    },
    error::{AppError, AppResult, ConstraintRule, FieldError, constraint_error},
    models::{
        assistant::AssistantRow,
        chat::ChatRow,
        file::{AttachmentOfFile, FileAttachmentRow, FileRow, NewFile, NewFileAttachment},
        message::ChatMessage,
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
    tx: &mut Tx,
    grant: &Grant,
    store: &FileStore,
    upload: Upload,
    chat: Option<&Granted<ChatRow>>,
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
        chat_id: chat.map(|c| c.id),
    };
    store.put(&new.storage_key, upload.bytes).await?;
    let key = new.storage_key.clone();
    let stored = record_upload(tx, grant, project_id, new).await;
    // The transaction rolls back; the bytes must go too, so a failed upload leaves nothing.
    if stored.is_err()
        && let Err(error) = store.delete(&key).await
    {
        tracing::error!(file.key = key, error = %error, "removing the bytes of a failed upload");
    }
    stored
}

/// The rows of an upload whose bytes are stored: the storage debit, the file, the audit row.
async fn record_upload(tx: &mut Tx, grant: &Grant, project_id: Uuid, new: NewFile) -> AppResult<FileRow> {
    let usage = Usage {
        storage_bytes: new.size_bytes,
        ..Default::default()
    };
    quotas::debit(tx.conn(), project_id, usage).await?;
    let row = new.insert(tx.conn()).await?;
    tx.audit(grant)
        .on("file", row.id)
        .details(json!({ "filename": row.filename, "contentType": row.content_type, "bytes": row.size_bytes, "sha256": row.sha256 }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Deletes a file (checked as [`Granted::removable`]): its row and attachments, giving its
/// storage back, and its bytes once that has committed.
pub async fn delete(tx: &mut Tx, store: &FileStore, file: &Granted<FileRow>) -> AppResult<()> {
    remove(tx, store, file).await?;
    tx.audit(file.grant())
        .on("file", file.id)
        .in_chat(file.chat_id)
        .details(json!({ "filename": file.filename, "bytes": file.size_bytes }))
        .record_in(tx)
        .await?;
    Ok(())
}

/// Deletes the files uploaded for `chat` (with it), giving their storage back; their bytes
/// go once that has committed.
pub async fn delete_of_chat(tx: &mut Tx, store: &FileStore, chat: &ChatRow) -> AppResult<()> {
    for file in FileRow::of_chat(tx.conn(), chat.id).await? {
        remove(tx, store, &file).await?;
    }
    Ok(())
}

/// Removes `file`'s row, gives its storage back, and deletes its bytes after the commit.
async fn remove(tx: &mut Tx, store: &FileStore, file: &FileRow) -> AppResult<()> {
    let project_id = file.project_id.unwrap_or_default();
    diesel::delete(files::table.find(file.id)).execute(tx.conn()).await?;
    quotas::credit_storage(tx.conn(), project_id, file.size_bytes).await?;
    // The row is gone; bytes left behind by a failure here are unreachable, not lost data.
    let (store, key) = (store.clone(), file.storage_key.clone());
    tx.after_commit(async move {
        if let Err(error) = store.delete(&key).await {
            tracing::error!(file.key = key, error = %error, "removing the bytes of a deleted file");
        }
    });
    Ok(())
}

/// What a file is attached to, by id.
#[derive(Debug, Clone, Copy)]
pub enum TargetId {
    /// An assistant (its knowledge files).
    Assistant(Uuid),
    /// A chat.
    Chat(Uuid),
    /// A message.
    Message(Uuid),
}

/// What a file is attached to, with the caller's right to change it: an assistant needs
/// `project.update`, a chat or message the right to write to that chat.
pub enum Target {
    /// An assistant.
    Assistant(Granted<AssistantRow>),
    /// A chat.
    Chat(Granted<ChatRow>),
    /// A message.
    Message(Box<Granted<ChatMessage>>),
}

impl Target {
    /// Target `id`, checked: NOT_FOUND (on its input field) when the caller cannot see it.
    pub async fn grant(tx: &mut Tx, id: TargetId) -> AppResult<Target> {
        let (field, _) = id.names();
        Ok(match id {
            TargetId::Assistant(id) => Target::Assistant(tx.granted_input(id, Permission::ProjectUpdate, field).await?),
            TargetId::Chat(id) => Target::Chat(tx.granted_input(id, Permission::ChatWrite, field).await?),
            TargetId::Message(id) => {
                Target::Message(Box::new(tx.granted_input(id, Permission::ChatWrite, field).await?))
            }
        })
    }

    /// The project it lies in.
    fn project_id(&self) -> Option<Uuid> {
        match self {
            Target::Assistant(a) => a.project_id,
            Target::Chat(c) => Some(c.project_id),
            Target::Message(m) => Some(m.chat.project_id),
        }
    }

    /// The chat it belongs to, if any.
    fn chat_id(&self) -> Option<Uuid> {
        match self {
            Target::Assistant(_) => None,
            Target::Chat(c) => Some(c.id),
            Target::Message(m) => Some(m.chat.id),
        }
    }

    /// Its id.
    fn id(&self) -> TargetId {
        match self {
            Target::Assistant(a) => TargetId::Assistant(a.id),
            Target::Chat(c) => TargetId::Chat(c.id),
            Target::Message(m) => TargetId::Message(m.message.id),
        }
    }
}

impl TargetId {
    /// The input field naming it, and what it is.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            TargetId::Assistant(_) => ("assistantId", "assistant"),
            TargetId::Chat(_) => ("chatId", "chat"),
            TargetId::Message(_) => ("messageId", "message"),
        }
    }

    /// The attachment's three target columns.
    fn columns(self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            TargetId::Assistant(id) => (Some(id), None, None),
            TargetId::Chat(id) => (None, Some(id), None),
            TargetId::Message(id) => (None, None, Some(id)),
        }
    }

    /// The target of an attachment row.
    pub fn of(attachment: &FileAttachmentRow) -> Option<TargetId> {
        match (attachment.assistant_id, attachment.chat_id, attachment.message_id) {
            (Some(id), ..) => Some(TargetId::Assistant(id)),
            (_, Some(id), _) => Some(TargetId::Chat(id)),
            (.., Some(id)) => Some(TargetId::Message(id)),
            _ => None,
        }
    }
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

/// Attaches a file to `target`, which must lie in the file's project.
pub async fn attach(tx: &mut Tx, file: &Granted<FileRow>, target: &Target) -> AppResult<FileAttachmentRow> {
    let (field, what) = target.id().names();
    if file.chat_id.is_some() && target.chat_id() != file.chat_id {
        return Err(FieldError::input(
            field,
            "OTHER_CHAT",
            "a file uploaded for a chat is attached only in that chat",
        )
        .into());
    }
    if target.project_id() != file.project_id {
        return Err(FieldError::input(
            field,
            "NOT_FOUND",
            format!("{field} is not a {what} of the file's project"),
        )
        .into());
    }
    let (assistant_id, chat_id, message_id) = target.id().columns();
    let new = NewFileAttachment {
        id: new_id(),
        file_id: file.id,
        assistant_id,
        chat_id,
        message_id,
    };
    let row = new.insert(tx.conn()).await.map_err(|e| constraint_error(e, ATTACHED))?;
    tx.audit(file.grant())
        .on("file", file.id)
        .in_chat(target.chat_id())
        .details(json!({ "attachmentId": row.id, what: assistant_id.or(chat_id).or(message_id) }))
        .record_in(tx)
        .await?;
    Ok(row)
}

/// Removes an attachment (the file stays); the caller must also hold the right to change
/// what it is attached to (`target`, which must be the attachment's own).
pub async fn detach(tx: &mut Tx, attachment: &Granted<AttachmentOfFile>, target: &Target) -> AppResult<()> {
    let row = &attachment.attachment;
    if TargetId::of(row).map(TargetId::columns) != Some(target.id().columns()) {
        return Err(AppError::Internal(anyhow!(
            "detach checked another target than the attachment's"
        )));
    }
    diesel::delete(file_attachments::table.filter(file_attachments::id.eq(row.id)))
        .execute(tx.conn())
        .await?;
    tx.audit(attachment.grant())
        .on("file", row.file_id)
        .in_chat(target.chat_id())
        .details(json!({ "attachmentId": row.id }))
        .record_in(tx)
        .await?;
    Ok(())
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
