//! Custom::IdentityCenterSamlApp through CloudFormation events, against the Identity Center
//! emulator (console API + sso-admin) and moto (identity store).

mod common;

use common::*;
use identity_center_emulator::Emulator;
use serde_json::{Value, json};

fn properties(display_name: &str) -> Value {
    json!({ "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:identity-center-app", "DisplayName": display_name })
}

#[tokio::test]
async fn create_update_delete_with_the_state_checked_after_each_step() {
    let (emulator, function) = setup().await;
    let store = identity_store(&emulator).await;
    let tag = unique("t");
    let agents = store.group(&format!("Agents-{tag}")).await;
    let supervisors = store.group(&format!("Supervisors-{tag}")).await;
    let alice = store.user(&format!("alice-{tag}@example.com")).await;
    let stack = Stack::new();

    // Create
    let created_props = json!({
        "DisplayName": "Amazon Connect",
        "Description": "Agents sign in to Amazon Connect",
        "AssignedGroups": [format!("Agents-{tag}")],
        "AssignedUsers": [format!("alice-{tag}@example.com")],
    });
    let answer = run(
        &function,
        stack.event("Create", "ConnectApp", created_props.clone()),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let arn = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    let app = emulator.application(&arn).expect("the application exists");
    let instance_id = app["instanceId"].as_str().unwrap();
    assert_eq!(
        answer["Data"],
        json!({
            "ApplicationArn": arn,
            "ApplicationInstanceId": instance_id,
            "MetadataUrl": app["identityProviderConfig"]["metadataUrl"],
            "InstanceArn": emulator.instance_arn(),
            "IdentityStoreId": emulator.identity_store_id(),
        })
    );
    assert!(
        instance_id.starts_with("ins-") && arn.ends_with(&format!("apl-{}", &instance_id[4..]))
    );
    assert_eq!(app["templateId"], "tpl-50e590700beb5208");
    assert_eq!(app["displayName"], "Amazon Connect");
    assert_eq!(app["description"], "Agents sign in to Amazon Connect");
    assert_eq!(app["status"], "ENABLED");
    assert_eq!(
        app["serviceProviderConfig"],
        json!({
            "audience": "urn:amazon:webservices",
            "consumers": [{"location": "https://signin.aws.amazon.com/saml",
                           "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", "defaultValue": false}],
            "requireRequestSignature": false
        })
    );
    assert_eq!(
        app["tags"],
        json!({"connect-sso:stack-id": stack.id, "connect-sso:logical-resource-id": "ConnectApp"})
    );
    let mut expected = vec![
        ("GROUP".to_owned(), agents.clone()),
        ("USER".to_owned(), alice.clone()),
    ];
    expected.sort();
    assert_eq!(assignments(&app), expected);

    // Update in place: display data, SP config and assignments (Agents out, Supervisors in).
    let updated_props = json!({
        "DisplayName": "Amazon Connect (Contact centre)",
        "AcsUrl": "https://eu-west-2.signin.aws.amazon.com/saml",
        "Audience": "urn:amazon:webservices:eu",
        "AssignedGroups": [format!("Supervisors-{tag}")],
        "AssignedUsers": [alice.clone()],
    });
    let answer = run(
        &function,
        stack.update("ConnectApp", &arn, updated_props.clone(), created_props),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], arn, "updated in place");
    let app = emulator.application(&arn).unwrap();
    assert_eq!(app["displayName"], "Amazon Connect (Contact centre)");
    assert_eq!(
        app["description"],
        Value::Null,
        "the description was removed"
    );
    assert_eq!(
        app["serviceProviderConfig"]["audience"],
        "urn:amazon:webservices:eu"
    );
    assert_eq!(
        app["serviceProviderConfig"]["consumers"][0]["location"],
        "https://eu-west-2.signin.aws.amazon.com/saml"
    );
    let mut expected = vec![
        ("GROUP".to_owned(), supervisors.clone()),
        ("USER".to_owned(), alice.clone()),
    ];
    expected.sort();
    assert_eq!(assignments(&app), expected);
    assert_eq!(emulator.applications().len(), 1);

    // Delete: assignments, then profiles, then the application.
    emulator.clear_requests();
    let answer = run(&function, stack.delete("ConnectApp", &arn, updated_props)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(emulator.application(&arn), None);
    assert!(emulator.applications().is_empty());
    assert_eq!(
        writes(&emulator),
        vec![
            "sso-admin:DeleteApplicationAssignment",
            "sso-admin:DeleteApplicationAssignment",
            "console:DeleteProfile",
            "console:DeleteApplicationInstance",
        ]
    );
}

#[tokio::test]
async fn create_sends_exactly_these_requests() {
    let (emulator, function) = setup().await;
    let store = identity_store(&emulator).await;
    let group_name = format!("Agents-{}", unique("t"));
    let group = store.group(&group_name).await;
    let stack = Stack::new();

    let answer = run(
        &function,
        stack.event(
            "Create",
            "App",
            json!({"DisplayName": "Connect", "AssignedGroups": [group_name]}),
        ),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let arn = answer["PhysicalResourceId"].as_str().unwrap();
    let instance_id = answer["Data"]["ApplicationInstanceId"].as_str().unwrap();

    let requests = emulator.requests();
    let sequence: Vec<String> = requests
        .iter()
        .map(|r| format!("{}:{}", r.api, r.operation))
        .collect();
    assert_eq!(
        sequence,
        vec![
            "sso-admin:ListInstances",
            "console:ListApplicationInstances",
            "console:CreateApplicationInstance",
            "sso-admin:ListTagsForResource",
            "sso-admin:TagResource",
            "console:UpdateApplicationInstanceDisplayData",
            "console:UpdateApplicationInstanceServiceProviderConfiguration",
            "console:UpdateApplicationInstanceStatus",
            "sso-admin:ListApplicationAssignments",
            "sso-admin:CreateApplicationAssignment",
            "console:GetApplicationInstance",
        ]
    );
    for request in &requests {
        assert_eq!(
            request.headers["content-type"],
            "application/x-amz-json-1.1"
        );
        let prefix = if request.api == "console" {
            "SWBService"
        } else {
            "SWBExternalService"
        };
        assert_eq!(
            request.headers["x-amz-target"],
            format!("{prefix}.{}", request.operation)
        );
        let authorization = &request.headers["authorization"];
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDAPPTEST/"),
            "{authorization}"
        );
        assert!(
            authorization.contains("/us-east-1/sso/aws4_request"),
            "{authorization}"
        );
    }
    let body = |operation: &str| {
        requests
            .iter()
            .find(|r| r.operation == operation)
            .unwrap()
            .body
            .clone()
    };
    // The custom SAML 2.0 template, and the creation marker as the internal name: a UUID, as
    // every public caller sends, that a retry can recognise.
    let create = body("CreateApplicationInstance");
    assert_eq!(create["templateId"], "tpl-50e590700beb5208");
    let name = create["name"].as_str().unwrap();
    assert!(uuid_shaped(name), "{create}");
    assert_eq!(
        name,
        identity_center_app::creation_marker(&stack.id, "App"),
        "derived from the stack and logical id"
    );
    assert_ne!(
        name,
        identity_center_app::creation_marker(&stack.id, "OtherApp")
    );
    // What is left in Identity Center is what the guide's step 2 and 4 ask for.
    let app = emulator.application(arn).unwrap();
    assert_eq!(app["instanceId"], instance_id);
    assert_eq!(app["displayName"], "Connect");
    assert_eq!(app["status"], "ENABLED");
    assert_eq!(
        app["serviceProviderConfig"]["consumers"][0]["location"],
        "https://signin.aws.amazon.com/saml"
    );
    assert_eq!(
        app["serviceProviderConfig"]["audience"],
        "urn:amazon:webservices"
    );
    assert_eq!(
        app["tags"],
        json!({"connect-sso:stack-id": stack.id, "connect-sso:logical-resource-id": "App"})
    );
    assert_eq!(assignments(&app), vec![("GROUP".to_owned(), group)]);
}

fn uuid_shaped(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && text.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}

#[tokio::test]
async fn a_retried_create_adopts_the_application_it_made() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    let first = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    let second = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(first["Status"], "SUCCESS", "{first}");
    assert_eq!(second["Status"], "SUCCESS", "{second}");
    assert_eq!(first["PhysicalResourceId"], second["PhysicalResourceId"]);
    assert_eq!(first["Data"], second["Data"]);
    assert_eq!(emulator.applications().len(), 1, "no duplicate");
}

