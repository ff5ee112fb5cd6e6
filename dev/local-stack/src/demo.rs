//! The local lifecycle `make local` runs: a small demo directory, then create → update → delete of
//! template.yaml, with the state of every emulated service checked after each step.

use std::collections::{BTreeMap, BTreeSet};

use std::time::Duration;

use anyhow::{Context as _, anyhow, ensure};
use aws_sdk_identitystore::types::{Email, MemberId, Name};
use connect_sso_cli::status::{self, PROGRESS_OUTPUT, Status};
use connect_user_import::progress::{ImportProgress, ImportState};

use crate::cloud::{ACCOUNT_ID, Cloud, REGION, sdk_config};
use crate::permissions::{Call, Request, Table, allows, check_calls, resolved_statements};
use crate::stack::Stack;
use crate::template::Template;

pub const AGENTS: &str = "ConnectAgents";
pub const SUPERVISORS: &str = "ConnectSupervisors";
/// A large group for the import that takes several runs.
pub const BULK: &str = "ConnectBulk";
/// Members of [`BULK`]: at the 2 requests/s of the default client quota and a 30 s function
/// Timeout, three runs or more.
pub const BULK_MEMBERS: usize = 90;

/// One person in the demo directory.
struct Person {
    user_name: &'static str,
    given: &'static str,
    family: &'static str,
    email: Option<&'static str>,
}

const PEOPLE: [Person; 5] = [
    // A mixed-case email: the Connect login name must keep its case exactly.
    Person {
        user_name: "alice",
        given: "Alice",
        family: "Smith",
        email: Some("Alice.Smith@Example.com"),
    },
    Person {
        user_name: "bob",
        given: "Bob",
        family: "Jones",
        email: Some("bob.jones@example.com"),
    },
    // No email: with UsernameAttribute=email this member cannot become a Connect user.
    Person {
        user_name: "carol",
        given: "Carol",
        family: "White",
        email: None,
    },
    Person {
        user_name: "dave",
        given: "Dave",
        family: "Brown",
        email: Some("dave.brown@example.com"),
    },
    Person {
        user_name: "erin",
        given: "Erin",
        family: "Green",
        email: Some("erin.green@example.com"),
    },
];

/// The demo directory in the identity store: ids of groups, users and memberships.
pub struct Directory {
    pub identity_store_id: String,
    groups: BTreeMap<&'static str, String>,
    users: BTreeMap<&'static str, String>,
    memberships: BTreeMap<(&'static str, &'static str), String>,
}

impl Directory {
    pub async fn seed(cloud: &Cloud) -> anyhow::Result<Self> {
        let store = cloud.identity_store();
        let identity_store_id = cloud.identity_center.identity_store_id();
        let mut directory = Self {
            identity_store_id: identity_store_id.clone(),
            groups: BTreeMap::new(),
            users: BTreeMap::new(),
            memberships: BTreeMap::new(),
        };
        for group in [AGENTS, SUPERVISORS] {
            let created = store
                .create_group()
                .identity_store_id(&identity_store_id)
                .display_name(group)
                .send()
                .await
                .with_context(|| format!("creating group {group}"))?;
            directory
                .groups
                .insert(group, created.group_id().to_owned());
        }
        for person in &PEOPLE {
            let mut request = store
                .create_user()
                .identity_store_id(&identity_store_id)
                .user_name(person.user_name)
                .display_name(format!("{} {}", person.given, person.family))
                .name(
                    Name::builder()
                        .given_name(person.given)
                        .family_name(person.family)
                        .build(),
                );
            if let Some(email) = person.email {
                request = request.emails(
                    Email::builder()
                        .value(email)
                        .r#type("work")
                        .primary(true)
                        .build(),
                );
            }
            let created = request
                .send()
                .await
                .with_context(|| format!("creating user {}", person.user_name))?;
            directory
                .users
                .insert(person.user_name, created.user_id().to_owned());
        }
        for (user, group) in [
            ("alice", AGENTS),
            ("bob", AGENTS),
            ("carol", AGENTS),
            ("dave", SUPERVISORS),
        ] {
            directory.join(cloud, user, group).await?;
        }
        Ok(directory)
    }

