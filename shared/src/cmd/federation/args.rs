//! Options shared by the data-moving federation commands.

use std::time::Duration;

use clap::Args;

use crate::config::{Key, Strategy};
use crate::context::Context;
use crate::error::UserError;
use crate::federation::exchange::Options;

/// The network bound of a federation command.
#[derive(Debug, Clone, Args)]
pub(super) struct Network {
    /// Time limit per peer, 1ms to 24h, e.g. 30s or 2m (default: federation.timeout).
    #[arg(long, value_name = "DURATION", value_parser = crate::config::Key::parse_timeout_flag)]
    timeout: Option<Duration>,
}

/// The options of the commands that merge a peer's changes (pull, sync).
#[derive(Debug, Clone, Args)]
pub(super) struct Merging {
    /// How to resolve conflicts: ours, theirs, manual or newest (default: federation.strategy).
    #[arg(long, value_name = "STRATEGY", value_parser = clap::value_parser!(Strategy))]
    strategy: Option<Strategy>,
    /// Show what would move (commits, issues added/changed/removed) without moving it.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    network: Network,
}

impl Merging {
    /// The exchange options these flags ask for.
    pub(super) fn options(&self, ctx: &Context) -> anyhow::Result<Options> {
        self.network.options(ctx, self.dry_run, self.strategy)
    }
}

/// Parses a strategy for clap.
impl Network {
    /// The time bound: the flag, else `federation.timeout`.
    pub(super) fn timeout(&self, ctx: &Context) -> anyhow::Result<Duration> {
        match self.timeout {
            Some(t) => Ok(t),
            None => Ok(ctx.config().duration(Key::FederationTimeout).map_err(|e| UserError::failure(e.to_string()))?),
        }
    }

    /// The exchange options, with the strategy from the flag or config.
    pub(super) fn options(&self, ctx: &Context, dry_run: bool, strategy: Option<Strategy>) -> anyhow::Result<Options> {
        let timeout = self.timeout(ctx)?;
        let strategy = match strategy {
            Some(s) => s,
            None => ctx.config().strategy().map_err(|e| UserError::failure(e.to_string()))?,
        };
        Ok(Options { dry_run, timeout, strategy })
    }
}
