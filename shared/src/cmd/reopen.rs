//! `bd reopen`: open a closed issue again. Refuses an issue that is not
//! closed; the change itself is [`Town::edit`](crate::tracker::Town::edit)'s.

use clap::Args;

use crate::context::Context;
use crate::error::UserError;
use crate::plugin::Command;
use crate::tracker::{Edit, Status, Written};

/// Reopen a closed issue: its status becomes open and its close time and
/// reason are cleared, as one commit.
#[derive(Debug, Args)]
pub struct Reopen {
    /// The issue's id.
    pub id: String,
}

impl Command for Reopen {
    const NAME: &'static str = "reopen";
    const SUMMARY: &'static str = "Reopen a closed issue";
    type Output = Written;

    fn run(self, ctx: &Context) -> anyhow::Result<Written> {
        let town = ctx.town()?;
        let edit = Edit { status: Some(Status::Open.as_str().to_owned()), ..Edit::default() };
        let reopened = town.edit_if(&self.id, edit, "reopen", |issue| {
            if issue.status != Status::Closed.as_str() {
                return Err(UserError::failure(format!("issue {} is not closed (it is {})", issue.id, issue.status))
                    .with_hint(
                        "only a closed issue can be reopened; change another status with `bd update --status`",
                    ));
            }
            Ok(())
        })?;
        Ok(Written::new("Reopened", reopened))
    }
}
