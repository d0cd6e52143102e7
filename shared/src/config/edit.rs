//! Editing a YAML config file in place, keeping the user's comments, key
//! order and unknown keys.
//!
//! The editor works on lines of block-style YAML (what people write by hand):
//! it replaces the one line or block that holds a key, inserts new keys under
//! their deepest existing parent, and removes emptied parents on unset. The
//! result is parsed again and must read back exactly as intended, or nothing
//! is written: a file the editor cannot handle safely (flow style, anchors)
//! is an error, never a corrupted config.

use std::io::Read as _;
use std::path::Path;

use super::{ConfigError, MAX_FILE_BYTES, Value, parse_yaml};
use crate::fsutil;

/// A key's location in the file: the line range it occupies.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// The line holding `key:`.
    start: usize,
    /// One past its last line (including nested lines).
    end: usize,
    /// Indentation of the key.
    indent: usize,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The key on a `key: …` line at exactly `indent`, if any.
fn key_at(line: &str, indent: usize) -> Option<&str> {
    if is_blank_or_comment(line) || indent_of(line) != indent {
        return None;
    }
    let rest = &line[indent..];
    if rest.starts_with("- ") || rest == "-" {
        return None;
    }
    let colon = rest.find(':')?;
    let after = &rest[colon + 1..];
    if !(after.is_empty() || after.starts_with(' ') || after.starts_with('\t')) {
        return None;
    }
    Some(rest[..colon].trim().trim_matches(|c| c == '"' || c == '\''))
}

/// The end of the block that starts at `start` with indentation `indent`.
fn block_end(lines: &[String], start: usize, indent: usize) -> usize {
    let mut end = start + 1;
    let mut last_content = start + 1;
    while end < lines.len() {
        let line = &lines[end];
        if !is_blank_or_comment(line) {
            let ind = indent_of(line);
            // Sequence items may sit at the parent's indentation.
            let is_item = line[ind..].starts_with('-');
            if ind < indent || (ind == indent && !is_item) {
                break;
            }
            last_content = end + 1;
        }
        end += 1;
    }
    last_content
}

/// Finds the span of each prefix of `path` that exists, outermost first.
fn find(lines: &[String], path: &[&str]) -> Vec<Span> {
    let mut spans = Vec::new();
    let (mut lo, mut hi, mut indent) = (0, lines.len(), 0);
    for segment in path {
        // Children of a parent share the indentation of its first child.
        if let Some(parent) = spans.last() {
            let parent: &Span = parent;
            match lines[parent.start + 1..parent.end].iter().find(|l| !is_blank_or_comment(l)) {
                Some(first) if indent_of(first) > parent.indent => indent = indent_of(first),
                _ => break,
            }
        }
        let Some(start) = (lo..hi).find(|&i| key_at(&lines[i], indent) == Some(segment)) else {
            break;
        };
        let end = block_end(lines, start, indent);
        spans.push(Span { start, end, indent });
        lo = start + 1;
        hi = end;
    }
    spans
}

/// YAML text for a scalar, quoted when YAML would read it otherwise.
fn scalar(value: &str) -> String {
    let text = serde_yaml_ng::to_string(&value).map_or_else(|_| format!("{value:?}"), |s| s.trim_end().to_owned());
    // YAML 1.1 readers take these words for booleans; quote them for everyone.
    let ambiguous = matches!(value.to_ascii_lowercase().as_str(), "yes" | "no" | "on" | "off" | "y" | "n");
    if ambiguous && !text.starts_with(['\'', '"']) { format!("'{value}'") } else { text }
}

fn render(indent: usize, key: &str, value: &Value) -> Vec<String> {
    let pad = " ".repeat(indent);
    match value {
        Value::Scalar(s) => vec![format!("{pad}{key}: {}", scalar(s))],
        Value::List(items) if items.is_empty() => vec![format!("{pad}{key}: []")],
        Value::List(items) => {
            let mut out = vec![format!("{pad}{key}:")];
            out.extend(items.iter().map(|i| format!("{pad}  - {}", scalar(i))));
            out
        }
    }
}

