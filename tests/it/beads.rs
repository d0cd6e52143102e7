//! Upstream beads' JSONL: `bd import` reads what upstream writes, losing
//! nothing, and `bd export` writes it in upstream's shape.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::support::Town;

/// A real export made by upstream bd 1.0.5 (see `/work/shared/fixtures`).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream-beads-1.0.5-export.jsonl")
}

fn lines(text: &str) -> Vec<Map<String, Value>> {
    text.lines()
        .map(|l| match serde_json::from_str(l).expect("JSON line") {
            Value::Object(o) => o,
            other => panic!("not an object: {other}"),
        })
        .collect()
}

fn export(town: &Town) -> Vec<Map<String, Value>> {
    lines(&town.bd(["export", "-o", "-"]).success().stdout)
}

/// Timestamps as instants, so `…27Z` and `…27.000000Z` compare equal.
fn instants(value: &Value) -> Value {
    match value {
        Value::String(s) if s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T') => {
            let t = bd_shared::clock::parse(s).unwrap_or_else(|| panic!("not a date-time: {s}"));
            Value::String(bd_shared::clock::to_sql(t))
        }
        Value::Array(items) => Value::Array(items.iter().map(instants).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), instants(v))).collect()),
        other => other.clone(),
    }
}

fn keys(map: &Map<String, Value>) -> BTreeSet<&str> {
    map.keys().map(String::as_str).collect()
}

fn import(town: &Town, file: &Path) -> Value {
    town.bd(["--json", "import", file.to_str().expect("utf8")]).success().json()
}

