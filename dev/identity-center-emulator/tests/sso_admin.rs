//! The public sso-admin API (SWBExternalService at /) driven with aws-sdk-ssoadmin.

mod common;

use aws_sdk_ssoadmin::error::ProvideErrorMetadata;
use aws_sdk_ssoadmin::types::{ApplicationStatus, PrincipalType, SignInOrigin, Tag};
use common::*;
use identity_center_emulator::{Emulator, START_URL_FIELD};
use serde_json::json;

const USER: &str = "906722b2be-8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6d";

#[tokio::test]
async fn list_instances_pages_and_reports_the_owner() {
    let emulator = Emulator::start().await.unwrap();
    let (second_arn, second_store) = emulator.add_instance();
    let client = sso_admin(&emulator).await;

    let first_page = client.list_instances().max_results(1).send().await.unwrap();
    assert_eq!(first_page.instances().len(), 1);
    assert!(first_page.next_token().is_some());

    let all: Vec<_> = client
        .list_instances()
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].instance_arn(),
        Some(emulator.instance_arn().as_str())
    );
    assert_eq!(
        all[0].identity_store_id(),
        Some(emulator.identity_store_id().as_str())
    );
    assert_eq!(all[0].owner_account_id(), Some("123456789012"));
    assert!(all[0].created_date().is_some());
    assert_eq!(all[1].instance_arn(), Some(second_arn.as_str()));
    assert_eq!(all[1].identity_store_id(), Some(second_store.as_str()));
    assert!(
        emulator
            .instance_arn()
            .starts_with("arn:aws:sso:::instance/ssoins-")
    );
    assert_eq!(
        emulator.instance_arn().len(),
        "arn:aws:sso:::instance/ssoins-".len() + 16
    );
    assert!(
        emulator.identity_store_id().starts_with("d-") && emulator.identity_store_id().len() == 12
    );

    let invalid = client
        .list_instances()
        .max_results(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Some("ValidationException"));
}

#[tokio::test]
async fn console_made_apps_are_described_by_their_public_arn() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "Amazon Connect").await;
    let arn = application_arn(&emulator, &instance_id);
    let client = sso_admin(&emulator).await;

    let app = client
        .describe_application()
        .application_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(app.application_arn(), Some(arn.as_str()));
    assert_eq!(app.name(), Some("Amazon Connect"));
    assert_eq!(app.description(), Some("test app"));
    assert_eq!(app.instance_arn(), Some(emulator.instance_arn().as_str()));
    assert_eq!(app.application_account(), Some("123456789012"));
    assert_eq!(app.status(), Some(&ApplicationStatus::Disabled));
    assert_eq!(
        app.portal_options()
            .and_then(|p| p.sign_in_options())
            .map(|s| s.origin()),
        Some(&SignInOrigin::IdentityCenter)
    );

    console_ok(
        &emulator,
        "UpdateApplicationInstanceStatus",
        json!({ "instanceId": instance_id, "status": "ENABLED" }),
    )
    .await;
    console_ok(
        &emulator,
        "UpdateApplicationInstanceServiceProviderConfiguration",
        json!({ "instanceId": instance_id, "serviceProviderConfig": { START_URL_FIELD: "https://app.example.com/" } }),
    )
    .await;
    let app = client
        .describe_application()
        .application_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(app.status(), Some(&ApplicationStatus::Enabled));
    let sign_in = app
        .portal_options()
        .and_then(|p| p.sign_in_options())
        .unwrap();
    assert_eq!(sign_in.origin(), &SignInOrigin::Application);
    assert_eq!(sign_in.application_url(), Some("https://app.example.com/"));

    let listed = client
        .list_applications()
        .instance_arn(emulator.instance_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.applications().len(), 1);
    assert_eq!(
        listed.applications()[0].application_arn(),
        Some(arn.as_str())
    );

    let missing_arn = arn.replace(&instance_id[4..], "0000000000000000");
    let missing = client
        .describe_application()
        .application_arn(missing_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    assert!(
        missing
            .into_service_error()
            .is_resource_not_found_exception()
    );

    let malformed = client
        .describe_application()
        .application_arn(&instance_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Some("ValidationException"));
}

