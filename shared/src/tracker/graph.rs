//! Reads and writes around issues: dependencies (and what is ready or
//! blocked because of them), labels, search, counts and deletion records.
//!
//! Every read is one dolt process; every write takes the lock, reads what
//! it checks under it, and is one commit that also touches the issue's
//! `updated_at` (so an import elsewhere sees the change) and records an event.
//!
//! An issue's own fields are `edit`'s to change, its comments `comment`'s.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use super::sql::{Sql, sql};
use super::{Issue, Town, row_id, validate};
use crate::clock;
use crate::error::{self, UserError};

/// The status of a deletion record (upstream beads' name): the row stays,
/// so the deletion merges into other towns like any field change, and a
/// peer's older copy cannot bring the issue back.
pub const DELETED: &str = "tombstone";

/// The condition that hides deletion records.
pub(super) const NOT_DELETED: Sql = Sql::raw("i.status <> 'tombstone'");

/// Statuses that no longer block: done, or deleted.
const SETTLED: Sql = Sql::raw("('closed', 'tombstone')");

/// An issue has an open blocker: a `blocks` dependency on an issue that is
/// here and neither closed nor deleted (a blocker in another town counts
/// once it has arrived).
const HAS_OPEN_BLOCKER: Sql = Sql::raw(
    "EXISTS (SELECT 1 FROM dependencies d JOIN issues b ON b.id = d.depends_on_id \
     WHERE d.issue_id = i.id AND d.type = 'blocks' AND b.status NOT IN ('closed', 'tombstone'))",
);

/// The kinds of dependency bd knows (upstream beads' names). Others that
/// arrive by import or from a peer are kept and shown as they are.
pub const DEP_TYPES: &[&str] = &["blocks", "parent-child", "related", "discovered-from"];

/// The kind that makes an issue wait for another.
pub const BLOCKS: &str = "blocks";

/// One end of a dependency as `dep list` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Link {
    /// The issue at the other end.
    pub id: String,
    /// `blocks`, `parent-child`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Its title, when it is here.
    pub title: Option<String>,
    /// Its status, when it is here.
    pub status: Option<String>,
}

/// An issue with the open blockers it waits for.
#[derive(Debug, Clone, Serialize)]
pub struct Blocked {
    /// The issue.
    #[serde(flatten)]
    pub issue: Issue,
    /// How many open blockers it has.
    pub blocked_by_count: usize,
    /// Their ids.
    pub blocked_by: Vec<String>,
}

/// One line of a dependency tree.
#[derive(Debug, Clone, Serialize)]
pub struct TreeNode {
    /// 0 for the root.
    pub depth: usize,
    /// The issue.
    pub id: String,
    /// How it depends on its parent line (`None` for the root).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Its title, when it is here.
    pub title: Option<String>,
    /// Its status, when it is here.
    pub status: Option<String>,
    /// Already shown higher up (a shared dependency, or a cycle through
    /// kinds other than `blocks`): not expanded again.
    pub repeated: bool,
}

/// Counts over the town's issues (deletion records left out).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Every issue.
    pub total: u64,
    /// Per status.
    pub by_status: BTreeMap<String, u64>,
    /// Per type.
    pub by_type: BTreeMap<String, u64>,
    /// Open with no open blocker.
    pub ready: u64,
    /// Not closed, with an open blocker.
    pub blocked: u64,
}

/// Which issues `list` and `count` take; deletion records never, closed
/// issues only when asked for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this status (a deletion record's too, when asked for by name).
    pub status: Option<String>,
    /// Only issues assigned to this person.
    pub assignee: Option<String>,
    /// Only this type.
    pub issue_type: Option<String>,
    /// Only issues carrying this label.
    pub label: Option<String>,
    /// Closed issues too.
    pub closed_too: bool,
}

