//! The JSONL form of a town, in upstream beads' shape: one JSON object per
//! issue, sorted by id, keys sorted, `_type: "issue"`, RFC 3339 UTC
//! timestamps, empty fields left out, and its labels, dependencies,
//! comments (and bd's events) nested, so the file diffs small in git,
//! upstream's `bd import` reads it, and it round-trips the database without
//! loss.
//!
//! The importer reads upstream's exports and its `.beads/issues.jsonl`:
//! records of other `_type`s are counted and skipped, the counts upstream
//! derives from the lists are ignored, `parent` becomes a parent-child
//! dependency, and every field bd has no column for is kept in the issue's
//! `metadata` (under [`EXTRA_FIELDS`], and [`EXTRA_ROWS`] for nested rows),
//! from where the export puts it back where it came from.
//!
//! Comments that older upstream releases numbered (`"id": 12`) are stored
//! with the number as their text id, and the number is kept, so the export
//! writes it back.
//!
//! Reading the file and holding the write lock are `bd import`'s; replacing
//! the export file is [`crate::fsutil`]'s.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Town;
use super::sql::{Sql, sql};
use super::validate::{self, Column, Problem, Type, check_id, check_word, kind_of, schema_columns};
use crate::clock;
use crate::dolt::Row;
use crate::error::{self, UserError};

/// Child tables nested under each issue, with their sort order and the
/// column that tells one row from another within an issue.
const CHILDREN: [(&str, &str, &str); 4] = [
    ("labels", "label", "label"),
    ("comments", "created_at, id", "id"),
    ("dependencies", "depends_on_id", "depends_on_id"),
    ("events", "created_at, id", "id"),
];

/// The key in an issue's `metadata` holding the issue's fields that bd has
/// no column for, as they came.
pub const EXTRA_FIELDS: &str = "_bd_fields";
/// The key in an issue's `metadata` holding, per nested list and row key,
/// the fields of nested rows that bd has no column for.
pub const EXTRA_ROWS: &str = "_bd_rows";

/// Counts upstream derives from the nested lists: ignored on import,
/// computed again on export.
const DERIVED: [&str; 3] = ["dependency_count", "dependent_count", "comment_count"];

/// The dependency type that makes an issue another's child; upstream's
/// derived counts leave it out.
const PARENT_CHILD: &str = "parent-child";

/// The JSONL text of the town's whole database, and the number of issues.
pub fn export(town: &Town) -> anyhow::Result<(String, usize)> {
    let repo = town.repo();
    let issues = repo.query(&Sql::raw("SELECT * FROM issues ORDER BY id"))?;
    let mut children: BTreeMap<&str, BTreeMap<String, Vec<Row>>> = BTreeMap::new();
    // Upstream counts the blocking dependencies each issue has and is the target of.
    let mut dependents: BTreeMap<String, u64> = BTreeMap::new();
    for (table, order, _) in CHILDREN {
        let rows = repo.query(&sql!("SELECT * FROM {} ORDER BY issue_id, {}", Sql::raw(table), Sql::raw(order)))?;
        let grouped = children.entry(table).or_default();
        for row in rows {
            let Some(Value::String(issue)) = row.get("issue_id") else { continue };
            if table == "dependencies"
                && let Some(Value::String(target)) = row.get("depends_on_id")
                && row.get("type").and_then(Value::as_str) != Some(PARENT_CHILD)
            {
                *dependents.entry(target.clone()).or_default() += 1;
            }
            grouped.entry(issue.clone()).or_default().push(row);
        }
    }
    let mut out = String::new();
    for row in issues {
        let id = row.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut nested: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
        for (table, _, _) in CHILDREN {
            nested.insert(table, children.get_mut(table).and_then(|g| g.remove(&id)).unwrap_or_default());
        }
        let line = export_issue(row, nested, dependents.get(&id).copied().unwrap_or(0));
        out.push_str(&serde_json::to_string(&line)?);
        out.push('\n');
    }
    let count = out.lines().count();
    Ok((out, count))
}

