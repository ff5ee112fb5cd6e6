//! Reading a (SAM) CloudFormation template and resolving the intrinsic functions it uses, the way
//! CloudFormation would: parameters, pseudo parameters, conditions, Ref, Fn::GetAtt, Fn::Sub,
//! Fn::Join, Fn::If, Fn::Select, Fn::Split, and dependency order.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, anyhow, bail, ensure};
use serde_json::{Map, Value};

/// A template as read: every short-form tag (`!Ref`, `!GetAtt A.B`, …) is in its long form.
#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: Map<String, Value>,
    pub conditions: Map<String, Value>,
    /// Resources in template order.
    pub resources: Vec<(String, Value)>,
    pub outputs: Vec<(String, Value)>,
    pub rules: Vec<(String, Value)>,
}

impl Template {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let yaml: serde_norway::Value =
            serde_norway::from_str(text).context("template.yaml is not valid YAML")?;
        let section = |name: &str| -> anyhow::Result<Vec<(String, Value)>> {
            match yaml.get(name) {
                None => Ok(Vec::new()),
                Some(serde_norway::Value::Mapping(entries)) => entries
                    .iter()
                    .map(|(key, value)| Ok((yaml_key(key)?, long_form(value.clone())?)))
                    .collect(),
                Some(_) => bail!("the template's {name} section is not a mapping"),
            }
        };
        let mut resources = section("Resources")?;
        ensure!(!resources.is_empty(), "the template has no Resources");
        // SAM's Globals: each function's own properties win over the global ones.
        let globals = section("Globals")?
            .into_iter()
            .find(|(name, _)| name == "Function")
            .map(|(_, g)| g);
        if let Some(Value::Object(global)) = globals {
            for (_, resource) in resources
                .iter_mut()
                .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
            {
                let mut merged = global.clone();
                if let Some(Value::Object(own)) = resource.get("Properties") {
                    merged.extend(own.clone());
                }
                resource["Properties"] = Value::Object(merged);
            }
        }
        Ok(Self {
            parameters: section("Parameters")?.into_iter().collect(),
            conditions: section("Conditions")?.into_iter().collect(),
            resources,
            outputs: section("Outputs")?,
            rules: section("Rules")?,
        })
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.resources
            .iter()
            .find(|(id, _)| id == logical_id)
            .map(|(_, resource)| resource)
    }

    /// Parameter values: the given ones, else each parameter's Default; checked against
    /// AllowedValues (AllowedPattern is left to `make lint` and CloudFormation).
    pub fn parameter_values(
        &self,
        given: &BTreeMap<String, String>,
    ) -> anyhow::Result<BTreeMap<String, Value>> {
        for name in given.keys() {
            ensure!(
                self.parameters.contains_key(name),
                "unknown parameter {name}"
            );
        }
        let mut values = BTreeMap::new();
        for (name, spec) in &self.parameters {
            let text = match given.get(name) {
                Some(value) => value.clone(),
                None => match spec.get("Default") {
                    Some(Value::String(default)) => default.clone(),
                    Some(Value::Number(default)) => default.to_string(),
                    Some(other) => bail!("parameter {name}: unsupported Default {other}"),
                    None => bail!("parameter {name} has no Default and no value was given"),
                },
            };
            if let Some(Value::Array(allowed)) = spec.get("AllowedValues") {
                ensure!(
                    allowed
                        .iter()
                        .any(|value| text_of(value).is_ok_and(|allowed| allowed == text)),
                    "parameter {name}: {text:?} is not one of {allowed:?}"
                );
            }
            let kind = spec.get("Type").and_then(Value::as_str).unwrap_or("String");
            let value = if kind == "CommaDelimitedList" || kind.starts_with("List<") {
                Value::Array(
                    text.split(',')
                        .map(|item| Value::String(item.trim().to_owned()))
                        .filter(|item| item.as_str() != Some(""))
                        .collect(),
                )
            } else {
                Value::String(text)
            };
            values.insert(name.clone(), value);
        }
        Ok(values)
    }

    /// The logical ids a resource refers to (Ref, Fn::GetAtt, Fn::Sub variables, DependsOn),
    /// restricted to the template's resources.
    pub fn dependencies(&self, logical_id: &str, implicit: &BTreeSet<String>) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        if let Some(resource) = self.resource(logical_id) {
            collect_references(resource, &mut found);
            match resource.get("DependsOn") {
                Some(Value::String(one)) => {
                    found.insert(one.clone());
                }
                Some(Value::Array(many)) => {
                    found.extend(many.iter().filter_map(Value::as_str).map(str::to_owned))
                }
                _ => {}
            }
        }
        found.retain(|name| {
            name != logical_id && (self.resource(name).is_some() || implicit.contains(name))
        });
        found
    }

    /// Resources in an order where each comes after what it depends on (template order otherwise).
    pub fn creation_order(
        &self,
        implicit_of: &BTreeMap<String, String>,
    ) -> anyhow::Result<Vec<String>> {
        let implicit: BTreeSet<String> = implicit_of.keys().cloned().collect();
        let mut ordered: Vec<String> = Vec::new();
        let mut remaining: Vec<String> = self.resources.iter().map(|(id, _)| id.clone()).collect();
        while !remaining.is_empty() {
            let ready = remaining.iter().position(|id| {
                self.dependencies(id, &implicit).iter().all(|dependency| {
                    let owner = implicit_of.get(dependency).unwrap_or(dependency);
                    owner == id || ordered.contains(owner)
                })
            });
            let Some(index) = ready else {
                bail!("circular dependency among {}", remaining.join(", "));
            };
            ordered.push(remaining.remove(index));
        }
        Ok(ordered)
    }
}

