//! The AWS clients the checks use, each in the region its service lives in and optionally pointed
//! at an emulator.

use aws_config::{Region, SdkConfig};
use identity_center::IdentityCenter;
use saml_provider::MetadataDownload;

/// Endpoint overrides per service. `None` keeps what the SDK configuration says (the real
/// endpoint, or `AWS_ENDPOINT_URL[_<SERVICE>]` from the environment).
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub connect: Option<String>,
    pub iam: Option<String>,
    pub identity_store: Option<String>,
    /// Both Identity Center APIs: sso-admin, and the console API at `<endpoint>/control/`.
    pub sso_admin: Option<String>,
}

/// Every client a doctor run needs.
pub struct Clients {
    /// The console API and sso-admin, in the Identity Center home region.
    pub identity_center: IdentityCenter,
    /// In the Identity Center home region.
    pub identity_store: aws_sdk_identitystore::Client,
    /// In the Connect instance's region.
    pub connect: aws_sdk_connect::Client,
    pub iam: aws_sdk_iam::Client,
    /// How the application's metadata is downloaded (`allow_http` for a local emulator).
    pub metadata: MetadataDownload,
}

impl Clients {
    /// Clients with the credentials of `config`, Connect in `connect_region`, Identity Center and
    /// its identity store in `identity_center_region`.
    pub fn new(
        config: &SdkConfig,
        connect_region: &str,
        identity_center_region: &str,
        endpoints: &Endpoints,
    ) -> anyhow::Result<Self> {
        let identity_center_config = {
            let mut builder = config
                .to_builder()
                .region(Region::new(identity_center_region.to_owned()));
            if let Some(endpoint) = &endpoints.sso_admin {
                builder = builder.endpoint_url(endpoint);
            }
            builder.build()
        };

        let mut identity_store = aws_sdk_identitystore::config::Builder::from(config)
            .region(Region::new(identity_center_region.to_owned()));
        if let Some(endpoint) = &endpoints.identity_store {
            identity_store = identity_store.endpoint_url(endpoint);
        }
        let mut connect = aws_sdk_connect::config::Builder::from(config)
            .region(Region::new(connect_region.to_owned()));
        if let Some(endpoint) = &endpoints.connect {
            connect = connect.endpoint_url(endpoint);
        }
        let mut iam = aws_sdk_iam::config::Builder::from(config);
        if let Some(endpoint) = &endpoints.iam {
            iam = iam.endpoint_url(endpoint);
        }
        Ok(Self {
            identity_center: IdentityCenter::new(&identity_center_config)?,
            identity_store: aws_sdk_identitystore::Client::from_conf(identity_store.build()),
            connect: aws_sdk_connect::Client::from_conf(connect.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            metadata: MetadataDownload::from_env(),
        })
    }
}
