//! `make bench`: for every function binary, init time over many cold starts, the latency and peak
//! memory of a first cheap request, and the size of the zipped arm64 package. Prints a Markdown
//! report (also written to `--out`). Build first: `scripts/bench` does everything.

mod cold_start;
mod cpu_cap;
mod machine;
mod package;
mod stats;
mod subjects;
mod tls_front;
mod users_pay;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use cold_start::{Harness, Sample};
use stats::Summary;
use subjects::{SUBJECTS, Subject, label};

/// Targets from the issue: init on this machine, peak RSS, zipped package.
const INIT_TARGET_MS: f64 = 15.0;
const PEAK_RSS_TARGET_MIB: f64 = 30.0;
/// 4 MB read strictly, as 4,000,000 bytes.
const ZIP_TARGET_BYTES: u64 = 4_000_000;

#[derive(Parser)]
#[command(about = "Cold start, memory and package size of every function")]
struct Args {
    /// Cold starts per function (at least 20 for the report to count).
    #[arg(long, default_value_t = 30)]
    starts: usize,
    /// The cargo target directory: function binaries in release/, packages in lambda/.
    #[arg(long, default_value = "target")]
    target_dir: PathBuf,
    /// Skip the package sizes (when the arm64 packages are not built).
    #[arg(long)]
    no_package: bool,
    /// Measure only these functions (repeatable; the core-only baseline is always measured).
    #[arg(long = "function", value_name = "NAME")]
    functions: Vec<String>,
    /// An extra environment variable for every function process, KEY=VALUE (repeatable), e.g.
    /// `SSL_CERT_DIR=/nonexistent` to see what loading the system's root certificates costs.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
    env: Vec<(String, String)>,
    /// Cold starts per function with an https ResponseURL on a full core (0 skips them).
    #[arg(long, default_value_t = 20)]
    https_starts: usize,
    /// Cold starts per function with an https ResponseURL under the 128 MB CPU cap (0 skips).
    #[arg(long, default_value_t = 10)]
    capped_starts: usize,
    /// The `bootstrap` of the crhelper + boto3 peer, measured beside the functions over https.
    #[arg(long)]
    peer: Option<PathBuf>,
    /// Output of the 500-user import benchmark, to include in the report.
    #[arg(long)]
    import_log: Option<PathBuf>,
    /// Where to write the report as well as printing it.
    #[arg(long, default_value = "target/bench/results.md")]
    out: PathBuf,
}

