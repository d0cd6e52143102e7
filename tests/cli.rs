//! CLI snapshots: trycmd cases under tests/cmd, run against the real dolt
//! in a sealed environment, each case in a sandbox of its own.
//!
//! trycmd hands its cases the environment of the process it runs in, so the
//! test first runs itself again with nothing of the caller's environment but
//! what the cases need ([`SEALED`]): a `BD_SYNC_MODE`, `BEADS_DIR`,
//! `BD_EXEC_PATH` or `LANG` of the developer's cannot change an outcome, and
//! `PATH` holds only the system directories, so no `bd-*` plugin installed
//! on the machine is found. In there, each case file gets its own
//! [`support::Sandbox`] (home, configuration, cache and dolt root), named
//! `[TOWN]` in the expected output; the case's working directory is trycmd's
//! own per-case copy of its `.in/` directory (`[CWD]`).
//! `cargo test --test cli -- cli trycmd=NAME` runs only the case files whose
//! name contains NAME; `TRYCMD=overwrite` rewrites the expectations.

// The driver reads its own environment and runs itself, as a user would.
#![allow(clippy::disallowed_methods)]

#[path = "it/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};

/// Set in the sealed run; its value is the sealed `PATH`.
const SEALED: &str = "BD_TRYCMD_SEALED";
/// The only `PATH` the cases see: the system's tools (dolt is `BD_DOLT`).
const SYSTEM_PATH: &str = "/usr/bin:/bin";
/// The variables the sealed run may hold; each case adds its sandbox's own.
const KEPT: [&str; 4] = [SEALED, "PATH", "BD_DOLT", "TRYCMD"];

#[test]
fn cli() {
    if std::env::var_os(SEALED).is_some() {
        run_sealed();
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = std::process::Command::new(exe);
    cmd.env_clear().env(SEALED, "1").env("PATH", SYSTEM_PATH).env("BD_DOLT", support::dolt());
    // `TRYCMD=overwrite` (or `dump`) is how snapshots are updated.
    if let Some(mode) = std::env::var_os("TRYCMD") {
        cmd.env("TRYCMD", mode);
    }
    // The test binary runs from the package root, where tests/cmd is; a
    // `trycmd=NAME` filter after `--` is handed on.
    cmd.args(["cli", "--exact", "--nocapture"]).args(std::env::args().filter(|a| a.starts_with("trycmd=")));
    let status = cmd.status().expect("run the sealed cases");
    assert!(status.success(), "trycmd cases failed in the sealed environment (see above)");
}

/// Runs every case file, each with its own sandbox, in parallel.
fn run_sealed() {
    let outside: Vec<String> = std::env::vars_os()
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .filter(|k| !KEPT.contains(&k.as_str()))
        .collect();
    assert!(outside.is_empty(), "the sealed run inherited {outside:?}");
    let mut cases = Vec::new();
    collect_cases(Path::new("tests/cmd"), &mut cases);
    cases.sort();
    assert!(cases.len() >= 6, "too few trycmd cases found: {cases:?}");
    let bins = bins();
    let failed: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = cases.iter().map(|case| (case, scope.spawn(|| run_case(case, &bins)))).collect();
        runs.into_iter().filter_map(|(case, run)| run.join().is_err().then(|| case.display().to_string())).collect()
    });
    assert!(failed.is_empty(), "failing trycmd cases: {failed:?}");
}

/// The `.trycmd` and `.toml` case files under `dir`.
fn collect_cases(dir: &Path, cases: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("tests/cmd").flatten() {
        let path = entry.path();
        let is_case = path.extension().is_some_and(|e| e == "trycmd" || e == "toml");
        if entry.file_type().expect("file type").is_dir() && !is_case {
            collect_cases(&path, cases);
        } else if is_case && path.is_file() {
            cases.push(path);
        }
    }
}

/// Every built `bd` and `bd-*` executable.
fn bins() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(support::bin_dir()).expect("bin dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if (name == "bd" || name.starts_with("bd-")) && !name.contains('.') && path.is_file() {
            found.push((name, path));
        }
    }
    found
}

/// Runs one case file in a fresh sandbox.
fn run_case(case: &Path, bins: &[(String, PathBuf)]) {
    let sandbox = support::Sandbox::new();
    let root = sandbox.path();
    let cases = trycmd::TestCases::new();
    for (name, path) in bins {
        cases.register_bin(name.clone(), path.clone());
    }
    let dir = |d: &str| root.join(d).display().to_string();
    cases
        .env("HOME", dir("home"))
        .env("XDG_CONFIG_HOME", dir("config"))
        .env("XDG_CACHE_HOME", dir("cache"))
        .env("DOLT_ROOT_PATH", dir("dolt-root"))
        .env("USER", "tester")
        .env("LANG", "C")
        .env("BD_COLOR", "never")
        .insert_var("[TOWN]", root.display().to_string())
        .expect("[TOWN]")
        .case(case);
    cases.run();
}
