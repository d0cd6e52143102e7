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

/// A plugin that records that it ran, and what it read on stdin, in `marker`.
fn spy(dir: &Path, name: &str, marker: &Path) {
    script(dir, name, &format!("echo ran > '{0}'; cat >> '{0}'", marker.display()));
}

#[test]
fn a_path_plugin_cannot_take_over_a_bundled_commands_words() {
    let town = Town::federated("town-a");
    let mailbox = crate::support::Mailbox::new();
    let marker = town.sandbox().path().join("hijacked");
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(&dir).expect("plugin dir");
    spy(&dir, "bd-federation-add-peer-hub2", &marker);
    spy(&dir, "bd-list-all", &marker);
    // Last on PATH, after bd's own directory and the system's.
    let mut dirs: Vec<std::path::PathBuf> = std::env::split_paths(&path_with(&[])).collect();
    dirs.push(dir.clone());
    let path = std::env::join_paths(dirs).expect("PATH");
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.env("PATH", &path)
        .args(["federation", "add-peer", "hub2", &mailbox.endpoint(), "--user", "fed", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"Sup3rS3cret\n").expect("stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(!marker.exists(), "the PATH plugin ran and read: {:?}", std::fs::read_to_string(&marker));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Added peer 'hub2'"));
    // The bundled `bd-list` runs, and refuses the stray argument.
    town.run_with_path(&path, &bin_dir().join("bd"), &["list", "all"]).code(2);
    assert!(!marker.exists(), "bd list all ran the PATH plugin");

    let out = town.run_with_path(&path, &bin_dir().join("bd"), &["plugins", "--json"]).success();
    let json = out.json();
    let plugins = json["plugins"].as_array().expect("plugins");
    for (name, bundled) in [("bd-federation-add-peer-hub2", "bd-federation-add-peer"), ("bd-list-all", "bd-list")] {
        let entry = plugins
            .iter()
            .find(|p| p["path"] == dir.join(name).display().to_string())
            .unwrap_or_else(|| panic!("{name} is not listed: {json}"));
        assert_eq!(entry["status"], "unreachable", "{entry}");
        assert_eq!(entry["shadowed_by"], bin_dir().canonicalize().expect("bin").join(bundled).display().to_string());
        assert!(
            out.stderr.contains(&format!("{} never runs", dir.join(name).display())),
            "no warning for {name}:\n{}",
            out.stderr
        );
    }
    let human = town.run_with_path(&path, &bin_dir().join("bd"), &["plugins"]).success();
    assert!(!human.stdout.contains("list-all"), "an unreachable plugin is listed as active:\n{}", human.stdout);
}

#[test]
fn a_plugin_in_bd_exec_path_may_extend_a_bundled_command() {
    let town = Town::uninit("plugins");
    let dir = town.sandbox().path().join("exec");
    std::fs::create_dir_all(&dir).expect("dir");
    script(&dir, "bd-list-all", "echo mine");
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.env("BD_EXEC_PATH", &dir).args(["list", "all"]);
    let out = cmd.output().expect("spawn");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "mine");
}

#[test]
fn command_words_that_leave_the_search_path_are_refused() {
    let town = Town::uninit("plugins");
    let marker = town.sandbox().path().join("escaped");
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(dir.join("bd-x")).expect("plugin dir");
    // `bd-x/../../evilbin` from the plugin directory is this file.
    spy(town.sandbox().path(), "evilbin", &marker);
    let bd = bin_dir().join("bd");
    let path = path_with(&[&dir]);
    for word in ["x/../../evilbin", "..", "a\\b", "a\u{1b}[2Jb", ""] {
        let out = town.run_with_path(&path, &bd, &[word]).code(127);
        assert!(out.stderr.contains("is not a bd command"), "{word:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("may not be empty or contain '/', '\\', '..' or control"),
            "{word:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains('\u{1b}'), "a raw escape reached stderr");
        assert!(!marker.exists(), "{word:?} ran a file outside every search directory");
        town.run_with_path(&path, &bd, &["help", word]).code(127);
        assert!(!marker.exists(), "bd help {word:?} ran a file outside every search directory");
    }
    // Words after the command name are its arguments, whatever they hold.
    script(&dir, "bd-echo", r#"echo "$*""#);
    let out = town.run_with_path(&path, &bd, &["echo", "file:///a/b", "../c"]).success();
    assert_eq!(out.stdout.trim(), "file:///a/b ../c");
}

#[test]
fn plugins_with_a_dot_in_their_name_are_listed_like_any_other() {
    let town = Town::uninit("plugins");
    let marker = town.sandbox().path().join("ran");
    let first = town.sandbox().path().join("first");
    let second = town.sandbox().path().join("second");
    std::fs::create_dir_all(&first).expect("dir");
    std::fs::create_dir_all(&second).expect("dir");
    spy(&first, "bd-deploy.sh", &marker);
    spy(&second, "bd-deploy.sh", &marker);
    let path = path_with(&[&first, &second]);
    let bd = bin_dir().join("bd");
    town.run_with_path(&path, &bd, &["deploy.sh"]).success();
    assert!(marker.exists(), "bd deploy.sh runs bd-deploy.sh");
    let out = town.run_with_path(&path, &bd, &["plugins", "--json"]).success();
    let json = out.json();
    let listed: Vec<_> =
        json["plugins"].as_array().expect("plugins").iter().filter(|p| p["command"] == "deploy.sh").collect();
    assert_eq!(listed.len(), 2, "{json}");
    assert_eq!(listed[0]["status"], "active");
    assert_eq!(listed[0]["path"], first.join("bd-deploy.sh").display().to_string());
    assert_eq!(listed[1]["status"], "shadowed");
    assert!(
        out.stderr.contains(&format!("{} is shadowed by", second.join("bd-deploy.sh").display())),
        "{}",
        out.stderr
    );
    let help = town.run_with_path(&path, &bd, &["help"]).success();
    assert!(help.stdout.contains("deploy.sh"), "{}", help.stdout);
}
