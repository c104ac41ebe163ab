//! The benchmark's data, generated in SQL (seconds for hundreds of thousands of rows): a
//! nested workspace, one project per list size for the big-list pages, and a user who works in
//! thousands of projects next to one who works in one.

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use uuid::Uuid;

/// The sizes of the generated data.
#[derive(Debug, Clone, clap::Args)]
pub struct DatasetSize {
    /// Organizations of the nested query's user.
    #[arg(long, default_value_t = 2)]
    pub orgs: u32,
    /// Projects per organization.
    #[arg(long, default_value_t = 2)]
    pub projects: u32,
    /// Chats per project.
    #[arg(long, default_value_t = 2)]
    pub chats: u32,
    /// Messages per chat.
    #[arg(long, default_value_t = 3)]
    pub messages: u32,
    /// Chats of the big lists, one project each (the first page of each is measured).
    #[arg(long, value_delimiter = ',', default_value = "20,2000,20000,200000")]
    pub list_sizes: Vec<u32>,
    /// Projects the "wide" user works in (as a project member of each).
    #[arg(long, default_value_t = 10_000)]
    pub user_projects: u32,
}

/// The users and places the scenarios use.
pub struct Dataset {
    /// The project of each big list, by its size.
    pub lists: Vec<(u32, Uuid)>,
    /// A project that both the wide and the narrow user work in.
    pub shared_project: Uuid,
}

/// Ids of the users the benchmark signed up (through the API, so they can sign in).
pub struct Users {
    /// Owns the nested workspace.
    pub nested: Uuid,
    /// Owns the big lists.
    pub lists: Uuid,
    /// Works in `user_projects` projects.
    pub wide: Uuid,
    /// Works in one project.
    pub narrow: Uuid,
}

/// Generates the data (each part in one statement).
pub async fn generate(conn: &mut AsyncPgConnection, size: &DatasetSize, users: &Users) -> anyhow::Result<Dataset> {
    let (nested, lists_owner, wide, narrow) = (users.nested, users.lists, users.wide, users.narrow);
    let role = |scope: &str, name: &str| format!("(SELECT id FROM roles WHERE scope = '{scope}' AND name = '{name}')");
    let org_owner = role("organization", "owner");
    let project_viewer = role("project", "viewer");
    conn.batch_execute(&format!(
        "WITH o AS (INSERT INTO organizations (name, slug) \
           SELECT 'Bench ' || g, 'bench-' || g FROM generate_series(1, {orgs}) g RETURNING id), \
         m AS (INSERT INTO organization_members (organization_id, user_id, role_id) SELECT o.id, '{nested}', {org_owner} FROM o), \
         p AS (INSERT INTO projects (organization_id, name) \
           SELECT o.id, 'Project ' || g FROM o, generate_series(1, {projects}) g RETURNING id), \
         c AS (INSERT INTO chats (project_id, user_id, title, visibility, last_message_at) \
           SELECT p.id, '{nested}', 'Chat ' || g, 'project', now() - g * interval '1 minute' \
           FROM p, generate_series(1, {chats}) g RETURNING id) \
         INSERT INTO messages (chat_id, user_id, role, content) \
           SELECT c.id, '{nested}', 'user', 'Message ' || g FROM c, generate_series(1, {messages}) g",
        orgs = size.orgs,
        projects = size.projects,
        chats = size.chats,
        messages = size.messages,
    ))
    .await?;

    let lists_org = Uuid::now_v7();
    conn.batch_execute(&format!(
        "INSERT INTO organizations (id, name, slug) VALUES ('{lists_org}', 'Big lists', 'bench-lists'); \
         INSERT INTO organization_members (organization_id, user_id, role_id) VALUES ('{lists_org}', '{lists_owner}', {org_owner});"
    ))
    .await?;
    let mut lists = Vec::new();
    for &chats in &size.list_sizes {
        let project = Uuid::now_v7();
        conn.batch_execute(&format!(
            "INSERT INTO projects (id, organization_id, name) VALUES ('{project}', '{lists_org}', '{chats} chats'); \
             INSERT INTO chats (project_id, user_id, title, visibility, created_at, last_message_at) \
               SELECT '{project}', '{lists_owner}', 'Chat ' || g, 'project', now() - g * interval '1 second', \
                 CASE WHEN g % 3 = 0 THEN NULL ELSE now() - g * interval '1 second' END \
               FROM generate_series(1, {chats}) g;"
        ))
        .await?;
        lists.push((chats, project));
    }

    // The wide user is a project viewer in `user_projects` projects of one organization; the
    // narrow user in one of them. Both read the same project's chats.
    let wide_org = Uuid::now_v7();
    let shared_project = Uuid::now_v7();
    conn.batch_execute(&format!(
        "INSERT INTO organizations (id, name, slug) VALUES ('{wide_org}', 'Many projects', 'bench-wide'); \
         INSERT INTO projects (id, organization_id, name) VALUES ('{shared_project}', '{wide_org}', 'Shared'); \
         INSERT INTO chats (project_id, user_id, title, visibility) \
           SELECT '{shared_project}', '{wide}', 'Chat ' || g, 'project' FROM generate_series(1, 20) g; \
         WITH p AS (INSERT INTO projects (organization_id, name) \
           SELECT '{wide_org}', 'Project ' || g FROM generate_series(2, {user_projects}) g RETURNING id) \
         INSERT INTO project_members (project_id, user_id, role_id) SELECT p.id, '{wide}', {project_viewer} FROM p; \
         INSERT INTO project_members (project_id, user_id, role_id) VALUES \
           ('{shared_project}', '{wide}', {project_viewer}), ('{shared_project}', '{narrow}', {project_viewer}); \
         ANALYZE;",
        user_projects = size.user_projects.max(1),
    ))
    .await?;
    Ok(Dataset { lists, shared_project })
}
