//! `cargo xtask deploy`: deploy the bot's image to Azure Container Instances with the ARM
//! template `docker/aci.json`, make sure the container group runs, and set a Honeycomb
//! deploy marker.
//!
//! It uses the bot's own Azure plumbing (azcord-azure): the same credential chain, the
//! same `AZURE_RESOURCE_MANAGER_ENDPOINT` and `AZURE_AUTHORITY_HOST` overrides, and the
//! same operation polling, so it runs against the ARM simulator in tests and on a laptop.
//! Secrets (`DISCORD_TOKEN`, `HONEYCOMB_API_KEY`, `ACR_PASSWORD`, `AZCORD_STORE_URL`,
//! `AZCORD_STATE_KEY`) go to Azure only as `secureString` parameters; they are never
//! printed, traced or put on a command line.

#![allow(
    clippy::print_stdout,
    reason = "the plan, each step and the outcome are what deploy shows its user"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use azcord_azure::{
    AzureConfig, ContainerGroupAction, ContainerGroupName, DeploymentName, ParameterValue,
    ResourceGroupName, Secret, TemplateDeployment, WaitOptions, wait_for,
};
use clap::Args;
use opentelemetry::KeyValue;
use serde_json::{Value, json};

use crate::trace::{BuildSpan, SpanPlace, SpanSink, duration_table};

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The resource group of the container group.
    #[arg(long)]
    resource_group: String,
    /// The container group's name.
    #[arg(long)]
    name: String,
    /// The image to run, best pinned by digest: `HOST/azcord@sha256:…`.
    #[arg(
        long,
        required_unless_present = "image_file",
        conflicts_with = "image_file"
    )]
    image: Option<String>,
    /// A file holding the image reference (what `cargo xtask publish` writes).
    #[arg(long)]
    image_file: Option<PathBuf>,
    /// Resource groups the bot may manage (its role assignments); the deployment's own
    /// group by default.
    #[arg(long, env = "AZCORD_MANAGED_RESOURCE_GROUPS", value_delimiter = ',')]
    manage: Vec<String>,
    /// The ARM template; `docker/aci.json` by default.
    #[arg(long)]
    template: Option<PathBuf>,
    /// Minutes to wait for the deployment and the start.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Print the plan and the parameters, secrets masked, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Everything the deployment needs, read and checked before any call.
struct Plan {
    resource_group: ResourceGroupName,
    container_group: ContainerGroupName,
    deployment_name: DeploymentName,
    deployment: TemplateDeployment,
    marker: Option<Marker>,
    wait: WaitOptions,
}

/// A Honeycomb deploy marker to send once the bot runs.
struct Marker {
    url: String,
    key: Secret,
    body: Value,
}

/// Times the steps, prints each with its duration, and keeps them as spans.
struct Steps {
    parent: SpanPlace,
    spans: Vec<BuildSpan>,
    /// Time spent waiting for Azure to finish operations, which deploy cannot shorten.
    azure_wait: Duration,
}

/// How long a deploy took, and how much of that was Azure's own work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeployTimes {
    pub(crate) total: Duration,
    /// Time spent waiting for operations to finish, which deploy cannot shorten.
    pub(crate) azure_wait: Duration,
}

pub(crate) fn run(args: &DeployArgs) -> anyhow::Result<()> {
    let lookup = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    };
    execute(args, &lookup).map(drop)
}

