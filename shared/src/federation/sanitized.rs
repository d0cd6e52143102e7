//! Sharing with T3/T4 peers: sanitized snapshots on the peer's own lineage.
//!
//! Nothing of this town's history reaches such a peer. Each share starts from
//! the peer's main (or the shared genesis), replaces this town's issues there
//! with sanitized copies (person identifiers pseudonymized or removed, emails
//! scrubbed from text), and commits that as one snapshot authored by the tool.
//! Other towns' rows on the peer are left exactly as they are.
//!
//! Pulling from a T3/T4 peer never merges its history: only the issues other
//! towns created (by `source_system`) are copied in, newer versions winning,
//! with their labels, comments, events and dependencies.

use std::fmt::Write as _;

use serde_json::Value;

use super::outgoing::Exclusions;
use super::remote::Peer;
use super::report::IssueCounts;
use super::sovereignty::Sanitizer;
use crate::dolt::Row;
use crate::tracker::{Town, sql};

/// The local branch holding a T3/T4 peer's lineage.
fn branch(peer: &Peer) -> String {
    format!("bd-sanitized-{}", peer.name)
}

/// Child tables and the column that links each to its issue.
const CHILDREN: [&str; 4] = ["labels", "comments", "events", "dependencies"];

fn set(row: &mut Row, column: &str, value: Option<String>) {
    row.insert(column.to_owned(), value.map_or(Value::Null, Value::String));
}

fn text_of<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(Value::as_str)
}

/// Rewrites one row of `table` for the peer.
fn sanitize(table: &str, row: &mut Row, s: &Sanitizer) {
    let person = |row: &mut Row, col: &str| {
        let v = s.person(text_of(row, col));
        set(row, col, v);
    };
    let text = |row: &mut Row, col: &str| {
        if let Some(t) = text_of(row, col).map(|t| s.text(t)) {
            set(row, col, Some(t));
        }
    };
    match table {
        "issues" => {
            for col in ["assignee", "owner", "created_by"] {
                person(row, col);
            }
            for col in
                ["title", "description", "design", "acceptance_criteria", "notes", "close_reason", "external_ref"]
            {
                text(row, col);
            }
            row.insert("metadata".to_owned(), Value::Null);
        }
        "comments" => {
            person(row, "author");
            text(row, "text");
        }
        "events" => {
            person(row, "actor");
            let identifies = matches!(text_of(row, "comment"), Some("assignee" | "owner" | "created_by"));
            for col in ["old_value", "new_value"] {
                if identifies {
                    person(row, col);
                } else {
                    text(row, col);
                }
            }
        }
        "dependencies" => person(row, "created_by"),
        _ => text(row, "label"),
    }
}

/// Builds the next sanitized snapshot for `peer` on top of `base`; returns
/// the branch to push, or `None` when the peer already has it all.
pub(super) fn build(town: &Town, peer: &Peer, base: &str, excluded: &Exclusions) -> anyhow::Result<Option<String>> {
    let repo = town.repo();
    let people = repo.query(
        "SELECT assignee AS p FROM issues UNION SELECT owner FROM issues UNION SELECT created_by FROM issues \
         UNION SELECT author FROM comments UNION SELECT actor FROM events UNION SELECT created_by FROM dependencies",
    )?;
    let people = people.iter().filter_map(|r| r.get("p").and_then(Value::as_str).map(str::to_owned));
    let sanitizer = Sanitizer::new(town.workspace(), peer.tier)?.with_known_people(people);
    let ours = sql::lit(&town.source_system());
    let type_filter = format!(" AND NOT ({})", excluded.issue_row(""));
    let own_ids = format!("SELECT id FROM issues WHERE source_system = {ours}{type_filter}");
    let branch = branch(peer);
    let mut script = format!(
        "SET autocommit = 0;\nCALL DOLT_BRANCH('-f', {b}, {base});\nCALL DOLT_CHECKOUT({b});\n",
        b = sql::lit(&branch),
        base = sql::lit(base)
    );
    // Remove what this town shared before; other towns' rows stay.
    for child in CHILDREN {
        let _ = writeln!(
            script,
            "DELETE FROM {child} WHERE issue_id IN (SELECT id FROM issues WHERE source_system = {ours});"
        );
    }
    let _ = writeln!(script, "DELETE FROM issues WHERE source_system = {ours};");
    let mut issues = repo.query(&format!("SELECT * FROM issues WHERE source_system = {ours}{type_filter}"))?;
    for row in &mut issues {
        sanitize("issues", row, &sanitizer);
    }
    sql::inserts(&mut script, "issues", &issues);
    for child in CHILDREN {
        let also = if child == "dependencies" {
            // A dependency on an issue that is not shared would name it.
            format!(" AND (depends_on_id IN ({own_ids}) OR depends_on_id NOT IN (SELECT id FROM issues))")
        } else {
            String::new()
        };
        let mut rows = repo.query(&format!("SELECT * FROM {child} WHERE issue_id IN ({own_ids}){also}"))?;
        for row in &mut rows {
            sanitize(child, row, &sanitizer);
        }
        sql::inserts(&mut script, child, &rows);
    }
    let _ = writeln!(
        script,
        "CALL DOLT_COMMIT('-A', '--allow-empty', '-m', {}, '--author', {});\nCOMMIT;",
        sql::lit(&format!("bd federation: {} share from {}", peer.tier, town.name())),
        sql::lit(&format!("bd <bd@{}>", town.name()))
    );
    repo.execute(&script)?;
    let changed =
        repo.query(&format!("SELECT COUNT(*) AS n FROM dolt_diff_summary({}, {})", sql::lit(base), sql::lit(&branch)))?;
    if changed.first().and_then(|r| r.get("n")).and_then(Value::as_u64).unwrap_or(0) == 0 {
        repo.execute(&format!("CALL DOLT_BRANCH('-D', {});", sql::lit(&branch)))?;
        return Ok(None);
    }
    Ok(Some(branch))
}

