//! `bd comment`: add a comment to an issue. The write is
//! [`Town::add_comment`](crate::tracker::Town::add_comment)'s.

use clap::Args;

use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::Comment;

/// Add a comment to an issue.
#[derive(Debug, Args)]
pub struct CommentCmd {
    /// The id.
    pub id: String,
    /// The comment's text.
    pub text: String,
}

impl Command for CommentCmd {
    const NAME: &'static str = "comment";
    const SUMMARY: &'static str = "Add a comment to an issue";
    type Output = Comment;

    fn run(self, ctx: &Context) -> anyhow::Result<Comment> {
        // Refused before the town opens, so the input's fault is named first.
        crate::tracker::validate::fits("comments", "text", "comment", &self.text)?;
        ctx.town()?.add_comment(&self.id, &self.text)
    }
}
