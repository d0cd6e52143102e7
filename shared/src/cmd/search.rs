//! `bd search`: find issues by text. The query is
//! [`Town::search`](crate::tracker::Town::search)'s.

use clap::Args;

use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::IssueList;

/// List issues whose title, description, notes or comments contain TEXT,
/// ignoring case (closed ones included), most urgent first.
#[derive(Debug, Args)]
pub struct Search {
    /// The text to look for.
    pub text: String,
    /// Show at most N issues.
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

impl Command for Search {
    const NAME: &'static str = "search";
    const SUMMARY: &'static str = "Find issues by text in titles, descriptions, notes and comments";
    type Output = IssueList;

    fn run(self, ctx: &Context) -> anyhow::Result<IssueList> {
        Ok(IssueList(ctx.town()?.search(&self.text, self.limit)?))
    }
}
