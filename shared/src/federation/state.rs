//! Read-only questions about the local repository that every exchange asks:
//! pending changes, refs, ahead/behind, issue diffs, predicted conflicts.

use serde_json::Value;

use super::report::IssueCounts;
use std::fmt::Write as _;
use std::time::Instant;

use super::outgoing::Exclusions;
use super::remote::Peer;
use crate::dolt::{DoltError, Repo, Row};
use crate::tracker::{migrate, schema, sql};

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

/// What the fetch script does once it has read the standing, so that the
/// usual exchange is one dolt process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then<'a> {
    /// Nothing more: the caller decides.
    Stand,
    /// Nothing more, and read only commits ahead and behind (what a fetch
    /// reports), not the issue counts and conflict preview.
    Fetch,
    /// Nothing more, and read commits ahead and behind and the conflict
    /// preview (what status shows), not the issue counts.
    Survey,
    /// Push `main`; dolt itself refuses a non-fast-forward.
    Push,
    /// Merge the peer's main in one transaction as `author`. A conflict rolls
    /// the transaction back and leaves `merged` empty: the caller then merges
    /// with its conflict strategy.
    Merge {
        /// The merge's author.
        author: &'a str,
    },
    /// Merge as above, then push the result.
    MergeAndPush {
        /// The merge's author.
        author: &'a str,
    },
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
fn empty_peer(ahead: u64, genesis: String) -> Standing {
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
    }
}

