//! Test support: moto's IAM behind a thin tag-keeping proxy, a local metadata server, generated
//! certificates and CloudFormation events.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use saml_provider::{MetadataDownload, SamlProvider};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub const SAML_METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const XMLDSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run these tests with `scripts/with-moto cargo test -p saml-provider`")
    })
}

/// An IAM client with dummy credentials talking to `endpoint`.
pub fn iam_client(endpoint: &str) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", fastrand::u32(..))
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

// ---------------------------------------------------------------------------------------------
// IAM: moto, with the SAML provider tags moto lacks kept here, and every call counted.

/// A thin awsQuery layer in front of moto's IAM. It forwards every call to moto, except that it
/// keeps the tags of SAML providers itself (moto drops CreateSAMLProvider's Tags and answers 500
/// to TagSAMLProvider, UntagSAMLProvider and ListSAMLProviderTags) and, like real IAM, refuses a
/// CreateSAMLProvider for a name already in use (moto silently replaces the provider).
pub struct IamProxy {
    pub endpoint: String,
    state: Arc<ProxyState>,
}

struct ProxyState {
    moto: String,
    http: reqwest::Client,
    calls: Mutex<Vec<String>>,
    tags: Mutex<HashMap<String, Vec<(String, String)>>>,
}

impl IamProxy {
    pub async fn start() -> Self {
        let state = Arc::new(ProxyState {
            moto: moto_endpoint(),
            http: reqwest::Client::new(),
            calls: Mutex::new(Vec::new()),
            tags: Mutex::new(HashMap::new()),
        });
        let router = Router::new().fallback(proxy).with_state(Arc::clone(&state));
        Self {
            endpoint: serve(router).await,
            state,
        }
    }

    /// The resource under test, talking to IAM through this proxy.
    pub fn resource(&self, download: MetadataDownload) -> Arc<SamlProvider> {
        Arc::new(SamlProvider::new(iam_client(&self.endpoint), download))
    }

    /// The IAM actions called through the proxy, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn count(&self, action: &str) -> usize {
        self.calls().iter().filter(|call| *call == action).count()
    }

    pub fn clear_calls(&self) {
        self.state.calls.lock().unwrap().clear();
    }

    /// The tags the proxy keeps for a provider (None: it never saw the provider created).
    pub fn tags(&self, arn: &str) -> Option<Vec<(String, String)>> {
        self.state.tags.lock().unwrap().get(arn).cloned()
    }
}

async fn proxy(State(state): State<Arc<ProxyState>>, headers: HeaderMap, body: Bytes) -> Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let action = param(&params, "Action").unwrap_or_default();
    state.calls.lock().unwrap().push(action.clone());
    let arn = param(&params, "SAMLProviderArn").unwrap_or_default();
    match action.as_str() {
        "CreateSAMLProvider" => {
            let name = param(&params, "Name").unwrap_or_default();
            if state
                .moto_arns()
                .await
                .iter()
                .any(|arn| arn.ends_with(&format!(":saml-provider/{name}")))
            {
                return iam_error(
                    StatusCode::CONFLICT,
                    "EntityAlreadyExists",
                    &format!("SAMLProvider {name} already exists"),
                );
            }
            let (status, content_type, answer) = state.forward(&headers, body.clone()).await;
            if status == StatusCode::OK {
                let text = String::from_utf8_lossy(&answer).into_owned();
                let created = element_texts(&text, "SAMLProviderArn")
                    .into_iter()
                    .next()
                    .expect("an ARN from moto");
                state
                    .tags
                    .lock()
                    .unwrap()
                    .insert(created, tag_list(&params, "Tags"));
            }
            (status, [(header::CONTENT_TYPE, content_type)], answer).into_response()
        }
        "TagSAMLProvider" | "UntagSAMLProvider" | "ListSAMLProviderTags" => {
            if !state.moto_has(&arn).await {
                return iam_error(
                    StatusCode::NOT_FOUND,
                    "NoSuchEntity",
                    &format!("SAMLProvider {arn} not found"),
                );
            }
            let mut all = state.tags.lock().unwrap();
            let tags = all.entry(arn).or_default();
            match action.as_str() {
                "TagSAMLProvider" => {
                    for (key, value) in tag_list(&params, "Tags") {
                        tags.retain(|(existing, _)| *existing != key);
                        tags.push((key, value));
                    }
                    iam_ok(&action, None)
                }
                "UntagSAMLProvider" => {
                    let keys = member_list(&params, "TagKeys");
                    tags.retain(|(key, _)| !keys.contains(key));
                    iam_ok(&action, None)
                }
                _ => {
                    let members: String = tags
                        .iter()
                        .map(|(key, value)| {
                            format!(
                                "<member><Key>{}</Key><Value>{}</Value></member>",
                                escape(key),
                                escape(value)
                            )
                        })
                        .collect();
                    iam_ok(
                        &action,
                        Some(&format!(
                            "<Tags>{members}</Tags><IsTruncated>false</IsTruncated>"
                        )),
                    )
                }
            }
        }
        _ => {
            let (status, content_type, answer) = state.forward(&headers, body).await;
            if action == "DeleteSAMLProvider" && status == StatusCode::OK {
                state.tags.lock().unwrap().remove(&arn);
            }
            (status, [(header::CONTENT_TYPE, content_type)], answer).into_response()
        }
    }
}

