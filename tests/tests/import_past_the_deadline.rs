//! An import larger than CloudFormation's wait, on the compiled connect-user-import binary as
//! Lambda runs it, at the emulated Connect quota, with the wait (ServiceTimeout) shortened to 60 s:
//! the Create is answered SUCCESS in time with `ImportComplete` false and what remains, the rest
//! is imported in the background, and the end state is the directory exactly; an Update during
//! the background run stops it and its own import takes over.
//!
//! CloudFormation's side is played by the test: a response bucket, a stand-in answering
//! DescribeStacks and DescribeStackResource (the background guard's reads), and Lambda's Invoke
//! API (the hops). Needs `cargo build --workspace --bins` and moto (`scripts/with-moto`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use end_to_end::*;
use local_lambda::{FunctionProcess, LambdaService, Outcome, ResponseBucket, StackStatus};
use serde_json::{Value, json};

const FUNCTION: &str = "connect-user-import";
const RESOURCE_TYPE: &str = "Custom::ConnectUserImport";
/// The rate the emulated Connect allows, and the import paces at.
const RATE: f64 = 4.0;
const BURST: u32 = 5;
/// CloudFormation's wait for one answer, shortened from the hour.
const SERVICE_TIMEOUT_SECONDS: u64 = 60;
/// Each run's Lambda timeout.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);
/// Directory users: 40 s of writes at the quota; CloudFormation's answer is due 45 s after the
/// first run starts (the ServiceTimeout less its quarter), and the first run of 20 s makes about
/// 50, so the rest no longer fits after it.
const AGENTS: usize = 160;

struct Scene {
    /// The SSM parameter (in moto) the import records its progress in.
    progress_parameter: String,
    connect: connect_emulator::Emulator,
    instance: connect_emulator::Instance,
    store: String,
    lambda: LambdaService,
    bucket: ResponseBucket,
    stacks: StackStatus,
}

impl Scene {
    async fn new(test: &str) -> Scene {
        let quota = connect_emulator::Quota {
            requests_per_second: RATE,
            burst: BURST,
        };
        let connect = connect_emulator::Emulator::start(connect_emulator::Options {
            throttle: Some(quota),
            ..connect_emulator::Options::default()
        })
        .await
        .expect("emulator");
        let instance = connect.create_instance(&test_support::unique(test), "SAML");
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
        for n in 0..AGENTS {
            directory_member(&identity_store, &store, &group, &format!("{test}{n:03}")).await;
        }
        let stacks = StackStatus::start().await.expect("CloudFormation stand-in");
        stacks.set_stack(OUR_STACK, "CREATE_IN_PROGRESS");
        stacks.set_resource(OUR_STACK, "Users", "", RESOURCE_TYPE, "CREATE_IN_PROGRESS");
        Scene {
            progress_parameter: format!(
                "/connect-sso/{}/user-import-progress",
                test_support::unique(test)
            ),
            connect,
            instance,
            store,
            lambda: LambdaService::start().await.expect("Invoke API"),
            bucket: ResponseBucket::start().await.expect("bucket"),
            stacks,
        }
    }

    fn properties(&self, extra: Value) -> Value {
        let mut properties = json!({
            "InstanceId": self.instance.id,
            "IdentityStoreId": self.store,
            "Groups": ["Agents"],
        });
        if let (Some(properties), Some(extra)) = (properties.as_object_mut(), extra.as_object()) {
            properties.extend(extra.clone());
        }
        properties
    }

