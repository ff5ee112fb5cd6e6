//! `Custom::IdentityCenterAttributeMapping`: the guide's step 4 on an Identity Center SAML
//! application: the assertion's subject and attributes (Role, RoleSessionName, any others), the
//! relay state that lands the user in Amazon Connect, and the session duration.
//!
//! Properties:
//! - `ApplicationArn` (required): the application (`!GetAtt App.ApplicationArn`).
//! - `IdentityCenterRegion`: its home region; default: the function's region.
//! - `RelayState` (required): an https URL; for Connect
//!   `https://<region>.console.aws.amazon.com/connect/federate/<instance-id>`, optionally with a
//!   URL-encoded `?destination=%2Fagent-app-v2`.
//! - `SessionDuration`: whole hours as the console offers them, `PT1H` to `PT12H`; default `PT12H`.
//! - `Subject`: default `${user:email}`; `SubjectFormat`: `unspecified` | `emailAddress` |
//!   `persistent` | `transient`, default `emailAddress`.
//! - `RoleSessionName`: default `${user:email}`; it must equal the Connect user name exactly.
//! - `RoleArn`, `SamlProviderArn` (required): the Role attribute is `<RoleArn>,<SamlProviderArn>`.
//!   Both live in the Amazon Connect account, which need not be the Identity Center account:
//!   they must be in the same account as each other, whatever account this function calls.
//! - `AdditionalAttributes`: map of SAML attribute name → value or expression.
//! - `IdentityCenterRoleArn`, `IdentityCenterExternalId`: a role in the Identity Center account,
//!   assumed for the console API calls when Identity Center lives in another account (see
//!   docs/cross-account.md). Default: the function's own role.
//!
//! Physical id: `<ApplicationArn>/attribute-mapping`. `Fn::GetAtt` keys: `RoleAttribute`,
//! `RelayState`, `ExistingConfigurationRead` (`true`, or `false` when Identity Center did not show
//! the application's current attribute configuration, so attributes set outside this stack could
//! not be kept).
//!
//! Only an application this stack made is touched: it must carry the ownership tag naming this
//! stack (identity-center-app sets it). Any other is refused with no write.
//!
//! Values are passed verbatim. `${user:email}` is an Identity Center expression, not a
//! CloudFormation one: in a template write it as a plain string (`Subject: "${user:email}"`,
//! CloudFormation leaves strings outside `!Sub` alone), or inside `!Sub` escape it as
//! `${!user:email}` (`!Sub` turns `${!x}` into a literal `${x}`).
//!
//! The response config and response schema config are written as whole objects, merged with what
//! the application already has: attributes this resource did not set are kept. No public source
//! confirms that GetApplicationInstance shows them (docs/identity-center-console-api.md): when it
//! does not, this resource's mapping is applied as the whole configuration and the log and the
//! `ExistingConfigurationRead` output say so. Delete removes its attributes and the relay state,
//! and writes back a complete configuration: the subject and session duration are kept.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use arn::{Region, RoleArn, SamlProviderArn};
use aws_config::SdkConfig;
use custom_resource::OWNER_TAG_STACK_ID;
use custom_resource::lenient;
use custom_resource::value::{HttpsUrl, NonBlank};
use custom_resource::{CustomResource, Failure, Outcome, Request, Step, Update};
use identity_center::access::{ExternalId, session_name};
use identity_center::model::{
    ATTRIBUTE_INCLUDED, ApplicationInstance, AttributeSchema, AttributeSource, ResponseConfig,
    ResponseSchemaConfig, SUBJECT_REQUIRED, SessionDuration, SubjectSchema,
};
use identity_center::{
    ApplicationArn, Caller, ConsoleClient, ConsoleError, IdentityCenter, IdentityCenterRole,
};
use serde::Deserialize;

