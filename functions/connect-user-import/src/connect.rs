//! The Amazon Connect calls of the import, each through the per-operation rate limiter and
//! bounded by the deadline.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::types::{
    DirectoryType, StringComparisonType, StringCondition, UserIdentityInfo, UserPhoneConfig,
    UserSearchCriteria, UserSearchSummary,
};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::limiter::{RateLimiter, Slot};
use crate::plan::{DesiredUser, ExistingUser, Phone};
use crate::properties::PhoneType;

/// Connect's page size limits.
const LIST_PAGE: i32 = 1000;
const SEARCH_PAGE: i32 = 500;

/// Why a call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// Not started: its rate-limit slot would have come too close to the deadline.
    NotStarted,
    /// Started but not finished by the deadline: its effect is unknown.
    TimedOut,
    Api(aws_sdk_connect::Error),
    /// An answer without what it must carry.
    Malformed(String),
}

impl CallError {
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api(error) => error.code(),
            _ => None,
        }
    }

    /// Connect's `ResourceNotFoundException`.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Api(aws_sdk_connect::Error::ResourceNotFoundException(_))
        )
    }

    /// Connect's `DuplicateResourceException`.
    pub fn is_duplicate(&self) -> bool {
        matches!(
            self,
            Self::Api(aws_sdk_connect::Error::DuplicateResourceException(_))
        )
    }

    /// Connect's `LimitExceededException` (a quota, not a throttle).
    pub fn is_limit_exceeded(&self) -> bool {
        matches!(
            self,
            Self::Api(aws_sdk_connect::Error::LimitExceededException(_))
        )
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotStarted => f.write_str("not started: too close to the deadline"),
            Self::TimedOut => f.write_str("no answer before the deadline"),
            Self::Malformed(problem) => f.write_str(problem),
            Self::Api(error) => match (error.code(), error.message()) {
                (Some(code), Some(message)) => write!(f, "{code}: {message}"),
                (Some(code), None) => f.write_str(code),
                _ => write!(
                    f,
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(error)
                ),
            },
        }
    }
}

impl std::error::Error for CallError {}

pub type CallResult<T> = Result<T, CallError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// Connect for one import: the SDK client, the shared rate limiter, and the time a call needs
/// (no call starts later than that before the deadline).
#[derive(Clone)]
pub struct Connect {
    client: aws_sdk_connect::Client,
    limiter: Arc<RateLimiter>,
    call_time: Duration,
}

impl Connect {
    pub fn new(
        client: aws_sdk_connect::Client,
        limiter: Arc<RateLimiter>,
        call_time: Duration,
    ) -> Self {
        Self {
            client,
            limiter,
            call_time,
        }
    }

    /// The rate limiter all calls go through (its state rides on a continuation).
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// One call: waits for its operation's slot, then runs it (the SDK retrying throttles and
    /// 5xx) until it ends or the deadline comes.
    async fn call<T, E, F>(
        &self,
        operation: &'static str,
        deadline: Instant,
        request: F,
    ) -> CallResult<T>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        aws_sdk_connect::Error: From<SdkError<E, HttpResponse>>,
    {
        let slot = self.slot(operation, deadline).await?;
        let sent = Instant::now();
        let result = tokio::time::timeout_at(deadline.into(), request).await;
        self.record_round_trip(operation, slot, sent);
        match result {
            Err(_) => Err(CallError::TimedOut),
            Ok(Ok(output)) => Ok(output),
            Ok(Err(error)) => Err(CallError::Api(error.into())),
        }
    }

    /// Waits for the operation's rate-limit slot; refused when it comes too close to the deadline.
    async fn slot(&self, operation: &'static str, deadline: Instant) -> CallResult<Slot> {
        let latest_start = deadline.checked_sub(self.call_time).unwrap_or(deadline);
        self.limiter
            .acquire(operation, latest_start)
            .await
            .ok_or(CallError::NotStarted)
    }

    /// A call sent on a slot that did not wait measures the round trip the burst's slots lag by.
    fn record_round_trip(&self, operation: &'static str, slot: Slot, sent: Instant) {
        if !slot.waited {
            self.limiter.record_round_trip(operation, sent.elapsed());
        }
    }

