//! The diff: which Connect users to create, update, delete or leave alone, and why. Pure: no
//! calls, so every rule of the import is tested here without a server.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::properties::{MAX_SECURITY_PROFILES, OnUserRemoved, PhoneType, UsernameAttribute};

/// Tag on managed users holding a digest of their SecondaryEmail, which SearchUsers does not
/// return: comparing digests finds a changed email without one DescribeUser per user.
pub const EMAIL_DIGEST_TAG: &str = "connect-sso:secondary-email-sha256";

/// Connect's limits on FirstName and LastName (SAML instances), in characters.
const MAX_FIRST_NAME: usize = 255;
const MAX_LAST_NAME: usize = 300;
const MAX_SECONDARY_EMAIL: usize = 265;

pub use custom_resource::Owner;

/// Whose Connect users a plan treats as this resource's.
#[derive(Debug, Clone, Copy)]
pub enum Claimant<'a> {
    /// The import's rule: users carrying this resource's ownership tags are its own; with
    /// AdoptExisting, users no connect-sso resource owns may be claimed; users of another
    /// connect-sso resource never are.
    Resource(&'a Owner),
    /// Matching only (the CLI's checks of who can sign in): every existing user of the name
    /// counts, whoever made it.
    Anyone,
}

impl<'a> From<&'a Owner> for Claimant<'a> {
    fn from(owner: &'a Owner) -> Self {
        Self::Resource(owner)
    }
}

impl Claimant<'_> {
    /// Whether a user with `tags` is already this resource's.
    pub fn owns(self, tags: &BTreeMap<String, String>) -> bool {
        match self {
            Self::Resource(owner) => owner.owns(tags),
            Self::Anyone => true,
        }
    }

    /// Why a user with `tags` that this resource does not own is skipped, `None` when it is
    /// this resource's or may be claimed.
    pub fn refuse_claim(
        self,
        tags: &BTreeMap<String, String>,
        adopt_existing: bool,
    ) -> Option<String> {
        let Self::Resource(owner) = self else {
            return None;
        };
        if let Some(other) = owner.other_owner(tags) {
            return Some(format!(
                "a Connect user of this name belongs to another connect-sso stack or resource, {other}; \
                 it is never adopted, changed or deleted here (AdoptExisting claims only users no connect-sso stack owns)"
            ));
        }
        (!owner.owns(tags) && !adopt_existing).then(|| {
            "a Connect user of this name exists that this stack did not create; it is left as is \
             (set AdoptExisting to manage it)"
                .to_owned()
        })
    }
}

/// A user of the identity store, with the groups (ids) it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryUser {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub emails: Vec<DirectoryEmail>,
    pub phone_number: Option<String>,
    pub disabled: bool,
    pub group_ids: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryEmail {
    pub value: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub phone_type: PhoneType,
    pub auto_accept: bool,
    /// Seconds.
    pub after_contact_work_time_limit: u32,
    pub desk_phone_number: Option<String>,
}

impl Phone {
    /// Equal as far as Connect's behaviour goes: a soft phone ignores any desk number.
    fn same_as(&self, other: &Phone) -> bool {
        let desk = |phone: &Phone| match phone.phone_type {
            PhoneType::DeskPhone => phone
                .desk_phone_number
                .clone()
                .filter(|number| !number.is_empty()),
            PhoneType::SoftPhone => None,
        };
        self.phone_type == other.phone_type
            && self.auto_accept == other.auto_accept
            && self.after_contact_work_time_limit == other.after_contact_work_time_limit
            && desk(self) == desk(other)
    }
}

/// A Connect user as the import wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredUser {
    pub username: String,
    pub directory_user_id: String,
    pub first_name: String,
    pub last_name: String,
    pub secondary_email: Option<String>,
    pub security_profile_ids: BTreeSet<String>,
    pub routing_profile_id: String,
    pub phone: Phone,
}

impl DesiredUser {
    pub fn email_digest(&self) -> String {
        email_digest(self.secondary_email.as_deref())
    }
}

/// A Connect user as it is. `None` fields were not returned by the read that found the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExistingUser {
    pub id: String,
    pub arn: String,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub security_profile_ids: BTreeSet<String>,
    pub routing_profile_id: Option<String>,
    pub phone: Option<Phone>,
    pub tags: BTreeMap<String, String>,
}

/// Profiles resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profiles {
    pub security_profile_ids: BTreeSet<String>,
    pub routing_profile_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub group_id: String,
    pub security_profile_ids: Option<BTreeSet<String>>,
    pub routing_profile_id: Option<String>,
}

