//! The CloudFormation custom-resource protocol for Lambda functions, done once.
//!
//! A function implements [`CustomResource`]: `create`, `update` and `delete` over its typed
//! properties, returning an [`Outcome`] (physical id and output data). [`run`] does the rest:
//! lenient envelope parsing, string-tolerant properties, exactly one response per request (on
//! success, error, panic, approaching deadline or failed start-up), the response PUT with retries,
//! the 4096-byte limit, marker ids for failed creates, and logs that never carry the ResponseURL.
//!
//! ```no_run
//! use custom_resource::{CustomResource, Outcome, Request, Update};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(rename_all = "PascalCase", deny_unknown_fields)]
//! struct Properties {
//!     name: String,
//!     #[serde(default, deserialize_with = "custom_resource::lenient::bool")]
//!     enabled: bool,
//! }
//!
//! struct Thing;
//!
//! impl CustomResource for Thing {
//!     type Properties = Properties;
//!     async fn create(&self, _: &Request, p: Properties) -> anyhow::Result<Outcome> {
//!         Ok(Outcome::new(format!("thing/{}", p.name)).with("Name", p.name))
//!     }
//!     async fn update(&self, _: &Request, u: Update<Properties>) -> anyhow::Result<Outcome> {
//!         Ok(Outcome::new(u.physical_resource_id))
//!     }
//!     async fn delete(&self, _: &Request, _id: &str, _p: Properties) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     custom_resource::run(async { Ok(Thing) }).await
//! }
//! ```

mod authority;
mod dispatch;
mod envelope;
pub mod lenient;
mod logging;
mod properties;
mod response;
mod runtime;
mod sender;
pub mod value;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

pub use authority::{
    STACK_ID_ENV, TEST_RESPONSE_URLS_ENV, cloudformation_may_send_requests, inside_lambda,
    is_cloudformation_response_url, test_switch, this_stack_id,
};
pub use dispatch::{FAILED_CREATE_MARKER_PREFIX, is_failed_create_marker};
pub use envelope::RequestType;
pub use logging::{init_logging, redact_url};
pub use response::MAX_RESPONSE_BYTES;
pub use runtime::run;
pub use sender::{ResponseSender, SendPolicy};

/// Tag key naming the stack (its ARN) that made an object.
pub const OWNER_TAG_STACK_ID: &str = "connect-sso:stack-id";
/// Tag key naming the logical resource (within that stack) that made an object.
pub const OWNER_TAG_LOGICAL_ID: &str = "connect-sso:logical-resource-id";

/// What a handler knows about the CloudFormation request it serves.
#[derive(Debug, Clone)]
pub struct Request {
    pub request_type: RequestType,
    /// The stack's ARN: `arn:aws:cloudformation:<region>:<account>:stack/<name>/<guid>`.
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub resource_type: String,
    /// When the handler must be done: the Lambda deadline less the time kept back to answer.
    pub respond_by: Instant,
    /// The CloudFormation event itself, ResponseURL included: only for handing the request on to
    /// another invocation of the function (see [`handed_off`]). Never logged.
    pub original: OriginalEvent,
}

/// A CloudFormation event as it arrived. Its `Debug` shows nothing: the ResponseURL is a credential.
#[derive(Clone, Default)]
pub struct OriginalEvent(std::sync::Arc<serde_json::Value>);

impl OriginalEvent {
    pub fn new(event: serde_json::Value) -> Self {
        Self(std::sync::Arc::new(event))
    }

    pub fn json(&self) -> &serde_json::Value {
        &self.0
    }
}

impl std::fmt::Debug for OriginalEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OriginalEvent([redacted])")
    }
}

/// The error a handler returns when another invocation of the function has taken the request on
/// (it was passed [`Request::original`]) and will answer CloudFormation itself: this invocation
/// then sends no response, so CloudFormation still gets exactly one.
#[derive(Debug)]
pub struct HandedOff(pub String);

impl std::fmt::Display for HandedOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "handed off, no response from this invocation: {}",
            self.0
        )
    }
}

impl std::error::Error for HandedOff {}

