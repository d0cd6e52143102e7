//! `join`: making two unrelated histories one, losing nothing.
//!
//! Dolt merges only histories with a common ancestor; a town made by
//! another tool or an old build has none with ours. A join lays both sides'
//! rows onto one lineage as a row-level union: rows only one side holds are
//! kept, rows both hold are merged field by field (a field the two hold
//! differently is decided by the strategy; `manual` stops and lists them).
//!
//! The union always stands on the standard lineage, the genesis every new
//! town has, so a join never splits a town from its other peers. The side
//! that is not on it moves:
//! - this town: the union is built on the peer's `main`, and our previous
//!   `main` stays on `bd/before-join/<peer>/<stamp>`;
//! - the peer: the union is built on our `main` and pushed in place of the
//!   peer's `main`, whose old head stays on the remote's branch
//!   `bd/before-join/<town>/<stamp>`; towns that use that peer are told on
//!   their next exchange to join it themselves;
//! - neither is on it: the union is built on the genesis and both move.
//!
//! Either way, both sides end on the union. The join is one entry in the
//! audit log.

use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::audit::{self, Log};
use super::lineage;
use super::merge::{self, Rows};
use super::remote::Peer;
use super::report::{Conflict, IssueCounts};
use crate::clock;
use crate::config::{Strategy, Tier};
use crate::dolt::number;
use crate::error::UserError;
use crate::output::{Report, Style};
use crate::tracker::sql::{Sql, sql};
use crate::tracker::{Town, genesis, schema};

/// Which side leaves its lineage for the standard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Moves {
    /// This town.
    ThisTown,
    /// The peer.
    Peer,
    /// Both (neither was on the standard lineage).
    Both,
}

/// What a join did (or, with `--dry-run`, would do).
#[derive(Debug, Serialize)]
pub struct Joined {
    /// The peer.
    pub peer: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The side that moves onto the standard lineage.
    pub moves: Moves,
    /// Issues this town gains (held only by the peer).
    pub gained_here: u64,
    /// Issues the peer gains (held only by this town).
    pub gained_there: u64,
    /// Issues both hold with different values, merged field by field.
    pub merged: u64,
    /// Fields both hold differently, when `manual` stopped the join.
    pub conflicts: Vec<Conflict>,
    /// Where our previous `main` is kept, when this town moved.
    pub kept_here: Option<String>,
    /// The remote branch keeping the peer's previous `main`, when it moved.
    pub kept_there: Option<String>,
    /// Our `main` after the join.
    pub head: Option<String>,
}

impl Report for Joined {
    fn human(&self, style: Style) -> String {
        if !self.conflicts.is_empty() {
            return String::new();
        }
        let moves = match self.moves {
            Moves::ThisTown => "this town moves onto the standard lineage",
            Moves::Peer => "the peer moves onto the standard lineage",
            Moves::Both => "both move onto the standard lineage",
        };
        let verb = if self.dry_run { "would join (nothing changed)" } else { "joined" };
        let mut out = format!(
            "{}: {verb}; {moves}; {} issue(s) gained here, {} there, {} merged field by field\n",
            style.bold(&self.peer),
            self.gained_here,
            self.gained_there,
            self.merged
        );
        if let Some(branch) = &self.kept_here {
            let _ = writeln!(out, "  this town's previous main is kept on {branch}");
        }
        if let Some(branch) = &self.kept_there {
            let _ = writeln!(out, "  the peer's previous main is kept on its branch {branch}");
        }
        out
    }

    fn errors(&self) -> Vec<String> {
        if self.conflicts.is_empty() {
            return Vec::new();
        }
        let mut text = format!(
            "joining peer '{}' meets {} row(s) both sides hold differently; nothing was changed. Choose a strategy: \
             `bd federation join {} --strategy ours|theirs|newest`",
            self.peer,
            self.conflicts.len(),
            self.peer
        );
        text.push_str(&super::report::conflict_lines(&self.conflicts));
        vec![text]
    }

    fn exit_code(&self) -> u8 {
        if self.conflicts.is_empty() { crate::error::exit::SUCCESS } else { crate::error::exit::FAILURE }
    }
}

/// Where the two histories stand, read in one query.
struct Survey {
    moves: Moves,
    gained_here: u64,
    gained_there: u64,
    merged: u64,
}

