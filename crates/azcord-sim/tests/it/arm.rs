//! The ARM simulator over loopback with HTTP/1.1 over TLS: tokens, auth, lists and paging,
//! long-running operations, faults, container groups, web apps and deployments.

use std::{sync::Arc, time::Duration};

use azcord_sim::{ArmSim, ArmSimConfig, DeploymentState, PowerState, SimWebApp};
use expect_test::expect;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;

use crate::support::PATIENCE;

const API: &str = "api-version=2024-07-01";
pub(crate) const ACI_API: &str = "api-version=2024-05-01-preview";
pub(crate) const RESOURCES_API: &str = "api-version=2021-04-01";
const WEB_API: &str = "api-version=2024-04-01";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A simulator with its service principal's token.
pub(crate) struct Azure {
    pub(crate) sim: ArmSim,
    token: String,
}

impl Azure {
    pub(crate) async fn start(config: ArmSimConfig) -> Self {
        let sim = ArmSim::start(config).await.expect("the simulator starts");
        let reply = request_token(
            &sim,
            &sim.config().client_secret,
            "https://management.azure.com/.default",
        )
        .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let token = reply.body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned();
        Self { sim, token }
    }

    /// `/subscriptions/{sub}` + `rest`.
    pub(crate) fn sub(&self, rest: &str) -> String {
        format!("/subscriptions/{}{rest}", self.sim.config().subscription_id)
    }

    pub(crate) async fn get(&self, target: &str) -> Reply {
        send(
            &self.sim,
            "GET",
            target,
            &[("Authorization", &self.bearer())],
            None,
        )
        .await
    }

    pub(crate) async fn post(&self, target: &str) -> Reply {
        send(
            &self.sim,
            "POST",
            target,
            &[("Authorization", &self.bearer())],
            Some(("application/json", "")),
        )
        .await
    }

    pub(crate) async fn put(&self, target: &str, body: &Value) -> Reply {
        let body = body.to_string();
        send(
            &self.sim,
            "PUT",
            target,
            &[("Authorization", &self.bearer())],
            Some(("application/json", &body)),
        )
        .await
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn power(&self, group: &str, name: &str) -> PowerState {
        self.sim.vm(group, name).expect("the VM exists").power_state
    }
}

/// A quick config: tiny retry hints, a long transition that tests finish by hand.
pub(crate) fn config() -> ArmSimConfig {
    ArmSimConfig {
        retry_after: Duration::from_millis(20),
        transition: Duration::from_secs(600),
        ..ArmSimConfig::default()
    }
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// One HTTP/1.1 request; `target` is a path or an absolute URL on the simulator.
async fn send(
    sim: &ArmSim,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Reply {
    let endpoint = sim.endpoint();
    let authority = endpoint
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let path = target
        .strip_prefix(endpoint.trim_end_matches('/'))
        .unwrap_or(target);
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let (content_type, body) = body.unwrap_or(("", ""));
    if !content_type.is_empty() {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));

    let tcp = TcpStream::connect(&authority).await.expect("connects");
    let mut stream = tls_connector(sim)
        .connect(
            ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
            tcp,
        )
        .await
        .expect("the simulator's certificate chains to its CA");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut answer))
        .await
        .expect("answers in time")
        .expect("reads");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).expect("a JSON body")
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// A TLS client that trusts the simulator's CA, and nothing else.
fn tls_connector(sim: &ArmSim) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(sim.ca_pem().as_bytes()) {
        roots
            .add(certificate.expect("a PEM certificate"))
            .expect("a root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls 1.2 and 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// Form-encodes `pairs` like an OAuth client.
fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(byte).to_string()
                }
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The client credentials request azure_identity's `ClientSecretCredential` sends.
async fn request_token(sim: &ArmSim, secret: &str, scope: &str) -> Reply {
    let config = sim.config();
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("scope", scope),
        ("client_id", &config.client_id),
        ("client_secret", secret),
    ]);
    let path = format!("/{}/oauth2/v2.0/token", config.tenant_id);
    send(
        sim,
        "POST",
        &path,
        &[("Accept", "application/json")],
        Some(("application/x-www-form-urlencoded", &body)),
    )
    .await
}

