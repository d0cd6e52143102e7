//! Changing an existing issue: one commit, one event per changed field.

use std::fmt::Write as _;

use super::{Issue, Status, Town, row_id, sql};
use crate::clock;
use crate::error::UserError;

/// The fields a user may change; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct Edit {
    /// New title.
    pub title: Option<String>,
    /// New status.
    pub status: Option<Status>,
    /// New priority.
    pub priority: Option<i64>,
    /// New assignee (empty string clears it).
    pub assignee: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New type.
    pub issue_type: Option<String>,
    /// Why it was closed (with `status = closed`).
    pub close_reason: Option<String>,
}

impl Edit {
    /// Whether the edit changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.assignee.is_none()
            && self.description.is_none()
            && self.issue_type.is_none()
            && self.close_reason.is_none()
    }
}

impl Town {
    /// Applies `edit` to issue `id` as one commit; returns the issue as it now is.
    pub fn edit(&self, id: &str, edit: Edit, verb: &str) -> anyhow::Result<Issue> {
        let mut issue = self.issue(id)?;
        let now = clock::now_sql();
        let actor = self.actor().name.clone();
        let mut sets = Vec::new();
        let mut events = String::new();
        let mut changed = Vec::new();
        let mut record = |field: &str, old: Option<&str>, new: Option<&str>| {
            if old == new {
                return false;
            }
            let _ = writeln!(
                events,
                "INSERT INTO events (id, issue_id, event_type, actor, old_value, new_value, comment, created_at) \
                 VALUES ({}, {}, {}, {}, {}, {}, {}, {});",
                sql::lit(&row_id(self.prefix())),
                sql::lit(id),
                sql::lit(if field == "status" && new == Some("closed") {
                    "closed"
                } else {
                    "updated"
                }),
                sql::lit(&actor),
                sql::opt(old),
                sql::opt(new),
                sql::lit(field),
                sql::lit(&now),
            );
            changed.push(field.to_owned());
            true
        };
        if let Some(title) = edit.title
            && record("title", Some(&issue.title), Some(&title))
        {
            sets.push(format!("title = {}", sql::lit(&title)));
            issue.title = title;
        }
        if let Some(description) = edit.description
            && record("description", Some(&issue.description), Some(&description))
        {
            sets.push(format!("description = {}", sql::lit(&description)));
            issue.description = description;
        }
        if let Some(ty) = edit.issue_type
            && record("issue_type", Some(&issue.issue_type), Some(&ty))
        {
            sets.push(format!("issue_type = {}", sql::lit(&ty)));
            issue.issue_type = ty;
        }
        if let Some(priority) = edit.priority
            && record(
                "priority",
                Some(&issue.priority.to_string()),
                Some(&priority.to_string()),
            )
        {
            sets.push(format!("priority = {priority}"));
            issue.priority = priority;
        }
        if let Some(assignee) = edit.assignee {
            let new = Some(assignee.as_str()).filter(|a| !a.is_empty());
            if record("assignee", issue.assignee.as_deref(), new) {
                sets.push(format!("assignee = {}", sql::opt(new)));
                issue.assignee = new.map(str::to_owned);
            }
        }
        if let Some(status) = edit.status
            && record("status", Some(&issue.status), Some(status.as_str()))
        {
            sets.push(format!("status = {}", sql::lit(status.as_str())));
            if status == Status::Closed {
                sets.push(format!("closed_at = {}", sql::lit(&now)));
                issue.closed_at = Some(clock::sql_to_rfc3339(&now));
            } else if issue.status == Status::Closed.as_str() {
                sets.push("closed_at = NULL, close_reason = NULL".to_owned());
                issue.closed_at = None;
                issue.close_reason = None;
            }
            status.as_str().clone_into(&mut issue.status);
        }
        if let Some(reason) = edit.close_reason
            && record("close_reason", issue.close_reason.as_deref(), Some(&reason))
        {
            sets.push(format!("close_reason = {}", sql::lit(&reason)));
            issue.close_reason = Some(reason);
        }
        if sets.is_empty() {
            return Err(UserError::failure(format!(
                "nothing to change: issue {id} already has those values"
            ))
            .into());
        }
        sets.push(format!("updated_at = {}", sql::lit(&now)));
        issue.updated_at = clock::sql_to_rfc3339(&now);
        let statements = format!(
            "UPDATE issues SET {} WHERE id = {};\n{events}",
            sets.join(", "),
            sql::lit(id)
        );
        self.write(
            &statements,
            &format!("bd {verb} {id}: {}", changed.join(", ")),
        )?;
        Ok(issue)
    }
}
