//! `bd federation log`.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::federation::{self, audit};
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Show the local audit log of shares: when, which peer, what moved.
#[derive(Debug, Args)]
pub struct Log {
    /// Only this peer.
    pub peer: Option<String>,
    /// Show at most this many of the newest entries.
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

/// Audit entries, oldest first (JSON: an array).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Entries(pub Vec<audit::Entry>);

impl Report for Entries {
    fn human(&self, style: Style) -> String {
        if self.0.is_empty() {
            return "No shares recorded yet.\n".to_owned();
        }
        let mut out = String::new();
        for e in &self.0 {
            let what = match &e.error {
                Some(err) => style.red(&format!("failed: {err}")),
                None => format!(
                    "{}; {} commit(s) out, {} in; issues out +{} ~{} -{}, in +{} ~{} -{}",
                    e.status,
                    e.commits_out,
                    e.commits_in,
                    e.issues_out.added,
                    e.issues_out.changed,
                    e.issues_out.removed,
                    e.issues_in.added,
                    e.issues_in.changed,
                    e.issues_in.removed
                ),
            };
            let _ = writeln!(out, "{} {} {:<5} {what}", style.dim(&e.time), style.bold(&e.peer), e.operation);
        }
        out
    }
}

impl Command for Log {
    const NAME: &'static str = "federation log";
    const SUMMARY: &'static str = "Show the audit log of shares with peers";
    type Output = Entries;

    fn run(self, ctx: &Context) -> anyhow::Result<Entries> {
        let town = federation::open(ctx)?;
        let log = audit::Log::new(town.workspace());
        let read = log.read(self.peer.as_deref())?;
        if let Some(warning) = read.warning(log.path()) {
            ctx.printer().warn(&warning);
        }
        let mut entries = read.entries;
        if let Some(limit) = self.limit {
            let skip = entries.len().saturating_sub(limit);
            entries.drain(..skip);
        }
        Ok(Entries(entries))
    }
}
