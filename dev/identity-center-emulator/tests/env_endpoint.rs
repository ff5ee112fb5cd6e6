//! aws-sdk-ssoadmin configured the way the functions configure it (`https_client::sdk::load_config`)
//! reaches the emulator through AWS_ENDPOINT_URL_SSO_ADMIN. Alone in its test binary because it
//! sets process environment variables.

use identity_center_emulator::Emulator;

#[tokio::test]
async fn aws_endpoint_url_sso_admin_points_the_sdk_at_the_emulator() {
    let emulator = Emulator::start().await.unwrap();
    // SAFETY: the only test in this binary; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_SSO_ADMIN", emulator.endpoint());
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTEST");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
        std::env::remove_var("AWS_ENDPOINT_URL");
        std::env::remove_var("AWS_PROFILE");
    }
    let config = https_client::sdk::load_config().await;
    let client = aws_sdk_ssoadmin::Client::new(&config);
    let instances = client.list_instances().send().await.unwrap();
    assert_eq!(
        instances.instances()[0].instance_arn(),
        Some(emulator.instance_arn().as_str())
    );
    assert_eq!(emulator.requests().len(), 1);
}
