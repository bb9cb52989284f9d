//! System packages Hookflash needs to build, run and test, and installing the missing ones.
//!
//! On Debian/Ubuntu the installed set is read with `dpkg-query` and only what is missing is
//! installed with `apt-get` (as root directly, otherwise through `sudo`), so a second run is quick.
//! On macOS and Windows the prerequisites are printed instead.

use crate::shell::{on_path, Cmd};

/// Needed to build and run the desktop app (Tauri 2 + WebKitGTK) and the engine (ALSA, Opus).
pub const BUILD_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "libsoup-3.0-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libasound2-dev",
    "libopus-dev",
    "cmake",
    "mold",
    "libclang-dev",
    "pkg-config",
    "libssl-dev",
    "libdbus-1-dev",
    // hidapi's hidraw backend (headset buttons) finds devices through libudev.
    "libudev-dev",
    "build-essential",
    "curl",
    "file",
];

/// Needed on top of [`BUILD_PACKAGES`] by `cargo xtask test`: the real SIP peers (Kamailio,
/// baresip, SIPp), a sound server without a sound card, a virtual display with a window manager
/// (openbox, wmctrl) and the WebDriver for the app window, the keyring, audio tools, Python
/// to build the `pesq` speech-quality module, iproute2 + nftables for the tests that put the
/// phone behind a NAT made of network namespaces, and ffmpeg, whose `adpcm_g722` is the second,
/// independent decoder of the G.722 we send (its libraries already come with baresip's
/// recommended `baresip-ffmpeg`: the command adds 1.8 MB, about 10 s of `apt-get install`),
/// and coturn, the TURN server the phone relays its media through when no direct path works;
/// python3-dbus and python3-gi for the e2e tests' StatusNotifier host (the tray test) and
/// x11-utils' `xprop`, which tells the ringing window did not take the keyboard focus;
/// xdotool presses the global hotkeys as a user would and python3-xlib holds one the way another
/// program does (tests/e2e/lib/key_grabber.py); xdg-utils and desktop-file-utils are the
/// desktop's link-handler database the installed .deb registers in (the package step).
/// twinkle-console and linphone-cli are the other phones of the consult-transfer tests: a
/// transferee that acts on our REFER with `Replaces`, and a phone that takes the call over
/// (baresip 1.0 ignores `Replaces`). sudo is how the updater has the package manager install an
/// update when there is no graphical password prompt (pkexec, zenity): the package step's update
/// test, as root, goes that way.
pub const TEST_PACKAGES: &[&str] = &[
    "kamailio",
    "kamailio-presence-modules",
    "kamailio-tls-modules",
    "kamailio-websocket-modules",
    "baresip",
    "twinkle-console",
    "linphone-cli",
    "sip-tester",
    "pulseaudio",
    "pulseaudio-utils",
    "libasound2-plugins",
    "alsa-utils",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "openbox",
    "wmctrl",
    "imagemagick",
    "gnome-keyring",
    "dbus",
    "dbus-x11",
    "sox",
    "openssl",
    "python3",
    "python3-venv",
    "python3-dev",
    "iproute2",
    "nftables",
    "ffmpeg",
    "coturn",
    "python3-dbus",
    "python3-gi",
    "x11-utils",
    "xdotool",
    "python3-xlib",
    "xdg-utils",
    "desktop-file-utils",
    "sudo",
];

/// The oldest Node.js major version the UI tool chain (Vite) is expected to work with.
const NODE_MIN_MAJOR: u32 = 20;

/// Everything `cargo xtask run` needs: the build packages plus Node.js/npm when they are absent.
pub fn run_packages() -> Vec<String> {
    let mut list: Vec<String> = BUILD_PACKAGES.iter().map(|p| p.to_string()).collect();
    list.extend(node_packages());
    list
}

/// Everything `cargo xtask test` needs.
pub fn test_packages() -> Vec<String> {
    let mut list = run_packages();
    list.extend(TEST_PACKAGES.iter().map(|p| p.to_string()));
    list
}

/// Debian's nodejs/npm, only when `node`/`npm` are not already there (an existing Node, e.g.
/// from NodeSource or nvm, is never replaced).
fn node_packages() -> Vec<String> {
    let mut list = Vec::new();
    if !on_path("node") {
        list.push("nodejs".to_string());
    }
    if !on_path(crate::shell::npm()) {
        list.push("npm".to_string());
    }
    list
}

