//! Identity Center in another account: with `IdentityCenterRoleArn`, the directory reads carry the
//! role's credentials (assumed through moto's STS; moto keeps one identity store per account, so
//! the groups of the role's account are only found with them), while every Connect call keeps the
//! function's own credentials (recorded by a pass-through proxy in front of the Connect emulator).

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use connect_user_import::{ConnectUserImport, ImportOptions, Importer};
use identity_center::{Caller, IdentityCenterRole};
use serde_json::{Value, json};
use support::*;
use test_support::access_key_id;

/// The access key of the World's SDK configuration: the function's own credentials.
const OWN_KEY: &str = test_support::ACCESS_KEY_ID;

/// Forwards every request to `target` and keeps the access key id that signed it.
struct RecordingProxy {
    endpoint: String,
    state: Arc<ProxyState>,
}

struct ProxyState {
    target: String,
    http: reqwest::Client,
    access_keys: Mutex<Vec<String>>,
}

impl RecordingProxy {
    async fn start(target: &str) -> Self {
        let state = Arc::new(ProxyState {
            target: target.trim_end_matches('/').to_owned(),
            http: test_support::http_client(),
            access_keys: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { endpoint, state }
    }

    fn access_keys(&self) -> Vec<String> {
        self.state.access_keys.lock().unwrap().clone()
    }
}

async fn forward(
    State(state): State<Arc<ProxyState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    state
        .access_keys
        .lock()
        .unwrap()
        .push(access_key_id(authorization).to_owned());
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = state
        .http
        .request(method, format!("{}{path}", state.target))
        .body(body);
    for (name, value) in &headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let mut answer_headers = answer.headers().clone();
    answer_headers.remove(header::CONTENT_LENGTH);
    answer_headers.remove(header::TRANSFER_ENCODING);
    let body = answer.bytes().await.unwrap();
    (status, answer_headers, body).into_response()
}

/// moto's records of the AssumeRole calls for `role_arn`.
async fn assumed_roles(role_arn: &str) -> Vec<Value> {
    test_support::assumed_roles()
        .await
        .into_iter()
        .filter(|role| role["role_arn"] == role_arn)
        .collect()
}

#[tokio::test]
async fn directory_reads_act_as_the_role_and_connect_calls_as_the_function() {
    let mut w = World::new("cross-account").await;
    let role_arn = format!(
        "arn:aws:iam::111122223333:role/ConnectSsoIdentityCenter-{}",
        test_support::unique("t")
    );
    // The directory lives in the Identity Center account.
    let role = IdentityCenterRole::from_properties(Some(&role_arn), None)
        .unwrap()
        .unwrap();
    let setup = Caller::select(&w.sdk, Some(&role), "test-setup", None)
        .await
        .unwrap();
    w.identity = aws_sdk_identitystore::Client::new(&setup.config(&w.sdk, "us-east-1"));
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    w.join(&agents, &jane).await;

    let proxy = RecordingProxy::start(&w.emulator.endpoint()).await;
    let resource = Arc::new(ConnectUserImport::new(Importer::new(
        &w.sdk,
        ImportOptions {
            quota: fast_quota(),
            connect_endpoint: Some(proxy.endpoint.clone()),
            ..ImportOptions::default()
        },
    )));
    let props = w.props(json!({
        "IdentityCenterRoleArn": role_arn,
        "IdentityCenterExternalId": "connect-sso-external-id",
    }));

    let created = w.send(&resource, w.create_event(&props)).await;
    assert_eq!(counts(&created), [1, 0, 0, 0, 0], "{created:#}");
    assert_eq!(w.usernames(), ["jane@example.com"]);
    let assumed: Vec<Value> = assumed_roles(&role_arn)
        .await
        .into_iter()
        .filter(|role| role["session_name"] != "test-setup")
        .collect();
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    assert_eq!(
        assumed[0]["session_name"],
        format!("connect-sso.{LOGICAL_ID}")
    );
    assert_eq!(assumed[0]["external_id"], "connect-sso-external-id");
    let connect_keys = proxy.access_keys();
    assert!(connect_keys.len() >= 4, "{connect_keys:?}");
    assert!(
        connect_keys.iter().all(|key| key == OWN_KEY),
        "Connect calls keep the function's own credentials: {connect_keys:?}"
    );

    // Without the role the function reads its own account's directory, where the group is not:
    // the reason says where it looked.
    let own = w.props(json!({}));
    let failed = w.send(&resource, w.create_event(&own)).await;
    assert_eq!(status(&failed), "FAILED", "{failed:#}");
    let text = reason(&failed);
    assert!(
        text.starts_with(&format!(
            "invalid property Groups[0]: no group \"Agents\" in identity store {}",
            w.store
        )),
        "{text}"
    );
    assert!(
        text.ends_with(
            "(directory read in account 123456789012 as the function's own role, region us-east-1)"
        ),
        "{text}"
    );

    // Delete reads no directory: no role is assumed; the user goes.
    let deleted = w
        .send(&resource, w.delete_event(&w.physical_id(), &props))
        .await;
    assert_eq!(status(&deleted), "SUCCESS", "{deleted:#}");
    assert!(w.usernames().is_empty());
    assert_eq!(
        assumed_roles(&role_arn)
            .await
            .iter()
            .filter(|role| role["session_name"] != "test-setup")
            .count(),
        1
    );
    assert!(proxy.access_keys().iter().all(|key| key == OWN_KEY));
}

#[tokio::test]
async fn role_properties_are_checked_before_any_call() {
    let w = World::new("cross-account-bad-role").await;
    let resource = w.resource();
    for (extra, expected) in [
        (
            json!({"IdentityCenterRoleArn": "ConnectSsoIdentityCenter"}),
            "invalid property IdentityCenterRoleArn: 'ConnectSsoIdentityCenter' is not an IAM role ARN",
        ),
        (
            json!({"IdentityCenterExternalId": "connect-sso-external-id"}),
            "invalid properties: IdentityCenterExternalId is only used to assume IdentityCenterRoleArn",
        ),
    ] {
        let answer = w.send(&resource, w.create_event(&w.props(extra))).await;
        assert_eq!(status(&answer), "FAILED");
        assert!(reason(&answer).starts_with(expected), "{answer:#}");
    }
    assert!(w.emulator.call_counts().values().all(|count| *count == 0));
}
