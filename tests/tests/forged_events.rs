//! Forged CloudFormation events, sent to each compiled function through the Runtime API: anyone
//! allowed `lambda:InvokeFunction` can send them. None may make a function call any AWS service;
//! each gets a clear refusal, PUT to the ResponseURL only when that is safe to do.
//!
//! Needs `cargo build --workspace --bins`.

use std::time::{Duration, Instant};

use end_to_end::*;
use local_lambda::Outcome;
use serde_json::json;

/// Properties a real template could give each function, the ExternalId included.
fn plausible_properties(binary: &str) -> serde_json::Value {
    let role = "arn:aws:iam::111122223333:role/ConnectSsoIdentityCenter";
    match binary {
        "saml-provider" => json!({"MetadataDocument": "<md:EntityDescriptor/>", "Name": "Victim"}),
        "connect-user-import" => json!({
            "InstanceId": "4b2c8f6e-5a1d-4c3b-9e7f-0d1c2b3a4f5e", "IdentityStoreId": "d-9067a1b2c3",
            "Groups": ["Everyone"], "SecurityProfiles": ["Admin"], "OnUserRemoved": "Delete",
            "IdentityCenterRoleArn": role, "IdentityCenterExternalId": EXTERNAL_ID}),
        "attribute-mapping" => json!({
            "ApplicationArn": "arn:aws:sso::123456789012:application/ssoins-1111111111111111/apl-2222222222222222",
            "RoleArn": "arn:aws:iam::123456789012:role/Federation",
            "SamlProviderArn": "arn:aws:iam::123456789012:saml-provider/Victim",
            "IdentityCenterRoleArn": role, "IdentityCenterExternalId": EXTERNAL_ID}),
        _ => json!({"DisplayName": "Victim", "AssignedGroups": ["Everyone"],
            "IdentityCenterRoleArn": role, "IdentityCenterExternalId": EXTERNAL_ID}),
    }
}

#[tokio::test]
async fn another_stacks_events_are_refused_by_every_function_without_a_call() {
    for (binary, resource_type) in FUNCTIONS {
        let hostile = Hostile::start(binary, None, &[]).await;
        for (key, request_type, physical_id) in [
            ("delete", "Delete", Some("ins-1234567890abcdef")),
            ("create", "Create", None),
            ("update", "Update", Some("ins-1234567890abcdef")),
        ] {
            let event = hostile.event(
                key,
                request_type,
                OTHER_STACK,
                resource_type,
                physical_id,
                plausible_properties(binary),
            );
            hostile.invoke(&event).await;
            let response = hostile.response(key).await;
            assert_eq!(response["Status"], "FAILED", "{binary} {key}: {response:#}");
            let reason = response["Reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("refused")
                    && reason.contains(OTHER_STACK)
                    && reason.contains(OUR_STACK),
                "{binary} {key}: {reason}"
            );
            assert_eq!(
                hostile.bucket.received_for(key).len(),
                1,
                "{binary} {key}: one answer"
            );
        }
        assert!(
            hostile.service_calls().is_empty(),
            "{binary} called AWS for another stack's events: {:?}",
            hostile.service_calls()
        );
        hostile.assert_logs_free_of(&[hostile.bucket.signature(), EXTERNAL_ID]);
        hostile.function.stop().await;
    }
}

#[tokio::test]
async fn events_without_the_ids_cloudformation_always_sends_are_refused_unanswered() {
    for (binary, resource_type) in FUNCTIONS {
        let hostile = Hostile::start(binary, None, &[]).await;
        let mut event = hostile.event(
            "bare",
            "Create",
            OUR_STACK,
            resource_type,
            None,
            plausible_properties(binary),
        );
        let fields = event.as_object_mut().expect("object");
        for id in ["StackId", "RequestId", "LogicalResourceId"] {
            fields.remove(id);
        }
        let outcome = hostile.invoke(&event).await;
        let error = invocation_error(&outcome);
        assert!(
            error.contains("lacks StackId, RequestId, LogicalResourceId"),
            "{binary}: {error}"
        );
        // Nothing ties such an event to a stack: no answer, no call.
        assert!(hostile.bucket.received().is_empty(), "{binary}");
        assert!(
            hostile.service_calls().is_empty(),
            "{binary}: {:?}",
            hostile.service_calls()
        );
        hostile.assert_logs_free_of(&[hostile.bucket.signature(), EXTERNAL_ID]);
        hostile.function.stop().await;
    }
}

