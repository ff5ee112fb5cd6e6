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
///
/// A binary older than any of its sources is refused: a test of it would silently test old code.
pub fn workspace_binary(name: &str) -> anyhow::Result<PathBuf> {
    let binary = built_binary(name)?;
    if let Some(newer) = newer_source(&binary)? {
        anyhow::bail!(
            "{} is older than its source {}: run `cargo build --workspace --bins` first",
            binary.display(),
            newer.display()
        );
    }
    Ok(binary)
}

/// The first source of `binary` (from the dep-info file cargo writes next to it) modified after
/// it. Paths of the checkout that built it are read in this checkout (a copied target directory
/// names the other one).
fn newer_source(binary: &std::path::Path) -> anyhow::Result<Option<PathBuf>> {
    let dep_info = binary.with_extension("d");
    let text = std::fs::read_to_string(&dep_info).map_err(|error| {
        anyhow::anyhow!(
            "cannot tell whether {} is current: {} ({error}); run `cargo build --workspace --bins`",
            binary.display(),
            dep_info.display()
        )
    })?;
    let built = std::fs::metadata(binary)?.modified()?;
    let this_checkout = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (target, sources) = text
        .lines()
        .next()
        .and_then(|line| line.split_once(": "))
        .ok_or_else(|| anyhow::anyhow!("unexpected dep-info in {}", dep_info.display()))?;
    let built_checkout = target
        .rfind("/target/")
        .map(|at| PathBuf::from(&target[..at]));
    for source in dep_info_paths(sources) {
        let source = match built_checkout
            .as_deref()
            .and_then(|root| source.strip_prefix(root).ok())
        {
            Some(relative) => this_checkout.join(relative),
            None => source,
        };
        // A source that no longer exists cannot be newer (a removed file fails the build anyway).
        let Ok(modified) = std::fs::metadata(&source).and_then(|meta| meta.modified()) else {
            continue;
        };
        if modified > built {
            return Ok(Some(source));
        }
    }
    Ok(None)
}

/// The space-separated paths of a dep-info rule (`\ ` is a space inside a path).
fn dep_info_paths(sources: &str) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = sources.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    paths.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        paths.push(PathBuf::from(current));
    }
    paths
}

fn built_binary(name: &str) -> anyhow::Result<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_paths_keep_escaped_spaces() {
        assert_eq!(
            dep_info_paths("/a/src/lib.rs /b\\ c/main.rs  /d.rs"),
            [
                PathBuf::from("/a/src/lib.rs"),
                PathBuf::from("/b c/main.rs"),
                PathBuf::from("/d.rs")
            ]
        );
    }

    #[test]
    fn a_binary_older_than_a_source_is_stale() {
        let dir = std::env::temp_dir().join(format!("stale-{:08x}", fastrand::u32(..)));
        std::fs::create_dir_all(dir.join("out")).unwrap();
        let source = dir.join("main.rs");
        let binary = dir.join("out/function");
        std::fs::write(&source, "fn main() {}").unwrap();
        std::fs::write(&binary, "built").unwrap();
        std::fs::write(
            binary.with_extension("d"),
            format!("{}: {}\n", binary.display(), source.display()),
        )
        .unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&binary)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(newer_source(&binary).unwrap(), None);
        std::fs::File::options()
            .write(true)
            .open(&source)
            .unwrap()
            .set_modified(later + std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(newer_source(&binary).unwrap(), Some(source));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
