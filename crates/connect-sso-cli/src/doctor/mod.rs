//! `connect-sso doctor`: guide step 6, "sign in and see if it works", checked link by link before
//! anyone tries. Each check names what it found and, when it fails, the fix; a failure explains
//! one of Connect's sign-in errors (reference: connect-and-identity-store.md §3.6).
//!
//! [`run`] takes explicit ids ([`Target`]) and ready clients ([`Clients`]), so the local deploy
//! calls it in-process against the emulators, and the command line against AWS.

mod metadata;
pub mod policy;
pub mod relay_state;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata};
use connect_user_import::connect::Connect;
use connect_user_import::directory::Directory;
use connect_user_import::limiter::{Quota, RateLimiter};
use connect_user_import::plan::{
    self as import_plan, Action, DirectoryEmail, DirectoryUser, Owner, Profiles, Settings,
};
use connect_user_import::properties::{OnUserRemoved, PhoneType, UsernameAttribute};
use identity_center::model::ApplicationInstance;
use identity_center::{ApplicationArn, PrincipalKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clients::Clients;
use crate::target::{Target, describe_username_attribute, role_session_name_expression};
use metadata::Signer;
use policy::{Permission, SamlTrust};
use relay_state::RelayState;

/// The SAML attribute naming the role pair (exact name; case-sensitive).
pub const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
/// The SAML attribute that must equal the Connect username.
pub const ROLE_SESSION_NAME_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
/// The SAML audience AWS sign-in expects.
pub const AWS_AUDIENCE: &str = "urn:amazon:webservices";
/// The global AWS sign-in endpoint (the application's ACS URL).
pub const AWS_SIGN_IN: &str = "https://signin.aws.amazon.com/saml";

/// The checks, in the order they run and are reported.
pub mod names {
    pub const APPLICATION: &str = "application";
    pub const SERVICE_PROVIDER: &str = "service-provider";
    pub const ASSIGNMENTS: &str = "assignments";
    pub const CONNECT_INSTANCE: &str = "connect-instance";
    pub const RELAY_STATE: &str = "relay-state";
    pub const ROLE_ATTRIBUTE: &str = "role-attribute";
    pub const ROLE_TRUST: &str = "role-trust";
    pub const ROLE_PERMISSION: &str = "role-permission";
    pub const PROVIDER_METADATA: &str = "provider-metadata";
    pub const CERTIFICATE: &str = "certificate";
    pub const ROLE_SESSION_NAME: &str = "role-session-name";
    pub const CONNECT_USERS: &str = "connect-users";

    pub const ALL: [&str; 12] = [
        APPLICATION,
        SERVICE_PROVIDER,
        ASSIGNMENTS,
        CONNECT_INSTANCE,
        RELAY_STATE,
        ROLE_ATTRIBUTE,
        ROLE_TRUST,
        ROLE_PERMISSION,
        PROVIDER_METADATA,
        CERTIFICATE,
        ROLE_SESSION_NAME,
        CONNECT_USERS,
    ];
}

/// Certificates expiring sooner than this are called out (the check still passes).
const RENEW_SOON_DAYS: i64 = 30;
/// How long the directory and Connect reads of the member check may take.
const MEMBER_CHECK_TIME: Duration = Duration::from_secs(300);

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// One of [`names`].
    pub name: String,
    pub ok: bool,
    /// What was found (or, for a check that could not run, why).
    pub detail: String,
    /// What to do about a failure.
    pub fix: Option<String>,
}

/// Every check, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// All checks passed: a sign-in of every assigned member should work.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }

    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.ok)
    }

    /// `{"ok": …, "checks": [{name, ok, detail, fix}]}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "ok": self.ok(), "checks": self.checks })
    }

    fn push(&mut self, check: Check) {
        self.checks.push(check);
    }
}

/// One line per check (`✔`/`✘`, name, detail, fix), then a summary line.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = if check.ok { '✔' } else { '✘' };
            write!(f, "{mark} {}: {}", check.name, check.detail)?;
            if let Some(fix) = &check.fix {
                write!(f, " → fix: {fix}")?;
            }
            writeln!(f)?;
        }
        let failed = self.failed().count();
        if failed == 0 {
            write!(
                f,
                "all {} checks passed: assigned members can sign in to Connect",
                self.checks.len()
            )
        } else {
            write!(
                f,
                "{failed} of {} checks failed: sign-in will not work as intended",
                self.checks.len()
            )
        }
    }
}

pub(crate) fn pass(name: &str, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

pub(crate) fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// A check that could not run because an earlier link is broken.
/// Identity Center may not show an application's attribute configuration (docs/assumptions.md,
/// `get-returns-response-config`): then it cannot be checked, which is not the same as missing.
const UNREADABLE: &str = "Identity Center does not show this application's attribute configuration \
     (responseConfig), so it cannot be read here; check the attribute mappings in the IAM Identity Center console";

pub(crate) fn blocked(name: &str, because: &str) -> Check {
    Check {
        name: name.to_owned(),
        ok: false,
        detail: format!("not checked: {because}"),
        fix: None,
    }
}

/// An AWS error as `Code: message`.
pub(crate) fn error_text<E>(error: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(error).to_string(),
    }
}

/// The Connect instance the relay state should land in.
#[derive(Debug, Clone)]
struct ConnectInstance {
    id: String,
    arn: String,
    region: String,
    access_url: Option<String>,
}

