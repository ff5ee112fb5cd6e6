//! One request, one answer: routing, the deadline and panic guards, and the response.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::Instrument;

use stack_sync::OperationId;

use crate::authority::{Authority, Refusal};
use crate::continuation::{
    Background, CONTINUATION_KEY, Carried, Continuation, HAND_ON_RESERVE, Step,
};
use crate::envelope::{Envelope, Event, RequestType};
use crate::relay::{HandOn, Relay};
use crate::response::{Answer, render};
use crate::sender::ResponseSender;
use crate::{CustomResource, Failure, Outcome, Owner, Request, Update, properties};

/// A background run's way to ask again whether the stack is still in the operation answered.
pub(crate) struct StillAnswered {
    authority: Arc<Authority>,
    envelope: Envelope,
    background: Background,
}

impl StillAnswered {
    /// Why the background work must stop (see [`Request::stop_reason`]); a failed check stops it
    /// too.
    pub async fn stop_reason(&self) -> Option<String> {
        Box::pin(self.authority.check_background(
            &self.envelope,
            &self.background,
            STILL_ANSWERED_WAIT,
        ))
        .await
        .err()
    }
}

impl std::fmt::Debug for StillAnswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StillAnswered")
            .field("background", &self.background)
            .finish_non_exhaustive()
    }
}

/// How long a between-batch check may wait for CloudFormation.
const STILL_ANSWERED_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Physical ids of this prefix are answered to failed Creates; a Delete of one succeeds at once.
pub const FAILED_CREATE_MARKER_PREFIX: &str = "custom-resource:create-failed:";

/// How long before the Lambda deadline the handler is given up, so that a FAILED can still be
/// delivered: a cold TLS handshake at 128 MB takes about 0.75 s, and a retry or two must fit.
const RESPONSE_RESERVE: Duration = Duration::from_secs(4);

/// How long before the deadline the last response attempt must be finished.
const DELIVERY_MARGIN: Duration = Duration::from_millis(100);

/// A hand-on ends this long before the deadline for answering.
const HAND_ON_MARGIN: Duration = Duration::from_millis(250);

/// CloudFormation's limit on a physical resource id.
const MAX_PHYSICAL_ID_BYTES: usize = 1024;

pub fn is_failed_create_marker(physical_resource_id: &str) -> bool {
    physical_resource_id.starts_with(FAILED_CREATE_MARKER_PREFIX)
}

fn failed_create_marker(envelope: &Envelope) -> String {
    format!(
        "{FAILED_CREATE_MARKER_PREFIX}{}:{}",
        envelope.logical_resource_id, envelope.request_id
    )
}

/// What becomes of a request in one run.
enum Decision {
    /// Answer CloudFormation; with `then`, hand this background hop on once the answer is in.
    Answer { answer: Answer, then: Option<Value> },
    /// Another invocation took the request on (or may have): this run does not answer.
    HandedOn,
    /// A background hop ended (finished, failed, stopped): nothing to answer, the log says why.
    Ended,
}

impl Decision {
    fn answer(answer: Answer) -> Self {
        Self::Answer { answer, then: None }
    }
}

/// The function's handler, or why it could not be built.
pub(crate) enum Handler<R> {
    Ready(Arc<R>),
    StartFailed(String),
}

pub(crate) struct Dispatcher<R> {
    handler: Handler<R>,
    sender: ResponseSender,
    /// The checks that the event comes from this stack's CloudFormation; `None` only for
    /// in-process runs that send nothing ([`crate::response_document`]).
    authority: Option<Arc<Authority>>,
    /// How a long-running resource's request is handed on; `None`: it cannot be.
    relay: Option<Arc<dyn Relay>>,
}

/// The parts of one run the core decides before the handler runs.
struct Run<'a> {
    envelope: &'a Envelope,
    /// What earlier runs handed on (a fresh one in the first run).
    carried: Carried,
    /// When the time kept to answer begins (fixed once per run): the handler is stopped then,
    /// and a hand-on ends before it.
    reserve_from: Instant,
    /// The stack operation CloudFormation is in (read by the authority check; `None` in-process).
    operation: Option<OperationId>,
}

