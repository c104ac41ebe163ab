//! Every paginated list of the API in one place: its table, parent column, order, and the
//! SQL condition deciding who sees its rows, so the read rules can be reviewed together.
//!
//! Conditions are written with the read rules of `auth::authz` (`sees_project!`,
//! `sees_organization!`, `sees_chat!`, `permits_project!`, `permits_organization!`), over the
//! caller's parameters `$3`..`$5`. A nested list is reached only through a parent the caller
//! sees; each condition still checks visibility itself (on the parent, once per parent, where
//! it names the parent column). Lists that need a permission beyond seeing the place (usage,
//! audit logs, webhooks, jobs, invitations) apply the same role rules as writes.

use super::page::{List, SortKey};
use crate::auth::authz::{
    permits_organization, permits_project, sees_as_its_chat, sees_chat, sees_organization, sees_project,
};

/// Creation time, oldest first: the order of most lists.
const CREATED: SortKey = SortKey::Time("c.created_at");

/// A list of a project's rows, visible with the project.
const fn in_project(name: &'static str, table: &'static str, descending: bool) -> List {
    List {
        name,
        table,
        parent_column: Some("project_id"),
        id_column: "c.id",
        sort_key: CREATED,
        descending,
        condition: sees_project!("c.project_id"),
    }
}

/// Live organizations the caller sees, oldest first.
pub const ORGANIZATIONS: List = List {
    name: "Query.organizations",
    table: "organizations",
    parent_column: None,
    id_column: "c.id",
    sort_key: CREATED,
    descending: false,
    condition: concat!("c.deleted_at IS NULL AND ", sees_organization!("c.id")),
};

/// Live organizations a user is a member of, oldest first (only those the caller sees).
pub const USER_ORGANIZATIONS: List = List {
    name: "User.organizations",
    table: "(SELECT o.*, m.user_id AS member_user_id FROM organizations o \
             JOIN organization_members m ON m.organization_id = o.id)",
    parent_column: Some("member_user_id"),
    ..ORGANIZATIONS
};

/// Live projects a user works in: as a project member, or through an organization role
/// with `project.read`; oldest first (only those the caller sees).
pub const USER_PROJECTS: List = List {
    name: "User.projects",
    table: "(SELECT p.*, w.user_id AS worker_id FROM projects p JOIN ( \
               SELECT pm.project_id, pm.user_id FROM project_members pm \
               UNION SELECT p2.id, m.user_id FROM projects p2 \
               JOIN organization_members m ON m.organization_id = p2.organization_id \
               JOIN role_permissions rp ON rp.role_id = m.role_id \
               JOIN permissions x ON x.id = rp.permission_id AND x.name = 'project.read' \
             ) w ON w.project_id = p.id)",
    parent_column: Some("worker_id"),
    ..ORGANIZATION_PROJECTS
};

/// Live projects of an organization the caller sees, oldest first.
pub const ORGANIZATION_PROJECTS: List = List {
    name: "Organization.projects",
    table: "projects",
    parent_column: Some("organization_id"),
    id_column: "c.id",
    sort_key: CREATED,
    descending: false,
    condition: concat!("c.deleted_at IS NULL AND ", sees_project!("c.id")),
};

/// Members of an organization, in the order they joined; seen by whoever sees it.
pub const ORGANIZATION_MEMBERS: List = List {
    name: "Organization.members",
    table: "organization_members",
    parent_column: Some("organization_id"),
    id_column: "c.user_id",
    sort_key: SortKey::Time("c.joined_at"),
    descending: false,
    condition: sees_organization!("c.organization_id"),
};

/// Open invitations of an organization, newest first; needs `members.manage` in it.
pub const ORGANIZATION_INVITATIONS: List = List {
    name: "Organization.invitations",
    table: "organization_invitations",
    parent_column: Some("organization_id"),
    id_column: "c.id",
    sort_key: CREATED,
    descending: true,
    condition: concat!(
        "c.accepted_at IS NULL AND c.revoked_at IS NULL AND ",
        permits_organization!("c.organization_id", "members.manage")
    ),
};

/// Usage records of an organization, newest first; needs `usage.read` in the organization.
pub const ORGANIZATION_USAGE: List = List {
    name: "Organization.usageEvents",
    table: "usage_events",
    parent_column: Some("organization_id"),
    id_column: "c.id",
    sort_key: SortKey::Time("c.requested_at"),
    descending: true,
    condition: permits_organization!("c.organization_id", "usage.read"),
};

