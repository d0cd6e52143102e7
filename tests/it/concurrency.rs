//! Many bd processes at once, with the real dolt: ten writers on one town,
//! and two towns writing through one shared peer. Nothing is corrupted,
//! every write that reported success is there afterwards, and a writer that
//! gives up says why.

use crate::support::procs::{finish, fsck, record_cell, remote_titles, spawn_bd};
use crate::support::{Run, Town, link, shared_pair};

/// Starts every command at once in its town and waits for all of them.
fn all_at_once(jobs: &[(&Town, Vec<String>)]) -> Vec<Run> {
    let children: Vec<_> = jobs
        .iter()
        .map(|(town, args)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            spawn_bd(town, &args)
        })
        .collect();
    children.into_iter().map(finish).collect()
}

fn args(line: &[&str]) -> Vec<String> {
    line.iter().map(|a| (*a).to_owned()).collect()
}

/// Records the tally of a concurrent run in the matrix `scripts/test` prints.
fn tally(what: &str, runs: &[Run], won: &[bool]) {
    let wins = won.iter().filter(|w| **w).count();
    let refused = runs.len() - wins;
    record_cell(
        "concurrency",
        &format!("{what:<40} | {wins} succeeded, {refused} refused clearly | fsck ok, every success present"),
    );
}

