//! Test support: moto's IAM behind a thin tag-keeping proxy, a local metadata server, generated
//! certificates and CloudFormation events.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use saml_provider::{MetadataDownload, SamlProvider};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub const SAML_METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const XMLDSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

#[allow(unused_imports)] // each test file uses its own part of the support
pub use test_support::{moto_endpoint, unique};

/// An IAM client with dummy credentials talking to `endpoint`.
pub fn iam_client(endpoint: &str) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .http_client(https_client::sdk::http_client())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

// ---------------------------------------------------------------------------------------------
// IAM: moto, with the SAML provider tags moto lacks kept here, and every call counted.

pub use moto_iam_proxy::IamProxy;

// assumption: iam-saml-provider-tags-via-proxy
/// moto's IAM behind the tag-keeping proxy.
pub async fn iam_proxy() -> IamProxy {
    IamProxy::start(&moto_endpoint())
        .await
        .expect("the IAM proxy starts")
}

/// The resource under test, talking to IAM through `proxy`.
pub fn provider_via(proxy: &IamProxy, download: MetadataDownload) -> Arc<SamlProvider> {
    Arc::new(SamlProvider::new(iam_client(&proxy.endpoint), download))
}

/// Moto's view of IAM, bypassing the proxy (so these look-ups are not counted).
pub struct Moto {
    client: aws_sdk_iam::Client,
}

impl Moto {
    pub fn new() -> Self {
        Self {
            client: iam_client(&moto_endpoint()),
        }
    }

    pub async fn provider_arns(&self) -> Vec<String> {
        let listed = self.client.list_saml_providers().send().await.unwrap();
        listed
            .saml_provider_list()
            .iter()
            .filter_map(|entry| entry.arn())
            .map(str::to_owned)
            .collect()
    }

