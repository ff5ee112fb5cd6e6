//! How failed calls are retried. The SDK's retry does the work (backoff, jitter); this module
//! only tunes it:
//! - Connect: standard mode (the SDK's adaptive mode would slow every later call after one
//!   throttle; our own limiter paces instead, and [`ThrottleFeedback`] tells it of a throttle);
//!   `LimitExceededException` (the users-per-instance quota, also HTTP 429) is never retried,
//!   although the SDK counts it as throttling.
//! - Identity store: its `ThrottlingException` says when to come back in a `RetryAfterSeconds`
//!   body field, which the SDK does not read (it reads only `x-amz-retry-after`).
//!
//! Each call is also bounded by the request's deadline (see `connect::Connect::call`).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_connect::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    FinalizerInterceptorContextRef, InterceptorContext,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::ErrorKind;

use crate::limiter::RateLimiter;

/// Attempts per call, the first included. High because Connect answers 429 often at 2 rps and
/// 5xx are transient; the deadline, not this number, bounds the total time.
pub const MAX_ATTEMPTS: u32 = 10;

pub fn connect_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(250))
        .with_max_backoff(Duration::from_secs(8))
}

pub fn identity_store_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(250))
        .with_max_backoff(Duration::from_secs(20))
}

/// A partition of the client's own: its adaptive rate and retry budget are not shared with
/// other clients in the process. The retry budget is unlimited because our own rate limiter and
/// the deadline already bound the calls; the default budget (100 retries' worth) runs dry on a
/// large import at 2 requests per second, failing calls that would have succeeded.
pub fn retry_partition(name: &'static str) -> RetryPartition {
    RetryPartition::custom(name)
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// Runs after the SDK's classifiers and forbids retrying `LimitExceededException`.
#[derive(Debug, Default)]
pub struct NoRetryOnLimitExceeded;

impl ClassifyRetry for NoRetryOnLimitExceeded {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(_)) if error_code(ctx).as_deref() == Some("LimitExceededException") => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "No retry on LimitExceededException"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// Tells the rate limiter of each attempt Connect throttled, so that the pacing backs off
/// (the SDK retries the call itself).
#[derive(Debug)]
pub struct ThrottleFeedback {
    pub limiter: Arc<RateLimiter>,
}

impl Intercept for ThrottleFeedback {
    fn name(&self) -> &'static str {
        "Throttles slow the rate limiter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let throttled = context.response().is_some_and(|response| {
            response.status().as_u16() == 429
                && response_error_code(response).as_deref() != Some("LimitExceededException")
        });
        if throttled && let Some(metadata) = cfg.load::<Metadata>() {
            self.limiter.throttled(metadata.name());
        }
        Ok(())
    }
}

/// Runs after the SDK's classifiers and retries an identity-store throttle after the time it
/// asks for.
#[derive(Debug, Default)]
pub struct HonourRetryAfterSeconds;

impl ClassifyRetry for HonourRetryAfterSeconds {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(_)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        if error_code(ctx).as_deref() != Some("ThrottlingException") {
            return RetryAction::NoActionIndicated;
        }
        match ctx
            .response()
            .and_then(|response| response.body().bytes())
            .and_then(retry_after_seconds)
        {
            Some(delay) => {
                RetryAction::retryable_error_with_explicit_delay(ErrorKind::ThrottlingError, delay)
            }
            None => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "Identity store RetryAfterSeconds"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// The error code of an AWS JSON or REST-JSON error response: the `x-amzn-errortype` header or
/// the body's `__type` / `code`, without namespace or URI decorations.
fn error_code(ctx: &InterceptorContext) -> Option<String> {
    response_error_code(ctx.response()?)
}

fn response_error_code(response: &HttpResponse) -> Option<String> {
    let from_header = response
        .headers()
        .get("x-amzn-errortype")
        .map(str::to_owned);
    let from_body = || {
        let body: serde_json::Value = serde_json::from_slice(response.body().bytes()?).ok()?;
        ["__type", "code", "Code"]
            .iter()
            .find_map(|key| body.get(key)?.as_str().map(str::to_owned))
    };
    from_header
        .or_else(from_body)
        .map(|code| sanitize_error_code(&code))
}

pub fn sanitize_error_code(code: &str) -> String {
    let code = code.split(':').next().unwrap_or(code);
    code.rsplit('#').next().unwrap_or(code).trim().to_owned()
}

/// `RetryAfterSeconds` of an identity-store error body.
pub fn retry_after_seconds(body: &[u8]) -> Option<Duration> {
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    let seconds = body.get("RetryAfterSeconds")?.as_f64()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(300.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_lose_their_decorations() {
        assert_eq!(
            sanitize_error_code("ThrottlingException"),
            "ThrottlingException"
        );
        assert_eq!(
            sanitize_error_code(
                "LimitExceededException:http://internal.amazon.com/coral/com.amazonaws.connect/"
            ),
            "LimitExceededException"
        );
        assert_eq!(
            sanitize_error_code("com.amazonaws.identitystore#ThrottlingException"),
            "ThrottlingException"
        );
    }

    #[test]
    fn retry_after_seconds_is_read_from_the_body() {
        let body =
            br#"{"__type":"ThrottlingException","Message":"Rate exceeded","RetryAfterSeconds":3}"#;
        assert_eq!(retry_after_seconds(body), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after_seconds(br#"{"__type":"ThrottlingException"}"#),
            None
        );
        assert_eq!(retry_after_seconds(b"not json"), None);
        assert_eq!(retry_after_seconds(br#"{"RetryAfterSeconds":-1}"#), None);
    }
}
