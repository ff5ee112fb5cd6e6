//! Forged sync events, sent to the two synced functions (compiled, through the Runtime API): a
//! sync acts only on what the stack set in the function's environment, so an event carrying its
//! own properties, or naming another stack or resource, is refused with no call to any service.
//!
//! Needs `cargo build --workspace --bins`.

use std::time::Duration;

use end_to_end::*;
use serde_json::{Value, json};

const SYNCED: [(&str, &str, &str); 2] = [
    (
        "saml-provider",
        "SamlProvider",
        r#"{"MetadataUrl": "https://portal.sso.us-east-1.amazonaws.com/saml/metadata/abc", "Name": "Ours"}"#,
    ),
    (
        "connect-user-import",
        "ConnectUserImport",
        r#"{"InstanceId": "4b2c8f6e-5a1d-4c3b-9e7f-0d1c2b3a4f5e", "IdentityStoreId": "d-9067a1b2c3", "Groups": ["Agents"]}"#,
    ),
];

fn sync_event(stack: &str, logical_id: &str, properties: Option<Value>) -> Value {
    let mut inner = json!({"StackId": stack, "LogicalResourceId": logical_id});
    if let Some(properties) = properties {
        inner["Properties"] = properties;
    }
    json!({ "ConnectSsoSync": inner })
}

async fn synced_function(binary: &str, logical_id: &str, properties: &str) -> Hostile {
    Hostile::start(
        binary,
        None,
        &[
            ("CONNECT_SSO_SYNC_RESOURCE", logical_id),
            ("CONNECT_SSO_SYNC_PROPERTIES", properties),
        ],
    )
    .await
}

#[tokio::test]
async fn a_sync_event_with_its_own_properties_is_refused() {
    for (binary, logical_id, properties) in SYNCED {
        let hostile = synced_function(binary, logical_id, properties).await;
        hostile
            .cloudformation
            .set_stack(OUR_STACK, "UPDATE_COMPLETE");
        for forged in [
            json!({"MetadataDocument": "<md:EntityDescriptor entityID=\"https://idp.attacker.example\"/>"}),
            json!({"SecurityProfiles": ["Admin"], "OnUserRemoved": "Delete", "Groups": ["Everyone"]}),
        ] {
            let event = sync_event(OUR_STACK, logical_id, Some(forged));
            let error = invocation_error(&hostile.invoke(&event).await);
            assert!(
                error.contains("refused, nothing done")
                    && error.contains("this one also carries Properties;"),
                "{binary}: {error}"
            );
        }
        assert!(
            hostile.service_calls().is_empty(),
            "{binary}: {:?}",
            hostile.service_calls()
        );
        hostile.function.stop().await;
    }
}

#[tokio::test]
async fn a_sync_naming_another_stack_or_resource_is_refused() {
    for (binary, logical_id, properties) in SYNCED {
        let hostile = synced_function(binary, logical_id, properties).await;
        hostile
            .cloudformation
            .set_stack(OTHER_STACK, "UPDATE_COMPLETE");
        let error = invocation_error(
            &hostile
                .invoke(&sync_event(OTHER_STACK, logical_id, None))
                .await,
        );
        assert!(
            error.contains("refused")
                && error.contains(OTHER_STACK)
                && error.contains("syncs only stack"),
            "{binary}: {error}"
        );
        let error = invocation_error(
            &hostile
                .invoke(&sync_event(OUR_STACK, "SomethingElse", None))
                .await,
        );
        assert!(
            error.contains("refused") && error.contains("SomethingElse"),
            "{binary}: {error}"
        );
        assert!(
            hostile.service_calls().is_empty(),
            "{binary}: {:?}",
            hostile.service_calls()
        );
        hostile.function.stop().await;
    }
}

#[tokio::test]
async fn a_function_without_a_sync_configured_refuses_every_sync() {
    for (binary, logical_id, _) in SYNCED {
        let hostile = Hostile::start(binary, None, &[]).await;
        let error = invocation_error(
            &hostile
                .invoke(&sync_event(OUR_STACK, logical_id, None))
                .await,
        );
        assert!(error.contains("no sync configured"), "{binary}: {error}");
        assert!(hostile.service_calls().is_empty(), "{binary}");
        hostile.function.stop().await;
    }
}

/// The control: the schedule's own event passes and reaches the stack check (which, with the
/// resource unknown to CloudFormation, skips the run).
#[tokio::test]
async fn the_schedules_own_event_is_obeyed() {
    for (binary, logical_id, properties) in SYNCED {
        let hostile = synced_function(binary, logical_id, properties).await;
        hostile
            .cloudformation
            .set_stack(OUR_STACK, "UPDATE_COMPLETE");
        let outcome = hostile
            .invoke(&sync_event(OUR_STACK, logical_id, None))
            .await;
        let result = outcome.response_json().expect("a result");
        assert_eq!(result["Status"], "Skipped", "{binary}: {result:#}");
        assert!(
            result["Reason"]
                .as_str()
                .unwrap_or_default()
                .contains(logical_id),
            "{result:#}"
        );
        hostile.function.stop().await;
    }
}

/// CloudFormation never answering the sync's stack check: the sync does nothing and the
/// invocation ends, with an error, before the function's deadline (Lambda would otherwise kill it
/// and count a timeout).
#[tokio::test]
async fn a_sync_whose_stack_check_hangs_writes_nothing_and_ends_before_the_deadline() {
    let hung = test_support::hung_endpoint().await;
    let timeout = Duration::from_secs(5);
    for (binary, logical_id, properties) in SYNCED {
        let hostile = Hostile::start(
            binary,
            None,
            &[
                ("CONNECT_SSO_SYNC_RESOURCE", logical_id),
                ("CONNECT_SSO_SYNC_PROPERTIES", properties),
                ("AWS_ENDPOINT_URL_CLOUDFORMATION", &hung),
            ],
        )
        .await;
        let outcome = hostile
            .function
            .invoke(sync_event(OUR_STACK, logical_id, None).to_string(), timeout)
            .await
            .expect("invoke");
        // The function's own deadline guard ends it (an error it posts itself, 100 ms before
        // the deadline), not the runtime's kill (`Outcome::TimedOut`); a timing bound here would
        // only measure how loaded the machine is.
        let error = invocation_error(&outcome);
        assert!(
            error.contains("timed out before the function's deadline"),
            "{binary}: {error}"
        );
        assert!(
            hostile.service_calls().is_empty(),
            "{binary}: {:?}",
            hostile.service_calls()
        );
        hostile.function.stop().await;
    }
}