/// One issue as upstream writes it, with the kept fields put back.
fn export_issue(mut row: Row, mut nested: BTreeMap<&str, Vec<Row>>, dependents: u64) -> Map<String, Value> {
    let (fields, mut row_extras) = take_extras(&mut row);
    let blocking =
        nested["dependencies"].iter().filter(|d| d.get("type").and_then(Value::as_str) != Some(PARENT_CHILD)).count();
    let mut line = tidy("issues", row);
    line.insert("_type".to_owned(), Value::from("issue"));
    for (table, _, key) in CHILDREN {
        let rows = nested.remove(table).unwrap_or_default();
        if rows.is_empty() {
            continue;
        }
        let mut extras = row_extras.remove(table).and_then(into_object).unwrap_or_default();
        let items: Vec<Value> = rows
            .into_iter()
            .map(|mut r| {
                if table == "labels" {
                    return r.remove("label").unwrap_or(Value::Null);
                }
                let kept = r.get(key).and_then(Value::as_str).and_then(|k| extras.remove(k));
                let mut item = tidy(table, r);
                if let Some(Value::Object(kept)) = kept {
                    item.extend(kept);
                }
                Value::Object(item)
            })
            .collect();
        line.insert(table.to_owned(), Value::Array(items));
    }
    let comments = line.get("comments").and_then(Value::as_array).map_or(0, Vec::len);
    line.insert("dependency_count".to_owned(), Value::from(blocking));
    line.insert("dependent_count".to_owned(), Value::from(dependents));
    line.insert("comment_count".to_owned(), Value::from(comments));
    // Kept fields come back as they came, over anything bd derived.
    line.extend(fields);
    line
}

/// Takes the kept fields out of a row's `metadata`: the issue's own, and
/// its nested rows' by list; `metadata` stays only when it holds more.
fn take_extras(row: &mut Row) -> (Map<String, Value>, Map<String, Value>) {
    let Some(Value::Object(meta)) = row.get_mut("metadata") else { return (Map::new(), Map::new()) };
    let fields = meta.remove(EXTRA_FIELDS).and_then(into_object).unwrap_or_default();
    let rows = meta.remove(EXTRA_ROWS).and_then(into_object).unwrap_or_default();
    if meta.is_empty() && !(fields.is_empty() && rows.is_empty()) {
        row.remove("metadata");
    }
    (fields, rows)
}

fn into_object(value: Value) -> Option<Map<String, Value>> {
    if let Value::Object(map) = value { Some(map) } else { None }
}

/// A row as upstream writes it: no NULLs, no empty text where the import
/// restores it, date-times in RFC 3339 UTC.
fn tidy(table: &str, row: Row) -> Map<String, Value> {
    let columns = schema_columns(table);
    let column = |name: &str| columns.iter().find(|c| c.name == name);
    row.into_iter()
        .filter(|(k, v)| match v {
            Value::Null => false,
            Value::String(s) if s.is_empty() => !(table == "issues" && column(k).is_some_and(Column::defaults_empty)),
            _ => true,
        })
        .map(|(k, v)| match v {
            Value::String(s) if column(&k).is_some_and(|c| c.ty == Type::DateTime) => {
                (k, Value::String(clock::sql_to_rfc3339(&s)))
            }
            v => (k, v),
        })
        .collect()
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

/// What an import did with each line.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Imported {
    /// Issues that were new here.
    pub added: u64,
    /// Issues whose incoming version was newer.
    pub changed: u64,
    /// Issues here in the same version (same `updated_at`).
    pub unchanged: u64,
    /// Lines not imported, for the reasons in `skipped_because`.
    pub skipped: u64,
    /// Why lines were skipped, with how many each.
    pub skipped_because: BTreeMap<String, u64>,
}

impl Imported {
    fn skip(&mut self, why: String) {
        self.skipped += 1;
        *self.skipped_because.entry(why).or_default() += 1;
    }

    /// `3 added, 1 changed, 0 unchanged, 2 skipped (1 newer here, …)`.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} added, {} changed, {} unchanged, {} skipped",
            self.added, self.changed, self.unchanged, self.skipped
        );
        if !self.skipped_because.is_empty() {
            let why: Vec<String> = self.skipped_because.iter().map(|(why, n)| format!("{n} {why}")).collect();
            let _ = write!(out, " ({})", why.join(", "));
        }
        out
    }
}

/// Why an issue older than the town's copy is skipped.
const NEWER_HERE: &str = "older than the copy here";

