//! The compiled function, run as Lambda runs it (the Runtime API, `local-lambda`), against the
//! Connect emulator, moto's identity store, a stand-in response bucket and Lambda's Invoke API.
//! Needs `cargo build --bins -p connect-user-import` first.

mod support;

use std::sync::Arc;
use std::time::Duration;

use local_lambda::{FunctionProcess, LambdaService, ResponseBucket, workspace_binary};
use serde_json::{Value, json};
use support::*;

/// The name the process runs under (its `AWS_LAMBDA_FUNCTION_NAME`), which the continuation
/// invokes.
const FUNCTION: &str = "connect-user-import";

/// The unique id in the StackId of the sample events (events/connect-user-import/).
const SAMPLE_STACK_GUID: &str = "5f1e5a40-9c3a-11ef-8d1b-0a1b2c3d4e5f";

async fn spawn(w: &World, extra: &[(&str, String)]) -> Arc<FunctionProcess> {
    let binary = workspace_binary(FUNCTION).unwrap();
    let mut env: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL_CONNECT".into(), w.emulator.endpoint()),
        ("AWS_ENDPOINT_URL_IDENTITYSTORE".into(), moto_endpoint()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    // The function obeys only its own stack (the template sets this to !Ref AWS::StackId).
    if !env.iter().any(|(key, _)| key == "CONNECT_SSO_STACK_ID") {
        env.push(("CONNECT_SSO_STACK_ID".into(), w.stack_id.clone()));
    }
    let function = FunctionProcess::spawn(&binary, &env).await.unwrap();
    function.initialised(Duration::from_secs(30)).await.unwrap();
    Arc::new(function)
}

/// A run hands the request on and Lambda takes longer to accept the event than the run has
/// left: the run must not answer (the core would otherwise give it up and answer FAILED while
/// the queued continuation answers too). CloudFormation gets exactly one answer, the
/// continuation's, and the import is complete.
#[tokio::test]
async fn a_hand_on_slower_than_the_run_has_left_never_makes_a_second_answer() {
    let w = World::new("slow-hand-on").await;
    let agents = w.group("Agents").await;
    for i in 0..40 {
        let name = format!("h{i:02}");
        let id = w
            .user(&name, &format!("{name}@example.com"), &name, "Tester")
            .await;
        w.join(&agents, &id).await;
    }
    let bucket = ResponseBucket::start().await.unwrap();
    let lambda = LambdaService::start().await.unwrap();
    // Longer than the whole hand-on reserve of a run: the first run cannot learn in time
    // whether its continuation was queued (it was).
    lambda.accept_after(Duration::from_secs(8));
    // 4 creates a second: 40 users need about 10 s, more than one 12 s run has for writes.
    let function = spawn(
        &w,
        &[
            ("AWS_ENDPOINT_URL_LAMBDA", lambda.endpoint()),
            ("CONNECT_REQUESTS_PER_SECOND", "4".to_owned()),
            ("CONNECT_REQUEST_BURST", "1".to_owned()),
        ],
    )
    .await;
    let timeout = Duration::from_secs(12);
    lambda.register(FUNCTION, Arc::clone(&function), timeout);
    let mut event = w.create_event(&w.props(json!({"ServiceTimeout": "300"})));
    event["ResponseURL"] = json!(bucket.url("slow-hand-on"));

    let first = function.invoke(event.to_string(), timeout).await.unwrap();
    assert!(
        matches!(first, local_lambda::Outcome::Response(_)),
        "{first:?}"
    );
    lambda
        .wait_idle(FUNCTION, Duration::from_secs(120))
        .await
        .unwrap();
    // Late answers would come within the function's deadline plus the PUT's retries.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let answers = bucket.received_for("slow-hand-on");
    assert_eq!(
        answers.len(),
        1,
        "exactly one answer: {:#?}",
        answers.iter().map(|a| a.json()).collect::<Vec<_>>()
    );
    let answer = answers[0].json();
    assert_eq!(status(&answer), "SUCCESS", "{answer:#}");
    assert_eq!(w.users().len(), 40, "{:?}", w.usernames());
    assert_eq!(
        w.emulator.answers("CreateUser", 200),
        40,
        "each user created once"
    );
    // The case under test did happen: the first run could not confirm its hand-on.
    let logs = function.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("the hand-on was not confirmed")),
        "the hand-on did not outlast the run: {logs:#?}"
    );
    function.stop().await;
}

