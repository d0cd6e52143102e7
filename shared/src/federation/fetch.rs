//! `fetch`: the one script every exchange starts with. It checks that the
//! peer's dolt remote is the configured URL, commits pending changes (before
//! a pull, push or sync), fetches the peer and reads where this town stands
//! ([`super::state::Standing`]). A pull and a sync add their merge (and a sync
//! its push) to the same script, so the usual exchange is one dolt process;
//! [`Then`] says what the script goes on to do. Each step marks its result
//! row, and [`read_standing`] reads the standing and the failure back.

use std::time::Instant;

use serde_json::Value;

use super::outgoing::Exclusions;
use super::remote::Peer;
use super::state::{
    Counted, Merged, Standing, behind_error, counts_of, counts_query, empty_peer, genesis_query, has_remote_ref,
    tables_of, unrelated_error,
};
use crate::dolt::{Failure, Repo, Row, number};
use crate::tracker::sql::{Sql, ToSql, sql};
use crate::tracker::{migrate, schema};

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
    let script = exchange_script(peer, commit, excluded, then);
    let (rows, failure) = match peer.script(repo, &script, &|out| !reached(out, "bd_merged"), deadline) {
        Ok(out) => (crate::dolt::parse_rows(&out.stdout)?, None),
        Err(err) => (crate::dolt::parse_rows(&err.stdout).unwrap_or_default(), Some(err)),
    };
    read_standing(repo, peer, &rows, failure, then)
}

/// The script of a status survey of `peer`: fetch, then read ahead, behind
/// and the conflict preview, ending with a row marked `bd_survey_done`.
pub(super) fn survey_script(peer: &Peer, excluded: &Exclusions) -> Sql {
    let mut script = exchange_script(peer, None, excluded, Then::Survey);
    script.push(&Sql::raw("SELECT 1 AS bd_survey_done;\n"));
    script
}

/// Whether `rows` end a survey ([`survey_script`]).
pub(super) fn survey_done(rows: &[Row]) -> bool {
    rows.iter().any(|r| r.contains_key("bd_survey_done"))
}

