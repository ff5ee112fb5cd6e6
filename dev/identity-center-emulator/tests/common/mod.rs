//! Raw console-API calls (reqwest) and an sso-admin SDK client, both pointed at an emulator.
#![allow(dead_code)]

use std::time::Duration;

use identity_center_emulator::Emulator;
use serde_json::Value;

pub const AMZ_DATE: &str = "20261101T120000Z";

/// A syntactically valid SigV4 header (the emulator parses it but cannot verify signatures).
pub fn authorization(region: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261101/{region}/{service}/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
        "0123456789abcdef".repeat(4)
    )
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The `__type` without its namespace.
    pub fn error_type(&self) -> &str {
        let full = self.body["__type"].as_str().unwrap_or_default();
        full.rsplit('#').next().unwrap_or_default()
    }
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

/// POSTs `body` to `path` with exactly the given headers.
pub async fn post(endpoint: &str, path: &str, headers: &[(&str, String)], body: &str) -> Answer {
    let client = test_support::http_client();
    let mut request = client
        .post(format!("{endpoint}{path}"))
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, body }
}

pub fn console_headers(operation: &str, region: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/x-amz-json-1.1".to_string()),
        ("x-amz-target", format!("SWBService.{operation}")),
        ("x-amz-date", AMZ_DATE.to_string()),
        ("authorization", authorization(region, "sso")),
    ]
}

/// A well-formed console call signed for us-east-1.
pub async fn console(emulator: &Emulator, operation: &str, body: Value) -> Answer {
    console_in(emulator, "us-east-1", operation, body).await
}

pub async fn console_in(emulator: &Emulator, region: &str, operation: &str, body: Value) -> Answer {
    post(
        &emulator.endpoint(),
        "/control/",
        &console_headers(operation, region),
        &body.to_string(),
    )
    .await
}

/// A console call that must succeed; returns its body.
pub async fn console_ok(emulator: &Emulator, operation: &str, body: Value) -> Value {
    let answer = console(emulator, operation, body).await;
    assert_eq!(answer.status, 200, "{operation} failed: {}", answer.body);
    answer.body
}

/// Creates a custom SAML app with the given display name; returns its `ins-…` id.
pub async fn create_app(emulator: &Emulator, display_name: &str) -> String {
    let created = console_ok(
        emulator,
        "CreateApplicationInstance",
        serde_json::json!({ "templateId": "tpl-50e590700beb5208", "name": "0b7c4a0e-7d2f-4f57-9a53-0d2d1c3e4f50" }),
    )
    .await;
    let instance_id = created["applicationInstance"]["instanceId"]
        .as_str()
        .unwrap()
        .to_string();
    console_ok(
        emulator,
        "UpdateApplicationInstanceDisplayData",
        serde_json::json!({ "instanceId": instance_id, "displayName": display_name, "description": "test app" }),
    )
    .await;
    instance_id
}

/// The public application ARN of an `ins-…` app of the seeded instance.
pub fn application_arn(emulator: &Emulator, instance_id: &str) -> String {
    let ssoins = emulator
        .instance_arn()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let hex = instance_id.strip_prefix("ins-").unwrap();
    format!(
        "arn:aws:sso::{}:application/{ssoins}/apl-{hex}",
        emulator.account_id()
    )
}

/// An sso-admin client on the emulator, with quick retries.
pub async fn sso_admin(emulator: &Emulator) -> aws_sdk_ssoadmin::Client {
    let config = https_client::sdk::loader()
        .region(aws_sdk_ssoadmin::config::Region::new("us-east-1"))
        .endpoint_url(emulator.endpoint())
        .credentials_provider(aws_sdk_ssoadmin::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .load()
        .await;
    aws_sdk_ssoadmin::Client::new(&config)
}
