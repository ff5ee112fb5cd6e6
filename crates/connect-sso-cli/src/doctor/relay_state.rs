//! Connect's relay state: `https://<region>.console.aws.amazon.com/connect/federate/<instance-id>`
//! (GovCloud: `https://console.amazonaws-us-gov.com/connect/federate/<instance-id>`), optionally
//! with a URL-encoded `destination` and `new_domain=true` (sources: docs/template.md, "Relay state").

use url::Url;

const GOVCLOUD_HOST: &str = "console.amazonaws-us-gov.com";
const CONSOLE_SUFFIX: &str = ".console.aws.amazon.com";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayState {
    /// The region in the host; `None` for the GovCloud console (one host for its regions).
    pub region: Option<String>,
    pub instance_id: String,
    /// The `destination` parameter exactly as written (still encoded).
    pub destination: Option<String>,
    pub new_domain: bool,
}

impl RelayState {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text.trim()).map_err(|error| format!("is not a URL ({error})"))?;
        if url.scheme() != "https" {
            return Err(format!("uses {}://, not https://", url.scheme()));
        }
        let host = url.host_str().unwrap_or_default();
        let region = if host == GOVCLOUD_HOST {
            None
        } else {
            match host.strip_suffix(CONSOLE_SUFFIX) {
                Some(region) if !region.is_empty() && !region.contains('.') => {
                    Some(region.to_owned())
                }
                _ => {
                    return Err(format!(
                        "has the host {host}; Connect's federation URL is on <region>{CONSOLE_SUFFIX}"
                    ));
                }
            }
        };
        let instance_id = url
            .path()
            .strip_prefix("/connect/federate/")
            .map(|rest| rest.trim_end_matches('/'))
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .ok_or_else(|| {
                format!(
                    "has the path {}; expected /connect/federate/<instance-id>",
                    url.path()
                )
            })?
            .to_owned();
        let mut destination = None;
        let mut new_domain = false;
        for pair in url.query().unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "destination" => destination = Some(value.to_owned()),
                "new_domain" => new_domain = value.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        Ok(Self {
            region,
            instance_id,
            destination,
            new_domain,
        })
    }
}

/// The relay state that lands in `instance_id` of `region`, keeping a destination (encoded).
pub fn expected(
    region: &str,
    instance_id: &str,
    destination: Option<&str>,
    new_domain: bool,
) -> String {
    let host = if region.starts_with("us-gov-") {
        GOVCLOUD_HOST.to_owned()
    } else {
        format!("{region}{CONSOLE_SUFFIX}")
    };
    let mut query = Vec::new();
    if let Some(destination) = destination.filter(|d| !d.is_empty()) {
        query.push(format!("destination={}", encode_destination(destination)));
    }
    if new_domain {
        query.push("new_domain=true".to_owned());
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    format!("https://{host}/connect/federate/{instance_id}{query}")
}

/// A destination path URL-encoded as Connect expects (`/ccp-v2` → `%2Fccp-v2`).
pub fn encode_destination(destination: &str) -> String {
    destination.replace('/', "%2F")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_region_instance_and_parameters() {
        let state = RelayState::parse(
            "https://eu-west-2.console.aws.amazon.com/connect/federate/abc-123?destination=%2Fccp-v2&new_domain=true",
        )
        .unwrap();
        assert_eq!(state.region.as_deref(), Some("eu-west-2"));
        assert_eq!(state.instance_id, "abc-123");
        assert_eq!(state.destination.as_deref(), Some("%2Fccp-v2"));
        assert!(state.new_domain);
        let govcloud =
            RelayState::parse("https://console.amazonaws-us-gov.com/connect/federate/x").unwrap();
        assert_eq!(govcloud.region, None);
    }

    #[test]
    fn refuses_what_connect_would_not_federate_into() {
        for (text, problem) in [
            ("not a url", "is not a URL"),
            (
                "http://us-east-1.console.aws.amazon.com/connect/federate/x",
                "https",
            ),
            ("https://example.com/connect/federate/x", "host"),
            (
                "https://us-east-1.console.aws.amazon.com/connect/home",
                "/connect/federate/<instance-id>",
            ),
        ] {
            let error = RelayState::parse(text).unwrap_err();
            assert!(error.contains(problem), "{text}: {error}");
        }
    }

    #[test]
    fn builds_the_right_one() {
        assert_eq!(
            expected("us-east-1", "i", Some("/ccp-v2/chat"), true),
            "https://us-east-1.console.aws.amazon.com/connect/federate/i?destination=%2Fccp-v2%2Fchat&new_domain=true"
        );
        assert_eq!(
            expected("us-gov-west-1", "i", None, false),
            "https://console.amazonaws-us-gov.com/connect/federate/i"
        );
    }
}