/// The SAML attribute naming the IAM role and SAML provider to assume.
pub const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
/// The SAML attribute that becomes the session name: the Amazon Connect user name.
pub const ROLE_SESSION_NAME_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
/// The default subject and session name: the user's email address in Identity Center.
pub const USER_EMAIL: &str = "${user:email}";
/// Amazon Connect's own session lasts twelve hours.
pub const DEFAULT_SESSION_DURATION: SessionDuration = SessionDuration::LONGEST;
const ATTRIBUTE_NAME_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";
const PHYSICAL_ID_SUFFIX: &str = "/attribute-mapping";

/// The `SubjectFormat` property: the NameID formats Identity Center offers (any case accepted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SubjectFormat {
    Unspecified,
    #[default]
    EmailAddress,
    Persistent,
    Transient,
}

impl SubjectFormat {
    const ALL: [Self; 4] = [
        Self::Unspecified,
        Self::EmailAddress,
        Self::Persistent,
        Self::Transient,
    ];

    /// The property value naming it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::EmailAddress => "emailAddress",
            Self::Persistent => "persistent",
            Self::Transient => "transient",
        }
    }

    /// The NameID format URN it stands for.
    pub fn name_id_format(self) -> &'static str {
        match self {
            Self::Unspecified => "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            Self::EmailAddress => "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            Self::Persistent => "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            Self::Transient => "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        }
    }
}

impl TryFrom<String> for SubjectFormat {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let accepted: Vec<&str> = Self::ALL.iter().map(|format| format.name()).collect();
                format!("'{text}' is not one of {}", accepted.join(", "))
            })
    }
}

/// The `RoleArn` property: an IAM role that can be named in the SAML Role attribute
/// (`<role>,<provider>`), so without a comma in its name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct FederationRole(RoleArn);

impl TryFrom<String> for FederationRole {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let role: RoleArn = text.parse().map_err(|error: arn::Invalid| error.0)?;
        if role.as_str().contains(',') {
            return Err(format!(
                "'{role}' holds a ',', which the SAML Role attribute (<role ARN>,<provider ARN>) cannot carry"
            ));
        }
        Ok(Self(role))
    }
}

/// The `AdditionalAttributes` property: SAML attribute name → value or expression, both non-blank,
/// never the Role or RoleSessionName attribute (other properties set those).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "BTreeMap<NonBlank, NonBlank>")]
pub struct AdditionalAttributes(BTreeMap<NonBlank, NonBlank>);

impl TryFrom<BTreeMap<NonBlank, NonBlank>> for AdditionalAttributes {
    type Error = String;
    fn try_from(attributes: BTreeMap<NonBlank, NonBlank>) -> Result<Self, String> {
        match attributes
            .keys()
            .find(|name| [ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE].contains(&name.as_str()))
        {
            Some(name) => Err(format!(
                "'{name}' is set by RoleArn/SamlProviderArn or RoleSessionName; remove it here"
            )),
            None => Ok(Self(attributes)),
        }
    }
}

/// The properties as CloudFormation gives them, each checked by its type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct GivenProperties {
    application_arn: ApplicationArn,
    #[serde(default, deserialize_with = "lenient::given")]
    identity_center_region: Option<Region>,
    relay_state: HttpsUrl,
    #[serde(default, deserialize_with = "lenient::given")]
    session_duration: Option<SessionDuration>,
    #[serde(default, deserialize_with = "lenient::given")]
    subject: Option<NonBlank>,
    #[serde(default, deserialize_with = "lenient::given")]
    subject_format: Option<SubjectFormat>,
    #[serde(default, deserialize_with = "lenient::given")]
    role_session_name: Option<NonBlank>,
    role_arn: FederationRole,
    saml_provider_arn: SamlProviderArn,
    #[serde(default)]
    additional_attributes: AdditionalAttributes,
    #[serde(default, deserialize_with = "lenient::given")]
    identity_center_role_arn: Option<RoleArn>,
    #[serde(default, deserialize_with = "lenient::given")]
    identity_center_external_id: Option<ExternalId>,
}