/// Keeps a trailing `# comment` of a replaced `key: value` line.
fn trailing_comment(line: &str) -> Option<&str> {
    let hash = line.find(" #")? + 1;
    let idx = line[..hash].trim_end().len();
    // Only when the part before is not inside quotes (a conservative check).
    let before = &line[..idx];
    (before.matches('"').count().is_multiple_of(2) && before.matches('\'').count().is_multiple_of(2))
        .then(|| &line[idx..])
}

fn set_lines(lines: &mut Vec<String>, path: &[&str], value: &Value) {
    let spans = find(lines, path);
    if spans.len() == path.len() {
        let span = spans[spans.len() - 1];
        let mut new = render(span.indent, path[path.len() - 1], value);
        if span.end == span.start + 1
            && let (Some(comment), Value::Scalar(_)) = (trailing_comment(&lines[span.start]), value)
        {
            new[0].push_str(comment);
        }
        lines.splice(span.start..span.end, new);
        return;
    }
    let depth = spans.len();
    let (insert_at, indent) = if let Some(parent) = spans.last() {
        let child_indent = lines[parent.start + 1..parent.end]
            .iter()
            .find(|l| !is_blank_or_comment(l))
            .map_or(parent.indent + 2, |l| indent_of(l).max(parent.indent + 2));
        // A parent written as `key: value` or `key: {}` becomes a mapping.
        let line = &lines[parent.start];
        let colon = line.find(':').unwrap_or(line.len());
        let head = line[..=colon.min(line.len() - 1)].to_owned();
        lines[parent.start] = head;
        (parent.end, child_indent)
    } else {
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        (lines.len(), 0)
    };
    let mut new = Vec::new();
    for (i, segment) in path[depth..path.len() - 1].iter().enumerate() {
        new.push(format!("{}{segment}:", " ".repeat(indent + 2 * i)));
    }
    new.extend(render(indent + 2 * (path.len() - 1 - depth), path[path.len() - 1], value));
    lines.splice(insert_at..insert_at, new);
}

fn unset_lines(lines: &mut Vec<String>, path: &[&str]) -> bool {
    let spans = find(lines, path);
    if spans.len() != path.len() {
        return false;
    }
    let span = spans[spans.len() - 1];
    lines.drain(span.start..span.end);
    // Remove parents left without children.
    for depth in (1..path.len()).rev() {
        let parents = find(lines, &path[..depth]);
        let Some(parent) = parents.last().filter(|_| parents.len() == depth) else {
            break;
        };
        let has_children = lines[parent.start + 1..parent.end].iter().any(|l| !is_blank_or_comment(l));
        let line = &lines[parent.start];
        let inline_value =
            line.split_once(':').is_some_and(|(_, v)| !v.trim().is_empty() && !v.trim().starts_with('#'));
        if has_children || inline_value {
            break;
        }
        lines.remove(parent.start);
    }
    true
}

