//! Sync modes and the JSONL round trip, with real git repositories (made
//! and inspected with the git CLI here; bd itself never runs git).

use std::path::Path;

use crate::support::{Mailbox, Town, bin_dir, dolt};

fn git(town: &Town, dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-c", "user.name=tester", "-c", "user.email=tester@example.invalid"];
    all.extend_from_slice(args);
    town.run("git", dir, all).success().stdout
}

/// PATH with only bd and dolt: proves bd needs no git executable.
fn path_without_git() -> std::ffi::OsString {
    let dolt_dir = dolt().parent().expect("dolt dir").to_owned();
    std::env::join_paths([bin_dir(), dolt_dir]).expect("PATH")
}

fn rows(town: &Town, query: &str) -> String {
    serde_json::to_string(&town.sql(query)).expect("json")
}

#[test]
fn export_then_import_into_a_fresh_town_loses_nothing() {
    let a = Town::new();
    let one =
        a.bd(["--json", "create", "One \"quoted\"\nline", "-l", "x,y", "-a", "alice", "-d", "desc"]).success().json();
    let one = one["id"].as_str().expect("id").to_owned();
    let two = a.create("Two");
    a.bd(["comment", &one, "a comment"]).success();
    a.bd(["close", &two, "--reason", "done"]).success();
    a.dolt([
        "sql",
        "-q",
        &format!("INSERT INTO dependencies VALUES ('{one}', '{two}', 'blocks', '2026-01-02 03:04:05.000006', 'alice'); CALL DOLT_COMMIT('-Am', 'dep')"),
    ])
    .success();
    let file = a.sandbox().path().join("export.jsonl");
    a.bd(["export", "-o", file.to_str().expect("utf8")]).success().stdout_has("2 issue(s)");
    let b = Town::named("fresh");
    let out = b.bd(["--json", "import", file.to_str().expect("utf8")]).success().json();
    assert_eq!(out["added"], 2);
    assert_eq!(a.bd(["--json", "list"]).success().stdout, b.bd(["--json", "list"]).success().stdout);
    for query in [
        "SELECT * FROM issues ORDER BY id",
        "SELECT * FROM labels ORDER BY issue_id, label",
        "SELECT * FROM comments ORDER BY id",
        "SELECT * FROM dependencies ORDER BY issue_id",
        "SELECT * FROM events ORDER BY id",
    ] {
        assert_eq!(rows(&a, query), rows(&b, query), "{query}");
    }
    // Re-exporting gives the very same bytes.
    let again = b.sandbox().path().join("again.jsonl");
    b.bd(["export", "-o", again.to_str().expect("utf8")]).success();
    assert_eq!(std::fs::read(&file).expect("first"), std::fs::read(&again).expect("second"));
    // A second import changes nothing.
    let out = b.bd(["--json", "import", file.to_str().expect("utf8")]).success().json();
    assert_eq!(
        (out["added"].as_u64(), out["changed"].as_u64(), out["unchanged"].as_u64()),
        (Some(0), Some(0), Some(2))
    );
}

#[test]
fn malformed_jsonl_names_the_line_and_imports_nothing() {
    let town = Town::new();
    let file = town.sandbox().path().join("bad.jsonl");
    std::fs::write(&file, "{\"id\":\"x-1\",\"title\":\"ok\"}\nnot json\n").expect("write");
    town.bd(["import", file.to_str().expect("utf8")]).code(1).stderr_has("bad.jsonl:2: not a JSON object");
    assert_eq!(town.bd(["--json", "list"]).success().stdout, "[]\n");
}

#[test]
fn git_portable_sync_commits_the_jsonl_without_git_and_a_clone_gets_the_issues() {
    let a = Town::uninit("project");
    git(&a, a.dir(), &["init", "-q", "-b", "main"]);
    a.bd(["init", "--town", "alpha"]).success();
    let id = a.create("Shared through git");
    let mut cmd = a.sandbox().command(bin_dir().join("bd"), a.dir());
    cmd.env("PATH", path_without_git()).args(["--json", "sync"]);
    let out = cmd.output().expect("spawn");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["mode"], "git-portable");
    assert!(report["jsonl"]["git_commit"].is_string(), "{report}");
    let touched = git(&a, a.dir(), &["show", "--name-only", "--format=%s", "HEAD"]);
    assert!(touched.contains(".beads/issues.jsonl"), "{touched}");
    // Nothing new: no second commit.
    let again = a.bd(["--json", "sync"]).success().json();
    assert!(again["jsonl"]["git_commit"].is_null());

    let clone = a.sandbox().path().join("clone");
    git(&a, a.sandbox().path(), &["clone", "-q", a.dir().to_str().expect("utf8"), clone.to_str().expect("utf8")]);
    a.run(bin_dir().join("bd"), &clone, ["init", "--town", "beta"]).success();
    a.run(bin_dir().join("bd"), &clone, ["sync"]).success().stdout_has("imported 1 new");
    let theirs = a.run(bin_dir().join("bd"), &clone, ["--json", "show", &id]).success().json();
    assert_eq!(theirs["title"], "Shared through git");
    assert_eq!(theirs["source_system"], "bd:alpha");
}

