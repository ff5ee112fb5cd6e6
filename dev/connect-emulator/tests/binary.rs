//! The `connect-emulator` binary: starts, creates the instances asked for, serves the SDK.

use std::process::Stdio;

use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn the_binary_serves_the_instances_it_was_asked_for() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connect-emulator"))
        .args([
            "--port",
            "0",
            "--throttle",
            "--eventual-consistency-ms",
            "10",
        ])
        .args([
            "--instance",
            "demo",
            "--instance",
            "managed:CONNECT_MANAGED",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let endpoint_line = lines.next_line().await.unwrap().unwrap();
    let endpoint = endpoint_line.strip_prefix("endpoint ").unwrap().to_owned();
    let mut instances = Vec::new();
    for _ in 0..2 {
        let line = lines.next_line().await.unwrap().unwrap();
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[0], "instance", "{line}");
        instances.push((fields[1].to_owned(), fields[2].to_owned()));
    }

    let config = aws_sdk_connect::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client::sdk::http_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(&endpoint)
        .build();
    let client = aws_sdk_connect::Client::from_conf(config);
    for (alias, id) in &instances {
        let described = client
            .describe_instance()
            .instance_id(id)
            .send()
            .await
            .unwrap();
        let instance = described.instance().unwrap();
        assert_eq!(instance.instance_alias(), Some(alias.as_str()));
        let expected = if alias == "demo" {
            "SAML"
        } else {
            "CONNECT_MANAGED"
        };
        assert_eq!(
            instance.identity_management_type().unwrap().as_str(),
            expected
        );
    }
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_binary_refuses_unknown_arguments() {
    let output = Command::new(env!("CARGO_BIN_EXE_connect-emulator"))
        .arg("--bogus")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--bogus"));
}
