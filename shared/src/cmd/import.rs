//! `bd import`: JSONL into the town. This file reads the file (or stdin)
//! and holds the write lock; checking and planning the lines is
//! [`crate::tracker::jsonl`]'s.

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
/// Reads what bd export and upstream beads write (its export and its
/// .beads/issues.jsonl). New issues are added; an issue already here is
/// replaced only by a newer version (later updated_at), with its labels,
/// comments, dependencies and events. Nothing newer here is overwritten.
///
/// Records of another _type are counted and skipped; the counts upstream
/// derives (dependency_count, dependent_count, comment_count) are ignored;
/// parent becomes a parent-child dependency; fields bd has no column for are
/// kept in the metadata, and bd export writes them back.
#[derive(Debug, Args)]
pub struct Import {
    /// The JSONL file (a regular file of at most 256 MiB), or - for stdin.
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
        format!("{} from {}: {}\n", style.green("Imported"), self.path.display(), self.counts.summary())
    }
}

impl Command for Import {
    const NAME: &'static str = "import";
    const SUMMARY: &'static str = "Import issues from JSONL";
    type Output = ImportReport;

    fn run(self, ctx: &Context) -> anyhow::Result<ImportReport> {
        let town = ctx.town()?;
        let (text, path) = match self.file {
            Some(file) if file == std::path::Path::new(STDIN) => (read(std::io::stdin().lock(), "stdin")?, file),
            file => {
                let path = file.map_or_else(|| jsonl::path(&town), |f| ctx.cwd().join(f));
                (read_file(&path)?, path)
            }
        };
        let _lock = town.lock()?;
        let counts = jsonl::import(&town, &text, &path.display().to_string())?;
        Ok(ImportReport { path, counts })
    }
}

/// The file name that means stdin.
const STDIN: &str = "-";

/// The largest JSONL input read: far beyond any town (a million issues of
/// a few hundred bytes each), small enough to hold in memory.
pub const MAX_IMPORT_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a JSONL file: a regular file only (a device such as `/dev/zero`, a
/// FIFO or a directory would block or never end), of at most
/// [`MAX_IMPORT_BYTES`].
fn read_file(path: &std::path::Path) -> anyhow::Result<String> {
    let shown = crate::error::quoted(&path.display().to_string());
    let cannot = |e: std::io::Error| {
        UserError::failure(format!("cannot read {shown}: {e}")).with_hint("give the JSONL file to import")
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let metadata = file.metadata().map_err(cannot)?;
    if !metadata.is_file() {
        return Err(UserError::usage(format!(
            "cannot import {shown}: it is not a regular file (a device, a pipe or a directory)"
        ))
        .with_hint("give a JSONL file, or `-` to read from stdin")
        .into());
    }
    read(file, &shown)
}

/// Reads JSONL text from `reader`, at most [`MAX_IMPORT_BYTES`] of it.
fn read(reader: impl std::io::Read, shown: &str) -> anyhow::Result<String> {
    let too_large = || {
        UserError::usage(format!(
            "cannot import {shown}: it holds more than {MAX_IMPORT_BYTES} bytes, the most bd imports at once"
        ))
        .with_hint("split the file, or check that it is the JSONL export you meant")
    };
    let bytes = crate::fsutil::read_limited(reader, MAX_IMPORT_BYTES)
        .map_err(|e| UserError::failure(format!("cannot read {shown}: {e}")))?
        .ok_or_else(too_large)?;
    String::from_utf8(bytes)
        .map_err(|e| UserError::usage(format!("cannot import {shown}: it is not UTF-8 text ({e})")).into())
}
