//! Ids that cannot collide across towns: the town's prefix plus a random
//! base-36 part (no `AUTO_INCREMENT` anywhere). Which prefix is the town's
//! is configuration's (`town.prefix`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A random base-36 string of `len` characters. The randomness comes from the
/// standard library's per-process random hasher keys, mixed with the time,
/// the process id and a counter.
#[must_use]
pub fn random_base36(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut hasher = RandomState::new().build_hasher();
        hasher
            .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        hasher.write_u32(std::process::id());
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut n = hasher.finish();
        for _ in 0..8 {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::try_from(n % 36).unwrap_or(0)]));
            n /= 36;
        }
    }
    out
}

/// A new issue id: `<prefix>-<6 random base-36 characters>`.
#[must_use]
pub fn issue_id(prefix: &str) -> String {
    format!("{prefix}-{}", random_base36(6))
}

/// A new id for rows that need one of their own (comments, events).
#[must_use]
pub fn row_id(prefix: &str) -> String {
    format!("{prefix}-{}", random_base36(12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_prefix_and_differ() {
        let a = issue_id("town");
        let b = issue_id("town");
        assert!(a.starts_with("town-") && a.len() == 11, "{a}");
        assert_ne!(a, b);
    }
}