impl Filter {
    fn condition(&self) -> Sql {
        let mut conditions = Vec::new();
        match &self.status {
            Some(status) => conditions.push(sql!("i.status = {}", status)),
            None if self.closed_too => conditions.push(NOT_DELETED),
            None => conditions.push(sql!("i.status NOT IN {}", SETTLED)),
        }
        if let Some(assignee) = &self.assignee {
            conditions.push(sql!("i.assignee = {}", assignee));
        }
        if let Some(ty) = &self.issue_type {
            conditions.push(sql!("i.issue_type = {}", ty));
        }
        if let Some(label) = &self.label {
            conditions.push(sql!("i.id IN (SELECT issue_id FROM labels WHERE label = {})", label));
        }
        Sql::join(conditions, " AND ")
    }
}

fn text(row: &serde_json::Map<String, Value>, col: &str) -> Option<String> {
    row.get(col).and_then(Value::as_str).map(str::to_owned)
}

fn number(value: Option<&Value>) -> u64 {
    value.and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(0)
}

impl Town {
    /// The issues `filter` takes, most urgent and oldest first, at most `limit`.
    pub fn list(&self, filter: &Filter, limit: Option<usize>) -> anyhow::Result<Vec<Issue>> {
        self.issues_limited(&filter.condition(), limit)
    }

    /// How many issues `filter` takes: one query.
    pub fn count(&self, filter: &Filter) -> anyhow::Result<u64> {
        let rows = self.repo().query(&sql!("SELECT COUNT(*) AS n FROM issues i WHERE {}", filter.condition()))?;
        Ok(number(rows.first().and_then(|r| r.get("n"))))
    }

    /// Open issues with no open blocker, most urgent and oldest first: one query.
    pub fn ready(&self, limit: Option<usize>) -> anyhow::Result<Vec<Issue>> {
        self.issues_limited(&sql!("i.status = 'open' AND NOT {}", HAS_OPEN_BLOCKER), limit)
    }

    /// Issues not closed with an open blocker, and their blockers: one query.
    pub fn blocked(&self) -> anyhow::Result<Vec<Blocked>> {
        let open_blockers = sql!(
            "FROM dependencies d JOIN issues b ON b.id = d.depends_on_id \
             WHERE d.issue_id = i.id AND d.type = 'blocks' AND b.status NOT IN {}",
            SETTLED
        );
        let rows = self.issues_with(
            &sql!(", (SELECT JSON_ARRAYAGG(d.depends_on_id) {}) AS bd_blockers", open_blockers),
            &sql!("i.status NOT IN {} AND EXISTS (SELECT 1 {})", SETTLED, open_blockers),
            None,
        )?;
        Ok(rows
            .into_iter()
            .map(|(issue, row)| {
                let mut blocked_by = super::text_array(row.get("bd_blockers"));
                blocked_by.sort();
                Blocked { blocked_by_count: blocked_by.len(), blocked_by, issue }
            })
            .collect())
    }

    /// What `id` depends on, and what depends on it: one query, which also
    /// tells whether `id` is here (only a missing issue costs a second, for
    /// the error).
    pub fn links(&self, id: &str) -> anyhow::Result<(Vec<Link>, Vec<Link>)> {
        validate::id(id)?;
        let rows = self.repo().query(&sql!(
            "SELECT 'out' AS dir, d.depends_on_id AS other, d.type AS kind, o.title, o.status FROM dependencies d \
                 LEFT JOIN issues o ON o.id = d.depends_on_id WHERE d.issue_id = {} \
                 UNION ALL SELECT 'in', d.issue_id, d.type, o.title, o.status FROM dependencies d \
                 LEFT JOIN issues o ON o.id = d.issue_id WHERE d.depends_on_id = {} AND o.status <> 'tombstone' \
                 UNION ALL SELECT 'self', id, '', title, status FROM issues WHERE id = {} AND status <> {} \
                 ORDER BY 1, 2",
            id,
            id,
            id,
            DELETED
        ))?;
        if !rows.iter().any(|r| r.get("dir").and_then(Value::as_str) == Some("self")) {
            self.issue(id)?;
        }
        let (mut out, mut inward) = (Vec::new(), Vec::new());
        for row in &rows {
            let link = Link {
                id: text(row, "other").unwrap_or_default(),
                kind: text(row, "kind").unwrap_or_default(),
                title: text(row, "title"),
                status: text(row, "status"),
            };
            match row.get("dir").and_then(Value::as_str) {
                Some("out") => out.push(link),
                Some("in") => inward.push(link),
                _ => {}
            }
        }
        Ok((out, inward))
    }

