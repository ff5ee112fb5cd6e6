//! `identity-center-emulator [--port N] [--local-portal]`: serves the emulated IAM Identity
//! Center on 127.0.0.1:N (a free port without `--port`), prints the endpoint on the first line of
//! stdout, then the seeded instance, and runs until Ctrl-C. `--local-portal` makes metadata URLs
//! point at the emulator (which serves the SAML metadata) instead of the AWS portal.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use identity_center_emulator::Emulator;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("identity-center-emulator: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run() -> anyhow::Result<()> {
    const USAGE: &str = "usage: identity-center-emulator [--port N] [--local-portal]";
    let mut port: u16 = 0;
    let mut local_portal = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().context("--port needs a value")?;
                port = value
                    .parse()
                    .with_context(|| format!("--port {value}: not a port number"))?;
            }
            "--local-portal" => local_portal = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other}; {USAGE}"),
        }
    }
    let emulator = Emulator::start_on(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    if local_portal {
        emulator.use_local_portal();
    }
    println!("{}", emulator.endpoint());
    println!("console API: {}/control/", emulator.endpoint());
    println!("instance ARN: {}", emulator.instance_arn());
    println!("identity store id: {}", emulator.identity_store_id());
    println!("home region: {}", emulator.home_region());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
