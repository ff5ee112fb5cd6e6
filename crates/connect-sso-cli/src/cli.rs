//! The command line: `connect-sso doctor`, `connect-sso plan` and `connect-sso preflight`.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use aws_config::{Region, SdkConfig};
use clap::{Args, Parser, Subcommand};
use connect_user_import::limiter::Quota;
use connect_user_import::properties::UsernameAttribute;
use connect_user_import::{ImportOptions, Importer};
use serde_json::{Map, Value, json};

use crate::clients::{Clients, Endpoints};
use crate::stack::{DeployedStack, USER_IMPORT_LOGICAL_ID};
use crate::target::{Target, parse_username_attribute};
use crate::{doctor, plan, preflight, status};

/// Exit status when every check passed / the plan was shown.
pub const EXIT_OK: u8 = 0;
/// Exit status when a doctor check failed.
pub const EXIT_CHECKS_FAILED: u8 = 1;
/// Exit status when the command could not run (bad arguments, no stack, no credentials).
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "connect-sso",
    about = "Amazon Connect sign-in through IAM Identity Center: check the chain, preview the user import",
    long_about = "Amazon Connect sign-in through IAM Identity Center (the connect-sso stack).\n\
                  Uses the AWS credentials and region of the environment (AWS_PROFILE, AWS_REGION, ...);\n\
                  AWS_ENDPOINT_URL_<SERVICE> points a service at an emulator."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every link a sign-in needs; one line per check, ✔ or ✘ with the fix. Exit status
    /// 1 when a check fails, 2 when the checks could not run.
    Doctor(DoctorArgs),
    /// Show what the user import would change in Connect (create, update, delete, skipped with
    /// reasons), computed by the import itself; nothing is written.
    Plan(PlanArgs),
    /// Before the first deployment: check, with your credentials and the stack's parameters,
    /// what would make it fail (Identity Center access and Region, the Connect instance, the
    /// groups and the user quota, names already taken). Writes nothing. Exit status 1 when a
    /// check fails, 2 when the checks could not run.
    Preflight(PreflightArgs),
    /// Show the user import's progress (planned, made, remaining, rate, estimated finish, latest
    /// problems) as the import records it; `--watch` refreshes it until the import ends.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A deployed connect-sso stack (its ImportProgressParameter output names the record).
    #[arg(long, required_unless_present = "parameter")]
    pub stack: Option<String>,
    /// The SSM parameter holding the progress, instead of the stack's.
    #[arg(long)]
    pub parameter: Option<String>,
    /// Region of the stack (default: the environment's).
    #[arg(long)]
    pub region: Option<String>,
    /// Read again every 2 s and redraw, until the import completes, stops or fails.
    #[arg(long)]
    pub watch: bool,
    /// Print the record as JSON (with --watch: one JSON line per change).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PreflightArgs {
    /// The name the stack will be deployed under (the default ApplicationName derives from it).
    #[arg(long)]
    pub stack_name: String,
    /// A JSON file with the template parameters: {"Groups": "Agents", …} or CloudFormation's
    /// [{"ParameterKey": …, "ParameterValue": …}]; the options below override it.
    #[arg(long)]
    pub parameters: Option<PathBuf>,
    /// A template parameter, as `sam deploy --parameter-overrides` takes it; repeat for several.
    #[arg(long = "parameter", value_name = "KEY=VALUE", value_parser = preflight::parameter_assignment)]
    pub parameter: Vec<(String, String)>,
    /// Region the stack (and the Connect instance) will be in (default: the environment's).
    #[arg(long)]
    pub region: Option<String>,
    /// ConnectInstanceId.
    #[arg(long)]
    pub instance_id: Option<String>,
    /// IdentityCenterRegion.
    #[arg(long)]
    pub identity_center_region: Option<String>,
    /// An imported group (display name or id); repeat for several (Groups).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// UsernameAttribute: email or userName.
    #[arg(long, value_parser = username_attribute)]
    pub username_attribute: Option<UsernameAttribute>,
    /// An AWS profile of the account that owns IAM Identity Center, for its checks when
    /// IdentityCenterRoleArn is set (that role admits only the stack's functions).
    #[arg(long)]
    pub identity_center_profile: Option<String>,
    /// The Connect "Users per instance" quota, when raised (default: Amazon Connect's 500).
    #[arg(long)]
    pub user_quota: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// A deployed connect-sso stack: its outputs and parameters give every id below.
    #[arg(long)]
    pub stack: Option<String>,
    /// The Identity Center application (the stack's ApplicationArn output).
    #[arg(long, required_unless_present = "stack")]
    pub application_arn: Option<String>,
    /// The Connect instance id (default: the one the relay state names).
    #[arg(long)]
    pub instance_id: Option<String>,
    /// The federation role ARN (default: the one the Role attribute names).
    #[arg(long)]
    pub role_arn: Option<String>,
    /// The IAM SAML provider ARN (default: the one the Role attribute names).
    #[arg(long)]
    pub provider_arn: Option<String>,
    /// The identity store (default: the one of the application's Identity Center instance).
    #[arg(long)]
    pub identity_store_id: Option<String>,
    /// Region of the stack and the Connect instance (default: the environment's).
    #[arg(long)]
    pub region: Option<String>,
    /// Home region of IAM Identity Center (default: --region).
    #[arg(long)]
    pub identity_center_region: Option<String>,
    /// What the user import makes Connect login names from: email or userName (default email).
    #[arg(long, value_parser = username_attribute)]
    pub username_attribute: Option<UsernameAttribute>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A deployed connect-sso stack: its parameters and outputs give the import's properties.
    #[arg(long)]
    pub stack: Option<String>,
    /// A JSON file with the Custom::ConnectUserImport properties (e.g. with GroupRules); the
    /// options below override it.
    #[arg(long)]
    pub properties: Option<PathBuf>,
    /// Region of the Connect instance (default: the environment's).
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub instance_id: Option<String>,
    #[arg(long)]
    pub identity_store_id: Option<String>,
    #[arg(long)]
    pub identity_center_region: Option<String>,
    /// An imported group (display name or id); repeat for several.
    #[arg(long = "group")]
    pub groups: Vec<String>,
    #[arg(long, value_parser = username_attribute)]
    pub username_attribute: Option<UsernameAttribute>,
    /// A security profile for imported users; repeat for several.
    #[arg(long = "security-profile")]
    pub security_profiles: Vec<String>,
    #[arg(long)]
    pub routing_profile: Option<String>,
    /// Delete or Retain.
    #[arg(long)]
    pub on_user_removed: Option<String>,
    /// Plan to take over same-named Connect users this stack did not create.
    #[arg(long)]
    pub adopt_existing: bool,
    /// The stack whose users count as the import's own (default: --stack's id). Without one, no
    /// existing Connect user is counted as made by the import.
    #[arg(long)]
    pub stack_id: Option<String>,
    /// The import's logical resource id in that stack.
    #[arg(long, default_value = USER_IMPORT_LOGICAL_ID)]
    pub logical_id: String,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

