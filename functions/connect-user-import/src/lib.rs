//! `Custom::ConnectUserImport`: step 5 of the guide, adding each Connect user with a login name
//! equal to their SAML RoleSessionName, done as a reconciliation. The members of Identity Center
//! groups become users of a SAML Connect instance; users who leave the groups are deleted (or
//! retained); only users this resource created (tagged with the stack and logical resource) are
//! ever changed.
//!
//! A reconciliation is [`Importer::reconcile`]: read both sides in bulk, [`plan::plan`] the
//! difference, then [`Importer::execute`] the writes within a deadline. A scheduled sync calls the
//! same function; what a run could not finish comes back in [`Report::not_done`], and running the
//! reconciliation again (or executing those actions) resumes from there.

pub mod connect;
pub mod directory;
pub mod execute;
pub mod limiter;
pub mod plan;
pub mod progress;
pub mod properties;
pub mod report;
pub mod retry;
pub mod sync;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use aws_config::SdkConfig;
use aws_sdk_connect::types::DirectoryType;
use custom_resource::value::NonBlank;
use custom_resource::{Continuation, CustomResource, Failure, Outcome, Request, Step, Update};
use futures::StreamExt;
use identity_center::access::session_name;
use identity_center::{Caller, Destination};
use serde_json::Value;
use stack_sync::StackGuard;

use crate::connect::{Connect, Named};
use crate::directory::{Directory, DirectoryReads};
use crate::execute::{Applied, Executor};
use crate::limiter::{LimiterState, Quota, RateLimiter};
use crate::plan::{Action, Owner, Plan, Profiles, Rule, Settings};
use crate::progress::{Earlier, ImportState, ProgressRecorder, Writes};
use crate::properties::{OnDeadline, OnUserRemoved, Properties};
use crate::report::{PROBLEMS_BYTES, PROBLEMS_SHOWN, bounded_list};
pub use crate::report::{Problem, ProblemKind, Report};

/// The template's floor on the function's Timeout (`UserImportTimeout` MinValue), in seconds:
/// runs of this length fit the longest import CloudFormation waits for within the core's hop
/// bound ([`custom_resource::continuation::runs_needed`]).
pub const MIN_RUN_SECONDS: u64 = 30;
/// Extra reads a Delete makes for users too new to show in the first one.
const SETTLE_ROUNDS: usize = 2;

/// Tuning of an import. The defaults suit Lambda against real Connect.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The client-side limit per Connect API operation.
    pub quota: Quota,
    /// Time kept for one call: none starts later than this before the deadline.
    pub call_time: Duration,
    /// Users written at once (each call still waits for its operation's slot).
    pub concurrency: usize,
    /// How long to wait before looking again for users that were too new to show in a read
    /// (a Delete checks once more after deleting, so none is left behind).
    pub settle_time: Duration,
    /// Overrides the Connect endpoint of the SDK configuration (tests; from the environment,
    /// `AWS_ENDPOINT_URL_CONNECT` does the same).
    pub connect_endpoint: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            quota: Quota::CONNECT_DEFAULT,
            call_time: Duration::from_secs(5),
            concurrency: 8,
            settle_time: Duration::from_secs(2),
            connect_endpoint: None,
        }
    }
}

/// A plan and the instance it is for.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub instance_id: String,
    pub plan: Plan,
    /// The identity-store calls the directory read took.
    pub directory_reads: DirectoryReads,
    /// How long the plan's writes take at the Connect quota ([`progress::estimate`]).
    pub estimate: Duration,
}

/// The reconciliation of Connect users with identity-store groups.
pub struct Importer {
    sdk_config: SdkConfig,
    connect: Connect,
    options: ImportOptions,
    /// Where a person watches the import ([`progress`]).
    progress: ProgressRecorder,
}

