//! `cargo xtask test`: installs what the tests need, then runs every test suite of the project in
//! order, each as one step with its result and duration, keeps going after a failure, prints a
//! summary table and exits non-zero if any step failed.
//!
//! Steps: setup, ui, rust, build, interop, e2e, package. The UI is built first because the Tauri app
//! embeds ui/dist when it compiles. The app is tested in the same `cargo test --workspace` as
//! the engine, and the later steps build and test the same workspace: cargo resolves features
//! per command, so testing the app apart (or the engine without it) compiled tokio, rsipstack,
//! sonora, rusqlite... a second time with other features (measured: ~12 min of a CI run).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::install::{ensure_system_packages, test_packages};
use crate::layout::{cargo, cargo_bin_dir, Layout};
use crate::npm;
use crate::python_venv::ensure_venv;
use crate::report::{format_duration, summary, Outcome, StepResult};
use crate::shell::Cmd;
use crate::tauri_driver::ensure_tauri_driver;

/// The steps, in the order they run: name, what it does, time limit for each of its commands.
pub const STEPS: &[(&str, &str, u64)] = &[
    ("setup", "system packages, tauri-driver, Python venv", 25),
    (
        "ui",
        "ui/: npm ci, npm test, npm run check (types), npm run build",
        10,
    ),
    (
        "rust",
        "cargo test --workspace (engine, CLI, app, tests crate)",
        40,
    ),
    (
        "build",
        "cargo build --workspace --all-targets (CLI and app binaries)",
        15,
    ),
    (
        "interop",
        "ignored tests: kamailio, baresip, sipp, audio",
        25,
    ),
    ("e2e", "tests/e2e/: WebdriverIO on the app window", 15),
    (
        "package",
        "the app's .deb (Tauri CLI): installed, started, updated, removed",
        10,
    ),
];

/// Options of `cargo xtask test`.
#[derive(Debug, Default, PartialEq)]
pub struct TestOptions {
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub dry_run: bool,
    pub list: bool,
}

/// One thing a step does.
enum Action {
    /// Install system packages, tauri-driver and the venv (the setup step).
    Setup,
    /// Fail the step when this npm project is missing.
    RequireNpmProject { dir: PathBuf, what: &'static str },
    /// `npm ci` when node_modules is stale.
    NpmCi(PathBuf),
    /// Create a directory (for artifacts).
    MakeDir(PathBuf),
    /// Run a command; `keep_going` lets the step's later actions run even if it fails.
    Run { cmd: Cmd, keep_going: bool },
}

/// Runs `cargo xtask test`; returns the process exit code.
pub fn test(options: &TestOptions) -> Result<i32, String> {
    let layout = Layout::current();
    if options.list {
        for (name, what, _) in STEPS {
            println!("{name:<8} {what}");
        }
        return Ok(0);
    }
    let selected = select(&options.only, &options.skip)?;
    let started = Instant::now();
    let mut results = Vec::new();
    let total = selected.iter().filter(|(_, run)| *run).count();
    let plan = Plan {
        build_runs: selected.contains(&("build", true)),
        ui_runs: selected.contains(&("ui", true)),
    };
    let mut index = 0;
    for (name, run) in &selected {
        let (_, title, limit_min) = STEPS
            .iter()
            .find(|(n, _, _)| n == name)
            .expect("selected steps are known");
        if !run {
            results.push(StepResult {
                name: name.to_string(),
                title: title.to_string(),
                outcome: Outcome::Skipped,
                duration: Duration::ZERO,
            });
            continue;
        }
        index += 1;
        println!("\n==> [{index}/{total}] {name}: {title}");
        let step_started = Instant::now();
        let outcome = match run_step(
            &layout,
            name,
            plan,
            Duration::from_secs(limit_min * 60),
            options.dry_run,
        ) {
            Ok(()) => Outcome::Passed,
            Err(why) => Outcome::Failed(why),
        };
        let duration = step_started.elapsed();
        match &outcome {
            _ if options.dry_run => println!("<== {name}: planned (dry run)"),
            Outcome::Failed(why) => {
                println!(
                    "<== {name}: FAILED after {} — {why}",
                    format_duration(duration)
                )
            }
            _ => println!("<== {name}: passed in {}", format_duration(duration)),
        }
        results.push(StepResult {
            name: name.to_string(),
            title: title.to_string(),
            outcome,
            duration,
        });
    }
    if options.dry_run {
        println!("\nxtask: dry run: the commands above were not run");
        return Ok(0);
    }
    if selected.contains(&("interop", true)) {
        println!("xtask: interop peer logs: target/interop-logs/ (HOOKFLASH_TEST_DIR)");
    }
    if selected.contains(&("e2e", true)) {
        println!(
            "xtask: e2e screenshots and logs: {}",
            layout.show(&layout.e2e_artifacts())
        );
    }
    println!("{}", summary(&results, started.elapsed()));
    let failed = results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed(_)));
    Ok(if failed { 1 } else { 0 })
}

