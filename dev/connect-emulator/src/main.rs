//! `connect-emulator --port N [--throttle] [--eventual-consistency-ms N] [--server-error-rate F]
//! [--seed N] [--user-limit N] [--instance ALIAS[:TYPE]]...`
//!
//! Runs the Connect emulator until Ctrl-C. Each `--instance` is created at start (TYPE defaults
//! to SAML) and printed as `instance <alias> <id> <arn>`, so a local run can use its id.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use connect_emulator::{Emulator, Options, Quota};

const USAGE: &str = "usage: connect-emulator [--port N] [--throttle] [--eventual-consistency-ms N] \
[--server-error-rate F] [--seed N] [--user-limit N] [--instance ALIAS[:TYPE]]...";

struct Args {
    port: u16,
    options: Options,
    instances: Vec<(String, String)>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut parsed = Args {
        port: 0,
        options: Options::default(),
        instances: Vec::new(),
    };
    while let Some(flag) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--port" => parsed.port = value("--port")?.parse().context("--port")?,
            "--throttle" => parsed.options.throttle = Some(Quota::connect_default()),
            "--eventual-consistency-ms" => {
                let ms: u64 = value(&flag)?.parse().context("--eventual-consistency-ms")?;
                parsed.options.eventual_consistency = Some(Duration::from_millis(ms));
            }
            "--server-error-rate" => {
                let rate: f64 = value(&flag)?.parse().context("--server-error-rate")?;
                if !(0.0..=1.0).contains(&rate) {
                    bail!("--server-error-rate must be between 0 and 1");
                }
                parsed.options.server_error_rate = rate;
            }
            "--seed" => parsed.options.seed = value(&flag)?.parse().context("--seed")?,
            "--user-limit" => {
                parsed.options.user_limit = value(&flag)?.parse().context("--user-limit")?
            }
            "--instance" => {
                let spec = value(&flag)?;
                let (alias, kind) = spec.split_once(':').unwrap_or((spec.as_str(), "SAML"));
                parsed.instances.push((alias.to_owned(), kind.to_owned()));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args(std::env::args().skip(1))?;
    for (_, kind) in &args.instances {
        if !["SAML", "CONNECT_MANAGED", "EXISTING_DIRECTORY"].contains(&kind.as_str()) {
            bail!(
                "instance type must be SAML, CONNECT_MANAGED or EXISTING_DIRECTORY, not {kind:?}"
            );
        }
    }
    let emulator =
        Emulator::start_on(SocketAddr::from(([127, 0, 0, 1], args.port)), args.options).await?;
    println!("endpoint {}", emulator.endpoint());
    for (alias, kind) in &args.instances {
        let instance = emulator.create_instance(alias, kind);
        println!("instance {alias} {} {}", instance.id, instance.arn);
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