    /// The tree of what `id` depends on, depth first, each issue expanded
    /// once: one query for the root and every edge.
    pub fn tree(&self, id: &str) -> anyhow::Result<Vec<TreeNode>> {
        validate::id(id)?;
        let rows = self.repo().query(&sql!(
            "SELECT 0 AS bd_root, d.issue_id AS issue, d.depends_on_id AS other, d.type AS kind, o.title, o.status \
                 FROM dependencies d LEFT JOIN issues o ON o.id = d.depends_on_id \
                 UNION ALL SELECT 1, id, id, '', title, status FROM issues WHERE id = {} AND status <> {} \
                 ORDER BY 2, 3",
            id,
            DELETED
        ))?;
        let Some(root) = rows.iter().find(|r| r.get("bd_root").and_then(Value::as_u64) == Some(1)) else {
            self.issue(id)?;
            return Ok(Vec::new());
        };
        let mut edges: BTreeMap<String, Vec<Link>> = BTreeMap::new();
        for row in rows.iter().filter(|r| r.get("bd_root").and_then(Value::as_u64) == Some(0)) {
            if let (Some(issue), Some(id)) = (text(row, "issue"), text(row, "other")) {
                let kind = text(row, "kind").unwrap_or_default();
                edges.entry(issue).or_default().push(Link {
                    id,
                    kind,
                    title: text(row, "title"),
                    status: text(row, "status"),
                });
            }
        }
        let mut nodes = Vec::new();
        let mut seen = BTreeSet::new();
        // Depth first with a stack of its own, so a long chain from a peer
        // cannot overflow ours; children are pushed last first to come out in order.
        let mut stack = vec![(0, id.to_owned(), None, text(root, "title"), text(root, "status"))];
        while let Some((depth, id, kind, title, status)) = stack.pop() {
            let repeated = !seen.insert(id.clone());
            if !repeated {
                for l in edges.get(&id).into_iter().flatten().rev() {
                    stack.push((depth + 1, l.id.clone(), Some(l.kind.clone()), l.title.clone(), l.status.clone()));
                }
            }
            nodes.push(TreeNode { depth, id, kind, title, status, repeated });
        }
        Ok(nodes)
    }

