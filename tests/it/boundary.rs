//! The trust boundary: a hostile or broken peer's commits are checked
//! before anything of them lands, and nothing from the database reaches a
//! reader's terminal as a control sequence.

use crate::support::{Mailbox, Town, dolt, link};

/// A victim town that shared one issue with a comment through `mailbox`.
fn victim() -> (Town, Mailbox, String) {
    let victim = Town::federated("victim");
    let mailbox = Mailbox::new();
    victim.bd(["federation", "add-peer", "hub", &mailbox.endpoint()]).success();
    let id = victim.create("Victim's issue");
    victim.bd(["comment", &id, "Victim's comment"]).success();
    victim.bd(["federation", "push", "hub"]).success();
    (victim, mailbox, id)
}

/// Plain dolt commits on the hub, made through a clone of it, as a hostile
/// peer would push them.
fn attack(town: &Town, mailbox: &Mailbox, statements: &str) {
    let clone = town.sandbox().path().join(format!("attacker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&clone);
    let endpoint = mailbox.endpoint();
    town.run(dolt(), town.sandbox().path(), ["clone", endpoint.as_str(), clone.to_str().expect("utf8")]).success();
    town.run(dolt(), &clone, ["sql", "-q", statements]).success();
    town.run(dolt(), &clone, ["commit", "-Am", "helpful cleanup", "--author", "Mallory <m@evil.example>"]).success();
    town.run(dolt(), &clone, ["push", "origin", "main"]).success();
}

/// Each attack, its statements, and what the refusal says of it.
const ATTACKS: [(&str, &str, &str); 9] = [
    ("drop table", "DROP TABLE comments", "drops the table 'comments'"),
    ("new column", "ALTER TABLE issues ADD COLUMN evil TEXT", "changes the columns, keys or indexes of 'issues'"),
    (
        "bad row",
        "INSERT INTO issues (id, title, description, design, acceptance_criteria, notes, status, priority, issue_type, \
         created_at, updated_at) VALUES ('zz bad id', 'x', '', '', '', '', 'weird', 99, 'nonsense', NOW(), NOW())",
        "issues row of issue 'zz bad id' has an id that is not <prefix>-<id>",
    ),
    ("bad type", "UPDATE issues SET issue_type = 'Task!'", "has a status or type that is not a lower-case word"),
    ("raw delete", "DELETE FROM comments; DELETE FROM issues", "was deleted as a raw row"),
    (
        "control characters",
        "UPDATE issues SET title = CONCAT('pwned', CHAR(27), ']0;owned', CHAR(7), CHAR(27), '[2J')",
        "issues row of issue 'victim-",
    ),
    (
        "orphan comment",
        "INSERT INTO comments (id, issue_id, author, text, created_at) VALUES ('x-1', 'nobody-1', 'm', 'hi', NOW())",
        "comments row of issue 'nobody-1' belongs to no issue",
    ),
    ("comment control", "UPDATE comments SET text = CONCAT('hi', CHAR(27), '[2J')", "comments row of issue"),
    ("event control", "UPDATE events SET new_value = CONCAT('x', CHAR(27), '[2J')", "events row of issue"),
];

#[test]
fn what_a_peer_sends_is_checked_before_it_lands() {
    for (name, statements, says) in ATTACKS {
        let (victim, mailbox, id) = victim();
        attack(&victim, &mailbox, statements);
        let before = victim.sql("SELECT HASHOF('main') AS h")[0]["h"].clone();
        for args in [
            &["federation", "pull", "hub", "--dry-run"][..],
            &["federation", "pull", "hub"],
            &["federation", "sync", "hub"],
        ] {
            let out = victim.bd(args).code(1);
            assert!(
                out.stderr.contains("peer 'hub'") && out.stderr.contains("refuses") && out.stderr.contains(says),
                "{name} {args:?}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains('\x1b'), "{name}: a control character reached stderr");
            assert!(!out.stderr.contains("SELECT"), "{name}: raw SQL in the error: {}", out.stderr);
        }
        assert_eq!(victim.sql("SELECT HASHOF('main') AS h")[0]["h"], before, "{name}: something landed");
        let status = victim.bd(["federation", "status"]);
        assert!(!status.stdout.contains('\x1b') && !status.stderr.contains('\x1b'), "{name}: status");
        let shown = victim.bd(["--json", "show", &id]).success().json();
        assert_eq!(shown["title"], "Victim's issue", "{name}");
        assert_eq!(shown["comments"][0]["text"], "Victim's comment", "{name}");
        victim.create("Still writable");
        victim.dolt(["fsck", "--quiet"]).success();
        let log = victim.bd(["--json", "federation", "log"]).success().stdout;
        assert!(log.contains("refuses"), "{name}: the refusal is not in the audit log: {log}");
        // The victim still syncs with an honest peer.
        let honest = Town::federated("honest");
        let _link = link(&victim, "honest", &honest, "victim");
        victim.bd(["federation", "push", "honest"]).success();
        honest.bd(["federation", "pull", "victim"]).success();
        assert!(honest.titles().contains(&"Still writable".to_owned()), "{name}");
    }
}

#[test]
fn text_from_the_database_never_drives_the_terminal() {
    let town = Town::new();
    let id = town.create("plain");
    town.dolt(["sql", "-q", &format!(
        "UPDATE issues SET title = CONCAT('t', CHAR(27), ']0;owned', CHAR(7), CHAR(27), '[2J', CHAR(13)) WHERE id = '{id}'; \
         CALL DOLT_COMMIT('-Am', 'raw')"
    )])
    .success();
    for args in [&["list"][..], &["show", &id]] {
        let out = town.bd(args).success();
        assert!(!out.stdout.contains('\x1b') && !out.stdout.contains('\x07') && !out.stdout.contains('\r'), "{args:?}");
        assert!(out.stdout.contains("t\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{d}"), "{args:?}: {}", out.stdout);
        // On a real terminal (a pty, colour on) the same holds.
        let command = format!("{} --color always {}", crate::support::bin_dir().join("bd").display(), args.join(" "));
        let tty = town.run("script", town.dir(), ["-qec", &command, "/dev/null"]).success();
        let hostile = ["\x1b]0;", "\x1b[2J", "\x07"];
        assert!(!hostile.iter().any(|h| tty.stdout.contains(h)), "{args:?} on a pty: {:?}", tty.stdout);
        assert!(tty.stdout.contains("\\u{1b}[2J"), "{args:?} on a pty: {:?}", tty.stdout);
    }
    // JSON escapes them as JSON does.
    let json = town.bd(["--json", "show", &id]).success();
    assert!(!json.stdout.contains('\x1b') && json.stdout.contains("\\u001b"), "{}", json.stdout);
}

#[test]
fn a_t2_town_sends_only_where_its_patterns_allow_and_where_dolt_really_goes() {
    let town = Town::federated("town-a");
    town.create("Internal");
    town.bd(["config", "set", "federation.sovereignty", "T2"]).success();
    let mailbox = Mailbox::new();
    let deep = format!("{}/db", mailbox.endpoint());
    town.bd(["federation", "add-peer", "deep", &deep]).success();
    // `*` stays within one part of the path: it does not reach a/b.
    town.bd(["config", "set", "federation.allowed-remote-patterns", "file:///tmp/*"]).success();
    town.bd(["federation", "push", "deep"]).code(1).stderr_has("forbids pushing to peer 'deep'");
    town.bd(["config", "set", "federation.allowed-remote-patterns", &format!("{}/**", mailbox.endpoint())]).success();
    town.bd(["federation", "push", "deep"]).success();
    // The endpoint changed in config but not in dolt: the check would pass on
    // one address while the data went to another.
    let moved = format!("{}/moved", mailbox.endpoint());
    town.bd(["config", "set", "federation.peers.deep.endpoint", &moved]).success();
    town.create("More");
    let out = town.bd(["federation", "push", "deep"]).code(1).stderr_has("is not where its configuration says");
    let repair = out.stderr.split('`').nth(1).expect("a repair command").to_owned();
    let path = crate::support::path_with(&[]);
    town.run_with_path(&path, std::path::Path::new("/bin/sh"), &["-c", &repair]).success();
    town.bd(["federation", "push", "deep"]).success();
    assert!(town.remotes().iter().any(|r| r.contains("/moved")), "{:?}", town.remotes());
}

/// A T3 town never merges its peer's history: it copies in other towns'
/// issues and partners' comments on its own. Those rows cross the same
/// boundary as a merge's.
#[test]
fn rows_copied_from_a_t3_peer_are_checked_before_they_land() {
    const FOREIGN: &str = "INSERT INTO issues (id, title, description, design, acceptance_criteria, notes, status, \
                           priority, issue_type, source_system, created_at, updated_at) VALUES ";
    let cases = [
        (
            "bad row",
            format!("{FOREIGN} ('zz bad id', 'x', '', '', '', '', 'weird', 99, 'nonsense', 'other', NOW(), NOW())"),
        ),
        (
            "control characters",
            format!(
                "{FOREIGN} ('other-1', CONCAT('t', CHAR(27), '[2J'), '', '', '', '', 'open', 1, 'task', 'other', NOW(), NOW())"
            ),
        ),
        (
            "partner's comment",
            "INSERT INTO comments (id, issue_id, author, text, created_at) \
             SELECT 'other-c1', id, 'm', CONCAT('hi', CHAR(27), ']0;owned', CHAR(7)), NOW() FROM issues"
                .to_owned(),
        ),
        ("new column", "ALTER TABLE issues ADD COLUMN evil TEXT".to_owned()),
    ];
    for (name, statements) in cases {
        let victim = Town::federated("victim");
        let mailbox = Mailbox::new();
        victim.bd(["config", "set", "federation.allowed-remote-patterns", "file://**"]).success();
        victim.bd(["federation", "add-peer", "hub", &mailbox.endpoint(), "--sovereignty", "T3"]).success();
        let id = victim.create("Victim's issue");
        victim.bd(["federation", "push", "hub"]).success();
        attack(&victim, &mailbox, &statements);
        let before = victim.sql("SELECT HASHOF('main') AS h")[0]["h"].clone();
        for args in [&["federation", "pull", "hub", "--dry-run"][..], &["federation", "pull", "hub"]] {
            let out = victim.bd(args).code(1);
            assert!(
                out.stderr.contains("peer 'hub'") && out.stderr.contains("refuses"),
                "{name} {args:?}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains('\x1b') && !out.stderr.contains("SELECT"), "{name}: {}", out.stderr);
        }
        assert_eq!(victim.sql("SELECT HASHOF('main') AS h")[0]["h"], before, "{name}: something landed");
        let shown = victim.bd(["--json", "show", &id]).success().json();
        assert_eq!(shown["comments"].as_array().map(Vec::len), Some(0), "{name}: {shown}");
        assert_eq!(victim.bd(["--json", "list", "--all"]).success().json().as_array().map(Vec::len), Some(1), "{name}");
        let log = victim.bd(["--json", "federation", "log"]).success().stdout;
        assert!(log.contains("refuses"), "{name}: the refusal is not in the audit log: {log}");
    }
}

/// A peer on an older schema version this bd knows is compared with the
/// schema this town had at that version, not let through unchecked.
#[test]
fn a_peer_on_an_older_schema_is_held_to_that_versions_schema() {
    const V2: &[(&str, &str)] = &[("BD_TEST_SCHEMA_V2", "1")];
    let (victim, mailbox, id) = victim();
    attack(&victim, &mailbox, "ALTER TABLE comments ADD COLUMN evil TEXT");
    let before = victim.sql("SELECT HASHOF('main') AS h")[0]["h"].clone();
    let out = victim.bd_env(V2, ["federation", "pull", "hub"]).code(1);
    assert!(out.stderr.contains("peer 'hub'") && out.stderr.contains("schema"), "{}", out.stderr);
    assert!(out.stderr.contains("'comments'"), "the refusal names the table: {}", out.stderr);
    // Our own migration is all that happened here.
    let log = victim.sql("SELECT message FROM dolt_log LIMIT 1");
    assert_eq!(log[0]["message"], "bd: migrate schema to v2", "{log:?} (was {before})");
    let columns = victim.sql("SELECT COUNT(*) AS n FROM information_schema.columns WHERE column_name = 'evil'");
    assert_eq!(columns[0]["n"], 0, "the peer's column landed");
    victim.bd_env(V2, ["comment", &id, "Still writable"]).success();
}
