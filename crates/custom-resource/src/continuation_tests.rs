//! Work longer than one run, through the core alone: a resource that only says "continue with
//! this state" is run again, answered once, bounded, and stopped when its stack moves on.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{post, put};
use serde_json::{Value, json};

use crate::continuation::{CONTINUATION_KEY, Continuation, MAX_HOPS, Step};
use crate::dispatch::{Dispatcher, Handler};
use crate::relay::{CapturedRelay, LambdaRelay};
use crate::{CustomResource, Failure, Outcome, Request, ResponseSender, SendPolicy, Update};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/5f1e";
const ID: &str = "chunked/1";

/// A long-running resource with no protocol code: each run does one unit of work and says
/// "continue" until all are done; with `AnswerAfter` it asks to answer early.
#[derive(Default)]
struct Chunked {
    /// Units of work done, by every run (a side effect the tests can see).
    work: AtomicU32,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Properties {
    #[serde(deserialize_with = "crate::lenient::number")]
    units: u32,
    #[serde(default, deserialize_with = "crate::lenient::option_number")]
    answer_after: Option<u32>,
    /// Work until the run's deadline before continuing.
    #[serde(default, deserialize_with = "crate::lenient::bool")]
    use_the_whole_run: bool,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Done {
    units: u32,
}

impl CustomResource for Chunked {
    type Properties = Properties;
    const LONG_RUNNING: bool = true;

    async fn create(&self, request: &Request, properties: Properties) -> Result<Step, Failure> {
        let mut done: Done = request.state()?.unwrap_or_default();
        if properties.use_the_whole_run {
            tokio::time::sleep_until(request.respond_by.into()).await;
        }
        self.work.fetch_add(1, Ordering::SeqCst);
        done.units += 1;
        let outcome = Outcome::new(ID).with("Units", done.units);
        if done.units >= properties.units {
            return Ok(outcome.into());
        }
        let progress = format!("{} of {} units done", done.units, properties.units);
        if properties.answer_after == Some(done.units) {
            return Ok(Step::Continue(Continuation::answering(
                outcome, &done, progress,
            )?));
        }
        Ok(Step::Continue(Continuation::new(ID, &done, progress)?))
    }

    async fn update(&self, request: &Request, update: Update<Properties>) -> Result<Step, Failure> {
        self.create(request, update.new).await
    }

    async fn delete(&self, _: &Request, _: &str, _: Properties) -> Result<Step<()>, Failure> {
        Ok(Step::Done(()))
    }
}

fn event(response_url: &str, properties: Value) -> Value {
    json!({
        "RequestType": "Create",
        "ResponseURL": response_url,
        "StackId": STACK,
        "RequestId": "r1",
        "LogicalResourceId": "Thing",
        "ResourceType": "Custom::Chunked",
        "ResourceProperties": properties,
    })
}

#[tokio::test]
async fn a_resource_that_says_continue_is_run_again_until_done_and_answered_once() {
    let resource = Arc::new(Chunked::default());
    let mut next = event("https://bucket/signed", json!({"Units": "4"}));
    let mut answers = Vec::new();
    let mut runs = 0;
    while answers.is_empty() {
        runs += 1;
        assert!(runs <= 4, "no answer after {runs} runs");
        let ran =
            crate::run_in_process(Arc::clone(&resource), next.clone(), Duration::from_secs(30))
                .await
                .unwrap();
        match (ran.answer, ran.handed_on) {
            (Some(answer), None) => answers.push(answer),
            (None, Some(handed_on)) => {
                // The same request, its state and hop count carried by the core.
                assert_eq!(handed_on["ResponseURL"], "https://bucket/signed");
                assert_eq!(handed_on["RequestId"], "r1");
                assert_eq!(handed_on[CONTINUATION_KEY]["Hops"], runs);
                assert_eq!(handed_on[CONTINUATION_KEY]["State"], json!({"units": runs}));
                next = handed_on;
            }
            other => panic!("a run answers or hands on: {other:?}"),
        }
    }
    assert_eq!(runs, 4);
    assert_eq!(resource.work.load(Ordering::SeqCst), 4, "one unit per run");
    let answer = &answers[0];
    assert_eq!(answer["Status"], "SUCCESS", "{answer:#}");
    assert_eq!(answer["PhysicalResourceId"], ID);
    assert_eq!(answer["Data"]["Units"], "4");
}

#[tokio::test]
async fn a_chain_at_its_hop_bound_answers_failed_with_the_progress_reported() {
    let resource = Arc::new(Chunked::default());
    let mut at_bound = event("https://bucket/signed", json!({"Units": "100"}));
    at_bound[CONTINUATION_KEY] = json!({
        "Hops": MAX_HOPS, "AnswerByMs": u64::MAX / 2, "State": {"units": 41}, "Progress": "41 of 100 units done"
    });
    let ran = crate::run_in_process(resource, at_bound, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(ran.handed_on.is_none(), "handed on at the bound");
    let answer = ran.answer.unwrap();
    assert_eq!(answer["Status"], "FAILED", "{answer:#}");
    // A Create keeps the id of what it made, so the rollback's Delete removes it.
    assert_eq!(answer["PhysicalResourceId"], ID);
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("bound of {MAX_HOPS} hand-ons"))
            && reason.contains(&format!("after {} runs", MAX_HOPS + 1))
            && reason.contains("42 of 100 units done"),
        "{reason}"
    );
}

/// PUTs received, by path.
type Received = Arc<Mutex<Vec<(String, Value)>>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stand-in for CloudFormation's response bucket: keeps every PUT.
async fn bucket() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/{key}",
            put(
                |State(received): State<Received>, Path(key): Path<String>, body: Bytes| async move {
                    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    lock(&received).push((key, body));
                },
            ),
        )
        .with_state(Arc::clone(&received));
    (serve(app).await, received)
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    https_client::sdk::loader()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

