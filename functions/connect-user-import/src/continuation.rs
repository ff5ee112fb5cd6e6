//! Imports larger than one Lambda run: when a run cannot finish before its deadline it hands the
//! CloudFormation request, with its progress, to a fresh asynchronous invocation of the function,
//! as many times as needed. CloudFormation gets exactly one response, from the run that finishes
//! (or a FAILED with how far it got, when the end cannot be reached before the custom resource's
//! ServiceTimeout).
//!
//! The continuation event is the CloudFormation event itself with one more key,
//! [`CONTINUATION_KEY`]: the core routes it like the original request, and a crash of one run is
//! retried by Lambda with the same event. Nothing else needs recording: the reconciliation is a
//! diff, so a run resumes from whatever the previous runs (finished or crashed) left in Connect.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_sdk_lambda::error::{DisplayErrorContext, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use custom_resource::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Report;
use crate::limiter::LimiterState;
use crate::progress::{Earlier, Writes};

/// The key the continuation adds to the CloudFormation event.
pub const CONTINUATION_KEY: &str = "ConnectSsoContinuation";

/// CloudFormation's wait for a custom resource when the template sets no ServiceTimeout.
const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Time kept between the last run's answer and CloudFormation's ServiceTimeout: the start of the
/// first run is later than CloudFormation's clock started, and a retried run starts later still.
const SERVICE_TIMEOUT_MARGIN: Duration = Duration::from_secs(60);
/// A continuation is only worth starting with at least this much time before the overall deadline.
const SHORTEST_USEFUL_RUN: Duration = Duration::from_secs(10);

/// The most hand-ons one request may make (runs = hops + 1). Lambda's recursive-loop detection
/// may stop a chain of self-invocations after about 16 and drop the event; the template says
/// `RecursiveLoop: Allow` on the function, so this bound is the only one, and ours: a chain that
/// reaches it answers FAILED with its progress instead of being cut off silently. It is sized so
/// that the longest import CloudFormation waits for (ServiceTimeout 3600 s) fits with the
/// shortest run the template allows ([`MIN_RUN_SECONDS`]): see [`runs_needed`].
pub const MAX_HOPS: u32 = 180;
/// The template's floor on the function's Timeout (`UserImportTimeout` MinValue), in seconds.
pub const MIN_RUN_SECONDS: u64 = 30;
/// Time of a run not spent importing: the core's reserve to answer and the hand-on's.
pub const RUN_OVERHEAD: Duration = Duration::from_secs(9);

/// How many runs an import needs at most to use all of `service_timeout` when each run may
/// take `run_timeout`: each run but the last imports until its deadline, less [`RUN_OVERHEAD`].
pub fn runs_needed(service_timeout: Duration, run_timeout: Duration) -> u64 {
    let useful = run_timeout.saturating_sub(RUN_OVERHEAD).as_secs().max(1);
    service_timeout.as_secs().div_ceil(useful)
}

/// What earlier runs did, carried from run to run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Progress {
    /// Runs that ended by handing on (0 in the first run).
    pub hops: u32,
    /// When the last answer must be sent (milliseconds since the epoch): before ServiceTimeout.
    pub answer_by_ms: u64,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// When the first run started (seconds since the epoch), for the progress record's rate.
    #[serde(default)]
    pub started_at: u64,
    /// The Connect rate limiter's buckets when the last run ended: the next run paces on from
    /// them instead of spending a burst Connect has not refilled.
    #[serde(default)]
    pub limiter: LimiterState,
}

