//! Files (`File`) and where they are attached (`FileAttachment`).

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::{
    loaders::{FileById, load},
    node::global_id,
    scalars::BigInt,
};
use crate::models::file::{FileAttachmentRow, FileRow};

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
