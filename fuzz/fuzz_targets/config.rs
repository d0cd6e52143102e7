//! The config reader and line editor on any text. The input is a key line,
//! a value line, then the YAML file: parsing never panics, every value read
//! passes through `validate` without panicking, and on text that parsed,
//! setting then unsetting a key leaves the file reading as it did without
//! that key.
#![no_main]

use std::path::Path;

use bd_shared::config::{self, edit};

libfuzzer_sys::fuzz_target!(|input: &str| {
    let path = Path::new("fuzz.yaml");
    let mut parts = input.splitn(3, '\n');
    let (key, raw, text) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let Ok(before) = config::parse_yaml(path, text) else { return };
    for (k, v) in &before {
        let _ = config::validate(k, &v.to_string());
    }
    // The shape `bd config set` accepts for a key.
    let plain_key = !key.is_empty()
        && key
            .split('.')
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let Ok(value) = config::validate(key, raw) else { return };
    if !plain_key {
        return;
    }
    let Ok(set) = edit::set_in_text(path, text, key, &value) else { return };
    let after = config::parse_yaml(path, &set).expect("the editor verified its own output");
    assert!(after.contains(&(key.to_owned(), value.clone())), "{key} was set");
    let Some(unset) = edit::unset_in_text(path, &set, key).expect("the key just set can be removed") else {
        panic!("{key} was set but unset found nothing in:\n{set}");
    };
    let prefix = format!("{key}.");
    let mut expected: Vec<_> = before.into_iter().filter(|(k, _)| k != key && !k.starts_with(&prefix)).collect();
    let mut back = config::parse_yaml(path, &unset).expect("the editor verified its own output");
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    back.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(back, expected, "set then unset of {key}");
});
