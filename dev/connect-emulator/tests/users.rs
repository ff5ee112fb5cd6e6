//! The user lifecycle through aws-sdk-connect: create, read (describe, list, search), update,
//! tag, delete; instances and profiles.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_connect::types::{
    ControlPlaneTagFilter, PhoneType, StringComparisonType, StringCondition, TagCondition,
    UserIdentityInfo, UserPhoneConfig, UserSearchCriteria, UserSearchFilter,
};
use common::*;
use connect_emulator::UserSnapshot;

#[tokio::test]
async fn a_new_instance_has_the_default_profiles_and_describes_itself() {
    let emulator = start().await;
    let client = client(&emulator);
    let created = client
        .create_instance()
        .identity_management_type("SAML".into())
        .instance_alias("my-contact-centre")
        .inbound_calls_enabled(true)
        .outbound_calls_enabled(false)
        .send()
        .await
        .unwrap();
    let id = created.id().unwrap().to_owned();
    assert_eq!(
        created.arn(),
        Some(format!("arn:aws:connect:us-east-1:123456789012:instance/{id}").as_str())
    );

    let described = client
        .describe_instance()
        .instance_id(&id)
        .send()
        .await
        .unwrap();
    let instance = described.instance().unwrap();
    assert_eq!(
        instance.identity_management_type().unwrap().as_str(),
        "SAML"
    );
    assert_eq!(instance.instance_alias(), Some("my-contact-centre"));
    assert_eq!(instance.instance_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(instance.inbound_calls_enabled(), Some(true));
    assert_eq!(instance.outbound_calls_enabled(), Some(false));

    let security: BTreeSet<String> = client
        .list_security_profiles()
        .instance_id(&id)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(|p| p.name().unwrap().to_owned())
        .collect();
    assert_eq!(
        security,
        ["Admin", "Agent", "CallCenterManager", "QualityAnalyst"]
            .map(String::from)
            .into()
    );
    let routing = client
        .list_routing_profiles()
        .instance_id(&id)
        .send()
        .await
        .unwrap();
    let routing_names: Vec<_> = routing
        .routing_profile_summary_list()
        .iter()
        .map(|p| p.name().unwrap())
        .collect();
    assert_eq!(routing_names, ["Basic Routing Profile"]);
    let routing_arn = routing.routing_profile_summary_list()[0].arn().unwrap();
    assert!(routing_arn.starts_with(&format!("{}/routing-profile/", created.arn().unwrap())));

    // The profiles paginate too: two pages of two.
    let first = client
        .list_security_profiles()
        .instance_id(&id)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.security_profile_summary_list().len(), 2);
    assert!(first.next_token().is_some());

    let listed = client.list_instances().send().await.unwrap();
    assert_eq!(listed.instance_summary_list().len(), 1);
    assert_eq!(listed.instance_summary_list()[0].id(), Some(id.as_str()));

    client
        .delete_instance()
        .instance_id(&id)
        .send()
        .await
        .unwrap();
    let gone = client
        .describe_instance()
        .instance_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ResourceNotFoundException");
    let gone = client
        .list_users()
        .instance_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ResourceNotFoundException");
}

