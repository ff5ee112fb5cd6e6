use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    connect_sso_cli::cli::run(connect_sso_cli::cli::Cli::parse()).await
}
