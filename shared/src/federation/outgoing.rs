//! The outgoing lineage: what a peer receives when some issue types must
//! never leave the town.
//!
//! A filtered commit on top of the real history would still carry the
//! excluded issues in its ancestors. So each share builds a snapshot of
//! `main` without them, committed on a branch that starts from the peer's own
//! main (or the shared genesis), and pushes that branch. The snapshot is then
//! recorded in `main` as a merge that keeps `main`'s content exactly, so the
//! next pull has a common ancestor with the peer.

use super::lineage;
use super::remote::Peer;
use super::state;
use crate::dolt::Repo;
use crate::tracker::Town;
use crate::tracker::sql::{Sql, ToSql, sql};

/// This town's own issues of the types in `federation.exclude_types`: they
/// never leave the town. Issues of those types that other towns created
/// pass through like any other.
#[derive(Debug, Clone, Default)]
pub(super) struct Exclusions {
    types: Vec<String>,
    source: String,
}

impl Exclusions {
    /// The exclusions of `town` for these issue types.
    #[must_use]
    pub(super) fn new(town: &Town, types: Vec<String>) -> Self {
        Self { types, source: town.source_system() }
    }

    /// No exclusions.
    #[must_use]
    pub(super) fn none() -> Self {
        Self::default()
    }

    /// Whether nothing is excluded.
    #[must_use]
    pub(super) fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    fn types_list(&self) -> Sql {
        Sql::join(self.types.iter().map(ToSql::to_sql), ", ")
    }

    /// A condition true for an excluded row of `issues` (columns qualified
    /// by `alias.` when it is not empty). Issues without a `source_system`
    /// were made here (or imported here), so they count as this town's.
    #[must_use]
    pub(super) fn issue_row(&self, alias: &'static str) -> Sql {
        if self.is_empty() {
            return Sql::raw("FALSE");
        }
        let a = if alias.is_empty() { Sql::default() } else { sql!("{}.", Sql::raw(alias)) };
        sql!(
            "({}issue_type IN ({}) AND COALESCE({}source_system, {}) = {})",
            a,
            self.types_list(),
            a,
            self.source,
            self.source
        )
    }

    /// The same condition for a row of `dolt_diff(…, 'issues')`.
    #[must_use]
    pub(super) fn diff_row(&self) -> Sql {
        if self.is_empty() {
            return Sql::raw("FALSE");
        }
        sql!(
            "(COALESCE(to_issue_type, from_issue_type) IN ({}) AND COALESCE(to_source_system, from_source_system, {}) = {})",
            self.types_list(),
            self.source,
            self.source
        )
    }

    /// The ids of excluded issues in `main`, as a subquery.
    fn ids(&self) -> Sql {
        sql!("SELECT id FROM issues AS OF 'main' WHERE {}", self.issue_row(""))
    }
}

/// Tables copied into a snapshot.
const TABLES: [&str; 7] = ["issues", "labels", "comments", "events", "dependencies", "metadata", "config"];

/// The condition that marks a row of `table` as belonging to an excluded
/// issue, whose ids are the subquery `ids`.
fn excluded_row(table: &str, ids: &Sql) -> Sql {
    match table {
        "issues" => sql!("id IN ({})", ids),
        // A dependency on an excluded issue would name it.
        "dependencies" => sql!("(issue_id IN ({}) OR depends_on_id IN ({}))", ids, ids),
        "labels" | "comments" | "events" => sql!("issue_id IN ({})", ids),
        // `metadata` and `config` belong to no issue.
        _ => Sql::raw("FALSE"),
    }
}

/// The message of the merge that records a share in `main`.
pub(super) fn record_message(peer: &str) -> String {
    format!("bd federation: record share on {}", lineage::outgoing(peer))
}

/// Commits in `main` not yet shared with `peer` as a snapshot: those after
/// the latest recorded share (all since `base` when there is none).
pub(super) fn unshared(repo: &Repo, peer: &str, base: &str) -> anyhow::Result<u64> {
    let rows =
        repo.query(&sql!("SELECT commit_hash FROM dolt_log WHERE message = {} LIMIT 1", record_message(peer)))?;
    let since = rows.first().and_then(|r| r.get("commit_hash")).and_then(serde_json::Value::as_str).unwrap_or(base);
    Ok(state::ahead_behind(repo, "main", since)?.0)
}

/// Builds the next filtered snapshot for `peer` on top of `base`; returns
/// the branch to push, or `None` when the peer already has everything.
///
/// The snapshot is `main` without the excluded issues (and their child
/// rows); what the peer already holds of those (an issue shared before its
/// type became excluded) stays as the peer has it: a snapshot never removes
/// a row because it is excluded.
pub(super) fn build(town: &Town, peer: &Peer, base: &str, excluded: &Exclusions) -> anyhow::Result<Option<String>> {
    let branch = lineage::outgoing(&peer.name);
    let ids = excluded.ids();
    let mut script = lineage::begin(&branch, base);
    for table in TABLES {
        let (name, excluded) = (Sql::raw(table), excluded_row(table, &ids));
        script.push(&sql!(
            "DELETE FROM {} WHERE NOT ({});\n\
             INSERT INTO {} SELECT * FROM {} AS OF 'main' WHERE NOT ({});\n",
            name,
            excluded,
            name,
            name,
            excluded
        ));
    }
    script.push(&lineage::commit(
        &format!("bd federation: share {} with {}", town.name(), peer.name),
        &town.actor().signature(),
        lineage::Empty::Allow,
    ));
    let repo = town.repo();
    repo.execute(&script)?;
    // A snapshot equal to its base carries nothing new.
    if lineage::changes(repo, base, &branch)? == 0 {
        lineage::delete(repo, std::slice::from_ref(&branch))?;
        return Ok(None);
    }
    Ok(Some(branch))
}

/// Merges the snapshot into `main` keeping `main`'s content unchanged (an
/// "ours" merge), so later merges with the peer have a common ancestor.
/// Call only after the peer took the snapshot: a failed push records nothing.
pub(super) fn record_in_main(town: &Town, peer: &Peer, branch: &str) -> anyhow::Result<()> {
    let mut script = sql!(
        "SET autocommit = 0;\nSET @@dolt_allow_commit_conflicts = 1;\nCALL DOLT_MERGE('--no-ff', '--no-commit', {});\n",
        branch
    );
    for table in TABLES {
        let name = Sql::raw(table);
        script.push(&sql!(
            "DELETE FROM dolt_conflicts_{};\nDELETE FROM {};\nINSERT INTO {} SELECT * FROM {} AS OF 'main';\n",
            name,
            name,
            name,
            name
        ));
    }
    script.push(&sql!(
        "CALL DOLT_COMMIT('-A', '-m', {}, '--author', {});\nCOMMIT;\n",
        record_message(&peer.name),
        town.actor().signature()
    ));
    town.repo().execute(&script)?;
    Ok(())
}
