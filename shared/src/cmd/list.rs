//! `bd list`: issues in this town.

use clap::Args;

use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::{IssueList, sql};

/// List issues, most urgent first.
#[derive(Debug, Args)]
pub struct List {
    /// Only issues with this status (any status; the well-known ones complete).
    #[arg(short, long, value_parser = super::status_arg(), hide_possible_values = true)]
    pub status: Option<String>,
    /// Only issues assigned to this person.
    #[arg(short, long)]
    pub assignee: Option<String>,
    /// Only issues of this type (any type; the well-known ones complete).
    #[arg(short = 't', long = "type", value_parser = super::type_arg(), hide_possible_values = true)]
    pub issue_type: Option<String>,
    /// Only issues carrying this label.
    #[arg(short, long)]
    pub label: Option<String>,
}

impl Command for List {
    const NAME: &'static str = "list";
    const SUMMARY: &'static str = "List issues";
    type Output = IssueList;

    fn run(self, ctx: &Context) -> anyhow::Result<IssueList> {
        let town = ctx.town()?;
        let mut conditions = vec!["1 = 1".to_owned()];
        if let Some(status) = &self.status {
            conditions.push(format!("status = {}", sql::lit(status)));
        }
        if let Some(assignee) = &self.assignee {
            conditions.push(format!("assignee = {}", sql::lit(assignee)));
        }
        if let Some(ty) = &self.issue_type {
            conditions.push(format!("issue_type = {}", sql::lit(ty)));
        }
        if let Some(label) = &self.label {
            conditions.push(format!("id IN (SELECT issue_id FROM labels WHERE label = {})", sql::lit(label)));
        }
        Ok(IssueList(town.issues_where(&conditions.join(" AND "))?))
    }
}
