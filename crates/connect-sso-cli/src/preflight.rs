//! `connect-sso preflight`: before the first `sam deploy`, with the operator's credentials and the
//! parameters the stack will get, checks what would make the deployment fail: Identity Center
//! reachable from this account in its home Region, the Connect instance usable, the groups
//! present and fitting the user quota, and the names the stack creates still free. Nothing is
//! written. The facts it relies on are in docs/preflight.md.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use aws_config::SdkConfig;
use aws_sdk_connect::types::DirectoryType;
use connect_user_import::connect::Connect;
use connect_user_import::directory::Directory;
use connect_user_import::limiter::{Quota, RateLimiter};
use connect_user_import::plan::{self as import_plan, Action, Claimant};
use connect_user_import::properties::UsernameAttribute;
use identity_center::model::{ApplicationInstance, CUSTOM_SAML_TEMPLATE_ID};
use identity_center::{Caller, IdentityCenter, IdentityCenterRole, Instance};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clients::{Clients, Endpoints};
use crate::doctor::{error_text, matching_settings};
use crate::plan;
pub use crate::report::{Check, CheckName, Purpose, Report};
use crate::stack::DeployedStack;
use crate::target::parse_username_attribute;

/// The checks, in the order they run and are reported.
pub mod names {
    use crate::report::CheckName;

    pub const CONSOLE_API: &str = CheckName::ConsoleApi.as_str();
    pub const IDENTITY_CENTER_INSTANCE: &str = CheckName::IdentityCenterInstance.as_str();
    pub const ACTION_NAMES: &str = CheckName::ActionNames.as_str();
    pub const GROUPS: &str = CheckName::Groups.as_str();
    pub const APPLICATION_NAME: &str = CheckName::ApplicationName.as_str();
    pub const CONNECT_INSTANCE: &str = CheckName::ConnectInstance.as_str();
    pub const USER_QUOTA: &str = CheckName::UserQuota.as_str();
    pub const SAML_PROVIDER_NAME: &str = CheckName::SamlProviderName.as_str();
    pub const FEDERATION_ROLE_NAME: &str = CheckName::FederationRoleName.as_str();

    pub const ALL: [&str; 9] = [
        CONSOLE_API,
        IDENTITY_CENTER_INSTANCE,
        ACTION_NAMES,
        GROUPS,
        APPLICATION_NAME,
        CONNECT_INSTANCE,
        USER_QUOTA,
        SAML_PROVIDER_NAME,
        FEDERATION_ROLE_NAME,
    ];
}

/// Every parameter of template.yaml (a test compares this list with the template).
pub const PARAMETER_NAMES: [&str; 21] = [
    "ConnectInstanceAlias",
    "ConnectInstanceId",
    "IdentityCenterInstanceArn",
    "IdentityCenterRegion",
    "IdentityCenterRoleArn",
    "IdentityCenterExternalId",
    "ApplicationName",
    "Groups",
    "UsernameAttribute",
    "SessionDuration",
    "RelayStateDestination",
    "SamlProviderName",
    "FederationRoleName",
    "SecurityProfiles",
    "RoutingProfile",
    "OnUserRemoved",
    "AdoptExistingUsers",
    "SyncSchedule",
    "UserImportTimeout",
    "OnImportDeadline",
    "LogRetentionInDays",
];

/// The template's default of `SamlProviderName` and `FederationRoleName` (the guide's name).
pub const DEFAULT_IAM_NAME: &str = "Connect-SSO";
/// Amazon Connect's default "Users per instance" quota (Service Quotas code L-9A46857E).
pub const DEFAULT_USER_QUOTA: u64 = 500;
/// Identity Center instances created after this day authorise console operations under the
/// newer IAM action names (sso:CreateApplication, …) only.
pub const NEW_ACTION_NAMES_AFTER: &str = "2023-11-15";
/// The newer action names, as the operator's and the stack's policies must grant them.
const NEW_ACTION_NAMES: &str = "sso:CreateApplication, sso:ListApplications, sso:UpdateApplication, sso:DeleteApplication, sso:CreateApplicationAssignment, sso:DeleteApplicationAssignment, sso:ListApplicationAssignments";
/// How long the directory and Connect reads may take.
const READ_TIME: Duration = Duration::from_secs(300);

/// The stack about to be deployed: its name, Region and template parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub stack_name: String,
    /// The stack's Region (and the Connect instance's).
    pub region: String,
    /// Template parameter → value; an absent or blank one takes the template's default.
    pub parameters: BTreeMap<String, String>,
    /// The "Users per instance" quota when the operator knows it; `None`: Amazon Connect's
    /// default.
    pub user_quota: Option<u64>,
}

