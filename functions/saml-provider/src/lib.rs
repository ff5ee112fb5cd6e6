//! `Custom::SamlProviderFromMetadata`: guide step 3, "create an IAM SAML identity provider from the
//! application's metadata", kept true by CloudFormation.
//!
//! IAM takes a SAML metadata document only inline and CloudFormation cannot download one, so this
//! resource fetches the Identity Center application's metadata (or takes it inline), checks it,
//! and creates or updates the IAM SAML provider made from it.
//!
//! Properties (exactly one of the first two):
//! - `MetadataUrl`: https URL of the metadata (the application's `MetadataUrl` output). A plain
//!   `http://` URL is refused unless the function runs with
//!   `CONNECT_SSO_ALLOW_HTTP_METADATA=true` ([`download::ALLOW_HTTP_ENV`]), meant only for local
//!   tests against a local metadata server.
//! - `MetadataDocument`: the metadata XML itself.
//! - `Name`: the IAM provider name, `[\w._-]{1,128}`; by default `<stack name>-<logical id>`
//!   (stable across updates). A new name replaces the provider.
//! - `Tags`: `[{Key, Value}]` added to the provider next to the ownership tags.
//!
//! Physical id: the provider ARN. `Fn::GetAtt`: `Arn`, `Name`, `CertificateExpiry` (RFC 3339, the
//! earliest signing certificate's NotAfter), `MetadataSha256`.

pub mod download;
mod iam;
pub mod metadata;
pub mod sync;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use backon::{BackoffBuilder as _, ExponentialBuilder, Retryable};
use custom_resource::lenient;
use custom_resource::{
    CustomResource, Failure, OWNER_TAG_LOGICAL_ID, OWNER_TAG_STACK_ID, Outcome, Owner, Request,
    Step, Update,
};
use https_client::retry;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use download::{ALLOW_HTTP_ENV, MetadataDownload};
pub use iam::{Iam, provider_name};
pub use metadata::Metadata;

use iam::Created;

/// Longest IAM SAML provider name.
const MAX_NAME_CHARS: usize = 128;
/// IAM allows 50 tags on a provider; two of them are the ownership tags.
const MAX_USER_TAGS: usize = 48;
/// Attempts per IAM call (the SDK's standard retry, with its backoff, on throttling and 5xx).
const IAM_MAX_ATTEMPTS: u32 = 6;
/// How long a provider IAM does not show yet may take to appear (IAM is eventually consistent).
const VISIBILITY_WAIT: Duration = Duration::from_secs(5);
/// Tag keys that only this project sets.
const RESERVED_TAG_PREFIX: &str = "connect-sso:";

/// The properties as CloudFormation gives them, each checked by its type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct GivenProperties {
    #[serde(default, deserialize_with = "lenient::given")]
    metadata_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::given")]
    metadata_document: Option<String>,
    #[serde(default, deserialize_with = "lenient::given")]
    name: Option<ProviderName>,
    #[serde(default)]
    tags: Tags,
}

/// The checked properties.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "GivenProperties")]
pub struct Properties {
    pub source: Source,
    /// `None`: the name derived from the stack and logical id ([`default_name`]).
    pub name: Option<ProviderName>,
    pub tags: Tags,
}

impl TryFrom<GivenProperties> for Properties {
    type Error = &'static str;
    fn try_from(given: GivenProperties) -> Result<Self, Self::Error> {
        let source = match (given.metadata_url, given.metadata_document) {
            (Some(url), None) => Source::Url(url),
            (None, Some(document)) => Source::Document(document),
            (Some(_), Some(_)) => {
                return Err("give exactly one of MetadataUrl or MetadataDocument, not both");
            }
            (None, None) => {
                return Err(
                    "one of MetadataUrl (the https URL of the identity provider's SAML metadata) or MetadataDocument (the metadata XML) is required",
                );
            }
        };
        Ok(Self {
            source,
            name: given.name,
            tags: given.tags,
        })
    }
}

/// Where the metadata comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Checked when fetched: `http://` is refused unless [`ALLOW_HTTP_ENV`] allows it.
    Url(String),
    Document(String),
}

/// The `Name` property: an IAM SAML provider name, 1 to 128 of letters, digits and `_.-`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ProviderName(String);

