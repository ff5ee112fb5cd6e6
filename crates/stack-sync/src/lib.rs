//! A scheduled sync re-runs a custom resource's work between deployments (people join groups,
//! certificates rotate). It must never fight CloudFormation: while a stack operation is in
//! progress, or once the stack is gone, it does nothing and says why ([`StackGuard`]). Its outcome
//! is one log line plus one CloudWatch embedded-metric line ([`metric_line`]), for an alarm.
//!
//! The schedule's event: `{"ConnectSsoSync": {"StackId", "LogicalResourceId", "Properties"}}`,
//! the properties being those of the custom resource in the template.

use anyhow::Context as _;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The key of a sync event.
pub const SYNC_EVENT_KEY: &str = "ConnectSsoSync";

/// The CloudWatch namespace of the sync metrics.
pub const METRIC_NAMESPACE: &str = "ConnectSso";

/// A sync of one custom resource of one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SyncRequest {
    pub stack_id: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub properties: Value,
}

impl SyncRequest {
    /// The sync request in `event`, `None` when the event is not a sync.
    pub fn from_event(event: &Value) -> Option<anyhow::Result<Self>> {
        let inner = event.get(SYNC_EVENT_KEY)?;
        Some(
            serde_json::from_value(inner.clone())
                .with_context(|| format!("invalid {SYNC_EVENT_KEY} event: expected {{StackId, LogicalResourceId, Properties}}")),
        )
    }

    /// The event that asks for this sync.
    pub fn to_event(&self) -> Value {
        json!({ SYNC_EVENT_KEY: self })
    }

    /// The properties, without the keys CloudFormation adds, as `P` (the resource's own type).
    pub fn properties<P: serde::de::DeserializeOwned>(&self) -> anyhow::Result<P> {
        let mut fields = match &self.properties {
            Value::Object(fields) => fields.clone(),
            Value::Null => Map::new(),
            _ => anyhow::bail!("invalid {SYNC_EVENT_KEY} event: Properties must be an object"),
        };
        fields.remove("ServiceToken");
        fields.remove("ServiceTimeout");
        serde_json::from_value(Value::Object(fields))
            .with_context(|| format!("invalid {SYNC_EVENT_KEY} event Properties"))
    }
}

/// Whether a sync may act now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The stack and the resource are settled; the resource's physical id.
    Proceed { physical_resource_id: String },
    /// Nothing is done, for this reason.
    Skip(String),
}

/// Asks CloudFormation whether the stack and the resource are settled.
pub struct StackGuard {
    client: aws_sdk_cloudformation::Client,
}

impl StackGuard {
    pub fn new(client: aws_sdk_cloudformation::Client) -> Self {
        Self { client }
    }

