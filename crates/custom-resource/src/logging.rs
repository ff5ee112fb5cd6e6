//! JSON-line logs, and keeping the ResponseURL (a bearer credential) out of them.

use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

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
/// `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info` ([`requested`]), under a
/// [`ceiling`] no setting lifts. Calling it twice is harmless.
pub fn init_logging() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_filter(requested(rust_log.as_deref(), lambda_level.as_deref()))
        .with_filter(ceiling());
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The levels asked for: `rust_log` when it parses (comma-separated `level` or `target=level`
/// directives, e.g. `info,connect_user_import=debug`; span and field filters are not supported),
/// else Lambda's log level (`TRACE` … `ERROR`; `FATAL`, which tracing does not have, counts as
/// `ERROR`), else INFO.
fn requested(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    if let Some(targets) = rust_log.and_then(|directives| directives.parse::<Targets>().ok()) {
        return targets;
    }
    let level = match lambda_level.map(str::to_ascii_uppercase).as_deref() {
        Some("FATAL") => LevelFilter::ERROR,
        Some(level) => level.parse().unwrap_or(LevelFilter::INFO),
        None => LevelFilter::INFO,
    };
    Targets::new().with_default(level)
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
    fn the_level_comes_from_rust_log_else_lambdas_setting_else_info() {
        use super::requested;
        let own = "connect_user_import::execute";
        let trace = requested(Some("trace"), Some("ERROR"));
        assert!(trace.would_enable(own, &Level::TRACE));
        let mixed = requested(Some("warn,connect_user_import=debug"), None);
        assert!(mixed.would_enable(own, &Level::DEBUG));
        assert!(!mixed.would_enable(own, &Level::TRACE));
        assert!(!mixed.would_enable("custom_resource::dispatch", &Level::INFO));
        assert!(mixed.would_enable("custom_resource::dispatch", &Level::WARN));
        // Lambda's setting when RUST_LOG is absent or does not parse.
        for rust_log in [None, Some("info,[span{field=1}]=x")] {
            let lambda = requested(rust_log, Some("DEBUG"));
            assert!(lambda.would_enable(own, &Level::DEBUG), "{rust_log:?}");
            assert!(!lambda.would_enable(own, &Level::TRACE), "{rust_log:?}");
        }
        let fatal = requested(None, Some("FATAL"));
        assert!(fatal.would_enable(own, &Level::ERROR));
        assert!(!fatal.would_enable(own, &Level::WARN));
        let default = requested(None, None);
        assert!(default.would_enable(own, &Level::INFO));
        assert!(!default.would_enable(own, &Level::DEBUG));
        assert!(!requested(None, Some("nonsense")).would_enable(own, &Level::DEBUG));
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
