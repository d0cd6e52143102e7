//! A newcomer's first hour: bd finds the dolt `scripts/ensure-dolt` built,
//! add-peer leaves the endpoint alone, every error has one style, the
//! built-ins have help, completion offers values, and mistakes in files and
//! variables are named.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{Run, Town, bin_dir};

/// Runs `bd ARGS` in `town` with no `BD_DOLT` and a `PATH` without dolt,
/// as on a machine where nothing was set up by hand.
fn bd_unset(town: &Town, args: &[&str]) -> Run {
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.env_remove("BD_DOLT").env("PATH", "/usr/bin:/bin").args(args);
    let out = cmd.output().expect("spawn bd");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Where `scripts/ensure-dolt` puts the pinned build in this sandbox.
fn pinned_cache(town: &Town) -> PathBuf {
    town.sandbox().path().join("cache/bd/dolt").join(bd_shared::dolt::PINNED_VERSION.to_string()).join("dolt")
}

#[test]
fn an_installed_bd_finds_the_pinned_dolt_in_the_cache_with_nothing_set() {
    let town = Town::uninit("fresh");
    let err = bd_unset(&town, &["init"]).code(1);
    for place in ["$BD_DOLT (unset)", "dolt.path (unset)", "PATH (no dolt on it)", "the pinned build's cache"] {
        assert!(err.stderr.contains(place), "the error must name {place}:\n{}", err.stderr);
    }
    assert!(err.stderr.contains(&pinned_cache(&town).display().to_string()), "{}", err.stderr);
    assert!(err.stderr.lines().any(|l| l.starts_with("hint: run `") && l.contains("ensure-dolt`")), "{}", err.stderr);
    assert!(!town.dir().join(".beads").exists(), "a failed init leaves nothing");

    let cache = pinned_cache(&town);
    std::fs::create_dir_all(cache.parent().expect("parent")).expect("cache dir");
    std::fs::copy(town.sandbox().dolt(), &cache).expect("the pinned build in the cache");
    bd_unset(&town, &["init"]).success();
    bd_unset(&town, &["create", "works"]).success();
    let origin = bd_unset(&town, &["config", "get", "dolt.path", "--show-origin"]).success();
    assert_eq!(origin.stdout.trim(), format!("the pinned build's cache (scripts/ensure-dolt)\t{}", cache.display()));
}

#[test]
fn config_get_dolt_path_shows_the_dolt_in_use_and_where_it_came_from() {
    let town = Town::new();
    let out = town.bd(["config", "get", "dolt.path", "--show-origin"]).success();
    assert_eq!(out.stdout.trim(), format!("env:BD_DOLT\t{}", town.sandbox().dolt().display()));
    let json = town.bd(["--json", "config", "get", "dolt.path"]).success().json();
    assert_eq!(json["value"], town.sandbox().dolt().display().to_string(), "{json}");
}

#[test]
fn add_peer_of_a_file_peer_not_there_yet_creates_nothing_and_the_first_push_does() {
    let town = Town::federated("north");
    town.create("to share");
    let mount = town.sandbox().path().join("mnt");
    let later = mount.join("not-mounted-yet/beads");
    town.bd(["federation", "add-peer", "later", &format!("file://{}", later.display())]).success();
    assert!(!mount.exists(), "add-peer must not touch the endpoint");
    assert!(town.remotes().iter().any(|r| r.starts_with("later ")), "{:?}", town.remotes());
    town.bd(["federation", "push", "later"]).success();
    assert!(later.is_dir(), "the first push creates the directory");

    // Below a regular file no directory can be made: add-peer still
    // succeeds, and the push names the peer and the path.
    let blocker = town.sandbox().path().join("a-file");
    std::fs::write(&blocker, "").expect("file");
    let never = blocker.join("beads");
    town.bd(["federation", "add-peer", "never", &format!("file://{}", never.display())]).success();
    town.bd(["federation", "push", "never"])
        .code(1)
        .stderr_has("peer 'never'")
        .stderr_has(&never.display().to_string());
}

/// Each line of stderr that is an error or hint has bd's one style.
#[track_caller]
fn assert_bd_style(what: &str, run: &Run) {
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{what}: stderr must start with `error: `:\n{}", run.stderr);
    for line in run.stderr.lines() {
        assert!(!line.starts_with("Error") && !line.trim_start().starts_with("tip:"), "{what}: {line}");
        if line.trim_start().starts_with("hint") {
            assert!(line.starts_with("hint: "), "{what}: a hint starts its line as `hint: `: {line}");
        }
    }
}

#[test]
fn every_error_starts_with_error_and_its_hint_with_hint() {
    let town = Town::uninit("errors");
    let cases: Vec<(&str, Run)> = vec![
        ("unknown command", town.bd(["frobnicate"]).code(127)),
        ("unknown global option", town.bd(["--nope", "list"]).code(2)),
        ("bad global value", town.bd(["--color", "sometimes", "list"]).code(2)),
        ("a close flag", town.bd(["list", "--stat"]).code(2)),
        ("a bad status", town.bd(["list", "--status", "Not A Word"]).code(2)),
        ("no workspace", town.bd(["list"]).code(1)),
        ("no shell", town.bd(["completions"]).code(2)),
        ("no dolt", bd_unset(&town, &["init"]).code(1)),
        ("bad BD_COLOR", town.bd_env(&[("BD_COLOR", "purple")], ["list"]).code(2)),
    ];
    for (what, run) in &cases {
        assert_bd_style(what, run);
    }
    let close = &cases[3].1;
    assert!(close.stderr.contains("hint: a similar argument exists: '--status'"), "{}", close.stderr);
}

#[test]
fn the_built_in_commands_have_help() {
    let town = Town::uninit("help");
    for (args, usage) in [
        (&["help", "plugins"][..], "usage: bd plugins"),
        (&["plugins", "--help"][..], "usage: bd plugins"),
        (&["completions", "--help"][..], "usage: bd completions bash|zsh|fish"),
        (&["help", "completions"][..], "usage: bd completions"),
        (&["help", "help"][..], "usage: bd help"),
    ] {
        let out = town.bd(args).success();
        assert!(out.stdout.starts_with(usage), "{args:?}:\n{}", out.stdout);
    }
    let completions = town.bd(["completions", "--help"]).success().stdout;
    for shell in ["bash:", "zsh:", "fish:"] {
        assert!(completions.contains(shell), "how to enable {shell}\n{completions}");
    }
}

#[test]
fn completion_offers_the_values_of_strategy_color_status_and_type() {
    let town = Town::uninit("complete");
    let complete = |words: &[&str]| -> Vec<String> {
        let mut args = vec!["__complete"];
        args.extend_from_slice(words);
        town.bd(&args).success().stdout.lines().map(str::to_owned).collect()
    };
    assert_eq!(complete(&["federation", "sync", "--strategy", ""]), ["manual", "newest", "ours", "theirs"]);
    assert_eq!(complete(&["federation", "join", "x", "--strategy", "n"]), ["newest"]);
    assert_eq!(complete(&["--color", ""]), ["always", "auto", "never"]);
    assert_eq!(complete(&["list", "--color", "n"]), ["never"]);
    assert!(complete(&["list", "--status", ""]).contains(&"in_progress".to_owned()));
    assert!(complete(&["create", "--type", ""]).contains(&"bug".to_owned()));
    assert!(complete(&["-"]).contains(&"--beads-dir".to_owned()));
}

#[test]
fn unknown_and_repeated_config_keys_are_warnings_with_file_and_line_that_doctor_reports() {
    let town = Town::new();
    let project = town.dir().join(".beads/config.yaml");
    let mut text = std::fs::read_to_string(&project).expect("config");
    let typo_line = text.lines().count() + 4;
    text.push_str("sync:\n  mode: git-portable\nsync:\n  modee: dolt-native\n");
    std::fs::write(&project, &text).expect("write config");
    let local = town.dir().join(".beads/config.local.yaml");
    std::fs::write(&local, "sync: dolt-native\n").expect("write local");

    let out = town.bd(["list"]).success();
    let at = format!("{}:{typo_line}: 'sync.modee' is not a key bd knows", project.display());
    assert!(out.stderr.contains(&format!("warning: {at}")), "{}", out.stderr);
    assert!(out.stderr.contains("did you mean sync.mode?"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("{}:1: 'sync' is not a key bd knows", local.display())), "{}", out.stderr);
    let second = format!("{}:{}: 'sync' is written a second time", project.display(), typo_line - 1);
    assert!(out.stderr.contains(&second), "{}", out.stderr);

    let doctor = town.bd(["--json", "doctor"]);
    assert!(!doctor.stderr.contains("is not a key bd knows"), "doctor reports the warnings, once: {}", doctor.stderr);
    let report = doctor.json();
    let checks = report["checks"].as_array().expect("checks");
    let config: Vec<&serde_json::Value> = checks.iter().filter(|c| c["name"] == "config").collect();
    assert!(config.iter().all(|c| c["message"] != "configuration is valid"), "{report}");
    let reported =
        config.iter().any(|c| c["level"] == "warn" && c["message"].as_str().is_some_and(|m| m.contains(&at)));
    assert!(reported, "{report}");
}

#[test]
fn bad_bd_values_are_errors_listing_the_valid_ones() {
    let town = Town::new();
    for (var, value, valid) in [
        ("BD_SYNC_MODE", "bogus", "git-portable, realtime, dolt-native, belt-and-suspenders"),
        ("BD_FEDERATION_STRATEGY", "mine", "ours, theirs, manual, newest"),
        ("BD_FEDERATION_TIMEOUT", "0s", "a duration from 1ms to 24h"),
        ("BD_COLOR", "purple", "auto, always, never"),
        ("BD_JSON", "maybe", "1, true, yes, on"),
    ] {
        let out = town.bd_env(&[(var, value)], ["list"]);
        assert_ne!(out.code, 0, "{var}={value} must be refused");
        assert!(out.stderr.contains(var) && out.stderr.contains(valid), "{var}={value}:\n{}", out.stderr);
        assert!(out.stderr.contains(&format!("'{value}'")), "{}", out.stderr);
    }
}

#[test]
fn a_zero_timeout_is_refused() {
    let town = Town::federated("north");
    for args in [&["federation", "push", "x", "--timeout", "0s"][..], &["sync", "--timeout", "0s"][..]] {
        town.bd(args).code(2).stderr_has("invalid value '0s' for '--timeout").stderr_has("from 1ms to 24h");
    }
}

#[test]
fn config_set_checks_an_endpoint_the_way_add_peer_does() {
    let town = Town::federated("north");
    let before = town.config_text();
    town.bd(["config", "set", "federation.remote", "ftp://host/db"])
        .code(2)
        .stderr_has("Invalid endpoint format 'ftp://host/db'")
        .stderr_has("hint: the scheme must be one of");
    town.bd(["federation", "add-peer", "p", "ftp://host/db"]).code(2).stderr_has("Invalid endpoint format");
    town.bd(["config", "set", "federation.peers.9lives.endpoint", "file:///x"])
        .code(2)
        .stderr_has("invalid peer name '9lives'");
    town.bd(["config", "set", "federation.peers.p.endpoint", "not an endpoint"]).code(2);
    assert_eq!(town.config_text(), before, "nothing was written");
    town.bd(["config", "set", "federation.peers.p.endpoint", "file:///tmp/bd-newcomer-p"]).success();
}

/// Runs `bd --json doctor`, returning its checks.
fn doctor(run: &Run) -> Vec<serde_json::Value> {
    run.json()["checks"].as_array().expect("checks").clone()
}

#[test]
fn doctor_without_dolt_says_so_and_its_fix_for_a_stray_remote_works() {
    let town = Town::uninit("nodolt");
    let checks = doctor(&bd_unset(&town, &["--json", "doctor"]));
    let dolt = checks.iter().find(|c| c["name"] == "dolt").expect("a dolt check");
    assert_eq!(dolt["level"], "fail");
    assert!(dolt["fix"].as_str().is_some_and(|f| f.contains("ensure-dolt")), "{dolt}");
    let town_check = checks.iter().find(|c| c["name"] == "town").expect("a town check");
    assert!(town_check["fix"].as_str().is_some_and(|f| f.starts_with("get dolt first")), "{town_check}");

    let town = Town::federated("north");
    let stray = town.sandbox().path().join("stray");
    town.dolt(["remote", "add", "stray", &format!("file://{}", stray.display())]).success();
    let checks = doctor(&town.bd(["--json", "doctor"]));
    let found = checks
        .iter()
        .find(|c| c["message"].as_str().is_some_and(|m| m.contains("'stray' is not a configured peer")))
        .expect("the stray remote is reported");
    let fix = found["fix"].as_str().expect("fix");
    let command = fix.split('`').nth(1).expect("a command in backquotes");
    let words: Vec<&str> = command.split(' ').collect();
    assert_eq!(&words[..3], ["bd", "federation", "add-peer"], "{fix}");
    town.bd(&words[1..]).success();
    let checks = doctor(&town.bd(["--json", "doctor"]));
    let mut peer_checks = checks.iter().filter(|c| c["name"] == "peer");
    assert!(peer_checks.all(|c| !c["message"].as_str().unwrap_or_default().contains("'stray'")), "{checks:?}");
}

/// Whether process `pid` still runs (a zombie waiting for its reaper does not).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

#[test]
fn a_plugin_outliving_the_handshake_is_killed_with_its_children() {
    let town = Town::uninit("plugins");
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(&dir).expect("plugin dir");
    let pids = town.sandbox().path().join("pids");
    let script = dir.join("bd-slowpoke");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nsleep 60 &\necho $! > {0}\necho $$ >> {0}\nsleep 60\n", pids.display()),
    )
    .expect("plugin");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let started = Instant::now();
    let out = town.run_with_path(&crate::support::path_with(&[&dir]), &bin_dir().join("bd"), &["plugins"]).success();
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(out.stdout.contains("slowpoke"), "{}", out.stdout);
    let text = std::fs::read_to_string(&pids).expect("the plugin ran");
    let deadline = Instant::now() + Duration::from_secs(3);
    while text.lines().any(running) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in text.lines() {
        assert!(!running(pid), "process {pid} (the plugin or its child) outlived the listing");
    }
}

#[test]
fn the_readme_says_how_to_install_and_scripts_install_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    for needed in ["## Install", "scripts/install", "--uninstall", "bash", "zsh", "fish", "cargo install --path ."] {
        assert!(readme.contains(needed), "the README's install section lacks {needed:?}");
    }
    let script = std::fs::read_to_string(root.join("scripts/install")).expect("scripts/install");
    for step in ["cargo install --path .", "share/man/man1", "bash-completion", "site-functions", "ensure-dolt"] {
        assert!(script.contains(step), "scripts/install lacks {step:?}");
    }
}