#[tokio::test]
async fn a_service_principal_gets_a_token_and_bad_credentials_get_aad_errors() {
    let sim = ArmSim::start(config()).await.unwrap();
    let config = sim.config().clone();

    let reply = request_token(
        &sim,
        &config.client_secret,
        &format!("{}.default", sim.endpoint()),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    assert_eq!(reply.body["ext_expires_in"], 3600);
    assert!(reply.body["access_token"].as_str().unwrap().len() > 32);

    let tenant_path = format!("/{}/oauth2/v2.0/token", config.tenant_id);
    // Workload identity: the federated service account token instead of the secret.
    let federated = form(&[
        ("grant_type", "client_credentials"),
        ("scope", "https://management.azure.com/.default"),
        ("client_id", &config.client_id),
        ("client_assertion", &config.federated_token),
        ("client_assertion_type", JWT_BEARER),
    ]);
    let reply = send(
        &sim,
        "POST",
        &tenant_path,
        &[],
        Some(("application/x-www-form-urlencoded", &federated)),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");

    let good = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("scope", "https://management.azure.com/.default".to_owned()),
            ("client_id", config.client_id.clone()),
            ("client_secret", config.client_secret.clone()),
        ];
        for (key, value) in extra {
            pairs.retain(|(existing, _)| existing != key);
            if !value.is_empty() {
                pairs.push((key, (*value).to_owned()));
            }
        }
        pairs
    };
    let cases = [
        (
            tenant_path.clone(),
            good(&[("client_secret", "wrong")]),
            401,
            "invalid_client",
            7_000_215,
        ),
        (
            tenant_path.clone(),
            good(&[("client_secret", "")]),
            401,
            "invalid_client",
            7_000_218,
        ),
        (
            tenant_path.clone(),
            good(&[("client_id", "someone-else")]),
            400,
            "unauthorized_client",
            700_016,
        ),
        (
            tenant_path.clone(),
            good(&[("grant_type", "password")]),
            400,
            "unsupported_grant_type",
            70_003,
        ),
        (
            tenant_path.clone(),
            good(&[("scope", "https://management.azure.com/user_impersonation")]),
            400,
            "invalid_scope",
            1_002_012,
        ),
        (
            tenant_path.clone(),
            good(&[("scope", "https://graph.microsoft.com/.default")]),
            400,
            "invalid_resource",
            500_011,
        ),
        (
            tenant_path.clone(),
            good(&[("scope", "")]),
            400,
            "invalid_request",
            900_144,
        ),
        (
            "/other-tenant/oauth2/v2.0/token".to_owned(),
            good(&[]),
            400,
            "invalid_request",
            90_002,
        ),
        (
            tenant_path.clone(),
            good(&[
                ("client_secret", ""),
                (
                    "client_assertion",
                    "a-token-no-federated-credential-matches",
                ),
                ("client_assertion_type", JWT_BEARER),
            ]),
            400,
            "invalid_client",
            70_021,
        ),
        (
            tenant_path.clone(),
            good(&[
                ("client_secret", ""),
                ("client_assertion", "sim-federated-service-account-token"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:grant-type:saml2-bearer",
                ),
            ]),
            400,
            "invalid_request",
            50_027,
        ),
    ];
    for (path, pairs, status, error, code) in cases {
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .collect();
        let body = form(&pairs);
        let reply = send(
            &sim,
            "POST",
            &path,
            &[],
            Some(("application/x-www-form-urlencoded", &body)),
        )
        .await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (status, Some(error)),
            "{pairs:?}"
        );
        assert_eq!(reply.body["error_codes"], json!([code]));
        let description = reply.body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("AADSTS{code}: ")),
            "{description}"
        );
    }

    assert_eq!(sim.token_requests(), 12);
    let scopes = sim.token_scopes();
    assert_eq!(scopes[0], format!("{}.default", sim.endpoint()));
    assert_eq!(scopes[1], "https://management.azure.com/.default");
    let accepted: Vec<bool> = sim
        .requests()
        .iter()
        .map(|request| request.authorized)
        .collect();
    assert_eq!(
        accepted,
        [
            true, true, false, false, false, false, false, false, false, false, false, false
        ]
    );
    assert!(
        sim.requests()
            .iter()
            .all(|request| request.token_request && request.body.is_none())
    );
}

#[tokio::test]
async fn arm_calls_need_a_valid_token_and_an_api_version() {
    let azure = Azure::start(config()).await;
    let vm =
        azure.sub("/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-1");
    let with_api = format!("{vm}?{API}");
    let bearer = azure.bearer();
    let cases: [(&str, Option<&str>, u16, &str); 5] = [
        (&with_api, None, 401, "AuthenticationFailed"),
        (
            &with_api,
            Some("Basic dXNlcjpwdw=="),
            401,
            "AuthenticationFailed",
        ),
        (
            &with_api,
            Some("Bearer not-a-token"),
            401,
            "InvalidAuthenticationToken",
        ),
        (&vm, Some(&bearer), 400, "MissingApiVersionParameter"),
        (&with_api, Some(&bearer), 200, ""),
    ];
    for (target, authorization, status, code) in cases {
        let headers: Vec<(&str, &str)> = authorization
            .map(|value| ("Authorization", value))
            .into_iter()
            .collect();
        let reply = send(&azure.sim, "GET", target, &headers, None).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (status, code),
            "{authorization:?} {target}"
        );
        if status == 401 {
            assert!(
                reply
                    .header("www-authenticate")
                    .unwrap()
                    .starts_with("Bearer authorization_uri=")
            );
        }
    }

    azure.sim.expire_tokens();
    let reply = azure.get(&with_api).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (401, "ExpiredAuthenticationToken")
    );
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("The access token expiry UTC time '"),
        "{message}"
    );

    let arm: Vec<(u16, bool)> = azure
        .sim
        .requests()
        .iter()
        .filter(|request| !request.token_request)
        .map(|request| (request.status, request.authorized))
        .collect();
    assert_eq!(
        arm,
        [
            (401, false),
            (401, false),
            (401, false),
            (400, true),
            (200, true),
            (401, false)
        ]
    );
}