/// What the properties ask of the application, defaults applied and checked together.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "GivenProperties")]
pub struct Properties {
    pub application: ApplicationArn,
    pub identity_center_region: Option<Region>,
    /// The role to assume for the Identity Center calls, if any.
    pub identity_center_role: Option<IdentityCenterRole>,
    pub relay_state: HttpsUrl,
    pub session_duration: SessionDuration,
    pub subject: String,
    pub subject_format: SubjectFormat,
    pub role_session_name: String,
    pub role: RoleArn,
    pub saml_provider: SamlProviderArn,
    pub additional_attributes: AdditionalAttributes,
}

impl TryFrom<GivenProperties> for Properties {
    type Error = String;
    fn try_from(given: GivenProperties) -> Result<Self, String> {
        let FederationRole(role) = given.role_arn;
        let provider = given.saml_provider_arn;
        // Both belong to the Connect account (IAM's AssumeRoleWithSAML needs the role and the
        // provider side by side); Identity Center may well be in another one.
        if role.account() != provider.account() {
            return Err(format!(
                "RoleArn and SamlProviderArn must be in the same account, the Amazon Connect account: the role {role} is in account {}, the SAML provider {provider} in account {}",
                role.account(),
                provider.account()
            ));
        }
        Ok(Self {
            application: given.application_arn,
            identity_center_region: given.identity_center_region,
            identity_center_role: IdentityCenterRole::from_parts(
                given.identity_center_role_arn,
                given.identity_center_external_id,
            )?,
            relay_state: given.relay_state,
            session_duration: given.session_duration.unwrap_or(DEFAULT_SESSION_DURATION),
            subject: given.subject.map_or(USER_EMAIL.to_owned(), String::from),
            subject_format: given.subject_format.unwrap_or_default(),
            role_session_name: given
                .role_session_name
                .map_or(USER_EMAIL.to_owned(), String::from),
            role,
            saml_provider: provider,
            additional_attributes: given.additional_attributes,
        })
    }
}

impl Properties {
    /// `<RoleArn>,<SamlProviderArn>`: what IAM expects in the Role attribute.
    fn role_attribute(&self) -> String {
        format!("{},{}", self.role, self.saml_provider)
    }

    /// SAML attribute name → value, Role and RoleSessionName included.
    fn attributes(&self) -> BTreeMap<String, String> {
        let mut attributes: BTreeMap<String, String> = self
            .additional_attributes
            .0
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        attributes.insert(ROLE_ATTRIBUTE.to_owned(), self.role_attribute());
        attributes.insert(
            ROLE_SESSION_NAME_ATTRIBUTE.to_owned(),
            self.role_session_name.clone(),
        );
        attributes
    }

    /// The attribute names these properties set.
    fn attribute_names(&self) -> Vec<String> {
        self.attributes().into_keys().collect()
    }
}

pub struct AttributeMapping {
    identity_center: SdkConfig,
    sts: SdkConfig,
}

impl AttributeMapping {
    /// `identity_center` serves the console API (its region is the default home region).
    pub fn new(identity_center: SdkConfig) -> Self {
        Self {
            sts: identity_center.clone(),
            identity_center,
        }
    }

    /// The function's own configuration, with which `IdentityCenterRoleArn` is assumed (default:
    /// the `identity_center` one; tests point it at moto's STS).
    pub fn with_sts(mut self, sts: SdkConfig) -> Self {
        self.sts = sts;
        self
    }

    pub async fn from_env() -> anyhow::Result<Self> {
        Ok(Self::new(https_client::sdk::load_config().await))
    }

