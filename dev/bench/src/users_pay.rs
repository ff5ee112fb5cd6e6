//! What a deployment waits for: init and the first answer with an https ResponseURL (a real TLS
//! handshake and certificate verification), on a full core and capped to 128 MB's CPU share,
//! every function beside the crhelper + boto3 peer, round robin in one run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cold_start::{Harness, Sample};
use crate::cpu_cap::CpuCap;
use crate::subjects::{PEER, Subject, label};
use crate::{millis, summary, verdict};

/// Targets from issue 16.
const ANSWER_TARGET_MS: f64 = 15.0;
const CAPPED_ANSWER_TARGET_MS: f64 = 150.0;
const INIT_TARGET_MS: f64 = 5.0;

pub struct Options<'a> {
    pub https_starts: usize,
    pub capped_starts: usize,
    /// The peer's `bootstrap`, when installed.
    pub peer: Option<&'a Path>,
    pub extra_env: &'a [(String, String)],
    /// Scratch directory (the CA file, the capped wrappers).
    pub work_dir: &'a Path,
}

/// Measures both conditions and writes their section of the report.
pub async fn measure(
    report: &mut String,
    subjects: &[(&Subject, PathBuf)],
    options: &Options<'_>,
) -> anyhow::Result<()> {
    writeln!(
        report,
        "### What users pay: init and the first answer with an https ResponseURL\n"
    )?;
    writeln!(
        report,
        "The Delete of the tables above, answered to an https ResponseURL: TLS fronts on loopback \
         (throw-away CA, given to every process in `SSL_CERT_FILE`) before the response bucket and \
         before CloudFormation (the stack check's DescribeStacks), so each cold start of a function \
         pays two TLS handshakes and certificate verifications. The Python peer (crhelper + boto3 \
         under awslambdaric, no stack check) answers the same event the same way, in the same run, \
         round robin with the functions.\n"
    )?;
    let mut all: Vec<(&Subject, PathBuf)> = subjects.to_vec();
    match options.peer {
        Some(peer) => all.push((&PEER, peer.to_path_buf())),
        None => writeln!(
            report,
            "The peer was not measured (no `--peer`: scripts/bench installs it).\n"
        )?,
    }

    let harness =
        Harness::start_https(options.extra_env.to_vec(), &options.work_dir.join("tls")).await?;
    // Both conditions share the harness's response bucket: distinct run numbers keep their
    // response keys apart.
    let full_core = run(&harness, &all, options.https_starts, 0, "https, full core").await?;
    table(
        report,
        &format!(
            "#### Full core ({} cold starts each)\n",
            options.https_starts
        ),
        &full_core,
        ANSWER_TARGET_MS,
        Some(INIT_TARGET_MS),
    )?;

    match CpuCap::set_up() {
        Ok(cap) => {
            let wrappers_dir = options.work_dir.join("capped");
            let capped: Vec<(&Subject, PathBuf)> = all
                .iter()
                .map(|(subject, program)| Ok((*subject, cap.wrap(program, &wrappers_dir)?)))
                .collect::<anyhow::Result<_>>()?;
            let measured = run(
                &harness,
                &capped,
                options.capped_starts,
                options.https_starts,
                "https, capped",
            )
            .await?;
            table(
                report,
                &format!(
                    "#### Capped to 128 MB's CPU share ({} cold starts each; {}; the wrapper's `sh` starts uncapped, then `exec`s the function in the group)\n",
                    options.capped_starts, cap.description
                ),
                &measured,
                CAPPED_ANSWER_TARGET_MS,
                None,
            )?;
        }
        Err(reason) => {
            eprintln!("CPU cap not measured: {reason}");
            writeln!(
                report,
                "#### Capped to 128 MB's CPU share\n\nNot measured on this machine: {reason}.\n"
            )?;
        }
    }
    Ok(())
}

async fn run<'a>(
    harness: &Harness,
    subjects: &[(&'a Subject, PathBuf)],
    starts: usize,
    first_run: usize,
    condition: &str,
) -> anyhow::Result<Vec<(&'a Subject, Vec<Sample>)>> {
    let mut measured: Vec<(&Subject, Vec<Sample>)> = subjects
        .iter()
        .map(|(subject, _)| (*subject, Vec::with_capacity(starts)))
        .collect();
    for run in 0..starts {
        for ((subject, samples), (_, program)) in measured.iter_mut().zip(subjects) {
            let sample = harness
                .cold_start(subject, program, first_run + run)
                .await
                .with_context(|| format!("{condition}: cold start {run} of {}", subject.binary))?;
            samples.push(sample);
        }
        eprintln!("{condition}: cold starts {}/{starts}", run + 1);
    }
    Ok(measured)
}

fn table(
    report: &mut String,
    heading: &str,
    measured: &[(&Subject, Vec<Sample>)],
    answer_target_ms: f64,
    init_target_ms: Option<f64>,
) -> anyhow::Result<()> {
    writeln!(report, "{heading}")?;
    let init_target = init_target_ms
        .map(|ms| format!(" (target ≤ {ms} ms)"))
        .unwrap_or_default();
    writeln!(
        report,
        "| Function | init: median (p90, max){init_target} | first answer over https: median (p90, max) | target ≤ {answer_target_ms} ms (median) | init + answer: median |"
    )?;
    writeln!(report, "|---|---:|---:|---|---:|")?;
    for (subject, samples) in measured {
        let init = summary(samples, |sample| millis(sample.init));
        let answered = summary(samples, |sample| millis(sample.answered));
        let total = summary(samples, |sample| millis(sample.init + sample.answered));
        let is_peer = subject.binary == PEER.binary;
        let init_verdict = match init_target_ms {
            Some(target) if !is_peer => format!(" {}", verdict(init.median <= target)),
            _ => String::new(),
        };
        let answer_verdict = if is_peer {
            "(peer)"
        } else {
            verdict(answered.median <= answer_target_ms)
        };
        writeln!(
            report,
            "| {} | {:.1} ms ({:.1}, {:.1}){init_verdict} | {:.1} ms ({:.1}, {:.1}) | {answer_verdict} | {:.1} ms |",
            label(subject),
            init.median,
            init.p90,
            init.max,
            answered.median,
            answered.p90,
            answered.max,
            total.median,
        )?;
    }
    writeln!(report)?;
    Ok(())
}
