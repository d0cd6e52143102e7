//! Everyday commands: ready and blocked, dependencies, labels, search,
//! reopen, count and stats, parents, list filters, and deletion records
//! that federate.

use serde_json::Value;

use crate::support::{Hub, Town, link};

fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("array").iter().map(|i| i["id"].as_str().expect("id").to_owned()).collect()
}

fn commits(town: &Town) -> u64 {
    town.sql("SELECT COUNT(*) AS n FROM dolt_log")[0]["n"].as_u64().expect("n")
}

fn last_message(town: &Town) -> String {
    town.sql("SELECT message FROM dolt_log ORDER BY date DESC LIMIT 1")[0]["message"].as_str().expect("m").to_owned()
}

#[test]
fn ready_and_blocked_follow_blocking_dependencies_in_priority_order() {
    let town = Town::new();
    let low = town.bd(["--json", "create", "Low", "-p", "3"]).success().json()["id"].as_str().expect("id").to_owned();
    let urgent =
        town.bd(["--json", "create", "Urgent", "-p", "0"]).success().json()["id"].as_str().expect("id").to_owned();
    let waits =
        town.bd(["--json", "create", "Waits", "-p", "0"]).success().json()["id"].as_str().expect("id").to_owned();
    let related = town.create("Related only");
    assert_eq!(
        ids(&town.bd(["--json", "ready"]).success().json()),
        [urgent.as_str(), waits.as_str(), related.as_str(), low.as_str()]
    );
    let before = commits(&town);
    town.bd(["dep", "add", &waits, &low]).success().stdout_has("depends on");
    assert_eq!(commits(&town), before + 1, "one commit");
    assert_eq!(last_message(&town), format!("bd dep add {waits} {low}: blocks"));
    town.bd(["dep", "add", &related, &low, "--type", "related"]).success();
    assert_eq!(ids(&town.bd(["--json", "ready"]).success().json()), [urgent.as_str(), related.as_str(), low.as_str()]);
    let blocked = town.bd(["--json", "blocked"]).success().json();
    assert_eq!(ids(&blocked), [waits.as_str()]);
    assert_eq!(blocked[0]["blocked_by"], serde_json::json!([low]));
    town.bd(["blocked"]).success().stdout_has(&format!("blocked by: {low}"));
    // A closed blocker no longer blocks; in_progress issues are not ready.
    town.bd(["close", &low]).success();
    assert_eq!(ids(&town.bd(["--json", "ready", "--limit", "2"]).success().json()), [urgent.as_str(), waits.as_str()]);
    assert_eq!(town.bd(["--json", "blocked"]).success().json(), serde_json::json!([]));
    town.bd(["update", &urgent, "--status", "in_progress"]).success();
    assert!(!ids(&town.bd(["--json", "ready"]).success().json()).contains(&urgent));
    // dep list and tree.
    let links = town.bd(["--json", "dep", "list", &low]).success().json();
    assert_eq!(links["dependents"].as_array().expect("dependents").len(), 2, "{links}");
    let tree = town.bd(["--json", "dep", "tree", &waits]).success().json();
    assert_eq!(
        (tree[0]["id"].as_str(), tree[1]["id"].as_str(), tree[1]["depth"].as_u64()),
        (Some(waits.as_str()), Some(low.as_str()), Some(1))
    );
    town.bd(["dep", "remove", &waits, &low]).success();
    town.bd(["dep", "remove", &waits, &low]).code(1).stderr_has("does not depend on");
    // Another project's capability, as beads writes it, comes and goes like an issue.
    town.bd(["dep", "add", &waits, "external:billing:invoices"]).success();
    assert_eq!(
        town.bd(["--json", "dep", "list", &waits]).success().json()["depends_on"][0]["id"],
        "external:billing:invoices"
    );
    town.bd(["dep", "add", &waits, "external:billing"]).code(2).stderr_has("external:PROJECT:CAPABILITY");
    town.bd(["dep", "remove", &waits, "external:billing:invoices"]).success();
    assert_eq!(town.bd(["--json", "dep", "list", &waits]).success().json()["depends_on"], serde_json::json!([]));
}

#[test]
fn a_cycle_of_blocking_dependencies_is_refused_naming_it() {
    let town = Town::new();
    let [a, b, c] = ["A", "B", "C"].map(|t| town.create(t));
    town.bd(["dep", "add", &a, &b]).success();
    town.bd(["dep", "add", &b, &c]).success();
    let before = commits(&town);
    town.bd(["dep", "add", &c, &a])
        .code(1)
        .stderr_has(&format!("would make a cycle: {c} -> {a} -> {b} -> {c}"))
        .stderr_has("hint:");
    town.bd(["dep", "add", &a, &a]).code(2).stderr_has("cannot depend on itself");
    assert_eq!(commits(&town), before, "nothing was written");
    // Not blocking: allowed.
    town.bd(["dep", "add", &c, &a, "--type", "related"]).success();
    town.bd(["dep", "add", &c, &a]).code(1).stderr_has("already depends on");
    let tree = town.bd(["dep", "tree", &a]).success().stdout;
    assert!(tree.contains("(shown above)"), "{tree}");
}

