//! The users: the login name a sign-in carries is a Connect user of exactly that name.

use super::*;

/// The check, and the identity-store attribute the assertion's RoleSessionName comes from.
pub(super) fn role_session_name(target: &Target, found: &Found) -> (Check, UsernameAttribute) {
    let name = CheckName::RoleSessionName;
    let wanted = role_session_name_expression(target.username_attribute);
    let Some(app) = &found.application else {
        return (
            Check::blocked(name, "the application could not be read"),
            target.username_attribute,
        );
    };
    let fix = format!(
        "map {ROLE_SESSION_NAME_ATTRIBUTE} to {wanted}, or set the import's UsernameAttribute to match the mapping; both must name the same attribute"
    );
    if app.response_config.is_none() {
        return (Check::blocked(name, UNREADABLE), target.username_attribute);
    }
    let values = attribute_values(app, ROLE_SESSION_NAME_ATTRIBUTE).unwrap_or_default();
    let [value] = values else {
        let detail = if values.is_empty() {
            format!("the application does not send {ROLE_SESSION_NAME_ATTRIBUTE}")
        } else {
            format!(
                "{ROLE_SESSION_NAME_ATTRIBUTE} has {} values; it must have exactly one",
                values.len()
            )
        };
        return (Check::fail(name, detail, fix), target.username_attribute);
    };
    let mapped = match value.trim() {
        "${user:email}" => Some(UsernameAttribute::Email),
        "${user:subject}" => Some(UsernameAttribute::UserName),
        _ => None,
    };
    match mapped {
        Some(attribute) if attribute == target.username_attribute => (
            Check::pass(
                name,
                format!(
                    "RoleSessionName is {value}, {}, as in the user import",
                    describe_username_attribute(attribute)
                ),
            ),
            attribute,
        ),
        Some(attribute) => (
            Check::fail(
                name,
                format!(
                    "RoleSessionName is {value}, {}, but the user import makes login names from {}: no sign-in would match its Connect user",
                    describe_username_attribute(attribute),
                    describe_username_attribute(target.username_attribute)
                ),
                fix,
            ),
            attribute,
        ),
        None => (
            Check::fail(
                name,
                format!(
                    "RoleSessionName is {value:?}, which is neither ${{user:email}} nor ${{user:subject}}: the user import cannot make matching login names"
                ),
                fix,
            ),
            target.username_attribute,
        ),
    }
}

/// The identity store of the application's Identity Center instance.
pub(super) async fn identity_store_id(
    clients: &Clients,
    target: &Target,
    found: &Found,
) -> Option<String> {
    if let Some(id) = &target.identity_store_id {
        return Some(id.clone());
    }
    let arn = found.application_arn.as_ref()?;
    let instances = clients.identity_center.instances().await.ok()?;
    instances
        .into_iter()
        .find(|instance| arn.is_in_instance(&instance.arn))
        .map(|instance| instance.identity_store_id)
}

/// A user assigned directly (not through a group), as the import reads directory users.
pub(super) async fn directory_user(
    clients: &Clients,
    identity_store_id: &str,
    user_id: &str,
) -> Result<DirectoryUser, String> {
    let user = clients
        .identity_store
        .describe_user()
        .identity_store_id(identity_store_id)
        .user_id(user_id)
        .send()
        .await
        .map_err(|e| format!("identitystore DescribeUser {user_id}: {}", error_text(&e)))?;
    Ok(DirectoryUser {
        id: user.user_id().to_owned(),
        user_name: user.user_name().unwrap_or_default().to_owned(),
        display_name: user.display_name().map(str::to_owned),
        given_name: user.name().and_then(|n| n.given_name()).map(str::to_owned),
        family_name: user.name().and_then(|n| n.family_name()).map(str::to_owned),
        emails: user
            .emails()
            .iter()
            .filter_map(|email| {
                Some(DirectoryEmail {
                    value: email.value()?.to_owned(),
                    primary: email.primary(),
                })
            })
            .collect(),
        phone_number: None,
        disabled: user.user_status() == Some(&aws_sdk_identitystore::types::UserStatus::Disabled),
        group_ids: BTreeSet::new(),
    })
}

/// Settings under which the import's plan says, for each member, whether a Connect user of
/// exactly their login name exists (an update or no change), is missing (a create), or cannot
/// be (skipped, with the import's reason). Profiles and phone settings do not matter here.
pub(crate) fn matching_settings(attribute: UsernameAttribute) -> Settings {
    Settings {
        username_attribute: attribute,
        defaults: Profiles {
            security_profile_ids: BTreeSet::new(),
            routing_profile_id: String::new(),
        },
        rules: Vec::new(),
        phone_type: PhoneType::SoftPhone,
        auto_accept: false,
        after_contact_work_time_limit: 0,
        on_user_removed: OnUserRemoved::Retain,
        // Any existing user of the exact name counts, whoever made it.
        adopt_existing: true,
    }
}

