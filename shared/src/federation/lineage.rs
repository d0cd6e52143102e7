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
use crate::tracker::sql::{Sql, ToSql, sql};

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
pub(super) fn begin(branch: &str, start: &str) -> Sql {
    sql!("SET autocommit = 0;\nCALL DOLT_BRANCH('-f', {}, {});\nCALL DOLT_CHECKOUT({});\n", branch, start, branch)
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
pub(super) fn commit(message: &str, author: &str, empty: Empty) -> Sql {
    let flag = match empty {
        Empty::Allow => Sql::raw("'--allow-empty', "),
        Empty::Skip => Sql::raw("'--skip-empty', "),
    };
    sql!("CALL DOLT_COMMIT('-A', {}'-m', {}, '--author', {});\nCOMMIT;\n", flag, message, author)
}

/// A query of how many tables differ between `from` and `to`, as `bd_changes`.
#[must_use]
pub(super) fn changes_query(from: &str, to: &str) -> Sql {
    sql!("SELECT COUNT(*) AS bd_changes FROM dolt_diff_summary({}, {})", from, to)
}

/// How many tables differ between `from` and `to`.
pub(super) fn changes(repo: &Repo, from: &str, to: &str) -> anyhow::Result<u64> {
    Ok(number(repo.query(&changes_query(from, to))?.first(), "bd_changes"))
}

/// The statement that makes `branch` at `at` (failing when it exists).
#[must_use]
pub(super) fn keep(branch: &str, at: &str) -> Sql {
    sql!("CALL DOLT_BRANCH({}, {});\n", branch, at)
}

/// The statement that deletes `branch`.
#[must_use]
pub(super) fn delete_statement(branch: &str) -> Sql {
    sql!("CALL DOLT_BRANCH('-D', {});\n", branch)
}

/// Deletes those of `branches` that exist.
pub(super) fn delete(repo: &Repo, branches: &[String]) -> anyhow::Result<()> {
    let names = Sql::join(branches.iter().map(ToSql::to_sql), ", ");
    let existing = repo.query(&sql!("SELECT name FROM dolt_branches WHERE name IN ({})", names))?;
    let script = Sql::join(
        existing.iter().filter_map(|row| row.get("name").and_then(serde_json::Value::as_str)).map(delete_statement),
        "",
    );
    if !script.is_empty() {
        repo.execute(&script)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Branch names carry a peer's name, and commit messages and authors
    /// carry people's text: each stays inside its quoted literal.
    #[test]
    fn names_and_messages_land_quoted() {
        let branch = outgoing("o'b\\x");
        assert_eq!(
            begin(&branch, "o'b\\x/main").as_str(),
            concat!(
                "SET autocommit = 0;\n",
                r"CALL DOLT_BRANCH('-f', 'bd-outgoing-o\'b\\x', 'o\'b\\x/main');",
                "\n",
                r"CALL DOLT_CHECKOUT('bd-outgoing-o\'b\\x');",
                "\n"
            )
        );
        assert_eq!(
            delete_statement("x'); DROP TABLE issues; --").as_str(),
            concat!(r"CALL DOLT_BRANCH('-D', 'x\'); DROP TABLE issues; --');", "\n")
        );
        assert_eq!(
            commit("it's \\ done", "Ann <ann@x>", Empty::Skip).as_str(),
            concat!(
                r"CALL DOLT_COMMIT('-A', '--skip-empty', '-m', 'it\'s \\ done', '--author', 'Ann <ann@x>');",
                "\nCOMMIT;\n"
            )
        );
    }
}