    /// The Identity Center APIs of the home region, signed as the role the properties name (or
    /// the function).
    async fn identity_center(
        &self,
        request: &Request,
        properties: &Properties,
    ) -> anyhow::Result<IdentityCenter> {
        let region = properties
            .identity_center_region
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| {
                self.identity_center
                    .region()
                    .map(|region| region.as_ref().to_owned())
            })
            .context("no IdentityCenterRegion given and the function has no AWS region")?;
        let caller = Caller::select(
            &self.sts,
            properties.identity_center_role.as_ref(),
            &session_name(
                request.owner.stack_name(),
                &request.owner.logical_resource_id,
            ),
            request.owner.stack_account(),
        )
        .await?;
        Ok(
            IdentityCenter::for_caller(&self.identity_center, &caller, &region)?
                .until(request.respond_by),
        )
    }

    /// Writes the mapping, first taking out the attributes `previously` set.
    async fn apply(
        &self,
        request: &Request,
        properties: &Properties,
        previously: &[String],
    ) -> anyhow::Result<Outcome> {
        let mapping = properties;
        let identity_center = self.identity_center(request, properties).await?;
        let console = &identity_center.console;
        match ownership(&identity_center, request, &mapping.application, true).await? {
            Ownership::Ours => {}
            Ownership::Gone => bail!(
                "invalid property ApplicationArn: application {} does not exist in {}: Identity Center does not know it (deleted, or in another instance or account){}",
                mapping.application,
                identity_center.destination(),
                wrong_account_hint(identity_center.destination(), &mapping.application)
            ),
            Ownership::NotOurs(owner) => bail!(
                "invalid property ApplicationArn: application {} was not made by this stack ({owner}): attribute mappings are only written on an application this stack's Custom::IdentityCenterSamlApp made; nothing was changed",
                mapping.application
            ),
        }
        let instance_id = mapping.application.console_id();
        let application = match console.get_application_instance(&instance_id).await {
            Ok(application) => application,
            Err(error) if error.is_not_found() => {
                let destination = console.destination();
                bail!(
                    "invalid property ApplicationArn: application {} does not exist in {destination}: {}{}",
                    mapping.application,
                    error.message,
                    wrong_account_hint(destination, &mapping.application)
                )
            }
            Err(error) => return Err(error.into()),
        };
        let existing_read = existing_configuration(&application, &mapping.application);
        let (mut response, mut schema) = existing_read.clone().unwrap_or_default();
        for name in previously {
            response.properties.remove(name);
            schema.properties.remove(name);
        }
        for (name, value) in mapping.attributes() {
            response
                .properties
                .insert(name.clone(), AttributeSource::of(value));
            schema.properties.insert(
                name.clone(),
                AttributeSchema {
                    attr_name_format: ATTRIBUTE_NAME_FORMAT.to_owned(),
                    include: ATTRIBUTE_INCLUDED.to_owned(),
                },
            );
        }
        response.subject = Some(AttributeSource::of(&mapping.subject));
        response.ttl = Some(mapping.session_duration.to_string());
        response.unconfirmed.relay_state = Some(mapping.relay_state.to_string());
        schema.subject = Some(SubjectSchema {
            include: SUBJECT_REQUIRED.to_owned(),
            name_id_format: mapping.subject_format.name_id_format().to_owned(),
        });
        write(console, &instance_id, &response, &schema)
            .await
            .map_err(WriteFailed::into_error)?;
        Ok(
            Outcome::new(format!("{}{PHYSICAL_ID_SUFFIX}", mapping.application))
                .with("RoleAttribute", properties.role_attribute())
                .with("RelayState", &mapping.relay_state)
                .with("ExistingConfigurationRead", existing_read.is_some()),
        )
    }
}

impl CustomResource for AttributeMapping {
    type Properties = Properties;
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &["IdentityCenterExternalId"];

    async fn create(&self, request: &Request, properties: Properties) -> Result<Step, Failure> {
        Ok(self.apply(request, &properties, &[]).await?.into())
    }

    async fn update(&self, request: &Request, update: Update<Properties>) -> Result<Step, Failure> {
        let same_application = mapped_application(&update.physical_resource_id)
            .is_some_and(|current| current == update.new.application);
        if !same_application {
            // Another application: a replacement; CloudFormation's Delete clears the old one.
            return Ok(self.apply(request, &update.new, &[]).await?.into());
        }
        let previously = update
            .old
            .as_ref()
            .map(Properties::attribute_names)
            .unwrap_or_default();
        Ok(self.apply(request, &update.new, &previously).await?.into())
    }

