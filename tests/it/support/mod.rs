//! Test helpers: a sealed town in one line, and commands whose output is
//! checked the same way everywhere.
//!
//! `Town::new()` makes a temporary project with its own `HOME`,
//! `XDG_CONFIG_HOME`, `DOLT_ROOT_PATH` and identity, and runs `bd init`.
//! Tests use the real dolt: it is found through `BD_DOLT` or `PATH`, and a
//! missing dolt fails the test loudly (the README's test command builds it).

// Helpers are shared by two test crates; `pub` keeps them usable from both.
#![allow(unreachable_pub)]
// Tests drive the built executables and the real dolt as a user would.
#![allow(clippy::disallowed_methods)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub mod procs;
pub mod sampler;

/// The dolt binary for tests; panics with the fix when there is none.
pub fn dolt() -> PathBuf {
    if let Some(path) = std::env::var_os("BD_DOLT").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "BD_DOLT={} does not exist; run scripts/test (see README)", path.display());
        return path;
    }
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("dolt")).find(|p| p.is_file()))
        .unwrap_or_default();
    found.unwrap_or_else(|| {
        panic!(
            "dolt not found: these tests need the real dolt. Run `scripts/test` (the README's test command), \
             which builds the pinned dolt and sets BD_DOLT."
        )
    })
}

/// The other dolt build the suite federates with (`BD_DOLT_OTHER`, which the
/// README's test command builds); panics with the fix when there is none.
pub fn other_dolt() -> PathBuf {
    let path = std::env::var_os("BD_DOLT_OTHER").filter(|p| !p.is_empty()).map_or_else(
        || {
            panic!(
                "BD_DOLT_OTHER is not set: these tests federate towns made by two dolt builds. Run `scripts/test` \
                 (the README's test command), which builds both."
            )
        },
        PathBuf::from,
    );
    assert!(path.is_file(), "BD_DOLT_OTHER={} does not exist; run scripts/test (see README)", path.display());
    path
}

/// The directory holding the built `bd` and `bd-*` executables.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_bd")).parent().expect("bin dir").to_owned()
}

/// A sealed environment: its own home, config, dolt root and identity.
pub struct Sandbox {
    root: tempfile::TempDir,
    dolt: PathBuf,
}

impl Sandbox {
    /// A fresh sandbox whose bd runs the pinned dolt.
    pub fn new() -> Self {
        Self::with_dolt(dolt())
    }

    /// A fresh sandbox whose bd (and `Town::dolt`) runs `dolt`.
    pub fn with_dolt(dolt: PathBuf) -> Self {
        let root = tempfile::Builder::new().prefix("bd-test-").tempdir().expect("tempdir");
        for dir in ["home", "config", "dolt-root", "cache"] {
            std::fs::create_dir_all(root.path().join(dir)).expect("sandbox dir");
        }
        Self { root, dolt }
    }

    /// The dolt this sandbox runs.
    pub fn dolt(&self) -> &Path {
        &self.dolt
    }

    /// The sandbox root.
    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// A command with the sandbox's environment (and nothing inherited but PATH).
    pub fn command(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        let root = self.path();
        cmd.current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", root.join("home"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("DOLT_ROOT_PATH", root.join("dolt-root"))
            .env("BD_DOLT", &self.dolt)
            .env("USER", "tester")
            .env("LANG", "C");
        cmd
    }
}

/// A town: a project directory with `bd init` done.
pub struct Town {
    sandbox: Sandbox,
    dir: PathBuf,
}

impl Town {
    /// A town called `town-a`.
    pub fn new() -> Self {
        Self::named("town-a")
    }

    /// A town with the given name (also its directory name and prefix source).
    pub fn named(name: &str) -> Self {
        let town = Self::uninit(name);
        town.bd(["init"]).success();
        town
    }

    /// A town ready for federation (`sync.mode: dolt-native`).
    pub fn federated(name: &str) -> Self {
        let town = Self::named(name);
        town.bd(["config", "set", "sync.mode", "dolt-native"]).success();
        town
    }

    /// A town ready for federation whose bd runs the dolt build `dolt`.
    pub fn federated_with(name: &str, dolt: PathBuf) -> Self {
        let sandbox = Sandbox::with_dolt(dolt);
        let dir = sandbox.path().join(name);
        std::fs::create_dir_all(&dir).expect("town dir");
        let town = Self { sandbox, dir };
        town.bd(["init"]).success();
        town.bd(["config", "set", "sync.mode", "dolt-native"]).success();
        town
    }

