//! The scheduled sync of the SAML provider: a rotated certificate reaches IAM without a stack
//! update, an unchanged document causes no write, an expiry within 30 days is warned about, and
//! nothing is done while CloudFormation works on the stack or after it is gone.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use custom_resource::CustomResource;
use local_lambda::StackStatus;
use saml_provider::{SamlProvider, default_name};
use serde_json::{Value, json};
use stack_sync::{StackGuard, SyncRequest, SyncTarget};
use support::*;

const LOGICAL_ID: &str = "SamlProvider";

async fn guard(stand_in: &StackStatus) -> StackGuard {
    StackGuard::from_config(&test_support::sdk_config(Some(&stand_in.endpoint())).await)
}

/// What the schedule sends: the stack and resource only.
fn sync_event(stack: &Stack) -> Value {
    SyncRequest {
        stack_id: stack.id.clone(),
        logical_resource_id: LOGICAL_ID.to_owned(),
    }
    .to_event()
}

/// What the template puts in the function's environment for the sync to act on.
fn target(stack: &Stack, properties: &Value) -> SyncTarget {
    SyncTarget::new(stack.id.clone(), LOGICAL_ID, properties.clone())
}

async fn sync(resource: &Arc<SamlProvider>, event: Value) -> anyhow::Result<Value> {
    resource
        .other_event(event, Instant::now() + Duration::from_secs(30))
        .await
}

