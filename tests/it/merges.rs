//! Field-level merges: two towns editing one issue keep every change that
//! the other side did not also make, under every strategy.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Mailbox, Town, link, shared_pair};

const STRATEGIES: [&str; 4] = ["manual", "ours", "theirs", "newest"];

fn show(town: &Town, id: &str) -> Value {
    town.bd(["--json", "show", id]).success().json()
}

/// B shares its edit first; A edits, then syncs with `strategy`; B pulls.
fn edit_both_then_sync(strategy: &str, a_edit: &[&str], b_edit: &[&str]) -> (Town, Town, Mailbox, String, Value) {
    let (a, b, mailbox, id) = shared_pair();
    b.bd(b_edit.iter().map(|w| w.replace("{id}", &id))).success();
    b.bd(["federation", "push", "a"]).success();
    std::thread::sleep(Duration::from_millis(20));
    a.bd(a_edit.iter().map(|w| w.replace("{id}", &id))).success();
    let synced = a.bd(["--json", "federation", "sync", "b", "--strategy", strategy]).success().json();
    b.bd(["federation", "pull", "a"]).success();
    (a, b, mailbox, id, synced)
}

#[test]
fn edits_of_different_fields_both_survive_under_every_strategy() {
    for strategy in STRATEGIES {
        let (a, b, _mailbox, id, synced) = edit_both_then_sync(
            strategy,
            &["update", "{id}", "--title", "North title"],
            &["update", "{id}", "-p", "0"],
        );
        assert_eq!(synced["peers"][0]["status"], "synced", "{strategy}: {synced}");
        assert_eq!(synced["peers"][0]["issues_in"], json!({"added": 0, "changed": 1, "removed": 0}), "{strategy}");
        for town in [&a, &b] {
            let issue = show(town, &id);
            assert_eq!(issue["title"], "North title", "{strategy}: {issue}");
            assert_eq!(issue["priority"], 0, "{strategy}: {issue}");
        }
        assert!(a.dolt(["status"]).success().stdout.contains("nothing to commit"));
        let messages = a.sql("SELECT message FROM dolt_log LIMIT 3");
        assert!(!messages.iter().any(|m| m["message"].as_str().is_some_and(|t| t.starts_with("Resolve"))));
    }
}

#[test]
fn a_close_on_one_side_and_an_edit_on_the_other_leave_it_closed_with_the_edit() {
    for strategy in STRATEGIES {
        let (a, b, mailbox, id) = shared_pair();
        b.bd(["update", &id, "-a", "bob"]).success();
        b.bd(["comment", &id, "Bob takes it"]).success();
        b.bd(["federation", "push", "a"]).success();
        std::thread::sleep(Duration::from_millis(20));
        a.bd(["close", &id, "--reason", "fixed"]).success();
        a.bd(["federation", "sync", "b", "--strategy", strategy]).success();
        b.bd(["federation", "pull", "a"]).success();
        for town in [&a, &b] {
            let issue = show(town, &id);
            assert_eq!(issue["status"], "closed", "{strategy}: {issue}");
            assert!(issue["closed_at"].is_string(), "{strategy}: {issue}");
            assert_eq!(issue["close_reason"], "fixed", "{strategy}: {issue}");
            assert_eq!(issue["assignee"], "bob", "{strategy}: {issue}");
            assert_eq!(issue["comments"][0]["text"], "Bob takes it", "{strategy}: {issue}");
        }
        drop(mailbox);
    }
}

#[test]
fn manual_lists_each_field_both_sides_changed_with_both_values() {
    let (a, b, mailbox, id) = shared_pair();
    b.bd(["update", &id, "--title", "B's title", "-p", "1"]).success();
    b.bd(["federation", "push", "a"]).success();
    a.bd(["update", &id, "--title", "A's title", "-a", "alice"]).success();
    let out = a.bd(["--json", "federation", "sync", "b", "--strategy", "manual"]).code(1);
    let conflicts = &out.json()["peers"][0]["conflicts"];
    assert_eq!(conflicts[0]["id"], id.as_str());
    assert_eq!(conflicts[0]["fields"], json!(["title"]), "only the title changed on both sides: {conflicts}");
    assert_eq!(conflicts[0]["values"], json!([{"field": "title", "ours": "A's title", "theirs": "B's title"}]));
    assert!(
        out.stderr.contains(&format!("issues {id}: title: ours 'A's title', theirs 'B's title'")),
        "{}",
        out.stderr
    );
    // Status predicts the same one conflict.
    let status = a.bd(["--json", "federation", "status"]).success().json();
    assert_eq!(status["peers"][0]["conflicts"], 1, "{status}");
    drop(mailbox);
}

#[test]
fn newest_decides_each_field_by_when_that_field_changed() {
    let (a, b, mailbox, id) = shared_pair();
    // A retitles first; B retitles later; A then changes the priority, so
    // A's row is newer as a whole but B's title is the newer title.
    a.bd(["update", &id, "--title", "A first"]).success();
    std::thread::sleep(Duration::from_millis(20));
    b.bd(["update", &id, "--title", "B later"]).success();
    b.bd(["federation", "push", "a"]).success();
    std::thread::sleep(Duration::from_millis(20));
    a.bd(["update", &id, "-p", "0"]).success();
    a.bd(["federation", "sync", "b", "--strategy", "newest"]).success();
    let issue = show(&a, &id);
    assert_eq!(issue["title"], "B later", "{issue}");
    assert_eq!(issue["priority"], 0, "{issue}");
    drop(mailbox);
}

