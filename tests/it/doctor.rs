//! `bd doctor` finds what goes wrong and says how to fix it.

use crate::support::Town;

fn checks(town: &Town) -> (i32, serde_json::Value) {
    let out = town.bd(["--json", "doctor"]);
    (out.code, out.json())
}

fn has(report: &serde_json::Value, level: &str, text: &str) -> bool {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .any(|c| c["level"] == level && c["message"].as_str().is_some_and(|m| m.contains(text)))
}

#[test]
fn a_git_portable_town_outside_git_fails_with_the_fix() {
    let town = Town::new();
    let (code, report) = checks(&town);
    assert_eq!(code, 1);
    assert!(has(&report, "fail", "no git repository"), "{report}");
    assert!(report.to_string().contains("git init"));
}

#[test]
fn peers_tiers_and_remotes_that_disagree_are_reported() {
    let town = Town::federated("town-a");
    let (code, report) = checks(&town);
    assert_eq!(code, 0, "{report}");
    assert!(has(&report, "ok", "healthy"));
    town.bd(["federation", "add-peer", "hub", "file:///tmp/bd-doctor-hub", "--sovereignty", "T2"]).success();
    town.bd(["federation", "add-peer", "gone", "file:///tmp/bd-doctor-gone"]).success();
    town.dolt(["remote", "remove", "gone"]).success();
    town.dolt(["remote", "add", "stray", "file:///tmp/bd-doctor-stray"]).success();
    let (code, report) = checks(&town);
    assert_eq!(code, 1, "{report}");
    assert!(has(&report, "fail", "peer 'gone' is configured but has no dolt remote"), "{report}");
    assert!(has(&report, "warn", "matches no allowed-remote-patterns"), "{report}");
    assert!(has(&report, "warn", "peer 'hub' last synced never"), "{report}");
    assert!(has(&report, "warn", "dolt remote 'stray' is not a configured peer"), "{report}");
    town.bd(["config", "set", "sync.mode", "git-portable"]).success();
    let (_, report) = checks(&town);
    assert!(has(&report, "warn", "disables federation"), "{report}");
}

#[test]
fn an_invalid_value_in_a_file_is_reported_with_its_origin() {
    let town = Town::federated("town-a");
    let path = town.dir().join(".beads/config.yaml");
    let text = town.config_text().replace("dolt-native", "warp-speed");
    std::fs::write(&path, text).expect("write");
    let out = town.bd(["doctor"]).code(1);
    assert!(
        out.stdout.contains("invalid value 'warp-speed' for sync.mode") && out.stdout.contains("config.yaml"),
        "{}",
        out.stdout
    );
}

#[test]
fn credential_files_others_can_read_are_reported_with_the_fix() {
    let town = Town::federated("town-a");
    town.bd_env(
        &[("BD_PEER_PASSWORD", "pw")],
        ["federation", "add-peer", "hub", "file:///tmp/bd-doctor-cred", "--user", "u"],
    )
    .success();
    let store = town.dir().join(".beads/credentials");
    std::fs::set_permissions(&store, std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
    let (code, report) = checks(&town);
    assert_eq!(code, 1, "{report}");
    assert!(has(&report, "fail", "0644"), "{report}");
    assert!(report.to_string().contains("chmod 600"), "{report}");
}
