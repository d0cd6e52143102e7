//! The JSONL form of a town: one JSON object per issue, sorted by id, keys
//! sorted, with its labels, comments, dependencies and events nested, so the
//! file diffs small in git and round-trips the database without loss.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use super::validate::{check_id, kind_of, schema_columns};
use super::{Town, sql};
use crate::dolt::Row;
use crate::error::{self, UserError};

/// Child tables nested under each issue, with their sort order.
const CHILDREN: [(&str, &str); 4] = [
    ("labels", "label"),
    ("comments", "created_at, id"),
    ("dependencies", "depends_on_id"),
    ("events", "created_at, id"),
];

/// The JSONL text of the town's whole database, and the number of issues.
pub fn export(town: &Town) -> anyhow::Result<(String, usize)> {
    let repo = town.repo();
    let issues = repo.query("SELECT * FROM issues ORDER BY id")?;
    let mut children: BTreeMap<&str, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    for (table, order) in CHILDREN {
        let rows = repo.query(&format!("SELECT * FROM {table} ORDER BY issue_id, {order}"))?;
        let grouped = children.entry(table).or_default();
        for mut row in rows {
            let Some(Value::String(issue)) = row.remove("issue_id") else { continue };
            let value = if table == "labels" { row.remove("label").unwrap_or(Value::Null) } else { Value::Object(row) };
            grouped.entry(issue).or_default().push(value);
        }
    }
    let mut out = String::new();
    for mut issue in issues {
        let id = issue.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        for (table, _) in CHILDREN {
            let items = children.get_mut(table).and_then(|g| g.remove(&id)).unwrap_or_default();
            issue.insert(table.to_owned(), Value::Array(items));
        }
        out.push_str(&serde_json::to_string(&issue)?);
        out.push('\n');
    }
    let count = out.lines().count();
    Ok((out, count))
}

/// The export file: `.beads/<export.path>`.
#[must_use]
pub fn path(town: &Town) -> PathBuf {
    town.workspace().beads_dir().join(town.export_file())
}

/// Rewrites the export file when its content changed; returns the issue count.
pub fn write(town: &Town) -> anyhow::Result<usize> {
    let (text, count) = export(town)?;
    let path = path(town);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        crate::fsutil::write_atomic(&path, text.as_bytes(), crate::fsutil::Links::Refuse)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(count)
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Imported {
    /// Issues that were new here.
    pub added: u64,
    /// Issues whose incoming version was newer.
    pub changed: u64,
    /// Issues already as new or newer here.
    pub unchanged: u64,
}

/// Imports JSONL text as one commit: new issues are added, newer versions
/// (by `updated_at`) replace older ones with all their nested rows, and
/// nothing newer here is overwritten. `origin` names the source in errors.
/// The caller holds the town's write lock.
pub fn import(town: &Town, text: &str, origin: &str) -> anyhow::Result<Imported> {
    let repo = town.repo();
    let existing: BTreeMap<String, String> = repo
        .query("SELECT id, updated_at FROM issues")?
        .iter()
        .filter_map(|r| Some((r.get("id")?.as_str()?.to_owned(), r.get("updated_at")?.as_str()?.to_owned())))
        .collect();
    let Plan { counts, statements } = plan(text, origin, &existing)?;
    if counts.added + counts.changed == 0 {
        return Ok(counts);
    }
    town.commit_whole(
        &statements,
        &format!("bd import: {} added, {} changed from {origin}", counts.added, counts.changed),
    )?;
    Ok(counts)
}

/// An import worked out in full, before anything touches the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What the import will do.
    pub counts: Imported,
    /// The SQL that does it: a `DELETE` and `INSERT`s per new or changed issue.
    pub statements: String,
}

/// The most problems one failed import lists.
const MAX_REPORTED: usize = 20;