impl ProxyState {
    async fn forward(&self, headers: &HeaderMap, body: Bytes) -> (StatusCode, String, Bytes) {
        let mut request = self.http.post(format!("{}/", self.moto)).body(body);
        for (name, value) in headers {
            if name != header::HOST && name != header::CONTENT_LENGTH {
                request = request.header(name, value);
            }
        }
        let answer = request.send().await.expect("moto answers");
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        let content_type = answer
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("text/xml")
            .to_owned();
        (
            status,
            content_type,
            answer.bytes().await.expect("moto's body"),
        )
    }

    /// One IAM call made by the proxy itself (moto routes by the SigV4 scope; it checks no signature).
    async fn moto_call(&self, form: &[(&str, &str)]) -> (StatusCode, String) {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let answer = self
            .http
            .post(format!("{}/", self.moto))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(
                header::AUTHORIZATION,
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body)
            .send()
            .await
            .expect("moto answers");
        (
            StatusCode::from_u16(answer.status().as_u16()).unwrap(),
            answer.text().await.unwrap(),
        )
    }

    async fn moto_arns(&self) -> Vec<String> {
        let (status, text) = self
            .moto_call(&[("Action", "ListSAMLProviders"), ("Version", "2010-05-08")])
            .await;
        assert_eq!(status, StatusCode::OK, "ListSAMLProviders on moto: {text}");
        element_texts(&text, "Arn")
    }

    async fn moto_has(&self, arn: &str) -> bool {
        let form = [
            ("Action", "GetSAMLProvider"),
            ("Version", "2010-05-08"),
            ("SAMLProviderArn", arn),
        ];
        self.moto_call(&form).await.0 == StatusCode::OK
    }
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// `Prefix.member.N` values, in N order.
fn member_list(params: &[(String, String)], prefix: &str) -> Vec<String> {
    (1..)
        .map_while(|n| param(params, &format!("{prefix}.member.{n}")))
        .collect()
}

/// `Prefix.member.N.Key` / `.Value` pairs, in N order.
fn tag_list(params: &[(String, String)], prefix: &str) -> Vec<(String, String)> {
    (1..)
        .map_while(|n| {
            let key = param(params, &format!("{prefix}.member.{n}.Key"))?;
            Some((
                key,
                param(params, &format!("{prefix}.member.{n}.Value")).unwrap_or_default(),
            ))
        })
        .collect()
}

fn element_texts(xml: &str, name: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(xml)
        .unwrap_or_else(|error| panic!("moto's XML ({error}): {xml}"));
    document
        .descendants()
        .filter(|node| node.is_element() && node.tag_name().name() == name)
        .map(|node| node.text().unwrap_or_default().to_owned())
        .collect()
}

fn iam_ok(action: &str, result: Option<&str>) -> Response {
    let result = result
        .map(|inner| format!("<{action}Result>{inner}</{action}Result>"))
        .unwrap_or_default();
    let body = format!(
        r#"<{action}Response xmlns="{IAM_NS}">{result}<ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></{action}Response>"#
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn iam_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        r#"<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"#,
        escape(message)
    );
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
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
}

/// How much `/huge` sends: 20 MB.
pub const HUGE_BYTES: usize = 20 * 1024 * 1024;

impl MetadataServer {
    pub async fn start(document: &str) -> Self {
        let state = Arc::new(ServerState {
            document: Mutex::new(document.to_owned()),
            requests: Mutex::new(Vec::new()),
            flaky_failures_left: AtomicUsize::new(2),
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
async fn huge_streamed() -> Body {
    let chunk = Bytes::from(vec![b' '; 64 * 1024]);
    let chunks = HUGE_BYTES / chunk.len();
    Body::from_stream(futures::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    ))
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

/// One stack's identity, unique per test.
pub struct Stack {
    pub name: String,
    pub id: String,
}

impl Stack {
    pub fn new(prefix: &str) -> Self {
        let name = unique(prefix);
        let id = format!(
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/{:032x}",
            fastrand::u128(..)
        );
        Self { name, id }
    }

    pub fn create(&self, logical_id: &str, properties: Value) -> Value {
        self.event("Create", logical_id, None, properties, None)
    }

    pub fn update(
        &self,
        logical_id: &str,
        physical_id: &str,
        properties: Value,
        old: Value,
    ) -> Value {
        self.event(
            "Update",
            logical_id,
            Some(physical_id),
            properties,
            Some(old),
        )
    }

    pub fn delete(&self, logical_id: &str, physical_id: &str, properties: Value) -> Value {
        self.event("Delete", logical_id, Some(physical_id), properties, None)
    }

    fn event(
        &self,
        kind: &str,
        logical_id: &str,
        physical_id: Option<&str>,
        properties: Value,
        old: Option<Value>,
    ) -> Value {
        let mut properties = properties;
        properties["ServiceToken"] =
            json!("arn:aws:lambda:eu-west-1:123456789012:function:saml-provider");
        let mut event = json!({
            "RequestType": kind,
            "ResponseURL": "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x?X-Amz-Signature=s",
            "StackId": self.id,
            "RequestId": unique("request"),
            "LogicalResourceId": logical_id,
            "ResourceType": "Custom::SamlProviderFromMetadata",
            "ResourceProperties": properties,
        });
        if let Some(physical_id) = physical_id {
            event["PhysicalResourceId"] = json!(physical_id);
        }
        if let Some(old) = old {
            event["OldResourceProperties"] = old;
        }
        event
    }
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
