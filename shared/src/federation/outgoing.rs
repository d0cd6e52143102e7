//! The outgoing lineage: what a peer receives when some issue types must
//! never leave the town.
//!
//! A filtered commit on top of the real history would still carry the
//! excluded issues in its ancestors. So each share builds a snapshot of
//! `main` without them, committed on a branch that starts from the peer's own
//! main (or the shared genesis), and pushes that branch. The snapshot is then
//! recorded in `main` as a merge that keeps `main`'s content exactly, so the
//! next pull has a common ancestor with the peer.

use std::fmt::Write as _;

use super::remote::Peer;
use super::state;
use crate::dolt::Repo;
use crate::tracker::{Town, sql};

/// Tables copied into a snapshot, each with the condition that keeps a row.
const TABLES: [(&str, &str); 7] = [
    ("issues", "issue_type NOT IN ({excluded})"),
    ("labels", "issue_id IN ({kept})"),
    ("comments", "issue_id IN ({kept})"),
    ("events", "issue_id IN ({kept})"),
    ("dependencies", "issue_id IN ({kept}) AND depends_on_id IN ({kept})"),
    ("metadata", "1 = 1"),
    ("config", "1 = 1"),
];

/// The local branch holding a peer's outgoing lineage.
#[must_use]
pub(super) fn branch(peer: &Peer) -> String {
    format!("bd-outgoing-{}", peer.name)
}

/// The message of the merge that records a share in `main`.
pub(super) fn record_message(peer: &str) -> String {
    format!("bd federation: record share on bd-outgoing-{peer}")
}

/// Commits in `main` not yet shared with `peer` as a snapshot: those after
/// the latest recorded share (all since `base` when there is none).
pub(super) fn unshared(repo: &Repo, peer: &str, base: &str) -> anyhow::Result<u64> {
    let rows = repo.query(&format!(
        "SELECT commit_hash FROM dolt_log WHERE message = {} LIMIT 1",
        sql::lit(&record_message(peer))
    ))?;
    let since = rows.first().and_then(|r| r.get("commit_hash")).and_then(serde_json::Value::as_str).unwrap_or(base);
    Ok(state::ahead_behind(repo, "main", since)?.0)
}

/// Builds the next filtered snapshot for `peer` on top of `base`; returns
/// the branch to push, or `None` when the peer already has everything.
pub(super) fn build(town: &Town, peer: &Peer, base: &str, excluded: &[String]) -> anyhow::Result<Option<String>> {
    let branch = branch(peer);
    let excluded_list = excluded.iter().map(|t| sql::lit(t)).collect::<Vec<_>>().join(", ");
    let kept = format!("SELECT id FROM issues AS OF 'main' WHERE issue_type NOT IN ({excluded_list})");
    let author = sql::lit(&town.actor().signature());
    let mut script = format!(
        "SET autocommit = 0;\nCALL DOLT_BRANCH('-f', {b}, {base});\nCALL DOLT_CHECKOUT({b});\n",
        b = sql::lit(&branch),
        base = sql::lit(base)
    );
    for (table, keep) in TABLES {
        let keep = keep.replace("{excluded}", &excluded_list).replace("{kept}", &kept);
        let _ = writeln!(
            script,
            "DELETE FROM {table};\nINSERT INTO {table} SELECT * FROM {table} AS OF 'main' WHERE {keep};"
        );
    }
    let _ = writeln!(
        script,
        "CALL DOLT_COMMIT('-A', '--allow-empty', '-m', {}, '--author', {author});\nCOMMIT;",
        sql::lit(&format!("bd federation: share {} with {}", town.name(), peer.name))
    );
    town.repo().execute(&script)?;
    let repo = town.repo();
    // A snapshot equal to its base carries nothing new.
    let changed =
        repo.query(&format!("SELECT COUNT(*) AS n FROM dolt_diff_summary({}, {})", sql::lit(base), sql::lit(&branch)))?;
    if changed.first().and_then(|r| r.get("n")).and_then(serde_json::Value::as_u64).unwrap_or(0) == 0 {
        repo.execute(&format!("CALL DOLT_BRANCH('-D', {});", sql::lit(&branch)))?;
        return Ok(None);
    }
    Ok(Some(branch))
}

/// Merges the snapshot into `main` keeping `main`'s content unchanged (an
/// "ours" merge), so later merges with the peer have a common ancestor.
/// Call only after the peer took the snapshot: a failed push records nothing.
pub(super) fn record_in_main(town: &Town, peer: &Peer, branch: &str) -> anyhow::Result<()> {
    let mut script = format!(
        "SET autocommit = 0;\nSET @@dolt_allow_commit_conflicts = 1;\nCALL DOLT_MERGE('--no-ff', '--no-commit', {});\n",
        sql::lit(branch)
    );
    for (table, _) in TABLES {
        let _ = writeln!(
            script,
            "DELETE FROM dolt_conflicts_{table};\nDELETE FROM {table};\nINSERT INTO {table} SELECT * FROM {table} AS OF 'main';"
        );
    }
    let _ = writeln!(
        script,
        "CALL DOLT_COMMIT('-A', '-m', {}, '--author', {});\nCOMMIT;",
        sql::lit(&record_message(&peer.name)),
        sql::lit(&town.actor().signature())
    );
    town.repo().execute(&script)?;
    Ok(())
}
