//! Fault injection with the real dolt: bd, or the dolt it runs, killed with
//! SIGKILL at points spread across push, pull, fetch and sync; peers that
//! vanish, turn read-only, stop, hang or rewrite their history. After every
//! fault both sides pass `dolt fsck`, no committed issue is lost, nothing
//! left behind blocks the next run, and a rerun completes the transfer.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::procs::{
    dolt_child, finish, fsck, kill9, outcome, record_cell, remote_titles, spawn_bd, temp_files, wait_group_gone,
};
use crate::support::{Hub, Mailbox, Town, shared_pair};

#[track_caller]
fn assert_contains(have: &[String], want: &[String], what: &str) {
    let missing: Vec<&String> = want.iter().filter(|t| !have.contains(t)).collect();
    assert!(missing.is_empty(), "{what} lost {missing:?}; has {have:?}");
}

/// Who is killed in a cell of the matrix.
#[derive(Debug, Clone, Copy)]
enum Victim {
    Bd,
    Dolt,
}

/// Two linked towns; `actor` runs the operation under test against the
/// shared mailbox.
struct Pair {
    a: Town,
    b: Town,
    mailbox: Mailbox,
}

impl Pair {
    fn new() -> Self {
        let (a, b, mailbox, _) = shared_pair();
        Self { a, b, mailbox }
    }
}

/// How one operation is set up, run and checked.
struct Op {
    /// The command line, run in `actor`.
    args: &'static [&'static str],
    /// Whether B (pulling from A) runs it rather than A (pushing to B).
    by_b: bool,
    /// Whether the operation sends the actor's issues to the mailbox.
    sends: bool,
    /// Whether the operation merges the mailbox's issues into the actor.
    merges: bool,
}

impl Op {
    fn actor<'p>(&self, pair: &'p Pair) -> &'p Town {
        if self.by_b { &pair.b } else { &pair.a }
    }

    /// Gives the cell something to move: a new issue of A's in the mailbox
    /// (for B's operations) and a new issue of the actor's.
    fn prepare(&self, pair: &Pair, cell: usize) {
        if self.by_b {
            pair.a.create(&format!("from-a-{cell}"));
            pair.a.bd(["federation", "sync", "b"]).success();
        }
        self.actor(pair).create(&format!("from-actor-{cell}"));
    }

    /// Checks the state after the rerun: both sides intact, the transfer done.
    fn check(&self, pair: &Pair, before: &[String], label: &str) {
        let actor = self.actor(pair);
        fsck(actor, &actor.dolt_dir());
        let have = actor.titles();
        assert_contains(&have, before, &format!("{label}: the actor"));
        let in_mailbox = remote_titles(actor, &pair.mailbox.endpoint());
        if self.sends {
            assert_contains(&in_mailbox, &have, &format!("{label}: the mailbox"));
        }
        if self.merges {
            assert_contains(&have, &in_mailbox, &format!("{label}: the merge"));
        }
        let left = temp_files(&actor.dir().join(".beads"));
        assert!(left.is_empty(), "{label}: temporary files left in .beads: {left:?}");
    }
}

