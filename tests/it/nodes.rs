//! `node(id:)` and `nodes(ids:)` for the identity types: a user, their sessions and API
//! tokens are theirs alone; credentials need `credentials.manage`; platform configuration
//! needs a platform admin. Hidden objects are null, never errors.

use serde_json::{Value, json};

use crate::{
    support::TestDb,
    support::{Api, token},
};

const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";

async fn visible(api: &Api, access: &str, ids: &[(&str, Value)]) -> Vec<String> {
    let list: Vec<Value> = ids.iter().map(|(_, id)| id.clone()).collect();
    let (_, body) = api.run(Some(access), NODES, json!({ "ids": list })).await;
    let nodes = body["data"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(nodes.len(), ids.len(), "one answer per id");
    ids.iter()
        .zip(nodes)
        .filter(|(_, node)| !node.is_null())
        .map(|((name, id), node)| {
            assert_eq!(&node["id"], id, "in the order asked");
            (*name).to_owned()
        })
        .collect()
}

#[tokio::test]
async fn identity_objects_are_visible_only_to_whom_they_belong() {
    let db = TestDb::migrated().await;
    let api = Api::new(&db).await;
    let alice = token(&api.sign_up("alice@example.com").await, "accessToken");
    let bob = token(&api.sign_up("bob@example.com").await, "accessToken");
    let root = token(&api.sign_up("root@example.com").await, "accessToken");
    crate::support::make_platform_admin(&db, "root@example.com").await;

    let (_, body) = api
        .run(
            Some(&alice),
            "{ viewer { id sessions { id } organizations { nodes { id } } } }",
            json!({}),
        )
        .await;
    let viewer = &body["data"]["viewer"];
    let (_, created) = api
        .run(
            Some(&alice),
            "mutation { createApiToken(input: { name: \"ci\" }) { apiToken { id } } }",
            json!({}),
        )
        .await;
    let (_, credential) = api
        .run(
            Some(&alice),
            "mutation($org: ID!) { createCredential(input: { organizationId: $org, name: \"key\", credentialType: OPENAI, secret: \"sk-1\" }) { credential { id } } }",
            json!({ "org": viewer["organizations"]["nodes"][0]["id"] }),
        )
        .await;
    let (_, config) = api
        .run(
            Some(&root),
            "mutation { setPlatformConfig(input: { key: \"chat_agent\", value: {} }) { platformConfig { id } } }",
            json!({}),
        )
        .await;
    let ids = [
        ("user", viewer["id"].clone()),
        ("session", viewer["sessions"][0]["id"].clone()),
        ("api token", created["data"]["createApiToken"]["apiToken"]["id"].clone()),
        (
            "credential",
            credential["data"]["createCredential"]["credential"]["id"].clone(),
        ),
        (
            "platform config",
            config["data"]["setPlatformConfig"]["platformConfig"]["id"].clone(),
        ),
    ];
    assert!(ids.iter().all(|(_, id)| id.is_string()), "{ids:?}");

    assert_eq!(
        visible(&api, &alice, &ids).await,
        ["user", "session", "api token", "credential"]
    );
    assert_eq!(visible(&api, &bob, &ids).await, Vec::<String>::new());
    assert_eq!(
        visible(&api, &root, &ids).await,
        ["user", "credential", "platform config"]
    );

    let (_, body) = api
        .run(
            Some(&alice),
            "query($id: ID!) { node(id: $id) { ... on ApiToken { name } } }",
            json!({ "id": ids[2].1 }),
        )
        .await;
    assert_eq!(body["data"]["node"]["name"], "ci");
    let too_many: Vec<Value> = (0..101).map(|_| ids[0].1.clone()).collect();
    let (_, body) = api.run(Some(&alice), NODES, json!({ "ids": too_many })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}
