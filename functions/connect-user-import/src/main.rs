use connect_user_import::ConnectUserImport;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    custom_resource::run(ConnectUserImport::from_env()).await
}
