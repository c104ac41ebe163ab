//! Headless Chromium driven over the Chrome DevTools Protocol (a WebSocket of JSON calls), to
//! use pages as a person does. `make setup` installs Chromium from Debian's packages.

use std::{path::PathBuf, process::Stdio, time::Duration};

use async_graphql::futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::TcpStream,
    process::{Child, Command},
};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

/// One headless Chromium with one page; killed (and its profile removed) when dropped.
pub struct Browser {
    _child: Child,
    profile: PathBuf,
    page: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    /// Starts Chromium and connects to its blank page.
    pub async fn launch() -> Browser {
        let profile = std::env::temp_dir().join(format!("chatgraph-browser-{}", uuid::Uuid::new_v4()));
        let mut child = Command::new("chromium")
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium (installed by `make setup`)");
        // "DevTools listening on ws://127.0.0.1:<port>/devtools/browser/<id>"
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("chromium's output") {
                if let Some(url) = line.strip_prefix("DevTools listening on ws://127.0.0.1:") {
                    return url.split('/').next().expect("port").to_owned();
                }
            }
            panic!("chromium exited without a DevTools address");
        })
        .await
        .expect("chromium started");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let targets: Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
            .await
            .expect("targets")
            .json()
            .await
            .expect("target list");
        let page_url = targets
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page")
            .to_owned();
        let (page, _) = tokio_tungstenite::connect_async(page_url).await.expect("page socket");
        Browser {
            _child: child,
            profile,
            page,
            next_id: 0,
        }
    }

    /// Calls a DevTools method of the page; its result (events in between are skipped).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let call = json!({ "id": id, "method": method, "params": params });
        self.page.send(Message::text(call.to_string())).await.expect("send");
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.page.next())
                .await
                .expect("an answer from chromium")
                .expect("open")
                .expect("message");
            let Message::Text(text) = message else { continue };
            let answer: Value = serde_json::from_str(&text).expect("json");
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// Opens `url` in the page.
    pub async fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {result}");
        result["result"]["value"].clone()
    }

    /// The first value of `expression` that is neither null, false nor empty, polled for at
    /// most `within`.
    pub async fn wait_for(&mut self, expression: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let value = self
                .eval(&format!(
                    "(() => {{ try {{ return {expression}; }} catch (e) {{ return null; }} }})()"
                ))
                .await;
            if !(value.is_null() || value == false || value == "") {
                return value;
            }
            if tokio::time::Instant::now() >= deadline {
                let page = self.eval("document.body.innerText.slice(0, 3000)").await;
                panic!(
                    "waited in vain for {expression}; the page shows:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