impl TryFrom<String> for ProviderName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let name = text.trim();
        if name.chars().all(is_name_char) && name.chars().count() <= MAX_NAME_CHARS {
            Ok(Self(name.to_owned()))
        } else {
            Err(format!(
                "{name:?} is not an IAM SAML provider name; use 1 to {MAX_NAME_CHARS} characters among letters, digits, '_', '.' and '-'"
            ))
        }
    }
}

impl std::ops::Deref for ProviderName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// The `Tags` property: at most [`MAX_USER_TAGS`], each key once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<Tag>")]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|tag| tag.key.0.as_str())
    }
}

impl TryFrom<Vec<Tag>> for Tags {
    type Error = String;
    fn try_from(tags: Vec<Tag>) -> Result<Self, String> {
        if tags.len() > MAX_USER_TAGS {
            return Err(format!(
                "{} tags given, at most {MAX_USER_TAGS} are accepted",
                tags.len()
            ));
        }
        let mut seen = BTreeSet::new();
        if let Some((index, tag)) = tags
            .iter()
            .enumerate()
            .find(|(_, tag)| !seen.insert(tag.key.0.as_str()))
        {
            return Err(format!("Tags[{index}].Key {:?} is given twice", tag.key.0));
        }
        Ok(Self(tags))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Tag {
    pub key: TagKey,
    pub value: String,
}

/// A user tag key: not empty, and not under the ownership tags' prefix.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TagKey(String);

impl TryFrom<String> for TagKey {
    type Error = String;
    fn try_from(key: String) -> Result<Self, String> {
        if key.is_empty() || key.starts_with(RESERVED_TAG_PREFIX) {
            return Err(format!(
                "{key:?} is not accepted; keys must be non-empty and not start with {RESERVED_TAG_PREFIX} (reserved for ownership tags)"
            ));
        }
        Ok(Self(key))
    }
}

/// The resource: an IAM client and how to download metadata.
pub struct SamlProvider {
    iam: Iam,
    download: MetadataDownload,
    /// Asks CloudFormation whether a scheduled sync may act; `None`: syncs are refused.
    guard: Option<stack_sync::StackGuard>,
    /// What a sync acts on, set by the stack (the function's environment); `None`: syncs are
    /// refused.
    sync_target: Option<stack_sync::SyncTarget>,
}

impl SamlProvider {
    pub fn new(iam: aws_sdk_iam::Client, download: MetadataDownload) -> Self {
        Self {
            iam: Iam::new(iam),
            download,
            guard: None,
            sync_target: None,
        }
    }

    /// What a scheduled sync acts on ([`sync`]).
    pub fn with_sync_target(self, target: stack_sync::SyncTarget) -> Self {
        Self {
            sync_target: Some(target),
            ..self
        }
    }

    /// With the CloudFormation check a scheduled sync needs ([`sync`]).
    pub fn with_guard(self, guard: stack_sync::StackGuard) -> Self {
        Self {
            guard: Some(guard),
            ..self
        }
    }

    /// The Lambda function's resource: the SDK's default configuration (which honours
    /// `AWS_ENDPOINT_URL_IAM`) and [`MetadataDownload::from_env`].
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = https_client::sdk::load_config().await;
        // IAM's request rate per account is low and shared with everything else in it: a
        // throttled call waits and tries again rather than failing the stack after 3 attempts.
        let iam = aws_sdk_iam::config::Builder::from(&config)
            .retry_config(
                aws_sdk_iam::config::retry::RetryConfig::standard()
                    .with_max_attempts(IAM_MAX_ATTEMPTS),
            )
            .build();
        let resource = Self::new(
            aws_sdk_iam::Client::from_conf(iam),
            MetadataDownload::from_env(),
        )
        .with_guard(stack_sync::StackGuard::from_config(&config));
        Ok(match stack_sync::SyncTarget::from_env()? {
            Some(target) => resource.with_sync_target(target),
            None => resource,
        })
    }

    /// The checked metadata, from whichever source the properties name.
    async fn metadata(
        &self,
        properties: &Properties,
        respond_by: Instant,
    ) -> anyhow::Result<Metadata> {
        let (document, origin) = match &properties.source {
            Source::Url(url) => {
                let document = self.download.fetch(url, respond_by).await?;
                (
                    document,
                    format!(
                        "the metadata at MetadataUrl (host {})",
                        download::host_of_text(url)
                    ),
                )
            }
            Source::Document(document) => (document.clone(), "MetadataDocument".to_owned()),
        };
        metadata::validate(document, OffsetDateTime::now_utc())
            .map_err(|problem| anyhow::anyhow!("{origin} {problem}"))
    }

    /// Makes sure a provider called `name`, owned by this resource, carries `metadata` and `tags`;
    /// returns its ARN. A provider of that name made by anything else is left alone and refused.
    async fn ensure_provider(
        &self,
        owner: &Owner,
        respond_by: Instant,
        name: &str,
        metadata: &Metadata,
        tags: &[(String, String)],
    ) -> Result<String, Failure> {
        let existing = match self.iam.find(name).await? {
            Some(arn) => arn,
            None => match self.iam.create(name, &metadata.document, tags).await? {
                Created::Arn(arn) => {
                    tracing::info!(%arn, "SAML provider created");
                    return Ok(arn);
                }
                // Made between our look-up and our create: by a retry of this very request, perhaps,
                // and perhaps so recently that IAM does not list it yet.
                Created::NameTaken => self
                    .eventually(respond_by, || self.iam.find(name))
                    .await?
                    .with_context(|| {
                        format!("CreateSAMLProvider {name}: the name is taken, yet no provider of that name is listed")
                    })?,
            },
        };
        let current_tags = self
            .iam
            .tags(&existing)
            .await?
            .with_context(|| format!("{existing} vanished while being adopted"))?;
        if !owns(owner, &current_tags) {
            return Err(anyhow::anyhow!(
                "invalid property Name: the IAM SAML provider name {name} is taken by a provider this resource did not \
                 create ({existing} lacks the ownership tags {OWNER_TAG_STACK_ID} and {OWNER_TAG_LOGICAL_ID} of stack {} \
                 resource {}); choose another Name or remove that provider",
                owner.stack_name(),
                owner.logical_resource_id
            )
            .into());
        }
        tracing::info!(arn = %existing, "adopting the SAML provider this resource made earlier");
        self.converge(&existing, metadata, tags, &current_tags, &[])
            .await
            .map_err(|error| Failure::partially_created(existing.clone(), error))?;
        Ok(existing)
    }

    /// Brings an owned provider to `metadata` and `tags`, writing only what differs. `removed_keys`
    /// are user tag keys this resource set before and no longer wants.
    async fn converge(
        &self,
        arn: &str,
        metadata: &Metadata,
        tags: &[(String, String)],
        current_tags: &[(String, String)],
        removed_keys: &[String],
    ) -> anyhow::Result<()> {
        let current_document = self
            .iam
            .document(arn)
            .await?
            .with_context(|| format!("{arn} vanished while being updated"))?;
        if current_document == metadata.document {
            tracing::info!(%arn, "metadata unchanged; no update");
        } else {
            self.iam.update_document(arn, &metadata.document).await?;
            tracing::info!(%arn, sha256 = %metadata.sha256, "metadata updated");
        }
        let missing: Vec<(String, String)> = tags
            .iter()
            .filter(|tag| !current_tags.contains(tag))
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.iam.tag(arn, &missing).await?;
        }
        let stale: Vec<String> = removed_keys
            .iter()
            .filter(|key| current_tags.iter().any(|(current, _)| current == *key))
            .cloned()
            .collect();
        if !stale.is_empty() {
            self.iam.untag(arn, &stale).await?;
        }
        Ok(())
    }
}

