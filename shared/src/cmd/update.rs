//! `bd update`: change an issue's fields.

use clap::Args;

use crate::context::Context;
use crate::error::UserError;
use crate::plugin::Command;
use crate::tracker::{Edit, IssueType, Status, Written};

/// Change an issue's fields; each call is one commit.
#[derive(Debug, Args)]
pub struct Update {
    /// The issue's id.
    pub id: String,
    /// New status.
    #[arg(short, long, value_parser = clap::builder::PossibleValuesParser::new(Status::NAMES))]
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
    /// New type.
    #[arg(short = 't', long = "type", value_parser = clap::builder::PossibleValuesParser::new(IssueType::NAMES))]
    pub issue_type: Option<String>,
}

impl Command for Update {
    const NAME: &'static str = "update";
    const SUMMARY: &'static str = "Change an issue's status, title, assignee, priority or description";
    type Output = Written;

    fn run(self, ctx: &Context) -> anyhow::Result<Written> {
        let edit = Edit {
            title: self.title,
            status: self.status.map(|s| s.parse()).transpose()?,
            priority: self.priority,
            assignee: self.assignee,
            description: self.description,
            issue_type: self.issue_type,
            close_reason: None,
        };
        if edit.is_empty() {
            return Err(UserError::usage("nothing to update: give at least one of --status, --title, --assignee, --priority, --description, --type").into());
        }
        let town = ctx.town()?;
        Ok(Written::new("Updated", town.edit(&self.id, edit, "update")?))
    }
}