    /// A group of `count` people, `bulk000@example.com`…, for a large import.
    pub async fn seed_bulk(&mut self, cloud: &Cloud, count: usize) -> anyhow::Result<()> {
        let store = cloud.identity_store();
        let group = store
            .create_group()
            .identity_store_id(&self.identity_store_id)
            .display_name(BULK)
            .send()
            .await
            .with_context(|| format!("creating group {BULK}"))?;
        for index in 0..count {
            let user_name = format!("bulk{index:03}");
            let user = store
                .create_user()
                .identity_store_id(&self.identity_store_id)
                .user_name(&user_name)
                .display_name(format!("Bulk {index:03}"))
                .name(
                    Name::builder()
                        .given_name("Bulk")
                        .family_name(format!("{index:03}"))
                        .build(),
                )
                .emails(
                    Email::builder()
                        .value(format!("{user_name}@example.com"))
                        .r#type("work")
                        .primary(true)
                        .build(),
                )
                .send()
                .await
                .with_context(|| format!("creating user {user_name}"))?;
            store
                .create_group_membership()
                .identity_store_id(&self.identity_store_id)
                .group_id(group.group_id())
                .member_id(MemberId::UserId(user.user_id().to_owned()))
                .send()
                .await
                .with_context(|| format!("adding {user_name} to {BULK}"))?;
        }
        self.groups.insert(BULK, group.group_id().to_owned());
        println!("directory: {count} people in {BULK}");
        Ok(())
    }

    pub async fn join(
        &mut self,
        cloud: &Cloud,
        user: &'static str,
        group: &'static str,
    ) -> anyhow::Result<()> {
        let created = cloud
            .identity_store()
            .create_group_membership()
            .identity_store_id(&self.identity_store_id)
            .group_id(&self.groups[group])
            .member_id(MemberId::UserId(self.users[user].clone()))
            .send()
            .await
            .with_context(|| format!("adding {user} to {group}"))?;
        self.memberships
            .insert((user, group), created.membership_id().to_owned());
        println!("directory: {user} joins {group}");
        Ok(())
    }

    pub async fn leave(
        &mut self,
        cloud: &Cloud,
        user: &'static str,
        group: &'static str,
    ) -> anyhow::Result<()> {
        let membership = self
            .memberships
            .remove(&(user, group))
            .ok_or_else(|| anyhow!("{user} is not in {group}"))?;
        cloud
            .identity_store()
            .delete_group_membership()
            .identity_store_id(&self.identity_store_id)
            .membership_id(membership)
            .send()
            .await
            .with_context(|| format!("removing {user} from {group}"))?;
        println!("directory: {user} leaves {group}");
        Ok(())
    }
}

/// The parameters of the demo deployment (a new Connect instance, the demo groups).
pub fn parameters(groups: &[&str]) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "ConnectInstanceAlias".to_owned(),
            "connect-sso-local".to_owned(),
        ),
        ("Groups".to_owned(), groups.join(",")),
        ("RelayStateDestination".to_owned(), "/ccp-v2".to_owned()),
        // The schedules exist; the demo runs them itself (`Stack::run_schedule`).
        ("SyncSchedule".to_owned(), "rate(1 hour)".to_owned()),
    ])
}

/// `parameters` for an existing Connect instance (`ConnectInstanceId`) instead of a new one.
pub fn on_instance(
    mut parameters: BTreeMap<String, String>,
    instance_id: &str,
) -> BTreeMap<String, String> {
    parameters.remove("ConnectInstanceAlias");
    parameters.insert("ConnectInstanceId".to_owned(), instance_id.to_owned());
    parameters
}

