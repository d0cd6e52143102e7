//! `Endpoint::parse` on any text: never panics, and what it accepts maps to
//! a dolt URL that dolt cannot mistake for an option and that parses back.
#![no_main]

use bd_shared::peer::{Endpoint, MAX_ENDPOINT};

libfuzzer_sys::fuzz_target!(|raw: &str| {
    match Endpoint::parse(raw) {
        Ok(endpoint) => {
            assert_eq!(endpoint.as_str(), raw);
            assert!(raw.len() <= MAX_ENDPOINT);
            let url = endpoint.dolt_url();
            assert!(!url.is_empty());
            assert!(!url.chars().any(|c| c.is_whitespace() || c.is_control()), "{url:?}");
            let (_, rest) = url.split_once("://").expect("a dolt URL has a scheme");
            let host = rest.split('/').next().unwrap_or_default();
            assert!(!host.starts_with('-') && !host.contains("@-"), "ssh would read an option: {url:?}");
            assert_eq!(Endpoint::parse(endpoint.as_str()).ok().as_ref(), Some(&endpoint), "parsing is stable");
        }
        // The message quotes the input cut short, whatever its size.
        Err(err) => assert!(err.to_string().len() < 1000, "{err}"),
    }
});
