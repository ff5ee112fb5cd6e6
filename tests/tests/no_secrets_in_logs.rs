//! No log line, at any level (RUST_LOG and AWS_LAMBDA_LOG_LEVEL at TRACE), of any of the four
//! compiled functions shows the ResponseURL's signature or the ExternalId: on success, on
//! failure (the services answering with errors that quote the request, ExternalId included), on
//! refusal, while the response PUT is retried, and when the connection is dropped.
//!
//! Needs `cargo build --workspace --bins`.

use end_to_end::*;
use local_lambda::Reply;
use serde_json::json;

fn properties(binary: &str) -> serde_json::Value {
    let role = "arn:aws:iam::111122223333:role/ConnectSsoIdentityCenter";
    match binary {
        "saml-provider" => {
            json!({"MetadataUrl": "https://portal.sso.us-east-1.amazonaws.com/saml/metadata/x"})
        }
        "connect-user-import" => json!({
            "InstanceId": "4b2c8f6e-5a1d-4c3b-9e7f-0d1c2b3a4f5e", "IdentityStoreId": "d-9067a1b2c3",
            "Groups": ["Agents"], "IdentityCenterRoleArn": role, "IdentityCenterExternalId": EXTERNAL_ID}),
        "attribute-mapping" => json!({
            "ApplicationArn": "arn:aws:sso::123456789012:application/ssoins-1111111111111111/apl-2222222222222222",
            "RoleArn": "arn:aws:iam::123456789012:role/Federation",
            "SamlProviderArn": "arn:aws:iam::123456789012:saml-provider/P",
            "IdentityCenterRoleArn": role, "IdentityCenterExternalId": EXTERNAL_ID}),
        _ => json!({"DisplayName": "App", "AssignedGroups": ["Agents"],
            "IdentityCenterRoleArn": role, "IdentityCenterExternalId": EXTERNAL_ID}),
    }
}

#[tokio::test]
async fn no_log_line_at_any_level_shows_the_response_url_or_the_external_id() {
    for (binary, resource_type) in FUNCTIONS {
        let hostile = Hostile::start(binary, None, &[]).await;
        let marker = "custom-resource:create-failed:Resource:r";

        // Success (a Delete of a failed Create), answered after two refused PUTs.
        hostile
            .bucket
            .script([Reply::Status(500), Reply::Status(503)]);
        let event = hostile.event(
            "success",
            "Delete",
            OUR_STACK,
            resource_type,
            Some(marker),
            properties(binary),
        );
        hostile.invoke(&event).await;
        assert_eq!(
            hostile.response("success").await["Status"],
            "SUCCESS",
            "{binary}"
        );
        assert_eq!(
            hostile.bucket.received_for("success").len(),
            3,
            "{binary}: two retries"
        );

        // Failure: every service refuses, quoting the request (an AssumeRole's ExternalId too);
        // the first PUT's connection is dropped.
        hostile.bucket.script([Reply::DropConnection]);
        let event = hostile.event(
            "failure",
            "Create",
            OUR_STACK,
            resource_type,
            None,
            properties(binary),
        );
        hostile.invoke(&event).await;
        let response = hostile.response("failure").await;
        assert_eq!(response["Status"], "FAILED", "{binary}: {response:#}");
        assert!(
            !response.to_string().contains(EXTERNAL_ID),
            "{binary}: {response:#}"
        );

        // Refusal (another stack's event).
        let event = hostile.event(
            "refused",
            "Delete",
            OTHER_STACK,
            resource_type,
            Some("x"),
            properties(binary),
        );
        hostile.invoke(&event).await;
        assert_eq!(
            hostile.response("refused").await["Status"],
            "FAILED",
            "{binary}"
        );

        let logs = hostile.assert_logs_free_of(&[hostile.bucket.signature(), EXTERNAL_ID]);
        assert!(
            logs.iter()
                .filter(|line| line.contains("request received"))
                .count()
                >= 2,
            "{binary}: the logs are not the function's: {logs:#?}"
        );
        hostile.function.stop().await;
    }
}
