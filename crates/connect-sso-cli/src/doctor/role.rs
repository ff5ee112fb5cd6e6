//! The IAM role a sign-in assumes: named in the Role attribute, trusting the provider, allowed
//! into Connect.

use super::*;
use arn::{RoleArn, SamlProviderArn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IamKind {
    Role,
    Provider,
    Other,
}

pub(super) fn iam_kind(arn: &str) -> IamKind {
    if arn.parse::<RoleArn>().is_ok() {
        IamKind::Role
    } else if arn.parse::<SamlProviderArn>().is_ok() {
        IamKind::Provider
    } else {
        IamKind::Other
    }
}

/// The role name of a role ARN (a path before it is dropped); the text itself when it is not one.
pub(super) fn role_name(arn: &str) -> String {
    arn.parse::<RoleArn>()
        .map_or_else(|_| arn.to_owned(), |role| role.name().to_owned())
}

pub(super) fn attribute_values<'a>(
    app: &'a ApplicationInstance,
    attribute: &str,
) -> Option<&'a [String]> {
    app.response_config
        .as_ref()?
        .properties
        .get(attribute)
        .map(|source| source.source.as_slice())
}

pub(super) async fn role_exists(clients: &Clients, arn: &str) -> Result<bool, String> {
    match clients
        .iam
        .get_role()
        .role_name(role_name(arn))
        .send()
        .await
    {
        Ok(output) => Ok(output.role().map(|role| role.arn()) == Some(arn)),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            Ok(false)
        }
        Err(error) => Err(error_text(&error)),
    }
}

pub(super) async fn role_attribute(clients: &Clients, target: &Target, found: &mut Found) -> Check {
    let name = CheckName::RoleAttribute;
    found.role_arn = target.role_arn.clone();
    found.provider_arn = target.provider_arn.clone();
    let Some(app) = &found.application else {
        return Check::blocked(name, "the application could not be read");
    };
    let example = format!(
        "{},{}",
        target.role_arn.as_deref().unwrap_or("<role ARN>"),
        target
            .provider_arn
            .as_deref()
            .unwrap_or("<SAML provider ARN>")
    );
    if app.response_config.is_none() {
        return Check::blocked(name, UNREADABLE);
    }
    let fix = format!("map {ROLE_ATTRIBUTE} to {example}");
    let values = attribute_values(app, ROLE_ATTRIBUTE).unwrap_or_default();
    if values.is_empty() {
        return Check::fail(
            name,
            format!(
                "the application does not send {ROLE_ATTRIBUTE}: AWS sign-in has no role to assume"
            ),
            fix,
        );
    }
    let (pairs, mut problems) = role_pairs(values);
    problems.extend(pair_problems(clients, target, &pairs).await);
    if let Some((role, provider)) = pairs.first() {
        found.role_arn.get_or_insert_with(|| (*role).to_owned());
        found
            .provider_arn
            .get_or_insert_with(|| (*provider).to_owned());
    }
    if problems.is_empty() {
        Check::pass(
            name,
            format!(
                "{} (role, then SAML provider; both exist)",
                values.join(" | ")
            ),
        )
    } else {
        Check::fail(name, problems.join("; "), fix)
    }
}

/// The (role, provider) pairs the Role attribute's values name, and what is wrong with them.
fn role_pairs(values: &[String]) -> (Vec<(&str, &str)>, Vec<String>) {
    let mut problems = Vec::new();
    let mut pairs = Vec::new();
    for value in values {
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        match parts.as_slice() {
            [first, second] => match (iam_kind(first), iam_kind(second)) {
                (IamKind::Role, IamKind::Provider) => pairs.push((*first, *second)),
                (IamKind::Provider, IamKind::Role) => {
                    problems.push(format!(
                        "{value} names the SAML provider first and the role second; the pair must be <role ARN>,<provider ARN>"
                    ));
                    pairs.push((*second, *first));
                }
                _ => problems.push(format!(
                    "{value} is not an IAM role ARN and an IAM SAML provider ARN"
                )),
            },
            _ => problems.push(format!("{value:?} is not a pair <role ARN>,<provider ARN>")),
        }
    }
    (pairs, problems)
}

