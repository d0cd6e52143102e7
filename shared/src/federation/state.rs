//! Read-only questions about the local repository that every exchange asks:
//! pending changes, refs, ahead/behind, issue diffs, predicted conflicts.

use serde_json::Value;

use super::report::{Conflict, IssueCounts};
use crate::dolt::{Repo, Row};
use crate::tracker::{schema, sql};

fn number(row: Option<&Row>, col: &str) -> u64 {
    row.and_then(|r| r.get(col))
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(0)
}

/// Uncommitted changes in the working set.
pub(super) fn pending_changes(repo: &Repo) -> anyhow::Result<u64> {
    Ok(number(repo.query("SELECT COUNT(*) AS n FROM dolt_status")?.first(), "n"))
}

/// Whether a remote-tracking ref such as `b/main` exists.
pub(super) fn has_remote_ref(repo: &Repo, tracking: &str) -> anyhow::Result<bool> {
    let name = format!("remotes/{tracking}");
    Ok(number(
        repo.query(&format!("SELECT COUNT(*) AS n FROM dolt_remote_branches WHERE name = {}", sql::lit(&name)))?
            .first(),
        "n",
    ) > 0)
}

/// The commit hash a ref points to.
pub(super) fn hash_of(repo: &Repo, reference: &str) -> anyhow::Result<Option<String>> {
    Ok(repo
        .query(&format!("SELECT HASHOF({}) AS h", sql::lit(reference)))?
        .first()
        .and_then(|r| r.get("h"))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// The schema commit every town shares: the base when a peer has no data.
pub(super) fn genesis(repo: &Repo) -> anyhow::Result<String> {
    let rows = repo.query(&format!(
        "SELECT commit_hash FROM dolt_log WHERE message = {} LIMIT 1",
        sql::lit(schema::SCHEMA_MESSAGE)
    ))?;
    rows.first()
        .and_then(|r| r.get("commit_hash"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("this town has no bd genesis commit; was it made with `bd init`?"))
}

/// Commits in `ours` that `theirs` lacks, and commits in `theirs` that `ours` lacks.
pub(super) fn ahead_behind(repo: &Repo, ours: &str, theirs: &str) -> anyhow::Result<(u64, u64)> {
    let rows =
        repo.query(&format!("CALL DOLT_COUNT_COMMITS('--from', {}, '--to', {})", sql::lit(ours), sql::lit(theirs)))?;
    Ok((number(rows.first(), "ahead"), number(rows.first(), "behind")))
}

/// Issues that differ from `base` to `target` (`base...target` when
/// `since_fork`, i.e. only the changes made on `target` since they forked),
/// ignoring the issue types in `excluded`.
pub(super) fn issue_counts(
    repo: &Repo,
    base: &str,
    target: &str,
    since_fork: bool,
    excluded: &[String],
) -> anyhow::Result<IssueCounts> {
    let range = if since_fork {
        sql::lit(&format!("{base}...{target}"))
    } else {
        format!("{}, {}", sql::lit(base), sql::lit(target))
    };
    let filter = if excluded.is_empty() {
        String::new()
    } else {
        format!(
            " WHERE COALESCE(to_issue_type, from_issue_type) NOT IN ({})",
            excluded.iter().map(|t| sql::lit(t)).collect::<Vec<_>>().join(", ")
        )
    };
    let rows = repo.query(&format!(
        "SELECT diff_type, COUNT(*) AS n FROM dolt_diff({range}, 'issues'){filter} GROUP BY diff_type"
    ))?;
    let mut counts = IssueCounts::default();
    for row in &rows {
        let n = number(Some(row), "n");
        match row.get("diff_type").and_then(Value::as_str) {
            Some("added") => counts.added += n,
            Some("modified") => counts.changed += n,
            Some("removed") => counts.removed += n,
            _ => {}
        }
    }
    Ok(counts)
}

/// Tables with conflicts if `theirs` were merged into `ours`.
pub(super) fn conflicting_tables(repo: &Repo, ours: &str, theirs: &str) -> anyhow::Result<Vec<String>> {
    let rows = repo.query(&format!(
        "SELECT `table` FROM dolt_preview_merge_conflicts_summary({}, {}) WHERE num_data_conflicts > 0 OR num_schema_conflicts > 0",
        sql::lit(ours),
        sql::lit(theirs)
    ))?;
    Ok(rows.iter().filter_map(|r| r.get("table").and_then(Value::as_str).map(str::to_owned)).collect())
}

/// The rows that would conflict in `table`, with the fields the two sides
/// set differently (bookkeeping such as `updated_at` left out).
pub(super) fn conflicts(repo: &Repo, ours: &str, theirs: &str, table: &str) -> anyhow::Result<Vec<Conflict>> {
    let rows = repo.query(&format!(
        "SELECT * FROM dolt_preview_merge_conflicts({}, {}, {})",
        sql::lit(ours),
        sql::lit(theirs),
        sql::lit(table)
    ))?;
    let mut out = Vec::new();
    for row in rows {
        // Fields both sides changed, to different values (absent = NULL in dolt's JSON).
        let value = |side: &str, c: &str| row.get(&format!("{side}_{c}")).cloned().unwrap_or(Value::Null);
        let mut fields: Vec<String> = row
            .keys()
            .filter_map(|k| k.strip_prefix("our_").or_else(|| k.strip_prefix("their_")))
            .filter(|c| !matches!(*c, "diff_type" | "updated_at"))
            .filter(|c| {
                let (base, ours, theirs) = (value("base", c), value("our", c), value("their", c));
                ours != theirs && ours != base && theirs != base
            })
            .map(str::to_owned)
            .collect();
        fields.dedup();
        let side = |s: &str| row.get(&format!("{s}_diff_type")).and_then(Value::as_str).unwrap_or("").to_owned();
        if side("our") == "removed" || side("their") == "removed" {
            fields = vec!["(removed on one side, changed on the other)".to_owned()];
        }
        fields.sort();
        fields.dedup();
        let id = ["our_id", "their_id", "base_id", "our_issue_id", "their_issue_id"]
            .iter()
            .find_map(|k| row.get(*k).and_then(Value::as_str))
            .unwrap_or("?")
            .to_owned();
        out.push(Conflict { table: table.to_owned(), id, fields });
    }
    Ok(out)
}
