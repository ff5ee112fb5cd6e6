//! The CloudFormation custom-resource protocol for Lambda functions, done once.
//!
//! A function implements [`CustomResource`]: `create`, `update` and `delete` over its typed
//! properties, returning a [`Step`]: done (with an [`Outcome`]: physical id and output data), or
//! "continue with this state" ([`Continuation`]); a failure is a [`Failure`]. [`run`] does the
//! rest: lenient envelope parsing, string-tolerant properties, exactly one response per request
//! (on success, error, panic, approaching deadline or failed start-up), the response PUT with
//! retries, the 4096-byte limit, marker ids for failed creates, logs that never carry the
//! ResponseURL, and work longer than one run (new invocations of the function, the time
//! CloudFormation waits, the hop bound: see [`Continuation`] and `docs/long-running-work.md`).
//!
//! ```no_run
//! use custom_resource::{CustomResource, Failure, Outcome, Request, Step, Update};
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
//!     async fn create(&self, _: &Request, p: Properties) -> Result<Step, Failure> {
//!         Ok(Outcome::new(format!("thing/{}", p.name)).with("Name", p.name).into())
//!     }
//!     async fn update(&self, _: &Request, u: Update<Properties>) -> Result<Step, Failure> {
//!         Ok(Outcome::new(u.physical_resource_id).into())
//!     }
//!     async fn delete(&self, _: &Request, _id: &str, _p: Properties) -> Result<Step<()>, Failure> {
//!         Ok(Step::Done(()))
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     custom_resource::run(async { Ok(Thing) }).await
//! }
//! ```
//!
//! Work longer than one Lambda run says so with `LONG_RUNNING` and returns
//! [`Step::Continue`] with the state the next run needs; the core hands the request on to a new
//! invocation of the function and answers CloudFormation once, from the run that finishes (or
//! FAILED with the progress reported, when the chain cannot go on):
//!
//! ```no_run
//! use custom_resource::{Continuation, CustomResource, Failure, Outcome, Request, Step, Update};
//!
//! #[derive(serde::Deserialize)]
//! struct Properties {}
//!
//! /// How far earlier runs got.
//! #[derive(Default, serde::Serialize, serde::Deserialize)]
//! struct Copied {
//!     items: usize,
//! }
//!
//! struct SlowCopy;
//!
//! impl CustomResource for SlowCopy {
//!     type Properties = Properties;
//!     const LONG_RUNNING: bool = true;
//!
//!     async fn create(&self, request: &Request, _: Properties) -> Result<Step, Failure> {
//!         let mut copied: Copied = request.state()?.unwrap_or_default();
//!         // Work until `request.respond_by` (the core keeps the time to hand on or answer).
//!         while copied.items < 10_000 {
//!             if std::time::Instant::now() >= request.respond_by {
//!                 let progress = format!("copied {} of 10000", copied.items);
//!                 // Or `Continuation::answering(outcome, ..)`: answer SUCCESS now and go on
//!                 // in the background while the stack stays in this operation.
//!                 return Ok(Step::Continue(Continuation::new("copy/1", &copied, progress)?));
//!             }
//!             copied.items += 1;
//!         }
//!         Ok(Outcome::new("copy/1").with("Items", copied.items).into())
//!     }
//!     async fn update(&self, r: &Request, u: Update<Properties>) -> Result<Step, Failure> {
//!         self.create(r, u.new).await
//!     }
//!     async fn delete(&self, _: &Request, _: &str, _: Properties) -> Result<Step<()>, Failure> {
//!         Ok(Step::Done(()))
//!     }
//! }
//! ```

mod authority;
pub mod continuation;
#[cfg(test)]
mod continuation_tests;
mod dispatch;
mod envelope;
pub mod lenient;
mod logging;
mod properties;
mod relay;
mod response;
mod runtime;
mod sender;
pub mod value;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use authority::{
    STACK_ID_ENV, TEST_RESPONSE_URLS_ENV, cloudformation_may_send_requests, inside_lambda,
    is_cloudformation_response_url, test_switch, this_stack_id,
};
pub use continuation::{CONTINUATION_KEY, Continuation, MAX_HOPS, Step};
pub use dispatch::{FAILED_CREATE_MARKER_PREFIX, is_failed_create_marker};
pub use envelope::RequestType;
pub use logging::{init_logging, redact_url};
pub use relay::HAND_ON_TIMEOUT;
pub use response::MAX_RESPONSE_BYTES;
pub use runtime::run;
pub use sender::{ResponseSender, SendPolicy};