/// Runs `op` once unharmed to learn how long it takes, then kills bd (or its
/// dolt child) at points spread over that time, checking every cell. A cell
/// counts only when the kill struck: bd died of it, or a dolt was killed and
/// bd failed for it. One that found bd already done, or no dolt left to
/// kill, interrupted nothing; it is checked too, then run again at half the
/// point, until it strikes.
fn kill_matrix(op: &Op) {
    const TRIES: u32 = 4;
    let pair = Pair::new();
    let actor = op.actor(&pair);
    op.prepare(&pair, 0);
    let started = Instant::now();
    actor.bd(op.args).success();
    let full = started.elapsed();
    let mut cell = 0;
    for victim in [Victim::Bd, Victim::Dolt] {
        for fraction in [0.1, 0.4, 0.7, 0.95] {
            let mut point = full.mul_f64(fraction);
            for attempt in 1..=TRIES {
                cell += 1;
                let label =
                    format!("{} killing {victim:?} at {point:?} (run {full:?}, try {attempt})", op.args.join(" "));
                op.prepare(&pair, cell);
                let before = actor.titles();
                let mut child = spawn_bd(actor, op.args);
                let pid = child.id();
                std::thread::sleep(point);
                let killed_dolt = match victim {
                    Victim::Bd => {
                        let _ = child.kill();
                        false
                    }
                    Victim::Dolt => dolt_child(pid, full).map(kill9).is_some(),
                };
                let interrupted = finish(child);
                assert!(!interrupted.stderr.contains("panicked"), "{label}: bd panicked:\n{}", interrupted.stderr);
                if interrupted.code > 0 {
                    assert!(!interrupted.stderr.trim().is_empty(), "{label}: failed without saying why");
                }
                let struck = match victim {
                    // Only our SIGKILL ends bd by a signal.
                    Victim::Bd => interrupted.code == -1,
                    Victim::Dolt => killed_dolt && interrupted.code != 0,
                };
                // Straight away: a dolt the killed bd left running keeps the town
                // locked until it exits, so the rerun waits for it, then completes.
                actor.bd(op.args).success();
                wait_group_gone(pid, Duration::from_secs(60));
                op.check(&pair, &before, &label);
                if struck {
                    let killed = match victim {
                        Victim::Bd => "bd",
                        Victim::Dolt => "its dolt",
                    };
                    record_cell(
                        "kills",
                        &format!(
                            "{:<24} | kill {killed:<8} at {:>5} ms | {:<60} | rerun ok, fsck ok, nothing lost",
                            op.args.join(" "),
                            point.as_millis(),
                            outcome(&interrupted)
                        ),
                    );
                    break;
                }
                assert!(
                    attempt < TRIES,
                    "{label}: the kill never struck in {TRIES} tries (last: {}, a dolt killed: {killed_dolt})",
                    outcome(&interrupted)
                );
                point /= 2;
            }
        }
    }
}

#[test]
fn push_survives_kills() {
    kill_matrix(&Op { args: &["federation", "push", "b"], by_b: false, sends: true, merges: false });
}

#[test]
fn fetch_survives_kills() {
    kill_matrix(&Op { args: &["federation", "fetch", "a"], by_b: true, sends: false, merges: false });
}

#[test]
fn pull_survives_kills() {
    kill_matrix(&Op { args: &["federation", "pull", "a"], by_b: true, sends: false, merges: true });
}

#[test]
fn sync_survives_kills() {
    kill_matrix(&Op { args: &["federation", "sync", "a"], by_b: true, sends: true, merges: true });
}

/// Runs `op` while `fault` strikes at points spread over its usual duration,
/// then `repair`; each time the town must be intact and a rerun complete.
fn fault_sweep(name: &str, pair: &Pair, args: &[&str], fault: impl Fn(), repair: impl Fn()) {
    let b = &pair.b;
    pair.a.create("sweep-0");
    pair.a.bd(["federation", "push", "b"]).success();
    let started = Instant::now();
    b.bd(args).success();
    let full = started.elapsed();
    for (cell, fraction) in [0.0, 0.3, 0.6, 0.9].into_iter().enumerate() {
        pair.a.create(&format!("sweep-{}", cell + 1));
        pair.a.bd(["federation", "sync", "b"]).success();
        b.create(&format!("b-sweep-{cell}"));
        let before = b.titles();
        let child = spawn_bd(b, args);
        std::thread::sleep(full.mul_f64(fraction));
        fault();
        let out = finish(child);
        let label = format!("{} with the fault at {:.0}% of {full:?}", args.join(" "), fraction * 100.0);
        assert!(out.code == 0 || out.code == 1, "{label}: exit {}:\n{}", out.code, out.stderr);
        // A fault that strikes as bd starts cannot miss: the first cell must fail.
        assert!(cell > 0 || out.code == 1, "{label}: the fault struck nothing:\n{}", out.stdout);
        if out.code != 0 {
            assert!(out.stderr.contains("peer 'a'"), "{label}: the error must name the peer:\n{}", out.stderr);
        }
        repair();
        fsck(b, &b.dolt_dir());
        assert_contains(&b.titles(), &before, &label);
        b.bd(args).success();
        assert_contains(&b.titles(), &remote_titles(b, &pair.mailbox.endpoint()), &label);
        let point = full.mul_f64(fraction).as_millis();
        record_cell("peers", &format!("{name:<24} at {point:>5} ms | {:<70} | town intact, rerun ok", outcome(&out)));
    }
}

fn mailbox_dir(pair: &Pair) -> std::path::PathBuf {
    pair.mailbox.endpoint().trim_start_matches("file://").into()
}

