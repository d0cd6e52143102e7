//! Where this town stands against a peer, read from the local repository
//! only: refs, ahead/behind, issue diffs since the fork, the shared
//! genesis, and the refusals these facts lead to. Nothing here writes or
//! talks to a peer; the scripts that fetch are in [`super::fetch`].

use serde_json::Value;

use super::outgoing::Exclusions;
use super::remote::Peer;
use super::report::IssueCounts;
use crate::dolt::{DoltError, Failure, Repo, Row, number};
use crate::tracker::schema;
use crate::tracker::sql::{Sql, ToSql, sql};

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
    /// Whether the script's trust-boundary checks passed on the peer's main
    /// as fetched (a merge that then conflicted need not check it again).
    pub trusted: bool,
}

/// A merge the fetch script did without conflicts.
#[derive(Debug, Clone)]
pub(super) struct Merged {
    /// `main` after the merge.
    pub head: String,
    /// Commits of the merged `main` the peer lacks (ours plus the merge),
    /// read only when the script pushes next (a sync); 0 after a pull.
    pub ahead: u64,
    /// The issues the merge really changed here.
    pub issues: IssueCounts,
}

/// Reads the standing against `tracking` (e.g. `b/main`).
pub(super) fn standing(repo: &Repo, tracking: &str) -> anyhow::Result<Standing> {
    let query = sql!(
        "SELECT HASHOF({}) AS peer, (SELECT COUNT(*) FROM dolt_log({})) AS ahead, (SELECT COUNT(*) FROM dolt_log({})) AS behind",
        tracking,
        format!("{tracking}..main"),
        format!("main..{tracking}")
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
            trusted: false,
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
        trusted: false,
    }
}

/// Which issues a [`counts_query`] counts, naming its column and the
/// variables its setup uses (`in`: what came from the peer; `out`: what
/// this town sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    /// Issues that came in.
    In,
    /// Issues that go out.
    Out,
}

impl Counted {
    /// The names: the column, the stat variable, the chosen statement's
    /// text, the prepared statement and the counts variable.
    const fn names(self) -> [&'static str; 5] {
        match self {
            Counted::In => ["in_counts", "@bd_in_stat", "@bd_in_sql", "bd_in_counts", "@bd_in_counts"],
            Counted::Out => ["out_counts", "@bd_out_stat", "@bd_out_sql", "bd_out_counts", "@bd_out_counts"],
        }
    }
}

/// The issues added, changed and removed over `range` (the arguments of
/// `dolt_diff` before the table), read in a script: [`CountsQuery::setup`]
/// runs first, then a statement selects [`CountsQuery::column`],
/// `in_counts` or `out_counts`, as `added,changed,removed` (see
/// [`counts_of`]). An issue whose only change is `updated_at` did not
/// really change.
pub(super) struct CountsQuery {
    /// Statements that set the variable the column reads.
    pub setup: Sql,
    /// The counts column.
    pub column: Sql,
}

