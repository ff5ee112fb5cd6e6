//! Custom::IdentityCenterAttributeMapping through CloudFormation events, against the Identity
//! Center emulator's console API.

use std::sync::Arc;
use std::time::Duration;

use attribute_mapping::AttributeMapping;
use aws_config::{Region, SdkConfig};
use identity_center::IdentityCenter;
use identity_center::model::DisplayData;
use identity_center_emulator::Emulator;
use serde_json::{Value, json};
use test_support::{access_key_id, moto_endpoint, unique};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/connect-sso/8d3f0a10-0000-4000-8000-000000000001";
const ROLE: &str = "arn:aws:iam::210987654321:role/ConnectFederation";
const PROVIDER: &str = "arn:aws:iam::210987654321:saml-provider/IdentityCenter";
const RELAY: &str = "https://eu-west-2.console.aws.amazon.com/connect/federate/4b2c8f6e-0000-4000-8000-000000000000";
const ROLE_KEY: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const SESSION_KEY: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";

async fn sdk_config(endpoint: &str) -> SdkConfig {
    test_support::sdk_config_signed_by(Some(endpoint), "AKIDMAPTEST").await
}

/// An emulator with one custom SAML application (as Custom::IdentityCenterSamlApp leaves it,
/// tagged as made by the stack `STACK`), and the function pointed at it.
async fn setup() -> (Emulator, Arc<AttributeMapping>, String) {
    setup_for(STACK).await
}

/// The ownership tags Custom::IdentityCenterSamlApp of `stack_id` puts on what it makes.
async fn tag_as_made_by(emulator: &Emulator, config: &SdkConfig, arn: &str, stack_id: &str) {
    let instance_arn = emulator.application(arn).unwrap()["instanceArn"]
        .as_str()
        .unwrap()
        .to_owned();
    IdentityCenter::new(config)
        .unwrap()
        .tag(
            &instance_arn,
            arn,
            &[
                ("connect-sso:stack-id", stack_id),
                ("connect-sso:logical-resource-id", "App"),
            ],
        )
        .await
        .unwrap();
}

async fn setup_for(stack_id: &str) -> (Emulator, Arc<AttributeMapping>, String) {
    let emulator = Emulator::start().await.unwrap();
    let config = sdk_config(&emulator.endpoint()).await;
    let idc = IdentityCenter::new(&config).unwrap();
    let made = idc
        .console
        .create_application_instance("6a0c1b4e-0000-4000-8000-000000000000")
        .await
        .unwrap();
    let display = DisplayData {
        display_name: "Amazon Connect".into(),
        description: None,
    };
    idc.console
        .update_display_data(&made.instance_id, &display)
        .await
        .unwrap();
    let arn = emulator
        .application_by_instance_id(&made.instance_id)
        .unwrap()["applicationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    tag_as_made_by(&emulator, &config, &arn, stack_id).await;
    emulator.clear_requests();
    (emulator, Arc::new(AttributeMapping::new(config)), arn)
}

/// The console operations that wrote something.
fn console_writes(emulator: &Emulator) -> Vec<String> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.api == "console" && r.operation.starts_with("Update"))
        .map(|r| r.operation)
        .collect()
}

const RESOURCE_TYPE: &str = "Custom::IdentityCenterAttributeMapping";

fn event(request_type: &str, properties: Value) -> Value {
    test_support::Stack::with_id(STACK).event(
        request_type,
        RESOURCE_TYPE,
        "Mapping",
        None,
        properties,
        None,
    )
}

fn update(physical_id: &str, properties: Value, old: Value) -> Value {
    test_support::Stack::with_id(STACK).update(
        RESOURCE_TYPE,
        "Mapping",
        physical_id,
        properties,
        old,
    )
}

fn delete(physical_id: &str, properties: Value) -> Value {
    test_support::Stack::with_id(STACK).delete(RESOURCE_TYPE, "Mapping", physical_id, properties)
}

async fn run(function: &Arc<AttributeMapping>, event: Value) -> Value {
    custom_resource::response_document(Arc::clone(function), event, Duration::from_secs(60))
        .await
        .unwrap()
}

