//! Package size: the zipped arm64 `bootstrap` cargo-lambda makes, and the crates that fill it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

/// The Lambda target the packages are built for.
pub const LAMBDA_TARGET: &str = "aarch64-unknown-linux-gnu";

#[derive(Debug, Clone)]
pub struct Package {
    /// `target/lambda/<binary>/bootstrap.zip`.
    pub zip_bytes: u64,
    /// The stripped arm64 binary inside it.
    pub bootstrap_bytes: u64,
}

/// Sizes of what `cargo lambda build --release --arm64 --output-format zip` made for `binary`.
pub fn package(target_dir: &Path, binary: &str) -> anyhow::Result<Package> {
    let zip = target_dir.join("lambda").join(binary).join("bootstrap.zip");
    let bootstrap = target_dir.join(LAMBDA_TARGET).join("release").join(binary);
    let size = |path: &Path| {
        std::fs::metadata(path).map(|meta| meta.len()).with_context(|| {
            format!(
                "{} is missing: build it with `cargo lambda build --release --arm64 --output-format zip` (scripts/bench does)",
                path.display()
            )
        })
    };
    Ok(Package {
        zip_bytes: size(&zip)?,
        bootstrap_bytes: size(&bootstrap)?,
    })
}

/// The crates (name and version) linked into `package` on the Lambda target: its normal
/// dependencies, transitively, as `cargo tree` resolves them (proc macros left out: they run in
/// the compiler and ship nothing).
pub fn crates_of(package: &str) -> anyhow::Result<BTreeSet<String>> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args([
            "tree",
            "--quiet",
            "--edges",
            "normal,no-proc-macro",
            "--target",
            LAMBDA_TARGET,
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--package",
            package,
        ])
        .output()
        .context("running cargo tree")?;
    if !output.status.success() {
        bail!(
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(parse_tree(&String::from_utf8_lossy(&output.stdout)))
}

/// `name vX.Y.Z` of each line of `cargo tree --prefix none --format {p}` (which appends the path
/// of local crates and `(*)` to repeats).
fn parse_tree(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect()
}

/// What a function links beyond the baseline, grouped for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Added {
    /// AWS SDK service crates (`aws-sdk-*`).
    pub services: Vec<String>,
    /// The SDK's shared runtime (`aws-*`, `aws-smithy-*`) and everything else it or the function
    /// pulls in, counted.
    pub sdk_runtime: usize,
    pub others: Vec<String>,
}

impl Added {
    pub fn total(&self) -> usize {
        self.services.len() + self.sdk_runtime + self.others.len()
    }
}

pub fn added(
    function: &BTreeSet<String>,
    baseline: &BTreeSet<String>,
    function_package: &str,
) -> Added {
    let mut added = Added::default();
    for krate in function.difference(baseline) {
        let name = krate.split(' ').next().unwrap_or(krate);
        if name == function_package {
            continue;
        }
        if name.starts_with("aws-sdk-") {
            added.services.push(name.to_owned());
        } else if name.starts_with("aws-") {
            added.sdk_runtime += 1;
        } else {
            added.others.push(krate.clone());
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::{added, parse_tree};

    #[test]
    fn tree_lines_become_name_and_version() {
        let text = "saml-provider v0.1.0 (/work/main/functions/saml-provider)\nanyhow v1.0.100\naws-sdk-iam v1.133.0\nanyhow v1.0.100 (*)\nserde v1.0.228\n";
        let crates = parse_tree(text);
        assert_eq!(
            crates.into_iter().collect::<Vec<_>>(),
            [
                "anyhow v1.0.100",
                "aws-sdk-iam v1.133.0",
                "saml-provider v0.1.0",
                "serde v1.0.228"
            ]
        );
    }

    #[test]
    fn added_crates_exclude_the_baseline_and_the_function_itself() {
        let baseline = parse_tree("custom-resource v0.1.0\nanyhow v1.0.100\n");
        let function = parse_tree(
            "saml-provider v0.1.0\nanyhow v1.0.100\naws-sdk-iam v1.133.0\naws-smithy-runtime v1.9.0\naws-config v1.13.0\nroxmltree v0.21.0\n",
        );
        let added = added(&function, &baseline, "saml-provider");
        assert_eq!(added.services, ["aws-sdk-iam"]);
        assert_eq!(added.sdk_runtime, 2);
        assert_eq!(added.others, ["roxmltree v0.21.0"]);
        assert_eq!(added.total(), 4);
    }
}
