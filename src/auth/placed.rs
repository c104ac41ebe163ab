//! Where every row a write changes lies, and what it asks beyond its place: the one list of
//! rules behind [`Granted`](super::grant::Granted). "May write to this chat" is written here
//! once (see the chat), and every write that touches a chat or its messages asks for it.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{
    authz::Scope,
    grant::{Grant, Granted, Permission, Place, Placed},
};
use crate::{
    db::enums::MessageRole,
    error::{AppError, AppResult},
    models::{
        artifact::{ArtifactRow, SuggestionOnArtifact},
        assistant::AssistantRow,
        chat::ChatRow,
        credential::CredentialRow,
        datasource::DatasourceRow,
        document::DocumentRow,
        file::{AttachmentOfFile, FileRow},
        invitation::InvitationRow,
        job::JobRow,
        mcp_server::McpServerRow,
        message::ChatMessage,
        organization::OrganizationRow,
        project::ProjectRow,
        webhook::WebhookSubscriptionRow,
    },
};

/// `Placed` for a row found by its `find` that lies in the place its column names.
macro_rules! placed {
    ($row:ty, $name:literal, $place:ident($column:ident)) => {
        impl Placed for $row {
            const NAME: &'static str = $name;

            async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
                Ok(<$row>::find(conn, id).await?)
            }

            fn place(&self) -> Place {
                Place::$place(self.$column)
            }
        }
    };
}

placed!(DatasourceRow, "datasource", Project(project_id));
placed!(DocumentRow, "document", Project(project_id));
placed!(WebhookSubscriptionRow, "webhook subscription", Project(project_id));
placed!(CredentialRow, "credential", Organization(organization_id));
placed!(InvitationRow, "invitation", Organization(organization_id));
placed!(McpServerRow, "MCP server", Organization(organization_id));

/// A project's job (the platform's own jobs, such as maintenance, lie in no project: no
/// project grant reaches them, so they are not found).
impl Placed for JobRow {
    const NAME: &'static str = "job";

    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(JobRow::find(conn, id).await?.filter(|job| job.project_id.is_some()))
    }

    fn place(&self) -> Place {
        // `find` returns only jobs with a project.
        Place::Project(self.project_id.unwrap_or_default())
    }
}

impl Placed for ProjectRow {
    const NAME: &'static str = "project";

    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(ProjectRow::find(conn, id).await?.filter(|p| p.deleted_at.is_none()))
    }

    fn place(&self) -> Place {
        Place::Project(self.id)
    }
}

impl Placed for OrganizationRow {
    const NAME: &'static str = "organization";

    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(OrganizationRow::find(conn, id)
            .await?
            .filter(|o| o.deleted_at.is_none()))
    }

    fn place(&self) -> Place {
        Place::Organization(self.id)
    }
}

impl Placed for AssistantRow {
    const NAME: &'static str = "assistant";

    /// Only project assistants are changed through the API (platform and organization
    /// assistants come from configuration).
    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(AssistantRow::find(conn, id).await?.filter(|a| a.project_id.is_some()))
    }

    fn place(&self) -> Place {
        match (self.project_id, self.organization_id) {
            (Some(project), _) => Place::Project(project),
            (None, Some(organization)) => Place::Organization(organization),
            // Found only with a project (see `find`).
            (None, None) => Place::Project(Uuid::nil()),
        }
    }
}

impl Placed for FileRow {
    const NAME: &'static str = "file";

    /// Only project files are managed through the API.
    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(FileRow::find(conn, id).await?.filter(|f| f.project_id.is_some()))
    }

    fn place(&self) -> Place {
        Place::Project(self.project_id.unwrap_or_default())
    }

    /// A file uploaded for a chat is seen exactly as that chat is.
    async fn seen(&self, conn: &mut AsyncPgConnection, scope: &Scope) -> AppResult<Option<bool>> {
        in_chat(conn, scope, self.chat_id).await
    }
}

