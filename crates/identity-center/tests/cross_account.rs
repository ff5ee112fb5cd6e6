//! Identity Center in another account: the role is assumed through moto's STS with the caller's
//! own credentials, and the Identity Center calls (emulator) are signed with the assumed ones.

use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use identity_center::access::session_name;
use identity_center::{Caller, IdentityCenter, IdentityCenterRole, RetryPolicy};
use identity_center_emulator::Emulator;
use serde_json::Value;
use test_support::{access_key_id, moto_endpoint, unique};

const OWN_KEY: &str = "AKIDOWNTEST";

async fn sdk_config(endpoint: &str) -> SdkConfig {
    test_support::sdk_config_signed_by(Some(endpoint), OWN_KEY).await
}

/// moto's record of the AssumeRole call that opened `session_name`.
async fn assumed_role(session_name: &str) -> Value {
    let matching: Vec<Value> = test_support::assumed_roles()
        .await
        .into_iter()
        .filter(|role| role["session_name"] == session_name)
        .collect();
    assert_eq!(matching.len(), 1, "one AssumeRole for {session_name}");
    matching[0].clone()
}

#[tokio::test]
async fn identity_center_calls_carry_the_assumed_roles_credentials() {
    let emulator = Emulator::start().await.unwrap();
    let own = sdk_config(&moto_endpoint()).await;
    let role_arn = format!(
        "arn:aws:iam::111122223333:role/IdentityCenterAccess-{}",
        unique("t")
    );
    let role = IdentityCenterRole::from_properties(Some(&role_arn), Some("connect-sso-external"))
        .unwrap()
        .unwrap();
    let session = session_name(&format!("stack-{}", unique("t")), "App");
    let caller = Caller::select(&own, Some(&role), &session, Some("123456789012"))
        .await
        .unwrap();
    assert!(caller.is_assumed_role());

    // STS saw the role, the session name and the external id.
    let assumed = assumed_role(&session).await;
    assert_eq!(assumed["role_arn"], role_arn.as_str());
    assert_eq!(assumed["external_id"], "connect-sso-external");
    let assumed_key = assumed["access_key_id"].as_str().unwrap();
    assert_ne!(assumed_key, OWN_KEY);

    let base = sdk_config(&emulator.endpoint()).await;
    let idc = IdentityCenter::for_caller(&base, &caller, "us-east-1").unwrap();
    assert_eq!(idc.instances().await.unwrap().len(), 1);
    idc.console.list_application_instances().await.unwrap();
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            access_key_id(&request.headers["authorization"]),
            assumed_key,
            "{} {}",
            request.api,
            request.operation
        );
        assert_eq!(
            request.headers["x-amz-security-token"],
            assumed["session_token"].as_str().unwrap()
        );
    }
    assert_eq!(
        requests.iter().map(|r| r.api.as_str()).collect::<Vec<_>>(),
        ["sso-admin", "console"]
    );

    // The same base configuration without a role keeps its own credentials.
    emulator.clear_requests();
    let own_caller = Caller::select(&own, None, &session, Some("123456789012"))
        .await
        .unwrap();
    assert!(!own_caller.is_assumed_role());
    let idc = IdentityCenter::for_caller(&base, &own_caller, "us-east-1").unwrap();
    idc.console.list_application_instances().await.unwrap();
    assert_eq!(
        access_key_id(&emulator.requests()[0].headers["authorization"]),
        OWN_KEY
    );
    assert!(
        !emulator.requests()[0]
            .headers
            .contains_key("x-amz-security-token")
    );
}

#[tokio::test]
async fn errors_name_the_account_role_and_region_called() {
    let emulator = Emulator::start().await.unwrap();
    let own = sdk_config(&moto_endpoint()).await;
    let role_arn = format!(
        "arn:aws:iam::111122223333:role/IdentityCenterAccess-{}",
        unique("t")
    );
    let role = IdentityCenterRole::from_properties(Some(&role_arn), None)
        .unwrap()
        .unwrap();
    let session = session_name(&format!("stack-{}", unique("t")), "Mapping");
    let caller = Caller::select(&own, Some(&role), &session, None)
        .await
        .unwrap();
    assert_eq!(assumed_role(&session).await["external_id"], Value::Null);
    let base = sdk_config(&emulator.endpoint()).await;
    let idc = IdentityCenter::for_caller(&base, &caller, "us-east-1").unwrap();
    let destination = format!("account 111122223333 as {role_arn}, region us-east-1");
    assert_eq!(idc.destination().to_string(), destination);

    let error = idc
        .console
        .get_application_instance("ins-0123456789abcdef")
        .await
        .unwrap_err();
    assert!(error.is_not_found());
    assert!(
        error.to_string().starts_with(&format!(
            "SWBService.GetApplicationInstance failed ({destination}): ResourceNotFoundException: "
        )),
        "{error}"
    );

    let console = idc.console.clone().with_retry_policy(RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    });
    emulator.fail_next(1, 500);
    let error = console.list_application_instances().await.unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "SWBService.ListApplicationInstances failed ({destination}): "
        )),
        "{error}"
    );

    emulator.fail_next(5, 400);
    let error = idc.instances().await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("sso-admin ListInstances failed ({destination}): ")),
        "{error}"
    );
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_is_reported_naming_it() {
    // STS refusing, as it does for a role whose trust policy does not name the caller (moto's
    // STS grants every AssumeRole).
    let sts = test_support::answering_endpoint(
        403,
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/f/x is not authorized \
         to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/IdentityCenterAccess</Message>\
         </Error><RequestId>r</RequestId></ErrorResponse>",
    )
    .await;
    let own = https_client::sdk::loader()
        .region(Region::new("eu-central-1"))
        .endpoint_url(&sts)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .credentials_provider(Credentials::new(OWN_KEY, "secret", None, None, "test"))
        .load()
        .await;
    let role_arn = "arn:aws:iam::111122223333:role/IdentityCenterAccess";
    let role = IdentityCenterRole::from_properties(Some(role_arn), Some("do-not-print-me"))
        .unwrap()
        .unwrap();
    let error = Caller::select(&own, Some(&role), "stack.App", Some("123456789012"))
        .await
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.starts_with(
            "the function could not act in the Identity Center account: check the role's trust policy (docs/cross-account.md) and the function's sts:AssumeRole permission: sts AssumeRole of IdentityCenterRoleArn arn:aws:iam::111122223333:role/IdentityCenterAccess failed (STS in region eu-central-1, with IdentityCenterExternalId): "
        ),
        "{text}"
    );
    assert!(
        text.contains("AccessDenied"),
        "STS's own refusal is quoted: {text}"
    );
    assert!(!text.contains("do-not-print-me"), "{text}");
}
