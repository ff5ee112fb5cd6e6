//! The permission table (`permissions.yaml`): every AWS operation each function can call and the
//! IAM actions it needs. Checked both ways: against what template.yaml and the cross-account role
//! of docs/cross-account.md grant ([`check_template`], [`check_cross_account_role`]), and against
//! the calls the functions really make ([`check_calls`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;
use serde_json::Value;

use crate::template::Template;

/// `permissions.yaml` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub functions: BTreeMap<String, FunctionRows>,
    pub cross_account_role: RoleDocument,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionRows {
    /// The `AWS::Serverless::Function` of template.yaml that runs this binary.
    pub template_function: String,
    pub calls: Vec<Row>,
}

/// One operation a function can call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// `<api>:<operation>`, as recorded on the wire.
    pub call: String,
    /// Every IAM action the call needs: primary, dependent, both name generations.
    pub actions: Vec<String>,
    pub via: Via,
    /// The service through which a customer-managed KMS key is used (`sso`, `identitystore`).
    #[serde(default)]
    pub kms: Option<String>,
    pub sources: Vec<String>,
    pub confidence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// Signed as the Identity Center caller: the function's role, or IdentityCenterRoleArn.
    IdentityCenter,
    /// Always the function's own role.
    Own,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDocument {
    pub document: String,
    pub logical_id: String,
}

pub const KMS_DECRYPT: &str = "kms:Decrypt";

/// The repository's root (where permissions.yaml and template.yaml live).
pub fn repository_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

impl Table {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let table: Self = serde_norway::from_str(text).context("permissions.yaml")?;
        for (function, rows) in &table.functions {
            for row in &rows.calls {
                if row.call.split_once(':').is_none() || row.actions.is_empty() {
                    bail!(
                        "permissions.yaml: {function}: row {} needs <api>:<operation> and actions",
                        row.call
                    );
                }
                if row.kms.is_some() && row.via != Via::IdentityCenter {
                    bail!(
                        "permissions.yaml: {function}: {} has kms but is not an Identity Center call",
                        row.call
                    );
                }
            }
        }
        Ok(table)
    }

    /// The repository's permissions.yaml.
    pub fn load() -> anyhow::Result<Self> {
        let path = repository_root().join("permissions.yaml");
        Self::parse(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
    }

    pub fn function(&self, name: &str) -> anyhow::Result<&FunctionRows> {
        self.functions
            .get(name)
            .ok_or_else(|| anyhow!("permissions.yaml has no function {name}"))
    }

    /// Every action a function's role needs, kms:Decrypt included when a row needs it.
    pub fn function_actions(&self, name: &str) -> anyhow::Result<BTreeSet<String>> {
        let rows = self.function(name)?;
        Ok(actions_of(rows.calls.iter()))
    }

    /// The services a function's kms:Decrypt must be scoped to (kms:ViaService).
    pub fn function_kms_services(&self, name: &str) -> anyhow::Result<BTreeSet<String>> {
        Ok(kms_services_of(self.function(name)?.calls.iter()))
    }

    fn identity_center_rows(&self) -> impl Iterator<Item = &Row> {
        self.functions
            .values()
            .flat_map(|rows| rows.calls.iter())
            .filter(|row| row.via == Via::IdentityCenter)
    }

    /// Every action the cross-account role needs: the Identity Center calls of all functions.
    pub fn role_actions(&self) -> BTreeSet<String> {
        actions_of(self.identity_center_rows())
    }

    pub fn role_kms_services(&self) -> BTreeSet<String> {
        kms_services_of(self.identity_center_rows())
    }

    /// The row of `function` for a recorded `<api>:<operation>`.
    pub fn row(&self, function: &str, call: &str) -> Option<&Row> {
        self.functions
            .get(function)?
            .calls
            .iter()
            .find(|row| row.call == call)
    }
}

fn actions_of<'a>(rows: impl Iterator<Item = &'a Row>) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for row in rows {
        actions.extend(row.actions.iter().cloned());
        if row.kms.is_some() {
            actions.insert(KMS_DECRYPT.to_owned());
        }
    }
    actions
}

fn kms_services_of<'a>(rows: impl Iterator<Item = &'a Row>) -> BTreeSet<String> {
    rows.filter_map(|row| row.kms.clone()).collect()
}

