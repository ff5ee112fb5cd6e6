//! Whose credentials sign the Identity Center calls, and where those calls go.
//!
//! IAM Identity Center usually lives in the organization's management account (or a delegated
//! administrator account) while Amazon Connect runs in a workload account, and the console API
//! works only from the account that owns the Identity Center instance. The functions then assume a
//! role in that account (`IdentityCenterRoleArn`, with `IdentityCenterExternalId` when the role's
//! trust policy asks for one) for the Identity Center calls only: console API, sso-admin and
//! identity store. Connect and IAM calls keep the function's own credentials.
//!
//! [`Caller::select`] is the one place that choice is made; [`Caller::config`] turns a base
//! configuration into the one for Identity Center calls.

use std::fmt;

use anyhow::Context;
use arn::RoleArn;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_ssoadmin::error::DisplayErrorContext;

/// STS's limit on a role session name.
pub const MAX_SESSION_NAME_CHARS: usize = 64;

/// The `IdentityCenterExternalId` property: 2-1224 characters of letters, digits and `_+=,.@:/-`
/// (what STS accepts). The role's owner may treat it as a shared secret, so neither its `Debug`
/// nor a refusal shows it. Dereferences to the text for the one call that needs it.
#[derive(Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl TryFrom<String> for ExternalId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim();
        let valid_chars = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
        if (2..=1224).contains(&text.chars().count()) && valid_chars {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "it must be 2-1224 characters of letters, digits and _+=,.@:/- ({} characters given)",
                text.chars().count()
            ))
        }
    }
}

impl From<ExternalId> for String {
    fn from(id: ExternalId) -> String {
        id.0
    }
}

impl std::ops::Deref for ExternalId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExternalId([redacted])")
    }
}

/// A role in the Identity Center account, from the `IdentityCenterRoleArn` and
/// `IdentityCenterExternalId` properties.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityCenterRole {
    pub role_arn: RoleArn,
    /// Never logged nor put in a Reason (the role's owner may treat it as a shared secret).
    pub external_id: Option<ExternalId>,
}

impl std::fmt::Debug for IdentityCenterRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCenterRole")
            .field("role_arn", &self.role_arn.as_str())
            .field("external_id", &self.external_id)
            .finish()
    }
}

/// Why an external id alone is refused.
pub const EXTERNAL_ID_WITHOUT_ROLE: &str = "IdentityCenterExternalId is only used to assume IdentityCenterRoleArn, which is not given; set both or neither";

impl IdentityCenterRole {
    /// The role of two typed properties; `None` when no role is given. An external id without a
    /// role is refused ([`EXTERNAL_ID_WITHOUT_ROLE`]): it would be silently ignored.
    pub fn from_parts(
        role_arn: Option<RoleArn>,
        external_id: Option<ExternalId>,
    ) -> Result<Option<Self>, &'static str> {
        match (role_arn, external_id) {
            (None, Some(_)) => Err(EXTERNAL_ID_WITHOUT_ROLE),
            (None, None) => Ok(None),
            (Some(role_arn), external_id) => Ok(Some(Self {
                role_arn,
                external_id,
            })),
        }
    }

    /// The same from texts (template parameters, test set-ups), blanks counted as absent; the
    /// error names the property.
    pub fn from_properties(
        role_arn: Option<&str>,
        external_id: Option<&str>,
    ) -> anyhow::Result<Option<Self>> {
        fn given(value: Option<&str>) -> Option<&str> {
            value.filter(|text| !text.trim().is_empty())
        }
        let role_arn = given(role_arn)
            .map(str::parse::<RoleArn>)
            .transpose()
            .map_err(|error| anyhow::anyhow!("invalid property IdentityCenterRoleArn: {error}"))?;
        let external_id = given(external_id)
            .map(|id| ExternalId::try_from(id.to_owned()))
            .transpose()
            .map_err(|error| {
                anyhow::anyhow!("invalid property IdentityCenterExternalId: {error}")
            })?;
        Self::from_parts(role_arn, external_id)
            .map_err(|error| anyhow::anyhow!("invalid properties: {error}"))
    }

    /// The account the role belongs to: the Identity Center account.
    pub fn account(&self) -> &str {
        self.role_arn.account().as_str()
    }
}

