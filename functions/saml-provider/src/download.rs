//! Fetching the metadata document: https only, from an IAM Identity Center portal host only, no
//! redirect to another host, bounded in time, size and redirects, retried on server and network
//! errors. The metadata carries the certificates IAM will trust for sign-in to the account, so
//! where it comes from is as important as what it says.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable;
use https_client::retry;
use reqwest::StatusCode;
use url::Url;

/// The local-testing switch: with `true`, metadata URLs may use plain http and any host (a local
/// server standing in for Identity Center). Honoured only by debug builds running outside Lambda
/// (see [`custom_resource::test_switch`]): the shipped binaries are release builds, and inside
/// Lambda the switch is ignored whatever the build.
pub const ALLOW_HTTP_ENV: &str = "CONNECT_SSO_ALLOW_HTTP_METADATA";

/// The longest wait between two attempts (the deadline usually ends the retries first).
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// How metadata is downloaded. [`Default`] is what the Lambda function uses.
#[derive(Debug, Clone)]
pub struct MetadataDownload {
    /// Local testing (see [`ALLOW_HTTP_ENV`]): accept `http://` URLs and hosts other than Identity
    /// Center's portal. Off in production: metadata carries the certificates IAM will trust, so it
    /// must come over TLS from Identity Center.
    pub allow_http: bool,
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of an answer.
    pub read_timeout: Duration,
    /// Longest time for one attempt, answer included.
    pub attempt_timeout: Duration,
    /// Largest document accepted; reading stops as soon as it is exceeded.
    pub max_bytes: usize,
    pub max_redirects: usize,
    /// Attempts in all (the first one included) on 5xx answers and network errors.
    pub attempts: u32,
    /// Ceiling of the wait before the first retry; doubled before each further one (full jitter).
    pub first_backoff: Duration,
}

impl Default for MetadataDownload {
    fn default() -> Self {
        Self {
            allow_http: false,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(30),
            // Real metadata is a few kilobytes; IAM's own limit is far above anything sane.
            max_bytes: 1024 * 1024,
            max_redirects: 3,
            attempts: 4,
            first_backoff: Duration::from_millis(500),
        }
    }
}

/// One failed attempt, and whether another one could succeed.
struct AttemptFailed {
    message: String,
    retryable: bool,
}

impl MetadataDownload {
    /// The defaults, with [`ALLOW_HTTP_ENV`] read from the environment.
    pub fn from_env() -> Self {
        let allow_http = custom_resource::test_switch(ALLOW_HTTP_ENV, true);
        Self {
            allow_http,
            ..Self::default()
        }
    }

