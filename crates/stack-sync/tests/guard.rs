//! The guard against CloudFormation's stand-in: a sync proceeds only on a settled stack.

use local_lambda::StackStatus;
use stack_sync::{StackGuard, Verdict};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/abc";

async fn guard(stand_in: &StackStatus) -> StackGuard {
    StackGuard::from_config(&test_support::sdk_config(Some(&stand_in.endpoint())).await)
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

/// DescribeStacks as AWS answers it: the stack's parameters, outputs and tags are lists of
/// `member`s too, and the times carry milliseconds.
const DESCRIBE_STACKS_ANSWER: &str = r#"<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult>
    <Stacks>
      <member>
        <StackName>demo</StackName>
        <StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/demo/abc</StackId>
        <Description>Amazon Connect behind IAM Identity Center</Description>
        <Parameters>
          <member><ParameterKey>StackStatus</ParameterKey><ParameterValue>x</ParameterValue></member>
        </Parameters>
        <CreationTime>2026-12-01T10:00:00.123Z</CreationTime>
        <LastUpdatedTime>2026-12-02T11:30:00.456Z</LastUpdatedTime>
        <RollbackConfiguration/>
        <StackStatus>UPDATE_ROLLBACK_COMPLETE</StackStatus>
        <DisableRollback>false</DisableRollback>
        <Outputs><member><OutputKey>Role</OutputKey><OutputValue>arn</OutputValue></member></Outputs>
        <Tags><member><Key>team</Key><Value>contact-center</Value></member></Tags>
        <DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation>
      </member>
    </Stacks>
  </DescribeStacksResult>
  <ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata>
</DescribeStacksResponse>"#;

const DESCRIBE_STACK_RESOURCE_ANSWER: &str = r#"<DescribeStackResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStackResourceResult>
    <StackResourceDetail>
      <StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/demo/abc</StackId>
      <StackName>demo</StackName>
      <LogicalResourceId>Import</LogicalResourceId>
      <PhysicalResourceId>i-1/abc/Import</PhysicalResourceId>
      <ResourceType>Custom::ConnectUserImport</ResourceType>
      <LastUpdatedTimestamp>2026-12-02T11:31:00.789Z</LastUpdatedTimestamp>
      <ResourceStatus>UPDATE_COMPLETE</ResourceStatus>
      <Metadata>{}</Metadata>
      <DriftInformation><StackResourceDriftStatus>NOT_CHECKED</StackResourceDriftStatus></DriftInformation>
    </StackResourceDetail>
  </DescribeStackResourceResult>
  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
</DescribeStackResourceResponse>"#;

/// The hand-built DescribeStacks is the SDK's on the wire, and its answer reads as the SDK reads
/// it (status, and the operation's times in milliseconds).
#[tokio::test]
async fn describe_stacks_is_the_sdks_request_read_as_the_sdk_reads_it() {
    let cloudformation =
        test_support::recording_endpoint(200, "text/xml", DESCRIBE_STACKS_ANSWER).await;
    let config = test_support::sdk_config(Some(&cloudformation.endpoint)).await;
    let answer = aws_sdk_cloudformation::Client::new(&config)
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await
        .unwrap();
    let stack = &answer.stacks()[0];
    let millis = |time: Option<&aws_sdk_cloudformation::primitives::DateTime>| {
        time.map(|time| time.to_millis().unwrap().to_string())
    };
    let ours = StackGuard::from_config(&config)
        .stack_operation(STACK)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ours.status, stack.stack_status().unwrap().as_str());
    assert_eq!(Some(ours.operation.created), millis(stack.creation_time()));
    assert_eq!(
        ours.operation.last_updated,
        millis(stack.last_updated_time())
    );
    assert_eq!(
        ours.operation.last_updated.as_deref(),
        Some("1796211000456")
    );
    let [sdk, ours] = <[_; 2]>::try_from(cloudformation.take()).unwrap();
    assert_eq!(ours.operation(), sdk.operation());
}

/// The same for DescribeStackResource.
#[tokio::test]
async fn describe_stack_resource_is_the_sdks_request_read_as_the_sdk_reads_it() {
    let cloudformation =
        test_support::recording_endpoint(200, "text/xml", DESCRIBE_STACK_RESOURCE_ANSWER).await;
    let config = test_support::sdk_config(Some(&cloudformation.endpoint)).await;
    let answer = aws_sdk_cloudformation::Client::new(&config)
        .describe_stack_resource()
        .stack_name(STACK)
        .logical_resource_id("Import")
        .send()
        .await
        .unwrap();
    let detail = answer.stack_resource_detail().unwrap();
    let ours = StackGuard::from_config(&config)
        .resource(STACK, "Import")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ours.physical_resource_id,
        detail.physical_resource_id().unwrap()
    );
    assert_eq!(ours.status, detail.resource_status().unwrap().as_str());
    let [sdk, ours] = <[_; 2]>::try_from(cloudformation.take()).unwrap();
    assert_eq!(ours.operation(), sdk.operation());
}

/// An unknown stack is no stack (CloudFormation's ValidationError "does not exist"); any other
/// error is reported with CloudFormation's words.
#[tokio::test]
async fn an_unknown_stack_is_none_and_other_errors_are_reported() {
    let missing = test_support::answering_endpoint(
        400,
        "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>\
         <Message>Stack with id demo does not exist</Message></Error></ErrorResponse>",
    )
    .await;
    let guard = StackGuard::from_config(&test_support::sdk_config(Some(&missing)).await);
    assert_eq!(guard.stack_operation(STACK).await.unwrap(), None);
    let denied = test_support::answering_endpoint(
        403,
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
         <Message>not authorized to perform: cloudformation:DescribeStacks</Message></Error></ErrorResponse>",
    )
    .await;
    let guard = StackGuard::from_config(&test_support::sdk_config(Some(&denied)).await);
    let error = format!("{:#}", guard.stack_operation(STACK).await.unwrap_err());
    assert!(
        error.contains("AccessDenied") && error.contains("cloudformation:DescribeStacks"),
        "{error}"
    );
}
