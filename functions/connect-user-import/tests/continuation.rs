//! Imports larger than one run: the request is handed from run to run (captured in-process here;
//! `dev/local-stack` runs the same through the Lambda Invoke API), CloudFormation gets exactly
//! one response, and a crashed run is redelivered and resumes without duplicates.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_emulator::{Options, Quota as EmulatorQuota};
use connect_user_import::limiter::Quota;
use connect_user_import::{ConnectUserImport, ImportOptions};
use custom_resource::{CONTINUATION_KEY, InProcessRun};
use futures::StreamExt;
use serde_json::{Value, json};
use support::*;

/// `count` directory users `<prefix>0000@example.com`… in `group`, made 16 at a time.
async fn many_members(w: &World, group: &str, prefix: &str, count: usize) {
    futures::stream::iter(0..count)
        .map(|i| async move {
            let name = format!("{prefix}{i:04}");
            let id = w
                .user(&name, &format!("{name}@example.com"), &name, "Tester")
                .await;
            w.join(group, &id).await;
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

fn expected(prefix: &str, count: usize) -> Vec<String> {
    let mut names: Vec<String> = (0..count)
        .map(|i| format!("{prefix}{i:04}@example.com"))
        .collect();
    names.sort();
    names
}

/// One run of `event`: its response document, or the event it handed on.
enum Run {
    Answered(Value),
    HandedOn(Value),
}

async fn run_once(resource: &Arc<ConnectUserImport>, event: Value, limit: Duration) -> Run {
    let ran = custom_resource::run_in_process(Arc::clone(resource), event, limit)
        .await
        .unwrap();
    match ran {
        InProcessRun {
            answer: Some(document),
            handed_on: None,
        } => Run::Answered(document),
        InProcessRun {
            answer: None,
            handed_on: Some(next),
        } => Run::HandedOn(next),
        other => panic!("a run answers or hands on, exactly one of the two: {other:#?}"),
    }
}

fn resource(w: &World, options: ImportOptions) -> Arc<ConnectUserImport> {
    Arc::new(ConnectUserImport::new(w.importer(options)))
}

/// 2,000 users, several runs of a few seconds each, a throttled emulator, and one run killed
/// mid-way and delivered again (as Lambda retries a crashed asynchronous invocation).
///
/// The emulator throttles with a token bucket, but at 200 requests/s (burst 20; the client's
/// limiter at 150/s, burst 5) rather than Connect's 2/s, so that 2,000 creates take about 10 s instead of 17
/// minutes; the runs are cut to ~6 s each so that the import still needs several of them. The
/// users-per-instance quota is raised to 2,500 (a real instance needs a quota increase too).
#[tokio::test]
async fn two_thousand_users_across_runs_with_a_crash_end_exactly_with_one_response() {
    let quota = EmulatorQuota {
        requests_per_second: 200.0,
        burst: 20,
    };
    let options = Options {
        user_limit: 2_500,
        throttle: Some(quota),
        ..Options::default()
    };
    let w = World::with_options("two-thousand", options, "SAML").await;
    let agents = w.group("Agents").await;
    many_members(&w, &agents, "u", 2_000).await;
    let options = ImportOptions {
        quota: Quota {
            requests_per_second: 150.0,
            burst: 5,
        },
        call_time: Duration::from_millis(300),
        ..ImportOptions::default()
    };
    let resource = resource(&w, options.clone());
    let props = w.props(json!({"ServiceTimeout": "600"}));
    let started = Instant::now();
    // Each run: 12 s of Lambda time, of which the core keeps 4 s to answer and the import 2 s
    // to hand on; reading both sides takes about 2 s of the rest.
    let run_time = Duration::from_secs(12);
    let mut event = w.create_event(&props);
    let mut documents = Vec::new();
    let mut runs = 0;
    let mut crashed = false;
    let mut made_by_crash = 0;
    while documents.is_empty() {
        runs += 1;
        assert!(runs < 40, "no end after {runs} runs");
        if runs == 2 && !crashed {
            // The third run dies 1.5 s in, without answering or handing on: a process of its
            // own (a runtime on its own thread, dropped mid-way, its calls cut off).
            let users_before = w.users().len();
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let dying = {
                let _inside = runtime.enter();
                ConnectUserImport::new(w.importer(options.clone()))
            };
            let dying_event = event.clone();
            let (kill, killed) = tokio::sync::oneshot::channel::<()>();
            // Its own thread: this test's runtime must keep serving the emulator meanwhile.
            let process = std::thread::spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        _ = killed => {}
                        // Ending at all (answering or handing on) would be ending before the kill.
                        ran = custom_resource::run_in_process(Arc::new(dying), dying_event, run_time) => {
                            panic!("the run ended before it was killed: {ran:?}");
                        }
                    }
                });
                runtime.shutdown_background();
            });
            // Killed once it has made some users, in the middle of its writes.
            let give_up = Instant::now() + run_time;
            while w.users().len() < users_before + 100 && Instant::now() < give_up {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            kill.send(()).unwrap();
            tokio::task::spawn_blocking(move || process.join())
                .await
                .unwrap()
                .unwrap();
            // Requests the dying run had sent are either served or not: let the emulator settle.
            tokio::time::sleep(Duration::from_millis(300)).await;
            made_by_crash = w.users().len() - users_before;
            assert!(made_by_crash > 0, "the crashed run had made users");
            crashed = true;
            // Lambda's retry: the same event again.
            continue;
        }
        match run_once(&resource, event.clone(), run_time).await {
            Run::Answered(document) => documents.push(document),
            Run::HandedOn(next) => {
                eprintln!(
                    "run {runs} handed on at {:?}: {} users",
                    started.elapsed(),
                    w.users().len()
                );
                assert_eq!(next["ResponseURL"], event["ResponseURL"]);
                assert_eq!(next["RequestId"], event["RequestId"]);
                assert_eq!(
                    next[CONTINUATION_KEY]["Hops"],
                    json!(runs - u64::from(crashed))
                );
                event = next;
            }
        }
    }
    assert_eq!(documents.len(), 1, "exactly one response");
    let answer = &documents[0];
    assert_eq!(status(answer), "SUCCESS", "{answer:#}");
    assert_eq!(answer["PhysicalResourceId"], w.physical_id());
    assert!(
        runs >= 4,
        "only {runs} runs: the deadline did not force several"
    );
    // Users created by the crashed run (which never answered) are unchanged to the run after
    // it: exactly those, no more.
    let [created, updated, deleted, unchanged, skipped] = counts(answer);
    assert_eq!(
        (created, unchanged),
        (2_000 - made_by_crash as u64, made_by_crash as u64),
        "{answer:#}"
    );
    assert_eq!((updated, deleted, skipped), (0, 0, 0));
    assert_eq!(w.usernames(), expected("u", 2_000), "the exact end state");
    assert!(w.users().iter().all(|user| w.owned(user)));
    // Nothing created twice: exactly 2,000 CreateUser calls made a user, none was refused as a
    // duplicate (a second create of a name answers 409 DuplicateResourceException, which the
    // import would otherwise absorb as an unchanged user), and every other call was a throttle.
    let creates = w.calls("CreateUser");
    let (made, duplicates, throttled) = (
        w.emulator.answers("CreateUser", 200),
        w.emulator.answers("CreateUser", 409),
        w.emulator.answers("CreateUser", 429),
    );
    assert_eq!((made, duplicates), (2_000, 0), "{creates} CreateUser calls");
    assert_eq!(
        creates,
        made + throttled,
        "no CreateUser answered otherwise"
    );
}