fn username_attribute(text: &str) -> Result<UsernameAttribute, String> {
    parse_username_attribute(text).map_err(|error| error.to_string())
}

/// Runs one command and says how the process should exit.
pub async fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Command::Doctor(args) => run_doctor(args).await,
        Command::Plan(args) => run_plan(args).await,
        Command::Preflight(args) => run_preflight(args).await,
        Command::Status(args) => run_status(args).await,
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("connect-sso: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The environment's SDK configuration, in `region` when given.
async fn sdk_config(region: Option<&str>) -> SdkConfig {
    let mut loader = https_client::sdk::loader();
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    loader.load().await
}

fn region_of(config: &SdkConfig) -> anyhow::Result<String> {
    config
        .region()
        .map(|region| region.to_string())
        .ok_or_else(|| anyhow!("no AWS region: give --region or set AWS_REGION"))
}

async fn deployed_stack(config: &SdkConfig, name: &str) -> anyhow::Result<DeployedStack> {
    let client = aws_sdk_cloudformation::Client::new(config);
    DeployedStack::describe(&client, name).await
}

/// The doctor's target: the stack's ids, overridden by the explicit ones.
async fn doctor_target(args: &DoctorArgs, config: &SdkConfig) -> anyhow::Result<Target> {
    let mut target = match &args.stack {
        Some(name) => {
            let stack = deployed_stack(config, name).await?;
            Target::from_stack(&stack.outputs, &stack.parameters, &stack.region)
                .with_context(|| format!("stack {name}"))?
        }
        None => {
            let region = region_of(config)?;
            Target {
                application_arn: args
                    .application_arn
                    .clone()
                    .context("give --stack or --application-arn")?,
                connect_instance_id: None,
                role_arn: None,
                provider_arn: None,
                identity_store_id: None,
                identity_center_region: region.clone(),
                region,
                username_attribute: UsernameAttribute::default(),
            }
        }
    };
    let set = |slot: &mut Option<String>, value: &Option<String>| {
        if let Some(value) = value {
            *slot = Some(value.clone());
        }
    };
    if let Some(arn) = &args.application_arn {
        target.application_arn = arn.clone();
    }
    set(&mut target.connect_instance_id, &args.instance_id);
    set(&mut target.role_arn, &args.role_arn);
    set(&mut target.provider_arn, &args.provider_arn);
    set(&mut target.identity_store_id, &args.identity_store_id);
    if let Some(region) = &args.identity_center_region {
        target.identity_center_region = region.clone();
    }
    if let Some(attribute) = args.username_attribute {
        target.username_attribute = attribute;
    }
    Ok(target)
}

async fn run_doctor(args: DoctorArgs) -> anyhow::Result<u8> {
    let config = sdk_config(args.region.as_deref()).await;
    let target = doctor_target(&args, &config).await?;
    let clients = Clients::new(
        &config,
        &target.region,
        &target.identity_center_region,
        &Endpoints::default(),
    )?;
    let report = doctor::run(&clients, &target).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        println!(
            "connect-sso doctor: {} (Connect in {}, Identity Center in {})",
            target.application_arn, target.region, target.identity_center_region
        );
        println!("{report}");
    }
    Ok(if report.ok() {
        EXIT_OK
    } else {
        EXIT_CHECKS_FAILED
    })
}

