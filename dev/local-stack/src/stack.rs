//! A stack deployed on this machine the way CloudFormation deploys one: resources in dependency
//! order, custom resources answered by the compiled functions over the Lambda Runtime API, one
//! event line per resource, outputs at the end; updates send Update (or replace) only where the
//! resolved properties changed; delete goes in reverse order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use local_lambda::{FunctionProcess, ResponseBucket, workspace_binary};
use serde_json::{Value, json};

use crate::cloud::{ACCOUNT_ID, Cloud, REGION};
use crate::template::{Made, Scope, Template, check_rules, evaluate_conditions};

/// The longest a custom resource may take when the template sets no ServiceTimeout.
const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(300);

/// One line of the stack's event list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub detail: String,
}

/// A resource as it stands in the stack.
#[derive(Debug, Clone)]
struct Deployed {
    resource_type: String,
    properties: Value,
    made: Made,
}

pub struct Stack<'c> {
    pub name: String,
    cloud: &'c Cloud,
    template: Template,
    bucket: ResponseBucket,
    functions: BTreeMap<String, Arc<FunctionProcess>>,
    deployed: BTreeMap<String, Deployed>,
    /// Creation order of what is deployed, for deleting in reverse.
    order: Vec<String>,
    pub events: Vec<StackEvent>,
    outputs: BTreeMap<String, String>,
    request_counter: u32,
}

impl<'c> Stack<'c> {
    pub async fn new(name: &str, cloud: &'c Cloud, template: Template) -> anyhow::Result<Self> {
        Ok(Self {
            name: name.to_owned(),
            cloud,
            template,
            bucket: ResponseBucket::start().await?,
            functions: BTreeMap::new(),
            deployed: BTreeMap::new(),
            order: Vec::new(),
            events: Vec::new(),
            outputs: BTreeMap::new(),
            request_counter: 0,
        })
    }

    pub fn stack_id(&self) -> String {
        format!(
            "arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{}/6f1c9a52-local",
            self.name
        )
    }

    pub fn outputs(&self) -> &BTreeMap<String, String> {
        &self.outputs
    }

    /// The physical id of a deployed resource.
    pub fn physical_id(&self, logical_id: &str) -> Option<&str> {
        self.deployed
            .get(logical_id)
            .map(|deployed| deployed.made.reference.as_str())
    }

    /// A deployed resource's properties as resolved (e.g. a function's `Policies` in force).
    pub fn resolved_properties(&self, logical_id: &str) -> Option<&Value> {
        self.deployed
            .get(logical_id)
            .map(|deployed| &deployed.properties)
    }

    pub fn attribute(&self, logical_id: &str, attribute: &str) -> Option<&str> {
        self.deployed
            .get(logical_id)?
            .made
            .attributes
            .get(attribute)
            .map(String::as_str)
    }

    /// Creates the stack; on a failure, rolls back what was made (as CloudFormation does) and
    /// returns the failure.
    pub async fn create(&mut self, parameters: &BTreeMap<String, String>) -> anyhow::Result<()> {
        let result = self.apply(parameters, "CREATE").await;
        if let Err(error) = result {
            self.event(
                "(stack)",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                &format!("{error:#}"),
            );
            let rollback = self.delete_all().await;
            self.event(
                "(stack)",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_COMPLETE",
                "",
            );
            rollback?;
            return Err(error);
        }
        Ok(())
    }

    /// Updates the stack to `parameters`: Update events where properties changed, Create for new
    /// resources, then the cleanup Deletes of replaced and removed resources.
    pub async fn update(&mut self, parameters: &BTreeMap<String, String>) -> anyhow::Result<()> {
        self.apply(parameters, "UPDATE").await
    }

    pub async fn delete(&mut self) -> anyhow::Result<()> {
        self.cloud
            .cloudformation
            .set_stack(&self.stack_id(), "DELETE_IN_PROGRESS");
        self.delete_all().await?;
        for (logical_id, function) in &self.functions {
            self.cloud
                .lambda
                .unregister(&self.function_name(logical_id));
            function.stop().await;
        }
        self.functions.clear();
        self.cloud
            .cloudformation
            .set_stack(&self.stack_id(), "DELETE_COMPLETE");
        Ok(())
    }

