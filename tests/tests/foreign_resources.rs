//! What another stack (or someone in the console) made is never written by this stack's
//! functions, even when an event names it: each case runs the compiled function through the
//! Runtime API against the emulators (and moto's identity store), and the "no write" is read
//! from the emulated services' own state, not from a recording stand-in.
//!
//! Needs `cargo build --workspace --bins` and moto (`scripts/with-moto`).

use aws_sdk_ssoadmin::types::Tag;
use connect_emulator::UserSnapshot;
use end_to_end::*;
use identity_center_emulator::Emulator as IdentityCenter;
use serde_json::{Value, json};

const MAPPING: &str = "Custom::IdentityCenterAttributeMapping";
const IMPORT: &str = "Custom::ConnectUserImport";

/// Tags `application` as made by `stack`'s Custom::IdentityCenterSamlApp, as that function does.
async fn tag_as_made_by(identity_center: &IdentityCenter, application: &str, stack: &str) {
    let config = test_support::sdk_config(Some(&identity_center.endpoint())).await;
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build().expect("tag");
    aws_sdk_ssoadmin::Client::new(&config)
        .tag_resource()
        .instance_arn(identity_center.instance_arn())
        .resource_arn(application)
        .tags(tag(custom_resource::OWNER_TAG_STACK_ID, stack))
        .tags(tag(custom_resource::OWNER_TAG_LOGICAL_ID, "App"))
        .send()
        .await
        .expect("TagResource");
}

fn mapping(application: &str) -> Value {
    json!({
        "ApplicationArn": application,
        "RelayState": "https://us-east-1.console.aws.amazon.com/connect/federate/4b2c8f6e-5a1d-4c3b-9e7f-0d1c2b3a4f5e",
        "RoleArn": "arn:aws:iam::123456789012:role/Federation",
        "SamlProviderArn": "arn:aws:iam::123456789012:saml-provider/IdentityCenter",
        "SessionDuration": "PT1H",
        "AdditionalAttributes": {"https://example.com/attacker": "${user:email}"},
    })
}

/// The emulator's requests that change something.
fn identity_center_writes(identity_center: &IdentityCenter) -> Vec<String> {
    identity_center
        .requests()
        .into_iter()
        .filter(|request| {
            !["Get", "List", "Describe"]
                .iter()
                .any(|read| request.operation.starts_with(read))
        })
        .map(|request| format!("{}:{}", request.api, request.operation))
        .collect()
}