#[test]
fn a_peer_directory_removed_mid_sync_gives_a_clear_error() {
    let pair = Pair::new();
    let dir = mailbox_dir(&pair);
    let aside = dir.with_extension("aside");
    fault_sweep(
        "peer directory removed",
        &pair,
        &["federation", "sync", "a"],
        || std::fs::rename(&dir, &aside).expect("move the peer away"),
        || {
            // A push that was already under way when the directory went makes
            // dolt create it afresh; the original comes back in its place.
            if dir.exists() {
                std::fs::remove_dir_all(&dir).expect("remove the recreated directory");
            }
            std::fs::rename(&aside, &dir).expect("bring the peer back");
        },
    );
    // Gone for good: a clear error before anything is attempted.
    std::fs::rename(&dir, &aside).expect("move the peer away");
    pair.b.bd(["federation", "sync", "a"]).code(1).stderr_has("peer 'a'").stderr_has(&dir.display().to_string());
}

/// Makes a directory read-only even for root (who ignores modes) by marking
/// it immutable. The guard clears the mark on drop, even when a test fails,
/// so the temporary directory can always be removed.
struct ReadOnly<'a>(&'a Path);

impl<'a> ReadOnly<'a> {
    fn guard(dir: &'a Path) -> Self {
        Self(dir)
    }

    fn set(dir: &Path) {
        // Files dolt renames meanwhile make chattr complain; what matters is
        // that the directory itself no longer takes new entries.
        let _ = std::process::Command::new("chattr").args(["-R", "-f", "+i"]).arg(dir).status();
        let _ = std::process::Command::new("chattr").args(["-f", "+i"]).arg(dir).status();
        assert!(
            std::fs::write(dir.join("probe"), "x").is_err(),
            "chattr +i {} did not make it read-only: this test needs root and a file system with attributes",
            dir.display()
        );
    }

    fn clear(dir: &Path) {
        let _ = std::process::Command::new("chattr").args(["-R", "-f", "-i"]).arg(dir).status();
    }
}

impl Drop for ReadOnly<'_> {
    fn drop(&mut self) {
        Self::clear(self.0);
    }
}

#[test]
fn a_peer_made_read_only_mid_sync_gives_a_clear_error() {
    let pair = Pair::new();
    let dir = mailbox_dir(&pair);
    let _guard = ReadOnly::guard(&dir);
    fault_sweep(
        "peer made read-only",
        &pair,
        &["federation", "sync", "a"],
        || ReadOnly::set(&dir),
        || ReadOnly::clear(&dir),
    );
    ReadOnly::set(&dir);
    pair.b.create("cannot leave");
    let out = pair.b.bd(["federation", "push", "a"]).code(1).stderr_has("peer 'a'");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    fsck(&pair.b, &pair.b.dolt_dir());
}

#[test]
fn an_http_peer_stopped_mid_transfer_gives_a_clear_error() {
    let mut hub = Hub::serve("password");
    let town = Town::federated("town-a");
    town.bd_env(
        &[("BD_PEER_PASSWORD", "password")],
        ["federation", "add-peer", "hub", &hub.endpoint(), "--user", "fed"],
    )
    .success();
    for n in 0..20 {
        town.create(&format!("over http {n}"));
    }
    let started = Instant::now();
    town.bd(["federation", "push", "hub"]).success();
    let full = started.elapsed();
    for (cell, fraction) in [0.0, 0.5, 0.9].into_iter().enumerate() {
        town.create(&format!("cell {cell}"));
        let before = town.titles();
        let child = spawn_bd(&town, &["federation", "sync", "hub", "--timeout", "5s"]);
        std::thread::sleep(full.mul_f64(fraction));
        hub.stop();
        let out = finish(child);
        let label = format!("sync with the hub stopped at {:.0}% of {full:?}", fraction * 100.0);
        // A hub stopped as bd starts cannot miss: the first cell must fail.
        assert!(cell > 0 || out.code == 1, "{label}: stopping the hub struck nothing:\n{}", out.stdout);
        if out.code != 0 {
            assert_eq!(out.code, 1, "{label}:\n{}", out.stderr);
            assert!(out.stderr.contains("peer 'hub'"), "{label}: the error must name the peer:\n{}", out.stderr);
        }
        fsck(&town, &town.dolt_dir());
        assert_contains(&town.titles(), &before, &label);
        hub.start();
        town.bd(["federation", "sync", "hub"]).success();
        assert_contains(&hub.titles_at_rest(), &before, &label);
        let point = full.mul_f64(fraction).as_millis();
        record_cell(
            "peers",
            &format!("{:<24} at {point:>5} ms | {:<70} | town intact, rerun ok", "http peer stopped", outcome(&out)),
        );
    }
}

