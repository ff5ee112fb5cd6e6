//! Users and groups named in the properties, resolved through the identity store.

use anyhow::Context;
use aws_sdk_identitystore::error::DisplayErrorContext;
use aws_sdk_identitystore::types::{AlternateIdentifier, UniqueAttribute};
use aws_smithy_types::Document;
use identity_center::{Destination, Principal, PrincipalKind};

/// Resolves display names (groups) or user names (users), or ids of either, to principals.
pub struct PrincipalResolver<'a> {
    pub identity_store: &'a aws_sdk_identitystore::Client,
    pub identity_store_id: &'a str,
    /// Where the calls go (named in errors).
    pub destination: &'a Destination,
}

impl PrincipalResolver<'_> {
    /// Every group then every user; an unknown one is an error naming its property.
    pub async fn resolve(
        &self,
        groups: &[String],
        users: &[String],
    ) -> anyhow::Result<Vec<Principal>> {
        let mut principals = Vec::new();
        for (kind, names) in [(PrincipalKind::Group, groups), (PrincipalKind::User, users)] {
            for name in names {
                let principal = self.find(kind, name).await?.with_context(|| {
                    format!(
                        "invalid property {}: no {} has the {} or id '{name}' in identity store {} ({})",
                        property(kind),
                        noun(kind),
                        unique_attribute_label(kind),
                        self.identity_store_id,
                        self.destination
                    )
                })?;
                if !principals.contains(&principal) {
                    principals.push(principal);
                }
            }
        }
        Ok(principals)
    }

    /// Like [`Self::resolve`], skipping names that no longer resolve (for the previous properties,
    /// whose users or groups may have been deleted since).
    pub async fn resolve_existing(
        &self,
        groups: &[String],
        users: &[String],
    ) -> anyhow::Result<Vec<Principal>> {
        let mut principals = Vec::new();
        for (kind, names) in [(PrincipalKind::Group, groups), (PrincipalKind::User, users)] {
            for name in names {
                if let Some(principal) = self.find(kind, name).await? {
                    principals.push(principal);
                }
            }
        }
        Ok(principals)
    }

    async fn find(&self, kind: PrincipalKind, name: &str) -> anyhow::Result<Option<Principal>> {
        let found = match self.id_by_unique_attribute(kind, name).await? {
            Some(id) => Some(id),
            None if looks_like_an_id(name) => self.existing_id(kind, name).await?,
            None => None,
        };
        Ok(found.map(|id| Principal { kind, id }))
    }

    async fn id_by_unique_attribute(
        &self,
        kind: PrincipalKind,
        value: &str,
    ) -> anyhow::Result<Option<String>> {
        let attribute = UniqueAttribute::builder()
            .attribute_path(unique_attribute_path(kind))
            .attribute_value(Document::String(value.to_owned()))
            .build()?;
        let identifier = AlternateIdentifier::UniqueAttribute(attribute);
        let answer = match kind {
            PrincipalKind::Group => self
                .identity_store
                .get_group_id()
                .identity_store_id(self.identity_store_id)
                .alternate_identifier(identifier)
                .send()
                .await
                .map(|found| found.group_id().to_owned())
                .map_err(|error| {
                    (
                        error
                            .as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()),
                        DisplayErrorContext(error).to_string(),
                    )
                }),
            PrincipalKind::User => self
                .identity_store
                .get_user_id()
                .identity_store_id(self.identity_store_id)
                .alternate_identifier(identifier)
                .send()
                .await
                .map(|found| found.user_id().to_owned())
                .map_err(|error| {
                    (
                        error
                            .as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()),
                        DisplayErrorContext(error).to_string(),
                    )
                }),
        };
        match answer {
            Ok(id) => Ok(Some(id)),
            Err((true, _)) => Ok(None),
            Err((false, message)) => Err(anyhow::anyhow!(
                "identitystore {} failed for {} '{value}' ({}): {message}",
                if kind == PrincipalKind::Group {
                    "GetGroupId"
                } else {
                    "GetUserId"
                },
                property(kind),
                self.destination
            )),
        }
    }

    async fn existing_id(&self, kind: PrincipalKind, id: &str) -> anyhow::Result<Option<String>> {
        let answer = match kind {
            PrincipalKind::Group => self
                .identity_store
                .describe_group()
                .identity_store_id(self.identity_store_id)
                .group_id(id)
                .send()
                .await
                .map(drop)
                .map_err(|error| {
                    (
                        error
                            .as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()),
                        DisplayErrorContext(error).to_string(),
                    )
                }),
            PrincipalKind::User => self
                .identity_store
                .describe_user()
                .identity_store_id(self.identity_store_id)
                .user_id(id)
                .send()
                .await
                .map(drop)
                .map_err(|error| {
                    (
                        error
                            .as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()),
                        DisplayErrorContext(error).to_string(),
                    )
                }),
        };
        match answer {
            Ok(()) => Ok(Some(id.to_owned())),
            Err((true, _)) => Ok(None),
            Err((false, message)) => Err(anyhow::anyhow!(
                "identitystore {} failed for {} '{id}' ({}): {message}",
                if kind == PrincipalKind::Group {
                    "DescribeGroup"
                } else {
                    "DescribeUser"
                },
                property(kind),
                self.destination
            )),
        }
    }
}

pub fn property(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Group => "AssignedGroups",
        PrincipalKind::User => "AssignedUsers",
    }
}

fn noun(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Group => "group",
        PrincipalKind::User => "user",
    }
}

fn unique_attribute_path(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Group => "displayName",
        PrincipalKind::User => "userName",
    }
}

fn unique_attribute_label(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Group => "display name",
        PrincipalKind::User => "user name",
    }
}

/// Identity store ids: an optional `<10 hex>-` prefix, then a UUID.
fn looks_like_an_id(text: &str) -> bool {
    let uuid = match text.split_once('-') {
        Some((prefix, rest))
            if prefix.len() == 10 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            rest
        }
        _ => text,
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups.iter().zip(lengths).all(|(group, length)| {
            group.len() == length && group.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_uuids_with_an_optional_prefix() {
        assert!(super::looks_like_an_id(
            "9067b2d1-9a7f-4c3e-8b3e-0123456789ab"
        ));
        assert!(super::looks_like_an_id(
            "906752a4d5-9067b2d1-9a7f-4c3e-8b3e-0123456789ab"
        ));
        assert!(!super::looks_like_an_id("Connect Agents"));
        assert!(!super::looks_like_an_id("9067b2d1-9a7f-4c3e-8b3e"));
    }
}
