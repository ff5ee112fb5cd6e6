//! The console control-plane API (SWBService, `POST /control/`), as docs/identity-center-console-api.md §3 describes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::state::{Application, CUSTOM_SAML_TEMPLATE_ID, Profile, State};
use crate::wire::{ApiError, ErrorKind, page, parse, random_hex};
use crate::{RELAY_STATE_FIELD, START_URL_FIELD};

/// Every SWBService operation the emulator answers; anything else is UnknownOperationException.
pub(crate) const OPERATIONS: &[&str] = &[
    "CreateApplicationInstance",
    "GetApplicationInstance",
    "ListApplicationInstances",
    "UpdateApplicationInstanceDisplayData",
    "UpdateApplicationInstanceServiceProviderConfiguration",
    "UpdateApplicationInstanceResponseConfiguration",
    "UpdateApplicationInstanceResponseSchemaConfiguration",
    "UpdateApplicationInstanceStatus",
    "ListProfiles",
    "DeleteProfile",
    "DeleteApplicationInstance",
    "ListApplicationTemplates",
];

const SAML_BINDING_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:bindings:";
const NAME_ID_FORMAT_PREFIXES: [&str; 2] = [
    "urn:oasis:names:tc:SAML:1.1:nameid-format:",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:",
];
const ATTRIBUTE_NAME_FORMAT_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:";
/// `include` values seen in AWS implementations are `REQUIRED` (subject) and `YES` (properties);
/// `NO` is the obvious third (docs/identity-center-console-api.md §3.5, MED/LOW).
const INCLUDE_VALUES: [&str; 3] = ["REQUIRED", "YES", "NO"];
/// The catalog id of the custom SAML 2.0 application (docs/identity-center-console-api.md §2, MED).
const CUSTOM_SAML_CATALOG_APP_ID: &str = "app-520727d4117d1647";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateApplicationInstance {
    template_id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ByInstanceId {
    instance_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListProfiles {
    instance_id: String,
    marker: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListApplicationInstances {
    marker: Option<String>,
    /// Shape unknown (docs/identity-center-console-api.md §3.9); accepted and ignored.
    #[allow(dead_code)]
    filter: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DisplayData {
    instance_id: String,
    display_name: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServiceProviderConfigRequest {
    instance_id: String,
    service_provider_config: Value,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServiceProviderConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumers: Option<Vec<Consumer>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    require_request_signature: Option<bool>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Consumer {
    location: String,
    binding: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResponseConfigRequest {
    instance_id: String,
    response_config: Value,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResponseConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<BTreeMap<String, Source>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResponseSchemaConfigRequest {
    instance_id: String,
    response_schema_config: ResponseSchemaConfig,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResponseSchemaConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<SubjectSchema>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<BTreeMap<String, PropertySchema>>,
    /// Read-only echo of the template (LOW); accepted and ignored.
    #[serde(skip_serializing)]
    #[allow(dead_code)]
    supported_name_id_formats: Option<Vec<String>>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubjectSchema {
    include: String,
    name_id_format: String,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PropertySchema {
    attr_name_format: String,
    include: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusRequest {
    instance_id: String,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeleteProfile {
    instance_id: String,
    profile_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListApplicationTemplates {
    application_id: Option<String>,
}

/// Answers one console operation. `region` is the SigV4 scope region: the console API acts on the
/// instance whose home Region that is.
pub(crate) fn handle(
    state: &mut State,
    region: &str,
    operation: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    match operation {
        "CreateApplicationInstance" => {
            let request: CreateApplicationInstance = parse(operation, body)?;
            if request.template_id != CUSTOM_SAML_TEMPLATE_ID {
                return Err(ApiError::not_found(format!(
                    "Application template {} does not exist (the emulator knows only the custom SAML 2.0 template {CUSTOM_SAML_TEMPLATE_ID})",
                    request.template_id
                )));
            }
            if request.name.trim().is_empty() {
                return Err(ApiError::validation("name must not be empty"));
            }
            let instance = state.instance_in_region(region)?;
            let mut application = Application::new(instance, request.name, request.template_id);
            application.invisible_reads = state.consistency_lag;
            // ASSUMPTION `create-answer-shape`: only `applicationInstance.instanceId` is known.
            let wire = if state.answers.full_create_answer {
                state.wire(&application)
            } else {
                json!({ "instanceId": application.instance_id() })
            };
            state.applications.push(application);
            Ok(json!({ "applicationInstance": wire }))
        }
        "GetApplicationInstance" => {
            let request: ByInstanceId = parse(operation, body)?;
            let index = find(state, region, &request.instance_id)?;
            Ok(json!({ "applicationInstance": state.wire(&state.applications[index]) }))
        }
        "ListApplicationInstances" => {
            let request: ListApplicationInstances = parse(operation, body)?;
            let instance_arn = state.instance_in_region(region)?.arn.clone();
            let mut visible = Vec::new();
            for (index, application) in state.applications.iter_mut().enumerate() {
                if application.instance_arn == instance_arn && !application.take_invisible_read() {
                    visible.push(index);
                }
            }
            let all: Vec<Value> = visible
                .into_iter()
                .map(|index| state.wire(&state.applications[index]))
                .collect();
            let (items, marker) = page(&all, request.marker.as_deref(), state.page_size, "marker")?;
            let mut response = json!({ "applicationInstances": items });
            if let Some(marker) = marker {
                response["marker"] = json!(marker);
            }
            Ok(response)
        }
        "UpdateApplicationInstanceDisplayData" => {
            let request: DisplayData = parse(operation, body)?;
            if request.display_name.trim().is_empty() {
                return Err(ApiError::validation("displayName must not be empty"));
            }
            let index = find(state, region, &request.instance_id)?;
            let application = &mut state.applications[index];
            application.display_name = Some(request.display_name);
            application.description = request.description;
            Ok(json!({}))
        }
        "UpdateApplicationInstanceServiceProviderConfiguration" => {
            let request: ServiceProviderConfigRequest = parse(operation, body)?;
            let config = service_provider_config(operation, request.service_provider_config)?;
            let index = find(state, region, &request.instance_id)?;
            // Whole-object replace (docs/identity-center-console-api.md §3.3, LOW).
            state.applications[index].service_provider_config = config;
            Ok(json!({}))
        }
        "UpdateApplicationInstanceResponseConfiguration" => {
            let request: ResponseConfigRequest = parse(operation, body)?;
            let config = response_config(operation, request.response_config)?;
            let index = find(state, region, &request.instance_id)?;
            state.applications[index].response_config = config;
            Ok(json!({}))
        }
        "UpdateApplicationInstanceResponseSchemaConfiguration" => {
            let request: ResponseSchemaConfigRequest = parse(operation, body)?;
            let config = response_schema_config(&request.response_schema_config)?;
            let index = find(state, region, &request.instance_id)?;
            state.applications[index].response_schema_config = config;
            Ok(json!({}))
        }
        "UpdateApplicationInstanceStatus" => {
            let request: StatusRequest = parse(operation, body)?;
            if request.status != "ENABLED" && request.status != "DISABLED" {
                return Err(ApiError::validation(format!(
                    "status '{}' is not one of ENABLED, DISABLED",
                    request.status
                )));
            }
            let index = find(state, region, &request.instance_id)?;
            state.applications[index].status = request.status;
            Ok(json!({}))
        }
        "ListProfiles" => {
            // Paged by `marker` like ListApplicationInstances (ASSUMPTION `profiles-paged`: no
            // source shows a ListProfiles marker; a client that follows one copes either way).
            let request: ListProfiles = parse(operation, body)?;
            let index = find(state, region, &request.instance_id)?;
            let profiles: Vec<Value> = state.applications[index]
                .profiles
                .iter()
                .map(|p| json!({ "profileId": p.id, "name": p.name, "status": p.status }))
                .collect();
            let (items, marker) = page(
                &profiles,
                request.marker.as_deref(),
                state.page_size,
                "marker",
            )?;
            let mut response = json!({ "applicationProfiles": items });
            if let Some(marker) = marker {
                response["marker"] = json!(marker);
            }
            Ok(response)
        }
        "DeleteProfile" => {
            let request: DeleteProfile = parse(operation, body)?;
            let index = find(state, region, &request.instance_id)?;
            let application = &mut state.applications[index];
            let Some(position) = application
                .profiles
                .iter()
                .position(|p| p.id == request.profile_id)
            else {
                return Err(ApiError::not_found(format!(
                    "Profile {} does not exist in application instance {}",
                    request.profile_id, request.instance_id
                )));
            };
            application.profiles.remove(position);
            Ok(json!({}))
        }
        "DeleteApplicationInstance" => {
            let request: ByInstanceId = parse(operation, body)?;
            let index = find(state, region, &request.instance_id)?;
            // ASSUMPTION (MED): ASY says every profile "must" be deleted first; the actual error
            // is not publicly recorded, ConflictException is this emulator's choice.
            if !state.applications[index].profiles.is_empty() {
                return Err(ApiError::conflict(format!(
                    "Application instance {} still has profiles; delete them before the application instance",
                    request.instance_id
                )));
            }
            state.applications.remove(index);
            Ok(json!({}))
        }
        "ListApplicationTemplates" => {
            // Reference §3.12: request `applicationId` (MED), response key `applicationTemplates`
            // (MED/LOW). Only the custom SAML 2.0 catalog app is known here.
            let request: ListApplicationTemplates = parse(operation, body)?;
            let templates = match request.application_id.as_deref() {
                Some(CUSTOM_SAML_CATALOG_APP_ID) | None => {
                    vec![json!({ "templateId": CUSTOM_SAML_TEMPLATE_ID, "sSOProtocol": "SAML" })]
                }
                Some(_) => Vec::new(),
            };
            Ok(json!({ "applicationTemplates": templates }))
        }
        _ => Err(unknown_operation(operation)),
    }
}

pub(crate) fn unknown_operation(target: &str) -> ApiError {
    ApiError::new(
        400,
        ErrorKind::Coral("UnknownOperationException"),
        format!("Unknown operation '{target}'"),
    )
}

/// Finds an application instance by `ins-…` id in the caller's home Region.
fn find(state: &State, region: &str, instance_id: &str) -> Result<usize, ApiError> {
    let hex = instance_id
        .strip_prefix("ins-")
        .filter(|hex| {
            !hex.is_empty()
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        .ok_or_else(|| {
            ApiError::validation(format!(
                "instanceId '{instance_id}' does not match ins-[a-f0-9]+"
            ))
        })?;
    state
        .applications
        .iter()
        .position(|a| a.hex == hex && a.home_region == region)
        .ok_or_else(|| {
            ApiError::not_found(format!("Application instance {instance_id} does not exist"))
        })
}

/// Takes the LOW-confidence member `name` out of `object` (so the typed parse can deny unknown
/// members), checking it is a string.
fn take_string_member(
    operation: &str,
    object: &mut Value,
    parent: &str,
    name: &str,
) -> Result<Option<String>, ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::validation(format!(
            "Invalid {operation} request at '{parent}': expected an object"
        )));
    };
    match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(other) => Err(ApiError::validation(format!(
            "Invalid {operation} request at '{parent}.{name}': expected a string, got {other}"
        ))),
    }
}

fn prefixed_parse<T: serde::de::DeserializeOwned>(
    operation: &str,
    parent: &str,
    value: Value,
) -> Result<T, ApiError> {
    parse(operation, &value).map_err(|mut error| {
        error.message = error
            .message
            .replacen(" at '", &format!(" at '{parent}."), 1);
        if !error.message.contains(&format!("'{parent}")) {
            error.message =
                error
                    .message
                    .replacen(" request", &format!(" request at '{parent}'"), 1);
        }
        error
    })
}

fn service_provider_config(operation: &str, mut raw: Value) -> Result<Value, ApiError> {
    const PARENT: &str = "serviceProviderConfig";
    let start_url = take_string_member(operation, &mut raw, PARENT, START_URL_FIELD)?;
    let config: ServiceProviderConfig = prefixed_parse(operation, PARENT, raw)?;
    for (i, consumer) in config.consumers.iter().flatten().enumerate() {
        check_url(
            &format!("{PARENT}.consumers[{i}].location"),
            &consumer.location,
        )?;
        if !consumer.binding.starts_with(SAML_BINDING_PREFIX) {
            return Err(ApiError::validation(format!(
                "{PARENT}.consumers[{i}].binding '{}' is not a SAML 2.0 binding URN ({SAML_BINDING_PREFIX}...)",
                consumer.binding
            )));
        }
    }
    if let Some(url) = start_url.as_deref().filter(|url| !url.is_empty()) {
        check_url(&format!("{PARENT}.{START_URL_FIELD}"), url)?;
    }
    let mut stored =
        serde_json::to_value(&config).map_err(|e| ApiError::validation(e.to_string()))?;
    if let (Some(url), Some(map)) = (start_url, stored.as_object_mut()) {
        map.insert(START_URL_FIELD.to_string(), Value::String(url));
    }
    Ok(stored)
}

fn response_config(operation: &str, mut raw: Value) -> Result<Value, ApiError> {
    const PARENT: &str = "responseConfig";
    let relay_state = take_string_member(operation, &mut raw, PARENT, RELAY_STATE_FIELD)?;
    let config: ResponseConfig = prefixed_parse(operation, PARENT, raw)?;
    if let Some(subject) = &config.subject {
        check_source(&format!("{PARENT}.subject.source"), subject)?;
    }
    for (name, source) in config.properties.iter().flatten() {
        if name.is_empty() {
            return Err(ApiError::validation(format!(
                "{PARENT}.properties has an empty attribute name"
            )));
        }
        check_source(&format!("{PARENT}.properties.{name}.source"), source)?;
    }
    if let Some(ttl) = &config.ttl {
        check_duration(&format!("{PARENT}.ttl"), ttl)?;
    }
    if let Some(relay_state) = relay_state.as_deref().filter(|r| !r.is_empty()) {
        check_url(&format!("{PARENT}.{RELAY_STATE_FIELD}"), relay_state)?;
    }
    let mut stored =
        serde_json::to_value(&config).map_err(|e| ApiError::validation(e.to_string()))?;
    if let (Some(relay_state), Some(map)) = (relay_state, stored.as_object_mut()) {
        map.insert(RELAY_STATE_FIELD.to_string(), Value::String(relay_state));
    }
    Ok(stored)
}

fn response_schema_config(config: &ResponseSchemaConfig) -> Result<Value, ApiError> {
    const PARENT: &str = "responseSchemaConfig";
    if let Some(subject) = &config.subject {
        check_include(&format!("{PARENT}.subject.include"), &subject.include)?;
        if !NAME_ID_FORMAT_PREFIXES
            .iter()
            .any(|p| subject.name_id_format.starts_with(p))
        {
            return Err(ApiError::validation(format!(
                "{PARENT}.subject.nameIdFormat '{}' is not a SAML NameID format URN (e.g. urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress)",
                subject.name_id_format
            )));
        }
    }
    for (name, property) in config.properties.iter().flatten() {
        check_include(
            &format!("{PARENT}.properties.{name}.include"),
            &property.include,
        )?;
        if !property
            .attr_name_format
            .starts_with(ATTRIBUTE_NAME_FORMAT_PREFIX)
        {
            return Err(ApiError::validation(format!(
                "{PARENT}.properties.{name}.attrNameFormat '{}' is not a SAML attribute name format URN ({ATTRIBUTE_NAME_FORMAT_PREFIX}...)",
                property.attr_name_format
            )));
        }
    }
    serde_json::to_value(config).map_err(|e| ApiError::validation(e.to_string()))
}

fn check_include(path: &str, include: &str) -> Result<(), ApiError> {
    if INCLUDE_VALUES.contains(&include) {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "{path} '{include}' is not one of {}",
            INCLUDE_VALUES.join(", ")
        )))
    }
}

fn check_source(path: &str, source: &Source) -> Result<(), ApiError> {
    if source.source.is_empty() {
        return Err(ApiError::validation(format!("{path} must hold one value")));
    }
    Ok(())
}

fn check_url(path: &str, value: &str) -> Result<(), ApiError> {
    match url::Url::parse(value) {
        Ok(url) if url.scheme() == "https" || url.scheme() == "http" => Ok(()),
        _ => Err(ApiError::validation(format!(
            "{path} '{value}' is not an http(s) URL"
        ))),
    }
}

/// ISO 8601 time durations such as `PT1H`, `PT12H`, `PT90M`. The accepted range is unknown
/// (docs/identity-center-console-api.md §3.4, LOW), so only the format is checked.
fn check_duration(path: &str, value: &str) -> Result<(), ApiError> {
    let invalid = || {
        ApiError::validation(format!(
            "{path} '{value}' is not an ISO 8601 duration such as PT1H"
        ))
    };
    let rest = value.strip_prefix("PT").ok_or_else(invalid)?;
    let mut digits = String::new();
    let mut units_seen = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if matches!(c, 'H' | 'M' | 'S') && !digits.is_empty() && !units_seen.contains(c) {
            // H before M before S.
            if units_seen.chars().any(|u| "HMS".find(u) >= "HMS".find(c)) {
                return Err(invalid());
            }
            units_seen.push(c);
            digits.clear();
        } else {
            return Err(invalid());
        }
    }
    if units_seen.is_empty() || !digits.is_empty() {
        return Err(invalid());
    }
    Ok(())
}

/// Profiles are created implicitly by the first assignment (docs/identity-center-console-api.md §3.10, MED).
pub(crate) fn ensure_default_profile(application: &mut Application) {
    if application.profiles.is_empty() {
        application.profiles.push(Profile {
            id: format!("p-{}", random_hex(16)),
            name: "Default".to_string(),
            status: "ENABLED".to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for ok in ["PT1H", "PT12H", "PT90M", "PT1H30M", "PT45S"] {
            assert!(check_duration("ttl", ok).is_ok(), "{ok}");
        }
        for bad in ["1H", "PT", "PTH", "PT1M1H", "P1D", "PT1H1H", "PT1", "pt1h"] {
            assert!(check_duration("ttl", bad).is_err(), "{bad}");
        }
    }
}
