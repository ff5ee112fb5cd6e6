//! An Update whose OldResourceProperties no longer parse, on each of the four compiled functions
//! against the emulators and moto.
//!
//! The case a CloudFormation user meets: an Update is rejected because its new properties do not
//! parse (a misspelt property name), so CloudFormation rolls the stack back, sending an Update
//! whose properties are the last good ones and whose OldResourceProperties are the rejected ones.
//! That rollback must succeed and bring the resource back to the good properties: a failed
//! rollback leaves the stack in UPDATE_ROLLBACK_FAILED, which the user can only leave by skipping
//! the resource. (The same holds after an upgrade of the function that dropped a property the old
//! properties still name.) What only the old properties named is not undone, since they cannot
//! be read; the function's log says so, naming OldResourceProperties.
//!
//! Needs `cargo build --workspace --bins` and moto (`scripts/with-moto`).

use aws_sdk_ssoadmin::types::Tag;
use end_to_end::*;
use identity_center_emulator::Emulator as IdentityCenter;
use serde_json::{Value, json};

/// The rejected Update's properties: the good ones with one property name misspelt.
fn misspelt(good: &Value, property: &str) -> Value {
    let mut rejected = good.clone();
    let fields = rejected.as_object_mut().expect("an object");
    let value = fields.remove(property).expect("the property is set");
    fields.insert(property.to_lowercase(), value);
    rejected
}

/// Create with `good`, a rejected Update with `good` misspelt, then the rollback. Returns the
/// physical id and the rollback's response; `between` runs after the rejected Update (to change
/// the world the rollback converges to, and check nothing changed).
async fn create_reject_roll_back(
    hostile: &Hostile,
    resource_type: &str,
    good: Value,
    property: &str,
    between: impl AsyncFnOnce(),
) -> (String, Value) {
    let binary = resource_type;
    let create = hostile.event(
        "create",
        "Create",
        OUR_STACK,
        resource_type,
        None,
        good.clone(),
    );
    let created = hostile.answer("create", &create).await;
    assert_eq!(created["Status"], "SUCCESS", "{binary}: {created:#}");
    let id = created["PhysicalResourceId"]
        .as_str()
        .expect("a physical id")
        .to_owned();

    let rejected = misspelt(&good, property);
    let update = hostile.update_event(
        "rejected",
        resource_type,
        &id,
        rejected.clone(),
        good.clone(),
    );
    let answer = hostile.answer("rejected", &update).await;
    assert_eq!(answer["Status"], "FAILED", "{binary}: {answer:#}");
    let reason = answer["Reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("unknown field `{}`", property.to_lowercase())),
        "{binary}: the Reason names the misspelt property: {reason}"
    );
    between().await;

    let rollback = hostile.update_event("rollback", resource_type, &id, good, rejected);
    let answer = hostile.answer("rollback", &rollback).await;
    assert_eq!(
        answer["Status"], "SUCCESS",
        "{binary}: the rollback: {answer:#}"
    );
    assert_eq!(
        answer["PhysicalResourceId"],
        json!(id),
        "{binary}: in place"
    );
    let logs = hostile.function.logs();
    assert!(
        logs.iter()
            .any(|line| line.contains("OldResourceProperties") && line.contains("WARN")),
        "{binary}: the log says the old properties were not read: {logs:#?}"
    );
    (id, answer)
}

async fn tag_as_ours(identity_center: &IdentityCenter, application: &str) {
    let config = test_support::sdk_config(Some(&identity_center.endpoint())).await;
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build().expect("tag");
    aws_sdk_ssoadmin::Client::new(&config)
        .tag_resource()
        .instance_arn(identity_center.instance_arn())
        .resource_arn(application)
        .tags(tag(custom_resource::OWNER_TAG_STACK_ID, OUR_STACK))
        .tags(tag(custom_resource::OWNER_TAG_LOGICAL_ID, "App"))
        .send()
        .await
        .expect("TagResource");
}

#[tokio::test]
async fn identity_center_app_rolls_back_to_the_good_properties() {
    let identity_center = IdentityCenter::start().await.expect("emulator");
    let hostile = Hostile::start(
        "identity-center-app",
        None,
        &[
            ("AWS_ENDPOINT_URL_SSO_ADMIN", &identity_center.endpoint()),
            (
                "AWS_ENDPOINT_URL_IDENTITYSTORE",
                &test_support::moto_endpoint(),
            ),
        ],
    )
    .await;
    let good =
        json!({"DisplayName": "Amazon Connect", "Description": "Sign in to the contact centre"});
    let (application, _) = create_reject_roll_back(
        &hostile,
        "Custom::IdentityCenterSamlApp",
        good,
        "Description",
        async || {
            let applications = identity_center.applications();
            assert_eq!(applications.len(), 1);
            assert_eq!(
                applications[0]["description"], "Sign in to the contact centre",
                "the rejected Update wrote nothing"
            );
        },
    )
    .await;
    let state = identity_center.application(&application).expect("exists");
    assert_eq!(state["displayName"], "Amazon Connect");
    assert_eq!(state["description"], "Sign in to the contact centre");
    assert_eq!(
        identity_center.applications().len(),
        1,
        "in place, no second application"
    );
    hostile.function.stop().await;
}

