//! `bd federation fetch`.

use clap::Args;

use super::args::Network;
use crate::config::Key;
use crate::context::Context;
use crate::federation::exchange::{self, Operation, Options};
use crate::federation::{self, remote, report::Exchange};
use crate::plugin::Command;

/// Fetch a peer's state (or --all) without merging, and report ahead/behind.
#[derive(Debug, Args)]
pub struct Fetch {
    /// The peer.
    pub peer: Option<String>,
    /// Every configured peer.
    #[arg(long, conflicts_with = "peer")]
    pub all: bool,
    #[command(flatten)]
    network: Network,
}

impl Command for Fetch {
    const NAME: &'static str = "federation fetch";
    const SUMMARY: &'static str = "Download a peer's state without merging";
    type Output = Exchange;

    fn config_flags(&self) -> Vec<(Key, String)> {
        self.network.config_flags(None)
    }

    fn run(self, ctx: &Context) -> anyhow::Result<Exchange> {
        let town = federation::open(ctx)?;
        let settings = ctx.federation()?;
        let peers = remote::select(&town, settings, self.peer.as_deref(), self.all)?;
        let options = Options::new(settings, false);
        exchange::run(&town, settings, ctx.printer(), &peers, Operation::Fetch, &options)
    }
}