/// A writer either succeeded or failed with one of the clear, expected reasons.
#[track_caller]
fn succeeded(run: &Run, allowed: &[&str]) -> bool {
    if run.code == 0 {
        return true;
    }
    assert!(
        run.code == 1 && allowed.iter().any(|reason| run.stderr.contains(reason)),
        "a writer failed unclearly (exit {}):\nstdout:\n{}\nstderr:\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
    false
}

const BUSY: &str = "another bd command is writing to this town";
/// A push before the pull that would bring the peer's changes is refused.
const BEHIND: &str = "has changes this town does not have";

#[test]
fn ten_writers_on_one_town_lose_nothing() {
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    let mailbox = link(&a, "b", &b, "a");
    b.create("from b");
    b.bd(["federation", "push", "a"]).success();
    let first = a.create("first");
    let second = a.create("second");
    // A short wait so some writers lose the race for the lock and must say so.
    a.bd(["config", "set", "lock.timeout", "300ms"]).success();
    let mut jobs: Vec<(&Town, Vec<String>)> =
        (0..5).map(|i| (&a, args(&["--json", "create", &format!("writer {i}")]))).collect();
    jobs.push((&a, args(&["update", &first, "--title", "first, updated"])));
    jobs.push((&a, args(&["update", &second, "--title", "second, updated"])));
    jobs.push((&a, args(&["federation", "push", "b"])));
    jobs.push((&a, args(&["federation", "pull", "b"])));
    jobs.push((&a, args(&["federation", "sync", "b"])));
    // Readers take no lock; a writer's dolt that meets a reader's waits for it.
    jobs.push((&a, args(&["--json", "list"])));
    jobs.push((&a, args(&["list"])));
    let runs = all_at_once(&jobs);

    let won: Vec<bool> = runs.iter().map(|r| succeeded(r, &[BUSY, BEHIND])).collect();
    for reader in [10, 11] {
        assert!(won[reader], "readers never wait for writers:\n{}", runs[reader].stderr);
    }
    // The lock serialises ten writers and lets each wait 300ms: at least one
    // gets it, and not all of them can.
    let writers_won = won[..10].iter().filter(|w| **w).count();
    assert!((1..10).contains(&writers_won), "{writers_won} of 10 writers succeeded: {won:?}");
    fsck(&a, &a.dolt_dir());
    let have = a.titles();
    for (i, run) in runs[..5].iter().enumerate() {
        let title = format!("writer {i}");
        if won[i] {
            let id = run.json()["id"].as_str().expect("id").to_owned();
            a.bd(["show", &id]).success().stdout_has(&title);
        } else {
            assert!(!have.contains(&title), "a refused create wrote {title}; have {have:?}");
        }
    }
    for (i, before, title) in [(5, "first", "first, updated"), (6, "second", "second, updated")] {
        let (kept, gone) = if won[i] { (title, before) } else { (before, title) };
        assert!(
            have.iter().any(|t| t == kept) && !have.iter().any(|t| t == gone),
            "update {i} {}: expected {kept:?}, not {gone:?}; have {have:?}",
            if won[i] { "succeeded" } else { "was refused" }
        );
    }
    if won[8] || won[9] {
        assert!(have.contains(&"from b".to_owned()), "a successful pull is lost; have {have:?}");
    }
    let there = remote_titles(&a, &mailbox.endpoint());
    if won[7] || won[9] {
        assert!(there.iter().any(|t| t.starts_with("first")), "a successful push sent nothing: {there:?}");
    }
    assert!(a.dolt(["status"]).success().stdout.contains("nothing to commit"), "no half-done write");
    tally("12 at once on one town (300ms lock wait)", &runs, &won);
    // The town works on: a sync now shares everything.
    a.bd(["config", "set", "lock.timeout", "10s"]).success();
    a.bd(["federation", "sync", "b"]).success();
    let there = remote_titles(&a, &mailbox.endpoint());
    for title in a.titles() {
        assert!(there.contains(&title), "{title} did not reach the peer: {there:?}");
    }
}

#[test]
fn two_towns_writing_through_one_peer_converge() {
    let (a, b, mailbox, _) = shared_pair();
    let mut jobs: Vec<(&Town, Vec<String>)> = Vec::new();
    for (town, name, peer) in [(&a, "a", "b"), (&b, "b", "a")] {
        for i in 0..3 {
            jobs.push((town, args(&["--json", "create", &format!("{name} writer {i}")])));
        }
        jobs.push((town, args(&["federation", "push", peer])));
        jobs.push((town, args(&["federation", "sync", peer])));
    }
    let runs = all_at_once(&jobs);
    // A push that raced the other town's is refused as behind, never merged blindly.
    let won: Vec<bool> = runs.iter().map(|r| succeeded(r, &[BUSY, BEHIND])).collect();
    for (town, peer) in [(&a, "b"), (&b, "a"), (&a, "b")] {
        town.bd(["federation", "sync", peer]).success();
    }
    fsck(&a, &a.dolt_dir());
    fsck(&b, &b.dolt_dir());
    let (in_a, in_b) = (a.titles(), b.titles());
    let there = remote_titles(&a, &mailbox.endpoint());
    // Converged: both towns and the peer hold the same issues.
    assert_eq!(in_a, in_b, "the towns did not converge");
    assert_eq!(in_a, there, "the peer did not converge with the towns");
    for (town, first) in [("a", 0), ("b", 5)] {
        assert!(won[first..first + 3].contains(&true), "no create of town {town} succeeded: {won:?}");
    }
    assert!([3, 4, 8, 9].iter().any(|&i| won[i]), "no push or sync succeeded: {won:?}");
    for (i, run) in runs.iter().enumerate().filter(|(i, _)| i % 5 < 3) {
        if won[i] {
            let title = run.json()["title"].as_str().expect("title").to_owned();
            assert!(in_a.contains(&title), "{title} reported success but is missing: {in_a:?}");
        } else {
            let title = format!("{} writer {}", if i < 5 { "a" } else { "b" }, i % 5);
            assert!(!in_a.contains(&title), "a refused create wrote {title}: {in_a:?}");
        }
    }
    tally("10 at once on two towns sharing one peer", &runs, &won);
}

#[test]
fn a_write_waits_for_a_dolt_that_is_reading() {
    let town = Town::federated("town-a");
    // A dolt session open on the repository holds it until its input ends.
    let mut reader = town
        .sandbox()
        .command(crate::support::dolt(), &town.dolt_dir())
        .args(["sql"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start a dolt reader");
    let input = reader.stdin.take().expect("stdin");
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        drop(input);
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let id = town.create("written while dolt was reading");
    release.join().expect("release");
    reader.wait().expect("reader ends");
    town.bd(["show", &id]).success();
    fsck(&town, &town.dolt_dir());
}
