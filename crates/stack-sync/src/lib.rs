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
//!
//! The shell of a sync (the event, the target, the stack check, the result, the metric line, the
//! failure) is [`run`], once for every function; a function supplies only its domain step, a
//! [`ScheduledSync`], which acts on the resource's [`Owner`] as CloudFormation says it is settled
//! ([`Settled`]).

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use https_client::signed::{CLOUDFORMATION, CallError, SignedClient};
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

    /// The properties as the stack set them (a JSON object), CloudFormation's keys included.
    pub fn properties_json(&self) -> &Value {
        &self.properties
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

/// A stack's status and which operation it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOperation {
    /// `CREATE_IN_PROGRESS`, `UPDATE_COMPLETE`, ...
    pub status: String,
    pub operation: OperationId,
}

/// Which stack operation (the creation, or one update) a status belongs to: the stack's
/// `CreationTime` and `LastUpdatedTime` (absent until the first update) from DescribeStacks, in
/// milliseconds since the epoch. A new update (or an update's rollback) gives a new
/// `LastUpdatedTime`, so a status of another operation never carries the same identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationId {
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
}

impl StackOperation {
    /// Whether this status is the operation `started` still running or completed successfully:
    /// the same identity, and a status of that operation (in progress, its cleanup, or
    /// `CREATE_COMPLETE` / `UPDATE_COMPLETE`). A rollback, a delete or a later update is not.
    pub fn is_still(&self, started: &OperationId) -> bool {
        let statuses: &[&str] = if started.last_updated.is_none() {
            &["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
        } else {
            &[
                "UPDATE_IN_PROGRESS",
                "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
                "UPDATE_COMPLETE",
            ]
        };
        self.operation == *started && statuses.contains(&self.status.as_str())
    }
}

/// Tag key naming the stack (its ARN) that made an object.
pub const OWNER_TAG_STACK_ID: &str = "connect-sso:stack-id";
/// Tag key naming the logical resource (within that stack) that made an object.
pub const OWNER_TAG_LOGICAL_ID: &str = "connect-sso:logical-resource-id";

/// Who makes and owns what a resource creates: the stack (its ARN) and the logical resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `arn:aws:cloudformation:<region>:<account>:stack/<name>/<guid>`.
    pub stack_id: String,
    pub logical_resource_id: String,
    /// `stack_id` read as a stack ARN, when it is one.
    stack: Option<arn::StackId>,
}

impl Owner {
    pub fn new(stack_id: impl Into<String>, logical_resource_id: impl Into<String>) -> Self {
        let stack_id = stack_id.into();
        Self {
            stack: arn::StackId::parse(&stack_id),
            stack_id,
            logical_resource_id: logical_resource_id.into(),
        }
    }

    /// The stack name, from the stack ARN (the whole id when it is not an ARN).
    pub fn stack_name(&self) -> &str {
        self.stack
            .as_ref()
            .map_or(&self.stack_id, arn::StackId::name)
    }

    /// The stack's unique id (the last part of its ARN), stable for the stack's lifetime.
    pub fn stack_guid(&self) -> &str {
        self.stack
            .as_ref()
            .map_or(&self.stack_id, arn::StackId::guid)
    }

    /// The region in the stack ARN, when it is one.
    pub fn stack_region(&self) -> Option<&str> {
        self.stack.as_ref().and_then(arn::StackId::region)
    }

    /// The account in the stack ARN, when it is one.
    pub fn stack_account(&self) -> Option<&str> {
        self.stack.as_ref().and_then(arn::StackId::account)
    }

