use identity_center_app::IdentityCenterSamlApp;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    custom_resource::run(IdentityCenterSamlApp::from_env()).await
}