/// A role session name naming the stack and the resource, as the Identity Center account's
/// CloudTrail shows it: `<stack name>.<logical id>`, characters STS refuses replaced by `-`, cut
/// to 64 characters (the stack name is shortened first).
pub fn session_name(stack_name: &str, logical_resource_id: &str) -> String {
    let clean = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let logical: String = clean(logical_resource_id)
        .chars()
        .take(MAX_SESSION_NAME_CHARS / 2)
        .collect();
    let room = MAX_SESSION_NAME_CHARS - 1 - logical.len();
    let stack: String = clean(stack_name).chars().take(room).collect();
    let name = match (stack.is_empty(), logical.is_empty()) {
        (false, false) => format!("{stack}.{logical}"),
        (false, true) => stack,
        (true, false) => logical,
        (true, true) => String::new(),
    };
    // STS wants at least 2 characters.
    if name.len() < 2 {
        format!("connect-sso{name}")
    } else {
        name
    }
}

/// Where Identity Center calls go: the account whose credentials sign them (the assumed role's,
/// or the function's own) and the home region. Every error of a call names it, because a
/// cross-account denial from Identity Center only says a resource "does not exist in this Region".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// The account called, when known (the role's, or the stack's for the function's own role).
    pub account: Option<String>,
    /// The role assumed for the call; `None`: the function's own credentials.
    pub role_arn: Option<String>,
    pub region: String,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.account, &self.role_arn) {
            (Some(account), Some(role)) => write!(f, "account {account} as {role}, "),
            (None, Some(role)) => write!(f, "the account of {role}, "),
            (Some(account), None) => write!(f, "account {account} as the function's own role, "),
            (None, None) => Ok(()),
        }?;
        write!(f, "region {}", self.region)
    }
}

/// Whose credentials sign the Identity Center calls.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The assumed role's credentials; `None`: each base configuration's own.
    credentials: Option<SharedCredentialsProvider>,
    account: Option<String>,
    role_arn: Option<String>,
}

impl Caller {
    /// The function's own credentials. `account` (the stack's, which is the function's) only
    /// serves to name it in errors.
    pub fn own(account: Option<&str>) -> Self {
        Self {
            credentials: None,
            account: account.map(str::to_owned),
            role_arn: None,
        }
    }

