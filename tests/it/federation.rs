//! Moving data between real towns: file:// mailboxes, an http remotesapi
//! hub with a password, conflicts and strategies, exclusions, bounds.

use std::time::{Duration, Instant};

use crate::support::sampler::Sampler;
use crate::support::{Hub, Town, bin_dir, link, shared_pair};

fn head(town: &Town) -> String {
    town.sql("SELECT HASHOF('main') AS h")[0]["h"].as_str().expect("hash").to_owned()
}

/// Both towns change the title of `id`; B shares first, so A's sync conflicts.
fn conflict(a: &Town, b: &Town, id: &str) {
    b.bd(["update", id, "--title", "B's title"]).success();
    b.bd(["federation", "push", "a"]).success();
    std::thread::sleep(Duration::from_millis(20));
    a.bd(["update", id, "--title", "A's title", "-p", "0"]).success();
}

#[test]
fn issues_travel_from_a_to_c_through_b_keeping_their_source() {
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    let c = Town::federated("town-c");
    let _ab = link(&a, "b", &b, "a");
    let _bc = link(&b, "c", &c, "b");
    let id = a.create("Made in A");
    let pushed = a.bd(["--json", "federation", "push", "b"]).success().json();
    assert_eq!(pushed["peers"][0]["status"], "pushed");
    assert_eq!(pushed["peers"][0]["commits_out"], 1);
    assert_eq!(pushed["peers"][0]["issues_out"]["added"], 1);
    b.bd(["federation", "pull", "a"]).success().stdout_has("pulled 1 commit(s)");
    b.bd(["federation", "push", "c"]).success().stdout_has("pushed");
    c.bd(["federation", "pull", "b"]).success();
    let shown = c.bd(["--json", "show", &id]).success().json();
    assert_eq!(shown["title"], "Made in A");
    assert_eq!(shown["source_system"], "bd:town-a", "attribution must survive two hops");
    // And back the other way through sync.
    c.create("Made in C");
    c.bd(["federation", "sync", "b"]).success();
    b.bd(["federation", "sync", "c"]).success();
    b.bd(["federation", "sync", "a"]).success();
    a.bd(["federation", "pull", "b"]).success();
    assert_eq!(a.titles(), ["Made in A", "Made in C"]);
}

#[test]
fn push_says_up_to_date_when_nothing_moves() {
    let (a, _b, _m, _) = shared_pair();
    let out = a.bd(["--json", "federation", "push", "b"]).success().json();
    assert_eq!(out["peers"][0]["status"], "up_to_date");
    assert_eq!(out["peers"][0]["commits_out"], 0);
    a.bd(["federation", "push", "b"]).success().stdout_has("already up to date");
}

#[test]
fn push_to_a_peer_that_moved_on_is_refused_with_the_fix() {
    let (a, b, _m, _) = shared_pair();
    b.create("B moves on");
    b.bd(["federation", "push", "a"]).success();
    a.create("A moves on");
    a.bd(["federation", "push", "b"])
        .code(1)
        .stderr_has("has changes this town does not have")
        .stderr_has("bd federation sync b");
}

#[test]
fn manual_strategy_lists_the_conflict_and_changes_nothing() {
    let (a, b, _m, id) = shared_pair();
    conflict(&a, &b, &id);
    let before = head(&a);
    let out = a.bd(["--json", "federation", "sync", "b", "--strategy", "manual"]).code(1);
    let json = out.json();
    assert_eq!(json["peers"][0]["status"], "conflict");
    assert_eq!(json["peers"][0]["conflicts"][0]["id"], id.as_str());
    assert_eq!(json["peers"][0]["conflicts"][0]["fields"], serde_json::json!(["title"]));
    assert!(out.stderr.contains(&format!("issues {id}: title")), "{}", out.stderr);
    assert_eq!(head(&a), before, "manual must not move main");
    assert!(a.dolt(["status"]).success().stdout.contains("nothing to commit"));
    // A plain pull stops the same way.
    let pulled = a.bd(["--json", "federation", "pull", "b", "--strategy", "manual"]).code(1).json();
    assert_eq!(pulled["peers"][0]["status"], "conflict");
    assert_eq!(pulled["peers"][0]["conflicts"][0]["fields"], serde_json::json!(["title"]));
    assert_eq!(head(&a), before, "manual must not move main");
    assert!(a.dolt(["status"]).success().stdout.contains("nothing to commit"));
    // Both towns stay usable.
    a.create("still works");
    b.create("here too");
    assert_eq!(a.bd(["--json", "show", &id]).success().json()["title"], "A's title");
}

