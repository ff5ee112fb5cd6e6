//! The emulated world: Identity Center instances and their application instances.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::RecordedRequest;
use crate::wire::{ApiError, now_epoch_seconds, random_hex};

/// The account that owns every emulated instance (moto's default account, so ARNs line up).
pub const ACCOUNT_ID: &str = "123456789012";
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// The custom SAML 2.0 application template (docs/identity-center-console-api.md §2, HIGH).
pub const CUSTOM_SAML_TEMPLATE_ID: &str = "tpl-50e590700beb5208";
/// What public DescribeApplication reports as the provider of a custom SAML app. ASSUMPTION (LOW):
/// the alias `custom-saml` resolves to `app-50e590700beb5208` (docs/identity-center-console-api.md §2, HIGH); which of the
/// two forms DescribeApplication shows is not recorded anywhere.
pub(crate) const CUSTOM_SAML_PROVIDER_ARN: &str =
    "arn:aws:sso::aws:applicationProvider/custom-saml";
/// The resolved provider ARN quoted in the public API's refusal messages (docs/identity-center-console-api.md §4, HIGH).
pub(crate) const CUSTOM_SAML_PROVIDER_RESOLVED_ARN: &str =
    "arn:aws:sso::aws:applicationProvider/app-50e590700beb5208";

/// Name formats the custom SAML template offers (read-only `supportedNameIdFormats`, LOW, [HW]).
pub(crate) const SUPPORTED_NAME_ID_FORMATS: [&str; 4] = [
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
];

pub(crate) struct Instance {
    pub arn: String,
    pub identity_store_id: String,
    pub home_region: String,
    pub name: String,
    pub created: f64,
    pub tags: BTreeMap<String, String>,
}

pub(crate) struct Profile {
    pub id: String,
    pub name: String,
    pub status: String,
}

pub(crate) struct Assignment {
    pub principal_type: String,
    pub principal_id: String,
}

pub(crate) struct Application {
    /// The 16 hex characters shared by `ins-…` and `apl-…` (docs/identity-center-console-api.md §2, HIGH).
    pub hex: String,
    pub instance_arn: String,
    pub home_region: String,
    /// The UUID given to CreateApplicationInstance.
    pub name: String,
    pub template_id: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub service_provider_config: Value,
    pub response_config: Value,
    pub response_schema_config: Value,
    pub profiles: Vec<Profile>,
    pub assignments: Vec<Assignment>,
    pub tags: BTreeMap<String, String>,
    pub created: f64,
    /// Made through `Emulator::add_foreign_application` (someone else's console work).
    pub foreign: bool,
    /// Reads that still miss this app (eventual consistency, `Emulator::set_consistency_lag`).
    pub invisible_reads: u32,
    /// The IdP signing certificate, made when the metadata is first served.
    pub certificate: Option<crate::portal::Certificate>,
    /// An answer object served verbatim instead of [`Application::wire`]: an AWS-managed
    /// application of a shape this project has never seen (`Emulator::add_aws_managed_application`).
    pub raw_wire: Option<Value>,
}

impl Application {
    pub(crate) fn new(instance: &Instance, name: String, template_id: String) -> Self {
        Application {
            hex: random_hex(16),
            instance_arn: instance.arn.clone(),
            home_region: instance.home_region.clone(),
            name,
            template_id,
            display_name: None,
            description: None,
            // ASSUMPTION (LOW): [HW] sees CREATED before the explicit ENABLED every AWS client sends.
            status: "CREATED".to_string(),
            // ASSUMPTION (LOW): what a fresh custom SAML app holds before any Update* call. The
            // response defaults follow the `ttl: PT1H` of every example (§3.4).
            service_provider_config: json!({ "consumers": [], "requireRequestSignature": false }),
            response_config: json!({
                "subject": { "source": ["${user:subject}"] },
                "properties": {},
                "ttl": "PT1H"
            }),
            response_schema_config: json!({
                "subject": { "include": "REQUIRED", "nameIdFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" },
                "properties": {}
            }),
            profiles: Vec::new(),
            assignments: Vec::new(),
            tags: BTreeMap::new(),
            created: now_epoch_seconds(),
            foreign: false,
            certificate: None,
            invisible_reads: 0,
            raw_wire: None,
        }
    }

