//! `bd federation sync`.

use clap::Args;

use super::args::Merging;
use crate::config::Key;
use crate::context::Context;
use crate::federation::exchange::{self, Operation};
use crate::federation::{self, remote, report::Exchange};
use crate::plugin::Command;

/// Sync with a peer (default: every peer): fetch, merge, resolve or stop, push.
///
/// Pending local changes are committed first. The merge is field by field:
/// changes to different fields of one issue both survive. A field both sides
/// changed is resolved with --strategy (default: federation.strategy): ours,
/// theirs, newest (the side that changed that field last), or manual, which
/// stops, changes nothing and lists each such field with both values.
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
    #[command(flatten)]
    merging: Merging,
}

impl Command for Sync {
    const NAME: &'static str = "federation sync";
    const SUMMARY: &'static str = "Pull, merge and push with peers";
    type Output = Exchange;

    fn config_flags(&self) -> Vec<(Key, String)> {
        self.merging.config_flags()
    }

    fn run(self, ctx: &Context) -> anyhow::Result<Exchange> {
        let town = federation::open(ctx)?;
        let settings = ctx.federation()?;
        let name = self.peer.or(self.peer_option);
        // clap already refuses a name together with --all; no name means every peer.
        let peers = remote::select(&town, settings, name.as_deref(), name.is_none())?;
        let options = self.merging.options(settings);
        exchange::run(&town, settings, ctx.printer(), &peers, Operation::Sync, &options)
    }
}
