//! The client against the Identity Center emulator: what goes on the wire, and how answers and
//! errors come back.

use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use identity_center::model::{DisplayData, ServiceProviderConfig, Status};
use identity_center::{ApplicationArn, IdentityCenter, Principal, PrincipalKind, RetryPolicy};
use identity_center_emulator::Emulator;
use serde_json::{Value, json};

async fn sdk_config(endpoint: &str, session_token: Option<&str>) -> SdkConfig {
    https_client::sdk::loader()
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "AKIDCLIENTTEST",
            "secret",
            session_token.map(str::to_owned),
            None,
            "test",
        ))
        .load()
        .await
}

async fn client(emulator: &Emulator) -> IdentityCenter {
    IdentityCenter::new(&sdk_config(&emulator.endpoint(), None).await).unwrap()
}

#[tokio::test]
async fn a_call_is_a_signed_json_1_1_post_to_control() {
    let emulator = Emulator::start().await.unwrap();
    let config = sdk_config(&emulator.endpoint(), Some("session-token-1")).await;
    let idc = IdentityCenter::new(&config).unwrap();
    assert_eq!(
        idc.console.endpoint(),
        format!("{}/control/", emulator.endpoint())
    );

    let created = idc
        .console
        .create_application_instance("3f0e3c1a-1111-4222-8333-444455556666")
        .await
        .unwrap();
    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.api.as_str(), request.operation.as_str()),
        ("console", "CreateApplicationInstance")
    );
    assert_eq!(
        request.headers["content-type"],
        "application/x-amz-json-1.1"
    );
    assert_eq!(
        request.headers["x-amz-target"],
        "SWBService.CreateApplicationInstance"
    );
    assert_eq!(request.headers["x-amz-security-token"], "session-token-1");
    let authorization = &request.headers["authorization"];
    let date = &request.headers["x-amz-date"][..8];
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential=AKIDCLIENTTEST/{date}/us-east-1/sso/aws4_request, "
        )),
        "{authorization}"
    );
    assert!(
        authorization.contains(
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"
        ),
        "{authorization}"
    );
    assert_eq!(
        request.body,
        json!({"templateId": "tpl-50e590700beb5208", "name": "3f0e3c1a-1111-4222-8333-444455556666"})
    );
    let stored = emulator
        .application_by_instance_id(&created.instance_id)
        .unwrap();
    assert_eq!(stored["name"], "3f0e3c1a-1111-4222-8333-444455556666");

    // The ARN built from the console id is the one the service reports.
    let arn = ApplicationArn::from_console_id(
        &emulator.instance_arn(),
        &emulator.account_id(),
        &created.instance_id,
    )
    .unwrap();
    assert_eq!(arn.to_string(), stored["applicationArn"].as_str().unwrap());
}

#[tokio::test]
async fn update_calls_send_the_documented_bodies_and_get_reads_them_back() {
    let emulator = Emulator::start().await.unwrap();
    let idc = client(&emulator).await;
    let id = idc
        .console
        .create_application_instance("n")
        .await
        .unwrap()
        .instance_id;
    emulator.clear_requests();

    let display = DisplayData {
        display_name: "Amazon Connect".into(),
        description: Some("Agents".into()),
    };
    idc.console
        .update_display_data(&id, &display)
        .await
        .unwrap();
    let sp = ServiceProviderConfig::saml(
        "https://signin.aws.amazon.com/saml",
        "urn:amazon:webservices",
    );
    idc.console
        .update_service_provider_config(&id, &sp)
        .await
        .unwrap();
    idc.console
        .update_status(&id, Status::Enabled)
        .await
        .unwrap();

    let operations: Vec<_> = emulator
        .requests()
        .into_iter()
        .map(|r| r.operation)
        .collect();
    assert_eq!(
        operations,
        [
            "UpdateApplicationInstanceDisplayData",
            "UpdateApplicationInstanceServiceProviderConfiguration",
            "UpdateApplicationInstanceStatus"
        ]
    );
    // What the service holds afterwards: one HTTP-POST assertion consumer at the ACS URL, not
    // marked default (what every public caller of the AWS service sends), for the audience.
    let stored = emulator.application_by_instance_id(&id).unwrap();
    assert_eq!(stored["displayName"], "Amazon Connect");
    assert_eq!(stored["description"], "Agents");
    assert_eq!(stored["status"], "ENABLED");
    let consumers = stored["serviceProviderConfig"]["consumers"]
        .as_array()
        .unwrap();
    assert_eq!(consumers.len(), 1);
    assert_eq!(
        consumers[0]["location"],
        "https://signin.aws.amazon.com/saml"
    );
    assert_eq!(
        consumers[0]["binding"],
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    );
    assert_eq!(consumers[0]["defaultValue"], false);
    assert_eq!(
        stored["serviceProviderConfig"]["audience"],
        "urn:amazon:webservices"
    );
    let app = idc.console.get_application_instance(&id).await.unwrap();
    assert_eq!(app.display_name(), Some("Amazon Connect"));
    assert_eq!(app.service_provider_config, Some(sp));
    assert_eq!(app.status.as_deref(), Some("ENABLED"));
    assert_eq!(app.template_id(), Some("tpl-50e590700beb5208"));
    assert!(
        app.metadata_url()
            .unwrap()
            .starts_with("https://portal.sso.us-east-1.amazonaws.com/saml/metadata/")
    );
}

