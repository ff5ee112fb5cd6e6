use attribute_mapping::AttributeMapping;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    custom_resource::run(AttributeMapping::from_env()).await
}
