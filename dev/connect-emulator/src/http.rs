//! The HTTP face: Connect's REST-JSON routes, each request counted, then throttled or failed as
//! the options say, and only then served.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use crate::error::{ApiError, ErrorKind};
use crate::ops::{self, Reply};
use crate::paging::Query;
use crate::state::Account;
use crate::throttle::TokenBucket;

pub struct Shared {
    state: Mutex<Account>,
}

type Ctx = State<Arc<Shared>>;

impl Shared {
    pub fn new(state: Account) -> Shared {
        Shared {
            state: Mutex::new(state),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Account> {
        // A panic while holding the lock leaves consistent data (each change is one assignment).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn serve(
        &self,
        operation: &str,
        handle: impl FnOnce(&mut Account, Instant) -> Reply,
    ) -> Response {
        let mut state = self.lock();
        let now = state.now();
        let result = admit(&mut state, operation, now).and_then(|()| handle(&mut state, now));
        drop(state);
        let mut response = match result {
            Ok(Some(body)) => axum::Json(body).into_response(),
            Ok(None) => StatusCode::OK.into_response(),
            Err(error) => {
                tracing::debug!(operation, code = error.kind.code(), message = %error.message, "error");
                error.into_response()
            }
        };
        *self
            .lock()
            .answer_counts
            .entry((operation.to_owned(), response.status().as_u16()))
            .or_default() += 1;
        let request_id = format!("{:032x}", fastrand::u128(..));
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-amzn-RequestId", value);
        }
        tracing::debug!(operation, status = response.status().as_u16(), "served");
        response
    }
}

/// Counts the call, then applies the throttle and the injected server errors, in that order:
/// a throttled or failed request has changed nothing, so retrying it is always safe.
fn admit(state: &mut Account, operation: &str, now: Instant) -> Result<(), ApiError> {
    *state.call_counts.entry(operation.to_owned()).or_default() += 1;
    if let Some(quota) = state.options.throttle.clone() {
        let bucket = state
            .buckets
            .entry(operation.to_owned())
            .or_insert_with(|| TokenBucket::full(&quota, now));
        if !bucket.try_take(&quota, now) {
            return Err(ApiError::new(ErrorKind::Throttling, "Rate exceeded"));
        }
    }
    if state.refused.contains(operation) {
        return Err(ApiError::new(
            ErrorKind::InvalidRequest,
            "The request is not valid (refused by the test).",
        ));
    }
    let rate = state.options.server_error_rate;
    if rate > 0.0 && state.fault_rng.f64() < rate {
        return Err(ApiError::new(
            ErrorKind::InternalService,
            "Request processing failed because of an error or failure with the service.",
        ));
    }
    Ok(())
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/instance", put(create_instance).get(list_instances))
        .route(
            "/instance/{instance}",
            get(describe_instance).delete(delete_instance),
        )
        .route(
            "/security-profiles-summary/{instance}",
            get(list_security_profiles),
        )
        .route(
            "/routing-profiles-summary/{instance}",
            get(list_routing_profiles),
        )
        .route("/users/{instance}", put(create_user))
        .route(
            "/users/{instance}/{user}",
            get(describe_user).delete(delete_user),
        )
        .route(
            "/users/{instance}/{user}/identity-info",
            post(update_user_identity_info),
        )
        .route(
            "/users/{instance}/{user}/phone-config",
            post(update_user_phone_config),
        )
        .route(
            "/users/{instance}/{user}/security-profiles",
            post(update_user_security_profiles),
        )
        .route(
            "/users/{instance}/{user}/routing-profile",
            post(update_user_routing_profile),
        )
        .route("/users-summary/{instance}", get(list_users))
        .route("/search-users", post(search_users))
        .route(
            "/tags/{arn}",
            post(tag_resource)
                .delete(untag_resource)
                .get(list_tags_for_resource),
        )
        .fallback(unknown_operation)
        .with_state(shared)
}

async fn unknown_operation(request: axum::extract::Request) -> Response {
    tracing::warn!(method = %request.method(), path = %request.uri().path(), "not emulated");
    ApiError::new(
        ErrorKind::UnknownOperation,
        format!(
            "{} {} is not an operation this emulator serves",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}

async fn create_instance(State(s): Ctx, body: Bytes) -> Response {
    s.serve("CreateInstance", |st, _| ops::create_instance(st, &body))
}

async fn list_instances(State(s): Ctx, RawQuery(query): RawQuery) -> Response {
    let query = Query::parse(query.as_deref());
    s.serve("ListInstances", |st, _| ops::list_instances(st, &query))
}

async fn describe_instance(State(s): Ctx, Path(instance): Path<String>) -> Response {
    s.serve("DescribeInstance", |st, _| {
        ops::describe_instance(st, &instance)
    })
}

async fn delete_instance(State(s): Ctx, Path(instance): Path<String>) -> Response {
    s.serve("DeleteInstance", |st, _| {
        ops::delete_instance(st, &instance)
    })
}

async fn list_security_profiles(
    State(s): Ctx,
    Path(instance): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = Query::parse(query.as_deref());
    s.serve("ListSecurityProfiles", |st, _| {
        ops::list_profiles(st, &instance, &query, true)
    })
}

async fn list_routing_profiles(
    State(s): Ctx,
    Path(instance): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = Query::parse(query.as_deref());
    s.serve("ListRoutingProfiles", |st, _| {
        ops::list_profiles(st, &instance, &query, false)
    })
}

async fn create_user(State(s): Ctx, Path(instance): Path<String>, body: Bytes) -> Response {
    s.serve("CreateUser", |st, now| {
        ops::create_user(st, now, &instance, &body)
    })
}

async fn describe_user(State(s): Ctx, Path((instance, user)): Path<(String, String)>) -> Response {
    s.serve("DescribeUser", |st, now| {
        ops::describe_user(st, now, &instance, &user)
    })
}

async fn delete_user(State(s): Ctx, Path((instance, user)): Path<(String, String)>) -> Response {
    s.serve("DeleteUser", |st, now| {
        ops::delete_user(st, now, &instance, &user)
    })
}

async fn update_user_identity_info(
    State(s): Ctx,
    Path((instance, user)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    s.serve("UpdateUserIdentityInfo", |st, now| {
        ops::update_user_identity_info(st, now, &instance, &user, &body)
    })
}

async fn update_user_phone_config(
    State(s): Ctx,
    Path((instance, user)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    s.serve("UpdateUserPhoneConfig", |st, now| {
        ops::update_user_phone_config(st, now, &instance, &user, &body)
    })
}

async fn update_user_security_profiles(
    State(s): Ctx,
    Path((instance, user)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    s.serve("UpdateUserSecurityProfiles", |st, now| {
        ops::update_user_security_profiles(st, now, &instance, &user, &body)
    })
}

async fn update_user_routing_profile(
    State(s): Ctx,
    Path((instance, user)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    s.serve("UpdateUserRoutingProfile", |st, now| {
        ops::update_user_routing_profile(st, now, &instance, &user, &body)
    })
}

async fn list_users(
    State(s): Ctx,
    Path(instance): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = Query::parse(query.as_deref());
    s.serve("ListUsers", |st, now| {
        ops::list_users(st, now, &instance, &query)
    })
}

async fn search_users(State(s): Ctx, body: Bytes) -> Response {
    s.serve("SearchUsers", |st, now| ops::search_users(st, now, &body))
}

async fn tag_resource(State(s): Ctx, Path(arn): Path<String>, body: Bytes) -> Response {
    s.serve("TagResource", |st, now| {
        ops::tag_resource(st, now, &arn, &body)
    })
}

async fn untag_resource(
    State(s): Ctx,
    Path(arn): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = Query::parse(query.as_deref());
    s.serve("UntagResource", |st, now| {
        ops::untag_resource(st, now, &arn, &query)
    })
}

async fn list_tags_for_resource(State(s): Ctx, Path(arn): Path<String>) -> Response {
    s.serve("ListTagsForResource", |st, now| {
        ops::list_tags_for_resource(st, now, &arn)
    })
}