#[test]
fn labels_search_reopen_count_stats_and_parents() {
    let town = Town::new();
    let epic = town.bd(["--json", "create", "Login epic", "-t", "epic"]).success().json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let child = town
        .bd(["--json", "create", "Fix the Redirect", "--parent", &epic, "-d", "after LOGIN we land on /home"])
        .success()
        .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(last_message(&town), format!("bd create {child}: Fix the Redirect"));
    let links = town.bd(["--json", "dep", "list", &child]).success().json();
    assert_eq!(
        (links["depends_on"][0]["id"].as_str(), links["depends_on"][0]["type"].as_str()),
        (Some(epic.as_str()), Some("parent-child"))
    );
    town.bd(["create", "orphan", "--parent", "towna-nope"]).code(1).stderr_has("no issue 'towna-nope'");
    // Labels.
    let labels = town.bd(["--json", "label", "add", &child, "web,auth", "ui"]).success().json();
    assert_eq!(labels["labels"], serde_json::json!(["auth", "ui", "web"]));
    assert_eq!(last_message(&town), format!("bd label add {child}: auth, ui, web"));
    town.bd(["label", "add", &child, "web"]).code(1).stderr_has("already has");
    town.bd(["--json", "label", "remove", &child, "ui"]).success();
    assert_eq!(
        town.bd(["--json", "label", "list", &child]).success().json()["labels"],
        serde_json::json!(["auth", "web"])
    );
    assert_eq!(town.bd(["--json", "label", "list"]).success().json(), serde_json::json!({"auth": 1, "web": 1}));
    // Search: title, description, notes, comments; any case; wildcards are literal.
    let other = town.create("Unrelated");
    town.bd(["comment", &other, "Seen on STAGING too"]).success();
    town.dolt([
        "sql",
        "-q",
        &format!(
            "UPDATE issues SET notes = 'ask about 100% of it' WHERE id = '{epic}'; CALL DOLT_COMMIT('-Am', 'notes')"
        ),
    ])
    .success();
    assert_eq!(ids(&town.bd(["--json", "search", "redirect"]).success().json()), [child.as_str()]);
    assert_eq!(ids(&town.bd(["--json", "search", "login"]).success().json()), [epic.as_str(), child.as_str()]);
    assert_eq!(ids(&town.bd(["--json", "search", "staging"]).success().json()), [other.as_str()]);
    assert_eq!(ids(&town.bd(["--json", "search", "100%"]).success().json()), [epic.as_str()]);
    assert_eq!(ids(&town.bd(["--json", "search", "%"]).success().json()), [epic.as_str()]);
    // Reopen, list --all and --limit, count and stats.
    town.bd(["close", &child, "--reason", "done"]).success();
    assert_eq!(
        ids(&town.bd(["--json", "list"]).success().json()),
        [epic.as_str(), other.as_str()],
        "plain list hides closed issues"
    );
    assert_eq!(town.bd(["--json", "list", "--all"]).success().json().as_array().map(Vec::len), Some(3));
    assert_eq!(ids(&town.bd(["--json", "list", "--status", "closed"]).success().json()), [child.as_str()]);
    assert_eq!(town.bd(["--json", "list", "--all", "--limit", "1"]).success().json().as_array().map(Vec::len), Some(1));
    assert_eq!(town.bd(["--json", "count"]).success().json()["count"], 2);
    assert_eq!(town.bd(["count", "--all"]).success().stdout, "3\n");
    let stats = town.bd(["--json", "stats"]).success().json();
    assert_eq!(
        (stats["total"].as_u64(), stats["by_status"]["closed"].as_u64(), stats["ready"].as_u64()),
        (Some(3), Some(1), Some(2)),
        "{stats}"
    );
    town.bd(["reopen", &epic]).code(1).stderr_has("is not closed");
    let reopened = town.bd(["--json", "reopen", &child]).success().json();
    assert_eq!((reopened["status"].as_str(), reopened["closed_at"].as_str()), (Some("open"), None));
    assert_eq!(last_message(&town), format!("bd reopen {child}: status"));
    town.bd(["update", &child, "--status", "tombstone"]).code(2).stderr_has("bd delete");
}