#[tokio::test]
async fn create_describe_update_and_delete_a_user() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let (agent, routing) = default_profiles(&emulator, &instance);
    let admin = emulator.security_profile_id(&instance.id, "Admin").unwrap();

    let created = client
        .create_user()
        .instance_id(&instance.id)
        .username("jane.doe@example.com")
        .identity_info(
            UserIdentityInfo::builder()
                .first_name("Jane")
                .last_name("Doe")
                .secondary_email("jane.doe@example.com")
                .build(),
        )
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::SoftPhone)
                .auto_accept(true)
                .after_contact_work_time_limit(30)
                .build(),
        )
        .security_profile_ids(&agent)
        .routing_profile_id(&routing)
        .tags("managed-by", "stack/Import")
        .send()
        .await
        .unwrap();
    let user_id = created.user_id().unwrap().to_owned();
    assert_eq!(
        created.user_arn(),
        Some(format!("{}/agent/{user_id}", instance.arn).as_str())
    );

    let user = client
        .describe_user()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    assert_eq!(user.username(), Some("jane.doe@example.com"));
    let info = user.identity_info().unwrap();
    assert_eq!(info.first_name(), Some("Jane"));
    assert_eq!(info.last_name(), Some("Doe"));
    assert_eq!(info.email(), None);
    assert_eq!(info.secondary_email(), Some("jane.doe@example.com"));
    let phone = user.phone_config().unwrap();
    assert_eq!(phone.phone_type(), &PhoneType::SoftPhone);
    assert!(phone.auto_accept());
    assert_eq!(phone.after_contact_work_time_limit(), 30);
    assert_eq!(user.security_profile_ids(), std::slice::from_ref(&agent));
    assert_eq!(user.routing_profile_id(), Some(routing.as_str()));
    assert_eq!(
        user.tags().unwrap().get("managed-by").map(String::as_str),
        Some("stack/Import")
    );
    assert!(user.last_modified_time().is_some());

    // Updates, each replacing its part of the user.
    client
        .update_user_identity_info()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .identity_info(names("Janet", "Doe-Smith"))
        .send()
        .await
        .unwrap();
    client
        .update_user_phone_config()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::DeskPhone)
                .desk_phone_number("+14155550100")
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
        .update_user_security_profiles()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .security_profile_ids(&agent)
        .security_profile_ids(&admin)
        .send()
        .await
        .unwrap();
    let other_routing = emulator.add_routing_profile(&instance.id, "Sales");
    client
        .update_user_routing_profile()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .routing_profile_id(&other_routing)
        .send()
        .await
        .unwrap();

    let stored = emulator.user(&instance.id, "jane.doe@example.com").unwrap();
    assert_eq!(
        stored,
        UserSnapshot {
            id: user_id.clone(),
            arn: created.user_arn().unwrap().to_owned(),
            username: "jane.doe@example.com".into(),
            first_name: Some("Janet".into()),
            last_name: Some("Doe-Smith".into()),
            // UpdateUserIdentityInfo replaces the whole IdentityInfo.
            email: None,
            secondary_email: None,
            phone_type: "DESK_PHONE".into(),
            auto_accept: false,
            after_contact_work_time_limit: 0,
            desk_phone_number: Some("+14155550100".into()),
            security_profile_ids: vec![agent.clone(), admin.clone()],
            routing_profile_id: other_routing.clone(),
            tags: BTreeMap::from([("managed-by".into(), "stack/Import".into())]),
            directory_user_id: None,
        }
    );

    client
        .delete_user()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .send()
        .await
        .unwrap();
    assert!(emulator.users(&instance.id).is_empty());
    let again = client
        .delete_user()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&again), "ResourceNotFoundException");
    let describe = client
        .describe_user()
        .instance_id(&instance.id)
        .user_id(&user_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&describe), "ResourceNotFoundException");
}

#[tokio::test]
async fn list_users_pages_through_every_user_exactly_once() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let mut expected = BTreeSet::new();
    for i in 0..23 {
        let username = format!("user{i:02}");
        create_user(&client, &emulator, &instance, &username).await;
        expected.insert(username);
    }

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_users()
            .instance_id(&instance.id)
            .max_results(5)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.user_summary_list().len() <= 5);
        seen.extend(
            page.user_summary_list()
                .iter()
                .map(|u| u.username().unwrap().to_owned()),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23);
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);

    // The SDK paginator with the default page size (100) sees the same set in one page.
    let all = client
        .list_users()
        .instance_id(&instance.id)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].user_summary_list().len(), 23);

    let bad = client
        .list_users()
        .instance_id(&instance.id)
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "InvalidParameterException");
    let bad = client
        .list_users()
        .instance_id(&instance.id)
        .max_results(1001)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "InvalidParameterException");
}

