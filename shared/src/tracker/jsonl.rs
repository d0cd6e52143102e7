//! The JSONL form of a town: one JSON object per issue, sorted by id, keys
//! sorted, with its labels, comments, dependencies and events nested, so the
//! file diffs small in git and round-trips the database without loss.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Town, sql};
use crate::dolt::Row;
use crate::error::UserError;

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
        crate::fsutil::write_atomic(&path, text.as_bytes())
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
    let mut counts = Imported::default();
    let mut script = String::from("SET autocommit = 0;\n");
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut issue: Map<String, Value> = serde_json::from_str(line).map_err(|e| {
            UserError::failure(format!("{origin}:{}: not a JSON object: {e}", n + 1))
                .with_hint("fix or restore the file (it is plain JSONL: one issue per line)")
        })?;
        let Some(id) = issue.get("id").and_then(Value::as_str).map(str::to_owned) else {
            return Err(UserError::failure(format!("{origin}:{}: an issue without an id", n + 1)).into());
        };
        let incoming = issue.get("updated_at").and_then(Value::as_str).unwrap_or_default().to_owned();
        match existing.get(&id) {
            None => counts.added += 1,
            Some(ours) if incoming.as_str() > ours.as_str() => counts.changed += 1,
            Some(_) => {
                counts.unchanged += 1;
                continue;
            }
        }
        let mut nested: Vec<(&str, Vec<Value>)> = Vec::new();
        for (table, _) in CHILDREN {
            let items = match issue.remove(table) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            nested.push((table, items));
        }
        let id_lit = sql::lit(&id);
        let _ = writeln!(script, "DELETE FROM issues WHERE id = {id_lit};");
        sql::inserts(&mut script, "issues", &[issue]);
        for (table, items) in nested {
            let _ = writeln!(script, "DELETE FROM {table} WHERE issue_id = {id_lit};");
            let rows: Vec<Row> = items
                .into_iter()
                .map(|item| {
                    let mut row = match item {
                        Value::Object(row) => row,
                        label => Map::from_iter([("label".to_owned(), label)]),
                    };
                    row.insert("issue_id".to_owned(), Value::String(id.clone()));
                    row
                })
                .collect();
            sql::inserts(&mut script, table, &rows);
        }
    }
    if counts.added + counts.changed == 0 {
        return Ok(counts);
    }
    let _ = writeln!(
        script,
        "CALL DOLT_COMMIT('-A', '-m', {}, '--author', {});\nCOMMIT;",
        sql::lit(&format!("bd import: {} added, {} changed from {origin}", counts.added, counts.changed)),
        sql::lit(&town.actor().signature())
    );
    repo.execute(&script)?;
    Ok(counts)
}