impl SamlProvider {
    /// `look` again, with growing pauses, while it finds nothing, for up to [`VISIBILITY_WAIT`]
    /// (and never past `respond_by`): what IAM does not show may be too new to be shown.
    // assumption: iam-saml-provider-read-lag
    async fn eventually<T, F, Fut>(&self, respond_by: Instant, look: F) -> anyhow::Result<Option<T>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<T>>>,
    {
        let give_up = (Instant::now() + VISIBILITY_WAIT).min(respond_by);
        let found = || async {
            match look().await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => Err(None),
                Err(error) => Err(Some(error)),
            }
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(2))
            .without_max_times()
            .build();
        let result = found
            .retry(retry::until(backoff, give_up, Duration::ZERO))
            .when(Option::is_none)
            .notify(|_, pause| tracing::info!(?pause, "not visible in IAM yet; looking again"))
            .await;
        match result {
            Ok(found) => Ok(Some(found)),
            Err(None) => Ok(None),
            Err(Some(error)) => Err(error),
        }
    }
}

impl CustomResource for SamlProvider {
    type Properties = Properties;

    async fn create(&self, request: &Request, properties: Properties) -> Result<Step, Failure> {
        let owner = &request.owner;
        let name = properties.provider_name(owner);
        let tags = properties.tags_for(owner);
        let metadata = self.metadata(&properties, request.respond_by).await?;
        let arn = self
            .ensure_provider(owner, request.respond_by, &name, &metadata, &tags)
            .await?;
        Ok(outcome(arn, &name, &metadata).into())
    }