#[tokio::test]
async fn assignments_are_created_listed_in_pages_and_deleted() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_page_size(2);
    let instance_id = create_app(&emulator, "assignments").await;
    let arn = application_arn(&emulator, &instance_id);
    let client = sso_admin(&emulator).await;

    let groups: Vec<String> = (0..4)
        .map(|i| format!("8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6{i}"))
        .collect();
    for group in &groups {
        client
            .create_application_assignment()
            .application_arn(&arn)
            .principal_id(group)
            .principal_type(PrincipalType::Group)
            .send()
            .await
            .unwrap();
    }
    client
        .create_application_assignment()
        .application_arn(&arn)
        .principal_id(USER)
        .principal_type(PrincipalType::User)
        .send()
        .await
        .unwrap();

    let duplicate = client
        .create_application_assignment()
        .application_arn(&arn)
        .principal_id(USER)
        .principal_type(PrincipalType::User)
        .send()
        .await
        .unwrap_err();
    assert!(duplicate.into_service_error().is_conflict_exception());

    let first = client
        .list_application_assignments()
        .application_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(first.application_assignments().len(), 2);
    assert!(first.next_token().is_some());
    let all: Vec<_> = client
        .list_application_assignments()
        .application_arn(&arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let principals: Vec<(String, String)> = all
        .iter()
        .map(|a| {
            (
                a.principal_type().as_str().to_string(),
                a.principal_id().to_string(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String)> = groups
        .iter()
        .map(|g| ("GROUP".to_string(), g.clone()))
        .collect();
    expected.push(("USER".to_string(), USER.to_string()));
    assert_eq!(principals, expected);
    assert!(all.iter().all(|a| a.application_arn() == arn));

    client
        .delete_application_assignment()
        .application_arn(&arn)
        .principal_id(&groups[0])
        .principal_type(PrincipalType::Group)
        .send()
        .await
        .unwrap();
    let again = client
        .delete_application_assignment()
        .application_arn(&arn)
        .principal_id(&groups[0])
        .principal_type(PrincipalType::Group)
        .send()
        .await
        .unwrap_err();
    assert!(again.into_service_error().is_resource_not_found_exception());

    let state = emulator.application(&arn).unwrap();
    assert_eq!(state["assignments"].as_array().unwrap().len(), 4);
    assert!(
        !state["assignments"]
            .as_array()
            .unwrap()
            .contains(&json!({ "principalType": "GROUP", "principalId": groups[0] }))
    );
    assert_eq!(state["profiles"].as_array().unwrap().len(), 1);

    let bad_principal = client
        .create_application_assignment()
        .application_arn(&arn)
        .principal_id("alice@example.com")
        .principal_type(PrincipalType::User)
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_principal.code(), Some("ValidationException"));
    assert!(
        bad_principal
            .message()
            .unwrap_or_default()
            .contains("PrincipalId")
    );
}

#[tokio::test]
async fn tags_on_applications() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "tags").await;
    let arn = application_arn(&emulator, &instance_id);
    let client = sso_admin(&emulator).await;
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();

    client
        .tag_resource()
        .instance_arn(emulator.instance_arn())
        .resource_arn(&arn)
        .tags(tag("stack", "connect-sso"))
        .tags(tag("logical-id", "App"))
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .instance_arn(emulator.instance_arn())
        .resource_arn(&arn)
        .tag_keys("logical-id")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .instance_arn(emulator.instance_arn())
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, vec![("stack", "connect-sso")]);
    assert_eq!(
        emulator.application(&arn).unwrap()["tags"],
        json!({ "stack": "connect-sso" })
    );

    let reserved = client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("aws:x", "y"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(reserved.code(), Some("ValidationException"));
}

