//! `bd config get`: one key's effective value.

use clap::Args;

use super::list::Setting;
use crate::context::Context;
use crate::error::UserError;
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Print one key's effective value (exit 1 when it is not set). For
/// dolt.path: the dolt bd runs, found through BD_DOLT, dolt.path, PATH or
/// the pinned build's cache.
#[derive(Debug, Args)]
pub struct Get {
    /// The dotted key, e.g. sync.mode.
    pub key: String,
    /// Also show where the value came from.
    #[arg(long)]
    pub show_origin: bool,
}

/// A value and, on request, its origin.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub struct Got {
    setting: Setting,
    #[serde(skip)]
    show_origin: bool,
}

impl Report for Got {
    fn human(&self, style: Style) -> String {
        if self.show_origin {
            format!("{}\t{}\n", style.dim(&self.setting.origin), self.setting.value)
        } else {
            format!("{}\n", self.setting.value)
        }
    }
}

impl Command for Get {
    const NAME: &'static str = "config get";
    const SUMMARY: &'static str = "Print one configuration value";
    type Output = Got;

    fn run(self, ctx: &Context) -> anyhow::Result<Got> {
        // The dolt bd would run, wherever it was found (BD_DOLT, PATH or the
        // cache are not config layers, yet they answer the question asked).
        if self.key == crate::config::Key::DoltPath.name() {
            let (path, origin) = ctx.dolt_location()?;
            let value = crate::config::Value::Scalar(path.display().to_string());
            return Ok(Got { setting: Setting { key: self.key, value, origin }, show_origin: self.show_origin });
        }
        let entry = ctx.config().entry(&self.key).ok_or_else(|| {
            UserError::failure(format!("{} is not set", crate::error::quoted(&self.key)))
                .with_hint("see `bd config list` for the keys that are")
        })?;
        Ok(Got {
            setting: Setting { key: self.key, value: entry.value.clone(), origin: entry.origin.to_string() },
            show_origin: self.show_origin,
        })
    }
}