fn yaml_key(key: &serde_norway::Value) -> anyhow::Result<String> {
    match key {
        serde_norway::Value::String(text) => Ok(text.clone()),
        other => Ok(serde_norway::to_string(other)?.trim().to_owned()),
    }
}

/// YAML → JSON, turning short-form intrinsic tags into their long form.
fn long_form(value: serde_norway::Value) -> anyhow::Result<Value> {
    use serde_norway::Value as Yaml;
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => serde_json::to_value(number)?,
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(long_form)
                .collect::<anyhow::Result<_>>()?,
        ),
        Yaml::Mapping(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(key, value)| Ok((yaml_key(&key)?, long_form(value)?)))
                .collect::<anyhow::Result<_>>()?,
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = long_form(tagged.value)?;
            let key = match name {
                "Ref" | "Condition" => name.to_owned(),
                _ => format!("Fn::{name}"),
            };
            let inner = match (name, inner) {
                ("GetAtt", Value::String(dotted)) => {
                    let (resource, attribute) = dotted
                        .split_once('.')
                        .ok_or_else(|| anyhow!("!GetAtt {dotted}: expected Resource.Attribute"))?;
                    Value::Array(vec![resource.into(), attribute.into()])
                }
                (_, inner) => inner,
            };
            Value::Object(Map::from_iter([(key, inner)]))
        }
    })
}

fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(name)) = fields.get("Ref") {
                found.insert(name.clone());
            }
            if let Some(Value::Array(parts)) = fields.get("Fn::GetAtt")
                && let Some(Value::String(name)) = parts.first()
            {
                found.insert(name.clone());
            }
            if let Some(sub) = fields.get("Fn::Sub") {
                let text = match sub {
                    Value::String(text) => Some(text.as_str()),
                    Value::Array(parts) => parts.first().and_then(Value::as_str),
                    _ => None,
                };
                for variable in text.map(sub_variables).unwrap_or_default() {
                    found.insert(variable.split('.').next().unwrap_or_default().to_owned());
                }
            }
            fields
                .values()
                .for_each(|inner| collect_references(inner, found));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|inner| collect_references(inner, found)),
        _ => {}
    }
}

/// The `${Name}` variables of an Fn::Sub string (not the `${!Literal}` escapes).
fn sub_variables(text: &str) -> Vec<String> {
    let mut variables = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        if !after.starts_with('!') {
            variables.push(after[..end].trim().to_owned());
        }
        rest = &after[end + 1..];
    }
    variables
}

/// What a resource exposes to the others once made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Made {
    /// What `Ref` returns.
    pub reference: String,
    /// What `Fn::GetAtt` returns, by attribute name.
    pub attributes: BTreeMap<String, String>,
}

