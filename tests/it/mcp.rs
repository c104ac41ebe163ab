//! MCP (`services::tools::mcp`, `graphql::mcp_server`): an organization adds MCP servers, a
//! project enables them, answers call their tools on a loopback server built with `rmcp`
//! (one that succeeds, one that fails, one that times out, one with a huge result) with the
//! configured bearer token; a server that is down is a note to the model, never a failure.

use std::time::Duration;

use chatgraph::{
    providers::registry::Providers,
    pubsub::PubSub,
    services::{
        generation::{Generations, Settings},
        tools::MAX_RESULT_BYTES,
    },
};
use rmcp::{
    ErrorData, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult, PaginatedRequestParams,
        ServerCapabilities, ServerConfig, Tool,
    },
    service::{RequestContext, RoleServer},
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
use serde_json::{Value, json};

use crate::{
    streaming::{collect, socket},
    support::{
        Api, Team, TestDb, app_state, authenticator_allowing_private_webhooks, file_store, files_dir, http_settings,
        serve_loopback, serve_state, user_errors,
    },
    websocket::send,
};

/// The loopback MCP server's token.
const TOKEN: &str = "sk-mcp-loopback";

/// A small MCP server: `echo` says its text back, `fail` reports an error, `slow` answers
/// after 5 s, `huge` returns 100,000 bytes, `grow` adds a tool `extra` and says the list
/// changed.
#[derive(Clone, Default)]
struct Kit {
    grown: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ServerHandler for Kit {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = |properties: Value| {
            let Value::Object(schema) = json!({ "type": "object", "properties": properties }) else {
                unreachable!()
            };
            schema
        };
        let mut tools = vec![
            Tool::new(
                "echo",
                "Says the text back.",
                schema(json!({ "text": { "type": "string" } })),
            ),
            Tool::new("fail", "Always fails.", schema(json!({}))),
            Tool::new("slow", "Takes its time.", schema(json!({}))),
            Tool::new("huge", "Returns a lot.", schema(json!({}))),
            Tool::new("grow", "Adds a tool.", schema(json!({}))),
            Tool::new("not.callable", "A name models cannot call.", schema(json!({}))),
        ];
        if self.grown.load(std::sync::atomic::Ordering::SeqCst) {
            tools.push(Tool::new("extra", "Added later.", schema(json!({}))));
        }
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let text = |t: String| vec![ContentBlock::text(t)];
        let result = match request.name.as_ref() {
            "echo" => {
                let said = request
                    .arguments
                    .as_ref()
                    .and_then(|a| a.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                CallToolResult::success(text(format!("echo: {said}")))
            }
            "fail" => CallToolResult::error(text("it broke".into())),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                CallToolResult::success(text("too late".into()))
            }
            "huge" => CallToolResult::success(text("x".repeat(100_000))),
            "grow" => {
                self.grown.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = context.peer.notify_tool_list_changed().await;
                CallToolResult::success(text("grown".into()))
            }
            _ => return Err(ErrorData::invalid_params("no such tool", None)),
        };
        Ok(result.into())
    }
}

/// Serves [`Kit`] on loopback at `/mcp`, refusing requests without the bearer token; its URL.
async fn kit() -> String {
    let kit = Kit::default();
    let service: StreamableHttpService<Kit, LocalSessionManager> = StreamableHttpService::new(
        move || Ok(kit.clone()),
        Default::default(),
        StreamableHttpServerConfig::default(),
    );
    let guarded = axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let expected = format!("Bearer {TOKEN}");
            let authorized = request
                .headers()
                .get("authorization")
                .is_some_and(|v| v.as_bytes() == expected.as_bytes());
            if !authorized {
                return axum::http::StatusCode::UNAUTHORIZED.into_response();
            }
            next.run(request).await
        },
    );
    use axum::response::IntoResponse;
    let router = axum::Router::new().nest_service("/mcp", service).layer(guarded);
    let address = serve_loopback(router).await;
    format!("http://{address}/mcp")
}

/// A server whose tools may reach loopback and give up on a call after a second.
async fn server(db: &TestDb) -> Api {
    server_with_timeout(db, Duration::from_secs(1)).await
}

/// A server whose tools may reach loopback and give up on a call after `timeout`.
async fn server_with_timeout(db: &TestDb, timeout: Duration) -> Api {
    let pool = db.pool();
    let authenticator = authenticator_allowing_private_webhooks();
    let mut state = app_state(pool.clone(), authenticator.clone(), file_store(&files_dir()));
    let settings = Settings {
        tool_call_timeout: timeout,
        ..Settings::default()
    };
    state.generations = Generations::start_service(
        pool,
        Providers::offline(0.0),
        authenticator,
        PubSub::listen(&db.url),
        settings,
    );
    Api {
        client: reqwest::Client::new(),
        address: serve_state(state, http_settings()).await,
    }
}

