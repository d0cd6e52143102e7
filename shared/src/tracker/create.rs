//! Recording a new issue: its row, its labels, its `created` event and,
//! for a child, the parent-child dependency, as one commit.
//!
//! The id is made here ([`super::issue_id`]); the command line (`bd
//! create`) only gathers the fields.

use super::sql::{Sql, sql};
use super::{Issue, Status, Town, row_id, validate};
use crate::clock;
use crate::config::Key;
use crate::error::UserError;

/// The fields of an issue to record.
#[derive(Debug, Clone)]
pub struct NewIssue {
    /// The title.
    pub title: String,
    /// The type (any word of [`validate::WORD_RULE`]).
    pub issue_type: String,
    /// 0 (most urgent) to 4.
    pub priority: i64,
    /// Who works on it.
    pub assignee: Option<String>,
    /// Free text.
    pub description: String,
    /// Labels as given: trimmed, and the empty ones and repeats dropped.
    pub labels: Vec<String>,
    /// The issue it is a child of.
    pub parent: Option<String>,
}

impl NewIssue {
    /// Checks every value against its column: too long a value is refused
    /// by name, never as a failed SQL statement.
    pub fn check(&self) -> Result<(), UserError> {
        validate::fits("issues", "title", "title", &self.title)?;
        validate::fits("issues", "description", "description", &self.description)?;
        validate::fits("issues", "issue_type", "type", &self.issue_type)?;
        if let Some(assignee) = &self.assignee {
            validate::fits("issues", "assignee", "assignee", assignee)?;
        }
        for label in &self.labels {
            validate::fits("labels", "label", "label", label.trim())?;
        }
        Ok(())
    }
}

impl Town {
    /// Records `new` as one commit and returns the issue as stored. A
    /// parent must be here (and not deleted).
    pub fn create(&self, new: NewIssue) -> anyhow::Result<Issue> {
        new.check()?;
        // A prefix edited into a file by hand meets the rule before any id carries it.
        Key::TownPrefix.validate(self.prefix()).map_err(|e| {
            UserError::failure(e.to_string()).with_hint("fix it with `bd config set town.prefix PREFIX`")
        })?;
        let lock = self.lock()?;
        if let Some(parent) = &new.parent {
            self.issue(parent)?;
        }
        let id = super::issue_id(self.prefix());
        let now = clock::now_sql();
        let actor = self.actor().name.clone();
        let mut labels: Vec<String> =
            new.labels.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
        labels.sort();
        labels.dedup();
        let mut statements = sql!(
            "INSERT INTO issues (id, title, description, design, acceptance_criteria, notes, status, priority, \
             issue_type, assignee, created_at, created_by, updated_at, source_system) VALUES \
             ({}, {}, {}, '', '', '', {}, {}, {}, {}, {}, {}, {}, {});\n",
            id,
            new.title,
            new.description,
            Status::Open.as_str(),
            new.priority,
            new.issue_type,
            new.assignee,
            now,
            actor,
            now,
            self.source_system()
        );
        for label in &labels {
            statements.push(&sql!("INSERT INTO labels VALUES ({}, {});\n", id, label));
        }
        statements.push(&sql!(
            "INSERT INTO events (id, issue_id, event_type, actor, new_value, created_at) \
             VALUES ({}, {}, 'created', {}, {}, {});\n",
            row_id(self.prefix()),
            id,
            actor,
            new.title,
            now
        ));
        if let Some(parent) = &new.parent {
            statements.push(&parent_link(&id, parent, &now, &actor));
        }
        self.write_locked(&lock, &statements, &format!("bd create {id}: {}", new.title))?;
        let stamp = clock::sql_to_rfc3339(&now);
        Ok(Issue {
            id,
            title: new.title,
            description: new.description,
            status: Status::Open.as_str().to_owned(),
            priority: new.priority,
            issue_type: new.issue_type,
            assignee: new.assignee,
            owner: None,
            created_by: Some(actor),
            created_at: stamp.clone(),
            updated_at: stamp,
            closed_at: None,
            close_reason: None,
            source_system: Some(self.source_system()),
            external_ref: None,
            labels,
        })
    }
}

/// The dependency that makes `child` a child of `parent`.
fn parent_link(child: &str, parent: &str, now: &str, actor: &str) -> Sql {
    sql!(
        "INSERT INTO dependencies (issue_id, depends_on_id, type, created_at, created_by) \
         VALUES ({}, {}, 'parent-child', {}, {});\n",
        child,
        parent,
        now,
        actor
    )
}
