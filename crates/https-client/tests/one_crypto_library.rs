//! What ships links one crypto library, ring (docs/tls.md). The SDK's `default-https-client`
//! feature or `reqwest`'s `rustls` feature, turned on by a shipped package or anything it uses,
//! would bring AWS-LC back into every package (larger zips, a longer cold build): this fails when
//! that happens. (The Identity Center emulator, which never ships, uses AWS-LC for RSA keys.)

use std::process::{Command, Output};

/// The four Lambda functions and the CLI users install.
const SHIPPED: [&str; 5] = [
    "identity-center-app",
    "saml-provider",
    "attribute-mapping",
    "connect-user-import",
    "connect-sso-cli",
];

/// `cargo tree --invert <package>` over the shipped packages' normal and build dependencies,
/// features resolved as building those packages resolves them: who brings `package`.
fn dependents_of(package: &str) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(["tree", "--offline", "--edges", "normal,build"]);
    for shipped in SHIPPED {
        command.args(["--package", shipped]);
    }
    command
        .args(["--invert", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs")
}

#[test]
fn no_shipped_package_links_aws_lc() {
    let aws_lc = dependents_of("aws-lc-sys");
    let stdout = String::from_utf8_lossy(&aws_lc.stdout);
    let stderr = String::from_utf8_lossy(&aws_lc.stderr);
    // Absent: not in the lock file at all, or in it for other packages only.
    let absent =
        stderr.contains("did not match any packages") || stderr.contains("nothing to print");
    assert!(
        stdout.trim().is_empty() && absent,
        "aws-lc-sys is in a shipped package's dependency graph; whoever brings it:\n{stdout}{stderr}"
    );
    // The same query finds the provider that is meant to be there.
    let ring = dependents_of("ring");
    assert!(
        ring.status.success() && String::from_utf8_lossy(&ring.stdout).contains("rustls"),
        "ring is not under rustls: {}",
        String::from_utf8_lossy(&ring.stderr)
    );
}