/// What the checks found, handed from one to the next.
#[derive(Default)]
struct Found {
    application_arn: Option<ApplicationArn>,
    application: Option<ApplicationInstance>,
    assignments: Option<Vec<identity_center::Principal>>,
    instance: Option<ConnectInstance>,
    role_arn: Option<String>,
    provider_arn: Option<String>,
    provider_document: Option<String>,
}

/// Runs every check of the sign-in chain of `target`. Never fails as a whole: a problem in
/// reaching a service is reported in the check that needed it.
pub async fn run(clients: &Clients, target: &Target) -> Report {
    let mut report = Report::default();
    let mut found = Found::default();

    report.push(application(clients, target, &mut found).await);
    report.push(match &found.application {
        Some(app) => service_provider(app, target),
        None => blocked(names::SERVICE_PROVIDER, "the application could not be read"),
    });
    report.push(assignments(clients, &mut found).await);

    let relay_text = found
        .application
        .as_ref()
        .and_then(|app| app.response_config.as_ref())
        .and_then(|config| config.unconfirmed.relay_state.clone())
        .filter(|text| !text.trim().is_empty());
    let relay = relay_text.as_deref().map(RelayState::parse);
    let instance_id = target.connect_instance_id.clone().or_else(|| {
        relay
            .as_ref()
            .and_then(|parsed| parsed.as_ref().ok())
            .map(|state| state.instance_id.clone())
    });
    report.push(connect_instance(clients, target, instance_id.as_deref(), &mut found).await);
    report.push(match &found.application {
        Some(app) if app.response_config.is_none() => blocked(names::RELAY_STATE, UNREADABLE),
        Some(_) => relay_state_check(
            relay_text.as_deref(),
            relay.as_ref(),
            target,
            instance_id.as_deref(),
            found.instance.as_ref(),
        ),
        None => blocked(names::RELAY_STATE, "the application could not be read"),
    });

    report.push(role_attribute(clients, target, &mut found).await);
    let acs_urls = found.application.as_ref().map(acs_urls).unwrap_or_default();
    report.push(role_trust(clients, &found, &acs_urls).await);
    report.push(role_permission(clients, target, &found, instance_id.as_deref()).await);
    report.push(provider_metadata(clients, &mut found).await);
    report.push(certificate(&found));
    let (session_check, session_attribute) = role_session_name(target, &found);
    report.push(session_check);
    report.push(connect_users(clients, target, &found, session_attribute).await);
    report
}

// ---------------------------------------------------------------- the Identity Center application

async fn application(clients: &Clients, target: &Target, found: &mut Found) -> Check {
    let name = names::APPLICATION;
    let Some(arn) = ApplicationArn::parse(target.application_arn.trim()) else {
        return fail(
            name,
            format!(
                "{:?} is not an Identity Center application ARN",
                target.application_arn
            ),
            "give the stack's ApplicationArn output (arn:aws:sso::<account>:application/ssoins-…/apl-…)",
        );
    };
    let console_id = arn.console_id();
    let answer = clients
        .identity_center
        .console
        .get_application_instance(&console_id)
        .await;
    found.application_arn = Some(arn);
    let app = match answer {
        Ok(app) => app,
        Err(error) if error.is_not_found() => {
            return fail(
                name,
                format!(
                    "there is no application {console_id} ({}) in IAM Identity Center in {}",
                    target.application_arn, target.identity_center_region
                ),
                "check the application ARN and the Identity Center home region (--identity-center-region); redeploy the stack if the application was deleted",
            );
        }
        Err(error) => {
            return fail(
                name,
                format!("could not read the application: {error}"),
                format!(
                    "use credentials of the Identity Center account that may call sso:GetApplicationInstance in {}",
                    target.identity_center_region
                ),
            );
        }
    };
    let display = app.display_name().unwrap_or("(no display name)").to_owned();
    let status = app.status.clone().unwrap_or_else(|| "unknown".to_owned());
    found.application = Some(app);
    if status == "ENABLED" {
        pass(name, format!("\"{display}\" ({console_id}) is ENABLED"))
    } else {
        fail(
            name,
            format!(
                "\"{display}\" ({console_id}) is {status}: it does not appear in the access portal"
            ),
            format!(
                "enable it (IAM Identity Center console → Applications → {display} → Actions → Enable), or update the stack"
            ),
        )
    }
}

/// The region of an AWS sign-in endpoint (`Some(None)` for the global one); `None` when `url`
/// is not AWS sign-in at all.
fn sign_in_region(url: &str) -> Option<Option<String>> {
    let url = url.trim().trim_end_matches('/');
    if url == AWS_SIGN_IN || url == "https://signin.amazonaws-us-gov.com/saml" {
        return Some(None);
    }
    let region = url
        .strip_prefix("https://")?
        .strip_suffix(".signin.aws.amazon.com/saml")?;
    (!region.is_empty() && !region.contains(['/', '.'])).then(|| Some(region.to_owned()))
}

/// The application's assertion consumer URLs: the audiences a sign-in's assertion carries.
fn acs_urls(app: &ApplicationInstance) -> Vec<String> {
    app.service_provider_config
        .iter()
        .flat_map(|config| config.consumers.iter())
        .map(|consumer| consumer.location.trim().to_owned())
        .filter(|location| !location.is_empty())
        .collect()
}

