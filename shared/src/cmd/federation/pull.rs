//! `bd federation pull`.

use clap::Args;

use super::args::Merging;
use crate::config::Key;
use crate::context::Context;
use crate::federation::exchange::{self, Operation};
use crate::federation::{self, remote, report::Exchange};
use crate::plugin::Command;

/// Pull a peer's changes (or --all) and merge them into this town.
///
/// Pending local changes are committed first. The merge is field by field; a
/// field both sides changed is resolved with --strategy (default:
/// federation.strategy); manual stops, changes nothing and lists them.
#[derive(Debug, Args)]
pub struct Pull {
    /// The peer.
    pub peer: Option<String>,
    /// Every configured peer.
    #[arg(long, conflicts_with = "peer")]
    pub all: bool,
    #[command(flatten)]
    merging: Merging,
}

impl Command for Pull {
    const NAME: &'static str = "federation pull";
    const SUMMARY: &'static str = "Receive and merge a peer's issues";
    type Output = Exchange;

    fn config_flags(&self) -> Vec<(Key, String)> {
        self.merging.config_flags()
    }

    fn run(self, ctx: &Context) -> anyhow::Result<Exchange> {
        let town = federation::open(ctx)?;
        let settings = ctx.federation()?;
        let peers = remote::select(&town, settings, self.peer.as_deref(), self.all)?;
        let options = self.merging.options(settings);
        exchange::run(&town, settings, ctx.printer(), &peers, Operation::Pull, &options)
    }
}
