//! The IAM calls this resource makes, each error naming its call and turned into plain outcomes
//! (`None` for "no such provider") where the handler decides what they mean.

use anyhow::Context as _;
use arn::SamlProviderArn;
use aws_sdk_iam::error::DisplayErrorContext;
use aws_sdk_iam::types::Tag;

/// The name in a SAML provider ARN (`arn:<partition>:iam::<account>:saml-provider/<name>`), or
/// `None` when `arn` is not one.
pub fn provider_name(arn: &str) -> Option<&str> {
    // A provider name holds no '/': what follows the last one is the name.
    arn.parse::<SamlProviderArn>().ok()?;
    arn.trim().rsplit_once('/').map(|(_, name)| name)
}

pub enum Created {
    Arn(String),
    NameTaken,
}

#[derive(Clone)]
pub struct Iam {
    client: aws_sdk_iam::Client,
}

impl Iam {
    pub fn new(client: aws_sdk_iam::Client) -> Self {
        Self { client }
    }

    /// The ARN of the provider called `name`, if there is one.
    pub async fn find(&self, name: &str) -> anyhow::Result<Option<String>> {
        let listed = self
            .client
            .list_saml_providers()
            .send()
            .await
            .map_err(|error| {
                anyhow::anyhow!("ListSAMLProviders failed: {}", DisplayErrorContext(&error))
            })?;
        Ok(listed
            .saml_provider_list()
            .iter()
            .filter_map(|entry| entry.arn())
            .find(|arn| provider_name(arn) == Some(name))
            .map(str::to_owned))
    }

    pub async fn create(
        &self,
        name: &str,
        document: &str,
        tags: &[(String, String)],
    ) -> anyhow::Result<Created> {
        let result = self
            .client
            .create_saml_provider()
            .name(name)
            .saml_metadata_document(document)
            .set_tags(Some(iam_tags(tags)?))
            .send()
            .await;
        match result {
            Ok(created) => {
                let arn = created
                    .saml_provider_arn()
                    .context("CreateSAMLProvider answered without an ARN")?;
                Ok(Created::Arn(arn.to_owned()))
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_entity_already_exists_exception()) =>
            {
                Ok(Created::NameTaken)
            }
            Err(error) => anyhow::bail!(
                "CreateSAMLProvider {name} failed: {}",
                DisplayErrorContext(&error)
            ),
        }
    }

    /// The provider's metadata document, or `None` when it does not exist.
    pub async fn document(&self, arn: &str) -> anyhow::Result<Option<String>> {
        match self
            .client
            .get_saml_provider()
            .saml_provider_arn(arn)
            .send()
            .await
        {
            Ok(provider) => Ok(Some(
                provider
                    .saml_metadata_document()
                    .unwrap_or_default()
                    .to_owned(),
            )),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(error) => anyhow::bail!(
                "GetSAMLProvider {arn} failed: {}",
                DisplayErrorContext(&error)
            ),
        }
    }

    pub async fn update_document(&self, arn: &str, document: &str) -> anyhow::Result<()> {
        self.client
            .update_saml_provider()
            .saml_provider_arn(arn)
            .saml_metadata_document(document)
            .send()
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "UpdateSAMLProvider {arn} failed: {}",
                    DisplayErrorContext(&error)
                )
            })?;
        Ok(())
    }

    /// The provider's tags, or `None` when it does not exist.
    pub async fn tags(&self, arn: &str) -> anyhow::Result<Option<Vec<(String, String)>>> {
        let mut pages = self
            .client
            .list_saml_provider_tags()
            .saml_provider_arn(arn)
            .into_paginator()
            .send();
        let mut tags = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_entity_exception()) =>
                {
                    return Ok(None);
                }
                Err(error) => anyhow::bail!(
                    "ListSAMLProviderTags {arn} failed: {}",
                    DisplayErrorContext(&error)
                ),
            };
            tags.extend(
                page.tags()
                    .iter()
                    .map(|tag| (tag.key().to_owned(), tag.value().to_owned())),
            );
        }
        Ok(Some(tags))
    }

    pub async fn tag(&self, arn: &str, tags: &[(String, String)]) -> anyhow::Result<()> {
        self.client
            .tag_saml_provider()
            .saml_provider_arn(arn)
            .set_tags(Some(iam_tags(tags)?))
            .send()
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "TagSAMLProvider {arn} failed: {}",
                    DisplayErrorContext(&error)
                )
            })?;
        Ok(())
    }

    pub async fn untag(&self, arn: &str, keys: &[String]) -> anyhow::Result<()> {
        self.client
            .untag_saml_provider()
            .saml_provider_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "UntagSAMLProvider {arn} failed: {}",
                    DisplayErrorContext(&error)
                )
            })?;
        Ok(())
    }

    /// Deletes the provider; `false` when it was already gone.
    pub async fn delete(&self, arn: &str) -> anyhow::Result<bool> {
        match self
            .client
            .delete_saml_provider()
            .saml_provider_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Ok(false)
            }
            Err(error) => anyhow::bail!(
                "DeleteSAMLProvider {arn} failed: {}",
                DisplayErrorContext(&error)
            ),
        }
    }
}

fn iam_tags(tags: &[(String, String)]) -> anyhow::Result<Vec<Tag>> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .context("building an IAM tag")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::provider_name;

    #[test]
    fn only_saml_provider_arns_name_a_provider() {
        assert_eq!(
            provider_name("arn:aws:iam::123456789012:saml-provider/Connect_SSO"),
            Some("Connect_SSO")
        );
        assert_eq!(
            provider_name("arn:aws-cn:iam::123456789012:saml-provider/a.b-c"),
            Some("a.b-c")
        );
        assert_eq!(provider_name("arn:aws:iam::1:role/x"), None);
        assert_eq!(provider_name("arn:aws:iam::1:saml-provider/"), None);
        assert_eq!(provider_name("custom-resource:create-failed:X:r"), None);
        assert_eq!(provider_name("saml-provider/x"), None);
    }
}
