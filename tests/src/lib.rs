//! The harness of the hostile-invocation tests: one compiled function binary served through the
//! Lambda Runtime API, told its stack as the template tells it, with every AWS service it could
//! call pointed at a [`Recorder`] (or moto), a CloudFormation stand-in saying what state the stack
//! is in, and a response bucket standing in for CloudFormation's.
//!
//! Build the binaries first: `cargo build --workspace --bins`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use local_lambda::{FunctionProcess, Outcome, ResponseBucket, StackStatus, workspace_binary};
use serde_json::{Value, json};

/// The stack the functions belong to.
pub const OUR_STACK: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/ours/11111111-aaaa-4bbb-8ccc-000000000001";
/// Another stack of the same account.
pub const OTHER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/theirs/22222222-aaaa-4bbb-8ccc-000000000002";

/// The four functions, by binary name, with their resource types.
pub const FUNCTIONS: [(&str, &str); 4] = [
    ("identity-center-app", "Custom::IdentityCenterSamlApp"),
    (
        "attribute-mapping",
        "Custom::IdentityCenterAttributeMapping",
    ),
    ("saml-provider", "Custom::SamlProviderFromMetadata"),
    ("connect-user-import", "Custom::ConnectUserImport"),
];

/// The external id the tests hand the functions: it must never show in a log line or a Reason.
pub const EXTERNAL_ID: &str = "xid-Sup3rSecret-7f3a9c";

/// One request an AWS service would have received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub target: String,
    pub body: String,
}

/// Stands in for every AWS service a function could call: records each request and refuses it
/// with an error that quotes the request back, as a careless service might, so a secret in a
/// request would reach the function's error text.
pub struct Recorder {
    address: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Recorder {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&calls));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            calls,
            server,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(
    State(calls): State<Arc<Mutex<Vec<Call>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let body = String::from_utf8_lossy(&body).into_owned();
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Call {
            method: method.to_string(),
            path: uri.to_string(),
            target,
            body: body.clone(),
        });
    (
        StatusCode::FORBIDDEN,
        [("content-type", "text/xml")],
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
             <Message>not allowed: {}</Message></Error><RequestId>r</RequestId></ErrorResponse>",
            body.replace('&', "&amp;").replace('<', "&lt;")
        ),
    )
}

/// One function binary and everything around it.
pub struct Hostile {
    pub function: FunctionProcess,
    pub bucket: ResponseBucket,
    pub services: Recorder,
    pub cloudformation: StackStatus,
}

impl Hostile {
    /// `binary` told it belongs to [`OUR_STACK`] (in `UPDATE_IN_PROGRESS`), logging at TRACE,
    /// every AWS service at the recorder (IAM at `iam_endpoint` when given), then `env`.
    pub async fn start(binary: &str, iam_endpoint: Option<&str>, env: &[(&str, &str)]) -> Self {
        let services = Recorder::start().await;
        let cloudformation = StackStatus::start().await.expect("stand-in");
        cloudformation.set_stack(OUR_STACK, "UPDATE_IN_PROGRESS");
        let bucket = ResponseBucket::start().await.expect("bucket");
        let mut environment: Vec<(String, String)> = vec![
            ("CONNECT_SSO_STACK_ID".into(), OUR_STACK.into()),
            (
                "AWS_ENDPOINT_URL_CLOUDFORMATION".into(),
                cloudformation.endpoint(),
            ),
            ("RUST_LOG".into(), "trace".into()),
            ("AWS_LAMBDA_LOG_LEVEL".into(), "TRACE".into()),
        ];
        for service in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_IAM",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL_SSO_ADMIN",
            "AWS_ENDPOINT_URL_IDENTITYSTORE",
            "AWS_ENDPOINT_URL_CONNECT",
            "AWS_ENDPOINT_URL_LAMBDA",
        ] {
            environment.push((service.into(), services.endpoint()));
        }
        if let Some(iam) = iam_endpoint {
            environment.push(("AWS_ENDPOINT_URL_IAM".into(), iam.into()));
        }
        environment.extend(env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        let path = workspace_binary(binary).expect("run `cargo build --workspace --bins` first");
        let function = FunctionProcess::spawn(&path, &environment)
            .await
            .expect("spawn");
        function
            .initialised(Duration::from_secs(30))
            .await
            .expect("start-up");
        Self {
            function,
            bucket,
            services,
            cloudformation,
        }
    }