    /// Downloads the document at `url` (the value of the `MetadataUrl` property), giving up in
    /// time for `respond_by`. Errors name the URL's host and, for an HTTP answer, its status.
    pub async fn fetch(&self, url: &str, respond_by: Instant) -> anyhow::Result<String> {
        let url = self.checked_url(url)?;
        let host = host_of(&url);
        let client = self.client()?;
        let attempts = AtomicU32::new(0);
        let download = || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            let time_left = respond_by.saturating_duration_since(Instant::now());
            self.attempt(&client, &url, &host, time_left).await
        };
        // A retry only when its wait and a connection attempt still fit before the deadline.
        let retries = self.attempts.saturating_sub(1) as usize;
        download
            .retry(retry::until(
                retry::jittered(self.first_backoff, LONGEST_WAIT, retries),
                respond_by,
                self.connect_timeout,
            ))
            .when(|failure| failure.retryable)
            .notify(|failure, _| {
                let attempt = attempts.load(Ordering::Relaxed);
                tracing::warn!(%host, attempt, problem = %failure.message, "metadata download failed; retrying");
            })
            .await
            .map_err(|failure| {
                let tries = match attempts.load(Ordering::Relaxed) {
                    1 => String::new(),
                    attempts => format!(" (after {attempts} attempts)"),
                };
                anyhow::anyhow!(
                    "downloading the metadata from {host} failed{tries}: {}",
                    failure.message
                )
            })
    }

    fn checked_url(&self, text: &str) -> anyhow::Result<Url> {
        let url = Url::parse(text.trim()).map_err(|error| {
            anyhow::anyhow!(
                "invalid property MetadataUrl: not a URL ({error}); expected https://host/path"
            )
        })?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => anyhow::bail!(
                "invalid property MetadataUrl: https is required, got a plain http URL (host {}); \
                 plain http is accepted only for local testing (a debug build outside Lambda, with {ALLOW_HTTP_ENV}=true)",
                host_of(&url)
            ),
            other => anyhow::bail!(
                "invalid property MetadataUrl: https is required, got the scheme {other}:"
            ),
        }
        match url.host() {
            None | Some(url::Host::Domain("")) => anyhow::bail!(
                "invalid property MetadataUrl: the URL has no host; expected https://host/path"
            ),
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) if !self.allow_http => anyhow::bail!(
                "invalid property MetadataUrl: the host {} is an IP address; expected an IAM Identity Center \
                 metadata URL, https://portal.sso.<region>.amazonaws.com/saml/metadata/...",
                host_of(&url)
            ),
            Some(host) if !self.allow_http && !is_identity_center_portal(&host.to_string()) => {
                anyhow::bail!(
                    "invalid property MetadataUrl: the host {} is not IAM Identity Center's; expected \
                     https://portal.sso.<region>.amazonaws.com/saml/metadata/... (.amazonaws.com.cn in China), \
                     the application's MetadataUrl",
                    host_of(&url)
                )
            }
            Some(_) => {}
        }
        if url.port().is_some() && !self.allow_http {
            anyhow::bail!(
                "invalid property MetadataUrl: the URL names a port ({}); Identity Center's portal uses none",
                host_of(&url)
            );
        }
        Ok(url)
    }

    fn client(&self) -> anyhow::Result<reqwest::Client> {
        let max_redirects = self.max_redirects;
        let allow_http = self.allow_http;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            let from_host = attempt
                .previous()
                .first()
                .and_then(|first| first.host_str().map(str::to_ascii_lowercase));
            let to_host = attempt.url().host_str().map(str::to_ascii_lowercase);
            if from_host != to_host {
                let target = host_of(attempt.url());
                attempt.error(format!(
                    "a redirect to another host ({target}) is refused: the metadata must come from the URL's own host"
                ))
            } else if attempt.previous().len() > max_redirects {
                let status = attempt.status();
                attempt.error(format!(
                    "more than {max_redirects} redirects (the last answer was HTTP {status})"
                ))
            } else if attempt.url().scheme() != "https"
                && !(allow_http && attempt.url().scheme() == "http")
            {
                let target = host_of(attempt.url());
                attempt.error(format!("a redirect to {target} leaves https"))
            } else {
                attempt.follow()
            }
        });
        https_client::reqwest_builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .redirect(redirects)
            .user_agent(concat!(
                "connect-sso-saml-provider/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|error| anyhow::anyhow!("cannot build the HTTP client: {}", chain(&error)))
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        url: &Url,
        host: &str,
        time_left: Duration,
    ) -> Result<String, AttemptFailed> {
        let request = client
            .get(url.clone())
            .timeout(self.attempt_timeout.min(time_left));
        let mut response = request.send().await.map_err(network_failure)?;
        let status = response.status();
        if !status.is_success() {
            return Err(AttemptFailed {
                message: format!("HTTP {status} from {}", host_of(response.url())),
                retryable: status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
            });
        }
        let limit = self.max_bytes;
        let too_large = |seen: String| AttemptFailed {
            message: format!(
                "the document is larger than the {} limit ({seen})",
                size(limit)
            ),
            retryable: false,
        };
        if let Some(length) = response
            .content_length()
            .filter(|length| *length > limit as u64)
        {
            return Err(too_large(format!("Content-Length {length}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network_failure)? {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(too_large(format!(
                    "stopped reading after {} bytes",
                    body.len()
                )));
            }
        }
        tracing::info!(%host, bytes = body.len(), "metadata downloaded");
        String::from_utf8(body).map_err(|_| AttemptFailed {
            message: "the document is not UTF-8 text".to_owned(),
            retryable: false,
        })
    }
}

