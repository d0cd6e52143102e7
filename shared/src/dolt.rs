//! The one way bd runs the `dolt` binary.
//!
//! [`Dolt::locate`] finds the binary (`BD_DOLT`, then `dolt.path`, then
//! `PATH`, then the pinned build that `scripts/ensure-dolt` caches) and checks its version once per binary (cached by path, size and
//! mtime). Every call goes through [`Call::run`]: stdin closed unless a SQL
//! script is fed on it, stdout and stderr captured, the exit status
//! interpreted here with dolt's stderr kept in the [`DoltError`], network
//! calls bounded by a timeout, secrets passed only through the environment.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::env;
use crate::tracker::sql::Sql;

/// The oldest dolt release bd is tested with.
pub const MIN_VERSION: Version = Version(1, 86, 0);

/// The dolt release bd is built and tested against: the one
/// `scripts/ensure-dolt` builds (its `PINNED_VERSION`, which a test holds
/// this to). Other builds from [`MIN_VERSION`] on work; `bd doctor` names them.
pub const PINNED_VERSION: Version = Version(1, 88, 1);

pub use crate::env::BD_DOLT;

/// The fix for [`DoltError::NotFound`] and [`DoltError::TooOld`], the one
/// command that gets a usable dolt: `scripts/ensure-dolt` builds the
/// pinned release into [`pinned_cache_path`], where bd finds it with nothing
/// set. Named by its absolute path when this bd was built from a source tree
/// that is still there.
#[must_use]
pub fn install_hint() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ensure-dolt");
    let script = script
        .canonicalize()
        .map_or_else(|_| "scripts/ensure-dolt (in bd's source tree)".to_owned(), |p| p.display().to_string());
    let cache = pinned_cache_path().map_or_else(|| "its cache".to_owned(), |p| p.display().to_string());
    format!(
        "run `{script}`: it builds dolt {PINNED_VERSION} into {cache}, where bd finds it with nothing set \
         (or point BD_DOLT or dolt.path at a dolt you have)"
    )
}

/// Where `scripts/ensure-dolt` puts the pinned build:
/// `${XDG_CACHE_HOME:-~/.cache}/bd/dolt/VERSION/dolt`.
#[must_use]
pub fn pinned_cache_path() -> Option<PathBuf> {
    env::path(env::XDG_CACHE_HOME)
        .or_else(|| env::path(env::HOME).map(|h| h.join(".cache")))
        .map(|d| d.join("bd").join("dolt").join(PINNED_VERSION.to_string()).join("dolt"))
}

/// Which of the four places the dolt in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The `BD_DOLT` variable.
    Env,
    /// The `dolt.path` setting.
    Config,
    /// The first `dolt` on `PATH`.
    Path,
    /// The pinned build in [`pinned_cache_path`].
    Cache,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Found::Env => "env:BD_DOLT",
            Found::Config => "config:dolt.path",
            Found::Path => "PATH",
            Found::Cache => "the pinned build's cache (scripts/ensure-dolt)",
        })
    }
}

/// Finds the dolt binary without running it: `BD_DOLT`, then `configured`
/// (`dolt.path`), then `PATH`, then [`pinned_cache_path`]. A place that is
/// set but holds no file is an error, not a reason to look further: the
/// user asked for that binary.
pub fn find(configured: Option<&str>) -> Result<(PathBuf, Found), DoltError> {
    let (bin, found) = if let Some(path) = env::path(BD_DOLT) {
        (path, Found::Env)
    } else if let Some(path) = configured {
        (PathBuf::from(path), Found::Config)
    } else if let Ok(path) = which::which("dolt") {
        (path, Found::Path)
    } else {
        let cache = pinned_cache_path();
        let Some(path) = cache.clone().filter(|c| c.is_file()) else {
            let cache = cache.map_or_else(|| "no cache directory known".to_owned(), |c| c.display().to_string());
            return Err(DoltError::NotFound {
                searched: format!(
                    "${BD_DOLT} (unset), dolt.path (unset), PATH (no dolt on it) and the pinned build's cache \
                     ({cache}: not built yet)"
                ),
            });
        };
        (path, Found::Cache)
    };
    if !bin.is_file() {
        let setting = if found == Found::Env { format!("${BD_DOLT}") } else { "dolt.path".to_owned() };
        return Err(DoltError::NotFound { searched: format!("{}, which {setting} names", bin.display()) });
    }
    Ok((bin, found))
}

