//! Field-level three-way merges of the rows both sides changed.
//!
//! dolt merges cell by cell, but a row with one cell changed on both sides is
//! a conflict, and dolt then keeps our whole row. Every bd write touches
//! `updated_at`, so two edits of different fields of one issue always
//! conflict there. This module resolves such rows field by field:
//!
//! - a field changed on one side only takes that side's value;
//! - `updated_at` takes the later value and never conflicts by itself, and
//!   a `created_at` both sides added takes the earlier;
//! - a field changed on both sides to different values is a real conflict:
//!   `ours`/`theirs` pick per field, `newest` picks the side that changed
//!   that field last (by the events each side recorded for it, else by the
//!   side's `updated_at`), and `manual` stops and lists it;
//! - `closed_at` and `close_reason` follow the side whose `status` won a
//!   status conflict, so an issue is never closed without its close time;
//! - a row removed on one side and changed on the other is kept with the
//!   change: a deletion never silently discards another town's edit.
//!
//! [`plan`] reads everything in one dolt process and computes the SQL that,
//! run after `DOLT_MERGE` in the same transaction, resolves every conflict.

use std::collections::BTreeMap;

use serde_json::Value;

use super::report::{Conflict, FieldValues};
use crate::config::Strategy;
use crate::dolt::{Repo, Row};
use crate::tracker::schema;
use crate::tracker::sql::{Sql, ToSql, sql};

/// A row's columns; absent (NULL) columns are `Value::Null`.
pub(super) type Fields = BTreeMap<String, Value>;

/// Which side a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// This town's.
    Ours,
    /// The peer's.
    Theirs,
}

/// One row as it stands at the merge base and on each side (`None` = absent).
#[derive(Debug, Clone, Default)]
pub(super) struct Versions {
    /// At the common ancestor.
    pub base: Option<Fields>,
    /// In this town.
    pub ours: Option<Fields>,
    /// On the peer.
    pub theirs: Option<Fields>,
}

/// A field both sides changed to different values, and who won it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Clash {
    /// The column.
    pub field: String,
    /// Our value.
    pub ours: Value,
    /// Their value.
    pub theirs: Value,
    /// The side whose value was taken.
    pub winner: Side,
}

/// The resolution of one row: the row to keep (or `None` to delete it) and
/// the fields that really conflicted.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Merged {
    /// The merged row.
    pub row: Option<Fields>,
    /// Fields changed on both sides to different values.
    pub clashes: Vec<Clash>,
}

/// Bookkeeping columns that take the later value and never conflict.
const LATER_WINS: &[&str] = &["updated_at"];
/// Columns that go with the side whose `status` won a status conflict.
const FOLLOW_STATUS: &[&str] = &["closed_at", "close_reason"];

/// Merges one row field by field; `decide` picks the side of a real conflict.
pub(super) fn merge_row(versions: &Versions, decide: &dyn Fn(&str, &Value, &Value) -> Side) -> Merged {
    let Versions { base, ours, theirs } = versions;
    let (ours, theirs) = match (ours, theirs) {
        (None, None) => return Merged { row: None, clashes: Vec::new() },
        // Removed on one side: the deletion stands only where the other side
        // left the row as it was; an edit is never discarded.
        (None, Some(kept)) | (Some(kept), None) => {
            let row = (base.as_ref() != Some(kept)).then(|| kept.clone());
            return Merged { row, clashes: Vec::new() };
        }
        (Some(o), Some(t)) => (o, t),
    };
    let null = Value::Null;
    let columns: Vec<&String> = {
        let mut c: Vec<&String> = ours.keys().chain(theirs.keys()).collect();
        c.sort();
        c.dedup();
        c
    };
    let mut row = Fields::new();
    let mut clashes = Vec::new();
    let mut status_winner = None;
    for column in &columns {
        let o = ours.get(*column).unwrap_or(&null);
        let t = theirs.get(*column).unwrap_or(&null);
        let b = base.as_ref().map_or(&null, |b| b.get(*column).unwrap_or(&null));
        let value = if o == t || t == b {
            o.clone()
        } else if o == b {
            t.clone()
        } else if LATER_WINS.contains(&column.as_str()) {
            later(o, t).clone()
        } else if column.as_str() == "created_at" && base.is_none() {
            // Both sides added the same row: it was first made at the earlier time.
            if later(o, t) == o { t.clone() } else { o.clone() }
        } else {
            let winner = decide(column, o, t);
            if column.as_str() == "status" {
                status_winner = Some(winner);
            }
            clashes.push(Clash { field: (*column).clone(), ours: o.clone(), theirs: t.clone(), winner });
            match winner {
                Side::Ours => o.clone(),
                Side::Theirs => t.clone(),
            }
        };
        row.insert((*column).clone(), value);
    }
    if let Some(winner) = status_winner {
        let side = if winner == Side::Ours { ours } else { theirs };
        for column in FOLLOW_STATUS {
            if row.contains_key(*column) || side.contains_key(*column) {
                row.insert((*column).to_owned(), side.get(*column).cloned().unwrap_or(Value::Null));
            }
            clashes.retain(|c| c.field != *column);
        }
    }
    Merged { row: Some(row), clashes }
}