/// This town's shareable issues that the peer lacks (`added`) or has in an
/// older version (`changed`, by `updated_at`, which sanitizing keeps).
pub(super) fn outgoing_counts(town: &Town, base: &str, excluded: &Exclusions) -> anyhow::Result<IssueCounts> {
    let filter = format!("l.source_system = {} AND NOT ({})", sql::lit(&town.source_system()), excluded.issue_row("l"));
    let rows = town.repo().query(&format!(
        "SELECT SUM(CASE WHEN p.id IS NULL THEN 1 ELSE 0 END) AS added, \
         SUM(CASE WHEN p.id IS NOT NULL AND p.updated_at <> l.updated_at THEN 1 ELSE 0 END) AS changed \
         FROM issues l LEFT JOIN issues AS OF {} p ON p.id = l.id WHERE {filter}",
        sql::lit(base)
    ))?;
    Ok(IssueCounts { added: number(rows.first(), "added"), changed: number(rows.first(), "changed"), removed: 0 })
}

fn number(row: Option<&Row>, column: &str) -> u64 {
    row.and_then(|r| r.get(column))
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(0)
}

/// Copies in the issues other towns created from a T3/T4 peer's main, newer
/// versions winning; returns how many issues were added or changed.
pub(super) fn import_foreign(town: &Town, peer: &Peer) -> anyhow::Result<IssueCounts> {
    let repo = town.repo();
    let tracking = sql::lit(&peer.tracking_ref());
    let ours = sql::lit(&town.source_system());
    let candidates = format!(
        "SELECT p.id FROM issues AS OF {tracking} p LEFT JOIN issues l ON l.id = p.id \
         WHERE COALESCE(p.source_system, '') <> {ours} \
         AND (l.id IS NULL OR (COALESCE(l.source_system, '') <> {ours} AND p.updated_at > l.updated_at))"
    );
    let rows = repo.query(&format!(
        "SELECT SUM(CASE WHEN l.id IS NULL THEN 1 ELSE 0 END) AS added, SUM(CASE WHEN l.id IS NULL THEN 0 ELSE 1 END) AS changed \
         FROM issues AS OF {tracking} p LEFT JOIN issues l ON l.id = p.id \
         WHERE COALESCE(p.source_system, '') <> {ours} \
         AND (l.id IS NULL OR (COALESCE(l.source_system, '') <> {ours} AND p.updated_at > l.updated_at))"
    ))?;
    let counts =
        IssueCounts { added: number(rows.first(), "added"), changed: number(rows.first(), "changed"), removed: 0 };
    if counts.is_empty() {
        return Ok(counts);
    }
    let mut script = format!(
        "SET autocommit = 0;\nCREATE TEMPORARY TABLE bd_incoming AS {candidates};\nREPLACE INTO issues SELECT * FROM issues AS OF {tracking} WHERE id IN (SELECT id FROM bd_incoming);\n"
    );
    for child in CHILDREN {
        let _ = writeln!(
            script,
            "DELETE FROM {child} WHERE issue_id IN (SELECT id FROM bd_incoming);\n\
             INSERT INTO {child} SELECT * FROM {child} AS OF {tracking} WHERE issue_id IN (SELECT id FROM bd_incoming);"
        );
    }
    let _ = writeln!(
        script,
        "CALL DOLT_COMMIT('-A', '-m', {}, '--author', {});\nCOMMIT;",
        sql::lit(&format!("bd federation: import {} peer {}'s issues", peer.tier, peer.name)),
        sql::lit(&town.actor().signature())
    );
    repo.execute(&script)?;
    Ok(counts)
}
