//! Hand-built AWS requests, SigV4-signed with `aws-sigv4` and sent over the shared `reqwest`
//! client. For the console API, which no SDK covers, and for the few calls the functions make to
//! services where a whole SDK crate would cost every cold build more than the call is worth
//! (Lambda `Invoke`, SSM `PutParameter`, CloudFormation's two stack reads): see BENCHMARKS.md,
//! "Three SDK crates for four calls". Each such request is written as the SDK writes it on the
//! wire, and a test compares the two.

use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use backon::Retryable as _;
use serde_json::Value;

/// One AWS service, as its requests are addressed and signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The SigV4 signing name (`lambda`, `ssm`, `cloudformation`, `sso`).
    pub signing_name: &'static str,
    /// The regional endpoint's first label (`ssm` in `ssm.eu-west-1.amazonaws.com`).
    pub endpoint_prefix: &'static str,
    /// The service's suffix in `AWS_ENDPOINT_URL_<suffix>` (`LAMBDA`, `SSM`, `SSO_ADMIN`).
    pub endpoint_env: &'static str,
}

pub const LAMBDA: Service = Service {
    signing_name: "lambda",
    endpoint_prefix: "lambda",
    endpoint_env: "LAMBDA",
};

pub const SSM: Service = Service {
    signing_name: "ssm",
    endpoint_prefix: "ssm",
    endpoint_env: "SSM",
};

pub const CLOUDFORMATION: Service = Service {
    signing_name: "cloudformation",
    endpoint_prefix: "cloudformation",
    endpoint_env: "CLOUDFORMATION",
};

/// What a call's error codes are when no answer came from AWS.
pub mod local_code {
    /// No credentials could be had: nothing was sent.
    pub const CREDENTIALS: &str = "CredentialsError";
    /// The request could not be built or signed: nothing was sent.
    pub const SIGNING: &str = "SigningError";
    /// No connection was made (DNS, refused, connect timeout): no byte of the request left.
    pub const CONNECTION: &str = "ConnectionError";
    /// Sent, but no whole answer came (a timeout, a connection lost): it may have been served.
    pub const TRANSPORT: &str = "TransportError";
}

/// A failed call: AWS's error code without its namespace (`ParameterNotFound`), or one of
/// [`local_code`] when AWS did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CallError {}

impl CallError {
    fn local(code: &str, message: impl ToString) -> Self {
        Self {
            status: None,
            code: code.to_owned(),
            message: message.to_string(),
        }
    }

    /// Certainly not served: AWS refused it, or it never left.
    pub fn certainly_not_served(&self) -> bool {
        self.status.is_some()
            || [
                local_code::CREDENTIALS,
                local_code::SIGNING,
                local_code::CONNECTION,
            ]
            .contains(&self.code.as_str())
    }

    /// Worth repeating (see [`is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        is_retryable(self.status, &self.code)
    }
}

/// Whether a call that failed with `status` and `code` is worth repeating: AWS throttled or
/// failed on its side, or the request never left. (Other transport errors may have been served:
/// a repeated create could make a second object.)
pub fn is_retryable(status: Option<u16>, code: &str) -> bool {
    let throttled = matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "ThrottledException"
            | "RequestLimitExceeded"
    );
    throttled || code == local_code::CONNECTION || matches!(status, Some(429 | 500..=599))
}

/// A client of one service in one region, with the credentials and endpoint override of an
/// `SdkConfig`.
#[derive(Debug, Clone)]
pub struct SignedClient {
    http: reqwest::Client,
    service: Service,
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
}