    async fn delete(
        &self,
        request: &Request,
        physical_resource_id: &str,
        properties: Properties,
    ) -> Result<Step<()>, Failure> {
        let Some(application) = mapped_application(physical_resource_id) else {
            tracing::info!(%physical_resource_id, "not an attribute-mapping id: nothing of ours to clear");
            return Ok(Step::Done(()));
        };
        let identity_center = self.identity_center(request, &properties).await?;
        match ownership(&identity_center, request, &application, false).await? {
            Ownership::Ours => {}
            Ownership::Gone => {
                tracing::info!(%application, "the application is already gone, or its Identity Center instance is");
                return Ok(Step::Done(()));
            }
            Ownership::NotOurs(owner) => {
                tracing::warn!(%application, owner, "the application was not made by this stack: nothing of it is cleared");
                return Ok(Step::Done(()));
            }
        }
        let console = &identity_center.console;
        let instance_id = application.console_id();
        let current = match console.get_application_instance(&instance_id).await {
            Ok(current) => current,
            Err(error) if error.is_not_found() => {
                tracing::info!(%application, "the application is already gone");
                return Ok(Step::Done(()));
            }
            Err(error) => return Err(anyhow::Error::from(error).into()),
        };
        let (mut response, mut schema) =
            existing_configuration(&current, &application).unwrap_or_default();
        for name in properties.attribute_names() {
            response.properties.remove(&name);
            schema.properties.remove(&name);
        }
        response.unconfirmed.relay_state = None;
        // A complete configuration: the subject and session duration stay (those this resource
        // wrote when nothing else can be read), never a reduced object the service may refuse
        // or take as a reset.
        if response.subject.is_none() {
            response.subject = Some(AttributeSource::of(&properties.subject));
        }
        if response.ttl.is_none() {
            response.ttl = Some(properties.session_duration.to_string());
        }
        if schema.subject.is_none() {
            schema.subject = Some(SubjectSchema {
                include: SUBJECT_REQUIRED.to_owned(),
                name_id_format: properties.subject_format.name_id_format().to_owned(),
            });
        }
        match write(console, &instance_id, &response, &schema).await {
            Err(failed) if failed.error.is_not_found() => Ok(Step::Done(())),
            Err(failed) => Err(failed.into_error().into()),
            Ok(()) => Ok(Step::Done(())),
        }
    }
}

/// Identity Center answers a call from the wrong account as "not found": say which account.
fn wrong_account_hint(
    destination: &identity_center::Destination,
    application: &ApplicationArn,
) -> String {
    match &destination.account {
        Some(called) if *called != application.account => format!(
            " (the application's ARN names account {}, the call went to account {called}: if Identity Center is in account {}, set IdentityCenterRoleArn to a role there)",
            application.account, application.account
        ),
        _ => String::new(),
    }
}

/// Whether this stack made the application.
enum Ownership {
    Ours,
    /// The application, or its Identity Center instance, does not exist (or is not visible).
    Gone,
    /// Made by someone else: what its ownership tag says, for the reason.
    NotOurs(String),
}

