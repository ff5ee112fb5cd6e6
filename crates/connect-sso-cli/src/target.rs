//! What the doctor checks: the ids of one federation, from a stack's outputs or given one by one.

use std::collections::BTreeMap;

use anyhow::Context as _;
use connect_user_import::properties::UsernameAttribute;

/// One federation: the Identity Center application and what it should lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `arn:aws:sso::<account>:application/ssoins-…/apl-…`.
    pub application_arn: String,
    /// The Connect instance users should land in; `None`: the one the relay state names.
    pub connect_instance_id: Option<String>,
    /// The federation role; `None`: the one the Role attribute names.
    pub role_arn: Option<String>,
    /// The IAM SAML provider; `None`: the one the Role attribute names.
    pub provider_arn: Option<String>,
    /// `None`: the identity store of the application's Identity Center instance.
    pub identity_store_id: Option<String>,
    /// Region of the Connect instance (and of the stack).
    pub region: String,
    /// Home region of Identity Center.
    pub identity_center_region: String,
    /// What the user import makes login names from (its `UsernameAttribute`).
    pub username_attribute: UsernameAttribute,
}

impl Target {
    /// The target of a deployed template.yaml, from its outputs and parameters (as
    /// CloudFormation's DescribeStacks, or the local deploy, reports them) in `region`.
    pub fn from_stack(
        outputs: &BTreeMap<String, String>,
        parameters: &BTreeMap<String, String>,
        region: &str,
    ) -> anyhow::Result<Self> {
        let output = |name: &str| {
            outputs
                .get(name)
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let application_arn = output("ApplicationArn")
            .context("the stack has no ApplicationArn output: is it a connect-sso stack, and is it deployed?")?;
        let parameter = |name: &str| {
            parameters
                .get(name)
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
        };
        Ok(Self {
            application_arn,
            connect_instance_id: output("ConnectInstanceId"),
            role_arn: output("FederationRoleArn"),
            provider_arn: output("SamlProviderArn"),
            identity_store_id: output("IdentityStoreId"),
            region: region.to_owned(),
            identity_center_region: parameter("IdentityCenterRegion")
                .unwrap_or(region)
                .to_owned(),
            username_attribute: parameter("UsernameAttribute")
                .map(parse_username_attribute)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// `email` or `userName`, as the template parameter and the import's property spell them.
pub fn parse_username_attribute(text: &str) -> anyhow::Result<UsernameAttribute> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_owned())).map_err(|_| {
        anyhow::anyhow!("username attribute {text:?}: expected \"email\" or \"userName\"")
    })
}

/// The Identity Center expression RoleSessionName must map to for login names made from
/// `attribute` (reference: `${user:email}` is the primary email, `${user:subject}` the user name).
pub fn role_session_name_expression(attribute: UsernameAttribute) -> &'static str {
    match attribute {
        UsernameAttribute::Email => "${user:email}",
        UsernameAttribute::UserName => "${user:subject}",
    }
}

pub fn describe_username_attribute(attribute: UsernameAttribute) -> &'static str {
    match attribute {
        UsernameAttribute::Email => "the primary email (UsernameAttribute email)",
        UsernameAttribute::UserName => "the identity-store user name (UsernameAttribute userName)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_gives_every_id_and_defaults_the_identity_center_region() {
        let outputs = BTreeMap::from([
            (
                "ApplicationArn".to_owned(),
                "arn:aws:sso::123456789012:application/ssoins-1111111111111111/apl-2222222222222222"
                    .to_owned(),
            ),
            ("ConnectInstanceId".to_owned(), "inst-1".to_owned()),
            (
                "FederationRoleArn".to_owned(),
                "arn:aws:iam::123456789012:role/Connect-SSO".to_owned(),
            ),
            (
                "SamlProviderArn".to_owned(),
                "arn:aws:iam::123456789012:saml-provider/Connect-SSO".to_owned(),
            ),
            ("IdentityStoreId".to_owned(), "d-1234567890".to_owned()),
        ]);
        let parameters = BTreeMap::from([
            ("IdentityCenterRegion".to_owned(), String::new()),
            ("UsernameAttribute".to_owned(), "userName".to_owned()),
        ]);
        let target = Target::from_stack(&outputs, &parameters, "eu-west-2").unwrap();
        assert_eq!(target.identity_center_region, "eu-west-2");
        assert_eq!(target.username_attribute, UsernameAttribute::UserName);
        assert_eq!(target.connect_instance_id.as_deref(), Some("inst-1"));
        assert_eq!(target.identity_store_id.as_deref(), Some("d-1234567890"));

        let error = Target::from_stack(&BTreeMap::new(), &parameters, "eu-west-2").unwrap_err();
        assert!(error.to_string().contains("ApplicationArn"), "{error}");
    }

    #[test]
    fn username_attributes_are_the_import_s_two() {
        assert_eq!(
            parse_username_attribute("email").unwrap(),
            UsernameAttribute::Email
        );
        assert!(parse_username_attribute("mail").is_err());
    }
}