/// Parses and checks JSONL text against the schema and plans the import
/// against `existing` (id to `updated_at`, as the database holds them).
/// Every line must be an issue object whose fields are the schema's columns
/// with values of their types, and whose nested lists hold rows of their
/// tables; any line that is not is reported as `origin:line` with the rule,
/// and then nothing is imported.
pub fn plan(text: &str, origin: &str, existing: &BTreeMap<String, String>) -> Result<Plan, UserError> {
    let mut counts = Imported::default();
    let mut statements = String::new();
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let issue = match check_line(line) {
            Ok(issue) => issue,
            Err(problem) => {
                problems.push(format!("{origin}:{}: {problem}", n + 1));
                continue;
            }
        };
        if let Some(first) = seen.insert(issue.id.clone(), n + 1) {
            problems.push(format!(
                "{origin}:{}: the id {} was already given on line {first}",
                n + 1,
                crate::error::quoted(&issue.id)
            ));
            continue;
        }
        match existing.get(&issue.id) {
            None => counts.added += 1,
            Some(ours) if issue.updated_at.as_str() > ours.as_str() => counts.changed += 1,
            Some(_) => {
                counts.unchanged += 1;
                continue;
            }
        }
        let id_lit = sql::lit(&issue.id);
        let _ = writeln!(statements, "DELETE FROM issues WHERE id = {id_lit};");
        sql::inserts(&mut statements, "issues", &[issue.row]);
        for (table, rows) in issue.nested {
            let _ = writeln!(statements, "DELETE FROM {table} WHERE issue_id = {id_lit};");
            sql::inserts(&mut statements, table, &rows);
        }
    }
    if problems.is_empty() {
        return Ok(Plan { counts, statements });
    }
    let hint = "fix those lines: the file is JSONL, one issue object per line as `bd export` writes it; \
                nothing was imported";
    if let [only] = problems.as_slice() {
        return Err(UserError::failure(only.clone()).with_hint(hint));
    }
    let total = problems.len();
    let mut message = format!("{total} lines of {origin} cannot be imported:");
    for problem in problems.iter().take(MAX_REPORTED) {
        let _ = write!(message, "\n  {problem}");
    }
    if total > MAX_REPORTED {
        let _ = write!(message, "\n  … and {} more", total - MAX_REPORTED);
    }
    Err(UserError::failure(message).with_hint(hint))
}

/// One checked line: the issue's row and its nested rows, ready to insert.
struct Checked {
    id: String,
    updated_at: String,
    row: Row,
    nested: Vec<(&'static str, Vec<Row>)>,
}

/// Checks one line; the error says what is wrong and what is expected.
fn check_line(line: &str) -> Result<Checked, String> {
    let issue = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(issue)) => issue,
        Ok(other) => return Err(format!("not a JSON object but {}", kind_of(&other))),
        Err(e) => return Err(format!("not a JSON object: {e}")),
    };
    let id = match issue.get("id") {
        Some(Value::String(id)) => check_id(id)?,
        Some(other) => return Err(format!("the id must be a string, not {}", kind_of(other))),
        None => return Err("an issue without an id".to_owned()),
    };
    let mut row = Row::new();
    let mut nested: Vec<(&'static str, Vec<Row>)> = CHILDREN.iter().map(|&(table, _)| (table, Vec::new())).collect();
    for (field, value) in issue {
        if let Some((table, rows)) = nested.iter_mut().find(|(table, _)| *table == field) {
            *rows = check_nested(table, &id, value)?;
        } else if let Some(column) = schema_columns("issues").iter().find(|c| c.name == field) {
            row.insert(field, column.check("issues", value)?);
        } else {
            let columns: Vec<&str> = schema_columns("issues").iter().map(|c| c.name).collect();
            return Err(format!(
                "unknown field {}: an issue has the fields {} and the lists {}",
                error::quoted(&field),
                columns.join(", "),
                CHILDREN.map(|(table, _)| table).join(", ")
            ));
        }
    }
    check_required("issues", &row)?;
    let updated_at = row.get("updated_at").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Checked { id, updated_at, row, nested })
}

