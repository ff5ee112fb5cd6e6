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
//! - `SessionDuration`: ISO 8601, `PT1H` to `PT12H`; default `PT12H`.
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
//! `RelayState`.
//!
//! Values are passed verbatim. `${user:email}` is an Identity Center expression, not a
//! CloudFormation one: in a template write it as a plain string (`Subject: "${user:email}"`,
//! CloudFormation leaves strings outside `!Sub` alone), or inside `!Sub` escape it as
//! `${!user:email}` (`!Sub` turns `${!x}` into a literal `${x}`).
//!
//! The response config and response schema config are written as whole objects, merged with what
//! the application already has: attributes this resource did not set are kept. Delete removes
//! what it set (its attributes, the subject, the relay state and the session duration).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use aws_config::SdkConfig;
use custom_resource::{CustomResource, Outcome, Request, Update};
use identity_center::access::session_name;
use identity_center::model::{
    ATTRIBUTE_INCLUDED, AttributeSchema, AttributeSource, ResponseConfig, ResponseSchemaConfig,
    SUBJECT_REQUIRED, SubjectSchema,
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
pub const DEFAULT_SESSION_DURATION: &str = "PT12H";
const ATTRIBUTE_NAME_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";
const PHYSICAL_ID_SUFFIX: &str = "/attribute-mapping";

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
    pub identity_center_external_id: Option<String>,
}

/// What the properties ask of the application, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mapping {
    application: ApplicationArn,
    subject: String,
    name_id_format: &'static str,
    /// SAML attribute name → value, Role and RoleSessionName included.
    attributes: BTreeMap<String, String>,
    session_duration: String,
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
        let session_duration = given(&self.session_duration).unwrap_or(DEFAULT_SESSION_DURATION);
        match duration_seconds(session_duration) {
            Some(seconds) if (3600..=43200).contains(&seconds) => {}
            _ => bail!(
                "invalid property SessionDuration: '{session_duration}' is not an ISO 8601 duration from PT1H to PT12H (such as PT8H or PT90M)"
            ),
        }
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
            session_duration: session_duration.to_owned(),
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

    /// The console API of the home region, signed as the role the properties name (or the
    /// function).
    async fn console(
        &self,
        request: &Request,
        properties: &Properties,
    ) -> anyhow::Result<ConsoleClient> {
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
        Ok(IdentityCenter::for_caller(&self.identity_center, &caller, &region)?.console)
    }

    /// Writes the mapping, first taking out the attributes `previously` set.
    async fn apply(
        &self,
        request: &Request,
        properties: &Properties,
        previously: &[String],
    ) -> anyhow::Result<Outcome> {
        let mapping = properties.mapping()?;
        let console = self.console(request, properties).await?;
        let instance_id = mapping.application.console_id();
        let application = match console.get_application_instance(&instance_id).await {
            Ok(application) => application,
            Err(error) if error.is_not_found() => {
                let destination = console.destination();
                // Identity Center answers a call from the wrong account as "not found".
                let hint = match &destination.account {
                    Some(called) if *called != mapping.application.account => format!(
                        " (the application's ARN names account {}, the call went to account {called}: if Identity Center is in account {}, set IdentityCenterRoleArn to a role there)",
                        mapping.application.account, mapping.application.account
                    ),
                    _ => String::new(),
                };
                bail!(
                    "invalid property ApplicationArn: application {} does not exist in {destination}: {}{hint}",
                    mapping.application,
                    error.message,
                )
            }
            Err(error) => return Err(error.into()),
        };
        let mut response = application.response_config.unwrap_or_default();
        let mut schema = application.response_schema_config.unwrap_or_default();
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
        response.ttl = Some(mapping.session_duration.clone());
        response.unconfirmed.relay_state = Some(mapping.relay_state.clone());
        schema.subject = Some(SubjectSchema {
            include: SUBJECT_REQUIRED.to_owned(),
            name_id_format: mapping.name_id_format.to_owned(),
        });
        write(&console, &instance_id, &response, &schema).await?;
        Ok(
            Outcome::new(format!("{}{PHYSICAL_ID_SUFFIX}", mapping.application))
                .with("RoleAttribute", properties.role_attribute())
                .with("RelayState", mapping.relay_state),
        )
    }
}

impl CustomResource for AttributeMapping {
    type Properties = Properties;

    async fn create(&self, request: &Request, properties: Properties) -> anyhow::Result<Outcome> {
        self.apply(request, &properties, &[]).await
    }

    async fn update(
        &self,
        request: &Request,
        update: Update<Properties>,
    ) -> anyhow::Result<Outcome> {
        let same_application =
            mapped_application(&update.physical_resource_id).is_some_and(|current| {
                Some(current) == ApplicationArn::parse(update.new.application_arn.trim())
            });
        if !same_application {
            // Another application: a replacement; CloudFormation's Delete clears the old one.
            return self.apply(request, &update.new, &[]).await;
        }
        let previously = update
            .old
            .as_ref()
            .map(Properties::attribute_names)
            .unwrap_or_default();
        self.apply(request, &update.new, &previously).await
    }

    async fn delete(
        &self,
        request: &Request,
        physical_resource_id: &str,
        properties: Properties,
    ) -> anyhow::Result<()> {
        let Some(application) = mapped_application(physical_resource_id) else {
            tracing::info!(%physical_resource_id, "not an attribute-mapping id: nothing of ours to clear");
            return Ok(());
        };
        let console = self.console(request, &properties).await?;
        let instance_id = application.console_id();
        let current = match console.get_application_instance(&instance_id).await {
            Ok(current) => current,
            Err(error) if error.is_not_found() => {
                tracing::info!(%application, "the application is already gone");
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        let mut response = current.response_config.unwrap_or_default();
        let mut schema = current.response_schema_config.unwrap_or_default();
        for name in properties.attribute_names() {
            response.properties.remove(&name);
            schema.properties.remove(&name);
        }
        response.subject = None;
        response.ttl = None;
        response.unconfirmed.relay_state = None;
        schema.subject = None;
        match write(&console, &instance_id, &response, &schema).await {
            Err(error)
                if error
                    .downcast_ref::<identity_center::ConsoleError>()
                    .is_some_and(|e| e.is_not_found()) =>
            {
                Ok(())
            }
            other => other,
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

/// Seconds in an ISO 8601 time duration `PT[nH][nM][nS]`.
fn duration_seconds(text: &str) -> Option<u64> {
    let mut rest = text.strip_prefix("PT")?;
    let mut total = 0u64;
    let mut units = "HMS";
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].chars().next()?;
        let position = units.find(unit)?;
        let value: u64 = rest[..digits].parse().ok()?;
        total = total.checked_add(value.checked_mul([3600, 60, 1][3 - units.len() + position])?)?;
        units = &units[position + 1..];
        rest = &rest[digits + 1..];
    }
    Some(total)
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
    fn durations_in_seconds() {
        assert_eq!(duration_seconds("PT1H"), Some(3600));
        assert_eq!(duration_seconds("PT12H"), Some(43200));
        assert_eq!(duration_seconds("PT1H30M"), Some(5400));
        assert_eq!(duration_seconds("PT90M"), Some(5400));
        assert_eq!(duration_seconds("PT3600S"), Some(3600));
        for bad in [
            "PT99999999999999999999H",
            "PT9999999999999999H",
            "",
            "PT",
            "P1D",
            "PT1M1H",
            "PTH",
            "PT1",
            "1H",
            "PT1H1H",
            "pt1h",
        ] {
            assert_eq!(duration_seconds(bad), None, "{bad}");
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
