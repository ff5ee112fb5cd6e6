//! JSON-line logs, and keeping the ResponseURL (a bearer credential) out of them.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// The crates of this project: only they may log below INFO (see [`ceiling`]).
const OWN_CRATES: [&str; 7] = [
    "custom_resource",
    "stack_sync",
    "identity_center",
    "identity_center_app",
    "attribute_mapping",
    "saml_provider",
    "connect_user_import",
];

/// Installs JSON-line logging on stdout (where Lambda collects it). The level comes from
/// `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`, under a [`ceiling`] no setting
/// lifts. Calling it twice is harmless.
pub fn init_logging() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .map(|level| level.to_ascii_lowercase())
        .unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_filter(filter)
        .with_filter(ceiling());
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Other crates log what passes through them below INFO: lambda_runtime logs every raw event
/// (ResponseURL included) at TRACE, and the AWS SDK's request traces would show an AssumeRole's
/// ExternalId or a self-invocation's payload. Whatever `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL` say,
/// they log at INFO at most; this project's own crates, which never log an event, at any level.
///
/// The AWS SDK (every `aws_*` crate) logs nothing at all: its credential providers log an
/// AssumeRole refusal at WARN with the service's error text, which may quote the request and its
/// ExternalId. Every SDK error reaches this project's code, which reports it with that redacted.
fn ceiling() -> Targets {
    Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("aws_", LevelFilter::OFF)
        .with_targets(OWN_CRATES.map(|name| (name, LevelFilter::TRACE)))
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

/// The host of a URL, for messages about it.
pub(crate) fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|parsed| parsed.host_str().map(str::to_owned))
        .unwrap_or_else(|| "[unparseable]".to_owned())
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    #[test]
    fn only_this_projects_crates_log_below_info() {
        let ceiling = super::ceiling();
        assert!(!ceiling.would_enable("lambda_runtime", &Level::TRACE));
        assert!(!ceiling.would_enable("lambda_runtime::layers::trace", &Level::DEBUG));
        assert!(!ceiling.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!ceiling.would_enable("aws_config::sts::assume_role", &Level::WARN));
        assert!(!ceiling.would_enable("aws_sdk_sts::operation", &Level::ERROR));
        assert!(ceiling.would_enable("lambda_runtime", &Level::INFO));
        assert!(ceiling.would_enable("custom_resource::dispatch", &Level::TRACE));
        assert!(ceiling.would_enable("connect_user_import::execute", &Level::DEBUG));
    }

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