const ADD: &str = "mutation($input: AddMcpServerInput!) { addMcpServer(input: $input) { \
    mcpServer { id name url hasCredential } userErrors { field code message } } }";
const SETTINGS: &str = "mutation($input: UpdateProjectSettingsInput!) { updateProjectSettings(input: $input) { \
    userErrors { field code message } } }";
const TOOLS: &str =
    "query($id: ID!) { node(id: $id) { ... on Project { tools { name source enabled unavailable } } } }";
const STREAM: &str = "subscription($id: ID!) { messageStream(messageId: $id) { delta toolCalls { callId status } \
    message { status content toolCalls { name source status error preview resultMessage { content } } } } }";

#[tokio::test]
async fn an_answer_calls_the_tools_of_an_organizations_mcp_servers_within_limits() {
    let db = TestDb::migrated().await;
    let url = kit().await;
    let team = Team::on(server(&db).await).await;
    let credential = kit_credential(&team).await;

    // Organization admins add servers; names and URLs are checked.
    let add = |token: &str, input: Value| {
        let (team, token) = (&team, token.to_owned());
        async move { team.mutate(&token, "addMcpServer", ADD, input).await }
    };
    let input = json!({ "organizationId": team.organization, "name": "kit", "url": url, "credentialId": credential });
    let (_, body) = add(&team.member, input.clone()).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    let (payload, body) = add(&team.owner, input.clone()).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(payload["mcpServer"]["hasCredential"], true);
    let (payload, _) = add(&team.owner, input).await;
    assert_eq!(user_errors(&payload), ["input.name:NAME_TAKEN"]);
    let bad = json!({ "organizationId": team.organization, "name": "Kit!", "url": "not a url" });
    let (payload, _) = add(&team.owner, bad).await;
    assert_eq!(
        user_errors(&payload),
        ["input.name:INVALID_NAME", "input.url:INVALID_URL"]
    );
    let down = json!({ "organizationId": team.organization, "name": "down", "url": "http://127.0.0.1:9/mcp" });
    let (payload, body) = add(&team.owner, down).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");

    // A project enables servers by name; their tools are listed live.
    let input = json!({ "projectId": team.project, "enabledTools": ["kit", "down"] });
    let (payload, body) = team.mutate(&team.owner, "updateProjectSettings", SETTINGS, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let (_, body) = team
        .api
        .run(Some(&team.member), TOOLS, json!({ "id": team.project }))
        .await;
    let tools: Vec<String> = body["data"]["node"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| format!("{} {} {} {}", t["name"], t["source"], t["enabled"], t["unavailable"]))
        .collect();
    assert_eq!(
        tools,
        [
            r#""knowledge_search" "builtin" false null"#,
            r#""fetch_url" "builtin" false null"#,
            r#""github_list_files" "builtin" false null"#,
            r#""github_read_file" "builtin" false null"#,
            r#""github_search_code" "builtin" false null"#,
            r#""down" "mcp:down" true "it could not be reached""#,
            r#""kit__echo" "mcp:kit" true null"#,
            r#""kit__fail" "mcp:kit" true null"#,
            r#""kit__slow" "mcp:kit" true null"#,
            r#""kit__huge" "mcp:kit" true null"#,
            r#""kit__grow" "mcp:kit" true null"#,
        ]
    );

    // An assistant sees what it names among what the project enables.
    let create = "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { \
        assistant { enabledTools { name source } } userErrors { code } } }";
    let input = json!({ "projectId": team.project, "name": "Echoer", "provider": "offline", "model": "offline",
                        "tools": ["kit__echo", "github"] });
    let (payload, body) = team.mutate(&team.owner, "createAssistant", create, input).await;
    assert_eq!(
        payload["assistant"]["enabledTools"],
        json!([{ "name": "kit__echo", "source": "mcp:kit" }]),
        "{body}"
    );

    // Four calls at once: a result, an error, a timeout, a result cut to size.
    let content = "call kit__echo {\"text\":\"hello\"}\ncall kit__fail {}\ncall kit__slow {}\ncall kit__huge {}";
    let answer = ask(&team, content).await;
    let events = answer_events(&team, &answer).await;
    let message = &events.last().expect("events")["message"];
    assert_eq!(message["status"], "COMPLETE", "{message}");
    let calls = message["toolCalls"].as_array().expect("calls");
    let summary: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {} {} {}", c["name"], c["source"], c["status"], c["error"]))
        .collect();
    assert_eq!(
        summary,
        [
            r#""kit__echo" "mcp:kit" "SUCCEEDED" null"#,
            r#""kit__fail" "mcp:kit" "FAILED" "it broke""#,
            r#""kit__slow" "mcp:kit" "FAILED" "the tool did not answer within 1 s""#,
            r#""kit__huge" "mcp:kit" "SUCCEEDED" null"#,
        ]
    );
    assert_eq!(calls[0]["resultMessage"]["content"], "echo: hello");
    let huge = calls[3]["resultMessage"]["content"].as_str().expect("huge");
    assert!(
        huge.ends_with(&format!(
            "[the result was cut: {MAX_RESULT_BYTES} of its 100000 bytes are shown]"
        )),
        "{}",
        &huge[huge.len() - 80..]
    );
    // The model read the results and was told the other server is down.
    let content = message["content"].as_str().expect("content");
    assert!(
        content.contains(r#"after kit__echo said "echo: hello" and kit__fail said "error: it broke""#),
        "{content}"
    );
    assert!(content.contains("told that 1 tool server is unavailable"), "{content}");
}

/// An MCP client of `api` with `token` (none: no Authorization header).
async fn agent(api: &Api, token: &str) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    use rmcp::{
        ServiceExt,
        transport::{StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig},
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("http://{}/mcp", api.address)).auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("an MCP session")
}

/// Calls `tool` with `arguments`; (is it an error, its text).
async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    arguments: Value,
) -> (bool, String) {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    let result = client
        .peer()
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .expect("a result");
    let text = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    (result.is_error == Some(true), text)
}

