use super::*;

const STACK: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/connect-sso/guid-1";

fn owner() -> Owner {
    Owner::new(STACK, "Users")
}

/// The ownership tags a user made by `owner()` carries, as Connect stores them.
fn our_tags() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("connect-sso:stack-id".to_owned(), STACK.to_owned()),
        (
            "connect-sso:logical-resource-id".to_owned(),
            "Users".to_owned(),
        ),
    ])
}

fn settings() -> Settings {
    Settings {
        username_attribute: UsernameAttribute::Email,
        defaults: Profiles {
            security_profile_ids: BTreeSet::from(["sp-agent".to_owned()]),
            routing_profile_id: "rp-basic".to_owned(),
        },
        rules: Vec::new(),
        phone_type: PhoneType::SoftPhone,
        auto_accept: false,
        after_contact_work_time_limit: 0,
        on_user_removed: OnUserRemoved::Delete,
        adopt_existing: false,
    }
}

fn member(user_name: &str, email: &str, given: &str, family: &str) -> DirectoryUser {
    DirectoryUser {
        id: format!("id-{user_name}"),
        user_name: user_name.to_owned(),
        display_name: Some(format!("{given} {family}")),
        given_name: Some(given.to_owned()),
        family_name: Some(family.to_owned()),
        emails: vec![DirectoryEmail {
            value: email.to_owned(),
            primary: true,
        }],
        phone_number: None,
        disabled: false,
        group_ids: BTreeSet::from(["g-agents".to_owned()]),
    }
}

fn jane() -> DirectoryUser {
    member("jane", "jane@example.com", "Jane", "Doe")
}

/// Jane as Connect holds her after an import with `settings()`: written out from the guide's
/// defaults (not from the planner), so that a planner that got a field wrong sees a change here.
fn jane_in_connect() -> ExistingUser {
    let mut tags = our_tags();
    // The digest the import keeps of SecondaryEmail: the first 16 bytes of SHA-256("jane@example.com").
    tags.insert(
        "connect-sso:secondary-email-sha256".to_owned(),
        "8c87b489ce35cf2e2f39f80e282cb2e8".to_owned(),
    );
    ExistingUser {
        id: "cid-jane".to_owned(),
        arn: "arn:aws:connect:eu-west-1:1:instance/i/agent/cid-jane".to_owned(),
        username: "jane@example.com".to_owned(),
        first_name: Some("Jane".to_owned()),
        last_name: Some("Doe".to_owned()),
        security_profile_ids: BTreeSet::from(["sp-agent".to_owned()]),
        routing_profile_id: Some("rp-basic".to_owned()),
        phone: Some(Phone {
            phone_type: PhoneType::SoftPhone,
            auto_accept: false,
            after_contact_work_time_limit: 0,
            desk_phone_number: None,
        }),
        tags,
    }
}

/// The Connect user the import would have made for `desired`, tagged as ours.
fn existing_for(desired: &DesiredUser) -> ExistingUser {
    let mut tags = our_tags();
    tags.insert(EMAIL_DIGEST_TAG.to_owned(), desired.email_digest());
    ExistingUser {
        id: format!("cid-{}", desired.username),
        arn: format!(
            "arn:aws:connect:eu-west-1:1:instance/i/agent/cid-{}",
            desired.username
        ),
        username: desired.username.clone(),
        first_name: Some(desired.first_name.clone()),
        last_name: Some(desired.last_name.clone()),
        security_profile_ids: desired.security_profile_ids.clone(),
        routing_profile_id: Some(desired.routing_profile_id.clone()),
        phone: Some(desired.phone.clone()),
        tags,
    }
}

fn desired(user: &DirectoryUser, settings: &Settings) -> DesiredUser {
    match plan(std::slice::from_ref(user), &[], settings, &owner())
        .actions
        .remove(0)
    {
        Action::Create { user } => user,
        other => panic!("expected a create, got {other:?}"),
    }
}

