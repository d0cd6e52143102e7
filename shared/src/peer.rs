//! Peer names and endpoints: the one parser that turns what a user writes
//! into the URL dolt understands.
//!
//! | Endpoint | dolt remote URL |
//! |---|---|
//! | `dolthub://org/repo` | `https://doltremoteapi.dolthub.com/org/repo` |
//! | `gs://bucket/path` | `gs://bucket/path` |
//! | `s3://bucket/path` | `aws://[bucket:bucket]/path` (DynamoDB table named like the bucket) |
//! | `file:///abs/path` | `file:///abs/path` |
//! | `https://host/path` | `https://host/path` |
//! | `http://127.0.0.1:PORT/db` | the same (loopback only, for testing) |
//! | `ssh://[user@]host/path` | `git+ssh://[user@]host/path` |
//! | `git@host:path` | `git+ssh://git@host/./path` (`/path` when absolute) |

use std::fmt;

use crate::error::{self, UserError};

/// Names that would clash with dolt's or git's own.
pub const RESERVED_NAMES: [&str; 4] = ["origin", "main", "master", "HEAD"];

/// The schemes a user may write, as the error lists them.
pub const ACCEPTED: &str =
    "dolthub://, gs://, s3://, file://, https:// (http:// for 127.0.0.1), ssh://, or git SSH format (git@host:path)";

/// The longest peer name: it becomes a dolt remote name and a YAML key.
pub const MAX_NAME: usize = 64;

/// The longest endpoint accepted (a long file path fits; more is a mistake).
pub const MAX_ENDPOINT: usize = 4096;

/// Checks a peer name: starts with a letter; ASCII letters, digits, `-`,
/// `_`; at most [`MAX_NAME`] characters; not reserved. Non-ASCII letters are
/// refused because a look-alike (Cyrillic 'а' for Latin 'a') would name a
/// second peer that no one can tell from the first.
pub fn check_name(name: &str) -> Result<(), UserError> {
    if RESERVED_NAMES.contains(&name) {
        return Err(UserError::usage(format!(
            "invalid peer name '{name}': '{name}' is reserved (reserved names: {})",
            RESERVED_NAMES.join(", ")
        ))
        .with_hint("choose another name, e.g. the partner town's name"));
    }
    if matches!(name.to_ascii_lowercase().as_str(), "null" | "true" | "false" | "yes" | "no" | "on" | "off") {
        return Err(UserError::usage(format!(
            "invalid peer name '{name}': YAML reads it as a value, not a name (null, true, false, yes, no, on, off are refused)"
        )));
    }
    let rule = "a peer name must start with a letter and contain only ASCII letters, digits, '-' and '_' (at most 64 characters)";
    let problem = if let Some(odd) = error::unusual_char(name, true) {
        Some(format!("it contains {odd}"))
    } else if name.len() > MAX_NAME {
        Some(format!("it is {} characters long", name.len()))
    } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        Some("it does not start with a letter".to_owned())
    } else {
        name.chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map(|c| format!("it contains '{c}'"))
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(UserError::usage(format!("invalid peer name {}: {problem}; {rule}", error::quoted(name)))
            .with_hint("choose a name such as partner-town or backup_2")),
    }
}

/// The kind of endpoint, by the scheme the user wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `dolthub://`
    Dolthub,
    /// `gs://`
    Gcs,
    /// `s3://`
    S3,
    /// `file://`
    File,
    /// `https://` or loopback `http://`
    Http,
    /// `ssh://`
    Ssh,
    /// `git@host:path`
    GitSsh,
}

/// A parsed endpoint: what the user wrote and what dolt is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    raw: String,
    kind: Kind,
    dolt_url: String,
}

