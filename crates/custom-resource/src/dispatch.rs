//! One request, one answer: routing, the deadline and panic guards, and the response.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::Instrument;

use crate::authority::{Authority, Refusal};
use crate::envelope::{Envelope, Event, RequestType};
use crate::response::{Answer, render};
use crate::sender::ResponseSender;
use crate::{CustomResource, HandedOff, Outcome, Request, Update, properties};

/// Physical ids of this prefix are answered to failed Creates; a Delete of one succeeds at once.
pub const FAILED_CREATE_MARKER_PREFIX: &str = "custom-resource:create-failed:";

/// How long before the Lambda deadline the handler is given up, so that a FAILED can still be
/// delivered: a cold TLS handshake at 128 MB takes about 0.75 s, and a retry or two must fit.
const RESPONSE_RESERVE: Duration = Duration::from_secs(4);

/// How long before the deadline the last response attempt must be finished.
const DELIVERY_MARGIN: Duration = Duration::from_millis(100);

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

/// A Create error that carries the id of what it made before failing (see
/// [`crate::failed_after_creating`]).
#[derive(Debug)]
pub(crate) struct PartiallyCreated {
    pub physical_resource_id: String,
    pub source: anyhow::Error,
}

impl std::fmt::Display for PartiallyCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.source)
    }
}

impl std::error::Error for PartiallyCreated {}

/// What becomes of a request: an answer to send, or nothing because another invocation took it on.
enum Decision {
    Answer(Answer),
    HandedOff(String),
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
    authority: Option<Authority>,
}

impl<R: CustomResource> Dispatcher<R> {
    pub fn new(handler: Handler<R>, sender: ResponseSender) -> Self {
        Self {
            handler,
            sender,
            authority: None,
        }
    }

    /// Obeys only events this stack's CloudFormation could have sent (see [`Authority`]).
    pub fn with_authority(self, authority: Authority) -> Self {
        Self {
            authority: Some(authority),
            ..self
        }
    }

    /// Serves one invocation. A CloudFormation request is answered at its ResponseURL; the
    /// result is an error only when that answer could not be delivered (so Lambda retries).
    pub async fn handle(&self, event: Value, deadline: Instant) -> anyhow::Result<Value> {
        match Event::classify(event) {
            Event::CloudFormation(envelope) => {
                let span = tracing::info_span!(
                    "request",
                    request_type = envelope.request_type.as_str(),
                    logical_resource_id = %envelope.logical_resource_id,
                    stack_id = %envelope.stack_id,
                    request_id = %envelope.request_id,
                );
                async {
                    if let Err(refusal) = self.authorise(&envelope, deadline).await {
                        return self.refuse(&envelope, refusal, deadline).await;
                    }
                    self.answer(*envelope, deadline).await?;
                    Ok(Value::Null)
                }
                .instrument(span)
                .await
            }
            Event::Unanswerable(why) => {
                tracing::error!(problem = %why, "event cannot be answered");
                Err(anyhow::anyhow!(why))
            }
            Event::Other(event) => self.other_event(event, deadline).await,
        }
    }

