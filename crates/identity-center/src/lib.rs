//! IAM Identity Center for the custom resources: the console control-plane API (SWBService), the
//! only API that can create and configure a SAML 2.0 application, next to the public sso-admin
//! API (instances, assignments, tags), which works on those applications too.
//!
//! Both are built from one `SdkConfig` whose region is the Identity Center home region, signed as
//! the [`Caller`] that [`access`] selects (the function's own role, or a role in the Identity
//! Center account). Their errors name the account and region the call went to.

pub mod access;
pub mod arn;
pub mod console;
pub mod model;
mod region;
pub mod unconfirmed;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_ssoadmin::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ssoadmin::types::{PrincipalType, Tag};

pub use access::{Caller, Destination, IdentityCenterRole};
pub use arn::ApplicationArn;
pub use console::{ConsoleClient, ConsoleError, RetryPolicy};
pub use region::check_region;

/// An Identity Center instance, as public `ListInstances` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub arn: String,
    pub identity_store_id: String,
    pub owner_account_id: String,
}

/// A user or group assigned to an application.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The identity store id of the user or group.
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalKind {
    Group,
    User,
}

impl PrincipalKind {
    fn sdk(self) -> PrincipalType {
        match self {
            Self::Group => PrincipalType::Group,
            Self::User => PrincipalType::User,
        }
    }
}

/// Both Identity Center APIs in one home region.
#[derive(Debug, Clone)]
pub struct IdentityCenter {
    pub console: ConsoleClient,
    pub sso_admin: aws_sdk_ssoadmin::Client,
}

impl IdentityCenter {
    /// Clients for the region, credentials and endpoint overrides of `config`.
    pub fn new(config: &SdkConfig) -> anyhow::Result<Self> {
        Ok(Self {
            console: ConsoleClient::new(config)?,
            sso_admin: aws_sdk_ssoadmin::Client::new(config),
        })
    }

    /// Clients for `base` (endpoints) in the home `region`, signed as `caller`; their errors name
    /// the caller's account and the region.
    pub fn for_caller(base: &SdkConfig, caller: &Caller, region: &str) -> anyhow::Result<Self> {
        let mut clients = Self::new(&caller.config(base, region))?;
        clients.console = clients.console.with_destination(caller.destination(region));
        Ok(clients)
    }

    pub fn region(&self) -> &str {
        self.console.region()
    }

    /// The account and region the calls go to.
    pub fn destination(&self) -> &Destination {
        self.console.destination()
    }

    /// The Identity Center instances visible in this region.
    pub async fn instances(&self) -> anyhow::Result<Vec<Instance>> {
        let mut instances = Vec::new();
        let mut next_token = None;
        loop {
            let page = self
                .sso_admin
                .list_instances()
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|error| self.sdk_error("ListInstances", error))?;
            for instance in page.instances() {
                instances.push(Instance {
                    arn: instance.instance_arn().unwrap_or_default().to_owned(),
                    identity_store_id: instance.identity_store_id().unwrap_or_default().to_owned(),
                    owner_account_id: instance.owner_account_id().unwrap_or_default().to_owned(),
                });
            }
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                return Ok(instances);
            }
        }
    }

    /// The application's tags, or `None` when the application does not exist.
    pub async fn tags(
        &self,
        instance_arn: &str,
        application_arn: &str,
    ) -> anyhow::Result<Option<Vec<(String, String)>>> {
        let mut tags = Vec::new();
        let mut next_token = None;
        loop {
            let answer = self
                .sso_admin
                .list_tags_for_resource()
                .instance_arn(instance_arn)
                .resource_arn(application_arn)
                .set_next_token(next_token)
                .send()
                .await;
            let page = match answer {
                Ok(page) => page,
                Err(error) if error.code() == Some("ResourceNotFoundException") => return Ok(None),
                Err(error) => return Err(self.sdk_error("ListTagsForResource", error)),
            };
            tags.extend(
                page.tags()
                    .iter()
                    .map(|tag| (tag.key().to_owned(), tag.value().to_owned())),
            );
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                return Ok(Some(tags));
            }
        }
    }

    /// Waits until the public API sees a just-created application (it is eventually consistent
    /// with the console API): polls its tags with backoff, for about half a minute at most.
    pub async fn wait_until_visible(
        &self,
        instance_arn: &str,
        application_arn: &str,
    ) -> anyhow::Result<()> {
        let mut delay = std::time::Duration::from_millis(100);
        for _ in 0..10 {
            if self.tags(instance_arn, application_arn).await?.is_some() {
                return Ok(());
            }
            tracing::info!(
                application_arn,
                ?delay,
                "the new application is not visible to sso-admin yet"
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(5));
        }
        anyhow::bail!(
            "application {application_arn} was created but sso-admin still does not know it"
        )
    }

    pub async fn tag(
        &self,
        instance_arn: &str,
        application_arn: &str,
        tags: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let tags = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(*key).value(*value).build())
            .collect::<Result<Vec<_>, _>>()?;
        self.sso_admin
            .tag_resource()
            .instance_arn(instance_arn)
            .resource_arn(application_arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|error| self.sdk_error("TagResource", error))?;
        Ok(())
    }

    /// The users and groups assigned to the application.
    pub async fn assignments(&self, application_arn: &str) -> anyhow::Result<Vec<Principal>> {
        let mut principals = Vec::new();
        let mut next_token = None;
        loop {
            let page = self
                .sso_admin
                .list_application_assignments()
                .application_arn(application_arn)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|error| self.sdk_error("ListApplicationAssignments", error))?;
            for assignment in page.application_assignments() {
                let kind = match assignment.principal_type() {
                    PrincipalType::Group => PrincipalKind::Group,
                    _ => PrincipalKind::User,
                };
                principals.push(Principal {
                    kind,
                    id: assignment.principal_id().to_owned(),
                });
            }
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                return Ok(principals);
            }
        }
    }

    /// Assigns a user or group; one already assigned is fine.
    pub async fn assign(&self, application_arn: &str, principal: &Principal) -> anyhow::Result<()> {
        let answer = self
            .sso_admin
            .create_application_assignment()
            .application_arn(application_arn)
            .principal_id(&principal.id)
            .principal_type(principal.kind.sdk())
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("ConflictException") => Ok(()),
            Err(error) => Err(self.sdk_error("CreateApplicationAssignment", error)),
        }
    }

    /// Removes an assignment; one already gone is fine.
    pub async fn unassign(
        &self,
        application_arn: &str,
        principal: &Principal,
    ) -> anyhow::Result<()> {
        let answer = self
            .sso_admin
            .delete_application_assignment()
            .application_arn(application_arn)
            .principal_id(&principal.id)
            .principal_type(principal.kind.sdk())
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(error) => Err(self.sdk_error("DeleteApplicationAssignment", error)),
        }
    }

    /// An sso-admin error naming the operation, where it went, and AWS's code and message.
    fn sdk_error<E>(
        &self,
        operation: &str,
        error: aws_sdk_ssoadmin::error::SdkError<E>,
    ) -> anyhow::Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        anyhow::anyhow!(
            "sso-admin {operation} failed ({}): {}",
            self.destination(),
            DisplayErrorContext(&error)
        )
    }
}

/// Adds the operation name to a result from the console API (its error already carries it).
pub trait ConsoleResultExt<T> {
    fn during(self, what: &str) -> anyhow::Result<T>;
}

impl<T> ConsoleResultExt<T> for Result<T, ConsoleError> {
    fn during(self, what: &str) -> anyhow::Result<T> {
        self.map_err(anyhow::Error::new).context(what.to_owned())
    }
}
