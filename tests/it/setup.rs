//! Setting up is whole or absent: `bd init` and `bd federation add-peer`
//! killed with SIGKILL at points spread over their run leave either nothing
//! or a working town (or peer), and the same command run again completes.

use std::time::{Duration, Instant};

use crate::support::procs::{finish, fsck, kill9, kill9_group, record_cell, spawn_bd_env, temp_files, wait_group_gone};
use crate::support::{Mailbox, Run, Town};

/// Who is killed: bd alone (its dolt child runs on and finishes), or bd
/// and its dolt together.
#[derive(Debug, Clone, Copy)]
enum Victim {
    Bd,
    Group,
}

fn kill(victim: Victim, pid: u32) {
    match victim {
        Victim::Bd => kill9(pid),
        Victim::Group => kill9_group(pid),
    }
}

/// Runs `bd ARGS…` with `env` in `town`, kills `victim` at `point`, and
/// waits until every process of the run is gone; the run must not panic.
fn killed_run(town: &Town, env: &[(&str, &str)], args: &[&str], victim: Victim, point: Duration, label: &str) -> Run {
    let child = spawn_bd_env(town, env, args);
    let pid = child.id();
    std::thread::sleep(point);
    kill(victim, pid);
    let run = finish(child);
    wait_group_gone(pid, Duration::from_secs(30));
    assert!(!run.stderr.contains("panicked"), "{label}: bd panicked:\n{}", run.stderr);
    run
}

/// Points in time to kill at: fixed early ones (where the half-made towns
/// were found) and fractions of an unharmed run.
fn kill_points(full: Duration) -> Vec<Duration> {
    let mut points: Vec<Duration> = [5, 15, 30, 45, 60, 80].into_iter().map(Duration::from_millis).collect();
    points.extend([0.5, 0.6, 0.7, 0.8, 0.95].map(|f| full.mul_f64(f)));
    points
}