/// Imports JSONL text as one commit: new issues are added, newer versions
/// (by `updated_at`) replace older ones with all their nested rows, and
/// nothing newer here is overwritten. `origin` names the source in errors.
/// The caller holds the town's write lock.
pub fn import(town: &Town, text: &str, origin: &str) -> anyhow::Result<Imported> {
    let repo = town.repo();
    let mut here = Here::default();
    let rows = repo.query(&Sql::raw(
        "SELECT 'issues' AS t, id, updated_at AS v FROM issues \
         UNION ALL SELECT 'comments', id, issue_id FROM comments UNION ALL SELECT 'events', id, issue_id FROM events",
    ))?;
    for r in &rows {
        let (Some(table), Some(id), Some(value)) = (
            r.get("t").and_then(Value::as_str),
            r.get("id").and_then(Value::as_str),
            r.get("v").and_then(Value::as_str),
        ) else {
            continue;
        };
        if table == "issues" {
            here.updated.insert(id.to_owned(), value.to_owned());
        } else {
            here.owners.insert((table.to_owned(), id.to_owned()), value.to_owned());
        }
    }
    let Plan { counts, statements } = plan(text, origin, &here)?;
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
    pub statements: Sql,
}

/// The most problem lines one failed import lists.
const MAX_REPORTED: usize = 20;

/// The rule a line breaks when it is no JSON object.
const OBJECT_RULE: &str = "each line is one JSON object";
/// The rule a repeated issue breaks.
const ONCE_RULE: &str = "each issue appears on one line only";

/// What the database holds that an import is planned against.
#[derive(Debug, Clone, Default)]
pub struct Here {
    /// Each issue's `updated_at`, by id.
    pub updated: BTreeMap<String, String>,
    /// The issue each comment and event belongs to, by table and row id:
    /// their ids are unique across issues.
    pub owners: BTreeMap<(String, String), String>,
}

/// The child tables whose row ids are unique across issues.
const GLOBAL_IDS: [&str; 2] = ["comments", "events"];

/// The rule a comment or event id shared by two issues breaks.
const OWNER_RULE: &str = "comment and event ids are unique across issues";

/// Parses and checks JSONL text and plans the import against what is
/// `here`. A line is a record
/// whose `_type` (absent: an issue) says what it is; an issue's known
/// fields must hold values their columns take. Lines that break a rule are
/// reported under the rule as `origin:line` with what is wrong, and then
/// nothing is imported.
pub fn plan(text: &str, origin: &str, here: &Here) -> Result<Plan, UserError> {
    let mut counts = Imported::default();
    let mut statements = Sql::default();
    let mut problems: Vec<(usize, Problem)> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    // Comment and event ids this file gives, with their issue and line.
    let mut given: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let issue = match check_line(line) {
            Ok(Record::Issue(issue)) => issue,
            Ok(Record::Other(kind)) => {
                counts.skip(format!("not an issue (_type {})", error::quoted(&kind)));
                continue;
            }
            Err(problem) => {
                problems.push((n + 1, problem));
                continue;
            }
        };
        if let Some(first) = seen.insert(issue.id.clone(), n + 1) {
            let detail = format!("the id {} was already given on line {first}", error::quoted(&issue.id));
            problems.push((n + 1, Problem::new(ONCE_RULE, detail)));
            continue;
        }
        if let Some(problem) = shared_row_id(&issue, n + 1, here, &mut given) {
            problems.push((n + 1, problem));
            continue;
        }
        if let Some(ours) = here.updated.get(&issue.id) {
            let (theirs, ours) = (clock::parse(&issue.updated_at), clock::parse(ours));
            if theirs == ours {
                counts.unchanged += 1;
                continue;
            }
            if theirs < ours {
                counts.skip(NEWER_HERE.to_owned());
                continue;
            }
            counts.changed += 1;
        } else {
            counts.added += 1;
        }
        statements.push(&sql!("DELETE FROM issues WHERE id = {};\n", issue.id));
        statements.push(&Sql::inserts("issues", &[issue.row]));
        for (table, rows) in issue.nested {
            statements.push(&sql!("DELETE FROM {} WHERE issue_id = {};\n", Sql::raw(table), issue.id));
            statements.push(&Sql::inserts(table, &rows));
        }
    }
    if problems.is_empty() {
        return Ok(Plan { counts, statements });
    }
    Err(refusal(origin, &problems))
}

