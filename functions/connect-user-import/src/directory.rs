//! The identity store: which users are members of the imported groups, read in bulk.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use aws_sdk_identitystore::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_identitystore::types::{AlternateIdentifier, MemberId, UniqueAttribute, UserStatus};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::Document;

use crate::plan::{DirectoryEmail, DirectoryUser};

/// The identity store's page size limit.
const PAGE: i32 = 100;

/// The identity store of the (first) Identity Center instance the client's region sees.
pub async fn identity_store_id(
    client: &aws_sdk_ssoadmin::Client,
    deadline: Instant,
) -> anyhow::Result<String> {
    let output = tokio::time::timeout_at(deadline.into(), client.list_instances().send())
        .await
        .map_err(|_| anyhow!("no answer before the deadline"))
        .and_then(|answer| {
            answer.map_err(|error| {
                anyhow!(
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(&error)
                )
            })
        })
        .context("IdentityStoreId not given and sso-admin ListInstances failed")?;
    output
        .instances()
        .iter()
        .find_map(|instance| instance.identity_store_id())
        .map(str::to_owned)
        .context("IdentityStoreId not given and no IAM Identity Center instance was found in IdentityCenterRegion (or the function's region)")
}

pub struct Directory {
    pub client: aws_sdk_identitystore::Client,
    pub identity_store_id: String,
}

impl Directory {
    /// The group's id, from its display name or (when no group has that name) its id.
    pub async fn group_id(
        &self,
        name_or_id: &str,
        property: &str,
        deadline: Instant,
    ) -> anyhow::Result<String> {
        let by_name = UniqueAttribute::builder()
            .attribute_path("displayName")
            .attribute_value(Document::String(name_or_id.to_owned()))
            .build()
            .map_err(|error| anyhow!("{error}"))?;
        let request = self
            .client
            .get_group_id()
            .identity_store_id(&self.identity_store_id)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(by_name))
            .send();
        match bounded(deadline, request).await {
            Ok(output) => return Ok(output.group_id().to_owned()),
            Err(error) if !error.is_not_found() => {
                return Err(error).with_context(|| {
                    format!("identitystore GetGroupId for {property} {name_or_id:?}")
                });
            }
            Err(_) => {}
        }
        let request = self
            .client
            .describe_group()
            .identity_store_id(&self.identity_store_id)
            .group_id(name_or_id)
            .send();
        match bounded(deadline, request).await {
            Ok(output) => Ok(output.group_id().to_owned()),
            Err(error) if error.is_not_found() || error.is_validation() => {
                bail!(
                    "invalid property {property}: no group {name_or_id:?} in identity store {}: give a group's exact display name or its id",
                    self.identity_store_id
                )
            }
            Err(error) => Err(error).with_context(|| {
                format!("identitystore DescribeGroup for {property} {name_or_id:?}")
            }),
        }
    }

    /// The ids of the group's members (users; nested groups are not expanded).
    pub async fn member_ids(
        &self,
        group_id: &str,
        deadline: Instant,
    ) -> anyhow::Result<Vec<String>> {
        let mut pages = self
            .client
            .list_group_memberships()
            .identity_store_id(&self.identity_store_id)
            .group_id(group_id)
            .max_results(PAGE)
            .into_paginator()
            .send();
        let mut members = Vec::new();
        while let Some(page) = next_page(deadline, &mut pages)
            .await
            .with_context(|| format!("identitystore ListGroupMemberships for group {group_id}"))?
        {
            for membership in page.group_memberships() {
                if let Some(MemberId::UserId(user_id)) = membership.member_id() {
                    members.push(user_id.clone());
                }
            }
        }
        Ok(members)
    }

    /// The members of `groups` (ids), each with every group of `all_groups` it belongs to.
    pub async fn members(
        &self,
        groups: &BTreeSet<String>,
        all_groups: &BTreeSet<String>,
        deadline: Instant,
    ) -> anyhow::Result<Vec<DirectoryUser>> {
        let mut memberships: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for group_id in all_groups {
            for user_id in self.member_ids(group_id, deadline).await? {
                memberships
                    .entry(user_id)
                    .or_default()
                    .insert(group_id.clone());
            }
        }
        let imported = |user_id: &str| {
            memberships
                .get(user_id)
                .is_some_and(|of| of.iter().any(|g| groups.contains(g)))
        };
        let mut users = self.users(deadline).await?;
        users.retain(|user| imported(&user.id));
        for user in &mut users {
            user.group_ids = memberships.remove(&user.id).unwrap_or_default();
        }
        Ok(users)
    }

    /// Every user of the store: ListUsers returns whole users, 100 a page, so no per-user call.
    async fn users(&self, deadline: Instant) -> anyhow::Result<Vec<DirectoryUser>> {
        let mut pages = self
            .client
            .list_users()
            .identity_store_id(&self.identity_store_id)
            .max_results(PAGE)
            .into_paginator()
            .send();
        let mut users = Vec::new();
        while let Some(page) = next_page(deadline, &mut pages)
            .await
            .context("identitystore ListUsers")?
        {
            users.extend(page.users().iter().map(|user| {
                let phone = user
                    .phone_numbers()
                    .iter()
                    .find(|p| p.primary())
                    .or_else(|| user.phone_numbers().first());
                DirectoryUser {
                    id: user.user_id().to_owned(),
                    user_name: user.user_name().unwrap_or_default().to_owned(),
                    display_name: user.display_name().map(str::to_owned),
                    given_name: user
                        .name()
                        .and_then(|name| name.given_name())
                        .map(str::to_owned),
                    family_name: user
                        .name()
                        .and_then(|name| name.family_name())
                        .map(str::to_owned),
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
                    phone_number: phone.and_then(|p| p.value()).map(str::to_owned),
                    disabled: user.user_status() == Some(&UserStatus::Disabled),
                    group_ids: BTreeSet::new(),
                }
            }));
        }
        Ok(users)
    }
}