/// Names of entries in `dir` starting with `prefix`.
fn entries_starting(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// A cloned project: `.beads/config.yaml` committed with the town's identity.
const CLONED_CONFIG: &str = "# committed with the project\ntown:\n  name: cloned\n  prefix: cl\n";

fn init_sweep(cloned: bool) {
    let probe = Town::uninit("probe");
    let started = Instant::now();
    probe.bd(["init"]).success();
    let full = started.elapsed();
    let mut interrupted_runs = 0;
    for point in kill_points(full) {
        for victim in [Victim::Bd, Victim::Group] {
            let label = format!("init (cloned: {cloned}) killing {victim:?} at {point:?} of {full:?}");
            let town = Town::uninit("town-a");
            let beads = town.dir().join(".beads");
            if cloned {
                std::fs::create_dir_all(&beads).expect(".beads");
                std::fs::write(beads.join("config.yaml"), CLONED_CONFIG).expect("config");
            }
            let run = killed_run(&town, &[], &["init"], victim, point, &label);
            let outcome = if town.dolt_dir().exists() {
                // A town is there: it must be a whole one.
                let list = town.bd(["list"]);
                assert_eq!(list.code, 0, "{label}: a half-made town was left:\n{}", list.stderr);
                "a whole town"
            } else {
                interrupted_runs += 1;
                if !cloned {
                    assert!(!beads.exists(), "{label}: .beads was left without a town in it");
                }
                let again = town.bd(["init"]);
                assert_eq!(again.code, 0, "{label}: init after the kill failed:\n{}", again.stderr);
                "no town; init again ok"
            };
            fsck(&town, &town.dolt_dir());
            assert_eq!(town.bd(["--json", "list"]).success().stdout.trim(), "[]", "{label}");
            if cloned {
                assert_eq!(std::fs::read_to_string(beads.join("config.yaml")).expect("config"), CLONED_CONFIG);
                assert!(town.create("kept identity").starts_with("cl-"), "{label}: the committed identity was lost");
            }
            assert!(town.dir().join(".beads/.gitignore").is_file(), "{label}: no .beads/.gitignore");
            let left = [entries_starting(town.dir(), ".beads.init"), temp_files(&beads)].concat();
            assert!(left.is_empty(), "{label}: leftovers of the killed init: {left:?}");
            record_cell(
                "setup",
                &format!(
                    "{:<24} | kill {:<5} at {:>5} ms | {:<8} | {outcome}, bd list ok, fsck ok",
                    if cloned { "init (cloned .beads)" } else { "init" },
                    format!("{victim:?}"),
                    point.as_millis(),
                    crate::support::procs::outcome(&run).chars().take(8).collect::<String>()
                ),
            );
        }
    }
    assert!(interrupted_runs > 0, "no kill landed before init finished ({full:?}): the sweep tested nothing");
}

#[test]
fn init_killed_at_any_point_leaves_no_town_or_a_whole_one() {
    init_sweep(false);
}

#[test]
fn init_of_a_cloned_project_killed_at_any_point_keeps_its_config() {
    init_sweep(true);
}

#[test]
fn leftovers_of_a_killed_init_do_not_block_the_next_one() {
    let town = Town::uninit("town-a");
    // What a killed init leaves: its staging directory (pid 999999 is not running).
    let stale = town.dir().join(".beads.init-999999");
    std::fs::create_dir_all(stale.join("dolt/.dolt")).expect("stale staging");
    town.bd(["init"]).success();
    assert!(!stale.exists(), "the staging directory of a dead init was not cleaned");
    let stale = town.dir().join(".beads/.dolt.tmp.999999");
    std::fs::create_dir_all(stale.join(".dolt")).expect("stale staging");
    town.bd(["init"]).code(1).stderr_has("already a bd town");
    town.bd(["list"]).success();
}

const PASSWORD: &str = "sweep-pw";

/// The peer `name` is whole: in the config, a dolt remote with the right
/// URL, and its password readable (doctor decrypts it).
#[track_caller]
fn assert_whole_peer(town: &Town, name: &str, url: &str, label: &str) {
    let peers = town.bd(["--json", "federation", "list-peers"]).success().json();
    let peer = peers.as_array().expect("peers").iter().find(|p| p["name"] == name);
    let peer = peer.unwrap_or_else(|| panic!("{label}: peer {name} is not configured: {peers}"));
    assert_eq!(peer["dolt_url"], url, "{label}: {peer}");
    assert_eq!(peer["user"], "fed", "{label}: {peer}");
    let doctor = town.bd(["--json", "doctor"]).json();
    let problems: Vec<&serde_json::Value> = doctor["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["level"] == "fail" && c.to_string().contains(&format!("'{name}'")))
        .collect();
    assert!(problems.is_empty(), "{label}: doctor finds peer {name} broken: {problems:?}");
}

/// What a killed add-peer left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    Nothing,
    RemoteWithoutConfig,
    Peer,
}

/// Kills `bd federation add-peer NAME` at `point`, runs it again and checks
/// the peer is whole; records the cell and returns what the kill left.
fn add_peer_cell(town: &Town, endpoint: &str, name: &str, victim: Victim, point: Duration, full: Duration) -> Left {
    let env = [("BD_PEER_PASSWORD", PASSWORD)];
    let label = format!("add-peer killing {victim:?} at {point:?} of {full:?}");
    let args = ["federation", "add-peer", name, endpoint, "--user", "fed"];
    let run = killed_run(town, &env, &args, victim, point, &label);
    let configured = town.config_text().contains(&format!("{name}:"));
    let remote = town.remotes().iter().any(|r| r.starts_with(&format!("{name} ")));
    let left = match (remote, configured) {
        (false, _) => Left::Nothing,
        (true, false) => Left::RemoteWithoutConfig,
        (true, true) => Left::Peer,
    };
    // The same command again completes the peer, whatever the kill left.
    let again = town.bd_env(&env, args);
    if left == Left::Peer {
        again.code(1).stderr_has("peer already exists");
    } else {
        assert_eq!(again.code, 0, "{label}: rerun failed:\n{}", again.stderr);
    }
    assert_whole_peer(town, name, endpoint, &label);
    record_cell(
        "setup",
        &format!(
            "{:<24} | kill {:<5} at {:>5} ms | {:<8} | {}, rerun ok, peer whole",
            "federation add-peer",
            format!("{victim:?}"),
            point.as_millis(),
            crate::support::procs::outcome(&run).chars().take(8).collect::<String>(),
            match left {
                Left::Nothing => "nothing left",
                Left::RemoteWithoutConfig => "remote without config",
                Left::Peer => "peer added",
            }
        ),
    );
    left
}

#[test]
fn add_peer_killed_at_any_point_is_finished_by_running_it_again() {
    let town = Town::federated("town-a");
    let mailbox = Mailbox::new();
    let endpoint = mailbox.endpoint();
    let started = Instant::now();
    town.bd_env(&[("BD_PEER_PASSWORD", PASSWORD)], ["federation", "add-peer", "probe", &endpoint, "--user", "fed"])
        .success();
    let full = started.elapsed();
    let mut half_added = 0;
    // The latest kill of bd alone that left nothing, and the earliest that
    // left the whole peer.
    let (mut nothing, mut added) = (Duration::ZERO, full * 2);
    for (cell, point) in kill_points(full).into_iter().enumerate() {
        for victim in [Victim::Bd, Victim::Group] {
            let name = format!("p{cell}-{victim:?}").to_lowercase();
            match (add_peer_cell(&town, &endpoint, &name, victim, point, full), victim) {
                (Left::RemoteWithoutConfig, _) => half_added += 1,
                (Left::Nothing, Victim::Bd) => nothing = nothing.max(point),
                (Left::Peer, Victim::Bd) => added = added.min(point),
                _ => {}
            }
        }
    }
    // On a loaded machine the window between the remote and the config can
    // fall between two points: look for it between the two that bracket it.
    for extra in 0..16 {
        if half_added > 0 || nothing >= added {
            break;
        }
        let point = (nothing + added) / 2;
        match add_peer_cell(&town, &endpoint, &format!("extra{extra}"), Victim::Bd, point, full) {
            Left::RemoteWithoutConfig => half_added += 1,
            Left::Nothing => nothing = point,
            Left::Peer => added = point,
        }
    }
    assert!(half_added > 0, "no kill left a remote without its config ({full:?}): the sweep missed the window");
}

#[test]
fn a_half_added_peer_with_another_endpoint_says_what_exists_and_how_to_clear_it() {
    let town = Town::federated("town-a");
    let (first, second) = (Mailbox::new(), Mailbox::new());
    // What an add-peer killed after its first step leaves (the sweep above
    // shows it happens): the dolt remote, without config.
    town.dolt(["remote", "add", "half", &first.endpoint()]).success();
    let before = (town.config_text(), town.remotes());
    let out = town.bd(["federation", "add-peer", "half", &second.endpoint()]).code(1);
    assert!(out.stderr.contains(&first.endpoint()), "the error must name what exists:\n{}", out.stderr);
    out.stderr_has("bd federation remove-peer half");
    assert_eq!((town.config_text(), town.remotes()), before, "a refused add changes nothing");
    town.bd(["federation", "remove-peer", "half"]).success();
    town.bd(["federation", "add-peer", "half", &second.endpoint()]).success();
    assert_eq!(town.remotes(), [format!("half {}", second.endpoint())]);
}
