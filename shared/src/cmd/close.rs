//! `bd close`: mark an issue done. Refuses an issue already closed; the
//! change itself is [`Town::edit`](crate::tracker::Town::edit)'s.

use clap::Args;

use crate::context::Context;
use crate::error::UserError;
use crate::plugin::Command;
use crate::tracker::{Edit, Status, Written};

/// Close an issue.
#[derive(Debug, Args)]
pub struct Close {
    /// The issue's id.
    pub id: String,
    /// Why it is closed.
    #[arg(short, long)]
    pub reason: Option<String>,
}

impl Command for Close {
    const NAME: &'static str = "close";
    const SUMMARY: &'static str = "Close an issue";
    type Output = Written;

    fn run(self, ctx: &Context) -> anyhow::Result<Written> {
        let town = ctx.town()?;
        let edit =
            Edit { status: Some(Status::Closed.as_str().to_owned()), close_reason: self.reason, ..Edit::default() };
        let closed = town.edit_if(&self.id, edit, "close", |issue| {
            if issue.status == Status::Closed.as_str() {
                return Err(UserError::failure(format!("issue {} is already closed", issue.id))
                    .with_hint(format!("reopen it with `bd reopen {}`", issue.id)));
            }
            Ok(())
        })?;
        Ok(Written::new("Closed", closed))
    }
}
