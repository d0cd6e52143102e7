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

/// The failed checks.
fn failures(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["checks"].as_array().expect("checks").iter().filter(|c| c["level"] == "fail").cloned().collect()
}

/// The command a fix names: the text between its first pair of backticks.
fn command_of(check: &serde_json::Value) -> String {
    let fix = check["fix"].as_str().unwrap_or_else(|| panic!("no fix: {check}"));
    let start = fix.find('`').unwrap_or_else(|| panic!("no command in the fix: {fix}")) + 1;
    let len = fix[start..].find('`').unwrap_or_else(|| panic!("unclosed command in the fix: {fix}"));
    fix[start..start + len].to_owned()
}

/// Runs a printed fix with `sh -c` in the town, bd first on PATH.
fn run_fix(town: &Town, command: &str, vars: &[(&str, &str)]) -> crate::support::Run {
    let mut all = vec![("PATH", crate::support::path_with(&[]).into_string().expect("PATH"))];
    all.extend(vars.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let mut cmd = town.sandbox().command("sh", town.dir());
    cmd.args(["-c", command]);
    for (k, v) in &all {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("sh");
    crate::support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Marks a directory tree immutable (read-only even for root, who ignores
/// modes); the mark is cleared on drop, even when the test fails.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn set(dir: &std::path::Path) -> Self {
        let status = std::process::Command::new("chattr").args(["-R", "+i"]).arg(dir).status();
        assert!(
            status.is_ok_and(|s| s.success()) && std::fs::write(dir.join("probe"), "x").is_err(),
            "chattr -R +i {} did not make it read-only: this test needs root and a file system with attributes",
            dir.display()
        );
        Self(dir.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr").args(["-R", "-f", "-i"]).arg(&self.0).status();
    }
}

#[test]
fn a_read_only_beads_is_reported_as_such_not_as_missing_remotes() {
    let town = Town::federated("town-a");
    town.bd(["federation", "add-peer", "hub", "file:///tmp/bd-doctor-ro"]).success();
    let guard = Immutable::set(&town.dir().join(".beads"));
    let (code, report) = checks(&town);
    assert_eq!(code, 1, "{report}");
    assert!(!has(&report, "fail", "has no dolt remote"), "a read-only town still has its remotes: {report}");
    assert!(!report.to_string().contains("remove-peer"), "removing the peer would lose its password: {report}");
    let failed = failures(&report);
    let read_only = failed.iter().find(|c| c["message"].as_str().is_some_and(|m| m.contains("read-only")));
    let read_only = read_only.unwrap_or_else(|| panic!("read-only .beads not reported: {report}"));
    run_fix(&town, &command_of(read_only), &[]).success();
    let (code, report) = checks(&town);
    assert_eq!(code, 0, "the printed fix did not repair it: {report}");
    drop(guard);
}

#[test]
fn the_fix_for_a_missing_remote_repairs_the_peer_and_keeps_its_password() {
    let town = Town::federated("town-a");
    let pw = [("BD_PEER_PASSWORD", "keep-me")];
    town.bd_env(&pw, ["federation", "add-peer", "hub", "file:///tmp/bd-doctor-fix", "--user", "fed"]).success();
    let store = std::fs::read(town.dir().join(".beads/credentials")).expect("store");
    town.dolt(["remote", "remove", "hub"]).success();
    let (code, report) = checks(&town);
    assert_eq!(code, 1, "{report}");
    let missing = failures(&report)
        .into_iter()
        .find(|c| c["message"].as_str().is_some_and(|m| m.contains("peer 'hub' is configured but has no dolt remote")))
        .unwrap_or_else(|| panic!("missing remote not reported: {report}"));
    let command = command_of(&missing);
    assert!(!command.contains("remove-peer"), "the fix must not discard the stored password: {command}");
    run_fix(&town, &command, &[]).success();
    let (code, report) = checks(&town);
    assert_eq!(code, 0, "the printed fix did not repair the peer: {report}");
    assert_eq!(town.remotes(), ["hub file:///tmp/bd-doctor-fix"]);
    assert_eq!(std::fs::read(town.dir().join(".beads/credentials")).expect("store"), store, "password kept");
}

#[test]
fn a_missing_or_replaced_credential_key_is_reported_and_the_fix_works() {
    let town = Town::federated("town-a");
    let pw = [("BD_PEER_PASSWORD", "pw")];
    town.bd_env(&pw, ["federation", "add-peer", "hub", "file:///tmp/bd-doctor-k1", "--user", "fed"]).success();
    town.bd_env(
        &pw,
        ["federation", "add-peer", "two", "file:///tmp/bd-doctor-k2", "--user", "fed", "--sovereignty", "T3"],
    )
    .success();
    let key = town.dir().join(".beads/credentials.key");
    let healthy = checks(&town).1;
    assert!(!has(&healthy, "fail", "credential"), "{healthy}");

    std::fs::remove_file(&key).expect("remove the key");
    let (code, report) = checks(&town);
    assert_eq!(code, 1, "{report}");
    let missing = failures(&report)
        .into_iter()
        .find(|c| c["message"].as_str().is_some_and(|m| m.contains("credentials.key") && m.contains("missing")))
        .unwrap_or_else(|| panic!("a missing key is not reported: {report}"));
    assert!(!report.to_string().contains("\"pw\""), "no password in the report");
    run_fix(&town, &command_of(&missing), &pw).success();
    let (code, report) = checks(&town);
    assert_eq!(code, 0, "the printed fix did not repair the store: {report}");
    assert!(town.config_text().contains("sovereignty: T3"), "the fix kept the peer's tier");

    // Another store's key: present, well-formed, and decrypting nothing.
    std::fs::write(&key, "07".repeat(32)).expect("replace the key");
    let (code, report) = checks(&town);
    assert_eq!(code, 1, "{report}");
    let replaced: Vec<serde_json::Value> = failures(&report)
        .into_iter()
        .filter(|c| c["message"].as_str().is_some_and(|m| m.contains("does not decrypt")))
        .collect();
    assert_eq!(replaced.len(), 2, "each peer whose password is lost is named: {report}");
    for check in &replaced {
        run_fix(&town, &command_of(check), &pw).success();
    }
    let (code, report) = checks(&town);
    assert_eq!(code, 0, "the printed fixes did not repair the store: {report}");
}

#[test]
fn a_half_made_town_is_reported_and_the_fix_makes_it_whole() {
    let town = Town::uninit("town-a");
    // What an interrupted `bd init` of earlier releases left: dolt's
    // repository without bd's schema.
    std::fs::create_dir_all(town.dolt_dir()).expect("dolt dir");
    town.dolt(["init", "--name", "someone", "--email", "someone@example.com"]).success();
    std::fs::write(town.dir().join(".beads/config.yaml"), "sync:\n  mode: dolt-native\n").expect("config");
    let (code, report) = checks(&town);
    assert_eq!(code, 1, "{report}");
    assert!(!has(&report, "ok", "healthy"), "{report}");
    let half = failures(&report)
        .into_iter()
        .find(|c| c["message"].as_str().is_some_and(|m| m.contains("half-made") && m.contains("issues")))
        .unwrap_or_else(|| panic!("a half-made town is not reported: {report}"));
    town.bd(["init"]).code(1).stderr_has("half-made").stderr_has("rm -rf");
    run_fix(&town, &command_of(&half), &[]).success();
    let (code, report) = checks(&town);
    assert_eq!(code, 0, "the printed fix did not make the town whole: {report}");
    town.create("works now");
}

#[test]
fn tracked_secrets_and_links_under_beads_are_reported_with_fixes_that_work() {
    let town = Town::federated("town-a");
    let _ = town.run("git", town.dir(), ["init", "-q"]).success();
    town.bd_env(
        &[("BD_PEER_PASSWORD", "pw")],
        ["federation", "add-peer", "hub", "file:///tmp/bd-doctor-t", "--user", "u"],
    )
    .success();
    let _ = town.run("git", town.dir(), ["add", "-f", ".beads/credentials.key", ".beads/config.yaml"]).success();
    let elsewhere = town.sandbox().path().join("elsewhere.jsonl");
    std::fs::write(&elsewhere, "").expect("target");
    std::os::unix::fs::symlink(&elsewhere, town.dir().join(".beads/federation-log.jsonl")).expect("link");
    let (code, report) = checks(&town);
    assert_eq!(code, 1, "{report}");
    let failed = failures(&report);
    let tracked = failed
        .iter()
        .find(|c| c["message"].as_str().is_some_and(|m| m.contains("credentials.key") && m.contains("tracked by git")))
        .unwrap_or_else(|| panic!("a tracked key is not reported: {report}"));
    assert!(!has(&report, "fail", "config.yaml is tracked"), "config.yaml is meant to be committed: {report}");
    let link = failed
        .iter()
        .find(|c| {
            c["message"].as_str().is_some_and(|m| m.contains("federation-log.jsonl") && m.contains("symbolic link"))
        })
        .unwrap_or_else(|| panic!("a link under .beads is not reported: {report}"));
    for check in [tracked, link] {
        run_fix(&town, &command_of(check), &[]).success();
    }
    let (code, report) = checks(&town);
    assert_eq!(code, 0, "the printed fixes did not clear the findings: {report}");
}

/// The check named `name` whose message holds `text`.
fn find<'a>(report: &'a serde_json::Value, name: &str, text: &str) -> Option<&'a serde_json::Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name && c["message"].as_str().is_some_and(|m| m.contains(text)))
}

#[test]
fn a_dolt_other_than_the_pinned_one_is_a_warning_naming_both_and_the_fix() {
    let pinned = bd_shared::dolt::PINNED_VERSION.to_string();
    let town = Town::federated_with("town", crate::support::other_dolt());
    let (code, report) = checks(&town);
    assert_eq!(code, 0, "a warning is no failure: {report}");
    let found = find(&report, "dolt", "is not the pinned dolt").unwrap_or_else(|| panic!("{report}"));
    assert_eq!(found["level"], "warn", "{report}");
    let message = found["message"].as_str().expect("message");
    assert!(message.contains("dolt 1.86.4 at ") && message.contains(&format!("pinned dolt {pinned}")), "{message}");
    assert!(
        found["fix"].as_str().is_some_and(|f| f.contains("scripts/ensure-dolt") && f.contains("BD_DOLT")),
        "{found}"
    );

    let town = Town::federated_with("town", crate::support::dolt());
    let (_, report) = checks(&town);
    let found = find(&report, "dolt", &format!("dolt {pinned} at ")).unwrap_or_else(|| panic!("{report}"));
    assert_eq!(found["level"], "ok", "{report}");
}

#[test]
fn schema_skew_with_a_peer_is_reported_from_the_last_fetch_with_the_fix() {
    const V2: &[(&str, &str)] = &[("BD_TEST_SCHEMA_V2", "1")];
    let north = Town::federated("north");
    let south = Town::federated("south");
    let _mailbox = crate::support::link(&north, "south", &south, "north");
    north.create("On v2");
    north.bd_env(V2, ["federation", "push", "south"]).success();
    let (_, report) = checks(&south);
    assert!(find(&report, "schema", "").is_none(), "nothing fetched yet, nothing known: {report}");
    south.bd(["federation", "fetch", "north"]).success();
    let (code, report) = checks(&south);
    assert_eq!(code, 1, "{report}");
    let found =
        find(&report, "schema", "peer 'north' uses schema v2 (as last fetched); this bd knows up to v1: upgrade bd")
            .unwrap_or_else(|| panic!("{report}"));
    assert!(found["fix"].as_str().is_some_and(|f| f.contains("upgrade bd")), "{found}");

    // A bd that knows v2 sees a town to migrate instead, then nothing.
    let out = south.bd_env(V2, ["--json", "doctor"]);
    let report = out.json();
    assert!(find(&report, "schema", "this town uses schema v1; this bd knows v2").is_some(), "{report}");
    assert!(find(&report, "schema", "peer 'north'").is_none(), "{report}");
    south.bd_env(V2, ["federation", "pull", "north"]).success();
    let report = south.bd_env(V2, ["--json", "doctor"]).json();
    assert!(find(&report, "schema", "").is_none(), "{report}");

    // A peer left on v1 is a warning; this town on v2 is a failure for a bd that knows v1.
    let west = Town::federated("west");
    let _west_box = crate::support::link(&south, "west", &west, "south");
    west.create("On v1");
    west.bd(["federation", "push", "south"]).success();
    south.bd_env(V2, ["federation", "fetch", "west"]).success();
    let report = south.bd_env(V2, ["--json", "doctor"]).json();
    let found = find(&report, "schema", "peer 'west' uses schema v1 (as last fetched), this town v2")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(found["level"], "warn", "{found}");
    let (code, report) = checks(&south);
    assert_eq!(code, 1, "{report}");
    assert!(
        find(&report, "schema", "this town uses schema v2; this bd knows up to v1: upgrade bd").is_some(),
        "{report}"
    );
}