/// The later of two SQL timestamps (their text orders like their time).
fn later<'a>(a: &'a Value, b: &'a Value) -> &'a Value {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) if y > x => b,
        (Some(_), _) => a,
        _ => b,
    }
}

/// A deterministic tie-break, so towns resolving the same conflict on their
/// own reach the same result.
fn greater(o: &Value, t: &Value) -> Side {
    let (o, t) = (o.to_string(), t.to_string());
    if t > o { Side::Theirs } else { Side::Ours }
}

/// One table's layout, as the database reports it.
#[derive(Debug, Clone, Default)]
struct Layout {
    columns: Vec<String>,
    key: Vec<String>,
}

/// What resolves a merge with a peer.
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    /// Statements that resolve every conflicted row; run them after
    /// `DOLT_MERGE` in the same transaction.
    pub statements: Sql,
    /// Tables that had conflicts (their `dolt_conflicts_*` rows are cleared).
    pub tables: Vec<String>,
    /// Rows with fields both sides changed to different values.
    pub conflicts: Vec<Conflict>,
}

impl Plan {
    /// Whether the merge has rows dolt reports as conflicts at all.
    #[must_use]
    pub(super) fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// The statements that clear the conflicts dolt recorded in the plan's
    /// tables, once its statements resolved them.
    #[must_use]
    pub(super) fn clear_conflicts(&self) -> Sql {
        let clear = |table: &String| sql!("DELETE FROM {};\n", Sql::ident(&format!("dolt_conflicts_{table}")));
        Sql::join(self.tables.iter().map(clear), "")
    }
}

/// Which rows a plan resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rows {
    /// The rows a merge of `theirs` into `ours` conflicts in (against their
    /// common ancestor).
    MergeConflicts,
    /// The rows two unrelated histories both hold, with different values
    /// (there is no ancestor: every differing field is both sides' change).
    HeldByBoth,
}

impl Rows {
    /// The query of `table`'s rows between the revisions `ours` and
    /// `theirs`, each row marked with `bd_table`.
    fn query(self, ours: &str, theirs: &str, table: &str) -> Sql {
        match self {
            Rows::MergeConflicts => sql!(
                "SELECT {} AS bd_table, c.* FROM dolt_preview_merge_conflicts({}, {}, {}) c",
                table,
                ours,
                theirs,
                table
            ),
            Rows::HeldByBoth => sql!(
                "SELECT {} AS bd_table, d.* FROM dolt_diff({}, {}, {}) d WHERE d.diff_type = 'modified'",
                table,
                ours,
                theirs,
                table
            ),
        }
    }

    /// The ids of the issues among those rows.
    fn issue_ids(self, ours: &str, theirs: &str) -> Sql {
        match self {
            Rows::MergeConflicts => sql!(
                "SELECT COALESCE(c.our_id, c.their_id) FROM dolt_preview_merge_conflicts({}, {}, 'issues') c",
                ours,
                theirs
            ),
            Rows::HeldByBoth => {
                sql!("SELECT d.to_id FROM dolt_diff({}, {}, 'issues') d WHERE d.diff_type = 'modified'", ours, theirs)
            }
        }
    }

    /// The column prefixes of the base, our and their versions.
    fn prefixes(self) -> [Option<&'static str>; 3] {
        match self {
            Rows::MergeConflicts => [Some("base"), Some("our"), Some("their")],
            Rows::HeldByBoth => [None, Some("from"), Some("to")],
        }
    }
}