/// Reads the application's ownership tag (identity-center-app tags what it makes with the stack
/// id). `wait`: an application not yet visible to sso-admin (just created) is waited for.
async fn ownership(
    identity_center: &IdentityCenter,
    request: &Request,
    application: &ApplicationArn,
    wait: bool,
) -> anyhow::Result<Ownership> {
    let instance_arn = format!(
        "arn:{}:sso:::instance/{}",
        application.partition, application.instance
    );
    let instances = identity_center.instances().await?;
    if !instances
        .iter()
        .any(|instance| application.is_in_instance(&instance.arn))
    {
        return Ok(Ownership::Gone);
    }
    let application_arn = application.to_string();
    let mut tags = identity_center
        .tags(&instance_arn, &application_arn)
        .await?;
    // The console API sees a new application at once, sso-admin eventually: wait only for one
    // that exists.
    let exists = || async {
        match identity_center
            .console
            .get_application_instance(&application.console_id())
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.is_not_found() => Ok(false),
            Err(error) => Err(anyhow::Error::new(error)),
        }
    };
    if tags.is_none() && wait && exists().await? {
        if let Err(error) = identity_center
            .wait_until_visible(&instance_arn, &application_arn)
            .await
        {
            tracing::info!(error = %error, "the application did not appear");
            return Ok(Ownership::Gone);
        }
        tags = identity_center
            .tags(&instance_arn, &application_arn)
            .await?;
    }
    let Some(tags) = tags else {
        return Ok(Ownership::Gone);
    };
    match tags.iter().find(|(key, _)| key == OWNER_TAG_STACK_ID) {
        Some((_, stack)) if *stack == request.owner.stack_id => Ok(Ownership::Ours),
        Some((_, stack)) => Ok(Ownership::NotOurs(format!(
            "its {OWNER_TAG_STACK_ID} tag names {stack}"
        ))),
        None => Ok(Ownership::NotOurs(format!(
            "it has no {OWNER_TAG_STACK_ID} tag"
        ))),
    }
}

/// The application's current response and schema configuration, or `None` (said in the log)
/// when GetApplicationInstance does not show both: then nobody can tell what others set.
fn existing_configuration(
    application: &ApplicationInstance,
    arn: &ApplicationArn,
) -> Option<(ResponseConfig, ResponseSchemaConfig)> {
    match (
        &application.response_config,
        &application.response_schema_config,
    ) {
        (Some(response), Some(schema)) => Some((response.clone(), schema.clone())),
        _ => {
            tracing::warn!(application = %arn, "GetApplicationInstance did not show the application's responseConfig and responseSchemaConfig: its current attribute configuration cannot be read, so this resource's mapping is written as the whole configuration and attributes set outside this stack, if any, are not kept");
            None
        }
    }
}

/// A write that failed: which one, and the console API's error (kept typed, so that a Delete can
/// tell an application already gone).
struct WriteFailed {
    during: &'static str,
    error: ConsoleError,
}

impl WriteFailed {
    fn into_error(self) -> anyhow::Error {
        anyhow::Error::new(self.error).context(self.during)
    }
}

/// Values, then formats (their keys match), each as a whole object.
async fn write(
    console: &ConsoleClient,
    instance_id: &str,
    response: &ResponseConfig,
    schema: &ResponseSchemaConfig,
) -> Result<(), WriteFailed> {
    let failed = |during: &'static str| move |error: ConsoleError| WriteFailed { during, error };
    console
        .update_response_config(instance_id, response)
        .await
        .map_err(failed(
            "writing the attribute values, relay state and session duration",
        ))?;
    console
        .update_response_schema_config(instance_id, schema)
        .await
        .map_err(failed("writing the attribute formats"))?;
    Ok(())
}