/// Tag keys naming the stack and the logical resource that made an object, and who that is.
pub use stack_sync::{OWNER_TAG_LOGICAL_ID, OWNER_TAG_STACK_ID, Owner};

/// What a handler knows about the CloudFormation request it serves (never the raw event).
#[derive(Debug, Clone)]
pub struct Request {
    pub request_type: RequestType,
    /// The stack and logical resource the request is for: who owns what it makes.
    pub owner: Owner,
    pub request_id: String,
    pub resource_type: String,
    /// When this run's work must be done: the Lambda deadline less the time the core keeps to
    /// answer (and, for a long-running resource, to hand on), and never past the time
    /// CloudFormation waits for the answer.
    pub respond_by: Instant,
    /// What the previous run of this request handed on; `None` in the first run.
    carried: Option<continuation::Carried>,
    /// When CloudFormation must have its answer at the latest; `None` in the background (it has
    /// it already).
    answer_by: Option<Instant>,
    /// In the background: how to check again that the stack is still in the operation answered.
    still_answered: Option<Arc<dispatch::StillAnswered>>,
}

/// Why a request failed: CloudFormation is answered FAILED with the error's `{:#}` text (context
/// chain included) as the Reason, so attach context that names the property or the call that
/// failed. Any error converts into [`Failure::Failed`], so `?` works in a handler.
#[derive(Debug)]
pub enum Failure {
    /// Failed; nothing this request made is left to name (a Create is answered with a marker
    /// id, whose Delete does nothing; any other request with its own physical id).
    Failed(anyhow::Error),
    /// A Create failed after making `physical_resource_id`: answered with that id, so that the
    /// rollback's Delete receives it and removes what was made. (On an Update or Delete the
    /// request's own id is kept.)
    PartiallyCreated {
        physical_resource_id: String,
        error: anyhow::Error,
    },
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self::Failed(error.into())
    }
}

impl Failure {
    /// See [`Failure::PartiallyCreated`].
    pub fn partially_created(
        physical_resource_id: impl Into<String>,
        error: impl Into<anyhow::Error>,
    ) -> Self {
        Self::PartiallyCreated {
            physical_resource_id: physical_resource_id.into(),
            error: error.into(),
        }
    }

    /// The error, whichever kind of failure this is.
    pub fn error(&self) -> &anyhow::Error {
        match self {
            Self::Failed(error) | Self::PartiallyCreated { error, .. } => error,
        }
    }
}

impl Request {
    /// A request as the core would hand it to a handler in the first run (tests, local tools).
    pub fn new(
        request_type: RequestType,
        stack_id: impl Into<String>,
        logical_resource_id: impl Into<String>,
        resource_type: impl Into<String>,
        respond_by: Instant,
    ) -> Self {
        Self {
            request_type,
            owner: Owner::new(stack_id, logical_resource_id),
            request_id: String::new(),
            resource_type: resource_type.into(),
            respond_by,
            carried: None,
            answer_by: None,
            still_answered: None,
        }
    }

    /// Whether `work` more of the handler's time, spread over later runs, still fits before
    /// CloudFormation must be answered: `false` means a long-running handler should answer now
    /// ([`Continuation::answering`]) and go on in the background. Each later run loses part of
    /// its time to the core's reserves (about a quarter of a 30 s run, less of a longer one), so
    /// a quarter is added to `work`. Always `true` in the background.
    pub fn fits_before_answer(&self, work: Duration) -> bool {
        let Some(answer_by) = self.answer_by else {
            return true;
        };
        let needed = work + work / 4 + continuation::SHORTEST_USEFUL_RUN;
        Instant::now() + needed <= answer_by
    }

    /// In the background, why the work must stop now: the stack has left the operation that was
    /// answered (an update, a rollback, a delete) or the resource is another one. Checked by the
    /// core before each background run; a handler that writes in batches asks again between
    /// them. `None` (go on) in the foreground, where CloudFormation waits for this request.
    pub async fn stop_reason(&self) -> Option<String> {
        match &self.still_answered {
            Some(check) => check.stop_reason().await,
            None => None,
        }
    }