/// When Lambda refuses the hand-on (here: no such function), the event is certainly not queued:
/// the run itself answers FAILED with how far it got, once, keeping the physical id so that the
/// rollback removes the users made.
#[tokio::test]
async fn a_refused_hand_on_is_answered_failed_by_the_run_itself() {
    let w = World::new("refused-hand-on").await;
    let agents = w.group("Agents").await;
    for i in 0..40 {
        let name = format!("r{i:02}");
        let id = w
            .user(&name, &format!("{name}@example.com"), &name, "Tester")
            .await;
        w.join(&agents, &id).await;
    }
    let bucket = ResponseBucket::start().await.unwrap();
    let lambda = LambdaService::start().await.unwrap();
    let function = spawn(
        &w,
        &[
            ("AWS_ENDPOINT_URL_LAMBDA", lambda.endpoint()),
            ("CONNECT_REQUESTS_PER_SECOND", "4".to_owned()),
            ("CONNECT_REQUEST_BURST", "1".to_owned()),
        ],
    )
    .await;
    let mut event = w.create_event(&w.props(json!({"ServiceTimeout": "300"})));
    event["ResponseURL"] = json!(bucket.url("refused"));
    let outcome = function
        .invoke(event.to_string(), Duration::from_secs(12))
        .await
        .unwrap();
    assert!(
        matches!(outcome, local_lambda::Outcome::Response(_)),
        "{outcome:?}"
    );
    let answers = bucket.received_for("refused");
    assert_eq!(answers.len(), 1);
    let answer = answers[0].json();
    assert_eq!(status(&answer), "FAILED", "{answer:#}");
    assert_eq!(answer["PhysicalResourceId"], w.physical_id());
    let made = w.users().len();
    assert!((1..40).contains(&made), "{made}");
    let reason = reason(&answer);
    assert!(
        reason.contains("could not continue")
            && reason.contains("ResourceNotFoundException")
            && reason.contains(&format!("created {made},")),
        "{reason}"
    );
    assert!(lambda.history().is_empty(), "nothing was queued");
    function.stop().await;
}

