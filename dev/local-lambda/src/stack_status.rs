//! A stand-in for the two CloudFormation reads a scheduled sync makes (DescribeStacks and
//! DescribeStackResource, AWS query protocol), with the stack and resource states set by the test
//! or the local stack runner: point `AWS_ENDPOINT_URL_CLOUDFORMATION` at [`StackStatus::endpoint`].
//! A stack it does not know answers the ValidationError "Stack with id … does not exist", as
//! CloudFormation does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

#[derive(Debug, Clone, Default)]
struct KnownStack {
    status: String,
    /// DescribeStacks' `LastUpdatedTime`: set when an update starts (absent until the first).
    last_updated: Option<String>,
    /// logical id → (physical id, resource type, status)
    resources: BTreeMap<String, (String, String, String)>,
}

type Stacks = Arc<Mutex<BTreeMap<String, KnownStack>>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct StackStatus {
    address: SocketAddr,
    stacks: Stacks,
    server: tokio::task::JoinHandle<()>,
}

impl StackStatus {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let stacks = Stacks::default();
        let app = Router::new()
            .route("/", post(query))
            .with_state(Arc::clone(&stacks));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            stacks,
            server,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Sets the status of the stack `stack_id` (its ARN), making it known. Entering
    /// `UPDATE_IN_PROGRESS` starts a new update: `LastUpdatedTime` becomes now, as CloudFormation
    /// stamps each update (the identity a background continuation checks).
    pub fn set_stack(&self, stack_id: &str, status: &str) {
        let mut stacks = lock(&self.stacks);
        let stack = stacks.entry(stack_id.to_owned()).or_default();
        if status == "UPDATE_IN_PROGRESS" && stack.status != status {
            stack.last_updated = Some(now_iso8601());
        }
        stack.status = status.to_owned();
    }

    /// Sets a resource of a known (or new) stack.
    pub fn set_resource(
        &self,
        stack_id: &str,
        logical_id: &str,
        physical_id: &str,
        resource_type: &str,
        status: &str,
    ) {
        lock(&self.stacks)
            .entry(stack_id.to_owned())
            .or_default()
            .resources
            .insert(
                logical_id.to_owned(),
                (
                    physical_id.to_owned(),
                    resource_type.to_owned(),
                    status.to_owned(),
                ),
            );
    }

    /// Forgets the stack: it "does not exist" from now on.
    pub fn remove_stack(&self, stack_id: &str) {
        lock(&self.stacks).remove(stack_id);
    }
}

impl Drop for StackStatus {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Now as CloudFormation writes times (`2026-01-01T00:00:00.123Z`), milliseconds included so that
/// two updates within a second differ.
fn now_iso8601() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

const NAMESPACE: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn stack_name(stack_id: &str) -> &str {
    stack_id
        .split(':')
        .nth(5)
        .and_then(|resource| resource.split('/').nth(1))
        .unwrap_or(stack_id)
}

async fn query(State(stacks): State<Stacks>, body: Bytes) -> Response {
    let fields: BTreeMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |key: &str| fields.get(key).cloned().unwrap_or_default();
    let wanted = field("StackName");
    let found = lock(&stacks)
        .iter()
        .find(|(id, _)| **id == wanted || stack_name(id) == wanted)
        .map(|(id, stack)| (id.clone(), stack.clone()));
    let Some((stack_id, stack)) = found else {
        return validation_error(&format!("Stack with id {wanted} does not exist"));
    };
    let action = field("Action");
    let result = match action.as_str() {
        "DescribeStacks" => format!(
            "<Stacks><member><StackName>{}</StackName><StackId>{}</StackId>\
             <CreationTime>2026-01-01T00:00:00Z</CreationTime>{}<StackStatus>{}</StackStatus></member></Stacks>",
            xml_escape(stack_name(&stack_id)),
            xml_escape(&stack_id),
            stack
                .last_updated
                .as_deref()
                .map(|time| format!("<LastUpdatedTime>{time}</LastUpdatedTime>"))
                .unwrap_or_default(),
            xml_escape(&stack.status)
        ),
        "DescribeStackResource" => {
            let logical_id = field("LogicalResourceId");
            let Some((physical_id, resource_type, status)) = stack.resources.get(&logical_id)
            else {
                return validation_error(&format!(
                    "Resource {logical_id} does not exist for stack {wanted}"
                ));
            };
            format!(
                "<StackResourceDetail><StackName>{}</StackName><StackId>{}</StackId>\
                 <LogicalResourceId>{}</LogicalResourceId><PhysicalResourceId>{}</PhysicalResourceId>\
                 <ResourceType>{}</ResourceType><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp>\
                 <ResourceStatus>{}</ResourceStatus></StackResourceDetail>",
                xml_escape(stack_name(&stack_id)),
                xml_escape(&stack_id),
                xml_escape(&logical_id),
                xml_escape(physical_id),
                xml_escape(resource_type),
                xml_escape(status)
            )
        }
        other => {
            return (
                StatusCode::BAD_REQUEST,
                format!("<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>InvalidAction</Code>\
                 <Message>{} is not emulated</Message></Error><RequestId>local</RequestId></ErrorResponse>", xml_escape(other)),
            )
                .into_response();
        }
    };
    let body = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></{action}Response>"
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

fn validation_error(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "text/xml")],
        format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>ValidationError</Code>\
             <Message>{}</Message></Error><RequestId>local</RequestId></ErrorResponse>",
            xml_escape(message)
        ),
    )
        .into_response()
}