#[tokio::test]
async fn a_rotated_certificate_reaches_iam_through_the_sync_once() {
    let iam = iam_proxy().await;
    let moto = Moto::new();
    let stand_in = StackStatus::start().await.unwrap();
    let first = metadata_until(days_from_now(400));
    let server = MetadataServer::start(&first).await;
    let stack = Stack::new("sync");
    let properties = json!({"MetadataUrl": server.url("/metadata")});
    let plain = provider_via(&iam, local_download());
    let arn = succeeded(&respond(&plain, stack.create(LOGICAL_ID, properties.clone())).await);
    stand_in.set_stack(&stack.id, "CREATE_COMPLETE");
    stand_in.set_resource(
        &stack.id,
        LOGICAL_ID,
        &arn,
        "Custom::SamlProviderFromMetadata",
        "CREATE_COMPLETE",
    );
    let resource = Arc::new(
        SamlProvider::new(iam_client(&iam.endpoint), local_download())
            .with_guard(guard(&stand_in).await)
            .with_sync_target(target(&stack, &properties)),
    );

    // Unchanged metadata: fetched, compared, not written.
    iam.clear_calls();
    let unchanged = sync(&resource, sync_event(&stack)).await.unwrap();
    assert_eq!(
        (&unchanged["Status"], &unchanged["Updated"]),
        (&json!("Synced"), &json!(false)),
        "{unchanged:#}"
    );
    assert_eq!(iam.count("UpdateSAMLProvider"), 0, "{:?}", iam.calls());
    assert_eq!(unchanged["ExpiresWithin30Days"], false);

    // Identity Center rotates its certificate: one update, then none.
    let rotated_expiry = days_from_now(700);
    let rotated = metadata_until(rotated_expiry);
    server.serve_document(&rotated);
    let updated = sync(&resource, sync_event(&stack)).await.unwrap();
    assert_eq!(updated["Updated"], true, "{updated:#}");
    assert_eq!(
        updated["CertificateExpiry"],
        rotated_expiry
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    assert_eq!(moto.document(&arn).await.as_deref(), Some(rotated.as_str()));
    let again = sync(&resource, sync_event(&stack)).await.unwrap();
    assert_eq!(again["Updated"], false);
    assert_eq!(iam.count("UpdateSAMLProvider"), 1, "{:?}", iam.calls());

    // While the stack is being updated, or after it is gone: nothing, not even a download.
    server.serve_document(&first);
    let downloads = server.requests().len();
    stand_in.set_stack(&stack.id, "UPDATE_IN_PROGRESS");
    let skipped = sync(&resource, sync_event(&stack)).await.unwrap();
    assert!(
        skipped["Reason"]
            .as_str()
            .unwrap()
            .contains("UPDATE_IN_PROGRESS"),
        "{skipped:#}"
    );
    stand_in.remove_stack(&stack.id);
    let skipped = sync(&resource, sync_event(&stack)).await.unwrap();
    assert!(
        skipped["Reason"]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{skipped:#}"
    );
    assert_eq!(server.requests().len(), downloads);
    assert_eq!(iam.count("UpdateSAMLProvider"), 1);
    assert_eq!(moto.document(&arn).await.as_deref(), Some(rotated.as_str()));
}

#[tokio::test]
async fn a_certificate_expiring_within_30_days_is_warned_about_and_counted() {
    let iam = iam_proxy().await;
    let stand_in = StackStatus::start().await.unwrap();
    let soon = metadata_until(days_from_now(12));
    let server = MetadataServer::start(&soon).await;
    let stack = Stack::new("expiring");
    let properties = json!({"MetadataUrl": server.url("/metadata")});
    let arn = succeeded(
        &respond(
            &provider_via(&iam, local_download()),
            stack.create(LOGICAL_ID, properties.clone()),
        )
        .await,
    );
    stand_in.set_stack(&stack.id, "UPDATE_COMPLETE");
    stand_in.set_resource(
        &stack.id,
        LOGICAL_ID,
        &arn,
        "Custom::SamlProviderFromMetadata",
        "UPDATE_COMPLETE",
    );

    // Through the compiled function, to see its log lines. Needs `cargo build --bins -p saml-provider`.
    let binary = local_lambda::workspace_binary("saml-provider").unwrap();
    let env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL_IAM", iam.endpoint.clone()),
        ("AWS_ENDPOINT_URL_CLOUDFORMATION", stand_in.endpoint()),
        (saml_provider::ALLOW_HTTP_ENV, "true".to_owned()),
        ("CONNECT_SSO_STACK_ID", stack.id.clone()),
        ("CONNECT_SSO_SYNC_RESOURCE", LOGICAL_ID.to_owned()),
        ("CONNECT_SSO_SYNC_PROPERTIES", properties.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let function = local_lambda::FunctionProcess::spawn(&binary, &env)
        .await
        .unwrap();
    function.initialised(Duration::from_secs(30)).await.unwrap();
    let outcome = function
        .invoke(sync_event(&stack).to_string(), Duration::from_secs(30))
        .await
        .unwrap();
    let result = outcome.response_json().unwrap();
    assert_eq!(result["ExpiresWithin30Days"], true, "{result:#}");
    assert!(
        (11..=12).contains(&result["CertificateDaysLeft"].as_i64().unwrap()),
        "{result:#}"
    );
    let logs = function.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("\"WARN\"") && l.contains("expires within 30 days")),
        "{logs:#?}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("\"sync summary\""))
            .count(),
        1,
        "{logs:#?}"
    );
    let metrics: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("_aws").is_some())
        .collect();
    assert_eq!(metrics.len(), 1, "{logs:#?}");
    assert_eq!(metrics[0]["CertificateExpiringSoon"], 1.0);
    assert_eq!(metrics[0]["MetadataUpdated"], 0.0);
    function.stop().await;

    // A schedule naming another provider is out of date: nothing is done.
    let renamed =
        json!({"MetadataUrl": server.url("/metadata"), "Name": default_name("other", "X")});
    let resource = Arc::new(
        SamlProvider::new(iam_client(&iam.endpoint), local_download())
            .with_guard(guard(&stand_in).await)
            .with_sync_target(target(&stack, &renamed)),
    );
    let skipped = sync(&resource, sync_event(&stack)).await.unwrap();
    assert!(
        skipped["Reason"].as_str().unwrap().contains("out of date"),
        "{skipped:#}"
    );
}
