//! One cold start of a function binary, measured from outside as Lambda would: init time to the
//! first poll for an event, then one cheap request, with the process's memory read from /proc.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use local_lambda::{
    FunctionProcess, LOCAL_STACK_ID, Outcome, ResponseBucket, StackStatus, cloudformation_event,
};

use crate::subjects::{Subject, UNKNOWN_PHYSICAL_ID};
use crate::tls_front::TlsFront;

/// Generous: the Python peer takes seconds to start under the 128 MB CPU cap.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// The Lambda timeout given to the request (the production functions have 120 s or more).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What one cold start measured.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Process start to its first `GET /runtime/invocation/next`.
    pub init: Duration,
    /// Event handed over to the response PUT arriving at the ResponseURL.
    pub answered: Duration,
    /// Event handed over to the invocation result (Lambda's "Duration").
    pub completed: Duration,
    /// VmRSS once initialised, in KiB.
    pub rss_after_init_kib: u64,
    /// VmHWM (peak resident set) after the request, in KiB.
    pub peak_rss_kib: u64,
    /// Connections the process opened to the AWS endpoints during start and request.
    pub aws_connections: u64,
}

/// The surroundings of every cold start: the response bucket, CloudFormation (every function
/// checks that its stack is in an operation before it obeys an event: one DescribeStacks), and a
/// stand-in for every other AWS endpoint that only counts connections (init and this request must
/// make none).
pub struct Harness {
    bucket: ResponseBucket,
    cloudformation: StackStatus,
    tripwire: Tripwire,
    extra_env: Vec<(String, String)>,
    /// The https fronts of the ResponseURL and of CloudFormation, when measuring with TLS (their
    /// CA goes into `SSL_CERT_FILE`).
    tls: Option<[TlsFront; 2]>,
}