/// A Connect user as a person would check it: login name and whether this stack manages it.
fn connect_logins(cloud: &Cloud, instance_id: &str) -> BTreeSet<String> {
    cloud
        .connect
        .users(instance_id)
        .into_iter()
        .map(|user| user.username)
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// Runs the whole lifecycle of `template` and checks the state after each step.
pub async fn run(cloud: &Cloud, template: Template) -> anyhow::Result<()> {
    let mut directory = Directory::seed(cloud).await?;
    println!(
        "directory: identity store {} seeded with 5 people in {AGENTS} and {SUPERVISORS}\n",
        directory.identity_store_id
    );

    // Two existing SAML instances: the stack starts on the first and an update moves it to the
    // second, whose cleanup Delete (under the new policy) must remove the first one's users.
    let first = cloud.connect.create_instance("connect-sso-first", "SAML");
    let second = cloud.connect.create_instance("connect-sso-second", "SAML");
    let mut stack = Stack::new("connect-sso-local", cloud, template).await?;
    // Before anyone deploys: nothing in the account would make the first deployment fail.
    let report = preflight(cloud, &on_instance(parameters(&[AGENTS]), &first.id)).await?;
    ensure!(
        report.ok(),
        "preflight found problems before the create:\n{report}"
    );
    println!("== create, on the existing Connect instance {}", first.id);
    stack
        .create(&on_instance(parameters(&[AGENTS]), &first.id))
        .await?;
    print_outputs(&stack);
    let mut instance_id = stack
        .outputs()
        .get("ConnectInstanceId")
        .cloned()
        .ok_or_else(|| anyhow!("no ConnectInstanceId output"))?;
    let expected = set(&["Alice.Smith@Example.com", "bob.jones@example.com"]);
    ensure!(
        connect_logins(cloud, &instance_id) == expected,
        "after create, the Connect users are {:?}, expected {expected:?}",
        connect_logins(cloud, &instance_id)
    );
    check_federation(cloud, &stack).await?;
    // Guide step 6, checked before anyone signs in: every link of the chain holds, except carol,
    // who has no email and so no RoleSessionName; the doctor must name her.
    let report = doctor(cloud, &stack, &[AGENTS]).await?;
    let failed: Vec<&str> = report.failed().map(|check| check.name.as_str()).collect();
    ensure!(
        failed == ["connect-users"],
        "after create, the doctor failed {failed:?}, expected only connect-users"
    );
    ensure!(
        report.failed().all(|check| check.detail.contains("carol")),
        "the doctor did not name carol: {report}"
    );
    // Someone adds a Connect user by hand, in both instances: the stack must never touch it.
    for instance in [&first.id, &second.id] {
        cloud.connect.add_user(
            instance,
            connect_emulator::UserSnapshot::new("Connect-Admin"),
        );
    }
    println!(
        "check: Connect users {expected:?}; the application, SAML provider and role exist and agree\n"
    );

    println!(
        "== directory changes, and the stack is updated to import {SUPERVISORS} too, into the Connect instance {}",
        second.id
    );
    directory.join(cloud, "erin", AGENTS).await?;
    directory.leave(cloud, "bob", AGENTS).await?;
    directory.leave(cloud, "carol", AGENTS).await?;
    let update_calls = cloud.recorder.calls().len();
    stack
        .update(&on_instance(parameters(&[AGENTS, SUPERVISORS]), &second.id))
        .await?;
    print_outputs(&stack);
    ensure!(
        connect_logins(cloud, &first.id) == set(&["Connect-Admin"]),
        "after moving to another instance, the first one's users are {:?}: the cleanup Delete left the stack's users behind",
        connect_logins(cloud, &first.id)
    );
    check_cleanup_allowed(cloud, &stack, update_calls, &first.id)?;
    println!(
        "check: the first instance keeps only its hand-made user; the cleanup Delete's Connect calls were allowed by the new policy"
    );
    instance_id = second.id.clone();
    let expected = set(&[
        "Alice.Smith@Example.com",
        "Connect-Admin",
        "dave.brown@example.com",
        "erin.green@example.com",
    ]);
    ensure!(
        connect_logins(cloud, &instance_id) == expected,
        "after update, the Connect users are {:?}, expected {expected:?}",
        connect_logins(cloud, &instance_id)
    );
    check_federation(cloud, &stack).await?;
    println!("check: Connect users {expected:?}\n");
    let report = doctor(cloud, &stack, &[AGENTS, SUPERVISORS]).await?;
    ensure!(
        report.ok(),
        "after update, the doctor found problems:\n{report}"
    );

    update_and_roll_back(
        cloud,
        &mut stack,
        &on_instance(parameters(&[AGENTS, SUPERVISORS]), &second.id),
    )
    .await?;

    println!("== between deployments: bob joins {AGENTS} again, and the scheduled sync runs");
    directory.join(cloud, "bob", AGENTS).await?;
    let synced = stack.run_schedule("UserSyncSchedule").await?;
    ensure!(
        synced["Status"] == "Synced" && synced["Created"] == "1",
        "the user sync did not import bob: {synced}"
    );
    let expected = set(&[
        "Alice.Smith@Example.com",
        "Connect-Admin",
        "bob.jones@example.com",
        "dave.brown@example.com",
        "erin.green@example.com",
    ]);
    ensure!(
        connect_logins(cloud, &instance_id) == expected,
        "after the sync, the Connect users are {:?}, expected {expected:?}",
        connect_logins(cloud, &instance_id)
    );
    let logs = stack.function_logs("ConnectUserImportFunction");
    ensure!(
        logs.iter().any(|line| line.contains("\"sync summary\""))
            && logs.iter().any(|line| line.contains("\"_aws\"")),
        "the sync logged no summary or metric line"
    );
    println!(
        "check: bob is a Connect user again, without a stack update; the sync logged its summary and metric\n"
    );

    println!(
        "== Identity Center rotates the application's SAML certificate; the scheduled sync runs"
    );
    let provider_arn = stack.outputs()["SamlProviderArn"].clone();
    let before = saml_document(cloud, &provider_arn).await?;
    ensure!(
        cloud
            .identity_center
            .rotate_certificate(&stack.outputs()["ApplicationArn"]),
        "the emulator did not rotate the certificate"
    );
    let synced = stack.run_schedule("SamlMetadataSyncSchedule").await?;
    ensure!(
        synced["Updated"] == true,
        "the metadata sync did not update the provider: {synced}"
    );
    let after = saml_document(cloud, &provider_arn).await?;
    ensure!(
        before != after,
        "the IAM provider still has the old metadata"
    );
    let again = stack.run_schedule("SamlMetadataSyncSchedule").await?;
    ensure!(
        again["Updated"] == false,
        "a second sync updated again: {again}"
    );
    println!(
        "check: the IAM provider carries the new metadata (certificate until {}); a second sync changed nothing\n",
        synced["CertificateExpiry"].as_str().unwrap_or("?")
    );

    println!(
        "== a large import ({BULK_MEMBERS} more users) with the import's Timeout cut to 30 s: it continues across runs"
    );
    directory.seed_bulk(cloud, BULK_MEMBERS).await?;
    let mut bulk = on_instance(parameters(&[AGENTS, SUPERVISORS, BULK]), &second.id);
    bulk.insert("UserImportTimeout".to_owned(), "30".to_owned());
    // The new Timeout restarts the function: its logs are this update's only. Meanwhile, the
    // import's progress as `connect-sso status` shows it.
    let parameter = stack
        .outputs()
        .get(PROGRESS_OUTPUT)
        .cloned()
        .ok_or_else(|| anyhow!("no {PROGRESS_OUTPUT} output"))?;
    let watcher = ProgressWatcher::start(cloud, &parameter);
    let updated = stack.update(&bulk).await;
    let seen = watcher.stop().await;
    updated?;
    ensure!(
        seen.iter()
            .any(|progress| progress.percent() > 0.0 && progress.percent() < 100.0),
        "no progress between start and end was recorded during the large import: {seen:?}"
    );
    ensure!(
        seen.last().map(|progress| progress.state) == Some(ImportState::Complete),
        "the import's last recorded progress is not Complete: {:?}",
        seen.last()
    );
    let runs = handed_on(&stack);
    let logins = connect_logins(cloud, &instance_id);
    ensure!(
        logins.len() == expected.len() + BULK_MEMBERS
            && (0..BULK_MEMBERS).all(|i| logins.contains(&format!("bulk{i:03}@example.com"))),
        "after the large import, the Connect users are {logins:?}"
    );
    ensure!(
        runs >= 1,
        "the large import finished in one run: the deadline did not force a continuation"
    );
    println!(
        "check: {} Connect users, imported in {} runs (the first handed on to new invocations); CloudFormation got one response\n",
        logins.len(),
        runs + 1
    );

    println!("== delete");
    let application_arn = stack.outputs()["ApplicationArn"].clone();
    let provider_arn = stack.outputs()["SamlProviderArn"].clone();
    let role_name = stack
        .physical_id("FederationRole")
        .unwrap_or_default()
        .to_owned();
    stack.delete().await?;
    ensure!(
        cloud
            .identity_center
            .application(&application_arn)
            .is_none(),
        "the application {application_arn} is still there"
    );
    let providers = cloud.iam().list_saml_providers().send().await?;
    ensure!(
        providers
            .saml_provider_list()
            .iter()
            .all(|provider| provider.arn() != Some(provider_arn.as_str())),
        "the SAML provider {provider_arn} is still there"
    );
    ensure!(
        cloud
            .iam()
            .get_role()
            .role_name(&role_name)
            .send()
            .await
            .is_err(),
        "the role {role_name} is still there"
    );
    for instance in [&first.id, &second.id] {
        ensure!(
            connect_logins(cloud, instance) == set(&["Connect-Admin"]),
            "the Connect instance {instance} still has the stack's users: {:?}",
            connect_logins(cloud, instance)
        );
    }
    println!(
        "check: the application, SAML provider, role and the stack's Connect users are gone; the hand-made user stays"
    );

    let table = Table::load()?;
    let recorded = cloud.recorder.calls();
    let calls: Vec<Call> = recorded
        .iter()
        .map(|call| Call {
            function: call.caller.clone(),
            call: call.call.clone(),
        })
        .collect();
    let problems = check_calls(&table, &calls);
    ensure!(
        problems.is_empty(),
        "the functions made calls permissions.yaml does not list:\n{}",
        problems.join("\n")
    );
    let distinct: BTreeSet<(&str, &str)> = calls
        .iter()
        .map(|call| (call.function.as_str(), call.call.as_str()))
        .collect();
    // A recording that missed the functions' calls would prove nothing.
    for function in table.functions.keys() {
        ensure!(
            distinct.iter().any(|(caller, _)| caller == function),
            "no call of {function} was recorded"
        );
    }
    println!(
        "check: all {} calls of the functions ({} distinct) are in permissions.yaml",
        calls.len(),
        distinct.len()
    );
    Ok(())
}

/// The Connect calls the user import made since `from` (the update that moved the stack to another
/// instance), each evaluated against the import's policy as the update left it: CloudFormation's
/// cleanup Delete of the first instance's users runs under that new policy.
fn check_cleanup_allowed(
    cloud: &Cloud,
    stack: &Stack<'_>,
    from: usize,
    previous_instance: &str,
) -> anyhow::Result<()> {
    let table = Table::load()?;
    let policies = stack
        .resolved_properties("ConnectUserImportFunction")
        .map(|properties| properties["Policies"].clone())
        .ok_or_else(|| anyhow!("the import function is not deployed"))?;
    let statements = resolved_statements(&policies);
    let calls = cloud.recorder.calls();
    let mut deleted_in_previous = 0;
    for call in calls.iter().skip(from) {
        if call.caller != "connect-user-import" || !call.call.starts_with("connect:") {
            continue;
        }
        let Some(instance) = &call.connect_instance else {
            continue;
        };
        let instance_arn = format!("arn:aws:connect:{REGION}:{ACCOUNT_ID}:instance/{instance}");
        let resource = match &call.connect_user {
            Some(user) => format!("{instance_arn}/agent/{user}"),
            None => instance_arn,
        };
        let context: BTreeMap<String, String> = call
            .resource_tags
            .iter()
            .map(|(key, value)| (format!("aws:ResourceTag/{key}"), value.clone()))
            .collect();
        let row = table
            .row("connect-user-import", &call.call)
            .ok_or_else(|| {
                anyhow!(
                    "connect-user-import called {}, which permissions.yaml does not list",
                    call.call
                )
            })?;
        // The primary action, on the resource the call names. (What a dependent action is
        // checked on, e.g. SearchUsers' DescribeUser, AWS does not document: not evaluated.)
        let action = &row.actions[0];
        let request = Request {
            action: action.clone(),
            resource: resource.clone(),
            context,
        };
        ensure!(
            allows(&statements, &request),
            "the import's policy after the update denies {action} on {resource} (tags {:?})",
            call.resource_tags
        );
        if call.call == "connect:DeleteUser" && instance == previous_instance {
            deleted_in_previous += 1;
        }
    }
    ensure!(
        deleted_in_previous > 0,
        "no DeleteUser in the previous instance {previous_instance} was recorded during the update"
    );
    Ok(())
}

/// An update, then its rollback: CloudFormation rolls a failed update back by sending each
/// resource it changed an Update with the old properties (ResourceProperties and
/// OldResourceProperties swapped), which is what deploying `current` again sends here.
async fn update_and_roll_back(
    cloud: &Cloud,
    stack: &mut Stack<'_>,
    current: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    println!("== an update of the relay state, then its rollback");
    let relay_state = stack.outputs()["RelayState"].clone();
    let mapping = stack.physical_id("AttributeMapping").map(str::to_owned);
    let application = stack.outputs()["ApplicationArn"].clone();
    let mut changed = current.clone();
    changed.insert(
        "RelayStateDestination".to_owned(),
        "/agent-app-v2".to_owned(),
    );
    stack.update(&changed).await?;
    let updated = stack.outputs()["RelayState"].clone();
    ensure!(
        updated.ends_with("?destination=%2Fagent-app-v2"),
        "the update did not change the relay state: {updated}"
    );
    let shown = cloud
        .identity_center
        .application(&application)
        .ok_or_else(|| anyhow!("the application is gone after the update"))?
        .to_string();
    ensure!(
        shown.contains(&updated),
        "the application does not carry the updated relay state"
    );
    stack.update(current).await?;
    ensure!(
        stack.outputs()["RelayState"] == relay_state,
        "after the rollback the relay state is {}, expected {relay_state}",
        stack.outputs()["RelayState"]
    );
    ensure!(
        stack.physical_id("AttributeMapping").map(str::to_owned) == mapping
            && stack.outputs()["ApplicationArn"] == application,
        "the rollback replaced a resource instead of updating it in place"
    );
    // The application carries the old relay state again, and every link still holds.
    check_federation(cloud, stack).await?;
    println!("check: the rollback restored the relay state in place\n");
    Ok(())
}

/// The metadata document an IAM SAML provider holds.
async fn saml_document(cloud: &Cloud, arn: &str) -> anyhow::Result<String> {
    let provider = cloud
        .iam()
        .get_saml_provider()
        .saml_provider_arn(arn)
        .send()
        .await
        .with_context(|| format!("reading the SAML provider {arn}"))?;
    Ok(provider
        .saml_metadata_document()
        .unwrap_or_default()
        .to_owned())
}

/// Reads the import's progress record while an import runs, printing each change as
/// `connect-sso status` would.
struct ProgressWatcher {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Vec<ImportProgress>>,
}

impl ProgressWatcher {
    fn start(cloud: &Cloud, parameter: &str) -> Self {
        let client = cloud.ssm();
        let parameter = parameter.to_owned();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut seen: Vec<ImportProgress> = Vec::new();
            loop {
                if let Ok(Status::Recorded(progress)) = status::read(&client, &parameter).await
                    && seen.last() != Some(&*progress)
                {
                    let now = connect_user_import::progress::epoch_seconds();
                    let text = status::render(&Status::Recorded(progress.clone()), now);
                    println!("   status | {}", text.replace('\n', "\n   status | "));
                    seen.push(*progress);
                }
                if *stopped.borrow() {
                    return seen;
                }
                let _ = tokio::time::timeout(Duration::from_secs(1), stopped.changed()).await;
            }
        });
        Self { stop, task }
    }

    /// Stops watching (after one last read) and returns every record seen, in order.
    async fn stop(self) -> Vec<ImportProgress> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