fn lines_of(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn join(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

fn unsupported(path: &Path, key: &str) -> ConfigError {
    ConfigError::Malformed {
        file: path.to_owned(),
        line: 0,
        column: 0,
        message: format!(
            "cannot safely edit {} in this file (flow-style mappings or anchors); edit it by hand",
            crate::error::quoted(key)
        ),
    }
}

/// The editor splits lines at `\n` (and `\r\n`), but YAML also breaks lines
/// at a lone `\r` and, in libyaml, at U+0085, U+2028 and U+2029: in a file
/// with those the editor would find keys at the wrong place, so it refuses.
fn check_line_breaks(path: &Path, text: &str) -> Result<(), ConfigError> {
    let odd = text.char_indices().find(|&(i, c)| {
        matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') || (c == '\r' && text.as_bytes().get(i + 1) != Some(&b'\n'))
    });
    let Some((at, c)) = odd else { return Ok(()) };
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    Err(ConfigError::Malformed {
        file: path.to_owned(),
        line: text[..at].matches('\n').count() + 1,
        column: text[line_start..at].chars().count() + 1,
        message: format!(
            "a line break U+{:04X} that bd cannot edit around; save the file with \\n line ends, or edit it by hand",
            u32::from(c)
        ),
    })
}

/// Sets `key` (dotted) to `value` in the file's text; the edit is verified by
/// parsing the result.
pub fn set_in_text(path: &Path, text: &str, key: &str, value: &Value) -> Result<String, ConfigError> {
    let before = parse_yaml(path, text)?;
    check_line_breaks(path, text)?;
    let segments: Vec<&str> = key.split('.').collect();
    let mut lines = lines_of(text);
    set_lines(&mut lines, &segments, value);
    // What the editor writes it must find again, or a later unset would miss
    // it (a line holding only a `!tag` or `&anchor` misleads the line model).
    if find(&lines, &segments).len() != segments.len() {
        return Err(unsupported(path, key));
    }
    let out = join(&lines);
    let after = parse_yaml(path, &out).map_err(|_| unsupported(path, key))?;
    let mut expected: Vec<(String, Value)> =
        before.into_iter().filter(|(k, _)| k != key && !k.starts_with(&format!("{key}."))).collect();
    expected.push((key.to_owned(), value.clone()));
    if !same_entries(expected, after) {
        return Err(unsupported(path, key));
    }
    // A value written is one `bd config unset` can take away again (a YAML
    // document marker such as `...` can defeat the line model there).
    if !matches!(unset_in_text(path, &out, key), Ok(Some(_))) {
        return Err(unsupported(path, key));
    }
    Ok(out)
}

/// Removes `key` (and anything under it); `None` when it was not set.
pub fn unset_in_text(path: &Path, text: &str, key: &str) -> Result<Option<String>, ConfigError> {
    let before = parse_yaml(path, text)?;
    check_line_breaks(path, text)?;
    let segments: Vec<&str> = key.split('.').collect();
    let mut lines = lines_of(text);
    if !unset_lines(&mut lines, &segments) {
        return Ok(None);
    }
    let out = join(&lines);
    let after = parse_yaml(path, &out).map_err(|_| unsupported(path, key))?;
    let expected: Vec<(String, Value)> =
        before.into_iter().filter(|(k, _)| k != key && !k.starts_with(&format!("{key}."))).collect();
    if !same_entries(expected, after) {
        return Err(unsupported(path, key));
    }
    Ok(Some(out))
}

fn same_entries(mut a: Vec<(String, Value)>, mut b: Vec<(String, Value)>) -> bool {
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    a == b
}

/// Reads a file's text, the one way config files are read; a missing file
/// is empty. Reads at most [`MAX_FILE_BYTES`] (plus one, to tell), so a huge
/// file is refused without being loaded.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    let io = |source| ConfigError::Io { file: path.to_owned(), source };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(source) => return Err(io(source)),
    };
    let mut bytes = Vec::new();
    (&file).take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge { file: path.to_owned(), bytes: file.metadata().ok().map(|m| m.len()) });
    }
    String::from_utf8(bytes).map_err(|e| ConfigError::Malformed {
        file: path.to_owned(),
        line: 0,
        column: 0,
        message: format!("byte {} is not UTF-8 text; save the file as UTF-8", e.utf8_error().valid_up_to() + 1),
    })
}

