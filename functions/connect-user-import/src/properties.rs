//! The properties of `Custom::ConnectUserImport`, as CloudFormation sends them.

use std::fmt;

use arn::{Arn, Region, RoleArn};
use custom_resource::lenient;
use custom_resource::value::NonBlank;
use identity_center::IdentityCenterRole;
use identity_center::access::ExternalId;
use serde::{Deserialize, Deserializer, Serialize};

/// Connect's limit on security profiles per user.
pub const MAX_SECURITY_PROFILES: usize = 10;
/// Connect's documented maximum after-contact-work time, in seconds.
pub const MAX_AFTER_CONTACT_WORK_SECONDS: u32 = 2_000_000;

/// Each property is checked by its type while it is read; [`Properties::validate`] checks what
/// spans two of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Properties {
    /// The Connect instance: its id or ARN.
    pub instance_id: ConnectInstanceId,
    /// Default: the identity store of the Identity Center instance in `IdentityCenterRegion`.
    #[serde(default)]
    pub identity_store_id: Option<String>,
    /// Where Identity Center lives; default: the function's region.
    #[serde(default, deserialize_with = "lenient::given")]
    pub identity_center_region: Option<Region>,
    /// A role in the Identity Center account, assumed for the directory reads (identity store,
    /// sso-admin) when Identity Center lives in another account; default: the function's own.
    #[serde(default, deserialize_with = "lenient::given")]
    pub identity_center_role_arn: Option<RoleArn>,
    /// The external id that role's trust policy asks for.
    #[serde(default, deserialize_with = "lenient::given")]
    pub identity_center_external_id: Option<ExternalId>,
    /// Identity-store group display names or ids; members of any of them are imported.
    #[serde(deserialize_with = "at_least_one_group")]
    pub groups: Vec<NonBlank>,
    #[serde(default)]
    pub username_attribute: UsernameAttribute,
    #[serde(default = "default_security_profiles")]
    pub security_profiles: SecurityProfiles,
    #[serde(default = "default_routing_profile")]
    pub routing_profile: NonBlank,
    #[serde(default)]
    pub group_rules: Vec<GroupRule>,
    #[serde(default)]
    pub phone_type: PhoneType,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub auto_accept: bool,
    /// Seconds; 0 means no limit.
    #[serde(default, deserialize_with = "after_contact_work_seconds")]
    pub after_contact_work_time_limit: u32,
    #[serde(default)]
    pub on_user_removed: OnUserRemoved,
    #[serde(default)]
    pub on_deadline: OnDeadline,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub adopt_existing: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub dry_run: bool,
}

/// Members of `group` get these profiles instead of the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GroupRule {
    pub group: NonBlank,
    #[serde(default)]
    pub security_profiles: Option<SecurityProfiles>,
    #[serde(default)]
    pub routing_profile: Option<NonBlank>,
}

/// The identity-store field that becomes the Connect username. It must be the field the
/// Identity Center application maps to RoleSessionName (`${user:email}` → `email`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum UsernameAttribute {
    #[default]
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "userName")]
    UserName,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PhoneType {
    #[default]
    SoftPhone,
    DeskPhone,
}

impl PhoneType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SoftPhone => "SOFT_PHONE",
            Self::DeskPhone => "DESK_PHONE",
        }
    }
}

/// What happens to a Connect user whose directory user left the groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum OnUserRemoved {
    #[default]
    Delete,
    Retain,
}

/// What an import that cannot finish before CloudFormation stops waiting (the custom resource's
/// ServiceTimeout, at most an hour) does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum OnDeadline {
    /// Answer SUCCESS with what is done (`ImportComplete` false, `UsersRemaining`) and finish in
    /// the background while the stack stays in that operation.
    #[default]
    ContinueInBackground,
    /// Answer FAILED when the hour is up: on a Create, the rollback deletes the users made.
    Fail,
}

fn default_security_profiles() -> SecurityProfiles {
    SecurityProfiles(vec![NonBlank::literal("Agent")])
}

fn default_routing_profile() -> NonBlank {
    NonBlank::literal("Basic Routing Profile")
}

/// The `Groups` property: at least one name, none blank.
fn at_least_one_group<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<NonBlank>, D::Error> {
    let groups = Vec::<NonBlank>::deserialize(deserializer)?;
    if groups.is_empty() {
        return Err(serde::de::Error::custom(
            "give at least one identity-store group display name or id",
        ));
    }
    Ok(groups)
}

