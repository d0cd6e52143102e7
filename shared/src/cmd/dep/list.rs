//! `bd dep list`: an issue's dependencies both ways. This file owns the
//! rendering; the read is [`Town::links`](crate::tracker::Town::links)'s.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::Link;

/// List what an issue depends on and what depends on it.
#[derive(Debug, Args)]
pub struct List {
    /// The issue's id.
    pub issue: String,
}

/// Both directions of an issue's dependencies.
#[derive(Debug, Serialize)]
pub struct Links {
    /// The issue.
    pub issue_id: String,
    /// What it depends on.
    pub depends_on: Vec<Link>,
    /// What depends on it.
    pub dependents: Vec<Link>,
}

fn lines(out: &mut String, heading: &str, links: &[Link], style: Style) {
    let _ = writeln!(out, "{heading}:");
    if links.is_empty() {
        out.push_str("  (none)\n");
    }
    for l in links {
        let what = match (&l.status, &l.title) {
            (Some(status), Some(title)) => format!("{status} - {title}"),
            _ => "(not in this town)".to_owned(),
        };
        let _ = writeln!(out, "  {} [{}] {what}", style.bold(&l.id), l.kind);
    }
}

impl Report for Links {
    fn human(&self, style: Style) -> String {
        let mut out = String::new();
        lines(&mut out, &format!("{} depends on", self.issue_id), &self.depends_on, style);
        lines(&mut out, &format!("Depending on {}", self.issue_id), &self.dependents, style);
        out
    }
}

impl Command for List {
    const NAME: &'static str = "dep list";
    const SUMMARY: &'static str = "List an issue's dependencies and dependents";
    type Output = Links;

    fn run(self, ctx: &Context) -> anyhow::Result<Links> {
        let (depends_on, dependents) = ctx.town()?.links(&self.issue)?;
        Ok(Links { issue_id: self.issue, depends_on, dependents })
    }
}
