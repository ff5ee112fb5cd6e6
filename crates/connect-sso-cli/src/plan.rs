//! `connect-sso plan`: what the user import would change, computed by the import itself
//! ([`Importer::prepare`]: the same reads and the same diff), with nothing written.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use connect_user_import::plan::{Action, Owner};
use connect_user_import::progress::human_duration;
use connect_user_import::properties::Properties;
use connect_user_import::{Importer, Prepared};
use serde_json::{Map, Value, json};

use crate::stack::DeployedStack;

/// How long the reads of a preview may take (a large directory at Connect's 2 requests/s).
const PREVIEW_TIME: Duration = Duration::from_secs(600);

/// How long CloudFormation waits for the import (its ServiceTimeout in template.yaml).
const CLOUDFORMATION_WAIT: Duration = Duration::from_secs(3600);

/// Properties that only the CloudFormation envelope carries, not the import.
const ENVELOPE_KEYS: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

fn list(text: &str) -> Value {
    Value::Array(
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| json!(item))
            .collect(),
    )
}

/// The `Custom::ConnectUserImport` properties of a deployed template.yaml, mapped from its
/// parameters and outputs exactly as the template maps them.
pub fn properties_of_stack(stack: &DeployedStack) -> Map<String, Value> {
    let mut properties = Map::new();
    let output = |name: &str| stack.outputs.get(name).filter(|v| !v.trim().is_empty());
    let parameter = |name: &str| stack.parameters.get(name).filter(|v| !v.trim().is_empty());
    if let Some(id) = output("ConnectInstanceId") {
        properties.insert("InstanceId".into(), json!(id));
    }
    if let Some(id) = output("IdentityStoreId") {
        properties.insert("IdentityStoreId".into(), json!(id));
    }
    if let Some(region) = parameter("IdentityCenterRegion") {
        properties.insert("IdentityCenterRegion".into(), json!(region));
    }
    if let Some(groups) = parameter("Groups") {
        properties.insert("Groups".into(), list(groups));
    }
    if let Some(profiles) = parameter("SecurityProfiles") {
        properties.insert("SecurityProfiles".into(), list(profiles));
    }
    for (parameter_name, property) in [
        ("UsernameAttribute", "UsernameAttribute"),
        ("RoutingProfile", "RoutingProfile"),
        ("OnUserRemoved", "OnUserRemoved"),
        ("AdoptExistingUsers", "AdoptExisting"),
    ] {
        if let Some(value) = parameter(parameter_name) {
            properties.insert(property.into(), json!(value));
        }
    }
    properties
}

/// The import's typed properties from `properties` (envelope keys dropped), checked as the
/// import checks them.
pub fn parse_properties(mut properties: Map<String, Value>) -> anyhow::Result<Properties> {
    for key in ENVELOPE_KEYS {
        properties.remove(key);
    }
    let properties: Properties = custom_resource::parse_properties(&Value::Object(properties))
        .map_err(anyhow::Error::msg)
        .context("the user import's properties")?;
    properties.validate()?;
    Ok(properties)
}

/// Reads the directory and the instance and plans, as the import would; writes nothing.
pub async fn preview(
    importer: &Importer,
    owner: &Owner,
    properties: &Properties,
) -> anyhow::Result<Prepared> {
    importer
        .prepare(owner, properties, Instant::now() + PREVIEW_TIME)
        .await
}