impl Endpoint {
    /// Parses an endpoint; anything unsupported is "Invalid endpoint format".
    ///
    /// Beyond the scheme's shape: no spaces or control characters anywhere
    /// (dolt and the config file would carry them on), an ASCII host (a
    /// look-alike host is a different server), and no host or user starting
    /// with `-` (ssh would read it as an option).
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        // Every message shows the endpoint with its secrets masked.
        let shown = error::quoted(&redacted(raw));
        let invalid = |why: &str| {
            UserError::usage(format!("Invalid endpoint format {shown}: {why}"))
                .with_hint(format!("the scheme must be one of: {ACCEPTED}"))
        };
        if carries_secret(raw) {
            return Err(UserError::usage(format!(
                "Invalid endpoint format {shown}: it carries a password or token, which would be stored in plain \
                 text in the config file"
            ))
            .with_hint("give the user with --user and the password with --password-stdin or BD_PEER_PASSWORD"));
        }
        if raw.len() > MAX_ENDPOINT {
            return Err(invalid(&format!("it is {} bytes long; endpoints are at most {MAX_ENDPOINT}", raw.len())));
        }
        if let Some(odd) = error::unusual_char(raw, false) {
            return Err(invalid(&format!("it contains {odd}")));
        }
        if raw.is_empty() || raw.chars().any(char::is_whitespace) {
            return Err(invalid("endpoints contain no spaces"));
        }
        let check_host = |host: &str| {
            if let Some(odd) = error::unusual_char(host, true) {
                return Err(invalid(&format!(
                    "the host contains {odd}; write an internationalized host in its ASCII (xn--) form"
                )));
            }
            if host.starts_with('-') || host.contains("@-") {
                return Err(invalid("a host or user may not start with '-'"));
            }
            Ok(())
        };
        let (kind, dolt_url) = if let Some((scheme, rest)) = raw.split_once("://") {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            check_host(host)?;
            let need = |ok: bool, what: &str| if ok { Ok(()) } else { Err(invalid(what)) };
            // A bucket becomes part of dolt's `aws://[table:bucket]` syntax.
            let bucket = |host: &str| {
                !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
            };
            match scheme {
                "dolthub" => {
                    need(!host.is_empty() && !path.is_empty() && !path.contains('/'), "expected dolthub://org/repo")?;
                    (Kind::Dolthub, format!("https://doltremoteapi.dolthub.com/{host}/{path}"))
                }
                "gs" => {
                    need(
                        bucket(host) && !path.is_empty(),
                        "expected gs://bucket/path (bucket: a-z, 0-9, '.', '-', '_')",
                    )?;
                    (Kind::Gcs, raw.to_owned())
                }
                "s3" => {
                    need(
                        bucket(host) && !path.trim_matches('/').is_empty(),
                        "expected s3://bucket/path (bucket: a-z, 0-9, '.', '-', '_')",
                    )?;
                    (Kind::S3, format!("aws://[{host}:{host}]/{}", path.trim_matches('/')))
                }
                "file" => {
                    need(host.is_empty() && !path.is_empty(), "expected file:///absolute/path")?;
                    (Kind::File, raw.to_owned())
                }
                "https" => {
                    need(!host.is_empty() && !path.is_empty(), "expected https://host/path")?;
                    (Kind::Http, raw.to_owned())
                }
                "http" => {
                    let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
                    need(
                        matches!(hostname, "127.0.0.1" | "localhost" | "[::1]") && !path.is_empty(),
                        "plain http:// is accepted only for 127.0.0.1 (testing); use https://",
                    )?;
                    (Kind::Http, raw.to_owned())
                }
                "ssh" => {
                    need(!host.is_empty() && !path.is_empty(), "expected ssh://[user@]host/path")?;
                    (Kind::Ssh, format!("git+ssh://{rest}"))
                }
                _ => return Err(invalid(&format!("unsupported scheme {}", error::quoted(&format!("{scheme}://"))))),
            }
        } else if let Some((user_host, path)) = raw.split_once(':')
            && let Some((user, host)) = user_host.split_once('@')
            && !user.is_empty()
            && !host.is_empty()
            && !path.is_empty()
            && !host.contains('/')
        {
            check_host(user_host)?;
            let path = if path.starts_with('/') { path.to_owned() } else { format!("/./{path}") };
            (Kind::GitSsh, format!("git+ssh://{user}@{host}{path}"))
        } else {
            return Err(invalid("no scheme"));
        };
        Ok(Self { raw: raw.to_owned(), kind, dolt_url })
    }

    /// The endpoint as the user wrote it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The kind of endpoint.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The URL registered as the dolt remote.
    #[must_use]
    pub fn dolt_url(&self) -> &str {
        &self.dolt_url
    }
}

