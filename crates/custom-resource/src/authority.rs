//! Whether an event may make the function act: only this stack's CloudFormation (or the stack's
//! own schedule) can have sent it. Anyone allowed `lambda:InvokeFunction` on a function can hand
//! it any payload, so the payload proves nothing by itself; what the template set in the
//! function's environment (the stack's id) and what CloudFormation says about that stack do.

use std::time::Duration;

use crate::envelope::{Envelope, RequestType};

/// The environment variable holding the ARN of the stack the function belongs to (the template
/// sets it from `!Ref AWS::StackId`). Without it every CloudFormation event is refused.
pub const STACK_ID_ENV: &str = stack_sync::STACK_ID_ENV;

/// Local-testing switch: answer ResponseURLs that are not CloudFormation's response bucket (a
/// local HTTP server standing in for it). Never honoured by a release build inside Lambda
/// ([`test_switch`]).
pub const TEST_RESPONSE_URLS_ENV: &str = "CONNECT_SSO_TEST_ANY_RESPONSE_URL";

/// Whether the process runs in AWS Lambda itself: Lambda always sets these reserved variables
/// (`LAMBDA_TASK_ROOT` for every runtime, `AWS_EXECUTION_ENV` for managed ones), and a function's
/// configuration cannot set or remove them. Local harnesses do not set them.
pub fn inside_lambda() -> bool {
    std::env::var_os("LAMBDA_TASK_ROOT").is_some()
        || std::env::var_os("AWS_EXECUTION_ENV").is_some()
}

/// A local-testing switch (`NAME=true`). A `debug_only` switch is honoured only by a debug build
/// running outside Lambda; any other only when the binary is not a release build running in
/// Lambda. Either way the shipped binaries (release builds, in Lambda) ignore every switch.
pub fn test_switch(name: &str, debug_only: bool) -> bool {
    let honoured = if debug_only {
        cfg!(debug_assertions) && !inside_lambda()
    } else {
        cfg!(debug_assertions) || !inside_lambda()
    };
    honoured && std::env::var(name).is_ok_and(|value| value.eq_ignore_ascii_case("true"))
}

/// The stack this function belongs to, from [`STACK_ID_ENV`].
pub fn this_stack_id() -> Option<String> {
    std::env::var(STACK_ID_ENV)
        .ok()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

/// Whether `url` is where CloudFormation collects custom-resource responses: an https URL of its
/// S3 response buckets, `cloudformation-custom-resource-response-<region>` (virtual-hosted, any
/// S3 endpoint form, `.amazonaws.com` or `.amazonaws.com.cn`). A refusal is only ever PUT there:
/// a forged event's ResponseURL is the sender's choice, and PUTting to it would let anyone make
/// the function send requests from inside the account's network.
pub fn is_cloudformation_response_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let Some(url::Host::Domain(host)) = parsed.host() else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    parsed.scheme() == "https"
        && parsed.port().is_none()
        && host.starts_with("cloudformation-custom-resource-response-")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
        && parsed.username().is_empty()
}

/// Stack statuses during which CloudFormation sends custom-resource requests: every operation in
/// progress, cleanup phases included, but not REVIEW_IN_PROGRESS (a change set being reviewed,
/// nothing runs).
pub fn cloudformation_may_send_requests(stack_status: &str) -> bool {
    stack_status.ends_with("_IN_PROGRESS") && stack_status != "REVIEW_IN_PROGRESS"
}

/// Why an event is refused, and whether the refusal may be PUT to its ResponseURL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub reason: String,
    /// The ResponseURL is CloudFormation's (or local testing allows any): answering is safe.
    pub answer: bool,
}

/// The checks made before a CloudFormation event reaches the handler.
pub(crate) struct Authority {
    stack_id: Option<String>,
    any_response_url: bool,
    stacks: tokio::sync::OnceCell<stack_sync::StackGuard>,
}

impl Authority {
    /// What the environment says: the stack's id, and the local-testing switch.
    pub fn from_env() -> Self {
        Self {
            stack_id: this_stack_id(),
            any_response_url: test_switch(TEST_RESPONSE_URLS_ENV, false),
            stacks: tokio::sync::OnceCell::new(),
        }
    }

