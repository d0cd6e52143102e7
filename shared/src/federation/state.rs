//! Where this town stands against a peer, read from the local repository
//! only: refs, ahead/behind, issue diffs since the fork, the shared
//! genesis, and the refusals these facts lead to. Nothing here writes or
//! talks to a peer; the scripts that fetch are in [`super::fetch`].

use serde_json::Value;

use super::outgoing::Exclusions;
use super::remote::Peer;
use super::report::IssueCounts;
use crate::dolt::{DoltError, Failure, Repo, Row, number};
use crate::tracker::{schema, sql};

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
    /// This town's issue changes since the fork, when the peer has data and
    /// the script counted them.
    pub outgoing: Option<IssueCounts>,
    /// The peer's issue changes since the fork.
    pub incoming: IssueCounts,
    /// Tables a merge of the peer's main would conflict in, when read
    /// (only [`Then::Stand`] and [`Then::Survey`] predict conflicts).
    pub conflicted: Option<Vec<String>>,
    /// When the script also merged the peer's main: the result.
    pub merged: Option<Merged>,
    /// When the script also pushed `main`: our main, which the peer now has.
    pub pushed: Option<String>,
    /// Tables whose pending changes the script committed first.
    pub pending_committed: Vec<String>,
    /// Whether the peer's main shares no commit with ours (only [`Then::Survey`]
    /// reports it here; every other step fails with [`unrelated_error`]).
    pub unrelated: bool,
    /// When the script merged and then failed to push: why (a lost push race
    /// is [`Failure::NotFastForward`]).
    pub push_failure: Option<Failure>,
}

/// A merge the fetch script did without conflicts.
#[derive(Debug, Clone)]
pub(super) struct Merged {
    /// `main` after the merge.
    pub head: String,
    /// Commits of the merged `main` the peer lacks (ours plus the merge).
    pub ahead: u64,
    /// The issues the merge really changed here.
    pub issues: IssueCounts,
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
            outgoing: None,
            incoming: IssueCounts::default(),
            conflicted: None,
            merged: None,
            pushed: None,
            pending_committed: Vec::new(),
            unrelated: false,
            push_failure: None,
        }),
        // The usual reason is that the peer has no main yet; anything else is reported as it is.
        Err(err @ DoltError::Failed { .. }) if !has_remote_ref(repo, tracking)? => {
            drop(err);
            let base = genesis(repo)?;
            Ok(empty_peer(ahead_behind(repo, "main", &base)?.0, base))
        }
        Err(err) => Err(err.into()),
    }
}

/// The standing against a peer that has no main yet: everything here since
/// the genesis is ahead.
pub(super) fn empty_peer(ahead: u64, genesis: String) -> Standing {
    Standing {
        base: genesis,
        peer_has_data: false,
        peer_head: None,
        ahead,
        behind: 0,
        outgoing: None,
        incoming: IssueCounts::default(),
        conflicted: Some(Vec::new()),
        merged: None,
        pushed: None,
        pending_committed: Vec::new(),
        unrelated: false,
        push_failure: None,
    }
}

/// The issues added, changed and removed over `range` (the arguments of
/// `dolt_diff` before the table), read in a script: [`CountsQuery::setup`]
/// runs first, then a statement selects [`CountsQuery::column`],
/// `{prefix}_counts`, as `added,changed,removed` (see [`counts_of`]). An
/// issue whose only change is `updated_at` did not really change.
pub(super) struct CountsQuery {
    /// Statements that set the `@bd_{prefix}_counts` the column reads.
    pub setup: String,
    /// The `{prefix}_counts` column.
    pub column: String,
}

