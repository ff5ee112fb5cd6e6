//! A world for one test: a Connect emulator with a SAML instance, an identity store of its own
//! in moto, and helpers to send CloudFormation events through the resource in-process.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_identitystore::types::{Email, MemberId, Name};
use connect_emulator::{Emulator, Instance, Options, UserSnapshot};
use connect_user_import::limiter::Quota;
use connect_user_import::{ConnectUserImport, ImportOptions, Importer};
use serde_json::{Value, json};

pub const LOGICAL_ID: &str = "Users";
/// Operations that change users: an unchanged user must cause none of them.
pub const WRITES: [&str; 7] = [
    "CreateUser",
    "DeleteUser",
    "TagResource",
    "UpdateUserIdentityInfo",
    "UpdateUserPhoneConfig",
    "UpdateUserRoutingProfile",
    "UpdateUserSecurityProfiles",
];

pub use test_support::moto_endpoint;

pub async fn sdk_config() -> SdkConfig {
    test_support::sdk_config(Some(&moto_endpoint())).await
}

/// A quota high enough that the client-side limiter does not slow the functional tests.
pub fn fast_quota() -> Quota {
    Quota {
        requests_per_second: 200.0,
        burst: 200,
    }
}

pub struct World {
    pub emulator: Emulator,
    pub instance: Instance,
    pub store: String,
    pub identity: aws_sdk_identitystore::Client,
    pub sdk: SdkConfig,
    pub stack_id: String,
    pub stack_guid: String,
}

impl World {
    pub async fn new(test: &str) -> World {
        Self::with_options(test, Options::default(), "SAML").await
    }

    pub async fn with_options(test: &str, options: Options, identity_management: &str) -> World {
        let emulator = Emulator::start(options).await.unwrap();
        let instance = emulator.create_instance(&format!("it-{test}"), identity_management);
        let sdk = sdk_config().await;
        let digest = test.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let stack_guid = format!("{:08x}-{test}", digest as u32);
        World {
            identity: aws_sdk_identitystore::Client::new(&sdk),
            store: format!("d-{:010x}", digest & 0xff_ffff_ffff),
            stack_id: format!(
                "arn:aws:cloudformation:us-east-1:123456789012:stack/connect-sso/{stack_guid}"
            ),
            stack_guid,
            emulator,
            instance,
            sdk,
        }
    }

    pub fn importer(&self, options: ImportOptions) -> Importer {
        Importer::new(
            &self.sdk,
            ImportOptions {
                connect_endpoint: Some(self.emulator.endpoint()),
                ..options
            },
        )
    }

    /// The resource, with a fast client-side quota (the emulator does not throttle by default).
    pub fn resource(&self) -> Arc<ConnectUserImport> {
        self.resource_with(ImportOptions {
            quota: fast_quota(),
            ..ImportOptions::default()
        })
    }

    pub fn resource_with(&self, options: ImportOptions) -> Arc<ConnectUserImport> {
        Arc::new(ConnectUserImport::new(self.importer(options)))
    }

    pub async fn group(&self, name: &str) -> String {
        self.identity
            .create_group()
            .identity_store_id(&self.store)
            .display_name(name)
            .send()
            .await
            .unwrap()
            .group_id()
            .to_owned()
    }

    /// A directory user with a primary email.
    pub async fn user(&self, user_name: &str, email: &str, given: &str, family: &str) -> String {
        self.user_with_email(user_name, Some((email, true)), given, family)
            .await
    }

    pub async fn user_with_email(
        &self,
        user_name: &str,
        email: Option<(&str, bool)>,
        given: &str,
        family: &str,
    ) -> String {
        let emails = email.map(|(value, primary)| {
            vec![
                Email::builder()
                    .value(value)
                    .r#type("work")
                    .primary(primary)
                    .build(),
            ]
        });
        self.identity
            .create_user()
            .identity_store_id(&self.store)
            .user_name(user_name)
            .display_name(format!("{given} {family}"))
            .name(
                Name::builder()
                    .given_name(given)
                    .family_name(family)
                    .build(),
            )
            .set_emails(emails)
            .send()
            .await
            .unwrap()
            .user_id()
            .to_owned()
    }

    pub async fn delete_user(&self, user_id: &str) {
        self.identity
            .delete_user()
            .identity_store_id(&self.store)
            .user_id(user_id)
            .send()
            .await
            .unwrap();
    }

    /// Adds the user to the group; returns the membership id.
    pub async fn join(&self, group_id: &str, user_id: &str) -> String {
        self.identity
            .create_group_membership()
            .identity_store_id(&self.store)
            .group_id(group_id)
            .member_id(MemberId::UserId(user_id.to_owned()))
            .send()
            .await
            .unwrap()
            .membership_id()
            .to_owned()
    }

