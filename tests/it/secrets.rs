//! Secret hygiene: every command that touches a peer password runs against
//! a real password-protected hub while a sampler reads the argv of every
//! process on the machine; then the output, every file and every dolt table
//! are searched for the password. The credential files must be private, and
//! an exposed or damaged one stops the next command with the fix.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::sampler::{Sampler, Seen, contains};
use crate::support::{Hub, Mailbox, Run, Town, bin_dir, dolt};

/// The hub's password: long and unlike anything else, so a match is a leak.
const PASSWORD: &str = "Vq8kZt3-xRw92L-pHm7dN4-cJ6yTb";
/// A wrong password given to one peer; it must not leak either.
const WRONG: &str = "Gf4sW1-nE8uQa-wrong-K3zD7o";
/// Planted on a short-lived dolt's argv to prove the sampler sees one.
const PLANTED: &str = "Pl4nt3d-Mx9Yq2-on-argv-Ub5Ke";

/// Runs `bd ARGS…` in `town` with `stdin` and `env` while the sampler
/// watches for `secrets`.
fn watched(
    town: &Town,
    secrets: &'static [&'static str],
    stdin: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> (Run, Seen) {
    let sampler = Sampler::start(secrets, &town.dolt_dir(), PASSWORD);
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn bd");
    // A command that never reads stdin may be gone before it is written.
    if let Err(err) = child.stdin.take().expect("stdin").write_all(stdin.as_bytes()) {
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {err}");
    }
    let out = child.wait_with_output().expect("wait for bd");
    let seen = sampler.finish();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, seen)
}

/// One command of the tour: what it is, what it must exit with, and the
/// start of the credentialed dolt command line it must run (network
/// commands only), so the sampler provably watched the moment that counts.
struct Step<'a> {
    args: Vec<&'a str>,
    stdin: &'a str,
    env: Vec<(&'a str, &'a str)>,
    code: i32,
    dolt: Option<&'a str>,
}

fn step<'a>(args: &[&'a str], code: i32, dolt: Option<&'a str>) -> Step<'a> {
    Step { args: args.to_vec(), stdin: "", env: Vec::new(), code, dolt }
}

/// The same command plain, with `--json` and with `-v`.
fn variants<'a>(args: &[&'a str], code: i32, dolt: Option<&'a str>) -> Vec<Step<'a>> {
    [&[][..], &["--json"], &["-v"]].into_iter().map(|globals| step(&[globals, args].concat(), code, dolt)).collect()
}

fn run_step(town: &Town, step: &Step<'_>) {
    let (run, seen) = watched(town, &[PASSWORD, WRONG], step.stdin, &step.env, &step.args);
    let what = step.args.join(" ");
    // Leaks first: a leaking command may also fail.
    assert!(seen.leaks.is_empty(), "`bd {what}` put a password on argv: {:?}", seen.leaks);
    for secret in [PASSWORD, WRONG] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "`bd {what}` printed a password");
    }
    assert_eq!(run.code, step.code, "`bd {what}`\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    if let Some(dolt) = step.dolt {
        seen.assert_watched(&format!("`bd {what}`"), dolt);
    }
}

/// Every file under `root` (symlinks not followed) whose bytes hold a secret,
/// and how many files were read.
fn files_holding(root: &Path, secrets: &[&str]) -> (Vec<PathBuf>, usize) {
    let mut found = Vec::new();
    let mut read = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                // The hub's server may swap a file out while it is read.
                let Ok(bytes) = std::fs::read(entry.path()) else { continue };
                read += 1;
                if secrets.iter().any(|s| contains(&bytes, s)) {
                    found.push(entry.path());
                }
            }
        }
    }
    (found, read)
}