fn foreign(username: &str) -> ExistingUser {
    ExistingUser {
        id: format!("cid-{username}"),
        arn: format!("arn:x:{username}"),
        username: username.to_owned(),
        first_name: Some("Someone".into()),
        last_name: Some("Else".into()),
        security_profile_ids: BTreeSet::from(["sp-admin".to_owned()]),
        routing_profile_id: Some("rp-basic".into()),
        phone: None,
        tags: BTreeMap::from([("team".to_owned(), "ops".to_owned())]),
    }
}

fn creates(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter(|a| matches!(a, Action::Create { .. }))
        .map(Action::username)
        .collect()
}

fn deletes(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter(|a| matches!(a, Action::Delete { .. }))
        .map(Action::username)
        .collect()
}

fn updates(plan: &Plan) -> Vec<(&str, Vec<Change>)> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Update { user, changes, .. } => Some((user.username.as_str(), changes.clone())),
            _ => None,
        })
        .collect()
}

fn skipped_reason<'a>(plan: &'a Plan, name: &str) -> &'a str {
    &plan
        .skipped
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} not skipped: {plan:?}"))
        .reason
}

#[test]
fn a_new_member_is_created_with_the_guide_defaults() {
    let user = desired(&jane(), &settings());
    assert_eq!(user.username, "jane@example.com");
    assert_eq!(
        (user.first_name.as_str(), user.last_name.as_str()),
        ("Jane", "Doe")
    );
    assert_eq!(user.secondary_email.as_deref(), Some("jane@example.com"));
    assert_eq!(
        user.security_profile_ids,
        BTreeSet::from(["sp-agent".to_owned()])
    );
    assert_eq!(user.routing_profile_id, "rp-basic");
    assert_eq!(
        user.phone,
        Phone {
            phone_type: PhoneType::SoftPhone,
            auto_accept: false,
            after_contact_work_time_limit: 0,
            desk_phone_number: None
        }
    );
}

#[test]
fn the_username_follows_the_attribute_case_included() {
    let mut s = settings();
    s.username_attribute = UsernameAttribute::UserName;
    let user = member("Jane.Doe", "jane@example.com", "Jane", "Doe");
    assert_eq!(desired(&user, &s).username, "Jane.Doe");
    let user = member("jane", "Jane.Doe@Example.com", "Jane", "Doe");
    assert_eq!(desired(&user, &settings()).username, "Jane.Doe@Example.com");
}

#[test]
fn names_fall_back_to_the_display_name_then_the_username() {
    let mut user = jane();
    user.given_name = None;
    user.family_name = None;
    user.display_name = Some("Jane  van der Berg".into());
    let d = desired(&user, &settings());
    assert_eq!(
        (d.first_name.as_str(), d.last_name.as_str()),
        ("Jane", "van der Berg")
    );
    user.display_name = Some("Cher".into());
    let d = desired(&user, &settings());
    assert_eq!(
        (d.first_name.as_str(), d.last_name.as_str()),
        ("Cher", "Cher")
    );
    user.display_name = None;
    let d = desired(&user, &settings());
    assert_eq!(
        (d.first_name.as_str(), d.last_name.as_str()),
        ("jane", "jane")
    );
    user.given_name = Some("x".repeat(300));
    assert_eq!(desired(&user, &settings()).first_name.chars().count(), 255);
}

#[test]
fn an_unchanged_user_gets_no_write() {
    let p = plan(&[jane()], &[jane_in_connect()], &settings(), &owner());
    assert!(p.actions.is_empty(), "{p:?}");
    assert_eq!(p.unchanged, vec!["jane@example.com"]);
}

