//! Throttling, server errors, eventual consistency, the users-per-instance quota and the
//! deadline: the end state must still be exact.

mod support;

use std::time::{Duration, Instant};

use connect_emulator::{Options, Quota as EmulatorQuota};
use connect_user_import::ImportOptions;
use connect_user_import::limiter::Quota;
use serde_json::json;
use support::*;

/// Users named `prefix00@example.com`… in the group; returns (user id, membership id) each.
async fn members(w: &World, group: &str, prefix: &str, count: usize) -> Vec<(String, String)> {
    let mut made = Vec::new();
    for i in 0..count {
        let name = format!("{prefix}{i:02}");
        let id = w
            .user(&name, &format!("{name}@example.com"), &name, "Tester")
            .await;
        let membership = w.join(group, &id).await;
        made.push((id, membership));
    }
    made
}

fn expected(prefixes: &[(&str, std::ops::Range<usize>)]) -> Vec<String> {
    let mut names: Vec<String> = prefixes
        .iter()
        .flat_map(|(prefix, range)| {
            range
                .clone()
                .map(move |i| format!("{prefix}{i:02}@example.com"))
        })
        .collect();
    names.sort();
    names
}

/// How long a new user stays out of Connect's listings in the throttled test.
const LAG: Duration = Duration::from_millis(500);

/// The real quota (2 requests/s, burst 5, per operation) on both sides, and one call in five
/// failing with HTTP 500. Twelve users rather than hundreds keep this under a minute: the
/// rules exercised (limiter, SDK retries, throttles) do not depend on the count.
#[tokio::test]
async fn throttled_and_failing_calls_still_end_in_the_exact_state() {
    let options = Options {
        throttle: Some(EmulatorQuota::connect_default()),
        server_error_rate: 0.2,
        eventual_consistency: Some(LAG),
        ..Options::default()
    };
    let w = World::with_options("throttled", options, "SAML").await;
    let agents = w.group("Agents").await;
    let first = members(&w, &agents, "a", 12).await;
    let resource = w.resource_with(ImportOptions::default());
    let props = w.props(json!({}));

    let started = Instant::now();
    let created = w.send(&resource, w.create_event(&props)).await;
    assert_eq!(counts(&created), [12, 0, 0, 0, 0], "{created:#}");
    assert_eq!(problems(&created), "none");
    assert_eq!(w.usernames(), expected(&[("a", 0..12)]));
    assert!(w.users().iter().all(|u| w.owned(u)));
    eprintln!(
        "create: {:?}, CreateUser calls {} for 12 users",
        started.elapsed(),
        w.calls("CreateUser")
    );

    // Four leave, four join. The update comes once the listing shows the last created user, as
    // a CloudFormation update would: a user the listing still misses is created once more and
    // refused (409), which `an_update_right_after_the_create_waits_for_the_new_users` covers.
    tokio::time::sleep(LAG).await;
    for (_, membership) in &first[..4] {
        w.leave(membership).await;
    }
    members(&w, &agents, "b", 4).await;
    let updated = w
        .send(&resource, w.update_event(&w.physical_id(), &props, &props))
        .await;
    assert_eq!(counts(&updated), [4, 0, 4, 8, 0], "{updated:#}");
    assert_eq!(w.usernames(), expected(&[("a", 4..12), ("b", 0..4)]));

    let deleted = w
        .send(&resource, w.delete_event(&w.physical_id(), &props))
        .await;
    assert_eq!(status(&deleted), "SUCCESS", "{deleted:#}");
    assert!(w.users().is_empty(), "{:?}", w.usernames());
    // 16 creates and 16 deletes (4 in the update, 12 in the delete) were needed, each made
    // exactly once; some writes met a 5xx
    // (which changes nothing) and were retried until they succeeded: throttles alone do not
    // satisfy this.
    let answers = |operation: &str, status: u16| w.emulator.answers(operation, status);
    assert_eq!(
        (answers("CreateUser", 200), answers("DeleteUser", 200)),
        (16, 16),
        "{:?}",
        w.emulator.call_counts()
    );
    assert_eq!(answers("CreateUser", 409), 0, "a user created twice");
    assert!(
        answers("CreateUser", 500) + answers("DeleteUser", 500) > 0,
        "no write met a server error, so none was retried: {:?}",
        w.emulator.call_counts()
    );
    eprintln!(
        "whole cycle: {:?}, calls {:?}",
        started.elapsed(),
        w.emulator.call_counts()
    );
}

