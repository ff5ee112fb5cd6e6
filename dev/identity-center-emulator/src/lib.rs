//! A stateful local stand-in for IAM Identity Center, for tests and the local run.
//!
//! One port serves two APIs:
//! - the console control-plane API (SWBService, JSON 1.1, `POST /control/`,
//!   `X-Amz-Target: SWBService.<Operation>`), which creates and configures custom SAML 2.0
//!   applications, as docs/identity-center-console-api.md §3 describes it;
//! - the public sso-admin calls used next to it (SWBExternalService, `POST /`), wire-compatible
//!   with `aws-sdk-ssoadmin` pointed at [`Emulator::endpoint`] (e.g. through
//!   `AWS_ENDPOINT_URL_SSO_ADMIN`).
//!
//! Both check the content type, the target, a SigV4 `Authorization` header scoped to service
//! `sso` (parsed, not verified) and the request members, and answer AWS-shaped errors. Tests can
//! make the next requests throttle or fail, and read back every request and the whole state.

mod console;
mod portal;
mod public;
mod state;
mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use crate::state::{Application, State};
use crate::wire::{Api, ApiError, ErrorKind, JSON_1_1};

pub use crate::state::{ACCOUNT_ID, CUSTOM_SAML_TEMPLATE_ID};

/// UNCONFIRMED (LOW, docs/identity-center-console-api.md §3.4 and §8.3): the member of `responseConfig` that holds the relay
/// state. No AWS implementation sets it; the name comes from the Huawei Cloud port
/// (`relay_state`). Capture the console's traffic once and fix it here if it differs.
pub const RELAY_STATE_FIELD: &str = "relayState";

/// UNCONFIRMED (LOW, docs/identity-center-console-api.md §3.3): the member of `serviceProviderConfig` that holds the
/// application start URL, by analogy with the Huawei Cloud port (`start_url`).
pub const START_URL_FIELD: &str = "startUrl";

/// The `status` of an injected per-operation failure that is a ThrottlingException.
const THROTTLE: u16 = 0;

