//! The resource against the Connect emulator and moto: each test checks the response document
//! CloudFormation would receive and the Connect state left behind.

mod support;

use std::collections::BTreeSet;

use connect_emulator::UserSnapshot;
use serde_json::json;
use support::*;

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

#[tokio::test]
async fn create_update_delete_follow_the_groups() {
    let w = World::new("lifecycle").await;
    let supervisor_routing = w
        .emulator
        .add_routing_profile(&w.instance.id, "Supervisor Routing");
    let foreign = w.emulator.add_user(
        &w.instance.id,
        UserSnapshot::new("ops@example.com").with_names("Ops", "Team"),
    );
    let agents = w.group("Agents").await;
    let supervisors = w.group("Supervisors").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    let bob = w.user("bob", "bob@example.com", "Bob", "Stone").await;
    let sam = w.user("sam", "sam@example.com", "Sam", "Lee").await;
    w.join(&agents, &jane).await;
    let bob_in_agents = w.join(&agents, &bob).await;
    w.join(&agents, &sam).await;
    w.join(&supervisors, &sam).await;
    let props = w.props(json!({
        "AutoAccept": "true",
        "AfterContactWorkTimeLimit": "30",
        "GroupRules": [{"Group": "Supervisors", "SecurityProfiles": ["callcentermanager", "Agent"], "RoutingProfile": "Supervisor Routing"}],
    }));
    let resource = w.resource();

    // Create
    let created = w.send(&resource, w.create_event(&props)).await;
    assert_eq!(counts(&created), [3, 0, 0, 0, 0], "{created:#}");
    assert_eq!(problems(&created), "none");
    assert_eq!(created["PhysicalResourceId"], w.physical_id());
    assert_eq!(
        w.usernames(),
        [
            "bob@example.com",
            "jane@example.com",
            "ops@example.com",
            "sam@example.com"
        ]
    );
    let jane_user = w.user_named("jane@example.com");
    assert_eq!(
        (
            jane_user.first_name.as_deref(),
            jane_user.last_name.as_deref()
        ),
        (Some("Jane"), Some("Doe"))
    );
    assert_eq!(
        jane_user.secondary_email.as_deref(),
        Some("jane@example.com")
    );
    assert_eq!(
        jane_user.email, None,
        "SAML users get the address as SecondaryEmail only"
    );
    assert_eq!(jane_user.directory_user_id, None);
    assert_eq!(
        jane_user.security_profile_ids,
        [w.security_profile("Agent")]
    );
    assert_eq!(
        jane_user.routing_profile_id,
        w.routing_profile("Basic Routing Profile")
    );
    assert_eq!(
        (jane_user.phone_type.as_str(), jane_user.auto_accept),
        ("SOFT_PHONE", true)
    );
    assert_eq!(jane_user.after_contact_work_time_limit, 30);
    assert!(w.owned(&jane_user), "{:?}", jane_user.tags);
    let sam_user = w.user_named("sam@example.com");
    assert_eq!(
        set(&sam_user.security_profile_ids),
        set(&[
            w.security_profile("CallCenterManager"),
            w.security_profile("Agent")
        ])
    );
    assert_eq!(sam_user.routing_profile_id, supervisor_routing);
    assert_eq!(w.calls("CreateUser"), 3);

    // Update after group changes: Bob leaves, Kim joins, Jane's family name changes (moto has
    // no UpdateUser: the directory user is recreated with the same email), the rule changes.
    w.leave(&bob_in_agents).await;
    let kim = w.user("kim", "kim@example.com", "Kim", "Park").await;
    w.join(&agents, &kim).await;
    w.delete_user(&jane).await;
    let jane_again = w
        .user("jane.smith", "jane@example.com", "Jane", "Smith")
        .await;
    w.join(&agents, &jane_again).await;
    let new_props = w.props(json!({
        "AutoAccept": "true",
        "AfterContactWorkTimeLimit": "30",
        "GroupRules": [{"Group": "Supervisors", "SecurityProfiles": ["QualityAnalyst"], "RoutingProfile": "Supervisor Routing"}],
    }));
    let updated = w
        .send(
            &resource,
            w.update_event(&w.physical_id(), &new_props, &props),
        )
        .await;
    assert_eq!(counts(&updated), [1, 2, 1, 0, 0], "{updated:#}");
    assert_eq!(updated["PhysicalResourceId"], w.physical_id());
    assert_eq!(
        w.usernames(),
        [
            "jane@example.com",
            "kim@example.com",
            "ops@example.com",
            "sam@example.com"
        ]
    );
    let jane_user = w.user_named("jane@example.com");
    assert_eq!(jane_user.last_name.as_deref(), Some("Smith"));
    assert_eq!(
        w.user_named("sam@example.com").security_profile_ids,
        [w.security_profile("QualityAnalyst")]
    );
    assert_eq!(
        w.user_named("sam@example.com").routing_profile_id,
        supervisor_routing
    );
    assert!(w.owned(&w.user_named("kim@example.com")));

    // A no-op reconcile: no write at all, and bulk reads only.
    w.emulator.reset_call_counts();
    let again = w
        .send(
            &resource,
            w.update_event(&w.physical_id(), &new_props, &new_props),
        )
        .await;
    assert_eq!(counts(&again), [0, 0, 0, 3, 0], "{again:#}");
    assert_eq!(
        w.writes(),
        Default::default(),
        "unchanged users get no write"
    );
    assert_eq!(
        (
            w.calls("DescribeUser"),
            w.calls("SearchUsers"),
            w.calls("ListUsers")
        ),
        (0, 1, 1)
    );

    // Delete: this resource's users go, the foreign one stays as it was.
    let deleted = w
        .send(&resource, w.delete_event(&w.physical_id(), &new_props))
        .await;
    assert_eq!(status(&deleted), "SUCCESS", "{deleted:#}");
    assert_eq!(w.users(), [foreign]);
}