/// Audit records of an organization, newest first; needs `audit.read` in the organization.
pub const ORGANIZATION_AUDIT_LOGS: List = List {
    name: "Organization.auditLogs",
    table: "audit_logs",
    parent_column: Some("organization_id"),
    id_column: "c.id",
    sort_key: CREATED,
    descending: true,
    condition: permits_organization!("c.organization_id", "audit.read"),
};

/// Chat visibility (the rule of `Scope::sees_chat`): public to all, `project` to those who
/// see the project, private to the owner.
const CHAT_VISIBLE: &str = sees_chat!("c");

/// Chats of a project, most recently active first.
pub const PROJECT_CHATS: List = List {
    name: "Project.chats",
    table: "chats",
    parent_column: Some("project_id"),
    id_column: "c.id",
    sort_key: SortKey::Time("coalesce(c.last_message_at, c.created_at)"),
    descending: true,
    condition: CHAT_VISIBLE,
};

/// Chats a user started, most recently active first (only those the caller may read).
pub const USER_CHATS: List = List {
    name: "User.chats",
    parent_column: Some("user_id"),
    ..PROJECT_CHATS
};

/// Chats of a project, newest first.
pub const PROJECT_CHATS_BY_CREATION: List = List {
    name: "Project.chats(CREATED_AT)",
    sort_key: CREATED,
    ..PROJECT_CHATS
};

/// Members of a project, in the order they joined.
pub const PROJECT_MEMBERS: List = List {
    name: "Project.members",
    id_column: "c.user_id",
    sort_key: SortKey::Time("c.joined_at"),
    ..in_project("", "project_members", false)
};

/// Assistants of a project, oldest first.
pub const PROJECT_ASSISTANTS: List = in_project("Project.assistants", "assistants", false);

/// Datasources of a project, oldest first.
pub const PROJECT_DATASOURCES: List = in_project("Project.datasources", "datasources", false);

/// Documents of a project, newest first.
pub const PROJECT_DOCUMENTS: List = in_project("Project.documents", "documents", true);

/// Files of a project, newest first (one uploaded for a chat only for those who see the chat).
pub const PROJECT_FILES: List = List {
    condition: sees_as_its_chat!("c"),
    ..in_project("Project.files", "files", true)
};

/// The latest version of each artifact of a project, newest first (one made in a chat only
/// for those who see the chat).
pub const PROJECT_ARTIFACTS: List = List {
    condition: concat!(
        sees_as_its_chat!("c"),
        " AND NOT EXISTS (SELECT 1 FROM artifacts v WHERE v.id = c.id AND v.created_at > c.created_at)"
    ),
    ..in_project("Project.artifacts", "artifacts", true)
};

/// Analytics events of a project, newest first; needs `usage.read` there.
pub const PROJECT_ANALYTICS: List = List {
    sort_key: SortKey::Time("c.occurred_at"),
    condition: permits_project!("c.project_id", "usage.read"),
    ..in_project("Project.analyticsEvents", "analytics_events", true)
};

/// Usage records of a project, newest first; needs `usage.read` there.
pub const PROJECT_USAGE: List = List {
    sort_key: SortKey::Time("c.requested_at"),
    condition: permits_project!("c.project_id", "usage.read"),
    ..in_project("Project.usageEvents", "usage_events", true)
};

/// Audit records of a project, newest first; needs `audit.read` there.
pub const PROJECT_AUDIT_LOGS: List = List {
    condition: permits_project!("c.project_id", "audit.read"),
    ..in_project("Project.auditLogs", "audit_logs", true)
};

/// Webhook subscriptions of a project, oldest first; needs `project.update` there.
pub const PROJECT_WEBHOOKS: List = List {
    condition: permits_project!("c.project_id", "project.update"),
    ..in_project("Project.webhookSubscriptions", "webhook_subscriptions", false)
};

/// Background jobs of a project, newest first; needs `project.update` there.
pub const PROJECT_JOBS: List = List {
    condition: permits_project!("c.project_id", "project.update"),
    ..in_project("Project.jobs", "jobs", true)
};

/// Messages of a chat, oldest first (the chat is visible, or the list is not reached).
pub const CHAT_MESSAGES: List = List {
    name: "Chat.messages",
    table: "messages",
    parent_column: Some("chat_id"),
    id_column: "c.id",
    sort_key: CREATED,
    descending: false,
    condition: "TRUE",
};

