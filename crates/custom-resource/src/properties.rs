//! Typed properties from `ResourceProperties`, with errors that name the property.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Keys CloudFormation adds itself; never the function's concern.
const CLOUDFORMATION_KEYS: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// Parses properties into `P`. An absent or null properties object counts as empty, so a resource
/// whose properties are all optional still works. The error text names the property at fault.
pub(crate) fn parse<P: DeserializeOwned>(properties: &Value) -> Result<P, String> {
    let object = match properties {
        Value::Null => Map::new(),
        Value::Object(fields) => fields
            .iter()
            .filter(|(key, _)| !CLOUDFORMATION_KEYS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        other => {
            return Err(format!(
                "the properties must be an object, got {}",
                kind(other)
            ));
        }
    };
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        if path == "." {
            format!("invalid properties: {message}")
        } else {
            format!("invalid property {path}: {message}")
        }
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Props {
        display_name: String,
        #[serde(default, deserialize_with = "crate::lenient::number")]
        session_hours: u32,
        #[serde(default)]
        groups: Vec<String>,
        #[serde(default)]
        rules: Vec<Rule>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Rule {
        group: String,
        #[serde(default, deserialize_with = "crate::lenient::bool")]
        admin: bool,
    }

    #[test]
    fn ignores_service_token_and_service_timeout() {
        let props: Props = parse(&json!({
            "ServiceToken": "arn:aws:lambda:x", "ServiceTimeout": "300",
            "DisplayName": "Connect", "SessionHours": "12",
            "Groups": ["Agents"], "Rules": [{"Group": "Admins", "Admin": "true"}]
        }))
        .unwrap();
        assert_eq!(props.session_hours, 12);
        assert_eq!(
            props.rules,
            vec![Rule {
                group: "Admins".into(),
                admin: true
            }]
        );
    }

    #[test]
    fn an_unknown_property_is_named_with_the_accepted_ones() {
        let error = parse::<Props>(&json!({"DisplayName": "x", "DisplayNmae": "y"})).unwrap_err();
        assert!(error.contains("unknown field `DisplayNmae`"), "{error}");
        assert!(error.contains("`DisplayName`"), "{error}");
    }

    #[test]
    fn a_missing_property_is_named() {
        let error = parse::<Props>(&json!({"Groups": []})).unwrap_err();
        assert!(error.contains("missing field `DisplayName`"), "{error}");
    }

    #[test]
    fn a_bad_nested_value_names_its_path() {
        let error = parse::<Props>(
            &json!({"DisplayName": "x", "Rules": [{"Group": "g", "Admin": "maybe"}]}),
        )
        .unwrap_err();
        assert!(error.contains("Rules[0].Admin"), "{error}");
        assert!(error.contains("expected true or false"), "{error}");
        let error =
            parse::<Props>(&json!({"DisplayName": "x", "SessionHours": "many"})).unwrap_err();
        assert!(
            error.contains("SessionHours") && error.contains("expected a number"),
            "{error}"
        );
    }

    #[test]
    fn a_list_where_a_string_belongs_names_the_property() {
        let error = parse::<Props>(&json!({"DisplayName": ["x"]})).unwrap_err();
        assert!(
            error.contains("DisplayName") && error.contains("expected a string"),
            "{error}"
        );
    }

    #[test]
    fn absent_properties_count_as_empty_and_non_objects_are_refused() {
        #[derive(Debug, Deserialize)]
        struct Nothing {}
        assert!(parse::<Nothing>(&Value::Null).is_ok());
        let error = parse::<Nothing>(&json!("text")).unwrap_err();
        assert!(error.contains("must be an object, got a string"), "{error}");
    }
}
