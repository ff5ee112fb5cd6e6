//! Deserializers for what CloudFormation really sends: every scalar property arrives as a string
//! (`true` becomes `"true"`, `14` becomes `"14"`). Native JSON values are accepted too, so the
//! same properties work from a hand-written event.
//!
//! Use with `#[serde(default, deserialize_with = "custom_resource::lenient::bool")]` and friends.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::{Deserialize, Deserializer, Error};
use serde_json::Value;

/// `true`/`false`, as a boolean or a string (any case).
pub fn bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    parse_bool(&Value::deserialize(deserializer)?).map_err(D::Error::custom)
}

/// An optional `bool`; pair with `#[serde(default)]`.
pub fn option_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => parse_bool(&value).map(Some).map_err(D::Error::custom),
    }
}

/// A number, as a JSON number or a string holding one.
pub fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    parse_number(&Value::deserialize(deserializer)?).map_err(D::Error::custom)
}

/// An optional number; pair with `#[serde(default)]`.
pub fn option_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => parse_number(&value).map(Some).map_err(D::Error::custom),
    }
}

/// An optional string property read into `T` (`T::try_from(String)` says what is wrong), with a
/// blank value counted as absent: a template parameter left empty, or `!If [c, x, ""]`, arrives
/// as `""`. Pair with `#[serde(default)]`.
pub fn given<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String>,
    T::Error: Display,
{
    match Option::<String>::deserialize(deserializer)? {
        Some(text) if !text.trim().is_empty() => {
            T::try_from(text).map(Some).map_err(D::Error::custom)
        }
        _ => Ok(None),
    }
}

/// A list of names with blank entries dropped (an empty CommaDelimitedList parameter arrives as
/// `[""]`), each read into `T`. Pair with `#[serde(default)]`.
pub fn non_blank_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String>,
    T::Error: Display,
{
    Vec::<String>::deserialize(deserializer)?
        .into_iter()
        .filter(|text| !text.trim().is_empty())
        .map(|text| T::try_from(text).map_err(D::Error::custom))
        .collect()
}

fn parse_bool(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(format!("expected true or false, got {other}")),
    }
}

fn parse_number<T>(value: &Value) -> Result<T, String>
where
    T: FromStr,
    T::Err: Display,
{
    let text = match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.trim().to_owned(),
        other => return Err(format!("expected a number, got {other}")),
    };
    text.parse::<T>()
        .map_err(|error| format!("expected a number, got {value} ({error})"))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Props {
        #[serde(default, deserialize_with = "super::bool")]
        flag: bool,
        #[serde(default, deserialize_with = "super::option_bool")]
        maybe: Option<bool>,
        #[serde(default, deserialize_with = "super::number")]
        count: u32,
        #[serde(default, deserialize_with = "super::option_number")]
        limit: Option<i64>,
    }

    fn parse(value: serde_json::Value) -> Result<Props, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_stringified_scalars() {
        let props =
            parse(json!({"flag": "true", "maybe": "FALSE", "count": "14", "limit": "-3"})).unwrap();
        assert_eq!(
            props,
            Props {
                flag: true,
                maybe: Some(false),
                count: 14,
                limit: Some(-3)
            }
        );
    }

    #[test]
    fn accepts_native_scalars_and_absence() {
        assert_eq!(
            parse(json!({"flag": true, "count": 2})).unwrap(),
            Props {
                flag: true,
                maybe: None,
                count: 2,
                limit: None
            }
        );
    }

    #[derive(Debug, Deserialize)]
    struct Texts {
        #[serde(default, deserialize_with = "super::given")]
        region: Option<crate::value::NonBlank>,
        #[serde(default, deserialize_with = "super::non_blank_list")]
        groups: Vec<crate::value::NonBlank>,
    }

    #[test]
    fn blank_text_counts_as_absent_and_blank_list_entries_are_dropped() {
        let texts: Texts =
            serde_json::from_value(json!({"region": "  ", "groups": ["", " a ", "  "]})).unwrap();
        assert_eq!(texts.region, None);
        let groups: Vec<&str> = texts.groups.iter().map(|g| g.as_str()).collect();
        assert_eq!(groups, ["a"]);
        let texts: Texts = serde_json::from_value(json!({"region": "eu-west-1"})).unwrap();
        assert_eq!(texts.region.as_deref(), Some("eu-west-1"));
        assert!(texts.groups.is_empty());
    }

    #[test]
    fn false_as_a_string_is_false() {
        assert!(!parse(json!({"flag": "false"})).unwrap().flag);
    }

    #[test]
    fn rejects_what_is_not_a_bool_or_a_number_saying_what_is_accepted() {
        let error = parse(json!({"flag": "yes"})).unwrap_err();
        assert!(
            error.contains("expected true or false, got \"yes\""),
            "{error}"
        );
        let error = parse(json!({"count": "14.5"})).unwrap_err();
        assert!(error.contains("expected a number, got \"14.5\""), "{error}");
        let error = parse(json!({"count": "-1"})).unwrap_err();
        assert!(error.contains("expected a number"), "{error}");
    }
}
