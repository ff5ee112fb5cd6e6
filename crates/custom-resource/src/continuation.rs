//! Work longer than one Lambda run: a handler returns [`Step::Continue`] and the core runs it
//! again in a fresh invocation of the function, as many times as needed, within the time
//! CloudFormation waits (the custom resource's `ServiceTimeout`, at most an hour) and a bound on
//! the hops. CloudFormation gets exactly one answer: from the run that finishes, from the run
//! that asked to answer early ([`Continuation::answering`]), or FAILED with the handler's progress
//! when the chain cannot go on. See `docs/long-running-work.md`.
//!
//! The hop event is the CloudFormation event with one more key, [`CONTINUATION_KEY`]. Once
//! CloudFormation has been answered, hops go on "in the background": their event carries no
//! ResponseURL, so no later run can answer again.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Failure, Outcome};

/// The key the core adds to the CloudFormation event it hands to the next run.
pub const CONTINUATION_KEY: &str = "CustomResourceContinuation";

/// The most hand-ons before CloudFormation is answered (runs = hops + 1). Lambda's recursive-loop
/// detection may stop a chain of self-invocations after about 16 and drop the event; a function
/// that continues says `RecursiveLoop: Allow` in the template, so this bound is the only one, and
/// ours: a chain that reaches it answers FAILED with its progress instead of being cut off
/// silently. Sized so that CloudFormation's longest wait (3600 s) fits in runs of 30 s
/// ([`runs_needed`]).
pub const MAX_HOPS: u32 = 180;

/// The most hand-ons of a whole chain, background included (after an early answer the chain
/// may run past the hour): a chain that reaches it stops, logged.
pub const MAX_BACKGROUND_HOPS: u32 = 2_000;

/// CloudFormation's wait for a custom resource when the template sets no ServiceTimeout.
const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Time kept between the last run's answer and the ServiceTimeout: the first run starts later than
/// CloudFormation's clock did, and a retried run later still.
const SERVICE_TIMEOUT_MARGIN: Duration = Duration::from_secs(60);
/// A run is only worth starting with at least this much time before the overall deadline.
pub(crate) const SHORTEST_USEFUL_RUN: Duration = Duration::from_secs(10);

/// Time kept at the end of each run of a resource that may continue, to hand on: the hand-on's
/// own bound ([`crate::relay::HAND_ON_TIMEOUT`]) plus room for calls still in flight.
pub(crate) const HAND_ON_RESERVE: Duration = Duration::from_secs(5);

/// Time of a run not spent on the work: the core's reserve to answer and the hand-on's.
pub const RUN_OVERHEAD: Duration = Duration::from_secs(9);

/// How many runs a chain needs at most to use all of `service_timeout` when each run may take
/// `run_timeout`: each run but the last works until its deadline, less [`RUN_OVERHEAD`].
pub fn runs_needed(service_timeout: Duration, run_timeout: Duration) -> u64 {
    let useful = run_timeout.saturating_sub(RUN_OVERHEAD).as_secs().max(1);
    service_timeout.as_secs().div_ceil(useful)
}

/// What a handler's run came to, when it did not fail: done, or to be continued.
/// `T` is what "done" carries: an [`Outcome`] for a Create or Update, `()` for a Delete.
#[derive(Debug)]
pub enum Step<T = Outcome> {
    /// Finished: CloudFormation is answered SUCCESS (with the outcome).
    Done(T),
    /// Not finished in this run: the core runs the handler again in a new invocation.
    Continue(Continuation),
}

impl<T> From<T> for Step<T> {
    fn from(done: T) -> Self {
        Self::Done(done)
    }
}

/// Where a request stands at the end of a run that did not finish, and what the next run needs.
#[derive(Debug)]
pub struct Continuation {
    pub(crate) physical_resource_id: String,
    pub(crate) state: Value,
    pub(crate) progress: String,
    /// `Some`: answer CloudFormation SUCCESS with this now, and go on in the background.
    pub(crate) answer_now: Option<Outcome>,
}

impl Continuation {
    /// Runs the handler again in a new invocation; [`crate::Request::state`] gives it `state`.
    ///
    /// `physical_resource_id` names what exists so far: if the chain cannot go on (the hop bound,
    /// the ServiceTimeout, the hand-on refused), a Create is answered FAILED with it (so the
    /// rollback's Delete removes what was made) and the Reason carries `progress`, which says in
    /// a line what is done and what remains.
    pub fn new(
        physical_resource_id: impl Into<String>,
        state: &impl Serialize,
        progress: impl Into<String>,
    ) -> Result<Self, Failure> {
        Ok(Self {
            physical_resource_id: physical_resource_id.into(),
            state: serde_json::to_value(state)
                .map_err(|error| anyhow::anyhow!("the continuation's state: {error}"))?,
            progress: progress.into(),
            answer_now: None,
        })
    }

    /// Answers CloudFormation SUCCESS with `outcome` now and continues in the background, under a
    /// guard: each later run goes on only while the stack is still in the operation that was
    /// answered (in progress or complete); an update, a rollback or a delete stops the chain.
    /// No later run ever answers CloudFormation again.
    pub fn answering(
        outcome: Outcome,
        state: &impl Serialize,
        progress: impl Into<String>,
    ) -> Result<Self, Failure> {
        let mut continuation = Self::new(outcome.physical_resource_id.clone(), state, progress)?;
        continuation.answer_now = Some(outcome);
        Ok(continuation)
    }
}