    /// True (and one read fewer to go) while eventual consistency still hides this app.
    pub(crate) fn take_invisible_read(&mut self) -> bool {
        if self.invisible_reads > 0 {
            self.invisible_reads -= 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn instance_id(&self) -> String {
        format!("ins-{}", self.hex)
    }

    pub(crate) fn arn(&self) -> String {
        let ssoins = self.instance_arn.rsplit('/').next().unwrap_or_default();
        format!(
            "arn:aws:sso::{ACCOUNT_ID}:application/{ssoins}/apl-{}",
            self.hex
        )
    }

    /// `base64("<account>_ins-<hex>")`, the token of the portal's SAML URLs (docs/identity-center-console-api.md §5, HIGH).
    fn portal_token(&self) -> String {
        base64::engine::general_purpose::STANDARD
            .encode(format!("{ACCOUNT_ID}_{}", self.instance_id()))
    }

    /// `portal` is the base of the portal's SAML URLs (see [`State::portal_base`]).
    pub(crate) fn identity_provider_config(&self, portal: &str) -> Value {
        let base = portal;
        let token = self.portal_token();
        json!({
            "metadataUrl": format!("{base}/metadata/{token}"),
            "issuerUrl": format!("{base}/assertion/{token}"),
            "remoteLoginUrl": format!("{base}/assertion/{token}"),
            "remoteLogoutUrl": format!("{base}/logout/{token}"),
        })
    }

    /// The `applicationInstance` object of GetApplicationInstance / ListApplicationInstances
    /// (docs/identity-center-console-api.md §3.8: MED for the core fields; `name`, `responseConfig` and
    /// `responseSchemaConfig` are LOW, by [HW] analogy).
    pub(crate) fn wire(&self, portal: &str) -> Value {
        if let Some(raw) = &self.raw_wire {
            return raw.clone();
        }
        let mut object = json!({
            "instanceId": self.instance_id(),
            "name": self.name,
            "status": self.status,
            "template": { "templateId": self.template_id, "sSOProtocol": "SAML" },
            "identityProviderConfig": self.identity_provider_config(portal),
            "serviceProviderConfig": self.service_provider_config,
            "responseConfig": self.response_config,
            "responseSchemaConfig": self.response_schema_config_wire(),
        });
        if let Some(display_name) = &self.display_name {
            let mut display = json!({ "displayName": display_name });
            if let Some(description) = &self.description {
                display["description"] = json!(description);
            }
            object["display"] = display;
        }
        object
    }

    fn response_schema_config_wire(&self) -> Value {
        let mut schema = self.response_schema_config.clone();
        if let Some(object) = schema.as_object_mut() {
            object.insert(
                "supportedNameIdFormats".to_string(),
                json!(SUPPORTED_NAME_ID_FORMATS),
            );
        }
        schema
    }

    /// Everything known, for test assertions (`Emulator::application`).
    pub(crate) fn snapshot(&self, identity_store_id: Option<&str>, portal: &str) -> Value {
        json!({
            "applicationArn": self.arn(),
            "instanceId": self.instance_id(),
            "instanceArn": self.instance_arn,
            "identityStoreId": identity_store_id,
            "homeRegion": self.home_region,
            "name": self.name,
            "templateId": self.template_id,
            "displayName": self.display_name,
            "description": self.description,
            "status": self.status,
            "identityProviderConfig": self.identity_provider_config(portal),
            "serviceProviderConfig": self.service_provider_config,
            "responseConfig": self.response_config,
            "responseSchemaConfig": self.response_schema_config,
            "profiles": self.profiles.iter().map(|p| json!({ "profileId": p.id, "name": p.name, "status": p.status })).collect::<Vec<_>>(),
            "assignments": self.assignments.iter().map(|a| json!({ "principalType": a.principal_type, "principalId": a.principal_id })).collect::<Vec<_>>(),
            "tags": self.tags,
            "createdDate": self.created,
            "foreign": self.foreign,
        })
    }

    /// Public status: ENABLED or DISABLED (a never-enabled app shows as DISABLED).
    pub(crate) fn public_status(&self) -> &'static str {
        if self.status == "ENABLED" {
            "ENABLED"
        } else {
            "DISABLED"
        }
    }

    /// The public DescribeApplication / ListApplications shape.
    pub(crate) fn describe(&self, identity_store_id: Option<&str>) -> Value {
        let start_url = self
            .service_provider_config
            .get(crate::START_URL_FIELD)
            .and_then(Value::as_str)
            .filter(|url| !url.is_empty());
        let sign_in = match start_url {
            Some(url) => json!({ "Origin": "APPLICATION", "ApplicationUrl": url }),
            None => json!({ "Origin": "IDENTITY_CENTER" }),
        };
        let mut object = json!({
            "ApplicationArn": self.arn(),
            "ApplicationProviderArn": CUSTOM_SAML_PROVIDER_ARN,
            "Name": self.display_name.as_deref().unwrap_or(&self.name),
            "ApplicationAccount": ACCOUNT_ID,
            "InstanceArn": self.instance_arn,
            "Status": self.public_status(),
            "PortalOptions": { "SignInOptions": sign_in, "Visibility": "ENABLED" },
            "CreatedDate": self.created,
        });
        if let Some(id) = identity_store_id {
            object["IdentityStoreArn"] = json!(format!(
                "arn:aws:identitystore::{ACCOUNT_ID}:identitystore/{id}"
            ));
        }
        if let Some(description) = &self.description {
            object["Description"] = json!(description);
        }
        object
    }
}

pub(crate) struct State {
    pub instances: Vec<Instance>,
    pub applications: Vec<Application>,
    pub requests: Vec<RecordedRequest>,
    pub throttle_remaining: u32,
    pub fail_remaining: u32,
    pub fail_status: u16,
    pub page_size: usize,
    /// `http://127.0.0.1:PORT`, once the listener is bound.
    pub endpoint: String,
    /// Point `metadataUrl` & co. at this emulator instead of the AWS portal host.
    pub local_portal: bool,
    /// How many reads miss an app made through CreateApplicationInstance.
    pub consistency_lag: u32,
    /// Answers as the emulator imagines AWS where AWS is undocumented (see `Answers`).
    pub answers: Answers,
    /// Per-operation injected failures: (operation, remaining, HTTP status).
    pub operation_failures: Vec<(String, u32, u16)>,
    /// How many requests were answered ThrottlingException so far.
    pub throttled: u32,
    /// Access key ids whose console API calls are refused (a member account's credentials).
    pub console_denied_keys: std::collections::BTreeSet<String>,
    /// Operations every caller is refused (a policy that lacks their action).
    pub denied_operations: std::collections::BTreeSet<String>,
}

/// Switches between the answers AWS may give where no public source says which it gives. Each
/// is a named assumption of docs/assumptions.md.
#[derive(Debug, Clone)]
pub(crate) struct Answers {
    /// `get-returns-response-config`: Get/List show `responseConfig` and `responseSchemaConfig`.
    pub response_config: bool,
    /// `console-echoes-instance-name`: Get/List show the `name` given to the create.
    pub name: bool,
    /// `create-answer-shape`: the create answer is the whole object, not just `instanceId`.
    pub full_create_answer: bool,
    /// `missing-instance-error`: the sso-admin error for an instance ARN that does not exist.
    pub missing_instance_error: &'static str,
}

impl Default for Answers {
    fn default() -> Self {
        Self {
            response_config: true,
            name: true,
            full_create_answer: true,
            missing_instance_error: "ResourceNotFoundException",
        }
    }
}

impl State {
    pub(crate) fn new() -> Self {
        let mut state = State {
            instances: Vec::new(),
            applications: Vec::new(),
            requests: Vec::new(),
            throttle_remaining: 0,
            fail_remaining: 0,
            fail_status: 500,
            page_size: 10,
            endpoint: String::new(),
            local_portal: false,
            consistency_lag: 0,
            answers: Answers::default(),
            operation_failures: Vec::new(),
            throttled: 0,
            console_denied_keys: Default::default(),
            denied_operations: Default::default(),
        };
        state.add_instance(DEFAULT_REGION);
        state
    }

