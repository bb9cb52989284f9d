//! `cargo xtask`: the project's own commands (`run`, `test`, `bench`, `bundle`), written in Rust so they
//! work the same for every developer and in CI (`.ci/run` is `cargo xtask test`).
//! This file parses the command line and hands over to one module per command.

mod bench;
mod bundle;
mod install;
mod layout;
mod npm;
mod python_venv;
mod report;
mod run;
mod shell;
mod tauri_driver;
mod test;
mod update_manifest;
mod webrtc_apm;

use bench::BenchOptions;
use bundle::BundleOptions;
use run::RunOptions;
use test::TestOptions;
use update_manifest::ManifestOptions;

const HELP: &str = "\
Hookflash project commands

Usage: cargo xtask <COMMAND> [OPTIONS]

Commands:
  run     Install what the app needs, build the UI and the desktop app, start it
  test    Install the test tools and peers, run every test suite, print a summary
  bench   Run the benchmarks that exist; write target/bench/report.{json,md}
  bundle  Build the desktop app's Linux installers (.deb, .rpm) into target/*/bundle/
  update-manifest  Write the updater's latest.json from signed packages
  help    Print this help (or `cargo xtask <COMMAND> --help`)

Installing uses apt-get on Debian/Ubuntu (as root, else via sudo) and only for what is
missing; on macOS and Windows the prerequisites are printed instead.
";

const RUN_HELP: &str = "\
Usage: cargo xtask run [--release] [--dry-run] [--] [APP ARGS...]

Installs the missing build packages (Debian/Ubuntu), runs `npm ci` in ui/ when node_modules is
older than package-lock.json, `npm run build`, builds the app, then starts it with APP ARGS
(everything that is not an xtask option, and everything after `--`). The debug app is built by
the same `cargo build --workspace --all-targets` as `cargo xtask test`, so either command reuses
what the other compiled (built alone, the app resolves its dependencies' features differently
and recompiles tauri and its kin).

Options:
  --release   Build and start the optimised app (target/release/hookflash-app)
  --dry-run   Show what would be installed and run, change nothing
  -h, --help  Print this help
";

const TEST_HELP: &str = "\
Usage: cargo xtask test [--only STEP[,STEP]] [--skip STEP[,STEP]] [--dry-run] [--list]

Installs what the tests need (system packages incl. kamailio/baresip/sipp, tauri-driver, the
Python venv target/venv), then runs each step, keeps going after a failure, prints a summary
table and ends with `xtask: N passed, M failed`. Exit code 1 if any step failed.

Steps, in order:
  setup    system packages, tauri-driver, Python venv (quick when all is there)
  ui       ui/: npm ci (when stale), npm test, npm run check, npm run build
  rust     cargo test --no-fail-fast --workspace (the app too when the ui step runs)
  build    cargo build --workspace --all-targets (the build `cargo xtask run` shares)
  interop  cargo test --no-fail-fast --workspace --tests -- --ignored --test-threads=1
           (real peers; env HOOKFLASH_CLI_BIN, HOOKFLASH_PYTHON, HOOKFLASH_APP_BIN)
  e2e      tests/e2e/: npm ci (when stale), npm test
           (env HOOKFLASH_APP_BIN, HOOKFLASH_ARTIFACTS_DIR=target/e2e-artifacts)
  package  the app's .deb (`cargo xtask bundle`'s, from the debug build): installed with
           dpkg, started once under Xvfb; updated by the app itself to a signed 9.9.9 repack;
           removed (needs root; skipped otherwise)

Options:
  --only STEPS  Run only these steps (setup still runs unless skipped); repeatable
  --skip STEPS  Leave these steps out; repeatable
  --dry-run     Show what would be installed and run, change nothing
  --list        List the steps
  -h, --help    Print this help
";

const BUNDLE_HELP: &str = "\
Usage: cargo xtask bundle [--release] [--dry-run]

Builds the UI and the app (the shared debug build of `cargo xtask test`, or the optimised one
with --release), then the Linux installers with the Tauri CLI from ui/'s dev-dependencies:
target/debug/bundle/deb/Hookflash_<version>_amd64.deb and bundle/rpm/…rpm (target/release/…
with --release). They install /usr/bin/hookflash-app, its icons and a .desktop entry that opens
tel:, sip:, sips: and callto: links. No AppImage: its tool is downloaded from GitHub, which
these machines cannot reach. macOS and Windows bundles: .github/workflows/desktop-bundles.yml.

Options:
  --release   Bundle the optimised app
  --dry-run   Show what would be installed and run, change nothing
  -h, --help  Print this help
";

const MANIFEST_HELP: &str = "\
Usage: cargo xtask update-manifest --version V --base-url URL [--notes TEXT] [--arch A]
                                   [--out FILE] PACKAGE...