#[tokio::test]
async fn a_retried_create_changes_nothing_and_duplicates_nothing() {
    let w = World::new("retried-create").await;
    let agents = w.group("Agents").await;
    for name in ["ann", "ben"] {
        let id = w
            .user(name, &format!("{name}@example.com"), name, "Tester")
            .await;
        w.join(&agents, &id).await;
    }
    let resource = w.resource();
    let event = w.create_event(&w.props(json!({})));
    let first = w.send(&resource, event.clone()).await;
    assert_eq!(counts(&first), [2, 0, 0, 0, 0]);
    let before = w.users();
    let second = w.send(&resource, event).await;
    assert_eq!(counts(&second), [0, 0, 0, 2, 0], "{second:#}");
    assert_eq!(second["PhysicalResourceId"], first["PhysicalResourceId"]);
    assert_eq!(w.users(), before);
    assert_eq!(w.calls("CreateUser"), 2);
}

#[tokio::test]
async fn foreign_users_are_reported_untouched_or_adopted() {
    let w = World::new("foreign").await;
    let foreign = w.emulator.add_user(
        &w.instance.id,
        UserSnapshot::new("jane@example.com")
            .with_names("J", "D")
            .with_tag("team", "ops"),
    );
    let agents = w.group("Agents").await;
    for (name, family) in [("jane", "Doe"), ("bob", "Stone")] {
        let id = w
            .user(name, &format!("{name}@example.com"), name, family)
            .await;
        w.join(&agents, &id).await;
    }
    let resource = w.resource();
    let props = w.props(json!({}));
    let created = w.send(&resource, w.create_event(&props)).await;
    assert_eq!(counts(&created), [1, 0, 0, 0, 1], "{created:#}");
    assert!(
        problems(&created).contains("jane@example.com")
            && problems(&created).contains("AdoptExisting"),
        "{created:#}"
    );
    assert_eq!(w.user_named("jane@example.com"), foreign, "untouched");

    let adopting = w.props(json!({"AdoptExisting": "true"}));
    let adopted = w
        .send(
            &resource,
            w.update_event(&w.physical_id(), &adopting, &props),
        )
        .await;
    assert_eq!(counts(&adopted), [0, 1, 0, 1, 0], "{adopted:#}");
    let jane = w.user_named("jane@example.com");
    assert!(w.owned(&jane), "{:?}", jane.tags);
    assert_eq!(
        jane.tags.get("team").map(String::as_str),
        Some("ops"),
        "other tags kept"
    );
    assert_eq!(
        (jane.first_name.as_deref(), jane.last_name.as_deref()),
        (Some("jane"), Some("Doe"))
    );
    assert_eq!(jane.secondary_email.as_deref(), Some("jane@example.com"));
    assert_eq!(jane.id, foreign.id, "the same user, not a new one");

    // Managed from then on: the delete removes it too.
    let deleted = w
        .send(&resource, w.delete_event(&w.physical_id(), &adopting))
        .await;
    assert_eq!(status(&deleted), "SUCCESS");
    assert!(w.users().is_empty(), "{:?}", w.usernames());
}

