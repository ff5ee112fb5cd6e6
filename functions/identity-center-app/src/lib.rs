//! `Custom::IdentityCenterSamlApp`: the IAM Identity Center application of the guide's step 2
//! (a custom SAML 2.0 application with Amazon Connect's ACS URL and audience) and the assignments
//! of step 4.
//!
//! Properties:
//! - `DisplayName` (required): the application's name in Identity Center and the access portal.
//! - `Description`: shown under the name (at most 128 characters).
//! - `InstanceArn`: the Identity Center instance; default: the only one (several is an error).
//! - `IdentityCenterRegion`: the instance's home region; default: the function's region.
//! - `AcsUrl`: default `https://signin.aws.amazon.com/saml`.
//! - `Audience`: default `urn:amazon:webservices`.
//! - `AssignedGroups`, `AssignedUsers`: group display names / user names, or identity store ids.
//! - `IdentityCenterRoleArn`: a role in the account that owns the Identity Center instance, assumed
//!   for every Identity Center call (console API, sso-admin, identity store) when Identity Center
//!   lives in another account; `IdentityCenterExternalId`: the external id its trust policy asks
//!   for. Default: the function's own role. See docs/cross-account.md.
//!
//! Physical id: the application ARN. `Fn::GetAtt` keys: `ApplicationArn`, `ApplicationInstanceId`
//! (`ins-…`), `MetadataUrl` (for the IAM SAML provider), `InstanceArn`, `IdentityStoreId`.
//!
//! The application is tagged with the resource's ownership tags: only a tagged application is ever
//! adopted (a retried Create), changed or deleted. The console API cannot tag in the create call,
//! so the create's internal `name` is a marker only this resource writes (derived from the stack
//! and logical id): an attempt stopped between creating and tagging leaves an untagged application
//! the retry recognises by that marker, tags and adopts. A different instance or region is a
//! replacement.
//!
//! What the console API answers is read leniently (docs/identity-center-console-api.md):
//! applications of other kinds in the instance, of shapes never seen, are skipped, not fatal.

mod principals;

use std::collections::BTreeSet;

use anyhow::{Context, anyhow, bail};
use arn::{Region, RoleArn};
use aws_config::SdkConfig;
use custom_resource::lenient;
use custom_resource::value::{HttpsUrl, NonBlank};
use custom_resource::{CustomResource, Failure, Outcome, Request, Step, Update};
use identity_center::access::{ExternalId, session_name};
use identity_center::model::{
    ApplicationInstance, CUSTOM_SAML_TEMPLATE_ID, DisplayData, ServiceProviderConfig, Status,
};
use identity_center::{
    ApplicationArn, Caller, IdentityCenter, IdentityCenterRole, Instance, InstanceArn, Principal,
};
use serde::Deserialize;

use crate::principals::PrincipalResolver;

/// Amazon Connect's assertion consumer service (the global sign-in endpoint).
pub const DEFAULT_ACS_URL: &str = "https://signin.aws.amazon.com/saml";
/// Amazon Connect's SAML audience.
pub const DEFAULT_AUDIENCE: &str = "urn:amazon:webservices";
/// The public API's limit on an application description.
const MAX_DESCRIPTION_CHARS: usize = 128;

/// The `Description` property: at most the public API's 128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Description(String);