impl Importer {
    pub fn new(sdk_config: &SdkConfig, options: ImportOptions) -> Self {
        let limiter = Arc::new(RateLimiter::new(options.quota));
        let mut config = aws_sdk_connect::config::Builder::from(sdk_config)
            .retry_config(retry::connect_retry_config())
            .retry_partition(retry::retry_partition("connect-user-import"))
            .retry_classifier(retry::NoRetryOnLimitExceeded)
            .interceptor(retry::ThrottleFeedback {
                limiter: Arc::clone(&limiter),
            });
        if let Some(endpoint) = &options.connect_endpoint {
            config = config.endpoint_url(endpoint);
        }
        let connect = Connect::new(
            aws_sdk_connect::Client::from_conf(config.build()),
            limiter,
            options.call_time,
        );
        Self {
            sdk_config: sdk_config.clone(),
            connect,
            options,
            progress: ProgressRecorder::off(),
        }
    }

    /// Records the progress with `recorder` (by default, nowhere).
    pub fn with_progress(self, recorder: ProgressRecorder) -> Self {
        Self {
            progress: recorder,
            ..self
        }
    }

    pub fn progress(&self) -> &ProgressRecorder {
        &self.progress
    }

    /// From the Lambda environment: the SDK's default configuration (which honours
    /// `AWS_ENDPOINT_URL[_<SERVICE>]`) and the quota in `CONNECT_REQUESTS_PER_SECOND` /
    /// `CONNECT_REQUEST_BURST`.
    pub async fn from_env() -> anyhow::Result<Self> {
        Self::from_env_with(&https_client::sdk::load_config().await)
    }

    /// [`Self::from_env`] with an `SdkConfig` already loaded (loading it costs start-up time).
    pub fn from_env_with(sdk_config: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let options = ImportOptions {
            quota: Quota::from_env()?,
            ..ImportOptions::default()
        };
        Ok(Self::new(sdk_config, options).with_progress(ProgressRecorder::from_env(sdk_config)))
    }

    /// The Connect rate limiter's buckets now, for the next run of a continuation.
    pub fn limiter_state(&self) -> LimiterState {
        self.connect.limiter().state()
    }

    /// Takes up the buckets an earlier run of the same import left ([`Self::limiter_state`]):
    /// a new run must not spend a burst Connect has not refilled.
    pub fn resume_limiter(&self, state: &LimiterState) {
        self.connect.limiter().resume(state);
    }

    /// The quota the import paces at.
    pub fn quota(&self) -> Quota {
        self.options.quota
    }

    /// Makes the instance's users follow the groups (or, with `DryRun`, says how it would).
    pub async fn reconcile(
        &self,
        owner: &Owner,
        properties: &Properties,
        deadline: Instant,
    ) -> anyhow::Result<Report> {
        self.reconcile_checked(owner, properties, deadline, Checkpoint::None)
            .await
    }

    /// [`Importer::reconcile`], asking `checkpoint` before each batch of writes after the first
    /// whether to go on (a scheduled sync re-checks the stack: CloudFormation may have started
    /// working on it meanwhile). A stop leaves the rest in [`Report::not_done`].
    pub async fn reconcile_checked(
        &self,
        owner: &Owner,
        properties: &Properties,
        deadline: Instant,
        checkpoint: Checkpoint<'_>,
    ) -> anyhow::Result<Report> {
        let prepared = self.prepare(owner, properties, deadline).await?;
        let mut report = Report::from_plan(&prepared.plan, properties.dry_run);
        if properties.dry_run {
            report.planned = prepared.plan.actions.iter().map(Action::describe).collect();
            report.created = prepared.plan.count(|a| matches!(a, Action::Create { .. }));
            report.updated = prepared.plan.count(|a| matches!(a, Action::Update { .. }));
            report.deleted = prepared.plan.count(|a| matches!(a, Action::Delete { .. }));
            return Ok(report);
        }
        self.progress
            .planned(
                &prepared.instance_id,
                &prepared.plan,
                self.options.quota,
                deadline,
            )
            .await;
        self.execute(
            owner,
            &prepared.instance_id,
            prepared.plan.actions,
            properties.adopt_existing,
            deadline,
            checkpoint,
            &mut report,
        )
        .await;
        // An unfinished run is finished by its caller, which knows whether it goes on.
        if report.is_complete() {
            self.progress
                .finish(ImportState::Complete, 0, None, deadline)
                .await;
        } else if let Some(reason) = &report.stopped {
            self.progress
                .finish(
                    ImportState::Stopped,
                    report.not_done.len(),
                    Some(reason.clone()),
                    deadline,
                )
                .await;
        }
        Ok(report)
    }