#[tokio::test]
async fn saml_apps_refuse_what_aws_refuses() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "refusals").await;
    let arn = application_arn(&emulator, &instance_id);
    let client = sso_admin(&emulator).await;

    let put = client
        .put_application_assignment_configuration()
        .application_arn(&arn)
        .assignment_required(false)
        .send()
        .await
        .unwrap_err();
    assert_eq!(put.code(), Some("ValidationException"));
    assert_eq!(
        put.message(),
        Some(
            format!("The application with arn '{arn}' is not supported for this action.").as_str()
        )
    );

    let create = client
        .create_application()
        .instance_arn(emulator.instance_arn())
        .application_provider_arn("arn:aws:sso::aws:applicationProvider/custom-saml")
        .name("connect")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        create.message(),
        Some(
            "The application provider with arn 'arn:aws:sso::aws:applicationProvider/app-50e590700beb5208' is not supported for this action."
        )
    );
}

#[tokio::test]
async fn throttling_and_5xx_are_retried_by_the_sdk() {
    let emulator = Emulator::start().await.unwrap();
    let client = sso_admin(&emulator).await;

    emulator.throttle_next(1);
    client.list_instances().send().await.unwrap();
    emulator.fail_next(2, 500);
    client.list_instances().send().await.unwrap();
    let requests = emulator.requests();
    assert_eq!(requests.len(), 5, "1 throttled + 1 ok, 2 failed + 1 ok");
    assert!(
        requests
            .iter()
            .all(|r| r.api == "sso-admin" && r.operation == "ListInstances")
    );

    emulator.throttle_next(3);
    let exhausted = client.list_instances().send().await.unwrap_err();
    assert_eq!(exhausted.code(), Some("ThrottlingException"));
    assert!(exhausted.into_service_error().is_throttling_exception());
}

#[tokio::test]
async fn the_sdk_request_is_recorded_as_sent() {
    let emulator = Emulator::start().await.unwrap();
    let client = sso_admin(&emulator).await;
    client.list_instances().max_results(5).send().await.unwrap();
    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.api, "sso-admin");
    assert_eq!(
        request.headers["x-amz-target"],
        "SWBExternalService.ListInstances"
    );
    assert_eq!(
        request.headers["content-type"],
        "application/x-amz-json-1.1"
    );
    assert!(
        request.headers["authorization"].contains("/us-east-1/sso/aws4_request"),
        "{}",
        request.headers["authorization"]
    );
    assert_eq!(request.body, json!({ "MaxResults": 5 }));
}

#[tokio::test]
async fn public_api_checks_content_type_and_auth_too() {
    let emulator = Emulator::start().await.unwrap();
    let headers = |content_type: &str, service: &str| {
        vec![
            ("content-type", content_type.to_string()),
            (
                "x-amz-target",
                "SWBExternalService.ListInstances".to_string(),
            ),
            ("x-amz-date", AMZ_DATE.to_string()),
            ("authorization", authorization("us-east-1", service)),
        ]
    };
    let ok = post(
        &emulator.endpoint(),
        "/",
        &headers("application/x-amz-json-1.1", "sso"),
        "{}",
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["Instances"].as_array().unwrap().len(), 1);
    let wrong_service = post(
        &emulator.endpoint(),
        "/",
        &headers("application/x-amz-json-1.1", "identitystore"),
        "{}",
    )
    .await;
    assert_eq!(
        (wrong_service.status, wrong_service.error_type()),
        (403, "InvalidSignatureException")
    );
    let json = post(
        &emulator.endpoint(),
        "/",
        &headers("application/json", "sso"),
        "{}",
    )
    .await;
    assert_eq!(json.status, 200);
    assert_eq!(
        json.body["Output"]["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );
    let mut console_target = headers("application/x-amz-json-1.1", "sso");
    console_target[1].1 = "SWBService.ListApplicationInstances".to_string();
    let answer = post(&emulator.endpoint(), "/", &console_target, "{}").await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (400, "UnknownOperationException")
    );
}

#[tokio::test]
async fn foreign_apps_are_visible_publicly() {
    let emulator = Emulator::start().await.unwrap();
    let arn = emulator.add_foreign_application(&emulator.instance_arn(), "Amazon Connect");
    let client = sso_admin(&emulator).await;
    let app = client
        .describe_application()
        .application_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(app.name(), Some("Amazon Connect"));
    assert_eq!(app.status(), Some(&ApplicationStatus::Enabled));
    emulator.delete_application_out_of_band(&arn);
    let gone = client
        .describe_application()
        .application_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(gone.into_service_error().is_resource_not_found_exception());
}
