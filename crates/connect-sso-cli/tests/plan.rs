//! `connect-sso plan` shows the import's own plan and writes nothing; `--stack` reads a deployed
//! stack (here one made in moto's CloudFormation with the template's parameters and outputs).

mod support;

use std::collections::BTreeMap;

use connect_sso_cli::doctor::names;
use connect_sso_cli::plan;
use connect_user_import::plan::Action;
use connect_user_import::{ImportOptions, Importer};
use custom_resource::{OWNER_TAG_LOGICAL_ID, OWNER_TAG_STACK_ID};
use serde_json::{Value, json};
use support::{REGION, World, sdk_config, unique};

const WRITES: [&str; 8] = [
    "CreateUser",
    "DeleteUser",
    "TagResource",
    "UntagResource",
    "UpdateUserIdentityInfo",
    "UpdateUserPhoneConfig",
    "UpdateUserRoutingProfile",
    "UpdateUserSecurityProfiles",
];

/// The federation with Connect users that give every kind of plan line: bob exists but was not
/// made by the import (skipped), a user the import made for `stack_id` has left the group
/// (deleted), and alice has no user yet (created).
async fn world_with_drift(stack_id: &str) -> (World, String) {
    let world = World::federation().await;
    world.connect.add_user(
        &world.instance.id,
        connect_emulator::UserSnapshot::new(&world.members[1].email),
    );
    let gone = format!("{}@example.com", unique("gone"));
    world.connect.add_user(
        &world.instance.id,
        connect_emulator::UserSnapshot::new(&gone)
            .with_tag(OWNER_TAG_STACK_ID, stack_id)
            .with_tag(OWNER_TAG_LOGICAL_ID, "ConnectUserImport"),
    );
    world.connect.reset_call_counts();
    (world, gone)
}

fn assert_nothing_written(world: &World, users_before: &[connect_emulator::UserSnapshot]) {
    let calls = world.connect.call_counts();
    for write in WRITES {
        assert_eq!(
            calls.get(write),
            None,
            "plan made a {write} call: {calls:?}"
        );
    }
    assert_eq!(world.connect.users(&world.instance.id), users_before);
}

fn assert_plan_json(plan: &Value, world: &World, gone: &str) {
    assert_eq!(plan["instanceId"], world.instance.id.as_str());
    assert_eq!(plan["create"], json!([world.members[0].email]));
    assert_eq!(plan["delete"], json!([gone]));
    assert_eq!(plan["update"], json!([]));
    let skipped = plan["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{plan}");
    assert_eq!(skipped[0]["name"], world.members[1].email.as_str());
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("this stack did not create"),
        "{plan}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_is_the_import_s_own_and_writes_nothing() {
    let stack_id = format!(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/{}/guid",
        unique("s")
    );
    let (world, gone) = world_with_drift(&stack_id).await;
    let before = world.connect.users(&world.instance.id);
    let properties = plan::parse_properties(
        json!({
            "InstanceId": world.instance.id,
            "IdentityStoreId": world.identity_store_id,
            "Groups": [world.group_name],
        })
        .as_object()
        .unwrap()
        .clone(),
    )
    .unwrap();
    let importer = Importer::new(
        &sdk_config(Some(&world.moto_endpoint)).await,
        ImportOptions {
            connect_endpoint: Some(world.connect.endpoint()),
            ..ImportOptions::default()
        },
    );
    let prepared = plan::preview(
        &importer,
        &connect_user_import::plan::Owner::new(&stack_id, "ConnectUserImport"),
        &properties,
    )
    .await
    .unwrap();
    assert!(matches!(
        prepared.plan.actions.as_slice(),
        [Action::Delete { .. }, Action::Create { .. }]
    ));
    assert_plan_json(&plan::to_json(&prepared), &world, &gone);
    let text = plan::render(&prepared);
    println!("{text}");
    assert!(
        text.contains(&format!("  create    {}", world.members[0].email)),
        "{text}"
    );
    assert!(text.contains(&format!("  delete    {gone}")), "{text}");
    assert!(
        text.ends_with("1 to create, 0 to update, 1 to delete, 0 unchanged, 1 skipped, 0 retained"),
        "{text}"
    );
    assert_nothing_written(&world, &before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_plans_from_explicit_properties() {
    let stack_id = format!(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/{}/guid",
        unique("s")
    );
    let (world, gone) = world_with_drift(&stack_id).await;
    let before = world.connect.users(&world.instance.id);
    let output = world
        .run_binary(&[
            "plan",
            "--instance-id",
            &world.instance.id,
            "--identity-store-id",
            &world.identity_store_id,
            "--group",
            &world.group_name,
            "--stack-id",
            &stack_id,
            "--json",
        ])
        .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_plan_json(&plan, &world, &gone);
    assert_nothing_written(&world, &before);

    // A group that does not exist is the import's own clear error, and exit status 2.
    let output = world
        .run_binary(&[
            "plan",
            "--instance-id",
            &world.instance.id,
            "--identity-store-id",
            &world.identity_store_id,
            "--group",
            "no-such-group-connect-sso",
        ])
        .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Groups[0]") && stderr.contains("no-such-group-connect-sso"),
        "{stderr}"
    );
}

/// A stack in moto's CloudFormation whose parameters and outputs are those template.yaml gives
/// a deployment of `world` (moto cannot run the custom resources themselves).
async fn stack_of(world: &World) -> (String, String) {
    let text = |value: &str| json!({"Value": value});
    let parameter = |default: &str| json!({"Type": "String", "Default": default});
    let template = json!({
        "Parameters": {
            "Groups": parameter(&world.group_name),
            "UsernameAttribute": parameter("email"),
            "SecurityProfiles": parameter("Agent"),
            "RoutingProfile": parameter("Basic Routing Profile"),
            "OnUserRemoved": parameter("Delete"),
            "AdoptExistingUsers": parameter("false"),
        },
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            "ApplicationArn": text(&world.application_arn),
            "ConnectInstanceId": text(&world.instance.id),
            "FederationRoleArn": text(&world.role_arn),
            "SamlProviderArn": text(&world.provider_arn),
            "IdentityStoreId": text(&world.identity_store_id),
        }
    });
    let name = unique("connect-sso");
    let cloudformation =
        aws_sdk_cloudformation::Client::new(&sdk_config(Some(&world.moto_endpoint)).await);
    let created = cloudformation
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    (name, created.stack_id().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_name_is_enough_for_doctor_and_plan() {
    let world = World::healthy().await;
    let (name, stack_id) = stack_of(&world).await;
    assert!(stack_id.starts_with(&format!("arn:aws:cloudformation:{REGION}:")));

    let doctor = world.run_binary(&["doctor", "--stack", &name]).await;
    let stdout = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(
        doctor.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&doctor.stderr)
    );
    assert!(
        stdout.contains(&format!("✔ {}: ", names::CONNECT_USERS)),
        "{stdout}"
    );

    // The import's users carry the stack's id: one that left the group is planned for deletion.
    let gone = format!("{}@example.com", unique("gone"));
    world.connect.add_user(
        &world.instance.id,
        connect_emulator::UserSnapshot::new(&gone)
            .with_tag(OWNER_TAG_STACK_ID, &stack_id)
            .with_tag(OWNER_TAG_LOGICAL_ID, "ConnectUserImport"),
    );
    let output = world
        .run_binary(&["plan", "--stack", &name, "--json"])
        .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["delete"], json!([gone]));
    assert_eq!(plan["create"], json!([]));
    // The members' users exist but were made by hand here, not by the import.
    let skipped: BTreeMap<&str, &str> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(skipped.len(), 2, "{plan}");
}
