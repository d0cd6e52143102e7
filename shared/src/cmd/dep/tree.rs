//! `bd dep tree`: everything an issue waits for, as a tree. This file owns
//! the drawing; the walk is [`Town::tree`](crate::tracker::Town::tree)'s.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::TreeNode;

/// Show the tree of what an issue depends on, each issue expanded once.
#[derive(Debug, Args)]
pub struct Tree {
    /// The issue's id.
    pub issue: String,
}

/// The tree, depth first (JSON: an array of nodes with their depth).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct DepTree(pub Vec<TreeNode>);

impl Report for DepTree {
    fn human(&self, style: Style) -> String {
        let mut out = String::new();
        for n in &self.0 {
            let kind = n.kind.as_deref().map(|k| format!("[{k}] ")).unwrap_or_default();
            let what = match (&n.status, &n.title) {
                (Some(status), Some(title)) => format!("{status} - {title}"),
                _ => "(not in this town)".to_owned(),
            };
            let again = if n.repeated { " (shown above)" } else { "" };
            let _ = writeln!(out, "{}{kind}{} {what}{again}", "  ".repeat(n.depth), style.bold(&n.id));
        }
        out
    }
}

impl Command for Tree {
    const NAME: &'static str = "dep tree";
    const SUMMARY: &'static str = "Show the tree of an issue's dependencies";
    type Output = DepTree;

    fn run(self, ctx: &Context) -> anyhow::Result<DepTree> {
        Ok(DepTree(ctx.town()?.tree(&self.issue)?))
    }
}
