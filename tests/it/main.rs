//! Integration tests: real dolt, real repositories, one binary.

// Tests drive the built executables and the real dolt as a user would.
#![allow(clippy::disallowed_methods)]

mod support;

mod atomic;
mod audit;
mod beads;
mod boundary;
mod concurrency;
mod config;
mod contention;
mod core;
mod disk;
mod docs;
mod doctor;
mod faults;
mod federation;
mod files;
mod frontdoor;
mod hostile;
mod house;
mod init_from;
mod inputs;
mod join;
mod layout;
mod lineage;
mod machine_input;
mod merges;
mod model;
mod modes;
mod names;
mod newcomer;
mod peers;
mod plugins;
mod secrets;
mod setup;
mod sovereignty;
mod ssh;
mod versions;
mod work;