#[test]
fn ours_theirs_and_newest_resolve_as_named() {
    for (strategy, expected_title) in [("ours", "A's title"), ("theirs", "B's title"), ("newest", "A's title")] {
        let (a, b, _m, id) = shared_pair();
        conflict(&a, &b, &id);
        a.bd(["federation", "sync", "b", "--strategy", strategy]).success().stdout_has("synced");
        let shown = a.bd(["--json", "show", &id]).success().json();
        assert_eq!(shown["title"], expected_title, "strategy {strategy}");
        let messages = a.sql("SELECT message FROM dolt_log LIMIT 5");
        let wanted = format!("Resolve conflicts from b using {strategy} strategy");
        assert!(messages.iter().any(|m| m["message"] == wanted.as_str()), "{strategy}: {messages:?}");
        // The resolution reached the peer too.
        b.bd(["federation", "pull", "a"]).success();
        assert_eq!(b.bd(["--json", "show", &id]).success().json()["title"], expected_title);
    }
}

#[test]
fn newest_takes_the_peers_row_when_it_is_later() {
    let (a, b, _m, id) = shared_pair();
    a.bd(["update", &id, "--title", "A first"]).success();
    std::thread::sleep(Duration::from_millis(20));
    b.bd(["update", &id, "--title", "B later"]).success();
    b.bd(["federation", "push", "a"]).success();
    a.bd(["federation", "sync", "b", "--strategy", "newest"]).success();
    assert_eq!(a.bd(["--json", "show", &id]).success().json()["title"], "B later");
}

#[test]
fn status_tells_the_truth_from_a_fresh_fetch() {
    let (a, b, _m, _) = shared_pair();
    b.create("one");
    b.create("two");
    b.bd(["federation", "push", "a"]).success();
    a.create("local");
    a.dolt(["sql", "-q", "INSERT INTO metadata VALUES ('pending', 'x')"]).success();
    let status = a.bd(["--json", "federation", "status", "b"]).success().json();
    let peer = &status["peers"][0];
    assert_eq!(peer["reachable"], true);
    let counts = a.sql("CALL DOLT_COUNT_COMMITS('--from', 'main', '--to', 'b/main')");
    assert_eq!(peer["ahead"], counts[0]["ahead"]);
    assert_eq!(peer["behind"], counts[0]["behind"]);
    assert_eq!(peer["behind"], 2, "B made two commits A has not seen");
    assert_eq!(peer["ahead"], 1);
    assert_eq!(status["pending_changes"], 1);
    assert!(peer["last_sync"].is_string());
    assert!(peer["fetched_at"].is_string());
}

#[test]
fn pending_changes_are_committed_before_a_pull() {
    let (a, b, _m, _) = shared_pair();
    b.create("from b");
    b.bd(["federation", "push", "a"]).success();
    a.dolt(["sql", "-q", "INSERT INTO metadata VALUES ('note', 'uncommitted')"]).success();
    let pulled = a.bd(["--json", "federation", "pull", "b"]).success().json();
    assert_eq!(
        pulled["peers"][0]["pending_committed"],
        serde_json::json!(["metadata"]),
        "the report says which: {pulled}"
    );
    let messages = a.sql("SELECT message FROM dolt_log LIMIT 3");
    assert!(messages.iter().any(|m| m["message"] == "bd: commit pending changes before pull with b"), "{messages:?}");
    let plain = a.bd(["federation", "pull", "b"]).success();
    assert!(!plain.stdout.contains("first committed"), "nothing was pending the second time: {}", plain.stdout);
    assert!(a.dolt(["status"]).success().stdout.contains("nothing to commit"));
}

#[test]
fn pending_changes_are_committed_before_a_push_and_a_sync() {
    let (a, b, _m, _) = shared_pair();
    for (op, key) in [("push", "push-note"), ("sync", "sync-note")] {
        a.dolt(["sql", "-q", &format!("INSERT INTO metadata VALUES ('{key}', 'uncommitted')")]).success();
        // The commit's text is quoted twice (it is prepared): quotes and backslashes survive.
        let actor = r#"O'Brien \ "x""#;
        let out = a.bd_env(&[("BD_ACTOR", actor)], ["--json", "federation", op, "b"]).success().json();
        assert_eq!(out["peers"][0]["pending_committed"], serde_json::json!(["metadata"]), "{op}: {out}");
        let message = format!("bd: commit pending changes before {op} with b");
        let log = a.sql("SELECT message, committer FROM dolt_log LIMIT 3");
        assert!(log.iter().any(|m| m["message"] == message && m["committer"] == actor), "{op}: {log:?}");
        assert!(a.dolt(["status"]).success().stdout.contains("nothing to commit"), "{op}");
        b.bd(["federation", "pull", "a"]).success();
        assert_eq!(b.sql(&format!("SELECT value FROM metadata WHERE `key` = '{key}'"))[0]["value"], "uncommitted");
    }
    let again = a.bd(["--json", "federation", "push", "b"]).success().json();
    assert_eq!(again["peers"][0]["pending_committed"], serde_json::json!([]), "nothing was pending: {again}");
}