#[test]
fn a_peer_that_never_answers_ends_within_the_timeout() {
    let silent = crate::support::SilentPeer::start(8);
    let town = Town::federated("town-a");
    town.bd(["federation", "add-peer", "silent", &silent.endpoint()]).success();
    let id = town.create("stays here");
    let before = town.sql("SELECT HASHOF('main') AS h");
    for command in ["fetch", "pull", "push", "sync"] {
        let started = Instant::now();
        let out = town.bd(["federation", command, "silent", "--timeout", "3s"]).code(1);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(20), "{command} took {took:?} despite --timeout 3s");
        assert!(
            out.stderr.contains("peer 'silent'") && out.stderr.contains("did not answer in time"),
            "{}",
            out.stderr
        );
        record_cell(
            "peers",
            &format!(
                "{:<24} {:>11} | {:<70} | town intact",
                format!("silent peer, {command}"),
                format!("{} ms", took.as_millis()),
                outcome(&out)
            ),
        );
    }
    assert_eq!(town.sql("SELECT HASHOF('main') AS h"), before, "the town must not change");
    town.bd(["show", &id]).success();
    fsck(&town, &town.dolt_dir());
    drop(silent);
}

#[test]
fn a_peer_whose_history_was_rewritten_refuses_a_push_clearly() {
    let pair = Pair::new();
    // Someone rewrites the mailbox: a town with its own history force-pushes.
    let rogue = Town::federated("rogue");
    rogue.create("rewritten history");
    rogue.dolt(["remote", "add", "mb", &pair.mailbox.endpoint()]).success();
    rogue.dolt(["push", "--force", "mb", "main"]).success();
    let a = &pair.a;
    a.create("after the rewrite");
    let head = a.sql("SELECT HASHOF('main') AS h");
    let out = a.bd(["federation", "push", "b"]).code(1);
    assert!(out.stderr.contains("peer 'b'"), "{}", out.stderr);
    assert!(out.stderr.contains("pull"), "the error must say how to fix it:\n{}", out.stderr);
    assert_eq!(a.sql("SELECT HASHOF('main') AS h"), head, "a refused push changes nothing here");
    record_cell("peers", &format!("{:<36} | {:<70} | town intact", "peer history rewritten, push", outcome(&out)));
    fsck(a, &a.dolt_dir());
    // Pulling the rewritten history merges it; then the push goes through.
    a.bd(["federation", "pull", "b"]).success();
    a.bd(["federation", "push", "b"]).success();
    let there = remote_titles(a, &pair.mailbox.endpoint());
    assert_contains(
        &there,
        &["rewritten history".to_owned(), "after the rewrite".to_owned(), "Shared issue".to_owned()],
        "push",
    );
}

#[test]
fn a_dolt_left_running_by_a_killed_bd_keeps_other_writers_out_until_it_ends() {
    let silent = crate::support::SilentPeer::start(4);
    let town = Town::federated("town-a");
    town.bd(["federation", "add-peer", "silent", &silent.endpoint()]).success();
    let mut child = spawn_bd(&town, &["federation", "fetch", "silent", "--timeout", "60s"]);
    let bd = child.id();
    // The dolt waiting on the silent peer, not a short query before it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let dolt = loop {
        let dolt = dolt_child(bd, Duration::from_secs(20)).expect("bd starts dolt");
        std::thread::sleep(Duration::from_millis(500));
        if Path::new(&format!("/proc/{dolt}")).exists() {
            break dolt;
        }
        assert!(Instant::now() < deadline, "no dolt stayed waiting on the silent peer");
    };
    let _ = child.kill();
    let _ = child.wait();
    // The orphaned dolt still holds the write lock it inherited.
    town.bd_env(&[("BD_LOCK_TIMEOUT", "300ms")], ["create", "must wait"])
        .code(1)
        .stderr_has("another bd command is writing to this town")
        .stderr_has("is still finishing");
    kill9(dolt);
    wait_group_gone(bd, Duration::from_secs(10));
    town.create("after it ended");
    fsck(&town, &town.dolt_dir());
    drop(silent);
}