#[test]
fn the_upstream_export_imports_whole_and_comes_back_as_it_was() {
    let town = Town::new();
    let first = import(&town, &fixture());
    assert_eq!((first["added"].as_u64(), first["skipped"].as_u64()), (Some(4), Some(0)), "{first}");
    let mut upstream = lines(&std::fs::read_to_string(fixture()).expect("fixture"));
    // bd writes issues sorted by id, so the file diffs small.
    upstream.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let ours = export(&town);
    assert_eq!(ours.len(), upstream.len());
    for (theirs, mine) in upstream.iter().zip(&ours) {
        // Every field is accounted for: the same field set, in columns or
        // kept in metadata, the derived counts computed the same way.
        assert_eq!(keys(mine), keys(theirs), "fields of {}", theirs["id"]);
        assert_eq!(instants(&Value::Object(mine.clone())), instants(&Value::Object(theirs.clone())));
    }
    // Known fields are in their columns, the rest in metadata.
    let rows =
        town.sql("SELECT status, issue_type, assignee, close_reason, metadata FROM issues WHERE id = 'acme-ig3'");
    assert_eq!(rows[0]["status"], "in_progress");
    assert_eq!(rows[0]["metadata"]["_bd_fields"], json!({"started_at": "2026-12-01T08:13:29Z"}), "{rows:?}");
    let closed = town.bd(["--json", "show", "acme-026"]).success().json();
    assert_eq!(
        (closed["assignee"].as_str(), closed["labels"].clone()),
        (Some("alice@example.com"), json!(["auth", "web"]))
    );
    assert_eq!(closed["comments"][0]["text"], "Reproduced on staging, Bob Smith saw it too");
    // A second import changes nothing.
    let again = import(&town, &fixture());
    assert_eq!(
        (again["added"].as_u64(), again["changed"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(0), Some(4)),
        "{again}"
    );
}

#[test]
fn export_then_import_gives_identical_json() {
    let a = Town::new();
    import(&a, &fixture());
    let id = a.create("Made here");
    a.bd(["comment", &id, "note"]).success();
    let file = a.sandbox().path().join("round.jsonl");
    a.bd(["export", "-o", file.to_str().expect("utf8")]).success();
    let b = Town::named("fresh");
    assert_eq!(import(&b, &file)["added"], 5);
    assert_eq!(a.bd(["--json", "list"]).success().stdout, b.bd(["--json", "list"]).success().stdout);
    for id in ["acme-026", "acme-ig3", &id] {
        assert_eq!(a.bd(["--json", "show", id]).success().stdout, b.bd(["--json", "show", id]).success().stdout);
    }
    assert_eq!(a.bd(["export", "-o", "-"]).success().stdout, b.bd(["export", "-o", "-"]).success().stdout);
}

#[test]
fn the_export_has_upstreams_shape() {
    let town = Town::new();
    let blocker = town.bd(["--json", "create", "Blocker", "-l", "web,auth", "-a", "alice"]).success().json();
    let blocker = blocker["id"].as_str().expect("id").to_owned();
    let waiting = town.create("Waiting");
    town.bd(["comment", &blocker, "a comment"]).success();
    town.bd(["close", &blocker, "--reason", "done"]).success();
    town.dolt([
        "sql",
        "-q",
        &format!(
            "INSERT INTO dependencies VALUES ('{waiting}', '{blocker}', 'blocks', NOW(6), 'tester'); \
             CALL DOLT_COMMIT('-Am', 'dep')"
        ),
    ])
    .success();
    let upstream = lines(&std::fs::read_to_string(fixture()).expect("fixture"));
    let shape = |list: &str| -> BTreeSet<String> {
        upstream
            .iter()
            .flat_map(|i| i.get(list).and_then(Value::as_array).into_iter().flatten())
            .flat_map(|row| row.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default())
            .collect()
    };
    let stamp = |v: &Value| {
        let s = v.as_str().unwrap_or_else(|| panic!("a timestamp string: {v}"));
        // 2026-12-01T08:13:12.788380Z
        let b = s.as_bytes();
        assert!(
            s.len() == 27 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && s.ends_with('Z'),
            "not RFC 3339 UTC with microseconds: {s}"
        );
    };
    for issue in export(&town) {
        assert_eq!(issue["_type"], "issue", "{issue:?}");
        for field in ["created_at", "updated_at", "closed_at"] {
            if let Some(v) = issue.get(field) {
                stamp(v);
            }
        }
        assert!(!issue.values().any(|v| v.is_null() || v == ""), "empty fields are left out: {issue:?}");
        for field in ["dependency_count", "dependent_count", "comment_count"] {
            assert!(issue[field].is_u64(), "{field}: {issue:?}");
        }
        if issue["id"] == blocker.as_str() {
            assert_eq!(issue["labels"], json!(["auth", "web"]));
            assert_eq!((issue["dependent_count"].as_u64(), issue["comment_count"].as_u64()), (Some(1), Some(1)));
            let comment = issue["comments"][0].as_object().expect("comment");
            let names: BTreeSet<String> = comment.keys().cloned().collect();
            assert_eq!(names, shape("comments"), "comments are nested as upstream nests them");
            stamp(&comment["created_at"]);
            let events = issue["events"].as_array().expect("events ride along for bd");
            stamp(&events[0]["created_at"]);
        } else {
            assert!(issue.get("labels").is_none() && issue.get("comments").is_none(), "empty lists are left out");
            let dep = issue["dependencies"][0].as_object().expect("dependency");
            let names: BTreeSet<String> = dep.keys().cloned().collect();
            let upstream_names = shape("dependencies");
            assert!(names.is_subset(&upstream_names) && names.len() == 5, "{names:?} vs {upstream_names:?}");
            assert_eq!((dep["issue_id"].as_str(), dep["type"].as_str()), (Some(waiting.as_str()), Some("blocks")));
            stamp(&dep["created_at"]);
            assert_eq!(issue["dependency_count"], 1);
        }
    }
}

#[test]
fn files_of_the_previous_export_still_import() {
    let town = Town::new();
    let old = r#"{"acceptance_criteria":"","comments":[{"author":"t","created_at":"2026-11-29 02:17:45.520826","id":"townx-c1","text":"a comment"}],"created_at":"2026-11-29 02:17:44.558265","created_by":"t","dependencies":[],"description":"","design":"","events":[{"actor":"t","created_at":"2026-11-29 02:17:44.558265","event_type":"created","id":"townx-e1","new_value":"hello"}],"id":"townx-pyc0ih","issue_type":"task","labels":["x"],"metadata":null,"notes":"","priority":2,"source_system":"bd:town-x","status":"open","title":"hello","updated_at":"2026-11-29 02:17:44.558265"}"#;
    let file = town.sandbox().path().join("old.jsonl");
    std::fs::write(&file, format!("{old}\n")).expect("write");
    assert_eq!(import(&town, &file)["added"], 1);
    let shown = town.bd(["--json", "show", "townx-pyc0ih"]).success().json();
    assert_eq!(
        (shown["updated_at"].as_str(), shown["labels"].clone()),
        (Some("2026-11-29T02:17:44.558265Z"), json!(["x"]))
    );
    assert_eq!(shown["comments"][0]["created_at"], "2026-11-29T02:17:45.520826Z");
}

#[test]
fn comments_numbered_by_older_upstream_releases_import_and_come_back_as_numbers() {
    let town = Town::new();
    let line = r#"{"id":"old-1","title":"From an older beads","status":"open","priority":2,"issue_type":"task","created_at":"2024-03-01T10:00:00Z","updated_at":"2024-03-02T10:00:00Z","comments":[{"id":12,"issue_id":"old-1","author":"alice","text":"first","created_at":"2024-03-01T11:00:00Z"},{"id":13,"issue_id":"old-1","author":"bob","text":"second","created_at":"2024-03-01T12:00:00Z","reactions":2}]}"#;
    let file = town.sandbox().path().join("numbered.jsonl");
    std::fs::write(&file, format!("{line}\n")).expect("write");
    let out = import(&town, &file);
    assert_eq!((out["added"].as_u64(), out["skipped"].as_u64()), (Some(1), Some(0)), "{out}");
    let shown = town.bd(["--json", "show", "old-1"]).success().json();
    let comments: Vec<(&str, &str)> = shown["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| (c["id"].as_str().expect("a text id"), c["text"].as_str().expect("text")))
        .collect();
    assert_eq!(comments, [("12", "first"), ("13", "second")], "{shown}");
    // The export gives the numbers back, with the other fields kept.
    let exported = export(&town);
    let expected = lines(line).remove(0);
    assert_eq!(instants(&exported[0]["comments"]), instants(&expected["comments"]), "{:?}", exported[0]);
    assert_eq!(exported[0]["comments"][0]["id"], json!(12));
}

/// Lines in the shape of upstream's `.beads/issues.jsonl` (JSONL sync
/// modes): no `_type`, agent fields, custom statuses and types, `parent`,
/// and dependencies on issues the file does not hold.
const SYNC_MODE_FILE: &str = r#"{"id":"gt-a1","title":"Mayor","description":"runs the town","design":"d","notes":"n","acceptance_criteria":"a","status":"hooked","priority":1,"issue_type":"agent","created_at":"2026-12-01T08:13:12.788380Z","created_by":"mayor","updated_at":"2026-12-01T09:13:12.788380+01:00","started_at":"2026-12-01T08:14:00Z","ephemeral":true,"pinned":false,"agent_state":"working","last_activity":"2026-12-01T08:15:00Z","hook_bead":"gt-c3","role_type":"mayor","labels":["role:mayor"],"dependency_count":1,"dependent_count":0,"comment_count":1,"dependencies":[{"issue_id":"gt-a1","depends_on_id":"other-rig-77","type":"blocks","created_at":"2026-12-01T08:13:12Z","created_by":"mayor","metadata":"{\"why\":\"upstream\"}","thread_id":"t-1"}],"comments":[{"id":"5e2c","issue_id":"gt-a1","author":"mayor","text":"on it","created_at":"2026-12-01T08:16:00Z"}]}
{"id":"gt-b2","title":"Deliver the convoy","status":"pinned","priority":0,"issue_type":"convoy","created_at":"2026-12-01T08:13:13Z","updated_at":"2026-12-01T08:13:13Z","pinned":true,"wisp_type":"patrol","parent":"gt-a1","dependency_count":0,"dependent_count":0,"comment_count":0}
{"id":"gt-c3","title":"Hello","status":"open","priority":3,"issue_type":"message","created_at":"2026-12-01T08:13:14Z","updated_at":"2026-12-01T08:13:14Z","ephemeral":true,"sender":"gt-a1","parent":"gt-b2","dependencies":[{"issue_id":"gt-c3","depends_on_id":"gone-1","type":"discovered-from","created_at":"2026-12-01T08:13:14Z"}],"dependency_count":1,"dependent_count":0,"comment_count":0}
"#;

#[test]
fn a_file_from_upstreams_jsonl_sync_modes_imports_whole() {
    let town = Town::new();
    let file = town.sandbox().path().join("issues.jsonl");
    std::fs::write(&file, SYNC_MODE_FILE).expect("write");
    let out = import(&town, &file);
    assert_eq!((out["added"].as_u64(), out["skipped"].as_u64()), (Some(3), Some(0)), "{out}");
    let derived = ["dependency_count", "dependent_count", "comment_count"];
    for (theirs, mine) in lines(SYNC_MODE_FILE).into_iter().zip(export(&town)) {
        let mut expected = theirs.clone();
        let mut got = mine.clone();
        for field in derived {
            expected.remove(field);
            got.remove(field);
        }
        got.remove("_type");
        // parent comes back as the parent-child dependency it became.
        if let Some(parent) = expected.remove("parent") {
            let deps = got["dependencies"].as_array().expect("dependencies").clone();
            let child = deps.iter().find(|d| d["type"] == "parent-child").expect("a parent-child dependency");
            assert_eq!(child["depends_on_id"], parent);
            let rest: Vec<Value> = deps.into_iter().filter(|d| d["type"] != "parent-child").collect();
            if rest.is_empty() {
                got.remove("dependencies");
            } else {
                got.insert("dependencies".to_owned(), Value::Array(rest));
            }
        }
        assert_eq!(keys(&got), keys(&expected), "fields of {}", theirs["id"]);
        assert_eq!(instants(&Value::Object(got)), instants(&Value::Object(expected)), "{}", theirs["id"]);
    }
    // Custom statuses and types are first-class.
    let hooked = town.bd(["--json", "list", "--status", "hooked"]).success().json();
    assert_eq!(hooked[0]["id"], "gt-a1", "{hooked}");
    let convoys = town.bd(["--json", "list", "--type", "convoy"]).success().json();
    assert_eq!(convoys[0]["id"], "gt-b2", "{convoys}");
    // Dangling dependencies are kept.
    let deps = town.sql("SELECT depends_on_id FROM dependencies ORDER BY depends_on_id");
    let targets: Vec<&str> = deps.iter().filter_map(|d| d["depends_on_id"].as_str()).collect();
    assert_eq!(targets, ["gone-1", "gt-a1", "gt-b2", "other-rig-77"]);
}

#[test]
fn records_that_are_not_issues_are_counted_and_named() {
    let town = Town::new();
    let file = town.sandbox().path().join("mixed.jsonl");
    let issue = r#"{"_type":"issue","id":"m-1","title":"t","created_at":"2026-12-01T08:13:27Z","updated_at":"2026-12-01T08:13:27Z"}"#;
    let memory = r#"{"_type":"memory","key":"k","value":"v"}"#;
    let config = r#"{"_type":"config","key":"k","value":"v"}"#;
    std::fs::write(&file, [issue, memory, memory, config].join("\n")).expect("write");
    let out = import(&town, &file);
    assert_eq!((out["added"].as_u64(), out["skipped"].as_u64()), (Some(1), Some(3)), "{out}");
    assert_eq!(out["skipped_because"], json!({"not an issue (_type 'config')": 1, "not an issue (_type 'memory')": 2}));
    town.bd(["import", file.to_str().expect("utf8")]).success().stdout_has(
        "0 added, 0 changed, 1 unchanged, 3 skipped (1 not an issue (_type 'config'), 2 not an issue (_type 'memory'))",
    );
}

#[test]
fn status_and_type_are_open_sets_on_the_command_line() {
    let town = Town::new();
    let created = town.bd(["--json", "create", "Courier", "-t", "convoy"]).success().json();
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["issue_type"], "convoy");
    let updated = town.bd(["--json", "update", &id, "--status", "on_hold-2"]).success().json();
    assert_eq!(updated["status"], "on_hold-2");
    assert_eq!(town.bd(["--json", "list", "--status", "on_hold-2"]).success().json()[0]["id"], id.as_str());
    for (flag, bad) in [("--status", "On Hold"), ("--status", &"x".repeat(33)), ("--type", "Bug!")] {
        town.bd(["update", &id, flag, bad])
            .code(2)
            .stderr_has("is not such a word; a status or type is 1 to 32 lowercase ASCII letters");
    }
    town.bd(["create", "x", "-t", "Épic"]).code(2).stderr_has("invalid value for --type");
    // The well-known values still complete.
    let statuses = town.bd(["__complete", "list", "--status", ""]).success().stdout;
    for known in ["open", "in_progress", "closed", "hooked", "pinned"] {
        assert!(statuses.lines().any(|l| l == known), "{known} in {statuses}");
    }
    let types = town.bd(["__complete", "create", "--type", "c"]).success().stdout;
    assert_eq!(types.lines().collect::<Vec<_>>(), ["chore", "convoy"]);
}
