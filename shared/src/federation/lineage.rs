//! Snapshot branches: the local branches that carry what a peer receives
//! when it must not receive `main` itself, and the branches that keep a
//! history aside.
//!
//! A peer from which some issue types are excluded gets filtered snapshots
//! (`bd-outgoing-<peer>`, see [`super::outgoing`]); a T3/T4 peer gets
//! sanitized ones (`bd-sanitized-<peer>` and `bd-share-<peer>`, see
//! [`super::sanitized`]); a join builds its union on `bd-join-<peer>` and
//! keeps the previous main on `bd/before-join/<who>/<date>` (see
//! [`super::join`]). Each is built the same way — made or moved to a start,
//! checked out in a transaction, written, committed, compared with its
//! base, deleted when it is not needed — and this module writes those
//! steps. What goes into a snapshot is left to the operation.

use crate::dolt::{Repo, number};
use crate::tracker::sql;

/// The branch holding a peer's filtered snapshots.
#[must_use]
pub(super) fn outgoing(peer: &str) -> String {
    format!("bd-outgoing-{peer}")
}

/// The branch holding a T3/T4 peer's sanitized snapshots.
#[must_use]
pub(super) fn sanitized(peer: &str) -> String {
    format!("bd-sanitized-{peer}")
}

/// The branch holding the peer's main right after this town's last share
/// with a T3/T4 peer (what it last shared, merged with what the peer had).
#[must_use]
pub(super) fn shared(peer: &str) -> String {
    format!("bd-share-{peer}")
}

/// The branch a join builds its union on.
#[must_use]
pub(super) fn union(peer: &str) -> String {
    format!("bd-join-{peer}")
}

/// The branch that keeps `whose` main as it was before a join at `stamp`.
#[must_use]
pub(super) fn before_join(whose: &str, stamp: &str) -> String {
    format!("bd/before-join/{whose}/{stamp}")
}

/// Every snapshot branch kept for `peer` between exchanges.
#[must_use]
pub(super) fn of_peer(peer: &str) -> [String; 3] {
    [outgoing(peer), sanitized(peer), shared(peer)]
}

/// The statements that start building a snapshot on `branch`: a
/// transaction, the branch made (or moved) at `start`, and checked out.
#[must_use]
pub(super) fn begin(branch: &str, start: &str) -> String {
    let b = sql::lit(branch);
    format!("SET autocommit = 0;\nCALL DOLT_BRANCH('-f', {b}, {});\nCALL DOLT_CHECKOUT({b});\n", sql::lit(start))
}

/// When a snapshot commit may be empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Empty {
    /// Commit even when nothing changed (the caller compares afterwards).
    Allow,
    /// Make no commit when nothing changed.
    Skip,
}

/// The statements that commit what was written on the checked-out branch
/// (every table) as `author`, and end the transaction.
#[must_use]
pub(super) fn commit(message: &str, author: &str, empty: Empty) -> String {
    let flag = match empty {
        Empty::Allow => "'--allow-empty', ",
        Empty::Skip => "'--skip-empty', ",
    };
    format!("CALL DOLT_COMMIT('-A', {flag}'-m', {}, '--author', {});\nCOMMIT;\n", sql::lit(message), sql::lit(author))
}

/// A query of how many tables differ between `from` and `to`, as `bd_changes`.
#[must_use]
pub(super) fn changes_query(from: &str, to: &str) -> String {
    format!("SELECT COUNT(*) AS bd_changes FROM dolt_diff_summary({}, {})", sql::lit(from), sql::lit(to))
}

/// How many tables differ between `from` and `to`.
pub(super) fn changes(repo: &Repo, from: &str, to: &str) -> anyhow::Result<u64> {
    Ok(number(repo.query(&changes_query(from, to))?.first(), "bd_changes"))
}

/// The statement that makes `branch` at `at` (failing when it exists).
#[must_use]
pub(super) fn keep(branch: &str, at: &str) -> String {
    format!("CALL DOLT_BRANCH({}, {});\n", sql::lit(branch), sql::lit(at))
}

/// The statement that deletes `branch`.
#[must_use]
pub(super) fn delete_statement(branch: &str) -> String {
    format!("CALL DOLT_BRANCH('-D', {});\n", sql::lit(branch))
}

/// Deletes those of `branches` that exist.
pub(super) fn delete(repo: &Repo, branches: &[String]) -> anyhow::Result<()> {
    let names: Vec<String> = branches.iter().map(|b| sql::lit(b)).collect();
    let existing = repo.query(&format!("SELECT name FROM dolt_branches WHERE name IN ({})", names.join(", ")))?;
    let script: String = existing
        .iter()
        .filter_map(|row| row.get("name").and_then(serde_json::Value::as_str))
        .map(delete_statement)
        .collect();
    if !script.is_empty() {
        repo.execute(&script)?;
    }
    Ok(())
}
