//! Small builders for rows the tests need: an organization with a user, a project, a chat and
//! a message. Everything else is built inline where the test shows what it checks.

use chatgraph::{
    db::{
        enums::{ChatVisibility, MessageRole},
        new_id,
    },
    models::{
        chat::{ChatRow, NewChat},
        message::{MessageRow, NewMessage},
        organization::{NewOrganization, OrganizationRow},
        project::{NewProject, ProjectRow},
        user::{NewUser, UserRow},
    },
};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

/// A new user with this email.
pub fn user(email: &str) -> NewUser {
    NewUser::new(email, "Test User")
}

/// A new organization with this slug.
pub fn organization(slug: &str) -> NewOrganization {
    NewOrganization {
        id: new_id(),
        name: format!("Org {slug}"),
        slug: slug.to_owned(),
        plan: None,
        is_personal: false,
        metadata: None,
    }
}

/// A new project.
pub fn project(organization_id: Uuid, name: &str) -> NewProject {
    NewProject {
        id: new_id(),
        organization_id,
        name: name.to_owned(),
        description: String::new(),
        icon_url: None,
        is_default: false,
        language: None,
        created_by: None,
    }
}

/// A new chat.
pub fn chat(project_id: Uuid, user_id: Uuid) -> NewChat {
    NewChat {
        id: new_id(),
        project_id,
        user_id,
        assistant_id: None,
        title: "A chat".into(),
        model: None,
        visibility: ChatVisibility::Private,
        is_default: false,
        external_id: None,
    }
}

/// A new user message.
pub fn message(chat_id: Uuid, user_id: Option<Uuid>, content: &str) -> NewMessage {
    NewMessage::text(chat_id, user_id, MessageRole::User, content)
}

/// An organization → project → chat → message tree owned by one user.
pub struct Tree {
    pub organization: OrganizationRow,
    pub user: UserRow,
    pub project: ProjectRow,
    pub chat: ChatRow,
    pub message: MessageRow,
}

/// Inserts a [`Tree`]; `tag` keeps slugs and emails unique within a database.
pub async fn tree(conn: &mut AsyncPgConnection, tag: &str) -> Tree {
    let organization = organization(tag).insert(conn).await.expect("organization");
    let user = user(&format!("{tag}@example.com")).insert(conn).await.expect("user");
    let project = project(organization.id, "Project").insert(conn).await.expect("project");
    let chat = chat(project.id, user.id).insert(conn).await.expect("chat");
    let message = message(chat.id, Some(user.id), "Hello")
        .insert(conn)
        .await
        .expect("message");
    Tree {
        organization,
        user,
        project,
        chat,
        message,
    }
}
