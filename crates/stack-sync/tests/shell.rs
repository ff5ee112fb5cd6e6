//! The sync's shell, once for every function: a domain step that only does its work is refused
//! forged events, skipped on a busy stack, given the settled resource's owner and physical id,
//! and its failures are redacted.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use local_lambda::StackStatus;
use serde_json::{Value, json};
use stack_sync::{ScheduledSync, Settled, StackGuard, Summary, SyncRequest, SyncTarget, Synced};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/abc";

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Properties {
    secret: String,
    fail: bool,
}

/// A step with no shell code of its own.
#[derive(Default)]
struct Step {
    runs: AtomicU32,
}

impl ScheduledSync for Step {
    type Properties = Properties;
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &["Secret"];

    async fn sync(
        &self,
        properties: Properties,
        settled: &Settled<'_>,
        _: Instant,
    ) -> anyhow::Result<Synced> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        anyhow::ensure!(
            !properties.fail,
            "the step failed holding {}",
            properties.secret
        );
        let fields = json!({
            "Physical": settled.physical_resource_id,
            "Owner": format!("{}/{}", settled.owner.stack_name(), settled.owner.logical_resource_id),
        });
        Ok(Synced::Done(Summary {
            status: "Synced",
            fields: fields.as_object().cloned().unwrap(),
            metrics: vec![("Things", 2.0, "Count")],
        }))
    }
}

async fn guard(stand_in: &StackStatus) -> StackGuard {
    StackGuard::from_config(&test_support::sdk_config(Some(&stand_in.endpoint())).await)
}

fn event(stack: &str) -> Value {
    SyncRequest {
        stack_id: stack.into(),
        logical_resource_id: "Thing".into(),
    }
    .to_event()
}

#[tokio::test]
async fn a_step_runs_only_for_its_stack_and_only_while_the_stack_is_settled() {
    let stand_in = StackStatus::start().await.unwrap();
    let guard = guard(&stand_in).await;
    let step = Step::default();
    let target = SyncTarget::new(
        STACK,
        "Thing",
        json!({"Secret": "s3cr3t-value", "Fail": false}),
    );
    let run = |event: Value| {
        stack_sync::run(
            &step,
            Some(&target),
            Some(&guard),
            event,
            Instant::now() + Duration::from_secs(30),
        )
    };

    stand_in.set_stack(STACK, "UPDATE_IN_PROGRESS");
    stand_in.set_resource(
        STACK,
        "Thing",
        "thing-1",
        "Custom::Thing",
        "UPDATE_COMPLETE",
    );
    let skipped = run(event(STACK)).await.unwrap();
    assert_eq!(skipped["Status"], "Skipped", "{skipped}");
    assert!(
        skipped["Reason"]
            .as_str()
            .unwrap()
            .contains("UPDATE_IN_PROGRESS"),
        "{skipped}"
    );
    assert_eq!(step.runs.load(Ordering::SeqCst), 0);

    let forged = run(event(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/other/def",
    ))
    .await;
    assert!(format!("{:#}", forged.unwrap_err()).contains("refused"));
    assert_eq!(step.runs.load(Ordering::SeqCst), 0);

    stand_in.set_stack(STACK, "UPDATE_COMPLETE");
    let synced = run(event(STACK)).await.unwrap();
    assert_eq!(
        synced,
        json!({"Status": "Synced", "Physical": "thing-1", "Owner": "demo/Thing"})
    );
    assert_eq!(step.runs.load(Ordering::SeqCst), 1);

    // No sync configured, or no CloudFormation client: refused or failed, the step never runs.
    let unconfigured =
        stack_sync::run(&step, None, Some(&guard), event(STACK), Instant::now()).await;
    assert!(format!("{:#}", unconfigured.unwrap_err()).contains("no sync configured"));
    assert_eq!(step.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_step_is_reported_without_its_sensitive_values() {
    let stand_in = StackStatus::start().await.unwrap();
    let guard = guard(&stand_in).await;
    stand_in.set_stack(STACK, "CREATE_COMPLETE");
    stand_in.set_resource(
        STACK,
        "Thing",
        "thing-1",
        "Custom::Thing",
        "CREATE_COMPLETE",
    );
    let step = Step::default();
    let target = SyncTarget::new(
        STACK,
        "Thing",
        json!({"Secret": "s3cr3t-value", "Fail": true}),
    );
    let failed = stack_sync::run(
        &step,
        Some(&target),
        Some(&guard),
        event(STACK),
        Instant::now() + Duration::from_secs(30),
    )
    .await
    .unwrap_err();
    let text = format!("{failed:#}");
    assert!(
        text.contains("the step failed holding [redacted]"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t-value"), "{text}");
    assert_eq!(step.runs.load(Ordering::SeqCst), 1);
}