    /// Deletes (or, with `OnUserRemoved: Retain`, keeps) every user this resource created in
    /// the instance. `None` when the instance no longer exists.
    pub async fn remove(
        &self,
        owner: &Owner,
        instance_id: &str,
        on_user_removed: OnUserRemoved,
        deadline: Instant,
    ) -> anyhow::Result<Option<Report>> {
        // Only the ownership and OnUserRemoved matter when no directory user is wanted.
        let settings = Settings {
            on_user_removed,
            ..placeholder_settings()
        };
        let mut report = Report::default();
        // Users created moments ago may not show in the reads yet (a rollback Delete can come
        // seconds after the Create): after deleting what shows, look again once they would show.
        for round in 0..=SETTLE_ROUNDS {
            if round > 0 {
                if Instant::now() + self.options.settle_time + self.options.call_time > deadline {
                    break;
                }
                tokio::time::sleep(self.options.settle_time).await;
            }
            let users = match self.connect.users(instance_id, deadline).await {
                Ok(users) => users,
                Err(error) if error.is_not_found() && round == 0 => {
                    return Ok(None);
                }
                Err(error) if error.is_not_found() => break,
                Err(error) => {
                    return Err(error)
                        .context("reading the instance's users (connect ListUsers/SearchUsers)");
                }
            };
            let plan = plan::plan(&[], &users, &settings, owner);
            let found = plan.actions.len();
            if round == 0 && found > 0 {
                // Said before the first delete: a rollback of a large Create takes a while.
                let estimate = progress::estimate(&plan.actions, self.options.quota);
                tracing::info!(
                    users = found,
                    estimated_seconds = estimate.as_secs(),
                    "deleting {found} users takes about {} at Connect's quota of {} requests/s",
                    progress::human_duration(estimate),
                    self.options.quota.requests_per_second
                );
            }
            report.retained = plan.retained.len();
            self.execute(
                owner,
                instance_id,
                plan.actions,
                false,
                deadline,
                Checkpoint::None,
                &mut report,
            )
            .await;
            if found == 0 && round > 0
                || !report.is_complete()
                || on_user_removed == OnUserRemoved::Retain
            {
                break;
            }
        }
        Ok(Some(report))
    }

    /// Reads the directory and the instance and plans the writes; makes none. Fails, before
    /// any write, on what the properties get wrong (an instance that is not SAML, unknown
    /// groups or profiles).
    pub async fn prepare(
        &self,
        owner: &Owner,
        properties: &Properties,
        deadline: Instant,
    ) -> anyhow::Result<Prepared> {
        properties.validate()?;
        let instance_id = properties.instance_id();
        let management = self
            .connect
            .identity_management_type(instance_id, deadline)
            .await
            .context("connect DescribeInstance")?
            .with_context(|| {
                format!(
                    "invalid property InstanceId: Connect instance {instance_id} does not exist"
                )
            })?;
        if management != DirectoryType::Saml {
            bail!(
                "invalid property InstanceId: Connect instance {instance_id} uses {} identity management; \
                 this import (users signing in through IAM Identity Center) needs a SAML instance",
                management.as_str()
            );
        }
        let settings = self.settings(instance_id, properties, deadline).await?;
        let (directory, groups, destination) = self.directory(owner, properties, deadline).await?;
        let settings = Settings {
            rules: settings
                .rules
                .into_iter()
                .zip(&groups.rule_groups)
                .map(|(rule, group_id)| Rule {
                    group_id: group_id.clone(),
                    ..rule
                })
                .collect(),
            ..settings
        };
        let (members, directory_reads) = directory
            .members(&groups.imported, &groups.all, deadline)
            .await
            .map_err(read_in(&destination))?;
        let users = self
            .connect
            .users(instance_id, deadline)
            .await
            .context("reading the instance's users (connect ListUsers/SearchUsers)")?;
        let plan = plan::plan(&members, &users, &settings, owner);
        let estimate = progress::estimate(&plan.actions, self.options.quota);
        tracing::info!(
            instance_id = %instance_id,
            members = members.len(),
            connect_users = users.len(),
            actions = plan.actions.len(),
            unchanged = plan.unchanged.len(),
            skipped = plan.skipped.len(),
            directory_calls = directory_reads.calls(),
            membership_pages = directory_reads.membership_pages,
            user_pages = directory_reads.user_pages,
            users_described = directory_reads.described,
            estimated_seconds = estimate.as_secs(),
            "planned"
        );
        Ok(Prepared {
            instance_id: instance_id.to_owned(),
            plan,
            directory_reads,
            estimate,
        })
    }