/// The sample events in `events/connect-user-import`, as they are (only the instance, the
/// identity store and the ResponseURL point at the emulators), run through the compiled function
/// in order: the Create imports the agents and supervisors, the Update keeps them with the new
/// after-contact-work limit, the Delete removes them.
#[tokio::test]
async fn the_sample_events_run_through_the_compiled_function() {
    let w = World::new("sample-events").await;
    let agents = w.group("Connect Agents").await;
    let supervisors = w.group("Connect Supervisors").await;
    let ann = w.user("ann", "ann@example.com", "Ann", "Agent").await;
    let sue = w.user("sue", "sue@example.com", "Sue", "Supervisor").await;
    w.join(&agents, &ann).await;
    w.join(&supervisors, &sue).await;
    let bucket = ResponseBucket::start().await.unwrap();
    // The samples' stack is the one the function serves.
    let sample_stack = format!(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/connect-sso/{SAMPLE_STACK_GUID}"
    );
    let function = spawn(
        &w,
        &[
            ("CONNECT_REQUESTS_PER_SECOND", "100".to_owned()),
            ("CONNECT_SSO_STACK_ID", sample_stack),
        ],
    )
    .await;
    let sample = |name: &str| -> Value {
        let path = format!(
            "{}/../../events/connect-user-import/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("4b2c8f6e-5a1d-4c3b-9e7f-0d1c2b3a4f5e", &w.instance.id)
            .replace("d-9067a1b2c3", &w.store);
        let mut event: Value = serde_json::from_str(&text).unwrap();
        event["ResponseURL"] = json!(bucket.url(name));
        event
    };
    let run = |event: Value, key: &'static str| {
        let function = Arc::clone(&function);
        let bucket = &bucket;
        async move {
            let outcome = function
                .invoke(event.to_string(), Duration::from_secs(60))
                .await
                .unwrap();
            assert!(
                matches!(outcome, local_lambda::Outcome::Response(_)),
                "{outcome:?}"
            );
            let answers = bucket.received_for(key);
            assert_eq!(answers.len(), 1, "one answer to the {key} event");
            answers[0].json()
        }
    };

    let created = run(sample("create"), "create").await;
    assert_eq!(status(&created), "SUCCESS", "{created:#}");
    // Connect Supervisors is a GroupRules group only: it sets profiles, imports no one.
    assert_eq!(created["Data"]["Created"], "1", "{created:#}");
    let physical_id = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    let stack_guid = SAMPLE_STACK_GUID;
    assert_eq!(
        physical_id,
        format!("{}/{stack_guid}/ConnectUsers", w.instance.id)
    );
    assert_eq!(w.usernames(), ["ann@example.com"]);
    let ann = w.user_named("ann@example.com");
    assert_eq!(ann.security_profile_ids, [w.security_profile("Agent")]);
    assert_eq!(ann.after_contact_work_time_limit, 0);

    let updated = run(sample("update"), "update").await;
    assert_eq!(status(&updated), "SUCCESS", "{updated:#}");
    assert_eq!(updated["PhysicalResourceId"], physical_id.as_str());
    assert_eq!(w.usernames(), ["ann@example.com", "sue@example.com"]);
    let sue = w.user_named("sue@example.com");
    let mut profiles = sue.security_profile_ids.clone();
    profiles.sort();
    let mut wanted = vec![
        w.security_profile("CallCenterManager"),
        w.security_profile("Agent"),
    ];
    wanted.sort();
    assert_eq!(profiles, wanted);
    assert!(
        w.users()
            .iter()
            .all(|u| u.after_contact_work_time_limit == 30),
        "the Update's after-contact-work limit: {:?}",
        w.users()
    );

    let deleted = run(sample("delete"), "delete").await;
    assert_eq!(status(&deleted), "SUCCESS", "{deleted:#}");
    assert!(w.users().is_empty(), "{:?}", w.usernames());
    function.stop().await;
}

/// A continuation event past the hop bound (no run of ours sends one: a forged or replayed
/// event) is answered FAILED with the progress it carries, before any call to Connect.
#[tokio::test]
async fn a_continuation_past_the_hop_bound_is_answered_failed_with_no_call() {
    use custom_resource::{CONTINUATION_KEY, MAX_HOPS};
    let w = World::new("past-hop-bound").await;
    let agents = w.group("Agents").await;
    let ann = w.user("ann", "ann@example.com", "Ann", "Agent").await;
    w.join(&agents, &ann).await;
    let bucket = ResponseBucket::start().await.unwrap();
    let function = spawn(&w, &[]).await;
    let mut event = w.create_event(&w.props(json!({})));
    event["ResponseURL"] = json!(bucket.url("past-bound"));
    event[CONTINUATION_KEY] = json!({
        "Hops": MAX_HOPS + 1, "AnswerByMs": u64::MAX / 2,
        "State": {"Created": 12, "Updated": 3, "Deleted": 0},
        "Progress": "created 12, updated 3, deleted 0"
    });
    let outcome = function
        .invoke(event.to_string(), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        matches!(outcome, local_lambda::Outcome::Response(_)),
        "{outcome:?}"
    );
    let answers = bucket.received_for("past-bound");
    assert_eq!(answers.len(), 1);
    let answer = answers[0].json();
    assert_eq!(status(&answer), "FAILED", "{answer:#}");
    let reason = reason(&answer);
    assert!(
        reason.contains(&format!("past its bound of {MAX_HOPS} hand-ons"))
            && reason.contains("created 12, updated 3, deleted 0"),
        "{reason}"
    );
    assert!(
        w.emulator.call_counts().is_empty(),
        "{:?}",
        w.emulator.call_counts()
    );
    assert!(w.users().is_empty());
    function.stop().await;
}
