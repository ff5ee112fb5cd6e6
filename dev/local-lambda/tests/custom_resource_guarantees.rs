//! The custom-resource core's guarantees, checked on a compiled function binary served through the
//! Lambda Runtime API, answering a local stand-in for CloudFormation's response bucket.

use std::time::{Duration, Instant};

use local_lambda::{FunctionProcess, Outcome, Reply, ResponseBucket, cloudformation_event};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(20);

struct Harness {
    function: FunctionProcess,
    bucket: ResponseBucket,
}

impl Harness {
    async fn start(env: &[(&str, &str)]) -> Self {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let function = FunctionProcess::spawn(env!("CARGO_BIN_EXE_probe-function").as_ref(), &env)
            .await
            .unwrap();
        function.initialised(TIMEOUT).await.unwrap();
        Self {
            function,
            bucket: ResponseBucket::start().await.unwrap(),
        }
    }

    fn event(
        &self,
        key: &str,
        request_type: &str,
        physical_id: Option<&str>,
        properties: Value,
    ) -> Value {
        cloudformation_event(
            request_type,
            &self.bucket.url(key),
            "Probe",
            "Custom::Probe",
            physical_id,
            properties,
            None,
        )
    }

    /// Invokes and returns the one document the bucket accepted for `key`.
    async fn answer(&self, key: &str, event: Value, timeout: Duration) -> (Outcome, Value) {
        let outcome = self
            .function
            .invoke(event.to_string(), timeout)
            .await
            .unwrap();
        let accepted: Vec<_> = self
            .bucket
            .received_for(key)
            .into_iter()
            .filter(|r| r.accepted())
            .collect();
        assert_eq!(
            accepted.len(),
            1,
            "exactly one accepted response for {key}: {accepted:?}"
        );
        (outcome, accepted[0].json())
    }

    fn logs_mention(&self, needle: &str) -> bool {
        self.function
            .logs()
            .iter()
            .any(|line| line.contains(needle))
    }
}

#[tokio::test]
async fn success_is_one_put_without_content_type_and_with_the_byte_length() {
    let h = Harness::start(&[]).await;
    let event = h.event(
        "ok",
        "Create",
        None,
        json!({"Behaviour": "succeed", "DataBytes": "10"}),
    );
    let (outcome, document) = h.answer("ok", event.clone(), TIMEOUT).await;

    assert_eq!(outcome, Outcome::Response(b"null".to_vec()));
    let puts = h.bucket.received_for("ok");
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].method, "PUT");
    assert_eq!(
        puts[0].content_type, None,
        "CloudFormation's pre-signed URL signs the content type"
    );
    assert_eq!(puts[0].content_length, Some(puts[0].body.len()));
    assert!(
        puts[0].query.contains(h.bucket.signature()),
        "the URL is used exactly as given"
    );
    assert_eq!(document["Status"], "SUCCESS");
    assert_eq!(document["PhysicalResourceId"], "probe/Probe");
    assert_eq!(document["Data"]["Payload"], "pppppppppp");
    assert_eq!(document["RequestId"], event["RequestId"]);
    assert_eq!(document["StackId"], event["StackId"]);
    assert_eq!(document["LogicalResourceId"], "Probe");
}

