//! Amazon Resource Names, parsed in one place.
//!
//! [`Arn`] splits any ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`). The typed
//! ARNs built on it ([`RoleArn`], [`SamlProviderArn`], [`StackId`]) and the [`AccountId`] and
//! [`Region`] names cannot hold a value of the wrong shape: a property declared with one of them
//! is checked while it is deserialised (`serde(try_from = "String")`), so the error names the
//! property and says what is accepted, with no check written by hand afterwards.
//!
//! Why not a crate from crates.io: the ARN crates there (`aws-arn`, `scratchstack-arn`) parse the
//! generic form only, bring a regex engine into every Lambda binary, and would still need the
//! typed layer below; the generic split is a dozen lines.

use std::fmt;
use std::str::FromStr;

/// A value that is not of the shape a type accepts; the text says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`, split. The region and account are
/// empty for global services and resources (IAM, an Identity Center instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    /// Everything after the fifth colon (it may hold colons and slashes itself).
    pub resource: String,
}

impl Arn {
    /// The ARN `text` spells (surrounding blanks ignored), or `None` when it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().splitn(6, ':');
        let mut next = || parts.next().map(str::to_owned);
        let (arn, partition, service, region, account, resource) =
            (next()?, next()?, next()?, next()?, next()?, next()?);
        let valid = arn == "arn" && partition.starts_with("aws") && !service.is_empty();
        valid.then_some(Self {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// The resource after `kind/` (`role/`, `stack/`…), when the resource is of that kind.
    pub fn resource_of_kind(&self, kind: &str) -> Option<&str> {
        self.resource
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix('/'))
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl FromStr for Arn {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        Self::parse(text).ok_or_else(|| {
            Invalid(format!(
                "'{}' is not an ARN (arn:<partition>:<service>:<region>:<account>:<resource>)",
                text.trim()
            ))
        })
    }
}

/// Implements the string conversions of a checked text type: `TryFrom<String>` (what serde's
/// `try_from` uses), `FromStr`, `Display`, `as_str` and back `Into<String>`.
macro_rules! checked_text {
    ($type:ident) => {
        impl TryFrom<String> for $type {
            type Error = Invalid;
            fn try_from(text: String) -> Result<Self, Invalid> {
                text.parse()
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> String {
                value.text
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }

        impl $type {
            pub fn as_str(&self) -> &str {
                &self.text
            }
        }
    };
}

/// A 12-digit AWS account id.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId {
    text: String,
}

impl AccountId {
    pub fn is_valid(text: &str) -> bool {
        text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
    }
}

impl FromStr for AccountId {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        if Self::is_valid(text) {
            Ok(Self {
                text: text.to_owned(),
            })
        } else {
            Err(Invalid(format!(
                "'{text}' is not an AWS account id (12 digits)"
            )))
        }
    }
}

checked_text!(AccountId);

/// An AWS region name such as `eu-west-1` or `us-gov-west-1`: a typo fails naming the property
/// instead of as an unreachable endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region {
    text: String,
}

impl Region {
    pub fn is_valid(text: &str) -> bool {
        let parts: Vec<&str> = text.split('-').collect();
        parts.len() >= 3
            && parts.iter().all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
    }
}

impl FromStr for Region {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        if Self::is_valid(text) {
            Ok(Self {
                text: text.to_owned(),
            })
        } else {
            Err(Invalid(format!(
                "'{text}' is not an AWS region name (such as us-east-1)"
            )))
        }
    }
}

checked_text!(Region);

/// An IAM ARN of one resource kind: `arn:<partition>:iam::<12-digit account>:<kind>/<name>`.
fn iam_resource(text: &str, kind: &str) -> Option<(Arn, AccountId)> {
    let arn = Arn::parse(text)?;
    let account = arn.account.parse().ok()?;
    let name = arn.resource_of_kind(kind)?;
    let valid = arn.service == "iam" && arn.region.is_empty() && !name.is_empty();
    valid.then(|| (arn.clone(), account))
}