#[tokio::test]
async fn an_agent_works_with_chatgraph_over_mcp_with_the_rights_of_its_token() {
    let db = TestDb::migrated().await;
    let team = Team::on(server(&db).await).await;
    let _workers = crate::support::workers(&db);
    let handbook = crate::grounding::datasource(&team, "Handbook").await;
    crate::grounding::document(&team, &handbook, "Warranty", "The warranty covers parts for two years.").await;
    crate::grounding::indexed(&team).await;

    // No token, no MCP.
    let refused = reqwest::Client::new()
        .post(format!("http://{}/mcp", team.api.address))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .expect("response");
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");

    let member = agent(&team.api, &team.member).await;
    let tools: Vec<String> = member
        .peer()
        .list_all_tools()
        .await
        .expect("tools")
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert_eq!(
        tools,
        [
            "list_projects",
            "search_knowledge",
            "list_chats",
            "read_chat",
            "post_message"
        ]
    );

    let (error, projects) = call(&member, "list_projects", json!({})).await;
    assert!(!error, "{projects}");
    let projects: Value = serde_json::from_str(&projects).expect("json");
    assert!(
        projects
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == team.project)),
        "{projects}"
    );

    let (error, hits) = call(
        &member,
        "search_knowledge",
        json!({ "projectId": team.project, "query": "warranty" }),
    )
    .await;
    assert!(!error, "{hits}");
    let hits: Value = serde_json::from_str(&hits).expect("json");
    assert_eq!(hits[0]["document"]["title"], "Warranty", "{hits}");

    // A post waits for the answer; the chat then reads as the agent left it.
    let (error, posted) = call(
        &member,
        "post_message",
        json!({ "projectId": team.project, "content": "Hello from an agent" }),
    )
    .await;
    assert!(!error, "{posted}");
    let posted: Value = serde_json::from_str(&posted).expect("json");
    assert_eq!(posted["answer"]["status"], "COMPLETE", "{posted}");
    assert!(
        posted["answer"]["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("Offline model answering \"Hello from an agent\":")),
        "{posted}"
    );
    let chat = posted["chat"]["id"].clone();
    let (_, chats) = call(&member, "list_chats", json!({ "projectId": team.project })).await;
    assert!(chats.contains(chat.as_str().expect("id")), "{chats}");
    let (error, read) = call(&member, "read_chat", json!({ "chatId": chat })).await;
    assert!(!error, "{read}");
    let read: Value = serde_json::from_str(&read).expect("json");
    let roles: Vec<&Value> = read["messages"]["nodes"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| &m["role"])
        .collect();
    assert_eq!(roles, [&json!("USER"), &json!("ASSISTANT")]);

    // Another tenant's token reaches none of it.
    let outsider = agent(&team.api, &team.outsider).await;
    let (error, text) = call(&outsider, "read_chat", json!({ "chatId": chat })).await;
    assert!(error && text == "chat not found", "{text}");
    let (error, text) = call(
        &outsider,
        "search_knowledge",
        json!({ "projectId": team.project, "query": "warranty" }),
    )
    .await;
    assert!(error && text.contains("not found"), "{text}");
    let (error, text) = call(
        &outsider,
        "post_message",
        json!({ "chatId": chat, "content": "Let me in" }),
    )
    .await;
    assert!(error && text.contains("not found"), "{text}");
    let (_, projects) = call(&outsider, "list_projects", json!({})).await;
    assert!(!projects.contains(team.project.as_str().expect("id")), "{projects}");
}