    /// Records that `id` depends on `on` as one commit. A `blocks` cycle is
    /// refused, naming it. `on` may be an issue not here yet (another
    /// town's): it counts once it arrives. Returns whether `on` is here.
    pub fn add_dependency(&self, id: &str, on: &str, kind: &str) -> anyhow::Result<bool> {
        validate::dependency_target(on)?;
        validate::word("dependency type", kind)?;
        if id == on {
            return Err(UserError::usage(format!("issue {} cannot depend on itself", error::quoted(id)))
                .with_hint("give two different issues: `bd dep add ISSUE DEPENDS_ON`")
                .into());
        }
        let lock = self.lock()?;
        self.issue(id)?;
        let rows = self.repo().query(&sql!(
            "SELECT issue_id, depends_on_id, type FROM dependencies WHERE type = 'blocks' OR (issue_id = {} AND \
                 depends_on_id = {}) UNION ALL SELECT id, '', status FROM issues WHERE id = {}",
            id,
            on,
            on
        ))?;
        let present = rows.iter().any(|r| text(r, "depends_on_id").as_deref() == Some(""));
        if let Some(existing) = rows
            .iter()
            .find(|r| text(r, "issue_id").as_deref() == Some(id) && text(r, "depends_on_id").as_deref() == Some(on))
        {
            return Err(UserError::failure(format!(
                "{} already depends on {} ({})",
                error::quoted(id),
                error::quoted(on),
                text(existing, "type").unwrap_or_default()
            ))
            .with_hint(format!("to change its type, `bd dep remove {id} {on}` first"))
            .into());
        }
        if kind == BLOCKS {
            let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for r in rows.iter().filter(|r| text(r, "type").as_deref() == Some(BLOCKS)) {
                if let (Some(a), Some(b)) = (text(r, "issue_id"), text(r, "depends_on_id")) {
                    edges.entry(a).or_default().push(b);
                }
            }
            if let Some(path) = path_between(&edges, on, id) {
                let cycle: Vec<&str> = std::iter::once(id).chain(path.iter().map(String::as_str)).collect();
                return Err(UserError::failure(format!(
                    "refused: {} blocking {} would make a cycle: {}",
                    error::quoted(on),
                    error::quoted(id),
                    cycle.join(" -> ")
                ))
                .with_hint(
                    "a cycle of blocking dependencies would keep every issue in it blocked forever; \
                            remove one with `bd dep remove`, or use --type related",
                )
                .into());
            }
        }
        let now = clock::now_sql();
        let mut statements = sql!(
            "INSERT INTO dependencies (issue_id, depends_on_id, type, created_at, created_by) VALUES \
             ({}, {}, {}, {}, {});\n",
            id,
            on,
            kind,
            now,
            self.actor().name
        );
        statements.push(&self.touch(id, "dependency_added", None, Some(&format!("{kind} {on}")), &now));
        self.write_locked(&lock, &statements, &format!("bd dep add {id} {on}: {kind}"))?;
        Ok(present)
    }

    /// Removes the dependency of `id` on `on` as one commit; returns its type.
    pub fn remove_dependency(&self, id: &str, on: &str) -> anyhow::Result<String> {
        validate::stored_target(on)?;
        let lock = self.lock()?;
        self.issue(id)?;
        let rows = self.repo().query(&sql!(
            "SELECT type FROM dependencies WHERE issue_id = {} AND depends_on_id = {}",
            id,
            on
        ))?;
        let Some(kind) = rows.first().and_then(|r| text(r, "type")) else {
            return Err(UserError::failure(format!("{} does not depend on {}", error::quoted(id), error::quoted(on)))
                .with_hint(format!("see its dependencies with `bd dep list {id}`"))
                .into());
        };
        let now = clock::now_sql();
        let mut statements = sql!("DELETE FROM dependencies WHERE issue_id = {} AND depends_on_id = {};\n", id, on);
        statements.push(&self.touch(id, "dependency_removed", Some(&format!("{kind} {on}")), None, &now));
        self.write_locked(&lock, &statements, &format!("bd dep remove {id} {on}"))?;
        Ok(kind)
    }

    /// Adds labels to an issue as one commit; returns its labels after.
    pub fn add_labels(&self, id: &str, labels: &[String]) -> anyhow::Result<Vec<String>> {
        self.change_labels(id, labels, true)
    }

    /// Removes labels from an issue as one commit; returns its labels after.
    pub fn remove_labels(&self, id: &str, labels: &[String]) -> anyhow::Result<Vec<String>> {
        self.change_labels(id, labels, false)
    }

