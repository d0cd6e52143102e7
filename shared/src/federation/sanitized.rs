//! Sharing with T3/T4 peers: sanitized snapshots on the peer's own lineage.
//!
//! Nothing of this town's history reaches such a peer. Each share starts from
//! the peer's main (or the shared genesis), replaces this town's issues there
//! with sanitized copies (person identifiers pseudonymized or removed, emails
//! scrubbed from text), and commits that as one snapshot authored by the tool.
//! Other towns' rows on the peer are left exactly as they are.
//!
//! Pulling from a T3/T4 peer never merges its history: only the issues other
//! towns created (by `source_system`) are copied in, newer versions winning,
//! with their labels, comments, events and dependencies.

use serde_json::Value;

use super::guard;
use super::lineage;
use super::outgoing::Exclusions;
use super::remote::Peer;
use super::report::{Conflict, IssueCounts};
use super::sovereignty::Sanitizer;
use crate::config::Strategy;
use crate::dolt::{Row, number};
use crate::tracker::Town;
use crate::tracker::sql::{Sql, sql};

/// Child tables and the column that links each to its issue.
const CHILDREN: [&str; 4] = ["labels", "comments", "events", "dependencies"];

fn set(row: &mut Row, column: &str, value: Option<String>) {
    row.insert(column.to_owned(), value.map_or(Value::Null, Value::String));
}

fn text_of<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(Value::as_str)
}

/// Rewrites one row of `table` for the peer.
fn sanitize(table: &str, row: &mut Row, s: &Sanitizer) {
    let person = |row: &mut Row, col: &str| {
        let v = s.person(text_of(row, col));
        set(row, col, v);
    };
    let text = |row: &mut Row, col: &str| {
        if let Some(t) = text_of(row, col).map(|t| s.text(t)) {
            set(row, col, Some(t));
        }
    };
    match table {
        "issues" => {
            for col in ["assignee", "owner", "created_by"] {
                person(row, col);
            }
            for col in
                ["title", "description", "design", "acceptance_criteria", "notes", "close_reason", "external_ref"]
            {
                text(row, col);
            }
            row.insert("metadata".to_owned(), Value::Null);
        }
        "comments" => {
            person(row, "author");
            text(row, "text");
        }
        "events" => {
            person(row, "actor");
            let identifies = matches!(text_of(row, "comment"), Some("assignee" | "owner" | "created_by"));
            for col in ["old_value", "new_value"] {
                if identifies {
                    person(row, col);
                } else {
                    text(row, col);
                }
            }
        }
        "dependencies" => person(row, "created_by"),
        _ => text(row, "label"),
    }
}

/// The author of every commit on a sanitized lineage: the tool, never a person.
fn tool_author(town: &Town) -> String {
    format!("bd <bd@{}>", town.name())
}

/// What the next share with a T3/T4 peer would be.
#[derive(Debug)]
pub(super) enum Share {
    /// The peer already holds everything this town would send.
    Nothing,
    /// This town and the peer changed the same fields of an issue, and the
    /// strategy is `manual`.
    Conflicts(Vec<Conflict>),
    /// The peer's main plus this town's changes, to push.
    Ready {
        /// The branch to push.
        branch: String,
        /// The snapshot the share is built on; [`record`] it once pushed.
        snapshot: String,
    },
}