/// What a hop event carries from run to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Carried {
    /// Runs that ended by handing on (0 in the first run).
    pub hops: u32,
    /// When the last answer must be sent (milliseconds since the epoch), before the ServiceTimeout.
    pub answer_by_ms: u64,
    /// The handler's state.
    #[serde(default)]
    pub state: Value,
    /// The handler's progress at the end of the previous run.
    #[serde(default)]
    pub progress: String,
    /// Set once CloudFormation has been answered: the stack operation the answer belonged to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<Background>,
}

/// A chain that goes on after CloudFormation was answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Background {
    /// The operation answered (`None` only in-process, where no stack is read).
    pub operation: Option<stack_sync::OperationId>,
    /// The physical id answered: a hop goes on only while the resource still has it.
    pub physical_resource_id: String,
}

impl Carried {
    /// The first run of a request: the overall deadline is its ServiceTimeout (from the
    /// properties, default 3600 s) less a margin, from now.
    pub fn first(properties: &Value) -> Self {
        let service_timeout = properties
            .get("ServiceTimeout")
            .and_then(|value| match value {
                Value::String(text) => text.trim().parse::<u64>().ok(),
                other => other.as_u64(),
            })
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_SERVICE_TIMEOUT);
        let margin = SERVICE_TIMEOUT_MARGIN.min(service_timeout / 4);
        Self {
            hops: 0,
            answer_by_ms: epoch_ms() + (service_timeout - margin).as_millis() as u64,
            state: Value::Null,
            progress: String::new(),
            background: None,
        }
    }

    /// The overall deadline on this process's clock.
    pub fn answer_by(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.answer_by_ms.saturating_sub(epoch_ms()))
    }

    /// Why the chain may not grow by one more hop, `None` when it may.
    pub fn no_room(&self) -> Option<String> {
        if self.background.is_some() {
            return (self.hops >= MAX_BACKGROUND_HOPS).then(|| {
                format!("reached the continuation's bound of {MAX_BACKGROUND_HOPS} hand-ons")
            });
        }
        if self.hops >= MAX_HOPS {
            return Some(format!(
                "reached the continuation's bound of {MAX_HOPS} hand-ons"
            ));
        }
        if self.answer_by_ms <= epoch_ms() + SHORTEST_USEFUL_RUN.as_millis() as u64 {
            return Some("could not finish before the custom resource's ServiceTimeout".to_owned());
        }
        None
    }

    /// Refuses (before the handler runs) a run past the bound: only a forged or replayed event
    /// gets here, as no run hands on beyond it.
    pub fn past_bound(&self) -> Option<String> {
        let bound = if self.background.is_some() {
            MAX_BACKGROUND_HOPS
        } else {
            MAX_HOPS
        };
        (self.hops > bound).then(|| {
            format!(
                "the continuation is past its bound of {bound} hand-ons (this event says run {}); nothing was done \
                 in this run. So far: {}",
                self.hops + 1,
                self.progress
            )
        })
    }

    /// What the next run gets after this one ended with `continuation`.
    pub fn next(&self, continuation: &Continuation, background: Option<Background>) -> Self {
        Self {
            hops: self.hops + 1,
            answer_by_ms: self.answer_by_ms,
            state: continuation.state.clone(),
            progress: continuation.progress.clone(),
            background: background.or_else(|| self.background.clone()),
        }
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_run_takes_its_deadline_from_the_service_timeout() {
        let before = epoch_ms();
        let first = Carried::first(&json!({"ServiceTimeout": "600"}));
        assert_eq!(first.hops, 0);
        // 600 s less the 60 s margin.
        let expected = before + 540_000;
        assert!(
            (expected..expected + 1_000).contains(&first.answer_by_ms),
            "{first:?}"
        );
        let default = Carried::first(&json!({}));
        assert!(default.answer_by_ms >= before + 3_540_000);
        // A short ServiceTimeout keeps a quarter as the margin.
        let short = Carried::first(&json!({"ServiceTimeout": 120}));
        assert!(short.answer_by_ms >= before + 90_000 && short.answer_by_ms < before + 91_000);
    }

    #[test]
    fn the_chain_stops_at_its_bound_and_before_the_service_timeout() {
        let mut carried = Carried::first(&json!({"ServiceTimeout": "3600"}));
        assert_eq!(carried.no_room(), None);
        carried.hops = MAX_HOPS;
        assert!(carried.no_room().unwrap().contains("bound of 180"));
        assert_eq!(carried.past_bound(), None);
        carried.hops = MAX_HOPS + 1;
        carried.progress = "created 7".into();
        let past = carried.past_bound().unwrap();
        assert!(
            past.contains("nothing was done") && past.contains("created 7"),
            "{past}"
        );
        let late = Carried::first(&json!({"ServiceTimeout": "8"}));
        assert!(late.no_room().unwrap().contains("ServiceTimeout"));
        // In the background the ServiceTimeout no longer applies, a bound of its own does.
        let background = Carried {
            background: Some(Background {
                operation: None,
                physical_resource_id: "p".into(),
            }),
            hops: MAX_HOPS + 5,
            ..late
        };
        assert_eq!(background.no_room(), None);
        assert_eq!(background.past_bound(), None);
    }
}
