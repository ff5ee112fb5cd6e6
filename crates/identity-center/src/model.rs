//! Requests and responses of the console API (SWBService, JSON 1.1, camelCase fields), as
//! docs/identity-center-console-api.md describes them. Only the fields this project uses are
//! modelled.
//!
//! Answers are read leniently: no public source describes every application the console API can
//! list (AWS-managed ones included), so apart from the `instanceId` every field is optional, a
//! field of an unexpected shape reads as absent (and is logged), and unknown fields are ignored.
//! Requests are written completely, with what every public caller sends.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

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
    /// The `name` given to CreateApplicationInstance. ASSUMPTION `console-echoes-instance-name`
    /// (LOW): only the Huawei Cloud port of this API shows it in answers.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub display: Option<DisplayData>,
    #[serde(default, deserialize_with = "lenient")]
    pub template: Option<Template>,
    #[serde(default, deserialize_with = "lenient")]
    pub identity_provider_config: Option<IdentityProviderConfig>,
    #[serde(default, deserialize_with = "lenient")]
    pub service_provider_config: Option<ServiceProviderConfig>,
    /// ASSUMPTION `get-returns-response-config` (LOW): no AWS caller reads it; absent means
    /// "cannot be read", never "empty".
    #[serde(default, deserialize_with = "lenient")]
    pub response_config: Option<ResponseConfig>,
    /// Same assumption as `response_config`.
    #[serde(default, deserialize_with = "lenient")]
    pub response_schema_config: Option<ResponseSchemaConfig>,
}

/// An optional field of an answer: absent, `null` or of an unexpected shape all read as `None`
/// (the last one logged), so one odd field never fails a whole operation.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    match serde_json::from_value(value) {
        Ok(parsed) => Ok(Some(parsed)),
        Err(error) => {
            tracing::warn!(%error, field = std::any::type_name::<T>(), "an answer field of an unexpected shape is ignored");
            Ok(None)
        }
    }
}

/// Reads the items of a list answer one by one: an item without an `instanceId` (or not an
/// object) is skipped with a log line instead of failing the whole list.
pub(crate) fn readable_instances(items: Vec<Value>) -> Vec<ApplicationInstance> {
    items
        .into_iter()
        .filter_map(
            |item| match serde_json::from_value::<ApplicationInstance>(item) {
                Ok(application) => Some(application),
                Err(error) => {
                    tracing::warn!(%error, "skipping an application instance that cannot be read");
                    None
                }
            },
        )
        .collect()
}

impl ApplicationInstance {
    /// The display name; `None` when absent or empty (a freshly created application has none).
    pub fn display_name(&self) -> Option<&str> {
        self.display
            .as_ref()
            .map(|display| display.display_name.as_str())
            .filter(|name| !name.is_empty())
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
    #[serde(default)]
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
                // What every public caller of the AWS service sends for its one consumer.
                default_value: false,
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
    /// Session duration, ISO 8601 (`PT12H`); as read it may hold anything, written it is a
    /// [`SessionDuration`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(flatten)]
    pub unconfirmed: UnconfirmedResponseFields,
}

/// A session duration the console offers: whole hours from one to twelve, written `PT<n>H` as
/// every public example shows it. No other value can be held; as a property it is read with
/// [`SessionDuration::parse`] and refused naming what is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct SessionDuration(u8);

impl SessionDuration {
    pub const SHORTEST_HOURS: u8 = 1;
    pub const LONGEST_HOURS: u8 = 12;
    /// Amazon Connect's own session lasts twelve hours.
    pub const LONGEST: Self = Self(Self::LONGEST_HOURS);

    pub fn from_hours(hours: u8) -> Option<Self> {
        (Self::SHORTEST_HOURS..=Self::LONGEST_HOURS)
            .contains(&hours)
            .then_some(Self(hours))
    }

    pub fn hours(self) -> u8 {
        self.0
    }

    /// `PT<n>H` with `n` from 1 to 12 (upper-case `PT` and `H`, no leading zero); `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix("PT")?.strip_suffix('H')?;
        if digits.is_empty()
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Self::from_hours(digits.parse().ok()?)
    }
}

impl TryFrom<String> for SessionDuration {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim();
        Self::parse(text).ok_or_else(|| {
            format!(
                "'{text}' is not one of the session durations Identity Center offers: whole hours PT1H, PT2H, … PT12H"
            )
        })
    }
}

impl fmt::Display for SessionDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PT{}H", self.0)
    }
}

impl Serialize for SessionDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
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
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
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

/// The answer of CreateApplicationInstance and GetApplicationInstance.
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
    /// Read item by item (see [`readable_instances`]).
    #[serde(default)]
    pub application_instances: Vec<Value>,
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
    /// Note: `applicationProfiles`, not `profiles`. Read item by item, like the instances.
    #[serde(default)]
    pub application_profiles: Vec<Value>,
    #[serde(default)]
    pub marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteProfileRequest<'a> {
    pub instance_id: &'a str,
    pub profile_id: &'a str,
}

/// The profiles of a list answer that carry a `profileId`; others are skipped with a log line.
pub(crate) fn readable_profiles(items: Vec<Value>) -> Vec<Profile> {
    items
        .into_iter()
        .filter_map(|item| match serde_json::from_value::<Profile>(item) {
            Ok(profile) => Some(profile),
            Err(error) => {
                tracing::warn!(%error, "skipping a profile that cannot be read");
                None
            }
        })
        .collect()
}

/// Bodies of calls whose answer carries nothing we use.
#[derive(Debug, Deserialize)]
pub(crate) struct Ignored {}
