//! `bd sync`: sync the way `sync.mode` says.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::backup::{self, Backup};
use crate::config::{Key, SyncMode};
use crate::context::Context;
use crate::error::UserError;
use crate::federation::exchange::{self, Operation, Options};
use crate::federation::{remote, report::Exchange};
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Sync this town the way sync.mode says.
///
/// git-portable and realtime: import what a git pull brought into
/// .beads/issues.jsonl, export the database to it and commit it to the
/// project's git repository. dolt-native: pull from and push to
/// federation.remote. belt-and-suspenders: both.
#[derive(Debug, Args)]
pub struct Sync {
    /// Time limit for the remote, 1ms to 24h, e.g. 30s (default: federation.timeout).
    #[arg(long, value_name = "DURATION", value_parser = crate::config::Key::parse_timeout_flag)]
    pub timeout: Option<String>,
}

/// What `bd sync` did.
#[derive(Debug, Serialize)]
pub struct Synced {
    /// The sync mode.
    pub mode: SyncMode,
    /// The JSONL round, in modes that keep one.
    pub jsonl: Option<Backup>,
    /// The exchange with `federation.remote`, in Dolt modes.
    pub remote: Option<Exchange>,
}

impl Report for Synced {
    fn human(&self, style: Style) -> String {
        let mut out = String::new();
        if let Some(remote) = &self.remote {
            out.push_str(&remote.human(style));
        }
        if let Some(b) = &self.jsonl {
            let _ = writeln!(
                out,
                "JSONL: imported {} new, {} changed; exported {} issue(s); {}",
                b.imported.added,
                b.imported.changed,
                b.exported,
                b.git_commit.as_deref().map_or_else(
                    || "git already up to date".to_owned(),
                    |c| format!("git commit {}", &c[..c.len().min(12)])
                )
            );
        }
        out
    }

    fn errors(&self) -> Vec<String> {
        self.remote.as_ref().map(Report::errors).unwrap_or_default()
    }

    fn exit_code(&self) -> u8 {
        self.remote.as_ref().map_or(crate::error::exit::SUCCESS, Report::exit_code)
    }
}

impl Command for Sync {
    const NAME: &'static str = "sync";
    const SUMMARY: &'static str = "Sync the way sync.mode says (git JSONL, Dolt remote, or both)";
    type Output = Synced;

    fn config_flags(&self) -> Vec<(Key, String)> {
        self.timeout.iter().map(|t| (Key::FederationTimeout, t.clone())).collect()
    }

    fn run(self, ctx: &Context) -> anyhow::Result<Synced> {
        let mode = ctx.config().sync_mode().map_err(|e| UserError::failure(e.to_string()))?;
        let town = ctx.town()?;
        // What a `git pull` brought comes in before the remote exchange, so
        // the exchange shares it too.
        let imported = if mode == SyncMode::BeltAndSuspenders {
            let _lock = town.lock()?;
            Some(backup::import(&town)?)
        } else {
            None
        };
        let mut remote = if matches!(mode, SyncMode::DoltNative | SyncMode::BeltAndSuspenders) {
            let settings = ctx.federation()?;
            let peer = remote::primary(&town, settings)?;
            let options = Options::new(settings, false);
            Some(exchange::run(&town, settings, ctx.printer(), &[peer], Operation::Sync, &options)?)
        } else {
            None
        };
        let jsonl = match (mode, imported) {
            (SyncMode::GitPortable | SyncMode::Realtime, _) => {
                let _lock = town.lock()?;
                Some(backup::run(&town)?)
            }
            // In belt-and-suspenders the exchange refreshed the backup after
            // the import above.
            (_, Some(imported)) => remote.as_mut().and_then(|r| r.jsonl.take()).map(|b| Backup { imported, ..b }),
            _ => None,
        };
        Ok(Synced { mode, jsonl, remote })
    }
}
