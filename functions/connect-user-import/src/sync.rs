//! The scheduled sync: between deployments, the schedule in the template invokes the function
//! with `{"ConnectSsoSync": {"StackId", "LogicalResourceId"}}`, naming this function's stack; the
//! custom resource's properties come from the function's environment (the template), never from
//! the event. It runs the same reconciliation with the same ownership (the users carry
//! that stack's and resource's tags), unless CloudFormation is working on the stack or the stack is
//! gone. It logs one summary line and one CloudWatch embedded-metric line; what a run could not
//! finish, the next run does.

use std::time::Instant;

use anyhow::Context as _;
use serde_json::{Value, json};
use stack_sync::{SyncTarget, Verdict, emit_metrics};

use crate::plan::Owner;
use crate::properties::Properties;
use crate::{ConnectUserImport, Report, StackCheckpoint};

pub async fn run(
    resource: &ConnectUserImport,
    event: Value,
    respond_by: Instant,
) -> anyhow::Result<Value> {
    let target = resource.sync_target.as_ref().with_context(|| {
        format!(
            "refused, nothing done: this function has no sync configured ({} is not set)",
            stack_sync::SYNC_RESOURCE_ENV
        )
    })?;
    let sync = match target.authorise(&event) {
        Ok(sync) => sync,
        Err(refusal) => {
            tracing::error!(reason = %format!("{refusal:#}"), "sync event refused");
            return Err(refusal);
        }
    };
    let stack_name = stack_name(&sync.stack_id).to_owned();
    let dimensions = [
        ("Stack", stack_name.as_str()),
        ("Resource", sync.logical_resource_id.as_str()),
    ];
    match sync_once(resource, target, respond_by).await {
        Ok(Synced::Skipped(why)) => {
            tracing::info!(stack = %stack_name, resource = %sync.logical_resource_id, reason = %why, "sync skipped: nothing done");
            emit_metrics(&dimensions, &[("SyncSkipped", 1.0, "Count")]);
            Ok(json!({"Status": "Skipped", "Reason": why}))
        }
        Ok(Synced::Done(report)) => {
            let status = if report.is_complete() {
                "Synced"
            } else {
                "Incomplete"
            };
            tracing::info!(
                stack = %stack_name,
                resource = %sync.logical_resource_id,
                status,
                created = report.created,
                updated = report.updated,
                deleted = report.deleted,
                unchanged = report.unchanged,
                skipped = report.skipped,
                retained = report.retained,
                not_done = report.not_done.len(),
                problems = %report.problems_text(),
                "sync summary"
            );
            emit_metrics(
                &dimensions,
                &[
                    ("UsersCreated", report.created as f64, "Count"),
                    ("UsersUpdated", report.updated as f64, "Count"),
                    ("UsersDeleted", report.deleted as f64, "Count"),
                    ("UsersSkipped", report.skipped as f64, "Count"),
                    ("SyncProblems", report.problems.len() as f64, "Count"),
                    ("SyncWritesNotDone", report.not_done.len() as f64, "Count"),
                    ("SyncSkipped", 0.0, "Count"),
                    ("SyncFailed", 0.0, "Count"),
                ],
            );
            let mut result = json!({"Status": status});
            for (key, value) in report.data() {
                result[key] = Value::String(value);
            }
            result["NotDone"] = json!(report.not_done.len());
            if let Some(reason) = &report.stopped {
                result["Stopped"] = json!(reason);
            }
            Ok(result)
        }
        Err(error) => {
            // The result and the log never show the ExternalId, whatever the error quotes.
            let error = target.redact(&format!("{error:#}"), &["IdentityCenterExternalId"]);
            tracing::error!(stack = %stack_name, resource = %sync.logical_resource_id, %error, "sync failed");
            emit_metrics(&dimensions, &[("SyncFailed", 1.0, "Count")]);
            Err(anyhow::anyhow!(error))
        }
    }
}

enum Synced {
    Skipped(String),
    Done(Report),
}

async fn sync_once(
    resource: &ConnectUserImport,
    sync: &SyncTarget,
    respond_by: Instant,
) -> anyhow::Result<Synced> {
    let properties: Properties = sync.properties()?;
    properties.validate()?;
    let guard = resource
        .guard
        .as_ref()
        .context("this function has no CloudFormation client to check the stack with")?;
    let physical_resource_id = match guard
        .verdict(&sync.stack_id, &sync.logical_resource_id)
        .await?
    {
        Verdict::Skip(why) => return Ok(Synced::Skipped(why)),
        Verdict::Proceed {
            physical_resource_id,
        } => physical_resource_id,
    };
    // The resource's physical id names the instance it manages: a schedule whose properties
    // name another instance is out of date, and must not import into it.
    let instance_id = properties.instance_id();
    let stack_guid = stack_guid(&sync.stack_id);
    let expected = format!("{instance_id}/{stack_guid}/{}", sync.logical_resource_id);
    if physical_resource_id != expected {
        return Ok(Synced::Skipped(format!(
            "the resource manages {physical_resource_id}, the schedule's properties name instance {instance_id}: \
             the schedule is out of date until the stack is updated"
        )));
    }
    let owner = Owner::new(&sync.stack_id, &sync.logical_resource_id);
    // The stack is checked again between batches of writes, not only before the first.
    let checkpoint = StackCheckpoint {
        guard,
        stack_id: &sync.stack_id,
        logical_resource_id: &sync.logical_resource_id,
        physical_resource_id: &physical_resource_id,
    };
    let report = resource
        .importer
        .reconcile_checked(&owner, &properties, respond_by, Some(&checkpoint))
        .await?;
    Ok(Synced::Done(report))
}

/// arn:aws:cloudformation:<region>:<account>:stack/<name>/<guid>
fn stack_part(stack_id: &str, index: usize) -> Option<&str> {
    stack_id.split(':').nth(5)?.split('/').nth(index)
}

fn stack_name(stack_id: &str) -> &str {
    stack_part(stack_id, 1).unwrap_or(stack_id)
}

fn stack_guid(stack_id: &str) -> &str {
    stack_part(stack_id, 2).unwrap_or(stack_id)
}