/// Every row of every table of a town's repository as CSV: its own tables
/// and history, dolt's system tables (remotes, branches, log, …), the grant
/// tables, and every other branch and remote-tracking branch as of its head.
fn every_table(town: &Town) -> String {
    let csv = |query: &str| town.dolt(["sql", "-r", "csv", "-q", query]).success().stdout;
    // Through a running server the output starts with a blank line and may
    // repeat the header.
    let column = |query: &str, header: &str| -> Vec<String> {
        csv(query).lines().filter(|l| !l.is_empty() && !l.starts_with(header)).map(str::to_owned).collect()
    };
    let tables = column("SET @@dolt_show_system_tables = 1; SHOW TABLES;", "Tables_in_");
    let refs: Vec<String> =
        column("SELECT name FROM dolt_branches UNION ALL SELECT name FROM dolt_remote_branches", "name")
            .into_iter()
            .filter(|r| r != "main")
            .collect();
    let mut query = String::from("SELECT * FROM mysql.user; SELECT * FROM mysql.db;");
    for table in &tables {
        // dolt_commit_diff_* need a commit filter (dolt_diff_* and
        // dolt_history_* hold the same rows); branch activity is a server option.
        if table.starts_with("dolt_commit_diff_") || table == "dolt_branch_activity" {
            continue;
        }
        let _ = write!(query, " SELECT * FROM `{table}`;");
        if !table.starts_with("dolt_") {
            for r in &refs {
                let _ = write!(query, " SELECT * FROM `{table}` AS OF '{r}';");
            }
        }
    }
    assert!(tables.iter().any(|t| t == "dolt_remotes") && tables.iter().any(|t| t == "issues"), "{tables:?}");
    csv(&query)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

#[test]
fn no_password_on_argv_in_output_files_or_tables() {
    let hub = Hub::serve(PASSWORD);
    let town = Town::federated("town-a");
    town.create("shared over http");
    let endpoint = hub.endpoint();

    // The sampler must catch a secret on the argv of a dolt that lives
    // shorter than any network call.
    let sampler = Sampler::start(&[PLANTED], &town.dolt_dir(), PASSWORD);
    town.dolt(["sql", "-r", "csv", "-q", &format!("SELECT '{PLANTED}' AS planted")]).success();
    let seen = sampler.finish();
    assert!(seen.leaks.iter().any(|l| l.starts_with(&dolt().display().to_string())), "{:?}", seen.leaks);

    let password_line = format!("{PASSWORD}\n");
    let wrong_line = format!("{WRONG}\n");
    let add = |name: &'static str| ["federation", "add-peer", name, endpoint.as_str(), "--user", "fed"];
    let mut tour = vec![
        Step { stdin: &password_line, ..step(&[&add("hub")[..], &["--password-stdin"]].concat(), 0, None) },
        Step { env: vec![("BD_PEER_PASSWORD", PASSWORD)], ..step(&[&["--json"], &add("hub2")[..]].concat(), 0, None) },
        Step { stdin: &wrong_line, ..step(&[&["-v"], &add("bad")[..], &["--password-stdin"]].concat(), 0, None) },
    ];
    tour.extend(variants(&["federation", "list-peers"], 0, None));
    tour.extend(variants(&["config", "list"], 0, None));
    // A push runs whole in one dolt script read from stdin.
    tour.extend(variants(&["federation", "push", "hub"], 0, Some("sql -r json")));
    tour.extend(variants(&["federation", "fetch", "hub"], 0, Some("sql -r json")));
    tour.extend(variants(&["federation", "pull", "hub2"], 0, Some("sql -r json")));
    tour.extend(variants(&["federation", "sync", "hub"], 0, Some("sql -r json")));
    tour.extend(variants(&["federation", "status"], 3, Some("sql -r json")));
    tour.extend(variants(&["federation", "push", "--all"], 3, Some("sql -r json")));
    tour.extend(variants(&["federation", "push", "bad"], 1, None));
    tour.extend(variants(&["federation", "log"], 0, None));
    tour.extend(variants(&["doctor"], 0, None));
    // Verbosity also comes from the environment the front door sets.
    tour.push(Step {
        env: vec![("BD_VERBOSE", "1")],
        ..step(&["federation", "fetch", "hub2"], 0, Some("sql -r json"))
    });
    for s in &tour {
        run_step(&town, s);
    }
    // What goes out through a filtered lineage is pushed by `dolt push --user`.
    for s in variants(&["federation", "sync", "hub"], 0, Some("push --user fed hub bd-outgoing-hub:main")) {
        town.create("sent through the outgoing lineage");
        run_step(&town, &Step { env: vec![("BD_FEDERATION_EXCLUDE_TYPES", "chore")], ..s });
    }

    // dolt-native `bd sync` talks to federation.remote as `origin`, a name
    // add-peer reserves, so no password can be stored for it: the hub refuses.
    town.bd(["config", "set", "federation.remote", &endpoint]).success();
    for s in variants(&["sync"], 1, None) {
        run_step(&town, &s);
    }
    town.bd(["sync"]).code(1).stderr_has("peer 'origin'").stderr_has("refused the credentials");

    run_step(&town, &step(&["federation", "remove-peer", "bad"], 0, None));
    run_step(&town, &step(&["--json", "federation", "remove-peer", "hub2"], 0, None));

    let beads = town.dir().join(".beads");
    for file in ["credentials", "credentials.key"] {
        assert_eq!(mode(&beads.join(file)), 0o600, "{file}");
    }
    for root in [town.sandbox().path(), hub.town().sandbox().path()] {
        let (found, read) = files_holding(root, &[PASSWORD, WRONG]);
        assert!(found.is_empty(), "a password in clear in {found:?}");
        assert!(read > 20, "only {read} files under {}", root.display());
    }
    // An issue's title and the hub's URL (dolt_remotes) show that the data and
    // the system tables were read.
    let town_tables = every_table(&town);
    assert!(town_tables.contains("shared over http") && town_tables.contains(&endpoint), "{town_tables}");
    let hub_tables = every_table(hub.town());
    assert!(hub_tables.contains("shared over http"), "{hub_tables}");
    for (who, dump) in [("town", town_tables), ("hub", hub_tables)] {
        assert!(!dump.contains(PASSWORD) && !dump.contains(WRONG), "a password in the {who}'s tables");
    }
}

/// Everything a refused command must leave as it was: every file of the
/// town's `.beads/` (config, credentials, the dolt repository with its
/// remotes and commits) and what the peer received.
fn snapshot(town: &Town, mailbox: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![town.dir().join(".beads"), mailbox.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            if entry.file_type().expect("file type").is_dir() {
                stack.push(entry.path());
            } else if entry.file_name() != "bd.lock" {
                // (The write lock notes who took it last; that is no change.)
                files.push((entry.path(), std::fs::read(entry.path()).expect("read")));
            }
        }
    }
    files.sort();
    files
}

