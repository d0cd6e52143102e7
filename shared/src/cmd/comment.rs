//! `bd comment`: add a comment to an issue.

use clap::Args;

use crate::clock;
use crate::context::Context;
use crate::plugin::Command;
use crate::tracker::{self, Comment, sql, validate};

/// Add a comment to an issue.
#[derive(Debug, Args)]
pub struct CommentCmd {
    /// The issue's id.
    pub id: String,
    /// The comment's text.
    pub text: String,
}

impl Command for CommentCmd {
    const NAME: &'static str = "comment";
    const SUMMARY: &'static str = "Add a comment to an issue";
    type Output = Comment;

    fn run(self, ctx: &Context) -> anyhow::Result<Comment> {
        validate::fits("comments", "text", "comment", &self.text)?;
        let town = ctx.town()?;
        town.issue(&self.id)?;
        let now = clock::now_sql();
        let comment = Comment {
            id: tracker::row_id(town.prefix()),
            issue_id: self.id,
            author: Some(town.actor().name.clone()),
            text: self.text,
            created_at: clock::sql_to_rfc3339(&now),
        };
        let statements = format!(
            "INSERT INTO comments (id, issue_id, author, text, created_at) VALUES ({id}, {issue}, {author}, {text}, {now});\n\
             INSERT INTO events (id, issue_id, event_type, actor, new_value, created_at) \
             VALUES ({event}, {issue}, 'commented', {author}, {id}, {now});",
            id = sql::lit(&comment.id),
            issue = sql::lit(&comment.issue_id),
            author = sql::opt(comment.author.as_deref()),
            text = sql::lit(&comment.text),
            now = sql::lit(&now),
            event = sql::lit(&tracker::row_id(town.prefix())),
        );
        town.write(&statements, &format!("bd comment {}", comment.issue_id))?;
        Ok(comment)
    }
}