/// Writes a file atomically, creating its directory. The user file may be
/// a link a dotfile manager keeps, and is written through; the files under
/// `.beads/` are never followed through links.
pub fn write_text(path: &Path, text: &str) -> Result<(), ConfigError> {
    let io = |source| ConfigError::Io { file: path.to_owned(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let links =
        if super::user_config_path().as_deref() == Some(path) { fsutil::Links::Follow } else { fsutil::Links::Refuse };
    fsutil::write_atomic(path, text.as_bytes(), links).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my settings\nsync:\n  mode: git-portable   # keep this comment\n\nfederation:\n  # the hub\n  remote: dolthub://org/beads\n  custom_thing: 42\nunknown:\n  nested: [1, 2]\n";

    fn path() -> &'static Path {
        Path::new("config.yaml")
    }

    #[test]
    fn a_value_unset_could_not_take_back_is_not_written() {
        // Found by the fuzzer: an anchor before a YAML document-end marker.
        let set = set_in_text(path(), "a: &aitna\n...", "a.b", &Value::Scalar("x".into()));
        assert!(set.is_err(), "{set:?}");
    }

    #[test]
    fn replacing_a_value_keeps_comments_order_and_unknown_keys() {
        let out = set_in_text(path(), FILE, "sync.mode", &Value::Scalar("dolt-native".into())).expect("set");
        assert_eq!(out, FILE.replace("mode: git-portable", "mode: dolt-native"));
    }

    #[test]
    fn new_keys_go_under_their_parent_and_unset_restores_the_file() {
        let endpoint = "federation.peers.staging.endpoint";
        let out =
            set_in_text(path(), FILE, endpoint, &Value::Scalar("dolthub://myorg/staging-beads".into())).expect("set");
        assert!(
            out.contains(
                "  custom_thing: 42\n  peers:\n    staging:\n      endpoint: dolthub://myorg/staging-beads\nunknown:"
            ),
            "{out}"
        );
        let out2 = set_in_text(path(), &out, "federation.peers.staging.sovereignty", &Value::Scalar("T3".into()))
            .expect("set");
        assert!(out2.contains("      endpoint: dolthub://myorg/staging-beads\n      sovereignty: T3\n"), "{out2}");
        let back = unset_in_text(path(), &out2, "federation.peers.staging").expect("unset").expect("was set");
        assert_eq!(back, FILE);
    }

    #[test]
    fn values_that_yaml_would_misread_are_quoted() {
        let out = set_in_text(path(), "", "a.b", &Value::Scalar("yes".into())).expect("set");
        assert_eq!(out, "a:\n  b: 'yes'\n");
        let out = set_in_text(path(), "", "a.b", &Value::Scalar("true".into())).expect("set");
        assert_eq!(out, "a:\n  b: 'true'\n");
        let out = set_in_text(path(), "", "x", &Value::List(vec!["wisp".into(), "a: b".into()])).expect("set");
        assert_eq!(out, "x:\n  - wisp\n  - 'a: b'\n");
    }

    #[test]
    fn unset_of_a_missing_key_is_none() {
        assert!(unset_in_text(path(), FILE, "nope.key").expect("unset").is_none());
    }

    #[test]
    fn lines_the_editor_cannot_see_are_refused() {
        // Found by the `config` fuzz target: YAML reads the lone \r as a line
        // break, the editor did not, and unset then missed the key it had set.
        let text = "federation:\n  peers:\r  peers:\n    staging:\n      endpoint: x\n";
        let key = "federation.peers.staging.sovereignty";
        let err = set_in_text(path(), text, key, &Value::Scalar("T1".into())).expect_err("lone CR");
        assert!(err.to_string().contains("config.yaml:2:9: a line break U+000D"), "{err}");
        assert!(unset_in_text(path(), "a: 1\u{2028}b: 2\n", "a").is_err());
        // Also found by the fuzzer: a tag alone on a line hid the key just set.
        let text = "federation:\n  peers:\n   !tag\n    staging:\n      endpoint: x\n";
        let err = set_in_text(path(), text, key, &Value::Scalar("T1".into())).expect_err("tag line");
        assert!(err.to_string().contains("cannot safely edit"), "{err}");
        // Windows line ends are fine.
        let out = set_in_text(path(), "a: 1\r\nb: 2\r\n", "b", &Value::Scalar("3".into())).expect("CRLF");
        assert_eq!(out, "a: 1\nb: '3'\n");
    }

    #[test]
    fn flow_style_is_refused_not_corrupted() {
        let text = "federation: {remote: x}\n";
        let err = set_in_text(path(), text, "federation.sovereignty", &Value::Scalar("T2".into()));
        assert!(err.is_err());
    }
}
