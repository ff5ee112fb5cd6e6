use saml_provider::SamlProvider;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    custom_resource::run(SamlProvider::from_env()).await
}
