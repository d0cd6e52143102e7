//! `status`: where the town stands with each peer, from a fresh fetch.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::audit::{self, Log};
use super::outgoing::Exclusions;
use super::remote::Peer;
use super::report::IssueCounts;
use super::state;
use crate::clock;
use crate::config::{Strategy, Tier};
use crate::output::{Report, Style};
use crate::tracker::Town;

/// One peer's standing.
#[derive(Debug, Serialize)]
pub struct PeerStatus {
    /// The peer.
    pub peer: String,
    /// Its endpoint.
    pub endpoint: String,
    /// The effective sovereignty tier.
    pub sovereignty: String,
    /// Whether the fetch just now succeeded.
    pub reachable: bool,
    /// Commits here that the peer lacks (`null` when never fetched).
    pub ahead: Option<u64>,
    /// Commits on the peer that are not here.
    pub behind: Option<u64>,
    /// When the peer state behind `ahead`/`behind` was fetched.
    pub fetched_at: Option<String>,
    /// Rows that would conflict on the next pull.
    pub conflicts: usize,
    /// The last successful push, pull or sync.
    pub last_sync: Option<String>,
    /// Whether the peer's history shares no commit with ours (it needs
    /// `bd federation join`).
    pub unrelated: bool,
    /// Why the peer could not be reached, or what stands in the way.
    pub error: Option<String>,
}

/// The town's standing with its peers.
#[derive(Debug, Serialize)]
pub struct TownStatus {
    /// The town.
    pub town: String,
    /// Uncommitted changes (they are committed before the next pull).
    pub pending_changes: u64,
    /// Conflicts left in the working set (bd never leaves any; dolt might).
    pub unresolved_conflicts: u64,
    /// One entry per peer.
    pub peers: Vec<PeerStatus>,
}

/// Fetches each peer (bounded by `timeout`) and reports where things stand.
pub fn status(
    town: &Town,
    peers: &[Peer],
    excluded_types: Vec<String>,
    unconfirmed: &[crate::config::trust::Widening],
    timeout: Duration,
) -> anyhow::Result<TownStatus> {
    let _lock = town.lock()?;
    let repo = town.repo();
    let excluded = &Exclusions::new(town, excluded_types);
    let log = Log::new(town.workspace());
    let pending_changes = state::pending_changes(repo)?;
    let unresolved = repo
        .query("SELECT COALESCE(SUM(num_conflicts), 0) AS n FROM dolt_conflicts")?
        .first()
        .and_then(|r| r.get("n"))
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(0);
    let mut out = Vec::new();
    for peer in peers {
        let deadline = Instant::now() + timeout;
        let tracking = peer.tracking_ref();
        let fetched =
            match (super::unconfirmed_refusal(unconfirmed, &peer.name, town.workspace()), peer.missing_directory()) {
                (Some(refusal), _) => Err(refusal.into()),
                (None, Some(dir)) => Err(peer.directory_gone(&dir).into()),
                (None, None) => state::fetch_and_stand(repo, peer, None, excluded, state::Then::Survey, deadline),
            };
        let now = clock::sql_to_rfc3339(&clock::now_sql());
        let unshared = |base: &str, ahead: u64| {
            if excluded.is_empty() { Ok(ahead) } else { super::outgoing::unshared(repo, &peer.name, base) }
        };
        // Unreachable: the last fetched state, if any, with its time.
        let standing = match &fetched {
            Ok(standing) => Some(standing.clone()),
            Err(_) => state::standing(repo, &tracking).ok().filter(|s| s.peer_has_data),
        };
        let unrelated = fetched.as_ref().is_ok_and(|s| s.unrelated);
        let (ahead, behind, conflicts) = match standing {
            // Ahead and behind of two unrelated histories say nothing.
            Some(_) if unrelated => (None, None, 0),
            // A T3/T4 peer's history is never merged: it stands against what
            // this town last shared there.
            Some(standing) if peer.tier >= Tier::T3 => {
                let (ahead, behind) = super::sanitized::standing(town, peer, &standing.base, excluded)?;
                (Some(ahead), Some(behind), 0)
            }
            Some(standing) if standing.peer_has_data => {
                let tables = if fetched.is_ok() { standing.conflicted.clone().unwrap_or_default() } else { Vec::new() };
                // Only fields both sides changed conflict; bookkeeping merges by itself.
                let n = if tables.is_empty() {
                    0
                } else {
                    super::merge::plan(repo, "main", &tracking, Strategy::Manual)?.conflicts.len()
                };
                (Some(unshared(&standing.base, standing.ahead)?), Some(standing.behind), n)
            }
            Some(standing) => (Some(unshared(&standing.base, standing.ahead)?), Some(0), 0),
            None => (None, None, 0),
        };
        let last_fetch = log.entries(Some(&peer.name))?.into_iter().rev().find(|e| e.error.is_none()).map(|e| e.time);
        let entry = audit::Entry {
            time: now.clone(),
            peer: peer.name.clone(),
            operation: "fetch".to_owned(),
            status: if fetched.is_ok() { "fetched" } else { "failed" }.to_owned(),
            commits_out: 0,
            commits_in: 0,
            issues_out: IssueCounts::default(),
            issues_in: IssueCounts::default(),
            head: None,
            error: fetched.as_ref().err().map(|e| format!("{e:#}")),
        };
        log.append(&entry)?;
        out.push(PeerStatus {
            peer: peer.name.clone(),
            endpoint: peer.endpoint.as_str().to_owned(),
            sovereignty: peer.tier.as_str().to_owned(),
            reachable: fetched.is_ok(),
            ahead,
            behind,
            fetched_at: if fetched.is_ok() { Some(now) } else { last_fetch },
            conflicts,
            last_sync: log.last_sync(&peer.name)?,
            unrelated,
            error: match fetched {
                Err(e) => Some(format!("{e:#}")),
                Ok(_) if unrelated => Some(state::unrelated_error(peer).to_string()),
                Ok(_) => None,
            },
        });
    }
    Ok(TownStatus { town: town.name().to_owned(), pending_changes, unresolved_conflicts: unresolved, peers: out })
}

impl Report for TownStatus {
    fn human(&self, style: Style) -> String {
        let mut out = format!("Town {}: {} pending change(s)", style.bold(&self.town), self.pending_changes);
        if self.unresolved_conflicts > 0 {
            let _ = write!(out, ", {} unresolved conflict(s)", self.unresolved_conflicts);
        }
        out.push('\n');
        for p in &self.peers {
            let reach = if p.reachable { style.green("reachable") } else { style.red("unreachable") };
            let counts = match (p.ahead, p.behind) {
                _ if p.unrelated => style.red(&format!("unrelated history: run `bd federation join {}`", p.peer)),
                (Some(a), Some(b)) => format!("{a} ahead, {b} behind"),
                _ => "never fetched".to_owned(),
            };
            let as_of = match (&p.fetched_at, p.reachable) {
                (Some(at), false) => format!(" (as of {at})"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {} [{}] {reach}; {counts}{as_of}; {} conflict(s) on next pull; last sync {}",
                style.bold(&p.peer),
                p.sovereignty,
                p.conflicts,
                p.last_sync.as_deref().unwrap_or("never")
            );
        }
        out
    }

    fn errors(&self) -> Vec<String> {
        self.peers.iter().filter_map(|p| p.error.clone()).collect()
    }

    fn exit_code(&self) -> u8 {
        crate::error::exit::for_peers(
            self.peers.iter().filter(|p| !p.reachable || p.unrelated).count(),
            self.peers.len(),
        )
    }
}
