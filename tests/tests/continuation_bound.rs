//! A long import at its continuation's hop bound, on the compiled connect-user-import binary
//! through the Runtime API, against the Connect emulator, moto's identity store and Lambda's
//! Invoke API: the run at the bound does not hand on but answers CloudFormation FAILED with the
//! progress of the whole chain; never silence.
//!
//! Needs `cargo build --workspace --bins` and moto (`scripts/with-moto`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use custom_resource::{CONTINUATION_KEY, MAX_HOPS};
use end_to_end::*;
use local_lambda::{FunctionProcess, LambdaService, Outcome, ResponseBucket, workspace_binary};
use serde_json::json;

#[tokio::test]
async fn the_run_at_the_hop_bound_answers_failed_with_the_chains_progress() {
    let connect = connect_emulator::Emulator::start(connect_emulator::Options::default())
        .await
        .expect("emulator");
    let instance = connect.create_instance(&test_support::unique("bound"), "SAML");
    let config = test_support::sdk_config(Some(&test_support::moto_endpoint())).await;
    let identity_store = aws_sdk_identitystore::Client::new(&config);
    let store = format!("d-{:010x}", fastrand::u64(..) & 0xff_ffff_ffff);
    let group = identity_store
        .create_group()
        .identity_store_id(&store)
        .display_name("Agents")
        .send()
        .await
        .expect("CreateGroup")
        .group_id()
        .to_owned();
    for n in 0..40 {
        directory_member(&identity_store, &store, &group, &format!("b{n:02}")).await;
    }
    let lambda = LambdaService::start().await.expect("Invoke API");
    let bucket = ResponseBucket::start().await.expect("bucket");
    let environment: Vec<(String, String)> = [
        ("CONNECT_SSO_STACK_ID", OUR_STACK.to_owned()),
        ("AWS_ENDPOINT_URL_CONNECT", connect.endpoint()),
        (
            "AWS_ENDPOINT_URL_IDENTITYSTORE",
            test_support::moto_endpoint(),
        ),
        ("AWS_ENDPOINT_URL_LAMBDA", lambda.endpoint()),
        // 4 writes a second: 40 users need about 10 s, more than one 12 s run has.
        ("CONNECT_REQUESTS_PER_SECOND", "4".to_owned()),
        ("CONNECT_REQUEST_BURST", "1".to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    let binary = workspace_binary("connect-user-import").expect("built");
    let function = Arc::new(
        FunctionProcess::spawn(&binary, &environment)
            .await
            .expect("spawn"),
    );
    function
        .initialised(Duration::from_secs(30))
        .await
        .expect("start-up");
    let timeout = Duration::from_secs(12);
    // Any hand-on would run here, and answer: there must be none.
    lambda.register("connect-user-import", Arc::clone(&function), timeout);

    let far = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
        + 3_000_000;
    let mut event = json!({
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:connect-user-import",
        "ResponseURL": bucket.url("bound"),
        "StackId": OUR_STACK,
        "RequestId": test_support::unique("request"),
        "LogicalResourceId": "Users",
        "ResourceType": "Custom::ConnectUserImport",
        "ResourceProperties": {"InstanceId": instance.id, "IdentityStoreId": store,
            "Groups": ["Agents"], "ServiceTimeout": "3600"},
    });
    // As the run after MAX_HOPS hand-ons receives it: earlier runs created 7 users.
    event[CONTINUATION_KEY] = json!({
        "Hops": MAX_HOPS, "AnswerByMs": far, "State": {"Created": 7, "Updated": 0, "Deleted": 0},
        "Progress": "created 7, updated 0, deleted 0"
    });
    let outcome = function
        .invoke(event.to_string(), timeout)
        .await
        .expect("invoke");
    assert!(matches!(outcome, Outcome::Response(_)), "{outcome:?}");
    lambda
        .wait_idle("connect-user-import", Duration::from_secs(60))
        .await
        .expect("idle");
    assert!(lambda.history().is_empty(), "handed on past the bound");
    let answers = bucket.received_for("bound");
    assert_eq!(answers.len(), 1, "exactly one answer");
    let answer = answers[0].json();
    assert_eq!(answer["Status"], "FAILED", "{answer:#}");
    let made = connect.users(&instance.id).len();
    assert!((1..40).contains(&made), "{made} users made in the run");
    let reason = answer["Reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!(
            "reached the continuation's bound of {MAX_HOPS} hand-ons"
        )) && reason.contains(&format!("after {} runs", MAX_HOPS + 1))
            && reason.contains(&format!("created {},", made + 7)),
        "the chain's progress: {reason}"
    );
    let logs = function.logs();
    assert!(
        logs.iter().all(|line| !line.contains(bucket.signature())),
        "a log line shows the ResponseURL"
    );
    function.stop().await;
}