/// Makes sure `packages` are installed (or, with `dry_run`, says what would be installed).
pub fn ensure_system_packages(packages: &[String], dry_run: bool) -> Result<(), String> {
    if cfg!(target_os = "macos") {
        print_prerequisites_macos();
        return Ok(());
    }
    if cfg!(windows) {
        print_prerequisites_windows();
        return Ok(());
    }
    if !(on_path("dpkg-query") && on_path("apt-get")) {
        println!(
            "xtask: this Linux has no dpkg/apt-get, so nothing is installed automatically.\n\
             xtask: install the equivalents of these Debian packages yourself:\n  {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing = missing_packages(packages)?;
    if missing.is_empty() {
        println!(
            "xtask: all {} system packages are installed",
            packages.len()
        );
    } else {
        install_with_apt(&missing, dry_run)?;
    }
    warn_if_node_is_old();
    Ok(())
}

/// The subset of `packages` that dpkg does not report as installed.
pub fn missing_packages(packages: &[String]) -> Result<Vec<String>, String> {
    // dpkg-query exits 1 when some names are unknown but still prints the known ones.
    let output = Cmd::new("dpkg-query")
        .arg("-W")
        .arg("-f=${Package} ${db:Status-Abbrev}\\n")
        .args(packages.iter().cloned())
        .read_any_status()?;
    Ok(not_installed(packages, &output))
}

/// Given `dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n'` output, the wanted packages
/// that are not installed. Status-Abbrev's second letter is the package state: `i` installed,
/// `W`/`t` installed with triggers pending; anything else (`n`, `c`, half-installed) is missing.
pub fn not_installed(wanted: &[String], dpkg_output: &str) -> Vec<String> {
    let installed: Vec<&str> = dpkg_output
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next()?;
            let status = parts.next()?;
            let state = status.chars().nth(1)?;
            matches!(state, 'i' | 'W' | 't').then_some(name)
        })
        .collect();
    let mut missing: Vec<String> = Vec::new();
    for package in wanted {
        if !installed.contains(&package.as_str()) && !missing.contains(package) {
            missing.push(package.clone());
        }
    }
    missing
}

fn is_root() -> bool {
    Cmd::new("id")
        .arg("-u")
        .read()
        .map(|out| out.trim() == "0")
        .unwrap_or(false)
}

fn install_with_apt(missing: &[String], dry_run: bool) -> Result<(), String> {
    let apt_args = |action: &str| -> Vec<String> {
        let mut args = vec![
            "env".to_string(),
            "DEBIAN_FRONTEND=noninteractive".to_string(),
            "apt-get".to_string(),
            "-o".to_string(),
            "DPkg::Lock::Timeout=300".to_string(),
        ];
        if action == "install" {
            args.extend(
                [
                    "-o",
                    "Dpkg::Options::=--force-confdef",
                    "-o",
                    "Dpkg::Options::=--force-confold",
                ]
                .map(String::from),
            );
        }
        args.push(action.to_string());
        args.push("-y".to_string());
        if action == "install" {
            args.extend(missing.iter().cloned());
        }
        args
    };
    let root = is_root();
    let as_admin = |args: Vec<String>| -> Result<Cmd, String> {
        if root {
            Ok(Cmd::new(args[0].clone()).args(args[1..].iter().cloned()))
        } else if on_path("sudo") {
            // `sudo -n` on CI: there is nobody to type a password, so fail instead of waiting.
            let sudo = Cmd::new("sudo");
            let sudo = if crate::layout::is_ci() {
                sudo.arg("-n")
            } else {
                sudo
            };
            Ok(sudo.args(args))
        } else {
            Err(format!(
                "these system packages are missing and I am neither root nor able to use sudo: {}\n\
                 Install them as root: apt-get install {}",
                missing.join(" "),
                missing.join(" ")
            ))
        }
    };
    println!(
        "xtask: installing {} missing system package(s): {}",
        missing.len(),
        missing.join(" ")
    );
    let update = as_admin(apt_args("update"))?;
    let install = as_admin(apt_args("install"))?;
    if dry_run {
        println!("xtask: dry run, would run:\n  {update}\n  {install}");
        return Ok(());
    }
    if let Err(e) = update.run(None) {
        // A stale mirror list should not stop an install that may still succeed.
        eprintln!("xtask: warning: {e}; trying the install anyway");
    }
    install
        .run(None)
        .map_err(|e| format!("installing system packages failed: {e}"))?;
    let still_missing = missing_packages(missing)?;
    if !still_missing.is_empty() {
        return Err(format!(
            "apt-get finished but these packages are still not installed: {}",
            still_missing.join(" ")
        ));
    }
    Ok(())
}

