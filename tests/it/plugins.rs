//! The plugin ecosystem: `bd plugins`, completions, example plugins.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Town, bin_dir, path_with};

fn script(dir: &Path, name: &str, body: &str, executable: bool) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write plugin");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

#[test]
fn plugins_lists_bundled_and_third_party_and_warns_about_shadows() {
    let town = Town::uninit("plugins");
    let first = town.sandbox().path().join("first");
    let second = town.sandbox().path().join("second");
    std::fs::create_dir_all(&first).expect("dir");
    std::fs::create_dir_all(&second).expect("dir");
    script(&first, "bd-hello", "echo hi", true);
    script(&second, "bd-hello", "echo other", true);
    script(&second, "bd-broken", "echo never", false);
    let path = path_with(&[&first, &second]);
    let out = town.run_with_path(&path, &bin_dir().join("bd"), &["plugins", "--json"]).success();
    let json = out.json();
    let plugins = json["plugins"].as_array().expect("plugins");
    for b in bd_shared::cmd::BUNDLED {
        let p = plugins.iter().find(|p| p["command"] == b.name && p["kind"] == "bundled").expect(b.name);
        assert_eq!(p["summary"], b.summary);
        assert_eq!(p["status"], "active");
    }
    let hellos: Vec<_> = plugins.iter().filter(|p| p["command"] == "hello").collect();
    assert_eq!(hellos.len(), 2);
    assert_eq!(hellos[0]["status"], "active");
    assert_eq!(hellos[0]["kind"], "third-party");
    assert_eq!(hellos[0]["path"], first.join("bd-hello").display().to_string());
    assert_eq!(hellos[1]["status"], "shadowed");
    assert_eq!(hellos[1]["shadowed_by"], first.join("bd-hello").display().to_string());
    let broken = plugins.iter().find(|p| p["command"] == "broken").expect("broken");
    assert_eq!(broken["status"], "not_executable");
    assert!(out.stderr.contains("is shadowed by"), "{}", out.stderr);
    assert!(out.stderr.contains("is not executable"), "{}", out.stderr);
}

#[test]
fn a_plugin_replacing_a_bundled_command_is_flagged() {
    let town = Town::uninit("plugins");
    let dir = town.sandbox().path().join("override");
    std::fs::create_dir_all(&dir).expect("dir");
    script(&dir, "bd-list", "echo mine", true);
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.env("BD_EXEC_PATH", &dir).args(["plugins"]);
    let out = cmd.output().expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("replaces the bundled command 'bd list'"), "{stderr}");
}

#[test]
fn slow_plugins_do_not_slow_the_listing() {
    let town = Town::uninit("plugins");
    let dir = town.sandbox().path().join("slow");
    std::fs::create_dir_all(&dir).expect("dir");
    for i in 0..20 {
        script(&dir, &format!("bd-slow{i}"), "sleep 5", true);
    }
    let path = path_with(&[&dir]);
    let started = Instant::now();
    let out = town.run_with_path(&path, &bin_dir().join("bd"), &["help"]).success();
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
    assert!(out.stdout.contains("slow19"), "{}", out.stdout);
}

fn bash_complete(town: &Town, path: &std::ffi::OsString, words: &[&str]) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/bd.bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=(bd {}); COMP_CWORD={}; _bd; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len()
    );
    let out = town.run_with_path(path, Path::new("bash"), &["-c", &program]).success();
    out.stdout.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn bash_completes_peers_commands_and_third_party_plugins() {
    let town = Town::federated("town-a");
    town.bd(["federation", "add-peer", "staging", "dolthub://myorg/staging-beads"]).success();
    town.bd(["federation", "add-peer", "backup", "gs://mybucket/beads-backup"]).success();
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(&dir).expect("dir");
    script(&dir, "bd-hello", "echo hi", true);
    let path = path_with(&[&dir]);
    assert_eq!(bash_complete(&town, &path, &["federation", "push", ""]), ["backup", "staging"]);
    assert_eq!(bash_complete(&town, &path, &["federation", "sync", "--peer", "s"]), ["staging"]);
    assert_eq!(bash_complete(&town, &path, &["federation", "remove-peer", ""]), ["backup", "staging"]);
    assert_eq!(bash_complete(&town, &path, &["federation", "pu"]), ["pull", "push"]);
    let top = bash_complete(&town, &path, &[""]);
    for expected in ["create", "federation", "config", "hello", "help", "plugins"] {
        assert!(top.iter().any(|c| c == expected), "{expected} missing from {top:?}");
    }
    let flags = bash_complete(&town, &path, &["federation", "push", "--d"]);
    assert_eq!(flags, ["--dry-run"]);
}

#[test]
fn completions_command_prints_each_script() {
    let town = Town::uninit("plugins");
    for shell in bd_shared::docs::Shell::ALL {
        let name = format!("{shell:?}").to_lowercase();
        let out = town.bd(["completions", &name]).success();
        assert_eq!(out.stdout, bd_shared::docs::completion_script(shell));
    }
    town.bd(["completions", "tcsh"]).code(2).stderr_has("expected one of bash, zsh, fish");
}

#[test]
fn the_shell_example_plugin_works_through_bd() {
    let town = Town::new();
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(&dir).expect("dir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/plugins/bd-greet");
    std::fs::copy(&example, dir.join("bd-greet")).expect("copy example");
    let path = path_with(&[&dir]);
    let bd = bin_dir().join("bd");
    let out = town.run_with_path(&path, &bd, &["greet", "bob"]).success();
    assert_eq!(out.stdout, "hello, bob (from town-a)\n");
    let json = town.run_with_path(&path, &bd, &["--json", "greet", "bob"]).success().json();
    assert_eq!(json["greeting"], "hello, bob");
    let help = town.run_with_path(&path, &bd, &["--json", "help"]).success().json();
    let greet = help["commands"].as_array().expect("commands").iter().find(|c| c["command"] == "greet").expect("greet");
    assert_eq!(greet["summary"], "Greet someone from this town");
    assert_eq!(greet["group"], "third-party");
    town.run_with_path(&path, &bd, &["greet", "--bogus"]).code(2);
}

#[test]
fn the_rust_example_plugin_uses_the_shared_crate() {
    let tally = bin_dir().join("examples/bd-tally");
    assert!(tally.is_file(), "{} is missing: `cargo test` builds the examples", tally.display());
    let town = Town::new();
    town.create("one");
    let id = town.create("two");
    town.bd(["close", &id]).success();
    let dir = town.sandbox().path().join("plugins");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::copy(&tally, dir.join("bd-tally")).expect("copy");
    let path = path_with(&[&dir]);
    let bd = bin_dir().join("bd");
    let json = town.run_with_path(&path, &bd, &["--json", "tally"]).success().json();
    assert_eq!(json["town"], "town-a");
    assert_eq!(json["counts"]["open"], 1);
    assert_eq!(json["counts"]["closed"], 1);
    let info = town.run_with_path(&path, &dir.join("bd-tally"), &["--bd-plugin-info"]).success().json();
    assert_eq!(info["name"], "tally");
    assert_eq!(info["api"], 1);
}
