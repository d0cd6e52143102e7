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

use super::lineage;
use super::remote::Peer;
use super::state;
use crate::dolt::Repo;
use crate::tracker::{Town, sql};

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

    fn types_list(&self) -> String {
        self.types.iter().map(|t| sql::lit(t)).collect::<Vec<_>>().join(", ")
    }

    /// A condition true for an excluded row of `issues` (columns qualified
    /// by `alias.` when it is not empty). Issues without a `source_system`
    /// were made here (or imported here), so they count as this town's.
    #[must_use]
    pub(super) fn issue_row(&self, alias: &str) -> String {
        if self.is_empty() {
            return "FALSE".to_owned();
        }
        let a = if alias.is_empty() { String::new() } else { format!("{alias}.") };
        format!(
            "({a}issue_type IN ({}) AND COALESCE({a}source_system, {src}) = {src})",
            self.types_list(),
            src = sql::lit(&self.source)
        )
    }

    /// The same condition for a row of `dolt_diff(…, 'issues')`.
    #[must_use]
    pub(super) fn diff_row(&self) -> String {
        if self.is_empty() {
            return "FALSE".to_owned();
        }
        format!(
            "(COALESCE(to_issue_type, from_issue_type) IN ({}) AND COALESCE(to_source_system, from_source_system, {src}) = {src})",
            self.types_list(),
            src = sql::lit(&self.source)
        )
    }

    /// The ids of excluded issues in `main`, as a subquery.
    fn ids(&self) -> String {
        format!("SELECT id FROM issues AS OF 'main' WHERE {}", self.issue_row(""))
    }
}

/// Tables copied into a snapshot, each with the condition that marks a row
/// as belonging to an excluded issue (`{ids}` is their subquery).
const TABLES: [(&str, &str); 7] = [
    ("issues", "id IN ({ids})"),
    ("labels", "issue_id IN ({ids})"),
    ("comments", "issue_id IN ({ids})"),
    ("events", "issue_id IN ({ids})"),
    // A dependency on an excluded issue would name it.
    ("dependencies", "(issue_id IN ({ids}) OR depends_on_id IN ({ids}))"),
    ("metadata", "FALSE"),
    ("config", "FALSE"),
];

/// The message of the merge that records a share in `main`.
pub(super) fn record_message(peer: &str) -> String {
    format!("bd federation: record share on {}", lineage::outgoing(peer))
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
///
/// The snapshot is `main` without the excluded issues (and their child
/// rows); what the peer already holds of those (an issue shared before its
/// type became excluded) stays as the peer has it: a snapshot never removes
/// a row because it is excluded.
pub(super) fn build(town: &Town, peer: &Peer, base: &str, excluded: &Exclusions) -> anyhow::Result<Option<String>> {
    let branch = lineage::outgoing(&peer.name);
    let ids = excluded.ids();
    let mut script = lineage::begin(&branch, base);
    for (table, excluded_row) in TABLES {
        let excluded_row = excluded_row.replace("{ids}", &ids);
        let _ = writeln!(
            script,
            "DELETE FROM {table} WHERE NOT ({excluded_row});\n\
             INSERT INTO {table} SELECT * FROM {table} AS OF 'main' WHERE NOT ({excluded_row});"
        );
    }
    script.push_str(&lineage::commit(
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
