//! The console control-plane API (SWBService): hand-built JSON 1.1 requests, SigV4-signed for
//! service `sso` in the Identity Center home region, retried on throttling and server errors.

use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use backon::Retryable;
use https_client::retry;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::access::Destination;
use crate::model::*;

/// The SigV4 signing name of both Identity Center APIs.
pub const SIGNING_NAME: &str = "sso";
/// The JSON protocol version the console API speaks; any other content type gets an
/// `UnknownOperationException` with HTTP 200.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The `X-Amz-Target` prefix of the console API.
pub const TARGET_PREFIX: &str = "SWBService";

/// A failed console API call: the operation, and what AWS said (or what went wrong on the way).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SWBService.{operation} failed ({destination}): {code}: {message}")]
pub struct ConsoleError {
    pub operation: &'static str,
    /// The account and region the call went to.
    pub destination: Destination,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// AWS's error type without its namespace (`ResourceNotFoundException`), or a local category
    /// (`TransportError`, `CredentialsError`, `SigningError`, `InvalidResponse`).
    pub code: String,
    pub message: String,
}

impl ConsoleError {
    /// The object named in the request does not exist (any more).
    // assumption: not-found-error-types
    pub fn is_not_found(&self) -> bool {
        self.code == "ResourceNotFoundException"
    }

    fn is_retryable(&self) -> bool {
        let throttled = matches!(
            self.code.as_str(),
            "ThrottlingException"
                | "TooManyRequestsException"
                | "ThrottledException"
                | "RequestLimitExceeded"
        );
        // A request that never left (no connection) is safe to repeat; other transport errors
        // may have been served (a repeated Create would make a second application).
        let never_sent = self.code == "ConnectionError";
        throttled || never_sent || matches!(self.status, Some(429 | 500..=599))
    }

    fn local(
        operation: &'static str,
        destination: &Destination,
        code: &str,
        message: impl ToString,
    ) -> Self {
        Self {
            operation,
            destination: destination.clone(),
            status: None,
            code: code.to_owned(),
            message: message.to_string(),
        }
    }
}

/// How long retries may go on when the client has no deadline ([`ConsoleClient::until`]).
const NO_DEADLINE: Duration = Duration::from_secs(3600);

/// How often and how long a throttled or failed call is retried: full-jitter exponential backoff
/// (`https_client::retry`), `base_delay` doubled each retry up to `max_delay`.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// A client of the console API in one Identity Center home region.
#[derive(Debug, Clone)]
pub struct ConsoleClient {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
    retry: RetryPolicy,
    /// No retry is waited for past this (the request's deadline), when one is set.
    deadline: Option<Instant>,
    destination: Destination,
}