fn service_provider(app: &ApplicationInstance, target: &Target) -> Check {
    let name = names::SERVICE_PROVIDER;
    let fix = format!(
        "set the application's ACS URL to {AWS_SIGN_IN} (or https://{}.signin.aws.amazon.com/saml) and its SAML audience to {AWS_AUDIENCE}",
        target.region
    );
    let urls = acs_urls(app);
    if urls.is_empty() {
        return fail(
            name,
            "the application has no ACS URL: Identity Center has nowhere to send the assertion",
            fix,
        );
    }
    let mut problems = Vec::new();
    for url in &urls {
        match sign_in_region(url) {
            None => problems.push(format!(
                "the ACS URL {url} is not AWS sign-in (sign-in shows \"An error occurred when we tried to process your request\")"
            )),
            Some(Some(region)) if region != target.region => problems.push(format!(
                "the regional ACS URL {url} is for {region}, but the Connect instance is in {}",
                target.region
            )),
            Some(_) => {}
        }
    }
    let audience = app
        .service_provider_config
        .as_ref()
        .map(|config| config.audience.trim())
        .unwrap_or_default();
    if audience != AWS_AUDIENCE {
        problems.push(format!(
            "the SAML audience is {audience:?}; AWS sign-in expects {AWS_AUDIENCE}"
        ));
    }
    if problems.is_empty() {
        pass(
            name,
            format!("ACS URL {}, audience {audience}", urls.join(", ")),
        )
    } else {
        fail(name, problems.join("; "), fix)
    }
}

async fn assignments(clients: &Clients, found: &mut Found) -> Check {
    let name = names::ASSIGNMENTS;
    let Some(arn) = &found.application_arn else {
        return blocked(name, "no application ARN");
    };
    match clients.identity_center.assignments(&arn.to_string()).await {
        Ok(principals) => {
            let groups = principals
                .iter()
                .filter(|p| p.kind == PrincipalKind::Group)
                .count();
            let users = principals.len() - groups;
            let check = if principals.is_empty() {
                fail(
                    name,
                    "no user or group is assigned: nobody sees the application in the access portal",
                    "assign the Connect groups (the stack's Groups parameter, or IAM Identity Center console → Applications → Assign users and groups)",
                )
            } else {
                pass(
                    name,
                    format!("{groups} group(s) and {users} user(s) assigned"),
                )
            };
            found.assignments = Some(principals);
            check
        }
        Err(error) => fail(
            name,
            format!("could not list the assignments: {error:#}"),
            "use credentials that may call sso:ListApplicationAssignments",
        ),
    }
}

// ---------------------------------------------------------------- Connect and the relay state

/// `instance-id`, also from an instance ARN.
fn bare_instance_id(id: &str) -> &str {
    id.rsplit_once("instance/").map_or(id, |(_, rest)| rest)
}

async fn connect_instance(
    clients: &Clients,
    target: &Target,
    instance_id: Option<&str>,
    found: &mut Found,
) -> Check {
    let name = names::CONNECT_INSTANCE;
    let Some(instance_id) = instance_id.map(bare_instance_id) else {
        return fail(
            name,
            "no Connect instance to check: none was given and the relay state names none",
            "give --instance-id (the stack's ConnectInstanceId output), and fix the relay state",
        );
    };
    let answer = clients
        .connect
        .describe_instance()
        .instance_id(instance_id)
        .send()
        .await;
    let output = match answer {
        Ok(output) => output,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return fail(
                name,
                format!(
                    "there is no Connect instance {instance_id} in {}",
                    target.region
                ),
                "check the instance id and --region (the instance's region); redeploy the stack if the instance was deleted",
            );
        }
        Err(error) => {
            return fail(
                name,
                format!(
                    "could not describe the Connect instance {instance_id}: {}",
                    error_text(&error)
                ),
                format!(
                    "use credentials that may call connect:DescribeInstance in {}",
                    target.region
                ),
            );
        }
    };
    let Some(instance) = output.instance() else {
        return fail(
            name,
            format!("DescribeInstance returned nothing for {instance_id}"),
            "retry; if it persists, check the instance in the Connect console",
        );
    };
    let arn = instance.arn().unwrap_or_default().to_owned();
    let region = arn
        .split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or(&target.region)
        .to_owned();
    let management = instance
        .identity_management_type()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let status = instance
        .instance_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let alias = instance.instance_alias().unwrap_or("(no alias)").to_owned();
    found.instance = Some(ConnectInstance {
        id: instance_id.to_owned(),
        arn,
        region: region.clone(),
        access_url: instance.instance_access_url().map(str::to_owned),
    });
    if management != "SAML" {
        return fail(
            name,
            format!(
                "{alias} ({instance_id}) uses {management} identity management: Connect accepts SAML sign-ins only on a SAML instance"
            ),
            "identity management cannot be changed: create a Connect instance with SAML 2.0 identity management and point the stack at it",
        );
    }
    if status != "ACTIVE" {
        return fail(
            name,
            format!("{alias} ({instance_id}) is {status}, not ACTIVE"),
            "wait for the instance to finish creating, or recreate it if creation failed",
        );
    }
    pass(
        name,
        format!("{alias} ({instance_id}) in {region}: SAML identity management, ACTIVE"),
    )
}

