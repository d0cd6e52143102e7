//! House rules checked on the source: command handlers hold no SQL. SQL is
//! written behind typed functions in `tracker` (and `federation`), so a
//! handler cannot splice a value into a statement unquoted, and every
//! statement has one home to review.

use std::path::{Path, PathBuf};

/// What marks SQL in a line of Rust: statement keywords, dolt's system
/// tables and procedures, the quoting module and the runner's SQL calls.
const SQL_MARKS: [&str; 16] = [
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    "CALL DOLT",
    "CALL dolt",
    " AS OF ",
    "dolt_log",
    "dolt_status",
    "dolt_branches",
    "dolt_remote",
    "dolt_diff",
    "sql::",
    "sql!",
    ".query(",
    ".execute(",
];

/// The lines of `text` (comments aside) that hold SQL, as `line: text`.
fn sql_lines(text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| SQL_MARKS.iter().any(|m| l.contains(m)))
        .map(|(n, l)| format!("{}: {}", n + 1, l.trim()))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_scan_sees_sql() {
    assert_eq!(sql_lines("let q = \"SELECT id FROM issues\";\n// SELECT in a comment\n").len(), 1);
    assert_eq!(sql_lines("let s = sql::lit(title);").len(), 1);
    assert!(sql_lines("let now = clock::now_sql();\nconst DOLT_MARK: &str = \".dolt.tmp.\";").is_empty());
}

#[test]
fn command_handlers_hold_no_sql() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("shared/src/cmd");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 20, "the scan found only {} handler files under {}", files.len(), root.display());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source");
        let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        found.extend(sql_lines(&text).into_iter().map(|l| format!("cmd/{name}:{l}")));
    }
    assert!(
        found.is_empty(),
        "SQL in command handlers; move it behind a typed function in tracker:\n{}",
        found.join("\n")
    );
}

#[test]
fn values_are_quoted_only_by_the_sql_fragment_type() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("shared/src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let name = file.strip_prefix(&root).unwrap_or(file).to_string_lossy().replace('\\', "/");
        if name == "tracker/sql.rs" {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("source");
        // Unit tests may hold the text a statement would have, to test what reads it.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            if ["sql::lit(", "lit(&", "format!(\"SELECT", "format!(\"CALL", "format!(\"SET"]
                .iter()
                .any(|m| line.contains(m))
            {
                found.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(files.len() > 50, "the scan found only {} files under {}", files.len(), root.display());
    assert!(
        found.is_empty(),
        "SQL built as text; build it as `Sql` (the `sql!` template, `Sql::raw`, `Sql::ident`):\n{}",
        found.join("\n")
    );
}
