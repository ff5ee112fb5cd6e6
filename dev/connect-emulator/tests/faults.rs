//! The switchable misbehaviours: throttling at the quota, eventual consistency after writes,
//! injected server errors; and the call counts that measure them.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::error::SdkError;
use aws_sdk_connect::types::{ControlPlaneTagFilter, TagCondition, UserSearchFilter};
use common::*;
use connect_emulator::{Emulator, Options, Quota, UserSnapshot};

fn throttled() -> Options {
    Options {
        throttle: Some(Quota::connect_default()),
        ..Options::default()
    }
}

/// A lag no run of the calls before it could outlast, however slow the machine: tests let it
/// pass with `Emulator::let_time_pass` instead of sleeping.
const LAG: Duration = Duration::from_secs(60);

fn lagging() -> Options {
    Options {
        eventual_consistency: Some(LAG),
        ..Options::default()
    }
}

#[tokio::test]
async fn a_burst_of_five_then_throttling_per_operation() {
    let emulator = Emulator::start(throttled()).await.unwrap();
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let mut outcomes = Vec::new();
    let started = Instant::now();
    for _ in 0..8 {
        let result = client.list_users().instance_id(&instance.id).send().await;
        outcomes.push(match result {
            Ok(_) => "ok".to_owned(),
            Err(error) => {
                if let SdkError::ServiceError(service) = &error {
                    assert_eq!(service.raw().status().as_u16(), 429);
                }
                code(&error)
            }
        });
    }
    // The full bucket lets five through; after that only what 2 requests/s refilled meanwhile
    // (nothing when the eight calls take under half a second, as they do on an idle machine).
    let refilled = (2.0 * started.elapsed().as_secs_f64()).floor() as usize;
    assert_eq!(&outcomes[..5], ["ok"; 5]);
    let let_through = outcomes[5..]
        .iter()
        .filter(|outcome| *outcome == "ok")
        .count();
    assert!(
        let_through <= refilled,
        "{outcomes:?} with {refilled} tokens refilled"
    );
    assert!(
        outcomes[5..]
            .iter()
            .all(|outcome| outcome == "ok" || outcome == "ThrottlingException"),
        "{outcomes:?}"
    );

    // Another operation has its own bucket.
    client
        .describe_instance()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();

    // Throttled calls are counted like any other.
    assert_eq!(emulator.call_counts().get("ListUsers"), Some(&8));
    assert_eq!(emulator.call_counts().get("DescribeInstance"), Some(&1));

    // Half a second refills one token at 2 requests/s: the next call passes. Of ten more in a
    // row, no more pass than the rate refilled meanwhile (counted, not timed: a slow machine
    // only refills more).
    let refilling = Instant::now();
    emulator.let_time_pass(Duration::from_millis(500));
    client
        .list_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();
    let mut passed = 0;
    let mut throttled = 0;
    for _ in 0..10 {
        match client.list_users().instance_id(&instance.id).send().await {
            Ok(_) => passed += 1,
            Err(error) => {
                assert_eq!(code(&error), "ThrottlingException");
                throttled += 1;
            }
        }
    }
    // The half second's token, what was left of one before it, and the real time's refill.
    let allowed = 2 + (2.0 * refilling.elapsed().as_secs_f64()).floor() as usize;
    assert!(
        passed <= allowed,
        "{passed} of ten passed ({throttled} throttled); the quota allows {allowed}"
    );
}