/// AdoptExisting claims only users no connect-sso stack owns: a user tagged by another stack (or
/// another import of this stack) is never re-tagged, edited or deleted, and is reported.
#[tokio::test]
async fn adopt_existing_never_takes_another_stacks_users() {
    let w = World::new("adopt-other-stack").await;
    let other_stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/other/0c1d-2e3f";
    let theirs = w.emulator.add_user(
        &w.instance.id,
        UserSnapshot::new("jane@example.com")
            .with_names("J", "D")
            .with_tag(custom_resource::OWNER_TAG_STACK_ID, other_stack)
            .with_tag(custom_resource::OWNER_TAG_LOGICAL_ID, "Agents"),
    );
    let sibling = w.emulator.add_user(
        &w.instance.id,
        UserSnapshot::new("bob@example.com")
            .with_names("B", "S")
            .with_tag(custom_resource::OWNER_TAG_STACK_ID, &w.stack_id)
            .with_tag(custom_resource::OWNER_TAG_LOGICAL_ID, "OtherImport"),
    );
    let agents = w.group("Agents").await;
    for (name, family) in [("jane", "Doe"), ("bob", "Stone"), ("ann", "Lee")] {
        let id = w
            .user(name, &format!("{name}@example.com"), name, family)
            .await;
        w.join(&agents, &id).await;
    }
    let resource = w.resource();
    let adopting = w.props(json!({"AdoptExisting": "true"}));
    let created = w.send(&resource, w.create_event(&adopting)).await;
    assert_eq!(status(&created), "SUCCESS", "{created:#}");
    assert_eq!(counts(&created), [1, 0, 0, 0, 2], "{created:#}");
    let problems = problems(&created);
    assert!(
        problems.contains("jane@example.com")
            && problems.contains(other_stack)
            && problems.contains("bob@example.com")
            && problems.contains("OtherImport"),
        "{problems}"
    );
    assert_eq!(
        w.user_named("jane@example.com"),
        theirs,
        "not re-tagged or edited"
    );
    assert_eq!(
        w.user_named("bob@example.com"),
        sibling,
        "not re-tagged or edited"
    );
    assert_eq!(
        w.calls("TagResource"),
        0,
        "nobody claimed: {:?}",
        w.writes()
    );

    // Nor deleted, by this stack's Delete.
    let deleted = w
        .send(&resource, w.delete_event(&w.physical_id(), &adopting))
        .await;
    assert_eq!(status(&deleted), "SUCCESS", "{deleted:#}");
    assert_eq!(w.usernames(), ["bob@example.com", "jane@example.com"]);
    assert_eq!(w.user_named("jane@example.com"), theirs);
    assert_eq!(w.user_named("bob@example.com"), sibling);
}

#[tokio::test]
// assumption: connect-username-case-insensitive
async fn a_case_only_mismatch_is_reported_never_matched() {
    let w = World::new("case-mismatch").await;
    let foreign = w.emulator.add_user(
        &w.instance.id,
        UserSnapshot::new("Jane@Example.com").with_names("Jane", "Doe"),
    );
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    let bob = w.user("bob", "bob@example.com", "Bob", "Stone").await;
    w.join(&agents, &jane).await;
    w.join(&agents, &bob).await;
    let resource = w.resource();
    let response = w
        .send(
            &resource,
            w.create_event(&w.props(json!({"AdoptExisting": "true"}))),
        )
        .await;
    assert_eq!(counts(&response), [1, 0, 0, 0, 1], "{response:#}");
    let problems = problems(&response);
    assert!(
        problems.contains("jane@example.com")
            && problems.contains("Jane@Example.com")
            && problems.contains("case"),
        "{problems}"
    );
    assert_eq!(w.user_named("Jane@Example.com"), foreign);
    assert_eq!(w.usernames(), ["Jane@Example.com", "bob@example.com"]);
    assert_eq!(
        w.calls("CreateUser"),
        1,
        "no attempt to create the case variant"
    );
}

