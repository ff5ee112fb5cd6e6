//! Handing a request on to a new invocation of the function (Lambda `Invoke`, asynchronous), with
//! a bound on how long that may take: a hand-on the core cannot confirm in time is never followed
//! by an answer of its own, so CloudFormation can never get two.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use https_client::signed::{CallError, LAMBDA, SignedClient};
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
/// (`AWS_LAMBDA_FUNCTION_NAME`), honouring `AWS_ENDPOINT_URL_LAMBDA`. Written by hand as the SDK
/// writes it (`https_client::signed`): one call did not justify aws-sdk-lambda's build time.
pub(crate) struct LambdaRelay {
    function_name: String,
    client: tokio::sync::OnceCell<Result<SignedClient, String>>,
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

    /// Invokes `function_name` with the region, credentials and endpoint of `config` (tests).
    #[cfg(test)]
    pub fn with_config(function_name: &str, config: &aws_config::SdkConfig) -> Self {
        Self {
            function_name: function_name.to_owned(),
            client: tokio::sync::OnceCell::new_with(Some(
                SignedClient::new(config, LAMBDA).map_err(|error| error.to_string()),
            )),
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
            SignedClient::new(&https_client::sdk::load_config().await, LAMBDA)
                .map_err(|error| error.to_string())
        });
        let client = match tokio::time::timeout_at(by.into(), client).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => {
                return HandOn::Refused(format!(
                    "lambda Invoke {function_name} not attempted: {error}"
                ));
            }
            Err(_elapsed) => {
                return HandOn::Refused(format!(
                    "the SDK configuration did not load in time (lambda Invoke {function_name} not attempted)"
                ));
            }
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
        // A single attempt: a repeated Invoke could queue the event twice.
        let path = invoke_path(function_name);
        let invoke = client.send("POST", &path, &INVOKE_HEADERS, &payload);
        match tokio::time::timeout(time, invoke).await {
            Ok(Ok(_)) => HandOn::Accepted(format!("a new invocation of {function_name}")),
            Err(_elapsed) => HandOn::Unconfirmed(format!(
                "lambda Invoke {function_name} did not answer within {time:?}"
            )),
            Ok(Err(error)) => {
                let text = format!("lambda Invoke {function_name} (to continue): {error}");
                // Lambda answered with an error, or no byte left: the event was not queued.
                // Otherwise (a connection lost mid-way) it may have been.
                if CallError::certainly_not_served(&error) {
                    HandOn::Refused(text)
                } else {
                    HandOn::Unconfirmed(text)
                }
            }
        }
    }
}

/// The headers of an asynchronous Invoke, as the SDK sends them.
const INVOKE_HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/octet-stream"),
    ("x-amz-invocation-type", "Event"),
];

/// `POST /2015-03-31/functions/{FunctionName}/invocations`, the name percent-encoded as a path
/// segment (a name may be an ARN, with `:`).
fn invoke_path(function_name: &str) -> String {
    let name: String = url::form_urlencoded::byte_serialize(function_name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("/2015-03-31/functions/{name}/invocations")
}

impl Relay for LambdaRelay {
    fn hand_on<'a>(&'a self, event: &'a Value, by: Instant) -> BoxFuture<'a, HandOn> {
        Box::pin(self.invoke(event, by))
    }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::InvocationType;
    use serde_json::json;

    use super::*;

    /// The hand-built Invoke is the SDK's asynchronous Invoke on the wire (by name and by ARN),
    /// and Lambda's 202 is an accepted hand-on.
    #[tokio::test]
    async fn a_hand_on_is_the_sdks_asynchronous_invoke() {
        let lambda = test_support::recording_endpoint(202, "application/json", "").await;
        let config = test_support::sdk_config(Some(&lambda.endpoint)).await;
        let event = json!({"RequestType": "Create", "ConnectSsoContinuation": {"Units": 3}});
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:connect-sso-Import-1";
        for function_name in ["connect-sso-Import-1", arn] {
            aws_sdk_lambda::Client::new(&config)
                .invoke()
                .function_name(function_name)
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(event.to_string()))
                .send()
                .await
                .unwrap();
            let relay = LambdaRelay::with_config(function_name, &config);
            let handed = relay
                .hand_on(&event, Instant::now() + Duration::from_secs(5))
                .await;
            assert!(matches!(handed, HandOn::Accepted(_)), "{handed:?}");
            let [sdk, ours] = <[_; 2]>::try_from(lambda.take()).unwrap();
            assert_eq!(ours.operation(), sdk.operation());
        }
    }

    /// Lambda refusing the Invoke (an unknown function) is a refused hand-on, with Lambda's words.
    #[tokio::test]
    async fn a_refused_invoke_is_a_refused_hand_on() {
        let lambda = test_support::recording_endpoint(
            404,
            "application/json",
            r#"{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:gone"}"#,
        )
        .await;
        let config = test_support::sdk_config(Some(&lambda.endpoint)).await;
        let relay = LambdaRelay::with_config("gone", &config);
        let handed = relay
            .hand_on(&json!({}), Instant::now() + Duration::from_secs(5))
            .await;
        let HandOn::Refused(why) = handed else {
            panic!("{handed:?}");
        };
        assert!(why.contains("Function not found"), "{why}");
    }
}
