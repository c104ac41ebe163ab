//! Files (`File`) and where they are attached (`FileAttachment`).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use super::{
    auth::UserError,
    context::ContextExt,
    loaders::{FileById, load},
    mutation::{grant_for, settle},
    node::{global_id, input_id},
    scalars::BigInt,
};
use crate::{
    auth::grant::{Grant, Permission, Place},
    error::{AppError, AppResult, FieldError},
    models::file::{FileAttachmentRow, FileRow},
    services::{
        files::{self, Target},
        rate_limits,
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

/// A file and the `chat.write` grant in its project (NOT_FOUND, as the file, when invisible).
async fn file_grant(ctx: &Context<'_>, conn: &mut AsyncPgConnection, id: uuid::Uuid) -> AppResult<(FileRow, Grant)> {
    let file = FileRow::find(conn, id).await?.ok_or(AppError::NotFound("file"))?;
    let project_id = file.project_id.ok_or(AppError::NotFound("file"))?;
    let grant = grant_for(ctx, conn, Place::Project(project_id), Permission::ChatWrite, "file").await?;
    Ok((file, grant))
}

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
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            request.limit(&mut conn, rate_limits::UPLOADS).await?;
            let grant = request
                .authorize(&mut conn, Place::Project(project_id), Permission::ChatWrite)
                .await?;
            let value = input.file.value(ctx).map_err(|_| {
                FieldError::input("file", "INVALID_UPLOAD", "file is not an uploaded file of this request")
            })?;
            let upload = files::Upload {
                filename: value.filename,
                declared_type: value.content_type,
                bytes: value.content.to_vec(),
            };
            files::upload(&mut conn, &grant, request.client(), request.files(), upload).await
        }
        .await;
        let (file, user_errors) = settle(ctx, &mut conn, "file.upload", result).await?;
        Ok(FilePayload {
            file: file.map(File),
            user_errors,
        })
    }

    /// Attaches a file to an assistant, a chat or a message of its project.
    async fn attach_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: AttachFileInput,
    ) -> Result<FileAttachmentPayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let file_id = input_id(&input.file_id, "File", "fileId")?;
            let targets = [
                input
                    .assistant_id
                    .as_ref()
                    .map(|id| input_id(id, "Assistant", "assistantId").map(Target::Assistant)),
                input
                    .chat_id
                    .as_ref()
                    .map(|id| input_id(id, "Chat", "chatId").map(Target::Chat)),
                input
                    .message_id
                    .as_ref()
                    .map(|id| input_id(id, "Message", "messageId").map(Target::Message)),
            ];
            let mut given = targets.into_iter().flatten().collect::<AppResult<Vec<_>>>()?;
            if given.len() != 1 {
                return Err(FieldError {
                    field: vec!["input".into()],
                    message: "give exactly one of assistantId, chatId and messageId".into(),
                    code: "ONE_TARGET",
                }
                .into());
            }
            let (file, grant) = file_grant(ctx, &mut conn, file_id).await?;
            let target = given.remove(0);
            files::attach(&mut conn, &grant, request.client(), &file, target).await
        }
        .await;
        let (attachment, user_errors) = settle(ctx, &mut conn, "file.attach", result).await?;
        Ok(FileAttachmentPayload {
            attachment: attachment.map(FileAttachment),
            user_errors,
        })
    }

    /// Removes an attachment; the file stays.
    async fn detach_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: DetachFileInput,
    ) -> Result<DeleteFilePayload> {
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let id = input_id(&input.attachment_id, "FileAttachment", "attachmentId")?;
            let attachment = FileAttachmentRow::find(&mut conn, id)
                .await?
                .ok_or(AppError::NotFound("attachment"))?;
            let (_, grant) = match file_grant(ctx, &mut conn, attachment.file_id).await {
                Err(AppError::NotFound(_)) => return Err(AppError::NotFound("attachment")),
                other => other?,
            };
            files::detach(&mut conn, &grant, request.client(), &attachment).await?;
            Ok(global_id("FileAttachment", id))
        }
        .await;
        let (deleted_id, user_errors) = settle(ctx, &mut conn, "file.detach", result).await?;
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
        let request = ctx.request();
        let mut conn = ctx.conn().await?;
        let result = async {
            let id = input_id(&input.id, "File", "id")?;
            let (file, grant) = file_grant(ctx, &mut conn, id).await?;
            let own = file.uploaded_by == Some(grant.caller().user.id);
            if !own && !grant.allows(Permission::ProjectUpdate) {
                return Err(AppError::Forbidden);
            }
            files::delete(&mut conn, &grant, request.client(), request.files(), &file).await?;
            Ok(global_id("File", id))
        }
        .await;
        let (deleted_id, user_errors) = settle(ctx, &mut conn, "file.delete", result).await?;
        Ok(DeleteFilePayload {
            deleted_id,
            user_errors,
        })
    }
}
