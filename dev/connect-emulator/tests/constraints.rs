//! Every documented request constraint answers the documented, AWS-shaped error, and a refused
//! request changes nothing.

mod common;

use aws_sdk_connect::Client;
use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::error::SdkError;
use aws_sdk_connect::operation::create_user::builders::CreateUserFluentBuilder;
use aws_sdk_connect::types::{
    PhoneType, StringComparisonType, StringCondition, UserIdentityInfo, UserPhoneConfig,
    UserSearchCriteria,
};
use common::*;
use connect_emulator::{Emulator, Instance, Options, UserSnapshot};

/// A valid SAML CreateUser request, to be spoiled one field at a time.
fn valid_request(
    client: &Client,
    emulator: &Emulator,
    instance: &Instance,
) -> CreateUserFluentBuilder {
    let (agent, routing) = default_profiles(emulator, instance);
    client
        .create_user()
        .instance_id(&instance.id)
        .username("valid.user@example.com")
        .identity_info(names("Valid", "User"))
        .phone_config(soft_phone())
        .security_profile_ids(agent)
        .routing_profile_id(routing)
}

/// Sends the request and returns (error code, HTTP status, message).
async fn refused(request: CreateUserFluentBuilder) -> (String, u16, String) {
    let error = request
        .send()
        .await
        .expect_err("the request should be refused");
    let status = match &error {
        SdkError::ServiceError(service) => service.raw().status().as_u16(),
        other => panic!("not a service error: {other:?}"),
    };
    let message = error
        .as_service_error()
        .and_then(|e| aws_sdk_connect::error::ProvideErrorMetadata::message(e))
        .unwrap_or_default()
        .to_owned();
    (code(&error), status, message)
}

#[tokio::test]
async fn the_valid_request_is_accepted() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    valid_request(&client, &emulator, &instance)
        .send()
        .await
        .unwrap();
    assert_eq!(emulator.users(&instance.id).len(), 1);
}

#[tokio::test]
async fn usernames_follow_the_saml_rules() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    for bad in [
        "has space",
        "comma,name",
        "plus+name",
        "equals=name",
        "user@example",
        "two@at@example.com",
        "@example.com",
        "ünïcode",
        &"a".repeat(65),
    ] {
        let (code, status, message) =
            refused(valid_request(&client, &emulator, &instance).username(bad)).await;
        assert_eq!(
            (code.as_str(), status),
            ("InvalidParameterException", 400),
            "{bad}"
        );
        assert!(message.contains("Username"), "{bad}: {message}");
    }
    assert!(emulator.users(&instance.id).is_empty());
    for good in [
        "ab",
        "a",
        "first.last",
        "under_score-dash",
        "x@example.co.uk",
        &"a".repeat(64),
    ] {
        valid_request(&client, &emulator, &instance)
            .username(good)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{good}: {e:?}"));
    }
}

