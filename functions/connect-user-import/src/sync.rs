//! The scheduled sync: between deployments, the schedule in the template asks for a sync of this
//! stack's resource, and the same reconciliation runs with the same ownership (the users carry
//! that stack's and resource's tags), on the properties the template set in the function's
//! environment. The shell (the event, the stack check, the result, the metric line) is
//! `stack_sync::run`; this is the import's step. What a run could not finish, the next run does.

use std::time::Instant;

use serde_json::{Value, json};
use stack_sync::{ScheduledSync, Settled, Summary, SyncTarget, Synced};

use crate::progress::{Earlier, ImportState};
use crate::properties::Properties;
use crate::{Checkpoint, ConnectUserImport, Report, physical_id};

pub async fn run(
    resource: &ConnectUserImport,
    event: Value,
    respond_by: Instant,
) -> anyhow::Result<Value> {
    stack_sync::run(
        resource,
        resource.sync_target.as_ref(),
        resource.guard.as_ref(),
        event,
        respond_by,
    )
    .await
}

impl ScheduledSync for ConnectUserImport {
    type Properties = Properties;
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &["IdentityCenterExternalId"];

    fn properties(&self, target: &SyncTarget) -> anyhow::Result<Properties> {
        let properties: Properties = target.properties()?;
        properties.validate()?;
        Ok(properties)
    }

    async fn sync(
        &self,
        properties: Properties,
        settled: &Settled<'_>,
        respond_by: Instant,
    ) -> anyhow::Result<Synced> {
        // The resource's physical id names the instance it manages: a schedule whose properties
        // name another instance is out of date, and must not import into it.
        let instance_id = properties.instance_id();
        let owner = &settled.owner;
        if settled.physical_resource_id != physical_id(instance_id, owner) {
            return Ok(Synced::Skipped(format!(
                "the resource manages {}, the schedule's properties name instance {instance_id}: \
                 the schedule is out of date until the stack is updated",
                settled.physical_resource_id
            )));
        }
        let progress = self.importer.progress();
        progress.begin("Sync", Earlier::default());
        // The stack is checked again between batches of writes, not only before the first.
        let report = match self
            .importer
            .reconcile_checked(owner, &properties, respond_by, Checkpoint::Sync(settled))
            .await
        {
            Ok(report) => report,
            Err(error) => {
                progress
                    .failed(instance_id, format!("{error:#}"), respond_by)
                    .await;
                return Err(error);
            }
        };
        if !report.is_complete() && report.stopped.is_none() {
            progress
                .finish(
                    ImportState::Stopped,
                    report.not_done.len(),
                    Some("the sync's time ran out; the next sync goes on".to_owned()),
                    respond_by,
                )
                .await;
        }
        let status = if report.is_complete() {
            "Synced"
        } else {
            "Incomplete"
        };
        tracing::info!(
            stack = %owner.stack_name(),
            resource = %owner.logical_resource_id,
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
        Ok(Synced::Done(summary(status, &report)))
    }
}

/// The sync's summary line (the report's outputs, what was not done, why it stopped) and its
/// metrics.
fn summary(status: &'static str, report: &Report) -> Summary {
    let mut fields: serde_json::Map<String, Value> = report
        .data()
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect();
    fields.insert("NotDone".to_owned(), json!(report.not_done.len()));
    if let Some(reason) = &report.stopped {
        fields.insert("Stopped".to_owned(), json!(reason));
    }
    Summary {
        status,
        fields,
        metrics: vec![
            ("UsersCreated", report.created as f64, "Count"),
            ("UsersUpdated", report.updated as f64, "Count"),
            ("UsersDeleted", report.deleted as f64, "Count"),
            ("UsersSkipped", report.skipped as f64, "Count"),
            ("SyncProblems", report.problems.len() as f64, "Count"),
            ("SyncWritesNotDone", report.not_done.len() as f64, "Count"),
        ],
    }
}
