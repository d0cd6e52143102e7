//! Contention, with the real dolt. Three towns syncing one hub at once,
//! eight rounds each: a sync that loses a push race to another town fetches,
//! merges and pushes again within its time bound, so almost none gives up,
//! and afterwards every town and the hub hold the same issues. And many
//! peers in one status: they share one dolt process, yet a silent peer
//! costs its own time bound and no other peer's.

use std::time::{Duration, Instant};

use crate::support::procs::{finish, fsck, record_cell, remote_titles, spawn_bd};
use crate::support::{Mailbox, Run, Town};

const ROUNDS: usize = 8;
/// What a sync that gave up on lost races says.
const RACE_LOST: &str = "has changes this town does not have";

#[test]
fn three_towns_syncing_one_hub_at_once_rarely_give_up() {
    let hub = Mailbox::new();
    let towns: Vec<Town> = ["town-a", "town-b", "town-c"].into_iter().map(Town::federated).collect();
    for town in &towns {
        town.bd(["federation", "add-peer", "hub", &hub.endpoint()]).success();
    }
    // One shared history to start from.
    towns[0].create("seed");
    towns[0].bd(["federation", "push", "hub"]).success();
    for town in &towns[1..] {
        town.bd(["federation", "pull", "hub"]).success();
    }

    let runs: Vec<Vec<Run>> = std::thread::scope(|scope| {
        let workers: Vec<_> = towns
            .iter()
            .enumerate()
            .map(|(t, town)| {
                scope.spawn(move || {
                    (0..ROUNDS)
                        .map(|round| {
                            town.create(&format!("town {t} round {round}"));
                            finish(spawn_bd(town, &["--json", "federation", "sync", "hub"]))
                        })
                        .collect::<Vec<Run>>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a town's rounds")).collect()
    });

    let all: Vec<&Run> = runs.iter().flatten().collect();
    let gave_up: Vec<&&Run> = all.iter().filter(|r| r.code != 0).collect();
    for run in &gave_up {
        // Giving up is allowed only as the clear lost-race refusal.
        assert!(
            run.code == 1 && run.stderr.contains(RACE_LOST),
            "a sync failed unclearly (exit {}):\nstdout:\n{}\nstderr:\n{}",
            run.code,
            run.stdout,
            run.stderr
        );
    }
    let lost: Vec<usize> = runs.iter().map(|r| r.iter().filter(|r| r.code != 0).count()).collect();
    assert!(
        gave_up.len() * 10 <= all.len(),
        "{} of {} syncs gave up on a lost push race (per town: {lost:?}); at most 1 in 10 may",
        gave_up.len(),
        all.len()
    );
    // A sync that succeeded sent its town's issue of that round.
    let there = remote_titles(&towns[0], &hub.endpoint());
    for (t, town_runs) in runs.iter().enumerate() {
        for (round, run) in town_runs.iter().enumerate() {
            let title = format!("town {t} round {round}");
            if run.code == 0 {
                assert!(there.contains(&title), "{title}: the sync reported success but the hub lacks it: {there:?}");
            }
        }
    }

    // The towns converge: after one more sync each, in turn, all hold the same issues.
    for town in towns.iter().chain(&towns[..2]) {
        town.bd(["federation", "sync", "hub"]).success();
    }
    let mut there = remote_titles(&towns[0], &hub.endpoint());
    there.sort();
    assert_eq!(there.len(), 1 + towns.len() * ROUNDS, "every issue reached the hub: {there:?}");
    for town in &towns {
        fsck(town, &town.dolt_dir());
        assert_eq!(town.titles(), there, "{} differs from the hub", town.dir().display());
    }
    record_cell(
        "concurrency",
        &format!(
            "{:<40} | {} of {} syncs gave up (per town {lost:?}) | converged, fsck ok",
            "3 towns x 8 syncs of one hub at once",
            gave_up.len(),
            all.len()
        ),
    );
}

#[test]
fn a_silent_peer_costs_a_status_its_own_bound_only() {
    let silent = crate::support::SilentPeer::start(8);
    let town = Town::federated("town-a");
    town.create("shared with every peer");
    let mailboxes: Vec<Mailbox> = (0..4).map(|_| Mailbox::new()).collect();
    // The silent peer sits between the others, by name and by order of adding.
    let names = ["p0", "p1", "p15", "p2", "p3"];
    let mut boxes = mailboxes.iter();
    for name in names {
        let endpoint = match name {
            "p15" => silent.endpoint(),
            _ => boxes.next().expect("a mailbox").endpoint(),
        };
        town.bd(["federation", "add-peer", name, &endpoint]).success();
        if name != "p15" {
            town.bd(["federation", "push", name]).success();
        }
    }
    let bound = Duration::from_secs(4);
    let started = Instant::now();
    let out = town.bd(["--json", "federation", "status", "--timeout", "4s"]).code(3);
    let took = started.elapsed();
    let status = out.json();
    let peers = status["peers"].as_array().expect("peers");
    let names_seen: Vec<&str> = peers.iter().map(|p| p["peer"].as_str().expect("peer")).collect();
    assert_eq!(names_seen.len(), names.len(), "{status}");
    for peer in peers {
        let name = peer["peer"].as_str().expect("peer");
        if name == "p15" {
            assert_eq!(peer["reachable"], false, "{peer}");
            assert!(peer["error"].as_str().is_some_and(|e| e.contains("did not answer in time")), "{peer}");
        } else {
            // The peers after the silent one were surveyed too, with their own bound.
            assert_eq!(peer["reachable"], true, "{name} was not surveyed: {peer}");
            assert_eq!((peer["ahead"].as_u64(), peer["behind"].as_u64()), (Some(0), Some(0)), "{peer}");
        }
    }
    assert!(took >= bound, "the silent peer was given up on before its bound: {took:?}");
    assert!(took < bound * 2, "the status took {took:?}: the silent peer cost more than its own {bound:?}");
    record_cell(
        "concurrency",
        &format!(
            "{:<40} | {} ms with a 4 s bound | the other 4 peers reachable",
            "status of 5 peers, one silent",
            took.as_millis()
        ),
    );
    drop(silent);
}