/// A dolt version `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Parses the first `x.y.z` in `text` (e.g. `dolt version 1.86.4`).
    #[must_use]
    pub fn find_in(text: &str) -> Option<Self> {
        text.split_whitespace().find_map(|word| {
            let mut parts = word.trim_start_matches('v').split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next()?.parse().ok()?;
            let patch = parts.next()?.parse().ok()?;
            Some(Version(major, minor, patch))
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Why running dolt failed.
#[derive(Debug)]
pub enum DoltError {
    /// No dolt binary was found.
    NotFound {
        /// Where we looked.
        searched: String,
    },
    /// The binary is older than [`MIN_VERSION`].
    TooOld {
        /// The binary.
        path: PathBuf,
        /// Its version.
        found: Version,
    },
    /// dolt opened the database read-only because another process holds it.
    ReadOnly {
        /// dolt's stderr.
        stderr: String,
    },
    /// A call exceeded its time bound and was killed.
    Timeout {
        /// The dolt subcommand.
        command: String,
        /// The bound.
        after: Duration,
    },
    /// dolt ran and failed.
    Failed {
        /// What kind of failure dolt's message describes.
        kind: Failure,
        /// The dolt subcommand line (never contains secrets).
        command: String,
        /// dolt's stderr (or stdout when stderr was empty).
        stderr: String,
        /// What dolt printed on stdout before failing (results of earlier statements).
        stdout: String,
    },
    /// The disk holding the repository is full ("no space left on device").
    /// dolt may have committed before it failed (it often fails only while
    /// closing), so a writer must look before calling the change lost.
    DiskFull {
        /// The dolt subcommand.
        command: String,
        /// The directory dolt ran in (the repository).
        dir: PathBuf,
        /// The file dolt could not write, when it said.
        file: Option<String>,
        /// What dolt printed on stdout before failing.
        stdout: String,
    },
    /// dolt cannot open the repository at all; it writes there even to read,
    /// so a read-only directory fails every command, reads included.
    CannotOpen {
        /// The directory dolt ran in (the repository).
        dir: PathBuf,
        /// dolt's reason ("operation not permitted", "permission denied", …).
        reason: String,
    },
    /// dolt crashed with a Go panic or fatal error; the dump is not shown.
    Crashed {
        /// The dolt subcommand.
        command: String,
        /// The line of the dump that says what went wrong.
        reason: String,
        /// What dolt printed on stdout before crashing.
        stdout: String,
    },
    /// dolt was killed by a signal before it finished (by the user, the
    /// system or an out-of-memory killer). Each dolt commit is atomic, so
    /// nothing is half-written, but earlier steps of a script may be done.
    Killed {
        /// The dolt subcommand.
        command: String,
        /// The signal.
        signal: i32,
    },
    /// The process could not be started or read.
    Io {
        /// The binary.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What a failure of dolt is, read once from dolt's message: every dolt
/// error exits 1, so its text is all there is to tell a refused push from a
/// peer that is down. Callers branch on this, never on the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A remote could not be reached, or stopped answering; worth retrying.
    Unreachable,
    /// A remote refused the credentials (or asked for some).
    AuthRefused,
    /// The file system refused dolt: on a `file://` remote its directory
    /// is not writable; elsewhere a remote's way of refusing a user.
    PermissionDenied,
    /// The file system is read-only or forbids the write outright.
    Unwritable,
    /// A push was refused because the remote has commits the push lacks.
    NotFastForward,
    /// A merge or three-way diff found no common ancestor.
    NoCommonAncestor,
    /// Anything else; the message says what.
    Other,
}

impl Failure {
    /// Sorts dolt's message. The order matters where messages say several
    /// things: a refused push may mention a timeout it recovered from.
    #[must_use]
    pub fn of(message: &str) -> Self {
        let s = message.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| s.contains(n));
        if any(&["non-fast-forward", "non fast-forward", "not fast-forward"]) {
            Failure::NotFastForward
        } else if s.contains("no common ancestor") {
            Failure::NoCommonAncestor
        } else if any(&["operation not permitted", "read-only file system"]) {
            Failure::Unwritable
        } else if s.contains("permission denied") {
            Failure::PermissionDenied
        } else if any(&["unauthenticated", "access denied", "authentication", "unauthorized", "invalid credentials"]) {
            Failure::AuthRefused
        } else if any(&[
            "connection refused",
            "unavailable",
            "deadline exceeded",
            "timeout",
            "timed out",
            "connection reset",
            "unexpected eof",
            "temporarily",
        ]) {
            Failure::Unreachable
        } else {
            Failure::Other
        }
    }
}

impl DoltError {
    /// The kind of a failure dolt reported (`Other` for failures that are
    /// not dolt's answer: a timeout, a crash, a missing binary).
    #[must_use]
    pub fn kind(&self) -> Failure {
        match self {
            DoltError::Failed { kind, .. } => *kind,
            _ => Failure::Other,
        }
    }

    /// dolt's own message, when it ran.
    #[must_use]
    pub fn stderr(&self) -> Option<&str> {
        match self {
            DoltError::ReadOnly { stderr } | DoltError::Failed { stderr, .. } => Some(stderr),
            _ => None,
        }
    }

    /// What dolt printed on stdout before it failed (the results of the
    /// statements of a script that did run).
    #[must_use]
    pub fn stdout(&self) -> Option<&str> {
        match self {
            DoltError::Failed { stdout, .. }
            | DoltError::DiskFull { stdout, .. }
            | DoltError::Crashed { stdout, .. } => Some(stdout),
            _ => None,
        }
    }
}

impl fmt::Display for DoltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DoltError::NotFound { searched } => {
                write!(f, "dolt not found (looked in {searched}); bd needs dolt {MIN_VERSION} or newer")
            }
            DoltError::TooOld { path, found } => {
                write!(f, "dolt {found} at {} is too old; bd needs dolt {MIN_VERSION} or newer", path.display())
            }
            DoltError::ReadOnly { stderr } => {
                write!(f, "the database is open read-only because another process holds it: {stderr}")
            }
            DoltError::Timeout { command, after } => {
                write!(f, "dolt {command} did not finish within {}s and was stopped", after.as_secs())
            }
            DoltError::Failed { command, stderr, .. } => write!(f, "dolt {command} failed: {stderr}"),
            DoltError::DiskFull { command, dir, file, .. } => {
                let file = file.as_deref().map(|f| format!(" (writing {f})")).unwrap_or_default();
                write!(
                    f,
                    "dolt {command} stopped because the disk holding {} is full: no space left on device{file}; \
                     free some space on that file system (`df -h {}` shows how much is left)",
                    dir.display(),
                    dir.display()
                )
            }
            DoltError::CannotOpen { dir, reason } => {
                write!(f, "dolt cannot open the database in {}: {reason}", dir.display())?;
                if is_permission_problem(reason) {
                    write!(
                        f,
                        "; dolt writes there even to read, so the directory must be writable for this user \
                         (`chmod -R u+w {0}`, or `chattr -R -i {0}` when it is marked immutable)",
                        dir.display()
                    )?;
                }
                Ok(())
            }
            DoltError::Crashed { command, reason, .. } => write!(
                f,
                "dolt {command} crashed: {reason}; this is a fault in dolt or its surroundings, not in your input; \
                 check the database with `dolt fsck` in the repository and run the command again"
            ),
            DoltError::Killed { command, signal } => write!(
                f,
                "dolt {command} was killed by signal {signal} before it finished; each dolt commit is atomic, so \
                 nothing is half-written (earlier steps may be done): run the command again"
            ),
            DoltError::Io { path, source } => {
                write!(f, "cannot run dolt at {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for DoltError {}

/// A located, version-checked dolt binary.
#[derive(Debug, Clone)]
pub struct Dolt {
    bin: PathBuf,
    version: Version,
}

impl Dolt {
    /// Finds dolt ([`find`]) and checks its version.
    pub fn locate(configured: Option<&str>) -> Result<Self, DoltError> {
        let (bin, _) = find(configured)?;
        let version = cached_version(&bin)?;
        if version < MIN_VERSION {
            return Err(DoltError::TooOld { path: bin, found: version });
        }
        Ok(Self { bin, version })
    }

    /// The binary's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.bin
    }

    /// The binary's version.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// Starts building a call of `dolt ARGS…` in `dir`.
    pub fn call<I, S>(&self, dir: &Path, args: I) -> Call<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Call {
            bin: &self.bin,
            dir: dir.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
            env: Vec::new(),
            timeout: None,
        }
    }

    /// A handle on the Dolt repository in `dir`.
    #[must_use]
    pub fn repo(&self, dir: PathBuf) -> Repo {
        Repo { dolt: self.clone(), dir }
    }
}

/// How long a write waits for a reading dolt to let go of the repository.
pub const READ_ONLY_WAIT: Duration = Duration::from_secs(5);

/// One dolt invocation being built.
#[derive(Debug)]
pub struct Call<'a> {
    bin: &'a Path,
    dir: PathBuf,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
    timeout: Option<Duration>,
}

/// What a successful call printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error (dolt prints progress and warnings here).
    pub stderr: String,
}

impl<'a> Call<'a> {
    /// Feeds a SQL script on stdin, so it never sits on argv.
    #[must_use]
    pub fn sql(mut self, script: &Sql) -> Self {
        self.stdin = Some(script.as_str().as_bytes().to_vec());
        self
    }

    /// Sets an environment variable for this call only (how secrets reach dolt).
    #[must_use]
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Bounds the call: it is killed after `limit`.
    #[must_use]
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    fn command_line(&self) -> String {
        self.args.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    /// Runs the call and interprets its exit status. A dolt that found the
    /// repository held by another dolt (a reader: bd serialises its writers)
    /// opens it read-only and fails at its first write, having written
    /// nothing; it is run again until [`READ_ONLY_WAIT`] has passed.
    pub fn run(self) -> Result<Output, DoltError> {
        let deadline = Instant::now() + READ_ONLY_WAIT;
        loop {
            match self.run_once() {
                Err(DoltError::ReadOnly { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// The dolt process to start: stdin fed or closed, stderr captured,
    /// the exit status left to [`Call::interpret`].
    fn expression(&self) -> duct::Expression {
        #[allow(clippy::disallowed_methods)] // this is the one dolt runner
        let mut expr = duct::cmd(self.bin, &self.args)
            .dir(&self.dir)
            .env(env::DOLT_DISABLE_EVENT_FLUSH, "1")
            // dolt never needs bd's own password variable; a call that needs
            // a password gets DOLT_REMOTE_PASSWORD for that call only.
            .env_remove(crate::credentials::BD_PEER_PASSWORD)
            .stderr_capture()
            .unchecked();
        expr = match &self.stdin {
            Some(bytes) => expr.stdin_bytes(bytes.clone()),
            None => expr.stdin_null(),
        };
        for (k, v) in &self.env {
            expr = expr.env(k, v);
        }
        expr
    }

    fn run_once(&self) -> Result<Output, DoltError> {
        let expr = self.expression().stdout_capture();
        let io_err = |source| DoltError::Io { path: self.bin.to_owned(), source };
        let output = match self.timeout {
            None => expr.run().map_err(io_err)?,
            Some(limit) => {
                let handle = expr.start().map_err(io_err)?;
                if let Some(out) = handle.wait_timeout(limit).map_err(io_err)? {
                    out.clone()
                } else {
                    let _ = handle.kill();
                    return Err(DoltError::Timeout { command: self.command_line(), after: limit });
                }
            }
        };
        self.interpret(output.status, String::from_utf8_lossy(&output.stdout).into_owned(), &output.stderr)
    }

    /// What an exit status means, with what dolt printed.
    fn interpret(&self, status: std::process::ExitStatus, stdout: String, stderr: &[u8]) -> Result<Output, DoltError> {
        let stderr = String::from_utf8_lossy(stderr).trim().to_owned();
        if status.success() {
            return Ok(Output { stdout, stderr });
        }
        #[cfg(unix)]
        if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
            return Err(DoltError::Killed { command: self.command_line(), signal });
        }
        let message = if stderr.is_empty() { stdout.trim().to_owned() } else { stderr };
        let stdout = if message == stdout.trim() { String::new() } else { stdout };
        if let Some(err) = classify(&message, &self.command_line(), &self.dir, &stdout) {
            return Err(err);
        }
        let message = match &self.stdin {
            Some(script) => without_statements(&message, &String::from_utf8_lossy(script)),
            None => message,
        };
        if message.contains("database is read only") || message.contains("read only mode") {
            return Err(DoltError::ReadOnly { stderr: message });
        }
        Err(DoltError::Failed { kind: Failure::of(&message), command: self.command_line(), stderr: message, stdout })
    }

    /// Starts the call and hands its output over line by line as dolt
    /// prints it: `dolt sql -r json` prints each statement's result on a
    /// line of its own as soon as the statement is done, so a script's steps
    /// can each be given their own time bound ([`Stream::line`]).
    pub fn stream(self) -> Result<Stream<'a>, DoltError> {
        let handle = std::sync::Arc::new(
            self.expression().reader().map_err(|source| DoltError::Io { path: self.bin.to_owned(), source })?,
        );
        let (send, lines) = std::sync::mpsc::channel();
        let reading = std::sync::Arc::clone(&handle);
        let reader = std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(&*reading).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Stream { call: self, handle, lines, reader: Some(reader), printed: String::new(), started: Instant::now() })
    }
}

/// A running call whose output is read line by line ([`Call::stream`]).
#[derive(Debug)]
pub struct Stream<'a> {
    call: Call<'a>,
    handle: std::sync::Arc<duct::ReaderHandle>,
    lines: std::sync::mpsc::Receiver<String>,
    reader: Option<std::thread::JoinHandle<()>>,
    printed: String,
    started: Instant,
}

impl Stream<'_> {
    /// The next line dolt prints, waiting at most until `deadline`;
    /// `Ok(None)` once dolt has closed its output. When the deadline passes
    /// dolt is stopped, and the error says after how long.
    pub fn line(&mut self, deadline: Instant) -> Result<Option<String>, DoltError> {
        use std::sync::mpsc::RecvTimeoutError;
        match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                self.printed.push_str(&line);
                self.printed.push('\n');
                Ok(Some(line))
            }
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.handle.kill();
                Err(DoltError::Timeout { command: self.call.command_line(), after: self.started.elapsed() })
            }
        }
    }

    /// Waits for dolt to exit (after [`Stream::line`] returned `Ok(None)`)
    /// and interprets its exit status as [`Call::run`] does.
    pub fn finish(mut self) -> Result<Output, DoltError> {
        let io_err = |source| DoltError::Io { path: self.call.bin.to_owned(), source };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        // The reader saw the end of the output, which waits for dolt to exit.
        let Some(output) = self.handle.try_wait().map_err(io_err)?.cloned() else {
            let _ = self.handle.kill();
            return Err(DoltError::Killed { command: self.call.command_line(), signal: 9 });
        };
        self.call.interpret(output.status, std::mem::take(&mut self.printed), &output.stderr)
    }
}

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        // A stream given up on must not leave dolt running on the repository.
        if self.handle.try_wait().ok().flatten().is_none() {
            let _ = self.handle.kill();
        }
    }
}

