//! Files (`File`) and where they are attached (`FileAttachment`).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};

use super::{
    context::ContextExt,
    loaders::{FileById, load},
    mutation::{UserError, write},
    node::{global_id, input_id, optional_id},
    scalars::BigInt,
};
use crate::{
    auth::grant::{Granted, Permission, Place},
    error::{AppError, FieldError},
    models::{
        chat::ChatRow,
        file::{AttachmentOfFile, FileAttachmentRow, FileRow},
    },
    services::{
        audit::Action,
        files::{self, Target, TargetId},
    },
};

/// An uploaded file: its name, type, size and checksum (the bytes are in storage).
pub struct File(pub FileRow);

/// An uploaded file: its name, type, size and checksum (the bytes are in storage).
#[Object]
impl File {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("File", self.0.id)
    }

    /// The name it was uploaded with.
    async fn filename(&self) -> &str {
        &self.0.filename
    }

    /// Media type, detected from its bytes.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }

    /// Size in bytes.
    async fn size_bytes(&self) -> BigInt {
        BigInt(self.0.size_bytes)
    }

    /// SHA-256 of its bytes (hex).
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }

    /// When it was uploaded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A file attached to exactly one assistant, chat or message.
pub struct FileAttachment(pub FileAttachmentRow);

/// A file attached to exactly one assistant, chat or message.
#[Object]
impl FileAttachment {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("FileAttachment", self.0.id)
    }

    /// The file; null when the caller may not see it.
    async fn file(&self, ctx: &Context<'_>) -> Result<Option<File>> {
        Ok(load(ctx, FileById(self.0.file_id)).await?.map(File))
    }

    /// When it was attached.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `uploadFile`, sent as a GraphQL multipart request (the `file` variable is a part
/// of the request, see the GraphQL multipart request spec).
#[derive(InputObject)]
pub struct UploadFileInput {
    /// The project it belongs to (needs `chat.write` there).
    pub project_id: ID,
    /// The chat it is for, in that project (the caller must be allowed to write to it): the
    /// file is then seen exactly as the chat is (a private chat's files by its owner only),
    /// attached only in that chat, and deleted with it. Without it, the file is the
    /// project's, seen by all who see the project.
    pub chat_id: Option<ID>,
    /// The file (at most the server's upload limit, 25 MiB by default; not empty).
    pub file: Upload,
}

/// Input of `attachFile`: give exactly one of `assistantId`, `chatId` and `messageId`.
#[derive(InputObject)]
pub struct AttachFileInput {
    /// The file to attach.
    pub file_id: ID,
    /// An assistant of the file's project (its knowledge files).
    pub assistant_id: Option<ID>,
    /// A chat of the file's project.
    pub chat_id: Option<ID>,
    /// A message in a chat of the file's project.
    pub message_id: Option<ID>,
}

/// Input of `detachFile`.
#[derive(InputObject)]
pub struct DetachFileInput {
    /// The attachment to remove (the file stays).
    pub attachment_id: ID,
}

/// Input of `deleteFile`.
#[derive(InputObject)]
pub struct DeleteFileInput {
    /// The file to delete, with its attachments (the uploader's own, or any with
    /// `project.update`).
    pub id: ID,
}