impl ConsoleClient {
    /// A client for the region, credentials and endpoint override of `config` (see
    /// [`console_endpoint`]).
    pub fn new(config: &SdkConfig) -> anyhow::Result<Self> {
        let region = config
            .region()
            .map(|region| region.as_ref().to_owned())
            .ok_or_else(|| {
                anyhow::anyhow!("no AWS region configured for the Identity Center console API")
            })?;
        let credentials = config.credentials_provider().ok_or_else(|| {
            anyhow::anyhow!("no AWS credentials configured for the Identity Center console API")
        })?;
        let endpoint = console_endpoint(config.endpoint_url(), &region);
        let http = https_client::reqwest_builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            endpoint,
            destination: Destination {
                region: region.clone(),
                ..Destination::default()
            },
            region,
            credentials,
            retry: RetryPolicy::default(),
            deadline: None,
        })
    }

    /// Names `destination` (account, role and region) in this client's errors instead of the
    /// region alone.
    pub fn with_destination(mut self, destination: Destination) -> Self {
        self.destination = destination;
        self
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// When waiting for a retry must end: the deadline given to [`Self::until`], else an hour on.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
            .unwrap_or_else(|| Instant::now() + NO_DEADLINE)
    }

    /// Waits for no retry that would end past `deadline` (a request's `respond_by`): the last
    /// error is returned in time to be reported instead.
    pub fn until(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Creates a custom SAML 2.0 application (no client token: not idempotent; search first).
    pub async fn create_application_instance(
        &self,
        name: &str,
    ) -> Result<ApplicationInstance, ConsoleError> {
        let request = CreateApplicationInstanceRequest {
            template_id: CUSTOM_SAML_TEMPLATE_ID,
            name,
        };
        let response: ApplicationInstanceResponse =
            self.call("CreateApplicationInstance", &request).await?;
        Ok(response.application_instance)
    }

    pub async fn get_application_instance(
        &self,
        instance_id: &str,
    ) -> Result<ApplicationInstance, ConsoleError> {
        let response: ApplicationInstanceResponse = self
            .call("GetApplicationInstance", &InstanceIdRequest { instance_id })
            .await?;
        Ok(response.application_instance)
    }

    /// Every application instance of the caller's Identity Center instance, all pages.
    pub async fn list_application_instances(
        &self,
    ) -> Result<Vec<ApplicationInstance>, ConsoleError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let request = ListRequest {
                marker: marker.as_deref(),
            };
            let page: ListApplicationInstancesResponse =
                self.call("ListApplicationInstances", &request).await?;
            all.extend(readable_instances(page.application_instances));
            match page.marker.filter(|next| !next.is_empty()) {
                Some(next) => marker = Some(next),
                None => return Ok(all),
            }
        }
    }

    pub async fn update_display_data(
        &self,
        instance_id: &str,
        display: &DisplayData,
    ) -> Result<(), ConsoleError> {
        let request = UpdateDisplayDataRequest {
            instance_id,
            display_name: &display.display_name,
            description: display.description.as_deref(),
        };
        self.call::<_, Ignored>("UpdateApplicationInstanceDisplayData", &request)
            .await
            .map(drop)
    }

    pub async fn update_service_provider_config(
        &self,
        instance_id: &str,
        service_provider_config: &ServiceProviderConfig,
    ) -> Result<(), ConsoleError> {
        let request = UpdateServiceProviderConfigRequest {
            instance_id,
            service_provider_config,
        };
        self.call::<_, Ignored>(
            "UpdateApplicationInstanceServiceProviderConfiguration",
            &request,
        )
        .await
        .map(drop)
    }

    /// Replaces the whole response config (read, merge and write back to keep other values).
    pub async fn update_response_config(
        &self,
        instance_id: &str,
        response_config: &ResponseConfig,
    ) -> Result<(), ConsoleError> {
        let request = UpdateResponseConfigRequest {
            instance_id,
            response_config,
        };
        self.call::<_, Ignored>("UpdateApplicationInstanceResponseConfiguration", &request)
            .await
            .map(drop)
    }

    /// Replaces the whole response schema config; its keys must match the response config's.
    pub async fn update_response_schema_config(
        &self,
        instance_id: &str,
        response_schema_config: &ResponseSchemaConfig,
    ) -> Result<(), ConsoleError> {
        let request = UpdateResponseSchemaConfigRequest {
            instance_id,
            response_schema_config,
        };
        self.call::<_, Ignored>(
            "UpdateApplicationInstanceResponseSchemaConfiguration",
            &request,
        )
        .await
        .map(drop)
    }

    pub async fn update_status(
        &self,
        instance_id: &str,
        status: Status,
    ) -> Result<(), ConsoleError> {
        self.call::<_, Ignored>(
            "UpdateApplicationInstanceStatus",
            &UpdateStatusRequest {
                instance_id,
                status,
            },
        )
        .await
        .map(drop)
    }

    pub async fn list_profiles(&self, instance_id: &str) -> Result<Vec<Profile>, ConsoleError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let request = ListProfilesRequest {
                instance_id,
                marker: marker.as_deref(),
            };
            let page: ListProfilesResponse = self.call("ListProfiles", &request).await?;
            all.extend(readable_profiles(page.application_profiles));
            match page.marker.filter(|next| !next.is_empty()) {
                Some(next) => marker = Some(next),
                None => return Ok(all),
            }
        }
    }

    pub async fn delete_profile(
        &self,
        instance_id: &str,
        profile_id: &str,
    ) -> Result<(), ConsoleError> {
        self.call::<_, Ignored>(
            "DeleteProfile",
            &DeleteProfileRequest {
                instance_id,
                profile_id,
            },
        )
        .await
        .map(drop)
    }

    pub async fn delete_application_instance(&self, instance_id: &str) -> Result<(), ConsoleError> {
        self.call::<_, Ignored>(
            "DeleteApplicationInstance",
            &InstanceIdRequest { instance_id },
        )
        .await
        .map(drop)
    }

    /// One operation, retried with backoff while AWS throttles or fails on its side.
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        operation: &'static str,
        request: &Req,
    ) -> Result<Resp, ConsoleError> {
        let body = serde_json::to_vec(request).map_err(|error| {
            ConsoleError::local(operation, &self.destination, "InvalidRequest", error)
        })?;
        let policy = &self.retry;
        let retries = policy.max_attempts.saturating_sub(1) as usize;
        let delays = retry::jittered(policy.base_delay, policy.max_delay, retries);
        let text = (|| self.attempt(operation, &body))
            .retry(retry::until(delays, self.deadline(), Duration::ZERO))
            .when(ConsoleError::is_retryable)
            .notify(|error, delay| {
                tracing::warn!(operation, code = %error.code, status = error.status, ?delay, "retrying the console API call");
            })
            .await?;
        let text = if text.trim().is_empty() {
            "{}"
        } else {
            text.as_str()
        };
        serde_json::from_str(text).map_err(|error| {
            ConsoleError::local(
                operation,
                &self.destination,
                "InvalidResponse",
                format!("{error}: {}", excerpt(text)),
            )
        })
    }

    /// Signs and sends `body` once; the answer's text when it is a success.
    async fn attempt(&self, operation: &'static str, body: &[u8]) -> Result<String, ConsoleError> {
        let request = self.signed_request(operation, body).await?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|error| transport_error(operation, &self.destination, &error))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|error| transport_error(operation, &self.destination, &error))?;
        match service_error(status, &text) {
            Some((code, message)) => Err(ConsoleError {
                operation,
                destination: self.destination.clone(),
                status: Some(status),
                code,
                message,
            }),
            None => Ok(text),
        }
    }

    async fn signed_request(
        &self,
        operation: &'static str,
        body: &[u8],
    ) -> Result<reqwest::Request, ConsoleError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|error| {
                ConsoleError::local(operation, &self.destination, "CredentialsError", error)
            })?;
        let identity = Identity::from(credentials);
        let target = format!("{TARGET_PREFIX}.{operation}");
        let headers = [
            ("content-type", CONTENT_TYPE),
            ("x-amz-target", target.as_str()),
        ];
        let signing_error = |error: &dyn std::fmt::Display| {
            ConsoleError::local(operation, &self.destination, "SigningError", error)
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|error| signing_error(&error))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|error| signing_error(&error))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|error| signing_error(&error))?
            .into_parts();
        let mut request = http::Request::post(self.endpoint.as_str());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut request = request
            .body(body.to_vec())
            .map_err(|error| signing_error(&error))?;
        instructions.apply_to_request_http1x(&mut request);
        reqwest::Request::try_from(request).map_err(|error| signing_error(&error))
    }
}