/// Reads the standing from what the script of [`fetch_and_stand`] printed,
/// and from how it failed, if it did.
pub(super) fn read_standing(
    repo: &Repo,
    peer: &Peer,
    rows: &[Row],
    failure: Option<super::remote::PeerError>,
    then: Then<'_>,
) -> anyhow::Result<Standing> {
    let tracking = peer.tracking_ref();
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
    let no_ancestor = failure.as_ref().is_some_and(|e| e.kind == Failure::NoCommonAncestor);
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
    let failure_kind = failure.as_ref().map(|e| e.kind);
    if let Some(err) = failure {
        let behind = number(row, "behind");
        match (row, then) {
            // The fetch ran but the standing could not be read: when the peer
            // has no main yet (no tracking ref), everything here is ahead of it.
            (None, _) => {
                let fetched = rows.iter().any(|r| r.contains_key("bd_fetched"));
                if !fetched || has_remote_ref(repo, &tracking)? {
                    return Err(err.into());
                }
                let rows = repo.query(&sql!(
                    "SELECT (SELECT COUNT(*) FROM dolt_log) AS commits, {} AS genesis, \
                     (SELECT COUNT(*) FROM dolt_log WHERE message = {}) AS on_genesis",
                    genesis_query(),
                    schema::SCHEMA_MESSAGE,
                ))?;
                let base = rows.first();
                let genesis = base.and_then(|r| r.get("genesis")).and_then(Value::as_str).ok_or(err)?;
                // The genesis holds two of main's commits (a history made by
                // another tool, its root one); everything else is ahead.
                let shared = if number(base, "on_genesis") > 0 { 2 } else { 1 };
                return Ok(Standing {
                    pending_committed,
                    ..empty_peer(number(base, "commits").saturating_sub(shared), genesis.to_owned())
                });
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
        issues: counts_of(merged_row, Counted::In),
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
        push_failure: if merged.is_some() { failure_kind } else { None },
        trusted: rows.iter().any(|r| r.get("bd_guard_rows").and_then(Value::as_str) == Some("ok")),
        merged,
        pushed,
        pending_committed,
        unrelated,
        base: tracking.clone(),
        peer_has_data: true,
        peer_head: row.and_then(|r| r.get("peer")).and_then(Value::as_str).map(str::to_owned),
        ahead: number(row, "ahead"),
        behind: number(row, "behind"),
        outgoing: matches!(then, Then::Push | Then::MergeAndPush { .. } | Then::Stand)
            .then(|| counts_of(row, Counted::Out)),
        incoming: counts_of(row, Counted::In),
        conflicted: matches!(then, Then::Stand | Then::Survey)
            .then(|| tables_of(row.and_then(|r| r.get("conflicted")))),
    })
}

/// The script of [`fetch_and_stand`]; each step marks its result row.
fn exchange_script(peer: &Peer, commit: Option<(&str, &str)>, excluded: &Exclusions, then: Then<'_>) -> Sql {
    let tracking = peer.tracking_ref();
    let t = tracking.to_sql();
    let mut script = prelude(peer, commit);
    let range = |r: String| r.to_sql();
    // The conflict preview, and issue counts when an issue was modified,
    // cost more than the fetch itself: each step reads only what it reports
    // or decides on. A merge finds its own conflicts (its transaction then
    // rolls back).
    let outgoing = || counts_query(&range(format!("{tracking}...main")), excluded, Counted::Out);
    let incoming = || counts_query(&range(format!("main...{tracking}")), &Exclusions::none(), Counted::In);
    let counts = match then {
        // A merge counts what it really changed, after the fact.
        Then::Fetch | Then::Merge { .. } | Then::Survey => Vec::new(),
        Then::Push | Then::MergeAndPush { .. } => vec![outgoing()],
        Then::Stand => vec![outgoing(), incoming()],
    };
    let mut details = Sql::default();
    for c in &counts {
        details.push(&sql!(", {}", c.column));
    }
    if matches!(then, Then::Survey | Then::Stand) {
        details.push(&sql!(", ({}) AS conflicted", conflicts_query(&t)));
    }
    // How many commits the peer has, to tell an unrelated history (none of
    // them ours) where nothing else would; a merge finds that out itself,
    // failing on "no common ancestor" (its checks come first and fail the same way).
    let peer_commits = match then {
        Then::Merge { .. } | Then::MergeAndPush { .. } => Sql::default(),
        _ => sql!(", (SELECT COUNT(*) FROM dolt_log({})) AS peer_commits", t),
    };
    script.push(&sql!("CALL DOLT_FETCH({});\nSELECT 1 AS bd_fetched, {};\n", peer.sql_remote_args(), PENDING));
    for c in &counts {
        script.push(&c.setup);
    }
    script.push(&migrate::read_versions(&tracking));
    let ahead_column = || sql!(", (SELECT COUNT(*) FROM dolt_log({})) AS ahead", range(format!("{tracking}..main")));
    script.push(&sql!(
        "SELECT 1 AS bd_standing, HASHOF({}) AS peer{}, (SELECT COUNT(*) FROM dolt_log({})) AS behind{}{}{};\n",
        t,
        ahead_column(),
        range(format!("main..{tracking}")),
        peer_commits,
        details,
        migrate::standing_columns(),
    ));
    if !matches!(then, Then::Fetch | Then::Survey) {
        // Nothing is merged or pushed across a schema this bd does not know.
        script.push(&sql!("{}\n", migrate::guard()));
    }
    if let Then::Merge { author } | Then::MergeAndPush { author } = then {
        // With conflicts the COMMIT fails and dolt rolls the whole merge back.
        // What the peer sends is checked before anything of it lands.
        script.push(&super::guard::checks_after_standing(&tracking));
        let merged = counts_query(&Sql::raw("@bd_before, 'main'"), &Exclusions::none(), Counted::In);
        // Only a sync pushes after the merge, so only it reads what it would push.
        let ahead = if matches!(then, Then::MergeAndPush { .. }) { ahead_column() } else { Sql::default() };
        script.push(&sql!(
            "SET autocommit = 0, @bd_before = HASHOF('main');\nCALL DOLT_MERGE('--author', {}, '-m', {}, {});\n\
             COMMIT;\n{}\
             SELECT 1 AS bd_merged, HASHOF('main') AS main{}, {};\n",
            author,
            merge_message(peer),
            t,
            merged.setup,
            ahead,
            merged.column,
        ));
    }
    if let Then::Push | Then::MergeAndPush { .. } = then {
        script.push(&sql!(
            "SET autocommit = 1;\nCALL DOLT_PUSH({}, 'main');\nSELECT 1 AS bd_pushed, HASHOF({}) AS peer, \
             HASHOF('main') AS main;\n",
            peer.sql_remote_args(),
            t
        ));
    }
    script
}

/// Whether a script's output holds a result row marked `marker`: the
/// script got past that step. Output that cannot be read counts as past it.
pub(super) fn reached(stdout: &str, marker: &str) -> bool {
    crate::dolt::parse_rows(stdout).map_or(true, |rows| rows.iter().any(|r| r.contains_key(marker)))
}

/// The first statements of every script that talks to `peer`: check that
/// its dolt remote is the URL the checks ran on (see [`remote_check`]), and
/// commit pending changes (when `commit` gives the message and author),
/// noting which tables held them for [`PENDING`]. The check comes first, so
/// a refused exchange commits nothing. `SET`s, as a statement that returns
/// no rows costs dolt less than one that does; and the commit is called only
/// when something is pending, as even an empty one costs dolt a write of
/// its working set.
pub(super) fn prelude(peer: &Peer, commit: Option<(&str, &str)>) -> Sql {
    let check = remote_check(peer);
    let Some((message, author)) = commit else { return sql!("SET @bd_pending = NULL, @bd_remote = {};\n", check) };
    let call = sql!("CALL DOLT_COMMIT('-A', '--skip-empty', '-m', {}, '--author', {})", message, author);
    // Which tables held changes bd did not make: the report names them.
    sql!(
        "SET @bd_pending = (SELECT GROUP_CONCAT(table_name) FROM dolt_status), @bd_remote = {}, \
         @bd_commit_sql = IF(@bd_pending IS NULL, 'SET @bd_pending = NULL', {});\n\
         PREPARE bd_commit FROM @bd_commit_sql;\nEXECUTE bd_commit;\n",
        check,
        call.as_str()
    )
}

/// The columns of a result row that report the tables whose pending
/// changes [`prelude`] committed: `bd_pending`, and `tables` (NULL when none).
pub(super) const PENDING: Sql = Sql::raw("1 AS bd_pending, @bd_pending AS tables");

/// The tables a merge of `tracking` into main would conflict in, as one
/// comma-separated value (NULL when none).
fn conflicts_query(tracking: &Sql) -> Sql {
    sql!(
        "SELECT GROUP_CONCAT(`table`) FROM dolt_preview_merge_conflicts_summary('main', {}) \
         WHERE num_data_conflicts > 0 OR num_schema_conflicts > 0",
        tracking
    )
}

/// The message of the commit that merges a peer's main.
pub(super) fn merge_message(peer: &Peer) -> String {
    format!("bd federation: merge {} from {}", peer.tracking_ref(), peer.name)
}

/// An expression that fails, with [`REMOTE_MISMATCH`] and the remote's URL in
/// dolt's message, unless the dolt remote of `peer` is the URL its
/// configured endpoint maps to: the tier and pattern checks ran on that URL,
/// so data must not go anywhere else (a remote changed behind bd's back, or
/// an endpoint changed in config and not in dolt).
fn remote_check(peer: &Peer) -> Sql {
    let (name, url) = (peer.name.as_str(), peer.endpoint.dolt_url());
    sql!(
        "IF((SELECT COUNT(*) FROM dolt_remotes WHERE name = {} AND url = {}) = 1, 'ok', \
         JSON_EXTRACT(CONCAT({}, COALESCE((SELECT url FROM dolt_remotes WHERE name = {}), \
         '(no dolt remote)'), '\"'), '$'))",
        name,
        url,
        REMOTE_MISMATCH,
        name
    )
}

/// What [`remote_check`]'s failure carries before the remote's URL.
const REMOTE_MISMATCH: &str = "bd-remote-mismatch:";

/// The refusal when [`remote_check`] failed, or `None` for other failures.
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