    /// Carries out `actions` until done or until the deadline is near, adding the outcome to
    /// `report`: actions not done are in `report.not_done`.
    // Each argument is a separate fact of the run (ownership, target, plan, policy, time,
    // checks, the report it adds to); a struct for them would only rename the list.
    #[allow(clippy::too_many_arguments)]
    pub async fn execute(
        &self,
        owner: &Owner,
        instance_id: &str,
        actions: Vec<Action>,
        adopt_existing: bool,
        deadline: Instant,
        checkpoint: Checkpoint<'_>,
        report: &mut Report,
    ) {
        let executor = Executor {
            connect: &self.connect,
            instance_id,
            owner,
            adopt_existing,
            deadline,
        };
        let batch_size = checkpoint.batch_size();
        let mut outcomes = Vec::new();
        let mut actions = actions.into_iter().peekable();
        let mut first = true;
        while actions.peek().is_some() {
            if !first && let Some(reason) = checkpoint.stop_reason().await {
                tracing::warn!(%reason, "writes stopped between batches");
                report.stopped = Some(reason);
                report.not_done.extend(actions);
                break;
            }
            first = false;
            let batch: Vec<Action> = actions.by_ref().take(batch_size).collect();
            let mut applied = std::pin::pin!(executor.run(batch, self.options.concurrency));
            while let Some((action, outcome)) = applied.next().await {
                if let Some((write, problem)) = outcome.progress(&action) {
                    self.progress
                        .wrote(write, problem.as_ref().map(Problem::to_string));
                }
                outcomes.push((action, outcome));
            }
        }
        for (action, applied) in outcomes {
            report.problems.extend(applied.problem(&action));
            match applied {
                Applied::Created => report.created += 1,
                Applied::Updated => report.updated += 1,
                Applied::Deleted => report.deleted += 1,
                Applied::Unchanged => report.unchanged += 1,
                Applied::Skipped(_) => report.skipped += 1,
                Applied::Failed(_) => {}
                Applied::NotDone(rest) => report.not_done.push(*rest),
            }
        }
        for problem in &report.problems {
            tracing::warn!(%problem, "user not imported as wanted");
        }
        tracing::info!(summary = %report.summary(), not_done = report.not_done.len(), "reconciled");
    }

    /// The properties' profile names resolved to ids (rules' group ids filled in later).
    async fn settings(
        &self,
        instance_id: &str,
        properties: &Properties,
        deadline: Instant,
    ) -> anyhow::Result<Settings> {
        let security = self
            .connect
            .security_profiles(instance_id, deadline)
            .await
            .context("connect ListSecurityProfiles")?;
        let routing = self
            .connect
            .routing_profiles(instance_id, deadline)
            .await
            .context("connect ListRoutingProfiles")?;
        let security_ids =
            |property: &str, names: &[NonBlank]| -> anyhow::Result<BTreeSet<String>> {
                names
                    .iter()
                    .map(|name| profile_id(&security, name, property, "security"))
                    .collect()
            };
        let mut rules = Vec::new();
        for (index, rule) in properties.group_rules.iter().enumerate() {
            rules.push(Rule {
                group_id: String::new(),
                security_profile_ids: rule
                    .security_profiles
                    .as_deref()
                    .map(|names| {
                        security_ids(&format!("GroupRules[{index}].SecurityProfiles"), names)
                    })
                    .transpose()?,
                routing_profile_id: rule
                    .routing_profile
                    .as_deref()
                    .map(|name| {
                        profile_id(
                            &routing,
                            name,
                            &format!("GroupRules[{index}].RoutingProfile"),
                            "routing",
                        )
                    })
                    .transpose()?,
            });
        }
        Ok(Settings {
            username_attribute: properties.username_attribute,
            defaults: Profiles {
                security_profile_ids: security_ids(
                    "SecurityProfiles",
                    &properties.security_profiles,
                )?,
                routing_profile_id: profile_id(
                    &routing,
                    &properties.routing_profile,
                    "RoutingProfile",
                    "routing",
                )?,
            },
            rules,
            phone_type: properties.phone_type,
            auto_accept: properties.auto_accept,
            after_contact_work_time_limit: properties.after_contact_work_time_limit,
            on_user_removed: properties.on_user_removed,
            adopt_existing: properties.adopt_existing,
        })
    }