/// A failed identity-store call.
#[derive(Debug)]
pub enum StoreError {
    TimedOut,
    Api(Box<aws_sdk_identitystore::Error>),
}

impl StoreError {
    fn is_not_found(&self) -> bool {
        matches!(self, Self::Api(error) if matches!(**error, aws_sdk_identitystore::Error::ResourceNotFoundException(_)))
    }

    fn is_validation(&self) -> bool {
        matches!(self, Self::Api(error) if matches!(**error, aws_sdk_identitystore::Error::ValidationException(_)))
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TimedOut => f.write_str("no answer before the deadline"),
            Self::Api(error) => match (error.code(), error.message()) {
                (Some(code), Some(message)) => write!(f, "{code}: {message}"),
                _ => write!(
                    f,
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(error.as_ref())
                ),
            },
        }
    }
}

impl std::error::Error for StoreError {}

/// Runs an identity-store call, giving up at the deadline.
async fn bounded<T, E>(
    deadline: Instant,
    request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, StoreError>
where
    aws_sdk_identitystore::Error: From<SdkError<E, HttpResponse>>,
{
    match tokio::time::timeout_at(deadline.into(), request).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => Err(StoreError::Api(Box::new(error.into()))),
        Err(_) => Err(StoreError::TimedOut),
    }
}

/// The paginator's next page (`None` after the last), giving up at the deadline.
async fn next_page<P, E>(
    deadline: Instant,
    pages: &mut PaginationStream<Result<P, SdkError<E, HttpResponse>>>,
) -> Result<Option<P>, StoreError>
where
    aws_sdk_identitystore::Error: From<SdkError<E, HttpResponse>>,
{
    match tokio::time::timeout_at(deadline.into(), pages.next()).await {
        Err(_) => Err(StoreError::TimedOut),
        Ok(None) => Ok(None),
        Ok(Some(page)) => page
            .map(Some)
            .map_err(|error| StoreError::Api(Box::new(error.into()))),
    }
}