impl<R: CustomResource> Dispatcher<R> {
    pub fn new(handler: Handler<R>, sender: ResponseSender) -> Self {
        Self {
            handler,
            sender,
            authority: None,
            relay: None,
        }
    }

    /// Obeys only events this stack's CloudFormation could have sent (see [`Authority`]).
    pub fn with_authority(self, authority: Authority) -> Self {
        Self {
            authority: Some(Arc::new(authority)),
            ..self
        }
    }

    /// Hands long-running requests on through `relay`.
    pub fn with_relay(self, relay: Arc<dyn Relay>) -> Self {
        Self {
            relay: Some(relay),
            ..self
        }
    }

    /// Serves one invocation. A CloudFormation request is answered at its ResponseURL; the
    /// result is an error only when that answer could not be delivered (so Lambda retries).
    pub async fn handle(&self, event: Value, deadline: Instant) -> anyhow::Result<Value> {
        match Event::classify(event) {
            Event::CloudFormation(envelope) => {
                let span = request_span(&envelope);
                async {
                    let operation = match self.authorise(&envelope, deadline).await {
                        Ok(operation) => operation,
                        Err(refusal) => return self.refuse(&envelope, refusal, deadline).await,
                    };
                    self.answer(*envelope, deadline, operation).await?;
                    Ok(Value::Null)
                }
                .instrument(span)
                .await
            }
            Event::Background(envelope) => {
                let span = request_span(&envelope);
                self.background(*envelope, deadline).instrument(span).await
            }
            Event::Unanswerable(why) => {
                tracing::error!(problem = %why, "event cannot be answered");
                Err(anyhow::anyhow!(why))
            }
            Event::Other(event) => self.other_event(event, deadline).await,
        }
    }

    async fn authorise(
        &self,
        envelope: &Envelope,
        deadline: Instant,
    ) -> Result<Option<OperationId>, Refusal> {
        let Some(authority) = &self.authority else {
            return Ok(None);
        };
        authority.check_envelope(envelope)?;
        // Boxed: the SDK's futures are deep, and this one sits inside every function's `main`.
        // The refusal, too, must be answered before the deadline: wait no longer than the handler
        // could have worked.
        let wait = respond_by(deadline).saturating_duration_since(Instant::now());
        Box::pin(authority.check_stack_status(envelope, wait))
            .await
            .map(Some)
    }

    /// Nothing is done for a refused event. The refusal is PUT to the ResponseURL only when that
    /// is CloudFormation's (a forged event's URL is the forger's choice); the invocation's result
    /// says why either way.
    async fn refuse(
        &self,
        envelope: &Envelope,
        refusal: Refusal,
        deadline: Instant,
    ) -> anyhow::Result<Value> {
        tracing::error!(reason = %refusal.reason, answered = refusal.answer, "event refused");
        if !refusal.answer {
            anyhow::bail!(refusal.reason);
        }
        let (body, _) = render(
            envelope,
            Answer::failed(failed_id(envelope), refusal.reason.clone()),
        );
        let delivery_deadline = deadline.checked_sub(DELIVERY_MARGIN).unwrap_or(deadline);
        self.sender
            .send(&envelope.response_url, body, delivery_deadline)
            .await
            .map_err(|failure| {
                anyhow::anyhow!(
                    "{}; the refusal was not delivered: {failure}",
                    refusal.reason
                )
            })?;
        Ok(serde_json::json!({"Refused": refusal.reason}))
    }

