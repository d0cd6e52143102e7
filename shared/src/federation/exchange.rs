//! Moving data with peers: fetch, push, pull and sync, one peer at a time,
//! each step bounded in time and recorded in the audit log. The script each
//! starts with is `fetch`'s; a plain push is `push`'s. A sync whose push
//! another town beat fetches, merges and pushes again, with jittered
//! backoff, within its time bound.
//!
//! What is pushed is `main` itself, unless some issue types must never leave
//! the town (`federation.exclude_types`): then it is an outgoing lineage of
//! filtered snapshots (see `outgoing`), so the excluded issues are in
//! neither the peer's tables nor its history.

use std::fmt::Write as _;

use std::time::{Duration, Instant};

use super::audit::{self, Log};
use super::fetch::{self, Then};
use super::merge;
use super::outgoing::{self, Exclusions};
use super::remote::{Peer, PeerError};
use super::report::{Exchange, IssueCounts, PeerResult, Status};
use super::sanitized;
use super::sovereignty;
use super::state;
use crate::clock;
use crate::config::{Key, Resolved, Strategy, SyncMode, Tier};
use crate::dolt::Failure;
use crate::output::Printer;
use crate::tracker::{Town, sql};

/// Which way data moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Download the peer's state only.
    Fetch,
    /// Send ours.
    Push,
    /// Receive and merge theirs.
    Pull,
    /// Pull, then push.
    Sync,
}

impl Operation {
    /// The word used in output and the audit log.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        super::audit::Operation::from(self).as_str()
    }
}

/// How an exchange runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Show what would move without moving it.
    pub dry_run: bool,
    /// The time bound for each peer.
    pub timeout: Duration,
    /// How to resolve conflicts when merging.
    pub strategy: Strategy,
}

/// Runs `operation` with every peer in turn; one peer's failure does not stop
/// the others.
pub fn run(
    town: &Town,
    config: &Resolved,
    printer: &Printer,
    peers: &[Peer],
    operation: Operation,
    options: &Options,
) -> anyhow::Result<Exchange> {
    let _lock = town.lock()?;
    // Never merge a peer while on an older schema than this bd's.
    crate::tracker::migrate::apply(town)?;
    let log = Log::new(town.workspace());
    let excluded = Exclusions::new(town, config.list(Key::FederationExcludeTypes));
    let patterns = config.list(Key::FederationAllowedRemotePatterns);
    let unconfirmed = crate::config::trust::unconfirmed(config, town.workspace().beads_dir());
    let mut results = Vec::new();
    for peer in peers {
        if let Some(refusal) = super::unconfirmed_refusal(&unconfirmed, &peer.name, town.workspace()) {
            results.push(PeerResult::failed(&peer.name, peer.endpoint.as_str(), &refusal.into()));
            continue;
        }
        printer.progress(&format!("{} {} ({})…", operation.as_str(), peer.name, peer.endpoint));
        let deadline = Instant::now() + options.timeout;
        let session = Session { town, peer, excluded: &excluded, patterns: &patterns, options, deadline };
        let result = match session.run(operation) {
            Ok(result) => result,
            Err(err) => PeerResult::failed(&peer.name, peer.endpoint.as_str(), &err),
        };
        if !options.dry_run {
            let head = result.head.clone();
            let entry = audit::Entry {
                time: clock::sql_to_rfc3339(&clock::now_sql()),
                peer: peer.name.clone(),
                operation: operation.into(),
                status: result.status,
                commits_out: result.commits_out,
                commits_in: result.commits_in,
                issues_out: result.issues_out,
                issues_in: result.issues_in,
                head,
                error: result.error.clone(),
            };
            if let Err(err) = log.append(&entry) {
                printer.warn(&format!("could not write the audit log: {err}"));
            }
        }
        results.push(result);
    }
    let mut jsonl = None;
    if town.mode() == SyncMode::BeltAndSuspenders && !options.dry_run {
        // Belt and suspenders: every share also refreshes the JSONL backup in git.
        match crate::backup::run(town) {
            Ok(backup) => jsonl = Some(backup),
            Err(err) => printer.warn(&format!("the JSONL backup was not updated: {err:#}")),
        }
    }
    Ok(Exchange { operation: operation.as_str(), dry_run: options.dry_run, peers: results, jsonl })
}