#[tokio::test]
async fn this_stacks_events_outside_a_stack_operation_are_refused() {
    for (binary, resource_type) in FUNCTIONS {
        let hostile = Hostile::start(binary, None, &[]).await;
        for (status, key) in [
            ("UPDATE_COMPLETE", "settled"),
            ("DELETE_COMPLETE", "deleted"),
        ] {
            hostile.cloudformation.set_stack(OUR_STACK, status);
            let event = hostile.event(
                key,
                "Delete",
                OUR_STACK,
                resource_type,
                Some("ins-1234567890abcdef"),
                plausible_properties(binary),
            );
            hostile.invoke(&event).await;
            let response = hostile.response(key).await;
            assert_eq!(response["Status"], "FAILED", "{binary}: {response:#}");
            let reason = response["Reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains(&format!("the stack is {status}")),
                "{binary}: {reason}"
            );
        }
        hostile.cloudformation.remove_stack(OUR_STACK);
        let event = hostile.event(
            "gone",
            "Create",
            OUR_STACK,
            resource_type,
            None,
            plausible_properties(binary),
        );
        hostile.invoke(&event).await;
        let reason = hostile.response("gone").await["Reason"].to_string();
        assert!(
            reason.contains("does not know the stack"),
            "{binary}: {reason}"
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
async fn a_response_url_that_is_not_cloudformations_gets_no_request() {
    for (binary, resource_type) in FUNCTIONS {
        // As deployed: the local-testing switch off, so the local bucket is "someone else's" URL.
        let hostile = Hostile::start(
            binary,
            None,
            &[("CONNECT_SSO_TEST_ANY_RESPONSE_URL", "false")],
        )
        .await;
        let event = hostile.event(
            "forged",
            "Delete",
            OTHER_STACK,
            resource_type,
            Some("ins-1234567890abcdef"),
            plausible_properties(binary),
        );
        let error = invocation_error(&hostile.invoke(&event).await);
        assert!(
            error.contains("is not CloudFormation's response bucket")
                && error.contains("127.0.0.1"),
            "{binary}: {error}"
        );
        assert!(
            hostile.bucket.received().is_empty(),
            "{binary}: the forged URL was called"
        );
        assert!(hostile.service_calls().is_empty(), "{binary}");
        hostile.assert_logs_free_of(&[hostile.bucket.signature(), EXTERNAL_ID]);
        hostile.function.stop().await;
    }
}

/// CloudFormation never answering the status check (DescribeStacks accepted, never answered): the
/// event cannot be confirmed as CloudFormation's, so it is refused FAILED, exactly once, before
/// the function's deadline, and no other service is called.
#[tokio::test]
async fn a_hung_status_check_is_refused_once_before_the_deadline() {
    let hung = test_support::hung_endpoint().await;
    // A short function Timeout: the status check may wait until the core's reserve for answering
    // (half the time when less than twice the reserve is left: about 3 s here).
    let timeout = Duration::from_secs(6);
    let mut running = tokio::task::JoinSet::new();
    for (binary, resource_type) in FUNCTIONS {
        let hung = hung.clone();
        running.spawn(async move {
            let hostile =
                Hostile::start(binary, None, &[("AWS_ENDPOINT_URL_CLOUDFORMATION", &hung)]).await;
            let event = hostile.event(
                "hung",
                "Update",
                OUR_STACK,
                resource_type,
                Some("ins-1234567890abcdef"),
                plausible_properties(binary),
            );
            let started = Instant::now();
            let outcome = hostile
                .function
                .invoke(event.to_string(), timeout)
                .await
                .expect("invoke");
            (binary, hostile, started, outcome)
        });
    }
    let functions = running.join_all().await;
    for (binary, hostile, started, outcome) in &functions {
        assert!(
            matches!(outcome, Outcome::Response(_)),
            "{binary}: the invocation itself ends in time: {outcome:?}"
        );
        let puts = hostile.bucket.received_for("hung");
        assert_eq!(puts.len(), 1, "{binary}: exactly one answer");
        let answer = puts[0].json();
        assert_eq!(answer["Status"], "FAILED", "{binary}: {answer:#}");
        assert_eq!(
            answer["PhysicalResourceId"], "ins-1234567890abcdef",
            "{binary}"
        );
        let reason = answer["Reason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with(
                "refused, nothing done: CloudFormation did not say the stack's status within"
            ),
            "{binary}: {reason}"
        );
        let at = puts[0].at.duration_since(*started);
        assert!(
            at < timeout,
            "{binary}: answered after the deadline ({at:?})"
        );
        assert!(
            hostile.service_calls().is_empty(),
            "{binary}: {:?}",
            hostile.service_calls()
        );
    }
    // Nothing left running answers later: the check was given up, not raced.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (binary, hostile, _, _) in &functions {
        assert_eq!(hostile.bucket.received_for("hung").len(), 1, "{binary}");
        hostile.function.stop().await;
    }
}

/// The control: the same harness sees the calls of an event this stack's CloudFormation sends,
/// so the empty call lists above mean something.
#[tokio::test]
async fn this_stacks_event_during_an_operation_reaches_the_services() {
    let hostile = Hostile::start("saml-provider", None, &[]).await;
    let event = hostile.event(
        "ours",
        "Delete",
        OUR_STACK,
        "Custom::SamlProviderFromMetadata",
        Some("arn:aws:iam::123456789012:saml-provider/Victim"),
        json!({"Name": "Victim", "MetadataUrl": "https://portal.sso.us-east-1.amazonaws.com/saml/metadata/x"}),
    );
    hostile.invoke(&event).await;
    let response = hostile.response("ours").await;
    assert!(!hostile.service_calls().is_empty(), "{response:#}");
    hostile.function.stop().await;
}