/// The properties, resolved to ids: everything the plan needs besides the users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub username_attribute: UsernameAttribute,
    pub defaults: Profiles,
    pub rules: Vec<Rule>,
    pub phone_type: PhoneType,
    pub auto_accept: bool,
    pub after_contact_work_time_limit: u32,
    pub on_user_removed: OnUserRemoved,
    pub adopt_existing: bool,
}

/// One part of an update; each is one Connect call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Change {
    /// Tag a foreign user with this resource's ownership tags (AdoptExisting).
    Claim,
    Names,
    SecondaryEmail,
    SecurityProfiles,
    RoutingProfile,
    Phone,
}

/// One write to Connect, self-contained so that an unfinished plan can be kept and resumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Create {
        user: DesiredUser,
    },
    Update {
        user_id: String,
        user_arn: String,
        user: DesiredUser,
        changes: Vec<Change>,
    },
    Delete {
        user_id: String,
        username: String,
    },
}

impl Action {
    pub fn username(&self) -> &str {
        match self {
            Self::Create { user } | Self::Update { user, .. } => &user.username,
            Self::Delete { username, .. } => username,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Create { user } => format!("create {}", user.username),
            Self::Update { user, changes, .. } => format!("update {} ({changes:?})", user.username),
            Self::Delete { username, .. } => format!("delete {username}"),
        }
    }
}

/// A directory user that is not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Deletes first (they free room under the users-per-instance quota), then updates, creates.
    pub actions: Vec<Action>,
    pub unchanged: Vec<String>,
    pub retained: Vec<String>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    pub fn count(&self, kind: fn(&Action) -> bool) -> usize {
        self.actions.iter().filter(|action| kind(action)).count()
    }
}

/// The plan for making `connect` follow `directory` (the members of the imported groups; pass
/// none to remove every user this resource made, as a Delete does).
pub fn plan<'a>(
    directory: &[DirectoryUser],
    connect: &[ExistingUser],
    settings: &Settings,
    claimant: impl Into<Claimant<'a>>,
) -> Plan {
    let claimant = claimant.into();
    let mut plan = Plan::default();
    let (desired, held) = desired_users(directory, settings, &mut plan.skipped);

    let by_name: HashMap<&str, &ExistingUser> = connect
        .iter()
        .map(|user| (user.username.as_str(), user))
        .collect();
    let mut by_folded_name: HashMap<String, Vec<&ExistingUser>> = HashMap::new();
    for user in connect {
        by_folded_name
            .entry(user.username.to_lowercase())
            .or_default()
            .push(user);
    }
    // Connect users accounted for by a directory user: never deleted as "removed".
    let mut matched: HashSet<&str> = HashSet::new();
    let (mut creates, mut updates) = (Vec::new(), Vec::new());

    for user in desired {
        if let Some(existing) = by_name.get(user.username.as_str()) {
            matched.insert(existing.id.as_str());
            if let Some(update) = follow(existing, user, settings, claimant, &mut plan) {
                updates.push(update);
            }
        } else if let Some(variants) = by_folded_name.get(&user.username.to_lowercase()) {
            matched.extend(variants.iter().map(|variant| variant.id.as_str()));
            let names: Vec<&str> = variants
                .iter()
                .map(|variant| variant.username.as_str())
                .collect();
            plan.skipped.push(Skipped {
                name: user.username.clone(),
                reason: format!(
                    "differs only in case from the Connect user {}: Connect usernames are case-sensitive, so this \
                     user's sign-in would fail; neither is changed (make the directory and Connect agree)",
                    names.join(", ")
                ),
            });
        } else {
            creates.push(Action::Create { user });
        }
    }
    for name in &held {
        if let Some(existing) = by_name.get(name.as_str()) {
            matched.insert(existing.id.as_str());
        }
    }

    let mut removed: Vec<&ExistingUser> = connect
        .iter()
        .filter(|user| !matched.contains(user.id.as_str()) && claimant.owns(&user.tags))
        .collect();
    removed.sort_by(|a, b| a.username.cmp(&b.username));
    for user in removed {
        match settings.on_user_removed {
            OnUserRemoved::Delete => plan.actions.push(Action::Delete {
                user_id: user.id.clone(),
                username: user.username.clone(),
            }),
            OnUserRemoved::Retain => plan.retained.push(user.username.clone()),
        }
    }
    plan.actions.extend(updates);
    plan.actions.extend(creates);
    plan
}

/// The update that makes the Connect user `existing` (of the same username) follow `user`:
/// `None` when nothing differs (recorded unchanged) or when another resource owns it (skipped).
fn follow(
    existing: &ExistingUser,
    user: DesiredUser,
    settings: &Settings,
    claimant: Claimant,
    plan: &mut Plan,
) -> Option<Action> {
    if let Some(reason) = claimant.refuse_claim(&existing.tags, settings.adopt_existing) {
        plan.skipped.push(Skipped {
            name: user.username,
            reason,
        });
        return None;
    }
    let mut changes = differences(existing, &user);
    if !claimant.owns(&existing.tags) {
        changes.insert(0, Change::Claim);
    }
    if changes.is_empty() {
        plan.unchanged.push(user.username);
        return None;
    }
    Some(Action::Update {
        user_id: existing.id.clone(),
        user_arn: existing.arn.clone(),
        user,
        changes,
    })
}