/// The import's properties: the stack's, then the file's, then the options.
fn plan_properties(
    args: &PlanArgs,
    stack: Option<&DeployedStack>,
) -> anyhow::Result<Map<String, Value>> {
    let mut properties = stack.map(plan::properties_of_stack).unwrap_or_default();
    if let Some(path) = &args.properties {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let Value::Object(file) = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?
        else {
            anyhow::bail!(
                "{} must hold a JSON object of Custom::ConnectUserImport properties",
                path.display()
            );
        };
        properties.extend(file);
    }
    let mut set = |key: &str, value: Value| {
        properties.insert(key.to_owned(), value);
    };
    if let Some(id) = &args.instance_id {
        set("InstanceId", json!(id));
    }
    if let Some(id) = &args.identity_store_id {
        set("IdentityStoreId", json!(id));
    }
    if let Some(region) = &args.identity_center_region {
        set("IdentityCenterRegion", json!(region));
    }
    if !args.groups.is_empty() {
        set("Groups", json!(args.groups));
    }
    if let Some(attribute) = args.username_attribute {
        set("UsernameAttribute", serde_json::to_value(attribute)?);
    }
    if !args.security_profiles.is_empty() {
        set("SecurityProfiles", json!(args.security_profiles));
    }
    if let Some(profile) = &args.routing_profile {
        set("RoutingProfile", json!(profile));
    }
    if let Some(removed) = &args.on_user_removed {
        set("OnUserRemoved", json!(removed));
    }
    if args.adopt_existing {
        set("AdoptExisting", json!(true));
    }
    Ok(properties)
}

async fn run_plan(args: PlanArgs) -> anyhow::Result<u8> {
    let config = sdk_config(args.region.as_deref()).await;
    let stack = match &args.stack {
        Some(name) => Some(deployed_stack(&config, name).await?),
        None => None,
    };
    // The import reads Connect in the SDK configuration's region: the stack's.
    let config = match &stack {
        Some(stack) if args.region.is_none() => sdk_config(Some(&stack.region)).await,
        _ => config,
    };
    region_of(&config)?;
    let properties = plan::parse_properties(plan_properties(&args, stack.as_ref())?)?;
    let stack_id = args
        .stack_id
        .clone()
        .or_else(|| stack.as_ref().map(|s| s.stack_id.clone()));
    let owner = match &stack_id {
        Some(stack_id) => connect_user_import::plan::Owner::new(stack_id, &args.logical_id),
        None => {
            eprintln!(
                "connect-sso: no --stack or --stack-id: every existing Connect user is treated as not made by the import"
            );
            connect_user_import::plan::Owner::new("(no stack)", &args.logical_id)
        }
    };
    let importer = Importer::new(
        &config,
        ImportOptions {
            quota: Quota::from_env()?,
            ..ImportOptions::default()
        },
    );
    let prepared = plan::preview(&importer, &owner, &properties).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan::to_json(&prepared))?
        );
    } else {
        println!("{}", plan::render(&prepared));
    }
    Ok(EXIT_OK)
}

