//! The console control-plane API (SWBService at /control/) driven with raw HTTP requests.

mod common;

use base64::Engine as _;
use common::*;
use identity_center_emulator::{Emulator, RELAY_STATE_FIELD, START_URL_FIELD};
use serde_json::{Value, json};

const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";

#[tokio::test]
async fn custom_saml_app_goes_through_the_whole_console_sequence() {
    let emulator = Emulator::start().await.unwrap();

    let created = console_ok(
        &emulator,
        "CreateApplicationInstance",
        json!({ "templateId": "tpl-50e590700beb5208", "name": "5f0c2a4e-1b7d-4c3e-8a9f-6d5e4c3b2a10" }),
    )
    .await;
    let app = &created["applicationInstance"];
    let instance_id = app["instanceId"].as_str().unwrap().to_string();
    assert!(
        instance_id.starts_with("ins-") && instance_id.len() == 20,
        "{instance_id}"
    );
    assert_eq!(
        app["template"],
        json!({ "templateId": "tpl-50e590700beb5208", "sSOProtocol": "SAML" })
    );
    assert_eq!(app["status"], "CREATED");
    assert_eq!(app["name"], "5f0c2a4e-1b7d-4c3e-8a9f-6d5e4c3b2a10");

    // The metadata URL exists right after creation: base64("<account>_<ins-id>").
    let metadata_url = app["identityProviderConfig"]["metadataUrl"]
        .as_str()
        .unwrap();
    let token = metadata_url
        .strip_prefix("https://portal.sso.us-east-1.amazonaws.com/saml/metadata/")
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("123456789012_{instance_id}")
    );

    console_ok(
        &emulator,
        "UpdateApplicationInstanceDisplayData",
        json!({ "instanceId": instance_id, "displayName": "Amazon Connect", "description": "Connect federation" }),
    )
    .await;
    let sp_config = json!({
        "audience": "urn:amazon:webservices",
        "consumers": [{ "location": "https://signin.aws.amazon.com/saml", "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", "defaultValue": false }],
        "requireRequestSignature": false
    });
    console_ok(
        &emulator,
        "UpdateApplicationInstanceServiceProviderConfiguration",
        json!({ "instanceId": instance_id, "serviceProviderConfig": sp_config }),
    )
    .await;
    let role = "arn:aws:iam::123456789012:role/ConnectFederation,arn:aws:iam::123456789012:saml-provider/IdentityCenter";
    let mut response_config = json!({
        "subject": { "source": ["${user:email}"] },
        "properties": {
            ROLE_ATTRIBUTE: { "source": [role] },
            "https://aws.amazon.com/SAML/Attributes/RoleSessionName": { "source": ["${user:email}"] }
        },
        "ttl": "PT12H"
    });
    response_config[RELAY_STATE_FIELD] = json!(
        "https://us-east-1.console.aws.amazon.com/connect/federate/11111111-2222-3333-4444-555555555555"
    );
    console_ok(
        &emulator,
        "UpdateApplicationInstanceResponseConfiguration",
        json!({ "instanceId": instance_id, "responseConfig": response_config }),
    )
    .await;
    let unspecified = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";
    let schema = json!({
        "subject": { "include": "REQUIRED", "nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" },
        "properties": {
            ROLE_ATTRIBUTE: { "attrNameFormat": unspecified, "include": "YES" },
            "https://aws.amazon.com/SAML/Attributes/RoleSessionName": { "attrNameFormat": unspecified, "include": "YES" }
        }
    });
    console_ok(
        &emulator,
        "UpdateApplicationInstanceResponseSchemaConfiguration",
        json!({ "instanceId": instance_id, "responseSchemaConfig": schema }),
    )
    .await;
    console_ok(
        &emulator,
        "UpdateApplicationInstanceStatus",
        json!({ "instanceId": instance_id, "status": "ENABLED" }),
    )
    .await;

    let got = console_ok(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    let got = &got["applicationInstance"];
    assert_eq!(got["status"], "ENABLED");
    assert_eq!(
        got["display"],
        json!({ "displayName": "Amazon Connect", "description": "Connect federation" })
    );
    assert_eq!(got["serviceProviderConfig"], sp_config);
    assert_eq!(got["responseConfig"], response_config);
    assert_eq!(got["responseSchemaConfig"]["subject"], schema["subject"]);
    assert_eq!(
        got["responseSchemaConfig"]["properties"],
        schema["properties"]
    );
    assert_eq!(got["identityProviderConfig"]["metadataUrl"], metadata_url);

    let arn = application_arn(&emulator, &instance_id);
    let state = emulator
        .application(&arn)
        .expect("the app is known by its public ARN");
    assert_eq!(state["instanceId"], instance_id.as_str());
    assert_eq!(state["instanceArn"], emulator.instance_arn().as_str());
    assert_eq!(
        state["identityStoreId"],
        emulator.identity_store_id().as_str()
    );
    assert_eq!(state["displayName"], "Amazon Connect");
    assert_eq!(
        state["responseConfig"][RELAY_STATE_FIELD],
        response_config[RELAY_STATE_FIELD]
    );
    assert_eq!(state["responseSchemaConfig"], schema);
    assert_eq!(state["profiles"], json!([]));
    assert_eq!(state["foreign"], false);

    console_ok(
        &emulator,
        "DeleteApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert!(emulator.application(&arn).is_none());
    let gone = console(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert_eq!(
        (gone.status, gone.error_type()),
        (400, "ResourceNotFoundException"),
        "{}",
        gone.body
    );
    assert!(gone.message().contains(&instance_id), "{}", gone.message());
}

#[tokio::test]
async fn updates_replace_whole_objects() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "replace").await;
    let mut first =
        json!({ "audience": "urn:first", "consumers": [], "requireRequestSignature": false });
    first[START_URL_FIELD] = json!("https://app.example.com/start");
    console_ok(
        &emulator,
        "UpdateApplicationInstanceServiceProviderConfiguration",
        json!({ "instanceId": instance_id, "serviceProviderConfig": first }),
    )
    .await;
    console_ok(
        &emulator,
        "UpdateApplicationInstanceServiceProviderConfiguration",
        json!({ "instanceId": instance_id, "serviceProviderConfig": { "audience": "urn:second" } }),
    )
    .await;
    let got = console_ok(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert_eq!(
        got["applicationInstance"]["serviceProviderConfig"],
        json!({ "audience": "urn:second" })
    );

    console_ok(&emulator, "UpdateApplicationInstanceResponseConfiguration", json!({ "instanceId": instance_id, "responseConfig": { "properties": { "Email": { "source": ["${user:email}"] } } } })).await;
    let got = console_ok(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert_eq!(
        got["applicationInstance"]["responseConfig"],
        json!({ "properties": { "Email": { "source": ["${user:email}"] } } })
    );
}

#[tokio::test]
async fn a_fresh_app_has_default_attribute_configuration() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "defaults").await;
    let got = console_ok(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    let app = &got["applicationInstance"];
    assert_eq!(app["responseConfig"]["ttl"], "PT1H");
    assert_eq!(app["responseConfig"]["properties"], json!({}));
    assert_eq!(
        app["responseSchemaConfig"]["subject"]["include"],
        "REQUIRED"
    );
    assert_eq!(
        app["responseSchemaConfig"]["supportedNameIdFormats"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn list_pages_with_marker() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_page_size(2);
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(create_app(&emulator, &format!("paged-{i}")).await);
    }
    let foreign_arn = emulator.add_foreign_application(&emulator.instance_arn(), "someone else's");

    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let body = match &marker {
            None => json!({}),
            Some(marker) => json!({ "marker": marker }),
        };
        let page = console_ok(&emulator, "ListApplicationInstances", body).await;
        pages += 1;
        let items = page["applicationInstances"].as_array().unwrap();
        assert!(items.len() <= 2);
        for item in items {
            seen.push((
                item["instanceId"].as_str().unwrap().to_string(),
                item["display"]["displayName"].as_str().unwrap().to_string(),
            ));
        }
        match page.get("marker").and_then(Value::as_str) {
            Some(next) => marker = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 6);
    for (i, id) in made.iter().enumerate() {
        assert_eq!(seen[i], (id.clone(), format!("paged-{i}")));
    }
    let foreign = emulator.application(&foreign_arn).unwrap();
    assert_eq!(
        seen[5],
        (
            foreign["instanceId"].as_str().unwrap().to_string(),
            "someone else's".to_string()
        )
    );
    assert_eq!(foreign["foreign"], true);
    assert_eq!(foreign["status"], "ENABLED");

    let bad = console(
        &emulator,
        "ListApplicationInstances",
        json!({ "marker": "not-a-marker" }),
    )
    .await;
    assert_eq!((bad.status, bad.error_type()), (400, "ValidationException"));
}

#[tokio::test]
async fn unknown_operations_and_wrong_content_type() {
    let emulator = Emulator::start().await.unwrap();

    let unknown = console(&emulator, "CreateApplicationInstances", json!({})).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.body["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );

    // A public operation is not a console operation, and vice versa.
    let public_on_console = post(
        &emulator.endpoint(),
        "/control/",
        &[
            ("content-type", "application/x-amz-json-1.1".to_string()),
            (
                "x-amz-target",
                "SWBExternalService.ListInstances".to_string(),
            ),
            ("x-amz-date", AMZ_DATE.to_string()),
            ("authorization", authorization("us-east-1", "sso")),
        ],
        "{}",
    )
    .await;
    assert_eq!(
        (public_on_console.status, public_on_console.error_type()),
        (400, "UnknownOperationException")
    );

    let mut no_target = console_headers("ListApplicationInstances", "us-east-1");
    no_target.retain(|(name, _)| *name != "x-amz-target");
    let answer = post(&emulator.endpoint(), "/control/", &no_target, "{}").await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (400, "UnknownOperationException")
    );

    // Plain application/json: HTTP 200 with the Coral envelope, which is still an error.
    let mut json_headers = console_headers("ListApplicationInstances", "us-east-1");
    json_headers[0].1 = "application/json".to_string();
    let answer = post(&emulator.endpoint(), "/control/", &json_headers, "{}").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({ "Output": { "__type": "com.amazon.coral.service#UnknownOperationException" }, "Version": "1.0" })
    );

    let requests = emulator.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].operation, "CreateApplicationInstances");
    assert_eq!(requests[1].operation, "SWBExternalService.ListInstances");
    assert_eq!(requests[2].operation, "");
    assert!(requests.iter().all(|r| r.api == "console"));
}

