//! Peers: the guide's add-peer examples, errors that change nothing, and
//! credentials that never leak.

use crate::support::Town;

const GUIDE_EXAMPLES: [(&str, &str, &str); 5] = [
    ("staging", "dolthub://myorg/staging-beads", "https://doltremoteapi.dolthub.com/myorg/staging-beads"),
    ("backup", "gs://mybucket/beads-backup", "gs://mybucket/beads-backup"),
    ("backup-s3", "s3://mybucket/beads-backup", "aws://[mybucket:mybucket]/beads-backup"),
    ("local", "file:///home/user/beads-backup", "file:///home/user/beads-backup"),
    ("partner-town", "dolthub://partner-org/beads", "https://doltremoteapi.dolthub.com/partner-org/beads"),
];

#[test]
fn every_guide_example_registers_with_dolt_and_config() {
    let town = Town::federated("town-a");
    for (name, endpoint, _) in GUIDE_EXAMPLES {
        town.bd(["federation", "add-peer", name, endpoint]).success().stdout_has("Added peer");
    }
    let listed = town.bd(["config", "list"]).success().stdout;
    let remotes = town.remotes();
    for (name, endpoint, url) in GUIDE_EXAMPLES {
        assert!(listed.contains(&format!("federation.peers.{name}.endpoint = {endpoint}")), "{listed}");
        assert!(remotes.contains(&format!("{name} {url}")), "{remotes:?}");
    }
    let peers = town.bd(["--json", "federation", "list-peers"]).success().json();
    assert_eq!(peers.as_array().expect("array").len(), GUIDE_EXAMPLES.len());
    let s3 = peers.as_array().expect("array").iter().find(|p| p["name"] == "backup-s3").expect("s3 peer");
    assert_eq!(s3["dolt_url"], "aws://[mybucket:mybucket]/beads-backup");
    assert_eq!(s3["sovereignty"], "T1");
}

#[test]
fn json_output_is_exactly_the_guides_line() {
    let town = Town::federated("town-a");
    let out = town.bd(["--json", "federation", "add-peer", "staging", "dolthub://myorg/staging-beads"]).success();
    assert_eq!(
        out.stdout,
        "{\"name\":\"staging\",\"endpoint\":\"dolthub://myorg/staging-beads\",\"status\":\"added\"}\n"
    );
}

#[test]
fn refused_adds_change_nothing() {
    let town = Town::federated("town-a");
    town.bd(["federation", "add-peer", "staging", "dolthub://myorg/staging-beads"]).success();
    let (config, remotes) = (town.config_text(), town.remotes());
    let cases: [(&[&str], i32, &str); 5] = [
        (&["origin", "file:///tmp/x"], 2, "reserved"),
        (&["9lives", "file:///tmp/x"], 2, "must start with a letter"),
        (&["ok", "ftp://x/y"], 2, "Invalid endpoint format"),
        (&["ok", "http://example.com/db"], 2, "Invalid endpoint format"),
        (&["staging", "file:///tmp/other"], 1, "peer already exists"),
    ];
    for (args, code, text) in cases {
        let mut full = vec!["federation", "add-peer"];
        full.extend_from_slice(args);
        town.bd(&full).code(code).stderr_has(text);
        assert_eq!(town.config_text(), config, "config changed by {args:?}");
        assert_eq!(town.remotes(), remotes, "remotes changed by {args:?}");
    }
    town.bd(["federation", "add-peer", "x", "ftp://x/y"]).stderr_has("dolthub://, gs://, s3://, file://, https://");
}

#[test]
fn federation_commands_need_a_federation_sync_mode() {
    let town = Town::new();
    let before = town.config_text();
    for args in [
        vec!["federation", "add-peer", "staging", "dolthub://myorg/staging-beads"],
        vec!["federation", "list-peers"],
        vec!["federation", "remove-peer", "staging"],
    ] {
        town.bd(&args)
            .code(1)
            .stderr_has("federation requires sync.mode dolt-native or belt-and-suspenders")
            .stderr_has("bd config set sync.mode dolt-native");
    }
    assert_eq!(town.config_text(), before);
    assert!(town.remotes().is_empty());
}

#[test]
fn a_running_sql_server_means_no_direct_access() {
    let town = Town::federated("town-a");
    // The marker dolt sql-server writes while it serves a database.
    std::fs::write(town.dolt_dir().join(".dolt/sql-server.info"), "4242:3306:abc").expect("marker");
    town.bd(["federation", "list-peers"]).code(1).stderr_has("requires direct database access").stderr_has("4242");
}

#[test]
fn a_legacy_sqlite_town_is_told_to_migrate() {
    let town = Town::uninit("legacy");
    std::fs::create_dir_all(town.dir().join(".beads")).expect("beads");
    std::fs::write(town.dir().join(".beads/beads.db"), "SQLite format 3").expect("db");
    town.bd_env(&[("BD_SYNC_MODE", "dolt-native")], ["federation", "list-peers"])
        .code(1)
        .stderr_has("requires the Dolt backend");
}

#[test]
fn comments_and_unknown_keys_survive_add_then_remove() {
    let town = Town::federated("town-a");
    let path = town.dir().join(".beads/config.yaml");
    let mut text = town.config_text();
    text.push_str("# our partners are listed below\nteam_extra: keep-me\n");
    std::fs::write(&path, &text).expect("write");
    town.bd(["federation", "add-peer", "partner-town", "dolthub://partner-org/beads", "--sovereignty", "T3"]).success();
    let during = town.config_text();
    assert!(during.contains("# our partners are listed below") && during.contains("sovereignty: T3"), "{during}");
    town.bd(["federation", "remove-peer", "partner-town"]).success().stdout_has("Removed peer");
    assert_eq!(town.config_text(), text);
    assert!(town.remotes().is_empty());
    town.bd(["federation", "remove-peer", "partner-town"]).code(1).stderr_has("no peer named 'partner-town'");
}

