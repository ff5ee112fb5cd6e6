//! The operations: request in (path labels, query, JSON body), JSON out, on the shared state.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::UserSnapshot;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::paging::{self, Query};
use crate::state::{
    ACCOUNT, Account, InstanceState, REGION, StoredUser, UserRecord, epoch_seconds,
};
use crate::validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhoneType {
    SoftPhone,
    DeskPhone,
}

impl PhoneType {
    fn as_str(self) -> &'static str {
        match self {
            PhoneType::SoftPhone => "SOFT_PHONE",
            PhoneType::DeskPhone => "DESK_PHONE",
        }
    }
}

/// `None` = an empty 200 body (operations without output members).
pub type Reply = ApiResult<Option<Value>>;

pub const IDENTITY_MANAGEMENT_TYPES: [&str; 3] = ["SAML", "CONNECT_MANAGED", "EXISTING_DIRECTORY"];

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("The request body is not valid: {e}")))
}

fn instance<'a>(state: &'a Account, instance_id: &str) -> ApiResult<&'a InstanceState> {
    state
        .instances
        .get(instance_id)
        .ok_or_else(|| instance_not_found(instance_id))
}

fn instance_mut<'a>(state: &'a mut Account, instance_id: &str) -> ApiResult<&'a mut InstanceState> {
    state
        .instances
        .get_mut(instance_id)
        .ok_or_else(|| instance_not_found(instance_id))
}

fn instance_not_found(instance_id: &str) -> ApiError {
    ApiError::not_found(format!("Instance not found: {instance_id}"))
}

fn user_not_found(user_id: &str) -> ApiError {
    ApiError::not_found(format!("User not found for userId: {user_id}"))
}

fn insert_some(object: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), Value::String(value.clone()));
    }
}

// ---------------------------------------------------------------------------------------------
// Instances

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateInstanceRequest {
    identity_management_type: Option<String>,
    instance_alias: Option<String>,
    directory_id: Option<String>,
    inbound_calls_enabled: Option<bool>,
    outbound_calls_enabled: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
}

/// Alias rule from the CloudFormation schema: 1–62 alphanumerics and inner hyphens, not `d-…`.
fn valid_alias(alias: &str) -> bool {
    !alias.is_empty()
        && alias.len() <= 62
        && !alias.starts_with("d-")
        && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !alias.starts_with('-')
        && !alias.ends_with('-')
}

pub fn create_instance(state: &mut Account, body: &[u8]) -> Reply {
    let request: CreateInstanceRequest = parse_body(body)?;
    // CreateInstance models InvalidRequestException, not InvalidParameterException.
    let kind = request.identity_management_type.as_deref().unwrap_or("");
    if !IDENTITY_MANAGEMENT_TYPES.contains(&kind) {
        return Err(ApiError::invalid_request(format!(
            "IdentityManagementType must be one of SAML, CONNECT_MANAGED, EXISTING_DIRECTORY (got {kind:?})"
        )));
    }
    let (Some(inbound), Some(outbound)) = (
        request.inbound_calls_enabled,
        request.outbound_calls_enabled,
    ) else {
        return Err(ApiError::invalid_request(
            "InboundCallsEnabled and OutboundCallsEnabled are required",
        ));
    };
    if kind == "EXISTING_DIRECTORY" {
        if request.directory_id.is_none() {
            return Err(ApiError::invalid_request(
                "DirectoryId is required when IdentityManagementType is EXISTING_DIRECTORY",
            ));
        }
    } else {
        if request.directory_id.is_some() {
            return Err(ApiError::invalid_request(
                "DirectoryId is only valid when IdentityManagementType is EXISTING_DIRECTORY",
            ));
        }
        if request.instance_alias.is_none() {
            return Err(ApiError::invalid_request(format!(
                "InstanceAlias is required when IdentityManagementType is {kind}"
            )));
        }
    }
    if let Some(alias) = &request.instance_alias {
        if !valid_alias(alias) {
            return Err(ApiError::invalid_request(format!(
                "InstanceAlias {alias:?} must be 1-62 letters, digits and inner hyphens, not starting with d-"
            )));
        }
        if state.instances.values().any(|i| {
            i.alias
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(alias))
        }) {
            return Err(ApiError::invalid_request(format!(
                "The alias {alias} is already in use"
            )));
        }
    }
    let tags = request.tags.unwrap_or_default();
    if !tags.is_empty() {
        validate::tags(&tags).map_err(|e| ApiError::invalid_request(e.message))?;
    }
    let created = state.create_instance(request.instance_alias, kind, inbound, outbound, tags);
    Ok(Some(json!({ "Id": created.id, "Arn": created.arn })))
}

fn instance_summary(instance: &InstanceState) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("Id".into(), json!(instance.id));
    object.insert("Arn".into(), json!(instance.arn));
    object.insert(
        "IdentityManagementType".into(),
        json!(instance.identity_management_type),
    );
    insert_some(&mut object, "InstanceAlias", &instance.alias);
    object.insert("CreatedTime".into(), json!(instance.created_time));
    object.insert(
        "ServiceRole".into(),
        json!(format!(
            "arn:aws:iam::{ACCOUNT}:role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect"
        )),
    );
    object.insert("InstanceStatus".into(), json!("ACTIVE"));
    object.insert("InboundCallsEnabled".into(), json!(instance.inbound_calls));
    object.insert(
        "OutboundCallsEnabled".into(),
        json!(instance.outbound_calls),
    );
    if let Some(alias) = &instance.alias {
        object.insert(
            "InstanceAccessUrl".into(),
            json!(format!("https://{alias}.my.connect.aws")),
        );
    }
    object
}