#[tokio::test]
async fn authorization_must_be_sigv4_for_service_sso() {
    let emulator = Emulator::start().await.unwrap();
    let endpoint = emulator.endpoint();
    let with_authorization = |value: Option<String>| {
        let mut headers = console_headers("ListApplicationInstances", "us-east-1");
        headers.retain(|(name, _)| *name != "authorization");
        if let Some(value) = value {
            headers.push(("authorization", value));
        }
        headers
    };

    let answer = post(&endpoint, "/control/", &with_authorization(None), "{}").await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (403, "MissingAuthenticationTokenException")
    );

    let answer = post(
        &endpoint,
        "/control/",
        &with_authorization(Some(authorization("us-east-1", "sso-admin"))),
        "{}",
    )
    .await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (403, "InvalidSignatureException")
    );
    assert!(answer.message().contains("'sso'"), "{}", answer.message());

    let answer = post(
        &endpoint,
        "/control/",
        &with_authorization(Some("Bearer abc".to_string())),
        "{}",
    )
    .await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (400, "IncompleteSignatureException")
    );

    let no_signature = "AWS4-HMAC-SHA256 Credential=AKID/20261101/us-east-1/sso/aws4_request, SignedHeaders=host;x-amz-date".to_string();
    let answer = post(
        &endpoint,
        "/control/",
        &with_authorization(Some(no_signature)),
        "{}",
    )
    .await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (400, "IncompleteSignatureException")
    );

    let host_unsigned =
        authorization("us-east-1", "sso").replace("content-type;host;", "content-type;");
    let answer = post(
        &endpoint,
        "/control/",
        &with_authorization(Some(host_unsigned)),
        "{}",
    )
    .await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (400, "IncompleteSignatureException")
    );

    let mut no_date = console_headers("ListApplicationInstances", "us-east-1");
    no_date.retain(|(name, _)| *name != "x-amz-date");
    let answer = post(&endpoint, "/control/", &no_date, "{}").await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (400, "IncompleteSignatureException")
    );

    let answer = post(
        &endpoint,
        "/control/",
        &with_authorization(Some(authorization("us-east-1", "sso"))),
        "{}",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn field_shapes_are_checked() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "shapes").await;
    let expect_validation = |answer: Answer, needle: &str| {
        assert_eq!(
            (answer.status, answer.error_type()),
            (400, "ValidationException"),
            "{}",
            answer.body
        );
        assert!(
            answer.message().contains(needle),
            "'{}' should mention '{needle}'",
            answer.message()
        );
    };

    expect_validation(
        console(
            &emulator,
            "CreateApplicationInstance",
            json!({ "templateId": "tpl-50e590700beb5208" }),
        )
        .await,
        "name",
    );
    expect_validation(
        console(
            &emulator,
            "GetApplicationInstance",
            json!({ "instanceId": "apl-0123456789abcdef" }),
        )
        .await,
        "instanceId",
    );
    expect_validation(
        console(
            &emulator,
            "GetApplicationInstance",
            json!({ "instanceId": instance_id, "instanceArn": "x" }),
        )
        .await,
        "instanceArn",
    );
    expect_validation(
        console(&emulator, "UpdateApplicationInstanceServiceProviderConfiguration", json!({ "instanceId": instance_id, "serviceProviderConfig": { "audience": "urn:x", "consumers": [{ "location": "https://signin.aws.amazon.com/saml", "binding": "HTTP-POST" }] } })).await,
        "binding",
    );
    expect_validation(
        console(&emulator, "UpdateApplicationInstanceServiceProviderConfiguration", json!({ "instanceId": instance_id, "serviceProviderConfig": { "acsUrl": "https://x" } })).await,
        "serviceProviderConfig",
    );
    expect_validation(
        console(
            &emulator,
            "UpdateApplicationInstanceResponseConfiguration",
            json!({ "instanceId": instance_id, "responseConfig": { "ttl": "12 hours" } }),
        )
        .await,
        "ttl",
    );
    // A misspelt relay-state member is refused, not silently dropped.
    expect_validation(
        console(
            &emulator,
            "UpdateApplicationInstanceResponseConfiguration",
            json!({ "instanceId": instance_id, "responseConfig": { "relay_state": "https://x" } }),
        )
        .await,
        "relay_state",
    );
    expect_validation(
        console(
            &emulator,
            "UpdateApplicationInstanceResponseConfiguration",
            json!({ "instanceId": instance_id, "responseConfig": { RELAY_STATE_FIELD: 5 } }),
        )
        .await,
        RELAY_STATE_FIELD,
    );
    expect_validation(
        console(&emulator, "UpdateApplicationInstanceResponseConfiguration", json!({ "instanceId": instance_id, "responseConfig": { "subject": { "source": "${user:email}" } } })).await,
        "subject",
    );
    expect_validation(
        console(&emulator, "UpdateApplicationInstanceResponseSchemaConfiguration", json!({ "instanceId": instance_id, "responseSchemaConfig": { "subject": { "include": "REQUIRED", "nameIdFormat": "emailAddress" } } })).await,
        "nameIdFormat",
    );
    expect_validation(
        console(&emulator, "UpdateApplicationInstanceResponseSchemaConfiguration", json!({ "instanceId": instance_id, "responseSchemaConfig": { "properties": { "Email": { "attrNameFormat": "unspecified", "include": "YES" } } } })).await,
        "attrNameFormat",
    );
    expect_validation(
        console(
            &emulator,
            "UpdateApplicationInstanceStatus",
            json!({ "instanceId": instance_id, "status": "ACTIVE" }),
        )
        .await,
        "ENABLED",
    );

    let unknown_template = console(
        &emulator,
        "CreateApplicationInstance",
        json!({ "templateId": "tpl-0000000000000000", "name": "x" }),
    )
    .await;
    assert_eq!(unknown_template.error_type(), "ResourceNotFoundException");

    let not_json = post(
        &emulator.endpoint(),
        "/control/",
        &console_headers("ListApplicationInstances", "us-east-1"),
        "not json",
    )
    .await;
    assert_eq!(
        (not_json.status, not_json.error_type()),
        (400, "SerializationException")
    );

    // Nothing above changed the app.
    let got = console_ok(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert_eq!(got["applicationInstance"]["status"], "CREATED");
    assert_eq!(got["applicationInstance"]["responseConfig"]["ttl"], "PT1H");
}