#[tokio::test]
async fn non_saml_usernames_are_limited_to_20_characters() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = emulator.create_instance("managed", "CONNECT_MANAGED");
    let (code, _, _) = refused(
        valid_request(&client, &emulator, &instance)
            .username("a".repeat(21))
            .password("Passw0rdOk"),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    valid_request(&client, &emulator, &instance)
        .username("a".repeat(20))
        .password("Passw0rdOk")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn password_and_directory_user_id_follow_the_identity_management_type() {
    let emulator = start().await;
    let client = client(&emulator);
    let saml = saml_instance(&emulator).await;
    let (code, status, message) =
        refused(valid_request(&client, &emulator, &saml).password("Passw0rdOk")).await;
    assert_eq!((code.as_str(), status), ("InvalidParameterException", 400));
    assert!(message.contains("Password"), "{message}");
    let (code, _, message) =
        refused(valid_request(&client, &emulator, &saml).directory_user_id("dir-user")).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("DirectoryUserId"), "{message}");
    assert!(emulator.users(&saml.id).is_empty());

    let managed = emulator.create_instance("managed", "CONNECT_MANAGED");
    let (code, _, _) =
        refused(valid_request(&client, &emulator, &managed).username("nopass")).await;
    assert_eq!(code, "InvalidParameterException", "a password is required");
    let (code, _, _) = refused(
        valid_request(&client, &emulator, &managed)
            .username("weak")
            .password("password"),
    )
    .await;
    assert_eq!(
        code, "InvalidParameterException",
        "a weak password is refused"
    );
    valid_request(&client, &emulator, &managed)
        .username("strong")
        .password("Passw0rdOk")
        .send()
        .await
        .unwrap();

    let directory = emulator.create_instance("directory", "EXISTING_DIRECTORY");
    let (code, _, _) = refused(
        valid_request(&client, &emulator, &directory)
            .username("dir")
            .password("Passw0rdOk"),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    valid_request(&client, &emulator, &directory)
        .username("dir")
        .directory_user_id("dir-user")
        .send()
        .await
        .unwrap();
    assert_eq!(
        emulator.users(&directory.id)[0]
            .directory_user_id
            .as_deref(),
        Some("dir-user")
    );
}

#[tokio::test]
async fn identity_info_rules_on_a_saml_instance() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let with_info =
        |info: UserIdentityInfo| valid_request(&client, &emulator, &instance).identity_info(info);
    let cases = [
        (
            "Email",
            UserIdentityInfo::builder()
                .first_name("A")
                .last_name("B")
                .email("a@example.com")
                .build(),
        ),
        (
            "FirstName",
            UserIdentityInfo::builder().last_name("B").build(),
        ),
        (
            "LastName",
            UserIdentityInfo::builder().first_name("A").build(),
        ),
        (
            "FirstName",
            UserIdentityInfo::builder()
                .first_name("x".repeat(256))
                .last_name("B")
                .build(),
        ),
        (
            "LastName",
            UserIdentityInfo::builder()
                .first_name("A")
                .last_name("x".repeat(301))
                .build(),
        ),
        // "José" decomposed: e + COMBINING ACUTE ACCENT (Connect takes NFC only).
        (
            "FirstName",
            UserIdentityInfo::builder()
                .first_name("Jose\u{301}")
                .last_name("B")
                .build(),
        ),
        (
            "SecondaryEmail",
            UserIdentityInfo::builder()
                .first_name("A")
                .last_name("B")
                .secondary_email("not-an-email")
                .build(),
        ),
        (
            "Mobile",
            UserIdentityInfo::builder()
                .first_name("A")
                .last_name("B")
                .mobile("555-0100")
                .build(),
        ),
    ];
    for (field, info) in cases {
        let (code, _, message) = refused(with_info(info)).await;
        assert_eq!(code, "InvalidParameterException", "{field}");
        assert!(message.contains(field), "{field}: {message}");
    }
    assert!(emulator.users(&instance.id).is_empty());
    with_info(
        UserIdentityInfo::builder()
            .first_name("José")
            .last_name("x".repeat(300))
            .secondary_email("jose@example.com")
            .mobile("+14155550100")
            .build(),
    )
    .send()
    .await
    .unwrap();
}

#[tokio::test]
async fn phone_config_rules() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let desk_without_number = UserPhoneConfig::builder()
        .phone_type(PhoneType::DeskPhone)
        .build();
    let (code, _, message) =
        refused(valid_request(&client, &emulator, &instance).phone_config(desk_without_number))
            .await;
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("DeskPhoneNumber"), "{message}");
    let too_long_acw = UserPhoneConfig::builder()
        .phone_type(PhoneType::SoftPhone)
        .after_contact_work_time_limit(2_000_001)
        .build();
    let (code, _, _) =
        refused(valid_request(&client, &emulator, &instance).phone_config(too_long_acw)).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(emulator.users(&instance.id).is_empty());
}

