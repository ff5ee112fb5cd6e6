//! A stateful local emulator of the Amazon Connect APIs that the user import needs: instances,
//! their default security and routing profiles, users with tags, list/search with paging, the
//! documented request constraints and AWS-shaped errors, plus switchable throttling, eventual
//! consistency and injected server errors.
//!
//! Point `aws-sdk-connect` at [`Emulator::endpoint`] (e.g. `AWS_ENDPOINT_URL_CONNECT`). Any
//! credentials and region are accepted; ARNs use region `us-east-1` and account `123456789012`.
//! See README.md for what is emulated and how sure we are of each behaviour.

mod error;
mod http;
mod ops;
mod paging;
mod state;
mod throttle;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::http::Shared;
use crate::state::{Account, StoredUser, UserRecord, epoch_seconds};

pub use crate::state::{ACCOUNT, DEFAULT_ROUTING_PROFILE, DEFAULT_SECURITY_PROFILES, REGION};

/// Behaviour switches; [`Emulator::set_options`] changes them while the server runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Users per instance (the Connect default quota is 500); CreateUser beyond it answers
    /// LimitExceededException.
    pub user_limit: usize,
    /// Token-bucket throttling, one bucket per API operation (shared by all instances, as
    /// Connect's quotas are per account and Region). `None` = unlimited.
    pub throttle: Option<Quota>,
    /// How long a new user stays invisible to DescribeUser, Update*, DeleteUser, tag calls,
    /// ListUsers and SearchUsers; SearchUsers also shows every later write (and deletion) only
    /// after this delay. `None` = strongly consistent.
    pub eventual_consistency: Option<Duration>,
    /// Fraction (0.0..=1.0) of requests answered with HTTP 500 InternalServiceException before
    /// anything is done, so a retry is always safe.
    pub server_error_rate: f64,
    /// Seeds the choice of failing requests and the generated ids.
    pub seed: u64,
    /// Whether a username is taken by one differing only in case ("Jane" blocks "jane"). AWS
    /// does not say; `true` (the default) is the stricter choice for an importer. Tests whose
    /// outcome depends on it run both ways.
    // assumption: connect-username-case-insensitive
    pub usernames_case_insensitive: bool,
    /// At most this many items a page in every listing (ListInstances, ListSecurityProfiles,
    /// ListRoutingProfiles, ListUsers, SearchUsers), whatever MaxResults asks: AWS documents
    /// MaxResults as a maximum, and a small value makes every caller's listing cross pages.
    /// `None` = pages of MaxResults.
    pub page_size: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            user_limit: 500,
            throttle: None,
            eventual_consistency: None,
            server_error_rate: 0.0,
            seed: 0x00c0_ffee,
            usernames_case_insensitive: true,
            page_size: None,
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `requests_per_second`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    pub requests_per_second: f64,
    pub burst: u32,
}

impl Quota {
    /// Connect's default API quota: 2 requests per second, burst 5.
    pub fn connect_default() -> Quota {
        Quota {
            requests_per_second: 2.0,
            burst: 5,
        }
    }
}

/// An instance made through [`Emulator::create_instance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub arn: String,
}

/// A user as stored (not as any one API returns it): ACW in seconds, tags included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserSnapshot {
    pub id: String,
    pub arn: String,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub secondary_email: Option<String>,
    /// "SOFT_PHONE" or "DESK_PHONE".
    pub phone_type: String,
    pub auto_accept: bool,
    /// Seconds.
    pub after_contact_work_time_limit: i32,
    pub desk_phone_number: Option<String>,
    pub security_profile_ids: Vec<String>,
    pub routing_profile_id: String,
    pub tags: BTreeMap<String, String>,
    pub directory_user_id: Option<String>,
}

impl UserSnapshot {
    /// A soft-phone user with no names, profiles or tags; [`Emulator::add_user`] fills in the
    /// id, the ARN and the default profiles (Agent, Basic Routing Profile) when left empty.
    pub fn new(username: &str) -> UserSnapshot {
        UserSnapshot {
            username: username.to_owned(),
            phone_type: "SOFT_PHONE".to_owned(),
            ..UserSnapshot::default()
        }
    }

