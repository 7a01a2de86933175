//! A background process that is killed (by PID) and reaped when its guard is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::netns::{Netns, describe};

/// A process started inside a [`Netns`]. Its stdout/stderr go to files in the namespace's working
/// directory (printed if the test panics). Dropping the guard sends SIGKILL to its PID and waits
/// for it, so nothing outlives the test.
#[derive(Debug)]
pub struct Process {
    child: Child,
    name: String,
    command: String,
    stdout: PathBuf,
    stderr: PathBuf,
    // Keeps the namespace alive while the process runs; dropped after `child` is killed.
    _netns: Netns,
}

impl Process {
    pub(crate) fn spawn(netns: Netns, name: &str, mut cmd: Command) -> Result<Self> {
        let stdout = netns.dir().join(format!("{name}.stdout"));
        let stderr = netns.dir().join(format!("{name}.stderr"));
        let open = |p: &Path| {
            std::fs::File::create(p).map_err(|e| Error::io(format!("create {}", p.display()), e))
        };
        cmd.stdin(Stdio::null())
            .stdout(open(&stdout)?)
            .stderr(open(&stderr)?);
        let command = describe(&cmd);
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawn {command}"), e))?;
        Ok(Self {
            child,
            name: name.to_owned(),
            command,
            stdout,
            stderr,
            _netns: netns,
        })
    }

    /// The process id (the program itself: `ip netns exec` execs in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The name given at spawn time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the captured standard output.
    pub fn stdout_path(&self) -> &Path {
        &self.stdout
    }

    /// Path of the captured standard error.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr
    }

    /// Captured standard output so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Captured standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `Some(status)` once the process has exited.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .map_err(|e| Error::io(format!("wait for {}", self.name), e))
    }

    /// Fails with [`Error::Exited`] if the process is no longer running.
    pub fn ensure_running(&mut self) -> Result<()> {
        match self.try_wait()? {
            None => Ok(()),
            Some(_) => Err(Error::Exited {
                what: self.command.clone(),
                log: self.stderr.clone(),
            }),
        }
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("{} to exit", self.name),
                    after: timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal by name (`"INT"`, `"TERM"` …) with kill(1).
    pub fn signal(&self, signal: &str) -> Result<()> {
        crate::netns::run_host("kill", [format!("-{signal}"), self.pid().to_string()]).map(drop)
    }

    /// Graceful stop: SIGTERM, up to 3 s to exit, then SIGKILL.
    pub fn stop(mut self) -> Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        let _ = self.signal("TERM");
        match self.wait_timeout(Duration::from_secs(3)) {
            Ok(status) => Ok(status),
            Err(_) => {
                let _ = self.child.kill();
                self.child
                    .wait()
                    .map_err(|e| Error::io(format!("wait for {}", self.name), e))
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Polls `cond` every 50 ms until it returns `true` or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.to_owned(),
                after: timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
