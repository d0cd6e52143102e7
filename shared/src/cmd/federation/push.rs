//! `bd federation push`.

use clap::Args;

use super::args::Network;
use crate::config::Key;
use crate::context::Context;
use crate::federation::exchange::{self, Operation, Options};
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

    fn config_flags(&self) -> Vec<(Key, String)> {
        self.network.config_flags(None)
    }

    fn run(self, ctx: &Context) -> anyhow::Result<Exchange> {
        let town = federation::open(ctx)?;
        let settings = ctx.federation()?;
        let peers = remote::select(&town, settings, self.peer.as_deref(), self.all)?;
        let options = Options::new(settings, self.dry_run);
        exchange::run(&town, settings, ctx.printer(), &peers, Operation::Push, &options)
    }
}