    pub fn with_names(mut self, first_name: &str, last_name: &str) -> UserSnapshot {
        self.first_name = Some(first_name.to_owned());
        self.last_name = Some(last_name.to_owned());
        self
    }

    pub fn with_tag(mut self, key: &str, value: &str) -> UserSnapshot {
        self.tags.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// The running emulator. Dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Emulator {
    /// Starts on 127.0.0.1 and a free port.
    pub async fn start(options: Options) -> anyhow::Result<Emulator> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), options).await
    }

    pub async fn start_on(address: SocketAddr, options: Options) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("binding the Connect emulator to {address}"))?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::new(Account::new(options)));
        let app = http::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "the Connect emulator stopped");
            }
        });
        tracing::info!(%address, "Connect emulator listening");
        Ok(Emulator {
            shared,
            address,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_CONNECT` or `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A ready (ACTIVE) instance with the default profiles.
    ///
    /// # Panics
    /// If `identity_management_type` is not SAML, CONNECT_MANAGED or EXISTING_DIRECTORY.
    pub fn create_instance(&self, alias: &str, identity_management_type: &str) -> Instance {
        assert!(
            ops::IDENTITY_MANAGEMENT_TYPES.contains(&identity_management_type),
            "identity management type must be one of {:?}, not {identity_management_type:?}",
            ops::IDENTITY_MANAGEMENT_TYPES
        );
        let mut account = self.shared.lock();
        let created = account.create_instance(
            Some(alias.to_owned()),
            identity_management_type,
            true,
            true,
            BTreeMap::new(),
        );
        Instance {
            id: created.id.clone(),
            arn: created.arn.clone(),
        }
    }

    /// Removes the instance and everything in it (no-op if it does not exist).
    pub fn delete_instance(&self, instance_id: &str) {
        self.shared.lock().instances.remove(instance_id);
    }

    /// The instance's users as they are now (ignoring any propagation delay), by username.
    pub fn users(&self, instance_id: &str) -> Vec<UserSnapshot> {
        let account = self.shared.lock();
        let mut users: Vec<UserSnapshot> = account
            .instances
            .get(instance_id)
            .map(|i| {
                i.users
                    .values()
                    .map(|u| u.record.snapshot.clone())
                    .collect()
            })
            .unwrap_or_default();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        users
    }

    /// The user with exactly this username, if any.
    pub fn user(&self, instance_id: &str, username: &str) -> Option<UserSnapshot> {
        self.users(instance_id)
            .into_iter()
            .find(|u| u.username == username)
    }

    /// A user made by someone else (no tags unless given), e.g. for foreign-user tests. It is
    /// visible to every read at once, whatever the consistency setting. Empty `id`/`arn` are
    /// generated; empty profiles become Agent and Basic Routing Profile; an empty phone type
    /// becomes SOFT_PHONE. No request validation applies.
    ///
    /// # Panics
    /// If the instance does not exist or the username is taken (in any case).
    pub fn add_user(&self, instance_id: &str, user: UserSnapshot) -> UserSnapshot {
        let mut account = self.shared.lock();
        let generated_id = account.new_id();
        let now = account.now();
        let case_insensitive = account.options.usernames_case_insensitive;
        let instance = account
            .instances
            .get_mut(instance_id)
            .unwrap_or_else(|| panic!("add_user: no instance {instance_id}"));
        assert!(
            !instance.users.values().any(|u| crate::ops::same_username(
                &u.record.snapshot.username,
                &user.username,
                case_insensitive
            )),
            "add_user: username {} is taken",
            user.username
        );
        let mut user = user;
        if user.id.is_empty() {
            user.id = generated_id;
        }
        if user.arn.is_empty() {
            user.arn = format!("{}/agent/{}", instance.arn, user.id);
        }
        if user.phone_type.is_empty() {
            user.phone_type = "SOFT_PHONE".to_owned();
        }
        if user.security_profile_ids.is_empty() {
            user.security_profile_ids = instance
                .security_profiles
                .iter()
                .filter(|p| p.name == "Agent")
                .map(|p| p.id.clone())
                .collect();
        }
        if user.routing_profile_id.is_empty()
            && let Some(profile) = instance.routing_profiles.first()
        {
            user.routing_profile_id = profile.id.clone();
        }
        let record = UserRecord {
            snapshot: user.clone(),
            mobile: None,
            last_modified: epoch_seconds(),
        };
        let mut stored = StoredUser::new(record, now);
        stored.preexisting = true;
        instance.users.insert(user.id.clone(), stored);
        user
    }

    /// The id of the security profile with this name (exact match).
    pub fn security_profile_id(&self, instance_id: &str, name: &str) -> Option<String> {
        let account = self.shared.lock();
        let instance = account.instances.get(instance_id)?;
        let profile = instance.security_profiles.iter().find(|p| p.name == name)?;
        Some(profile.id.clone())
    }

    /// The id of the routing profile with this name (exact match).
    pub fn routing_profile_id(&self, instance_id: &str, name: &str) -> Option<String> {
        let account = self.shared.lock();
        let instance = account.instances.get(instance_id)?;
        let profile = instance.routing_profiles.iter().find(|p| p.name == name)?;
        Some(profile.id.clone())
    }

    /// Adds a security profile (as an administrator would in the console); returns its id.
    ///
    /// # Panics
    /// If the instance does not exist.
    pub fn add_security_profile(&self, instance_id: &str, name: &str) -> String {
        self.add_profile(instance_id, name, "security-profile")
    }

    /// Adds a routing profile; returns its id.
    ///
    /// # Panics
    /// If the instance does not exist.
    pub fn add_routing_profile(&self, instance_id: &str, name: &str) -> String {
        self.add_profile(instance_id, name, "routing-profile")
    }

    fn add_profile(&self, instance_id: &str, name: &str, kind: &str) -> String {
        let mut account = self.shared.lock();
        let id = account.new_id();
        let instance = account
            .instances
            .get_mut(instance_id)
            .unwrap_or_else(|| panic!("no instance {instance_id}"));
        let profile = state::Profile {
            arn: format!("{}/{kind}/{id}", instance.arn),
            id: id.clone(),
            name: name.to_owned(),
            kind: kind.to_owned(),
            last_modified: epoch_seconds(),
            tags: BTreeMap::new(),
        };
        if kind == "security-profile" {
            instance.security_profiles.push(profile);
        } else {
            instance.routing_profiles.push(profile);
        }
        id
    }

    /// Switches throttling, consistency, server errors or the user limit while running.
    /// Token buckets start full again; the fault sequence restarts from the new seed.
    pub fn set_options(&self, options: Options) {
        let mut account = self.shared.lock();
        account.buckets.clear();
        account.fault_rng = fastrand::Rng::with_seed(options.seed);
        account.options = options;
    }

    pub fn options(&self) -> Options {
        self.shared.lock().options.clone()
    }

    /// Moves the emulator's clock `by` ahead: eventual-consistency lags and token buckets see that
    /// much more time pass, without the test waiting for it (or depending on how fast the
    /// machine ran the calls before).
    pub fn let_time_pass(&self, by: Duration) {
        self.shared.lock().clock_ahead += by;
    }

    /// Requests received per operation name ("CreateUser", ...), including throttled and
    /// failed ones.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.shared.lock().call_counts.clone()
    }

    pub fn reset_call_counts(&self) {
        let mut account = self.shared.lock();
        account.call_counts.clear();
        account.answer_counts.clear();
    }

    /// Answers sent for `operation` with HTTP `status` (e.g. ("CreateUser", 200) counts the
    /// users actually created, 409 the duplicates refused, 429 the throttles).
    pub fn answers(&self, operation: &str, status: u16) -> u64 {
        self.shared
            .lock()
            .answer_counts
            .get(&(operation.to_owned(), status))
            .copied()
            .unwrap_or(0)
    }

    /// From now on, `operation` ("DeleteUser", ...) is answered InvalidRequestException every
    /// time, after the throttle (a refusal no retry cures, as a missing permission would be).
    pub fn refuse(&self, operation: &str) {
        self.shared.lock().refused.insert(operation.to_owned());
    }
}