impl Deployment {
    /// Checks the parameter names (a typo would silently take a default).
    pub fn new(
        stack_name: &str,
        region: &str,
        parameters: BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        if stack_name.trim().is_empty() {
            bail!("the stack name must not be empty (give --stack-name)");
        }
        for name in parameters.keys() {
            if !PARAMETER_NAMES.contains(&name.as_str()) {
                bail!(
                    "unknown parameter {name:?}: template.yaml's parameters are {}",
                    PARAMETER_NAMES.join(", ")
                );
            }
        }
        if let Some(attribute) = parameters.get("UsernameAttribute") {
            parse_username_attribute(attribute).context("parameter UsernameAttribute")?;
        }
        Ok(Self {
            stack_name: stack_name.trim().to_owned(),
            region: region.to_owned(),
            parameters,
            user_quota: None,
        })
    }

    /// A parameter's value, blanks counted as absent (CloudFormation's empty default).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The user import's properties as the template maps them (the mapping `connect-sso plan`
    /// uses for a deployed stack).
    fn import_properties(&self) -> serde_json::Map<String, Value> {
        let stack = DeployedStack {
            stack_id: String::new(),
            region: self.region.clone(),
            outputs: self
                .parameter("ConnectInstanceId")
                .map(|id| BTreeMap::from([("ConnectInstanceId".to_owned(), id.to_owned())]))
                .unwrap_or_default(),
            parameters: self.parameters.clone(),
        };
        plan::properties_of_stack(&stack)
    }

