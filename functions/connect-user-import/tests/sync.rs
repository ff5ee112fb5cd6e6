//! The scheduled sync: the same reconciliation between deployments, never while CloudFormation
//! works on the stack or after the stack is gone; one summary line and one embedded-metric line.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_user_import::{Checkpoint, ConnectUserImport};
use custom_resource::CustomResource;
use local_lambda::StackStatus;
use serde_json::{Value, json};
use stack_sync::{StackGuard, SyncRequest, SyncTarget};
use support::*;

async fn guard(stand_in: &StackStatus) -> StackGuard {
    StackGuard::from_config(&test_support::sdk_config(Some(&stand_in.endpoint())).await)
}

/// What the schedule sends: the stack and resource only.
fn sync_event(w: &World) -> Value {
    SyncRequest {
        stack_id: w.stack_id.clone(),
        logical_resource_id: LOGICAL_ID.to_owned(),
    }
    .to_event()
}

/// What the template puts in the function's environment for the sync to act on.
fn target(w: &World, props: &Value) -> SyncTarget {
    SyncTarget::new(w.stack_id.clone(), LOGICAL_ID, props.clone())
}

async fn sync(resource: &Arc<ConnectUserImport>, event: Value) -> anyhow::Result<Value> {
    resource
        .other_event(event, Instant::now() + Duration::from_secs(60))
        .await
}

