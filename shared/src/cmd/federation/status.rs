//! `bd federation status`.

use clap::Args;

use super::args::Network;
use crate::config::Key;
use crate::context::Context;
use crate::federation::{self, remote, status::TownStatus};
use crate::plugin::Command;

/// Show where this town stands with a peer (default: every peer).
///
/// Each peer is fetched first, so ahead/behind is fresh; when a peer cannot be
/// reached the last fetched state is shown with its time. Also shows pending
/// local changes, conflicts the next pull would meet, and the last sync.
#[derive(Debug, Args)]
pub struct Status {
    /// The peer (default: every peer).
    pub peer: Option<String>,
    #[command(flatten)]
    network: Network,
}

impl Command for Status {
    const NAME: &'static str = "federation status";
    const SUMMARY: &'static str = "Show ahead/behind, pending changes and last sync per peer";
    type Output = TownStatus;

    fn config_flags(&self) -> Vec<(Key, String)> {
        self.network.config_flags(None)
    }

    fn run(self, ctx: &Context) -> anyhow::Result<TownStatus> {
        let town = federation::open(ctx)?;
        let settings = ctx.federation()?;
        let peers = if self.peer.is_none() && settings.peers.is_empty() {
            Vec::new()
        } else {
            remote::select(&town, settings, self.peer.as_deref(), self.peer.is_none())?
        };
        let excluded = settings.exclude_types.clone();
        federation::status::status(&town, &peers, excluded, &settings.unconfirmed, settings.timeout)
    }
}