/// What differs between a Connect user and the wanted one, in the order the calls are made.
pub fn differences(existing: &ExistingUser, desired: &DesiredUser) -> Vec<Change> {
    let mut changes = Vec::new();
    if existing.first_name.as_deref().unwrap_or_default() != desired.first_name
        || existing.last_name.as_deref().unwrap_or_default() != desired.last_name
    {
        changes.push(Change::Names);
    }
    if existing.tags.get(EMAIL_DIGEST_TAG) != Some(&desired.email_digest()) {
        changes.push(Change::SecondaryEmail);
    }
    if existing.security_profile_ids != desired.security_profile_ids {
        changes.push(Change::SecurityProfiles);
    }
    if existing.routing_profile_id.as_deref() != Some(desired.routing_profile_id.as_str()) {
        changes.push(Change::RoutingProfile);
    }
    if !existing
        .phone
        .as_ref()
        .is_some_and(|phone| phone.same_as(&desired.phone))
    {
        changes.push(Change::Phone);
    }
    changes
}

/// The wanted Connect users, one per valid directory user; the others are skipped with a
/// reason. Also returns the usernames of users skipped for a reason of this import's own
/// settings: their Connect users are kept rather than deleted as if they had left the groups.
fn desired_users(
    directory: &[DirectoryUser],
    settings: &Settings,
    skipped: &mut Vec<Skipped>,
) -> (Vec<DesiredUser>, Vec<String>) {
    let mut sorted: Vec<&DirectoryUser> = directory.iter().collect();
    sorted.sort_by(|a, b| a.user_name.cmp(&b.user_name).then_with(|| a.id.cmp(&b.id)));
    let mut desired: Vec<DesiredUser> = Vec::new();
    let mut held = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for user in sorted {
        match desired_user(user, settings) {
            Ok(wanted) => {
                if let Some(first) = seen.get(&wanted.username) {
                    skipped.push(Skipped {
                        name: wanted.username.clone(),
                        reason: format!(
                            "directory users {first} and {} would both have this username; only the first is imported",
                            user.user_name
                        ),
                    });
                    continue;
                }
                seen.insert(wanted.username.clone(), user.user_name.clone());
                desired.push(wanted);
            }
            Err(NotImported {
                name,
                reason,
                keep_existing,
            }) => {
                if keep_existing {
                    held.push(name.clone());
                }
                skipped.push(Skipped { name, reason });
            }
        }
    }
    desired.sort_by(|a, b| a.username.cmp(&b.username));
    (desired, held)
}

struct NotImported {
    name: String,
    reason: String,
    /// The user is still wanted; only this import's settings stop it.
    keep_existing: bool,
}

fn desired_user(user: &DirectoryUser, settings: &Settings) -> Result<DesiredUser, NotImported> {
    let primary_email = user
        .emails
        .iter()
        .find(|email| email.primary)
        .map(|email| email.value.trim());
    let username = importable_username(user, settings, primary_email)?;
    // Skipped for this import's own settings: the user is still wanted, so kept if it exists.
    let held = |reason: String| NotImported {
        name: username.to_owned(),
        reason,
        keep_existing: true,
    };
    let (security_profile_ids, routing_profile_id) = profiles(user, settings).map_err(held)?;
    let desk_phone_number = desk_phone_number(user, settings.phone_type).map_err(held)?;
    let (first_name, last_name) = names(user, username);
    let secondary_email = primary_email
        .or_else(|| user.emails.first().map(|email| email.value.trim()))
        .filter(|email| email.len() <= MAX_SECONDARY_EMAIL && is_email_shaped(email))
        .map(str::to_owned);
    Ok(DesiredUser {
        username: username.to_owned(),
        directory_user_id: user.id.clone(),
        first_name,
        last_name,
        secondary_email,
        security_profile_ids,
        routing_profile_id,
        phone: Phone {
            phone_type: settings.phone_type,
            auto_accept: settings.auto_accept,
            after_contact_work_time_limit: settings.after_contact_work_time_limit,
            desk_phone_number,
        },
    })
}