fn survey(repo: &crate::dolt::Repo, peer: &Peer) -> anyhow::Result<Survey> {
    let tracking = peer.tracking_ref();
    let standard = genesis::SCHEMA_COMMIT;
    let mut query = sql!(
        "SELECT (SELECT COUNT(*) FROM dolt_log('main') WHERE commit_hash = {}) AS ours_standard, \
         (SELECT COUNT(*) FROM dolt_log({}) WHERE commit_hash = {}) AS theirs_standard, \
         (SELECT COUNT(*) FROM dolt_log({})) AS peer_commits, \
         (SELECT COUNT(*) FROM dolt_log({})) AS behind, \
         (SELECT COUNT(*) FROM dolt_schema_diff('main', {})) AS schema_changes, \
         (SELECT COUNT(*) FROM dolt_status) AS pending",
        standard,
        tracking,
        standard,
        tracking,
        format!("main..{tracking}"),
        tracking
    );
    for (kind, column) in [("added", "gained_here"), ("removed", "gained_there"), ("modified", "merged")] {
        query.push(&sql!(
            ", (SELECT COUNT(*) FROM dolt_diff('main', {}, 'issues') WHERE diff_type = {}) AS {}",
            tracking,
            kind,
            Sql::raw(column)
        ));
    }
    let rows = repo.query(&query).map_err(|err| {
        UserError::failure(format!("cannot compare this town with peer '{}': {err}", peer.name))
            .with_hint(format!("has peer '{}' any data yet? `bd federation push {}` starts it", peer.name, peer.name))
    })?;
    let row = rows.first();
    let refuse = |message: String, hint: String| Err(UserError::failure(message).with_hint(hint).into());
    if number(row, "peer_commits") > 0 && number(row, "behind") < number(row, "peer_commits") {
        return refuse(
            format!("this town and peer '{}' already share history: there is nothing to join", peer.name),
            format!("run `bd federation sync {}`", peer.name),
        );
    }
    if number(row, "schema_changes") > 0 {
        return refuse(
            format!("peer '{}' has another schema than this town, so their rows cannot be joined", peer.name),
            "export its issues with the tool that made it, then `bd import` the JSONL here".to_owned(),
        );
    }
    if number(row, "pending") > 0 {
        return refuse(
            "this town has uncommitted changes made outside bd".to_owned(),
            "commit or discard them in .beads/dolt (`bd doctor` names them), then join".to_owned(),
        );
    }
    let moves = match (number(row, "ours_standard") > 0, number(row, "theirs_standard") > 0) {
        (true, false) => Moves::Peer,
        (false, true) => Moves::ThisTown,
        _ => Moves::Both,
    };
    Ok(Survey {
        moves,
        gained_here: number(row, "gained_here"),
        gained_there: number(row, "gained_there"),
        merged: number(row, "merged"),
    })
}

/// Joins this town's history with `peer`'s unrelated one (see the module).
pub fn join(town: &Town, peer: &Peer, strategy: Strategy, dry_run: bool, deadline: Instant) -> anyhow::Result<Joined> {
    if peer.tier >= Tier::T3 {
        return Err(UserError::failure(format!(
            "peer '{}' is a {} peer: this town never shares history with it, so there is nothing to join",
            peer.name, peer.tier
        ))
        .into());
    }
    let _lock = town.lock()?;
    let repo = town.repo();
    if let Some(dir) = peer.missing_directory() {
        return Err(peer.directory_gone(&dir).into());
    }
    peer.call(repo, &["fetch", &peer.name], deadline)?;
    let Survey { moves, gained_here, gained_there, merged } = survey(repo, peer)?;
    let plan = merge::plan_rows(repo, "main", &peer.tracking_ref(), strategy, Rows::HeldByBoth)?;
    let mut joined = Joined {
        peer: peer.name.clone(),
        dry_run,
        moves,
        gained_here,
        gained_there,
        merged,
        conflicts: Vec::new(),
        kept_here: None,
        kept_there: None,
        head: None,
    };
    if strategy == Strategy::Manual && !plan.conflicts.is_empty() {
        joined.conflicts = plan.conflicts;
        return Ok(joined);
    }
    if dry_run {
        return Ok(joined);
    }
    let stamp = clock::now_sql().replace(['-', ':'], "").replace(' ', "-");
    let stamp = stamp.split('.').next().unwrap_or_default().to_owned();
    let ours_kept = lineage::before_join(&peer.name, &stamp);
    lay_union(town, peer, &plan, moves, strategy, &ours_kept)?;
    if moves != Moves::Peer {
        joined.kept_here = Some(ours_kept);
    }
    let theirs_kept = (moves != Moves::ThisTown).then(|| lineage::before_join(town.name(), &stamp));
    joined.head = Some(share_union(town, peer, theirs_kept.as_deref(), deadline)?);
    joined.kept_there = theirs_kept;
    let entry = audit::Entry {
        time: clock::sql_to_rfc3339(&clock::now_sql()),
        peer: peer.name.clone(),
        operation: audit::Operation::Join,
        status: super::report::Status::Joined,
        commits_out: 1,
        commits_in: 0,
        issues_out: IssueCounts { added: joined.gained_there, changed: joined.merged, removed: 0 },
        issues_in: IssueCounts { added: joined.gained_here, changed: joined.merged, removed: 0 },
        head: joined.head.clone(),
        error: None,
    };
    Log::new(town.workspace()).append(&entry)?;
    Ok(joined)
}