/// How long a connection may take to open, and a whole call to answer, unless the caller bounds
/// it more tightly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl SignedClient {
    pub fn new(config: &SdkConfig, service: Service) -> anyhow::Result<Self> {
        let name = service.signing_name;
        let region = config
            .region()
            .map(|region| region.as_ref().to_owned())
            .ok_or_else(|| anyhow::anyhow!("no AWS region configured for {name}"))?;
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| anyhow::anyhow!("no AWS credentials configured for {name}"))?;
        let http = crate::reqwest_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            service,
            endpoint: endpoint(service, config.endpoint_url(), &region),
            region,
            credentials,
        })
    }

    /// The endpoint requests go to (no trailing `/`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Signs and sends one request to `path` (from the endpoint's root, with its query), once;
    /// the answer's text when AWS answered with success.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<String, CallError> {
        let url = format!("{}{path}", self.endpoint);
        let request = self.signed(method, &url, headers, body).await?;
        let response = self.http.execute(request).await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.map_err(transport_error)?;
        match service_error(status, error_type.as_deref(), &text) {
            Some((code, message)) => Err(CallError {
                status: Some(status),
                code,
                message,
            }),
            None => Ok(text),
        }
    }

    /// [`Self::send`], repeated after throttling, server errors and refused connections (as the
    /// SDK's standard retry mode does: three attempts) while that can end before `deadline`. For
    /// calls that are safe to repeat.
    pub async fn send_idempotent(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        deadline: Instant,
    ) -> Result<String, CallError> {
        let delays = crate::retry::jittered(Duration::from_millis(100), Duration::from_secs(2), 2);
        (|| self.send(method, path, headers, body))
            .retry(crate::retry::until(delays, deadline, Duration::ZERO))
            .when(CallError::is_retryable)
            .await
    }

    /// An AWS query-protocol call: `Action`, `Version` and `fields`, form-encoded; the XML answer.
    /// Retried as [`Self::send_idempotent`]: for reads and other calls safe to repeat.
    pub async fn query(
        &self,
        action: &str,
        version: &str,
        fields: &[(&str, &str)],
        deadline: Instant,
    ) -> Result<String, CallError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", action)
            .append_pair("Version", version)
            .extend_pairs(fields)
            .finish();
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        self.send_idempotent("POST", "/", &headers, body.as_bytes(), deadline)
            .await
    }

    /// An AWS JSON 1.1 call (`X-Amz-Target: <target>`). Retried as [`Self::send_idempotent`]:
    /// for calls safe to repeat.
    pub async fn json_1_1(
        &self,
        target: &str,
        body: &Value,
        deadline: Instant,
    ) -> Result<Value, CallError> {
        let body = body.to_string();
        let headers = [("content-type", JSON_1_1), ("x-amz-target", target)];
        let text = self
            .send_idempotent("POST", "/", &headers, body.as_bytes(), deadline)
            .await?;
        parse_json(&text)
    }

    async fn signed(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<reqwest::Request, CallError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|error| CallError::local(local_code::CREDENTIALS, error))?;
        let identity = Identity::from(credentials);
        let signing_error =
            |error: &dyn std::fmt::Display| CallError::local(local_code::SIGNING, error);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|error| signing_error(&error))?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|error| signing_error(&error))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|error| signing_error(&error))?
            .into_parts();
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(body.to_vec())
            .map_err(|error| signing_error(&error))?;
        instructions.apply_to_request_http1x(&mut request);
        reqwest::Request::try_from(request).map_err(|error| signing_error(&error))
    }
}

/// The content type of the AWS JSON 1.1 protocol.
pub const JSON_1_1: &str = "application/x-amz-json-1.1";

/// An answer's JSON (an empty body is an empty object).
pub fn parse_json(text: &str) -> Result<Value, CallError> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_json::from_str(text).map_err(|error| CallError {
        status: None,
        code: "InvalidResponse".to_owned(),
        message: format!("{error}: {}", excerpt(text)),
    })
}

/// The service's endpoint: `AWS_ENDPOINT_URL_<service>`, else the configured override (set on
/// the `SdkConfig`, or `AWS_ENDPOINT_URL`), else the regional endpoint; as the SDK chooses.
pub fn endpoint(service: Service, configured: Option<&str>, region: &str) -> String {
    let from_env = |name: &str| std::env::var(name).ok();
    choose_endpoint(
        from_env(&format!("AWS_ENDPOINT_URL_{}", service.endpoint_env)),
        configured,
        from_env("AWS_ENDPOINT_URL"),
        service.endpoint_prefix,
        region,
    )
}

fn choose_endpoint(
    service_env: Option<String>,
    configured: Option<&str>,
    global_env: Option<String>,
    prefix: &str,
    region: &str,
) -> String {
    let usable = |value: &String| !value.trim().is_empty();
    let override_url = service_env
        .filter(usable)
        .or_else(|| configured.map(str::to_owned).filter(usable))
        .or_else(|| global_env.filter(usable));
    match override_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => {
            let dns_suffix = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            format!("https://{prefix}.{region}.{dns_suffix}")
        }
    }
}

