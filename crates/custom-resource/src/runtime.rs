//! Wiring into the Lambda runtime: start-up that cannot fail silently, and events that need not be
//! valid JSON to be answered.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{LambdaEvent, LambdaInvocation, Runtime, layers::TracingLayer, service_fn};
use serde_json::Value;

use crate::CustomResource;
use crate::authority::Authority;
use crate::dispatch::{Dispatcher, Handler};
use crate::logging::init_logging;
use crate::relay::LambdaRelay;
use crate::sender::ResponseSender;

/// Runs the function: builds the resource with `init`, then serves every invocation.
///
/// If `init` fails or panics the function still serves: each CloudFormation request is answered
/// FAILED with the start-up error (so no stack waits for a function that cannot work).
pub async fn run<R, F>(init: F) -> Result<(), lambda_runtime::Error>
where
    R: CustomResource,
    F: Future<Output = anyhow::Result<R>>,
{
    init_logging();
    let handler = match AssertUnwindSafe(init).catch_unwind().await {
        Ok(Ok(resource)) => Handler::Ready(Arc::new(resource)),
        Ok(Err(error)) => start_failed(format!("{error:#}")),
        Err(_) => start_failed("start-up panicked".to_owned()),
    };
    let mut dispatcher =
        Dispatcher::new(handler, ResponseSender::default()).with_authority(Authority::from_env());
    // Only a resource that may continue carries the Lambda client (the others' binaries stay
    // without it: this branch is removed at compile time for them).
    if R::LONG_RUNNING
        && let Some(relay) = LambdaRelay::from_env()
    {
        dispatcher = dispatcher.with_relay(Arc::new(relay));
    }
    let dispatcher = Arc::new(dispatcher);
    let service = service_fn(move |event: LambdaEvent<Value>| {
        let dispatcher = Arc::clone(&dispatcher);
        async move {
            let deadline = instant_of_epoch_millis(event.context.deadline);
            // Boxed (type-erased): keeps the layout of every function's `main` future shallow.
            dispatcher
                .handle(event.payload, deadline)
                .boxed()
                .await
                .map_err(lambda_runtime::Error::from)
        }
    });
    Runtime::new(service)
        .layer(TracingLayer::new())
        .layer(AnyBodyLayer)
        .run()
        .await
}

fn start_failed<R>(error: String) -> Handler<R> {
    tracing::error!(%error, "start-up failed; every request will be answered FAILED");
    Handler::StartFailed(error)
}

/// Lambda's deadline (epoch milliseconds) as an `Instant` on this process's clock.
fn instant_of_epoch_millis(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or_default();
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// Turns a body that is not JSON into a JSON string holding its text, so the handler still runs
/// and can look for a ResponseURL in it (the runtime would otherwise reject it before any code of
/// ours sees it, and CloudFormation would wait an hour).
struct AnyBodyLayer;

impl<S> Layer<S> for AnyBodyLayer {
    type Service = AnyBody<S>;

    fn layer(&self, inner: S) -> AnyBody<S> {
        AnyBody(inner)
    }
}

struct AnyBody<S>(S);

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for AnyBody<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(context)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        if serde_json::from_slice::<serde::de::IgnoredAny>(&invocation.body).is_err() {
            let text = String::from_utf8_lossy(&invocation.body).into_owned();
            invocation.body = serde_json::to_vec(&Value::String(text))
                .unwrap_or_default()
                .into();
        }
        self.0.call(invocation)
    }
}
