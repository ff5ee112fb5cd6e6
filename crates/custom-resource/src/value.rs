//! Property values that cannot be invalid: a property declared with one of these types is checked
//! while it is deserialised, so the error names the property (the core's path-aware parse) and
//! says what is accepted, and the handler never checks it again.
//!
//! ARNs, account ids and region names are in the `arn` crate; types that belong to one service
//! (a session duration, a subject format) live next to it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Text with something in it, surrounding blanks removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct NonBlank(String);

impl NonBlank {
    /// A default written in the code (never from a request): `text` must not be blank.
    pub fn literal(text: &'static str) -> Self {
        debug_assert!(!text.trim().is_empty(), "a blank NonBlank literal");
        Self(text.trim().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for NonBlank {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl TryFrom<String> for NonBlank {
    type Error = &'static str;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            Err("it must not be empty")
        } else if trimmed.len() == text.len() {
            Ok(Self(text))
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }
}

impl From<NonBlank> for String {
    fn from(value: NonBlank) -> String {
        value.0
    }
}

impl std::ops::Deref for NonBlank {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NonBlank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An `https://` URL with a host, kept as written (surrounding blanks removed).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpsUrl(String);

impl HttpsUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HttpsUrl {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim();
        match url::Url::parse(text) {
            Ok(url) if url.scheme() == "https" && url.host_str().is_some() => {
                Ok(Self(text.to_owned()))
            }
            _ => Err(format!("'{text}' is not an https URL (https://<host>/…)")),
        }
    }
}

impl From<HttpsUrl> for String {
    fn from(value: HttpsUrl) -> String {
        value.0
    }
}

impl fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_blank_text_is_trimmed_and_blank_text_refused() {
        let name: NonBlank = serde_json::from_value(json!("  Connect ")).unwrap();
        assert_eq!(name.as_str(), "Connect");
        for blank in ["", "   ", "\t"] {
            let error = serde_json::from_value::<NonBlank>(json!(blank))
                .unwrap_err()
                .to_string();
            assert!(error.contains("it must not be empty"), "{error}");
        }
    }

    #[test]
    fn only_https_urls_with_a_host_are_accepted() {
        let url: HttpsUrl = serde_json::from_value(json!(
            " https://eu-west-1.console.aws.amazon.com/connect/federate/1 "
        ))
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://eu-west-1.console.aws.amazon.com/connect/federate/1"
        );
        for bad in [
            "http://example.com/connect",
            "connect/federate/1",
            "https://",
            "ftp://x/y",
        ] {
            let error = serde_json::from_value::<HttpsUrl>(json!(bad))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(&format!("'{bad}' is not an https URL")),
                "{error}"
            );
        }
    }
}
