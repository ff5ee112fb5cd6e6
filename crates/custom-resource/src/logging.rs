//! JSON-line logs, and keeping the ResponseURL (a bearer credential) out of them.

use tracing_subscriber::EnvFilter;

/// Installs JSON-line logging on stdout (where Lambda collects it). The level comes from
/// `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`. Calling it twice is harmless.
pub fn init_logging() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .map(|level| level.to_ascii_lowercase())
        .unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .try_init();
}

/// What may be logged of a URL: its scheme and host. The path and query of a pre-signed URL
/// authorise writing the response, so they are never shown.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}/[redacted]",
            parsed.scheme(),
            parsed.host_str().unwrap_or("[no host]")
        ),
        Err(_) => "[unparseable URL]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redaction_keeps_only_scheme_and_host() {
        let shown = super::redact_url(
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3A/x?X-Amz-Signature=abc123&X-Amz-Credential=AKIA",
        );
        assert_eq!(
            shown,
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/[redacted]"
        );
        assert_eq!(super::redact_url("not a url abc123"), "[unparseable URL]");
    }
}
