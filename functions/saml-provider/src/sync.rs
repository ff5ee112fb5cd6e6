//! The scheduled sync: between deployments, the schedule in the template asks for a sync of this
//! stack's provider, on the properties the template set in the function's environment. It fetches
//! the metadata again and updates the IAM provider only when the document changed (Identity Center
//! rotated its certificate), logging the certificate's expiry; within 30 days of that expiry it
//! warns, in the log and in the metric. The shell (the event, the stack check, the result, the
//! metric line) is `stack_sync::run`; this is the provider's step. Nothing is done to a provider
//! this resource does not own.

use std::time::Instant;

use anyhow::Context as _;
use serde_json::{Value, json};
use stack_sync::{ScheduledSync, Settled, Summary, SyncTarget, Synced};
use time::OffsetDateTime;

use crate::{Properties, SamlProvider, owns, provider_name};

/// Days before the certificate's expiry from which every sync warns.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

pub async fn run(
    resource: &SamlProvider,
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

impl ScheduledSync for SamlProvider {
    type Properties = Properties;

    fn properties(&self, target: &SyncTarget) -> anyhow::Result<Properties> {
        // The metadata IAM trusts comes from Identity Center, never from text a payload could carry.
        anyhow::ensure!(
            !target.sets("MetadataDocument"),
            "refused, nothing done: a sync fetches the metadata from MetadataUrl; MetadataDocument is not accepted in a sync"
        );
        target.properties()
    }

    async fn sync(
        &self,
        properties: Properties,
        settled: &Settled<'_>,
        respond_by: Instant,
    ) -> anyhow::Result<Synced> {
        let owner = &settled.owner;
        let arn = settled.physical_resource_id.clone();
        let name = properties.provider_name(owner);
        if provider_name(&arn) != Some(name.as_str()) {
            return Ok(Synced::Skipped(format!(
                "the resource's provider is {arn}, the schedule's properties name {name}: the schedule is out of date \
                 until the stack is updated"
            )));
        }
        let Some(tags) = self.iam.tags(&arn).await? else {
            return Ok(Synced::Skipped(format!(
                "the provider {arn} no longer exists; a stack update makes it again"
            )));
        };
        if !owns(owner, &tags) {
            return Ok(Synced::Skipped(format!(
                "the provider {arn} does not carry this resource's ownership tags; it is left alone"
            )));
        }
        let metadata = self.metadata(&properties, respond_by).await?;
        let current = self
            .iam
            .document(&arn)
            .await?
            .with_context(|| format!("{arn} vanished while being synced"))?;
        let updated = current != metadata.document;
        if updated {
            // The download may have taken a while: CloudFormation may have started on the stack since.
            if let Some(why) = settled.stop_reason().await {
                return Ok(Synced::Skipped(format!(
                    "{why} (checked again before writing)"
                )));
            }
            self.iam.update_document(&arn, &metadata.document).await?;
            tracing::info!(%arn, sha256 = %metadata.sha256, certificate_expiry = %metadata.certificate_expiry_rfc3339(), "metadata changed: SAML provider updated");
        }
        let days_left = (metadata.certificate_expiry - OffsetDateTime::now_utc()).whole_days();
        let expiring = days_left < EXPIRY_WARNING_DAYS;
        let expiry_text = crate::metadata::rfc3339(metadata.certificate_expiry);
        if expiring {
            tracing::warn!(%arn, certificate_expiry = %expiry_text, days_left,
                "the SAML signing certificate expires within {EXPIRY_WARNING_DAYS} days: rotate it in IAM Identity Center (the next sync then updates the provider)");
        }
        tracing::info!(
            stack = %owner.stack_name(),
            resource = %owner.logical_resource_id,
            %arn,
            metadata = if updated { "updated" } else { "unchanged" },
            certificate_expiry = %expiry_text,
            days_left,
            "sync summary"
        );
        let fields = json!({
            "Arn": arn,
            "Updated": updated,
            "CertificateExpiry": expiry_text,
            "CertificateDaysLeft": days_left,
            "ExpiresWithin30Days": expiring,
        });
        Ok(Synced::Done(Summary {
            status: "Synced",
            fields: fields.as_object().cloned().unwrap_or_default(),
            metrics: vec![
                ("MetadataUpdated", f64::from(u8::from(updated)), "Count"),
                ("CertificateDaysLeft", days_left as f64, "None"),
                (
                    "CertificateExpiringSoon",
                    f64::from(u8::from(expiring)),
                    "Count",
                ),
            ],
        }))
    }
}