#[tokio::test]
async fn a_sync_imports_who_joined_and_removes_who_left_without_a_stack_update() {
    let w = World::new("sync-joins").await;
    let stand_in = StackStatus::start().await.unwrap();
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    let bob = w.user("bob", "bob@example.com", "Bob", "Stone").await;
    w.join(&agents, &jane).await;
    let bob_membership = w.join(&agents, &bob).await;
    let props = w.props(json!({"ServiceTimeout": "600"}));
    let plain = w.resource();
    let created = w.send(&plain, w.create_event(&props)).await;
    assert_eq!(counts(&created), [2, 0, 0, 0, 0]);
    stand_in.set_stack(&w.stack_id, "CREATE_COMPLETE");
    stand_in.set_resource(
        &w.stack_id,
        LOGICAL_ID,
        &w.physical_id(),
        "Custom::ConnectUserImport",
        "CREATE_COMPLETE",
    );
    let resource = Arc::new(
        ConnectUserImport::new(w.importer(connect_user_import::ImportOptions {
            quota: fast_quota(),
            ..Default::default()
        }))
        .with_guard(guard(&stand_in).await)
        .with_sync_target(target(&w, &props)),
    );

    // Between deployments: sam joins, bob leaves.
    let sam = w.user("sam", "sam@example.com", "Sam", "Lee").await;
    w.join(&agents, &sam).await;
    w.leave(&bob_membership).await;
    let result = sync(&resource, sync_event(&w)).await.unwrap();
    assert_eq!(result["Status"], "Synced", "{result:#}");
    assert_eq!(
        (&result["Created"], &result["Deleted"], &result["Unchanged"]),
        (&json!("1"), &json!("1"), &json!("1"))
    );
    assert_eq!(w.usernames(), ["jane@example.com", "sam@example.com"]);
    assert!(
        w.users().iter().all(|u| w.owned(u)),
        "same ownership tags as the stack's"
    );

    // Nothing changed: a second sync writes nothing.
    let writes = w.writes();
    let again = sync(&resource, sync_event(&w)).await.unwrap();
    assert_eq!(again["Unchanged"], "2", "{again:#}");
    assert_eq!(w.writes(), writes);

    // While a stack operation runs, or the resource is being changed: nothing is done.
    let tom = w.user("tom", "tom@example.com", "Tom", "Ng").await;
    w.join(&agents, &tom).await;
    stand_in.set_stack(&w.stack_id, "UPDATE_IN_PROGRESS");
    let skipped = sync(&resource, sync_event(&w)).await.unwrap();
    assert_eq!(skipped["Status"], "Skipped");
    assert!(
        skipped["Reason"]
            .as_str()
            .unwrap()
            .contains("UPDATE_IN_PROGRESS"),
        "{skipped:#}"
    );
    stand_in.set_stack(&w.stack_id, "UPDATE_COMPLETE");
    stand_in.set_resource(
        &w.stack_id,
        LOGICAL_ID,
        &w.physical_id(),
        "Custom::ConnectUserImport",
        "UPDATE_IN_PROGRESS",
    );
    let skipped = sync(&resource, sync_event(&w)).await.unwrap();
    assert_eq!(skipped["Status"], "Skipped", "{skipped:#}");
    assert_eq!(
        w.usernames(),
        ["jane@example.com", "sam@example.com"],
        "no write while in progress"
    );
    assert_eq!(w.writes(), writes);

    // A schedule whose properties name another instance is out of date: nothing is done.
    stand_in.set_resource(
        &w.stack_id,
        LOGICAL_ID,
        &w.physical_id(),
        "Custom::ConnectUserImport",
        "UPDATE_COMPLETE",
    );
    let other = w.emulator.create_instance("it-sync-other", "SAML");
    let mut moved = props.clone();
    moved["InstanceId"] = json!(other.id);
    let moved_resource = Arc::new(
        ConnectUserImport::new(w.importer(Default::default()))
            .with_guard(guard(&stand_in).await)
            .with_sync_target(target(&w, &moved)),
    );
    let skipped = sync(&moved_resource, sync_event(&w)).await.unwrap();
    assert!(
        skipped["Reason"].as_str().unwrap().contains("out of date"),
        "{skipped:#}"
    );
    assert!(w.emulator.users(&other.id).is_empty());

    // After the stack is deleted (its users removed by the Delete), a late sync makes nothing.
    let deleted = w
        .send(&plain, w.delete_event(&w.physical_id(), &props))
        .await;
    assert_eq!(status(&deleted), "SUCCESS");
    stand_in.set_stack(&w.stack_id, "DELETE_COMPLETE");
    let skipped = sync(&resource, sync_event(&w)).await.unwrap();
    assert!(
        skipped["Reason"]
            .as_str()
            .unwrap()
            .contains("DELETE_COMPLETE"),
        "{skipped:#}"
    );
    stand_in.remove_stack(&w.stack_id);
    let skipped = sync(&resource, sync_event(&w)).await.unwrap();
    assert!(
        skipped["Reason"]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{skipped:#}"
    );
    assert!(w.users().is_empty(), "{:?}", w.usernames());
}

#[tokio::test]
async fn a_sync_with_bad_properties_or_an_unknown_event_is_an_error_naming_it() {
    let w = World::new("sync-bad").await;
    let stand_in = StackStatus::start().await.unwrap();
    let bogus = json!({"InstanceId": w.instance.id, "Groups": [], "Bogus": 1});
    let resource = Arc::new(
        ConnectUserImport::new(w.importer(Default::default()))
            .with_guard(guard(&stand_in).await)
            .with_sync_target(target(&w, &bogus)),
    );
    let error = sync(&resource, sync_event(&w)).await.unwrap_err();
    let error = format!("{error:#}");
    assert!(
        error.contains("CONNECT_SSO_SYNC_PROPERTIES") && error.contains("Bogus"),
        "{error}"
    );
    let error = sync(&resource, json!({"source": "aws.events"}))
        .await
        .unwrap_err();
    assert!(format!("{error:#}").contains("ConnectSsoSync"), "{error:#}");
}

/// The compiled function, as the schedule invokes it: one summary line and one CloudWatch
/// embedded-metric line in its logs. Needs `cargo build --bins -p connect-user-import`.
#[tokio::test]
async fn the_function_logs_one_summary_line_and_one_metric_line_per_sync() {
    let w = World::new("sync-logs").await;
    let stand_in = StackStatus::start().await.unwrap();
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    w.join(&agents, &jane).await;
    stand_in.set_stack(&w.stack_id, "UPDATE_COMPLETE");
    stand_in.set_resource(
        &w.stack_id,
        LOGICAL_ID,
        &w.physical_id(),
        "Custom::ConnectUserImport",
        "UPDATE_COMPLETE",
    );
    let binary = local_lambda::workspace_binary("connect-user-import").unwrap();
    let props = w.props(json!({}));
    let env: Vec<(String, String)> = [
        ("CONNECT_SSO_STACK_ID", w.stack_id.clone()),
        ("CONNECT_SSO_SYNC_RESOURCE", LOGICAL_ID.to_owned()),
        ("CONNECT_SSO_SYNC_PROPERTIES", props.to_string()),
        ("AWS_ENDPOINT_URL_CONNECT", w.emulator.endpoint()),
        ("AWS_ENDPOINT_URL_IDENTITYSTORE", moto_endpoint()),
        ("AWS_ENDPOINT_URL_CLOUDFORMATION", stand_in.endpoint()),
        ("CONNECT_REQUESTS_PER_SECOND", "100".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let function = local_lambda::FunctionProcess::spawn(&binary, &env)
        .await
        .unwrap();
    function.initialised(Duration::from_secs(30)).await.unwrap();
    let outcome = function
        .invoke(sync_event(&w).to_string(), Duration::from_secs(60))
        .await
        .unwrap();
    let result = outcome.response_json().unwrap();
    assert_eq!(
        (&result["Status"], &result["Created"]),
        (&json!("Synced"), &json!("1")),
        "{result:#}"
    );
    let logs = function.logs();
    let summaries: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("\"sync summary\""))
        .collect();
    assert_eq!(summaries.len(), 1, "{logs:#?}");
    let summary: Value = serde_json::from_str(summaries[0]).unwrap();
    assert_eq!(
        (&summary["created"], &summary["problems"]),
        (&json!(1), &json!("none")),
        "{summary:#}"
    );
    let metrics: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("_aws").is_some())
        .collect();
    assert_eq!(metrics.len(), 1, "{logs:#?}");
    assert_eq!(metrics[0]["UsersCreated"], 1.0);
    assert_eq!(metrics[0]["Resource"], LOGICAL_ID);
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "ConnectSso"
    );

    // In progress: skipped, said so, and counted.
    stand_in.set_stack(&w.stack_id, "UPDATE_ROLLBACK_IN_PROGRESS");
    let outcome = function
        .invoke(sync_event(&w).to_string(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(outcome.response_json().unwrap()["Status"], "Skipped");
    let logs = function.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("sync skipped") && l.contains("UPDATE_ROLLBACK_IN_PROGRESS")),
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("\"SyncSkipped\":1.0")),
        "{logs:#?}"
    );
    function.stop().await;
}