fn relay_state_check(
    text: Option<&str>,
    parsed: Option<&Result<RelayState, String>>,
    target: &Target,
    instance_id: Option<&str>,
    instance: Option<&ConnectInstance>,
) -> Check {
    let name = names::RELAY_STATE;
    let region = instance.map_or(target.region.as_str(), |i| i.region.as_str());
    let id = instance
        .map(|i| i.id.as_str())
        .or(instance_id.map(bare_instance_id));
    let old_domain = instance
        .and_then(|i| i.access_url.as_deref())
        .is_some_and(|url| {
            url::Url::parse(url)
                .ok()
                .and_then(|url| url.host_str().map(|host| host.ends_with(".awsapps.com")))
                .unwrap_or(false)
        });
    let state = parsed.and_then(|parsed| parsed.as_ref().ok());
    let destination = state.and_then(|s| s.destination.as_deref()).map(|d| {
        percent_encoding::percent_decode_str(d)
            .decode_utf8_lossy()
            .into_owned()
    });
    let new_domain = old_domain || state.is_some_and(|s| s.new_domain);
    let expected =
        id.map(|id| relay_state::expected(region, id, destination.as_deref(), new_domain));
    let fix = match &expected {
        Some(expected) => format!(
            "set the application's relay state to {expected} (stack: it follows the stack's Region, ConnectInstanceId and RelayStateDestination; update the stack)"
        ),
        None => format!(
            "set the application's relay state to https://{region}.console.aws.amazon.com/connect/federate/<instance-id>"
        ),
    };
    let (Some(text), Some(parsed)) = (text, parsed) else {
        return fail(
            name,
            "the application has no relay state: after sign-in users land on the AWS console, not in Connect",
            fix,
        );
    };
    let state = match parsed {
        Ok(state) => state,
        Err(problem) => return fail(name, format!("the relay state {text} {problem}"), fix),
    };
    let mut problems = Vec::new();
    match &state.region {
        Some(named) if named != region => problems.push(format!(
            "it names the region {named}, but the Connect instance is in {region}"
        )),
        None if !region.starts_with("us-gov-") => problems.push(format!(
            "it is a GovCloud console URL, but the Connect instance is in {region}"
        )),
        _ => {}
    }
    if let Some(id) = id
        && state.instance_id != id
    {
        problems.push(format!(
            "it names the instance {}, but the Connect instance is {id}",
            state.instance_id
        ));
    }
    if let Some(raw) = &state.destination
        && raw.contains('/')
    {
        problems.push(format!(
            "its destination {raw} is not URL-encoded (write {})",
            relay_state::encode_destination(raw)
        ));
    }
    if old_domain && !state.new_domain {
        problems.push(
            "the instance still has its old *.awsapps.com domain: the relay state needs new_domain=true"
                .to_owned(),
        );
    }
    if problems.is_empty() {
        pass(name, format!("{text} lands in the instance"))
    } else {
        fail(name, format!("{text}: {}", problems.join("; ")), fix)
    }
}

// ---------------------------------------------------------------- IAM: the role and the provider

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IamKind {
    Role,
    Provider,
    Other,
}

fn iam_kind(arn: &str) -> IamKind {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" {
        return IamKind::Other;
    }
    if parts[5].starts_with("role/") {
        IamKind::Role
    } else if parts[5].starts_with("saml-provider/") {
        IamKind::Provider
    } else {
        IamKind::Other
    }
}

/// The role name of a role ARN (a path before it is dropped).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn attribute_values<'a>(app: &'a ApplicationInstance, attribute: &str) -> Option<&'a [String]> {
    app.response_config
        .as_ref()?
        .properties
        .get(attribute)
        .map(|source| source.source.as_slice())
}

async fn role_exists(clients: &Clients, arn: &str) -> Result<bool, String> {
    match clients
        .iam
        .get_role()
        .role_name(role_name(arn))
        .send()
        .await
    {
        Ok(output) => Ok(output.role().map(|role| role.arn()) == Some(arn)),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            Ok(false)
        }
        Err(error) => Err(error_text(&error)),
    }
}

async fn provider_document(clients: &Clients, arn: &str) -> Result<Option<String>, String> {
    // The SAML-provider function's own read: the same call, the same "gone" rule.
    saml_provider::Iam::new(clients.iam.clone())
        .document(arn)
        .await
        .map_err(|error| format!("{error:#}"))
}

