//! Integration tests: real dolt, real repositories, one binary.

mod support;

mod core;
mod frontdoor;
mod layout;
