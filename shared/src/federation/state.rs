//! Read-only questions about the local repository that every exchange asks:
//! pending changes, refs, ahead/behind, issue diffs, predicted conflicts.

use serde_json::Value;

use super::report::{Conflict, IssueCounts};
use std::fmt::Write as _;
use std::time::Instant;

use super::remote::Peer;
use crate::dolt::{DoltError, Repo, Row};
use crate::tracker::{schema, sql};

fn number(row: Option<&Row>, col: &str) -> u64 {
    row.and_then(|r| r.get(col))
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(0)
}

/// Where this town stands against a peer's fetched main, read in one query.
#[derive(Debug, Clone)]
pub(super) struct Standing {
    /// The peer's main (`b/main`), or the shared genesis when it has no data.
    pub base: String,
    /// Whether the peer has a main at all.
    pub peer_has_data: bool,
    /// The peer's main commit before this operation.
    pub peer_head: Option<String>,
    /// Commits here the peer lacks.
    pub ahead: u64,
    /// Commits on the peer missing here.
    pub behind: u64,
}

/// Reads the standing against `tracking` (e.g. `b/main`).
pub(super) fn standing(repo: &Repo, tracking: &str) -> anyhow::Result<Standing> {
    let t = sql::lit(tracking);
    let range = |from: &str, to: &str| sql::lit(&format!("{from}..{to}"));
    let query = format!(
        "SELECT HASHOF({t}) AS peer, (SELECT COUNT(*) FROM dolt_log({})) AS ahead, (SELECT COUNT(*) FROM dolt_log({})) AS behind",
        range(tracking, "main"),
        range("main", tracking)
    );
    match repo.query(&query) {
        Ok(rows) => Ok(Standing {
            base: tracking.to_owned(),
            peer_has_data: true,
            peer_head: rows.first().and_then(|r| r.get("peer")).and_then(Value::as_str).map(str::to_owned),
            ahead: number(rows.first(), "ahead"),
            behind: number(rows.first(), "behind"),
        }),
        // The usual reason is that the peer has no main yet; anything else is reported as it is.
        Err(err @ DoltError::Failed { .. }) if !has_remote_ref(repo, tracking)? => {
            drop(err);
            let base = genesis(repo)?;
            Ok(Standing {
                ahead: ahead_behind(repo, "main", &base)?.0,
                base,
                peer_has_data: false,
                peer_head: None,
                behind: 0,
            })
        }
        Err(err) => Err(err.into()),
    }
}

/// Commits pending local changes (when `commit` carries the message and
/// author), fetches the peer and reads the standing, all in one dolt process.
pub(super) fn fetch_and_stand(
    repo: &Repo,
    peer: &Peer,
    commit: Option<(&str, &str)>,
    deadline: Instant,
) -> anyhow::Result<Standing> {
    let tracking = peer.tracking_ref();
    let mut script = String::new();
    if let Some((message, author)) = commit {
        let _ = writeln!(
            script,
            "CALL DOLT_COMMIT('-A', '--skip-empty', '-m', {}, '--author', {});",
            sql::lit(message),
            sql::lit(author)
        );
    }
    let range = |from: &str, to: &str| sql::lit(&format!("{from}..{to}"));
    let _ = writeln!(
        script,
        "CALL DOLT_FETCH({});\nSELECT 1 AS bd_standing, HASHOF({}) AS peer, (SELECT COUNT(*) FROM dolt_log({})) AS ahead, \
         (SELECT COUNT(*) FROM dolt_log({})) AS behind;",
        peer.sql_remote_args(),
        sql::lit(&tracking),
        range(&tracking, "main"),
        range("main", &tracking)
    );
    match peer.script(repo, &script, deadline) {
        Ok(out) => {
            let rows = crate::dolt::parse_rows(&out.stdout)?;
            let row = rows.iter().find(|r| r.contains_key("bd_standing"));
            Ok(Standing {
                base: tracking.clone(),
                peer_has_data: true,
                peer_head: row.and_then(|r| r.get("peer")).and_then(Value::as_str).map(str::to_owned),
                ahead: number(row, "ahead"),
                behind: number(row, "behind"),
            })
        }
        // The fetch ran; the peer has no main yet, so its ref does not exist.
        Err(err) if err.reason.contains("invalid ref spec") || err.reason.contains("not found") => {
            standing(repo, &tracking)
        }
        Err(err) => Err(err.into()),
    }
}

/// What merging `tracking` would bring, and the tables it would conflict in.
pub(super) fn incoming(repo: &Repo, tracking: &str) -> anyhow::Result<(IssueCounts, Vec<String>)> {
    let diff = sql::lit(&format!("main...{tracking}"));
    let count = |kind: &str| format!("(SELECT COUNT(*) FROM dolt_diff({diff}, 'issues') WHERE diff_type = '{kind}')");
    let rows = repo.query(&format!(
        "SELECT {} AS added, {} AS changed, {} AS removed, \
         (SELECT GROUP_CONCAT(`table`) FROM dolt_preview_merge_conflicts_summary('main', {})
          WHERE num_data_conflicts > 0 OR num_schema_conflicts > 0) AS conflicted",
        count("added"),
        count("modified"),
        count("removed"),
        sql::lit(tracking)
    ))?;
    let row = rows.first();
    let counts =
        IssueCounts { added: number(row, "added"), changed: number(row, "changed"), removed: number(row, "removed") };
    let tables = row
        .and_then(|r| r.get("conflicted"))
        .and_then(Value::as_str)
        .map(|t| t.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    Ok((counts, tables))
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
