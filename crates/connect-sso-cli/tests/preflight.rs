//! `connect-sso preflight` against the emulators and moto: all ✔ for an account ready for a first
//! deployment, and each condition made false in turn named by its check, with the fix, and a
//! non-zero exit from the binary.

mod support;

use std::collections::BTreeMap;

use connect_sso_cli::doctor::Check;
use connect_sso_cli::preflight::{self, Deployment, Operator, Report, names};
use serde_json::Value;
use support::{REGION, World, sdk_config, unique};

/// The operator: dummy credentials ("testing"); STS (for IdentityCenterRoleArn) is moto's.
async fn operator(world: &World) -> Operator {
    Operator {
        config: sdk_config(Some(&world.moto_endpoint)).await,
        identity_center: None,
        endpoints: world.endpoints(),
    }
}

/// The parameters of a first deployment into `world`: its SAML instance and group, and names
/// nobody uses yet.
fn parameters(world: &World) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ConnectInstanceId".to_owned(), world.instance.id.clone()),
        ("Groups".to_owned(), world.group_name.clone()),
        ("SamlProviderName".to_owned(), unique("Connect-SSO")),
        ("FederationRoleName".to_owned(), unique("Connect-SSO")),
    ])
}

fn deployment(
    _world: &World,
    stack_name: &str,
    parameters: BTreeMap<String, String>,
) -> Deployment {
    Deployment::new(stack_name, REGION, parameters).unwrap()
}

async fn preflight(world: &World, deployment: &Deployment) -> Report {
    let report = preflight::run(&operator(world).await, deployment).await;
    // Shown with --nocapture: what an operator would read.
    println!("{report}\n");
    report
}

/// Runs preflight with one parameter changed from the ready deployment.
async fn preflight_with(world: &World, key: &str, value: &str) -> Report {
    let mut parameters = parameters(world);
    parameters.insert(key.to_owned(), value.to_owned());
    preflight(world, &deployment(world, &unique("stack"), parameters)).await
}

/// The failed checks: `failing` with a fix, the others `not checked` (blocked by it).
fn failure<'r>(report: &'r Report, failing: &str, blocked: &[&str]) -> &'r Check {
    let failed: Vec<&str> = report.failed().map(|c| c.name.as_str()).collect();
    let mut expected = vec![failing];
    expected.extend_from_slice(blocked);
    let order = |name: &&str| names::ALL.iter().position(|n| n == name);
    expected.sort_by_key(order);
    assert_eq!(failed, expected, "{report}");
    for name in blocked {
        let check = report.check(name).unwrap();
        assert!(check.detail.starts_with("not checked"), "{report}");
    }
    let check = report.check(failing).unwrap();
    assert!(
        check.fix.as_deref().is_some_and(|fix| !fix.is_empty()),
        "a failure must say how to fix it:\n{report}"
    );
    check
}