#[test]
fn realtime_rewrites_the_jsonl_after_every_write() {
    let town = Town::new();
    town.bd(["config", "set", "sync.mode", "realtime"]).success();
    let id = town.create("Live");
    let file = town.dir().join(".beads/issues.jsonl");
    assert!(std::fs::read_to_string(&file).expect("export").contains("\"title\":\"Live\""));
    town.bd(["update", &id, "--title", "Live and well"]).success();
    assert!(std::fs::read_to_string(&file).expect("export").contains("Live and well"));
}

#[test]
fn belt_and_suspenders_push_reaches_the_peer_and_commits_the_jsonl() {
    let a = Town::uninit("project");
    git(&a, a.dir(), &["init", "-q", "-b", "main"]);
    a.bd(["init", "--town", "alpha"]).success();
    a.bd(["config", "set", "sync.mode", "belt-and-suspenders"]).success();
    let b = Town::federated("town-b");
    let mailbox = Mailbox::new();
    a.bd(["federation", "add-peer", "b", &mailbox.endpoint()]).success();
    b.bd(["federation", "add-peer", "a", &mailbox.endpoint()]).success();
    a.create("Backed up twice");
    a.bd(["federation", "push", "b"]).success();
    b.bd(["federation", "pull", "a"]).success();
    assert!(b.bd(["list"]).success().stdout.contains("Backed up twice"));
    let log = git(&a, a.dir(), &["log", "--name-only", "--format=%s"]);
    assert!(log.contains(".beads/issues.jsonl") && log.contains("bd sync"), "{log}");
    let committed = git(&a, a.dir(), &["show", "HEAD:.beads/issues.jsonl"]);
    assert!(committed.contains("Backed up twice"));
}

#[test]
fn dolt_native_sync_uses_the_primary_remote() {
    let hub = Mailbox::new();
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    for town in [&a, &b] {
        town.bd(["config", "set", "federation.remote", &hub.endpoint()]).success();
    }
    a.create("Via the primary remote");
    a.bd(["sync"]).success().stdout_has("origin: synced");
    let out = b.bd(["--json", "sync"]).success().json();
    assert_eq!(out["mode"], "dolt-native");
    assert!(out["jsonl"].is_null());
    assert!(b.bd(["list"]).success().stdout.contains("Via the primary remote"));
    assert!(b.remotes().iter().any(|r| r.starts_with("origin ")));
}

#[test]
fn hostile_jsonl_keys_cannot_inject_sql() {
    let town = Town::new();
    let file = town.sandbox().path().join("evil.jsonl");
    std::fs::write(&file, "{\"id\":\"x-1\",\"title\":\"t\",\"a`) VALUES (1); DROP TABLE issues; --\":\"v\"}\n")
        .expect("write");
    town.bd(["import", file.to_str().expect("utf8")]).code(1);
    assert_eq!(town.bd(["--json", "list"]).success().stdout, "[]\n", "the issues table must survive");
}

#[test]
fn bd_sync_commits_only_the_jsonl_leaving_other_staged_work_alone() {
    let a = Town::uninit("project");
    git(&a, a.dir(), &["init", "-q", "-b", "main"]);
    a.bd(["init", "--town", "alpha"]).success();
    std::fs::write(a.dir().join("notes.txt"), "work in progress\n").expect("write");
    git(&a, a.dir(), &["add", "notes.txt"]);
    a.create("Tracked");
    a.bd(["sync"]).success();
    let committed = git(&a, a.dir(), &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(committed.trim(), ".beads/issues.jsonl");
    let status = git(&a, a.dir(), &["status", "--porcelain"]);
    assert!(status.contains("A  notes.txt"), "the user's staged file stays staged: {status}");
    assert!(!status.contains("issues.jsonl"), "{status}");
}

#[test]
fn belt_and_suspenders_sync_shares_what_git_brought_in_the_same_run() {
    let hub = Mailbox::new();
    let a = Town::uninit("project");
    git(&a, a.dir(), &["init", "-q", "-b", "main"]);
    a.bd(["init", "--town", "alpha"]).success();
    a.bd(["config", "set", "sync.mode", "belt-and-suspenders"]).success();
    a.bd(["config", "set", "federation.remote", &hub.endpoint()]).success();
    let id = a.create("Before the pull");
    a.bd(["sync"]).success();
    // A teammate's commit, brought by `git pull`, retitles the issue in the JSONL.
    let file = a.dir().join(".beads/issues.jsonl");
    let mut issue: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&file).expect("jsonl").trim()).expect("one issue");
    issue["title"] = "Retitled in git".into();
    issue["updated_at"] = "2099-01-01 00:00:00.000000".into();
    std::fs::write(&file, format!("{issue}\n")).expect("write");
    let synced = a.bd(["--json", "sync"]).success().json();
    assert_eq!(synced["jsonl"]["imported"]["changed"], 1, "{synced}");
    assert_eq!(synced["remote"]["peers"][0]["status"], "synced", "{synced}");
    let again = a.bd(["--json", "sync"]).success().json();
    assert_eq!(again["remote"]["peers"][0]["status"], "up_to_date", "the import was shared by the first sync: {again}");
    let b = Town::federated("town-b");
    b.bd(["config", "set", "federation.remote", &hub.endpoint()]).success();
    b.bd(["sync"]).success();
    assert_eq!(b.bd(["--json", "show", &id]).success().json()["title"], "Retitled in git");
}
