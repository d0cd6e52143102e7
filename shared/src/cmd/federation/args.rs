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
    /// Time limit per peer, e.g. 30s or 2m (default: federation.timeout).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
}

/// Parses a strategy for clap.
pub(super) fn strategy_arg(s: &str) -> Result<Strategy, String> {
    s.parse()
}

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
