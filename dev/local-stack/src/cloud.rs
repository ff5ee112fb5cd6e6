//! The emulated cloud a local stack is deployed into: moto (IAM, identity store, STS, SSM), the
//! project's Connect and Identity Center emulators, and the clients to inspect them.

use std::sync::Arc;

use aws_config::SdkConfig;
/// An SDK configuration with dummy credentials, pointed at `endpoint` when given.
pub use test_support::sdk_config;

use crate::recorder::{Protocol, Recorder};

pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub struct Cloud {
    pub moto_endpoint: String,
    /// moto's IAM behind the layer that keeps SAML provider tags (moto drops them).
    pub iam_proxy: moto_iam_proxy::IamProxy,
    pub connect: Arc<connect_emulator::Emulator>,
    pub identity_center: identity_center_emulator::Emulator,
    /// Lambda's Invoke API, for functions that invoke themselves (a long import continuing).
    pub lambda: local_lambda::LambdaService,
    /// CloudFormation's view of the local stacks, for the scheduled syncs' checks.
    pub cloudformation: local_lambda::StackStatus,
    /// Every call the functions make, through the endpoints of [`Cloud::function_environment`].
    pub recorder: Recorder,
    /// Those endpoints: (SDK endpoint variable, recording proxy).
    function_endpoints: Vec<(&'static str, String)>,
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
        let connect = Arc::new(
            connect_emulator::Emulator::start(connect_emulator::Options::default()).await?,
        );
        let lambda = local_lambda::LambdaService::start().await?;
        let cloudformation = local_lambda::StackStatus::start().await?;
        let recorder = Recorder::new();
        let users = Arc::clone(&connect);
        recorder.look_up_connect_tags(Arc::new(move |instance, user| {
            users
                .users(instance)
                .into_iter()
                .find(|snapshot| snapshot.id == user)
                .map(|snapshot| snapshot.tags)
                .unwrap_or_default()
        }));
        let fronts: [(&'static str, &'static str, Protocol, String); 8] = [
            (
                "AWS_ENDPOINT_URL_IAM",
                "iam",
                Protocol::Query,
                iam_proxy.endpoint.clone(),
            ),
            (
                "AWS_ENDPOINT_URL_IDENTITYSTORE",
                "identitystore",
                Protocol::Json,
                moto_endpoint.to_owned(),
            ),
            (
                "AWS_ENDPOINT_URL_SSM",
                "ssm",
                Protocol::Json,
                moto_endpoint.to_owned(),
            ),
            (
                "AWS_ENDPOINT_URL_STS",
                "sts",
                Protocol::Query,
                moto_endpoint.to_owned(),
            ),
            (
                "AWS_ENDPOINT_URL_CONNECT",
                "connect",
                Protocol::ConnectRest,
                connect.endpoint(),
            ),
            (
                "AWS_ENDPOINT_URL_SSO_ADMIN",
                "sso-admin",
                Protocol::Json,
                identity_center.endpoint(),
            ),
            (
                "AWS_ENDPOINT_URL_LAMBDA",
                "lambda",
                Protocol::LambdaRest,
                lambda.endpoint(),
            ),
            (
                "AWS_ENDPOINT_URL_CLOUDFORMATION",
                "cloudformation",
                Protocol::Query,
                cloudformation.endpoint(),
            ),
        ];
        let mut function_endpoints = Vec::new();
        for (variable, api, protocol, upstream) in fronts {
            function_endpoints.push((variable, recorder.front(api, protocol, &upstream).await?));
        }
        Ok(Self {
            moto_endpoint: moto_endpoint.to_owned(),
            iam_proxy,
            iam,
            connect,
            identity_center,
            lambda,
            cloudformation,
            recorder,
            function_endpoints,
            moto,
        })
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.iam)
    }

    pub fn identity_store(&self) -> aws_sdk_identitystore::Client {
        aws_sdk_identitystore::Client::new(&self.moto)
    }

    /// SSM (moto's), where the import records its progress.
    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.moto)
    }

    /// What a function process needs to find every service in this cloud: the SDK's standard
    /// endpoint variables, which is also how a real deployment would be redirected. Each points
    /// at a recording proxy in front of the service ([`Cloud::recorder`]).
    pub fn function_environment(&self) -> Vec<(String, String)> {
        self.function_endpoints
            .iter()
            .map(|(variable, endpoint)| ((*variable).to_owned(), endpoint.clone()))
            // The emulated Identity Center serves its SAML metadata over plain http.
            .chain([(
                "CONNECT_SSO_ALLOW_HTTP_METADATA".to_owned(),
                "true".to_owned(),
            )])
            .collect()
    }
}
