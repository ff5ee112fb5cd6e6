//! A deployed connect-sso stack, as CloudFormation's DescribeStacks reports it.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};

/// The stack's id, region, outputs and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedStack {
    /// `arn:aws:cloudformation:<region>:<account>:stack/<name>/<guid>`.
    pub stack_id: String,
    pub region: String,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

/// The logical id of the user import in template.yaml (its ownership tags name it).
pub const USER_IMPORT_LOGICAL_ID: &str = "ConnectUserImport";

impl DeployedStack {
    /// Reads the stack `name` (or stack id) with `client`, whose region is the stack's.
    pub async fn describe(
        client: &aws_sdk_cloudformation::Client,
        name: &str,
    ) -> anyhow::Result<Self> {
        let answer = client.describe_stacks().stack_name(name).send().await;
        let output = match answer {
            Ok(output) => output,
            Err(error)
                if error
                    .message()
                    .is_some_and(|m| m.contains("does not exist")) =>
            {
                bail!(
                    "there is no stack {name:?} in {} (give --region, or the stack's exact name)",
                    client
                        .config()
                        .region()
                        .map(|r| r.to_string())
                        .unwrap_or_default()
                )
            }
            Err(error) => {
                return Err(anyhow::anyhow!(
                    "cloudformation DescribeStacks {name}: {}",
                    DisplayErrorContext(&error)
                ));
            }
        };
        let stack = output
            .stacks()
            .first()
            .with_context(|| format!("DescribeStacks returned no stack named {name:?}"))?;
        let stack_id = stack.stack_id().unwrap_or_default().to_owned();
        let region = arn::StackId::parse(&stack_id)
            .and_then(|stack| stack.region().map(str::to_owned))
            .or_else(|| client.config().region().map(|r| r.to_string()))
            .context("the stack's region is unknown: give --region")?;
        let outputs = stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect();
        let parameters = stack
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect();
        Ok(Self {
            stack_id,
            region,
            outputs,
            parameters,
        })
    }
}
