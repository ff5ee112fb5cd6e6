//! The emulated cloud a local stack is deployed into: moto (IAM, identity store, STS), the
//! project's Connect and Identity Center emulators, and the clients to inspect them.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub struct Cloud {
    pub moto_endpoint: String,
    /// moto's IAM behind the layer that keeps SAML provider tags (moto drops them).
    pub iam_proxy: moto_iam_proxy::IamProxy,
    pub connect: connect_emulator::Emulator,
    pub identity_center: identity_center_emulator::Emulator,
    /// Lambda's Invoke API, for functions that invoke themselves (a long import continuing).
    pub lambda: local_lambda::LambdaService,
    /// CloudFormation's view of the local stacks, for the scheduled syncs' checks.
    pub cloudformation: local_lambda::StackStatus,
    moto: SdkConfig,
    iam: SdkConfig,
}

impl Cloud {
    /// Starts the project's emulators on free loopback ports; moto runs outside (see
    /// `scripts/with-moto`), at `moto_endpoint`.
    pub async fn start(moto_endpoint: &str) -> anyhow::Result<Self> {
        let moto = sdk_config(Some(moto_endpoint)).await;
        let iam_proxy = moto_iam_proxy::IamProxy::start(moto_endpoint).await?;
        let iam = sdk_config(Some(&iam_proxy.endpoint)).await;
        let identity_center = identity_center_emulator::Emulator::start().await?;
        // Metadata URLs point at the emulator, so the SAML provider can download them here.
        identity_center.use_local_portal();
        Ok(Self {
            moto_endpoint: moto_endpoint.to_owned(),
            iam_proxy,
            iam,
            connect: connect_emulator::Emulator::start(connect_emulator::Options::default())
                .await?,
            identity_center,
            lambda: local_lambda::LambdaService::start().await?,
            cloudformation: local_lambda::StackStatus::start().await?,
            moto,
        })
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.iam)
    }

    pub fn identity_store(&self) -> aws_sdk_identitystore::Client {
        aws_sdk_identitystore::Client::new(&self.moto)
    }

    /// What a function process needs to find every service in this cloud: the SDK's standard
    /// endpoint variables, which is also how a real deployment would be redirected.
    pub fn function_environment(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL_IAM", self.iam_proxy.endpoint.clone()),
            ("AWS_ENDPOINT_URL_IDENTITYSTORE", self.moto_endpoint.clone()),
            ("AWS_ENDPOINT_URL_STS", self.moto_endpoint.clone()),
            ("AWS_ENDPOINT_URL_CONNECT", self.connect.endpoint()),
            (
                "AWS_ENDPOINT_URL_SSO_ADMIN",
                self.identity_center.endpoint(),
            ),
            ("AWS_ENDPOINT_URL_LAMBDA", self.lambda.endpoint()),
            (
                "AWS_ENDPOINT_URL_CLOUDFORMATION",
                self.cloudformation.endpoint(),
            ),
            // The emulated Identity Center serves its SAML metadata over plain http.
            ("CONNECT_SSO_ALLOW_HTTP_METADATA", "true".to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }
}

/// An SDK configuration with dummy credentials, pointed at `endpoint` when given.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "local"));
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}