    /// The name a function of this stack has (what `AWS_LAMBDA_FUNCTION_NAME` says in it).
    fn function_name(&self, logical_id: &str) -> String {
        format!("{}-{logical_id}", self.name)
    }

    /// Runs the target of the `AWS::Scheduler::Schedule` `logical_id` once, as EventBridge
    /// Scheduler would: its resolved `Target.Input` sent to the function its `Target.Arn` names.
    /// Returns what the function returned.
    pub async fn run_schedule(&mut self, logical_id: &str) -> anyhow::Result<Value> {
        let schedule = self
            .deployed
            .get(logical_id)
            .filter(|deployed| deployed.resource_type == "AWS::Scheduler::Schedule")
            .ok_or_else(|| anyhow!("{logical_id} is not a deployed schedule of this stack"))?;
        let target = &schedule.properties["Target"];
        let input = target["Input"].as_str().unwrap_or("{}").to_owned();
        serde_json::from_str::<Value>(&input)
            .with_context(|| format!("{logical_id}: Target.Input is not JSON: {input}"))?;
        let arn = target["Arn"].as_str().unwrap_or_default();
        let function_id = self.function_of(arn).ok_or_else(|| {
            anyhow!("{logical_id}: Target.Arn {arn} is not a function of this stack")
        })?;
        let function = self
            .functions
            .get(&function_id)
            .ok_or_else(|| anyhow!("{logical_id}: function {function_id} is not running"))?;
        let timeout = self.function_timeout(&function_id, DEFAULT_SERVICE_TIMEOUT);
        println!("schedule {logical_id}: invoking {function_id}");
        let outcome = function.invoke(input, timeout).await?;
        match outcome {
            local_lambda::Outcome::Response(_) => outcome.response_json(),
            other => {
                let logs = function.logs();
                let tail = logs[logs.len().saturating_sub(10)..].join("\n");
                bail!(
                    "{logical_id}: the run of {function_id} ended as {other:?}; its last log lines:\n{tail}"
                )
            }
        }
    }

    /// The log lines of a running function of this stack.
    pub fn function_logs(&self, logical_id: &str) -> Vec<String> {
        self.functions
            .get(logical_id)
            .map(|function| function.logs())
            .unwrap_or_default()
    }

    /// The logical id of the deployed function whose ARN is `arn`.
    fn function_of(&self, arn: &str) -> Option<String> {
        self.deployed
            .iter()
            .find(|(_, deployed)| {
                deployed.resource_type == "AWS::Serverless::Function"
                    && deployed.made.attributes.get("Arn").map(String::as_str) == Some(arn)
            })
            .map(|(id, _)| id.clone())
    }

    /// The function's resolved Timeout, capped by `limit`.
    fn function_timeout(&self, function_id: &str, limit: Duration) -> Duration {
        self.deployed
            .get(function_id)
            .and_then(|function| seconds(&function.properties["Timeout"]))
            .or_else(|| {
                self.template
                    .resource(function_id)
                    .and_then(|function| seconds(&function["Properties"]["Timeout"]))
            })
            .unwrap_or(limit)
            .min(limit)
    }

