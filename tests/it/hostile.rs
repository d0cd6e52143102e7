//! A hostile clone: a project whose committed `.beads/` carries an attack,
//! cloned by a user who then runs bd in it. Nothing outside the project may
//! change, no program of the project's may run, no secret of the project's
//! may be used, and no data may go where the user did not confirm.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{Mailbox, Town};

fn git(town: &Town, dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-c", "user.name=Mallory", "-c", "user.email=mallory@evil.example"];
    all.extend_from_slice(args);
    town.run("git", dir, all).success().stdout
}

/// A project committed with `files` under `.beads/` (name, text, executable)
/// and `links` (name, target), cloned into the victim's town directory.
fn cloned(files: &[(&str, &str, bool)], links: &[(&str, &Path)]) -> Town {
    let attacker = Town::uninit("attacker");
    let beads = attacker.dir().join(".beads");
    std::fs::create_dir_all(&beads).expect("mkdir");
    git(&attacker, attacker.dir(), &["init", "-q", "-b", "main"]);
    for (name, text, executable) in files {
        let path = beads.join(name);
        std::fs::write(&path, text).expect("write");
        if *executable {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    for (name, target) in links {
        std::os::unix::fs::symlink(target, beads.join(name)).expect("symlink");
    }
    git(&attacker, attacker.dir(), &["add", "-A", "-f", "."]);
    git(&attacker, attacker.dir(), &["commit", "-q", "-m", "Helpful project settings"]);
    let victim = Town::uninit("victim");
    let source = attacker.dir().to_str().expect("utf8").to_owned();
    git(&victim, victim.dir(), &["clone", "-q", &source, "."]);
    std::mem::forget(attacker); // the victim's clone outlives the attacker's copy
    victim
}

/// Every file under the victim's home, but bd's own data (its confirmations).
fn home_snapshot(town: &Town) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, skip: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.starts_with(skip) {
                continue;
            }
            if path.is_dir() {
                walk(&path, skip, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let home = town.sandbox().path().join("home");
    let mut out = BTreeMap::new();
    walk(&home, &home.join(".local/share/bd"), &mut out);
    walk(&town.sandbox().path().join("config"), Path::new("/nonexistent"), &mut out);
    out
}

fn victim_file(town: &Town) -> PathBuf {
    let file = town.sandbox().path().join("home/.bashrc");
    std::fs::write(&file, "# the victim's own\n").expect("bashrc");
    file
}

#[test]
fn a_committed_local_config_cannot_choose_the_program_bd_runs() {
    let marker = std::env::temp_dir().join(format!("bd-evil-dolt-ran-{}", std::process::id()));
    let script = format!("#!/bin/sh\ntouch {}\nexit 1\n", marker.display());
    let town =
        cloned(&[("config.local.yaml", "dolt:\n  path: .beads/evil-dolt\n", false), ("evil-dolt", &script, true)], &[]);
    let before = home_snapshot(&town);
    town.bd(["init"]).success();
    for args in [&["list"][..], &["create", "x"], &["doctor"], &["config", "list"]] {
        let out = town.bd(args);
        assert!(!marker.exists(), "bd {args:?} ran the project's program: {}", out.stderr);
        assert!(out.stderr.contains("is tracked by git, so it came with the project and is ignored"), "{}", out.stderr);
    }
    assert!(!town.bd(["doctor"]).stdout.contains("evil-dolt"), "doctor must not report the project's dolt");
    // Even an untracked local file may not choose it.
    town.run("git", town.dir(), ["rm", "-q", "--cached", ".beads/config.local.yaml"]).success();
    let out = town.bd(["list"]).success();
    assert!(out.stderr.contains("dolt.path from") && out.stderr.contains("is ignored"), "{}", out.stderr);
    assert!(!marker.exists());
    assert_eq!(home_snapshot(&town), before);
}

#[test]
fn a_committed_export_path_cannot_write_outside_the_project() {
    let town = cloned(&[("config.yaml", "sync:\n  mode: realtime\nexport:\n  path: ../../home/.bashrc\n", false)], &[]);
    let bashrc = victim_file(&town);
    let before = home_snapshot(&town);
    town.bd(["init"]).success();
    for args in [&["create", "x"][..], &["export"], &["sync"], &["list"]] {
        town.bd(args).code(1).stderr_has("invalid value '../../home/.bashrc' for export.path");
    }
    assert_eq!(std::fs::read_to_string(&bashrc).expect("bashrc"), "# the victim's own\n");
    assert_eq!(home_snapshot(&town), before);
    // The fix it names works.
    town.bd(["config", "unset", "export.path"]).success();
    town.bd(["create", "x"]).success();
}

#[test]
fn committed_links_under_beads_are_never_followed() {
    for name in ["bd.lock", "federation-log.jsonl", "dolt"] {
        let outside = tempfile::tempdir().expect("outside");
        let target = outside.path().join("target");
        if name == "dolt" {
            std::fs::create_dir(&target).expect("dir");
        } else {
            std::fs::write(&target, "precious\n").expect("target");
        }
        let town = cloned(&[("config.yaml", "sync:\n  mode: dolt-native\n", false)], &[(name, &target)]);
        let before = home_snapshot(&town);
        let init = town.bd(["init"]);
        for args in [&["list"][..], &["create", "x"], &["federation", "log"]] {
            let out = town.bd(args);
            assert_ne!(out.code, 0, "bd {args:?} worked through the link {name}");
            assert!(out.stderr.contains("is a symbolic link"), "{name}: {}\ninit: {}", out.stderr, init.stderr);
        }
        if name == "dolt" {
            assert_eq!(std::fs::read_dir(&target).expect("dir").count(), 0, "a database was made through the link");
        } else {
            assert_eq!(std::fs::read_to_string(&target).expect("target"), "precious\n", "{name} was written through");
        }
        assert_eq!(home_snapshot(&town), before);
    }
}

#[test]
fn a_committed_pseudonym_key_is_refused() {
    let key = "00".repeat(32);
    let town = cloned(&[("config.yaml", "sync:\n  mode: dolt-native\n", false), ("pseudonym.key", &key, false)], &[]);
    town.bd(["init"]).success();
    let peer = Mailbox::new();
    town.bd(["create", "x", "-a", "alice"]).success();
    town.bd(["config", "set", "federation.allowed-remote-patterns", "file://**"]).success();
    town.bd(["federation", "add-peer", "pseudo", &peer.endpoint(), "--sovereignty", "T3"]).success();
    town.bd(["federation", "push", "pseudo"])
        .code(1)
        .stderr_has("pseudonym.key: git tracks it, so it came with the project")
        .stderr_has("git rm --cached");
}

#[test]
fn a_committed_destination_waits_for_confirmation_on_this_machine() {
    let evil = Mailbox::new();
    let config = format!(
        "sync:\n  mode: dolt-native\nfederation:\n  remote: {e}\n  peers:\n    helper:\n      endpoint: {e}\n",
        e = evil.endpoint()
    );
    let town = cloned(&[("config.yaml", &config, false)], &[]);
    town.bd(["init"]).success();
    // init registered nothing; the dolt remote for the peer is added the usual way.
    town.dolt(["remote", "add", "helper", &evil.endpoint()]).success();
    town.create("Our secret plans");
    for args in [&["sync"][..], &["federation", "push", "helper"], &["federation", "sync", "helper"]] {
        town.bd(args)
            .code(1)
            .stderr_has("that this machine has not confirmed")
            .stderr_has("last committed by Mallory <mallory@evil.example>")
            .stderr_has("bd federation trust");
    }
    let status = town.bd(["--json", "federation", "status"]).code(1).json();
    assert_eq!(status["peers"][0]["reachable"], false, "{status}");
    assert!(!evil.endpoint().is_empty() && std::fs::read_dir(evil_dir(&evil)).expect("dir").count() == 0, "data left");
    let doctor = town.bd(["--json", "doctor"]).code(1).json();
    let trust = doctor["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "trust").cloned();
    let trust = trust.unwrap_or_else(|| panic!("doctor does not report the unconfirmed changes: {doctor}"));
    assert!(trust["message"].as_str().is_some_and(|m| m.contains("new peer 'helper'")), "{trust}");
    assert!(trust["fix"].as_str().is_some_and(|f| f.contains("bd federation trust")), "{trust}");
    // A dry run lists the changes and confirms nothing.
    let listed = town.bd(["--json", "federation", "trust", "--dry-run"]).success().json();
    assert_eq!(listed["changes"].as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(listed["confirmed"], false);
    town.bd(["federation", "push", "helper"]).code(1);
    // Once confirmed, it works; a later widening change waits again.
    town.bd(["federation", "trust"]).success().stdout_has("new peer 'helper'");
    town.bd(["federation", "push", "helper"]).success();
    // The user's own changes through bd need no confirming.
    town.bd(["config", "set", "federation.sovereignty", "T2"]).success();
    town.bd(["config", "set", "federation.allowed-remote-patterns", "file://**"]).success();
    town.create("More plans");
    town.bd(["federation", "push", "helper"]).success();
    // A tier lowered in the file by anyone else waits again.
    let text = town.config_text();
    assert!(text.contains("  sovereignty: T2\n"), "{text}");
    std::fs::write(town.dir().join(".beads/config.yaml"), text.replace("  sovereignty: T2\n", "  sovereignty: T1\n"))
        .expect("lower the tier by hand");
    town.create("Even more plans");
    town.bd(["federation", "push", "helper"]).code(1).stderr_has("federation.sovereignty lowered from 'T2' to 'T1'");
}

fn evil_dir(mailbox: &Mailbox) -> PathBuf {
    PathBuf::from(mailbox.endpoint().trim_start_matches("file://"))
}