    /// The identity store, the ids of the groups the properties name, and where they were read:
    /// Identity Center's home region, as the function or as `IdentityCenterRoleArn` (Identity
    /// Center in another account). Connect calls keep the function's own credentials.
    async fn directory(
        &self,
        owner: &Owner,
        properties: &Properties,
        deadline: Instant,
    ) -> anyhow::Result<(Directory, Groups, Destination)> {
        let region = properties
            .identity_center_region
            .as_ref()
            .map(arn::Region::as_str)
            .or_else(|| self.sdk_config.region().map(|region| region.as_ref()))
            .context("no IdentityCenterRegion given and the function has no AWS region")?
            .to_owned();
        let caller = Caller::select(
            &self.sdk_config,
            properties.identity_center_role()?.as_ref(),
            &session_name(owner.stack_name(), &owner.logical_resource_id),
            owner.stack_account(),
        )
        .await?;
        let config = caller.config(&self.sdk_config, &region);
        let destination = caller.destination(&region);
        let identity_store_id = match &properties.identity_store_id {
            Some(id) => id.clone(),
            None => directory::identity_store_id(&aws_sdk_ssoadmin::Client::new(&config), deadline)
                .await
                .map_err(read_in(&destination))?,
        };
        let directory = Directory {
            client: identity_store_client(&config, None),
            identity_store_id,
        };
        let mut groups = Groups::default();
        for (index, group) in properties.groups.iter().enumerate() {
            let id = directory
                .group_id(group.trim(), &format!("Groups[{index}]"), deadline)
                .await
                .map_err(read_in(&destination))?;
            groups.imported.insert(id.clone());
            groups.all.insert(id);
        }
        for (index, rule) in properties.group_rules.iter().enumerate() {
            let id = directory
                .group_id(
                    rule.group.trim(),
                    &format!("GroupRules[{index}].Group"),
                    deadline,
                )
                .await
                .map_err(read_in(&destination))?;
            groups.all.insert(id.clone());
            groups.rule_groups.push(id);
        }
        Ok((directory, groups, destination))
    }
}

/// Writes made between two checks of the stack in a scheduled sync or a background run (about
/// 25 s at Connect's 2 requests a second; each check is two CloudFormation reads).
pub const WRITES_BETWEEN_CHECKS: usize = 50;

/// Who is asked, between batches of writes, whether the import may go on.
#[derive(Clone, Copy)]
pub enum Checkpoint<'a> {
    /// Nobody: CloudFormation waits for this request, so nothing else runs on the stack.
    None,
    /// A scheduled sync: the stack must still be settled.
    Sync(&'a stack_sync::Settled<'a>),
    /// A run after CloudFormation was answered: the stack must still be in that operation.
    Background(&'a Request),
}

impl Checkpoint<'_> {
    /// Why the writes must stop now, `None` to go on.
    async fn stop_reason(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Sync(settled) => settled.stop_reason().await,
            Self::Background(request) => request.stop_reason().await,
        }
    }

    fn batch_size(&self) -> usize {
        match self {
            Self::None => usize::MAX,
            Self::Sync(_) | Self::Background(_) => WRITES_BETWEEN_CHECKS,
        }
    }
}

/// Says where the directory was read, after what went wrong: Identity Center answers a call from
/// the wrong account or region as if the group or store did not exist.
fn read_in(destination: &Destination) -> impl Fn(anyhow::Error) -> anyhow::Error + '_ {
    move |error| anyhow!("{error:#} (directory read in {destination})")
}