struct Measured<'a> {
    subject: &'a Subject,
    samples: Vec<Sample>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.starts >= 1, "--starts must be at least 1");
    let machine = machine::Machine::describe();
    let load_before = machine::load_average();
    let started = time::OffsetDateTime::now_utc();

    if let Some(unknown) = args.functions.iter().find(|name| {
        !SUBJECTS
            .iter()
            .any(|subject| subject.binary == name.as_str())
    }) {
        anyhow::bail!("unknown function {unknown}");
    }
    let subjects: Vec<&Subject> = SUBJECTS
        .iter()
        .filter(|subject| {
            subject.baseline
                || args.functions.is_empty()
                || args.functions.iter().any(|name| name == subject.binary)
        })
        .collect();
    let binaries = subjects
        .iter()
        .map(|subject| {
            let binary = args.target_dir.join("release").join(subject.binary);
            anyhow::ensure!(
                binary.is_file(),
                "{} is missing: run `cargo build --release --bins -p {} ...` first (scripts/bench does)",
                binary.display(),
                if subject.baseline { "local-lambda" } else { subject.binary }
            );
            Ok(binary)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    // Round robin, so that a change in the machine's load touches every function alike.
    let harness = Harness::start(args.env.clone()).await?;
    let mut measured: Vec<Measured> = subjects
        .iter()
        .map(|&subject| Measured {
            subject,
            samples: Vec::with_capacity(args.starts),
        })
        .collect();
    // The tables below: a plain-http ResponseURL on a full core, as before.
    for run in 0..args.starts {
        for (entry, binary) in measured.iter_mut().zip(&binaries) {
            let sample = harness
                .cold_start(entry.subject, binary, run)
                .await
                .with_context(|| format!("cold start {run} of {}", entry.subject.binary))?;
            entry.samples.push(sample);
        }
        eprintln!("cold starts: {}/{}", run + 1, args.starts);
    }
    let mut users_pay_report = String::new();
    if args.https_starts > 0 {
        let programs: Vec<(&Subject, PathBuf)> = subjects
            .iter()
            .copied()
            .zip(binaries.iter().cloned())
            .collect();
        let work_dir = args.out.parent().unwrap_or(Path::new(".")).to_path_buf();
        users_pay::measure(
            &mut users_pay_report,
            &programs,
            &users_pay::Options {
                https_starts: args.https_starts,
                capped_starts: args.capped_starts,
                peer: args.peer.as_deref(),
                extra_env: &args.env,
                work_dir: &work_dir,
            },
        )
        .await?;
    }
    let load_after = machine::load_average();

    let mut report = String::new();
    let date = started
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    writeln!(report, "## Results of `make bench`, {date}\n")?;
    if !args.env.is_empty() {
        let extra: Vec<String> = args.env.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
        writeln!(
            report,
            "Extra environment for every function: {}.\n",
            extra.join(", ")
        )?;
    }
    writeln!(
        report,
        "Machine: {} CPUs ({}), {} memory, Linux {}, {}. Load average (1/5/15 min) {load_before} before, {load_after} after. Source: {}.\n",
        machine.cpus,
        machine.cpu_model,
        machine.memory,
        machine.kernel,
        machine.rustc,
        machine.source
    )?;
    init_table(&mut report, &measured, args.starts)?;
    request_table(&mut report, &measured)?;
    report.push_str(&users_pay_report);
    if !args.no_package {
        package_table(&mut report, &args.target_dir, &subjects)?;
    }
    if let Some(log) = &args.import_log {
        import_section(&mut report, log)?;
    }

    print!("{report}");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &report)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub(crate) fn summary(samples: &[Sample], value: impl Fn(&Sample) -> f64) -> Summary {
    let values: Vec<f64> = samples.iter().map(value).collect();
    // There is always at least one sample (--starts >= 1) and no NaN.
    Summary::of(&values).unwrap_or(Summary {
        count: 0,
        min: f64::NAN,
        median: f64::NAN,
        p90: f64::NAN,
        max: f64::NAN,
    })
}

pub(crate) fn verdict(pass: bool) -> &'static str {
    if pass { "met" } else { "**missed**" }
}

fn init_table(report: &mut String, measured: &[Measured], starts: usize) -> anyhow::Result<()> {
    writeln!(
        report,
        "### Init: process start to the first `GET /runtime/invocation/next` ({starts} cold starts each, release build for this machine)\n"
    )?;
    writeln!(
        report,
        "| Function | median | min | p90 | max | target ≤ {INIT_TARGET_MS} ms (median) |"
    )?;
    writeln!(report, "|---|---:|---:|---:|---:|---|")?;
    for entry in measured {
        let init = summary(&entry.samples, |sample| millis(sample.init));
        writeln!(
            report,
            "| {} | {:.1} ms | {:.1} | {:.1} | {:.1} | {} |",
            label(entry.subject),
            init.median,
            init.min,
            init.p90,
            init.max,
            verdict(init.median <= INIT_TARGET_MS)
        )?;
    }
    writeln!(report)?;
    Ok(())
}

