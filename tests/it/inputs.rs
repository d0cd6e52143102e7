//! Bad input: look-alike and control characters, huge values, YAML alias
//! bombs and malformed JSONL each end in a clear error that names the input
//! and the rule, with a non-zero exit and nothing half-written.

use std::fmt::Write as _;

use crate::support::Town;

/// The number of dolt commits in the town.
fn commits(town: &Town) -> u64 {
    town.sql("SELECT COUNT(*) AS n FROM dolt_log")[0]["n"].as_u64().expect("count")
}

/// A "billion laughs" YAML: nine levels of nine aliases.
fn alias_bomb() -> String {
    let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (prev, next) in ('a'..='h').zip('b'..='i') {
        let _ = writeln!(text, "{next}: &{next} [{}]", vec![format!("*{prev}"); 9].join(", "));
    }
    text
}

#[test]
fn add_peer_refuses_look_alike_and_control_characters_and_changes_nothing() {
    let town = Town::federated("town-a");
    let (config, remotes) = (town.config_text(), town.remotes());
    let huge = format!("file:///{}", "x".repeat(5000));
    let cases: [(&str, &str, &str); 5] = [
        // Cyrillic 'а' (U+0430) in place of the Latin 'a'.
        ("st\u{430}ging", "file:///tmp/x", "non-ASCII character 'а' (U+0430) at position 3"),
        ("ok\u{1b}[31m", "file:///tmp/x", "control character '\\u{1b}' (U+001B)"),
        ("ok", "https://g\u{456}thub.com/org/beads", "the host contains the non-ASCII character 'і' (U+0456)"),
        ("ok", "ssh://-oProxyCommand=touch/x", "a host or user may not start with '-'"),
        ("ok", &huge, "endpoints are at most 4096"),
    ];
    for (name, endpoint, why) in cases {
        let run = town.bd(["federation", "add-peer", name, endpoint]).code(2).stderr_has(why);
        assert!(!run.stderr.contains('\u{1b}'), "the terminal escape is shown escaped, not sent: {:?}", run.stderr);
        assert!(run.stderr.len() < 1000, "a huge input is cut in the message:\n{}", run.stderr);
        assert_eq!(town.config_text(), config, "config changed by {name:?} {endpoint:.40}");
        assert_eq!(town.remotes(), remotes, "remotes changed by {name:?}");
    }
}

#[test]
fn an_alias_bomb_in_a_config_file_is_a_quick_clear_error() {
    let town = Town::new();
    let project = town.dir().join(".beads/config.yaml");
    let before = town.config_text();
    std::fs::write(&project, alias_bomb()).expect("write");
    town.bd(["config", "list"])
        .code(1)
        .stderr_has("config.yaml")
        .stderr_has("expands to more than 10000 YAML values")
        .stderr_has("remove the anchors (&) and aliases (*)");
    std::fs::write(&project, before).expect("restore");
    // The user file is read by every town: the same limit applies.
    let user = town.sandbox().path().join("config/bd/config.yaml");
    std::fs::create_dir_all(user.parent().expect("dir")).expect("mkdir");
    std::fs::write(&user, alias_bomb()).expect("write");
    town.bd(["config", "list"]).code(1).stderr_has("config/bd/config.yaml").stderr_has("remove the anchors");
}

#[test]
fn a_huge_config_file_is_refused_unread_and_left_alone() {
    let town = Town::new();
    let project = town.dir().join(".beads/config.yaml");
    let huge = format!("sync:\n  mode: git-portable\n{}", "# padding\n".repeat(200_000));
    std::fs::write(&project, &huge).expect("write");
    town.bd(["config", "list"]).code(1).stderr_has("bd reads config files of at most 1048576 bytes");
    town.bd(["config", "set", "town.name", "other"]).code(1).stderr_has("at most 1048576 bytes");
    assert_eq!(std::fs::read_to_string(&project).expect("read"), huge, "the file is untouched");
}