/// The Connect username of a directory user who can have one (enabled, a valid name).
fn importable_username<'a>(
    user: &'a DirectoryUser,
    settings: &Settings,
    primary_email: Option<&'a str>,
) -> Result<&'a str, NotImported> {
    let skip = |name: &str, reason: String| NotImported {
        name: name.to_owned(),
        reason,
        keep_existing: false,
    };
    let username = match settings.username_attribute {
        UsernameAttribute::Email => primary_email.filter(|email| !email.is_empty()).ok_or_else(|| {
            skip(
                &user.user_name,
                "has no primary email in the identity store, so its RoleSessionName (${user:email}) would be empty"
                    .to_owned(),
            )
        })?,
        UsernameAttribute::UserName => user.user_name.as_str(),
    };
    if user.disabled {
        return Err(skip(
            username,
            "is disabled in the identity store".to_owned(),
        ));
    }
    if let Err(problem) = check_username(username) {
        return Err(skip(
            username,
            format!("is not a valid Connect username: {problem}"),
        ));
    }
    Ok(username)
}

/// The security profiles and routing profile of the rules `user`'s groups match (the
/// defaults where none says), or why Connect would refuse them.
fn profiles(
    user: &DirectoryUser,
    settings: &Settings,
) -> Result<(BTreeSet<String>, String), String> {
    let matching: Vec<&Rule> = settings
        .rules
        .iter()
        .filter(|rule| user.group_ids.contains(&rule.group_id))
        .collect();
    let rule_profiles: BTreeSet<String> = matching
        .iter()
        .filter_map(|rule| rule.security_profile_ids.as_ref())
        .flatten()
        .cloned()
        .collect();
    let security_profile_ids = if rule_profiles.is_empty() {
        settings.defaults.security_profile_ids.clone()
    } else {
        rule_profiles
    };
    if security_profile_ids.len() > MAX_SECURITY_PROFILES {
        return Err(format!(
            "its GroupRules add up to {} security profiles; Connect allows at most {MAX_SECURITY_PROFILES}",
            security_profile_ids.len()
        ));
    }
    let routing_profile_id = matching
        .iter()
        .find_map(|rule| rule.routing_profile_id.clone())
        .unwrap_or_else(|| settings.defaults.routing_profile_id.clone());
    Ok((security_profile_ids, routing_profile_id))
}

/// The desk phone number a DESK_PHONE user needs (none for soft phones), or why it is missing.
fn desk_phone_number(
    user: &DirectoryUser,
    phone_type: PhoneType,
) -> Result<Option<String>, String> {
    match phone_type {
        PhoneType::SoftPhone => Ok(None),
        PhoneType::DeskPhone => match user.phone_number.as_deref().map(str::trim) {
            Some(number) if is_e164(number) => Ok(Some(number.to_owned())),
            _ => Err(
                "PhoneType DESK_PHONE needs the user's phone number in E.164 form (+ and 2 to 15 digits) in the identity store"
                    .to_owned(),
            ),
        },
    }
}

/// First and last name: the given and family names, else the display name split at its first
/// space, else the username's local part.
fn names(user: &DirectoryUser, username: &str) -> (String, String) {
    let clean = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let display = clean(&user.display_name);
    let (display_first, display_rest) = match display.as_deref().map(|d| d.split_once(' ')) {
        Some(Some((first, rest))) => (Some(first.to_owned()), Some(rest.trim().to_owned())),
        Some(None) => (display.clone(), None),
        None => (None, None),
    };
    let fallback = username.split('@').next().unwrap_or(username).to_owned();
    let first = clean(&user.given_name)
        .or(display_first)
        .unwrap_or(fallback);
    let last = clean(&user.family_name)
        .or(display_rest)
        .unwrap_or_else(|| first.clone());
    (
        truncate(&first, MAX_FIRST_NAME),
        truncate(&last, MAX_LAST_NAME),
    )
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Connect's rule for SAML usernames: 2 to 64 of `[a-zA-Z0-9_.@-]`, email-shaped if it has `@`.
pub fn check_username(username: &str) -> Result<(), String> {
    let length = username.chars().count();
    if !(2..=64).contains(&length) {
        return Err(format!("{length} characters; 2 to 64 are accepted"));
    }
    if let Some(bad) = username
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.@-".contains(*c)))
    {
        return Err(format!(
            "the character {bad:?} is not accepted (only a-z A-Z 0-9 _ . @ -)"
        ));
    }
    if username.contains('@') && !is_email_shaped(username) {
        return Err(
            "it contains @ but is not shaped like an email address (name@domain.tld)".to_owned(),
        );
    }
    Ok(())
}

/// `local@domain.tld`, the TLD 2 to 63 letters.
fn is_email_shaped(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    !local.is_empty()
        && !domain.contains('@')
        && !text.contains(char::is_whitespace)
        && labels.len() >= 2
        && labels.iter().all(|label| !label.is_empty())
        && (2..=63).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
    })
}

pub fn email_digest(email: Option<&str>) -> String {
    let digest = Sha256::digest(email.unwrap_or_default().as_bytes());
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
