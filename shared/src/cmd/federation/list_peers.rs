//! `bd federation list-peers`: the configured peers.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::federation::{self, peers};
use crate::output::{Report, Style};
use crate::plugin::Command;

/// List peers: name, endpoint, dolt URL and effective tier.
#[derive(Debug, Args)]
pub struct ListPeers {}

/// Every peer (JSON: an array, `[]` when there are none).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Peers(pub Vec<peers::PeerInfo>);

impl Report for Peers {
    fn human(&self, style: Style) -> String {
        if self.0.is_empty() {
            return "No peers configured. Add one with `bd federation add-peer <name> <endpoint>`.\n".to_owned();
        }
        let mut out = String::new();
        for p in &self.0 {
            let _ = writeln!(
                out,
                "{}  {}  {}  {}",
                style.bold(&p.name),
                p.endpoint.as_deref().unwrap_or("(no endpoint)"),
                style.dim(p.dolt_url.as_deref().unwrap_or("(dolt remote missing)")),
                p.sovereignty
            );
        }
        out
    }
}

impl Command for ListPeers {
    const NAME: &'static str = "federation list-peers";
    const SUMMARY: &'static str = "List peer towns";
    type Output = Peers;

    fn run(self, ctx: &Context) -> anyhow::Result<Peers> {
        let town = federation::open(ctx)?;
        Ok(Peers(peers::list(&town, ctx.federation()?)?))
    }
}
