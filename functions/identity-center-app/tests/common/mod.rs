//! Test plumbing: SDK configurations pointed at the emulator and at moto, CloudFormation events,
//! and identity store users and groups.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use identity_center_app::IdentityCenterSamlApp;
use identity_center_emulator::Emulator;
use serde_json::Value;

pub const RESOURCE_TYPE: &str = "Custom::IdentityCenterSamlApp";

pub use test_support::{moto_endpoint, unique};

/// The access key id of the function's own credentials in these tests.
pub const OWN_KEY: &str = "AKIDAPPTEST";

pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    test_support::sdk_config_signed_by(Some(endpoint), OWN_KEY).await
}

/// A fresh emulator and the function pointed at it (identity store: moto).
pub async fn setup() -> (Emulator, Arc<IdentityCenterSamlApp>) {
    let emulator = Emulator::start().await.unwrap();
    let function = IdentityCenterSamlApp::new(
        sdk_config(&emulator.endpoint()).await,
        sdk_config(&moto_endpoint()).await,
    )
    .with_sts(sdk_config(&moto_endpoint()).await);
    (emulator, Arc::new(function))
}

/// A stack of its own for each test, sending Custom::IdentityCenterSamlApp events.
pub struct Stack {
    pub id: String,
    stack: test_support::Stack,
}

impl Stack {
    pub fn new() -> Self {
        let stack = test_support::Stack::new("connect-sso");
        Self {
            id: stack.id.clone(),
            stack,
        }
    }

    pub fn event(&self, request_type: &str, logical_id: &str, properties: Value) -> Value {
        self.stack.event(
            request_type,
            RESOURCE_TYPE,
            logical_id,
            None,
            properties,
            None,
        )
    }

    pub fn update(
        &self,
        logical_id: &str,
        physical_id: &str,
        properties: Value,
        old: Value,
    ) -> Value {
        self.stack
            .update(RESOURCE_TYPE, logical_id, physical_id, properties, old)
    }

    pub fn delete(&self, logical_id: &str, physical_id: &str, properties: Value) -> Value {
        self.stack
            .delete(RESOURCE_TYPE, logical_id, physical_id, properties)
    }
}

pub async fn run(function: &Arc<IdentityCenterSamlApp>, event: Value) -> Value {
    custom_resource::response_document(Arc::clone(function), event, Duration::from_secs(60))
        .await
        .unwrap()
}

/// The identity store in moto for the emulator's seeded instance.
pub async fn identity_store(emulator: &Emulator) -> IdentityStore {
    IdentityStore {
        client: aws_sdk_identitystore::Client::new(&sdk_config(&moto_endpoint()).await),
        id: emulator.identity_store_id(),
    }
}

/// The same identity store as seen from another account: moto keeps one identity store per
/// account, and credentials from its STS AssumeRole act in the role's account.
pub async fn identity_store_as(emulator: &Emulator, role_arn: &str) -> IdentityStore {
    let own = sdk_config(&moto_endpoint()).await;
    let role = identity_center::IdentityCenterRole::from_properties(Some(role_arn), None)
        .unwrap()
        .unwrap();
    let caller = identity_center::Caller::select(&own, Some(&role), "test-setup", None)
        .await
        .unwrap();
    IdentityStore {
        client: aws_sdk_identitystore::Client::new(&caller.config(&own, "us-east-1")),
        id: emulator.identity_store_id(),
    }
}

/// moto's records of the AssumeRole calls that opened `session_name`.
pub async fn assumed_roles(session_name: &str) -> Vec<Value> {
    test_support::assumed_roles()
        .await
        .into_iter()
        .filter(|role| role["session_name"] == session_name)
        .collect()
}

pub struct IdentityStore {
    pub client: aws_sdk_identitystore::Client,
    pub id: String,
}

impl IdentityStore {
    pub async fn group(&self, display_name: &str) -> String {
        let made = self
            .client
            .create_group()
            .identity_store_id(&self.id)
            .display_name(display_name)
            .send()
            .await
            .unwrap();
        made.group_id().to_owned()
    }

    pub async fn user(&self, user_name: &str) -> String {
        let name = aws_sdk_identitystore::types::Name::builder()
            .given_name("Test")
            .family_name("User")
            .build();
        let made = self
            .client
            .create_user()
            .identity_store_id(&self.id)
            .user_name(user_name)
            .display_name(user_name)
            .name(name)
            .send()
            .await
            .unwrap();
        made.user_id().to_owned()
    }
}

/// The (type, id) pairs assigned to an application, sorted.
pub fn assignments(application: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = application["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["principalType"].as_str().unwrap().to_owned(),
                a["principalId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// The operations sent to the emulator, as `api:Operation`.
pub fn operations(emulator: &Emulator) -> Vec<String> {
    emulator
        .requests()
        .into_iter()
        .map(|r| format!("{}:{}", r.api, r.operation))
        .collect()
}

/// Operations that change something (everything but reads).
pub fn writes(emulator: &Emulator) -> Vec<String> {
    operations(emulator)
        .into_iter()
        .filter(|op| {
            !["Get", "List", "Describe"]
                .iter()
                .any(|read| op.split(':').nth(1).unwrap_or_default().starts_with(read))
        })
        .collect()
}
