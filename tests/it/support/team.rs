//! A team to test writes with, set up through the API: an owner who created an
//! organization with a project, a project member, a project viewer and an outsider (who has
//! only their own personal workspace).

use serde_json::{Value, json};

use super::{Api, TestDb, token};

/// Who is who, with their access tokens and the ids of the shared organization and project.
pub struct Team {
    pub api: Api,
    pub owner: String,
    pub member: String,
    pub viewer: String,
    pub outsider: String,
    pub organization: Value,
    pub project: Value,
}

impl Team {
    /// Signs up the four people and sets up the organization and project.
    pub async fn new(db: &TestDb) -> Team {
        let api = Api::new(db).await;
        Team::on(api).await
    }

    /// [`Team::new`] on a server already running.
    pub async fn on(api: Api) -> Team {
        let owner = token(&api.sign_up_confirmed("owner@example.com").await, "accessToken");
        let member = token(&api.sign_up_confirmed("member@example.com").await, "accessToken");
        let viewer = token(&api.sign_up_confirmed("viewer@example.com").await, "accessToken");
        let outsider = token(&api.sign_up_confirmed("outsider@example.com").await, "accessToken");
        let (_, body) = api
            .run(
                Some(&owner),
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }",
                json!({ "input": { "name": "Team", "slug": "team" } }),
            )
            .await;
        let organization = body["data"]["createOrganization"]["organization"]["id"].clone();
        let (_, body) = api
            .run(
                Some(&owner),
                "mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }",
                json!({ "input": { "organizationId": organization, "name": "Work" } }),
            )
            .await;
        let project = body["data"]["createProject"]["project"]["id"].clone();
        let team = Team {
            api,
            owner,
            member,
            viewer,
            outsider,
            organization,
            project,
        };
        for (token, email, role) in [
            (team.member.clone(), "member@example.com", "MEMBER"),
            (team.viewer.clone(), "viewer@example.com", "VIEWER"),
        ] {
            team.api
                .join(&team.owner, &team.organization, &token, email, "MEMBER")
                .await;
            let user = team.user_id(&token).await;
            let (_, body) = team
                .api
                .run(
                    Some(&team.owner),
                    "mutation($input: SetProjectMemberRoleInput!) { setProjectMemberRole(input: $input) { userErrors { code } } }",
                    json!({ "input": { "projectId": team.project, "userId": user, "role": role } }),
                )
                .await;
            assert_eq!(body["data"]["setProjectMemberRole"]["userErrors"], json!([]), "{body}");
        }
        team
    }

    /// The global id of the user of `token`.
    pub async fn user_id(&self, token: &str) -> Value {
        self.api.run(Some(token), "{ viewer { id } }", json!({})).await.1["data"]["viewer"]["id"].clone()
    }

    /// The global id of the outsider's own default project (in their personal workspace).
    pub async fn outsiders_project(&self) -> Value {
        let (_, body) = self
            .api
            .run(
                Some(&self.outsider),
                "{ viewer { projects(first: 1) { nodes { id } } } }",
                json!({}),
            )
            .await;
        body["data"]["viewer"]["projects"]["nodes"][0]["id"].clone()
    }

    /// Runs a mutation as `token` and returns its payload (`data.<field>`) and the whole body.
    /// Document `id` once its indexing ended (no longer PENDING or PROCESSING; 30 s at most),
    /// as `query` (a `node(id: $id)` query selecting at least `status`) reads it.
    pub async fn indexed_document(&self, query: &str, id: &Value) -> Value {
        for _ in 0..300 {
            let (_, body) = self
                .api
                .run(Some(&self.owner), query, serde_json::json!({ "id": id }))
                .await;
            let document = body["data"]["node"].clone();
            if document["status"] != "PENDING" && document["status"] != "PROCESSING" {
                return document;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("document {id} was never indexed");
    }

    pub async fn mutate(&self, token: &str, field: &str, query: &str, input: Value) -> (Value, Value) {
        let (_, body) = self.api.run(Some(token), query, json!({ "input": input })).await;
        (body["data"][field].clone(), body)
    }
}
