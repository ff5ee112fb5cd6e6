//! Where the SAML provider function takes metadata from: only IAM Identity Center's portal, over
//! https, without redirects to another host. Each case runs the compiled function through the
//! Runtime API; a refused URL is never fetched and IAM is never called.
//!
//! Needs `cargo build --workspace --bins`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use end_to_end::*;
use serde_json::json;

/// A local server counting its requests; `/metadata` redirects to `redirect_to` when given.
async fn server(redirect_to: Option<String>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let app = Router::new().route(
        "/metadata",
        get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let redirect_to = redirect_to.clone();
            async move {
                match redirect_to {
                    Some(location) => (
                        StatusCode::FOUND,
                        [(header::LOCATION, location)],
                        String::new(),
                    ),
                    None => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "text/xml".to_owned())],
                        "<x/>".to_owned(),
                    ),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("127.0.0.1:{port}"), hits)
}

async fn create_with(hostile: &Hostile, key: &str, url: &str) -> String {
    let event = hostile.event(
        key,
        "Create",
        OUR_STACK,
        "Custom::SamlProviderFromMetadata",
        None,
        json!({"MetadataUrl": url, "Name": "Ours"}),
    );
    hostile.invoke(&event).await;
    let response = hostile.response(key).await;
    assert_eq!(response["Status"], "FAILED", "{url}: {response:#}");
    response["Reason"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn hosts_other_than_identity_centers_portal_are_refused_unfetched() {
    let hostile = Hostile::start("saml-provider", None, &[]).await;
    for (key, url, problem) in [
        (
            "attacker",
            "https://idp.attacker.example/saml/metadata/x",
            "is not IAM Identity Center's",
        ),
        (
            "lookalike",
            "https://portal.sso.us-east-1.amazonaws.com.attacker.example/m",
            "is not IAM Identity Center's",
        ),
        (
            "ipv4",
            "https://10.0.0.8/saml/metadata/x",
            "is an IP address",
        ),
        (
            "ipv6",
            "https://[fd00::8]/saml/metadata/x",
            "is an IP address",
        ),
        (
            "metadata-service",
            "https://169.254.169.254/latest/meta-data/",
            "is an IP address",
        ),
    ] {
        let reason = create_with(&hostile, key, url).await;
        assert!(
            reason.contains("MetadataUrl") && reason.contains(problem),
            "{url}: {reason}"
        );
    }
    assert!(
        hostile.service_calls().is_empty(),
        "IAM was called: {:?}",
        hostile.service_calls()
    );
    hostile.function.stop().await;
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    // The local-testing switch lets the function fetch from 127.0.0.1 at all; the rule against
    // cross-host redirects holds with or without it.
    let (elsewhere, elsewhere_hits) = server(None).await;
    let port = elsewhere.rsplit(':').next().unwrap_or_default().to_owned();
    let (origin, origin_hits) = server(Some(format!("http://localhost:{port}/metadata"))).await;
    let hostile = Hostile::start(
        "saml-provider",
        None,
        &[("CONNECT_SSO_ALLOW_HTTP_METADATA", "true")],
    )
    .await;
    let reason = create_with(&hostile, "redirect", &format!("http://{origin}/metadata")).await;
    assert!(
        reason.contains("redirect to another host (localhost"),
        "{reason}"
    );
    assert!(
        origin_hits.load(Ordering::SeqCst) >= 1,
        "the origin was asked"
    );
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    assert!(
        hostile.service_calls().is_empty(),
        "{:?}",
        hostile.service_calls()
    );
    hostile.function.stop().await;
}

#[tokio::test]
async fn plain_http_is_refused_inside_lambda_even_with_the_test_switch() {
    let (origin, hits) = server(None).await;
    let url = format!("http://{origin}/metadata");
    // LAMBDA_TASK_ROOT: set by Lambda in every function, and impossible to unset there.
    let inside = Hostile::start(
        "saml-provider",
        None,
        &[
            ("CONNECT_SSO_ALLOW_HTTP_METADATA", "true"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
        ],
    )
    .await;
    let reason = create_with(&inside, "inside", &url).await;
    assert!(reason.contains("https is required"), "{reason}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "fetched over plain http inside Lambda"
    );
    assert!(inside.service_calls().is_empty());
    inside.function.stop().await;

    // The control: outside Lambda (a debug build, as tests run) the switch does let it fetch.
    let outside = Hostile::start(
        "saml-provider",
        None,
        &[("CONNECT_SSO_ALLOW_HTTP_METADATA", "true")],
    )
    .await;
    create_with(&outside, "outside", &url).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    outside.function.stop().await;
}
