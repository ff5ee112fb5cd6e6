//! The properties of `Custom::ConnectUserImport`, as CloudFormation sends them.

use anyhow::{Context, bail, ensure};
use custom_resource::lenient;
use identity_center::IdentityCenterRole;
use serde::{Deserialize, Serialize};

/// Connect's limit on security profiles per user.
pub const MAX_SECURITY_PROFILES: usize = 10;
/// Connect's documented maximum after-contact-work time, in seconds.
pub const MAX_AFTER_CONTACT_WORK_SECONDS: u32 = 2_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Properties {
    /// The Connect instance: its id or ARN.
    pub instance_id: String,
    /// Default: the identity store of the Identity Center instance in `IdentityCenterRegion`.
    #[serde(default)]
    pub identity_store_id: Option<String>,
    /// Where Identity Center lives; default: the function's region.
    #[serde(default)]
    pub identity_center_region: Option<String>,
    /// A role in the Identity Center account, assumed for the directory reads (identity store,
    /// sso-admin) when Identity Center lives in another account; default: the function's own.
    #[serde(default)]
    pub identity_center_role_arn: Option<String>,
    /// The external id that role's trust policy asks for.
    #[serde(default)]
    pub identity_center_external_id: Option<identity_center::access::ExternalId>,
    /// Identity-store group display names or ids; members of any of them are imported.
    pub groups: Vec<String>,
    #[serde(default)]
    pub username_attribute: UsernameAttribute,
    #[serde(default = "default_security_profiles")]
    pub security_profiles: Vec<String>,
    #[serde(default = "default_routing_profile")]
    pub routing_profile: String,
    #[serde(default)]
    pub group_rules: Vec<GroupRule>,
    #[serde(default)]
    pub phone_type: PhoneType,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub auto_accept: bool,
    /// Seconds; 0 means no limit.
    #[serde(default, deserialize_with = "lenient::number")]
    pub after_contact_work_time_limit: u32,
    #[serde(default)]
    pub on_user_removed: OnUserRemoved,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub adopt_existing: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub dry_run: bool,
}

/// Members of `group` get these profiles instead of the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GroupRule {
    pub group: String,
    #[serde(default)]
    pub security_profiles: Option<Vec<String>>,
    #[serde(default)]
    pub routing_profile: Option<String>,
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

fn default_security_profiles() -> Vec<String> {
    vec!["Agent".to_owned()]
}

fn default_routing_profile() -> String {
    "Basic Routing Profile".to_owned()
}

impl Properties {
    /// Checks what the types alone cannot, naming the property and what is accepted.
    pub fn validate(&self) -> anyhow::Result<()> {
        instance_id(&self.instance_id)?;
        self.identity_center_role()?;
        ensure!(
            self.groups.iter().any(|group| !group.trim().is_empty()),
            "invalid property Groups: give at least one identity-store group display name or id"
        );
        ensure!(
            !self.groups.iter().any(|group| group.trim().is_empty()),
            "invalid property Groups: an empty group name was given"
        );
        check_security_profiles("SecurityProfiles", &self.security_profiles)?;
        ensure!(
            !self.routing_profile.trim().is_empty(),
            "invalid property RoutingProfile: give a routing profile name"
        );
        for (index, rule) in self.group_rules.iter().enumerate() {
            ensure!(
                !rule.group.trim().is_empty(),
                "invalid property GroupRules[{index}].Group: give a group display name or id"
            );
            if let Some(profiles) = &rule.security_profiles {
                check_security_profiles(
                    &format!("GroupRules[{index}].SecurityProfiles"),
                    profiles,
                )?;
            }
            if rule
                .routing_profile
                .as_deref()
                .is_some_and(|name| name.trim().is_empty())
            {
                bail!(
                    "invalid property GroupRules[{index}].RoutingProfile: give a routing profile name or leave it out"
                );
            }
        }
        ensure!(
            self.after_contact_work_time_limit <= MAX_AFTER_CONTACT_WORK_SECONDS,
            "invalid property AfterContactWorkTimeLimit: {} seconds is above Connect's maximum of {MAX_AFTER_CONTACT_WORK_SECONDS} (0 = no limit)",
            self.after_contact_work_time_limit
        );
        Ok(())
    }

