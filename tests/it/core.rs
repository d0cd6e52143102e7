//! The tracker core against the real dolt: init, create, list, show, update,
//! close, comment; one Dolt commit per write.

use crate::support::{Town, bin_dir};

fn commit_messages(town: &Town) -> Vec<String> {
    town.sql("SELECT message FROM dolt_log ORDER BY commit_order DESC")
        .iter()
        .map(|r| r["message"].as_str().expect("message").to_owned())
        .collect()
}

#[test]
fn towns_share_the_genesis_commits() {
    let a = Town::named("alpha");
    let b = Town::named("beta");
    let hashes = |t: &Town| -> Vec<String> {
        t.sql("SELECT commit_hash FROM dolt_log ORDER BY commit_order")
            .iter()
            .map(|r| r["commit_hash"].as_str().expect("hash").to_owned())
            .collect()
    };
    let (ha, hb) = (hashes(&a), hashes(&b));
    assert_eq!(ha.len(), 2, "init makes exactly the two genesis commits: {ha:?}");
    assert_eq!(ha, hb, "independent towns must start from identical commits");
}

#[test]
fn create_then_list_shows_the_issue_with_its_id_and_one_commit() {
    let town = Town::new();
    let created = town.bd(["--json", "create", "Fix login", "-p", "1", "-l", "auth,ui"]).success().json();
    let id = created["id"].as_str().expect("id");
    assert!(id.starts_with("towna-"), "{id}");
    assert_eq!(created["source_system"], "bd:town-a");
    assert_eq!(created["priority"], 1);
    assert_eq!(created["labels"], serde_json::json!(["auth", "ui"]));

    let list = town.bd(["--json", "list"]).success().json();
    let items = list.as_array().expect("array");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["title"], "Fix login");
    assert_eq!(items[0]["created_by"], "tester");

    let messages = commit_messages(&town);
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages[0], format!("bd create {id}: Fix login"));
    let author = town.sql("SELECT committer, email FROM dolt_log LIMIT 1");
    assert_eq!(author[0]["committer"], "tester");
    assert_eq!(author[0]["email"], "tester@town-a");
}

#[test]
fn every_write_is_exactly_one_commit() {
    let town = Town::new();
    let id = town.create("Write once");
    town.bd(["update", &id, "--status", "in_progress", "-a", "alice"]).success().stdout_has("Updated issue");
    town.bd(["comment", &id, "on it"]).success();
    town.bd(["close", &id, "--reason", "done"]).success().stdout_has("Closed issue");
    let messages = commit_messages(&town);
    assert_eq!(
        messages[..4],
        [
            format!("bd close {id}: status, close_reason"),
            format!("bd comment {id}"),
            format!("bd update {id}: assignee, status"),
            format!("bd create {id}: Write once"),
        ]
    );
    let shown = town.bd(["--json", "show", &id]).success().json();
    assert_eq!(shown["status"], "closed");
    assert_eq!(shown["assignee"], "alice");
    assert_eq!(shown["close_reason"], "done");
    assert!(shown["closed_at"].is_string());
    assert_eq!(shown["comments"][0]["text"], "on it");
    let events = town.sql(&format!("SELECT event_type FROM events WHERE issue_id = '{id}' ORDER BY event_type"));
    let kinds: Vec<&str> = events.iter().map(|e| e["event_type"].as_str().expect("type")).collect();
    assert_eq!(kinds, ["closed", "commented", "created", "updated", "updated", "updated"]);
}

#[test]
fn list_filters_by_status_and_assignee() {
    let town = Town::new();
    let a = town.create("One");
    town.bd(["create", "Two", "-a", "bob"]).success();
    town.bd(["close", &a]).success();
    let open = town.bd(["--json", "list", "--status", "open"]).success().json();
    assert_eq!(open.as_array().expect("array").len(), 1);
    assert_eq!(open[0]["title"], "Two");
    let bobs = town.bd(["list", "--assignee", "bob", "--json"]).success().json();
    assert_eq!(bobs[0]["assignee"], "bob");
    let none = town.bd(["--json", "list", "--assignee", "nobody"]).success();
    assert_eq!(none.stdout.trim(), "[]");
}

