use super::*;

fn owner(stack_guid: &str, logical: &str) -> Owner {
    Owner::new(
        format!("arn:aws:cloudformation:eu-west-1:123456789012:stack/connect-sso/{stack_guid}"),
        logical,
    )
}

#[test]
fn the_physical_id_names_instance_stack_and_resource() {
    let r = owner("guid-1", "Users");
    let id = physical_id("inst-1", &r);
    assert_eq!(id, "inst-1/guid-1/Users");
    assert_eq!(instance_of(&id, &r).as_deref(), Some("inst-1"));
    assert_eq!(
        instance_of(&id, &owner("guid-2", "Users")),
        None,
        "another stack's id"
    );
    assert_eq!(
        instance_of(&id, &owner("guid-1", "Other")),
        None,
        "another resource's id"
    );
    for foreign in [
        "",
        "inst-1",
        "inst-1/guid-1",
        "inst-1/guid-1/Users/x",
        "/guid-1/Users",
    ] {
        assert_eq!(instance_of(foreign, &r), None, "{foreign:?}");
    }
}

#[test]
fn the_sample_events_carry_valid_properties() {
    for name in ["create", "update", "delete"] {
        let path = format!(
            "{}/../../events/connect-user-import/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(event["ResourceType"], "Custom::ConnectUserImport", "{name}");
        for key in ["ResourceProperties", "OldResourceProperties"] {
            let Some(props) = event.get(key) else {
                continue;
            };
            // Parsed exactly as a request's properties are (CloudFormation's own keys ignored).
            let props: Properties = custom_resource::parse_properties(props)
                .unwrap_or_else(|e| panic!("{name} {key}: {e}"));
            props.validate().unwrap();
        }
    }
}

/// The template's floor on one run (`UserImportTimeout` MinValue) keeps the longest import
/// CloudFormation waits for (ServiceTimeout 3600 s) within the continuation's hop bound, and the
/// function is marked as recursing on purpose (so the bound is ours, not Lambda's ~16) and runs
/// one invocation at a time.
#[test]
fn the_templates_run_floor_keeps_the_longest_import_within_the_hop_bound() {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
            .unwrap();
    let parameter = template
        .split("\n  UserImportTimeout:\n")
        .nth(1)
        .expect("the UserImportTimeout parameter");
    let floor: u64 = parameter
        .lines()
        .take_while(|line| line.starts_with("    ") || line.trim().is_empty())
        .find_map(|line| line.trim().strip_prefix("MinValue:"))
        .expect("a MinValue")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(floor, MIN_RUN_SECONDS);
    let runs = custom_resource::continuation::runs_needed(
        Duration::from_secs(3600),
        Duration::from_secs(floor),
    );
    assert!(
        runs <= u64::from(custom_resource::MAX_HOPS) + 1,
        "{runs} runs of {floor} s fill the ServiceTimeout, the bound allows {}",
        custom_resource::MAX_HOPS + 1
    );
    // The function's own lines: up to the next resource.
    let function: String = template
        .split("\n  ConnectUserImportFunction:\n")
        .nth(1)
        .expect("the import function")
        .lines()
        .take_while(|line| !line.starts_with("  ") || line.starts_with("   "))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        function.contains("\n      RecursiveLoop: Allow\n"),
        "{function}"
    );
    assert!(
        function.contains("\n      ReservedConcurrentExecutions: 1\n"),
        "{function}"
    );
}
