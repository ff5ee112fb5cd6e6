//! The local Lambda Invoke API: asynchronous events run on the function registered under the name,
//! and a delivery that crashed is retried on the function registered then (Lambda's retries).

use std::sync::Arc;
use std::time::Duration;

use local_lambda::{FunctionProcess, LambdaService, Outcome};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn probe() -> Arc<FunctionProcess> {
    let function = FunctionProcess::spawn(env!("CARGO_BIN_EXE_probe-function").as_ref(), &[])
        .await
        .unwrap();
    function.initialised(TIMEOUT).await.unwrap();
    Arc::new(function)
}

/// POSTs `body` to the Invoke API and returns the HTTP status.
async fn invoke(
    service: &LambdaService,
    function: &str,
    invocation_type: &str,
    body: &Value,
) -> u16 {
    let address = service.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: {address}\r\n\
         X-Amz-Invocation-Type: {invocation_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_event_is_accepted_at_once_and_run_on_the_named_function() {
    let service = LambdaService::start().await.unwrap();
    service.register("stack-Probe", probe().await, TIMEOUT);
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:stack-Probe";
    assert_eq!(invoke(&service, arn, "Event", &json!({"n": 1})).await, 202);
    service.wait_idle("stack-Probe", TIMEOUT).await.unwrap();
    let history = service.history();
    assert_eq!(history.len(), 1);
    let Outcome::Response(body) = &history[0].outcome else {
        panic!("{history:?}")
    };
    let echoed: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(echoed, json!({"echo": {"n": 1}}));
    assert_eq!(
        invoke(&service, "stack-Probe", "RequestResponse", &json!({})).await,
        400
    );
    assert_eq!(invoke(&service, "missing", "Event", &json!({})).await, 404);
}

#[tokio::test]
async fn a_crashed_delivery_is_retried_on_the_function_registered_then() {
    let service = LambdaService::start().await.unwrap();
    service.retry_delay(Duration::from_millis(300));
    let dead = probe().await;
    dead.stop().await;
    service.register("Probe", dead, TIMEOUT);
    assert_eq!(
        invoke(&service, "Probe", "Event", &json!({"n": 2})).await,
        202
    );
    // A new process takes over, as Lambda starts a new execution environment.
    service.register("Probe", probe().await, TIMEOUT);
    service.wait_idle("Probe", TIMEOUT).await.unwrap();
    let history = service.history();
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(
        matches!(history[0].outcome, Outcome::Crashed(_)),
        "{history:?}"
    );
    assert_eq!((history[0].delivery, history[1].delivery), (1, 2));
    assert_eq!(history[1].payload, history[0].payload);
    assert!(
        matches!(history[1].outcome, Outcome::Response(_)),
        "{history:?}"
    );
}