    fn change_labels(&self, id: &str, labels: &[String], add: bool) -> anyhow::Result<Vec<String>> {
        for label in labels {
            validate::fits("labels", "label", "label", label)?;
            if label.trim().is_empty() {
                return Err(UserError::usage("a label may not be empty").into());
            }
        }
        let lock = self.lock()?;
        let issue = self.issue(id)?;
        let before: BTreeSet<&str> = issue.labels.iter().map(String::as_str).collect();
        let wanted: BTreeSet<&str> = labels.iter().map(|l| l.trim()).collect();
        let change: Vec<&str> = wanted.iter().copied().filter(|l| before.contains(l) != add).collect();
        if change.is_empty() {
            let state = if add { "already has" } else { "has none of" };
            return Err(UserError::failure(format!("nothing to change: issue {id} {state} those labels")).into());
        }
        let now = clock::now_sql();
        let mut statements = Sql::default();
        for label in &change {
            statements.push(&if add {
                sql!("INSERT INTO labels (issue_id, label) VALUES ({}, {});\n", id, label)
            } else {
                sql!("DELETE FROM labels WHERE issue_id = {} AND label = {};\n", id, label)
            });
            let (kind, old, new) =
                if add { ("label_added", None, Some(*label)) } else { ("label_removed", Some(*label), None) };
            statements.push(&self.event(id, kind, old, new, &now));
        }
        statements.push(&sql!("UPDATE issues SET updated_at = {} WHERE id = {};\n", now, id));
        let verb = if add { "add" } else { "remove" };
        self.write_locked(&lock, &statements, &format!("bd label {verb} {id}: {}", change.join(", ")))?;
        let mut after: BTreeSet<&str> = before;
        for label in change {
            if add {
                after.insert(label);
            } else {
                after.remove(label);
            }
        }
        Ok(after.into_iter().map(str::to_owned).collect())
    }

    /// Every label in use (on issues not deleted), with how many issues carry it.
    pub fn all_labels(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let rows = self.repo().query(&sql!(
            "SELECT l.label, COUNT(*) AS n FROM labels l JOIN issues i ON i.id = l.issue_id WHERE {} \
                 GROUP BY l.label ORDER BY l.label",
            NOT_DELETED
        ))?;
        Ok(rows.iter().filter_map(|r| Some((text(r, "label")?, number(r.get("n"))))).collect())
    }

