//! `bd dep add`: make an issue depend on another. Warns when the other is
//! not here yet; the checks and the write are
//! [`Town::add_dependency`](crate::tracker::Town::add_dependency)'s.

use clap::Args;

use super::DepChange;
use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::{BLOCKS, DEP_TYPES};

/// Record that ISSUE depends on DEPENDS_ON, as one commit.
///
/// With the default type `blocks`, ISSUE is not ready until DEPENDS_ON is
/// closed; a cycle of blocking dependencies is refused, naming it. Other
/// types: parent-child (ISSUE is a child of DEPENDS_ON), related,
/// discovered-from. DEPENDS_ON may be another town's issue not here yet (it
/// counts once it arrives), or another project's capability written as
/// beads writes it, `external:PROJECT:CAPABILITY`.
#[derive(Debug, Args)]
pub struct Add {
    /// The issue that depends.
    pub issue: String,
    /// The issue it depends on (or `external:PROJECT:CAPABILITY`).
    pub depends_on: String,
    /// The dependency's type.
    #[arg(short = 't', long = "type", default_value = BLOCKS,
          value_parser = clap::builder::PossibleValuesParser::new(DEP_TYPES))]
    pub kind: String,
}

impl Command for Add {
    const NAME: &'static str = "dep add";
    const SUMMARY: &'static str = "Make an issue depend on another";
    type Output = DepChange;

    fn run(self, ctx: &Context) -> anyhow::Result<DepChange> {
        let town = ctx.town()?;
        if !town.add_dependency(&self.issue, &self.depends_on, &self.kind)? {
            ctx.printer().warn(&format!(
                "{} is not in this town yet; the dependency counts once it arrives from a peer",
                crate::error::quoted(&self.depends_on)
            ));
        }
        Ok(DepChange { issue_id: self.issue, depends_on_id: self.depends_on, kind: self.kind, status: "added" })
    }
}
