//! `bd federation join`: make this town's history and an unrelated peer's one.

use std::time::Instant;

use clap::Args;

use super::args::Network;
use crate::config::{Key, Strategy};
use crate::context::Context;
use crate::federation::{self, join::Joined, remote};
use crate::plugin::Command;

/// Join a peer whose history is unrelated to this town's, losing nothing.
///
/// A town made by another tool or an old build shares no commit with this
/// one, so nothing can be merged. join lays both sides' issues (with their
/// labels, comments, events and dependencies) onto one lineage as a row-level
/// union: rows only one side holds are kept; rows both hold are merged field
/// by field, and a field they hold differently is decided by --strategy
/// (manual stops and lists them, changing nothing). The union stands on the
/// standard lineage every new town has; the side that is not on it moves,
/// and its previous main is kept on a bd/before-join/... branch. Both sides
/// end on the union. --dry-run shows what each side would gain and which
/// side moves.
#[derive(Debug, Args)]
pub struct Join {
    /// The peer.
    pub peer: String,
    /// How to decide fields both sides hold differently: ours, theirs, newest or manual (default: federation.strategy).
    #[arg(long, value_name = "STRATEGY", value_parser = clap::value_parser!(Strategy))]
    pub strategy: Option<Strategy>,
    /// Show what would happen without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    network: Network,
}

impl Command for Join {
    const NAME: &'static str = "federation join";
    const SUMMARY: &'static str = "Join a peer whose history is unrelated, losing nothing";
    type Output = Joined;

    fn config_flags(&self) -> Vec<(Key, String)> {
        self.network.config_flags(self.strategy)
    }

    fn run(self, ctx: &Context) -> anyhow::Result<Joined> {
        let town = federation::open(ctx)?;
        let settings = ctx.federation()?;
        let peer = remote::select(&town, settings, Some(&self.peer), false)?.into_iter().next();
        let peer = peer.ok_or_else(|| anyhow::anyhow!("no peer named '{}'", self.peer))?;
        if let Some(refusal) = federation::unconfirmed_refusal(&settings.unconfirmed, &peer.name, town.workspace()) {
            return Err(refusal.into());
        }
        federation::join::join(&town, &peer, settings.strategy, self.dry_run, Instant::now() + settings.timeout)
    }
}
