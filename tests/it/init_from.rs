//! `bd init --from <endpoint>`: a town that starts as a peer's main, keeps
//! its own name and prefix, and exchanges with that peer at once; or, when
//! the endpoint is wrong, no town at all.

use std::path::Path;

use crate::support::{Hub, Mailbox, Town, dolt};

/// What a failed init must leave in the project directory: nothing.
#[track_caller]
fn assert_empty(dir: &Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .expect("project dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "a failed init left {left:?} in {}", dir.display());
}

#[test]
fn a_town_from_a_file_peer_lists_its_issues_keeps_its_own_prefix_and_syncs_both_ways() {
    let north = Town::federated("north");
    let mailbox = Mailbox::new();
    north.bd(["federation", "add-peer", "hub", &mailbox.endpoint()]).success();
    let first = north.create("North's first");
    north.bd(["federation", "push", "hub"]).success();

    let south = Town::uninit("south");
    let made = south.bd(["--json", "init", "--from", &mailbox.endpoint(), "--peer", "north"]).success().json();
    assert_eq!((&made["town"], &made["prefix"], &made["peer"]), (&"south".into(), &"south".into(), &"north".into()));
    assert_eq!(made["from"], mailbox.endpoint().as_str());
    assert_eq!(south.titles(), ["North's first"]);
    assert_eq!(south.bd(["config", "get", "sync.mode"]).success().stdout.trim(), "dolt-native");
    assert_eq!(south.remotes(), [format!("north {}", mailbox.endpoint())]);
    let peers = south.bd(["--json", "federation", "list-peers"]).success().json();
    assert_eq!(peers[0]["name"], "north", "{peers}");
    let status = south.bd(["--json", "federation", "status", "north"]).success().json();
    assert_eq!((&status["peers"][0]["ahead"], &status["peers"][0]["behind"]), (&0.into(), &0.into()), "{status}");

    let own = south.create("South's own");
    assert!(own.starts_with("south-"), "{own}");
    south.bd(["update", &first, "-p", "0"]).success();
    south.bd(["federation", "sync", "north"]).success();
    north.bd(["federation", "pull", "hub"]).success();
    assert_eq!(north.titles(), ["North's first", "South's own"]);
    assert_eq!(north.bd(["--json", "show", &first]).success().json()["priority"], 0);
    north.bd(["update", &own, "--title", "South's, retitled in the north"]).success();
    north.bd(["federation", "push", "hub"]).success();
    south.bd(["federation", "pull", "north"]).success();
    assert_eq!(south.titles(), ["North's first", "South's, retitled in the north"]);
    // North's own name and prefix stay north's.
    assert!(north.create("North's second").starts_with("north-"));
}

#[test]
fn without_peer_the_peer_is_named_after_the_endpoint() {
    let north = Town::federated("north");
    let mailbox = Mailbox::new();
    north.bd(["federation", "add-peer", "hub", &mailbox.endpoint()]).success();
    north.create("North's");
    north.bd(["federation", "push", "hub"]).success();
    let south = Town::uninit("south");
    let made = south.bd(["--json", "init", "--from", &mailbox.endpoint()]).success().json();
    let last = mailbox.endpoint().rsplit('/').next().expect("last part").to_owned();
    assert_eq!(made["peer"], last.as_str(), "{made}");
    south.bd(["federation", "pull", &last]).success();
    // An endpoint whose last part is no peer name needs --peer.
    let odd = Town::uninit("odd");
    odd.bd(["init", "--from", "file:///tmp/9lives"]).code(2).stderr_has("name it with --peer NAME");
    assert_empty(odd.dir());
}

#[test]
fn a_town_from_the_password_protected_hub_keeps_the_password_out_of_files() {
    let password = "pw-for-init-from-7";
    let hub = Hub::serve(password);
    let north = Town::federated("north");
    north
        .bd_stdin(
            &format!("{password}\n"),
            ["federation", "add-peer", "hub", &hub.endpoint(), "--user", "fed", "--password-stdin"],
        )
        .success();
    north.create("Over http");
    north.bd(["federation", "push", "hub"]).success();

    let south = Town::uninit("south");
    let from = ["init", "--from", &hub.endpoint(), "--peer", "hub", "--user", "fed", "--password-stdin"];
    south.bd_stdin("wrong-password\n", from).code(1).stderr_has("refused the credentials");
    assert_empty(south.dir());
    south.bd_stdin(&format!("{password}\n"), from).success();
    assert_eq!(south.titles(), ["Over http"]);
    let config = south.config_text();
    assert!(config.contains("user: fed") && !config.contains(password), "{config}");
    south.create("South's, over http");
    south.bd(["federation", "sync", "hub"]).success();
    north.bd(["federation", "pull", "hub"]).success();
    assert_eq!(north.titles(), ["Over http", "South's, over http"]);
}

#[test]
fn a_bad_unreachable_or_non_bd_endpoint_leaves_nothing_behind() {
    let town = Town::uninit("newcomer");
    let sandbox = town.sandbox().path();
    // A Dolt remote holding a repository that is not a bd town.
    let plain_remote = |name: &str, sql: &str| {
        let repo = sandbox.join(name);
        std::fs::create_dir_all(&repo).expect("dir");
        town.run(dolt(), &repo, ["init", "--name", "t", "--email", "t@t"]).success();
        town.run(dolt(), &repo, ["sql", "-q", sql]).success();
        town.run(dolt(), &repo, ["commit", "-Am", "not bd"]).success();
        let remote = format!("file://{}", sandbox.join(format!("{name}-remote")).display());
        town.run(dolt(), &repo, ["remote", "add", "out", &remote]).success();
        town.run(dolt(), &repo, ["push", "out", "main"]).success();
        remote
    };
    let unrelated = plain_remote(
        "lookalike",
        "CREATE TABLE issues (id VARCHAR(255) PRIMARY KEY); CREATE TABLE metadata (`key` VARCHAR(255) PRIMARY KEY, value TEXT)",
    );
    let not_bd = plain_remote("plain", "CREATE TABLE t (a INT PRIMARY KEY)");
    let missing = format!("file://{}", sandbox.join("nowhere").display());
    let cases: [(&str, i32, &str); 5] = [
        ("ftp://host/db", 2, "Invalid endpoint format"),
        (&missing, 1, "is unreachable: directory"),
        ("http://127.0.0.1:1/db", 1, "peer 'partner' (http://127.0.0.1:1/db)"),
        (&not_bd, 1, "is not a bd town: it has no issues and metadata tables"),
        (&unrelated, 1, "is not a bd town: its history does not start from bd's genesis commit"),
    ];
    for (endpoint, code, error) in cases {
        town.bd_env(&[("BD_FEDERATION_TIMEOUT", "3s")], ["init", "--from", endpoint, "--peer", "partner"])
            .code(code)
            .stderr_has(error);
        assert_empty(town.dir());
    }
    assert!(
        std::fs::read_dir(sandbox)
            .expect("sandbox")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().contains(".init-")),
        "a staging directory was left"
    );

    // A cloned project with its committed config: an init that fails after
    // the clone (its peer's name is taken there) leaves it as it was.
    let north = Town::federated("north");
    let mailbox = Mailbox::new();
    north.bd(["federation", "add-peer", "hub", &mailbox.endpoint()]).success();
    north.create("North's");
    north.bd(["federation", "push", "hub"]).success();
    let beads = town.dir().join(".beads");
    std::fs::create_dir_all(&beads).expect(".beads");
    let committed = "town:\n  name: newcomer\n  prefix: nc\nfederation:\n  peers:\n    partner:\n      endpoint: file:///elsewhere\n";
    std::fs::write(beads.join("config.yaml"), committed).expect("config");
    town.bd(["init", "--from", &mailbox.endpoint(), "--peer", "partner"]).code(1).stderr_has("peer already exists");
    assert_eq!(std::fs::read_to_string(beads.join("config.yaml")).expect("config"), committed);
    let left: Vec<String> = std::fs::read_dir(&beads)
        .expect(".beads")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|f| [".gitignore", "config.yaml", "bd.lock"].contains(&f.as_str())), "{left:?}");
    town.bd(["init", "--from", &mailbox.endpoint(), "--peer", "north"]).success();
    assert_eq!(town.titles(), ["North's"]);
    assert!(town.create("Newcomer's").starts_with("nc-"));
}

#[test]
fn a_peer_on_a_newer_schema_is_refused_at_init_and_nothing_is_made() {
    let north = Town::federated("north");
    let mailbox = Mailbox::new();
    north.bd(["federation", "add-peer", "hub", &mailbox.endpoint()]).success();
    north.create("On v2");
    north.bd_env(&[("BD_TEST_SCHEMA_V2", "1")], ["federation", "push", "hub"]).success();
    let south = Town::uninit("south");
    south
        .bd(["init", "--from", &mailbox.endpoint(), "--peer", "north"])
        .code(1)
        .stderr_has("peer 'north' uses schema v2; this bd knows up to v1: upgrade bd");
    assert_empty(south.dir());
    south.bd_env(&[("BD_TEST_SCHEMA_V2", "1")], ["init", "--from", &mailbox.endpoint(), "--peer", "north"]).success();
    assert_eq!(south.titles(), ["On v2"]);
}
