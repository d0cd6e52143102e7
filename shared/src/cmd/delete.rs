//! `bd delete`: a deletion record that federates. The record is
//! [`Town::delete`](crate::tracker::Town::delete)'s.

use clap::Args;

use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::Written;

/// Delete an issue, as one commit.
///
/// The issue becomes a deletion record (status tombstone, with deleted_at,
/// deleted_by and the reason) that list, show, ready and search no longer
/// show. The record is shared with peers like any change, so the issue is
/// deleted there too, and a peer that still has the old issue cannot bring
/// it back.
#[derive(Debug, Args)]
pub struct Delete {
    /// The issue's id.
    pub id: String,
    /// Why it is deleted.
    #[arg(short, long)]
    pub reason: Option<String>,
}

impl Command for Delete {
    const NAME: &'static str = "delete";
    const SUMMARY: &'static str = "Delete an issue (a deletion record that federates)";
    type Output = Written;

    fn run(self, ctx: &Context) -> anyhow::Result<Written> {
        let issue = ctx.town()?.delete(&self.id, self.reason.as_deref())?;
        Ok(Written::new("Deleted", issue))
    }
}
