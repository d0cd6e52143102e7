//! Unrelated histories: named as such everywhere, then joined with nothing
//! lost, in both directions.

use std::time::Duration;

use crate::support::{Mailbox, Town, link};

fn head(town: &Town) -> String {
    town.sql("SELECT HASHOF('main') AS h")[0]["h"].as_str().expect("hash").to_owned()
}

fn branches(town: &Town) -> Vec<String> {
    town.sql("SELECT name FROM dolt_branches ORDER BY name")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_owned())
        .collect()
}

/// A standard town and an unrelated one, linked through a mailbox (each calls
/// the other by the other's name), holding one issue in common that each
/// retitled differently, and one issue of its own each.
fn pair() -> (Town, Town, Mailbox, String) {
    let north = Town::federated("north");
    let south = Town::unrelated("south");
    let mailbox = link(&north, "south", &south, "north");
    let id = north.create("Held by both");
    let file = north.sandbox().path().join("both.jsonl");
    north.bd(["export", "-o", file.to_str().expect("utf8")]).success();
    south.bd(["import", file.to_str().expect("utf8")]).success();
    north.create("North's own");
    south.create("South's own");
    north.bd(["update", &id, "--title", "North's title"]).success();
    std::thread::sleep(Duration::from_millis(20));
    south.bd(["update", &id, "--title", "South's title", "-p", "0"]).success();
    (north, south, mailbox, id)
}

const UNION: [&str; 3] = ["North's own", "South's own", "South's title"];

#[test]
fn a_standard_town_joins_an_unrelated_peer_and_the_peer_follows() {
    let (north, south, _mailbox, id) = pair();
    // South's history reaches the mailbox first.
    south.bd(["federation", "push", "north"]).success();
    for args in
        [&["federation", "sync", "south"][..], &["federation", "pull", "south"], &["federation", "fetch", "south"]]
    {
        let out = north.bd(args).code(1);
        assert!(
            out.stderr.contains("has an unrelated history") && out.stderr.contains("bd federation join south"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("unreachable") && !out.stderr.to_lowercase().contains("select"), "{}", out.stderr);
    }
    let status = north.bd(["--json", "federation", "status"]).code(1).json();
    assert_eq!(status["peers"][0]["unrelated"], true, "{status}");
    assert_eq!(status["peers"][0]["reachable"], true, "{status}");
    let before = head(&north);
    let dry = north.bd(["--json", "federation", "join", "south", "--dry-run", "--strategy", "newest"]).success().json();
    assert_eq!(
        (&dry["moves"], &dry["gained_here"], &dry["gained_there"], &dry["merged"]),
        (&"peer".into(), &1.into(), &1.into(), &1.into()),
        "{dry}"
    );
    assert_eq!(head(&north), before, "a dry run changes nothing");
    let manual = north.bd(["--json", "federation", "join", "south", "--strategy", "manual"]).code(1);
    assert!(
        manual.stderr.contains(&format!("issues {id}: "))
            && manual.stderr.contains("title: ours 'North's title', theirs 'South's title'"),
        "{}",
        manual.stderr
    );
    assert_eq!(head(&north), before, "manual changes nothing");
    north.bd(["federation", "join", "south", "--strategy", "newest"]).success().stdout_has("joined");
    assert_eq!(north.titles(), UNION);
    assert_eq!(north.bd(["--json", "show", &id]).success().json()["priority"], 0);
    // The peer's previous main is kept on a branch of the remote.
    north.dolt(["fetch", "south"]).success();
    let kept =
        north.sql("SELECT name FROM dolt_remote_branches WHERE name LIKE 'remotes/south/bd/before-join/north/%'");
    assert_eq!(kept.len(), 1, "{kept:?}");
    // South is told to join on its next exchange, and then it moves.
    south.bd(["federation", "sync", "north"]).code(1).stderr_has("bd federation join north");
    let joined = south.bd(["--json", "federation", "join", "north", "--strategy", "newest"]).success().json();
    assert_eq!(joined["moves"], "this_town", "{joined}");
    assert!(branches(&south).iter().any(|b| b.starts_with("bd/before-join/north/")), "{:?}", branches(&south));
    assert_eq!(south.titles(), UNION);
    for town in [&north, &south] {
        town.dolt(["fsck", "--quiet"]).success();
    }
    // From now on they simply sync, and a new issue travels.
    south.create("After the join");
    south.bd(["federation", "sync", "north"]).success();
    north.bd(["federation", "sync", "south"]).success();
    assert!(north.titles().contains(&"After the join".to_owned()));
}

#[test]
fn an_unrelated_town_joins_a_standard_peer_and_keeps_syncing_with_others() {
    let (north, south, _mailbox, id) = pair();
    north.bd(["federation", "push", "south"]).success();
    let west = Town::federated("west");
    let _west_link = link(&west, "north", &north, "west");
    let joined = south.bd(["--json", "federation", "join", "north", "--strategy", "newest"]).success().json();
    assert_eq!(joined["moves"], "this_town", "{joined}");
    assert_eq!(south.titles(), UNION);
    assert_eq!(south.bd(["--json", "show", &id]).success().json()["title"], "South's title");
    north.bd(["federation", "sync", "south"]).success();
    assert_eq!(north.titles(), UNION);
    // The town still syncs with its other peers; the union reaches them.
    north.bd(["federation", "sync", "west"]).success();
    west.bd(["federation", "sync", "north"]).success();
    assert_eq!(west.titles(), UNION);
    let log = south.bd(["--json", "federation", "log"]).success().json();
    assert!(log.to_string().contains("\"operation\":\"join\""), "{log}");
    south.dolt(["fsck", "--quiet"]).success();
}