async fn run_status(args: StatusArgs) -> anyhow::Result<u8> {
    let config = sdk_config(args.region.as_deref()).await;
    let (config, parameter) = match (&args.parameter, &args.stack) {
        (Some(parameter), _) => (config, parameter.clone()),
        (None, Some(name)) => {
            let stack = deployed_stack(&config, name).await?;
            let parameter = stack
                .outputs
                .get(status::PROGRESS_OUTPUT)
                .cloned()
                .with_context(|| {
                    format!(
                        "stack {name} has no {} output (deployed from an older template?)",
                        status::PROGRESS_OUTPUT
                    )
                })?;
            // The parameter is in the stack's region.
            let config = match &args.region {
                Some(_) => config,
                None => sdk_config(Some(&stack.region)).await,
            };
            (config, parameter)
        }
        (None, None) => anyhow::bail!("give --stack or --parameter"),
    };
    let client = aws_sdk_ssm::Client::new(&config);
    let redraw = args.watch && !args.json && std::io::stdout().is_terminal();
    let mut last = None;
    loop {
        let current = status::read(&client, &parameter).await?;
        if last.as_ref() != Some(&current) {
            let now = connect_user_import::progress::epoch_seconds();
            if args.json {
                let value = status::to_json(&current);
                if args.watch {
                    println!("{}", serde_json::to_string(&value)?);
                } else {
                    println!("{}", serde_json::to_string_pretty(&value)?);
                }
            } else if redraw {
                // Clear the screen and draw from the top left.
                println!("\x1b[2J\x1b[H{}", status::render(&current, now));
            } else {
                if last.is_some() {
                    println!();
                }
                println!("{}", status::render(&current, now));
            }
            std::io::stdout().flush()?;
        }
        if !args.watch || current.is_final() {
            return Ok(EXIT_OK);
        }
        last = Some(current);
        tokio::time::sleep(status::WATCH_EVERY).await;
    }
}

/// The stack's parameters: the file's, then the options.
fn preflight_parameters(args: &PreflightArgs) -> anyhow::Result<BTreeMap<String, String>> {
    let mut parameters = match &args.parameters {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            preflight::parameters_from_json(&text)
                .with_context(|| format!("parameters file {}", path.display()))?
        }
        None => BTreeMap::new(),
    };
    for (key, value) in &args.parameter {
        parameters.insert(key.clone(), value.clone());
    }
    let mut set = |key: &str, value: String| {
        parameters.insert(key.to_owned(), value);
    };
    if let Some(id) = &args.instance_id {
        set("ConnectInstanceId", id.clone());
    }
    if let Some(region) = &args.identity_center_region {
        set("IdentityCenterRegion", region.clone());
    }
    if !args.groups.is_empty() {
        set("Groups", args.groups.join(","));
    }
    if let Some(attribute) = args.username_attribute {
        set(
            "UsernameAttribute",
            match attribute {
                UsernameAttribute::Email => "email",
                UsernameAttribute::UserName => "userName",
            }
            .to_owned(),
        );
    }
    Ok(parameters)
}

async fn run_preflight(args: PreflightArgs) -> anyhow::Result<u8> {
    let config = sdk_config(args.region.as_deref()).await;
    let region = region_of(&config)?;
    let mut deployment =
        preflight::Deployment::new(&args.stack_name, &region, preflight_parameters(&args)?)?;
    deployment.user_quota = args.user_quota;
    let identity_center = match &args.identity_center_profile {
        Some(profile) => Some(
            https_client::sdk::loader()
                .profile_name(profile)
                .region(Region::new(region.clone()))
                .load()
                .await,
        ),
        None => None,
    };
    let operator = preflight::Operator {
        config,
        identity_center,
        endpoints: Endpoints::default(),
    };
    let report = preflight::run(&operator, &deployment).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        println!(
            "connect-sso preflight: stack {} in {} (Identity Center in {})",
            deployment.stack_name,
            deployment.region,
            deployment.identity_center_region()
        );
        println!("{report}");
    }
    Ok(if report.ok() {
        EXIT_OK
    } else {
        EXIT_CHECKS_FAILED
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn doctor_needs_a_stack_or_an_application() {
        assert!(Cli::try_parse_from(["connect-sso", "doctor"]).is_err());
        let cli = Cli::try_parse_from([
            "connect-sso",
            "doctor",
            "--application-arn",
            "arn",
            "--username-attribute",
            "userName",
            "--json",
        ])
        .unwrap();
        let Command::Doctor(args) = cli.command else {
            panic!("not doctor")
        };
        assert_eq!(args.username_attribute, Some(UsernameAttribute::UserName));
        assert!(args.json);
        assert!(
            Cli::try_parse_from([
                "connect-sso",
                "doctor",
                "--stack",
                "s",
                "--username-attribute",
                "mail"
            ])
            .is_err()
        );
    }
}