#[tokio::test]
async fn a_create_interrupted_after_tagging_is_finished_by_the_retry() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    // What an attempt that stopped right after CreateApplicationInstance + TagResource leaves.
    let idc =
        identity_center::IdentityCenter::new(&sdk_config(&emulator.endpoint()).await).unwrap();
    let made = idc
        .console
        .create_application_instance("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap();
    idc.console
        .update_display_data(
            &made.instance_id,
            &identity_center::model::DisplayData {
                display_name: "Connect".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    let arn = emulator
        .application_by_instance_id(&made.instance_id)
        .unwrap()["applicationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    idc.tag(
        &emulator.instance_arn(),
        &arn,
        &[
            ("connect-sso:stack-id", &stack.id),
            ("connect-sso:logical-resource-id", "App"),
        ],
    )
    .await
    .unwrap();

    let answer = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], arn);
    assert_eq!(emulator.applications().len(), 1);
    let app = emulator.application(&arn).unwrap();
    assert_eq!(app["status"], "ENABLED");
    assert_eq!(
        app["serviceProviderConfig"]["audience"],
        "urn:amazon:webservices"
    );
}

#[tokio::test]
async fn a_same_named_application_of_someone_else_is_never_adopted() {
    let (emulator, function) = setup().await;
    let foreign = emulator.add_foreign_application(&emulator.instance_arn(), "Connect");
    let before = emulator.application(&foreign).unwrap();
    // Same display name, made by another logical resource of the same stack: not ours either.
    let stack = Stack::new();
    let other = run(
        &function,
        stack.event("Create", "Other", properties("Connect 2")),
    )
    .await;
    assert_eq!(other["Status"], "SUCCESS", "{other}");
    emulator.clear_requests();

    for (logical_id, name) in [("App", "Connect"), ("App", "Connect 2")] {
        let answer = run(
            &function,
            stack.event("Create", logical_id, properties(name)),
        )
        .await;
        assert_eq!(answer["Status"], "FAILED", "{answer}");
        let reason = answer["Reason"].as_str().unwrap();
        assert!(reason.contains("belongs to someone else"), "{reason}");
        assert!(
            reason.contains(&format!("named '{name}' already exists")),
            "{reason}"
        );
        assert!(
            reason.starts_with("invalid property DisplayName"),
            "{reason}"
        );
        assert!(
            answer["PhysicalResourceId"]
                .as_str()
                .unwrap()
                .starts_with("custom-resource:create-failed:")
        );
    }
    assert!(
        writes(&emulator).is_empty(),
        "nothing changed: {:?}",
        writes(&emulator)
    );
    assert_eq!(emulator.application(&foreign).unwrap(), before);
    assert_eq!(emulator.applications().len(), 2);
}