/// Sends `content` as the team's member into a new chat of the team's project; the answer's id.
async fn ask(team: &Team, content: &str) -> Value {
    let (sent, body) = team
        .mutate(
            &team.member,
            "sendMessage",
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } userErrors { code } } }",
            json!({ "projectId": team.project, "content": content }),
        )
        .await;
    assert_eq!(sent["userErrors"], json!([]), "{body}");
    sent["assistantMessage"]["id"].clone()
}

/// The events of answer `id`, followed over a WebSocket by the team's member.
async fn answer_events(team: &Team, id: &Value) -> Vec<Value> {
    let mut socket = socket(&team.api, &team.member).await;
    let variables = json!({ "id": id });
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": STREAM, "variables": variables } }),
    )
    .await;
    collect(&mut socket, "1").await
}

/// Stores the loopback [`Kit`]'s token as an organization credential; its id.
async fn kit_credential(team: &Team) -> Value {
    let (payload, body) = team
        .mutate(
            &team.owner,
            "createCredential",
            "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } } }",
            json!({ "organizationId": team.organization, "name": "kit", "credentialType": "CUSTOM", "secret": TOKEN }),
        )
        .await;
    assert!(payload["credential"]["id"].is_string(), "{body}");
    payload["credential"]["id"].clone()
}

/// Adds the loopback [`Kit`] at `url` (with its token) as the organization's server `kit` and
/// enables it in the team's project.
async fn kit_enabled(team: &Team, url: &str) {
    let credential = kit_credential(team).await;
    let input = json!({ "organizationId": team.organization, "name": "kit", "url": url, "credentialId": credential });
    let (payload, body) = team.mutate(&team.owner, "addMcpServer", ADD, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let input = json!({ "projectId": team.project, "enabledTools": ["kit"] });
    let (payload, body) = team.mutate(&team.owner, "updateProjectSettings", SETTINGS, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{body}");
}

#[tokio::test]
async fn a_servers_changed_tool_list_is_listed_again() {
    let db = TestDb::migrated().await;
    let url = kit().await;
    let team = Team::on(server(&db).await).await;
    kit_enabled(&team, &url).await;
    let names = async || {
        let (_, body) = team
            .api
            .run(Some(&team.member), TOOLS, json!({ "id": team.project }))
            .await;
        body["data"]["node"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .filter(|n| n.starts_with("kit__"))
            .collect::<Vec<_>>()
    };
    assert!(!names().await.contains(&"kit__extra".to_owned()));
    let answer = ask(&team, "call kit__grow {}").await;
    let events = answer_events(&team, &answer).await;
    assert_eq!(
        events.last().expect("events")["message"]["toolCalls"][0]["status"],
        "SUCCEEDED"
    );
    // The notification arrived with the call's answer: the next listing asks the server again.
    assert!(names().await.contains(&"kit__extra".to_owned()));
}

#[tokio::test]
async fn stopping_an_answer_during_a_call_ends_the_call_as_failed() {
    let db = TestDb::migrated().await;
    let url = kit().await;
    let team = Team::on(server_with_timeout(&db, Duration::from_secs(30)).await).await;
    kit_enabled(&team, &url).await;
    let answer = ask(&team, "call kit__slow {}").await;
    let calls = "query($id: ID!) { node(id: $id) { ... on Message { status toolCalls { status error } } } }";
    // `slow` answers after 5 s: stop while it runs.
    let mut running = false;
    for _ in 0..100 {
        let (_, body) = team.api.run(Some(&team.member), calls, json!({ "id": answer })).await;
        if body["data"]["node"]["toolCalls"][0]["status"] == "RUNNING" {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(running, "the call never showed as running");
    let (_, body) = team
        .api
        .run(
            Some(&team.member),
            "mutation($input: AnswerInput!) { stopGeneration(input: $input) { message { status toolCalls { status error } } } }",
            json!({ "input": { "messageId": answer } }),
        )
        .await;
    let stopped = &body["data"]["stopGeneration"]["message"];
    assert_eq!(stopped["status"], "CANCELLED", "{body}");
    assert_eq!(
        stopped["toolCalls"],
        json!([{ "status": "FAILED", "error": "the answer ended before the tool answered" }])
    );
}