#[test]
fn each_changed_field_is_one_change() {
    let d = desired(&jane(), &settings());
    let mut existing = existing_for(&d);
    existing.last_name = Some("Smith".into());
    existing.tags.insert(
        EMAIL_DIGEST_TAG.into(),
        email_digest(Some("old@example.com")),
    );
    existing.security_profile_ids = BTreeSet::from(["sp-admin".to_owned()]);
    existing.routing_profile_id = Some("rp-other".into());
    existing.phone = Some(Phone {
        after_contact_work_time_limit: 30,
        ..d.phone.clone()
    });
    let p = plan(&[jane()], &[existing], &settings(), &owner());
    assert_eq!(
        updates(&p),
        vec![(
            "jane@example.com",
            vec![
                Change::Names,
                Change::SecondaryEmail,
                Change::SecurityProfiles,
                Change::RoutingProfile,
                Change::Phone
            ]
        )]
    );
}

#[test]
fn phone_settings_are_compared_with_the_properties() {
    let mut s = settings();
    let d = desired(&jane(), &s);
    let existing = existing_for(&d);
    s.auto_accept = true;
    s.after_contact_work_time_limit = 20;
    let p = plan(&[jane()], std::slice::from_ref(&existing), &s, &owner());
    assert_eq!(updates(&p), vec![("jane@example.com", vec![Change::Phone])]);
    let Action::Update { user, .. } = &p.actions[0] else {
        unreachable!()
    };
    assert!(user.phone.auto_accept);
    assert_eq!(user.phone.after_contact_work_time_limit, 20);
    // A soft phone's leftover desk number is no difference.
    let mut with_number = existing;
    with_number.phone.as_mut().unwrap().desk_phone_number = Some("+15550100".into());
    assert!(
        plan(&[jane()], &[with_number], &settings(), &owner())
            .actions
            .is_empty()
    );
}

#[test]
fn desk_phones_take_the_directory_number_or_skip_the_user() {
    let mut s = settings();
    s.phone_type = PhoneType::DeskPhone;
    let mut user = jane();
    user.phone_number = Some("+14255550100".into());
    assert_eq!(
        desired(&user, &s).phone.desk_phone_number.as_deref(),
        Some("+14255550100")
    );
    user.phone_number = Some("425 555 0100".into());
    let p = plan(&[user], &[], &s, &owner());
    assert!(p.actions.is_empty());
    assert!(skipped_reason(&p, "jane@example.com").contains("E.164"));
}

#[test]
fn a_member_who_left_is_deleted_or_retained() {
    let gone = jane_in_connect();
    let p = plan(&[], std::slice::from_ref(&gone), &settings(), &owner());
    assert_eq!(deletes(&p), vec!["jane@example.com"]);
    let mut s = settings();
    s.on_user_removed = OnUserRemoved::Retain;
    let p = plan(&[], &[gone], &s, &owner());
    assert!(p.actions.is_empty());
    assert_eq!(p.retained, vec!["jane@example.com"]);
}

#[test]
fn users_of_other_stacks_or_resources_are_never_touched() {
    let mut other_stack = jane_in_connect();
    other_stack.tags.insert(
        custom_resource::OWNER_TAG_STACK_ID.into(),
        "arn:other".into(),
    );
    let mut other_resource = existing_for(&desired(
        &member("bob", "bob@example.com", "Bob", "B"),
        &settings(),
    ));
    other_resource.tags.insert(
        custom_resource::OWNER_TAG_LOGICAL_ID.into(),
        "OtherImport".into(),
    );
    let untagged = foreign("admin@example.com");
    let p = plan(
        &[],
        &[other_stack, other_resource, untagged],
        &settings(),
        &owner(),
    );
    assert_eq!(p, Plan::default());
}

#[test]
fn a_foreign_user_of_the_same_name_is_reported_not_touched() {
    let p = plan(
        &[jane()],
        &[foreign("jane@example.com")],
        &settings(),
        &owner(),
    );
    assert!(p.actions.is_empty(), "{p:?}");
    assert!(skipped_reason(&p, "jane@example.com").contains("AdoptExisting"));
}