/// Every policy statement a function's role carries: its SAM `Policies` (both branches of each
/// `Fn::If`: a grant behind a condition is still a grant) and the `AWS::IAM::Policy` resources
/// attached to the role SAM makes for it (`<Function>Role`).
pub fn function_statements(template: &Template, function: &str) -> anyhow::Result<Vec<Value>> {
    let resource = template
        .resource(function)
        .ok_or_else(|| anyhow!("template.yaml has no resource {function}"))?;
    let mut statements = Vec::new();
    collect_statements(&resource["Properties"]["Policies"], &mut statements);
    let role = format!("{function}Role");
    for (_, policy) in &template.resources {
        if policy["Type"] != "AWS::IAM::Policy" {
            continue;
        }
        let attached = policy["Properties"]["Roles"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["Ref"] == role.as_str());
        if attached {
            collect_statements(
                &policy["Properties"]["PolicyDocument"]["Statement"],
                &mut statements,
            );
        }
    }
    Ok(statements)
}

/// Statements of one role resource (its inline `Policies`), e.g. the cross-account role.
pub fn role_statements(template: &Template, logical_id: &str) -> anyhow::Result<Vec<Value>> {
    let resource = template
        .resource(logical_id)
        .ok_or_else(|| anyhow!("no resource {logical_id}"))?;
    let mut statements = Vec::new();
    for policy in resource["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        collect_statements(&policy["PolicyDocument"]["Statement"], &mut statements);
    }
    Ok(statements)
}

/// Finds the statements in a SAM policy list, a policy document or a statement list, looking
/// into both branches of `Fn::If`.
fn collect_statements(value: &Value, into: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect_statements(item, into)),
        Value::Object(fields) => {
            if fields.contains_key("Effect") {
                into.push(value.clone());
            } else if let Some(branches) = fields.get("Fn::If").and_then(Value::as_array) {
                branches
                    .iter()
                    .skip(1)
                    .for_each(|branch| collect_statements(branch, into));
            } else if let Some(statement) = fields.get("Statement") {
                collect_statements(statement, into);
            }
        }
        _ => {}
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The actions the Allow statements grant, except the log writes SAM's basic execution role
/// carries for every function.
pub fn granted_actions(statements: &[Value]) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|statement| statement["Effect"] == "Allow")
        .flat_map(|statement| strings(&statement["Action"]))
        .collect()
}

/// The `<service>` of each `<service>.<region>.amazonaws.com` a kms:Decrypt statement's
/// kms:ViaService condition (StringEquals, or StringLike with `*` for the region) names; an error for a kms:Decrypt granted without that condition.
pub fn kms_via_services(statements: &[Value]) -> Result<BTreeSet<String>, String> {
    let mut services = BTreeSet::new();
    for statement in statements {
        if !strings(&statement["Action"])
            .iter()
            .any(|action| action == KMS_DECRYPT)
        {
            continue;
        }
        let named: Vec<String> = ["StringEquals", "StringLike"]
            .iter()
            .flat_map(
                |operator| match &statement["Condition"][operator]["kms:ViaService"] {
                    Value::Array(items) => items.iter().flat_map(sub_text).collect(),
                    other => sub_text(other),
                },
            )
            .collect();
        if named.is_empty() {
            return Err(format!(
                "kms:Decrypt is granted without a StringEquals or StringLike kms:ViaService condition: {statement}"
            ));
        }
        for endpoint in named {
            let service = endpoint.split('.').next().unwrap_or_default().to_owned();
            if !endpoint.ends_with(".amazonaws.com") || service.is_empty() {
                return Err(format!(
                    "kms:ViaService {endpoint} is not <service>.<region>.amazonaws.com"
                ));
            }
            services.insert(service);
        }
    }
    Ok(services)
}