/// The paths whose content differs between two snapshots.
fn changed(before: &[(PathBuf, Vec<u8>)], after: &[(PathBuf, Vec<u8>)]) -> BTreeSet<PathBuf> {
    let set = |s: &[(PathBuf, Vec<u8>)]| s.iter().cloned().collect::<BTreeSet<_>>();
    set(before).symmetric_difference(&set(after)).map(|(p, _)| p.clone()).collect()
}

#[test]
fn exposed_or_damaged_credentials_stop_the_next_command_with_the_fix() {
    let town = Town::federated("town-a");
    let mailbox = Mailbox::new();
    let mailbox_dir = PathBuf::from(mailbox.endpoint().trim_start_matches("file://"));
    let add = ["federation", "add-peer", "box", &mailbox.endpoint(), "--user", "fed", "--password-stdin"];
    town.bd_stdin("box-password-5Jq\n", add).success();
    town.create("not sent while the credentials are unusable");
    let beads = town.dir().join(".beads");
    let (store, key) = (beads.join("credentials"), beads.join("credentials.key"));
    assert_eq!((mode(&store), mode(&key)), (0o600, 0o600));
    let other = ["federation", "add-peer", "other", &mailbox.endpoint(), "--user", "fed", "--password-stdin"];
    let commands: [&[&str]; 7] = [
        &["federation", "push", "box"],
        &["--json", "federation", "fetch", "box"],
        &["federation", "pull", "box"],
        &["federation", "sync", "box"],
        &["federation", "status"],
        &["federation", "remove-peer", "box"],
        &other,
    ];

    for (file, exposed) in [(&store, 0o644), (&key, 0o640), (&key, 0o606)] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(exposed)).expect("chmod");
        let before = snapshot(&town, &mailbox_dir);
        for args in commands {
            let run = if args.contains(&"--password-stdin") {
                town.bd_stdin("another-password\n", args)
            } else {
                town.bd(args)
            };
            run.code(1)
                .stderr_has(&format!("refusing to use {}: its mode is {exposed:04o}", file.display()))
                .stderr_has("readable and writable by its owner only (mode 0600)")
                .stderr_has(&format!("hint: run `chmod 600 {}`", file.display()));
            let changed = changed(&before, &snapshot(&town, &mailbox_dir));
            assert!(changed.is_empty(), "`bd {}` changed {changed:?}", args.join(" "));
        }
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    let good = std::fs::read_to_string(&store).expect("store");
    let sealed: serde_json::Value = serde_json::from_str(&good).expect("store is JSON");
    let ciphertext = sealed["peers"]["box"]["ciphertext"].as_str().expect("ciphertext");
    let good_key = std::fs::read_to_string(&key).expect("key");
    let damages = [
        (&store, "{\"version\": 1, \"peers\": {".to_owned(), "is damaged", "delete both"),
        (&store, good.replace(ciphertext, &ciphertext[..ciphertext.len() - 6]), "are damaged", "remove-peer box"),
        (&key, good_key[..20].to_owned(), "is damaged: it must hold 64 hex digits", "delete both"),
        (&key, "ab".repeat(32), "does not decrypt with the key", "remove-peer box"),
    ];
    for (file, text, what, fix) in damages {
        std::fs::write(file, text).expect("damage");
        let before = snapshot(&town, &mailbox_dir);
        town.bd(["federation", "push", "box"])
            .code(1)
            .stderr_has(&file.display().to_string())
            .stderr_has(what)
            .stderr_has(fix);
        let changed = changed(&before, &snapshot(&town, &mailbox_dir));
        assert!(changed.is_empty(), "a refused push changed {changed:?}");
        std::fs::write(&store, &good).expect("restore");
        std::fs::write(&key, &good_key).expect("restore");
    }

    // The fix the hint gives for a store beyond repair works.
    std::fs::write(&store, "{").expect("damage");
    town.bd(["federation", "pull", "box"]).code(1).stderr_has("delete both");
    std::fs::remove_file(&store).expect("delete the store");
    std::fs::remove_file(&key).expect("delete the key");
    town.bd(["federation", "remove-peer", "box"]).success();
    town.bd_stdin("box-password-5Jq\n", add).success();
    town.bd(["federation", "push", "box"]).success().stdout_has("pushed");
    assert_eq!((mode(&store), mode(&key)), (0o600, 0o600));
}