/// A wait of about `base`: anywhere from half of it to one and a half times it.
fn jittered(base: Duration) -> Duration {
    let mut byte = [0u8; 1];
    // Without system randomness the wait is simply `base`.
    let _ = getrandom::fill(&mut byte);
    base / 2 + base * u32::from(byte[0]) / 255
}

/// One operation with one peer.
struct Session<'a> {
    town: &'a Town,
    peer: &'a Peer,
    excluded: &'a Exclusions,
    patterns: &'a [String],
    options: &'a Options,
    deadline: Instant,
}

/// The first wait before a sync that lost a push race tries again; each
/// further wait doubles, up to [`RACE_BACKOFF_MAX`], all jittered so that
/// towns that collided once do not collide again in step.
const RACE_BACKOFF: Duration = Duration::from_millis(100);
const RACE_BACKOFF_MAX: Duration = Duration::from_secs(2);

/// One run of an operation: done, or a sync whose push another town's
/// push beat after the merge (the merge stands; the sync can go again).
enum Round {
    Done(PeerResult),
    RaceLost(PeerResult),
}

impl Session<'_> {
    /// Runs `operation`. A sync that loses a push race fetches, merges and
    /// pushes again, with jittered backoff, while its time bound allows.
    fn run(&self, operation: Operation) -> anyhow::Result<PeerResult> {
        let mut backoff = RACE_BACKOFF;
        let mut before: Option<PeerResult> = None;
        loop {
            let (round, lost) = match self.once(operation)? {
                Round::Done(result) => (result, false),
                Round::RaceLost(result) => (result, true),
            };
            let round = match before.take() {
                Some(earlier) => earlier.then(round),
                None => round,
            };
            let wait = jittered(backoff);
            if !lost || Instant::now() + wait >= self.deadline {
                return Ok(round);
            }
            std::thread::sleep(wait);
            backoff = (backoff * 2).min(RACE_BACKOFF_MAX);
            before = Some(round);
        }
    }

    fn once(&self, operation: Operation) -> anyhow::Result<Round> {
        let mut result = PeerResult::new(&self.peer.name, self.peer.endpoint.as_str());
        if matches!(operation, Operation::Push | Operation::Sync) {
            // Before any contact with the peer: a forbidden peer gets nothing at all.
            sovereignty::check_push(self.peer, self.patterns)?;
        }
        if let Some(dir) = self.peer.missing_directory() {
            if operation != Operation::Push {
                return Err(self.peer.directory_gone(&dir).into());
            }
            // A push may start a new file:// backup.
            std::fs::create_dir_all(&dir)
                .map_err(|e| self.peer.error("is unreachable", format!("cannot create {dir}: {e}")))?;
        }
        let message = format!("bd: commit pending changes before {} with {}", operation.as_str(), self.peer.name);
        let author = self.town.actor().signature();
        let commit =
            (!self.options.dry_run && operation != Operation::Fetch).then_some((message.as_str(), author.as_str()));
        // Without a dry run or sanitizing, the merge runs in the one dolt
        // script that fetches; without exclusions, so does the push.
        let plain_merge = !self.options.dry_run && self.peer.tier < Tier::T3;
        let plain_push = plain_merge && self.excluded.is_empty();
        let then = match operation {
            Operation::Push if plain_push => Then::Push,
            Operation::Sync if plain_push => Then::MergeAndPush { author: &author },
            Operation::Pull | Operation::Sync if plain_merge => Then::Merge { author: &author },
            Operation::Fetch => Then::Fetch,
            _ => Then::Stand,
        };
        let mut pending_committed = Vec::new();
        if then == Then::Push {
            // One round trip, from the last fetched state; a peer never
            // fetched is fetched in the same script as the push below.
            match super::push::plain(self.town.repo(), self.peer, commit, self.deadline)? {
                super::push::Outcome::Pushed(pushed) => {
                    result.pending_committed = pushed.pending_committed;
                    if pushed.head.is_some() {
                        result.commits_out = pushed.commits;
                        result.issues_out = pushed.issues;
                        result.status = Status::Pushed;
                        result.head = pushed.head;
                    }
                    return Ok(Round::Done(result));
                }
                super::push::Outcome::NeverFetched { pending_committed: committed } => pending_committed = committed,
            }
        }
        let standing = fetch::fetch_and_stand(self.town.repo(), self.peer, commit, self.excluded, then, self.deadline)?;
        result.pending_committed.clone_from(&standing.pending_committed);
        if result.pending_committed.is_empty() {
            result.pending_committed = pending_committed;
        }
        if let (Operation::Push, Some(head)) = (operation, &standing.pushed) {
            if standing.ahead > 0 {
                result.commits_out = standing.ahead;
                result.issues_out = standing.outgoing.unwrap_or_default();
                result.status = Status::Pushed;
                result.head = Some(head.clone());
            }
            return Ok(Round::Done(result));
        }
        match operation {
            Operation::Fetch if self.peer.tier >= Tier::T3 => {
                (result.commits_out, result.commits_in) =
                    sanitized::standing(self.town, self.peer, &standing.base, self.excluded)?;
                result.status = Status::Fetched;
            }
            Operation::Fetch => {
                result.commits_in = standing.behind;
                result.commits_out = self.unshared(&standing)?;
                result.status = Status::Fetched;
            }
            Operation::Push => self.push(&mut result, &standing, false)?,
            Operation::Pull => self.pull(&mut result, &standing)?,
            Operation::Sync => return self.sync(result, standing),
        }
        Ok(Round::Done(result))
    }

    /// A sync after the script that fetched (and, in the usual case, merged
    /// and pushed): finishes the pull, then the push.
    fn sync(&self, mut result: PeerResult, standing: state::Standing) -> anyhow::Result<Round> {
        self.pull(&mut result, &standing)?;
        if let (Some(merged), Some(head)) = (&standing.merged, &standing.pushed) {
            // The one script merged and pushed.
            if merged.ahead > 0 {
                result.commits_out = merged.ahead;
                result.issues_out = standing.outgoing.unwrap_or_default();
                result.head = Some(head.clone());
            }
            result.status =
                if merged.ahead > 0 || result.status == Status::Pulled { Status::Synced } else { Status::UpToDate };
            return Ok(Round::Done(result));
        }
        if result.status == Status::Conflict {
            return Ok(Round::Done(result));
        }
        let pulled = result.status == Status::Pulled;
        let pushed = if standing.merged.is_some() && standing.push_failure == Some(Failure::NotFastForward) {
            // The one script merged, and another town pushed first.
            Err(self.peer.race_lost().into())
        } else {
            // A merge moved main: read the standing again before pushing.
            let standing =
                if pulled { state::standing(self.town.repo(), &self.peer.tracking_ref())? } else { standing };
            self.push(&mut result, &standing, true)
        };
        if let Err(err) = pushed {
            // The pull did happen: report it along with the failed push.
            result.status = Status::Failed;
            result.error = Some(format!("{err:#}"));
            let lost = err.downcast_ref::<PeerError>().is_some_and(|e| e.kind == Failure::NotFastForward);
            return Ok(if lost { Round::RaceLost(result) } else { Round::Done(result) });
        }
        result.status = match (pulled, result.status) {
            (_, Status::DryRun) => Status::DryRun,
            (true, _) | (_, Status::Pushed) => Status::Synced,
            _ => Status::UpToDate,
        };
        Ok(Round::Done(result))
    }

    /// Commits here the peer has not received in any form.
    fn unshared(&self, standing: &state::Standing) -> anyhow::Result<u64> {
        if self.excluded.is_empty() {
            Ok(standing.ahead)
        } else {
            outgoing::unshared(self.town.repo(), &self.peer.name, &standing.base)
        }
    }

    fn push(&self, result: &mut PeerResult, standing: &state::Standing, after_pull: bool) -> anyhow::Result<()> {
        let repo = self.town.repo();
        let base = standing.base.clone();
        if self.peer.tier >= Tier::T3 {
            return self.push_sanitized(result, standing);
        }
        let (ahead, behind) = (standing.ahead, standing.behind);
        // In a dry-run sync the pull has not happened, so the peer is still "ahead".
        if behind > 0 && !(after_pull && self.options.dry_run) {
            return Err(state::behind_error(self.peer, behind).into());
        }
        let issues = match standing.outgoing {
            Some(counts) => counts,
            None => state::outgoing_counts(repo, &base, self.excluded)?,
        };
        if self.options.dry_run {
            result.commits_out = self.unshared(standing)?;
            result.issues_out = issues;
            result.status = Status::DryRun;
            return Ok(());
        }
        if ahead == 0 {
            return Ok(());
        }
        let source = if self.excluded.is_empty() {
            "main".to_owned()
        } else {
            match outgoing::build(self.town, self.peer, &base, self.excluded)? {
                Some(branch) => branch,
                None => return Ok(()),
            }
        };
        // What is sent: main's commits, or the snapshots of the outgoing lineage.
        let sent_commits = if source == "main" { ahead } else { state::ahead_behind(repo, &source, &base)?.0 };
        result.head = self.send(&source, standing)?;
        if source != "main" {
            outgoing::record_in_main(self.town, self.peer, &source)?;
        }
        result.commits_out = sent_commits;
        result.issues_out = issues;
        result.status = Status::Pushed;
        Ok(())
    }

    /// Pushes `source` to the peer's main and checks that the peer took it:
    /// dolt moves our tracking ref only when the remote accepted the push.
    fn send(&self, source: &str, standing: &state::Standing) -> anyhow::Result<Option<String>> {
        let repo = self.town.repo();
        self.peer.call(repo, &["push", &self.peer.name, &format!("{source}:main")], self.deadline)?;
        let rows = repo.query(&format!(
            "SELECT HASHOF({}) AS peer, HASHOF({}) AS sent, HASHOF('main') AS main",
            sql::lit(&self.peer.tracking_ref()),
            sql::lit(source)
        ))?;
        let hash = |c: &str| rows.first().and_then(|r| r.get(c)).and_then(serde_json::Value::as_str).map(str::to_owned);
        let (after, sent) = (hash("peer"), hash("sent"));
        if after.is_none() || after != sent || after == standing.peer_head {
            return Err(self
                .peer
                .error("did not take the push", format!("its main is {after:?}, expected {sent:?}"))
                .into());
        }
        Ok(hash("main"))
    }

    fn pull(&self, result: &mut PeerResult, standing: &state::Standing) -> anyhow::Result<()> {
        if !standing.peer_has_data {
            return Ok(());
        }
        let repo = self.town.repo();
        let tracking = self.peer.tracking_ref();
        if self.peer.tier >= Tier::T3 {
            // A T3/T4 peer's history is never merged: only other towns' issues come in.
            // A dry run checks what would come in and shows the same refusal.
            let counts = sanitized::import_foreign(self.town, self.peer, self.options.dry_run)?;
            if self.options.dry_run {
                result.status = Status::DryRun;
                return Ok(());
            }
            if !counts.is_empty() {
                result.issues_in = counts;
                result.commits_in = 1;
                result.status = Status::Pulled;
            }
            return Ok(());
        }
        let behind = standing.behind;
        if behind == 0 {
            return Ok(());
        }
        result.commits_in = behind;
        if let Some(merged) = &standing.merged {
            result.head = Some(merged.head.clone());
            result.issues_in = merged.issues;
            result.status = Status::Pulled;
            return Ok(());
        }
        // What the peer sends is checked before anything reads it further
        // (a dry run shows the refusal the real run would meet).
        if let Err(err) = repo.execute(&super::guard::checks(&tracking)) {
            if err.stderr().is_some_and(super::guard::refused) {
                return Err(super::guard::refusal(repo, self.peer)?.into());
            }
            return Err(err.into());
        }
        let plan = match &standing.conflicted {
            Some(tables) if tables.is_empty() => merge::Plan::default(),
            _ => merge::plan(repo, "main", &tracking, self.options.strategy)?,
        };
        result.conflicts.clone_from(&plan.conflicts);
        if self.options.dry_run {
            result.issues_in = standing.incoming;
            result.status = Status::DryRun;
            return Ok(());
        }
        if !plan.conflicts.is_empty() && self.options.strategy == Strategy::Manual {
            result.status = Status::Conflict;
            result.error = Some(format!(
                "merging {} from peer '{}' conflicts in {} row(s): both sides changed the same field; nothing was \
                 changed. Resolve by choosing a strategy: `bd federation sync {} --strategy ours|theirs|newest`",
                tracking,
                self.peer.name,
                result.conflicts.len(),
                self.peer.name
            ));
            return Ok(());
        }
        result.conflicts.clear();
        let (head, issues) = self.merge(&tracking, &plan)?;
        result.head = head;
        result.issues_in = issues;
        result.status = Status::Pulled;
        Ok(())
    }

    /// Sends a sanitized share to a T3/T4 peer (see [`sanitized`]).
    fn push_sanitized(&self, result: &mut PeerResult, standing: &state::Standing) -> anyhow::Result<()> {
        let base = standing.base.as_str();
        let issues = sanitized::outgoing_counts(self.town, self.peer, base, self.excluded)?;
        if self.options.dry_run {
            result.commits_out = u64::from(!issues.is_empty());
            result.issues_out = issues;
            result.status = Status::DryRun;
            return Ok(());
        }
        let built =
            sanitized::build(self.town, self.peer, base, standing.peer_has_data, self.excluded, self.options.strategy)?;
        match built {
            sanitized::Share::Nothing => Ok(()),
            sanitized::Share::Conflicts(conflicts) => {
                result.status = Status::Conflict;
                result.error = Some(format!(
                    "sharing with {} peer '{}' conflicts in {} row(s): the peer changed fields this town changed \
                     too; nothing was sent. Choose a strategy: `bd federation sync {} --strategy ours|theirs|newest`",
                    self.peer.tier,
                    self.peer.name,
                    conflicts.len(),
                    self.peer.name
                ));
                result.conflicts = conflicts;
                Ok(())
            }
            sanitized::Share::Ready { branch, snapshot } => {
                result.head = self.send(&branch, standing)?;
                sanitized::record(self.town, self.peer, &snapshot)?;
                result.commits_out = 1;
                result.issues_out = issues;
                result.status = Status::Pushed;
                Ok(())
            }
        }
    }

    /// Merges the peer's main into ours in one transaction, resolving
    /// conflicts field by field as `plan` says; returns the new main and the
    /// issues the merge really changed here.
    fn merge(&self, tracking: &str, plan: &merge::Plan) -> anyhow::Result<(Option<String>, IssueCounts)> {
        let author = sql::lit(&self.town.actor().signature());
        let mut script = format!(
            "SET autocommit = 0;\nSET @bd_before = HASHOF('main');\nCALL DOLT_MERGE('--author', {author}, '-m', {}, {});\n",
            sql::lit(&fetch::merge_message(self.peer)),
            sql::lit(tracking)
        );
        if !plan.is_empty() {
            script.push_str(&plan.statements);
            for table in &plan.tables {
                let _ = writeln!(script, "DELETE FROM `dolt_conflicts_{table}`;");
            }
            // Only fields both sides changed were decided by the strategy.
            let message = if plan.conflicts.is_empty() {
                fetch::merge_message(self.peer)
            } else {
                format!("Resolve conflicts from {} using {} strategy", self.peer.name, self.options.strategy)
            };
            let _ = writeln!(script, "CALL DOLT_COMMIT('-A', '-m', {}, '--author', {author});", sql::lit(&message));
        }
        let _ = writeln!(
            script,
            "COMMIT;\nSELECT 1 AS bd_done, HASHOF('main') AS bd_head, {};",
            state::counts_query("@bd_before, 'main'", &Exclusions::none(), "in")
        );
        let out = self.town.repo().call(["sql", "-r", "json"]).stdin(script).run()?;
        let rows = crate::dolt::parse_rows(&out.stdout)?;
        let surprise = rows.iter().any(|r| r.get("conflicts").and_then(serde_json::Value::as_u64).unwrap_or(0) > 0);
        if plan.is_empty() && surprise {
            anyhow::bail!(
                "the merge from peer '{}' found conflicts the preview did not; nothing was changed, try again",
                self.peer.name
            );
        }
        let done = rows.iter().find(|r| r.contains_key("bd_done"));
        let head = done.and_then(|r| r.get("bd_head")).and_then(serde_json::Value::as_str).map(str::to_owned);
        Ok((head, state::counts_of(done, "in")))
    }
}