fn fix(check: &Check) -> &str {
    check.fix.as_deref().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ready_account_passes_every_check_and_nothing_is_written() {
    let world = World::federation().await;
    world.identity_center.clear_requests();
    world.connect.reset_call_counts();
    let stack = unique("stack");
    let report = preflight(&world, &deployment(&world, &stack, parameters(&world))).await;
    assert!(report.ok(), "{report}");
    let reported: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(reported, names::ALL);
    let detail = |name| report.check(name).unwrap().detail.clone();
    assert!(
        detail(names::IDENTITY_CENTER_INSTANCE)
            .contains(&format!("and {REGION} is its home Region")),
        "{report}"
    );
    // The emulated instance was created just now: the newer action names apply.
    assert!(
        detail(names::ACTION_NAMES).contains("newer action names only (sso:CreateApplication,"),
        "{report}"
    );
    assert!(
        detail(names::APPLICATION_NAME).contains(&format!("\"Amazon Connect ({stack})\"")),
        "{report}"
    );
    assert!(
        detail(names::USER_QUOTA).starts_with(
            "2 member(s) of the groups, 2 new Connect user(s) + 0 existing = 2, quota 500"
        ),
        "{report}"
    );
    // Only reads: no application, profile or assignment was written.
    let writes: Vec<String> = world
        .identity_center
        .requests()
        .into_iter()
        .map(|r| r.operation)
        .filter(|op| {
            !(op.starts_with("List") || op.starts_with("Get") || op.starts_with("Describe"))
        })
        .collect();
    assert!(writes.is_empty(), "preflight wrote: {writes:?}");
    let connect_calls = world.connect.call_counts();
    assert!(
        connect_calls.keys().all(|op| op.starts_with("List")
            || op.starts_with("Describe")
            || op.starts_with("Search")),
        "{connect_calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_from_before_the_cutoff_honours_the_older_action_names() {
    let world = World::federation().await;
    // 2023-06-01.
    world
        .identity_center
        .set_instance_created(&world.identity_center.instance_arn(), 1_685_577_600.0);
    let report = preflight(
        &world,
        &deployment(&world, &unique("stack"), parameters(&world)),
    )
    .await;
    assert!(report.ok(), "{report}");
    let check = report.check(names::ACTION_NAMES).unwrap();
    assert!(
        check.detail.contains("created on 2023-06-01")
            && check.detail.contains("honours the older action names"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_account_cannot_call_the_console_api_and_a_role_there_can() {
    let world = World::federation().await;
    // The operator's credentials ("testing") belong to an account that does not administer
    // Identity Center.
    world.identity_center.deny_console_access("testing");
    let report = preflight(
        &world,
        &deployment(&world, &unique("stack"), parameters(&world)),
    )
    .await;
    let check = failure(&report, names::CONSOLE_API, &[names::APPLICATION_NAME]);
    assert!(check.detail.contains("AccessDeniedException"), "{report}");
    assert!(fix(check).contains("IdentityCenterRoleArn"), "{report}");

    // A role in the Identity Center account, assumed through (moto's) STS, can.
    let role_arn = world
        .iam
        .create_role()
        .role_name(unique("ConnectSsoIdentityCenter"))
        .assume_role_policy_document(
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let report = preflight_with(&world, "IdentityCenterRoleArn", &role_arn).await;
    assert!(report.ok(), "{report}");
    assert!(
        report
            .check(names::CONSOLE_API)
            .unwrap()
            .detail
            .contains(&role_arn),
        "{report}"
    );

    // Or the operator's own credentials of the Identity Center account (--identity-center-profile).
    let mut parameters = parameters(&world);
    parameters.insert("IdentityCenterRoleArn".to_owned(), role_arn.clone());
    let mut with_profile = operator(&world).await;
    with_profile.identity_center = Some(
        https_client::sdk::loader()
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_credential_types::Credentials::new(
                "identity-center-admin",
                "secret",
                None,
                None,
                "tests",
            ))
            .load()
            .await,
    );
    let report = preflight::run(
        &with_profile,
        &deployment(&world, &unique("stack"), parameters),
    )
    .await;
    assert!(report.ok(), "{report}");
    assert!(
        report
            .check(names::CONSOLE_API)
            .unwrap()
            .detail
            .starts_with("your Identity Center account's credentials"),
        "{report}"
    );

    // A role ARN that is not one is named, not assumed.
    let report = preflight_with(&world, "IdentityCenterRoleArn", "ConnectSsoIdentityCenter").await;
    let check = failure(
        &report,
        names::CONSOLE_API,
        &[
            names::IDENTITY_CENTER_INSTANCE,
            names::ACTION_NAMES,
            names::GROUPS,
            names::APPLICATION_NAME,
            names::USER_QUOTA,
        ],
    );
    assert!(
        check
            .detail
            .contains("invalid parameter IdentityCenterRoleArn"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_identity_center_instance_must_exist_be_unambiguous_and_be_called_in_its_home_region() {
    let world = World::federation().await;
    let blocked = [names::ACTION_NAMES, names::GROUPS, names::USER_QUOTA];

    let missing = "arn:aws:sso:::instance/ssoins-0000000000000000";
    let report = preflight_with(&world, "IdentityCenterInstanceArn", missing).await;
    let check = failure(&report, names::IDENTITY_CENTER_INSTANCE, &blocked);
    assert!(check.detail.contains(missing), "{report}");

    // Another instance whose home Region is eu-west-1, called in us-east-1.
    let (elsewhere, _) = world.identity_center.add_instance_in_region("eu-west-1");
    let report = preflight_with(&world, "IdentityCenterInstanceArn", &elsewhere).await;
    let check = report.check(names::IDENTITY_CENTER_INSTANCE).unwrap();
    assert!(!check.ok, "{report}");
    assert!(
        check.detail.contains("home Region is eu-west-1"),
        "{report}"
    );
    assert_eq!(fix(check), "set IdentityCenterRegion to eu-west-1");

    // Two instances and no IdentityCenterInstanceArn: which one is not for the stack to guess.
    let report = preflight(
        &world,
        &deployment(&world, &unique("stack"), parameters(&world)),
    )
    .await;
    let check = failure(&report, names::IDENTITY_CENTER_INSTANCE, &blocked);
    assert!(
        check.detail.contains("several Identity Center instances"),
        "{report}"
    );
    assert!(fix(check).contains("IdentityCenterInstanceArn"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_creation_date_is_a_failure_naming_the_permission() {
    let world = World::federation().await;
    world.identity_center.deny_operation("DescribeInstance");
    let report = preflight(
        &world,
        &deployment(&world, &unique("stack"), parameters(&world)),
    )
    .await;
    let check = failure(&report, names::ACTION_NAMES, &[]);
    assert!(check.detail.contains("AccessDeniedException"), "{report}");
    assert!(fix(check).contains("sso:DescribeInstance"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_groups_must_exist() {
    let world = World::federation().await;
    let report = preflight_with(
        &world,
        "Groups",
        &format!("{},NoSuchGroup", world.group_name.to_lowercase()),
    )
    .await;
    let check = failure(&report, names::GROUPS, &[names::USER_QUOTA]);
    // Display names are matched exactly: the lower-cased name is not the group.
    assert!(
        check.detail.contains(&format!(
            "no group \"{}\", \"NoSuchGroup\"",
            world.group_name.to_lowercase()
        )),
        "{report}"
    );

    let report = preflight_with(&world, "Groups", " ").await;
    let check = failure(&report, names::GROUPS, &[names::USER_QUOTA]);
    assert!(check.detail.contains("Groups is empty"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_application_of_the_same_name_is_named() {
    let world = World::federation().await;
    let stack = unique("stack");
    let taken = world.identity_center.add_foreign_application(
        &world.identity_center.instance_arn(),
        &format!("Amazon Connect ({stack})"),
    );
    let report = preflight(&world, &deployment(&world, &stack, parameters(&world))).await;
    let check = failure(&report, names::APPLICATION_NAME, &[]);
    let console_id = taken.rsplit('/').next().unwrap().replace("apl-", "ins-");
    assert!(check.detail.contains(&console_id), "{report}");
    assert!(fix(check).contains("ApplicationName"), "{report}");

    // ApplicationName avoids it.
    let mut parameters = parameters(&world);
    parameters.insert("ApplicationName".to_owned(), unique("Amazon Connect"));
    assert!(
        preflight(&world, &deployment(&world, &stack, parameters))
            .await
            .ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connect_instance_must_exist_and_use_saml() {
    let world = World::federation().await;
    let blocked = [names::USER_QUOTA];

    let missing = "00000000-0000-4000-8000-000000000000";
    let report = preflight_with(&world, "ConnectInstanceId", missing).await;
    let check = failure(&report, names::CONNECT_INSTANCE, &blocked);
    assert!(
        check
            .detail
            .contains(&format!("no Connect instance {missing}")),
        "{report}"
    );

    let managed = world
        .connect
        .create_instance(&unique("managed"), "CONNECT_MANAGED");
    let report = preflight_with(&world, "ConnectInstanceId", &managed.id).await;
    let check = failure(&report, names::CONNECT_INSTANCE, &blocked);
    assert!(
        check
            .detail
            .contains("uses CONNECT_MANAGED identity management"),
        "{report}"
    );
    assert!(fix(check).contains("ConnectInstanceAlias"), "{report}");

    let mut both = parameters(&world);
    both.insert("ConnectInstanceAlias".to_owned(), unique("new"));
    let report = preflight(&world, &deployment(&world, &unique("stack"), both)).await;
    let check = failure(&report, names::CONNECT_INSTANCE, &blocked);
    assert!(check.detail.contains("exactly one of"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_instance_needs_a_free_alias() {
    let world = World::federation().await;
    let alias = unique("taken");
    let existing = world.connect.create_instance(&alias, "SAML");
    let mut new = parameters(&world);
    new.remove("ConnectInstanceId");
    new.insert("ConnectInstanceAlias".to_owned(), alias.to_uppercase());
    let report = preflight(&world, &deployment(&world, &unique("stack"), new.clone())).await;
    let check = failure(&report, names::CONNECT_INSTANCE, &[names::USER_QUOTA]);
    assert!(check.detail.contains(&existing.id), "{report}");

    new.insert("ConnectInstanceAlias".to_owned(), unique("free"));
    let report = preflight(&world, &deployment(&world, &unique("stack"), new)).await;
    assert!(report.ok(), "{report}");
    assert!(
        report
            .check(names::USER_QUOTA)
            .unwrap()
            .detail
            .contains("2 new Connect user(s) + 0 existing = 2"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_members_must_fit_the_user_quota() {
    let world = World::federation().await;
    // 499 users already: with the group's 2 members the instance would need 501.
    for n in 0..499 {
        world.connect.add_user(
            &world.instance.id,
            connect_emulator::UserSnapshot::new(&format!("existing-{n:03}")),
        );
    }
    let report = preflight(
        &world,
        &deployment(&world, &unique("stack"), parameters(&world)),
    )
    .await;
    let check = failure(&report, names::USER_QUOTA, &[]);
    assert!(
        check
            .detail
            .contains("2 new Connect user(s) + 499 existing = 501, quota 500"),
        "{report}"
    );
    assert!(fix(check).contains("L-9A46857E"), "{report}");

    // A member who already has a Connect user needs no new one: 500 fits.
    world.connect.add_user(
        &world.instance.id,
        connect_emulator::UserSnapshot::new(&world.members[0].email),
    );
    let report = preflight(
        &world,
        &deployment(&world, &unique("stack"), parameters(&world)),
    )
    .await;
    let check = report.check(names::USER_QUOTA).unwrap();
    assert!(
        !check.ok
            && check
                .detail
                .contains("1 new Connect user(s) + 500 existing = 501"),
        "{report}"
    );

    // A raised quota, as the operator gives it.
    let mut raised = deployment(&world, &unique("stack"), parameters(&world));
    raised.user_quota = Some(1000);
    let report = preflight(&world, &raised).await;
    assert!(report.ok(), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn taken_iam_names_are_named() {
    let world = World::federation().await;
    let provider_name = world.provider_arn.rsplit('/').next().unwrap().to_owned();
    let report = preflight_with(&world, "SamlProviderName", &provider_name).await;
    let check = failure(&report, names::SAML_PROVIDER_NAME, &[]);
    assert!(check.detail.contains(&world.provider_arn), "{report}");

    let role_name = world.role_arn.rsplit('/').next().unwrap().to_owned();
    let report = preflight_with(&world, "FederationRoleName", &role_name).await;
    let check = failure(&report, names::FEDERATION_ROLE_NAME, &[]);
    assert!(check.detail.contains(&world.role_arn), "{report}");
    assert!(fix(check).contains("FederationRoleName"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_reads_the_parameters_and_exits_non_zero_on_a_failure() {
    let world = World::federation().await;
    let file = std::env::temp_dir().join(format!("{}.json", unique("preflight-parameters")));
    let list: Vec<Value> = parameters(&world)
        .into_iter()
        .map(|(key, value)| serde_json::json!({"ParameterKey": key, "ParameterValue": value}))
        .collect();
    std::fs::write(&file, serde_json::to_string(&list).unwrap()).unwrap();
    let file_arg = file.to_str().unwrap();

    let ready = world
        .run_binary(&["preflight", "--stack-name", "s1", "--parameters", file_arg])
        .await;
    let stdout = String::from_utf8_lossy(&ready.stdout);
    assert_eq!(
        ready.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with('✔')).count(),
        9,
        "{stdout}"
    );

    // An option overrides the file: a group that does not exist.
    let broken = world
        .run_binary(&[
            "preflight",
            "--stack-name",
            "s1",
            "--parameters",
            file_arg,
            "--parameter",
            "Groups=NoSuchGroup",
            "--json",
        ])
        .await;
    assert_eq!(broken.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let groups = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == names::GROUPS)
        .unwrap();
    assert_eq!(groups["ok"], false);
    assert!(groups["fix"].as_str().unwrap().contains("display name"));

    // A misspelt parameter is an error (exit 2) naming it, not a silent default.
    let typo = world
        .run_binary(&["preflight", "--stack-name", "s1", "--parameter", "Group=X"])
        .await;
    assert_eq!(typo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("unknown parameter \"Group\""));
    std::fs::remove_file(&file).unwrap();
}
