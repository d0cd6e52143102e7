//! Data sovereignty tiers, enforced.
//!
//! Tiers are cumulative: T2 and above push only to endpoints matching
//! `federation.allowed-remote-patterns`; T3 replaces every person identifier
//! with a stable keyed pseudonym; T4 removes them. Emails inside free text
//! are scrubbed at T3 and T4. The pseudonym key (`.beads/pseudonym.key`) is
//! random, local and never shared, so pseudonyms cannot be reversed by peers.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::remote::Peer;
use crate::config::Tier;
use crate::credentials::{from_hex, to_hex};
use crate::error::UserError;
use crate::workspace::Workspace;

/// Refuses a push a tier forbids: at T2 and above the endpoint must match
/// one of `patterns`.
pub fn check_push(peer: &Peer, patterns: &[String]) -> Result<(), UserError> {
    if peer.tier < Tier::T2 {
        return Ok(());
    }
    let endpoint = peer.endpoint.as_str();
    if patterns.iter().any(|p| glob(p, endpoint) || glob(p, peer.endpoint.dolt_url())) {
        return Ok(());
    }
    let list = if patterns.is_empty() { "(none configured)".to_owned() } else { patterns.join(", ") };
    Err(UserError::failure(format!(
        "tier {} forbids pushing to peer '{}': its endpoint {endpoint} matches none of federation.allowed-remote-patterns: {list}",
        peer.tier, peer.name
    ))
    .with_hint(format!(
        "if this peer is allowed, add a pattern: `bd config set federation.allowed-remote-patterns '{endpoint}'` (`*` matches within one part of the host or path, `**` across `/`)"
    )))
}

/// Whether `url` matches `pattern` the way paths match: the scheme is
/// compared exactly; after it, `*` and `?` match within one part (one label
/// of the host, one segment of the path) and never across `.` in the host
/// or `/`; a part that is just `**` matches any number of parts. So
/// `https://*.corp.example.com/*` matches `https://git.corp.example.com/db`
/// but not `https://evil.example/x.corp.example.com/db`.
#[must_use]
pub fn glob(pattern: &str, url: &str) -> bool {
    let split = |s: &str| -> (Option<String>, String) {
        match s.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest.to_owned()),
            None => (None, s.to_owned()),
        }
    };
    let ((p_scheme, p_rest), (u_scheme, u_rest)) = (split(pattern), split(url));
    if p_scheme != u_scheme {
        return false;
    }
    let (p_parts, u_parts): (Vec<&str>, Vec<&str>) = (p_rest.split('/').collect(), u_rest.split('/').collect());
    parts_match(&p_parts, &u_parts, true)
}

/// Matches path parts; the first part is the host when `host` holds.
fn parts_match(pattern: &[&str], text: &[&str], host: bool) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(&"**"), _) => (0..=text.len()).any(|skip| parts_match(&pattern[1..], &text[skip..], host && skip == 0)),
        (Some(p), Some(t)) => {
            let one = if host {
                // A host is compared label by label.
                let (pl, tl): (Vec<&str>, Vec<&str>) = (p.split('.').collect(), t.split('.').collect());
                pl.len() == tl.len() && pl.iter().zip(&tl).all(|(p, t)| part_match(p, t))
            } else {
                part_match(p, t)
            };
            one && parts_match(&pattern[1..], &text[1..], false)
        }
        _ => false,
    }
}

/// Shell-style match within one part: `*` any run of characters, `?` one.
fn part_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Rewrites person identifiers for a T3 or T4 peer.
#[derive(Clone)]
pub struct Sanitizer {
    tier: Tier,
    mac: Hmac<Sha256>,
    /// Known people (lower-cased), longest first, scrubbed from free text too.
    known: Vec<String>,
}

impl std::fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sanitizer({})", self.tier)
    }
}

