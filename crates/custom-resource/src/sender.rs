//! The response PUT to the pre-signed ResponseURL: status-checked, retried, bounded by the deadline.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable;
use https_client::retry;

use crate::logging::redact_url;

/// Shortest time worth an attempt: with less left before the deadline, none is made.
const SHORTEST_ATTEMPT: Duration = Duration::from_millis(50);
/// The longest wait between two attempts (the deadline usually ends the retries first).
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// How hard to try to deliver a response.
#[derive(Debug, Clone)]
pub struct SendPolicy {
    pub max_attempts: u32,
    /// Ceiling of the wait before the second attempt; doubled each time, with full jitter.
    pub first_backoff: Duration,
    pub connect_timeout: Duration,
    /// Upper bound for one attempt (always also bounded by the deadline).
    pub attempt_timeout: Duration,
}

impl Default for SendPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            first_backoff: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

/// Sends response bodies; the HTTP client is built on first use, keeping it off the cold start.
#[derive(Debug, Default)]
pub struct ResponseSender {
    policy: SendPolicy,
    client: OnceLock<reqwest::Client>,
}

/// A failed delivery, after every attempt the deadline allowed.
#[derive(Debug)]
pub struct DeliveryFailed {
    pub attempts: u32,
    pub last_error: String,
}

impl std::fmt::Display for DeliveryFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the response could not be delivered after {} attempt(s): {}",
            self.attempts, self.last_error
        )
    }
}

impl std::error::Error for DeliveryFailed {}

impl ResponseSender {
    pub fn new(policy: SendPolicy) -> Self {
        Self {
            policy,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = https_client::reqwest_builder()
            .connect_timeout(self.policy.connect_timeout)
            // Pre-signed URLs are never redirected; following one would leak the signature.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("could not build the HTTP client: {error}"))?;
        Ok(self.client.get_or_init(|| client))
    }

    /// PUTs `body` to `url` exactly as given, with no Content-Type, until a 2xx answer, the
    /// attempts run out, or `deadline` would be passed. Returns the number of attempts used.
    pub async fn send(
        &self,
        url: &str,
        body: Vec<u8>,
        deadline: Instant,
    ) -> Result<u32, DeliveryFailed> {
        let client = self.client().map_err(|last_error| DeliveryFailed {
            attempts: 0,
            last_error,
        })?;
        let target = redact_url(url);
        if deadline.saturating_duration_since(Instant::now()) < SHORTEST_ATTEMPT {
            return Err(DeliveryFailed {
                attempts: 0,
                last_error: "the deadline had already passed".to_owned(),
            });
        }
        let attempts = AtomicU32::new(0);
        let put = || async {
            let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = client
                .put(url)
                .timeout(remaining.min(self.policy.attempt_timeout))
                .body(body.clone())
                .send()
                .await;
            match outcome {
                Ok(reply) if reply.status().is_success() => {
                    tracing::info!(target_url = %target, attempts = attempt, status = reply.status().as_u16(), bytes = body.len(), "response delivered");
                    Ok(attempt)
                }
                Ok(reply) => Err(format!("HTTP {}", reply.status())),
                Err(error) => Err(describe(&error)),
            }
        };
        let retries = self.policy.max_attempts.saturating_sub(1) as usize;
        let delays = retry::jittered(self.policy.first_backoff, LONGEST_WAIT, retries);
        put.retry(retry::until(delays, deadline, SHORTEST_ATTEMPT))
        .notify(|last_error, _| {
            tracing::warn!(target_url = %target, attempt = attempts.load(Ordering::Relaxed), error = %last_error, "response PUT failed");
        })
        .await
        .map_err(|last_error| {
            tracing::warn!(target_url = %target, attempt = attempts.load(Ordering::Relaxed), error = %last_error, "response PUT failed; giving up (no attempt left, or no time for one)");
            DeliveryFailed {
                attempts: attempts.load(Ordering::Relaxed),
                last_error,
            }
        })
    }
}

/// A transport error without the URL (which reqwest includes, signature and all).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_request() || error.is_body() {
        "connection lost"
    } else {
        "transport error"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}
