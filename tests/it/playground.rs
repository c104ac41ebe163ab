//! GraphiQL as a person uses it, in headless Chromium: the page opens at `/graphql`, the
//! sign-in bar signs in without copying a token, a mutation runs over HTTP and a
//! subscription streams a model answer over WebSocket to its end.

use std::time::Duration;

use chatgraph::services::generation::Settings;
use serde_json::Value;

use crate::{
    streaming::server_with,
    support::{PASSWORD, Team, TestDb, browser::Browser, http_settings},
};

/// The response pane's text once it holds `text` (or GraphiQL's complaint that it sent a
/// subscription over HTTP), at most 30 s.
async fn response_with(browser: &mut Browser, text: &str) -> String {
    let expression = format!(
        "(r => (r.includes({}) || r.includes({})) && r)\
         (document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue())",
        serde_json::to_string(text).expect("json"),
        serde_json::to_string(OVER_HTTP).expect("json"),
    );
    let value = browser.wait_for(&expression, Duration::from_secs(30)).await;
    value.as_str().expect("text").to_owned()
}

/// What the server answers a subscription sent over plain HTTP.
const OVER_HTTP: &str = "not supported on this transport";

/// Runs `query` in GraphiQL's editor and waits until the response pane holds each of `until`
/// in turn; the last response as JSON.
async fn run(browser: &mut Browser, query: &str, until: &[&str]) -> Value {
    let set = format!(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue({})",
        serde_json::to_string(query).expect("json")
    );
    browser.eval(&set).await;
    let mut response = String::new();
    // GraphiQL parses the editor's text shortly after it changes and decides from that parse
    // whether an operation is a subscription (for the WebSocket). A person types slower than
    // this test: when the click came before the parse, GraphiQL sent it over HTTP; click again.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        browser
            .eval("document.querySelector('.graphiql-execute-button').click()")
            .await;
        response = response_with(browser, until[0]).await;
        if !response.contains(OVER_HTTP) {
            break;
        }
    }
    for text in &until[1..] {
        response = response_with(browser, text).await;
    }
    serde_json::from_str(&response).expect("a JSON response")
}

#[tokio::test]
async fn graphiql_signs_in_sends_a_message_and_streams_its_answer() {
    let db = TestDb::migrated().await;
    let mut http = http_settings();
    http.graphiql_assets = concat!(env!("CARGO_MANIFEST_DIR"), "/vendor/graphiql").into();
    let providers = chatgraph::providers::registry::Providers::offline(5.0);
    let team = Team::on(server_with(&db, providers, Settings::default(), http).await).await;
    let mut browser = Browser::launch().await;

    // A browser navigating to the endpoint gets the playground, with its assets from this server.
    browser.open(&format!("http://{}/graphql", team.api.address)).await;
    browser
        .wait_for(
            "!!document.querySelector('.graphiql-query-editor .CodeMirror')",
            Duration::from_secs(30),
        )
        .await;

    // Signing in from the bar: no token copied by hand.
    browser
        .eval(&format!(
            "document.getElementById('email').value = 'member@example.com'; \
             document.getElementById('password').value = {}; \
             document.getElementById('signin').click()",
            serde_json::to_string(PASSWORD).expect("json")
        ))
        .await;
    let who = browser
        .wait_for(
            "(t => t.startsWith('signed in') && t)(document.getElementById('who').textContent)",
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(who, "signed in as member@example.com");
    browser
        .wait_for(
            "!!document.querySelector('.graphiql-query-editor .CodeMirror')",
            Duration::from_secs(30),
        )
        .await;

    let sent = run(
        &mut browser,
        &format!(
            "mutation {{ sendMessage(input: {{ projectId: {}, content: \"Hello from GraphiQL\" }}) \
             {{ assistantMessage {{ id status }} userErrors {{ code }} }} }}",
            team.project
        ),
        &["assistantMessage"],
    )
    .await;
    let payload = &sent["data"]["sendMessage"];
    assert_eq!(payload["userErrors"], serde_json::json!([]), "{sent}");
    assert_eq!(payload["assistantMessage"]["status"], "STREAMING", "{sent}");

    // The subscription runs over the page's WebSocket client, signed in too; GraphiQL shows
    // each event as it arrives (the answer streams at 5 words a second), and the last one
    // carries the whole stored answer.
    let last = run(
        &mut browser,
        &format!(
            "subscription {{ messageStream(messageId: {}) {{ seq status message {{ content }} }} }}",
            payload["assistantMessage"]["id"]
        ),
        &["STREAMING", "COMPLETE"],
    )
    .await;
    let event = &last["data"]["messageStream"];
    let content = event["message"]["content"].as_str().expect("content");
    assert!(
        content.starts_with("Offline model answering \"Hello from GraphiQL\":"),
        "{last}"
    );
    assert_eq!(event["seq"].as_u64(), Some(content.len() as u64), "{last}");
}