#[tokio::test]
async fn invalid_directory_users_are_skipped_and_reported_without_failing() {
    let w = World::new("invalid-users").await;
    let agents = w.group("Agents").await;
    let members = [
        w.user_with_email("nopri", Some(("nopri@example.com", false)), "No", "Primary")
            .await,
        w.user_with_email("noemail", None, "No", "Email").await,
        w.user("plus", "first+tag@example.com", "Plus", "Sign")
            .await,
        w.user("ok", "ok@example.com", "Okay", "User").await,
    ];
    for member in &members {
        w.join(&agents, member).await;
    }
    let resource = w.resource();
    let response = w.send(&resource, w.create_event(&w.props(json!({})))).await;
    assert_eq!(counts(&response), [1, 0, 0, 0, 3], "{response:#}");
    let problems = problems(&response);
    assert!(
        problems.contains("nopri: has no primary email"),
        "{problems}"
    );
    assert!(
        problems.contains("noemail: has no primary email"),
        "{problems}"
    );
    assert!(
        problems.contains("first+tag@example.com: is not a valid Connect username"),
        "{problems}"
    );
    assert_eq!(w.usernames(), ["ok@example.com"]);
}

#[tokio::test]
async fn the_user_name_attribute_gives_the_username_case_included() {
    let w = World::new("username-attribute").await;
    let agents = w.group("Agents").await;
    let jane = w.user("Jane.Doe", "jane@example.com", "Jane", "Doe").await;
    let spaced = w.user("Bob Stone", "bob@example.com", "Bob", "Stone").await;
    w.join(&agents, &jane).await;
    w.join(&agents, &spaced).await;
    let resource = w.resource();
    let response = w
        .send(
            &resource,
            w.create_event(&w.props(json!({"UsernameAttribute": "userName"}))),
        )
        .await;
    assert_eq!(counts(&response), [1, 0, 0, 0, 1], "{response:#}");
    assert!(
        problems(&response).contains("Bob Stone: is not a valid Connect username"),
        "{response:#}"
    );
    assert_eq!(w.usernames(), ["Jane.Doe"]);
    assert_eq!(
        w.user_named("Jane.Doe").secondary_email.as_deref(),
        Some("jane@example.com")
    );
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_writes_nothing() {
    let w = World::new("dry-run").await;
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    let bob = w.user("bob", "bob@example.com", "Bob", "Stone").await;
    w.join(&agents, &jane).await;
    let bob_membership = w.join(&agents, &bob).await;
    let resource = w.resource();
    let dry = w.props(json!({"DryRun": "true"}));
    let response = w.send(&resource, w.create_event(&dry)).await;
    assert_eq!(counts(&response), [2, 0, 0, 0, 0], "{response:#}");
    assert_eq!(response["Data"]["DryRun"], "true");
    assert_eq!(
        response["Data"]["Plan"],
        "create bob@example.com; create jane@example.com"
    );
    assert!(w.users().is_empty());
    assert_eq!(w.writes(), Default::default());

    // On a real state: a leaver would be deleted, but stays.
    let real = w.props(json!({}));
    w.send(&resource, w.update_event(&w.physical_id(), &real, &dry))
        .await;
    w.leave(&bob_membership).await;
    w.emulator.reset_call_counts();
    let response = w
        .send(&resource, w.update_event(&w.physical_id(), &dry, &real))
        .await;
    assert_eq!(counts(&response), [0, 0, 1, 1, 0], "{response:#}");
    assert_eq!(response["Data"]["Plan"], "delete bob@example.com");
    assert_eq!(w.usernames(), ["bob@example.com", "jane@example.com"]);
    assert_eq!(w.writes(), Default::default());
}

#[tokio::test]
async fn an_instance_that_is_not_saml_is_refused() {
    let w = World::with_options("not-saml", Default::default(), "CONNECT_MANAGED").await;
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    w.join(&agents, &jane).await;
    let response = w
        .send(&w.resource(), w.create_event(&w.props(json!({}))))
        .await;
    assert_eq!(status(&response), "FAILED");
    let reason = reason(&response);
    assert!(
        reason.contains("InstanceId")
            && reason.contains("CONNECT_MANAGED")
            && reason.contains("SAML"),
        "{reason}"
    );
    assert!(w.users().is_empty());
    assert_eq!(w.writes(), Default::default());
}

#[tokio::test]
async fn unknown_profiles_and_groups_fail_naming_the_property() {
    let w = World::new("bad-names").await;
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    w.join(&agents, &jane).await;
    let resource = w.resource();
    let response = w
        .send(
            &resource,
            w.create_event(&w.props(json!({"SecurityProfiles": ["Agents"]}))),
        )
        .await;
    assert_eq!(status(&response), "FAILED");
    assert!(
        reason(&response).contains("SecurityProfiles")
            && reason(&response)
                .contains("available: Admin, Agent, CallCenterManager, QualityAnalyst"),
        "{response:#}"
    );
    let response = w
        .send(
            &resource,
            w.create_event(&w.props(json!({"RoutingProfile": "Nope"}))),
        )
        .await;
    assert!(
        reason(&response).contains("RoutingProfile")
            && reason(&response).contains("Basic Routing Profile"),
        "{response:#}"
    );
    let response = w
        .send(
            &resource,
            w.create_event(&w.props(json!({"Groups": ["Agents", "Nobody"]}))),
        )
        .await;
    assert_eq!(status(&response), "FAILED");
    assert!(
        reason(&response).contains("Groups[1]") && reason(&response).contains("\"Nobody\""),
        "{response:#}"
    );
    let response = w
        .send(
            &resource,
            w.create_event(&w.props(json!({"PhoneType": "VOIP"}))),
        )
        .await;
    assert!(
        reason(&response).contains("PhoneType") && reason(&response).contains("SOFT_PHONE"),
        "{response:#}"
    );
    assert!(w.users().is_empty());
}

#[tokio::test]
async fn groups_can_be_given_by_id() {
    let w = World::new("group-by-id").await;
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    w.join(&agents, &jane).await;
    let response = w
        .send(
            &w.resource(),
            w.create_event(&w.props(json!({"Groups": [agents]}))),
        )
        .await;
    assert_eq!(counts(&response), [1, 0, 0, 0, 0], "{response:#}");
}

#[tokio::test]
async fn a_delete_of_an_id_this_resource_did_not_make_touches_nothing() {
    let w = World::new("unknown-delete").await;
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    w.join(&agents, &jane).await;
    let resource = w.resource();
    let props = w.props(json!({}));
    w.send(&resource, w.create_event(&props)).await;
    let before = w.users();
    w.emulator.reset_call_counts();
    let other_stack = format!("{}/another-stack-guid/{LOGICAL_ID}", w.instance.id);
    let other_resource = format!("{}/{}/OtherImport", w.instance.id, w.stack_guid);
    for id in [
        "not-ours",
        other_stack.as_str(),
        other_resource.as_str(),
        "custom-resource:create-failed:Users:r1",
    ] {
        let response = w.send(&resource, w.delete_event(id, &props)).await;
        assert_eq!(status(&response), "SUCCESS", "{id}: {response:#}");
        assert_eq!(response["PhysicalResourceId"], id);
    }
    assert_eq!(
        w.emulator.call_counts(),
        Default::default(),
        "not a single call"
    );
    assert_eq!(w.users(), before);

    // An instance already gone: success.
    w.emulator.delete_instance(&w.instance.id);
    let response = w
        .send(&resource, w.delete_event(&w.physical_id(), &props))
        .await;
    assert_eq!(status(&response), "SUCCESS", "{response:#}");
}

#[tokio::test]
async fn delete_with_retain_keeps_the_users() {
    let w = World::new("retain").await;
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    let bob = w.user("bob", "bob@example.com", "Bob", "Stone").await;
    w.join(&agents, &jane).await;
    let bob_membership = w.join(&agents, &bob).await;
    let resource = w.resource();
    let props = w.props(json!({"OnUserRemoved": "Retain"}));
    w.send(&resource, w.create_event(&props)).await;
    w.leave(&bob_membership).await;
    let response = w
        .send(&resource, w.update_event(&w.physical_id(), &props, &props))
        .await;
    assert_eq!(counts(&response), [0, 0, 0, 1, 0]);
    assert_eq!(response["Data"]["Retained"], "1");
    let response = w
        .send(&resource, w.delete_event(&w.physical_id(), &props))
        .await;
    assert_eq!(status(&response), "SUCCESS");
    assert_eq!(w.usernames(), ["bob@example.com", "jane@example.com"]);
}

#[tokio::test]
async fn another_instance_is_a_replacement_and_the_cleanup_delete_empties_the_old_one() {
    let w = World::new("replacement").await;
    let agents = w.group("Agents").await;
    let jane = w.user("jane", "jane@example.com", "Jane", "Doe").await;
    w.join(&agents, &jane).await;
    let resource = w.resource();
    let old_props = w.props(json!({}));
    let created = w.send(&resource, w.create_event(&old_props)).await;
    let old_id = created["PhysicalResourceId"].as_str().unwrap().to_owned();

    let second = w.emulator.create_instance("it-replacement-2", "SAML");
    let new_props = w.props(json!({"InstanceId": second.arn}));
    let updated = w
        .send(&resource, w.update_event(&old_id, &new_props, &old_props))
        .await;
    assert_eq!(counts(&updated), [1, 0, 0, 0, 0], "{updated:#}");
    let new_id = updated["PhysicalResourceId"].as_str().unwrap();
    assert_eq!(
        new_id,
        format!("{}/{}/{LOGICAL_ID}", second.id, w.stack_guid)
    );
    assert_eq!(
        w.usernames(),
        ["jane@example.com"],
        "the old instance is untouched by the update"
    );
    assert_eq!(w.emulator.users(&second.id).len(), 1);

    let cleanup = w.send(&resource, w.delete_event(&old_id, &old_props)).await;
    assert_eq!(status(&cleanup), "SUCCESS", "{cleanup:#}");
    assert!(w.users().is_empty());
    assert_eq!(
        w.emulator.users(&second.id).len(),
        1,
        "the new instance keeps its users"
    );
}

#[tokio::test]
async fn the_identity_store_defaults_to_the_identity_center_instances() {
    let w = World::new("default-store").await;
    let sso = aws_sdk_ssoadmin::Client::new(&w.sdk);
    let listed = sso.list_instances().send().await.unwrap();
    let store = listed.instances()[0]
        .identity_store_id()
        .unwrap()
        .to_owned();
    let group_name = format!("Agents-{}", w.stack_guid);
    let identity = &w.identity;
    let group = identity
        .create_group()
        .identity_store_id(&store)
        .display_name(&group_name)
        .send()
        .await
        .unwrap();
    let email = format!("{}@example.com", w.stack_guid);
    let user = identity
        .create_user()
        .identity_store_id(&store)
        .user_name(&email)
        .display_name("Default Store")
        .name(
            aws_sdk_identitystore::types::Name::builder()
                .given_name("Default")
                .family_name("Store")
                .build(),
        )
        .emails(
            aws_sdk_identitystore::types::Email::builder()
                .value(&email)
                .primary(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    identity
        .create_group_membership()
        .identity_store_id(&store)
        .group_id(group.group_id())
        .member_id(aws_sdk_identitystore::types::MemberId::UserId(
            user.user_id().to_owned(),
        ))
        .send()
        .await
        .unwrap();
    let mut props = w.props(json!({"Groups": [group_name], "IdentityCenterRegion": "us-east-1"}));
    props.as_object_mut().unwrap().remove("IdentityStoreId");
    let response = w.send(&w.resource(), w.create_event(&props)).await;
    assert_eq!(counts(&response), [1, 0, 0, 0, 0], "{response:#}");
    assert_eq!(w.usernames(), [email]);
}

/// A Delete whose DeleteUser is refused every time answers FAILED naming who was not deleted
/// (decided from the typed outcome of each delete, not from the wording of a problem), and
/// leaves those users in place.
#[tokio::test]
async fn a_delete_that_keeps_failing_answers_failed_naming_who_was_not_deleted() {
    let w = World::new("delete-refused").await;
    let agents = w.group("Agents").await;
    for name in ["ann", "bob", "cy"] {
        let id = w
            .user(name, &format!("{name}@example.com"), name, "Tester")
            .await;
        w.join(&agents, &id).await;
    }
    let resource = w.resource();
    let props = w.props(json!({}));
    let created = w.send(&resource, w.create_event(&props)).await;
    assert_eq!(counts(&created), [3, 0, 0, 0, 0], "{created:#}");

    w.emulator.refuse("DeleteUser");
    let deleted = w
        .send(&resource, w.delete_event(&w.physical_id(), &props))
        .await;
    assert_eq!(status(&deleted), "FAILED", "{deleted:#}");
    let reason = reason(&deleted);
    assert!(
        reason.contains("3 users this resource created could not be deleted")
            && ["ann", "bob", "cy"]
                .iter()
                .all(|name| reason.contains(&format!("{name}@example.com"))),
        "{reason}"
    );
    assert_eq!(w.users().len(), 3, "nothing deleted: {:?}", w.usernames());
    assert!(w.calls("DeleteUser") >= 3);
}

/// Every Connect listing crosses page boundaries: pages of two (the emulator's `page_size`,
/// whatever MaxResults asks), five profiles of each kind named, five users of someone else's
/// beside the five of the import. Reading only the first page of any listing shows: a profile
/// not found, users of the import not seen (created again, refused as duplicates), or users left
/// behind by the Delete.
#[tokio::test]
async fn every_connect_listing_is_followed_across_pages() {
    let w = World::with_options(
        "connect-pages",
        connect_emulator::Options {
            page_size: Some(2),
            ..connect_emulator::Options::default()
        },
        "SAML",
    )
    .await;
    let security: Vec<String> = (1..=5).map(|n| format!("Paged Security {n}")).collect();
    for name in &security {
        w.emulator.add_security_profile(&w.instance.id, name);
    }
    for n in 1..=5 {
        w.emulator
            .add_routing_profile(&w.instance.id, &format!("Paged Routing {n}"));
    }
    let foreign: Vec<UserSnapshot> = (0..5)
        .map(|n| {
            w.emulator.add_user(
                &w.instance.id,
                UserSnapshot::new(&format!("someone{n}@example.com")).with_names("Some", "One"),
            )
        })
        .collect();
    let agents = w.group("Agents").await;
    for n in 0..5 {
        let name = format!("paged{n}");
        let id = w
            .user(&name, &format!("{name}@example.com"), &name, "Tester")
            .await;
        w.join(&agents, &id).await;
    }
    let props = w.props(json!({
        "SecurityProfiles": security,
        "RoutingProfile": "Paged Routing 5",
    }));
    let resource = w.resource();

    let created = w.send(&resource, w.create_event(&props)).await;
    assert_eq!(counts(&created), [5, 0, 0, 0, 0], "{created:#}");
    let wanted: BTreeSet<String> = security
        .iter()
        .map(|name| w.security_profile(name))
        .collect();
    for n in 0..5 {
        let user = w.user_named(&format!("paged{n}@example.com"));
        assert_eq!(
            user.security_profile_ids
                .iter()
                .cloned()
                .collect::<BTreeSet<_>>(),
            wanted
        );
        assert_eq!(
            user.routing_profile_id,
            w.routing_profile("Paged Routing 5")
        );
    }
    // Seven security profiles (two defaults) and six routing profiles: four and three pages.
    assert!(
        w.calls("ListSecurityProfiles") >= 4,
        "{:?}",
        w.emulator.call_counts()
    );
    assert!(
        w.calls("ListRoutingProfiles") >= 3,
        "{:?}",
        w.emulator.call_counts()
    );

    // The same again: every user of the import is seen, on whichever page it is.
    w.emulator.reset_call_counts();
    let again = w
        .send(&resource, w.update_event(&w.physical_id(), &props, &props))
        .await;
    assert_eq!(counts(&again), [0, 0, 0, 5, 0], "{again:#}");
    assert!(w.writes().is_empty(), "{:?}", w.writes());
    assert!(w.calls("ListUsers") >= 5, "ten users, two a page");

    let deleted = w
        .send(&resource, w.delete_event(&w.physical_id(), &props))
        .await;
    assert_eq!(status(&deleted), "SUCCESS", "{deleted:#}");
    let mut left = w.users();
    left.sort_by(|a, b| a.username.cmp(&b.username));
    assert_eq!(
        left, foreign,
        "only someone else's users are left, unchanged"
    );
}
