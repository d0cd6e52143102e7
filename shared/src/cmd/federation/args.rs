//! Options shared by the data-moving federation commands. The ones that
//! stand for configuration keys are the resolver's flags layer (see
//! [`crate::plugin::Command::config_flags`]); handlers read the result from
//! the federation settings.

use clap::Args;

use crate::config::{FederationSettings, Key, Strategy};
use crate::federation::exchange::Options;

/// The network bound of a federation command.
#[derive(Debug, Clone, Args)]
pub(super) struct Network {
    /// Time limit per peer, 1ms to 24h, e.g. 30s or 2m (default: federation.timeout).
    #[arg(long, value_name = "DURATION", value_parser = crate::config::Key::parse_timeout_flag)]
    timeout: Option<String>,
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

impl Network {
    /// `--timeout` as `federation.timeout`, with `--strategy` as
    /// `federation.strategy` for the commands that take one.
    pub(super) fn config_flags(&self, strategy: Option<Strategy>) -> Vec<(Key, String)> {
        let timeout = self.timeout.iter().map(|t| (Key::FederationTimeout, t.clone()));
        let strategy = strategy.map(|s| (Key::FederationStrategy, s.as_str().to_owned()));
        timeout.chain(strategy).collect()
    }
}

impl Merging {
    /// This command's flags layer.
    pub(super) fn config_flags(&self) -> Vec<(Key, String)> {
        self.network.config_flags(self.strategy)
    }

    /// The exchange options: `--dry-run`, and the rest from the settings.
    pub(super) fn options(&self, settings: &FederationSettings) -> Options {
        Options::new(settings, self.dry_run)
    }
}