#[test]
fn dry_run_shows_what_would_move_and_moves_nothing() {
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    let _m = link(&a, "b", &b, "a");
    a.create("one");
    a.create("two");
    let out = a.bd(["--json", "federation", "push", "b", "--dry-run"]).success().json();
    assert_eq!(out["dry_run"], true);
    assert_eq!(out["peers"][0]["status"], "dry_run");
    assert_eq!(out["peers"][0]["commits_out"], 2);
    assert_eq!(out["peers"][0]["issues_out"]["added"], 2);
    let pulled = b.bd(["--json", "federation", "pull", "a"]).success().json();
    assert_eq!(pulled["peers"][0]["status"], "up_to_date", "nothing may have reached the peer");
    a.bd(["federation", "push", "b"]).success();
    let before = head(&b);
    let preview = b.bd(["--json", "federation", "pull", "a", "--dry-run"]).success().json();
    assert_eq!(preview["peers"][0]["commits_in"], 2);
    assert_eq!(preview["peers"][0]["issues_in"]["added"], 2);
    assert_eq!(head(&b), before);
    assert!(b.titles().is_empty());
}

/// Without exclusions the issue counts come from dolt's summary of the
/// change, and from the row diff only when an issue was modified (the diff
/// leaves out a change to `updated_at` alone); with exclusions always from
/// the row diff. Both ways count the same changes the same.
#[test]
fn issue_counts_agree_whether_read_from_the_summary_or_the_row_diff() {
    let counts = |run: &serde_json::Value, key: &str| {
        let c = &run["peers"][0][key];
        [&c["added"], &c["changed"], &c["removed"]].map(|n| n.as_u64().expect("count"))
    };
    let mut seen = Vec::new();
    for excluded in [false, true] {
        let (a, b, _m, shared) = shared_pair();
        if excluded {
            // A type no issue here has: nothing is held back, but the counts take the row diff.
            a.bd(["config", "set", "federation.exclude_types", "chore"]).success();
        }
        let mut round = Vec::new();
        let share = |round: &mut Vec<_>| {
            let pushed = a.bd(["--json", "federation", "push", "b"]).success().json();
            let pulled = b.bd(["--json", "federation", "pull", "a"]).success().json();
            round.push((counts(&pushed, "issues_out"), counts(&pulled, "issues_in")));
        };
        // Only updated_at changed: dolt's summary sees a modified row, which is no change.
        a.dolt(["sql", "-q", &format!("UPDATE issues SET updated_at = NOW() + INTERVAL 1 DAY WHERE id = '{shared}'")])
            .success();
        share(&mut round);
        let other = a.create("Second");
        a.create("Third");
        share(&mut round);
        a.bd(["update", &shared, "--title", "Retitled"]).success();
        a.dolt(["sql", "-q", &format!("UPDATE issues SET updated_at = NOW() + INTERVAL 2 DAY WHERE id = '{other}'")])
            .success();
        share(&mut round);
        // A raw removal leaves nothing for a pull to merge, so only the push counts it.
        a.dolt(["sql", "-q", &format!("DELETE FROM issues WHERE id = '{other}'")]).success();
        let pushed = a.bd(["--json", "federation", "push", "b"]).success().json();
        round.push((counts(&pushed, "issues_out"), [0, 0, 0]));
        assert_eq!(
            round,
            [([0, 0, 0], [0, 0, 0]), ([2, 0, 0], [2, 0, 0]), ([0, 1, 0], [0, 1, 0]), ([0, 0, 1], [0, 0, 0])],
            "with exclusions: {excluded}"
        );
        seen.push(round);
    }
    assert_eq!(seen[0], seen[1]);
}