/// The failures whose raw text helps nobody: a full disk, a repository dolt
/// cannot open, a Go panic dump. `None` for any other message.
fn classify(message: &str, command: &str, dir: &Path, stdout: &str) -> Option<DoltError> {
    const ENOSPC: &str = "no space left on device";
    const UNLOADED: &str = "failed to load database with error: ";
    if message.contains(ENOSPC) {
        // "write /path/to/file: no space left on device"
        let file = message.lines().find_map(|line| {
            let before = &line[..line.find(ENOSPC)?];
            let written = before.rsplit_once("write ")?.1.trim_end_matches([':', ' ']);
            (written.starts_with('/') && !written.contains(' ')).then(|| written.to_owned())
        });
        return Some(DoltError::DiskFull {
            command: command.to_owned(),
            dir: dir.to_owned(),
            file,
            stdout: stdout.to_owned(),
        });
    }
    if let Some(at) = message.find(UNLOADED) {
        let reason = message[at + UNLOADED.len()..].lines().next().unwrap_or_default();
        let reason = reason.trim_end_matches('"').trim().to_owned();
        return Some(DoltError::CannotOpen { dir: dir.to_owned(), reason });
    }
    let crashed = message.starts_with("panic: ")
        || message.contains("\ngoroutine ")
        || message.lines().any(|l| l.trim_start().starts_with("fatal error: "));
    if crashed {
        // dolt's own fatal errors put the stack in the panic value and the
        // reason on a "fatal error:" line; Go runtime panics say it on the
        // "panic:" line.
        let lines = || message.lines().map(str::trim);
        let reason = lines()
            .find_map(|l| l.strip_prefix("fatal error: "))
            .or_else(|| lines().find_map(|l| l.strip_prefix("panic: ")).filter(|r| !r.starts_with("goroutine ")))
            .unwrap_or("a Go panic");
        let reason: String = reason.chars().take(MAX_MESSAGE_LINE).collect();
        return Some(DoltError::Crashed { command: command.to_owned(), reason, stdout: stdout.to_owned() });
    }
    None
}