/// The `AfterContactWorkTimeLimit` property: seconds up to Connect's maximum, 0 for no limit.
fn after_contact_work_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let seconds: u32 = lenient::number(deserializer)?;
    if seconds > MAX_AFTER_CONTACT_WORK_SECONDS {
        return Err(serde::de::Error::custom(format!(
            "{seconds} seconds is above Connect's maximum of {MAX_AFTER_CONTACT_WORK_SECONDS} (0 = no limit)"
        )));
    }
    Ok(seconds)
}

/// Security profile names, 1 to [`MAX_SECURITY_PROFILES`] as Connect accepts per user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "Vec<NonBlank>", into = "Vec<NonBlank>")]
pub struct SecurityProfiles(Vec<NonBlank>);

impl TryFrom<Vec<NonBlank>> for SecurityProfiles {
    type Error = String;
    fn try_from(names: Vec<NonBlank>) -> Result<Self, String> {
        if !(1..=MAX_SECURITY_PROFILES).contains(&names.len()) {
            return Err(format!(
                "{} security profiles given; Connect accepts 1 to {MAX_SECURITY_PROFILES} per user",
                names.len()
            ));
        }
        Ok(Self(names))
    }
}

impl From<SecurityProfiles> for Vec<NonBlank> {
    fn from(profiles: SecurityProfiles) -> Self {
        profiles.0
    }
}

impl std::ops::Deref for SecurityProfiles {
    type Target = [NonBlank];
    fn deref(&self) -> &[NonBlank] {
        &self.0
    }
}

/// The `InstanceId` property: a Connect instance id, given as the id or the instance's ARN
/// (`arn:aws:connect:<region>:<account>:instance/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectInstanceId(String);

impl ConnectInstanceId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConnectInstanceId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let value = text.trim();
        let id = match Arn::parse(value) {
            Some(arn) => arn
                .resource_of_kind("instance")
                .filter(|id| arn.service == "connect" && !id.contains('/'))
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!("{value:?} is not a Connect instance ARN (arn:aws:connect:<region>:<account>:instance/<id>)")
                })?,
            None => value.to_owned(),
        };
        let valid = (1..=100).contains(&id.len())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(format!(
                "{value:?} is not a Connect instance id or ARN (expected e.g. 8f1c2d3e-… or arn:aws:connect:<region>:<account>:instance/<id>)"
            ));
        }
        Ok(Self(id))
    }
}

impl From<ConnectInstanceId> for String {
    fn from(id: ConnectInstanceId) -> String {
        id.0
    }
}

impl PartialEq<&str> for ConnectInstanceId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for ConnectInstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Properties {
    /// Checks what spans two properties (each one was checked as it was read).
    pub fn validate(&self) -> anyhow::Result<()> {
        self.identity_center_role()?;
        Ok(())
    }

    /// The role to assume for the directory reads, if any.
    pub fn identity_center_role(&self) -> anyhow::Result<Option<IdentityCenterRole>> {
        IdentityCenterRole::from_parts(
            self.identity_center_role_arn.clone(),
            self.identity_center_external_id.clone(),
        )
        .map_err(|problem| anyhow::anyhow!("invalid properties: {problem}"))
    }