/// The rows of one nested list: labels are strings, the others objects of
/// their table's columns (`issue_id` is the issue's own and may be left out).
fn check_nested(table: &'static str, id: &str, value: Value) -> Result<Vec<Row>, String> {
    let Value::Array(items) = value else {
        return Err(format!("{table} must be a list, not {}", kind_of(&value)));
    };
    let columns = schema_columns(table);
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = |problem: String| format!("{table}[{i}]: {problem}");
        let fields = match (table, item) {
            ("labels", label) => Map::from_iter([("label".to_owned(), label)]),
            (_, Value::Object(fields)) => fields,
            (_, other) => return Err(at(format!("must be an object, not {}", kind_of(&other)))),
        };
        let mut row = Row::new();
        for (field, value) in fields {
            if field == "issue_id" && value.as_str() != Some(id) {
                return Err(at(format!(
                    "issue_id must be the issue's own id {} or left out",
                    crate::error::quoted(id)
                )));
            }
            let Some(column) = columns.iter().find(|c| c.name == field) else {
                let names: Vec<&str> = columns.iter().map(|c| c.name).filter(|&c| c != "issue_id").collect();
                return Err(at(format!(
                    "unknown field {}: {table} rows have the fields {}",
                    error::quoted(&field),
                    names.join(", ")
                )));
            };
            row.insert(field, column.check(table, value).map_err(at)?);
        }
        row.insert("issue_id".to_owned(), Value::String(id.to_owned()));
        check_required(table, &row).map_err(at)?;
        rows.push(row);
    }
    Ok(rows)
}

