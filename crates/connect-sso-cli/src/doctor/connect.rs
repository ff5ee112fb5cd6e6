//! The Amazon Connect instance and the relay state that lands a sign-in in it.

use super::*;
use arn::Arn;
use aws_sdk_connect::operation::describe_instance::DescribeInstanceOutput;
use aws_sdk_connect::types::DirectoryType;
use connect_user_import::properties::ConnectInstanceId;

/// `instance-id`, also from an instance ARN (as the import reads its `InstanceId`); the text
/// itself when it is neither.
pub(super) fn bare_instance_id(id: &str) -> String {
    ConnectInstanceId::try_from(id.to_owned()).map_or_else(|_| id.trim().to_owned(), String::from)
}

/// DescribeInstance's answer, or the failed check.
async fn described(
    clients: &Clients,
    target: &Target,
    instance_id: &str,
) -> Result<DescribeInstanceOutput, Check> {
    let name = CheckName::ConnectInstance;
    let answer = clients
        .connect
        .describe_instance()
        .instance_id(instance_id)
        .send()
        .await;
    match answer {
        Ok(output) => Ok(output),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Err(Check::fail(
                name,
                format!(
                    "there is no Connect instance {instance_id} in {}",
                    target.region
                ),
                "check the instance id and --region (the instance's region); redeploy the stack if the instance was deleted",
            ))
        }
        Err(error) => Err(Check::fail(
            name,
            format!(
                "could not describe the Connect instance {instance_id}: {}",
                error_text(&error)
            ),
            format!(
                "use credentials that may call connect:DescribeInstance in {}",
                target.region
            ),
        )),
    }
}

pub(super) async fn connect_instance(
    clients: &Clients,
    target: &Target,
    instance_id: Option<&str>,
    found: &mut Found,
) -> Check {
    let name = CheckName::ConnectInstance;
    let Some(instance_id) = instance_id.map(bare_instance_id) else {
        return Check::fail(
            name,
            "no Connect instance to check: none was given and the relay state names none",
            "give --instance-id (the stack's ConnectInstanceId output), and fix the relay state",
        );
    };
    let instance_id = instance_id.as_str();
    let output = match described(clients, target, instance_id).await {
        Ok(output) => output,
        Err(failed) => return failed,
    };
    let Some(instance) = output.instance() else {
        return Check::fail(
            name,
            format!("DescribeInstance returned nothing for {instance_id}"),
            "retry; if it persists, check the instance in the Connect console",
        );
    };
    let arn = instance.arn().unwrap_or_default().to_owned();
    let region = Arn::parse(&arn)
        .map(|arn| arn.region)
        .filter(|region| !region.is_empty())
        .unwrap_or_else(|| target.region.clone());
    let management = instance.identity_management_type();
    let status = instance
        .instance_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let alias = instance.instance_alias().unwrap_or("(no alias)").to_owned();
    found.instance = Some(ConnectInstance {
        id: instance_id.to_owned(),
        arn,
        region: region.clone(),
        access_url: instance.instance_access_url().map(str::to_owned),
    });
    if management != Some(&DirectoryType::Saml) {
        return Check::fail(
            name,
            format!(
                "{alias} ({instance_id}) uses {} identity management: Connect accepts SAML sign-ins only on a SAML instance",
                management.map_or("unknown", DirectoryType::as_str)
            ),
            "identity management cannot be changed: create a Connect instance with SAML 2.0 identity management and point the stack at it",
        );
    }
    if status != "ACTIVE" {
        return Check::fail(
            name,
            format!("{alias} ({instance_id}) is {status}, not ACTIVE"),
            "wait for the instance to finish creating, or recreate it if creation failed",
        );
    }
    Check::pass(
        name,
        format!("{alias} ({instance_id}) in {region}: SAML identity management, ACTIVE"),
    )
}

/// Whether the instance still has its old `*.awsapps.com` access URL.
fn has_old_domain(instance: &ConnectInstance) -> bool {
    instance.access_url.as_deref().is_some_and(|url| {
        url::Url::parse(url)
            .ok()
            .and_then(|url| url.host_str().map(|host| host.ends_with(".awsapps.com")))
            .unwrap_or(false)
    })
}

pub(super) fn relay_state_check(
    text: Option<&str>,
    parsed: Option<&Result<RelayState, String>>,
    target: &Target,
    instance_id: Option<&str>,
    instance: Option<&ConnectInstance>,
) -> Check {
    let name = CheckName::RelayState;
    let region = instance.map_or(target.region.as_str(), |i| i.region.as_str());
    let bare_id = instance_id.map(bare_instance_id);
    let id = instance.map(|i| i.id.as_str()).or(bare_id.as_deref());
    let old_domain = instance.is_some_and(has_old_domain);
    let state = parsed.and_then(|parsed| parsed.as_ref().ok());
    let destination = state.and_then(|s| s.destination.as_deref()).map(|d| {
        percent_encoding::percent_decode_str(d)
            .decode_utf8_lossy()
            .into_owned()
    });
    let new_domain = old_domain || state.is_some_and(|s| s.new_domain);
    let expected =
        id.map(|id| relay_state::expected(region, id, destination.as_deref(), new_domain));
    let fix = match &expected {
        Some(expected) => format!(
            "set the application's relay state to {expected} (stack: it follows the stack's Region, ConnectInstanceId and RelayStateDestination; update the stack)"
        ),
        None => format!(
            "set the application's relay state to https://{region}.console.aws.amazon.com/connect/federate/<instance-id>"
        ),
    };
    let (Some(text), Some(parsed)) = (text, parsed) else {
        return Check::fail(
            name,
            "the application has no relay state: after sign-in users land on the AWS console, not in Connect",
            fix,
        );
    };
    let state = match parsed {
        Ok(state) => state,
        Err(problem) => return Check::fail(name, format!("the relay state {text} {problem}"), fix),
    };
    let mut problems = Vec::new();
    match &state.region {
        Some(named) if named != region => problems.push(format!(
            "it names the region {named}, but the Connect instance is in {region}"
        )),
        None if !region.starts_with("us-gov-") => problems.push(format!(
            "it is a GovCloud console URL, but the Connect instance is in {region}"
        )),
        _ => {}
    }
    if let Some(id) = id
        && state.instance_id != id
    {
        problems.push(format!(
            "it names the instance {}, but the Connect instance is {id}",
            state.instance_id
        ));
    }
    if let Some(raw) = &state.destination
        && raw.contains('/')
    {
        problems.push(format!(
            "its destination {raw} is not URL-encoded (write {})",
            relay_state::encode_destination(raw)
        ));
    }
    if old_domain && !state.new_domain {
        problems.push(
            "the instance still has its old *.awsapps.com domain: the relay state needs new_domain=true"
                .to_owned(),
        );
    }
    if problems.is_empty() {
        Check::pass(name, format!("{text} lands in the instance"))
    } else {
        Check::fail(name, format!("{text}: {}", problems.join("; ")), fix)
    }
}
