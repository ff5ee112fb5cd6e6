//! Pacing at Connect's quota: the import uses the burst, then writes at the quota itself (not a
//! safety share of it) without one throttle, and a new run (a continuation's next hop) paces on
//! from the bucket the last one left instead of spending a burst Connect has not refilled.
//!
//! The emulator throttles with Connect's token bucket at 10 requests/s, burst 5 (Connect's
//! default is 2/s: the same shape, five times faster, so the test takes seconds).
// assumption: connect-throttle-token-bucket

mod support;

use std::time::{Duration, Instant};

use connect_emulator::{Options, Quota as EmulatorQuota};
use connect_user_import::limiter::Quota;
use connect_user_import::plan::{Action, Owner};
use connect_user_import::properties::Properties;
use connect_user_import::{Checkpoint, ImportOptions, Importer, Report};
use futures::StreamExt;
use serde_json::json;
use support::{LOGICAL_ID, World};

const QUOTA: Quota = Quota {
    requests_per_second: 10.0,
    burst: 5,
};

async fn world(test: &str, members: usize) -> World {
    let w = World::with_options(
        test,
        Options {
            throttle: Some(EmulatorQuota {
                requests_per_second: QUOTA.requests_per_second,
                burst: QUOTA.burst,
            }),
            ..Options::default()
        },
        "SAML",
    )
    .await;
    let agents = w.group("Agents").await;
    futures::stream::iter(0..members)
        .map(|i| {
            let (w, agents) = (&w, &agents);
            async move {
                let name = format!("paced{i:03}");
                let id = w
                    .user(&name, &format!("{name}@example.com"), &name, "Tester")
                    .await;
                w.join(agents, &id).await;
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    w
}

fn importer(w: &World) -> Importer {
    w.importer(ImportOptions {
        quota: QUOTA,
        ..ImportOptions::default()
    })
}

/// The plan of an import into `w`'s instance.
async fn plan(w: &World, importer: &Importer) -> (Owner, String, Vec<Action>) {
    let mut props = w.props(json!({}));
    props.as_object_mut().unwrap().remove("ServiceToken");
    let properties: Properties = serde_json::from_value(props).unwrap();
    let owner = Owner::new(&w.stack_id, LOGICAL_ID);
    let prepared = importer
        .prepare(
            &owner,
            &properties,
            Instant::now() + Duration::from_secs(60),
        )
        .await
        .unwrap();
    (owner, prepared.instance_id, prepared.plan.actions)
}

async fn execute(
    importer: &Importer,
    owner: &Owner,
    instance_id: &str,
    actions: Vec<Action>,
) -> Report {
    let mut report = Report::default();
    importer
        .execute(
            owner,
            instance_id,
            actions,
            false,
            Instant::now() + Duration::from_secs(120),
            Checkpoint::None,
            &mut report,
        )
        .await;
    report
}

#[tokio::test]
async fn writes_use_the_burst_then_the_quota_itself_without_a_throttle() {
    let w = world("pacing-quota", 100).await;
    let importer = importer(&w);
    let (owner, instance_id, actions) = plan(&w, &importer).await;
    assert_eq!(actions.len(), 100);
    let started = Instant::now();
    let report = execute(&importer, &owner, &instance_id, actions).await;
    let elapsed = started.elapsed();
    assert_eq!(report.created, 100, "{report:?}");
    assert_eq!(
        w.emulator.answers("CreateUser", 429),
        0,
        "CreateUser was throttled"
    );
    // The floor: 95 creates after the burst at 10/s, 9.5 s. Pacing at 95 % of the quota would
    // take 0.5 s more.
    let floor = QUOTA.floor(100);
    assert!(
        elapsed < floor + Duration::from_millis(250),
        "{elapsed:?} for 100 creates; the quota's floor is {floor:?}"
    );
}

#[tokio::test]
async fn a_new_run_paces_on_from_the_bucket_the_last_one_left() {
    let w = world("pacing-hops", 60).await;
    let first = importer(&w);
    let (owner, instance_id, mut actions) = plan(&w, &first).await;
    let rest = actions.split_off(30);
    let report = execute(&first, &owner, &instance_id, actions).await;
    assert_eq!(report.created, 30, "{report:?}");
    // The next hop: a fresh process, handed the limiter's state. The emulator's bucket is
    // empty; a fresh burst of 5 would be throttled.
    let carried = serde_json::to_value(first.limiter_state()).unwrap();
    let next = importer(&w);
    next.resume_limiter(&serde_json::from_value(carried).unwrap());
    let report = execute(&next, &owner, &instance_id, rest).await;
    assert_eq!(report.created, 30, "{report:?}");
    assert_eq!(
        w.emulator.answers("CreateUser", 429),
        0,
        "the new run was throttled: it spent a burst Connect had not refilled"
    );
}
