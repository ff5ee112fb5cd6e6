//! The doctor against a federation built in the emulators and moto: all ✔ when healthy, and each
//! deliberate break named by the check it breaks, with a non-zero exit from the binary.

mod support;

use connect_sso_cli::doctor::{self, names};
use connect_sso_cli::{Report, doctor::Check};
use support::{World, certificate, with_certificate};

async fn doctor(world: &World) -> Report {
    let report = doctor::run(&world.clients(), &world.target()).await;
    // Shown with --nocapture: what an operator would read.
    println!("{report}\n");
    report
}

/// The one failing check named `name`, asserting every other check passed.
fn only_failure<'r>(report: &'r Report, name: &str) -> &'r Check {
    let failed: Vec<&str> = report.failed().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, [name], "expected only {name} to fail:\n{report}");
    let check = report.check(name).unwrap();
    assert!(
        check.fix.as_deref().is_some_and(|fix| !fix.is_empty()),
        "a failure must say how to fix it:\n{report}"
    );
    check
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_federation_passes_every_check() {
    let world = World::healthy().await;
    let report = doctor(&world).await;
    assert!(report.ok(), "{report}");
    let reported: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(reported, names::ALL);
    let members = report.check(names::CONNECT_USERS).unwrap();
    assert!(
        members.detail.contains("all 2 assigned member(s)"),
        "{report}"
    );
    let certificate = report.check(names::CERTIFICATE).unwrap();
    assert!(certificate.detail.contains("days left"), "{report}");
    let text = report.to_string();
    assert_eq!(text.lines().filter(|l| l.starts_with('✔')).count(), 12);
    assert!(!text.contains('✘'), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_explicit_ids_the_application_leads_to_the_rest() {
    let world = World::healthy().await;
    let mut target = world.target();
    target.connect_instance_id = None;
    target.role_arn = None;
    target.provider_arn = None;
    target.identity_store_id = None;
    let report = doctor::run(&world.clients(), &target).await;
    assert!(report.ok(), "{report}");
    assert!(
        report
            .check(names::CONNECT_INSTANCE)
            .unwrap()
            .detail
            .contains(&world.instance.id)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lower_cased_connect_username_is_named_as_a_case_only_mismatch() {
    let world = World::federation().await;
    world.add_connect_users(|email| email.to_lowercase());
    let report = doctor(&world).await;
    let check = only_failure(&report, names::CONNECT_USERS);
    let alice = &world.members[0].email;
    assert!(check.detail.contains(alice.as_str()), "{report}");
    assert!(
        check.detail.contains(&alice.to_lowercase()),
        "the Connect user's own spelling is shown:\n{report}"
    );
    assert!(check.detail.contains("differs only in case"), "{report}");
    assert!(check.detail.starts_with("1 of 2"), "{report}");
    // bob's email is lower case already: his user matches exactly.
    assert!(!check.detail.contains(&world.members[1].email), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_connect_user_is_named() {
    let world = World::federation().await;
    world.connect.add_user(
        &world.instance.id,
        connect_emulator::UserSnapshot::new(&world.members[0].email),
    );
    let report = doctor(&world).await;
    let check = only_failure(&report, names::CONNECT_USERS);
    assert!(
        check.detail.contains(&format!(
            "{}: no Connect user of that name",
            world.members[1].email
        )),
        "{report}"
    );
}

/// Identity Center may not show an application's attribute configuration at all
/// (assumption: get-returns-response-config): the checks that read it say it cannot be read,
/// never that the mappings are missing.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_attribute_configuration_is_reported_as_unreadable_not_missing() {
    let world = World::healthy().await;
    world.identity_center.set_response_config_readable(false);
    let report = doctor(&world).await;
    for name in [
        names::RELAY_STATE,
        names::ROLE_ATTRIBUTE,
        names::ROLE_SESSION_NAME,
    ] {
        let check = report.check(name).unwrap();
        assert!(!check.ok, "{report}");
        assert!(
            check.detail.contains("cannot be read") && !check.detail.contains("does not send"),
            "{name}: {report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_swapped_role_pair_is_named() {
    let world = World::healthy().await;
    world
        .map_attributes(
            &format!("{},{}", world.provider_arn, world.role_arn),
            &world.relay_state("us-east-1"),
        )
        .await;
    let report = doctor(&world).await;
    let check = only_failure(&report, names::ROLE_ATTRIBUTE);
    assert!(
        check
            .detail
            .contains("names the SAML provider first and the role second"),
        "{report}"
    );
    assert!(
        check
            .fix
            .as_deref()
            .unwrap()
            .contains(&format!("{},{}", world.role_arn, world.provider_arn)),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_in_the_provider_is_named() {
    let world = World::healthy().await;
    let current = world
        .identity_center
        .metadata_xml(&world.application_arn)
        .unwrap();
    let expired_on = (time::OffsetDateTime::now_utc() - time::Duration::days(3))
        .replace_nanosecond(0)
        .unwrap();
    world
        .iam
        .update_saml_provider()
        .saml_provider_arn(&world.provider_arn)
        .saml_metadata_document(with_certificate(&current, &certificate(expired_on)))
        .send()
        .await
        .unwrap();
    let report = doctor(&world).await;
    let check = report.check(names::CERTIFICATE).unwrap();
    assert!(!check.ok, "{report}");
    assert!(check.detail.contains("expired"), "{report}");
    assert!(
        check.detail.contains(&expired_on.date().to_string()),
        "the expiry date is given:\n{report}"
    );
    // The provider no longer holds the application's certificate either.
    let metadata = report.check(names::PROVIDER_METADATA).unwrap();
    assert!(!metadata.ok, "{report}");
    assert!(metadata.detail.contains("signing certificate"), "{report}");
    let failed: Vec<&str> = report.failed().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, [names::PROVIDER_METADATA, names::CERTIFICATE]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_state_naming_the_wrong_region_is_named() {
    let world = World::healthy().await;
    world
        .map_attributes(
            &format!("{},{}", world.role_arn, world.provider_arn),
            &world.relay_state("eu-west-1"),
        )
        .await;
    let report = doctor(&world).await;
    let check = only_failure(&report, names::RELAY_STATE);
    assert!(
        check
            .detail
            .contains("names the region eu-west-1, but the Connect instance is in us-east-1"),
        "{report}"
    );
    assert!(
        check
            .fix
            .as_deref()
            .unwrap()
            .contains(&world.relay_state("us-east-1")),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_the_federation_permission_is_named() {
    let world = World::healthy().await;
    let role_name = world.role_arn.rsplit('/').next().unwrap();
    world
        .iam
        .delete_role_policy()
        .role_name(role_name)
        .policy_name("Connect-SSO-Policy")
        .send()
        .await
        .unwrap();
    let report = doctor(&world).await;
    let check = only_failure(&report, names::ROLE_PERMISSION);
    assert!(
        check.detail.contains("connect:GetFederationToken"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_exits_zero_when_healthy_and_non_zero_naming_the_problem() {
    let world = World::healthy().await;
    let ids = [
        "--application-arn",
        world.application_arn.as_str(),
        "--instance-id",
        world.instance.id.as_str(),
        "--role-arn",
        world.role_arn.as_str(),
        "--provider-arn",
        world.provider_arn.as_str(),
        "--identity-store-id",
        world.identity_store_id.as_str(),
        "--region",
        "us-east-1",
    ];
    let mut args = vec!["doctor"];
    args.extend(ids);
    let healthy = world.run_binary(&args).await;
    let stdout = String::from_utf8_lossy(&healthy.stdout);
    assert_eq!(
        healthy.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("✔ ")).count(),
        12,
        "{stdout}"
    );

    // A relay state in the wrong region breaks the chain.
    world
        .map_attributes(
            &format!("{},{}", world.role_arn, world.provider_arn),
            &world.relay_state("eu-west-1"),
        )
        .await;
    args.push("--json");
    let broken = world.run_binary(&args).await;
    assert_eq!(
        broken.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, [names::RELAY_STATE]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_says_why_it_cannot_run() {
    let world = World::healthy().await;
    let output = world
        .run_binary(&["doctor", "--stack", "no-such-stack-connect-sso"])
        .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no-such-stack-connect-sso"), "{stderr}");
    let output = world.run_binary(&["doctor"]).await;
    assert_eq!(output.status.code(), Some(2));
}
