//! `SSL_CERT_FILE` and `AWS_ENDPOINT_URL`, read from the environment the way the functions run:
//! one process, so one test (the trust store is built once per process).

mod support;

use support::{HttpsServer, TestPki};

const GET_CALLER_IDENTITY: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/bench</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;

#[tokio::test(flavor = "current_thread")]
async fn the_sdk_and_reqwest_trust_ssl_cert_file_and_the_sdk_honours_aws_endpoint_url() {
    let pki = TestPki::new();
    let server = HttpsServer::start(&pki, "text/xml", GET_CALLER_IDENTITY).await;
    let endpoint = format!("https://localhost:{}", server.port);
    // SAFETY: set before anything reads the environment, and this test binary runs no other test.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &pki.ca_pem_file);
        std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
    }

    let reply = https_client::reqwest_builder()
        .build()
        .unwrap()
        .put(format!("{endpoint}/response?X-Amz-Signature=x"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);

    let config = https_client::sdk::load_config().await;
    let sts = aws_sdk_sts::Client::new(&config);
    let identity = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(identity.account(), Some("123456789012"));

    assert_eq!(
        *server.request_lines.lock().unwrap(),
        [
            "PUT /response?X-Amz-Signature=x HTTP/1.1".to_owned(),
            "POST / HTTP/1.1".to_owned()
        ]
    );
}
