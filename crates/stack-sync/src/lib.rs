//! A scheduled sync re-runs a custom resource's work between deployments (people join groups,
//! certificates rotate). It must never fight CloudFormation: while a stack operation is in
//! progress, or once the stack is gone, it does nothing and says why ([`StackGuard`]). Its outcome
//! is one log line plus one CloudWatch embedded-metric line ([`metric_line`]), for an alarm.
//!
//! The schedule's event is `{"ConnectSsoSync": {"StackId", "LogicalResourceId"}}` and nothing
//! else: anyone allowed to invoke the function could send one, so it only asks for a sync. What
//! the sync acts on ([`SyncTarget`]) is what the template put in the function's environment:
//! the stack's id and the resource's properties. An event that carries properties of its own, or
//! names another stack or resource, is refused.

use anyhow::Context as _;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The key of a sync event.
pub const SYNC_EVENT_KEY: &str = "ConnectSsoSync";

/// The environment variable naming the stack (its ARN) the function belongs to; the template sets
/// it from `!Ref AWS::StackId`.
pub const STACK_ID_ENV: &str = "CONNECT_SSO_STACK_ID";
/// The environment variable naming the logical id of the resource a sync re-runs.
pub const SYNC_RESOURCE_ENV: &str = "CONNECT_SSO_SYNC_RESOURCE";
/// The environment variable holding that resource's properties (a JSON object), as the template
/// gives them to the custom resource.
pub const SYNC_PROPERTIES_ENV: &str = "CONNECT_SSO_SYNC_PROPERTIES";

/// The CloudWatch namespace of the sync metrics.
pub const METRIC_NAMESPACE: &str = "ConnectSso";

/// A sync event: which stack and resource it asks to sync. It carries nothing to act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SyncRequest {
    pub stack_id: String,
    pub logical_resource_id: String,
}

impl SyncRequest {
    /// The sync request in `event`, `None` when the event is not a sync. Refused (as an error
    /// that says so): a sync event with any other key, `Properties` above all.
    pub fn from_event(event: &Value) -> Option<anyhow::Result<Self>> {
        let inner = event.get(SYNC_EVENT_KEY)?;
        Some(Self::parse(inner))
    }

    fn parse(inner: &Value) -> anyhow::Result<Self> {
        let Value::Object(fields) = inner else {
            anyhow::bail!(
                "refused, nothing done: the {SYNC_EVENT_KEY} event must be an object {{StackId, LogicalResourceId}}"
            );
        };
        let extra: Vec<&str> = fields
            .keys()
            .map(String::as_str)
            .filter(|key| !matches!(*key, "StackId" | "LogicalResourceId"))
            .collect();
        if !extra.is_empty() {
            anyhow::bail!(
                "refused, nothing done: a {SYNC_EVENT_KEY} event carries only StackId and LogicalResourceId, this one also \
                 carries {}; what a sync acts on is set by the stack (the function's environment), never by the event",
                extra.join(", ")
            );
        }
        let text = |key: &str| -> anyhow::Result<String> {
            fields
                .get(key)
                .and_then(Value::as_str)
                .filter(|value| !value.trim().is_empty())
                .map(str::to_owned)
                .with_context(|| {
                    format!(
                        "refused, nothing done: the {SYNC_EVENT_KEY} event has no {key} (a string)"
                    )
                })
        };
        Ok(Self {
            stack_id: text("StackId")?,
            logical_resource_id: text("LogicalResourceId")?,
        })
    }

    /// The event that asks for this sync.
    pub fn to_event(&self) -> Value {
        json!({ SYNC_EVENT_KEY: self })
    }
}

/// What a sync acts on, all of it set by the stack: the function's stack, the resource it syncs
/// and that resource's properties (from the environment the template gives the function).
#[derive(Clone)]
pub struct SyncTarget {
    pub stack_id: String,
    pub logical_resource_id: String,
    properties: Value,
}

/// The properties may hold the cross-account ExternalId: only their names are shown.
impl std::fmt::Debug for SyncTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&String> = self
            .properties
            .as_object()
            .map(|fields| fields.keys().collect())
            .unwrap_or_default();
        f.debug_struct("SyncTarget")
            .field("stack_id", &self.stack_id)
            .field("logical_resource_id", &self.logical_resource_id)
            .field("properties", &names)
            .finish()
    }
}

impl SyncTarget {
    pub fn new(
        stack_id: impl Into<String>,
        logical_resource_id: impl Into<String>,
        properties: Value,
    ) -> Self {
        Self {
            stack_id: stack_id.into(),
            logical_resource_id: logical_resource_id.into(),
            properties,
        }
    }

