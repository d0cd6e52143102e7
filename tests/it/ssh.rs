//! `git@host:path` and `ssh://host/path` peers with the real dolt, which
//! keeps a town's data in a git repository it reaches through git over ssh.
//! A local stand-in for ssh (`tests/fixtures/ssh-standin`, named by
//! `GIT_SSH_COMMAND`) runs the remote git commands on this machine, so two
//! towns push and pull through a bare repository as through a server.

use std::path::{Path, PathBuf};

use crate::support::Town;

/// The ssh stand-in and the log it appends each remote command to.
fn ssh_env(log: &Path) -> [(&'static str, String); 2] {
    let standin = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssh-standin");
    [("GIT_SSH_COMMAND", standin.display().to_string()), ("SSH_STANDIN_LOG", log.display().to_string())]
}

#[test]
fn git_at_and_ssh_peers_push_and_pull_through_a_bare_repository() {
    let a = Town::federated("town-a");
    let b = Town::federated("town-b");
    let server: PathBuf = a.sandbox().path().join("server");
    let repo = server.join("beads.git");
    std::fs::create_dir_all(&server).expect("server dir");
    a.run("git", &server, ["init", "-q", "--bare", "beads.git"]).success();
    let log = server.join("ssh.log");
    let env = ssh_env(&log);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let git_at = format!("git@localhost:{}", repo.display());
    let ssh = format!("ssh://localhost{}", repo.display());
    a.bd(["federation", "add-peer", "hub", &git_at]).success();
    b.bd(["federation", "add-peer", "hub", &ssh]).success();
    let made_in_a = a.create("Made in A");

    // dolt needs a first commit on the server, as its error says.
    a.bd_env(&env, ["federation", "push", "hub"])
        .code(1)
        .stderr_has("peer 'hub'")
        .stderr_has("initialize the repository with an initial branch/commit first");
    let seed = server.join("seed");
    a.run("git", &server, ["init", "-q", "seed"]).success();
    a.run(
        "git",
        &seed,
        [
            "-c",
            "user.name=admin",
            "-c",
            "user.email=admin@server.invalid",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "first",
        ],
    )
    .success();
    a.run("git", &seed, ["push", "-q", repo.to_str().expect("utf8"), "HEAD:main"]).success();

    let pushed = a.bd_env(&env, ["--json", "federation", "push", "hub"]).success().json();
    assert_eq!(pushed["peers"][0]["status"], "pushed", "{pushed}");
    assert_eq!(pushed["peers"][0]["issues_out"]["added"], 1, "{pushed}");
    b.bd_env(&env, ["federation", "pull", "hub"]).success().stdout_has("1 new");
    assert_eq!(b.titles(), ["Made in A"]);
    assert_eq!(b.bd(["--json", "show", &made_in_a]).success().json()["source_system"], "bd:town-a");

    b.create("Made in B");
    b.bd_env(&env, ["federation", "sync", "hub"]).success().stdout_has("synced");
    a.bd(["update", &made_in_a, "--title", "Made in A, renamed"]).success();
    a.bd_env(&env, ["federation", "sync", "hub"]).success().stdout_has("synced");
    b.bd_env(&env, ["federation", "pull", "hub"]).success();
    for town in [&a, &b] {
        assert_eq!(town.titles(), ["Made in A, renamed", "Made in B"]);
    }

    // Every exchange went through ssh, each town's under its own address,
    // and dolt's data now lives in the bare repository's refs.
    let commands = std::fs::read_to_string(&log).expect("ssh log");
    for (who, host) in [("A", "git@localhost"), ("B", "localhost")] {
        for service in ["git-upload-pack", "git-receive-pack"] {
            let line = format!("{host} {service} '{}'", repo.display());
            assert!(commands.lines().any(|l| l == line), "{who} never ran {line:?} through ssh:\n{commands}");
        }
    }
    let refs = a.run("git", &repo, ["for-each-ref", "--format=%(refname)"]).success().stdout;
    assert!(refs.lines().any(|r| r.starts_with("refs/dolt/")), "no dolt data in the bare repository: {refs}");
}
