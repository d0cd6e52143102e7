//! `sync` with a peer: a pull, then a push, after the one dolt script that
//! fetches (and, in the usual case, merges and pushes too). A sync whose
//! push another town beat keeps its merge and goes again — fetch, merge,
//! push — after a jittered wait, while its time bound allows.

use std::time::{Duration, Instant};

use super::exchange::{Operation, Session};
use super::remote::PeerError;
use super::report::{PeerResult, Status};
use super::state;
use crate::dolt::Failure;

/// The first wait before a sync that lost a push race tries again; each
/// further wait doubles, up to [`RACE_BACKOFF_MAX`], all jittered so that
/// towns that collided once do not collide again in step.
const RACE_BACKOFF: Duration = Duration::from_millis(100);
const RACE_BACKOFF_MAX: Duration = Duration::from_secs(2);

/// One run of an operation: done, or a sync whose push another town's
/// push beat after the merge (the merge stands; the sync can go again).
pub(super) enum Round {
    Done(PeerResult),
    RaceLost(PeerResult),
}

/// `base` scaled by a random factor between one half and one and a half.
fn jittered(base: Duration) -> Duration {
    let mut byte = [0u8; 1];
    // Without system randomness the wait is simply `base`.
    let _ = getrandom::fill(&mut byte);
    base / 2 + base * u32::from(byte[0]) / 255
}

impl Session<'_> {
    /// Runs `operation`. A sync that loses a push race fetches, merges and
    /// pushes again, with jittered backoff, while its time bound allows.
    pub(super) fn run(&self, operation: Operation) -> anyhow::Result<PeerResult> {
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

    /// A sync after the script that fetched (and, in the usual case, merged
    /// and pushed): finishes the pull, then the push.
    pub(super) fn sync(&self, mut result: PeerResult, standing: state::Standing) -> anyhow::Result<Round> {
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
}
