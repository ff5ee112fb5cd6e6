//! The console control-plane API (SWBService): hand-built JSON 1.1 requests, SigV4-signed for
//! service `sso` in the Identity Center home region, retried on throttling and server errors.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use backon::Retryable;
use https_client::retry;
use https_client::signed::{self, CallError, Service, SignedClient, excerpt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::access::Destination;
use crate::model::*;

/// The SigV4 signing name of both Identity Center APIs.
pub const SIGNING_NAME: &str = "sso";
/// Where the console API is: the sso-admin API's host (and its `AWS_ENDPOINT_URL_SSO_ADMIN`
/// override), under [`CONSOLE_PATH`].
const SSO: Service = Service {
    signing_name: SIGNING_NAME,
    endpoint_prefix: "sso",
    endpoint_env: "SSO_ADMIN",
};
const CONSOLE_PATH: &str = "/control/";
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
        signed::is_retryable(self.status, &self.code)
    }

    fn from_call(operation: &'static str, destination: &Destination, error: CallError) -> Self {
        Self {
            operation,
            destination: destination.clone(),
            status: error.status,
            code: error.code,
            message: error.message,
        }
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
    signed: SignedClient,
    endpoint: String,
    retry: RetryPolicy,
    /// No retry is waited for past this (the request's deadline), when one is set.
    deadline: Option<Instant>,
    destination: Destination,
}

impl ConsoleClient {
    /// A client for the region, credentials and endpoint override of `config`: the sso-admin
    /// endpoint (`AWS_ENDPOINT_URL_SSO_ADMIN`, the configured override, or the regional one)
    /// with `/control/` appended.
    pub fn new(config: &SdkConfig) -> anyhow::Result<Self> {
        let signed = SignedClient::new(config, SSO)
            .map_err(|error| anyhow::anyhow!("the Identity Center console API: {error}"))?;
        Ok(Self {
            endpoint: format!("{}{CONSOLE_PATH}", signed.endpoint()),
            destination: Destination {
                region: signed.region().to_owned(),
                ..Destination::default()
            },
            signed,
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
        self.signed.region()
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
        let target = format!("{TARGET_PREFIX}.{operation}");
        let headers = [("content-type", CONTENT_TYPE), ("x-amz-target", &target)];
        self.signed
            .send("POST", CONSOLE_PATH, &headers, body)
            .await
            .map_err(|error| ConsoleError::from_call(operation, &self.destination, error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
