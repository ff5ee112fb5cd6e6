//! The guard against CloudFormation's stand-in: a sync proceeds only on a settled stack.

use aws_config::{BehaviorVersion, Region};
use local_lambda::StackStatus;
use stack_sync::{StackGuard, Verdict};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/abc";

async fn guard(stand_in: &StackStatus) -> StackGuard {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .endpoint_url(stand_in.endpoint())
        .load()
        .await;
    StackGuard::from_config(&config)
}

fn skipped_because(verdict: Verdict) -> String {
    match verdict {
        Verdict::Skip(why) => why,
        other => panic!("expected a skip, got {other:?}"),
    }
}

#[tokio::test]
async fn a_sync_proceeds_only_when_the_stack_and_resource_are_settled() {
    let stand_in = StackStatus::start().await.unwrap();
    let guard = guard(&stand_in).await;
    stand_in.set_stack(STACK, "UPDATE_COMPLETE");
    stand_in.set_resource(
        STACK,
        "Import",
        "i-1/abc/Import",
        "Custom::X",
        "UPDATE_COMPLETE",
    );
    assert_eq!(
        guard.verdict(STACK, "Import").await.unwrap(),
        Verdict::Proceed {
            physical_resource_id: "i-1/abc/Import".into()
        }
    );

    stand_in.set_stack(STACK, "UPDATE_IN_PROGRESS");
    let why = skipped_because(guard.verdict(STACK, "Import").await.unwrap());
    assert!(why.contains("in progress (UPDATE_IN_PROGRESS)"), "{why}");

    stand_in.set_stack(STACK, "UPDATE_ROLLBACK_COMPLETE");
    stand_in.set_resource(
        STACK,
        "Import",
        "i-1/abc/Import",
        "Custom::X",
        "UPDATE_IN_PROGRESS",
    );
    let why = skipped_because(guard.verdict(STACK, "Import").await.unwrap());
    assert!(why.contains("Import is UPDATE_IN_PROGRESS"), "{why}");

    let why = skipped_because(guard.verdict(STACK, "Missing").await.unwrap());
    assert!(why.contains("no resource Missing"), "{why}");

    stand_in.set_stack(STACK, "DELETE_IN_PROGRESS");
    let why = skipped_because(guard.verdict(STACK, "Import").await.unwrap());
    assert!(why.contains("DELETE_IN_PROGRESS"), "{why}");

    stand_in.remove_stack(STACK);
    let why = skipped_because(guard.verdict(STACK, "Import").await.unwrap());
    assert!(why.contains("no longer exists"), "{why}");
}
