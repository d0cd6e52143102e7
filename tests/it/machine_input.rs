//! What the user's own machine hands bd is input too: environment variables
//! that are not UTF-8, huge durations, sizes and secrets. None of it may
//! panic, leak a secret into a message or a core file, or be stored so that
//! it fails later.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::process::{Command, Output};

use crate::support::{Town, bin_dir};

/// A value that is not UTF-8 and holds a recognisable secret.
const SECRET: &str = "Sup3rS3cret";

fn not_utf8(text: &str) -> std::ffi::OsString {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0xff);
    OsStr::from_bytes(&bytes).to_owned()
}

/// `bd ARGS` in the town with `var` set to `value`.
fn bd_with(town: &Town, var: &str, value: &OsStr, args: &[&OsStr]) -> Output {
    let mut cmd: Command = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.env(var, value).args(args);
    cmd.output().expect("spawn")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_password_variable_that_is_not_utf8_is_refused_by_name_and_never_shown() {
    let town = Town::federated("town-a");
    let password = not_utf8(SECRET);
    let commands: [&[&str]; 5] = [
        &["list"],
        &["create", "x"],
        &["config", "list"],
        &["federation", "list-peers"],
        &["federation", "add-peer", "hub", "file:///tmp/bd-no-such-hub", "--user", "fed"],
    ];
    for args in commands {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let out = bd_with(&town, "BD_PEER_PASSWORD", &password, &args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked:\n{stderr}");
        assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "{args:?} printed the password:\n{stderr}");
        assert_eq!(out.status.code(), Some(2), "{args:?}:\n{stderr}");
        assert!(stderr.contains("BD_PEER_PASSWORD") && stderr.contains("UTF-8"), "{args:?}:\n{stderr}");
    }
    assert!(!town.config_text().contains("hub"), "the peer was added with an unreadable password");
}

#[test]
fn other_bd_variables_that_are_not_utf8_are_an_error_naming_them_and_others_do_not_matter() {
    let town = Town::new();
    let out = bd_with(&town, "BD_SYNC_MODE", &not_utf8("dolt-native"), &[OsStr::new("list")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("BD_SYNC_MODE") && stderr.contains("UTF-8"), "{stderr}");
    for var in ["SOME_TOOL_SETTING", "LC_NAME"] {
        let out = bd_with(&town, var, &not_utf8("x"), &[OsStr::new("list")]);
        assert_eq!(out.status.code(), Some(0), "{var}: {}", text(&out.stderr));
    }
}

#[test]
fn an_argument_that_is_not_utf8_is_a_usage_error() {
    let town = Town::new();
    let title = not_utf8("title");
    let out = bd_with(&town, "UNRELATED", OsStr::new("1"), &[OsStr::new("create"), &title]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("UTF-8"), "{stderr}");
    let out = bd_with(&town, "UNRELATED", OsStr::new("1"), &[&title]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
}

#[cfg(target_os = "linux")]
#[test]
fn a_command_waiting_for_a_password_cannot_dump_core() {
    use std::io::Write as _;
    let town = Town::federated("town-a");
    let mailbox = crate::support::Mailbox::new();
    let endpoint = mailbox.endpoint();
    // Core files allowed for the command, so only bd itself can turn them off.
    let mut cmd = town.sandbox().command("sh", town.dir());
    cmd.args(["-c", "ulimit -c unlimited && exec \"$0\" \"$@\""])
        .arg(bin_dir().join("bd"))
        .args(["federation", "add-peer", "hub", &endpoint, "--user", "fed", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", child.id()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // The front door execs the command in the same process.
    while std::fs::read_link(proc_dir.join("exe")).ok().and_then(|e| e.file_name().map(ToOwned::to_owned))
        != Some("bd-federation-add-peer".into())
    {
        assert!(std::time::Instant::now() < deadline, "bd-federation-add-peer never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Long enough to be waiting on stdin.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let limits = std::fs::read_to_string(proc_dir.join("limits")).expect("limits");
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).expect("core line").to_owned();
    child.stdin.take().expect("stdin").write_all(b"pw\n").expect("stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "core files are still allowed: {core}");
}

/// A duration that overflows any deadline computed from it.
const HUGE: &str = "18446744073709551615s";

#[track_caller]
fn no_panic(run: &crate::support::Run) {
    assert_ne!(run.code, 101, "panicked:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "panicked:\n{}", run.stderr);
}

#[test]
fn timeout_flags_outside_their_bounds_are_usage_errors() {
    let (a, _b, _mailbox, _id) = crate::support::shared_pair();
    for cmd in [&["federation", "push", "b"][..], &["federation", "fetch", "b"], &["federation", "status"]] {
        for bad in [HUGE, "0s", "25h"] {
            let mut args = cmd.to_vec();
            args.extend(["--timeout", bad]);
            let run = a.bd(&args);
            no_panic(&run);
            let run = run.code(2).stderr_has("--timeout");
            assert!(run.stderr.contains("from 1ms to 24h"), "{args:?}: {}", run.stderr);
        }
    }
    a.bd(["federation", "push", "b", "--timeout", "30s"]).success();
    let run = a.bd(["sync", "--timeout", HUGE]);
    no_panic(&run);
    run.code(2).stderr_has("from 1ms to 24h");
}

#[test]
fn config_set_refuses_durations_outside_their_bounds() {
    let town = Town::new();
    let before = town.config_text();
    for (key, bad, limit) in [
        ("lock.timeout", HUGE, "from 0s to 1h"),
        ("lock.timeout", "2h", "from 0s to 1h"),
        ("federation.timeout", HUGE, "from 1ms to 24h"),
        ("federation.timeout", "0s", "from 1ms to 24h"),
    ] {
        let run = town.bd(["config", "set", key, bad]);
        no_panic(&run);
        run.code(2).stderr_has(limit).stderr_has(key);
        assert_eq!(town.config_text(), before, "{key} = {bad} was written");
    }
    town.bd(["config", "set", "lock.timeout", "1h"]).success();
    town.bd(["create", "still writes"]).success();
}

#[test]
fn a_huge_lock_timeout_from_the_environment_is_an_error_naming_the_variable() {
    let town = Town::new();
    let run = town.bd_env(&[("BD_LOCK_TIMEOUT", HUGE)], ["create", "x"]);
    no_panic(&run);
    run.code(1).stderr_has("BD_LOCK_TIMEOUT").stderr_has(HUGE).stderr_has("from 0s to 1h");
    let run = town.bd_env(&[("BD_FEDERATION_TIMEOUT", "0s")], ["sync"]);
    no_panic(&run);
}

#[test]
fn a_huge_lock_timeout_in_a_file_is_an_error_and_config_unset_repairs_it() {
    let town = Town::new();
    let config = town.dir().join(".beads/config.yaml");
    let text = format!("{}lock:\n  timeout: {HUGE}\n", town.config_text());
    std::fs::write(&config, text).expect("hand edit");
    let run = town.bd(["create", "x"]);
    no_panic(&run);
    run.code(1)
        .stderr_has("lock.timeout")
        .stderr_has(HUGE)
        .stderr_has("from 0s to 1h")
        .stderr_has(&config.display().to_string());
    let run = town.bd(["config", "set", "sync.mode", "realtime"]);
    no_panic(&run);
    run.code(1).stderr_has("lock.timeout");
    let run = town.bd(["config", "unset", "lock.timeout"]);
    no_panic(&run);
    run.success();
    town.bd(["create", "repaired"]).success();

    std::fs::write(&config, format!("{}lock:\n  timeout: {HUGE}\n", town.config_text())).expect("hand edit");
    town.bd(["config", "set", "lock.timeout", "5s"]).success();
    town.bd(["create", "repaired again"]).success();
}

/// `bd ARGS` with `input` on stdin (bytes, written from a thread so a
/// command that stops reading early does not block the test).
fn bd_stdin_bytes(town: &Town, input: Vec<u8>, args: &[&str]) -> crate::support::Run {
    use std::io::Write as _;
    let mut cmd = town.sandbox().command(bin_dir().join("bd"), town.dir());
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    crate::support::Run { code: out.status.code().unwrap_or(-1), stdout: text(&out.stdout), stderr: text(&out.stderr) }
}

#[test]
fn passwords_that_dolt_could_not_be_given_are_refused_and_nothing_is_stored() {
    let town = Town::federated("town-a");
    let mailbox = crate::support::Mailbox::new();
    let endpoint = mailbox.endpoint();
    let args = ["federation", "add-peer", "hub", endpoint.as_str(), "--user", "fed", "--password-stdin"];
    let cases: [(Vec<u8>, &str); 4] = [
        (vec![b'p'; 200 * 1024 * 1024], "at most 4096 bytes"),
        (vec![b'p'; 300 * 1024], "at most 4096 bytes"),
        (b"Sup3r\0S3cret\n".to_vec(), "NUL"),
        ([&[b'p'; 4097][..], b"\n"].concat(), "at most 4096 bytes"),
    ];
    for (input, why) in cases {
        let started = std::time::Instant::now();
        let run = bd_stdin_bytes(&town, input, &args);
        no_panic(&run);
        let run = run.code(2).stderr_has(why);
        assert!(!run.stderr.contains("S3cret") && run.stderr.len() < 1000, "{}", run.stderr);
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
        assert!(!town.config_text().contains("hub"), "the peer was added");
        assert!(!town.dir().join(".beads/credentials").exists(), "a password was stored");
    }
    // (One environment string may hold at most 128 KiB on Linux.)
    let run = town.bd_env(&[("BD_PEER_PASSWORD", &"p".repeat(100 * 1024))], &args[..6]);
    no_panic(&run);
    run.code(2).stderr_has("at most 4096 bytes");
    bd_stdin_bytes(&town, [&[b'p'; 4096][..], b"\n"].concat(), &args).success();
}

#[test]
fn import_reads_only_regular_files_or_stdin() {
    let town = Town::new();
    let started = std::time::Instant::now();
    let run = town.bd(["import", "/dev/zero"]);
    no_panic(&run);
    run.code(2).stderr_has("not a regular file").stderr_has("`-`");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    let run = town.bd(["import", "/tmp"]);
    no_panic(&run);
    run.code(2).stderr_has("not a regular file");
    // Stdin is read up to the limit and no further.
    let started = std::time::Instant::now();
    let run = bd_stdin_bytes(&town, vec![b' '; 257 * 1024 * 1024], &["import", "-"]);
    no_panic(&run);
    run.code(2).stderr_has("more than 268435456 bytes");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "took {:?}", started.elapsed());
    let id = town.create("exported");
    let export = town.bd(["export", "-o", "-"]).success().stdout;
    let other = Town::named("town-b");
    let run = bd_stdin_bytes(&other, export.into_bytes(), &["import", "-"]).success();
    assert!(run.stdout.contains("1 added"), "{}", run.stdout);
    other.bd(["show", &id]).success();
}

#[test]
fn endpoints_carrying_secrets_are_refused_and_the_secret_is_never_echoed() {
    let town = Town::federated("town-a");
    for (endpoint, shown) in [
        ("https://fed:Sup3rS3cret@host/db", "https://fed:***@host/db"),
        ("https://host/db?password=Sup3rS3cret", "https://host/db?password=***"),
        ("https://host/db?token=Sup3rS3cret", "https://host/db?token=***"),
        ("http://127.0.0.1:1/db?secret=Sup3rS3cret", "http://127.0.0.1:1/db?secret=***"),
        ("fed:Sup3rS3cret@host:org/repo", "fed:***@host:org/repo"),
    ] {
        let run = town.bd(["federation", "add-peer", "hub", endpoint]);
        no_panic(&run);
        let run = run.code(2).stderr_has(shown);
        assert!(!run.stderr.contains("Sup3rS3cret") && !run.stdout.contains("Sup3rS3cret"), "{}", run.stderr);
        for key in ["federation.remote", "federation.peers.hub.endpoint"] {
            let run = town.bd(["config", "set", key, endpoint]).code(2).stderr_has(shown);
            assert!(!run.stderr.contains("Sup3rS3cret"), "{}", run.stderr);
        }
    }
    assert!(!town.config_text().contains("Sup3rS3cret"), "{}", town.config_text());
}

#[test]
fn errors_quote_huge_and_control_character_input_cut_and_escaped() {
    let town = Town::new();
    let huge = "x".repeat(100_000);
    let escape = "a\u{1b}]0;pwned\u{7}b";
    for args in [
        vec!["show", huge.as_str()],
        vec!["close", huge.as_str()],
        vec!["list", "--status", huge.as_str()],
        vec!["create", "t", "-p", huge.as_str()],
        vec!["create", "t", "-t", huge.as_str()],
        vec!["config", "get", huge.as_str()],
        vec!["config", "set", huge.as_str(), "v"],
        vec!["completions", huge.as_str()],
        vec!["--color", huge.as_str(), "list"],
        vec!["show", escape],
        vec!["list", "--status", escape],
        vec!["config", "get", escape],
    ] {
        let run = town.bd(&args);
        let what = format!("{} {}", args[0], args[1]);
        assert_ne!(run.code, 101, "{what}: panicked");
        assert_ne!(run.code, 0, "{what}");
        assert!(run.stderr.len() < 2000, "{what}: a {}-byte error: {:.300}", run.stderr.len(), run.stderr);
        assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'), "{what}: {:?}", run.stderr);
    }
}

#[test]
fn a_stored_password_is_never_sent_to_another_endpoint() {
    let town = Town::federated("town-a");
    let hub = crate::support::Hub::serve("password");
    let first = hub.endpoint();
    // The same server under another name: an endpoint the password was not given for.
    let second = first.replace("127.0.0.1", "localhost");
    town.bd_stdin("password\n", ["federation", "add-peer", "partner", &first, "--user", "fed", "--password-stdin"])
        .success();
    town.bd(["federation", "fetch", "partner"]).success();
    let credentials = town.dir().join(".beads/credentials");

    // Removed by hand, then added again elsewhere without credentials.
    town.bd(["config", "unset", "federation.peers.partner"]).success();
    town.dolt(["remote", "remove", "partner"]).success();
    town.bd(["federation", "add-peer", "partner", &second]).success();
    let store = std::fs::read_to_string(&credentials).expect("store");
    assert!(!store.contains("partner"), "the old password is still stored for partner:\n{store}");
    town.bd(["federation", "fetch", "partner"]).code(1).stderr_has("refused the credentials");

    // The dolt remote pointed elsewhere behind bd's back.
    town.bd(["federation", "remove-peer", "partner"]).success();
    town.bd_stdin("password\n", ["federation", "add-peer", "partner", &first, "--user", "fed", "--password-stdin"])
        .success();
    town.dolt(["remote", "remove", "partner"]).success();
    town.dolt(["remote", "add", "partner", &second]).success();
    // Stopped before any contact: the remote is not where config says.
    town.bd(["federation", "fetch", "partner"]).code(1).stderr_has("is not where its configuration says");
}
