//! The bodies of the fuzz targets in `fuzz/`, as plain functions: `cargo +nightly fuzz`
//! runs them on generated inputs, and the tests run them on every file of the seed
//! corpus in `fuzz/corpus/<target>/`, so that stable CI covers what fuzzing found.
//!
//! Each one panics when it finds a bug: a panic in the code under test, or a property
//! that does not hold.

use std::{
    sync::{Mutex, OnceLock, PoisonError},
    time::{Duration, UNIX_EPOCH},
};

use azcord_azure::{
    ContainerGroupName, ContainerName, DeploymentName, NameError, ResourceGroupName, Target,
    VmName, WebAppName,
};
use azcord_command::{
    BoxFuture, Dispatcher, InteractionTarget, Outcome, Policy, Registry, RespondError, Responder,
    twilight_model::{
        application::{command::Command, interaction::InteractionType},
        http::interaction::{InteractionResponse, InteractionResponseData},
        id::Id,
    },
};
use azcord_gateway::{EndpointConfig, Inbound, PublicKey, Rejection};
use ed25519_dalek::{Signer as _, SigningKey};

/// The body of one fuzz target: it takes the fuzzer's bytes and panics on a bug.
pub type FuzzTarget = fn(&[u8]);

/// The fuzz targets by name, as `fuzz/fuzz_targets/<name>.rs` and
/// `fuzz/corpus/<name>/` call them.
pub const TARGETS: [(&str, FuzzTarget); 4] = [
    ("endpoint_request", endpoint_request),
    ("interaction", interaction),
    ("command_line", command_line),
    ("resource_names", resource_names),
];

/// The interactions endpoint's request handling, signature first.
///
/// The first byte picks how the rest is sent: even, the rest is a raw request of
/// `signature\ntimestamp\nbody`; odd, the rest is a body that this function signs with
/// the endpoint's key, so that the fuzzer also reaches the decoding behind the check.
pub fn endpoint_request(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // Deriving keys is the slow part; once per process leaves the time to the checks.
    static KEYS: OnceLock<(SigningKey, EndpointConfig)> = OnceLock::new();
    let (key, config) = KEYS.get_or_init(|| {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public_key = hex(key.verifying_key().as_bytes());
        let config = EndpointConfig {
            body_limit: 4096,
            ..EndpointConfig::new(PublicKey::from_hex(&public_key).expect("a valid test key"))
        };
        (key, config)
    });
    let now = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let timestamp = "1750000000";
    let mut headers = http::HeaderMap::new();
    let (body, signed) = if mode % 2 == 1 {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(rest);
        let signature = hex(&key.sign(&message).to_bytes());
        insert(&mut headers, "x-signature-ed25519", signature.as_bytes());
        insert(&mut headers, "x-signature-timestamp", timestamp.as_bytes());
        (rest, true)
    } else {
        let mut parts = rest.splitn(3, |&byte| byte == b'\n');
        let signature = parts.next().unwrap_or_default();
        let timestamp = parts.next().unwrap_or_default();
        let body = parts.next().unwrap_or_default();
        insert(&mut headers, "x-signature-ed25519", signature);
        insert(&mut headers, "x-signature-timestamp", timestamp);
        (body, false)
    };
    let result = azcord_gateway::inspect(config, &headers, body, now);
    if body.len() > config.body_limit {
        assert_eq!(result.err(), Some(Rejection::TooLarge));
        return;
    }
    match (&result, signed) {
        (Ok(Inbound::Ping), true) | (Err(Rejection::Malformed), true) => {}
        (Ok(Inbound::Interaction(interaction)), true) => {
            assert_ne!(interaction.kind, InteractionType::Ping);
        }
        (Err(rejection), true) => panic!("a correctly signed request was refused: {rejection:?}"),
        // The fuzzer cannot forge a signature: anything unsigned by the key is refused.
        (Ok(_), false) => panic!("a request not signed by the key was accepted"),
        (Err(_), false) => {}
    }
}

fn insert(headers: &mut http::HeaderMap, name: &'static str, value: &[u8]) {
    if let Ok(value) = http::HeaderValue::from_bytes(value) {
        headers.insert(name, value);
    }
}

