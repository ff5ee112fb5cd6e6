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
pub mod unconfirmed;

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ssoadmin::error::DisplayErrorContext;
use aws_sdk_ssoadmin::types::{PrincipalType, Tag};
use backon::{BackoffBuilder as _, ExponentialBuilder, Retryable};
use https_client::retry;

pub use self::arn::{ApplicationArn, InstanceArn};
pub use access::{Caller, Destination, IdentityCenterRole};
pub use console::{ConsoleClient, ConsoleError, RetryPolicy};

/// How many times [`IdentityCenter::wait_until_visible`] looks.
const VISIBILITY_CHECKS: usize = 10;

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

    /// No retry or wait for visibility ends past `deadline` (a request's `respond_by`).
    pub fn until(mut self, deadline: std::time::Instant) -> Self {
        self.console = self.console.until(deadline);
        self
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
        let mut pages = self.sso_admin.list_instances().into_paginator().send();
        let mut instances = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| self.sdk_error("ListInstances", error))?;
            instances.extend(page.instances().iter().map(|instance| Instance {
                arn: instance.instance_arn().unwrap_or_default().to_owned(),
                identity_store_id: instance.identity_store_id().unwrap_or_default().to_owned(),
                owner_account_id: instance.owner_account_id().unwrap_or_default().to_owned(),
            }));
        }
        Ok(instances)
    }

    /// The application's tags, or `None` when the application does not exist.
    pub async fn tags(
        &self,
        instance_arn: &str,
        application_arn: &str,
    ) -> anyhow::Result<Option<Vec<(String, String)>>> {
        let mut pages = self
            .sso_admin
            .list_tags_for_resource()
            .instance_arn(instance_arn)
            .resource_arn(application_arn)
            .into_paginator()
            .send();
        let mut tags = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    return Ok(None);
                }
                Err(error) => return Err(self.sdk_error("ListTagsForResource", error)),
            };
            tags.extend(
                page.tags()
                    .iter()
                    .map(|tag| (tag.key().to_owned(), tag.value().to_owned())),
            );
        }
        Ok(Some(tags))
    }

    /// Waits until the public API sees a just-created application (it is eventually consistent
    /// with the console API): polls its tags with backoff, for about half a minute at most.
    pub async fn wait_until_visible(
        &self,
        instance_arn: &str,
        application_arn: &str,
    ) -> anyhow::Result<()> {
        let seen = || async {
            match self.tags(instance_arn, application_arn).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(None),
                Err(error) => Err(Some(error)),
            }
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(5))
            .with_max_times(VISIBILITY_CHECKS - 1)
            .build();
        match seen
            .retry(retry::until(
                backoff,
                self.console.deadline(),
                Duration::ZERO,
            ))
            .when(Option::is_none)
            .notify(|_, delay| {
                tracing::info!(
                    application_arn,
                    ?delay,
                    "the new application is not visible to sso-admin yet"
                );
            })
            .await
        {
            Ok(()) => Ok(()),
            Err(Some(error)) => Err(error),
            Err(None) => anyhow::bail!(
                "application {application_arn} was created but sso-admin still does not know it"
            ),
        }
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
        let mut pages = self
            .sso_admin
            .list_application_assignments()
            .application_arn(application_arn)
            .into_paginator()
            .send();
        let mut principals = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| self.sdk_error("ListApplicationAssignments", error))?;
            principals.extend(page.application_assignments().iter().map(|assignment| {
                let kind = match assignment.principal_type() {
                    PrincipalType::Group => PrincipalKind::Group,
                    _ => PrincipalKind::User,
                };
                Principal {
                    kind,
                    id: assignment.principal_id().to_owned(),
                }
            }));
        }
        Ok(principals)
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
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conflict_exception()) =>
            {
                Ok(())
            }
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
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
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