    pub async fn leave(&self, membership_id: &str) {
        self.identity
            .delete_group_membership()
            .identity_store_id(&self.store)
            .membership_id(membership_id)
            .send()
            .await
            .unwrap();
    }

    /// Properties for this world's instance and store, with `extra` on top.
    pub fn props(&self, extra: Value) -> Value {
        let mut props = json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:connect-user-import",
            "InstanceId": self.instance.id,
            "IdentityStoreId": self.store,
            "Groups": ["Agents"],
        });
        props
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        props
    }

    fn event(&self, request_type: &str, props: &Value) -> Value {
        json!({
            "RequestType": request_type,
            "ResponseURL": "http://127.0.0.1:9/not-used-in-process",
            "StackId": self.stack_id,
            "RequestId": format!("req-{}", fastrand_like()),
            "ResourceType": "Custom::ConnectUserImport",
            "LogicalResourceId": LOGICAL_ID,
            "ResourceProperties": props,
        })
    }

    pub fn create_event(&self, props: &Value) -> Value {
        self.event("Create", props)
    }

    pub fn update_event(&self, physical_id: &str, props: &Value, old: &Value) -> Value {
        let mut event = self.event("Update", props);
        event["PhysicalResourceId"] = json!(physical_id);
        event["OldResourceProperties"] = old.clone();
        event
    }

    pub fn delete_event(&self, physical_id: &str, props: &Value) -> Value {
        let mut event = self.event("Delete", props);
        event["PhysicalResourceId"] = json!(physical_id);
        event
    }

    pub async fn send(&self, resource: &Arc<ConnectUserImport>, event: Value) -> Value {
        self.send_within(resource, event, Duration::from_secs(300))
            .await
    }

    pub async fn send_within(
        &self,
        resource: &Arc<ConnectUserImport>,
        event: Value,
        limit: Duration,
    ) -> Value {
        let response = custom_resource::response_document(Arc::clone(resource), event, limit)
            .await
            .unwrap();
        let size = serde_json::to_vec(&response).unwrap().len();
        assert!(
            size <= custom_resource::MAX_RESPONSE_BYTES,
            "response of {size} bytes"
        );
        response
    }

    pub fn physical_id(&self) -> String {
        format!("{}/{}/{LOGICAL_ID}", self.instance.id, self.stack_guid)
    }

    pub fn users(&self) -> Vec<UserSnapshot> {
        self.emulator.users(&self.instance.id)
    }

    pub fn usernames(&self) -> Vec<String> {
        self.users().into_iter().map(|u| u.username).collect()
    }

    pub fn user_named(&self, username: &str) -> UserSnapshot {
        self.emulator
            .user(&self.instance.id, username)
            .unwrap_or_else(|| panic!("no Connect user {username}; users: {:?}", self.usernames()))
    }

    pub fn security_profile(&self, name: &str) -> String {
        self.emulator
            .security_profile_id(&self.instance.id, name)
            .unwrap()
    }

    pub fn routing_profile(&self, name: &str) -> String {
        self.emulator
            .routing_profile_id(&self.instance.id, name)
            .unwrap()
    }

    pub fn calls(&self, operation: &str) -> u64 {
        self.emulator
            .call_counts()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    pub fn writes(&self) -> BTreeMap<String, u64> {
        self.emulator
            .call_counts()
            .into_iter()
            .filter(|(op, _)| WRITES.contains(&op.as_str()))
            .collect()
    }

    /// Whether the user carries this world's ownership tags.
    pub fn owned(&self, user: &UserSnapshot) -> bool {
        user.tags.get(custom_resource::OWNER_TAG_STACK_ID) == Some(&self.stack_id)
            && user
                .tags
                .get(custom_resource::OWNER_TAG_LOGICAL_ID)
                .map(String::as_str)
                == Some(LOGICAL_ID)
    }
}

fn fastrand_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

pub fn status(response: &Value) -> &str {
    response["Status"].as_str().unwrap_or_default()
}

pub fn reason(response: &Value) -> &str {
    response["Reason"].as_str().unwrap_or_default()
}

/// The five counts, in the order Created, Updated, Deleted, Unchanged, Skipped.
pub fn counts(response: &Value) -> [u64; 5] {
    assert_eq!(status(response), "SUCCESS", "{response:#}");
    let count = |key: &str| -> u64 {
        response["Data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("no Data.{key}: {response:#}"))
            .parse()
            .unwrap()
    };
    [
        count("Created"),
        count("Updated"),
        count("Deleted"),
        count("Unchanged"),
        count("Skipped"),
    ]
}

pub fn problems(response: &Value) -> &str {
    response["Data"]["Problems"].as_str().unwrap_or_default()
}
