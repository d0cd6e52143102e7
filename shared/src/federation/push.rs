//! `push` of `main` itself to a peer, in one round trip.
//!
//! The push decides from the last fetched state of the peer (the tracking
//! ref `peer/main`), pushes, and reads the tracking ref dolt moved: dolt
//! moves it only when the peer accepted the push, so that read is the check
//! that the peer took it. Nothing is fetched first: dolt itself refuses a
//! push the peer cannot fast-forward, and only then is the peer fetched, to
//! say how many commits it has that this town lacks.
//!
//! Pushes after a pull, and of filtered or sanitized lineages, are built on
//! the peer's current state, after the fetch that starts the exchange; they
//! are the `Session` methods at the end of this file.

use std::time::Instant;

use serde_json::Value;

use super::exchange::Session;
use super::fetch;
use super::outgoing;
use super::outgoing::Exclusions;
use super::remote::Peer;
use super::report::IssueCounts;
use super::report::{PeerResult, Status};
use super::sanitized;
use super::state::{self, Counted};
use crate::config::Tier;
use crate::dolt::{Failure, Repo, number};
use crate::tracker::migrate;
use crate::tracker::sql::{Sql, ToSql, sql};

/// What a push moved.
#[derive(Debug, Clone, Default)]
pub(super) struct Pushed {
    /// Tables whose pending changes were committed first.
    pub pending_committed: Vec<String>,
    /// Commits the peer lacked, as of the last fetch.
    pub commits: u64,
    /// This town's issue changes the peer lacked.
    pub issues: IssueCounts,
    /// Our main, which the peer now has; `None` when it already had it.
    pub head: Option<String>,
}

/// How a one-round-trip push ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The peer has our main.
    Pushed(Pushed),
    /// The peer was never fetched, so there is no last state to decide
    /// from; nothing was sent (pending changes were committed). The caller
    /// fetches first.
    NeverFetched {
        /// Tables whose pending changes were committed.
        pending_committed: Vec<String>,
    },
}

/// Pushes `main` to `peer`, first committing pending changes when `commit`
/// gives the message and author.
pub(super) fn plain(
    repo: &Repo,
    peer: &Peer,
    commit: Option<(&str, &str)>,
    deadline: Instant,
) -> anyhow::Result<Outcome> {
    // Running it again does nothing twice: the commit skips when nothing is
    // pending, and a push of what the peer has is a no-op.
    let out = match peer.script(repo, &script(peer, commit), &|_| true, deadline) {
        Ok(out) => Ok(crate::dolt::parse_rows(&out.stdout)?),
        Err(err) => Err(err),
    };
    let rows = match &out {
        Ok(rows) => rows.clone(),
        Err(err) => crate::dolt::parse_rows(&err.stdout).unwrap_or_default(),
    };
    let find = |marker: &str| rows.iter().find(|r| r.contains_key(marker));
    let pending_committed = state::tables_of(find("bd_pending").and_then(|r| r.get("tables")));
    let standing = find("bd_standing");
    if let Err(err) = out {
        if let Some(mismatch) = fetch::remote_mismatch(peer, &err.reason) {
            return Err(mismatch.into());
        }
        if standing.is_none() && !state::has_remote_ref(repo, &peer.tracking_ref())? {
            return Ok(Outcome::NeverFetched { pending_committed });
        }
        migrate::check_standing(&peer.name, standing)?;
        if err.kind == Failure::NotFastForward {
            return Err(explain_refusal(repo, peer, deadline).into());
        }
        return Err(err.into());
    }
    let ahead = number(standing, "ahead");
    let hash = |col: &str| find("bd_pushed").and_then(|r| r.get(col)).and_then(Value::as_str);
    // Truthful: the peer's main must now be ours. An earlier push that was
    // interrupted after the peer took it leaves the tracking ref behind, and
    // dolt, finding the peer up to date, does not move it: only a fetch tells.
    if hash("peer").is_none() || hash("peer") != hash("main") {
        let fresh = fetch::fetch_and_stand(repo, peer, None, &Exclusions::none(), fetch::Then::Fetch, deadline)?;
        if fresh.peer_head.is_none() || fresh.peer_head.as_deref() != hash("main") {
            return Err(peer
                .error("did not take the push", "its main is not this town's main after the push".to_owned())
                .into());
        }
    }
    let moved = ahead > 0;
    Ok(Outcome::Pushed(Pushed {
        pending_committed,
        commits: ahead,
        issues: if moved { state::counts_of(standing, Counted::Out) } else { IssueCounts::default() },
        head: moved.then(|| hash("main").unwrap_or_default().to_owned()),
    }))
}

/// Why the peer refused a fast-forward: fetched now, it has commits this
/// town lacks (or it moved and moved back, and the push can simply be tried again).
fn explain_refusal(repo: &Repo, peer: &Peer, deadline: Instant) -> super::remote::PeerError {
    match fetch::fetch_and_stand(repo, peer, None, &Exclusions::none(), fetch::Then::Fetch, deadline) {
        Ok(standing) if standing.behind > 0 => state::behind_error(peer, standing.behind),
        Ok(_) => peer.race_lost(),
        Err(err) => match err.downcast::<super::remote::PeerError>() {
            Ok(err) => err,
            Err(other) => peer.error("refused the push", format!("{other:#}")).of_kind(Failure::NotFastForward),
        },
    }
}

/// The one script: commit pending changes, check the remote is the
/// configured one, read the standing against the last fetched state, push,
/// read the tracking ref again. The standing read fails when the peer was
/// never fetched, before anything is sent.
fn script(peer: &Peer, commit: Option<(&str, &str)>) -> Sql {
    let tracking = peer.tracking_ref();
    let mut script = fetch::prelude(peer, commit);
    script.push(&sql!("SELECT {};\n", fetch::PENDING));
    let counts = state::counts_query(&format!("{tracking}...main").to_sql(), &Exclusions::none(), Counted::Out);
    script.push(&counts.setup);
    script.push(&migrate::read_versions(&tracking));
    script.push(&sql!(
        "SELECT 1 AS bd_standing, (SELECT COUNT(*) FROM dolt_log({})) AS ahead, {}{};\n",
        format!("{tracking}..main"),
        counts.column,
        migrate::standing_columns(),
    ));
    // Nothing is pushed across a schema this bd does not know.
    script.push(&sql!("{}\n", migrate::guard()));
    script.push(&sql!(
        "CALL DOLT_PUSH({}, 'main');\nSELECT 1 AS bd_pushed, HASHOF({}) AS peer, HASHOF('main') AS main;\n",
        peer.sql_remote_args(),
        tracking
    ));
    script
}

/// Pushes that need the peer's current state: after a pull in a sync, of a
/// filtered lineage (exclusions), or of a sanitized share (T3/T4).
impl Session<'_> {
    pub(super) fn push(
        &self,
        result: &mut PeerResult,
        standing: &state::Standing,
        after_pull: bool,
    ) -> anyhow::Result<()> {
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
    pub(super) fn send(&self, source: &str, standing: &state::Standing) -> anyhow::Result<Option<String>> {
        let repo = self.town.repo();
        self.peer.call(repo, &["push", &self.peer.name, &format!("{source}:main")], self.deadline)?;
        let rows = repo.query(&sql!(
            "SELECT HASHOF({}) AS peer, HASHOF({}) AS sent, HASHOF('main') AS main",
            self.peer.tracking_ref(),
            source
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

    /// Sends a sanitized share to a T3/T4 peer (see [`sanitized`]).
    pub(super) fn push_sanitized(&self, result: &mut PeerResult, standing: &state::Standing) -> anyhow::Result<()> {
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
}