#[test]
fn adopt_existing_claims_the_foreign_user_and_aligns_it() {
    let mut s = settings();
    s.adopt_existing = true;
    let p = plan(&[jane()], &[foreign("jane@example.com")], &s, &owner());
    assert_eq!(
        updates(&p),
        vec![(
            "jane@example.com",
            vec![
                Change::Claim,
                Change::Names,
                Change::SecondaryEmail,
                Change::SecurityProfiles,
                Change::Phone
            ]
        )]
    );
    let Action::Update {
        user_id, user_arn, ..
    } = &p.actions[0]
    else {
        unreachable!()
    };
    assert_eq!(
        (user_id.as_str(), user_arn.as_str()),
        ("cid-jane@example.com", "arn:x:jane@example.com")
    );
    // Adoption never extends to foreign users the groups do not name.
    let p = plan(&[], &[foreign("other@example.com")], &s, &owner());
    assert_eq!(p, Plan::default());
}

#[test]
fn a_case_only_difference_is_reported_and_neither_side_changes() {
    let mut ours_in_other_case = jane_in_connect();
    ours_in_other_case.username = "Jane@Example.com".into();
    let p = plan(&[jane()], &[ours_in_other_case], &settings(), &owner());
    assert!(p.actions.is_empty(), "neither created nor deleted: {p:?}");
    let reason = skipped_reason(&p, "jane@example.com");
    assert!(
        reason.contains("Jane@Example.com") && reason.contains("case"),
        "{reason}"
    );
    let p = plan(
        &[jane()],
        &[foreign("JANE@example.com")],
        &settings(),
        &owner(),
    );
    assert!(p.actions.is_empty());
    assert!(skipped_reason(&p, "jane@example.com").contains("JANE@example.com"));
}

#[test]
fn invalid_directory_users_are_skipped_with_a_reason() {
    let mut no_primary = member("np", "np@example.com", "N", "P");
    no_primary.emails[0].primary = false;
    let mut no_email = member("ne", "x", "N", "E");
    no_email.emails.clear();
    let bad_chars = member("bc", "first+tag@example.com", "B", "C");
    let not_email = member("nm", "jane@localhost", "N", "M");
    let too_long = member("tl", &format!("{}@example.com", "a".repeat(60)), "T", "L");
    let mut disabled = member("dis", "dis@example.com", "D", "S");
    disabled.disabled = true;
    let p = plan(
        &[
            no_primary,
            no_email,
            bad_chars,
            not_email,
            too_long.clone(),
            disabled,
        ],
        &[],
        &settings(),
        &owner(),
    );
    assert!(p.actions.is_empty(), "{p:?}");
    assert_eq!(p.skipped.len(), 6);
    assert!(skipped_reason(&p, "np").contains("no primary email"));
    assert!(skipped_reason(&p, "ne").contains("no primary email"));
    assert!(skipped_reason(&p, "first+tag@example.com").contains("'+'"));
    assert!(skipped_reason(&p, "jane@localhost").contains("email"));
    assert!(skipped_reason(&p, &too_long.emails[0].value).contains("72 characters"));
    assert!(skipped_reason(&p, "dis@example.com").contains("disabled"));
}

#[test]
fn a_disabled_users_connect_user_is_removed_like_a_leaver() {
    let mut disabled = jane();
    disabled.disabled = true;
    let p = plan(&[disabled], &[jane_in_connect()], &settings(), &owner());
    assert_eq!(deletes(&p), vec!["jane@example.com"]);
    assert_eq!(p.skipped.len(), 1);
}

#[test]
fn usernames_follow_connects_rules() {
    for ok in [
        "ab",
        "jane.doe",
        "j_d-1",
        "jane@example.co",
        &"a".repeat(64),
    ] {
        assert_eq!(check_username(ok), Ok(()), "{ok}");
    }
    for bad in [
        "a",
        &"a".repeat(65),
        "jane doe",
        "jané",
        "a,b",
        "@example.com",
        "jane@example",
        "jane@@example.com",
        "jane@example.c0m",
    ] {
        assert!(check_username(bad).is_err(), "{bad}");
    }
}