/// The assigned members: the groups' members and the users assigned directly.
async fn assigned_members(
    clients: &Clients,
    store: &str,
    assignments: &[identity_center::Principal],
    deadline: Instant,
) -> Result<Vec<DirectoryUser>, Check> {
    let name = CheckName::ConnectUsers;
    let directory = Directory {
        client: clients.identity_store.clone(),
        identity_store_id: store.to_owned(),
    };
    let groups: BTreeSet<String> = assignments
        .iter()
        .filter(|p| p.kind == PrincipalKind::Group)
        .map(|p| p.id.clone())
        .collect();
    let mut members = match directory.members(&groups, &groups, deadline).await {
        Ok((members, _reads)) => members,
        Err(error) => {
            return Err(Check::fail(
                name,
                format!("could not read the assigned groups' members: {error:#}"),
                "use credentials that may read the identity store (identitystore:ListGroupMemberships, identitystore:ListUsers, identitystore:DescribeUser)",
            ));
        }
    };
    for principal in assignments.iter().filter(|p| p.kind == PrincipalKind::User) {
        if members.iter().any(|member| member.id == principal.id) {
            continue;
        }
        match directory_user(clients, store, &principal.id).await {
            Ok(user) => members.push(user),
            Err(problem) => {
                return Err(Check::fail(
                    name,
                    format!("could not read an assigned user: {problem}"),
                    "use credentials that may call identitystore:DescribeUser",
                ));
            }
        }
    }
    Ok(members)
}

pub(super) async fn connect_users(
    clients: &Clients,
    target: &Target,
    found: &Found,
    attribute: UsernameAttribute,
) -> Check {
    let name = CheckName::ConnectUsers;
    let Some(assignments) = &found.assignments else {
        return Check::blocked(name, "the assignments could not be read");
    };
    let Some(instance) = &found.instance else {
        return Check::blocked(name, "the Connect instance could not be read");
    };
    let Some(store) = identity_store_id(clients, target, found).await else {
        return Check::fail(
            name,
            "the identity store of the application's Identity Center instance could not be found",
            "give --identity-store-id (the stack's IdentityStoreId output)",
        );
    };
    let deadline = Instant::now() + MEMBER_CHECK_TIME;
    let mut members = match assigned_members(clients, &store, assignments, deadline).await {
        Ok(members) => members,
        Err(failed) => return failed,
    };
    // A disabled user cannot sign in at all; that is the directory's decision, not a fault.
    let disabled = members.iter().filter(|m| m.disabled).count();
    members.retain(|m| !m.disabled);

    let connect = Connect::new(
        clients.connect.clone(),
        Arc::new(RateLimiter::new(Quota::CONNECT_DEFAULT)),
        Duration::from_secs(5),
    );
    let users = match connect.users(&instance.id, deadline).await {
        Ok(users) => users,
        Err(error) => {
            return Check::fail(
                name,
                format!(
                    "could not list the Connect users of {}: {error}",
                    instance.id
                ),
                "use credentials that may call connect:ListUsers and connect:SearchUsers",
            );
        }
    };
    let plan = import_plan::plan(
        &members,
        &users,
        &matching_settings(attribute),
        Claimant::Anyone,
    );
    let problems = sign_in_problems(&plan);
    let disabled_note = if disabled > 0 {
        format!(" ({disabled} disabled member(s) not counted)")
    } else {
        String::new()
    };
    if problems.is_empty() {
        return Check::pass(
            name,
            format!(
                "all {} assigned member(s) have a Connect user named exactly as their RoleSessionName{disabled_note}",
                members.len()
            ),
        );
    }
    Check::fail(
        name,
        format!(
            "{} of {} assigned member(s) cannot sign in{disabled_note}: {}",
            problems.len(),
            members.len(),
            problems.join("; ")
        ),
        "run the user import (update the stack; `connect-sso plan` previews it), or make each Connect username equal the member's login name exactly, case included",
    )
}

/// Why members cannot sign in, as the import's plan says: no Connect user of their name, or a
/// reason the import would skip them.
fn sign_in_problems(plan: &import_plan::Plan) -> Vec<String> {
    let mut problems: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|action| match action {
            Action::Create { user } => {
                Some(format!("{}: no Connect user of that name", user.username))
            }
            _ => None,
        })
        .collect();
    problems.extend(
        plan.skipped
            .iter()
            .map(|skipped| format!("{} {}", skipped.name, skipped.reason)),
    );
    problems
}