/// Columns counting the issues added, changed and removed over `range`
/// (the arguments of `dolt_diff` before the table), as `{prefix}_added`…;
/// an issue whose only change is `updated_at` did not really change.
pub(super) fn counts_query(range: &str, excluded: &Exclusions, prefix: &str) -> String {
    let filter = if excluded.is_empty() { String::new() } else { format!(" AND NOT ({})", excluded.diff_row()) };
    let same: Vec<String> =
        schema::ISSUE_FIELDS.iter().filter(|c| **c != "updated_at").map(|c| format!("to_{c} <=> from_{c}")).collect();
    let real = format!(" AND NOT ({})", same.join(" AND "));
    ["added", "modified", "removed"]
        .iter()
        .map(|kind| {
            let real = if *kind == "modified" { real.as_str() } else { "" };
            format!(
                "(SELECT COUNT(*) FROM dolt_diff({range}, 'issues') WHERE diff_type = '{kind}'{filter}{real}) AS {prefix}_{kind}"
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn counts_of(row: Option<&Row>, prefix: &str) -> IssueCounts {
    IssueCounts {
        added: number(row, &format!("{prefix}_added")),
        changed: number(row, &format!("{prefix}_modified")),
        removed: number(row, &format!("{prefix}_removed")),
    }
}

/// Commits pending local changes (when `commit` carries the message and
/// author), fetches the peer and reads everything an exchange decides on:
/// ahead/behind, the issues each side changed, the tables a merge would
/// conflict in. Then does what `then` says, in the same script: one dolt
/// process for a plain push, pull or sync.
pub(super) fn fetch_and_stand(
    repo: &Repo,
    peer: &Peer,
    commit: Option<(&str, &str)>,
    excluded: &Exclusions,
    then: Then<'_>,
    deadline: Instant,
) -> anyhow::Result<Standing> {
    let tracking = peer.tracking_ref();
    let script = exchange_script(peer, commit, excluded, then);
    let (rows, failure) = match peer.script(repo, &script, "bd_merged", deadline) {
        Ok(out) => (crate::dolt::parse_rows(&out.stdout)?, None),
        Err(err) => (crate::dolt::parse_rows(&err.stdout).unwrap_or_default(), Some(err)),
    };
    let row = rows.iter().find(|r| r.contains_key("bd_standing"));
    // None of the peer's commits is ours: there is nothing to merge with,
    // only a join (a merge would fail on "no common ancestor").
    // (A T3/T4 peer's history is never merged, so it never needs one.)
    let unrelated = peer.tier < crate::config::Tier::T3
        && row.is_some()
        && number(row, "peer_commits") > 0
        && number(row, "behind") == number(row, "peer_commits");
    if unrelated && then != Then::Survey {
        return Err(unrelated_error(peer).into());
    }
    if !matches!(then, Then::Fetch | Then::Survey) {
        crate::tracker::migrate::check_standing(&peer.name, row)?;
    }
    let pending_committed = tables_of(rows.iter().find(|r| r.contains_key("bd_pending")).and_then(|r| r.get("tables")));
    if let Some(mismatch) = failure.as_ref().and_then(|e| remote_mismatch(peer, &e.reason)) {
        return Err(mismatch.into());
    }
    if failure.as_ref().is_some_and(|e| super::guard::refused(&e.reason)) {
        return Err(super::guard::refusal(repo, peer)?.into());
    }
    let no_ancestor = failure.as_ref().is_some_and(|e| e.reason.contains("no common ancestor"));
    if no_ancestor && peer.tier < crate::config::Tier::T3 {
        // A step that needs a merge base (a three-way diff, a merge) met none.
        if then != Then::Survey {
            return Err(unrelated_error(peer).into());
        }
        return Ok(Standing {
            unrelated: true,
            peer_has_data: true,
            pending_committed,
            ..empty_peer(0, tracking.clone())
        });
    }
    if let Some(err) = failure {
        let behind = number(row, "behind");
        match (row, then) {
            // The fetch ran but the standing could not be read: when the peer
            // has no main yet (no tracking ref), everything here is ahead of it.
            (None, _) => {
                let base = rows.iter().find(|r| r.contains_key("bd_base"));
                return match base.and_then(|r| r.get("genesis")).and_then(Value::as_str) {
                    // The genesis holds two of main's commits (a history made by
                    // another tool, its root one); everything else is ahead.
                    Some(genesis) if !has_remote_ref(repo, &tracking)? => {
                        let shared = if number(base, "on_genesis") > 0 { 2 } else { 1 };
                        Ok(Standing {
                            pending_committed,
                            ..empty_peer(number(base, "commits").saturating_sub(shared), genesis.to_owned())
                        })
                    }
                    _ => Err(err.into()),
                };
            }
            // The push was refused because the peer has commits this town lacks.
            (Some(_), Then::Push) if behind > 0 => return Err(behind_error(peer, behind).into()),
            (Some(_), Then::Stand | Then::Fetch | Then::Survey | Then::Push) => return Err(err.into()),
            // The merge conflicted (or the push after it failed): the caller
            // finishes with its own steps, which report any real failure.
            (Some(_), Then::Merge { .. } | Then::MergeAndPush { .. }) => {}
        }
    }
    let hash = |marker: &str, col: &str| {
        rows.iter().find(|r| r.contains_key(marker)).and_then(|r| r.get(col)).and_then(Value::as_str)
    };
    let merged_row = rows.iter().find(|r| r.contains_key("bd_merged"));
    let merged = hash("bd_merged", "main").map(|head| Merged {
        head: head.to_owned(),
        ahead: number(merged_row, "ahead"),
        issues: counts_of(merged_row, "in"),
    });
    // Truthful: the peer's main must now be ours.
    let pushed = (hash("bd_pushed", "peer").is_some() && hash("bd_pushed", "peer") == hash("bd_pushed", "main"))
        .then(|| hash("bd_pushed", "main").unwrap_or_default().to_owned());
    if then == Then::Push && pushed.is_none() {
        let behind = number(row, "behind");
        return Err(if behind > 0 {
            behind_error(peer, behind)
        } else {
            peer.error("did not take the push", "its main is not this town's main after the push".to_owned())
        }
        .into());
    }
    Ok(Standing {
        merged,
        pushed,
        pending_committed,
        unrelated,
        base: tracking.clone(),
        peer_has_data: true,
        peer_head: row.and_then(|r| r.get("peer")).and_then(Value::as_str).map(str::to_owned),
        ahead: number(row, "ahead"),
        behind: number(row, "behind"),
        outgoing: matches!(then, Then::Push | Then::MergeAndPush { .. } | Then::Stand).then(|| counts_of(row, "out")),
        incoming: counts_of(row, "in"),
        conflicted: matches!(then, Then::Stand | Then::Survey)
            .then(|| tables_of(row.and_then(|r| r.get("conflicted")))),
    })
}

/// The script of [`fetch_and_stand`]; each step marks its result row.
fn exchange_script(peer: &Peer, commit: Option<(&str, &str)>, excluded: &Exclusions, then: Then<'_>) -> String {
    let tracking = peer.tracking_ref();
    let t = sql::lit(&tracking);
    let mut script = String::new();
    if let Some((message, author)) = commit {
        // Which tables held changes bd did not make: the report names them.
        let _ =
            writeln!(script, "SELECT 1 AS bd_pending, (SELECT GROUP_CONCAT(table_name) FROM dolt_status) AS tables;");
        let _ = writeln!(
            script,
            "CALL DOLT_COMMIT('-A', '--skip-empty', '-m', {}, '--author', {});",
            sql::lit(message),
            sql::lit(author)
        );
    }
    let range = |r: String| sql::lit(&r);
    // Issue counts and above all the conflict preview cost more than the
    // fetch itself: each step reads only what it reports or decides on. A
    // merge finds its own conflicts (its transaction then rolls back).
    let outgoing = || format!(", {}", counts_query(&range(format!("{tracking}...main")), excluded, "out"));
    let incoming = || format!(", {}", counts_query(&range(format!("main...{tracking}")), &Exclusions::none(), "in"));
    let details = match then {
        // A merge counts what it really changed, after the fact.
        Then::Fetch | Then::Merge { .. } => String::new(),
        Then::Push | Then::MergeAndPush { .. } => outgoing(),
        Then::Survey => format!(", ({}) AS conflicted", conflicts_query(&t)),
        Then::Stand => outgoing() + &incoming() + &format!(", ({}) AS conflicted", conflicts_query(&t)),
    };
    // Before any contact: the dolt remote must be the URL the checks ran on.
    let _ = writeln!(script, "{};", remote_guard(peer));
    let _ = writeln!(
        script,
        "CALL DOLT_FETCH({});\n\
         SELECT 1 AS bd_base, (SELECT COUNT(*) FROM dolt_log) AS commits, {} AS genesis, \
         (SELECT COUNT(*) FROM dolt_log WHERE message = {}) AS on_genesis;\n\
         SELECT 1 AS bd_standing, HASHOF({t}) AS peer, (SELECT COUNT(*) FROM dolt_log({})) AS ahead, \
         (SELECT COUNT(*) FROM dolt_log({})) AS behind, (SELECT COUNT(*) FROM dolt_log({t})) AS peer_commits{details}{};",
        peer.sql_remote_args(),
        genesis_query(),
        sql::lit(schema::SCHEMA_MESSAGE),
        range(format!("{tracking}..main")),
        range(format!("main..{tracking}")),
        migrate::standing_columns(&t),
    );
    if !matches!(then, Then::Fetch | Then::Survey) {
        // Nothing is merged or pushed across a schema this bd does not know.
        let _ = writeln!(script, "{}", migrate::guard(&t));
    }
    if let Then::Merge { author } | Then::MergeAndPush { author } = then {
        // With conflicts the COMMIT fails and dolt rolls the whole merge back.
        // What the peer sends is checked before anything of it lands.
        script.push_str(&super::guard::checks(&tracking));
        let _ = writeln!(
            script,
            "SET autocommit = 0;\nSET @bd_before = HASHOF('main');\nCALL DOLT_MERGE('--author', {}, '-m', {}, {t});\n\
             COMMIT;\nSET autocommit = 1;\n\
             SELECT 1 AS bd_merged, HASHOF('main') AS main, (SELECT COUNT(*) FROM dolt_log({})) AS ahead, {};",
            sql::lit(author),
            sql::lit(&merge_message(peer)),
            range(format!("{tracking}..main")),
            counts_query("@bd_before, 'main'", &Exclusions::none(), "in"),
        );
    }
    if let Then::Push | Then::MergeAndPush { .. } = then {
        let _ = writeln!(
            script,
            "CALL DOLT_PUSH({}, 'main');\nSELECT 1 AS bd_pushed, HASHOF({t}) AS peer, HASHOF('main') AS main;",
            peer.sql_remote_args()
        );
    }
    script
}

/// The tables a merge of `tracking` into main would conflict in, as one
/// comma-separated value (NULL when none).
fn conflicts_query(tracking_lit: &str) -> String {
    format!(
        "SELECT GROUP_CONCAT(`table`) FROM dolt_preview_merge_conflicts_summary('main', {tracking_lit}) \
         WHERE num_data_conflicts > 0 OR num_schema_conflicts > 0"
    )
}

fn tables_of(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_str)
        .map(|t| t.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The message of the commit that merges a peer's main.
pub(super) fn merge_message(peer: &Peer) -> String {
    format!("bd federation: merge {} from {}", peer.tracking_ref(), peer.name)
}

/// A query that fails, with [`REMOTE_MISMATCH`] and the remote's URL in
/// dolt's message, unless the dolt remote of `peer` is the URL its
/// configured endpoint maps to: the tier and pattern checks ran on that URL,
/// so data must not go anywhere else (a remote changed behind bd's back, or
/// an endpoint changed in config and not in dolt).
pub(super) fn remote_guard(peer: &Peer) -> String {
    let (name, url) = (sql::lit(&peer.name), sql::lit(peer.endpoint.dolt_url()));
    format!(
        "SELECT IF((SELECT COUNT(*) FROM dolt_remotes WHERE name = {name} AND url = {url}) = 1, 'ok', \
         JSON_EXTRACT(CONCAT('{REMOTE_MISMATCH}', COALESCE((SELECT url FROM dolt_remotes WHERE name = {name}), \
         '(no dolt remote)'), '\"'), '$')) AS bd_remote"
    )
}

/// What [`remote_guard`]'s failure carries before the remote's URL.
const REMOTE_MISMATCH: &str = "bd-remote-mismatch:";

/// The refusal when [`remote_guard`] failed, or `None` for other failures.
pub(super) fn remote_mismatch(peer: &Peer, reason: &str) -> Option<super::remote::PeerError> {
    let (_, rest) = reason.split_once(REMOTE_MISMATCH)?;
    let actual: String = rest.chars().take_while(|&c| c != '"').collect();
    Some(peer.error(
        "is not where its configuration says",
        format!(
            "the configured endpoint {} maps to {}, but dolt's remote '{}' points at {}; nothing was sent or \
             fetched. Repair it: `bd federation add-peer {} {} --force`",
            peer.endpoint.as_str(),
            peer.endpoint.dolt_url(),
            peer.name,
            crate::error::quoted(&actual),
            peer.name,
            peer.endpoint.as_str()
        ),
    ))
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
fn genesis_query() -> String {
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
    let range = sql::lit(&format!("{base}...main"));
    let rows = repo.query(&format!("SELECT {}", counts_query(&range, excluded, "out")))?;
    Ok(counts_of(rows.first(), "out"))
}
