//! `bd ready`: what can be worked on now. The query is
//! [`Town::ready`](crate::tracker::Town::ready)'s.

use clap::Args;

use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::IssueList;

/// List open issues with no open blocker, most urgent and oldest first.
///
/// A blocker is a `blocks` dependency on an issue that is neither closed
/// nor deleted; a blocker from another town counts once it is here.
#[derive(Debug, Args)]
pub struct Ready {
    /// Show at most N issues.
    #[arg(short = 'n', long, value_name = "N")]
    pub limit: Option<usize>,
}

impl Command for Ready {
    const NAME: &'static str = "ready";
    const SUMMARY: &'static str = "List open issues with no open blocker";
    type Output = IssueList;

    fn run(self, ctx: &Context) -> anyhow::Result<IssueList> {
        Ok(IssueList(ctx.town()?.ready(self.limit)?))
    }
}