    /// `Groups`, split as CloudFormation splits a CommaDelimitedList.
    pub fn groups(&self) -> Vec<String> {
        match self.import_properties().get("Groups") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn username_attribute(&self) -> UsernameAttribute {
        self.parameter("UsernameAttribute")
            .and_then(|text| parse_username_attribute(text).ok())
            .unwrap_or_default()
    }

    /// Identity Center's home Region as the stack will call it.
    pub fn identity_center_region(&self) -> String {
        self.parameter("IdentityCenterRegion")
            .unwrap_or(&self.region)
            .to_owned()
    }

    /// The application's display name, as the template derives it.
    pub fn application_name(&self) -> String {
        self.parameter("ApplicationName")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Amazon Connect ({})", self.stack_name))
    }

    pub fn saml_provider_name(&self) -> &str {
        self.parameter("SamlProviderName")
            .unwrap_or(DEFAULT_IAM_NAME)
    }

    pub fn federation_role_name(&self) -> &str {
        self.parameter("FederationRoleName")
            .unwrap_or(DEFAULT_IAM_NAME)
    }
}

/// What earlier checks found, for the later ones.
#[derive(Default)]
struct Found {
    applications: Option<Vec<ApplicationInstance>>,
    identity_store_id: Option<String>,
    group_ids: Option<BTreeSet<String>>,
    /// The Connect instance's id, or `Some(None)` for the new instance the stack creates.
    connect_instance: Option<Option<String>>,
}

/// Identity Center as the stack's functions will reach it: signed as the role
/// `IdentityCenterRoleArn` names (assumed with `config`'s credentials), or as the operator.
struct IdentityCenterSide {
    identity_center: IdentityCenter,
    identity_store: aws_sdk_identitystore::Client,
    role_arn: Option<String>,
    /// Signed with [`Operator::identity_center`].
    own_identity_center_credentials: bool,
}

/// How the operator reaches AWS.
pub struct Operator {
    /// The operator's credentials in the stack's account (and STS, to assume
    /// `IdentityCenterRoleArn`).
    pub config: SdkConfig,
    /// Credentials of the Identity Center account, when the operator has them: the Identity
    /// Center checks use them instead of assuming `IdentityCenterRoleArn`, whose trust policy
    /// admits only the stack's functions.
    pub identity_center: Option<SdkConfig>,
    pub endpoints: Endpoints,
}

async fn identity_center_side(
    operator: &Operator,
    deployment: &Deployment,
) -> anyhow::Result<IdentityCenterSide> {
    let endpoints = &operator.endpoints;
    let region = deployment.identity_center_region();
    let with_endpoint = |config: &SdkConfig, endpoint: &Option<String>| match endpoint {
        Some(endpoint) => config.to_builder().endpoint_url(endpoint).build(),
        None => config.clone(),
    };
    if let Some(config) = &operator.identity_center {
        // The operator's own access to the Identity Center account stands in for the role.
        let caller = Caller::own(None);
        return Ok(IdentityCenterSide {
            identity_center: IdentityCenter::for_caller(
                &with_endpoint(config, &endpoints.sso_admin),
                &caller,
                &region,
            )?,
            identity_store: aws_sdk_identitystore::Client::new(
                &caller.config(&with_endpoint(config, &endpoints.identity_store), &region),
            ),
            role_arn: None,
            own_identity_center_credentials: true,
        });
    }
    let config = &operator.config;
    let role = IdentityCenterRole::from_properties(
        deployment.parameter("IdentityCenterRoleArn"),
        deployment.parameter("IdentityCenterExternalId"),
    )
    .map_err(|error| {
        anyhow::anyhow!(
            "{}",
            error
                .to_string()
                .replace("invalid property", "invalid parameter")
        )
    })?;
    let caller = Caller::select(
        config,
        role.as_ref(),
        &identity_center::access::session_name(&deployment.stack_name, "preflight"),
        None,
    )
    .await?;
    Ok(IdentityCenterSide {
        identity_center: IdentityCenter::for_caller(
            &with_endpoint(config, &endpoints.sso_admin),
            &caller,
            &region,
        )?,
        identity_store: aws_sdk_identitystore::Client::new(
            &caller.config(&with_endpoint(config, &endpoints.identity_store), &region),
        ),
        role_arn: role.map(|role| role.role_arn.to_string()),
        own_identity_center_credentials: false,
    })
}

/// Runs every check for `deployment` with the operator's `config` (credentials; STS for
/// `IdentityCenterRoleArn`) and `endpoints`. Never fails as a whole: a problem in reaching a
/// service is reported in the check that needed it. Writes nothing.
pub async fn run(operator: &Operator, deployment: &Deployment) -> Report {
    let mut report = Report::new(Purpose::Deployment);
    let mut found = Found::default();
    let identity_center_region = deployment.identity_center_region();
    let (config, endpoints) = (&operator.config, &operator.endpoints);

    let side = identity_center_side(operator, deployment).await;
    identity_center_checks(&side, deployment, &mut found, &mut report).await;
    report.checks.push(application_name(deployment, &found));

    let clients = Clients::new(
        config,
        &deployment.region,
        &identity_center_region,
        endpoints,
    );
    let clients = match clients {
        Ok(clients) => clients,
        Err(error) => {
            for name in [
                CheckName::ConnectInstance,
                CheckName::UserQuota,
                CheckName::SamlProviderName,
                CheckName::FederationRoleName,
            ] {
                report
                    .checks
                    .push(Check::blocked(name, &format!("no AWS clients: {error:#}")));
            }
            return report;
        }
    };
    report
        .checks
        .push(connect_instance(&clients, deployment, &mut found).await);
    report.checks.push(match &side {
        Ok(side) => user_quota(&clients, side, deployment, &found).await,
        Err(_) => Check::blocked(CheckName::UserQuota, "Identity Center cannot be called"),
    });
    report
        .checks
        .push(saml_provider_name(&clients, deployment).await);
    report
        .checks
        .push(federation_role_name(&clients, deployment).await);
    report
}

// ---------------------------------------------------------------- Identity Center

/// The checks made on the Identity Center side (its console API, instance, action names and
/// groups), or each one blocked when that side cannot be reached.
async fn identity_center_checks(
    side: &anyhow::Result<IdentityCenterSide>,
    deployment: &Deployment,
    found: &mut Found,
    report: &mut Report,
) {
    match side {
        Ok(side) => {
            report
                .checks
                .push(console_api(side, deployment, found).await);
            let (instance_check, created) = identity_center_instance(side, deployment, found).await;
            report.checks.push(instance_check);
            report.checks.push(action_names(created));
            report.checks.push(groups(side, deployment, found).await);
        }
        Err(error) => {
            let fix = if deployment.parameter("IdentityCenterRoleArn").is_some() {
                "the role's trust admits only the stack's functions (docs/cross-account.md): run preflight with --identity-center-profile, a profile of the Identity Center account, to check that side"
            } else {
                "check the credentials and IdentityCenterRegion"
            };
            report.checks.push(Check::fail(
                CheckName::ConsoleApi,
                format!("{error:#}"),
                fix,
            ));
            for name in [
                CheckName::IdentityCenterInstance,
                CheckName::ActionNames,
                CheckName::Groups,
            ] {
                report
                    .checks
                    .push(Check::blocked(name, "Identity Center cannot be called"));
            }
        }
    }
}

/// Who the Identity Center calls are signed as, for the messages.
fn signer(side: &IdentityCenterSide) -> String {
    match &side.role_arn {
        Some(role) => format!("the role {role} (IdentityCenterRoleArn)"),
        None if side.own_identity_center_credentials => {
            "your Identity Center account's credentials".to_owned()
        }
        None => "your credentials".to_owned(),
    }
}

async fn console_api(
    side: &IdentityCenterSide,
    deployment: &Deployment,
    found: &mut Found,
) -> Check {
    let name = CheckName::ConsoleApi;
    match side
        .identity_center
        .console
        .list_application_instances()
        .await
    {
        Ok(applications) => {
            let check = Check::pass(
                name,
                format!(
                    "{} may call the Identity Center console API in {} ({} application(s) listed)",
                    signer(side),
                    deployment.identity_center_region(),
                    applications.len()
                ),
            );
            found.applications = Some(applications);
            check
        }
        Err(error) => {
            let fix = if side.role_arn.is_some() {
                "IdentityCenterRoleArn must be a role in the account that owns Identity Center (the organization's management account or its delegated administrator), with the permissions of docs/cross-account.md"
            } else {
                "deploy with credentials of the organization's management account or of Identity Center's delegated administrator account, or set IdentityCenterRoleArn to a role there (docs/cross-account.md)"
            };
            Check::fail(
                name,
                format!(
                    "{} cannot call the console API that creates the SAML application: {error}",
                    signer(side)
                ),
                fix,
            )
        }
    }
}

/// The instance check, and the instance's creation date for the action-names check.
async fn identity_center_instance(
    side: &IdentityCenterSide,
    deployment: &Deployment,
    found: &mut Found,
) -> (Check, Option<Result<OffsetDateTime, String>>) {
    let name = CheckName::IdentityCenterInstance;
    let region = deployment.identity_center_region();
    let instances = match side.identity_center.instances().await {
        Ok(instances) => instances,
        Err(error) => {
            return (
                Check::fail(
                    name,
                    format!("could not list the Identity Center instances: {error:#}"),
                    "allow sso:ListInstances to the deploying credentials",
                ),
                None,
            );
        }
    };
    let instance = match chosen_instance(side, deployment, &instances) {
        Ok(instance) => instance.clone(),
        Err(failed) => return (failed, None),
    };
    found.identity_store_id = Some(instance.identity_store_id.clone());
    described_instance(side, &instance, &region).await
}

/// The instance check from sso-admin's DescribeInstance: active, and called in its home Region;
/// with the instance's creation date for the action-names check.
async fn described_instance(
    side: &IdentityCenterSide,
    instance: &Instance,
    region: &str,
) -> (Check, Option<Result<OffsetDateTime, String>>) {
    let name = CheckName::IdentityCenterInstance;
    let described = side
        .identity_center
        .sso_admin
        .describe_instance()
        .instance_arn(&instance.arn)
        .send()
        .await;
    let output = match described {
        Ok(output) => output,
        Err(error) => {
            let problem = format!(
                "sso-admin DescribeInstance {}: {}",
                instance.arn,
                error_text(&error)
            );
            return (
                Check::pass(
                    name,
                    format!(
                        "{} (identity store {}) is visible in {region}; its home Region could not be confirmed",
                        instance.arn, instance.identity_store_id
                    ),
                ),
                Some(Err(problem)),
            );
        }
    };
    let created = Some(
        output
            .created_date()
            .and_then(|date| OffsetDateTime::from_unix_timestamp(date.secs()).ok())
            .ok_or_else(|| "DescribeInstance reported no CreatedDate".to_owned()),
    );
    let status = output.status().map(|s| s.as_str().to_owned());
    if let Some(status) = status.as_deref().filter(|s| *s != "ACTIVE") {
        return (
            Check::fail(
                name,
                format!("{} is {status}, not ACTIVE", instance.arn),
                "wait until IAM Identity Center shows the instance as active (or fix what its status reason says), then deploy",
            ),
            created,
        );
    }
    match output.primary_region() {
        Some(home) if home != region => (
            Check::fail(
                name,
                format!(
                    "{}'s home Region is {home}, but the stack would call Identity Center in {region}: the console API answers only in the home Region",
                    instance.arn
                ),
                format!("set IdentityCenterRegion to {home}"),
            ),
            created,
        ),
        home => (
            Check::pass(
                name,
                format!(
                    "{} (identity store {}) is ACTIVE{}",
                    instance.arn,
                    instance.identity_store_id,
                    if home.is_some() {
                        format!(" and {region} is its home Region")
                    } else {
                        format!(" in {region}")
                    }
                ),
            ),
            created,
        ),
    }
}

/// The instance `IdentityCenterInstanceArn` names, else the only one visible; the failed check
/// when there is none to choose.
fn chosen_instance<'a>(
    side: &IdentityCenterSide,
    deployment: &Deployment,
    instances: &'a [Instance],
) -> Result<&'a Instance, Check> {
    let name = CheckName::IdentityCenterInstance;
    let region = deployment.identity_center_region();
    let listed = instances
        .iter()
        .map(|instance| instance.arn.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let wanted = deployment.parameter("IdentityCenterInstanceArn");
    match (wanted, instances) {
        (Some(arn), _) => match instances.iter().find(|instance| instance.arn == arn) {
            Some(instance) => Ok(instance),
            None => Err(Check::fail(
                name,
                format!(
                    "there is no Identity Center instance {arn} in {region} (found: {})",
                    if listed.is_empty() { "none" } else { &listed }
                ),
                "set IdentityCenterInstanceArn to the ARN shown in IAM Identity Center → Settings, and IdentityCenterRegion to its home Region",
            )),
        },
        (None, [only]) => Ok(only),
        (None, []) => Err(Check::fail(
            name,
            format!(
                "no Identity Center instance is visible in {region} to {}",
                signer(side)
            ),
            "set IdentityCenterRegion to Identity Center's home Region; if it lives in another account, set IdentityCenterRoleArn to a role there (docs/cross-account.md)",
        )),
        (None, _) => Err(Check::fail(
            name,
            format!("several Identity Center instances in {region}: {listed}"),
            "set IdentityCenterInstanceArn to the one to use",
        )),
    }
}

