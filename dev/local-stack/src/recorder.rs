//! Recording proxies in front of every service the functions call: each request is forwarded
//! unchanged and recorded as (signing access key, `<api>:<operation>`, what it acted on). Each
//! function process signs with its own access key id (its binary's name, see `Stack`), so the
//! record says which function made which call; a key that moto's STS issued (an assumed role) is
//! recorded under the function that assumed it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// How a service names its operations on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// JSON 1.1: `X-Amz-Target: <prefix>.<Operation>` (sso-admin, the console API, identity store).
    Json,
    /// awsQuery: `Action=<Operation>` in the form body (IAM, STS, CloudFormation).
    Query,
    /// Connect's REST routes.
    ConnectRest,
    /// Lambda's REST routes.
    LambdaRest,
}

/// One request a function made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Who signed it: the access key id, or for an assumed role's key, the function that assumed
    /// it (see [`Recorder::caller_of`]).
    pub caller: String,
    /// `<api>:<operation>`.
    pub call: String,
    /// The Connect instance and user the call acts on, when it names them.
    pub connect_instance: Option<String>,
    pub connect_user: Option<String>,
    /// The tags of that Connect user just before the call (for aws:ResourceTag conditions).
    pub resource_tags: BTreeMap<String, String>,
    /// The `RoleArn` of an sts:AssumeRole.
    pub role_arn: Option<String>,
}

/// Looks up the tags of a Connect user (instance id, user id) at the time of a call.
pub type ConnectTags = Arc<dyn Fn(&str, &str) -> BTreeMap<String, String> + Send + Sync>;

#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    calls: Mutex<Vec<Recorded>>,
    /// Access keys moto's STS issued, mapped to the caller that assumed the role.
    assumed: Mutex<HashMap<String, String>>,
    connect_tags: Mutex<Option<ConnectTags>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                http: test_support::http_client(),
                calls: Mutex::new(Vec::new()),
                assumed: Mutex::new(HashMap::new()),
                connect_tags: Mutex::new(None),
            }),
        }
    }

    /// How the Connect proxy learns a user's tags before a call acts on it.
    pub fn look_up_connect_tags(&self, lookup: ConnectTags) {
        *lock(&self.inner.connect_tags) = Some(lookup);
    }

    /// Starts a recording proxy for `api` in front of `upstream`; returns its endpoint.
    pub async fn front(
        &self,
        api: &'static str,
        protocol: Protocol,
        upstream: &str,
    ) -> anyhow::Result<String> {
        let proxy = Arc::new(Proxy {
            api,
            protocol,
            upstream: upstream.trim_end_matches('/').to_owned(),
            recorder: self.clone(),
        });
        let router = Router::new().fallback(forward).with_state(proxy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(format!("http://{address}"))
    }

    /// Every call recorded so far, in order.
    pub fn calls(&self) -> Vec<Recorded> {
        lock(&self.inner.calls).clone()
    }

    /// The caller an access key stands for: the key itself, or for a key moto's STS issued, the
    /// caller that assumed the role.
    pub fn caller_of(&self, access_key: &str) -> String {
        lock(&self.inner.assumed)
            .get(access_key)
            .cloned()
            .unwrap_or_else(|| access_key.to_owned())
    }
}

struct Proxy {
    api: &'static str,
    protocol: Protocol,
    upstream: String,
    recorder: Recorder,
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match proxy.handle(method, uri, headers, body).await {
        Ok(response) => response,
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("recording proxy for {}: {error:#}", proxy.api),
        )
            .into_response(),
    }
}

