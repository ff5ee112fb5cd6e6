//! The Lambda Runtime API, served locally to one function process: the same mechanism Lambda
//! uses to hand a `bootstrap` its events, so the compiled binaries run unmodified.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, oneshot};

/// Extra time, past the function's deadline, before the process is treated as timed out (Lambda
/// itself would kill it at the deadline; the grace keeps slow CI machines from flaking).
const DEADLINE_GRACE: Duration = Duration::from_secs(2);

/// What became of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function posted a result.
    Response(Vec<u8>),
    /// The function reported an invocation error.
    Error(Vec<u8>),
    /// No result by the deadline: like Lambda, the process was stopped.
    TimedOut,
    /// The process exited during the invocation.
    Crashed(String),
}

impl Outcome {
    pub fn response_json(&self) -> anyhow::Result<serde_json::Value> {
        match self {
            Self::Response(body) => Ok(serde_json::from_slice(body)?),
            other => anyhow::bail!("the invocation did not succeed: {other:?}"),
        }
    }
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Pending>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<Vec<u8>>>,
}

struct Pending {
    request_id: String,
    deadline_epoch_ms: u64,
    payload: Vec<u8>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One running function binary and the Runtime API it polls.
pub struct FunctionProcess {
    name: String,
    shared: Arc<Shared>,
    child: tokio::sync::Mutex<Child>,
    logs: Arc<Mutex<Vec<String>>>,
    spawned_at: Instant,
    server: tokio::task::JoinHandle<()>,
    /// The CloudFormation stand-in started for a caller that named none.
    _cloudformation: Option<crate::StackStatus>,
}

impl FunctionProcess {
    /// Starts `binary` as Lambda would: an empty environment except the Lambda variables, the
    /// region, and `env`. Its stdout and stderr are kept as log lines.
    ///
    /// As the template does, the function is told its stack: [`crate::LOCAL_STACK_ID`] (the stack
    /// of [`crate::cloudformation_event`]) unless `env` names another in `CONNECT_SSO_STACK_ID`.
    /// Unless `env` names a CloudFormation endpoint, a stand-in reports that stack as
    /// `UPDATE_IN_PROGRESS`, so events from it are obeyed. Local ResponseURLs are answered
    /// (`CONNECT_SSO_TEST_ANY_RESPONSE_URL`, ignored inside Lambda).
    pub async fn spawn(binary: &Path, env: &[(String, String)]) -> anyhow::Result<Self> {
        let given = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let stack_id =
            given("CONNECT_SSO_STACK_ID").unwrap_or_else(|| crate::LOCAL_STACK_ID.to_owned());
        let mut defaults = vec![
            ("CONNECT_SSO_STACK_ID".to_owned(), stack_id.clone()),
            (
                "CONNECT_SSO_TEST_ANY_RESPONSE_URL".to_owned(),
                "true".to_owned(),
            ),
        ];
        let cloudformation = if given("AWS_ENDPOINT_URL_CLOUDFORMATION").is_none() {
            let stand_in = crate::StackStatus::start().await?;
            stand_in.set_stack(&stack_id, "UPDATE_IN_PROGRESS");
            defaults.push((
                "AWS_ENDPOINT_URL_CLOUDFORMATION".to_owned(),
                stand_in.endpoint(),
            ));
            Some(stand_in)
        } else {
            None
        };
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let name = binary
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "function".to_owned());
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(
                defaults
                    .iter()
                    .map(|(key, value)| (key.as_str(), value.as_str())),
            )
            .envs(
                env.iter()
                    .map(|(key, value)| (key.as_str(), value.as_str())),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        let spawned_at = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            collect_lines(stdout, Arc::clone(&logs));
        }
        if let Some(stderr) = child.stderr.take() {
            collect_lines(stderr, Arc::clone(&logs));
        }
        Ok(Self {
            name,
            shared,
            child: tokio::sync::Mutex::new(child),
            logs,
            spawned_at,
            server,
            _cloudformation: cloudformation,
        })
    }