/// Query parameters whose value is a secret, by what their name contains.
const SECRET_PARAMS: [&str; 4] = ["password", "passwd", "token", "secret"];

/// The user part before the host (`user:password@` with a scheme, or the
/// `user@` of `user@host:path`), if any.
fn userinfo(raw: &str) -> Option<&str> {
    let rest = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map(|(userinfo, _)| userinfo)
}

/// The `name=value` pairs of the query.
fn query(raw: &str) -> impl Iterator<Item = (&str, &str)> {
    let query = raw.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query.split('&').filter_map(|pair| pair.split_once('='))
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| name.contains(s))
}

/// Whether an endpoint holds a password (`user:password@host`) or a secret
/// query parameter (`?password=…`, `?token=…`, `?secret=…`).
#[must_use]
pub fn carries_secret(raw: &str) -> bool {
    userinfo(raw).is_some_and(|u| u.contains(':')) || query(raw).any(|(name, _)| is_secret_param(name))
}

/// The endpoint with every password and secret parameter replaced by `***`,
/// for messages.
#[must_use]
pub fn redacted(raw: &str) -> String {
    let mut out = raw.to_owned();
    if let Some(password) = userinfo(raw).and_then(|u| u.split_once(':')).map(|(_, p)| p).filter(|p| !p.is_empty()) {
        out = out.replacen(&format!(":{password}@"), ":***@", 1);
    }
    for (name, value) in query(raw).filter(|(name, value)| is_secret_param(name) && !value.is_empty()) {
        out = out.replacen(&format!("{name}={value}"), &format!("{name}=***"), 1);
    }
    out
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_examples_map_to_dolt_urls() {
        let cases = [
            ("dolthub://myorg/staging-beads", "https://doltremoteapi.dolthub.com/myorg/staging-beads"),
            ("gs://mybucket/beads-backup", "gs://mybucket/beads-backup"),
            ("s3://mybucket/beads-backup", "aws://[mybucket:mybucket]/beads-backup"),
            ("file:///home/user/beads-backup", "file:///home/user/beads-backup"),
            ("https://host/path", "https://host/path"),
            ("http://127.0.0.1:50051/db", "http://127.0.0.1:50051/db"),
            ("ssh://host/path", "git+ssh://host/path"),
            ("ssh://me@host/srv/beads.git", "git+ssh://me@host/srv/beads.git"),
            ("git@github.com:org/beads.git", "git+ssh://git@github.com/./org/beads.git"),
            ("git@host:/abs/beads.git", "git+ssh://git@host/abs/beads.git"),
        ];
        for (raw, url) in cases {
            assert_eq!(Endpoint::parse(raw).expect(raw).dolt_url(), url, "{raw}");
        }
    }

    #[test]
    fn other_formats_are_invalid_and_list_the_schemes() {
        for raw in ["ftp://x/y", "http://example.com/db", "just-a-name", "file://relative/x", "dolthub://org", ""] {
            let err = Endpoint::parse(raw).expect_err(raw);
            assert!(err.to_string().starts_with("Invalid endpoint format"), "{err}");
            assert!(err.hint().is_some_and(|h| h.contains("dolthub://, gs://, s3://, file://")), "{raw}");
        }
    }

    #[test]
    fn name_rules() {
        for ok in ["staging", "partner-town", "a", "b_2"] {
            check_name(ok).expect(ok);
        }
        for bad in ["origin", "main", "master", "HEAD", "9lives", "-x", "has space", "dot.name", &"a".repeat(65)] {
            check_name(bad).expect_err(bad);
        }
    }

    #[test]
    fn look_alike_and_control_characters_in_names_are_named_in_the_error() {
        // Cyrillic 'а' (U+0430) looks exactly like the Latin 'a' of "staging".
        let err = check_name("st\u{430}ging").expect_err("look-alike");
        assert!(err.to_string().contains("non-ASCII character 'а' (U+0430) at position 3"), "{err}");
        assert!(err.to_string().contains("only ASCII letters"), "{err}");
        let err = check_name("ok\u{1b}[31m").expect_err("escape");
        assert!(err.to_string().contains("'ok\\u{1b}[31m'"), "the name is shown escaped: {err}");
        assert!(err.to_string().contains("control character"), "{err}");
        let err = check_name("a\u{200b}b").expect_err("zero-width space");
        assert!(err.to_string().contains("invisible character"), "{err}");
        let err = check_name(&"a".repeat(1_000_000)).expect_err("huge");
        assert!(err.to_string().len() < 400, "a huge name is cut in the message");
        assert!(err.to_string().contains("1000000 characters long"), "{err}");
    }

    #[test]
    fn endpoints_with_secrets_are_refused_and_shown_masked() {
        for (raw, shown) in [
            ("https://fed:Sup3rS3cret@host/db", "https://fed:***@host/db"),
            ("http://fed:Sup3rS3cret@127.0.0.1:1/db", "http://fed:***@127.0.0.1:1/db"),
            ("https://host/db?password=Sup3rS3cret", "https://host/db?password=***"),
            ("https://host/db?a=1&access_token=Sup3rS3cret#x", "https://host/db?a=1&access_token=***#x"),
            ("https://host/db?Secret=Sup3rS3cret", "https://host/db?Secret=***"),
            ("git:Sup3rS3cret@host:org/repo", "git:***@host:org/repo"),
            ("ssh://me:Sup3rS3cret@host/path", "ssh://me:***@host/path"),
        ] {
            let err = Endpoint::parse(raw).expect_err(raw).to_string();
            assert!(!err.contains("Sup3rS3cret"), "{raw}: {err}");
            assert!(err.contains(shown) && err.contains("carries a password or token"), "{raw}: {err}");
        }
        Endpoint::parse("https://host/db?branch=main").expect("a harmless query");
        assert_eq!(redacted("https://user@host/db"), "https://user@host/db");
    }

    #[test]
    fn hostile_endpoints_are_refused_with_the_reason() {
        let cases = [
            ("file:///tmp/x\u{1b}[2J", "control character"),
            ("file:///tmp/\u{202e}x", "invisible character"),
            ("https://g\u{456}thub.com/org/repo", "the host contains the non-ASCII character"),
            ("git@g\u{456}thub.com:org/repo", "the host contains the non-ASCII character"),
            ("ssh://-oProxyCommand=touch%20x/path", "may not start with '-'"),
            ("ssh://me@-oProxyCommand=x/path", "may not start with '-'"),
            ("-oProxyCommand=x@host:path", "may not start with '-'"),
            ("s3://Bucket:evil]/path", "expected s3://bucket/path"),
            ("file:///\u{a0}x", "invisible character"),
            ("file:///a b", "no spaces"),
        ];
        for (raw, why) in cases {
            let err = Endpoint::parse(raw).expect_err(raw);
            assert!(err.to_string().starts_with("Invalid endpoint format"), "{err}");
            assert!(err.to_string().contains(why), "{raw}: {err}");
        }
        let err = Endpoint::parse(&format!("file:///{}", "x".repeat(10_000))).expect_err("huge");
        assert!(err.to_string().contains("endpoints are at most 4096"), "{err}");
        // Non-ASCII is fine in a path.
        Endpoint::parse("file:///home/jos\u{e9}/beads").expect("accented path");
    }
}