Writes the update manifest the app's updater reads (latest.json; to stdout without --out): the
version, the release notes, and for each PACKAGE (.deb, .rpm, .app.tar.gz, .msi, -setup.exe) its
download URL (URL/<file name>) and the minisign signature beside it (PACKAGE.sig, made when
bundling with `createUpdaterArtifacts` and TAURI_SIGNING_PRIVATE_KEY), under the platform key the
updater looks up (linux-x86_64-deb, darwin-aarch64-app, windows-x86_64-msi, ...). The CPU is read
from the file name, else --arch (default: this machine's).

Options:
  -h, --help  Print this help
";

const BENCH_HELP: &str = "\
Usage: cargo xtask bench [--dry-run]

Runs `cargo run --release -p hookflash-tests --bin bench` and `cargo bench -p hookflash-media`
when they exist and writes target/bench/report.json and report.md (measurements, CPU model,
core count, date, git commit). A benchmark that does not exist yet is recorded as
\"not available yet\"; only a benchmark that exists and fails makes the exit code non-zero.

Options:
  --dry-run   Show what would run, write nothing
  -h, --help  Print this help
";

/// What the command line asked for.
#[derive(Debug, PartialEq)]
enum Invocation {
    Help(&'static str),
    Run(RunOptions),
    Test(TestOptions),
    Bench(BenchOptions),
    Bundle(BundleOptions),
    UpdateManifest(ManifestOptions),
}

fn parse(args: &[String]) -> Result<Invocation, String> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Invocation::Help(HELP));
    };
    let wants_help = |rest: &[String]| rest.iter().any(|a| a == "-h" || a == "--help");
    match command.as_str() {
        "help" | "-h" | "--help" => Ok(Invocation::Help(HELP)),
        "run" => {
            let mut options = RunOptions::default();
            let mut passthrough = false;
            for arg in rest {
                match arg.as_str() {
                    _ if passthrough => options.app_args.push(arg.clone()),
                    "--" => passthrough = true,
                    "--dry-run" => options.dry_run = true,
                    "--release" => options.release = true,
                    "-h" | "--help" => return Ok(Invocation::Help(RUN_HELP)),
                    _ => options.app_args.push(arg.clone()),
                }
            }
            Ok(Invocation::Run(options))
        }
        "test" => {
            if wants_help(rest) {
                return Ok(Invocation::Help(TEST_HELP));
            }
            let mut options = TestOptions::default();
            let mut iter = rest.iter();
            while let Some(arg) = iter.next() {
                let mut value_of = |flag: &str| -> Result<String, String> {
                    if let Some(v) = arg.strip_prefix(&format!("{flag}=")) {
                        return Ok(v.to_string());
                    }
                    iter.next()
                        .cloned()
                        .ok_or_else(|| format!("{flag} needs a step name, e.g. {flag} ui"))
                };
                match arg.as_str() {
                    a if a == "--only" || a.starts_with("--only=") => options.only.push(value_of("--only")?),
                    a if a == "--skip" || a.starts_with("--skip=") => options.skip.push(value_of("--skip")?),
                    "--dry-run" => options.dry_run = true,
                    "--list" => options.list = true,
                    other => {
                        return Err(format!(
                            "`cargo xtask test` has no option `{other}` (see `cargo xtask test --help`)"
                        ))
                    }
                }
            }
            Ok(Invocation::Test(options))
        }
        "bench" => {
            if wants_help(rest) {
                return Ok(Invocation::Help(BENCH_HELP));
            }
            let mut options = BenchOptions::default();
            for arg in rest {
                match arg.as_str() {
                    "--dry-run" => options.dry_run = true,
                    other => {
                        return Err(format!(
                            "`cargo xtask bench` has no option `{other}` (see `cargo xtask bench --help`)"
                        ))
                    }
                }
            }
            Ok(Invocation::Bench(options))
        }
        "bundle" => {
            if wants_help(rest) {
                return Ok(Invocation::Help(BUNDLE_HELP));
            }
            let mut options = BundleOptions::default();
            for arg in rest {
                match arg.as_str() {
                    "--dry-run" => options.dry_run = true,
                    "--release" => options.release = true,
                    other => {
                        return Err(format!(
                            "`cargo xtask bundle` has no option `{other}` (see `cargo xtask bundle --help`)"
                        ))
                    }
                }
            }
            Ok(Invocation::Bundle(options))
        }
        "update-manifest" => {
            if wants_help(rest) {
                return Ok(Invocation::Help(MANIFEST_HELP));
            }
            let mut options = ManifestOptions::default();
            let mut iter = rest.iter();
            while let Some(arg) = iter.next() {
                let mut value = |flag: &str| {
                    iter.next()
                        .cloned()
                        .ok_or_else(|| format!("{flag} needs a value"))
                };
                match arg.as_str() {
                    "--version" => options.version = value("--version")?,
                    "--base-url" => options.base_url = value("--base-url")?,
                    "--notes" => options.notes = Some(value("--notes")?),
                    "--arch" => options.arch = Some(value("--arch")?),
                    "--out" => options.out = Some(value("--out")?.into()),
                    other if other.starts_with("--") => {
                        return Err(format!(
                            "`cargo xtask update-manifest` has no option `{other}` (see `cargo xtask update-manifest --help`)"
                        ))
                    }
                    package => options.packages.push(package.into()),
                }
            }
            Ok(Invocation::UpdateManifest(options))
        }
        other => Err(format!(
            "there is no command `{other}`; the commands are run, test, bench, bundle and update-manifest"
        )),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if layout::is_ci() {
        // CI logs are plain text; colour codes only clutter them.
        std::env::set_var("CARGO_TERM_COLOR", "never");
        std::env::set_var("npm_config_color", "false");
    }
    let result = match parse(&args) {
        Ok(Invocation::Help(text)) => {
            print!("{text}");
            Ok(0)
        }
        Ok(Invocation::Run(options)) => run::run(&options),
        Ok(Invocation::Test(options)) => test::test(&options),
        Ok(Invocation::Bench(options)) => bench::bench(&options),
        Ok(Invocation::Bundle(options)) => bundle::bundle(&options),
        Ok(Invocation::UpdateManifest(options)) => update_manifest::update_manifest(&options),
        Err(e) => {
            eprintln!("xtask: {e}");
            std::process::exit(2);
        }
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("xtask: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_arguments_prints_help() {
        assert_eq!(parse(&[]).unwrap(), Invocation::Help(HELP));
        assert_eq!(
            parse(&args(&["test", "--help"])).unwrap(),
            Invocation::Help(TEST_HELP)
        );
    }

    #[test]
    fn test_flags_accept_both_spellings() {
        let parsed = parse(&args(&["test", "--only", "ui", "--skip=e2e", "--dry-run"])).unwrap();
        assert_eq!(
            parsed,
            Invocation::Test(TestOptions {
                only: args(&["ui"]),
                skip: args(&["e2e"]),
                dry_run: true,
                list: false
            })
        );
    }

    #[test]
    fn test_flag_without_value_is_explained() {
        let err = parse(&args(&["test", "--only"])).unwrap_err();
        assert!(err.contains("--only needs a step name"), "{err}");
        assert!(parse(&args(&["test", "--fast"]))
            .unwrap_err()
            .contains("no option `--fast`"));
    }

    #[test]
    fn run_passes_other_arguments_to_the_app() {
        let parsed = parse(&args(&[
            "run",
            "--dry-run",
            "--minimized",
            "--",
            "--dry-run",
            "--release",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            Invocation::Run(RunOptions {
                dry_run: true,
                release: false,
                app_args: args(&["--minimized", "--dry-run", "--release"])
            })
        );
        let parsed = parse(&args(&["run", "--release", "dial", "123"])).unwrap();
        assert_eq!(
            parsed,
            Invocation::Run(RunOptions {
                dry_run: false,
                release: true,
                app_args: args(&["dial", "123"])
            })
        );
    }

    #[test]
    fn unknown_command_names_the_real_ones() {
        assert!(parse(&args(&["deploy"]))
            .unwrap_err()
            .contains("run, test, bench, bundle and update-manifest"));
    }

    #[test]
    fn update_manifest_takes_its_values_and_packages() {
        let parsed = parse(&args(&[
            "update-manifest",
            "--version",
            "0.2.0",
            "--base-url",
            "https://u.example/v0.2.0",
            "--out",
            "latest.json",
            "a.deb",
            "b.rpm",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            Invocation::UpdateManifest(ManifestOptions {
                version: "0.2.0".into(),
                base_url: "https://u.example/v0.2.0".into(),
                out: Some("latest.json".into()),
                packages: vec!["a.deb".into(), "b.rpm".into()],
                ..ManifestOptions::default()
            })
        );
        assert!(parse(&args(&["update-manifest", "--version"]))
            .unwrap_err()
            .contains("--version needs a value"));
        assert!(parse(&args(&["update-manifest", "--sign"]))
            .unwrap_err()
            .contains("no option `--sign`"));
    }

    #[test]
    fn bundle_takes_release_and_dry_run() {
        assert_eq!(
            parse(&args(&["bundle", "--release", "--dry-run"])).unwrap(),
            Invocation::Bundle(BundleOptions {
                dry_run: true,
                release: true
            })
        );
        assert_eq!(
            parse(&args(&["bundle", "--help"])).unwrap(),
            Invocation::Help(BUNDLE_HELP)
        );
        assert!(parse(&args(&["bundle", "--appimage"]))
            .unwrap_err()
            .contains("no option `--appimage`"));
    }
}