    /// Every page of the SDK's paginator `pages`, each page's call waiting for its slot like any
    /// other call. `more` says whether a page has a next one: no slot is spent on asking for a
    /// page that does not exist.
    async fn all_pages<P, E>(
        &self,
        operation: &'static str,
        deadline: Instant,
        mut pages: PaginationStream<Result<P, SdkError<E, HttpResponse>>>,
        more: impl Fn(&P) -> bool,
    ) -> CallResult<Vec<P>>
    where
        aws_sdk_connect::Error: From<SdkError<E, HttpResponse>>,
    {
        let mut all = Vec::new();
        loop {
            let slot = self.slot(operation, deadline).await?;
            let sent = Instant::now();
            let page = tokio::time::timeout_at(deadline.into(), pages.next()).await;
            self.record_round_trip(operation, slot, sent);
            match page {
                Err(_) => return Err(CallError::TimedOut),
                Ok(None) => return Ok(all),
                Ok(Some(Err(error))) => return Err(CallError::Api(error.into())),
                Ok(Some(Ok(page))) => {
                    let last = !more(&page);
                    all.push(page);
                    if last {
                        return Ok(all);
                    }
                }
            }
        }
    }

    /// The instance's identity management type, or `None` when the instance does not exist.
    pub async fn identity_management_type(
        &self,
        instance_id: &str,
        deadline: Instant,
    ) -> CallResult<Option<DirectoryType>> {
        let request = self
            .client
            .describe_instance()
            .instance_id(instance_id)
            .send();
        match self.call("DescribeInstance", deadline, request).await {
            Ok(output) => Ok(Some(
                output
                    .instance()
                    .and_then(|instance| instance.identity_management_type())
                    .cloned()
                    .unwrap_or_else(|| DirectoryType::from("unknown")),
            )),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn security_profiles(
        &self,
        instance_id: &str,
        deadline: Instant,
    ) -> CallResult<Vec<Named>> {
        let pages = self
            .client
            .list_security_profiles()
            .instance_id(instance_id)
            .max_results(LIST_PAGE)
            .into_paginator()
            .send();
        let pages = self
            .all_pages("ListSecurityProfiles", deadline, pages, |page| {
                page.next_token().is_some()
            })
            .await?;
        Ok(pages
            .iter()
            .flat_map(|page| page.security_profile_summary_list())
            .filter_map(|p| named(p.id(), p.name()))
            .collect())
    }

    pub async fn routing_profiles(
        &self,
        instance_id: &str,
        deadline: Instant,
    ) -> CallResult<Vec<Named>> {
        let pages = self
            .client
            .list_routing_profiles()
            .instance_id(instance_id)
            .max_results(LIST_PAGE)
            .into_paginator()
            .send();
        let pages = self
            .all_pages("ListRoutingProfiles", deadline, pages, |page| {
                page.next_token().is_some()
            })
            .await?;
        Ok(pages
            .iter()
            .flat_map(|page| page.routing_profile_summary_list())
            .filter_map(|p| named(p.id(), p.name()))
            .collect())
    }

    /// Every user of the instance, read in bulk: SearchUsers gives the state of all users a
    /// page at a time, ListUsers the authoritative set of ids (the search index can lag
    /// writes); a DescribeUser is made only for a listed user the search did not return.
    pub async fn users(
        &self,
        instance_id: &str,
        deadline: Instant,
    ) -> CallResult<Vec<ExistingUser>> {
        let listed = self.list_users(instance_id, deadline).await?;
        let mut searched = self.search_users(instance_id, None, deadline).await?;
        let mut users = Vec::with_capacity(listed.len());
        for (id, arn, username) in listed {
            match searched.remove(&id) {
                Some(mut user) => {
                    user.username = username;
                    users.push(user);
                }
                None => match self.describe_user(instance_id, &id, deadline).await {
                    Ok(user) => users.push(user),
                    // Deleted since it was listed.
                    Err(error) if error.is_not_found() => {
                        tracing::debug!(user_id = %id, %arn, "listed user no longer exists");
                    }
                    Err(error) => return Err(error),
                },
            }
        }
        Ok(users)
    }

    /// The user of exactly this name, if the search finds it.
    pub async fn find_user(
        &self,
        instance_id: &str,
        username: &str,
        deadline: Instant,
    ) -> CallResult<Option<ExistingUser>> {
        let found = self
            .search_users(instance_id, Some(username), deadline)
            .await?;
        Ok(found.into_values().find(|user| user.username == username))
    }

    async fn list_users(
        &self,
        instance_id: &str,
        deadline: Instant,
    ) -> CallResult<Vec<(String, String, String)>> {
        let pages = self
            .client
            .list_users()
            .instance_id(instance_id)
            .max_results(LIST_PAGE)
            .into_paginator()
            .send();
        let pages = self
            .all_pages("ListUsers", deadline, pages, |page| {
                page.next_token().is_some()
            })
            .await?;
        Ok(pages
            .iter()
            .flat_map(|page| page.user_summary_list())
            .filter_map(|user| {
                Some((
                    user.id()?.to_owned(),
                    user.arn().unwrap_or_default().to_owned(),
                    user.username()?.to_owned(),
                ))
            })
            .collect())
    }

    async fn search_users(
        &self,
        instance_id: &str,
        username: Option<&str>,
        deadline: Instant,
    ) -> CallResult<HashMap<String, ExistingUser>> {
        let criteria = username.map(|username| {
            UserSearchCriteria::builder()
                .string_condition(
                    StringCondition::builder()
                        .field_name("Username")
                        .value(username)
                        // assumption: connect-search-users-case-insensitive (the exact name is re-checked below)
                        .comparison_type(StringComparisonType::Exact)
                        .build(),
                )
                .build()
        });
        let pages = self
            .client
            .search_users()
            .instance_id(instance_id)
            .max_results(SEARCH_PAGE)
            .set_search_criteria(criteria)
            .into_paginator()
            .send();
        let pages = self
            .all_pages("SearchUsers", deadline, pages, |page| {
                page.next_token().is_some()
            })
            .await?;
        Ok(pages
            .iter()
            .flat_map(|page| page.users())
            .filter_map(from_search)
            .map(|user| (user.id.clone(), user))
            .collect())
    }

    pub async fn describe_user(
        &self,
        instance_id: &str,
        user_id: &str,
        deadline: Instant,
    ) -> CallResult<ExistingUser> {
        let request = self
            .client
            .describe_user()
            .instance_id(instance_id)
            .user_id(user_id)
            .send();
        let output = self.call("DescribeUser", deadline, request).await?;
        let user = output
            .user()
            .ok_or_else(|| missing("DescribeUser returned no User"))?;
        let info = user.identity_info();
        Ok(ExistingUser {
            id: user.id().unwrap_or(user_id).to_owned(),
            arn: user.arn().unwrap_or_default().to_owned(),
            username: user.username().unwrap_or_default().to_owned(),
            first_name: info.and_then(|i| i.first_name()).map(str::to_owned),
            last_name: info.and_then(|i| i.last_name()).map(str::to_owned),
            security_profile_ids: user.security_profile_ids().iter().cloned().collect(),
            routing_profile_id: user.routing_profile_id().map(str::to_owned),
            phone: user.phone_config().map(|phone| phone_from(phone, 1)),
            tags: tags(user.tags()),
        })
    }

    /// Creates the user, tagged, and returns its id and ARN.
    pub async fn create_user(
        &self,
        instance_id: &str,
        user: &DesiredUser,
        tags: &BTreeMap<String, String>,
        deadline: Instant,
    ) -> CallResult<(String, String)> {
        // Never a Password or DirectoryUserId (both refused on a SAML instance), and the email
        // as SecondaryEmail: SAML users have no primary email in Connect.
        let request = self
            .client
            .create_user()
            .instance_id(instance_id)
            .username(&user.username)
            .identity_info(identity_info(user))
            .phone_config(phone_config(&user.phone))
            .set_security_profile_ids(Some(user.security_profile_ids.iter().cloned().collect()))
            .routing_profile_id(&user.routing_profile_id)
            .set_tags(Some(tags.clone().into_iter().collect()))
            .send();
        let output = self.call("CreateUser", deadline, request).await?;
        Ok((
            output.user_id().unwrap_or_default().to_owned(),
            output.user_arn().unwrap_or_default().to_owned(),
        ))
    }

    pub async fn update_identity_info(
        &self,
        instance_id: &str,
        user_id: &str,
        user: &DesiredUser,
        deadline: Instant,
    ) -> CallResult<()> {
        let request = self
            .client
            .update_user_identity_info()
            .instance_id(instance_id)
            .user_id(user_id)
            .identity_info(identity_info(user))
            .send();
        self.call("UpdateUserIdentityInfo", deadline, request)
            .await
            .map(drop)
    }

    pub async fn update_security_profiles(
        &self,
        instance_id: &str,
        user_id: &str,
        user: &DesiredUser,
        deadline: Instant,
    ) -> CallResult<()> {
        let request = self
            .client
            .update_user_security_profiles()
            .instance_id(instance_id)
            .user_id(user_id)
            .set_security_profile_ids(Some(user.security_profile_ids.iter().cloned().collect()))
            .send();
        self.call("UpdateUserSecurityProfiles", deadline, request)
            .await
            .map(drop)
    }

    pub async fn update_routing_profile(
        &self,
        instance_id: &str,
        user_id: &str,
        user: &DesiredUser,
        deadline: Instant,
    ) -> CallResult<()> {
        let request = self
            .client
            .update_user_routing_profile()
            .instance_id(instance_id)
            .user_id(user_id)
            .routing_profile_id(&user.routing_profile_id)
            .send();
        self.call("UpdateUserRoutingProfile", deadline, request)
            .await
            .map(drop)
    }

    pub async fn update_phone_config(
        &self,
        instance_id: &str,
        user_id: &str,
        user: &DesiredUser,
        deadline: Instant,
    ) -> CallResult<()> {
        let request = self
            .client
            .update_user_phone_config()
            .instance_id(instance_id)
            .user_id(user_id)
            .phone_config(phone_config(&user.phone))
            .send();
        self.call("UpdateUserPhoneConfig", deadline, request)
            .await
            .map(drop)
    }

    pub async fn tag_user(
        &self,
        user_arn: &str,
        tags: &BTreeMap<String, String>,
        deadline: Instant,
    ) -> CallResult<()> {
        let request = self
            .client
            .tag_resource()
            .resource_arn(user_arn)
            .set_tags(Some(tags.clone().into_iter().collect()))
            .send();
        self.call("TagResource", deadline, request).await.map(drop)
    }

    pub async fn delete_user(
        &self,
        instance_id: &str,
        user_id: &str,
        deadline: Instant,
    ) -> CallResult<()> {
        let request = self
            .client
            .delete_user()
            .instance_id(instance_id)
            .user_id(user_id)
            .send();
        self.call("DeleteUser", deadline, request).await.map(drop)
    }
}

fn named(id: Option<&str>, name: Option<&str>) -> Option<Named> {
    Some(Named {
        id: id?.to_owned(),
        name: name?.to_owned(),
    })
}

fn missing(message: &str) -> CallError {
    CallError::Malformed(message.to_owned())
}

fn identity_info(user: &DesiredUser) -> UserIdentityInfo {
    UserIdentityInfo::builder()
        .first_name(&user.first_name)
        .last_name(&user.last_name)
        .set_secondary_email(user.secondary_email.clone())
        .build()
}

fn phone_config(phone: &Phone) -> UserPhoneConfig {
    UserPhoneConfig::builder()
        .phone_type(aws_sdk_connect::types::PhoneType::from(
            phone.phone_type.as_str(),
        ))
        .auto_accept(phone.auto_accept)
        .after_contact_work_time_limit(
            i32::try_from(phone.after_contact_work_time_limit).unwrap_or(i32::MAX),
        )
        .set_desk_phone_number(phone.desk_phone_number.clone())
        .build()
}

/// SearchUsers reports the after-contact-work limit in milliseconds, DescribeUser in seconds.
const SEARCH_ACW_UNITS_PER_SECOND: i64 = 1000;

fn from_search(user: &UserSearchSummary) -> Option<ExistingUser> {
    let info = user.identity_info();
    Some(ExistingUser {
        id: user.id()?.to_owned(),
        arn: user.arn().unwrap_or_default().to_owned(),
        username: user.username().unwrap_or_default().to_owned(),
        first_name: info.and_then(|i| i.first_name()).map(str::to_owned),
        last_name: info.and_then(|i| i.last_name()).map(str::to_owned),
        security_profile_ids: user.security_profile_ids().iter().cloned().collect(),
        routing_profile_id: user.routing_profile_id().map(str::to_owned),
        phone: user
            .phone_config()
            .map(|phone| phone_from(phone, SEARCH_ACW_UNITS_PER_SECOND)),
        tags: tags(user.tags()),
    })
}

fn phone_from(phone: &UserPhoneConfig, units_per_second: i64) -> Phone {
    let acw = i64::from(phone.after_contact_work_time_limit()) / units_per_second;
    Phone {
        phone_type: match phone.phone_type() {
            aws_sdk_connect::types::PhoneType::DeskPhone => PhoneType::DeskPhone,
            _ => PhoneType::SoftPhone,
        },
        auto_accept: phone.auto_accept(),
        after_contact_work_time_limit: u32::try_from(acw).unwrap_or_default(),
        desk_phone_number: phone
            .desk_phone_number()
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
    }
}

fn tags(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}