/// Whether dolt's reason for not opening a repository is the file system
/// refusing a write (modes, an immutable attribute, a read-only mount).
fn is_permission_problem(reason: &str) -> bool {
    ["operation not permitted", "permission denied", "read-only file system"].iter().any(|r| reason.contains(r))
}

/// The longest line of dolt's message an error keeps.
const MAX_MESSAGE_LINE: usize = 300;

/// dolt's message with the failing statement left out. dolt repeats it
/// ("error on line 3 for query INSERT …: string '…' is too large for column
/// 'label'"), and a statement can hold kilobytes of user text that would
/// bury the reason; what remains is cut in the middle of each long line.
fn without_statements(message: &str, script: &str) -> String {
    const ECHO: &str = " for query ";
    let mut statements: Vec<&str> =
        script.split(";\n").map(|s| s.trim().trim_end_matches(';')).filter(|s| !s.is_empty()).collect();
    statements.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = String::with_capacity(message.len().min(4096));
    let mut rest = message;
    while let Some(at) = rest.find(ECHO) {
        out.push_str(&rest[..at]);
        let after = &rest[at + ECHO.len()..];
        if let Some(statement) = statements.iter().find(|s| after.starts_with(**s)) {
            rest = &after[statement.len()..];
        } else {
            out.push_str(ECHO);
            rest = after;
        }
    }
    out.push_str(rest);
    let lines: Vec<String> = out
        .lines()
        .map(|line| {
            let total = line.chars().count();
            if total <= MAX_MESSAGE_LINE {
                return line.to_owned();
            }
            // The start says what failed and the end often names the column.
            let head: String = line.chars().take(MAX_MESSAGE_LINE * 2 / 3).collect();
            let tail: String = line.chars().skip(total - MAX_MESSAGE_LINE / 3).collect();
            format!("{head} … ({} characters cut) … {tail}", total - MAX_MESSAGE_LINE)
        })
        .collect();
    lines.join("\n")
}

