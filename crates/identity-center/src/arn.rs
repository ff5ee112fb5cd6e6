//! Identity Center's ARNs: instances, and applications with the console's `ins-` ids (the same
//! 16 hex characters, a prefix swap). Both are split by the one ARN parser, [`arn::Arn`].

use std::fmt;
use std::str::FromStr;

use arn::{AccountId, Arn, Invalid};

/// `arn:<partition>:sso:::instance/<ssoins-… or ins-…>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceArn {
    partition: String,
    /// `ssoins-…` (or `ins-…`).
    id: String,
}

impl InstanceArn {
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl FromStr for InstanceArn {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let parsed = Arn::parse(text).and_then(|arn| {
            let id = arn.resource_of_kind("instance")?;
            let valid = arn.service == "sso"
                && arn.region.is_empty()
                && arn.account.is_empty()
                && is_instance_id(id);
            valid.then(|| Self {
                partition: arn.partition.clone(),
                id: id.to_owned(),
            })
        });
        parsed.ok_or_else(|| {
            Invalid(format!(
                "'{}' is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)",
                text.trim()
            ))
        })
    }
}

impl TryFrom<String> for InstanceArn {
    type Error = Invalid;
    fn try_from(text: String) -> Result<Self, Invalid> {
        text.parse()
    }
}

impl From<InstanceArn> for String {
    fn from(arn: InstanceArn) -> String {
        arn.to_string()
    }
}

impl fmt::Display for InstanceArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:sso:::instance/{}", self.partition, self.id)
    }
}

fn is_instance_id(text: &str) -> bool {
    text.starts_with("ssoins-") || text.starts_with("ins-")
}

/// `arn:<partition>:sso::<account>:application/<ssoins-…>/apl-<16 alphanumerics>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApplicationArn {
    pub partition: String,
    pub account: String,
    /// The Identity Center instance part, `ssoins-…` (or `ins-…`).
    pub instance: String,
    /// The 16 characters after `apl-`.
    pub hex: String,
}

impl ApplicationArn {
    /// Parses an application ARN; `None` when `text` is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let arn = Arn::parse(text)?;
        let mut segments = arn.resource_of_kind("application")?.split('/');
        let (instance, application) = (segments.next()?, segments.next()?);
        let hex = application.strip_prefix("apl-")?;
        let valid = arn.service == "sso"
            && arn.region.is_empty()
            && AccountId::is_valid(&arn.account)
            && is_instance_id(instance)
            && hex.len() == 16
            && hex.bytes().all(|b| b.is_ascii_alphanumeric())
            && segments.next().is_none();
        valid.then(|| Self {
            partition: arn.partition.clone(),
            account: arn.account.clone(),
            instance: instance.to_owned(),
            hex: hex.to_owned(),
        })
    }

    /// The ARN of the application whose console id is `instance_id` (`ins-<hex>`), in the Identity
    /// Center instance `instance_arn` (`arn:aws:sso:::instance/ssoins-…`) owned by `account`.
    pub fn from_console_id(instance_arn: &str, account: &str, instance_id: &str) -> Option<Self> {
        let instance: InstanceArn = instance_arn.parse().ok()?;
        let hex = instance_id.strip_prefix("ins-")?;
        Self::parse(&format!(
            "arn:{}:sso::{account}:application/{}/apl-{hex}",
            instance.partition, instance.id
        ))
    }

    /// The console API's id of this application: `ins-<hex>`.
    pub fn console_id(&self) -> String {
        format!("ins-{}", self.hex)
    }

    /// The ARN of the Identity Center instance the application lives in.
    pub fn instance_arn(&self) -> InstanceArn {
        InstanceArn {
            partition: self.partition.clone(),
            id: self.instance.clone(),
        }
    }

    /// Whether this application lives in the Identity Center instance `instance_arn`.
    pub fn is_in_instance(&self, instance_arn: &str) -> bool {
        instance_arn.rsplit('/').next() == Some(self.instance.as_str())
    }
}

impl TryFrom<String> for ApplicationArn {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).ok_or_else(|| {
            format!(
                "'{}' is not an Identity Center application ARN (arn:aws:sso::<account>:application/ssoins-…/apl-…)",
                text.trim()
            )
        })
    }
}

impl From<ApplicationArn> for String {
    fn from(arn: ApplicationArn) -> String {
        arn.to_string()
    }
}

impl fmt::Display for ApplicationArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:sso::{}:application/{}/apl-{}",
            self.partition, self.account, self.instance, self.hex
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str =
        "arn:aws:sso::123456789012:application/ssoins-7223abcd12345678/apl-72236face0cd1203";

    #[test]
    fn parses_and_prints_back() {
        let arn = ApplicationArn::parse(ARN).unwrap();
        assert_eq!(arn.console_id(), "ins-72236face0cd1203");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.to_string(), ARN);
        assert!(arn.is_in_instance("arn:aws:sso:::instance/ssoins-7223abcd12345678"));
        assert!(!arn.is_in_instance("arn:aws:sso:::instance/ssoins-0000abcd12345678"));
    }

    #[test]
    fn builds_from_the_console_id() {
        let arn = ApplicationArn::from_console_id(
            "arn:aws:sso:::instance/ssoins-7223abcd12345678",
            "123456789012",
            "ins-72236face0cd1203",
        )
        .unwrap();
        assert_eq!(arn.to_string(), ARN);
        assert_eq!(
            ApplicationArn::from_console_id(
                "arn:aws:sso:::instance/ssoins-7223abcd12345678",
                "123456789012",
                "apl-1"
            ),
            None
        );
    }

    #[test]
    fn instance_arns() {
        let instance: InstanceArn = "arn:aws:sso:::instance/ssoins-72236face0cd1203"
            .parse()
            .unwrap();
        assert_eq!(instance.id(), "ssoins-72236face0cd1203");
        assert_eq!(
            instance.to_string(),
            "arn:aws:sso:::instance/ssoins-72236face0cd1203"
        );
        assert_eq!(
            ApplicationArn::parse(ARN)
                .unwrap()
                .instance_arn()
                .to_string(),
            "arn:aws:sso:::instance/ssoins-7223abcd12345678"
        );
        for bad in [
            "arn:aws:sso::123456789012:application/ssoins-1/apl-1",
            "ssoins-72236face0cd1203",
            "arn:aws:sso:::instance/apl-1",
            "arn:aws:sso:us-east-1::instance/ssoins-1",
        ] {
            let error = bad.parse::<InstanceArn>().unwrap_err().to_string();
            assert!(
                error.contains(&format!("'{bad}' is not an Identity Center instance ARN")),
                "{error}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_an_application_arn() {
        for text in [
            "custom-resource:create-failed:App:1",
            "arn:aws:sso::123456789012:application/ssoins-7223abcd12345678",
            "arn:aws:sso::12345:application/ssoins-7223abcd12345678/apl-72236face0cd1203",
            "arn:aws:iam::123456789012:application/ssoins-7223abcd12345678/apl-72236face0cd1203",
            "arn:aws:sso::123456789012:application/ssoins-7223abcd12345678/apl-short",
            "arn:aws:sso::123456789012:application/ssoins-7223abcd12345678/apl-72236face0cd1203/attribute-mapping",
        ] {
            assert_eq!(ApplicationArn::parse(text), None, "{text}");
        }
    }
}