#[tokio::test]
async fn one_to_ten_existing_security_profiles_and_an_existing_routing_profile() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let (_, routing) = default_profiles(&emulator, &instance);
    let mut eleven: Vec<String> = ["Admin", "Agent", "CallCenterManager", "QualityAnalyst"]
        .iter()
        .map(|name| emulator.security_profile_id(&instance.id, name).unwrap())
        .collect();
    for i in 0..7 {
        eleven.push(emulator.add_security_profile(&instance.id, &format!("Extra{i}")));
    }
    let base = || {
        client
            .create_user()
            .instance_id(&instance.id)
            .identity_info(names("A", "B"))
            .routing_profile_id(&routing)
    };

    let (code, status, message) = refused(base().username("none")).await;
    assert_eq!((code.as_str(), status), ("InvalidParameterException", 400));
    assert!(message.contains("SecurityProfileIds"), "{message}");
    let (code, _, _) = refused(
        base()
            .username("eleven")
            .set_security_profile_ids(Some(eleven.clone())),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, status, _) = refused(
        base()
            .username("unknown")
            .security_profile_ids("00000000-0000-4000-8000-000000000000"),
    )
    .await;
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
    let (code, _, _) = refused(
        valid_request(&client, &emulator, &instance)
            .username("badrouting")
            .routing_profile_id("00000000-0000-4000-8000-000000000000"),
    )
    .await;
    assert_eq!(code, "ResourceNotFoundException");
    assert!(emulator.users(&instance.id).is_empty());

    let ten = eleven[..10].to_vec();
    let user_id = base()
        .username("ten")
        .set_security_profile_ids(Some(ten.clone()))
        .send()
        .await
        .unwrap()
        .user_id
        .unwrap();
    assert_eq!(emulator.users(&instance.id)[0].security_profile_ids, ten);

    // The update is a full replace with the same 1–10 rule.
    let update = || {
        client
            .update_user_security_profiles()
            .instance_id(&instance.id)
            .user_id(&user_id)
    };
    let error = update().send().await.unwrap_err();
    assert_eq!(code_of(&error), "InvalidParameterException");
    let error = update()
        .set_security_profile_ids(Some(eleven.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "InvalidParameterException");
    assert_eq!(emulator.users(&instance.id)[0].security_profile_ids, ten);
    let error = client
        .update_user_routing_profile()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .routing_profile_id("00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "ResourceNotFoundException");
}

fn code_of<E, R>(error: &SdkError<E, R>) -> String
where
    E: aws_sdk_connect::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    code(error)
}

#[tokio::test]
async fn an_existing_username_is_a_duplicate_in_any_case() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    emulator.add_user(&instance.id, UserSnapshot::new("Jane.Doe@example.com"));
    for name in [
        "Jane.Doe@example.com",
        "jane.doe@example.com",
        "JANE.DOE@EXAMPLE.COM",
    ] {
        let (code, status, message) =
            refused(valid_request(&client, &emulator, &instance).username(name)).await;
        assert_eq!(
            (code.as_str(), status),
            ("DuplicateResourceException", 409),
            "{name}"
        );
        assert!(message.contains("Jane.Doe@example.com"), "{message}");
    }
    assert_eq!(emulator.users(&instance.id).len(), 1);
}

#[tokio::test]
async fn unknown_instances_and_users_are_not_found() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let missing = "00000000-0000-4000-8000-000000000000";
    let ghost = Instance {
        id: missing.into(),
        arn: String::new(),
    };
    let (code, status, _) =
        refused(valid_request(&client, &emulator, &instance).instance_id(&ghost.id)).await;
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
    let error = client
        .describe_user()
        .instance_id(&instance.id)
        .user_id(missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "ResourceNotFoundException");
    let error = client
        .update_user_identity_info()
        .instance_id(&instance.id)
        .user_id(missing)
        .identity_info(names("A", "B"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "ResourceNotFoundException");
    let error = client
        .search_users()
        .instance_id(missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "ResourceNotFoundException");
    let error = client
        .list_security_profiles()
        .instance_id(missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "ResourceNotFoundException");
}

#[tokio::test]
async fn updates_follow_the_create_rules() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let user = emulator.add_user(
        &instance.id,
        UserSnapshot::new("someone").with_names("Some", "One"),
    );
    let error = client
        .update_user_identity_info()
        .instance_id(&instance.id)
        .user_id(&user.id)
        .identity_info(
            UserIdentityInfo::builder()
                .first_name("A")
                .last_name("B")
                .email("someone@example.com")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "InvalidParameterException");
    let error = client
        .update_user_phone_config()
        .instance_id(&instance.id)
        .user_id(&user.id)
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::DeskPhone)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "InvalidParameterException");
    assert_eq!(
        emulator.user(&instance.id, "someone").unwrap(),
        user,
        "nothing changed"
    );
}