/// A row of a `dolt sql -r json` result. NULL columns are absent.
pub type Row = Map<String, Value>;

/// A Dolt repository on disk.
#[derive(Debug, Clone)]
pub struct Repo {
    dolt: Dolt,
    dir: PathBuf,
}

impl Repo {
    /// The repository directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a call of `dolt ARGS…` in this repository.
    pub fn call<I, S>(&self, args: I) -> Call<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.dolt.call(&self.dir, args)
    }

    /// Runs one read query and returns its rows.
    pub fn query(&self, sql: &Sql) -> Result<Vec<Row>, DoltError> {
        let out = self.call(["sql", "-r", "json"]).sql(sql).run()?;
        parse_rows(&out.stdout).map_err(|e| DoltError::Failed {
            kind: Failure::Other,
            command: "sql -r json".to_owned(),
            stderr: format!("unreadable JSON from dolt ({e}): {}", out.stdout.trim()),
            stdout: String::new(),
        })
    }

    /// Runs a SQL script (several statements) fed on stdin.
    pub fn execute(&self, script: &Sql) -> Result<Output, DoltError> {
        self.call(["sql"]).sql(script).run()
    }
}

/// The count in `column` of `row` (0 when absent or NULL): dolt prints
/// counts as numbers and sums as decimal text.
#[must_use]
pub fn number(row: Option<&Row>, column: &str) -> u64 {
    row.and_then(|r| r.get(column)).map_or(0, count)
}

