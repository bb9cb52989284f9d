//! npm projects (ui/ and tests/e2e/): `npm ci` only when node_modules is older than the lock
//! file, and `npm run <script>` with the output streamed.

use std::path::Path;
use std::time::SystemTime;

use crate::shell::{npm, Cmd};

/// Fails with a clear sentence when an npm project directory is not there.
pub fn require_project(dir: &Path, shown: &str, what: &str) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{shown}/ does not exist (expected {what} there)"));
    }
    if !dir.join("package.json").is_file() {
        return Err(format!(
            "{shown}/package.json does not exist (expected {what} there)"
        ));
    }
    Ok(())
}

/// `npm ci` in `dir` unless node_modules already matches package-lock.json.
pub fn ci_if_stale(dir: &Path, shown: &str, dry_run: bool) -> Result<(), String> {
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let stale = is_stale(
        modified(&dir.join("package-lock.json")),
        modified(&dir.join("package.json")),
        modified(&dir.join("node_modules").join(".package-lock.json")),
    );
    if !stale {
        println!(
            "xtask: {shown}/node_modules is up to date with package-lock.json; skipping npm ci"
        );
        return Ok(());
    }
    let cmd = Cmd::new(npm())
        .args(["ci", "--no-audit", "--no-fund"])
        .cwd(dir);
    if dry_run {
        println!("xtask: dry run, would run:\n  {cmd}");
        return Ok(());
    }
    cmd.run(None)
}

/// node_modules is stale when npm's record of it (node_modules/.package-lock.json) is missing
/// or older than package-lock.json or package.json. A missing lock file also counts as stale,
/// so `npm ci` runs and says clearly that the lock file is missing.
pub fn is_stale(
    lock: Option<SystemTime>,
    package_json: Option<SystemTime>,
    installed: Option<SystemTime>,
) -> bool {
    let (Some(lock), Some(installed)) = (lock, installed) else {
        return true;
    };
    installed < lock || package_json.is_some_and(|p| installed < p)
}

/// `npm run <script>` (or `npm test`) in `dir` with extra environment.
pub fn script(dir: &Path, script: &str, envs: &[(String, String)]) -> Cmd {
    let mut cmd = if script == "test" {
        Cmd::new(npm()).arg("test")
    } else {
        Cmd::new(npm()).args(["run", script])
    };
    cmd = cmd.cwd(dir);
    for (k, v) in envs {
        cmd = cmd.env(k.clone(), v.clone());
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(secs: u64) -> Option<SystemTime> {
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn fresh_install_is_not_stale() {
        assert!(!is_stale(t(10), t(5), t(20)));
    }

    #[test]
    fn newer_lock_or_package_json_makes_it_stale() {
        assert!(is_stale(t(30), t(5), t(20)));
        assert!(is_stale(t(10), t(30), t(20)));
    }

    #[test]
    fn missing_install_or_lock_is_stale() {
        assert!(is_stale(t(10), t(5), None));
        assert!(is_stale(None, t(5), t(20)));
    }

    #[test]
    fn missing_project_is_a_clear_error() {
        let err = require_project(Path::new("/surely/not/here"), "tests/e2e", "the e2e tests")
            .unwrap_err();
        assert_eq!(
            err,
            "tests/e2e/ does not exist (expected the e2e tests there)"
        );
    }
}