/// See [`HandedOff`]: `to_whom` says which invocation answers, for the logs.
pub fn handed_off(to_whom: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(HandedOff(to_whom.into()))
}

impl Request {
    /// The stack name, taken from the stack ARN (the whole id when it is not an ARN).
    pub fn stack_name(&self) -> &str {
        self.stack_id_part(1).unwrap_or(&self.stack_id)
    }

    /// The stack's unique id (the last part of its ARN), stable for the stack's lifetime.
    pub fn stack_guid(&self) -> &str {
        self.stack_id_part(2).unwrap_or(&self.stack_id)
    }

    /// The region in the stack ARN, when it is one.
    pub fn stack_region(&self) -> Option<&str> {
        self.stack_id.split(':').nth(3).filter(|r| !r.is_empty())
    }

    /// The account in the stack ARN, when it is one.
    pub fn stack_account(&self) -> Option<&str> {
        self.stack_id.split(':').nth(4).filter(|a| !a.is_empty())
    }

    /// Tags that mark an object as made by this stack's resource: an object without them (or with
    /// other values) was not made here and is never changed or deleted.
    pub fn ownership_tags(&self) -> [(&'static str, &str); 2] {
        [
            (OWNER_TAG_STACK_ID, self.stack_id.as_str()),
            (OWNER_TAG_LOGICAL_ID, self.logical_resource_id.as_str()),
        ]
    }

    /// Whether `tags` (key, value pairs) carry this resource's ownership tags.
    pub fn owns<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        let tags: Vec<(&str, &str)> = tags.into_iter().collect();
        self.ownership_tags()
            .iter()
            .all(|wanted| tags.contains(wanted))
    }

    fn stack_id_part(&self, index: usize) -> Option<&str> {
        let resource = self.stack_id.split(':').nth(5)?;
        resource
            .split('/')
            .nth(index)
            .filter(|part| !part.is_empty())
    }
}

/// An Update: the physical id being updated and both sets of properties.
///
/// Return the same physical id to update in place, or a new one to replace: CloudFormation then
/// sends a Delete for the old id during cleanup. Never destroy the old object inside an Update.
#[derive(Debug)]
pub struct Update<P> {
    pub physical_resource_id: String,
    pub new: P,
    /// The previous properties, or `None` when they no longer parse under the current schema (a
    /// rollback after an Update rejected for bad input sends those bad properties here).
    pub old: Option<P>,
}

/// A successful result: the physical id of what exists and the values `Fn::GetAtt` can read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
    /// Mask the data values in `Fn::GetAtt` consumers' views (stack events, console).
    pub no_echo: bool,
}

impl Outcome {
    pub fn new(physical_resource_id: impl Into<String>) -> Self {
        Self {
            physical_resource_id: physical_resource_id.into(),
            ..Self::default()
        }
    }

    /// Adds one output value, readable as `!GetAtt Resource.<key>`.
    pub fn with(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.data.insert(key.into(), value.to_string());
        self
    }

    pub fn no_echo(mut self) -> Self {
        self.no_echo = true;
        self
    }
}

/// One CloudFormation custom resource type.
///
/// Errors are `anyhow` errors: their `{:#}` text (context chain included) becomes the FAILED
/// Reason, so attach context that names the property or the call that failed.
pub trait CustomResource: Send + Sync + 'static {
    /// The resource's properties. Derive `Deserialize` with `deny_unknown_fields` (typos become
    /// errors naming the property) and the [`lenient`] helpers for non-string scalars.
    type Properties: serde::de::DeserializeOwned + Send + 'static;

    /// Property names whose values never appear in logs or in a FAILED Reason.
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &[];

    fn create(
        &self,
        request: &Request,
        properties: Self::Properties,
    ) -> impl Future<Output = anyhow::Result<Outcome>> + Send;

    fn update(
        &self,
        request: &Request,
        update: Update<Self::Properties>,
    ) -> impl Future<Output = anyhow::Result<Outcome>> + Send;

    /// Must succeed for ids this function did not make and for objects already gone.
    fn delete(
        &self,
        request: &Request,
        physical_resource_id: &str,
        properties: Self::Properties,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Events that are not CloudFormation requests (no ResponseURL and no RequestType), such as a
    /// scheduled sync. Their result is the invocation's result; nothing is PUT anywhere.
    fn other_event(
        &self,
        event: serde_json::Value,
        respond_by: Instant,
    ) -> impl Future<Output = anyhow::Result<serde_json::Value>> + Send {
        let _ = (event, respond_by);
        async {
            Err(anyhow::anyhow!(
                "this function only serves CloudFormation custom-resource requests"
            ))
        }
    }
}

