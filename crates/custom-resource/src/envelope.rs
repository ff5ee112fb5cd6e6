//! Reading the request envelope leniently: whatever else is wrong with an event, as long as a
//! ResponseURL can be found it gets an answer.

use serde_json::{Map, Value, json};

use crate::continuation::{CONTINUATION_KEY, Carried};

/// CloudFormation's `RequestType`, or what arrived instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
    /// A value CloudFormation does not send; answered FAILED.
    Unknown(String),
}

impl RequestType {
    fn parse(value: Option<&Value>) -> Self {
        match value.and_then(Value::as_str) {
            Some("Create") => Self::Create,
            Some("Update") => Self::Update,
            Some("Delete") => Self::Delete,
            Some(other) => Self::Unknown(other.to_owned()),
            None => Self::Unknown(match value {
                None | Some(Value::Null) => "<missing>".to_owned(),
                Some(other) => other.to_string(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Unknown(other) => other,
        }
    }
}

/// The fields of a CloudFormation request, each tolerated missing or mistyped.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub request_type: RequestType,
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub resource_type: String,
    pub physical_resource_id: Option<String>,
    pub properties: Value,
    pub old_properties: Option<Value>,
    /// What an earlier run of this request handed on ([`crate::continuation`]); `None` in the
    /// first run.
    pub carried: Option<Carried>,
    /// The event's `CustomResourceContinuation` is there but does not parse.
    pub carried_unreadable: Option<String>,
}

/// What an invocation carries.
#[derive(Debug)]
pub(crate) enum Event {
    CloudFormation(Box<Envelope>),
    /// A CloudFormation-looking event without a usable ResponseURL: nobody can be answered.
    Unanswerable(String),
    /// A hop of a request CloudFormation has already been answered for: it carries no
    /// ResponseURL, and whatever becomes of it, nothing is answered.
    Background(Box<Envelope>),
    /// Any other event (a scheduled sync): routed to `other_event`.
    Other(Value),
}

impl Event {
    pub fn classify(event: Value) -> Self {
        let Value::Object(fields) = &event else {
            if let Value::String(raw) = &event {
                // Not JSON at all (the runtime layer wrapped the raw text): salvage what we can.
                return match salvage_response_url(raw) {
                    Some(url) => Self::CloudFormation(Box::new(Envelope::salvaged(url, raw))),
                    None => Self::Unanswerable(
                        "the event is not JSON and carries no ResponseURL".into(),
                    ),
                };
            }
            return Self::Other(event);
        };
        let background = fields
            .get(CONTINUATION_KEY)
            .and_then(|carried| carried.get("Background"))
            .is_some_and(|background| !background.is_null());
        if background {
            // Never answered, whatever ResponseURL it may carry.
            return Self::Background(Box::new(Envelope::from_fields(fields, "")));
        }
        match fields.get("ResponseURL") {
            Some(Value::String(url)) if !url.is_empty() => {
                Self::CloudFormation(Box::new(Envelope::from_fields(fields, url)))
            }
            Some(_) => {
                Self::Unanswerable("the event's ResponseURL is empty or not a string".into())
            }
            None if fields.contains_key("RequestType") => {
                Self::Unanswerable("the event has a RequestType but no ResponseURL".into())
            }
            None => Self::Other(event),
        }
    }
}

impl Envelope {
    fn from_fields(fields: &Map<String, Value>, response_url: &str) -> Self {
        let carried = fields
            .get(CONTINUATION_KEY)
            .map(|carried| {
                serde_json::from_value::<Carried>(carried.clone()).map_err(|error| {
                    format!("the event's {CONTINUATION_KEY} does not parse: {error}")
                })
            })
            .transpose();
        let text = |key: &str| {
            fields
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            request_type: RequestType::parse(fields.get("RequestType")),
            response_url: response_url.to_owned(),
            stack_id: text("StackId"),
            request_id: text("RequestId"),
            logical_resource_id: text("LogicalResourceId"),
            resource_type: text("ResourceType"),
            physical_resource_id: fields
                .get("PhysicalResourceId")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            properties: fields
                .get("ResourceProperties")
                .cloned()
                .unwrap_or(Value::Null),
            old_properties: fields.get("OldResourceProperties").cloned(),
            carried: carried.as_ref().ok().cloned().flatten(),
            carried_unreadable: carried.err(),
        }
    }

    /// An envelope rebuilt from text that is not valid JSON: only string fields can be found.
    fn salvaged(response_url: String, raw: &str) -> Self {
        let text = |key: &str| salvage_string_field(raw, key).unwrap_or_default();
        Self {
            request_type: RequestType::Unknown("<unreadable: the event is not valid JSON>".into()),
            response_url,
            stack_id: text("StackId"),
            request_id: text("RequestId"),
            logical_resource_id: text("LogicalResourceId"),
            resource_type: text("ResourceType"),
            physical_resource_id: salvage_string_field(raw, "PhysicalResourceId"),
            properties: Value::Null,
            old_properties: None,
            carried: None,
            carried_unreadable: None,
        }
    }
}

impl Envelope {
    /// The event for the next run: this request's fields with `carried`. In the background it
    /// has no ResponseURL, so no later run can answer CloudFormation again.
    pub fn hop_event(&self, carried: &Carried) -> Value {
        let mut event = json!({
            "RequestType": self.request_type.as_str(),
            "StackId": self.stack_id,
            "RequestId": self.request_id,
            "LogicalResourceId": self.logical_resource_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": self.properties,
            CONTINUATION_KEY: carried,
        });
        if carried.background.is_none() {
            event["ResponseURL"] = json!(self.response_url);
        }
        if let Some(id) = &self.physical_resource_id {
            event["PhysicalResourceId"] = json!(id);
        }
        if let Some(old) = &self.old_properties {
            event["OldResourceProperties"] = old.clone();
        }
        event
    }
}

fn salvage_response_url(raw: &str) -> Option<String> {
    salvage_string_field(raw, "ResponseURL").filter(|url| url.starts_with("http"))
}

/// Finds `"key": "value"` in text that is not valid JSON as a whole, decoding the value as a JSON
/// string. Used only to answer an otherwise unreadable event.
fn salvage_string_field(raw: &str, key: &str) -> Option<String> {
    let quoted_key = format!("\"{key}\"");
    let after_key = &raw[raw.find(&quoted_key)? + quoted_key.len()..];
    let after_colon = after_key.trim_start().strip_prefix(':')?.trim_start();
    let mut stream = serde_json::Deserializer::from_str(after_colon).into_iter::<String>();
    stream.next()?.ok().filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(event: Value) -> Envelope {
        match Event::classify(event) {
            Event::CloudFormation(envelope) => *envelope,
            other => panic!("expected a CloudFormation event, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_full_update_request() {
        let e = envelope(json!({
            "RequestType": "Update", "ResponseURL": "https://bucket/x?sig=1", "StackId": "arn:s",
            "RequestId": "r1", "LogicalResourceId": "App", "ResourceType": "Custom::App",
            "PhysicalResourceId": "p1", "ResourceProperties": {"A": "1"}, "OldResourceProperties": {"A": "0"}
        }));
        assert_eq!(e.request_type, RequestType::Update);
        assert_eq!(e.physical_resource_id.as_deref(), Some("p1"));
        assert_eq!(e.properties, json!({"A": "1"}));
        assert_eq!(e.old_properties, Some(json!({"A": "0"})));
        assert_eq!(
            (e.stack_id.as_str(), e.request_id.as_str()),
            ("arn:s", "r1")
        );
    }

    #[test]
    fn tolerates_missing_and_mistyped_fields() {
        let e = envelope(json!({"ResponseURL": "https://b/x", "RequestType": 7, "StackId": null}));
        assert_eq!(e.request_type, RequestType::Unknown("7".into()));
        assert_eq!(e.stack_id, "");
        assert_eq!(e.properties, Value::Null);
        let e = envelope(json!({"ResponseURL": "https://b/x"}));
        assert_eq!(e.request_type, RequestType::Unknown("<missing>".into()));
    }

    #[test]
    fn unknown_request_type_is_kept_verbatim() {
        let e = envelope(json!({"ResponseURL": "https://b/x", "RequestType": "Upgrade"}));
        assert_eq!(e.request_type, RequestType::Unknown("Upgrade".into()));
    }

    #[test]
    fn events_without_a_response_url_are_not_cloudformation_requests() {
        assert!(matches!(
            Event::classify(json!({"sync": true})),
            Event::Other(_)
        ));
        assert!(matches!(Event::classify(json!([1, 2])), Event::Other(_)));
        assert!(matches!(
            Event::classify(json!({"RequestType": "Create"})),
            Event::Unanswerable(_)
        ));
        assert!(matches!(
            Event::classify(json!({"RequestType": "Create", "ResponseURL": ""})),
            Event::Unanswerable(_)
        ));
    }

    #[test]
    fn broken_json_still_yields_the_response_url() {
        let raw = r#"{"RequestType": "Create", "ResponseURL": "https://b/r?X-Amz-Signature=a%2Fb", "StackId": "arn:s", "RequestId": "r\"1", "ResourceProperties": {"#;
        let e = envelope(Value::String(raw.into()));
        assert_eq!(e.response_url, "https://b/r?X-Amz-Signature=a%2Fb");
        assert_eq!(e.request_id, "r\"1");
        assert_eq!(e.stack_id, "arn:s");
        assert!(matches!(e.request_type, RequestType::Unknown(_)));
    }

    #[test]
    fn broken_json_without_a_url_cannot_be_answered() {
        assert!(matches!(
            Event::classify(Value::String("{\"RequestType\": \"Cre".into())),
            Event::Unanswerable(_)
        ));
    }
}