#[tokio::test]
async fn list_all_with_status_only_pages_through_every_vm() {
    let azure = Azure::start(config()).await;
    let mut next = Some(azure.sub(&format!(
        "/providers/Microsoft.Compute/virtualMachines?{API}&statusOnly=true"
    )));
    let mut pages = Vec::new();
    let mut rows = Vec::new();
    while let Some(target) = next {
        let reply = azure.get(&target).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let values = reply.body["value"].as_array().unwrap();
        pages.push(values.len());
        for vm in values {
            let group = vm["id"]
                .as_str()
                .unwrap()
                .split('/')
                .nth(4)
                .unwrap()
                .to_owned();
            let statuses = vm["properties"]["instanceView"]["statuses"]
                .as_array()
                .unwrap();
            rows.push(format!(
                "{group}/{} {} {} {}",
                vm["name"].as_str().unwrap(),
                vm["location"].as_str().unwrap(),
                vm["properties"]["hardwareProfile"]["vmSize"]
                    .as_str()
                    .unwrap(),
                statuses[1]["code"].as_str().unwrap(),
            ));
        }
        next = reply.body["nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(
                link.starts_with(&azure.sim.endpoint()) && link.contains("statusOnly=true"),
                "{link}"
            );
        }
    }
    assert_eq!(pages, [5, 5, 2]);
    expect![[r#"
        dev-sandbox/build-agent eastus Standard_D4s_v5 PowerState/deallocated
        dev-sandbox/jump-box eastus Standard_B1s PowerState/running
        dev-sandbox/win-test eastus Standard_B2s PowerState/deallocated
        prod-data/db-1 westeurope Standard_E4s_v5 PowerState/running
        prod-data/db-2 westeurope Standard_E4s_v5 PowerState/deallocated
        prod-data/etl-worker northeurope Standard_F4s_v2 PowerState/stopped
        prod-web/cache-1 westeurope Standard_E2s_v5 PowerState/running
        prod-web/web-1 westeurope Standard_D2s_v5 PowerState/running
        prod-web/web-2 westeurope Standard_D2s_v5 PowerState/running
        prod-web/web-3 westeurope Standard_D2s_v5 PowerState/running
        staging/api-1 westeurope Standard_B2ms PowerState/running
        staging/web-1 westeurope Standard_B2s PowerState/stopped"#]]
    .assert_eq(&rows.join("\n"));
}

#[tokio::test]
async fn lists_by_resource_group_and_gets_carry_power_state_on_request() {
    let azure = Azure::start(config()).await;
    let list = azure.sub("/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines");

    let plain = azure.get(&format!("{list}?{API}")).await;
    assert_eq!(plain.body["value"].as_array().unwrap().len(), 4);
    assert_eq!(plain.body.get("nextLink"), None);
    assert_eq!(
        plain.body["value"][0]["properties"].get("instanceView"),
        None
    );
    let expanded = azure
        .get(&format!("{list}?{API}&$expand=instanceView"))
        .await;
    assert_eq!(
        expanded.body["value"][0]["properties"]["instanceView"]["statuses"][1]["code"],
        "PowerState/running"
    );

    let vm = azure.sub("/resourceGroups/staging/providers/Microsoft.Compute/virtualMachines/web-1");
    let reply = azure.get(&format!("{vm}?{API}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body["properties"]["hardwareProfile"]["vmSize"],
        "Standard_B2s"
    );
    assert_eq!(
        reply.body["properties"]["storageProfile"]["osDisk"]["osType"],
        "Linux"
    );
    assert_eq!(
        reply.body["tags"],
        json!({ "env": "staging", "role": "web" })
    );
    assert_eq!(reply.body["properties"].get("instanceView"), None);
    let reply = azure.get(&format!("{vm}?{API}&$expand=instanceView")).await;
    assert_eq!(
        reply.body["properties"]["instanceView"]["statuses"][1]["displayStatus"],
        "VM stopped"
    );
    let reply = azure.get(&format!("{vm}/instanceView?{API}")).await;
    let codes: Vec<&str> = reply.body["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|status| status["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ProvisioningState/succeeded", "PowerState/stopped"]);
}

#[tokio::test]
async fn paths_and_query_names_are_case_insensitive() {
    let azure = Azure::start(config()).await;
    let sub = &azure.sim.config().subscription_id;
    let targets = [
        format!(
            "/subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-1?{API}"
        ),
        format!(
            "/SUBSCRIPTIONS/{}/RESOURCEGROUPS/PROD-WEB/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/WEB-1?API-VERSION=2024-07-01",
            sub.to_uppercase()
        ),
        format!(
            "/subscriptions/{sub}/resourcegroups/Prod-Web/providers/microsoft.compute/virtualmachines/Web-1?{API}"
        ),
    ];
    for target in targets {
        let reply = azure.get(&target).await;
        assert_eq!(reply.status, 200, "{target}");
        assert_eq!(reply.body["name"], "web-1", "names keep their case");
        assert!(
            reply.body["id"]
                .as_str()
                .unwrap()
                .contains("/resourceGroups/prod-web/")
        );
    }
    let recorded = azure.sim.requests().last().unwrap().path.clone();
    assert!(
        recorded.contains("/Prod-Web/"),
        "paths are recorded as sent: {recorded}"
    );
}

#[tokio::test]
async fn missing_resources_answer_arm_errors() {
    let azure = Azure::start(config()).await;
    let cases = [
        (
            azure.sub(&format!("/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-9?{API}")),
            404,
            "ResourceNotFound",
            "The Resource 'Microsoft.Compute/virtualMachines/web-9' under resource group 'prod-web' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        ),
        (
            azure.sub(&format!("/resourceGroups/nowhere/providers/Microsoft.Compute/virtualMachines/web-1?{API}")),
            404,
            "ResourceGroupNotFound",
            "Resource group 'nowhere' could not be found.",
        ),
        (
            azure.sub(&format!("/resourceGroups/nowhere/providers/Microsoft.Compute/virtualMachines?{API}")),
            404,
            "ResourceGroupNotFound",
            "Resource group 'nowhere' could not be found.",
        ),
        (
            format!("/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Compute/virtualMachines?{API}"),
            404,
            "SubscriptionNotFound",
            "The subscription '00000000-0000-0000-0000-000000000000' could not be found.",
        ),
        (
            azure.sub(&format!("/resourceGroups/prod-web/providers/Microsoft.ContainerInstance/containerGroups/nope?{ACI_API}")),
            404,
            "ResourceNotFound",
            "The Resource 'Microsoft.ContainerInstance/containerGroups/nope' under resource group 'prod-web' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        ),
    ];
    for (target, status, code, message) in cases {
        let reply = azure.get(&target).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (status, code),
            "{target}"
        );
        assert_eq!(reply.body["error"]["message"], message);
        assert!(reply.header("x-ms-request-id").is_some());
    }
}

#[tokio::test]
async fn starting_a_vm_is_a_long_running_operation() {
    let azure = Azure::start(config()).await;
    let vm =
        azure.sub("/resourceGroups/prod-data/providers/Microsoft.Compute/virtualMachines/db-2");

    let reply = azure.post(&format!("{vm}/start?{API}")).await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.body, Value::Null);
    let operation = reply.header("azure-asyncoperation").unwrap().to_owned();
    let location = reply.header("location").unwrap().to_owned();
    let prefix = format!(
        "{}subscriptions/{}/providers/Microsoft.Compute/locations/westeurope/operations/",
        azure.sim.endpoint(),
        azure.sim.config().subscription_id
    );
    assert!(
        operation.starts_with(&prefix) && operation.ends_with("?api-version=2024-07-01"),
        "{operation}"
    );
    assert!(location.contains("monitor=true"), "{location}");
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("x-ms-retry-after-ms"), Some("20"));
    assert_eq!(azure.power("prod-data", "db-2"), PowerState::Starting);

    let status = azure.get(&operation).await;
    assert_eq!(
        (status.status, &status.body["status"]),
        (200, &json!("InProgress"))
    );
    assert!(status.body["startTime"].is_string() && status.body.get("endTime").is_none());
    assert_eq!(status.header("retry-after"), Some("1"));
    let view = azure.get(&format!("{vm}/instanceView?{API}")).await;
    assert_eq!(
        view.body["statuses"][0]["code"],
        "ProvisioningState/updating"
    );
    assert_eq!(view.body["statuses"][1]["code"], "PowerState/starting");
    assert_eq!(azure.get(&location).await.status, 202);

    azure.sim.finish_transitions();
    let status = azure.get(&operation).await;
    assert_eq!(status.body["status"], "Succeeded");
    assert!(status.body["endTime"].is_string());
    assert_eq!(status.header("retry-after"), None);
    let done = azure.get(&location).await;
    assert_eq!((done.status, done.body.clone()), (200, Value::Null));
    assert_eq!(azure.power("prod-data", "db-2"), PowerState::Running);
    let view = azure.get(&format!("{vm}/instanceView?{API}")).await;
    assert_eq!(view.body["statuses"][1]["code"], "PowerState/running");
}

#[tokio::test]
async fn power_actions_follow_azure_rules() {
    let azure = Azure::start(config()).await;
    // (group, vm, action, status, error code, power state right after, after finishing)
    let cases = [
        (
            "prod-web",
            "web-2",
            "start",
            202,
            "",
            PowerState::Running,
            PowerState::Running,
        ),
        (
            "prod-web",
            "web-3",
            "powerOff",
            202,
            "",
            PowerState::Stopping,
            PowerState::Stopped,
        ),
        (
            "prod-data",
            "etl-worker",
            "deallocate",
            202,
            "",
            PowerState::Deallocating,
            PowerState::Deallocated,
        ),
        (
            "prod-web",
            "cache-1",
            "restart",
            202,
            "",
            PowerState::Starting,
            PowerState::Running,
        ),
        (
            "dev-sandbox",
            "build-agent",
            "powerOff",
            202,
            "",
            PowerState::Deallocated,
            PowerState::Deallocated,
        ),
        (
            "dev-sandbox",
            "build-agent",
            "restart",
            409,
            "OperationNotAllowed",
            PowerState::Deallocated,
            PowerState::Deallocated,
        ),
        (
            "staging",
            "web-1",
            "restart",
            409,
            "OperationNotAllowed",
            PowerState::Stopped,
            PowerState::Stopped,
        ),
        (
            "staging",
            "web-1",
            "hibernate",
            404,
            "InvalidResourceType",
            PowerState::Stopped,
            PowerState::Stopped,
        ),
    ];
    for (group, name, action, status, code, during, after) in cases {
        let target = azure.sub(&format!("/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}/{action}?{API}"));
        let reply = azure.post(&target).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (status, code),
            "{action} {group}/{name}: {:?}",
            reply.body
        );
        assert_eq!(azure.power(group, name), during, "{action} {group}/{name}");
        if status == 202 && during == after {
            let operation = azure
                .get(reply.header("azure-asyncoperation").unwrap())
                .await;
            assert_eq!(
                operation.body["status"], "Succeeded",
                "a no-op succeeds at once"
            );
        }
        azure.sim.finish_transitions();
        assert_eq!(azure.power(group, name), after, "{action} {group}/{name}");
    }
    let message = azure
        .post(&azure.sub(&format!("/resourceGroups/staging/providers/Microsoft.Compute/virtualMachines/web-1/restart?{API}")))
        .await
        .body["error"]["message"]
        .clone();
    assert_eq!(
        message,
        "Operation 'restart' is not allowed on VM 'web-1' since the VM is stopped."
    );

    // During a transition the same action joins it and another one conflicts.
    let vm = azure
        .sub("/resourceGroups/dev-sandbox/providers/Microsoft.Compute/virtualMachines/jump-box");
    let first = azure.post(&format!("{vm}/deallocate?{API}")).await;
    let again = azure.post(&format!("{vm}/deallocate?{API}")).await;
    assert_eq!(
        first.header("azure-asyncoperation"),
        again.header("azure-asyncoperation")
    );
    let start = azure.post(&format!("{vm}/start?{API}")).await;
    assert_eq!((start.status, start.error_code()), (409, "Conflict"));
    azure.sim.finish_transitions();
    assert_eq!(
        azure.power("dev-sandbox", "jump-box"),
        PowerState::Deallocated
    );
}

#[tokio::test]
async fn a_failed_operation_reports_its_error_and_the_vm_falls_back() {
    let azure = Azure::start(config()).await;
    azure.sim.fail_next_operation("AllocationFailed", "Allocation failed. We do not have sufficient capacity for the requested VM size in this region.");
    let vm = azure.sub("/resourceGroups/staging/providers/Microsoft.Compute/virtualMachines/web-1");
    let reply = azure.post(&format!("{vm}/start?{API}")).await;
    assert_eq!(reply.status, 202);
    let operation = reply.header("azure-asyncoperation").unwrap().to_owned();
    let location = reply.header("location").unwrap().to_owned();
    assert_eq!(azure.get(&operation).await.body["status"], "InProgress");

    azure.sim.finish_transitions();
    let status = azure.get(&operation).await;
    assert_eq!(status.body["status"], "Failed");
    assert_eq!(status.body["error"]["code"], "AllocationFailed");
    let result = azure.get(&location).await;
    assert_eq!(
        (result.status, result.error_code()),
        (409, "AllocationFailed")
    );
    assert_eq!(azure.power("staging", "web-1"), PowerState::Stopped);

    // Only the next operation fails.
    let reply = azure.post(&format!("{vm}/start?{API}")).await;
    azure.sim.finish_transitions();
    assert_eq!(
        azure
            .get(reply.header("azure-asyncoperation").unwrap())
            .await
            .body["status"],
        "Succeeded"
    );
    assert_eq!(azure.power("staging", "web-1"), PowerState::Running);
}

#[tokio::test]
async fn throttled_and_failing_calls_come_first_then_success() {
    let azure = Azure::start(config()).await;
    azure.sim.throttle_next(1, Duration::from_millis(1500));
    azure.sim.fail_next(
        1,
        503,
        "ServiceUnavailable",
        "The service is temporarily unavailable.",
    );
    let target = azure.sub(&format!(
        "/providers/Microsoft.Compute/virtualMachines?{API}"
    ));

    let throttled = azure.get(&target).await;
    assert_eq!(
        (throttled.status, throttled.error_code()),
        (429, "TooManyRequests")
    );
    assert_eq!(throttled.header("retry-after"), Some("2"));
    assert_eq!(throttled.header("x-ms-retry-after-ms"), Some("1500"));
    let failed = azure.get(&target).await;
    assert_eq!(
        (failed.status, failed.error_code()),
        (503, "ServiceUnavailable")
    );
    assert_eq!(
        failed.body["error"]["message"],
        "The service is temporarily unavailable."
    );
    let ok = azure.get(&target).await;
    assert_eq!(ok.status, 200);

    let statuses: Vec<u16> = azure
        .sim
        .requests()
        .iter()
        .filter(|request| !request.token_request)
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, [429, 503, 200]);
}