pub fn describe_instance(state: &Account, instance_id: &str) -> Reply {
    let instance = instance(state, instance_id)?;
    let mut object = instance_summary(instance);
    object.insert("Tags".into(), json!(instance.tags));
    Ok(Some(json!({ "Instance": object })))
}

pub fn list_instances(state: &Account, query: &Query) -> Reply {
    let max = state.page_limit(paging::max_results(query.one("maxResults"), 10, 10)?);
    let items = state
        .instances
        .values()
        .map(|i| (i.id.clone(), Value::Object(instance_summary(i))))
        .collect();
    let (page, next) = paging::page(items, query.one("nextToken"), max)?;
    Ok(Some(
        json!({ "InstanceSummaryList": page, "NextToken": next }),
    ))
}

pub fn delete_instance(state: &mut Account, instance_id: &str) -> Reply {
    if state.instances.remove(instance_id).is_none() {
        return Err(instance_not_found(instance_id));
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Profiles

pub fn list_profiles(state: &Account, instance_id: &str, query: &Query, security: bool) -> Reply {
    let instance = instance(state, instance_id)?;
    let max = state.page_limit(paging::max_results(query.one("maxResults"), 1000, 100)?);
    let profiles = if security {
        &instance.security_profiles
    } else {
        &instance.routing_profiles
    };
    let items = profiles
        .iter()
        .map(|p| {
            let summary = json!({
                "Id": p.id, "Arn": p.arn, "Name": p.name,
                "LastModifiedTime": p.last_modified, "LastModifiedRegion": REGION,
            });
            (p.id.clone(), summary)
        })
        .collect();
    let (page, next) = paging::page(items, query.one("nextToken"), max)?;
    let list = if security {
        "SecurityProfileSummaryList"
    } else {
        "RoutingProfileSummaryList"
    };
    Ok(Some(json!({ list: page, "NextToken": next })))
}

// ---------------------------------------------------------------------------------------------
// Users: requests

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase", default)]
struct IdentityInfo {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    secondary_email: Option<String>,
    mobile: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase", default)]
struct PhoneConfig {
    phone_type: Option<String>,
    auto_accept: Option<bool>,
    after_contact_work_time_limit: Option<i64>,
    desk_phone_number: Option<String>,
    persistent_connection: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateUserRequest {
    username: Option<String>,
    password: Option<String>,
    identity_info: Option<IdentityInfo>,
    phone_config: Option<PhoneConfig>,
    directory_user_id: Option<String>,
    security_profile_ids: Option<Vec<String>>,
    routing_profile_id: Option<String>,
    hierarchy_group_id: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    auto_accept_configs: Option<Value>,
    after_contact_work_configs: Option<Value>,
    phone_number_configs: Option<Value>,
    persistent_connection_configs: Option<Value>,
    voice_enhancement_configs: Option<Value>,
}

impl CreateUserRequest {
    fn has_per_channel_configs(&self) -> bool {
        self.auto_accept_configs.is_some()
            || self.after_contact_work_configs.is_some()
            || self.phone_number_configs.is_some()
            || self.persistent_connection_configs.is_some()
            || self.voice_enhancement_configs.is_some()
    }
}

/// The identity-info rules, per identity management type.
fn check_identity_info(instance: &InstanceState, info: &IdentityInfo) -> ApiResult<()> {
    let kind = instance.identity_management_type.as_str();
    let (first_max, last_max) = if kind == "SAML" {
        (255, 300)
    } else {
        (255, 256)
    };
    for (field, value, max) in [
        ("FirstName", &info.first_name, first_max),
        ("LastName", &info.last_name, last_max),
    ] {
        match value {
            None if kind != "EXISTING_DIRECTORY" => {
                return Err(ApiError::invalid_parameter(format!(
                    "IdentityInfo.{field} is required for {kind} instances"
                )));
            }
            Some(value) => {
                let length = value.chars().count();
                if length > max || (kind == "CONNECT_MANAGED" && length == 0) {
                    return Err(ApiError::invalid_parameter(format!(
                        "IdentityInfo.{field} must be at most {max} characters"
                    )));
                }
                if validate::has_combining_marks(value) {
                    return Err(ApiError::invalid_parameter(format!(
                        "IdentityInfo.{field} must be in Unicode NFC (no combining marks)"
                    )));
                }
            }
            None => {}
        }
    }
    if let Some(email) = &info.email {
        if instance.is_saml() {
            return Err(ApiError::invalid_parameter(
                "IdentityInfo.Email cannot be set on an instance that uses SAML; use SecondaryEmail",
            ));
        }
        if !validate::is_email_shaped(email) {
            return Err(ApiError::invalid_parameter(format!(
                "IdentityInfo.Email {email:?} is not a valid email address"
            )));
        }
    }
    if let Some(email) = &info.secondary_email
        && (email.chars().count() > 265 || !validate::is_email_shaped(email))
    {
        return Err(ApiError::invalid_parameter(format!(
            "IdentityInfo.SecondaryEmail {email:?} is not a valid email address"
        )));
    }
    if let Some(mobile) = &info.mobile
        && !validate::is_e164(mobile)
    {
        return Err(ApiError::invalid_parameter(format!(
            "IdentityInfo.Mobile {mobile:?} is not an E.164 phone number"
        )));
    }
    Ok(())
}

/// Validates a PhoneConfig and returns (phone type, auto accept, ACW seconds, desk phone).
fn check_phone_config(config: &PhoneConfig) -> ApiResult<(PhoneType, bool, i32, Option<String>)> {
    let phone_type = match config.phone_type.as_deref() {
        Some("SOFT_PHONE") => PhoneType::SoftPhone,
        Some("DESK_PHONE") => PhoneType::DeskPhone,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "PhoneConfig.PhoneType must be SOFT_PHONE or DESK_PHONE (got {other:?})"
            )));
        }
        None => {
            return Err(ApiError::invalid_parameter(
                "PhoneConfig.PhoneType is required",
            ));
        }
    };
    let acw = config.after_contact_work_time_limit.unwrap_or(0);
    if !(0..=2_000_000).contains(&acw) {
        return Err(ApiError::invalid_parameter(format!(
            "PhoneConfig.AfterContactWorkTimeLimit must be 0 to 2000000 seconds (got {acw})"
        )));
    }
    if let Some(number) = &config.desk_phone_number
        && !validate::is_e164(number)
    {
        return Err(ApiError::invalid_parameter(
            "PhoneConfig.DeskPhoneNumber is not an E.164 phone number",
        ));
    }
    if phone_type == PhoneType::DeskPhone && config.desk_phone_number.is_none() {
        return Err(ApiError::invalid_parameter(
            "PhoneConfig.DeskPhoneNumber is required when PhoneType is DESK_PHONE",
        ));
    }
    Ok((
        phone_type,
        config.auto_accept.unwrap_or(false),
        acw as i32,
        config.desk_phone_number.clone(),
    ))
}