/// Builds the next share for `peer`, whose fetched main is `base` (the
/// genesis when the peer has no data).
///
/// The snapshot lineage (`bd-sanitized-<peer>`) holds only this town's own
/// sanitized rows as they were at each share, one commit per share, each on
/// the one before. Merging the peer's main into the newest snapshot is then
/// a three-way merge whose base is the previous snapshot: only what this
/// town changed since its last share lands, field by field, and whatever a
/// partner changed on the peer (a status, a field, a comment on our issue)
/// is kept unless this town changed that same field too, where `strategy`
/// decides.
pub(super) fn build(
    town: &Town,
    peer: &Peer,
    base: &str,
    peer_has_data: bool,
    excluded: &Exclusions,
    strategy: Strategy,
) -> anyhow::Result<Share> {
    let repo = town.repo();
    let ours = town.source_system();
    let own_ids = sql!("SELECT id FROM issues WHERE source_system = {} AND NOT ({})", ours, excluded.issue_row(""));
    // Comments and events a partner added to our issues (their ids carry
    // another town's prefix) are theirs: the peer keeps them as it has them.
    let own_rows = format!("{}-%", town.prefix());
    // One read of everything the snapshot is made of, each row marked with
    // its table: the people to pseudonymize, whether a lineage exists, and
    // this town's shareable rows.
    let mut read = sql!(
        "SELECT assignee AS p FROM issues UNION SELECT owner FROM issues UNION SELECT created_by FROM issues \
         UNION SELECT author FROM comments UNION SELECT actor FROM events UNION SELECT created_by FROM dependencies;\n\
         SELECT COUNT(*) AS bd_lineage FROM dolt_branches WHERE name = {};\n\
         SELECT 'issues' AS bd_table, x.* FROM issues x WHERE x.id IN ({});\n",
        lineage::sanitized(&peer.name),
        own_ids
    );
    for child in CHILDREN {
        let also = match child {
            // A dependency on an issue that is not shared would name it.
            "dependencies" => {
                sql!(" AND (x.depends_on_id IN ({}) OR x.depends_on_id NOT IN (SELECT id FROM issues))", own_ids)
            }
            "comments" | "events" => sql!(" AND x.id LIKE {}", own_rows),
            _ => Sql::default(),
        };
        read.push(&sql!(
            "SELECT {} AS bd_table, x.* FROM {} x WHERE x.issue_id IN ({}){};\n",
            child,
            Sql::raw(child),
            own_ids,
            also
        ));
    }
    let rows = repo.query(&read)?;
    let has_lineage = rows.iter().any(|r| r.get("bd_lineage").and_then(Value::as_u64).unwrap_or(0) > 0);
    let people = rows.iter().filter_map(|r| r.get("p").and_then(Value::as_str).map(str::to_owned));
    let sanitizer = Sanitizer::new(town.workspace(), peer.tier)?.with_known_people(people);
    let mut tables: std::collections::BTreeMap<String, Vec<Row>> = std::collections::BTreeMap::new();
    for mut row in rows {
        if let Some(Value::String(table)) = row.remove("bd_table") {
            sanitize(&table, &mut row, &sanitizer);
            tables.entry(table).or_default().push(row);
        }
    }
    // The snapshot is made on the share branch, from the last snapshot (or
    // the peer's main for the first share); the lineage moves to it only
    // once the peer took the share ([`record`]).
    let shared_branch = lineage::shared(&peer.name);
    let start = if has_lineage { lineage::sanitized(&peer.name) } else { base.to_owned() };
    let mut script = lineage::begin(&shared_branch, &start);
    for child in CHILDREN {
        script.push(&sql!(
            "DELETE FROM {} WHERE issue_id IN (SELECT id FROM issues WHERE source_system = {});\n",
            Sql::raw(child),
            ours
        ));
    }
    script.push(&sql!("DELETE FROM issues WHERE source_system = {};\n", ours));
    for table in std::iter::once("issues").chain(CHILDREN) {
        script.push(&Sql::inserts(table, tables.get(table).map_or(&[][..], Vec::as_slice)));
    }
    script.push(&lineage::commit(
        &format!("bd federation: {} share from {}", peer.tier, town.name()),
        &tool_author(town),
        lineage::Empty::Skip,
    ));
    script.push(&sql!("SELECT HASHOF({}) AS bd_snapshot;\n", shared_branch));
    let author = tool_author(town);
    let rows = repo.query(&script)?;
    let snapshot = rows
        .iter()
        .find_map(|r| r.get("bd_snapshot").and_then(Value::as_str))
        .ok_or_else(|| anyhow::anyhow!("the {} snapshot for peer '{}' was not made", peer.tier, peer.name))?
        .to_owned();
    let mut script = Sql::raw("SET autocommit = 0;\n");
    if peer_has_data {
        let plan = super::merge::plan(repo, &shared_branch, base, strategy)?;
        if strategy == Strategy::Manual && !plan.conflicts.is_empty() {
            return Ok(Share::Conflicts(plan.conflicts));
        }
        script.push(&sql!(
            "CALL DOLT_CHECKOUT({});\nCALL DOLT_MERGE('--author', {}, '-m', {}, {});\n{}\n",
            shared_branch,
            author,
            format!("bd federation: {} share from {} onto {}'s main", peer.tier, town.name(), peer.name),
            base,
            plan.statements
        ));
        if !plan.is_empty() {
            script.push(&plan.clear_conflicts());
            script.push(&sql!(
                "CALL DOLT_COMMIT('-A', '-m', {}, '--author', {});\n",
                format!("Resolve conflicts from {} using {strategy} strategy", peer.name),
                author
            ));
        }
    }
    script.push(&sql!("COMMIT;\n{};\n", lineage::changes_query(base, &shared_branch)));
    let rows = repo.query(&script)?;
    let changes = rows.iter().find_map(|r| r.get("bd_changes").and_then(Value::as_u64)).unwrap_or(0);
    Ok(if changes == 0 { Share::Nothing } else { Share::Ready { branch: shared_branch, snapshot } })
}