#[test]
fn the_sample_sync_event_parses_as_the_function_would_parse_it() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/connect-user-import/sync.json"
    );
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let properties_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/connect-user-import/sync-properties.json"
    );
    let properties: Value =
        serde_json::from_str(&std::fs::read_to_string(properties_path).unwrap()).unwrap();
    let stack_id = event["ConnectSsoSync"]["StackId"].as_str().unwrap();
    let target = stack_sync::SyncTarget::new(stack_id, "ConnectUserImport", properties);
    target.authorise(&event).unwrap();
    let properties: connect_user_import::properties::Properties = target.properties().unwrap();
    properties.validate().unwrap();
    assert_eq!(properties.groups, ["Connect Agents", "Connect Supervisors"]);
}

/// A sync checks the stack again between batches of writes: when CloudFormation starts working
/// on the stack mid-way, the batch under way finishes and no further write is made.
#[tokio::test]
async fn a_sync_stops_between_batches_when_the_stack_starts_changing() {
    use connect_user_import::WRITES_BETWEEN_CHECKS;
    use connect_user_import::plan::Owner;
    use connect_user_import::properties::Properties;
    let w = World::new("sync-batches").await;
    let stand_in = StackStatus::start().await.unwrap();
    let agents = w.group("Agents").await;
    let wanted = WRITES_BETWEEN_CHECKS + 20;
    for i in 0..wanted {
        let name = format!("s{i:03}");
        let id = w
            .user(&name, &format!("{name}@example.com"), &name, "Tester")
            .await;
        w.join(&agents, &id).await;
    }
    stand_in.set_stack(&w.stack_id, "UPDATE_COMPLETE");
    stand_in.set_resource(
        &w.stack_id,
        LOGICAL_ID,
        &w.physical_id(),
        "Custom::ConnectUserImport",
        "UPDATE_COMPLETE",
    );
    let guard = guard(&stand_in).await;
    let checkpoint = stack_sync::Settled::new(
        stack_sync::Owner::new(&w.stack_id, LOGICAL_ID),
        w.physical_id(),
        &guard,
    );
    let properties: Properties = custom_resource::parse_properties(&w.props(json!({}))).unwrap();
    // 100 writes a second: the first user shows long before the first batch of 50 is done.
    let importer = w.importer(connect_user_import::ImportOptions {
        quota: connect_user_import::limiter::Quota {
            requests_per_second: 100.0,
            burst: 1,
        },
        ..Default::default()
    });
    let owner = Owner::new(&w.stack_id, LOGICAL_ID);
    let run = importer.reconcile_checked(
        &owner,
        &properties,
        Instant::now() + Duration::from_secs(60),
        Checkpoint::Sync(&checkpoint),
    );
    let deploy = async {
        while w.users().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stand_in.set_stack(&w.stack_id, "UPDATE_IN_PROGRESS");
    };
    let (report, ()) = tokio::join!(run, deploy);
    let report = report.unwrap();
    assert_eq!(report.created, WRITES_BETWEEN_CHECKS, "{report:?}");
    assert_eq!(
        w.users().len(),
        WRITES_BETWEEN_CHECKS,
        "no write after the check"
    );
    assert_eq!(report.not_done.len(), wanted - WRITES_BETWEEN_CHECKS);
    assert!(
        report
            .stopped
            .as_deref()
            .is_some_and(|why| why.contains("UPDATE_IN_PROGRESS")),
        "{report:?}"
    );
}