    async fn update(&self, request: &Request, update: Update<Properties>) -> Result<Step, Failure> {
        let Update {
            physical_resource_id: arn,
            new,
            old,
        } = update;
        let owner = &request.owner;
        let name = new.provider_name(owner);
        let tags = new.tags_for(owner);
        let metadata = self.metadata(&new, request.respond_by).await?;
        if provider_name(&arn) != Some(name.as_str()) {
            // A new name is a new provider: the old one is left for CloudFormation's cleanup Delete.
            let replacement = self
                .ensure_provider(owner, request.respond_by, &name, &metadata, &tags)
                .await?;
            tracing::info!(old = %arn, new = %replacement, "SAML provider replaced");
            return Ok(outcome(replacement, &name, &metadata).into());
        }
        let Some(current_tags) = self.iam.tags(&arn).await? else {
            tracing::warn!(%arn, "the SAML provider is gone; making it again");
            let arn = self
                .ensure_provider(owner, request.respond_by, &name, &metadata, &tags)
                .await?;
            return Ok(outcome(arn, &name, &metadata).into());
        };
        if !owns(owner, &current_tags) {
            return Err(anyhow::anyhow!(
                "the IAM SAML provider {arn} does not carry this resource's ownership tags; it was not changed"
            )
            .into());
        }
        let wanted: BTreeSet<&str> = new.tags.keys().collect();
        let removed_keys: Vec<String> = old
            .iter()
            .flat_map(|old| old.tags.keys())
            .filter(|key| !wanted.contains(key))
            .map(str::to_owned)
            .collect();
        self.converge(&arn, &metadata, &tags, &current_tags, &removed_keys)
            .await?;
        Ok(outcome(arn, &name, &metadata).into())
    }

    async fn delete(
        &self,
        request: &Request,
        arn: &str,
        _properties: Properties,
    ) -> Result<Step<()>, Failure> {
        if provider_name(arn).is_none() {
            tracing::info!(
                physical_resource_id = arn,
                "not a SAML provider ARN: nothing of ours to delete"
            );
            return Ok(Step::Done(()));
        }
        // "No such provider" may only mean IAM does not show a provider made seconds ago yet.
        let tags = self
            .eventually(request.respond_by, || self.iam.tags(arn))
            .await?;
        match tags {
            None => tracing::info!(%arn, "the SAML provider is already gone"),
            Some(tags) if !owns(&request.owner, &tags) => {
                tracing::warn!(%arn, "the SAML provider was not made by this resource; leaving it in place");
            }
            Some(_) => {
                let deleted = self.iam.delete(arn).await?;
                tracing::info!(%arn, deleted, "SAML provider deleted");
            }
        }
        Ok(Step::Done(()))
    }

    /// The scheduled sync: the metadata fetched again, the provider updated when it changed.
    async fn other_event(
        &self,
        event: serde_json::Value,
        respond_by: Instant,
    ) -> anyhow::Result<serde_json::Value> {
        sync::run(self, event, respond_by).await
    }
}

impl Properties {
    /// The IAM provider name: `Name`, or one derived from the stack and logical id.
    fn provider_name(&self, owner: &Owner) -> String {
        match &self.name {
            Some(name) => name.0.clone(),
            None => default_name(owner.stack_name(), &owner.logical_resource_id),
        }
    }

