//! The sample events in events/saml-provider are valid against the current properties, and run
//! (create, update, delete) against moto's IAM with only the metadata URL pointed at a local
//! server.

mod support;

use saml_provider::Properties;
use serde_json::{Value, json};
use support::*;

#[test]
fn every_sample_event_parses_as_the_function_would_parse_it() {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/saml-provider");
    for request_type in ["create", "update", "delete"] {
        let path = format!("{folder}/{request_type}.json");
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            event["RequestType"]
                .as_str()
                .map(str::to_lowercase)
                .as_deref(),
            Some(request_type),
            "{path}"
        );
        for key in ["ResourceProperties", "OldResourceProperties"] {
            if let Some(properties) = event.get(key) {
                let parsed: Result<Properties, String> =
                    custom_resource::parse_properties(properties);
                assert!(parsed.is_ok(), "{path} {key}: {}", parsed.unwrap_err());
            }
        }
    }
}

#[test]
fn the_sample_sync_event_parses_as_the_function_would_parse_it() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/saml-provider/sync.json"
    );
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let properties_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/saml-provider/sync-properties.json"
    );
    let properties: Value =
        serde_json::from_str(&std::fs::read_to_string(properties_path).unwrap()).unwrap();
    let stack_id = event["ConnectSsoSync"]["StackId"].as_str().unwrap();
    let target = stack_sync::SyncTarget::new(stack_id, "SamlProvider", properties);
    let sync = target.authorise(&event).unwrap();
    assert_eq!(sync.logical_resource_id, "SamlProvider");
    let properties: Properties = target.properties().unwrap();
    assert_eq!(properties.name.as_deref(), Some("Connect-SSO"));
}

#[tokio::test]
async fn the_sample_events_run_create_update_delete() {
    let server = MetadataServer::start(&metadata_until(days_from_now(365))).await;
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let resource = provider_via(&iam, local_download());
    let sample = |name: &str| -> Value {
        let path = format!(
            "{}/../../events/saml-provider/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for key in ["ResourceProperties", "OldResourceProperties"] {
            if event.get(key).is_some() {
                event[key]["MetadataUrl"] = json!(server.url("/metadata"));
            }
        }
        event
    };
    let created = respond(&resource, sample("create")).await;
    let arn = succeeded(&created);
    assert_eq!(
        sample("update")["PhysicalResourceId"],
        json!(arn),
        "the samples name the provider the create makes"
    );
    let updated = respond(&resource, sample("update")).await;
    assert_eq!(succeeded(&updated), arn, "updated in place");
    assert!(moto.document(&arn).await.is_some());
    let deleted = respond(&resource, sample("delete")).await;
    succeeded(&deleted);
    assert_eq!(moto.document(&arn).await, None, "the delete removed it");
}