/// AWS's error in an answer, in any of the three shapes it comes in: JSON (`__type` and
/// `message`), REST-JSON (the `x-amzn-ErrorType` header) or query/XML (`<Error><Code>`); also a
/// 200 whose JSON body is an error anyway (the console API answers a wrong content type so).
fn service_error(status: u16, error_type: Option<&str>, text: &str) -> Option<(String, String)> {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let json_type = body
        .get("__type")
        .or_else(|| body.pointer("/Output/__type"))
        .and_then(Value::as_str);
    let success = (200..300).contains(&status);
    if success && json_type.is_none() {
        return None;
    }
    let xml = xml_error(text);
    let code = error_type
        .or(json_type)
        .map(|name| {
            // `ResourceNotFoundException:http://internal...` or `namespace#Name`.
            let name = name.split(':').next().unwrap_or(name);
            name.rsplit('#').next().unwrap_or(name).to_owned()
        })
        .or_else(|| xml.as_ref().map(|(code, _)| code.clone()))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = ["/message", "/Message", "/Output/message"]
        .iter()
        .find_map(|key| body.pointer(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| xml.map(|(_, message)| message))
        .unwrap_or_else(|| excerpt(text));
    Some((code, message))
}

/// `<Error><Code>` and `<Message>` of a query-protocol error answer.
fn xml_error(text: &str) -> Option<(String, String)> {
    let document = roxmltree::Document::parse(text).ok()?;
    let error = document
        .descendants()
        .find(|node| node.has_tag_name("Error"))?;
    let child = |name: &str| {
        error
            .children()
            .find(|node| node.has_tag_name(name))
            .and_then(|node| node.text())
            .map(str::to_owned)
    };
    Some((child("Code")?, child("Message").unwrap_or_default()))
}

fn transport_error(error: reqwest::Error) -> CallError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    let code = if error.is_connect() {
        local_code::CONNECTION
    } else {
        local_code::TRANSPORT
    };
    CallError::local(code, message)
}

/// The first 300 characters of an answer, for an error message.
pub fn excerpt(text: &str) -> String {
    let mut excerpt: String = text.chars().take(300).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    if excerpt.is_empty() {
        "(empty body)".to_owned()
    } else {
        excerpt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_carrying_an_unknown_operation_is_an_error() {
        let body = r#"{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}"#;
        let (code, message) = service_error(200, None, body).unwrap();
        assert_eq!(code, "UnknownOperationException");
        assert_eq!(message, body);
    }

    #[test]
    fn error_codes_in_each_protocol_lose_their_namespace_and_keep_the_message() {
        let json = r#"{"__type":"com.amazon.switchboard#ResourceNotFoundException","message":"no such app"}"#;
        assert_eq!(
            service_error(400, None, json),
            Some(("ResourceNotFoundException".into(), "no such app".into()))
        );
        let rest = r#"{"Type":"User","message":"Function not found: x"}"#;
        assert_eq!(
            service_error(
                404,
                Some(
                    "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/"
                ),
                rest
            ),
            Some((
                "ResourceNotFoundException".into(),
                "Function not found: x".into()
            ))
        );
        let xml = "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
            <Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id s does not exist</Message>\
            </Error><RequestId>r</RequestId></ErrorResponse>";
        assert_eq!(
            service_error(400, None, xml),
            Some((
                "ValidationError".into(),
                "Stack with id s does not exist".into()
            ))
        );
        assert_eq!(
            service_error(502, None, "bad gateway"),
            Some(("HTTP 502".into(), "bad gateway".into()))
        );
        assert_eq!(service_error(200, None, r#"{"Version":1}"#), None);
        assert_eq!(service_error(202, None, ""), None);
    }

    #[test]
    fn throttling_server_errors_and_unsent_requests_are_retried_others_not() {
        let error = |status, code: &str| CallError {
            status,
            code: code.to_owned(),
            message: String::new(),
        };
        assert!(error(Some(400), "ThrottlingException").is_retryable());
        assert!(error(Some(400), "Throttling").is_retryable());
        assert!(error(Some(503), "HTTP 503").is_retryable());
        assert!(error(Some(429), "HTTP 429").is_retryable());
        assert!(error(None, local_code::CONNECTION).is_retryable());
        assert!(!error(None, local_code::TRANSPORT).is_retryable());
        assert!(!error(Some(400), "ValidationError").is_retryable());
        assert!(!error(None, local_code::TRANSPORT).certainly_not_served());
        assert!(error(None, local_code::CONNECTION).certainly_not_served());
        assert!(error(Some(500), "HTTP 500").certainly_not_served());
    }

    #[test]
    fn the_service_variable_wins_then_the_configured_override_then_the_regional_endpoint() {
        let chosen = |service: Option<&str>, configured: Option<&str>, global: Option<&str>| {
            choose_endpoint(
                service.map(str::to_owned),
                configured,
                global.map(str::to_owned),
                "ssm",
                "eu-west-1",
            )
        };
        assert_eq!(
            chosen(Some("http://a:1/"), Some("http://b:2"), Some("http://c:3")),
            "http://a:1"
        );
        assert_eq!(
            chosen(Some(" "), Some("http://b:2"), Some("http://c:3")),
            "http://b:2"
        );
        assert_eq!(chosen(None, None, Some("http://c:3")), "http://c:3");
        assert_eq!(
            chosen(None, None, None),
            "https://ssm.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            choose_endpoint(None, None, None, "ssm", "cn-north-1"),
            "https://ssm.cn-north-1.amazonaws.com.cn"
        );
    }
}
