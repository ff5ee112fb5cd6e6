//! `identity-center-emulator [--port N]`: serves the emulated IAM Identity Center on
//! 127.0.0.1:N (a free port without `--port`), prints the endpoint on the first line of stdout,
//! then the seeded instance, and runs until Ctrl-C.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use identity_center_emulator::Emulator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port: u16 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().context("--port needs a value")?;
                port = value
                    .parse()
                    .with_context(|| format!("--port {value}: not a port number"))?;
            }
            "-h" | "--help" => {
                println!("usage: identity-center-emulator [--port N]");
                return Ok(());
            }
            other => bail!("unknown argument {other}; usage: identity-center-emulator [--port N]"),
        }
    }
    let emulator = Emulator::start_on(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("{}", emulator.endpoint());
    println!("console API: {}/control/", emulator.endpoint());
    println!("instance ARN: {}", emulator.instance_arn());
    println!("identity store id: {}", emulator.identity_store_id());
    println!("home region: {}", emulator.home_region());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
