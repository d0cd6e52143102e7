//! `bd federation remove-peer`: forget a peer town.

use clap::Args;

use crate::context::Context;
use crate::federation::{self, peers};
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Remove a peer: its dolt remote, its config entry and its stored credentials.
#[derive(Debug, Args)]
pub struct RemovePeer {
    /// The peer's name.
    pub peer: String,
}

impl Report for peers::Removed {
    fn human(&self, style: Style) -> String {
        format!("{} peer '{}'\n", style.green("Removed"), self.name)
    }
}

impl Command for RemovePeer {
    const NAME: &'static str = "federation remove-peer";
    const SUMMARY: &'static str = "Remove a peer town";
    type Output = peers::Removed;

    fn run(self, ctx: &Context) -> anyhow::Result<peers::Removed> {
        let town = federation::open(ctx)?;
        peers::remove(&town, ctx.config(), &self.peer)
    }
}