fn sender() -> ResponseSender {
    ResponseSender::new(SendPolicy {
        max_attempts: 1,
        ..SendPolicy::default()
    })
}

/// Lambda's Invoke accepts the connection and never answers, and the handler uses its whole run:
/// the hand-on is given up before the time kept for answering, and since the event may have been
/// queued, this run never answers (a FAILED from it could meet the continuation's answer).
#[tokio::test]
async fn a_hand_on_lambda_does_not_confirm_ends_in_time_and_is_never_followed_by_an_answer() {
    let silent = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let lambda = format!("http://{}", silent.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let holding = Arc::clone(&held);
    tokio::spawn(async move {
        while let Ok((connection, _)) = silent.accept().await {
            lock(&holding).push(connection);
        }
    });
    let relay = LambdaRelay::with_config("chunked", &sdk_config(&lambda).await);
    let dispatcher = Dispatcher::new(Handler::Ready(Arc::new(Chunked::default())), sender())
        .with_relay(Arc::new(relay));
    let (bucket, received) = bucket().await;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(12);
    let run = dispatcher.handle(
        event(
            &format!("{bucket}/answer"),
            json!({"Units": 5, "UseTheWholeRun": true}),
        ),
        deadline,
    );
    let handled = tokio::time::timeout_at((deadline + Duration::from_secs(5)).into(), run)
        .await
        .expect("the run never ended: the hand-on is not bounded");
    let took = started.elapsed();
    assert_eq!(handled.unwrap(), Value::Null);
    assert!(!lock(&held).is_empty(), "the hand-on was attempted");
    // The core keeps 4 s to answer: the hand-on ended before that reserve began.
    assert!(
        took < Duration::from_secs(8),
        "the hand-on took until {took:?}"
    );
    tokio::time::sleep_until((deadline + Duration::from_millis(500)).into()).await;
    assert!(
        lock(&received).is_empty(),
        "answered: {:?}",
        lock(&received)
    );
}

/// DescribeStacks and DescribeStackResource of one stack, with the state a test sets.
#[derive(Clone)]
struct Stack {
    status: String,
    last_updated: Option<String>,
    resource: (String, String),
}

async fn cloudformation(stack: Arc<Mutex<Stack>>) -> String {
    let app = Router::new()
        .route(
            "/",
            post(|State(stack): State<Arc<Mutex<Stack>>>, body: Bytes| async move {
                let fields: BTreeMap<String, String> =
                    url::form_urlencoded::parse(&body).into_owned().collect();
                let stack = lock(&stack).clone();
                let action = fields.get("Action").cloned().unwrap_or_default();
                let result = match action.as_str() {
                    "DescribeStacks" => format!(
                        "<Stacks><member><StackName>s</StackName><StackId>{STACK}</StackId>\
                         <CreationTime>2026-01-01T00:00:00Z</CreationTime>{}<StackStatus>{}</StackStatus>\
                         </member></Stacks>",
                        stack
                            .last_updated
                            .map(|t| format!("<LastUpdatedTime>{t}</LastUpdatedTime>"))
                            .unwrap_or_default(),
                        stack.status
                    ),
                    _ => format!(
                        "<StackResourceDetail><StackName>s</StackName><StackId>{STACK}</StackId>\
                         <LogicalResourceId>Thing</LogicalResourceId><PhysicalResourceId>{}</PhysicalResourceId>\
                         <ResourceType>Custom::Chunked</ResourceType>\
                         <LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp>\
                         <ResourceStatus>{}</ResourceStatus></StackResourceDetail>",
                        stack.resource.0, stack.resource.1
                    ),
                };
                (
                    [("content-type", "text/xml")],
                    format!(
                        "<{action}Response xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
                         <{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>t</RequestId>\
                         </ResponseMetadata></{action}Response>"
                    ),
                )
            }),
        )
        .with_state(stack);
    serve(app).await
}

/// After an early answer, the work goes on in the background only while the stack is still in
/// the operation answered: an update, a rollback or a delete stops it before the handler runs,
/// and no background hop ever answers CloudFormation.
#[tokio::test]
async fn background_hops_go_on_only_while_the_stack_is_in_the_operation_answered() {
    let stack = Arc::new(Mutex::new(Stack {
        status: "CREATE_IN_PROGRESS".into(),
        last_updated: None,
        resource: (String::new(), "CREATE_IN_PROGRESS".into()),
    }));
    let guard = stack_sync::StackGuard::from_config(
        &sdk_config(&cloudformation(Arc::clone(&stack)).await).await,
    );
    let resource = Arc::new(Chunked::default());
    let relay = CapturedRelay::default();
    let dispatcher = Dispatcher::new(Handler::Ready(Arc::clone(&resource)), sender())
        .with_authority(crate::authority::Authority::for_tests(
            STACK,
            guard,
            // What the stack set: the background runs act on these, not on their events'.
            stack_sync::SyncTarget::new(STACK, "Thing", json!({"Units": 3, "AnswerAfter": 1})),
        ))
        .with_relay(Arc::new(relay.clone()));
    let (bucket, received) = bucket().await;
    let deadline = || Instant::now() + Duration::from_secs(20);
    let first = event(
        &format!("{bucket}/answer"),
        json!({"Units": 10, "AnswerAfter": 1}),
    );
    dispatcher.handle(first, deadline()).await.unwrap();
    let answers = lock(&received).clone();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].1["Status"], "SUCCESS", "{answers:?}");
    assert_eq!(answers[0].1["Data"]["Units"], "1");
    let mut hop = relay.take().pop().expect("a background hop handed on");
    assert!(hop.get("ResponseURL").is_none(), "{hop:#}");
    assert_eq!(
        hop[CONTINUATION_KEY]["Background"],
        json!({"Operation": {"Created": "1767225600000"}, "PhysicalResourceId": ID})
    );

    // The operation completed: the work goes on, without answering.
    *lock(&stack) = Stack {
        status: "CREATE_COMPLETE".into(),
        last_updated: None,
        resource: (ID.into(), "CREATE_COMPLETE".into()),
    };
    dispatcher.handle(hop.clone(), deadline()).await.unwrap();
    assert_eq!(resource.work.load(Ordering::SeqCst), 2);
    hop = relay.take().pop().expect("the next background hop");

    // The stack moved on: each of these stops the chain before the handler runs.
    let moved_on = [
        (
            "UPDATE_IN_PROGRESS",
            Some("2026-02-01T00:00:00Z"),
            "CREATE_COMPLETE",
        ),
        (
            "UPDATE_COMPLETE",
            Some("2026-02-01T00:00:00Z"),
            "UPDATE_COMPLETE",
        ),
        ("ROLLBACK_IN_PROGRESS", None, "CREATE_COMPLETE"),
        ("DELETE_IN_PROGRESS", None, "DELETE_IN_PROGRESS"),
    ];
    for (status, last_updated, resource_status) in moved_on {
        *lock(&stack) = Stack {
            status: status.into(),
            last_updated: last_updated.map(str::to_owned),
            resource: (ID.into(), resource_status.into()),
        };
        let result = dispatcher.handle(hop.clone(), deadline()).await.unwrap();
        assert!(
            result["Stopped"]
                .as_str()
                .is_some_and(|why| !why.is_empty()),
            "{status}: {result}"
        );
        assert_eq!(
            resource.work.load(Ordering::SeqCst),
            2,
            "{status}: the handler ran"
        );
        assert!(relay.take().is_empty(), "{status}: handed on");
    }
    // The same resource replaced within the operation (another physical id) stops it too.
    *lock(&stack) = Stack {
        status: "CREATE_COMPLETE".into(),
        last_updated: None,
        resource: ("chunked/2".into(), "CREATE_COMPLETE".into()),
    };
    let result = dispatcher.handle(hop.clone(), deadline()).await.unwrap();
    assert!(result["Stopped"].is_string(), "{result}");
    assert_eq!(resource.work.load(Ordering::SeqCst), 2);

    // Back in the operation answered: the last unit is done with the properties the stack set
    // (3 units; the event says 10), which ends the chain: no hand-on, and no answer.
    *lock(&stack) = Stack {
        status: "CREATE_COMPLETE".into(),
        last_updated: None,
        resource: (ID.into(), "CREATE_COMPLETE".into()),
    };
    dispatcher.handle(hop, deadline()).await.unwrap();
    assert_eq!(resource.work.load(Ordering::SeqCst), 3);
    assert!(relay.take().is_empty(), "handed on after the last unit");
    assert_eq!(lock(&received).len(), 1, "no second answer");
}