    /// Waits for the function's first poll for an event: the end of its initialisation. Returns
    /// the time from process start to that poll (Lambda's "Init Duration", measured from outside).
    pub async fn initialised(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let give_up = Instant::now() + timeout;
        loop {
            if let Some(at) = *lock(&self.shared.first_poll) {
                return Ok(at.duration_since(self.spawned_at));
            }
            if let Some(status) = self.exit_status().await {
                anyhow::bail!(
                    "{} exited during start-up ({status}): {}",
                    self.name,
                    self.logs().join("\n")
                );
            }
            anyhow::ensure!(
                Instant::now() < give_up,
                "{} did not poll for an event within {timeout:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Invokes the function with `payload` and a deadline `timeout` from now, and waits for the
    /// outcome. Like Lambda, a function still busy after its deadline is stopped.
    pub async fn invoke(
        &self,
        payload: impl Into<Vec<u8>>,
        timeout: Duration,
    ) -> anyhow::Result<Outcome> {
        let request_id = format!("{:032x}", fastrand::u128(..));
        let deadline_epoch_ms = epoch_millis() + timeout.as_millis() as u64;
        let (sender, receiver) = oneshot::channel();
        lock(&self.shared.waiting).insert(request_id.clone(), sender);
        lock(&self.shared.queue).push_back(Pending {
            request_id,
            deadline_epoch_ms,
            payload: payload.into(),
        });
        self.shared.queued.notify_one();

        let mut receiver = std::pin::pin!(receiver);
        let give_up = tokio::time::Instant::now() + timeout + DEADLINE_GRACE;
        loop {
            tokio::select! {
                outcome = &mut receiver => return outcome.context("the runtime API stopped"),
                () = tokio::time::sleep(Duration::from_millis(20)) => {
                    if let Some(status) = self.exit_status().await {
                        return Ok(Outcome::Crashed(status.to_string()));
                    }
                    if tokio::time::Instant::now() >= give_up {
                        self.stop().await;
                        return Ok(Outcome::TimedOut);
                    }
                }
            }
        }
    }

    /// Everything the function printed so far, one entry per line.
    pub fn logs(&self) -> Vec<String> {
        lock(&self.logs).clone()
    }

    /// The body the function sent to the init-error endpoint, if it did.
    pub fn init_error(&self) -> Option<Vec<u8>> {
        lock(&self.shared.init_error).clone()
    }

    /// The process id, to read its resource use from /proc.
    pub async fn pid(&self) -> Option<u32> {
        self.child.lock().await.id()
    }

    pub async fn stop(&self) {
        let _ = self.child.lock().await.kill().await;
    }

    async fn exit_status(&self) -> Option<ExitStatus> {
        self.child.lock().await.try_wait().ok().flatten()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn collect_lines(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    logs: Arc<Mutex<Vec<String>>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            lock(&logs).push(line);
        }
    });
}

fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or_default()
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.first_poll).get_or_insert_with(Instant::now);
    let pending = loop {
        let notified = shared.queued.notified();
        if let Some(pending) = lock(&shared.queue).pop_front() {
            break pending;
        }
        notified.await;
    };
    let mut headers = HeaderMap::new();
    let header =
        |value: &str| HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("invalid"));
    headers.insert("lambda-runtime-aws-request-id", header(&pending.request_id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        header(&pending.deadline_epoch_ms.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:local"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
    );
    (StatusCode::OK, headers, pending.payload).into_response()
}

fn finish(shared: &Shared, request_id: &str, outcome: Outcome) -> StatusCode {
    match lock(&shared.waiting).remove(request_id) {
        Some(sender) => {
            let _ = sender.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, Outcome::Response(body.to_vec()))
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, Outcome::Error(body.to_vec()))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *lock(&shared.init_error) = Some(body.to_vec());
    StatusCode::ACCEPTED
}
