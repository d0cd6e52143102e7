//! `bd federation pull`.

use clap::Args;

use super::args::Network;
use crate::config::Strategy;
use crate::context::Context;
use crate::federation::exchange::{self, Operation};
use crate::federation::{self, remote, report::Exchange};
use crate::plugin::Command;

/// Pull a peer's changes (or --all) and merge them into this town.
///
/// Pending local changes are committed first. Conflicts are resolved with --strategy
/// (default: federation.strategy); manual stops, changes nothing and lists them.
#[derive(Debug, Args)]
pub struct Pull {
    /// The peer.
    pub peer: Option<String>,
    /// Every configured peer.
    #[arg(long, conflicts_with = "peer")]
    pub all: bool,
    /// How to resolve conflicts: ours, theirs, manual or newest (default: federation.strategy).
    #[arg(long, value_name = "STRATEGY", value_parser = super::args::strategy_arg)]
    pub strategy: Option<Strategy>,
    /// Show what would move (commits, issues added/changed/removed) without moving it.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    network: Network,
}

impl Command for Pull {
    const NAME: &'static str = "federation pull";
    const SUMMARY: &'static str = "Receive and merge a peer's issues";
    type Output = Exchange;

    fn run(self, ctx: &Context) -> anyhow::Result<Exchange> {
        let town = federation::open(ctx)?;
        let peers = remote::select(&town, ctx.config(), self.peer.as_deref(), self.all)?;
        let options = self.network.options(ctx, self.dry_run, self.strategy)?;
        exchange::run(&town, ctx.config(), ctx.printer(), &peers, Operation::Pull, &options)
    }
}