#[tokio::test]
async fn errors_are_namespaced_aws_json() {
    let emulator = Emulator::start().await.unwrap();
    let answer = console(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": "ins-0000000000000000" }),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["__type"],
        "com.amazon.switchboard.service#ResourceNotFoundException"
    );
    assert!(answer.body["message"].is_string());
}

#[tokio::test]
async fn throttling_and_failures_can_be_switched_on() {
    let emulator = Emulator::start().await.unwrap();
    emulator.throttle_next(2);
    for _ in 0..2 {
        let answer = console(&emulator, "ListApplicationInstances", json!({})).await;
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.body["__type"],
            "com.amazon.coral.availability#ThrottlingException"
        );
    }
    emulator.fail_next(1, 503);
    let answer = console(&emulator, "ListApplicationInstances", json!({})).await;
    assert_eq!(
        (answer.status, answer.error_type()),
        (503, "ServiceUnavailableException")
    );
    emulator.fail_next(1, 500);
    let answer = console(
        &emulator,
        "CreateApplicationInstance",
        json!({ "templateId": "tpl-50e590700beb5208", "name": "x" }),
    )
    .await;
    assert_eq!(answer.status, 500);
    assert!(
        emulator.applications().is_empty(),
        "a failed create must not create"
    );
    let answer = console(&emulator, "ListApplicationInstances", json!({})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(emulator.requests().len(), 5);
}

