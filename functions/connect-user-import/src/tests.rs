use super::*;

fn request(stack_guid: &str, logical: &str) -> Request {
    Request {
        request_type: custom_resource::RequestType::Delete,
        stack_id: format!(
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/connect-sso/{stack_guid}"
        ),
        request_id: "r".into(),
        logical_resource_id: logical.into(),
        resource_type: "Custom::ConnectUserImport".into(),
        respond_by: Instant::now(),
        original: Default::default(),
    }
}

#[test]
fn the_physical_id_names_instance_stack_and_resource() {
    let r = request("guid-1", "Users");
    let id = physical_id("inst-1", &r);
    assert_eq!(id, "inst-1/guid-1/Users");
    assert_eq!(instance_of(&id, &r).as_deref(), Some("inst-1"));
    assert_eq!(
        instance_of(&id, &request("guid-2", "Users")),
        None,
        "another stack's id"
    );
    assert_eq!(
        instance_of(&id, &request("guid-1", "Other")),
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
fn problems_are_cut_to_a_few_and_say_how_many_more() {
    let problems: Vec<String> = (0..9)
        .map(|i| format!("user{i}@example.com: reason {i}"))
        .collect();
    let text = bounded_list(&problems, 5, 1200, "none");
    assert!(
        text.starts_with("user0@example.com: reason 0; user1"),
        "{text}"
    );
    assert!(
        text.contains("user4@example.com") && !text.contains("user5@example.com"),
        "{text}"
    );
    assert!(
        text.ends_with("(+4 more, see the function's logs)"),
        "{text}"
    );
    assert_eq!(bounded_list(&[], 5, 100, "none"), "none");
    let long = vec!["é".repeat(1000), "b".into()];
    let text = bounded_list(&long, 5, 101, "none");
    assert!(
        text.starts_with(&"é".repeat(50)) && text.ends_with("(+1 more, see the function's logs)"),
        "{text}"
    );
}

#[test]
fn the_data_always_fits_the_response() {
    let report = Report {
        dry_run: true,
        problems: (0..500)
            .map(|i| format!("{}{i}@example.com: {}", "u".repeat(60), "r".repeat(300)))
            .collect(),
        planned: (0..500)
            .map(|i| format!("create {}{i}@example.com", "u".repeat(60)))
            .collect(),
        ..Report::default()
    };
    let data = report.data();
    let size: usize = data.iter().map(|(k, v)| k.len() + v.len() + 8).sum();
    assert!(size < 3000, "{size}");
    assert_eq!(data["Created"], "0");
    assert_eq!(data["DryRun"], "true");
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