/// Records a share the peer took: the snapshot lineage moves to `snapshot`,
/// the base of the next share's three-way merge.
pub(super) fn record(town: &Town, peer: &Peer, snapshot: &str) -> anyhow::Result<()> {
    town.repo().execute(&sql!("CALL DOLT_BRANCH('-f', {}, {});", lineage::sanitized(&peer.name), snapshot))?;
    Ok(())
}

/// This town's shareable issues that it has not shared with the peer in
/// their current state: new ones (`added`) and ones changed since the last
/// share (`changed`: another `updated_at`, which sanitizing keeps, or other
/// comments or labels). Compared with the last share when there is one,
/// else with the peer's main `base`.
pub(super) fn outgoing_counts(
    town: &Town,
    peer: &Peer,
    base: &str,
    excluded: &Exclusions,
) -> anyhow::Result<IssueCounts> {
    let (snapshots, _) = lineages(town, peer)?;
    counts_since(town, snapshots.as_deref().unwrap_or(base), excluded)
}

/// [`outgoing_counts`] against `since`.
fn counts_since(town: &Town, since: &str, excluded: &Exclusions) -> anyhow::Result<IssueCounts> {
    let repo = town.repo();
    let filter = sql!("l.source_system = {} AND NOT ({})", town.source_system(), excluded.issue_row("l"));
    let own_rows = format!("{}-%", town.prefix());
    let children = |table: &'static str, own: Sql| {
        let table = Sql::raw(table);
        sql!(
            "(SELECT COUNT(*) FROM {} c WHERE c.issue_id = l.id{}) <> \
             (SELECT COUNT(*) FROM {} AS OF {} c WHERE c.issue_id = l.id{})",
            table,
            own,
            table,
            since,
            own
        )
    };
    let rows = repo.query(&sql!(
        "SELECT SUM(CASE WHEN p.id IS NULL THEN 1 ELSE 0 END) AS added, \
         SUM(CASE WHEN p.id IS NOT NULL AND (p.updated_at <> l.updated_at OR {} OR {}) THEN 1 ELSE 0 END) AS changed \
         FROM issues l LEFT JOIN issues AS OF {} p ON p.id = l.id WHERE {}",
        children("comments", sql!(" AND c.id LIKE {}", own_rows)),
        children("labels", Sql::default()),
        since,
        filter
    ))?;
    Ok(IssueCounts { added: number(rows.first(), "added"), changed: number(rows.first(), "changed"), removed: 0 })
}

/// The standing with a T3/T4 peer in its own terms: whether this town has
/// something to share (`ahead`, 0 or 1 share) and how many commits the
/// peer's main has that this town's last share did not (`behind`).
pub(super) fn standing(town: &Town, peer: &Peer, base: &str, excluded: &Exclusions) -> anyhow::Result<(u64, u64)> {
    let (snapshots, shared) = lineages(town, peer)?;
    let ahead = u64::from(!counts_since(town, snapshots.as_deref().unwrap_or(base), excluded)?.is_empty());
    let behind = match shared {
        Some(shared) => super::state::ahead_behind(town.repo(), &shared, base)?.1,
        None => 0,
    };
    Ok((ahead, behind))
}

/// The peer's snapshot lineage and share branch, each when it exists: one query.
fn lineages(town: &Town, peer: &Peer) -> anyhow::Result<(Option<String>, Option<String>)> {
    let (snapshots, shared) = (lineage::sanitized(&peer.name), lineage::shared(&peer.name));
    let rows = town.repo().query(&sql!("SELECT name FROM dolt_branches WHERE name IN ({}, {})", snapshots, shared))?;
    let exists = |name: &str| rows.iter().any(|r| r.get("name").and_then(Value::as_str) == Some(name));
    Ok((exists(&snapshots).then(|| snapshots.clone()), exists(&shared).then(|| shared.clone())))
}