/// Deploys as `args` say, reading settings and secrets through `lookup`; `None` for a
/// dry run.
pub(crate) fn execute(
    args: &DeployArgs,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<DeployTimes>> {
    let plan = plan(args, lookup)?;
    print_plan(&plan, args.dry_run);
    if args.dry_run {
        println!("dry run: nothing was changed");
        return Ok(None);
    }
    let azure_config = AzureConfig::from_env(lookup)?;
    let sink = SpanSink::from_env()?;
    let parent = lookup("TRACEPARENT")
        .and_then(|value| SpanPlace::from_traceparent(&value))
        .unwrap_or_else(SpanPlace::new_root);
    let mut steps = Steps {
        parent,
        spans: Vec::new(),
        azure_wait: Duration::ZERO,
    };
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(deploy(&plan, azure_config, &mut steps));
    let total = started.elapsed();
    sink.send(std::mem::take(&mut steps.spans));
    sink.shutdown();
    result?;
    println!(
        "deployed {} in {:.1} s, {:.1} s of it waiting for Azure",
        plan.container_group,
        total.as_secs_f64(),
        steps.azure_wait.as_secs_f64()
    );
    Ok(Some(DeployTimes {
        total,
        azure_wait: steps.azure_wait,
    }))
}

/// Arguments for deploying `image` as `resource_group/name` with the default template.
pub(crate) fn args_for(resource_group: &str, name: &str, image: &str) -> DeployArgs {
    DeployArgs {
        resource_group: resource_group.to_owned(),
        name: name.to_owned(),
        image: Some(image.to_owned()),
        image_file: None,
        manage: Vec::new(),
        template: None,
        timeout: 30,
        dry_run: false,
    }
}

fn plan(args: &DeployArgs, lookup: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Plan> {
    let resource_group = ResourceGroupName::new(&args.resource_group)?;
    let container_group = ContainerGroupName::new(&args.name)?;
    let image = match (&args.image, &args.image_file) {
        (Some(image), _) => image.trim().to_owned(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the image reference from {}", file.display()))?
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or_default()
            .trim()
            .to_owned(),
        (None, None) => anyhow::bail!("give --image or --image-file"),
    };
    let registry = registry_of(&image)?;
    let sha = crate::git_short_sha();
    let deployment_name = DeploymentName::new(&format!("azcord-{sha}"))?;
    let template_path = args
        .template
        .clone()
        .unwrap_or_else(|| crate::project_root().join("docker/aci.json"));
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(&template_path)
            .with_context(|| format!("cannot read {}", template_path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", template_path.display()))?;

    let discord_token = lookup("DISCORD_TOKEN")
        .ok_or_else(|| anyhow::anyhow!("DISCORD_TOKEN is not set: the bot needs its token"))?;
    // The container group pulls the image with these; the template always sends them.
    let (registry_username, registry_password) =
        match (lookup("ACR_USERNAME"), lookup("ACR_PASSWORD")) {
            (Some(username), Some(password)) => (username, password),
            _ => anyhow::bail!(
                "set ACR_USERNAME and ACR_PASSWORD: the container group pulls the image with them"
            ),
        };
    let honeycomb_key = lookup("HONEYCOMB_API_KEY");
    let (store_url, state_key) = store_settings(lookup)?;
    let dataset = lookup("HONEYCOMB_DATASET").unwrap_or_else(|| "azcord".to_owned());
    let managed: Vec<String> = if args.manage.is_empty() {
        vec![resource_group.to_string()]
    } else {
        args.manage
            .iter()
            .map(|group| ResourceGroupName::new(group.trim()).map(|group| group.to_string()))
            .collect::<Result<_, _>>()?
    };

    let offered = [
        (
            "name",
            ParameterValue::Plain(json!(container_group.as_str())),
        ),
        ("image", ParameterValue::Plain(json!(image))),
        ("registryServer", ParameterValue::Plain(json!(registry))),
        (
            "registryUsername",
            ParameterValue::Plain(json!(registry_username)),
        ),
        (
            "registryPassword",
            ParameterValue::Secure(Secret::new(registry_password)),
        ),
        (
            "discordToken",
            ParameterValue::Secure(Secret::new(discord_token)),
        ),
        (
            "honeycombApiKey",
            ParameterValue::Secure(Secret::new(honeycomb_key.clone().unwrap_or_default())),
        ),
        ("honeycombDataset", ParameterValue::Plain(json!(dataset))),
        (
            "storeUrl",
            ParameterValue::Secure(Secret::new(store_url.unwrap_or_default())),
        ),
        (
            "stateKey",
            ParameterValue::Secure(Secret::new(state_key.unwrap_or_default())),
        ),
        (
            "managedResourceGroups",
            ParameterValue::Plain(json!(managed)),
        ),
    ];
    let parameters = template_parameters(&template, offered)?;

    let marker = honeycomb_key.map(|key| {
        let endpoint = lookup("HONEYCOMB_API_ENDPOINT")
            .unwrap_or_else(|| "https://api.honeycomb.io".to_owned());
        let mut body = json!({
            "message": format!("deploy azcord {} ({sha})", crate::workspace_version()),
            "type": "deploy",
        });
        if let Some(url) = lookup("CIRCLE_BUILD_URL") {
            body["url"] = json!(url);
        }
        Marker {
            url: format!("{}/1/markers/{dataset}", endpoint.trim_end_matches('/')),
            key: Secret::new(key),
            body,
        }
    });
    let deadline = Duration::from_secs(args.timeout * 60);
    Ok(Plan {
        resource_group,
        container_group,
        deployment_name,
        deployment: TemplateDeployment {
            template,
            parameters,
        },
        marker,
        wait: WaitOptions {
            deadline,
            ..WaitOptions::default()
        },
    })
}

/// The Redis store the bot is to use (`AZCORD_STORE_URL`) and the key sealing its
/// tokens (`AZCORD_STATE_KEY`), checked now rather than by a container that would
/// not start: a Redis store needs the key, and the key is 64 hexadecimal digits.
fn store_settings(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let url = lookup("AZCORD_STORE_URL");
    let key = lookup("AZCORD_STATE_KEY");
    if let Some(url) = &url {
        anyhow::ensure!(
            url.starts_with("redis://") || url.starts_with("rediss://"),
            "AZCORD_STORE_URL must be a redis:// or rediss:// URL"
        );
        anyhow::ensure!(
            key.is_some(),
            "AZCORD_STORE_URL is set but AZCORD_STATE_KEY is not: a Redis store needs the key that seals interaction tokens (`openssl rand -hex 32`)"
        );
    }
    if let Some(key) = &key {
        anyhow::ensure!(
            key.len() == 64 && key.bytes().all(|byte| byte.is_ascii_hexdigit()),
            "AZCORD_STATE_KEY must be 64 hexadecimal digits (`openssl rand -hex 32`)"
        );
    }
    Ok((url, key))
}

/// The parameters the template declares, from those offered; a declared parameter
/// with no default and no value is an error, and a secret goes only to a
/// `secureString` parameter.
fn template_parameters(
    template: &Value,
    offered: impl IntoIterator<Item = (&'static str, ParameterValue)>,
) -> anyhow::Result<Vec<(String, ParameterValue)>> {
    let declared = template["parameters"]
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("the template declares no parameters"))?;
    let mut parameters = Vec::new();
    for (name, value) in offered {
        let Some(declaration) = declared.get(name) else {
            continue;
        };
        let secure = declaration["type"]
            .as_str()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("securestring"));
        match &value {
            ParameterValue::Secure(_) if !secure => anyhow::bail!(
                "the template's parameter `{name}` holds a secret but is not a secureString"
            ),
            // An empty optional value leaves the template's default in place.
            ParameterValue::Secure(secret)
                if secret.is_empty() && declaration.get("defaultValue").is_some() => {}
            ParameterValue::Plain(Value::String(text))
                if text.is_empty() && declaration.get("defaultValue").is_some() => {}
            _ => parameters.push((name.to_owned(), value)),
        }
    }
    for (name, declaration) in declared {
        let given = parameters.iter().any(|(given, _)| given == name);
        anyhow::ensure!(
            given || declaration.get("defaultValue").is_some(),
            "the template's parameter `{name}` has no default and deploy has no value for it"
        );
    }
    Ok(parameters)
}

/// The registry host of an image reference `HOST[:PORT]/REPOSITORY(:TAG|@DIGEST)`.
fn registry_of(image: &str) -> anyhow::Result<String> {
    let (host, rest) = image
        .split_once('/')
        .filter(|(host, rest)| !host.is_empty() && !rest.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "`{}` is not an image reference like HOST/azcord@sha256:…",
                image.escape_default()
            )
        })?;
    anyhow::ensure!(
        host.contains('.') || host.contains(':') || host == "localhost",
        "`{}` names no registry host",
        image.escape_default()
    );
    anyhow::ensure!(
        !rest.contains(char::is_whitespace),
        "`{}` is not an image reference",
        image.escape_default()
    );
    Ok(host.to_owned())
}

fn print_plan(plan: &Plan, dry_run: bool) {
    println!(
        "{} deployment `{}` of docker/aci.json to resource group `{}` (incremental):",
        if dry_run { "would create" } else { "creating" },
        plan.deployment_name,
        plan.resource_group
    );
    for (name, value) in &plan.deployment.parameters {
        let shown = match value {
            ParameterValue::Secure(secret) if secret.is_empty() => "(secure, empty)".to_owned(),
            ParameterValue::Secure(_) => "******** (secure)".to_owned(),
            ParameterValue::Plain(value) => value.to_string(),
        };
        println!("  {name:<24} {shown}");
    }
    println!(
        "then: wait for the deployment, start container group `{}` if it is not running{}",
        plan.container_group,
        if plan.marker.is_some() {
            ", and set a Honeycomb deploy marker"
        } else {
            ""
        }
    );
}

async fn deploy(plan: &Plan, config: AzureConfig, steps: &mut Steps) -> anyhow::Result<()> {
    let (azure, deployments) = steps
        .timed("connect to azure", async {
            azcord_azure::connect_deployments(config).await
        })
        .await?;
    let pending = steps
        .timed("deploy the template", async {
            deployments
                .begin(
                    &plan.resource_group,
                    &plan.deployment_name,
                    &plan.deployment,
                )
                .await
        })
        .await?;
    let waited = steps
        .waiting("wait for the deployment", async {
            wait_for(&*azure.operations, &pending, plan.wait, |_| {}).await
        })
        .await;
    if let Err(error) = waited {
        // The operation's status says that it failed; the deployment says what failed.
        let summary = deployments
            .get(&plan.resource_group, &plan.deployment_name)
            .await;
        match summary {
            Ok(summary) if summary.error.is_some() => {
                let error = summary.error.map(|error| error.into_azure_error());
                anyhow::bail!(
                    "deployment `{}` failed: {}",
                    plan.deployment_name,
                    error.map(|error| error.to_string()).unwrap_or_default()
                );
            }
            _ => anyhow::bail!("deployment `{}` failed: {error}", plan.deployment_name),
        }
    }
    let group = steps
        .timed("check the container group", async {
            azure
                .container_groups
                .get(&plan.resource_group, &plan.container_group)
                .await
        })
        .await?;
    let state = group.state.clone().unwrap_or_else(|| "unknown".to_owned());
    if state.eq_ignore_ascii_case("running") {
        println!("  container group `{}` is running", plan.container_group);
    } else {
        println!(
            "  container group `{}` is {state}: starting it",
            plan.container_group
        );
        let pending = steps
            .timed("start the container group", async {
                azure
                    .container_groups
                    .begin(
                        &plan.resource_group,
                        &plan.container_group,
                        ContainerGroupAction::Start,
                    )
                    .await
            })
            .await?;
        steps
            .waiting("wait for the start", async {
                wait_for(&*azure.operations, &pending, plan.wait, |_| {}).await
            })
            .await?;
    }
    if let Some(marker) = &plan.marker {
        let sent = steps
            .timed("set the deploy marker", send_marker(marker))
            .await;
        if let Err(error) = sent {
            eprintln!("warning: the Honeycomb deploy marker was not set: {error}");
        }
    }
    eprint!("{}", steps.table());
    Ok(())
}

async fn send_marker(marker: &Marker) -> anyhow::Result<()> {
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?
        .post(&marker.url)
        .header("X-Honeycomb-Team", marker.key.expose())
        .json(&marker.body)
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("{}", error.without_url()))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "Honeycomb answered {status}");
    Ok(())
}

