//! `bd export`: the town as JSONL.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::jsonl;

/// Write every issue, with its labels, comments, dependencies and events, as
/// JSONL (one object per issue, sorted by id) to .beads/issues.jsonl or FILE.
#[derive(Debug, Args)]
pub struct Export {
    /// Where to write (default: .beads/<export.path>).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What was exported where.
#[derive(Debug, Serialize)]
pub struct Exported {
    /// The file written.
    pub path: PathBuf,
    /// Issues written.
    pub issues: usize,
}

impl Report for Exported {
    fn human(&self, style: Style) -> String {
        format!("{} {} issue(s) to {}\n", style.green("Exported"), self.issues, self.path.display())
    }
}

impl Command for Export {
    const NAME: &'static str = "export";
    const SUMMARY: &'static str = "Write the town's issues as JSONL";
    type Output = Exported;

    fn run(self, ctx: &Context) -> anyhow::Result<Exported> {
        let town = ctx.town()?;
        match self.output {
            None => Ok(Exported { issues: jsonl::write(&town)?, path: jsonl::path(&town) }),
            Some(path) => {
                let path = ctx.cwd().join(path);
                let (text, issues) = jsonl::export(&town)?;
                crate::fsutil::write_atomic(&path, text.as_bytes())
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                Ok(Exported { path, issues })
            }
        }
    }
}
