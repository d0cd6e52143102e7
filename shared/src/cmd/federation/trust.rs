//! `bd federation trust`: confirm, on this machine, changes to where the
//! town's data goes that arrived with the project's files.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::config::trust::{self, Widening};
use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Confirm changes to where this town's data goes that came with the project.
///
/// .beads/config.yaml travels with the project's git repository, so anyone who
/// can commit can change it. A change there that widens where data goes (a new
/// peer, a peer's new endpoint, federation.remote, a lowered tier, wider
/// federation.allowed-remote-patterns) stops every exchange it affects until
/// it is confirmed here. This lists such changes, with git's view of who made
/// them, and confirms them. Changes made with bd config set or add-peer are
/// confirmed as they are made.
#[derive(Debug, Args)]
pub struct Trust {
    /// List the changes without confirming them.
    #[arg(long)]
    pub dry_run: bool,
}

/// What was (or would be) confirmed.
#[derive(Debug, Serialize)]
pub struct Trusted {
    /// The project file.
    pub file: String,
    /// Git's view of who last changed it.
    pub source: Option<String>,
    /// The changes that waited for confirmation.
    pub changes: Vec<Widening>,
    /// Whether they are confirmed now (false with --dry-run).
    pub confirmed: bool,
}

impl Report for Trusted {
    fn human(&self, style: Style) -> String {
        if self.changes.is_empty() {
            return format!("Nothing to confirm: every destination in {} is confirmed on this machine.\n", self.file);
        }
        let verb = if self.confirmed { "Confirmed" } else { "Would confirm (nothing changed)" };
        let mut out = format!("{verb}: changes to {}", self.file);
        if let Some(source) = &self.source {
            let _ = write!(out, " ({source})");
        }
        out.push_str(":\n");
        for w in &self.changes {
            let _ = writeln!(out, "  {}", style.bold(&w.change));
        }
        out
    }
}

impl Command for Trust {
    const NAME: &'static str = "federation trust";
    const SUMMARY: &'static str = "Confirm changes to where data goes that came with the project";
    type Output = Trusted;

    fn run(self, ctx: &Context) -> anyhow::Result<Trusted> {
        let workspace = ctx.workspace()?;
        let file = workspace.project_config();
        let _lock = workspace.lock_for_write(ctx.config().duration(crate::config::Key::LockTimeout)?)?;
        let changes = if self.dry_run {
            trust::unconfirmed(ctx.config(), workspace.beads_dir())
        } else {
            trust::confirm(ctx.config(), workspace.beads_dir())?
        };
        let source = (!changes.is_empty()).then(|| crate::gitrepo::last_change(&file)).flatten();
        Ok(Trusted { file: file.display().to_string(), source, changes, confirmed: !self.dry_run })
    }
}
