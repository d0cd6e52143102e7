//! Error kinds and the one mapping from errors to exit codes.
//!
//! Handlers return `anyhow::Result`; where the exit code or a hint matters
//! they raise a [`UserError`]. Library modules keep their own typed errors
//! (`DoltError`, `ConfigError`, …) so callers can branch on them; this module
//! only decides how an error ends the process.

use std::fmt;
use std::fmt::Write as _;

/// Exit codes shared by every bd executable.
pub mod exit {
    /// Everything succeeded.
    pub const SUCCESS: u8 = 0;
    /// The command failed.
    pub const FAILURE: u8 = 1;
    /// The command line was wrong.
    pub const USAGE: u8 = 2;
    /// Some peers succeeded and others failed (`--all`).
    pub const PARTIAL: u8 = 3;
    /// The front door found no such command.
    pub const NOT_A_COMMAND: u8 = 127;

    /// The code for an operation over `total` peers of which `failed` failed:
    /// success, failure when all (or the only one) failed, partial otherwise.
    #[must_use]
    pub fn for_peers(failed: usize, total: usize) -> u8 {
        match failed {
            0 => SUCCESS,
            n if n == total => FAILURE,
            _ => PARTIAL,
        }
    }
}

/// How an error should end the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A failure of the operation (exit 1).
    Failure,
    /// Bad input on the command line (exit 2).
    Usage,
    /// Part of a multi-peer operation failed (exit 3).
    Partial,
    /// The front door found no such command (exit 127).
    NotACommand,
}

/// An error meant for the user: a message, an optional hint that says how to
/// fix it, and the kind that picks the exit code.
#[derive(Debug, Clone)]
pub struct UserError {
    kind: Kind,
    message: String,
    hint: Option<String>,
}

impl UserError {
    /// A failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self { kind: Kind::Failure, message: message.into(), hint: None }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self { kind: Kind::Usage, message: message.into(), hint: None }
    }

    /// A partial failure (exit 3).
    pub fn partial(message: impl Into<String>) -> Self {
        Self { kind: Kind::Partial, message: message.into(), hint: None }
    }

    /// An unknown command (exit 127).
    pub fn not_a_command(message: impl Into<String>) -> Self {
        Self { kind: Kind::NotACommand, message: message.into(), hint: None }
    }

    /// Adds the sentence that tells the user how to fix the problem.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The kind, which picks the exit code.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The fix, if one is known.
    #[must_use]
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// The exit code for an error: the first [`UserError`] or clap error in the
/// chain decides; anything else is a plain failure.
#[must_use]
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(user) = cause.downcast_ref::<UserError>() {
            return match user.kind {
                Kind::Failure => exit::FAILURE,
                Kind::Usage => exit::USAGE,
                Kind::Partial => exit::PARTIAL,
                Kind::NotACommand => exit::NOT_A_COMMAND,
            };
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return exit::USAGE;
        }
    }
    exit::FAILURE
}

/// The hint carried anywhere in the chain, if any.
#[must_use]
pub fn hint(err: &anyhow::Error) -> Option<&str> {
    err.chain().find_map(|c| c.downcast_ref::<UserError>().and_then(UserError::hint))
}

/// User input as an error message quotes it: control characters escaped, so
/// a message cannot drive the terminal, and long input cut, so a megabyte
/// argument does not bury the rule that rejected it.
#[must_use]
pub fn quoted(input: &str) -> String {
    const SHOWN: usize = 80;
    let mut out = String::from("'");
    for c in input.chars().take(SHOWN) {
        if is_unusual(c) { out.extend(c.escape_debug()) } else { out.push(c) }
    }
    out.push('\'');
    let total = input.chars().count();
    if total > SHOWN {
        let _ = write!(out, " (cut; {total} characters in all)");
    }
    out
}

/// The first character of `input` that a person cannot be trusted to see
/// (a control or invisible formatting character, and with `ascii_only` any
/// non-ASCII one, such as the Cyrillic 'а' that looks like a Latin 'a'),
/// described for an error message.
#[must_use]
pub fn unusual_char(input: &str, ascii_only: bool) -> Option<String> {
    let (at, c) = input.chars().enumerate().find(|&(_, c)| is_unusual(c) || (ascii_only && !c.is_ascii()))?;
    let what = if c.is_control() {
        "control character"
    } else if is_unusual(c) {
        "invisible character"
    } else {
        "non-ASCII character"
    };
    Some(format!("the {what} '{}' (U+{:04X}) at position {}", c.escape_debug(), u32::from(c), at + 1))
}

/// Whether `c` is a control or a character Rust's debug escaping hides
/// (zero-width and bidirectional formatting marks among them).
fn is_unusual(c: char) -> bool {
    c.is_control() || (c.escape_debug().nth(1).is_some() && !matches!(c, '\\' | '\'' | '"'))
}

#[cfg(test)]
mod tests {
    use super::exit;

    #[test]
    fn peer_outcomes_map_to_exit_codes() {
        assert_eq!(exit::for_peers(0, 3), exit::SUCCESS);
        assert_eq!(exit::for_peers(1, 3), exit::PARTIAL);
        assert_eq!(exit::for_peers(3, 3), exit::FAILURE);
        assert_eq!(exit::for_peers(1, 1), exit::FAILURE);
    }

    #[test]
    fn input_in_messages_is_escaped_cut_and_look_alikes_are_named() {
        assert_eq!(super::quoted("a\u{1b}[31mb"), "'a\\u{1b}[31mb'");
        assert!(super::quoted(&"x".repeat(1000)).ends_with("(cut; 1000 characters in all)"));
        assert_eq!(
            super::unusual_char("st\u{430}ging", true).as_deref(),
            Some("the non-ASCII character '\u{430}' (U+0430) at position 3")
        );
        assert_eq!(super::unusual_char("caf\u{e9}", false), None);
        assert!(super::unusual_char("a\u{202e}b", false).is_some_and(|d| d.contains("invisible character")));
        assert!(super::unusual_char("a\tb", false).is_some_and(|d| d.contains("control character '\\t'")));
    }
}
