//! The project's template.yaml as the local deploy reads it.

use std::collections::BTreeMap;

use local_stack::demo;
use local_stack::template::{Template, check_rules, evaluate_conditions};

fn template() -> Template {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .unwrap();
    Template::parse(&text).unwrap()
}

fn pseudo() -> BTreeMap<String, String> {
    BTreeMap::from([("AWS::Region".to_owned(), "us-east-1".to_owned())])
}

#[test]
fn the_guide_steps_are_created_in_the_guides_order() {
    let template = template();
    let implicit = template
        .resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, _)| (format!("{id}Role"), id.clone()))
        .collect();
    let order = template.creation_order(&implicit).unwrap();
    let position = |id: &str| {
        order
            .iter()
            .position(|x| x == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert!(position("ConnectInstance") < position("AttributeMapping"));
    assert!(position("IdentityCenterApp") < position("SamlProvider"));
    assert!(position("SamlProvider") < position("FederationRole"));
    assert!(position("FederationRole") < position("AttributeMapping"));
    assert!(position("AttributeMapping") < position("ConnectUserImport"));
    for function in [
        "IdentityCenterAppFunction",
        "SamlProviderFunction",
        "AttributeMappingFunction",
        "ConnectUserImportFunction",
    ] {
        let resource = template.resource(function).unwrap();
        assert_eq!(
            resource["Properties"]["Runtime"], "provided.al2023",
            "{function}: Globals apply"
        );
        // A number, or a Number parameter with a default (UserImportTimeout).
        let timeout = &resource["Properties"]["Timeout"];
        let seconds = timeout.as_u64().or_else(|| {
            let parameter = &template.parameters[timeout["Ref"].as_str()?];
            assert_eq!(parameter["Type"], "Number", "{function}: Timeout parameter");
            parameter["Default"].as_u64()
        });
        assert!(
            seconds.is_some_and(|s| (1..=900).contains(&s)),
            "{function}: a Timeout of 1-900 s, got {timeout}"
        );
    }
}

#[test]
fn the_rules_accept_the_demo_parameters_and_refuse_two_instances() {
    let template = template();
    let parameters = template
        .parameter_values(&demo::parameters(&[demo::AGENTS]))
        .unwrap();
    let conditions = evaluate_conditions(&template, &parameters, &pseudo()).unwrap();
    assert!(conditions["CreateConnectInstance"]);
    assert!(conditions["HasRelayStateDestination"]);
    check_rules(&template, &parameters, &pseudo(), &conditions).unwrap();

    let mut both = demo::parameters(&[demo::AGENTS]);
    both.insert(
        "ConnectInstanceId".into(),
        "12345678-aaaa-bbbb-cccc-123456789012".into(),
    );
    let parameters = template.parameter_values(&both).unwrap();
    let conditions = evaluate_conditions(&template, &parameters, &pseudo()).unwrap();
    let error = check_rules(&template, &parameters, &pseudo(), &conditions).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("exactly one of ConnectInstanceAlias"),
        "{error}"
    );
}
