//! The guard against CloudFormation's stand-in: a sync proceeds only on a settled stack.

use aws_config::Region;
use local_lambda::StackStatus;
use stack_sync::{StackGuard, Verdict};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/abc";

async fn guard(stand_in: &StackStatus) -> StackGuard {
    let config = https_client::sdk::loader()
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

/// Each update is an operation of its own (DescribeStacks' LastUpdatedTime): a status belongs to
/// the operation recorded only while it is that operation running or completed successfully.
#[tokio::test]
async fn a_status_is_still_the_operation_recorded_only_until_the_stack_moves_on() {
    let stand_in = StackStatus::start().await.unwrap();
    let guard = guard(&stand_in).await;
    let now = |stand_in: &StackStatus, status: &str| {
        stand_in.set_stack(STACK, status);
        let guard = &guard;
        async move { guard.stack_operation(STACK).await.unwrap().unwrap() }
    };
    let creating = now(&stand_in, "CREATE_IN_PROGRESS").await;
    assert_eq!(creating.operation.last_updated, None);
    assert!(creating.is_still(&creating.operation));
    assert!(
        now(&stand_in, "CREATE_COMPLETE")
            .await
            .is_still(&creating.operation)
    );
    assert!(
        !now(&stand_in, "ROLLBACK_IN_PROGRESS")
            .await
            .is_still(&creating.operation)
    );
    let updating = now(&stand_in, "UPDATE_IN_PROGRESS").await;
    assert!(updating.operation.last_updated.is_some(), "{updating:?}");
    assert!(!updating.is_still(&creating.operation));
    assert!(
        now(&stand_in, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            .await
            .is_still(&updating.operation)
    );
    assert!(
        now(&stand_in, "UPDATE_COMPLETE")
            .await
            .is_still(&updating.operation)
    );
    // A second update: another identity, even for the same statuses.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = now(&stand_in, "UPDATE_IN_PROGRESS").await;
    assert!(
        !again.is_still(&updating.operation),
        "{again:?} {updating:?}"
    );
    assert!(
        !now(&stand_in, "UPDATE_ROLLBACK_IN_PROGRESS")
            .await
            .is_still(&again.operation)
    );
    assert!(
        !now(&stand_in, "DELETE_IN_PROGRESS")
            .await
            .is_still(&again.operation)
    );
    stand_in.remove_stack(STACK);
    assert_eq!(guard.stack_operation(STACK).await.unwrap(), None);
}
