//! The public sso-admin API (SWBExternalService, `POST /`), wire names as in aws-sdk-ssoadmin
//! 1.125 (`protocol_serde`).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::console::ensure_default_profile;
use crate::state::{ACCOUNT_ID, CUSTOM_SAML_PROVIDER_RESOLVED_ARN, State};
use crate::wire::{ApiError, ErrorKind, page, parse};

pub(crate) const OPERATIONS: &[&str] = &[
    "ListInstances",
    "DescribeInstance",
    "DescribeApplication",
    "ListApplications",
    "CreateApplication",
    "CreateApplicationAssignment",
    "DeleteApplicationAssignment",
    "ListApplicationAssignments",
    "GetApplicationAssignmentConfiguration",
    "PutApplicationAssignmentConfiguration",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
];

const MAX_TAGS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListInstances {
    max_results: Option<i64>,
    next_token: Option<String>,
    #[allow(dead_code)]
    region_scope: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ByInstanceArn {
    instance_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ByApplicationArn {
    application_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListApplications {
    instance_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[allow(dead_code)]
    filter: Option<Value>,
}

/// Only what the refusal needs; the other members are not checked.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateApplication {
    instance_arn: String,
    application_provider_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Assignment {
    application_arn: String,
    principal_id: String,
    principal_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListApplicationAssignments {
    application_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct PutAssignmentConfiguration {
    application_arn: String,
    #[allow(dead_code)]
    assignment_required: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Tag {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct TagResource {
    instance_arn: Option<String>,
    resource_arn: String,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct UntagResource {
    instance_arn: Option<String>,
    resource_arn: String,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ListTagsForResource {
    instance_arn: Option<String>,
    resource_arn: String,
    next_token: Option<String>,
}

pub(crate) fn handle(state: &mut State, operation: &str, body: &Value) -> Result<Value, ApiError> {
    match operation {
        "ListInstances" => {
            let request: ListInstances = parse(operation, body)?;
            let page_size = max_results(request.max_results, state.page_size)?;
            let all: Vec<Value> = state
                .instances
                .iter()
                .map(|i| {
                    json!({
                        "InstanceArn": i.arn,
                        "IdentityStoreId": i.identity_store_id,
                        "OwnerAccountId": ACCOUNT_ID,
                        "Name": i.name,
                        "CreatedDate": i.created,
                        "Status": "ACTIVE",
                        "PrimaryRegion": i.home_region,
                    })
                })
                .collect();
            let (items, next) = page(&all, request.next_token.as_deref(), page_size, "NextToken")?;
            Ok(with_next_token(json!({ "Instances": items }), next))
        }
        "DescribeInstance" => {
            let request: ByInstanceArn = parse(operation, body)?;
            let Some(i) = state.instance(&request.instance_arn) else {
                return Err(ApiError::not_found(format!(
                    "Instance {} does not exist",
                    request.instance_arn
                )));
            };
            Ok(json!({
                "InstanceArn": i.arn,
                "IdentityStoreId": i.identity_store_id,
                "OwnerAccountId": ACCOUNT_ID,
                "Name": i.name,
                "CreatedDate": i.created,
                "Status": "ACTIVE",
                "PrimaryRegion": i.home_region,
            }))
        }
        "DescribeApplication" => {
            let request: ByApplicationArn = parse(operation, body)?;
            let index = application(state, &request.application_arn)?;
            let application = &state.applications[index];
            Ok(application.describe(state.identity_store_of(&application.instance_arn)))
        }
        "ListApplications" => {
            let request: ListApplications = parse(operation, body)?;
            let page_size = max_results(request.max_results, state.page_size)?;
            check_instance_arn(state, &request.instance_arn)?;
            let identity_store = state.identity_store_of(&request.instance_arn);
            let identity_store = identity_store.map(str::to_string);
            let mut all: Vec<Value> = Vec::new();
            for application in state
                .applications
                .iter_mut()
                .filter(|a| a.instance_arn == request.instance_arn)
            {
                if !application.take_invisible_read() {
                    all.push(application.describe(identity_store.as_deref()));
                }
            }
            let (items, next) = page(&all, request.next_token.as_deref(), page_size, "NextToken")?;
            Ok(with_next_token(json!({ "Applications": items }), next))
        }
        "CreateApplication" => {
            // Public CreateApplication cannot make SAML apps (docs/identity-center-console-api.md §4, HIGH); the emulator
            // has no OAuth apps either, so every provider gets the documented refusal.
            let request: CreateApplication = parse(operation, body)?;
            check_instance_arn(state, &request.instance_arn)?;
            let provider = if request.application_provider_arn.ends_with("/custom-saml") {
                CUSTOM_SAML_PROVIDER_RESOLVED_ARN.to_string()
            } else {
                request.application_provider_arn
            };
            Err(ApiError::validation(format!(
                "The application provider with arn '{provider}' is not supported for this action."
            )))
        }
        "CreateApplicationAssignment" => {
            let request: Assignment = parse(operation, body)?;
            check_principal(&request.principal_type, &request.principal_id)?;
            let index = application(state, &request.application_arn)?;
            let application = &mut state.applications[index];
            if application.assignments.iter().any(|a| {
                a.principal_id == request.principal_id && a.principal_type == request.principal_type
            }) {
                return Err(ApiError::conflict(format!(
                    "The {} {} is already assigned to application {}",
                    request.principal_type, request.principal_id, request.application_arn
                )));
            }
            ensure_default_profile(application);
            application.assignments.push(crate::state::Assignment {
                principal_type: request.principal_type,
                principal_id: request.principal_id,
            });
            Ok(json!({}))
        }
        "DeleteApplicationAssignment" => {
            let request: Assignment = parse(operation, body)?;
            check_principal(&request.principal_type, &request.principal_id)?;
            let index = application(state, &request.application_arn)?;
            let application = &mut state.applications[index];
            let Some(position) = application.assignments.iter().position(|a| {
                a.principal_id == request.principal_id && a.principal_type == request.principal_type
            }) else {
                return Err(ApiError::not_found(format!(
                    "The {} {} is not assigned to application {}",
                    request.principal_type, request.principal_id, request.application_arn
                )));
            };
            application.assignments.remove(position);
            Ok(json!({}))
        }
        "ListApplicationAssignments" => {
            let request: ListApplicationAssignments = parse(operation, body)?;
            let page_size = max_results(request.max_results, state.page_size)?;
            let index = application(state, &request.application_arn)?;
            let all: Vec<Value> = state.applications[index]
                .assignments
                .iter()
                .map(|a| {
                    json!({
                        "ApplicationArn": request.application_arn,
                        "PrincipalId": a.principal_id,
                        "PrincipalType": a.principal_type,
                    })
                })
                .collect();
            let (items, next) = page(&all, request.next_token.as_deref(), page_size, "NextToken")?;
            Ok(with_next_token(
                json!({ "ApplicationAssignments": items }),
                next,
            ))
        }
        "GetApplicationAssignmentConfiguration" => {
            let request: ByApplicationArn = parse(operation, body)?;
            application(state, &request.application_arn)?;
            // The console makes SAML apps assignment-required (docs/identity-center-console-api.md §4, HIGH).
            Ok(json!({ "AssignmentRequired": true }))
        }
        "PutApplicationAssignmentConfiguration" => {
            let request: PutAssignmentConfiguration = parse(operation, body)?;
            application(state, &request.application_arn)?;
            Err(ApiError::validation(format!(
                "The application with arn '{}' is not supported for this action.",
                request.application_arn
            )))
        }
        "TagResource" => {
            let request: TagResource = parse(operation, body)?;
            if request.tags.is_empty() {
                return Err(ApiError::validation("Tags must hold at least 1 tag"));
            }
            for tag in &request.tags {
                check_tag_key(&tag.key)?;
                if tag.value.chars().count() > 256 {
                    return Err(ApiError::validation(format!(
                        "The value of tag '{}' is longer than 256 characters",
                        tag.key
                    )));
                }
            }
            let tags = tags_of(
                state,
                request.instance_arn.as_deref(),
                &request.resource_arn,
            )?;
            let mut updated = tags.clone();
            for tag in request.tags {
                updated.insert(tag.key, tag.value);
            }
            if updated.len() > MAX_TAGS {
                return Err(ApiError::validation(format!(
                    "A resource can have at most {MAX_TAGS} tags; this request would leave {}",
                    updated.len()
                )));
            }
            *tags = updated;
            Ok(json!({}))
        }
        "UntagResource" => {
            let request: UntagResource = parse(operation, body)?;
            if request.tag_keys.is_empty() {
                return Err(ApiError::validation("TagKeys must hold at least 1 key"));
            }
            for key in &request.tag_keys {
                check_tag_key(key)?;
            }
            let tags = tags_of(
                state,
                request.instance_arn.as_deref(),
                &request.resource_arn,
            )?;
            for key in &request.tag_keys {
                tags.remove(key);
            }
            Ok(json!({}))
        }
        "ListTagsForResource" => {
            let request: ListTagsForResource = parse(operation, body)?;
            let tags = tags_of(
                state,
                request.instance_arn.as_deref(),
                &request.resource_arn,
            )?;
            let all: Vec<Value> = tags
                .iter()
                .map(|(k, v)| json!({ "Key": k, "Value": v }))
                .collect();
            let page_size = state.page_size.min(MAX_TAGS);
            let (items, next) = page(&all, request.next_token.as_deref(), page_size, "NextToken")?;
            Ok(with_next_token(json!({ "Tags": items }), next))
        }
        _ => Err(crate::console::unknown_operation(operation)),
    }
}

fn with_next_token(mut response: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        response["NextToken"] = json!(next);
    }
    response
}

fn max_results(requested: Option<i64>, default: usize) -> Result<usize, ApiError> {
    match requested {
        None => Ok(default),
        Some(n @ 1..=100) => Ok(n as usize),
        Some(n) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100"
        ))),
    }
}

/// `arn:aws:sso::<account>:application/(sso)?ins-<16>/apl-<16>` (the SDK model's pattern).
fn check_application_arn(arn: &str) -> Result<(), ApiError> {
    let invalid = || {
        ApiError::validation(format!(
            "ApplicationArn '{arn}' does not match arn:aws:sso::<account>:application/ssoins-<16>/apl-<16>"
        ))
    };
    let rest = arn.strip_prefix("arn:").ok_or_else(invalid)?;
    let (partition, rest) = rest.split_once(":sso::").ok_or_else(invalid)?;
    if !partition.starts_with("aws") {
        return Err(invalid());
    }
    let (account, rest) = rest.split_once(":application/").ok_or_else(invalid)?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let (instance, application) = rest.split_once('/').ok_or_else(invalid)?;
    let instance = instance.strip_prefix("sso").unwrap_or(instance);
    let instance_ok = instance.strip_prefix("ins-").is_some_and(|id| {
        id.len() == 16
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    });
    let application_ok = application
        .strip_prefix("apl-")
        .is_some_and(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    if instance_ok && application_ok {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn application(state: &mut State, arn: &str) -> Result<usize, ApiError> {
    check_application_arn(arn)?;
    let not_found = || ApiError::not_found(format!("Application {arn} does not exist"));
    let index = state.application_index_by_arn(arn).ok_or_else(not_found)?;
    if state.applications[index].take_invisible_read() {
        return Err(not_found());
    }
    Ok(index)
}

fn check_instance_arn(state: &State, arn: &str) -> Result<(), ApiError> {
    if !arn.starts_with("arn:aws:sso:::instance/") {
        return Err(ApiError::validation(format!(
            "InstanceArn '{arn}' does not match arn:aws:sso:::instance/ssoins-<16>"
        )));
    }
    // ASSUMPTION `missing-instance-error`: which error AWS gives is not recorded ([ARGO] saw a
    // cross-account denial worded "does not exist in this Region"); switchable.
    state.instance(arn).map(|_| ()).ok_or_else(|| {
        let message = format!("Instance {arn} does not exist in this Region");
        match state.answers.missing_instance_error {
            "ValidationException" => ApiError::validation(message),
            "AccessDeniedException" => ApiError::new(
                400,
                ErrorKind::Service("AccessDeniedException"),
                "User is not authorized to perform this action on the instance",
            ),
            _ => ApiError::not_found(message),
        }
    })
}

/// PrincipalType USER | GROUP; PrincipalId as identity-store ids look (the SDK model's pattern
/// `([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}`).
fn check_principal(principal_type: &str, principal_id: &str) -> Result<(), ApiError> {
    if principal_type != "USER" && principal_type != "GROUP" {
        return Err(ApiError::validation(format!(
            "PrincipalType '{principal_type}' is not one of USER, GROUP"
        )));
    }
    let uuid = match principal_id.split_once('-') {
        Some((prefix, rest))
            if prefix.len() == 10
                && prefix
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            rest
        }
        _ => principal_id,
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    let shape_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()));
    if shape_ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "PrincipalId '{principal_id}' is not an identity store user or group id (a UUID, optionally prefixed by 10 hex characters and '-')"
        )))
    }
}

fn check_tag_key(key: &str) -> Result<(), ApiError> {
    let length = key.chars().count();
    if length == 0 || length > 128 {
        return Err(ApiError::validation(format!(
            "Tag key '{key}' must be 1 to 128 characters"
        )));
    }
    if key.starts_with("aws:") {
        return Err(ApiError::validation(format!(
            "Tag key '{key}' uses the reserved prefix 'aws:'"
        )));
    }
    Ok(())
}

/// The tag map of an application or instance ARN.
fn tags_of<'a>(
    state: &'a mut State,
    instance_arn: Option<&str>,
    resource_arn: &str,
) -> Result<&'a mut std::collections::BTreeMap<String, String>, ApiError> {
    if let Some(instance_arn) = instance_arn {
        check_instance_arn(state, instance_arn)?;
    }
    if let Some(index) = state.instances.iter().position(|i| i.arn == resource_arn) {
        return Ok(&mut state.instances[index].tags);
    }
    let index = application(state, resource_arn)?;
    let application = &mut state.applications[index];
    if instance_arn.is_some_and(|arn| arn != application.instance_arn) {
        return Err(ApiError::not_found(format!(
            "Application {resource_arn} does not belong to instance {}",
            instance_arn.unwrap_or_default()
        )));
    }
    Ok(&mut application.tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_arn_pattern() {
        assert!(
            check_application_arn(
                "arn:aws:sso::123456789012:application/ssoins-0123456789abcdef/apl-0123456789abcdef"
            )
            .is_ok()
        );
        assert!(
            check_application_arn(
                "arn:aws:sso::123456789012:application/ssoins-0123456789abcdef/app-0123456789abcdef"
            )
            .is_err()
        );
        assert!(
            check_application_arn(
                "arn:aws:sso::12345678901:application/ssoins-0123456789abcdef/apl-0123456789abcdef"
            )
            .is_err()
        );
        assert!(check_application_arn("ins-0123456789abcdef").is_err());
    }

    #[test]
    fn principal_ids() {
        assert!(check_principal("USER", "906722b2be-8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6d").is_ok());
        assert!(check_principal("GROUP", "8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6d").is_ok());
        assert!(check_principal("ROLE", "8b1d2c5a-6b1f-4a2e-9c3d-1e2f3a4b5c6d").is_err());
        assert!(check_principal("USER", "alice@example.com").is_err());
    }
}
