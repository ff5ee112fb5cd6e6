//! The scheduled sync: between deployments, the schedule in the template invokes the function
//! with `{"ConnectSsoSync": {"StackId", "LogicalResourceId"}}`, naming this function's stack; the
//! properties come from the function's environment (the template), never from the event. It fetches the
//! metadata again and updates the IAM provider only when the document changed (Identity Center
//! rotated its certificate), logging the certificate's expiry; within 30 days of that expiry it
//! warns, in the log and in the metric. Nothing is done while CloudFormation works on the stack,
//! after it is gone, or to a provider this resource does not own.

use std::time::Instant;

use anyhow::Context as _;
use custom_resource::{OriginalEvent, Request, RequestType};
use serde_json::{Value, json};
use stack_sync::{SyncTarget, Verdict, emit_metrics};
use time::OffsetDateTime;

use crate::{Properties, SamlProvider, owns, provider_name};

/// Days before the certificate's expiry from which every sync warns.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

pub async fn run(
    resource: &SamlProvider,
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
    let request = Request {
        request_type: RequestType::Update,
        stack_id: sync.stack_id.clone(),
        request_id: "scheduled-sync".to_owned(),
        logical_resource_id: sync.logical_resource_id.clone(),
        resource_type: "Custom::SamlProviderFromMetadata".to_owned(),
        respond_by,
        original: OriginalEvent::default(),
    };
    let stack_name = request.stack_name().to_owned();
    let dimensions = [
        ("Stack", stack_name.as_str()),
        ("Resource", sync.logical_resource_id.as_str()),
    ];
    match sync_once(resource, target, &request).await {
        Ok(Synced::Skipped(why)) => {
            tracing::info!(stack = %stack_name, resource = %sync.logical_resource_id, reason = %why, "sync skipped: nothing done");
            emit_metrics(&dimensions, &[("SyncSkipped", 1.0, "Count")]);
            Ok(json!({"Status": "Skipped", "Reason": why}))
        }
        Ok(Synced::Done {
            arn,
            updated,
            expiry,
        }) => {
            let days_left = (expiry - OffsetDateTime::now_utc()).whole_days();
            let expiring = days_left < EXPIRY_WARNING_DAYS;
            let expiry_text = crate::metadata::rfc3339(expiry);
            if expiring {
                tracing::warn!(%arn, certificate_expiry = %expiry_text, days_left,
                    "the SAML signing certificate expires within {EXPIRY_WARNING_DAYS} days: rotate it in IAM Identity Center (the next sync then updates the provider)");
            }
            tracing::info!(
                stack = %stack_name,
                resource = %sync.logical_resource_id,
                %arn,
                metadata = if updated { "updated" } else { "unchanged" },
                certificate_expiry = %expiry_text,
                days_left,
                "sync summary"
            );
            emit_metrics(
                &dimensions,
                &[
                    ("MetadataUpdated", f64::from(u8::from(updated)), "Count"),
                    ("CertificateDaysLeft", days_left as f64, "None"),
                    (
                        "CertificateExpiringSoon",
                        f64::from(u8::from(expiring)),
                        "Count",
                    ),
                    ("SyncSkipped", 0.0, "Count"),
                    ("SyncFailed", 0.0, "Count"),
                ],
            );
            Ok(json!({
                "Status": "Synced",
                "Arn": arn,
                "Updated": updated,
                "CertificateExpiry": expiry_text,
                "CertificateDaysLeft": days_left,
                "ExpiresWithin30Days": expiring,
            }))
        }
        Err(error) => {
            tracing::error!(stack = %stack_name, resource = %sync.logical_resource_id, error = %format!("{error:#}"), "sync failed");
            emit_metrics(&dimensions, &[("SyncFailed", 1.0, "Count")]);
            Err(error)
        }
    }
}

enum Synced {
    Skipped(String),
    Done {
        arn: String,
        updated: bool,
        expiry: OffsetDateTime,
    },
}

async fn sync_once(
    resource: &SamlProvider,
    sync: &SyncTarget,
    request: &Request,
) -> anyhow::Result<Synced> {
    // The metadata IAM trusts comes from Identity Center, never from text a payload could carry.
    anyhow::ensure!(
        !sync.sets("MetadataDocument"),
        "refused, nothing done: a sync fetches the metadata from MetadataUrl; MetadataDocument is not accepted in a sync"
    );
    let properties: Properties = sync.properties()?;
    let guard = resource
        .guard
        .as_ref()
        .context("this function has no CloudFormation client to check the stack with")?;
    let arn = match guard
        .verdict(&sync.stack_id, &sync.logical_resource_id)
        .await?
    {
        Verdict::Skip(why) => return Ok(Synced::Skipped(why)),
        Verdict::Proceed {
            physical_resource_id,
        } => physical_resource_id,
    };
    let name = properties.provider_name(request);
    if provider_name(&arn) != Some(name.as_str()) {
        return Ok(Synced::Skipped(format!(
            "the resource's provider is {arn}, the schedule's properties name {name}: the schedule is out of date \
             until the stack is updated"
        )));
    }
    let Some(tags) = resource.iam.tags(&arn).await? else {
        return Ok(Synced::Skipped(format!(
            "the provider {arn} no longer exists; a stack update makes it again"
        )));
    };
    if !owns(request, &tags) {
        return Ok(Synced::Skipped(format!(
            "the provider {arn} does not carry this resource's ownership tags; it is left alone"
        )));
    }
    let metadata = resource.metadata(&properties, request.respond_by).await?;
    let current = resource
        .iam
        .document(&arn)
        .await?
        .with_context(|| format!("{arn} vanished while being synced"))?;
    let updated = current != metadata.document;
    if updated {
        // The download may have taken a while: CloudFormation may have started on the stack since.
        if let Verdict::Skip(why) = guard
            .verdict(&sync.stack_id, &sync.logical_resource_id)
            .await?
        {
            return Ok(Synced::Skipped(format!(
                "{why} (checked again before writing)"
            )));
        }
        resource
            .iam
            .update_document(&arn, &metadata.document)
            .await?;
        tracing::info!(%arn, sha256 = %metadata.sha256, certificate_expiry = %metadata.certificate_expiry_rfc3339(), "metadata changed: SAML provider updated");
    }
    Ok(Synced::Done {
        arn,
        updated,
        expiry: metadata.certificate_expiry,
    })
}
