//! `bd federation push`.

use clap::Args;

use super::args::Network;
use crate::context::Context;
use crate::federation::exchange::{self, Operation};
use crate::federation::{self, remote, report::Exchange};
use crate::plugin::Command;

/// Push this town's changes to a peer (or --all).
///
/// Only fast-forwards: when the peer has commits this town lacks, run `bd federation sync`.
/// Issue types in federation.exclude_types never leave the town, not even in history.
#[derive(Debug, Args)]
pub struct Push {
    /// The peer.
    pub peer: Option<String>,
    /// Every configured peer.
    #[arg(long, conflicts_with = "peer")]
    pub all: bool,
    /// Show what would move (commits, issues added/changed/removed) without moving it.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    network: Network,
}

impl Command for Push {
    const NAME: &'static str = "federation push";
    const SUMMARY: &'static str = "Send this town's issues to a peer";
    type Output = Exchange;

    fn run(self, ctx: &Context) -> anyhow::Result<Exchange> {
        let town = federation::open(ctx)?;
        let peers = remote::select(&town, ctx.config(), self.peer.as_deref(), self.all)?;
        let options = self.network.options(ctx, self.dry_run, None)?;
        exchange::run(&town, ctx.config(), ctx.printer(), &peers, Operation::Push, &options)
    }
}
