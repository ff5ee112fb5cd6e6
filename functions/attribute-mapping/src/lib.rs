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
use aws_config::SdkConfig;
use custom_resource::OWNER_TAG_STACK_ID;
use custom_resource::{CustomResource, Failure, Outcome, Request, Step, Update};
use identity_center::access::session_name;
use identity_center::model::{
    ATTRIBUTE_INCLUDED, ApplicationInstance, AttributeSchema, AttributeSource, ResponseConfig,
    ResponseSchemaConfig, SUBJECT_REQUIRED, SessionDuration, SubjectSchema,
};
use identity_center::{
    ApplicationArn, Caller, ConsoleClient, ConsoleResultExt, IdentityCenter, IdentityCenterRole,
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
/// The NameID format of the default `SubjectFormat`, `emailAddress`.
const DEFAULT_NAME_ID_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// `SubjectFormat` values and the NameID format URNs they stand for.
const SUBJECT_FORMATS: [(&str, &str); 4] = [
    (
        "unspecified",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    ),
    (
        "emailAddress",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    ),
    (
        "persistent",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    ),
    (
        "transient",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    ),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Properties {
    pub application_arn: String,
    #[serde(default)]
    pub identity_center_region: Option<String>,
    pub relay_state: String,
    #[serde(default)]
    pub session_duration: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub subject_format: Option<String>,
    #[serde(default)]
    pub role_session_name: Option<String>,
    pub role_arn: String,
    pub saml_provider_arn: String,
    #[serde(default)]
    pub additional_attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub identity_center_role_arn: Option<String>,
    #[serde(default)]
    pub identity_center_external_id: Option<identity_center::access::ExternalId>,
}

/// What the properties ask of the application, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mapping {
    application: ApplicationArn,
    subject: String,
    name_id_format: &'static str,
    /// SAML attribute name → value, Role and RoleSessionName included.
    attributes: BTreeMap<String, String>,
    session_duration: SessionDuration,
    relay_state: String,
}

impl Properties {
    fn mapping(&self) -> anyhow::Result<Mapping> {
        let application = ApplicationArn::parse(self.application_arn.trim()).with_context(|| {
            format!(
                "invalid property ApplicationArn: '{}' is not an Identity Center application ARN (arn:aws:sso::<account>:application/ssoins-…/apl-…)",
                self.application_arn
            )
        })?;
        if let Some(region) = given(&self.identity_center_region) {
            identity_center::check_region("IdentityCenterRegion", region)?;
        }
        let relay_state = self.relay_state.trim();
        match url::Url::parse(relay_state) {
            Ok(url) if url.scheme() == "https" && url.host_str().is_some() => {}
            _ => bail!(
                "invalid property RelayState: '{relay_state}' is not an https URL (Amazon Connect's is https://<region>.console.aws.amazon.com/connect/federate/<instance-id>)"
            ),
        }
        let session_duration = match given(&self.session_duration) {
            None => DEFAULT_SESSION_DURATION,
            Some(text) => SessionDuration::parse(text).with_context(|| {
                format!(
                    "invalid property SessionDuration: '{text}' is not one of the session durations Identity Center offers: whole hours PT1H, PT2H, … PT12H"
                )
            })?,
        };
        let subject_format = given(&self.subject_format).unwrap_or("emailAddress");
        let name_id_format = SUBJECT_FORMATS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(subject_format))
            .map(|(_, urn)| *urn)
            .with_context(|| {
                let accepted: Vec<&str> = SUBJECT_FORMATS.iter().map(|(name, _)| *name).collect();
                format!(
                    "invalid property SubjectFormat: '{subject_format}' is not one of {}",
                    accepted.join(", ")
                )
            })?;
        let role = iam_arn("RoleArn", &self.role_arn, "role/")?;
        let provider = iam_arn("SamlProviderArn", &self.saml_provider_arn, "saml-provider/")?;
        // Both belong to the Connect account (IAM's AssumeRoleWithSAML needs the role and the
        // provider side by side); Identity Center may well be in another one.
        if role.0 != provider.0 || role.1 != provider.1 {
            bail!(
                "invalid properties RoleArn and SamlProviderArn: the role {} (account {}) and the SAML provider {} (account {}) must be in the same account, the Amazon Connect account",
                self.role_arn.trim(),
                role.1,
                self.saml_provider_arn.trim(),
                provider.1
            );
        }
        self.identity_center_role()?;
        let mut attributes = BTreeMap::new();
        for (name, value) in &self.additional_attributes {
            if name.trim().is_empty() || value.trim().is_empty() {
                bail!(
                    "invalid property AdditionalAttributes: '{name}' → '{value}': names and values must not be empty"
                );
            }
            if [ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE].contains(&name.as_str()) {
                bail!(
                    "invalid property AdditionalAttributes: '{name}' is set by RoleArn/SamlProviderArn or RoleSessionName; remove it here"
                );
            }
            attributes.insert(name.clone(), value.clone());
        }
        attributes.insert(ROLE_ATTRIBUTE.to_owned(), self.role_attribute());
        let session_name = given(&self.role_session_name).unwrap_or(USER_EMAIL);
        attributes.insert(
            ROLE_SESSION_NAME_ATTRIBUTE.to_owned(),
            session_name.to_owned(),
        );
        Ok(Mapping {
            application,
            subject: given(&self.subject).unwrap_or(USER_EMAIL).to_owned(),
            name_id_format,
            attributes,
            session_duration,
            relay_state: relay_state.to_owned(),
        })
    }

    /// The role to assume for the Identity Center calls, if any.
    fn identity_center_role(&self) -> anyhow::Result<Option<IdentityCenterRole>> {
        IdentityCenterRole::from_properties(
            self.identity_center_role_arn.as_deref(),
            self.identity_center_external_id.as_deref(),
        )
    }

    /// `<RoleArn>,<SamlProviderArn>`: what IAM expects in the Role attribute.
    fn role_attribute(&self) -> String {
        format!("{},{}", self.role_arn.trim(), self.saml_provider_arn.trim())
    }

    /// The attribute names these properties set, whether or not they are valid.
    fn attribute_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.additional_attributes.keys().cloned().collect();
        names.extend([
            ROLE_ATTRIBUTE.to_owned(),
            ROLE_SESSION_NAME_ATTRIBUTE.to_owned(),
        ]);
        names
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
        let region = given(&properties.identity_center_region)
            .map(str::to_owned)
            .or_else(|| {
                self.identity_center
                    .region()
                    .map(|region| region.as_ref().to_owned())
            })
            .context("no IdentityCenterRegion given and the function has no AWS region")?;
        let caller = Caller::select(
            &self.sts,
            properties.identity_center_role()?.as_ref(),
            &session_name(request.stack_name(), &request.logical_resource_id),
            request.stack_account(),
        )
        .await?;
        IdentityCenter::for_caller(&self.identity_center, &caller, &region)
    }

    /// Writes the mapping, first taking out the attributes `previously` set.
    async fn apply(
        &self,
        request: &Request,
        properties: &Properties,
        previously: &[String],
    ) -> anyhow::Result<Outcome> {
        let mapping = properties.mapping()?;
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
        for (name, value) in &mapping.attributes {
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
        response.unconfirmed.relay_state = Some(mapping.relay_state.clone());
        schema.subject = Some(SubjectSchema {
            include: SUBJECT_REQUIRED.to_owned(),
            name_id_format: mapping.name_id_format.to_owned(),
        });
        write(console, &instance_id, &response, &schema).await?;
        Ok(
            Outcome::new(format!("{}{PHYSICAL_ID_SUFFIX}", mapping.application))
                .with("RoleAttribute", properties.role_attribute())
                .with("RelayState", mapping.relay_state)
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
        let same_application =
            mapped_application(&update.physical_resource_id).is_some_and(|current| {
                Some(current) == ApplicationArn::parse(update.new.application_arn.trim())
            });
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
        let ours = properties.mapping().ok();
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
            let subject = ours
                .as_ref()
                .map_or(USER_EMAIL, |mapping| mapping.subject.as_str());
            response.subject = Some(AttributeSource::of(subject));
        }
        if response.ttl.is_none() {
            let duration = ours
                .as_ref()
                .map_or(DEFAULT_SESSION_DURATION, |mapping| mapping.session_duration);
            response.ttl = Some(duration.to_string());
        }
        if schema.subject.is_none() {
            schema.subject = Some(SubjectSchema {
                include: SUBJECT_REQUIRED.to_owned(),
                name_id_format: ours
                    .as_ref()
                    .map_or(DEFAULT_NAME_ID_FORMAT, |mapping| mapping.name_id_format)
                    .to_owned(),
            });
        }
        match write(console, &instance_id, &response, &schema).await {
            Err(error)
                if error
                    .downcast_ref::<identity_center::ConsoleError>()
                    .is_some_and(|e| e.is_not_found()) =>
            {
                Ok(Step::Done(()))
            }
            other => Ok(Step::Done(other?)),
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
        Some((_, stack)) if *stack == request.stack_id => Ok(Ownership::Ours),
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

/// Values, then formats (their keys match), each as a whole object.
async fn write(
    console: &ConsoleClient,
    instance_id: &str,
    response: &ResponseConfig,
    schema: &ResponseSchemaConfig,
) -> anyhow::Result<()> {
    console
        .update_response_config(instance_id, response)
        .await
        .during("writing the attribute values, relay state and session duration")?;
    console
        .update_response_schema_config(instance_id, schema)
        .await
        .during("writing the attribute formats")?;
    Ok(())
}

/// The application an `<ApplicationArn>/attribute-mapping` id names.
fn mapped_application(physical_resource_id: &str) -> Option<ApplicationArn> {
    ApplicationArn::parse(physical_resource_id.strip_suffix(PHYSICAL_ID_SUFFIX)?)
}

/// Checks `arn:<partition>:iam::<account>:<resource_prefix><name>`; (partition, account).
fn iam_arn<'a>(
    property: &str,
    text: &'a str,
    resource_prefix: &str,
) -> anyhow::Result<(&'a str, &'a str)> {
    let text = text.trim();
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix(resource_prefix)
            .is_some_and(|name| !name.is_empty() && !name.contains(','));
    if !valid {
        bail!(
            "invalid property {property}: '{text}' is not an IAM ARN of the form arn:aws:iam::<account>:{resource_prefix}<name>"
        );
    }
    Ok((parts[1], parts[4]))
}

fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
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