#[test]
fn two_directory_users_with_one_username_import_only_the_first() {
    let a = member("a", "same@example.com", "A", "A");
    let b = member("b", "same@example.com", "B", "B");
    let p = plan(&[b, a], &[], &settings(), &owner());
    assert_eq!(creates(&p), vec!["same@example.com"]);
    let Action::Create { user } = &p.actions[0] else {
        unreachable!()
    };
    assert_eq!(user.directory_user_id, "id-a");
    assert!(skipped_reason(&p, "same@example.com").contains("only the first"));
}

fn rules_settings() -> Settings {
    let mut s = settings();
    s.rules = vec![
        Rule {
            group_id: "g-supervisors".into(),
            security_profile_ids: Some(BTreeSet::from(["sp-manager".to_owned()])),
            routing_profile_id: Some("rp-sup".into()),
        },
        Rule {
            group_id: "g-quality".into(),
            security_profile_ids: Some(BTreeSet::from([
                "sp-qa".to_owned(),
                "sp-manager".to_owned(),
            ])),
            routing_profile_id: Some("rp-qa".into()),
        },
        Rule {
            group_id: "g-night".into(),
            security_profile_ids: None,
            routing_profile_id: Some("rp-night".into()),
        },
    ];
    s
}

#[test]
fn a_rule_replaces_the_defaults() {
    let mut user = jane();
    user.group_ids.insert("g-supervisors".into());
    let d = desired(&user, &rules_settings());
    assert_eq!(
        d.security_profile_ids,
        BTreeSet::from(["sp-manager".to_owned()])
    );
    assert_eq!(d.routing_profile_id, "rp-sup");
}

#[test]
fn several_rules_unite_profiles_and_the_first_routing_profile_wins() {
    let mut user = jane();
    user.group_ids
        .extend(["g-quality".to_owned(), "g-supervisors".to_owned()]);
    let d = desired(&user, &rules_settings());
    assert_eq!(
        d.security_profile_ids,
        BTreeSet::from(["sp-manager".to_owned(), "sp-qa".to_owned()])
    );
    assert_eq!(
        d.routing_profile_id, "rp-sup",
        "list order, not group order"
    );
}

#[test]
fn a_rule_without_security_profiles_keeps_the_default_ones() {
    let mut user = jane();
    user.group_ids.insert("g-night".into());
    let d = desired(&user, &rules_settings());
    assert_eq!(
        d.security_profile_ids,
        BTreeSet::from(["sp-agent".to_owned()])
    );
    assert_eq!(d.routing_profile_id, "rp-night");
}

#[test]
fn more_than_ten_profiles_skip_the_user_but_keep_its_connect_user() {
    let mut s = settings();
    for i in 0..11 {
        s.rules.push(Rule {
            group_id: format!("g{i}"),
            security_profile_ids: Some(BTreeSet::from([format!("sp{i}")])),
            routing_profile_id: None,
        });
    }
    let existing = jane_in_connect();
    let mut user = jane();
    user.group_ids.extend((0..11).map(|i| format!("g{i}")));
    let p = plan(&[user], &[existing], &s, &owner());
    assert!(
        p.actions.is_empty(),
        "not deleted for a settings problem: {p:?}"
    );
    assert!(skipped_reason(&p, "jane@example.com").contains("11 security profiles"));
}

#[test]
fn a_rule_change_updates_the_profiles() {
    let mut user = jane();
    user.group_ids.insert("g-supervisors".into());
    let before = desired(&user, &settings());
    let p = plan(
        &[user],
        &[existing_for(&before)],
        &rules_settings(),
        &owner(),
    );
    assert_eq!(
        updates(&p),
        vec![(
            "jane@example.com",
            vec![Change::SecurityProfiles, Change::RoutingProfile]
        )]
    );
}