    /// A hop after CloudFormation was answered: it goes on only while the stack is still in the
    /// operation answered, and whatever becomes of it, nothing is answered.
    async fn background(&self, mut envelope: Envelope, deadline: Instant) -> anyhow::Result<Value> {
        if !R::LONG_RUNNING {
            tracing::error!(
                "background continuation refused, nothing done: this function never continues"
            );
            anyhow::bail!(
                "background continuation refused, nothing done: this function never continues"
            );
        }
        let Some(background) = envelope
            .carried
            .as_ref()
            .and_then(|carried| carried.background.clone())
        else {
            let why = envelope
                .carried_unreadable
                .clone()
                .unwrap_or_else(|| "it carries no continuation".to_owned());
            tracing::error!(reason = %why, "background continuation refused, nothing done");
            anyhow::bail!("background continuation refused, nothing done: {why}");
        };
        if let Some(authority) = &self.authority {
            let wait = respond_by(deadline).saturating_duration_since(Instant::now());
            match Box::pin(authority.check_background(&envelope, &background, wait)).await {
                Ok(stack_set) => {
                    envelope.properties = stack_set;
                    envelope.old_properties = None;
                }
                Err(why) => {
                    tracing::warn!(reason = %why, "background continuation stopped, nothing done");
                    return Ok(serde_json::json!({"Stopped": why}));
                }
            }
        }
        match self.decide(&envelope, deadline, None).await {
            Decision::Answer { answer, .. } => {
                // Only a refusal before the handler ran comes here (a hop past its bound).
                tracing::error!(reason = %answer.reason, "background continuation stopped, nothing done");
                Ok(serde_json::json!({"Stopped": answer.reason}))
            }
            Decision::HandedOn | Decision::Ended => Ok(Value::Null),
        }
    }

    /// Decides what one run comes to, and answers nothing: for in-process runs.
    pub async fn in_process(
        &self,
        event: Value,
        deadline: Instant,
    ) -> anyhow::Result<crate::InProcessRun> {
        let envelope = match Event::classify(event) {
            Event::CloudFormation(envelope) | Event::Background(envelope) => envelope,
            Event::Unanswerable(why) => anyhow::bail!(why),
            Event::Other(_) => anyhow::bail!("not a CloudFormation request (no ResponseURL)"),
        };
        if envelope
            .carried
            .as_ref()
            .is_some_and(|c| c.background.is_some())
        {
            self.decide(&envelope, deadline, None).await;
            return Ok(crate::InProcessRun::default());
        }
        let mut ran = crate::InProcessRun::default();
        if let Decision::Answer { answer, then } = self.decide(&envelope, deadline, None).await {
            ran.answer = Some(serde_json::from_slice(&render(&envelope, answer).0)?);
            if let Some(next) = then {
                self.hand_on_background(&next, deadline).await;
            }
        }
        Ok(ran)
    }

    async fn answer(
        &self,
        envelope: Envelope,
        deadline: Instant,
        operation: Option<OperationId>,
    ) -> anyhow::Result<()> {
        tracing::info!(
            physical_resource_id = envelope.physical_resource_id.as_deref(),
            "request received"
        );
        let (answer, then) = match self.decide(&envelope, deadline, operation).await {
            Decision::Answer { answer, then } => (answer, then),
            Decision::HandedOn | Decision::Ended => return Ok(()),
        };
        let (body, sent) = render(&envelope, answer);
        tracing::info!(
            status = if sent.success { "SUCCESS" } else { "FAILED" },
            reason = %sent.reason,
            physical_resource_id = %sent.physical_resource_id,
            "responding"
        );
        let delivery_deadline = deadline.checked_sub(DELIVERY_MARGIN).unwrap_or(deadline);
        match self
            .sender
            .send(&envelope.response_url, body, delivery_deadline)
            .await
        {
            Ok(_) => {
                // Only once the answer is in: a failed delivery is retried by Lambda with the
                // same event, whose run decides again.
                if let Some(next) = then {
                    self.hand_on_background(&next, delivery_deadline).await;
                }
                Ok(())
            }
            Err(failure) => {
                tracing::error!(error = %failure, "response not delivered");
                Err(failure.into())
            }
        }
    }

    /// Hands a background hop on after the answer; a failure stops the chain (logged): the
    /// answer is given, and a later deployment or sync picks the work up.
    async fn hand_on_background(&self, event: &Value, by: Instant) {
        let Some(relay) = &self.relay else {
            tracing::error!(
                "the work cannot continue in the background: this function cannot hand on"
            );
            return;
        };
        match relay.hand_on(event, by).await {
            HandOn::Accepted(to_whom) => {
                tracing::info!(%to_whom, "answered; continuing in the background in a new invocation");
            }
            HandOn::Unconfirmed(why) | HandOn::Refused(why) => {
                tracing::error!(problem = %why, "answered, but the background continuation may not have been handed on");
            }
        }
    }

