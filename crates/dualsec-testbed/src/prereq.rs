//! Prerequisite checks: skip politely on a developer machine, fail loudly in CI.

use std::path::{Path, PathBuf};

/// Name of the environment variable that turns a missing prerequisite into a test failure.
/// `scripts/test-all` sets it under CI so that no interop test is skipped silently.
pub const REQUIRE_ENV: &str = "DUALSEC_REQUIRE_INTEROP";

/// Directories searched after `$PATH`: Debian installs charon and the FRR daemons outside it.
const EXTRA_DIRS: &[&str] = &["/usr/lib/ipsec", "/usr/lib/frr", "/usr/sbin", "/sbin"];

/// Full path of an executable, searching `$PATH` and the daemon directories Debian uses.
pub fn tool_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// True when this process runs as root (needed for network namespaces).
pub fn is_root() -> bool {
    // /proc/self/status "Uid: real effective saved fs"; no libc call needed.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Checks that the test can run: root, plus every tool in `tools` (e.g. `"charon"`, `"swanctl"`,
/// `"iperf3"`, `"tshark"`, `"bird"`). `"ip"` and `"nft"` are always checked.
///
/// Returns `true` when everything is there. Otherwise prints why on stderr and returns `false`
/// so the test can `return` early — unless [`REQUIRE_ENV`] is non-empty (CI), in which case it
/// **panics**, because a skipped interop test in CI hides a broken environment.
///
/// ```no_run
/// if !dualsec_testbed::require(&["charon", "swanctl"]) {
///     return; // skipped, reason printed
/// }
/// ```
pub fn require(tools: &[&str]) -> bool {
    let required = std::env::var_os(REQUIRE_ENV).is_some_and(|v| !v.is_empty());
    require_or_panic(tools, required)
}

fn require_or_panic(tools: &[&str], required: bool) -> bool {
    let mut missing: Vec<String> = Vec::new();
    if !is_root() {
        missing.push("root privileges (network namespaces)".to_owned());
    }
    for tool in ["ip", "nft"].iter().chain(tools) {
        if tool_path(tool).is_none() {
            missing.push(format!("`{tool}`"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "dualsec-testbed: missing {} (install with scripts/install-deps)",
        missing.join(", ")
    );
    assert!(
        !required,
        "{why}; {REQUIRE_ENV} is set, so this is a failure"
    );
    eprintln!("SKIPPED: {why}");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tools_outside_path() {
        assert!(tool_path("sh").is_some());
        assert!(tool_path("/bin/sh").is_some());
        assert!(tool_path("dualsec-no-such-tool").is_none());
    }

    #[test]
    fn missing_tool_skips_normally() {
        assert!(!require_or_panic(&["dualsec-no-such-tool"], false));
    }

    #[test]
    #[should_panic(expected = "DUALSEC_REQUIRE_INTEROP is set")]
    fn missing_tool_fails_when_interop_is_required() {
        require_or_panic(&["dualsec-no-such-tool"], true);
    }
}
