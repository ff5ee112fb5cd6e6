//! A stand-in for CloudFormation's response bucket: it hands out pre-signed-looking ResponseURLs,
//! records every request made to them, and can be told to fail or drop the next ones.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// How the bucket answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    /// Close the connection without answering.
    DropConnection,
    /// Answer 200, but only after this long (a slow bucket). Counted as accepted: the whole body
    /// has arrived, and S3 would keep it even if the sender stopped waiting for the answer.
    SlowOk(Duration),
}

/// One request the bucket received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// The key part of the URL (what [`ResponseBucket::url`] was given).
    pub key: String,
    pub query: String,
    pub content_type: Option<String>,
    pub content_length: Option<usize>,
    pub body: Vec<u8>,
    pub at: Instant,
    pub reply: Reply,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn accepted(&self) -> bool {
        match self.reply {
            Reply::Status(status) => (200..300).contains(&status),
            Reply::SlowOk(_) => true,
            Reply::DropConnection => false,
        }
    }
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct ResponseBucket {
    address: SocketAddr,
    signature: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl ResponseBucket {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let state = Arc::new(State::default());
        let serving = Arc::clone(&state);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        record(Arc::clone(&state), request)
                    });
                    // An error from the service makes hyper close the connection unanswered.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            address,
            signature: format!("{:032x}", fastrand::u128(..)),
            state,
            server,
        })
    }

    /// A ResponseURL for `key`. Its query carries a random signature that must never show up in
    /// a function's logs (see [`Self::signature`]).
    pub fn url(&self, key: &str) -> String {
        format!(
            "http://{}/cloudformation-responses/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={}",
            self.address, self.signature
        )
    }

    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// Replies for the next requests, in order; after them every request gets 200.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.state.script).extend(replies);
    }

    /// Drops the replies not yet used: every next request gets 200.
    pub fn clear_script(&self) {
        lock(&self.state.script).clear();
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.state.received).clone()
    }

    /// The requests received for `key`.
    pub fn received_for(&self, key: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|received| received.key == key)
            .collect()
    }

    /// Waits until a response for `key` was accepted, and returns its document.
    pub async fn wait_for_document(
        &self,
        key: &str,
        timeout: Duration,
    ) -> anyhow::Result<serde_json::Value> {
        let give_up = Instant::now() + timeout;
        loop {
            if let Some(accepted) = self.received_for(key).into_iter().find(Received::accepted) {
                return Ok(accepted.json());
            }
            anyhow::ensure!(
                Instant::now() < give_up,
                "no response for {key} within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for ResponseBucket {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

async fn record(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let reply = lock(&state.script)
        .pop_front()
        .unwrap_or(Reply::Status(200));
    let path = parts.uri.path();
    lock(&state.received).push(Received {
        method: parts.method.to_string(),
        key: path
            .strip_prefix("/cloudformation-responses/")
            .unwrap_or(path)
            .to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        content_type: header("content-type"),
        content_length: header("content-length").and_then(|length| length.parse().ok()),
        body,
        at: Instant::now(),
        reply,
    });
    match reply {
        Reply::Status(status) => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok(response)
        }
        Reply::DropConnection => Err(Dropped),
        Reply::SlowOk(delay) => {
            tokio::time::sleep(delay).await;
            Ok(Response::new(Full::new(Bytes::new())))
        }
    }
}
