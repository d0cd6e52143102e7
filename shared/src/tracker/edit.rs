//! Changing an existing issue's own fields: one commit, one event per
//! changed field. Labels, dependencies and deletion are `graph`'s; a new
//! issue is `create`'s.

use super::sql::{Sql, sql};
use super::{Issue, Status, Town, row_id, validate};
use crate::clock;
use crate::error::UserError;

/// The fields a user may change; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct Edit {
    /// New title.
    pub title: Option<String>,
    /// New status.
    pub status: Option<String>,
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

    /// Checks every new value against its column before anything runs.
    pub fn check(&self) -> Result<(), UserError> {
        let fields = [
            ("title", "title", &self.title),
            ("description", "description", &self.description),
            ("assignee", "assignee", &self.assignee),
            ("issue_type", "type", &self.issue_type),
            ("status", "status", &self.status),
            ("close_reason", "reason", &self.close_reason),
        ];
        for (column, what, value) in fields {
            if let Some(value) = value {
                validate::fits("issues", column, what, value)?;
            }
        }
        for (what, value) in [("status", &self.status), ("type", &self.issue_type)] {
            if let Some(value) = value {
                validate::word(what, value)?;
            }
        }
        Ok(())
    }
}

/// Collects the SET clauses and event rows of one edit.
struct Changes<'a> {
    town: &'a Town,
    id: &'a str,
    now: String,
    sets: Vec<Sql>,
    events: Sql,
    fields: Vec<&'static str>,
}

impl Changes<'_> {
    /// Records a change of `field` when the value differs; returns whether it did.
    fn record(&mut self, field: &'static str, old: Option<&str>, new: Option<&str>, set: Sql) -> bool {
        if old == new {
            return false;
        }
        let kind = if field == "status" && new == Some(Status::Closed.as_str()) { "closed" } else { "updated" };
        self.events.push(&sql!(
            "INSERT INTO events (id, issue_id, event_type, actor, old_value, new_value, comment, created_at) \
             VALUES ({}, {}, {}, {}, {}, {}, {}, {});\n",
            row_id(self.town.prefix()),
            self.id,
            kind,
            self.town.actor().name,
            old,
            new,
            field,
            self.now,
        ));
        self.sets.push(set);
        self.fields.push(field);
        true
    }
}

impl Town {
    /// Applies `edit` to issue `id` as one commit; returns the issue as it now is.
    pub fn edit(&self, id: &str, edit: Edit, verb: &str) -> anyhow::Result<Issue> {
        self.edit_if(id, edit, verb, |_| Ok(()))
    }

    /// Like [`Town::edit`], once `allowed` accepts the issue as it is
    /// (`bd close` refuses an issue already closed): the issue is read and
    /// judged under the write lock, so no writer changes it in between.
    pub fn edit_if(
        &self,
        id: &str,
        edit: Edit,
        verb: &str,
        allowed: impl FnOnce(&Issue) -> Result<(), UserError>,
    ) -> anyhow::Result<Issue> {
        edit.check()?;
        let lock = self.lock()?;
        let mut issue = self.issue(id)?;
        allowed(&issue)?;
        let mut c = Changes {
            town: self,
            id,
            now: clock::now_sql(),
            sets: Vec::new(),
            events: Sql::default(),
            fields: Vec::new(),
        };
        if let Some(title) = edit.title
            && c.record("title", Some(&issue.title), Some(&title), sql!("title = {}", title))
        {
            issue.title = title;
        }
        if let Some(text) = edit.description
            && c.record("description", Some(&issue.description), Some(&text), sql!("description = {}", text))
        {
            issue.description = text;
        }
        if let Some(ty) = edit.issue_type
            && c.record("issue_type", Some(&issue.issue_type), Some(&ty), sql!("issue_type = {}", ty))
        {
            issue.issue_type = ty;
        }
        if let Some(p) = edit.priority
            && c.record("priority", Some(&issue.priority.to_string()), Some(&p.to_string()), sql!("priority = {}", p))
        {
            issue.priority = p;
        }
        if let Some(assignee) = edit.assignee {
            let new = Some(assignee.as_str()).filter(|a| !a.is_empty());
            if c.record("assignee", issue.assignee.as_deref(), new, sql!("assignee = {}", new)) {
                issue.assignee = new.map(str::to_owned);
            }
        }
        if let Some(status) = edit.status
            && c.record("status", Some(&issue.status), Some(&status), sql!("status = {}", status))
        {
            if status == Status::Closed.as_str() {
                c.sets.push(sql!("closed_at = {}", c.now));
                issue.closed_at = Some(clock::sql_to_rfc3339(&c.now));
            } else if issue.status == Status::Closed.as_str() {
                c.sets.push(Sql::raw("closed_at = NULL, close_reason = NULL"));
                issue.closed_at = None;
                issue.close_reason = None;
            }
            issue.status = status;
        }
        if let Some(reason) = edit.close_reason
            && c.record("close_reason", issue.close_reason.as_deref(), Some(&reason), sql!("close_reason = {}", reason))
        {
            issue.close_reason = Some(reason);
        }
        if c.fields.is_empty() {
            return Err(UserError::failure(format!("nothing to change: issue {id} already has those values")).into());
        }
        c.sets.push(sql!("updated_at = {}", c.now));
        issue.updated_at = clock::sql_to_rfc3339(&c.now);
        let statements = sql!("UPDATE issues SET {} WHERE id = {};\n{}", Sql::join(c.sets, ", "), id, c.events);
        self.write_locked(&lock, &statements, &format!("bd {verb} {id}: {}", c.fields.join(", ")))?;
        Ok(issue)
    }
}
