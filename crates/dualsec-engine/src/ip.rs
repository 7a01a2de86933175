//! The `ip` (iproute2) command, for the kernel state the engine keeps beside its own data plane:
//! routes toward the TUN, published routes in the VPC namespace, BGP session addresses.

use std::process::Command;

/// Runs `ip ARGS`; on failure the error names the command and carries its stderr.
pub(crate) fn run_ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
