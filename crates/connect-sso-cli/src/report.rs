//! What `doctor` and `preflight` report: one line per check (`✔`/`✘`, name, detail, fix), then a
//! summary line that says what the result means for their [`Purpose`].

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every check either command runs, named as the output and the JSON show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckName {
    // doctor: the links of a sign-in
    Application,
    ServiceProvider,
    Assignments,
    ConnectInstance,
    RelayState,
    RoleAttribute,
    RoleTrust,
    RolePermission,
    ProviderMetadata,
    Certificate,
    RoleSessionName,
    ConnectUsers,
    // preflight: what would fail a first deployment
    ConsoleApi,
    IdentityCenterInstance,
    ActionNames,
    Groups,
    ApplicationName,
    UserQuota,
    SamlProviderName,
    FederationRoleName,
}

impl CheckName {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::ServiceProvider => "service-provider",
            Self::Assignments => "assignments",
            Self::ConnectInstance => "connect-instance",
            Self::RelayState => "relay-state",
            Self::RoleAttribute => "role-attribute",
            Self::RoleTrust => "role-trust",
            Self::RolePermission => "role-permission",
            Self::ProviderMetadata => "provider-metadata",
            Self::Certificate => "certificate",
            Self::RoleSessionName => "role-session-name",
            Self::ConnectUsers => "connect-users",
            Self::ConsoleApi => "console-api",
            Self::IdentityCenterInstance => "identity-center-instance",
            Self::ActionNames => "action-names",
            Self::Groups => "groups",
            Self::ApplicationName => "application-name",
            Self::UserQuota => "user-quota",
            Self::SamlProviderName => "saml-provider-name",
            Self::FederationRoleName => "federation-role-name",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for CheckName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: CheckName,
    pub ok: bool,
    /// What was found (or, for a check that could not run, why).
    pub detail: String,
    /// What to do about a failure.
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: CheckName, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(name: CheckName, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A check that could not run because an earlier link is broken.
    pub fn blocked(name: CheckName, because: &str) -> Self {
        Self {
            name,
            ok: false,
            detail: format!("not checked: {because}"),
            fix: None,
        }
    }
}

/// What the checks are for: the summary line says what passing or failing means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Purpose {
    /// `doctor`: whether assigned members can sign in to Connect.
    #[default]
    SignIn,
    /// `preflight`: whether the first deployment would fail.
    Deployment,
}

/// Every check, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub purpose: Purpose,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(purpose: Purpose) -> Self {
        Self {
            purpose,
            checks: Vec::new(),
        }
    }

    /// All checks passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }

    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.ok)
    }

    /// `{"ok": …, "checks": [{name, ok, detail, fix}]}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "ok": self.ok(), "checks": self.checks })
    }

    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = if check.ok { '✔' } else { '✘' };
            write!(f, "{mark} {}: {}", check.name, check.detail)?;
            if let Some(fix) = &check.fix {
                write!(f, " → fix: {fix}")?;
            }
            writeln!(f)?;
        }
        let (total, failed) = (self.checks.len(), self.failed().count());
        match (self.purpose, failed) {
            (Purpose::SignIn, 0) => write!(
                f,
                "all {total} checks passed: assigned members can sign in to Connect"
            ),
            (Purpose::SignIn, _) => write!(
                f,
                "{failed} of {total} checks failed: sign-in will not work as intended"
            ),
            (Purpose::Deployment, 0) => write!(
                f,
                "all {total} checks passed: nothing found that would fail the deployment"
            ),
            (Purpose::Deployment, _) => write!(
                f,
                "{failed} of {total} checks failed: fix them before deploying"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_show_as_in_the_json() {
        let check = Check::pass(CheckName::RoleSessionName, "ok");
        assert_eq!(
            serde_json::to_value(&check).unwrap()["name"],
            "role-session-name"
        );
        assert_eq!(CheckName::ConsoleApi.to_string(), "console-api");
        assert!(CheckName::Groups == "groups");
    }

    #[test]
    fn the_summary_line_follows_the_purpose() {
        let mut report = Report::new(Purpose::Deployment);
        report.push(Check::pass(CheckName::Groups, "found"));
        assert!(
            report
                .to_string()
                .ends_with("nothing found that would fail the deployment")
        );
        report.push(Check::fail(CheckName::UserQuota, "full", "raise it"));
        assert!(
            report
                .to_string()
                .ends_with("1 of 2 checks failed: fix them before deploying")
        );
        report.purpose = Purpose::SignIn;
        assert!(
            report
                .to_string()
                .ends_with("sign-in will not work as intended")
        );
        assert_eq!(report.check("user-quota").map(|c| c.ok), Some(false));
    }
}
