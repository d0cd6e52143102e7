//! The audit log survives damage: a torn last line does not swallow the
//! next entry, and a line that is not text is skipped with a warning that
//! names the file and the line, losing nothing else.

use crate::support::{Mailbox, Town};

/// A federated town with peer `b` and one push recorded; returns the log's
/// path and its one line.
fn town_with_one_push() -> (Town, Mailbox, std::path::PathBuf, String) {
    let town = Town::federated("town-a");
    let mailbox = Mailbox::new();
    town.bd(["federation", "add-peer", "b", &mailbox.endpoint()]).success();
    town.create("First");
    town.bd(["federation", "push", "b"]).success();
    let log = town.dir().join(".beads/federation-log.jsonl");
    let text = std::fs::read_to_string(&log).expect("log");
    let line = text.lines().next().expect("one entry").to_owned();
    (town, mailbox, log, line)
}

fn operations(town: &Town) -> Vec<String> {
    let entries = town.bd(["--json", "federation", "log"]).success().json();
    entries.as_array().expect("array").iter().map(|e| e["operation"].as_str().expect("op").to_owned()).collect()
}

#[test]
fn an_entry_after_a_torn_line_is_kept() {
    let (town, _mailbox, log, line) = town_with_one_push();
    // A crash mid-append left half a line without its newline.
    std::fs::write(&log, format!("{line}\n{}", &line[..line.len() / 2])).expect("tear");
    town.bd(["federation", "fetch", "b"]).success();
    assert_eq!(operations(&town), ["push", "fetch"], "the new entry is not glued to the torn line");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.ends_with("}\n") && text.lines().count() == 3, "{text}");
}

#[test]
fn a_line_that_is_not_text_is_skipped_with_a_warning_naming_file_and_line() {
    let (town, _mailbox, log, line) = town_with_one_push();
    let mut bytes = format!("{line}\n").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe not text\n");
    bytes.extend_from_slice(format!("{}\n", line.replace("\"push\"", "\"pull\"")).as_bytes());
    std::fs::write(&log, bytes).expect("damage");
    let run = town.bd(["--json", "federation", "log"]).success();
    let entries = run.json();
    let ops: Vec<&str> = entries.as_array().expect("array").iter().filter_map(|e| e["operation"].as_str()).collect();
    assert_eq!(ops, ["push", "pull"], "both good entries are shown");
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("federation-log.jsonl") && run.stderr.contains("line 2"),
        "the skipped line is named: {}",
        run.stderr
    );
    town.bd(["federation", "log"]).success().stderr_has("line 2");
}
