//! `bd stats`: the town in numbers. This file owns the rendering; the
//! counts are [`Town::stats`](crate::tracker::Town::stats)'s.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::Stats;

/// Show how many issues there are per status and type, and how many are
/// ready or blocked (deleted issues left out).
#[derive(Debug, Args)]
pub struct StatsCmd {}

/// The counts.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Shown(pub Stats);

impl Report for Shown {
    fn human(&self, style: Style) -> String {
        let s = &self.0;
        let mut out = format!("{} {}\n", style.bold("Total issues:"), s.total);
        let _ = writeln!(out, "Ready:   {}\nBlocked: {}", s.ready, s.blocked);
        for (heading, counts) in [("By status", &s.by_status), ("By type", &s.by_type)] {
            let _ = writeln!(out, "{heading}:");
            for (name, n) in counts {
                let _ = writeln!(out, "  {name:<14}{n}");
            }
        }
        out
    }
}

impl Command for StatsCmd {
    const NAME: &'static str = "stats";
    const SUMMARY: &'static str = "Show counts per status and type, ready and blocked";
    type Output = Shown;

    fn run(self, ctx: &Context) -> anyhow::Result<Shown> {
        Ok(Shown(ctx.town()?.stats()?))
    }
}