    /// The run's decision: the handler's step or failure, or why the handler did not run.
    async fn decide(
        &self,
        envelope: &Envelope,
        deadline: Instant,
        operation: Option<OperationId>,
    ) -> Decision {
        let (handler, carried) = match self.ready(envelope) {
            Ok(ready) => ready,
            Err(answer) => return Decision::answer(answer),
        };
        let background = carried.background.is_some();
        let run = Run {
            envelope,
            carried,
            reserve_from: respond_by(deadline),
            operation,
        };
        let result = self.run_handler(handler, &run).await;
        let sensitive = sensitive_values::<R>(envelope);
        let failed_id = failed_id(envelope);
        let mut decision = match result {
            Ok(Ok(Step::Done(outcome))) => Decision::answer(succeeded(outcome, failed_id)),
            Ok(Ok(Step::Continue(continuation))) => self.go_on(&run, continuation).await,
            Ok(Err(failure)) => {
                let physical_resource_id = match &failure {
                    Failure::PartiallyCreated {
                        physical_resource_id,
                        ..
                    } if envelope.request_type == RequestType::Create => {
                        physical_resource_id.clone()
                    }
                    _ => failed_id,
                };
                Decision::answer(Answer::failed(
                    physical_resource_id,
                    format!("{:#}", failure.error()),
                ))
            }
            Err(problem) => Decision::answer(Answer::failed(failed_id, problem)),
        };
        // Whatever the Reason quotes (the error, a panic, the handler's progress).
        if let Decision::Answer { answer, .. } = &mut decision
            && !answer.success
        {
            answer.reason = scrub(std::mem::take(&mut answer.reason), &sensitive);
        }
        if background {
            return after_background(decision);
        }
        decision
    }

    /// The handler and what earlier runs handed on, or the answer given without running it.
    fn ready(&self, envelope: &Envelope) -> Result<(Arc<R>, Carried), Answer> {
        let failed_id = failed_id(envelope);
        let background = envelope
            .carried
            .as_ref()
            .is_some_and(|carried| carried.background.is_some());
        let nothing_to_delete = envelope.request_type == RequestType::Delete
            && envelope
                .physical_resource_id
                .as_deref()
                .is_none_or(is_failed_create_marker);
        if nothing_to_delete && !background {
            return Err(Answer::succeeded(
                failed_id,
                "nothing to delete: the Create of this resource failed",
            ));
        }
        let handler = match &self.handler {
            Handler::Ready(handler) => Arc::clone(handler),
            Handler::StartFailed(error) => {
                return Err(Answer::failed(
                    failed_id,
                    format!("the function could not start: {error}"),
                ));
            }
        };
        let refusal = match &envelope.request_type {
            RequestType::Unknown(other) => Some(format!(
                "unsupported RequestType {other}: expected Create, Update or Delete"
            )),
            _ if envelope.carried.is_some() && !R::LONG_RUNNING => Some(format!(
                "refused, nothing done: the event carries a {CONTINUATION_KEY}, and this function never continues"
            )),
            _ => envelope
                .carried_unreadable
                .as_ref()
                .map(|problem| format!("refused, nothing done: {problem}")),
        };
        let carried = envelope
            .carried
            .clone()
            .unwrap_or_else(|| Carried::first(&envelope.properties));
        match refusal.or_else(|| carried.past_bound()) {
            Some(reason) => Err(Answer::failed(failed_id, reason)),
            None => Ok((handler, carried)),
        }
    }

