//! `bd label …`: an issue's labels, one file per subcommand, and the report
//! they share; every read and write is the town's ([`crate::tracker::Town`]).

pub mod add;
pub mod list;
pub mod remove;

use serde::Serialize;

use crate::output::{Report, Style};

/// An issue's labels.
#[derive(Debug, Serialize)]
pub struct Labels {
    /// The issue.
    pub issue_id: String,
    /// Its labels, sorted.
    pub labels: Vec<String>,
}

impl Report for Labels {
    fn human(&self, style: Style) -> String {
        if self.labels.is_empty() {
            return format!("{} has no labels\n", style.bold(&self.issue_id));
        }
        format!("{}: {}\n", style.bold(&self.issue_id), self.labels.join(", "))
    }
}