/// Reads the rows a merge of `theirs` into `ours` would conflict in, in one
/// dolt process, and resolves each by `strategy` (`manual` resolves only
/// what is no real conflict and lists the rest in [`Plan::conflicts`]).
pub(super) fn plan(repo: &Repo, ours: &str, theirs: &str, strategy: Strategy) -> anyhow::Result<Plan> {
    plan_rows(repo, ours, theirs, strategy, Rows::MergeConflicts)
}

/// Like [`plan`], for the given rows.
pub(super) fn plan_rows(repo: &Repo, ours: &str, theirs: &str, strategy: Strategy, rows: Rows) -> anyhow::Result<Plan> {
    let mut script = Sql::join(schema::TABLES.iter().map(|table| sql!("{};\n", rows.query(ours, theirs, table))), "");
    let names = Sql::join(schema::TABLES.iter().map(ToSql::to_sql), ", ");
    script.push(&sql!(
        "SELECT table_name AS bd_layout, column_name AS name, column_key AS k FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name IN ({}) ORDER BY table_name, ordinal_position;\n",
        names
    ));
    if strategy == Strategy::Newest {
        // When each side last changed each field of a conflicting issue.
        for (side, rev) in [("ours", ours), ("theirs", theirs)] {
            script.push(&sql!(
                "SELECT {} AS bd_side, e.issue_id, e.comment AS field, MAX(e.created_at) AS at \
                 FROM events AS OF {} e WHERE e.event_type IN ('updated', 'closed') AND e.issue_id IN ({}) \
                 GROUP BY e.issue_id, e.comment;\n",
                side,
                rev,
                rows.issue_ids(ours, theirs)
            ));
        }
    }
    let read = repo.query(&script)?;
    Ok(plan_from_rows(&read, strategy, rows))
}

/// The pure half of [`plan`]: resolves the rows it read.
fn plan_from_rows(rows: &[Row], strategy: Strategy, kind: Rows) -> Plan {
    let mut layouts: BTreeMap<&str, Layout> = BTreeMap::new();
    let mut times: BTreeMap<(&str, &str, &str), &str> = BTreeMap::new();
    for row in rows {
        let text = |c: &str| row.get(c).and_then(Value::as_str);
        if let (Some(table), Some(name)) = (text("bd_layout"), text("name")) {
            let layout = layouts.entry(table).or_default();
            layout.columns.push(name.to_owned());
            if text("k") == Some("PRI") {
                layout.key.push(name.to_owned());
            }
        } else if let (Some(side), Some(id), Some(field), Some(at)) =
            (text("bd_side"), text("issue_id"), text("field"), text("at"))
        {
            times.insert((side, id, field), at);
        }
    }
    let mut plan = Plan::default();
    for row in rows {
        let Some(table) = row.get("bd_table").and_then(Value::as_str) else { continue };
        let Some(layout) = layouts.get(table) else { continue };
        if !plan.tables.iter().any(|t| t == table) {
            plan.tables.push(table.to_owned());
        }
        let versions = versions_of(row, layout, kind.prefixes());
        let id = key_text(&versions, layout);
        // When a side last changed a field: its event for that field if the
        // event is newer than the merge base, else the side's `updated_at`.
        let changed_at = |side: Side, field: &str| -> Option<String> {
            let (name, fields) = match side {
                Side::Ours => ("ours", versions.ours.as_ref()),
                Side::Theirs => ("theirs", versions.theirs.as_ref()),
            };
            let base_time = versions.base.as_ref().and_then(|b| b.get("updated_at")).and_then(Value::as_str);
            let event = times.get(&(name, id.as_str(), field)).copied().filter(|at| base_time.is_none_or(|b| *at > b));
            event.or_else(|| fields.and_then(|f| f.get("updated_at")).and_then(Value::as_str)).map(str::to_owned)
        };
        let decide = |field: &str, o: &Value, t: &Value| match strategy {
            Strategy::Ours | Strategy::Manual => Side::Ours,
            Strategy::Theirs => Side::Theirs,
            Strategy::Newest => match (changed_at(Side::Ours, field), changed_at(Side::Theirs, field)) {
                (Some(a), Some(b)) if a > b => Side::Ours,
                (Some(a), Some(b)) if b > a => Side::Theirs,
                (None, Some(_)) => Side::Theirs,
                (Some(_), None) => Side::Ours,
                _ => greater(o, t),
            },
        };
        let merged = merge_row(&versions, &decide);
        if !merged.clashes.is_empty() {
            plan.conflicts.push(Conflict {
                table: table.to_owned(),
                id: id.clone(),
                fields: merged.clashes.iter().map(|c| c.field.clone()).collect(),
                values: merged
                    .clashes
                    .iter()
                    .map(|c| FieldValues { field: c.field.clone(), ours: c.ours.clone(), theirs: c.theirs.clone() })
                    .collect(),
            });
        }
        plan.statements.push(&resolution(table, layout, &versions, merged.row.as_ref()));
    }
    plan
}

