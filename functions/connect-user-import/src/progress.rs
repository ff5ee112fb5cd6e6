//! The import's progress where a person can watch it: one JSON document ([`ImportProgress`]) in
//! an SSM parameter the stack creates (`ImportProgressParameter` in template.yaml, named to the
//! function by [`PROGRESS_PARAMETER_ENV`]), rewritten after planning, every few seconds while
//! writing, and at the end of each run. `connect-sso status --stack <name>` reads it.
//!
//! Recording never holds the import up: a write runs beside the import (one at a time), and a
//! failed write is logged and forgotten (the next one carries the whole state again).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use https_client::signed::{SSM, SignedClient};
use serde::{Deserialize, Serialize};

use crate::limiter::Quota;
use crate::plan::{Action, Change, Plan};

/// The SSM parameter the progress goes to (the function's environment, set by the template).
pub const PROGRESS_PARAMETER_ENV: &str = "CONNECT_SSO_PROGRESS_PARAMETER";
/// Time between two writes of the progress while the import writes users.
const RECORD_EVERY: Duration = Duration::from_secs(5);
/// The longest the last write of a run may take.
const LAST_WRITE_TIME: Duration = Duration::from_secs(2);
/// Problems the record keeps (the latest), each cut to this many bytes: an SSM standard
/// parameter holds 4 KB.
const PROBLEMS_KEPT: usize = 5;
const PROBLEM_BYTES: usize = 300;

/// Where the import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportState {
    /// Reading and planning.
    Planning,
    /// Writing users.
    Importing,
    /// This run ended and a new one goes on (a continuation).
    Continuing,
    /// Every planned write was made.
    Complete,
    /// Stopped before the end (the stack changed, or a deadline); a later deployment or sync
    /// picks up.
    Stopped,
    /// The import failed; `problems` says why.
    Failed,
}

impl ImportState {
    /// Whether the import has ended (nothing more will be recorded until the next one).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Complete | Self::Stopped | Self::Failed)
    }
}

/// Writes by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Writes {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Writes {
    pub fn total(&self) -> usize {
        self.create + self.update + self.delete
    }

    fn of(plan_actions: &[Action]) -> Self {
        let mut writes = Self::default();
        for action in plan_actions {
            match action {
                Action::Create { .. } => writes.create += 1,
                Action::Update { .. } => writes.update += 1,
                Action::Delete { .. } => writes.delete += 1,
            }
        }
        writes
    }

    fn add(&self, other: &Self) -> Self {
        Self {
            create: self.create + other.create,
            update: self.update + other.update,
            delete: self.delete + other.delete,
        }
    }
}

/// The document in the parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportProgress {
    pub state: ImportState,
    /// What started the import: `Create`, `Update`, `Delete` or `Sync`.
    pub trigger: String,
    pub instance_id: String,
    /// Writes the import has planned, in all its runs.
    pub planned: Writes,
    /// Writes made so far, in all its runs.
    pub done: Writes,
    /// Planned writes not made yet.
    pub remaining: usize,
    /// Members skipped (with a reason in `problems`).
    pub skipped: usize,
    /// Runs so far (a continuation adds one per run).
    pub run: u32,
    /// Seconds since the epoch.
    pub started_at: u64,
    pub updated_at: u64,
    /// Writes per minute since the start (or, before the first write, what the quota allows).
    pub writes_per_minute: f64,
    /// When the remaining writes should be done, at that rate (seconds since the epoch).
    pub estimated_finish: Option<u64>,
    /// The latest problems (skipped members, failed writes), newest last.
    pub problems: Vec<String>,
    /// Why the import stopped or continues elsewhere, when it did.
    pub note: Option<String>,
}

impl ImportProgress {
    /// Share of the planned writes behind (made, found unneeded, or failed), 0–100.
    pub fn percent(&self) -> f64 {
        match self.planned.total() {
            0 => 100.0,
            planned => {
                let behind = planned.saturating_sub(self.remaining);
                behind as f64 * 100.0 / planned as f64
            }
        }
    }
}

/// What earlier runs of the same import did (a continuation), so that the record covers the
/// whole import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Earlier {
    pub runs: u32,
    /// Seconds since the epoch when the first run started.
    pub started_at: Option<u64>,
    pub done: Writes,
}

