//! `bd label list`: one issue's labels, or every label in use. This file
//! owns the rendering; the reads are the town's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use super::Labels;
use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;

/// List an issue's labels, or, without ISSUE, every label in use with how
/// many issues carry it.
#[derive(Debug, Args)]
pub struct List {
    /// The issue's id.
    pub issue: Option<String>,
}

/// One issue's labels, or all labels with their counts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Listed {
    /// `bd label list ISSUE`.
    Issue(Labels),
    /// `bd label list`: label to number of issues.
    All(BTreeMap<String, u64>),
}

impl Report for Listed {
    fn human(&self, style: Style) -> String {
        match self {
            Listed::Issue(labels) => labels.human(style),
            Listed::All(all) if all.is_empty() => "No labels.\n".to_owned(),
            Listed::All(all) => all.iter().fold(String::new(), |mut out, (label, n)| {
                let _ = writeln!(out, "{label}\t{n}");
                out
            }),
        }
    }
}

impl Command for List {
    const NAME: &'static str = "label list";
    const SUMMARY: &'static str = "List an issue's labels, or every label in use";
    type Output = Listed;

    fn run(self, ctx: &Context) -> anyhow::Result<Listed> {
        let town = ctx.town()?;
        Ok(match self.issue {
            Some(id) => Listed::Issue(Labels { labels: town.issue(&id)?.labels, issue_id: id }),
            None => Listed::All(town.all_labels()?),
        })
    }
}