/// The identity-store client: retries throttles after the `RetryAfterSeconds` the service asks
/// for (within the SDK's bounds on a retry delay).
pub fn identity_store_client(
    sdk_config: &SdkConfig,
    region: Option<aws_config::Region>,
) -> aws_sdk_identitystore::Client {
    let mut config = aws_sdk_identitystore::config::Builder::from(sdk_config)
        .retry_config(retry::identity_store_retry_config())
        .retry_classifier(retry::HonourRetryAfterSeconds);
    if let Some(region) = region {
        config = config.region(region);
    }
    aws_sdk_identitystore::Client::from_conf(config.build())
}

#[derive(Debug, Default)]
struct Groups {
    imported: BTreeSet<String>,
    all: BTreeSet<String>,
    /// One per GroupRules entry, in order.
    rule_groups: Vec<String>,
}

fn profile_id(
    profiles: &[Named],
    name: &str,
    property: &str,
    kind: &str,
) -> anyhow::Result<String> {
    let wanted = name.trim();
    if let Some(profile) = profiles
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(wanted))
    {
        return Ok(profile.id.clone());
    }
    let mut available: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    available.sort_unstable();
    Err(anyhow!(
        "invalid property {property}: the instance has no {kind} profile named {wanted:?}; available: {}",
        available.join(", ")
    ))
}

/// Settings for a plan with no directory users: only OnUserRemoved is read.
fn placeholder_settings() -> Settings {
    Settings {
        username_attribute: properties::UsernameAttribute::Email,
        defaults: Profiles {
            security_profile_ids: BTreeSet::new(),
            routing_profile_id: String::new(),
        },
        rules: Vec::new(),
        phone_type: properties::PhoneType::SoftPhone,
        auto_accept: false,
        after_contact_work_time_limit: 0,
        on_user_removed: OnUserRemoved::Delete,
        adopt_existing: false,
    }
}

/// The physical id: the instance, the stack and the logical resource. Stable across updates
/// of the same instance; another instance means a new id (a replacement).
pub fn physical_id(instance_id: &str, owner: &Owner) -> String {
    format!(
        "{instance_id}/{}/{}",
        owner.stack_guid(),
        owner.logical_resource_id
    )
}

/// The instance of a physical id this resource made for this stack and logical resource.
pub fn instance_of(physical_id: &str, owner: &Owner) -> Option<String> {
    let mut parts = physical_id.split('/');
    let (Some(instance), Some(stack), Some(logical), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let ours =
        !instance.is_empty() && stack == owner.stack_guid() && logical == owner.logical_resource_id;
    ours.then(|| instance.to_owned())
}

/// The CloudFormation custom resource (and the scheduled sync of it).
pub struct ConnectUserImport {
    pub importer: Importer,
    /// Asks CloudFormation whether a scheduled sync may act; `None`: syncs are refused.
    pub guard: Option<StackGuard>,
    /// What a sync acts on, set by the stack (the function's environment); `None`: syncs are
    /// refused.
    pub sync_target: Option<stack_sync::SyncTarget>,
}

/// What earlier runs of one request did, handed from run to run by the core.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DoneBefore {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// When the first run started (seconds since the epoch), for the progress record's rate.
    #[serde(default)]
    pub started_at: u64,
    /// The Connect rate limiter's buckets when the last run ended: the next run paces on from
    /// them instead of spending a burst Connect has not refilled.
    #[serde(default)]
    pub limiter: LimiterState,
}

impl DoneBefore {
    /// Adds this run's report to what earlier runs did; users earlier runs created or updated are
    /// "unchanged" to this run, so they are taken out of that count.
    pub fn total(&self, mut report: Report) -> Report {
        report.created += self.created;
        report.updated += self.updated;
        report.deleted += self.deleted;
        report.unchanged = report.unchanged.saturating_sub(self.created + self.updated);
        report
    }

    /// The first run's: nothing done, started now.
    fn starting() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default();
        Self {
            started_at: now,
            ..Self::default()
        }
    }

    /// What to carry to the next run after a run that ended with `total`.
    fn next(&self, total: &Report, limiter: LimiterState) -> Self {
        Self {
            created: total.created,
            updated: total.updated,
            deleted: total.deleted,
            started_at: self.started_at,
            limiter,
        }
    }

    /// What earlier runs did, for the progress record.
    fn earlier(&self, request: &Request) -> Earlier {
        Earlier {
            runs: request.run(),
            started_at: (self.started_at > 0).then_some(self.started_at),
            done: Writes {
                create: self.created,
                update: self.updated,
                delete: self.deleted,
            },
        }
    }
}