/// What is wrong with the pairs: a role or provider that does not exist, or is not the
/// federation's.
async fn pair_problems(clients: &Clients, target: &Target, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    for &(role, provider) in pairs {
        match role_exists(clients, role).await {
            Ok(true) => {}
            Ok(false) => problems.push(format!("the role {role} does not exist")),
            Err(error) => problems.push(format!("could not read the role {role}: {error}")),
        }
        match provider_document(clients, provider).await {
            Ok(Some(_)) => {}
            Ok(None) => problems.push(format!("the SAML provider {provider} does not exist")),
            Err(error) => {
                problems.push(format!(
                    "could not read the SAML provider {provider}: {error}"
                ));
            }
        }
        if let Some(expected) = &target.role_arn
            && role != expected
        {
            problems.push(format!(
                "it names the role {role}, but the federation role is {expected}"
            ));
        }
        if let Some(expected) = &target.provider_arn
            && provider != expected
        {
            problems.push(format!(
                "it names the SAML provider {provider}, but the federation's provider is {expected}"
            ));
        }
    }
    problems
}

pub(super) async fn role_trust(clients: &Clients, found: &Found, acs_urls: &[String]) -> Check {
    let name = CheckName::RoleTrust;
    let (Some(role), Some(provider)) = (&found.role_arn, &found.provider_arn) else {
        return Check::blocked(name, "no role and SAML provider are known");
    };
    let audiences: Vec<String> = if acs_urls.is_empty() {
        vec![AWS_SIGN_IN.to_owned()]
    } else {
        acs_urls.to_vec()
    };
    let fix = format!(
        "give the role {} a trust statement: Allow, Principal {{\"Federated\": \"{provider}\"}}, Action sts:AssumeRoleWithSAML, Condition StringEquals SAML:aud {}",
        role_name(role),
        audiences.join(", ")
    );
    let document = match trust_policy(clients, role).await {
        Ok(document) => document,
        Err(failed) => return failed,
    };
    let trust = match policy::parse_document(&document) {
        Ok(trust) => policy::saml_trust(&trust, provider),
        Err(problem) => {
            return Check::fail(name, format!("the trust policy of {role} {problem}"), fix);
        }
    };
    if trust == SamlTrust::NotTrusted {
        return Check::fail(
            name,
            format!(
                "the role {} does not trust {provider} for sts:AssumeRoleWithSAML",
                role_name(role)
            ),
            fix,
        );
    }
    let refused: Vec<&String> = audiences.iter().filter(|aud| !trust.accepts(aud)).collect();
    if !refused.is_empty() {
        return Check::fail(
            name,
            format!(
                "the role trusts {provider}, but its SAML:aud condition ({}) does not accept the application's ACS URL {}",
                trust.audiences().join(", "),
                refused
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix,
        );
    }
    let note = if trust.has_unrestricted_audience() {
        " (no SAML:aud condition: consider restricting it to the ACS URL)".to_owned()
    } else {
        format!(" with SAML:aud {}", trust.audiences().join(", "))
    };
    Check::pass(
        name,
        format!(
            "{} trusts {provider} for sts:AssumeRoleWithSAML{note}",
            role_name(role)
        ),
    )
}

/// The role's trust policy document, or the failed check.
async fn trust_policy(clients: &Clients, role: &str) -> Result<String, Check> {
    let name = CheckName::RoleTrust;
    match clients
        .iam
        .get_role()
        .role_name(role_name(role))
        .send()
        .await
    {
        Ok(output) => Ok(output
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .unwrap_or_default()
            .to_owned()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            Err(Check::fail(
                name,
                format!("the role {role} does not exist"),
                "create the federation role (deploy the stack) or fix the Role attribute",
            ))
        }
        Err(error) => Err(Check::fail(
            name,
            format!("could not read the role {role}: {}", error_text(&error)),
            "use credentials that may call iam:GetRole",
        )),
    }
}

/// Every policy of the role (inline and attached), with its name.
pub(super) async fn role_policies(
    clients: &Clients,
    role: &str,
) -> Result<Vec<(String, Value)>, String> {
    let mut policies = inline_policies(clients, role).await?;
    policies.extend(attached_policies(clients, role).await?);
    Ok(policies)
}

async fn inline_policies(clients: &Clients, role: &str) -> Result<Vec<(String, Value)>, String> {
    let mut pages = clients
        .iam
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    let mut policies = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("iam ListRolePolicies: {}", error_text(&e)))?;
        for policy_name in page.policy_names() {
            let policy = clients
                .iam
                .get_role_policy()
                .role_name(role)
                .policy_name(policy_name)
                .send()
                .await
                .map_err(|e| format!("iam GetRolePolicy {policy_name}: {}", error_text(&e)))?;
            let document = policy::parse_document(policy.policy_document())
                .map_err(|problem| format!("the policy {policy_name} {problem}"))?;
            policies.push((policy_name.clone(), document));
        }
    }
    Ok(policies)
}