fn check_required(table: &str, row: &Row) -> Result<(), String> {
    let missing: Vec<&str> =
        schema_columns(table).iter().filter(|c| c.required && !row.contains_key(c.name)).map(|c| c.name).collect();
    if missing.is_empty() { Ok(()) } else { Err(format!("{table} row lacks the required {}", missing.join(", "))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"acceptance_criteria":"","comments":[{"author":"t","created_at":"2026-11-29 02:17:45.520826","id":"townx-du3xh8wd5bpl","text":"a comment"}],"created_at":"2026-11-29 02:17:44.558265","created_by":"t","dependencies":[],"description":"","design":"","events":[{"actor":"t","created_at":"2026-11-29 02:17:44.558265","event_type":"created","id":"townx-fo20wr1hpdcm","new_value":"hello"}],"id":"townx-pyc0ih","issue_type":"task","labels":["x"],"metadata":{"a":[1,2]},"notes":"","priority":2,"source_system":"bd:town-x","status":"open","title":"hello","updated_at":"2026-11-29 02:17:44.558265"}"#;

    fn plan_of(text: &str) -> Result<Plan, String> {
        plan(text, "f.jsonl", &BTreeMap::new()).map_err(|e| format!("{e}\nhint: {}", e.hint().unwrap_or_default()))
    }

    /// `GOOD` with one field replaced (or removed, for `None`).
    fn with(field: &str, value: Option<Value>) -> String {
        let mut issue: Map<String, Value> = serde_json::from_str(GOOD).expect("GOOD");
        match value {
            Some(value) => issue.insert(field.to_owned(), value),
            None => issue.remove(field),
        };
        serde_json::to_string(&issue).expect("json")
    }

    #[test]
    fn an_export_line_plans_one_issue_with_its_rows() {
        let first = plan_of(GOOD).expect("plan");
        assert_eq!(first.counts, Imported { added: 1, changed: 0, unchanged: 0 });
        assert!(first.statements.contains("INSERT INTO labels (`issue_id`, `label`) VALUES ('townx-pyc0ih', 'x');"));
        assert!(first.statements.contains("'{\"a\":[1,2]}'"), "metadata is stored as JSON text: {}", first.statements);
        let existing = BTreeMap::from([("townx-pyc0ih".to_owned(), "2026-11-29 02:17:44.558265".to_owned())]);
        let again = plan(GOOD, "f", &existing).expect("plan");
        assert_eq!((again.counts.unchanged, again.statements.as_str()), (1, ""));
        let newer = with("updated_at", Some(Value::from("2026-11-30T00:00:00Z")));
        let changed = plan(&newer, "f", &existing).expect("plan");
        assert_eq!(changed.counts.changed, 1);
        assert!(changed.statements.contains("'2026-11-30 00:00:00.000000'"), "date-times are stored one way");
    }

    #[test]
    fn bad_lines_are_named_with_the_rule_and_nothing_is_planned() {
        let cases = [
            ("[1,2]".to_owned(), "f.jsonl:1: not a JSON object but a list"),
            ("{\"id\":".to_owned(), "f.jsonl:1: not a JSON object: EOF"),
            (with("id", Some(Value::from(7))), "the id must be a string, not a number"),
            (with("id", None), "an issue without an id"),
            (with("id", Some(Value::from("t\u{430}wn-1"))), "non-ASCII character 'а' (U+0430)"),
            (with("id", Some(Value::from("a b"))), "the id 'a b' is not valid: it contains ' '; ids are 1 to 255"),
            (with("id", Some(Value::from("x".repeat(300)))), "it is 300 characters long"),
            (with("colour", Some(Value::from("red"))), "unknown field 'colour': an issue has the fields id, title"),
            (with("title", Some(Value::from(1))), "issues.title must be a string, not a number"),
            (with("title", Some(Value::from("t".repeat(501)))), "issues.title is 501 characters long"),
            (with("title", Some(Value::Null)), "issues.title may not be null"),
            (with("title", None), "issues row lacks the required title"),
            (with("priority", Some(Value::from("2"))), "issues.priority must be a whole number of 32 bits"),
            (with("priority", Some(Value::from(1u64 << 40))), "issues.priority must be a whole number"),
            (with("updated_at", Some(Value::from("yesterday"))), "issues.updated_at 'yesterday' is not a date-time"),
            (with("metadata", Some(Value::from("{not json"))), "issues.metadata holds text that is not JSON"),
            (with("labels", Some(Value::from("x"))), "labels must be a list, not a string"),
            (with("labels", Some(serde_json::json!([["nested"]]))), "labels[0]: labels.label must be a string"),
            (with("comments", Some(serde_json::json!(["text"]))), "comments[0]: must be an object, not a string"),
            (with("comments", Some(serde_json::json!([{"id": "c", "x": 1}]))), "comments[0]: unknown field 'x'"),
            (
                with("comments", Some(serde_json::json!([{"id": "c"}]))),
                "comments[0]: comments row lacks the required text",
            ),
            (
                with("events", Some(serde_json::json!([{"issue_id": "other"}]))),
                "events[0]: issue_id must be the issue's own id",
            ),
        ];
        for (line, expected) in cases {
            let err = plan_of(&line).expect_err(&line);
            assert!(err.contains(expected), "{line}\n=> {err}");
            assert!(err.contains("nothing was imported"), "{err}");
        }
    }

    #[test]
    fn every_bad_line_is_listed_and_duplicates_are_caught() {
        let text = format!("{GOOD}\n\nnot json\n{GOOD}\n");
        let err = plan_of(&text).expect_err("bad");
        assert!(err.starts_with("2 lines of f.jsonl cannot be imported:"), "{err}");
        assert!(err.contains("f.jsonl:3: not a JSON object"), "{err}");
        assert!(err.contains("f.jsonl:4: the id 'townx-pyc0ih' was already given on line 1"), "{err}");
        let many = "x\n".repeat(25);
        let err = plan_of(&many).expect_err("many");
        assert!(err.contains("f.jsonl:20:") && !err.contains("f.jsonl:21:") && err.contains("… and 5 more"), "{err}");
    }
}
