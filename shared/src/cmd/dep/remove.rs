//! `bd dep remove`: drop a dependency. The write is
//! [`Town::remove_dependency`](crate::tracker::Town::remove_dependency)'s.

use clap::Args;

use super::DepChange;
use crate::context::Context;
use crate::plugin::Command;

/// Remove the dependency of ISSUE on DEPENDS_ON, as one commit.
#[derive(Debug, Args)]
pub struct Remove {
    /// The issue that depends.
    pub issue: String,
    /// The issue it depends on.
    pub depends_on: String,
}

impl Command for Remove {
    const NAME: &'static str = "dep remove";
    const SUMMARY: &'static str = "Remove a dependency";
    type Output = DepChange;

    fn run(self, ctx: &Context) -> anyhow::Result<DepChange> {
        let kind = ctx.town()?.remove_dependency(&self.issue, &self.depends_on)?;
        Ok(DepChange { issue_id: self.issue, depends_on_id: self.depends_on, kind, status: "removed" })
    }
}
