//! Writes respect the file they replace: a symbolic link the user keeps is
//! written through and stays a link, the file's mode stays, anything that
//! is not a regular file is refused, and `-o -` means stdout.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use crate::support::Town;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

#[test]
fn config_set_writes_through_a_linked_user_file_and_keeps_the_link() {
    let town = Town::new();
    let dotfiles = town.sandbox().path().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).expect("dotfiles");
    let target = dotfiles.join("bd.yaml");
    std::fs::write(&target, "# managed by my dotfiles\nfederation:\n  timeout: 30s\n").expect("target");
    let user_dir = town.sandbox().path().join("config/bd");
    std::fs::create_dir_all(&user_dir).expect("user dir");
    let link = user_dir.join("config.yaml");
    std::os::unix::fs::symlink("../../dotfiles/bd.yaml", &link).expect("symlink");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    town.bd(["config", "set", "--user", "federation.timeout", "90s"]).success();
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink(), "the link is still a link");
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "# managed by my dotfiles\nfederation:\n  timeout: 90s\n",
        "the file the link points to has the new value"
    );
    assert_eq!(mode(&target), 0o640, "and keeps its mode");
    town.bd(["config", "get", "federation.timeout"]).success().stdout_has("90s");
    let leftovers: Vec<_> = std::fs::read_dir(&dotfiles).expect("dir").flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left beside the target: {leftovers:?}");
}

#[test]
fn a_link_inside_beads_is_not_followed() {
    let town = Town::new();
    let outside = town.sandbox().path().join("elsewhere.yaml");
    std::fs::write(&outside, "a: 1\n").expect("outside");
    let project = town.dir().join(".beads/config.yaml");
    std::fs::remove_file(&project).expect("rm");
    std::os::unix::fs::symlink(&outside, &project).expect("symlink");
    town.bd(["config", "set", "sync.mode", "dolt-native"])
        .code(1)
        .stderr_has("config.yaml")
        .stderr_has("is a symbolic link");
    assert_eq!(std::fs::read_to_string(&outside).expect("outside"), "a: 1\n", "the link's target is untouched");
    assert!(std::fs::symlink_metadata(&project).expect("link").file_type().is_symlink());
}

#[test]
fn export_keeps_a_private_file_private() {
    let town = Town::new();
    let id = town.create("Exported");
    let file = town.sandbox().path().join("private.jsonl");
    std::fs::write(&file, "").expect("file");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    town.bd(["export", "-o", file.to_str().expect("utf8")]).success();
    assert_eq!(mode(&file), 0o600, "the file stays 0600");
    assert!(std::fs::read_to_string(&file).expect("read").contains(&id));
}

#[test]
fn export_refuses_what_is_not_a_regular_file() {
    let town = Town::new();
    town.create("Exported");
    let fifo = town.sandbox().path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let targets = [fifo.to_str().expect("utf8").to_owned(), "/dev/null".to_owned()];
    for target in &targets {
        town.bd(["export", "-o", target]).code(1).stderr_has(target).stderr_has("not a regular file");
    }
    assert!(std::fs::symlink_metadata(&fifo).expect("fifo").file_type().is_fifo(), "the fifo is still a fifo");
    assert!(std::fs::metadata("/dev/null").expect("null").file_type().is_char_device());
}

#[test]
fn export_to_dash_prints_jsonl_on_stdout() {
    let town = Town::new();
    let a = town.create("One");
    let b = town.create("Two");
    for args in [&["export", "-o", "-"][..], &["--json", "export", "-o", "-"]] {
        let out = town.bd(args).success();
        let ids: Vec<String> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line")["id"].to_string())
            .collect();
        let mut expected = vec![format!("\"{a}\""), format!("\"{b}\"")];
        expected.sort();
        assert_eq!(ids, expected, "stdout is exactly the JSONL: {}", out.stdout);
        assert!(!town.dir().join("-").exists(), "no file called '-'");
    }
}