/// The three versions of a row from one row of dolt's (with the columns of
/// each version under its prefix).
fn versions_of(row: &Row, layout: &Layout, [base, ours, theirs]: [Option<&str>; 3]) -> Versions {
    let side = |prefix: Option<&str>| -> Option<Fields> {
        let prefix = prefix?;
        let present = layout.key.iter().all(|k| row.get(&format!("{prefix}_{k}")).is_some_and(|v| !v.is_null()));
        let removed = row.get(&format!("{prefix}_diff_type")).and_then(Value::as_str) == Some("removed");
        (present && !removed).then(|| {
            layout
                .columns
                .iter()
                .map(|c| (c.clone(), row.get(&format!("{prefix}_{c}")).cloned().unwrap_or(Value::Null)))
                .collect()
        })
    };
    Versions { base: side(base), ours: side(ours), theirs: side(theirs) }
}

/// The row's key as people read it (`north-3k9x2a`, or `north-3k9x2a auth`).
fn key_text(versions: &Versions, layout: &Layout) -> String {
    let any = versions.ours.as_ref().or(versions.theirs.as_ref()).or(versions.base.as_ref());
    layout
        .key
        .iter()
        .map(|k| any.and_then(|r| r.get(k)).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .map(Option::unwrap_or_default)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The statements that make the working row equal `row` (or delete it).
/// The table and column names were read from dolt: they are quoted as names.
fn resolution(table: &str, layout: &Layout, versions: &Versions, row: Option<&Fields>) -> Sql {
    let key_of = versions.ours.as_ref().or(versions.theirs.as_ref()).or(versions.base.as_ref());
    let Some(key_of) = key_of else { return Sql::default() };
    let table = Sql::ident(table);
    let condition = Sql::join(layout.key.iter().map(|k| sql!("{} = {}", Sql::ident(k), key_of.get(k))), " AND ");
    let mut out = sql!("DELETE FROM {} WHERE {};\n", table, condition);
    if let Some(row) = row {
        let names = Sql::join(row.keys().map(|c| Sql::ident(c)), ", ");
        let values = Sql::join(row.values().map(ToSql::to_sql), ", ");
        out.push(&sql!("INSERT INTO {} ({}) VALUES ({});\n", table, names, values));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(pairs: &[(&str, Value)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn issue(title: &str, priority: i64, status: &str, updated: &str) -> Fields {
        fields(&[
            ("id", json!("n-1")),
            ("title", json!(title)),
            ("priority", json!(priority)),
            ("status", json!(status)),
            ("updated_at", json!(updated)),
        ])
    }

    const OURS: &dyn Fn(&str, &Value, &Value) -> Side = &|_, _, _| Side::Ours;

    #[test]
    fn different_fields_both_survive_and_updated_at_takes_the_later() {
        let v = Versions {
            base: Some(issue("t", 2, "open", "2026-01-01")),
            ours: Some(issue("north", 2, "open", "2026-01-02")),
            theirs: Some(issue("t", 0, "open", "2026-01-03")),
        };
        let merged = merge_row(&v, OURS);
        assert!(merged.clashes.is_empty(), "{:?}", merged.clashes);
        assert_eq!(merged.row, Some(issue("north", 0, "open", "2026-01-03")));
    }

    #[test]
    fn a_field_changed_on_both_sides_is_decided_and_reported() {
        let v = Versions {
            base: Some(issue("t", 2, "open", "2026-01-01")),
            ours: Some(issue("A", 2, "open", "2026-01-02")),
            theirs: Some(issue("B", 1, "open", "2026-01-03")),
        };
        let merged = merge_row(&v, &|_, _, _| Side::Theirs);
        assert_eq!(merged.clashes.len(), 1);
        assert_eq!(merged.clashes[0].field, "title");
        assert_eq!(merged.row, Some(issue("B", 1, "open", "2026-01-03")));
    }

    #[test]
    fn close_times_follow_the_status_that_won() {
        let mut base = issue("t", 2, "open", "2026-01-01");
        base.insert("closed_at".to_owned(), Value::Null);
        let mut ours = base.clone();
        ours.insert("status".to_owned(), json!("closed"));
        ours.insert("closed_at".to_owned(), json!("2026-01-02"));
        let mut theirs = base.clone();
        theirs.insert("status".to_owned(), json!("in_progress"));
        let v = Versions { base: Some(base), ours: Some(ours), theirs: Some(theirs) };
        let merged = merge_row(&v, &|_, _, _| Side::Theirs);
        let row = merged.row.expect("row");
        assert_eq!(row["status"], json!("in_progress"));
        assert_eq!(row["closed_at"], Value::Null);
        assert_eq!(merged.clashes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["status"]);
    }

    #[test]
    fn an_edit_outlives_a_deletion_but_an_untouched_row_does_not() {
        let base = issue("t", 2, "open", "2026-01-01");
        let edited = issue("t2", 2, "open", "2026-01-02");
        let v = Versions { base: Some(base.clone()), ours: None, theirs: Some(edited.clone()) };
        assert_eq!(merge_row(&v, OURS).row, Some(edited));
        let v = Versions { base: Some(base.clone()), ours: Some(base), theirs: None };
        assert_eq!(merge_row(&v, OURS).row, None);
    }

    /// A row's key and values come from a peer, and its column names from
    /// the database: values are quoted as text, names as names.
    #[test]
    fn a_hostile_row_lands_quoted() {
        let layout = Layout { columns: vec!["id".into(), "ti`tle".into()], key: vec!["id".into()] };
        let row = fields(&[("id", json!("n-1'); DROP TABLE issues; --")), ("ti`tle", json!("a\\b"))]);
        let versions = Versions { base: None, ours: Some(row.clone()), theirs: None };
        assert_eq!(
            resolution("issues", &layout, &versions, Some(&row)).as_str(),
            concat!(
                r"DELETE FROM `issues` WHERE `id` = 'n-1\'); DROP TABLE issues; --';",
                "\n",
                r"INSERT INTO `issues` (`id`, `ti``tle`) VALUES ('n-1\'); DROP TABLE issues; --', 'a\\b');",
                "\n"
            )
        );
    }

    fn preview(rows: &[Value]) -> Vec<Row> {
        let mut all: Vec<Row> = rows.iter().map(|r| r.as_object().expect("object").clone()).collect();
        for (name, key) in [("id", "PRI"), ("title", ""), ("updated_at", "")] {
            all.push(json!({"bd_layout": "issues", "name": name, "k": key}).as_object().expect("o").clone());
        }
        all
    }

    #[test]
    fn newest_decides_each_field_by_its_own_events() {
        let conflict = json!({
            "bd_table": "issues", "our_diff_type": "modified", "their_diff_type": "modified",
            "base_id": "n-1", "base_title": "t", "base_updated_at": "2026-01-01",
            "our_id": "n-1", "our_title": "A", "our_updated_at": "2026-01-05",
            "their_id": "n-1", "their_title": "B", "their_updated_at": "2026-01-03",
        });
        // Ours changed the title on the 2nd (and something else on the 5th);
        // theirs changed it on the 3rd: theirs is the newer title.
        let mut rows = preview(&[conflict]);
        for (side, at) in [("ours", "2026-01-02"), ("theirs", "2026-01-03")] {
            rows.push(
                json!({"bd_side": side, "issue_id": "n-1", "field": "title", "at": at}).as_object().expect("o").clone(),
            );
        }
        let plan = plan_from_rows(&rows, Strategy::Newest, Rows::MergeConflicts);
        assert_eq!(plan.tables, ["issues"]);
        assert_eq!(plan.conflicts.len(), 1);
        let text = plan.statements.as_str();
        assert!(text.contains("'B'") && text.contains("'2026-01-05'"), "{text}");
        // Without events, the side's updated_at decides.
        let plan = plan_from_rows(&rows[..rows.len() - 2], Strategy::Newest, Rows::MergeConflicts);
        assert!(plan.statements.as_str().contains("'A'"), "{}", plan.statements);
    }
}