/// The text of a string or of an (unresolved) `Fn::Sub`.
fn sub_text(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Object(fields) => match fields.get("Fn::Sub") {
            Some(Value::String(text)) => vec![text.clone()],
            Some(Value::Array(parts)) => parts.first().map(strings).unwrap_or_default(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// What `granted` lacks of `needed`, and what it grants that nothing needs, as problem lines.
fn compare(who: &str, needed: &BTreeSet<String>, granted: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for missing in needed.difference(granted) {
        problems.push(format!(
            "{who} lacks {missing}, which permissions.yaml says a call needs"
        ));
    }
    for extra in granted.difference(needed) {
        problems.push(format!(
            "{who} grants {extra}, which no row of permissions.yaml needs"
        ));
    }
    problems
}

/// Problems of template.yaml's function policies against the table (empty: they agree).
pub fn check_template(table: &Table, template: &Template) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for (name, rows) in &table.functions {
        let who = format!("template.yaml {} ({name})", rows.template_function);
        let statements = function_statements(template, &rows.template_function)?;
        problems.extend(compare(
            &who,
            &table.function_actions(name)?,
            &granted_actions(&statements),
        ));
        match kms_via_services(&statements) {
            Ok(services) => problems.extend(compare(
                &format!("{who} kms:ViaService"),
                &table.function_kms_services(name)?,
                &services,
            )),
            Err(problem) => problems.push(format!("{who}: {problem}")),
        }
    }
    Ok(problems)
}

/// The template of the cross-account role: the first ```yaml block of the document.
pub fn cross_account_template(markdown: &str) -> anyhow::Result<Template> {
    let start = markdown
        .find("```yaml\n")
        .ok_or_else(|| anyhow!("no ```yaml block"))?
        + "```yaml\n".len();
    let end = markdown[start..]
        .find("\n```")
        .ok_or_else(|| anyhow!("the ```yaml block does not end"))?;
    Template::parse(&markdown[start..start + end])
}

/// Problems of the cross-account role's permissions against the table (empty: they agree).
pub fn check_cross_account_role(table: &Table, markdown: &str) -> anyhow::Result<Vec<String>> {
    let template = cross_account_template(markdown)?;
    let logical_id = &table.cross_account_role.logical_id;
    let statements = role_statements(&template, logical_id)?;
    let who = format!("{} {logical_id}", table.cross_account_role.document);
    let mut problems = compare(&who, &table.role_actions(), &granted_actions(&statements));
    match kms_via_services(&statements) {
        Ok(services) => problems.extend(compare(
            &format!("{who} kms:ViaService"),
            &table.role_kms_services(),
            &services,
        )),
        Err(problem) => problems.push(format!("{who}: {problem}")),
    }
    Ok(problems)
}

/// A call a function made, as the recording proxies saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The function (binary) whose credentials signed it.
    pub function: String,
    /// `<api>:<operation>`.
    pub call: String,
}

/// Problems of recorded calls against the table: a call with no row for its function, or by a
/// caller that is no function of the table.
pub fn check_calls<'a>(table: &Table, calls: impl IntoIterator<Item = &'a Call>) -> Vec<String> {
    let mut problems = BTreeSet::new();
    for call in calls {
        if !table.functions.contains_key(&call.function) {
            problems.insert(format!(
                "{} was called with credentials of {}, which is no function of permissions.yaml",
                call.call, call.function
            ));
        } else if table.row(&call.function, &call.call).is_none() {
            problems.insert(format!(
                "{} called {}, which permissions.yaml does not list for it",
                call.function, call.call
            ));
        }
    }
    problems.into_iter().collect()
}

/// One request as IAM would evaluate it: an action on a resource, with condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub action: String,
    pub resource: String,
    /// Condition keys of the request context, e.g. `aws:ResourceTag/connect-sso:stack-id`.
    pub context: BTreeMap<String, String>,
}