/// The first comment or event of `issue` whose id another issue has, in
/// this file or here; records the ids `issue` gives.
fn shared_row_id(
    issue: &Checked,
    line: usize,
    here: &Here,
    given: &mut BTreeMap<(String, String), (String, usize)>,
) -> Option<Problem> {
    for (table, rows) in issue.nested.iter().filter(|(t, _)| GLOBAL_IDS.contains(t)) {
        for (i, row) in rows.iter().enumerate() {
            let Some(row_id) = row.get("id").and_then(Value::as_str) else { continue };
            let key = ((*table).to_owned(), row_id.to_owned());
            let elsewhere = match (given.get(&key), here.owners.get(&key)) {
                (Some((other, at)), _) if *other != issue.id => {
                    Some(format!("issue {} on line {at}", error::quoted(other)))
                }
                (_, Some(other)) if *other != issue.id => Some(format!("issue {} here", error::quoted(other))),
                _ => None,
            };
            if let Some(elsewhere) = elsewhere {
                return Some(Problem::new(
                    OWNER_RULE,
                    format!("{table}[{i}]: the id {} is already one of {elsewhere}", error::quoted(row_id)),
                ));
            }
            given.insert(key, (issue.id.clone(), line));
        }
    }
    None
}

/// The error listing the problem lines: each rule once, then its lines.
fn refusal(origin: &str, problems: &[(usize, Problem)]) -> UserError {
    let hint = "fix those lines (one JSON object per line, as `bd export` or upstream beads write them); \
                nothing was imported";
    if let [(line, problem)] = problems {
        return UserError::failure(format!("{origin}:{line}: {}; {}", problem.detail, problem.rule)).with_hint(hint);
    }
    let mut rules: Vec<&str> = Vec::new();
    for (_, p) in problems {
        if !rules.contains(&p.rule.as_str()) {
            rules.push(&p.rule);
        }
    }
    let total = problems.len();
    let mut message = format!("{total} lines of {origin} cannot be imported:");
    let mut listed = 0;
    for rule in rules {
        let _ = write!(message, "\n  {rule}:");
        for (line, p) in problems.iter().filter(|(_, p)| p.rule == rule) {
            if listed == MAX_REPORTED {
                break;
            }
            listed += 1;
            let _ = write!(message, "\n    {origin}:{line}: {}", p.detail);
        }
    }
    if total > listed {
        let _ = write!(message, "\n  … and {} more", total - listed);
    }
    UserError::failure(message).with_hint(hint)
}

/// What one line holds.
enum Record {
    /// An issue to import.
    Issue(Checked),
    /// A record of another kind (its `_type`), which bd does not keep.
    Other(String),
}