/// One request as the emulator received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `"console"` (`/control/`) or `"sso-admin"` (`/`).
    pub api: String,
    /// The operation named by `X-Amz-Target` (`"CreateApplicationInstance"`, `"ListInstances"`);
    /// the whole target when its prefix is not the API's; empty without a target.
    pub operation: String,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The parsed JSON body; `Null` when empty, a `String` with the raw text when not JSON.
    pub body: Value,
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written in a way that
        // matters to a test double; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running emulator. Dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Emulator {
    /// Starts on 127.0.0.1:<free port> with one seeded instance (home Region us-east-1).
    pub async fn start() -> anyhow::Result<Emulator> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on the given address with one seeded instance (home Region us-east-1).
    pub async fn start_on(addr: SocketAddr) -> anyhow::Result<Emulator> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let address = listener.local_addr()?;
        shared.lock().endpoint = format!("http://{address}");
        let app = Router::new()
            .route("/control/", post(console_route))
            .route("/", post(public_route))
            .route("/saml/metadata/{*token}", get(metadata_route))
            .fallback(fallback_route)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("identity-center-emulator stopped: {error}");
            }
        });
        Ok(Emulator {
            shared,
            address,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`; the console API is at `endpoint() + "/control/"`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The seeded instance's ARN, `arn:aws:sso:::instance/ssoins-<16 hex>`.
    pub fn instance_arn(&self) -> String {
        self.shared.lock().instances[0].arn.clone()
    }

    /// The seeded instance's identity store id, `d-<10 hex>`.
    pub fn identity_store_id(&self) -> String {
        self.shared.lock().instances[0].identity_store_id.clone()
    }

    /// The account that owns every instance and application (`123456789012`).
    pub fn account_id(&self) -> String {
        ACCOUNT_ID.to_string()
    }

    /// The seeded instance's home Region (`us-east-1`).
    pub fn home_region(&self) -> String {
        self.shared.lock().instances[0].home_region.clone()
    }

    /// Adds another instance with home Region us-east-1 (for "several instances" tests).
    /// Console calls signed for us-east-1 keep acting on the seeded instance.
    pub fn add_instance(&self) -> (String, String) {
        self.shared.lock().add_instance(state::DEFAULT_REGION)
    }

    /// Adds an instance whose home Region is `region`; console calls signed for that Region act
    /// on it (for "different instance or Region = replacement" tests).
    pub fn add_instance_in_region(&self, region: &str) -> (String, String) {
        self.shared.lock().add_instance(region)
    }

    /// Creates an enabled custom SAML application the way someone else would in the console.
    /// Panics if `instance_arn` is not an emulated instance (a test mistake).
    pub fn add_foreign_application(&self, instance_arn: &str, display_name: &str) -> String {
        let mut state = self.shared.lock();
        let Some(instance) = state.instance(instance_arn) else {
            panic!("add_foreign_application: no emulated instance {instance_arn}");
        };
        let mut application = Application::new(
            instance,
            format!("foreign-{}", wire::random_hex(8)),
            CUSTOM_SAML_TEMPLATE_ID.to_string(),
        );
        application.display_name = Some(display_name.to_string());
        application.description = Some("Made by someone else in the console".to_string());
        application.status = "ENABLED".to_string();
        application.service_provider_config = serde_json::json!({
            "audience": "urn:example:someone-else",
            "consumers": [{
                "location": "https://someone-else.example.com/saml/acs",
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                "defaultValue": true
            }],
            "requireRequestSignature": false
        });
        application.foreign = true;
        let arn = application.arn();
        state.applications.push(application);
        arn
    }

    /// Everything known about one application, or None if it does not exist. Keys:
    /// `applicationArn`, `instanceId` (`ins-…`), `instanceArn`, `identityStoreId`, `homeRegion`,
    /// `name` (the CreateApplicationInstance UUID), `templateId`, `displayName`, `description`,
    /// `status` (`CREATED` | `ENABLED` | `DISABLED`), `identityProviderConfig`,
    /// `serviceProviderConfig`, `responseConfig`, `responseSchemaConfig` (as last written, wire
    /// names), `profiles` (`[{profileId, name, status}]`), `assignments`
    /// (`[{principalType, principalId}]`), `tags` (`{key: value}`), `createdDate`, `foreign`.
    pub fn application(&self, application_arn: &str) -> Option<Value> {
        let state = self.shared.lock();
        state
            .applications
            .iter()
            .find(|a| a.arn() == application_arn)
            .map(|a| state.snapshot(a))
    }

    /// The same, by `ins-…` id.
    pub fn application_by_instance_id(&self, instance_id: &str) -> Option<Value> {
        let state = self.shared.lock();
        state
            .applications
            .iter()
            .find(|a| a.instance_id() == instance_id)
            .map(|a| state.snapshot(a))
    }

    /// Every application, in creation order, as [`Emulator::application`] shows it.
    pub fn applications(&self) -> Vec<Value> {
        let state = self.shared.lock();
        state
            .applications
            .iter()
            .map(|a| state.snapshot(a))
            .collect()
    }

    /// Removes an application with its assignments, profiles and tags, as if someone deleted it.
    pub fn delete_application_out_of_band(&self, application_arn: &str) {
        self.shared
            .lock()
            .applications
            .retain(|a| a.arn() != application_arn);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// The next `n` well-formed, authenticated requests answer ThrottlingException (HTTP 400).
    pub fn throttle_next(&self, n: u32) {
        self.shared.lock().throttle_remaining = n;
    }

    /// The next `n` well-formed, authenticated requests (after any throttled ones) answer HTTP
    /// `status` (e.g. 500 InternalServerException, 503 ServiceUnavailableException).
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut state = self.shared.lock();
        state.fail_remaining = n;
        state.fail_status = status;
    }

    /// Makes every `metadataUrl` (and the issuer, login and logout URLs) point at this emulator,
    /// `endpoint() + "/saml/metadata/<token>"`, instead of the AWS portal, so a local run can fetch
    /// the metadata. The document is served at that path either way.
    pub fn use_local_portal(&self) {
        self.shared.lock().local_portal = true;
    }

    /// The application's metadata URL, as GetApplicationInstance reports it.
    pub fn metadata_url(&self, application_arn: &str) -> Option<String> {
        let state = self.shared.lock();
        let application = state
            .applications
            .iter()
            .find(|a| a.arn() == application_arn)?;
        let config =
            application.identity_provider_config(&state.portal_base(&application.home_region));
        config["metadataUrl"].as_str().map(str::to_string)
    }

    /// The SAML metadata document the portal serves for the application (its certificate is made
    /// on first use), or None if the application does not exist.
    pub fn metadata_xml(&self, application_arn: &str) -> Option<String> {
        let mut state = self.shared.lock();
        let index = state.application_index_by_arn(application_arn)?;
        metadata_document(&mut state, index).ok()
    }

    /// Replaces the application's IdP signing certificate (as a certificate rotation would), so the
    /// metadata document changes. Returns false if the application does not exist.
    pub fn rotate_certificate(&self, application_arn: &str) -> bool {
        let mut state = self.shared.lock();
        let Some(index) = state.application_index_by_arn(application_arn) else {
            return false;
        };
        let application = &mut state.applications[index];
        match portal::new_certificate(&application.instance_id()) {
            Ok(certificate) => {
                application.certificate = Some(certificate);
                true
            }
            Err(_) => false,
        }
    }

    /// Eventual consistency: an application made through CreateApplicationInstance afterwards is
    /// missing from the next `reads` list results and public lookups by ARN that would have shown
    /// it (ListApplicationInstances, ListApplications, DescribeApplication, assignments, tags).
    /// GetApplicationInstance by `ins-…` id sees it at once. 0 (the default) turns it off.
    pub fn set_consistency_lag(&self, reads: u32) {
        self.shared.lock().consistency_lag = reads;
    }

    /// Console API calls signed with `access_key_id` answer AccessDeniedException from now on, as
    /// for credentials of an account that neither owns nor administers the instance (a member
    /// account). sso-admin calls are unaffected.
    pub fn deny_console_access(&self, access_key_id: &str) {
        self.shared
            .lock()
            .console_denied_keys
            .insert(access_key_id.to_string());
    }

    /// Every later call of `operation` (console or sso-admin) answers AccessDeniedException, as
    /// for a caller whose policy lacks its action.
    pub fn deny_operation(&self, operation: &str) {
        self.shared
            .lock()
            .denied_operations
            .insert(operation.to_string());
    }

    /// Sets the instance's creation date (epoch seconds, as ListInstances and DescribeInstance
    /// report it). Panics if `instance_arn` is not an emulated instance (a test mistake).
    pub fn set_instance_created(&self, instance_arn: &str, epoch_seconds: f64) {
        let mut state = self.shared.lock();
        let Some(instance) = state.instances.iter_mut().find(|i| i.arn == instance_arn) else {
            panic!("set_instance_created: no emulated instance {instance_arn}");
        };
        instance.created = epoch_seconds;
    }

    /// Page size of ListApplicationInstances, ListProfiles, ListTagsForResource and of sso-admin
    /// lists without MaxResults (default 10).
    pub fn set_page_size(&self, page_size: usize) {
        self.shared.lock().page_size = page_size.max(1);
    }

    /// The next `n` calls of `operation` (either API) answer HTTP `status` (500, 503...), whatever
    /// comes in between: a failure at one chosen step.
    pub fn fail_operation(&self, operation: &str, n: u32, status: u16) {
        self.shared
            .lock()
            .operation_failures
            .push((operation.to_string(), n, status));
    }

    /// The next `n` calls of `operation` answer ThrottlingException (HTTP 400), whatever comes in
    /// between.
    pub fn throttle_operation(&self, operation: &str, n: u32) {
        self.fail_operation(operation, n, THROTTLE);
    }

    /// How many requests were answered ThrottlingException so far (so a test can show the
    /// throttle was met, not just set).
    pub fn throttled_requests(&self) -> u32 {
        self.shared.lock().throttled
    }

    /// The application drops out of the next `reads` lists and public lookups by ARN (tags
    /// included), as just after its creation under eventual consistency.
    pub fn hide_application_for(&self, application_arn: &str, reads: u32) {
        let mut state = self.shared.lock();
        if let Some(index) = state.application_index_by_arn(application_arn) {
            state.applications[index].invisible_reads = reads;
        }
    }

    /// Adds `count` more profiles to an application (AWS makes them implicitly; a real
    /// application may hold several).
    pub fn add_profiles(&self, application_arn: &str, count: usize) {
        let mut state = self.shared.lock();
        if let Some(index) = state.application_index_by_arn(application_arn) {
            for _ in 0..count {
                state.applications[index].profiles.push(state::Profile {
                    id: format!("p-{}", wire::random_hex(16)),
                    name: "Extra".to_string(),
                    status: "ENABLED".to_string(),
                });
            }
        }
    }

    /// ASSUMPTION `get-returns-response-config`: whether GetApplicationInstance and
    /// ListApplicationInstances show `responseConfig` and `responseSchemaConfig` (default: yes,
    /// as the Huawei Cloud port does; no AWS caller reads them).
    pub fn set_response_config_readable(&self, readable: bool) {
        self.shared.lock().answers.response_config = readable;
    }

    /// ASSUMPTION `console-echoes-instance-name`: whether Get/List show the `name` given to
    /// CreateApplicationInstance (default: yes, as the Huawei Cloud port does).
    pub fn set_name_echoed(&self, echoed: bool) {
        self.shared.lock().answers.name = echoed;
    }

    /// ASSUMPTION `create-answer-shape`: whether CreateApplicationInstance answers the whole
    /// object (default) or only `{"applicationInstance": {"instanceId": …}}`.
    pub fn set_full_create_answer(&self, full: bool) {
        self.shared.lock().answers.full_create_answer = full;
    }

    /// ASSUMPTION `missing-instance-error`: the sso-admin error for an instance ARN that does not
    /// exist: `ResourceNotFoundException` (default), `ValidationException` or
    /// `AccessDeniedException`.
    pub fn set_missing_instance_error(&self, error: &'static str) {
        self.shared.lock().answers.missing_instance_error = error;
    }

    /// Adds an AWS-managed application to the instance whose Get/List object is exactly
    /// `answer` (say, no `display`, another template, fields of odd types, or even no
    /// `instanceId`): the applications of other kinds that ListApplicationInstances returns and
    /// whose shapes no public source records. Returns its ARN.
    pub fn add_aws_managed_application(&self, instance_arn: &str, answer: Value) -> String {
        let mut state = self.shared.lock();
        let Some(instance) = state.instance(instance_arn) else {
            panic!("add_aws_managed_application: no emulated instance {instance_arn}");
        };
        let mut application = Application::new(
            instance,
            format!("aws-managed-{}", wire::random_hex(8)),
            "tpl-0000000000000000".to_string(),
        );
        application.foreign = true;
        application.raw_wire = Some(answer);
        let arn = application.arn();
        state.applications.push(application);
        arn
    }
}

async fn console_route(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&shared, Api::Console, &headers, &body)
}

async fn public_route(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&shared, Api::SsoAdmin, &headers, &body)
}

/// `GET /saml/metadata/<token>`: no authentication, like the portal (docs/identity-center-console-api.md §5, HIGH).
async fn metadata_route(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut state = shared.lock();
    state.requests.push(RecordedRequest {
        api: "portal".to_string(),
        operation: "GetSamlMetadata".to_string(),
        headers: wire::header_map(&headers),
        body: Value::Null,
    });
    let instance_id = portal::decode_token(&token)
        .filter(|(account, _)| account == ACCOUNT_ID)
        .map(|(_, id)| id);
    let Some(index) = instance_id.and_then(|id| {
        state
            .applications
            .iter()
            .position(|a| a.instance_id() == id)
    }) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    match metadata_document(&mut state, index) {
        Ok(xml) => {
            let mut response = (StatusCode::OK, xml).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            response
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")).into_response(),
    }
}

/// The metadata document of `state.applications[index]`, making its certificate on first use.
fn metadata_document(state: &mut State, index: usize) -> anyhow::Result<String> {
    let base = state.portal_base(&state.applications[index].home_region);
    let application = &mut state.applications[index];
    let certificate = match &application.certificate {
        Some(certificate) => certificate.clone(),
        None => {
            let certificate = portal::new_certificate(&application.instance_id())?;
            application.certificate = Some(certificate.clone());
            certificate
        }
    };
    let config = application.identity_provider_config(&base);
    let url = |key: &str| config[key].as_str().unwrap_or_default().to_string();
    Ok(portal::metadata_xml(
        &url("issuerUrl"),
        &url("remoteLoginUrl"),
        &url("remoteLogoutUrl"),
        &certificate,
    ))
}

async fn fallback_route() -> Response {
    let body = serde_json::json!({ "message": "Not Found: the console API is POST /control/, sso-admin is POST /" });
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// One request through the checks in the order AWS applies them: content type, authentication,
/// injected failures, target, body, operation.
fn serve(shared: &Shared, api: Api, headers: &HeaderMap, body: &[u8]) -> Response {
    let headers = wire::header_map(headers);
    let target = headers.get("x-amz-target").cloned().unwrap_or_default();
    let operation = target.strip_prefix(api.target_prefix()).map(str::to_string);
    let parsed_body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
    };

    let mut state = shared.lock();
    state.requests.push(RecordedRequest {
        api: api.name().to_string(),
        operation: operation.clone().unwrap_or_else(|| target.clone()),
        headers: headers.clone(),
        body: parsed_body.clone(),
    });

    if wire::media_type(&headers).as_deref() != Some(JSON_1_1) {
        return json_response(StatusCode::OK, &wire::unknown_operation_200_body());
    }
    let sigv4 = match wire::check_sigv4(&headers) {
        Ok(sigv4) => sigv4,
        Err(error) => return error_response(api, &error),
    };
    if api == Api::Console && state.console_denied_keys.contains(&sigv4.access_key_id) {
        let error = ApiError::new(
            400,
            ErrorKind::Service("AccessDeniedException"),
            format!(
                "User is not authorized to perform: sso:{} (the console API answers only the account that administers the instance)",
                operation.as_deref().unwrap_or_default()
            ),
        );
        return error_response(api, &error);
    }
    if state.throttle_remaining > 0 {
        state.throttle_remaining -= 1;
        state.throttled += 1;
        return error_response(
            api,
            &ApiError::new(400, ErrorKind::Throttling, "Rate exceeded"),
        );
    }
    if state.fail_remaining > 0 {
        state.fail_remaining -= 1;
        let status = state.fail_status;
        let kind = match (status, api) {
            (503, _) => ErrorKind::Service("ServiceUnavailableException"),
            (_, Api::Console) => ErrorKind::Coral("InternalFailure"),
            (_, Api::SsoAdmin) => ErrorKind::Service("InternalServerException"),
        };
        return error_response(api, &ApiError::new(status, kind, "Injected failure"));
    }
    if let Some(failure) = operation.as_deref().and_then(|operation| {
        state
            .operation_failures
            .iter_mut()
            .find(|(name, remaining, _)| name == operation && *remaining > 0)
    }) {
        failure.1 -= 1;
        let status = failure.2;
        if status == THROTTLE {
            state.throttled += 1;
            return error_response(
                api,
                &ApiError::new(400, ErrorKind::Throttling, "Rate exceeded"),
            );
        }
        let kind = match (status, api) {
            (503, _) => ErrorKind::Service("ServiceUnavailableException"),
            (_, Api::Console) => ErrorKind::Coral("InternalFailure"),
            (_, Api::SsoAdmin) => ErrorKind::Service("InternalServerException"),
        };
        return error_response(api, &ApiError::new(status, kind, "Injected failure"));
    }
    let known = match api {
        Api::Console => console::OPERATIONS,
        Api::SsoAdmin => public::OPERATIONS,
    };
    let Some(operation) = operation.filter(|op| known.contains(&op.as_str())) else {
        return error_response(api, &console::unknown_operation(&target));
    };
    if !parsed_body.is_object() {
        let error = ApiError::new(
            400,
            ErrorKind::Service("SerializationException"),
            format!(
                "The body of {operation} must be a JSON object ({{}} when there are no parameters)"
            ),
        );
        return error_response(api, &error);
    }
    if state.denied_operations.contains(&operation) {
        let error = ApiError::new(
            400,
            ErrorKind::Service("AccessDeniedException"),
            format!("User is not authorized to perform: sso:{operation}"),
        );
        return error_response(api, &error);
    }
    let result = match api {
        Api::Console => console::handle(&mut state, &sigv4.region, &operation, &parsed_body),
        Api::SsoAdmin => public::handle(&mut state, &operation, &parsed_body),
    };
    match result {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(error) => error_response(api, &error),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn error_response(api: Api, error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &error.body(api))
}

fn request_id() -> String {
    let hex = wire::random_hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
