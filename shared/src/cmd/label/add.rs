//! `bd label add`: add labels to an issue. The write is
//! [`Town::add_labels`](crate::tracker::Town::add_labels)'s.

use clap::Args;

use super::Labels;
use crate::context::Context;
use crate::plugin::Command;

/// Add labels to an issue, as one commit.
#[derive(Debug, Args)]
pub struct Add {
    /// The issue's id.
    pub issue: String,
    /// The labels (repeat, or separate with commas).
    #[arg(required = true, value_delimiter = ',')]
    pub labels: Vec<String>,
}

impl Command for Add {
    const NAME: &'static str = "label add";
    const SUMMARY: &'static str = "Add labels to an issue";
    type Output = Labels;

    fn run(self, ctx: &Context) -> anyhow::Result<Labels> {
        let labels = ctx.town()?.add_labels(&self.issue, &self.labels)?;
        Ok(Labels { issue_id: self.issue, labels })
    }
}
