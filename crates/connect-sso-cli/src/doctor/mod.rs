//! `connect-sso doctor`: guide step 6, "sign in and see if it works", checked link by link before
//! anyone tries. Each check names what it found and, when it fails, the fix; a failure explains
//! one of Connect's sign-in errors (reference: connect-and-identity-store.md §3.6).
//!
//! [`run`] takes explicit ids ([`Target`]) and ready clients ([`Clients`]), so the local deploy
//! calls it in-process against the emulators, and the command line against AWS.

mod application;
mod connect;
mod metadata;
pub mod policy;
mod provider;
pub mod relay_state;
mod role;
mod users;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata};
use connect_user_import::connect::Connect;
use connect_user_import::directory::Directory;
use connect_user_import::limiter::{Quota, RateLimiter};
use connect_user_import::plan::{
    self as import_plan, Action, Claimant, DirectoryEmail, DirectoryUser, Profiles, Settings,
};
use connect_user_import::properties::{OnUserRemoved, PhoneType, UsernameAttribute};
use identity_center::model::ApplicationInstance;
use identity_center::{ApplicationArn, PrincipalKind};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clients::Clients;
pub use crate::report::{Check, CheckName, Purpose, Report};
use crate::target::{Target, describe_username_attribute, role_session_name_expression};
use metadata::Signer;
use policy::{Permission, SamlTrust};
use relay_state::RelayState;

use application::*;
use connect::*;
use provider::*;
use role::*;
pub(crate) use users::matching_settings;
use users::*;

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
    use crate::report::CheckName;

    pub const APPLICATION: &str = CheckName::Application.as_str();
    pub const SERVICE_PROVIDER: &str = CheckName::ServiceProvider.as_str();
    pub const ASSIGNMENTS: &str = CheckName::Assignments.as_str();
    pub const CONNECT_INSTANCE: &str = CheckName::ConnectInstance.as_str();
    pub const RELAY_STATE: &str = CheckName::RelayState.as_str();
    pub const ROLE_ATTRIBUTE: &str = CheckName::RoleAttribute.as_str();
    pub const ROLE_TRUST: &str = CheckName::RoleTrust.as_str();
    pub const ROLE_PERMISSION: &str = CheckName::RolePermission.as_str();
    pub const PROVIDER_METADATA: &str = CheckName::ProviderMetadata.as_str();
    pub const CERTIFICATE: &str = CheckName::Certificate.as_str();
    pub const ROLE_SESSION_NAME: &str = CheckName::RoleSessionName.as_str();
    pub const CONNECT_USERS: &str = CheckName::ConnectUsers.as_str();

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

/// Identity Center may not show an application's attribute configuration (docs/assumptions.md,
/// `get-returns-response-config`): then it cannot be checked, which is not the same as missing.
const UNREADABLE: &str = "Identity Center does not show this application's attribute configuration \
     (responseConfig), so it cannot be read here; check the attribute mappings in the IAM Identity Center console";

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
    let mut report = Report::new(Purpose::SignIn);
    let mut found = Found::default();

    report.push(application(clients, target, &mut found).await);
    report.push(match &found.application {
        Some(app) => service_provider(app, target),
        None => Check::blocked(
            CheckName::ServiceProvider,
            "the application could not be read",
        ),
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
        Some(app) if app.response_config.is_none() => {
            Check::blocked(CheckName::RelayState, UNREADABLE)
        }
        Some(_) => relay_state_check(
            relay_text.as_deref(),
            relay.as_ref(),
            target,
            instance_id.as_deref(),
            found.instance.as_ref(),
        ),
        None => Check::blocked(CheckName::RelayState, "the application could not be read"),
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
            purpose: Purpose::SignIn,
            checks: vec![
                Check::pass(CheckName::Application, "enabled"),
                Check::fail(CheckName::RelayState, "wrong region", "set it right"),
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
