//! `connector`: the reference CLI of the governance connector host.

mod args;
mod cluster_commands;
mod commands;
mod conformance_report;
mod env_credentials;
mod formats;
mod hints;
mod inactivity;
mod kept_state;
mod listing;
mod output;
mod routes;
mod serve;
mod setup;
mod simulate;
mod vendor;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONNECTOR_LOG")
                .unwrap_or_else(|_| "error".into()),
        )
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        // A reader that stopped reading (`| head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One line: what failed, then what to do next.
            let message = output::safe(&output::error_line(&e));
            match hints::next_step(&e) {
                Some(next) => eprintln!("error: {message} — {}", output::safe(&next)),
                None => eprintln!("error: {message}"),
            }
            ExitCode::FAILURE
        }
    }
}