    /// The state the previous run handed on in its [`Continuation`]; `None` in the first run.
    pub fn state<S: serde::de::DeserializeOwned>(&self) -> anyhow::Result<Option<S>> {
        let Some(carried) = &self.carried else {
            return Ok(None);
        };
        serde_json::from_value(carried.state.clone())
            .map(Some)
            .map_err(|error| anyhow::anyhow!("the state handed on by the previous run: {error}"))
    }

    /// Which run of this request this is: 0 for the first, then one more per hand-on.
    pub fn run(&self) -> u32 {
        self.carried.as_ref().map_or(0, |carried| carried.hops)
    }

    /// Whether CloudFormation has already been answered (a run after
    /// [`Continuation::answering`]): what this run does is never reported to CloudFormation.
    pub fn in_background(&self) -> bool {
        self.carried
            .as_ref()
            .is_some_and(|carried| carried.background.is_some())
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
/// A handler returns a [`Step`] (done, or continue with some state) or a [`Failure`].
pub trait CustomResource: Send + Sync + 'static {
    /// The resource's properties. Derive `Deserialize` with `deny_unknown_fields` (typos become
    /// errors naming the property) and the [`lenient`] helpers for non-string scalars.
    type Properties: serde::de::DeserializeOwned + Send + 'static;

    /// Property names whose values never appear in logs or in a FAILED Reason.
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &[];

    /// Whether the handler may return [`Step::Continue`]. The core then keeps time at the end of
    /// each run to hand the request on (see [`Request::respond_by`]), bounds the whole chain by
    /// the custom resource's ServiceTimeout, and needs `lambda:InvokeFunction` on the function
    /// itself (and `RecursiveLoop: Allow`). A resource that continues without saying so is
    /// answered FAILED with its progress.
    const LONG_RUNNING: bool = false;

    fn create(
        &self,
        request: &Request,
        properties: Self::Properties,
    ) -> impl Future<Output = Result<Step, Failure>> + Send;

    fn update(
        &self,
        request: &Request,
        update: Update<Self::Properties>,
    ) -> impl Future<Output = Result<Step, Failure>> + Send;

    /// Must succeed for ids this function did not make and for objects already gone.
    fn delete(
        &self,
        request: &Request,
        physical_resource_id: &str,
        properties: Self::Properties,
    ) -> impl Future<Output = Result<Step<()>, Failure>> + Send;

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
/// Nothing is handed on: a run that would continue is answered FAILED with its progress.
pub async fn response_document<R: CustomResource>(
    resource: Arc<R>,
    event: Value,
    time_limit: Duration,
) -> anyhow::Result<Value> {
    let dispatcher = dispatch::Dispatcher::new(
        dispatch::Handler::Ready(resource),
        ResponseSender::default(),
    );
    let ran = dispatcher
        .in_process(event, Instant::now() + time_limit)
        .await?;
    ran.answer
        .ok_or_else(|| anyhow::anyhow!("the request was not answered"))
}

/// What one in-process run of a request came to ([`run_in_process`]).
#[derive(Debug, Default)]
pub struct InProcessRun {
    /// The response document, when this run answered CloudFormation.
    pub answer: Option<Value>,
    /// The event handed on to the next run, when this run continued.
    pub handed_on: Option<Value>,
}

/// Runs one invocation of a CloudFormation request (or of a hop handed on) in-process, as
/// [`response_document`] does, with hand-ons kept instead of invoking Lambda: tests drive a
/// long-running resource run by run with it.
pub async fn run_in_process<R: CustomResource>(
    resource: Arc<R>,
    event: Value,
    time_limit: Duration,
) -> anyhow::Result<InProcessRun> {
    let relay = relay::CapturedRelay::default();
    let dispatcher = dispatch::Dispatcher::new(
        dispatch::Handler::Ready(resource),
        ResponseSender::default(),
    )
    .with_relay(Arc::new(relay.clone()));
    let mut ran = dispatcher
        .in_process(event, Instant::now() + time_limit)
        .await?;
    let mut handed_on = relay.take();
    anyhow::ensure!(
        handed_on.len() <= 1,
        "one run handed on {} times",
        handed_on.len()
    );
    ran.handed_on = handed_on.pop();
    Ok(ran)
}

/// Parses `ResourceProperties` exactly as a request's properties are parsed (CloudFormation's own
/// keys ignored, errors naming the property): for checking sample events and templates in tests.
pub fn parse_properties<P: serde::de::DeserializeOwned>(
    properties: &serde_json::Value,
) -> Result<P, String> {
    properties::parse(properties)
}