/// Everything intrinsic functions can see.
pub struct Scope<'a> {
    pub parameters: &'a BTreeMap<String, Value>,
    pub pseudo: &'a BTreeMap<String, String>,
    pub conditions: &'a BTreeMap<String, bool>,
    pub made: &'a BTreeMap<String, Made>,
}

impl Scope<'_> {
    /// Resolves every intrinsic function in `value`. `None` is `AWS::NoValue` (the property is
    /// dropped).
    pub fn resolve(&self, value: &Value) -> anyhow::Result<Option<Value>> {
        match value {
            Value::Array(items) => {
                let mut resolved = Vec::new();
                for item in items {
                    if let Some(item) = self.resolve(item)? {
                        resolved.push(item);
                    }
                }
                Ok(Some(Value::Array(resolved)))
            }
            Value::Object(fields) if fields.len() == 1 => {
                let (key, argument) = fields
                    .iter()
                    .next()
                    .ok_or_else(|| anyhow!("empty object"))?;
                match key.as_str() {
                    "Ref" => self.reference(argument),
                    "Fn::GetAtt" => self.get_att(argument).map(Some),
                    "Fn::Sub" => self.sub(argument).map(|text| Some(Value::String(text))),
                    "Fn::Join" => self.join(argument).map(|text| Some(Value::String(text))),
                    "Fn::If" => self.if_(argument),
                    "Fn::Select" => self.select(argument).map(Some),
                    "Fn::Split" => self.split(argument).map(Some),
                    _ if key.starts_with("Fn::") => {
                        bail!("{key} is not supported by the local deploy")
                    }
                    _ => self.resolve_object(fields).map(Some),
                }
            }
            Value::Object(fields) => self.resolve_object(fields).map(Some),
            scalar => Ok(Some(scalar.clone())),
        }
    }

    /// Resolves and requires a value (no `AWS::NoValue`).
    pub fn value(&self, value: &Value) -> anyhow::Result<Value> {
        self.resolve(value)?
            .ok_or_else(|| anyhow!("AWS::NoValue where a value is required"))
    }

    fn resolve_object(&self, fields: &Map<String, Value>) -> anyhow::Result<Value> {
        let mut resolved = Map::new();
        for (key, inner) in fields {
            if let Some(inner) = self.resolve(inner).with_context(|| key.clone())? {
                resolved.insert(key.clone(), inner);
            }
        }
        Ok(Value::Object(resolved))
    }

    fn reference(&self, argument: &Value) -> anyhow::Result<Option<Value>> {
        let name = argument
            .as_str()
            .ok_or_else(|| anyhow!("Ref takes a name, got {argument}"))?;
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(Some(value.clone()));
        }
        if let Some(value) = self.pseudo.get(name) {
            return Ok(Some(Value::String(value.clone())));
        }
        match self.made.get(name) {
            Some(made) => Ok(Some(Value::String(made.reference.clone()))),
            None => bail!("Ref {name}: no such parameter, pseudo parameter or (created) resource"),
        }
    }

    fn get_att(&self, argument: &Value) -> anyhow::Result<Value> {
        let parts: Vec<&str> = argument
            .as_array()
            .map(|parts| parts.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let [resource, attribute] = parts[..] else {
            bail!("Fn::GetAtt takes [Resource, Attribute], got {argument}");
        };
        let made = self.made.get(resource).ok_or_else(|| {
            anyhow!("Fn::GetAtt {resource}.{attribute}: no such (created) resource")
        })?;
        made.attributes.get(attribute).map(|value| Value::String(value.clone())).ok_or_else(|| {
            anyhow!(
                "Fn::GetAtt {resource}.{attribute}: {resource} has no attribute {attribute} (it has: {})",
                made.attributes.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    fn sub(&self, argument: &Value) -> anyhow::Result<String> {
        let (text, variables) = match argument {
            Value::String(text) => (text.as_str(), Map::new()),
            Value::Array(parts) if parts.len() == 2 => (
                parts[0]
                    .as_str()
                    .ok_or_else(|| anyhow!("Fn::Sub: the first item must be a string"))?,
                parts[1]
                    .as_object()
                    .cloned()
                    .ok_or_else(|| anyhow!("Fn::Sub: the second item must be a map"))?,
            ),
            other => bail!("Fn::Sub takes a string or [string, map], got {other}"),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| anyhow!("Fn::Sub: unclosed ${{ in {text:?}"))?;
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(variable) = variables.get(name) {
                out.push_str(&text_of(&self.value(variable)?)?);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&text_of(
                    &self.get_att(&Value::from(vec![resource, attribute]))?,
                )?);
            } else {
                let value = self
                    .reference(&Value::from(name))?
                    .ok_or_else(|| anyhow!("${{{name}}} is AWS::NoValue"))?;
                out.push_str(&text_of(&value)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn join(&self, argument: &Value) -> anyhow::Result<String> {
        let parts = argument.as_array().filter(|parts| parts.len() == 2);
        let [delimiter, list] = parts.map(Vec::as_slice).unwrap_or_default() else {
            bail!("Fn::Join takes [delimiter, list], got {argument}");
        };
        let delimiter = delimiter
            .as_str()
            .ok_or_else(|| anyhow!("Fn::Join: the delimiter must be a string"))?;
        let list = self.value(list)?;
        let items = list
            .as_array()
            .ok_or_else(|| anyhow!("Fn::Join: the second item must be a list"))?;
        Ok(items
            .iter()
            .map(text_of)
            .collect::<anyhow::Result<Vec<_>>>()?
            .join(delimiter))
    }

    fn if_(&self, argument: &Value) -> anyhow::Result<Option<Value>> {
        let parts = argument.as_array().filter(|parts| parts.len() == 3);
        let [condition, then, otherwise] = parts.map(Vec::as_slice).unwrap_or_default() else {
            bail!("Fn::If takes [condition, then, else], got {argument}");
        };
        let name = condition
            .as_str()
            .ok_or_else(|| anyhow!("Fn::If: the condition must be a name"))?;
        let holds = *self
            .conditions
            .get(name)
            .ok_or_else(|| anyhow!("Fn::If: unknown condition {name}"))?;
        self.resolve(if holds { then } else { otherwise })
    }

    fn select(&self, argument: &Value) -> anyhow::Result<Value> {
        let parts = argument.as_array().filter(|parts| parts.len() == 2);
        let [index, list] = parts.map(Vec::as_slice).unwrap_or_default() else {
            bail!("Fn::Select takes [index, list], got {argument}");
        };
        let index: usize = text_of(&self.value(index)?)?
            .parse()
            .context("Fn::Select: the index")?;
        let list = self.value(list)?;
        list.as_array()
            .and_then(|items| items.get(index))
            .cloned()
            .ok_or_else(|| anyhow!("Fn::Select: no item {index} in {list}"))
    }

    fn split(&self, argument: &Value) -> anyhow::Result<Value> {
        let parts = argument.as_array().filter(|parts| parts.len() == 2);
        let [delimiter, text] = parts.map(Vec::as_slice).unwrap_or_default() else {
            bail!("Fn::Split takes [delimiter, string], got {argument}");
        };
        let delimiter = delimiter
            .as_str()
            .ok_or_else(|| anyhow!("Fn::Split: the delimiter must be a string"))?;
        let text = text_of(&self.value(text)?)?;
        Ok(Value::Array(
            text.split(delimiter)
                .map(|part| Value::String(part.to_owned()))
                .collect(),
        ))
    }
}

/// Evaluates the template's conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition).
pub fn evaluate_conditions(
    template: &Template,
    parameters: &BTreeMap<String, Value>,
    pseudo: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, bool>> {
    let mut evaluated = BTreeMap::new();
    let mut remaining: Vec<&String> = template.conditions.keys().collect();
    // Conditions may refer to each other: evaluate until nothing changes.
    while !remaining.is_empty() {
        let before = remaining.len();
        remaining.retain(|name| {
            let scope = Scope {
                parameters,
                pseudo,
                conditions: &evaluated,
                made: &BTreeMap::new(),
            };
            match condition(&scope, &template.conditions[name.as_str()]) {
                Ok(Some(holds)) => {
                    evaluated.insert((*name).clone(), holds);
                    false
                }
                _ => true,
            }
        });
        if remaining.len() == before {
            let scope = Scope {
                parameters,
                pseudo,
                conditions: &evaluated,
                made: &BTreeMap::new(),
            };
            let name = remaining[0];
            condition(&scope, &template.conditions[name.as_str()])
                .with_context(|| format!("condition {name}"))?;
            bail!("condition {name} refers to a condition that cannot be evaluated");
        }
    }
    Ok(evaluated)
}

/// Checks the template's Rules (their Assertions), as CloudFormation does before any change.
pub fn check_rules(
    template: &Template,
    parameters: &BTreeMap<String, Value>,
    pseudo: &BTreeMap<String, String>,
    conditions: &BTreeMap<String, bool>,
) -> anyhow::Result<()> {
    let scope = Scope {
        parameters,
        pseudo,
        conditions,
        made: &BTreeMap::new(),
    };
    for (name, rule) in &template.rules {
        if let Some(applies) = rule.get("RuleCondition")
            && condition(&scope, applies)? != Some(true)
        {
            continue;
        }
        for assertion in rule["Assertions"].as_array().into_iter().flatten() {
            if condition(&scope, &assertion["Assert"])? != Some(true) {
                let description = assertion["AssertDescription"]
                    .as_str()
                    .unwrap_or("assertion failed");
                bail!("rule {name}: {description}");
            }
        }
    }
    Ok(())
}

/// `Ok(None)`: refers to a condition not evaluated yet.
fn condition(scope: &Scope<'_>, expression: &Value) -> anyhow::Result<Option<bool>> {
    let (key, argument) = expression
        .as_object()
        .filter(|fields| fields.len() == 1)
        .and_then(|fields| fields.iter().next())
        .ok_or_else(|| anyhow!("not a condition: {expression}"))?;
    let operands = || argument.as_array().cloned().unwrap_or_default();
    Ok(match key.as_str() {
        "Condition" => {
            let name = argument.as_str().unwrap_or_default();
            match scope.conditions.get(name) {
                Some(holds) => Some(*holds),
                None => return Ok(None),
            }
        }
        "Fn::Equals" => {
            let items = operands();
            ensure!(items.len() == 2, "Fn::Equals takes two values");
            Some(scope.value(&items[0])? == scope.value(&items[1])?)
        }
        "Fn::Not" => match operands().first() {
            Some(inner) => condition(scope, inner)?.map(|holds| !holds),
            None => bail!("Fn::Not takes one condition"),
        },
        "Fn::And" | "Fn::Or" => {
            let mut results = Vec::new();
            for inner in operands() {
                match condition(scope, &inner)? {
                    Some(holds) => results.push(holds),
                    None => return Ok(None),
                }
            }
            Some(if key == "Fn::And" {
                results.iter().all(|r| *r)
            } else {
                results.iter().any(|r| *r)
            })
        }
        other => bail!("{other} is not a condition function"),
    })
}

/// A scalar as text, the way Fn::Sub and Fn::Join write it.
fn text_of(value: &Value) -> anyhow::Result<String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Array(items) => Ok(items
            .iter()
            .map(text_of)
            .collect::<anyhow::Result<Vec<_>>>()?
            .join(",")),
        other => bail!("{other} cannot be written as text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEMPLATE: &str = r#"
Parameters:
  Alias: {Type: String, Default: demo}
  Groups: {Type: CommaDelimitedList, Default: "Agents, Supervisors"}
  Existing: {Type: String, Default: "", AllowedPattern: ".*"}
  Mode: {Type: String, Default: email, AllowedValues: [email, userName]}
Conditions:
  CreateInstance: !Equals [!Ref Existing, ""]
  ByEmail: !Equals [!Ref Mode, email]
  Both: !And [!Condition CreateInstance, !Condition ByEmail]
  Neither: !Not [!Or [!Condition CreateInstance, !Condition ByEmail]]
Resources:
  Import:
    Type: Custom::Import
    DependsOn: [FnRole]
    Properties:
      ServiceToken: !GetAtt Fn.Arn
      InstanceId: !If [CreateInstance, !GetAtt Instance.Id, !Ref Existing]
      Groups: !Ref Groups
      Relay: !Sub "https://${AWS::Region}.example/${Instance.Id}?x=${!user:email}&a=${Alias}"
      Pair: !Join [",", [!GetAtt Role.Arn, !Ref Instance]]
      Optional: !If [ByEmail, !Ref "AWS::NoValue", set]
      First: !Select [0, !Split ["/", "a/b"]]
  Fn:
    Type: AWS::Serverless::Function
  Instance:
    Type: AWS::Connect::Instance
    Condition: CreateInstance
  Role:
    Type: AWS::IAM::Role
    Properties:
      Name: !Sub
        - "${Prefix}-role"
        - Prefix: !Ref Alias
"#;

    type Parts = (
        Template,
        BTreeMap<String, Value>,
        BTreeMap<String, String>,
        BTreeMap<String, bool>,
    );

    fn scope_parts(given: &[(&str, &str)]) -> Parts {
        let template = Template::parse(TEMPLATE).unwrap();
        let given = given
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let parameters = template.parameter_values(&given).unwrap();
        let pseudo = BTreeMap::from([("AWS::Region".to_owned(), "eu-west-1".to_owned())]);
        let conditions = evaluate_conditions(&template, &parameters, &pseudo).unwrap();
        (template, parameters, pseudo, conditions)
    }

    fn made() -> BTreeMap<String, Made> {
        let made = |reference: &str, attributes: &[(&str, &str)]| Made {
            reference: reference.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        BTreeMap::from([
            ("Fn".into(), made("fn", &[("Arn", "arn:fn")])),
            (
                "Instance".into(),
                made("arn:instance", &[("Id", "i-1"), ("Arn", "arn:instance")]),
            ),
            ("Role".into(), made("role", &[("Arn", "arn:role")])),
        ])
    }

    #[test]
    fn resolves_the_intrinsics_the_template_uses() {
        let (template, parameters, pseudo, conditions) = scope_parts(&[]);
        assert!(conditions["CreateInstance"]);
        assert!(conditions["Both"]);
        assert!(!conditions["Neither"]);
        let made = made();
        let scope = Scope {
            parameters: &parameters,
            pseudo: &pseudo,
            conditions: &conditions,
            made: &made,
        };
        let properties = scope
            .value(&template.resource("Import").unwrap()["Properties"])
            .unwrap();
        assert_eq!(
            properties,
            json!({
                "ServiceToken": "arn:fn",
                "InstanceId": "i-1",
                "Groups": ["Agents", "Supervisors"],
                "Relay": "https://eu-west-1.example/i-1?x=${user:email}&a=demo",
                "Pair": "arn:role,arn:instance",
                "First": "a"
            })
        );
        let role = scope
            .value(&template.resource("Role").unwrap()["Properties"])
            .unwrap();
        assert_eq!(role, json!({"Name": "demo-role"}));
    }

    #[test]
    fn conditions_follow_the_parameters() {
        let (template, parameters, pseudo, conditions) =
            scope_parts(&[("Existing", "i-9"), ("Mode", "userName")]);
        assert!(!conditions["CreateInstance"]);
        assert!(conditions["Neither"]);
        let made = made();
        let scope = Scope {
            parameters: &parameters,
            pseudo: &pseudo,
            conditions: &conditions,
            made: &made,
        };
        let properties = scope
            .value(&template.resource("Import").unwrap()["Properties"])
            .unwrap();
        assert_eq!(properties["InstanceId"], "i-9");
        assert_eq!(properties["Optional"], "set");
    }

    #[test]
    fn a_wrong_attribute_or_parameter_value_is_an_error() {
        let (template, parameters, pseudo, conditions) = scope_parts(&[]);
        let mut made = made();
        made.get_mut("Instance").unwrap().attributes.remove("Id");
        let scope = Scope {
            parameters: &parameters,
            pseudo: &pseudo,
            conditions: &conditions,
            made: &made,
        };
        let error = scope
            .value(&template.resource("Import").unwrap()["Properties"])
            .unwrap_err();
        assert!(
            format!("{error:#}").contains("Instance has no attribute Id"),
            "{error:#}"
        );
        let given = BTreeMap::from([("Mode".to_owned(), "upn".to_owned())]);
        assert!(template.parameter_values(&given).is_err());
    }

    #[test]
    fn creation_order_puts_dependencies_first() {
        let template = Template::parse(TEMPLATE).unwrap();
        let implicit = BTreeMap::from([("FnRole".to_owned(), "Fn".to_owned())]);
        let order = template.creation_order(&implicit).unwrap();
        let position = |id: &str| order.iter().position(|x| x == id).unwrap();
        assert!(position("Fn") < position("Import"));
        assert!(position("Instance") < position("Import"));
        assert!(position("Role") < position("Import"));
    }
}