/// The latest version of each artifact made in a chat, newest first.
pub const CHAT_ARTIFACTS: List = List {
    name: "Chat.artifacts",
    parent_column: Some("chat_id"),
    ..PROJECT_ARTIFACTS
};

/// Votes, ratings and comments on a message, newest first (seen with the message's chat).
pub const MESSAGE_FEEDBACK: List = List {
    name: "Message.feedback",
    table: "message_feedback",
    parent_column: Some("message_id"),
    id_column: "c.id",
    sort_key: CREATED,
    descending: true,
    condition: concat!(
        "EXISTS (SELECT 1 FROM chats ch WHERE ch.id = c.chat_id AND ",
        sees_chat!("ch"),
        ")"
    ),
};

/// Chunks of a document, in document order.
pub const DOCUMENT_CHUNKS: List = List {
    name: "Document.chunks",
    table: "document_chunks",
    parent_column: Some("document_id"),
    id_column: "c.id",
    sort_key: SortKey::Integer("c.chunk_index"),
    descending: false,
    condition: sees_project!("c.project_id"),
};

/// Every version of an artifact, oldest first (versions share the id; the position's time
/// tells them apart).
pub const ARTIFACT_VERSIONS: List = List {
    name: "Artifact.versions",
    table: "artifacts",
    parent_column: Some("id"),
    id_column: "c.id",
    sort_key: CREATED,
    descending: false,
    condition: sees_as_its_chat!("c"),
};

/// Suggestions on an artifact (any version), newest first.
pub const ARTIFACT_SUGGESTIONS: List = List {
    name: "Artifact.suggestions",
    table: "artifact_suggestions",
    parent_column: Some("artifact_id"),
    id_column: "c.id",
    sort_key: CREATED,
    descending: true,
    condition: concat!(
        "EXISTS (SELECT 1 FROM artifacts a WHERE a.id = c.artifact_id AND ",
        sees_as_its_chat!("a"),
        ")"
    ),
};

/// Code repositories a user connected, newest first: the user's own only.
pub const USER_REPOSITORIES: List = List {
    name: "User.repositories",
    table: "repositories",
    parent_column: Some("user_id"),
    id_column: "c.id",
    sort_key: CREATED,
    descending: true,
    condition: "$3 OR c.user_id = $4",
};

/// A table read by id, and when the caller sees one of its rows (the rule its lists use).
#[derive(Debug, Clone, Copy)]
pub struct ById {
    /// The table.
    pub table: &'static str,
    /// The condition on `c`, the row, over the scope's parameters.
    pub visible: &'static str,
}

/// Live organizations the caller sees.
pub const ORGANIZATION_BY_ID: ById = ById {
    table: "organizations",
    visible: concat!("c.deleted_at IS NULL AND ", sees_organization!("c.id")),
};

/// Live projects the caller sees.
pub const PROJECT_BY_ID: ById = ById {
    table: "projects",
    visible: concat!("c.deleted_at IS NULL AND ", sees_project!("c.id")),
};

/// Chats the caller sees.
pub const CHAT_BY_ID: ById = ById {
    table: "chats",
    visible: sees_chat!("c"),
};

/// Messages of chats the caller sees.
pub const MESSAGE_BY_ID: ById = ById {
    table: "messages",
    visible: concat!(
        "EXISTS (SELECT 1 FROM chats ch WHERE ch.id = c.chat_id AND ",
        sees_chat!("ch"),
        ")"
    ),
};

/// Assistants of the platform, or of a project the caller sees.
pub const ASSISTANT_BY_ID: ById = ById {
    table: "assistants",
    visible: concat!("c.project_id IS NULL OR ", sees_project!("c.project_id")),
};

/// Datasources of projects the caller sees.
pub const DATASOURCE_BY_ID: ById = ById {
    table: "datasources",
    visible: sees_project!("c.project_id"),
};

/// Documents of projects the caller sees.
pub const DOCUMENT_BY_ID: ById = ById {
    table: "documents",
    visible: sees_project!("c.project_id"),
};

/// Files of organizations (and projects, and chats) the caller sees.
pub const FILE_BY_ID: ById = ById {
    table: "files",
    visible: concat!(
        "(c.project_id IS NULL OR ",
        sees_as_its_chat!("c"),
        ") AND ",
        sees_organization!("c.organization_id")
    ),
};