/// Builds the union on the standard lineage and puts this town's main on
/// it, keeping our previous main on `kept` when this town moves.
fn lay_union(
    town: &Town,
    peer: &Peer,
    plan: &merge::Plan,
    moves: Moves,
    strategy: Strategy,
    kept: &str,
) -> anyhow::Result<()> {
    let tracking = peer.tracking_ref();
    let union = lineage::union(&peer.name);
    let build = |base: &str| {
        let mut script = lineage::begin(&union, base);
        // Every row of the sides the base does not hold, then the rows both
        // hold, as the plan merged them.
        let sides: &[&str] = match moves {
            Moves::Peer => &[tracking.as_str()],
            Moves::ThisTown => &["main"],
            Moves::Both => &["main", tracking.as_str()],
        };
        for side in sides {
            for table in schema::TABLES {
                let table = Sql::ident(table);
                script.push(&sql!("INSERT IGNORE INTO {} SELECT * FROM {} AS OF {};\n", table, table, side));
            }
        }
        script.push(&plan.statements);
        script.push(&lineage::commit(
            &format!("bd federation join: union with {}'s unrelated history ({strategy})", peer.name),
            &town.actor().signature(),
            lineage::Empty::Skip,
        ));
        script.push(&Sql::raw("SET autocommit = 1;\n"));
        if moves != Moves::Peer {
            script.push(&lineage::keep(kept, "main"));
        }
        script.push(&sql!("CALL DOLT_CHECKOUT('main');\nCALL DOLT_RESET('--hard', {});\n", union));
        script.push(&lineage::delete_statement(&union));
        script
    };
    let repo = town.repo();
    match moves {
        Moves::Peer => repo.execute(&build("main"))?,
        Moves::ThisTown => repo.execute(&build(&tracking))?,
        // Neither stands on the standard lineage: the genesis comes in
        // through a remote of its own, for this call.
        Moves::Both => genesis::with_remote(town.workspace().beads_dir(), |url| {
            let script = sql!(
                "CALL DOLT_REMOTE('add', 'bd-genesis', {});\nCALL DOLT_FETCH('bd-genesis');\n{}\
                 CALL DOLT_REMOTE('remove', 'bd-genesis');\n",
                url,
                build("bd-genesis/main")
            );
            Ok(repo.execute(&script)?)
        })?,
    };
    Ok(())
}

/// Puts the peer's main on the union too: in place of its main when it
/// moves (its old head kept on the remote's branch `kept`), else a plain
/// push. Returns the main both now have.
fn share_union(town: &Town, peer: &Peer, kept: Option<&str>, deadline: Instant) -> anyhow::Result<String> {
    let repo = town.repo();
    let remote = peer.sql_remote_args();
    let tracking = peer.tracking_ref();
    let push = match kept {
        None => sql!("CALL DOLT_PUSH({}, 'main');\n", remote),
        Some(kept) => sql!(
            "{}CALL DOLT_PUSH({}, {});\n{}CALL DOLT_PUSH('--force', {}, 'main');\n",
            lineage::keep(kept, &tracking),
            remote,
            kept,
            lineage::delete_statement(kept),
            remote
        ),
    };
    let script = sql!("{}SELECT 1 AS bd_joined, HASHOF('main') AS main, HASHOF({}) AS peer;", push, tracking);
    let out = peer.script(repo, &script, &|out| !super::fetch::reached(out, "bd_joined"), deadline)?;
    let rows = crate::dolt::parse_rows(&out.stdout)?;
    let done = rows.iter().find(|r| r.contains_key("bd_joined"));
    let hash = |c: &str| done.and_then(|r| r.get(c)).and_then(Value::as_str).map(str::to_owned);
    match (hash("main"), hash("peer")) {
        (Some(main), Some(theirs)) if main == theirs => Ok(main),
        _ => Err(peer.error("did not take the joined history", "its main is not this town's main".to_owned()).into()),
    }
}
