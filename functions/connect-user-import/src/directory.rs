//! The identity store: which users are members of the imported groups, read by whichever way
//! costs fewer calls (listing the directory, or describing only the members).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use aws_sdk_identitystore::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_identitystore::types::{
    AlternateIdentifier, Email, MemberId, Name, PhoneNumber, UniqueAttribute, UserStatus,
};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::Document;
use futures::{StreamExt, TryStreamExt};

use crate::plan::{DirectoryEmail, DirectoryUser};

/// The identity store's page size limit.
const PAGE: i32 = 100;

/// The identity store of the (first) Identity Center instance the client's region sees, over
/// every page of ListInstances.
pub async fn identity_store_id(
    client: &aws_sdk_ssoadmin::Client,
    deadline: Instant,
) -> anyhow::Result<String> {
    let mut instances = client.list_instances().into_paginator().items().send();
    loop {
        let instance = tokio::time::timeout_at(deadline.into(), instances.next())
            .await
            .map_err(|_| anyhow!("no answer before the deadline"))
            .and_then(|instance| {
                instance.transpose().map_err(|error| {
                    anyhow!(
                        "{}",
                        aws_smithy_types::error::display::DisplayErrorContext(&error)
                    )
                })
            })
            .context("IdentityStoreId not given and sso-admin ListInstances failed")?;
        let Some(instance) = instance else {
            bail!(
                "IdentityStoreId not given and no IAM Identity Center instance was found in IdentityCenterRegion (or the function's region)"
            );
        };
        if let Some(id) = instance.identity_store_id() {
            return Ok(id.to_owned());
        }
    }
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

    /// The ids of the group's members (users; nested groups are not expanded), and the pages
    /// it took.
    pub async fn member_ids(
        &self,
        group_id: &str,
        deadline: Instant,
    ) -> anyhow::Result<(Vec<String>, usize)> {
        let mut pages = self
            .client
            .list_group_memberships()
            .identity_store_id(&self.identity_store_id)
            .group_id(group_id)
            .max_results(PAGE)
            .into_paginator()
            .send();
        let mut members = Vec::new();
        let mut read = 0;
        while let Some(page) = next_page(deadline, &mut pages)
            .await
            .with_context(|| format!("identitystore ListGroupMemberships for group {group_id}"))?
        {
            read += 1;
            for membership in page.group_memberships() {
                if let Some(MemberId::UserId(user_id)) = membership.member_id() {
                    members.push(user_id.clone());
                }
            }
        }
        Ok((members, read))
    }

    /// The members of `groups` (ids), each with every group of `all_groups` it belongs to, and
    /// the calls it took.
    pub async fn members(
        &self,
        groups: &BTreeSet<String>,
        all_groups: &BTreeSet<String>,
        deadline: Instant,
    ) -> anyhow::Result<(Vec<DirectoryUser>, DirectoryReads)> {
        let mut reads = DirectoryReads::default();
        let mut memberships: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for group_id in all_groups {
            let (members, pages) = self.member_ids(group_id, deadline).await?;
            reads.membership_pages += pages;
            for user_id in members {
                memberships
                    .entry(user_id)
                    .or_default()
                    .insert(group_id.clone());
            }
        }
        let wanted: BTreeSet<String> = memberships
            .iter()
            .filter(|(_, of)| of.iter().any(|g| groups.contains(g)))
            .map(|(user_id, _)| user_id.clone())
            .collect();
        let mut users = self.read_users(wanted, deadline, &mut reads).await?;
        for user in &mut users {
            user.group_ids = memberships.remove(&user.id).unwrap_or_default();
        }
        Ok((users, reads))
    }

    /// The users `wanted` names, read whichever way costs fewer calls: ListUsers pages (100
    /// whole users a call, but the whole directory's) or one DescribeUser per member. The
    /// directory's size is not known in advance, so the listing goes on only while it pays:
    /// it stops once every member was found, or, after [`SAMPLE_PAGES`] pages, as soon as the
    /// pages so far held fewer members than pages (a page then costs more than the DescribeUser
    /// calls it saves). The members not found are then described one by one. Either way the
    /// pages read never exceed the members found by more than the sample, so the calls stay
    /// under about twice the member count, whatever the directory's size or order.
    async fn read_users(
        &self,
        mut missing: BTreeSet<String>,
        deadline: Instant,
        reads: &mut DirectoryReads,
    ) -> anyhow::Result<Vec<DirectoryUser>> {
        let mut users = Vec::new();
        let mut listing = self
            .client
            .list_users()
            .identity_store_id(&self.identity_store_id)
            .max_results(PAGE)
            .into_paginator()
            .send();
        let mut found = 0usize;
        while !missing.is_empty() {
            if reads.user_pages >= SAMPLE_PAGES && found < reads.user_pages {
                break;
            }
            let page = match tokio::time::timeout_at(deadline.into(), listing.next()).await {
                Err(_) => return Err(StoreError::TimedOut).context("identitystore ListUsers"),
                // The directory ended: members not listed are not users (any more).
                Ok(None) => {
                    missing.clear();
                    break;
                }
                Ok(Some(page)) => page
                    .map_err(|error| StoreError::Api(Box::new(error.into())))
                    .context("identitystore ListUsers")?,
            };
            reads.user_pages += 1;
            for user in page.users() {
                if missing.remove(user.user_id()) {
                    found += 1;
                    users.push(directory_user(
                        user.user_id(),
                        user.user_name(),
                        user.display_name(),
                        user.name(),
                        user.emails(),
                        user.phone_numbers(),
                        user.user_status(),
                    ));
                }
            }
        }
        reads.described = missing.len();
        let described: Vec<Option<DirectoryUser>> = futures::stream::iter(missing)
            .map(|user_id| self.describe_user(user_id, deadline))
            .buffer_unordered(DESCRIBE_CONCURRENCY)
            .try_collect()
            .await?;
        users.extend(described.into_iter().flatten());
        Ok(users)
    }

    /// One member's user; `None` when it no longer exists (a membership can outlive it).
    async fn describe_user(
        &self,
        user_id: String,
        deadline: Instant,
    ) -> anyhow::Result<Option<DirectoryUser>> {
        let request = self
            .client
            .describe_user()
            .identity_store_id(&self.identity_store_id)
            .user_id(&user_id)
            .send();
        match bounded(deadline, request).await {
            Ok(user) => Ok(Some(directory_user(
                user.user_id(),
                user.user_name(),
                user.display_name(),
                user.name(),
                user.emails(),
                user.phone_numbers(),
                user.user_status(),
            ))),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => {
                Err(error).with_context(|| format!("identitystore DescribeUser {user_id}"))
            }
        }
    }
}