#[test]
fn a_resolution_that_keeps_ours_reports_no_incoming_change() {
    let (a, b, mailbox, id) = shared_pair();
    b.bd(["update", &id, "--title", "B's title"]).success();
    b.bd(["federation", "push", "a"]).success();
    std::thread::sleep(Duration::from_millis(20));
    a.bd(["update", &id, "--title", "A's title"]).success();
    let before = show(&a, &id);
    let synced = a.bd(["--json", "federation", "sync", "b", "--strategy", "ours"]).success().json();
    assert_eq!(synced["peers"][0]["issues_in"], json!({"added": 0, "changed": 0, "removed": 0}), "{synced}");
    assert_eq!(show(&a, &id)["title"], before["title"]);
    drop(mailbox);
}

#[test]
fn exclusions_hold_back_only_this_towns_issues_and_never_remove_the_peers() {
    let north = Town::federated("north");
    let south = Town::federated("south");
    let _hub = link(&north, "hub", &south, "hub");
    north.bd(["config", "set", "federation.exclude_types", "chore"]).success();
    let shared = north.create("Shared then made a chore");
    north.bd(["federation", "push", "hub"]).success();
    let chore = south.bd(["--json", "create", "South's chore", "-t", "chore"]).success().json();
    let chore = chore["id"].as_str().expect("id").to_owned();
    south.bd(["federation", "sync", "hub"]).success();
    north.bd(["federation", "pull", "hub"]).success();
    // North's own issue becomes a chore after it was shared, and North has news.
    north.bd(["update", &shared, "-t", "chore", "--title", "Now internal"]).success();
    north.bd(["create", "North's secret", "-t", "chore"]).success();
    north.create("North's news");
    let pushed = north.bd(["--json", "federation", "push", "hub"]).success().json();
    assert_eq!(pushed["peers"][0]["issues_out"]["removed"], 0, "{pushed}");
    south.bd(["federation", "sync", "hub"]).success();
    // South keeps its own chore, gets North's news, and never sees North's chores.
    assert_eq!(show(&south, &chore)["title"], "South's chore");
    assert_eq!(south.titles(), ["North's news", "Shared then made a chore", "South's chore"]);
    // The issue that became excluded stays as the peer last had it.
    assert_eq!(show(&south, &shared)["title"], "Shared then made a chore");
    // North still holds everything, its own chores included.
    assert_eq!(north.titles(), ["North's news", "North's secret", "Now internal", "South's chore"],);
    // Another round changes nothing for either.
    north.bd(["federation", "sync", "hub"]).success();
    south.bd(["federation", "sync", "hub"]).success();
    assert_eq!(south.titles(), ["North's news", "Shared then made a chore", "South's chore"]);
    assert_eq!(north.titles(), ["North's news", "North's secret", "Now internal", "South's chore"]);
}

#[test]
fn a_t3_share_keeps_what_the_partner_changed_on_the_peer() {
    let west = Town::federated("west");
    let partner = Town::federated("partner");
    let hub = Mailbox::new();
    west.bd(["config", "set", "federation.allowed-remote-patterns", "file://**"]).success();
    west.bd(["federation", "add-peer", "hub", &hub.endpoint(), "--sovereignty", "T3"]).success();
    partner.bd(["federation", "add-peer", "hub", &hub.endpoint()]).success();
    let id = west.bd(["--json", "create", "West's issue", "-a", "alice"]).success().json();
    let id = id["id"].as_str().expect("id").to_owned();
    let other = west.create("Another of West's");
    west.bd(["federation", "push", "hub"]).success();
    // A fresh share reads as up to date.
    let status = west.bd(["--json", "federation", "status", "hub"]).success().json();
    assert_eq!((&status["peers"][0]["ahead"], &status["peers"][0]["behind"]), (&json!(0), &json!(0)), "{status}");
    assert_eq!(status["peers"][0]["conflicts"], 0, "{status}");
    west.bd(["federation", "push", "hub"]).success().stdout_has("already up to date");
    // The partner works on West's issue and shares that.
    partner.bd(["federation", "pull", "hub"]).success();
    partner.bd(["update", &id, "--status", "in_progress"]).success();
    partner.bd(["comment", &id, "Partner is on it"]).success();
    partner.bd(["federation", "push", "hub"]).success();
    // West changes another field of the same issue, and another issue.
    std::thread::sleep(Duration::from_millis(20));
    west.bd(["update", &id, "-p", "0"]).success();
    west.bd(["update", &other, "--title", "Retitled by West"]).success();
    west.bd(["federation", "sync", "hub"]).success();
    partner.bd(["federation", "pull", "hub"]).success();
    let seen = show(&partner, &id);
    assert_eq!(seen["status"], "in_progress", "the partner's status must survive West's share: {seen}");
    assert_eq!(seen["priority"], 0, "West's change must arrive: {seen}");
    assert_eq!(seen["comments"][0]["text"], "Partner is on it", "{seen}");
    assert_eq!(show(&partner, &other)["title"], "Retitled by West");
    // The partner's comment comes back to West; West's own fields stay West's.
    let home = show(&west, &id);
    assert_eq!(home["comments"][0]["text"], "Partner is on it", "{home}");
    assert_eq!(home["assignee"], "alice", "{home}");
    // Another share still keeps it all on the peer, and changes nothing.
    west.bd(["federation", "sync", "hub"]).success();
    partner.bd(["federation", "pull", "hub"]).success();
    let seen = show(&partner, &id);
    assert_eq!(seen["status"], "in_progress", "{seen}");
    assert_eq!(seen["comments"].as_array().map(Vec::len), Some(1), "{seen}");
    let status = west.bd(["--json", "federation", "status", "hub"]).success().json();
    assert_eq!((&status["peers"][0]["ahead"], &status["peers"][0]["behind"]), (&json!(0), &json!(0)), "{status}");
}