#[tokio::test]
async fn listing_follows_the_marker_through_every_page() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_page_size(2);
    let idc = client(&emulator).await;
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(
            idc.console
                .create_application_instance(&format!("app-{n}"))
                .await
                .unwrap()
                .instance_id,
        );
    }
    emulator.clear_requests();
    let listed: Vec<String> = idc
        .console
        .list_application_instances()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.instance_id)
        .collect();
    assert_eq!(listed, made);
    let requests = emulator.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].body, json!({}));
    assert!(requests[1].body["marker"].is_string() && requests[2].body["marker"].is_string());
    assert_ne!(requests[1].body["marker"], requests[2].body["marker"]);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let emulator = Emulator::start().await.unwrap();
    let idc = client(&emulator).await;
    emulator.throttle_next(2);
    assert!(
        idc.console
            .list_application_instances()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(emulator.requests().len(), 3);

    emulator.clear_requests();
    emulator.fail_next(1, 503);
    idc.console.list_application_instances().await.unwrap();
    assert_eq!(emulator.requests().len(), 2);
}

#[tokio::test]
async fn retries_are_bounded_and_the_error_names_the_operation_and_aws_message() {
    let emulator = Emulator::start().await.unwrap();
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let console = client(&emulator).await.console.with_retry_policy(policy);
    emulator.fail_next(10, 500);
    let error = console.list_application_instances().await.unwrap_err();
    assert_eq!(emulator.requests().len(), 3);
    assert_eq!(error.operation, "ListApplicationInstances");
    assert_eq!(error.status, Some(500));
    assert_eq!(error.code, "InternalFailure");
    assert_eq!(
        error.to_string(),
        "SWBService.ListApplicationInstances failed (region us-east-1): InternalFailure: Injected failure"
    );
}

#[tokio::test]
async fn no_retry_waits_past_the_clients_deadline() {
    let emulator = Emulator::start().await.unwrap();
    // Waits drawn below 10 s for five retries (about 25 s in all), but half a second to go.
    let ten_seconds = std::time::Duration::from_secs(10);
    let policy = RetryPolicy {
        max_attempts: 6,
        base_delay: ten_seconds,
        max_delay: ten_seconds,
    };
    let half_a_second = std::time::Duration::from_millis(500);
    let started = std::time::Instant::now();
    let console = client(&emulator)
        .await
        .console
        .with_retry_policy(policy)
        .until(started + half_a_second);
    emulator.fail_next(10, 500);
    let error = console.list_application_instances().await.unwrap_err();
    assert_eq!(error.status, Some(500), "the last error, reported in time");
    // Generous: the deadline is 0.5 s away; a wait it did not stop would be seconds long.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?} after {} requests",
        started.elapsed(),
        emulator.requests().len()
    );
}

#[tokio::test]
async fn a_missing_application_is_a_not_found_error_that_is_not_retried() {
    let emulator = Emulator::start().await.unwrap();
    let idc = client(&emulator).await;
    let error = idc
        .console
        .get_application_instance("ins-0123456789abcdef")
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert!(error.message.contains("ins-0123456789abcdef"), "{error}");
    assert_eq!(emulator.requests().len(), 1);
    let error = idc
        .console
        .delete_application_instance("ins-0123456789abcdef")
        .await
        .unwrap_err();
    assert!(
        error.is_not_found() && error.operation == "DeleteApplicationInstance",
        "{error}"
    );
}