    /// The project config file's text.
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.dir.join(".beads/config.yaml")).expect("config.yaml")
    }

    /// `dolt remote -v` in the town, sorted.
    pub fn remotes(&self) -> Vec<String> {
        let mut lines: Vec<String> =
            self.dolt(["remote", "-v"]).success().stdout.lines().map(|l| l.trim().to_owned()).collect();
        lines.sort();
        lines
    }

    /// Runs `bd ARGS…` with extra environment variables.
    #[must_use]
    pub fn bd_env<I, S>(&self, vars: &[(&str, &str)], args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.sandbox.command(bin_dir().join("bd"), &self.dir);
        cmd.args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        Run::new(&mut cmd)
    }

    /// Runs `bd ARGS…` with `input` on stdin.
    #[must_use]
    pub fn bd_stdin<I, S>(&self, input: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        use std::io::Write as _;
        let mut cmd = self.sandbox.command(bin_dir().join("bd"), &self.dir);
        cmd.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        let Output { status, stdout, stderr } = child.wait_with_output().expect("wait");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// A town whose history is unrelated to every bd town's: its database
    /// was made by plain `dolt init` and the schema (as another tool or an
    /// old build would), not from bd's genesis.
    pub fn unrelated(name: &str) -> Self {
        Self::unrelated_with(name, dolt())
    }

    /// [`Town::unrelated`], made and run by the dolt build `dolt`.
    pub fn unrelated_with(name: &str, dolt: PathBuf) -> Self {
        use std::io::Write as _;
        let sandbox = Sandbox::with_dolt(dolt);
        let dir = sandbox.path().join(name);
        std::fs::create_dir_all(&dir).expect("town dir");
        let town = Self { sandbox, dir };
        let dolt_dir = town.dolt_dir();
        std::fs::create_dir_all(&dolt_dir).expect("dolt dir");
        town.run(town.sandbox.dolt(), &dolt_dir, ["init", "--name", "other", "--email", "other@tool.invalid"])
            .success();
        let mut cmd = town.sandbox.command(town.sandbox.dolt(), &dolt_dir);
        cmd.args(["sql"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null());
        let mut child = cmd.spawn().expect("spawn dolt sql");
        let script =
            format!("{}\nCALL DOLT_COMMIT('-A', '-m', 'schema by another tool');", bd_shared::tracker::schema::SCHEMA);
        child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("write schema");
        assert!(child.wait().expect("wait").success(), "the schema did not run");
        std::fs::write(
            town.dir.join(".beads/config.yaml"),
            format!("town:\n  name: {name}\n  prefix: {name}\nsync:\n  mode: dolt-native\n"),
        )
        .expect("config");
        town
    }

    /// A project directory without `bd init`.
    pub fn uninit(name: &str) -> Self {
        let sandbox = Sandbox::new();
        let dir = sandbox.path().join(name);
        std::fs::create_dir_all(&dir).expect("town dir");
        Self { sandbox, dir }
    }

    /// The project directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Dolt repository.
    pub fn dolt_dir(&self) -> PathBuf {
        self.dir.join(".beads/dolt")
    }

    /// The sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Runs `bd ARGS…` in the town.
    #[must_use]
    pub fn bd<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(bin_dir().join("bd"), &self.dir, args)
    }

    /// Runs any program in `cwd` with the sandbox environment.
    #[must_use]
    pub fn run<I, S>(&self, program: impl AsRef<OsStr>, cwd: &Path, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.sandbox.command(program, cwd);
        cmd.args(args);
        Run::new(&mut cmd)
    }

    /// Runs `program ARGS…` in the town with `PATH` replaced by `path`.
    #[must_use]
    pub fn run_with_path(&self, path: &std::ffi::OsStr, program: &Path, args: &[&str]) -> Run {
        let mut cmd = self.sandbox.command(program, &self.dir);
        cmd.env("PATH", path).args(args);
        Run::new(&mut cmd)
    }

    /// Runs the real `dolt ARGS…` in the town's repository.
    #[must_use]
    pub fn dolt<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(self.sandbox.dolt(), &self.dolt_dir(), args)
    }

    /// Rows of a SQL query run by the real dolt.
    pub fn sql(&self, query: &str) -> Vec<Value> {
        let out = self.dolt(["sql", "-r", "json", "-q", query]).success();
        let doc: Value = serde_json::from_str(&out.stdout).expect("dolt json");
        doc.get("rows").and_then(Value::as_array).cloned().unwrap_or_default()
    }

    /// The titles of the town's issues (as `bd list --all` shows them: closed ones too), sorted.
    pub fn titles(&self) -> Vec<String> {
        let list = self.bd(["--json", "list", "--all"]).success().json();
        let mut titles: Vec<String> =
            list.as_array().expect("array").iter().map(|i| i["title"].as_str().expect("title").to_owned()).collect();
        titles.sort();
        titles
    }

    /// Creates an issue and returns its id.
    pub fn create(&self, title: &str) -> String {
        let issue = self.bd(["--json", "create", title]).success().json();
        issue["id"].as_str().expect("id").to_owned()
    }
}

