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

use crate::error::UserError;

/// Names that would clash with dolt's or git's own.
pub const RESERVED_NAMES: [&str; 4] = ["origin", "main", "master", "HEAD"];

/// The schemes a user may write, as the error lists them.
pub const ACCEPTED: &str =
    "dolthub://, gs://, s3://, file://, https:// (http:// for 127.0.0.1), ssh://, or git SSH format (git@host:path)";

/// Checks a peer name: starts with a letter; letters, digits, `-`, `_`; at
/// most 64 characters; not reserved.
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
    let rule =
        "a peer name must start with a letter and contain only letters, digits, '-' and '_' (at most 64 characters)";
    let valid = name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid { Ok(()) } else { Err(UserError::usage(format!("invalid peer name '{name}': {rule}"))) }
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
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let invalid = |why: &str| {
            UserError::usage(format!("Invalid endpoint format '{raw}': {why}"))
                .with_hint(format!("the scheme must be one of: {ACCEPTED}"))
        };
        let trimmed = raw.trim();
        if trimmed != raw || raw.is_empty() || raw.chars().any(char::is_whitespace) {
            return Err(invalid("endpoints contain no spaces"));
        }
        let (kind, dolt_url) = if let Some((scheme, rest)) = raw.split_once("://") {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            if host.split_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':')) {
                return Err(UserError::usage(format!(
                    "Invalid endpoint format for a {scheme}:// endpoint: it carries a password"
                ))
                .with_hint("give the user with --user and the password with --password-stdin or BD_PEER_PASSWORD"));
            }
            let need = |ok: bool, what: &str| if ok { Ok(()) } else { Err(invalid(what)) };
            match scheme {
                "dolthub" => {
                    need(!host.is_empty() && !path.is_empty() && !path.contains('/'), "expected dolthub://org/repo")?;
                    (Kind::Dolthub, format!("https://doltremoteapi.dolthub.com/{host}/{path}"))
                }
                "gs" => {
                    need(!host.is_empty() && !path.is_empty(), "expected gs://bucket/path")?;
                    (Kind::Gcs, raw.to_owned())
                }
                "s3" => {
                    need(!host.is_empty() && !path.trim_matches('/').is_empty(), "expected s3://bucket/path")?;
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
                _ => return Err(invalid(&format!("unsupported scheme '{scheme}://'"))),
            }
        } else if let Some((user_host, path)) = raw.split_once(':')
            && let Some((user, host)) = user_host.split_once('@')
            && !user.is_empty()
            && !host.is_empty()
            && !path.is_empty()
            && !host.contains('/')
        {
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
}
