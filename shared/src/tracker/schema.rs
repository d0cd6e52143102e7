//! The database schema every town holds.
//!
//! The schema is not made by each town: it is part of the genesis that
//! `bd init` lays down ([`super::genesis`]), so every town, whatever dolt
//! made it, starts from the same commits. [`SCHEMA`] is that genesis's
//! schema as text (a test checks that they agree), for the checks that read
//! the schema (input limits, the trust boundary).
//!
//! Changes after the genesis are [`super::migrate`]'s; checking values
//! against the columns is [`super::validate`]'s.

/// The branch every town works on.
pub const BRANCH: &str = "main";
/// Message of the schema commit.
pub const SCHEMA_MESSAGE: &str = "bd: create schema v1";

/// Every table of the schema; each merges row by row (see `federation::merge`).
pub const TABLES: [&str; 7] = ["issues", "labels", "comments", "dependencies", "events", "metadata", "config"];

/// The columns of `issues`, in schema order.
pub const ISSUE_FIELDS: [&str; 20] = [
    "id",
    "title",
    "description",
    "design",
    "acceptance_criteria",
    "notes",
    "status",
    "priority",
    "issue_type",
    "assignee",
    "owner",
    "estimated_minutes",
    "created_at",
    "created_by",
    "updated_at",
    "closed_at",
    "close_reason",
    "external_ref",
    "source_system",
    "metadata",
];

/// The schema: upstream beads' core columns and names, string keys that
/// cannot collide across towns, and no `AUTO_INCREMENT`.
pub const SCHEMA: &str = r"
CREATE TABLE issues (
    id VARCHAR(255) NOT NULL PRIMARY KEY,
    title VARCHAR(500) NOT NULL,
    description TEXT NOT NULL,
    design TEXT NOT NULL,
    acceptance_criteria TEXT NOT NULL,
    notes TEXT NOT NULL,
    status VARCHAR(32) NOT NULL DEFAULT 'open',
    priority INT NOT NULL DEFAULT 2,
    issue_type VARCHAR(32) NOT NULL DEFAULT 'task',
    assignee VARCHAR(255),
    owner VARCHAR(255),
    estimated_minutes INT,
    created_at DATETIME(6) NOT NULL,
    created_by VARCHAR(255),
    updated_at DATETIME(6) NOT NULL,
    closed_at DATETIME(6),
    close_reason TEXT,
    external_ref VARCHAR(255),
    source_system VARCHAR(255),
    metadata JSON,
    INDEX idx_issues_status (status),
    INDEX idx_issues_source_system (source_system)
);
CREATE TABLE labels (
    issue_id VARCHAR(255) NOT NULL,
    label VARCHAR(255) NOT NULL,
    PRIMARY KEY (issue_id, label)
);
CREATE TABLE comments (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    issue_id VARCHAR(255) NOT NULL,
    author VARCHAR(255),
    text TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    INDEX idx_comments_issue (issue_id)
);
CREATE TABLE dependencies (
    issue_id VARCHAR(255) NOT NULL,
    depends_on_id VARCHAR(255) NOT NULL,
    type VARCHAR(32) NOT NULL DEFAULT 'blocks',
    created_at DATETIME(6) NOT NULL,
    created_by VARCHAR(255),
    PRIMARY KEY (issue_id, depends_on_id)
);
CREATE TABLE events (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    issue_id VARCHAR(255) NOT NULL,
    event_type VARCHAR(32) NOT NULL,
    actor VARCHAR(255),
    old_value TEXT,
    new_value TEXT,
    comment TEXT,
    created_at DATETIME(6) NOT NULL,
    INDEX idx_events_issue (issue_id)
);
CREATE TABLE metadata (
    `key` VARCHAR(255) NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE config (
    `key` VARCHAR(255) NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO metadata VALUES ('schema_version', '1');
";

#[cfg(test)]
mod tests {
    #[test]
    fn issue_fields_are_the_schema_columns_in_order() {
        let table = super::SCHEMA.split("CREATE TABLE issues (").nth(1).and_then(|t| t.split(");").next());
        let columns: Vec<&str> = table
            .expect("issues table")
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| *w != "INDEX")
            .collect();
        assert_eq!(columns, super::ISSUE_FIELDS);
    }
}
