//! `azcord run` against a Discord that speaks TLS, as the real one does: REST over
//! HTTPS and the gateway over `wss://`, with a certificate from a CA that only
//! `SSL_CERT_FILE` makes trusted.

use std::{path::Path, time::Duration};

use azcord_sim::{DiscordSim, DiscordSimConfig, Invocation, SimUser, tls::TestCa};

use crate::{
    process::{Exited, RunProcess, RunSetup},
    support::CHANNEL,
};

async fn tls_sim() -> DiscordSim {
    DiscordSim::start(DiscordSimConfig {
        tls: true,
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap()
}

fn spawn(sim: &DiscordSim, dir: &Path, name: &str, ssl_cert_file: Option<&Path>) -> RunProcess {
    let file = ssl_cert_file.map(|path| path.to_str().unwrap().to_owned());
    let envs: Vec<(&str, &str)> = file
        .iter()
        .map(|file| ("SSL_CERT_FILE", file.as_str()))
        .collect();
    RunProcess::spawn_with(
        sim,
        dir,
        name,
        RunSetup {
            envs: &envs,
            ..RunSetup::default()
        },
    )
}

/// Waits for a process that cannot get going to give up by itself.
async fn exits(process: RunProcess) -> Exited {
    process
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap_or_else(|output| panic!("azcord run did not give up: {output}"))
}

#[tokio::test]
async fn run_trusts_the_ca_that_ssl_cert_file_adds_for_rest_and_the_gateway() {
    let sim = tls_sim().await;
    assert!(sim.api_url().starts_with("https://"));
    assert!(sim.gateway_url().starts_with("wss://"));
    let dir = tempfile::tempdir().unwrap();
    let process = spawn(&sim, dir.path(), "run", sim.ca_file());

    if tokio::time::timeout(Duration::from_secs(60), sim.wait_until_ready())
        .await
        .is_err()
    {
        panic!(
            "azcord run did not connect over wss://: {}",
            process.output()
        );
    }
    // The commands were registered and the answer is posted over HTTPS: the simulator
    // serves nothing else.
    let ping = sim
        .command_data(None, "ping", Vec::new())
        .expect("registered over HTTPS");
    let mut handle = sim.invoke(Invocation {
        user: SimUser::new(7, "ops"),
        guild_id: Some(sim.config().guild_id),
        channel_id: CHANNEL,
        data: ping,
    });
    assert_eq!(process.answer(&mut handle).await.content, "🏓 pong");

    let log = process.stop().await;
    for secret in [sim.config().token.as_str(), handle.token.as_str()] {
        assert!(!log.contains(secret), "a secret was logged: {log}");
    }
}

#[tokio::test]
async fn run_refuses_a_discord_certificate_that_nothing_it_trusts_signed() {
    let sim = tls_sim().await;
    let dir = tempfile::tempdir().unwrap();
    // Another CA than the one that signed the simulator's certificate: REST goes
    // through the relay, which must refuse the handshake and say why.
    let stranger = TestCa::generate("stranger").unwrap();
    let stranger_file = dir.path().join("stranger.pem");
    stranger.write_pem(&stranger_file).unwrap();

    for (name, ssl_cert_file) in [("unset", None), ("stranger", Some(stranger_file.as_path()))] {
        let exited = exits(spawn(&sim, dir.path(), name, ssl_cert_file)).await;
        let (stdout, stderr) = (&exited.stdout, &exited.stderr);
        assert!(!exited.status.success(), "{name}: {stdout}\n{stderr}");
        assert!(
            stderr.contains("UnknownIssuer"),
            "{name}: the certificate is named as the cause: {stderr}"
        );
        if ssl_cert_file.is_some() {
            assert!(
                stderr.contains("azcord could not reach Discord over TLS"),
                "the relay reports the refusal: {stderr}"
            );
        }
        assert!(!stdout.contains(&sim.config().token) && !stderr.contains(&sim.config().token));
    }
    assert!(
        sim.command_data(None, "ping", Vec::new()).is_none(),
        "nothing was registered over an untrusted connection"
    );
}

#[tokio::test]
async fn run_names_an_unusable_ssl_cert_file_before_it_connects() {
    let sim = tls_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not-a-bundle.pem");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();

    let exited = exits(spawn(&sim, dir.path(), "run", Some(&not_pem))).await;
    assert!(!exited.status.success());
    let expected = format!(
        "SSL_CERT_FILE `{}` holds no PEM certificate",
        not_pem.display()
    );
    assert!(exited.stderr.contains(&expected), "{}", exited.stderr);
}