/// How long writes take at the quota: each operation's calls less its burst, at its rate, one
/// operation after the other (the import deletes, then updates, then creates).
pub fn estimate(actions: &[Action], quota: Quota) -> Duration {
    let mut calls: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for action in actions {
        match action {
            Action::Create { .. } => *calls.entry("CreateUser").or_default() += 1,
            Action::Delete { .. } => *calls.entry("DeleteUser").or_default() += 1,
            Action::Update { changes, .. } => {
                for change in changes {
                    let operation = match change {
                        Change::Claim => "TagResource",
                        Change::Names | Change::SecondaryEmail => "UpdateUserIdentityInfo",
                        Change::SecurityProfiles => "UpdateUserSecurityProfiles",
                        Change::RoutingProfile => "UpdateUserRoutingProfile",
                        Change::Phone => "UpdateUserPhoneConfig",
                    };
                    *calls.entry(operation).or_default() += 1;
                }
            }
        }
    }
    calls.values().map(|count| quota.floor(*count)).sum()
}

/// "4 min 8 s", "2 h 5 min", "12 s".
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

/// Records one run's progress (and the earlier runs'), to the parameter when one is set.
pub struct ProgressRecorder {
    target: Option<Target>,
    state: Mutex<Recording>,
    /// Held while a write is in flight: writes go one at a time, so the last one made is the
    /// last one stored (two overlapping PutParameter calls may land in either order).
    writing: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Clone)]
struct Target {
    client: SignedClient,
    parameter: String,
}

struct Recording {
    trigger: String,
    progress: Option<ImportProgress>,
    earlier: Earlier,
    quota: Quota,
    last_write: Option<Instant>,
}

impl ProgressRecorder {
    /// Records nowhere (the CLI's preview, tests without a parameter).
    pub fn off() -> Self {
        Self {
            target: None,
            state: Mutex::new(Recording {
                trigger: String::new(),
                progress: None,
                earlier: Earlier::default(),
                quota: Quota::CONNECT_DEFAULT,
                last_write: None,
            }),
            writing: Arc::default(),
        }
    }

    /// To the parameter [`PROGRESS_PARAMETER_ENV`] names, if it is set.
    pub fn from_env(sdk_config: &aws_config::SdkConfig) -> Self {
        match std::env::var(PROGRESS_PARAMETER_ENV) {
            Ok(parameter) if !parameter.trim().is_empty() => {
                match SignedClient::new(sdk_config, SSM) {
                    Ok(client) => Self::to_parameter(client, parameter),
                    Err(error) => {
                        tracing::warn!(%parameter, %error, "the import's progress cannot be recorded");
                        Self::off()
                    }
                }
            }
            _ => Self::off(),
        }
    }

    /// To `parameter`, through an SSM client.
    pub fn to_parameter(client: SignedClient, parameter: String) -> Self {
        Self {
            target: Some(Target { client, parameter }),
            ..Self::off()
        }
    }

