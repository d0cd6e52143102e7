//! `bd federation sync`.

use clap::Args;

use super::args::Network;
use crate::config::Strategy;
use crate::context::Context;
use crate::error::UserError;
use crate::federation::exchange::{self, Operation};
use crate::federation::{self, remote, report::Exchange};
use crate::plugin::Command;

/// Sync with a peer (default: every peer): fetch, merge, resolve or stop, push.
///
/// Pending local changes are committed first. Conflicts are resolved with
/// --strategy (default: federation.strategy): ours, theirs, newest (per issue,
/// the later updated_at wins), or manual, which stops, changes nothing and
/// lists the conflicting issues and fields.
#[derive(Debug, Args)]
pub struct Sync {
    /// The peer (default: every peer).
    pub peer: Option<String>,
    /// The peer, as an option.
    #[arg(long = "peer", value_name = "PEER", conflicts_with = "peer")]
    pub peer_option: Option<String>,
    /// Every configured peer (the default when no peer is named).
    #[arg(long, conflicts_with_all = ["peer", "peer_option"])]
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

impl Command for Sync {
    const NAME: &'static str = "federation sync";
    const SUMMARY: &'static str = "Pull, merge and push with peers";
    type Output = Exchange;

    fn run(self, ctx: &Context) -> anyhow::Result<Exchange> {
        let town = federation::open(ctx)?;
        let name = self.peer.or(self.peer_option);
        if name.is_some() && self.all {
            return Err(UserError::usage("give a peer name or --all, not both").into());
        }
        let peers = remote::select(&town, ctx.config(), name.as_deref(), name.is_none())?;
        let options = self.network.options(ctx, self.dry_run, self.strategy)?;
        exchange::run(&town, ctx.config(), ctx.printer(), &peers, Operation::Sync, &options)
    }
}
