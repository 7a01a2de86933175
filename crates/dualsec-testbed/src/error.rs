//! One error type for everything the testbed does.

use std::path::PathBuf;
use std::time::Duration;

/// Why a testbed operation failed. The variant says who is at fault: the host (a tool is missing
/// or a command failed), a peer's output we could not understand, or a wait that ran out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command ran but exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for the failure message.
        command: String,
        /// Exit status as printed by std.
        status: String,
        /// Captured standard error (trimmed), followed by the last lines of standard output.
        stderr: String,
    },
    /// A command could not be started or a file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A tool's output did not have the shape we expected.
    #[error("could not parse output of {tool}: {detail}")]
    Parse {
        /// Which tool produced the output.
        tool: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A condition did not become true in time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// A daemon exited while we expected it to run; its log is at `log`.
    #[error("{what} exited early; see {log}")]
    Exited {
        /// Which daemon.
        what: String,
        /// Where its output went.
        log: PathBuf,
    },
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