    fn recording(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new run of an import `trigger` (`Create`, `Update`, `Delete`, `Sync`) started begins:
    /// what earlier runs of the same import did.
    pub fn begin(&self, trigger: &str, earlier: Earlier) {
        let mut recording = self.recording();
        recording.trigger = trigger.to_owned();
        recording.progress = None;
        recording.earlier = earlier;
        recording.last_write = None;
    }

    /// The run has planned: records the plan and its estimate, and says it in the log.
    pub async fn planned(&self, instance_id: &str, plan: &Plan, quota: Quota, deadline: Instant) {
        let estimate = estimate(&plan.actions, quota);
        let now = epoch_seconds();
        let progress = {
            let mut recording = self.recording();
            recording.quota = quota;
            let earlier = recording.earlier.clone();
            let this_run = Writes::of(&plan.actions);
            let remaining = this_run.total();
            let progress = ImportProgress {
                state: ImportState::Importing,
                trigger: recording.trigger.clone(),
                instance_id: instance_id.to_owned(),
                planned: earlier.done.add(&this_run),
                done: earlier.done,
                remaining,
                skipped: plan.skipped.len(),
                run: earlier.runs + 1,
                started_at: earlier.started_at.unwrap_or(now),
                updated_at: now,
                writes_per_minute: quota_rate(quota),
                estimated_finish: Some(now + estimate.as_secs()),
                problems: last_problems(
                    plan.skipped
                        .iter()
                        .map(|skipped| format!("{}: {}", skipped.name, skipped.reason)),
                ),
                note: None,
            };
            recording.progress = Some(progress.clone());
            progress
        };
        let run_left = deadline.saturating_duration_since(Instant::now());
        if progress.remaining > 0 {
            tracing::info!(
                writes = progress.remaining,
                estimated_seconds = estimate.as_secs(),
                estimate = %human_duration(estimate),
                this_run_seconds = run_left.as_secs(),
                requests_per_second = quota.requests_per_second,
                "import estimate: {} writes take about {} at Connect's quota of {} requests/s{}",
                progress.remaining,
                human_duration(estimate),
                quota.requests_per_second,
                if estimate > run_left {
                    "; more than this run has: the import continues in further runs"
                } else {
                    ""
                }
            );
        }
        self.write_now(progress, deadline).await;
    }

    /// One write made (or failed, with the problem): counted, and recorded when the last
    /// record is old enough.
    pub fn wrote(&self, write: Option<WriteKind>, problem: Option<String>) {
        let progress = {
            let mut recording = self.recording();
            let quota = recording.quota;
            let Some(progress) = recording.progress.as_mut() else {
                return;
            };
            match write {
                Some(WriteKind::Create) => progress.done.create += 1,
                Some(WriteKind::Update) => progress.done.update += 1,
                Some(WriteKind::Delete) => progress.done.delete += 1,
                None => {}
            }
            progress.remaining = progress.remaining.saturating_sub(1);
            if let Some(problem) = problem {
                push_problem(&mut progress.problems, problem);
            }
            refresh_rate(progress, quota);
            let progress = progress.clone();
            let due = recording
                .last_write
                .is_none_or(|last| last.elapsed() >= RECORD_EVERY);
            if !due {
                return;
            }
            recording.last_write = Some(Instant::now());
            progress
        };
        self.write_beside(progress);
    }

    /// The run ended in `state`; `note` says why when it did not complete.
    pub async fn finish(
        &self,
        state: ImportState,
        remaining: usize,
        note: Option<String>,
        deadline: Instant,
    ) {
        let progress = {
            let mut recording = self.recording();
            let quota = recording.quota;
            let Some(progress) = recording.progress.as_mut() else {
                return;
            };
            progress.state = state;
            progress.remaining = remaining;
            progress.note = note;
            refresh_rate(progress, quota);
            if state.is_final() {
                progress.estimated_finish =
                    (state == ImportState::Complete).then_some(progress.updated_at);
            }
            progress.clone()
        };
        self.write_now(progress, deadline).await;
    }

    /// The run failed before or while planning.
    pub async fn failed(&self, instance_id: &str, problem: String, deadline: Instant) {
        let now = epoch_seconds();
        let progress = {
            let mut recording = self.recording();
            let earlier = recording.earlier.clone();
            let trigger = recording.trigger.clone();
            let progress = recording.progress.get_or_insert_with(|| ImportProgress {
                state: ImportState::Failed,
                trigger,
                instance_id: instance_id.to_owned(),
                planned: earlier.done,
                done: earlier.done,
                remaining: 0,
                skipped: 0,
                run: earlier.runs + 1,
                started_at: earlier.started_at.unwrap_or(now),
                updated_at: now,
                writes_per_minute: 0.0,
                estimated_finish: None,
                problems: Vec::new(),
                note: None,
            });
            progress.state = ImportState::Failed;
            progress.updated_at = now;
            progress.estimated_finish = None;
            push_problem(&mut progress.problems, problem);
            progress.clone()
        };
        self.write_now(progress, deadline).await;
    }

    /// The record as it stands (tests, the run's own report).
    pub fn current(&self) -> Option<ImportProgress> {
        self.recording().progress.clone()
    }

    /// Writes in the background unless a write is still in flight (the next one carries this
    /// state too).
    fn write_beside(&self, progress: ImportProgress) {
        let Some(target) = self.target.clone() else {
            return;
        };
        let Ok(writing) = Arc::clone(&self.writing).try_lock_owned() else {
            return;
        };
        tokio::spawn(async move {
            target
                .put(&progress, Instant::now() + LAST_WRITE_TIME)
                .await;
            drop(writing);
        });
    }

    /// Writes and waits (bounded): the last record of a run must not be lost with the process,
    /// nor overwritten by an earlier write still in flight (it waits for that one first).
    async fn write_now(&self, progress: ImportProgress, deadline: Instant) {
        let Some(target) = &self.target else {
            return;
        };
        let by = deadline.min(Instant::now() + LAST_WRITE_TIME);
        let in_turn = async {
            let _writing = self.writing.lock().await;
            target.put(&progress, by).await;
        };
        if tokio::time::timeout_at(by.into(), in_turn).await.is_err() {
            tracing::warn!(parameter = %target.parameter, "the import's progress was not recorded in time");
        }
        self.recording().last_write = Some(Instant::now());
    }
}

impl Target {
    /// SSM `PutParameter` (a `String`, overwritten), written by hand as the SDK writes it
    /// (`https_client::signed`): one call did not justify aws-sdk-ssm's build time.
    async fn put(&self, progress: &ImportProgress, by: Instant) {
        let value = match serde_json::to_string(progress) {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(%error, "the import's progress does not serialize");
                return;
            }
        };
        let request = serde_json::json!({
            "Name": self.parameter,
            "Value": value,
            "Type": "String",
            "Overwrite": true,
        });
        let result = self
            .client
            .json_1_1("AmazonSSM.PutParameter", &request, by)
            .await;
        if let Err(error) = result {
            tracing::warn!(
                parameter = %self.parameter,
                %error,
                "the import's progress could not be recorded"
            );
        }
    }
}

