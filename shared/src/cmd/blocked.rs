//! `bd blocked`: what waits for something else. The query is
//! [`Town::blocked`](crate::tracker::Town::blocked)'s; this file owns the
//! listing's rendering.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::Blocked;

/// List issues that are not closed and wait for an open blocker, with their blockers.
#[derive(Debug, Args)]
pub struct BlockedCmd {}

/// The blocked issues (JSON: an array, `[]` when none).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct BlockedList(pub Vec<Blocked>);

impl Report for BlockedList {
    fn human(&self, style: Style) -> String {
        if self.0.is_empty() {
            return "No blocked issues.\n".to_owned();
        }
        let mut out = String::new();
        for b in &self.0 {
            out.push_str(&b.issue.line(style));
            let _ = writeln!(out, "  blocked by: {}", b.blocked_by.join(", "));
        }
        out
    }
}

impl Command for BlockedCmd {
    const NAME: &'static str = "blocked";
    const SUMMARY: &'static str = "List issues waiting for an open blocker";
    type Output = BlockedList;

    fn run(self, ctx: &Context) -> anyhow::Result<BlockedList> {
        Ok(BlockedList(ctx.town()?.blocked()?))
    }
}