/// The outcome of a command; the runners that return it are `#[must_use]`
/// so an unchecked run is a warning.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn new(cmd: &mut Command) -> Self {
        let Output { status, stdout, stderr } = cmd.output().expect("spawn");
        Self {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Asserts exit 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Asserts a specific exit code.
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "unexpected exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Asserts stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}:\n{}", self.stderr);
        self
    }

    /// Asserts stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}:\n{}", self.stdout);
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// `PATH` with `dirs` first, then bd's own directory, then the system's.
pub fn path_with(dirs: &[&Path]) -> std::ffi::OsString {
    let system = std::env::var_os("PATH").unwrap_or_default();
    let mut all: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    all.push(bin_dir());
    all.extend(std::env::split_paths(&system));
    std::env::join_paths(all).expect("PATH")
}

/// A shared Dolt remote directory through which two towns exchange.
pub struct Mailbox {
    dir: tempfile::TempDir,
}

impl Mailbox {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self { dir: tempfile::Builder::new().prefix("bd-mailbox-").tempdir().expect("mailbox") }
    }

    /// Its `file://` endpoint.
    pub fn endpoint(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }
}

/// Links two towns through a new mailbox: `a` knows it as peer `a_calls_b`,
/// `b` as peer `b_calls_a`.
pub fn link(a: &Town, a_calls_b: &str, b: &Town, b_calls_a: &str) -> Mailbox {
    let mailbox = Mailbox::new();
    a.bd(["federation", "add-peer", a_calls_b, &mailbox.endpoint()]).success();
    b.bd(["federation", "add-peer", b_calls_a, &mailbox.endpoint()]).success();
    mailbox
}

/// Towns `town-a` and `town-b` linked by [`link`] (A calls the other `b`,
/// B calls it `a`), with one issue of A's, "Shared issue", already shared;
/// returns its id too.
pub fn shared_pair() -> (Town, Town, Mailbox, String) {
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    let mailbox = link(&a, "b", &b, "a");
    let id = a.create("Shared issue");
    a.bd(["federation", "push", "b"]).success();
    b.bd(["federation", "pull", "a"]).success();
    (a, b, mailbox, id)
}

/// A peer that accepts connections on 127.0.0.1 and never says a word: it
/// holds up to `connections` of them open, for the rest of the test.
pub struct SilentPeer {
    port: u16,
    _held: std::thread::JoinHandle<Vec<std::net::TcpStream>>,
}

impl SilentPeer {
    /// Starts listening.
    pub fn start(connections: usize) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let held = std::thread::spawn(move || listener.incoming().take(connections).filter_map(Result::ok).collect());
        Self { port, _held: held }
    }

    /// Its http endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/db", self.port)
    }
}

/// A `dolt sql-server` with remotesapi on 127.0.0.1, serving a bd town as
/// a hub, with a SUPER user `fed` whose password is `password`. Stopped on drop.
pub struct Hub {
    town: Town,
    child: Option<std::process::Child>,
    sql_port: u16,
    /// The remotesapi port.
    pub port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Hub {
    /// Starts the server and waits until its remotesapi port answers.
    pub fn serve(password: &str) -> Self {
        let town = Town::named("hub");
        let create_user = format!(
            "CREATE USER 'fed'@'%' IDENTIFIED BY '{password}'; GRANT ALL ON *.* TO 'fed'@'%' WITH GRANT OPTION;"
        );
        town.dolt(["sql", "-q", &create_user]).success();
        let mut hub = Self { town, child: None, sql_port: free_port(), port: free_port() };
        hub.start();
        hub
    }

    /// (Re)starts the server on its ports and waits until remotesapi answers.
    pub fn start(&mut self) {
        let mut cmd = self.town.sandbox().command(dolt(), &self.town.dolt_dir());
        cmd.args(["sql-server", "--host", "127.0.0.1", "--port", &self.sql_port.to_string()])
            .args(["--remotesapi-port", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().expect("start dolt sql-server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        // Answering is not enough: on a restart another test may have taken
        // the port meanwhile, so our own server must be the one alive.
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
            || child.try_wait().expect("poll dolt sql-server").is_some()
        {
            if let Some(status) = child.try_wait().expect("poll dolt sql-server") {
                panic!("dolt sql-server exited ({status}); is port {} or {} taken?", self.port, self.sql_port);
            }
            assert!(std::time::Instant::now() < deadline, "dolt sql-server did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.child = Some(child);
    }

    /// Kills the server abruptly, as a crash or a pulled plug would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The issue titles the hub holds, read from its repository directly
    /// while the server is stopped (after `dolt fsck` passes), then restarted.
    pub fn titles_at_rest(&mut self) -> Vec<String> {
        self.stop();
        procs::fsck(&self.town, &self.town.dolt_dir());
        let out = self.town.dolt(["sql", "-r", "json", "-q", "SELECT title FROM issues ORDER BY title"]).success();
        self.start();
        procs::titles_of(&out.stdout)
    }

    /// The hub's endpoint: `http://127.0.0.1:PORT/dolt`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/dolt", self.port)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Hub {
    /// The town the hub serves; `town.sql(…)` reaches it through the running server.
    pub fn town(&self) -> &Town {
        &self.town
    }
}
