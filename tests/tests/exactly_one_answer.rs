//! Exactly one answer, on the four real function binaries (not the probe): a panic, the deadline,
//! a slow ResponseURL and a failing one. Each binary runs unmodified through the Runtime API, fed
//! the repository's sample events (events/<function>/) with the ResponseURL pointed at a local
//! bucket. Build them first (`cargo build --workspace --bins`); a binary older than its sources
//! is refused rather than tested.
//!
//! A panic cannot be caused from outside any of the functions, so the panic case uses the core's
//! fault hook (`CUSTOM_RESOURCE_FAULT=panic`), which exists only in debug builds: the work panics
//! where the handler runs. The deadline case needs no hook: every AWS endpoint points at a server
//! that accepts connections and never answers, as a hung service would.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use local_lambda::{FunctionProcess, Outcome, Reply, ResponseBucket, workspace_binary};
use serde_json::Value;

const FUNCTIONS: [&str; 4] = [
    "identity-center-app",
    "attribute-mapping",
    "saml-provider",
    "connect-user-import",
];

const START_TIMEOUT: Duration = Duration::from_secs(20);
const TIMEOUT: Duration = Duration::from_secs(20);

fn sample_event(function: &str, request: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(function)
        .join(format!("{request}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

struct Function {
    name: &'static str,
    process: FunctionProcess,
    bucket: ResponseBucket,
}

impl Function {
    async fn start(name: &'static str, env: &[(&str, &str)]) -> Self {
        let binary = workspace_binary(name).unwrap();
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        // The function serves the stack of its sample events (it obeys only its own stack).
        let stack = sample_event(name, "create")["StackId"]
            .as_str()
            .unwrap()
            .to_owned();
        env.push(("CONNECT_SSO_STACK_ID".to_owned(), stack));
        let process = FunctionProcess::spawn(&binary, &env).await.unwrap();
        process.initialised(START_TIMEOUT).await.unwrap();
        Self {
            name,
            process,
            bucket: ResponseBucket::start().await.unwrap(),
        }
    }

    /// The sample `request` event of this function, answering the bucket at `key`, with a fresh
    /// RequestId.
    fn event(&self, request: &str, key: &str) -> Value {
        let mut event = sample_event(self.name, request);
        event["ResponseURL"] = self.bucket.url(key).into();
        event["RequestId"] = format!("{key}-{:08x}", fastrand::u32(..)).into();
        event
    }

    /// A Delete the core answers without the handler or any AWS call: the rollback of a
    /// failed Create.
    fn marker_delete(&self, key: &str) -> Value {
        let mut event = self.event("delete", key);
        event["PhysicalResourceId"] =
            format!("{}Thing:r-1", custom_resource::FAILED_CREATE_MARKER_PREFIX).into();
        event
    }

    fn accepted(&self, key: &str) -> Vec<Value> {
        self.bucket
            .received_for(key)
            .iter()
            .filter(|put| put.accepted())
            .map(|put| put.json())
            .collect()
    }

    #[track_caller]
    fn only_answer(&self, key: &str) -> Value {
        let accepted = self.accepted(key);
        assert_eq!(
            accepted.len(),
            1,
            "{}: exactly one accepted answer for {key}: {accepted:?}",
            self.name
        );
        accepted[0].clone()
    }
}

#[tokio::test]
async fn a_panic_in_each_function_is_answered_failed_once_and_it_keeps_serving() {
    for name in FUNCTIONS {
        let function = Function::start(name, &[("CUSTOM_RESOURCE_FAULT", "panic")]).await;
        let outcome = function
            .process
            .invoke(function.event("create", "panic").to_string(), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Response(b"null".to_vec()), "{name}");
        let answer = function.only_answer("panic");
        assert_eq!(answer["Status"], "FAILED", "{name}: {answer}");
        assert!(
            answer["Reason"]
                .as_str()
                .unwrap()
                .starts_with("the function panicked: fault injected"),
            "{name}: {answer}"
        );
        assert!(
            custom_resource::is_failed_create_marker(
                answer["PhysicalResourceId"].as_str().unwrap()
            ),
            "{name}: {answer}"
        );

        // The same process answers the next request (the rollback's Delete of that marker).
        let mut delete = function.event("delete", "after-panic");
        delete["PhysicalResourceId"] = answer["PhysicalResourceId"].clone();
        let outcome = function
            .process
            .invoke(delete.to_string(), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Response(b"null".to_vec()), "{name}");
        assert_eq!(function.only_answer("after-panic")["Status"], "SUCCESS");
    }
}

#[tokio::test]
async fn each_function_stuck_on_a_hung_service_answers_failed_once_before_its_deadline() {
    let hung = test_support::hung_endpoint().await;
    // A short function Timeout: the core gives the handler half of it (less than twice its 4 s
    // reserve is left), so the FAILED is due about 3 s in.
    let timeout = Duration::from_secs(6);
    let mut running = tokio::task::JoinSet::new();
    for name in FUNCTIONS {
        let hung = hung.clone();
        running.spawn(async move {
            let function = Function::start(
                name,
                &[
                    ("AWS_ENDPOINT_URL", &hung),
                    ("AWS_ENDPOINT_URL_IAM", &hung),
                    ("AWS_ENDPOINT_URL_SSO_ADMIN", &hung),
                    ("AWS_ENDPOINT_URL_CONNECT", &hung),
                    ("AWS_ENDPOINT_URL_IDENTITYSTORE", &hung),
                    ("AWS_ENDPOINT_URL_STS", &hung),
                    ("AWS_ENDPOINT_URL_LAMBDA", &hung),
                    // CloudFormation (the harness's stand-in) answers the core's status check:
                    // here the services the handlers call are the ones that hang.
                ],
            )
            .await;
            let started = Instant::now();
            let delete = function.event("delete", "hung");
            let outcome = function
                .process
                .invoke(delete.to_string(), timeout)
                .await
                .unwrap();
            (function, started, outcome)
        });
    }
    let functions = running.join_all().await;

    for (function, started, outcome) in &functions {
        let name = function.name;
        assert_eq!(*outcome, Outcome::Response(b"null".to_vec()), "{name}");
        let answer = function.only_answer("hung");
        assert_eq!(answer["Status"], "FAILED", "{name}: {answer}");
        // The core's deadline guard answers, or the handler itself saw the deadline coming (the
        // import checks it before each call).
        let reason = answer["Reason"].as_str().unwrap();
        assert!(
            reason.starts_with("timed out") || reason.contains("too close to the deadline"),
            "{name}: the deadline is what answers: {answer}"
        );
        let sample = sample_event(name, "delete");
        assert_eq!(
            answer["PhysicalResourceId"], sample["PhysicalResourceId"],
            "{name}: a failed Delete keeps its id"
        );
        let at = function.bucket.received_for("hung")[0]
            .at
            .duration_since(*started);
        assert!(at < timeout, "{name}: answered after the deadline ({at:?})");
    }
    // The abandoned work never answers again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (function, _, _) in &functions {
        assert_eq!(
            function.bucket.received_for("hung").len(),
            1,
            "{}",
            function.name
        );
    }
}

#[tokio::test]
async fn a_slow_response_url_gets_each_answer_once() {
    for name in FUNCTIONS {
        let function = Function::start(name, &[]).await;
        // Slower than any reasonable network, well within the core's 10 s per attempt: the
        // sender must wait for it, not give up and PUT again (S3 keeps every PUT it received).
        function
            .bucket
            .script([Reply::SlowOk(Duration::from_secs(3))]);
        let outcome = function
            .process
            .invoke(function.marker_delete("slow").to_string(), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Response(b"null".to_vec()), "{name}");
        assert_eq!(
            function.bucket.received_for("slow").len(),
            1,
            "{name}: one PUT"
        );
        assert_eq!(function.only_answer("slow")["Status"], "SUCCESS", "{name}");
    }
}

#[tokio::test]
async fn a_failing_response_url_is_retried_until_the_deadline_then_lambda_retries_the_event() {
    let timeout = Duration::from_secs(4);
    for name in FUNCTIONS {
        let function = Function::start(name, &[]).await;
        function
            .bucket
            .script(std::iter::repeat_n(Reply::Status(503), 100));
        let event = function.marker_delete("failing");
        let started = Instant::now();
        let outcome = function
            .process
            .invoke(event.to_string(), timeout)
            .await
            .unwrap();
        // Undelivered: the invocation fails, so Lambda's asynchronous retry runs it again.
        assert!(matches!(outcome, Outcome::Error(_)), "{name}: {outcome:?}");
        let puts = function.bucket.received_for("failing");
        assert!(
            puts.len() >= 2,
            "{name}: the PUT is retried: {}",
            puts.len()
        );
        assert!(
            puts.iter()
                .all(|put| put.at.duration_since(started) < timeout),
            "{name}: a PUT after the deadline"
        );
        assert!(function.accepted("failing").is_empty(), "{name}");

        // Lambda's retry of the same event, once the bucket works again: one answer.
        function.bucket.clear_script();
        let outcome = function
            .process
            .invoke(event.to_string(), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Response(b"null".to_vec()), "{name}");
        assert_eq!(
            function.only_answer("failing")["Status"],
            "SUCCESS",
            "{name}"
        );
    }
}