/// The result of `uploadFile`.
#[derive(SimpleObject)]
pub struct FilePayload {
    /// The stored file, unless there were user errors.
    pub file: Option<File>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `attachFile`.
#[derive(SimpleObject)]
pub struct FileAttachmentPayload {
    /// The new attachment, unless there were user errors.
    pub attachment: Option<FileAttachment>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// The result of `detachFile` and `deleteFile`.
#[derive(SimpleObject)]
pub struct DeleteFilePayload {
    /// The id of the removed attachment or file (for removing it from client caches).
    pub deleted_id: Option<ID>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// File mutations.
#[derive(Default)]
pub struct FileMutation;

#[Object]
impl FileMutation {
    /// Uploads a file into a project. Its content type is detected from its bytes and its
    /// SHA-256 recorded; it counts against the project's storage quota (QUOTA_EXCEEDED past
    /// it). Limited per user (`files.upload`).
    async fn upload_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UploadFileInput,
    ) -> Result<FilePayload> {
        let store = ctx.request().files();
        let value = input.file.value(ctx);
        let (file, user_errors) = write(ctx, Action::FileUpload, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::ChatWrite).await?;
            let chat = match &input.chat_id {
                Some(id) => {
                    let id = input_id(id, "Chat", "chatId")?;
                    let chat = tx.granted_input::<ChatRow>(id, Permission::ChatWrite, "chatId").await?;
                    if chat.project_id != project_id {
                        return Err(
                            FieldError::input("chatId", "NOT_FOUND", "chatId is not a chat of the project").into(),
                        );
                    }
                    Some(chat)
                }
                None => None,
            };
            let value = value.map_err(|_| {
                FieldError::input("file", "INVALID_UPLOAD", "file is not an uploaded file of this request")
            })?;
            // The part was streamed to a temporary file; read it only once the grant holds.
            let mut content = value.content;
            let bytes = tokio::task::spawn_blocking(move || {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut content, &mut bytes).map(|_| bytes)
            })
            .await
            .map_err(|error| AppError::Internal(error.into()))?
            .map_err(|error| AppError::Internal(error.into()))?;
            let upload = files::Upload {
                filename: value.filename,
                declared_type: value.content_type,
                bytes,
            };
            files::upload(tx, &grant, store, upload, chat.as_ref()).await
        })
        .await?;
        Ok(FilePayload {
            file: file.map(File),
            user_errors,
        })
    }

    /// Attaches a file to an assistant, a chat or a message of its project; the caller must
    /// be allowed to change that assistant, or to write to that chat.
    async fn attach_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: AttachFileInput,
    ) -> Result<FileAttachmentPayload> {
        let (attachment, user_errors) = write(ctx, Action::FileAttach, async |tx| {
            let file_id = input_id(&input.file_id, "File", "fileId")?;
            let targets = [
                optional_id(input.assistant_id.as_ref(), "Assistant", "assistantId")?.map(TargetId::Assistant),
                optional_id(input.chat_id.as_ref(), "Chat", "chatId")?.map(TargetId::Chat),
                optional_id(input.message_id.as_ref(), "Message", "messageId")?.map(TargetId::Message),
            ];
            let [target] = targets.into_iter().flatten().collect::<Vec<_>>()[..] else {
                return Err(FieldError {
                    field: vec!["input".into()],
                    message: "give exactly one of assistantId, chatId and messageId".into(),
                    code: "ONE_TARGET",
                }
                .into());
            };
            let file = tx.granted(file_id, Permission::ChatWrite).await?;
            let target = Target::grant(tx, target).await?;
            files::attach(tx, &file, &target).await
        })
        .await?;
        Ok(FileAttachmentPayload {
            attachment: attachment.map(FileAttachment),
            user_errors,
        })
    }

    /// Removes an attachment; the file stays. Takes the same right as attaching it.
    async fn detach_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DetachFileInput,
    ) -> Result<DeleteFilePayload> {
        let (deleted_id, user_errors) = write(ctx, Action::FileDetach, async |tx| {
            let id = input_id(&input.attachment_id, "FileAttachment", "attachmentId")?;
            let attachment: Granted<AttachmentOfFile> = tx.granted(id, Permission::ChatWrite).await?;
            let target = TargetId::of(&attachment.attachment).ok_or(AppError::NotFound("attachment"))?;
            let target = match Target::grant(tx, target).await {
                Err(AppError::Invalid(_)) => return Err(AppError::NotFound("attachment")),
                other => other?,
            };
            files::detach(tx, &attachment, &target).await?;
            Ok(global_id("FileAttachment", id))
        })
        .await?;
        Ok(DeleteFilePayload {
            deleted_id,
            user_errors,
        })
    }

    /// Deletes a file, its attachments and its bytes; its storage is given back to the
    /// project's quota.
    async fn delete_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DeleteFileInput,
    ) -> Result<DeleteFilePayload> {
        let store = ctx.request().files();
        let (deleted_id, user_errors) = write(ctx, Action::FileDelete, async |tx| {
            let file: Granted<FileRow> = tx
                .granted(input_id(&input.id, "File", "id")?, Permission::ChatWrite)
                .await?;
            let file = file.removable()?;
            files::delete(tx, store, &file).await?;
            Ok(global_id("File", file.id))
        })
        .await?;
        Ok(DeleteFilePayload {
            deleted_id,
            user_errors,
        })
    }
}
