//! What both APIs share on the wire: the JSON 1.1 content type, the SigV4 `Authorization` header
//! checks, AWS-shaped errors and request parsing.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) const JSON_1_1: &str = "application/x-amz-json-1.1";

/// SigV4 signing name of both the console API and sso-admin (docs/identity-center-console-api.md §1, HIGH).
pub(crate) const SIGNING_SERVICE: &str = "sso";

/// Coral's namespace for transport-level errors (unknown operation, authentication).
const CORAL_NAMESPACE: &str = "com.amazon.coral.service";

/// Namespace put in front of the console API's own error types. ASSUMPTION (LOW): the console-API notes
/// only says `__type` is "possibly namespaced; take the part after `#`"; this namespace is inferred
/// from the fully qualified targets `com.amazon.switchboard.service.SWBService.<Op>` ([APILIB]).
const CONSOLE_NAMESPACE: &str = "com.amazon.switchboard.service";

/// The two APIs served on one port.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Api {
    /// SWBService at `/control/`.
    Console,
    /// SWBExternalService (public sso-admin) at `/`.
    SsoAdmin,
}

impl Api {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Api::Console => "console",
            Api::SsoAdmin => "sso-admin",
        }
    }

    pub(crate) fn target_prefix(self) -> &'static str {
        match self {
            Api::Console => "SWBService.",
            Api::SsoAdmin => "SWBExternalService.",
        }
    }
}

/// An error answered in the AWS JSON shape `{"__type": ..., "message": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// A modelled error of the operation (ValidationException, ConflictException...).
    Service(&'static str),
    /// A Coral transport error (UnknownOperationException, authentication errors).
    Coral(&'static str),
    /// `com.amazon.coral.availability#ThrottlingException` on the console API, `ThrottlingException`
    /// on sso-admin.
    Throttling,
}

impl ApiError {
    pub(crate) fn new(status: u16, kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(400, ErrorKind::Service("ValidationException"), message)
    }
    // assumption: not-found-error-types
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(
            400,
            ErrorKind::Service("ResourceNotFoundException"),
            message,
        )
    }
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(400, ErrorKind::Service("ConflictException"), message)
    }

    /// The `__type` value as the given API spells it.
    pub(crate) fn type_name(&self, api: Api) -> String {
        match (self.kind, api) {
            (ErrorKind::Service(name), Api::Console) => format!("{CONSOLE_NAMESPACE}#{name}"),
            (ErrorKind::Service(name), Api::SsoAdmin) => name.to_string(),
            (ErrorKind::Coral(name), _) => format!("{CORAL_NAMESPACE}#{name}"),
            (ErrorKind::Throttling, Api::Console) => {
                "com.amazon.coral.availability#ThrottlingException".to_string()
            }
            (ErrorKind::Throttling, Api::SsoAdmin) => "ThrottlingException".to_string(),
        }
    }

    pub(crate) fn body(&self, api: Api) -> Value {
        serde_json::json!({ "__type": self.type_name(api), "message": self.message })
    }
}

/// The body Coral answers, with HTTP 200, when the content type is not JSON 1.1 (docs/identity-center-console-api.md §1,
/// MED: one observation with `application/json`).
pub(crate) fn unknown_operation_200_body() -> Value {
    serde_json::json!({
        "Output": { "__type": "com.amazon.coral.service#UnknownOperationException" },
        "Version": "1.0"
    })
}

/// Header names lower-cased; repeated headers joined with ", ".
pub(crate) fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        map.entry(name.as_str().to_ascii_lowercase())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    map
}

/// The media type of `Content-Type`, without parameters, lower-cased.
pub(crate) fn media_type(headers: &BTreeMap<String, String>) -> Option<String> {
    headers.get("content-type").map(|value| {
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

/// The parts of a SigV4 `Authorization` header the emulator checks. The signature itself is not
/// verified (the emulator does not know the secret key).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SigV4 {
    /// The scope's Region: the console API acts on the instance whose home Region it is.
    pub region: String,
    /// The credential's access key id: who signed.
    pub access_key_id: String,
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(
        400,
        ErrorKind::Coral("IncompleteSignatureException"),
        message,
    )
}

/// Checks `Authorization` (and `X-Amz-Date`) the way AWS rejects unsigned or mis-scoped calls,
/// and returns the credential scope.
pub(crate) fn check_sigv4(headers: &BTreeMap<String, String>) -> Result<SigV4, ApiError> {
    let Some(authorization) = headers.get("authorization") else {
        return Err(ApiError::new(
            403,
            ErrorKind::Coral("MissingAuthenticationTokenException"),
            "Missing Authentication Token",
        ));
    };
    let Some(fields) = authorization.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(incomplete(format!(
            "Authorization header must start with 'AWS4-HMAC-SHA256 ' (SigV4); got '{}'",
            authorization.split(' ').next().unwrap_or_default()
        )));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in fields.split(',') {
        let (key, value) = field.trim().split_once('=').unwrap_or((field.trim(), ""));
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(incomplete(format!(
            "Credential '{credential}' must have the form <access key>/<yyyymmdd>/<region>/<service>/aws4_request"
        )));
    };
    if access_key_id.is_empty() || region.is_empty() || terminator != "aws4_request" {
        return Err(incomplete(format!(
            "Credential '{credential}' must have the form <access key>/<yyyymmdd>/<region>/<service>/aws4_request"
        )));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(format!(
            "Credential date '{date}' is not yyyymmdd"
        )));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(incomplete("Signature must be 64 hexadecimal characters"));
    }
    if !signed_headers.split(';').any(|h| h == "host") {
        return Err(incomplete(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let Some(amz_date) = headers.get("x-amz-date") else {
        return Err(incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    if !amz_date.starts_with(date) {
        return Err(ApiError::new(
            403,
            ErrorKind::Coral("InvalidSignatureException"),
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{amz_date}'"
            ),
        ));
    }
    if service != SIGNING_SERVICE {
        return Err(ApiError::new(
            403,
            ErrorKind::Coral("InvalidSignatureException"),
            format!("Credential should be scoped to correct service: '{SIGNING_SERVICE}'. "),
        ));
    }
    Ok(SigV4 {
        region: region.to_string(),
        access_key_id: access_key_id.to_string(),
    })
}

/// Parses an operation's request into its typed shape; unknown members, missing required members
/// and wrong types are a ValidationException naming the member.
pub(crate) fn parse<T: DeserializeOwned>(operation: &str, body: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body.clone()).map_err(|error| {
        let path = error.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at '{path}'")
        };
        ApiError::validation(format!(
            "Invalid {operation} request{at}: {}",
            error.into_inner()
        ))
    })
}

/// 16 lowercase hex characters, as in `ins-`, `apl-` and `ssoins-` ids.
pub(crate) fn random_hex(len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}

pub(crate) fn now_epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or_default()
}

/// Page tokens are opaque to clients; here they are the offset of the next item.
pub(crate) fn page<T: Clone>(
    items: &[T],
    token: Option<&str>,
    page_size: usize,
    token_name: &str,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match token {
        None => 0,
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ApiError::validation(format!("Invalid {token_name}: '{token}'")))?,
    };
    let end = (start + page_size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| format!("page-{end}"));
    Ok((items[start..end].to_vec(), next))
}
