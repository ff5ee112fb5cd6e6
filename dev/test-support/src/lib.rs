//! The one set of test helpers of the workspace: the functions' tests, the end-to-end tests
//! (`tests/`) and the dev crates use these instead of keeping copies.
//!
//! - [`moto_endpoint`]: where `scripts/with-moto` started moto (IAM, identity store, STS).
//! - [`sdk_config`], [`sdk_config_signed_by`]: SDK configurations with dummy credentials in
//!   [`REGION`], pointed at moto or an emulator.
//! - [`http_client`]: a `reqwest` client on the shared TLS configuration.
//! - [`unique`]: names no other test uses (the tests share one moto).
//! - [`Stack`]: CloudFormation events of one stack, as CloudFormation sends them.
//! - [`assumed_roles`], [`access_key_id`]: what moto's STS recorded, and who signed a request.
//! - [`hung_endpoint`]: a server that accepts connections and never answers.
//! - [`recording_endpoint`]: a server that records requests (to compare hand-built requests with
//!   the SDK's).

use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::{Value, json};

/// The region every test runs in.
pub const REGION: &str = "us-east-1";
/// The account of the tests' stacks (moto's default account).
pub const ACCOUNT_ID: &str = "123456789012";
/// The access key id of [`sdk_config`].
pub const ACCESS_KEY_ID: &str = "testing";

/// moto's endpoint, from `MOTO_ENDPOINT` (set by `scripts/with-moto`).
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is not set: run the tests through scripts/with-moto \
             (scripts/with-moto cargo test --workspace ...; `make test` does)"
        )
    })
}

/// Dummy credentials ([`ACCESS_KEY_ID`]) in [`REGION`], every service at `endpoint` when given.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    sdk_config_signed_by(endpoint, ACCESS_KEY_ID).await
}

/// The same, signing with `access_key_id`, so a test can tell whose credentials signed a request
/// (see [`access_key_id`]).
pub async fn sdk_config_signed_by(endpoint: Option<&str>, access_key_id: &str) -> SdkConfig {
    let mut loader = https_client::sdk::loader()
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            access_key_id,
            "secret",
            None,
            None,
            "tests",
        ));
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// A `reqwest` client as the functions build theirs (the shared TLS configuration): reqwest's own
/// defaults bring no crypto provider in this workspace.
pub fn http_client() -> reqwest::Client {
    https_client::reqwest_builder()
        .build()
        .expect("a reqwest client on the shared TLS configuration")
}

/// `<prefix>-<16 hex digits>`: a name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", fastrand::u64(..))
}

