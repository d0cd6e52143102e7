//! `bd show`: one issue with its comments. This file owns the rendering;
//! the reads are the town's.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::{Comment, Issue};

/// Show an issue with its labels and comments.
#[derive(Debug, Args)]
pub struct Show {
    /// The issue's id.
    pub id: String,
}

/// An issue and its comments.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The issue's fields.
    #[serde(flatten)]
    pub issue: Issue,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
}

impl Report for Shown {
    fn human(&self, style: Style) -> String {
        let mut out = self.issue.details(style);
        if !self.comments.is_empty() {
            out.push_str("\nComments:\n");
            for c in &self.comments {
                let _ = writeln!(
                    out,
                    "  {} {}:\n    {}",
                    style.dim(&c.created_at),
                    c.author.as_deref().unwrap_or("?"),
                    c.text.replace('\n', "\n    ")
                );
            }
        }
        out
    }
}

impl Command for Show {
    const NAME: &'static str = "show";
    const SUMMARY: &'static str = "Show an issue";
    type Output = Shown;

    fn run(self, ctx: &Context) -> anyhow::Result<Shown> {
        let town = ctx.town()?;
        let issue = town.issue(&self.id)?;
        let comments = town.comments(&self.id)?;
        Ok(Shown { issue, comments })
    }
}