/// Parses `v20.20.2` (what `node --version` prints) into its major version.
pub fn node_major(version: &str) -> Option<u32> {
    version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

fn warn_if_node_is_old() {
    if let Ok(version) = Cmd::new("node").arg("--version").read() {
        if let Some(major) = node_major(&version) {
            if major < NODE_MIN_MAJOR {
                eprintln!(
                    "xtask: warning: Node.js {} is older than {NODE_MIN_MAJOR}; the UI build \
                     (Vite) may refuse to run. Install a newer Node.js (e.g. from NodeSource).",
                    version.trim()
                );
            }
        }
    }
}

fn print_prerequisites_macos() {
    println!(
        "xtask: on macOS nothing is installed automatically. You need:\n\
         \x20 - Xcode command line tools: xcode-select --install\n\
         \x20 - Rust (rustup), Node.js {NODE_MIN_MAJOR}+ with npm\n\
         \x20 - Homebrew: brew install opus cmake pkg-config\n\
         \x20 For `cargo xtask test` also: Python 3 (with venv), and for the interop tests\n\
         \x20 kamailio, baresip and sipp (they are run on Linux in CI)."
    );
}

fn print_prerequisites_windows() {
    println!(
        "xtask: on Windows nothing is installed automatically. You need:\n\
         \x20 - Microsoft C++ Build Tools (\"Desktop development with C++\")\n\
         \x20 - WebView2 runtime (preinstalled on Windows 10 1803+ and 11)\n\
         \x20 - Rust (rustup, MSVC toolchain), Node.js {NODE_MIN_MAJOR}+ with npm, CMake, LLVM (libclang)\n\
         \x20 For `cargo xtask test` also: Python 3; the interop and window tests are run on Linux in CI."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_workflow_installs_the_build_packages() {
        let workflow = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.github/workflows/desktop-bundles.yml");
        let text = std::fs::read_to_string(&workflow).expect("the bundle workflow");
        let missing: Vec<_> = BUILD_PACKAGES
            .iter()
            .filter(|p| !text.split_whitespace().any(|w| w == **p))
            .collect();
        assert!(
            missing.is_empty(),
            "{} does not install {missing:?}",
            workflow.display()
        );
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn installed_and_unknown_packages_are_told_apart() {
        let dpkg = "curl ii \nfile ii \nnpm un \nsox rc \nkamailio iHR\n";
        let wanted = names(&["curl", "file", "npm", "sox", "kamailio", "nosuchpkg"]);
        assert_eq!(
            not_installed(&wanted, dpkg),
            names(&["npm", "sox", "kamailio", "nosuchpkg"])
        );
    }

    #[test]
    fn triggers_pending_counts_as_installed() {
        let dpkg = "libgtk-3-dev it \nlibssl-dev iW \n";
        assert!(not_installed(&names(&["libgtk-3-dev", "libssl-dev"]), dpkg).is_empty());
    }

    #[test]
    fn duplicates_are_reported_once() {
        assert_eq!(
            not_installed(&names(&["curl", "curl"]), ""),
            names(&["curl"])
        );
    }

    #[test]
    fn test_list_contains_the_build_list_and_the_peers() {
        let all = test_packages();
        for p in BUILD_PACKAGES.iter().chain(TEST_PACKAGES) {
            assert!(all.iter().any(|a| a == p), "{p} missing");
        }
    }

    #[test]
    fn dpkg_query_is_read_correctly_on_debian() {
        if !on_path("dpkg-query") {
            return; // not a Debian-like system: nothing to ask
        }
        let missing = missing_packages(&names(&["dpkg", "surely-not-a-package-xyz"])).unwrap();
        assert_eq!(missing, names(&["surely-not-a-package-xyz"]));
    }

    #[test]
    fn node_versions_parse() {
        assert_eq!(node_major("v20.20.2\n"), Some(20));
        assert_eq!(node_major("18.19.0"), Some(18));
        assert_eq!(node_major("nonsense"), None);
    }
}