/// Which steps run, in order. `only` and `skip` take step names (comma lists allowed).
/// The setup step is quick when everything is installed, so it runs with `--only` too,
/// unless it is skipped explicitly.
pub fn select(only: &[String], skip: &[String]) -> Result<Vec<(&'static str, bool)>, String> {
    let split = |list: &[String]| -> Vec<String> {
        list.iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let (only, skip) = (split(only), split(skip));
    for name in only.iter().chain(&skip) {
        if !STEPS.iter().any(|(n, _, _)| n == name) {
            let names: Vec<&str> = STEPS.iter().map(|(n, _, _)| *n).collect();
            return Err(format!(
                "there is no test step `{name}`; the steps are: {}",
                names.join(", ")
            ));
        }
    }
    Ok(STEPS
        .iter()
        .map(|(name, _, _)| {
            let wanted = only.is_empty() || only.iter().any(|o| o == name) || *name == "setup";
            let skipped = skip.iter().any(|s| s == name);
            (*name, wanted && !skipped)
        })
        .collect())
}

/// Which other steps are part of this run.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// When the `build` step does not run (e.g. `--only interop`), interop and e2e build the
    /// binaries they need themselves.
    build_runs: bool,
    /// The app compiles only with ui/dist, so without the `ui` step cargo leaves it out.
    ui_runs: bool,
}

/// The workspace build that `cargo xtask test` (its build step) and `cargo xtask run` share:
/// one cargo command, one feature resolution, one set of artifacts.
pub const SHARED_BUILD: &[&str] = &["build", "--workspace", "--all-targets"];

