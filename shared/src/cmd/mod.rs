//! One file per bundled command: its clap `Args` (whose doc comments are the
//! help text) and its `run`, which returns a report for the printer.

// Doc comments here are command-line help text, written for a terminal, not rustdoc.
#![allow(clippy::doc_markdown)]

pub mod close;
pub mod comment;
pub mod config;
pub mod create;
pub mod federation;
pub mod init;
pub mod list;
pub mod show;
pub mod update;

/// Parses a priority for clap (`0`–`4` or `P0`–`P4`).
fn priority_arg(s: &str) -> Result<i64, String> {
    crate::tracker::parse_priority(s).map_err(|e| e.to_string())
}