/// How many times the user import handed a request on to a new invocation so far.
fn handed_on(stack: &Stack<'_>) -> usize {
    stack
        .function_logs("ConnectUserImportFunction")
        .iter()
        .filter(|line| line.contains("continuing in a new invocation"))
        .count()
}

/// The chain a sign-in needs, checked across the emulated services.
async fn check_federation(cloud: &Cloud, stack: &Stack<'_>) -> anyhow::Result<()> {
    let outputs = stack.outputs();
    let output = |name: &str| {
        outputs
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow!("no {name} output"))
    };
    let application = cloud
        .identity_center
        .application(&output("ApplicationArn")?)
        .ok_or_else(|| anyhow!("the application does not exist"))?;
    let provider_arn = output("SamlProviderArn")?;
    let role_arn = output("FederationRoleArn")?;
    ensure!(
        output("RoleAttribute")? == format!("{role_arn},{provider_arn}"),
        "the Role attribute is not <role ARN>,<provider ARN>"
    );
    let relay_state = output("RelayState")?;
    let instance_id = output("ConnectInstanceId")?;
    ensure!(
        relay_state
            == format!(
                "https://us-east-1.console.aws.amazon.com/connect/federate/{instance_id}?destination=%2Fccp-v2"
            ),
        "unexpected relay state {relay_state}"
    );
    let application_text = application.to_string();
    ensure!(
        application_text.contains(&relay_state),
        "the application does not carry the relay state"
    );
    ensure!(
        application_text.contains(&role_arn),
        "the application's attributes do not name the role"
    );
    cloud
        .iam()
        .get_saml_provider()
        .saml_provider_arn(&provider_arn)
        .send()
        .await
        .context("the SAML provider does not exist")?;
    let role_name = role_arn.rsplit('/').next().unwrap_or_default();
    let role = cloud
        .iam()
        .get_role()
        .role_name(role_name)
        .send()
        .await
        .context("the role does not exist")?;
    let trust = role
        .role()
        .and_then(|role| role.assume_role_policy_document())
        .unwrap_or_default();
    // IAM returns policy documents URL-encoded.
    let trust = percent_encoding::percent_decode_str(trust).decode_utf8_lossy();
    ensure!(
        trust.contains(&provider_arn),
        "the role does not trust the SAML provider: {trust}"
    );
    Ok(())
}

