//! `bd config list`: every effective key.

use std::fmt::Write as _;

use clap::Args;
use serde::Serialize;

use crate::config::Value;
use crate::context::Context;
use crate::output::{Report, Style};
use crate::plugin::Command;

/// List every effective configuration key as `key = value`.
#[derive(Debug, Args)]
pub struct List {
    /// Also show where each value came from (file, env:VAR or default).
    #[arg(long)]
    pub show_origin: bool,
}

/// One effective setting.
#[derive(Debug, Serialize)]
pub struct Setting {
    /// The dotted key.
    pub key: String,
    /// Its value (a string, or an array for lists).
    pub value: Value,
    /// Where it came from.
    pub origin: String,
}

/// Every effective setting.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Settings {
    settings: Vec<Setting>,
    #[serde(skip)]
    show_origin: bool,
}

impl Report for Settings {
    fn human(&self, style: Style) -> String {
        let mut out = String::new();
        for s in &self.settings {
            if self.show_origin {
                let _ = write!(out, "{}\t", style.dim(&s.origin));
            }
            let _ = writeln!(out, "{} = {}", s.key, s.value);
        }
        out
    }
}

impl Command for List {
    const NAME: &'static str = "config list";
    const SUMMARY: &'static str = "List every effective configuration key";
    type Output = Settings;

    fn run(self, ctx: &Context) -> anyhow::Result<Settings> {
        let settings = ctx
            .config()
            .entries()
            .map(|(key, entry)| Setting {
                key: key.to_owned(),
                value: entry.value.clone(),
                origin: entry.origin.to_string(),
            })
            .collect();
        Ok(Settings { settings, show_origin: self.show_origin })
    }
}