    /// `role` when one is given, assumed at once (a failure is reported here, naming the role,
    /// not later as an obscure signing error); otherwise the function's own credentials.
    ///
    /// `own` is the function's own configuration: STS is called with its credentials, region and
    /// endpoint. The session lasts STS's default hour, longer than any Lambda invocation, so the
    /// credentials are fetched once per request and used as they are.
    pub async fn select(
        own: &SdkConfig,
        role: Option<&IdentityCenterRole>,
        session_name: &str,
        own_account: Option<&str>,
    ) -> anyhow::Result<Self> {
        let Some(role) = role else {
            return Ok(Self::own(own_account));
        };
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.to_string())
            .session_name(session_name)
            .configure(own);
        if let Some(external_id) = &role.external_id {
            provider = provider.external_id(external_id.to_string());
        }
        let credentials = provider
            .build()
            .await
            .provide_credentials()
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "sts AssumeRole of IdentityCenterRoleArn {} failed ({}{}): {}",
                    role.role_arn,
                    match own.region() {
                        Some(region) => format!("STS in region {region}, "),
                        None => String::new(),
                    },
                    if role.external_id.is_some() {
                        "with IdentityCenterExternalId"
                    } else {
                        "without an external id"
                    },
                    DisplayErrorContext(&error)
                )
            })
            .context(
                "the function could not act in the Identity Center account: check the role's trust policy (docs/cross-account.md) and the function's sts:AssumeRole permission",
            )?;
        tracing::info!(role_arn = %role.role_arn, session_name, "assumed the Identity Center role");
        Ok(Self {
            credentials: Some(SharedCredentialsProvider::new(credentials)),
            account: Some(role.account().to_owned()),
            role_arn: Some(role.role_arn.to_string()),
        })
    }

    /// `base` (endpoints, retry and timeouts) in the Identity Center home `region`, signed as this
    /// caller.
    pub fn config(&self, base: &SdkConfig, region: &str) -> SdkConfig {
        let mut builder = base.to_builder().region(Region::new(region.to_owned()));
        if let Some(credentials) = &self.credentials {
            builder = builder.credentials_provider(credentials.clone());
        }
        builder.build()
    }

    /// Where calls signed as this caller go in `region`.
    pub fn destination(&self, region: &str) -> Destination {
        Destination {
            account: self.account.clone(),
            role_arn: self.role_arn.clone(),
            region: region.to_owned(),
        }
    }

    /// Whether this caller is an assumed role (not the function's own credentials).
    pub fn is_assumed_role(&self) -> bool {
        self.credentials.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/connect-sso/IdentityCenterAccess";

    #[test]
    fn the_role_properties_are_checked() {
        assert_eq!(
            IdentityCenterRole::from_properties(None, None).unwrap(),
            None
        );
        assert_eq!(
            IdentityCenterRole::from_properties(Some(" "), Some("")).unwrap(),
            None
        );
        let role = IdentityCenterRole::from_properties(Some(ROLE), Some("a-secret:1"))
            .unwrap()
            .unwrap();
        assert_eq!(role.account(), "111122223333");
        assert_eq!(role.external_id.as_deref(), Some("a-secret:1"));
        assert!(!format!("{role:?}").contains("a-secret:1"), "{role:?}");
        let property: Option<ExternalId> = serde_json::from_str(r#""a-secret:1""#).unwrap();
        assert_eq!(property.as_deref(), Some("a-secret:1"));
        assert!(
            !format!("{property:?}").contains("a-secret"),
            "{property:?}"
        );

        let error = |arn: Option<&str>, id: Option<&str>| {
            IdentityCenterRole::from_properties(arn, id)
                .unwrap_err()
                .to_string()
        };
        assert!(
            error(None, Some("abc")).starts_with(
                "invalid properties: IdentityCenterExternalId is only used to assume IdentityCenterRoleArn"
            ),
            "{}",
            error(None, Some("abc"))
        );
        for bad in [
            "IdentityCenterAccess",
            "arn:aws:iam::111122223333:user/bob",
            "arn:aws:iam::1111:role/x",
            "arn:aws:sts::111122223333:assumed-role/x/y",
            "arn:aws:iam::111122223333:role/",
        ] {
            assert!(
                error(Some(bad), None).starts_with(&format!(
                    "invalid property IdentityCenterRoleArn: '{bad}' is not an IAM role ARN"
                )),
                "{bad}"
            );
        }
        for bad in ["Z", "has space", "semi;colon"] {
            let message = error(Some(ROLE), Some(bad));
            assert!(
                message.starts_with("invalid property IdentityCenterExternalId:"),
                "{message}"
            );
            assert!(
                !message.contains(bad),
                "the value is not repeated: {message}"
            );
        }
    }

    #[test]
    fn session_names_name_the_stack_and_fit_sts() {
        assert_eq!(
            session_name("connect-sso", "IdentityCenterApp"),
            "connect-sso.IdentityCenterApp"
        );
        let long = session_name(&"s".repeat(128), &"L".repeat(255));
        assert_eq!(long.chars().count(), MAX_SESSION_NAME_CHARS);
        assert!(long.starts_with("sss") && long.ends_with("LLL") && long.contains('.'));
        assert_eq!(session_name("my stack/x", "App"), "my-stack-x.App");
        assert_eq!(session_name("", ""), "connect-sso");
        assert_eq!(session_name("a", ""), "connect-ssoa");
        for name in [long, session_name("ünïcode", "Ä")] {
            assert!(
                name.len() >= 2
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)),
                "{name}"
            );
        }
    }

    #[test]
    fn destinations_name_account_role_and_region() {
        let assumed = Destination {
            account: Some("111122223333".into()),
            role_arn: Some(ROLE.into()),
            region: "eu-west-1".into(),
        };
        assert_eq!(
            assumed.to_string(),
            format!("account 111122223333 as {ROLE}, region eu-west-1")
        );
        assert_eq!(
            Caller::own(Some("123456789012"))
                .destination("us-east-1")
                .to_string(),
            "account 123456789012 as the function's own role, region us-east-1"
        );
        assert_eq!(
            Caller::own(None).destination("us-east-1").to_string(),
            "region us-east-1"
        );
    }
}
