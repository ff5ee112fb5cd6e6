//! A whole federation built directly in the emulators and moto, as the stack would leave it:
//! an enabled Identity Center application assigned to a group, its metadata in an IAM SAML
//! provider (moto behind the tag-keeping proxy), the federation role, the attribute mappings and
//! relay state, and a Connect user per group member.
#![allow(dead_code)]

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_identitystore::types::{Email, MemberId, Name};
use base64::Engine as _;
use connect_sso_cli::doctor::{
    AWS_AUDIENCE, AWS_SIGN_IN, ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE,
};
use connect_sso_cli::{Clients, Endpoints, Target};
use connect_user_import::properties::UsernameAttribute;
use identity_center::model::{
    AttributeSource, DisplayData, ResponseConfig, ServiceProviderConfig, Status,
};
use identity_center::unconfirmed::UnconfirmedResponseFields;
use identity_center::{ApplicationArn, IdentityCenter, Principal, PrincipalKind};
use moto_iam_proxy::IamProxy;
use time::OffsetDateTime;

pub const REGION: &str = "us-east-1";

pub use test_support::{moto_endpoint, sdk_config, unique};

/// A fresh self-signed certificate valid until `not_after`, as base64 DER (what metadata holds).
pub fn certificate(not_after: OffsetDateTime) -> String {
    let mut params =
        rcgen::CertificateParams::new(vec!["idp.connect-sso.test".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Connect SSO test IdP");
    params.not_before = not_after - time::Duration::days(365);
    params.not_after = not_after;
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = params.self_signed(&key).unwrap();
    base64::engine::general_purpose::STANDARD.encode(certificate.der())
}

/// `document` with its signing certificate replaced by `certificate`.
pub fn with_certificate(document: &str, certificate: &str) -> String {
    let start = document.find("X509Certificate>").unwrap() + "X509Certificate>".len();
    let end = start + document[start..].find('<').unwrap();
    format!("{}{certificate}{}", &document[..start], &document[end..])
}

/// One member of the directory group.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_name: String,
    /// The primary email: the login name (UsernameAttribute email).
    pub email: String,
}

pub struct World {
    pub identity_center: identity_center_emulator::Emulator,
    pub connect: connect_emulator::Emulator,
    pub iam_proxy: IamProxy,
    pub moto_endpoint: String,
    /// Dummy credentials, no endpoint: Clients get their endpoints explicitly.
    pub base: SdkConfig,
    pub console: IdentityCenter,
    pub iam: aws_sdk_iam::Client,
    pub identity_store: aws_sdk_identitystore::Client,
    pub application_arn: String,
    pub console_id: String,
    pub instance: connect_emulator::Instance,
    pub identity_store_id: String,
    pub group_id: String,
    pub group_name: String,
    pub members: Vec<Member>,
    pub role_arn: String,
    pub provider_arn: String,
}

impl World {
    /// Everything but the Connect users (see [`World::add_connect_users`]).
    pub async fn federation() -> World {
        let moto = moto_endpoint();
        let identity_center = identity_center_emulator::Emulator::start().await.unwrap();
        identity_center.use_local_portal();
        let connect = connect_emulator::Emulator::start(connect_emulator::Options::default())
            .await
            .unwrap();
        let iam_proxy = IamProxy::start(&moto).await.unwrap();
        let base = sdk_config(None).await;
        let console =
            IdentityCenter::new(&sdk_config(Some(&identity_center.endpoint())).await).unwrap();
        let iam = aws_sdk_iam::Client::new(&sdk_config(Some(&iam_proxy.endpoint)).await);
        let identity_store = aws_sdk_identitystore::Client::new(&sdk_config(Some(&moto)).await);

        // Guide step 1: a SAML Connect instance.
        let instance = connect.create_instance(&unique("doctor"), "SAML");

        // The directory: one group with two members, one with a mixed-case email.
        let identity_store_id = identity_center.identity_store_id();
        let group_name = unique("ConnectAgents");
        let group_id = identity_store
            .create_group()
            .identity_store_id(&identity_store_id)
            .display_name(&group_name)
            .send()
            .await
            .unwrap()
            .group_id()
            .to_owned();
        let tag = format!("{:08x}", fastrand::u32(..));
        let members = vec![
            Member {
                user_name: format!("alice-{tag}"),
                email: format!("Alice.Smith.{tag}@Example.com"),
            },
            Member {
                user_name: format!("bob-{tag}"),
                email: format!("bob.jones.{tag}@example.com"),
            },
        ];
        for member in &members {
            let user_id = identity_store
                .create_user()
                .identity_store_id(&identity_store_id)
                .user_name(&member.user_name)
                .display_name(&member.user_name)
                .name(
                    Name::builder()
                        .given_name("Test")
                        .family_name("User")
                        .build(),
                )
                .emails(
                    Email::builder()
                        .value(&member.email)
                        .r#type("work")
                        .primary(true)
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .user_id()
                .to_owned();
            identity_store
                .create_group_membership()
                .identity_store_id(&identity_store_id)
                .group_id(&group_id)
                .member_id(MemberId::UserId(user_id))
                .send()
                .await
                .unwrap();
        }

        // Guide step 2: the application, enabled, with the guide's ACS URL and audience.
        let created = console
            .console
            .create_application_instance(&unique("doctor-app"))
            .await
            .unwrap();
        let console_id = created.instance_id;
        console
            .console
            .update_display_data(
                &console_id,
                &DisplayData {
                    display_name: unique("Amazon Connect"),
                    description: Some("doctor test".to_owned()),
                },
            )
            .await
            .unwrap();
        console
            .console
            .update_service_provider_config(
                &console_id,
                &ServiceProviderConfig::saml(AWS_SIGN_IN, AWS_AUDIENCE),
            )
            .await
            .unwrap();
        console
            .console
            .update_status(&console_id, Status::Enabled)
            .await
            .unwrap();
        let application_arn = ApplicationArn::from_console_id(
            &identity_center.instance_arn(),
            &identity_center.account_id(),
            &console_id,
        )
        .unwrap()
        .to_string();
        console
            .assign(
                &application_arn,
                &Principal {
                    kind: PrincipalKind::Group,
                    id: group_id.clone(),
                },
            )
            .await
            .unwrap();

        // Guide step 3: the IAM SAML provider from the metadata, and the federation role.
        let metadata = identity_center.metadata_xml(&application_arn).unwrap();
        let provider_arn = iam
            .create_saml_provider()
            .name(unique("Connect-SSO"))
            .saml_metadata_document(metadata)
            .send()
            .await
            .unwrap()
            .saml_provider_arn()
            .unwrap()
            .to_owned();
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithSAML",
                "Condition": {"StringEquals": {"SAML:aud": AWS_SIGN_IN}}
            }]
        });
        let role_name = unique("Connect-SSO");
        let role_arn = iam
            .create_role()
            .role_name(&role_name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_owned();
        let permission = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": "connect:GetFederationToken",
                "Resource": [instance.arn, format!("{}/*", instance.arn)]
            }]
        });
        iam.put_role_policy()
            .role_name(&role_name)
            .policy_name("Connect-SSO-Policy")
            .policy_document(permission.to_string())
            .send()
            .await
            .unwrap();

        let world = World {
            identity_center,
            connect,
            iam_proxy,
            moto_endpoint: moto,
            base,
            console,
            iam,
            identity_store,
            application_arn,
            console_id,
            identity_store_id,
            group_id,
            group_name,
            members,
            role_arn,
            provider_arn,
            instance,
        };
        // Guide step 4: the attribute mappings and the relay state.
        world
            .map_attributes(
                &format!("{},{}", world.role_arn, world.provider_arn),
                &world.relay_state(REGION),
            )
            .await;
        world
    }

    /// The healthy federation: [`World::federation`] and a Connect user per member.
    pub async fn healthy() -> World {
        let world = Self::federation().await;
        world.add_connect_users(|email| email.to_owned());
        world
    }

    /// Guide step 5: a Connect user per member, named `login(email)`.
    pub fn add_connect_users(&self, login: impl Fn(&str) -> String) {
        for member in &self.members {
            self.connect.add_user(
                &self.instance.id,
                connect_emulator::UserSnapshot::new(&login(&member.email)),
            );
        }
    }

    pub fn relay_state(&self, region: &str) -> String {
        format!(
            "https://{region}.console.aws.amazon.com/connect/federate/{}",
            self.instance.id
        )
    }

    /// Writes the application's response config: the Role attribute `role_value`, the
    /// RoleSessionName and Subject `${user:email}`, and `relay_state`.
    pub async fn map_attributes(&self, role_value: &str, relay_state: &str) {
        let config = ResponseConfig {
            subject: Some(AttributeSource::of("${user:email}")),
            properties: BTreeMap::from([
                (ROLE_ATTRIBUTE.to_owned(), AttributeSource::of(role_value)),
                (
                    ROLE_SESSION_NAME_ATTRIBUTE.to_owned(),
                    AttributeSource::of("${user:email}"),
                ),
            ]),
            ttl: Some("PT12H".to_owned()),
            unconfirmed: UnconfirmedResponseFields {
                relay_state: Some(relay_state.to_owned()),
            },
        };
        self.console
            .console
            .update_response_config(&self.console_id, &config)
            .await
            .unwrap();
    }

    /// Every id, as the stack's outputs would give them.
    pub fn target(&self) -> Target {
        Target {
            application_arn: self.application_arn.clone(),
            connect_instance_id: Some(self.instance.id.clone()),
            role_arn: Some(self.role_arn.clone()),
            provider_arn: Some(self.provider_arn.clone()),
            identity_store_id: Some(self.identity_store_id.clone()),
            region: REGION.to_owned(),
            identity_center_region: REGION.to_owned(),
            username_attribute: UsernameAttribute::Email,
        }
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            connect: Some(self.connect.endpoint()),
            iam: Some(self.iam_proxy.endpoint.clone()),
            identity_store: Some(self.moto_endpoint.clone()),
            sso_admin: Some(self.identity_center.endpoint()),
        }
    }

    /// The clients the local deploy would build: explicit endpoints, http metadata allowed.
    pub fn clients(&self) -> Clients {
        let mut clients = Clients::new(&self.base, REGION, REGION, &self.endpoints()).unwrap();
        clients.metadata.allow_http = true;
        clients
    }

    /// The environment that points the `connect-sso` binary at this world.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_ENDPOINT_URL_CONNECT", self.connect.endpoint()),
            ("AWS_ENDPOINT_URL_IAM", self.iam_proxy.endpoint.clone()),
            ("AWS_ENDPOINT_URL_IDENTITYSTORE", self.moto_endpoint.clone()),
            (
                "AWS_ENDPOINT_URL_SSO_ADMIN",
                self.identity_center.endpoint(),
            ),
            (
                "AWS_ENDPOINT_URL_CLOUDFORMATION",
                self.moto_endpoint.clone(),
            ),
            ("CONNECT_SSO_ALLOW_HTTP_METADATA", "true".to_owned()),
        ]
    }

    /// Runs the `connect-sso` binary against this world.
    pub async fn run_binary(&self, args: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_connect-sso"));
        command.args(args);
        for name in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"] {
            command.env_remove(name);
        }
        for (name, value) in self.environment() {
            command.env(name, value);
        }
        command.output().await.unwrap()
    }
}
