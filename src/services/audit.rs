//! The audit trail: one `audit_logs` row per security-relevant event (sign-in success and
//! failure, sign-out, refresh-token reuse, API token creation and revocation, role changes),
//! with the actor, the client's address and user agent.
//!
//! Rows are written in the transaction of the change they describe when there is one, so a
//! change and its record stand or fall together; failures are recorded on their own.

use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::caller::{Caller, ClientInfo};
use crate::{
    db::{enums::Outcome, new_id},
    models::audit_log::NewAuditLog,
};

macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// What an audit row records: one variant per kind of event, so the change and the
        /// record of its failure name the same action (a typo cannot split the trail).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        impl Action {
            /// Every action, in the order declared.
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];

            /// The dotted name stored in `audit_logs.action`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$name => $text,)*
                }
            }
        }
    };
}

actions! {
    /// `auth.sign_up`
    AuthSignUp = "auth.sign_up",
    /// `auth.sign_in`
    AuthSignIn = "auth.sign_in",
    /// `auth.refresh_token_reused`
    AuthRefreshTokenReused = "auth.refresh_token_reused",
    /// `auth.sign_out`
    AuthSignOut = "auth.sign_out",
    /// `auth.sign_out_everywhere`
    AuthSignOutEverywhere = "auth.sign_out_everywhere",
    /// `auth.email_confirm` (an address proved by its mailed token)
    AuthEmailConfirm = "auth.email_confirm",
    /// `auth.confirmation_resend`
    AuthConfirmationResend = "auth.confirmation_resend",
    /// `auth.password_reset_request` (recorded only when an account has the address)
    AuthPasswordResetRequest = "auth.password_reset_request",
    /// `auth.password_reset`
    AuthPasswordReset = "auth.password_reset",
    /// `api_token.create`
    ApiTokenCreate = "api_token.create",
    /// `api_token.revoke`
    ApiTokenRevoke = "api_token.revoke",
    /// `organization.create`
    OrganizationCreate = "organization.create",
    /// `organization.update`
    OrganizationUpdate = "organization.update",
    /// `organization.plan_change`
    OrganizationPlanChange = "organization.plan_change",
    /// `organization.status_change`
    OrganizationStatusChange = "organization.status_change",
    /// `organization.delete`
    OrganizationDelete = "organization.delete",
    /// `organization_member.role_change`
    OrganizationMemberRoleChange = "organization_member.role_change",
    /// `organization_member.remove`
    OrganizationMemberRemove = "organization_member.remove",
    /// `organization_invitation.create`
    InvitationCreate = "organization_invitation.create",
    /// `organization_invitation.accept`
    InvitationAccept = "organization_invitation.accept",
    /// `organization_invitation.revoke`
    InvitationRevoke = "organization_invitation.revoke",
    /// `project.create`
    ProjectCreate = "project.create",
    /// `project.update`
    ProjectUpdate = "project.update",
    /// `project.archive`
    ProjectArchive = "project.archive",
    /// `project.restore`
    ProjectRestore = "project.restore",
    /// `project.delete`
    ProjectDelete = "project.delete",
    /// `project_settings.update`
    ProjectSettingsUpdate = "project_settings.update",
    /// `project_quota.set`
    ProjectQuotaSet = "project_quota.set",
    /// `project_member.role_change`
    ProjectMemberRoleChange = "project_member.role_change",
    /// `project_member.remove`
    ProjectMemberRemove = "project_member.remove",
    /// `chat.create`
    ChatCreate = "chat.create",
    /// `chat.update`
    ChatUpdate = "chat.update",
    /// `chat.delete`
    ChatDelete = "chat.delete",
    /// `message.post`
    MessagePost = "message.post",
    /// `message.edit`
    MessageEdit = "message.edit",
    /// `message.delete`
    MessageDelete = "message.delete",
    /// `message.send` (a user message and the model's answer to it)
    MessageSend = "message.send",
    /// `message.regenerate`
    MessageRegenerate = "message.regenerate",
    /// `message.stop` (stopping a generation)
    MessageStop = "message.stop",
    /// `message_feedback.vote`
    FeedbackVote = "message_feedback.vote",
    /// `message_feedback.rate`
    FeedbackRate = "message_feedback.rate",
    /// `message_feedback.remove`
    FeedbackRemove = "message_feedback.remove",
    /// `artifact.create`
    ArtifactCreate = "artifact.create",
    /// `artifact.save_version`
    ArtifactSaveVersion = "artifact.save_version",
    /// `artifact_suggestion.create`
    ArtifactSuggestionCreate = "artifact_suggestion.create",
    /// `artifact_suggestion.resolve`
    ArtifactSuggestionResolve = "artifact_suggestion.resolve",
    /// `assistant.create`
    AssistantCreate = "assistant.create",
    /// `assistant.update`
    AssistantUpdate = "assistant.update",
    /// `assistant.deactivate`
    AssistantDeactivate = "assistant.deactivate",
    /// `assistant.activate`
    AssistantActivate = "assistant.activate",
    /// `repository.connect`
    RepositoryConnect = "repository.connect",
    /// `repository.activate`
    RepositoryActivate = "repository.activate",
    /// `repository.deactivate`
    RepositoryDeactivate = "repository.deactivate",
    /// `repository.disconnect`
    RepositoryDisconnect = "repository.disconnect",
    /// `datasource.create`
    DatasourceCreate = "datasource.create",
    /// `datasource.update`
    DatasourceUpdate = "datasource.update",
    /// `datasource.delete`
    DatasourceDelete = "datasource.delete",
    /// `document.create`
    DocumentCreate = "document.create",
    /// `document.update`
    DocumentUpdate = "document.update",
    /// `document.delete`
    DocumentDelete = "document.delete",
    /// `document.refresh`
    DocumentRefresh = "document.refresh",
    /// `webhook.create`
    WebhookCreate = "webhook.create",
    /// `webhook.update`
    WebhookUpdate = "webhook.update",
    /// `webhook.pause`
    WebhookPause = "webhook.pause",
    /// `webhook.resume`
    WebhookResume = "webhook.resume",
    /// `webhook.delete`
    WebhookDelete = "webhook.delete",
    /// `webhook.redeliver`
    WebhookRedeliver = "webhook.redeliver",
    /// `job.retry`
    JobRetry = "job.retry",
    /// `job.cancel`
    JobCancel = "job.cancel",
    /// `analytics.track`
    AnalyticsTrack = "analytics.track",
    /// `file.upload`
    FileUpload = "file.upload",
    /// `file.attach`
    FileAttach = "file.attach",
    /// `file.detach`
    FileDetach = "file.detach",
    /// `file.delete`
    FileDelete = "file.delete",
    /// `credential.create`
    CredentialCreate = "credential.create",
    /// `credential.rotate`
    CredentialRotate = "credential.rotate",
    /// `credential.delete`
    CredentialDelete = "credential.delete",
    /// `mcp_server.add`
    McpServerAdd = "mcp_server.add",
    /// `mcp_server.remove`
    McpServerRemove = "mcp_server.remove",
    /// `platform_config.set`
    PlatformConfigSet = "platform_config.set",
}