#[test]
fn a_deleted_issue_is_hidden_and_its_record_kept() {
    let town = Town::new();
    let id = town.create("Doomed");
    let keep = town.create("Kept");
    town.bd(["dep", "add", &keep, &id]).success();
    town.bd(["delete", &id, "--reason", "duplicate"]).success().stdout_has("Deleted issue");
    assert_eq!(last_message(&town), format!("bd delete {id}: Doomed"));
    assert_eq!(ids(&town.bd(["--json", "list", "--all"]).success().json()), [keep.as_str()]);
    assert_eq!(
        ids(&town.bd(["--json", "ready"]).success().json()),
        [keep.as_str()],
        "a deleted blocker does not block"
    );
    assert_eq!(town.bd(["--json", "search", "doomed"]).success().json(), serde_json::json!([]));
    town.bd(["show", &id]).code(1).stderr_has("was deleted");
    town.bd(["delete", &id]).code(1).stderr_has("was deleted");
    for view in ["list", "tree"] {
        town.bd(["dep", view, &id]).code(1).stderr_has("was deleted");
        town.bd(["dep", view, "nowhere-1"]).code(1).stderr_has("no issue 'nowhere-1'");
    }
    let row = town.sql(&format!("SELECT status, metadata FROM issues WHERE id = '{id}'"));
    assert_eq!(row[0]["status"], "tombstone");
    let fields = &row[0]["metadata"]["_bd_fields"];
    assert_eq!((fields["delete_reason"].as_str(), fields["deleted_by"].as_str()), (Some("duplicate"), Some("tester")));
    // The export carries upstream's deletion fields.
    let export = town.bd(["export", "-o", "-"]).success().stdout;
    let line = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|l| l["id"] == id.as_str())
        .expect("the deletion record is exported");
    assert_eq!((line["status"].as_str(), line["delete_reason"].as_str()), (Some("tombstone"), Some("duplicate")));
    assert!(line["deleted_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
}

#[test]
fn ready_counts_a_blocker_from_another_town_once_it_is_here() {
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    let _mailbox = link(&a, "b", &b, "a");
    let blocker = a.create("Blocker in A");
    let waiting = b.create("Waiting in B");
    b.bd(["dep", "add", &waiting, &blocker]).success().stderr_has("not in this town yet");
    assert_eq!(
        ids(&b.bd(["--json", "ready"]).success().json()),
        [waiting.as_str()],
        "absent, the blocker does not count yet"
    );
    a.bd(["federation", "push", "b"]).success();
    b.bd(["federation", "pull", "a"]).success();
    assert_eq!(
        ids(&b.bd(["--json", "ready"]).success().json()),
        [blocker.as_str()],
        "{}",
        b.bd(["list"]).success().stdout
    );
    assert_eq!(ids(&b.bd(["--json", "blocked"]).success().json()), [waiting.as_str()]);
    a.bd(["close", &blocker]).success();
    a.bd(["federation", "sync", "b"]).success();
    b.bd(["federation", "pull", "a"]).success();
    assert_eq!(ids(&b.bd(["--json", "ready"]).success().json()), [waiting.as_str()]);
    assert_eq!(b.bd(["--json", "blocked"]).success().json(), serde_json::json!([]));
}

#[test]
fn a_deletion_federates_through_a_hub_and_a_third_town_cannot_bring_it_back() {
    let hub = Hub::serve("pw");
    let towns: Vec<Town> = ["north", "south", "east"].iter().map(|n| Town::federated(n)).collect();
    for town in &towns {
        town.bd_env(&[("BD_PEER_PASSWORD", "pw")], ["federation", "add-peer", "hub", &hub.endpoint(), "--user", "fed"])
            .success();
    }
    let (north, south, east) = (&towns[0], &towns[1], &towns[2]);
    let id = north.create("Shared then deleted");
    let other = north.create("Stays");
    north.bd(["federation", "sync", "hub"]).success();
    for town in [south, east] {
        town.bd(["federation", "sync", "hub"]).success();
        assert_eq!(town.titles(), ["Shared then deleted", "Stays"]);
    }
    // East still has the issue, edits it and another one meanwhile: a raw
    // row delete would lose to that edit in the merge and come back.
    east.bd(["update", &id, "--priority", "0"]).success();
    east.bd(["update", &other, "--title", "Stays, renamed"]).success();
    north.bd(["delete", &id]).success();
    north.bd(["federation", "sync", "hub"]).success();
    south.bd(["federation", "sync", "hub"]).success();
    assert_eq!(south.titles(), ["Stays"], "the deletion reached south");
    south.bd(["show", &id]).code(1).stderr_has("was deleted");
    // East syncs afterwards: the deletion wins over its older copy.
    east.bd(["federation", "sync", "hub"]).success();
    assert_eq!(east.titles(), ["Stays, renamed"]);
    for town in [north, south] {
        town.bd(["federation", "sync", "hub"]).success();
        assert_eq!(town.titles(), ["Stays, renamed"], "nobody brought it back");
    }
    let at_hub = hub.town().sql(&format!("SELECT status FROM issues WHERE id = '{id}'"));
    assert_eq!(at_hub[0]["status"], "tombstone");
}