/// The [`CountsQuery`] of `counted` over `range`, leaving out what
/// `excluded` keeps at home.
///
/// Reading the row diff costs dolt far more than its summary, so without
/// exclusions the counts come from `dolt_diff_stat`, exact when no issue was
/// modified (added and removed rows are the same there); only when one was
/// is the row diff read, to leave out `updated_at`-only changes. Dolt plans
/// both branches of a condition, and planning the row diff alone costs more
/// than the summary, so the statement that counts is chosen as text.
pub(super) fn counts_query(range: &Sql, excluded: &Exclusions, counted: Counted) -> CountsQuery {
    let [column, stat, chosen, statement, counts] = counted.names().map(Sql::raw);
    let filter = if excluded.is_empty() { Sql::default() } else { sql!(" WHERE NOT ({})", excluded.diff_row()) };
    let same = schema::ISSUE_FIELDS
        .iter()
        .filter(|c| **c != "updated_at")
        .map(|c| sql!("to_{} <=> from_{}", Sql::raw(c), Sql::raw(c)));
    let kind =
        |kind: &str, also: Sql| sql!("COALESCE(SUM(CASE WHEN diff_type = {}{} THEN 1 ELSE 0 END), 0)", kind, also);
    let row_diff = sql!(
        "(SELECT CONCAT({}, ',', {}, ',', {}) FROM dolt_diff({}, 'issues'){})",
        kind("added", Sql::default()),
        kind("modified", sql!(" AND NOT ({})", Sql::join(same, " AND "))),
        kind("removed", Sql::default()),
        range,
        filter
    );
    if !excluded.is_empty() {
        return CountsQuery { setup: Sql::default(), column: sql!("{} AS {}", row_diff, column) };
    }
    // The stat as `added,modified,removed`: its middle count is 0 when no
    // issue was modified. The statement chosen is text, quoted as a value.
    let set_stat = sql!("SET {} = {}", counts, stat).as_str().to_owned();
    let set_rows = sql!("SET {} = {}", counts, row_diff).as_str().to_owned();
    let setup = sql!(
        "SET {} = (SELECT CONCAT(COALESCE(SUM(rows_added), 0), ',', COALESCE(SUM(rows_modified), 0), ',', \
         COALESCE(SUM(rows_deleted), 0)) FROM dolt_diff_stat({}, 'issues')), {} = IF({} LIKE '%,0,%', {}, {});\n\
         PREPARE {} FROM {};\nEXECUTE {};\n",
        stat,
        range,
        chosen,
        stat,
        set_stat,
        set_rows,
        statement,
        chosen,
        statement
    );
    CountsQuery { setup, column: sql!("{} AS {}", counts, column) }
}

/// The counts of a [`counts_query`] column in `row`.
pub(super) fn counts_of(row: Option<&Row>, counted: Counted) -> IssueCounts {
    let [column, ..] = counted.names();
    let text = row.and_then(|r| r.get(column)).and_then(Value::as_str).unwrap_or_default();
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
    Ok(number(repo.query(&sql!("SELECT COUNT(*) AS n FROM dolt_remote_branches WHERE name = {}", name))?.first(), "n")
        > 0)
}

/// The first commit every town shares: the base when a peer has no data.
pub(super) fn genesis(repo: &Repo) -> anyhow::Result<String> {
    let rows = repo.query(&sql!("SELECT {} AS commit_hash", genesis_query()))?;
    rows.first()
        .and_then(|r| r.get("commit_hash"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("this town's history has no commits"))
}

/// The schema commit of the genesis; for a history another tool made, its
/// root commit.
pub(super) fn genesis_query() -> Sql {
    sql!(
        "COALESCE((SELECT commit_hash FROM dolt_log WHERE message = {} LIMIT 1), \
         (SELECT commit_hash FROM dolt_log ORDER BY commit_order LIMIT 1))",
        schema::SCHEMA_MESSAGE
    )
}

/// Commits in `ours` that `theirs` lacks, and commits in `theirs` that `ours` lacks.
pub(super) fn ahead_behind(repo: &Repo, ours: &str, theirs: &str) -> anyhow::Result<(u64, u64)> {
    let rows = repo.query(&sql!("CALL DOLT_COUNT_COMMITS('--from', {}, '--to', {})", ours, theirs))?;
    Ok((number(rows.first(), "ahead"), number(rows.first(), "behind")))
}

/// This town's issue changes since it forked from `base`, leaving out what
/// `excluded` keeps at home.
pub(super) fn outgoing_counts(repo: &Repo, base: &str, excluded: &Exclusions) -> anyhow::Result<IssueCounts> {
    let counts = counts_query(&format!("{base}...main").to_sql(), excluded, Counted::Out);
    let rows = repo.query(&sql!("{}SELECT {};", counts.setup, counts.column))?;
    Ok(counts_of(rows.iter().find(|r| r.contains_key(Counted::Out.names()[0])), Counted::Out))
}