/// Interaction decoding and option resolution: the bytes as the JSON of an interaction,
/// handled by the real dispatcher over every real command (Azure unconfigured, the
/// default policy), with the responses kept in memory. No command may panic, and every
/// handled interaction gets exactly one initial response.
pub fn interaction(data: &[u8]) {
    let Ok(interaction) = serde_json::from_slice::<
        azcord_command::twilight_model::application::interaction::Interaction,
    >(data) else {
        return;
    };
    let (runtime, dispatcher) = fuzz_dispatcher();
    let responder = Recorder::default();
    let finished = runtime.block_on(dispatcher.handle(interaction, &responder, 0));
    assert_ne!(finished.outcome, Outcome::Panic, "a command panicked");
    let responses = responder
        .responses
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .len();
    match finished.outcome {
        Outcome::Skipped => assert_eq!(responses, 0),
        _ => assert_eq!(responses, 1, "{finished:?}"),
    }
}

/// The shell's command-line parser, over the real command definitions. A line it
/// accepts must name a command the registry resolves.
pub fn command_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let (commands, registry) = definitions();
    if let Ok(data) = azcord_sim::terminal::parse_command_line(line, commands) {
        assert!(
            registry.resolve(&data).is_some(),
            "{line:?} parsed to a command the registry does not have: {data:?}"
        );
    }
}

/// The resource name types: a name is accepted only if it is safe in an ARM URL path,
/// and a refusal quotes the input printably.
pub fn resource_names(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    check_name(input, VmName::new(input).map(|name| name.to_string()));
    check_name(
        input,
        ResourceGroupName::new(input).map(|name| name.to_string()),
    );
    check_name(
        input,
        ContainerGroupName::new(input).map(|name| name.to_string()),
    );
    check_name(
        input,
        ContainerName::new(input).map(|name| name.to_string()),
    );
    check_name(input, WebAppName::new(input).map(|name| name.to_string()));
    check_name(
        input,
        DeploymentName::new(input).map(|name| name.to_string()),
    );
    match Target::parse(input, VmName::new) {
        Ok(target) => {
            let trimmed = input.trim();
            let name = target.name.as_str();
            match &target.resource_group {
                Some(group) => assert_eq!(trimmed, format!("{group}/{name}")),
                None => assert_eq!(trimmed, name),
            }
        }
        Err(error) => check_error(&error),
    }
}

fn check_name(input: &str, parsed: Result<String, NameError>) {
    match parsed {
        Ok(name) => {
            assert_eq!(name, input);
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')')),
                "{name:?} is not safe in a URL path"
            );
            assert!(
                !name.chars().all(|c| c == '.'),
                "{name:?} is a dot segment, which a URL path resolves away"
            );
        }
        Err(error) => check_error(&error),
    }
}

fn check_error(error: &NameError) {
    assert!(
        !error.input.chars().any(char::is_control),
        "{:?} quotes a control character",
        error.input
    );
    assert!(error.input.chars().count() <= 81, "{:?}", error.input);
}

/// The real commands with Azure unconfigured, their definitions as Discord registered
/// them (with ids), built once.
fn definitions() -> &'static (Vec<Command>, Registry) {
    static DEFINITIONS: OnceLock<(Vec<Command>, Registry)> = OnceLock::new();
    DEFINITIONS.get_or_init(|| {
        let registry = registry();
        let mut commands = registry.definitions();
        for (index, command) in commands.iter_mut().enumerate() {
            command.id = Id::new_checked(index as u64 + 1);
        }
        (commands, registry)
    })
}

fn registry() -> Registry {
    crate::plugins::registry(
        &crate::azure::unconfigured(),
        crate::plugins::AzureSettings::default(),
    )
    .expect("the commands register")
}

/// A runtime and a dispatcher over the real commands, built once per thread.
fn fuzz_dispatcher() -> (&'static tokio::runtime::Runtime, &'static Dispatcher) {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    static DISPATCHER: OnceLock<Dispatcher> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    });
    let dispatcher = DISPATCHER
        .get_or_init(|| Dispatcher::new(registry(), Policy::default(), Default::default()));
    (runtime, dispatcher)
}

/// Keeps the responses of one interaction in memory.
#[derive(Default)]
struct Recorder {
    responses: Mutex<Vec<InteractionResponse>>,
}

impl Responder for Recorder {
    fn respond<'a>(
        &'a self,
        _: &'a InteractionTarget,
        response: &'a InteractionResponse,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(response.clone());
        Box::pin(async { Ok(()) })
    }

    fn edit_original<'a>(
        &'a self,
        _: &'a InteractionTarget,
        _: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        Box::pin(async { Ok(()) })
    }

    fn followup<'a>(
        &'a self,
        _: &'a InteractionTarget,
        _: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        Box::pin(async { Ok(()) })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
