//! Processes for the fault and concurrency tests: bd started in the
//! background as the leader of its own process group (so the dolt children it
//! starts can be found, killed and waited for), and the integrity checks that
//! must hold after any fault.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::{Run, Town, bin_dir, dolt};

/// `bd ARGS…` started in the background in the town, leading a new process group.
pub fn spawn_bd(town: &Town, args: &[&str]) -> Child {
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.args(args).process_group(0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().expect("spawn bd")
}

/// Like [`spawn_bd`], with extra environment variables.
pub fn spawn_bd_env(town: &Town, vars: &[(&str, &str)], args: &[&str]) -> Child {
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.args(args).process_group(0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn bd")
}

/// Waits for a background bd and returns what it did.
pub fn finish(child: Child) -> Run {
    let out = child.wait_with_output().expect("wait for bd");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

struct Stat {
    pid: u32,
    ppid: u32,
    pgrp: u32,
    comm: String,
}

/// Every live (not zombie) process, from `/proc/*/stat`.
fn processes() -> Vec<Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
            let open = text.find('(')?;
            let close = text.rfind(')')?;
            let comm = text[open + 1..close].to_owned();
            let mut rest = text[close + 1..].split_whitespace();
            let state = rest.next()?;
            let parent = rest.next()?.parse().ok()?;
            let pgrp = rest.next()?.parse().ok()?;
            (state != "Z" && state != "X").then_some(Stat { pid, ppid: parent, pgrp, comm })
        })
        .collect()
}

/// Waits until no process of group `pgid` is left (a killed bd's dolt
/// children finish their work first); panics after `limit`.
pub fn wait_group_gone(pgid: u32, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let left: Vec<String> =
            processes().into_iter().filter(|p| p.pgrp == pgid).map(|p| format!("{} {}", p.pid, p.comm)).collect();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes of group {pgid} still run after {limit:?}: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A dolt child of `parent` running now, else the next one to start within
/// `limit`.
pub fn dolt_child(parent: u32, limit: Duration) -> Option<u32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(p) = processes().into_iter().find(|p| p.ppid == parent && p.comm == "dolt") {
            return Some(p.pid);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends SIGKILL to `pid` (it may have exited already).
pub fn kill9(pid: u32) {
    let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).stderr(Stdio::null()).status();
}

/// Sends SIGKILL to every process of group `pgid` (bd and the dolt it runs).
pub fn kill9_group(pgid: u32) {
    let _ = std::process::Command::new("kill").args(["-9", "--", &format!("-{pgid}")]).stderr(Stdio::null()).status();
}

/// Asserts `dolt fsck` finds the repository in `dir` intact.
#[track_caller]
pub fn fsck(town: &Town, dir: &Path) {
    let out = town.run(dolt(), dir, ["fsck", "--quiet"]);
    assert_eq!(out.code, 0, "dolt fsck failed in {}:\n{}\n{}", dir.display(), out.stdout, out.stderr);
}

/// Clones a `file://` or `http://` remote into a new directory under the
/// town's sandbox, checks it with fsck and returns the issue titles it holds.
#[track_caller]
pub fn remote_titles(town: &Town, endpoint: &str) -> Vec<String> {
    let dir = tempfile::Builder::new().prefix("clone-").tempdir_in(town.sandbox().path()).expect("clone dir");
    town.run(dolt(), dir.path(), ["clone", endpoint, "c"]).success();
    let clone = dir.path().join("c");
    fsck(town, &clone);
    let out =
        town.run(dolt(), &clone, ["sql", "-r", "json", "-q", "SELECT title FROM issues ORDER BY title"]).success();
    titles_of(&out.stdout)
}

/// The `title` column of a `dolt sql -r json` result.
pub fn titles_of(json: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(json).expect("dolt json");
    doc["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["title"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Leftover temporary files of interrupted atomic writes under `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with('.') && name.contains(".tmp."))
        .collect()
}

/// Appends a passed cell to the fault matrix `scripts/test` prints at the
/// end (`target/tmp/fault-matrix/<suite>.txt`).
pub fn record_cell(suite: &str, row: &str) {
    use std::io::Write as _;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fault-matrix");
    std::fs::create_dir_all(&dir).expect("matrix dir");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{suite}.txt")))
        .expect("matrix file");
    writeln!(file, "{row}").expect("write matrix");
}

/// How an interrupted run ended, in a few words for the matrix.
pub fn outcome(run: &Run) -> String {
    match run.code {
        -1 => "killed".to_owned(),
        0 => "completed".to_owned(),
        code => {
            let reason = run.stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
            let reason: String = reason.chars().take(90).collect();
            format!("exit {code}: {reason}")
        }
    }
}