fn network_failure(error: reqwest::Error) -> AttemptFailed {
    // A redirect refused by the policy will not go better the next time.
    let retryable = !error.is_redirect() && !error.is_builder();
    AttemptFailed {
        message: chain(&error.without_url()),
        retryable,
    }
}

/// An error and its causes on one line, without repeats (reqwest nests the same text).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// Whether `host` is an IAM Identity Center portal: `portal.sso.<region>.amazonaws.com`, or
/// `portal.sso.<region>.amazonaws.com.cn` in the China Regions.
pub fn is_identity_center_portal(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let Some(rest) = host.strip_prefix("portal.sso.") else {
        return false;
    };
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"));
    region.is_some_and(is_region_code)
}

/// `us-east-1`, `cn-north-1`, `us-gov-west-1`, `ap-southeast-5`...
fn is_region_code(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// The host (and port) of a URL given as text, for messages.
pub(crate) fn host_of_text(url: &str) -> String {
    Url::parse(url.trim())
        .map(|url| host_of(&url))
        .unwrap_or_else(|_| "<not a URL>".to_owned())
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => "<no host>".to_owned(),
    }
}

fn size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_needs_the_switch_and_other_schemes_never_pass() {
        let strict = MetadataDownload::default();
        let error = strict
            .checked_url("http://idp.example/metadata")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("https is required") && error.contains("idp.example"),
            "{error}"
        );
        assert!(error.contains(ALLOW_HTTP_ENV), "{error}");
        let local = MetadataDownload {
            allow_http: true,
            ..MetadataDownload::default()
        };
        assert!(local.checked_url("http://127.0.0.1:8080/m").is_ok());
        let error = local
            .checked_url("file:///etc/passwd")
            .unwrap_err()
            .to_string();
        assert!(error.contains("scheme file"), "{error}");
        let error = strict.checked_url("metadata.xml").unwrap_err().to_string();
        assert!(error.contains("not a URL"), "{error}");
    }

    #[test]
    fn only_identity_center_portal_hosts_pass_without_the_switch() {
        let strict = MetadataDownload::default();
        for url in [
            "https://portal.sso.us-east-1.amazonaws.com/saml/metadata/abc",
            "https://portal.sso.us-gov-west-1.amazonaws.com/saml/metadata/abc",
            "https://portal.sso.cn-north-1.amazonaws.com.cn/saml/metadata/abc",
        ] {
            assert!(strict.checked_url(url).is_ok(), "{url}");
        }
        for (url, problem) in [
            (
                "https://idp.attacker.example/metadata",
                "not IAM Identity Center's",
            ),
            (
                "https://portal.sso.us-east-1.amazonaws.com.attacker.example/m",
                "not IAM Identity Center's",
            ),
            (
                "https://evil.portal.sso.us-east-1.amazonaws.com/m",
                "not IAM Identity Center's",
            ),
            (
                "https://portal.sso.amazonaws.com/m",
                "not IAM Identity Center's",
            ),
            ("https://10.0.0.8/saml/metadata/x", "IP address"),
            ("https://[::1]/saml/metadata/x", "IP address"),
            ("https://portal.sso.us-east-1.amazonaws.com:8443/m", "port"),
        ] {
            let error = strict.checked_url(url).unwrap_err().to_string();
            assert!(error.contains(problem), "{url}: {error}");
        }
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(1024 * 1024), "1 MiB");
        assert_eq!(size(1500), "1500 bytes");
    }
}
