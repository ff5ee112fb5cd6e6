//! Running the project's Lambda functions locally, the way Lambda and CloudFormation run them:
//! [`FunctionProcess`] serves the Lambda Runtime API to a compiled `bootstrap`-style binary, and
//! [`ResponseBucket`] stands in for the pre-signed ResponseURL a custom resource answers,
//! [`LambdaService`] for Lambda's Invoke API (asynchronous self-invocations) and [`StackStatus`]
//! for the CloudFormation reads of a scheduled sync.

mod invoke_api;
mod response_bucket;
mod runtime_api;
mod stack_status;

use std::path::PathBuf;

pub use invoke_api::{AsyncInvocation, LambdaService};
pub use response_bucket::{Received, Reply, ResponseBucket};
pub use runtime_api::{FunctionProcess, Outcome};
pub use stack_status::StackStatus;

/// The path of a binary built in this workspace's target directory (the profile of the running
/// test or tool), e.g. `workspace_binary("saml-provider")`. Build it first (`cargo build --bins`).
pub fn workspace_binary(name: &str) -> anyhow::Result<PathBuf> {
    let current = std::env::current_exe()?;
    // target/<profile>/deps/<test> or target/<profile>/<tool>
    let profile_dir = current
        .ancestors()
        .find(|dir| {
            dir.join(name).is_file()
                || dir
                    .file_name()
                    .is_some_and(|n| n == "debug" || n == "release")
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "cannot locate the target directory from {}",
                current.display()
            )
        })?;
    let binary = profile_dir.join(name);
    anyhow::ensure!(
        binary.is_file(),
        "{} is not built: run `cargo build --bins` first",
        binary.display()
    );
    Ok(binary)
}

/// The stack of [`cloudformation_event`], and the one [`FunctionProcess::spawn`] tells a function
/// it belongs to unless told otherwise.
pub const LOCAL_STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/local/7a2d9c40-0000-11ef-8000-000000000000";

/// A CloudFormation request event for local runs and tests.
pub fn cloudformation_event(
    request_type: &str,
    response_url: &str,
    logical_resource_id: &str,
    resource_type: &str,
    physical_resource_id: Option<&str>,
    properties: serde_json::Value,
    old_properties: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut event = serde_json::json!({
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:local",
        "ResponseURL": response_url,
        "StackId": LOCAL_STACK_ID,
        "RequestId": format!("{:08x}-local", fastrand::u32(..)),
        "LogicalResourceId": logical_resource_id,
        "ResourceType": resource_type,
        "ResourceProperties": properties,
    });
    if let Some(id) = physical_resource_id {
        event["PhysicalResourceId"] = id.into();
    }
    if let Some(old) = old_properties {
        event["OldResourceProperties"] = old;
    }
    event
}