/// One checked issue: its row and its nested rows, ready to insert.
struct Checked {
    id: String,
    updated_at: String,
    row: Row,
    nested: Vec<(&'static str, Vec<Row>)>,
}

/// Checks one line; the error says what is wrong and which rule it breaks.
fn check_line(line: &str) -> Result<Record, Problem> {
    let mut issue = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(issue)) => issue,
        Ok(other) => return Err(Problem::new(OBJECT_RULE, format!("not a JSON object but {}", kind_of(&other)))),
        Err(e) => return Err(Problem::new(OBJECT_RULE, format!("not a JSON object: {e}"))),
    };
    match issue.remove("_type") {
        None => {}
        Some(Value::String(kind)) if kind == "issue" => {}
        Some(Value::String(kind)) => return Ok(Record::Other(kind)),
        Some(other) => {
            return Err(Problem::new(
                "_type is a string naming the record's kind",
                format!("it is {}", kind_of(&other)),
            ));
        }
    }
    let id = match issue.get("id") {
        Some(Value::String(id)) => check_id(id)?,
        Some(other) => {
            return Err(Problem::new(validate::ID_RULE, format!("the id is {}, not a string", kind_of(other))));
        }
        None => return Err(Problem::new("every issue has an id", "an issue without an id")),
    };
    let mut row = Row::new();
    let mut nested: Vec<(&'static str, Vec<Row>)> = CHILDREN.iter().map(|&(table, ..)| (table, Vec::new())).collect();
    let mut fields = Map::new();
    let mut row_extras = Map::new();
    let mut parent = None;
    for (field, value) in issue {
        if DERIVED.contains(&field.as_str()) {
            continue;
        }
        if field == "parent" {
            parent = match value {
                Value::Null => None,
                Value::String(p) if p.is_empty() => None,
                Value::String(p) => Some(check_id(&p)?),
                other => {
                    return Err(Problem::new(validate::ID_RULE, format!("parent is {}, not an id", kind_of(&other))));
                }
            };
        } else if let Some((table, rows)) = nested.iter_mut().find(|(table, _)| *table == field) {
            let (checked, extras) = check_nested(table, &id, value)?;
            *rows = checked;
            if !extras.is_empty() {
                row_extras.insert(field, Value::Object(extras));
            }
        } else if let Some(column) = schema_columns("issues").iter().find(|c| c.name == field) {
            let value = column.check("issues", value)?;
            if let ("status" | "issue_type", Some(word)) = (field.as_str(), value.as_str()) {
                check_word(&format!("issues.{field}"), word)?;
            }
            row.insert(field, value);
        } else {
            fields.insert(field, value);
        }
    }
    // Upstream leaves empty text out; bd's columns hold it as "".
    for column in schema_columns("issues").iter().filter(|c| c.defaults_empty()) {
        row.entry(column.name.to_owned()).or_insert_with(|| Value::from(""));
    }
    check_required("issues", &row)?;
    keep_extras(&mut row, fields, row_extras);
    if let Some(parent) = parent {
        let deps = &mut nested.iter_mut().find(|(t, _)| *t == "dependencies").expect("a nested list").1;
        if !deps.iter().any(|d| d.get("depends_on_id").and_then(Value::as_str) == Some(parent.as_str())) {
            let mut dep = Row::new();
            dep.insert("issue_id".to_owned(), Value::from(id.clone()));
            dep.insert("depends_on_id".to_owned(), Value::from(parent));
            dep.insert("type".to_owned(), Value::from(PARENT_CHILD));
            dep.insert("created_at".to_owned(), row.get("created_at").cloned().unwrap_or(Value::Null));
            deps.push(dep);
        }
    }
    let updated_at = row.get("updated_at").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Record::Issue(Checked { id, updated_at, row, nested }))
}

/// Puts the fields bd has no column for into the row's `metadata` (as JSON
/// text, the way the column check left it). A `metadata` that is no object
/// is kept among the fields, so it comes back as it was.
fn keep_extras(row: &mut Row, mut fields: Map<String, Value>, rows: Map<String, Value>) {
    if fields.is_empty() && rows.is_empty() {
        return;
    }
    let current = row.get("metadata").and_then(Value::as_str).and_then(|t| serde_json::from_str::<Value>(t).ok());
    let mut meta = match current {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            fields.insert("metadata".to_owned(), other);
            Map::new()
        }
    };
    if !fields.is_empty() {
        meta.insert(EXTRA_FIELDS.to_owned(), Value::Object(fields));
    }
    if !rows.is_empty() {
        meta.insert(EXTRA_ROWS.to_owned(), Value::Object(rows));
    }
    row.insert("metadata".to_owned(), Value::String(Value::Object(meta).to_string()));
}

