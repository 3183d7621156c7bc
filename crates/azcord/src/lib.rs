//! The azcord binary's library half: the command line, config loading and the wiring
//! of the crates, shared by `main.rs` and the end-to-end tests.

mod azure;
mod cli;
mod config;
pub mod fuzzing;
pub mod local;
mod output;
pub mod plugins;
mod run;
mod serve;
mod shell;
mod wiring;

use std::process::ExitCode;

use clap::Parser as _;

use crate::{
    cli::{Cli, CliCommand, LogFormatArg},
    config::FileConfig,
};

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            output::error(&format!("cannot start the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main_async(cli)) {
        Ok(code) => code,
        Err(error) => {
            output::error(&format!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}

async fn main_async(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(cli.config.as_deref())?;
    let log_format = match cli.log_format {
        LogFormatArg::Auto => azcord_telemetry::LogFormat::Auto,
        LogFormatArg::Human => azcord_telemetry::LogFormat::Human,
        LogFormatArg::Json => azcord_telemetry::LogFormat::Json,
    };
    match cli.command {
        CliCommand::Run(args) => run::run(args, file, log_format)
            .await
            .map(|()| ExitCode::SUCCESS),
        CliCommand::Serve(args) => serve::serve(args, file, log_format)
            .await
            .map(|()| ExitCode::SUCCESS),
        CliCommand::Shell(args) => shell::run(args, file, cli.config.is_some()).await,
        CliCommand::Commands => {
            let definitions =
                plugins::registry(&azure::unconfigured(), plugins::AzureSettings::default())?
                    .definitions();
            output::json(&definitions)?;
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::CheckConfig => {
            let registry = plugins::registry(&azure::unconfigured(), file.azure.settings())?;
            output::text(&config::describe_policy(&file.policy, &registry));
            Ok(ExitCode::SUCCESS)
        }
    }
}