/// Which generation of IAM action names the instance checks, from its creation date.
fn action_names(created: Option<Result<OffsetDateTime, String>>) -> Check {
    let name = CheckName::ActionNames;
    let created = match created {
        None => return Check::blocked(name, "the Identity Center instance is not known"),
        Some(Ok(created)) => created,
        Some(Err(problem)) => {
            return Check::fail(
                name,
                format!(
                    "the instance's creation date (which decides the IAM action names it checks) could not be read: {problem}"
                ),
                "allow sso:DescribeInstance to the deploying credentials, or read the creation date in IAM Identity Center → Settings",
            );
        }
    };
    let day = created.date();
    let cutoff = time::macros::date!(2023 - 11 - 15);
    if day > cutoff {
        Check::pass(
            name,
            format!(
                "the instance was created on {day}, after {NEW_ACTION_NAMES_AFTER}: it authorises the console operations under the newer action names only ({NEW_ACTION_NAMES}); the template grants them"
            ),
        )
    } else {
        Check::pass(
            name,
            format!(
                "the instance was created on {day}, by {NEW_ACTION_NAMES_AFTER}: it honours the older action names (sso:CreateApplicationInstance, …) and the newer ones, unless a policy denies one"
            ),
        )
    }
}

async fn groups(side: &IdentityCenterSide, deployment: &Deployment, found: &mut Found) -> Check {
    let name = CheckName::Groups;
    let wanted = deployment.groups();
    if wanted.is_empty() {
        return Check::fail(
            name,
            "Groups is empty: nobody would be assigned or imported",
            "set Groups to the Identity Center groups (display names or ids) whose members use Connect",
        );
    }
    let Some(store) = found.identity_store_id.clone() else {
        return Check::blocked(name, "the Identity Center instance is not known");
    };
    let directory = Directory {
        client: side.identity_store.clone(),
        identity_store_id: store.clone(),
    };
    let deadline = Instant::now() + READ_TIME;
    let mut ids = BTreeSet::new();
    let mut missing = Vec::new();
    for group in &wanted {
        match directory.group_id(group, "Groups", deadline).await {
            Ok(id) => {
                ids.insert(id);
            }
            Err(error) if error.to_string().starts_with("invalid property") => {
                missing.push(group.clone());
            }
            Err(error) => {
                return Check::fail(
                    name,
                    format!("could not look up group {group:?}: {error:#}"),
                    "allow identitystore:GetGroupId and identitystore:DescribeGroup (to the role of IdentityCenterRoleArn, if set)",
                );
            }
        }
    }
    if !missing.is_empty() {
        return Check::fail(
            name,
            format!(
                "no group {} in identity store {store}",
                missing
                    .iter()
                    .map(|g| format!("{g:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "give each group's exact display name (case counts) or its id, as IAM Identity Center → Groups shows it",
        );
    }
    found.group_ids = Some(ids);
    Check::pass(
        name,
        format!(
            "{} found in identity store {store}",
            wanted
                .iter()
                .map(|g| format!("{g:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

fn application_name(deployment: &Deployment, found: &Found) -> Check {
    let name = CheckName::ApplicationName;
    let display_name = deployment.application_name();
    let Some(applications) = &found.applications else {
        return Check::blocked(name, "the console API could not list the applications");
    };
    let taken: Vec<&str> = applications
        .iter()
        .filter(|app| {
            app.display_name() == Some(display_name.as_str())
                && app.template_id() == Some(CUSTOM_SAML_TEMPLATE_ID)
        })
        .map(|app| app.instance_id.as_str())
        .collect();
    if taken.is_empty() {
        Check::pass(
            name,
            format!("no SAML application is named \"{display_name}\" yet"),
        )
    } else {
        Check::fail(
            name,
            format!(
                "a custom SAML application named \"{display_name}\" already exists ({}): the stack refuses to take it over",
                taken.join(", ")
            ),
            "set ApplicationName to a name no application has, or delete that application if nothing uses it",
        )
    }
}

// ---------------------------------------------------------------- Connect

async fn connect_instance(clients: &Clients, deployment: &Deployment, found: &mut Found) -> Check {
    let name = CheckName::ConnectInstance;
    let region = &deployment.region;
    let (alias, id) = (
        deployment.parameter("ConnectInstanceAlias"),
        deployment.parameter("ConnectInstanceId"),
    );
    let (alias, id) = match (alias, id) {
        (Some(alias), None) => (Some(alias), None),
        (None, Some(id)) => (None, Some(id)),
        _ => {
            return Check::fail(
                name,
                "the stack needs exactly one of ConnectInstanceAlias (create an instance) and ConnectInstanceId (use an existing one)",
                "set exactly one of ConnectInstanceAlias and ConnectInstanceId",
            );
        }
    };
    if let Some(alias) = alias {
        return new_connect_instance(clients, region, alias, found).await;
    }
    existing_connect_instance(clients, region, id.unwrap_or_default(), found).await
}

/// `ConnectInstanceId`: an active SAML instance of this account in the stack's Region.
async fn existing_connect_instance(
    clients: &Clients,
    region: &str,
    id: &str,
    found: &mut Found,
) -> Check {
    let name = CheckName::ConnectInstance;
    let answer = clients
        .connect
        .describe_instance()
        .instance_id(id)
        .send()
        .await;
    let output = match answer {
        Ok(output) => output,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Check::fail(
                name,
                format!("there is no Connect instance {id} in {region}"),
                "set ConnectInstanceId to an instance of this account in the stack's Region (the last part of its ARN), or deploy in the instance's Region",
            );
        }
        Err(error) => {
            return Check::fail(
                name,
                format!(
                    "could not describe Connect instance {id}: {}",
                    error_text(&error)
                ),
                format!("allow connect:DescribeInstance (and ds:DescribeDirectories) in {region}"),
            );
        }
    };
    let instance = output.instance();
    let management = instance.and_then(|i| i.identity_management_type());
    let status = instance
        .and_then(|i| i.instance_status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let alias = instance
        .and_then(|i| i.instance_alias())
        .unwrap_or("(no alias)");
    if management != Some(&DirectoryType::Saml) {
        return Check::fail(
            name,
            format!(
                "Connect instance {alias} ({id}) uses {} identity management: sign-in through Identity Center needs SAML, and it cannot be changed on an existing instance",
                management.map_or("unknown", DirectoryType::as_str)
            ),
            "use a SAML instance: set ConnectInstanceAlias instead of ConnectInstanceId to create one",
        );
    }
    if status != "ACTIVE" {
        return Check::fail(
            name,
            format!("Connect instance {alias} ({id}) is {status}, not ACTIVE"),
            "wait until the instance is active, or choose another",
        );
    }
    found.connect_instance = Some(Some(id.to_owned()));
    Check::pass(
        name,
        format!("Connect instance {alias} ({id}) is ACTIVE and uses SAML"),
    )
}

/// `alias` for the instance the stack creates: no instance of this account may have it.
async fn new_connect_instance(
    clients: &Clients,
    region: &str,
    alias: &str,
    found: &mut Found,
) -> Check {
    let name = CheckName::ConnectInstance;
    let mut pages = clients.connect.list_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                return Check::fail(
                    name,
                    format!(
                        "could not list the Connect instances: {}",
                        error_text(&error)
                    ),
                    format!("allow connect:ListInstances in {region}"),
                );
            }
        };
        if let Some(existing) = page.instance_summary_list().iter().find(|i| {
            i.instance_alias()
                .is_some_and(|a| a.eq_ignore_ascii_case(alias))
        }) {
            return Check::fail(
                name,
                format!(
                    "ConnectInstanceAlias {alias:?} is already the alias of Connect instance {}",
                    existing.id().unwrap_or_default()
                ),
                "choose another ConnectInstanceAlias, or use that instance: set ConnectInstanceId to its id instead (it must use SAML)",
            );
        }
    }
    found.connect_instance = Some(None);
    Check::pass(
        name,
        format!(
            "a new SAML instance {alias:?} will be created (no instance of this account in {region} has that alias; aliases are unique across AWS, so it may still be taken elsewhere)"
        ),
    )
}

/// The users of the existing Connect instance `id`, or the failed check.
async fn connect_users(
    clients: &Clients,
    id: &str,
    deadline: Instant,
) -> Result<Vec<connect_user_import::plan::ExistingUser>, Check> {
    let connect = Connect::new(
        clients.connect.clone(),
        Arc::new(RateLimiter::new(Quota::CONNECT_DEFAULT)),
        Duration::from_secs(5),
    );
    connect.users(id, deadline).await.map_err(|error| {
        Check::fail(
            CheckName::UserQuota,
            format!("could not list the users of Connect instance {id}: {error}"),
            "allow connect:ListUsers, connect:SearchUsers and connect:DescribeUser",
        )
    })
}

async fn user_quota(
    clients: &Clients,
    side: &IdentityCenterSide,
    deployment: &Deployment,
    found: &Found,
) -> Check {
    let name = CheckName::UserQuota;
    let Some(instance) = &found.connect_instance else {
        return Check::blocked(name, "the Connect instance is not usable");
    };
    let (Some(group_ids), Some(store)) = (&found.group_ids, &found.identity_store_id) else {
        return Check::blocked(name, "the groups are not known");
    };
    let deadline = Instant::now() + READ_TIME;
    let directory = Directory {
        client: side.identity_store.clone(),
        identity_store_id: store.clone(),
    };
    let members = match directory.members(group_ids, group_ids, deadline).await {
        Ok((members, _reads)) => members,
        Err(error) => {
            return Check::fail(
                name,
                format!("could not read the groups' members: {error:#}"),
                "allow identitystore:ListGroupMemberships, identitystore:ListUsers and identitystore:DescribeUser",
            );
        }
    };
    let existing = match instance {
        None => Vec::new(),
        Some(id) => match connect_users(clients, id, deadline).await {
            Ok(users) => users,
            Err(failed) => return failed,
        },
    };
    let plan = import_plan::plan(
        &members,
        &existing,
        &matching_settings(deployment.username_attribute()),
        Claimant::Anyone,
    );
    let new_users = plan.count(|action| matches!(action, Action::Create { .. })) as u64;
    let total = existing.len() as u64 + new_users;
    let (quota, source) = match deployment.user_quota {
        Some(quota) => (quota, "as given".to_owned()),
        None => (
            DEFAULT_USER_QUOTA,
            "Amazon Connect's default; a raised quota shows in Service Quotas, code L-9A46857E"
                .to_owned(),
        ),
    };
    let counts = format!(
        "{} member(s) of the groups, {new_users} new Connect user(s) + {} existing = {total}, quota {quota} users per instance ({source})",
        members.len(),
        existing.len()
    );
    if total <= quota {
        Check::pass(name, counts)
    } else {
        Check::fail(
            name,
            format!("{counts}: the import would stop at the quota (LimitExceededException)"),
            "ask for a higher \"Users per instance\" quota (Service Quotas → Amazon Connect, L-9A46857E) before deploying, or import fewer groups",
        )
    }
}

// ---------------------------------------------------------------- IAM

async fn saml_provider_name(clients: &Clients, deployment: &Deployment) -> Check {
    let name = CheckName::SamlProviderName;
    let wanted = deployment.saml_provider_name();
    let providers = match clients.iam.list_saml_providers().send().await {
        Ok(output) => output,
        Err(error) => {
            return Check::fail(
                name,
                format!(
                    "could not list the IAM SAML providers: {}",
                    error_text(&error)
                ),
                "allow iam:ListSAMLProviders to the deploying credentials",
            );
        }
    };
    let suffix = format!(":saml-provider/{wanted}");
    match providers
        .saml_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|arn| arn.ends_with(&suffix))
    {
        Some(arn) => Check::fail(
            name,
            format!("an IAM SAML provider named {wanted:?} already exists ({arn})"),
            "set SamlProviderName to an unused name, or delete that provider if nothing federates through it",
        ),
        None => Check::pass(
            name,
            format!("no IAM SAML provider is named {wanted:?} yet"),
        ),
    }
}

async fn federation_role_name(clients: &Clients, deployment: &Deployment) -> Check {
    let name = CheckName::FederationRoleName;
    let wanted = deployment.federation_role_name();
    match clients.iam.get_role().role_name(wanted).send().await {
        Ok(output) => Check::fail(
            name,
            format!(
                "an IAM role named {wanted:?} already exists ({}): CloudFormation cannot create the federation role",
                output.role().map(|r| r.arn()).unwrap_or_default()
            ),
            "set FederationRoleName to an unused name (keep it stable afterwards: Connect ties each user to the first role it signs in with)",
        ),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            Check::pass(name, format!("no IAM role is named {wanted:?} yet"))
        }
        Err(error) => Check::fail(
            name,
            format!(
                "could not look up IAM role {wanted:?}: {}",
                error_text(&error)
            ),
            "allow iam:GetRole to the deploying credentials",
        ),
    }
}

/// Template parameters from a JSON file: an object `{"Key": "Value"}` (lists joined with
/// commas, as CloudFormation joins a CommaDelimitedList) or CloudFormation's list
/// `[{"ParameterKey": …, "ParameterValue": …}]`.
pub fn parameters_from_json(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let value: Value = serde_json::from_str(text).context("the parameters are not JSON")?;
    let scalar = |key: &str, value: &Value| -> anyhow::Result<String> {
        Ok(match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    other => bail!("parameter {key}: list items must be strings, not {other}"),
                })
                .collect::<anyhow::Result<Vec<_>>>()?
                .join(","),
            other => bail!(
                "parameter {key}: expected a string, number, boolean or list of strings, not {other}"
            ),
        })
    };
    let mut parameters = BTreeMap::new();
    match value {
        Value::Object(map) => {
            for (key, value) in &map {
                parameters.insert(key.clone(), scalar(key, value)?);
            }
        }
        Value::Array(items) => {
            for item in &items {
                let key = item
                    .get("ParameterKey")
                    .and_then(Value::as_str)
                    .context("each item of a parameter list needs a ParameterKey string")?;
                let value = item.get("ParameterValue").unwrap_or(&Value::Null);
                let value = if value.is_null() {
                    String::new()
                } else {
                    scalar(key, value)?
                };
                parameters.insert(key.to_owned(), value);
            }
        }
        _ => bail!(
            "expected an object of template parameters or a list of {{\"ParameterKey\", \"ParameterValue\"}}"
        ),
    }
    Ok(parameters)
}

