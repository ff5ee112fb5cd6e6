//! A test-only custom resource: its properties say how to behave, so tests can check the core's
//! guarantees (one answer on success, error, panic, deadline, bad input, failed start-up) on a
//! real binary served through the Runtime API.

use std::time::Duration;

use custom_resource::{CustomResource, Failure, Outcome, Request, Step, Update};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Properties {
    /// succeed | fail | panic | hang | late
    behaviour: String,
    /// For `late`: how long the work takes before it acts.
    #[serde(default, deserialize_with = "custom_resource::lenient::number")]
    late_millis: u64,
    /// For `late`: where the work, once finished, PUTs what it did (a stand-in for a resource it
    /// would create), so a test can see work that outlived the deadline.
    #[serde(default)]
    side_effect_url: Option<String>,
    #[serde(default, deserialize_with = "custom_resource::lenient::number")]
    data_bytes: usize,
    #[serde(default)]
    secret: Option<String>,
}

struct Probe;

impl Probe {
    async fn act(&self, properties: &Properties, id: String) -> anyhow::Result<Outcome> {
        match properties.behaviour.as_str() {
            "succeed" => Ok(Outcome::new(id).with("Payload", "p".repeat(properties.data_bytes))),
            "fail" => anyhow::bail!(
                "probe failed as asked (secret {})",
                properties.secret.as_deref().unwrap_or("none")
            ),
            "panic" => panic!("probe panicked as asked"),
            "hang" => loop {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            },
            // Work that does finish, but after the deadline: if it were not stopped it would act
            // and succeed after CloudFormation had already been told FAILED.
            "late" => {
                tokio::time::sleep(Duration::from_millis(properties.late_millis)).await;
                if let Some(url) = &properties.side_effect_url {
                    https_client::reqwest_builder()
                        .build()?
                        .put(url)
                        .body(format!("late work of {id} finished"))
                        .send()
                        .await?;
                }
                tracing::info!("probe late work finished");
                Ok(Outcome::new(id))
            }
            other => anyhow::bail!(
                "Behaviour: unknown value {other:?}; expected succeed, fail, panic, hang or late"
            ),
        }
    }
}

impl CustomResource for Probe {
    type Properties = Properties;
    const SENSITIVE_PROPERTIES: &'static [&'static str] = &["Secret"];

    async fn create(&self, request: &Request, properties: Properties) -> Result<Step, Failure> {
        let id = format!("probe/{}", request.owner.logical_resource_id);
        Ok(self.act(&properties, id).await?.into())
    }

    async fn update(&self, _: &Request, update: Update<Properties>) -> Result<Step, Failure> {
        Ok(self
            .act(&update.new, update.physical_resource_id)
            .await?
            .into())
    }

    async fn delete(
        &self,
        _: &Request,
        physical_resource_id: &str,
        properties: Properties,
    ) -> Result<Step<()>, Failure> {
        tracing::info!(physical_resource_id, "probe delete called");
        self.act(&properties, physical_resource_id.to_owned())
            .await?;
        Ok(Step::Done(()))
    }

    async fn other_event(
        &self,
        event: serde_json::Value,
        _: std::time::Instant,
    ) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::json!({ "echo": event }))
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    custom_resource::run(async {
        if let Ok(problem) = std::env::var("PROBE_START_FAILURE") {
            anyhow::bail!("{problem}");
        }
        Ok(Probe)
    })
    .await
}
