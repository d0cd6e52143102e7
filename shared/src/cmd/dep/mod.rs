//! `bd dep …`: dependencies between issues, one file per subcommand, and
//! the reports they share; every read and write is the town's
//! ([`crate::tracker::Town`]).

pub mod add;
pub mod list;
pub mod remove;
pub mod tree;

use serde::Serialize;

use crate::output::{Report, Style};

/// A dependency just added or removed.
#[derive(Debug, Serialize)]
pub struct DepChange {
    /// The issue that depends.
    pub issue_id: String,
    /// The issue it depends on.
    pub depends_on_id: String,
    /// `blocks`, `parent-child`, `related`, `discovered-from`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `added` or `removed`.
    pub status: &'static str,
}

impl Report for DepChange {
    fn human(&self, style: Style) -> String {
        let verb = if self.status == "added" { "Added" } else { "Removed" };
        format!(
            "{} dependency: {} depends on {} ({})\n",
            style.green(verb),
            style.bold(&self.issue_id),
            style.bold(&self.depends_on_id),
            self.kind
        )
    }
}
