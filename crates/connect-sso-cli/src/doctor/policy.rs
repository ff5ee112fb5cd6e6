//! Just enough IAM policy evaluation to answer two questions about the federation role: does its
//! trust policy let the SAML provider in (and for which audiences), and does a policy allow
//! `connect:GetFederationToken` on the instance. Conservative: statements with `NotAction`,
//! `NotPrincipal` or `NotResource` are not counted as allowing anything.

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// A policy document as IAM returns it: URL-encoded JSON (moto and some tools return it plain).
pub fn parse_document(text: &str) -> Result<Value, String> {
    serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&percent_decode_str(text).decode_utf8_lossy()))
        .map_err(|error| format!("is not a JSON policy document: {error}"))
}

fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    }
}

/// A string, or a list of strings, as policy grammar allows almost everywhere.
fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_effect(statement: &Value, effect: &str) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some(effect)
}

/// IAM wildcard matching: `*` any run, `?` one character; a policy variable such as
/// `${aws:userid}` stands for any value.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| {
        if ignore_case {
            s.to_lowercase()
        } else {
            s.to_owned()
        }
    };
    let pattern = replace_variables(&fold(pattern));
    let text: Vec<char> = fold(text).chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // Iterative wildcard match with backtracking to the last `*`.
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn replace_variables(pattern: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push('*');
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn has_action(statement: &Value, action: &str) -> bool {
    strings(statement.get("Action"))
        .iter()
        .any(|pattern| glob(pattern, action, true))
}

/// The values a statement's conditions give `key` (case-insensitive), with their operator.
fn condition_values<'a>(statement: &'a Value, key: &str) -> Vec<(&'a str, Vec<&'a str>)> {
    let Some(Value::Object(operators)) = statement.get("Condition") else {
        return Vec::new();
    };
    operators
        .iter()
        .filter_map(|(operator, keys)| {
            let Value::Object(keys) = keys else {
                return None;
            };
            let values: Vec<&str> = keys
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case(key))
                .flat_map(|(_, values)| strings(Some(values)))
                .collect();
            (!values.is_empty()).then_some((operator.as_str(), values))
        })
        .collect()
}

/// Whether a condition (operator and values) on a string key accepts `value`. Operators this
/// check does not know are assumed to accept (they are not what breaks a Connect sign-in).
fn condition_accepts(operator: &str, values: &[&str], value: &str) -> bool {
    let operator = operator
        .trim_start_matches("ForAnyValue:")
        .trim_start_matches("ForAllValues:");
    match operator {
        "StringEquals" => values.contains(&value),
        "StringEqualsIgnoreCase" => values.iter().any(|v| v.eq_ignore_ascii_case(value)),
        "StringLike" => values.iter().any(|v| glob(v, value, false)),
        "StringNotEquals" => !values.contains(&value),
        "StringNotLike" => !values.iter().any(|v| glob(v, value, false)),
        _ => true,
    }
}

/// One trusting statement's `SAML:aud` conditions as (operator, values); `None`: the statement
/// has no such condition.
pub type StatementAudiences = Option<Vec<(String, Vec<String>)>>;

/// What a trust policy says about sign-ins through `provider_arn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamlTrust {
    /// No statement allows `sts:AssumeRoleWithSAML` for this provider.
    NotTrusted,
    /// Trusted, and the audiences the `SAML:aud` conditions accept, per statement (`None`: a
    /// statement without any `SAML:aud` condition).
    Trusted(Vec<StatementAudiences>),
}

impl SamlTrust {
    /// Whether a sign-in whose assertion is for `audience` (the ACS URL) is let in.
    pub fn accepts(&self, audience: &str) -> bool {
        match self {
            Self::NotTrusted => false,
            Self::Trusted(statements) => statements.iter().any(|conditions| match conditions {
                None => true,
                Some(conditions) => conditions.iter().all(|(operator, values)| {
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    condition_accepts(operator, &values, audience)
                }),
            }),
        }
    }

    /// Whether some statement trusts the provider without restricting the audience.
    pub fn has_unrestricted_audience(&self) -> bool {
        matches!(self, Self::Trusted(statements) if statements.iter().any(Option::is_none))
    }

    /// The audiences the conditions name, for messages.
    pub fn audiences(&self) -> Vec<String> {
        match self {
            Self::NotTrusted => Vec::new(),
            Self::Trusted(statements) => statements
                .iter()
                .flatten()
                .flatten()
                .flat_map(|(_, values)| values.iter().cloned())
                .collect(),
        }
    }
}

/// The role's trust for SAML sign-ins through `provider_arn`.
pub fn saml_trust(trust_policy: &Value, provider_arn: &str) -> SamlTrust {
    let trusting: Vec<&Value> = statements(trust_policy)
        .into_iter()
        .filter(|statement| is_effect(statement, "Allow"))
        .filter(|statement| has_action(statement, "sts:AssumeRoleWithSAML"))
        .filter(|statement| {
            let federated = statement.get("Principal").and_then(|p| p.get("Federated"));
            strings(federated)
                .iter()
                .any(|principal| glob(principal, provider_arn, false))
        })
        .collect();
    if trusting.is_empty() {
        return SamlTrust::NotTrusted;
    }
    SamlTrust::Trusted(
        trusting
            .into_iter()
            .map(|statement| {
                let conditions = condition_values(statement, "SAML:aud");
                (!conditions.is_empty()).then(|| {
                    conditions
                        .into_iter()
                        .map(|(operator, values)| {
                            (
                                operator.to_owned(),
                                values.into_iter().map(str::to_owned).collect(),
                            )
                        })
                        .collect()
                })
            })
            .collect(),
    )
}

