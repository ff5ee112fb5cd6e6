//! The emulated account: instances, their default profiles and users.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::throttle::TokenBucket;
use crate::{Options, UserSnapshot};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// Security profiles every new instance has (archived admin guide, default-security-profiles.md).
pub const DEFAULT_SECURITY_PROFILES: [&str; 4] =
    ["Admin", "Agent", "CallCenterManager", "QualityAnalyst"];
/// The routing profile every new instance has.
pub const DEFAULT_ROUTING_PROFILE: &str = "Basic Routing Profile";

pub struct Account {
    pub options: Options,
    pub instances: BTreeMap<String, InstanceState>,
    pub call_counts: BTreeMap<String, u64>,
    /// Answers sent per operation and HTTP status ("CreateUser", 200), throttles included.
    pub answer_counts: BTreeMap<(String, u16), u64>,
    /// Operations answered InvalidRequestException every time (see `Emulator::refuse`).
    pub refused: std::collections::BTreeSet<String>,
    pub buckets: HashMap<String, TokenBucket>,
    /// Decides which requests fail with a 5xx; seeded, so a run is reproducible.
    pub fault_rng: fastrand::Rng,
    /// Makes ids; seeded too.
    pub id_rng: fastrand::Rng,
    /// How far the emulator's clock runs ahead of the real one (see `Emulator::let_time_pass`).
    pub clock_ahead: Duration,
}

impl Account {
    pub fn new(options: Options) -> Account {
        Account {
            fault_rng: fastrand::Rng::with_seed(options.seed),
            id_rng: fastrand::Rng::with_seed(options.seed ^ 0x05ee_d1d5),
            options,
            instances: BTreeMap::new(),
            call_counts: BTreeMap::new(),
            answer_counts: BTreeMap::new(),
            refused: std::collections::BTreeSet::new(),
            buckets: HashMap::new(),
            clock_ahead: Duration::ZERO,
        }
    }

    /// The emulator's time: the real clock plus the time tests let pass.
    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_ahead
    }

    pub fn new_id(&mut self) -> String {
        let r = &mut self.id_rng;
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            r.u32(..),
            r.u16(..),
            r.u16(..0x1000),
            0x8000 | r.u16(..0x4000),
            r.u64(..1 << 48)
        )
    }

    /// The items a page holds when the caller asked for `max` ([`Options::page_size`]).
    pub fn page_limit(&self, max: usize) -> usize {
        self.options
            .page_size
            .map_or(max, |size| max.min(size.max(1)))
    }

    /// How long a write stays invisible to reads (eventual consistency), if switched on.
    pub fn lag(&self) -> Option<Duration> {
        self.options
            .eventual_consistency
            .filter(|lag| !lag.is_zero())
    }

    pub fn create_instance(
        &mut self,
        alias: Option<String>,
        identity_management_type: &str,
        inbound_calls: bool,
        outbound_calls: bool,
        tags: BTreeMap<String, String>,
    ) -> &InstanceState {
        let id = self.new_id();
        let arn = format!("arn:aws:connect:{REGION}:{ACCOUNT}:instance/{id}");
        let now = epoch_seconds();
        let profile = |kind: &str, name: &str, state: &mut Account| Profile {
            id: state.new_id(),
            arn: String::new(),
            name: name.to_owned(),
            kind: kind.to_owned(),
            last_modified: now,
            tags: BTreeMap::new(),
        };
        let mut security_profiles = Vec::new();
        for name in DEFAULT_SECURITY_PROFILES {
            security_profiles.push(profile("security-profile", name, self));
        }
        let routing_profiles = vec![profile("routing-profile", DEFAULT_ROUTING_PROFILE, self)];
        let mut instance = InstanceState {
            id: id.clone(),
            arn,
            alias,
            identity_management_type: identity_management_type.to_owned(),
            created_time: now,
            inbound_calls,
            outbound_calls,
            tags,
            security_profiles,
            routing_profiles,
            users: BTreeMap::new(),
            search_tombstones: Vec::new(),
        };
        for profile in instance
            .security_profiles
            .iter_mut()
            .chain(instance.routing_profiles.iter_mut())
        {
            profile.arn = format!("{}/{}/{}", instance.arn, profile.kind, profile.id);
        }
        self.instances.entry(id).or_insert(instance)
    }
}

pub struct InstanceState {
    pub id: String,
    pub arn: String,
    pub alias: Option<String>,
    pub identity_management_type: String,
    pub created_time: f64,
    pub inbound_calls: bool,
    pub outbound_calls: bool,
    pub tags: BTreeMap<String, String>,
    pub security_profiles: Vec<Profile>,
    pub routing_profiles: Vec<Profile>,
    /// By user id: list order is id order, like an unordered service with stable paging.
    pub users: BTreeMap<String, StoredUser>,
    /// Deleted users the search index still returns while the lag lasts: (deleted at, last state).
    pub search_tombstones: Vec<(Instant, StoredUser)>,
}