#[tokio::test]
async fn a_different_region_is_a_replacement_and_the_old_application_stays_until_its_delete() {
    let (emulator, function) = setup().await;
    let (eu_instance, _) = emulator.add_instance_in_region("eu-west-1");
    let stack = Stack::new();
    // The emulator's ListInstances lists every instance whatever the region, so name them.
    let old_props = json!({"DisplayName": "Connect", "InstanceArn": emulator.instance_arn()});
    let created = run(&function, stack.event("Create", "App", old_props.clone())).await;
    let old_arn = created["PhysicalResourceId"].as_str().unwrap().to_owned();

    let new_props = json!({"DisplayName": "Connect", "IdentityCenterRegion": "eu-west-1", "InstanceArn": eu_instance});
    let answer = run(
        &function,
        stack.update("App", &old_arn, new_props.clone(), old_props.clone()),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let new_arn = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_ne!(new_arn, old_arn, "a new physical id");
    assert_eq!(answer["Data"]["InstanceArn"], eu_instance);
    let new_app = emulator.application(&new_arn).unwrap();
    assert_eq!(new_app["homeRegion"], "eu-west-1");
    assert_eq!(new_app["status"], "ENABLED");
    assert!(
        emulator.application(&old_arn).is_some(),
        "the old application is not destroyed inside the Update"
    );
    let new_requests = emulator
        .requests()
        .into_iter()
        .rfind(|r| r.api == "console")
        .unwrap();
    assert!(new_requests.headers["authorization"].contains("/eu-west-1/sso/aws4_request"));

    // CloudFormation's cleanup: Delete of the old id with the old properties.
    let answer = run(&function, stack.delete("App", &old_arn, old_props)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert!(emulator.application(&old_arn).is_none());
    assert!(emulator.application(&new_arn).is_some());
}

#[tokio::test]
async fn an_update_of_an_application_deleted_out_of_band_makes_a_new_one() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    let created = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    let old_arn = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    emulator.delete_application_out_of_band(&old_arn);

    let answer = run(
        &function,
        stack.update(
            "App",
            &old_arn,
            properties("Connect"),
            properties("Connect"),
        ),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_ne!(answer["PhysicalResourceId"], old_arn);
    assert_eq!(emulator.applications().len(), 1);
}

#[tokio::test]
async fn an_update_of_an_application_without_our_tags_changes_nothing() {
    let (emulator, function) = setup().await;
    let foreign = emulator.add_foreign_application(&emulator.instance_arn(), "Theirs");
    let before = emulator.application(&foreign).unwrap();
    let stack = Stack::new();
    emulator.clear_requests();
    let answer = run(
        &function,
        stack.update("App", &foreign, properties("Mine"), properties("Theirs")),
    )
    .await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("does not carry this resource's ownership tags"),
        "{answer}"
    );
    assert!(writes(&emulator).is_empty());
    assert_eq!(emulator.application(&foreign).unwrap(), before);
}

#[tokio::test]
async fn assignments_are_diffed_against_the_previous_properties() {
    let (emulator, function) = setup().await;
    let store = identity_store(&emulator).await;
    let tag = unique("t");
    let [a, b, c] = [
        store.group(&format!("A-{tag}")).await,
        store.group(&format!("B-{tag}")).await,
        store.group(&format!("C-{tag}")).await,
    ];
    let stack = Stack::new();
    let old = json!({"DisplayName": "Connect", "AssignedGroups": [format!("A-{tag}"), format!("B-{tag}")]});
    let created = run(&function, stack.event("Create", "App", old.clone())).await;
    let arn = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    // An assignment someone made in the console: not ours to remove.
    let console_user = store.user(&format!("console-{tag}")).await;
    let idc =
        identity_center::IdentityCenter::new(&sdk_config(&emulator.endpoint()).await).unwrap();
    let console_assignment = identity_center::Principal {
        kind: identity_center::PrincipalKind::User,
        id: console_user.clone(),
    };
    idc.assign(&arn, &console_assignment).await.unwrap();
    emulator.clear_requests();

    let new = json!({"DisplayName": "Connect", "AssignedGroups": [format!("B-{tag}"), c.clone()]});
    let answer = run(&function, stack.update("App", &arn, new, old)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let changes: Vec<(String, Value)> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.operation.ends_with("ApplicationAssignment"))
        .map(|r| (r.operation, r.body))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "CreateApplicationAssignment".to_owned(),
                json!({"ApplicationArn": arn, "PrincipalId": c, "PrincipalType": "GROUP"})
            ),
            (
                "DeleteApplicationAssignment".to_owned(),
                json!({"ApplicationArn": arn, "PrincipalId": a, "PrincipalType": "GROUP"})
            ),
        ]
    );
    let mut expected = vec![
        ("GROUP".to_owned(), b),
        ("GROUP".to_owned(), c),
        ("USER".to_owned(), console_user),
    ];
    expected.sort();
    assert_eq!(assignments(&emulator.application(&arn).unwrap()), expected);
}

