//! The Identity Center application: enabled, Amazon Connect's service provider, assigned members.

use super::*;

pub(super) async fn application(clients: &Clients, target: &Target, found: &mut Found) -> Check {
    let name = CheckName::Application;
    let Some(arn) = ApplicationArn::parse(target.application_arn.trim()) else {
        return Check::fail(
            name,
            format!(
                "{:?} is not an Identity Center application ARN",
                target.application_arn
            ),
            "give the stack's ApplicationArn output (arn:aws:sso::<account>:application/ssoins-…/apl-…)",
        );
    };
    let console_id = arn.console_id();
    let answer = clients
        .identity_center
        .console
        .get_application_instance(&console_id)
        .await;
    found.application_arn = Some(arn);
    let app = match answer {
        Ok(app) => app,
        Err(error) if error.is_not_found() => {
            return Check::fail(
                name,
                format!(
                    "there is no application {console_id} ({}) in IAM Identity Center in {}",
                    target.application_arn, target.identity_center_region
                ),
                "check the application ARN and the Identity Center home region (--identity-center-region); redeploy the stack if the application was deleted",
            );
        }
        Err(error) => {
            return Check::fail(
                name,
                format!("could not read the application: {error}"),
                format!(
                    "use credentials of the Identity Center account that may call sso:GetApplicationInstance in {}",
                    target.identity_center_region
                ),
            );
        }
    };
    let display = app.display_name().unwrap_or("(no display name)").to_owned();
    let status = app.status.clone().unwrap_or_else(|| "unknown".to_owned());
    found.application = Some(app);
    if status == "ENABLED" {
        Check::pass(name, format!("\"{display}\" ({console_id}) is ENABLED"))
    } else {
        Check::fail(
            name,
            format!(
                "\"{display}\" ({console_id}) is {status}: it does not appear in the access portal"
            ),
            format!(
                "enable it (IAM Identity Center console → Applications → {display} → Actions → Enable), or update the stack"
            ),
        )
    }
}

/// The region of an AWS sign-in endpoint (`Some(None)` for the global one); `None` when `url`
/// is not AWS sign-in at all.
pub(super) fn sign_in_region(url: &str) -> Option<Option<String>> {
    let url = url.trim().trim_end_matches('/');
    if url == AWS_SIGN_IN || url == "https://signin.amazonaws-us-gov.com/saml" {
        return Some(None);
    }
    let region = url
        .strip_prefix("https://")?
        .strip_suffix(".signin.aws.amazon.com/saml")?;
    (!region.is_empty() && !region.contains(['/', '.'])).then(|| Some(region.to_owned()))
}

/// The application's assertion consumer URLs: the audiences a sign-in's assertion carries.
pub(super) fn acs_urls(app: &ApplicationInstance) -> Vec<String> {
    app.service_provider_config
        .iter()
        .flat_map(|config| config.consumers.iter())
        .map(|consumer| consumer.location.trim().to_owned())
        .filter(|location| !location.is_empty())
        .collect()
}

pub(super) fn service_provider(app: &ApplicationInstance, target: &Target) -> Check {
    let name = CheckName::ServiceProvider;
    let fix = format!(
        "set the application's ACS URL to {AWS_SIGN_IN} (or https://{}.signin.aws.amazon.com/saml) and its SAML audience to {AWS_AUDIENCE}",
        target.region
    );
    let urls = acs_urls(app);
    if urls.is_empty() {
        return Check::fail(
            name,
            "the application has no ACS URL: Identity Center has nowhere to send the assertion",
            fix,
        );
    }
    let mut problems = Vec::new();
    for url in &urls {
        match sign_in_region(url) {
            None => problems.push(format!(
                "the ACS URL {url} is not AWS sign-in (sign-in shows \"An error occurred when we tried to process your request\")"
            )),
            Some(Some(region)) if region != target.region => problems.push(format!(
                "the regional ACS URL {url} is for {region}, but the Connect instance is in {}",
                target.region
            )),
            Some(_) => {}
        }
    }
    let audience = app
        .service_provider_config
        .as_ref()
        .map(|config| config.audience.trim())
        .unwrap_or_default();
    if audience != AWS_AUDIENCE {
        problems.push(format!(
            "the SAML audience is {audience:?}; AWS sign-in expects {AWS_AUDIENCE}"
        ));
    }
    if problems.is_empty() {
        Check::pass(
            name,
            format!("ACS URL {}, audience {audience}", urls.join(", ")),
        )
    } else {
        Check::fail(name, problems.join("; "), fix)
    }
}

pub(super) async fn assignments(clients: &Clients, found: &mut Found) -> Check {
    let name = CheckName::Assignments;
    let Some(arn) = &found.application_arn else {
        return Check::blocked(name, "no application ARN");
    };
    match clients.identity_center.assignments(&arn.to_string()).await {
        Ok(principals) => {
            let groups = principals
                .iter()
                .filter(|p| p.kind == PrincipalKind::Group)
                .count();
            let users = principals.len() - groups;
            let check = if principals.is_empty() {
                Check::fail(
                    name,
                    "no user or group is assigned: nobody sees the application in the access portal",
                    "assign the Connect groups (the stack's Groups parameter, or IAM Identity Center console → Applications → Assign users and groups)",
                )
            } else {
                Check::pass(
                    name,
                    format!("{groups} group(s) and {users} user(s) assigned"),
                )
            };
            found.assignments = Some(principals);
            check
        }
        Err(error) => Check::fail(
            name,
            format!("could not list the assignments: {error:#}"),
            "use credentials that may call sso:ListApplicationAssignments",
        ),
    }
}
