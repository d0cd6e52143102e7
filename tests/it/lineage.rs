//! Any two towns federate, whatever dolt built them: every town stands on
//! the genesis shipped as data, byte for byte the one the first release made.

use std::path::{Path, PathBuf};

use crate::support::{Town, dolt, link, other_dolt};

/// dolt's initial commit and the schema commit, as the first release made them.
const GENESIS: [&str; 2] = ["k9u9bhsac62qg6aq4lpmkmbltmcuph6d", "1ps2raqeqap69lv277n6oehehmtms0j0"];

fn builds() -> [PathBuf; 2] {
    [dolt(), other_dolt()]
}

fn first_commits(town: &Town) -> Vec<String> {
    town.sql("SELECT commit_hash FROM dolt_log ORDER BY commit_order LIMIT 2")
        .iter()
        .map(|r| r["commit_hash"].as_str().expect("hash").to_owned())
        .collect()
}

#[test]
fn every_town_starts_from_the_first_releases_genesis_whatever_dolt_made_it() {
    for build in builds() {
        let town = Town::federated_with("town", build.clone());
        assert_eq!(first_commits(&town), GENESIS, "a town made by {}", build.display());
        assert!(town.remotes().is_empty(), "laying down the genesis leaves no remote: {:?}", town.remotes());
        assert!(town.dolt(["status"]).success().stdout.contains("nothing to commit"));
    }
}

#[test]
fn towns_made_by_two_dolt_builds_federate_both_ways() {
    let north = Town::federated_with("north", dolt());
    let south = Town::federated_with("south", other_dolt());
    let _mailbox = link(&north, "south", &south, "north");
    let id = north.create("From the pinned dolt");
    north.bd(["federation", "push", "south"]).success();
    south.bd(["federation", "pull", "north"]).success();
    south.bd(["update", &id, "-p", "0"]).success();
    south.bd(["comment", &id, "Seen by the other build"]).success();
    south.create("From the other dolt");
    south.bd(["federation", "sync", "north"]).success();
    north.bd(["update", &id, "--title", "Retitled in the north"]).success();
    north.bd(["federation", "sync", "south"]).success();
    south.bd(["federation", "sync", "north"]).success();
    for town in [&north, &south] {
        assert_eq!(town.titles(), ["From the other dolt", "Retitled in the north"]);
        let issue = town.bd(["--json", "show", &id]).success().json();
        assert_eq!(issue["priority"], 0, "{issue}");
        assert_eq!(issue["comments"][0]["text"], "Seen by the other build", "{issue}");
    }
    for (town, peer) in [(&north, "south"), (&south, "north")] {
        let status = town.bd(["--json", "federation", "status", peer]).success().json();
        assert_eq!((&status["peers"][0]["ahead"], &status["peers"][0]["behind"]), (&0.into(), &0.into()), "{status}");
    }
}

/// A copy of the fixture: a Dolt remote a town made by the first release
/// (dolt 1.86.4) pushed to, holding issues, a comment and a label.
fn elder_remote() -> tempfile::TempDir {
    let copy = tempfile::Builder::new().prefix("bd-elder-").tempdir().expect("tempdir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/town-dolt-1.86.4");
    for entry in std::fs::read_dir(&fixture).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy");
    }
    std::fs::write(copy.path().join("LOCK"), "").expect("lock");
    copy
}

#[test]
fn a_town_made_by_the_first_release_federates_with_new_ones() {
    for build in builds() {
        let remote = elder_remote();
        let endpoint = format!("file://{}", remote.path().display());
        let town = Town::federated_with("newcomer", build.clone());
        town.bd(["federation", "add-peer", "elder", &endpoint]).success();
        town.bd(["federation", "pull", "elder"]).success();
        let elder = town.bd(["--json", "show", "elder-69ffdd"]).success().json();
        assert_eq!(elder["title"], "Elder's first issue", "{elder}");
        assert_eq!(elder["labels"], serde_json::json!(["legacy"]), "{elder}");
        assert_eq!(elder["status"], "in_progress", "{elder}");
        assert_eq!(elder["comments"][0]["text"], "Made before the lineage was data", "{elder}");
        assert_eq!(town.titles(), ["Elder's first issue", "Elder's second issue"]);
        town.create("The newcomer's");
        town.bd(["federation", "push", "elder"]).success();
        // The old town itself gets it: a clone of its remote by the first release's dolt.
        let elder_town = Town::federated_with("elder", other_dolt());
        elder_town.bd(["federation", "add-peer", "hub", &endpoint]).success();
        elder_town.bd(["federation", "pull", "hub"]).success();
        assert_eq!(elder_town.titles(), ["Elder's first issue", "Elder's second issue", "The newcomer's"]);
    }
}

#[test]
fn the_schema_text_is_the_genesis_schema() {
    let town = Town::federated_with("town", dolt());
    let plain = town.sandbox().path().join("plain");
    std::fs::create_dir_all(&plain).expect("dir");
    town.run(dolt(), &plain, ["init", "--name", "t", "--email", "t@t"]).success();
    let mut cmd = town.sandbox().command(dolt(), &plain);
    let out = {
        use std::io::Write as _;
        cmd.args(["sql"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        child.stdin.take().expect("stdin").write_all(bd_shared::tracker::schema::SCHEMA.as_bytes()).expect("write");
        child.wait_with_output().expect("wait")
    };
    assert!(out.status.success(), "the schema text does not run");
    let describe = "SELECT table_name, column_name, column_type, is_nullable, column_default, column_key \
                    FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1, ordinal_position; \
                    SELECT table_name, index_name, column_name, non_unique FROM information_schema.statistics \
                    WHERE table_schema = DATABASE() ORDER BY 1, 2, seq_in_index; SELECT * FROM metadata";
    let of_plain = town.run(dolt(), &plain, ["sql", "-r", "json", "-q", describe]).success().stdout;
    let of_town = town.dolt(["sql", "-r", "json", "-q", describe]).success().stdout;
    assert_eq!(of_town, of_plain, "schema::SCHEMA and the genesis disagree");
}