    /// Runs the handler until it returns or the deadline for answering comes (then it is
    /// stopped); a panic or that deadline is the error.
    async fn run_handler(
        &self,
        handler: Arc<R>,
        run: &Run<'_>,
    ) -> Result<Result<Step, Failure>, String> {
        let answer_by = run.reserve_from;
        let request = Request {
            request_type: run.envelope.request_type.clone(),
            owner: Owner::new(&run.envelope.stack_id, &run.envelope.logical_resource_id),
            request_id: run.envelope.request_id.clone(),
            resource_type: run.envelope.resource_type.clone(),
            respond_by: self.work_until(run, answer_by),
            carried: run.envelope.carried.clone(),
            answer_by: run
                .carried
                .background
                .is_none()
                .then(|| run.carried.answer_by()),
            still_answered: self.still_answered(run),
        };
        let mut work = tokio::spawn(perform(handler, request, run.envelope.clone()));
        tokio::select! {
            joined = &mut work => joined.map_err(|join_error| {
                let message = join_error
                    .try_into_panic()
                    .map(panic_message)
                    .unwrap_or_else(|_| "cancelled".to_owned());
                format!("the function panicked: {message}")
            }),
            () = tokio::time::sleep_until(answer_by.into()) => {
                // Dropping the work here means no late success can follow this FAILED.
                work.abort();
                Err("timed out: the operation did not finish before the function's deadline; \
                    it was stopped so that this answer could still be delivered (raise the function's Timeout, or check the logs)".to_owned())
            }
        }
    }

    /// For a background run: the check the handler can repeat between batches of writes.
    fn still_answered(&self, run: &Run<'_>) -> Option<Arc<StillAnswered>> {
        let authority = self.authority.as_ref()?;
        let background = run.carried.background.clone()?;
        Some(Arc::new(StillAnswered {
            authority: Arc::clone(authority),
            envelope: run.envelope.clone(),
            background,
        }))
    }

    /// The handler's deadline: the time to answer kept, and for a long-running resource that
    /// can hand on, the time to hand on too, never past the time CloudFormation waits.
    fn work_until(&self, run: &Run<'_>, answer_by: Instant) -> Instant {
        if !self.can_continue() {
            return answer_by;
        }
        let left = answer_by.saturating_duration_since(Instant::now());
        let until = answer_by - HAND_ON_RESERVE.min(left / 4);
        if run.carried.background.is_some() {
            until
        } else {
            until.min(run.carried.answer_by())
        }
    }

    fn can_continue(&self) -> bool {
        R::LONG_RUNNING && self.relay.is_some()
    }

    /// After a run that did not finish: answer now and go on in the background, hand the
    /// request on, or (when the chain cannot go on) answer FAILED with the handler's progress.
    async fn go_on(&self, run: &Run<'_>, continuation: Continuation) -> Decision {
        let envelope = run.envelope;
        let carried = &run.carried;
        let in_background = carried.background.is_some();
        // The id an unfinished Create is answered with, so the rollback removes what it made.
        let unfinished_id = if envelope.request_type == RequestType::Create {
            continuation.physical_resource_id.clone()
        } else {
            failed_id(envelope)
        };
        let progress = continuation.progress.clone();
        let runs = carried.hops + 1;
        if let Some(outcome) = continuation.answer_now.clone()
            && !in_background
        {
            return self.answer_now(run, outcome, &continuation);
        }
        let Some(relay) = self.relay.as_ref().filter(|_| R::LONG_RUNNING) else {
            return Decision::answer(Answer::failed(
                unfinished_id,
                format!(
                    "the work did not finish before the function's deadline, and this function cannot continue \
                     it in a new invocation: {progress}"
                ),
            ));
        };
        if let Some(limit) = carried.no_room() {
            return Decision::answer(Answer::failed(
                unfinished_id,
                format!("the work {limit}, after {runs} runs: {progress}"),
            ));
        }
        let next = carried.next(&continuation, None);
        // Done before the deadline for answering, so that a hand-on still in flight can never
        // meet an answer of this run.
        let by = run
            .reserve_from
            .checked_sub(HAND_ON_MARGIN)
            .unwrap_or(run.reserve_from);
        match relay.hand_on(&envelope.hop_event(&next), by).await {
            HandOn::Accepted(to_whom) => {
                tracing::info!(
                    run = next.hops,
                    %to_whom,
                    %progress,
                    "not finished in this run; continuing in a new invocation"
                );
                Decision::HandedOn
            }
            HandOn::Unconfirmed(why) => {
                tracing::error!(
                    run = next.hops,
                    problem = %why,
                    %progress,
                    "the hand-on was not confirmed: the next run, if Lambda queued it, answers CloudFormation; \
                     this one does not, so that there is never a second answer"
                );
                Decision::HandedOn
            }
            HandOn::Refused(why) => {
                tracing::error!(problem = %why, "could not hand on");
                Decision::answer(Answer::failed(
                    unfinished_id,
                    format!(
                        "the work did not finish in run {runs} and could not continue: {why}; {progress}"
                    ),
                ))
            }
        }
    }

