//! The AWS SDK's HTTP client over the shared TLS configuration.
//!
//! `aws-smithy-http-client` builds a rustls configuration of its own, and builds it again for
//! every SDK client constructed (to load native roots "at client initialization time"), with no
//! way to hand it a `rustls::ClientConfig`. The SDK's documented extension point is its
//! [`HttpClient`] trait, so this is a small one: hyper's pooled client with `hyper-rustls` over
//! [`crate::client_config`], the SDK's connect and read timeouts, and its error classes (so the
//! SDK's retries behave as with its own client), and connection poisoning on retried failures.

use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::connect::capture_connection;
use hyper_util::rt::{TokioExecutor, TokioTimer};

type BoxError = Box<dyn Error + Send + Sync>;

/// `aws_config`'s loader with the latest behaviour version and the shared HTTP client: region,
/// credentials and `AWS_ENDPOINT_URL*` come from the environment as with `aws_config::defaults`.
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client())
}

/// What the functions' `main` uses instead of `aws_config::load_defaults`.
pub async fn load_config() -> SdkConfig {
    loader().load().await
}

/// The process's one SDK HTTP client (connection pools are per connect/read timeout pair).
pub fn http_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| SharedHttpClient::new(RustlsHttpClient::new(crate::client_config())))
        .clone()
}

/// Connect and read timeouts: one connection pool per pair.
type Timeouts = (Option<Duration>, Option<Duration>);

/// An SDK [`HttpClient`] using the given TLS configuration.
#[derive(Debug)]
pub struct RustlsHttpClient {
    tls: Arc<rustls::ClientConfig>,
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl RustlsHttpClient {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        Self {
            tls,
            connectors: Mutex::new(HashMap::new()),
        }
    }
}

impl HttpClient for RustlsHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        // A poisoned lock only means another thread panicked while inserting: the map is intact.
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        connectors
            .entry(key)
            .or_insert_with(|| SharedHttpConnector::new(Connector::new(&self.tls, key.0, key.1)))
            .clone()
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new(
            "hyper",
            Some(std::borrow::Cow::Borrowed("1.x")),
        ))
    }
}

type HttpsConnector = hyper_rustls::HttpsConnector<TcpConnector>;

#[derive(Debug, Clone)]
struct Connector {
    client: Client<ConnectWithin<HttpsConnector>, SdkBody>,
    read_timeout: Option<Duration>,
}

impl Connector {
    fn new(
        tls: &Arc<rustls::ClientConfig>,
        connect_timeout: Option<Duration>,
        read_timeout: Option<Duration>,
    ) -> Self {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        // https, and plain http for local endpoints (AWS_ENDPOINT_URL=http://127.0.0.1:...).
        let https = HttpsConnector::from((tcp, Arc::clone(tls)));
        let client = Client::builder(TokioExecutor::new())
            // Needed for the pool to expire idle connections.
            .pool_timer(TokioTimer::new())
            .build(ConnectWithin {
                inner: https,
                limit: connect_timeout,
            });
        Self {
            client,
            read_timeout,
        }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())));
            }
        };
        // Lets the SDK's retry layer poison (not reuse) a connection that failed a request.
        let captured = capture_connection(&mut request);
        if let Some(capture) = request.extensions().get::<CaptureSmithyConnection>() {
            capture.set_connection_retriever(move || {
                let connected = captured.connection_metadata();
                connected.as_ref()?;
                let poison = captured.clone();
                Some(
                    ConnectionMetadata::builder()
                        .proxied(false)
                        .poison_fn(move || {
                            if let Some(connected) = poison.connection_metadata().as_ref() {
                                connected.poison();
                            }
                        })
                        .build(),
                )
            });
        }
        let response = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|_| ConnectorError::timeout(Box::new(TimedOut::Read(limit))))?,
                None => response.await,
            }
            .map_err(|error| classify(error.into()))?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// The connect timeout, over the TCP connect and the TLS handshake together (as the SDK's own).
#[derive(Debug, Clone)]
struct ConnectWithin<C> {
    inner: C,
    limit: Option<Duration>,
}

impl<C> tower_service::Service<Uri> for ConnectWithin<C>
where
    C: tower_service::Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(context).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let limit = self.limit;
        Box::pin(async move {
            match limit {
                Some(limit) => match tokio::time::timeout(limit, connecting).await {
                    Ok(connected) => connected.map_err(Into::into),
                    Err(_) => Err(Box::new(TimedOut::Connect(limit)) as BoxError),
                },
                None => connecting.await.map_err(Into::into),
            }
        })
    }
}

#[derive(Debug)]
enum TimedOut {
    Connect(Duration),
    Read(Duration),
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(limit) => write!(f, "no connection within the {limit:?} connect timeout"),
            Self::Read(limit) => write!(f, "no response within the {limit:?} read timeout"),
        }
    }
}

impl Error for TimedOut {}

/// The SDK client's classes of failure: timeouts and I/O (connect, reset, closed) are retried as
/// transient, an incomplete answer too; a misuse or a TLS failure is not.
fn classify(error: BoxError) -> ConnectorError {
    if find::<TimedOut>(error.as_ref()).is_some() {
        return ConnectorError::timeout(error);
    }
    // A certificate the trust store does not accept will not be accepted on a retry either.
    if find::<rustls::Error>(error.as_ref()).is_some() {
        return ConnectorError::other(error, None);
    }
    if let Some(hyper_error) = find::<hyper::Error>(error.as_ref()) {
        if hyper_error.is_timeout() {
            return ConnectorError::timeout(error);
        }
        if hyper_error.is_user() {
            return ConnectorError::user(error);
        }
        if hyper_error.is_closed()
            || hyper_error.is_canceled()
            || find::<std::io::Error>(hyper_error).is_some()
        {
            return ConnectorError::io(error);
        }
        if hyper_error.is_incomplete_message() {
            return ConnectorError::other(error, Some(ErrorKind::TransientError));
        }
        return ConnectorError::other(error, None);
    }
    if let Some(client_error) = find::<hyper_util::client::legacy::Error>(error.as_ref())
        && (client_error.is_connect() || find::<std::io::Error>(client_error).is_some())
    {
        return ConnectorError::io(error);
    }
    ConnectorError::other(error, None)
}

/// The first `E` in `error`'s chain. After an `io::Error` the next link is its payload
/// (`get_ref`): `io::Error::source` would skip it, and hyper-rustls wraps rustls's errors so.
fn find<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    std::iter::successors(Some(error), |&error| {
        match error.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn Error + 'static)),
            None => error.source(),
        }
    })
    .find_map(|error| error.downcast_ref::<E>())
}