/// The application an `<ApplicationArn>/attribute-mapping` id names.
fn mapped_application(physical_resource_id: &str) -> Option<ApplicationArn> {
    ApplicationArn::parse(physical_resource_id.strip_suffix(PHYSICAL_ID_SUFFIX)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_durations_are_whole_hours_from_one_to_twelve() {
        for (text, hours) in [("PT1H", 1), ("PT8H", 8), ("PT12H", 12)] {
            let duration = SessionDuration::parse(text).unwrap();
            assert_eq!(
                (duration.hours(), duration.to_string()),
                (hours, text.to_owned())
            );
        }
        for bad in [
            "PT0H",
            "PT13H",
            "PT90M",
            "PT1H30M",
            "PT3600S",
            "PT01H",
            "",
            "PT",
            "P1D",
            "pt1h",
            "PT99999999999999999999H",
            "1H",
        ] {
            assert_eq!(SessionDuration::parse(bad), None, "{bad}");
        }
    }

    fn parse(patch: serde_json::Value) -> Result<Properties, String> {
        let mut properties = serde_json::json!({
            "ApplicationArn": "arn:aws:sso::123456789012:application/ssoins-7223abcd12345678/apl-72236face0cd1203",
            "RelayState": "https://us-east-1.console.aws.amazon.com/connect/federate/1",
            "RoleArn": "arn:aws:iam::210987654321:role/Connect-SSO",
            "SamlProviderArn": "arn:aws:iam::210987654321:saml-provider/IdentityCenter",
        });
        properties
            .as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        custom_resource::parse_properties(&properties)
    }

    #[test]
    fn defaults_follow_the_guide_and_subject_formats_are_an_enumeration() {
        let properties = parse(serde_json::json!({"SessionDuration": " ", "Subject": ""})).unwrap();
        assert_eq!(properties.session_duration, DEFAULT_SESSION_DURATION);
        assert_eq!(properties.subject, USER_EMAIL);
        assert_eq!(properties.subject_format, SubjectFormat::EmailAddress);
        assert_eq!(
            properties.attributes()[ROLE_ATTRIBUTE],
            "arn:aws:iam::210987654321:role/Connect-SSO,arn:aws:iam::210987654321:saml-provider/IdentityCenter"
        );
        let persistent = parse(serde_json::json!({"SubjectFormat": "PERSISTENT"})).unwrap();
        assert_eq!(
            persistent.subject_format.name_id_format(),
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
        );
        let error = parse(serde_json::json!({"SubjectFormat": "email"})).unwrap_err();
        assert_eq!(
            error,
            "invalid property SubjectFormat: 'email' is not one of unspecified, emailAddress, persistent, transient"
        );
    }

    #[test]
    fn the_role_and_provider_share_one_account_and_no_comma() {
        let error = parse(serde_json::json!({
            "SamlProviderArn": "arn:aws:iam::111111111111:saml-provider/IdentityCenter"
        }))
        .unwrap_err();
        assert!(
            error.starts_with(
                "invalid properties: RoleArn and SamlProviderArn must be in the same account"
            ),
            "{error}"
        );
        let error = parse(serde_json::json!({"RoleArn": "arn:aws:iam::210987654321:role/a,b"}))
            .unwrap_err();
        assert!(
            error.starts_with(
                "invalid property RoleArn: 'arn:aws:iam::210987654321:role/a,b' holds a ','"
            ),
            "{error}"
        );
    }

    #[test]
    fn additional_attributes_are_non_blank_and_never_the_role_attributes() {
        let error =
            parse(serde_json::json!({"AdditionalAttributes": {ROLE_SESSION_NAME_ATTRIBUTE: "x"}}))
                .unwrap_err();
        assert!(
            error.starts_with(&format!(
                "invalid property AdditionalAttributes: '{ROLE_SESSION_NAME_ATTRIBUTE}' is set by"
            )),
            "{error}"
        );
        let error = parse(serde_json::json!({"AdditionalAttributes": {"Email": " "}})).unwrap_err();
        assert_eq!(
            error,
            "invalid property AdditionalAttributes.Email: it must not be empty"
        );
        let properties =
            parse(serde_json::json!({"AdditionalAttributes": {"Email": "${user:email}"}})).unwrap();
        assert_eq!(properties.attribute_names().len(), 3);
    }

    #[test]
    fn physical_ids_name_the_application() {
        let arn =
            "arn:aws:sso::123456789012:application/ssoins-7223abcd12345678/apl-72236face0cd1203";
        assert_eq!(
            mapped_application(&format!("{arn}/attribute-mapping"))
                .unwrap()
                .to_string(),
            arn
        );
        assert_eq!(mapped_application(arn), None);
        assert_eq!(
            mapped_application("custom-resource:create-failed:Mapping:1"),
            None
        );
    }
}
