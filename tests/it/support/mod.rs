//! Test helpers: a sealed town in one line, and commands whose output is
//! checked the same way everywhere.
//!
//! `Town::new()` makes a temporary project with its own `HOME`,
//! `XDG_CONFIG_HOME`, `DOLT_ROOT_PATH` and identity, and runs `bd init`.
//! Tests use the real dolt: it is found through `BD_DOLT` or `PATH`, and a
//! missing dolt fails the test loudly (the README's test command builds it).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

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

/// The directory holding the built `bd` and `bd-*` executables.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_bd")).parent().expect("bin dir").to_owned()
}

/// A sealed environment: its own home, config, dolt root and identity.
pub struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    /// A fresh sandbox.
    pub fn new() -> Self {
        let root = tempfile::Builder::new().prefix("bd-test-").tempdir().expect("tempdir");
        for dir in ["home", "config", "dolt-root", "cache"] {
            std::fs::create_dir_all(root.path().join(dir)).expect("sandbox dir");
        }
        Self { root }
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
            .env("BD_DOLT", dolt())
            .env("USER", "tester")
            .env("LANG", "C");
        cmd
    }
}

/// A town: a project directory with `bd init` done.
pub struct Town {
    sandbox: Sandbox,
    dir: PathBuf,
    name: String,
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

    /// A project directory without `bd init`.
    pub fn uninit(name: &str) -> Self {
        let sandbox = Sandbox::new();
        let dir = sandbox.path().join(name);
        std::fs::create_dir_all(&dir).expect("town dir");
        Self { sandbox, dir, name: name.to_owned() }
    }

    /// The project directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The town's name.
    pub fn name(&self) -> &str {
        &self.name
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
    pub fn bd<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(bin_dir().join("bd"), &self.dir, args)
    }

    /// Runs any program in `cwd` with the sandbox environment.
    pub fn run<I, S>(&self, program: impl AsRef<OsStr>, cwd: &Path, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.sandbox.command(program, cwd);
        cmd.args(args);
        Run::new(&mut cmd)
    }

    /// Runs the real `dolt ARGS…` in the town's repository.
    pub fn dolt<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(dolt(), &self.dolt_dir(), args)
    }

    /// Rows of a SQL query run by the real dolt.
    pub fn sql(&self, query: &str) -> Vec<Value> {
        let out = self.dolt(["sql", "-r", "json", "-q", query]).success();
        let doc: Value = serde_json::from_str(&out.stdout).expect("dolt json");
        doc.get("rows").and_then(Value::as_array).cloned().unwrap_or_default()
    }

    /// Creates an issue and returns its id.
    pub fn create(&self, title: &str) -> String {
        let issue = self.bd(["--json", "create", title]).success().json();
        issue["id"].as_str().expect("id").to_owned()
    }
}

/// The outcome of a command.
#[must_use]
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
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}
