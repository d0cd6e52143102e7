//! Schema versions across peers (SPEC §7.6): towns that migrate on their own
//! still merge; a peer on a newer schema than this bd knows is refused; one
//! on an older schema is merged after ours is migrated.
//!
//! The v2 schema is the test-only migration that `BD_TEST_SCHEMA_V2=1`
//! adds: a bd run with it knows v2, one run without knows only v1.

use crate::support::{Town, dolt, link, other_dolt};

/// The environment of a bd that knows the test-only schema v2.
const V2: &[(&str, &str)] = &[("BD_TEST_SCHEMA_V2", "1")];

fn head(town: &Town) -> String {
    town.sql("SELECT HASHOF('main') AS h")[0]["h"].as_str().expect("hash").to_owned()
}

fn schema_version(town: &Town) -> String {
    town.sql("SELECT value FROM metadata WHERE `key` = 'schema_version'")[0]["value"]
        .as_str()
        .expect("schema_version")
        .to_owned()
}

fn has_v2_column(town: &Town) -> bool {
    !town
        .sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() \
             AND table_name = 'issues' AND column_name = 'bd_test_v2'",
        )
        .is_empty()
}

/// The authors of the town's migration commits to v2.
fn migrations(town: &Town) -> Vec<String> {
    town.sql("SELECT committer FROM dolt_log WHERE message = 'bd: migrate schema to v2' ORDER BY committer")
        .iter()
        .map(|r| r["committer"].as_str().expect("committer").to_owned())
        .collect()
}

#[test]
fn towns_of_two_dolt_builds_that_migrate_on_their_own_merge_without_a_schema_conflict() {
    let north = Town::federated_with("north", dolt());
    let south = Town::federated_with("south", other_dolt());
    let _mailbox = link(&north, "south", &south, "north");
    let shared = north.create("Shared before the upgrade");
    north.bd(["federation", "push", "south"]).success();
    south.bd(["federation", "pull", "north"]).success();
    south.create("South's, on v1");
    assert_eq!(schema_version(&south), "1");

    // North upgrades and shares; south upgrades on its own before it merges.
    north.bd_env(V2, ["federation", "sync", "south"]).success();
    assert_eq!((schema_version(&north), has_v2_column(&north)), ("2".to_owned(), true));
    north.bd_env(V2, ["update", &shared, "--title", "Retitled on v2"]).success();
    north.bd_env(V2, ["federation", "push", "south"]).success();
    south.bd_env(V2, ["federation", "sync", "north"]).success();
    assert_eq!(migrations(&south), ["bd", "bd"], "south made its own migration and merged north's");
    north.bd_env(V2, ["federation", "pull", "south"]).success();
    for town in [&north, &south] {
        assert_eq!((schema_version(town), has_v2_column(town)), ("2".to_owned(), true));
        assert_eq!(town.titles(), ["Retitled on v2", "South's, on v1"]);
        assert!(town.sql("SELECT * FROM dolt_conflicts").is_empty());
        assert!(town.sql("SELECT * FROM dolt_schema_conflicts").is_empty());
        assert!(town.dolt(["status"]).success().stdout.contains("nothing to commit"));
    }
    let status = north.bd_env(V2, ["--json", "federation", "status", "south"]).success().json();
    assert_eq!((&status["peers"][0]["ahead"], &status["peers"][0]["behind"]), (&0.into(), &0.into()), "{status}");
}

#[test]
fn a_peer_on_a_newer_schema_is_refused_with_upgrade_bd_and_nothing_changes() {
    let north = Town::federated("north");
    let south = Town::federated("south");
    let _mailbox = link(&north, "south", &south, "north");
    north.create("Made on v2");
    north.bd_env(V2, ["federation", "push", "south"]).success();
    south.create("South's own");
    let before = head(&south);
    for op in ["pull", "sync"] {
        south
            .bd(["federation", op, "north"])
            .code(1)
            .stderr_has("peer 'north' uses schema v2; this bd knows up to v1: upgrade bd");
        assert_eq!(head(&south), before, "{op} changed main");
        assert_eq!(south.titles(), ["South's own"]);
        assert_eq!((schema_version(&south), has_v2_column(&south)), ("1".to_owned(), false));
    }
    // A dry run says the same; a fetch only reads, and is allowed.
    south.bd(["federation", "pull", "north", "--dry-run"]).code(1).stderr_has("upgrade bd");
    south.bd(["federation", "fetch", "north"]).success();
    // Once this bd knows v2, the same pull goes through.
    south.bd_env(V2, ["federation", "pull", "north"]).success();
    assert_eq!(south.titles(), ["Made on v2", "South's own"]);
}

#[test]
fn a_peer_on_an_older_schema_is_merged_after_ours_is_migrated_and_a_push_brings_it_up() {
    let north = Town::federated("north");
    let south = Town::federated("south");
    let _mailbox = link(&north, "south", &south, "north");
    north.create("Made on v1");
    north.bd(["federation", "push", "south"]).success();
    south.create("South's own");

    south.bd_env(V2, ["federation", "sync", "north"]).success();
    assert_eq!(south.titles(), ["Made on v1", "South's own"]);
    assert_eq!((schema_version(&south), has_v2_column(&south)), ("2".to_owned(), true));
    assert_eq!(migrations(&south), ["bd"], "south migrated before it merged");

    // The push made the peer v2: a bd that knows only v1 is told to upgrade…
    let before = head(&north);
    north.bd(["federation", "pull", "south"]).code(1).stderr_has("peer 'south' uses schema v2");
    assert_eq!(head(&north), before);
    // …and a town that a newer bd migrated is refused by an older one, even
    // with a peer still on v1.
    let west = Town::federated("west");
    let _west_box = link(&south, "west", &west, "south");
    west.create("West's, on v1");
    west.bd(["federation", "push", "south"]).success();
    let before = head(&south);
    south.bd(["federation", "sync", "west"]).code(1).stderr_has("this town uses schema v2; this bd knows up to v1");
    assert_eq!(head(&south), before);
    south.bd_env(V2, ["federation", "sync", "west"]).success();
    assert!(south.titles().contains(&"West's, on v1".to_owned()));
    north.bd_env(V2, ["federation", "pull", "south"]).success();
    assert_eq!(north.titles(), ["Made on v1", "South's own"]);
    assert!(north.sql("SELECT * FROM dolt_schema_conflicts").is_empty());
}

#[test]
fn a_new_town_starts_on_the_newest_schema_this_bd_knows() {
    let old = Town::federated("old");
    assert_eq!((schema_version(&old), migrations(&old).len()), ("1".to_owned(), 0));
    let new = Town::uninit("new");
    new.bd_env(V2, ["init"]).success();
    assert_eq!((schema_version(&new), has_v2_column(&new)), ("2".to_owned(), true));
    assert_eq!(migrations(&new), ["bd"]);
    assert!(new.dolt(["status"]).success().stdout.contains("nothing to commit"));
}
