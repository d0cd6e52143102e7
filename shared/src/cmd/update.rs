//! `bd update`: change an issue's fields. This file refuses an empty change
//! and a deletion status; the change itself is
//! [`Town::edit`](crate::tracker::Town::edit)'s.

use clap::Args;

use crate::context::Context;
use crate::error::UserError;
use crate::plugin::Command;
use crate::tracker::{Edit, Written};

/// Change an issue's fields; each call is one commit.
#[derive(Debug, Args)]
pub struct Update {
    /// The issue's id.
    pub id: String,
    /// New status: open, in_progress, blocked, deferred, closed, hooked, pinned, or any other word of
    /// lowercase letters, digits, '_' and '-' (at most 32).
    #[arg(short, long, value_parser = super::status_arg(), hide_possible_values = true)]
    pub status: Option<String>,
    /// New title.
    #[arg(long)]
    pub title: Option<String>,
    /// New assignee ("" clears it).
    #[arg(short, long)]
    pub assignee: Option<String>,
    /// New priority, 0-4.
    #[arg(short, long, value_parser = super::priority_arg)]
    pub priority: Option<i64>,
    /// New description.
    #[arg(short, long)]
    pub description: Option<String>,
    /// New type: bug, feature, task, epic, chore, message, agent, convoy, or any other word of
    /// lowercase letters, digits, '_' and '-' (at most 32).
    #[arg(short = 't', long = "type", value_parser = super::type_arg(), hide_possible_values = true)]
    pub issue_type: Option<String>,
}

impl Command for Update {
    const NAME: &'static str = "update";
    const SUMMARY: &'static str = "Change an issue's status, title, assignee, priority or description";
    type Output = Written;

    fn run(self, ctx: &Context) -> anyhow::Result<Written> {
        let edit = Edit {
            title: self.title,
            status: self.status,
            priority: self.priority,
            assignee: self.assignee,
            description: self.description,
            issue_type: self.issue_type,
            close_reason: None,
        };
        if let Some(status) = &edit.status {
            crate::tracker::settable_status(status)?;
        }
        if edit.is_empty() {
            return Err(UserError::usage("nothing to update: give at least one of --status, --title, --assignee, --priority, --description, --type").into());
        }
        let town = ctx.town()?;
        Ok(Written::new("Updated", town.edit(&self.id, edit, "update")?))
    }
}
