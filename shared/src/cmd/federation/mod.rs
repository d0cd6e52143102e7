//! `bd federation …`: peers and the movement of data between towns.

pub mod add_peer;
pub mod list_peers;
pub mod remove_peer;
