//! Application ARNs and the console's `ins-` ids: the same 16 hex characters, a prefix swap.

use std::fmt;

/// `arn:<partition>:sso::<account>:application/<ssoins-…>/apl-<16 alphanumerics>`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        let mut parts = text.splitn(6, ':');
        let (arn, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if arn != "arn"
            || !partition.starts_with("aws")
            || service != "sso"
            || !region.is_empty()
            || !valid_account
        {
            return None;
        }
        let mut segments = resource.split('/');
        let (kind, instance, application) = (segments.next()?, segments.next()?, segments.next()?);
        let hex = application.strip_prefix("apl-")?;
        let valid_instance = instance.starts_with("ssoins-") || instance.starts_with("ins-");
        let valid_hex = hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_alphanumeric());
        if kind != "application" || !valid_instance || !valid_hex || segments.next().is_some() {
            return None;
        }
        Some(Self {
            partition: partition.to_owned(),
            account: account.to_owned(),
            instance: instance.to_owned(),
            hex: hex.to_owned(),
        })
    }

    /// The ARN of the application whose console id is `instance_id` (`ins-<hex>`), in the Identity
    /// Center instance `instance_arn` (`arn:aws:sso:::instance/ssoins-…`) owned by `account`.
    pub fn from_console_id(instance_arn: &str, account: &str, instance_id: &str) -> Option<Self> {
        let partition = instance_arn.strip_prefix("arn:")?.split(':').next()?;
        let instance = instance_arn
            .rsplit('/')
            .next()
            .filter(|segment| segment.contains("ins-"))?;
        let hex = instance_id.strip_prefix("ins-")?;
        Self::parse(&format!(
            "arn:{partition}:sso::{account}:application/{instance}/apl-{hex}"
        ))
    }

    /// The console API's id of this application: `ins-<hex>`.
    pub fn console_id(&self) -> String {
        format!("ins-{}", self.hex)
    }

    /// Whether this application lives in the Identity Center instance `instance_arn`.
    pub fn is_in_instance(&self, instance_arn: &str) -> bool {
        instance_arn.rsplit('/').next() == Some(self.instance.as_str())
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