impl ConnectUserImport {
    /// No sync: the resource only.
    pub fn new(importer: Importer) -> Self {
        Self {
            importer,
            guard: None,
            sync_target: None,
        }
    }

    pub fn with_sync_target(self, target: stack_sync::SyncTarget) -> Self {
        Self {
            sync_target: Some(target),
            ..self
        }
    }

    pub fn with_guard(self, guard: StackGuard) -> Self {
        Self {
            guard: Some(guard),
            ..self
        }
    }

    pub async fn from_env() -> anyhow::Result<Self> {
        let config = https_client::sdk::load_config().await;
        let resource = Self::new(Importer::from_env_with(&config)?)
            .with_guard(StackGuard::from_config(&config));
        Ok(match stack_sync::SyncTarget::from_env()? {
            Some(target) => resource.with_sync_target(target),
            None => resource,
        })
    }

    /// One run of the import, up to the run's deadline, added to what earlier runs of the same
    /// request did: done, or to be continued by the core in a new run.
    async fn import(&self, request: &Request, properties: &Properties) -> Result<Step, Failure> {
        properties.validate()?;
        let instance_id = properties.instance_id();
        let id = physical_id(instance_id, &request.owner);
        let done_before: DoneBefore = request.state()?.unwrap_or_else(DoneBefore::starting);
        self.importer.resume_limiter(&done_before.limiter);
        self.importer
            .progress()
            .begin(request.request_type.as_str(), done_before.earlier(request));
        // In the background, the stack is checked again between batches: an update, a rollback
        // or a delete stops the writes within one batch.
        let checkpoint = if request.in_background() {
            Checkpoint::Background(request)
        } else {
            Checkpoint::None
        };
        let report = match self
            .importer
            .reconcile_checked(&request.owner, properties, request.respond_by, checkpoint)
            .await
        {
            Ok(report) => report,
            Err(error) => {
                self.importer
                    .progress()
                    .failed(instance_id, format!("{error:#}"), request.respond_by)
                    .await;
                return Err(error.into());
            }
        };
        let report = done_before.total(report);
        if report.is_complete() {
            let mut outcome = Outcome::new(id);
            outcome.data = report.data();
            return Ok(Step::Done(outcome));
        }
        if let Some(reason) = &report.stopped {
            // Only a background run stops between batches; the next deployment or sync takes over.
            return Err(anyhow!(
                "the import stopped between batches: {reason}; {}; {} writes not made: the next \
                 deployment or scheduled sync makes them",
                report.summary(),
                report.not_done.len()
            )
            .into());
        }
        let state = done_before.next(&report, self.importer.limiter_state());
        let remaining = progress::estimate(&report.not_done, self.importer.quota());
        if properties.on_deadline == OnDeadline::ContinueInBackground
            && !request.fits_before_answer(remaining)
        {
            return self
                .answer_and_continue(request, id, &report, &state, remaining)
                .await;
        }
        // The core decides whether there is room for another run; if there is not, it answers
        // FAILED with the progress text below.
        self.importer
            .progress()
            .finish(
                ImportState::Continuing,
                report.not_done.len(),
                Some(format!("continues in run {}", request.run() + 2)),
                request.respond_by,
            )
            .await;
        // An unfinished Create keeps its id, so a rollback's Delete removes the users it made.
        Ok(Step::Continue(Continuation::new(
            id,
            &state,
            progress(&report),
        )?))
    }

    /// The rest would not fit before CloudFormation stops waiting: answer SUCCESS now with what
    /// is done (`ImportComplete` false, `UsersRemaining`), and go on in the background.
    async fn answer_and_continue(
        &self,
        request: &Request,
        id: String,
        report: &Report,
        state: &DoneBefore,
        remaining: Duration,
    ) -> Result<Step, Failure> {
        let note = format!(
            "CloudFormation answered with {}; the remaining {} writes (about {}) go on in the background",
            report.summary(),
            report.not_done.len(),
            progress::human_duration(remaining)
        );
        tracing::info!(
            writes_remaining = report.not_done.len(),
            estimated_seconds = remaining.as_secs(),
            "{note}"
        );
        self.importer
            .progress()
            .finish(
                ImportState::Continuing,
                report.not_done.len(),
                Some(note),
                request.respond_by,
            )
            .await;
        let mut outcome = Outcome::new(id);
        outcome.data = report.data();
        Ok(Step::Continue(Continuation::answering(
            outcome,
            state,
            progress(report),
        )?))
    }
}