async fn role_attribute(clients: &Clients, target: &Target, found: &mut Found) -> Check {
    let name = names::ROLE_ATTRIBUTE;
    found.role_arn = target.role_arn.clone();
    found.provider_arn = target.provider_arn.clone();
    let Some(app) = &found.application else {
        return blocked(name, "the application could not be read");
    };
    let example = format!(
        "{},{}",
        target.role_arn.as_deref().unwrap_or("<role ARN>"),
        target
            .provider_arn
            .as_deref()
            .unwrap_or("<SAML provider ARN>")
    );
    if app.response_config.is_none() {
        return blocked(name, UNREADABLE);
    }
    let fix = format!("map {ROLE_ATTRIBUTE} to {example}");
    let values = attribute_values(app, ROLE_ATTRIBUTE).unwrap_or_default();
    if values.is_empty() {
        return fail(
            name,
            format!(
                "the application does not send {ROLE_ATTRIBUTE}: AWS sign-in has no role to assume"
            ),
            fix,
        );
    }
    let mut problems = Vec::new();
    let mut pairs = Vec::new();
    for value in values {
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        match parts.as_slice() {
            [first, second] => match (iam_kind(first), iam_kind(second)) {
                (IamKind::Role, IamKind::Provider) => pairs.push((*first, *second)),
                (IamKind::Provider, IamKind::Role) => {
                    problems.push(format!(
                        "{value} names the SAML provider first and the role second; the pair must be <role ARN>,<provider ARN>"
                    ));
                    pairs.push((*second, *first));
                }
                _ => problems.push(format!(
                    "{value} is not an IAM role ARN and an IAM SAML provider ARN"
                )),
            },
            _ => problems.push(format!("{value:?} is not a pair <role ARN>,<provider ARN>")),
        }
    }
    for (role, provider) in &pairs {
        match role_exists(clients, role).await {
            Ok(true) => {}
            Ok(false) => problems.push(format!("the role {role} does not exist")),
            Err(error) => problems.push(format!("could not read the role {role}: {error}")),
        }
        match provider_document(clients, provider).await {
            Ok(Some(_)) => {}
            Ok(None) => problems.push(format!("the SAML provider {provider} does not exist")),
            Err(error) => {
                problems.push(format!(
                    "could not read the SAML provider {provider}: {error}"
                ));
            }
        }
        if let Some(expected) = &target.role_arn
            && role != expected
        {
            problems.push(format!(
                "it names the role {role}, but the federation role is {expected}"
            ));
        }
        if let Some(expected) = &target.provider_arn
            && provider != expected
        {
            problems.push(format!(
                "it names the SAML provider {provider}, but the federation's provider is {expected}"
            ));
        }
    }
    if let Some((role, provider)) = pairs.first() {
        found.role_arn.get_or_insert_with(|| (*role).to_owned());
        found
            .provider_arn
            .get_or_insert_with(|| (*provider).to_owned());
    }
    if problems.is_empty() {
        pass(
            name,
            format!(
                "{} (role, then SAML provider; both exist)",
                values.join(" | ")
            ),
        )
    } else {
        fail(name, problems.join("; "), fix)
    }
}

async fn role_trust(clients: &Clients, found: &Found, acs_urls: &[String]) -> Check {
    let name = names::ROLE_TRUST;
    let (Some(role), Some(provider)) = (&found.role_arn, &found.provider_arn) else {
        return blocked(name, "no role and SAML provider are known");
    };
    let audiences: Vec<String> = if acs_urls.is_empty() {
        vec![AWS_SIGN_IN.to_owned()]
    } else {
        acs_urls.to_vec()
    };
    let fix = format!(
        "give the role {} a trust statement: Allow, Principal {{\"Federated\": \"{provider}\"}}, Action sts:AssumeRoleWithSAML, Condition StringEquals SAML:aud {}",
        role_name(role),
        audiences.join(", ")
    );
    let document = match clients
        .iam
        .get_role()
        .role_name(role_name(role))
        .send()
        .await
    {
        Ok(output) => output
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .unwrap_or_default()
            .to_owned(),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            return fail(
                name,
                format!("the role {role} does not exist"),
                "create the federation role (deploy the stack) or fix the Role attribute",
            );
        }
        Err(error) => {
            return fail(
                name,
                format!("could not read the role {role}: {}", error_text(&error)),
                "use credentials that may call iam:GetRole",
            );
        }
    };
    let trust = match policy::parse_document(&document) {
        Ok(trust) => policy::saml_trust(&trust, provider),
        Err(problem) => {
            return fail(name, format!("the trust policy of {role} {problem}"), fix);
        }
    };
    if trust == SamlTrust::NotTrusted {
        return fail(
            name,
            format!(
                "the role {} does not trust {provider} for sts:AssumeRoleWithSAML",
                role_name(role)
            ),
            fix,
        );
    }
    let refused: Vec<&String> = audiences.iter().filter(|aud| !trust.accepts(aud)).collect();
    if !refused.is_empty() {
        return fail(
            name,
            format!(
                "the role trusts {provider}, but its SAML:aud condition ({}) does not accept the application's ACS URL {}",
                trust.audiences().join(", "),
                refused
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix,
        );
    }
    let note = if trust.has_unrestricted_audience() {
        " (no SAML:aud condition: consider restricting it to the ACS URL)".to_owned()
    } else {
        format!(" with SAML:aud {}", trust.audiences().join(", "))
    };
    pass(
        name,
        format!(
            "{} trusts {provider} for sts:AssumeRoleWithSAML{note}",
            role_name(role)
        ),
    )
}