/// One line per change, then the skipped users with their reasons and the counts.
pub fn render(prepared: &Prepared) -> String {
    let plan = &prepared.plan;
    let mut lines = vec![format!(
        "Connect instance {}: what the user import would do (nothing was written)",
        prepared.instance_id
    )];
    for action in &plan.actions {
        lines.push(match action {
            Action::Create { user } => format!("  create    {}", user.username),
            Action::Update { user, changes, .. } => format!(
                "  update    {} ({})",
                user.username,
                changes
                    .iter()
                    .map(|change| format!("{change:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Action::Delete { username, .. } => format!("  delete    {username}"),
        });
    }
    for skipped in &plan.skipped {
        lines.push(format!("  skipped   {} {}", skipped.name, skipped.reason));
    }
    for retained in &plan.retained {
        lines.push(format!(
            "  retained  {retained} (left the groups; OnUserRemoved is Retain)"
        ));
    }
    // The counts stay the last line; the estimate comes before them.
    if !plan.actions.is_empty() {
        lines.push(format!(
            "at Connect's API quota the writes take about {}{}",
            human_duration(prepared.estimate),
            if prepared.estimate > CLOUDFORMATION_WAIT {
                " (more than CloudFormation's hour: one deployment cannot finish it; see the import's README)"
            } else {
                ""
            }
        ));
    }
    let count = |kind: fn(&Action) -> bool| plan.count(kind);
    lines.push(format!(
        "{} to create, {} to update, {} to delete, {} unchanged, {} skipped, {} retained",
        count(|a| matches!(a, Action::Create { .. })),
        count(|a| matches!(a, Action::Update { .. })),
        count(|a| matches!(a, Action::Delete { .. })),
        plan.unchanged.len(),
        plan.skipped.len(),
        plan.retained.len()
    ));
    lines.join("\n")
}

/// `{"instanceId": …, "create": [names], "update": [{username, changes}], "delete": [names],
/// "unchanged": [names], "skipped": [{name, reason}], "retained": [names]}`.
pub fn to_json(prepared: &Prepared) -> Value {
    let plan = &prepared.plan;
    let mut create = Vec::new();
    let mut update = Vec::new();
    let mut delete = Vec::new();
    for action in &plan.actions {
        match action {
            Action::Create { user } => create.push(json!(user.username)),
            Action::Update { user, changes, .. } => update.push(json!({
                "username": user.username,
                "changes": changes.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>(),
            })),
            Action::Delete { username, .. } => delete.push(json!(username)),
        }
    }
    json!({
        "instanceId": prepared.instance_id,
        "create": create,
        "update": update,
        "delete": delete,
        "unchanged": plan.unchanged,
        "skipped": plan.skipped,
        "retained": plan.retained,
        "estimatedSeconds": prepared.estimate.as_secs(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_stack_maps_onto_the_import_properties_like_the_template() {
        let stack = DeployedStack {
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid".into(),
            region: "us-east-1".into(),
            outputs: BTreeMap::from([
                ("ConnectInstanceId".into(), "inst-1".into()),
                ("IdentityStoreId".into(), "d-1234567890".into()),
            ]),
            parameters: BTreeMap::from([
                ("Groups".into(), "Agents, Supervisors".into()),
                ("SecurityProfiles".into(), "Agent".into()),
                ("RoutingProfile".into(), "Basic Routing Profile".into()),
                ("UsernameAttribute".into(), "userName".into()),
                ("OnUserRemoved".into(), "Retain".into()),
                ("AdoptExistingUsers".into(), "true".into()),
                ("IdentityCenterRegion".into(), "".into()),
            ]),
        };
        let properties = parse_properties(properties_of_stack(&stack)).unwrap();
        assert_eq!(properties.instance_id, "inst-1");
        assert_eq!(properties.groups, ["Agents", "Supervisors"]);
        assert!(properties.adopt_existing);
        assert_eq!(properties.identity_center_region, None);
        assert_eq!(
            properties.on_user_removed,
            connect_user_import::properties::OnUserRemoved::Retain
        );
    }

    #[test]
    fn bad_properties_name_the_property() {
        let mut properties = Map::new();
        properties.insert("InstanceId".into(), json!("inst-1"));
        properties.insert("Groups".into(), json!([]));
        properties.insert("ServiceToken".into(), json!("arn:aws:lambda:..."));
        let error = parse_properties(properties).unwrap_err();
        assert!(format!("{error:#}").contains("Groups"), "{error:#}");
    }
}