impl Action {
    /// The rate-limit scope this action also counts against, besides `writes`.
    pub fn rate_scope(self) -> Option<&'static str> {
        use super::rate_limits;
        match self {
            Action::MessagePost | Action::MessageEdit | Action::MessageSend | Action::MessageRegenerate => {
                Some(rate_limits::MESSAGES)
            }
            Action::FeedbackVote | Action::FeedbackRate | Action::FeedbackRemove => Some(rate_limits::FEEDBACK),
            Action::FileUpload => Some(rate_limits::UPLOADS),
            Action::AnalyticsTrack => Some(rate_limits::EVENTS),
            _ => None,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event for the audit trail, built up and then [recorded](Self::record).
#[derive(Debug, Clone)]
#[must_use = "an audit event does nothing until it is recorded"]
pub struct AuditEvent(NewAuditLog);

impl AuditEvent {
    /// A successful `action`.
    pub fn new(action: Action) -> Self {
        AuditEvent(NewAuditLog {
            id: new_id(),
            organization_id: None,
            project_id: None,
            actor_user_id: None,
            api_token_id: None,
            action: action.as_str().to_owned(),
            resource_type: None,
            resource_id: None,
            details: Value::Object(Default::default()),
            ip_address: None,
            user_agent: None,
            status: Outcome::Success,
            error_message: None,
            chat_id: None,
        })
    }

    /// Who acted: the user, and the API token when they used one.
    pub fn by(mut self, caller: &Caller) -> Self {
        self.0.actor_user_id = Some(caller.user.id);
        self.0.api_token_id = caller.api_token_id;
        self
    }

    /// Who acted, when only the user is known (sign-in).
    pub fn by_user(mut self, user_id: Option<Uuid>) -> Self {
        self.0.actor_user_id = user_id;
        self
    }

    /// What the event concerns (a chat is also the chat of [`Self::in_chat`]).
    pub fn on(mut self, resource_type: &str, resource_id: Uuid) -> Self {
        self.0.resource_type = Some(resource_type.to_owned());
        self.0.resource_id = Some(resource_id.to_string());
        if resource_type == "chat" {
            self.0.chat_id = Some(resource_id);
        }
        self
    }

    /// The chat the event concerns (a message, an artifact or an attachment of it): the
    /// record's resource id and details are then shown only to those who read the chat.
    pub fn in_chat(mut self, chat_id: Option<Uuid>) -> Self {
        self.0.chat_id = chat_id.or(self.0.chat_id);
        self
    }

    /// The organization (and project) the event happened in.
    pub fn within(mut self, organization_id: Option<Uuid>, project_id: Option<Uuid>) -> Self {
        self.0.organization_id = organization_id;
        self.0.project_id = project_id;
        self
    }

    /// Further facts (a JSON object).
    pub fn details(mut self, details: Value) -> Self {
        self.0.details = details;
        self
    }

    /// Marks the event as failed, with why (never a secret).
    pub fn failed(mut self, reason: &str) -> Self {
        self.0.status = Outcome::Failed;
        self.0.error_message = Some(reason.to_owned());
        self
    }

    /// Writes the row, with where the request came from.
    pub async fn record(mut self, conn: &mut AsyncPgConnection, client: &ClientInfo) -> diesel::QueryResult<()> {
        self.0.ip_address = client.ip_address;
        self.0.user_agent = client.user_agent.clone();
        self.0.insert(conn).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_distinct_dotted_names() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert!(names.iter().all(|n| {
            let (domain, verb) = n.split_once('.').expect("dotted");
            !domain.is_empty() && !verb.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
        }));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "two actions share a name");
    }
}