#[test]
fn deletes_come_first_then_updates_then_creates() {
    let s = settings();
    let old = existing_for(&desired(&member("old", "old@example.com", "O", "L"), &s));
    let mut changed = existing_for(&desired(&jane(), &s));
    changed.first_name = Some("J".into());
    let p = plan(
        &[jane(), member("new", "new@example.com", "N", "W")],
        &[changed, old],
        &s,
        &owner(),
    );
    let kinds: Vec<&str> = p
        .actions
        .iter()
        .map(|a| match a {
            Action::Delete { .. } => "delete",
            Action::Update { .. } => "update",
            Action::Create { .. } => "create",
        })
        .collect();
    assert_eq!(kinds, vec!["delete", "update", "create"]);
}

#[test]
fn a_missing_email_digest_counts_as_a_changed_email() {
    let d = desired(&jane(), &settings());
    let mut existing = jane_in_connect();
    existing.tags.remove(EMAIL_DIGEST_TAG);
    assert_eq!(differences(&existing, &d), vec![Change::SecondaryEmail]);
    assert_ne!(
        email_digest(Some("a@example.com")),
        email_digest(Some("b@example.com"))
    );
    assert_eq!(email_digest(None).len(), 32);
}

#[test]
fn ownership_is_both_tags_of_this_stack_and_resource() {
    let tags = jane_in_connect().tags;
    assert!(owner().owns(&tags));
    assert!(!owner().owns(&foreign("x").tags));
    let mut other_resource = our_tags();
    other_resource.insert(
        "connect-sso:logical-resource-id".into(),
        "OtherImport".into(),
    );
    assert!(!owner().owns(&other_resource));
    assert_eq!(
        owner().other_owner(&other_resource).as_deref(),
        Some(format!("{STACK} (OtherImport)").as_str())
    );
    assert_eq!(owner().other_owner(&foreign("x").tags), None);
    assert_eq!(owner().other_owner(&tags), None);
}

#[test]
fn another_connect_sso_resources_user_is_never_claimed_changed_or_deleted() {
    let mut s = settings();
    s.adopt_existing = true;
    s.on_user_removed = OnUserRemoved::Delete;
    let mut theirs = foreign("jane@example.com");
    theirs.tags = our_tags();
    theirs.tags.insert(
        "connect-sso:stack-id".into(),
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/other/guid-2".into(),
    );
    let p = plan(&[jane()], std::slice::from_ref(&theirs), &s, &owner());
    assert!(p.actions.is_empty(), "{p:?}");
    assert!(skipped_reason(&p, "jane@example.com").contains("stack/other/guid-2"));
    // Not in the groups any more: still not ours to delete.
    let p = plan(&[], &[theirs], &s, &owner());
    assert_eq!(p, Plan::default());
}

#[test]
fn matching_for_anyone_counts_every_user_of_the_name_whoever_made_it() {
    let mut theirs = foreign("jane@example.com");
    theirs.tags = our_tags();
    theirs.tags.insert(
        "connect-sso:logical-resource-id".into(),
        "OtherImport".into(),
    );
    for existing in [foreign("jane@example.com"), theirs] {
        let p = plan(&[jane()], &[existing], &settings(), Claimant::Anyone);
        assert!(p.skipped.is_empty(), "{p:?}");
        assert!(creates(&p).is_empty(), "{p:?}");
        let [Action::Update { changes, .. }] = p.actions.as_slice() else {
            panic!("one update expected: {p:?}");
        };
        assert!(!changes.contains(&Change::Claim), "{changes:?}");
    }
}

#[test]
fn actions_survive_serialization_for_a_later_run() {
    let p = plan(&[jane()], &[], &settings(), &owner());
    let text = serde_json::to_string(&p.actions).unwrap();
    let back: Vec<Action> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p.actions);
}
