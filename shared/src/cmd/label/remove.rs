//! `bd label remove`: remove labels from an issue. The write is
//! [`Town::remove_labels`](crate::tracker::Town::remove_labels)'s.

use clap::Args;

use super::Labels;
use crate::context::Context;
use crate::plugin::Command;

/// Remove labels from an issue, as one commit.
#[derive(Debug, Args)]
pub struct Remove {
    /// The issue's id.
    pub issue: String,
    /// The labels (repeat, or separate with commas).
    #[arg(required = true, value_delimiter = ',')]
    pub labels: Vec<String>,
}

impl Command for Remove {
    const NAME: &'static str = "label remove";
    const SUMMARY: &'static str = "Remove labels from an issue";
    type Output = Labels;

    fn run(self, ctx: &Context) -> anyhow::Result<Labels> {
        let labels = ctx.town()?.remove_labels(&self.issue, &self.labels)?;
        Ok(Labels { issue_id: self.issue, labels })
    }
}
