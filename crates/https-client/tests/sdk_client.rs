//! The SDK's HTTP client over the shared TLS configuration: real TLS handshakes with a loopback
//! server whose CA is trusted only through the PEM file.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_iam::config::Credentials;
use https_client::build_client_config;
use https_client::sdk::RustlsHttpClient;
use support::{HttpsServer, TestPki};

const LIST_SAML_PROVIDERS: &str = r#"<ListSAMLProvidersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListSAMLProvidersResult><SAMLProviderList><member><Arn>arn:aws:iam::123456789012:saml-provider/Connect-SSO</Arn></member></SAMLProviderList></ListSAMLProvidersResult>
  <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>
</ListSAMLProvidersResponse>"#;

fn iam_client(endpoint: String, tls: rustls::ClientConfig) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::for_tests())
        .endpoint_url(endpoint)
        .http_client(RustlsHttpClient::new(Arc::new(tls)))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

#[tokio::test]
async fn sdk_calls_succeed_over_https_to_a_server_of_the_pem_files_ca() {
    let pki = TestPki::new();
    let server = HttpsServer::start(&pki, "text/xml", LIST_SAML_PROVIDERS).await;
    let iam = iam_client(
        format!("https://localhost:{}", server.port),
        build_client_config(Some(&pki.ca_pem_file)),
    );

    let listed = iam.list_saml_providers().send().await.unwrap();

    let arns: Vec<_> = listed
        .saml_provider_list()
        .iter()
        .filter_map(|provider| provider.arn())
        .collect();
    assert_eq!(
        arns,
        ["arn:aws:iam::123456789012:saml-provider/Connect-SSO"]
    );
    assert_eq!(
        *server.request_lines.lock().unwrap(),
        ["POST / HTTP/1.1".to_owned()]
    );
}

#[tokio::test]
async fn an_unknown_ca_fails_the_call_once_without_retries() {
    let pki = TestPki::new();
    let server = HttpsServer::start(&pki, "text/xml", LIST_SAML_PROVIDERS).await;
    // The compiled-in roots only: the test CA is not among them.
    let iam = iam_client(
        format!("https://localhost:{}", server.port),
        build_client_config(None),
    );

    let error = iam.list_saml_providers().send().await.unwrap_err();

    let chain = format!(
        "{:?}",
        aws_smithy_types::error::display::DisplayErrorContext(&error)
    );
    assert!(chain.contains("UnknownIssuer"), "{chain}");
    // A certificate problem is not transient: one handshake, no retries, no request.
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn plain_http_endpoints_still_work() {
    // The emulators and moto in the tests are plain http (AWS_ENDPOINT_URL=http://127.0.0.1:...).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .fallback(|| async { ([("content-type", "text/xml")], LIST_SAML_PROVIDERS) });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let iam = iam_client(
        format!("http://127.0.0.1:{port}"),
        build_client_config(None),
    );

    let listed = iam.list_saml_providers().send().await.unwrap();

    assert_eq!(listed.saml_provider_list().len(), 1);
}