/// With `OnDeadline: Fail`, when the end cannot be reached before the ServiceTimeout, the last
/// run answers FAILED with how far it got, keeping the physical id (a rollback Delete then removes
/// what was made). (By default it answers SUCCESS in time and goes on in the background:
/// `tests/tests/import_past_the_deadline.rs` at the workspace root.)
#[tokio::test]
async fn an_import_that_cannot_end_in_time_fails_early_with_how_far_it_got() {
    let w = World::new("out-of-time").await;
    let agents = w.group("Agents").await;
    many_members(&w, &agents, "t", 120).await;
    let resource = resource(
        &w,
        ImportOptions {
            quota: Quota {
                requests_per_second: 5.0,
                burst: 1,
            },
            call_time: Duration::from_millis(300),
            ..ImportOptions::default()
        },
    );
    // ServiceTimeout 28 s: the answer is due 7 s before it, 21 s after the first run starts; a
    // run is not started with less than 10 s left, so the runs of ~4 s stop after ~12 s.
    let props = w.props(json!({"ServiceTimeout": "28", "OnDeadline": "Fail"}));
    let started = Instant::now();
    let mut event = w.create_event(&props);
    let mut runs = 0;
    let answer = loop {
        runs += 1;
        match run_once(&resource, event.clone(), Duration::from_secs(8)).await {
            Run::Answered(document) => break document,
            Run::HandedOn(next) => event = next,
        }
    };
    // The promise is an answer before the ServiceTimeout (28 s); the runs themselves stop after
    // about 12 s, so this bound is generous on a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(28),
        "answered after the ServiceTimeout"
    );
    assert_eq!(status(&answer), "FAILED", "{answer:#}");
    assert!(runs >= 2, "{runs} runs: {answer:#}");
    assert_eq!(answer["PhysicalResourceId"], w.physical_id());
    let made = w.users().len();
    let reason = reason(&answer);
    assert!(
        reason.contains("could not finish before the custom resource's ServiceTimeout")
            && reason.contains(&format!("after {runs} runs"))
            && reason.contains(&format!("created {made},"))
            && reason.contains(&format!("{} writes not made", 120 - made)),
        "{reason}"
    );
    assert!((1..120).contains(&made), "{made}");

    // The rollback's Delete removes every user made, whatever run made it.
    let deleted = w
        .send(
            &Arc::new(ConnectUserImport::new(w.importer(ImportOptions {
                quota: fast_quota(),
                ..ImportOptions::default()
            }))),
            w.delete_event(&w.physical_id(), &props),
        )
        .await;
    assert_eq!(status(&deleted), "SUCCESS", "{deleted:#}");
    assert!(w.users().is_empty());
}

