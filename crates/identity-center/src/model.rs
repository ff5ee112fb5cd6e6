//! Requests and responses of the console API (SWBService, JSON 1.1, camelCase fields), as the
//! reference documents them. Only the fields this project uses are modelled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::unconfirmed::{UnconfirmedResponseFields, UnconfirmedServiceProviderFields};

/// The template of a custom SAML 2.0 application (HIGH confidence).
pub const CUSTOM_SAML_TEMPLATE_ID: &str = "tpl-50e590700beb5208";
/// The SAML binding of an assertion consumer service.
pub const HTTP_POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// `include` of the subject in a response schema.
pub const SUBJECT_REQUIRED: &str = "REQUIRED";
/// `include` of an attribute in a response schema.
pub const ATTRIBUTE_INCLUDED: &str = "YES";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Enabled,
    Disabled,
}

/// An application instance as `GetApplicationInstance` and `ListApplicationInstances` return it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationInstance {
    /// `ins-<16 hex>`; the application's `apl-` id has the same hex.
    pub instance_id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub display: Option<DisplayData>,
    #[serde(default)]
    pub template: Option<Template>,
    #[serde(default)]
    pub identity_provider_config: Option<IdentityProviderConfig>,
    #[serde(default)]
    pub service_provider_config: Option<ServiceProviderConfig>,
    #[serde(default)]
    pub response_config: Option<ResponseConfig>,
    #[serde(default)]
    pub response_schema_config: Option<ResponseSchemaConfig>,
}

impl ApplicationInstance {
    pub fn display_name(&self) -> Option<&str> {
        self.display
            .as_ref()
            .map(|display| display.display_name.as_str())
    }

    pub fn template_id(&self) -> Option<&str> {
        self.template
            .as_ref()
            .and_then(|template| template.template_id.as_deref())
    }

    pub fn metadata_url(&self) -> Option<&str> {
        self.identity_provider_config
            .as_ref()
            .and_then(|idp| idp.metadata_url.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisplayData {
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    #[serde(default)]
    pub template_id: Option<String>,
    /// Note AWS's casing: `sSOProtocol`.
    #[serde(default, rename = "sSOProtocol")]
    pub sso_protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProviderConfig {
    #[serde(default)]
    pub metadata_url: Option<String>,
    #[serde(default)]
    pub issuer_url: Option<String>,
}

/// The service provider side: where assertions go (ACS URL) and for whom (audience).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub consumers: Vec<Consumer>,
    #[serde(default)]
    pub require_request_signature: bool,
    #[serde(flatten)]
    pub unconfirmed: UnconfirmedServiceProviderFields,
}

impl ServiceProviderConfig {
    /// One HTTP-POST assertion consumer service at `acs_url`, for `audience`.
    pub fn saml(acs_url: &str, audience: &str) -> Self {
        Self {
            audience: audience.to_owned(),
            consumers: vec![Consumer {
                location: acs_url.to_owned(),
                binding: HTTP_POST_BINDING.to_owned(),
                default_value: true,
            }],
            require_request_signature: false,
            unconfirmed: UnconfirmedServiceProviderFields::default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumer {
    pub location: String,
    pub binding: String,
    #[serde(default)]
    pub default_value: bool,
}

/// Attribute *values*, session duration and relay state of the assertion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<AttributeSource>,
    /// SAML attribute name, exactly as emitted → its value.
    #[serde(default)]
    pub properties: BTreeMap<String, AttributeSource>,
    /// Session duration, ISO 8601 (`PT12H`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(flatten)]
    pub unconfirmed: UnconfirmedResponseFields,
}

/// A value: an Identity Center expression such as `${user:email}` or a literal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeSource {
    pub source: Vec<String>,
}

impl AttributeSource {
    pub fn of(value: impl Into<String>) -> Self {
        Self {
            source: vec![value.into()],
        }
    }
}

/// Attribute *formats*; its `properties` keys match the response config's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseSchemaConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<SubjectSchema>,
    #[serde(default)]
    pub properties: BTreeMap<String, AttributeSchema>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectSchema {
    pub include: String,
    pub name_id_format: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeSchema {
    pub attr_name_format: String,
    pub include: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub profile_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

// Request and response envelopes.

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateApplicationInstanceRequest<'a> {
    pub template_id: &'a str,
    pub name: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceIdRequest<'a> {
    pub instance_id: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationInstanceResponse {
    pub application_instance: ApplicationInstance,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListApplicationInstancesResponse {
    #[serde(default)]
    pub application_instances: Vec<ApplicationInstance>,
    #[serde(default)]
    pub marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateDisplayDataRequest<'a> {
    pub instance_id: &'a str,
    pub display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateServiceProviderConfigRequest<'a> {
    pub instance_id: &'a str,
    pub service_provider_config: &'a ServiceProviderConfig,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateResponseConfigRequest<'a> {
    pub instance_id: &'a str,
    pub response_config: &'a ResponseConfig,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateResponseSchemaConfigRequest<'a> {
    pub instance_id: &'a str,
    pub response_schema_config: &'a ResponseSchemaConfig,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateStatusRequest<'a> {
    pub instance_id: &'a str,
    pub status: Status,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListProfilesRequest<'a> {
    pub instance_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListProfilesResponse {
    /// Note: `applicationProfiles`, not `profiles`.
    #[serde(default)]
    pub application_profiles: Vec<Profile>,
    #[serde(default)]
    pub marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteProfileRequest<'a> {
    pub instance_id: &'a str,
    pub profile_id: &'a str,
}

/// Bodies of calls whose answer carries nothing we use.
#[derive(Debug, Deserialize)]
pub(crate) struct Ignored {}