/// The [`CountsQuery`] of `prefix` over `range`, leaving out what `excluded`
/// keeps at home.
///
/// Reading the row diff costs dolt far more than its summary, so without
/// exclusions the counts come from `dolt_diff_stat`, exact when no issue was
/// modified (added and removed rows are the same there); only when one was
/// is the row diff read, to leave out `updated_at`-only changes. Dolt plans
/// both branches of a condition, and planning the row diff alone costs more
/// than the summary, so the statement that counts is chosen as text.
pub(super) fn counts_query(range: &str, excluded: &Exclusions, prefix: &str) -> CountsQuery {
    let (stat, counts) = (format!("@bd_{prefix}_stat"), format!("@bd_{prefix}_counts"));
    let filter = if excluded.is_empty() { String::new() } else { format!(" WHERE NOT ({})", excluded.diff_row()) };
    let same: Vec<String> =
        schema::ISSUE_FIELDS.iter().filter(|c| **c != "updated_at").map(|c| format!("to_{c} <=> from_{c}")).collect();
    let kind =
        |kind: &str, also: &str| format!("COALESCE(SUM(CASE WHEN diff_type = '{kind}'{also} THEN 1 ELSE 0 END), 0)");
    let row_diff = format!(
        "(SELECT CONCAT({}, ',', {}, ',', {}) FROM dolt_diff({range}, 'issues'){filter})",
        kind("added", ""),
        kind("modified", &format!(" AND NOT ({})", same.join(" AND "))),
        kind("removed", "")
    );
    if !excluded.is_empty() {
        return CountsQuery { setup: String::new(), column: format!("{row_diff} AS {prefix}_counts") };
    }
    // The stat as `added,modified,removed`: its middle count is 0 when no issue was modified.
    let setup = format!(
        "SET {stat} = (SELECT CONCAT(COALESCE(SUM(rows_added), 0), ',', COALESCE(SUM(rows_modified), 0), ',', \
         COALESCE(SUM(rows_deleted), 0)) FROM dolt_diff_stat({range}, 'issues')), \
         @bd_{prefix}_sql = IF({stat} LIKE '%,0,%', 'SET {counts} = {stat}', {});\n\
         PREPARE bd_{prefix}_counts FROM @bd_{prefix}_sql;\nEXECUTE bd_{prefix}_counts;\n",
        sql::lit(&format!("SET {counts} = {row_diff}"))
    );
    CountsQuery { setup, column: format!("{counts} AS {prefix}_counts") }
}

/// The counts of a [`counts_query`] column in `row`.
pub(super) fn counts_of(row: Option<&Row>, prefix: &str) -> IssueCounts {
    let text = row.and_then(|r| r.get(&format!("{prefix}_counts"))).and_then(Value::as_str).unwrap_or_default();
    let mut counts = text.split(',').map(|n| n.trim().parse::<u64>().unwrap_or(0));
    let mut next = || counts.next().unwrap_or(0);
    IssueCounts { added: next(), changed: next(), removed: next() }
}

pub(super) fn tables_of(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_str)
        .map(|t| t.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The refusal of an exchange with a peer whose history shares no commit
/// with this town's.
pub(super) fn unrelated_error(peer: &Peer) -> super::remote::PeerError {
    peer.error(
        "has an unrelated history (made by another tool or an old build)",
        format!(
            "its main shares no commit with this town's, so there is nothing to merge with; \
             run `bd federation join {}` to make them one history (it loses nothing; --dry-run shows it first)",
            peer.name
        ),
    )
    .of_kind(Failure::NoCommonAncestor)
}

/// The refusal of a push to a peer that has commits this town lacks.
pub(super) fn behind_error(peer: &Peer, behind: u64) -> super::remote::PeerError {
    peer.error(
        "has changes this town does not have",
        format!(
            "{behind} commit(s) on the peer are missing here; run `bd federation sync {}` (or pull first), then push",
            peer.name
        ),
    )
    .of_kind(Failure::NotFastForward)
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

/// The first commit every town shares: the base when a peer has no data.
pub(super) fn genesis(repo: &Repo) -> anyhow::Result<String> {
    let rows = repo.query(&format!("SELECT {} AS commit_hash", genesis_query()))?;
    rows.first()
        .and_then(|r| r.get("commit_hash"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("this town's history has no commits"))
}

/// The schema commit of the genesis; for a history another tool made, its
/// root commit.
pub(super) fn genesis_query() -> String {
    format!(
        "COALESCE((SELECT commit_hash FROM dolt_log WHERE message = {} LIMIT 1), \
         (SELECT commit_hash FROM dolt_log ORDER BY commit_order LIMIT 1))",
        sql::lit(schema::SCHEMA_MESSAGE)
    )
}

/// Commits in `ours` that `theirs` lacks, and commits in `theirs` that `ours` lacks.
pub(super) fn ahead_behind(repo: &Repo, ours: &str, theirs: &str) -> anyhow::Result<(u64, u64)> {
    let rows =
        repo.query(&format!("CALL DOLT_COUNT_COMMITS('--from', {}, '--to', {})", sql::lit(ours), sql::lit(theirs)))?;
    Ok((number(rows.first(), "ahead"), number(rows.first(), "behind")))
}

/// This town's issue changes since it forked from `base`, leaving out what
/// `excluded` keeps at home.
pub(super) fn outgoing_counts(repo: &Repo, base: &str, excluded: &Exclusions) -> anyhow::Result<IssueCounts> {
    let counts = counts_query(&sql::lit(&format!("{base}...main")), excluded, "out");
    let rows = repo.query(&format!("{}SELECT {};", counts.setup, counts.column))?;
    Ok(counts_of(rows.iter().find(|r| r.contains_key("out_counts")), "out"))
}