    /// The provider's metadata document, or None when moto has no such provider.
    pub async fn document(&self, arn: &str) -> Option<String> {
        match self
            .client
            .get_saml_provider()
            .saml_provider_arn(arn)
            .send()
            .await
        {
            Ok(provider) => Some(
                provider
                    .saml_metadata_document()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(error) => panic!("GetSAMLProvider on moto: {error:?}"),
        }
    }

    /// Makes a provider directly in moto: one this stack did not create.
    pub async fn create_foreign(&self, name: &str, document: &str) -> String {
        let created = self
            .client
            .create_saml_provider()
            .name(name)
            .saml_metadata_document(document)
            .send()
            .await
            .unwrap();
        created.saml_provider_arn().unwrap().to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Metadata: certificates, documents and a server for them.

/// A whole second (what X.509 keeps) `days` from now.
pub fn days_from_now(days: i64) -> OffsetDateTime {
    (OffsetDateTime::now_utc() + time::Duration::days(days))
        .replace_nanosecond(0)
        .unwrap()
}

/// A fresh self-signed certificate valid until `not_after`, as base64 DER (what metadata holds).
pub fn certificate(not_after: OffsetDateTime) -> String {
    let mut params =
        rcgen::CertificateParams::new(vec!["idp.connect-sso.test".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Connect SSO test IdP");
    params.not_before = not_after - time::Duration::days(730);
    params.not_after = not_after;
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = params.self_signed(&key).unwrap();
    base64::engine::general_purpose::STANDARD.encode(certificate.der())
}

/// Identity Center-shaped IdP metadata with one KeyDescriptor per `(use, certificate)`.
pub fn idp_metadata(keys: &[(Option<&str>, &str)]) -> String {
    let key_descriptors: String = keys
        .iter()
        .map(|(usage, certificate)| {
            let usage = usage
                .map(|usage| format!(r#" use="{usage}""#))
                .unwrap_or_default();
            format!(
                r#"
    <md:KeyDescriptor{usage}>
      <ds:KeyInfo xmlns:ds="{XMLDSIG_NS}">
        <ds:X509Data>
          <ds:X509Certificate>{certificate}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{SAML_METADATA_NS}" entityID="https://portal.sso.eu-west-1.amazonaws.com/saml/assertion/{}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key_descriptors}
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://portal.sso.eu-west-1.amazonaws.com/saml/logout/test"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://portal.sso.eu-west-1.amazonaws.com/saml/assertion/test"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://portal.sso.eu-west-1.amazonaws.com/saml/assertion/test"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#,
        fastrand::u64(..)
    )
}

/// Metadata signed with one fresh certificate valid until `not_after`.
pub fn metadata_until(not_after: OffsetDateTime) -> String {
    idp_metadata(&[(Some("signing"), &certificate(not_after))])
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
}

/// A local stand-in for Identity Center's metadata endpoint, plus the ways a download can fail.
pub struct MetadataServer {
    pub base: String,
    state: Arc<ServerState>,
}

struct ServerState {
    document: Mutex<String>,
    requests: Mutex<Vec<String>>,
    flaky_failures_left: AtomicUsize,
    /// Bytes of `/huge` produced for sending so far.
    huge_bytes_produced: Arc<AtomicUsize>,
}

/// How much `/huge` sends: 20 MB.
pub const HUGE_BYTES: usize = 20 * 1024 * 1024;

impl MetadataServer {
    pub async fn start(document: &str) -> Self {
        let state = Arc::new(ServerState {
            document: Mutex::new(document.to_owned()),
            requests: Mutex::new(Vec::new()),
            flaky_failures_left: AtomicUsize::new(2),
            huge_bytes_produced: Arc::new(AtomicUsize::new(0)),
        });
        let router = Router::new()
            .route("/metadata", get(current_document))
            .route("/flaky", get(flaky))
            .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
            .route(
                "/loop",
                get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
            )
            .route("/huge", get(huge_streamed))
            .route("/huge-declared", get(|| async { vec![b'<'; HUGE_BYTES] }))
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&state),
                record,
            ))
            .with_state(Arc::clone(&state));
        Self {
            base: serve(router).await,
            state,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn serve_document(&self, document: &str) {
        *self.state.document.lock().unwrap() = document.to_owned();
    }

    /// How much of `/huge` the server produced: once the reader stops, the connection closes and
    /// no more is produced.
    pub fn huge_bytes_produced(&self) -> usize {
        self.state.huge_bytes_produced.load(Ordering::SeqCst)
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

async fn record(
    State(state): State<Arc<ServerState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    state
        .requests
        .lock()
        .unwrap()
        .push(request.uri().path().to_owned());
    next.run(request).await
}

async fn current_document(State(state): State<Arc<ServerState>>) -> String {
    state.document.lock().unwrap().clone()
}

/// Two 503s, then the document.
async fn flaky(State(state): State<Arc<ServerState>>) -> Response {
    let failing =
        state
            .flaky_failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            });
    match failing {
        Ok(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Err(_) => current_document(State(state)).await.into_response(),
    }
}

/// 20 MB in 64 KiB chunks, without a Content-Length (so only counting the bytes can stop it).
async fn huge_streamed(State(state): State<Arc<ServerState>>) -> Body {
    let chunk = Bytes::from(vec![b' '; 64 * 1024]);
    let chunks = HUGE_BYTES / chunk.len();
    let produced = Arc::clone(&state.huge_bytes_produced);
    Body::from_stream(futures::stream::iter((0..chunks).map(move |_| {
        produced.fetch_add(chunk.len(), Ordering::SeqCst);
        Ok::<_, std::io::Error>(chunk.clone())
    })))
}

/// Settings for tests: plain http to the local server, quick retries.
pub fn local_download() -> MetadataDownload {
    MetadataDownload {
        allow_http: true,
        first_backoff: Duration::from_millis(50),
        ..MetadataDownload::default()
    }
}

// ---------------------------------------------------------------------------------------------
// CloudFormation.

const RESOURCE_TYPE: &str = "Custom::SamlProviderFromMetadata";

/// One stack's identity, unique per test, sending Custom::SamlProviderFromMetadata events (their
/// properties with the ServiceToken CloudFormation adds).
pub struct Stack {
    pub name: String,
    pub id: String,
    stack: test_support::Stack,
}

impl Stack {
    pub fn new(prefix: &str) -> Self {
        let stack = test_support::Stack::new(prefix);
        Self {
            name: stack.name.clone(),
            id: stack.id.clone(),
            stack,
        }
    }

    pub fn create(&self, logical_id: &str, properties: Value) -> Value {
        self.stack
            .create(RESOURCE_TYPE, logical_id, with_service_token(properties))
    }

    pub fn update(
        &self,
        logical_id: &str,
        physical_id: &str,
        properties: Value,
        old: Value,
    ) -> Value {
        self.stack.update(
            RESOURCE_TYPE,
            logical_id,
            physical_id,
            with_service_token(properties),
            old,
        )
    }

    pub fn delete(&self, logical_id: &str, physical_id: &str, properties: Value) -> Value {
        self.stack.delete(
            RESOURCE_TYPE,
            logical_id,
            physical_id,
            with_service_token(properties),
        )
    }
}

fn with_service_token(mut properties: Value) -> Value {
    properties["ServiceToken"] =
        json!("arn:aws:lambda:us-east-1:123456789012:function:saml-provider");
    properties
}

/// The response document CloudFormation would receive for `event`.
pub async fn respond(resource: &Arc<SamlProvider>, event: Value) -> Value {
    custom_resource::response_document(Arc::clone(resource), event, Duration::from_secs(60))
        .await
        .unwrap()
}

/// Asserts a FAILED response and returns its Reason.
#[track_caller]
pub fn failed_reason(response: &Value) -> String {
    assert_eq!(
        response["Status"], "FAILED",
        "expected FAILED: {response:#}"
    );
    response["Reason"].as_str().unwrap().to_owned()
}

/// Asserts a SUCCESS response and returns its physical id.
#[track_caller]
pub fn succeeded(response: &Value) -> String {
    assert_eq!(
        response["Status"], "SUCCESS",
        "expected SUCCESS: {response:#}"
    );
    response["PhysicalResourceId"].as_str().unwrap().to_owned()
}