impl Steps {
    /// Runs `step`, printing and recording how long it took.
    async fn timed<T, E: std::fmt::Display>(
        &mut self,
        name: &str,
        step: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let start = SystemTime::now();
        let started = Instant::now();
        let result = step.await;
        let elapsed = started.elapsed();
        let failure = result.as_ref().err().map(ToString::to_string);
        println!(
            "{} {name} ({:.2} s)",
            if failure.is_none() { "✓" } else { "✗" },
            elapsed.as_secs_f64()
        );
        self.spans.push(BuildSpan {
            place: SpanPlace::child_of(self.parent),
            name: name.to_owned(),
            start,
            end: start + elapsed,
            fields: vec![KeyValue::new("step", name.to_owned())],
            failure,
        });
        result
    }

    /// [`Steps::timed`] for a step that only waits for Azure.
    async fn waiting<T, E: std::fmt::Display>(
        &mut self,
        name: &str,
        step: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = self.timed(name, step).await;
        self.azure_wait += started.elapsed();
        result
    }

    fn table(&self) -> String {
        let rows: Vec<_> = self
            .spans
            .iter()
            .map(|span| {
                let outcome = if span.failure.is_some() {
                    "failed"
                } else {
                    "ok"
                };
                (span.name.clone(), span.duration(), outcome.to_owned())
            })
            .collect();
        duration_table(&rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_name_their_registry() {
        let cases = [
            (
                "azcordacr.azurecr.io/azcord@sha256:ab",
                Ok("azcordacr.azurecr.io"),
            ),
            ("127.0.0.1:5000/azcord:1.2.3", Ok("127.0.0.1:5000")),
            ("localhost/azcord:latest", Ok("localhost")),
            ("azcord:latest", Err(())),
            ("library/azcord", Err(())),
            ("", Err(())),
        ];
        for (image, expected) in cases {
            assert_eq!(
                registry_of(image).map_err(|_| ()),
                expected.map(str::to_owned),
                "{image}"
            );
        }
    }

    #[test]
    fn only_declared_parameters_are_sent_and_secrets_need_secure_strings() {
        let template = json!({"parameters": {
            "image": {"type": "string"},
            "discordToken": {"type": "securestring"},
            "honeycombApiKey": {"type": "secureString", "defaultValue": ""},
            "cpu": {"type": "string", "defaultValue": "0.25"},
        }});
        let offered = || {
            [
                ("image", ParameterValue::Plain(json!("r.io/a@sha256:1"))),
                ("discordToken", ParameterValue::Secure(Secret::new("t"))),
                ("honeycombApiKey", ParameterValue::Secure(Secret::new(""))),
                ("registryServer", ParameterValue::Plain(json!("r.io"))),
            ]
        };
        let names: Vec<String> = template_parameters(&template, offered())
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["image", "discordToken"]);

        let plain_secret = json!({"parameters": {"discordToken": {"type": "string"}}});
        let error = template_parameters(&plain_secret, offered()).unwrap_err();
        assert!(error.to_string().contains("not a secureString"), "{error}");

        let unmet = json!({"parameters": {"adminPort": {"type": "int"}}});
        let error = template_parameters(&unmet, offered()).unwrap_err();
        assert!(
            error.to_string().contains("`adminPort` has no default"),
            "{error}"
        );
    }
}
