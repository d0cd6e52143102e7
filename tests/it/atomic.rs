//! Every command's change to the database is whole or absent: input that
//! cannot be stored is refused by name before anything runs, a statement
//! that fails mid-write leaves the working set as it was, errors never dump
//! SQL, and no command commits changes it did not make.

use serde_json::Value;

use crate::support::Town;

/// The number of dolt commits in the town.
fn commits(town: &Town) -> u64 {
    town.sql("SELECT COUNT(*) AS n FROM dolt_log")[0]["n"].as_u64().expect("count")
}

/// The tables with uncommitted changes.
fn pending(town: &Town) -> Vec<String> {
    town.sql("SELECT table_name FROM dolt_status ORDER BY table_name")
        .iter()
        .map(|r| r["table_name"].as_str().expect("name").to_owned())
        .collect()
}

/// The tables the newest commit changed.
fn last_commit_tables(town: &Town) -> Vec<String> {
    town.sql("SELECT table_name FROM dolt_diff WHERE commit_hash = HASHOF('HEAD') ORDER BY table_name")
        .iter()
        .map(|r| r["table_name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn input_over_a_column_limit_is_refused_by_name_and_nothing_is_left_behind() {
    let town = Town::new();
    let before = commits(&town);
    let label = "l".repeat(300);
    let run = town.bd(["create", "x", "-l", &label]).code(2).stderr_has("the label 'llll").stderr_has(
        "(cut; 300 characters in all) is too long: it is 300 characters, and a label holds at most 255 characters",
    );
    assert!(!run.stderr.contains("INSERT"), "no SQL in the error:\n{}", run.stderr);
    let title = "t".repeat(5000);
    let run = town.bd(["create", &title]).code(2).stderr_has("a title holds at most 500 characters");
    assert!(run.stderr.len() < 600 && !run.stderr.contains("INSERT"), "a short error without SQL:\n{}", run.stderr);
    let id = town.create("Fine");
    let cases: [(&[&str], &str); 4] = [
        (&["update", &id, "-a", &"a".repeat(256)], "an assignee holds at most 255"),
        (&["update", &id, "--title", &title], "a title holds at most 500"),
        (&["close", &id, "--reason", &"r".repeat(70_000)], "a reason holds at most 65535 bytes"),
        (&["comment", &id, &"c".repeat(70_000)], "a comment holds at most 65535 bytes"),
    ];
    for (args, rule) in cases {
        let run = town.bd(args).code(2).stderr_has(rule);
        assert!(run.stderr.len() < 600, "{}", run.stderr);
    }
    let long_id = format!("{id}{}", "x".repeat(300));
    town.bd(["show", &long_id]).code(2).stderr_has("is not valid: it is 312 characters long");
    assert_eq!(pending(&town), Vec::<String>::new(), "nothing was left in the working set");
    assert_eq!(commits(&town), before + 1, "only the good create committed");
    assert_eq!(town.titles(), ["Fine"]);
    assert_eq!(last_commit_tables(&town), ["events", "issues"], "the good create committed only its own rows");
}

#[test]
fn a_statement_that_fails_mid_write_leaves_the_working_set_as_it_was() {
    let town = Town::new();
    // A rule the database holds that bd does not know: the label insert,
    // after the issue insert, fails inside dolt.
    town.dolt(["sql", "-q", "ALTER TABLE labels ADD CONSTRAINT no_boom CHECK (label <> 'boom')"]).success();
    town.dolt(["commit", "-Am", "local rule"]).success();
    let before = commits(&town);
    let run = town.bd(["create", "Half", "-l", "boom"]).code(1).stderr_has("no_boom");
    assert!(!run.stderr.contains("INSERT INTO"), "the statement is not repeated:\n{}", run.stderr);
    assert_eq!(pending(&town), Vec::<String>::new(), "the issue row did not stay behind");
    assert_eq!(commits(&town), before);
    let id = town.create("Next");
    let titles: Vec<Value> = town.sql("SELECT title FROM issues").iter().map(|r| r["title"].clone()).collect();
    assert_eq!(titles, [Value::from("Next")], "the next command committed only its own issue ({id})");
}

#[test]
fn a_write_refuses_changes_it_did_not_make_and_doctor_names_them() {
    let town = Town::new();
    let id = town.create("Mine");
    town.dolt(["sql", "-q", &format!("INSERT INTO labels VALUES ('{id}', 'raw')")]).success();
    let before = commits(&town);
    town.bd(["create", "Another"])
        .code(1)
        .stderr_has("changes no bd command made, in the table(s) 'labels'")
        .stderr_has("dolt commit -Am")
        .stderr_has("dolt reset --hard");
    town.bd(["update", &id, "-p", "1"]).code(1).stderr_has("'labels'");
    assert_eq!(commits(&town), before, "nothing was committed");
    assert_eq!(pending(&town), ["labels"], "the pending change is untouched");
    assert_eq!(town.sql("SELECT label FROM labels")[0]["label"], "raw");
    assert_eq!(town.titles(), ["Mine"]);
    let doctor = town.bd(["--json", "doctor"]).code(1).json();
    let check = doctor["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "pending").cloned();
    let check = check.unwrap_or_else(|| panic!("doctor reports the pending change: {doctor}"));
    assert_eq!(check["level"], "fail");
    assert!(check["message"].as_str().is_some_and(|m| m.contains("'labels'")), "{check}");
    assert!(check["fix"].as_str().is_some_and(|f| f.contains("dolt reset --hard")), "{check}");
    // Once the user keeps them, bd writes again.
    town.dolt(["commit", "-Am", "my own change"]).success();
    town.bd(["create", "Another"]).success();
}
