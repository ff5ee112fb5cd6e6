//! `local-stack`: run template.yaml's lifecycle locally (`make local`), or one event through one
//! function (`make invoke`). Needs MOTO_ENDPOINT (see scripts/with-moto) and built binaries.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use local_lambda::{FunctionProcess, ResponseBucket, workspace_binary};
use local_stack::{cloud::Cloud, demo, template::Template};

#[derive(Parser)]
#[command(about = "Deploys template.yaml locally against the emulators")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, update and delete the stack of TEMPLATE, checking the emulated services after each step.
    Lifecycle {
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
    },
    /// Send one event file to one function binary (its ResponseURL is replaced by a local one) and
    /// print the response document CloudFormation would receive.
    Invoke {
        /// The function: identity-center-app, attribute-mapping, saml-provider or connect-user-import.
        function: String,
        event: PathBuf,
        #[arg(long, default_value_t = 120)]
        timeout_seconds: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nFAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let moto = std::env::var("MOTO_ENDPOINT").map_err(|_| {
        anyhow::anyhow!("MOTO_ENDPOINT is not set: run through scripts/with-moto (make local does)")
    })?;
    let cloud = Cloud::start(&moto).await?;
    match cli.command {
        Command::Lifecycle { template } => {
            let text = std::fs::read_to_string(&template)
                .map_err(|error| anyhow::anyhow!("reading {}: {error}", template.display()))?;
            demo::run(&cloud, Template::parse(&text)?).await?;
            println!("\nlocal lifecycle complete: create, update and delete all succeeded");
            Ok(())
        }
        Command::Invoke {
            function,
            event,
            timeout_seconds,
        } => {
            let mut event: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&event)?)?;
            let bucket = ResponseBucket::start().await?;
            event["ResponseURL"] = bucket.url("invoke").into();
            let process = FunctionProcess::spawn(
                &workspace_binary(&function)?,
                &cloud.function_environment(),
            )
            .await?;
            process.initialised(Duration::from_secs(30)).await?;
            let outcome = process
                .invoke(event.to_string(), Duration::from_secs(timeout_seconds))
                .await?;
            for line in process.logs() {
                eprintln!("{line}");
            }
            match bucket
                .wait_for_document("invoke", Duration::from_secs(5))
                .await
            {
                Ok(document) => println!("{}", serde_json::to_string_pretty(&document)?),
                Err(_) => {
                    anyhow::bail!("no response document; the invocation ended as {outcome:?}")
                }
            }
            Ok(())
        }
    }
}