/// Every policy of the role (inline and attached), with its name.
async fn role_policies(clients: &Clients, role: &str) -> Result<Vec<(String, Value)>, String> {
    let mut policies = Vec::new();
    let mut marker = None;
    loop {
        let page = clients
            .iam
            .list_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| format!("iam ListRolePolicies: {}", error_text(&e)))?;
        for policy_name in page.policy_names() {
            let policy = clients
                .iam
                .get_role_policy()
                .role_name(role)
                .policy_name(policy_name)
                .send()
                .await
                .map_err(|e| format!("iam GetRolePolicy {policy_name}: {}", error_text(&e)))?;
            let document = policy::parse_document(policy.policy_document())
                .map_err(|problem| format!("the policy {policy_name} {problem}"))?;
            policies.push((policy_name.clone(), document));
        }
        marker = page
            .marker()
            .map(str::to_owned)
            .filter(|_| page.is_truncated());
        if marker.is_none() {
            break;
        }
    }
    let mut marker = None;
    loop {
        let page = clients
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| format!("iam ListAttachedRolePolicies: {}", error_text(&e)))?;
        for attached in page.attached_policies() {
            let (Some(arn), policy_name) = (attached.policy_arn(), attached.policy_name()) else {
                continue;
            };
            let policy_name = policy_name.unwrap_or(arn).to_owned();
            let policy = clients
                .iam
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| format!("iam GetPolicy {arn}: {}", error_text(&e)))?;
            let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
                continue;
            };
            let version = clients
                .iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| format!("iam GetPolicyVersion {arn}: {}", error_text(&e)))?;
            let text = version
                .policy_version()
                .and_then(|v| v.document())
                .unwrap_or_default();
            let document = policy::parse_document(text)
                .map_err(|problem| format!("the policy {policy_name} {problem}"))?;
            policies.push((policy_name, document));
        }
        marker = page
            .marker()
            .map(str::to_owned)
            .filter(|_| page.is_truncated());
        if marker.is_none() {
            break;
        }
    }
    Ok(policies)
}

async fn role_permission(
    clients: &Clients,
    target: &Target,
    found: &Found,
    instance_id: Option<&str>,
) -> Check {
    let name = names::ROLE_PERMISSION;
    let Some(role) = &found.role_arn else {
        return blocked(name, "no role is known");
    };
    let (instance_arn, instance_id) = match (&found.instance, instance_id.map(bare_instance_id)) {
        (Some(instance), _) => (instance.arn.clone(), instance.id.clone()),
        (None, Some(id)) => {
            let account = role.split(':').nth(4).unwrap_or_default();
            (
                format!("arn:aws:connect:{}:{account}:instance/{id}", target.region),
                id.to_owned(),
            )
        }
        (None, None) => return blocked(name, "no Connect instance is known"),
    };
    let fix = format!(
        "attach a policy to the role {} that allows connect:GetFederationToken on {instance_arn} and {instance_arn}/*",
        role_name(role)
    );
    let policies = match role_policies(clients, role_name(role)).await {
        Ok(policies) => policies,
        Err(problem) => {
            return fail(
                name,
                format!("could not read the role's policies: {problem}"),
                "use credentials that may read the role's policies (iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicyVersion)",
            );
        }
    };
    match policy::federation_permission(&policies, &instance_arn, &instance_id) {
        Permission::Allowed(policy) => pass(
            name,
            format!("the policy {policy} allows connect:GetFederationToken on {instance_arn}"),
        ),
        Permission::Denied(policy) => fail(
            name,
            format!(
                "the policy {policy} denies connect:GetFederationToken on {instance_arn}: sign-in shows \"Access denied\""
            ),
            format!("remove that Deny; {fix}"),
        ),
        Permission::NotAllowed => fail(
            name,
            format!(
                "no policy of the role {} allows connect:GetFederationToken on {instance_arn}: sign-in shows \"Access denied, contact your AWS account administrator\"",
                role_name(role)
            ),
            fix,
        ),
    }
}

async fn provider_metadata(clients: &Clients, found: &mut Found) -> Check {
    let name = names::PROVIDER_METADATA;
    let Some(provider) = found.provider_arn.clone() else {
        return blocked(name, "no SAML provider is known");
    };
    let document = match provider_document(clients, &provider).await {
        Ok(Some(document)) => document,
        Ok(None) => {
            return fail(
                name,
                format!("the SAML provider {provider} does not exist"),
                "create it from the application's metadata (deploy the stack), or fix the Role attribute",
            );
        }
        Err(error) => {
            return fail(
                name,
                format!("could not read the SAML provider {provider}: {error}"),
                "use credentials that may call iam:GetSAMLProvider",
            );
        }
    };
    found.provider_document = Some(document.clone());
    let Some(app) = &found.application else {
        return blocked(name, "the application could not be read");
    };
    let Some(url) = app.metadata_url() else {
        return fail(
            name,
            "the application reports no metadata URL",
            "check the application in the IAM Identity Center console",
        );
    };
    let fix = format!(
        "update the provider with the application's current metadata: update the stack (the SamlProvider resource downloads it again), or `aws iam update-saml-provider --saml-provider-arn {provider} --saml-metadata-document file://metadata.xml` with the document from {url}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let current = match clients.metadata.fetch(url, deadline).await {
        Ok(current) => current,
        Err(error) => {
            return fail(
                name,
                format!("could not download the application's metadata: {error:#}"),
                format!("check that {url} is reachable from here"),
            );
        }
    };
    if current.trim() == document.trim() {
        return pass(
            name,
            format!("{provider} holds the application's current metadata"),
        );
    }
    match (Signer::of(&document), Signer::of(&current)) {
        (Ok(iam), Ok(app)) if iam == app => pass(
            name,
            format!(
                "{provider} has the application's issuer and signing certificate (the documents differ only in form)"
            ),
        ),
        (Ok(iam), Ok(app)) if iam.entity_id != app.entity_id => fail(
            name,
            format!(
                "{provider} trusts the issuer {}, but the application signs as {}: it was made from another application's metadata",
                iam.entity_id, app.entity_id
            ),
            fix,
        ),
        (Ok(_), Ok(_)) => fail(
            name,
            format!(
                "{provider} does not have the application's current signing certificate (was it rotated?): IAM would reject every assertion"
            ),
            fix,
        ),
        (Err(problem), _) => fail(name, format!("the metadata in {provider} {problem}"), fix),
        (_, Err(problem)) => fail(
            name,
            format!("the application's metadata at {url} {problem}"),
            "check the application in the IAM Identity Center console",
        ),
    }
}