    async fn apply(
        &mut self,
        given: &BTreeMap<String, String>,
        operation: &str,
    ) -> anyhow::Result<()> {
        let parameters = self.template.parameter_values(given)?;
        self.cloud
            .cloudformation
            .set_stack(&self.stack_id(), &format!("{operation}_IN_PROGRESS"));
        let pseudo = self.pseudo_parameters();
        let conditions = evaluate_conditions(&self.template, &parameters, &pseudo)?;
        check_rules(&self.template, &parameters, &pseudo, &conditions)?;
        let implicit = self.implicit_resources();
        let order = self.template.creation_order(&implicit)?;
        let mut cleanup: Vec<(String, Deployed)> = Vec::new();

        for logical_id in &order {
            let resource = self
                .template
                .resource(logical_id)
                .cloned()
                .unwrap_or(Value::Null);
            let resource_type = resource["Type"].as_str().unwrap_or_default().to_owned();
            let included = match resource.get("Condition").and_then(Value::as_str) {
                Some(name) => *conditions
                    .get(name)
                    .ok_or_else(|| anyhow!("{logical_id}: unknown condition {name}"))?,
                None => true,
            };
            if !included {
                if let Some(previous) = self.deployed.remove(logical_id) {
                    cleanup.push((logical_id.clone(), previous));
                }
                continue;
            }
            let made_now = self.made_now();
            let scope = Scope {
                parameters: &parameters,
                pseudo: &pseudo,
                conditions: &conditions,
                made: &made_now,
            };
            let properties = scope
                .value(resource.get("Properties").unwrap_or(&json!({})))
                .with_context(|| format!("{logical_id}: resolving its properties"))?;
            let previous = self.deployed.get(logical_id).cloned();
            let phase = if previous.is_some() {
                "UPDATE"
            } else {
                "CREATE"
            };
            if previous
                .as_ref()
                .is_some_and(|previous| previous.properties == properties)
            {
                continue;
            }
            self.event(
                logical_id,
                &resource_type,
                &format!("{phase}_IN_PROGRESS"),
                "",
            );
            let result = self
                .put_resource(
                    logical_id,
                    &resource_type,
                    &resource,
                    &properties,
                    previous.as_ref(),
                )
                .await;
            match result {
                Ok(made) => {
                    if let Some(previous) =
                        previous.filter(|previous| previous.made.reference != made.reference)
                    {
                        // Replacement: the old one is deleted in the cleanup phase.
                        cleanup.push((logical_id.clone(), previous));
                    }
                    self.event(
                        logical_id,
                        &resource_type,
                        &format!("{phase}_COMPLETE"),
                        &made.reference,
                    );
                    self.deployed.insert(
                        logical_id.clone(),
                        Deployed {
                            resource_type: resource_type.clone(),
                            properties,
                            made,
                        },
                    );
                    if !self.order.contains(logical_id) {
                        self.order.push(logical_id.clone());
                    }
                }
                Err(error) => {
                    self.event(
                        logical_id,
                        &resource_type,
                        &format!("{phase}_FAILED"),
                        &format!("{error:#}"),
                    );
                    return Err(error.context(format!("{operation} failed at {logical_id}")));
                }
            }
        }
        if operation == "UPDATE" {
            self.event(
                "(stack)",
                "AWS::CloudFormation::Stack",
                "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
                "",
            );
        }
        for (logical_id, previous) in cleanup.into_iter().rev() {
            self.remove(&logical_id, &previous).await?;
        }
        let made_now = self.made_now();
        let scope = Scope {
            parameters: &parameters,
            pseudo: &pseudo,
            conditions: &conditions,
            made: &made_now,
        };
        self.outputs.clear();
        for (name, output) in self.template.outputs.clone() {
            let included = match output.get("Condition").and_then(Value::as_str) {
                Some(condition) => conditions.get(condition).copied().unwrap_or(false),
                None => true,
            };
            if included {
                let value = scope
                    .value(&output["Value"])
                    .with_context(|| format!("output {name}"))?;
                let text = value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string());
                self.outputs.insert(name, text);
            }
        }
        self.event(
            "(stack)",
            "AWS::CloudFormation::Stack",
            &format!("{operation}_COMPLETE"),
            "",
        );
        Ok(())
    }

    async fn delete_all(&mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        for logical_id in self.order.clone().into_iter().rev() {
            let Some(deployed) = self.deployed.remove(&logical_id) else {
                continue;
            };
            if let Err(error) = self.remove(&logical_id, &deployed).await {
                first_error.get_or_insert(error);
            }
        }
        self.order.clear();
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    async fn remove(&mut self, logical_id: &str, deployed: &Deployed) -> anyhow::Result<()> {
        self.event(
            logical_id,
            &deployed.resource_type,
            "DELETE_IN_PROGRESS",
            &deployed.made.reference,
        );
        match self.delete_resource(logical_id, deployed).await {
            Ok(()) => {
                self.event(logical_id, &deployed.resource_type, "DELETE_COMPLETE", "");
                Ok(())
            }
            Err(error) => {
                self.event(
                    logical_id,
                    &deployed.resource_type,
                    "DELETE_FAILED",
                    &format!("{error:#}"),
                );
                Err(error.context(format!("deleting {logical_id}")))
            }
        }
    }

    async fn put_resource(
        &mut self,
        logical_id: &str,
        resource_type: &str,
        resource: &Value,
        properties: &Value,
        previous: Option<&Deployed>,
    ) -> anyhow::Result<Made> {
        match resource_type {
            "AWS::Serverless::Function" => {
                self.start_function(logical_id, resource, properties).await
            }
            "AWS::Connect::Instance" => Ok(self.connect_instance(properties, previous)),
            "AWS::IAM::Role" => self.iam_role(properties, previous).await,
            custom
                if custom.starts_with("Custom::")
                    || custom == "AWS::CloudFormation::CustomResource" =>
            {
                self.custom_resource(logical_id, resource_type, properties, previous)
                    .await
            }
            _ => Ok(not_emulated(logical_id, resource_type, properties)),
        }
    }

    async fn delete_resource(
        &mut self,
        logical_id: &str,
        deployed: &Deployed,
    ) -> anyhow::Result<()> {
        match deployed.resource_type.as_str() {
            "AWS::Serverless::Function" => {
                self.cloud
                    .lambda
                    .unregister(&self.function_name(logical_id));
                if let Some(function) = self.functions.remove(logical_id) {
                    function.stop().await;
                }
                Ok(())
            }
            "AWS::Connect::Instance" => {
                if let Some(id) = deployed.made.attributes.get("Id") {
                    self.cloud.connect.delete_instance(id);
                }
                Ok(())
            }
            "AWS::IAM::Role" => self.delete_iam_role(&deployed.made.reference).await,
            custom
                if custom.starts_with("Custom::")
                    || custom == "AWS::CloudFormation::CustomResource" =>
            {
                let event = self.request(
                    "Delete",
                    logical_id,
                    custom,
                    Some(&deployed.made.reference),
                    &deployed.properties,
                    None,
                );
                self.invoke_custom_resource(logical_id, &deployed.properties, event)
                    .await
                    .map(drop)
            }
            _ => Ok(()),
        }
    }

    // ---- resource types -------------------------------------------------------------------

    async fn start_function(
        &mut self,
        logical_id: &str,
        resource: &Value,
        properties: &Value,
    ) -> anyhow::Result<Made> {
        let binary_name = binary_of(logical_id, resource)?;
        let binary_name = binary_name.as_str();
        let binary = workspace_binary(binary_name)?;
        let name = self.function_name(logical_id);
        let mut environment = self.cloud.function_environment();
        environment.push(("AWS_LAMBDA_FUNCTION_NAME".to_owned(), name.clone()));
        // Each function signs with its own access key id, its binary's name: the recording
        // proxies attribute every call to the function that made it (permissions.yaml).
        environment.push(("AWS_ACCESS_KEY_ID".to_owned(), binary_name.to_owned()));
        if let Some(variables) = properties["Environment"]["Variables"].as_object() {
            for (key, value) in variables {
                let text = value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string());
                environment.push((key.clone(), text));
            }
        }
        if let Some(previous) = self.functions.remove(logical_id) {
            previous.stop().await;
        }
        let function = Arc::new(FunctionProcess::spawn(&binary, &environment).await?);
        function.initialised(Duration::from_secs(30)).await?;
        // Lambda's default when the template sets none (Globals are merged in already).
        let timeout = seconds(&properties["Timeout"]).unwrap_or(Duration::from_secs(3));
        self.cloud
            .lambda
            .register(&name, Arc::clone(&function), timeout);
        self.functions.insert(logical_id.to_owned(), function);
        Ok(Made {
            attributes: BTreeMap::from([(
                "Arn".to_owned(),
                format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"),
            )]),
            reference: name,
        })
    }

    fn connect_instance(&self, properties: &Value, previous: Option<&Deployed>) -> Made {
        if let Some(previous) = previous {
            // Alias and identity management type cannot change in place; local runs keep it.
            return previous.made.clone();
        }
        let alias = properties["InstanceAlias"].as_str().unwrap_or("local");
        let identity = properties["IdentityManagementType"]
            .as_str()
            .unwrap_or("SAML");
        let instance = self.cloud.connect.create_instance(alias, identity);
        Made {
            reference: instance.arn.clone(),
            attributes: BTreeMap::from([
                ("Arn".to_owned(), instance.arn),
                ("Id".to_owned(), instance.id),
                ("InstanceStatus".to_owned(), "ACTIVE".to_owned()),
            ]),
        }
    }

    async fn iam_role(
        &self,
        properties: &Value,
        previous: Option<&Deployed>,
    ) -> anyhow::Result<Made> {
        let iam = self.cloud.iam();
        let name = properties["RoleName"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}-role-{:06x}", self.name, fastrand::u32(..0xFFFFFF)));
        let trust = properties["AssumeRolePolicyDocument"].to_string();
        let arn = match previous {
            Some(previous) if previous.made.reference == name => {
                iam.update_assume_role_policy()
                    .role_name(&name)
                    .policy_document(&trust)
                    .send()
                    .await?;
                previous.made.attributes["Arn"].clone()
            }
            _ => {
                let path = properties["Path"].as_str().unwrap_or("/");
                let created = iam
                    .create_role()
                    .role_name(&name)
                    .path(path)
                    .assume_role_policy_document(&trust)
                    .send()
                    .await
                    .with_context(|| format!("creating role {name}"))?;
                created
                    .role()
                    .map(|role| role.arn().to_owned())
                    .unwrap_or_default()
            }
        };
        for policy in properties["Policies"].as_array().into_iter().flatten() {
            let policy_name = policy["PolicyName"].as_str().unwrap_or("inline");
            iam.put_role_policy()
                .role_name(&name)
                .policy_name(policy_name)
                .policy_document(policy["PolicyDocument"].to_string())
                .send()
                .await
                .with_context(|| format!("putting policy {policy_name} on role {name}"))?;
        }
        Ok(Made {
            reference: name,
            attributes: BTreeMap::from([("Arn".to_owned(), arn)]),
        })
    }

    async fn delete_iam_role(&self, name: &str) -> anyhow::Result<()> {
        let iam = self.cloud.iam();
        let policies = iam.list_role_policies().role_name(name).send().await?;
        for policy in policies.policy_names() {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await?;
        }
        iam.delete_role().role_name(name).send().await?;
        Ok(())
    }

    async fn custom_resource(
        &mut self,
        logical_id: &str,
        resource_type: &str,
        properties: &Value,
        previous: Option<&Deployed>,
    ) -> anyhow::Result<Made> {
        let event = match previous {
            None => self.request("Create", logical_id, resource_type, None, properties, None),
            Some(previous) => self.request(
                "Update",
                logical_id,
                resource_type,
                Some(&previous.made.reference),
                properties,
                Some(&previous.properties),
            ),
        };
        let document = self
            .invoke_custom_resource(logical_id, properties, event)
            .await?;
        let attributes = document["Data"]
            .as_object()
            .map(|data| {
                data.iter()
                    .map(|(key, value)| {
                        (
                            key.clone(),
                            value
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| value.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Made {
            reference: document["PhysicalResourceId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            attributes,
        })
    }

    /// Sends one request to the function behind the resource's ServiceToken, and returns the
    /// document the function PUT to the ResponseURL; a FAILED document is an error with its Reason.
    async fn invoke_custom_resource(
        &mut self,
        logical_id: &str,
        properties: &Value,
        event: Value,
    ) -> anyhow::Result<Value> {
        let token = properties["ServiceToken"].as_str().unwrap_or_default();
        let function_id = self.function_of(token).ok_or_else(|| {
            anyhow!("{logical_id}: ServiceToken {token:?} is not a function of this stack")
        })?;
        let function = self
            .functions
            .get(&function_id)
            .cloned()
            .ok_or_else(|| anyhow!("{logical_id}: function {function_id} is not running"))?;
        let timeout = seconds(&properties["ServiceTimeout"]).unwrap_or(DEFAULT_SERVICE_TIMEOUT);
        let key = event["RequestId"].as_str().unwrap_or_default().to_owned();
        // The function's own time limit: its Timeout, capped by the custom resource's ServiceTimeout.
        let function_timeout = self.function_timeout(&function_id, timeout);
        let started = Instant::now();
        let outcome = function.invoke(event.to_string(), function_timeout).await?;
        // A function may hand the request on to new invocations of itself (through the Lambda
        // Invoke API): wait while they run, as CloudFormation waits up to the ServiceTimeout.
        let name = self.function_name(&function_id);
        let document = loop {
            match self
                .bucket
                .wait_for_document(&key, Duration::from_secs(5))
                .await
            {
                Ok(document) => break document,
                Err(_) if self.cloud.lambda.busy(&name) && started.elapsed() < timeout => {}
                Err(_) => {
                    let logs = function.logs();
                    let tail = logs[logs.len().saturating_sub(10)..].join("\n");
                    bail!(
                        "{logical_id}: no response from {function_id} ({outcome:?}); its last log lines:\n{tail}"
                    )
                }
            }
        };
        let responses = self.bucket.received_for(&key).len();
        if responses != 1 {
            bail!("{logical_id}: {responses} responses to one request, expected exactly one");
        }
        if document["Status"] != "SUCCESS" {
            bail!(
                "{}",
                document["Reason"]
                    .as_str()
                    .unwrap_or("FAILED without a reason")
            );
        }
        Ok(document)
    }

    fn request(
        &mut self,
        request_type: &str,
        logical_id: &str,
        resource_type: &str,
        physical_id: Option<&str>,
        properties: &Value,
        old_properties: Option<&Value>,
    ) -> Value {
        self.request_counter += 1;
        let request_id = format!("{:08x}-{:04}", fastrand::u32(..), self.request_counter);
        let mut event = json!({
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": self.bucket.url(&request_id),
            "StackId": self.stack_id(),
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": stringify_scalars(properties),
        });
        if let Some(id) = physical_id {
            event["PhysicalResourceId"] = id.into();
        }
        if let Some(old) = old_properties {
            event["OldResourceProperties"] = stringify_scalars(old);
        }
        event
    }

    fn pseudo_parameters(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("AWS::Region".to_owned(), REGION.to_owned()),
            ("AWS::AccountId".to_owned(), ACCOUNT_ID.to_owned()),
            ("AWS::Partition".to_owned(), "aws".to_owned()),
            ("AWS::URLSuffix".to_owned(), "amazonaws.com".to_owned()),
            ("AWS::StackName".to_owned(), self.name.clone()),
            ("AWS::StackId".to_owned(), self.stack_id()),
        ])
    }

    /// What `Ref` and `Fn::GetAtt` can name now: the deployed resources, and the role SAM makes
    /// for each deployed function without a `Role` (not emulated: the functions run with the
    /// local credentials).
    fn made_now(&self) -> BTreeMap<String, Made> {
        let mut made: BTreeMap<String, Made> = self
            .deployed
            .iter()
            .map(|(id, deployed)| (id.clone(), deployed.made.clone()))
            .collect();
        for (role, function) in self.implicit_resources() {
            if self.deployed.contains_key(&function) {
                let name = format!("{}-{role}-local", self.name);
                made.entry(role).or_insert_with(|| Made {
                    attributes: BTreeMap::from([(
                        "Arn".to_owned(),
                        format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}"),
                    )]),
                    reference: name,
                });
            }
        }
        made
    }

    /// Resources SAM adds for a function (its role), mapped to the function that brings them.
    fn implicit_resources(&self) -> BTreeMap<String, String> {
        self.template
            .resources
            .iter()
            .filter(|(_, resource)| {
                resource["Type"] == "AWS::Serverless::Function"
                    && resource["Properties"].get("Role").is_none()
            })
            .map(|(id, _)| (format!("{id}Role"), id.clone()))
            .collect()
    }

    fn event(&mut self, logical_id: &str, resource_type: &str, status: &str, detail: &str) {
        let stack_id = self.stack_id();
        if logical_id == "(stack)" {
            self.cloud.cloudformation.set_stack(&stack_id, status);
        } else if status.starts_with("DELETE_") && self.deployed.contains_key(logical_id) {
            // The cleanup of a replaced resource: CloudFormation describes the resource by its
            // current (new) physical id, still UPDATE_COMPLETE.
        } else {
            let physical_id = match status {
                "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_IN_PROGRESS" => detail.to_owned(),
                _ => self
                    .deployed
                    .get(logical_id)
                    .map(|deployed| deployed.made.reference.clone())
                    .unwrap_or_default(),
            };
            self.cloud.cloudformation.set_resource(
                &stack_id,
                logical_id,
                &physical_id,
                resource_type,
                status,
            );
        }
        let event = StackEvent {
            logical_id: logical_id.to_owned(),
            resource_type: resource_type.to_owned(),
            status: status.to_owned(),
            detail: detail.to_owned(),
        };
        println!(
            "{:<36} {:<27} {:<38} {}",
            event.status, event.logical_id, event.resource_type, event.detail
        );
        self.events.push(event);
    }
}

/// A number of seconds written as a number or a string.
fn seconds(value: &Value) -> Option<Duration> {
    let number = value.as_u64().or_else(|| value.as_str()?.parse().ok())?;
    Some(Duration::from_secs(number))
}

fn not_emulated(logical_id: &str, resource_type: &str, properties: &Value) -> Made {
    let name = properties
        .get("LogGroupName")
        .or_else(|| properties.get("Name"))
        .and_then(Value::as_str)
        .unwrap_or(logical_id)
        .to_owned();
    Made {
        attributes: BTreeMap::from([(
            "Arn".to_owned(),
            format!(
                "arn:aws:local:{REGION}:{ACCOUNT_ID}:{}/{name}",
                resource_type.replace("::", "-").to_lowercase()
            ),
        )]),
        reference: name,
    }
}

/// CloudFormation hands custom resources every scalar as a string; so does the local deploy, so
/// the functions meet the same input they will meet for real.
fn stringify_scalars(value: &Value) -> Value {
    match value {
        Value::Bool(flag) => Value::String(flag.to_string()),
        Value::Number(number) => Value::String(number.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(stringify_scalars).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, inner)| (key.clone(), stringify_scalars(inner)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The binary a function runs: `Metadata.BuildProperties.Binary` (cargo-lambda builds), or, with
/// `BuildMethod: makefile`, the Makefile's `BINARY_OF_<LogicalId> := <binary>` line, which is
/// what `sam build` copies for it.
fn binary_of(logical_id: &str, resource: &Value) -> anyhow::Result<String> {
    if let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() {
        return Ok(binary.to_owned());
    }
    if resource["Metadata"]["BuildMethod"].as_str() == Some("makefile") {
        let makefile = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Makefile");
        let text = std::fs::read_to_string(makefile)
            .with_context(|| format!("{logical_id}: reading {makefile}"))?;
        let prefix = format!("BINARY_OF_{logical_id}");
        if let Some(binary) = text.lines().find_map(|line| {
            let (name, value) = line.split_once(":=")?;
            (name.trim() == prefix).then(|| value.trim().to_owned())
        }) {
            return Ok(binary);
        }
        bail!(
            "{logical_id}: BuildMethod makefile, but the Makefile has no `{prefix} := <binary>` line"
        );
    }
    bail!(
        "{logical_id}: Metadata names no binary (BuildProperties.Binary, or BuildMethod makefile)"
    )
}