/// The chain of runs has its own bound: the run at the bound does not hand on but answers
/// FAILED with its progress (what earlier runs and it created, what remains), keeping the
/// physical id; an event past the bound (which no run of ours sends) does nothing and says so.
#[tokio::test]
async fn a_chain_at_its_hop_bound_answers_failed_with_its_progress() {
    use custom_resource::MAX_HOPS;
    let w = World::new("hop-bound").await;
    let agents = w.group("Agents").await;
    many_members(&w, &agents, "b", 60).await;
    let resource = resource(
        &w,
        ImportOptions {
            quota: Quota {
                requests_per_second: 5.0,
                burst: 1,
            },
            call_time: Duration::from_millis(300),
            ..ImportOptions::default()
        },
    );
    let props = w.props(json!({"ServiceTimeout": "3600"}));
    let mut event = w.create_event(&props);
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 3_000_000;
    // As the run after MAX_HOPS hand-ons receives it: earlier runs created 7 users.
    event[CONTINUATION_KEY] = json!({
        "Hops": MAX_HOPS, "AnswerByMs": far, "State": {"Created": 7, "Updated": 0, "Deleted": 0},
        "Progress": "created 7, updated 0, deleted 0"
    });
    let answer = match run_once(&resource, event.clone(), Duration::from_secs(9)).await {
        Run::Answered(document) => document,
        Run::HandedOn(next) => panic!("handed on past the bound: {next:#}"),
    };
    assert_eq!(status(&answer), "FAILED", "{answer:#}");
    assert_eq!(answer["PhysicalResourceId"], w.physical_id());
    let made = w.users().len();
    assert!((1..60).contains(&made), "{made}");
    let why = reason(&answer);
    assert!(
        why.contains(&format!(
            "reached the continuation's bound of {MAX_HOPS} hand-ons"
        )) && why.contains(&format!("after {} runs", MAX_HOPS + 1))
            && why.contains(&format!("created {},", made + 7))
            && why.contains(&format!("{} writes not made, remaining", 60 - made)),
        "{why}"
    );

    // Past the bound: refused before any read or write.
    let calls = w.emulator.call_counts();
    event[CONTINUATION_KEY]["Hops"] = json!(MAX_HOPS + 1);
    let refused = match run_once(&resource, event, Duration::from_secs(9)).await {
        Run::Answered(document) => document,
        Run::HandedOn(next) => panic!("handed on past the bound: {next:#}"),
    };
    assert_eq!(status(&refused), "FAILED", "{refused:#}");
    let reason = reason(&refused);
    assert!(
        reason.contains(&format!("past its bound of {MAX_HOPS} hand-ons"))
            && reason.contains("nothing was done")
            && reason.contains("created 7,"),
        "{reason}"
    );
    assert_eq!(w.emulator.call_counts(), calls, "no call at all");
}