/// `connect-sso preflight` for the stack about to be created, against the emulated services.
async fn preflight(
    cloud: &Cloud,
    parameters: &BTreeMap<String, String>,
) -> anyhow::Result<connect_sso_cli::preflight::Report> {
    let deployment = connect_sso_cli::preflight::Deployment::new(
        "connect-sso-local",
        REGION,
        parameters.clone(),
    )?;
    let operator = connect_sso_cli::preflight::Operator {
        // STS (for IdentityCenterRoleArn) is moto's.
        config: sdk_config(Some(&cloud.moto_endpoint)).await,
        identity_center: None,
        endpoints: connect_sso_cli::Endpoints {
            connect: Some(cloud.connect.endpoint()),
            iam: Some(cloud.iam_proxy.endpoint.clone()),
            identity_store: Some(cloud.moto_endpoint.clone()),
            sso_admin: Some(cloud.identity_center.endpoint()),
        },
    };
    let report = connect_sso_cli::preflight::run(&operator, &deployment).await;
    println!("$ connect-sso preflight\n{report}\n");
    Ok(report)
}

/// `connect-sso doctor` on the deployed stack, against the emulated services.
async fn doctor(
    cloud: &Cloud,
    stack: &Stack<'_>,
    groups: &[&str],
) -> anyhow::Result<connect_sso_cli::doctor::Report> {
    let target = connect_sso_cli::Target::from_stack(stack.outputs(), &parameters(groups), REGION)?;
    let endpoints = connect_sso_cli::Endpoints {
        connect: Some(cloud.connect.endpoint()),
        iam: Some(cloud.iam_proxy.endpoint.clone()),
        identity_store: Some(cloud.moto_endpoint.clone()),
        sso_admin: Some(cloud.identity_center.endpoint()),
    };
    let mut clients =
        connect_sso_cli::Clients::new(&sdk_config(None).await, REGION, REGION, &endpoints)?;
    // The emulated access portal serves the metadata over plain http.
    clients.metadata.allow_http = true;
    let report = connect_sso_cli::doctor::run(&clients, &target).await;
    println!("\n$ connect-sso doctor\n{report}");
    Ok(report)
}

fn print_outputs(stack: &Stack<'_>) {
    println!("\nOutputs:");
    for (name, value) in stack.outputs() {
        println!("  {name:<22} {value}");
    }
}
