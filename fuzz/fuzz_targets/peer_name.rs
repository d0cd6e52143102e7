//! `check_name` on any text: never panics, and what it accepts follows the
//! documented rule exactly.
#![no_main]

use bd_shared::peer::{MAX_NAME, RESERVED_NAMES, check_name};

libfuzzer_sys::fuzz_target!(|name: &str| {
    match check_name(name) {
        Ok(()) => {
            assert!(name.len() <= MAX_NAME);
            assert!(name.starts_with(|c: char| c.is_ascii_alphabetic()));
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            assert!(!RESERVED_NAMES.contains(&name));
        }
        Err(err) => assert!(err.to_string().len() < 1000, "{err}"),
    }
});