/// Copies in what a T3/T4 peer's main holds for this town: the issues
/// other towns created (newer versions winning, child rows joined as a
/// union so nothing added here is lost), and the comments partners added to
/// this town's own issues. Returns how many issues were (or, on a dry run,
/// would be) added or changed; a dry run changes nothing.
pub(super) fn import_foreign(town: &Town, peer: &Peer, dry_run: bool) -> anyhow::Result<IssueCounts> {
    let repo = town.repo();
    let tracking = peer.tracking_ref();
    let ours = town.source_system();
    let from_peer = |p: &'static str| {
        let p = Sql::raw(p);
        sql!(
            "FROM issues AS OF {} {} LEFT JOIN issues l ON l.id = {}.id \
             WHERE COALESCE({}.source_system, '') <> {} \
             AND (l.id IS NULL OR (COALESCE(l.source_system, '') <> {} AND {}.updated_at > l.updated_at))",
            tracking,
            p,
            p,
            p,
            ours,
            ours,
            p
        )
    };
    let incoming = sql!("SELECT i.id {}", from_peer("i"));
    // Partners' comments on our issues: ids of another town's prefix, not here yet.
    let back = sql!(
        "p.id NOT LIKE {} AND p.id NOT IN (SELECT id FROM comments) \
         AND p.issue_id IN (SELECT id FROM issues WHERE source_system = {})",
        format!("{}-%", town.prefix()),
        ours
    );
    let comments_back = sql!("FROM comments AS OF {} p WHERE {}", tracking, back);
    // What would land is checked like any peer's change, in the same script.
    let sources: Vec<(&'static str, Sql)> =
        std::iter::once(("issues", sql!("FROM issues AS OF {} p WHERE p.id IN ({})", tracking, incoming)))
            .chain(CHILDREN.iter().map(|child| {
                let back = if *child == "comments" { sql!(" OR ({})", back) } else { Sql::default() };
                (
                    *child,
                    sql!("FROM {} AS OF {} p WHERE (p.issue_id IN ({}){})", Sql::raw(child), tracking, incoming, back),
                )
            }))
            .collect();
    let checked = repo.query(&sql!(
        "{}SELECT SUM(CASE WHEN l.id IS NULL THEN 1 ELSE 0 END) AS added, \
         SUM(CASE WHEN l.id IS NULL THEN 0 ELSE 1 END) AS changed {};\n\
         SELECT COUNT(DISTINCT p.issue_id) AS commented {};",
        guard::copy_checks(&tracking, &sources),
        from_peer("p"),
        comments_back
    ));
    let rows = match checked {
        Err(err) if err.stderr().is_some_and(guard::refused) => {
            return Err(guard::copy_refusal(repo, peer, &sources)?.into());
        }
        other => other?,
    };
    let rows: Vec<_> = rows.into_iter().filter(|r| r.contains_key("added") || r.contains_key("commented")).collect();
    let commented = rows.iter().find_map(|r| r.get("commented")).map_or(0, crate::dolt::count);
    let counts = IssueCounts {
        added: number(rows.first(), "added"),
        changed: number(rows.first(), "changed") + commented,
        removed: 0,
    };
    if counts.is_empty() || dry_run {
        return Ok(counts);
    }
    let mut script = sql!(
        "SET autocommit = 0;\nCREATE TEMPORARY TABLE bd_incoming AS {};\n\
         INSERT INTO comments SELECT p.* {};\n\
         REPLACE INTO issues SELECT * FROM issues AS OF {} WHERE id IN (SELECT id FROM bd_incoming);\n",
        incoming,
        comments_back,
        tracking
    );
    for child in CHILDREN {
        let child = Sql::raw(child);
        script.push(&sql!(
            "INSERT IGNORE INTO {} SELECT * FROM {} AS OF {} WHERE issue_id IN (SELECT id FROM bd_incoming);\n",
            child,
            child,
            tracking
        ));
    }
    script.push(&sql!(
        "CALL DOLT_COMMIT('-A', '-m', {}, '--author', {});\nCOMMIT;\n",
        format!("bd federation: import {} peer {}'s issues", peer.tier, peer.name),
        town.actor().signature()
    ));
    repo.execute(&script)?;
    Ok(counts)
}