fn certificate(found: &Found) -> Check {
    let name = names::CERTIFICATE;
    let (Some(provider), Some(document)) = (&found.provider_arn, &found.provider_document) else {
        return blocked(name, "the SAML provider's metadata could not be read");
    };
    let now = OffsetDateTime::now_utc();
    match saml_provider::metadata::validate(document.clone(), now) {
        Ok(metadata) => {
            let days = (metadata.certificate_expiry - now).whole_days();
            let soon = if days < RENEW_SOON_DAYS {
                ": renew it soon (Identity Center → the application → certificate), then update the provider"
            } else {
                ""
            };
            pass(
                name,
                format!(
                    "the signing certificate of {provider} is valid until {} ({days} days left){soon}",
                    metadata.certificate_expiry_rfc3339()
                ),
            )
        }
        Err(problem) => fail(
            name,
            format!("the metadata of {provider} {problem}"),
            "give the application a new certificate in IAM Identity Center (or use its current one), then update the SAML provider with the application's metadata (update the stack)",
        ),
    }
}

// ---------------------------------------------------------------- login names

/// The check, and the identity-store attribute the assertion's RoleSessionName comes from.
fn role_session_name(target: &Target, found: &Found) -> (Check, UsernameAttribute) {
    let name = names::ROLE_SESSION_NAME;
    let wanted = role_session_name_expression(target.username_attribute);
    let Some(app) = &found.application else {
        return (
            blocked(name, "the application could not be read"),
            target.username_attribute,
        );
    };
    let fix = format!(
        "map {ROLE_SESSION_NAME_ATTRIBUTE} to {wanted}, or set the import's UsernameAttribute to match the mapping; both must name the same attribute"
    );
    if app.response_config.is_none() {
        return (blocked(name, UNREADABLE), target.username_attribute);
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
        return (fail(name, detail, fix), target.username_attribute);
    };
    let mapped = match value.trim() {
        "${user:email}" => Some(UsernameAttribute::Email),
        "${user:subject}" => Some(UsernameAttribute::UserName),
        _ => None,
    };
    match mapped {
        Some(attribute) if attribute == target.username_attribute => (
            pass(
                name,
                format!(
                    "RoleSessionName is {value}, {}, as in the user import",
                    describe_username_attribute(attribute)
                ),
            ),
            attribute,
        ),
        Some(attribute) => (
            fail(
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
            fail(
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
async fn identity_store_id(clients: &Clients, target: &Target, found: &Found) -> Option<String> {
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
async fn directory_user(
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

async fn connect_users(
    clients: &Clients,
    target: &Target,
    found: &Found,
    attribute: UsernameAttribute,
) -> Check {
    let name = names::CONNECT_USERS;
    let Some(assignments) = &found.assignments else {
        return blocked(name, "the assignments could not be read");
    };
    let Some(instance) = &found.instance else {
        return blocked(name, "the Connect instance could not be read");
    };
    let Some(store) = identity_store_id(clients, target, found).await else {
        return fail(
            name,
            "the identity store of the application's Identity Center instance could not be found",
            "give --identity-store-id (the stack's IdentityStoreId output)",
        );
    };
    let deadline = Instant::now() + MEMBER_CHECK_TIME;
    let directory = Directory {
        client: clients.identity_store.clone(),
        identity_store_id: store.clone(),
    };
    let groups: BTreeSet<String> = assignments
        .iter()
        .filter(|p| p.kind == PrincipalKind::Group)
        .map(|p| p.id.clone())
        .collect();
    let mut members = match directory.members(&groups, &groups, deadline).await {
        Ok((members, _reads)) => members,
        Err(error) => {
            return fail(
                name,
                format!("could not read the assigned groups' members: {error:#}"),
                "use credentials that may read the identity store (identitystore:ListGroupMemberships, identitystore:ListUsers, identitystore:DescribeUser)",
            );
        }
    };
    for principal in assignments.iter().filter(|p| p.kind == PrincipalKind::User) {
        if members.iter().any(|member| member.id == principal.id) {
            continue;
        }
        match directory_user(clients, &store, &principal.id).await {
            Ok(user) => members.push(user),
            Err(problem) => {
                return fail(
                    name,
                    format!("could not read an assigned user: {problem}"),
                    "use credentials that may call identitystore:DescribeUser",
                );
            }
        }
    }
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
            return fail(
                name,
                format!(
                    "could not list the Connect users of {}: {error}",
                    instance.id
                ),
                "use credentials that may call connect:ListUsers and connect:SearchUsers",
            );
        }
    };
    let owner = Owner {
        tags: Default::default(),
    };
    let plan = import_plan::plan(&members, &users, &matching_settings(attribute), &owner);
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
    let disabled_note = if disabled > 0 {
        format!(" ({disabled} disabled member(s) not counted)")
    } else {
        String::new()
    };
    if problems.is_empty() {
        return pass(
            name,
            format!(
                "all {} assigned member(s) have a Connect user named exactly as their RoleSessionName{disabled_note}",
                members.len()
            ),
        );
    }
    fail(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_sign_in_endpoints_are_recognised() {
        assert_eq!(sign_in_region(AWS_SIGN_IN), Some(None));
        assert_eq!(
            sign_in_region("https://eu-west-1.signin.aws.amazon.com/saml"),
            Some(Some("eu-west-1".to_owned()))
        );
        assert_eq!(sign_in_region("https://example.com/saml"), None);
        assert_eq!(
            sign_in_region("https://x.evil.signin.aws.amazon.com/saml"),
            None
        );
    }

    #[test]
    fn iam_arns_are_told_apart() {
        assert_eq!(
            iam_kind("arn:aws:iam::123456789012:role/path/Connect-SSO"),
            IamKind::Role
        );
        assert_eq!(
            iam_kind("arn:aws:iam::123456789012:saml-provider/Connect-SSO"),
            IamKind::Provider
        );
        assert_eq!(iam_kind("arn:aws:s3:::bucket"), IamKind::Other);
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/path/Connect-SSO"),
            "Connect-SSO"
        );
    }

    fn target() -> Target {
        Target {
            application_arn: String::new(),
            connect_instance_id: Some("inst-1".to_owned()),
            role_arn: None,
            provider_arn: None,
            identity_store_id: None,
            region: "us-east-1".to_owned(),
            identity_center_region: "us-east-1".to_owned(),
            username_attribute: UsernameAttribute::Email,
        }
    }

    fn relay(text: &str, access_url: &str) -> Check {
        let instance = ConnectInstance {
            id: "inst-1".to_owned(),
            arn: "arn:aws:connect:us-east-1:123456789012:instance/inst-1".to_owned(),
            region: "us-east-1".to_owned(),
            access_url: Some(access_url.to_owned()),
        };
        relay_state_check(
            Some(text),
            Some(&RelayState::parse(text)),
            &target(),
            Some("inst-1"),
            Some(&instance),
        )
    }

    #[test]
    fn an_old_domain_needs_new_domain_and_a_destination_must_be_encoded() {
        let base = "https://us-east-1.console.aws.amazon.com/connect/federate/inst-1";
        assert!(relay(base, "https://alias.my.connect.aws").ok);
        let old = relay(base, "https://alias.awsapps.com/connect");
        assert!(!old.ok);
        assert!(old.detail.contains("new_domain=true"), "{old:?}");
        assert!(
            old.fix
                .unwrap()
                .contains(&format!("{base}?new_domain=true")),
        );
        assert!(
            relay(
                &format!("{base}?new_domain=true"),
                "https://alias.awsapps.com/"
            )
            .ok
        );
        let raw = relay(
            &format!("{base}?destination=/ccp-v2"),
            "https://alias.my.connect.aws",
        );
        assert!(!raw.ok);
        assert!(
            raw.detail.contains("not URL-encoded (write %2Fccp-v2)"),
            "{raw:?}"
        );
        assert!(raw.fix.unwrap().contains("?destination=%2Fccp-v2"));
        let other = relay(
            "https://us-east-1.console.aws.amazon.com/connect/federate/inst-2",
            "https://alias.my.connect.aws",
        );
        assert!(
            other
                .detail
                .contains("names the instance inst-2, but the Connect instance is inst-1"),
            "{other:?}"
        );
        let missing = relay_state_check(None, None, &target(), Some("inst-1"), None);
        assert!(!missing.ok);
        assert!(missing.fix.unwrap().contains(base));
    }

    #[test]
    fn the_acs_url_and_audience_must_be_aws_sign_in() {
        let app = |acs: &str, audience: &str| ApplicationInstance {
            service_provider_config: Some(identity_center::model::ServiceProviderConfig::saml(
                acs, audience,
            )),
            ..ApplicationInstance::default()
        };
        assert!(service_provider(&app(AWS_SIGN_IN, AWS_AUDIENCE), &target()).ok);
        assert!(
            service_provider(
                &app("https://us-east-1.signin.aws.amazon.com/saml", AWS_AUDIENCE),
                &target()
            )
            .ok
        );
        let wrong = service_provider(&app("https://example.com/acs", "urn:other"), &target());
        assert!(!wrong.ok);
        assert!(wrong.detail.contains("is not AWS sign-in"), "{wrong:?}");
        assert!(wrong.detail.contains("urn:other"), "{wrong:?}");
        let elsewhere = service_provider(
            &app("https://eu-west-1.signin.aws.amazon.com/saml", AWS_AUDIENCE),
            &target(),
        );
        assert!(
            elsewhere.detail.contains("is for eu-west-1"),
            "{elsewhere:?}"
        );
        assert!(!service_provider(&ApplicationInstance::default(), &target()).ok);
    }

    #[test]
    fn the_report_has_one_line_per_check_with_the_fix() {
        let report = Report {
            checks: vec![
                pass("application", "enabled"),
                fail("relay-state", "wrong region", "set it right"),
            ],
        };
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "✔ application: enabled");
        assert_eq!(lines[1], "✘ relay-state: wrong region → fix: set it right");
        assert!(lines[2].starts_with("1 of 2 checks failed"));
        assert!(!report.ok());
        assert_eq!(report.to_json()["checks"][1]["fix"], "set it right");
    }
}
