//! Runs a renderer over a file that may be hostile. The limits are set in the child before it
//! executes the program (setrlimit), so they hold from its first instruction and pass to
//! anything it starts:
//!
//! - address space (RLIMIT_AS): a page that declares a huge image cannot take the server's
//!   memory;
//! - file size (RLIMIT_FSIZE): it cannot write more than the largest page we asked for;
//! - CPU time (RLIMIT_CPU): a backstop for the time limit;
//! - no core dumps; few open files.
//!
//! It is killed when the thread that started it ends (PR_SET_PDEATHSIG): that thread waits
//! for it, so this happens only when the server itself dies, which then leaves no renderer
//! running.
//!
//! The program gets its own process group (the whole group is killed at the time limit), an
//! empty environment, no standard output, and a private directory as its working and home
//! directory, removed afterwards. It still runs as the server's user: this bounds what a
//! hostile file can cost, it is not a sandbox against a renderer taken over.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Limits;

/// What the program may write to standard error: enough for its message.
const MAX_STDERR: u64 = 64 * 1024;
const MAX_OPEN_FILES: u64 = 64;
const STDERR: &str = "stderr";

/// A directory of our own, removed with everything in it when dropped.
pub struct WorkDir(PathBuf);

impl WorkDir {
    /// `<parent>/<pid>-page-<n>`: named for this process like the server's other temporary
    /// files, so the start-up check can tell a dead process's leftovers.
    pub fn create(parent: &Path) -> io::Result<WorkDir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        fs::create_dir_all(parent)?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("{}-page-{n}-{nanos:08x}", std::process::id()));
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(WorkDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A file the program wrote, refused when larger than `max` bytes.
    pub fn read(&self, name: &str, max: u64) -> io::Result<Vec<u8>> {
        let file = File::open(self.0.join(name))?;
        let len = file.metadata()?.len();
        if len > max {
            return Err(io::Error::other(format!(
                "{len} bytes; at most {max} expected"
            )));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(max).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug)]
pub enum RunError {
    /// The program does not exist (any more).
    NotFound,
    /// It could not be started or waited for.
    Local(String),
    TimedOut,
    /// It ran and failed: its status and the end of what it said.
    Failed(String),
}

/// Runs `program args` in `dir` with `input` as standard input, within `limits`; its files
/// may be at most `max_file` bytes each.
pub fn run(
    program: &Path,
    args: &[OsString],
    input: File,
    dir: &WorkDir,
    limits: &Limits,
    max_file: u64,
) -> Result<(), RunError> {
    let stderr = File::create(dir.path().join(STDERR))
        .map_err(|e| RunError::Local(format!("creating its stderr file: {e}")))?;
    let rlimits = [
        (libc::RLIMIT_AS, limits.memory),
        (libc::RLIMIT_FSIZE, max_file.max(MAX_STDERR)),
        (libc::RLIMIT_CPU, limits.timeout.as_secs() + 1),
        (libc::RLIMIT_CORE, 0),
        (libc::RLIMIT_NOFILE, MAX_OPEN_FILES),
    ];
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env("TMPDIR", dir.path())
        .stdin(input)
        .stdout(Stdio::null())
        .stderr(stderr)
        .process_group(0);
    // SAFETY: runs in the forked child before exec; it only makes system calls that are
    // async-signal-safe (prctl, getppid, setrlimit) and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The server may have died between the fork and the prctl.
            if libc::getppid() != parent {
                return Err(io::Error::other("the server is gone"));
            }
            for (resource, value) in rlimits {
                let limit = libc::rlimit {
                    rlim_cur: value,
                    rlim_max: value,
                };
                if libc::setrlimit(resource, &limit) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => RunError::NotFound,
        _ => RunError::Local(format!("starting {}: {e}", program.display())),
    })?;
    let deadline = Instant::now() + limits.timeout;
    let mut pause = Duration::from_millis(2);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                kill_group(child.id());
                let _ = child.wait();
                return Err(RunError::Local(format!(
                    "waiting for {}: {e}",
                    program.display()
                )));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill_group(child.id());
            let _ = child.wait();
            return Err(RunError::TimedOut);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    if status.success() {
        return Ok(());
    }
    Err(RunError::Failed(describe(status, &said(dir))))
}

/// Kills the program and anything it started (its process group).
fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: a plain system call; the group is the child's own (process_group(0)), which
        // exists until the child is waited for.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// The lines of its standard error that say what went wrong, shortened.
fn said(dir: &WorkDir) -> String {
    let mut text = String::new();
    if let Ok(file) = File::open(dir.path().join(STDERR)) {
        let _ = file.take(MAX_STDERR).read_to_string(&mut text);
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        // Debian's MuPDF is built without colour management and says so every time.
        .filter(|l| !l.is_empty() && !l.contains("ICC support is not available"))
        .collect();
    let joined = lines.join("; ");
    match joined.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &joined[..at]),
        None => joined,
    }
}

fn describe(status: ExitStatus, said: &str) -> String {
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(libc::SIGXFSZ)) => "killed: it wrote more than allowed".into(),
        (None, Some(libc::SIGXCPU)) => "killed: out of CPU time".into(),
        (None, Some(libc::SIGKILL)) => "killed".into(),
        // Out of address space often ends as a crash rather than an error message.
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended".into(),
    };
    if said.is_empty() {
        how
    } else {
        format!("{how}: {said}")
    }
}