    pub(crate) fn add_instance(&mut self, home_region: &str) -> (String, String) {
        let instance = Instance {
            arn: format!("arn:aws:sso:::instance/ssoins-{}", random_hex(16)),
            identity_store_id: format!("d-{}", random_hex(10)),
            home_region: home_region.to_string(),
            name: String::new(),
            created: now_epoch_seconds(),
            tags: BTreeMap::new(),
        };
        let ids = (instance.arn.clone(), instance.identity_store_id.clone());
        self.instances.push(instance);
        ids
    }

    /// Base of the portal's SAML URLs for an app in `region`: the AWS portal (docs/identity-center-console-api.md §5, HIGH)
    /// or, after `Emulator::use_local_portal`, this emulator.
    pub(crate) fn portal_base(&self, region: &str) -> String {
        if self.local_portal {
            format!("{}/saml", self.endpoint)
        } else {
            format!("https://portal.sso.{region}.amazonaws.com/saml")
        }
    }

    /// [`Application::snapshot`] with the state's identity store and portal.
    pub(crate) fn snapshot(&self, application: &Application) -> Value {
        application.snapshot(
            self.identity_store_of(&application.instance_arn),
            &self.portal_base(&application.home_region),
        )
    }

    /// The Get/List object of `application`, as the `answers` switches shape it.
    pub(crate) fn wire(&self, application: &Application) -> Value {
        let mut object = application.wire(&self.portal_base(&application.home_region));
        if application.raw_wire.is_none()
            && let Some(fields) = object.as_object_mut()
        {
            if !self.answers.response_config {
                fields.remove("responseConfig");
                fields.remove("responseSchemaConfig");
            }
            if !self.answers.name {
                fields.remove("name");
            }
        }
        object
    }

    pub(crate) fn instance(&self, arn: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.arn == arn)
    }

    /// The instance the console API acts on for a caller signing for `region`: app-instance calls
    /// carry no instance ARN, it is implied by account and home region (docs/identity-center-console-api.md §1, HIGH). With
    /// several instances in one region (unrealistic, only for "several instances" tests) the first
    /// one wins.
    pub(crate) fn instance_in_region(&self, region: &str) -> Result<&Instance, ApiError> {
        self.instances.iter().find(|i| i.home_region == region).ok_or_else(|| {
            ApiError::not_found(format!(
                "No IAM Identity Center instance has its home Region in {region}; call the home Region"
            ))
        })
    }

    pub(crate) fn identity_store_of(&self, instance_arn: &str) -> Option<&str> {
        self.instance(instance_arn)
            .map(|i| i.identity_store_id.as_str())
    }

    pub(crate) fn application_index_by_arn(&self, arn: &str) -> Option<usize> {
        self.applications.iter().position(|a| a.arn() == arn)
    }
}