/// What `step` does in a run of `plan`'s steps.
fn actions(layout: &Layout, step: &str, plan: Plan) -> Vec<Action> {
    let Plan {
        build_runs,
        ui_runs,
    } = plan;
    // The same package set for every cargo command of a run, so they share one feature set.
    let packages: &[&str] = if ui_runs {
        &["--workspace"]
    } else {
        &["--workspace", "--exclude", "hookflash-app"]
    };
    // In CI (a fresh clone, built once) incremental compilation only costs: it writes caches for
    // our crates that no later build reads. Every cargo command of the run gets the same setting,
    // so none of them rebuilds what another built.
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    let cargo_cmd = |args: &[&str]| {
        let cmd = Cmd::new(cargo())
            .args(args.iter().copied())
            .cwd(&layout.root);
        if ci {
            cmd.env("CARGO_INCREMENTAL", "0")
        } else {
            cmd
        }
    };
    let run = |cmd: Cmd| Action::Run {
        cmd,
        keep_going: false,
    };
    match step {
        "setup" => vec![Action::Setup],
        // `--no-fail-fast`: one failing test binary must not hide the results of the others.
        "rust" => vec![run(cargo_cmd(
            &[&["test", "--no-fail-fast"], packages].concat(),
        ))],
        "ui" => vec![
            Action::RequireNpmProject {
                dir: layout.ui(),
                what: "the Svelte UI",
            },
            Action::NpmCi(layout.ui()),
            // The build runs even when the unit tests fail: the app needs ui/dist to compile.
            Action::Run {
                cmd: npm::script(&layout.ui(), "test", &[]),
                keep_going: true,
            },
            // Types: the views against the engine's generated types (ui/src/lib/engine.ts).
            Action::Run {
                cmd: npm::script(&layout.ui(), "check", &[]),
                keep_going: true,
            },
            run(npm::script(&layout.ui(), "build", &[])),
        ],
        // `--all-targets` keeps the dev-dependencies in, as in `cargo test`: same features, so
        // this only links the two binaries. With the app in, it is `SHARED_BUILD`, the very
        // command `cargo xtask run` builds with.
        "build" if ui_runs => vec![run(cargo_cmd(SHARED_BUILD))],
        "build" => vec![run(cargo_cmd(
            &[&["build", "--all-targets"], packages].concat(),
        ))],
        "interop" => {
            // Only the ignored tests: the others already ran in the `rust` step. `--tests`
            // leaves out doc tests, whose ```ignore blocks are not meant to be run at all.
            let mut cmd = cargo_cmd(
                &[
                    &["test", "--no-fail-fast"],
                    packages,
                    &["--tests", "--", "--ignored", "--test-threads=1"],
                ]
                .concat(),
            );
            for (k, v) in test_env(layout) {
                cmd = cmd.env(k, v);
            }
            let mut list = Vec::new();
            if !build_runs {
                list.push(run(cargo_cmd(&["build", "-p", "hookflash-cli"])));
            }
            list.push(run(cmd));
            list
        }
        "e2e" => {
            let mut env = test_env(layout);
            env.push((
                "HOOKFLASH_ARTIFACTS_DIR".to_string(),
                layout.e2e_artifacts().display().to_string(),
            ));
            let mut list = vec![Action::RequireNpmProject {
                dir: layout.e2e(),
                what: "the WebdriverIO e2e tests",
            }];
            if !build_runs {
                // The app, and `peer`, which starts Kamailio for the sign-in test
                // (tests/src/bin/peer.rs): the shared build, so a later `cargo xtask run` or full
                // test run finds them fresh.
                list.push(run(cargo_cmd(SHARED_BUILD)));
            }
            list.push(Action::MakeDir(layout.e2e_artifacts()));
            list.push(Action::NpmCi(layout.e2e()));
            list.push(run(npm::script(&layout.e2e(), "test", &env)));
            list
        }
        "package" => {
            let mut list = vec![Action::RequireNpmProject {
                dir: layout.ui(),
                what: "the Svelte UI (its dev-dependencies hold the Tauri CLI)",
            }];
            list.push(Action::NpmCi(layout.ui()));
            if !build_runs {
                if !ui_runs {
                    list.push(run(npm::script(&layout.ui(), "build", &[])));
                }
                list.push(run(cargo_cmd(SHARED_BUILD)));
            }
            list.push(run(crate::bundle::bundle_command(layout, false)));
            list.push(Action::NpmCi(layout.e2e()));
            list.push(run(npm::script(
                &layout.e2e(),
                "test:installed",
                &[(
                    "HOOKFLASH_DEB_DIR".to_string(),
                    crate::bundle::deb_dir(layout, false).display().to_string(),
                )],
            )));
            list
        }
        other => unreachable!("unknown step {other}"),
    }
}

/// The environment the interop and e2e tests read, plus PATH with cargo's bin directory first
/// (where tauri-driver is installed).
fn test_env(layout: &Layout) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "HOOKFLASH_CLI_BIN".to_string(),
            layout.debug_bin("hookflash-cli").display().to_string(),
        ),
        (
            "HOOKFLASH_APP_BIN".to_string(),
            layout.debug_bin("hookflash-app").display().to_string(),
        ),
        (
            "HOOKFLASH_PEER_BIN".to_string(),
            layout.debug_bin("peer").display().to_string(),
        ),
        (
            "HOOKFLASH_PYTHON".to_string(),
            layout.venv_python().display().to_string(),
        ),
    ];
    if let Some(bin) = cargo_bin_dir() {
        let mut paths = vec![bin.clone()];
        if let Some(path) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&path).filter(|p| *p != bin));
        }
        if let Ok(joined) = std::env::join_paths(paths) {
            env.push(("PATH".to_string(), joined.to_string_lossy().into_owned()));
        }
    }
    env
}

