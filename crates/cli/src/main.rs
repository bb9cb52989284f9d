//! `hookflash-cli`: the Hookflash engine without a window, for automation and tests.
//! Options and output are documented in README.md ("hookflash-cli").

mod args;
mod check;
mod output;
mod run;
mod session;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    if let Ok(user) = std::env::var("HOOKFLASH_LOG") {
        // Whole SIP messages (with their Authorization headers) only when asked for by name.
        let directives = hookflash_phone::log_directives(Some(&user), "info");
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(&directives))
            .with_writer(std::io::stderr)
            .init();
        tracing::debug!("logging with the filter {directives}");
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