    /// SUCCESS now, and once it is delivered, the background hop that goes on.
    fn answer_now(&self, run: &Run<'_>, outcome: Outcome, continuation: &Continuation) -> Decision {
        let answer = succeeded(outcome, failed_id(run.envelope));
        let then = (answer.success && self.can_continue()).then(|| {
            let background = Background {
                operation: run.operation.clone(),
                physical_resource_id: answer.physical_resource_id.clone(),
            };
            run.envelope
                .hop_event(&run.carried.next(continuation, Some(background)))
        });
        if then.is_none() && answer.success {
            tracing::error!(progress = %continuation.progress, "answering now, but this function cannot continue in the background");
        }
        Decision::Answer { answer, then }
    }

    async fn other_event(&self, event: Value, deadline: Instant) -> anyhow::Result<Value> {
        let handler = match &self.handler {
            Handler::Ready(handler) => Arc::clone(handler),
            Handler::StartFailed(error) => anyhow::bail!("the function could not start: {error}"),
        };
        let respond_by = deadline.checked_sub(DELIVERY_MARGIN).unwrap_or(deadline);
        let mut work = tokio::spawn(async move { handler.other_event(event, respond_by).await });
        tokio::select! {
            joined = &mut work => match joined {
                Ok(result) => result,
                Err(join_error) => {
                    let message = join_error.try_into_panic().map(panic_message).unwrap_or_else(|_| "cancelled".to_owned());
                    Err(anyhow::anyhow!("the function panicked: {message}"))
                }
            },
            () = tokio::time::sleep_until(respond_by.into()) => {
                work.abort();
                Err(anyhow::anyhow!("timed out before the function's deadline"))
            }
        }
    }
}

/// What a background run came to is only logged: CloudFormation was answered before.
fn after_background(decision: Decision) -> Decision {
    match decision {
        Decision::Answer { answer, .. } if answer.success => {
            tracing::info!(summary = %answer.reason, "the background continuation finished");
            Decision::Ended
        }
        Decision::Answer { answer, .. } => {
            tracing::error!(reason = %answer.reason, "the background continuation stopped; \
                CloudFormation was answered before, a later deployment or sync picks the work up");
            Decision::Ended
        }
        other => other,
    }
}

fn request_span(envelope: &Envelope) -> tracing::Span {
    tracing::info_span!(
        "request",
        request_type = envelope.request_type.as_str(),
        logical_resource_id = %envelope.logical_resource_id,
        stack_id = %envelope.stack_id,
        request_id = %envelope.request_id,
    )
}

/// The id a failure is answered with: a marker for a Create (and for a request without an id),
/// the request's own id otherwise.
fn failed_id(envelope: &Envelope) -> String {
    match (&envelope.request_type, &envelope.physical_resource_id) {
        (RequestType::Create, _) | (_, None) => failed_create_marker(envelope),
        (_, Some(id)) => id.clone(),
    }
}

fn succeeded(outcome: Outcome, failed_id: String) -> Answer {
    let id = outcome.physical_resource_id;
    if id.trim().is_empty() || id.len() > MAX_PHYSICAL_ID_BYTES {
        return Answer::failed(
            failed_id,
            format!(
                "the function returned an invalid physical resource id ({} bytes): it must be 1 to {MAX_PHYSICAL_ID_BYTES} bytes",
                id.len()
            ),
        );
    }
    Answer {
        success: true,
        reason: "OK".to_owned(),
        physical_resource_id: id,
        data: outcome.data,
        no_echo: outcome.no_echo,
    }
}