    /// A sandbox of the function as the stack configures it for `properties`, serving the hops.
    async fn sandbox(&self, properties: &Value) -> Arc<FunctionProcess> {
        let environment: Vec<(String, String)> = [
            ("CONNECT_SSO_STACK_ID", OUR_STACK.to_owned()),
            ("CONNECT_SSO_SYNC_RESOURCE", "Users".to_owned()),
            ("CONNECT_SSO_SYNC_PROPERTIES", properties.to_string()),
            ("AWS_ENDPOINT_URL_CONNECT", self.connect.endpoint()),
            (
                "AWS_ENDPOINT_URL_IDENTITYSTORE",
                test_support::moto_endpoint(),
            ),
            ("AWS_ENDPOINT_URL_LAMBDA", self.lambda.endpoint()),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", self.stacks.endpoint()),
            ("CONNECT_REQUESTS_PER_SECOND", RATE.to_string()),
            ("CONNECT_REQUEST_BURST", BURST.to_string()),
            (
                "CONNECT_SSO_PROGRESS_PARAMETER",
                self.progress_parameter.clone(),
            ),
            ("AWS_ENDPOINT_URL_SSM", test_support::moto_endpoint()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        let binary = local_lambda::workspace_binary(FUNCTION).expect("built");
        let function = Arc::new(
            FunctionProcess::spawn(&binary, &environment)
                .await
                .expect("spawn"),
        );
        function
            .initialised(Duration::from_secs(30))
            .await
            .expect("start-up");
        // Lambda runs the hops on the stack's current configuration.
        self.lambda
            .register(FUNCTION, Arc::clone(&function), RUN_TIMEOUT);
        function
    }

    fn event(&self, request_type: &str, key: &str, properties: &Value) -> Value {
        let mut resource_properties = properties.clone();
        resource_properties["ServiceTimeout"] = json!(SERVICE_TIMEOUT_SECONDS.to_string());
        let mut event = json!({
            "RequestType": request_type,
            "ServiceToken": format!("arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"),
            "ResponseURL": self.bucket.url(key),
            "StackId": OUR_STACK,
            "RequestId": test_support::unique("request"),
            "LogicalResourceId": "Users",
            "ResourceType": RESOURCE_TYPE,
            "ResourceProperties": resource_properties,
        });
        if request_type == "Update" {
            event["PhysicalResourceId"] = json!(self.physical_id());
            event["OldResourceProperties"] = self.properties(json!({}));
        }
        event
    }

    fn physical_id(&self) -> String {
        let guid = OUR_STACK.rsplit('/').next().unwrap_or_default();
        format!("{}/{guid}/Users", self.instance.id)
    }

    /// The one answer CloudFormation got at `key`, once the request's run has ended, recorded as
    /// CloudFormation records it (the resource, then the stack, complete).
    async fn answered(&self, key: &str, operation: &str) -> Value {
        let answers = self.bucket.received_for(key);
        assert_eq!(answers.len(), 1, "one answer to the {operation}");
        let answer = answers[0].json();
        assert_eq!(answer["Status"], "SUCCESS", "{answer:#}");
        let status = format!("{operation}_COMPLETE");
        let id = answer["PhysicalResourceId"].as_str().unwrap_or_default();
        self.stacks
            .set_resource(OUR_STACK, "Users", id, RESOURCE_TYPE, &status);
        self.stacks.set_stack(OUR_STACK, &status);
        answer
    }

    fn usernames(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .connect
            .users(&self.instance.id)
            .into_iter()
            .map(|user| user.username)
            .collect();
        names.sort();
        names
    }

    fn directory(&self, test: &str) -> Vec<String> {
        (0..AGENTS)
            .map(|n| format!("{test}{n:03}@example.com"))
            .collect()
    }

    async fn wait_idle(&self) {
        self.lambda
            .wait_idle(FUNCTION, Duration::from_secs(180))
            .await
            .expect("the background chain ends");
        // An answer sent late would arrive within the PUT's retries.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// What `connect-sso status --parameter <the import's> --json [extra]` prints: its last JSON line.
async fn status(scene: &Scene, extra: &[&str]) -> Value {
    let binary = local_lambda::workspace_binary("connect-sso").expect("built");
    let output = tokio::process::Command::new(binary)
        .args(["status", "--parameter", &scene.progress_parameter, "--json"])
        .args(extra)
        .env("AWS_ENDPOINT_URL", test_support::moto_endpoint())
        .env("AWS_REGION", test_support::REGION)
        .env("AWS_ACCESS_KEY_ID", test_support::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("connect-sso status ends")
        .expect("connect-sso status runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // --watch prints one line per change; without it, one pretty document.
    let last = if extra.contains(&"--watch") {
        text.lines().last().unwrap_or_default().to_owned()
    } else {
        text
    };
    serde_json::from_str(&last).unwrap_or_else(|error| panic!("{error}: {last}"))
}

fn output(answer: &Value, key: &str) -> String {
    answer["Data"][key].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_create_past_the_deadline_answers_in_time_and_finishes_in_the_background() {
    let test = "late";
    let scene = Scene::new(test).await;
    let properties = scene.properties(json!({}));
    let function = scene.sandbox(&properties).await;

    let started = Instant::now();
    let first = function
        .invoke(
            scene.event("Create", "create", &properties).to_string(),
            RUN_TIMEOUT,
        )
        .await
        .expect("invoke");
    assert!(matches!(first, Outcome::Response(_)), "{first:?}");
    let answered_after = started.elapsed();
    let answer = scene.answered("create", "CREATE").await;
    assert!(
        answered_after < Duration::from_secs(SERVICE_TIMEOUT_SECONDS),
        "answered after {answered_after:?}"
    );
    assert_eq!(output(&answer, "ImportComplete"), "false", "{answer:#}");
    let created: usize = output(&answer, "Created").parse().expect("Created");
    let remaining: usize = output(&answer, "UsersRemaining")
        .parse()
        .expect("UsersRemaining");
    assert!(created > 0 && remaining > 0, "{answer:#}");
    assert_eq!(created + remaining, AGENTS, "{answer:#}");
    assert_eq!(answer["PhysicalResourceId"], scene.physical_id());
    // What an operator sees meanwhile: the import goes on.
    let going_on = status(&scene, &[]).await;
    assert!(
        matches!(going_on["state"].as_str(), Some("Continuing" | "Importing")),
        "{going_on:#}"
    );
    assert!(going_on["remaining"].as_u64() > Some(0), "{going_on:#}");

    scene.wait_idle().await;
    // `--watch` ends once the record is final: the background runs recorded the end.
    let finished = status(&scene, &["--watch"]).await;
    assert_eq!(finished["state"], "Complete", "{finished:#}");
    assert_eq!(finished["remaining"], 0, "{finished:#}");
    assert_eq!(finished["done"]["create"], AGENTS, "{finished:#}");
    assert_eq!(scene.usernames(), scene.directory(test));
    assert_eq!(
        scene.connect.answers("CreateUser", 200),
        AGENTS as u64,
        "each user created once: {:?}",
        scene.connect.call_counts()
    );
    assert_eq!(
        scene.connect.answers("CreateUser", 409),
        0,
        "a duplicate create"
    );
    assert_eq!(
        scene.bucket.received_for("create").len(),
        1,
        "a second answer to CloudFormation"
    );
    let hops = scene.lambda.history();
    assert!(!hops.is_empty(), "nothing ran in the background");
    assert!(
        hops.iter()
            .all(|hop| !String::from_utf8_lossy(&hop.payload).contains("ResponseURL")),
        "a background hop carries the ResponseURL"
    );
    let logs = function.logs();
    assert!(
        logs.iter()
            .any(|line| line.contains("the background continuation finished")),
        "{logs:#?}"
    );
    function.stop().await;
}

#[tokio::test]
async fn an_update_during_the_background_run_stops_it_and_its_own_import_takes_over() {
    let test = "taken";
    let scene = Scene::new(test).await;
    let properties = scene.properties(json!({}));
    let creating = scene.sandbox(&properties).await;
    let first = creating
        .invoke(
            scene.event("Create", "create", &properties).to_string(),
            RUN_TIMEOUT,
        )
        .await
        .expect("invoke");
    assert!(matches!(first, Outcome::Response(_)), "{first:?}");
    let answer = scene.answered("create", "CREATE").await;
    assert_eq!(output(&answer, "ImportComplete"), "false", "{answer:#}");
    let created: usize = output(&answer, "Created").parse().expect("Created");
    // The background run is writing.
    let writing = Instant::now() + Duration::from_secs(30);
    while scene.connect.users(&scene.instance.id).len() < created + 4 {
        assert!(Instant::now() < writing, "no background writes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The stack is updated: every agent now auto-accepts. Lambda runs the update in a new
    // sandbox with the new configuration while the old one is still busy.
    scene.stacks.set_stack(OUR_STACK, "UPDATE_IN_PROGRESS");
    let changed = scene.properties(json!({"AutoAccept": "true"}));
    let updating = scene.sandbox(&changed).await;
    let update = updating
        .invoke(
            scene.event("Update", "update", &changed).to_string(),
            RUN_TIMEOUT,
        )
        .await
        .expect("invoke");
    assert!(matches!(update, Outcome::Response(_)), "{update:?}");
    scene.answered("update", "UPDATE").await;

    scene.wait_idle().await;
    assert_eq!(scene.usernames(), scene.directory(test));
    let users = scene.connect.users(&scene.instance.id);
    assert!(
        users.iter().all(|user| user.auto_accept),
        "the update's import did not finish: {:?}",
        users
            .iter()
            .filter(|user| !user.auto_accept)
            .map(|user| &user.username)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        scene.connect.answers("CreateUser", 200),
        AGENTS as u64,
        "each user created once: {:?}",
        scene.connect.call_counts()
    );
    assert_eq!(scene.bucket.received_for("create").len(), 1);
    assert_eq!(scene.bucket.received_for("update").len(), 1);
    // The Create's background run stopped for the update, between batches or at its next hop.
    let logs = creating.logs();
    assert!(
        logs.iter()
            .any(|line| line.contains("the stack moved on from the operation that was answered")),
        "the Create's background run was not stopped by the update: {logs:#?}"
    );
    creating.stop().await;
    updating.stop().await;
}