#[test]
fn text_with_quotes_and_newlines_survives() {
    let town = Town::new();
    let title = "it's a \"quoted\" \\ title; DROP TABLE issues; --";
    let out = town.bd(["--json", "create", title, "-d", "line one\nline two"]).success().json();
    let id = out["id"].as_str().expect("id");
    let shown = town.bd(["--json", "show", id]).success().json();
    assert_eq!(shown["title"], title);
    assert_eq!(shown["description"], "line one\nline two");
}

#[test]
fn bad_input_is_a_usage_error_and_writes_nothing() {
    let town = Town::new();
    town.bd(["create", "x", "-p", "9"]).code(2).stderr_has("invalid priority '9'");
    town.bd(["create", "x", "-t", "Story!"]).code(2).stderr_has("the type 'Story!' is not such a word");
    let id = town.create("real");
    town.bd(["update", &id]).code(2).stderr_has("nothing to update");
    assert_eq!(commit_messages(&town).len(), 3, "failed commands must not commit");
}

#[test]
fn missing_issue_and_double_close_are_clear_errors() {
    let town = Town::new();
    town.bd(["show", "towna-nope"]).code(1).stderr_has("no issue 'towna-nope'").stderr_has("bd list");
    let id = town.create("once");
    town.bd(["close", &id]).success();
    town.bd(["close", &id]).code(1).stderr_has("already closed");
}

#[test]
fn commands_outside_a_town_say_how_to_make_one() {
    let town = Town::uninit("nowhere");
    town.bd(["list"]).code(1).stderr_has("not in a bd workspace").stderr_has("bd init");
}

#[test]
fn init_twice_is_refused() {
    let town = Town::new();
    town.bd(["init"]).code(1).stderr_has("already a bd town");
}

#[test]
fn init_validates_names_and_records_identity() {
    let town = Town::uninit("proj");
    town.bd(["init", "--town", "9bad"]).code(2).stderr_has("invalid town name '9bad'");
    assert!(!town.dir().join(".beads").exists(), "a refused init leaves nothing behind");
    let out = town.bd(["--json", "init", "--town", "north", "--prefix", "nt"]).success().json();
    assert_eq!(out["town"], "north");
    assert_eq!(out["source_system"], "bd:north");
    let id = town.create("hello");
    assert!(id.starts_with("nt-"), "{id}");
    let gitignore = std::fs::read_to_string(town.dir().join(".beads/.gitignore")).expect(".gitignore");
    assert!(gitignore.contains("dolt/") && gitignore.contains("credentials"), "{gitignore}");
}

#[test]
fn workspace_is_found_from_subdirectories_and_with_c_and_beads_dir() {
    let town = Town::new();
    let id = town.create("found me");
    let sub = town.dir().join("src/deep");
    std::fs::create_dir_all(&sub).expect("subdir");
    let from_sub = town.run(bin_dir().join("bd"), &sub, ["--json", "list"]).success().json();
    assert_eq!(from_sub[0]["id"], id.as_str());
    let elsewhere = town.sandbox().path();
    let with_c = town.run(bin_dir().join("bd"), elsewhere, ["-C", "town-a", "--json", "list"]).success().json();
    assert_eq!(with_c[0]["id"], id.as_str());
    let with_dir =
        town.run(bin_dir().join("bd"), elsewhere, ["--beads-dir", "town-a/.beads", "--json", "list"]).success().json();
    assert_eq!(with_dir[0]["id"], id.as_str());
}

#[test]
fn a_missing_dolt_is_a_clear_error() {
    let town = Town::new();
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.env("BD_DOLT", town.sandbox().path().join("no-such-dolt")).args(["list"]);
    let out = cmd.output().expect("spawn");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dolt not found") && stderr.contains("scripts/ensure-dolt"), "{stderr}");
}

#[test]
fn a_too_old_dolt_is_refused() {
    // A fake dolt: real dolt cannot be made to report an old version.
    let town = Town::new();
    let fake = town.sandbox().path().join("old-dolt");
    std::fs::write(&fake, "#!/bin/sh\necho 'dolt version 1.2.3'\n").expect("fake dolt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.env("BD_DOLT", &fake).args(["list"]);
    let out = cmd.output().expect("spawn");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dolt 1.2.3") && stderr.contains("too old") && stderr.contains("1.86.0"), "{stderr}");
}