    /// Tags that mark an object as made by this resource: an object without them (or with other
    /// values) was not made here and is never changed or deleted.
    pub fn ownership_tags(&self) -> [(&'static str, &str); 2] {
        [
            (OWNER_TAG_STACK_ID, self.stack_id.as_str()),
            (OWNER_TAG_LOGICAL_ID, self.logical_resource_id.as_str()),
        ]
    }

    /// Whether `tags` (key, value pairs) carry this resource's ownership tags.
    pub fn owns<K: AsRef<str>, V: AsRef<str>>(
        &self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> bool {
        let tags: Vec<(K, V)> = tags.into_iter().collect();
        self.ownership_tags()
            .iter()
            .all(|(wanted_key, wanted_value)| {
                tags.iter().any(|(key, value)| {
                    key.as_ref() == *wanted_key && value.as_ref() == *wanted_value
                })
            })
    }

    /// The stack and resource named by `tags` when they are another connect-sso resource's
    /// ownership tags (another stack's, or another resource's of this stack), as
    /// "<stack id> (<logical id>)": what such tags mark is never claimed, changed or deleted
    /// here. `None` when this resource owns it, or no connect-sso resource does.
    pub fn other_owner<K: AsRef<str>, V: AsRef<str>>(
        &self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Option<String> {
        let tags: Vec<(K, V)> = tags.into_iter().collect();
        let value = |wanted: &str| {
            tags.iter()
                .find(|(key, _)| key.as_ref() == wanted)
                .map(|(_, value)| value.as_ref())
        };
        let (stack, logical) = (value(OWNER_TAG_STACK_ID), value(OWNER_TAG_LOGICAL_ID));
        if (stack.is_none() && logical.is_none())
            || (stack == Some(self.stack_id.as_str())
                && logical == Some(self.logical_resource_id.as_str()))
        {
            return None;
        }
        Some(format!(
            "{} ({})",
            stack.unwrap_or("an unknown stack"),
            logical.unwrap_or("an unknown resource")
        ))
    }
}

/// One resource's scheduled sync: the domain step. [`run`] is the rest.
pub trait ScheduledSync: Send + Sync {
    /// The resource's properties, as the stack set them ([`SyncTarget::properties`]).
    type Properties: serde::de::DeserializeOwned + Send;

    /// Property names whose values never appear in the result or the logs.
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &[];

    /// The properties, checked before anything is read (an error is the sync's failure).
    fn properties(&self, target: &SyncTarget) -> anyhow::Result<Self::Properties> {
        target.properties()
    }

    /// One sync of the resource `settled` names, settled as CloudFormation said a moment ago.
    /// Writes made after a slow step check [`Settled::stop_reason`] first.
    fn sync(
        &self,
        properties: Self::Properties,
        settled: &Settled<'_>,
        respond_by: Instant,
    ) -> impl Future<Output = anyhow::Result<Synced>> + Send;
}

/// What one sync came to.
#[derive(Debug)]
pub enum Synced {
    /// Nothing done, for this reason.
    Skipped(String),
    /// Done; the step has logged its own "sync summary" line (its fields are its own).
    Done(Summary),
}

/// A finished sync, for the invocation's result and the metric line.
#[derive(Debug, Default)]
pub struct Summary {
    /// `Synced`, or what else the run came to (`Incomplete`).
    pub status: &'static str,
    /// The result's fields beside `Status`.
    pub fields: Map<String, Value>,
    /// The run's metrics (name, value, unit); `SyncSkipped` and `SyncFailed` are added by [`run`].
    pub metrics: Vec<(&'static str, f64, &'static str)>,
}

/// The resource a sync acts on, which CloudFormation said is settled: its owner and physical id.
pub struct Settled<'a> {
    pub owner: Owner,
    pub physical_resource_id: String,
    guard: &'a StackGuard,
}

impl<'a> Settled<'a> {
    /// `owner`'s resource with `physical_resource_id`, to check again through `guard`.
    pub fn new(
        owner: Owner,
        physical_resource_id: impl Into<String>,
        guard: &'a StackGuard,
    ) -> Self {
        Self {
            owner,
            physical_resource_id: physical_resource_id.into(),
            guard,
        }
    }

    /// Why the writes must stop now (CloudFormation started on the stack, the resource is another
    /// one), `None` to go on. A failed check stops them too: a sync never writes without knowing
    /// the stack is settled.
    pub async fn stop_reason(&self) -> Option<String> {
        match self
            .guard
            .verdict(&self.owner.stack_id, &self.owner.logical_resource_id)
            .await
        {
            Ok(Verdict::Proceed {
                physical_resource_id,
            }) if physical_resource_id == self.physical_resource_id => None,
            Ok(Verdict::Proceed {
                physical_resource_id,
            }) => Some(format!(
                "the resource now manages {physical_resource_id}, not {}",
                self.physical_resource_id
            )),
            Ok(Verdict::Skip(why)) => Some(why),
            Err(error) => Some(format!("the stack could not be checked again: {error:#}")),
        }
    }
}

/// Serves one sync event: refuses it unless it asks for `target`'s sync; does nothing while the
/// stack is busy or gone; otherwise runs `sync`'s step. Logs the outcome and writes one metric
/// line; the result is the invocation's (`Status` Skipped, Synced, ...; an error when it failed).
pub async fn run<S: ScheduledSync>(
    sync: &S,
    target: Option<&SyncTarget>,
    guard: Option<&StackGuard>,
    event: Value,
    respond_by: Instant,
) -> anyhow::Result<Value> {
    let target = target.with_context(|| {
        format!("refused, nothing done: this function has no sync configured ({SYNC_RESOURCE_ENV} is not set)")
    })?;
    let request = match target.authorise(&event) {
        Ok(request) => request,
        Err(refusal) => {
            tracing::error!(reason = %format!("{refusal:#}"), "sync event refused");
            return Err(refusal);
        }
    };
    let owner = Owner::new(request.stack_id, request.logical_resource_id);
    let stack_name = owner.stack_name().to_owned();
    let resource = owner.logical_resource_id.clone();
    let dimensions = [
        ("Stack", stack_name.as_str()),
        ("Resource", resource.as_str()),
    ];
    match sync_once(sync, target, guard, owner, respond_by).await {
        Ok(Synced::Skipped(why)) => {
            tracing::info!(stack = %stack_name, %resource, reason = %why, "sync skipped: nothing done");
            emit_metrics(&dimensions, &[("SyncSkipped", 1.0, "Count")]);
            Ok(json!({"Status": "Skipped", "Reason": why}))
        }
        Ok(Synced::Done(summary)) => {
            let mut metrics = summary.metrics;
            metrics.extend([("SyncSkipped", 0.0, "Count"), ("SyncFailed", 0.0, "Count")]);
            emit_metrics(&dimensions, &metrics);
            let mut result = Map::new();
            result.insert("Status".to_owned(), json!(summary.status));
            result.extend(summary.fields);
            Ok(Value::Object(result))
        }
        Err(error) => {
            // The result and the log never show a sensitive value, whatever the error quotes.
            let error = target.redact(&format!("{error:#}"), S::SENSITIVE_PROPERTIES);
            tracing::error!(stack = %stack_name, %resource, %error, "sync failed");
            emit_metrics(&dimensions, &[("SyncFailed", 1.0, "Count")]);
            Err(anyhow::anyhow!(error))
        }
    }
}

async fn sync_once<S: ScheduledSync>(
    sync: &S,
    target: &SyncTarget,
    guard: Option<&StackGuard>,
    owner: Owner,
    respond_by: Instant,
) -> anyhow::Result<Synced> {
    let properties = sync.properties(target)?;
    let guard =
        guard.context("this function has no CloudFormation client to check the stack with")?;
    let physical_resource_id = match guard
        .verdict(&owner.stack_id, &owner.logical_resource_id)
        .await?
    {
        Verdict::Skip(why) => return Ok(Synced::Skipped(why)),
        Verdict::Proceed {
            physical_resource_id,
        } => physical_resource_id,
    };
    let settled = Settled::new(owner, physical_resource_id, guard);
    sync.sync(properties, &settled, respond_by).await
}

/// Whether a sync may act now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The stack and the resource are settled; the resource's physical id.
    Proceed { physical_resource_id: String },
    /// Nothing is done, for this reason.
    Skip(String),
}

/// Asks CloudFormation whether the stack and the resource are settled: DescribeStacks and
/// DescribeStackResource (query protocol), written by hand as the SDK writes them
/// (`https_client::signed`): two reads did not justify aws-sdk-cloudformation's build time.
pub struct StackGuard {
    client: Result<SignedClient, String>,
}

/// How long a throttled or failed read is retried.
const RETRY_TIME: Duration = Duration::from_secs(5);

impl StackGuard {
    /// With the region, credentials and endpoint of `config` (which honours
    /// `AWS_ENDPOINT_URL_CLOUDFORMATION`).
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: SignedClient::new(config, CLOUDFORMATION).map_err(|error| error.to_string()),
        }
    }

    /// The stack's status (`CREATE_IN_PROGRESS`, ...), `None` when CloudFormation does not know
    /// the stack. By stack ARN, a deleted stack is still found (`DELETE_COMPLETE`).
    pub async fn stack_status(&self, stack_id: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .stack_operation(stack_id)
            .await?
            .map(|operation| operation.status))
    }

    /// The stack's status with the identity of its latest operation (see [`StackOperation`]),
    /// `None` when CloudFormation does not know the stack.
    pub async fn stack_operation(&self, stack_id: &str) -> anyhow::Result<Option<StackOperation>> {
        let Some(answer) = self
            .query("DescribeStacks", &[("StackName", stack_id)])
            .await
            .with_context(|| format!("cloudformation DescribeStacks {stack_id}"))?
        else {
            return Ok(None);
        };
        let document = roxmltree::Document::parse(&answer)
            .with_context(|| format!("cloudformation DescribeStacks {stack_id}: not XML"))?;
        // The first stack of `<Stacks>` (a stack ARN names one).
        let Some(stack) = document
            .descendants()
            .find(|node| node.has_tag_name("member") && child_text(*node, "StackStatus").is_some())
        else {
            return Ok(None);
        };
        let time = |name: &str| child_text(stack, name).map(|time| epoch_millis(&time));
        Ok(Some(StackOperation {
            status: child_text(stack, "StackStatus").unwrap_or_default(),
            operation: OperationId {
                created: time("CreationTime").unwrap_or_default(),
                last_updated: time("LastUpdatedTime"),
            },
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
        let Some(resource) = self.resource(stack_id, logical_id).await? else {
            return Ok(Verdict::Skip(format!(
                "the stack has no resource {logical_id} (any more)"
            )));
        };
        if !matches!(
            resource.status.as_str(),
            "CREATE_COMPLETE" | "UPDATE_COMPLETE"
        ) {
            return Ok(Verdict::Skip(format!(
                "the resource {logical_id} is {}, not CREATE_COMPLETE or UPDATE_COMPLETE",
                resource.status
            )));
        }
        Ok(Verdict::Proceed {
            physical_resource_id: resource.physical_resource_id,
        })
    }

    /// The resource's physical id and status (DescribeStackResource), `None` when the stack has
    /// no such resource.
    pub async fn resource(
        &self,
        stack_id: &str,
        logical_id: &str,
    ) -> anyhow::Result<Option<ResourceState>> {
        let Some(answer) = self
            .query(
                "DescribeStackResource",
                &[("StackName", stack_id), ("LogicalResourceId", logical_id)],
            )
            .await
            .with_context(|| format!("cloudformation DescribeStackResource {logical_id}"))?
        else {
            return Ok(None);
        };
        let document = roxmltree::Document::parse(&answer).with_context(|| {
            format!("cloudformation DescribeStackResource {logical_id}: not XML")
        })?;
        let detail = document
            .descendants()
            .find(|node| node.has_tag_name("StackResourceDetail"));
        let field = |name: &str| {
            detail
                .and_then(|detail| child_text(detail, name))
                .unwrap_or_default()
        };
        Ok(Some(ResourceState {
            physical_resource_id: field("PhysicalResourceId"),
            status: field("ResourceStatus"),
        }))
    }

    /// One query-protocol read; `None` when CloudFormation does not know the stack or the
    /// resource.
    async fn query(&self, action: &str, fields: &[(&str, &str)]) -> anyhow::Result<Option<String>> {
        let client = self
            .client
            .as_ref()
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let deadline = Instant::now() + RETRY_TIME;
        match client.query(action, QUERY_VERSION, fields, deadline).await {
            Ok(answer) => Ok(Some(answer)),
            Err(error) if is_missing(&error) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

/// The CloudFormation API version of the query protocol.
const QUERY_VERSION: &str = "2010-05-15";

/// The text of `node`'s child element `name`.
fn child_text(node: roxmltree::Node, name: &str) -> Option<String> {
    node.children()
        .find(|child| child.has_tag_name(name))
        .and_then(|child| child.text())
        .map(str::to_owned)
}

/// A CloudFormation time (ISO 8601) as milliseconds since the epoch, as the SDK reads it; an
/// unreadable time as the SDK's fallback did (`i64::MIN`), so that it still compares equal to
/// itself.
fn epoch_millis(time: &str) -> String {
    aws_smithy_types::DateTime::from_str(time, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .and_then(|time| time.to_millis().ok())
        .unwrap_or(i64::MIN)
        .to_string()
}

/// A resource of a stack, as DescribeStackResource says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceState {
    pub physical_resource_id: String,
    /// `CREATE_COMPLETE`, `UPDATE_IN_PROGRESS`, ...
    pub status: String,
}

/// CloudFormation answers a stack (or resource) it does not know with a ValidationError that
/// says "does not exist".
fn is_missing(error: &CallError) -> bool {
    error.message.contains("does not exist")
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

    #[test]
    fn stack_parts_come_from_the_stack_arn() {
        let owner = Owner::new(
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/connect-sso/5f1e-77",
            "Import",
        );
        assert_eq!(owner.stack_name(), "connect-sso");
        assert_eq!(owner.stack_guid(), "5f1e-77");
        assert_eq!(owner.stack_region(), Some("eu-west-1"));
        assert_eq!(owner.stack_account(), Some("123456789012"));
        let odd = Owner::new("not-an-arn", "Import");
        assert_eq!((odd.stack_name(), odd.stack_region()), ("not-an-arn", None));
    }

    #[test]
    fn ownership_needs_both_tags_with_this_resources_values() {
        let owner = Owner::new(STACK, "Import");
        assert!(owner.owns([
            (OWNER_TAG_STACK_ID, STACK),
            (OWNER_TAG_LOGICAL_ID, "Import"),
            ("other", "x")
        ]));
        assert!(!owner.owns([(OWNER_TAG_STACK_ID, STACK)]));
        assert!(!owner.owns([(OWNER_TAG_STACK_ID, STACK), (OWNER_TAG_LOGICAL_ID, "Other")]));
        assert!(!owner.owns(std::collections::BTreeMap::<String, String>::new()));
    }

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