impl Proxy {
    async fn handle(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> anyhow::Result<Response> {
        let access_key = access_key(&headers).unwrap_or_else(|| "(unsigned)".to_owned());
        let caller = self.recorder.caller_of(&access_key);
        let mut recorded = Recorded {
            caller: caller.clone(),
            call: String::new(),
            connect_instance: None,
            connect_user: None,
            resource_tags: BTreeMap::new(),
            role_arn: None,
        };
        let params: Vec<(String, String)> = match self.protocol {
            Protocol::Query => url::form_urlencoded::parse(&body).into_owned().collect(),
            _ => Vec::new(),
        };
        let operation = match self.protocol {
            Protocol::Json => {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let (prefix, operation) = target.split_once('.').unwrap_or(("", target));
                // One endpoint serves both Identity Center APIs: the target prefix tells them apart.
                let api = match prefix {
                    "SWBService" => "sso-console",
                    "SWBExternalService" => "sso-admin",
                    _ => self.api,
                };
                format!("{api}:{operation}")
            }
            Protocol::Query => {
                let action = params
                    .iter()
                    .find(|(key, _)| key == "Action")
                    .map(|(_, value)| value.as_str())
                    .unwrap_or_default();
                recorded.role_arn = params
                    .iter()
                    .find(|(key, _)| key == "RoleArn")
                    .map(|(_, value)| value.clone());
                format!("{}:{action}", self.api)
            }
            Protocol::ConnectRest => {
                let route = connect_route(&method, uri.path(), &body);
                recorded.connect_instance = route.instance;
                recorded.connect_user = route.user;
                format!("connect:{}", route.operation)
            }
            Protocol::LambdaRest => {
                let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
                let operation = match (method.as_str(), segments.as_slice()) {
                    ("POST", [_, "functions", _, "invocations"]) => "Invoke".to_owned(),
                    _ => format!("(unknown route {method} {})", uri.path()),
                };
                format!("lambda:{operation}")
            }
        };
        recorded.call = operation;
        if let (Some(instance), Some(user)) = (&recorded.connect_instance, &recorded.connect_user) {
            let lookup = lock(&self.recorder.inner.connect_tags).clone();
            if let Some(lookup) = lookup {
                recorded.resource_tags = lookup(instance, user);
            }
        }
        lock(&self.recorder.inner.calls).push(recorded.clone());

        let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut request = self
            .recorder
            .inner
            .http
            .request(method, format!("{}{path_and_query}", self.upstream));
        for (name, value) in &headers {
            if !matches!(name.as_str(), "host" | "content-length" | "connection") {
                request = request.header(name, value);
            }
        }
        let answer = request.body(body).send().await?;
        let status = answer.status();
        let mut response_headers = HeaderMap::new();
        for (name, value) in answer.headers() {
            if !matches!(
                name.as_str(),
                "content-length" | "transfer-encoding" | "connection"
            ) {
                response_headers.insert(name.clone(), value.clone());
            }
        }
        let answer = answer.bytes().await?;
        if recorded.call == "sts:AssumeRole" && status.is_success() {
            // Calls signed with the issued key are the assuming function's.
            let text = String::from_utf8_lossy(&answer);
            if let Some(key) = element_text(&text, "AccessKeyId") {
                lock(&self.recorder.inner.assumed).insert(key, caller);
            }
        }
        Ok((status, response_headers, answer).into_response())
    }
}

/// The access key id of a SigV4 `Authorization` header (`… Credential=<key>/<date>/…`).
fn access_key(headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    credential.split('/').next().map(str::to_owned)
}

fn element_text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..start + end].trim().to_owned())
}

struct ConnectRoute {
    operation: String,
    instance: Option<String>,
    user: Option<String>,
}

/// Connect's REST routes (the API model's request URIs) to operation names.
fn connect_route(method: &Method, path: &str, body: &[u8]) -> ConnectRoute {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let on = |operation: &str, instance: Option<&str>, user: Option<&str>| ConnectRoute {
        operation: operation.to_owned(),
        instance: instance.map(str::to_owned),
        user: user.map(str::to_owned),
    };
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["instance", instance]) => on("DescribeInstance", Some(*instance), None),
        ("GET", ["security-profiles-summary", instance]) => {
            on("ListSecurityProfiles", Some(*instance), None)
        }
        ("GET", ["routing-profiles-summary", instance]) => {
            on("ListRoutingProfiles", Some(*instance), None)
        }
        ("GET", ["users-summary", instance]) => on("ListUsers", Some(*instance), None),
        ("PUT", ["users", instance]) => on("CreateUser", Some(*instance), None),
        ("GET", ["users", instance, user]) => on("DescribeUser", Some(*instance), Some(*user)),
        ("DELETE", ["users", instance, user]) => on("DeleteUser", Some(*instance), Some(*user)),
        ("POST", ["users", instance, user, "identity-info"]) => {
            on("UpdateUserIdentityInfo", Some(*instance), Some(*user))
        }
        ("POST", ["users", instance, user, "phone-config"]) => {
            on("UpdateUserPhoneConfig", Some(*instance), Some(*user))
        }
        ("POST", ["users", instance, user, "security-profiles"]) => {
            on("UpdateUserSecurityProfiles", Some(*instance), Some(*user))
        }
        ("POST", ["users", instance, user, "routing-profile"]) => {
            on("UpdateUserRoutingProfile", Some(*instance), Some(*user))
        }
        ("POST", ["search-users"]) => {
            let instance = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|b| b["InstanceId"].as_str().map(str::to_owned));
            on("SearchUsers", instance.as_deref(), None)
        }
        ("POST", ["tags", arn]) | ("DELETE", ["tags", arn]) => {
            // arn:aws:connect:<region>:<account>:instance/<instance>/agent/<user>
            let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
            let pieces: Vec<&str> = resource.split('/').collect();
            let operation = if method == Method::POST {
                "TagResource"
            } else {
                "UntagResource"
            };
            match pieces.as_slice() {
                ["instance", instance, "agent", user] => {
                    on(operation, Some(*instance), Some(*user))
                }
                ["instance", instance, ..] => on(operation, Some(*instance), None),
                _ => on(operation, None, None),
            }
        }
        _ => on(&format!("(unknown route {method} {path})"), None, None),
    }
}
