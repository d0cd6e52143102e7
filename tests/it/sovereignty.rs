//! Sovereignty tiers against real peers: T2 endpoint patterns, and T3/T4
//! leak scans over everything a peer can read, history included.

use std::fmt::Write as _;
use std::path::Path;

use crate::support::{Mailbox, Town, dolt};

/// Everything a peer can read from a remote, on every branch and tag it
/// holds: every table and every `dolt_history_*` table as of each, each one's
/// log (authors, emails, messages), and the branch, tag and remote listings
/// (latest committers, taggers, tag messages).
fn everything_in(town: &Town, remote: &Mailbox) -> String {
    let clone = town.sandbox().path().join(format!("clone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&clone);
    let endpoint = remote.endpoint();
    town.run(dolt(), town.sandbox().path(), ["clone", endpoint.as_str(), clone.to_str().expect("utf8")]).success();
    let read = |args: &[&str]| town.run(dolt(), &clone, args).success().stdout;
    let column = |query: &str, header: &str| -> Vec<String> {
        read(&["sql", "-r", "csv", "-q", query])
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with(header))
            .map(str::to_owned)
            .collect()
    };
    let mut refs = column("SELECT name FROM dolt_remote_branches", "name");
    assert!(refs.iter().any(|r| r == "remotes/origin/main"), "the clone has no main: {refs:?}");
    refs.extend(column("SELECT tag_name FROM dolt_tags", "tag_name"));
    let mut query = String::from(
        "SELECT * FROM dolt_remote_branches; SELECT * FROM dolt_branches; SELECT * FROM dolt_tags; \
         SELECT * FROM dolt_remotes;",
    );
    for r in &refs {
        let tables = column(&format!("SHOW TABLES AS OF '{r}'"), "Tables_in_");
        assert!(tables.iter().any(|t| t == "issues"), "{r} has no issues table: {tables:?}");
        for table in tables {
            let _ = write!(
                query,
                " SELECT * FROM `{table}` AS OF '{r}'; SELECT * FROM `dolt_history_{table}` AS OF '{r}';"
            );
        }
        let _ = write!(query, " SELECT * FROM dolt_log('{r}');");
    }
    let mut text = read(&["sql", "-r", "json", "-q", &query]);
    text.push_str(&read(&["log"]));
    std::fs::remove_dir_all(&clone).expect("remove clone");
    text
}

/// Proves [`everything_in`] reads beyond `main`: a branch and a tag (whose
/// commit no branch holds) carrying marker words reach a fresh remote, and
/// the scan must find both words; then they are deleted from the town again.
fn assert_scan_reads_every_branch_and_tag(town: &Town) {
    let canary = Mailbox::new();
    town.dolt(["remote", "add", "canary", &canary.endpoint()]).success();
    town.dolt([
        "sql",
        "-q",
        "CALL DOLT_BRANCH('canary-branch'); CALL DOLT_CHECKOUT('canary-branch'); \
         INSERT INTO metadata VALUES ('canary', 'qzbranchcanary'); CALL DOLT_COMMIT('-Am', 'canary branch'); \
         CALL DOLT_CHECKOUT('-b', 'canary-tagged'); UPDATE metadata SET value = 'qztagcanary' WHERE `key` = 'canary'; \
         CALL DOLT_COMMIT('-am', 'canary tag'); CALL DOLT_TAG('canary-tag', 'canary-tagged'); \
         CALL DOLT_CHECKOUT('main'); CALL DOLT_BRANCH('-D', 'canary-tagged');",
    ])
    .success();
    for r in ["main", "canary-branch", "canary-tag"] {
        town.dolt(["push", "canary", r]).success();
    }
    let seen = everything_in(town, &canary);
    town.dolt(["sql", "-q", "CALL DOLT_BRANCH('-D', 'canary-branch'); CALL DOLT_TAG('-d', 'canary-tag');"]).success();
    town.dolt(["remote", "remove", "canary"]).success();
    for word in ["qzbranchcanary", "qztagcanary"] {
        assert!(seen.contains(word), "the leak scan missed {word:?}, which only a branch or a tag holds");
    }
}

fn assignees(town: &Town, remote: &Mailbox) -> Vec<Option<String>> {
    let clone = town.sandbox().path().join("assignees");
    let _ = std::fs::remove_dir_all(&clone);
    town.run(dolt(), town.sandbox().path(), ["clone", remote.endpoint().as_str(), clone.to_str().expect("utf8")])
        .success();
    let out = town
        .run(dolt(), &clone, ["sql", "-r", "json", "-q", "SELECT assignee FROM issues ORDER BY created_at"])
        .success();
    std::fs::remove_dir_all(&clone).expect("remove clone");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    doc["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["assignee"].as_str().map(str::to_owned))
        .collect()
}

fn people_town() -> Town {
    let town = Town::federated("town-a");
    let id = town
        .bd_env(
            &[("BD_ACTOR", "alice@example.com")],
            ["--json", "create", "Login broken, ask alice@example.com", "-a", "alice@example.com"],
        )
        .success()
        .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    town.bd_env(&[("BD_ACTOR", "Bob Smith")], ["comment", &id, "Bob Smith reproduced it; mail bob@corp.example.org"])
        .success();
    town.bd_env(&[("BD_ACTOR", "Bob Smith")], ["update", &id, "--status", "in_progress"]).success();
    town
}

#[test]
fn t2_pushes_only_to_allowed_endpoints() {
    let town = Town::federated("town-a");
    town.create("work");
    town.bd(["config", "set", "federation.sovereignty", "T2"]).success();
    town.bd(["config", "set", "federation.allowed-remote-patterns", "dolthub://myorg/*,file:///nowhere/*"]).success();
    let outside = Mailbox::new();
    town.bd(["federation", "add-peer", "outside", &outside.endpoint()]).success();
    let listing = || -> Vec<_> {
        std::fs::read_dir(Path::new(&outside.endpoint()["file://".len()..]))
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect()
    };
    let before = listing();
    town.bd(["federation", "push", "outside"])
        .code(1)
        .stderr_has("tier T2 forbids pushing to peer 'outside'")
        .stderr_has("dolthub://myorg/*, file:///nowhere/*");
    assert_eq!(listing(), before, "nothing may be written to a forbidden peer");
    let allowed = format!("{}*", &outside.endpoint()[..outside.endpoint().len() - 3]);
    town.bd(["config", "set", "federation.allowed-remote-patterns", &allowed]).success();
    town.bd(["federation", "push", "outside"]).success().stdout_has("pushed");
}

#[test]
fn t3_and_t4_peers_never_see_a_person_anywhere() {
    let town = people_town();
    let (t3, t4) = (Mailbox::new(), Mailbox::new());
    town.bd(["config", "set", "federation.allowed-remote-patterns", "file://**"]).success();
    town.bd(["federation", "add-peer", "pseudo", &t3.endpoint(), "--sovereignty", "T3"]).success();
    town.bd(["federation", "add-peer", "anon", &t4.endpoint(), "--sovereignty", "T4"]).success();
    assert_scan_reads_every_branch_and_tag(&town);
    town.bd(["federation", "push", "pseudo"]).success().stdout_has("pushed");
    town.bd(["federation", "push", "anon"]).success().stdout_has("pushed");
    for (name, remote) in [("T3", &t3), ("T4", &t4)] {
        let seen = everything_in(&town, remote).to_lowercase();
        for secret in ["alice", "example.com", "bob smith", "bob@", "tester"] {
            assert!(!seen.contains(secret), "{name} peer can read {secret:?}");
        }
        assert!(seen.contains("login broken"), "{name} peer must still get the issue");
    }
    // T3: the same person gets the same pseudonym in a later share.
    town.bd_env(&[("BD_ACTOR", "Bob Smith")], ["create", "Second", "-a", "alice@example.com"]).success();
    town.bd(["federation", "push", "pseudo"]).success();
    let first_two = assignees(&town, &t3);
    assert_eq!(first_two.len(), 2);
    assert!(first_two[0].as_deref().is_some_and(|p| p.starts_with("person-")), "{first_two:?}");
    assert_eq!(first_two[0], first_two[1], "alice must map to one pseudonym across pushes");
    // T4: no identifier at all.
    town.bd(["federation", "push", "anon"]).success();
    assert_eq!(assignees(&town, &t4), [None, None]);
    // This town keeps its real data.
    let mine = town.bd(["--json", "list"]).success().json();
    assert!(mine.to_string().contains("alice@example.com"));
}

#[test]
fn pulling_from_a_t3_peer_brings_only_other_towns_issues() {
    let a = people_town();
    let b = Town::federated("town-b");
    let hub = Mailbox::new();
    a.bd(["config", "set", "federation.allowed-remote-patterns", "file://**"]).success();
    a.bd(["federation", "add-peer", "hub", &hub.endpoint(), "--sovereignty", "T3"]).success();
    b.bd(["federation", "add-peer", "hub", &hub.endpoint()]).success();
    a.bd(["federation", "push", "hub"]).success();
    b.bd(["federation", "pull", "hub"]).success();
    b.create("Made in B");
    b.bd(["federation", "push", "hub"]).success();
    let pulled = a.bd(["--json", "federation", "pull", "hub"]).success().json();
    assert_eq!(pulled["peers"][0]["issues_in"]["added"], 1, "{pulled}");
    let list = a.bd(["--json", "list"]).success().json().to_string();
    assert!(list.contains("Made in B"), "{list}");
    assert!(list.contains("alice@example.com"), "own issues must keep their real people: {list}");
    assert!(!list.contains("person-"), "pseudonyms must not flow back: {list}");
    // History was not merged: A's log has no commit from the hub's lineage.
    let messages = a.sql("SELECT message FROM dolt_log");
    assert!(!messages.iter().any(|m| m["message"].as_str().is_some_and(|s| s.contains("T3 share"))), "{messages:?}");
}

#[test]
fn short_names_leave_t3_free_text_too() {
    let town = Town::federated("town-a");
    town.bd(["create", "al will do it", "-a", "al", "-d", "ask al; also see the handbook"]).success();
    let peer = Mailbox::new();
    town.bd(["config", "set", "federation.allowed-remote-patterns", "file://**"]).success();
    town.bd(["federation", "add-peer", "pseudo", &peer.endpoint(), "--sovereignty", "T3"]).success();
    town.bd(["federation", "push", "pseudo"]).success();
    let seen = everything_in(&town, &peer);
    let words: Vec<&str> = seen.split(|c: char| !c.is_alphanumeric()).collect();
    assert!(!words.contains(&"al"), "the name 'al' reached the T3 peer: {seen}");
    assert!(seen.contains("also see the handbook"), "only whole words are scrubbed: {seen}");
}
