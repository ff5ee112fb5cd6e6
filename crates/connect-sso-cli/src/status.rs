//! `connect-sso status`: the user import's progress as the import itself records it, in the SSM
//! parameter its stack creates (the stack's `ImportProgressParameter` output): planned, made so
//! far, remaining, rate, estimated finish and the latest problems, with a progress bar.

use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_ssm::error::DisplayErrorContext;
use connect_user_import::progress::{ImportProgress, ImportState, human_duration};
use serde_json::{Value, json};

/// The stack output that names the parameter.
pub const PROGRESS_OUTPUT: &str = "ImportProgressParameter";
/// Characters of the progress bar.
const BAR_WIDTH: usize = 30;
/// Time between two reads with `--watch`.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// What the parameter says.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// The stack made the parameter; no import has written to it yet.
    NotStarted,
    Recorded(Box<ImportProgress>),
}

impl Status {
    /// Whether nothing more will change until the next import.
    pub fn is_final(&self) -> bool {
        match self {
            Self::NotStarted => false,
            Self::Recorded(progress) => progress.state.is_final(),
        }
    }
}

/// Reads the parameter.
pub async fn read(client: &aws_sdk_ssm::Client, parameter: &str) -> anyhow::Result<Status> {
    let answer = client.get_parameter().name(parameter).send().await;
    let output = match answer {
        Ok(output) => output,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_parameter_not_found()) =>
        {
            return Ok(Status::NotStarted);
        }
        Err(error) => {
            anyhow::bail!(
                "ssm GetParameter {parameter}: {}",
                DisplayErrorContext(&error)
            )
        }
    };
    let value = output
        .parameter()
        .and_then(|parameter| parameter.value())
        .unwrap_or_default();
    parse(value).with_context(|| format!("the parameter {parameter}"))
}

/// The parameter's value: the import's record, or the template's initial one.
pub fn parse(value: &str) -> anyhow::Result<Status> {
    let json: Value = serde_json::from_str(value).context("does not hold JSON")?;
    if json["state"] == "NotStarted" {
        return Ok(Status::NotStarted);
    }
    let progress = serde_json::from_value(json)
        .context("does not hold an import's progress (a newer or older connect-sso?)")?;
    Ok(Status::Recorded(Box::new(progress)))
}

/// The status for a person, as of `now` (seconds since the epoch).
pub fn render(status: &Status, now: u64) -> String {
    let progress = match status {
        Status::NotStarted => {
            return "The user import has not recorded any progress yet (no import since the stack was created).".to_owned();
        }
        Status::Recorded(progress) => progress,
    };
    let state = match progress.state {
        ImportState::Planning => "planning",
        ImportState::Importing => "importing",
        ImportState::Continuing => "importing (continuing in a new run)",
        ImportState::Complete => "complete",
        ImportState::Stopped => "stopped",
        ImportState::Failed => "failed",
    };
    let planned = progress.planned.total();
    let behind = planned.saturating_sub(progress.remaining);
    let mut lines = vec![
        format!(
            "User import ({}, run {}) into Connect instance {}: {state}",
            progress.trigger, progress.run, progress.instance_id
        ),
        format!(
            "{} {:5.1}%  {behind} of {planned} writes",
            bar(progress.percent()),
            progress.percent()
        ),
        format!(
            "created {}, updated {}, deleted {}; {} remaining; {} skipped",
            progress.done.create,
            progress.done.update,
            progress.done.delete,
            progress.remaining,
            progress.skipped
        ),
    ];
    let mut timing = format!("rate {:.0} writes/min", progress.writes_per_minute);
    match progress.estimated_finish {
        Some(finish) if progress.state == ImportState::Complete => {
            timing.push_str(&format!("; finished {}", clock(finish)));
        }
        Some(finish) if !progress.state.is_final() => {
            timing.push_str(&format!(
                "; estimated finish {} (in {})",
                clock(finish),
                human_duration(Duration::from_secs(finish.saturating_sub(now)))
            ));
        }
        _ => {}
    }
    timing.push_str(&format!(
        "; started {} ({} ago)",
        clock(progress.started_at),
        human_duration(Duration::from_secs(now.saturating_sub(progress.started_at)))
    ));
    lines.push(timing);
    if let Some(note) = &progress.note {
        lines.push(format!("note: {note}"));
    }
    if !progress.problems.is_empty() {
        lines.push("latest problems:".to_owned());
        lines.extend(
            progress
                .problems
                .iter()
                .map(|problem| format!("  - {problem}")),
        );
    }
    lines.push(format!(
        "recorded {} ago",
        human_duration(Duration::from_secs(now.saturating_sub(progress.updated_at)))
    ));
    lines.join("\n")
}

/// The record for scripts, with the share done.
pub fn to_json(status: &Status) -> Value {
    match status {
        Status::NotStarted => json!({"state": "NotStarted"}),
        Status::Recorded(progress) => {
            let mut value = serde_json::to_value(progress).unwrap_or_default();
            value["percent"] = json!((progress.percent() * 10.0).round() / 10.0);
            value
        }
    }
}

fn bar(percent: f64) -> String {
    let filled = ((percent / 100.0) * BAR_WIDTH as f64).round() as usize;
    let filled = filled.min(BAR_WIDTH);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled))
}

/// `HH:MM:SS UTC` of a time in seconds since the epoch.
fn clock(epoch_seconds: u64) -> String {
    let seconds = epoch_seconds % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_user_import::progress::Writes;

    fn importing() -> ImportProgress {
        ImportProgress {
            state: ImportState::Continuing,
            trigger: "Update".into(),
            instance_id: "inst-1".into(),
            planned: Writes {
                create: 2000,
                update: 0,
                delete: 0,
            },
            done: Writes {
                create: 800,
                update: 0,
                delete: 0,
            },
            remaining: 1200,
            skipped: 1,
            run: 3,
            started_at: 36_000,
            updated_at: 36_400,
            writes_per_minute: 120.0,
            estimated_finish: Some(37_000),
            problems: vec!["carol: no primary email".into()],
            note: Some("continues in run 4".into()),
        }
    }

    #[test]
    fn a_person_sees_the_bar_counts_rate_and_finish() {
        let text = render(&Status::Recorded(Box::new(importing())), 36_403);
        assert!(text.contains("run 3"), "{text}");
        assert!(
            text.contains(&format!("[{}{}]", "#".repeat(12), "-".repeat(18))),
            "{text}"
        );
        assert!(text.contains(" 40.0%  800 of 2000 writes"), "{text}");
        assert!(text.contains("1200 remaining"), "{text}");
        assert!(text.contains("rate 120 writes/min"), "{text}");
        assert!(
            text.contains("estimated finish 10:16:40 UTC (in 9 min 57 s)"),
            "{text}"
        );
        assert!(text.contains("  - carol: no primary email"), "{text}");
        assert!(text.contains("recorded 3 s ago"), "{text}");
    }

    #[test]
    fn scripts_get_the_record_and_the_share() {
        let status = parse(&serde_json::to_string(&importing()).unwrap()).unwrap();
        let value = to_json(&status);
        assert_eq!(value["state"], "Continuing");
        assert_eq!(value["remaining"], 1200);
        assert_eq!(value["percent"], 40.0);
        assert_eq!(
            parse(r#"{"state":"NotStarted"}"#).unwrap(),
            Status::NotStarted
        );
        assert!(parse("not json").is_err());
    }
}