impl TryFrom<String> for Description {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim();
        let length = text.chars().count();
        if length > MAX_DESCRIPTION_CHARS {
            return Err(format!(
                "{length} characters, at most {MAX_DESCRIPTION_CHARS} are accepted"
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

/// The properties as CloudFormation gives them, each checked by its type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct GivenProperties {
    display_name: NonBlank,
    #[serde(default, deserialize_with = "lenient::given")]
    description: Option<Description>,
    #[serde(default, deserialize_with = "lenient::given")]
    instance_arn: Option<InstanceArn>,
    #[serde(default, deserialize_with = "lenient::given")]
    identity_center_region: Option<Region>,
    #[serde(default, deserialize_with = "lenient::given")]
    acs_url: Option<HttpsUrl>,
    #[serde(default, deserialize_with = "lenient::given")]
    audience: Option<NonBlank>,
    #[serde(default, deserialize_with = "lenient::non_blank_list")]
    assigned_groups: Vec<NonBlank>,
    #[serde(default, deserialize_with = "lenient::non_blank_list")]
    assigned_users: Vec<NonBlank>,
    #[serde(default, deserialize_with = "lenient::given")]
    identity_center_role_arn: Option<RoleArn>,
    #[serde(default, deserialize_with = "lenient::given")]
    identity_center_external_id: Option<ExternalId>,
}

/// The checked properties, defaults applied.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "GivenProperties")]
pub struct Properties {
    pub display_name: NonBlank,
    pub description: Option<Description>,
    pub instance_arn: Option<InstanceArn>,
    pub identity_center_region: Option<Region>,
    pub acs_url: String,
    pub audience: String,
    /// Group display names or ids, blanks dropped (an empty CommaDelimitedList parameter arrives
    /// as `[""]`).
    pub assigned_groups: Vec<String>,
    pub assigned_users: Vec<String>,
    /// The role to assume for the Identity Center calls, if any.
    pub identity_center_role: Option<IdentityCenterRole>,
}

impl TryFrom<GivenProperties> for Properties {
    type Error = &'static str;
    fn try_from(given: GivenProperties) -> Result<Self, Self::Error> {
        let texts = |values: Vec<NonBlank>| values.into_iter().map(String::from).collect();
        Ok(Self {
            display_name: given.display_name,
            description: given.description,
            instance_arn: given.instance_arn,
            identity_center_region: given.identity_center_region,
            acs_url: given
                .acs_url
                .map_or(DEFAULT_ACS_URL.to_owned(), String::from),
            audience: given
                .audience
                .map_or(DEFAULT_AUDIENCE.to_owned(), String::from),
            assigned_groups: texts(given.assigned_groups),
            assigned_users: texts(given.assigned_users),
            identity_center_role: IdentityCenterRole::from_parts(
                given.identity_center_role_arn,
                given.identity_center_external_id,
            )?,
        })
    }
}

/// The resource: clients are made per request, for the Identity Center home region it names and
/// with the credentials of the role it names.
pub struct IdentityCenterSamlApp {
    identity_center: SdkConfig,
    identity_store: SdkConfig,
    sts: SdkConfig,
}

impl IdentityCenterSamlApp {
    /// `identity_center` serves sso-admin and the console API, `identity_store` the identity
    /// store; both usually the same configuration (tests point them at different emulators).
    pub fn new(identity_center: SdkConfig, identity_store: SdkConfig) -> Self {
        Self {
            sts: identity_center.clone(),
            identity_center,
            identity_store,
        }
    }

    /// The function's own configuration, with which `IdentityCenterRoleArn` is assumed (default:
    /// the `identity_center` one; tests point it at moto's STS).
    pub fn with_sts(mut self, sts: SdkConfig) -> Self {
        self.sts = sts;
        self
    }

    pub async fn from_env() -> anyhow::Result<Self> {
        let config = https_client::sdk::load_config().await;
        Ok(Self::new(config.clone(), config))
    }

    /// The home region: the property, else the function's own.
    fn region(&self, properties: &Properties) -> anyhow::Result<String> {
        properties
            .identity_center_region
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| {
                self.identity_center
                    .region()
                    .map(|region| region.as_ref().to_owned())
            })
            .context("no IdentityCenterRegion given and the function has no AWS region")
    }

    /// Clients for the home `region`, signed as the role the properties name (or the function).
    async fn clients(
        &self,
        request: &Request,
        properties: &Properties,
        region: &str,
    ) -> anyhow::Result<Clients> {
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
        Ok(Clients {
            identity_center: IdentityCenter::for_caller(&self.identity_center, &caller, region)?
                .until(request.respond_by),
            identity_store: aws_sdk_identitystore::Client::new(
                &caller.config(&self.identity_store, region),
            ),
        })
    }

    /// Create, or adopt the application a previous attempt of this same Create made.
    async fn create_application(
        &self,
        request: &Request,
        properties: &Properties,
    ) -> Result<Step, Failure> {
        let clients = self
            .clients(request, properties, &self.region(properties)?)
            .await?;
        let instance =
            choose_instance(&clients.identity_center, properties.instance_arn.as_ref()).await?;
        let desired = clients
            .resolver(&instance)
            .resolve(&properties.assigned_groups, &properties.assigned_users)
            .await?;
        let application = match find_own_application(
            &clients.identity_center,
            request,
            &instance,
            &properties.display_name,
        )
        .await?
        {
            Some(application) => {
                tracing::info!(application_arn = %application, "adopting the application a previous attempt made");
                application
            }
            None => create_tagged_application(&clients.identity_center, request, &instance).await?,
        };
        let result = async {
            configure(&clients.identity_center, &application, properties).await?;
            sync_assignments(&clients.identity_center, &application, &desired, &[]).await?;
            outcome(&clients.identity_center, &application, &instance).await
        }
        .await;
        result
            .map(Step::Done)
            .map_err(|error| Failure::partially_created(application.to_string(), error))
    }
}

struct Clients {
    identity_center: IdentityCenter,
    identity_store: aws_sdk_identitystore::Client,
}

impl Clients {
    fn resolver<'a>(&'a self, instance: &'a Instance) -> PrincipalResolver<'a> {
        PrincipalResolver {
            identity_store: &self.identity_store,
            identity_store_id: &instance.identity_store_id,
            destination: self.identity_center.destination(),
        }
    }
}

impl CustomResource for IdentityCenterSamlApp {
    type Properties = Properties;
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &["IdentityCenterExternalId"];

    async fn create(&self, request: &Request, properties: Properties) -> Result<Step, Failure> {
        self.create_application(request, &properties).await
    }

    async fn update(&self, request: &Request, update: Update<Properties>) -> Result<Step, Failure> {
        let new = update.new;
        let Some(application) = ApplicationArn::parse(&update.physical_resource_id) else {
            tracing::warn!(physical_resource_id = %update.physical_resource_id, "not an application ARN: creating one");
            return self.create_application(request, &new).await;
        };
        let region = self.region(&new)?;
        let old_region = match &update.old {
            Some(old) => self.region(old)?,
            None => region.clone(),
        };
        if region != old_region {
            tracing::info!(%old_region, %region, "the Identity Center region changed: replacing the application");
            return self.create_application(request, &new).await;
        }
        let clients = self.clients(request, &new, &region).await?;
        let identity_center = &clients.identity_center;
        let instance = choose_instance(identity_center, new.instance_arn.as_ref()).await?;
        if !application.is_in_instance(&instance.arn) {
            tracing::info!(instance_arn = %instance.arn, "the Identity Center instance changed: replacing the application");
            return self.create_application(request, &new).await;
        }
        match identity_center
            .tags(&instance.arn, &application.to_string())
            .await?
        {
            None => {
                tracing::warn!(application_arn = %application, "the application is gone: creating a new one");
                return self.create_application(request, &new).await;
            }
            Some(tags)
                if !request.owner.owns(
                    tags.iter()
                        .map(|(key, value)| (key.as_str(), value.as_str())),
                ) =>
            {
                return Err(anyhow!(
                    "application {application} does not carry this resource's ownership tags: it was not made by this stack's {} and is left unchanged",
                    request.owner.logical_resource_id
                )
                .into());
            }
            Some(_) => {}
        }
        let resolver = clients.resolver(&instance);
        let desired = resolver
            .resolve(&new.assigned_groups, &new.assigned_users)
            .await?;
        let previous = match &update.old {
            Some(old) => {
                resolver
                    .resolve_existing(&old.assigned_groups, &old.assigned_users)
                    .await?
            }
            None => Vec::new(),
        };
        configure(identity_center, &application, &new).await?;
        sync_assignments(identity_center, &application, &desired, &previous).await?;
        Ok(outcome(identity_center, &application, &instance)
            .await?
            .into())
    }

    async fn delete(
        &self,
        request: &Request,
        physical_resource_id: &str,
        properties: Properties,
    ) -> Result<Step<()>, Failure> {
        let Some(application) = ApplicationArn::parse(physical_resource_id) else {
            tracing::info!(%physical_resource_id, "not an application ARN: nothing of ours to delete");
            return Ok(Step::Done(()));
        };
        let identity_center = self
            .clients(request, &properties, &self.region(&properties)?)
            .await?
            .identity_center;
        let instance_arn = format!(
            "arn:{}:sso:::instance/{}",
            application.partition, application.instance
        );
        // An application in an instance that is gone, or that these credentials cannot see, is
        // nothing this resource can still own: done, as for an application already deleted.
        let visible = identity_center.instances().await?;
        if !visible
            .iter()
            .any(|instance| application.is_in_instance(&instance.arn))
        {
            tracing::info!(%instance_arn, application_arn = %application, "the Identity Center instance of the application does not exist or is not visible here: nothing to delete");
            return Ok(Step::Done(()));
        }
        let application_arn = application.to_string();
        match identity_center
            .tags(&instance_arn, &application_arn)
            .await?
        {
            None => {
                tracing::info!(%application_arn, "the application is already gone");
                return Ok(Step::Done(()));
            }
            Some(tags)
                if !request.owner.owns(
                    tags.iter()
                        .map(|(key, value)| (key.as_str(), value.as_str())),
                ) =>
            {
                tracing::warn!(%application_arn, "the application was not made by this resource: left alone");
                return Ok(Step::Done(()));
            }
            Some(_) => {}
        }
        delete_application(&identity_center, &application).await?;
        Ok(Step::Done(()))
    }
}

/// The instance named by `InstanceArn`, else the only one there is.
async fn choose_instance(
    identity_center: &IdentityCenter,
    wanted: Option<&InstanceArn>,
) -> anyhow::Result<Instance> {
    let instances = identity_center.instances().await?;
    let listed = || {
        instances
            .iter()
            .map(|instance| instance.arn.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(arn) => instances.iter().find(|instance| instance.arn == arn.to_string()).cloned().with_context(|| {
            format!(
                "invalid property InstanceArn: no Identity Center instance {arn} in {} (found: {})",
                identity_center.destination(),
                if instances.is_empty() { "none".to_owned() } else { listed() }
            )
        }),
        None => match instances.as_slice() {
            [only] => Ok(only.clone()),
            [] => bail!(
                "no Identity Center instance in {}: if it lives in another account, set IdentityCenterRoleArn to a role there (docs/cross-account.md); in another region, set IdentityCenterRegion to its home region",
                identity_center.destination()
            ),
            _ => bail!("several Identity Center instances in {}: set InstanceArn to one of {}", identity_center.destination(), listed()),
        },
    }
}

/// The application this resource made, if there is one: tagged as ours, or untagged but carrying
/// the creation marker only this resource writes (an attempt stopped before it could tag; tagged
/// now). A same-named application without our tags or marker belongs to someone else: an error.
async fn find_own_application(
    identity_center: &IdentityCenter,
    request: &Request,
    instance: &Instance,
    display_name: &str,
) -> anyhow::Result<Option<ApplicationArn>> {
    let applications = identity_center
        .console
        .list_application_instances()
        .await
        .context("finding an existing application")?;
    let marker = creation_marker(&request.owner.stack_id, &request.owner.logical_resource_id);
    let mut foreign = Vec::new();
    for candidate in &applications {
        let named_like_ours = is_saml_app_named(candidate, display_name);
        let marked_as_ours = candidate.name.as_deref() == Some(marker.as_str());
        // A custom SAML application without display data is one stopped right after its
        // creation: ours if tagged so.
        let fresh = candidate.display_name().is_none()
            && candidate.template_id() == Some(CUSTOM_SAML_TEMPLATE_ID);
        if !(named_like_ours || marked_as_ours || fresh) {
            continue;
        }
        let Ok(arn) = application_arn(instance, &candidate.instance_id) else {
            tracing::warn!(instance_id = %candidate.instance_id, "skipping an application whose ARN cannot be built");
            continue;
        };
        let application_arn = arn.to_string();
        let tags = if marked_as_ours {
            identity_center
                .wait_until_visible(&instance.arn, &application_arn)
                .await?;
            identity_center
                .tags(&instance.arn, &application_arn)
                .await?
        } else {
            identity_center
                .tags(&instance.arn, &application_arn)
                .await?
        };
        let Some(tags) = tags else { continue };
        let owned = request.owner.owns(
            tags.iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        );
        let tagged_by_anyone = tags
            .iter()
            .any(|(key, _)| key.starts_with(OWNER_TAG_PREFIX));
        if owned {
            return Ok(Some(arn));
        }
        if marked_as_ours && !tagged_by_anyone {
            tracing::info!(%application_arn, "found the untagged application a stopped attempt made (creation marker): tagging it");
            identity_center
                .tag(
                    &instance.arn,
                    &application_arn,
                    &request.owner.ownership_tags(),
                )
                .await
                .context("tagging the application a previous attempt made")?;
            return Ok(Some(arn));
        }
        if named_like_ours {
            foreign.push(application_arn);
        }
    }
    if !foreign.is_empty() {
        bail!(
            "invalid property DisplayName: an Identity Center application named '{display_name}' already exists ({}) and was not made by this stack's {}: it belongs to someone else and is left alone; choose another DisplayName",
            foreign.join(", "),
            request.owner.logical_resource_id
        );
    }
    Ok(None)
}

/// The prefix of the ownership tag keys.
const OWNER_TAG_PREFIX: &str = "connect-sso:";

fn is_saml_app_named(application: &ApplicationInstance, display_name: &str) -> bool {
    application.display_name() == Some(display_name)
        && application.template_id() == Some(CUSTOM_SAML_TEMPLATE_ID)
}

/// The `name` this resource gives CreateApplicationInstance: a UUID (what every public caller
/// sends) derived from the stack and logical id, so that only this resource writes it and a retry
/// can recognise an application it made but could not tag.
pub fn creation_marker(stack_id: &str, logical_resource_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!(
        "connect-sso creation marker\n{stack_id}\n{logical_resource_id}"
    ));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Creates the application (named with the creation marker) and tags it at once, so that it is
/// recognised as ours from then on.
async fn create_tagged_application(
    identity_center: &IdentityCenter,
    request: &Request,
    instance: &Instance,
) -> anyhow::Result<ApplicationArn> {
    let created = identity_center
        .console
        .create_application_instance(&creation_marker(
            &request.owner.stack_id,
            &request.owner.logical_resource_id,
        ))
        .await
        .context("creating the application")?;
    let application = application_arn(instance, &created.instance_id)?;
    tracing::info!(application_arn = %application, "application created");
    let application_arn = application.to_string();
    let tagged = async {
        // sso-admin may not know the application yet (eventual consistency).
        identity_center
            .wait_until_visible(&instance.arn, &application_arn)
            .await?;
        identity_center
            .tag(
                &instance.arn,
                &application_arn,
                &request.owner.ownership_tags(),
            )
            .await
    };
    if let Err(error) = tagged.await {
        // Untagged, only its marker says it is ours: remove it while we know it is.
        if let Err(cleanup) = identity_center
            .console
            .delete_application_instance(&created.instance_id)
            .await
        {
            tracing::error!(error = %cleanup, application_arn = %application, "could not remove the untagged application");
        }
        return Err(error.context(format!("tagging the new application {application}")));
    }
    Ok(application)
}

/// Display data, service-provider side (ACS URL, audience) and status: the whole objects.
async fn configure(
    identity_center: &IdentityCenter,
    application: &ApplicationArn,
    properties: &Properties,
) -> anyhow::Result<()> {
    let console = &identity_center.console;
    let instance_id = application.console_id();
    let display = DisplayData {
        display_name: properties.display_name.to_string(),
        description: properties
            .description
            .as_ref()
            .map(|description| description.0.clone()),
    };
    console
        .update_display_data(&instance_id, &display)
        .await
        .context("setting DisplayName and Description")?;
    let service_provider = ServiceProviderConfig::saml(&properties.acs_url, &properties.audience);
    console
        .update_service_provider_config(&instance_id, &service_provider)
        .await
        .context("setting AcsUrl and Audience")?;
    console
        .update_status(&instance_id, Status::Enabled)
        .await
        .context("enabling the application")?;
    Ok(())
}

/// Assigns what is `desired` and not assigned yet; removes what was `previously` desired and no
/// longer is. Assignments made outside the stack are left alone.
async fn sync_assignments(
    identity_center: &IdentityCenter,
    application: &ApplicationArn,
    desired: &[Principal],
    previously: &[Principal],
) -> anyhow::Result<()> {
    let application_arn = application.to_string();
    let current: BTreeSet<Principal> = identity_center
        .assignments(&application_arn)
        .await?
        .into_iter()
        .collect();
    for principal in desired
        .iter()
        .filter(|principal| !current.contains(principal))
    {
        identity_center
            .assign(&application_arn, principal)
            .await
            .with_context(|| {
                format!(
                    "assigning {} {}",
                    principals::property(principal.kind),
                    principal.id
                )
            })?;
    }
    let removed = previously
        .iter()
        .filter(|principal| !desired.contains(principal) && current.contains(principal));
    for principal in removed {
        identity_center
            .unassign(&application_arn, principal)
            .await
            .with_context(|| {
                format!(
                    "removing {} {}",
                    principals::property(principal.kind),
                    principal.id
                )
            })?;
    }
    Ok(())
}

async fn outcome(
    identity_center: &IdentityCenter,
    application: &ApplicationArn,
    instance: &Instance,
) -> anyhow::Result<Outcome> {
    let instance_id = application.console_id();
    let current = identity_center
        .console
        .get_application_instance(&instance_id)
        .await
        .context("reading the metadata URL")?;
    let metadata_url = current
        .metadata_url()
        .with_context(|| {
            format!("application {instance_id} has no identityProviderConfig.metadataUrl")
        })?
        .to_owned();
    Ok(Outcome::new(application.to_string())
        .with("ApplicationArn", application)
        .with("ApplicationInstanceId", instance_id)
        .with("MetadataUrl", metadata_url)
        .with("InstanceArn", &instance.arn)
        .with("IdentityStoreId", &instance.identity_store_id))
}

/// Assignments, then profiles, then the application; what is already gone is fine.
async fn delete_application(
    identity_center: &IdentityCenter,
    application: &ApplicationArn,
) -> anyhow::Result<()> {
    let application_arn = application.to_string();
    for principal in identity_center.assignments(&application_arn).await? {
        identity_center
            .unassign(&application_arn, &principal)
            .await?;
    }
    let console = &identity_center.console;
    let instance_id = application.console_id();
    let profiles = match console.list_profiles(&instance_id).await {
        Ok(profiles) => profiles,
        Err(error) if error.is_not_found() => return Ok(()),
        Err(error) => return Err(error.into()),
    };
    for profile in profiles {
        match console
            .delete_profile(&instance_id, &profile.profile_id)
            .await
        {
            Err(error) if !error.is_not_found() => return Err(error.into()),
            _ => {}
        }
    }
    match console.delete_application_instance(&instance_id).await {
        Err(error) if !error.is_not_found() => Err(error.into()),
        _ => {
            tracing::info!(%application_arn, "application deleted");
            Ok(())
        }
    }
}

fn application_arn(instance: &Instance, instance_id: &str) -> anyhow::Result<ApplicationArn> {
    ApplicationArn::from_console_id(&instance.arn, &instance.owner_account_id, instance_id).with_context(|| {
        format!(
            "cannot build the application ARN from instance {}, account '{}' and id '{instance_id}'",
            instance.arn, instance.owner_account_id
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(properties: serde_json::Value) -> Result<Properties, String> {
        custom_resource::parse_properties(&properties)
    }

    #[test]
    fn blanks_count_as_absent_and_defaults_follow_connect() {
        let properties = parse(serde_json::json!({
            "DisplayName": " Connect ", "Description": "", "InstanceArn": "", "AcsUrl": " ",
            "AssignedGroups": [""], "IdentityCenterRoleArn": "", "IdentityCenterExternalId": ""
        }))
        .unwrap();
        assert_eq!(properties.display_name.as_str(), "Connect");
        assert_eq!(
            (properties.acs_url.as_str(), properties.audience.as_str()),
            (DEFAULT_ACS_URL, DEFAULT_AUDIENCE)
        );
        assert!(properties.assigned_groups.is_empty() && properties.identity_center_role.is_none());
    }

    #[test]
    fn each_bad_value_names_its_property() {
        for (properties, expected) in [
            (
                serde_json::json!({"DisplayName": "C", "Description": "x".repeat(129)}),
                "invalid property Description: 129 characters, at most 128 are accepted",
            ),
            (
                serde_json::json!({"DisplayName": "C", "InstanceArn": "ssoins-1"}),
                "invalid property InstanceArn: 'ssoins-1' is not an Identity Center instance ARN",
            ),
            (
                serde_json::json!({"DisplayName": "C", "IdentityCenterExternalId": "abc"}),
                "invalid properties: IdentityCenterExternalId is only used to assume IdentityCenterRoleArn",
            ),
        ] {
            let error = parse(properties).unwrap_err();
            assert!(error.starts_with(expected), "{error}");
        }
        let described =
            parse(serde_json::json!({"DisplayName": "C", "Description": "x".repeat(128)}));
        assert!(described.is_ok());
    }
}