#[tokio::test]
async fn the_sustained_rate_is_two_per_second() {
    let emulator = Emulator::start(throttled()).await.unwrap();
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let start = Instant::now();
    let mut accepted = 0u32;
    while start.elapsed() < Duration::from_millis(2000) {
        if client
            .list_users()
            .instance_id(&instance.id)
            .send()
            .await
            .is_ok()
        {
            accepted += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ceiling = 5.0 + 2.0 * elapsed;
    assert!(
        f64::from(accepted) <= ceiling && f64::from(accepted) >= ceiling - 1.5,
        "{accepted} accepted in {elapsed:.2}s; the quota allows {ceiling:.1}"
    );
}

#[tokio::test]
async fn throttling_and_failures_can_be_switched_at_run_time() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    for _ in 0..10 {
        client
            .list_users()
            .instance_id(&instance.id)
            .send()
            .await
            .unwrap();
    }
    emulator.set_options(throttled());
    let mut throttled_calls = 0;
    for _ in 0..10 {
        if client
            .list_users()
            .instance_id(&instance.id)
            .send()
            .await
            .is_err()
        {
            throttled_calls += 1;
        }
    }
    assert_eq!(throttled_calls, 5);
    emulator.set_options(Options {
        server_error_rate: 1.0,
        ..Options::default()
    });
    let error = client
        .list_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InternalServiceException");
    emulator.set_options(Options::default());
    client
        .list_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();
    emulator.reset_call_counts();
    assert!(emulator.call_counts().is_empty());
}

#[tokio::test]
async fn a_server_error_happens_before_anything_is_done() {
    let emulator = Emulator::start(Options {
        server_error_rate: 1.0,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let (agent, routing) = default_profiles(&emulator, &instance);
    let error = client
        .create_user()
        .instance_id(&instance.id)
        .username("never")
        .identity_info(names("A", "B"))
        .security_profile_ids(agent)
        .routing_profile_id(routing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InternalServiceException");
    match &error {
        SdkError::ServiceError(service) => assert_eq!(service.raw().status().as_u16(), 500),
        other => panic!("{other:?}"),
    }
    assert!(emulator.users(&instance.id).is_empty());
}

/// Which of `n` DescribeInstance calls failed with a 5xx.
async fn failure_pattern(seed: u64, n: usize) -> Vec<bool> {
    let emulator = Emulator::start(Options {
        server_error_rate: 0.2,
        seed,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = client(&emulator);
    let instance = emulator.create_instance("faults", "SAML");
    let mut pattern = Vec::new();
    for _ in 0..n {
        let result = client
            .describe_instance()
            .instance_id(&instance.id)
            .send()
            .await;
        pattern.push(match result {
            Ok(_) => false,
            Err(error) => {
                assert_eq!(code(&error), "InternalServiceException");
                true
            }
        });
    }
    pattern
}

#[tokio::test]
async fn server_errors_hit_the_configured_fraction_reproducibly() {
    let first = failure_pattern(7, 300).await;
    let again = failure_pattern(7, 300).await;
    let other = failure_pattern(8, 300).await;
    assert_eq!(first, again, "the same seed fails the same requests");
    assert_ne!(first, other, "another seed fails other requests");
    let failures = first.iter().filter(|failed| **failed).count();
    assert!(
        (35..=85).contains(&failures),
        "{failures} of 300 failed at a 20 % rate"
    );
}

#[tokio::test]
async fn with_sdk_retries_every_user_is_created_exactly_once_despite_errors_and_throttling() {
    let emulator = Emulator::start(Options {
        server_error_rate: 0.2,
        throttle: Some(Quota {
            requests_per_second: 50.0,
            burst: 5,
        }),
        ..Options::default()
    })
    .await
    .unwrap();
    let client = client_with_retries(
        &emulator,
        RetryConfig::standard()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(10))
            .with_max_backoff(Duration::from_millis(100)),
    );
    let instance = saml_instance(&emulator).await;
    let (agent, routing) = default_profiles(&emulator, &instance);
    for i in 0..20 {
        client
            .create_user()
            .instance_id(&instance.id)
            .username(format!("user{i:02}"))
            .identity_info(names("A", "B"))
            .security_profile_ids(&agent)
            .routing_profile_id(&routing)
            .send()
            .await
            .unwrap();
    }
    let usernames: Vec<String> = emulator
        .users(&instance.id)
        .into_iter()
        .map(|u| u.username)
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("user{i:02}")).collect();
    assert_eq!(usernames, expected);
    let calls = emulator.call_counts()["CreateUser"];
    assert!(
        calls > 20,
        "some of the {calls} calls should have failed and been retried"
    );
}

#[tokio::test]
async fn a_new_user_is_invisible_until_its_creation_propagates() {
    let emulator = Emulator::start(lagging()).await.unwrap();
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let user_id = create_user(&client, &emulator, &instance, "fresh").await;
    // The write happened: the emulator holds it, and a second create is a duplicate.
    assert_eq!(emulator.users(&instance.id).len(), 1);
    let (agent, routing) = default_profiles(&emulator, &instance);
    let duplicate = client
        .create_user()
        .instance_id(&instance.id)
        .username("fresh")
        .identity_info(names("A", "B"))
        .security_profile_ids(&agent)
        .routing_profile_id(&routing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&duplicate), "DuplicateResourceException");

    // Reads and writes by id do not find it yet.
    let error = client
        .describe_user()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    let error = client
        .update_user_routing_profile()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .routing_profile_id(&routing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    let error = client
        .delete_user()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    let arn = emulator.users(&instance.id)[0].arn.clone();
    let error = client
        .tag_resource()
        .resource_arn(&arn)
        .tags("k", "v")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    let listed = client
        .list_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();
    assert!(listed.user_summary_list().is_empty());
    let searched = client
        .search_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();
    assert!(searched.users().is_empty());

    emulator.let_time_pass(LAG);
    client
        .describe_user()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .send()
        .await
        .unwrap();
    let listed = client
        .list_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.user_summary_list().len(), 1);
    let searched = client
        .search_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();
    assert_eq!(searched.users().len(), 1);
}

#[tokio::test]
async fn search_shows_updates_and_deletions_only_after_the_lag() {
    let emulator = Emulator::start(lagging()).await.unwrap();
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    // Someone else's users exist from the start, whatever the lag.
    let kept = emulator.add_user(
        &instance.id,
        UserSnapshot::new("kept").with_names("Old", "Name"),
    );
    let removed = emulator.add_user(&instance.id, UserSnapshot::new("removed"));
    let search = || client.search_users().instance_id(&instance.id).send();
    assert_eq!(search().await.unwrap().users().len(), 2);

    client
        .update_user_identity_info()
        .instance_id(&instance.id)
        .user_id(&kept.id)
        .identity_info(names("New", "Name"))
        .send()
        .await
        .unwrap();
    client
        .tag_resource()
        .resource_arn(&kept.arn)
        .tags("owner", "me")
        .send()
        .await
        .unwrap();
    client
        .delete_user()
        .instance_id(&instance.id)
        .user_id(&removed.id)
        .send()
        .await
        .unwrap();

    // Consistent reads see the writes at once.
    let described = client
        .describe_user()
        .instance_id(&instance.id)
        .user_id(&kept.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .user()
            .unwrap()
            .identity_info()
            .unwrap()
            .first_name(),
        Some("New")
    );
    let listed = client
        .list_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.user_summary_list().len(), 1);

    // The search index still has the old state: the old name, no tag, the deleted user.
    let stale = search().await.unwrap();
    assert_eq!(stale.users().len(), 2);
    let stale_kept = stale
        .users()
        .iter()
        .find(|u| u.id() == Some(kept.id.as_str()))
        .unwrap();
    assert_eq!(
        stale_kept.identity_info().unwrap().first_name(),
        Some("Old")
    );
    assert!(stale_kept.tags().is_none_or(|tags| tags.is_empty()));
    let tagged = UserSearchFilter::builder()
        .tag_filter(
            ControlPlaneTagFilter::builder()
                .tag_condition(
                    TagCondition::builder()
                        .tag_key("owner")
                        .tag_value("me")
                        .build(),
                )
                .build(),
        )
        .build();
    let by_tag = client
        .search_users()
        .instance_id(&instance.id)
        .search_filter(tagged.clone())
        .send()
        .await
        .unwrap();
    assert!(by_tag.users().is_empty());

    emulator.let_time_pass(LAG);
    let fresh = search().await.unwrap();
    assert_eq!(fresh.users().len(), 1);
    assert_eq!(
        fresh.users()[0].identity_info().unwrap().first_name(),
        Some("New")
    );
    let by_tag = client
        .search_users()
        .instance_id(&instance.id)
        .search_filter(tagged)
        .send()
        .await
        .unwrap();
    assert_eq!(by_tag.users().len(), 1);
}
