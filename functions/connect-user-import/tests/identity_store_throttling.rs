//! The identity store's ThrottlingException carries `RetryAfterSeconds` in its body, which the
//! SDK alone ignores: the import's client waits that long before retrying. (moto never throttles,
//! so a stub server plays the identity store here.)

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;

#[tokio::test]
async fn a_throttled_identity_store_call_is_retried_after_the_time_it_asks_for() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = Arc::clone(&arrivals);
    let app = axum::Router::new().fallback(move || {
        let seen = Arc::clone(&seen);
        async move {
            let mut seen = seen.lock().unwrap();
            seen.push(Instant::now());
            let json = [("content-type", "application/x-amz-json-1.1")];
            if seen.len() == 1 {
                let body = r#"{"__type":"com.amazonaws.identitystore#ThrottlingException","Message":"Rate exceeded","RetryAfterSeconds":2}"#;
                (StatusCode::BAD_REQUEST, json, body).into_response()
            } else {
                (StatusCode::OK, json, r#"{"Users":[]}"#).into_response()
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sdk = test_support::sdk_config(Some(&endpoint)).await;
    let client = connect_user_import::identity_store_client(&sdk, None);
    client
        .list_users()
        .identity_store_id("d-1234567890")
        .send()
        .await
        .unwrap();

    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 2, "one throttled attempt, one retry");
    let gap = arrivals[1] - arrivals[0];
    assert!(
        gap >= Duration::from_millis(1900),
        "retried after {gap:?}, asked for 2 s"
    );
    assert!(gap < Duration::from_secs(8), "retried after {gap:?}");
}
