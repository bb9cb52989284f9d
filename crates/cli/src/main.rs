//! `hookflash-cli`: the Hookflash engine without a window, for automation and tests.
//! Options and output are documented in README.md ("hookflash-cli").

mod args;
mod output;
mod run;
mod session;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    if std::env::var_os("HOOKFLASH_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("HOOKFLASH_LOG"))
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookflash-cli: cannot start: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match rt.block_on(run::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hookflash-cli: {message}");
            std::process::ExitCode::from(1)
        }
    }
}