fn check_security_profiles(instance: &InstanceState, ids: &[String]) -> ApiResult<Vec<String>> {
    let mut unique: Vec<String> = Vec::new();
    for id in ids {
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    if unique.is_empty() || unique.len() > 10 {
        return Err(ApiError::invalid_parameter(format!(
            "SecurityProfileIds must contain 1 to 10 security profiles (got {})",
            unique.len()
        )));
    }
    for id in &unique {
        if instance.security_profile(id).is_none() {
            return Err(ApiError::not_found(format!(
                "Security profile not found: {id}"
            )));
        }
    }
    Ok(unique)
}

fn check_routing_profile(instance: &InstanceState, id: Option<&str>) -> ApiResult<String> {
    let id = id.ok_or_else(|| ApiError::invalid_parameter("RoutingProfileId is required"))?;
    if instance.routing_profile(id).is_none() {
        return Err(ApiError::not_found(format!(
            "Routing profile not found: {id}"
        )));
    }
    Ok(id.to_owned())
}

pub fn create_user(state: &mut Account, now: Instant, instance_id: &str, body: &[u8]) -> Reply {
    let request: CreateUserRequest = parse_body(body)?;
    let user_limit = state.options.user_limit;
    let case_insensitive = state.options.usernames_case_insensitive;
    let user_id = state.new_id();
    let instance = instance(state, instance_id)?;
    let kind = instance.identity_management_type.clone();

    let username = request
        .username
        .clone()
        .ok_or_else(|| ApiError::invalid_parameter("Username is required"))?;
    validate::username(&username, instance.is_saml())?;
    match (&request.password, kind.as_str()) {
        (Some(_), "SAML" | "EXISTING_DIRECTORY") => {
            return Err(ApiError::invalid_parameter(format!(
                "Password cannot be set on an instance whose identity management type is {kind}"
            )));
        }
        (Some(password), _) => validate::password(password)?,
        (None, "CONNECT_MANAGED") => {
            return Err(ApiError::invalid_parameter(
                "Password is required when Amazon Connect manages identities",
            ));
        }
        (None, _) => {}
    }
    if request.directory_user_id.is_some() && kind != "EXISTING_DIRECTORY" {
        return Err(ApiError::invalid_parameter(format!(
            "DirectoryUserId can only be used with an existing directory, not on a {kind} instance"
        )));
    }
    let info = request.identity_info.clone().unwrap_or_default();
    check_identity_info(instance, &info)?;
    if request.has_per_channel_configs() {
        // Newer per-channel settings conflict with PhoneConfig; this emulator serves PhoneConfig.
        return Err(ApiError::invalid_parameter(
            "Per-channel configs (AutoAcceptConfigs, AfterContactWorkConfigs, ...) are not supported by this emulator; use PhoneConfig",
        ));
    }
    let phone = match &request.phone_config {
        Some(config) => check_phone_config(config)?,
        None => (PhoneType::SoftPhone, false, 0, None),
    };
    let security_profile_ids = check_security_profiles(
        instance,
        request.security_profile_ids.as_deref().unwrap_or(&[]),
    )?;
    let routing_profile_id =
        check_routing_profile(instance, request.routing_profile_id.as_deref())?;
    if let Some(group) = &request.hierarchy_group_id {
        return Err(ApiError::not_found(format!(
            "Hierarchy group not found: {group}"
        )));
    }
    let tags = request.tags.clone().unwrap_or_default();
    if request.tags.is_some() {
        validate::tags(&tags)?;
    }
    // Usernames are unique, by default regardless of case (see the README on this choice). Users
    // whose creation has not propagated yet still count: the write has happened.
    // assumption: connect-username-case-insensitive
    if let Some(existing) = instance
        .users
        .values()
        .find(|u| same_username(&u.record.snapshot.username, &username, case_insensitive))
    {
        return Err(ApiError::new(
            ErrorKind::DuplicateResource,
            format!(
                "User {} already exists in this instance",
                existing.record.snapshot.username
            ),
        ));
    }
    if instance.users.len() >= user_limit {
        return Err(ApiError::new(
            ErrorKind::LimitExceeded,
            format!(
                "The allowed limit for the resource has been exceeded: {user_limit} users per instance"
            ),
        ));
    }

    let arn = format!("{}/agent/{user_id}", instance.arn);
    let snapshot = UserSnapshot {
        id: user_id.clone(),
        arn: arn.clone(),
        username,
        first_name: info.first_name,
        last_name: info.last_name,
        email: info.email,
        secondary_email: info.secondary_email,
        phone_type: phone.0.as_str().to_owned(),
        auto_accept: phone.1,
        after_contact_work_time_limit: phone.2,
        desk_phone_number: phone.3,
        security_profile_ids,
        routing_profile_id,
        tags,
        directory_user_id: request.directory_user_id,
    };
    let record = UserRecord {
        snapshot,
        mobile: info.mobile,
        last_modified: epoch_seconds(),
    };
    let instance = instance_mut(state, instance_id)?;
    instance
        .users
        .insert(user_id.clone(), StoredUser::new(record, now));
    Ok(Some(json!({ "UserId": user_id, "UserArn": arn })))
}

fn phone_config_json(snapshot: &UserSnapshot, acw_factor: i64) -> Value {
    let mut phone = Map::new();
    phone.insert("PhoneType".into(), json!(snapshot.phone_type));
    phone.insert("AutoAccept".into(), json!(snapshot.auto_accept));
    phone.insert(
        "AfterContactWorkTimeLimit".into(),
        json!(i64::from(snapshot.after_contact_work_time_limit) * acw_factor),
    );
    insert_some(&mut phone, "DeskPhoneNumber", &snapshot.desk_phone_number);
    Value::Object(phone)
}

fn user_json(record: &UserRecord) -> Value {
    let s = &record.snapshot;
    let mut info = Map::new();
    insert_some(&mut info, "FirstName", &s.first_name);
    insert_some(&mut info, "LastName", &s.last_name);
    insert_some(&mut info, "Email", &s.email);
    insert_some(&mut info, "SecondaryEmail", &s.secondary_email);
    insert_some(&mut info, "Mobile", &record.mobile);
    let mut user = Map::new();
    user.insert("Id".into(), json!(s.id));
    user.insert("Arn".into(), json!(s.arn));
    user.insert("Username".into(), json!(s.username));
    user.insert("IdentityInfo".into(), Value::Object(info));
    user.insert("PhoneConfig".into(), phone_config_json(s, 1));
    insert_some(&mut user, "DirectoryUserId", &s.directory_user_id);
    user.insert("SecurityProfileIds".into(), json!(s.security_profile_ids));
    user.insert("RoutingProfileId".into(), json!(s.routing_profile_id));
    user.insert("Tags".into(), json!(s.tags));
    user.insert("LastModifiedTime".into(), json!(record.last_modified));
    user.insert("LastModifiedRegion".into(), json!(REGION));
    Value::Object(user)
}

/// SearchUsers' UserSearchSummary: names only ("Lite"), ACW in milliseconds.
fn user_search_json(record: &UserRecord) -> Value {
    let s = &record.snapshot;
    let mut info = Map::new();
    insert_some(&mut info, "FirstName", &s.first_name);
    insert_some(&mut info, "LastName", &s.last_name);
    let mut user = Map::new();
    user.insert("Id".into(), json!(s.id));
    user.insert("Arn".into(), json!(s.arn));
    user.insert("Username".into(), json!(s.username));
    user.insert("IdentityInfo".into(), Value::Object(info));
    user.insert("PhoneConfig".into(), phone_config_json(s, 1000));
    insert_some(&mut user, "DirectoryUserId", &s.directory_user_id);
    user.insert("SecurityProfileIds".into(), json!(s.security_profile_ids));
    user.insert("RoutingProfileId".into(), json!(s.routing_profile_id));
    user.insert("Tags".into(), json!(s.tags));
    Value::Object(user)
}

pub fn describe_user(state: &Account, now: Instant, instance_id: &str, user_id: &str) -> Reply {
    let lag = state.lag();
    let instance = instance(state, instance_id)?;
    let user = instance
        .visible_user(user_id, now, lag)
        .ok_or_else(|| user_not_found(user_id))?;
    Ok(Some(json!({ "User": user_json(&user.record) })))
}

// assumption: connect-list-users-lags
pub fn list_users(state: &Account, now: Instant, instance_id: &str, query: &Query) -> Reply {
    let lag = state.lag();
    let instance = instance(state, instance_id)?;
    let max = state.page_limit(paging::max_results(query.one("maxResults"), 1000, 100)?);
    let items = instance
        .users
        .values()
        .filter(|u| u.is_visible(now, lag))
        .map(|u| {
            let s = &u.record.snapshot;
            let summary = json!({
                "Id": s.id, "Arn": s.arn, "Username": s.username,
                "LastModifiedTime": u.record.last_modified, "LastModifiedRegion": REGION,
            });
            (s.id.clone(), summary)
        })
        .collect();
    let (page, next) = paging::page(items, query.one("nextToken"), max)?;
    Ok(Some(json!({ "UserSummaryList": page, "NextToken": next })))
}

/// Runs `change` on a user that reads can see, as one write.
fn write_user(
    state: &mut Account,
    now: Instant,
    instance_id: &str,
    user_id: &str,
    check: impl FnOnce(&InstanceState) -> ApiResult<Box<dyn FnOnce(&mut UserRecord)>>,
) -> Reply {
    let lag = state.lag();
    let instance = instance_mut(state, instance_id)?;
    if instance.visible_user(user_id, now, lag).is_none() {
        return Err(user_not_found(user_id));
    }
    let change = check(instance)?;
    if let Some(user) = instance.visible_user_mut(user_id, now, lag) {
        user.write(now, lag, change);
    }
    Ok(None)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateIdentityInfoRequest {
    identity_info: Option<IdentityInfo>,
}

pub fn update_user_identity_info(
    state: &mut Account,
    now: Instant,
    instance_id: &str,
    user_id: &str,
    body: &[u8],
) -> Reply {
    let request: UpdateIdentityInfoRequest = parse_body(body)?;
    write_user(state, now, instance_id, user_id, |instance| {
        let info = request
            .identity_info
            .ok_or_else(|| ApiError::invalid_parameter("IdentityInfo is required"))?;
        check_identity_info(instance, &info)?;
        // assumption: connect-update-identity-info-replaces
        // The whole IdentityInfo is replaced: fields left out are cleared.
        Ok(Box::new(move |record: &mut UserRecord| {
            record.snapshot.first_name = info.first_name;
            record.snapshot.last_name = info.last_name;
            record.snapshot.email = info.email;
            record.snapshot.secondary_email = info.secondary_email;
            record.mobile = info.mobile;
        }))
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UpdatePhoneConfigRequest {
    phone_config: Option<PhoneConfig>,
}

pub fn update_user_phone_config(
    state: &mut Account,
    now: Instant,
    instance_id: &str,
    user_id: &str,
    body: &[u8],
) -> Reply {
    let request: UpdatePhoneConfigRequest = parse_body(body)?;
    write_user(state, now, instance_id, user_id, |_| {
        let config = request
            .phone_config
            .ok_or_else(|| ApiError::invalid_parameter("PhoneConfig is required"))?;
        let (phone_type, auto_accept, acw, desk) = check_phone_config(&config)?;
        Ok(Box::new(move |record: &mut UserRecord| {
            record.snapshot.phone_type = phone_type.as_str().to_owned();
            record.snapshot.auto_accept = auto_accept;
            record.snapshot.after_contact_work_time_limit = acw;
            record.snapshot.desk_phone_number = desk;
        }))
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateSecurityProfilesRequest {
    security_profile_ids: Option<Vec<String>>,
}

pub fn update_user_security_profiles(
    state: &mut Account,
    now: Instant,
    instance_id: &str,
    user_id: &str,
    body: &[u8],
) -> Reply {
    let request: UpdateSecurityProfilesRequest = parse_body(body)?;
    write_user(state, now, instance_id, user_id, |instance| {
        let ids = check_security_profiles(
            instance,
            request.security_profile_ids.as_deref().unwrap_or(&[]),
        )?;
        Ok(Box::new(move |record: &mut UserRecord| {
            record.snapshot.security_profile_ids = ids;
        }))
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateRoutingProfileRequest {
    routing_profile_id: Option<String>,
}

pub fn update_user_routing_profile(
    state: &mut Account,
    now: Instant,
    instance_id: &str,
    user_id: &str,
    body: &[u8],
) -> Reply {
    let request: UpdateRoutingProfileRequest = parse_body(body)?;
    write_user(state, now, instance_id, user_id, |instance| {
        let id = check_routing_profile(instance, request.routing_profile_id.as_deref())?;
        Ok(Box::new(move |record: &mut UserRecord| {
            record.snapshot.routing_profile_id = id;
        }))
    })
}

pub fn delete_user(state: &mut Account, now: Instant, instance_id: &str, user_id: &str) -> Reply {
    let lag = state.lag();
    let instance = instance_mut(state, instance_id)?;
    if instance.visible_user(user_id, now, lag).is_none() {
        return Err(user_not_found(user_id));
    }
    instance.prune_tombstones(now, lag);
    if let Some(user) = instance.users.remove(user_id)
        && lag.is_some()
    {
        instance.search_tombstones.push((now, user));
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// SearchUsers

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct SearchUsersRequest {
    instance_id: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    search_filter: Option<UserSearchFilter>,
    search_criteria: Option<UserSearchCriteria>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UserSearchFilter {
    tag_filter: Option<TagFilter>,
    user_attribute_filter: Option<UserAttributeFilter>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TagFilter {
    or_conditions: Option<Vec<Vec<TagCondition>>>,
    and_conditions: Option<Vec<TagCondition>>,
    tag_condition: Option<TagCondition>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TagCondition {
    tag_key: Option<String>,
    tag_value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UserAttributeFilter {
    or_conditions: Option<Vec<AttributeAndCondition>>,
    and_condition: Option<AttributeAndCondition>,
    tag_condition: Option<TagCondition>,
    hierarchy_group_condition: Option<HierarchyGroupCondition>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AttributeAndCondition {
    tag_conditions: Option<Vec<TagCondition>>,
    hierarchy_group_condition: Option<HierarchyGroupCondition>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HierarchyGroupCondition {
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UserSearchCriteria {
    or_conditions: Option<Vec<UserSearchCriteria>>,
    and_conditions: Option<Vec<UserSearchCriteria>>,
    string_condition: Option<StringCondition>,
    list_condition: Option<Value>,
    hierarchy_group_condition: Option<HierarchyGroupCondition>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StringCondition {
    field_name: Option<String>,
    value: Option<String>,
    comparison_type: Option<String>,
}

fn tag_matches(condition: &TagCondition, tags: &BTreeMap<String, String>) -> ApiResult<bool> {
    let key = condition
        .tag_key
        .as_deref()
        .ok_or_else(|| ApiError::invalid_parameter("TagCondition.TagKey is required"))?;
    Ok(match (&condition.tag_value, tags.get(key)) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(wanted), Some(actual)) => wanted == actual,
    })
}

fn all_tags_match(conditions: &[TagCondition], tags: &BTreeMap<String, String>) -> ApiResult<bool> {
    for condition in conditions {
        if !tag_matches(condition, tags)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn hierarchy_matches(_condition: &HierarchyGroupCondition, _user: &UserSnapshot) -> bool {
    // No hierarchy groups exist in the emulator, so no user is in one.
    false
}

fn filter_matches(filter: &UserSearchFilter, user: &UserSnapshot) -> ApiResult<bool> {
    if let Some(tag_filter) = &filter.tag_filter {
        if let Some(condition) = &tag_filter.tag_condition
            && !tag_matches(condition, &user.tags)?
        {
            return Ok(false);
        }
        if let Some(conditions) = &tag_filter.and_conditions
            && !all_tags_match(conditions, &user.tags)?
        {
            return Ok(false);
        }
        if let Some(alternatives) = &tag_filter.or_conditions {
            let mut any = false;
            for conditions in alternatives {
                any |= all_tags_match(conditions, &user.tags)?;
            }
            if !any {
                return Ok(false);
            }
        }
    }
    if let Some(attributes) = &filter.user_attribute_filter {
        let and_matches = |condition: &AttributeAndCondition| -> ApiResult<bool> {
            Ok(all_tags_match(
                condition.tag_conditions.as_deref().unwrap_or(&[]),
                &user.tags,
            )? && condition
                .hierarchy_group_condition
                .as_ref()
                .is_none_or(|h| hierarchy_matches(h, user)))
        };
        if let Some(condition) = &attributes.tag_condition
            && !tag_matches(condition, &user.tags)?
        {
            return Ok(false);
        }
        if let Some(condition) = &attributes.hierarchy_group_condition
            && !hierarchy_matches(condition, user)
        {
            return Ok(false);
        }
        if let Some(condition) = &attributes.and_condition
            && !and_matches(condition)?
        {
            return Ok(false);
        }
        if let Some(alternatives) = &attributes.or_conditions {
            let mut any = false;
            for condition in alternatives {
                any |= and_matches(condition)?;
            }
            if !any {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether two usernames name the same user ([`crate::Options::usernames_case_insensitive`]).
pub(crate) fn same_username(a: &str, b: &str, case_insensitive: bool) -> bool {
    if case_insensitive {
        a.to_lowercase() == b.to_lowercase()
    } else {
        a == b
    }
}

fn string_matches(condition: &StringCondition, user: &UserSnapshot) -> ApiResult<bool> {
    let field = condition
        .field_name
        .as_deref()
        .ok_or_else(|| ApiError::invalid_parameter("StringCondition.FieldName is required"))?;
    let wanted = condition
        .value
        .as_deref()
        .ok_or_else(|| ApiError::invalid_parameter("StringCondition.Value is required"))?
        .to_lowercase();
    let comparison = condition.comparison_type.as_deref().unwrap_or("");
    let values: Vec<&str> = match field {
        "Username" => vec![user.username.as_str()],
        "FirstName" => user.first_name.as_deref().into_iter().collect(),
        "LastName" => user.last_name.as_deref().into_iter().collect(),
        "RoutingProfileId" => vec![user.routing_profile_id.as_str()],
        "SecurityProfileId" => user
            .security_profile_ids
            .iter()
            .map(String::as_str)
            .collect(),
        "resourceId" => vec![user.id.as_str()],
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "StringCondition.FieldName {other:?} is not searchable; use Username, FirstName, LastName, RoutingProfileId, SecurityProfileId or resourceId"
            )));
        }
    };
    // The search index compares case-insensitively (see the README: not documented).
    // assumption: connect-search-users-case-insensitive
    let test: fn(&str, &str) -> bool = match comparison {
        "EXACT" => |value, wanted| value == wanted,
        "STARTS_WITH" => |value, wanted| value.starts_with(wanted),
        "CONTAINS" => {
            let length = wanted.chars().count();
            if !(2..=25).contains(&length) {
                return Err(ApiError::invalid_parameter(
                    "A CONTAINS condition needs a value of 2 to 25 characters",
                ));
            }
            |value, wanted| value.contains(wanted)
        }
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "StringCondition.ComparisonType must be STARTS_WITH, CONTAINS or EXACT (got {other:?})"
            )));
        }
    };
    Ok(values
        .iter()
        .any(|value| test(&value.to_lowercase(), &wanted)))
}

/// Checks every condition of the request once, so a bad one is refused even when no user
/// reaches it (matching stops early).
fn check_criteria(criteria: &UserSearchCriteria) -> ApiResult<()> {
    if criteria.list_condition.is_some() {
        return Err(ApiError::invalid_parameter(
            "ListCondition (proficiencies) is not supported by this emulator",
        ));
    }
    if let Some(condition) = &criteria.string_condition {
        string_matches(condition, &UserSnapshot::default())?;
    }
    let nested = criteria
        .and_conditions
        .iter()
        .chain(&criteria.or_conditions);
    for criteria in nested.flatten() {
        check_criteria(criteria)?;
    }
    Ok(())
}

fn check_filter(filter: &UserSearchFilter) -> ApiResult<()> {
    let mut conditions: Vec<&TagCondition> = Vec::new();
    if let Some(tags) = &filter.tag_filter {
        conditions.extend(&tags.tag_condition);
        conditions.extend(tags.and_conditions.iter().flatten());
        conditions.extend(tags.or_conditions.iter().flatten().flatten());
    }
    if let Some(attributes) = &filter.user_attribute_filter {
        conditions.extend(&attributes.tag_condition);
        let and_conditions = attributes
            .and_condition
            .iter()
            .chain(attributes.or_conditions.iter().flatten());
        conditions.extend(and_conditions.flat_map(|c| c.tag_conditions.iter().flatten()));
    }
    for condition in conditions {
        tag_matches(condition, &BTreeMap::new())?;
    }
    Ok(())
}

fn criteria_matches(criteria: &UserSearchCriteria, user: &UserSnapshot) -> ApiResult<bool> {
    if criteria.list_condition.is_some() {
        return Err(ApiError::invalid_parameter(
            "ListCondition (proficiencies) is not supported by this emulator",
        ));
    }
    if let Some(condition) = &criteria.string_condition
        && !string_matches(condition, user)?
    {
        return Ok(false);
    }
    if let Some(condition) = &criteria.hierarchy_group_condition
        && !hierarchy_matches(condition, user)
    {
        return Ok(false);
    }
    if let Some(all) = &criteria.and_conditions {
        for nested in all {
            if !criteria_matches(nested, user)? {
                return Ok(false);
            }
        }
    }
    if let Some(alternatives) = &criteria.or_conditions {
        let mut any = false;
        for nested in alternatives {
            any |= criteria_matches(nested, user)?;
        }
        if !any {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn search_users(state: &mut Account, now: Instant, body: &[u8]) -> Reply {
    let request: SearchUsersRequest = parse_body(body)?;
    let lag = state.lag();
    let instance_id = request
        .instance_id
        .as_deref()
        .ok_or_else(|| ApiError::invalid_parameter("InstanceId is required"))?;
    let max = state.page_limit(paging::max_results_number(request.max_results, 500, 100)?);
    let instance = instance_mut(state, instance_id)?;
    instance.prune_tombstones(now, lag);
    if let Some(token) = &request.next_token
        && !(1..=2500).contains(&token.len())
    {
        return Err(ApiError::invalid_parameter(
            "NextToken must be 1 to 2500 characters",
        ));
    }
    if let Some(criteria) = &request.search_criteria {
        check_criteria(criteria)?;
    }
    if let Some(filter) = &request.search_filter {
        check_filter(filter)?;
    }
    let mut matches = Vec::new();
    for record in instance.search_view(now, lag) {
        let s = &record.snapshot;
        let filtered = match &request.search_filter {
            Some(filter) => filter_matches(filter, s)?,
            None => true,
        };
        let criteria = match &request.search_criteria {
            Some(criteria) => criteria_matches(criteria, s)?,
            None => true,
        };
        if filtered && criteria {
            matches.push((s.id.clone(), user_search_json(&record)));
        }
    }
    let total = matches.len();
    let (page, next) = paging::page(matches, request.next_token.as_deref(), max)?;
    Ok(Some(
        json!({ "Users": page, "NextToken": next, "ApproximateTotalCount": total }),
    ))
}

// ---------------------------------------------------------------------------------------------
// Tags

enum Tagged {
    Instance(String),
    User(String, String),
    Profile(String, String),
}

/// Finds what an ARN names: `arn:aws:connect:<region>:<account>:instance/<id>[/<kind>/<id>]`.
fn resolve_arn(state: &Account, now: Instant, arn: &str) -> ApiResult<Tagged> {
    let invalid = || ApiError::invalid_parameter(format!("Invalid resource ARN: {arn}"));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "connect" {
        return Err(invalid());
    }
    let path: Vec<&str> = parts[5].split('/').collect();
    let not_found = || ApiError::not_found(format!("Resource not found: {arn}"));
    let lag = state.lag();
    match path.as_slice() {
        ["instance", instance_id] => {
            let instance = state.instances.get(*instance_id).ok_or_else(not_found)?;
            (instance.arn == arn)
                .then(|| Tagged::Instance(instance.id.clone()))
                .ok_or_else(not_found)
        }
        ["instance", instance_id, kind, id] => {
            let instance = state.instances.get(*instance_id).ok_or_else(not_found)?;
            match *kind {
                "agent" => {
                    let user = instance.visible_user(id, now, lag).ok_or_else(not_found)?;
                    (user.record.snapshot.arn == arn)
                        .then(|| Tagged::User(instance.id.clone(), id.to_string()))
                        .ok_or_else(not_found)
                }
                "security-profile" | "routing-profile" => instance
                    .security_profiles
                    .iter()
                    .chain(&instance.routing_profiles)
                    .find(|p| p.arn == arn)
                    .map(|p| Tagged::Profile(instance.id.clone(), p.id.clone()))
                    .ok_or_else(not_found),
                _ => Err(invalid()),
            }
        }
        _ => Err(invalid()),
    }
}

fn profile_tags<'a>(
    instance: &'a mut InstanceState,
    profile_id: &str,
) -> Option<&'a mut BTreeMap<String, String>> {
    instance
        .security_profiles
        .iter_mut()
        .chain(instance.routing_profiles.iter_mut())
        .find(|p| p.id == profile_id)
        .map(|p| &mut p.tags)
}

/// Applies `change` to the tags of whatever `arn` names.
fn change_tags(
    state: &mut Account,
    now: Instant,
    arn: &str,
    change: impl FnOnce(&mut BTreeMap<String, String>) -> ApiResult<()>,
) -> Reply {
    let lag = state.lag();
    let target = resolve_arn(state, now, arn)?;
    let instance_id = match &target {
        Tagged::Instance(id) | Tagged::User(id, _) | Tagged::Profile(id, _) => id.clone(),
    };
    let instance = instance_mut(state, &instance_id)?;
    match target {
        Tagged::Instance(_) => change(&mut instance.tags)?,
        Tagged::Profile(_, id) => {
            if let Some(tags) = profile_tags(instance, &id) {
                change(tags)?;
            }
        }
        Tagged::User(_, id) => {
            if let Some(user) = instance.visible_user_mut(&id, now, lag) {
                let mut tags = user.record.snapshot.tags.clone();
                change(&mut tags)?;
                user.write(now, lag, |record| record.snapshot.tags = tags);
            }
        }
    }
    Ok(None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TagResourceRequest {
    tags: Option<BTreeMap<String, String>>,
}

pub fn tag_resource(state: &mut Account, now: Instant, arn: &str, body: &[u8]) -> Reply {
    let request: TagResourceRequest = parse_body(body)?;
    let new_tags = request.tags.unwrap_or_default();
    validate::tags(&new_tags)?;
    change_tags(state, now, arn, |tags| {
        tags.extend(new_tags);
        if tags.len() > 50 {
            return Err(ApiError::invalid_parameter(
                "A resource can have at most 50 tags",
            ));
        }
        Ok(())
    })
}

pub fn untag_resource(state: &mut Account, now: Instant, arn: &str, query: &Query) -> Reply {
    let keys = query.all("tagKeys");
    if keys.is_empty() || keys.len() > 50 {
        return Err(ApiError::invalid_parameter(
            "tagKeys must list 1 to 50 keys",
        ));
    }
    for key in &keys {
        validate::tag_key(key)?;
    }
    change_tags(state, now, arn, |tags| {
        for key in &keys {
            tags.remove(key);
        }
        Ok(())
    })
}

pub fn list_tags_for_resource(state: &Account, now: Instant, arn: &str) -> Reply {
    let tags = match resolve_arn(state, now, arn)? {
        Tagged::Instance(id) => instance(state, &id)?.tags.clone(),
        Tagged::User(instance_id, id) => instance(state, &instance_id)?
            .users
            .get(&id)
            .map(|u| u.record.snapshot.tags.clone())
            .unwrap_or_default(),
        Tagged::Profile(instance_id, id) => instance(state, &instance_id)?
            .security_profiles
            .iter()
            .chain(&instance(state, &instance_id)?.routing_profiles)
            .find(|p| p.id == id)
            .map(|p| p.tags.clone())
            .unwrap_or_default(),
    };
    Ok(Some(json!({ "tags": tags })))
}
