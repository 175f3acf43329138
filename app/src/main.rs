//! The `lmlab` binary: parses the command line, then opens the window or runs a headless command.

use clap::Parser;
use lmlab_app::cli::{Cli, Cmd};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::Run(args)) => lmlab_app::cli::run(&args),
        Some(Cmd::Compare(args)) => lmlab_app::cli::compare(&args),
        Some(Cmd::Screenshot(args)) => lmlab_app::cli::screenshot(&args),
        Some(Cmd::Export(args)) => lmlab_app::cli::export(&args),
        Some(Cmd::Report(args)) => lmlab_app::cli::report(&args),
        Some(Cmd::Real(args)) => lmlab_app::real_cli::real(&args),
        Some(Cmd::Agent(args)) => lmlab_app::real_cli::agent(&args),
        Some(Cmd::Import(args)) => lmlab_app::cli::import(&args),
        Some(Cmd::Check(args)) => lmlab_app::cli::check(&args),
        Some(Cmd::Explain(args)) => lmlab_app::cli::explain(&args),
        Some(Cmd::Overlay(args)) => lmlab_app::measured_cli::overlay_cmd(&args),
        Some(Cmd::Calibrate(args)) => lmlab_app::measured_cli::calibrate_cmd(&args),
        None => lmlab_app::gui::open(cli.file.as_deref(), &cli.measured),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
