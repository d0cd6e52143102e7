//! `status`: where the town stands with each peer, from a fresh fetch.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::audit::{self, Log};
use super::fetch;
use super::outgoing::Exclusions;
use super::remote::Peer;
use super::report::{IssueCounts, Status};
use super::state::{self, Standing};
use crate::clock;
use crate::config::{Strategy, Tier};
use crate::dolt::{Repo, Row, number};
use crate::output::{Report, Style};
use crate::tracker::Town;
use crate::tracker::sql::Sql;

/// One peer's standing.
#[derive(Debug, Serialize)]
pub struct PeerStatus {
    /// The peer.
    pub peer: String,
    /// Its endpoint.
    pub endpoint: String,
    /// The effective sovereignty tier.
    #[serde(serialize_with = "super::report::serialize_tier")]
    pub sovereignty: Tier,
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

/// Fetches each peer (each bounded by `timeout`) and reports where things stand.
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
    let mut last_exchanges = log.last_exchanges()?;
    let mut surveys = Surveys::run(town, peers, excluded, unconfirmed, timeout)?;
    let mut out = Vec::new();
    for (peer, fetched) in peers.iter().zip(surveys.peers.drain(..)) {
        let tracking = peer.tracking_ref();
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
        let last = last_exchanges.remove(&peer.name).unwrap_or_default();
        let entry = audit::Entry {
            time: now.clone(),
            peer: peer.name.clone(),
            operation: audit::Operation::Fetch,
            status: if fetched.is_ok() { Status::Fetched } else { Status::Failed },
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
            sovereignty: peer.tier,
            reachable: fetched.is_ok(),
            ahead,
            behind,
            fetched_at: if fetched.is_ok() { Some(now) } else { last.answered },
            conflicts,
            last_sync: last.sync,
            unrelated,
            error: match fetched {
                Err(e) => Some(format!("{e:#}")),
                Ok(_) if unrelated => Some(state::unrelated_error(peer).to_string()),
                Ok(_) => None,
            },
        });
    }
    Ok(TownStatus {
        town: town.name().to_owned(),
        pending_changes: surveys.pending_changes,
        unresolved_conflicts: surveys.unresolved,
        peers: out,
    })
}

/// The town's own counts and each peer's fresh standing.
struct Surveys {
    pending_changes: u64,
    unresolved: u64,
    /// One per peer, in order.
    peers: Vec<anyhow::Result<Standing>>,
}

/// The query of the town's own counts, its row marked `bd_town`.
const TOWN_QUERY: Sql = Sql::raw(
    "SELECT 1 AS bd_town, (SELECT COUNT(*) FROM dolt_status) AS pending, \
     (SELECT COALESCE(SUM(num_conflicts), 0) FROM dolt_conflicts) AS unresolved;\n",
);

impl Surveys {
    /// Surveys every peer. The town's counts and the peers without a
    /// password share one dolt process; a peer with a password has its own
    /// (dolt reads the password from its environment).
    fn run(
        town: &Town,
        peers: &[Peer],
        excluded: &Exclusions,
        unconfirmed: &[crate::config::trust::Widening],
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let repo = town.repo();
        let mut results: Vec<Option<anyhow::Result<Standing>>> = peers
            .iter()
            .map(|peer| {
                match (super::unconfirmed_refusal(unconfirmed, &peer.name, town.workspace()), peer.missing_directory())
                {
                    (Some(refusal), _) => Some(Err(refusal.into())),
                    (None, Some(dir)) => Some(Err(peer.directory_gone(&dir).into())),
                    (None, None) => None,
                }
            })
            .collect();
        let shared: Vec<usize> =
            (0..peers.len()).filter(|&i| results[i].is_none() && !peers[i].has_credentials()).collect();
        let mut town_row = None;
        for (i, result) in shared_survey(repo, peers, &shared, excluded, timeout, &mut town_row) {
            results[i] = Some(result);
        }
        let town_row = match town_row {
            Some(row) => row,
            None => repo.query(&TOWN_QUERY)?.into_iter().next().unwrap_or_default(),
        };
        let peers = peers
            .iter()
            .zip(results)
            .map(|(peer, result)| {
                result.unwrap_or_else(|| {
                    let deadline = Instant::now() + timeout;
                    fetch::fetch_and_stand(repo, peer, None, excluded, fetch::Then::Survey, deadline)
                })
            })
            .collect();
        Ok(Self {
            pending_changes: number(Some(&town_row), "pending"),
            unresolved: number(Some(&town_row), "unresolved"),
            peers,
        })
    }
}