async fn attached_policies(clients: &Clients, role: &str) -> Result<Vec<(String, Value)>, String> {
    let mut pages = clients
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    let mut policies = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("iam ListAttachedRolePolicies: {}", error_text(&e)))?;
        for attached in page.attached_policies() {
            let Some(arn) = attached.policy_arn() else {
                continue;
            };
            let policy_name = attached.policy_name().unwrap_or(arn).to_owned();
            if let Some(document) = default_version(clients, arn).await? {
                let document = policy::parse_document(&document)
                    .map_err(|problem| format!("the policy {policy_name} {problem}"))?;
                policies.push((policy_name, document));
            }
        }
    }
    Ok(policies)
}

/// The document of the managed policy's default version, when it has one.
async fn default_version(clients: &Clients, arn: &str) -> Result<Option<String>, String> {
    let policy = clients
        .iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| format!("iam GetPolicy {arn}: {}", error_text(&e)))?;
    let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
        return Ok(None);
    };
    let version = clients
        .iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| format!("iam GetPolicyVersion {arn}: {}", error_text(&e)))?;
    Ok(Some(
        version
            .policy_version()
            .and_then(|v| v.document())
            .unwrap_or_default()
            .to_owned(),
    ))
}

pub(super) async fn role_permission(
    clients: &Clients,
    target: &Target,
    found: &Found,
    instance_id: Option<&str>,
) -> Check {
    let name = CheckName::RolePermission;
    let Some(role) = &found.role_arn else {
        return Check::blocked(name, "no role is known");
    };
    let (instance_arn, instance_id) = match (&found.instance, instance_id.map(bare_instance_id)) {
        (Some(instance), _) => (instance.arn.clone(), instance.id.clone()),
        (None, Some(id)) => {
            let account = role
                .parse::<RoleArn>()
                .map(|role| role.account().to_string())
                .unwrap_or_default();
            (
                format!("arn:aws:connect:{}:{account}:instance/{id}", target.region),
                id.to_owned(),
            )
        }
        (None, None) => return Check::blocked(name, "no Connect instance is known"),
    };
    let fix = format!(
        "attach a policy to the role {} that allows connect:GetFederationToken on {instance_arn} and {instance_arn}/*",
        role_name(role)
    );
    let policies = match role_policies(clients, &role_name(role)).await {
        Ok(policies) => policies,
        Err(problem) => {
            return Check::fail(
                name,
                format!("could not read the role's policies: {problem}"),
                "use credentials that may read the role's policies (iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicyVersion)",
            );
        }
    };
    match policy::federation_permission(&policies, &instance_arn, &instance_id) {
        Permission::Allowed(policy) => Check::pass(
            name,
            format!("the policy {policy} allows connect:GetFederationToken on {instance_arn}"),
        ),
        Permission::Denied(policy) => Check::fail(
            name,
            format!(
                "the policy {policy} denies connect:GetFederationToken on {instance_arn}: sign-in shows \"Access denied\""
            ),
            format!("remove that Deny; {fix}"),
        ),
        Permission::NotAllowed => Check::fail(
            name,
            format!(
                "no policy of the role {} allows connect:GetFederationToken on {instance_arn}: sign-in shows \"Access denied, contact your AWS account administrator\"",
                role_name(role)
            ),
            fix,
        ),
    }
}