/// The rows of one nested list (labels are strings, the others objects of
/// their table's columns; `issue_id` is the issue's own and may be left
/// out), and the fields of rows that bd has no column for, by row key.
fn check_nested(table: &'static str, id: &str, value: Value) -> Result<(Vec<Row>, Map<String, Value>), Problem> {
    let Value::Array(items) = value else {
        return Err(Problem::new(format!("{table} is a list"), format!("{table} is {}", kind_of(&value))));
    };
    let key = CHILDREN.iter().find(|(t, ..)| *t == table).map_or("id", |&(_, _, key)| key);
    let columns = schema_columns(table);
    let mut rows = Vec::with_capacity(items.len());
    let mut extras = Map::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = |p: Problem| Problem::new(p.rule, format!("{table}[{i}]: {}", p.detail));
        let fields = match (table, item) {
            ("labels", label) => Map::from_iter([("label".to_owned(), label)]),
            (_, Value::Object(fields)) => fields,
            (_, other) => {
                return Err(at(Problem::new(
                    format!("{table} is a list of objects"),
                    format!("it is {}", kind_of(&other)),
                )));
            }
        };
        let mut row = Row::new();
        let mut kept = Map::new();
        for (field, mut value) in fields {
            if key == "id"
                && field == key
                && let Value::Number(n) = &value
                && (n.is_u64() || n.is_i64())
            {
                // Older upstream releases numbered comments; the number is
                // stored as the text id and kept, so the export writes it back.
                let text = Value::String(n.to_string());
                kept.insert(field.clone(), std::mem::replace(&mut value, text));
            }
            if field == "issue_id" && value.as_str() != Some(id) {
                return Err(at(Problem::new(
                    format!("the issue_id of {table} rows is the issue's own id, or left out"),
                    format!(
                        "it is {}, not {}",
                        value.as_str().map_or_else(|| kind_of(&value).to_owned(), error::quoted),
                        error::quoted(id)
                    ),
                )));
            }
            match columns.iter().find(|c| c.name == field) {
                Some(column) => {
                    row.insert(field, column.check(table, value).map_err(at)?);
                }
                None => {
                    kept.insert(field, value);
                }
            }
        }
        row.insert("issue_id".to_owned(), Value::String(id.to_owned()));
        check_required(table, &row).map_err(at)?;
        // A row given twice the same is one row; two rows under one key
        // would make the import fail at its commit.
        if let Some(j) = rows.iter().position(|r: &Row| r.get(key) == row.get(key)) {
            if rows[j] == row {
                continue;
            }
            return Err(at(Problem::new(
                format!("each of an issue's {table} rows has its own {key}"),
                format!("its {key} {} is also that of {table}[{j}]", shown(row.get(key))),
            )));
        }
        if !kept.is_empty()
            && let Some(k) = row.get(key).and_then(Value::as_str)
        {
            extras.insert(k.to_owned(), Value::Object(kept));
        }
        rows.push(row);
    }
    Ok((rows, extras))
}

/// A key's value as a message shows it.
fn shown(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => error::quoted(text),
        Some(other) => other.to_string(),
        None => "(none)".to_owned(),
    }
}