/// moto's records of the AssumeRole calls (`role_arn`, `session_name`, `external_id`, ...).
pub async fn assumed_roles() -> Vec<Value> {
    let text = http_client()
        .get(format!("{}/moto-api/data.json", moto_endpoint()))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("moto's recorded data")
        .text()
        .await
        .expect("moto's recorded data");
    let data: Value = serde_json::from_str(&text).expect("moto's recorded data is JSON");
    data["sts"]["AssumedRole"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The access key id that signed a request: `Credential=<key id>/<date>/...` of its
/// Authorization header.
pub fn access_key_id(authorization: &str) -> &str {
    authorization
        .split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

/// A local server that accepts every connection and never answers, as a hung service would:
/// its `http://` endpoint. It lives as long as the test's runtime.
pub async fn hung_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

/// A local server answering every request with `status`, an XML `body` (an AWS error document,
/// say): its `http://` endpoint. For a service that refuses, without assuming anything about
/// ports nobody listens on.
pub async fn answering_endpoint(status: u16, body: &str) -> String {
    recording_endpoint(status, "text/xml", body).await.endpoint
}

/// One request as it arrived on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header names lowercased.
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// What makes the request the operation it is, leaving out what changes from one request to
    /// the next (the signature's time, the SDK's user agent and invocation ids): method, path,
    /// content type, `X-Amz-Target`, `X-Amz-Invocation-Type`, the signing scope (region and
    /// service) and the body (a JSON body as its value, a form as its sorted fields).
    pub fn operation(&self) -> Vec<(String, String)> {
        let header = |name: &str| self.headers.get(name).cloned().unwrap_or_default();
        let scope = header("authorization")
            .split("Credential=")
            .nth(1)
            .and_then(|credential| credential.split(',').next())
            .map(|credential| credential.split('/').skip(2).collect::<Vec<_>>().join("/"))
            .unwrap_or_default();
        let body = if let Ok(json) = serde_json::from_slice::<Value>(&self.body) {
            json.to_string()
        } else if header("content-type").starts_with("application/x-www-form-urlencoded") {
            let mut fields: Vec<(String, String)> = url::form_urlencoded::parse(&self.body)
                .into_owned()
                .collect();
            fields.sort();
            format!("{fields:?}")
        } else {
            String::from_utf8_lossy(&self.body).into_owned()
        };
        [
            ("method", self.method.clone()),
            ("path", self.path.clone()),
            ("content-type", header("content-type")),
            ("x-amz-target", header("x-amz-target")),
            ("x-amz-invocation-type", header("x-amz-invocation-type")),
            ("signing scope", scope),
            ("body", body),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }
}

/// A local server that records every request and answers each with `status`, `content_type`
/// and `body`.
pub struct Recording {
    /// Its `http://` endpoint.
    pub endpoint: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<RecordedRequest>>>,
}

impl Recording {
    /// The requests received so far, taken.
    pub fn take(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut *self.requests.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

pub async fn recording_endpoint(status: u16, content_type: &str, body: &str) -> Recording {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let address = listener.local_addr().expect("its address");
    let response = format!(
        "HTTP/1.1 {status} Answer\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let requests: std::sync::Arc<std::sync::Mutex<Vec<RecordedRequest>>> =
        std::sync::Arc::default();
    let recorded = std::sync::Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let response = response.clone();
            let recorded = std::sync::Arc::clone(&recorded);
            tokio::spawn(async move {
                // Read the whole request (headers, then the body they announce) before answering.
                let mut request = Vec::new();
                let mut buffer = [0u8; 8192];
                let parsed = loop {
                    let Ok(read) = stream.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    if let Some(parsed) = parse_request(&request) {
                        break parsed;
                    }
                };
                recorded
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(parsed);
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Recording {
        endpoint: format!("http://{address}"),
        requests,
    }
}

/// The request in `bytes`, once all of it (headers and the body they announce) is there.
fn parse_request(bytes: &[u8]) -> Option<RecordedRequest> {
    let end = find(bytes, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split(' ');
    let (method, path) = (request_line.next()?, request_line.next()?);
    let headers: std::collections::BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length = headers
        .get("content-length")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(0);
    let body = bytes.get(end + 4..end + 4 + length)?.to_vec();
    Some(RecordedRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// One CloudFormation stack, for the events it sends a custom resource.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Its ARN: the StackId of every event.
    pub id: String,
    /// The stack's name, the part of its ARN after `stack/`.
    pub name: String,
    /// The ResponseURL of the events (in-process tests never call it).
    pub response_url: String,
}

impl Stack {
    /// A stack named `<prefix>-<unique>` in [`ACCOUNT_ID`], [`REGION`].
    pub fn new(prefix: &str) -> Self {
        let name = unique(prefix);
        Self::named(&name)
    }

    /// A stack of exactly this name.
    pub fn named(name: &str) -> Self {
        Self {
            id: format!(
                "arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{name}/{:08x}-0000-4000-8000-{:012x}",
                fastrand::u32(..),
                fastrand::u64(..) & 0xffff_ffff_ffff
            ),
            name: name.to_owned(),
            response_url: "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/test?X-Amz-Signature=unused".to_owned(),
        }
    }

    /// The stack of this ARN (`arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>`).
    pub fn with_id(id: &str) -> Self {
        Self {
            name: id.split('/').nth(1).unwrap_or(id).to_owned(),
            id: id.to_owned(),
            ..Self::named("unnamed")
        }
    }

    /// The same stack, its events answered at `response_url`.
    pub fn answered_at(mut self, response_url: &str) -> Self {
        self.response_url = response_url.to_owned();
        self
    }

    /// A Create of `logical_id` (a `resource_type`) with `properties`.
    pub fn create(&self, resource_type: &str, logical_id: &str, properties: Value) -> Value {
        self.event("Create", resource_type, logical_id, None, properties, None)
    }

    /// An Update of the resource `physical_id`, from `old` properties to `properties`.
    pub fn update(
        &self,
        resource_type: &str,
        logical_id: &str,
        physical_id: &str,
        properties: Value,
        old: Value,
    ) -> Value {
        self.event(
            "Update",
            resource_type,
            logical_id,
            Some(physical_id),
            properties,
            Some(old),
        )
    }

    /// A Delete of the resource `physical_id`.
    pub fn delete(
        &self,
        resource_type: &str,
        logical_id: &str,
        physical_id: &str,
        properties: Value,
    ) -> Value {
        self.event(
            "Delete",
            resource_type,
            logical_id,
            Some(physical_id),
            properties,
            None,
        )
    }

    /// Any event, as CloudFormation shapes it (a fresh RequestId each time).
    pub fn event(
        &self,
        request_type: &str,
        resource_type: &str,
        logical_id: &str,
        physical_id: Option<&str>,
        properties: Value,
        old: Option<Value>,
    ) -> Value {
        let mut event = json!({
            "RequestType": request_type,
            "ServiceToken": format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{}", self.name),
            "ResponseURL": self.response_url,
            "StackId": self.id,
            "RequestId": unique("request"),
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": properties,
        });
        if let Some(physical_id) = physical_id {
            event["PhysicalResourceId"] = json!(physical_id);
        }
        if let Some(old) = old {
            event["OldResourceProperties"] = old;
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_key_is_read_from_an_authorization_header() {
        assert_eq!(
            access_key_id(
                "AWS4-HMAC-SHA256 Credential=AKIDX/20260101/us-east-1/sso/aws4_request, SignedHeaders=host"
            ),
            "AKIDX"
        );
        assert_eq!(access_key_id("Bearer x"), "");
    }

    #[test]
    fn stacks_and_their_events_look_like_cloudformations() {
        let stack = Stack::new("ours");
        assert!(stack.id.starts_with(&format!(
            "arn:aws:cloudformation:us-east-1:123456789012:stack/{}/",
            stack.name
        )));
        let update = stack.update(
            "Custom::X",
            "Thing",
            "id-1",
            json!({"A": "1"}),
            json!({"A": "0"}),
        );
        assert_eq!(update["StackId"], json!(stack.id));
        assert_eq!(update["PhysicalResourceId"], "id-1");
        assert_eq!(update["OldResourceProperties"], json!({"A": "0"}));
        assert_ne!(
            stack.create("Custom::X", "Thing", json!({}))["RequestId"],
            stack.create("Custom::X", "Thing", json!({}))["RequestId"]
        );
    }
}