/// The stack of every benchmark event, in the state of a stack whose update deletes a resource.
async fn cloudformation_stand_in() -> anyhow::Result<StackStatus> {
    let stand_in = StackStatus::start().await?;
    stand_in.set_stack(LOCAL_STACK_ID, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS");
    Ok(stand_in)
}

impl Harness {
    /// `extra_env` is added to (or overrides) the production environment.
    pub async fn start(extra_env: Vec<(String, String)>) -> anyhow::Result<Self> {
        Ok(Self {
            bucket: ResponseBucket::start().await?,
            cloudformation: cloudformation_stand_in().await?,
            tripwire: Tripwire::start().await?,
            extra_env,
            tls: None,
        })
    }

    /// The same, with an https ResponseURL: a TLS front whose throw-away CA (written to
    /// `tls_dir/ca.pem`) each function trusts through `SSL_CERT_FILE`.
    pub async fn start_https(
        extra_env: Vec<(String, String)>,
        tls_dir: &Path,
    ) -> anyhow::Result<Self> {
        let bucket = ResponseBucket::start().await?;
        let cloudformation = cloudformation_stand_in().await?;
        let backends = [
            bucket_address(&bucket.url("probe"))?,
            bucket_address(&cloudformation.endpoint())?,
        ];
        let [response_front, cloudformation_front]: [TlsFront; 2] =
            TlsFront::start(&backends, tls_dir)
                .await?
                .try_into()
                .map_err(|_| anyhow::anyhow!("expected two TLS fronts"))?;
        Ok(Self {
            bucket,
            cloudformation,
            tripwire: Tripwire::start().await?,
            extra_env,
            tls: Some([response_front, cloudformation_front]),
        })
    }

    fn response_url(&self, key: &str) -> String {
        let url = self.bucket.url(key);
        match &self.tls {
            Some([response_front, _]) => response_front.https_url(&url),
            None => url,
        }
    }

    /// The environment Lambda gives a function, beyond what [`FunctionProcess`] already sets
    /// (region, static credentials, the Runtime API): every AWS endpoint points at the tripwire.
    fn environment(&self) -> Vec<(String, String)> {
        let endpoint = format!("http://{}", self.tripwire.address);
        let cloudformation = match &self.tls {
            Some([_, cloudformation_front]) => {
                format!("https://localhost:{}", cloudformation_front.port)
            }
            None => self.cloudformation.endpoint(),
        };
        // Not LAMBDA_TASK_ROOT: outside Lambda the functions accept a ResponseURL that is not
        // CloudFormation's S3 bucket (`CONNECT_SSO_TEST_ANY_RESPONSE_URL`, which FunctionProcess
        // sets), and this bucket is on loopback. Nothing else in them reads it.
        [
            ("AWS_SESSION_TOKEN", "bench-session-token"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("_HANDLER", "bootstrap"),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
            ("TZ", ":UTC"),
            ("LANG", "en_US.UTF-8"),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", cloudformation.as_str()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .chain(self.tls.iter().map(|[response_front, _]| {
            (
                "SSL_CERT_FILE".to_owned(),
                response_front.ca_pem_file.display().to_string(),
            )
        }))
        .chain(self.extra_env.iter().cloned())
        .collect()
    }

    pub async fn cold_start(
        &self,
        subject: &Subject,
        binary: &Path,
        run: usize,
    ) -> anyhow::Result<Sample> {
        let connections_before = self.tripwire.count();
        let function = FunctionProcess::spawn(binary, &self.environment()).await?;
        let init = function.initialised(INIT_TIMEOUT).await?;
        let pid = function
            .pid()
            .await
            .context("the function exited after its first poll")?;
        let rss_after_init_kib = memory(pid)?.rss_kib;

        let key = format!("{}-{run}", subject.binary);
        let event = cloudformation_event(
            "Delete",
            &self.response_url(&key),
            subject.logical_resource_id,
            subject.resource_type,
            Some(UNKNOWN_PHYSICAL_ID),
            (subject.properties)(),
            None,
        );
        let handed_over = Instant::now();
        let outcome = function.invoke(event.to_string(), INVOKE_TIMEOUT).await?;
        let completed = handed_over.elapsed();
        let failure = match outcome {
            Outcome::Response(_) => None,
            Outcome::Error(body) => Some(format!(
                "with an invocation error: {}",
                String::from_utf8_lossy(&body)
            )),
            other => Some(format!("{other:?}")),
        };
        if let Some(failure) = failure {
            bail!(
                "{}: the Delete invocation ended {failure}; logs:\n{}",
                subject.binary,
                function.logs().join("\n")
            );
        }
        let peak_rss_kib = memory(pid)?.peak_kib;
        function.stop().await;

        let accepted: Vec<_> = self
            .bucket
            .received_for(&key)
            .into_iter()
            .filter(|received| received.accepted())
            .collect();
        let [response] = accepted.as_slice() else {
            bail!(
                "{}: expected exactly one response PUT for the Delete, got {}",
                subject.binary,
                accepted.len()
            );
        };
        let document = response.json();
        if document["Status"] != "SUCCESS" {
            bail!(
                "{}: a Delete of an id it did not make must succeed, got {} ({})",
                subject.binary,
                document["Status"],
                document["Reason"]
            );
        }
        Ok(Sample {
            init,
            answered: response.at.saturating_duration_since(handed_over),
            completed,
            rss_after_init_kib,
            peak_rss_kib,
            aws_connections: self.tripwire.count() - connections_before,
        })
    }
}

/// `127.0.0.1:<port>` of a bucket URL `http://127.0.0.1:<port>/...`.
fn bucket_address(url: &str) -> anyhow::Result<std::net::SocketAddr> {
    let authority = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .with_context(|| format!("unexpected response bucket URL {url}"))?;
    Ok(authority.parse()?)
}

/// A listener standing in for every AWS endpoint: it counts connections and closes them.
struct Tripwire {
    address: std::net::SocketAddr,
    connections: Arc<AtomicU64>,
    server: tokio::task::JoinHandle<()>,
}

impl Tripwire {
    async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let connections = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&connections);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Ok(Self {
            address,
            connections,
            server,
        })
    }

    fn count(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Tripwire {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

/// VmRSS and VmHWM of a running process.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_status(&status).with_context(|| format!("no VmRSS/VmHWM in {path}"))
}

fn parse_status(status: &str) -> Option<Memory> {
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|number| number.trim().parse().ok())
    };
    Some(Memory {
        rss_kib: kib("VmRSS:")?,
        peak_kib: kib("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::{Memory, parse_status};

    #[test]
    fn reads_rss_and_peak_from_proc_status() {
        let status = "Name:\tbootstrap\nVmPeak:\t  123456 kB\nVmHWM:\t    9876 kB\nVmRSS:\t    8765 kB\nThreads:\t3\n";
        assert_eq!(
            parse_status(status),
            Some(Memory {
                rss_kib: 8765,
                peak_kib: 9876
            })
        );
        assert_eq!(parse_status("Name:\tzombie\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let memory = super::memory(std::process::id()).unwrap();
        assert!(memory.rss_kib > 0 && memory.peak_kib >= memory.rss_kib);
    }
}
