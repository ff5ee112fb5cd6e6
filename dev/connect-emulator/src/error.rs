//! AWS-shaped errors of the Connect REST-JSON protocol.
//!
//! The SDK reads the error code from the `x-amzn-ErrorType` header (falling back to `__type` or
//! `code` in the body) and the message from `Message`/`message`; we send both forms.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    DuplicateResource,
    InternalService,
    InvalidParameter,
    InvalidRequest,
    LimitExceeded,
    ResourceNotFound,
    Throttling,
    /// A route this emulator does not serve (the real service answers 404 UnknownOperationException).
    UnknownOperation,
}

impl ErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::DuplicateResource => "DuplicateResourceException",
            ErrorKind::InternalService => "InternalServiceException",
            ErrorKind::InvalidParameter => "InvalidParameterException",
            ErrorKind::InvalidRequest => "InvalidRequestException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::Throttling => "ThrottlingException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
        }
    }

    /// HTTP status codes as in the API model (`@httpError` traits).
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::DuplicateResource => StatusCode::CONFLICT,
            ErrorKind::InternalService => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::InvalidParameter | ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::LimitExceeded | ErrorKind::Throttling => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::ResourceNotFound | ErrorKind::UnknownOperation => StatusCode::NOT_FOUND,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceNotFound, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "__type": self.kind.code(), "Message": self.message });
        let mut response = (self.kind.status(), axum::Json(body)).into_response();
        response.headers_mut().insert(
            "x-amzn-ErrorType",
            HeaderValue::from_static(self.kind.code()),
        );
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