impl Sanitizer {
    /// A sanitizer for `tier`, with the workspace's pseudonym key (made on
    /// first use).
    pub fn new(workspace: &Workspace, tier: Tier) -> anyhow::Result<Self> {
        let path = workspace.beads_dir().join("pseudonym.key");
        // Whoever knows the key can reverse every pseudonym by guessing names:
        // it must be this machine's own (mode 0600, never from git).
        let key = if let Some(mut file) = crate::credentials::open_private(&path)? {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut file, &mut text)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            from_hex(text.trim()).filter(|k| k.len() == 32).ok_or_else(|| {
                anyhow::anyhow!("pseudonym key {} is damaged; remove it to make a new one", path.display())
            })?
        } else {
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
            crate::fsutil::write_private(&path, to_hex(&key).as_bytes())?;
            key
        };
        let mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| anyhow::anyhow!("bad pseudonym key"))?;
        Ok(Self { tier, mac, known: Vec::new() })
    }

    /// Also scrubs these people's names wherever they appear in free text as
    /// whole words, however short ("al" in "al will do it", not in "also").
    #[must_use]
    pub fn with_known_people(mut self, people: impl IntoIterator<Item = String>) -> Self {
        let mut known: Vec<String> =
            people.into_iter().map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty()).collect();
        known.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        known.dedup();
        self.known = known;
        self
    }

    /// A person identifier as the peer may see it: a stable pseudonym (T3)
    /// or nothing (T4).
    #[must_use]
    pub fn person(&self, who: Option<&str>) -> Option<String> {
        let who = who?.trim();
        if who.is_empty() || self.tier >= Tier::T4 {
            return None;
        }
        let mut mac = self.mac.clone();
        mac.update(who.to_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        Some(format!("person-{}", &to_hex(&digest)[..10]))
    }

    /// Free text with every email address and every known person replaced.
    #[must_use]
    pub fn text(&self, text: &str) -> String {
        let mut out = self.scrub_emails(text);
        for person in &self.known {
            let replacement = self.person(Some(person)).unwrap_or_else(|| "[redacted]".to_owned());
            out = replace_ignoring_case(&out, person, &replacement);
        }
        out
    }

    fn scrub_emails(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for token in text.split_inclusive(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c)) {
            let (word, sep) = match token.char_indices().last() {
                Some((idx, c)) if c.is_whitespace() || "<>()[],;:\"'".contains(c) => (&token[..idx], &token[idx..]),
                _ => (token, ""),
            };
            if is_email(word) {
                match self.person(Some(word.trim_end_matches('.'))) {
                    Some(p) => out.push_str(&p),
                    None => out.push_str("[redacted]"),
                }
                if word.ends_with('.') {
                    out.push('.');
                }
            } else {
                out.push_str(word);
            }
            out.push_str(sep);
        }
        out
    }
}

/// Replaces every whole-word occurrence of `needle` (lower-case) in `text`,
/// ignoring case, walking characters so any Unicode text is safe.
fn replace_ignoring_case(text: &str, needle: &str, replacement: &str) -> String {
    let needle: Vec<char> = needle.chars().collect();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let same = |a: char, b: char| a == b || a.to_lowercase().eq(b.to_lowercase());
    let word = |i: usize| chars.get(i).is_some_and(|(_, c)| c.is_alphanumeric() || *c == '_');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let matches = i + needle.len() <= chars.len()
            && needle.iter().enumerate().all(|(k, n)| same(chars[i + k].1, *n))
            && !(i > 0 && word(i - 1))
            && !word(i + needle.len());
        if matches && !needle.is_empty() {
            out.push_str(replacement);
            i += needle.len();
        } else {
            out.push(chars[i].1);
            i += 1;
        }
    }
    out
}

fn is_email(word: &str) -> bool {
    let word = word.trim_end_matches('.');
    let Some((local, domain)) = word.split_once('@') else { return false };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_paths() {
        assert!(glob("dolthub://myorg/*", "dolthub://myorg/staging"));
        assert!(glob("file:///srv/*/beads", "file:///srv/eu/beads"));
        assert!(!glob("dolthub://myorg/*", "dolthub://other/x"));
        assert!(glob("*", "anything"));
        assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
        // `*` stays within one part of the host or the path.
        assert!(glob("https://*.corp.example.com/*", "https://git.corp.example.com/db"));
        assert!(!glob("https://*.corp.example.com/*", "https://evil.example/x.corp.example.com/db"));
        assert!(!glob("https://*.corp.example.com/*", "https://a.b.corp.example.com/db"));
        assert!(!glob("file:///srv/*", "file:///srv/eu/beads"));
        assert!(glob("file:///srv/**", "file:///srv/eu/beads") && glob("file://**", "file:///tmp/x"));
        // The scheme is compared exactly.
        assert!(!glob("https://host/*", "http://host/db"));
    }

    #[test]
    fn emails_in_text_are_scrubbed_and_pseudonyms_are_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = Workspace::at(dir.path().to_owned());
        let t3 = Sanitizer::new(&ws, Tier::T3).expect("t3");
        let a = t3.person(Some("alice@example.com")).expect("pseudonym");
        assert_eq!(t3.person(Some("Alice@Example.com")), Some(a.clone()));
        assert_ne!(t3.person(Some("bob")), Some(a.clone()));
        let text = t3.text("mail alice@example.com, or <bob@corp.io>. thanks");
        assert!(!text.contains("example.com") && !text.contains("corp.io"), "{text}");
        assert!(text.contains(&a), "{text}");
        let t4 = Sanitizer::new(&ws, Tier::T4).expect("t4");
        assert_eq!(t4.person(Some("alice@example.com")), None);
        assert_eq!(t4.text("ping alice@example.com now"), "ping [redacted] now");
        let named = Sanitizer::new(&ws, Tier::T4).expect("t4").with_known_people([
            "Bob Smith".to_owned(),
            "bd".to_owned(),
            "al".to_owned(),
        ]);
        assert_eq!(named.text("BOB SMITH said bd is fine"), "[redacted] said [redacted] is fine");
        // Short names go as whole words only.
        assert_eq!(named.text("al will do it, also bdx"), "[redacted] will do it, also bdx");
        // Text whose case folding changes byte lengths must not panic.
        assert_eq!(named.text("İİ-Bob Smith-K"), "İİ-[redacted]-K");
        // The same key gives the same pseudonyms in a later run.
        assert_eq!(Sanitizer::new(&ws, Tier::T3).expect("again").person(Some("alice@example.com")), Some(a));
    }
}