#[test]
fn config_values_and_files_with_hidden_characters_are_refused() {
    let town = Town::new();
    let before = town.config_text();
    // A newline would smuggle a second key into the file.
    town.bd(["config", "set", "town.name", "x\nsync:\n  mode: realtime"])
        .code(2)
        .stderr_has("single-line text")
        .stderr_has("control character '\\n'");
    town.bd(["config", "set", "town.name", &"x".repeat(5000)]).code(2).stderr_has("it is 5000 bytes long");
    // 'dоlt-native' with a Cyrillic 'о' reads as the valid value.
    town.bd(["config", "set", "sync.mode", "d\u{43e}lt-native"])
        .code(2)
        .stderr_has("expected one of git-portable")
        .stderr_has("the non-ASCII character 'о' (U+043E)");
    assert_eq!(town.config_text(), before, "nothing was written");
    let project = town.dir().join(".beads/config.yaml");
    std::fs::write(&project, "town:\n  name: \"evil\\e]0;owned\\a\"\n").expect("write");
    let run = town.bd(["config", "list"]).code(1).stderr_has("the value of town.name contains the control character");
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}

#[test]
fn a_bad_jsonl_file_lists_every_bad_line_and_imports_nothing() {
    let town = Town::new();
    town.create("Already here");
    let before = commits(&town);
    let file = town.sandbox().path().join("bad.jsonl");
    let good = r#"{"id":"x-1","title":"ok","description":"","design":"","acceptance_criteria":"","notes":"","created_at":"2026-01-01 00:00:00","updated_at":"2026-01-01 00:00:00"}"#;
    let lines = [
        good,
        r#"["not", "an", "object"]"#,
        r#"{"id":7,"title":"numeric id"}"#,
        r#"{"id":"x-\u0430","title":"look-alike"}"#,
        r#"{"id":"x-3","title":"t","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","status":"Open"}"#,
        r#"{"id":"x-4","title":5}"#,
        r#"{"id":"x-5","title":"t","labels":[{"nested":"table"}]}"#,
    ];
    std::fs::write(&file, lines.join("\n")).expect("write");
    let run = town
        .bd(["import", file.to_str().expect("utf8")])
        .code(1)
        .stderr_has("6 lines of")
        .stderr_has("\n  each line is one JSON object:\n    /")
        .stderr_has("bad.jsonl:2: not a JSON object but a list\n")
        .stderr_has(
            "\n  ids are 1 to 255 ASCII letters, digits, '-', '_' and '.', starting with a letter or digit:\n    /",
        )
        .stderr_has("bad.jsonl:3: the id is a number, not a string\n")
        .stderr_has("bad.jsonl:4: the id 'x-\u{430}' is not valid: it contains the non-ASCII character")
        .stderr_has("\n  a status or type is 1 to 32 lowercase ASCII letters, digits, '_' and '-':\n    /")
        .stderr_has("bad.jsonl:5: the issues.status 'Open' is not such a word\n")
        .stderr_has("\n  issues.title is a string of at most 500 characters:\n    /")
        .stderr_has("bad.jsonl:6: it is a number\n")
        .stderr_has("\n  labels.label is a string of at most 255 characters:\n    /")
        .stderr_has("bad.jsonl:7: labels[0]: it is an object")
        .stderr_has("nothing was imported");
    // Each rule is stated once, above the lines that break it.
    assert_eq!(run.stderr.matches("ids are 1 to 255").count(), 1, "{}", run.stderr);
    assert_eq!(commits(&town), before, "no dolt commit was made");
    let titles: Vec<String> = town
        .bd(["--json", "list"])
        .success()
        .json()
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["title"].to_string())
        .collect();
    assert_eq!(titles, ["\"Already here\""], "the good first line was not imported either");
    // The good line alone imports.
    std::fs::write(&file, good).expect("write");
    town.bd(["--json", "import", file.to_str().expect("utf8")]).success().stdout_has("\"added\":1");
    assert_eq!(commits(&town), before + 1);
}