    /// The role to assume for the directory reads, if any.
    pub fn identity_center_role(&self) -> anyhow::Result<Option<IdentityCenterRole>> {
        IdentityCenterRole::from_properties(
            self.identity_center_role_arn.as_deref(),
            self.identity_center_external_id.as_deref(),
        )
    }

    /// The instance id, from an id or an ARN.
    pub fn instance_id(&self) -> anyhow::Result<String> {
        instance_id(&self.instance_id)
    }
}

fn check_security_profiles(property: &str, profiles: &[String]) -> anyhow::Result<()> {
    ensure!(
        (1..=MAX_SECURITY_PROFILES).contains(&profiles.len()),
        "invalid property {property}: {} security profiles given; Connect accepts 1 to {MAX_SECURITY_PROFILES} per user",
        profiles.len()
    );
    ensure!(
        profiles.iter().all(|name| !name.trim().is_empty()),
        "invalid property {property}: an empty security profile name was given"
    );
    Ok(())
}

/// `arn:aws:connect:<region>:<account>:instance/<id>` or `<id>` → `<id>`.
fn instance_id(value: &str) -> anyhow::Result<String> {
    let value = value.trim();
    let id = match value.strip_prefix("arn:") {
        Some(_) => {
            let resource = value.splitn(6, ':').nth(5).unwrap_or_default();
            resource.strip_prefix("instance/").filter(|id| !id.contains('/')).with_context(|| {
                format!("invalid property InstanceId: {value:?} is not a Connect instance ARN (arn:aws:connect:<region>:<account>:instance/<id>)")
            })?
        }
        None => value,
    };
    let valid =
        (1..=100).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ensure!(
        valid,
        "invalid property InstanceId: {value:?} is not a Connect instance id or ARN (expected e.g. 8f1c2d3e-… or arn:aws:connect:<region>:<account>:instance/<id>)"
    );
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Properties, String> {
        serde_json::from_value::<Properties>(value).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_follow_the_guide() {
        let p = parse(json!({"InstanceId": "abc-1", "Groups": ["Agents"]})).unwrap();
        assert_eq!(p.username_attribute, UsernameAttribute::Email);
        assert_eq!(p.security_profiles, vec!["Agent"]);
        assert_eq!(p.routing_profile, "Basic Routing Profile");
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
    }

    #[test]
    fn instance_ids_and_arns() {
        let mut p = parse(
            json!({"InstanceId": "arn:aws:connect:eu-west-1:123:instance/abc-9", "Groups": ["g"]}),
        )
        .unwrap();
        assert_eq!(p.instance_id().unwrap(), "abc-9");
        p.instance_id = "arn:aws:connect:eu-west-1:123:instance/abc/agent/x".into();
        assert!(p.validate().unwrap_err().to_string().contains("InstanceId"));
        p.instance_id = "has space".into();
        assert!(p.validate().unwrap_err().to_string().contains("InstanceId"));
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
            parse(value).unwrap().validate().unwrap_err().to_string()
        };
        assert!(check(json!({"Groups": []})).contains("Groups"));
        assert!(
            check(json!({"SecurityProfiles": []}))
                .contains("SecurityProfiles: 0 security profiles")
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("p{i}")).collect();
        assert!(check(json!({"SecurityProfiles": eleven})).contains("1 to 10"));
        assert!(check(json!({"GroupRules": [{"Group": ""}]})).contains("GroupRules[0].Group"));
        assert!(
            check(json!({"GroupRules": [{"Group": "x", "SecurityProfiles": []}]}))
                .contains("GroupRules[0].SecurityProfiles")
        );
        assert!(
            check(json!({"AfterContactWorkTimeLimit": 2_000_001}))
                .contains("AfterContactWorkTimeLimit")
        );
    }

    #[test]
    fn unknown_properties_are_refused() {
        let e = parse(json!({"InstanceId": "a", "Groups": ["g"], "Group": "x"})).unwrap_err();
        assert!(e.contains("unknown field `Group`"), "{e}");
    }
}