#[tokio::test]
async fn attribute_mapping_never_writes_an_application_this_stack_did_not_create() {
    let identity_center = IdentityCenter::start().await.expect("emulator");
    let instance = identity_center.instance_arn();
    let untagged = identity_center.add_foreign_application(&instance, "Payroll");
    let other_stacks = identity_center.add_foreign_application(&instance, "Other stack's Connect");
    tag_as_made_by(&identity_center, &other_stacks, OTHER_STACK).await;
    // The control: an application this stack made, which the same harness does write.
    let ours = identity_center.add_foreign_application(&instance, "Our Connect");
    tag_as_made_by(&identity_center, &ours, OUR_STACK).await;
    let before: Vec<Value> = [&untagged, &other_stacks]
        .iter()
        .map(|arn| identity_center.application(arn).expect("exists"))
        .collect();
    identity_center.clear_requests();

    let hostile = Hostile::start(
        "attribute-mapping",
        None,
        &[("AWS_ENDPOINT_URL_SSO_ADMIN", &identity_center.endpoint())],
    )
    .await;
    for (round, (application, owner)) in [
        (&untagged, "it has no connect-sso:stack-id tag".to_owned()),
        (
            &other_stacks,
            format!("its connect-sso:stack-id tag names {OTHER_STACK}"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let [create_key, update_key, delete_key] =
            ["create", "update", "delete"].map(|request| format!("{request}-{round}"));
        let create = hostile.event(
            &create_key,
            "Create",
            OUR_STACK,
            MAPPING,
            None,
            mapping(application),
        );
        hostile.invoke(&create).await;
        let response = hostile.response(&create_key).await;
        assert_eq!(response["Status"], "FAILED", "{response:#}");
        assert_eq!(
            response["Reason"],
            format!(
                "invalid property ApplicationArn: application {application} was not made by this stack ({owner}): \
                 attribute mappings are only written on an application this stack's Custom::IdentityCenterSamlApp made; nothing was changed"
            )
        );
        // Moving this stack's mapping onto it.
        let update = hostile.event(
            &update_key,
            "Update",
            OUR_STACK,
            MAPPING,
            Some(format!("{ours}/attribute-mapping").as_str()),
            mapping(application),
        );
        hostile.invoke(&update).await;
        let response = hostile.response(&update_key).await;
        assert_eq!(response["Status"], "FAILED", "{response:#}");
        assert!(
            response["Reason"]
                .as_str()
                .unwrap_or_default()
                .contains("was not made by this stack"),
            "{response:#}"
        );
        // A Delete naming it clears nothing, and does not hold the stack up.
        let delete = hostile.event(
            &delete_key,
            "Delete",
            OUR_STACK,
            MAPPING,
            Some(format!("{application}/attribute-mapping").as_str()),
            mapping(application),
        );
        hostile.invoke(&delete).await;
        assert_eq!(hostile.response(&delete_key).await["Status"], "SUCCESS");
        for key in [create_key, update_key, delete_key] {
            assert_eq!(
                hostile.bucket.received_for(&key).len(),
                1,
                "{key}: one answer"
            );
        }
    }
    assert_eq!(
        identity_center_writes(&identity_center),
        Vec::<String>::new()
    );
    let after: Vec<Value> = [&untagged, &other_stacks]
        .iter()
        .map(|arn| identity_center.application(arn).expect("still exists"))
        .collect();
    assert_eq!(before, after, "the applications are unchanged");

    // The control: this stack's own application is written through the same harness.
    let create = hostile.event("ours", "Create", OUR_STACK, MAPPING, None, mapping(&ours));
    hostile.invoke(&create).await;
    let response = hostile.response("ours").await;
    assert_eq!(response["Status"], "SUCCESS", "{response:#}");
    assert_eq!(
        identity_center.application(&ours).expect("exists")["responseConfig"]["ttl"],
        "PT1H"
    );
    hostile.function.stop().await;
}

#[tokio::test]
async fn adopt_existing_never_takes_another_stacks_users() {
    let connect = connect_emulator::Emulator::start(connect_emulator::Options::default())
        .await
        .expect("emulator");
    let instance = connect.create_instance(&test_support::unique("adopt"), "SAML");
    let theirs = connect.add_user(
        &instance.id,
        UserSnapshot::new("jane@example.com")
            .with_names("Jane", "Theirs")
            .with_tag(custom_resource::OWNER_TAG_STACK_ID, OTHER_STACK)
            .with_tag(custom_resource::OWNER_TAG_LOGICAL_ID, "Users"),
    );
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
    // jane is theirs in Connect; ann (the control) is nobody's yet.
    for name in ["jane", "ann"] {
        directory_member(&identity_store, &store, &group, name).await;
    }
    connect.reset_call_counts();

    let hostile = Hostile::start(
        "connect-user-import",
        None,
        &[
            ("AWS_ENDPOINT_URL_CONNECT", &connect.endpoint()),
            (
                "AWS_ENDPOINT_URL_IDENTITYSTORE",
                &test_support::moto_endpoint(),
            ),
        ],
    )
    .await;
    let properties = json!({
        "InstanceId": instance.id, "IdentityStoreId": store, "Groups": ["Agents"],
        "AdoptExisting": "true", "OnUserRemoved": "Delete",
    });
    let create = hostile.event(
        "create",
        "Create",
        OUR_STACK,
        IMPORT,
        None,
        properties.clone(),
    );
    hostile.invoke(&create).await;
    let created = hostile.response("create").await;
    assert_eq!(created["Status"], "SUCCESS", "{created:#}");
    let problems = created["Data"]["Problems"].as_str().unwrap_or_default();
    assert!(
        problems.contains("jane@example.com") && problems.contains(OTHER_STACK),
        "the user is reported with its owner: {problems}"
    );
    assert_eq!(created["Data"]["Created"], "1", "ann: {created:#}");
    assert_eq!(
        connect.user(&instance.id, "jane@example.com"),
        Some(theirs.clone()),
        "not re-tagged or edited"
    );
    let tagged: u64 = connect
        .call_counts()
        .get("TagResource")
        .copied()
        .unwrap_or(0);
    assert_eq!(tagged, 0, "nobody claimed: {:?}", connect.call_counts());

    // Nor deleted by this stack's Delete, which removes what it made (ann).
    let physical_id = created["PhysicalResourceId"].as_str().expect("an id");
    let delete = hostile.event(
        "delete",
        "Delete",
        OUR_STACK,
        IMPORT,
        Some(physical_id),
        properties,
    );
    hostile.invoke(&delete).await;
    let deleted = hostile.response("delete").await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted:#}");
    let left: Vec<UserSnapshot> = connect.users(&instance.id);
    assert_eq!(left, vec![theirs], "only their user is left, unchanged");
    hostile.assert_logs_free_of(&[hostile.bucket.signature()]);
    hostile.function.stop().await;
}