    /// A CloudFormation event answered at the response bucket under `key`.
    pub fn event(
        &self,
        key: &str,
        request_type: &str,
        stack_id: &str,
        resource_type: &str,
        physical_id: Option<&str>,
        properties: Value,
    ) -> Value {
        let mut event = json!({
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "ResponseURL": self.bucket.url(key),
            "StackId": stack_id,
            "RequestId": format!("req-{:08x}", fastrand::u32(..)),
            "LogicalResourceId": "Resource",
            "ResourceType": resource_type,
            "ResourceProperties": properties,
        });
        if let Some(id) = physical_id {
            event["PhysicalResourceId"] = id.into();
        }
        event
    }

    /// An Update of `physical_id` from `old` to `properties`, for this stack, answered under `key`.
    pub fn update_event(
        &self,
        key: &str,
        resource_type: &str,
        physical_id: &str,
        properties: Value,
        old: Value,
    ) -> Value {
        let mut event = self.event(
            key,
            "Update",
            OUR_STACK,
            resource_type,
            Some(physical_id),
            properties,
        );
        event["OldResourceProperties"] = old;
        event
    }

    /// Invokes with `event` (answered under `key`) and returns the one response document.
    pub async fn answer(&self, key: &str, event: &Value) -> Value {
        self.invoke(event).await;
        let response = self.response(key).await;
        assert_eq!(
            self.bucket.received_for(key).len(),
            1,
            "exactly one answer for {key}"
        );
        response
    }

    pub async fn invoke(&self, event: &Value) -> Outcome {
        self.function
            .invoke(event.to_string(), Duration::from_secs(30))
            .await
            .expect("invoke")
    }

    /// The one response document PUT for `key`.
    pub async fn response(&self, key: &str) -> Value {
        self.bucket
            .wait_for_document(key, Duration::from_secs(20))
            .await
            .expect("a response")
    }

    /// Requests the function made to any AWS service (CloudFormation's stand-in aside).
    pub fn service_calls(&self) -> Vec<Call> {
        self.services.calls()
    }

    /// Every log line of the function must be free of `secrets`; returns the lines.
    pub fn assert_logs_free_of(&self, secrets: &[&str]) -> Vec<String> {
        let logs = self.function.logs();
        for line in &logs {
            for secret in secrets {
                assert!(
                    !line.contains(secret),
                    "a log line shows {secret:?}: {line}"
                );
            }
        }
        logs
    }
}

/// The error text of an invocation that failed.
pub fn invocation_error(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Error(body) => String::from_utf8_lossy(body).into_owned(),
        other => panic!("expected an invocation error, got {other:?}"),
    }
}

/// Creates a directory user `name` in the identity store `store`, with a primary email (the Connect
/// user name the import derives), and makes it a member of `group`.
pub async fn directory_member(
    identity_store: &aws_sdk_identitystore::Client,
    store: &str,
    group: &str,
    name: &str,
) {
    use aws_sdk_identitystore::types::{Email, MemberId, Name};
    let user = identity_store
        .create_user()
        .identity_store_id(store)
        .user_name(name)
        .display_name(name)
        .name(
            Name::builder()
                .given_name(name)
                .family_name("Tester")
                .build(),
        )
        .emails(
            Email::builder()
                .value(format!("{name}@example.com"))
                .r#type("work")
                .primary(true)
                .build(),
        )
        .send()
        .await
        .expect("CreateUser");
    identity_store
        .create_group_membership()
        .identity_store_id(store)
        .group_id(group)
        .member_id(MemberId::UserId(user.user_id().to_owned()))
        .send()
        .await
        .expect("CreateGroupMembership");
}