/// The console API endpoint: `AWS_ENDPOINT_URL_SSO_ADMIN`, else the configured endpoint override
/// (`AWS_ENDPOINT_URL`, or one set on the `SdkConfig`), each with `/control/` appended; else the
/// regional endpoint of the home region.
pub fn console_endpoint(configured: Option<&str>, region: &str) -> String {
    let from_env = |name: &str| std::env::var(name).ok();
    choose_endpoint(
        from_env("AWS_ENDPOINT_URL_SSO_ADMIN"),
        configured,
        from_env("AWS_ENDPOINT_URL"),
        region,
    )
}

fn choose_endpoint(
    service_env: Option<String>,
    configured: Option<&str>,
    global_env: Option<String>,
    region: &str,
) -> String {
    let usable = |value: &String| !value.trim().is_empty();
    let override_url = service_env
        .filter(usable)
        .or_else(|| configured.map(str::to_owned).filter(usable))
        .or_else(|| global_env.filter(usable));
    match override_url {
        Some(base) => format!("{}/control/", base.trim_end_matches('/')),
        None => {
            let dns_suffix = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            format!("https://sso.{region}.{dns_suffix}/control/")
        }
    }
}

/// AWS's error in an answer: a non-2xx status, or a 200 whose body is an error anyway (the
/// `UnknownOperationException` answered to a wrong content type).
fn service_error(status: u16, text: &str) -> Option<(String, String)> {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let success = (200..300).contains(&status);
    let error_type = body
        .get("__type")
        .or_else(|| body.pointer("/Output/__type"))
        .and_then(Value::as_str);
    if success && error_type.is_none() {
        return None;
    }
    let code = error_type
        .map(|name| name.rsplit('#').next().unwrap_or(name).to_owned())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = ["message", "Message", "/Output/message"]
        .iter()
        .find_map(|key| {
            if key.starts_with('/') {
                body.pointer(key)
            } else {
                body.get(*key)
            }
        })
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| excerpt(text));
    Some((code, message))
}