#[tokio::test]
async fn profiles_come_from_assignments_and_block_deletion() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "profiles").await;
    let profiles = console_ok(
        &emulator,
        "ListProfiles",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert_eq!(profiles, json!({ "applicationProfiles": [] }));

    let sso_admin = sso_admin(&emulator).await;
    let arn = application_arn(&emulator, &instance_id);
    sso_admin
        .create_application_assignment()
        .application_arn(&arn)
        .principal_id("8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6d")
        .principal_type(aws_sdk_ssoadmin::types::PrincipalType::Group)
        .send()
        .await
        .unwrap();

    let profiles = console_ok(
        &emulator,
        "ListProfiles",
        json!({ "instanceId": instance_id }),
    )
    .await;
    let list = profiles["applicationProfiles"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "Default");
    let profile_id = list[0]["profileId"].as_str().unwrap().to_string();
    assert!(profile_id.starts_with("p-"));

    let refused = console(
        &emulator,
        "DeleteApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert_eq!(
        (refused.status, refused.error_type()),
        (400, "ConflictException")
    );
    assert!(emulator.application(&arn).is_some());

    console_ok(
        &emulator,
        "DeleteProfile",
        json!({ "instanceId": instance_id, "profileId": profile_id }),
    )
    .await;
    let again = console(
        &emulator,
        "DeleteProfile",
        json!({ "instanceId": instance_id, "profileId": profile_id }),
    )
    .await;
    assert_eq!(again.error_type(), "ResourceNotFoundException");
    console_ok(
        &emulator,
        "DeleteApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert!(emulator.application(&arn).is_none());
}

#[tokio::test]
async fn requests_are_recorded_with_headers_and_body() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "recorded").await;
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].api, "console");
    assert_eq!(requests[0].operation, "CreateApplicationInstance");
    assert_eq!(
        requests[0].headers["content-type"],
        "application/x-amz-json-1.1"
    );
    assert_eq!(
        requests[0].headers["x-amz-target"],
        "SWBService.CreateApplicationInstance"
    );
    assert!(requests[0].headers["authorization"].contains("/us-east-1/sso/aws4_request"));
    assert_eq!(
        requests[1].body,
        json!({ "instanceId": instance_id, "displayName": "recorded", "description": "test app" })
    );
    emulator.clear_requests();
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn the_signing_region_selects_the_home_region_instance() {
    let emulator = Emulator::start().await.unwrap();
    let elsewhere = console_in(
        &emulator,
        "eu-west-1",
        "ListApplicationInstances",
        json!({}),
    )
    .await;
    assert_eq!(
        (elsewhere.status, elsewhere.error_type()),
        (400, "ResourceNotFoundException")
    );

    let (eu_instance, eu_store) = emulator.add_instance_in_region("eu-west-1");
    let created = console_in(
        &emulator,
        "eu-west-1",
        "CreateApplicationInstance",
        json!({ "templateId": "tpl-50e590700beb5208", "name": "eu" }),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let instance_id = created.body["applicationInstance"]["instanceId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        created.body["applicationInstance"]["identityProviderConfig"]["metadataUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://portal.sso.eu-west-1.amazonaws.com/")
    );

    let app = emulator.application_by_instance_id(&instance_id).unwrap();
    assert_eq!(app["instanceArn"], eu_instance.as_str());
    assert_eq!(app["identityStoreId"], eu_store.as_str());
    assert!(
        app["applicationArn"]
            .as_str()
            .unwrap()
            .contains(eu_instance.rsplit('/').next().unwrap())
    );

    // The us-east-1 instance neither lists nor finds it.
    let us = console_ok(&emulator, "ListApplicationInstances", json!({})).await;
    assert_eq!(us["applicationInstances"], json!([]));
    let us_get = console(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert_eq!(us_get.error_type(), "ResourceNotFoundException");
}

#[tokio::test]
async fn out_of_band_deletion_is_seen_as_gone() {
    let emulator = Emulator::start().await.unwrap();
    let instance_id = create_app(&emulator, "vanishing").await;
    let arn = application_arn(&emulator, &instance_id);
    emulator.delete_application_out_of_band(&arn);
    assert!(emulator.applications().is_empty());
    let answer = console(
        &emulator,
        "DeleteApplicationInstance",
        json!({ "instanceId": instance_id }),
    )
    .await;
    assert_eq!(answer.error_type(), "ResourceNotFoundException");
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let emulator = Emulator::start().await.unwrap();
    let answer = post(
        &emulator.endpoint(),
        "/control",
        &console_headers("ListApplicationInstances", "us-east-1"),
        "{}",
    )
    .await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn eventual_consistency_hides_new_apps_from_the_next_reads() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_consistency_lag(2);
    let instance_id = create_app(&emulator, "lagging").await;
    let arn = application_arn(&emulator, &instance_id);
    for _ in 0..2 {
        let listed = console_ok(&emulator, "ListApplicationInstances", json!({})).await;
        assert_eq!(listed["applicationInstances"], json!([]));
    }
    let listed = console_ok(&emulator, "ListApplicationInstances", json!({})).await;
    assert_eq!(
        listed["applicationInstances"][0]["instanceId"],
        instance_id.as_str()
    );

    // Public lookups by ARN lag too; Get by instance id does not.
    let lagging = create_app(&emulator, "lagging too").await;
    let lagging_arn = application_arn(&emulator, &lagging);
    console_ok(
        &emulator,
        "GetApplicationInstance",
        json!({ "instanceId": lagging }),
    )
    .await;
    let client = sso_admin(&emulator).await;
    for _ in 0..2 {
        let missing = client
            .describe_application()
            .application_arn(&lagging_arn)
            .send()
            .await
            .unwrap_err();
        assert!(
            missing
                .into_service_error()
                .is_resource_not_found_exception()
        );
    }
    client
        .describe_application()
        .application_arn(&lagging_arn)
        .send()
        .await
        .unwrap();
    assert!(emulator.application(&arn).is_some());
}
