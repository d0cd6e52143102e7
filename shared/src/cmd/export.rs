//! `bd export`: the town as JSONL. This file picks the destination (the
//! export file, a path, or stdout); the JSONL is [`crate::tracker::jsonl`]'s.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::error::UserError;
use crate::fsutil::Links;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::jsonl;

/// Write every issue, with its labels, comments, dependencies and events, as
/// JSONL (one object per issue, sorted by id) to .beads/issues.jsonl, FILE
/// or stdout.
///
/// A FILE that is a symbolic link is written through (the link stays), and
/// keeps its mode; anything but a regular file is refused.
#[derive(Debug, Args)]
pub struct Export {
    /// Where to write (default: .beads/<export.path>; - for stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What was exported where.
#[derive(Debug, Serialize)]
pub struct Exported {
    /// The file written (`-` for stdout).
    pub path: PathBuf,
    /// Issues written.
    pub issues: usize,
}

impl Report for Exported {
    fn human(&self, style: Style) -> String {
        format!("{} {} issue(s) to {}\n", style.green("Exported"), self.issues, self.path.display())
    }

    fn wrote_stdout(&self) -> bool {
        self.path == Path::new(STDOUT)
    }
}

/// The `--output` that means stdout.
const STDOUT: &str = "-";

impl Command for Export {
    const NAME: &'static str = "export";
    const SUMMARY: &'static str = "Write the town's issues as JSONL";
    type Output = Exported;

    fn run(self, ctx: &Context) -> anyhow::Result<Exported> {
        let town = ctx.town()?;
        match self.output {
            None => Ok(Exported { issues: jsonl::write(&town)?, path: jsonl::path(&town) }),
            Some(path) if path == Path::new(STDOUT) => {
                let (text, issues) = jsonl::export(&town)?;
                ctx.printer().raw(&text);
                Ok(Exported { path, issues })
            }
            Some(path) => {
                let path = ctx.cwd().join(path);
                let (text, issues) = jsonl::export(&town)?;
                // The user named this file: a link to it is theirs to keep.
                crate::fsutil::write_atomic(&path, text.as_bytes(), Links::Follow).map_err(|e| {
                    UserError::failure(format!("cannot write {}: {e}", path.display()))
                        .with_hint("give the path of a regular file, or `-o -` to write to stdout")
                })?;
                Ok(Exported { path, issues })
            }
        }
    }
}
