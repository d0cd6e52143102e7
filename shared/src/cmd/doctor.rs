//! `bd doctor`: check the town and say how to fix what is wrong.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::doctor::{self, Check, Level};
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Check dolt (and whether it is the pinned build), configuration, tiers and
/// modes, peers and their remotes, schema versions of the town and its peers,
/// unresolved conflicts, changes made outside bd and stale peers; say how to
/// fix each problem.
#[derive(Debug, Args)]
pub struct Doctor {}

/// Every check (exit 1 when any failed).
#[derive(Debug, Serialize)]
pub struct Diagnosis {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report for Diagnosis {
    fn human(&self, style: Style) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = match c.level {
                Level::Ok => style.green("ok  "),
                Level::Warn => style.yellow("warn"),
                Level::Fail => style.red("FAIL"),
            };
            let _ = writeln!(out, "{mark} {:<12}{}", c.name, c.message);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "     {:<12}fix: {fix}", "");
            }
        }
        out
    }

    fn exit_code(&self) -> u8 {
        if self.checks.iter().any(|c| c.level == Level::Fail) {
            crate::error::exit::FAILURE
        } else {
            crate::error::exit::SUCCESS
        }
    }
}

impl Command for Doctor {
    const NAME: &'static str = "doctor";
    const SUMMARY: &'static str = "Check the town and say how to fix problems";
    type Output = Diagnosis;
    const REPORTS_CONFIG_WARNINGS: bool = true;

    fn run(self, ctx: &Context) -> anyhow::Result<Diagnosis> {
        Ok(Diagnosis { checks: doctor::run(ctx) })
    }
}