#[tokio::test]
async fn a_handler_error_is_failed_with_a_marker_id_whose_delete_skips_the_handler() {
    let h = Harness::start(&[]).await;
    let (_, created) = h
        .answer(
            "create",
            h.event("create", "Create", None, json!({"Behaviour": "fail"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(created["Status"], "FAILED");
    assert!(
        created["Reason"]
            .as_str()
            .unwrap()
            .contains("probe failed as asked")
    );
    let marker = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert!(
        custom_resource::is_failed_create_marker(&marker),
        "{marker}"
    );

    // The rollback Delete of that marker succeeds without calling the handler (which would fail).
    let delete = h.event(
        "delete",
        "Delete",
        Some(&marker),
        json!({"Behaviour": "fail"}),
    );
    let (_, deleted) = h.answer("delete", delete, TIMEOUT).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert_eq!(deleted["PhysicalResourceId"], marker);
    assert!(!h.logs_mention("probe delete called"));

    // A Delete of a real id goes to the handler.
    let delete = h.event(
        "delete-real",
        "Delete",
        Some("probe/Probe"),
        json!({"Behaviour": "succeed"}),
    );
    let (_, deleted) = h.answer("delete-real", delete, TIMEOUT).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert!(h.logs_mention("probe delete called"));
}

#[tokio::test]
async fn a_panic_is_answered_failed_and_the_function_keeps_serving() {
    let h = Harness::start(&[]).await;
    let (outcome, document) = h
        .answer(
            "panic",
            h.event("panic", "Create", None, json!({"Behaviour": "panic"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(document["Status"], "FAILED");
    assert!(
        document["Reason"]
            .as_str()
            .unwrap()
            .contains("the function panicked: probe panicked as asked"),
        "{document}"
    );
    assert_eq!(outcome, Outcome::Response(b"null".to_vec()));

    let (_, next) = h
        .answer(
            "after",
            h.event("after", "Create", None, json!({"Behaviour": "succeed"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(next["Status"], "SUCCESS");
}

#[tokio::test]
async fn work_past_the_deadline_is_answered_failed_in_time_and_then_stopped() {
    let h = Harness::start(&[]).await;
    let started = Instant::now();
    // The handler gets the deadline less the core's reserve (half of 6 s here): the work below
    // finishes at 4.5 s, after the FAILED (about 3 s) but well before the deadline (6 s), while
    // the process is still alive, so nothing but the core's abort can keep it from acting.
    let timeout = Duration::from_secs(6);
    let late = Duration::from_millis(4500);
    let update = h.event(
        "late",
        "Update",
        Some("probe/Probe"),
        json!({
            "Behaviour": "late",
            "LateMillis": "4500",
            "SideEffectUrl": h.bucket.url("late-side-effect"),
        }),
    );
    let (outcome, document) = h.answer("late", update, timeout).await;

    assert_eq!(document["Status"], "FAILED");
    assert!(
        document["Reason"]
            .as_str()
            .unwrap()
            .starts_with("timed out"),
        "{document}"
    );
    assert_eq!(
        document["PhysicalResourceId"], "probe/Probe",
        "a failed Update keeps its id"
    );
    let put = &h.bucket.received_for("late")[0];
    let answered_after = put.at.duration_since(started);
    assert!(
        answered_after < late,
        "the FAILED must come before the work would have finished: {answered_after:?}"
    );
    assert_eq!(outcome, Outcome::Response(b"null".to_vec()));

    // Past the moment the work would have finished: it was stopped, so it neither acted nor
    // logged its end, and CloudFormation still has exactly one answer.
    tokio::time::sleep((late + Duration::from_secs(2)).saturating_sub(started.elapsed())).await;
    assert_eq!(
        h.bucket.received_for("late-side-effect").len(),
        0,
        "the abandoned work acted after the FAILED answer"
    );
    assert!(!h.logs_mention("probe late work finished"));
    assert_eq!(h.bucket.received_for("late").len(), 1);
}

#[tokio::test]
async fn malformed_events_are_still_answered() {
    let h = Harness::start(&[]).await;

    // Not JSON at all, but the ResponseURL can be found.
    let broken = format!(
        r#"{{"RequestType": "Create", "ResponseURL": "{}", "StackId": "{}", "RequestId": "r-1", "LogicalResourceId": "Probe", "ResourceType": "Custom::Probe", "ResourceProperties": {{"#,
        h.bucket.url("broken"),
        local_lambda::LOCAL_STACK_ID
    );
    let outcome = h.function.invoke(broken, TIMEOUT).await.unwrap();
    assert_eq!(outcome, Outcome::Response(b"null".to_vec()));
    let document = h.bucket.wait_for_document("broken", TIMEOUT).await.unwrap();
    assert_eq!(document["Status"], "FAILED");
    assert_eq!(document["RequestId"], "r-1");
    assert!(
        document["Reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{document}"
    );

    // An unknown RequestType.
    let upgrade = h.event("upgrade", "Upgrade", None, json!({"Behaviour": "succeed"}));
    let (_, document) = h.answer("upgrade", upgrade, TIMEOUT).await;
    assert_eq!(document["Status"], "FAILED");
    assert!(
        document["Reason"]
            .as_str()
            .unwrap()
            .contains("unsupported RequestType Upgrade")
    );

    // Properties that do not parse: a typo, and a missing required property.
    let typo = h.event("typo", "Create", None, json!({"Behavior": "succeed"}));
    let (_, document) = h.answer("typo", typo, TIMEOUT).await;
    let reason = document["Reason"].as_str().unwrap();
    assert!(
        reason.contains("unknown field `Behavior`") && reason.contains("`Behaviour`"),
        "{reason}"
    );

    let missing = h.event("missing", "Create", None, Value::Null);
    let (_, document) = h.answer("missing", missing, TIMEOUT).await;
    assert!(
        document["Reason"]
            .as_str()
            .unwrap()
            .contains("missing field `Behaviour`")
    );

    // A CloudFormation-looking event with no ResponseURL cannot be answered: an invocation error.
    let outcome = h
        .function
        .invoke(json!({"RequestType": "Create"}).to_string(), TIMEOUT)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Error(_)), "{outcome:?}");
}

#[tokio::test]
async fn a_failed_start_answers_every_request_failed_with_the_start_error() {
    let h = Harness::start(&[("PROBE_START_FAILURE", "could not build the IAM client")]).await;
    let (_, document) = h
        .answer(
            "create",
            h.event("create", "Create", None, json!({"Behaviour": "succeed"})),
            TIMEOUT,
        )
        .await;
    assert_eq!(document["Status"], "FAILED");
    assert_eq!(
        document["Reason"],
        "the function could not start: could not build the IAM client"
    );
    let delete = h.event(
        "delete",
        "Delete",
        Some("probe/Probe"),
        json!({"Behaviour": "succeed"}),
    );
    let (_, document) = h.answer("delete", delete, TIMEOUT).await;
    assert_eq!(
        document["Status"], "FAILED",
        "a Delete cannot be confirmed by a function that did not start"
    );
}

#[tokio::test]
async fn the_put_is_retried_after_5xx_and_a_dropped_connection() {
    let h = Harness::start(&[]).await;
    h.bucket.script([
        Reply::Status(500),
        Reply::Status(503),
        Reply::DropConnection,
    ]);
    let event = h.event("retry", "Create", None, json!({"Behaviour": "succeed"}));
    let (outcome, document) = h.answer("retry", event, TIMEOUT).await;
    let puts = h.bucket.received_for("retry");
    assert_eq!(
        puts.iter().map(|p| p.reply).collect::<Vec<_>>(),
        [
            Reply::Status(500),
            Reply::Status(503),
            Reply::DropConnection,
            Reply::Status(200)
        ]
    );
    assert!(
        puts.iter().all(|p| p.body == puts[0].body),
        "every attempt sends the same document"
    );
    assert_eq!(document["Status"], "SUCCESS");
    assert_eq!(outcome, Outcome::Response(b"null".to_vec()));
}

#[tokio::test]
async fn no_put_is_attempted_after_the_deadline() {
    let h = Harness::start(&[]).await;
    h.bucket.script(std::iter::repeat_n(Reply::Status(500), 50));
    let started = Instant::now();
    let timeout = Duration::from_secs(5);
    let event = h.event("down", "Create", None, json!({"Behaviour": "succeed"}));
    let outcome = h.function.invoke(event.to_string(), timeout).await.unwrap();

    let puts = h.bucket.received_for("down");
    assert!(puts.len() >= 5, "at least five attempts: {}", puts.len());
    assert!(
        puts.iter().all(|p| p.at.duration_since(started) < timeout),
        "a PUT after the deadline"
    );
    // Undelivered: the invocation fails, so Lambda's own retry gets another chance.
    assert!(matches!(outcome, Outcome::Error(_)), "{outcome:?}");
}

#[tokio::test]
async fn logs_carry_the_request_but_never_the_response_url_or_sensitive_values() {
    let h = Harness::start(&[]).await;
    let event = h.event(
        "secret",
        "Create",
        None,
        json!({"Behaviour": "fail", "Secret": "hunter2-s3cr3t"}),
    );
    let (_, document) = h.answer("secret", event, TIMEOUT).await;

    let reason = document["Reason"].as_str().unwrap();
    assert!(
        reason.contains("[redacted]") && !reason.contains("hunter2-s3cr3t"),
        "{reason}"
    );
    let logs = h.function.logs();
    assert!(!logs.is_empty());
    for line in &logs {
        assert!(
            !line.contains(h.bucket.signature()),
            "ResponseURL signature logged: {line}"
        );
        assert!(
            !line.contains("cloudformation-responses/secret"),
            "ResponseURL path logged: {line}"
        );
        assert!(
            !line.contains("hunter2-s3cr3t"),
            "sensitive property logged: {line}"
        );
    }
    // JSON lines carrying the request's identity.
    let responding = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["message"] == "responding")
        .expect("a 'responding' log line");
    assert_eq!(responding["span"]["request_type"], "Create");
    assert_eq!(responding["span"]["logical_resource_id"], "Probe");
    assert_eq!(responding["status"], "FAILED");
}

#[tokio::test]
async fn other_events_go_to_their_own_handler_and_are_never_put() {
    let h = Harness::start(&[]).await;
    let outcome = h
        .function
        .invoke(json!({"Sync": {"Groups": ["Agents"]}}).to_string(), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        outcome.response_json().unwrap(),
        json!({"echo": {"Sync": {"Groups": ["Agents"]}}})
    );
    assert!(h.bucket.received().is_empty());
}

#[tokio::test]
async fn oversized_data_becomes_a_failed_response_within_the_limit() {
    let h = Harness::start(&[]).await;
    let event = h.event(
        "big",
        "Create",
        None,
        json!({"Behaviour": "succeed", "DataBytes": 5000}),
    );
    let (_, document) = h.answer("big", event, TIMEOUT).await;
    let put = &h.bucket.received_for("big")[0];
    assert!(put.body.len() <= custom_resource::MAX_RESPONSE_BYTES);
    assert_eq!(document["Status"], "FAILED");
    assert!(
        document["Reason"]
            .as_str()
            .unwrap()
            .contains("Data keys dropped: Payload (5007 bytes)")
    );
}
