//! `bd create`: record a new issue.

use std::fmt::Write as _;

use clap::Args;

use crate::clock;
use crate::config::Key;
use crate::context::Context;
use crate::error::UserError;
use crate::plugin::Command;
use crate::tracker::{self, Issue, Status, Written, sql, validate};

/// Create an issue in this town.
#[derive(Debug, Args)]
pub struct Create {
    /// The issue's title.
    pub title: String,
    /// Issue type: bug, feature, task, epic, chore, message, agent, convoy, or any other word of
    /// lowercase letters, digits, '_' and '-' (at most 32).
    #[arg(short = 't', long = "type", default_value = "task", value_parser = super::type_arg(), hide_possible_values = true)]
    pub issue_type: String,
    /// Priority from 0 (most urgent) to 4.
    #[arg(short, long, default_value = "2", value_parser = super::priority_arg)]
    pub priority: i64,
    /// Who works on it.
    #[arg(short, long)]
    pub assignee: Option<String>,
    /// Longer description.
    #[arg(short, long, default_value = "")]
    pub description: String,
    /// A label (repeat, or separate with commas).
    #[arg(short, long = "label", value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Make it a child of this issue (a parent-child dependency).
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
}

impl Command for Create {
    const NAME: &'static str = "create";
    const SUMMARY: &'static str = "Create an issue";
    type Output = Written;

    fn run(self, ctx: &Context) -> anyhow::Result<Written> {
        // Every input is checked before the first statement: too long a
        // value is refused by name, never as a failed SQL statement.
        validate::fits("issues", "title", "title", &self.title)?;
        validate::fits("issues", "description", "description", &self.description)?;
        validate::fits("issues", "issue_type", "type", &self.issue_type)?;
        if let Some(assignee) = &self.assignee {
            validate::fits("issues", "assignee", "assignee", assignee)?;
        }
        for label in &self.labels {
            validate::fits("labels", "label", "label", label.trim())?;
        }
        let town = ctx.town()?;
        // A prefix edited into a file by hand meets the rule before any id carries it.
        Key::TownPrefix.validate(town.prefix()).map_err(|e| {
            UserError::failure(e.to_string()).with_hint("fix it with `bd config set town.prefix PREFIX`")
        })?;
        let lock = town.lock()?;
        if let Some(parent) = &self.parent {
            town.issue(parent)?;
        }
        let id = tracker::issue_id(town.prefix());
        let now = clock::now_sql();
        let actor = town.actor().name.clone();
        let mut labels: Vec<String> =
            self.labels.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
        labels.sort();
        labels.dedup();
        let mut statements = format!(
            "INSERT INTO issues (id, title, description, design, acceptance_criteria, notes, status, priority, \
             issue_type, assignee, created_at, created_by, updated_at, source_system) VALUES \
             ({id}, {title}, {desc}, '', '', '', {status}, {priority}, {ty}, {assignee}, {now}, {actor}, {now}, {source});\n",
            id = sql::lit(&id),
            title = sql::lit(&self.title),
            desc = sql::lit(&self.description),
            status = sql::lit(Status::Open.as_str()),
            priority = self.priority,
            ty = sql::lit(&self.issue_type),
            assignee = sql::opt(self.assignee.as_deref()),
            now = sql::lit(&now),
            actor = sql::lit(&actor),
            source = sql::lit(&town.source_system()),
        );
        for label in &labels {
            let _ = writeln!(statements, "INSERT INTO labels VALUES ({}, {});", sql::lit(&id), sql::lit(label));
        }
        let _ = writeln!(
            statements,
            "INSERT INTO events (id, issue_id, event_type, actor, new_value, created_at) VALUES ({}, {}, 'created', {}, {}, {});",
            sql::lit(&tracker::row_id(town.prefix())),
            sql::lit(&id),
            sql::lit(&actor),
            sql::lit(&self.title),
            sql::lit(&now)
        );
        if let Some(parent) = &self.parent {
            let _ = writeln!(
                statements,
                "INSERT INTO dependencies (issue_id, depends_on_id, type, created_at, created_by) VALUES ({}, {}, 'parent-child', {}, {});",
                sql::lit(&id),
                sql::lit(parent),
                sql::lit(&now),
                sql::lit(&actor)
            );
        }
        town.write_locked(&lock, &statements, &format!("bd create {id}: {}", self.title))?;
        let stamp = clock::sql_to_rfc3339(&now);
        Ok(Written::new(
            "Created",
            Issue {
                id,
                title: self.title,
                description: self.description,
                status: Status::Open.as_str().to_owned(),
                priority: self.priority,
                issue_type: self.issue_type,
                assignee: self.assignee,
                owner: None,
                created_by: Some(actor),
                created_at: stamp.clone(),
                updated_at: stamp,
                closed_at: None,
                close_reason: None,
                source_system: Some(town.source_system()),
                external_ref: None,
                labels,
            },
        ))
    }
}