    async fn authorise(&self, envelope: &Envelope, deadline: Instant) -> Result<(), Refusal> {
        let Some(authority) = &self.authority else {
            return Ok(());
        };
        authority.check_envelope(envelope)?;
        // Boxed: the SDK's futures are deep, and this one sits inside every function's `main`.
        // The refusal, too, must be answered before the deadline: wait no longer than the handler
        // could have worked.
        let wait = respond_by(deadline).saturating_duration_since(Instant::now());
        Box::pin(authority.check_stack_status(envelope, wait)).await
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
        let failed_id = match (&envelope.request_type, &envelope.physical_resource_id) {
            (RequestType::Create, _) | (_, None) => failed_create_marker(envelope),
            (_, Some(id)) => id.clone(),
        };
        let (body, _) = render(envelope, Answer::failed(failed_id, refusal.reason.clone()));
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

    /// The response document for a CloudFormation request, decided but not sent.
    pub async fn response_document(
        &self,
        event: Value,
        deadline: Instant,
    ) -> anyhow::Result<Vec<u8>> {
        match Event::classify(event) {
            Event::CloudFormation(envelope) => {
                match self.decide(&envelope, respond_by(deadline)).await {
                    Decision::Answer(answer) => Ok(render(&envelope, answer).0),
                    Decision::HandedOff(to_whom) => Err(anyhow::Error::new(HandedOff(to_whom))),
                }
            }
            Event::Unanswerable(why) => Err(anyhow::anyhow!(why)),
            Event::Other(_) => Err(anyhow::anyhow!(
                "not a CloudFormation request (no ResponseURL)"
            )),
        }
    }

    async fn answer(&self, envelope: Envelope, deadline: Instant) -> anyhow::Result<()> {
        tracing::info!(
            physical_resource_id = envelope.physical_resource_id.as_deref(),
            "request received"
        );
        let answer = match self.decide(&envelope, respond_by(deadline)).await {
            Decision::Answer(answer) => answer,
            Decision::HandedOff(to_whom) => {
                tracing::info!(%to_whom, "handed off: another invocation answers CloudFormation");
                return Ok(());
            }
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
            Ok(_) => Ok(()),
            Err(failure) => {
                tracing::error!(error = %failure, "response not delivered");
                Err(failure.into())
            }
        }
    }

    async fn decide(&self, envelope: &Envelope, respond_by: Instant) -> Decision {
        match self.decide_answer(envelope, respond_by).await {
            Err(to_whom) => Decision::HandedOff(to_whom),
            Ok(answer) => Decision::Answer(answer),
        }
    }

    /// The answer, or (as an error) to whom the request was handed off.
    async fn decide_answer(
        &self,
        envelope: &Envelope,
        respond_by: Instant,
    ) -> Result<Answer, String> {
        let failed_id = match (&envelope.request_type, &envelope.physical_resource_id) {
            (RequestType::Create, _) | (_, None) => failed_create_marker(envelope),
            (_, Some(id)) => id.clone(),
        };
        let nothing_to_delete = envelope.request_type == RequestType::Delete
            && envelope
                .physical_resource_id
                .as_deref()
                .is_none_or(is_failed_create_marker);
        if nothing_to_delete {
            return Ok(Answer::succeeded(
                failed_id,
                "nothing to delete: the Create of this resource failed",
            ));
        }
        let handler = match &self.handler {
            Handler::Ready(handler) => Arc::clone(handler),
            Handler::StartFailed(error) => {
                return Ok(Answer::failed(
                    failed_id,
                    format!("the function could not start: {error}"),
                ));
            }
        };
        if let RequestType::Unknown(other) = &envelope.request_type {
            return Ok(Answer::failed(
                failed_id,
                format!("unsupported RequestType {other}: expected Create, Update or Delete"),
            ));
        }
        let request = Request {
            request_type: envelope.request_type.clone(),
            stack_id: envelope.stack_id.clone(),
            request_id: envelope.request_id.clone(),
            logical_resource_id: envelope.logical_resource_id.clone(),
            resource_type: envelope.resource_type.clone(),
            respond_by,
            original: envelope.original.clone(),
        };
        let mut work = tokio::spawn(perform(handler, request, envelope.clone()));
        let result = tokio::select! {
            joined = &mut work => joined,
            () = tokio::time::sleep_until(respond_by.into()) => {
                // Dropping the work here means no late success can follow this FAILED.
                work.abort();
                return Ok(Answer::failed(failed_id, "timed out: the operation did not finish before the function's deadline; \
                    it was stopped so that this answer could still be delivered (raise the function's Timeout, or check the logs)"));
            }
        };
        let sensitive = sensitive_values::<R>(envelope);
        Ok(match result {
            Ok(Ok(outcome)) => succeeded(outcome, failed_id),
            Ok(Err(error)) if error.downcast_ref::<HandedOff>().is_some() => {
                let to_whom = error
                    .downcast::<HandedOff>()
                    .map(|h| h.0)
                    .unwrap_or_default();
                return Err(to_whom);
            }
            Ok(Err(error)) => {
                let physical_resource_id = match error.downcast_ref::<PartiallyCreated>() {
                    Some(partial) if envelope.request_type == RequestType::Create => {
                        partial.physical_resource_id.clone()
                    }
                    _ => failed_id,
                };
                Answer::failed(
                    physical_resource_id,
                    scrub(format!("{error:#}"), &sensitive),
                )
            }
            Err(join_error) => {
                let message = join_error
                    .try_into_panic()
                    .map(panic_message)
                    .unwrap_or_else(|_| "cancelled".to_owned());
                Answer::failed(
                    failed_id,
                    scrub(format!("the function panicked: {message}"), &sensitive),
                )
            }
        })
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
) -> anyhow::Result<Outcome> {
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
            handler
                .delete(&request, &physical_resource_id, properties)
                .await?;
            Ok(Outcome::new(physical_resource_id))
        }
        (request_type, _) => anyhow::bail!(
            "a {} request needs a PhysicalResourceId",
            request_type.as_str()
        ),
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

#[cfg(test)]
mod hand_off_tests {
    use super::*;
    use crate::SendPolicy;

    struct PassesItOn;

    #[derive(serde::Deserialize)]
    struct NoProperties {}

    impl CustomResource for PassesItOn {
        type Properties = NoProperties;
        async fn create(&self, request: &Request, _: NoProperties) -> anyhow::Result<Outcome> {
            // The handler sees the whole event, to pass it on.
            assert!(request.original.json()["ResponseURL"].is_string());
            Err(crate::handed_off("invocation 2"))
        }
        async fn update(&self, _: &Request, _: Update<NoProperties>) -> anyhow::Result<Outcome> {
            unreachable!()
        }
        async fn delete(&self, _: &Request, _: &str, _: NoProperties) -> anyhow::Result<()> {
            Ok(())
        }
    }

    fn event(response_url: &str) -> Value {
        serde_json::json!({
            "RequestType": "Create",
            "ResponseURL": response_url,
            "StackId": "arn:aws:cloudformation:us-east-1:1:stack/s/g",
            "RequestId": "r1",
            "LogicalResourceId": "Thing",
            "ResourceType": "Custom::Thing",
            "ResourceProperties": {},
        })
    }

    #[tokio::test]
    async fn a_handed_off_request_gets_no_response_from_this_invocation() {
        let sender = ResponseSender::new(SendPolicy {
            max_attempts: 1,
            ..SendPolicy::default()
        });
        let dispatcher = Dispatcher::new(Handler::Ready(Arc::new(PassesItOn)), sender);
        // A listener nobody accepts on: an attempt to answer would sit in its backlog.
        let bucket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        bucket.set_nonblocking(true).unwrap();
        let url = format!("http://{}/response", bucket.local_addr().unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        let result = dispatcher.handle(event(&url), deadline).await;
        assert_eq!(result.unwrap(), Value::Null);
        assert_eq!(
            bucket.accept().map(drop).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock,
            "this invocation tried to answer"
        );
        let document = dispatcher.response_document(event(&url), deadline).await;
        let error = document.unwrap_err();
        assert_eq!(error.downcast_ref::<HandedOff>().unwrap().0, "invocation 2");
    }
}
