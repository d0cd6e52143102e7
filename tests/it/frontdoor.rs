//! The front door: git-style dispatch, environment, exit codes, help.

use std::path::Path;

use crate::support::{Town, bin_dir, path_with};

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write plugin");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// Runs `bd ARGS` with `plugins` first on PATH.
#[must_use]
fn bd_with_plugins(town: &Town, plugins: &Path, args: &[&str]) -> crate::support::Run {
    town.run_with_path(&path_with(&[plugins]), &bin_dir().join("bd"), args)
}

#[test]
fn third_party_plugin_receives_its_arguments_and_globals() {
    let town = Town::uninit("plugins");
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(&dir).expect("plugin dir");
    script(&dir, "bd-hello", r#"echo "args=$* json=${BD_JSON:-0} api=$BD_PLUGIN_API bin=${BD_BIN##*/}""#);
    let out = bd_with_plugins(&town, &dir, &["--json", "hello", "a", "b"]).success();
    assert_eq!(out.stdout.trim(), "args=a b json=1 api=1 bin=bd");
}

#[test]
fn longest_name_wins() {
    let town = Town::uninit("plugins");
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(&dir).expect("plugin dir");
    script(&dir, "bd-hello", r#"echo "short $*""#);
    script(&dir, "bd-hello-world", r#"echo "long $*""#);
    assert_eq!(bd_with_plugins(&town, &dir, &["hello-world", "x"]).success().stdout.trim(), "long x");
    assert_eq!(bd_with_plugins(&town, &dir, &["hello", "world", "x"]).success().stdout.trim(), "long x");
    assert_eq!(bd_with_plugins(&town, &dir, &["hello", "there"]).success().stdout.trim(), "short there");
}

#[test]
fn exit_codes_pass_through() {
    let town = Town::uninit("plugins");
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(&dir).expect("plugin dir");
    script(&dir, "bd-fail", "exit 7");
    bd_with_plugins(&town, &dir, &["fail"]).code(7);
}

#[test]
fn bd_exec_path_comes_before_bundled_commands() {
    let town = Town::uninit("plugins");
    let dir = town.sandbox().path().join("override");
    std::fs::create_dir_all(&dir).expect("dir");
    script(&dir, "bd-list", "echo overridden");
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.env("BD_EXEC_PATH", &dir).arg("list");
    let out = cmd.output().expect("spawn");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "overridden");
}

#[test]
fn unknown_command_is_127_with_a_suggestion() {
    let town = Town::uninit("plugins");
    town.bd(["frobnicate"]).code(127).stderr_has("'frobnicate' is not a bd command").stderr_has("bd help");
    town.bd(["creat", "x"]).code(127).stderr_has("'bd create'");
}

#[test]
fn bad_global_option_is_a_usage_error() {
    let town = Town::uninit("plugins");
    town.bd(["--color", "purple", "list"]).code(2).stderr_has("expected one of auto, always, never");
    town.bd(["--nope", "list"]).code(2).stderr_has("unknown option '--nope'");
}

#[test]
fn help_lists_bundled_commands_with_summaries() {
    let town = Town::uninit("plugins");
    let out = town.bd(["help"]).success();
    assert!(out.stdout.contains("Core commands:"), "{}", out.stdout);
    for line in ["create", "list", "init"] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start().starts_with(line) && l.len() > 30),
            "{line} missing:\n{}",
            out.stdout
        );
    }
    let json = town.bd(["--json", "help"]).success().json();
    let create =
        json["commands"].as_array().expect("commands").iter().find(|c| c["command"] == "create").expect("create");
    assert_eq!(create["summary"], "Create an issue");
    assert_eq!(create["group"], "core");
    town.bd(["help", "create"]).success().stdout_has("--priority");
}

#[test]
fn bundled_commands_answer_the_handshake() {
    let town = Town::uninit("plugins");
    let out = town.run(bin_dir().join("bd-create"), town.dir(), ["--bd-plugin-info"]).success();
    let info: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
    assert_eq!(info["name"], "create");
    assert_eq!(info["api"], 1);
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(out.stdout.lines().count(), 1);
}

#[test]
fn json_errors_are_json_on_stdout() {
    let town = Town::new();
    let out = town.bd(["--json", "show", "towna-missing"]).code(1);
    let err = out.json();
    assert!(err["error"].as_str().expect("error").contains("no issue"), "{err}");
    assert_eq!(err["exit_code"], 1);
}
