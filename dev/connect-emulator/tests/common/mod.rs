//! Shared test helpers: an SDK client pointed at the emulator.
#![allow(dead_code)]

use aws_sdk_connect::Client;
use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_connect::types::UserPhoneConfig;
use aws_sdk_connect::types::{PhoneType, UserIdentityInfo};
use connect_emulator::{Emulator, Instance, Options};

/// A client with retries off, so each test sees exactly what the emulator answered.
pub fn client(emulator: &Emulator) -> Client {
    client_with_retries(emulator, RetryConfig::disabled())
}

pub fn client_with_retries(emulator: &Emulator, retry: RetryConfig) -> Client {
    let config = aws_sdk_connect::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client::sdk::http_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(emulator.endpoint())
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

pub async fn start() -> Emulator {
    Emulator::start(Options::default()).await.unwrap()
}

pub async fn saml_instance(emulator: &Emulator) -> Instance {
    emulator.create_instance("test-saml", "SAML")
}

pub fn names(first: &str, last: &str) -> UserIdentityInfo {
    UserIdentityInfo::builder()
        .first_name(first)
        .last_name(last)
        .build()
}

pub fn soft_phone() -> UserPhoneConfig {
    UserPhoneConfig::builder()
        .phone_type(PhoneType::SoftPhone)
        .build()
}

/// The service error code of an SDK error (e.g. "ResourceNotFoundException").
pub fn code<E, R>(error: &aws_sdk_connect::error::SdkError<E, R>) -> String
where
    E: aws_sdk_connect::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(service) => service.code().unwrap_or("<no code>").to_owned(),
        None => format!("not a service error: {error:?}"),
    }
}

/// Agent + Basic Routing Profile ids of an instance.
pub fn default_profiles(emulator: &Emulator, instance: &Instance) -> (String, String) {
    (
        emulator.security_profile_id(&instance.id, "Agent").unwrap(),
        emulator
            .routing_profile_id(&instance.id, "Basic Routing Profile")
            .unwrap(),
    )
}

/// Creates a SAML user with names, the Agent profile and the basic routing profile.
pub async fn create_user(
    client: &Client,
    emulator: &Emulator,
    instance: &Instance,
    username: &str,
) -> String {
    let (agent, routing) = default_profiles(emulator, instance);
    client
        .create_user()
        .instance_id(&instance.id)
        .username(username)
        .identity_info(names("First", "Last"))
        .phone_config(soft_phone())
        .security_profile_ids(agent)
        .routing_profile_id(routing)
        .send()
        .await
        .unwrap()
        .user_id()
        .unwrap()
        .to_owned()
}