#[tokio::test]
async fn deleting_between_pages_neither_repeats_nor_skips_the_others() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    for i in 0..6 {
        create_user(&client, &emulator, &instance, &format!("user{i}")).await;
    }
    let first = client
        .list_users()
        .instance_id(&instance.id)
        .max_results(3)
        .send()
        .await
        .unwrap();
    // Delete what the first page returned, then continue.
    for user in first.user_summary_list() {
        client
            .delete_user()
            .instance_id(&instance.id)
            .user_id(user.id().unwrap())
            .send()
            .await
            .unwrap();
    }
    let second = client
        .list_users()
        .instance_id(&instance.id)
        .max_results(3)
        .set_next_token(first.next_token().map(str::to_owned))
        .send()
        .await
        .unwrap();
    assert_eq!(second.user_summary_list().len(), 3);
    assert_eq!(second.next_token(), None);
    let remaining: BTreeSet<_> = emulator
        .users(&instance.id)
        .into_iter()
        .map(|u| u.id)
        .collect();
    let listed: BTreeSet<_> = second
        .user_summary_list()
        .iter()
        .map(|u| u.id().unwrap().to_owned())
        .collect();
    assert_eq!(listed, remaining);
}

#[tokio::test]
async fn search_users_filters_by_tag_and_criteria_and_reports_acw_in_milliseconds() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let (agent, routing) = default_profiles(&emulator, &instance);
    for i in 0..7 {
        client
            .create_user()
            .instance_id(&instance.id)
            .username(format!("managed{i}"))
            .identity_info(names("Managed", &format!("User{i}")))
            .phone_config(
                UserPhoneConfig::builder()
                    .phone_type(PhoneType::SoftPhone)
                    .after_contact_work_time_limit(45)
                    .build(),
            )
            .security_profile_ids(&agent)
            .routing_profile_id(&routing)
            .tags("owner", "stack-a/Import")
            .send()
            .await
            .unwrap();
    }
    emulator.add_user(
        &instance.id,
        UserSnapshot::new("foreign").with_names("Hand", "Made"),
    );
    emulator.add_user(
        &instance.id,
        UserSnapshot::new("other-stack").with_tag("owner", "stack-b/Import"),
    );

    // Tag filter, paged by 3.
    let tag_filter = UserSearchFilter::builder()
        .tag_filter(
            ControlPlaneTagFilter::builder()
                .tag_condition(
                    TagCondition::builder()
                        .tag_key("owner")
                        .tag_value("stack-a/Import")
                        .build(),
                )
                .build(),
        )
        .build();
    let pages = client
        .search_users()
        .instance_id(&instance.id)
        .search_filter(tag_filter.clone())
        .max_results(3)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].approximate_total_count(), Some(7));
    let found: Vec<_> = pages.iter().flat_map(|p| p.users()).collect();
    let usernames: BTreeSet<_> = found.iter().map(|u| u.username().unwrap()).collect();
    assert_eq!(
        usernames,
        (0..7)
            .map(|i| format!("managed{i}"))
            .collect::<BTreeSet<_>>()
            .iter()
            .map(String::as_str)
            .collect()
    );
    let one = found[0];
    assert_eq!(
        one.phone_config().unwrap().after_contact_work_time_limit(),
        45_000
    );
    assert_eq!(one.identity_info().unwrap().first_name(), Some("Managed"));
    assert_eq!(one.security_profile_ids(), std::slice::from_ref(&agent));
    assert_eq!(one.routing_profile_id(), Some(routing.as_str()));
    assert_eq!(
        one.tags().unwrap().get("owner").map(String::as_str),
        Some("stack-a/Import")
    );

    // No filter: every user, foreign ones included.
    let everyone = client
        .search_users()
        .instance_id(&instance.id)
        .send()
        .await
        .unwrap();
    assert_eq!(everyone.users().len(), 9);

    // Criteria: an exact username, a prefix, a security profile.
    let exact = client
        .search_users()
        .instance_id(&instance.id)
        .search_criteria(
            UserSearchCriteria::builder()
                .string_condition(
                    StringCondition::builder()
                        .field_name("Username")
                        .value("foreign")
                        .comparison_type(StringComparisonType::Exact)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(exact.users().len(), 1);
    assert_eq!(exact.users()[0].username(), Some("foreign"));
    let or_criteria = UserSearchCriteria::builder()
        .or_conditions(
            UserSearchCriteria::builder()
                .string_condition(
                    StringCondition::builder()
                        .field_name("Username")
                        .value("other")
                        .comparison_type(StringComparisonType::StartsWith)
                        .build(),
                )
                .build(),
        )
        .or_conditions(
            UserSearchCriteria::builder()
                .string_condition(
                    StringCondition::builder()
                        .field_name("LastName")
                        .value("user3")
                        .comparison_type(StringComparisonType::Exact)
                        .build(),
                )
                .build(),
        )
        .build();
    let either = client
        .search_users()
        .instance_id(&instance.id)
        .search_criteria(or_criteria)
        .send()
        .await
        .unwrap();
    let either: BTreeSet<_> = either
        .users()
        .iter()
        .map(|u| u.username().unwrap())
        .collect();
    assert_eq!(either, BTreeSet::from(["managed3", "other-stack"]));

    // Filter and criteria together: tag AND name.
    let both = client
        .search_users()
        .instance_id(&instance.id)
        .search_filter(tag_filter)
        .search_criteria(
            UserSearchCriteria::builder()
                .string_condition(
                    StringCondition::builder()
                        .field_name("Username")
                        .value("managed5")
                        .comparison_type(StringComparisonType::Exact)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(both.users().len(), 1);
    assert_eq!(both.users()[0].username(), Some("managed5"));
}

#[tokio::test]
async fn tags_are_added_removed_and_listed_on_users() {
    let emulator = start().await;
    let client = client(&emulator);
    let instance = saml_instance(&emulator).await;
    let foreign = emulator.add_user(&instance.id, UserSnapshot::new("someone"));
    assert!(foreign.tags.is_empty());

    client
        .tag_resource()
        .resource_arn(&foreign.arn)
        .tags("owner", "stack/Import")
        .tags("fingerprint", "abc123")
        .send()
        .await
        .unwrap();
    let listed = client
        .list_tags_for_resource()
        .resource_arn(&foreign.arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.tags().unwrap().clone(),
        std::collections::HashMap::from([
            ("owner".to_string(), "stack/Import".to_string()),
            ("fingerprint".to_string(), "abc123".to_string())
        ])
    );
    client
        .untag_resource()
        .resource_arn(&foreign.arn)
        .tag_keys("fingerprint")
        .send()
        .await
        .unwrap();
    assert_eq!(
        emulator.user(&instance.id, "someone").unwrap().tags,
        BTreeMap::from([("owner".to_string(), "stack/Import".to_string())])
    );

    // Instances carry tags too; unknown ARNs are not found; malformed ones are refused.
    client
        .tag_resource()
        .resource_arn(&instance.arn)
        .tags("env", "test")
        .send()
        .await
        .unwrap();
    let instance_tags = client
        .list_tags_for_resource()
        .resource_arn(&instance.arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        instance_tags.tags().unwrap().get("env").map(String::as_str),
        Some("test")
    );
    let missing = format!(
        "{}/agent/00000000-0000-4000-8000-000000000000",
        instance.arn
    );
    let error = client
        .tag_resource()
        .resource_arn(&missing)
        .tags("k", "v")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    let error = client
        .list_tags_for_resource()
        .resource_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterException");
    let error = client
        .tag_resource()
        .resource_arn(&foreign.arn)
        .tags("aws:reserved", "v")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterException");
}