#[tokio::test]
async fn the_instance_is_the_only_one_or_the_one_named() {
    let (emulator, function) = setup().await;
    let (second, _) = emulator.add_instance();
    let stack = Stack::new();
    let answer = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(answer["Status"], "FAILED");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains("several Identity Center instances in account 123456789012 as the function's own role, region us-east-1: set InstanceArn"),
        "{reason}"
    );
    assert!(
        reason.contains(&emulator.instance_arn()) && reason.contains(&second),
        "{reason}"
    );

    let missing = "arn:aws:sso:::instance/ssoins-0000000000000000";
    let answer = run(
        &function,
        stack.event(
            "Create",
            "App",
            json!({"DisplayName": "Connect", "InstanceArn": missing}),
        ),
    )
    .await;
    assert_eq!(answer["Status"], "FAILED");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "invalid property InstanceArn: no Identity Center instance {missing}"
        )),
        "{reason}"
    );

    let named = json!({"DisplayName": "Connect", "InstanceArn": emulator.instance_arn()});
    let answer = run(&function, stack.event("Create", "App", named)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"]["InstanceArn"], emulator.instance_arn());
    assert!(emulator.applications().len() == 1);
}

#[tokio::test]
async fn bad_properties_fail_naming_the_property_before_anything_is_made() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    let cases = [
        (
            json!({"DisplayName": "  "}),
            "invalid property DisplayName: it must not be empty",
        ),
        (json!({}), "missing field `DisplayName`"),
        (
            json!({"DisplayName": "C", "DisplaName": "x"}),
            "unknown field `DisplaName`",
        ),
        (
            json!({"DisplayName": "C", "AcsUrl": "http://signin.aws.amazon.com/saml"}),
            "invalid property AcsUrl: 'http://signin.aws.amazon.com/saml' is not an https URL",
        ),
        (
            json!({"DisplayName": "C", "InstanceArn": "ssoins-1"}),
            "invalid property InstanceArn: 'ssoins-1' is not an Identity Center instance ARN",
        ),
        (
            json!({"DisplayName": "C", "IdentityCenterRegion": "Ireland"}),
            "invalid property IdentityCenterRegion: 'Ireland' is not an AWS region name",
        ),
        (
            json!({"DisplayName": "C", "Description": "x".repeat(129)}),
            "invalid property Description: 129 characters, at most 128",
        ),
        (
            json!({"DisplayName": "C", "AssignedGroups": "Agents"}),
            "invalid property AssignedGroups",
        ),
        (
            json!({"DisplayName": "C", "AssignedGroups": ["No such group"]}),
            "invalid property AssignedGroups: no group has the display name or id 'No such group' in identity store",
        ),
        (
            json!({"DisplayName": "C", "AssignedUsers": ["nobody@example.com"]}),
            "invalid property AssignedUsers: no user has the user name or id 'nobody@example.com' in identity store",
        ),
        (
            json!({"DisplayName": "C", "AssignedUsers": ["8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6d"]}),
            "invalid property AssignedUsers: no user has the user name or id '8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6d'",
        ),
    ];
    for (props, expected) in cases {
        let answer = run(&function, stack.event("Create", "App", props.clone())).await;
        assert_eq!(answer["Status"], "FAILED", "{props}: {answer}");
        let reason = answer["Reason"].as_str().unwrap();
        assert!(reason.contains(expected), "{props}: {reason}");
    }
    assert!(emulator.applications().is_empty());
    assert!(writes(&emulator).is_empty(), "{:?}", writes(&emulator));
}