fn transport_error(
    operation: &'static str,
    destination: &Destination,
    error: &reqwest::Error,
) -> ConsoleError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    let code = if error.is_connect() {
        "ConnectionError"
    } else {
        "TransportError"
    };
    ConsoleError::local(operation, destination, code, message)
}

fn excerpt(text: &str) -> String {
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
        let (code, message) = service_error(200, body).unwrap();
        assert_eq!(code, "UnknownOperationException");
        assert_eq!(message, body);
    }

    #[test]
    fn error_types_lose_their_namespace_and_keep_the_message() {
        let body = r#"{"__type":"com.amazon.switchboard#ResourceNotFoundException","message":"no such app"}"#;
        assert_eq!(
            service_error(400, body),
            Some((
                "ResourceNotFoundException".to_owned(),
                "no such app".to_owned()
            ))
        );
        assert_eq!(
            service_error(502, "bad gateway"),
            Some(("HTTP 502".to_owned(), "bad gateway".to_owned()))
        );
        assert_eq!(service_error(200, r#"{"applicationInstances":[]}"#), None);
    }

    #[test]
    fn throttling_and_server_errors_are_retried_others_not() {
        let error = |status, code: &str| ConsoleError {
            operation: "X",
            destination: Destination::default(),
            status: Some(status),
            code: code.to_owned(),
            message: String::new(),
        };
        assert!(error(400, "ThrottlingException").is_retryable());
        assert!(error(503, "HTTP 503").is_retryable());
        assert!(error(429, "HTTP 429").is_retryable());
        assert!(!error(400, "ValidationException").is_retryable());
        assert!(!error(200, "UnknownOperationException").is_retryable());
        assert!(
            !ConsoleError::local("X", &Destination::default(), "TransportError", "reset")
                .is_retryable()
        );
    }

    #[test]
    fn the_endpoint_is_the_sso_admin_override_then_the_general_one_then_regional() {
        let env = |url: &str| Some(url.to_owned());
        assert_eq!(
            choose_endpoint(None, None, None, "eu-west-1"),
            "https://sso.eu-west-1.amazonaws.com/control/"
        );
        assert_eq!(
            choose_endpoint(None, None, None, "cn-north-1"),
            "https://sso.cn-north-1.amazonaws.com.cn/control/"
        );
        assert_eq!(
            choose_endpoint(None, Some("http://127.0.0.1:9/"), None, "eu-west-1"),
            "http://127.0.0.1:9/control/"
        );
        assert_eq!(
            choose_endpoint(
                env("http://sso:1"),
                Some("http://all:2"),
                env("http://all:3"),
                "eu-west-1"
            ),
            "http://sso:1/control/"
        );
        assert_eq!(
            choose_endpoint(env(" "), None, env("http://all:3"), "eu-west-1"),
            "http://all:3/control/"
        );
    }
}
