//! A minimal Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) in front of
//! [`FunctionProcess`]es found by name, for functions that invoke themselves (or others)
//! asynchronously: point `AWS_ENDPOINT_URL_LAMBDA` at [`LambdaService::endpoint`].
//!
//! `X-Amz-Invocation-Type: Event` is answered 202 and the payload is run on the function, as
//! Lambda's asynchronous invocation does, with its retries: an invocation that errs, crashes or
//! times out is delivered again (twice at most) to the function registered under that name at that
//! time, after [`LambdaService::retry_delay`] (Lambda waits 1 then 2 minutes). `RequestResponse`
//! is not supported (400).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::{FunctionProcess, Outcome};

/// Deliveries of one asynchronous event: the first and Lambda's two retries.
const MAX_DELIVERIES: usize = 3;

/// One delivery of an asynchronous event and what became of it.
#[derive(Debug, Clone)]
pub struct AsyncInvocation {
    pub function: String,
    pub payload: Vec<u8>,
    /// 1 for the first delivery, 2 and 3 for retries.
    pub delivery: usize,
    pub outcome: Outcome,
}

struct Registered {
    process: Arc<FunctionProcess>,
    timeout: Duration,
}

#[derive(Default)]
struct Shared {
    functions: Mutex<HashMap<String, Registered>>,
    history: Mutex<Vec<AsyncInvocation>>,
    in_flight: Mutex<HashMap<String, usize>>,
    retry_delay: Mutex<Duration>,
    accept_delay: Mutex<Duration>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct LambdaService {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl LambdaService {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        *lock(&shared.retry_delay) = Duration::from_millis(500);
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            shared,
            server,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Runs events for `name` on `process`, each with `timeout` (the function's Timeout). A new
    /// registration under the same name replaces the old one (a restarted process).
    pub fn register(&self, name: &str, process: Arc<FunctionProcess>, timeout: Duration) {
        lock(&self.shared.functions).insert(name.to_owned(), Registered { process, timeout });
    }

    pub fn unregister(&self, name: &str) {
        lock(&self.shared.functions).remove(name);
    }

    /// The wait before a failed delivery is retried (Lambda: 1, then 2 minutes).
    pub fn retry_delay(&self, delay: Duration) {
        *lock(&self.shared.retry_delay) = delay;
    }

    /// How long an `Event` invocation takes to be accepted: the event is queued, and the 202
    /// answered, only after this (a slow Lambda front end; default none).
    pub fn accept_after(&self, delay: Duration) {
        *lock(&self.shared.accept_delay) = delay;
    }

    /// Every delivery so far, in the order they ended.
    pub fn history(&self) -> Vec<AsyncInvocation> {
        lock(&self.shared.history).clone()
    }

    /// Whether events for `name` are queued, running or waiting for a retry.
    pub fn busy(&self, name: &str) -> bool {
        lock(&self.shared.in_flight)
            .get(name)
            .is_some_and(|count| *count > 0)
    }

    /// Waits until no event for `name` is in flight, or `timeout` passes (then an error).
    pub async fn wait_idle(&self, name: &str, timeout: Duration) -> anyhow::Result<()> {
        let give_up = tokio::time::Instant::now() + timeout;
        while self.busy(name) {
            anyhow::ensure!(
                tokio::time::Instant::now() < give_up,
                "events for {name} still in flight after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

impl Drop for LambdaService {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `function:NAME[:qualifier]` ARNs and plain names both name NAME.
fn function_name(path: &str) -> String {
    let decoded = path.replace("%3A", ":").replace("%3a", ":");
    match decoded.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or_default().to_owned(),
        None => decoded,
    }
}

fn error(status: StatusCode, kind: &str, message: String) -> Response {
    let body = serde_json::json!({"Type": "User", "message": message}).to_string();
    (status, [("x-amzn-ErrorType", kind.to_owned())], body).into_response()
}

async fn invoke(
    State(shared): State<Arc<Shared>>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = function_name(&path);
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("RequestResponse");
    if invocation_type != "Event" {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            format!("only InvocationType Event is emulated, not {invocation_type}"),
        );
    }
    if !lock(&shared.functions).contains_key(&name) {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {name}"),
        );
    }
    *lock(&shared.in_flight).entry(name.clone()).or_default() += 1;
    // Queued after the delay even if the caller gives up waiting meanwhile, as Lambda would.
    let accept_delay = *lock(&shared.accept_delay);
    let queue = Arc::clone(&shared);
    tokio::spawn(async move {
        tokio::time::sleep(accept_delay).await;
        deliver(queue, name, body.to_vec()).await;
    });
    tokio::time::sleep(accept_delay).await;
    StatusCode::ACCEPTED.into_response()
}

async fn deliver(shared: Arc<Shared>, name: String, payload: Vec<u8>) {
    for delivery in 1..=MAX_DELIVERIES {
        if delivery > 1 {
            let delay = *lock(&shared.retry_delay);
            tokio::time::sleep(delay).await;
        }
        let target = lock(&shared.functions)
            .get(&name)
            .map(|registered| (Arc::clone(&registered.process), registered.timeout));
        let Some((process, timeout)) = target else {
            break;
        };
        let outcome = process
            .invoke(payload.clone(), timeout)
            .await
            .unwrap_or_else(|problem| Outcome::Crashed(format!("{problem:#}")));
        let succeeded = matches!(outcome, Outcome::Response(_));
        lock(&shared.history).push(AsyncInvocation {
            function: name.clone(),
            payload: payload.clone(),
            delivery,
            outcome,
        });
        if succeeded {
            break;
        }
    }
    if let Some(count) = lock(&shared.in_flight).get_mut(&name) {
        *count = count.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn arns_and_names_name_the_function() {
        assert_eq!(super::function_name("stack-Import"), "stack-Import");
        assert_eq!(
            super::function_name("arn:aws:lambda:us-east-1:1:function:stack-Import:$LATEST"),
            "stack-Import"
        );
        assert_eq!(
            super::function_name("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ax"),
            "x"
        );
    }
}