#[tokio::test]
async fn users_and_groups_may_be_given_by_id_and_blank_entries_are_ignored() {
    let (emulator, function) = setup().await;
    let store = identity_store(&emulator).await;
    let group = store.group(&format!("G-{}", unique("t"))).await;
    let user = store.user(&format!("u-{}", unique("t"))).await;
    let stack = Stack::new();
    let props = json!({"DisplayName": "Connect", "AssignedGroups": [group.clone(), ""], "AssignedUsers": [user.clone()], "InstanceArn": ""});
    let answer = run(&function, stack.event("Create", "App", props)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let app = emulator
        .application(answer["PhysicalResourceId"].as_str().unwrap())
        .unwrap();
    let mut expected = vec![("GROUP".to_owned(), group), ("USER".to_owned(), user)];
    expected.sort();
    assert_eq!(assignments(&app), expected);
}

#[tokio::test]
async fn deletes_of_ids_it_did_not_make_succeed_without_changing_anything() {
    let (emulator, function) = setup().await;
    let foreign = emulator.add_foreign_application(&emulator.instance_arn(), "Theirs");
    let before = emulator.application(&foreign).unwrap();
    let stack = Stack::new();
    let never_made = format!(
        "arn:aws:sso::123456789012:application/{}/apl-0123456789abcdef",
        emulator.instance_arn().rsplit('/').next().unwrap()
    );

    for (id, calls_expected) in [
        ("custom-resource:create-failed:App:1234", false),
        ("not-an-arn", false),
        (never_made.as_str(), true),
        (foreign.as_str(), true),
    ] {
        emulator.clear_requests();
        let answer = run(&function, stack.delete("App", id, properties("Theirs"))).await;
        assert_eq!(answer["Status"], "SUCCESS", "{id}: {answer}");
        assert_eq!(answer["PhysicalResourceId"], id);
        if calls_expected {
            assert_eq!(
                operations(&emulator),
                vec!["sso-admin:ListInstances", "sso-admin:ListTagsForResource"],
                "{id}: only the ownership check"
            );
        } else {
            assert!(emulator.requests().is_empty(), "{id}: no calls at all");
        }
    }
    assert_eq!(emulator.application(&foreign).unwrap(), before);
}

#[tokio::test]
async fn a_delete_of_an_application_already_gone_succeeds() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    let created = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    let arn = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    emulator.delete_application_out_of_band(&arn);
    let answer = run(&function, stack.delete("App", &arn, properties("Connect"))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    // Twice, as CloudFormation may send it.
    let answer = run(&function, stack.delete("App", &arn, properties("Connect"))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
}

#[tokio::test]
async fn a_throttled_or_failing_call_is_ridden_out() {
    // The console client's own retries are tested in crates/identity-center; here the first
    // calls (sso-admin, retried by the SDK) meet the trouble.
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    emulator.throttle_next(1);
    let answer = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    emulator.fail_next(1, 500);
    let answer = run(
        &function,
        stack.delete(
            "App",
            answer["PhysicalResourceId"].as_str().unwrap(),
            properties("Connect"),
        ),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert!(emulator.applications().is_empty());
}

#[tokio::test]
async fn put_application_assignment_configuration_is_never_called() {
    // AWS refuses it on console-made SAML applications: a lifecycle that calls it fails. Each
    // step must succeed and leave the state asked for, without it.
    let (emulator, function) = setup().await;
    let store = identity_store(&emulator).await;
    let group_name = format!("G-{}", unique("t"));
    let group = store.group(&group_name).await;
    let stack = Stack::new();
    let props = json!({"DisplayName": "Connect", "AssignedGroups": [group_name]});
    let created = run(&function, stack.event("Create", "App", props.clone())).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let arn = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_eq!(
        assignments(&emulator.application(&arn).unwrap()),
        vec![("GROUP".to_owned(), group)]
    );
    let updated = run(
        &function,
        stack.update(
            "App",
            &arn,
            json!({"DisplayName": "Connect 2"}),
            props.clone(),
        ),
    )
    .await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    let app = emulator.application(&arn).unwrap();
    assert_eq!(app["displayName"], "Connect 2");
    assert!(assignments(&app).is_empty());
    let deleted = run(&function, stack.delete("App", &arn, props)).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(emulator.applications().is_empty());
    assert!(
        !operations(&emulator)
            .iter()
            .any(|op| op.contains("PutApplicationAssignmentConfiguration"))
    );
}

#[tokio::test]
async fn the_sample_events_run_create_update_delete() {
    let (emulator, function) = setup().await;
    let store = identity_store(&emulator).await;
    let agents = store.group("Connect Agents").await;
    let supervisors = store.group("Connect Supervisors").await;
    store.user("alice@example.com").await;
    let sample = |name: &str| -> Value {
        let path = format!(
            "{}/../../events/identity-center-app/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let answer = run(&function, sample("create")).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let arn = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    for name in ["update", "delete"] {
        let mut event = sample(name);
        event["PhysicalResourceId"] = json!(arn);
        let answer = run(&function, event).await;
        assert_eq!(answer["Status"], "SUCCESS", "{name}: {answer}");
        if name == "update" {
            let mut expected = vec![
                ("GROUP".to_owned(), agents.clone()),
                ("GROUP".to_owned(), supervisors.clone()),
            ];
            expected.sort();
            assert_eq!(assignments(&emulator.application(&arn).unwrap()), expected);
        }
    }
    assert!(emulator.applications().is_empty());
}

#[tokio::test]
async fn a_new_application_not_yet_visible_to_sso_admin_is_waited_for() {
    let (emulator, function) = setup().await;
    let store = identity_store(&emulator).await;
    let group_name = format!("G-{}", unique("t"));
    let group = store.group(&group_name).await;
    emulator.set_consistency_lag(3);
    let stack = Stack::new();
    let props = json!({"DisplayName": "Connect", "AssignedGroups": [group_name]});
    let answer = run(&function, stack.event("Create", "App", props)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let app = emulator
        .application(answer["PhysicalResourceId"].as_str().unwrap())
        .unwrap();
    assert_eq!(app["tags"]["connect-sso:logical-resource-id"], "App");
    assert_eq!(assignments(&app), vec![("GROUP".to_owned(), group)]);
    assert_eq!(emulator.applications().len(), 1);
}

// ------------------------------------------------- answers AWS has not documented

/// The lifecycle against the oddest Identity Center the emulator can be: AWS-managed applications
/// of unknown shapes in the list (one even unreadable), a create answer with only the id, no
/// responseConfig, no `name` echoed.
#[tokio::test]
async fn the_lifecycle_copes_with_foreign_and_incomplete_answers() {
    let (emulator, function) = setup().await;
    let instance = emulator.instance_arn();
    emulator.add_aws_managed_application(
        &instance,
        json!({"instanceId": "ins-00000000000000b1", "status": "ENABLED", "managed": true}),
    );
    emulator.add_aws_managed_application(
        &instance,
        json!({"instanceId": "ins-00000000000000b2", "display": {"description": "no name"},
               "template": {"sSOProtocol": "OAUTH"}, "serviceProviderConfig": "odd"}),
    );
    emulator.add_aws_managed_application(&instance, json!({"display": {"displayName": "Connect"}}));
    emulator.set_full_create_answer(false);
    emulator.set_response_config_readable(false);
    emulator.set_name_echoed(false);
    let foreign_before: Vec<Value> = emulator.applications();
    let stack = Stack::new();

    let created = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let arn = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_eq!(emulator.application(&arn).unwrap()["status"], "ENABLED");
    assert!(
        created["Data"]["MetadataUrl"]
            .as_str()
            .unwrap()
            .contains("/saml/metadata/")
    );
    // A retry finds it again among the odd ones.
    let again = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(again["PhysicalResourceId"], arn.as_str(), "{again}");
    let updated = run(
        &function,
        stack.update("App", &arn, properties("Connect 2"), properties("Connect")),
    )
    .await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    let deleted = run(
        &function,
        stack.delete("App", &arn, properties("Connect 2")),
    )
    .await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(emulator.application(&arn), None);
    assert_eq!(
        emulator.applications(),
        foreign_before,
        "the others untouched"
    );
}

#[tokio::test]
async fn a_delete_in_an_instance_that_is_gone_or_not_visible_succeeds_with_no_write() {
    let gone = "arn:aws:sso::123456789012:application/ssoins-00000000deadbeef/apl-0123456789abcdef";
    // ASSUMPTION `missing-instance-error`: whichever error AWS gives for that instance.
    for error in [
        "ResourceNotFoundException",
        "ValidationException",
        "AccessDeniedException",
    ] {
        let (emulator, function) = setup().await;
        emulator.set_missing_instance_error(error);
        let stack = Stack::new();
        let answer = run(&function, stack.delete("App", gone, properties("Connect"))).await;
        assert_eq!(answer["Status"], "SUCCESS", "{error}: {answer}");
        assert_eq!(answer["PhysicalResourceId"], gone);
        assert!(
            writes(&emulator).is_empty(),
            "{error}: {:?}",
            writes(&emulator)
        );
    }
}

/// What an attempt stopped between CreateApplicationInstance and TagResource leaves: an
/// untagged application named with this resource's creation marker.
async fn untagged_application_of_a_stopped_attempt(emulator: &Emulator, stack: &Stack) -> String {
    let idc =
        identity_center::IdentityCenter::new(&sdk_config(&emulator.endpoint()).await).unwrap();
    let made = idc
        .console
        .create_application_instance(&identity_center_app::creation_marker(&stack.id, "App"))
        .await
        .unwrap();
    emulator
        .application_by_instance_id(&made.instance_id)
        .unwrap()["applicationArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_create_stopped_before_tagging_is_recovered_by_the_retry() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    let stranded = untagged_application_of_a_stopped_attempt(&emulator, &stack).await;
    let answer = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["PhysicalResourceId"], stranded,
        "adopted, not duplicated"
    );
    assert_eq!(emulator.applications().len(), 1);
    let app = emulator.application(&stranded).unwrap();
    assert_eq!(
        app["tags"],
        json!({"connect-sso:stack-id": stack.id, "connect-sso:logical-resource-id": "App"})
    );
    assert_eq!(app["displayName"], "Connect");
    // Another resource (or stack) never takes it.
    let other = Stack::new();
    let stranded = untagged_application_of_a_stopped_attempt(&emulator, &other).await;
    let answer = run(
        &function,
        stack.event("Create", "Other", properties("Other")),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_ne!(answer["PhysicalResourceId"], stranded.as_str());
    assert_eq!(emulator.application(&stranded).unwrap()["tags"], json!({}));
}

/// ASSUMPTION `console-echoes-instance-name`, the other way: without the name in the answers the
/// marker cannot be seen; the retry then makes a new application and leaves the stranded one
/// alone (it cannot prove it is ours).
#[tokio::test]
async fn without_the_name_in_answers_a_stranded_application_is_left_alone() {
    let (emulator, function) = setup().await;
    emulator.set_name_echoed(false);
    let stack = Stack::new();
    let stranded = untagged_application_of_a_stopped_attempt(&emulator, &stack).await;
    let answer = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_ne!(answer["PhysicalResourceId"], stranded.as_str());
    let left = emulator.application(&stranded).unwrap();
    assert_eq!(left["tags"], json!({}));
    assert_eq!(left["status"], "CREATED", "not configured either");
}

#[tokio::test]
async fn a_create_failing_after_the_application_exists_is_cleaned_up_or_adopted() {
    let (emulator, function) = setup().await;
    let stack = Stack::new();
    // Enabling fails for good (more than the client's retries).
    emulator.fail_operation("UpdateApplicationInstanceStatus", 6, 500);
    let failed = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(failed["Status"], "FAILED", "{failed}");
    let arn = failed["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert!(
        emulator.application(&arn).is_some(),
        "the FAILED answer names the application made: {failed}"
    );

    // CloudFormation's rollback Delete then removes it.
    let deleted = run(&function, stack.delete("App", &arn, properties("Connect"))).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(emulator.applications().is_empty());

    // Or a retry of the Create adopts it.
    emulator.fail_operation("UpdateApplicationInstanceStatus", 6, 500);
    let failed = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(failed["Status"], "FAILED", "{failed}");
    let retried = run(
        &function,
        stack.event("Create", "App", properties("Connect")),
    )
    .await;
    assert_eq!(retried["Status"], "SUCCESS", "{retried}");
    assert_eq!(retried["PhysicalResourceId"], failed["PhysicalResourceId"]);
    assert_eq!(emulator.applications().len(), 1);
    assert_eq!(
        emulator
            .application(retried["PhysicalResourceId"].as_str().unwrap())
            .unwrap()["status"],
        "ENABLED"
    );
}

/// Every listing crosses page boundaries: page size 1.
#[tokio::test]
async fn every_listing_is_followed_across_pages() {
    let (emulator, function) = setup().await;
    let store = identity_store(&emulator).await;
    let tag = unique("t");
    let mut groups = Vec::new();
    for n in 0..3 {
        let name = format!("G{n}-{tag}");
        groups.push((name.clone(), store.group(&name).await));
    }
    let instance = emulator.instance_arn();
    emulator.add_instance(); // ListInstances: two pages
    for n in 0..3 {
        emulator.add_foreign_application(&instance, &format!("Other {n}"));
    }
    emulator.set_page_size(1);
    let stack = Stack::new();
    let props = |names: &[&str]| json!({"DisplayName": "Connect", "InstanceArn": instance, "AssignedGroups": names});
    let all = [
        groups[0].0.as_str(),
        groups[1].0.as_str(),
        groups[2].0.as_str(),
    ];
    let created = run(&function, stack.event("Create", "App", props(&all))).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let arn = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_eq!(assignments(&emulator.application(&arn).unwrap()).len(), 3);
    // The retry finds it on the last page of ListApplicationInstances, its two tags on two
    // pages of ListTagsForResource.
    let again = run(&function, stack.event("Create", "App", props(&all))).await;
    assert_eq!(again["PhysicalResourceId"], arn.as_str(), "{again}");
    let listed = emulator
        .requests()
        .iter()
        .filter(|r| r.operation == "ListApplicationInstances" && r.body["marker"].is_string())
        .count();
    assert!(listed >= 3, "ListApplicationInstances followed its marker");
    let fewer = [groups[0].0.as_str()];
    let updated = run(
        &function,
        stack.update("App", &arn, props(&fewer), props(&all)),
    )
    .await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(
        assignments(&emulator.application(&arn).unwrap()),
        vec![("GROUP".to_owned(), groups[0].1.clone())]
    );
    emulator.add_profiles(&arn, 3); // ListProfiles: four pages
    let deleted = run(&function, stack.delete("App", &arn, props(&fewer))).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(emulator.application(&arn), None, "every profile went first");
}