/// How far an unfinished import got, for the logs and for the FAILED answer of a chain that
/// cannot go on.
fn progress(report: &Report) -> String {
    format!(
        "{}; {} writes not made, remaining (first: {}); problems: {}. Raise ServiceTimeout (at most 3600), the \
         function's Timeout or the Connect API quota ({} / {}); running the update again resumes",
        report.summary(),
        report.not_done.len(),
        report
            .not_done
            .first()
            .map(Action::describe)
            .unwrap_or_default(),
        report.problems_text(),
        limiter::RATE_ENV,
        limiter::BURST_ENV,
    )
}

impl CustomResource for ConnectUserImport {
    type Properties = Properties;
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &["IdentityCenterExternalId"];
    /// Connect creates about 2 users a second: a large import takes many runs.
    const LONG_RUNNING: bool = true;

    async fn create(&self, request: &Request, properties: Properties) -> Result<Step, Failure> {
        self.import(request, &properties).await
    }

    async fn update(&self, request: &Request, update: Update<Properties>) -> Result<Step, Failure> {
        // A new instance gets a new id (a replacement): CloudFormation then deletes the old
        // one, removing this resource's users from the old instance.
        let step = self.import(request, &update.new).await?;
        if let Step::Done(outcome) = &step
            && outcome.physical_resource_id != update.physical_resource_id
        {
            tracing::info!(old = %update.physical_resource_id, new = %outcome.physical_resource_id, "replacement: the old instance's users go in the cleanup Delete");
        }
        Ok(step)
    }

    async fn delete(
        &self,
        request: &Request,
        physical_resource_id: &str,
        properties: Properties,
    ) -> Result<Step<()>, Failure> {
        let Some(instance_id) = instance_of(physical_resource_id, &request.owner) else {
            tracing::info!(%physical_resource_id, "not an id this resource made: nothing to delete");
            return Ok(Step::Done(()));
        };
        if properties.on_user_removed == OnUserRemoved::Retain {
            tracing::info!(%instance_id, "OnUserRemoved is Retain: the users stay");
            return Ok(Step::Done(()));
        }
        let done_before: DoneBefore = request.state()?.unwrap_or_else(DoneBefore::starting);
        let owner = &request.owner;
        self.importer.resume_limiter(&done_before.limiter);
        let Some(report) = self
            .importer
            .remove(
                owner,
                &instance_id,
                OnUserRemoved::Delete,
                request.respond_by,
            )
            .await?
        else {
            tracing::info!(%instance_id, "the instance is gone: nothing to delete");
            return Ok(Step::Done(()));
        };
        let report = done_before.total(report);
        if !report.is_complete() {
            // Same as an unfinished import: the core continues in a new run while there is time.
            return Ok(Step::Continue(Continuation::new(
                physical_resource_id,
                &done_before.next(&report, self.importer.limiter_state()),
                format!(
                    "not every user could be deleted before the deadline: {}; {} left; problems: {}. Retrying the delete resumes",
                    report.summary(),
                    report.not_done.len(),
                    report.problems_text()
                ),
            )?));
        }
        let not_deleted = report.not_deleted();
        if !not_deleted.is_empty() {
            return Err(anyhow!(
                "{} users this resource created could not be deleted: {}; {}; {} not attempted; problems: {}. \
                 Retrying the delete resumes",
                not_deleted.len(),
                bounded_list(&not_deleted, PROBLEMS_SHOWN, PROBLEMS_BYTES, "none"),
                report.summary(),
                report.not_done.len(),
                report.problems_text()
            )
            .into());
        }
        Ok(Step::Done(()))
    }

    /// The scheduled sync ([`sync`]).
    async fn other_event(&self, event: Value, respond_by: Instant) -> anyhow::Result<Value> {
        sync::run(self, event, respond_by).await
    }
}

#[cfg(test)]
mod tests;