#[tokio::test]
async fn container_groups_list_get_logs_stop_start_and_restart() {
    let azure = Azure::start(ArmSimConfig {
        page_size: 3,
        ..config()
    })
    .await;
    let first = azure
        .get(&azure.sub(&format!(
            "/providers/Microsoft.ContainerInstance/containerGroups?{ACI_API}"
        )))
        .await;
    let second = azure.get(first.body["nextLink"].as_str().unwrap()).await;
    let names: Vec<&str> = [&first, &second]
        .iter()
        .flat_map(|reply| reply.body["value"].as_array().unwrap())
        .map(|group| group["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["jobs", "backup", "frontend", "worker"]);
    assert_eq!(second.body.get("nextLink"), None);
    assert_eq!(
        first.body["value"][0]["properties"].get("instanceView"),
        None
    );

    let group = azure.sub(
        "/resourceGroups/prod-web/providers/Microsoft.ContainerInstance/containerGroups/frontend",
    );
    let reply = azure.get(&format!("{group}?{ACI_API}")).await;
    let properties = &reply.body["properties"];
    assert_eq!(properties["instanceView"]["state"], "Running");
    assert_eq!(properties["ipAddress"]["ip"], "20.61.14.27");
    let containers: Vec<(String, String, u64)> = properties["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|container| {
            let view = &container["properties"]["instanceView"];
            (
                container["name"].as_str().unwrap().to_owned(),
                view["currentState"]["state"].as_str().unwrap().to_owned(),
                view["restartCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        containers,
        [
            ("nginx".to_owned(), "Running".to_owned(), 0),
            ("sidecar".to_owned(), "Running".to_owned(), 1)
        ]
    );

    let logs = azure
        .get(&format!("{group}/containers/nginx/logs?{ACI_API}&tail=2"))
        .await;
    expect![[r#"
        10.240.0.4 - - [14/May/2024:08:31:16 +0000] "GET /favicon.ico HTTP/1.1" 404 153 "-" "Mozilla/5.0"
        10.240.0.7 - - [14/May/2024:08:32:40 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
    "#]]
    .assert_eq(logs.body["content"].as_str().unwrap());
    let all = azure
        .get(&format!("{group}/containers/sidecar/logs?{ACI_API}"))
        .await;
    assert_eq!(all.body["content"].as_str().unwrap().lines().count(), 4);
    let missing = azure
        .get(&format!("{group}/containers/redis/logs?{ACI_API}"))
        .await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (404, "ContainerNotFound")
    );

    let stop = azure.post(&format!("{group}/stop?{ACI_API}")).await;
    assert_eq!(
        (stop.status, stop.header("azure-asyncoperation")),
        (204, None)
    );
    assert_eq!(
        azure
            .sim
            .container_group("prod-web", "frontend")
            .unwrap()
            .state,
        "Stopped"
    );
    let detail = azure.get(&format!("{group}?{ACI_API}")).await;
    assert_eq!(
        detail.body["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]["state"],
        "Terminated"
    );
    let restart = azure.post(&format!("{group}/restart?{ACI_API}")).await;
    assert_eq!(
        (restart.status, restart.error_code()),
        (409, "OperationNotAllowed")
    );

    let start = azure.post(&format!("{group}/start?{ACI_API}")).await;
    assert_eq!(start.status, 202);
    let operation = start.header("azure-asyncoperation").unwrap().to_owned();
    assert!(
        operation
            .contains("/providers/Microsoft.ContainerInstance/locations/westeurope/operations/"),
        "{operation}"
    );
    assert_eq!(
        azure
            .sim
            .container_group("prod-web", "frontend")
            .unwrap()
            .state,
        "Pending"
    );
    assert_eq!(azure.get(&operation).await.body["status"], "InProgress");
    azure.sim.finish_transitions();
    assert_eq!(azure.get(&operation).await.body["status"], "Succeeded");
    assert_eq!(
        azure
            .sim
            .container_group("prod-web", "frontend")
            .unwrap()
            .state,
        "Running"
    );

    // Starting a running group is a 204 with nothing to follow.
    let again = azure.post(&format!("{group}/start?{ACI_API}")).await;
    assert_eq!(
        (again.status, again.header("azure-asyncoperation")),
        (204, None)
    );

    // Restart is long-running, but the specification declares only 204: the simulator
    // answers 204 with the operation to follow.
    let restart = azure.post(&format!("{group}/restart?{ACI_API}")).await;
    assert_eq!(restart.status, 204);
    let operation = restart.header("azure-asyncoperation").unwrap().to_owned();
    assert_eq!(
        azure
            .sim
            .container_group("prod-web", "frontend")
            .unwrap()
            .state,
        "Pending"
    );
    // A second restart meanwhile joins the first.
    let joined = azure.post(&format!("{group}/restart?{ACI_API}")).await;
    assert_eq!(
        (joined.status, joined.header("azure-asyncoperation")),
        (204, Some(operation.as_str()))
    );
    assert_eq!(azure.get(&operation).await.body["status"], "InProgress");
    azure.sim.finish_transitions();
    assert_eq!(azure.get(&operation).await.body["status"], "Succeeded");
    assert_eq!(azure.sim.container_group_starts("PROD-WEB", "frontend"), 2);
    let restarts: Vec<u32> = azure
        .sim
        .container_group("PROD-WEB", "Frontend")
        .unwrap()
        .containers
        .iter()
        .map(|container| container.restart_count)
        .collect();
    assert_eq!(restarts, [1, 2]);
}

#[tokio::test]
async fn web_apps_list_get_and_act_at_once() {
    let azure = Azure::start(ArmSimConfig {
        page_size: 2,
        ..config()
    })
    .await;
    azure.sim.add_web_app(SimWebApp::new("prod-web", "api"));
    let first = azure
        .get(&azure.sub(&format!("/providers/Microsoft.Web/sites?{WEB_API}")))
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let second = azure.get(first.body["nextLink"].as_str().unwrap()).await;
    let sites: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|reply| reply.body["value"].as_array().unwrap())
        .map(|site| {
            format!(
                "{}/{} {}",
                site["properties"]["resourceGroup"].as_str().unwrap(),
                site["name"].as_str().unwrap(),
                site["properties"]["state"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        sites,
        [
            "dev-sandbox/docs Running",
            "prod-web/api Running",
            "prod-web/shop Running",
            "staging/shop-staging Stopped"
        ]
    );
    assert_eq!(second.body.get("nextLink"), None);
    let by_group = azure
        .get(&azure.sub(&format!(
            "/resourceGroups/staging/providers/Microsoft.Web/sites?{WEB_API}"
        )))
        .await;
    assert_eq!(by_group.body["value"].as_array().unwrap().len(), 1);

    let site = azure.sub("/resourceGroups/staging/providers/Microsoft.Web/sites/shop-staging");
    let mut reply = azure.get(&format!("{site}?{WEB_API}")).await;
    reply.body["properties"]["lastModifiedTimeUtc"] = json!("<time>");
    let subscription = &azure.sim.config().subscription_id;
    expect![[r#"
        {
          "id": "/subscriptions/SUB/resourceGroups/staging/providers/Microsoft.Web/sites/shop-staging",
          "kind": "app,linux",
          "location": "West Europe",
          "name": "shop-staging",
          "properties": {
            "availabilityState": "Normal",
            "defaultHostName": "shop-staging.azurewebsites.net",
            "enabled": true,
            "enabledHostNames": [
              "shop-staging.azurewebsites.net",
              "shop-staging.scm.azurewebsites.net"
            ],
            "hostNames": [
              "shop-staging.azurewebsites.net"
            ],
            "httpsOnly": true,
            "lastModifiedTimeUtc": "<time>",
            "name": "shop-staging",
            "reserved": true,
            "resourceGroup": "staging",
            "serverFarmId": "/subscriptions/SUB/resourceGroups/staging/providers/Microsoft.Web/serverfarms/staging-plan",
            "state": "Stopped",
            "usageState": "Normal"
          },
          "tags": {
            "env": "staging"
          },
          "type": "Microsoft.Web/sites"
        }"#]]
    .assert_eq(&pretty_sorted(&reply.body).replace(subscription.as_str(), "SUB"));

    // Every action is done when it is answered: 200, no body, nothing to poll.
    let before = azure.sim.requests().len();
    for (action, state) in [
        ("start", "Running"),
        ("start", "Running"),
        ("restart", "Running"),
        ("stop", "Stopped"),
        ("stop", "Stopped"),
        ("restart", "Stopped"),
    ] {
        let reply = azure.post(&format!("{site}/{action}?{WEB_API}")).await;
        assert_eq!(
            (
                reply.status,
                reply.header("Azure-AsyncOperation"),
                reply.header("Location"),
                &reply.body
            ),
            (200, None, None, &Value::Null),
            "{action}"
        );
        assert_eq!(
            azure.sim.web_app("Staging", "Shop-Staging").unwrap().state,
            state,
            "after {action}"
        );
    }
    assert_eq!(azure.sim.requests().len() - before, 6, "no poll in between");

    let missing = azure
        .post(&azure.sub(&format!(
            "/resourceGroups/staging/providers/Microsoft.Web/sites/ghost/start?{WEB_API}"
        )))
        .await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (404, "ResourceNotFound")
    );
    let no_group = azure
        .get(&azure.sub(&format!(
            "/resourceGroups/nowhere/providers/Microsoft.Web/sites?{WEB_API}"
        )))
        .await;
    assert_eq!(
        (no_group.status, no_group.error_code()),
        (404, "ResourceGroupNotFound")
    );
}

#[tokio::test]
async fn a_deployment_runs_and_records_its_template() {
    let azure = Azure::start(config()).await;
    let group = azure.sub("/resourcegroups/delivery");
    let created = azure
        .put(
            &format!("{group}?{RESOURCES_API}"),
            &json!({ "location": "westeurope" }),
        )
        .await;
    assert_eq!(
        (
            created.status,
            &created.body["properties"]["provisioningState"]
        ),
        (201, &json!("Succeeded"))
    );
    let updated = azure
        .put(
            &format!("{group}?{RESOURCES_API}"),
            &json!({ "location": "westeurope", "tags": { "team": "bots" } }),
        )
        .await;
    assert_eq!(
        (updated.status, &updated.body["tags"]),
        (200, &json!({ "team": "bots" }))
    );
    let moved = azure
        .put(
            &format!("{group}?{RESOURCES_API}"),
            &json!({ "location": "eastus" }),
        )
        .await;
    assert_eq!(
        (moved.status, moved.error_code()),
        (409, "InvalidResourceGroupLocation")
    );
    let groups = azure
        .get(&azure.sub(&format!("/resourcegroups?{RESOURCES_API}")))
        .await;
    assert_eq!(
        groups.body["value"].as_array().unwrap().len(),
        5,
        "a full first page"
    );

    let deployment = format!("{group}/providers/Microsoft.Resources/deployments/azcord-1");
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": { "image": { "type": "string" } },
        "resources": [],
    });
    let parameters = json!({ "image": { "value": "ghcr.io/contoso/azcord:1.4.0" } });
    let body = json!({ "properties": { "mode": "Incremental", "template": template, "parameters": parameters } });

    let reply = azure
        .put(&format!("{deployment}?{RESOURCES_API}"), &body)
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.body["properties"]["provisioningState"], "Accepted");
    assert_eq!(reply.body["name"], "azcord-1");
    let operation = reply.header("azure-asyncoperation").unwrap().to_owned();
    assert!(operation.contains("/resourcegroups/delivery/providers/Microsoft.Resources/deployments/azcord-1/operationStatuses/"), "{operation}");
    assert_eq!(azure.get(&operation).await.body["status"], "InProgress");
    assert_eq!(
        azure
            .get(&format!("{deployment}?{RESOURCES_API}"))
            .await
            .body["properties"]["provisioningState"],
        "Running"
    );
    let active = azure
        .put(&format!("{deployment}?{RESOURCES_API}"), &body)
        .await;
    assert_eq!(
        (active.status, active.error_code()),
        (409, "DeploymentActive")
    );

    azure.sim.finish_transitions();
    assert_eq!(azure.get(&operation).await.body["status"], "Succeeded");
    let done = azure.get(&format!("{deployment}?{RESOURCES_API}")).await;
    assert_eq!(done.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        done.body["properties"]["parameters"],
        json!({ "image": { "type": "String", "value": "ghcr.io/contoso/azcord:1.4.0" } })
    );
    let recorded = azure.sim.deployments();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (
            recorded[0].resource_group.as_str(),
            recorded[0].name.as_str(),
            recorded[0].state
        ),
        ("delivery", "azcord-1", DeploymentState::Succeeded)
    );
    assert_eq!(
        (&recorded[0].template, &recorded[0].parameters),
        (&template, &parameters)
    );

    let cases = [
        (format!("{deployment}?{RESOURCES_API}"), json!({}), 400, "InvalidRequestContent"),
        (format!("{deployment}?{RESOURCES_API}"), json!({ "properties": { "template": {} } }), 400, "InvalidRequestContent"),
        (format!("{deployment}?{RESOURCES_API}"), json!({ "properties": { "mode": "Incremental" } }), 400, "InvalidDeployment"),
        (
            azure.sub(&format!("/resourcegroups/nowhere/providers/Microsoft.Resources/deployments/x?{RESOURCES_API}")),
            body.clone(),
            404,
            "ResourceGroupNotFound",
        ),
    ];
    for (target, body, status, code) in cases {
        let reply = azure.put(&target, &body).await;
        assert_eq!((reply.status, reply.error_code()), (status, code), "{body}");
    }

    // A failing deployment.
    azure.sim.fail_next_operation(
        "InvalidTemplateDeployment",
        "The template deployment failed.",
    );
    let second = azure
        .put(
            &format!("{group}/providers/Microsoft.Resources/deployments/azcord-2?{RESOURCES_API}"),
            &body,
        )
        .await;
    azure.sim.finish_transitions();
    let status = azure
        .get(second.header("azure-asyncoperation").unwrap())
        .await;
    assert_eq!(
        (
            &status.body["status"],
            &status.body["error"]["code"],
            &status.body["error"]["details"][0]["code"]
        ),
        (
            &json!("Failed"),
            &json!("DeploymentFailed"),
            &json!("InvalidTemplateDeployment")
        )
    );
    assert_eq!(azure.sim.deployments()[1].state, DeploymentState::Failed);
}

#[tokio::test]
async fn waiting_for_a_state_wakes_when_a_real_transition_ends() {
    let azure = Azure::start(ArmSimConfig {
        transition: Duration::from_millis(50),
        ..config()
    })
    .await;
    let vm =
        azure.sub("/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-1");
    let reply = azure.post(&format!("{vm}/deallocate?{API}")).await;
    assert_eq!(reply.status, 202);
    azure
        .sim
        .wait_for_vm_state("prod-web", "web-1", PowerState::Deallocated)
        .await;
    assert_eq!(
        azure
            .get(reply.header("azure-asyncoperation").unwrap())
            .await
            .body["status"],
        "Succeeded"
    );
    // The other web-1 is untouched.
    assert_eq!(azure.power("staging", "web-1"), PowerState::Stopped);
}

/// Pretty JSON with sorted keys, whatever serde_json's `preserve_order` says.
fn pretty_sorted(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by_key(|(key, _)| *key);
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(key, value)| (key.clone(), sorted(value)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string_pretty(&sorted(value)).expect("JSON prints")
}