#[test]
fn excluded_types_never_reach_the_peer_not_even_in_history() {
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    let _m = link(&a, "b", &b, "a");
    a.bd(["config", "set", "federation.exclude_types", "chore"]).success();
    a.create("Public work");
    let secret = a.bd(["--json", "create", "Secret chore", "-t", "chore", "-l", "internal"]).success().json();
    let secret_id = secret["id"].as_str().expect("id").to_owned();
    a.bd(["comment", &secret_id, "internal note"]).success();
    a.bd(["federation", "push", "b"]).success().stdout_has("1 new");
    let status = a.bd(["--json", "federation", "status", "b"]).success().json();
    assert_eq!(status["peers"][0]["ahead"], 0, "everything shareable was shared: {status}");
    a.bd(["federation", "push", "b"]).success().stdout_has("already up to date");
    b.bd(["federation", "pull", "a"]).success();
    assert_eq!(b.titles(), ["Public work"]);
    for (table, column) in [("issues", "id"), ("labels", "issue_id"), ("comments", "issue_id"), ("events", "issue_id")]
    {
        let rows = b.sql(&format!("SELECT COUNT(*) AS n FROM dolt_history_{table} WHERE {column} = '{secret_id}'"));
        assert_eq!(rows[0]["n"], 0, "{table} history leaks the excluded issue");
    }
    // Later shares keep working in both directions, still without the chore.
    b.create("From B");
    b.bd(["federation", "push", "a"]).success();
    a.create("Later A");
    a.bd(["federation", "sync", "b"]).success();
    b.bd(["federation", "pull", "a"]).success();
    assert_eq!(b.titles(), ["From B", "Later A", "Public work"]);
    assert_eq!(a.titles(), ["From B", "Later A", "Public work", "Secret chore"]);
    let rows = b.sql(&format!("SELECT COUNT(*) AS n FROM dolt_history_issues WHERE id = '{secret_id}'"));
    assert_eq!(rows[0]["n"], 0);
    // A sync with nothing to pull still sends what is new here.
    a.create("Only A");
    let synced = a.bd(["--json", "federation", "sync", "b"]).success().json();
    assert_eq!(synced["peers"][0]["issues_out"]["added"], 1, "{synced}");
    b.bd(["federation", "pull", "a"]).success();
    assert_eq!(b.titles(), ["From B", "Later A", "Only A", "Public work"]);
}

#[test]
fn an_unreachable_peer_fails_in_time_and_all_is_partial() {
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    let _m = link(&a, "b", &b, "a");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let dead = format!("http://127.0.0.1:{port}/db");
    a.bd(["federation", "add-peer", "dead", &dead]).success();
    a.create("to share");
    let started = Instant::now();
    let out = a.bd(["--json", "federation", "push", "--all", "--timeout", "4s"]).code(3);
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    let json = out.json();
    let by_name = |n: &str| json["peers"].as_array().expect("peers").iter().find(|p| p["peer"] == n).cloned().expect(n);
    assert_eq!(by_name("b")["status"], "pushed");
    assert_eq!(by_name("dead")["status"], "failed");
    let error = by_name("dead")["error"].as_str().expect("error").to_owned();
    assert!(error.contains("'dead'") && error.contains(&dead), "{error}");
    assert!(out.stderr.contains("peer 'dead'"), "{}", out.stderr);
    let started = Instant::now();
    a.bd(["federation", "pull", "dead", "--timeout", "2s"]).code(1).stderr_has(&dead);
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    let gone = a.sandbox().path().join("unmounted");
    a.bd(["federation", "add-peer", "gone", &format!("file://{}", gone.display())]).success();
    // A directory that is not there (an unmounted share) is unreachable, not
    // empty; add-peer never made it.
    assert!(!gone.exists(), "add-peer must not create the peer's directory");
    a.bd(["federation", "pull", "gone"]).code(1).stderr_has("does not exist");
    assert!(!gone.exists(), "pull must not recreate a vanished peer");
}

#[test]
fn http_peer_needs_the_right_password_which_never_appears_on_argv() {
    let password = "pw-never-on-argv-42";
    let hub = Hub::serve(password);
    let a = Town::federated("town-a");
    a.create("over http");
    a.bd_stdin(
        "wrong-password\n",
        ["federation", "add-peer", "hub", &hub.endpoint(), "--user", "fed", "--password-stdin"],
    )
    .success();
    a.bd(["federation", "push", "hub", "--timeout", "20s"]).code(1).stderr_has("refused the credentials");
    a.bd(["federation", "remove-peer", "hub"]).success();
    a.bd_stdin(
        &format!("{password}\n"),
        ["federation", "add-peer", "hub", &hub.endpoint(), "--user", "fed", "--password-stdin"],
    )
    .success();

    // Watch every process's argv while bd pushes; the sampler must also see
    // the dolt that carries the password (in its environment) push.
    let sampler = Sampler::start(&[password], &a.dolt_dir(), password);
    a.bd(["federation", "push", "hub"]).success().stdout_has("pushed");
    sampler.finish().assert_watched("`bd federation push hub`", "sql -r json");

    let b = Town::federated("town-b");
    b.bd_stdin(
        &format!("{password}\n"),
        ["federation", "add-peer", "hub", &hub.endpoint(), "--user", "fed", "--password-stdin"],
    )
    .success();
    b.bd(["federation", "pull", "hub"]).success().stdout_has("pulled");
    assert_eq!(b.titles(), ["over http"]);
    let log = b.bd(["--json", "federation", "log", "hub"]).success().json();
    assert!(!log.to_string().contains(password));
}