impl Progress {
    /// The progress carried by `request`, or a new one for a first run: its overall deadline is
    /// the ServiceTimeout of the request's properties (default 3600 s) less a margin.
    pub fn of(request: &Request) -> anyhow::Result<Self> {
        let event = request.original.json();
        if let Some(carried) = event.get(CONTINUATION_KEY) {
            return serde_json::from_value(carried.clone())
                .with_context(|| format!("the {CONTINUATION_KEY} of the event does not parse"));
        }
        let service_timeout = event["ResourceProperties"]
            .get("ServiceTimeout")
            .and_then(|value| match value {
                Value::String(text) => text.trim().parse::<u64>().ok(),
                other => other.as_u64(),
            })
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_SERVICE_TIMEOUT);
        let margin = SERVICE_TIMEOUT_MARGIN.min(service_timeout / 4);
        Ok(Self {
            answer_by_ms: epoch_ms() + (service_timeout - margin).as_millis() as u64,
            started_at: epoch_ms() / 1000,
            ..Self::default()
        })
    }

    /// The overall deadline on this process's clock.
    pub fn answer_by(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.answer_by_ms.saturating_sub(epoch_ms()))
    }

    /// Whether another run could still do useful work before the overall deadline, and the
    /// chain may grow by one more hop.
    pub fn room_for_another_run(&self) -> bool {
        self.hops < MAX_HOPS
            && self.answer_by_ms > epoch_ms() + SHORTEST_USEFUL_RUN.as_millis() as u64
    }

    /// Refuses (before any write) a run past the hop bound: only a forged or replayed event
    /// gets here, as no run hands on beyond it.
    pub fn within_bound(&self) -> anyhow::Result<()> {
        if self.hops > MAX_HOPS {
            anyhow::bail!(
                "the import's continuation is past its bound of {MAX_HOPS} hand-ons (this event says run {}); \
                 nothing was done in this run. So far: created {}, updated {}, deleted {}; running the update again resumes",
                self.hops + 1,
                self.created,
                self.updated,
                self.deleted
            );
        }
        Ok(())
    }

    /// Adds this run's report to what earlier runs did; users earlier runs created or updated are
    /// "unchanged" to this run, so they are taken out of that count.
    pub fn total(&self, mut report: Report) -> Report {
        report.created += self.created;
        report.updated += self.updated;
        report.deleted += self.deleted;
        report.unchanged = report.unchanged.saturating_sub(self.created + self.updated);
        report
    }

    /// The progress to carry on after a run that ended with `total`.
    pub fn next(&self, total: &Report, limiter: LimiterState) -> Self {
        Self {
            hops: self.hops + 1,
            answer_by_ms: self.answer_by_ms,
            created: total.created,
            updated: total.updated,
            deleted: total.deleted,
            started_at: self.started_at,
            limiter,
        }
    }

    /// What earlier runs did, for the progress record.
    pub fn earlier(&self) -> Earlier {
        Earlier {
            runs: self.hops,
            started_at: (self.started_at > 0).then_some(self.started_at),
            done: Writes {
                create: self.created,
                update: self.updated,
                delete: self.deleted,
            },
        }
    }

    /// The continuation event: the original CloudFormation event carrying this progress.
    pub fn event(&self, request: &Request) -> anyhow::Result<Value> {
        let mut event = request.original.json().clone();
        let Value::Object(fields) = &mut event else {
            anyhow::bail!("the request event is not a JSON object; it cannot be handed on");
        };
        fields.insert(CONTINUATION_KEY.to_owned(), serde_json::to_value(self)?);
        Ok(event)
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or_default()
}

/// How a run hands the request on.
#[derive(Clone)]
pub enum Relay {
    /// Lambda `Invoke` with InvocationType `Event` of the function itself (by name).
    Lambda {
        client: aws_sdk_lambda::Client,
        function_name: String,
    },
    /// Kept in memory (tests that run the resource in-process).
    Captured(Arc<Mutex<Vec<Value>>>),
    /// No continuation: a run that cannot finish answers FAILED (as before).
    Off,
}

impl Relay {
    /// The function itself, named by Lambda's `AWS_LAMBDA_FUNCTION_NAME`; the SDK configuration
    /// honours `AWS_ENDPOINT_URL_LAMBDA`. Off outside Lambda.
    pub fn from_env(config: &aws_config::SdkConfig) -> Self {
        match std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
            Ok(function_name) if !function_name.is_empty() => Self::Lambda {
                client: aws_sdk_lambda::Client::new(config),
                function_name,
            },
            _ => Self::Off,
        }
    }

    /// A relay that keeps the events; the events handed on so far are in the returned list.
    pub fn captured() -> (Self, Arc<Mutex<Vec<Value>>>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        (Self::Captured(Arc::clone(&events)), events)
    }

    pub fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }

    /// Hands `event` to a fresh invocation, finishing by `by` whatever happens (the core gives
    /// the run up at its deadline, and answers FAILED: a hand-on still in flight then could also
    /// start a run that answers). A single attempt: a retried Invoke could queue the event twice.
    pub async fn hand_on(&self, event: &Value, by: Instant) -> HandOn {
        match self {
            Self::Lambda {
                client,
                function_name,
            } => {
                let payload = match serde_json::to_vec(event) {
                    Ok(payload) => payload,
                    Err(error) => return HandOn::Refused(error.into()),
                };
                let time = by
                    .saturating_duration_since(Instant::now())
                    .min(HAND_ON_TIMEOUT);
                if time < SHORTEST_HAND_ON {
                    // Not sent at all: certainly not queued.
                    return HandOn::Refused(anyhow::anyhow!(
                        "no time was left to hand the import on (lambda Invoke {function_name} not attempted)"
                    ));
                }
                let invoke = client
                    .invoke()
                    .function_name(function_name)
                    .invocation_type(InvocationType::Event)
                    .payload(Blob::new(payload))
                    .customize()
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
                        // Lambda answered with an error, the request could not even be built,
                        // or no connection was made: the event was not queued. Otherwise (a
                        // timeout, a connection lost mid-way) it may have been.
                        let definite = match &error {
                            SdkError::ServiceError(_) | SdkError::ConstructionFailure(_) => true,
                            SdkError::DispatchFailure(_) => never_connected(&error),
                            _ => false,
                        };
                        let text = format!(
                            "lambda Invoke {function_name} (to continue the import): {}",
                            DisplayErrorContext(error)
                        );
                        if definite {
                            HandOn::Refused(anyhow::anyhow!(text))
                        } else {
                            HandOn::Unconfirmed(text)
                        }
                    }
                }
            }
            Self::Captured(events) => {
                events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(event.clone());
                HandOn::Accepted("a captured continuation".to_owned())
            }
            Self::Off => HandOn::Refused(anyhow::anyhow!("continuation is off")),
        }
    }
}

