//! Handing a request on to a new invocation of the function (Lambda `Invoke`, asynchronous), with
//! a bound on how long that may take: a hand-on the core cannot confirm in time is never followed
//! by an answer of its own, so CloudFormation can never get two.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_lambda::error::{DisplayErrorContext, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use futures::future::BoxFuture;
use serde_json::Value;

/// The longest a hand-on may take (Lambda's Invoke answers an asynchronous event in well under a
/// second when it is healthy).
pub const HAND_ON_TIMEOUT: Duration = Duration::from_secs(3);

/// Less time than this, and a hand-on is not attempted (it could not be confirmed).
const SHORTEST_HAND_ON: Duration = Duration::from_millis(200);

/// What became of a hand-on.
#[derive(Debug)]
pub(crate) enum HandOn {
    /// The event is queued for a new invocation.
    Accepted(String),
    /// The event was certainly not queued.
    Refused(String),
    /// No confirmation either way (a timeout, a dropped connection): the event may be queued.
    Unconfirmed(String),
}

/// How a run hands the request on.
pub(crate) trait Relay: Send + Sync {
    /// Hands `event` to a new invocation, finishing by `by` whatever happens.
    fn hand_on<'a>(&'a self, event: &'a Value, by: Instant) -> BoxFuture<'a, HandOn>;
}

/// Lambda `Invoke` (InvocationType `Event`) of the function itself, by the name Lambda gives it
/// (`AWS_LAMBDA_FUNCTION_NAME`); the SDK configuration honours `AWS_ENDPOINT_URL_LAMBDA`.
pub(crate) struct LambdaRelay {
    function_name: String,
    client: tokio::sync::OnceCell<aws_sdk_lambda::Client>,
}

impl LambdaRelay {
    /// `None` outside Lambda (no function name to invoke).
    pub fn from_env() -> Option<Self> {
        let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|name| !name.is_empty())?;
        Some(Self {
            function_name,
            client: tokio::sync::OnceCell::new(),
        })
    }

    /// Invokes `function_name` through `client` (tests).
    #[cfg(test)]
    pub fn with_client(function_name: &str, client: aws_sdk_lambda::Client) -> Self {
        Self {
            function_name: function_name.to_owned(),
            client: tokio::sync::OnceCell::new_with(Some(client)),
        }
    }

    async fn invoke(&self, event: &Value, by: Instant) -> HandOn {
        let function_name = &self.function_name;
        let payload = match serde_json::to_vec(event) {
            Ok(payload) => payload,
            Err(error) => return HandOn::Refused(error.to_string()),
        };
        // Loaded once, on the first hand-on, so that start-up does not pay for it.
        let client = self.client.get_or_init(|| async {
            aws_sdk_lambda::Client::new(&https_client::sdk::load_config().await)
        });
        let Ok(client) = tokio::time::timeout_at(by.into(), client).await else {
            return HandOn::Refused(format!(
                "the SDK configuration did not load in time (lambda Invoke {function_name} not attempted)"
            ));
        };
        let time = by
            .saturating_duration_since(Instant::now())
            .min(HAND_ON_TIMEOUT);
        if time < SHORTEST_HAND_ON {
            // Not sent at all: certainly not queued.
            return HandOn::Refused(format!(
                "no time was left to hand on (lambda Invoke {function_name} not attempted)"
            ));
        }
        let invoke = client
            .invoke()
            .function_name(function_name)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .customize()
            // A single attempt: a retried Invoke could queue the event twice.
            .config_override(
                aws_sdk_lambda::config::Builder::default()
                    .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled()),
            )
            .send();
        match tokio::time::timeout(time, invoke).await {
            Ok(Ok(_)) => HandOn::Accepted(format!("a new invocation of {function_name}")),
            Err(_elapsed) => HandOn::Unconfirmed(format!(
                "lambda Invoke {function_name} did not answer within {time:?}"
            )),
            Ok(Err(error)) => {
                // Lambda answered with an error, the request could not even be built, or no
                // connection was made: the event was not queued. Otherwise (a timeout, a
                // connection lost mid-way) it may have been.
                let definite = match &error {
                    SdkError::ServiceError(_) | SdkError::ConstructionFailure(_) => true,
                    SdkError::DispatchFailure(_) => never_connected(&error),
                    _ => false,
                };
                let text = format!(
                    "lambda Invoke {function_name} (to continue): {}",
                    DisplayErrorContext(error)
                );
                if definite {
                    HandOn::Refused(text)
                } else {
                    HandOn::Unconfirmed(text)
                }
            }
        }
    }
}

impl Relay for LambdaRelay {
    fn hand_on<'a>(&'a self, event: &'a Value, by: Instant) -> BoxFuture<'a, HandOn> {
        Box::pin(self.invoke(event, by))
    }
}

/// Whether the HTTP client failed to open a connection at all (DNS, refused, connect timeout):
/// then no byte of the request left, whatever else went wrong.
fn never_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(client_error) = current.downcast_ref::<hyper_util::client::legacy::Error>() {
            return client_error.is_connect();
        }
        source = current.source();
    }
    false
}

/// Keeps the events handed on, in memory (in-process runs: tests and local tools).
#[derive(Default, Clone)]
pub(crate) struct CapturedRelay(pub Arc<Mutex<Vec<Value>>>);

impl CapturedRelay {
    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Relay for CapturedRelay {
    fn hand_on<'a>(&'a self, event: &'a Value, _by: Instant) -> BoxFuture<'a, HandOn> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
        Box::pin(async { HandOn::Accepted("a captured continuation".to_owned()) })
    }
}