/// Whether resolved policy `statements` (no intrinsic functions left) allow `request`: an Allow
/// statement matches its action, resource and every condition, and no Deny statement matches.
/// The subset of IAM the template uses: `Action`/`Resource` with `*` and `?` wildcards, and
/// `StringEquals`/`StringLike` conditions (a key missing from the context does not match).
/// Anything else in a statement (NotAction, other operators) counts as not matching an Allow
/// and as matching a Deny, so the evaluation errs towards "denied".
pub fn allows(statements: &[Value], request: &Request) -> bool {
    let matches = |statement: &Value, unknown_matches: bool| -> bool {
        let known = statement.get("NotAction").is_none()
            && statement.get("NotResource").is_none()
            && statement["Condition"].as_object().is_none_or(|conditions| {
                conditions
                    .keys()
                    .all(|operator| operator == "StringEquals" || operator == "StringLike")
            });
        if !known {
            return unknown_matches;
        }
        let action = strings(&statement["Action"])
            .iter()
            .any(|pattern| wildcard(&pattern.to_lowercase(), &request.action.to_lowercase()));
        let resource = strings(&statement["Resource"])
            .iter()
            .any(|pattern| wildcard(pattern, &request.resource));
        let conditions = statement["Condition"]
            .as_object()
            .into_iter()
            .flatten()
            .all(|(operator, keys)| {
                keys.as_object().into_iter().flatten().all(|(key, values)| {
                    let Some(actual) = request.context.get(key) else {
                        return false;
                    };
                    strings(values).iter().any(|expected| {
                        if operator == "StringLike" {
                            wildcard(expected, actual)
                        } else {
                            expected == actual
                        }
                    })
                })
            });
        action && resource && conditions
    };
    let denied = statements
        .iter()
        .filter(|statement| statement["Effect"] == "Deny")
        .any(|statement| matches(statement, true));
    let allowed = statements
        .iter()
        .filter(|statement| statement["Effect"] == "Allow")
        .any(|statement| matches(statement, false));
    allowed && !denied
}

/// IAM's `*` (any run of characters) and `?` (one character) matching.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Every statement of resolved SAM `Policies` (as the local stack resolved them: no `Fn::If`
/// left, `AWS::NoValue` removed).
pub fn resolved_statements(policies: &Value) -> Vec<Value> {
    let mut statements = Vec::new();
    collect_statements(policies, &mut statements);
    statements
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1";

    fn user_request(action: &str, instance: &str, tag: Option<&str>) -> Request {
        Request {
            action: action.into(),
            resource: format!(
                "arn:aws:connect:us-east-1:123456789012:instance/{instance}/agent/u1"
            ),
            context: tag
                .map(|value| {
                    BTreeMap::from([(
                        "aws:ResourceTag/connect-sso:stack-id".to_owned(),
                        value.to_owned(),
                    )])
                })
                .unwrap_or_default(),
        }
    }

    fn policy() -> Vec<Value> {
        vec![
            json!({"Effect": "Allow", "Action": ["connect:DeleteUser", "connect:CreateUser"],
                   "Resource": ["arn:aws:connect:us-east-1:123456789012:instance/new",
                                "arn:aws:connect:us-east-1:123456789012:instance/new/*"]}),
            json!({"Effect": "Allow", "Action": "connect:DeleteUser",
                   "Resource": "arn:aws:connect:us-east-1:123456789012:instance/*/agent/*",
                   "Condition": {"StringEquals": {"aws:ResourceTag/connect-sso:stack-id": STACK}}}),
        ]
    }

    #[test]
    fn a_tag_condition_allows_only_this_stacks_users_elsewhere() {
        let policy = policy();
        assert!(allows(
            &policy,
            &user_request("connect:DeleteUser", "new", None)
        ));
        assert!(allows(
            &policy,
            &user_request("connect:DeleteUser", "old", Some(STACK))
        ));
        assert!(!allows(
            &policy,
            &user_request("connect:DeleteUser", "old", None)
        ));
        assert!(!allows(
            &policy,
            &user_request("connect:DeleteUser", "old", Some("other"))
        ));
        assert!(!allows(
            &policy,
            &user_request("connect:CreateUser", "old", Some(STACK))
        ));
        // Without the cleanup statement, the old instance's users are out of reach.
        assert!(!allows(
            &policy[..1],
            &user_request("connect:DeleteUser", "old", Some(STACK))
        ));
    }

    #[test]
    fn a_deny_or_an_unknown_operator_is_not_an_allow() {
        let mut policy = policy();
        policy.push(json!({"Effect": "Deny", "Action": "connect:*", "Resource": "*"}));
        assert!(!allows(
            &policy,
            &user_request("connect:DeleteUser", "new", None)
        ));
        let unknown = vec![
            json!({"Effect": "Allow", "Action": "connect:DeleteUser", "Resource": "*",
                                   "Condition": {"ArnLike": {"aws:SourceArn": "x"}}}),
        ];
        assert!(!allows(
            &unknown,
            &user_request("connect:DeleteUser", "new", None)
        ));
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard("a*c", "abbbc"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "abbc"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("instance/*/agent/*", "instance/x/queue/y"));
    }
}