/// `Key=Value` (as `sam deploy --parameter-overrides` takes them).
pub fn parameter_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "{text:?}: expected Key=Value, e.g. Groups=ConnectAgents"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_list_is_template_yaml_s() {
        let template = include_str!("../../../template.yaml");
        let section = template
            .split("\nParameters:\n")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .unwrap();
        let in_template: Vec<&str> = section
            .lines()
            .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
            .filter_map(|line| line.trim().strip_suffix(':'))
            .collect();
        assert_eq!(PARAMETER_NAMES.as_slice(), in_template);
    }

    #[test]
    fn parameters_are_read_in_both_json_forms_and_names_are_checked() {
        let object = parameters_from_json(
            r#"{"Groups": ["Agents", "Supervisors"], "ConnectInstanceId": "i-1", "UserImportTimeout": 900}"#,
        )
        .unwrap();
        assert_eq!(object["Groups"], "Agents,Supervisors");
        assert_eq!(object["UserImportTimeout"], "900");
        let list = parameters_from_json(
            r#"[{"ParameterKey": "Groups", "ParameterValue": "Agents, Supervisors"}]"#,
        )
        .unwrap();
        let deployment = Deployment::new("s", "us-east-1", list).unwrap();
        assert_eq!(deployment.groups(), ["Agents", "Supervisors"]);
        assert_eq!(deployment.application_name(), "Amazon Connect (s)");
        assert_eq!(deployment.saml_provider_name(), "Connect-SSO");
        assert_eq!(deployment.identity_center_region(), "us-east-1");

        let typo = BTreeMap::from([("Group".to_owned(), "Agents".to_owned())]);
        let error = Deployment::new("s", "us-east-1", typo)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown parameter \"Group\""), "{error}");
        assert!(error.contains("Groups"), "{error}");
        let bad = BTreeMap::from([("UsernameAttribute".to_owned(), "mail".to_owned())]);
        assert!(Deployment::new("s", "us-east-1", bad).is_err());
        assert_eq!(
            parameter_assignment("Groups=A,B").unwrap(),
            ("Groups".to_owned(), "A,B".to_owned())
        );
        assert!(parameter_assignment("Groups").is_err());
    }

    #[test]
    fn the_creation_date_tells_the_action_names() {
        let newer = action_names(Some(Ok(time::macros::datetime!(2024-03-01 0:00 UTC))));
        assert!(
            newer.ok && newer.detail.contains("sso:CreateApplication,"),
            "{newer:?}"
        );
        let older = action_names(Some(Ok(time::macros::datetime!(2023-11-15 12:00 UTC))));
        assert!(
            older.ok && older.detail.contains("honours the older"),
            "{older:?}"
        );
        assert!(!action_names(Some(Err("denied".into()))).ok);
    }
}
