//! `bd count`: how many issues match. The filters are `bd list`'s; the
//! count is [`Town::count`](crate::tracker::Town::count)'s.

use clap::Args;
use serde::Serialize;

use super::list::Filters;
use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Count issues; the filters are `bd list`'s (closed ones are counted only
/// with --all or --status).
#[derive(Debug, Args)]
pub struct Count {
    /// Which issues.
    #[command(flatten)]
    pub filters: Filters,
}

/// The number of matching issues.
#[derive(Debug, Serialize)]
pub struct Counted {
    /// How many.
    pub count: u64,
}

impl Report for Counted {
    fn human(&self, _style: Style) -> String {
        format!("{}\n", self.count)
    }
}

impl Command for Count {
    const NAME: &'static str = "count";
    const SUMMARY: &'static str = "Count issues";
    type Output = Counted;

    fn run(self, ctx: &Context) -> anyhow::Result<Counted> {
        Ok(Counted { count: ctx.town()?.count(&self.filters.filter())? })
    }
}
