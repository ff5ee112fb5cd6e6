//! Benchmark (not a test): import 500 users through the Connect emulator at Connect's default
//! quota (2 requests/s, burst 5, per API, enforced by the emulator too), then reconcile the same
//! 500 again (nothing to do). Reports wall time against the quota's floor, calls per API and
//! peak memory. Needs moto for the identity store:
//!
//! `scripts/with-moto cargo run --release -p connect-user-import --example import_benchmark`
//!
//! Optional: `BENCH_USERS` (default 500).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_identitystore::types::{Email, MemberId, Name};
use connect_emulator::{Emulator, Options, Quota as EmulatorQuota};
use connect_user_import::plan::Owner;
use connect_user_import::properties::Properties;
use connect_user_import::{ImportOptions, Importer, Report};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let moto = std::env::var("MOTO_ENDPOINT")
        .map_err(|_| anyhow::anyhow!("MOTO_ENDPOINT is not set: run through scripts/with-moto"))?;
    let sdk = https_client::sdk::loader()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .endpoint_url(moto)
        .load()
        .await;

    let emulator = Emulator::start(Options {
        throttle: Some(EmulatorQuota::connect_default()),
        ..Options::default()
    })
    .await?;
    let instance = emulator.create_instance("benchmark", "SAML");

    // The directory: one group of `users` members.
    let store = format!("d-{:010x}", std::process::id());
    let identity = aws_sdk_identitystore::Client::new(&sdk);
    let group = identity
        .create_group()
        .identity_store_id(&store)
        .display_name("Agents")
        .send()
        .await?;
    let setup = Instant::now();
    for i in 0..users {
        let name = format!("agent{i:04}");
        let user = identity
            .create_user()
            .identity_store_id(&store)
            .user_name(&name)
            .display_name(format!("Agent {i}"))
            .name(
                Name::builder()
                    .given_name("Agent")
                    .family_name(format!("No{i:04}"))
                    .build(),
            )
            .emails(
                Email::builder()
                    .value(format!("{name}@example.com"))
                    .primary(true)
                    .build(),
            )
            .send()
            .await?;
        identity
            .create_group_membership()
            .identity_store_id(&store)
            .group_id(group.group_id())
            .member_id(MemberId::UserId(user.user_id().to_owned()))
            .send()
            .await?;
    }
    eprintln!("directory of {users} users made in {:.1?}", setup.elapsed());

    let importer = Importer::new(
        &sdk,
        ImportOptions {
            connect_endpoint: Some(emulator.endpoint()),
            ..ImportOptions::default()
        },
    );
    let owner = Owner::new(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/benchmark/bench-guid",
        "Users",
    );
    let properties: Properties = serde_json::from_value(json!({
        "InstanceId": instance.id, "IdentityStoreId": store, "Groups": ["Agents"],
    }))?;
    let quota = importer.quota();
    let floor = quota.floor(users).as_secs_f64();
    let rss_before = peak_rss_kib();

    emulator.reset_call_counts();
    let started = Instant::now();
    let report = importer
        .reconcile(&owner, &properties, started + Duration::from_secs(15 * 60))
        .await?;
    let import_time = started.elapsed();
    let import_calls = emulator.call_counts();
    let throttled = emulator.answers("CreateUser", 429);
    check(&report, users, 0, "import")?;
    let made = emulator.users(&instance.id);
    anyhow::ensure!(
        made.len() == users,
        "{} users in Connect, expected {users}",
        made.len()
    );

    emulator.reset_call_counts();
    let started = Instant::now();
    let noop = importer
        .reconcile(&owner, &properties, started + Duration::from_secs(15 * 60))
        .await?;
    let noop_time = started.elapsed();
    let noop_calls = emulator.call_counts();
    check(&noop, 0, users, "no-op reconcile")?;

    println!(
        "users: {users}; quota: {} requests/s, burst {} per API (client limiter and emulator)",
        quota.requests_per_second, quota.burst
    );
    println!(
        "import: {:.1} s wall; floor for {users} CreateUser at the quota: {floor:.1} s ({:.2}% of the quota; {:.2}% above the floor)",
        import_time.as_secs_f64(),
        floor / import_time.as_secs_f64() * 100.0,
        (import_time.as_secs_f64() / floor - 1.0) * 100.0
    );
    println!(
        "CreateUser answered 429 (throttled, then retried): {throttled}; writes that failed: {}",
        report.problems.len()
    );
    println!("import calls: {}", calls(&import_calls));
    println!("import report: {}", report.summary());
    println!(
        "no-op reconcile: {:.2} s wall; calls: {}",
        noop_time.as_secs_f64(),
        calls(&noop_calls)
    );
    println!(
        "peak RSS (VmHWM, whole process incl. the in-process emulator): {} KiB before the import, {} KiB after both runs",
        rss_before.unwrap_or(0),
        peak_rss_kib().unwrap_or(0)
    );
    Ok(())
}

fn check(report: &Report, created: usize, unchanged: usize, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        report.is_complete()
            && report.created == created
            && report.unchanged == unchanged
            && report.problems.is_empty(),
        "{what}: unexpected report {report:?}"
    );
    Ok(())
}

fn calls(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