    /// The ownership tags followed by the user's `Tags`.
    fn tags_for(&self, owner: &Owner) -> Vec<(String, String)> {
        let ownership = owner
            .ownership_tags()
            .map(|(key, value)| (key.to_owned(), value.to_owned()));
        ownership
            .into_iter()
            .chain(
                self.tags
                    .iter()
                    .map(|tag| (tag.key.0.clone(), tag.value.clone())),
            )
            .collect()
    }
}

fn owns(owner: &Owner, tags: &[(String, String)]) -> bool {
    owner.owns(
        tags.iter()
            .map(|(key, value)| (key.as_str(), value.as_str())),
    )
}

fn outcome(arn: String, name: &str, metadata: &Metadata) -> Outcome {
    Outcome::new(arn.clone())
        .with("Arn", arn)
        .with("Name", name)
        .with("CertificateExpiry", metadata.certificate_expiry_rfc3339())
        .with("MetadataSha256", &metadata.sha256)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// `<stack name>-<logical id>` with characters IAM refuses replaced by `-`. When longer than IAM
/// allows, it is cut and ends with a hash of the whole, so distinct long names stay distinct.
pub fn default_name(stack_name: &str, logical_resource_id: &str) -> String {
    let full: String = format!("{stack_name}-{logical_resource_id}")
        .chars()
        .map(|c| if is_name_char(c) { c } else { '-' })
        .collect();
    if full.len() <= MAX_NAME_CHARS {
        return full;
    }
    let digest = format!("{:x}", Sha256::digest(full.as_bytes()));
    format!("{}-{}", &full[..MAX_NAME_CHARS - 9], &digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(properties: serde_json::Value) -> Result<Properties, String> {
        custom_resource::parse_properties(&properties)
    }

    #[test]
    fn exactly_one_source_blanks_counting_as_absent() {
        let properties =
            parse(serde_json::json!({"MetadataUrl": "https://idp/m", "MetadataDocument": " "}))
                .unwrap();
        assert_eq!(properties.source, Source::Url("https://idp/m".into()));
        let both = serde_json::json!({"MetadataUrl": "https://idp/m", "MetadataDocument": "<x/>"});
        let error = parse(both).unwrap_err();
        assert!(
            error.contains("exactly one of MetadataUrl or MetadataDocument"),
            "{error}"
        );
        let error = parse(serde_json::json!({"Name": "x"})).unwrap_err();
        assert!(error.contains("is required"), "{error}");
    }

    #[test]
    fn names_and_tags_are_checked_naming_the_property() {
        let with = |key: &str, value: serde_json::Value| {
            parse(serde_json::json!({"MetadataDocument": "<x/>", key: value})).unwrap_err()
        };
        let error = with("Name", serde_json::json!("a b"));
        assert!(
            error.starts_with("invalid property Name: \"a b\" is not an IAM SAML provider name"),
            "{error}"
        );
        let tags: Vec<serde_json::Value> = (0..49)
            .map(|i| serde_json::json!({"Key": format!("k{i}"), "Value": ""}))
            .collect();
        assert_eq!(
            with("Tags", serde_json::json!(tags)),
            "invalid property Tags: 49 tags given, at most 48 are accepted"
        );
        let twice = serde_json::json!([{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]);
        assert_eq!(
            with("Tags", twice),
            "invalid property Tags: Tags[1].Key \"a\" is given twice"
        );
        let reserved = serde_json::json!([{"Key": "connect-sso:x", "Value": "1"}]);
        let error = with("Tags", reserved);
        assert!(
            error.starts_with("invalid property Tags[0].Key: \"connect-sso:x\" is not accepted"),
            "{error}"
        );
    }

    #[test]
    fn the_default_name_is_stable_legal_and_short_enough() {
        assert_eq!(
            default_name("connect-sso", "SamlProvider"),
            "connect-sso-SamlProvider"
        );
        assert_eq!(default_name("a b/c", "X"), "a-b-c-X");
        let long_stack = "s".repeat(128);
        let first = default_name(&long_stack, "ProviderOne");
        assert_eq!(first.len(), MAX_NAME_CHARS);
        assert_eq!(first, default_name(&long_stack, "ProviderOne"));
        assert_ne!(first, default_name(&long_stack, "ProviderTwo"));
        assert!(first.chars().all(is_name_char));
    }
}
