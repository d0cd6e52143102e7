//! Comments on issues: reading them, and adding one as a commit with its
//! `commented` event. The [`Comment`] model itself is in `issue`.

use super::sql::sql;
use super::{Comment, Town, row_id, validate};
use crate::clock;

impl Town {
    /// The comments on an issue, oldest first.
    pub fn comments(&self, id: &str) -> anyhow::Result<Vec<Comment>> {
        let rows = self.repo().query(&sql!(
            "SELECT id, issue_id, author, text, created_at FROM comments WHERE issue_id = {} \
                 ORDER BY created_at, id",
            id
        ))?;
        Ok(rows.iter().map(Comment::from_row).collect())
    }

    /// Adds a comment by the acting person to issue `id` as one commit.
    pub fn add_comment(&self, id: &str, text: &str) -> anyhow::Result<Comment> {
        validate::fits("comments", "text", "comment", text)?;
        // Read under the lock, so a concurrent delete cannot come between.
        let lock = self.lock()?;
        self.issue(id)?;
        let now = clock::now_sql();
        let comment = Comment {
            id: row_id(self.prefix()),
            issue_id: id.to_owned(),
            author: Some(self.actor().name.clone()),
            text: text.to_owned(),
            created_at: clock::sql_to_rfc3339(&now),
        };
        let statements = sql!(
            "INSERT INTO comments (id, issue_id, author, text, created_at) VALUES ({}, {}, {}, {}, {});\n\
             INSERT INTO events (id, issue_id, event_type, actor, new_value, created_at) \
             VALUES ({}, {}, 'commented', {}, {}, {});",
            comment.id,
            comment.issue_id,
            comment.author,
            comment.text,
            now,
            row_id(self.prefix()),
            comment.issue_id,
            comment.author,
            comment.id,
            now
        );
        self.write_locked(&lock, &statements, &format!("bd comment {}", comment.issue_id))?;
        Ok(comment)
    }
}
