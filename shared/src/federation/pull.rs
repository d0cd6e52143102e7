//! `pull` from a peer: the trust boundary's checks, the field-level merge
//! plan, and the merge itself in one transaction. A T3/T4 peer's history is
//! never merged: only other towns' issues are copied in ([`super::sanitized`]).

use super::exchange::Session;
use super::fetch;
use super::merge;
use super::outgoing::Exclusions;
use super::report::{IssueCounts, PeerResult, Status};
use super::sanitized;
use super::state::{self, Counted};
use crate::config::{Strategy, Tier};
use crate::tracker::sql::{Sql, sql};

impl Session<'_> {
    pub(super) fn pull(&self, result: &mut PeerResult, standing: &state::Standing) -> anyhow::Result<()> {
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
        // (a dry run shows the refusal the real run would meet), unless the
        // fetch script checked it already.
        let checked = if standing.trusted { Ok(()) } else { repo.execute(&super::guard::checks(&tracking)).map(drop) };
        if let Err(err) = checked {
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

    /// Merges the peer's main into ours in one transaction, resolving
    /// conflicts field by field as `plan` says; returns the new main and the
    /// issues the merge really changed here.
    pub(super) fn merge(&self, tracking: &str, plan: &merge::Plan) -> anyhow::Result<(Option<String>, IssueCounts)> {
        let author = self.town.actor().signature();
        let mut script = sql!(
            "SET autocommit = 0;\nSET @bd_before = HASHOF('main');\nCALL DOLT_MERGE('--author', {}, '-m', {}, {});\n",
            author,
            fetch::merge_message(self.peer),
            tracking
        );
        if !plan.is_empty() {
            script.push(&plan.statements);
            script.push(&plan.clear_conflicts());
            // Only fields both sides changed were decided by the strategy.
            let message = if plan.conflicts.is_empty() {
                fetch::merge_message(self.peer)
            } else {
                format!("Resolve conflicts from {} using {} strategy", self.peer.name, self.options.strategy)
            };
            script.push(&sql!("CALL DOLT_COMMIT('-A', '-m', {}, '--author', {});\n", message, author));
        }
        let counts = state::counts_query(&Sql::raw("@bd_before, 'main'"), &Exclusions::none(), Counted::In);
        script.push(&sql!(
            "COMMIT;\n{}SELECT 1 AS bd_done, HASHOF('main') AS bd_head, {};\n",
            counts.setup,
            counts.column
        ));
        // A merge that meets conflicts the plan did not resolve cannot
        // commit: the transaction rolls back and nothing changes.
        let rows = self.town.repo().query(&script).map_err(|err| {
            if err.stderr().is_some_and(|e| e.contains("conflict")) {
                anyhow::anyhow!(
                    "the merge from peer '{}' found conflicts the preview did not; nothing was changed, try again",
                    self.peer.name
                )
            } else {
                err.into()
            }
        })?;
        let done = rows.iter().find(|r| r.contains_key("bd_done"));
        let head = done.and_then(|r| r.get("bd_head")).and_then(serde_json::Value::as_str).map(str::to_owned);
        Ok((head, state::counts_of(done, Counted::In)))
    }
}