    /// From the SDK configuration (which honours `AWS_ENDPOINT_URL_CLOUDFORMATION`).
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_cloudformation::Client::new(config))
    }

    /// Proceed only when the stack exists, is not being deleted, no stack operation is in
    /// progress, and the resource was created or updated successfully.
    pub async fn verdict(&self, stack_id: &str, logical_id: &str) -> anyhow::Result<Verdict> {
        let stacks = match self
            .client
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if is_missing(&error) => {
                return Ok(Verdict::Skip(format!(
                    "the stack {stack_id} no longer exists"
                )));
            }
            Err(error) => {
                return Err(anyhow::anyhow!(
                    "cloudformation DescribeStacks {stack_id}: {}",
                    DisplayErrorContext(error)
                ));
            }
        };
        let Some(stack) = stacks.stacks().first() else {
            return Ok(Verdict::Skip(format!(
                "the stack {stack_id} no longer exists"
            )));
        };
        let status = stack.stack_status().map(|s| s.as_str()).unwrap_or_default();
        if status.starts_with("DELETE_") {
            return Ok(Verdict::Skip(format!(
                "the stack is {status}: it is deleted or being deleted"
            )));
        }
        if status.ends_with("_IN_PROGRESS") {
            return Ok(Verdict::Skip(format!(
                "a stack operation is in progress ({status}); the next run syncs"
            )));
        }
        let resource = match self
            .client
            .describe_stack_resource()
            .stack_name(stack_id)
            .logical_resource_id(logical_id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if is_missing(&error) => {
                return Ok(Verdict::Skip(format!(
                    "the stack has no resource {logical_id} (any more)"
                )));
            }
            Err(error) => {
                return Err(anyhow::anyhow!(
                    "cloudformation DescribeStackResource {logical_id}: {}",
                    DisplayErrorContext(error)
                ));
            }
        };
        let detail = resource.stack_resource_detail();
        let resource_status = detail
            .and_then(|d| d.resource_status())
            .map(|s| s.as_str())
            .unwrap_or_default();
        if !matches!(resource_status, "CREATE_COMPLETE" | "UPDATE_COMPLETE") {
            return Ok(Verdict::Skip(format!(
                "the resource {logical_id} is {resource_status}, not CREATE_COMPLETE or UPDATE_COMPLETE"
            )));
        }
        Ok(Verdict::Proceed {
            physical_resource_id: detail
                .and_then(|d| d.physical_resource_id())
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// CloudFormation answers a stack (or resource) it does not know with a ValidationError that
/// says "does not exist".
fn is_missing<E: ProvideErrorMetadata>(error: &E) -> bool {
    error
        .message()
        .is_some_and(|m| m.contains("does not exist"))
}

/// One CloudWatch embedded-metric-format line: CloudWatch Logs turns it into the `metrics`
/// (name, value, unit) of [`METRIC_NAMESPACE`], with `dimensions` as dimensions.
pub fn metric_line(
    dimensions: &[(&str, &str)],
    metrics: &[(&str, f64, &str)],
    timestamp_ms: u64,
) -> String {
    let mut line = Map::new();
    line.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": metrics
                    .iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        line.insert((*name).to_owned(), json!(value));
    }
    for (name, value, _) in metrics {
        line.insert((*name).to_owned(), json!(value));
    }
    Value::Object(line).to_string()
}

/// Writes [`metric_line`] to stdout, where Lambda sends it to CloudWatch Logs as a line of its own
/// (through `tracing` it would be nested in a field, which CloudWatch does not read as EMF).
pub fn emit_metrics(dimensions: &[(&str, &str)], metrics: &[(&str, f64, &str)]) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or_default();
    println!("{}", metric_line(dimensions, metrics, now_ms));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_event_round_trips_and_strips_cloudformation_keys() {
        let request = SyncRequest {
            stack_id: "arn:aws:cloudformation:us-east-1:1:stack/s/g".into(),
            logical_resource_id: "ConnectUserImport".into(),
            properties: json!({"ServiceToken": "arn", "ServiceTimeout": "60", "Name": "x"}),
        };
        let back = SyncRequest::from_event(&request.to_event())
            .unwrap()
            .unwrap();
        assert_eq!(back, request);
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct P {
            name: String,
        }
        assert_eq!(back.properties::<P>().unwrap().name, "x");
        assert!(SyncRequest::from_event(&json!({"other": 1})).is_none());
        let bad = SyncRequest::from_event(&json!({SYNC_EVENT_KEY: {"StackId": 3}})).unwrap();
        assert!(format!("{:#}", bad.unwrap_err()).contains("invalid ConnectSsoSync event"));
    }

    #[test]
    fn the_metric_line_is_embedded_metric_format() {
        let line = metric_line(
            &[("Stack", "s"), ("Resource", "ConnectUserImport")],
            &[
                ("UsersCreated", 2.0, "Count"),
                ("SyncProblems", 1.0, "Count"),
            ],
            1_700_000_000_000,
        );
        let parsed: Value = serde_json::from_str(&line).unwrap();
        let directive = &parsed["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], METRIC_NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Stack", "Resource"]]));
        assert_eq!(
            directive["Metrics"][0],
            json!({"Name": "UsersCreated", "Unit": "Count"})
        );
        assert_eq!(parsed["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(parsed["UsersCreated"], 2.0);
        assert_eq!(parsed["Stack"], "s");
    }
}
