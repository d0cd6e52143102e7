//! `bd federation …`: peers and the movement of data between towns.

pub mod add_peer;
mod args;
pub mod fetch;
pub mod join;
pub mod list_peers;
pub mod log;
pub mod pull;
pub mod push;
pub mod remove_peer;
pub mod status;
pub mod sync;
pub mod trust;
