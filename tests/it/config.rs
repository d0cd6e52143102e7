//! `bd config` and the resolver's layers, against real files.

use crate::support::Town;

#[test]
fn set_keeps_comments_order_and_unknown_keys() {
    let town = Town::new();
    let path = town.dir().join(".beads/config.yaml");
    let original = "# team settings\nsync:\n  mode: git-portable  # switch later\ncustom:\n  thing: [1, 2]\n";
    std::fs::write(&path, original).expect("write");
    town.bd(["config", "set", "sync.mode", "dolt-native"]).success();
    assert_eq!(town.config_text(), original.replace("git-portable", "dolt-native"));
    town.bd(["config", "set", "federation.sovereignty", "T2"]).success();
    town.bd(["config", "unset", "federation.sovereignty"]).success();
    assert_eq!(town.config_text(), original.replace("git-portable", "dolt-native"));
}

#[test]
fn invalid_enum_values_list_the_valid_ones_and_write_nothing() {
    let town = Town::new();
    let before = town.config_text();
    town.bd(["config", "set", "sync.mode", "dolt"])
        .code(2)
        .stderr_has("expected one of git-portable, realtime, dolt-native, belt-and-suspenders");
    town.bd(["config", "set", "federation.sovereignty", "T5"]).code(2).stderr_has("T1, T2, T3, T4");
    town.bd(["config", "set", "federation.strategy", "mine"]).code(2).stderr_has("ours, theirs, manual, newest");
    assert_eq!(town.config_text(), before);
}

#[test]
fn invalid_value_in_a_file_is_reported_on_use() {
    let town = Town::new();
    std::fs::write(town.dir().join(".beads/config.yaml"), "sync:\n  mode: turbo\n").expect("write");
    town.bd(["federation", "list-peers"]).code(1).stderr_has("invalid value 'turbo' for sync.mode");
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let town = Town::new();
    let path = town.dir().join(".beads/config.yaml");
    std::fs::write(&path, "sync:\n  mode: dolt-native\n bad: [unclosed\n").expect("write");
    let out = town.bd(["config", "list"]).code(1);
    assert!(out.stderr.contains(&format!("{}:3:", path.display())), "{}", out.stderr);
}

#[test]
fn environment_beats_the_file_and_says_so() {
    let town = Town::new();
    town.bd(["config", "set", "sync.mode", "git-portable"]).success();
    let vars = [("BD_SYNC_MODE", "dolt-native"), ("BD_FEDERATION_REMOTE", "dolthub://myorg/beads")];
    let out = town.bd_env(&vars, ["config", "list", "--show-origin"]).success();
    assert!(out.stdout.contains("env:BD_SYNC_MODE\tsync.mode = dolt-native"), "{}", out.stdout);
    assert!(
        out.stdout.contains("env:BD_FEDERATION_REMOTE\tfederation.remote = dolthub://myorg/beads"),
        "{}",
        out.stdout
    );
    town.bd_env(&vars, ["federation", "list-peers"]).success();
    town.bd(["federation", "list-peers"]).code(1).stderr_has("bd config set sync.mode dolt-native");
}

#[test]
fn layers_stack_user_project_local() {
    let town = Town::new();
    town.bd(["config", "set", "--user", "federation.strategy", "theirs"]).success();
    let json = town.bd(["--json", "config", "get", "federation.strategy"]).success().json();
    assert_eq!(json["value"], "theirs");
    assert!(json["origin"].as_str().expect("origin").ends_with("config/bd/config.yaml"), "{json}");
    town.bd(["config", "set", "federation.strategy", "ours"]).success();
    town.bd(["config", "set", "--local", "federation.strategy", "newest"]).success();
    let out = town.bd(["config", "get", "federation.strategy", "--show-origin"]).success();
    assert!(out.stdout.contains("config.local.yaml\tnewest"), "{}", out.stdout);
    town.bd(["config", "get", "no.such.key"]).code(1).stderr_has("is not set");
}

#[test]
fn list_json_is_an_array_of_key_value_origin() {
    let town = Town::new();
    let json = town.bd(["--json", "config", "list"]).success().json();
    let mode = json.as_array().expect("array").iter().find(|s| s["key"] == "sync.mode").expect("sync.mode");
    assert_eq!(mode["value"], "git-portable");
    assert_eq!(mode["origin"], "default");
}

#[test]
fn export_path_must_stay_inside_beads() {
    let town = Town::new();
    for bad in ["../outside.jsonl", "/etc/passwd", "sub/dir.jsonl"] {
        town.bd(["config", "set", "export.path", bad]).code(2).stderr_has("a plain file name inside .beads/");
    }
    town.bd(["config", "set", "export.path", "backup.jsonl"]).success();
}

#[test]
fn dolt_path_from_the_versioned_project_file_is_ignored() {
    let town = Town::new();
    let mut text = town.config_text();
    text.push_str("dolt:\n  path: /tmp/not-a-dolt-from-a-clone\n");
    std::fs::write(town.dir().join(".beads/config.yaml"), text).expect("write");
    // BD_DOLT would win anyway; remove it so the config is what matters.
    let mut cmd = town.sandbox().command(crate::support::bin_dir().join("bd"), town.dir());
    let dolt_dir = crate::support::dolt().parent().expect("dir").to_owned();
    let path = std::env::join_paths([dolt_dir, std::path::PathBuf::from("/usr/bin"), std::path::PathBuf::from("/bin")])
        .expect("PATH");
    cmd.env_remove("BD_DOLT").env("PATH", path).args(["list"]);
    let out = cmd.output().expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("dolt.path from") && stderr.contains(".beads/config.yaml"), "{stderr}");
    assert!(stderr.contains("is ignored: a project's files may not choose the program bd runs"), "{stderr}");
}

#[test]
fn a_timeout_flag_beats_the_environment_and_the_file_and_the_error_says_where_it_was_set() {
    use std::time::{Duration, Instant};
    let silent = crate::support::SilentPeer::start(16);
    let town = Town::federated("town-a");
    town.bd(["federation", "add-peer", "silent", &silent.endpoint()]).success();
    town.bd(["config", "set", "federation.timeout", "40s"]).success();
    let push = ["federation", "push", "silent"];

    let started = Instant::now();
    let out = town.bd_env(&[("BD_FEDERATION_TIMEOUT", "30s")], [&push[..], &["--timeout", "2s"]].concat()).code(1);
    let took = started.elapsed();
    assert!(out.stderr.contains("the time limit of 2s (federation.timeout from flag) ran out"), "{}", out.stderr);
    assert!(took < Duration::from_secs(25), "--timeout 2s took {took:?}: the environment's 30s won");

    let out = town.bd_env(&[("BD_FEDERATION_TIMEOUT", "2s")], push).code(1);
    let from_env = "the time limit of 2s (federation.timeout from env:BD_FEDERATION_TIMEOUT) ran out";
    assert!(out.stderr.contains(from_env), "{}", out.stderr);

    town.bd(["config", "set", "federation.timeout", "2s"]).success();
    let file = town.dir().join(".beads/config.yaml");
    let out = town.bd(push).code(1);
    let from_file = format!("the time limit of 2s (federation.timeout from file:{}) ran out", file.display());
    assert!(out.stderr.contains(&from_file), "{}", out.stderr);
    drop(silent);
}