fn check_required(table: &str, row: &Row) -> Result<(), Problem> {
    let required: Vec<&str> = schema_columns(table).iter().filter(|c| c.required).map(|c| c.name).collect();
    let missing: Vec<&str> = required.iter().copied().filter(|c| !row.contains_key(*c)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        // Nested rows get their issue_id from the issue: no rule to state.
        let named: Vec<&str> = required.into_iter().filter(|&c| c != "issue_id").collect();
        let rule = format!("{table} rows have {}", named.join(", "));
        Err(Problem::new(rule, format!("it lacks {}", missing.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"acceptance_criteria":"","comments":[{"author":"t","created_at":"2026-11-29 02:17:45.520826","id":"townx-du3xh8wd5bpl","text":"a comment"}],"created_at":"2026-11-29 02:17:44.558265","created_by":"t","dependencies":[],"description":"","design":"","events":[{"actor":"t","created_at":"2026-11-29 02:17:44.558265","event_type":"created","id":"townx-fo20wr1hpdcm","new_value":"hello"}],"id":"townx-pyc0ih","issue_type":"task","labels":["x"],"metadata":{"a":[1,2]},"notes":"","priority":2,"source_system":"bd:town-x","status":"open","title":"hello","updated_at":"2026-11-29 02:17:44.558265"}"#;

    fn plan_of(text: &str) -> Result<Plan, String> {
        plan(text, "f.jsonl", &Here::default()).map_err(|e| format!("{e}\nhint: {}", e.hint().unwrap_or_default()))
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
        assert_eq!((first.counts.added, first.counts.changed, first.counts.unchanged), (1, 0, 0));
        assert!(
            first
                .statements
                .as_str()
                .contains("INSERT INTO labels (`issue_id`, `label`) VALUES ('townx-pyc0ih', 'x');")
        );
        assert!(
            first.statements.as_str().contains("'{\"a\":[1,2]}'"),
            "metadata is stored as JSON text: {}",
            first.statements
        );
        let existing = Here {
            updated: BTreeMap::from([("townx-pyc0ih".to_owned(), "2026-11-29 02:17:44.558265".to_owned())]),
            ..Here::default()
        };
        let again = plan(GOOD, "f", &existing).expect("plan");
        assert_eq!((again.counts.unchanged, again.statements.as_str()), (1, ""));
        let newer = with("updated_at", Some(Value::from("2026-11-30T00:00:00Z")));
        let changed = plan(&newer, "f", &existing).expect("plan");
        assert_eq!(changed.counts.changed, 1);
        assert!(changed.statements.as_str().contains("'2026-11-30 00:00:00.000000'"), "date-times are stored one way");
        let older = with("updated_at", Some(Value::from("2026-11-28T00:00:00Z")));
        let skipped = plan(&older, "f", &existing).expect("plan");
        assert_eq!(skipped.counts.summary(), "0 added, 0 changed, 0 unchanged, 1 skipped (1 older than the copy here)");
    }

    #[test]
    fn upstream_records_keep_every_field() {
        let line = r#"{"_type":"issue","id":"gt-1","title":"t","status":"hooked","issue_type":"agent","priority":1,"created_at":"2026-12-01T08:13:27Z","updated_at":"2026-12-01T09:13:27+01:00","pinned":true,"hook_bead":"gt-2","parent":"gt-0","dependency_count":3,"comment_count":0,"metadata":{"k":"v"},"dependencies":[{"issue_id":"gt-1","depends_on_id":"elsewhere-9","type":"waits-for","created_at":"2026-12-01T08:13:27Z","metadata":"{}"}]}"#;
        let memory = r#"{"_type":"memory","key":"x"}"#;
        let plan = plan_of(&format!("{line}\n{memory}\n")).expect("plan");
        assert_eq!(
            plan.counts.summary(),
            "1 added, 0 changed, 0 unchanged, 1 skipped (1 not an issue (_type 'memory'))"
        );
        let s = plan.statements.as_str();
        assert!(s.contains("'hooked'") && s.contains("'agent'"), "open statuses and types: {s}");
        assert!(s.contains("'2026-12-01 08:13:27.000000'"), "offsets become UTC: {s}");
        assert!(!s.contains("dependency_count") && !s.contains("comment_count"), "derived counts are not stored: {s}");
        assert!(
            s.contains(r#"'{"_bd_fields":{"hook_bead":"gt-2","pinned":true},"_bd_rows":{"dependencies":{"elsewhere-9":{"metadata":"{}"}}},"k":"v"}'"#),
            "unknown fields are kept in metadata: {s}"
        );
        assert!(s.contains("'gt-0', 'gt-1', 'parent-child'"), "parent is a dependency: {s}");
        assert!(s.contains("'elsewhere-9'"), "a dependency on an issue not in the file is kept: {s}");
    }

    #[test]
    fn rows_given_twice_and_ids_of_other_issues_are_refused_before_the_commit() {
        let label = |labels: Value| with("labels", Some(labels));
        let once = plan_of(&label(serde_json::json!(["x", "x"]))).expect("a label given twice the same is one");
        assert_eq!(once.statements.as_str().matches("INSERT INTO labels").count(), 1);
        let dep = |kind: &str| serde_json::json!({"depends_on_id": "other-1", "type": kind, "created_at": "2026-11-29T00:00:00Z"});
        let twice = with("dependencies", Some(serde_json::json!([dep("blocks"), dep("related")])));
        let err = plan_of(&twice).expect_err("two dependencies on one target");
        assert!(
            err.contains("f.jsonl:1: dependencies[1]: its depends_on_id 'other-1' is also that of dependencies[0]"),
            "{err}"
        );
        let second = GOOD.replace("townx-pyc0ih", "townx-second");
        let err = plan_of(&format!("{GOOD}\n{second}")).expect_err("one comment id for two issues");
        assert!(
            err.contains(
                "f.jsonl:2: comments[0]: the id 'townx-du3xh8wd5bpl' is already one of issue 'townx-pyc0ih' on line 1"
            ),
            "{err}"
        );
        let here = Here {
            owners: BTreeMap::from([(("events".to_owned(), "townx-fo20wr1hpdcm".to_owned()), "townx-else".to_owned())]),
            ..Here::default()
        };
        let err = plan(GOOD, "f", &here).expect_err("an event id another issue holds here").to_string();
        assert!(err.contains("the id 'townx-fo20wr1hpdcm' is already one of issue 'townx-else' here"), "{err}");
        assert!(err.contains(OWNER_RULE), "{err}");
    }

    #[test]
    fn bad_lines_are_named_with_the_rule_and_nothing_is_planned() {
        let cases = [
            ("[1,2]".to_owned(), "f.jsonl:1: not a JSON object but a list; each line is one JSON object"),
            ("{\"id\":".to_owned(), "f.jsonl:1: not a JSON object: EOF"),
            (with("id", Some(Value::from(7))), "the id is a number, not a string; ids are"),
            (with("id", None), "an issue without an id"),
            (with("id", Some(Value::from("t\u{430}wn-1"))), "non-ASCII character 'а' (U+0430)"),
            (with("id", Some(Value::from("a b"))), "the id 'a b' is not valid: it contains ' '; ids are 1 to 255"),
            (with("id", Some(Value::from("x".repeat(300)))), "it is 300 characters long"),
            (with("_type", Some(Value::from(1))), "it is a number; _type is a string naming the record's kind"),
            (with("title", Some(Value::from(1))), "it is a number; issues.title is a string of at most 500 characters"),
            (with("title", Some(Value::from("t".repeat(501)))), "it is 501 characters long; issues.title is a string"),
            (with("title", Some(Value::Null)), "it is null; issues.title is a string"),
            (with("title", None), "it lacks title; issues rows have id, title"),
            (with("status", Some(Value::from("Hooked!"))), "the issues.status 'Hooked!' is not such a word"),
            (with("issue_type", Some(Value::from("a b"))), "'a b' is not such a word; a status or type is 1 to 32"),
            (with("priority", Some(Value::from("2"))), "it is a string; issues.priority is a whole number of 32 bits"),
            (with("priority", Some(Value::from(1u64 << 40))), "1099511627776 does not fit; issues.priority is"),
            (with("updated_at", Some(Value::from("yesterday"))), "'yesterday' is not a date-time; issues.updated_at"),
            (with("metadata", Some(Value::from("{not json"))), "it holds text that is not JSON"),
            (with("parent", Some(Value::from(3))), "parent is a number, not an id"),
            (with("labels", Some(Value::from("x"))), "labels is a string; labels is a list"),
            (
                with("labels", Some(serde_json::json!([["nested"]]))),
                "labels[0]: it is a list; labels.label is a string",
            ),
            (with("comments", Some(serde_json::json!(["text"]))), "comments[0]: it is a string; comments is a list of"),
            (
                with("comments", Some(serde_json::json!([{"id": "c"}]))),
                "comments[0]: it lacks text, created_at; comments rows have id, text, created_at",
            ),
            (
                with("events", Some(serde_json::json!([{"issue_id": "other"}]))),
                "events[0]: it is 'other', not 'townx-pyc0ih'; the issue_id of events rows",
            ),
        ];
        for (line, expected) in cases {
            let err = plan_of(&line).expect_err(&line);
            assert!(err.contains(expected), "{line}\n=> {err}");
            assert!(err.contains("nothing was imported"), "{err}");
        }
    }

    #[test]
    fn every_bad_line_is_listed_under_its_rule_once() {
        let text = format!("{GOOD}\n\nnot json\n{GOOD}\n[1]\n");
        let err = plan_of(&text).expect_err("bad");
        assert!(err.starts_with("3 lines of f.jsonl cannot be imported:\n  each line is one JSON object:\n"), "{err}");
        assert!(err.contains("\n    f.jsonl:3: not a JSON object"), "{err}");
        assert!(err.contains("\n    f.jsonl:5: not a JSON object but a list"), "{err}");
        assert!(
            err.contains(
                "each issue appears on one line only:\n    f.jsonl:4: the id 'townx-pyc0ih' was already given on line 1"
            ),
            "{err}"
        );
        assert_eq!(err.matches("each line is one JSON object").count(), 1, "{err}");
        let many = "x\n".repeat(25);
        let err = plan_of(&many).expect_err("many");
        assert!(err.contains("f.jsonl:20:") && !err.contains("f.jsonl:21:") && err.contains("… and 5 more"), "{err}");
    }
}