    /// The checks that need no call: the ids CloudFormation always sends, the ResponseURL, and
    /// the stack named.
    pub fn check_envelope(&self, envelope: &Envelope) -> Result<(), Refusal> {
        let answer =
            self.any_response_url || is_cloudformation_response_url(&envelope.response_url);
        let missing: Vec<&str> = [
            ("StackId", envelope.stack_id.as_str()),
            ("RequestId", envelope.request_id.as_str()),
            ("LogicalResourceId", envelope.logical_resource_id.as_str()),
            ("ResourceType", envelope.resource_type.as_str()),
        ]
        .into_iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| name)
        .chain(
            matches!(&envelope.request_type, RequestType::Unknown(t) if t == "<missing>")
                .then_some("RequestType"),
        )
        .collect();
        if !missing.is_empty() {
            return Err(Refusal {
                reason: format!(
                    "refused, nothing done: the event lacks {}, which CloudFormation always sends",
                    missing.join(", ")
                ),
                answer: false,
            });
        }
        if !answer {
            return Err(Refusal {
                reason: format!(
                    "refused, nothing done and no answer sent: the ResponseURL (host {}) is not CloudFormation's \
                     response bucket (https://cloudformation-custom-resource-response-<region>.s3...amazonaws.com)",
                    crate::logging::host_of(&envelope.response_url)
                ),
                answer: false,
            });
        }
        let Some(stack_id) = &self.stack_id else {
            return Err(Refusal {
                reason: format!(
                    "refused, nothing done: the function does not know its stack ({STACK_ID_ENV} is not set; \
                     the template sets it to !Ref AWS::StackId)"
                ),
                answer,
            });
        };
        if envelope.stack_id != *stack_id {
            return Err(Refusal {
                reason: format!(
                    "refused, nothing done: the request is for stack {}, this function serves only stack {stack_id}",
                    envelope.stack_id
                ),
                answer,
            });
        }
        Ok(())
    }

    /// Asks CloudFormation whether this stack is in a state in which it sends requests.
    /// Waits at most `wait` (and never more than [`STATUS_CHECK_TIMEOUT`]) for the answer.
    pub async fn check_stack_status(
        &self,
        envelope: &Envelope,
        wait: Duration,
    ) -> Result<(), Refusal> {
        let wait = wait.min(STATUS_CHECK_TIMEOUT);
        let guard = self
            .stacks
            .get_or_init(|| async {
                let config = https_client::sdk::load_config().await;
                stack_sync::StackGuard::from_config(&config)
            })
            .await;
        let refused = |reason: String| Refusal {
            reason,
            answer: true,
        };
        match tokio::time::timeout(wait, guard.stack_status(&envelope.stack_id)).await {
            Ok(Ok(Some(status))) if cloudformation_may_send_requests(&status) => Ok(()),
            Ok(Ok(Some(status))) => Err(refused(format!(
                "refused, nothing done: the stack is {status}; CloudFormation sends requests only while an \
                 operation is in progress"
            ))),
            Ok(Ok(None)) => Err(refused(
                "refused, nothing done: CloudFormation does not know the stack".to_owned(),
            )),
            Ok(Err(error)) => Err(refused(format!(
                "refused, nothing done: the stack's status could not be read, so the request cannot be \
                 confirmed as CloudFormation's ({error:#}); the function's role needs \
                 cloudformation:DescribeStacks on the stack"
            ))),
            Err(_) => Err(refused(format!(
                "refused, nothing done: CloudFormation did not say the stack's status within {} ms",
                wait.as_millis()
            ))),
        }
    }
}

/// Longest wait for DescribeStacks: the answer must still fit before the deadline.
const STATUS_CHECK_TIMEOUT: Duration = Duration::from_secs(15);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cloudformation_response_buckets_are_answered() {
        for url in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3A/x?X-Amz-Signature=1",
            "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x",
        ] {
            assert!(is_cloudformation_response_url(url), "{url}");
        }
        for url in [
            "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
            "https://attacker.example/x",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.attacker.example/x",
            "https://cloudformation-custom-resource-response-x.s3.amazonaws.com:8443/x",
            "https://169.254.169.254/latest",
            "https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/x",
            "not a url",
        ] {
            assert!(!is_cloudformation_response_url(url), "{url}");
        }
    }

    #[test]
    fn requests_come_only_while_an_operation_is_in_progress() {
        for status in [
            "CREATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
            "DELETE_IN_PROGRESS",
        ] {
            assert!(cloudformation_may_send_requests(status), "{status}");
        }
        for status in [
            "CREATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "DELETE_COMPLETE",
            "REVIEW_IN_PROGRESS",
        ] {
            assert!(!cloudformation_may_send_requests(status), "{status}");
        }
    }
}