/// The handler's part: typed properties, then create, update or delete.
async fn perform<R: CustomResource>(
    handler: Arc<R>,
    request: Request,
    envelope: Envelope,
) -> Result<Step, Failure> {
    #[cfg(debug_assertions)]
    injected_fault();
    let properties: R::Properties =
        properties::parse(&envelope.properties).map_err(anyhow::Error::msg)?;
    match (&request.request_type, envelope.physical_resource_id) {
        (RequestType::Create, _) => handler.create(&request, properties).await,
        (RequestType::Update, Some(physical_resource_id)) => {
            let old = envelope.old_properties.as_ref().and_then(|old| match properties::parse(old) {
                Ok(old) => Some(old),
                Err(problem) => {
                    // The usual cause: the rollback of an Update rejected for its properties.
                    // The rollback must still succeed, so the update goes on without them.
                    tracing::warn!(%problem, "OldResourceProperties do not parse: the update proceeds on the new properties alone, and what only the old ones named is not undone");
                    None
                }
            });
            let update = Update {
                physical_resource_id,
                new: properties,
                old,
            };
            handler.update(&request, update).await
        }
        (RequestType::Delete, Some(physical_resource_id)) => {
            match handler
                .delete(&request, &physical_resource_id, properties)
                .await?
            {
                Step::Done(()) => Ok(Step::Done(Outcome::new(physical_resource_id))),
                Step::Continue(continuation) => Ok(Step::Continue(continuation)),
            }
        }
        (request_type, _) => Err(anyhow::anyhow!(
            "a {} request needs a PhysicalResourceId",
            request_type.as_str()
        )
        .into()),
    }
}

/// Debug builds only (shipped binaries are release builds, where this does not exist):
/// `CUSTOM_RESOURCE_FAULT=panic` in the environment makes the work panic where the handler runs,
/// so tests can prove on the real function binaries, unmodified otherwise, that a panic is still
/// answered exactly once. None of the functions can be made to panic from outside.
#[cfg(debug_assertions)]
fn injected_fault() {
    if std::env::var("CUSTOM_RESOURCE_FAULT").is_ok_and(|fault| fault == "panic") {
        panic!("fault injected by CUSTOM_RESOURCE_FAULT=panic (debug builds only)");
    }
}

/// The time the handler has: the deadline less the reserve for answering (half the time left
/// when less than twice the reserve remains).
fn respond_by(deadline: Instant) -> Instant {
    let remaining = deadline.saturating_duration_since(Instant::now());
    deadline - RESPONSE_RESERVE.min(remaining / 2)
}

/// String values of the resource's sensitive properties, old and new, to keep out of Reasons.
fn sensitive_values<R: CustomResource>(envelope: &Envelope) -> Vec<String> {
    let mut values = Vec::new();
    for properties in [Some(&envelope.properties), envelope.old_properties.as_ref()]
        .into_iter()
        .flatten()
    {
        for name in R::SENSITIVE_PROPERTIES {
            collect_strings(properties.get(name), &mut values);
        }
    }
    // One character is no secret (an ExternalId has at least two) and scrubbing it would garble
    // every word of the Reason that holds it.
    values.retain(|value| value.chars().count() >= 2);
    values
}

fn collect_strings(value: Option<&Value>, into: &mut Vec<String>) {
    match value {
        Some(Value::String(text)) => into.push(text.clone()),
        Some(Value::Array(items)) => items
            .iter()
            .for_each(|item| collect_strings(Some(item), into)),
        Some(Value::Object(fields)) => fields
            .values()
            .for_each(|item| collect_strings(Some(item), into)),
        Some(other @ (Value::Number(_) | Value::Bool(_))) => into.push(other.to_string()),
        Some(Value::Null) | None => {}
    }
}

fn scrub(mut text: String, sensitive: &[String]) -> String {
    for value in sensitive {
        text = text.replace(value.as_str(), "[redacted]");
    }
    text
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}
