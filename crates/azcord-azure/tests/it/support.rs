//! Starting the simulator and connecting to it.

use std::{collections::HashMap, time::Duration};

use azcord_azure::{Azure, AzureConfig, RetrySettings, WaitOptions, connect};
use azcord_sim::{ArmSim, ArmSimConfig};

/// A simulator whose operations never finish by themselves (the test finishes them
/// with `finish_transitions`) and which asks for 20 ms between polls.
pub(crate) fn sim_config() -> ArmSimConfig {
    ArmSimConfig {
        transition: Duration::from_secs(3600),
        retry_after: Duration::from_millis(20),
        ..ArmSimConfig::default()
    }
}

pub(crate) async fn start(config: ArmSimConfig) -> ArmSim {
    ArmSim::start(config).await.expect("the simulator starts")
}

/// The environment a deployment against `sim` would have.
pub(crate) fn environment(sim: &ArmSim) -> HashMap<&'static str, String> {
    sim.client_environment().into_iter().collect()
}

/// The configuration read from [`environment`], with retries quick enough for tests.
pub(crate) fn azure_config(sim: &ArmSim) -> AzureConfig {
    let environment = environment(sim);
    let config = AzureConfig::from_env(|name| environment.get(name).cloned())
        .expect("the environment is complete");
    AzureConfig {
        retry: quick_retries(),
        ..config
    }
}

pub(crate) fn quick_retries() -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
        max_elapsed: Duration::from_secs(30),
        attempt_timeout: Duration::from_secs(10),
    }
}

pub(crate) async fn connect_to(sim: &ArmSim) -> Azure {
    connect(azure_config(sim))
        .await
        .expect("connects to the simulator")
}

/// Polls paced by the simulator's 20 ms Retry-After.
pub(crate) fn quick_wait() -> WaitOptions {
    WaitOptions {
        deadline: Duration::from_secs(10),
        default_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(200),
    }
}

/// The requests the simulator answered since `from`, one a line: method, path and
/// query with the subscription and operation ids replaced, and the status.
pub(crate) fn requests_since(sim: &ArmSim, from: usize) -> String {
    let subscription = sim.config().subscription_id.clone();
    sim.requests()
        .iter()
        .skip(from)
        .map(|request| {
            if request.token_request {
                return format!("token -> {}\n", request.status);
            }
            let path = request.path.replace(&subscription, "{sub}");
            let mut segments: Vec<String> = path.split('/').map(str::to_owned).collect();
            for at in 1..segments.len() {
                if segments[at - 1] == "operations" {
                    segments[at] = "{id}".to_owned();
                }
            }
            let query = request
                .query
                .as_deref()
                .map(|query| format!("?{query}"))
                .unwrap_or_default();
            format!(
                "{} {}{query} -> {}\n",
                request.method,
                segments.join("/"),
                request.status
            )
        })
        .collect()
}