fn request_table(report: &mut String, measured: &[Measured]) -> anyhow::Result<()> {
    writeln!(
        report,
        "### First request: a Delete of a physical id the function did not make (answered SUCCESS, PUT to a local ResponseURL)\n"
    )?;
    writeln!(
        report,
        "Per cold start: time from handing the event over to the response PUT arriving, and to the invocation result; \
         resident memory once initialised, and the peak (VmHWM) after the request. \
         AWS connections: connections opened to the AWS endpoint (`AWS_ENDPOINT_URL`, a listener that only counts) during start-up and request, all cold starts together.\n"
    )?;
    writeln!(
        report,
        "| Function | answered: median (p90, max) | invocation done: median | RSS after init: median | peak RSS: median (max) | target ≤ {PEAK_RSS_TARGET_MIB} MB (max) | AWS connections |"
    )?;
    writeln!(report, "|---|---:|---:|---:|---:|---|---:|")?;
    for entry in measured {
        let samples = &entry.samples;
        let answered = summary(samples, |sample| millis(sample.answered));
        let completed = summary(samples, |sample| millis(sample.completed));
        let rss = summary(samples, |sample| mib(sample.rss_after_init_kib));
        let peak = summary(samples, |sample| mib(sample.peak_rss_kib));
        let connections: u64 = samples.iter().map(|sample| sample.aws_connections).sum();
        writeln!(
            report,
            "| {} | {:.1} ms ({:.1}, {:.1}) | {:.1} ms | {:.1} MiB | {:.1} MiB ({:.1}) | {} | {connections} |",
            label(entry.subject),
            answered.median,
            answered.p90,
            answered.max,
            completed.median,
            rss.median,
            peak.median,
            peak.max,
            verdict(peak.max <= PEAK_RSS_TARGET_MIB),
        )?;
    }
    writeln!(report)?;
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn package_table(
    report: &mut String,
    target_dir: &Path,
    subjects: &[&Subject],
) -> anyhow::Result<()> {
    writeln!(
        report,
        "### Package: `cargo lambda build --release --arm64 --output-format zip`\n"
    )?;
    writeln!(
        report,
        "Crates added: linked on {} beyond the core's own tree (`cargo tree -e normal,no-proc-macro -p <function>` minus `-p custom-resource`).\n",
        package::LAMBDA_TARGET
    )?;
    writeln!(
        report,
        "| Function | bootstrap | zip | target ≤ 4 MB (4,000,000 bytes) | zip beyond the baseline | crates added | AWS SDK services |"
    )?;
    writeln!(report, "|---|---:|---:|---|---:|---:|---|")?;
    let baseline_subject = subjects
        .iter()
        .find(|subject| subject.baseline)
        .context("no baseline subject")?;
    let baseline_package = package::package(target_dir, baseline_subject.binary)?;
    let baseline_crates = package::crates_of(baseline_subject.package)?;
    let mut others = Vec::new();
    for &subject in subjects {
        let built = package::package(target_dir, subject.binary)?;
        let (added, services) = if subject.baseline {
            ("—".to_owned(), "none".to_owned())
        } else {
            let added = package::added(
                &package::crates_of(subject.package)?,
                &baseline_crates,
                subject.package,
            );
            others.push((subject.binary, added.others.clone()));
            (
                format!(
                    "{} ({} SDK runtime `aws-*`)",
                    added.total(),
                    added.sdk_runtime
                ),
                added.services.join(", "),
            )
        };
        let beyond = if subject.baseline {
            "—".to_owned()
        } else {
            format!(
                "{:+.2} MiB",
                mib_of_bytes(built.zip_bytes) - mib_of_bytes(baseline_package.zip_bytes)
            )
        };
        writeln!(
            report,
            "| {} | {:.2} MiB | {:.2} MiB ({} bytes) | {} | {beyond} | {added} | {services} |",
            label(subject),
            mib_of_bytes(built.bootstrap_bytes),
            mib_of_bytes(built.zip_bytes),
            built.zip_bytes,
            verdict(built.zip_bytes <= ZIP_TARGET_BYTES),
        )?;
    }
    writeln!(report)?;
    writeln!(report, "Other crates each function adds:\n")?;
    for (binary, crates) in others {
        writeln!(report, "- {binary}: {}", names_with_versions(&crates))?;
    }
    writeln!(report)?;
    Ok(())
}

/// `a, b (2 versions), c` from `["a v1", "b v1", "b v2", "c v3"]` (sorted).
fn names_with_versions(crates: &[String]) -> String {
    let mut names: Vec<(&str, usize)> = Vec::new();
    for krate in crates {
        let name = krate.split(' ').next().unwrap_or(krate);
        match names.last_mut() {
            Some((last, count)) if *last == name => *count += 1,
            _ => names.push((name, 1)),
        }
    }
    names
        .iter()
        .map(|(name, count)| match count {
            1 => (*name).to_owned(),
            _ => format!("{name} ({count} versions)"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn mib_of_bytes(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

fn import_section(report: &mut String, log: &Path) -> anyhow::Result<()> {
    writeln!(report, "### The 500-user import benchmark\n")?;
    match std::fs::read_to_string(log) {
        Ok(text) => {
            writeln!(
                report,
                "`cargo run --release -p connect-user-import --example import_benchmark`:\n"
            )?;
            writeln!(report, "```\n{}\n```\n", text.trim_end())?;
        }
        Err(_) => writeln!(
            report,
            "Not run: functions/connect-user-import/examples/import_benchmark.rs does not exist.\n"
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn crate_names_count_their_versions() {
        let crates = ["a v1", "b v1.0", "b v2.0", "c v3"].map(str::to_owned);
        assert_eq!(super::names_with_versions(&crates), "a, b (2 versions), c");
        assert_eq!(super::names_with_versions(&[]), "");
    }
}
