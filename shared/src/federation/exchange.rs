//! Moving data with peers: fetch, push, pull and sync, one peer at a time,
//! each bounded in time and recorded in the audit log. This file runs the
//! peers in turn and starts each operation: the script it starts with is
//! `fetch`'s, and the rest is the operation's own file (`push`, `pull`,
//! `sync`).
//!
//! What is pushed is `main` itself, unless some issue types must never leave
//! the town (`federation.exclude_types`): then it is an outgoing lineage of
//! filtered snapshots (see `outgoing`), so the excluded issues are in
//! neither the peer's tables nor its history.

use std::time::{Duration, Instant};

use super::audit::{self, Log};
use super::fetch::{self, Then};
use super::outgoing::{self, Exclusions};
use super::remote::Peer;
use super::report::{Exchange, PeerResult, Status};
use super::sanitized;
use super::sovereignty;
use super::state;
use super::sync::Round;
use crate::clock;
use crate::config::{FederationSettings, Strategy, SyncMode, Tier};
use crate::output::Printer;
use crate::tracker::Town;

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

impl Options {
    /// The settings' time bound and strategy, with or without a dry run.
    #[must_use]
    pub fn new(settings: &FederationSettings, dry_run: bool) -> Self {
        Self { dry_run, timeout: settings.timeout, strategy: settings.strategy }
    }
}

/// Runs `operation` with every peer in turn; one peer's failure does not stop
/// the others.
pub fn run(
    town: &Town,
    settings: &FederationSettings,
    printer: &Printer,
    peers: &[Peer],
    operation: Operation,
    options: &Options,
) -> anyhow::Result<Exchange> {
    let _lock = town.lock()?;
    // Never merge a peer while on an older schema than this bd's.
    crate::tracker::migrate::apply(town)?;
    let log = Log::new(town.workspace());
    let excluded = Exclusions::new(town, settings.exclude_types.clone());
    let patterns = &settings.allowed_remote_patterns;
    let mut results = Vec::new();
    for peer in peers {
        if let Some(refusal) = super::unconfirmed_refusal(&settings.unconfirmed, &peer.name, town.workspace()) {
            results.push(PeerResult::failed(&peer.name, peer.endpoint.as_str(), &refusal.into()));
            continue;
        }
        printer.progress(&format!("{} {} ({})…", operation.as_str(), peer.name, peer.endpoint));
        let deadline = Instant::now() + options.timeout;
        let session = Session { town, peer, excluded: &excluded, patterns, options, deadline };
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
/// One operation with one peer.
pub(super) struct Session<'a> {
    pub(super) town: &'a Town,
    pub(super) peer: &'a Peer,
    pub(super) excluded: &'a Exclusions,
    pub(super) patterns: &'a [String],
    pub(super) options: &'a Options,
    pub(super) deadline: Instant,
}

impl Session<'_> {
    /// One round of `operation`: the dispatch to its file.
    pub(super) fn once(&self, operation: Operation) -> anyhow::Result<Round> {
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

    /// Commits here the peer has not received in any form.
    pub(super) fn unshared(&self, standing: &state::Standing) -> anyhow::Result<u64> {
        if self.excluded.is_empty() {
            Ok(standing.ahead)
        } else {
            outgoing::unshared(self.town.repo(), &self.peer.name, &standing.base)
        }
    }
}