#[test]
fn a_second_writer_waits_then_fails_clearly() {
    let town = Town::federated("town-a");
    let lock = std::fs::OpenOptions::new().write(true).open(town.dir().join(".beads/bd.lock")).expect("lock file");
    lock.lock().expect("hold the write lock");
    let started = Instant::now();
    town.bd_env(&[("BD_LOCK_TIMEOUT", "1s")], ["create", "blocked"])
        .code(1)
        .stderr_has("another bd command is writing to this town");
    assert!(started.elapsed() >= Duration::from_millis(900), "it should wait before failing");
    lock.unlock().expect("unlock");
    town.bd(["create", "now free"]).success();
    assert_eq!(town.titles(), ["now free"]);
}

#[test]
fn concurrent_writers_never_corrupt_a_town() {
    let town = Town::federated("town-a");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
            cmd.args(["create", &format!("parallel {i}")]);
            std::thread::spawn(move || cmd.output().expect("spawn").status.success())
        })
        .collect();
    let ok = handles.into_iter().map(|h| h.join().expect("thread")).filter(|ok| *ok).count();
    assert_eq!(ok, 4, "each writer waits its turn");
    assert_eq!(town.titles().len(), 4);
    assert!(town.dolt(["status"]).success().stdout.contains("nothing to commit"));
}

#[test]
fn the_audit_log_records_every_share() {
    let (a, _b, _m, _) = shared_pair();
    let log = a.bd(["--json", "federation", "log"]).success().json();
    let entries = log.as_array().expect("array");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["peer"], "b");
    assert_eq!(entries[0]["operation"], "push");
    assert_eq!(entries[0]["commits_out"], 1);
    assert_eq!(entries[0]["issues_out"]["added"], 1);
    let listed = a.bd(["federation", "log", "b"]).success();
    assert!(listed.stdout.contains(" b push  pushed; 1 commit(s) out"), "{}", listed.stdout);
    // The log is the local file, never a versioned table: the town holds the
    // tracker's tables and no other, and with the file gone the log is empty.
    let tables: Vec<String> = a
        .sql("SHOW TABLES")
        .iter()
        .filter_map(|row| row.as_object()?.values().next()?.as_str().map(str::to_owned))
        .collect();
    assert_eq!(tables, ["comments", "config", "dependencies", "events", "issues", "labels", "metadata"]);
    std::fs::remove_file(a.dir().join(".beads/federation-log.jsonl")).expect("remove the log file");
    assert_eq!(a.bd(["--json", "federation", "log"]).success().json(), serde_json::json!([]));
}

/// A push interrupted after the peer took it leaves this town's tracking ref
/// behind; dolt then finds the peer up to date and moves nothing. The next
/// push must see that the peer has this town's main, not call it refused.
#[test]
fn a_push_the_peer_already_took_is_reported_as_taken() {
    let (a, b, _mailbox, _) = shared_pair();
    a.create("Second");
    let dolt = a.dolt_dir();
    let stale = a.sandbox().path().join("stale-dolt");
    a.run("cp", a.dir(), [std::ffi::OsStr::new("-a"), dolt.as_os_str(), stale.as_os_str()]).success();
    a.bd(["federation", "push", "b"]).success();
    // Back to the state before that push: the peer has our main, our ref says it does not.
    std::fs::remove_dir_all(&dolt).expect("remove");
    std::fs::rename(&stale, &dolt).expect("restore");
    a.bd(["federation", "push", "b"]).success().stdout_has("b: pushed");
    let status = a.bd(["--json", "federation", "status", "b"]).success().json();
    assert_eq!(status["peers"][0]["ahead"], 0, "{status}");
    b.bd(["federation", "pull", "a"]).success();
    assert!(b.titles().contains(&"Second".to_owned()), "{:?}", b.titles());
}