/// `arn:<partition>:iam::<12-digit account>:role/<path/><name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleArn {
    text: String,
    arn: Arn,
    account: AccountId,
}

impl RoleArn {
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    pub fn partition(&self) -> &str {
        &self.arn.partition
    }

    /// The role name, without its path.
    pub fn name(&self) -> &str {
        let path_and_name = self.arn.resource_of_kind("role").unwrap_or_default();
        path_and_name.rsplit('/').next().unwrap_or(path_and_name)
    }
}

impl FromStr for RoleArn {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        match iam_resource(text, "role") {
            Some((arn, account)) if !arn.resource.ends_with('/') => Ok(Self {
                text: text.to_owned(),
                arn,
                account,
            }),
            _ => Err(Invalid(format!(
                "'{text}' is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"
            ))),
        }
    }
}

checked_text!(RoleArn);

/// `arn:<partition>:iam::<12-digit account>:saml-provider/<name>`, the name of letters, digits
/// and `_.-` as IAM allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct SamlProviderArn {
    text: String,
    arn: Arn,
    account: AccountId,
}

impl SamlProviderArn {
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    pub fn name(&self) -> &str {
        self.arn
            .resource_of_kind("saml-provider")
            .unwrap_or_default()
    }
}

impl FromStr for SamlProviderArn {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        let name_chars = |arn: &Arn| {
            arn.resource_of_kind("saml-provider").is_some_and(|name| {
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            })
        };
        match iam_resource(text, "saml-provider") {
            Some((arn, account)) if name_chars(&arn) => Ok(Self {
                text: text.to_owned(),
                arn,
                account,
            }),
            _ => Err(Invalid(format!(
                "'{text}' is not an IAM SAML provider ARN (arn:aws:iam::<12-digit account>:saml-provider/<name>)"
            ))),
        }
    }
}

checked_text!(SamlProviderArn);

/// A CloudFormation stack id: `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<guid>`.
/// Read leniently (it comes from CloudFormation, not from a user): any account text is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StackId {
    text: String,
    arn: Arn,
}

impl StackId {
    /// The stack id `text` spells, or `None` when it is not a stack ARN.
    pub fn parse(text: &str) -> Option<Self> {
        let arn = Arn::parse(text)?;
        let mut segments = arn.resource_of_kind("stack")?.split('/');
        let named = segments.next().is_some_and(|name| !name.is_empty())
            && segments.next().is_some_and(|guid| !guid.is_empty());
        (arn.service == "cloudformation" && named).then(|| Self {
            text: text.trim().to_owned(),
            arn,
        })
    }

    fn segment(&self, index: usize) -> &str {
        self.arn
            .resource_of_kind("stack")
            .and_then(|rest| rest.split('/').nth(index))
            .unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.segment(0)
    }

    /// The stack's unique id, stable for its lifetime.
    pub fn guid(&self) -> &str {
        self.segment(1)
    }

    /// The region, when the ARN names one.
    pub fn region(&self) -> Option<&str> {
        Some(self.arn.region.as_str()).filter(|region| !region.is_empty())
    }