/// Whether policies allow `connect:GetFederationToken` for a user of the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    /// Allowed by the named policy.
    Allowed(String),
    /// Explicitly denied by the named policy.
    Denied(String),
    NotAllowed,
}

/// Evaluates `policies` (name, document) for a federation token on `instance_arn`.
pub fn federation_permission(
    policies: &[(String, Value)],
    instance_arn: &str,
    instance_id: &str,
) -> Permission {
    // The action is authorised on the signing-in user of the instance; the guide grants the
    // instance ARN itself. Either form counts.
    let resources = [
        instance_arn.to_owned(),
        format!("{instance_arn}/user/AROAEXAMPLE:someone@example.com"),
    ];
    let applies = |statement: &Value| {
        has_action(statement, "connect:GetFederationToken")
            && strings(statement.get("Resource")).iter().any(|pattern| {
                resources
                    .iter()
                    .any(|resource| glob(pattern, resource, false))
            })
            && condition_values(statement, "connect:InstanceId")
                .iter()
                .all(|(operator, values)| condition_accepts(operator, values, instance_id))
    };
    let mut allowed = None;
    for (name, document) in policies {
        for statement in statements(document) {
            if !applies(statement) {
                continue;
            }
            if is_effect(statement, "Deny") {
                return Permission::Denied(name.clone());
            }
            if is_effect(statement, "Allow") && allowed.is_none() {
                allowed = Some(name.clone());
            }
        }
    }
    allowed.map_or(Permission::NotAllowed, Permission::Allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROVIDER: &str = "arn:aws:iam::123456789012:saml-provider/Connect-SSO";
    const INSTANCE: &str =
        "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555";

    #[test]
    fn wildcards_and_variables_match_like_iam() {
        assert!(glob("connect:Get*", "connect:GetFederationToken", true));
        assert!(glob("*", "anything", false));
        assert!(glob(
            &format!("{INSTANCE}/user/${{aws:userid}}"),
            &format!("{INSTANCE}/user/AROA:alice"),
            false
        ));
        assert!(!glob(&format!("{INSTANCE}/*"), INSTANCE, false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "abbc", false));
    }

    #[test]
    fn url_encoded_documents_are_read() {
        let encoded = "%7B%22Statement%22%3A%5B%5D%7D";
        assert_eq!(parse_document(encoded).unwrap(), json!({"Statement": []}));
        assert!(parse_document("nope").is_err());
    }

    #[test]
    fn the_trust_names_the_provider_and_its_audiences() {
        let trust = json!({"Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
        }]});
        let found = saml_trust(&trust, PROVIDER);
        assert!(found.accepts("https://signin.aws.amazon.com/saml"));
        assert!(!found.accepts("https://eu-west-1.signin.aws.amazon.com/saml"));
        assert_eq!(
            saml_trust(
                &trust,
                "arn:aws:iam::123456789012:saml-provider/Someone-Else"
            ),
            SamlTrust::NotTrusted
        );
        let any_audience = json!({"Statement": {
            "Effect": "Allow",
            "Principal": {"Federated": [PROVIDER]},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]
        }});
        assert!(saml_trust(&any_audience, PROVIDER).has_unrestricted_audience());
    }

    #[test]
    fn the_federation_token_must_be_allowed_on_the_instance() {
        let on_instance = json!({"Statement": [{
            "Effect": "Allow",
            "Action": "connect:GetFederationToken",
            "Resource": [INSTANCE, format!("{INSTANCE}/*")]
        }]});
        let elsewhere = json!({"Statement": [{
            "Effect": "Allow",
            "Action": "connect:GetFederationToken",
            "Resource": "arn:aws:connect:us-east-1:123456789012:instance/other/*"
        }]});
        let by_condition = json!({"Statement": [{
            "Effect": "Allow",
            "Action": "connect:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"connect:InstanceId": "11111111-2222-3333-4444-555555555555"}}
        }]});
        let id = "11111111-2222-3333-4444-555555555555";
        let check =
            |document: Value| federation_permission(&[("P".to_owned(), document)], INSTANCE, id);
        assert_eq!(check(on_instance), Permission::Allowed("P".to_owned()));
        assert_eq!(check(elsewhere), Permission::NotAllowed);
        assert_eq!(check(by_condition), Permission::Allowed("P".to_owned()));
        let denied = json!({"Statement": [
            {"Effect": "Allow", "Action": "connect:GetFederationToken", "Resource": "*"},
            {"Effect": "Deny", "Action": "connect:*", "Resource": "*"}
        ]});
        assert_eq!(check(denied), Permission::Denied("P".to_owned()));
    }
}
