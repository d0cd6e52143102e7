//! `bd list`: issues in this town. This file owns the filter options (also
//! `bd count`'s); the query is [`Town::list`](crate::tracker::Town::list)'s.

use clap::Args;

use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::{Filter, IssueList};

/// Which issues `bd list` and `bd count` take.
#[derive(Debug, Args)]
pub struct Filters {
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
    /// Closed issues too (without --status, closed ones are left out).
    #[arg(long)]
    pub all: bool,
}

impl Filters {
    /// The tracker's filter.
    #[must_use]
    pub fn filter(self) -> Filter {
        Filter {
            status: self.status,
            assignee: self.assignee,
            issue_type: self.issue_type,
            label: self.label,
            closed_too: self.all,
        }
    }
}

/// List issues, most urgent first; closed (and deleted) ones are left out
/// unless asked for with --all or --status.
#[derive(Debug, Args)]
pub struct List {
    /// Which issues.
    #[command(flatten)]
    pub filters: Filters,
    /// Show at most N issues.
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

impl Command for List {
    const NAME: &'static str = "list";
    const SUMMARY: &'static str = "List issues";
    type Output = IssueList;

    fn run(self, ctx: &Context) -> anyhow::Result<IssueList> {
        Ok(IssueList(ctx.town()?.list(&self.filters.filter(), self.limit)?))
    }
}
