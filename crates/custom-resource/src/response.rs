//! The response document, kept within CloudFormation's 4096-byte limit.

use std::collections::BTreeMap;

use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceResponse as ResponseBody,
    CloudFormationCustomResourceResponseStatus as Status,
};

use crate::envelope::Envelope;

/// CloudFormation rejects a larger body ("Response object is too long."); the limit is inclusive.
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// Appended to a Reason that had to be cut.
const TRUNCATION_MARK: &str = " [truncated]";

/// The answer to one request, before it is shaped to fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub success: bool,
    pub reason: String,
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
    pub no_echo: bool,
}

impl Answer {
    pub fn succeeded(physical_resource_id: String, reason: impl Into<String>) -> Self {
        Self {
            success: true,
            ..Self::failed(physical_resource_id, reason)
        }
    }

    pub fn failed(physical_resource_id: String, reason: impl Into<String>) -> Self {
        Self {
            success: false,
            reason: reason.into(),
            physical_resource_id,
            data: BTreeMap::new(),
            no_echo: false,
        }
    }
}

/// Serializes the answer for `envelope`, never above [`MAX_RESPONSE_BYTES`]: the Reason is cut
/// first (its head kept); if the Data alone is too large, the answer becomes FAILED without Data,
/// with a Reason naming the keys dropped. Returns the body and the answer actually sent.
pub(crate) fn render(envelope: &Envelope, mut answer: Answer) -> (Vec<u8>, Answer) {
    if answer.reason.trim().is_empty() {
        // A null or empty Reason has made CloudFormation hang; always say something.
        answer.reason = if answer.success {
            "OK"
        } else {
            "failed (no reason given)"
        }
        .to_owned();
    }
    if let Some(body) = fit_reason(envelope, &answer) {
        return body;
    }
    let full_size = serialize(envelope, &answer).len();
    let mut keys: Vec<_> = answer
        .data
        .iter()
        .map(|(key, value)| (key.len() + value.len(), key.clone()))
        .collect();
    keys.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let dropped: Vec<String> = keys
        .into_iter()
        .map(|(size, key)| format!("{key} ({size} bytes)"))
        .collect();
    let too_large = Answer {
        success: false,
        reason: format!(
            "response too large ({full_size} bytes, CloudFormation accepts {MAX_RESPONSE_BYTES}): Data keys dropped: {}. {}",
            dropped.join(", "),
            answer.reason
        ),
        physical_resource_id: answer.physical_resource_id,
        data: BTreeMap::new(),
        no_echo: answer.no_echo,
    };
    fit_reason(envelope, &too_large).unwrap_or_else(|| {
        // Only a huge envelope field (a physical id past CloudFormation's own 1 KB limit) gets here.
        let bare = Answer::failed(
            "invalid-physical-resource-id".to_owned(),
            "response too large even without Data and Reason (an envelope field exceeds CloudFormation's limits)",
        );
        (serialize(envelope, &bare), bare)
    })
}

/// The answer with its Reason cut (head kept) so the body fits, or `None` when even an almost
/// empty Reason does not fit.
fn fit_reason(envelope: &Envelope, answer: &Answer) -> Option<(Vec<u8>, Answer)> {
    let body = serialize(envelope, answer);
    if body.len() <= MAX_RESPONSE_BYTES {
        return Some((body, answer.clone()));
    }
    let with_prefix = |end: usize| Answer {
        reason: format!("{}{TRUNCATION_MARK}", &answer.reason[..end]),
        ..answer.clone()
    };
    let boundaries: Vec<usize> = answer
        .reason
        .char_indices()
        .map(|(index, _)| index)
        .skip(1)
        .collect();
    // Largest prefix that fits: the size grows with the prefix, so search.
    let fits = |end: usize| serialize(envelope, &with_prefix(end)).len() <= MAX_RESPONSE_BYTES;
    let count = boundaries.partition_point(|&end| fits(end));
    let end = *boundaries[..count].last()?;
    let cut = with_prefix(end);
    Some((serialize(envelope, &cut), cut))
}