#[tokio::test]
async fn attribute_mapping_rolls_back_to_the_good_properties() {
    let identity_center = IdentityCenter::start().await.expect("emulator");
    let application =
        identity_center.add_foreign_application(&identity_center.instance_arn(), "Amazon Connect");
    tag_as_ours(&identity_center, &application).await;
    let hostile = Hostile::start(
        "attribute-mapping",
        None,
        &[("AWS_ENDPOINT_URL_SSO_ADMIN", &identity_center.endpoint())],
    )
    .await;
    let good = json!({
        "ApplicationArn": application,
        "RelayState": "https://us-east-1.console.aws.amazon.com/connect/federate/4b2c8f6e-5a1d-4c3b-9e7f-0d1c2b3a4f5e",
        "RoleArn": "arn:aws:iam::123456789012:role/Federation",
        "SamlProviderArn": "arn:aws:iam::123456789012:saml-provider/IdentityCenter",
        "SessionDuration": "PT8H",
    });
    let before_rejection = std::cell::RefCell::new(Value::Null);
    create_reject_roll_back(
        &hostile,
        "Custom::IdentityCenterAttributeMapping",
        good,
        "SessionDuration",
        async || {
            let state = identity_center.application(&application).expect("exists");
            assert_eq!(
                state["responseConfig"]["ttl"], "PT8H",
                "the rejected Update wrote nothing"
            );
            *before_rejection.borrow_mut() = state;
        },
    )
    .await;
    let state = identity_center.application(&application).expect("exists");
    assert_eq!(state["responseConfig"]["ttl"], "PT8H");
    assert_eq!(
        state["responseConfig"]["properties"]["https://aws.amazon.com/SAML/Attributes/Role"],
        json!({"source": ["arn:aws:iam::123456789012:role/Federation,arn:aws:iam::123456789012:saml-provider/IdentityCenter"]})
    );
    assert_eq!(
        state["responseConfig"],
        before_rejection.borrow()["responseConfig"],
        "the same mapping as before the rejected Update"
    );
    hostile.function.stop().await;
}

#[tokio::test]
async fn saml_provider_rolls_back_to_the_good_properties() {
    let identity_center = IdentityCenter::start().await.expect("emulator");
    identity_center.use_local_portal();
    let application =
        identity_center.add_foreign_application(&identity_center.instance_arn(), "Amazon Connect");
    let metadata_url = identity_center
        .metadata_url(&application)
        .expect("a metadata URL");
    let iam = moto_iam_proxy::IamProxy::start(&test_support::moto_endpoint())
        .await
        .expect("the IAM proxy");
    let hostile = Hostile::start(
        "saml-provider",
        Some(&iam.endpoint),
        &[("CONNECT_SSO_ALLOW_HTTP_METADATA", "true")],
    )
    .await;
    let name = test_support::unique("rollback");
    let good = json!({"MetadataUrl": metadata_url, "Name": name});
    let (arn, _) = create_reject_roll_back(
        &hostile,
        "Custom::SamlProviderFromMetadata",
        good,
        "MetadataUrl",
        async || {
            // The certificate rotates meanwhile: the rollback takes the current metadata.
            assert!(identity_center.rotate_certificate(&application));
        },
    )
    .await;
    let config = test_support::sdk_config(Some(&test_support::moto_endpoint())).await;
    let provider = aws_sdk_iam::Client::new(&config)
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .expect("the provider exists");
    assert_eq!(
        provider.saml_metadata_document(),
        identity_center.metadata_xml(&application).as_deref(),
        "the provider holds the current metadata"
    );
    let _ = aws_sdk_iam::Client::new(&config)
        .delete_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await;
    hostile.function.stop().await;
}

#[tokio::test]
async fn connect_user_import_rolls_back_to_the_good_properties() {
    let connect = connect_emulator::Emulator::start(connect_emulator::Options::default())
        .await
        .expect("emulator");
    let instance = connect.create_instance(&test_support::unique("rollback"), "SAML");
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
    let member = async |name: &str| directory_member(&identity_store, &store, &group, name).await;
    member("ann").await;
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
    let good = json!({"InstanceId": instance.id, "IdentityStoreId": store, "Groups": ["Agents"]});
    let usernames = || -> Vec<String> {
        connect
            .users(&instance.id)
            .into_iter()
            .map(|user| user.username)
            .collect()
    };
    create_reject_roll_back(
        &hostile,
        "Custom::ConnectUserImport",
        good,
        "Groups",
        async || {
            assert_eq!(
                usernames(),
                ["ann@example.com"],
                "the rejected Update changed nothing"
            );
            // Bob joins meanwhile: the rollback imports the group as it is now.
            member("bob").await;
        },
    )
    .await;
    assert_eq!(usernames(), ["ann@example.com", "bob@example.com"]);
    hostile.function.stop().await;
}