    /// The instance id, from an id or an ARN.
    pub fn instance_id(&self) -> &str {
        self.instance_id.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Properties, String> {
        custom_resource::parse_properties::<Properties>(&value)
    }

    #[test]
    fn defaults_follow_the_guide() {
        let p = parse(json!({"InstanceId": "abc-1", "Groups": ["Agents"]})).unwrap();
        assert_eq!(p.username_attribute, UsernameAttribute::Email);
        assert_eq!(p.security_profiles.len(), 1);
        assert_eq!(p.security_profiles[0].as_str(), "Agent");
        assert_eq!(p.routing_profile.as_str(), "Basic Routing Profile");
        assert_eq!(p.phone_type, PhoneType::SoftPhone);
        assert!(!p.auto_accept && !p.adopt_existing && !p.dry_run);
        assert_eq!(p.after_contact_work_time_limit, 0);
        assert_eq!(p.on_user_removed, OnUserRemoved::Delete);
        p.validate().unwrap();
    }

    #[test]
    fn stringified_scalars_are_accepted() {
        let p = parse(json!({
            "InstanceId": "abc", "Groups": ["g"], "AutoAccept": "true", "AfterContactWorkTimeLimit": "30",
            "AdoptExisting": "TRUE", "DryRun": "false", "PhoneType": "DESK_PHONE", "OnUserRemoved": "Retain",
            "UsernameAttribute": "userName",
            "GroupRules": [{"Group": "Sup", "SecurityProfiles": ["CallCenterManager"], "RoutingProfile": "R"}]
        }))
        .unwrap();
        assert!(p.auto_accept && p.adopt_existing && !p.dry_run);
        assert_eq!(p.after_contact_work_time_limit, 30);
        assert_eq!(
            (p.phone_type, p.on_user_removed),
            (PhoneType::DeskPhone, OnUserRemoved::Retain)
        );
        assert_eq!(p.username_attribute, UsernameAttribute::UserName);
        assert_eq!(p.group_rules[0].routing_profile.as_deref(), Some("R"));
    }

    #[test]
    fn bad_enumerations_name_what_is_accepted() {
        let e = parse(json!({"InstanceId": "a", "Groups": ["g"], "UsernameAttribute": "subject"}))
            .unwrap_err();
        assert!(e.contains("`email`") && e.contains("`userName`"), "{e}");
        let e =
            parse(json!({"InstanceId": "a", "Groups": ["g"], "PhoneType": "soft"})).unwrap_err();
        assert!(e.contains("SOFT_PHONE") && e.contains("DESK_PHONE"), "{e}");
        let e = parse(json!({"InstanceId": "a", "Groups": ["g"], "OnUserRemoved": "Keep"}))
            .unwrap_err();
        assert!(e.contains("Delete") && e.contains("Retain"), "{e}");
        let e =
            parse(json!({"InstanceId": "a", "Groups": ["g"], "OnDeadline": "Wait"})).unwrap_err();
        assert!(
            e.contains("OnDeadline") && e.contains("ContinueInBackground") && e.contains("Fail"),
            "{e}"
        );
    }

    #[test]
    fn instance_ids_and_arns() {
        let p = parse(
            json!({"InstanceId": "arn:aws:connect:eu-west-1:123:instance/abc-9", "Groups": ["g"]}),
        )
        .unwrap();
        assert_eq!(p.instance_id(), "abc-9");
        for bad in [
            "arn:aws:connect:eu-west-1:123:instance/abc/agent/x",
            "arn:aws:iam::123456789012:role/abc",
            "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc",
            "has space",
        ] {
            let e = parse(json!({"InstanceId": bad, "Groups": ["g"]})).unwrap_err();
            assert!(e.starts_with("invalid property InstanceId:"), "{e}");
        }
    }

    #[test]
    fn validation_names_the_property() {
        let base = json!({"InstanceId": "a", "Groups": ["g"]});
        let check = |patch: serde_json::Value| {
            let mut value = base.clone();
            value
                .as_object_mut()
                .unwrap()
                .extend(patch.as_object().unwrap().clone());
            parse(value).unwrap_err()
        };
        assert!(check(json!({"Groups": []})).contains("Groups"));
        assert!(check(json!({"Groups": ["g", " "]})).contains("Groups[1]"));
        assert!(
            check(json!({"SecurityProfiles": []}))
                .contains("SecurityProfiles: 0 security profiles")
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("p{i}")).collect();
        assert!(check(json!({"SecurityProfiles": eleven})).contains("1 to 10"));
        assert!(check(json!({"RoutingProfile": ""})).contains("RoutingProfile"));
        assert!(check(json!({"GroupRules": [{"Group": ""}]})).contains("GroupRules[0].Group"));
        assert!(
            check(json!({"GroupRules": [{"Group": "x", "SecurityProfiles": []}]}))
                .contains("GroupRules[0].SecurityProfiles")
        );
        assert!(
            check(json!({"GroupRules": [{"Group": "x", "RoutingProfile": " "}]}))
                .contains("GroupRules[0].RoutingProfile")
        );
        assert!(
            check(json!({"AfterContactWorkTimeLimit": 2_000_001}))
                .contains("AfterContactWorkTimeLimit")
        );
        assert!(check(json!({"IdentityCenterRegion": "Ireland"})).contains("IdentityCenterRegion"));
        let p =
            parse(json!({"InstanceId": "a", "Groups": ["g"], "IdentityCenterExternalId": "abc"}))
                .unwrap();
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("IdentityCenterExternalId is only used"), "{e}");
    }

    #[test]
    fn unknown_properties_are_refused() {
        let e = parse(json!({"InstanceId": "a", "Groups": ["g"], "Group": "x"})).unwrap_err();
        assert!(e.contains("unknown field `Group`"), "{e}");
    }

    #[test]
    fn properties_serialise_to_what_parses_back() {
        let p = parse(json!({
            "InstanceId": "arn:aws:connect:eu-west-1:123:instance/abc-9", "Groups": ["g"],
            "IdentityCenterRegion": "eu-west-1", "AfterContactWorkTimeLimit": "30"
        }))
        .unwrap();
        let again = parse(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(again, p);
    }
}