/// A count as dolt prints it (a number, or a decimal sum as text).
#[must_use]
pub fn count(value: &Value) -> u64 {
    value.as_u64().or_else(|| value.as_str().and_then(|s| s.parse().ok())).unwrap_or(0)
}

/// Parses `dolt sql -r json` output. With several statements dolt prints one
/// object per result; the rows of all of them are concatenated.
pub fn parse_rows(stdout: &str) -> Result<Vec<Row>, serde_json::Error> {
    let mut rows = Vec::new();
    for doc in serde_json::Deserializer::from_str(stdout).into_iter::<Value>() {
        if let Value::Object(mut obj) = doc?
            && let Some(Value::Array(items)) = obj.remove("rows")
        {
            rows.extend(items.into_iter().filter_map(|v| match v {
                Value::Object(row) => Some(row),
                _ => None,
            }));
        }
    }
    Ok(rows)
}

/// Reads `dolt version` once per binary: the answer is cached under the user
/// cache directory keyed by path, size and modification time.
fn cached_version(bin: &Path) -> Result<Version, DoltError> {
    let meta = std::fs::metadata(bin).map_err(|source| DoltError::Io { path: bin.to_owned(), source })?;
    let mtime =
        meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let key = format!("{}\t{}\t{mtime}", bin.display(), meta.len());
    let cache = env::path(env::XDG_CACHE_HOME)
        .or_else(|| env::path(env::HOME).map(|h| h.join(".cache")))
        .map(|d| d.join("bd").join("dolt-versions"));
    let cached_text = cache.as_ref().and_then(|c| std::fs::read_to_string(c).ok()).unwrap_or_default();
    if let Some(v) = cached_text.lines().find_map(|l| l.strip_prefix(&key).and_then(Version::find_in)) {
        return Ok(v);
    }
    // `dolt version` asks the internet for newer releases unless its global
    // config says not to; give this one call a root whose config does.
    let quiet_root = cache.as_ref().and_then(|c| c.parent()).map(|d| d.join("dolt-root"));
    let probe = Dolt { bin: bin.to_owned(), version: MIN_VERSION };
    let ready = quiet_root.filter(|root| {
        let config = root.join(".dolt").join("config_global.json");
        std::fs::create_dir_all(root.join(".dolt")).is_ok()
            && std::fs::create_dir_all(root.join("empty")).is_ok()
            && (config.is_file()
                || crate::fsutil::write_atomic(
                    &config,
                    br#"{"versioncheck.disabled":"true","metrics.disabled":"true"}"#,
                    crate::fsutil::Links::Follow,
                )
                .is_ok())
    });
    // dolt scans its working directory for databases: run it in an empty one
    // that nothing else creates or deletes entries in.
    let call = match &ready {
        Some(root) => probe.call(&root.join("empty"), ["version"]).env(env::DOLT_ROOT_PATH, &root.to_string_lossy()),
        None => probe.call(std::env::temp_dir().as_path(), ["version"]),
    };
    let call = call.timeout(Duration::from_secs(30));
    let out = call.run()?;
    let version = Version::find_in(&out.stdout).ok_or_else(|| DoltError::Failed {
        kind: Failure::Other,
        command: "version".to_owned(),
        stderr: format!("unrecognised output: {}", out.stdout.trim()),
        stdout: String::new(),
    })?;
    if let Some(cache) = cache {
        let stale = format!("{}\t", bin.display());
        let mut lines: Vec<String> =
            cached_text.lines().filter(|l| !l.starts_with(&stale)).map(str::to_owned).collect();
        lines.push(format!("{key}\t{version}\n"));
        let text = lines.join("\n");
        let _ = cache.parent().map(std::fs::create_dir_all);
        let _ = crate::fsutil::write_atomic(&cache, text.as_bytes(), crate::fsutil::Links::Follow);
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_found_in_dolt_output() {
        assert_eq!(Version::find_in("dolt version 1.86.4\n"), Some(Version(1, 86, 4)));
        assert_eq!(Version::find_in("nothing here"), None);
        assert!(Version(1, 85, 9) < MIN_VERSION);
    }

    #[test]
    fn the_pinned_version_is_the_one_ensure_dolt_builds() {
        let script = include_str!("../../scripts/ensure-dolt");
        let pinned = script.lines().find_map(|l| l.strip_prefix("PINNED_VERSION=")).expect("PINNED_VERSION= line");
        assert_eq!(pinned.trim(), PINNED_VERSION.to_string(), "scripts/ensure-dolt pins another dolt than dolt.rs");
    }

    #[test]
    fn a_failing_statement_is_not_repeated_in_the_error() {
        let title = "x".repeat(5000);
        let script = format!("SET autocommit = 0;\nINSERT INTO issues (title) VALUES ('{title}');\nCOMMIT;\n");
        let message = format!(
            "error on line 2 for query INSERT INTO issues (title) VALUES ('{title}'): string '{title}' is too large \
             for column 'title'"
        );
        let tidy = without_statements(&message, &script);
        assert!(tidy.starts_with("error on line 2: string 'xxx"), "{tidy}");
        assert!(tidy.contains("characters cut) …") && tidy.ends_with("is too large for column 'title'"), "{tidy}");
        assert!(tidy.len() < 400, "{tidy}");
        assert_eq!(without_statements("table not found: t", &script), "table not found: t");
    }

    /// What dolt 1.86.4 printed when it ran out of disk while closing,
    /// after it had committed (captured on a full tmpfs).
    const FULL_DISK_PANIC: &str = "panic: goroutine 1 [running]:\n\truntime/debug.Stack()\n\t\truntime/debug/stack.go:26 \
        +0x5e\n\tgithub.com/dolthub/dolt/go/store/nbs.(*NomsBlockStore).Close(0x1340b409a480)\n\t\n\tfatal error: write \
        /t/.beads/dolt/.dolt/noms/nbs_manifest_439801634: no space left on device: fatal error closing table \
        persister\n\ngoroutine 81 [running]:\ngithub.com/dolthub/dolt/go/libraries/utils/errors.Fatalf.func1()";

    #[test]
    fn a_full_disk_a_panic_and_an_unopenable_repository_are_named_not_dumped() {
        let dir = Path::new("/t/.beads/dolt");
        let err = classify(FULL_DISK_PANIC, "sql -r json", dir, "{\"rows\": []}").expect("classified");
        let text = err.to_string();
        assert!(matches!(err, DoltError::DiskFull { .. }), "{err:?}");
        assert!(text.contains("the disk holding /t/.beads/dolt is full"), "{text}");
        assert!(text.contains("(writing /t/.beads/dolt/.dolt/noms/nbs_manifest_439801634)"), "{text}");
        assert!(!text.contains("goroutine") && text.contains("df -h /t/.beads/dolt"), "{text}");
        assert_eq!(err.stdout(), Some("{\"rows\": []}"));

        let panic = "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()";
        let err = classify(panic, "sql", dir, "").expect("classified");
        assert!(matches!(err, DoltError::Crashed { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("dolt sql crashed: runtime error: index out of range [3] with length 3;"), "{text}");
        assert!(!text.contains("goroutine"), "{text}");

        let unopenable = "time=\"…\" level=warning msg=\"failed to load database with error: operation not \
                          permitted\"\noperation not permitted";
        let err = classify(unopenable, "sql -r json", dir, "").expect("classified");
        let text = err.to_string();
        assert!(
            text.starts_with("dolt cannot open the database in /t/.beads/dolt: operation not permitted;"),
            "{text}"
        );
        assert!(text.contains("chattr -R -i /t/.beads/dolt") && !text.contains("level=warning"), "{text}");

        assert!(classify("table not found: issues", "sql", dir, "").is_none());
    }

    #[test]
    fn failures_are_sorted_by_what_dolt_said() {
        let cases = [
            ("rpc error: code = Unavailable desc = connection refused", Failure::Unreachable),
            ("rpc error: code = Unauthenticated desc = invalid credentials", Failure::AuthRefused),
            ("failed to push: non-fast-forward, pull first (timeout earlier)", Failure::NotFastForward),
            ("error: cannot merge: no common ancestor", Failure::NoCommonAncestor),
            ("open /peer/manifest: permission denied", Failure::PermissionDenied),
            ("mkdir /peer: read-only file system", Failure::Unwritable),
            ("table not found: issues", Failure::Other),
        ];
        for (message, kind) in cases {
            assert_eq!(Failure::of(message), kind, "{message}");
        }
    }

    #[test]
    fn rows_of_several_results_are_concatenated() {
        let rows = parse_rows("{\"rows\": [{\"a\":1}]}\n{}\n{\"rows\": [{\"b\":2}]}").expect("parse");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1]["b"], 2);
    }
}
