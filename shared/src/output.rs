//! The one place that writes to stdout and stderr.
//!
//! A handler returns a value that implements [`Report`]; the [`Printer`]
//! renders it as JSON (`--json`, stable `snake_case` keys) or as human text,
//! and stays silent with `--quiet`. Colour is used only when the stream is a
//! terminal (or `--color always`), so output to a pipe is plain. Warnings and
//! progress go to stderr; progress only when stderr is a terminal.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use serde::Serialize;

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// The spelling used on the command line and in `BD_COLOR`: clap's, so
    /// the flag, the variable and completion share one parser.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Always => "always",
            Self::Never => "never",
        }
    }

    /// "auto, always, never", for errors.
    #[must_use]
    pub fn spellings() -> String {
        use clap::ValueEnum as _;
        Self::value_variants().iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// Styling for human output; a no-op when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// A style that never colours, for tests and plain rendering.
    #[must_use]
    pub fn plain() -> Self {
        Self { color: false }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    /// Bold text.
    #[must_use]
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Green text, for success.
    #[must_use]
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Yellow text, for warnings.
    #[must_use]
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Red text, for errors.
    #[must_use]
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Dim text, for secondary detail.
    #[must_use]
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// A command's result: serialisable for `--json`, renderable for people.
pub trait Report: Serialize {
    /// The human rendering, ending with a newline (or empty for no output).
    fn human(&self, style: Style) -> String;

    /// Failures inside a result that still gets printed (one peer of
    /// several); shown on stderr.
    fn errors(&self) -> Vec<String> {
        Vec::new()
    }

    /// The exit code this result asks for.
    fn exit_code(&self) -> u8 {
        crate::error::exit::SUCCESS
    }

    /// Whether the command already wrote its result on stdout as data
    /// (`bd export -o -`), so nothing may be added there.
    fn wrote_stdout(&self) -> bool {
        false
    }
}

/// Renders reports and diagnostics according to the global options.
#[derive(Debug, Clone)]
pub struct Printer {
    json: bool,
    quiet: bool,
    verbose: bool,
    stdout_style: Style,
    stderr_style: Style,
    stderr_tty: bool,
}

impl Printer {
    /// Builds the printer from the global options and the real streams.
    #[must_use]
    pub fn new(json: bool, quiet: bool, verbose: bool, color: ColorChoice) -> Self {
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let pick = |tty: bool| Style {
            color: match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => tty,
            },
        };
        Self { json, quiet, verbose, stdout_style: pick(stdout_tty), stderr_style: pick(stderr_tty), stderr_tty }
    }

    /// Whether JSON output was requested.
    #[must_use]
    pub fn json(&self) -> bool {
        self.json
    }

    /// Whether verbose diagnostics were requested.
    #[must_use]
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Prints a command's result on stdout.
    pub fn report<R: Report + ?Sized>(&self, report: &R) {
        if report.wrote_stdout() {
            // The data is the output; a summary would corrupt it.
        } else if self.json {
            let line = serde_json::to_string(report)
                .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode output: {e}\"}}"));
            write_stdout(&format!("{line}\n"));
        } else if !self.quiet {
            write_stdout(&neutralise(&report.human(self.stdout_style), self.stdout_style));
        }
        for error in report.errors() {
            write_stderr(&neutralise(&format!("{} {error}\n", self.stderr_style.red("error:")), self.stderr_style));
        }
    }

    /// Writes raw text on stdout (for help, completions and other fixed text).
    pub fn raw(&self, text: &str) {
        write_stdout(text);
    }

    /// A warning on stderr, unless quiet.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            write_stderr(&neutralise(
                &format!("{} {message}\n", self.stderr_style.yellow("warning:")),
                self.stderr_style,
            ));
        }
    }

    /// A detail on stderr shown only with `--verbose`.
    pub fn debug(&self, message: &str) {
        if self.verbose && !self.quiet {
            write_stderr(&neutralise(&format!("{}\n", self.stderr_style.dim(message)), self.stderr_style));
        }
    }

    /// Progress on stderr: only on a terminal, never with `--json` or `--quiet`.
    pub fn progress(&self, message: &str) {
        if self.stderr_tty && !self.json && !self.quiet {
            write_stderr(&neutralise(&format!("{}\n", self.stderr_style.dim(message)), self.stderr_style));
        }
    }

    /// Prints an error (with its causes and hint) on stderr; with `--json`
    /// also prints `{"error": …, "exit_code": …}` on stdout so scripts that
    /// read stdout see the failure.
    pub fn error(&self, err: &anyhow::Error, exit_code: u8) {
        let mut text = format!("{} {err}\n", self.stderr_style.red("error:"));
        for cause in err.chain().skip(1) {
            let _ = writeln!(text, "  caused by: {cause}");
        }
        let hint = crate::error::hint(err);
        if let Some(hint) = hint {
            let _ = writeln!(text, "{} {hint}", self.stderr_style.bold("hint:"));
        }
        write_stderr(&neutralise(&text, self.stderr_style));
        if self.json {
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            let value = serde_json::json!({
                "error": chain.join(": "),
                "hint": hint,
                "exit_code": exit_code,
            });
            write_stdout(&format!("{value}\n"));
        }
    }
}

/// Text for a person's screen with every control character shown as a
/// visible escape (`\u{1b}`), so nothing that came from the database or a
/// peer — a title, a comment, a remote's message — can move the cursor,
/// clear the screen or retitle the terminal. Line breaks and tabs stay. The
/// colour sequences bd itself writes pass when colour is on (so a text can
/// at worst change a colour); every other escape is shown.
fn neutralise(text: &str, style: Style) -> String {
    const OURS: [&str; 6] = ["\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[0m"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b'
            && style.color
            && let Some(seq) = OURS.iter().find(|seq| rest.starts_with(**seq))
        {
            out.push_str(seq);
            rest = &rest[seq.len()..];
            continue;
        }
        let hidden = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        if hidden {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

// A closed pipe (`bd list | head`) is not an error worth reporting.
fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_spellings_are_clap_s() {
        use clap::ValueEnum as _;
        for choice in ColorChoice::value_variants() {
            assert_eq!(ColorChoice::from_str(choice.as_str(), false), Ok(*choice));
        }
        assert_eq!(ColorChoice::spellings(), "auto, always, never");
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let hostile = "title\x1b]0;owned\x07\x1b[2J\r\u{202e}end\n\tnext";
        let plain = neutralise(hostile, Style::plain());
        assert_eq!(plain, "title\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{d}\\u{202e}end\n\tnext");
        // bd's own colours pass on a colour terminal; a peer's clear-screen does not.
        let color = Style { color: true };
        let styled = format!("{}{}", color.bold("x"), "\x1b[2J");
        assert_eq!(neutralise(&styled, color), "\x1b[1mx\x1b[0m\\u{1b}[2J");
        assert_eq!(neutralise(&styled, Style::plain()), "\\u{1b}[1mx\\u{1b}[0m\\u{1b}[2J");
    }
}
