//! Whether an event may make the function act: only this stack's CloudFormation (or the stack's
//! own schedule) can have sent it. Anyone allowed `lambda:InvokeFunction` on a function can hand
//! it any payload, so the payload proves nothing by itself; what the template set in the
//! function's environment (the stack's id) and what CloudFormation says about that stack do.

use std::time::Duration;

use stack_sync::{OperationId, StackOperation};

use crate::continuation::Background;
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
    /// The resource and properties the stack set in the function's environment: what a
    /// background hop acts on (its event's properties could be anyone's).
    stack_set: Option<stack_sync::SyncTarget>,
}

impl Authority {
    /// What the environment says: the stack's id, and the local-testing switch.
    pub fn from_env() -> Self {
        let stack_set = stack_sync::SyncTarget::from_env().unwrap_or_else(|problem| {
            tracing::error!(problem = %format!("{problem:#}"), "the stack-set properties do not parse: no background continuation will run");
            None
        });
        Self {
            stack_id: this_stack_id(),
            any_response_url: test_switch(TEST_RESPONSE_URLS_ENV, false),
            stacks: tokio::sync::OnceCell::new(),
            stack_set,
        }
    }

    /// Checks for stack `stack_id`, through `guard`, answering any ResponseURL (tests).
    #[cfg(test)]
    pub fn for_tests(
        stack_id: &str,
        guard: stack_sync::StackGuard,
        stack_set: stack_sync::SyncTarget,
    ) -> Self {
        Self {
            stack_id: Some(stack_id.to_owned()),
            any_response_url: true,
            stacks: tokio::sync::OnceCell::new_with(Some(guard)),
            stack_set: Some(stack_set),
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

    /// Asks CloudFormation whether this stack is in a state in which it sends requests; the
    /// operation it is in, when it is. Waits at most `wait` (and never more than
    /// [`STATUS_CHECK_TIMEOUT`]) for the answer.
    pub async fn check_stack_status(
        &self,
        envelope: &Envelope,
        wait: Duration,
    ) -> Result<OperationId, Refusal> {
        let refused = |reason: String| Refusal {
            reason,
            answer: true,
        };
        match self.stack_operation(&envelope.stack_id, wait).await {
            Ok(Some(stack)) if cloudformation_may_send_requests(&stack.status) => {
                Ok(stack.operation)
            }
            Ok(Some(stack)) => Err(refused(format!(
                "refused, nothing done: the stack is {}; CloudFormation sends requests only while an \
                 operation is in progress",
                stack.status
            ))),
            Ok(None) => Err(refused(
                "refused, nothing done: CloudFormation does not know the stack".to_owned(),
            )),
            Err(problem) => Err(refused(format!(
                "refused, nothing done: {problem}, so the request cannot be confirmed as CloudFormation's"
            ))),
        }
    }

    /// Whether a background hop (CloudFormation already answered) may go on: the event names
    /// this function's stack, the stack is still in the operation that was answered (running, or
    /// completed successfully) and the resource still has the physical id answered. The hop then
    /// acts on the properties the stack set in the function's environment (returned), never on
    /// its event's. `Err` says why the chain stops.
    pub async fn check_background(
        &self,
        envelope: &Envelope,
        background: &Background,
        wait: Duration,
    ) -> Result<serde_json::Value, String> {
        let Some(stack_id) = &self.stack_id else {
            return Err(format!(
                "the function does not know its stack ({STACK_ID_ENV} is not set)"
            ));
        };
        if envelope.stack_id != *stack_id {
            return Err(format!(
                "the event is for stack {}, this function serves only stack {stack_id}",
                envelope.stack_id
            ));
        }
        let Some(answered) = &background.operation else {
            return Err("the event does not say which stack operation was answered".to_owned());
        };
        let properties = match &self.stack_set {
            Some(target) if target.logical_resource_id == envelope.logical_resource_id => {
                target.properties_json().clone()
            }
            _ => {
                return Err(format!(
                    "the stack set no properties for {} in the function's environment ({}), and a background run \
                     acts only on those",
                    envelope.logical_resource_id,
                    stack_sync::SYNC_PROPERTIES_ENV
                ));
            }
        };
        let stack = match self.stack_operation(stack_id, wait).await {
            Ok(Some(stack)) => stack,
            Ok(None) => return Err("the stack no longer exists".to_owned()),
            Err(problem) => return Err(problem),
        };
        if !stack.is_still(answered) {
            return Err(format!(
                "the stack moved on from the operation that was answered (now {}, {:?}; answered {:?})",
                stack.status, stack.operation, answered
            ));
        }
        let guard = self.guard().await;
        let resource = tokio::time::timeout(
            wait.min(STATUS_CHECK_TIMEOUT),
            guard.resource(stack_id, &envelope.logical_resource_id),
        )
        .await;
        match resource {
            Ok(Ok(Some(resource)))
                if holds_the_answer(&resource, &background.physical_resource_id) =>
            {
                Ok(properties)
            }
            Ok(Ok(Some(resource))) => Err(format!(
                "the resource is {} with physical id {}, not the {} answered",
                resource.status, resource.physical_resource_id, background.physical_resource_id
            )),
            Ok(Ok(None)) => Err("the stack no longer has the resource".to_owned()),
            Ok(Err(error)) => Err(format!("the resource could not be read: {error:#}")),
            Err(_) => Err("CloudFormation did not describe the resource in time".to_owned()),
        }
    }

    async fn guard(&self) -> &stack_sync::StackGuard {
        self.stacks
            .get_or_init(|| async {
                let config = https_client::sdk::load_config().await;
                stack_sync::StackGuard::from_config(&config)
            })
            .await
    }

    /// DescribeStacks, within `wait` (at most [`STATUS_CHECK_TIMEOUT`]); the error says why no
    /// answer came.
    async fn stack_operation(
        &self,
        stack_id: &str,
        wait: Duration,
    ) -> Result<Option<StackOperation>, String> {
        let wait = wait.min(STATUS_CHECK_TIMEOUT);
        let guard = self.guard().await;
        match tokio::time::timeout(wait, guard.stack_operation(stack_id)).await {
            Ok(Ok(stack)) => Ok(stack),
            Ok(Err(error)) => Err(format!(
                "the stack's status could not be read ({error:#}); the function's role needs \
                 cloudformation:DescribeStacks on the stack"
            )),
            Err(_) => Err(format!(
                "CloudFormation did not say the stack's status within {} ms",
                wait.as_millis()
            )),
        }
    }
}

/// Longest wait for DescribeStacks: the answer must still fit before the deadline.
const STATUS_CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether the resource still holds the answer a background chain continues: complete with the
/// physical id answered, or still in progress. CloudFormation records an answer some time after
/// it arrives, so the first background run can find the resource in progress, with no physical
/// id or the one from before an Update (our reading, MED); the stack was checked to be in the
/// operation answered, in which nothing else changes the resource.
fn holds_the_answer(resource: &stack_sync::ResourceState, answered_id: &str) -> bool {
    match resource.status.as_str() {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" => resource.physical_resource_id == answered_id,
        "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS" => true,
        _ => false,
    }
}

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