    /// Issues (not deleted) whose title, description, notes or a comment
    /// holds `needle`, ignoring case.
    pub fn search(&self, needle: &str, limit: Option<usize>) -> anyhow::Result<Vec<Issue>> {
        // LIKE's own wildcards in the text are literal characters.
        let escaped: String = needle
            .to_lowercase()
            .chars()
            .flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] })
            .collect();
        let pattern = format!("%{escaped}%");
        let like = |col: &'static str| sql!("LOWER({}) LIKE {}", Sql::raw(col), pattern);
        self.issues_limited(
            &sql!(
                "{} AND ({} OR {} OR {} OR i.id IN (SELECT c.issue_id FROM comments c WHERE {}))",
                NOT_DELETED,
                like("i.title"),
                like("i.description"),
                like("i.notes"),
                like("c.text")
            ),
            limit,
        )
    }

    /// Counts per status and type, and how many are ready or blocked: one query.
    pub fn stats(&self) -> anyhow::Result<Stats> {
        let rows = self.repo().query(&sql!(
            "SELECT i.status, i.issue_type, COUNT(*) AS n, \
                 SUM(CASE WHEN i.status = 'open' AND NOT {} THEN 1 ELSE 0 END) AS ready, \
                 SUM(CASE WHEN i.status <> 'closed' AND {} THEN 1 ELSE 0 END) AS blocked \
                 FROM issues i WHERE {} GROUP BY i.status, i.issue_type",
            HAS_OPEN_BLOCKER,
            HAS_OPEN_BLOCKER,
            NOT_DELETED
        ))?;
        let mut stats = Stats::default();
        for row in &rows {
            let n = number(row.get("n"));
            stats.total += n;
            *stats.by_status.entry(text(row, "status").unwrap_or_default()).or_default() += n;
            *stats.by_type.entry(text(row, "issue_type").unwrap_or_default()).or_default() += n;
            stats.ready += number(row.get("ready"));
            stats.blocked += number(row.get("blocked"));
        }
        Ok(stats)
    }

    /// Turns an issue into a deletion record as one commit: its status
    /// becomes [`DELETED`] and upstream's `deleted_at`, `deleted_by` and
    /// `delete_reason` are kept with it; its child rows stay, so nothing a
    /// peer merges can bring it back.
    pub fn delete(&self, id: &str, reason: Option<&str>) -> anyhow::Result<Issue> {
        if let Some(reason) = reason {
            validate::fits("issues", "close_reason", "reason", reason)?;
        }
        let lock = self.lock()?;
        let mut issue = self.issue(id)?;
        let rows = self.repo().query(&sql!("SELECT metadata FROM issues WHERE id = {}", id))?;
        let mut meta = match rows.first().and_then(|r| r.get("metadata")).cloned() {
            Some(Value::Object(map)) => map,
            None | Some(Value::Null) => serde_json::Map::new(),
            // Metadata that is no object is kept inside, as the importer keeps it.
            Some(other) => serde_json::Map::from_iter([(
                super::jsonl::EXTRA_FIELDS.to_owned(),
                serde_json::json!({ "metadata": other }),
            )]),
        };
        let now = clock::now_sql();
        let fields = meta.entry(super::jsonl::EXTRA_FIELDS).or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(fields) = fields {
            fields.insert("deleted_at".to_owned(), Value::from(clock::sql_to_rfc3339(&now)));
            fields.insert("deleted_by".to_owned(), Value::from(self.actor().name.clone()));
            if let Some(reason) = reason {
                fields.insert("delete_reason".to_owned(), Value::from(reason));
            }
            fields.insert("original_type".to_owned(), Value::from(issue.issue_type.clone()));
        }
        let statements = sql!(
            "UPDATE issues SET status = {}, metadata = {}, updated_at = {} WHERE id = {};\n{}",
            DELETED,
            Value::Object(meta).to_string(),
            now,
            id,
            self.event(id, "deleted", Some(&issue.status), Some(DELETED), &now)
        );
        self.write_locked(&lock, &statements, &format!("bd delete {id}: {}", issue.title))?;
        DELETED.clone_into(&mut issue.status);
        issue.updated_at = clock::sql_to_rfc3339(&now);
        Ok(issue)
    }

    /// An `events` row for a change of issue `id`.
    fn event(&self, id: &str, kind: &str, old: Option<&str>, new: Option<&str>, now: &str) -> Sql {
        sql!(
            "INSERT INTO events (id, issue_id, event_type, actor, old_value, new_value, created_at) \
             VALUES ({}, {}, {}, {}, {}, {}, {});\n",
            row_id(self.prefix()),
            id,
            kind,
            self.actor().name,
            old,
            new,
            now
        )
    }

    /// An event and the `updated_at` it moves.
    fn touch(&self, id: &str, kind: &str, old: Option<&str>, new: Option<&str>, now: &str) -> Sql {
        sql!("{}UPDATE issues SET updated_at = {} WHERE id = {};\n", self.event(id, kind, old, new, now), now, id)
    }
}

/// A path of `blocks` edges from `from` to `to` (the ids after `from`), if any.
fn path_between(edges: &BTreeMap<String, Vec<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(at) = queue.pop_front() {
        if at == to {
            let mut path = vec![to.to_owned()];
            let mut step = to;
            while let Some(&prev) = came_from.get(step) {
                path.push(prev.to_owned());
                step = prev;
            }
            path.reverse();
            return Some(path);
        }
        for next in edges.get(at).into_iter().flatten() {
            if seen.insert(next) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Refuses [`DELETED`] as a status to set: a deletion is `bd delete`'s,
/// which records when and by whom.
pub fn settable_status(status: &str) -> Result<(), UserError> {
    if status == DELETED {
        return Err(UserError::usage(format!("the status {} marks a deletion record", error::quoted(status)))
            .with_hint("delete the issue with `bd delete ID`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocking_path_is_found_and_named_in_order() {
        let edges = BTreeMap::from([
            ("a".to_owned(), vec!["b".to_owned()]),
            ("b".to_owned(), vec!["c".to_owned(), "d".to_owned()]),
            ("d".to_owned(), vec!["e".to_owned()]),
        ]);
        assert_eq!(path_between(&edges, "a", "e"), Some(vec!["a".into(), "b".into(), "d".into(), "e".into()]));
        assert_eq!(path_between(&edges, "e", "a"), None);
    }
}