fn run_step(
    layout: &Layout,
    step: &str,
    plan: Plan,
    limit: Duration,
    dry_run: bool,
) -> Result<(), String> {
    let mut first_error: Option<String> = None;
    for action in actions(layout, step, plan) {
        let (result, keep_going) = match action {
            Action::Setup => (setup(layout, dry_run), false),
            Action::RequireNpmProject { dir, what } => {
                (npm::require_project(&dir, &layout.show(&dir), what), false)
            }
            Action::NpmCi(dir) => (npm::ci_if_stale(&dir, &layout.show(&dir), dry_run), false),
            Action::MakeDir(dir) => (
                if dry_run {
                    println!("xtask: dry run, would create {}", dir.display());
                    Ok(())
                } else {
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
                },
                false,
            ),
            Action::Run { cmd, keep_going } => {
                if dry_run {
                    println!("  {cmd}");
                    (Ok(()), keep_going)
                } else {
                    (cmd.run(Some(limit)), keep_going)
                }
            }
        };
        if let Err(e) = result {
            eprintln!("xtask: {e}");
            first_error.get_or_insert(e);
            if !keep_going {
                break;
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Installs everything the tests need; reports each part and fails if any part failed.
fn setup(layout: &Layout, dry_run: bool) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Err(e) = ensure_system_packages(&test_packages(), dry_run) {
        errors.push(e);
    }
    if let Err(e) = ensure_tauri_driver(dry_run) {
        errors.push(e);
    }
    if let Err(e) = ensure_venv(layout, dry_run) {
        errors.push(e);
    }
    print_tool_versions();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// One line with the versions of the tools the steps use (for reading CI logs).
fn print_tool_versions() {
    let version = |program: &str, arg: &str| {
        Cmd::new(program)
            .arg(arg)
            .read()
            .map(|out| out.lines().next().unwrap_or("").trim().to_string())
            .unwrap_or_else(|_| "not found".to_string())
    };
    println!(
        "xtask: tools: {}; node {}; npm {}; {}",
        version(&cargo(), "--version"),
        version("node", "--version"),
        version(crate::shell::npm(), "--version"),
        version("/usr/bin/python3", "--version"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn running(selection: &[(&'static str, bool)]) -> Vec<&'static str> {
        selection
            .iter()
            .filter(|(_, run)| *run)
            .map(|(n, _)| *n)
            .collect()
    }

    #[test]
    fn everything_runs_by_default_in_order() {
        let all = select(&[], &[]).unwrap();
        assert_eq!(
            running(&all),
            vec!["setup", "ui", "rust", "build", "interop", "e2e", "package"]
        );
    }

    #[test]
    fn only_keeps_setup_unless_it_is_skipped() {
        assert_eq!(
            running(&select(&strings(&["ui"]), &[]).unwrap()),
            vec!["setup", "ui"]
        );
        let sel = select(&strings(&["ui,e2e"]), &strings(&["setup"])).unwrap();
        assert_eq!(running(&sel), vec!["ui", "e2e"]);
    }

    #[test]
    fn skip_leaves_steps_out() {
        let sel = select(&[], &strings(&["e2e", "interop"])).unwrap();
        assert_eq!(
            running(&sel),
            vec!["setup", "ui", "rust", "build", "package"]
        );
    }

    #[test]
    fn unknown_step_names_are_refused_with_the_list() {
        let err = select(&strings(&["unit"]), &[]).unwrap_err();
        assert!(err.contains("no test step `unit`"), "{err}");
        assert!(err.contains("interop"), "{err}");
    }

    #[test]
    fn interop_runs_only_ignored_tests_serially_with_the_env() {
        let layout = Layout::current();
        let cmds: Vec<Cmd> = actions(
            &layout,
            "interop",
            Plan {
                build_runs: false,
                ui_runs: true,
            },
        )
        .into_iter()
        .filter_map(|a| match a {
            Action::Run { cmd, .. } => Some(cmd),
            _ => None,
        })
        .collect();
        let test = cmds.last().unwrap();
        assert!(test.args.contains(&"--ignored".to_string()));
        assert!(!test.args.contains(&"--include-ignored".to_string()));
        assert!(test.args.contains(&"--test-threads=1".to_string()));
        assert!(test.args.contains(&"--no-fail-fast".to_string()));
        for var in ["HOOKFLASH_CLI_BIN", "HOOKFLASH_PYTHON", "HOOKFLASH_APP_BIN"] {
            assert!(test.envs.iter().any(|(k, _)| k == var), "{var} not set");
        }
    }

    /// The package set after the subcommand (`test`/`build` and its flags aside).
    fn cargo_packages(layout: &Layout, step: &str, plan: Plan) -> Vec<Vec<String>> {
        actions(layout, step, plan)
            .into_iter()
            .filter_map(|a| match a {
                Action::Run { cmd, .. } if cmd.cwd == Some(layout.root.clone()) => Some(
                    cmd.args
                        .iter()
                        .take_while(|a| *a != "--")
                        .filter(|a| {
                            *a == "--workspace" || *a == "--exclude" || a.starts_with("hookflash-")
                        })
                        .cloned()
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_full_run_tests_and_builds_one_package_set_so_features_resolve_once() {
        let layout = Layout::current();
        let full = Plan {
            build_runs: true,
            ui_runs: true,
        };
        for step in ["rust", "build", "interop"] {
            assert_eq!(
                cargo_packages(&layout, step, full),
                vec![vec!["--workspace".to_string()]],
                "{step}"
            );
        }
        // Without the ui step the app cannot compile (no ui/dist): every step leaves it out.
        let no_ui = Plan {
            build_runs: true,
            ui_runs: false,
        };
        for step in ["rust", "build", "interop"] {
            assert_eq!(
                cargo_packages(&layout, step, no_ui),
                vec![vec![
                    "--workspace".to_string(),
                    "--exclude".to_string(),
                    "hookflash-app".to_string()
                ]],
                "{step}"
            );
        }
    }

    #[test]
    fn run_and_test_share_one_build() {
        let layout = Layout::current();
        let build_args = |a: &Action| match a {
            Action::Run { cmd, .. } if cmd.args.first().map(String::as_str) == Some("build") => {
                Some(cmd.args.clone())
            }
            _ => None,
        };
        let shared: Vec<String> = SHARED_BUILD.iter().map(|s| s.to_string()).collect();
        let full = Plan {
            build_runs: true,
            ui_runs: true,
        };
        let test_build: Vec<_> = actions(&layout, "build", full)
            .iter()
            .filter_map(build_args)
            .collect();
        assert_eq!(test_build, vec![shared.clone()]);
        let e2e_alone: Vec<_> = actions(
            &layout,
            "e2e",
            Plan {
                build_runs: false,
                ui_runs: true,
            },
        )
        .iter()
        .filter_map(build_args)
        .collect();
        assert_eq!(e2e_alone, vec![shared.clone()]);
        assert_eq!(crate::run::build_command(&layout, false).args, shared);
        assert_eq!(
            crate::run::build_command(&layout, true).args,
            ["build", "--release", "-p", "hookflash-app"]
                .map(String::from)
                .to_vec()
        );
    }

    #[test]
    fn interop_and_e2e_build_their_binaries_only_without_the_build_step() {
        let layout = Layout::current();
        let builds = |step: &str, build_runs: bool| {
            actions(&layout, step, Plan { build_runs, ui_runs: true })
                .iter()
                .filter(|a| matches!(a, Action::Run { cmd, .. } if cmd.args.first().map(String::as_str) == Some("build")))
                .count()
        };
        assert_eq!(builds("interop", true), 0);
        assert_eq!(builds("interop", false), 1);
        assert_eq!(builds("e2e", true), 0);
        assert_eq!(builds("e2e", false), 1);
    }

    #[test]
    fn e2e_gets_the_app_and_artifacts_dir() {
        let layout = Layout::current();
        let npm_test = actions(
            &layout,
            "e2e",
            Plan {
                build_runs: false,
                ui_runs: true,
            },
        )
        .into_iter()
        .filter_map(|a| match a {
            Action::Run { cmd, .. } if cmd.cwd == Some(layout.e2e()) => Some(cmd),
            _ => None,
        })
        .next()
        .unwrap();
        let env = |k: &str| {
            npm_test
                .envs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            env("HOOKFLASH_ARTIFACTS_DIR"),
            Some(layout.e2e_artifacts().display().to_string())
        );
        assert!(env("HOOKFLASH_APP_BIN").unwrap().ends_with("hookflash-app"));
    }
}