impl InstanceState {
    pub fn is_saml(&self) -> bool {
        self.identity_management_type == "SAML"
    }

    pub fn security_profile(&self, id: &str) -> Option<&Profile> {
        self.security_profiles.iter().find(|p| p.id == id)
    }

    pub fn routing_profile(&self, id: &str) -> Option<&Profile> {
        self.routing_profiles.iter().find(|p| p.id == id)
    }

    /// The user as consistent reads see it: absent until the creation has propagated.
    pub fn visible_user(
        &self,
        user_id: &str,
        now: Instant,
        lag: Option<Duration>,
    ) -> Option<&StoredUser> {
        self.users.get(user_id).filter(|u| u.is_visible(now, lag))
    }

    pub fn visible_user_mut(
        &mut self,
        user_id: &str,
        now: Instant,
        lag: Option<Duration>,
    ) -> Option<&mut StoredUser> {
        self.users
            .get_mut(user_id)
            .filter(|u| u.is_visible(now, lag))
    }

    /// What the search index holds at `now`: every write older than the lag, deleted users
    /// included until their deletion has propagated.
    pub fn search_view(&self, now: Instant, lag: Option<Duration>) -> Vec<UserRecord> {
        let Some(lag) = lag else {
            return self.users.values().map(|u| u.record.clone()).collect();
        };
        let Some(horizon) = now.checked_sub(lag) else {
            return Vec::new();
        };
        let mut view: BTreeMap<String, UserRecord> = BTreeMap::new();
        for user in self.users.values() {
            if let Some(record) = user.as_of(horizon) {
                view.insert(record.snapshot.id.clone(), record.clone());
            }
        }
        for (deleted_at, user) in &self.search_tombstones {
            if *deleted_at > horizon
                && let Some(record) = user.as_of(horizon)
            {
                view.insert(record.snapshot.id.clone(), record.clone());
            }
        }
        view.into_values().collect()
    }

    /// Forget tombstones the index no longer shows.
    pub fn prune_tombstones(&mut self, now: Instant, lag: Option<Duration>) {
        let keep = lag.unwrap_or(Duration::ZERO);
        self.search_tombstones
            .retain(|(deleted_at, _)| now.duration_since(*deleted_at) < keep);
    }
}

pub struct Profile {
    pub id: String,
    pub arn: String,
    pub name: String,
    /// "security-profile" or "routing-profile": the ARN path segment.
    pub kind: String,
    pub last_modified: f64,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct UserRecord {
    pub snapshot: UserSnapshot,
    pub mobile: Option<String>,
    pub last_modified: f64,
}

#[derive(Clone, Debug)]
pub struct StoredUser {
    pub record: UserRecord,
    pub created_at: Instant,
    /// Put there through the library (someone else's user, made long ago): always visible.
    pub preexisting: bool,
    /// Earlier states with the time each was written, for the lagging search index.
    pub history: Vec<(Instant, UserRecord)>,
}

impl StoredUser {
    pub fn new(record: UserRecord, created_at: Instant) -> StoredUser {
        StoredUser {
            history: vec![(created_at, record.clone())],
            record,
            created_at,
            preexisting: false,
        }
    }

    pub fn is_visible(&self, now: Instant, lag: Option<Duration>) -> bool {
        self.preexisting
            || lag.is_none_or(|lag| now.saturating_duration_since(self.created_at) >= lag)
    }

    /// The state written last at or before `horizon`.
    pub fn as_of(&self, horizon: Instant) -> Option<&UserRecord> {
        self.history
            .iter()
            .rev()
            .find(|(written, _)| *written <= horizon)
            .map(|(_, record)| record)
            .or_else(|| {
                self.history
                    .first()
                    .filter(|_| self.preexisting)
                    .map(|(_, r)| r)
            })
    }

    /// Apply a write: the new state is current at once, history keeps it for the search view.
    pub fn write(
        &mut self,
        now: Instant,
        lag: Option<Duration>,
        change: impl FnOnce(&mut UserRecord),
    ) {
        change(&mut self.record);
        self.record.last_modified = epoch_seconds();
        self.history.push((now, self.record.clone()));
        // Keep one state older than the lag window; anything before it can no longer be seen.
        let horizon = lag.and_then(|lag| now.checked_sub(lag)).unwrap_or(now);
        while self.history.len() > 1 && self.history[1].0 <= horizon {
            self.history.remove(0);
        }
    }
}

pub fn epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or(0.0)
}
