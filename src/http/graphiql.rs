//! The GraphiQL page. Its scripts (GraphiQL and React, pinned versions) are served from a local
//! directory when `make setup` has put them there (`vendor/graphiql`), so the page works on
//! machines without general internet access; otherwise they load from the unpkg CDN.

use std::path::Path;

/// Where the local assets are served.
pub const ASSETS_PATH: &str = "/graphiql/assets";

const REACT: &str = "react.production.min.js";
const REACT_DOM: &str = "react-dom.production.min.js";
const GRAPHIQL_JS: &str = "graphiql.min.js";
const GRAPHIQL_CSS: &str = "graphiql.min.css";
const GRAPHQL_WS: &str = "graphql-ws.min.js";

const CDN: [&str; 5] = [
    "https://unpkg.com/react@18.3.1/umd/react.production.min.js",
    "https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css",
    "https://unpkg.com/graphql-ws@5.16.0/umd/graphql-ws.min.js",
];

/// The query GraphiQL opens with: the demo tree.
const DEFAULT_QUERY: &str = "# Welcome to chatgraph. Sign in with the bar above (demo: pm@example.com / ChangeMe123!):
# every query, mutation and subscription then runs as you. Send a message and follow its answer:
#   mutation { sendMessage(input: { projectId: \"<a project id>\", content: \"Hello\" }) { assistantMessage { id } } }
#   subscription { messageStream(messageId: \"<assistantMessage.id>\") { seq delta status } }
{
  apiVersion
  organizations {
    totalCount
    nodes {
      name
      projects {
        nodes {
          name
          chats(first: 10) {
            totalCount
            pageInfo { hasNextPage endCursor }
            nodes {
              title
              visibility
              messages(first: 10) {
                nodes { role content }
              }
            }
          }
        }
      }
    }
  }
}
";

/// True when a GET of the GraphQL endpoint comes from a browser navigating to it (it accepts
/// HTML and is no WebSocket upgrade or API client asking for JSON first).
pub fn wants_page(headers: &axum::http::HeaderMap) -> bool {
    use axum::http::header;
    if headers.contains_key(header::UPGRADE) {
        return false;
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let html = accept.find("text/html");
    let json = accept.find("json");
    html.is_some_and(|h| json.is_none_or(|j| h < j))
}

/// True when `dir` holds every asset the page needs.
pub fn has_local_assets(dir: &Path) -> bool {
    [REACT, REACT_DOM, GRAPHIQL_JS, GRAPHIQL_CSS, GRAPHQL_WS]
        .iter()
        .all(|file| dir.join(file).is_file())
}

/// The page, loading its assets locally (`local`) or from the CDN.
pub fn page(local: bool) -> String {
    let [react, react_dom, js, css, ws] = if local {
        [REACT, REACT_DOM, GRAPHIQL_JS, GRAPHIQL_CSS, GRAPHQL_WS].map(|file| format!("{ASSETS_PATH}/{file}"))
    } else {
        CDN.map(str::to_owned)
    };
    let default_query = serde_json::to_string(DEFAULT_QUERY).unwrap_or_else(|_| "\"\"".to_owned());
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>chatgraph · GraphiQL</title>
  <link rel="stylesheet" href="{css}">
  <style>
    html, body {{ height: 100%; margin: 0; font-family: system-ui, sans-serif; }}
    body {{ display: flex; flex-direction: column; }}
    #session {{ display: flex; gap: .5em; align-items: center; padding: .4em .8em; border-bottom: 1px solid #ddd; font-size: 14px; }}
    #session input {{ padding: .25em .4em; }}
    #graphiql {{ flex: 1; min-height: 0; }}
  </style>
</head>
<body>
  <form id="session">
    <strong>chatgraph</strong>
    <span id="who">not signed in</span>
    <input id="email" type="email" placeholder="email" autocomplete="username" value="pm@example.com">
    <input id="password" type="password" placeholder="password" autocomplete="current-password">
    <button id="signin" type="submit">Sign in</button>
    <button id="signout" type="button" hidden>Sign out</button>
  </form>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{react}"></script>
  <script src="{react_dom}"></script>
  <script src="{js}"></script>
  <script src="{ws}"></script>
  <script>
    // The access token lives in this tab's session storage; every request, WebSocket
    // connection included, carries it, so nobody copies tokens into the Headers tab.
    const url = new URL('/graphql', window.location.href);
    const wsUrl = url.toString().replace(/^http/, 'ws');
    const token = () => sessionStorage.getItem('chatgraph.accessToken');
    const withToken = (init) => {{
      const headers = new Headers(init && init.headers);
      if (token() && !headers.has('authorization')) headers.set('authorization', 'Bearer ' + token());
      return {{ ...init, headers }};
    }};
    const root = ReactDOM.createRoot(document.getElementById('graphiql'));
    let wsClient;
    function render() {{
      if (wsClient) wsClient.dispose();
      wsClient = graphqlWs.createClient({{
        url: wsUrl,
        lazy: true,
        connectionParams: () => (token() ? {{ Authorization: 'Bearer ' + token() }} : {{}}),
      }});
      const fetcher = GraphiQL.createFetcher({{
        url: url.toString(),
        wsClient,
        fetch: (input, init) => fetch(input, withToken(init)),
      }});
      root.render(React.createElement(GraphiQL, {{ fetcher, defaultQuery: {default_query}, defaultEditorToolsVisibility: true }}));
      const signedIn = !!token();
      document.getElementById('who').textContent = signedIn ? 'signed in as ' + sessionStorage.getItem('chatgraph.email') : 'not signed in';
      for (const id of ['email', 'password', 'signin']) document.getElementById(id).hidden = signedIn;
      document.getElementById('signout').hidden = !signedIn;
    }}
    document.getElementById('session').addEventListener('submit', async (event) => {{
      event.preventDefault();
      const email = document.getElementById('email').value;
      const response = await fetch(url, {{
        method: 'POST',
        headers: {{ 'content-type': 'application/json', accept: 'application/json' }},
        body: JSON.stringify({{
          query: 'mutation($input: SignInInput!) {{ signIn(input: $input) {{ session {{ accessToken }} userErrors {{ message }} }} }}',
          variables: {{ input: {{ email, password: document.getElementById('password').value }} }},
        }}),
      }});
      const body = await response.json();
      const payload = body.data && body.data.signIn;
      const accessToken = payload && payload.session && payload.session.accessToken;
      if (!accessToken) {{
        const errors = (payload && payload.userErrors) || body.errors || [];
        document.getElementById('who').textContent = 'sign-in failed: ' + ((errors[0] && errors[0].message) || response.status);
        return;
      }}
      sessionStorage.setItem('chatgraph.accessToken', accessToken);
      sessionStorage.setItem('chatgraph.email', email);
      document.getElementById('password').value = '';
      render();
    }});
    document.getElementById('signout').addEventListener('click', () => {{
      sessionStorage.removeItem('chatgraph.accessToken');
      render();
    }});
    render();
  </script>
</body>
</html>
"#
    )
}