#[test]
fn list_peers_is_an_empty_array_when_there_are_none() {
    let town = Town::federated("town-a");
    assert_eq!(town.bd(["--json", "federation", "list-peers"]).success().stdout, "[]\n");
}

#[test]
fn per_peer_tier_is_the_stricter_one() {
    let town = Town::federated("town-a");
    town.bd(["config", "set", "federation.sovereignty", "T2"]).success();
    town.bd(["federation", "add-peer", "lax", "file:///tmp/lax", "--sovereignty", "T1"]).success();
    town.bd(["federation", "add-peer", "strict", "file:///tmp/strict", "--sovereignty", "T4"]).success();
    let peers = town.bd(["--json", "federation", "list-peers"]).success().json();
    assert_eq!(peers[0]["name"], "lax");
    assert_eq!(peers[0]["sovereignty"], "T2");
    assert_eq!(peers[1]["sovereignty"], "T4");
    town.bd(["federation", "add-peer", "bad", "file:///tmp/b", "--sovereignty", "T9"]).code(2).stderr_has("T1");
}

#[test]
fn a_password_on_stdin_is_stored_only_encrypted() {
    let town = Town::federated("town-a");
    let secret = "hunter2-very-secret";
    let out = town
        .bd_stdin(
            &format!("{secret}\n"),
            ["--json", "federation", "add-peer", "hub", "http://127.0.0.1:9/db", "--user", "root", "--password-stdin"],
        )
        .success();
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    let mut leaks = Vec::new();
    let mut stack = vec![town.sandbox().path().to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).expect("read").windows(secret.len()).any(|w| w == secret.as_bytes()) {
                leaks.push(path);
            }
        }
    }
    assert!(leaks.is_empty(), "password found in clear in {leaks:?}");
    assert!(town.dir().join(".beads/credentials").is_file());
    assert!(town.config_text().contains("user: root"));
    let tables = town.sql("SELECT COUNT(*) AS n FROM dolt_log");
    assert_eq!(tables[0]["n"], 2, "adding a peer must not commit anything");
    town.bd(["federation", "remove-peer", "hub"]).success();
    let store = std::fs::read_to_string(town.dir().join(".beads/credentials")).expect("store");
    assert!(!store.contains("\"hub\""), "remove-peer must delete the credentials: {store}");
}

#[test]
fn user_without_a_password_source_is_refused() {
    let town = Town::federated("town-a");
    town.bd_stdin("", ["federation", "add-peer", "hub", "http://127.0.0.1:9/db", "--user", "root", "--password-stdin"])
        .code(2)
        .stderr_has("empty password");
    town.bd(["federation", "add-peer", "hub", "http://127.0.0.1:9/db", "--password-stdin"])
        .code(2)
        .stderr_has("--user");
    assert!(town.remotes().is_empty());
}

#[test]
fn yaml_words_and_passwords_in_urls_are_refused() {
    let town = Town::federated("town-a");
    let before = town.config_text();
    town.bd(["federation", "add-peer", "null", "file:///tmp/x"]).code(2).stderr_has("YAML reads it as a value");
    town.bd(["federation", "add-peer", "hub", "https://fed:secret@host/db"]).code(2).stderr_has("carries a password");
    assert_eq!(town.config_text(), before);
    town.bd(["federation", "remove-peer", "origin"]).code(2).stderr_has("reserved");
}

#[test]
fn a_broken_peer_section_stops_only_the_commands_that_use_it() {
    let (a, _b, _mailbox, _id) = crate::support::shared_pair();
    // A tier that is none (written by hand: `config set` refuses it), a
    // section without an endpoint, and a name that is no peer name.
    a.bd(["config", "set", "federation.peers.tiered.endpoint", "file:///tmp/bd-peers-tiered"]).success();
    a.bd(["config", "set", "federation.peers.tiered.sovereignty", "T3"]).success();
    a.bd(["config", "set", "federation.peers.noend.user", "fed"]).success();
    a.bd(["config", "set", "federation.peers.9lives.user", "fed"]).success();
    let config = a.dir().join(".beads/config.yaml");
    std::fs::write(&config, a.config_text().replace("sovereignty: T3", "sovereignty: T9")).expect("hand edit");

    a.create("still shared");
    a.bd(["federation", "push", "b"]).success();
    a.bd(["federation", "status", "b"]).success();
    let bad_tier = format!(
        "invalid value 'T9' for federation.peers.tiered.sovereignty (set by file:{}): expected one of T1, T2, T3, T4",
        config.display()
    );
    a.bd(["federation", "push", "tiered"]).code(1).stderr_has(&bad_tier);
    a.bd(["federation", "push", "noend"]).code(1).stderr_has("peer 'noend' has no endpoint in config");
    a.bd(["federation", "push", "--all"]).code(1).stderr_has("invalid peer name '9lives'");

    let report = a.bd(["--json", "doctor"]).json();
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["name"] == "peer" && c["level"] == "fail")
        .filter_map(|c| c["message"].as_str())
        .collect();
    for broken in [bad_tier.as_str(), "peer 'noend' has no endpoint in config", "invalid peer name '9lives'"] {
        assert!(failed.iter().any(|m| m.contains(broken)), "doctor misses {broken:?}: {failed:#?}");
    }
    assert!(!failed.iter().any(|m| m.contains("'b'")), "the good peer is fine: {failed:#?}");
}
