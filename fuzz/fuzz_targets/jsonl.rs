//! The JSONL importer's checking and planning step on any text: never
//! panics; an accepted file accounts for every line, and a refused one
//! names the file.
#![no_main]

use std::collections::BTreeMap;

use bd_shared::tracker::jsonl;

libfuzzer_sys::fuzz_target!(|text: &str| {
    let here = jsonl::Here {
        updated: BTreeMap::from([("town-abc123".to_owned(), "2026-01-01 00:00:00.000000".to_owned())]),
        owners: BTreeMap::from([(("comments".to_owned(), "c1".to_owned()), "town-abc123".to_owned())]),
    };
    match jsonl::plan(text, "fuzz.jsonl", &here) {
        Ok(plan) => {
            let lines = text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
            let c = &plan.counts;
            assert_eq!(c.added + c.changed + c.unchanged + c.skipped, lines);
            assert_eq!(c.skipped, c.skipped_because.values().sum::<u64>());
            let written = plan.statements.as_str().matches("DELETE FROM issues WHERE").count() as u64;
            assert_eq!(written, plan.counts.added + plan.counts.changed);
        }
        Err(err) => assert!(err.to_string().contains("fuzz.jsonl"), "{err}"),
    }
});