/// Answers one CloudFormation request in-process and returns the response document that would be
/// PUT to its ResponseURL, without sending it: for tests of a function's behaviour and for local
/// tools. `time_limit` plays the Lambda timeout (the handler gets it less the answering reserve).
/// When the handler hands the request off, the error is a [`HandedOff`] (no document).
pub async fn response_document<R: CustomResource>(
    resource: std::sync::Arc<R>,
    event: serde_json::Value,
    time_limit: std::time::Duration,
) -> anyhow::Result<serde_json::Value> {
    let dispatcher = dispatch::Dispatcher::new(
        dispatch::Handler::Ready(resource),
        ResponseSender::default(),
    );
    let body = dispatcher
        .response_document(event, Instant::now() + time_limit)
        .await?;
    Ok(serde_json::from_slice(&body)?)
}

/// Parses `ResourceProperties` exactly as a request's properties are parsed (CloudFormation's own
/// keys ignored, errors naming the property): for checking sample events and templates in tests.
pub fn parse_properties<P: serde::de::DeserializeOwned>(
    properties: &serde_json::Value,
) -> Result<P, String> {
    properties::parse(properties)
}

/// Wraps a Create error so that the FAILED response carries `physical_resource_id` instead of a
/// marker: the rollback Delete then receives that id and can remove what was partly made.
pub fn failed_after_creating(
    physical_resource_id: impl Into<String>,
    error: anyhow::Error,
) -> anyhow::Error {
    anyhow::Error::new(dispatch::PartiallyCreated {
        physical_resource_id: physical_resource_id.into(),
        source: error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(stack_id: &str) -> Request {
        Request {
            request_type: RequestType::Create,
            stack_id: stack_id.into(),
            request_id: "r".into(),
            logical_resource_id: "Import".into(),
            resource_type: "Custom::X".into(),
            respond_by: Instant::now(),
            original: OriginalEvent::default(),
        }
    }

    #[test]
    fn stack_parts_come_from_the_stack_arn() {
        let r = request("arn:aws:cloudformation:eu-west-1:123456789012:stack/connect-sso/5f1e-77");
        assert_eq!(r.stack_name(), "connect-sso");
        assert_eq!(r.stack_guid(), "5f1e-77");
        assert_eq!(r.stack_region(), Some("eu-west-1"));
        assert_eq!(r.stack_account(), Some("123456789012"));
        let odd = request("not-an-arn");
        assert_eq!((odd.stack_name(), odd.stack_region()), ("not-an-arn", None));
    }

    #[test]
    fn ownership_needs_both_tags_with_this_resources_values() {
        let r = request("arn:aws:cloudformation:eu-west-1:1:stack/s/g");
        let stack = "arn:aws:cloudformation:eu-west-1:1:stack/s/g";
        assert!(r.owns([
            (OWNER_TAG_STACK_ID, stack),
            (OWNER_TAG_LOGICAL_ID, "Import"),
            ("other", "x")
        ]));
        assert!(!r.owns([(OWNER_TAG_STACK_ID, stack)]));
        assert!(!r.owns([(OWNER_TAG_STACK_ID, stack), (OWNER_TAG_LOGICAL_ID, "Other")]));
        assert!(!r.owns([]));
    }

    #[test]
    fn the_original_event_never_shows_in_debug_output() {
        let mut r = request("arn:aws:cloudformation:eu-west-1:1:stack/s/g");
        r.original = OriginalEvent::new(
            serde_json::json!({"ResponseURL": "https://bucket/secret-signature"}),
        );
        assert!(!format!("{r:?}").contains("secret-signature"));
        assert_eq!(
            r.original.json()["ResponseURL"],
            "https://bucket/secret-signature"
        );
    }
}