    /// The account, when the ARN names one.
    pub fn account(&self) -> Option<&str> {
        Some(self.arn.account.as_str()).filter(|account| !account.is_empty())
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for StackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/connect-sso/IdentityCenterAccess";
    const PROVIDER: &str = "arn:aws:iam::111122223333:saml-provider/Connect_SSO.a-b";

    #[test]
    fn an_arn_splits_into_its_six_parts_and_prints_back() {
        let arn = Arn::parse(" arn:aws-cn:sso:::instance/ssoins-1 ").unwrap();
        assert_eq!(
            (
                arn.partition.as_str(),
                arn.service.as_str(),
                arn.region.as_str()
            ),
            ("aws-cn", "sso", "")
        );
        assert_eq!(arn.resource_of_kind("instance"), Some("ssoins-1"));
        assert_eq!(arn.resource_of_kind("inst"), None);
        assert_eq!(arn.to_string(), "arn:aws-cn:sso:::instance/ssoins-1");
        let colons = Arn::parse("arn:aws:logs:us-east-1:1:log-group:a:b").unwrap();
        assert_eq!(colons.resource, "log-group:a:b");
        for bad in [
            "",
            "arn:aws:iam::1",
            "urn:aws:iam::1:x",
            "arn:azure:iam::1:x",
            "arn:aws::::x",
        ] {
            assert_eq!(Arn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901x", ""] {
            let error = bad.parse::<AccountId>().unwrap_err().to_string();
            assert!(error.contains("12 digits"), "{error}");
        }
    }

    #[test]
    fn region_names() {
        for good in ["eu-west-1", "us-gov-west-1", "ap-southeast-5"] {
            assert!(good.parse::<Region>().is_ok(), "{good}");
        }
        for bad in ["Frankfurt", "eu-west", "EU-WEST-1", "eu--1", "eu-west-x"] {
            let error = bad.parse::<Region>().unwrap_err().to_string();
            assert!(
                error.contains(&format!("'{bad}' is not an AWS region name")),
                "{error}"
            );
        }
    }

    #[test]
    fn role_arns_name_their_account_and_role() {
        let role: RoleArn = ROLE.parse().unwrap();
        assert_eq!(role.account().as_str(), "111122223333");
        assert_eq!(role.name(), "IdentityCenterAccess");
        assert_eq!(role.partition(), "aws");
        assert_eq!(role.to_string(), ROLE);
        for bad in [
            "arn:aws:iam::111122223333:user/bob",
            "arn:aws:iam::1111:role/x",
            "arn:aws:sts::111122223333:assumed-role/x/y",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/path/",
            "arn:aws:iam:us-east-1:111122223333:role/x",
            "ConnectSsoIdentityCenter",
        ] {
            let error = bad.parse::<RoleArn>().unwrap_err().to_string();
            assert!(
                error.contains(&format!("'{bad}' is not an IAM role ARN")),
                "{error}"
            );
        }
    }

    #[test]
    fn saml_provider_arns_name_their_account_and_provider() {
        let provider: SamlProviderArn = PROVIDER.parse().unwrap();
        assert_eq!(provider.name(), "Connect_SSO.a-b");
        assert_eq!(provider.account().as_str(), "111122223333");
        for bad in [
            "arn:aws:iam::111122223333:saml-provider/",
            "arn:aws:iam::111122223333:saml-provider/a/b",
            "arn:aws:iam::111122223333:saml-provider/a,b",
            "arn:aws:iam::1:saml-provider/a",
            "arn:aws:iam::111122223333:role/a",
            "IdentityCenter",
        ] {
            let error = bad.parse::<SamlProviderArn>().unwrap_err().to_string();
            assert!(
                error.contains("is not an IAM SAML provider ARN"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn stack_ids_name_stack_guid_region_and_account() {
        let stack = StackId::parse(
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/connect-sso/5f1e-77",
        )
        .unwrap();
        assert_eq!((stack.name(), stack.guid()), ("connect-sso", "5f1e-77"));
        assert_eq!(stack.region(), Some("eu-west-1"));
        assert_eq!(stack.account(), Some("123456789012"));
        for bad in [
            "not-an-arn",
            "arn:aws:cloudformation:eu-west-1:1:stack/name",
            "arn:aws:lambda:eu-west-1:1:stack/s/g",
        ] {
            assert_eq!(StackId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn typed_arns_deserialise_with_the_reason_and_serialise_back() {
        let error = serde_json::from_value::<RoleArn>(serde_json::json!("role/x"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("'role/x' is not an IAM role ARN"), "{error}");
        let role: RoleArn = serde_json::from_value(serde_json::json!(ROLE)).unwrap();
        assert_eq!(
            serde_json::to_value(&role).unwrap(),
            serde_json::json!(ROLE)
        );
    }
}