#[tokio::test]
async fn users_beyond_the_instance_quota_are_reported_and_not_retried() {
    let options = Options {
        user_limit: 3,
        ..Options::default()
    };
    let w = World::with_options("limit", options, "SAML").await;
    let agents = w.group("Agents").await;
    members(&w, &agents, "u", 5).await;
    let response = w
        .send(&w.resource(), w.create_event(&w.props(json!({}))))
        .await;
    assert_eq!(counts(&response), [3, 0, 0, 0, 0], "{response:#}");
    let problems = problems(&response);
    assert!(
        problems.contains("LimitExceededException") && problems.contains("quota"),
        "{problems}"
    );
    assert_eq!(w.users().len(), 3);
    assert_eq!(
        w.calls("CreateUser"),
        5,
        "one call per user: LimitExceededException is not retried"
    );
}

// assumption: connect-list-users-lags
/// Right after a create the new users are invisible for a while (to ListUsers and SearchUsers
/// too); an immediate update must neither duplicate nor lose them.
#[tokio::test]
async fn an_update_right_after_the_create_waits_for_the_new_users() {
    let options = Options {
        eventual_consistency: Some(Duration::from_secs(2)),
        ..Options::default()
    };
    let w = World::with_options("consistency", options, "SAML").await;
    let agents = w.group("Agents").await;
    members(&w, &agents, "c", 3).await;
    let resource = w.resource();
    let props = w.props(json!({}));
    let created = w.send(&resource, w.create_event(&props)).await;
    assert_eq!(counts(&created), [3, 0, 0, 0, 0], "{created:#}");
    let changed = w.props(json!({"AutoAccept": "true"}));
    let updated = w
        .send(
            &resource,
            w.update_event(&w.physical_id(), &changed, &props),
        )
        .await;
    assert_eq!(counts(&updated), [0, 3, 0, 0, 0], "{updated:#}");
    assert_eq!(w.usernames(), expected(&[("c", 0..3)]));
    assert!(w.users().iter().all(|u| u.auto_accept && w.owned(u)));
    assert_eq!(
        w.emulator.answers("CreateUser", 200),
        3,
        "a user created twice: {:?}",
        w.emulator.call_counts()
    );
    assert!(
        w.emulator.answers("CreateUser", 409) > 0,
        "the update's reads did not miss the new users, so this proved nothing about the lag"
    );
}

/// With too little time, the import stops starting writes, answers FAILED with what was not
/// done (keeping its physical id, so a rollback would remove what it made), and a second run
/// finishes the job without redoing anything.
#[tokio::test]
async fn a_run_out_of_time_stops_early_and_the_next_run_resumes() {
    let w = World::new("deadline").await;
    let agents = w.group("Agents").await;
    members(&w, &agents, "d", 12).await;
    let slow = ImportOptions {
        quota: Quota {
            requests_per_second: 1.0,
            burst: 1,
        },
        call_time: Duration::from_millis(500),
        ..ImportOptions::default()
    };
    let props = w.props(json!({}));
    // 10 s for the function, less the 4 s the core keeps to answer: about 6 s of calls.
    let response = w
        .send_within(
            &w.resource_with(slow),
            w.create_event(&props),
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(status(&response), "FAILED", "{response:#}");
    assert_eq!(response["PhysicalResourceId"], w.physical_id());
    let reason = reason(&response);
    assert!(
        reason.contains("did not finish before the function's deadline"),
        "{reason}"
    );
    let done = w.users().len();
    assert!((2..12).contains(&done), "{done} users made");
    assert!(
        reason.contains(&format!("created {done},"))
            && reason.contains(&format!("{} writes not made", 12 - done)),
        "{reason}"
    );

    let resumed = w.send(&w.resource(), w.create_event(&props)).await;
    assert_eq!(
        counts(&resumed),
        [12 - done as u64, 0, 0, done as u64, 0],
        "{resumed:#}"
    );
    assert_eq!(w.usernames(), expected(&[("d", 0..12)]));
    assert_eq!(w.calls("CreateUser"), 12, "nothing created twice");
}

/// A rollback Delete can follow the Create within seconds, before the new users show in
/// ListUsers and SearchUsers: none may be left behind.
#[tokio::test]
async fn a_delete_right_after_the_create_leaves_no_user_behind() {
    let options = Options {
        eventual_consistency: Some(Duration::from_secs(1)),
        ..Options::default()
    };
    let w = World::with_options("delete-right-after", options, "SAML").await;
    let agents = w.group("Agents").await;
    members(&w, &agents, "e", 3).await;
    let resource = w.resource();
    let props = w.props(json!({}));
    let created = w.send(&resource, w.create_event(&props)).await;
    assert_eq!(counts(&created), [3, 0, 0, 0, 0], "{created:#}");
    let deleted = w
        .send(&resource, w.delete_event(&w.physical_id(), &props))
        .await;
    assert_eq!(status(&deleted), "SUCCESS", "{deleted:#}");
    assert!(w.users().is_empty(), "{:?}", w.usernames());
}