/// Whether the caller sees the chat a thing was made in (None: made in no chat, or the chat
/// is gone: seen with its place).
async fn in_chat(conn: &mut AsyncPgConnection, scope: &Scope, chat_id: Option<Uuid>) -> AppResult<Option<bool>> {
    let Some(chat_id) = chat_id else {
        return Ok(None);
    };
    match ChatRow::find(conn, chat_id).await? {
        Some(chat) => Ok(Some(scope.sees_chat(conn, &chat).await?)),
        None => Ok(None),
    }
}

/// An attachment lies where its file does.
impl Placed for AttachmentOfFile {
    const NAME: &'static str = "attachment";

    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(AttachmentOfFile::find(conn, id)
            .await?
            .filter(|a| a.file.project_id.is_some()))
    }

    fn place(&self) -> Place {
        self.file.place()
    }

    async fn seen(&self, conn: &mut AsyncPgConnection, scope: &Scope) -> AppResult<Option<bool>> {
        self.file.seen(conn, scope).await
    }
}

/// An artifact, as its newest version: one made in a chat is seen exactly as that chat is.
impl Placed for ArtifactRow {
    const NAME: &'static str = "artifact";

    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(ArtifactRow::latest(conn, id).await?)
    }

    fn place(&self) -> Place {
        Place::Project(self.project_id)
    }

    async fn seen(&self, conn: &mut AsyncPgConnection, scope: &Scope) -> AppResult<Option<bool>> {
        in_chat(conn, scope, self.chat_id).await
    }
}

impl Placed for SuggestionOnArtifact {
    const NAME: &'static str = "suggestion";

    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(SuggestionOnArtifact::find(conn, id).await?)
    }

    fn place(&self) -> Place {
        Place::Project(self.artifact.project_id)
    }

    async fn seen(&self, conn: &mut AsyncPgConnection, scope: &Scope) -> AppResult<Option<bool>> {
        self.artifact.seen(conn, scope).await
    }
}

/// A chat: seen by its own rule (a private chat only by its owner, a public one by anyone),
/// and written with `chat.write` in its project by its owner, or by whoever may also update
/// the project. A chat seen but not writable is FORBIDDEN.
impl Placed for ChatRow {
    const NAME: &'static str = "chat";

    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(ChatRow::find(conn, id).await?)
    }

    fn place(&self) -> Place {
        Place::Project(self.project_id)
    }

    async fn seen(&self, conn: &mut AsyncPgConnection, scope: &Scope) -> AppResult<Option<bool>> {
        Ok(Some(scope.sees_chat(conn, self).await?))
    }

    fn admits(&self, grant: &Grant, _permission: Permission) -> bool {
        owns_or_manages(grant, Some(self.user_id))
    }
}

/// A message follows its chat's rules.
impl Placed for ChatMessage {
    const NAME: &'static str = "message";

    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Self>> {
        Ok(ChatMessage::find(conn, id).await?)
    }

    fn place(&self) -> Place {
        self.chat.place()
    }

    async fn seen(&self, conn: &mut AsyncPgConnection, scope: &Scope) -> AppResult<Option<bool>> {
        self.chat.seen(conn, scope).await
    }

    fn admits(&self, grant: &Grant, permission: Permission) -> bool {
        self.chat.admits(grant, permission)
    }
}

impl Granted<ChatMessage> {
    /// Only its author changes what a message says, and only their own (user) messages.
    pub fn authored(self) -> AppResult<Self> {
        let own = self.message.user_id == Some(self.grant().caller().user.id);
        if own && self.message.role == MessageRole::User {
            Ok(self)
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl Granted<FileRow> {
    /// Removing a file takes its uploader or someone who may also update the project.
    pub fn removable(self) -> AppResult<Self> {
        if owns_or_manages(self.grant(), self.uploaded_by) {
            Ok(self)
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The caller owns the thing (`owner`) or holds `project.update` in its place as well.
fn owns_or_manages(grant: &Grant, owner: Option<Uuid>) -> bool {
    owner == Some(grant.caller().user.id) || grant.allows(Permission::ProjectUpdate)
}