#[tokio::test]
async fn public_calls_tags_and_assignments() {
    let emulator = Emulator::start().await.unwrap();
    let idc = client(&emulator).await;
    let instances = idc.instances().await.unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].arn, emulator.instance_arn());
    assert_eq!(instances[0].identity_store_id, emulator.identity_store_id());
    assert_eq!(instances[0].owner_account_id, emulator.account_id());

    let id = idc
        .console
        .create_application_instance("n")
        .await
        .unwrap()
        .instance_id;
    let arn =
        ApplicationArn::from_console_id(&instances[0].arn, &instances[0].owner_account_id, &id)
            .unwrap()
            .to_string();
    assert_eq!(
        idc.tags(&instances[0].arn, &arn).await.unwrap(),
        Some(vec![])
    );
    idc.tag(&instances[0].arn, &arn, &[("owner", "me")])
        .await
        .unwrap();
    assert_eq!(
        idc.tags(&instances[0].arn, &arn).await.unwrap(),
        Some(vec![("owner".to_owned(), "me".to_owned())])
    );

    let group = Principal {
        kind: PrincipalKind::Group,
        id: "8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6d".into(),
    };
    idc.assign(&arn, &group).await.unwrap();
    idc.assign(&arn, &group).await.unwrap(); // ConflictException: already assigned, fine
    assert_eq!(idc.assignments(&arn).await.unwrap(), vec![group.clone()]);
    idc.unassign(&arn, &group).await.unwrap();
    idc.unassign(&arn, &group).await.unwrap(); // already gone, fine
    assert!(idc.assignments(&arn).await.unwrap().is_empty());
    let recorded: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.api == "sso-admin")
        .collect();
    assert!(
        recorded
            .iter()
            .all(|r| r.headers["authorization"].contains("/us-east-1/sso/aws4_request"))
    );
    assert!(
        recorded
            .iter()
            .all(|r| r.operation != "PutApplicationAssignmentConfiguration")
    );

    emulator.delete_application_out_of_band(&arn);
    assert_eq!(idc.tags(&instances[0].arn, &arn).await.unwrap(), None);
}

#[tokio::test]
async fn applications_of_unknown_shapes_are_skipped_or_read_leniently() {
    let emulator = Emulator::start().await.unwrap();
    let idc = client(&emulator).await;
    let ours = idc
        .console
        .create_application_instance("ours")
        .await
        .unwrap()
        .instance_id;
    let instance = emulator.instance_arn();
    // AWS-managed applications whose shapes no public source records.
    emulator.add_aws_managed_application(
        &instance,
        json!({"instanceId": "ins-00000000000000a1", "managedBy": "aws", "status": 3}),
    );
    emulator.add_aws_managed_application(
        &instance,
        json!({"instanceId": "ins-00000000000000a2", "display": "Amazon Q", "template": 42,
               "identityProviderConfig": {"metadataUrl": 7}, "responseConfig": {"properties": 1}}),
    );
    emulator.add_aws_managed_application(&instance, json!({"display": {"displayName": "no id"}}));
    emulator.add_aws_managed_application(&instance, json!("not an object"));
    emulator.add_aws_managed_application(&instance, Value::Null);

    let listed = idc.console.list_application_instances().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|a| a.instance_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            ours.as_str(),
            "ins-00000000000000a1",
            "ins-00000000000000a2"
        ],
        "the unreadable ones are skipped, the rest kept"
    );
    let odd = &listed[2];
    assert_eq!(odd.display_name(), None);
    assert_eq!(odd.template_id(), None);
    assert_eq!(odd.metadata_url(), None);
    assert_eq!(odd.response_config, None);
    assert_eq!(listed[1].status, None);
    // A fresh application has no display data: read all the same.
    let fresh = idc.console.get_application_instance(&ours).await.unwrap();
    assert_eq!(fresh.display_name(), None);
    assert!(fresh.metadata_url().is_some());
}

/// ASSUMPTION `create-answer-shape`, the other way: only the id comes back.
#[tokio::test]
async fn a_create_answer_with_only_the_id_is_enough() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_full_create_answer(false);
    let idc = client(&emulator).await;
    let created = idc
        .console
        .create_application_instance("minimal")
        .await
        .unwrap();
    assert!(created.instance_id.starts_with("ins-"));
    assert_eq!(created.display, None);
    assert!(
        emulator
            .application_by_instance_id(&created.instance_id)
            .is_some()
    );
}

#[tokio::test]
async fn profiles_are_listed_across_pages() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_page_size(2);
    let idc = client(&emulator).await;
    let id = idc
        .console
        .create_application_instance("paged")
        .await
        .unwrap()
        .instance_id;
    let arn = emulator.application_by_instance_id(&id).unwrap()["applicationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    emulator.add_profiles(&arn, 5);
    emulator.clear_requests();
    let profiles = idc.console.list_profiles(&id).await.unwrap();
    let stored: Vec<Value> = emulator.application(&arn).unwrap()["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profileId"].clone())
        .collect();
    let listed: Vec<Value> = profiles.iter().map(|p| json!(p.profile_id)).collect();
    assert_eq!(listed, stored);
    assert_eq!(listed.len(), 5);
    assert_eq!(emulator.requests().len(), 3, "three pages of two");
}
