//! `bd create`: record a new issue. This file gathers the fields from the
//! command line; [`Town::create`](crate::tracker::Town::create) checks and
//! writes them.

use clap::Args;

use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::{NewIssue, Written};

/// Create an issue in this town.
#[derive(Debug, Args)]
pub struct Create {
    /// The issue's title.
    pub title: String,
    /// Issue type: bug, feature, task, epic, chore, message, agent, convoy, or any other word of
    /// lowercase letters, digits, '_' and '-' (at most 32).
    #[arg(short = 't', long = "type", default_value = "task", value_parser = super::type_arg(), hide_possible_values = true)]
    pub issue_type: String,
    /// Priority from 0 (most urgent) to 4.
    #[arg(short, long, default_value = "2", value_parser = super::priority_arg)]
    pub priority: i64,
    /// Who works on it.
    #[arg(short, long)]
    pub assignee: Option<String>,
    /// Longer description.
    #[arg(short, long, default_value = "")]
    pub description: String,
    /// A label (repeat, or separate with commas).
    #[arg(short, long = "label", value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Make it a child of this issue (a parent-child dependency).
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
}

impl Command for Create {
    const NAME: &'static str = "create";
    const SUMMARY: &'static str = "Create an issue";
    type Output = Written;

    fn run(self, ctx: &Context) -> anyhow::Result<Written> {
        let new = NewIssue {
            title: self.title,
            issue_type: self.issue_type,
            priority: self.priority,
            assignee: self.assignee,
            description: self.description,
            labels: self.labels,
            parent: self.parent,
        };
        // Refused before the town opens, so the input's fault is named first.
        new.check()?;
        Ok(Written::new("Created", ctx.town()?.create(new)?))
    }
}