fn minimal(application_arn: &str) -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:attribute-mapping",
        "ApplicationArn": application_arn,
        "RelayState": RELAY,
        "RoleArn": ROLE,
        "SamlProviderArn": PROVIDER,
    })
}

fn attribute(value: &str) -> Value {
    json!({"source": [value]})
}

fn format() -> Value {
    json!({"attrNameFormat": UNSPECIFIED, "include": "YES"})
}

#[tokio::test]
async fn create_update_delete_with_the_state_checked_after_each_step() {
    let (emulator, function, arn) = setup().await;

    // Create with the defaults.
    let answer = run(&function, event("Create", minimal(&arn))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let id = format!("{arn}/attribute-mapping");
    assert_eq!(answer["PhysicalResourceId"], id);
    assert_eq!(
        answer["Data"],
        json!({"RoleAttribute": format!("{ROLE},{PROVIDER}"), "RelayState": RELAY, "ExistingConfigurationRead": "true"})
    );
    let app = emulator.application(&arn).unwrap();
    assert_eq!(
        app["responseConfig"],
        json!({
            "subject": attribute("${user:email}"),
            "properties": {
                ROLE_KEY: attribute(&format!("{ROLE},{PROVIDER}")),
                SESSION_KEY: attribute("${user:email}"),
            },
            "ttl": "PT12H",
            "relayState": RELAY,
        })
    );
    assert_eq!(
        app["responseSchemaConfig"],
        json!({
            "subject": {"include": "REQUIRED", "nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"},
            "properties": {ROLE_KEY: format(), SESSION_KEY: format()},
        })
    );

    // Update in place: every optional property, one additional attribute.
    let mut updated = minimal(&arn);
    updated["SessionDuration"] = json!("PT8H");
    updated["Subject"] = json!("${user:subject}");
    updated["SubjectFormat"] = json!("persistent");
    updated["RoleSessionName"] = json!("${user:preferredUsername}");
    updated["RelayState"] = json!(format!("{RELAY}?destination=%2Fagent-app-v2"));
    updated["AdditionalAttributes"] = json!({"Email": "${user:email}"});
    let answer = run(&function, update(&id, updated.clone(), minimal(&arn))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], id);
    assert_eq!(
        answer["Data"]["RelayState"],
        format!("{RELAY}?destination=%2Fagent-app-v2")
    );
    let app = emulator.application(&arn).unwrap();
    assert_eq!(
        app["responseConfig"],
        json!({
            "subject": attribute("${user:subject}"),
            "properties": {
                ROLE_KEY: attribute(&format!("{ROLE},{PROVIDER}")),
                SESSION_KEY: attribute("${user:preferredUsername}"),
                "Email": attribute("${user:email}"),
            },
            "ttl": "PT8H",
            "relayState": format!("{RELAY}?destination=%2Fagent-app-v2"),
        })
    );
    assert_eq!(
        app["responseSchemaConfig"],
        json!({
            "subject": {"include": "REQUIRED", "nameIdFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"},
            "properties": {ROLE_KEY: format(), SESSION_KEY: format(), "Email": format()},
        })
    );

    // Delete clears its attributes and the relay state, and leaves a complete configuration:
    // a subject and a session duration remain.
    let answer = run(&function, delete(&id, updated)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let app = emulator.application(&arn).unwrap();
    assert_eq!(
        app["responseConfig"],
        json!({"subject": attribute("${user:subject}"), "properties": {}, "ttl": "PT8H"})
    );
    assert_eq!(
        app["responseSchemaConfig"],
        json!({
            "subject": {"include": "REQUIRED", "nameIdFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"},
            "properties": {},
        })
    );
}

#[tokio::test]
async fn ownership_is_checked_then_values_are_written_before_formats_with_matching_keys() {
    let (emulator, function, arn) = setup().await;
    let answer = run(&function, event("Create", minimal(&arn))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let requests = emulator.requests();
    let operations: Vec<String> = requests
        .iter()
        .map(|r| format!("{}:{}", r.api, r.operation))
        .collect();
    // The ownership check reads before anything is written; values before formats, so the
    // formats never name an attribute that has no value.
    assert_eq!(
        operations,
        [
            "sso-admin:ListInstances",
            "sso-admin:ListTagsForResource",
            "console:GetApplicationInstance",
            "console:UpdateApplicationInstanceResponseConfiguration",
            "console:UpdateApplicationInstanceResponseSchemaConfiguration"
        ]
    );
    for request in requests.iter().filter(|r| r.api == "console") {
        assert_eq!(
            request.headers["content-type"],
            "application/x-amz-json-1.1"
        );
        assert_eq!(
            request.headers["x-amz-target"],
            format!("SWBService.{}", request.operation)
        );
        assert!(request.headers["authorization"].contains("/us-east-1/sso/aws4_request"));
    }
    // What IAM and Connect need in the assertion, as stored by the service.
    let app = emulator.application(&arn).unwrap();
    let values = app["responseConfig"]["properties"].as_object().unwrap();
    let formats = app["responseSchemaConfig"]["properties"]
        .as_object()
        .unwrap();
    assert_eq!(
        values.keys().collect::<Vec<_>>(),
        formats.keys().collect::<Vec<_>>(),
        "every attribute has a value and a format"
    );
    let role = values[ROLE_KEY]["source"][0].as_str().unwrap();
    let (role_arn, provider_arn) = role.split_once(',').unwrap();
    assert!(role_arn.contains(":role/") && provider_arn.contains(":saml-provider/"));
    assert_eq!(values[SESSION_KEY], attribute("${user:email}"));
    for format in formats.values() {
        assert!(
            format["attrNameFormat"]
                .as_str()
                .unwrap()
                .starts_with("urn:oasis:names:tc:SAML:2.0:attrname-format:")
        );
    }
    assert_eq!(app["responseConfig"]["ttl"], "PT12H", "Connect's 12 hours");
    assert_eq!(app["responseConfig"]["relayState"], RELAY);
}

#[tokio::test]
async fn attributes_the_resource_did_not_set_are_kept_and_removed_ones_are_dropped() {
    let (emulator, function, arn) = setup().await;
    // Someone mapped "Department" in the console.
    let idc = IdentityCenter::new(&sdk_config(&emulator.endpoint()).await).unwrap();
    let instance_id = emulator.application(&arn).unwrap()["instanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut response = idc
        .console
        .get_application_instance(&instance_id)
        .await
        .unwrap()
        .response_config
        .unwrap_or_default();
    response.properties.insert(
        "Department".into(),
        identity_center::model::AttributeSource::of("Sales"),
    );
    idc.console
        .update_response_config(&instance_id, &response)
        .await
        .unwrap();

    let mut first = minimal(&arn);
    first["AdditionalAttributes"] = json!({"Email": "${user:email}", "Team": "Blue"});
    let created = run(&function, event("Create", first.clone())).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let mut second = minimal(&arn);
    second["AdditionalAttributes"] = json!({"Team": "Green"});
    let id = format!("{arn}/attribute-mapping");
    let answer = run(&function, update(&id, second.clone(), first)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");

    let properties = emulator.application(&arn).unwrap()["responseConfig"]["properties"].clone();
    let names: Vec<&String> = properties.as_object().unwrap().keys().collect();
    assert_eq!(names, ["Department", "Team", ROLE_KEY, SESSION_KEY]);
    assert_eq!(properties["Team"], attribute("Green"));
    assert_eq!(properties["Department"], attribute("Sales"));

    let answer = run(&function, delete(&id, second)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let response = emulator.application(&arn).unwrap()["responseConfig"].clone();
    assert_eq!(
        response,
        json!({"subject": attribute("${user:email}"), "properties": {"Department": attribute("Sales")}, "ttl": "PT12H"})
    );
}

#[tokio::test]
async fn a_different_application_is_a_replacement_that_leaves_the_old_one_to_the_delete() {
    let (emulator, function, arn) = setup().await;
    let idc = IdentityCenter::new(&sdk_config(&emulator.endpoint()).await).unwrap();
    let other = idc
        .console
        .create_application_instance("6a0c1b4e-0000-4000-8000-000000000001")
        .await
        .unwrap();
    let other_arn = emulator
        .application_by_instance_id(&other.instance_id)
        .unwrap()["applicationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    tag_as_made_by(
        &emulator,
        &sdk_config(&emulator.endpoint()).await,
        &other_arn,
        STACK,
    )
    .await;

    let created = run(&function, event("Create", minimal(&arn))).await;
    let old_id = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    let answer = run(
        &function,
        update(&old_id, minimal(&other_arn), minimal(&arn)),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["PhysicalResourceId"],
        format!("{other_arn}/attribute-mapping")
    );
    assert_eq!(
        emulator.application(&other_arn).unwrap()["responseConfig"]["relayState"],
        RELAY
    );
    assert_eq!(
        emulator.application(&arn).unwrap()["responseConfig"]["relayState"],
        RELAY,
        "the old one is untouched"
    );

    let answer = run(&function, delete(&old_id, minimal(&arn))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        emulator.application(&arn).unwrap()["responseConfig"].get("relayState"),
        None
    );
    assert_eq!(
        emulator.application(&other_arn).unwrap()["responseConfig"]["relayState"],
        RELAY
    );
}

#[tokio::test]
async fn deletes_of_ids_it_did_not_make_or_of_applications_already_gone_succeed() {
    let (emulator, function, arn) = setup().await;
    for id in [
        "custom-resource:create-failed:Mapping:1",
        "not-ours",
        arn.as_str(),
    ] {
        let answer = run(&function, delete(id, minimal(&arn))).await;
        assert_eq!(answer["Status"], "SUCCESS", "{id}: {answer}");
        assert!(emulator.requests().is_empty(), "{id}: no calls");
    }
    let created = run(&function, event("Create", minimal(&arn))).await;
    let id = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    emulator.delete_application_out_of_band(&arn);
    emulator.clear_requests();
    let answer = run(&function, delete(&id, minimal(&arn))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let operations: Vec<String> = emulator
        .requests()
        .into_iter()
        .map(|r| r.operation)
        .collect();
    assert_eq!(operations, ["ListInstances", "ListTagsForResource"]);
}

#[tokio::test]
async fn a_mapping_for_an_application_that_does_not_exist_fails_naming_it() {
    let (emulator, function, arn) = setup().await;
    emulator.delete_application_out_of_band(&arn);
    let answer = run(&function, event("Create", minimal(&arn))).await;
    assert_eq!(answer["Status"], "FAILED");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "invalid property ApplicationArn: application {arn} does not exist in account 123456789012 as the function's own role, region us-east-1: "
        )),
        "{reason}"
    );
}

#[tokio::test]
async fn bad_properties_fail_naming_the_property_before_any_call() {
    let (emulator, function, arn) = setup().await;
    let with = |key: &str, value: Value| {
        let mut props = minimal(&arn);
        props[key] = value;
        props
    };
    let mut missing_relay = minimal(&arn);
    missing_relay.as_object_mut().unwrap().remove("RelayState");
    let cases = [
        (missing_relay, "missing field `RelayState`".to_owned()),
        (with("Relaystate", json!("x")), "unknown field `Relaystate`".to_owned()),
        (with("ApplicationArn", json!("ins-72236face0cd1203")), "invalid property ApplicationArn: 'ins-72236face0cd1203' is not an Identity Center application ARN".to_owned()),
        (with("RelayState", json!("http://example.com/connect")), "invalid property RelayState: 'http://example.com/connect' is not an https URL".to_owned()),
        (with("RelayState", json!("connect/federate/1")), "invalid property RelayState".to_owned()),
        (with("SessionDuration", json!("PT30M")), "invalid property SessionDuration: 'PT30M' is not one of the session durations Identity Center offers: whole hours PT1H, PT2H, … PT12H".to_owned()),
        (with("SessionDuration", json!("PT90M")), "invalid property SessionDuration: 'PT90M'".to_owned()),
        (with("SessionDuration", json!("PT13H")), "invalid property SessionDuration: 'PT13H'".to_owned()),
        (with("SessionDuration", json!("12h")), "invalid property SessionDuration: '12h'".to_owned()),
        (with("SubjectFormat", json!("email")), "invalid property SubjectFormat: 'email' is not one of unspecified, emailAddress, persistent, transient".to_owned()),
        (with("RoleArn", json!("arn:aws:iam::210987654321:user/bob")), "invalid property RoleArn: 'arn:aws:iam::210987654321:user/bob' is not an IAM role ARN".to_owned()),
        (with("SamlProviderArn", json!("IdentityCenter")), "invalid property SamlProviderArn: 'IdentityCenter' is not an IAM SAML provider ARN".to_owned()),
        (with("SamlProviderArn", json!("arn:aws:iam::111111111111:saml-provider/IdentityCenter")), format!("invalid properties: RoleArn and SamlProviderArn must be in the same account, the Amazon Connect account: the role {ROLE} is in account 210987654321, the SAML provider arn:aws:iam::111111111111:saml-provider/IdentityCenter in account 111111111111")),
        (with("AdditionalAttributes", json!({ROLE_KEY: "x"})), format!("invalid property AdditionalAttributes: '{ROLE_KEY}' is set by RoleArn/SamlProviderArn")),
        (with("AdditionalAttributes", json!({"Email": ""})), "invalid property AdditionalAttributes.Email: it must not be empty".to_owned()),
        (with("AdditionalAttributes", json!(["Email"])), "invalid property AdditionalAttributes".to_owned()),
        (with("IdentityCenterRegion", json!("Virginia")), "invalid property IdentityCenterRegion: 'Virginia'".to_owned()),
    ];
    for (props, expected) in cases {
        let answer = run(&function, event("Create", props.clone())).await;
        assert_eq!(answer["Status"], "FAILED", "{props}: {answer}");
        let reason = answer["Reason"].as_str().unwrap();
        assert!(
            reason.contains(&expected),
            "{props}\nexpected: {expected}\nreason: {reason}"
        );
    }
    assert!(emulator.requests().is_empty(), "no call for bad input");
    // The subject formats all map to a NameID format URN the service accepts.
    for format in ["unspecified", "emailAddress", "persistent", "transient"] {
        let answer = run(
            &function,
            event("Create", with("SubjectFormat", json!(format))),
        )
        .await;
        assert_eq!(answer["Status"], "SUCCESS", "{format}: {answer}");
    }
}

#[tokio::test]
async fn identity_center_expressions_are_passed_verbatim() {
    let (emulator, function, arn) = setup().await;
    let mut props = minimal(&arn);
    props["RoleSessionName"] = json!("${user:givenName}.${user:familyName}");
    props["AdditionalAttributes"] =
        json!({"https://aws.amazon.com/SAML/Attributes/SessionDuration": "43200"});
    let answer = run(&function, event("Create", props)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let response = emulator.application(&arn).unwrap()["responseConfig"].clone();
    assert_eq!(
        response["properties"][SESSION_KEY],
        attribute("${user:givenName}.${user:familyName}")
    );
    assert_eq!(
        response["properties"]["https://aws.amazon.com/SAML/Attributes/SessionDuration"],
        attribute("43200")
    );
}

#[tokio::test]
async fn the_region_property_picks_the_home_region_to_call() {
    let (emulator, function, _) = setup().await;
    emulator.add_instance_in_region("eu-west-1");
    let config = sdk_config(&emulator.endpoint())
        .await
        .to_builder()
        .region(Region::new("eu-west-1"))
        .build();
    let idc = IdentityCenter::new(&config).unwrap();
    let made = idc
        .console
        .create_application_instance("6a0c1b4e-0000-4000-8000-000000000002")
        .await
        .unwrap();
    let eu_arn = emulator
        .application_by_instance_id(&made.instance_id)
        .unwrap()["applicationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    tag_as_made_by(&emulator, &config, &eu_arn, STACK).await;
    emulator.clear_requests();

    let mut props = minimal(&eu_arn);
    props["IdentityCenterRegion"] = json!("eu-west-1");
    let answer = run(&function, event("Create", props)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert!(
        emulator
            .requests()
            .iter()
            .all(|r| r.headers["authorization"].contains("/eu-west-1/sso/aws4_request"))
    );
    assert_eq!(
        emulator.application(&eu_arn).unwrap()["responseConfig"]["relayState"],
        RELAY
    );
}

#[tokio::test]
async fn the_sample_events_run_create_update_delete() {
    let sample_stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/connect-sso/5f1e5a40-9c3a-11ef-8d1b-0a1b2c3d4e5f";
    let (emulator, function, arn) = setup_for(sample_stack).await;
    for name in ["create", "update", "delete"] {
        let path = format!(
            "{}/../../events/attribute-mapping/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        let sample_arn =
            "arn:aws:sso::123456789012:application/ssoins-72236face0cd1203/apl-8f4b2c6d1e3a5f70";
        let event: Value = serde_json::from_str(&text.replace(sample_arn, &arn)).unwrap();
        let answer = run(&function, event).await;
        assert_eq!(answer["Status"], "SUCCESS", "{name}: {answer}");
        let response = emulator.application(&arn).unwrap()["responseConfig"].clone();
        match name {
            "create" => assert_eq!(response["ttl"], "PT12H"),
            "update" => assert_eq!(response["ttl"], "PT10H"),
            _ => {
                assert_eq!(response["properties"], json!({}));
                assert_eq!(response["ttl"], "PT10H", "the session duration is kept");
                assert!(
                    response["subject"]["source"][0].is_string(),
                    "a subject is kept"
                );
            }
        }
    }
}

// ------------------------------------------------- Identity Center in another account

/// The function with STS at moto, and an event of a stack of its own (so that the session name,
/// `<stack name>.Mapping`, identifies this test's AssumeRole calls in moto).
async fn cross_account_setup() -> (Emulator, Arc<AttributeMapping>, String, String) {
    let stack_name = format!("connect-sso-{}", unique("t"));
    let (emulator, _, arn) = setup_for(&stack_id(&stack_name)).await;
    let function = AttributeMapping::new(sdk_config(&emulator.endpoint()).await)
        .with_sts(sdk_config(&moto_endpoint()).await);
    (emulator, Arc::new(function), arn, stack_name)
}

fn stack_id(stack_name: &str) -> String {
    format!(
        "arn:aws:cloudformation:us-east-1:210987654321:stack/{stack_name}/8d3f0a10-0000-4000-8000-000000000002"
    )
}

fn stack_event(stack_name: &str, request_type: &str, properties: Value) -> Value {
    let mut event = event(request_type, properties);
    event["StackId"] = json!(stack_id(stack_name));
    event
}

/// moto's records of the AssumeRole calls that opened `session_name`.
async fn assumed_roles(session_name: &str) -> Vec<Value> {
    test_support::assumed_roles()
        .await
        .into_iter()
        .filter(|role| role["session_name"] == session_name)
        .collect()
}

#[tokio::test]
async fn console_calls_carry_the_assumed_roles_credentials() {
    let (emulator, function, arn, stack_name) = cross_account_setup().await;
    let role = format!(
        "arn:aws:iam::111122223333:role/ConnectSsoIdentityCenter-{}",
        unique("t")
    );
    let mut props = minimal(&arn);
    props["IdentityCenterRoleArn"] = json!(role);
    props["IdentityCenterExternalId"] = json!("connect-sso-external-id");

    let answer = run(&function, stack_event(&stack_name, "Create", props.clone())).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    // The Role attribute names the Connect account's ARNs (210987654321), not the account the
    // function called (111122223333).
    assert_eq!(
        answer["Data"]["RoleAttribute"],
        format!("{ROLE},{PROVIDER}")
    );
    assert_eq!(
        emulator.application(&arn).unwrap()["responseConfig"]["relayState"],
        RELAY
    );
    let assumed = assumed_roles(&format!("{stack_name}.Mapping")).await;
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    assert_eq!(assumed[0]["role_arn"], role.as_str());
    assert_eq!(assumed[0]["external_id"], "connect-sso-external-id");
    let requests = emulator.requests();
    assert_eq!(
        requests.len(),
        5,
        "ListInstances, ListTagsForResource, Get and two writes"
    );
    for request in &requests {
        assert_eq!(
            access_key_id(&request.headers["authorization"]),
            assumed[0]["access_key_id"].as_str().unwrap(),
            "{}",
            request.operation
        );
        assert_eq!(
            request.headers["x-amz-security-token"],
            assumed[0]["session_token"].as_str().unwrap()
        );
    }

    emulator.clear_requests();
    let mut delete = stack_event(&stack_name, "Delete", props);
    delete["PhysicalResourceId"] = json!(format!("{arn}/attribute-mapping"));
    let answer = run(&function, delete).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        emulator.application(&arn).unwrap()["responseConfig"],
        json!({"subject": attribute("${user:email}"), "properties": {}, "ttl": "PT12H"})
    );
    let assumed = assumed_roles(&format!("{stack_name}.Mapping")).await;
    assert_eq!(assumed.len(), 2);
    for request in emulator.requests() {
        assert_eq!(
            access_key_id(&request.headers["authorization"]),
            assumed[1]["access_key_id"].as_str().unwrap()
        );
    }
}

#[tokio::test]
async fn a_not_found_from_another_account_says_which_account_and_region_were_called() {
    let (emulator, function, arn, stack_name) = cross_account_setup().await;
    emulator.delete_application_out_of_band(&arn);
    let role = format!(
        "arn:aws:iam::111122223333:role/ConnectSsoIdentityCenter-{}",
        unique("t")
    );
    let mut props = minimal(&arn);
    props["IdentityCenterRoleArn"] = json!(role);
    let answer = run(&function, stack_event(&stack_name, "Create", props)).await;
    assert_eq!(answer["Status"], "FAILED");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "invalid property ApplicationArn: application {arn} does not exist in account 111122223333 as {role}, region us-east-1: "
        )),
        "{reason}"
    );
    assert!(
        reason.ends_with(" (the application's ARN names account 123456789012, the call went to account 111122223333: if Identity Center is in account 123456789012, set IdentityCenterRoleArn to a role there)"),
        "{reason}"
    );
}

#[tokio::test]
async fn role_properties_are_checked_before_any_call() {
    let (emulator, function, arn, stack_name) = cross_account_setup().await;
    let mut bad_role = minimal(&arn);
    bad_role["IdentityCenterRoleArn"] = json!("arn:aws:iam::111122223333:user/admin");
    let mut orphan_id = minimal(&arn);
    orphan_id["IdentityCenterExternalId"] = json!("connect-sso-external-id");
    for (props, expected) in [
        (
            bad_role,
            "invalid property IdentityCenterRoleArn: 'arn:aws:iam::111122223333:user/admin' is not an IAM role ARN",
        ),
        (
            orphan_id,
            "invalid properties: IdentityCenterExternalId is only used to assume IdentityCenterRoleArn",
        ),
    ] {
        let answer = run(&function, stack_event(&stack_name, "Create", props)).await;
        assert_eq!(answer["Status"], "FAILED");
        let reason = answer["Reason"].as_str().unwrap();
        assert!(reason.starts_with(expected), "{reason}");
    }
    assert!(emulator.requests().is_empty());
    assert!(
        assumed_roles(&format!("{stack_name}.Mapping"))
            .await
            .is_empty()
    );
}

// ------------------------------------------------- only this stack's applications

#[tokio::test]
async fn an_application_this_stack_did_not_make_is_refused_with_no_write() {
    let (emulator, function, ours) = setup().await;
    let config = sdk_config(&emulator.endpoint()).await;
    let someone_elses = emulator.add_foreign_application(&emulator.instance_arn(), "Payroll");
    let other_stack = emulator.add_foreign_application(&emulator.instance_arn(), "Other stack");
    let other_stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/other/1";
    tag_as_made_by(&emulator, &config, &other_stack, other_stack_id).await;
    let before: Vec<Value> = [&someone_elses, &other_stack]
        .iter()
        .map(|arn| emulator.application(arn).unwrap())
        .collect();

    for (arn, owner) in [
        (
            &someone_elses,
            "it has no connect-sso:stack-id tag".to_owned(),
        ),
        (
            &other_stack,
            format!("its connect-sso:stack-id tag names {other_stack_id}"),
        ),
    ] {
        emulator.clear_requests();
        let answer = run(&function, event("Create", minimal(arn))).await;
        assert_eq!(answer["Status"], "FAILED", "{answer}");
        assert_eq!(
            answer["Reason"],
            format!(
                "invalid property ApplicationArn: application {arn} was not made by this stack ({owner}): attribute mappings are only written on an application this stack's Custom::IdentityCenterSamlApp made; nothing was changed"
            )
        );
        assert!(console_writes(&emulator).is_empty(), "{arn}: no write");

        // Moving an existing mapping onto it is refused the same way.
        let answer = run(
            &function,
            update(
                &format!("{ours}/attribute-mapping"),
                minimal(arn),
                minimal(&ours),
            ),
        )
        .await;
        assert_eq!(answer["Status"], "FAILED", "{answer}");
        assert!(console_writes(&emulator).is_empty(), "{arn}: no write");

        // A Delete naming it clears nothing (and does not block the stack).
        let answer = run(
            &function,
            delete(&format!("{arn}/attribute-mapping"), minimal(arn)),
        )
        .await;
        assert_eq!(answer["Status"], "SUCCESS", "{answer}");
        assert!(console_writes(&emulator).is_empty(), "{arn}: no write");
    }
    let after: Vec<Value> = [&someone_elses, &other_stack]
        .iter()
        .map(|arn| emulator.application(arn).unwrap())
        .collect();
    assert_eq!(before, after);
}

// ------------------------------------------------- answers AWS has not documented

/// ASSUMPTION `get-returns-response-config`, the other way: GetApplicationInstance shows no
/// responseConfig / responseSchemaConfig.
#[tokio::test]
async fn an_unreadable_configuration_is_reported_and_delete_still_writes_a_complete_one() {
    let (emulator, function, arn) = setup().await;
    emulator.set_response_config_readable(false);
    let answer = run(&function, event("Create", minimal(&arn))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["Data"]["ExistingConfigurationRead"], "false",
        "the user is told the merge could not see what was there"
    );
    let app = emulator.application(&arn).unwrap();
    assert_eq!(
        app["responseConfig"]["properties"][ROLE_KEY],
        attribute(&format!("{ROLE},{PROVIDER}"))
    );

    let mut props = minimal(&arn);
    props["SessionDuration"] = json!("PT9H");
    props["Subject"] = json!("${user:subject}");
    let answer = run(
        &function,
        delete(&format!("{arn}/attribute-mapping"), props),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    // Nothing could be read: the configuration written holds a subject and a session duration
    // (this resource's), never a reduced object.
    let app = emulator.application(&arn).unwrap();
    assert_eq!(
        app["responseConfig"],
        json!({"subject": attribute("${user:subject}"), "properties": {}, "ttl": "PT9H"})
    );
    assert_eq!(
        app["responseSchemaConfig"]["subject"]["include"], "REQUIRED",
        "{app}"
    );
}

#[tokio::test]
async fn console_throttling_is_ridden_out_and_was_met() {
    let (emulator, function, arn) = setup().await;
    // The console read and write are throttled, more than once each.
    emulator.throttle_operation("GetApplicationInstance", 3);
    emulator.throttle_operation("UpdateApplicationInstanceResponseSchemaConfiguration", 2);
    let answer = run(&function, event("Create", minimal(&arn))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(emulator.throttled_requests(), 5, "the throttle was met");
    assert_eq!(
        emulator.application(&arn).unwrap()["responseSchemaConfig"]["properties"][ROLE_KEY],
        format()
    );
    // Then the console writes themselves.
    emulator.clear_requests();
    emulator.fail_operation("UpdateApplicationInstanceResponseConfiguration", 2, 503);
    let mut props = minimal(&arn);
    props["SessionDuration"] = json!("PT4H");
    let answer = run(
        &function,
        update(&format!("{arn}/attribute-mapping"), props, minimal(&arn)),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        console_writes(&emulator)
            .iter()
            .filter(|op| *op == "UpdateApplicationInstanceResponseConfiguration")
            .count(),
        3,
        "two refused, the third written"
    );
    assert_eq!(
        emulator.application(&arn).unwrap()["responseConfig"]["ttl"],
        "PT4H"
    );
}

#[tokio::test]
async fn an_application_sso_admin_does_not_show_yet_is_waited_for() {
    let (emulator, function, arn) = setup().await;
    // Just made: the console API knows it, sso-admin's tag lookups miss it twice.
    emulator.hide_application_for(&arn, 2);
    let answer = run(&function, event("Create", minimal(&arn))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let tag_reads = emulator
        .requests()
        .iter()
        .filter(|r| r.operation == "ListTagsForResource")
        .count();
    assert_eq!(
        tag_reads, 4,
        "missed, waited for (missed again, then seen), then read"
    );
    assert_eq!(
        emulator.application(&arn).unwrap()["responseConfig"]["relayState"],
        RELAY
    );
}
