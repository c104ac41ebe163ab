//! Where the server may send requests on a client's behalf (webhooks, fetched URLs): never to
//! itself or its private network. A client-chosen URL that points at loopback, a private or
//! link-local range (cloud metadata at 169.254.169.254 included), carrier-grade NAT, unique
//! local IPv6 or an unspecified or multicast address would let a tenant read or poke internal
//! services (SSRF). Checked when the URL is stored ([`Policy::refuses`]) and again when a
//! request is made, after DNS resolution ([`Policy::resolve`]: a name can change what it
//! resolves to), connecting to the very address that was checked. [`fetch`] reads a page
//! that way, redirect by redirect.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use async_graphql::futures_util::StreamExt;

/// Where the server may send requests: `https://` URLs on public addresses, unless
/// `CHATGRAPH_ALLOW_PRIVATE_WEBHOOKS` allows `http://` and private addresses (development
/// and tests, with receivers on loopback).
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Whether `http://` and internal addresses are allowed.
    pub allow_private: bool,
    /// Whether `http://` is allowed on public addresses (pages read as documents; never
    /// webhooks, which carry signed data).
    pub allow_http: bool,
}

impl Policy {
    /// The same policy for reading public pages: `http://` allowed too.
    pub fn for_pages(self) -> Self {
        Policy {
            allow_http: true,
            ..self
        }
    }

    /// Why `url` may not be a destination, if it may not (checked when it is stored).
    pub fn refuses(&self, url: &reqwest::Url) -> Option<&'static str> {
        if self.allow_private {
            return match url.scheme() {
                "https" | "http" if url.host().is_some() => None,
                _ => Some("the URL must be http:// or https:// with a host"),
            };
        }
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ if self.allow_http => return Some("the URL must be http:// or https://"),
            _ => return Some("the URL must be https://"),
        }
        refused(url)
    }

    /// The address to connect to for `url`, resolved now: refused when any address the name
    /// resolves to is internal (unless allowed). Connect to exactly this address (for
    /// example with `reqwest::ClientBuilder::resolve`), so the name cannot point elsewhere
    /// between the check and the connection.
    pub async fn resolve(&self, url: &reqwest::Url) -> Result<SocketAddr, String> {
        if let Some(why) = self.refuses(url) {
            return Err(why.to_owned());
        }
        let host = url.host_str().ok_or("the URL has no host")?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| format!("{bare} does not resolve"))?
            .collect();
        let first = *addresses.first().ok_or_else(|| format!("{bare} does not resolve"))?;
        if !self.allow_private && addresses.iter().any(|a| is_internal(a.ip())) {
            return Err(format!("{bare} resolves to a loopback, private or link-local address"));
        }
        Ok(first)
    }
}

/// Most redirects [`fetch`] follows.
pub const MAX_REDIRECTS: usize = 5;

/// A page read by [`fetch`].
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it was read in the end (after redirects).
    pub url: reqwest::Url,
    /// Its `Content-Type`, if given.
    pub content_type: Option<String>,
    /// Its body.
    pub bytes: Vec<u8>,
}

/// Reads `url` with GET under `policy`: each hop resolved, checked and connected to the
/// checked address, at most [`MAX_REDIRECTS`] redirects, a body of at most `max_bytes` (a
/// larger one fails), all within `timeout`. The error says why, for the user.
pub async fn fetch(policy: &Policy, url: reqwest::Url, max_bytes: usize, timeout: Duration) -> Result<Fetched, String> {
    tokio::time::timeout(timeout, fetch_within(policy, url, max_bytes))
        .await
        .unwrap_or_else(|_| Err(format!("no complete answer within {} s", timeout.as_secs())))
}

async fn fetch_within(policy: &Policy, mut url: reqwest::Url, max_bytes: usize) -> Result<Fetched, String> {
    for _ in 0..=MAX_REDIRECTS {
        let address = policy.resolve(&url).await?;
        let host = host_of(&url);
        let client = pinned_client(&url, address)
            .user_agent(concat!("chatgraph/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| "no HTTP client".to_owned())?;
        let response = client
            .get(url.clone())
            .send()
            .await
            .map_err(|_| format!("{host} could not be reached"))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("HTTP {} without a Location", status.as_u16()))?;
            url = url
                .join(location)
                .map_err(|_| "a redirect to an invalid URL".to_owned())?;
            continue;
        }
        if !status.is_success() {
            return Err(format!("the server answered HTTP {}", status.as_u16()));
        }
        if response.content_length().is_some_and(|n| n > max_bytes as u64) {
            return Err(format!("the page is larger than {max_bytes} bytes"));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        let mut body = response.bytes_stream();
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|_| "the page could not be read to its end".to_owned())?;
            if bytes.len() + piece.len() > max_bytes {
                return Err(format!("the page is larger than {max_bytes} bytes"));
            }
            bytes.extend_from_slice(&piece);
        }
        return Ok(Fetched {
            url,
            content_type,
            bytes,
        });
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// A client that connects `url`'s host to `address` only (the address [`Policy::resolve`]
/// checked) and follows no redirect.
pub fn pinned_client(url: &reqwest::Url, address: SocketAddr) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host_of(url), address)
}

/// `url`'s host without IPv6 brackets.
fn host_of(url: &reqwest::Url) -> String {
    url.host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

/// Whether `ip` lies inside: loopback, private, link-local, shared (CGNAT), unspecified,
/// broadcast, documentation-reserved or multicast, in IPv4 or IPv6 (mapped IPv4 included).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

/// Why `url` may not be a destination, if it may not: no host, an internal address written
/// as such, or a name that always means this machine. Other names pass here and are checked
/// on their resolved addresses when used.
pub fn refused(url: &reqwest::Url) -> Option<&'static str> {
    let Some(host) = url.host_str() else {
        return Some("the URL has no host");
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let internal = match bare.parse::<IpAddr>() {
        Ok(ip) => is_internal(ip),
        Err(_) => {
            let name = bare.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name == "metadata.google.internal"
        }
    };
    internal.then_some("the URL points at a loopback, private or link-local address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_and_names_are_refused_public_ones_pass() {
        for url in [
            "https://169.254.169.254/latest/meta-data",
            "https://127.0.0.1/",
            "https://localhost/",
            "https://api.localhost./",
            "https://[::1]/",
            "https://10.0.0.1/",
            "https://192.168.1.20/",
            "https://172.16.5.4/",
            "https://100.64.0.1/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://0.0.0.0/",
            "https://2130706433/",
        ] {
            assert!(refused(&reqwest::Url::parse(url).expect("url")).is_some(), "{url}");
        }
        for url in [
            "https://hooks.example.com/in",
            "https://93.184.216.34/",
            "https://[2606:4700::1111]/",
        ] {
            assert_eq!(refused(&reqwest::Url::parse(url).expect("url")), None, "{url}");
        }
    }
}