/// Surveys the peers at `which` in one dolt process, reading the town's
/// counts first into `town_row`. Each peer's bound starts when its turn
/// comes: a peer that stays silent past it is given up on (dolt is stopped,
/// and the next peer starts a new process), so it costs its own bound and
/// no other peer's. A peer whose survey fails ends the process the same way
/// (a dolt script stops at its first error), after up to three tries when
/// it was unreachable.
fn shared_survey(
    repo: &Repo,
    peers: &[Peer],
    which: &[usize],
    excluded: &Exclusions,
    timeout: Duration,
    town_row: &mut Option<Row>,
) -> Vec<(usize, anyhow::Result<Standing>)> {
    const ATTEMPTS: u32 = 3;
    let mut done = Vec::new();
    let mut next = 0;
    let (mut attempt, mut backoff) = (1, Duration::from_millis(500));
    let mut deadline = None;
    while next < which.len() {
        let mut script = if town_row.is_none() { TOWN_QUERY } else { Sql::default() };
        for &i in &which[next..] {
            script.push(&fetch::survey_script(&peers[i], excluded));
        }
        let call = repo.call(["sql", "-r", "json"]).sql(&script);
        let mut stream = match call.stream() {
            Ok(stream) => stream,
            Err(err) => {
                let failed = format!("{:#}", anyhow::Error::from(err));
                done.extend(which[next..].iter().map(|&i| (i, Err(anyhow::anyhow!("{failed}")))));
                return done;
            }
        };
        let mut segment: Vec<Row> = Vec::new();
        let mut printed = String::new();
        let peer_deadline = |d: &mut Option<Instant>| *d.get_or_insert_with(|| Instant::now() + timeout);
        let ended = loop {
            match stream.line(peer_deadline(&mut deadline)) {
                Ok(Some(line)) => {
                    let rows = crate::dolt::parse_rows(&line).unwrap_or_default();
                    if let Some(row) = rows.iter().find(|r| r.contains_key("bd_town")) {
                        *town_row = Some(row.clone());
                        continue;
                    }
                    printed.push_str(&line);
                    printed.push('\n');
                    let finished = fetch::survey_done(&rows);
                    segment.extend(rows);
                    if finished {
                        let peer = &peers[which[next]];
                        done.push((which[next], fetch::read_standing(repo, peer, &segment, None, fetch::Then::Survey)));
                        (segment, next, attempt, deadline) = (Vec::new(), next + 1, 1, None);
                        printed.clear();
                    }
                }
                Ok(None) => break stream.finish().err(),
                Err(err) => break Some(err),
            }
        };
        let Some(err) = ended else {
            // dolt stopped without an error before every peer was done: say so rather than loop.
            done.extend(
                which[next..]
                    .iter()
                    .map(|&i| (i, Err(peers[i].error("failed", "dolt stopped before surveying it".to_owned()).into()))),
            );
            return done;
        };
        if next >= which.len() {
            break;
        }
        let peer = &peers[which[next]];
        let read_only = matches!(err, crate::dolt::DoltError::ReadOnly { .. });
        let stopped = matches!(err, crate::dolt::DoltError::Timeout { .. });
        let (mut failure, transient) = peer.failure(&err);
        if stopped {
            // What it printed before its bound ran out is no standing.
            done.push((which[next], Err(failure.into())));
            (next, attempt, deadline) = (next + 1, 1, None);
            continue;
        }
        failure.stdout = printed;
        let left = peer_deadline(&mut deadline).saturating_duration_since(Instant::now());
        if read_only && !left.is_zero() {
            // A reading dolt held the repository; the fetch wrote nothing. Go again.
            std::thread::sleep(Duration::from_millis(50).min(left));
            continue;
        }
        if transient && attempt < ATTEMPTS && !left.is_zero() {
            attempt += 1;
            std::thread::sleep(backoff.min(left));
            backoff *= 2;
            continue;
        }
        let result = fetch::read_standing(repo, peer, &segment, Some(failure), fetch::Then::Survey);
        done.push((which[next], result));
        (next, attempt, deadline) = (next + 1, 1, None);
    }
    done
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