/// ListUsers pages read before their yield decides whether listing pays.
pub const SAMPLE_PAGES: usize = 3;
/// DescribeUser calls in flight at once (the identity store's throttle is shared with the
/// rest of Identity Center; its `RetryAfterSeconds` is honoured when it answers one).
const DESCRIBE_CONCURRENCY: usize = 4;

/// The identity-store calls one read of the members took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryReads {
    pub membership_pages: usize,
    pub user_pages: usize,
    pub described: usize,
}

impl DirectoryReads {
    pub fn calls(&self) -> usize {
        self.membership_pages + self.user_pages + self.described
    }
}

/// A directory user from the fields ListUsers and DescribeUser both return.
fn directory_user(
    id: &str,
    user_name: Option<&str>,
    display_name: Option<&str>,
    name: Option<&Name>,
    emails: &[Email],
    phone_numbers: &[PhoneNumber],
    status: Option<&UserStatus>,
) -> DirectoryUser {
    let phone = phone_numbers
        .iter()
        .find(|p| p.primary())
        .or_else(|| phone_numbers.first());
    DirectoryUser {
        id: id.to_owned(),
        user_name: user_name.unwrap_or_default().to_owned(),
        display_name: display_name.map(str::to_owned),
        given_name: name.and_then(|name| name.given_name()).map(str::to_owned),
        family_name: name.and_then(|name| name.family_name()).map(str::to_owned),
        emails: emails
            .iter()
            .filter_map(|email| {
                Some(DirectoryEmail {
                    value: email.value()?.to_owned(),
                    primary: email.primary(),
                })
            })
            .collect(),
        phone_number: phone.and_then(|p| p.value()).map(str::to_owned),
        disabled: status == Some(&UserStatus::Disabled),
        group_ids: BTreeSet::new(),
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