    /// From [`STACK_ID_ENV`], [`SYNC_RESOURCE_ENV`] and [`SYNC_PROPERTIES_ENV`]; `None` when the
    /// function has no sync configured (every sync event is then refused).
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let (Some(stack_id), Some(logical_resource_id)) =
            (var(STACK_ID_ENV), var(SYNC_RESOURCE_ENV))
        else {
            return Ok(None);
        };
        let properties = match var(SYNC_PROPERTIES_ENV) {
            None => Value::Object(Map::new()),
            Some(text) => serde_json::from_str(&text).map_err(|error| {
                anyhow::anyhow!("{SYNC_PROPERTIES_ENV} is not a JSON object: {error}")
            })?,
        };
        anyhow::ensure!(
            properties.is_object(),
            "{SYNC_PROPERTIES_ENV} is not a JSON object"
        );
        Ok(Some(Self::new(stack_id, logical_resource_id, properties)))
    }

    /// The sync request of `event` if it asks for this target's sync; refused otherwise.
    pub fn authorise(&self, event: &Value) -> anyhow::Result<SyncRequest> {
        let request = SyncRequest::from_event(event).with_context(|| {
            format!(
                "refused, nothing done: not an event this function serves (expected a CloudFormation request or a {SYNC_EVENT_KEY} event)"
            )
        })??;
        anyhow::ensure!(
            request.stack_id == self.stack_id,
            "refused, nothing done: the {SYNC_EVENT_KEY} event names stack {}, this function syncs only stack {}",
            request.stack_id,
            self.stack_id
        );
        anyhow::ensure!(
            request.logical_resource_id == self.logical_resource_id,
            "refused, nothing done: the {SYNC_EVENT_KEY} event names resource {}, this function syncs only {}",
            request.logical_resource_id,
            self.logical_resource_id
        );
        Ok(request)
    }

    /// The properties, without the keys CloudFormation adds, as `P` (the resource's own type).
    pub fn properties<P: serde::de::DeserializeOwned>(&self) -> anyhow::Result<P> {
        let mut fields = match &self.properties {
            Value::Object(fields) => fields.clone(),
            _ => anyhow::bail!("{SYNC_PROPERTIES_ENV} must be a JSON object"),
        };
        fields.remove("ServiceToken");
        fields.remove("ServiceTimeout");
        serde_json::from_value(Value::Object(fields))
            .with_context(|| format!("invalid sync properties ({SYNC_PROPERTIES_ENV})"))
    }

    /// `text` with the string values of the properties `names` replaced by `[redacted]`.
    pub fn redact(&self, text: &str, names: &[&str]) -> String {
        let mut text = text.to_owned();
        for name in names {
            if let Some(value) = self.properties.get(*name).and_then(Value::as_str)
                && !value.is_empty()
            {
                text = text.replace(value, "[redacted]");
            }
        }
        text
    }

    /// Whether the properties set `name` (to anything but null or "").
    pub fn sets(&self, name: &str) -> bool {
        self.properties
            .get(name)
            .is_some_and(|value| !value.is_null() && value != "")
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

    /// The stack's status (`CREATE_IN_PROGRESS`, ...), `None` when CloudFormation does not know
    /// the stack. By stack ARN, a deleted stack is still found (`DELETE_COMPLETE`).
    pub async fn stack_status(&self, stack_id: &str) -> anyhow::Result<Option<String>> {
        let stacks = match self
            .client
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if is_missing(&error) => return Ok(None),
            Err(error) => {
                return Err(anyhow::anyhow!(
                    "cloudformation DescribeStacks {stack_id}: {}",
                    DisplayErrorContext(error)
                ));
            }
        };
        Ok(stacks.stacks().first().map(|stack| {
            stack
                .stack_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default()
        }))
    }

    /// Proceed only when the stack exists, is not being deleted, no stack operation is in
    /// progress, and the resource was created or updated successfully.
    pub async fn verdict(&self, stack_id: &str, logical_id: &str) -> anyhow::Result<Verdict> {
        let Some(status) = self.stack_status(stack_id).await? else {
            return Ok(Verdict::Skip(format!(
                "the stack {stack_id} no longer exists"
            )));
        };
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

    const STACK: &str = "arn:aws:cloudformation:us-east-1:1:stack/s/g";

    fn target() -> SyncTarget {
        SyncTarget::new(
            STACK,
            "ConnectUserImport",
            json!({"ServiceToken": "arn", "ServiceTimeout": "60", "Name": "x"}),
        )
    }

    #[test]
    fn a_sync_acts_on_the_stacks_properties_and_strips_cloudformation_keys() {
        let request = SyncRequest {
            stack_id: STACK.into(),
            logical_resource_id: "ConnectUserImport".into(),
        };
        assert_eq!(target().authorise(&request.to_event()).unwrap(), request);
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct P {
            name: String,
        }
        assert_eq!(target().properties::<P>().unwrap().name, "x");
        assert!(SyncRequest::from_event(&json!({"other": 1})).is_none());
        assert!(format!("{:?}", target()).contains("Name"));
    }

    #[test]
    fn sync_events_with_properties_or_for_another_stack_are_refused() {
        let refused = |event: Value| format!("{:#}", target().authorise(&event).unwrap_err());
        let with_properties = refused(json!({SYNC_EVENT_KEY: {
            "StackId": STACK, "LogicalResourceId": "ConnectUserImport",
            "Properties": {"MetadataDocument": "<EntityDescriptor/>"}}}));
        assert!(
            with_properties.contains("refused") && with_properties.contains("Properties"),
            "{with_properties}"
        );
        let other_stack = refused(json!({SYNC_EVENT_KEY: {
            "StackId": "arn:aws:cloudformation:us-east-1:1:stack/other/h", "LogicalResourceId": "ConnectUserImport"}}));
        assert!(other_stack.contains("stack/other/h"), "{other_stack}");
        let other_resource =
            refused(json!({SYNC_EVENT_KEY: {"StackId": STACK, "LogicalResourceId": "Else"}}));
        assert!(other_resource.contains("Else"), "{other_resource}");
        let missing = refused(json!({SYNC_EVENT_KEY: {"StackId": 3}}));
        assert!(missing.contains("StackId"), "{missing}");
        assert!(refused(json!({"x": 1})).contains("not an event this function serves"));
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
