//! `bd import`: JSONL into the town.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::error::UserError;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::jsonl;

/// Import issues from JSONL (default: .beads/<export.path>) as one commit.
///
/// New issues are added; an issue already here is replaced only by a newer
/// version (later updated_at), with its labels, comments, dependencies and
/// events. Nothing newer here is overwritten.
#[derive(Debug, Args)]
pub struct Import {
    /// The JSONL file.
    pub file: Option<PathBuf>,
}

/// What an import did.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    /// The file read.
    pub path: PathBuf,
    /// Counts.
    #[serde(flatten)]
    pub counts: jsonl::Imported,
}

impl Report for ImportReport {
    fn human(&self, style: Style) -> String {
        format!(
            "{} {} new, {} changed, {} unchanged from {}\n",
            style.green("Imported"),
            self.counts.added,
            self.counts.changed,
            self.counts.unchanged,
            self.path.display()
        )
    }
}

impl Command for Import {
    const NAME: &'static str = "import";
    const SUMMARY: &'static str = "Import issues from JSONL";
    type Output = ImportReport;

    fn run(self, ctx: &Context) -> anyhow::Result<ImportReport> {
        let town = ctx.town()?;
        let path = self.file.map_or_else(|| jsonl::path(&town), |f| ctx.cwd().join(f));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            UserError::failure(format!("cannot read {}: {e}", path.display()))
                .with_hint("give the JSONL file to import")
        })?;
        let _lock = town.lock()?;
        let counts = jsonl::import(&town, &text, &path.display().to_string())?;
        Ok(ImportReport { path, counts })
    }
}