#[tokio::test]
async fn search_constraints() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let search = |field: &str, value: &str, comparison: StringComparisonType| {
        client
            .search_users()
            .instance_id(&instance.id)
            .search_criteria(
                UserSearchCriteria::builder()
                    .string_condition(
                        StringCondition::builder()
                            .field_name(field)
                            .value(value)
                            .comparison_type(comparison)
                            .build(),
                    )
                    .build(),
            )
    };
    let error = search("Username", "a", StringComparisonType::Contains)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&error),
        "InvalidParameterException",
        "CONTAINS needs 2-25 characters"
    );
    let error = search("ShoeSize", "42", StringComparisonType::Exact)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "InvalidParameterException");
    let error = client
        .search_users()
        .instance_id(&instance.id)
        .max_results(501)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "InvalidParameterException");
    search("Username", "ab", StringComparisonType::Contains)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn tags_on_create_follow_the_tag_rules() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let mut request = valid_request(&client, &emulator, &instance);
    for i in 0..51 {
        request = request.tags(format!("key{i}"), "v");
    }
    let (code, _, _) = refused(request).await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _, _) =
        refused(valid_request(&client, &emulator, &instance).tags("aws:owner", "x")).await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _, _) =
        refused(valid_request(&client, &emulator, &instance).tags("k", "v".repeat(257))).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(emulator.users(&instance.id).is_empty());
}

#[tokio::test]
async fn the_user_limit_answers_limit_exceeded_which_the_sdk_retries_by_default() {
    let emulator = Emulator::start(Options {
        user_limit: 3,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    for name in ["one", "two", "three"] {
        valid_request(&client, &emulator, &instance)
            .username(name)
            .send()
            .await
            .unwrap();
    }
    let (code, status, message) =
        refused(valid_request(&client, &emulator, &instance).username("four")).await;
    assert_eq!((code.as_str(), status), ("LimitExceededException", 429));
    assert!(message.contains("limit"), "{message}");
    assert_eq!(emulator.users(&instance.id).len(), 3);

    // The limit is per instance.
    let other = emulator.create_instance("other", "SAML");
    valid_request(&client, &emulator, &other)
        .username("four")
        .send()
        .await
        .unwrap();

    // Worth knowing for callers: the SDK's standard retry classifies LimitExceededException as
    // throttling (aws-runtime THROTTLING_ERRORS) and retries it, so "no retry" needs a custom
    // retry classifier or max_attempts(1) on that call.
    let retrying = client_with_retries(&emulator, RetryConfig::standard().with_max_attempts(3));
    emulator.reset_call_counts();
    let error = valid_request(&retrying, &emulator, &instance)
        .username("five")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "LimitExceededException");
    assert_eq!(emulator.call_counts().get("CreateUser"), Some(&3));
}

#[tokio::test]
async fn create_instance_rules() {
    let emulator = start().await;
    let client = client(&emulator);
    let create = || {
        client
            .create_instance()
            .inbound_calls_enabled(true)
            .outbound_calls_enabled(true)
    };
    let error = create()
        .identity_management_type("SAML".into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&error),
        "InvalidRequestException",
        "SAML needs an alias"
    );
    let error = create()
        .identity_management_type("EXISTING_DIRECTORY".into())
        .instance_alias("dir")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&error),
        "InvalidRequestException",
        "a directory needs DirectoryId"
    );
    let error = create()
        .identity_management_type("SAML".into())
        .instance_alias("d-1234567890")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "InvalidRequestException");
    create()
        .identity_management_type("SAML".into())
        .instance_alias("taken")
        .send()
        .await
        .unwrap();
    let error = create()
        .identity_management_type("CONNECT_MANAGED".into())
        .instance_alias("taken")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&error),
        "InvalidRequestException",
        "aliases are unique"
    );
    let listed = client.list_instances().send().await.unwrap();
    assert_eq!(listed.instance_summary_list().len(), 1);
}