/// The longest a hand-on may take (Lambda's Invoke answers an asynchronous event in well under
/// a second when it is healthy).
pub const HAND_ON_TIMEOUT: Duration = Duration::from_secs(3);

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

/// Less time than this, and a hand-on is not attempted (it could not be confirmed).
const SHORTEST_HAND_ON: Duration = Duration::from_millis(200);

/// What became of a hand-on.
#[derive(Debug)]
pub enum HandOn {
    /// The event is queued for a new invocation, which answers CloudFormation: this run must not.
    Accepted(String),
    /// The event was certainly not queued: this run answers (FAILED, with how far it got).
    Refused(anyhow::Error),
    /// No confirmation either way (a timeout, a dropped connection): the event may be queued, and
    /// its run would answer. This run does not answer, so that CloudFormation can never get two.
    Unconfirmed(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use custom_resource::{OriginalEvent, RequestType};
    use serde_json::json;

    fn request(event: Value) -> Request {
        Request {
            request_type: RequestType::Create,
            stack_id: "arn:aws:cloudformation:us-east-1:1:stack/s/g".into(),
            request_id: "r".into(),
            logical_resource_id: "Users".into(),
            resource_type: "Custom::ConnectUserImport".into(),
            respond_by: Instant::now(),
            original: OriginalEvent::new(event),
        }
    }

    #[test]
    fn the_first_run_takes_its_deadline_from_the_service_timeout() {
        let before = epoch_ms();
        let first = Progress::of(&request(
            json!({"ResourceProperties": {"ServiceTimeout": "600"}}),
        ))
        .unwrap();
        assert_eq!(first.hops, 0);
        // 600 s less the 60 s margin.
        let expected = before + 540_000;
        assert!(
            (expected..expected + 1_000).contains(&first.answer_by_ms),
            "{first:?}"
        );
        let default = Progress::of(&request(json!({"ResourceProperties": {}}))).unwrap();
        assert!(default.answer_by_ms >= before + 3_540_000);
        // A short ServiceTimeout keeps a quarter as the margin.
        let short = Progress::of(&request(
            json!({"ResourceProperties": {"ServiceTimeout": 120}}),
        ))
        .unwrap();
        assert!(short.answer_by_ms >= before + 90_000 && short.answer_by_ms < before + 91_000);
    }

    #[test]
    fn progress_rides_on_the_original_event_and_adds_up() {
        let original = json!({"ResponseURL": "https://bucket/signed", "RequestType": "Create", "ResourceProperties": {}});
        let first = Progress::of(&request(original.clone())).unwrap();
        let report = Report {
            created: 40,
            unchanged: 2,
            ..Report::default()
        };
        let total = first.total(report);
        let next = first.next(&total, LimiterState::new());
        let event = next.event(&request(original)).unwrap();
        assert_eq!(event["ResponseURL"], "https://bucket/signed");
        let carried = Progress::of(&request(event)).unwrap();
        assert_eq!(carried, next);
        assert_eq!(
            (carried.hops, carried.created, carried.answer_by_ms),
            (1, 40, first.answer_by_ms)
        );
        // The next run sees those 40 as unchanged: they are counted once, as created.
        let second = carried.total(Report {
            created: 10,
            unchanged: 42,
            ..Report::default()
        });
        assert_eq!((second.created, second.unchanged), (50, 2));
    }
}