/// A write that was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
    Delete,
}

fn quota_rate(quota: Quota) -> f64 {
    quota.requests_per_second * 60.0
}

/// The rate since the start and the finish it points to; the quota's rate until writes are
/// seen.
fn refresh_rate(progress: &mut ImportProgress, quota: Quota) {
    let now = epoch_seconds();
    progress.updated_at = now;
    let elapsed = now.saturating_sub(progress.started_at);
    let done = progress.done.total();
    progress.writes_per_minute = if done > 0 && elapsed > 0 {
        done as f64 * 60.0 / elapsed as f64
    } else {
        quota_rate(quota)
    };
    progress.estimated_finish = (progress.writes_per_minute > 0.0).then(|| {
        now + (progress.remaining as f64 * 60.0 / progress.writes_per_minute).ceil() as u64
    });
}

fn push_problem(problems: &mut Vec<String>, problem: String) {
    problems.push(cut(problem));
    if problems.len() > PROBLEMS_KEPT {
        problems.drain(..problems.len() - PROBLEMS_KEPT);
    }
}

fn last_problems(problems: impl Iterator<Item = String>) -> Vec<String> {
    let mut kept = Vec::new();
    for problem in problems {
        push_problem(&mut kept, problem);
    }
    kept
}

fn cut(mut text: String) -> String {
    if text.len() > PROBLEM_BYTES {
        let mut end = PROBLEM_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

pub fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A planned write (a delete: the simplest action to build).
    fn write(name: &str) -> Action {
        Action::Delete {
            user_id: format!("id-{name}"),
            username: name.to_owned(),
        }
    }

    #[test]
    fn the_estimate_is_the_quota_floor_of_each_operation() {
        let plan = Plan {
            actions: (0..500).map(|i| write(&format!("u{i}"))).collect(),
            ..Plan::default()
        };
        // (500 − 5 burst) / 2 per second.
        assert_eq!(
            estimate(&plan.actions, Quota::CONNECT_DEFAULT),
            Duration::from_secs_f64(247.5)
        );
        assert_eq!(human_duration(Duration::from_secs_f64(247.5)), "4 min 7 s");
        assert_eq!(
            human_duration(Duration::from_secs(3 * 3600 + 120)),
            "3 h 2 min"
        );
    }

    /// An SSM stand-in that stores each PutParameter's state when the call "lands": a record
    /// still `Importing` lands `slow_importing` late, as a slow request may.
    async fn ssm_stand_in(slow_importing: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
        let landed: Arc<Mutex<Vec<String>>> = Arc::default();
        let stored = Arc::clone(&landed);
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |body: String| {
                let stored = Arc::clone(&stored);
                async move {
                    let request: serde_json::Value = serde_json::from_str(&body).unwrap();
                    let record: ImportProgress =
                        serde_json::from_str(request["Value"].as_str().unwrap()).unwrap();
                    if record.state == ImportState::Importing {
                        tokio::time::sleep(slow_importing).await;
                    }
                    stored.lock().unwrap().push(format!("{:?}", record.state));
                    r#"{"Version":1,"Tier":"Standard"}"#
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (endpoint, landed)
    }

    /// A `Create` run that has planned one write.
    async fn plan_one_write(recorder: &ProgressRecorder, deadline: Instant) {
        recorder.begin("Create", Earlier::default());
        let plan = Plan {
            actions: vec![write("a")],
            ..Plan::default()
        };
        recorder
            .planned("inst", &plan, Quota::CONNECT_DEFAULT, deadline)
            .await;
    }

    /// The hand-built PutParameter is the SDK's on the wire.
    #[tokio::test]
    async fn a_progress_record_is_the_sdks_put_parameter() {
        let ssm = test_support::recording_endpoint(
            200,
            "application/x-amz-json-1.1",
            r#"{"Version":3,"Tier":"Standard"}"#,
        )
        .await;
        let config = test_support::sdk_config(Some(&ssm.endpoint)).await;
        let parameter = "/connect-sso/stack-1/UserImport/progress";
        let recorder = ProgressRecorder::off();
        let far = Instant::now() + Duration::from_secs(30);
        plan_one_write(&recorder, far).await;
        let Some(progress) = recorder.current() else {
            panic!("no progress after planning");
        };
        aws_sdk_ssm::Client::new(&config)
            .put_parameter()
            .name(parameter)
            .value(serde_json::to_string(&progress).unwrap())
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .unwrap();
        let target = Target {
            client: SignedClient::new(&config, SSM).unwrap(),
            parameter: parameter.to_owned(),
        };
        target.put(&progress, far).await;
        let [sdk, ours] = <[_; 2]>::try_from(ssm.take()).unwrap();
        assert_eq!(ours.operation(), sdk.operation());
    }

    #[tokio::test]
    async fn the_last_record_of_a_run_is_the_one_stored_even_behind_a_slow_write() {
        let (endpoint, landed) = ssm_stand_in(Duration::from_millis(400)).await;
        let config = test_support::sdk_config(Some(&endpoint)).await;
        let recorder = ProgressRecorder::to_parameter(
            SignedClient::new(&config, SSM).unwrap(),
            "/connect-sso/test/progress".to_owned(),
        );
        let far = Instant::now() + Duration::from_secs(30);
        plan_one_write(&recorder, far).await;
        recorder.wrote(Some(WriteKind::Delete), None);
        // A progress write in the background, still in flight when the run ends.
        let Some(importing) = recorder.current() else {
            panic!("no progress after planning");
        };
        recorder.write_beside(importing);
        recorder.finish(ImportState::Complete, 0, None, far).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            *landed.lock().unwrap(),
            ["Importing", "Importing", "Complete"],
            "the record a watcher reads last must be the run's last"
        );
    }

    #[tokio::test]
    async fn progress_counts_every_run_and_keeps_the_latest_problems() {
        let recorder = ProgressRecorder::off();
        recorder.begin(
            "Update",
            Earlier {
                runs: 2,
                started_at: Some(epoch_seconds() - 120),
                done: Writes {
                    delete: 200,
                    ..Writes::default()
                },
            },
        );
        let plan = Plan {
            actions: (0..100).map(|i| write(&format!("u{i}"))).collect(),
            ..Plan::default()
        };
        let far = Instant::now() + Duration::from_secs(60);
        recorder
            .planned("inst", &plan, Quota::CONNECT_DEFAULT, far)
            .await;
        for i in 0..10 {
            recorder.wrote(Some(WriteKind::Delete), None);
            recorder.wrote(None, Some(format!("problem {i}")));
        }
        let progress = recorder.current().unwrap();
        assert_eq!(progress.run, 3);
        assert_eq!(progress.planned.delete, 300);
        assert_eq!(progress.done.delete, 210);
        assert_eq!(progress.remaining, 80);
        // 200 writes of the earlier runs and 20 of this one are behind (10 failed): 220 of 300.
        assert!(
            (progress.percent() - 220.0 / 3.0).abs() < 1e-9,
            "{progress:?}"
        );
        assert_eq!(
            progress.problems,
            [
                "problem 5",
                "problem 6",
                "problem 7",
                "problem 8",
                "problem 9"
            ]
        );
        // 210 writes in about two minutes.
        assert!(
            (95.0..110.0).contains(&progress.writes_per_minute),
            "{progress:?}"
        );
        assert!(progress.estimated_finish.unwrap() > progress.updated_at + 40);
        recorder.finish(ImportState::Complete, 0, None, far).await;
        let done = recorder.current().unwrap();
        assert_eq!(done.state, ImportState::Complete);
        assert_eq!(done.estimated_finish, Some(done.updated_at));
    }
}