fn serialize(envelope: &Envelope, answer: &Answer) -> Vec<u8> {
    let mut body = ResponseBody::default();
    body.status = if answer.success {
        Status::Success
    } else {
        Status::Failed
    };
    body.reason = Some(answer.reason.clone());
    body.physical_resource_id = answer.physical_resource_id.clone();
    body.stack_id = envelope.stack_id.clone();
    body.request_id = envelope.request_id.clone();
    body.logical_resource_id = envelope.logical_resource_id.clone();
    body.no_echo = answer.no_echo;
    body.data = answer.data.clone().into_iter().collect();
    // Serializing plain strings and maps of strings cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::RequestType;
    use serde_json::Value;

    fn envelope() -> Envelope {
        Envelope {
            request_type: RequestType::Create,
            response_url: "https://bucket/key".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/0a1b".into(),
            request_id: "req-1".into(),
            logical_resource_id: "App".into(),
            resource_type: "Custom::App".into(),
            physical_resource_id: None,
            properties: Value::Null,
            old_properties: None,
            carried: None,
            carried_unreadable: None,
        }
    }

    fn parsed(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    fn success(data: &[(&str, String)]) -> Answer {
        Answer {
            success: true,
            reason: "OK".into(),
            physical_resource_id: "pid".into(),
            data: data
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            no_echo: false,
        }
    }

    #[test]
    fn a_small_answer_is_sent_as_is_with_the_envelope_ids() {
        let (body, sent) = render(&envelope(), success(&[("Arn", "arn:x".into())]));
        let json = parsed(&body);
        assert_eq!(json["Status"], "SUCCESS");
        assert_eq!(json["PhysicalResourceId"], "pid");
        assert_eq!(json["StackId"], envelope().stack_id);
        assert_eq!(json["RequestId"], "req-1");
        assert_eq!(json["LogicalResourceId"], "App");
        assert_eq!(json["Data"]["Arn"], "arn:x");
        assert_eq!(json["NoEcho"], false);
        assert_eq!(sent.data.len(), 1);
    }

    #[test]
    fn an_empty_reason_is_never_sent() {
        let (body, _) = render(&envelope(), Answer::failed("p".into(), "  "));
        assert_eq!(parsed(&body)["Reason"], "failed (no reason given)");
    }

    #[test]
    fn a_long_reason_keeps_its_head_and_fits_exactly() {
        let reason = format!("HEAD {}", "x".repeat(10_000));
        let (body, sent) = render(&envelope(), Answer::failed("p".into(), reason));
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
        assert!(
            body.len() > MAX_RESPONSE_BYTES - 4,
            "the Reason should use the room there is"
        );
        let reason = parsed(&body)["Reason"].as_str().unwrap().to_owned();
        assert!(reason.starts_with("HEAD xxx") && reason.ends_with(TRUNCATION_MARK));
        assert_eq!(sent.reason, reason);
    }

    #[test]
    fn multi_byte_and_escaped_text_is_measured_in_bytes() {
        // 3-byte characters and characters JSON escapes to 6 bytes each.
        for filler in ["€", "\u{1}", "\""] {
            let (body, _) = render(
                &envelope(),
                Answer::failed("p".into(), filler.repeat(5_000)),
            );
            assert!(
                body.len() <= MAX_RESPONSE_BYTES,
                "{filler:?}: {}",
                body.len()
            );
            let reason = parsed(&body)["Reason"].as_str().unwrap().to_owned();
            assert!(reason.starts_with(filler) && reason.ends_with(TRUNCATION_MARK));
        }
    }

    #[test]
    fn data_too_large_becomes_failed_naming_the_dropped_keys() {
        let (body, sent) = render(
            &envelope(),
            success(&[("Big", "b".repeat(5_000)), ("Small", "s".into())]),
        );
        let json = parsed(&body);
        assert!(body.len() <= MAX_RESPONSE_BYTES);
        assert_eq!(json["Status"], "FAILED");
        assert!(json["Data"].as_object().is_none_or(|d| d.is_empty()));
        let reason = json["Reason"].as_str().unwrap();
        assert!(reason.starts_with("response too large ("), "{reason}");
        assert!(
            reason.contains("Big (5003 bytes)") && reason.contains("Small (6 bytes)"),
            "{reason}"
        );
        assert!(!sent.success);
        assert_eq!(sent.physical_resource_id, "pid");
    }

    #[test]
    fn no_echo_is_carried() {
        let mut answer = success(&[("Secret", "s".into())]);
        answer.no_echo = true;
        let (body, _) = render(&envelope(), answer);
        assert_eq!(parsed(&body)["NoEcho"], true);
    }
}
